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
    /// The window manager, if started.
    window_manager: Option<Child>,
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
        // Up once its socket is there.
        let socket = format!("/tmp/.X11-unix/X{n}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb {display} did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        Xvfb { child, display, window_manager: None }
    }

    /// Shows `picture` on the whole screen.
    pub fn show(&self, janus: &LocalJanus, picture: &Path) {
        // `display -window root` paints the root window and exits with 1 even
        // when it worked: the PSNR below is the real check.
        let out = janus.command(Path::new("display")).env("DISPLAY", &self.display).args(["-window", "root"]).arg(picture).output().expect("imagemagick's display runs");
        assert!(out.stderr.is_empty(), "display: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Xvfb {
    /// Starts a window manager (matchbox): without one, X lists no windows
    /// to share. Call once the server is up (after [`Xvfb::show`]).
    pub fn start_window_manager(&mut self, janus: &LocalJanus) {
        let child = janus
            .command(Path::new("matchbox-window-manager"))
            .env("DISPLAY", &self.display)
            .args(["-use_titlebar", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("matchbox-window-manager starts (scripts/setup installs it)");
        self.window_manager = Some(child);
        std::thread::sleep(Duration::from_millis(500));
    }

    /// Opens `picture` in a window titled `title`; kill the child to close it.
    pub fn open_window(&self, janus: &LocalJanus, title: &str, picture: &Path) -> Child {
        janus
            .command(Path::new("display"))
            .env("DISPLAY", &self.display)
            .args(["-title", title])
            .arg(picture)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("imagemagick's display runs")
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        if let Some(mut wm) = self.window_manager.take() {
            let _ = wm.kill();
            let _ = wm.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

