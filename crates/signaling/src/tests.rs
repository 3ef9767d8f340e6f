//! The machine on a virtual clock: instants are made up, nothing sleeps.

use super::*;
use serde_json::json;

fn drain(s: &mut Session) -> (Vec<String>, Vec<SessionEvent>, Option<Instant>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    loop {
        match s.poll_output() {
            Output::Transmit(t) => sent.push(t),
            Output::Event(e) => events.push(e),
            Output::Timeout(t) => return (sent, events, t),
        }
    }
}

fn tx_of(text: &str) -> String {
    let v: Value = serde_json::from_str(text).expect("we send JSON");
    v["transaction"].as_str().expect("every request has a transaction").to_owned()
}

fn created(t0: Instant) -> Session {
    let mut s = Session::new(SessionConfig::default());
    s.create(t0);
    let (sent, _, _) = drain(&mut s);
    let reply = json!({"janus":"success","transaction":tx_of(&sent[0]),"data":{"id":42}}).to_string();
    s.handle_input(Input::Receive(t0, &reply));
    drain(&mut s);
    s
}

#[test]
fn create_then_attach_then_message_reply_via_event() {
    let t0 = Instant::now();
    let mut s = Session::new(SessionConfig::default());
    let create = s.create(t0);
    let (sent, events, deadline) = drain(&mut s);
    assert_eq!(sent.len(), 1);
    assert!(events.is_empty());
    assert_eq!(deadline, Some(t0 + Duration::from_secs(10)));
    let reply = json!({"janus":"success","transaction":tx_of(&sent[0]),"data":{"id":42}}).to_string();
    s.handle_input(Input::Receive(t0, &reply));
    let (_, events, _) = drain(&mut s);
    assert_eq!(events, vec![SessionEvent::Created { request: create, session_id: 42 }]);

    let attach = s.attach(t0, "janus.plugin.videoroom");
    let (sent, _, _) = drain(&mut s);
    assert!(sent[0].contains(r#""session_id":42"#));
    let reply = json!({"janus":"success","session_id":42,"transaction":tx_of(&sent[0]),"data":{"id":7}}).to_string();
    s.handle_input(Input::Receive(t0, &reply));
    assert_eq!(drain(&mut s).1, vec![SessionEvent::Attached { request: attach, handle: 7 }]);

    let join = s.message(t0, 7, json!({"request":"join"}), None);
    let (sent, _, _) = drain(&mut s);
    let tx = tx_of(&sent[0]);
    s.handle_input(Input::Receive(t0, &json!({"janus":"ack","session_id":42,"transaction":tx}).to_string()));
    assert!(drain(&mut s).1.is_empty(), "an ack is not the answer");
    let ev = json!({"janus":"event","session_id":42,"sender":7,"transaction":tx,
        "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined","id":1}}});
    s.handle_input(Input::Receive(t0, &ev.to_string()));
    let (_, events, _) = drain(&mut s);
    assert!(matches!(&events[..], [SessionEvent::Replied { request, handle: 7, .. }] if *request == join));
}

#[test]
fn unanswered_requests_time_out_exactly_at_their_deadline() {
    let t0 = Instant::now();
    let mut s = created(t0);
    let req = s.message(t0, 7, json!({}), None);
    drain(&mut s);
    s.handle_input(Input::Timeout(t0 + Duration::from_millis(9_999)));
    assert!(drain(&mut s).1.is_empty());
    s.handle_input(Input::Timeout(t0 + Duration::from_secs(10)));
    assert_eq!(
        drain(&mut s).1,
        vec![SessionEvent::Failed { request: req, error: RequestError::TimedOut(Duration::from_secs(10)) }]
    );
}

#[test]
fn keepalive_is_sent_when_idle_and_silence_loses_the_session() {
    let t0 = Instant::now();
    let mut s = created(t0);
    let (_, _, next) = drain(&mut s);
    assert_eq!(next, Some(t0 + Duration::from_secs(25)));
    let t1 = t0 + Duration::from_secs(25);
    s.handle_input(Input::Timeout(t1));
    let (sent, _, next) = drain(&mut s);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("keepalive"));
    assert_eq!(next, Some(t1 + Duration::from_secs(10)));
    // Acked: the next keepalive comes 25 s after this one.
    s.handle_input(Input::Receive(t1, &json!({"janus":"ack","transaction":tx_of(&sent[0])}).to_string()));
    let (_, events, next) = drain(&mut s);
    assert!(events.is_empty());
    assert_eq!(next, Some(t1 + Duration::from_secs(25)));
    // Unanswered: the session is declared lost, once.
    let t2 = t1 + Duration::from_secs(25);
    s.handle_input(Input::Timeout(t2));
    drain(&mut s);
    s.handle_input(Input::Timeout(t2 + Duration::from_secs(10)));
    let (_, events, _) = drain(&mut s);
    assert!(matches!(&events[..], [SessionEvent::SessionLost { .. }]), "{events:?}");
    s.handle_input(Input::Timeout(t2 + Duration::from_secs(60)));
    assert!(drain(&mut s).0.is_empty(), "no more keepalives once lost");
}

