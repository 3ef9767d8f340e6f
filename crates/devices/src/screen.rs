//! Screen sharing through `xcap`: a monitor or a window, captured at 5 to 15
//! frames a second on a thread of its own, scaled down to at most 1080p,
//! converted to I420.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use estrade_media::{VideoFrame, VideoSource};
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::i420::{to_i420, Packed};
use crate::{DeviceError, DeviceKind};

/// The largest picture sent: 1080p.
const MAX_WIDTH: u32 = 1920;
const MAX_HEIGHT: u32 = 1080;
/// Screen content changes little: 10 fps by default, 5 to 15 allowed.
pub const SCREEN_FPS: u32 = 10;

/// What can be shared.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShareableInfo {
    /// What to choose it by: `screen:ID` or `window:ID`.
    pub id: String,
    /// A monitor's name, or a window's title and application.
    pub name: String,
    /// Its size in pixels.
    pub width: u32,
    /// Its size in pixels.
    pub height: u32,
    /// The primary monitor.
    pub is_default: bool,
}

/// The monitors, then the visible windows.
pub fn list_shareable() -> (Vec<ShareableInfo>, Vec<ShareableInfo>) {
    let monitors = xcap::Monitor::all()
        .unwrap_or_default()
        .iter()
        .map(|m| ShareableInfo {
            id: format!("screen:{}", m.id().unwrap_or_default()),
            name: m.name().unwrap_or_default(),
            width: m.width().unwrap_or_default(),
            height: m.height().unwrap_or_default(),
            is_default: m.is_primary().unwrap_or(false),
        })
        .collect();
    let windows = xcap::Window::all()
        .unwrap_or_default()
        .iter()
        .filter(|w| !w.is_minimized().unwrap_or(false) && w.width().unwrap_or(0) > 0)
        .map(|w| ShareableInfo {
            id: format!("window:{}", w.id().unwrap_or_default()),
            name: format!("{} — {}", w.title().unwrap_or_default(), w.app_name().unwrap_or_default()),
            width: w.width().unwrap_or_default(),
            height: w.height().unwrap_or_default(),
            is_default: false,
        })
        .collect();
    (monitors, windows)
}

/// What to capture.
enum Target {
    Monitor(xcap::Monitor),
    Window(xcap::Window),
}

impl Target {
    /// A shared window that no longer exists (closed). A monitor never goes.
    fn is_gone(&self) -> bool {
        let Target::Window(window) = self else { return false };
        let Ok(id) = window.id() else { return false };
        match xcap::Window::all() {
            Ok(windows) => !windows.iter().any(|w| w.id().is_ok_and(|other| other == id)),
            Err(_) => false,
        }
    }

    fn capture(&self) -> Result<image::RgbaImage, String> {
        match self {
            Target::Monitor(m) => m.capture_image(),
            Target::Window(w) => w.capture_image(),
        }
        .map_err(|e| e.to_string())
    }
}

/// Finds `wanted`: `screen:ID`, `window:ID`, a monitor name or number, part
/// of a window title; `None` is the primary monitor.
fn find(wanted: Option<&str>) -> Result<(Target, String), DeviceError> {
    let kind = DeviceKind::Screen;
    let monitors = xcap::Monitor::all().map_err(|e| DeviceError::CannotOpen { kind, device: "screen".into(), reason: e.to_string() })?;
    let monitor_named = |m: &xcap::Monitor, w: &str| {
        m.id().is_ok_and(|id| w == id.to_string() || w == format!("screen:{id}")) || m.name().is_ok_and(|n| n == w)
    };
    let name_of = |m: &xcap::Monitor| m.name().unwrap_or_else(|_| "screen".into());
    match wanted {
        None => {
            let m = monitors.iter().find(|m| m.is_primary().unwrap_or(false)).or(monitors.first()).ok_or(DeviceError::NoneFound { kind })?;
            Ok((Target::Monitor(m.clone()), name_of(m)))
        }
        Some(w) => {
            if let Some(m) = monitors.iter().find(|m| monitor_named(m, w)) {
                return Ok((Target::Monitor(m.clone()), name_of(m)));
            }
            let windows = xcap::Window::all().unwrap_or_default();
            let id = w.strip_prefix("window:");
            let lower = w.to_lowercase();
            let window = windows.iter().find(|win| match id {
                Some(id) => win.id().is_ok_and(|wid| wid.to_string() == id),
                None => win.title().is_ok_and(|t| t.to_lowercase().contains(&lower)),
            });
            match window {
                Some(win) => Ok((Target::Window(win.clone()), win.title().unwrap_or_else(|_| w.to_owned()))),
                None => Err(DeviceError::NotFound { kind, wanted: w.to_owned(), available: monitors.iter().map(name_of).collect() }),
            }
        }
    }
}

/// The size sent for a source of this size: at most 1080p, aspect kept, even.
pub(crate) fn sent_size(width: u32, height: u32) -> (u32, u32) {
    let scale = (f64::from(MAX_WIDTH) / f64::from(width)).min(f64::from(MAX_HEIGHT) / f64::from(height)).min(1.0);
    let w = ((f64::from(width) * scale).round() as u32).max(2) & !1;
    let h = ((f64::from(height) * scale).round() as u32).max(2) & !1;
    (w, h)
}

