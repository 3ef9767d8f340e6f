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

/**
 * The school, as kept in the settings: its domain (host[:port], lowercased),
 * taken from a domain, its https:// address or any class link pasted; or, for
 * development, a signaling server's wss:// (or local ws://) address as given.
 * Null when the text is none of these. The core checks it again at join.
 */
export function schoolFrom(input: string): string | null {
  const s = input.trim();
  if (/^wss?:\/\/[^\s/?#]+/i.test(s)) return s;
  const host = /^(?:(?:https|estrade):\/\/)?([^\s/?#@]+)(?:[/?#].*)?$/i.exec(s)?.[1];
  if (!host) return null;
  if (!/^https:|^estrade:/i.test(s) && /[/?#]/.test(s)) return null;
  const lower = host.toLowerCase();
  return /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|\[[0-9a-f:]+\])(:\d{1,5})?$/.test(lower) ? lower : null;
}

/** Whether the school field can be used, or what is wrong with it. */
export function checkServer(server: string): "errorEmptyServer" | "errorServerScheme" | null {
  if (!server.trim()) return "errorEmptyServer";
  return schoolFrom(server) ? null : "errorServerScheme";
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
  const server = h("input", { type: "url", value: props.settings.server, placeholder: "ecole.exemple.fr", autocomplete: "off", spellcheck: "false" });
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
    props.onDone(schoolFrom(server.value) ?? server.value.trim(), name.value.trim());
  });
  return h("section", { class: "screen centered", id: "first-run" }, form);
}
