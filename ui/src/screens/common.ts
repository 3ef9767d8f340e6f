import { h } from "../dom";
import { t, type Lang } from "../i18n";

export function languagePicker(lang: Lang, onChange: (lang: Lang) => void): HTMLElement {
  const select = h(
    "select",
    { id: "language" },
    h("option", { value: "fr", selected: lang === "fr" }, t("french")),
    h("option", { value: "en", selected: lang === "en" }, t("english")),
  );
  select.addEventListener("change", () => onChange(select.value === "en" ? "en" : "fr"));
  return h("div", { class: "field inline" }, h("label", { for: "language" }, t("language")), select);
}

/** A notice at the top of a screen, dismissable. */
export function notice(text: string, kind: "info" | "error" = "info"): HTMLElement {
  const el = h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, h("span", {}, text));
  el.append(h("button", { type: "button", class: "link", onclick: () => el.remove() }, t("dismiss")));
  return el;
}

export function header(onSettings?: () => void): HTMLElement {
  return h(
    "header",
    { class: "topbar" },
    h("span", { class: "brand" }, t("appName")),
    h("span", { class: "tagline" }, t("tagline")),
    onSettings ? h("button", { type: "button", class: "ghost", id: "open-settings", onclick: onSettings }, t("settings")) : null,
  );
}
