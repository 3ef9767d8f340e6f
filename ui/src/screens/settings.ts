import { Channel } from "@tauri-apps/api/core";
import { commands, type AudioChoice, type DeviceInfo, type DeviceList, type Settings, type VideoChoice } from "../bindings";
import { choiceOf, meterPercent, micTestVerdict, optionsKey, pickerOptions, rememberNames, SYSTEM_DEFAULT } from "../devices";
import { field, h } from "../dom";
import { pick, t, type Lang } from "../i18n";
import { schoolFrom, validIdentity } from "./firstRun";
import { connectionTest, languagePicker } from "./common";

export interface SettingsProps {
  /** What the form shows: the saved settings, or the unsaved ones kept across a language change. */
  settings: Settings;
  lang: Lang;
  /** `draft`: the form as it stands, to show again in the new language (not saved). */
  onLanguage(lang: Lang, draft: Settings): void;
  onSave(settings: Settings): void;
  onBack(): void;
}

export interface SettingsScreen {
  el: HTMLElement;
  /** Stops watching the devices (the screen is left). */
  close(): void;
}

/** How often the device lists are asked again while the screen is open. */
export const DEVICE_REFRESH_MS = 3000;

// The names of the devices seen since the app started: a chosen device
// unplugged since keeps its name in its picker.
const seenNames = new Map<string, string>();

interface DevicePicker {
  select: HTMLSelectElement;
  el: HTMLElement;
  fill(devices: DeviceInfo[] | null): void;
}

function devicePicker(id: string, label: string, chosen: string | null, lang: Lang): DevicePicker {
  const select = h("select", {});
  const unplugged = h("p", { class: "hint warn", id: `${id}-unplugged`, hidden: true }, t("unpluggedHint"));
  const el = field(id, label, select);
  el.append(unplugged);
  let present: DeviceInfo[] | null = null;
  let key = "";
  const fill = () => {
    // Keep what the user picked since the screen opened, even if it is gone.
    const current = select.options.length ? choiceOf(select.value) : chosen;
    const options = pickerOptions(present, current, seenNames, lang);
    const next = optionsKey(options);
    if (next !== key) {
      // Rebuilt only when something changed, so an open list is not disturbed.
      key = next;
      select.replaceChildren(...options.map((o) => h("option", { value: o.value, selected: o.selected }, o.label)));
      select.value = options.find((o) => o.selected)?.value ?? SYSTEM_DEFAULT;
    }
    const gone = options.some((o) => o.selected && o.unplugged);
    unplugged.hidden = !gone;
    select.classList.toggle("unplugged", gone);
    if (gone) select.setAttribute("aria-describedby", unplugged.id);
    else select.removeAttribute("aria-describedby");
  };
  select.addEventListener("change", fill);
  fill();
  return {
    select,
    el,
    fill: (devices) => {
      present = devices;
      fill();
    },
  };
}

function checkbox(id: string, label: string, checked: boolean): { input: HTMLInputElement; el: HTMLElement } {
  const input = h("input", { type: "checkbox", id, checked });
  return { input, el: h("div", { class: "field check" }, input, h("label", { for: id }, label)) };
}

