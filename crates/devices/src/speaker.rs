//! The speakers: everyone's audio, mixed through adaptive playout buffers,
//! shown to the echo canceller, resampled to the device's rate, played by cpal.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};
use estrade_core::peer::RemoteMediaSink;
use estrade_core::{Participant, ParticipantId, VideoFeed};
use estrade_media::playout::Mixer;
use estrade_media::resample::StreamResampler;
use estrade_media::voice::{SharedVoiceProcessor, VOICE_FRAME_SAMPLES};
use estrade_media::{VideoFrame, AUDIO_SAMPLE_RATE};

use crate::audio::{choose_config, find, open_error};
use crate::stream::{Health, Keeper, OpenStream, Opener, OPEN_TIMEOUT};
use crate::{DeviceError, DeviceKind, Notify};

/// Audio kept ready for the device beyond its own buffer.
const DEVICE_MARGIN: Duration = Duration::from_millis(20);
/// How often the feeder thread tops the device up.
const FEED_EVERY: Duration = Duration::from_millis(5);

/// What the speakers are doing, for the stats panel and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PlaybackStats {
    /// The output in use; `None` while it is lost.
    pub device: Option<String>,
    /// From a sample's arrival to the device playing it, for the most delayed
    /// participant: playout buffer + our device queue + the device's own buffer.
    pub latency_ms: f64,
    /// Participants being played.
    pub participants: usize,
    /// Times a participant's buffer ran dry since the start.
    pub underruns: u64,
    /// Largest smoothed network jitter among participants, in milliseconds.
    pub jitter_ms: f64,
}

/// An open output stream.
struct Output {
    _stream: cpal::Stream,
    samples: rtrb::Producer<f32>,
    capacity: usize,
    resampler: StreamResampler,
    rate: u32,
    device_buffer: Duration,
    health: Arc<Health>,
    name: String,
}

impl OpenStream for Output {
    fn health(&self) -> &Arc<Health> {
        &self.health
    }
    fn device_name(&self) -> &str {
        &self.name
    }
}

/// The speakers, as a sink for everyone's decoded audio.
pub struct Speaker {
    mixer: Arc<Mutex<Mixer<ParticipantId>>>,
    stats: Arc<Mutex<PlaybackStats>>,
    stop: Arc<AtomicBool>,
    feeder: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speaker").field("stats", &self.stats()).finish()
    }
}

