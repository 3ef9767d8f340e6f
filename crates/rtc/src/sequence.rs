//! Which RTP packets of a stream are missing, and for how long: to ask for a
//! keyframe when retransmission has not repaired a loss in time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most this many missing packets are remembered (older ones are forgotten).
const MAX_TRACKED: usize = 128;

/// Tracks RTP sequence numbers of one stream. Pure logic: the caller passes the time.
#[derive(Debug, Default)]
pub(crate) struct SequenceTracker {
    highest: Option<u16>,
    cycles: u32,
    /// Missing sequence numbers, oldest first, with when their absence was noticed.
    missing: VecDeque<(u16, Instant)>,
}

impl SequenceTracker {
    /// Notes the arrival of packet `seq` at `now`.
    pub(crate) fn on_packet(&mut self, seq: u16, now: Instant) {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            return;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead == 0 {
            return; // duplicate
        }
        if ahead >= 0x8000 {
            // Late: a retransmission or a reordered packet fills its hole.
            self.missing.retain(|(s, _)| *s != seq);
            return;
        }
        for gap in 1..ahead.min(MAX_TRACKED as u16 + 1) {
            self.missing.push_back((highest.wrapping_add(gap), now));
        }
        while self.missing.len() > MAX_TRACKED {
            self.missing.pop_front();
        }
        if seq < highest {
            self.cycles += 1;
        }
        self.highest = Some(seq);
    }

    /// How long the oldest still-missing packet has been missing; packets
    /// missing for longer than `forget_after` are dropped from the record first.
    pub(crate) fn oldest_missing(&mut self, now: Instant, forget_after: Duration) -> Option<Duration> {
        while self.missing.front().is_some_and(|(_, at)| now.duration_since(*at) > forget_after) {
            self.missing.pop_front();
        }
        self.missing.front().map(|(_, at)| now.duration_since(*at))
    }

    /// The extended highest sequence number (cycles << 16 | seq), as RTCP reports it.
    pub(crate) fn extended_highest(&self) -> u32 {
        self.cycles << 16 | u32::from(self.highest.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_tracked_until_filled_or_forgotten() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut t = SequenceTracker::default();
        t.on_packet(10, t0);
        t.on_packet(11, t0);
        assert_eq!(t.oldest_missing(t0, ms(500)), None);
        t.on_packet(14, t0 + ms(10)); // 12 and 13 missing
        assert_eq!(t.oldest_missing(t0 + ms(50), ms(500)), Some(ms(40)));
        t.on_packet(12, t0 + ms(60));
        t.on_packet(13, t0 + ms(70));
        assert_eq!(t.oldest_missing(t0 + ms(80), ms(500)), None, "retransmissions fill the holes");
        t.on_packet(16, t0 + ms(100)); // 15 missing, never comes
        assert_eq!(t.oldest_missing(t0 + ms(700), ms(500)), None, "forgotten once given up on");
        t.on_packet(16, t0 + ms(710));
        assert_eq!(t.extended_highest(), 16);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let t0 = Instant::now();
        let mut t = SequenceTracker::default();
        t.on_packet(65_534, t0);
        t.on_packet(1, t0); // 65535 and 0 missing
        assert_eq!(t.extended_highest(), 1 << 16 | 1);
        assert_eq!(t.missing.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![65_535, 0]);
        t.on_packet(65_535, t0);
        assert_eq!(t.missing.len(), 1);
    }
}
