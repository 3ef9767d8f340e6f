//! The class machine alone, on virtual time (`estrade_testkit::virtual_class`):
//! no driver, no runtime, no clock. A whole scenario (a class, its server's
//! death and return) runs in microseconds to milliseconds.

use std::time::{Duration, Instant};

use estrade_core::discovery::{DiscoveryError, ServerList};
use estrade_core::engine::{Command, ConnectionState, Input, PeerAction};
use estrade_core::{ClassEvent, ReconnectLevel};
use estrade_testkit::virtual_class::{config, AnsweredByTheTest, Client};
use serde_json::json;

#[test]
fn a_class_that_loses_its_server_comes_back_spread_out_not_in_one_wave() {
    const CLIENTS: u64 = 300;
    let t0 = Instant::now();
    let started = std::time::Instant::now();
    let none = json!([]);
    let mut clients: Vec<Client> = (0..CLIENTS).map(|seed| Client::new(seed, t0)).collect();
    for c in &mut clients {
        c.pump(t0, true, &none);
        assert_eq!(c.machine.state(), ConnectionState::Connected);
    }
    // At 1 s the server dies: every link drops at once. It is back at 4 s.
    let (dies, returns) = (t0 + Duration::from_secs(1), t0 + Duration::from_secs(4));
    for c in &mut clients {
        c.connects.clear();
        c.machine.handle_input(dies, Input::LinkClosed("server closed the connection".into()));
        c.pump(dies, false, &none);
    }
    let step = Duration::from_millis(10);
    let mut now = dies;
    while now < t0 + Duration::from_secs(40) {
        now += step;
        for c in &mut clients {
            c.tick(now, now >= returns, &none);
        }
    }
    for c in &clients {
        assert_eq!(c.machine.state(), ConnectionState::Connected, "every client is back");
        let back = c.events.iter().find_map(|e| match e {
            ClassEvent::Reconnected { level: ReconnectLevel::Rejoin, after, .. } => Some(*after),
            _ => None,
        });
        assert!(back.is_some(), "back by a rejoin: {:?}", c.events);
    }
    // The arrivals once the server is back, per second: the peak against
    // the mean over the window in which they came.
    let arrivals: Vec<Duration> = clients.iter().map(|c| *c.connects.last().expect("connected") - returns).collect();
    let window = arrivals.iter().max().copied().unwrap_or_default();
    let mut buckets = vec![0u32; window.as_secs() as usize + 1];
    for a in &arrivals {
        buckets[a.as_secs() as usize] += 1;
    }
    let peak = f64::from(*buckets.iter().max().unwrap_or(&0));
    let mean = CLIENTS as f64 / buckets.len() as f64;
    let mut sorted = arrivals.clone();
    sorted.sort();
    let p95 = sorted[sorted.len() * 95 / 100];
    eprintln!(
        "{CLIENTS} clients back within {window:?} of the server's return (p95 {p95:?}); peak {peak} a second, mean {mean:.1}: {:.1}x; simulated in {:?}",
        peak / mean,
        started.elapsed()
    );
    // The bound. Full jitter redrawn at every wait gave 3.8x here:
    // those whose ceiling was still small came back first, bunched.
    assert!(peak / mean <= 3.0, "arrivals bunched: peak {peak} a second against a mean of {mean:.1}");
    assert!(window <= Duration::from_secs(15), "the last came back {window:?} after the server");
    // While the server was down, attempts were spread too: nobody hammered it.
    let tries: Vec<usize> = clients.iter().map(|c| c.connects.iter().filter(|t| **t < returns).count()).collect();
    let mean_tries = tries.iter().sum::<usize>() as f64 / tries.len() as f64;
    eprintln!("attempts while the server was down (3 s): mean {mean_tries:.1}, most {:?}", tries.iter().max());
    assert!(mean_tries <= 6.0 && tries.iter().all(|&n| n <= 10), "{tries:?}");
}

#[test]
fn a_leave_is_not_stuck_behind_a_subscription_being_set_up() {
    let t0 = Instant::now();
    let lea = json!([{"id": 200, "display": "Léa"}]);
    let mut client = Client::new(1, t0);
    client.pump(t0, true, &lea);
    // The subscription to Léa waits for its peer connection (ICE gathering, say): never answered here.
    assert!(client.peer_ops.iter().any(|op| matches!(op, PeerAction::Subscribe { from, .. } if from.name == "Léa")), "{:?}", client.peer_ops);
    let later = t0 + Duration::from_millis(5);
    client.machine.handle_input(later, Input::Command(Command::Leave));
    client.pump(later, true, &lea);
    assert!(client.finished, "left at once: {:?}", client.events);
    assert_eq!(client.events.last(), Some(&ClassEvent::Left));
    assert_eq!(client.machine.state(), ConnectionState::Ended);
}

