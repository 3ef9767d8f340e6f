//! The WebSocket link to Janus: `ws://` for a local server, `wss://` (TLS,
//! always verified, against the [`TlsTrust`] given) for a real one.

use async_trait::async_trait;
use estrade_core::link::{Connector, LinkEvent, SignalLink};
use estrade_core::JoinError;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::Connector as TlsConnector;

use crate::TlsTrust;

/// Connects to Janus over WebSocket with the `janus-protocol` subprotocol.
#[derive(Debug, Default, Clone)]
pub struct WsConnector {
    trust: TlsTrust,
}

impl WsConnector {
    /// A connector that verifies `wss://` servers against `trust`.
    pub fn new(trust: TlsTrust) -> Self {
        Self { trust }
    }
}

#[async_trait]
impl Connector for WsConnector {
    async fn connect(&self, address: &str) -> Result<SignalLink, JoinError> {
        let bad = |reason: String| JoinError::BadAddress { address: address.to_owned(), reason };
        if !(address.starts_with("ws://") || address.starts_with("wss://")) {
            return Err(bad("it must start with ws:// or wss://".into()));
        }
        let tls = address.starts_with("wss://").then(|| TlsConnector::Rustls(self.trust.client_config()));
        let mut request = address.into_client_request().map_err(|e| bad(e.to_string()))?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(estrade_proto::WS_SUBPROTOCOL));
        let (stream, _response) = tokio_tungstenite::connect_async_tls_with_config(request, None, false, tls)
            .await
            .map_err(|e| match &e {
                tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                    JoinError::NotListening { address: address.to_owned() }
                }
                _ => JoinError::Unreachable { address: address.to_owned(), reason: e.to_string() },
            })?;
        let (mut sink, mut source) = stream.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    outgoing = out_rx.recv() => match outgoing {
                        Some(text) => {
                            if let Err(e) = sink.send(Message::text(text)).await {
                                let _ = in_tx.send(LinkEvent::Closed { reason: format!("send failed: {e}") });
                                return;
                            }
                        }
                        None => {
                            // The driver is done with the link: close it politely.
                            let _ = sink.close().await;
                            return;
                        }
                    },
                    incoming = source.next() => match incoming {
                        Some(Ok(Message::Text(text))) => {
                            if in_tx.send(LinkEvent::Text(text.to_string())).is_err() {
                                return;
                            }
                        }
                        Some(Ok(Message::Close(frame))) => {
                            let reason = frame
                                .map(|f| format!("server closed the connection ({}: {})", f.code, f.reason))
                                .unwrap_or_else(|| "server closed the connection".into());
                            let _ = in_tx.send(LinkEvent::Closed { reason });
                            return;
                        }
                        Some(Ok(_)) => {} // pings are answered by tungstenite; binary is not Janus
                        Some(Err(e)) => {
                            let _ = in_tx.send(LinkEvent::Closed { reason: format!("connection error: {e}") });
                            return;
                        }
                        None => {
                            let _ = in_tx.send(LinkEvent::Closed { reason: "server closed the connection".into() });
                            return;
                        }
                    },
                }
            }
        });
        Ok(SignalLink { outgoing: out_tx, incoming: in_rx })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_addresses_are_refused_before_any_io() {
        for address in ["http://example", "classe.example.fr", ""] {
            let err = WsConnector::default().connect(address).await.expect_err("not a ws address");
            assert!(matches!(err, JoinError::BadAddress { .. }), "{address}: {err}");
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_and_named() {
        // Bind then drop a listener to get a loopback port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let address = format!("ws://127.0.0.1:{port}/");
        let err = WsConnector::default().connect(&address).await.expect_err("nothing listens");
        assert!(matches!(&err, JoinError::NotListening { address: a } if *a == address), "{err}");
        assert!(err.to_string().contains(&address));
    }
}
