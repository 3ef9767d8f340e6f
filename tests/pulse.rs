//! A private PulseAudio server with virtual devices, for tests with real audio.
//!
//! Each null sink is a virtual speaker; its `.monitor` source hears what is
//! played into it, so it doubles as a virtual microphone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{root, scratch};

/// A running PulseAudio, stopped by PID on drop.
#[derive(Debug)]
pub struct LocalPulse {
    /// Its runtime folder (socket, cookie, pid file).
    pub dir: PathBuf,
    child: Child,
}

impl LocalPulse {
    /// Starts a server with one null sink (48 kHz mono) per name in `sinks`.
    pub fn start(sinks: &[&str]) -> Self {
        let dir = scratch("pulse");
        let mut cmd = Command::new("pulseaudio");
        cmd.args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes", "--log-target=stderr"]);
        cmd.args(["-L", "module-native-protocol-unix auth-anonymous=1"]);
        for sink in sinks {
            cmd.args(["-L", &format!("module-null-sink sink_name={sink} rate=48000 channels=1 sink_properties=device.description={sink}")]);
        }
        let log = std::fs::File::create(dir.join("pulseaudio.log")).expect("log file");
        cmd.env("XDG_RUNTIME_DIR", &dir).env("HOME", &dir).stdout(Stdio::null()).stderr(log);
        let child = cmd.spawn().expect("pulseaudio starts (scripts/setup installs it)");
        let pulse = LocalPulse { dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pulse.command("pactl").arg("info").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
            assert!(Instant::now() < deadline, "PulseAudio did not start: {}", pulse.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        pulse
    }

    /// The variables a client needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("PULSE_SERVER", format!("unix:{}", self.dir.join("pulse/native").display())), ("XDG_RUNTIME_DIR", self.dir.display().to_string())]
    }

    /// A command (pactl, paplay, parecord…) talking to this server.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env());
        cmd
    }

    /// Runs pactl, asserting success; returns what it printed.
    pub fn pactl(&self, args: &[&str]) -> String {
        let out = self.command("pactl").args(args).output().expect("pactl runs");
        assert!(out.status.success(), "pactl {args:?} failed: {}", self.log());
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Plugs in a virtual device (a null sink and its monitor); returns its module index.
    pub fn plug(&self, sink: &str) -> String {
        self.pactl(&["load-module", "module-null-sink", &format!("sink_name={sink}"), "rate=44100", "channels=2", &format!("sink_properties=device.description={sink}")])
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pulseaudio.log")).unwrap_or_default()
    }

    /// Records `source` into a 48 kHz mono WAV until the recorder is stopped.
    pub fn record(&self, source: &str, into: &Path) -> Recording {
        let child = self
            .command("parecord")
            .args(["-d", source, "--rate=48000", "--channels=1", "--format=s16le", "--file-format=wav"])
            .arg(into)
            .spawn()
            .expect("parecord starts");
        Recording { child }
    }

    /// Plays a WAV file into `sink`, waiting until it has been played.
    pub fn play(&self, sink: &str, file: &Path) {
        let status = self.command("paplay").args(["-d", sink]).arg(file).status().expect("paplay runs");
        assert!(status.success(), "paplay failed: {}", self.log());
    }
}

impl Drop for LocalPulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `parecord`.
#[derive(Debug)]
pub struct Recording {
    child: Child,
}

impl Recording {
    /// Stops recording (SIGINT, so the WAV header is written) and waits.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// French speech from espeak-ng, as a WAV file (22 050 Hz mono).
pub fn french_speech(text: &str, voice: &str, into: &Path) {
    let status = Command::new("espeak-ng").args(["-v", voice, "-w"]).arg(into).arg(text).status().expect("espeak-ng runs");
    assert!(status.success(), "espeak-ng failed");
}

/// The Python of `scripts/setup` (with pystoi, numpy and scipy).
pub fn python() -> PathBuf {
    std::env::var("ESTRADE_PYTHON").map(PathBuf::from).unwrap_or_else(|_| root().join("target/python/bin/python"))
}

/// Delay and intelligibility of `heard` against `said` (tests/audio/compare.py).
pub fn compare_speech(said: &Path, heard: &Path) -> Value {
    let out = Command::new(python()).arg(root().join("tests/audio/compare.py")).arg(said).arg(heard).output().expect("python runs (scripts/setup installs it)");
    assert!(out.status.success(), "compare.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("compare.py prints JSON")
}
