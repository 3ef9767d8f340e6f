//! Pictures for the screen: a decoded I420 frame, scaled to fit the tile that
//! shows it, as RGBA (what a canvas takes without any more work).
//!
//! Colour conversion is the `yuv` crate and scaling is `fast_image_resize`:
//! both SIMD, both maintained; no hand-written pixel loops here.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use yuv::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

use crate::VideoFrame;

/// A scaling failed; the frame is skipped, the next one may do.
#[derive(Debug, thiserror::Error)]
#[error("cannot scale a {width}x{height} frame: {reason}")]
pub struct ScaleError {
    width: u32,
    height: u32,
    reason: String,
}

/// The largest size with `frame`'s aspect ratio that fits in `max_w` × `max_h`,
/// never larger than the frame itself (never zero).
///
/// Never upscaling is deliberate: a bigger picture carries no more detail, but
/// costs a resize here and 4 bytes per pixel across the IPC; the tile's canvas
/// stretches it on screen instead (measured in `scripts/bench-paint`).
pub fn fit(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    let (max_w, max_h) = (max_w.clamp(2, 3840), max_h.clamp(2, 2160));
    if width == 0 || height == 0 {
        return (max_w, max_h);
    }
    let (max_w, max_h) = (max_w.min(width), max_h.min(height));
    let by_width = (max_w, (u64::from(max_w) * u64::from(height) / u64::from(width)) as u32);
    let (w, h) = if by_width.1 <= max_h {
        by_width
    } else {
        ((u64::from(max_h) * u64::from(width) / u64::from(height)) as u32, max_h)
    };
    (w.max(2), h.max(2))
}

/// Converts and scales frames, reusing its buffers between calls.
#[derive(Debug, Default)]
pub struct FrameScaler {
    resizer: Resizer,
    rgba: Vec<u8>,
}

impl FrameScaler {
    /// A scaler with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `frame` to `out` as RGBA, scaled to fit in `max_w` × `max_h`
    /// with its aspect ratio kept. Returns the size written.
    pub fn scale_into(&mut self, frame: &VideoFrame, max_w: u32, max_h: u32, out: &mut Vec<u8>) -> Result<(u32, u32), ScaleError> {
        let (w, h) = (frame.width, frame.height);
        let err = |reason: String| ScaleError { width: w, height: h, reason };
        let luma = (w * h) as usize;
        let chroma = luma / 4;
        if w == 0 || h == 0 || frame.data.len() < luma + 2 * chroma {
            return Err(err("frame data is too short".into()));
        }
        let planes = YuvPlanarImage {
            y_plane: &frame.data[..luma],
            y_stride: w,
            u_plane: &frame.data[luma..luma + chroma],
            u_stride: w / 2,
            v_plane: &frame.data[luma + chroma..luma + 2 * chroma],
            v_stride: w / 2,
            width: w,
            height: h,
        };
        let (out_w, out_h) = fit(w, h, max_w, max_h);
        let start = out.len();
        let out_len = (out_w * out_h * 4) as usize;
        if (out_w, out_h) == (w, h) {
            out.resize(start + out_len, 0);
            yuv::yuv420_to_rgba(&planes, &mut out[start..], w * 4, YuvRange::Limited, YuvStandardMatrix::Bt601)
                .map_err(|e| err(e.to_string()))?;
            return Ok((w, h));
        }
        self.rgba.resize(luma * 4, 0);
        yuv::yuv420_to_rgba(&planes, &mut self.rgba, w * 4, YuvRange::Limited, YuvStandardMatrix::Bt601).map_err(|e| err(e.to_string()))?;
        let src = Image::from_slice_u8(w, h, &mut self.rgba, PixelType::U8x4).map_err(|e| err(e.to_string()))?;
        out.resize(start + out_len, 0);
        let mut dst = Image::from_slice_u8(out_w, out_h, &mut out[start..], PixelType::U8x4).map_err(|e| err(e.to_string()))?;
        // Decoded video is opaque: skip the premultiply and divide passes.
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)).use_alpha(false);
        self.resizer.resize(&src, &mut dst, &options).map_err(|e| err(e.to_string()))?;
        Ok((out_w, out_h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_the_aspect_ratio() {
        assert_eq!(fit(640, 360, 1280, 720), (640, 360), "never upscaled");
        assert_eq!(fit(1280, 720, 640, 640), (640, 360));
        assert_eq!(fit(640, 360, 320, 320), (320, 180));
        assert_eq!(fit(640, 360, 1000, 180), (320, 180));
        assert_eq!(fit(640, 480, 0, 0), (2, 2));
    }

    #[test]
    fn grey_stays_grey_at_every_size() {
        let mut frame = VideoFrame::black(64, 36);
        frame.y_mut().fill(126);
        let mut scaler = FrameScaler::new();
        for (mw, mh, want) in [(64, 36, (64, 36)), (32, 18, (32, 18)), (128, 72, (64, 36))] {
            let mut out = vec![9, 9];
            let (w, h) = scaler.scale_into(&frame, mw, mh, &mut out).unwrap();
            assert_eq!((w, h), want);
            assert_eq!(&out[..2], &[9, 9], "the header is kept");
            assert_eq!(out.len(), 2 + (w * h * 4) as usize);
            for px in out[2..].chunks(4) {
                assert!((124..=130).contains(&px[0]) && px[0] == px[1] && px[1] == px[2], "{px:?}");
                assert_eq!(px[3], 255);
            }
        }
    }

    #[test]
    fn a_short_frame_is_an_error_not_a_panic() {
        let frame = VideoFrame { width: 64, height: 36, data: vec![0; 10] };
        assert!(FrameScaler::new().scale_into(&frame, 32, 18, &mut Vec::new()).is_err());
    }
}
