//! A scripted Janus: the server's end of an in-memory link, answering as
//! Janus does, step by step, from the test; and connectors that hand out such
//! links, or fail the way real servers fail.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use estrade_core::link::{Connector, LinkEvent, SignalLink};
use estrade_core::JoinError;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use std::sync::Arc;

/// The server's side of the link.
#[derive(Debug)]
pub struct Server {
    pub from_client: mpsc::UnboundedReceiver<String>,
    pub to_client: mpsc::UnboundedSender<LinkEvent>,
}

impl Server {
    pub async fn next(&mut self) -> Value {
        let text = tokio::time::timeout(Duration::from_secs(60), self.from_client.recv())
            .await
            .expect("the client sent something")
            .expect("link open");
        serde_json::from_str(&text).expect("the client sends JSON")
    }

    /// Receives a request of kind `janus` (and plugin `request`, if given) and returns it.
    pub async fn expect(&mut self, janus: &str, request: Option<&str>) -> Value {
        loop {
            let msg = self.next().await;
            if msg["janus"] == "keepalive" && janus != "keepalive" {
                self.send(json!({"janus": "ack", "transaction": msg["transaction"]}));
                continue;
            }
            assert_eq!(msg["janus"], janus, "unexpected request {msg}");
            if let Some(r) = request {
                assert_eq!(msg["body"]["request"], r, "unexpected body {msg}");
            }
            return msg;
        }
    }

    pub fn send(&self, v: Value) {
        self.to_client.send(LinkEvent::Text(v.to_string())).expect("client listening");
    }

    pub fn success(&self, req: &Value, id: u64) {
        self.send(json!({"janus": "success", "transaction": req["transaction"], "data": {"id": id}}));
    }

    pub fn event(&self, req: &Value, data: Value, jsep: Option<Value>) {
        let mut v = json!({"janus": "event", "sender": req["handle_id"], "transaction": req["transaction"],
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": data}});
        if let Some(j) = jsep {
            v["jsep"] = j;
        }
        self.send(v);
    }

    /// create + attach + join, answering as Janus does; `publishers` are already in the room.
    pub async fn admit(&mut self, publishers: Value) -> u64 {
        self.admit_with(publishers, json!([])).await
    }

    /// Like `admit`, with `attendees` in the room who publish nothing.
    pub async fn admit_with(&mut self, publishers: Value, attendees: Value) -> u64 {
        let create = self.expect("create", None).await;
        self.success(&create, 1);
        let attach = self.expect("attach", None).await;
        self.success(&attach, 10);
        let join = self.expect("message", Some("join")).await;
        assert_eq!(join["body"]["ptype"], "publisher");
        self.event(
            &join,
            json!({"videoroom": "joined", "room": 1234, "id": 100, "private_id": 7, "publishers": publishers, "attendees": attendees}),
            None,
        );
        10
    }

    /// Answers one subscription (attach, join, start) with handle `handle`.
    pub async fn subscription(&mut self, handle: u64, feed: u64) {
        self.subscription_to(handle, feed).await;
    }

    /// Like `subscription`, returning the streams asked for.
    pub async fn subscription_to(&mut self, handle: u64, feed: u64) -> Value {
        let attach = self.expect("attach", None).await;
        self.success(&attach, handle);
        let join = self.expect("message", Some("join")).await;
        assert_eq!(join["body"]["ptype"], "subscriber");
        assert_eq!(join["body"]["streams"][0]["feed"], feed);
        assert_eq!(join["body"]["private_id"], 7, "subscriptions carry our private id");
        self.event(&join, json!({"videoroom": "attached", "room": 1234}), Some(json!({"type": "offer", "sdp": "v=0 server-offer"})));
        let start = self.expect("message", Some("start")).await;
        assert_eq!(start["jsep"]["type"], "answer");
        self.event(&start, json!({"videoroom": "event", "started": "ok"}), None);
        join["body"]["streams"].clone()
    }
}

#[derive(Debug)]
pub struct ScriptedConnector {
    pub link: Mutex<Vec<SignalLink>>,
    /// Once the links are used up: refused (nothing listens) rather than unreachable.
    pub refuse_when_empty: bool,
}

#[async_trait]
impl Connector for ScriptedConnector {
    async fn connect(&self, address: &str) -> Result<SignalLink, JoinError> {
        // Each scripted link serves one connection; then the server is gone.
        let mut links = self.link.lock().unwrap();
        if links.is_empty() {
            return Err(if self.refuse_when_empty {
                JoinError::NotListening { address: address.into() }
            } else {
                JoinError::Unreachable { address: address.into(), reason: "no route to host".into() }
            });
        }
        Ok(links.remove(0))
    }
}

/// Servers by address: "dead" refuses at once, "silent" accepts the
/// connection but never answers, "closing" hangs up before the session
/// exists, and "alive" is the scripted server.
#[derive(Debug)]
pub struct FailingConnector {
    pub alive: ScriptedConnector,
    pub tried: Mutex<Vec<String>>,
    /// The server ends of "silent" links, kept so that the links stay open.
    pub silent: Mutex<Vec<(mpsc::UnboundedSender<LinkEvent>, mpsc::UnboundedReceiver<String>)>>,
}

#[async_trait]
impl Connector for FailingConnector {
    async fn connect(&self, address: &str) -> Result<SignalLink, JoinError> {
        self.tried.lock().unwrap().push(address.to_owned());
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        match address {
            "ws://dead" => Err(JoinError::NotListening { address: address.into() }),
            "ws://silent" => {
                self.silent.lock().unwrap().push((in_tx, out_rx));
                Ok(SignalLink { outgoing: out_tx, incoming: in_rx })
            }
            "ws://closing" => {
                in_tx.send(LinkEvent::Closed { reason: "reset".into() }).unwrap();
                Ok(SignalLink { outgoing: out_tx, incoming: in_rx })
            }
            _ => self.alive.connect(address).await,
        }
    }
}

pub fn link_pair() -> (SignalLink, Server) {
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    (SignalLink { outgoing: out_tx, incoming: in_rx }, Server { from_client: out_rx, to_client: in_tx })
}

pub fn link() -> (Arc<ScriptedConnector>, Server) {
    let (link, server) = link_pair();
    (Arc::new(ScriptedConnector { link: Mutex::new(vec![link]), refuse_when_empty: false }), server)
}
