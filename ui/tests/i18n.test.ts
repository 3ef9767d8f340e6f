import { describe, expect, it } from "vitest";
import { dictionaries, t } from "../src/i18n";

describe("translations", () => {
  it("has the same keys, all filled, in French and English", () => {
    const fr = Object.keys(dictionaries.fr).sort();
    const en = Object.keys(dictionaries.en).sort();
    expect(en).toEqual(fr);
    for (const lang of ["fr", "en"] as const) {
      for (const [key, text] of Object.entries(dictionaries[lang])) {
        expect(text.trim(), `${lang}.${key}`).not.toBe("");
      }
    }
  });

  it("uses the same placeholders in both languages", () => {
    for (const key of Object.keys(dictionaries.fr) as (keyof typeof dictionaries.fr)[]) {
      const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
      expect(holes(dictionaries.en[key]), key).toEqual(holes(dictionaries.fr[key]));
    }
  });

  it("fills placeholders and leaves unknown ones visible", () => {
    expect(t("classTitle", { room: 1234 }, "fr")).toBe("Classe 1234");
    expect(t("participants", { count: 3 }, "en")).toBe("Participants (3)");
    expect(t("classTitle", {}, "en")).toBe("Class {room}");
  });
});
