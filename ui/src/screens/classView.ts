// The class: a spotlight tile, a strip of the others, the participant list,
// the controls and a status banner. Tiles are kept across updates (keyed by
// participant) so their canvases keep painting while the layout changes.

import type { ClassState } from "../classState";
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
  private leave = h("button", { type: "button", class: "danger", id: "leave" });
  private rejoin = h("button", { type: "button", class: "primary", id: "rejoin", hidden: true });
  private tiles = new Map<string, Tile>();

  constructor(private painter: Painter, actions: ClassViewActions) {
    this.mic.addEventListener("click", actions.onMicrophone);
    this.cam.addEventListener("click", actions.onCamera);
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
      h(
        "div",
        { class: "class-body" },
        h("div", { class: "videos" }, this.stage, this.strip),
        h("aside", { class: "sidebar" }, this.listTitle, this.list, this.alone, h("p", { class: "hint" }, t("pinHelp"))),
      ),
      h("footer", { class: "controls" }, h("div", { class: "mic-group" }, this.mic, this.micMeter), this.cam, this.rejoin, this.leave),
    );
  }

  private onPin: (id: string) => void;

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

  private tile(id: string, name: string): Tile {
    let tile = this.tiles.get(id);
    if (!tile) {
      const canvas = h("canvas", { class: "video", "aria-label": name });
      const label = h("span", { class: "name" });
      const el = h("div", { class: "tile", tabindex: 0, role: "button" }, canvas, h("span", { class: "no-video" }, t("noVideo")), label);
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
    const statusKey = { connecting: "statusConnecting", connected: "statusConnected", publishing: "statusPublishing", lost: "statusLost", left: "statusLost" } as const;
    this.banner.textContent = t(statusKey[state.status]);
    this.banner.className = `banner ${state.status}`;
    this.problem.hidden = !state.problem;
    this.problem.textContent = state.problem ? pick(state.problem) : "";
    this.deviceNotice.hidden = !state.deviceNotice;
    this.deviceText.textContent = state.deviceNotice ? pick(state.deviceNotice) : "";

    const everyone = [{ id: "me", name: `${state.me.name} (${t("you")})` }, ...state.members.map((m) => ({ id: m.id, name: m.name }))];
    const keep = new Set(everyone.map((p) => p.id));
    for (const [id, tile] of this.tiles) {
      if (!keep.has(id)) {
        tile.el.remove();
        this.tiles.delete(id);
      }
    }
    this.painter.retain(keep);
    for (const p of everyone) {
      const tile = this.tile(p.id, p.name);
      tile.el.classList.toggle("pinned", state.pinned === p.id);
      const target = p.id === spotlightId ? this.stage : this.strip;
      if (tile.el.parentElement !== target) target.append(tile.el);
    }
    // Keep the strip in class order.
    for (const p of everyone) {
      const tile = this.tiles.get(p.id);
      if (tile && tile.el.parentElement === this.strip) this.strip.append(tile.el);
    }
    this.tiles.get("me")?.el.classList.toggle("camera-off", !state.camera);

    this.listTitle.textContent = t("participants", { count: everyone.length });
    this.list.replaceChildren(
      ...everyone.map((p) => {
        const member = state.members.find((m) => m.id === p.id);
        const muted = p.id === "me" ? !state.microphone : member ? !member.audio : false;
        return h("li", { "data-participant": p.id }, h("span", { class: "person" }, p.name), muted ? h("span", { class: "badge" }, t("muted")) : null);
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
    this.rejoin.hidden = !lost;
    this.rejoin.textContent = t("rejoin");
    this.leave.textContent = t("leave");
  }
}
