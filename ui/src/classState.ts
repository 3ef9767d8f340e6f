// The class as the window sees it, rebuilt from ClassUpdate events. Pure: no DOM.

import type { ClassUpdate, Joined, Message, ParticipantInfo } from "./bindings";

export type Status = "connecting" | "connected" | "publishing" | "lost" | "left";

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
  };
}

export function applyUpdate(state: ClassState, update: ClassUpdate): ClassState {
  switch (update.kind) {
    case "participant_joined":
      if (state.members.some((m) => m.id === update.participant.id)) return state;
      return { ...state, members: [...state.members, { ...update.participant, audio: false, video: false }] };
    case "participant_left":
      return {
        ...state,
        members: state.members.filter((m) => m.id !== update.participant.id),
        pinned: state.pinned === update.participant.id ? null : state.pinned,
      };
    case "publishing":
      return state.status === "lost" ? state : { ...state, status: "publishing" };
    case "media_flowing":
      return {
        ...state,
        members: state.members.map((m) => (m.id === update.participant.id ? { ...m, [update.media]: true } : m)),
      };
    case "media_failed":
      return { ...state, problem: update.message };
    case "connection_lost":
      return { ...state, status: "lost", problem: update.message };
    case "device":
      // The class goes on: the newest notice replaces the one before.
      return { ...state, deviceNotice: update.message };
    case "left":
      return { ...state, status: "left" };
  }
}

/** The device notice was read and closed. */
export function dismissDeviceNotice(state: ClassState): ClassState {
  return state.deviceNotice ? { ...state, deviceNotice: null } : state;
}

export function togglePin(state: ClassState, id: string): ClassState {
  return { ...state, pinned: state.pinned === id ? null : id };
}
