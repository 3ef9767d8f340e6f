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
      switch (cmd) {
        case "plugin:event|listen":
          listeners.push(args.handler);
          return listeners.length;
        case "plugin:event|unlisten":
          return null;
        case "startup":
          return scenario.startup;
        case "watch_video":
          channels.push(typeof args.frames === "object" ? args.frames.id : Number(String(args.frames).split(":")[1]));
          return null;
        case "join":
          if (scenario.joinError) throw scenario.joinError;
          return scenario.joined;
        case "save_settings":
        case "set_video_tiles":
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

const settings = (lang) => ({ server: "wss://classe.exemple.fr/janus", name: "Camille Martin", language: lang, audio: "tone", video: "pattern" });
const joined = { class: 1, me: { id: "11", name: "Camille Martin" }, room: "1234", server: "wss://classe.exemple.fr/janus", microphone: true, camera: true, pinNotice: null };
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
    },
  },
  {
    name: "settings",
    startup: (lang) => ({ settings: settings(lang), firstRun: false, systemLanguage: lang, notice: null, autoJoin: null }),
    selector: "#join",
    act: async (page) => {
      await page.click("#open-settings");
      await page.waitForSelector("#settings");
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
      });
      await page.waitForTimeout(200);
      await page.evaluate(() => {
        window.__mock.frame("21", 320, 180, 0);
        window.__mock.frame("me", 160, 90, 1);
      });
      await page.waitForFunction(() => (window.__estradePaint?.painted?.["21"] ?? 0) >= 1);
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
      await page.addInitScript(mockTauri, { startup: s.startup(lang), joined, joinError: s.joinError });
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
await browser.close();
server.close();
if (failures.length) {
  console.error(`screens: ${failures.length} of ${checked} renders have problems:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log(`screens: ${checked} renders checked (${screens.length} screens x 2 languages x 2 sizes), no missing translation, no overflow`);
