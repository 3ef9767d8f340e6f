//! A class found through its school's discovery document, never through a
//! server address: a real HTTPS host (the test's own CA) inside the test's
//! namespace, real Janus instances as the endpoints, `estrade-cli` as the
//! pupil. Bad documents and dead hosts each give a plain sentence, quickly.

use std::time::{Duration, Instant};

use estrade_tests::school::{OtherJanus, School};
use estrade_tests::{cli_binary, scratch, LocalJanus, Outcome};
use serde_json::Value;

/// A discovery document listing `endpoints` as (url, priority), weight 1.
fn document(endpoints: &[(&str, u32)], ttl_s: u64, max_stale_s: u64) -> String {
    let signaling: Vec<Value> = endpoints.iter().map(|(url, priority)| serde_json::json!({"url": url, "priority": priority, "weight": 1})).collect();
    serde_json::json!({"version": 1, "ttl_s": ttl_s, "max_stale_s": max_stale_s, "retry_after_s": 5, "signaling": signaling, "ice_servers": []}).to_string()
}

/// `estrade-cli join --server LINK` in the namespace, for a short class.
fn join(janus: &LocalJanus, link: &str, name: &str, extra: &[&str]) -> Outcome {
    let mut cmd = janus.command(&cli_binary());
    cmd.args(["join", "--server", link, "--name", name, "--ice-addr", &janus.ice_addr, "--send-video", "none", "--duration", "1"]);
    cmd.args(extra);
    estrade_tests::Client::spawn_command(name, cmd).wait(Duration::from_secs(30))
}

fn endpoint_of(o: &Outcome) -> String {
    let joined = o.event("joined").unwrap_or_else(|| panic!("{} did not join: {:?}\n{}", o.name, o.lines, o.stderr));
    joined["endpoint"].as_str().expect("joined names its endpoint").to_owned()
}

fn assert_plain_failure(o: &Outcome, words: &str) {
    assert_eq!(o.status.code(), Some(2), "{}: {:?}\n{}", o.name, o.lines, o.stderr);
    let failed = o.event("join_failed").unwrap_or_else(|| panic!("{}: no join_failed in {:?}", o.name, o.lines));
    let (fr, en) = (failed["message"]["fr"].as_str().unwrap_or_default(), failed["message"]["en"].as_str().unwrap_or_default());
    assert!(!fr.is_empty() && !en.is_empty(), "{failed}");
    assert!(en.contains(words), "{}: expected {words:?} in {en:?}", o.name);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
}

#[test]
fn a_school_link_finds_its_class_and_skips_a_dead_server() {
    let janus = LocalJanus::start();
    let mut backup = OtherJanus::start(&janus, 8190);
    let school = School::start(&janus, &document(&[(&janus.server, 10), (&backup.server, 20)], 300, 86400));
    let ca = school.ca_cert.to_str().expect("utf-8 path").to_owned();

    // The link names the school and the class; the document names the servers.
    let o = join(&janus, &School::link(1234), "Lea", &["--ca-cert", &ca]);
    assert_eq!(o.status.code(), Some(0), "{:?}\n{}", o.lines, o.stderr);
    assert!(endpoint_of(&o).starts_with("ws://127.0.0.1:8188"), "priority 10 first: {:?}", o.event("joined"));
    let discovery = o.event("discovery").expect("a discovery event");
    assert_eq!(discovery["source"], "fetched");
    assert_eq!(discovery["domain"], "ecole.test");
    // The estrade:// form and a code with --room work too.
    let o = join(&janus, "estrade://ecole.test/classe/1234", "Lea2", &["--ca-cert", &ca]);
    assert_eq!(o.status.code(), Some(0), "{:?}", o.lines);

    // The first server dies: a pupil joining now is taken by the second, at once.
    janus.stop_server();
    let started = Instant::now();
    let o = join(&janus, &School::link(1234), "Hugo", &["--ca-cert", &ca]);
    assert_eq!(o.status.code(), Some(0), "{:?}\n{}", o.lines, o.stderr);
    assert!(endpoint_of(&o).starts_with(&backup.server), "{:?}", o.event("joined"));
    eprintln!("joined the backup in {} ms with the first server dead", started.elapsed().as_millis());

    // Both dead: a plain sentence, and the last server named in the error.
    backup.kill();
    let o = join(&janus, &School::link(1234), "Ines", &["--ca-cert", &ca]);
    assert_plain_failure(&o, "Cannot reach the classroom server");
}

