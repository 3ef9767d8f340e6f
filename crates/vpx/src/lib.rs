//! A minimal safe wrapper over libvpx for real-time VP8.
//!
//! Why hand-written: `vpx-rs` needs libvpx ≥ 1.13 (Debian 12 ships 1.12),
//! and `vpx-encode` can neither force a keyframe (needed to answer PLI/FIR)
//! nor decode. This crate keeps the unsafe surface to the handful of libvpx
//! calls Estrade needs, each documented where it is made.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::ptr;

use vpx_sys::{
    vpx_codec_ctx_t, vpx_codec_cx_pkt_kind, vpx_codec_enc_cfg_t, vpx_codec_err_t, vpx_codec_iter_t, vpx_image_t,
    vpx_img_fmt, vpx_rc_mode,
};

/// Largest keyframe, in percent of the average frame size at the target rate.
const MAX_INTRA_BITRATE_PCT: std::ffi::c_uint = 300;

/// libvpx said no. Per-frame errors leave the codec usable.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("libvpx {call} failed: {message}")]
pub struct VpxError {
    /// The libvpx function that failed.
    pub call: &'static str,
    /// libvpx's own description of the error.
    pub message: String,
}

fn check(call: &'static str, err: vpx_codec_err_t) -> Result<(), VpxError> {
    if err == vpx_codec_err_t::VPX_CODEC_OK {
        return Ok(());
    }
    // SAFETY: vpx_codec_err_to_string returns a pointer to a static,
    // NUL-terminated string for every error value.
    let message = unsafe { CStr::from_ptr(vpx_sys::vpx_codec_err_to_string(err)) }.to_string_lossy().into_owned();
    Err(VpxError { call, message })
}

/// One compressed VP8 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vp8Frame {
    /// The bitstream of the frame.
    pub data: Vec<u8>,
    /// A decoder can start here.
    pub keyframe: bool,
}

/// A real-time VP8 encoder for I420 input. Not `Sync`; it is `Send` so it can
/// move to its own encoding thread.
pub struct Encoder {
    ctx: Box<vpx_codec_ctx_t>,
    width: u32,
    height: u32,
    pts: i64,
}

// SAFETY: the libvpx context is plain heap state with no thread affinity;
// it is only ever used through `&mut self`, so never from two threads at once.
unsafe impl Send for Encoder {}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("width", &self.width).field("height", &self.height).field("pts", &self.pts).finish_non_exhaustive()
    }
}

