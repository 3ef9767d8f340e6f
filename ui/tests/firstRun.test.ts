import { describe, expect, it } from "vitest";
import { checkServer } from "../src/screens/firstRun";

describe("server address", () => {
  it("wants wss:// or ws:// with a host", () => {
    expect(checkServer(" wss://classe.example.fr/janus ")).toBeNull();
    expect(checkServer("ws://198.18.0.1:8188/")).toBeNull();
    expect(checkServer("")).toBe("errorEmptyServer");
    expect(checkServer("https://classe.example.fr")).toBe("errorServerScheme");
    expect(checkServer("wss://")).toBe("errorServerScheme");
    expect(checkServer("classe.example.fr")).toBe("errorServerScheme");
  });
});
