// The app's controller: which screen shows, and the calls into Rust.

import { Channel } from "@tauri-apps/api/core";
import { commands, events, type AppError, type ClassChanged, type JoinRequest, type Message, type Result, type Settings, type ShareTargets, type SpeakerLevel } from "./bindings";
import { applyUpdate, dismissDeviceNotice, joinedState, togglePin, type ClassState } from "./classState";
import { splitLevels } from "./devices";
import { language, pick, setLanguage, t, type Lang } from "./i18n";
import { ClassView } from "./screens/classView";
import { notice } from "./screens/common";
import { firstRunScreen } from "./screens/firstRun";
import { joinScreen } from "./screens/join";
import { settingsScreen } from "./screens/settings";
import { newTracker, spotlight, trackSpeaker } from "./spotlight";
import { Painter } from "./video/painter";

const root = document.getElementById("app") as HTMLElement;

let settings: Settings;
// The settings form as it stood when the language changed (shown again, not saved).
let settingsDraft: Settings | null = null;
// Stops what the screen shown runs in the background (the settings screen's device watch).
let closeScreen: (() => void) | null = null;
let invite = "";
let lastRequest: JoinRequest | null = null;
let classState: ClassState | null = null;
let classView: ClassView | null = null;
let tracker = newTracker();
let screen: "first-run" | "join" | "class" | "settings" = "join";
let joinError: { text: string; field: "invite" | "name" | "pin" | null } | null = null;
let busy = false;
// Updates that arrive while the join call is still answering: the event and
// the command reply race, and the first participants must not be lost.
let earlyUpdates: ClassChanged[] = [];
// The class session we show; events of any other (one just left) are ignored.
let currentClass: number | null = null;
// A share command (start or stop) is under way: the share buttons wait for it.
let shareBusy = false;
// The last share error shown, cleared once a share works.
let shareProblem: Message | null = null;

const painter = new Painter({
  setTiles: (tiles) => void commands.setVideoTiles(tiles),
  painted: (participant) => void commands.videoFramePainted(participant),
});
// Exposed for the end-to-end test and the paint benchmark, which read it through WebDriver.
(window as unknown as { __estradePaint: unknown }).__estradePaint = painter.stats;
// Likewise the spotlight's tile id ("me", a participant id, "<id>:screen"; empty outside a class).
(window as unknown as { __estradeSpotlight: () => string }).__estradeSpotlight = () => currentSpotlight();

function show(el: HTMLElement, top?: HTMLElement, close?: () => void): void {
  closeScreen?.();
  closeScreen = close ?? null;
  root.replaceChildren(...(top ? [top] : []), el);
}

function unexpected(): Message {
  return { fr: t("errorUnexpected", {}, "fr"), en: t("errorUnexpected", {}, "en") };
}

function messageOf(e: unknown): string {
  const err = e as Partial<AppError>;
  return err && err.message && typeof err.message === "object" ? pick(err.message) : t("errorUnexpected");
}

function render(top?: HTMLElement): void {
  switch (screen) {
    case "first-run":
      show(
        firstRunScreen({
          settings,
          lang: language(),
          onLanguage: (lang) => changeLanguage(lang),
          onDone: (server, name) => void saveThen({ ...settings, server, name, language: language() }, "join"),
        }),
        top,
      );
      break;
    case "join":
      show(
        joinScreen({
          settings,
          invite,
          busy,
          error: joinError?.text ?? null,
          errorField: joinError?.field ?? null,
          onJoin: (inv, name, pin, rememberPin) => {
            invite = inv;
            void joinClass({ invite: inv, name, pin: pin || null, rememberPin });
          },
          onCancel: () => void commands.cancelJoin(),
          onSettings: () => {
            screen = "settings";
            render();
          },
        }),
        top,
      );
      break;
    case "settings": {
      const view = settingsScreen({
        settings: settingsDraft ?? settings,
        lang: language(),
        onLanguage: (lang, draft) => {
          settingsDraft = draft;
          changeLanguage(lang);
        },
        onSave: (s) => void saveThen(s, "join", notice(t("saved"))),
        onBack: () => {
          settingsDraft = null;
          screen = "join";
          render();
        },
      });
      show(view.el, top, view.close);
      break;
    }
    case "class":
      renderClass();
      break;
  }
}

function changeLanguage(lang: Lang): void {
  setLanguage(lang);
  settings = { ...settings, language: lang };
  void commands.saveSettings(settings);
  if (classView) classView = null;
  render();
}

async function saveThen(next: Settings, then: typeof screen, top?: HTMLElement): Promise<void> {
  const result = await commands.saveSettings(next);
  if (result.status === "error") {
    // The settings form shows again as it was typed, not as last saved.
    if (screen === "settings") settingsDraft = next;
    render(notice(pick(result.error.message), "error"));
    return;
  }
  settings = next;
  settingsDraft = null;
  screen = then;
  render(top);
}

function renderClass(): void {
  if (!classState) return;
  if (!classView) {
    classView = new ClassView(painter, {
      onMicrophone: () => void toggleMedia("microphone"),
      onCamera: () => void toggleMedia("camera"),
      onLeave: () => void leaveClass(),
      onRejoin: () => {
        if (lastRequest) void joinClass(lastRequest);
      },
      onPin: (id) => {
        if (classState) classState = togglePin(classState, id);
        renderClass();
      },
      onDismissDeviceNotice: () => {
        if (classState) classState = dismissDeviceNotice(classState);
        renderClass();
      },
      onShare: () => void openSharePicker(),
      onShareTarget: (target) => void shareCommand(() => commands.shareScreen(target), true),
      onStopShare: () => void shareCommand(() => commands.stopScreenShare(), false),
    });
    show(classView.el);
  }
  classView.update(classState, currentSpotlight());
}