impl Encoder {
    /// Opens an encoder for `width`×`height` (both even) at `fps`, targeting
    /// `bitrate_kbps` with no look-ahead and one thread.
    pub fn new(width: u32, height: u32, fps: u32, bitrate_kbps: u32) -> Result<Self, VpxError> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 || fps == 0 {
            return Err(VpxError { call: "Encoder::new", message: format!("invalid size {width}x{height} at {fps} fps") });
        }
        // SAFETY: the interface pointer is a static libvpx symbol; the config is
        // fully written by vpx_codec_enc_config_default before it is read.
        let mut cfg: vpx_codec_enc_cfg_t = unsafe {
            let mut cfg = MaybeUninit::<vpx_codec_enc_cfg_t>::zeroed();
            check("vpx_codec_enc_config_default", vpx_sys::vpx_codec_enc_config_default(vpx_sys::vpx_codec_vp8_cx(), cfg.as_mut_ptr(), 0))?;
            cfg.assume_init()
        };
        cfg.g_w = width;
        cfg.g_h = height;
        cfg.g_timebase.num = 1;
        cfg.g_timebase.den = fps as i32;
        cfg.g_threads = 1;
        cfg.g_lag_in_frames = 0;
        cfg.rc_end_usage = vpx_rc_mode::VPX_CBR;
        cfg.rc_target_bitrate = bitrate_kbps;
        cfg.rc_min_quantizer = 4;
        cfg.rc_max_quantizer = 56;
        cfg.g_error_resilient = 1; // VPX_ERROR_RESILIENT_DEFAULT: survive packet loss
        // Keyframes come on request (PLI/FIR) and at least every 10 s as a safety net.
        cfg.kf_max_dist = fps * 10;
        // SAFETY: a zeroed context is the documented initial state; the box
        // keeps its address stable for libvpx's internal back-pointers.
        let mut ctx: Box<vpx_codec_ctx_t> = Box::new(unsafe { MaybeUninit::zeroed().assume_init() });
        check("vpx_codec_enc_init_ver", unsafe {
            vpx_sys::vpx_codec_enc_init_ver(&mut *ctx, vpx_sys::vpx_codec_vp8_cx(), &cfg, 0, vpx_sys::VPX_ENCODER_ABI_VERSION as i32)
        })?;
        // From here on the context is owned by `encoder`, whose Drop destroys it,
        // so an error below does not leak it.
        let mut encoder = Self { ctx, width, height, pts: 0 };
        // Cap keyframes at 3x an average frame (as libwebrtc does): a huge keyframe
        // spans dozens of packets and is the frame most likely to lose one, right
        // when a receiver is waiting for it to recover.
        // SAFETY: ctx is initialised; this control takes one unsigned int.
        check("vpx_codec_control(VP8E_SET_MAX_INTRA_BITRATE_PCT)", unsafe {
            vpx_sys::vpx_codec_control_(
                &mut *encoder.ctx,
                vpx_sys::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as i32,
                MAX_INTRA_BITRATE_PCT,
            )
        })?;
        Ok(encoder)
    }

    /// Encodes one I420 picture (`width*height*3/2` bytes). Returns zero or more
    /// frames (the rate control may drop one).
    pub fn encode(&mut self, i420: &[u8], force_keyframe: bool) -> Result<Vec<Vp8Frame>, VpxError> {
        let expected = (self.width * self.height * 3 / 2) as usize;
        if i420.len() != expected {
            return Err(VpxError { call: "Encoder::encode", message: format!("picture is {} bytes, expected {expected}", i420.len()) });
        }
        let mut img = MaybeUninit::<vpx_image_t>::zeroed();
        // SAFETY: vpx_img_wrap only records pointers into `i420`, which outlives
        // the encode call below; libvpx reads but never writes the planes.
        let wrapped = unsafe {
            vpx_sys::vpx_img_wrap(img.as_mut_ptr(), vpx_img_fmt::VPX_IMG_FMT_I420, self.width, self.height, 1, i420.as_ptr().cast_mut())
        };
        if wrapped.is_null() {
            return Err(VpxError { call: "vpx_img_wrap", message: "could not wrap the picture".into() });
        }
        let flags = if force_keyframe { vpx_sys::VPX_EFLAG_FORCE_KF as i64 } else { 0 };
        // SAFETY: ctx is initialised; the image was just wrapped.
        check("vpx_codec_encode", unsafe {
            vpx_sys::vpx_codec_encode(&mut *self.ctx, wrapped, self.pts, 1, flags as _, vpx_sys::VPX_DL_REALTIME as _)
        })?;
        self.pts += 1;
        let mut out = Vec::new();
        let mut iter: vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the iterator protocol of libvpx; packets stay valid until the next encode call.
            let pkt = unsafe { vpx_sys::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: non-null packets point to initialised vpx_codec_cx_pkt values.
            let pkt = unsafe { &*pkt };
            if pkt.kind != vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: for FRAME packets, `data.frame` is the active union member and
            // buf/sz describe a readable buffer.
            let frame = unsafe { pkt.data.frame };
            if frame.buf.is_null() {
                continue;
            }
            let data = unsafe { std::slice::from_raw_parts(frame.buf.cast::<u8>(), frame.sz as usize) }.to_vec();
            out.push(Vp8Frame { data, keyframe: frame.flags & vpx_sys::VPX_FRAME_IS_KEY != 0 });
        }
        Ok(out)
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: ctx was initialised in new() and is destroyed exactly once.
        unsafe { vpx_sys::vpx_codec_destroy(&mut *self.ctx) };
    }
}

/// A decoded picture, packed I420 with no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Y, then U, then V.
    pub i420: Vec<u8>,
}

/// A VP8 decoder.
pub struct Decoder {
    ctx: Box<vpx_codec_ctx_t>,
}

// SAFETY: as for Encoder: exclusive use through &mut self only.
unsafe impl Send for Decoder {}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

