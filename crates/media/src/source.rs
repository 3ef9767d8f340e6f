//! Media sources. Synthetic ones live here; devices implement the same traits elsewhere.

use std::path::{Path, PathBuf};

use crate::{AudioFrame, VideoFrame, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};

/// Something that yields 20 ms audio frames at 48 kHz mono.
///
/// Sources are pulled by the sender at the wire pace; they never sleep.
pub trait AudioSource: Send {
    /// The next 20 ms of audio.
    fn next_frame(&mut self) -> AudioFrame;
}

/// Something that yields pictures at a fixed rate.
pub trait VideoSource: Send {
    /// The rate at which the sender should pull frames.
    fn frames_per_second(&self) -> u32;
    /// The next picture.
    fn next_frame(&mut self) -> VideoFrame;
    /// Nothing more will come (a shared window was closed): the sender stops.
    fn ended(&self) -> bool {
        false
    }
}

/// A source could not be opened. Retrying with the same input will not help.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The WAV file could not be opened or parsed.
    #[error("cannot read WAV file {path}: {reason}")]
    UnreadableWav {
        /// The file that was asked for.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The WAV file is not in a format the source takes.
    #[error("WAV file {path} is {found}; Estrade needs 16-bit PCM at 48000 Hz (convert with: sox IN.wav -r 48000 -b 16 OUT.wav)")]
    UnsupportedWav {
        /// The file that was asked for.
        path: PathBuf,
        /// A description of the file's format.
        found: String,
    },
}

/// A pure sine tone at a fixed frequency, at -6 dBFS.
#[derive(Debug, Clone)]
pub struct ToneSource {
    frequency_hz: f64,
    sample_index: u64,
}

impl ToneSource {
    /// A tone of the given frequency in hertz.
    pub fn new(frequency_hz: f64) -> Self {
        Self { frequency_hz, sample_index: 0 }
    }
}

impl AudioSource for ToneSource {
    fn next_frame(&mut self) -> AudioFrame {
        let rate = f64::from(AUDIO_SAMPLE_RATE);
        let samples = (0..AUDIO_FRAME_SAMPLES)
            .map(|i| {
                let t = (self.sample_index + i as u64) as f64 / rate;
                // Phase from the absolute index, so no drift accumulates.
                ((t * self.frequency_hz * std::f64::consts::TAU).sin() * 16_384.0) as i16
            })
            .collect();
        self.sample_index += AUDIO_FRAME_SAMPLES as u64;
        AudioFrame { samples }
    }
}

/// A WAV file played in a loop. Stereo files are mixed down to mono.
#[derive(Debug, Clone)]
pub struct WavSource {
    samples: Vec<i16>,
    position: usize,
}

impl WavSource {
    /// Reads the whole file; it must be 16-bit PCM at 48 kHz, mono or stereo.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let unreadable = |e: hound::Error| SourceError::UnreadableWav {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let reader = hound::WavReader::open(path).map_err(unreadable)?;
        let spec = reader.spec();
        if spec.sample_rate != AUDIO_SAMPLE_RATE
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
            || !(1..=2).contains(&spec.channels)
        {
            return Err(SourceError::UnsupportedWav {
                path: path.to_owned(),
                found: format!(
                    "{} Hz, {}-bit {:?}, {} channel(s)",
                    spec.sample_rate, spec.bits_per_sample, spec.sample_format, spec.channels
                ),
            });
        }
        let interleaved: Vec<i16> =
            reader.into_samples::<i16>().collect::<Result<_, _>>().map_err(unreadable)?;
        let samples: Vec<i16> = if spec.channels == 2 {
            interleaved
                .chunks_exact(2)
                .map(|lr| ((i32::from(lr[0]) + i32::from(lr[1])) / 2) as i16)
                .collect()
        } else {
            interleaved
        };
        Ok(Self { samples, position: 0 })
    }

    /// Builds a source from samples already in memory (48 kHz mono).
    pub fn from_samples(samples: Vec<i16>) -> Self {
        Self { samples, position: 0 }
    }
}

impl AudioSource for WavSource {
    fn next_frame(&mut self) -> AudioFrame {
        if self.samples.is_empty() {
            return AudioFrame { samples: vec![0; AUDIO_FRAME_SAMPLES] };
        }
        let samples = (0..AUDIO_FRAME_SAMPLES)
            .map(|_| {
                let s = self.samples[self.position];
                self.position = (self.position + 1) % self.samples.len();
                s
            })
            .collect();
        AudioFrame { samples }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(channels: u16, sample_rate: u32) -> hound::WavSpec {
        hound::WavSpec { channels, sample_rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int }
    }

    #[test]
    fn wav_source_loops_and_downmixes() {
        let dir = std::env::temp_dir().join(format!("estrade-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("stereo.wav");
        let mut w = hound::WavWriter::create(&path, spec(2, 48_000)).expect("create wav");
        for i in 0..100i16 {
            w.write_sample(i * 2).expect("write");
            w.write_sample(0).expect("write");
        }
        w.finalize().expect("finalize");
        let mut src = WavSource::open(&path).expect("valid wav");
        let frame = src.next_frame();
        assert_eq!(frame.samples.len(), AUDIO_FRAME_SAMPLES);
        assert_eq!(&frame.samples[..3], &[0, 1, 2]);
        assert_eq!(frame.samples[100], 0, "loops back to the start");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn wrong_rate_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("estrade-wav8k-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("8k.wav");
        hound::WavWriter::create(&path, spec(1, 8_000)).expect("create").finalize().expect("finalize");
        let err = WavSource::open(&path).expect_err("8 kHz is refused");
        assert!(err.to_string().contains("48000"), "{err}");
        let missing = WavSource::open(&dir.join("nope.wav")).expect_err("missing file");
        assert!(missing.to_string().contains("nope.wav"), "{missing}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
