import { commands, type ConnectionCheck } from "../bindings";
import { h } from "../dom";
import { pick, t, type Lang } from "../i18n";

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

/**
 * "Test my connection": a button, and below it one line per check, in the
 * order checked (the link, the school's name, certificate and document,
 * each server, the devices), each saying what to try next when it failed.
 * `target` gives what to test when clicked: a class link or code, or "" for
 * the school of the settings.
 */
export function connectionTest(target: () => string): HTMLElement {
  const button = h("button", { type: "button", id: "test-connection" }, t("testConnection"));
  const results = h("ul", { class: "checks", id: "connection-checks", "aria-live": "polite", hidden: true });
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = t("testingConnection");
    results.hidden = false;
    results.replaceChildren(h("li", { class: "check pending" }, t("testingConnection")));
    let lines: HTMLElement[];
    try {
      const answer = await commands.testConnection(target());
      lines = answer.status === "ok" ? answer.data.map(checkLine) : [h("li", { class: "check fail" }, pick(answer.error.message))];
    } catch (e) {
      console.error(e);
      lines = [h("li", { class: "check fail" }, t("errorUnexpected"))];
    }
    results.replaceChildren(...lines);
    button.disabled = false;
    button.textContent = t("testConnection");
  });
  return h("div", { class: "connection-test" }, button, results);
}

function checkLine(check: ConnectionCheck): HTMLElement {
  const mark = { ok: "✓", warn: "!", fail: "✗" }[check.verdict];
  return h("li", { class: `check ${check.verdict}`, "data-step": check.step }, h("span", { class: "mark", "aria-hidden": "true" }, mark), h("span", {}, pick(check.message)));
}