impl Decoder {
    /// Opens a decoder; the picture size is taken from the stream.
    pub fn new() -> Result<Self, VpxError> {
        // SAFETY: zeroed context is the documented initial state; a null config
        // lets libvpx read the size from the bitstream.
        let mut ctx: Box<vpx_codec_ctx_t> = Box::new(unsafe { MaybeUninit::zeroed().assume_init() });
        check("vpx_codec_dec_init_ver", unsafe {
            vpx_sys::vpx_codec_dec_init_ver(&mut *ctx, vpx_sys::vpx_codec_vp8_dx(), ptr::null(), 0, vpx_sys::VPX_DECODER_ABI_VERSION as i32)
        })?;
        Ok(Self { ctx })
    }

    /// Decodes one complete frame. Corrupt data is an error, never a crash.
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<Picture>, VpxError> {
        if data.is_empty() {
            return Err(VpxError { call: "Decoder::decode", message: "empty frame".into() });
        }
        let len = u32::try_from(data.len()).map_err(|_| VpxError { call: "Decoder::decode", message: "frame too large".into() })?;
        // SAFETY: data is a readable buffer of `len` bytes for the duration of the call.
        check("vpx_codec_decode", unsafe { vpx_sys::vpx_codec_decode(&mut *self.ctx, data.as_ptr(), len, ptr::null_mut(), 0) })?;
        let mut out = Vec::new();
        let mut iter: vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: iterator protocol; the image stays valid until the next decode call.
            let img = unsafe { vpx_sys::vpx_codec_get_frame(&mut *self.ctx, &mut iter) };
            if img.is_null() {
                break;
            }
            // SAFETY: non-null images are initialised by libvpx.
            out.push(unsafe { copy_picture(&*img) }?);
        }
        Ok(out)
    }
}

/// Copies a libvpx image (strided planes) into a packed I420 picture.
///
/// # Safety
/// `img` must be a valid image returned by the decoder, with its planes alive.
unsafe fn copy_picture(img: &vpx_image_t) -> Result<Picture, VpxError> {
    if img.fmt != vpx_img_fmt::VPX_IMG_FMT_I420 {
        return Err(VpxError { call: "Decoder::decode", message: format!("unexpected image format {:?}", img.fmt) });
    }
    let (w, h) = ((img.d_w & !1) as usize, (img.d_h & !1) as usize);
    let mut i420 = Vec::with_capacity(w * h * 3 / 2);
    for (plane, pw, ph) in [(0usize, w, h), (1, w / 2, h / 2), (2, w / 2, h / 2)] {
        let stride = img.stride[plane] as usize;
        for row in 0..ph {
            // SAFETY: libvpx guarantees each plane holds `stride` bytes per row
            // for every row of the (possibly subsampled) display size.
            let line = unsafe { std::slice::from_raw_parts(img.planes[plane].add(row * stride), pw) };
            i420.extend_from_slice(line);
        }
    }
    Ok(Picture { width: w as u32, height: h as u32, i420 })
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: ctx was initialised in new() and is destroyed exactly once.
        unsafe { vpx_sys::vpx_codec_destroy(&mut *self.ctx) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forced_keyframe() {
        let (w, h) = (64u32, 48u32);
        let mut enc = Encoder::new(w, h, 15, 300).expect("encoder");
        let mut dec = Decoder::new().expect("decoder");
        let mut keys = Vec::new();
        for i in 0..10u8 {
            let pic: Vec<u8> = (0..w * h * 3 / 2).map(|p| (p as u8).wrapping_add(i * 7)).collect();
            for f in enc.encode(&pic, i == 5).expect("encode") {
                keys.push(f.keyframe);
                let out = dec.decode(&f.data).expect("decode");
                assert_eq!((out[0].width, out[0].height), (w, h));
            }
        }
        assert!(keys[0] && keys[5] && !keys[1]);
        assert!(dec.decode(&[0x9d, 0x01, 0x2a, 1, 2, 3]).is_err());
        assert!(Encoder::new(63, 48, 15, 300).is_err());
        assert!(enc.encode(&[0; 10], false).is_err());
    }
}
