// Renders every screen of the built UI (ui/dist) in headless Chromium, in French
// and in English, at the default and the smallest window size, with the Tauri
// IPC mocked. Fails on a missing translation key, on text that overflows its
// box, or on anything outside the window. Screenshots go to ui/test-results/.
//
// Run: npm run build && npm run screens   (needs Debian's chromium)

import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile, mkdir } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist");
const out = join(here, "..", "test-results");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

const server = createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  try {
    const body = await readFile(join(dist, path === "/" ? "index.html" : path));
    res.writeHead(200, { "content-type": types[extname(path)] ?? "text/html" });
    res.end(body);
  } catch {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const base = `http://127.0.0.1:${server.address().port}/`;

// The mock Tauri runtime: commands answer from `scenario`; tests push events and frames.
function mockTauri(scenario) {
  const callbacks = new Map();
  let next = 1;
  const listeners = [];
  const channels = [];
  // The class's speaker-levels channel, and how often each command was called.
  let levelsChannel = null;
  let levelsIndex = 0;
  const calls = {};
  // The last tile list the UI sent, and the share targets asked for.
  let tiles = [];
  const shared = [];
  const channelId = (c) => (typeof c === "object" ? c.id : Number(String(c).split(":")[1]));
  window.__TAURI_INTERNALS__ = {
    transformCallback(cb) {
      const id = next++;
      callbacks.set(id, cb);
      return id;
    },
    unregisterCallback(id) {
      callbacks.delete(id);
    },
    convertFileSrc: (p) => p,
    metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
    async invoke(cmd, args) {
      calls[cmd] = (calls[cmd] ?? 0) + 1;
      switch (cmd) {
        case "plugin:event|listen":
          listeners.push(args.handler);
          return listeners.length;
        case "plugin:event|unlisten":
          return null;
        case "startup":
          return scenario.startup;
        case "watch_video":
          channels.push(channelId(args.frames));
          return null;
        case "join":
          if (scenario.joinError) throw scenario.joinError;
          levelsChannel = channelId(args.levels);
          return scenario.joined;
        case "devices":
          return scenario.devices;
        case "share_targets":
          return scenario.shareTargets ?? { monitors: [], windows: [] };
        case "share_screen":
          if (scenario.shareError) throw scenario.shareError;
          shared.push(args.target);
          return null;
        case "stop_screen_share":
          return null;
        case "set_video_tiles":
          tiles = args.tiles;
          return null;
        case "test_microphone": {
          // Like the app: levels ten times a second for a while, then the answer.
          if (scenario.micTestError) throw scenario.micTestError;
          const id = channelId(args.levels);
          const levels = [0.05, 0.2, 0.55, 0.7, 0.4];
          for (const [index, level] of levels.entries()) {
            await new Promise((ok) => setTimeout(ok, 100));
            callbacks.get(id)?.({ index, message: level });
          }
          return null;
        }
        case "test_connection":
          await new Promise((ok) => setTimeout(ok, 50));
          return scenario.connectionChecks ?? [];
        case "save_settings":
        case "video_frame_painted":
        case "set_microphone":
        case "set_camera":
        case "leave":
          return null;
        default:
          throw new Error(`unmocked command ${cmd}`);
      }
    },
  };
  window.__mock = {
    calls,
    shared,
    tiles: () => tiles,
    levels(round) {
      if (levelsChannel !== null) callbacks.get(levelsChannel)?.({ index: levelsIndex++, message: round });
    },
    emit(payload) {
      for (const id of listeners) callbacks.get(id)?.({ event: "class-changed", id: 0, payload: { class: 1, update: payload } });
    },
    frame(participant, w, h, index) {
      const key = new TextEncoder().encode(participant);
      const buf = new ArrayBuffer(18 + key.length + w * h * 4);
      const view = new DataView(buf);
      view.setUint32(0, w, true);
      view.setUint32(4, h, true);
      view.setFloat64(8, Date.now(), true);
      view.setUint16(16, key.length, true);
      new Uint8Array(buf, 18).set(key);
      const px = new Uint8Array(buf, 18 + key.length);
      for (let i = 0; i < w * h; i++) px.set([(i % w) * 255 / w, 90, 160, 255], i * 4);
      for (const id of channels) callbacks.get(id)?.({ index, message: buf });
    },
  };
}

// The chosen microphone is not plugged in (and never was in this run: its id shows).
const settings = (lang) => ({
  server: "wss://classe.exemple.fr/janus",
  name: "Camille Martin",
  language: lang,
  audio: "microphone",
  video: "camera",
  microphone: "alsa_input.usb-Jabra_Evolve_20_SE_MS_A2B3C4D5E6F7-00.mono-fallback",
  speakers: null,
  camera: null,
  voice: { echoCancellation: true, noiseSuppression: true, autoGain: true },
});
// Two microphones, two outputs, no camera.
const devices = {
  microphones: [
    { id: "alsa_input.pci-0000_00_1f.3.analog-stereo", name: "Micro intégré (audio analogique stéréo)", isDefault: true },
    { id: "alsa_input.usb-Logitech_H390-00.mono-fallback", name: "Casque USB Logitech H390", isDefault: false },
  ],
  speakers: [
    { id: "alsa_output.pci-0000_00_1f.3.analog-stereo", name: "Haut-parleurs intégrés (audio analogique stéréo)", isDefault: true },
    { id: "alsa_output.usb-Logitech_H390-00.analog-stereo", name: "Casque USB Logitech H390", isDefault: false },
  ],
  cameras: [],
};
const micBusy = {
  code: "device",
  message: {
    fr: "« Casque USB Logitech H390 » ne s'ouvre pas pour le micro. Vérifiez qu'il est branché et qu'aucune autre application ne le garde, ou choisissez-en un autre dans les réglages.",
    en: "\"Casque USB Logitech H390\" will not open for the microphone. Check that it is plugged in and that no other application holds it, or choose another one in Settings.",
  },
};
const deviceNotice = {
  kind: "device",
  message: {
    fr: "« Casque USB Logitech H390 » ne répond plus : Estrade utilise « Micro intégré (audio analogique stéréo) » pour le micro.",
    en: "\"Casque USB Logitech H390\" stopped responding: Estrade uses \"Micro intégré (audio analogique stéréo)\" for the microphone.",
  },
};
const joined = { class: 1, me: { id: "11", name: "Camille Martin" }, room: "1234", server: "wss://classe.exemple.fr/janus", microphone: true, camera: true, pinNotice: null };
// Two monitors (the primary second, as a system may list them) and windows with long titles.
const shareTargets = {
  monitors: [
    { id: "screen:2", name: "DELL P2419H (HDMI-1)", width: 1920, height: 1080, isDefault: false },
    { id: "screen:1", name: "Écran intégré (eDP-1)", width: 2560, height: 1600, isDefault: true },
  ],
  windows: [
    { id: "window:71", name: "Chapitre 4 — Les fractions décimales.pdf — Lecteur de documents", width: 1280, height: 900, isDefault: false },
    { id: "window:72", name: "GeoGebra Classic — Triangle rectangle et cercle circonscrit (exercice 12)", width: 1500, height: 960, isDefault: false },
    { id: "window:73", name: "Terminal", width: 734, height: 460, isDefault: false },
  ],
};
const shareFailed = {
  code: "screen_share",
  message: {
    fr: "La fenêtre « GeoGebra Classic » ne peut pas être partagée : elle a été fermée ou réduite. Choisissez-en une autre.",
    en: "The window \"GeoGebra Classic\" cannot be shared: it was closed or minimised. Choose another one.",
  },
};
const inClass = (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: { invite: "1234", name: "Camille Martin", pin: null, rememberPin: false } });
// Three pupils; Léa speaks.
async function pupils(page) {
  await page.evaluate(() => {
    const people = [["21", "Léa Dupont-Moreau"], ["22", "Noah Benali"], ["23", "Inès Laurent"]];
    for (const [id, name] of people) window.__mock.emit({ kind: "participant_joined", participant: { id, name } });
    window.__mock.emit({ kind: "publishing" });
    window.__mock.levels([{ participant: "21", level: 0.8 }]);
  });
  await page.waitForFunction(() => window.__estradeSpotlight?.() === "21");
}
// Opens the share picker and waits for its list (or its "nothing to share").
async function openPicker(page) {
  await page.click("#share-screen");
  await page.waitForSelector("#share-picker[open]");
  const box = await page.evaluate(() => {
    const r = document.querySelector("#share-picker").getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, vw: innerWidth, vh: innerHeight };
  });
  if (box.left < 0 || box.top < 0 || box.right > box.vw + 1 || box.bottom > box.vh + 1) throw new Error(`the share picker is outside the window: ${JSON.stringify(box)}`);
}

