// The class: a spotlight tile, a strip of the others, the participant list,
// the controls and a status banner. Tiles are kept across updates (keyed by
// participant, or "<id>:screen" for a screen share) so their canvases keep
// painting while the layout changes.

import type { ShareTarget, ShareTargets } from "../bindings";
import { screenTile, type ClassState } from "../classState";
import { meterPercent } from "../devices";
import { h } from "../dom";
import { pick, t } from "../i18n";
import type { Painter } from "../video/painter";

export interface ClassViewActions {
  onMicrophone(): void;
  onCamera(): void;
  onLeave(): void;
  onRejoin(): void;
  onPin(id: string): void;
  onDismissDeviceNotice(): void;
  /** The share button, while we are not sharing: the caller fetches the targets and opens the picker. */
  onShare(): void;
  /** A target was chosen in the picker. */
  onShareTarget(target: string): void;
  onStopShare(): void;
}

interface Tile {
  el: HTMLElement;
  label: HTMLElement;
}

export class ClassView {
  readonly el: HTMLElement;
  private banner = h("div", { class: "banner", role: "status", id: "status" });
  private problem = h("div", { class: "notice error", role: "alert", hidden: true });
  private deviceText = h("span", {});
  private deviceNotice = h("div", { class: "notice device", id: "device-notice", role: "status", hidden: true }, this.deviceText);
  private title = h("h1", { class: "class-title" });
  private stage = h("div", { class: "stage", id: "stage" });
  private strip = h("div", { class: "strip", id: "strip" });
  private list = h("ul", { class: "people", id: "participants" });
  private listTitle = h("h2", {});
  private alone = h("p", { class: "hint alone" });
  private mic = h("button", { type: "button", id: "toggle-microphone" });
  private micFill = h("div", { class: "meter-fill" });
  private micMeter = h("div", { class: "meter own", id: "own-level", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 }, this.micFill);
  private micOn = false;
  private ownLevel = 0;
  private cam = h("button", { type: "button", id: "toggle-camera" });
  private shareButton = h("button", { type: "button", id: "share-screen" });
  private sharingOwn = false;
  private sharingBanner = h(
    "div",
    { class: "notice sharing", id: "sharing-banner", role: "status", hidden: true },
    h("span", {}, t("youAreSharing")),
    h("button", { type: "button", id: "share-stop" }, t("stopSharing")),
  );
  private picker = h("dialog", { class: "share-picker", id: "share-picker", "aria-labelledby": "share-picker-title", "aria-describedby": "share-picker-hint" });
  private leave = h("button", { type: "button", class: "danger", id: "leave" });
  private rejoin = h("button", { type: "button", class: "primary", id: "rejoin", hidden: true });
  private tiles = new Map<string, Tile>();

  constructor(private painter: Painter, actions: ClassViewActions) {
    this.mic.addEventListener("click", actions.onMicrophone);
    this.cam.addEventListener("click", actions.onCamera);
    this.shareButton.addEventListener("click", () => (this.sharingOwn ? actions.onStopShare() : actions.onShare()));
    this.sharingBanner.querySelector("button")?.addEventListener("click", actions.onStopShare);
    this.onShareTarget = actions.onShareTarget;
    // Escape closes the dialog by itself; focus goes back to the share button.
    this.picker.addEventListener("close", () => {
      if (this.shareButton.isConnected && !this.shareButton.disabled) this.shareButton.focus();
    });
    this.leave.addEventListener("click", actions.onLeave);
    this.rejoin.addEventListener("click", actions.onRejoin);
    this.onPin = actions.onPin;
    this.deviceNotice.append(h("button", { type: "button", class: "link", id: "dismiss-device-notice", onclick: actions.onDismissDeviceNotice }, t("dismiss")));
    this.el = h(
      "section",
      { class: "screen class", id: "class" },
      h("header", { class: "topbar" }, h("span", { class: "brand" }, t("appName")), this.title, this.banner),
      this.problem,
      this.deviceNotice,
      this.sharingBanner,
      h(
        "div",
        { class: "class-body" },
        h("div", { class: "videos" }, this.stage, this.strip),
        h("aside", { class: "sidebar" }, this.listTitle, this.list, this.alone, h("p", { class: "hint" }, t("pinHelp"))),
      ),
      h("footer", { class: "controls" }, h("div", { class: "mic-group" }, this.mic, this.micMeter), this.cam, this.shareButton, this.rejoin, this.leave),
      this.picker,
    );
  }

