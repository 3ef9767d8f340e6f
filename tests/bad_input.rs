//! Bad input against a real local Janus: clear, typed errors, no panic, no hang.

use std::time::Duration;

use estrade_tests::{cli_binary, LocalJanus};

fn assert_join_failed(o: &estrade_tests::Outcome, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}: expected exit 2, got {:?}\n{}", o.name, o.status, o.stderr);
    let failed = o.event("join_failed").unwrap_or_else(|| panic!("{}: no join_failed line: {:?}", o.name, o.lines));
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(error.contains(needle), "{}: error {error:?} does not mention {needle:?}", o.name);
    assert!(failed["message"]["fr"].as_str().is_some_and(|m| !m.is_empty()), "a French message for the user");
    assert!(failed["message"]["en"].as_str().is_some_and(|m| !m.is_empty()), "an English message for the user");
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}

#[test]
fn a_closed_port_fails_fast_and_names_the_address() {
    let janus = LocalJanus::start();
    let mut cmd = janus.command(&cli_binary());
    cmd.args(["join", "--server", "ws://127.0.0.1:9", "--room", "1234", "--name", "X"]);
    let o = estrade_tests::Client::spawn_command("closed-port", cmd).wait(Duration::from_secs(10));
    assert_join_failed(&o, "ws://127.0.0.1:9");
    assert!(o.elapsed < Duration::from_secs(5), "took {:?}", o.elapsed);
}

#[test]
fn a_silent_server_fails_within_five_seconds_and_names_the_address() {
    let janus = LocalJanus::start();
    // Packets to this port vanish: the connection attempt gets no answer at all.
    janus.sh("iptables -A INPUT -p tcp --dport 9999 -j DROP");
    let mut cmd = janus.command(&cli_binary());
    cmd.args(["join", "--server", "ws://127.0.0.1:9999", "--room", "1234", "--name", "X"]);
    let o = estrade_tests::Client::spawn_command("blackhole", cmd).wait(Duration::from_secs(15));
    assert_join_failed(&o, "ws://127.0.0.1:9999");
    assert!(o.elapsed < Duration::from_secs(5), "took {:?}", o.elapsed);
}

#[test]
fn a_wrong_or_missing_pin_is_refused_by_the_server() {
    let janus = LocalJanus::start();
    let wrong = janus.join("Intrus", 4321, &["--pin", "0000", "--duration", "2"]).wait(Duration::from_secs(15));
    assert_join_failed(&wrong, "PIN");
    let missing = janus.join("Intrus", 4321, &["--duration", "2"]).wait(Duration::from_secs(15));
    assert_join_failed(&missing, "PIN");
    let right = janus.join("Eleve", 4321, &["--pin", "2468", "--duration", "1"]).wait(Duration::from_secs(15));
    assert!(right.status.success(), "the right PIN is accepted: {}", right.stderr);
}

#[test]
fn a_class_that_does_not_exist_is_named() {
    let janus = LocalJanus::start();
    let o = janus.join("Perdu", 999, &["--duration", "2"]).wait(Duration::from_secs(15));
    assert_join_failed(&o, "999");
    assert!(o.event("join_failed").unwrap()["error"].as_str().unwrap().contains("does not exist"));
}

#[test]
fn a_server_that_goes_away_mid_class_is_reported_as_connection_lost() {
    let janus = LocalJanus::start();
    let client = janus.join("Seul", 1234, &["--duration", "30"]);
    std::thread::sleep(Duration::from_secs(2));
    janus.stop_server();
    let o = client.wait(Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(3), "exit 3 on connection loss: {:?}\n{}", o.status, o.stderr);
    let lost = o.event("connection_lost").unwrap_or_else(|| panic!("no connection_lost event: {:?}", o.lines));
    assert!(lost["reason"].as_str().is_some_and(|r| !r.is_empty()), "the reason is given: {lost}");
    assert!(o.elapsed < Duration::from_secs(8));
}
