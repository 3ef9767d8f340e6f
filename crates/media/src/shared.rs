//! Local sources that outlive the connections sending them.
//!
//! A class owns its microphone, camera and shared screen; a peer connection
//! only *leases* them. When the connection is replaced (an ICE restart that
//! needs a new publisher, a rejoin after the server restarted), the new one
//! takes a new lease and the device is never closed and reopened: no second
//! permission prompt, no camera light blinking, no lost echo-canceller state.
//!
//! The newest lease wins: an older lease still held by a connection being
//! torn down yields silence (audio) or its last picture again (video), so two
//! senders never split one source's frames between them.

use std::sync::{Arc, Mutex, PoisonError};

use crate::{AudioFrame, AudioSource, VideoFrame, VideoSource, AUDIO_FRAME_SAMPLES};

struct Shared<S: ?Sized> {
    /// Bumped by each new lease; a lease with an older number is stale.
    generation: u64,
    source: Box<S>,
}

/// One source, several successive users.
struct Lessor<S: ?Sized>(Arc<Mutex<Shared<S>>>);

impl<S: ?Sized> Clone for Lessor<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S: ?Sized> Lessor<S> {
    fn new(source: Box<S>) -> Self {
        Self(Arc::new(Mutex::new(Shared { generation: 0, source })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared<S>> {
        // A panic in a source's frame must not take the class's media with it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new lease's number; every older lease goes stale.
    fn next_generation(&self) -> u64 {
        let mut shared = self.lock();
        shared.generation += 1;
        shared.generation
    }

    /// Runs `f` on the source if `generation` is still the newest lease.
    fn with_current<T>(&self, generation: u64, f: impl FnOnce(&mut S) -> T) -> Option<T> {
        let mut shared = self.lock();
        (shared.generation == generation).then(|| f(&mut shared.source))
    }
}

/// An audio source kept by the class; connections take [`SharedAudio::lease`]s.
#[derive(Clone)]
pub struct SharedAudio(Lessor<dyn AudioSource>);

impl std::fmt::Debug for SharedAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedAudio").field("generation", &self.0.lock().generation).finish()
    }
}

impl SharedAudio {
    /// Keeps `source` open for the class's life.
    pub fn new(source: Box<dyn AudioSource>) -> Self {
        Self(Lessor::new(source))
    }

    /// A source for one connection. Any older lease goes silent.
    pub fn lease(&self) -> Box<dyn AudioSource> {
        Box::new(AudioLease { lessor: self.0.clone(), generation: self.0.next_generation() })
    }
}

struct AudioLease {
    lessor: Lessor<dyn AudioSource>,
    generation: u64,
}

impl AudioSource for AudioLease {
    fn next_frame(&mut self) -> AudioFrame {
        self.lessor
            .with_current(self.generation, |source| source.next_frame())
            .unwrap_or_else(|| AudioFrame { samples: vec![0; AUDIO_FRAME_SAMPLES] })
    }
}

/// A video source kept by the class; connections take [`SharedVideo::lease`]s.
#[derive(Clone)]
pub struct SharedVideo {
    lessor: Lessor<dyn VideoSource>,
    frames_per_second: u32,
}

impl std::fmt::Debug for SharedVideo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedVideo").field("fps", &self.frames_per_second).finish()
    }
}

impl SharedVideo {
    /// Keeps `source` open for the class's life.
    pub fn new(source: Box<dyn VideoSource>) -> Self {
        let frames_per_second = source.frames_per_second();
        Self { lessor: Lessor::new(source), frames_per_second }
    }

    /// A source for one connection. Any older lease repeats its last picture
    /// until its connection closes.
    pub fn lease(&self) -> Box<dyn VideoSource> {
        Box::new(VideoLease {
            lessor: self.lessor.clone(),
            generation: self.lessor.next_generation(),
            frames_per_second: self.frames_per_second,
            last: None,
        })
    }

    /// Whether the source itself has ended (a shared window was closed).
    pub fn ended(&self) -> bool {
        self.lessor.lock().source.ended()
    }
}

struct VideoLease {
    lessor: Lessor<dyn VideoSource>,
    generation: u64,
    frames_per_second: u32,
    /// What a stale lease repeats.
    last: Option<VideoFrame>,
}

impl VideoSource for VideoLease {
    fn frames_per_second(&self) -> u32 {
        self.frames_per_second
    }

    fn next_frame(&mut self) -> VideoFrame {
        match self.lessor.with_current(self.generation, |source| source.next_frame()) {
            Some(frame) => {
                self.last = Some(frame.clone());
                frame
            }
            None => self.last.clone().unwrap_or_else(|| VideoFrame::black(16, 16)),
        }
    }

    fn ended(&self) -> bool {
        // A stale lease has not ended: its connection is closing, and must
        // not report the share gone.
        self.lessor.with_current(self.generation, |source| source.ended()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::TestPattern;
    use crate::ToneSource;

    /// Counts the frames pulled, and whether it was dropped.
    struct Counting(Arc<Mutex<(u32, bool)>>);
    impl AudioSource for Counting {
        fn next_frame(&mut self) -> AudioFrame {
            self.0.lock().unwrap().0 += 1;
            AudioFrame { samples: vec![1; AUDIO_FRAME_SAMPLES] }
        }
    }
    impl Drop for Counting {
        fn drop(&mut self) {
            self.0.lock().unwrap().1 = true;
        }
    }

    #[test]
    fn dropping_a_lease_keeps_the_source_open_and_a_new_lease_carries_on() {
        let seen = Arc::new(Mutex::new((0, false)));
        let shared = SharedAudio::new(Box::new(Counting(Arc::clone(&seen))));
        let mut first = shared.lease();
        first.next_frame();
        drop(first);
        assert_eq!(*seen.lock().unwrap(), (1, false), "the source is still open");
        let mut second = shared.lease();
        assert_eq!(second.next_frame().samples[0], 1);
        assert_eq!(seen.lock().unwrap().0, 2, "the same source, not a new one");
        drop(second);
        drop(shared);
        assert!(seen.lock().unwrap().1, "closed with the class");
    }

    #[test]
    fn the_newest_lease_wins() {
        let shared = SharedAudio::new(Box::new(ToneSource::new(440.0)));
        let mut old = shared.lease();
        let mut new = shared.lease();
        assert!(old.next_frame().samples.iter().all(|&s| s == 0), "a stale lease is silent");
        assert!(new.next_frame().samples.iter().any(|&s| s != 0));

        let video = SharedVideo::new(Box::new(TestPattern::new(64, 48, 15)));
        let mut old = video.lease();
        let first = old.next_frame();
        let mut new = video.lease();
        assert!(!old.ended(), "a stale lease does not report the share gone");
        assert_eq!(old.next_frame(), first, "a stale lease repeats its last picture");
        assert_eq!(old.frames_per_second(), 15);
        assert!(!new.ended());
        assert_eq!(new.next_frame().width, first.width);
    }
}
