use audiopus::coder::{Decoder, Encoder};
use audiopus::{Application, Bitrate, Channels, SampleRate};

use super::CodecError;
use crate::{AudioFrame, AUDIO_FRAME_SAMPLES};

fn opus_err(e: audiopus::Error) -> CodecError {
    CodecError::Opus(e.to_string())
}

/// Opus encoder for 20 ms mono voice frames at 48 kHz, with in-band FEC on.
#[derive(Debug)]
pub struct OpusEncoder {
    inner: Encoder,
    out: Vec<u8>,
}

impl OpusEncoder {
    /// A voice encoder at `bitrate_bps`.
    pub fn new(bitrate_bps: i32) -> Result<Self, CodecError> {
        let mut inner = Encoder::new(SampleRate::Hz48000, Channels::Mono, Application::Voip).map_err(opus_err)?;
        inner.set_bitrate(Bitrate::BitsPerSecond(bitrate_bps)).map_err(opus_err)?;
        inner.set_inband_fec(true).map_err(opus_err)?;
        inner.set_packet_loss_perc(5).map_err(opus_err)?;
        Ok(Self { inner, out: vec![0; 1500] })
    }

    /// Encodes one 20 ms frame into one Opus packet.
    pub fn encode(&mut self, frame: &AudioFrame) -> Result<Vec<u8>, CodecError> {
        let len = self.inner.encode(&frame.samples, &mut self.out).map_err(opus_err)?;
        Ok(self.out[..len].to_vec())
    }
}

/// Opus decoder to 48 kHz mono.
#[derive(Debug)]
pub struct OpusDecoder {
    inner: Decoder,
    pcm: Vec<i16>,
}

impl OpusDecoder {
    /// A decoder for mono 48 kHz output (stereo streams are mixed down by libopus).
    pub fn new() -> Result<Self, CodecError> {
        let inner = Decoder::new(SampleRate::Hz48000, Channels::Mono).map_err(opus_err)?;
        // 120 ms is the longest Opus packet.
        Ok(Self { inner, pcm: vec![0; AUDIO_FRAME_SAMPLES * 6] })
    }

    /// Decodes one packet; `None` asks for loss concealment of one 20 ms frame.
    pub fn decode(&mut self, packet: Option<&[u8]>) -> Result<Vec<i16>, CodecError> {
        let out: &mut [i16] = match packet {
            Some(_) => &mut self.pcm[..],
            None => &mut self.pcm[..AUDIO_FRAME_SAMPLES],
        };
        let n = self.inner.decode(packet, out, false).map_err(opus_err)?;
        Ok(self.pcm[..n].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analysis::tone_frequency, AudioSource, ToneSource};

    #[test]
    fn a_tone_survives_opus() {
        let mut enc = OpusEncoder::new(32_000).expect("encoder");
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut tone = ToneSource::new(440.0);
        let mut out = Vec::new();
        for _ in 0..50 {
            let packet = enc.encode(&tone.next_frame()).expect("encode");
            out.extend(dec.decode(Some(&packet)).expect("decode"));
        }
        let hz = tone_frequency(&out[4800..], 48_000).expect("tone");
        assert!((hz - 440.0).abs() < 1.0, "{hz}");
        assert_eq!(dec.decode(None).expect("plc").len(), AUDIO_FRAME_SAMPLES);
        assert!(dec.decode(Some(&[0xff, 0xff, 0xff])).is_err(), "garbage is an error, not a panic");
    }
}
