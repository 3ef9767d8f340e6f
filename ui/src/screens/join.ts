import type { Settings } from "../bindings";
import { field, h } from "../dom";
import { t } from "../i18n";
import { connectionTest, header } from "./common";

export interface JoinProps {
  settings: Settings;
  invite: string;
  busy: boolean;
  error: string | null;
  /** Which field the error is about, to focus it. */
  errorField: "invite" | "name" | "pin" | null;
  onJoin(invite: string, name: string, pin: string, rememberPin: boolean): void;
  /** Abandons the join under way (shown while busy). */
  onCancel(): void;
  onSettings(): void;
}

export function joinScreen(props: JoinProps): HTMLElement {
  const invite = h("input", { type: "text", value: props.invite, placeholder: "1234", autocomplete: "off", spellcheck: "false" });
  const name = h("input", { type: "text", value: props.settings.name, autocomplete: "name", maxlength: 64 });
  const pin = h("input", { type: "password", autocomplete: "off", inputmode: "numeric", maxlength: 32 });
  const remember = h("input", { type: "checkbox", id: "remember-pin", checked: true });
  const error = h("p", { class: "error", role: "alert", hidden: !props.error }, props.error ?? "");
  const submit = h("button", { type: "submit", class: "primary", disabled: props.busy }, props.busy ? t("joining") : t("join"));
  const cancel = h("button", { type: "button", id: "cancel-join", hidden: !props.busy }, t("cancel"));
  cancel.addEventListener("click", () => props.onCancel());
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h1", {}, t("joinTitle")),
    field("invite", t("inviteLabel"), invite, t("inviteHint")),
    field("name", t("nameLabel"), name),
    field("pin", t("pinLabel"), pin, t("pinHint")),
    h("div", { class: "field check" }, remember, h("label", { for: "remember-pin" }, t("rememberPin"))),
    error,
    // After a failure: what exactly is wrong on the way to the class.
    props.error ? connectionTest(() => invite.value) : null,
    h("div", { class: "actions" }, cancel, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (props.busy) return;
    props.onJoin(invite.value, name.value, pin.value, remember.checked);
  });
  const focus = props.errorField === "name" ? name : props.errorField === "pin" ? pin : invite;
  queueMicrotask(() => focus.focus());
  return h("section", { class: "screen", id: "join" }, header(props.onSettings), h("div", { class: "centered" }, form));
}
