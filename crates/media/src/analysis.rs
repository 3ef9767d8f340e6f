//! Measurements on decoded media, used by tests and by `estrade-cli` reports.

/// Estimates the frequency of a (roughly) pure tone by counting rising
/// zero crossings, interpolated to sub-sample precision.
///
/// Returns `None` when the signal is too short or too quiet to tell.
/// A hand-written estimator rather than an FFT crate: for a single tone,
/// interpolated zero crossings are exact to a fraction of a hertz over one
/// second, and need no windowing or bin interpolation.
pub fn tone_frequency(samples: &[i16], sample_rate: u32) -> Option<f64> {
    let peak = samples.iter().map(|s| s.unsigned_abs()).max()?;
    if peak < 300 {
        return None;
    }
    // Hysteresis keeps low-level noise near zero from adding crossings.
    let threshold = f64::from(peak) * 0.1;
    let mut armed = false;
    let mut first: Option<f64> = None;
    let mut last = 0.0;
    let mut count = 0usize;
    for (i, pair) in samples.windows(2).enumerate() {
        let (a, b) = (f64::from(pair[0]), f64::from(pair[1]));
        if a < -threshold {
            armed = true;
        }
        if armed && a <= 0.0 && b > 0.0 {
            let at = i as f64 + (-a) / (b - a);
            if first.is_none() {
                first = Some(at);
            } else {
                count += 1;
            }
            last = at;
            armed = false;
        }
    }
    let first = first?;
    if count < 2 {
        return None;
    }
    Some(count as f64 * f64::from(sample_rate) / (last - first))
}

/// Root-mean-square level of a block, in dBFS (0 dB = full scale square wave).
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    20.0 * (rms / 32768.0).log10()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AudioSource, ToneSource};

    #[test]
    fn measures_a_generated_tone_within_a_tenth_of_a_hertz() {
        for hz in [220.0, 440.0, 997.0] {
            let mut tone = ToneSource::new(hz);
            let samples: Vec<i16> = (0..50).flat_map(|_| tone.next_frame().samples).collect();
            let got = tone_frequency(&samples, 48_000).expect("a tone is measurable");
            assert!((got - hz).abs() < 0.1, "{hz} Hz measured as {got}");
        }
    }

    #[test]
    fn silence_has_no_frequency() {
        assert_eq!(tone_frequency(&[0; 48_000], 48_000), None);
        assert_eq!(tone_frequency(&[], 48_000), None);
    }
}
