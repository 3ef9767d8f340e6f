//! Wire types of the Janus JSON API, as Estrade speaks it over WebSocket.
//!
//! No I/O happens here. Outgoing requests are built with [`Request`];
//! everything that arrives is parsed with [`Incoming::parse`], which never
//! panics: a message it cannot understand becomes a [`ParseError`] that the
//! caller logs and survives.
//!
//! Reference: the opening comments of `janus.c`, `janus_videoroom.c` and
//! `janus_textroom.c` in Janus 1.1.

#![warn(missing_docs)]

mod incoming;
mod request;
pub mod videoroom;

pub use incoming::{Incoming, JanusErrorBody, ParseError};
pub use request::{Jsep, JsepType, Request, TransactionId};

/// The WebSocket subprotocol Janus requires.
pub const WS_SUBPROTOCOL: &str = "janus-protocol";
/// The VideoRoom plugin's package name.
pub const VIDEOROOM_PLUGIN: &str = "janus.plugin.videoroom";
