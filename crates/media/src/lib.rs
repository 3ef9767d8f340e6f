//! Media for Estrade: raw frames, synthetic sources, and the Opus and VP8 codecs.
//!
//! Everything here is pure computation: no devices, no sockets, no clock.
//! Real devices (microphone, camera, screen) implement [`AudioSource`] and
//! [`VideoSource`] in their own crate.

pub mod analysis;
pub mod codec;
mod frame;
pub mod pattern;
pub mod playout;
pub mod resample;
pub mod source;
pub mod scale;
pub mod shared;
pub mod switch;
pub mod voice;

pub use frame::{AudioFrame, VideoFrame, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
pub use source::{AudioSource, SourceError, ToneSource, VideoSource, WavSource};
pub use shared::{SharedAudio, SharedVideo};
pub use switch::{MediaSwitch, SwitchedAudio, SwitchedVideo};
