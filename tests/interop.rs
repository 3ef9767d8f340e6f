//! Estrade and an independent WebRTC client in the same class: headless
//! Chromium running Janus's own janus.js, publishing its fake camera and
//! microphone. Each must decode the other.

use std::time::Duration;

use estrade_tests::browser::{chromium, chromium_result, stop};
use estrade_tests::xvfb::Xvfb;
use estrade_tests::{read_frames, read_wav, scratch, LocalJanus};

#[test]
fn estrade_and_a_browser_running_janus_js_exchange_media() {
    let janus = LocalJanus::start();
    let dir = scratch("interop");
    let estrade = janus.join("Estrade", 1234, &["--send-audio", "tone:440", "--duration", "16", "--record", dir.to_str().unwrap()]);
    std::thread::sleep(Duration::from_secs(1));
    let mut browser = chromium(&janus, "mode=interop&seconds=10");
    let result = chromium_result(&mut browser, "interop");
    stop(browser);
    let estrade = estrade.wait(Duration::from_secs(40));
    assert!(estrade.status.success(), "{}", estrade.stderr);
    eprintln!("browser report: {result}");

    // The browser decoded Estrade's VP8 and Opus.
    let seen = &result["feeds"]["Estrade"];
    assert_eq!((seen["width"].as_u64(), seen["height"].as_u64()), (Some(640), Some(360)), "{result}");
    let frames = seen["framesDecoded"].as_u64().unwrap_or(0);
    assert!(frames >= 100, "Chromium decoded only {frames} of Estrade's frames in about 9 s at 15 fps");
    let samples = seen["audioSamples"].as_u64().unwrap_or(0);
    assert!(samples >= 48_000 * 6, "Chromium received only {samples} audio samples");
    assert!(seen["audioEnergy"].as_f64().unwrap_or(0.0) > 0.0, "and they were not silence");

    // Estrade decoded the browser's VP8 and Opus.
    let totals = estrade.totals("Chromium");
    assert!(totals["audio_ms"].as_u64().unwrap_or(0) >= 6_000, "{totals}");
    let (_, pcm) = read_wav(&dir.join("Chromium.wav"));
    let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(peak > 1_000, "the browser's fake microphone beeps; Estrade heard a peak of {peak}");
    let frames = read_frames(&dir.join("Chromium.frames.csv"));
    assert!(frames.len() >= 100, "Estrade decoded only {} of the browser's frames", frames.len());
    assert!(frames.iter().all(|f| f.width > 0 && f.height > 0));
    let _ = std::fs::remove_dir_all(dir);
}

/// An independent client sees Estrade's screen share as Janus describes it:
/// a second video stream labelled "screen share", decoded next to the camera.
#[test]
fn a_browser_running_janus_js_receives_the_labelled_screen_share() {
    let janus = LocalJanus::start();
    let x = Xvfb::start(&janus, 1280, 720);
    let mut presenter = janus.command(&estrade_tests::cli_binary());
    presenter.env("DISPLAY", &x.display).args(["join", "--server", &janus.server, "--room", "1234", "--name", "Estrade", "--ice-addr", &janus.ice_addr]);
    presenter.args(["--send-audio", "tone:440", "--send-video", "pattern", "--share-screen", "--duration", "16"]);
    let presenter = estrade_tests::Client::spawn_command("Estrade", presenter);
    std::thread::sleep(Duration::from_secs(1));
    let mut browser = chromium(&janus, "mode=interop&seconds=10");
    let result = chromium_result(&mut browser, "interop");
    stop(browser);
    let presenter = presenter.wait(Duration::from_secs(40));
    assert!(presenter.status.success(), "{}", presenter.stderr);
    eprintln!("browser report: {result}");
    let videos = result["feeds"]["Estrade"]["videos"].as_array().cloned().unwrap_or_default();
    let share = videos.iter().find(|v| v["description"] == "screen share").unwrap_or_else(|| panic!("no stream labelled screen share: {result}"));
    let camera = videos.iter().find(|v| v["description"].is_null()).unwrap_or_else(|| panic!("no camera stream: {result}"));
    assert_eq!((share["width"].as_u64(), share["height"].as_u64()), (Some(1280), Some(720)), "the share at the screen's size");
    assert!(share["framesDecoded"].as_u64().unwrap_or(0) >= 40, "Chromium decoded too few shared frames: {share}");
    assert_eq!((camera["width"].as_u64(), camera["height"].as_u64()), (Some(640), Some(360)));
    assert!(camera["framesDecoded"].as_u64().unwrap_or(0) >= 100, "the camera alongside: {camera}");
}