  private onPin: (id: string) => void;
  private onShareTarget: (target: string) => void;

  /**
   * Asks what to share: the monitors, then the windows, the primary monitor
   * chosen. Says so plainly when there is nothing to share.
   */
  openSharePicker(targets: ShareTargets): void {
    const all = [...targets.monitors, ...targets.windows];
    const chosen = targets.monitors.find((m) => m.isDefault) ?? all[0];
    const item = (target: ShareTarget) => {
      const radio = h("input", { type: "radio", name: "share-target", value: target.id, checked: target === chosen, autofocus: target === chosen });
      const label = h(
        "label",
        { title: target.name },
        radio,
        h("span", { class: "share-name" }, target.name.trim() || target.id),
        target.isDefault ? h("span", { class: "share-primary" }, t("sharePrimary")) : null,
        h("span", { class: "share-size" }, `${target.width} × ${target.height}`),
      );
      // A click on the item itself (a test's element.click()) chooses it too, not only one on its label.
      return h("li", { "data-target": target.id, onclick: () => (radio.checked = true) }, label);
    };
    const group = (legend: string, list: ShareTarget[]) =>
      list.length ? h("fieldset", { class: "share-group" }, h("legend", {}, legend), h("ul", { class: "share-list" }, ...list.map(item))) : null;
    const confirm = h("button", { type: "button", class: "primary", id: "share-confirm", hidden: !chosen }, t("share"));
    confirm.addEventListener("click", () => {
      const target = this.picker.querySelector<HTMLInputElement>("input[name=share-target]:checked")?.value;
      this.picker.close();
      if (target) this.onShareTarget(target);
    });
    const cancel = h("button", { type: "button", id: "share-cancel", autofocus: !chosen, onclick: () => this.picker.close() }, chosen ? t("cancel") : t("dismiss"));
    this.picker.replaceChildren(
      h("h2", { id: "share-picker-title" }, t("sharePickerTitle")),
      h("p", { class: "hint", id: "share-picker-hint" }, chosen ? t("sharePickerHint") : t("shareNothing")),
      h("div", { class: "share-choices" }, group(t("shareMonitors"), targets.monitors), group(t("shareWindows"), targets.windows)),
      h("div", { class: "actions" }, cancel, confirm),
    );
    if (!this.picker.open) this.picker.showModal();
  }

  /** Our own microphone level (0..1), four times a second; the meter stays empty while muted. */
  setOwnLevel(level: number): void {
    this.ownLevel = level;
    this.drawOwnLevel();
  }

  private drawOwnLevel(): void {
    const pct = meterPercent(this.ownLevel, this.micOn);
    this.micFill.style.width = `${pct}%`;
    this.micMeter.setAttribute("aria-valuenow", String(pct));
  }