impl Speaker {
    /// Opens the output called `wanted` (or the default); falls back to the
    /// default if `wanted` will not open. What is played is shown to
    /// `processor`, so the microphone's echo of it can be removed.
    pub fn open(wanted: Option<&str>, processor: Option<SharedVoiceProcessor>, notify: Notify) -> Result<Self, DeviceError> {
        let open: Opener<Output> = Arc::new(open_output);
        let keeper = Keeper::start(DeviceKind::Speakers, wanted.map(str::to_owned), open, notify)?;
        let mixer = Arc::new(Mutex::new(Mixer::default()));
        let stats = Arc::new(Mutex::new(PlaybackStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let feeder = Feeder { keeper, mixer: Arc::clone(&mixer), processor, stats: Arc::clone(&stats), stop: Arc::clone(&stop) };
        let feeder = std::thread::Builder::new()
            .name("estrade-speaker".into())
            .spawn(move || feeder.run())
            .map_err(|e| DeviceError::CannotOpen { kind: DeviceKind::Speakers, device: wanted.unwrap_or("default").to_owned(), reason: e.to_string() })?;
        Ok(Self { mixer, stats, stop, feeder: Some(feeder) })
    }

    /// What the speakers are doing now.
    pub fn stats(&self) -> PlaybackStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

impl RemoteMediaSink for Speaker {
    fn audio(&self, from: &Participant, pcm: &[i16]) {
        self.mixer.lock().unwrap_or_else(|p| p.into_inner()).push(&from.id, pcm, Instant::now());
    }

    fn video(&self, _from: &Participant, _feed: VideoFeed, _frame: &VideoFrame) {}
}

/// The thread that keeps the device supplied, paced by the device's own clock:
/// it tops the queue up to a margin, so it takes exactly what the device plays.
struct Feeder {
    keeper: Keeper<Output>,
    mixer: Arc<Mutex<Mixer<ParticipantId>>>,
    processor: Option<SharedVoiceProcessor>,
    stats: Arc<Mutex<PlaybackStats>>,
    stop: Arc<AtomicBool>,
}

impl Feeder {
    fn run(mut self) {
        let mut mixed = vec![0f32; VOICE_FRAME_SAMPLES];
        let mut as_i16 = vec![0i16; VOICE_FRAME_SAMPLES];
        let mut converted = VecDeque::new();
        let mut last_pull = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            self.keeper.poll();
            let now = Instant::now();
            let queued = match self.keeper.live() {
                Some(out) => {
                    let margin = samples_at(out.rate, out.device_buffer + DEVICE_MARGIN);
                    while out.capacity - out.samples.slots() < margin {
                        next_mix(&self.mixer, self.processor.as_ref(), &mut mixed, &mut as_i16, now);
                        out.resampler.process(&mixed, &mut converted);
                        for s in converted.drain(..) {
                            let _ = out.samples.push(s);
                        }
                    }
                    let queued = out.capacity - out.samples.slots();
                    Some((Duration::from_secs_f64(queued as f64 / f64::from(out.rate)) + out.device_buffer, out.name.clone()))
                }
                None => {
                    // No device: keep time anyway, so buffers do not fill up and replay stale audio later.
                    while now.duration_since(last_pull) >= Duration::from_millis(10) {
                        next_mix(&self.mixer, self.processor.as_ref(), &mut mixed, &mut as_i16, now);
                        last_pull += Duration::from_millis(10);
                    }
                    None
                }
            };
            if queued.is_some() {
                last_pull = now;
            }
            self.update_stats(queued);
            std::thread::sleep(FEED_EVERY);
        }
    }

    fn update_stats(&self, device: Option<(Duration, String)>) {
        let per = self.mixer.lock().unwrap_or_else(|p| p.into_inner()).stats();
        let buffered = per.iter().map(|(_, s)| s.buffered_ms).fold(0.0, f64::max);
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.participants = per.len();
        stats.jitter_ms = per.iter().map(|(_, s)| s.jitter_ms).fold(0.0, f64::max);
        // Buffers of departed participants are gone; keep the count monotonic.
        stats.underruns = stats.underruns.max(per.iter().map(|(_, s)| s.underruns).sum());
        match device {
            Some((queued, name)) => {
                stats.device = Some(name);
                stats.latency_ms = buffered + queued.as_secs_f64() * 1000.0;
            }
            None => {
                stats.device = None;
                stats.latency_ms = buffered;
            }
        }
    }
}

/// The next 10 ms of everyone mixed, also shown to the echo canceller.
fn next_mix(mixer: &Mutex<Mixer<ParticipantId>>, processor: Option<&SharedVoiceProcessor>, mixed: &mut [f32], as_i16: &mut [i16], now: Instant) {
    mixer.lock().unwrap_or_else(|p| p.into_inner()).pull(mixed, now);
    if let Some(processor) = processor {
        for (o, s) in as_i16.iter_mut().zip(mixed.iter()) {
            *o = (s * 32767.0) as i16;
        }
        processor.analyze_render(as_i16);
    }
}

fn samples_at(rate: u32, d: Duration) -> usize {
    (d.as_secs_f64() * f64::from(rate)).ceil() as usize
}

fn open_output(wanted: Option<&str>) -> Result<Output, DeviceError> {
    let kind = DeviceKind::Speakers;
    let found = find(kind, wanted)?;
    let (config, format) = choose_config(kind, &found)?;
    let capacity = config.sample_rate as usize / 2; // half a second, far above the margin kept
    let (samples, consumer) = rtrb::RingBuffer::new(capacity);
    let health = Health::new();
    health.watch_presence(kind, found.id.clone());
    let stream = match format {
        SampleFormat::F32 => build::<f32>(&found.device, &config, consumer, &health),
        SampleFormat::I16 => build::<i16>(&found.device, &config, consumer, &health),
        SampleFormat::I32 => build::<i32>(&found.device, &config, consumer, &health),
        SampleFormat::U16 => build::<u16>(&found.device, &config, consumer, &health),
        _ => build::<u8>(&found.device, &config, consumer, &health),
    }
    .map_err(|e| open_error(kind, &found.name, &e))?;
    stream.play().map_err(|e| open_error(kind, &found.name, &e))?;
    let resampler = StreamResampler::new(AUDIO_SAMPLE_RATE, config.sample_rate)
        .map_err(|e| DeviceError::CannotOpen { kind, device: found.name.clone(), reason: e.to_string() })?;
    let device_frames = match config.buffer_size {
        cpal::BufferSize::Fixed(n) => n,
        cpal::BufferSize::Default => config.sample_rate / 50, // unknown: count 20 ms
    };
    // cpal's PulseAudio stream double-buffers: two periods sit in the server.
    let device_buffer = Duration::from_secs_f64(2.0 * f64::from(device_frames) / f64::from(config.sample_rate));
    tracing::info!(device = %found.name, rate = config.sample_rate, channels = config.channels, ?format, "speakers open");
    Ok(Output { _stream: stream, samples, capacity, resampler, rate: config.sample_rate, device_buffer, health, name: found.name })
}

fn build<T>(device: &cpal::Device, config: &StreamConfig, mut consumer: rtrb::Consumer<f32>, health: &Arc<Health>) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = usize::from(config.channels.max(1));
    let (on_data, on_error) = (Arc::clone(health), Arc::clone(health));
    device.build_output_stream::<T, _, _>(
        *config,
        move |data: &mut [T], _| {
            on_data.on_callback();
            for frame in data.chunks_mut(channels) {
                // Empty only if the feeder stalled: play silence, never block here.
                let s = consumer.pop().unwrap_or(0.0);
                frame.fill(T::from_sample(s));
            }
        },
        move |e| on_error.on_error(&e),
        Some(OPEN_TIMEOUT),
    )
}
