//! Echo cancellation, noise suppression and automatic gain for the microphone.
//!
//! This is WebRTC's audio processing (AEC3, noise suppressor, AGC2, high-pass
//! filter) through `aec3`, a pure-Rust port of it. The C++ module's Rust
//! binding (`webrtc-audio-processing`) cannot be built on Debian 12 from
//! packages alone; `sonora`, another port, cancelled echo as well but kept
//! less of a pupil talking over the teacher. docs/audio.md has the numbers.
//!
//! The echo canceller must hear what the speakers play (the *render* side) and
//! what the microphone captures (the *capture* side), so one [`VoiceProcessor`]
//! is shared by the playback and the capture paths.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::Duration;

use aec3::api::config::EchoCanceller3Config;
use aec3::graph::NodeControlState;
use aec3::nodes::audio::AudioFormat;
use aec3::pipelines::linear::{self, LinearPipeline};

use crate::AUDIO_SAMPLE_RATE;

/// The processor works on 10 ms frames at 48 kHz.
pub const VOICE_FRAME_SAMPLES: usize = AUDIO_SAMPLE_RATE as usize / 100;
/// Render frames kept waiting for the microphone, at most (half a second).
const MAX_QUEUED_RENDER_FRAMES: usize = 50;
/// Render frames allowed to wait before extra ones are fed to catch up.
const RENDER_LEAD_FRAMES: usize = 4;

/// Which parts of the processing are on. All are on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceSettings {
    /// Remove the far end's voice, played by our speakers, from our microphone.
    pub echo_cancellation: bool,
    /// Remove steady background noise (fans, traffic).
    pub noise_suppression: bool,
    /// Bring a quiet or loud voice to a steady level.
    pub auto_gain: bool,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self { echo_cancellation: true, noise_suppression: true, auto_gain: true }
    }
}

impl VoiceSettings {
    /// Everything off: the microphone is sent as captured.
    pub const OFF: Self = Self { echo_cancellation: false, noise_suppression: false, auto_gain: false };
}

/// AEC3's echo suppressor, tuned for a pupil talking over the teacher:
/// - it may trust its linear filter to remove up to 16x (12 dB) of echo power
///   in the low bands and 8x (9 dB) in the high bands before suppressing what
///   is left (WebRTC's defaults: 4x and 1.5x), and it masks high bands less
///   eagerly (above 2 kHz, where consonants and so intelligibility live, it
///   suppresses only where the echo clearly dominates the voice);
/// - once it hears the pupil over the echo (its "dominant near end" state),
///   it stays there for the utterance: it leaves early only if the echo is
///   100x (not 10x) the voice, and holds 400 ms (not 200) after the voice
///   fades; meanwhile its gains may rise 16x per block (not 2x) and mask less.
///   A pupil's first syllable after a pause is then not swallowed.
///
/// Measured by tests/echo.rs on two teachers' voices and two pupils' (docs/audio.md):
/// near-end STOI 0.73-0.82 with the first tuning alone, 0.85-0.93 with both,
/// while the echo alone is still reduced by over 40 dB and the echo after
/// the pupil stops by over 55 dB. The cost: a strongly non-linear echo (a
/// rattling laptop speaker at full volume) may leak more than with WebRTC's
/// defaults while a pupil talks.
fn echo_canceller_config() -> EchoCanceller3Config {
    let mut config = EchoCanceller3Config::default();
    config.erle.max_l = 16.0;
    config.erle.max_h = 8.0;
    config.suppressor.normal_tuning.mask_hf.enr_transparent = 0.15;
    config.suppressor.normal_tuning.mask_hf.enr_suppress = 0.3;
    let nearend = &mut config.suppressor.nearend_tuning;
    nearend.mask_lf.enr_transparent = 2.0;
    nearend.mask_lf.enr_suppress = 2.5;
    nearend.mask_hf.enr_transparent = 0.6;
    nearend.mask_hf.enr_suppress = 1.0;
    nearend.max_inc_factor = 16.0;
    let detection = &mut config.suppressor.dominant_nearend_detection;
    detection.enr_exit_threshold = 100.0;
    detection.hold_duration = 100;
    // With headphones there is no echo at all: the HMM classifier notices it
    // sooner and more surely than the legacy counter, and stops suppressing.
    config.transparent_mode.use_hmm = true;
    config
}

