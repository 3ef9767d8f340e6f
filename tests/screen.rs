//! Screen sharing under a real X server: a known picture on an Xvfb screen,
//! captured by one estrade-cli through xcap, sent through a real Janus, and
//! decoded by another: it must arrive with a luma PSNR above 30 dB.

use std::path::Path;
use std::time::Duration;

use estrade_tests::xvfb::Xvfb;
use estrade_tests::{scratch, LocalJanus};

const ROOM: u64 = 1234;
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// A slide-like picture: a soft gradient, coloured boxes, and lines of
/// "text" (dark strokes two to three pixels wide).
fn slide() -> Vec<[u8; 3]> {
    let mut px = Vec::with_capacity((WIDTH * HEIGHT) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let mut c = [235 - (y * 40 / HEIGHT) as u8, 240, 250 - (x * 30 / WIDTH) as u8];
            if (80..200).contains(&y) && (60..500).contains(&x) {
                c = [30, 90, 170]; // a title bar
            }
            if (300..640).contains(&y) && (760..1200).contains(&x) {
                c = [200, 60 + ((x - 760) / 4) as u8, 40]; // a picture
            }
            let line = (y.saturating_sub(260)) % 40;
            if (260..660).contains(&y) && (60..700).contains(&x) && line < 18 && (x / 9 + y / 40) % 7 != 0 && (x % 9) < 3 {
                c = [20, 20, 20]; // words
            }
            px.push(c);
        }
    }
    px
}

fn write_ppm(path: &Path, px: &[[u8; 3]]) {
    let mut bytes = format!("P6\n{WIDTH} {HEIGHT}\n255\n").into_bytes();
    bytes.extend(px.iter().flatten());
    std::fs::write(path, bytes).expect("write the slide");
}

fn read_pgm(path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = String::from_utf8_lossy(&bytes[..20.min(bytes.len())]).to_string();
    let mut fields = text.split_whitespace();
    assert_eq!(fields.next(), Some("P5"));
    let w: u32 = fields.next().and_then(|v| v.parse().ok()).expect("width");
    let h: u32 = fields.next().and_then(|v| v.parse().ok()).expect("height");
    let pixels = bytes[bytes.len() - (w * h) as usize..].to_vec();
    (w, h, pixels)
}

/// BT.601 limited-range luma, as the sender converts.
fn luma(c: [u8; 3]) -> f64 {
    16.0 + (65.481 * f64::from(c[0]) + 128.553 * f64::from(c[1]) + 24.966 * f64::from(c[2])) / 255.0
}