#[test]
fn the_kept_document_stands_in_while_the_school_host_is_down_then_expires() {
    let janus = LocalJanus::start();
    let school = School::start(&janus, &document(&[(&janus.server, 10)], 4, 8));
    let ca = school.ca_cert.to_str().expect("utf-8 path").to_owned();
    let config = scratch("discovery-config");
    let config = config.to_str().expect("utf-8 path");
    let with_cache = ["--ca-cert", ca.as_str(), "--config-dir", config];

    let first = Instant::now();
    let o = join(&janus, &School::link(1234), "Lea", &with_cache);
    assert_eq!(o.event("discovery").expect("discovery")["source"], "fetched", "{:?}", o.lines);
    let fetched = school.requests();
    // Within its ttl the kept copy is used, and the host is not asked.
    let o = join(&janus, &School::link(1234), "Lea", &with_cache);
    assert_eq!(o.event("discovery").expect("discovery")["source"], "cached", "{:?}", o.lines);
    assert_eq!(school.requests(), fetched, "a fresh copy is not fetched again");

    // The host fails (503), the ttl has passed: the kept copy stands in, and the pupil is told.
    school.answer("503 7");
    let wait_until = |t: Duration| std::thread::sleep(t.saturating_sub(first.elapsed()));
    wait_until(Duration::from_millis(4500));
    let o = join(&janus, &School::link(1234), "Lea", &with_cache);
    assert_eq!(o.status.code(), Some(0), "{:?}\n{}", o.lines, o.stderr);
    let d = o.event("discovery").expect("discovery");
    assert_eq!(d["source"], "stale", "{d}");
    assert!(d["message"]["en"].as_str().is_some_and(|m| m.contains("last known list")), "{d}");
    assert!(o.stderr.contains("dernière liste de serveurs connue"), "{}", o.stderr);

    // Past max_stale_s, it is not used any more: a plain sentence with both reasons.
    wait_until(Duration::from_millis(8500));
    let o = join(&janus, &School::link(1234), "Lea", &with_cache);
    assert_plain_failure(&o, "unavailable for a moment");
    assert_plain_failure(&o, "too old to use");

    // The host comes back with a document that no longer lists the server: it is not used.
    school.answer("200");
    school.publish(&document(&[("ws://127.0.0.1:8191", 10)], 300, 86400));
    let o = join(&janus, &School::link(1234), "Lea", &with_cache);
    assert_plain_failure(&o, "Cannot reach the classroom server ws://127.0.0.1:8191");
}

