// Drives the real Estrade app (WebKitGTK under Xvfb) through tauri-driver's
// W3C WebDriver endpoint. Run by run-app.sh inside the test's namespace.
//
// E2E_MODE=e2e (default): first run, bad input, a real class with the CLI
//   publisher, leaving, and a PIN kept in the real keychain.
// E2E_MODE=keychain-locked: the keychain is locked (never unlocked); the app says so and
//   writes it nowhere.
// E2E_MODE=server-restarts: in class with a CLI peer, then the test stops
//   Janus and starts it again: the window keeps the class under a
//   reconnecting banner, and is back in class by itself, the peer's tile painting.
// E2E_MODE=server-gone: in class with --give-up-after 3, then the test stops
//   Janus for good: the reconnecting banner, then, once the app gives up, a
//   plain message saying what happened and what to do, and the rejoin button.
// E2E_MODE=screenshots: README screenshots of the real app, per language.
// E2E_MODE=bench: painted fps, decoded-to-painted latency and CPU for one
//   1280x720 tile plus four 320x180 tiles.
//
// Prints one JSON line (the results) and exits non-zero on a failed check.

import { execFileSync, spawn } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:net";

const driver = process.env.WEBDRIVER_URL;
const app = process.env.ESTRADE_APP;
const janus = process.env.JANUS_URL;
const mode = process.env.E2E_MODE ?? "e2e";
const cliName = process.env.CLI_NAME ?? "Élève CLI";
const results = { mode };
const failures = [];

function check(ok, what) {
  if (!ok) failures.push(what);
  return ok;
}

