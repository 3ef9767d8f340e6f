//! The signaling link to the server, as a pair of channels.
//!
//! A real link is a WebSocket (see `estrade-rtc`'s `ws` module, or any other
//! adapter); tests can hand the driver an in-memory pair.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::JoinError;

/// What arrives on the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// A text message from the server.
    Text(String),
    /// The link is closed; no more messages will come.
    Closed {
        /// Why, for the user and the log.
        reason: String,
    },
}

/// An open link: send text, receive [`LinkEvent`]s.
#[derive(Debug)]
pub struct SignalLink {
    /// Text to send to the server. Dropping it closes the link.
    pub outgoing: mpsc::UnboundedSender<String>,
    /// What the server sends.
    pub incoming: mpsc::UnboundedReceiver<LinkEvent>,
}

/// Opens links.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Connects to `address`. Fails with [`JoinError::Unreachable`] or
    /// [`JoinError::BadAddress`]; the caller bounds the time it may take.
    async fn connect(&self, address: &str) -> Result<SignalLink, JoinError>;
}
