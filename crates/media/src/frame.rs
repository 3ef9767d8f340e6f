/// Every audio frame in Estrade is 48 kHz mono, the rate Opus runs at natively.
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
/// 20 ms at 48 kHz: the Opus frame size used on the wire.
pub const AUDIO_FRAME_SAMPLES: usize = 960;

/// 20 ms of 48 kHz mono signed 16-bit audio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFrame {
    /// Interleaved samples; mono, so one per instant.
    pub samples: Vec<i16>,
}

/// A picture in I420 (planar Y, then U and V at half resolution).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoFrame {
    /// Width in pixels; always even.
    pub width: u32,
    /// Height in pixels; always even.
    pub height: u32,
    /// Y plane (`width*height` bytes), then U and V (`width*height/4` each).
    pub data: Vec<u8>,
}

impl VideoFrame {
    /// A black frame of the given size. Odd sizes are rounded down to even,
    /// since I420 chroma is subsampled by two.
    pub fn black(width: u32, height: u32) -> Self {
        let (width, height) = (width & !1, height & !1);
        let luma = (width * height) as usize;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Self { width, height, data }
    }

    /// The luma plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..(self.width * self.height) as usize]
    }

    /// The luma plane, writable.
    pub fn y_mut(&mut self) -> &mut [u8] {
        let luma = (self.width * self.height) as usize;
        &mut self.data[..luma]
    }
}
