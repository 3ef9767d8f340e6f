//! How long to wait before trying the classroom servers again.
//!
//! Ten thousand clients that lost the same server at the same instant must not
//! come back at the same instant: that is how a restarted server is knocked
//! over again. Two shapes are here:
//!
//! - [`Backoff::delay`], *full jitter* (AWS Architecture Blog, "Exponential
//!   Backoff And Jitter", 2015): uniform between zero and a ceiling that
//!   doubles with each failure, up to a cap. For one thing failing on its own
//!   (a subscription).
//! - [`Backoff::first_wait`] and [`Backoff::next_wait`], *slotted*: an outage
//!   is cut into windows that grow up to the cap, and each client tries
//!   once per window, always at the same fraction of it (its [`Phase`], drawn
//!   once per outage). For a herd that lost its server together. Full jitter
//!   redraws every wait, so the clients whose ceiling is still small are the
//!   ones that come back first, bunched just after the server's return (3.8x
//!   the mean arrival rate in a 300-client simulation); with a phase held
//!   across the windows, the attempts in any window are spread evenly over it
//!   whenever the server comes back, and two attempts of one client are never
//!   closer than a window.
//!
//! A server that says when to come back (`retry_after_s` in the discovery
//! document, an HTTP 503 `Retry-After`) is obeyed: nobody comes sooner, and
//! the spread is added on top of that floor, so the herd is spread after it
//! too rather than bunched at its end.
//!
//! Pure: the random source is injected, so tests seed it.

use std::time::Duration;

use rand::Rng;

