import { describe, expect, it } from "vitest";
import type { Joined } from "../src/bindings";
import { applyUpdate, dismissDeviceNotice, joinedState, togglePin } from "../src/classState";

const joined: Joined = {
  class: 1,
  me: { id: "1", name: "Prof" },
  room: "1234",
  server: "wss://a/janus",
  microphone: true,
  camera: true,
  pinNotice: null,
};
const ana = { id: "2", name: "Ana" };
const bo = { id: "3", name: "Bo" };

describe("class state", () => {
  it("follows arrivals, media and departures in order", () => {
    let s = joinedState(joined);
    expect(s.status).toBe("connected");
    s = applyUpdate(s, { kind: "participant_joined", participant: ana });
    s = applyUpdate(s, { kind: "participant_joined", participant: bo });
    s = applyUpdate(s, { kind: "participant_joined", participant: ana });
    expect(s.members.map((m) => m.name)).toEqual(["Ana", "Bo"]);
    s = applyUpdate(s, { kind: "media_flowing", participant: ana, media: "video" });
    expect(s.members[0]).toMatchObject({ video: true, audio: false });
    s = applyUpdate(s, { kind: "publishing" });
    expect(s.status).toBe("publishing");
    s = togglePin(s, "2");
    s = applyUpdate(s, { kind: "participant_left", participant: ana });
    expect(s.members.map((m) => m.name)).toEqual(["Bo"]);
    expect(s.pinned).toBeNull();
  });

  it("keeps a lost connection lost, with its message", () => {
    let s = joinedState(joined);
    const message = { fr: "perdue", en: "lost" };
    s = applyUpdate(s, { kind: "connection_lost", message });
    s = applyUpdate(s, { kind: "publishing" });
    expect(s.status).toBe("lost");
    expect(s.problem).toEqual(message);
  });

  it("a listener with nothing to send is in class at once", () => {
    expect(joinedState({ ...joined, microphone: false, camera: false }).status).toBe("publishing");
  });
});

describe("device notices", () => {
  it("keeps the newest until dismissed, and the class goes on", () => {
    let s = applyUpdate(joinedState(joined), { kind: "publishing" });
    const gone = { fr: "Le micro USB est débranché : le micro intégré prend le relais.", en: "The USB microphone was unplugged: the built-in microphone takes over." };
    const back = { fr: "Le micro USB est de retour.", en: "The USB microphone is back." };
    s = applyUpdate(s, { kind: "device", message: gone });
    expect(s.deviceNotice).toEqual(gone);
    expect(s.status).toBe("publishing");
    expect(s.problem).toBeNull();
    s = applyUpdate(s, { kind: "participant_joined", participant: ana });
    expect(s.deviceNotice).toEqual(gone);
    s = applyUpdate(s, { kind: "device", message: back });
    expect(s.deviceNotice).toEqual(back);
    s = dismissDeviceNotice(s);
    expect(s.deviceNotice).toBeNull();
    expect(dismissDeviceNotice(s)).toBe(s);
  });
});
