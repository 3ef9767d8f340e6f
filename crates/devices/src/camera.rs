//! The camera through `nokhwa`: about 720p at 30 fps, converted to I420 with
//! `yuv`, captured on a thread of its own. Switching the camera off closes
//! the device, so its light goes off; switching it on opens it again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use estrade_media::{MediaSwitch, VideoFrame, VideoSource};
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType};

use crate::i420::{to_i420, Packed};
use crate::{DeviceError, DeviceKind, DeviceNotice, Notify};

/// The format asked for; the camera gives the closest it has.
const WANTED_WIDTH: u32 = 1280;
const WANTED_HEIGHT: u32 = 720;
const WANTED_FPS: u32 = 30;
/// How often an off camera checks whether it is wanted again.
const IDLE_CHECK: Duration = Duration::from_millis(100);

/// A camera, as shown to a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CameraInfo {
    /// What to choose it by.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The first camera is the default.
    pub is_default: bool,
}

/// The cameras present now (none is not an error).
pub fn list_cameras() -> Vec<CameraInfo> {
    match nokhwa::query(ApiBackend::Auto) {
        Ok(cameras) => cameras
            .iter()
            .enumerate()
            .map(|(i, c)| CameraInfo { id: c.index().to_string(), name: c.human_name(), is_default: i == 0 })
            .collect(),
        Err(e) => {
            tracing::info!(error = %e, "no camera list");
            Vec::new()
        }
    }
}

/// The camera called `wanted` (id or name), or the first one.
fn find(wanted: Option<&str>) -> Result<(CameraIndex, String), DeviceError> {
    let kind = DeviceKind::Camera;
    let cameras = nokhwa::query(ApiBackend::Auto).unwrap_or_default();
    let found = match wanted {
        None => cameras.first(),
        Some(w) => cameras.iter().find(|c| c.index().to_string() == w || c.human_name() == w),
    };
    match (found, wanted) {
        (Some(c), _) => Ok((c.index().clone(), c.human_name())),
        (None, None) => Err(DeviceError::NoneFound { kind }),
        (None, Some(w)) => Err(DeviceError::NotFound { kind, wanted: w.to_owned(), available: cameras.iter().map(|c| c.human_name()).collect() }),
    }
}

/// The latest picture, shared between the capture thread and the encoder.
type Latest = Arc<Mutex<Option<VideoFrame>>>;

/// A camera, as a [`VideoSource`]. Hands out the latest picture at 30 fps.
pub struct Camera {
    latest: Latest,
    size: (u32, u32),
    stop: Arc<AtomicBool>,
    name: String,
}

impl std::fmt::Debug for Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Camera").field("name", &self.name).field("size", &self.size).finish()
    }
}

impl Camera {
    /// Opens the camera called `wanted` (or the first one). It stays open
    /// while `switch` is on. Fails with a message naming the camera when it
    /// is missing or will not open; later failures go to `notify`.
    pub fn open(wanted: Option<&str>, switch: MediaSwitch, notify: Notify) -> Result<Self, DeviceError> {
        let (index, name) = find(wanted)?;
        let latest: Latest = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = Capture { index, name: name.clone(), latest: Arc::clone(&latest), stop: Arc::clone(&stop), switch, notify };
        // The device is opened on the capture thread (it must stay on the
        // thread that opened it), once before this returns, so that a camera
        // that will not open fails the call.
        let (opened, first) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("estrade-camera".into())
            .spawn(move || match open_stream(&thread.index, &thread.name) {
                Ok(camera) => {
                    let _ = opened.send(Ok(camera.camera_format()));
                    thread.run(camera);
                }
                Err(e) => {
                    let _ = opened.send(Err(e));
                }
            })
            .map_err(|e| DeviceError::CannotOpen { kind: DeviceKind::Camera, device: name.clone(), reason: e.to_string() })?;
        let format = first
            .recv()
            .map_err(|_| DeviceError::CannotOpen { kind: DeviceKind::Camera, device: name.clone(), reason: "the capture thread ended".into() })??;
        let size = (format.width() & !1, format.height() & !1);
        tracing::info!(camera = %name, width = size.0, height = size.1, fps = format.frame_rate(), format = ?format.format(), "camera open");
        Ok(Self { latest, size, stop, name })
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl VideoSource for Camera {
    fn frames_per_second(&self) -> u32 {
        WANTED_FPS
    }

    fn next_frame(&mut self) -> VideoFrame {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        match &*latest {
            Some(frame) if (frame.width, frame.height) == self.size => frame.clone(),
            _ => VideoFrame::black(self.size.0, self.size.1),
        }
    }
}

fn open_stream(index: &CameraIndex, name: &str) -> Result<nokhwa::Camera, DeviceError> {
    let cannot = |e: nokhwa::NokhwaError| {
        let reason = e.to_string();
        if reason.to_lowercase().contains("permission") || reason.to_lowercase().contains("denied") {
            DeviceError::PermissionDenied { kind: DeviceKind::Camera, reason }
        } else {
            DeviceError::CannotOpen { kind: DeviceKind::Camera, device: name.to_owned(), reason }
        }
    };
    let wanted = CameraFormat::new_from(WANTED_WIDTH, WANTED_HEIGHT, FrameFormat::MJPEG, WANTED_FPS);
    let request = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
    let mut camera = nokhwa::Camera::new(index.clone(), request).map_err(cannot)?;
    camera.open_stream().map_err(cannot)?;
    Ok(camera)
}

/// The capture thread: reads pictures while the switch is on.
struct Capture {
    index: CameraIndex,
    name: String,
    latest: Latest,
    stop: Arc<AtomicBool>,
    switch: MediaSwitch,
    notify: Notify,
}

impl Capture {
    fn run(self, first: nokhwa::Camera) {
        let mut camera = Some(first);
        let mut lost = false;
        while !self.stop.load(Ordering::SeqCst) {
            if !self.switch.is_on() {
                // Closing the device turns its light off.
                camera = None;
                std::thread::sleep(IDLE_CHECK);
                continue;
            }
            let Some(open) = camera.as_mut() else {
                match open_stream(&self.index, &self.name) {
                    Ok(c) => {
                        camera = Some(c);
                        if std::mem::take(&mut lost) {
                            (self.notify)(DeviceNotice::Restored { kind: DeviceKind::Camera, device: self.name.clone() });
                        }
                    }
                    Err(e) => {
                        if !std::mem::replace(&mut lost, true) {
                            (self.notify)(DeviceNotice::Lost { kind: DeviceKind::Camera, device: self.name.clone(), reason: e.to_string() });
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
                continue;
            };
            match open.frame().and_then(|b| b.decode_image::<RgbFormat>()) {
                Ok(rgb) => {
                    if let Some(frame) = to_i420(rgb.width(), rgb.height(), rgb.as_raw(), Packed::Rgb) {
                        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(frame);
                    }
                }
                Err(e) => {
                    tracing::warn!(camera = %self.name, error = %e, "camera stopped");
                    camera = None; // reopened on the next turn, and told if that fails
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_camera_is_a_plain_error() {
        if !list_cameras().is_empty() {
            return; // a machine with a camera: nothing to check here
        }
        let err = Camera::open(None, MediaSwitch::new(true), Arc::new(|_| {})).expect_err("no camera here");
        assert_eq!(err, DeviceError::NoneFound { kind: DeviceKind::Camera });
        assert!(err.user_message().fr.contains("caméra"), "{}", err.user_message().fr);
    }
}
