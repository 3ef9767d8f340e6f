//! Estrade's network adapters, the real I/O behind `estrade-core`'s pure logic:
//! - [`ws`]: the WebSocket link to Janus (`wss://`, or `ws://` on loopback);
//! - [`discovery`]: the school's discovery document over HTTPS, kept on disk;
//! - [`diagnose`]: "test my connection", step by step, in plain sentences;
//! - [`tls`]: the trust both use: the system's roots, plus a CA the user adds
//!   (`--ca-cert`). Certificates are always verified; nothing turns that off.

pub mod diagnose;
pub mod discovery;
pub mod tls;
pub mod ws;

pub use discovery::{ClassServers, DiscoveryClient, Resolved, Source};
pub use tls::{TlsTrust, TrustError};
pub use ws::WsConnector;
