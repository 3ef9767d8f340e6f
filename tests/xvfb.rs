//! An X server (Xvfb) inside a test's namespace, for screen sharing.

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::LocalJanus;

/// An X server inside the test's namespace, stopped by PID on drop.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    /// Its DISPLAY, e.g. ":123".
    pub display: String,
}

impl Xvfb {
    /// Starts a `width`×`height` screen.
    pub fn start(janus: &LocalJanus, width: u32, height: u32) -> Self {
        // A display of our own: tests in this process (the counter) and in
        // other runs (the lock files) may be starting X servers too.
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let mut n = 500 + (std::process::id() % 400) * 8 + STARTED.fetch_add(1, Ordering::SeqCst) % 8;
        while Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            n += 1;
        }
        let display = format!(":{n}");
        // -noreset: otherwise the server resets when `display` disconnects,
        // and the picture it painted on the root window is gone.
        let child = janus
            .command(Path::new("Xvfb"))
            .args([display.as_str(), "-screen", "0", &format!("{width}x{height}x24"), "-nolisten", "tcp", "-noreset"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts (scripts/setup installs it)");
        Xvfb { child, display }
    }

    /// Shows `picture` on the whole screen, once the server is up.
    pub fn show(&self, janus: &LocalJanus, picture: &Path) {
        let socket = format!("/tmp/.X11-unix/X{}", &self.display[1..]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb {} did not come up", self.display);
            std::thread::sleep(Duration::from_millis(100));
        }
        // `display -window root` paints the root window and exits with 1 even
        // when it worked: the PSNR below is the real check.
        let out = janus.command(Path::new("display")).env("DISPLAY", &self.display).args(["-window", "root"]).arg(picture).output().expect("imagemagick's display runs");
        assert!(out.stderr.is_empty(), "display: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

