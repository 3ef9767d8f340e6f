//! What the speakers play: one adaptive playout buffer per remote participant,
//! mixed together.
//!
//! Decoded audio arrives in bursts, as the network delivers it; the sound card
//! takes it at a steady pace. Each participant's buffer holds back enough audio
//! to ride out the jitter it has seen (measured as in RFC 3550), no more, so
//! the delay stays as short as the network allows. Lost packets have already
//! been filled in by Opus concealment when the next one arrived.
//!
//! Pure logic: time is passed in, so tests drive it with a made-up clock.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::AUDIO_SAMPLE_RATE;

const SAMPLES_PER_MS: usize = AUDIO_SAMPLE_RATE as usize / 1000;
/// Never hold back less than this: one 20 ms packet plus the device's pull size.
const MIN_TARGET: Duration = Duration::from_millis(40);
/// Never hold back more than this, however bad the network.
const MAX_TARGET: Duration = Duration::from_millis(200);
/// Audio beyond the target by more than this is dropped (a clock running fast, or a burst).
const MAX_EXCESS: Duration = Duration::from_millis(60);
/// A participant silent this long is forgotten (their buffer is freed).
const IDLE: Duration = Duration::from_secs(2);

/// Playout statistics of one participant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlayoutStats {
    /// Audio held right now, in milliseconds.
    pub buffered_ms: f64,
    /// What the buffer aims to hold, from the jitter seen.
    pub target_ms: f64,
    /// Smoothed inter-arrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Times the buffer ran dry and played silence.
    pub underruns: u64,
    /// Samples dropped to keep the delay bounded.
    pub dropped_samples: u64,
}

/// One participant's adaptive playout buffer.
#[derive(Debug)]
pub struct PlayoutBuffer {
    queue: VecDeque<f32>,
    /// Playing; false until the buffer first reaches its target, and after an underrun.
    playing: bool,
    last_arrival: Option<(Instant, usize)>,
    jitter: f64,
    stats: PlayoutStats,
    last_push: Option<Instant>,
}

impl Default for PlayoutBuffer {
    fn default() -> Self {
        Self { queue: VecDeque::new(), playing: false, last_arrival: None, jitter: 0.0, stats: PlayoutStats::default(), last_push: None }
    }
}

fn samples(d: Duration) -> usize {
    d.as_millis() as usize * SAMPLES_PER_MS
}

impl PlayoutBuffer {
    /// The delay this buffer aims to hold, from the jitter seen so far.
    pub fn target(&self) -> Duration {
        // Four times the mean deviation covers nearly all arrivals of a steady network.
        let wanted = Duration::from_secs_f64(0.020 + 4.0 * self.jitter / 1000.0);
        wanted.clamp(MIN_TARGET, MAX_TARGET)
    }

    /// Decoded audio arrived at `now`.
    pub fn push(&mut self, pcm: &[i16], now: Instant) {
        if let Some((then, len)) = self.last_arrival {
            let expected_ms = len as f64 / SAMPLES_PER_MS as f64;
            let actual_ms = now.saturating_duration_since(then).as_secs_f64() * 1000.0;
            let deviation = (actual_ms - expected_ms).abs();
            // RFC 3550, A.8: J += (|D| - J) / 16
            self.jitter += (deviation - self.jitter) / 16.0;
        }
        self.last_arrival = Some((now, pcm.len()));
        self.last_push = Some(now);
        self.queue.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0));
        let limit = samples(self.target() + MAX_EXCESS);
        if self.queue.len() > limit {
            let excess = self.queue.len() - samples(self.target());
            self.queue.drain(..excess);
            self.stats.dropped_samples += excess as u64;
        }
    }

    /// Adds the next `out.len()` samples into `out` (mixing).
    pub fn mix_into(&mut self, out: &mut [f32]) {
        if !self.playing {
            if self.queue.len() < samples(self.target()) {
                return;
            }
            self.playing = true;
        }
        let n = out.len().min(self.queue.len());
        for (o, s) in out.iter_mut().zip(self.queue.drain(..n)) {
            *o += s;
        }
        if n < out.len() {
            // Ran dry: wait until the target is built up again.
            self.playing = false;
            self.stats.underruns += 1;
        }
    }

    /// Statistics now.
    pub fn stats(&self) -> PlayoutStats {
        PlayoutStats {
            buffered_ms: self.queue.len() as f64 / SAMPLES_PER_MS as f64,
            target_ms: self.target().as_secs_f64() * 1000.0,
            jitter_ms: self.jitter,
            ..self.stats
        }
    }
}

/// Everyone's playout buffers, mixed into one stream for the speakers.
#[derive(Debug)]
pub struct Mixer<K> {
    buffers: HashMap<K, PlayoutBuffer>,
}

