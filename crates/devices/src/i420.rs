//! Packed RGB or RGBA pictures (cameras, screens) to the I420 frames the
//! encoder takes, with `yuv` (BT.601, limited range, as the decoder assumes).

use estrade_media::VideoFrame;
use yuv::{rgb_to_yuv420, rgba_to_yuv420, YuvChromaSubsampling, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

/// How the source pixels are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packed {
    /// Three bytes per pixel.
    Rgb,
    /// Four bytes per pixel (the alpha is ignored).
    Rgba,
}

/// Converts a `width`×`height` picture; an odd last row or column is dropped
/// (I420 halves the chroma). `None` if the buffer is too short or empty.
pub(crate) fn to_i420(width: u32, height: u32, pixels: &[u8], packed: Packed) -> Option<VideoFrame> {
    let (w, h) = (width & !1, height & !1);
    let bytes_per_pixel = if packed == Packed::Rgb { 3 } else { 4 };
    if w == 0 || h == 0 || pixels.len() < (width * height * bytes_per_pixel) as usize {
        return None;
    }
    let mut planar = YuvPlanarImageMut::<u8>::alloc(w, h, YuvChromaSubsampling::Yuv420);
    let stride = width * bytes_per_pixel;
    let (range, matrix, mode) = (YuvRange::Limited, YuvStandardMatrix::Bt601, YuvConversionMode::Balanced);
    match packed {
        Packed::Rgb => rgb_to_yuv420(&mut planar, pixels, stride, range, matrix, mode),
        Packed::Rgba => rgba_to_yuv420(&mut planar, pixels, stride, range, matrix, mode),
    }
    .ok()?;
    let mut data = Vec::with_capacity((w * h * 3 / 2) as usize);
    data.extend_from_slice(planar.y_plane.borrow());
    data.extend_from_slice(planar.u_plane.borrow());
    data.extend_from_slice(planar.v_plane.borrow());
    Some(VideoFrame { width: w, height: h, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_converts_to_i420_of_even_size() {
        let (w, h) = (5u32, 3u32);
        let rgb: Vec<u8> = (0..w * h).flat_map(|_| [255u8, 255, 255]).collect();
        let frame = to_i420(w, h, &rgb, Packed::Rgb).expect("converts");
        assert_eq!((frame.width, frame.height), (4, 2));
        assert_eq!(frame.data.len(), 4 * 2 * 3 / 2);
        assert!(frame.y().iter().all(|&y| y >= 234), "white is bright: {:?}", frame.y());
    }

    #[test]
    fn rgba_black_stays_black_and_short_buffers_are_refused() {
        let frame = to_i420(4, 2, &[0, 0, 0, 255].repeat(8), Packed::Rgba).expect("converts");
        assert!(frame.y().iter().all(|&y| y <= 17), "{:?}", frame.y());
        assert!(to_i420(4, 2, &[0; 10], Packed::Rgba).is_none());
    }
}