#[test]
fn requests_push_the_keepalive_back() {
    let t0 = Instant::now();
    let mut s = created(t0);
    s.message(t0 + Duration::from_secs(20), 7, json!({}), None);
    let (_, _, next) = drain(&mut s);
    // The message's own deadline (30 s) comes before the keepalive (45 s).
    assert_eq!(next, Some(t0 + Duration::from_secs(30)));
    s.handle_input(Input::Timeout(t0 + Duration::from_secs(25)));
    assert!(drain(&mut s).0.is_empty(), "no keepalive 5 s after a request");
}

#[test]
fn errors_and_unsolicited_events_are_routed() {
    let t0 = Instant::now();
    let mut s = created(t0);
    let req = s.attach(t0, "janus.plugin.nope");
    let (sent, _, _) = drain(&mut s);
    let err = json!({"janus":"error","transaction":tx_of(&sent[0]),"error":{"code":460,"reason":"No such plugin"}});
    s.handle_input(Input::Receive(t0, &err.to_string()));
    assert_eq!(
        drain(&mut s).1,
        vec![SessionEvent::Failed { request: req, error: RequestError::Janus { code: 460, reason: "No such plugin".into() } }]
    );
    let ev = json!({"janus":"event","sender":7,"plugindata":{"data":{"videoroom":"event","leaving":3}}});
    s.handle_input(Input::Receive(t0, &ev.to_string()));
    assert!(matches!(&drain(&mut s).1[..], [SessionEvent::PluginEvent { handle: 7, .. }]));
    s.handle_input(Input::Receive(t0, r#"{"janus":"hangup","sender":7,"reason":"ICE failed"}"#));
    assert_eq!(drain(&mut s).1, vec![SessionEvent::HangUp { handle: 7, reason: "ICE failed".into() }]);
    s.handle_input(Input::Receive(t0, r#"{"janus":"timeout","session_id":42}"#));
    assert!(matches!(&drain(&mut s).1[..], [SessionEvent::SessionLost { .. }]));
}

#[test]
fn garbage_is_ignored_and_the_session_survives() {
    let t0 = Instant::now();
    let mut s = created(t0);
    for junk in ["", "}{", "[]", r#"{"janus":"success","transaction":"nobody"}"#, r#"{"janus":"wat"}"#] {
        s.handle_input(Input::Receive(t0, junk));
        let (sent, events, _) = drain(&mut s);
        assert!(sent.is_empty());
        assert!(events.iter().all(|e| matches!(e, SessionEvent::Ignored { .. })), "{junk:?}: {events:?}");
    }
    let req = s.attach(t0, "janus.plugin.videoroom");
    let (sent, _, _) = drain(&mut s);
    s.handle_input(Input::Receive(t0, &json!({"janus":"success","transaction":tx_of(&sent[0]),"data":{"id":8}}).to_string()));
    assert_eq!(drain(&mut s).1, vec![SessionEvent::Attached { request: req, handle: 8 }]);
}

#[test]
fn a_lost_link_pauses_keepalives_and_a_claim_takes_the_session_back() {
    let t0 = Instant::now();
    let mut s = created(t0);
    // A keepalive goes out after 25 s idle, then the link drops before its ack.
    s.handle_input(Input::Timeout(t0 + Duration::from_secs(25)));
    let (sent, _, _) = drain(&mut s);
    assert!(sent[0].contains("keepalive"));
    s.link_lost();
    let (_, _, deadline) = drain(&mut s);
    assert_eq!(deadline, None, "nothing is due while the link is down: no keepalive, no lost session");
    s.handle_input(Input::Timeout(t0 + Duration::from_secs(60)));
    let (sent, events, _) = drain(&mut s);
    assert!(sent.is_empty() && events.is_empty(), "{sent:?} {events:?}");

    // On the new link: claim, the server agrees, keepalives resume.
    let t1 = t0 + Duration::from_secs(61);
    let claim = s.claim(t1);
    let (sent, _, deadline) = drain(&mut s);
    let v: Value = serde_json::from_str(&sent[0]).expect("JSON");
    assert_eq!((v["janus"].as_str(), v["session_id"].as_u64()), (Some("claim"), Some(42)));
    assert_eq!(deadline, Some(t1 + Duration::from_secs(10)));
    let reply = json!({"janus":"success","transaction":tx_of(&sent[0]),"session_id":42}).to_string();
    s.handle_input(Input::Receive(t1, &reply));
    let (_, events, deadline) = drain(&mut s);
    assert_eq!(events, vec![SessionEvent::Done { request: claim }]);
    assert_eq!(deadline, Some(t1 + Duration::from_secs(25)), "keepalives resume");

    // A server that no longer has the session says so.
    let claim = s.claim(t1);
    let (sent, _, _) = drain(&mut s);
    let reply = json!({"janus":"error","transaction":tx_of(&sent[0]),"error":{"code":458,"reason":"No such session 42"}}).to_string();
    s.handle_input(Input::Receive(t1, &reply));
    let (_, events, _) = drain(&mut s);
    assert!(matches!(&events[..], [SessionEvent::Failed { request, error: RequestError::Janus { code: 458, .. } }] if *request == claim), "{events:?}");
}