  private tile(id: string, name: string, share: boolean): Tile {
    let tile = this.tiles.get(id);
    if (!tile) {
      const canvas = h("canvas", { class: "video", "aria-label": name });
      const label = h("span", { class: "name" });
      const el = h("div", { class: share ? "tile screen-share" : "tile", tabindex: 0, role: "button" }, canvas, h("span", { class: "no-video" }, t("noVideo")), label);
      el.dataset.participant = id;
      el.addEventListener("click", () => this.onPin(id));
      el.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") this.onPin(id);
      });
      tile = { el, label };
      this.tiles.set(id, tile);
      this.painter.attach(id, canvas);
    }
    tile.label.textContent = name;
    return tile;
  }

  update(state: ClassState, spotlightId: string): void {
    this.title.textContent = t("classTitle", { room: state.room });
    const statusKey = {
      connecting: "statusConnecting",
      connected: "statusConnected",
      publishing: "statusPublishing",
      reconnecting: "statusReconnecting",
      lost: "statusLost",
      left: "statusLost",
    } as const;
    this.banner.textContent = t(statusKey[state.status]);
    this.banner.className = `banner ${state.status}`;
    this.problem.hidden = !state.problem;
    this.problem.textContent = state.problem ? pick(state.problem) : "";
    this.deviceNotice.hidden = !state.deviceNotice;
    this.deviceText.textContent = state.deviceNotice ? pick(state.deviceNotice) : "";

    const everyone = [{ id: "me", name: `${state.me.name} (${t("you")})` }, ...state.members.map((m) => ({ id: m.id, name: m.name }))];
    // Each share's tile comes right after its sharer's camera.
    const shown = everyone.flatMap((p) => {
      const camera = { ...p, share: false };
      return state.sharing.includes(p.id) ? [camera, { id: screenTile(p.id), name: t("screenOf", { name: p.name }), share: true }] : [camera];
    });
    const keep = new Set(shown.map((p) => p.id));
    for (const [id, tile] of this.tiles) {
      if (!keep.has(id)) {
        tile.el.remove();
        this.tiles.delete(id);
      }
    }
    this.painter.retain(keep);
    for (const p of shown) {
      const tile = this.tile(p.id, p.name, p.share);
      tile.el.classList.toggle("pinned", state.pinned === p.id);
      const target = p.id === spotlightId ? this.stage : this.strip;
      if (tile.el.parentElement !== target) target.append(tile.el);
    }
    // Keep the strip in class order.
    for (const p of shown) {
      const tile = this.tiles.get(p.id);
      if (tile && tile.el.parentElement === this.strip) this.strip.append(tile.el);
    }
    this.tiles.get("me")?.el.classList.toggle("camera-off", !state.camera);

    this.listTitle.textContent = t("participants", { count: everyone.length });
    this.list.replaceChildren(
      ...everyone.map((p) => {
        const member = state.members.find((m) => m.id === p.id);
        const muted = p.id === "me" ? !state.microphone : member ? !member.audio : false;
        const sharing = p.id === "me" ? state.screenShare : state.sharing.includes(p.id);
        return h(
          "li",
          { "data-participant": p.id },
          h("span", { class: "person" }, p.name),
          sharing ? h("span", { class: "badge share" }, t("sharingBadge")) : null,
          muted ? h("span", { class: "badge" }, t("muted")) : null,
        );
      }),
    );
    this.alone.textContent = state.members.length === 0 ? t("alone") : "";

    this.mic.textContent = state.microphone ? t("microphoneOn") : t("microphoneOff");
    this.mic.setAttribute("aria-pressed", String(!state.microphone));
    this.micOn = state.microphone;
    this.micMeter.classList.toggle("off", !state.microphone);
    this.micMeter.setAttribute("aria-label", state.microphone ? t("ownLevel") : t("muted"));
    this.micMeter.title = state.microphone ? t("ownLevel") : t("muted");
    // A lost class sends no more levels: do not leave the last one standing.
    if (state.status === "lost") this.ownLevel = 0;
    this.drawOwnLevel();
    this.cam.textContent = state.camera ? t("cameraOn") : t("cameraOff");
    this.cam.setAttribute("aria-pressed", String(!state.camera));
    const lost = state.status === "lost";
    this.mic.disabled = lost;
    this.cam.disabled = lost;
    this.sharingOwn = state.screenShare;
    this.shareButton.textContent = state.screenShare ? t("stopSharing") : t("shareScreen");
    if (state.screenShare) this.shareButton.removeAttribute("aria-haspopup");
    else this.shareButton.setAttribute("aria-haspopup", "dialog");
    this.shareButton.disabled = lost;
    this.sharingBanner.hidden = !state.screenShare;
    if (lost && this.picker.open) this.picker.close();
    this.rejoin.hidden = !lost;
    this.rejoin.textContent = t("rejoin");
    this.leave.textContent = t("leave");
  }
}
