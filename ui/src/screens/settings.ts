import type { AudioChoice, Settings, VideoChoice } from "../bindings";
import { field, h } from "../dom";
import { t, type Lang } from "../i18n";
import { validIdentity } from "./firstRun";
import { languagePicker } from "./common";

export interface SettingsProps {
  settings: Settings;
  lang: Lang;
  onLanguage(lang: Lang): void;
  onSave(settings: Settings): void;
  onBack(): void;
}

export function settingsScreen(props: SettingsProps): HTMLElement {
  const audio = h(
    "select",
    {},
    h("option", { value: "tone", selected: props.settings.audio === "tone" }, t("audioTone")),
    h("option", { value: "none", selected: props.settings.audio === "none" }, t("audioNone")),
  );
  const video = h(
    "select",
    {},
    h("option", { value: "pattern", selected: props.settings.video === "pattern" }, t("videoPattern")),
    h("option", { value: "none", selected: props.settings.video === "none" }, t("videoNone")),
  );
  const server = h("input", { type: "url", value: props.settings.server, autocomplete: "off", spellcheck: "false" });
  const name = h("input", { type: "text", value: props.settings.name, maxlength: 64 });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h1", {}, t("settingsTitle")),
    languagePicker(props.lang, props.onLanguage),
    field("server", t("serverLabel"), server, t("serverHint")),
    field("name", t("nameLabel"), name),
    field("audio-source", t("audioSource"), audio),
    field("video-source", t("videoSource"), video, t("devicesLater")),
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
    props.onSave({
      ...props.settings,
      language: props.lang,
      server: server.value.trim(),
      name: name.value.trim(),
      audio: audio.value as AudioChoice,
      video: video.value as VideoChoice,
    });
  });
  return h("section", { class: "screen", id: "settings" }, h("div", { class: "centered" }, form));
}
