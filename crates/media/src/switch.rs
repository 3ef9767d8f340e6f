//! On/off switches for a source: the microphone and camera buttons.
//!
//! A switched-off source keeps the sender's pace but yields silence or a black
//! picture, so the connection and the encoder stay warm and switching back on
//! is instant. (Releasing a real device when the camera is off is the device
//! crate's job: it wraps its own source.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{AudioFrame, AudioSource, VideoFrame, VideoSource, AUDIO_FRAME_SAMPLES};

/// A shared on/off flag; clones switch the same source.
#[derive(Debug, Clone)]
pub struct MediaSwitch(Arc<AtomicBool>);

impl MediaSwitch {
    /// A switch in the given position.
    pub fn new(on: bool) -> Self {
        Self(Arc::new(AtomicBool::new(on)))
    }

    /// Turns the source on or off.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }

    /// Whether the source is on.
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// An audio source behind a switch: silence while off.
pub struct SwitchedAudio {
    inner: Box<dyn AudioSource>,
    switch: MediaSwitch,
}

impl std::fmt::Debug for SwitchedAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchedAudio").field("on", &self.switch.is_on()).finish()
    }
}

impl SwitchedAudio {
    /// Wraps `inner`.
    pub fn new(inner: Box<dyn AudioSource>, switch: MediaSwitch) -> Self {
        Self { inner, switch }
    }
}

impl AudioSource for SwitchedAudio {
    fn next_frame(&mut self) -> AudioFrame {
        // Pulled even while off: a device holds no stale sound for the moment
        // it is switched back on.
        let frame = self.inner.next_frame();
        if self.switch.is_on() {
            frame
        } else {
            AudioFrame { samples: vec![0; AUDIO_FRAME_SAMPLES] }
        }
    }
}

/// Something that wants to see each picture we send (a self-view).
pub type FrameTap = Box<dyn Fn(&VideoFrame) + Send>;

/// A video source behind a switch: black while off. An optional tap sees
/// every picture actually sent.
pub struct SwitchedVideo {
    inner: Box<dyn VideoSource>,
    switch: MediaSwitch,
    black: Option<VideoFrame>,
    tap: Option<FrameTap>,
}

impl std::fmt::Debug for SwitchedVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchedVideo").field("on", &self.switch.is_on()).field("tap", &self.tap.is_some()).finish()
    }
}

impl SwitchedVideo {
    /// Wraps `inner`; `tap`, if any, sees every picture sent.
    pub fn new(inner: Box<dyn VideoSource>, switch: MediaSwitch, tap: Option<FrameTap>) -> Self {
        Self { inner, switch, black: None, tap }
    }
}

impl VideoSource for SwitchedVideo {
    fn frames_per_second(&self) -> u32 {
        self.inner.frames_per_second()
    }

    fn next_frame(&mut self) -> VideoFrame {
        let frame = if self.switch.is_on() {
            self.black = None;
            self.inner.next_frame()
        } else {
            // Keep the size the receivers already know, so they need no new keyframe size.
            let inner = &mut self.inner;
            self.black.get_or_insert_with(|| {
                let f = inner.next_frame();
                VideoFrame::black(f.width, f.height)
            })
            .clone()
        };
        if let Some(tap) = &self.tap {
            tap(&frame);
        }
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::TestPattern;
    use crate::ToneSource;

    #[test]
    fn off_means_silence_and_black() {
        let switch = MediaSwitch::new(true);
        let mut audio = SwitchedAudio::new(Box::new(ToneSource::new(440.0)), switch.clone());
        assert!(audio.next_frame().samples.iter().any(|&s| s != 0));
        switch.set(false);
        assert!(audio.next_frame().samples.iter().all(|&s| s == 0));

        let cam = MediaSwitch::new(false);
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&seen);
        let tap: FrameTap = Box::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let mut video = SwitchedVideo::new(Box::new(TestPattern::new(640, 360, 15)), cam.clone(), Some(tap));
        let f = video.next_frame();
        assert_eq!((f.width, f.height), (640, 360));
        assert!(f.y().iter().all(|&y| y == 16));
        cam.set(true);
        assert!(video.next_frame().y().iter().any(|&y| y != 16));
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    }
}
