//! The microphone: captured by cpal at the device's rate, made mono, resampled
//! to 48 kHz, cleaned by the voice processor, handed out in 20 ms frames.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
/// How long a frame waits for a device that is late before it is padded with
/// silence. The prime leaves only about 10 ms of margin over the device's own
/// 10 ms deliveries, and a busy machine delays a delivery by more now and
/// then; sent late, the frame is only jitter the listener's playout buffer
/// absorbs (the sender's clock then sends the next one early), whereas padded
/// it is a gap mid-word and everything after it shifts (`tests/speech.rs`
/// measured STOI 0.96 fall to 0.79 after one 20 ms gap).
const DEVICE_PATIENCE: Duration = Duration::from_millis(20);
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

/// What the microphone had to mend since it opened: a frame it ran short of
/// (padded with silence: a gap mid-word), sound it held too long (dropped: a
/// jump ahead), frames sent without voice processing (the voice thread was
/// late). All zero on a healthy device; read by `estrade-cli` and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct CaptureStats {
    /// 20 ms frames sent.
    pub frames: u64,
    /// Frames the device had not delivered in time, padded with silence.
    pub short_frames: u64,
    /// Silence added to short frames, in milliseconds.
    pub padded_ms: f64,
    /// Sound dropped because the device delivered it faster than it was sent.
    pub dropped_ms: f64,
    /// Frames sent as captured because the voice processor did not answer in time.
    pub unprocessed_frames: u64,
}

/// A live view of [`CaptureStats`], kept by whoever opened the microphone
/// while the microphone itself is moved into the publisher.
#[derive(Debug, Clone, Default)]
pub struct MicrophoneStats(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    frames: AtomicU64,
    short_frames: AtomicU64,
    padded_samples: AtomicU64,
    dropped_samples: AtomicU64,
    unprocessed_frames: AtomicU64,
}

impl MicrophoneStats {
    /// The counts so far.
    pub fn snapshot(&self) -> CaptureStats {
        let c = &self.0;
        let ms = |samples: &AtomicU64| samples.load(Ordering::Relaxed) as f64 * 1000.0 / f64::from(AUDIO_SAMPLE_RATE);
        CaptureStats {
            frames: c.frames.load(Ordering::Relaxed),
            short_frames: c.short_frames.load(Ordering::Relaxed),
            padded_ms: ms(&c.padded_samples),
            dropped_ms: ms(&c.dropped_samples),
            unprocessed_frames: c.unprocessed_frames.load(Ordering::Relaxed),
        }
    }

    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
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
    /// The device has delivered since it opened (or came back).
    delivering: bool,
    input: Vec<f32>,
    processor: Option<SharedVoiceProcessor>,
    level: MicrophoneLevel,
    stats: MicrophoneStats,
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
        Ok(Self {
            keeper,
            ready: VecDeque::new(),
            primed: false,
            delivering: false,
            input: Vec::new(),
            processor,
            level: MicrophoneLevel::default(),
            stats: MicrophoneStats::default(),
        })
    }

    /// The name of the input in use, if it is working.
    pub fn device_name(&mut self) -> Option<String> {
        self.keeper.live().map(|c| c.name.clone())
    }

    /// The level meter of what is sent.
    pub fn level(&self) -> MicrophoneLevel {
        self.level.clone()
    }

    /// What the microphone had to mend so far.
    pub fn stats(&self) -> MicrophoneStats {
        self.stats.clone()
    }

    /// The device is late with a frame it was delivering steadily: gives it
    /// [`DEVICE_PATIENCE`]. Once it has run short the margin is built up again
    /// before the next wait, so a device that stopped costs one wait, not one a frame.
    fn wait_for_device(&mut self) {
        let give_up = Instant::now() + DEVICE_PATIENCE;
        while self.ready.len() < AUDIO_FRAME_SAMPLES && Instant::now() < give_up && self.keeper.live().is_some() {
            std::thread::sleep(Duration::from_millis(2));
            self.gather();
        }
    }

    /// Moves what the device delivered into `ready`, at 48 kHz.
    fn gather(&mut self) {
        self.keeper.poll();
        let Some(capture) = self.keeper.live() else {
            self.ready.clear();
            self.primed = false;
            self.delivering = false;
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
            MicrophoneStats::add(&self.stats.0.dropped_samples, excess);
        }
    }
}

impl AudioSource for Microphone {
    fn next_frame(&mut self) -> AudioFrame {
        self.gather();
        if self.primed && self.ready.len() < AUDIO_FRAME_SAMPLES {
            self.wait_for_device();
        }
        let mut samples = vec![0i16; AUDIO_FRAME_SAMPLES];
        if !self.primed && self.ready.len() >= PRIME {
            self.primed = true;
            self.delivering = true;
        }
        let mut taken = 0;
        if self.primed {
            taken = AUDIO_FRAME_SAMPLES.min(self.ready.len());
            for (out, s) in samples.iter_mut().zip(self.ready.drain(..taken)) {
                *out = (s.clamp(-1.0, 1.0) * 32767.0) as i16;
            }
            if taken < AUDIO_FRAME_SAMPLES {
                self.primed = false; // ran short: build the margin up again
            }
        }
        // Silence sent once the device had started delivering is a gap in what was said.
        if self.delivering && taken < AUDIO_FRAME_SAMPLES {
            MicrophoneStats::add(&self.stats.0.short_frames, 1);
            MicrophoneStats::add(&self.stats.0.padded_samples, AUDIO_FRAME_SAMPLES - taken);
        }
        MicrophoneStats::add(&self.stats.0.frames, 1);
        if let Some(processor) = &self.processor {
            if !processor.process_capture(&mut samples) {
                MicrophoneStats::add(&self.stats.0.unprocessed_frames, 1);
            }
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
