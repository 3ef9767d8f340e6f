//! Harness for end-to-end scenarios: a real Janus in a private network
//! namespace (started by `scripts/local-janus`), and real `estrade-cli`
//! processes inside that namespace.
//!
//! Needs root (network namespaces). `scripts/test` builds `estrade-cli` first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod browser;
pub mod cost;
pub mod proxy;
pub mod pulse;
pub mod school;
pub mod xvfb;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the repository").to_owned()
}

/// A binary of the workspace: `$env_var` if set, else the debug build of `name`.
fn built_binary(env_var: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env_var) {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    let path = target.join("debug").join(name);
    assert!(path.exists(), "{} is missing: build it first (scripts/test does)", path.display());
    path
}

/// The `estrade-cli` binary under test.
pub fn cli_binary() -> PathBuf {
    built_binary("ESTRADE_CLI", "estrade-cli")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A copy of the Janus test profile with `changes` (text, replacement) made
/// in its files: another WebSocket port, a session reclaim timeout…
pub fn test_profile_with(label: &str, changes: &[(&str, &str)]) -> PathBuf {
    let config = scratch(label);
    let mut made = vec![false; changes.len()];
    for entry in std::fs::read_dir(root().join("deploy/janus/test")).expect("test profile") {
        let entry = entry.expect("entry");
        let mut text = std::fs::read_to_string(entry.path()).expect("read config");
        for (i, (from, to)) in changes.iter().enumerate() {
            made[i] |= text.contains(from);
            text = text.replace(from, to);
        }
        std::fs::write(config.join(entry.file_name()), text).expect("write config");
    }
    // A change that finds nothing to change would test the wrong server.
    for (i, (from, _)) in changes.iter().enumerate() {
        assert!(made[i], "the test profile has no {from:?} any more");
    }
    config
}

/// The uid of `nobody`, for clients run unprivileged.
pub const NOBODY: u32 = 65534;

/// A running local Janus, stopped (by PID) and its namespace removed on drop.
#[derive(Debug)]
pub struct LocalJanus {
    /// The name given to scripts/local-janus.
    pub name: String,
    /// The namespace clients must run in.
    pub netns: String,
    /// The WebSocket address inside the namespace.
    pub server: String,
    /// The only address ICE may use.
    pub ice_addr: String,
    /// Janus's log file.
    pub log: PathBuf,
    /// Janus's process id.
    /// Janus's process (a new one after [`LocalJanus::restart_server`]).
    janus_pid: AtomicU32,
}

impl LocalJanus {
    /// Starts Janus with the test profile in a namespace of its own.
    pub fn start() -> Self {
        Self::start_with(&root().join("deploy/janus/test"))
    }

    /// Starts Janus with the configuration folder `config`.
    pub fn start_with(config: &Path) -> Self {
        let name = format!("t{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let out = Command::new(root().join("scripts/local-janus"))
            .args(["start", &name])
            .arg(config)
            .output()
            .expect("scripts/local-janus runs");
        assert!(out.status.success(), "local Janus failed to start:\n{}", String::from_utf8_lossy(&out.stderr));
        let env = String::from_utf8_lossy(&out.stdout).to_string();
        let var = |key: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("local-janus did not print {key}: {env}"))
                .to_owned()
        };
        let janus = LocalJanus {
            name: name.clone(),
            netns: var("ESTRADE_NETNS"),
            server: var("ESTRADE_SERVER"),
            ice_addr: var("ESTRADE_ICE_ADDR"),
            log: PathBuf::from(var("ESTRADE_JANUS_LOG")),
            janus_pid: AtomicU32::new(var("ESTRADE_JANUS_PID").parse().expect("a process id")),
        };
        janus.assert_sealed();
        janus
    }

    /// Guard: the namespace must have no route out, so no ICE check can leave it.
    fn assert_sealed(&self) {
        let out = Command::new("ip").args(["-n", &self.netns, "route", "show", "table", "all"]).output().expect("ip runs");
        let routes = String::from_utf8_lossy(&out.stdout);
        for line in routes.lines() {
            assert!(!line.starts_with("default"), "namespace {} has a default route: {line}", self.netns);
        }
        let out = Command::new("ip").args(["-n", &self.netns, "-o", "addr", "show"]).output().expect("ip runs");
        for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(" inet ")) {
            assert!(
                line.contains(" 127.0.0.1/") || line.contains(&format!(" {}/", self.ice_addr)),
                "unexpected address in the test namespace: {line}"
            );
        }
    }

    /// A `Command` that runs `program` inside the namespace.
    pub fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns]).arg(program);
        c
    }

    /// Runs a shell command inside the namespace (for impairments), asserting success.
    pub fn sh(&self, script: &str) {
        let status = Command::new("ip").args(["netns", "exec", &self.netns, "sh", "-c", script]).status().expect("ip runs");
        assert!(status.success(), "in {}: {script}", self.netns);
    }

    /// Kills Janus and starts it again in the same namespace, with the same
    /// configuration: every session is gone, as after a server restart.
    /// Returns once the new Janus accepts WebSocket connections.
    pub fn restart_server(&self) {
        let out = Command::new(root().join("scripts/local-janus")).args(["restart", &self.name]).output().expect("scripts/local-janus runs");
        assert!(out.status.success(), "Janus did not restart:\n{}", String::from_utf8_lossy(&out.stderr));
        let env = String::from_utf8_lossy(&out.stdout);
        let pid = env.lines().find_map(|l| l.strip_prefix("ESTRADE_JANUS_PID=")).and_then(|p| p.parse().ok()).expect("the new Janus's PID");
        self.janus_pid.store(pid, Ordering::SeqCst);
    }

    /// Stops Janus now, by its PID (as a server crash or shutdown would look
    /// to clients); the namespace and everything else in it stay.
    pub fn stop_server(&self) {
        let pid = self.janus_pid.load(Ordering::SeqCst).to_string();
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
        let gone = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < gone {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "Janus ({pid}) is still running");
    }

    /// Starts an `estrade-cli join` in the namespace with the usual flags plus `extra`.
    pub fn join(&self, name: &str, room: u64, extra: &[&str]) -> Client {
        self.join_via(&self.server, name, room, extra)
    }

    /// Like [`LocalJanus::join`], but as the unprivileged user `nobody` (uid
    /// [`NOBODY`]), so that iptables `owner` rules can single out this client's
    /// packets (or everyone else's). A `--record` folder must be writable by it.
    pub fn join_as_nobody(&self, name: &str, room: u64, extra: &[&str]) -> Client {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
        cmd.arg(cli_binary());
        cmd.args(["join", "--server", &self.server, "--room", &room.to_string(), "--name", name, "--ice-addr", &self.ice_addr]);
        cmd.args(extra);
        Client::spawn(name, cmd)
    }

    /// Like [`LocalJanus::join`], with these environment variables (a PulseAudio server…).
    pub fn join_with_env(&self, name: &str, room: u64, extra: &[&str], env: &[(&'static str, String)]) -> Client {
        let mut cmd = self.command(&cli_binary());
        cmd.args(["join", "--server", &self.server, "--room", &room.to_string(), "--name", name, "--ice-addr", &self.ice_addr]);
        cmd.args(extra);
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        Client::spawn(name, cmd)
    }

    /// Like [`LocalJanus::join`], but connecting to `server` (a proxy, a dead port…).
    pub fn join_via(&self, server: &str, name: &str, room: u64, extra: &[&str]) -> Client {
        let mut cmd = self.command(&cli_binary());
        cmd.args(["join", "--server", server, "--room", &room.to_string(), "--name", name, "--ice-addr", &self.ice_addr]);
        cmd.args(extra);
        Client::spawn(name, cmd)
    }
}

impl Drop for LocalJanus {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/local-janus")).args(["stop", &self.name]).status();
    }
}