#[test]
fn a_class_closed_on_the_server_is_not_rejoined() {
    let t0 = Instant::now();
    let none = json!([]);
    let mut client = Client::new(2, t0);
    client.pump(t0, true, &none);
    let destroyed = json!({"janus": "event", "sender": client.session * 10 + 1,
        "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "destroyed", "room": 1234}}})
    .to_string();
    let later = t0 + Duration::from_secs(1);
    client.machine.handle_input(later, Input::Received(&destroyed));
    client.pump(later, true, &none);
    assert!(client.finished);
    match client.events.last() {
        Some(ClassEvent::ConnectionLost { reason }) => assert!(!reason.retry_helps(), "{reason}"),
        other => panic!("expected the class lost, got {other:?}"),
    }
    assert_eq!(client.machine.poll_timeout(), None, "nothing more to do");
}

/// The seed's morning: the class's server dies, and the school now lists
/// another. The class follows the school's list by itself: its kept copy (still
/// fresh) first, then, every server of it down, the school asked again; the
/// old server is never tried once the new list has replaced the one naming it.
#[test]
fn a_class_whose_server_moved_follows_the_school_list_and_never_goes_back() {
    let t0 = Instant::now();
    let none = json!([]);
    let mut config = config(3);
    config.join.directory = Some(std::sync::Arc::new(AnsweredByTheTest));
    let mut client = Client::with_config(config, 3, t0);
    client.pump(t0, true, &none);
    assert_eq!(client.machine.state(), ConnectionState::Connected);
    assert!(client.resolves.is_empty(), "the join used the servers it was given");
    client.tried.clear();

    // Server a dies; the school's document (kept, fresh) still lists it; a fetch lists only b.
    client.dead = vec!["ws://a".into()];
    client.listing = Some(Box::new(|refresh| {
        let endpoints = if refresh { vec!["ws://b".to_owned()] } else { vec!["ws://a".to_owned()] };
        Ok(ServerList { endpoints, retry_after: Duration::from_secs(1) })
    }));
    let dies = t0 + Duration::from_secs(1);
    client.machine.handle_input(dies, Input::LinkClosed("server closed the connection".into()));
    client.pump(dies, true, &none);
    let mut now = dies;
    while client.machine.state() != ConnectionState::Connected && now < dies + Duration::from_secs(30) {
        now += Duration::from_millis(10);
        client.tick(now, true, &none);
    }
    assert_eq!(client.machine.state(), ConnectionState::Connected, "back in class: {:?}", client.events);
    let back = client.events.iter().find_map(|e| match e {
        ClassEvent::Reconnected { level: ReconnectLevel::Rejoin, endpoint, after, .. } => Some((endpoint.clone(), *after)),
        _ => None,
    });
    let (endpoint, after) = back.expect("back by a rejoin");
    assert_eq!(endpoint, "ws://b");
    assert_eq!(client.resolves, [false, true], "the kept copy first, then the school asked again");
    // a (the claim, then the first round of the kept list), then b only.
    let first_b = client.tried.iter().position(|e| e == "ws://b").expect("b tried");
    assert!(client.tried[first_b..].iter().all(|e| e == "ws://b"), "{:?}", client.tried);
    // The document's retry_after_s (1 s) held between the two rounds.
    assert!(after >= Duration::from_secs(1), "back after {after:?}");
    eprintln!("back on the new server {after:?} after the old one died; tried {:?}", client.tried);
}

/// The school cannot be reached and its document is past its max_stale_s:
/// the servers it listed are not used either; the class keeps asking, and is
/// back once the school answers again.
#[test]
fn an_expired_school_list_is_not_used_while_the_school_is_asked_again() {
    let t0 = Instant::now();
    let none = json!([]);
    let mut config = config(4);
    config.join.directory = Some(std::sync::Arc::new(AnsweredByTheTest));
    let mut client = Client::with_config(config, 4, t0);
    client.pump(t0, true, &none);
    client.tried.clear();
    let answers = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let counted = std::rc::Rc::clone(&answers);
    client.listing = Some(Box::new(move |_| {
        counted.set(counted.get() + 1);
        if counted.get() <= 3 {
            let because = Box::new(DiscoveryError::Unreachable { domain: "ecole.test".into(), reason: "no route".into() });
            Err(DiscoveryError::Expired { age: Duration::from_secs(90_000), because })
        } else {
            Ok(ServerList { endpoints: vec!["ws://a".into()], retry_after: Duration::ZERO })
        }
    }));
    // Janus restarted: the session is gone (the claim is refused as not listening once).
    client.dead = vec!["ws://a".into()];
    let cut = t0 + Duration::from_secs(1);
    client.machine.handle_input(cut, Input::LinkClosed("server closed the connection".into()));
    client.pump(cut, true, &none);
    let mut now = cut;
    while answers.get() < 3 && now < cut + Duration::from_secs(30) {
        now += Duration::from_millis(10);
        client.tick(now, true, &none);
    }
    client.dead.clear();
    let tried_while_expired = client.tried.len();
    assert_eq!(tried_while_expired, 1, "only the claim, no server of the expired list: {:?}", client.tried);
    while client.machine.state() != ConnectionState::Connected && now < cut + Duration::from_secs(60) {
        now += Duration::from_millis(10);
        client.tick(now, true, &none);
    }
    assert_eq!(client.machine.state(), ConnectionState::Connected, "{:?}", client.events);
}