// What "Test my connection" answers, as the app would (long sentences on purpose).
const connectionChecks = [
  { step: "link", verdict: "ok", target: "ecole.exemple.fr", message: { fr: "Lien valable : la classe 1234 de ecole.exemple.fr.", en: "Valid link: class 1234 at ecole.exemple.fr." } },
  { step: "name", verdict: "ok", target: "ecole.exemple.fr", message: { fr: "Le nom ecole.exemple.fr est trouvé.", en: "The name ecole.exemple.fr resolves." } },
  { step: "tls", verdict: "ok", target: "ecole.exemple.fr:443", message: { fr: "Connexion chiffrée avec ecole.exemple.fr : son certificat est valable.", en: "Encrypted connection to ecole.exemple.fr: its certificate is valid." } },
  { step: "discovery", verdict: "ok", target: "ecole.exemple.fr", message: { fr: "ecole.exemple.fr publie sa configuration de classes : 2 serveur(s) de classe.", en: "ecole.exemple.fr publishes its class configuration: 2 classroom server(s)." } },
  { step: "signaling", verdict: "ok", target: "wss://janus-a.ecole.exemple.fr/janus", message: { fr: "Le serveur de classe wss://janus-a.ecole.exemple.fr/janus répond (Janus 1.1.2, aller-retour 12.4 ms).", en: "The classroom server wss://janus-a.ecole.exemple.fr/janus answers (Janus 1.1.2, round trip 12.4 ms)." } },
  { step: "signaling", verdict: "warn", target: "wss://janus-b.ecole.exemple.fr/janus", message: { fr: "Le serveur de classe wss://janus-b.ecole.exemple.fr/janus ne répond pas. S'il est le seul, la classe ne peut pas s'ouvrir : prévenez le service informatique.", en: "The classroom server wss://janus-b.ecole.exemple.fr/janus is not answering. If it is the only one, the class cannot open: tell your IT support." } },
  { step: "devices", verdict: "warn", target: "", message: { fr: "Micro (1) et sortie son (1) détectés ; pas de caméra : Estrade enverra la mire de test.", en: "Microphone (1) and sound output (1) found; no camera: Estrade will send its test pattern." } },
];