/// A running `estrade-cli`, its stdout collected as JSON lines.
#[derive(Debug)]
pub struct Client {
    /// Its display name.
    pub name: String,
    child: Option<Child>,
    started: Instant,
}

/// What a finished `estrade-cli` printed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Display name.
    pub name: String,
    /// Exit status.
    pub status: ExitStatus,
    /// Every JSON line of stdout.
    pub lines: Vec<Value>,
    /// Stderr text.
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

impl Client {
    /// Starts any prepared command as a client.
    pub fn spawn_command(name: &str, cmd: Command) -> Self {
        Self::spawn(name, cmd)
    }

    fn spawn(name: &str, mut cmd: Command) -> Self {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(Stdio::null());
        let child = cmd.spawn().expect("estrade-cli starts");
        Client { name: name.to_owned(), child: Some(child), started: Instant::now() }
    }

    /// The process id (inside the namespace, `ip netns exec` has exec'd the program).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Waits for exit, at most `limit` from now (then kills it by PID and fails the test).
    pub fn wait(mut self, limit: Duration) -> Outcome {
        let mut child = self.child.take().expect("waited once");
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let out_reader = std::thread::spawn(move || {
            BufReader::new(stdout).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect::<Vec<Value>>()
        });
        let err_reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let waiting_since = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait works") {
                break status;
            }
            if waiting_since.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = err_reader.join().unwrap_or_default();
                panic!("{} did not finish within {limit:?}; stderr:\n{stderr}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Outcome {
            name: self.name.clone(),
            status,
            lines: out_reader.join().unwrap_or_default(),
            stderr: err_reader.join().unwrap_or_default(),
            elapsed: self.started.elapsed(),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Outcome {
    /// The first line with `"event": kind`.
    pub fn event(&self, kind: &str) -> Option<&Value> {
        self.lines.iter().find(|l| l["event"] == kind)
    }

    /// Events of `kind` about the participant named `who`.
    pub fn events_about(&self, kind: &str, who: &str) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["event"] == kind && l["participant"]["name"] == who).collect()
    }