function currentSpotlight(): string {
  if (!classState) return "";
  return spotlight(classState.members.map((m) => m.id), classState.sharing, classState.pinned, tracker.current);
}

async function openSharePicker(): Promise<void> {
  const session = currentClass;
  let targets: ShareTargets;
  try {
    targets = await commands.shareTargets();
  } catch (e) {
    console.error(e);
    if (classState && session === currentClass) classState = { ...classState, problem: unexpected() };
    renderClass();
    return;
  }
  if (screen === "class" && session === currentClass) classView?.openSharePicker(targets);
}

/** Starts (`sharing`: true) or stops our share; an error shows as the class's problem. */
async function shareCommand(run: () => Promise<Result<null, AppError>>, sharing: boolean): Promise<void> {
  if (shareBusy || !classState) return;
  shareBusy = true;
  const session = currentClass;
  let result: Result<null, AppError>;
  try {
    result = await run();
  } catch (e) {
    console.error(e);
    result = { status: "error", error: { code: "screen_share", message: unexpected() } };
  }
  shareBusy = false;
  // Left (or left and joined again) meanwhile: that class's share is gone.
  if (!classState || session !== currentClass) return;
  if (result.status === "ok") {
    const problem = classState.problem === shareProblem ? null : classState.problem;
    classState = { ...classState, screenShare: sharing, problem };
    shareProblem = null;
  } else {
    shareProblem = result.error.message;
    classState = { ...classState, problem: shareProblem };
  }
  renderClass();
}

async function toggleMedia(which: "microphone" | "camera"): Promise<void> {
  if (!classState) return;
  const on = !classState[which];
  const result = which === "microphone" ? await commands.setMicrophone(on) : await commands.setCamera(on);
  if (result.status === "ok" && classState) {
    classState = { ...classState, [which]: on };
  } else if (result.status === "error" && classState) {
    classState = { ...classState, problem: result.error.message };
  }
  renderClass();
}

function errorField(code: AppError["code"]): "invite" | "name" | "pin" | null {
  if (code === "wrong_pin") return "pin";
  if (code === "no_name") return "name";
  if (code === "bad_invite" || code === "no_such_class") return "invite";
  return null;
}

async function joinClass(request: JoinRequest): Promise<void> {
  busy = true;
  earlyUpdates = [];
  joinError = null;
  screen = "join";
  classView = null;
  classState = null;
  currentClass = null;
  painter.clear();
  render();
  const levels = new Channel<SpeakerLevel[]>();
  levels.onmessage = (round) => {
    // "me" is our own microphone, for its meter; the spotlight follows the others.
    const { me, others } = splitLevels(round);
    if (me !== null && screen === "class") classView?.setOwnLevel(me);
    const before = tracker.current;
    tracker = trackSpeaker(tracker, others, Date.now());
    if (tracker.current !== before && screen === "class") renderClass();
  };
  let result;
  try {
    result = await commands.join(request, levels);
  } catch (e) {
    result = { status: "error" as const, error: { code: "refused" as const, message: { fr: t("errorUnexpected", {}, "fr"), en: t("errorUnexpected", {}, "en") } } };
    console.error(e);
  }
  busy = false;
  if (result.status === "error") {
    // Cancelled by the person: back to the form as it was, nothing to explain.
    joinError = result.error.code === "cancelled" ? null : { text: messageOf(result.error), field: errorField(result.error.code) };
    render();
    return;
  }
  // Kept in memory only, so "join again" after a lost connection needs no retyping.
  lastRequest = { ...request, rememberPin: false };
  currentClass = result.data.class;
  settings = { ...settings, server: result.data.server, name: result.data.me.name };
  invite = request.invite;
  classState = earlyUpdates.filter((e) => e.class === currentClass).reduce((s, e) => applyUpdate(s, e.update), joinedState(result.data));
  earlyUpdates = [];
  tracker = newTracker();
  screen = "class";
  render();
}

async function leaveClass(): Promise<void> {
  await commands.leave();
  // The `left` update returns to the join screen; do it now too, in case the class was already gone.
  endClass();
}

function endClass(): void {
  classState = null;
  currentClass = null;
  classView = null;
  painter.clear();
  screen = "join";
  render();
}

async function boot(): Promise<void> {
  const frames = new Channel<unknown>();
  // Video packets arrive as raw bytes (an ArrayBuffer), not JSON.
  frames.onmessage = (data) => painter.onPacket(data as ArrayBuffer);
  await commands.watchVideo(frames as never);
  await events.classChanged.listen((event) => {
    if (!classState) {
      if (busy) earlyUpdates.push(event.payload);
      return;
    }
    if (event.payload.class !== currentClass) return;
    const update = event.payload.update;
    if (update.kind === "left") {
      endClass();
      return;
    }
    classState = applyUpdate(classState, update);
    if (screen === "class") renderClass();
  });
  const start = await commands.startup();
  settings = start.settings;
  setLanguage(settings.language ?? start.systemLanguage);
  const top = start.notice ? notice(pick(start.notice), "error") : undefined;
  if (start.autoJoin) {
    invite = start.autoJoin.invite;
    render(top);
    await joinClass(start.autoJoin);
    return;
  }
  screen = start.firstRun ? "first-run" : "join";
  render(top);
}

boot().catch((e) => {
  console.error(e);
  root.replaceChildren(notice(t("errorUnexpected"), "error"));
});
