import { describe, expect, it } from "vitest";
import { HOLD_MS, newTracker, spotlight, trackSpeaker } from "../src/spotlight";

describe("active speaker", () => {
  it("takes the first clear speaker at once, and a new one only after a while", () => {
    let tr = newTracker();
    tr = trackSpeaker(tr, [{ participant: "a", level: 0.7 }, { participant: "b", level: 0.1 }], 0);
    expect(tr.current).toBe("a");
    tr = trackSpeaker(tr, [{ participant: "a", level: 0.2 }, { participant: "b", level: 0.8 }], 100);
    expect(tr.current).toBe("a");
    tr = trackSpeaker(tr, [{ participant: "b", level: 0.8 }], 100 + HOLD_MS / 2);
    expect(tr.current).toBe("a");
    tr = trackSpeaker(tr, [{ participant: "b", level: 0.8 }], 100 + HOLD_MS);
    expect(tr.current).toBe("b");
  });

  it("ignores quiet rooms and brief interruptions", () => {
    let tr = trackSpeaker(newTracker(), [{ participant: "a", level: 0.2 }], 0);
    expect(tr.current).toBeNull();
    tr = trackSpeaker(tr, [{ participant: "a", level: 0.9 }], 10);
    tr = trackSpeaker(tr, [{ participant: "b", level: 0.9 }], 20);
    tr = trackSpeaker(tr, [{ participant: "a", level: 0.9 }], 30);
    tr = trackSpeaker(tr, [{ participant: "b", level: 0.9 }], 40 + HOLD_MS);
    expect(tr.current).toBe("a");
  });

  it("puts the pinned one first, then the speaker, then the first arrival, then me", () => {
    expect(spotlight(["2", "3"], [], "3", "2")).toBe("3");
    expect(spotlight(["2", "3"], [], null, "3")).toBe("3");
    expect(spotlight(["2", "3"], [], "9", "8")).toBe("2");
    expect(spotlight([], [], null, null)).toBe("me");
    expect(spotlight(["2"], [], "me", "2")).toBe("me");
  });
});

describe("screen shares in the spotlight", () => {
  it("shows a share over the active speaker and the first arrival", () => {
    expect(spotlight(["2", "3"], ["3"], null, "2")).toBe("3:screen");
    expect(spotlight(["2", "3"], ["3"], null, null)).toBe("3:screen");
    // Anyone's share: there is no teacher role yet.
    expect(spotlight(["2", "3"], ["2"], null, "3")).toBe("2:screen");
  });

  it("shows the newest of several shares", () => {
    expect(spotlight(["2", "3", "4"], ["4", "2"], null, "3")).toBe("2:screen");
  });

  it("still lets a pin win, on a camera, on ourselves, or on an older share", () => {
    expect(spotlight(["2", "3"], ["3"], "2", null)).toBe("2");
    expect(spotlight(["2", "3"], ["3"], "me", "2")).toBe("me");
    expect(spotlight(["2", "3"], ["2", "3"], "2:screen", null)).toBe("2:screen");
    expect(spotlight(["2", "3"], ["3"], "3:screen", "2")).toBe("3:screen");
  });

  it("forgets a pinned share that ended, and a share of someone gone", () => {
    expect(spotlight(["2", "3"], [], "3:screen", "2")).toBe("2");
    expect(spotlight(["2", "3"], ["3"], "2:screen", "2")).toBe("3:screen");
    expect(spotlight(["2"], ["3"], null, "2")).toBe("2");
  });
});
