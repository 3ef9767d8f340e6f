//! The moving test pattern, with its frame number drawn in so a receiver can read it back.
//!
//! The number is drawn as a row of large black and white cells (24 bits of
//! frame number, then an 8-bit check), big enough to survive VP8 at any sane
//! bitrate. A receiver that reads a frame with a bad check gets `None`.

use crate::{source::VideoSource, VideoFrame};

const CELL: u32 = 16;
const NUMBER_BITS: u32 = 24;
const CHECK_BITS: u32 = 8;
const CELLS: u32 = NUMBER_BITS + CHECK_BITS;
const WHITE: u8 = 235;
const BLACK: u8 = 16;
/// Cells start this far from the top-left corner, clear of the edge.
const ORIGIN: u32 = 8;

/// A moving colour pattern with the frame counter drawn into it.
#[derive(Debug, Clone)]
pub struct TestPattern {
    width: u32,
    height: u32,
    fps: u32,
    frame_number: u32,
}

impl TestPattern {
    /// A pattern of the given size (at least 544×48, to fit the number) and rate.
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        Self { width: width.max(ORIGIN * 2 + CELLS * CELL) & !1, height: height.max(48) & !1, fps, frame_number: 0 }
    }

    /// Draws frame `n` without advancing the pattern.
    pub fn draw(&self, n: u32) -> VideoFrame {
        let mut frame = VideoFrame::black(self.width, self.height);
        let (w, h) = (self.width as usize, self.height as usize);
        // A diagonal gradient that scrolls, and a bright bar that sweeps across,
        // so that every frame really differs from the last.
        let shift = (n as usize * 4) % 256;
        let bar_x = (n as usize * 8) % w;
        let y = frame.y_mut();
        for row in 0..h {
            for col in 0..w {
                let v = ((row + col + shift) % 256) as u8 / 2 + 40;
                y[row * w + col] = if col.abs_diff(bar_x) < 12 { WHITE } else { v };
            }
        }
        let luma = w * h;
        let (cw, ch) = (w / 2, h / 2);
        for row in 0..ch {
            for col in 0..cw {
                frame.data[luma + row * cw + col] = ((col * 255) / cw) as u8;
                frame.data[luma + cw * ch + row * cw + col] = ((row * 255) / ch.max(1)) as u8;
            }
        }
        draw_number(&mut frame, n);
        frame
    }
}

impl VideoSource for TestPattern {
    fn frames_per_second(&self) -> u32 {
        self.fps
    }

    fn next_frame(&mut self) -> VideoFrame {
        let frame = self.draw(self.frame_number);
        self.frame_number = self.frame_number.wrapping_add(1) & ((1 << NUMBER_BITS) - 1);
        frame
    }
}

fn check_of(n: u32) -> u32 {
    // Not a cryptographic check: enough to reject a half-decoded or scaled picture.
    (n ^ (n >> 8) ^ (n >> 16) ^ 0xA5) & 0xFF
}

fn bits_of(n: u32) -> u32 {
    (n & ((1 << NUMBER_BITS) - 1)) << CHECK_BITS | check_of(n & ((1 << NUMBER_BITS) - 1))
}

fn draw_number(frame: &mut VideoFrame, n: u32) {
    let w = frame.width as usize;
    let bits = bits_of(n);
    let y = frame.y_mut();
    // A black band behind the cells keeps the scrolling gradient out of them.
    for row in 0..(CELL + 2 * ORIGIN) as usize {
        for col in 0..(CELLS * CELL + 2 * ORIGIN) as usize {
            y[row * w + col] = BLACK;
        }
    }
    for cell in 0..CELLS {
        let on = bits >> (CELLS - 1 - cell) & 1 == 1;
        let x0 = (ORIGIN + cell * CELL) as usize;
        for row in ORIGIN as usize..(ORIGIN + CELL) as usize {
            for col in x0..x0 + CELL as usize {
                y[row * w + col] = if on { WHITE } else { BLACK };
            }
        }
    }
}

/// Reads back the frame number drawn by [`TestPattern`], or `None` when the
/// picture does not carry a readable one.
pub fn read_frame_number(frame: &VideoFrame) -> Option<u32> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    if w < (ORIGIN + CELLS * CELL) as usize || h < (ORIGIN + CELL) as usize || frame.data.len() < w * h {
        return None;
    }
    let y = frame.y();
    let mut bits = 0u32;
    for cell in 0..CELLS {
        // Sample the centre of each cell, away from blurred edges.
        let x0 = (ORIGIN + cell * CELL + CELL / 4) as usize;
        let y0 = (ORIGIN + CELL / 4) as usize;
        let mut sum = 0u32;
        for row in y0..y0 + (CELL / 2) as usize {
            for col in x0..x0 + (CELL / 2) as usize {
                sum += u32::from(y[row * w + col]);
            }
        }
        let mean = sum / (CELL / 2 * CELL / 2);
        bits = bits << 1 | u32::from(mean > u32::from(WHITE + BLACK) / 2);
    }
    let number = bits >> CHECK_BITS;
    (bits & 0xFF == check_of(number)).then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_exactly() {
        let pattern = TestPattern::new(640, 360, 15);
        for n in [0, 1, 2, 255, 256, 65_535, 1 << 23, (1 << 24) - 1] {
            assert_eq!(read_frame_number(&pattern.draw(n)), Some(n));
        }
    }

    #[test]
    fn a_corrupted_number_is_rejected() {
        let pattern = TestPattern::new(640, 360, 15);
        let mut frame = pattern.draw(1234);
        // Flip the first cell.
        let w = frame.width as usize;
        for row in ORIGIN as usize..(ORIGIN + CELL) as usize {
            for col in ORIGIN as usize..(ORIGIN + CELL) as usize {
                frame.y_mut()[row * w + col] = WHITE;
            }
        }
        assert_eq!(read_frame_number(&frame), None);
        assert_eq!(read_frame_number(&VideoFrame::black(640, 360)), None, "black is not frame 0");
        assert_eq!(read_frame_number(&VideoFrame::black(32, 32)), None);
    }

    #[test]
    fn consecutive_frames_differ() {
        let mut pattern = TestPattern::new(320, 180, 15);
        let a = pattern.next_frame();
        let b = pattern.next_frame();
        assert_ne!(a, b);
        assert_eq!(read_frame_number(&b), Some(1));
    }
}