export function settingsScreen(props: SettingsProps): SettingsScreen {
  const s = props.settings;
  const lang = props.lang;
  const audio = h(
    "select",
    {},
    h("option", { value: "microphone", selected: s.audio === "microphone" }, t("audioMicrophone")),
    h("option", { value: "tone", selected: s.audio === "tone" }, t("audioTone")),
    h("option", { value: "none", selected: s.audio === "none" }, t("audioNone")),
  );
  const video = h(
    "select",
    {},
    h("option", { value: "camera", selected: s.video === "camera" }, t("videoCamera")),
    h("option", { value: "pattern", selected: s.video === "pattern" }, t("videoPattern")),
    h("option", { value: "none", selected: s.video === "none" }, t("videoNone")),
  );
  const server = h("input", { type: "url", value: s.server, autocomplete: "off", spellcheck: "false" });
  const name = h("input", { type: "text", value: s.name, maxlength: 64 });
  const microphone = devicePicker("microphone", t("microphoneLabel"), s.microphone, lang);
  const speakers = devicePicker("speakers", t("speakersLabel"), s.speakers, lang);
  const camera = devicePicker("camera", t("cameraLabel"), s.camera, lang);
  const noCamera = h("p", { class: "hint warn", id: "no-camera", role: "status", hidden: true }, t("noCamera"));
  camera.el.append(noCamera);
  const echo = checkbox("echo-cancellation", t("echoCancellation"), s.voice.echoCancellation);
  const noise = checkbox("noise-suppression", t("noiseSuppression"), s.voice.noiseSuppression);
  const gain = checkbox("auto-gain", t("autoGain"), s.voice.autoGain);

  // The microphone test: a button, a level bar fed by the test's channel, and its outcome.
  const testButton = h("button", { type: "button", id: "test-microphone" }, t("testMicrophone"));
  const fillBar = h("div", { class: "meter-fill" });
  const meter = h("div", { class: "meter", id: "mic-test-meter", role: "meter", "aria-label": t("micLevel"), "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 }, fillBar);
  const testStatus = h("p", { class: "hint", id: "mic-test-status", "aria-live": "polite" }, t("micTestHint"));
  const setMeter = (level: number) => {
    const pct = meterPercent(level);
    fillBar.style.width = `${pct}%`;
    meter.setAttribute("aria-valuenow", String(pct));
  };
  let closed = false;
  let testing = false;
  testButton.addEventListener("click", async () => {
    if (testing) return;
    testing = true;
    testButton.disabled = true;
    testButton.textContent = t("testingMicrophone");
    testStatus.className = "hint";
    testStatus.removeAttribute("role");
    testStatus.textContent = t("micTestHint");
    let peak = 0;
    let over = false;
    const levels = new Channel<number>();
    levels.onmessage = (level) => {
      if (over) return;
      peak = Math.max(peak, level);
      setMeter(level);
    };
    let failure: string | null = null;
    try {
      const result = await commands.testMicrophone(choiceOf(microphone.select.value), levels);
      if (result.status === "error") failure = pick(result.error.message);
    } catch {
      failure = t("errorUnexpected");
    }
    over = true;
    testing = false;
    if (closed) return;
    setMeter(0);
    testButton.disabled = false;
    testButton.textContent = t("testMicrophone");
    if (failure) {
      testStatus.className = "error";
      testStatus.setAttribute("role", "alert");
      testStatus.textContent = failure;
    } else {
      const verdict = micTestVerdict(peak);
      testStatus.className = verdict === "micTestHeard" ? "hint ok" : "hint warn";
      testStatus.textContent = t(verdict);
    }
  });
  microphone.el.append(h("div", { class: "mic-test" }, testButton, meter), testStatus);

  const error = h("p", { class: "error", role: "alert", hidden: true });
  const draft = (): Settings => ({
    ...props.settings,
    language: props.lang,
    server: schoolFrom(server.value) ?? server.value.trim(),
    name: name.value.trim(),
    audio: audio.value as AudioChoice,
    video: video.value as VideoChoice,
    microphone: choiceOf(microphone.select.value),
    speakers: choiceOf(speakers.select.value),
    camera: choiceOf(camera.select.value),
    voice: { echoCancellation: echo.input.checked, noiseSuppression: noise.input.checked, autoGain: gain.input.checked },
  });

  let devices: DeviceList | null = null;
  const showCameraNotice = () => {
    noCamera.hidden = !(devices && devices.cameras.length === 0 && video.value === "camera");
  };
  video.addEventListener("change", showCameraNotice);

  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h1", {}, t("settingsTitle")),
    languagePicker(props.lang, (next) => props.onLanguage(next, draft())),
    field("server", t("serverLabel"), server, t("serverHint")),
    connectionTest(() => server.value),
    field("name", t("nameLabel"), name),
    h("h2", { class: "section" }, t("soundTitle")),
    field("audio-source", t("audioSource"), audio),
    microphone.el,
    speakers.el,
    h("fieldset", { class: "voice" }, h("legend", {}, t("voiceTitle")), echo.el, noise.el, gain.el),
    h("h2", { class: "section" }, t("pictureTitle")),
    field("video-source", t("videoSource"), video),
    camera.el,
    h("p", { class: "hint" }, t("mediaNextJoin")),
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "ghost", id: "settings-back", onclick: props.onBack }, t("back")),
      h("button", { type: "submit", class: "primary" }, t("save")),
    ),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!validIdentity(server, name, error)) return;
    props.onSave(draft());
  });
  const el = h("section", { class: "screen", id: "settings" }, h("div", { class: "centered" }, form));

  // The device lists: now, then every few seconds while the screen is open.
  let asking = false;
  const refresh = async () => {
    if (asking || closed) return;
    asking = true;
    try {
      const list = await commands.devices();
      if (closed) return;
      rememberNames(seenNames, [...list.microphones, ...list.speakers, ...list.cameras]);
      devices = list;
      microphone.fill(list.microphones);
      speakers.fill(list.speakers);
      camera.fill(list.cameras);
      showCameraNotice();
    } catch (e) {
      // Keep the lists shown; the next round asks again.
      console.warn("device list", e);
    } finally {
      asking = false;
    }
  };
  void refresh();
  const close = () => {
    closed = true;
    clearInterval(timer);
  };
  const timer = setInterval(() => {
    // Left without close() (replaced by another screen): stop anyway.
    if (!el.isConnected) close();
    else void refresh();
  }, DEVICE_REFRESH_MS);
  return { el, close };
}