async function wd(method, path, body) {
  // A driver that never answers fails the run with the request named, not a silent hang.
  const res = await fetch(`${driver}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  }).catch((e) => {
    throw new Error(`${method} ${path}: no answer from the WebDriver (${e.message})`);
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json).slice(0, 400)}`);
  return json.value;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
let sid;
const exec = (script, ...args) => wd("POST", `/session/${sid}/execute/sync`, { script, args });

async function waitFor(script, what, timeoutMs = 15000, ...args) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await exec(script, ...args).catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const visible = (sel) => waitFor(`const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;`, sel, 20000, sel);
const text = (sel) => exec(`return document.querySelector(arguments[0])?.innerText ?? null;`, sel);
async function fill(sel, value) {
  await exec(
    `const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true}));`,
    sel,
    value,
  );
}
const click = (sel) => exec(`document.querySelector(arguments[0]).click();`, sel);

async function startApp(args = []) {
  const caps = { capabilities: { alwaysMatch: { "tauri:options": { application: app, args } } } };
  const session = await wd("POST", "/session", caps);
  sid = session.sessionId;
}

async function stopApp() {
  if (sid) await wd("DELETE", `/session/${sid}`).catch(() => {});
  sid = undefined;
}

async function screenshot(file) {
  // The X screen itself, where the app's window fills the screen (no window
  // manager). WebKitWebDriver's own screenshot waits for the page's next
  // paint, which a still page (the join form) may never make: it hung there.
  execFileSync("import", ["-window", "root", file]);
}

/** Submits the join form and returns the error sentence shown, or null once in class. */
async function tryJoin(invite, pin = "", remember = true) {
  await visible("#join form");
  await fill("#invite", invite);
  await fill("#pin", pin);
  await exec(`document.querySelector('#remember-pin').checked = arguments[0];`, remember);
  await click("#join button[type=submit]");
  return waitFor(
    `if (document.querySelector('#class')) return {joined: true};
     const e = document.querySelector('#join .error');
     if (e && !e.hidden && e.innerText.trim()) return {error: e.innerText.trim()};
     return null;`,
    `joining ${invite}`,
    25000,
  );
}

async function leave() {
  await click("#leave");
  await visible("#join form");
}

/** A hash of the tile canvas of the participant named `name`. */
const canvasHash = (name) =>
  exec(
    `const tile = [...document.querySelectorAll('.tile')].find(t => t.querySelector('.name')?.innerText === arguments[0]);
     const c = tile?.querySelector('canvas'); if (!c || !c.width) return null;
     const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
     let h = 2166136261; for (let i = 0; i < d.length; i += 97) { h ^= d[i]; h = Math.imul(h, 16777619); }
     let lit = 0; for (let i = 0; i < d.length; i += 4 * 41) if (d[i] + d[i+1] + d[i+2] > 60) lit++;
     return {hash: h >>> 0, lit, size: [c.width, c.height], id: tile.dataset.participant};`,
    name,
  );

const paintStats = () => exec(`return JSON.parse(JSON.stringify(window.__estradePaint));`);

function settingsFile() {
  const path = join(process.env.E2E_CONFIG_DIR, "settings.json");
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

function keychainLookup(server, room) {
  try {
    return execFileSync("secret-tool", ["lookup", "service", "fr.estrade.app", "username", `${server}#${room}`], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

/** RMS (0..1) of a 16-bit mono WAV file, past its 44-byte header. */
function wavRms(path) {
  const bytes = readFileSync(path);
  const samples = new Int16Array(bytes.buffer.slice(bytes.byteOffset + 44, bytes.byteOffset + bytes.length - ((bytes.length - 44) % 2)));
  let sum = 0;
  for (const s of samples) sum += (s / 32768) ** 2;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

async function e2e() {
  await startApp(process.env.E2E_SCHOOL_CA ? ["--ca-cert", process.env.E2E_SCHOOL_CA] : []);
  // First run: server and name.
  await visible("#first-run");
  await fill("#server", janus);
  await fill("#name", "Professeur E2E");
  await click("#first-run button[type=submit]");
  await visible("#join form");

  // Bad input gives a sentence, not a freeze or a dump.
  const malformed = await tryJoin("wss://?class=");
  results.malformed = malformed.error;
  check(/lien|link/i.test(malformed.error ?? ""), `malformed link: ${JSON.stringify(malformed)}`);
  const unreachable = await tryJoin("ws://127.0.0.1:9/?class=1234");
  results.unreachable = unreachable.error;
  check(/joindre|reach/i.test(unreachable.error ?? ""), `unreachable server: ${JSON.stringify(unreachable)}`);
  // "Test my connection", offered after the failure, says where it breaks: the server does not answer.
  await click("#test-connection");
  results.connectionTest = await waitFor(
    `const l = [...document.querySelectorAll('#connection-checks .check')]; return l.some(c => c.dataset.step === 'signaling') ? l.map(c => c.className + ': ' + c.innerText.trim()) : null;`,
    "the connection test's results",
    15000,
  );
  check(results.connectionTest.some((l) => l.includes("fail") && /ne répond pas|not answering/.test(l)), `the connection test names the dead server: ${JSON.stringify(results.connectionTest)}`);
  // A server that accepts the connection and never answers: the join can be cancelled, at once.
  const silent = createServer(() => {}).listen(0, "127.0.0.1");
  await new Promise((resolve) => silent.once("listening", resolve));
  await fill("#invite", `ws://127.0.0.1:${silent.address().port}/?class=1234`);
  await click("#join button[type=submit]");
  await waitFor(`const c = document.querySelector('#cancel-join'); return c && !c.hidden ? true : null;`, "the cancel button while joining", 5000);
  const cancelAt = Date.now();
  await click("#cancel-join");
  await waitFor(
    `const s = document.querySelector('#join button[type=submit]'); return s && !s.disabled && document.querySelector('#cancel-join')?.hidden ? true : null;`,
    "the join form back after cancelling",
    3000,
  );
  results.cancelledInMs = Date.now() - cancelAt;
  check(results.cancelledInMs < 1000, `cancelled within a second: ${results.cancelledInMs} ms`);
  check(await exec(`const e = document.querySelector('#join .error'); return !e || e.hidden;`), "no error shown after cancelling");
  silent.close();
  const wrongPin = await tryJoin("4321", "1111");
  results.wrongPin = wrongPin.error;
  check(/PIN/.test(wrongPin.error ?? ""), `wrong PIN: ${JSON.stringify(wrongPin)}`);

  // The real class, found by its school link: the app reads the school's
  // discovery document (HTTPS, the test's CA) to find the server. Then the
  // CLI publisher's picture paints and changes.
  const link = process.env.E2E_SCHOOL_LINK ?? "1234";
  const joined = await tryJoin(link);
  check(joined.joined, `join ${link}: ${JSON.stringify(joined)}`);
  results.joinedBy = link;
  await visible("#class");
  await waitFor(`return document.querySelector('#participants')?.innerText.includes(arguments[0]);`, "the CLI peer in the list", 15000, cliName);
  results.participants = await text("#participants");
  await waitFor(`return !!document.querySelector('.tile.has-video');`, "a painted tile", 15000);
  const first = await waitFor(
    `const t = [...document.querySelectorAll('.tile')].find(t => t.querySelector('.name')?.innerText === arguments[0]); return t?.classList.contains('has-video') ? true : null;`,
    "the CLI tile painted",
    15000,
    cliName,
  );
  check(first, "the CLI tile painted");
  const a = await canvasHash(cliName);
  const paintedBefore = (await paintStats()).painted[a?.id] ?? 0;
  await sleep(2000);
  const b = await canvasHash(cliName);
  const paintedAfter = (await paintStats()).painted[b?.id] ?? 0;
  results.tile = { before: a, after: b, paintedIn2s: paintedAfter - paintedBefore };
  check(a && b && a.hash !== b.hash, "the remote tile's pixels change");
  check(b && b.lit > 10, "the remote tile is not blank");
  check(paintedAfter - paintedBefore >= 10, `frames painted in 2 s: ${paintedAfter - paintedBefore}`);
  const latencies = (await paintStats()).latencies.slice().sort((x, y) => x - y);
  results.latencyP50 = latencies[Math.floor(latencies.length / 2)];
  // Real devices: speech played into the virtual microphone moves our own
  // level meter, and the CLI's tone comes out of the virtual speakers.
  const speech = join(process.env.E2E_WORK, "speech.wav");
  execFileSync("espeak-ng", ["-v", "fr", "-w", speech, "Bonjour à tous, je vérifie mon micro."]);
  const playing = spawn("paplay", ["-d", "vmic", speech], { stdio: "ignore" });
  results.ownLevel = await waitFor(`const v = Number(document.querySelector('#own-level')?.getAttribute('aria-valuenow')); return v > 20 ? v : null;`, "our own level meter to move with speech", 8000);
  playing.kill();
  const heard = join(process.env.E2E_WORK, "speakers.wav");
  try {
    execFileSync("parecord", ["-d", "vspk.monitor", "--rate=48000", "--channels=1", "--format=s16le", "--file-format=wav", heard], { timeout: 1500, killSignal: "SIGINT" });
  } catch {
    // Stopped by the timeout, as meant (SIGINT: the WAV header is written).
  }
  results.speakersRms = wavRms(heard);
  check(results.speakersRms > 0.01, `the remote tone comes out of the speakers (RMS ${results.speakersRms})`);
  await click("#toggle-microphone");
  await waitFor(`return document.querySelector('#toggle-microphone').getAttribute('aria-pressed') === 'true';`, "microphone off");
  await waitFor(`return document.querySelector('#own-level')?.getAttribute('aria-valuenow') === '0';`, "the meter to show nothing while muted");
  await shareOurScreen();
  await spotlightAPupilsShare();
  await leave();
  results.left = true;

  // A PIN class: the PIN goes to the keychain, never to the settings file.
  const pinned = await tryJoin("4321", "2468", true);
  check(pinned.joined, `join PIN class: ${JSON.stringify(pinned)}`);
  await leave();
  // Joining by the school's link made that school the one a bare code goes to.
  const home = process.env.E2E_SCHOOL_DOMAIN ?? janus;
  const kept = keychainLookup(home, 4321);
  results.keychainHasPin = kept === "2468";
  check(kept === "2468", `the keychain holds the PIN (got ${kept === null ? "nothing" : "something else"})`);
  check(!settingsFile().includes("2468"), "the settings file holds no PIN");
  // Next time, no PIN to type.
  const again = await tryJoin("4321", "");
  check(again.joined, `join PIN class with the kept PIN: ${JSON.stringify(again)}`);
  await leave();
  results.settings = JSON.parse(settingsFile() || "{}");
  check(results.settings.server === home && results.settings.name === "Professeur E2E", `school and name remembered: ${JSON.stringify(results.settings)}`);
  await stopApp();
}

/** We share this (Xvfb) screen through the picker, then stop, twice: the CLI
 * pupil in class checks from its side that the shares came and went (tests/app.rs). */
async function shareOurScreen() {
  // Twice: a second share reuses the first one's stream.
  for (let round = 0; round < 2; round++) {
    await click("#share-screen");
    const target = await waitFor(`return document.querySelector('[data-target^="screen:"]')?.dataset.target ?? null;`, "a monitor in the share picker", 10000);
    await click(`[data-target="${target}"]`);
    await click("#share-confirm");
    await visible("#share-stop");
    results.sharedScreen = target;
    await sleep(3000);
    await click("#share-stop");
    await waitFor(`return !document.querySelector('#share-stop') || document.querySelector('#share-stop').offsetParent === null;`, "the share banner to go", 5000);
  }
}

/** A pupil (a CLI on this same X screen) shares for a while: the app puts the
 * share in the spotlight, paints it, and drops it within a second of the end. */
async function spotlightAPupilsShare() {
  const sharer = spawn(
    process.env.E2E_CLI,
    ["join", "--server", janus, "--room", "1234", "--name", "Partage CLI", "--ice-addr", process.env.E2E_ICE_ADDR,
     "--send-audio", "none", "--send-video", "none", "--share-screen", "--share-for", "6", "--duration", "9"],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let stoppedAt = null;
  sharer.stdout.on("data", (chunk) => {
    for (const line of chunk.toString().split("\n")) {
      if (line.includes('"sharing_stopped"')) stoppedAt = JSON.parse(line).t_ms;
    }
  });
  const spot = await waitFor(`const s = window.__estradeSpotlight?.(); return s && s.endsWith(':screen') ? s : null;`, "the pupil's share in the spotlight", 20000);
  results.shareSpotlight = spot;
  await waitFor(`return document.querySelector('.tile[data-participant="' + arguments[0] + '"]')?.classList.contains('has-video') || null;`, "the share painted", 15000, spot);
  await waitFor(`const s = window.__estradeSpotlight?.(); return s && !s.endsWith(':screen') ? s : null;`, "the share to leave the spotlight", 15000);
  const goneAt = Date.now();
  await new Promise((resolve) => (sharer.exitCode === null ? sharer.on("exit", resolve) : resolve()));
  check(stoppedAt !== null, "the pupil reported stopping its share");
  results.shareGoneAfterMs = goneAt - stoppedAt;
  check(results.shareGoneAfterMs < 1000, `the share left the app ${results.shareGoneAfterMs} ms after it stopped`);
}

async function keychainLocked() {
  await startApp(["--server", janus, "--name", "Trousseau verrouillé"]);
  await visible("#join form");
  const joined = await tryJoin("4321", "2468", true);
  check(joined.joined, `join with a locked keychain: ${JSON.stringify(joined)}`);
  const notice = await waitFor(`const e = document.querySelector('#class .notice.error'); return e && !e.hidden ? e.innerText : null;`, "the PIN notice");
  results.notice = notice;
  check(/(trousseau de clés de l'ordinateur est verrouillé|keychain is locked or not set up)/i.test(notice), `notice says the keychain is locked or not set up: ${notice}`);
  await leave();
  check(!settingsFile().includes("2468"), "the settings file holds no PIN");
  const files = readdirSync(process.env.E2E_CONFIG_DIR);
  for (const f of files) check(!readFileSync(join(process.env.E2E_CONFIG_DIR, f), "utf8").includes("2468"), `no PIN in ${f}`);
  await stopApp();
  // A deployment joining a PIN class at start, with the PIN in ESTRADE_PIN (set by the test).
  if (process.env.ESTRADE_PIN) {
    await startApp(["--join", "4321"]);
    await visible("#class");
    results.autoJoinWithEnvPin = true;
    await leave();
    await stopApp();
  }
}

/** The painting of `name`'s tile: its pixels and how many frames it painted in 2 s. */
async function tilePaints(name) {
  const a = await canvasHash(name);
  const before = (await paintStats()).painted[a?.id] ?? 0;
  await sleep(2000);
  const b = await canvasHash(name);
  const after = (await paintStats()).painted[b?.id] ?? 0;
  return { lit: b?.lit ?? 0, id: b?.id, changed: !!a && !!b && a.hash !== b.hash, paintedIn2s: after - before };
}

async function serverRestarts() {
  const peer = "Hugo";
  await startApp(["--server", janus, "--name", "Témoin", "--join", "1234"]);
  await visible("#class");
  await waitFor(`return document.querySelector('#status')?.className.includes('publishing');`, "publishing", 20000);
  const tile = `const t = [...document.querySelectorAll('.tile')].find(t => t.querySelector('.name')?.innerText === arguments[0]); return t?.classList.contains('has-video') ? t.dataset.participant : null;`;
  results.peerBefore = await waitFor(tile, "the peer's tile painted", 20000, peer);
  writeFileSync(join(process.env.E2E_SIGNAL_DIR, "joined"), "");
  // The test stops Janus now, and starts it again 3 s later.
  const t0 = Date.now();
  await waitFor(`return document.querySelector('#status')?.className.includes('reconnecting');`, "the reconnecting banner", 20000);
  results.banner = await text("#status");
  check(/(reconnexion|reconnecting)/i.test(results.banner ?? ""), `the banner says the class is coming back: ${results.banner}`);
  check(await exec(`return !document.querySelector('#class').closest('[hidden]');`), "the class view stays");
  check(!(await exec(`return !!document.querySelector('#rejoin') && !document.querySelector('#rejoin').closest('[hidden]');`)), "no rejoin button: nothing to do");
  await waitFor(`return document.querySelector('#status')?.className.includes('publishing');`, "back in class", 60000);
  results.backAfterMs = Date.now() - t0;
  // Back by itself: the peer (a new participant id after the restart) paints again.
  results.peerAfter = await waitFor(tile, "the peer's tile painted again", 30000, peer);
  results.tileAfter = await tilePaints(peer);
  check(results.tileAfter.changed && results.tileAfter.lit > 10, `the peer's tile is live again: ${JSON.stringify(results.tileAfter)}`);
  check(results.tileAfter.paintedIn2s >= 10, `frames painted in 2 s after the restart: ${results.tileAfter.paintedIn2s}`);
  await stopApp();
}

async function serverGone() {
  await startApp(["--server", janus, "--name", "Témoin", "--join", "1234", "--lang", "en", "--give-up-after", "3"]);
  await visible("#class");
  await waitFor(`return document.querySelector('#status')?.className.includes('publishing');`, "publishing", 20000);
  writeFileSync(join(process.env.E2E_SIGNAL_DIR, "joined"), "");
  // The test stops Janus now, for good.
  const t0 = Date.now();
  await waitFor(`return document.querySelector('#status')?.className.includes('reconnecting');`, "the reconnecting banner", 20000);
  results.bannerAfterMs = Date.now() - t0;
  await waitFor(`return document.querySelector('#status')?.className.includes('lost');`, "the class said lost", 30000);
  results.lostAfterMs = Date.now() - t0;
  check(results.lostAfterMs >= 2500, `not given up before --give-up-after: ${results.lostAfterMs} ms`);
  results.message = await exec(`return document.querySelector('#class')?.innerText ?? '';`);
  check(/server is not answering/.test(results.message) && /Internet connection/.test(results.message), `a plain message saying what happened and what to do: ${results.message}`);
  check(await exec(`return !!document.querySelector('#rejoin') && !document.querySelector('#rejoin').closest('[hidden]') && !document.querySelector('#rejoin').hidden;`), "the rejoin button offered");
  await stopApp();
}

/** A pupil presents a slide (a CLI sharing another X screen): the class as it then looks. */
async function shareScreenshot(file, lang) {
  const presenter = spawn(
    process.env.E2E_CLI,
    ["join", "--server", janus, "--room", "1234", "--name", lang === "fr" ? "Inès" : "Ines", "--ice-addr", process.env.E2E_ICE_ADDR,
     "--send-audio", "none", "--send-video", "pattern", "--share-screen", "--duration", "30"],
    { stdio: "ignore", env: { ...process.env, DISPLAY: process.env.SLIDE_DISPLAY } },
  );
  const spot = await waitFor(`const s = window.__estradeSpotlight?.(); return s && s.endsWith(':screen') ? s : null;`, "the slide in the spotlight", 20000);
  await waitFor(`return document.querySelector('.tile[data-participant="' + arguments[0] + '"]')?.classList.contains('has-video') || null;`, "the slide painted", 15000, spot);
  await sleep(3000);
  await screenshot(file);
  presenter.kill("SIGTERM");
  await new Promise((resolve) => (presenter.exitCode === null ? presenter.on("exit", resolve) : resolve()));
}

async function screenshots() {
  const dir = process.env.SHOTS_DIR;
  for (const lang of ["fr", "en"]) {
    await startApp(["--server", janus, "--name", lang === "fr" ? "Mme Lefèvre" : "Ms Lefèvre", "--lang", lang, "--join", "1234"]);
    await visible("#class");
    await waitFor(`return document.querySelectorAll('.tile.has-video').length >= 3;`, "three painted tiles", 30000);
    await sleep(3000);
    await screenshot(join(dir, `class-${lang}.png`));
    if (process.env.SLIDE_DISPLAY) await shareScreenshot(join(dir, `share-${lang}.png`), lang);
    await leave();
    await screenshot(join(dir, `join-${lang}.png`));
    await stopApp();
  }
}

/** CPU ticks of the app and its WebKit processes, in all and by process name. */
function cpuTicks() {
  let total = 0;
  const byName = {};
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!/^(estrade|WebKitWebProces|WebKitNetworkPr|WebKitGPUProces)$/.test(comm)) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]);
      total += ticks;
      byName[comm] = (byName[comm] ?? 0) + ticks;
    } catch {
      // the process ended
    }
  }
  return { total, byName };
}

async function bench() {
  const seconds = Number(process.env.BENCH_SECONDS ?? 20);
  // Receive only, like the Chromium peer it is compared with: send no tone, no pattern.
  writeFileSync(
    join(process.env.E2E_CONFIG_DIR, "settings.json"),
    JSON.stringify({ server: janus, name: "Banc", language: "fr", audio: "none", video: "none" }),
  );
  await startApp(["--server", janus, "--name", "Banc", "--join", "1234"]);
  await wd("POST", `/session/${sid}/window/rect`, { x: 0, y: 0, width: 1700, height: 1150 }).catch((e) => console.error(`window size: ${e}`));
  await visible("#class");
  await waitFor(`return document.querySelectorAll('.tile').length >= 6;`, "five remote tiles", 30000);
  // Pin the 720p publisher, as a pupil pins the teacher.
  if (process.env.BENCH_SPOTLIGHT) {
    await exec(`[...document.querySelectorAll('.tile')].find(t => t.querySelector('.name')?.innerText === arguments[0])?.click();`, process.env.BENCH_SPOTLIGHT);
    await sleep(500);
  }
  // A fixed layout: the spotlight 1280x720 CSS px, four strip tiles 320x180
  // (device pixel ratio 1). Set through the CSSOM: the app's CSP forbids inline <style>.
  await exec(`
    const stage = document.querySelector('.stage .tile');
    Object.assign(stage.style, {flex: 'none', width: '1280px', height: '720px'});
    Object.assign(document.querySelector('.strip').style, {height: 'auto', maxHeight: 'none'});
    for (const t of document.querySelectorAll('.strip .tile')) {
      if (t.dataset.participant === 'me') t.style.display = 'none';
      else Object.assign(t.style, {width: '320px', height: '180px', aspectRatio: 'auto'});
    }
    document.querySelector('.sidebar').style.display = 'none';`);
  await sleep(3000);
  const before = await paintStats();
  const cpu0 = cpuTicks();
  const t0 = Date.now();
  await sleep(seconds * 1000);
  const after = await paintStats();
  const cpu1 = cpuTicks();
  const wall = (Date.now() - t0) / 1000;
  const tiles = await exec(`return [...document.querySelectorAll('.tile')].filter(t => getComputedStyle(t).display !== 'none').map(t => ({id: t.dataset.participant, tw: Math.round(t.getBoundingClientRect().width), th: Math.round(t.getBoundingClientRect().height), w: t.querySelector('canvas').width, h: t.querySelector('canvas').height, stage: !!t.closest('.stage')}));`);
  const hz = 100; // USER_HZ
  results.tiles = tiles.map((t) => ({ ...t, fps: ((after.painted[t.id] ?? 0) - (before.painted[t.id] ?? 0)) / wall }));
  const lat = after.latencies.slice(-300).sort((x, y) => x - y);
  results.latency = { p50: lat[Math.floor(lat.length * 0.5)], p95: lat[Math.floor(lat.length * 0.95)], n: lat.length };
  const percent = (ticks) => Math.round((ticks / hz / wall) * 1000) / 10;
  results.cpuPercent = percent(cpu1.total - cpu0.total);
  results.cpuByProcess = Object.fromEntries(Object.keys(cpu1.byName).map((k) => [k, percent(cpu1.byName[k] - (cpu0.byName[k] ?? 0))]));
  results.seconds = wall;
  await screenshot(join(process.env.E2E_ARTIFACTS ?? process.env.E2E_WORK, "bench.png"));
  await stopApp();
}

try {
  if (mode === "e2e") await e2e();
  else if (mode === "keychain-locked") await keychainLocked();
  else if (mode === "server-restarts") await serverRestarts();
  else if (mode === "server-gone") await serverGone();
  else if (mode === "screenshots") await screenshots();
  else if (mode === "bench") await bench();
  else throw new Error(`unknown E2E_MODE ${mode}`);
} catch (e) {
  failures.push(String(e?.stack ?? e));
  if (sid) await screenshot(join(process.env.E2E_ARTIFACTS ?? process.env.E2E_WORK ?? "/tmp", "failure.png")).catch(() => {});
  await stopApp();
}
results.failures = failures;
console.log(JSON.stringify(results));
process.exit(failures.length ? 1 : 0);
