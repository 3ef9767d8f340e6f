//! The real desktop app (WebKitGTK under Xvfb, driven by tauri-driver) in a
//! real class on a local Janus, with a real keychain, all inside the test's
//! network namespace. An `estrade-cli` publishes the test pattern.

use std::time::Duration;

use estrade_tests::school::School;
use estrade_tests::{scratch, AppRun, LocalJanus};

const CLI_NAME: &str = "Élève CLI";

#[test]
fn the_app_joins_paints_the_class_and_leaves() {
    let janus = LocalJanus::start();
    let pupil = janus.join(CLI_NAME, 1234, &["--send-audio", "tone:523", "--send-video", "pattern", "--duration", "150"]);
    let artifacts = scratch("app-e2e");
    // The class is joined by its school link; the school's document lists this Janus.
    let document = serde_json::json!({"version": 1, "signaling": [{"url": janus.server, "priority": 10}]}).to_string();
    let school = School::start(&janus, &document);
    let link = School::link(1234);
    let run = janus.drive_app(
        "e2e",
        &[
            ("CLI_NAME", CLI_NAME),
            ("E2E_ARTIFACTS", artifacts.to_str().expect("utf-8 path")),
            ("E2E_SCHOOL_LINK", &link),
            ("E2E_SCHOOL_DOMAIN", estrade_tests::school::DOMAIN),
            ("E2E_SCHOOL_CA", school.ca_cert.to_str().expect("utf-8 path")),
        ],
        Duration::from_secs(200),
    );
    assert!(
        run.status.success(),
        "the app's end-to-end run failed: {:#}\nstderr:\n{}\n(artifacts in {})",
        run.results,
        run.stderr,
        artifacts.display()
    );
    eprintln!("app e2e: {:#}", run.results);
    assert_eq!(run.results["joinedBy"], link.as_str());
    assert!(school.requests() >= 1, "the app asked the school's host");
    let tile = &run.results["tile"];
    assert_ne!(tile["before"]["hash"], tile["after"]["hash"], "the remote tile's pixels changed");

    // The CLI peer saw the app arrive and leave class 1234 once. Stop it now (it leaves on SIGTERM).
    let stopped = std::process::Command::new("kill").args(["-TERM", &pupil.pid().to_string()]).status().expect("kill runs");
    assert!(stopped.success());
    let outcome = pupil.wait(Duration::from_secs(20));
    let arrivals = outcome.events_about("participant_joined", "Professeur E2E");
    let departures = outcome.events_about("participant_left", "Professeur E2E");
    assert_eq!(arrivals.len(), 1, "the CLI saw the app join once: {:#?}", outcome.lines);
    assert_eq!(departures.len(), 1, "the CLI saw the app leave once");
    // The app shared its screen twice for a few seconds: the CLI saw each share start, stop, and paint.
    assert_eq!(outcome.events_about("screen_share_started", "Professeur E2E").len(), 2, "the app's shares reached the CLI");
    assert_eq!(outcome.events_about("screen_share_stopped", "Professeur E2E").len(), 2, "and their ends");
    let teacher = outcome.totals("Professeur E2E");
    assert!(teacher["screen"]["frames"].as_u64().unwrap_or(0) >= 20, "the app's shares were decoded: {}", teacher["screen"]);
}

#[test]
fn with_a_locked_keychain_the_pin_is_not_kept_anywhere() {
    let janus = LocalJanus::start();
    let artifacts = scratch("app-keychain");
    let run = janus.drive_app(
        "keychain-locked",
        &[("E2E_KEYCHAIN", "locked"), ("ESTRADE_PIN", "2468"), ("E2E_ARTIFACTS", artifacts.to_str().expect("utf-8 path"))],
        Duration::from_secs(120),
    );
    assert!(run.status.success(), "keychain-locked run failed: {:#}\nstderr:\n{}", run.results, run.stderr);
    assert_eq!(run.results["autoJoinWithEnvPin"], true, "a PIN class joined at start with ESTRADE_PIN");
    eprintln!("keychain locked: {:#}", run.results);
}

/// Janus gone for good mid-class, the app started with `--give-up-after 3`:
/// it tries for 3 s under its banner, then says plainly that the class is
/// lost, why, and what to do, and offers to join again.
#[test]
fn when_the_server_is_gone_for_good_the_app_says_so_plainly_after_giving_up() {
    let janus = LocalJanus::start();
    let artifacts = scratch("app-server-gone");
    let dir = artifacts.to_str().expect("utf-8 path");
    let run = janus.spawn_app("server-gone", &[("E2E_ARTIFACTS", dir), ("E2E_SIGNAL_DIR", dir)]);
    wait_until_in_class(&artifacts);
    janus.stop_server();
    let run = AppRun::finish(run, Duration::from_secs(120));
    assert!(run.status.success(), "server-gone run failed: {:#}\nstderr:\n{}", run.results, run.stderr);
    eprintln!("server gone: {:#}", run.results);
}

#[test]
fn after_janus_restarts_mid_class_the_app_is_back_in_class_by_itself() {
    let janus = LocalJanus::start();
    let artifacts = scratch("app-server-restarts");
    let dir = artifacts.to_str().expect("utf-8 path");
    // A peer in class whose pictures the app paints; it gets back by itself too.
    let _peer = janus.join("Hugo", 1234, &["--send-audio", "tone:440", "--duration", "120"]);
    let run = janus.spawn_app("server-restarts", &[("E2E_ARTIFACTS", dir), ("E2E_SIGNAL_DIR", dir)]);
    // Once the app is in class, the server goes away, and comes back 3 s later.
    wait_until_in_class(&artifacts);
    janus.stop_server();
    std::thread::sleep(Duration::from_secs(3));
    janus.restart_server();
    let run = AppRun::finish(run, Duration::from_secs(120));
    assert!(run.status.success(), "server-restarts run failed: {:#}\nstderr:\n{}", run.results, run.stderr);
    eprintln!("server restarts: {:#}", run.results);
}

/// Waits for the app's run to say (a `joined` file in `signals`) that it is in class.
fn wait_until_in_class(signals: &std::path::Path) {
    let joined = signals.join("joined");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !joined.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(joined.exists(), "the app never reported being in class");
}
