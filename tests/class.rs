//! Three participants in one class on a real local Janus: everyone receives
//! everyone, arrivals and departures are seen within a second, and a late
//! joiner decodes video quickly because keyframe requests are answered.

use std::time::Duration;

use estrade_media::analysis::tone_frequency;
use estrade_tests::{read_frames, read_wav, scratch, LocalJanus, Outcome};

const ROOM: u64 = 1234;
const FPS: f64 = 15.0;

fn tone_from_wav(dir: &std::path::Path, who: &str) -> f64 {
    let (rate, samples) = read_wav(&dir.join(format!("{who}.wav")));
    assert_eq!(rate, 48_000);
    assert!(samples.len() > 2 * 48_000, "less than 2 s of audio from {who}");
    // The last 2 s: past start-up, before the leave.
    let tail = &samples[samples.len() - 2 * 48_000..];
    tone_frequency(tail, rate).unwrap_or_else(|| panic!("no tone measurable from {who}"))
}

fn check_video(receiver: &Outcome, dir: &std::path::Path, sender: &str) {
    let frames = read_frames(&dir.join(format!("{sender}.frames.csv")));
    let numbers: Vec<u32> = frames.iter().filter_map(|f| f.number).collect();
    assert!(numbers.len() >= 15, "{} got only {} numbered frames from {sender}", receiver.name, numbers.len());
    assert!(frames.iter().all(|f| (f.width, f.height) == (640, 360)));
    for w in numbers.windows(2) {
        assert!(w[0] < w[1], "{} saw frame {} after {} from {sender}", receiver.name, w[1], w[0]);
    }
    let (first, last) = (numbers[0], numbers[numbers.len() - 1]);
    let sent = f64::from(last - first + 1);
    let ratio = numbers.len() as f64 / sent;
    assert!(ratio >= 0.9, "{} decoded {} of {sent} frames from {sender} ({:.0} %)", receiver.name, numbers.len(), ratio * 100.0);
    // The received span covers the time both were in the class (less start-up and leave).
    let span_s = (frames[frames.len() - 1].t_ms - frames[0].t_ms) as f64 / 1000.0;
    assert!((sent / FPS - span_s).abs() < 1.0, "frame numbers span {} frames but {span_s:.1} s of arrivals", sent);
}

fn within(a: u64, b: u64, limit_ms: u64, what: &str) {
    let d = a.abs_diff(b);
    eprintln!("{what}: {d} ms");
    assert!(d <= limit_ms, "{what}: {d} ms apart (limit {limit_ms} ms)");
}