/// The seed's morning, in miniature: mid-class the school moves its classes
/// to another server (its document now lists only that one) and the old one
/// dies for good. Every pupil is back in class on the new server by itself,
/// hearing the others again: its kept copy of the list, still fresh, fails,
/// so the school is asked again; once a pupil has the new list it never
/// tries the old server again.
#[test]
fn when_the_school_moves_its_classes_mid_lesson_every_pupil_follows_by_itself() {
    const NAMES: [&str; 3] = ["Lea", "Hugo", "Ines"];
    let janus = LocalJanus::start();
    let new_server = OtherJanus::start(&janus, 8190);
    // Trusted for 5 minutes, so each pupil's kept copy still names the old
    // server when it dies (the browsers' cache on the seed's morning);
    // rounds at least 1 s apart.
    let listing = |url: &str| {
        serde_json::json!({"version": 1, "ttl_s": 300, "max_stale_s": 86400, "retry_after_s": 1,
            "signaling": [{"url": url, "priority": 10, "weight": 1}], "ice_servers": []})
        .to_string()
    };
    let school = School::start(&janus, &listing(&janus.server));
    let ca = school.ca_cert.to_str().expect("utf-8 path").to_owned();
    let pupils: Vec<_> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut cmd = janus.command(&cli_binary());
            let tone = format!("tone:{}", 440 + 110 * i);
            cmd.args(["join", "--server", &School::link(1234), "--ca-cert", &ca, "--name", name, "--ice-addr", &janus.ice_addr]);
            cmd.args(["--send-audio", &tone, "--send-video", "none", "--duration", "20"]);
            estrade_tests::Client::spawn_command(name, cmd)
        })
        .collect();
    std::thread::sleep(Duration::from_secs(5));
    let asked = school.requests();
    school.publish(&listing(&new_server.server));
    let moved_at = now_ms();
    janus.stop_server();
    for o in pupils.into_iter().map(|p| p.wait(Duration::from_secs(60))) {
        assert_eq!(o.status.code(), Some(0), "{}: {:#?}\n{}", o.name, o.lines, o.stderr);
        assert!(endpoint_of(&o).starts_with(&janus.server), "joined the first server: {:?}", o.event("joined"));
        let back = o.lines.iter().find(|l| l["event"] == "reconnected" && l["level"] == "rejoin");
        let back = back.unwrap_or_else(|| panic!("{}: not back in class: {:#?}", o.name, o.lines));
        assert!(back["endpoint"].as_str().is_some_and(|e| e.starts_with(&new_server.server)), "{}: back on {back}", o.name);
        // Once the new server is named, the old one never is again.
        let tried: Vec<&str> = o.lines.iter().filter(|l| l["event"] == "reconnecting").filter_map(|l| l["endpoint"].as_str()).collect();
        let first_new = tried.iter().position(|e| e.starts_with(&new_server.server)).expect("the new server tried");
        assert!(tried[first_new..].iter().all(|e| e.starts_with(&new_server.server)), "{}: tried {tried:?}", o.name);
        let mut slowest = 0;
        for other in NAMES.iter().filter(|n| **n != o.name) {
            let again = o.events_about("media_flowing", other).iter().filter_map(|e| e["t_ms"].as_u64()).find(|&t| t > moved_at);
            let again = again.unwrap_or_else(|| panic!("{}: no sound from {other} on the new server (moved at {moved_at}): {}", o.name, summary(&o)));
            slowest = slowest.max(again - moved_at);
        }
        eprintln!("{}: tried {tried:?}; back in class on the new server, hearing everyone, {slowest} ms after the move", o.name);
    }
    assert!(school.requests() >= asked + NAMES.len(), "each pupil asked the school again");
}

/// One line per event: what, about whom or where, when.
fn summary(o: &Outcome) -> String {
    let line = |l: &Value| format!("{} {} {} {}", l["event"], l["participant"]["name"], l["endpoint"], l["t_ms"]);
    o.lines.iter().filter(|l| l["event"].is_string()).map(line).collect::<Vec<_>>().join("\n")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis() as u64
}

