//! The codecs Estrade sends and receives: Opus for audio, VP8 for video.
//!
//! Both wrap the system libraries (libopus, libvpx) through maintained
//! safe bindings (`audiopus`, `vpx-rs`).

mod opus;
mod vp8;

pub use opus::{OpusDecoder, OpusEncoder};
pub use vp8::{EncodedVideo, Vp8Decoder, Vp8Encoder, Vp8EncoderConfig};

/// A codec failed. Encoder and decoder errors on one packet do not poison the
/// codec: the caller may drop the packet and carry on.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The Opus library refused an operation.
    #[error("Opus: {0}")]
    Opus(String),
    /// The VP8 library refused an operation.
    #[error("VP8: {0}")]
    Vp8(String),
}
