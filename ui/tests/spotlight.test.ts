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
    expect(spotlight(["2", "3"], "3", "2")).toBe("3");
    expect(spotlight(["2", "3"], null, "3")).toBe("3");
    expect(spotlight(["2", "3"], "9", "8")).toBe("2");
    expect(spotlight([], null, null)).toBe("me");
    expect(spotlight(["2"], "me", "2")).toBe("me");
  });
});