#[test]
fn three_participants_exchange_media_and_see_arrivals_and_departures() {
    let janus = LocalJanus::start();
    let (dir_a, dir_b, dir_c) = (scratch("a"), scratch("b"), scratch("c"));
    let a = janus.join("Alice", ROOM, &["--send-audio", "tone:440", "--duration", "11", "--record", dir_a.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(300));
    let b = janus.join("Bruno", ROOM, &["--send-audio", "tone:550", "--duration", "10.5", "--record", dir_b.to_str().unwrap()]);
    // Chloé arrives mid-class and leaves while the others stay.
    std::thread::sleep(Duration::from_secs(3));
    let c = janus.join("Chloe", ROOM, &["--send-audio", "tone:660", "--duration", "5", "--record", dir_c.to_str().unwrap()]);
    let c = c.wait(Duration::from_secs(20));
    let b = b.wait(Duration::from_secs(20));
    let a = a.wait(Duration::from_secs(20));
    for o in [&a, &b, &c] {
        assert!(o.status.success(), "{} failed: {:?}\n{}", o.name, o.status, o.stderr);
    }

    // Each one receives the other two, with the right tone.
    for (receiver, dir, senders) in [
        (&a, &dir_a, [("Bruno", 550.0), ("Chloe", 660.0)]),
        (&b, &dir_b, [("Alice", 440.0), ("Chloe", 660.0)]),
        (&c, &dir_c, [("Alice", 440.0), ("Bruno", 550.0)]),
    ] {
        for (sender, hz) in senders {
            let measured = tone_from_wav(dir, sender);
            assert!((measured - hz).abs() <= 2.0, "{} heard {sender} at {measured:.2} Hz, sent {hz}", receiver.name);
            let reported = receiver.totals(sender)["tone_hz"].as_f64().expect("tone in totals");
            assert!((reported - hz).abs() <= 2.0, "{} reported {reported} Hz for {sender}", receiver.name);
            check_video(receiver, dir, sender);
        }
    }

    // Chloé's arrival and departure are seen by the others within 1 s.
    for o in [&a, &b] {
        let joined = o.events_about("participant_joined", "Chloe");
        assert_eq!(joined.len(), 1, "{} saw Chloé join {} times", o.name, joined.len());
        within(joined[0]["t_ms"].as_u64().unwrap(), c.joined_at(), 1000, &format!("{} seeing Chloé arrive", o.name));
        let left = o.events_about("participant_left", "Chloe");
        assert_eq!(left.len(), 1, "{} saw Chloé leave {} times", o.name, left.len());
        within(left[0]["t_ms"].as_u64().unwrap(), c.left_at(), 1000, &format!("{} seeing Chloé leave", o.name));
        assert!(o.events_about("participant_left", if o.name == "Alice" { "Bruno" } else { "Alice" }).len() <= 1);
    }

    // The late joiner decodes video within 500 ms of subscribing.
    for sender in ["Alice", "Bruno"] {
        let first_video = c.totals(sender)["first_video_ms"].as_u64().expect("video arrived");
        eprintln!("late joiner: first picture from {sender} {first_video} ms after subscribing");
        assert!(first_video <= 500, "Chloé waited {first_video} ms for {sender}'s first picture");
    }
    for dir in [dir_a, dir_b, dir_c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// A scratch folder the unprivileged client can write its recording into.
fn scratch_for_nobody(label: &str) -> std::path::PathBuf {
    let dir = scratch(label);
    let status = std::process::Command::new("chown").arg(format!("{0}:{0}", estrade_tests::NOBODY)).arg(&dir).status().expect("chown");
    assert!(status.success());
    dir
}

/// Waits for sender Alice and recorder Bruno of a loss test, checks both left
/// cleanly and Alice's 440 Hz tone came through true; returns Bruno's outcome.
/// Waits until the recording of `who` holds half a second of audio (on a
/// loaded machine the connection may take longer than usual to come up).
fn wait_for_audio(dir: &std::path::Path, who: &str) {
    let wav = dir.join(format!("{who}.wav"));
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::fs::metadata(&wav).map(|m| m.len()).unwrap_or(0) < 48_000 {
        assert!(std::time::Instant::now() < deadline, "no audio from {who} within 15 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish_under_loss(a: estrade_tests::Client, b: estrade_tests::Client, dir: &std::path::Path) -> Outcome {
    let b = b.wait(Duration::from_secs(30));
    let a = a.wait(Duration::from_secs(30));
    assert!(a.status.success() && b.status.success(), "{}\n{}", a.stderr, b.stderr);
    let hz = tone_from_wav(dir, "Alice");
    assert!((hz - 440.0).abs() <= 2.0, "{hz}");
    b
}

/// Loss on the publisher's uplink (5 % of the UDP packets it sends): the
/// server asks for the missing packets (NACK) and our publisher resends them,
/// so the picture stays whole and in order and the tone stays true.
#[test]
fn uplink_loss_is_repaired_by_retransmission() {
    let janus = LocalJanus::start();
    let dir = scratch("uplink-loss");
    let a = janus.join_as_nobody("Alice", ROOM, &["--send-audio", "tone:440", "--duration", "12"]);
    std::thread::sleep(Duration::from_millis(300));
    let b = janus.join("Bruno", ROOM, &["--send-audio", "none", "--send-video", "none", "--duration", "11", "--record", dir.to_str().unwrap()]);
    // Loss starts once media flows: this is about media, not handshakes.
    wait_for_audio(&dir, "Alice");
    janus.sh(&format!(
        "iptables -A OUTPUT -p udp -m owner --uid-owner {} -m statistic --mode random --probability 0.05 -j DROP",
        estrade_tests::NOBODY
    ));
    let b = finish_under_loss(a, b, &dir);
    check_video(&b, &dir, "Alice");
    let _ = std::fs::remove_dir_all(dir);
}

/// Loss on the downlink (3 % of the UDP packets the server sends). Janus
/// retransmits only once it has measured a non-zero round trip, which never
/// happens on loopback, so here the subscriber must recover through its own
/// keyframe requests: the picture freezes on a loss and comes back, always in
/// order, until the very end; the tone is concealed.
#[test]
fn downlink_loss_recovers_through_keyframe_requests() {
    let janus = LocalJanus::start();
    let dir = scratch_for_nobody("downlink-loss");
    let a = janus.join_as_nobody("Alice", ROOM, &["--send-audio", "tone:440", "--duration", "12"]);
    std::thread::sleep(Duration::from_millis(300));
    let b = janus.join_as_nobody("Bruno", ROOM, &["--send-audio", "none", "--send-video", "none", "--duration", "11", "--record", dir.to_str().unwrap()]);
    // Loss starts once media flows: this is about media, not handshakes.
    wait_for_audio(&dir, "Alice");
    janus.sh("iptables -A OUTPUT -p udp -m owner --uid-owner 0 -m statistic --mode random --probability 0.03 -j DROP");
    let b = finish_under_loss(a, b, &dir);
    let frames = read_frames(&dir.join("Alice.frames.csv"));
    let numbers: Vec<u32> = frames.iter().filter_map(|f| f.number).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "frames out of order under loss");
    let sent = f64::from(numbers[numbers.len() - 1] - numbers[0] + 1);
    let longest_freeze = frames.windows(2).map(|w| w[1].t_ms - w[0].t_ms).max().unwrap_or(0);
    eprintln!("downlink loss: decoded {} of {sent} frames, longest freeze {longest_freeze} ms", numbers.len());
    // Each loss freezes the picture for a few frames (about 4 on average); it must
    // come back quickly every time. Without keyframe requests, the first loss
    // would freeze it until the encoder's 10 s safety keyframe.
    assert!(longest_freeze <= 2_000, "the picture froze for {longest_freeze} ms");
    assert!(numbers.len() as f64 >= 0.35 * sent, "decoded only {} of {sent} frames", numbers.len());
    // Still recovering at the end: the last picture is from the last second.
    let last = frames[frames.len() - 1].t_ms;
    within(last, b.left_at(), 1500, "the last picture before leaving");
    let _ = std::fs::remove_dir_all(dir);
}

/// Ctrl-C (SIGINT) leaves the class cleanly, and the others see it at once.
#[test]
fn ctrl_c_leaves_cleanly() {
    let janus = LocalJanus::start();
    let a = janus.join("Alice", ROOM, &["--duration", "8"]);
    std::thread::sleep(Duration::from_millis(300));
    let b = janus.join("Bruno", ROOM, &["--duration", "30"]);
    std::thread::sleep(Duration::from_secs(3));
    let status = std::process::Command::new("kill").args(["-INT", &b.pid().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let b = b.wait(Duration::from_secs(5));
    let a = a.wait(Duration::from_secs(20));
    assert!(b.status.success(), "Ctrl-C is a clean exit: {:?}\n{}", b.status, b.stderr);
    let left = a.events_about("participant_left", "Bruno");
    assert_eq!(left.len(), 1);
    within(left[0]["t_ms"].as_u64().unwrap(), b.left_at(), 1000, "Alice seeing Bruno leave after Ctrl-C");
    assert!(b.totals("Alice")["numbered_frames"].as_u64().unwrap() > 20);
}

/// A pupil with no camera and no microphone is still in class: seen by those
/// already there and by those who arrive after.
#[test]
fn participants_without_media_are_in_class() {
    let janus = LocalJanus::start();
    let none = ["--send-audio", "none", "--send-video", "none"];
    let silent = janus.join("Silencieux", ROOM, &[&none[..], &["--duration", "6"]].concat());
    std::thread::sleep(Duration::from_secs(1));
    let late = janus.join("Retardataire", ROOM, &[&none[..], &["--duration", "2"]].concat()).wait(Duration::from_secs(15));
    let silent = silent.wait(Duration::from_secs(15));
    assert!(late.status.success() && silent.status.success(), "{}\n{}", late.stderr, silent.stderr);
    assert_eq!(late.events_about("participant_joined", "Silencieux").len(), 1, "{:?}", late.lines);
    assert_eq!(silent.events_about("participant_joined", "Retardataire").len(), 1, "{:?}", silent.lines);
    assert_eq!(silent.events_about("participant_left", "Retardataire").len(), 1, "{:?}", silent.lines);
}
