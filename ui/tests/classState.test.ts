import { describe, expect, it } from "vitest";
import type { Joined } from "../src/bindings";
import { applyUpdate, dismissDeviceNotice, joinedState, screenTile, togglePin } from "../src/classState";

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

  it("keeps the class under a banner while reconnecting, then goes back to where it was", () => {
    let s = applyUpdate(joinedState(joined), { kind: "participant_joined", participant: { id: "21", name: "Léa" } });
    s = applyUpdate(s, { kind: "publishing" });
    s = applyUpdate(s, { kind: "reconnecting", attempt: 1 });
    expect(s.status).toBe("reconnecting");
    expect(s.members.map((m) => m.name)).toEqual(["Léa"]);
    s = applyUpdate(s, { kind: "reconnecting", attempt: 2 });
    s = applyUpdate(s, { kind: "reconnected" });
    expect(s.status).toBe("publishing");
    // Not yet publishing when the link broke: back to that, and publishing arrives later.
    s = applyUpdate(joinedState(joined), { kind: "reconnecting", attempt: 1 });
    s = applyUpdate(s, { kind: "reconnected" });
    expect(s.status).toBe("connected");
    // Given up: lost stays lost.
    s = applyUpdate(applyUpdate(s, { kind: "reconnecting", attempt: 1 }), { kind: "connection_lost", message: { fr: "perdue", en: "lost" } });
    expect(applyUpdate(s, { kind: "reconnected" }).status).toBe("lost");
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

describe("screen shares", () => {
  const inClass = () => {
    let s = joinedState(joined);
    for (const p of [ana, bo]) s = applyUpdate(s, { kind: "participant_joined", participant: p });
    return s;
  };

  it("lists who shares, oldest first, once each; a share started again is the newest", () => {
    let s = inClass();
    expect(s.sharing).toEqual([]);
    s = applyUpdate(s, { kind: "screen_share_started", participant: ana });
    s = applyUpdate(s, { kind: "screen_share_started", participant: bo });
    expect(s.sharing).toEqual(["2", "3"]);
    s = applyUpdate(s, { kind: "screen_share_started", participant: ana });
    expect(s.sharing).toEqual(["3", "2"]);
    s = applyUpdate(s, { kind: "screen_share_stopped", participant: bo });
    expect(s.sharing).toEqual(["2"]);
    // Stopping a share that is not there changes nothing.
    expect(applyUpdate(s, { kind: "screen_share_stopped", participant: bo })).toBe(s);
  });

  it("keeps the members as they were: a share's picture is not their camera", () => {
    let s = applyUpdate(inClass(), { kind: "screen_share_started", participant: ana });
    s = applyUpdate(s, { kind: "media_flowing", participant: ana, media: "screen" });
    expect(s.members[0]).toEqual({ id: "2", name: "Ana", audio: false, video: false });
  });

  it("gives a pin back after a rejoin, when the pinned pupil is in class again under a new id", () => {
    // The class rejoins: everyone leaves under their old ids and comes back under new ones.
    let s = togglePin(inClass(), "2");
    s = applyUpdate(s, { kind: "reconnecting", attempt: 1 });
    s = applyUpdate(s, { kind: "participant_left", participant: ana });
    s = applyUpdate(s, { kind: "participant_left", participant: bo });
    expect(s.pinned).toBeNull();
    s = applyUpdate(s, { kind: "participant_joined", participant: { id: "30", name: "Bo" } });
    expect(s.pinned).toBeNull();
    s = applyUpdate(s, { kind: "participant_joined", participant: { id: "20", name: "Ana" } });
    s = applyUpdate(s, { kind: "reconnected" });
    expect(s.pinned).toBe("20");
    // A pin on a share waits for the share to start again.
    s = applyUpdate(s, { kind: "screen_share_started", participant: { id: "20", name: "Ana" } });
    s = togglePin(s, screenTile("20"));
    s = applyUpdate(s, { kind: "reconnecting", attempt: 1 });
    s = applyUpdate(s, { kind: "participant_left", participant: { id: "20", name: "Ana" } });
    s = applyUpdate(s, { kind: "participant_joined", participant: { id: "200", name: "Ana" } });
    expect(s.pinned).toBeNull();
    s = applyUpdate(s, { kind: "reconnected" });
    s = applyUpdate(s, { kind: "screen_share_started", participant: { id: "200", name: "Ana" } });
    expect(s.pinned).toBe("200:screen");
    // Outside a reconnection, a pupil who leaves takes their pin away for good.
    s = togglePin(s, "30");
    s = applyUpdate(s, { kind: "participant_left", participant: { id: "30", name: "Bo" } });
    s = applyUpdate(s, { kind: "participant_joined", participant: { id: "31", name: "Bo" } });
    expect(s.pinned).toBeNull();
  });

  it("ends the share of someone who leaves, and a pin on it", () => {
    let s = applyUpdate(inClass(), { kind: "screen_share_started", participant: ana });
    s = togglePin(s, screenTile("2"));
    expect(s.pinned).toBe("2:screen");
    s = applyUpdate(s, { kind: "participant_left", participant: ana });
    expect(s.sharing).toEqual([]);
    expect(s.pinned).toBeNull();
    expect(s.members.map((m) => m.id)).toEqual(["3"]);
  });

  it("unpins a share that stops, but keeps a pin on the sharer's camera", () => {
    let s = applyUpdate(inClass(), { kind: "screen_share_started", participant: ana });
    s = togglePin(s, "2:screen");
    s = applyUpdate(s, { kind: "screen_share_stopped", participant: ana });
    expect(s.pinned).toBeNull();
    s = applyUpdate(s, { kind: "screen_share_started", participant: ana });
    s = togglePin(s, "2");
    s = applyUpdate(s, { kind: "screen_share_stopped", participant: ana });
    expect(s.pinned).toBe("2");
  });

  it("starts not sharing our own screen, and stops when the connection is lost", () => {
    let s = inClass();
    expect(s.screenShare).toBe(false);
    s = { ...s, screenShare: true };
    s = applyUpdate(s, { kind: "connection_lost", message: { fr: "perdue", en: "lost" } });
    expect(s.screenShare).toBe(false);
  });

  it("says so when our share stops by itself (the shared window was closed)", () => {
    let s = { ...joinedState(joined), screenShare: true };
    const message = { fr: "fenêtre fermée", en: "window closed" };
    s = applyUpdate(s, { kind: "sharing_ended", message });
    expect(s.screenShare).toBe(false);
    expect(s.problem).toEqual(message);
  });
});
