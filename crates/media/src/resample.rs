//! Sample-rate conversion for devices that do not run at 48 kHz.
//!
//! A thin streaming wrapper over `rubato`'s FFT resampler: devices hand over
//! whatever chunk sizes they like, the resampler works in fixed 10 ms chunks.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// The resampler could not be built for these rates.
#[derive(Debug, thiserror::Error)]
#[error("cannot convert audio from {from} Hz to {to} Hz: {reason}")]
pub struct ResampleError {
    /// Input rate.
    pub from: u32,
    /// Output rate.
    pub to: u32,
    /// What rubato said.
    pub reason: String,
}

/// Mono streaming resampler: push any number of samples, take what is ready.
pub struct StreamResampler {
    from: u32,
    to: u32,
    /// `None` when the rates are equal: samples pass through untouched.
    fft: Option<Fft<f32>>,
    pending: Vec<f32>,
    out: Vec<f32>,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler").field("from", &self.from).field("to", &self.to).finish()
    }
}

impl StreamResampler {
    /// Converts mono audio from `from` Hz to `to` Hz.
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        let fft = if from == to {
            None
        } else {
            let chunk = (from as usize / 100).max(1); // 10 ms of input
            let fft = Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Input)
                .map_err(|e| ResampleError { from, to, reason: e.to_string() })?;
            Some(fft)
        };
        Ok(Self { from, to, fft, pending: Vec::new(), out: Vec::new() })
    }

    /// The input rate.
    pub fn input_rate(&self) -> u32 {
        self.from
    }

    /// Samples of delay the conversion adds, at the output rate.
    pub fn output_delay(&self) -> usize {
        self.fft.as_ref().map_or(0, |f| f.output_delay())
    }

    /// Feeds `input` and appends every converted sample now ready to `output`.
    pub fn process(&mut self, input: &[f32], output: &mut VecDeque<f32>) {
        let Some(fft) = &mut self.fft else {
            output.extend(input.iter().copied());
            return;
        };
        self.pending.extend_from_slice(input);
        let mut used = 0;
        loop {
            let need = fft.input_frames_next();
            if self.pending.len() - used < need {
                break;
            }
            let frames_out = fft.output_frames_next();
            self.out.resize(frames_out, 0.0);
            let converted = InterleavedSlice::new(&self.pending[used..used + need], 1, need)
                .and_then(|inp| InterleavedSlice::new_mut(&mut self.out[..], 1, frames_out).map(|out| (inp, out)));
            let Ok((inp, mut out)) = converted else { break };
            match fft.process_into_buffer(&inp, &mut out, None) {
                Ok((read, written)) => {
                    used += read;
                    output.extend(self.out[..written].iter().copied());
                }
                // Cannot happen with the sizes asked for above. Should it, the
                // chunk is dropped (a 10 ms click) rather than retried forever.
                Err(_) => used += need,
            }
        }
        self.pending.drain(..used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, hz: f32, n: usize) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 0.5).collect()
    }

    #[test]
    fn converts_44100_to_48000_in_odd_chunks_keeping_the_pitch() {
        let mut rs = StreamResampler::new(44_100, 48_000).expect("valid rates");
        let input = sine(44_100, 1000.0, 44_100);
        let mut out = VecDeque::new();
        for chunk in input.chunks(137) {
            rs.process(chunk, &mut out);
        }
        let out: Vec<f32> = out.into_iter().collect();
        // One second in gives one second out, less what is still in the filter.
        assert!((47_000..=48_000).contains(&out.len()), "{} samples", out.len());
        let as_i16: Vec<i16> = out[4800..].iter().map(|s| (s * 32767.0) as i16).collect();
        let hz = crate::analysis::tone_frequency(&as_i16, 48_000).expect("a tone");
        assert!((hz - 1000.0).abs() < 2.0, "pitch moved to {hz} Hz");
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut rs = StreamResampler::new(48_000, 48_000).expect("valid");
        let mut out = VecDeque::new();
        rs.process(&[0.1, 0.2, 0.3], &mut out);
        assert_eq!(out, [0.1, 0.2, 0.3]);
    }

    #[test]
    fn impossible_rates_are_an_error() {
        assert!(StreamResampler::new(0, 48_000).is_err());
    }
}
