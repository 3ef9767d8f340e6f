//! Anything a server (or an attacker in its place) sends must be parsed
//! without panicking, and must not break the session machine.
#![no_main]

use std::time::{Duration, Instant};

use estrade_proto::videoroom::VideoRoomEvent;
use estrade_proto::Incoming;
use estrade_signaling::{Input, Output, Session, SessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(Incoming::Event { plugin_data, .. }) = Incoming::parse(&text) {
        let _ = VideoRoomEvent::from_plugin_data(&plugin_data);
    }
    // The same bytes fed to a live session, split into several messages.
    let t0 = Instant::now();
    let mut session = Session::new(SessionConfig::default());
    session.create(t0);
    session.handle_input(Input::Receive(t0, r#"{"janus":"success","transaction":"estrade-1","data":{"id":1}}"#));
    session.attach(t0, "janus.plugin.videoroom");
    for (i, part) in text.split('\n').enumerate() {
        session.handle_input(Input::Receive(t0 + Duration::from_millis(i as u64), part));
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(part) {
            let _ = VideoRoomEvent::from_plugin_data(&value);
        }
    }
    session.handle_input(Input::Timeout(t0 + Duration::from_secs(60)));
    while !matches!(session.poll_output(), Output::Timeout(_)) {}
});
