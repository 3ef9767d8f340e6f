use estrade_vpx::{Decoder, Encoder, VpxError};

use super::CodecError;
use crate::VideoFrame;

fn vpx_err(e: VpxError) -> CodecError {
    CodecError::Vp8(e.to_string())
}

/// Settings for a real-time VP8 encoder.
#[derive(Debug, Clone, Copy)]
pub struct Vp8EncoderConfig {
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Frames per second the source delivers.
    pub fps: u32,
    /// Target bitrate in kbit/s.
    pub bitrate_kbps: u32,
}

/// One encoded VP8 frame.
#[derive(Debug, Clone)]
pub struct EncodedVideo {
    /// The VP8 bitstream of one frame.
    pub data: Vec<u8>,
    /// Whether a decoder can start from this frame.
    pub keyframe: bool,
}

/// A real-time VP8 encoder. Keep it on its own thread: libvpx encoding is
/// CPU-bound and must not stall the async runtime.
#[derive(Debug)]
pub struct Vp8Encoder {
    inner: Encoder,
    config: Vp8EncoderConfig,
    keyframe_requested: bool,
}

impl Vp8Encoder {
    /// Opens an encoder. The first frame is always a keyframe.
    pub fn new(config: Vp8EncoderConfig) -> Result<Self, CodecError> {
        let inner = Encoder::new(config.width, config.height, config.fps, config.bitrate_kbps).map_err(vpx_err)?;
        Ok(Self { inner, config, keyframe_requested: true })
    }

    /// The next encoded frame will be a keyframe (answers PLI and FIR).
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Encodes one picture. The encoder may skip a frame to meet its rate, so
    /// the result can be empty.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<Vec<EncodedVideo>, CodecError> {
        if frame.width != self.config.width || frame.height != self.config.height {
            return Err(CodecError::Vp8(format!(
                "frame is {}x{}, encoder was opened for {}x{}",
                frame.width, frame.height, self.config.width, self.config.height
            )));
        }
        let force = std::mem::take(&mut self.keyframe_requested);
        let frames = self.inner.encode(&frame.data, force).map_err(|e| {
            // A failed forced keyframe must be retried on the next frame.
            self.keyframe_requested |= force;
            vpx_err(e)
        })?;
        Ok(frames.into_iter().map(|f| EncodedVideo { data: f.data, keyframe: f.keyframe }).collect())
    }
}

/// A VP8 decoder producing I420 frames.
#[derive(Debug)]
pub struct Vp8Decoder {
    inner: Decoder,
}

impl Vp8Decoder {
    /// Opens a decoder; the picture size comes from the stream.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self { inner: Decoder::new().map_err(vpx_err)? })
    }

    /// Decodes one complete VP8 frame.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<VideoFrame>, CodecError> {
        Ok(self
            .inner
            .decode(data)
            .map_err(vpx_err)?
            .into_iter()
            .map(|p| VideoFrame { width: p.width, height: p.height, data: p.i420 })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{read_frame_number, TestPattern};
    use crate::VideoSource;

    #[test]
    fn frame_numbers_survive_vp8_and_keyframes_come_on_request() {
        let cfg = Vp8EncoderConfig { width: 640, height: 360, fps: 15, bitrate_kbps: 600 };
        let mut enc = Vp8Encoder::new(cfg).expect("encoder");
        let mut dec = Vp8Decoder::new().expect("decoder");
        let mut pattern = TestPattern::new(640, 360, 15);
        let mut read = Vec::new();
        let mut keyframes = Vec::new();
        for i in 0..30 {
            if i == 20 {
                enc.request_keyframe();
            }
            for packet in enc.encode(&pattern.next_frame()).expect("encode") {
                if packet.keyframe {
                    keyframes.push(i);
                }
                for frame in dec.decode(&packet.data).expect("decode") {
                    read.push(read_frame_number(&frame));
                }
            }
        }
        assert_eq!(keyframes, vec![0, 20]);
        let numbers: Vec<u32> = read.iter().flatten().copied().collect();
        assert_eq!(numbers.len(), read.len(), "every decoded frame is readable: {read:?}");
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        assert!(dec.decode(&[1, 2, 3, 4]).is_err(), "garbage is an error, not a panic");
    }
}