/// A shared screen or window, as a [`VideoSource`].
pub struct Screen {
    latest: Arc<Mutex<Option<VideoFrame>>>,
    size: (u32, u32),
    fps: u32,
    stop: Arc<AtomicBool>,
    /// The shared window was closed.
    ended: Arc<AtomicBool>,
    name: String,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen").field("name", &self.name).field("size", &self.size).finish()
    }
}

impl Screen {
    /// Starts capturing `wanted` (see [`find`]) at `fps` (clamped to 5..=15).
    pub fn open(wanted: Option<&str>, fps: u32) -> Result<Self, DeviceError> {
        let fps = fps.clamp(5, 15);
        let (target, name) = find(wanted)?;
        let cannot = |reason: String| DeviceError::CannotOpen { kind: DeviceKind::Screen, device: name.clone(), reason };
        let first = target.capture().map_err(cannot)?;
        let size = sent_size(first.width(), first.height());
        let mut converter = Converter::new(size);
        let latest = Arc::new(Mutex::new(converter.convert(&first)));
        let stop = Arc::new(AtomicBool::new(false));
        let ended = Arc::new(AtomicBool::new(false));
        let (thread_latest, thread_stop, thread_ended, thread_name) = (Arc::clone(&latest), Arc::clone(&stop), Arc::clone(&ended), name.clone());
        std::thread::Builder::new()
            .name("estrade-screen".into())
            .spawn(move || {
                let period = Duration::from_secs(1) / fps;
                let mut next = Instant::now();
                let mut last_presence_check: Option<Instant> = None;
                while !thread_stop.load(Ordering::SeqCst) {
                    next += period;
                    match target.capture() {
                        Ok(image) => {
                            if let Some(frame) = converter.convert(&image) {
                                *thread_latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(frame);
                            }
                        }
                        // A window minimised or hidden: the last picture stays.
                        // Closed: the share ends (checked once a second, listing windows costs).
                        Err(e) => {
                            tracing::debug!(screen = %thread_name, error = %e, "screen capture failed");
                            if last_presence_check.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                                last_presence_check = Some(Instant::now());
                                if target.is_gone() {
                                    tracing::info!(screen = %thread_name, "the shared window was closed");
                                    thread_ended.store(true, Ordering::SeqCst);
                                    return;
                                }
                            }
                        }
                    }
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })
            .map_err(|e| cannot(e.to_string()))?;
        tracing::info!(screen = %name, width = size.0, height = size.1, fps, "screen share started");
        Ok(Self { latest, size, fps, stop, ended, name })
    }

    /// What is being shared.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl VideoSource for Screen {
    fn frames_per_second(&self) -> u32 {
        self.fps
    }

    fn next_frame(&mut self) -> VideoFrame {
        match &*self.latest.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(frame) => frame.clone(),
            None => VideoFrame::black(self.size.0, self.size.1),
        }
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }
}

/// RGBA captures to I420 frames of one fixed size (the encoder's).
struct Converter {
    size: (u32, u32),
    resizer: Resizer,
    scaled: Vec<u8>,
}

impl Converter {
    fn new(size: (u32, u32)) -> Self {
        Self { size, resizer: Resizer::new(), scaled: Vec::new() }
    }

    fn convert(&mut self, image: &image::RgbaImage) -> Option<VideoFrame> {
        let (w, h) = self.size;
        let rgba: &[u8] = if (image.width(), image.height()) == (w, h) {
            image.as_raw()
        } else {
            let src = Image::from_vec_u8(image.width(), image.height(), image.as_raw().clone(), PixelType::U8x4).ok()?;
            let mut dst = Image::new(w, h, PixelType::U8x4);
            let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)).use_alpha(false);
            self.resizer.resize(&src, &mut dst, &options).ok()?;
            self.scaled = dst.into_vec();
            &self.scaled
        };
        to_i420(w, h, rgba, Packed::Rgba)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_screens_are_scaled_to_1080p_keeping_the_aspect() {
        assert_eq!(sent_size(1280, 720), (1280, 720));
        assert_eq!(sent_size(3840, 2160), (1920, 1080));
        assert_eq!(sent_size(2560, 1600), (1728, 1080));
        assert_eq!(sent_size(1366, 768), (1366, 768));
        assert_eq!(sent_size(1001, 501), (1000, 500));
    }

    #[test]
    fn captures_convert_at_the_fixed_size() {
        let mut c = Converter::new((4, 2));
        let image = image::RgbaImage::from_pixel(8, 4, image::Rgba([0, 0, 0, 255]));
        let frame = c.convert(&image).expect("converted");
        assert_eq!((frame.width, frame.height, frame.data.len()), (4, 2, 12));
        assert!(frame.y().iter().all(|&y| y <= 17), "black stays black: {:?}", frame.y());
    }
}