fn psnr(expected: &[f64], got: &[u8]) -> f64 {
    let mse = expected.iter().zip(got).map(|(e, &g)| (e - f64::from(g)).powi(2)).sum::<f64>() / expected.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

/// A Janus, and an X screen in its namespace showing the slide.
fn slide_on_screen(label: &str) -> (Vec<[u8; 3]>, LocalJanus, Xvfb) {
    let picture = slide();
    let ppm = scratch(label).join("slide.ppm");
    write_ppm(&ppm, &picture);
    let janus = LocalJanus::start();
    let x = Xvfb::start(&janus, WIDTH, HEIGHT);
    x.show(&janus, &ppm);
    (picture, janus, x)
}

fn presenter(janus: &LocalJanus, x: &Xvfb, extra: &[&str]) -> estrade_tests::Client {
    let mut cmd = janus.command(&estrade_tests::cli_binary());
    cmd.env("DISPLAY", &x.display).args(["join", "--server", &janus.server, "--room", &ROOM.to_string(), "--name", "Alice", "--ice-addr", &janus.ice_addr]);
    cmd.args(extra);
    estrade_tests::Client::spawn_command("Alice", cmd)
}

#[test]
fn a_shared_screen_arrives_sharp() {
    let (picture, janus, x) = slide_on_screen("screen");
    let received = scratch("screen-received");
    let viewer = janus.join("Bruno", ROOM, &["--send-audio", "none", "--send-video", "none", "--duration", "10", "--record", received.to_str().unwrap()]);
    let presenter = presenter(&janus, &x, &["--send-audio", "none", "--send-video", "screen", "--duration", "9"]);
    let presenter = presenter.wait(Duration::from_secs(30));
    let viewer = viewer.wait(Duration::from_secs(30));
    assert!(presenter.status.success(), "presenter failed: {}", presenter.stderr);
    assert!(viewer.status.success(), "viewer failed: {}", viewer.stderr);
    let totals = viewer.totals("Alice");
    eprintln!("received: {totals}");
    assert_eq!(viewer.events_about("screen_share_started", "Alice").len(), 1, "the share is announced as a screen share");
    assert_eq!(totals["video_frames"], 0, "a screen sent alone is a screen share, not a camera");
    assert_eq!(totals["screen"]["size"], format!("{WIDTH}x{HEIGHT}"), "sent at the screen's size");
    let fps = totals["screen"]["frames"].as_f64().unwrap_or(0.0) / 8.0;
    assert!(fps >= 5.0, "screen share at {fps:.1} fps, below 5");
    let (w, h, got) = read_pgm(&received.join("Alice.screen.last-frame.pgm"));
    assert_eq!((w, h), (WIDTH, HEIGHT));
    let expected: Vec<f64> = picture.iter().map(|&c| luma(c)).collect();
    let quality = psnr(&expected, &got);
    eprintln!("screen share: {fps:.1} fps, luma PSNR {quality:.1} dB");
    assert!(quality > 30.0, "the slide arrived at {quality:.1} dB PSNR (<= 30)");
}

/// A teacher talking on camera starts sharing mid-class, then stops: the share
/// is a second picture next to the camera (which never stops), and it is gone
/// for the pupils within a second of stopping.
#[test]
fn a_screen_share_starts_and_stops_beside_the_camera() {
    let (_, janus, x) = slide_on_screen("screen-share");
    let received = scratch("screen-share-received");
    let viewer = janus.join("Bruno", ROOM, &["--send-audio", "none", "--send-video", "none", "--duration", "14", "--record", received.to_str().unwrap()]);
    let presenter = presenter(&janus, &x, &["--send-audio", "tone:440", "--send-video", "pattern", "--share-screen", "--share-after", "3", "--share-for", "5", "--duration", "13"]);
    // And a pupil who comes in while the share is under way (from ~3 s to ~8 s).
    std::thread::sleep(Duration::from_secs(5));
    let late = janus.join("Chloé", ROOM, &["--send-audio", "none", "--send-video", "none", "--duration", "2.5"]);
    let presenter = presenter.wait(Duration::from_secs(40));
    let viewer = viewer.wait(Duration::from_secs(40));
    let late = late.wait(Duration::from_secs(40));
    for run in [&presenter, &viewer, &late] {
        assert!(run.status.success(), "{} failed: {}", run.name, run.stderr);
    }
    let started = presenter.event("sharing_started").and_then(|e| e["t_ms"].as_u64()).expect("the presenter shared");
    let stopped = presenter.event("sharing_stopped").and_then(|e| e["t_ms"].as_u64()).expect("the presenter stopped sharing");
    let totals = viewer.totals("Alice");
    eprintln!("viewer: {totals}");
    let seen_start = totals["screen"]["started_at_ms"].as_u64().expect("the viewer was told of the share");
    let seen_stop = totals["screen"]["stopped_at_ms"].as_u64().expect("the viewer was told the share ended");
    let last_frame = totals["screen"]["last_frame_at_ms"].as_u64().expect("shared frames arrived");
    eprintln!(
        "share: announced {} ms after starting, first picture after {} ms; gone {} ms after stopping (last picture {} ms after)",
        seen_start as i64 - started as i64,
        totals["screen"]["first_frame_ms"],
        seen_stop as i64 - stopped as i64,
        last_frame as i64 - stopped as i64
    );
    assert!(seen_stop <= stopped + 1000, "the share ended for the viewer {} ms after it stopped (limit 1000)", seen_stop - stopped);
    assert!(last_frame <= stopped + 1000, "shared pictures kept coming {} ms after the share stopped", last_frame - stopped);
    assert!(totals["screen"]["frames"].as_u64().unwrap_or(0) >= 20, "too few shared pictures: {}", totals["screen"]);
    assert_eq!(totals["screen"]["size"], format!("{WIDTH}x{HEIGHT}"));
    // The camera carries on, in order, while the share starts and stops.
    let frames = estrade_tests::read_frames(&received.join("Alice.frames.csv"));
    assert!(frames.iter().all(|f| (f.width, f.height) == (640, 360)), "only the camera's pictures in the camera's log");
    let during: Vec<_> = frames.iter().filter(|f| f.t_ms > started && f.t_ms < stopped + 1500).collect();
    let longest_gap = during.windows(2).map(|w| w[1].t_ms - w[0].t_ms).max().unwrap_or(u64::MAX);
    eprintln!("camera while sharing: {} frames, longest gap {longest_gap} ms", during.len());
    assert!(during.len() >= 60, "the camera stalled while sharing: {} frames", during.len());
    assert!(longest_gap < 500, "the camera froze for {longest_gap} ms when the share started or stopped");
    assert_eq!(totals["out_of_order_frames"], 0);
    let tone = totals["tone_hz"].as_f64().expect("the presenter's sound arrived");
    assert!((tone - 440.0).abs() < 1.0, "sound {tone} Hz");
    // The pupil who came in mid-share sees it at once.
    assert_eq!(late.events_about("screen_share_started", "Alice").len(), 1, "a late joiner learns of the share under way");
    assert!(late.totals("Alice")["screen"]["frames"].as_u64().unwrap_or(0) > 0, "a late joiner receives the share");
}

/// A shared window is closed mid-share: the share ends by itself, the sharer
/// is told, and it is gone for the others.
#[test]
fn closing_the_shared_window_ends_the_share() {
    let (_, janus, mut x) = slide_on_screen("screen-window");
    x.start_window_manager(&janus);
    let small = scratch("screen-window-picture").join("note.ppm");
    write_ppm(&small, &slide());
    let mut window = x.open_window(&janus, "Diaporama", &small);
    // The window, as `estrade-cli devices` lists it (ImageMagick sets no
    // UTF-8 title, so it is chosen by id).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let target = loop {
        let out = janus.command(&estrade_tests::cli_binary()).env("DISPLAY", &x.display).arg("devices").output().expect("devices runs");
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("devices prints JSON");
        if let Some(id) = listed["windows"][0]["id"].as_str() {
            break id.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no window listed: {listed}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let viewer = janus.join("Bruno", ROOM, &["--send-audio", "none", "--send-video", "none", "--duration", "12"]);
    let presenter = presenter(&janus, &x, &["--send-audio", "tone:440", "--send-video", "pattern", "--share-screen", &target, "--duration", "10"]);
    std::thread::sleep(Duration::from_secs(5));
    let _ = window.kill();
    let _ = window.wait();
    let closed_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    let presenter = presenter.wait(Duration::from_secs(30));
    let viewer = viewer.wait(Duration::from_secs(30));
    assert!(presenter.status.success(), "presenter failed: {}", presenter.stderr);
    assert!(viewer.status.success(), "viewer failed: {}", viewer.stderr);
    let ended = presenter.event("sharing_ended").unwrap_or_else(|| panic!("the presenter was not told: {:#?}", presenter.lines));
    let ended_at = ended["t_ms"].as_u64().unwrap_or(0);
    let totals = viewer.totals("Alice");
    let gone_at = totals["screen"]["stopped_at_ms"].as_u64().expect("the share ended for the viewer");
    eprintln!(
        "window closed: the sharer knew after {} ms, the viewer after {} ms; {} shared frames before",
        ended_at.saturating_sub(closed_at),
        gone_at.saturating_sub(closed_at),
        totals["screen"]["frames"]
    );
    assert!(totals["screen"]["frames"].as_u64().unwrap_or(0) > 10, "the window was shared first");
    assert!(gone_at <= closed_at + 3000, "the share outlived its window by {} ms", gone_at - closed_at);
    assert!(totals["video_frames"].as_u64().unwrap_or(0) > 100, "the camera carried on");
}