/// The voice processing of one call: shared by the speakers and the microphone.
pub struct VoiceProcessor {
    /// `None` when everything is off: the microphone is sent as captured.
    pipeline: Option<LinearPipeline>,
    settings: VoiceSettings,
    /// Render samples waiting to make up a whole 10 ms frame.
    render_pending: Vec<f32>,
    /// Whole render frames, handed to AEC3 one before each capture frame: its
    /// pipeline pairs render and capture calls in turn, so they must alternate.
    render_frames: VecDeque<Vec<f32>>,
    input: Vec<f32>,
    output: Vec<f32>,
}

impl std::fmt::Debug for VoiceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessor").field("settings", &self.settings).finish()
    }
}


fn pipeline(settings: VoiceSettings) -> Option<LinearPipeline> {
    if settings == VoiceSettings::OFF {
        return None;
    }
    let format = AudioFormat::ten_ms(AUDIO_SAMPLE_RATE, 1);
    let built = linear::builder(format, format)
        .aec3_config(echo_canceller_config())
        .enable_noise_suppression(settings.noise_suppression)
        .enable_gain_controller2(settings.auto_gain)
        .build();
    let mut pipeline = match built {
        Ok(p) => p,
        Err(e) => {
            // Only a wrong format could fail here, and ours is fixed: send unprocessed rather than nothing.
            tracing::error!(error = %e, "voice processing unavailable; sending the microphone as captured");
            return None;
        }
    };
    if !settings.echo_cancellation {
        let aec = pipeline.handles().aec3.node_id();
        let _ = pipeline.set_node_state(aec, NodeControlState::Bypassed);
    }
    Some(pipeline)
}

impl VoiceProcessor {
    /// A processor with these parts switched on.
    pub fn new(settings: VoiceSettings) -> Self {
        Self {
            pipeline: pipeline(settings),
            settings,
            render_pending: Vec::new(),
            render_frames: VecDeque::new(),
            input: vec![0.0; VOICE_FRAME_SAMPLES],
            output: vec![0.0; VOICE_FRAME_SAMPLES],
        }
    }

    /// What is switched on.
    pub fn settings(&self) -> VoiceSettings {
        self.settings
    }

    /// Switches parts on or off during a call. The echo canceller starts
    /// learning the room again (a few seconds).
    pub fn set_settings(&mut self, settings: VoiceSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.pipeline = pipeline(settings);
            self.render_pending.clear();
            self.render_frames.clear();
        }
    }

    /// Tells the processor what the speakers are about to play (48 kHz mono).
    pub fn analyze_render(&mut self, played: &[i16]) {
        if self.pipeline.is_none() || !self.settings.echo_cancellation {
            return;
        }
        self.render_pending.extend(played.iter().map(|&s| f32::from(s) / 32768.0));
        let whole = self.render_pending.len() / VOICE_FRAME_SAMPLES * VOICE_FRAME_SAMPLES;
        for frame in self.render_pending[..whole].chunks_exact(VOICE_FRAME_SAMPLES) {
            self.render_frames.push_back(frame.to_vec());
        }
        self.render_pending.drain(..whole);
        // With no microphone pulling, keep only the last half second.
        while self.render_frames.len() > MAX_QUEUED_RENDER_FRAMES {
            self.render_frames.pop_front();
        }
    }

    /// Processes captured audio in place (48 kHz mono), in 10 ms frames.
    /// Estrade's frames are 20 ms; a trailing part frame would be left as captured.
    pub fn process_capture(&mut self, samples: &mut [i16]) {
        let Some(pipeline) = &mut self.pipeline else { return };
        for frame in samples.chunks_exact_mut(VOICE_FRAME_SAMPLES) {
            // One render frame per capture frame; more when the speakers' clock runs ahead.
            let extra = self.render_frames.len().saturating_sub(RENDER_LEAD_FRAMES);
            for _ in 0..=extra {
                if let Some(render) = self.render_frames.pop_front() {
                    let _ = pipeline.handle_render_frame(&render);
                }
            }
            for (i, &s) in self.input.iter_mut().zip(frame.iter()) {
                *i = f32::from(s) / 32768.0;
            }
            if let Ok(true) = pipeline.process_capture_frame(&self.input, &mut self.output) {
                for (s, &o) in frame.iter_mut().zip(self.output.iter()) {
                    *s = (o.clamp(-1.0, 1.0) * 32767.0) as i16;
                }
            }
        }
    }
}

