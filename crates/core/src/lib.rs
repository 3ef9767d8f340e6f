//! The classroom model, the class machine (sans I/O) and the async driver that runs it.
//!
//! `core` knows Janus only through `signaling` and `proto`, and knows the
//! network and WebRTC only through the traits in [`link`] and [`peer`]: the
//! desktop app and `estrade-cli` plug real adapters in, tests plug in fakes.
//! It never depends on Tauri or on a device.

#![warn(missing_docs)]

pub mod backoff;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod invite;
pub mod link;
pub mod model;
pub mod peer;
mod session;

pub use error::{JoinError, ShareError, UserMessage};
pub use invite::{ClassInvite, ClassServer, InviteError};
pub use engine::ConnectionState;
pub use model::{ClassEvent, Disconnect, JoinOptions, MediaKind, Participant, ParticipantId, ReconnectLevel, VideoFeed, DEFAULT_GIVE_UP_AFTER};
pub use session::{join, ClassHandle};
