import { describe, expect, it } from "vitest";
import type { DeviceInfo } from "../src/bindings";
import { choiceOf, HEARD, meterPercent, micTestVerdict, optionsKey, pickerOptions, rememberNames, shorten, splitLevels, SYSTEM_DEFAULT } from "../src/devices";

const builtIn: DeviceInfo = { id: "alsa_input.pci-0000_00_1f.3.analog-stereo", name: "Micro intégré", isDefault: true };
const headset: DeviceInfo = { id: "alsa_input.usb-Jabra_Evolve_20", name: "Casque Jabra Evolve 20", isDefault: false };
const noNames = new Map<string, string>();

describe("device pickers", () => {
  it("puts the system default first, named after the default device, then the devices", () => {
    const options = pickerOptions([builtIn, headset], null, noNames, "fr");
    expect(options.map((o) => o.label)).toEqual(["Par défaut du système : Micro intégré", "Micro intégré", "Casque Jabra Evolve 20"]);
    expect(options.map((o) => o.value)).toEqual([SYSTEM_DEFAULT, builtIn.id, headset.id]);
    expect(options.filter((o) => o.selected).map((o) => o.value)).toEqual([SYSTEM_DEFAULT]);
    expect(options.some((o) => o.unplugged)).toBe(false);
  });

  it("says plainly 'system default' when no device is the default, or there is none", () => {
    expect(pickerOptions([headset], headset.id, noNames, "en").map((o) => [o.label, o.selected])).toEqual([
      ["System default", false],
      ["Casque Jabra Evolve 20", true],
    ]);
    expect(pickerOptions([], null, noNames, "fr").map((o) => o.label)).toEqual(["Par défaut du système"]);
  });

  it("keeps a chosen device that is gone, selected, under its last name, marked unplugged", () => {
    const names = new Map<string, string>();
    rememberNames(names, [builtIn, headset]);
    const fr = pickerOptions([builtIn], headset.id, names, "fr");
    expect(fr.slice(-1)[0]).toEqual({ value: headset.id, label: "Casque Jabra Evolve 20 (débranché)", selected: true, unplugged: true });
    expect(fr.filter((o) => o.selected)).toHaveLength(1);
    expect(pickerOptions([builtIn], headset.id, names, "en").slice(-1)[0]?.label).toBe("Casque Jabra Evolve 20 (unplugged)");
    // Never seen in this run: its id stands in for the name.
    expect(pickerOptions([], "usb-cam-7", names, "en").slice(-1)[0]?.label).toBe("usb-cam-7 (unplugged)");
    // A long id is cut in the middle, so "(unplugged)" still shows.
    const long = "alsa_input.usb-Jabra_Evolve_20_SE_MS_A2B3C4D5E6F7-00.mono-fallback";
    const label = pickerOptions([], long, names, "fr").slice(-1)[0]?.label;
    expect(label).toBe("alsa_input.usb-Jabra_….mono-fallback (débranché)");
    expect(Array.from(shorten(long)).length).toBe(36);
    expect(shorten("Micro intégré")).toBe("Micro intégré");
  });

  it("gives no verdict before the list is known, and none once the device is back", () => {
    const names = new Map([[headset.id, headset.name]]);
    expect(pickerOptions(null, headset.id, names, "fr").slice(-1)[0]).toMatchObject({ label: "Casque Jabra Evolve 20", selected: true, unplugged: false });
    const back = pickerOptions([builtIn, headset], headset.id, names, "fr");
    expect(back).toHaveLength(3);
    expect(back.some((o) => o.unplugged)).toBe(false);
  });

  it("names a nameless device by its id, and does not remember empty names", () => {
    const nameless: DeviceInfo = { id: "hw:2,0", name: "  ", isDefault: false };
    expect(pickerOptions([nameless], null, noNames, "en").slice(-1)[0]?.label).toBe("hw:2,0");
    const names = new Map<string, string>();
    rememberNames(names, [nameless]);
    expect(names.size).toBe(0);
  });

  it("maps the default option to null and a device to its id", () => {
    expect(choiceOf(SYSTEM_DEFAULT)).toBeNull();
    expect(choiceOf(headset.id)).toBe(headset.id);
  });

  it("changes its key only when what the picker shows changes", () => {
    const a = optionsKey(pickerOptions([builtIn, headset], null, noNames, "fr"));
    expect(optionsKey(pickerOptions([builtIn, headset], null, noNames, "fr"))).toBe(a);
    expect(optionsKey(pickerOptions([builtIn], null, noNames, "fr"))).not.toBe(a);
    expect(optionsKey(pickerOptions([{ ...builtIn, name: "Micro interne" }, headset], null, noNames, "fr"))).not.toBe(a);
  });
});

describe("level meters", () => {
  it("turns a level into a bar width, clamped, and empty when off", () => {
    expect(meterPercent(0)).toBe(0);
    expect(meterPercent(0.5)).toBe(50);
    expect(meterPercent(0.333)).toBe(33);
    expect(meterPercent(1)).toBe(100);
    expect(meterPercent(1.7)).toBe(100);
    expect(meterPercent(-0.2)).toBe(0);
    expect(meterPercent(Number.NaN)).toBe(0);
    expect(meterPercent(0.8, false)).toBe(0);
  });

  it("takes our own level apart from the spotlight's", () => {
    const { me, others } = splitLevels([
      { participant: "21", level: 0.6 },
      { participant: "me", level: 0.9 },
      { participant: "22", level: 0.1 },
    ]);
    expect(me).toBe(0.9);
    expect(others.map((l) => l.participant)).toEqual(["21", "22"]);
    expect(splitLevels([{ participant: "21", level: 0.6 }]).me).toBeNull();
  });

  it("says the microphone heard the voice only when the test got loud enough", () => {
    expect(micTestVerdict(0)).toBe("micTestSilent");
    expect(micTestVerdict(HEARD - 0.01)).toBe("micTestSilent");
    expect(micTestVerdict(HEARD)).toBe("micTestHeard");
    expect(micTestVerdict(0.7)).toBe("micTestHeard");
    expect(micTestVerdict(Number.NaN)).toBe("micTestSilent");
  });
});
