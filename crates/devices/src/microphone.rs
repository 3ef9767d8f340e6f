//! The microphone: captured by cpal at the device's rate, made mono, resampled
//! to 48 kHz, cleaned by the voice processor, handed out in 20 ms frames.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use estrade_media::resample::StreamResampler;
use estrade_media::voice::SharedVoiceProcessor;
use estrade_media::{AudioFrame, AudioSource, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};

use crate::audio::{choose_config, find, open_error};
use crate::stream::{Health, Keeper, OpenStream, Opener, OPEN_TIMEOUT};
use crate::{DeviceError, DeviceKind, Notify};

/// Audio held before sending starts: a frame and a half, so that the device's
/// own delivery rhythm never leaves a frame short.
const PRIME: usize = AUDIO_FRAME_SAMPLES * 3 / 2;
/// Audio held beyond this (the device clock runs faster than ours) is dropped.
const MAX_BACKLOG: usize = AUDIO_FRAME_SAMPLES * 5;

/// The loudness of what the microphone sends, for a level meter.
#[derive(Debug, Clone, Default)]
pub struct MicrophoneLevel(Arc<AtomicU32>);

impl MicrophoneLevel {
    /// RMS of the last frame sent, 0 (silence) to 1 (full scale).
    pub fn rms(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, rms: f32) {
        self.0.store(rms.to_bits(), Ordering::Relaxed);
    }
}

/// An open capture stream.
struct Capture {
    _stream: cpal::Stream,
    samples: rtrb::Consumer<f32>,
    resampler: StreamResampler,
    health: Arc<Health>,
    name: String,
}

impl OpenStream for Capture {
    fn health(&self) -> &Arc<Health> {
        &self.health
    }
    fn device_name(&self) -> &str {
        &self.name
    }
}

/// A microphone, as an [`AudioSource`] the publisher pulls every 20 ms.
pub struct Microphone {
    keeper: Keeper<Capture>,
    ready: VecDeque<f32>,
    primed: bool,
    input: Vec<f32>,
    processor: Option<SharedVoiceProcessor>,
    level: MicrophoneLevel,
}

impl std::fmt::Debug for Microphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microphone").field("primed", &self.primed).finish()
    }
}

impl Microphone {
    /// Opens the input called `wanted` (or the default). If `wanted` will not
    /// open, the default is used and `notify` hears of it. Fails only when no
    /// input can be opened at all.
    pub fn open(wanted: Option<&str>, processor: Option<SharedVoiceProcessor>, notify: Notify) -> Result<Self, DeviceError> {
        let open: Opener<Capture> = Arc::new(open_capture);
        let keeper = Keeper::start(DeviceKind::Microphone, wanted.map(str::to_owned), open, notify)?;
        Ok(Self { keeper, ready: VecDeque::new(), primed: false, input: Vec::new(), processor, level: MicrophoneLevel::default() })
    }

    /// The name of the input in use, if it is working.
    pub fn device_name(&mut self) -> Option<String> {
        self.keeper.live().map(|c| c.name.clone())
    }

    /// The level meter of what is sent.
    pub fn level(&self) -> MicrophoneLevel {
        self.level.clone()
    }

    /// Moves what the device delivered into `ready`, at 48 kHz.
    fn gather(&mut self) {
        self.keeper.poll();
        let Some(capture) = self.keeper.live() else {
            self.ready.clear();
            self.primed = false;
            return;
        };
        self.input.clear();
        while let Ok(s) = capture.samples.pop() {
            self.input.push(s);
        }
        capture.resampler.process(&self.input, &mut self.ready);
        if self.ready.len() > MAX_BACKLOG {
            let excess = self.ready.len() - PRIME;
            self.ready.drain(..excess);
        }
    }
}

impl AudioSource for Microphone {
    fn next_frame(&mut self) -> AudioFrame {
        self.gather();
        let mut samples = vec![0i16; AUDIO_FRAME_SAMPLES];
        if !self.primed && self.ready.len() >= PRIME {
            self.primed = true;
        }
        if self.primed {
            let n = AUDIO_FRAME_SAMPLES.min(self.ready.len());
            for (out, s) in samples.iter_mut().zip(self.ready.drain(..n)) {
                *out = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
            }
            if n < AUDIO_FRAME_SAMPLES {
                self.primed = false; // ran short: build the margin up again
            }
        }
        if let Some(processor) = &self.processor {
            processor.process_capture(&mut samples);
        }
        let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        self.level.set(((energy / samples.len() as f64).sqrt() / 32768.0) as f32);
        AudioFrame { samples }
    }
}

fn open_capture(wanted: Option<&str>) -> Result<Capture, DeviceError> {
    let kind = DeviceKind::Microphone;
    let found = find(kind, wanted)?;
    let (config, format) = choose_config(kind, &found)?;
    // One second of room: the media thread empties it every 20 ms.
    let (producer, samples) = rtrb::RingBuffer::new(config.sample_rate as usize);
    let health = Health::new();
    health.watch_presence(kind, found.id.clone());
    let stream = match format {
        SampleFormat::F32 => build::<f32>(&found.device, &config, producer, &health),
        SampleFormat::I16 => build::<i16>(&found.device, &config, producer, &health),
        SampleFormat::I32 => build::<i32>(&found.device, &config, producer, &health),
        SampleFormat::U16 => build::<u16>(&found.device, &config, producer, &health),
        _ => build::<u8>(&found.device, &config, producer, &health),
    }
    .map_err(|e| open_error(kind, &found.name, &e))?;
    stream.play().map_err(|e| open_error(kind, &found.name, &e))?;
    let resampler = StreamResampler::new(config.sample_rate, AUDIO_SAMPLE_RATE)
        .map_err(|e| DeviceError::CannotOpen { kind, device: found.name.clone(), reason: e.to_string() })?;
    tracing::info!(device = %found.name, rate = config.sample_rate, channels = config.channels, ?format, "microphone open");
    Ok(Capture { _stream: stream, samples, resampler, health, name: found.name })
}

fn build<T>(device: &cpal::Device, config: &StreamConfig, mut producer: rtrb::Producer<f32>, health: &Arc<Health>) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let (on_data, on_error) = (Arc::clone(health), Arc::clone(health));
    device.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _| {
            on_data.on_callback();
            for frame in data.chunks(channels) {
                let sum: f32 = frame.iter().map(|&s| cpal::Sample::to_sample::<f32>(s)).sum();
                // Full only if the media thread stalled for a second: drop, never block here.
                let _ = producer.push(sum / channels as f32);
            }
        },
        move |e| on_error.on_error(&e),
        Some(OPEN_TIMEOUT),
    )
}
