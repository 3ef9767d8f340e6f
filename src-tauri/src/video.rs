//! Decoded pictures to the screen, for visible tiles only, scaled in Rust to
//! the tile's size, with bounded work under backpressure.
//!
//! The UI says which tiles it shows and at what size ([`VideoRouter::set_tiles`]).
//! A decoded frame for anyone else is ignored at once. For a shown tile, the
//! newest frame waits in a one-slot mailbox (a newer frame replaces it: that is
//! the drop policy), and one worker thread scales it and sends it over the
//! tile channel. At most [`MAX_IN_FLIGHT`] frames per tile may be unpainted; the
//! UI acknowledges each painted frame ([`VideoRouter::painted`]). So a slow
//! window costs dropped frames, never a growing queue. There is deliberately no
//! timeout on an acknowledgement: a stalled webview would otherwise keep
//! receiving frames it never fetches (Tauri holds them in memory). A reloaded
//! page starts afresh ([`VideoRouter::set_sink`]), and tiles are served in turn,
//! so a costly spotlight cannot starve the strip.
//!
//! Packet layout (little-endian), read by `ui/src/video/packet.ts`:
//! `u32 width | u32 height | f64 decoded_at_ms (Unix epoch) | u16 key_len | key (UTF-8) | RGBA`.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use estrade_media::scale::FrameScaler;
use estrade_media::VideoFrame;

use crate::dto::VideoTile;

/// Unpainted frames allowed per tile before newer ones wait (and replace each other).
pub const MAX_IN_FLIGHT: usize = 2;
/// The header before the key and the pixels.
const HEADER: usize = 4 + 4 + 8 + 2;

/// Where packets go: the webview's channel, or a test's vector.
pub trait PacketSink: Send + Sync {
    /// Sends one packet; an error means the window is gone.
    fn send(&self, packet: Vec<u8>) -> Result<(), String>;
}

/// Writes a packet's header and key; the caller appends the pixels.
pub fn packet_header(key: &str, width: u32, height: u32, decoded_at_ms: f64, capacity: usize) -> Vec<u8> {
    let key = &key.as_bytes()[..key.len().min(u16::MAX as usize)];
    let mut out = Vec::with_capacity(HEADER + key.len() + capacity);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&decoded_at_ms.to_le_bytes());
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(key);
    out
}

/// Milliseconds since the Unix epoch: the one clock Rust and the webview share.
pub fn epoch_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

#[derive(Debug, Default)]
struct Tile {
    width: u32,
    height: u32,
    pending: Option<(VideoFrame, f64)>,
    /// Frames sent and not yet painted.
    in_flight: usize,
}

impl Tile {
    fn ready(&self) -> bool {
        self.pending.is_some() && self.in_flight < MAX_IN_FLIGHT
    }
}

/// Counts since the router started, for logs and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct VideoStats {
    /// Frames offered for a shown tile.
    pub offered: u64,
    /// Frames replaced by a newer one before they could be sent.
    pub dropped: u64,
    /// Frames scaled and sent.
    pub sent: u64,
}

#[derive(Default)]
struct State {
    tiles: HashMap<String, Tile>,
    sink: Option<Arc<dyn PacketSink>>,
    stats: VideoStats,
    /// The tile served last, so the next turn goes to the one after it.
    last_served: Option<String>,
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data: carry on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Routes decoded frames to visible tiles. Cheap to clone.
#[derive(Clone)]
pub struct VideoRouter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for VideoRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoRouter").field("stats", &self.stats()).finish()
    }
}

