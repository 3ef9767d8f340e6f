//! A WebSocket proxy between a client and Janus that slips malformed and
//! unexpected messages in among the real ones. It runs as a separate process
//! inside the test namespace (the test binary re-executes itself).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// Messages no server should send. Each must be survived.
pub fn garbage() -> Vec<String> {
    vec![
        "this is not JSON".into(),
        "[]".into(),
        "{}".into(),
        r#"{"janus":"event"}"#.into(),
        r#"{"janus":"success","transaction":"nobody-asked-for-this"}"#.into(),
        r#"{"janus":"frobnicate","session_id":1}"#.into(),
        r#"{"janus":"webrtcup","sender":1e400}"#.into(),
        r#"{"janus":"hangup","sender":424242,"reason":"not your handle"}"#.into(),
        r#"{"janus":"error","error":{"code":"NaN"}}"#.into(),
        format!(r#"{{"janus":"event","sender":1,"plugindata":{{"data":{{"videoroom":"{}"}}}}}}"#, "x".repeat(10_000)),
    ]
}

/// A corrupted copy of a real unsolicited event: right handle, nonsense data.
fn corrupted(event: &Value) -> Option<String> {
    if event["janus"] != "event" || event.get("transaction").is_some() {
        return None;
    }
    let mut copy = event.clone();
    copy["plugindata"]["data"] = json!({
        "videoroom": "event",
        "publishers": [{"id": "not-a-number"}, {"display": 5}, 17],
        "leaving": {"who": "nobody"},
    });
    Some(copy.to_string())
}

/// Accepts one client on `listen` and relays it to `upstream`, injecting garbage.
#[allow(clippy::result_large_err)] // the handshake callback signature is tungstenite's
pub async fn run(listen: &str, upstream: &str) {
    let listener = TcpListener::bind(listen).await.expect("proxy binds");
    println!("listening");
    let (socket, _) = listener.accept().await.expect("a client connects");
    let client = tokio_tungstenite::accept_hdr_async(socket, |_req: &Request, mut resp: Response| {
        resp.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("janus-protocol"));
        Ok(resp)
    })
    .await
    .expect("client handshake");
    let mut request = upstream.into_client_request().expect("upstream address");
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("janus-protocol"));
    let (server, _) = tokio_tungstenite::connect_async(request).await.expect("Janus is up");
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    let junk = garbage();
    let mut next_junk = 0usize;
    loop {
        tokio::select! {
            m = from_client.next() => match m {
                Some(Ok(m)) => { if to_server.send(m).await.is_err() { return } }
                _ => return,
            },
            m = from_server.next() => match m {
                Some(Ok(Message::Text(text))) => {
                    // Garbage before every real message, then the real one, then a
                    // corrupted twin of unsolicited events.
                    let _ = to_client.send(Message::text(junk[next_junk % junk.len()].clone())).await;
                    next_junk += 1;
                    let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if to_client.send(Message::Text(text)).await.is_err() { return }
                    if let Some(bad) = corrupted(&parsed) {
                        let _ = to_client.send(Message::text(bad)).await;
                    }
                }
                Some(Ok(m)) => { if to_client.send(m).await.is_err() { return } }
                _ => return,
            },
        }
    }
}