impl<K> Default for Mixer<K> {
    fn default() -> Self {
        Self { buffers: HashMap::new() }
    }
}

impl<K: Eq + Hash + Clone> Mixer<K> {
    /// Audio from `who` arrived at `now`.
    pub fn push(&mut self, who: &K, pcm: &[i16], now: Instant) {
        self.buffers.entry(who.clone()).or_default().push(pcm, now);
    }

    /// Fills `out` with the next samples of everyone's audio, mixed and
    /// clipped; forgets those silent for two seconds.
    pub fn pull(&mut self, out: &mut [f32], now: Instant) {
        out.fill(0.0);
        self.buffers.retain(|_, b| b.last_push.is_some_and(|t| now.saturating_duration_since(t) < IDLE) || !b.queue.is_empty());
        for buffer in self.buffers.values_mut() {
            buffer.mix_into(out);
        }
        for s in out.iter_mut() {
            *s = s.clamp(-1.0, 1.0);
        }
    }

    /// Each participant's playout statistics.
    pub fn stats(&self) -> Vec<(K, PlayoutStats)> {
        self.buffers.iter().map(|(k, b)| (k.clone(), b.stats())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: usize = 960;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Pushes 20 ms packets arriving at the given offsets and pulls 10 ms every 10 ms.
    fn run(arrivals_ms: &[u64], total_ms: u64) -> (PlayoutBuffer, Vec<f32>) {
        let t0 = Instant::now();
        let mut buffer = PlayoutBuffer::default();
        let mut played = Vec::new();
        let mut next = 0;
        for tick in (0..total_ms).step_by(10) {
            while next < arrivals_ms.len() && arrivals_ms[next] <= tick {
                buffer.push(&[10_000; PACKET], t0 + ms(arrivals_ms[next]));
                next += 1;
            }
            let mut out = [0.0f32; 480];
            buffer.mix_into(&mut out);
            played.extend_from_slice(&out);
        }
        (buffer, played)
    }

    #[test]
    fn steady_arrivals_play_without_a_gap_at_the_minimum_delay() {
        let arrivals: Vec<u64> = (0..100).map(|i| i * 20).collect();
        let (buffer, _) = run(&arrivals, 1900);
        let stats = buffer.stats();
        assert_eq!(stats.underruns, 0, "{stats:?}");
        assert_eq!(stats.target_ms, 40.0);
        assert!(stats.buffered_ms <= 60.0, "{stats:?}");
    }

    #[test]
    fn jittery_arrivals_raise_the_target_and_stop_underruns() {
        // Packets every 20 ms on average, but in bursts of three every 60 ms.
        let arrivals: Vec<u64> = (0..150).map(|i| (i / 3) * 60 + 55).collect();
        let (buffer, played) = run(&arrivals, 3100);
        let stats = buffer.stats();
        assert!(stats.target_ms > 60.0, "target follows the jitter: {stats:?}");
        // After the first second, the buffer has adapted: no silent 10 ms pull.
        let late = &played[48_000 * 3 / 2..48_000 * 29 / 10]; // adapted, and before the audio ends
        assert!(late.chunks(480).all(|c| c.iter().any(|&s| s != 0.0)), "a gap after adapting: {stats:?}");
    }

    #[test]
    fn the_delay_stays_bounded_when_audio_piles_up() {
        let t0 = Instant::now();
        let mut buffer = PlayoutBuffer::default();
        for i in 0..100u64 {
            buffer.push(&[1; PACKET], t0 + ms(i)); // 2 s of audio in 100 ms
        }
        let stats = buffer.stats();
        assert!(stats.buffered_ms <= (MAX_TARGET + MAX_EXCESS).as_millis() as f64, "{stats:?}");
        assert!(stats.dropped_samples > 0);
    }

    #[test]
    fn mixer_adds_participants_and_forgets_the_silent() {
        let t0 = Instant::now();
        let mut mixer = Mixer::default();
        for i in 0..3u64 {
            mixer.push(&"a", &[8_192; PACKET], t0 + ms(i * 20));
            mixer.push(&"b", &[8_192; PACKET], t0 + ms(i * 20));
        }
        let mut out = [0.0f32; 480];
        mixer.pull(&mut out, t0 + ms(60));
        assert!((out[0] - 0.5).abs() < 1e-3, "{}", out[0]);
        mixer.push(&"a", &[32_000; PACKET], t0 + ms(60));
        mixer.push(&"b", &[32_000; PACKET], t0 + ms(60));
        for _ in 0..20 {
            mixer.pull(&mut out, t0 + ms(80));
            assert!(out.iter().all(|s| (-1.0..=1.0).contains(s)), "clipped");
        }
        mixer.pull(&mut out, t0 + ms(5000));
        assert!(mixer.stats().is_empty(), "both forgotten after silence");
    }
}
