//! A class machine on virtual time: no driver, no runtime, no clock. Janus
//! is a pure function ([`answer`]) and a [`Client`] does what its machine
//! asks at the instant the test chooses, so a whole scenario (a class, its
//! server's death and return, a herd of hundreds) runs in milliseconds.

use std::time::{Duration, Instant};

use estrade_core::discovery::{DiscoveryError, ServerDirectory, ServerList};
use estrade_core::engine::{ClassConfig, ClassMachine, Input, Output, PeerAction, PeerResult};
use estrade_core::peer::Renegotiation;
use estrade_core::{ClassEvent, JoinError, JoinOptions};
use serde_json::{json, Value};

/// A scripted Janus as a pure function: the answers to one request.
/// `publishers` are listed to every publisher that joins.
pub fn answer(text: &str, session: u64, publishers: &Value) -> Vec<String> {
    let msg: Value = serde_json::from_str(text).expect("the machine sends JSON");
    let tx = &msg["transaction"];
    let reply = match msg["janus"].as_str() {
        Some("create") => json!({"janus": "success", "transaction": tx, "data": {"id": session}}),
        Some("attach") => json!({"janus": "success", "transaction": tx, "data": {"id": session * 10 + 1}}),
        Some("keepalive") => json!({"janus": "ack", "transaction": tx}),
        Some("message") if msg["body"]["request"] == "join" && msg["body"]["ptype"] == "publisher" => json!({
            "janus": "event", "sender": msg["handle_id"], "transaction": tx,
            "plugindata": {"plugin": "janus.plugin.videoroom", "data":
                {"videoroom": "joined", "room": 1234, "id": session, "private_id": 7, "publishers": publishers, "attendees": []}}
        }),
        Some("message") if msg["body"]["request"] == "join" => json!({
            "janus": "event", "sender": msg["handle_id"], "transaction": tx,
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "attached", "room": 1234}},
            "jsep": {"type": "offer", "sdp": "v=0 offer"}
        }),
        Some("message") if msg["body"]["request"] == "configure" && msg["body"]["restart"] == true => json!({
            "janus": "event", "sender": msg["handle_id"], "transaction": tx,
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "updated", "room": 1234}},
            "jsep": {"type": "offer", "sdp": "v=0 restart offer", "restart": true}
        }),
        Some("message") if msg["body"]["request"] == "configure" => json!({
            "janus": "event", "sender": msg["handle_id"], "transaction": tx,
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "event", "configured": "ok"}},
            "jsep": {"type": "answer", "sdp": "v=0 server answer"}
        }),
        Some("message") if msg["body"]["request"] == "start" => json!({
            "janus": "event", "sender": msg["handle_id"], "transaction": tx,
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "event", "started": "ok"}}
        }),
        Some("message") if msg["body"]["request"] == "leave" => json!({
            "janus": "event", "sender": msg["handle_id"], "transaction": tx,
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "event", "left": "ok"}}
        }),
        Some("destroy" | "detach") => json!({"janus": "success", "transaction": tx}),
        _ => return Vec::new(),
    };
    vec![reply.to_string()]
}

pub fn config(seed: u64) -> ClassConfig {
    ClassConfig {
        join: JoinOptions {
            servers: vec!["ws://a".into()],
            directory: None,
            room: 1234,
            name: "Élève".into(),
            pin: None,
            connect_timeout: Duration::from_secs(4),
            give_up_after: Duration::from_secs(600),
        },
        audio: false,
        video: false,
        screen: false,
        seed,
    }
}

/// A school's list of servers, as the directory would answer (`refresh`).
pub type Listing = Box<dyn FnMut(bool) -> Result<ServerList, DiscoveryError>>;

/// Never asked: the machine only needs to know that there is a directory;
/// the test answers its [`Output::Resolve`] itself.
#[derive(Debug)]
pub struct AnsweredByTheTest;

#[async_trait::async_trait]
impl ServerDirectory for AnsweredByTheTest {
    async fn servers(&self, _refresh: bool) -> Result<ServerList, DiscoveryError> {
        unreachable!("the machine never calls its directory")
    }
}

/// One client: its machine, and what it did.
pub struct Client {
    pub machine: ClassMachine,
    pub session: u64,
    /// Servers down whatever `up` says.
    pub dead: Vec<String>,
    /// Answers [`Output::Resolve`].
    pub listing: Option<Listing>,
    /// Each `Resolve` asked for, in order (its `refresh`).
    pub resolves: Vec<bool>,
    /// Each server a link was asked to, in order.
    pub tried: Vec<String>,
    pub connects: Vec<Instant>,
    pub events: Vec<ClassEvent>,
    pub peer_ops: Vec<PeerAction>,
    /// Peer operations succeed at once (otherwise they are only recorded, never answered).
    pub peers_answer: bool,
    pub finished: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("machine", &self.machine).field("tried", &self.tried).field("events", &self.events).finish()
    }
}

impl Client {
    pub fn new(seed: u64, now: Instant) -> Self {
        Self::with_config(config(seed), seed, now)
    }

    pub fn with_config(config: ClassConfig, seed: u64, now: Instant) -> Self {
        Self {
            machine: ClassMachine::new(config, now),
            session: 1000 + seed,
            dead: Vec::new(),
            listing: None,
            resolves: Vec::new(),
            tried: Vec::new(),
            connects: Vec::new(),
            events: Vec::new(),
            peer_ops: Vec::new(),
            peers_answer: false,
            finished: false,
        }
    }

    /// Does what the machine asks, answering as the server would if `up`.
    pub fn pump(&mut self, now: Instant, up: bool, publishers: &Value) {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Connect { endpoint } => {
                    self.connects.push(now);
                    self.tried.push(endpoint.clone());
                    let input = if up && !self.dead.contains(&endpoint) {
                        Input::LinkOpened
                    } else {
                        Input::LinkFailed(JoinError::NotListening { address: endpoint })
                    };
                    self.machine.handle_input(now, input);
                }
                Output::Resolve { refresh } => {
                    self.resolves.push(refresh);
                    let listing = self.listing.as_mut().expect("a directory answers");
                    let answer = listing(refresh);
                    self.machine.handle_input(now, Input::Resolved(answer));
                }
                Output::Transmit(text) if up => {
                    for reply in answer(&text, self.session, publishers) {
                        self.machine.handle_input(now, Input::Received(&reply));
                    }
                }
                Output::Event(event) => self.events.push(event),
                Output::Peer { op, action } => {
                    let result = match &action {
                        _ if !self.peers_answer => None,
                        PeerAction::Publish { .. } | PeerAction::RestartIce | PeerAction::ShareScreen | PeerAction::StopScreenShare => {
                            Some(PeerResult::Offer(Renegotiation { offer: "v=0 client offer".into(), screen_mid: None }))
                        }
                        PeerAction::Subscribe { .. } | PeerAction::AcceptOffer { .. } => Some(PeerResult::Answer("v=0 client answer".into())),
                        PeerAction::AcceptAnswer { .. } => Some(PeerResult::Done),
                        PeerAction::ClosePublisher | PeerAction::CloseSubscription { .. } => None,
                    };
                    self.peer_ops.push(action);
                    if let Some(result) = result {
                        self.machine.handle_input(now, Input::PeerDone { op, result });
                    }
                }
                Output::Finished => self.finished = true,
                _ => {}
            }
        }
    }

    pub fn tick(&mut self, now: Instant, up: bool, publishers: &Value) {
        if self.machine.poll_timeout().is_some_and(|at| at <= now) {
            self.machine.handle_input(now, Input::Timeout);
        }
        self.pump(now, up, publishers);
    }
}
