//! A school's side of discovery, inside a test's namespace: its own CA and a
//! certificate for its domain (made here with openssl), a real HTTPS server
//! for `/.well-known/estrade` (tests/discovery/serve.py), the domain resolving
//! inside the namespace (`/etc/netns/NS/hosts`), and more Janus instances
//! beside the first, each its own endpoint.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{root, scratch, LocalJanus};

/// The school's domain in these tests.
pub const DOMAIN: &str = "ecole.test";
/// A name that resolves to a host that accepts connections and never answers.
pub const SILENT_DOMAIN: &str = "muette.test";
const SILENT_PORT: u16 = 8445;

/// The school's web host: serving, until dropped.
#[derive(Debug)]
pub struct School {
    /// Where the served files (doc.json, status, requests.log) are.
    pub dir: PathBuf,
    /// The CA that signed the host's certificate (pass to `--ca-cert`).
    pub ca_cert: PathBuf,
    /// A CA nobody trusts, for the unknown-CA case.
    pub other_ca_cert: PathBuf,
    hosts_dir: PathBuf,
    server: Child,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`name`.crt/.key) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
    openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &crt, "-days", "2", "-subj", &format!("/CN=Estrade test CA {name}"),
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
}

impl School {
    /// Starts the school's host in `janus`'s namespace, serving `document`.
    pub fn start(janus: &LocalJanus, document: &str) -> Self {
        let dir = scratch("school");
        make_ca(&dir, "ca");
        make_ca(&dir, "other-ca");
        openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "host.key", "-out", "host.csr", "-subj", &format!("/CN={DOMAIN}")], &dir);
        std::fs::write(dir.join("host.ext"), format!("subjectAltName=DNS:{DOMAIN}\nextendedKeyUsage=serverAuth\n")).expect("write ext");
        openssl(&["x509", "-req", "-in", "host.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "host.crt", "-days", "2", "-extfile", "host.ext"], &dir);
        // `ip netns exec` bind-mounts this over /etc/hosts for what it runs.
        let hosts_dir = PathBuf::from("/etc/netns").join(&janus.netns);
        std::fs::create_dir_all(&hosts_dir).expect("mkdir /etc/netns/NS");
        std::fs::write(hosts_dir.join("hosts"), format!("127.0.0.1 localhost {DOMAIN} {SILENT_DOMAIN}\n")).expect("write hosts");
        std::fs::write(dir.join("doc.json"), document).expect("write doc");
        let server = janus
            .command(Path::new("/usr/bin/python3"))
            .arg(root().join("tests/discovery/serve.py"))
            .arg(&dir)
            .arg(dir.join("host.crt"))
            .arg(dir.join("host.key"))
            .args(["443", &SILENT_PORT.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (scripts/setup installs it)");
        let ready = Instant::now() + Duration::from_secs(10);
        while !dir.join("ready").exists() {
            assert!(Instant::now() < ready, "the school's HTTPS server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        School { ca_cert: dir.join("ca.crt"), other_ca_cert: dir.join("other-ca.crt"), dir, hosts_dir, server }
    }

    /// Serves `document` from now on.
    pub fn publish(&self, document: &str) {
        std::fs::write(self.dir.join("doc.json"), document).expect("write doc");
    }

    /// Answers with `status` from now on: "200", "404", "503 7" (Retry-After: 7)…
    pub fn answer(&self, status: &str) {
        std::fs::write(self.dir.join("status"), status).expect("write status");
    }

    /// How many requests the host has had.
    pub fn requests(&self) -> usize {
        std::fs::read_to_string(self.dir.join("requests.log")).map(|s| s.lines().count()).unwrap_or(0)
    }

    /// The link of class `room` at this school.
    pub fn link(room: u64) -> String {
        format!("https://{DOMAIN}/classe/{room}")
    }

    /// A link to a school whose host accepts connections and never answers.
    pub fn silent_link(room: u64) -> String {
        format!("https://{SILENT_DOMAIN}:{SILENT_PORT}/classe/{room}")
    }
}

impl Drop for School {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.hosts_dir);
    }
}

/// A further Janus in the same namespace, with its own WebSocket port.
#[derive(Debug)]
pub struct OtherJanus {
    /// Its WebSocket address.
    pub server: String,
    child: Option<Child>,
}

impl OtherJanus {
    /// Starts Janus with the test profile on `ws_port`, in `janus`'s namespace.
    pub fn start(janus: &LocalJanus, ws_port: u16) -> Self {
        let port = format!("ws_port = {ws_port}");
        let config = crate::test_profile_with(&format!("janus-{ws_port}"), &[("ws_port = 8188", &port)]);
        let log = config.join("janus.log");
        let child = janus
            .command(Path::new("janus"))
            .arg("-F")
            .arg(&config)
            .arg("-L")
            .arg(&log)
            .args(["-N", "-o"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("janus runs");
        let up = Instant::now() + Duration::from_secs(10);
        loop {
            let probe = Command::new("ip")
                .args(["netns", "exec", &janus.netns, "bash", "-c", &format!("exec 3<>/dev/tcp/127.0.0.1/{ws_port}")])
                .stderr(Stdio::null())
                .status()
                .expect("ip runs");
            if probe.success() {
                break;
            }
            assert!(Instant::now() < up, "the second Janus did not start (log: {})", log.display());
            std::thread::sleep(Duration::from_millis(50));
        }
        OtherJanus { server: format!("ws://127.0.0.1:{ws_port}"), child: Some(child) }
    }

    /// Kills it (by its PID), as a dead server.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OtherJanus {
    fn drop(&mut self) {
        self.kill();
    }
}
