//! Echo cancellation, noise suppression and automatic gain for the microphone.
//!
//! This is WebRTC's own audio processing module (AEC3, noise suppressor, AGC2),
//! through `sonora`, its pure-Rust port. The C++ module's Rust binding
//! (`webrtc-audio-processing`) cannot be built on Debian 12 from packages
//! alone; docs/audio.md gives the comparison and the measurements.
//!
//! The echo canceller must hear what the speakers play (the *render* side) and
//! what the microphone captures (the *capture* side), so one [`VoiceProcessor`]
//! is shared by the playback and the capture paths.

use std::sync::{Arc, Mutex};

use sonora::config::{AdaptiveDigital, EchoCanceller, GainController2, NoiseSuppression};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::AUDIO_SAMPLE_RATE;

/// The processor works on 10 ms frames at 48 kHz.
pub const VOICE_FRAME_SAMPLES: usize = AUDIO_SAMPLE_RATE as usize / 100;

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

    fn config(self) -> Config {
        Config {
            echo_canceller: self.echo_cancellation.then(EchoCanceller::default),
            noise_suppression: self.noise_suppression.then(NoiseSuppression::default),
            gain_controller2: self
                .auto_gain
                .then(|| GainController2 { adaptive_digital: Some(AdaptiveDigital::default()), ..Default::default() }),
            ..Default::default()
        }
    }
}

/// The voice processing of one call: shared by the speakers and the microphone.
pub struct VoiceProcessor {
    apm: AudioProcessing,
    settings: VoiceSettings,
    /// Render samples waiting to make up a whole 10 ms frame.
    render_pending: Vec<i16>,
    scratch: Vec<i16>,
}

impl std::fmt::Debug for VoiceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessor").field("settings", &self.settings).finish()
    }
}

/// A processor shared between the playback and capture threads.
pub type SharedVoiceProcessor = Arc<Mutex<VoiceProcessor>>;

impl VoiceProcessor {
    /// A processor with these parts switched on.
    pub fn new(settings: VoiceSettings) -> Self {
        let stream = StreamConfig::new(AUDIO_SAMPLE_RATE, 1);
        let apm = AudioProcessing::builder().config(settings.config()).capture_config(stream).render_config(stream).build();
        Self { apm, settings, render_pending: Vec::new(), scratch: vec![0; VOICE_FRAME_SAMPLES] }
    }

    /// A processor ready to share between playback and capture.
    pub fn shared(settings: VoiceSettings) -> SharedVoiceProcessor {
        Arc::new(Mutex::new(Self::new(settings)))
    }

    /// What is switched on.
    pub fn settings(&self) -> VoiceSettings {
        self.settings
    }

    /// Switches parts on or off during a call.
    pub fn set_settings(&mut self, settings: VoiceSettings) {
        if settings != self.settings {
            self.settings = settings;
            self.apm.apply_config(settings.config());
        }
    }

    /// Tells the processor what the speakers are about to play (48 kHz mono).
    pub fn analyze_render(&mut self, played: &[i16]) {
        if !self.settings.echo_cancellation {
            return;
        }
        self.render_pending.extend_from_slice(played);
        let whole = self.render_pending.len() / VOICE_FRAME_SAMPLES * VOICE_FRAME_SAMPLES;
        for frame in self.render_pending[..whole].chunks_exact(VOICE_FRAME_SAMPLES) {
            // The render output is not used: the speakers get the unprocessed mix.
            let _ = self.apm.process_render_i16(frame, &mut self.scratch);
        }
        self.render_pending.drain(..whole);
    }

    /// Processes captured audio in place (48 kHz mono), in 10 ms frames.
    /// Estrade's frames are 20 ms; a trailing part frame would be left as captured.
    pub fn process_capture(&mut self, samples: &mut [i16]) {
        if self.settings == VoiceSettings::OFF {
            return;
        }
        for frame in samples.chunks_exact_mut(VOICE_FRAME_SAMPLES) {
            if self.apm.process_capture_i16(frame, &mut self.scratch).is_ok() {
                frame.copy_from_slice(&self.scratch);
            }
        }
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
}