const badPin = { code: "wrong_pin", message: { fr: "Le code PIN de la classe 1234 est incorrect. Vérifiez-le auprès de l'enseignant et réessayez.", en: "The PIN for class 1234 is wrong. Check it with your teacher and try again." } };

const screens = [
  { name: "first-run", startup: (lang) => ({ settings: { ...settings(lang), server: "", name: "" }, firstRun: true, systemLanguage: lang, notice: null, autoJoin: null }), selector: "#first-run" },
  { name: "join", startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: null }), selector: "#join" },
  {
    name: "join-error",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: null }),
    joinError: badPin,
    selector: "#join",
    act: async (page) => {
      await page.fill("#invite", "1234");
      await page.click("button[type=submit]");
      await page.waitForSelector(".error:not([hidden])");
      // After a failure, "Test my connection" says where the way to the class breaks.
      await page.click("#test-connection");
      await page.waitForSelector("#connection-checks .check.warn");
      const lines = await page.$$eval("#connection-checks .check", (l) => l.length);
      if (lines !== 7) throw new Error(`the connection test shows ${lines} lines, not 7`);
    },
  },
  {
    name: "settings",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: null }),
    selector: "#join",
    act: async (page) => {
      await page.click("#open-settings");
      await page.waitForSelector("#settings");
      // The lists arrived: the unplugged microphone stays chosen and says so; no camera is said plainly.
      await page.waitForSelector("#microphone-unplugged:not([hidden])");
      await page.waitForSelector("#no-camera:not([hidden])");
      await page.click("#test-microphone");
      await page.waitForFunction(() => Number(document.querySelector("#mic-test-meter")?.getAttribute("aria-valuenow")) > 0);
      await page.waitForSelector("#mic-test-status.ok");
      await page.click("#test-connection");
      await page.waitForSelector("#connection-checks .check.ok");
    },
  },
  {
    name: "settings-mic-error",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: null }),
    micTestError: micBusy,
    selector: "#join",
    act: async (page) => {
      await page.click("#open-settings");
      await page.waitForSelector("#microphone-unplugged:not([hidden])");
      await page.selectOption("#microphone", "alsa_input.usb-Logitech_H390-00.mono-fallback");
      await page.click("#test-microphone");
      await page.waitForSelector("#mic-test-status.error");
      // Scrolled to the test's outcome, as a teacher would see it.
      await page.evaluate(() => document.querySelector("#mic-test-status").scrollIntoView({ block: "center" }));
    },
  },
  {
    name: "class",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: { invite: "1234", name: "Camille Martin", pin: null, rememberPin: false } }),
    selector: "#class",
    act: async (page) => {
      await page.evaluate(() => {
        const people = [["21", "Léa Dupont-Moreau"], ["22", "Noah Benali"], ["23", "Inès Laurent"]];
        for (const [id, name] of people) window.__mock.emit({ kind: "participant_joined", participant: { id, name } });
        window.__mock.emit({ kind: "publishing" });
        window.__mock.emit({ kind: "media_flowing", participant: { id: "21", name: "Léa Dupont-Moreau" }, media: "audio" });
      }, null);
      await page.evaluate((notice) => window.__mock.emit(notice), deviceNotice);
      await page.evaluate(() => window.__mock.levels([{ participant: "21", level: 0.2 }, { participant: "me", level: 0.6 }]));
      await page.waitForSelector("#device-notice:not([hidden])");
      await page.waitForFunction(() => document.querySelector("#own-level")?.getAttribute("aria-valuenow") === "60");
      await page.waitForTimeout(200);
      await page.evaluate(() => {
        window.__mock.frame("21", 320, 180, 0);
        window.__mock.frame("me", 160, 90, 1);
      });
      await page.waitForFunction(() => (window.__estradePaint?.painted?.["21"] ?? 0) >= 1);
    },
  },
  {
    name: "class-muted",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: { invite: "1234", name: "Camille Martin", pin: null, rememberPin: false } }),
    selector: "#class",
    act: async (page) => {
      await page.evaluate((notice) => {
        window.__mock.emit({ kind: "participant_joined", participant: { id: "21", name: "Léa" } });
        window.__mock.emit({ kind: "publishing" });
        window.__mock.emit(notice);
      }, deviceNotice);
      await page.waitForSelector("#device-notice:not([hidden])");
      // A notice stays until dismissed.
      await page.click("#dismiss-device-notice");
      await page.waitForSelector("#device-notice[hidden]", { state: "attached" });
      await page.click("#toggle-microphone");
      await page.waitForSelector("#toggle-microphone[aria-pressed=true]");
      await page.evaluate(() => window.__mock.levels([{ participant: "me", level: 0.8 }]));
      await page.waitForTimeout(100);
      const meter = await page.evaluate(() => {
        const el = document.querySelector("#own-level");
        return { off: el.classList.contains("off"), now: el.getAttribute("aria-valuenow"), fill: el.firstElementChild.style.width };
      });
      if (!meter.off || meter.now !== "0" || meter.fill !== "0%") throw new Error(`the muted microphone's meter is not off: ${JSON.stringify(meter)}`);
    },
  },
  {
    name: "class-lost",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: { invite: "1234", name: "Camille Martin", pin: null, rememberPin: false } }),
    selector: "#class",
    act: async (page) => {
      await page.evaluate(() => {
        window.__mock.emit({ kind: "participant_joined", participant: { id: "21", name: "Léa" } });
        window.__mock.emit({
          kind: "connection_lost",
          message: { fr: "La connexion au serveur de classe est perdue. Vérifiez votre connexion à Internet, puis rejoignez la classe à nouveau.", en: "The connection to the classroom server was lost. Check your Internet connection, then join the class again." },
        });
      });
      await page.waitForSelector("#rejoin:not([hidden])");
    },
  },
  {
    name: "class-reconnecting",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: { invite: "1234", name: "Camille Martin", pin: null, rememberPin: false } }),
    selector: "#class",
    act: async (page) => {
      await page.evaluate(() => {
        window.__mock.emit({ kind: "participant_joined", participant: { id: "21", name: "Léa" } });
        window.__mock.emit({ kind: "reconnecting", attempt: 2 });
      });
      await page.waitForSelector(".banner.reconnecting");
      if (await page.$("#rejoin:not([hidden])")) throw new Error("reconnecting offers to join again: it should not, the class comes back by itself");
    },
  },
  {
    name: "share-picker",
    startup: inClass,
    shareTargets,
    selector: "#class",
    act: async (page) => {
      await pupils(page);
      await openPicker(page);
      // The primary monitor is chosen, and has the focus.
      const chosen = await page.evaluate(() => [document.querySelector("input[name=share-target]:checked")?.value, document.activeElement?.value]);
      if (chosen[0] !== "screen:1" || chosen[1] !== "screen:1") throw new Error(`the primary monitor is not chosen and focused: ${chosen}`);
      await page.waitForSelector("#share-confirm:not([hidden])");
    },
  },
  {
    name: "share-picker-empty",
    startup: inClass,
    selector: "#class",
    act: async (page) => {
      await openPicker(page);
      await page.waitForSelector("#share-confirm[hidden]", { state: "attached" });
      if (await page.$("[data-target]")) throw new Error("an empty share picker lists something");
    },
  },
  {
    name: "class-share",
    startup: inClass,
    selector: "#class",
    act: async (page) => {
      await pupils(page);
      // Noah shares a 4:3 screen: it takes the spotlight from Léa, who speaks; his camera stays in the strip.
      await page.evaluate(() => {
        window.__mock.emit({ kind: "screen_share_started", participant: { id: "22", name: "Noah Benali" } });
        window.__mock.emit({ kind: "media_flowing", participant: { id: "22", name: "Noah Benali" }, media: "screen" });
      });
      await page.waitForFunction(() => window.__estradeSpotlight() === "22:screen" && document.querySelector('#stage .tile[data-participant="22:screen"]'));
      await page.waitForSelector('#strip .tile[data-participant="22"]');
      await page.waitForFunction(() => window.__mock.tiles().some((t) => t.participant === "22:screen"));
      await page.evaluate(() => {
        window.__mock.frame("22:screen", 480, 360, 0);
        window.__mock.frame("21", 320, 180, 1);
      });
      await page.waitForFunction(() => (window.__estradePaint?.painted?.["22:screen"] ?? 0) >= 1);
      // Shown whole: the canvas keeps the frame's size and is contained in its tile.
      const fit = await page.evaluate(() => {
        const c = document.querySelector('#stage canvas[data-participant="22:screen"]');
        return { fit: getComputedStyle(c).objectFit, w: c.width, h: c.height };
      });
      if (fit.fit !== "contain" || fit.w !== 480 || fit.h !== 360) throw new Error(`the share is not shown whole: ${JSON.stringify(fit)}`);
    },
  },
  {
    name: "class-sharing",
    startup: inClass,
    shareTargets,
    selector: "#class",
    act: async (page) => {
      await pupils(page);
      await openPicker(page);
      // As the end-to-end test does it: element.click() on the list item.
      await page.evaluate(() => document.querySelector('[data-target="window:72"]').click());
      await page.click("#share-confirm");
      await page.waitForSelector("#sharing-banner:not([hidden])");
      await page.waitForSelector("#share-picker:not([open])", { state: "attached" });
      const shared = await page.evaluate(() => window.__mock.shared.join());
      if (shared !== "window:72") throw new Error(`shared ${shared}, not window:72`);
    },
  },
  {
    name: "class-share-error",
    startup: inClass,
    shareTargets,
    shareError: shareFailed,
    selector: "#class",
    act: async (page) => {
      await pupils(page);
      await openPicker(page);
      await page.click('[data-target="window:72"]');
      await page.click("#share-confirm");
      await page.waitForSelector(".notice.error:not([hidden])");
      await page.waitForSelector("#sharing-banner[hidden]", { state: "attached" });
    },
  },
];