/// What the voice thread is asked to do.
enum Job {
    Render(Vec<i16>),
    Capture(Vec<i16>, mpsc::SyncSender<Vec<i16>>),
    Settings(VoiceSettings),
}

/// How long the microphone waits for its frame to be processed before sending
/// it as captured (the voice thread is starved or gone).
const CAPTURE_PATIENCE: Duration = Duration::from_millis(30);

/// A [`VoiceProcessor`] on a thread of its own, shared by the speakers and the
/// microphone. (The `aec3` pipeline is single-threaded: it cannot move between
/// threads, so the threads that need it send it work.) Cheap to clone; the
/// thread ends with the last clone.
#[derive(Debug, Clone)]
pub struct SharedVoiceProcessor {
    jobs: mpsc::Sender<Job>,
}

impl SharedVoiceProcessor {
    /// Starts the voice thread with these parts switched on.
    pub fn start(settings: VoiceSettings) -> Self {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new().name("estrade-voice".into()).spawn(move || {
            let mut processor = VoiceProcessor::new(settings);
            for job in inbox {
                match job {
                    Job::Render(played) => processor.analyze_render(&played),
                    Job::Capture(mut samples, reply) => {
                        processor.process_capture(&mut samples);
                        let _ = reply.send(samples);
                    }
                    Job::Settings(settings) => processor.set_settings(settings),
                }
            }
        });
        if let Err(e) = spawned {
            // Every call below then leaves the audio as it is.
            tracing::error!(error = %e, "cannot start voice processing; sending the microphone as captured");
        }
        Self { jobs }
    }

    /// See [`VoiceProcessor::analyze_render`].
    pub fn analyze_render(&self, played: &[i16]) {
        let _ = self.jobs.send(Job::Render(played.to_vec()));
    }

    /// See [`VoiceProcessor::process_capture`]. Left as captured if the voice
    /// thread does not answer in time; returns whether it was processed.
    pub fn process_capture(&self, samples: &mut [i16]) -> bool {
        let (reply, answer) = mpsc::sync_channel(1);
        if self.jobs.send(Job::Capture(samples.to_vec(), reply)).is_err() {
            return false;
        }
        match answer.recv_timeout(CAPTURE_PATIENCE) {
            Ok(processed) if processed.len() == samples.len() => {
                samples.copy_from_slice(&processed);
                true
            }
            _ => false,
        }
    }

    /// See [`VoiceProcessor::set_settings`].
    pub fn set_settings(&self, settings: VoiceSettings) {
        let _ = self.jobs.send(Job::Settings(settings));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_leaves_the_signal_alone() {
        let mut p = VoiceProcessor::new(VoiceSettings::OFF);
        let mut x: Vec<i16> = (0..960).map(|i| (i * 7) as i16).collect();
        let before = x.clone();
        p.process_capture(&mut x);
        assert_eq!(x, before);
    }

    #[test]
    fn whole_frames_keep_their_length_and_order() {
        let mut p = VoiceProcessor::new(VoiceSettings::default());
        for _ in 0..50 {
            p.analyze_render(&[0; 960]);
            let mut x = vec![1000i16; 960];
            p.process_capture(&mut x);
            assert_eq!(x.len(), 960);
        }
    }

    #[test]
    fn the_shared_processor_answers_from_its_thread() {
        let shared = SharedVoiceProcessor::start(VoiceSettings::OFF);
        let mut x: Vec<i16> = (0..960).map(|i| i as i16).collect();
        let before = x.clone();
        shared.analyze_render(&[0; 960]);
        assert!(shared.process_capture(&mut x), "answered in time");
        assert_eq!(x, before, "off: untouched");
        shared.set_settings(VoiceSettings::default());
        let mut loud = vec![8_000i16; 960];
        for _ in 0..20 {
            shared.process_capture(&mut loud);
        }
        assert_ne!(loud, vec![8_000i16; 960], "on: processed (a constant is filtered out by the high-pass)");
    }
}
