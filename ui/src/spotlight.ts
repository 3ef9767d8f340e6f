// Which tile is big: the pinned one, else the newest screen share, else the
// active speaker, else the first to arrive, else ourselves. The active speaker
// changes only when someone else has clearly been louder for a while, so the
// spotlight does not flicker on every cough.
//
// There is no teacher role yet: anyone's share takes the spotlight. When the
// class knows who teaches, the teacher's share should come first.

import { screenTile } from "./classState";

export const SPEAKING = 0.45;
export const HOLD_MS = 800;

export interface SpeakerTracker {
  current: string | null;
  challenger: string | null;
  since: number;
}

export function newTracker(): SpeakerTracker {
  return { current: null, challenger: null, since: 0 };
}

/** Folds in one round of levels taken at `now` (ms). */
export function trackSpeaker(tracker: SpeakerTracker, levels: { participant: string; level: number }[], now: number): SpeakerTracker {
  let loudest: string | null = null;
  let top = SPEAKING;
  for (const { participant, level } of levels) {
    if (level >= top) {
      top = level;
      loudest = participant;
    }
  }
  if (loudest === null || loudest === tracker.current) {
    return { ...tracker, challenger: null };
  }
  if (tracker.current === null) {
    return { current: loudest, challenger: null, since: now };
  }
  if (tracker.challenger !== loudest) {
    return { ...tracker, challenger: loudest, since: now };
  }
  if (now - tracker.since >= HOLD_MS) {
    return { current: loudest, challenger: null, since: now };
  }
  return tracker;
}

/**
 * The spotlight's tile id: a participant id, "<id>:screen" for a share, or
 * "me" for ourselves. `sharing` lists who shares, oldest first.
 */
export function spotlight(memberIds: string[], sharing: string[], pinned: string | null, speaker: string | null): string {
  const shares = sharing.filter((id) => memberIds.includes(id)).map(screenTile);
  if (pinned && (pinned === "me" || memberIds.includes(pinned) || shares.includes(pinned))) return pinned;
  const newest = shares[shares.length - 1];
  if (newest) return newest;
  if (speaker && memberIds.includes(speaker)) return speaker;
  return memberIds[0] ?? "me";
}