impl VideoRouter {
    /// A router with its worker thread running.
    pub fn start() -> Self {
        let router = Self { shared: Arc::new(Shared { state: Mutex::new(State::default()), wake: Condvar::new() }) };
        let worker = router.clone();
        let spawned = std::thread::Builder::new().name("video-out".into()).spawn(move || worker.run());
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the video thread: no pictures will be shown");
        }
        router
    }

    /// Where packets go from now on (a new window or a reloaded page).
    pub fn set_sink(&self, sink: Arc<dyn PacketSink>) {
        let mut state = self.shared.lock();
        state.sink = Some(sink);
        for tile in state.tiles.values_mut() {
            tile.in_flight = 0;
        }
    }

    /// The tiles now on screen; others get no frames.
    pub fn set_tiles(&self, tiles: &[VideoTile]) {
        let mut state = self.shared.lock();
        state.tiles.retain(|key, _| tiles.iter().any(|t| &t.participant == key));
        for t in tiles {
            let tile = state.tiles.entry(t.participant.clone()).or_default();
            tile.width = t.width.clamp(2, 3840);
            tile.height = t.height.clamp(2, 2160);
        }
        self.shared.wake.notify_one();
    }

    /// A decoded frame for `key`. Returns at once; costs a copy only if the tile is shown.
    pub fn offer(&self, key: &str, frame: &VideoFrame) {
        let mut state = self.shared.lock();
        let Some(tile) = state.tiles.get_mut(key) else { return };
        let replaced = tile.pending.replace((frame.clone(), epoch_ms())).is_some();
        state.stats.offered += 1;
        if replaced {
            state.stats.dropped += 1;
        }
        self.shared.wake.notify_one();
    }

    /// The UI painted a frame of `key`.
    pub fn painted(&self, key: &str) {
        let mut state = self.shared.lock();
        if let Some(tile) = state.tiles.get_mut(key) {
            tile.in_flight = tile.in_flight.saturating_sub(1);
            self.shared.wake.notify_one();
        }
    }

    /// Forgets every tile (the class ended).
    pub fn clear(&self) {
        self.shared.lock().tiles.clear();
    }

    pub fn stats(&self) -> VideoStats {
        self.shared.lock().stats
    }

    /// Stops the worker thread.
    pub fn stop(&self) {
        self.shared.lock().stopped = true;
        self.shared.wake.notify_all();
    }

    /// The next frame to send: (key, frame, decoded_at, size, sink).
    #[allow(clippy::type_complexity)]
    fn next_job(&self) -> Option<(String, VideoFrame, f64, (u32, u32), Arc<dyn PacketSink>)> {
        let mut state = self.shared.lock();
        loop {
            if state.stopped {
                return None;
            }
            if let Some(sink) = state.sink.clone() {
                // Round robin: the first ready tile after the one served last.
                let mut ready: Vec<&String> = state.tiles.iter().filter(|(_, t)| t.ready()).map(|(k, _)| k).collect();
                ready.sort();
                let next = match &state.last_served {
                    Some(last) => ready.iter().find(|k| **k > last).or_else(|| ready.first()),
                    None => ready.first(),
                };
                if let Some(key) = next.map(|k| (*k).clone()) {
                    let tile = state.tiles.get_mut(&key).expect("the key was just found");
                    let (frame, at) = tile.pending.take().expect("ready() checked the pending frame");
                    tile.in_flight += 1;
                    let size = (tile.width, tile.height);
                    state.last_served = Some(key.clone());
                    return Some((key, frame, at, size, sink));
                }
            }
            state = self.shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn run(self) {
        let mut scaler = FrameScaler::new();
        while let Some((key, frame, decoded_at, (max_w, max_h), sink)) = self.next_job() {
            let (w, h) = estrade_media::scale::fit(frame.width, frame.height, max_w, max_h);
            let mut packet = packet_header(&key, w, h, decoded_at, (w * h * 4) as usize);
            match scaler.scale_into(&frame, max_w, max_h, &mut packet) {
                Ok(_) => {
                    if let Err(e) = sink.send(packet) {
                        tracing::debug!(error = %e, "video channel closed");
                    }
                    self.shared.lock().stats.sent += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "frame skipped");
                    // Nothing was sent: give the slot back.
                    self.painted(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[derive(Default)]
    struct Collect(Mutex<Vec<Vec<u8>>>);

    impl PacketSink for Collect {
        fn send(&self, packet: Vec<u8>) -> Result<(), String> {
            self.0.lock().unwrap().push(packet);
            Ok(())
        }
    }

    fn wait_for(sink: &Collect, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.0.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        sink.0.lock().unwrap().clone()
    }

    fn tile(p: &str, w: u32, h: u32) -> VideoTile {
        VideoTile { participant: p.into(), width: w, height: h }
    }

    #[test]
    fn only_shown_tiles_get_frames_at_their_size() {
        let router = VideoRouter::start();
        let sink = Arc::new(Collect::default());
        router.set_sink(sink.clone());
        router.set_tiles(&[tile("7", 320, 180)]);
        let frame = VideoFrame::black(640, 360);
        router.offer("8", &frame);
        router.offer("7", &frame);
        let got = wait_for(&sink, 1);
        assert_eq!(got.len(), 1);
        let p = &got[0];
        assert_eq!(u32::from_le_bytes(p[0..4].try_into().unwrap()), 320);
        assert_eq!(u32::from_le_bytes(p[4..8].try_into().unwrap()), 180);
        let decoded_at = f64::from_le_bytes(p[8..16].try_into().unwrap());
        assert!((epoch_ms() - decoded_at).abs() < 5000.0);
        assert_eq!(u16::from_le_bytes(p[16..18].try_into().unwrap()), 1);
        assert_eq!(&p[18..19], b"7");
        assert_eq!(p.len(), HEADER + 1 + 320 * 180 * 4);
        assert_eq!(router.stats(), VideoStats { offered: 1, dropped: 0, sent: 1 });
        router.stop();
    }

    #[test]
    fn an_unpainting_window_costs_dropped_frames_not_a_queue() {
        let router = VideoRouter::start();
        let sink = Arc::new(Collect::default());
        router.set_sink(sink.clone());
        router.set_tiles(&[tile("7", 64, 36)]);
        let frame = VideoFrame::black(64, 36);
        for _ in 0..50 {
            router.offer("7", &frame);
            std::thread::sleep(Duration::from_millis(1));
        }
        let got = wait_for(&sink, MAX_IN_FLIGHT);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(sink.0.lock().unwrap().len(), MAX_IN_FLIGHT, "no more than the in-flight limit without acks");
        let stats = router.stats();
        assert_eq!(stats.offered, 50);
        assert!(stats.dropped >= 50 - MAX_IN_FLIGHT as u64 - 1, "{stats:?}");
        // Painting one lets exactly the newest waiting frame through.
        router.painted("7");
        let got_after = wait_for(&sink, got.len() + 1);
        assert_eq!(got_after.len(), MAX_IN_FLIGHT + 1);
        router.stop();
    }

    #[test]
    fn hidden_tiles_stop_receiving() {
        let router = VideoRouter::start();
        let sink = Arc::new(Collect::default());
        router.set_sink(sink.clone());
        router.set_tiles(&[tile("7", 64, 36)]);
        router.set_tiles(&[]);
        router.offer("7", &VideoFrame::black(64, 36));
        std::thread::sleep(Duration::from_millis(50));
        assert!(sink.0.lock().unwrap().is_empty());
        assert_eq!(router.stats().offered, 0);
        router.stop();
    }
}

#[cfg(test)]
mod turn_tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Counts packets per tile key.
    #[derive(Default)]
    struct Count(Mutex<HashMap<String, usize>>);

    impl PacketSink for Count {
        fn send(&self, packet: Vec<u8>) -> Result<(), String> {
            let len = usize::from(u16::from_le_bytes([packet[16], packet[17]]));
            let key = String::from_utf8_lossy(&packet[18..18 + len]).into_owned();
            *self.0.lock().unwrap().entry(key).or_default() += 1;
            Ok(())
        }
    }

    #[test]
    fn tiles_are_served_in_turn() {
        let router = VideoRouter::start();
        let sink = Arc::new(Count::default());
        router.set_sink(sink.clone());
        let tiles: Vec<VideoTile> =
            ["a", "b", "c"].iter().map(|k| VideoTile { participant: (*k).into(), width: 64, height: 36 }).collect();
        router.set_tiles(&tiles);
        let frame = VideoFrame::black(64, 36);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Every tile always has a frame waiting and the window paints at once.
        while sink.0.lock().unwrap().values().sum::<usize>() < 60 && Instant::now() < deadline {
            for k in ["a", "b", "c"] {
                router.offer(k, &frame);
                router.painted(k);
            }
        }
        let counts = sink.0.lock().unwrap().clone();
        router.stop();
        let (min, max) = (counts.values().min().copied().unwrap_or(0), counts.values().max().copied().unwrap_or(0));
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(min * 2 >= max, "one tile starved the others: {counts:?}");
    }
}
