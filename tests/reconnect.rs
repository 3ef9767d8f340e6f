//! Never stranded: the class comes back by itself. Real Janus in the test's
//! namespace, real `estrade-cli` clients, real network faults.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use estrade_tests::{read_frames, root, scratch, test_profile_with, LocalJanus};

/// The test profile, with Janus keeping a session 10 s after its WebSocket
/// goes (as the production profile does), so that it can be claimed back.
fn janus_that_keeps_sessions() -> LocalJanus {
    let config = test_profile_with("janus-reclaim", &[("reclaim_session_timeout = 0", "reclaim_session_timeout = 10")]);
    LocalJanus::start_with(&config)
}

/// A TCP relay in the namespace that can cut every connection through it.
struct Relay(Child);

impl Relay {
    fn start(janus: &LocalJanus, port: u16, upstream: u16) -> Self {
        let ready = scratch("relay").join("ready");
        let child = janus
            .command(Path::new("/usr/bin/python3"))
            .arg(root().join("tests/netsim/relay.py"))
            .args([port.to_string(), upstream.to_string()])
            .arg(&ready)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let until = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            assert!(Instant::now() < until, "the relay did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Relay(child)
    }

    /// Cuts every connection through the relay now.
    fn cut(&self) {
        let status = std::process::Command::new("kill").args(["-USR1", &self.0.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The longest wait between two pictures, in ms, and how many pictures.
fn longest_gap(csv: &Path) -> (u64, usize) {
    let frames = read_frames(csv);
    let gap = frames.windows(2).map(|w| w[1].t_ms.saturating_sub(w[0].t_ms)).max().unwrap_or(u64::MAX);
    (gap, frames.len())
}

#[test]
fn a_cut_websocket_is_claimed_back_with_the_same_id_and_media_uninterrupted() {
    let janus = janus_that_keeps_sessions();
    let relay = Relay::start(&janus, 8191, 8188);
    let (lea_dir, hugo_dir) = (scratch("claim-lea"), scratch("claim-hugo"));
    let hugo = janus.join("Hugo", 1234, &["--send-audio", "tone:550", "--duration", "14", "--record", hugo_dir.to_str().expect("utf-8")]);
    std::thread::sleep(Duration::from_millis(500));
    // Léa's WebSocket goes through the relay; her media goes straight to Janus.
    let lea = janus.join_via("ws://127.0.0.1:8191", "Lea", 1234, &["--send-audio", "tone:440", "--duration", "10", "--record", lea_dir.to_str().expect("utf-8")]);
    std::thread::sleep(Duration::from_secs(4));
    let cut_at_ms = now_ms();
    relay.cut();
    let lea = lea.wait(Duration::from_secs(40));
    let hugo = hugo.wait(Duration::from_secs(40));

    assert_eq!(lea.status.code(), Some(0), "Léa's class carried on: {:#?}\n{}", lea.lines, lea.stderr);
    let reconnecting = lea.event("reconnecting").unwrap_or_else(|| panic!("no reconnecting event: {:#?}", lea.lines));
    assert_eq!(reconnecting["level"], "claim", "{reconnecting}");
    let reconnected = lea.event("reconnected").unwrap_or_else(|| panic!("no reconnected event: {:#?}\n{}", lea.lines, lea.stderr));
    assert_eq!(reconnected["level"], "claim");
    let after = reconnected["after_ms"].as_u64().expect("after_ms");
    eprintln!("claimed back {after} ms after the cut ({} ms after the cut was made)", reconnected["t_ms"].as_u64().unwrap_or(0).saturating_sub(cut_at_ms));
    assert!(after < 2000, "claimed back after {after} ms");
    assert!(lea.event("connection_lost").is_none());
    assert_eq!(lea.lines.iter().filter(|l| l["event"] == "joined").count(), 1, "no rejoin");

    // For Hugo, Léa never left: the same participant, one arrival, one departure at the end.
    assert_eq!(hugo.events_about("participant_joined", "Lea").len(), 1, "{:#?}", hugo.lines);
    let left = hugo.events_about("participant_left", "Lea");
    assert_eq!(left.len(), 1, "Léa left once, at the end: {:#?}", hugo.lines);
    assert!(left[0]["t_ms"].as_u64().unwrap_or(0) >= lea.left_at().saturating_sub(500), "she left at the end, not at the cut");

    // Media never stopped, either way.
    let (gap, frames) = longest_gap(&lea_dir.join("Hugo.frames.csv"));
    eprintln!("Léa received {frames} pictures from Hugo, longest gap {gap} ms");
    assert!(gap < 500 && frames > 100, "Léa's pictures from Hugo: {frames}, longest gap {gap} ms");
    let (gap, frames) = longest_gap(&hugo_dir.join("Lea.frames.csv"));
    eprintln!("Hugo received {frames} pictures from Léa, longest gap {gap} ms");
    assert!(gap < 500 && frames > 100, "Hugo's pictures from Léa: {frames}, longest gap {gap} ms");
    assert!((hugo.totals("Lea")["tone_hz"].as_f64().unwrap_or(0.0) - 440.0).abs() < 1.0, "{}", hugo.totals("Lea"));
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The first picture after `t` in a frames log, in ms after `t`.
fn first_picture_after(csv: &Path, t: u64) -> Option<u64> {
    read_frames(csv).iter().map(|f| f.t_ms).find(|&at| at > t).map(|at| at - t)
}

/// Every UDP packet in the namespace dropped for 5 s while the WebSocket
/// holds: ICE hears nothing, and is restarted on the same session and
/// handles (a new offer through `configure` for each publication, `configure
/// {restart}` for each subscription). Nobody rejoins; the pictures are back
/// within 2 s of the network.
#[test]
fn after_a_5_s_network_blackout_media_is_back_within_2_s_by_ice_restart_with_the_same_participants() {
    let janus = LocalJanus::start();
    let (a_dir, b_dir) = (scratch("blackout-a"), scratch("blackout-b"));
    let a = janus.join("Ana", 1234, &["--send-audio", "tone:440", "--duration", "20", "--record", a_dir.to_str().expect("utf-8")]);
    std::thread::sleep(Duration::from_millis(500));
    let b = janus.join("Ben", 1234, &["--send-audio", "tone:550", "--duration", "20", "--record", b_dir.to_str().expect("utf-8")]);
    std::thread::sleep(Duration::from_secs(6));
    let blackout_at = now_ms();
    janus.sh("iptables -A INPUT -p udp -j DROP");
    std::thread::sleep(Duration::from_secs(5));
    janus.sh("iptables -D INPUT -p udp -j DROP");
    let back_at = now_ms();
    let (a, b) = (a.wait(Duration::from_secs(40)), b.wait(Duration::from_secs(40)));
    for o in [&a, &b] {
        assert_eq!(o.status.code(), Some(0), "{}: {:#?}\n{}", o.name, o.lines, o.stderr);
        assert!(o.event("connection_lost").is_none(), "{}", o.name);
        assert_eq!(o.lines.iter().filter(|l| l["event"] == "joined").count(), 1, "{}: no rejoin", o.name);
        let levels: Vec<&str> = o.lines.iter().filter(|l| l["event"] == "reconnecting").filter_map(|l| l["level"].as_str()).collect();
        assert!(!levels.is_empty() && levels.iter().all(|l| *l == "ice_restart"), "{}: by ICE restart only: {levels:?}\n{:#?}", o.name, o.lines);
        let back = o.lines.iter().rev().find(|l| l["event"] == "reconnected").unwrap_or_else(|| panic!("{}: not back: {:#?}\n{}", o.name, o.lines, o.stderr));
        assert_eq!(back["level"], "ice_restart", "{}: {back}", o.name);
        let restarted_at = o.lines.iter().find(|l| l["event"] == "reconnecting").and_then(|l| l["t_ms"].as_u64()).unwrap_or(0);
        eprintln!(
            "{}: ICE restarted {} ms into the blackout, {} rounds; back {} ms after the network ({} ms after the path was lost)",
            o.name,
            restarted_at.saturating_sub(blackout_at),
            levels.len(),
            back["t_ms"].as_u64().unwrap_or(0).saturating_sub(back_at),
            back["after_ms"]
        );
        // Nobody left and came back: the same participants throughout.
        let other = if o.name == "Ana" { "Ben" } else { "Ana" };
        assert_eq!(o.events_about("participant_joined", other).len(), 1, "{}: {:#?}", o.name, o.lines);
        assert!(o.events_about("participant_left", other).iter().all(|l| l["t_ms"].as_u64().unwrap_or(0) > back_at + 5000), "{}: nobody left", o.name);
    }
    for (dir, from) in [(&a_dir, "Ben"), (&b_dir, "Ana")] {
        let after = first_picture_after(&dir.join(format!("{from}.frames.csv")), back_at);
        eprintln!("{from}'s pictures back {after:?} ms after the network returned");
        assert!(after.is_some_and(|ms| ms < 2000), "{from}'s pictures came back after {after:?} ms");
    }
    assert!((b.totals("Ana")["tone_hz"].as_f64().unwrap_or(0.0) - 440.0).abs() < 1.0, "Ana heard: {}", b.totals("Ana"));
}

/// Janus killed and started again mid-class (every session gone, every
/// participant id with it), under a class of ten: the teacher and one pupil
/// speaking, eight listening. Each client joins again by itself, republishes
/// and hears the speakers again.
#[test]
fn after_a_janus_restart_every_client_is_back_in_class_by_itself() {
    const NAMES: [&str; 10] = ["Prof", "Ana", "Ben", "Chloe", "Dev", "Elsa", "Farid", "Gus", "Hana", "Ivo"];
    const SPEAKERS: [&str; 2] = ["Prof", "Ana"];
    let janus = LocalJanus::start();
    let clients: Vec<_> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let audio = if SPEAKERS.contains(name) { format!("tone:{}", 440 + 110 * i) } else { "none".to_owned() };
            janus.join(name, 1234, &["--send-audio", &audio, "--send-video", "none", "--duration", "24"])
        })
        .collect();
    std::thread::sleep(Duration::from_secs(7));
    janus.restart_server();
    let back_at = now_ms();
    let outcomes: Vec<_> = clients.into_iter().map(|c| c.wait(Duration::from_secs(60))).collect();
    let mut back_in_class = Vec::new();
    for o in &outcomes {
        assert_eq!(o.status.code(), Some(0), "{}: {:#?}\n{}", o.name, o.lines, o.stderr);
        assert!(o.event("connection_lost").is_none(), "{}", o.name);
        let reconnected: Vec<_> = o.lines.iter().filter(|l| l["event"] == "reconnected").collect();
        assert!(reconnected.iter().any(|r| r["level"] == "rejoin"), "{}: {:#?}", o.name, o.lines);
        // The speakers' sound again, after the server's return.
        let mut slowest = 0;
        for other in SPEAKERS.iter().filter(|n| **n != o.name) {
            let flowing = o.events_about("media_flowing", other);
            let again = flowing.iter().filter_map(|e| e["t_ms"].as_u64()).find(|&t| t > back_at);
            let again = again.unwrap_or_else(|| panic!("{}: no sound from {other} after the restart: {:#?}", o.name, o.lines));
            slowest = slowest.max(again - back_at);
        }
        eprintln!("{}: back in class, hearing the speakers, {slowest} ms after Janus was back", o.name);
        back_in_class.push(slowest);
    }
    back_in_class.sort_unstable();
    let p95 = back_in_class[(back_in_class.len() * 95).div_ceil(100) - 1];
    eprintln!("back in class after {back_in_class:?} ms (p95 {p95} ms)");
    assert!(p95 < 5000, "back in class after {back_in_class:?} ms");
}
