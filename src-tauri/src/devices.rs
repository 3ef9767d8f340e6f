//! The device pickers and the microphone test, over `estrade-devices`.
//! Blocking calls (sound servers answer over sockets): run them off the async runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use estrade_devices::{list_audio, AudioDeviceInfo, Microphone};
use estrade_media::AudioSource;

use crate::class::meter;
use crate::dto::{AppError, DeviceInfo, DeviceList, ErrorCode, ShareTarget, ShareTargets};

const TEST_LENGTH: Duration = Duration::from_secs(3);
const TEST_REPORT_EVERY: u32 = 5; // frames of 20 ms: ten reports a second

fn info(d: AudioDeviceInfo) -> DeviceInfo {
    DeviceInfo { id: d.id, name: d.name, is_default: d.is_default }
}

/// The devices present now.
pub fn list() -> DeviceList {
    let audio = list_audio();
    DeviceList {
        microphones: audio.inputs.into_iter().map(info).collect(),
        speakers: audio.outputs.into_iter().map(info).collect(),
        cameras: estrade_devices::list_cameras().into_iter().map(|c| DeviceInfo { id: c.id, name: c.name, is_default: c.is_default }).collect(),
    }
}

/// The monitors and windows that can be shared now.
pub fn share_targets() -> ShareTargets {
    let target = |s: estrade_devices::ShareableInfo| ShareTarget { id: s.id, name: s.name, width: s.width, height: s.height, is_default: s.is_default };
    let (monitors, windows) = estrade_devices::list_shareable();
    ShareTargets { monitors: monitors.into_iter().map(target).collect(), windows: windows.into_iter().map(target).collect() }
}

/// Opens the microphone and reports its level (0..1) until the test ends or
/// `report` returns false (the window went away).
pub fn test_microphone(device: Option<&str>, mut report: impl FnMut(f32) -> bool) -> Result<(), AppError> {
    let notices: estrade_devices::Notify = Arc::new(|n| tracing::info!(?n, "during the microphone test"));
    let mut microphone = Microphone::open(device, None, notices).map_err(|e| AppError { code: ErrorCode::Device, message: e.user_message().into() })?;
    let level = microphone.level();
    let start = Instant::now();
    let mut frames = 0u32;
    while start.elapsed() < TEST_LENGTH {
        microphone.next_frame();
        frames += 1;
        if frames.is_multiple_of(TEST_REPORT_EVERY) && !report(meter(level.rms())) {
            break;
        }
        // Paced like a class (the source never waits by itself).
        let due = start + Duration::from_millis(20) * frames;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    Ok(())
}
