//! `estrade-bench-devices`: the cost of the sending pipeline through real
//! devices (a microphone captured by cpal from a private PulseAudio, voice
//! processing, Opus; then with 720p30 camera-sized video and VP8), against
//! Chromium publishing its fake microphone and camera through janus.js in the
//! same run; and the mouth-to-ear delay through real audio devices, found by
//! cross-correlating a chirp. Run through `scripts/bench-devices` (release
//! build, root). Not a test: it prints a Markdown report.

use std::process::{Command, Stdio};
use std::time::Duration;

use estrade_tests::browser::{chromium, chromium_result, stop};
use estrade_tests::cost::{measure, Cost};
use estrade_tests::pulse::{compare_speech, french_speech, LocalPulse};
use estrade_tests::{scratch, LocalJanus};

const WINDOW: Duration = Duration::from_secs(20);
const LATENCY_RUNS: usize = 5;

fn sox(args: &[&str]) {
    let status = Command::new("sox").args(args).status().expect("sox runs (scripts/setup installs it)");
    assert!(status.success(), "sox {args:?}");
}

/// Estrade publishing the microphone (and `video`) alone in the class, measured once settled.
fn estrade_sender(janus: &LocalJanus, pulse: &LocalPulse, video: &str) -> Cost {
    let client = janus.join_with_env("Sender", 1234, &["--send-audio", "mic:vmic.monitor", "--send-video", video, "--duration", "40"], &pulse.env());
    std::thread::sleep(Duration::from_secs(4));
    let cost = measure(client.pid(), WINDOW);
    drop(client);
    cost
}

/// Chromium publishing its fake microphone (and camera at `video` = "W,H,FPS");
/// with what it really sends ("W×H at F fps", when video).
fn chromium_sender(janus: &LocalJanus, video: Option<&str>) -> (Cost, String) {
    let query = match video {
        Some(v) => format!("mode=publish&seconds=60&video={v}"),
        None => "mode=publish&seconds=60".to_owned(),
    };
    let mut browser = chromium(janus, &query);
    let sent = chromium_result(&mut browser, "publishing");
    let cost = measure(browser.id(), WINDOW);
    stop(browser);
    (cost, format!("{}×{} at {} fps", sent["width"], sent["height"], sent["fps"]))
}

fn main() {
    let dir = scratch("bench-devices");
    let pulse = LocalPulse::start(&["vmic", "vspk"]);
    let janus = LocalJanus::start();

    // Speech into the microphone throughout the cost measurements.
    let speech = dir.join("speech.wav");
    french_speech("Bonjour à toutes et à tous. Aujourd'hui, nous étudions la Révolution française, et nous lirons ensemble le premier chapitre.", "fr", &speech);
    let long = dir.join("long.wav");
    sox(&[speech.to_str().unwrap_or_default(), "-r", "48000", long.to_str().unwrap_or_default(), "repeat", "30"]);
    let mut talking = pulse.command("paplay").args(["-d", "vmic"]).arg(&long).stdout(Stdio::null()).spawn().expect("paplay");

    let audio = estrade_sender(&janus, &pulse, "none");
    let audio_video = estrade_sender(&janus, &pulse, "pattern:1280x720@30");
    let (chromium_audio, _) = chromium_sender(&janus, None);
    let (chromium_audio_video, chromium_sent) = chromium_sender(&janus, Some("1280,720,30"));
    let _ = talking.kill();
    let _ = talking.wait();

    // Mouth-to-ear: a chirp into the microphone of one client, played by another
    // into the speakers; both ends recorded at once and cross-correlated.
    let chirp = dir.join("chirp.wav");
    sox(&["-n", "-r", "48000", "-c", "1", "-b", "16", chirp.to_str().unwrap_or_default(), "synth", "0.5", "sine", "300-3400", "vol", "0.5", "pad", "0.2", "1"]);
    let listener = janus.join_with_env("Listener", 1234, &["--send-audio", "none", "--send-video", "none", "--play", "vspk", "--duration", "60"], &pulse.env());
    let speaker = janus.join_with_env("Speaker", 1234, &["--send-audio", "mic:vmic.monitor", "--send-video", "none", "--duration", "60"], &pulse.env());
    std::thread::sleep(Duration::from_secs(4));
    let mut delays = Vec::new();
    for run in 0..LATENCY_RUNS {
        let (mouth, ear) = (dir.join(format!("mouth{run}.wav")), dir.join(format!("ear{run}.wav")));
        let (m, e) = (pulse.record("vmic.monitor", &mouth), pulse.record("vspk.monitor", &ear));
        std::thread::sleep(Duration::from_millis(300));
        pulse.play("vmic", &chirp);
        std::thread::sleep(Duration::from_millis(700));
        m.stop();
        e.stop();
        let said = compare_speech(&chirp, &mouth)["delay_ms"].as_f64().unwrap_or(f64::NAN);
        let heard = compare_speech(&chirp, &ear)["delay_ms"].as_f64().unwrap_or(f64::NAN);
        eprintln!("chirp {run}: mouth-to-ear {:.0} ms", heard - said);
        delays.push(heard - said);
    }
    drop(speaker);
    drop(listener);
    delays.sort_by(f64::total_cmp);

    let cpu = Command::new("sh").args(["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).output().expect("sh");
    let chromium_version = Command::new("chromium").arg("--version").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default();
    println!(
        "Machine: {} cores,{}; release build; PulseAudio null sinks as microphone and speakers; comparison peer: {chromium_version}, headless, janus.js, its fake microphone and camera (with its own audio processing).\n",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        String::from_utf8_lossy(&cpu.stdout).trim_end()
    );
    println!("| sending, over {} s | CPU (% of one core) | peak RSS (MiB) | PSS (MiB) |\n|---|---|---|---|", WINDOW.as_secs());
    let row = |what: &str, c: &Cost| println!("| {what} | {:.1} | {:.1} | {:.1} |", c.cpu_percent, c.peak_rss_mib, c.pss_mib);
    row("estrade-cli: microphone (cpal) + AEC3/NS/AGC2 + Opus", &audio);
    row("Chromium + janus.js: fake microphone + its audio processing + Opus", &chromium_audio);
    println!("| **ratio, audio** | **{:.2}** | | |", audio.cpu_percent / chromium_audio.cpu_percent);
    row("estrade-cli: the same + 1280×720 30 fps video, VP8", &audio_video);
    row(&format!("Chromium + janus.js: the same + fake camera asked for 1280×720 30 fps (sent: {chromium_sent})"), &chromium_audio_video);
    println!("| **ratio, audio + video** | **{:.2}** | | |\n", audio_video.cpu_percent / chromium_audio_video.cpu_percent);
    let at = |p: f64| delays[((p * delays.len() as f64).ceil() as usize).clamp(1, delays.len()) - 1];
    println!(
        "Mouth-to-ear through real audio devices ({LATENCY_RUNS} chirps, microphone → capture → AEC3/NS/AGC2 → Opus → Janus → jitter buffer → speakers): min {:.0} ms, median {:.0} ms, max {:.0} ms.",
        delays[0],
        at(0.5),
        delays[delays.len() - 1]
    );
}
