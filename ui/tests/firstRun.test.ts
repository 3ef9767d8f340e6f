import { describe, expect, it } from "vitest";
import { checkServer, schoolFrom } from "../src/screens/firstRun";

describe("the school of the first run", () => {
  it("is a domain, taken from a domain, its address or a class link", () => {
    expect(schoolFrom(" ecole.example.fr ")).toBe("ecole.example.fr");
    expect(schoolFrom("ECOLE.example.fr")).toBe("ecole.example.fr");
    expect(schoolFrom("https://ecole.example.fr")).toBe("ecole.example.fr");
    expect(schoolFrom("https://ecole.example.fr/classe/1234")).toBe("ecole.example.fr");
    expect(schoolFrom("estrade://ecole.example.fr/classe/1234")).toBe("ecole.example.fr");
    expect(schoolFrom("ecole.test:8443")).toBe("ecole.test:8443");
  });

  it("may be a signaling server's address, for development", () => {
    expect(schoolFrom(" wss://classe.example.fr/janus ")).toBe("wss://classe.example.fr/janus");
    expect(schoolFrom("ws://127.0.0.1:8188/")).toBe("ws://127.0.0.1:8188/");
  });

  it("refuses what is not a school, plainly", () => {
    expect(checkServer("")).toBe("errorEmptyServer");
    expect(checkServer("   ")).toBe("errorEmptyServer");
    for (const bad of ["ecole", "wss://", "ecole.fr/janus", "a b.fr", "ftp://ecole.fr", "https://user@ecole.fr/", "http ecole.fr"]) {
      expect(checkServer(bad), bad).toBe("errorServerScheme");
    }
    expect(checkServer("ecole.example.fr")).toBeNull();
  });
});
