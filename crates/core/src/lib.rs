//! The classroom model and the async driver that runs a class session.
//!
//! `core` knows Janus only through `signaling` and `proto`, and knows the
//! network and WebRTC only through the traits in [`link`] and [`peer`]: the
//! desktop app and `estrade-cli` plug real adapters in, tests plug in fakes.
//! It never depends on Tauri or on a device.

#![warn(missing_docs)]

pub mod backoff;
pub mod discovery;
pub mod error;
pub mod invite;
pub mod link;
pub mod model;
pub mod peer;
mod session;

pub use error::{JoinError, ShareError, UserMessage};
pub use invite::{ClassInvite, ClassServer, InviteError};
pub use model::{ClassEvent, JoinOptions, MediaKind, Participant, ParticipantId, ReconnectLevel, VideoFeed};
pub use session::{join, ClassHandle};