#[test]
fn bad_documents_and_dead_hosts_give_a_plain_sentence() {
    let janus = LocalJanus::start();
    let school = School::start(&janus, "{ not json");
    let ca = school.ca_cert.to_str().expect("utf-8 path").to_owned();
    let trusted = ["--ca-cert", ca.as_str()];
    let check = |label: &str, link: &str, extra: &[&str], words: &str, within: Duration| {
        let started = Instant::now();
        let o = join(&janus, link, label, extra);
        assert_plain_failure(&o, words);
        assert!(started.elapsed() < within, "{label} took {:?}", started.elapsed());
        eprintln!("{label}: {} ms: {}", started.elapsed().as_millis(), o.event("join_failed").map(|f| f["message"]["en"].clone()).unwrap_or_default());
    };
    let quick = Duration::from_secs(5);
    check("malformed", &School::link(1234), &trusted, "class configuration published by ecole.test is wrong", quick);
    school.publish(r#"{"version": 1, "signaling": []}"#);
    check("no-endpoint", &School::link(1234), &trusted, "is wrong", quick);
    school.publish(r#"{"version": 1, "signaling": [{"url": "ws://192.0.2.1/janus"}]}"#);
    check("cleartext-endpoint", &School::link(1234), &trusted, "is wrong", quick);
    school.publish(&document(&[(&janus.server, 10)], 300, 86400));
    school.answer("404");
    check("not-found", &School::link(1234), &trusted, "does not offer Estrade classes", quick);
    school.answer("503 7");
    check("unavailable", &School::link(1234), &trusted, "unavailable for a moment", quick);
    school.answer("500");
    check("server-error", &School::link(1234), &trusted, "answered with an error (500)", quick);
    school.answer("200");
    // Signed by a CA we were not told to trust (and not the system's): refused.
    check("unknown-ca", &School::link(1234), &[], "security certificate of ecole.test is not recognised", quick);
    let other = school.other_ca_cert.to_str().expect("utf-8 path");
    check("other-ca", &School::link(1234), &["--ca-cert", other], "not recognised", quick);
    // A name that does not resolve, and a host that never answers.
    check("no-such-host", "https://nulle-part.test/classe/1234", &trusted, "Cannot reach nulle-part.test", quick);
    check("silent-host", &School::silent_link(1234), &trusted, "Cannot reach muette.test", Duration::from_secs(12));
    // A link that is no link.
    check("bad-link", "https://ecole.test/autre/1234", &trusted, "class link is not valid", quick);
    check("plain-http", "http://ecole.test/classe/1234", &trusted, "class link is not valid", quick);
    check("bad-ca-file", &School::link(1234), &["--ca-cert", "/nonexistent/ca.pem"], "cannot be read", quick);
    // And after all that, the same link with the right trust works.
    let o = join(&janus, &School::link(1234), "Lea", &trusted);
    assert_eq!(o.status.code(), Some(0), "{:?}\n{}", o.lines, o.stderr);
}

/// `estrade-cli diagnose LINK --json` in the namespace: its checks, in order.
fn diagnose(janus: &LocalJanus, link: &str, extra: &[&str]) -> Outcome {
    let mut cmd = janus.command(&cli_binary());
    cmd.args(["diagnose", link, "--json"]);
    cmd.args(extra);
    estrade_tests::Client::spawn_command("diagnose", cmd).wait(Duration::from_secs(30))
}

fn steps(o: &Outcome) -> Vec<(String, String)> {
    o.lines.iter().map(|c| (c["step"].as_str().unwrap_or("?").to_owned(), c["verdict"].as_str().unwrap_or("?").to_owned())).collect()
}

#[test]
fn diagnose_walks_from_the_link_to_the_servers_and_says_where_it_breaks() {
    let janus = LocalJanus::start();
    let school = School::start(&janus, &document(&[(&janus.server, 10), ("ws://127.0.0.1:8199", 20)], 300, 86400));
    let ca = school.ca_cert.to_str().expect("utf-8 path").to_owned();

    let o = diagnose(&janus, &School::link(1234), &["--ca-cert", &ca]);
    let got = steps(&o);
    let want: Vec<(String, String)> = [("link", "ok"), ("name", "ok"), ("tls", "ok"), ("discovery", "ok"), ("signaling", "ok"), ("signaling", "warn")]
        .iter()
        .map(|(s, v)| ((*s).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got[..6], want[..], "{:#?}", o.lines);
    assert_eq!(got[6].0, "devices", "{:#?}", o.lines);
    assert!(o.lines[4]["message"]["en"].as_str().is_some_and(|m| m.contains("answers (Janus 1.1")), "{}", o.lines[4]);
    assert!(o.lines[5]["message"]["fr"].as_str().is_some_and(|m| m.contains("ne répond pas")), "{}", o.lines[5]);
    assert_eq!(o.status.code(), Some(0), "one server answering is enough: {:#?}", o.lines);

    // Where it breaks, it stops, and says what to do.
    let o = diagnose(&janus, &School::link(1234), &[]);
    assert_eq!(steps(&o)[..3], [("link".into(), "ok".into()), ("name".into(), "ok".into()), ("tls".into(), "fail".into())], "{:#?}", o.lines);
    assert!(o.lines[2]["message"]["en"].as_str().is_some_and(|m| m.contains("not recognised")), "{}", o.lines[2]);
    assert_eq!(o.status.code(), Some(2));
    let o = diagnose(&janus, "https://nulle-part.test/classe/1", &[]);
    assert_eq!(steps(&o)[..2], [("link".into(), "ok".into()), ("name".into(), "fail".into())], "{:#?}", o.lines);
    let o = diagnose(&janus, &School::silent_link(1234), &["--ca-cert", &ca]);
    assert_eq!(steps(&o)[2], ("tls".into(), "fail".into()), "{:#?}", o.lines);
    school.publish("{}");
    let o = diagnose(&janus, &School::link(1234), &["--ca-cert", &ca]);
    assert_eq!(steps(&o)[3], ("discovery".into(), "fail".into()), "{:#?}", o.lines);
    let o = diagnose(&janus, "not a link", &[]);
    assert_eq!(steps(&o)[0], ("link".into(), "fail".into()));
    // A direct server link: straight to the server.
    let o = diagnose(&janus, &janus.server, &[]);
    assert_eq!(steps(&o)[..2], [("link".into(), "ok".into()), ("signaling".into(), "ok".into())], "{:#?}", o.lines);
}
