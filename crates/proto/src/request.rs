use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A transaction id, unique per session, that Janus echoes in its replies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionId(pub String);

impl std::fmt::Display for TransactionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether an SDP is an offer or an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsepType {
    /// An SDP offer.
    Offer,
    /// An SDP answer.
    Answer,
}

/// A session description carried next to a plugin message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jsep {
    /// Offer or answer.
    #[serde(rename = "type")]
    pub kind: JsepType,
    /// The SDP text.
    pub sdp: String,
}

/// A request from the client to Janus. Serialise with [`Request::to_json`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "janus", rename_all = "lowercase")]
pub enum Request {
    /// Create a new session.
    Create {
        /// Echoed in the reply.
        transaction: TransactionId,
    },
    /// Attach a plugin handle to the session.
    Attach {
        /// Echoed in the reply.
        transaction: TransactionId,
        /// The session.
        session_id: u64,
        /// The plugin package name, e.g. [`crate::VIDEOROOM_PLUGIN`].
        plugin: String,
    },
    /// Send a message to the plugin behind a handle.
    Message {
        /// Echoed in the ack and in the plugin's event.
        transaction: TransactionId,
        /// The session.
        session_id: u64,
        /// The handle.
        handle_id: u64,
        /// The plugin request.
        body: Value,
        /// An SDP offer or answer, if the request carries one.
        #[serde(skip_serializing_if = "Option::is_none")]
        jsep: Option<Jsep>,
    },
    /// Keep the session alive (Janus drops idle sessions after `session_timeout`).
    Keepalive {
        /// Echoed in the ack.
        transaction: TransactionId,
        /// The session.
        session_id: u64,
    },
    /// Take back a session whose transport went away (a dropped WebSocket),
    /// with its handles and media, on a new connection. Janus allows it for
    /// `reclaim_session_timeout` seconds after the drop.
    Claim {
        /// Echoed in the reply.
        transaction: TransactionId,
        /// The session.
        session_id: u64,
    },
    /// Detach a handle.
    Detach {
        /// Echoed in the reply.
        transaction: TransactionId,
        /// The session.
        session_id: u64,
        /// The handle.
        handle_id: u64,
    },
    /// Destroy the session and everything attached to it.
    Destroy {
        /// Echoed in the reply.
        transaction: TransactionId,
        /// The session.
        session_id: u64,
    },
}

impl Request {
    /// The transaction this request carries.
    pub fn transaction(&self) -> &TransactionId {
        match self {
            Request::Create { transaction }
            | Request::Attach { transaction, .. }
            | Request::Message { transaction, .. }
            | Request::Keepalive { transaction, .. }
            | Request::Claim { transaction, .. }
            | Request::Detach { transaction, .. }
            | Request::Destroy { transaction, .. } => transaction,
        }
    }

    /// The JSON text to send.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("requests are plain data and always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_serialises_as_janus_expects() {
        let r = Request::Message {
            transaction: TransactionId("t1".into()),
            session_id: 1,
            handle_id: 2,
            body: serde_json::json!({"request": "join"}),
            jsep: Some(Jsep { kind: JsepType::Offer, sdp: "v=0".into() }),
        };
        let v: Value = serde_json::from_str(&r.to_json()).expect("valid json");
        assert_eq!(v["janus"], "message");
        assert_eq!(v["jsep"]["type"], "offer");
        assert_eq!(v["handle_id"], 2);
        let k = Request::Keepalive { transaction: TransactionId("t2".into()), session_id: 9 }.to_json();
        assert!(k.contains(r#""janus":"keepalive""#), "{k}");
    }
}