// Text that overflows its own box, or boxes outside the window.
function layoutProblems() {
  const problems = [];
  const text = document.body.innerText;
  const raw = text.match(/⟦\w+⟧|\{\w+\}/g);
  if (raw) problems.push(`untranslated: ${raw.join(", ")}`);
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  if (document.documentElement.scrollWidth > vw + 1) problems.push(`page wider than the window (${document.documentElement.scrollWidth} > ${vw})`);
  for (const el of document.querySelectorAll("button, label, h1, h2, p, li, .banner, .notice span, select, input, .tile .name")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden" || el.closest("[hidden]")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const clipped = style.textOverflow === "ellipsis";
    if (!clipped && el.scrollWidth > el.clientWidth + 1 && el.tagName !== "SELECT" && el.tagName !== "INPUT") {
      problems.push(`text overflows ${el.tagName.toLowerCase()}#${el.id || ""}.${el.className}: "${el.textContent.trim().slice(0, 40)}"`);
    }
    const scroller = el.closest(".screen, .strip, .sidebar");
    if (!scroller && (r.right > vw + 1 || r.bottom > vh + 1)) problems.push(`outside the window: ${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`);
  }
  return problems;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
await mkdir(out, { recursive: true });
const failures = [];
let checked = 0;
for (const size of [{ width: 1280, height: 800 }, { width: 760, height: 520 }]) {
  for (const lang of ["fr", "en"]) {
    for (const s of screens) {
      const page = await browser.newPage({ viewport: size });
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.addInitScript(mockTauri, { startup: s.startup(lang), joined, joinError: s.joinError, devices, micTestError: s.micTestError, shareTargets: s.shareTargets, shareError: s.shareError, connectionChecks });
      await page.goto(base);
      await page.waitForSelector(s.selector);
      if (s.act) await s.act(page);
      const htmlLang = await page.evaluate(() => document.documentElement.lang);
      const problems = await page.evaluate(layoutProblems);
      if (htmlLang !== lang) problems.push(`document language is ${htmlLang}, not ${lang}`);
      problems.push(...errors.map((e) => `console: ${e}`));
      const shot = join(out, `${s.name}-${lang}-${size.width}x${size.height}.png`);
      await page.screenshot({ path: shot });
      checked++;
      if (problems.length) failures.push(`${s.name} (${lang}, ${size.width}x${size.height}):\n  ${problems.join("\n  ")}`);
      await page.close();
    }
  }
}
// The settings screen asks for the devices again every 3 s while it is open, and stops once left.
{
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  const lang = "fr";
  await page.addInitScript(mockTauri, { startup: { settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: null }, joined, devices });
  await page.goto(base);
  await page.click("#open-settings");
  const asked = () => page.evaluate(() => window.__mock.calls.devices ?? 0);
  try {
    await page.waitForFunction(() => (window.__mock.calls.devices ?? 0) >= 2, null, { timeout: 5000 });
  } catch {
    failures.push(`settings: the device lists were not asked again within 5 s (asked ${await asked()} times)`);
  }
  await page.click("#settings-back");
  await page.waitForSelector("#join");
  const before = await asked();
  await page.waitForTimeout(3500);
  const after = await asked();
  if (after !== before) failures.push(`settings: the device lists were still asked for after leaving the screen (${before} -> ${after})`);
  failures.push(...errors.map((e) => `device refresh: console: ${e}`));
  checked++;
  await page.close();
}
// Screen shares over time: a share takes the spotlight, a pin wins over it,
// its end gives the spotlight back to the speaker; our own share's picker
// closes on Escape, stops from the banner, and is forgotten on leaving.
{
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.addInitScript(mockTauri, { startup: inClass("en"), joined, devices, shareTargets });
  await page.goto(base);
  await page.waitForSelector("#class");
  const spot = () => page.evaluate(() => window.__estradeSpotlight());
  const expectSpot = async (id, what) => {
    try {
      await page.waitForFunction((id) => window.__estradeSpotlight() === id && document.querySelector(`#stage .tile[data-participant="${id}"]`), id, { timeout: 3000 });
    } catch {
      failures.push(`share: ${what}: the spotlight is ${await spot()}, not ${id}`);
    }
  };
  try {
    await pupils(page);
    const noah = { id: "22", name: "Noah Benali" };
    await page.evaluate((p) => window.__mock.emit({ kind: "screen_share_started", participant: p }), noah);
    await expectSpot("22:screen", "a share started");
    await page.click('#strip .tile[data-participant="22"]');
    await expectSpot("22", "the sharer's camera pinned");
    await page.click('#strip .tile[data-participant="22:screen"]');
    await expectSpot("22:screen", "the share pinned");
    await page.evaluate((p) => window.__mock.emit({ kind: "screen_share_stopped", participant: p }), noah);
    await expectSpot("21", "the share stopped");
    await page.waitForFunction(() => !document.querySelector('[data-participant="22:screen"]') && !window.__mock.tiles().some((t) => t.participant === "22:screen"), null, { timeout: 3000 });

    await openPicker(page);
    await page.keyboard.press("Escape");
    await page.waitForSelector("#share-picker:not([open])", { state: "attached" });
    if (!(await page.evaluate(() => document.activeElement?.id === "share-screen"))) failures.push("share: the focus did not come back to the share button after Escape");
    await openPicker(page);
    await page.click("#share-confirm");
    await page.waitForSelector("#sharing-banner:not([hidden])");
    const shared = await page.evaluate(() => window.__mock.shared.join());
    if (shared !== "screen:1") failures.push(`share: the primary monitor was not shared by default (${shared})`);
    await page.click("#share-stop");
    await page.waitForSelector("#sharing-banner[hidden]", { state: "attached" });
    await page.click("#share-screen");
    await page.waitForSelector("#share-picker[open]");
    await page.click("#share-confirm");
    await page.waitForSelector("#sharing-banner:not([hidden])");
    await page.click("#leave");
    await page.waitForSelector("#join");
    await page.click("button[type=submit]");
    await page.waitForSelector("#class");
    const after = await page.evaluate(() => ({ banner: document.querySelector("#sharing-banner").hidden, button: document.querySelector("#share-screen").textContent }));
    if (!after.banner || after.button !== "Share screen") failures.push(`share: still sharing after leaving and joining again: ${JSON.stringify(after)}`);
    const stops = await page.evaluate(() => window.__mock.calls.stop_screen_share ?? 0);
    if (stops !== 1) failures.push(`share: stop_screen_share called ${stops} times, not once`);
  } catch (e) {
    failures.push(`share: ${e.message.split("\n")[0]}`);
  }
  failures.push(...errors.map((e) => `share: console: ${e}`));
  checked++;
  await page.close();
}
await browser.close();
server.close();
if (failures.length) {
  console.error(`screens: ${failures.length} of ${checked} checks have problems:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log(
  `screens: ${checked - 2} renders checked (${screens.length} screens x 2 languages x 2 sizes), no missing translation, no overflow; device lists refreshed while the settings are open, not after; screen shares spotlighted, pinned, stopped and forgotten on leaving`,
);
