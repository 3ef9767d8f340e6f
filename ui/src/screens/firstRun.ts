import type { Settings } from "../bindings";
import { field, h } from "../dom";
import { t, type Lang } from "../i18n";
import { languagePicker } from "./common";

export interface FirstRunProps {
  settings: Settings;
  lang: Lang;
  onLanguage(lang: Lang): void;
  onDone(server: string, name: string): void;
}

/** A server address the app can use: wss:// (or ws:// for a local test server). */
export function checkServer(server: string): "errorEmptyServer" | "errorServerScheme" | null {
  const s = server.trim();
  if (!s) return "errorEmptyServer";
  if (!/^wss?:\/\/[^\s/?#]+/i.test(s)) return "errorServerScheme";
  return null;
}

/**
 * Checks the server and name fields of a form; on a problem, shows it in
 * `error`, focuses the field concerned and returns false.
 */
export function validIdentity(server: HTMLInputElement, name: HTMLInputElement, error: HTMLElement): boolean {
  const problem = checkServer(server.value) ?? (name.value.trim() ? null : "errorEmptyName");
  if (!problem) return true;
  error.textContent = t(problem);
  error.hidden = false;
  (problem === "errorEmptyName" ? name : server).focus();
  return false;
}

export function firstRunScreen(props: FirstRunProps): HTMLElement {
  const server = h("input", { type: "url", value: props.settings.server, placeholder: "wss://classe.exemple.fr/janus", autocomplete: "off", spellcheck: "false" });
  const name = h("input", { type: "text", value: props.settings.name, autocomplete: "name", maxlength: 64 });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h1", {}, t("firstRunTitle")),
    h("p", { class: "lead" }, t("firstRunIntro")),
    languagePicker(props.lang, props.onLanguage),
    field("server", t("serverLabel"), server, t("serverHint")),
    field("name", t("nameLabel"), name, t("nameHint")),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, t("continue"))),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!validIdentity(server, name, error)) return;
    props.onDone(server.value.trim(), name.value.trim());
  });
  return h("section", { class: "screen centered", id: "first-run" }, form);
}
