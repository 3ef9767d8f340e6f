//! The class driver against a scripted server on an in-memory link, with
//! tokio's paused clock: the driver's logic (ordering, subscriptions,
//! keepalive, errors) without sockets, devices or real time. The same flows
//! run against the real Janus in the repository's `tests/`.

#![allow(clippy::unwrap_used)] // test doubles: a poisoned lock is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use estrade_core::link::LinkEvent;
use estrade_core::peer::LocalMedia;
use estrade_core::{join, ClassEvent, JoinError, JoinOptions, ReconnectLevel, VideoFeed};
use estrade_media::ToneSource;
use estrade_testkit::peers::{NoSink, Peers, RecordingPeers, PUBLISHER_OFFER};
use estrade_testkit::scripted::{link, link_pair, FailingConnector, ScriptedConnector};
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[tokio::test(start_paused = true)]
async fn a_screen_share_gets_its_own_subscription_and_leaves_the_camera_alone() {
    let (connector, mut server) = link();
    let peers = Arc::new(RecordingPeers::default());
    let camera = json!([{"type": "audio", "mid": "0", "codec": "opus"}, {"type": "video", "mid": "1", "codec": "vp8"}]);
    let mut sharing = camera.clone();
    sharing.as_array_mut().unwrap().push(json!({"type": "video", "mid": "2", "codec": "vp8", "description": "screen share"}));
    let mut stopped = camera.clone();
    stopped.as_array_mut().unwrap().push(json!({"type": "video", "mid": "2", "disabled": true}));
    let script = tokio::spawn(async move {
        server.admit(json!([{"id": 200, "display": "Léa", "streams": camera}])).await;
        let streams = server.subscription_to(20, 200).await;
        assert_eq!(streams, json!([{"feed": 200, "mid": "0"}, {"feed": 200, "mid": "1"}]), "sound and camera, by mid");
        // Léa starts sharing: Janus lists her streams again.
        let update = |streams: &Value| json!({"janus": "event", "sender": 10, "plugindata": {"data":
            {"videoroom": "event", "room": 1234, "publishers": [{"id": 200, "display": "Léa", "streams": streams}]}}});
        server.send(update(&sharing));
        let streams = server.subscription_to(21, 200).await;
        assert_eq!(streams, json!([{"feed": 200, "mid": "2"}]), "the share alone, on its own handle");
        // The same list again changes nothing; then she stops.
        server.send(update(&sharing));
        server.send(update(&stopped));
        let detach = server.expect("detach", None).await;
        assert_eq!(detach["handle_id"], 21, "only the share's subscription is released");
        server.success(&detach, 0);
        server
    });
    let (_class, mut events) = join(options(None), connector, Arc::new(Peers(Arc::clone(&peers))), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect("joined");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(match next_event(&mut events).await {
            ClassEvent::ParticipantJoined { participant } => format!("+{}", participant.name),
            ClassEvent::ScreenShareStarted { participant } => format!("share {}", participant.name),
            ClassEvent::ScreenShareStopped { participant } => format!("unshare {}", participant.name),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(seen, ["+Léa", "share Léa", "unshare Léa"]);
    script.await.expect("script ran");
    assert_eq!(*peers.feeds.lock().unwrap(), [VideoFeed::Camera, VideoFeed::Screen]);
    assert_eq!(*peers.closed.lock().unwrap(), ["Léa"], "the share's connection closed, the camera's kept");
}


fn options(pin: Option<&str>) -> JoinOptions {
    JoinOptions {
        servers: vec!["ws://scripted".into()],
        directory: None,
        room: 1234,
        name: "Prof".into(),
        pin: pin.map(str::to_owned),
        connect_timeout: Duration::from_secs(4),
        give_up_after: Duration::from_secs(600),
    }
}

async fn next_event(events: &mut mpsc::UnboundedReceiver<ClassEvent>) -> ClassEvent {
    tokio::time::timeout(Duration::from_secs(60), events.recv()).await.expect("an event comes").expect("driver alive")
}

#[tokio::test(start_paused = true)]
async fn subscribes_to_everyone_and_follows_arrivals_and_departures() {
    let (connector, mut server) = link();
    let peers = Arc::new(RecordingPeers::default());
    let script = tokio::spawn(async move {
        server.admit_with(json!([{"id": 200, "display": "Léa"}]), json!([{"id": 300, "display": "Inès"}])).await;
        server.subscription(20, 200).await;
        // Hugo arrives, then Léa leaves.
        server.send(json!({"janus": "event", "sender": 10, "plugindata": {"data":
            {"videoroom": "event", "room": 1234, "publishers": [{"id": 201, "display": "Hugo"}]}}}));
        server.subscription(21, 201).await;
        server.send(json!({"janus": "event", "sender": 10, "plugindata": {"data": {"videoroom": "event", "room": 1234, "leaving": 200}}}));
        let detach = server.expect("detach", None).await;
        assert_eq!(detach["handle_id"], 20, "Léa's subscription handle is released");
        server.success(&detach, 0);
        server
    });
    let (class, mut events) = join(options(None), connector, Arc::new(Peers(Arc::clone(&peers))), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect("joined");
    assert_eq!(class.me().name, "Prof");
    let names = |e: &ClassEvent| match e {
        ClassEvent::ParticipantJoined { participant } => format!("+{}", participant.name),
        ClassEvent::ParticipantLeft { participant } => format!("-{}", participant.name),
        other => format!("{other:?}"),
    };
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(names(&next_event(&mut events).await));
    }
    assert_eq!(seen, ["+Inès", "+Léa", "+Hugo", "-Léa"], "Inès publishes nothing but is in class");
    let mut server = script.await.expect("script ran");
    let subscribed: Vec<String> = peers.subscribed.lock().unwrap().iter().map(|(p, offer)| format!("{} {offer}", p.name)).collect();
    assert_eq!(subscribed, ["Léa v=0 server-offer", "Hugo v=0 server-offer"]);
    assert_eq!(*peers.closed.lock().unwrap(), ["Léa"]);

    // Leaving says goodbye, closes the remaining subscription and destroys the session.
    let leaving = tokio::spawn(class.leave());
    let leave = server.expect("message", Some("leave")).await;
    server.event(&leave, json!({"videoroom": "event", "leaving": "ok"}), None);
    let destroy = server.expect("destroy", None).await;
    server.success(&destroy, 0);
    leaving.await.expect("left");
    assert_eq!(*peers.closed.lock().unwrap(), ["Léa", "Hugo"]);
    assert_eq!(next_event(&mut events).await, ClassEvent::Left);
}

#[tokio::test(start_paused = true)]
async fn keeps_the_session_alive_and_reports_a_silent_server() {
    let (connector, mut server) = link();
    let peers = Arc::new(RecordingPeers::default());
    let script = tokio::spawn(async move {
        server.admit(json!([])).await;
        let started = tokio::time::Instant::now();
        let keepalive = server.expect("keepalive", None).await;
        assert_eq!(started.elapsed(), Duration::from_secs(25), "keepalive after 25 s idle");
        server.send(json!({"janus": "ack", "transaction": keepalive["transaction"]}));
        server.expect("keepalive", None).await;
        // This one goes unanswered.
        server
    });
    let mut opts = options(None);
    opts.give_up_after = Duration::from_secs(60);
    let (_class, mut events) = join(opts, connector, Arc::new(Peers(peers)), LocalMedia::default(), Arc::new(NoSink)).await.expect("joined");
    let _server = script.await.expect("script ran");
    let t = tokio::time::Instant::now();
    // An unanswered keepalive times out after 10 s: the session is gone, so the class is joined again.
    let first = next_event(&mut events).await;
    assert!(matches!(first, ClassEvent::Reconnecting { level: ReconnectLevel::Rejoin, attempt: 1, .. }), "{first:?}");
    let lost_at = t.elapsed();
    assert!(lost_at >= Duration::from_secs(10) && lost_at <= Duration::from_millis(10_500), "{lost_at:?}");
    // Nothing answers any more: after `give_up_after`, the class is lost, saying retrying may help.
    let mut attempts = 1;
    loop {
        match next_event(&mut events).await {
            ClassEvent::Reconnecting { level: ReconnectLevel::Rejoin, attempt, .. } => attempts = attempt,
            ClassEvent::ConnectionLost { reason } => {
                assert!(reason.retry_helps(), "{reason}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(t.elapsed(), Duration::from_secs(70), "given up 60 s after the loss");
    // Full jitter, doubling to 15 s: a handful of rounds in a minute, not hundreds.
    assert!((4..=20).contains(&attempts), "{attempts} attempts");
}

#[tokio::test(start_paused = true)]
async fn join_errors_are_typed() {
    for (code, reason, expected) in [
        (426, "No such room (1234)", JoinError::NoSuchClass { room: 1234 }),
        (433, "Unauthorized (wrong pin)", JoinError::WrongPin { room: 1234 }),
        (429, "Missing mandatory element (pin)", JoinError::WrongPin { room: 1234 }),
        (432, "Maximum number of publishers (30) reached", JoinError::ClassFull { room: 1234 }),
    ] {
        let (connector, mut server) = link();
        let script = tokio::spawn(async move {
            let create = server.expect("create", None).await;
            server.success(&create, 1);
            let attach = server.expect("attach", None).await;
            server.success(&attach, 10);
            let join = server.expect("message", Some("join")).await;
            assert_eq!(join["body"]["pin"], "0000");
            server.event(&join, json!({"videoroom": "event", "error_code": code, "error": reason}), None);
            server
        });
        let peers = Arc::new(RecordingPeers::default());
        let err = join(options(Some("0000")), connector, Arc::new(Peers(peers)), LocalMedia::default(), Arc::new(NoSink))
            .await
            .expect_err("refused");
        assert_eq!(err, expected);
        assert!(!err.user_message().fr.is_empty() && !err.user_message().en.is_empty());
        script.await.expect("script ran");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_and_a_closed_link_is_reported() {
    let (connector, mut server) = link();
    let script = tokio::spawn(async move {
        server.expect("create", None).await;
        server
    });
    let t = tokio::time::Instant::now();
    let err = join(options(None), connector, Arc::new(Peers(Arc::default())), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect_err("no answer");
    // A server that takes the connection but never opens the session counts
    // as unreachable after the connect timeout, so the next one can be tried.
    assert!(matches!(&err, JoinError::Unreachable { reason, .. } if reason.contains("no answer within 4 s")), "{err:?}");
    assert_eq!(t.elapsed(), Duration::from_secs(4));
    script.await.expect("script ran");

    let (connector, mut server) = link();
    let script = tokio::spawn(async move {
        server.admit(json!([])).await;
        server.to_client.send(LinkEvent::Closed { reason: "server closed the connection (1001: going away)".into() }).unwrap();
        server
    });
    let mut opts = options(None);
    opts.give_up_after = Duration::from_secs(20);
    let (_class, mut events) = join(opts, connector, Arc::new(Peers(Arc::default())), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect("joined");
    let _server = script.await.expect("script ran");
    // The server is unreachable for good: claims are tried for 10 s, then
    // rejoins, until `give_up_after`; then the class is lost.
    let t = tokio::time::Instant::now();
    let (mut claims, mut rejoins) = (0, 0);
    loop {
        match next_event(&mut events).await {
            ClassEvent::Reconnecting { level: ReconnectLevel::Claim, attempt, .. } => {
                assert_eq!(rejoins, 0, "claims come first");
                claims = attempt;
            }
            ClassEvent::Reconnecting { level: ReconnectLevel::Rejoin, attempt, .. } => {
                if attempt == 1 {
                    assert!(t.elapsed() <= Duration::from_secs(11), "rejoining once the claim window is over: {:?}", t.elapsed());
                }
                rejoins = attempt;
            }
            ClassEvent::ConnectionLost { reason } => {
                assert!(reason.to_string().contains("within 20 s"), "{reason}");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(claims >= 4 && rejoins >= 2, "{claims} claims, {rejoins} rejoins");
    assert_eq!(t.elapsed(), Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_link_is_claimed_back_and_the_class_goes_on() {
    let (first, mut server) = link_pair();
    let (second, mut again) = link_pair();
    let (third, mut refusing) = link_pair();
    let (fourth, mut fresh) = link_pair();
    let connector = Arc::new(ScriptedConnector { link: Mutex::new(vec![first, second, third, fourth]), refuse_when_empty: false });
    let peers = Arc::new(RecordingPeers::default());
    let script = tokio::spawn(async move {
        server.admit(json!([])).await;
        server.to_client.send(LinkEvent::Closed { reason: "connection reset".into() }).unwrap();
        // On the new link: the claim of session 1, granted.
        let claim = again.expect("claim", None).await;
        assert_eq!(claim["session_id"], 1);
        again.send(json!({"janus": "success", "transaction": claim["transaction"], "session_id": 1}));
        // The class goes on over the new link: Léa arrives and is subscribed to.
        again.send(json!({"janus": "event", "sender": 10, "plugindata": {"data":
            {"videoroom": "event", "room": 1234, "publishers": [{"id": 200, "display": "Léa"}]}}}));
        again.subscription(20, 200).await;
        // Dropped again; this time the server no longer has the session.
        again.to_client.send(LinkEvent::Closed { reason: "connection reset".into() }).unwrap();
        let claim = refusing.expect("claim", None).await;
        refusing.send(json!({"janus": "error", "transaction": claim["transaction"], "error": {"code": 458, "reason": "No such session 1"}}));
        // So a new session: the class joined again, Léa received again.
        fresh.admit(json!([{"id": 200, "display": "Léa"}])).await;
        fresh.subscription(30, 200).await;
        (again, refusing, fresh)
    });
    let (class, mut events) = join(options(None), connector, Arc::new(Peers(Arc::clone(&peers))), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect("joined");
    assert!(matches!(next_event(&mut events).await, ClassEvent::Reconnecting { level: ReconnectLevel::Claim, attempt: 1, .. }));
    assert!(matches!(next_event(&mut events).await, ClassEvent::Reconnected { level: ReconnectLevel::Claim, .. }));
    assert!(matches!(next_event(&mut events).await, ClassEvent::ParticipantJoined { participant } if participant.name == "Léa"));
    assert_eq!(class.me().id.0, 100, "the same participant");
    assert!(matches!(next_event(&mut events).await, ClassEvent::Reconnecting { level: ReconnectLevel::Claim, attempt: 1, .. }));
    let rejoining = next_event(&mut events).await;
    assert!(matches!(rejoining, ClassEvent::Reconnecting { level: ReconnectLevel::Rejoin, attempt: 1, .. }), "{rejoining:?}");
    let back = next_event(&mut events).await;
    assert!(matches!(back, ClassEvent::Reconnected { level: ReconnectLevel::Rejoin, .. }), "{back:?}");
    let _servers = script.await.expect("script ran");
    // Léa was there all along: no departure, no second arrival; her old connection closed, a new one made.
    assert!(events.try_recv().is_err(), "nothing else happened");
    assert_eq!(peers.subscribed.lock().unwrap().len(), 2);
    assert_eq!(*peers.closed.lock().unwrap(), ["Léa"]);
}

#[tokio::test(start_paused = true)]
async fn servers_that_refuse_hang_or_close_are_skipped_for_the_next() {
    let (alive, mut server) = link();
    let alive = Arc::try_unwrap(alive).expect("one owner");
    let connector = Arc::new(FailingConnector { alive, tried: Mutex::default(), silent: Mutex::default() });
    let script = tokio::spawn(async move {
        server.admit(json!([])).await;
        server
    });
    let mut opts = options(None);
    opts.servers = ["ws://dead", "ws://silent", "ws://closing", "ws://alive"].map(String::from).to_vec();
    let started = tokio::time::Instant::now();
    let (handle, _events) = join(opts, connector.clone(), Arc::new(Peers(Arc::default())), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect("the fourth server takes us");
    assert_eq!(handle.endpoint(), "ws://alive");
    assert_eq!(*connector.tried.lock().unwrap(), ["ws://dead", "ws://silent", "ws://closing", "ws://alive"]);
    // Only the silent one cost time: one connect timeout.
    assert_eq!(started.elapsed().as_secs(), 4);
    let _server = script.await.unwrap();

    // When none answers, the last one's error is given.
    let connector = Arc::new(FailingConnector { alive: ScriptedConnector { link: Mutex::new(Vec::new()), refuse_when_empty: false }, tried: Mutex::default(), silent: Mutex::default() });
    let mut opts = options(None);
    opts.servers = ["ws://silent", "ws://dead"].map(String::from).to_vec();
    let err = join(opts, connector, Arc::new(Peers(Arc::default())), LocalMedia::default(), Arc::new(NoSink)).await.unwrap_err();
    assert!(matches!(&err, JoinError::NotListening { address } if address == "ws://dead"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_is_gone_is_not_claimed_for_nothing() {
    let (link, mut server) = link_pair();
    let connector = Arc::new(ScriptedConnector { link: Mutex::new(vec![link]), refuse_when_empty: true });
    let script = tokio::spawn(async move {
        server.admit(json!([])).await;
        server.to_client.send(LinkEvent::Closed { reason: "server closed the connection".into() }).unwrap();
        server
    });
    let mut opts = options(None);
    opts.give_up_after = Duration::from_secs(5);
    let (_class, mut events) = join(opts, connector, Arc::new(Peers(Arc::default())), LocalMedia::default(), Arc::new(NoSink))
        .await
        .expect("joined");
    let _server = script.await.expect("script ran");
    let lost = tokio::time::Instant::now();
    assert!(matches!(next_event(&mut events).await, ClassEvent::Reconnecting { level: ReconnectLevel::Claim, attempt: 1, .. }));
    let t = tokio::time::Instant::now();
    // Nothing listens any more: the server program and our session are gone,
    // so no claim is tried again: the class is joined anew, within the first
    // window of the rejoin (0.5 s).
    let rejoin = next_event(&mut events).await;
    assert!(matches!(rejoin, ClassEvent::Reconnecting { level: ReconnectLevel::Rejoin, attempt: 1, .. }), "{rejoin:?}");
    assert!(t.elapsed() <= Duration::from_millis(500), "{:?}", t.elapsed());
    loop {
        match next_event(&mut events).await {
            ClassEvent::Reconnecting { level: ReconnectLevel::Rejoin, .. } => {}
            ClassEvent::ConnectionLost { reason } => break assert!(reason.retry_helps()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(lost.elapsed(), Duration::from_secs(5), "given up --give-up-after the loss");
}

#[tokio::test(start_paused = true)]
async fn publishes_what_the_class_sends_and_applies_the_servers_answer() {
    let (connector, mut server) = link();
    let peers = Arc::new(RecordingPeers::default());
    let script = tokio::spawn(async move {
        server.admit(json!([])).await;
        let configure = server.expect("message", Some("configure")).await;
        assert_eq!(configure["jsep"]["type"], "offer");
        assert_eq!(configure["jsep"]["sdp"], PUBLISHER_OFFER);
        assert_eq!(configure["body"]["audio"], true, "{configure}");
        assert_eq!(configure["body"]["video"], false, "{configure}");
        server.event(&configure, json!({"videoroom": "event", "configured": "ok"}), Some(json!({"type": "answer", "sdp": "v=0 server-answer"})));
        // Janus says so once our media gets through.
        server.send(json!({"janus": "webrtcup", "session_id": 1, "sender": 10}));
        server
    });
    let media = LocalMedia { audio: Some(Box::new(ToneSource::new(440.0))), ..LocalMedia::default() };
    let (class, mut events) = join(options(None), connector, Arc::new(Peers(Arc::clone(&peers))), media, Arc::new(NoSink)).await.expect("joined");
    let _server = script.await.unwrap();
    let event = next_event(&mut events).await;
    assert!(matches!(event, ClassEvent::Publishing), "{event:?}");
    assert_eq!(*peers.published.lock().unwrap(), [(true, false, false)], "sound only");
    assert_eq!(*peers.answers.lock().unwrap(), ["v=0 server-answer"]);
    class.leave().await;
    assert_eq!(*peers.closed.lock().unwrap(), ["publisher"], "closed on leaving");
}
