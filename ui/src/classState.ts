// The class as the window sees it, rebuilt from ClassUpdate events. Pure: no DOM.

import type { ClassUpdate, Joined, Message, ParticipantInfo } from "./bindings";

export type Status = "connecting" | "connected" | "publishing" | "reconnecting" | "lost" | "left";

export interface Member {
  id: string;
  name: string;
  audio: boolean;
  video: boolean;
}

export interface ClassState {
  room: string;
  me: ParticipantInfo;
  status: Status;
  /** Everyone else, in order of arrival. */
  members: Member[];
  microphone: boolean;
  camera: boolean;
  /** The latest problem to show, if any. */
  problem: Message | null;
  /** The latest device notice (a device failed, fell back, or came back), until dismissed. */
  deviceNotice: Message | null;
  pinned: string | null;
  /**
   * A pin whose participant left while we were reconnecting: given back to
   * them when they are in class again (by name: a rejoin gives everyone a
   * new id), on their camera or, once it starts again, their screen share.
   */
  repin?: { name: string; screen: boolean; id?: string } | null;
  /** Who is sharing their screen (participant ids), oldest share first. */
  sharing: string[];
  /** We are sharing our own screen (set when the share command succeeds). */
  screenShare: boolean;
  /** While reconnecting: the status to go back to once the class is back. */
  resumeStatus?: Status | null;
}

/** The tile a participant's screen share shows in (their camera's tile is their id). */
export function screenTile(id: string): string {
  return `${id}:screen`;
}

export function joinedState(joined: Joined): ClassState {
  return {
    room: joined.room,
    me: joined.me,
    status: joined.microphone || joined.camera ? "connected" : "publishing",
    members: [],
    microphone: joined.microphone,
    camera: joined.camera,
    problem: joined.pinNotice ?? null,
    deviceNotice: null,
    pinned: null,
    sharing: [],
    screenShare: false,
  };
}

export function applyUpdate(state: ClassState, update: ClassUpdate): ClassState {
  switch (update.kind) {
    case "participant_joined": {
      if (state.members.some((m) => m.id === update.participant.id)) return state;
      const joinedClass = { ...state, members: [...state.members, { ...update.participant, audio: false, video: false }] };
      return repinOnReturn(joinedClass, update.participant);
    }
    case "participant_left": {
      const id = update.participant.id;
      const wasPinned = state.pinned === id || state.pinned === screenTile(id);
      const left = endShare(state, id);
      const repin = wasPinned && state.status === "reconnecting" ? { name: update.participant.name, screen: state.pinned !== id } : state.repin;
      return { ...left, members: state.members.filter((m) => m.id !== id), pinned: left.pinned === id ? null : left.pinned, repin };
    }
    case "publishing":
      if (state.status === "lost") return state;
      if (state.status === "reconnecting") return { ...state, resumeStatus: "publishing" };
      return { ...state, status: "publishing" };
    case "reconnecting":
      // The class view stays as it is (tiles keep their last picture) under a banner.
      if (state.status === "lost" || state.status === "left") return state;
      return state.status === "reconnecting" ? state : { ...state, status: "reconnecting", resumeStatus: state.status };
    case "reconnected":
      return state.status === "reconnecting" ? { ...state, status: state.resumeStatus ?? "publishing", resumeStatus: null } : state;
    case "media_flowing":
      // A share's picture shows in its own tile once painted: nothing to keep.
      if (update.media === "screen") return state;
      return {
        ...state,
        members: state.members.map((m) => (m.id === update.participant.id ? { ...m, [update.media]: true } : m)),
      };
    case "screen_share_started": {
      // A share started again counts as the newest.
      const id = update.participant.id;
      const shared = { ...state, sharing: [...state.sharing.filter((s) => s !== id), id] };
      return state.repin?.screen && state.repin.id === id ? { ...shared, pinned: screenTile(id), repin: null } : shared;
    }
    case "screen_share_stopped":
      return endShare(state, update.participant.id);
    case "sharing_ended":
      // Ours stopped by itself (the shared window was closed): say so.
      return { ...state, screenShare: false, problem: update.message };
    case "media_failed":
      return { ...state, problem: update.message };
    case "connection_lost":
      // Our share went with the connection.
      return { ...state, status: "lost", problem: update.message, screenShare: false };
    case "device":
      // The class goes on: the newest notice replaces the one before.
      return { ...state, deviceNotice: update.message };
    case "left":
      return { ...state, status: "left" };
  }
}

/** `id`'s share is over: its tile goes, and so does a pin on it. */
function endShare(state: ClassState, id: string): ClassState {
  if (!state.sharing.includes(id) && state.pinned !== screenTile(id)) return state;
  return {
    ...state,
    sharing: state.sharing.filter((s) => s !== id),
    pinned: state.pinned === screenTile(id) ? null : state.pinned,
  };
}

/** The device notice was read and closed. */
export function dismissDeviceNotice(state: ClassState): ClassState {
  return state.deviceNotice ? { ...state, deviceNotice: null } : state;
}

/** A participant whose pin we kept through a reconnection is back: pin them again. */
function repinOnReturn(state: ClassState, who: ParticipantInfo): ClassState {
  const repin = state.repin;
  if (!repin || repin.name !== who.name || state.pinned !== null) return state;
  if (!repin.screen) return { ...state, pinned: who.id, repin: null };
  // Their share comes back as its own event: pin it then.
  return state.sharing.includes(who.id) ? { ...state, pinned: screenTile(who.id), repin: null } : { ...state, repin: { ...repin, id: who.id } };
}

/** The user's own choice replaces any pin kept through a reconnection. */
export function togglePin(state: ClassState, id: string): ClassState {
  return { ...state, pinned: state.pinned === id ? null : id, repin: null };
}
