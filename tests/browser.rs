//! Chromium running Janus's own client (janus.js), as an independent WebRTC
//! peer in the test namespace: the page is `tests/browser/janus-peer.html`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::{root, scratch, LocalJanus};

/// Starts headless Chromium in the namespace on the peer page with `query`
/// (see the page for the modes). Fake camera and microphone are allowed.
pub fn chromium(janus: &LocalJanus, query: &str) -> Child {
    let profile = scratch("chromium-profile");
    let page = root().join("tests/browser/janus-peer.html");
    let url = format!("file://{}?server={}&room=1234&{query}", page.display(), janus.server);
    janus
        .command(std::path::Path::new("chromium"))
        .args([
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            // Janus ignores mDNS candidates; let Chromium offer its real (namespace) address.
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--enable-logging=stderr", "--log-level=0", "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts (scripts/setup installs it)")
}

/// Reads Chromium's log until the page reports a result of `mode`.
pub fn chromium_result(child: &mut Child, mode: &str) -> serde_json::Value {
    let stderr = child.stderr.take().expect("piped");
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let Some(json) = line.split("ESTRADE_RESULT ").nth(1) else { continue };
        let json = json.split("\", source:").next().unwrap_or_default().replace("\\\"", "\"");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("bad result {json}: {e}"));
        assert!(value.get("error").is_none(), "the janus.js peer failed: {value}");
        if value["mode"] == mode {
            return value;
        }
    }
    panic!("Chromium ended without a {mode} result");
}

/// Stops Chromium by its PID (SIGTERM: it takes its child processes down).
pub fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}
