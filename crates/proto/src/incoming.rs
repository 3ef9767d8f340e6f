use serde::Deserialize;
use serde_json::Value;

use crate::{Jsep, TransactionId};

/// The error object Janus puts in `{"janus":"error"}` replies.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JanusErrorBody {
    /// Janus core error code (e.g. 458 "no such session").
    pub code: i64,
    /// Janus's explanation.
    #[serde(default)]
    pub reason: String,
}

/// A message from Janus that could not be understood. Log it and carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not JSON at all, or not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// JSON, but not a shape of any message we know.
    #[error("unexpected {kind:?} message: {detail}")]
    BadShape {
        /// The `janus` field, if there was one.
        kind: Option<String>,
        /// What was wrong.
        detail: String,
    },
}

/// A message from Janus to the client.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// A request succeeded synchronously. `data` holds e.g. the new session or
    /// handle id; `plugin_data` holds a synchronous plugin reply.
    Success {
        /// The request's transaction.
        transaction: TransactionId,
        /// The handle that answered, for plugin replies.
        sender: Option<u64>,
        /// Core payload (`{"id": …}` for create and attach).
        data: Option<Value>,
        /// A synchronous plugin reply.
        plugin_data: Option<Value>,
    },
    /// A request failed in the Janus core.
    Error {
        /// The request's transaction, when Janus could read it.
        transaction: Option<TransactionId>,
        /// What went wrong.
        error: JanusErrorBody,
    },
    /// Janus received an asynchronous request; the answer comes as an event.
    Ack {
        /// The request's transaction.
        transaction: TransactionId,
    },
    /// A plugin event: a reply to a message (with its transaction) or an
    /// unsolicited notification (without).
    Event {
        /// The handle the event is for.
        sender: u64,
        /// The transaction it answers, if any.
        transaction: Option<TransactionId>,
        /// The plugin's `data` object.
        plugin_data: Value,
        /// An SDP from the plugin.
        jsep: Option<Jsep>,
    },
    /// The PeerConnection of a handle is up (ICE and DTLS done).
    WebrtcUp {
        /// The handle.
        sender: u64,
    },
    /// Janus started or stopped receiving a medium on a handle.
    Media {
        /// The handle.
        sender: u64,
        /// "audio" or "video".
        kind: String,
        /// Whether media is flowing now.
        receiving: bool,
    },
    /// Janus reports loss on a handle's PeerConnection.
    SlowLink {
        /// The handle.
        sender: u64,
        /// Whether the loss is on what Janus sends (uplink from Janus).
        uplink: bool,
        /// Lost packets in the last second.
        lost: u64,
    },
    /// The PeerConnection of a handle went away.
    HangUp {
        /// The handle.
        sender: u64,
        /// Why, in Janus's words.
        reason: String,
    },
    /// A handle was detached.
    Detached {
        /// The handle.
        sender: u64,
    },
    /// The session timed out on the server.
    Timeout {
        /// The session.
        session_id: u64,
    },
    /// A server-sent trickle candidate (ignored: Estrade does not trickle).
    Trickle {
        /// The handle.
        sender: u64,
    },
}

#[derive(Deserialize)]
struct Raw {
    janus: String,
    transaction: Option<String>,
    sender: Option<u64>,
    session_id: Option<u64>,
    data: Option<Value>,
    plugindata: Option<RawPluginData>,
    jsep: Option<Jsep>,
    error: Option<JanusErrorBody>,
    reason: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    receiving: Option<bool>,
    uplink: Option<bool>,
    lost: Option<u64>,
}

#[derive(Deserialize)]
struct RawPluginData {
    data: Value,
}

impl Incoming {
    /// Parses one WebSocket text message. Never panics.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ParseError::NotJson(e.to_string()))?;
        if !value.is_object() {
            return Err(ParseError::NotJson("top level is not an object".into()));
        }
        let kind = value.get("janus").and_then(Value::as_str).map(str::to_owned);
        let bad = |detail: String| ParseError::BadShape { kind: kind.clone(), detail };
        let raw: Raw = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let tx = raw.transaction.map(TransactionId);
        let need_tx = |tx: Option<TransactionId>| tx.ok_or_else(|| bad("missing transaction".into()));
        let need_sender = || raw.sender.ok_or_else(|| bad("missing sender".into()));
        Ok(match raw.janus.as_str() {
            "success" => Incoming::Success {
                transaction: need_tx(tx)?,
                sender: raw.sender,
                data: raw.data,
                plugin_data: raw.plugindata.map(|p| p.data),
            },
            "error" => Incoming::Error {
                transaction: tx,
                error: raw.error.ok_or_else(|| bad("error without an error object".into()))?,
            },
            "ack" => Incoming::Ack { transaction: need_tx(tx)? },
            "event" => Incoming::Event {
                sender: need_sender()?,
                transaction: tx,
                plugin_data: raw.plugindata.ok_or_else(|| bad("event without plugindata".into()))?.data,
                jsep: raw.jsep,
            },
            "webrtcup" => Incoming::WebrtcUp { sender: need_sender()? },
            "media" => Incoming::Media {
                sender: need_sender()?,
                kind: raw.kind.unwrap_or_default(),
                receiving: raw.receiving.unwrap_or(false),
            },
            "slowlink" => Incoming::SlowLink {
                sender: need_sender()?,
                uplink: raw.uplink.unwrap_or(false),
                lost: raw.lost.unwrap_or(0),
            },
            "hangup" => Incoming::HangUp { sender: need_sender()?, reason: raw.reason.unwrap_or_default() },
            "detached" => Incoming::Detached { sender: need_sender()? },
            "timeout" => Incoming::Timeout {
                session_id: raw.session_id.ok_or_else(|| bad("timeout without session_id".into()))?,
            },
            "trickle" => Incoming::Trickle { sender: need_sender()? },
            other => return Err(bad(format!("unknown message type {other:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_core_replies() {
        let m = Incoming::parse(r#"{"janus":"success","transaction":"a","data":{"id":77}}"#).expect("success");
        assert!(matches!(m, Incoming::Success { data: Some(ref d), .. } if d["id"] == 77));
        let m = Incoming::parse(r#"{"janus":"error","transaction":"b","error":{"code":458,"reason":"No such session"}}"#)
            .expect("error");
        assert!(matches!(m, Incoming::Error { error: JanusErrorBody { code: 458, .. }, .. }));
        let m = Incoming::parse(
            r#"{"janus":"event","session_id":1,"sender":5,"transaction":"c","plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined"}},"jsep":{"type":"answer","sdp":"v=0"}}"#,
        )
        .expect("event");
        assert!(matches!(m, Incoming::Event { sender: 5, jsep: Some(_), .. }));
        assert_eq!(
            Incoming::parse(r#"{"janus":"hangup","session_id":1,"sender":5,"reason":"DTLS alert"}"#),
            Ok(Incoming::HangUp { sender: 5, reason: "DTLS alert".into() })
        );
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for text in [
            "",
            "null",
            "[1,2]",
            "{}",
            r#"{"janus":"frobnicate"}"#,
            r#"{"janus":"event","sender":1}"#,
            r#"{"janus":"success"}"#,
            r#"{"janus":"event","sender":"x","plugindata":{"data":{}}}"#,
            r#"{"janus":7}"#,
        ] {
            assert!(Incoming::parse(text).is_err(), "{text:?} should not parse");
        }
    }
}