/// The shape of the wait between rounds of attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// What the ceiling is multiplied by after each failure (2: doubling).
    pub growth: f64,
    /// The ceiling never grows past this.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling up to 60 s: a class is back within about a minute of its
    /// server, and a server with 10 000 clients sees under 200 arrivals a
    /// second once the window is fully open.
    fn default() -> Self {
        Self { base: Duration::from_secs(1), growth: 2.0, cap: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The ceiling of the wait after `round` failed rounds (0: the first
    /// failure): `base * growth^round`, at most `cap`.
    pub fn ceiling(&self, round: u32) -> Duration {
        let secs = self.base.as_secs_f64() * self.growth.powi(round.min(1024) as i32);
        if secs.is_finite() && secs < self.cap.as_secs_f64() {
            Duration::from_secs_f64(secs)
        } else {
            self.cap
        }
    }

    /// The wait from the loss to the first attempt of an outage: `phase` of
    /// the first window.
    pub fn first_wait(&self, phase: Phase) -> Duration {
        phase.of(self.ceiling(0))
    }

    /// The wait after the attempt of window `round` failed: the rest of that
    /// window, then `phase` of the next (at least `not_before`, what the
    /// server asked for, with the phase of the next window on top).
    pub fn next_wait(&self, round: u32, phase: Phase, not_before: Duration) -> Duration {
        let rest = self.ceiling(round).mul_f64(1.0 - phase.0);
        let into_next = self.ceiling(round.saturating_add(1)).mul_f64(phase.0);
        if not_before > rest {
            not_before.saturating_add(into_next)
        } else {
            rest.saturating_add(into_next)
        }
    }

    /// The wait before the next round: at least `not_before` (what the server
    /// asked for, or zero), plus a uniformly random part of [`Backoff::ceiling`].
    pub fn delay(&self, round: u32, not_before: Duration, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(round);
        let jitter = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_nanos(rng.gen_range(0..=ceiling.as_nanos().min(u128::from(u64::MAX)) as u64))
        };
        not_before.saturating_add(jitter)
    }
}

/// Where in each window of an outage one client tries, from 0 (its start) to
/// 1 (its end). Drawn once per outage, so that a herd's attempts are spread
/// evenly over every window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase(f64);

impl Phase {
    /// A phase drawn uniformly.
    pub fn random(rng: &mut impl Rng) -> Self {
        Self(rng.gen_range(0.0..1.0))
    }

    /// This phase of a window `window` long.
    pub fn of(self, window: Duration) -> Duration {
        window.mul_f64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn the_ceiling_doubles_then_stays_at_the_cap() {
        let b = Backoff::default();
        let secs: Vec<u64> = (0..10).map(|r| b.ceiling(r).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert_eq!(b.ceiling(u32::MAX), b.cap, "no overflow however many rounds");
    }

    #[test]
    fn waits_stay_within_the_window_and_honour_the_server() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(7);
        for round in 0..12 {
            for _ in 0..200 {
                let d = b.delay(round, Duration::ZERO, &mut rng);
                assert!(d <= b.ceiling(round), "round {round}: {d:?}");
                let d = b.delay(round, Duration::from_secs(5), &mut rng);
                assert!(d >= Duration::from_secs(5) && d <= Duration::from_secs(5) + b.ceiling(round), "{d:?}");
            }
        }
    }

    /// Full jitter spreads a herd flat over its window: with 10 000 clients,
    /// every tenth of the window gets about a tenth of them, and the mean is
    /// half the ceiling. A wait that bunched (no jitter, or "equal jitter"'s
    /// floor at half the window) fails this.
    #[test]
    fn a_herd_is_spread_flat_over_the_window() {
        let b = Backoff { base: Duration::from_secs(1), growth: 2.0, cap: Duration::from_secs(30) };
        let mut rng = StdRng::seed_from_u64(20_210_426);
        let n = 10_000;
        let round = 4; // a 16 s window
        let window = b.ceiling(round).as_secs_f64();
        let mut buckets = [0u32; 10];
        let mut sum = 0.0;
        for _ in 0..n {
            let d = b.delay(round, Duration::ZERO, &mut rng).as_secs_f64();
            sum += d;
            buckets[((d / window * 10.0) as usize).min(9)] += 1;
        }
        let mean = sum / f64::from(n);
        assert!((mean - window / 2.0).abs() < window * 0.02, "mean {mean:.2} s in a {window} s window");
        for (i, &count) in buckets.iter().enumerate() {
            // 1000 expected per bucket; 4 standard deviations is about ±120.
            assert!((880..=1120).contains(&count), "bucket {i} has {count} of {n}: {buckets:?}");
        }
        // The busiest tenth of the window carries at most 1.12x the mean rate.
        let peak = f64::from(*buckets.iter().max().expect("ten buckets")) / (f64::from(n) / 10.0);
        assert!(peak < 1.12, "peak-to-mean {peak:.2}");
    }

    /// The attempts of one client fall at the same fraction of every window;
    /// the windows double up to the cap.
    #[test]
    fn a_phase_is_kept_across_the_windows() {
        let b = Backoff { base: Duration::from_secs(1), growth: 2.0, cap: Duration::from_secs(4) };
        let phase = Phase(0.25);
        let mut at = b.first_wait(phase);
        let mut times = vec![at];
        for round in 0..5 {
            at += b.next_wait(round, phase, Duration::ZERO);
            times.push(at);
        }
        let secs: Vec<f64> = times.iter().map(Duration::as_secs_f64).collect();
        // Windows [0,1) [1,3) [3,7) [7,11) [11,15) [15,19), a quarter in.
        assert_eq!(secs, [0.25, 1.5, 4.0, 8.0, 12.0, 16.0]);
        assert_eq!(b.next_wait(0, phase, Duration::from_secs(10)), Duration::from_secs(10) + Duration::from_millis(500), "the server's floor, then the phase");
    }

    /// Wherever in the outage the server comes back, the herd's arrivals
    /// after it are near flat: no second of them carries more than twice the
    /// mean (full jitter's redrawn waits put 3.8x in the first second).
    #[test]
    fn a_herd_on_slotted_waits_comes_back_flat_whenever_the_server_returns() {
        let b = crate::engine::REJOIN_BACKOFF;
        let mut rng = StdRng::seed_from_u64(20_210_426);
        let n = 10_000;
        let phases: Vec<Phase> = (0..n).map(|_| Phase::random(&mut rng)).collect();
        for back in [0.3, 1.0, 2.2, 3.0, 7.7, 20.0, 45.0] {
            let arrivals: Vec<f64> = phases
                .iter()
                .map(|&phase| {
                    let (mut at, mut round) = (b.first_wait(phase), 0);
                    while at.as_secs_f64() < back {
                        at += b.next_wait(round, phase, Duration::ZERO);
                        round += 1;
                    }
                    at.as_secs_f64() - back
                })
                .collect();
            let window = arrivals.iter().copied().fold(0.0, f64::max);
            let seconds = window.ceil().max(1.0) as usize;
            let mut buckets = vec![0u32; seconds];
            for a in &arrivals {
                buckets[(*a as usize).min(seconds - 1)] += 1;
            }
            let peak = f64::from(*buckets.iter().max().expect("a bucket"));
            let mean = f64::from(n) / seconds as f64;
            assert!(peak / mean <= 2.0, "server back at {back} s: {buckets:?} (peak {:.2}x)", peak / mean);
            assert!(window <= 15.0 * 1.5, "back at {back} s, the last came {window:.1} s later");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_waits() {
        let b = Backoff::default();
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..8).map(|r| b.delay(r, Duration::ZERO, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }
}
