//! Finding sound devices, and opening them in a format we can use. `kind` is
//! the microphone (inputs) or the speakers (outputs) here.

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{BufferSize, SampleFormat, StreamConfig, SupportedBufferSize, SupportedStreamConfig};

use crate::{DeviceError, DeviceKind};

/// One sound device, as shown to a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AudioDeviceInfo {
    /// Stable name to choose it by (for PulseAudio, the sink or source name).
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Whether the system uses it by default.
    pub is_default: bool,
}

/// The sound devices of this computer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AudioDevices {
    /// Microphones and other inputs.
    pub inputs: Vec<AudioDeviceInfo>,
    /// Speakers and other outputs.
    pub outputs: Vec<AudioDeviceInfo>,
}

fn id_of(device: &cpal::Device) -> String {
    device.id().map(|id| id.id().to_owned()).unwrap_or_default()
}

fn name_of(device: &cpal::Device) -> String {
    device.description().map(|d| d.name().to_owned()).unwrap_or_else(|_| id_of(device))
}

fn info(device: &cpal::Device, default_id: Option<&str>) -> AudioDeviceInfo {
    let id = id_of(device);
    AudioDeviceInfo { is_default: default_id == Some(id.as_str()), name: name_of(device), id }
}

/// Lists the inputs and outputs now present. Cheap enough to call on every refresh.
pub fn list_audio() -> AudioDevices {
    let host = cpal::default_host();
    let default_in = host.default_input_device().map(|d| id_of(&d));
    let default_out = host.default_output_device().map(|d| id_of(&d));
    let mut devices = AudioDevices::default();
    if let Ok(inputs) = host.input_devices() {
        devices.inputs = inputs.map(|d| info(&d, default_in.as_deref())).collect();
    }
    if let Ok(outputs) = host.output_devices() {
        devices.outputs = outputs.map(|d| info(&d, default_out.as_deref())).collect();
    }
    devices
}

/// Whether device `id` is among the present devices of its kind.
pub(crate) fn present(host: &cpal::Host, kind: DeviceKind, id: &str) -> bool {
    let devices = if kind == DeviceKind::Microphone {
        host.input_devices().map(|d| d.map(|d| id_of(&d)).collect::<Vec<_>>())
    } else {
        host.output_devices().map(|d| d.map(|d| id_of(&d)).collect::<Vec<_>>())
    };
    // If the list cannot be read, say present: the stream itself reports real failures.
    devices.map_or(true, |ids| ids.iter().any(|d| d == id))
}

/// A device found, with the name to report it by.
pub(crate) struct Found {
    pub(crate) device: cpal::Device,
    pub(crate) name: String,
    pub(crate) id: String,
}

/// The device called `wanted` (its id, its name, or a unique part of its name),
/// or the default one when `wanted` is `None`.
pub(crate) fn find(kind: DeviceKind, wanted: Option<&str>) -> Result<Found, DeviceError> {
    let host = cpal::default_host();
    let Some(wanted) = wanted else {
        let device = if kind == DeviceKind::Microphone { host.default_input_device() } else { host.default_output_device() };
        let device = device.ok_or(DeviceError::NoneFound { kind })?;
        return Ok(Found { name: name_of(&device), id: id_of(&device), device });
    };
    let devices: Vec<cpal::Device> = if kind == DeviceKind::Microphone {
        host.input_devices().map(|d| d.collect()).unwrap_or_default()
    } else {
        host.output_devices().map(|d| d.collect()).unwrap_or_default()
    };
    let exact = devices.iter().position(|d| id_of(d) == wanted || name_of(d) == wanted);
    let index = exact.or_else(|| {
        let lower = wanted.to_lowercase();
        let mut partial = devices.iter().enumerate().filter(|(_, d)| name_of(d).to_lowercase().contains(&lower));
        match (partial.next(), partial.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    });
    match index {
        Some(i) => {
            let device = devices.into_iter().nth(i).ok_or(DeviceError::NoneFound { kind })?;
            Ok(Found { name: name_of(&device), id: id_of(&device), device })
        }
        None => Err(DeviceError::NotFound { kind, wanted: wanted.to_owned(), available: devices.iter().map(id_of).collect() }),
    }
}

/// Sample formats we convert from, best first.
const FORMATS: [SampleFormat; 5] = [SampleFormat::F32, SampleFormat::I16, SampleFormat::I32, SampleFormat::U16, SampleFormat::U8];

/// The format to open a device in: 48 kHz if it can (no resampling), else its
/// own default rate; a sample format we convert; about 10 ms per callback.
pub(crate) fn choose_config(kind: DeviceKind, found: &Found) -> Result<(StreamConfig, SampleFormat), DeviceError> {
    let device = &found.device;
    let cannot = |reason: String| DeviceError::CannotOpen { kind, device: found.name.clone(), reason };
    let (default, ranges) = if kind == DeviceKind::Microphone {
        (device.default_input_config(), device.supported_input_configs().map(|r| r.collect::<Vec<_>>()))
    } else {
        (device.default_output_config(), device.supported_output_configs().map(|r| r.collect::<Vec<_>>()))
    };
    let ranges = ranges.unwrap_or_default();
    let usable = |c: &SupportedStreamConfig| FORMATS.contains(&c.sample_format());
    // Prefer the device's own channel count and format at 48 kHz, then any usable range at 48 kHz.
    let at_48k = default
        .as_ref()
        .ok()
        .and_then(|d| {
            ranges
                .iter()
                .filter(|r| r.channels() == d.channels() && r.sample_format() == d.sample_format())
                .find_map(|r| (*r).try_with_sample_rate(48_000))
        })
        .or_else(|| ranges.iter().filter(|r| FORMATS.contains(&r.sample_format())).find_map(|r| (*r).try_with_sample_rate(48_000)));
    let chosen = match (at_48k, default) {
        (Some(c), _) if usable(&c) => c,
        (_, Ok(d)) if usable(&d) => d,
        (_, Ok(d)) => {
            // The default format is one we do not convert: any usable range, at its top rate.
            ranges
                .iter()
                .find(|r| FORMATS.contains(&r.sample_format()))
                .map(|r| (*r).with_max_sample_rate())
                .ok_or_else(|| cannot(format!("it only offers {:?} samples, which Estrade does not read", d.sample_format())))?
        }
        (_, Err(e)) => return Err(open_error(kind, &found.name, &e)),
    };
    let ten_ms = chosen.sample_rate() / 100;
    let buffer_size = match chosen.buffer_size() {
        SupportedBufferSize::Range { min, max } if (*min..=*max).contains(&ten_ms) => BufferSize::Fixed(ten_ms),
        _ => BufferSize::Default,
    };
    Ok((StreamConfig { channels: chosen.channels(), sample_rate: chosen.sample_rate(), buffer_size }, chosen.sample_format()))
}

/// A cpal error as a device error naming the device.
pub(crate) fn open_error(kind: DeviceKind, device: &str, e: &cpal::Error) -> DeviceError {
    if e.kind() == cpal::ErrorKind::PermissionDenied {
        DeviceError::PermissionDenied { kind, reason: e.to_string() }
    } else {
        DeviceError::CannotOpen { kind, device: device.to_owned(), reason: e.to_string() }
    }
}
