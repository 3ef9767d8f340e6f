// Device pickers and level meters: the pure part (no DOM), tested in tests/devices.test.ts.

import type { DeviceInfo, SpeakerLevel } from "./bindings";
import { t, type Lang } from "./i18n";

/** The picker value of "system default" (`null` in the settings); device ids are never empty. */
export const SYSTEM_DEFAULT = "";

export interface PickerOption {
  value: string;
  label: string;
  selected: boolean;
  /** The chosen device is not present now: it stays chosen and says so. */
  unplugged: boolean;
}

/** The settings' value for a picker value. */
export function choiceOf(value: string): string | null {
  return value === SYSTEM_DEFAULT ? null : value;
}

/**
 * The options of a device picker: the system default first (named after the
 * default device when there is one), then the devices present. A chosen
 * device that is absent stays, chosen, marked unplugged, under the last name
 * seen for it (`names`), else its id. `devices` is null while the list is not
 * known yet: the chosen device is then shown without a verdict.
 */
export function pickerOptions(devices: DeviceInfo[] | null, chosen: string | null, names: ReadonlyMap<string, string>, lang: Lang): PickerOption[] {
  const present = devices ?? [];
  const fallback = present.find((d) => d.isDefault);
  const options: PickerOption[] = [
    {
      value: SYSTEM_DEFAULT,
      label: fallback ? t("systemDefaultNamed", { name: deviceName(fallback) }, lang) : t("systemDefault", {}, lang),
      selected: chosen === null,
      unplugged: false,
    },
  ];
  for (const d of present) {
    options.push({ value: d.id, label: deviceName(d), selected: d.id === chosen, unplugged: false });
  }
  if (chosen !== null && !present.some((d) => d.id === chosen)) {
    const name = names.get(chosen) || chosen;
    // Shortened so "(unplugged)" still shows in the closed picker.
    options.push({ value: chosen, label: devices ? t("unplugged", { name: shorten(name) }, lang) : name, selected: true, unplugged: devices !== null });
  }
  return options;
}

function deviceName(d: DeviceInfo): string {
  return d.name.trim() || d.id;
}

/** At most `max` characters, cut in the middle (device ids differ at both ends). */
export function shorten(text: string, max = 36): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const head = Math.ceil((max - 1) * 0.6);
  const tail = max - 1 - head;
  return `${chars.slice(0, head).join("")}…${chars.slice(chars.length - tail).join("")}`;
}

/** Remembers the names of the devices seen, for one unplugged later. */
export function rememberNames(names: Map<string, string>, devices: DeviceInfo[]): void {
  for (const d of devices) if (d.name.trim()) names.set(d.id, d.name.trim());
}

/** What the options look like, to rebuild a picker only when they change (not under an open list). */
export function optionsKey(options: PickerOption[]): string {
  return JSON.stringify(options.map((o) => [o.value, o.label]));
}

/** A meter level (0..1, already on a loudness scale) as a bar width in percent; off shows nothing. */
export function meterPercent(level: number, on = true): number {
  if (!on || !Number.isFinite(level) || level <= 0) return 0;
  return Math.round(Math.min(level, 1) * 100);
}

/** Our own microphone level (participant "me") apart from everyone else's (for the spotlight). */
export function splitLevels(round: SpeakerLevel[]): { me: number | null; others: SpeakerLevel[] } {
  let me: number | null = null;
  const others: SpeakerLevel[] = [];
  for (const l of round) {
    if (l.participant === "me") me = l.level;
    else others.push(l);
  }
  return { me, others };
}

/** A peak at or above this (about -42 dBFS) means the microphone heard the voice. */
export const HEARD = 0.3;

/** The microphone test's verdict from the loudest level it reported. */
export function micTestVerdict(peak: number): "micTestHeard" | "micTestSilent" {
  return Number.isFinite(peak) && peak >= HEARD ? "micTestHeard" : "micTestSilent";
}
