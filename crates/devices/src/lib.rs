//! Real devices for Estrade: the microphone and speakers through `cpal`, the
//! camera through `nokhwa`, the screen through `xcap`.
//!
//! Each device implements the core's own interfaces (`AudioSource`,
//! `RemoteMediaSink`), so the core never knows whether it talks to a sound card
//! or a test tone. What reaches a device goes through the pure parts of
//! `estrade-media`: the resampler, the voice processor, the playout mixer.

mod audio;
mod camera;
mod error;
mod i420;
mod microphone;
mod screen;
mod speaker;
mod stream;

pub use audio::{list_audio, AudioDeviceInfo, AudioDevices};
pub use camera::{list_cameras, Camera, CameraInfo};
pub use error::{DeviceError, DeviceKind, DeviceNotice, Notify};
pub use microphone::{CaptureStats, Microphone, MicrophoneLevel, MicrophoneStats};
pub use screen::{list_shareable, Screen, ShareableInfo, SCREEN_FPS};
pub use speaker::{PlaybackStats, Speaker};