    /// The totals line for the remote participant named `who`.
    pub fn totals(&self, who: &str) -> &Value {
        self.lines
            .iter()
            .find(|l| l["totals"] == true && l["participant"]["name"] == who)
            .unwrap_or_else(|| panic!("{} printed no totals for {who}: {:#?}\nstderr: {}", self.name, self.lines, self.stderr))
    }

    /// Our own `joined` time (ms since the epoch).
    pub fn joined_at(&self) -> u64 {
        self.event("joined").and_then(|e| e["t_ms"].as_u64()).unwrap_or_else(|| panic!("{} never joined: {}", self.name, self.stderr))
    }

    /// Our own `left` time (ms since the epoch).
    pub fn left_at(&self) -> u64 {
        self.event("left").and_then(|e| e["t_ms"].as_u64()).unwrap_or_else(|| panic!("{} never left cleanly", self.name))
    }
}

/// One line of a `.frames.csv` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLine {
    /// Arrival, ms since the epoch.
    pub t_ms: u64,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// The number drawn in the pattern, if readable.
    pub number: Option<u32>,
}

/// Reads a `.frames.csv` written by `estrade-cli --record`.
pub fn read_frames(path: &Path) -> Vec<FrameLine> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 4, "bad frame line {line:?}");
            FrameLine {
                t_ms: f[0].parse().expect("time"),
                width: f[1].parse().expect("width"),
                height: f[2].parse().expect("height"),
                number: if f[3].is_empty() { None } else { Some(f[3].parse().expect("number")) },
            }
        })
        .collect()
}

/// Reads a mono 16-bit WAV written by `estrade-cli --record`.
pub fn read_wav(path: &Path) -> (u32, Vec<i16>) {
    let reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = reader.spec().sample_rate;
    (rate, reader.into_samples::<i16>().map(|s| s.expect("sample")).collect())
}

/// A fresh scratch folder under the system temp dir.
pub fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("estrade-{label}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The desktop app binary under test (`estrade`, from src-tauri).
pub fn app_binary() -> PathBuf {
    built_binary("ESTRADE_APP", "estrade")
}

/// What `tests/e2e/app.mjs` reported.
#[derive(Debug)]
pub struct AppRun {
    /// Exit status of the driver script.
    pub status: ExitStatus,
    /// Its results line.
    pub results: Value,
    /// Its stderr (tauri-driver and app logs go to files in its work dir).
    pub stderr: String,
}

impl LocalJanus {
    /// Runs the real app under Xvfb, a private D-Bus and tauri-driver, inside
    /// this namespace, driven by `tests/e2e/app.mjs` in `mode`, to the end.
    pub fn drive_app(&self, mode: &str, env: &[(&str, &str)], limit: Duration) -> AppRun {
        AppRun::finish(self.spawn_app(mode, env), limit)
    }

    /// Starts [`LocalJanus::drive_app`]'s run without waiting for it.
    pub fn spawn_app(&self, mode: &str, env: &[(&str, &str)]) -> Client {
        let mut cmd = self.command(&root().join("tests/e2e/run-app.sh"));
        cmd.env("ESTRADE_APP", app_binary()).env("JANUS_URL", &self.server).env("E2E_MODE", mode);
        // For a CLI the run starts itself (a pupil sharing a screen).
        cmd.env("E2E_CLI", cli_binary()).env("E2E_ICE_ADDR", &self.ice_addr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Client::spawn(&format!("app ({mode})"), cmd)
    }
}

impl AppRun {
    /// Waits for a run started by [`LocalJanus::spawn_app`].
    pub fn finish(client: Client, limit: Duration) -> Self {
        let out = client.wait(limit);
        let results = out.lines.last().cloned().unwrap_or(Value::Null);
        AppRun { status: out.status, results, stderr: out.stderr }
    }
}
