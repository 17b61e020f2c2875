//! How fast to install for everyone. A tenant accepts only so many installs per second and answers the rest with
//! 429 and `Retry-After`, item by item inside a `$batch`. Sending as fast as possible and then waiting out every
//! `Retry-After` leaves the tenant idle half the time (measured: about 52 % of its ceiling). Instead batches start at
//! an interval set from the highest rate the tenant was seen to accept (installs accepted in the last second, read
//! when it starts refusing), with a small margin; a long run without refusals probes a little faster. Throttled
//! users go again after their own `Retry-After`, in later batches.

use std::collections::VecDeque;
use std::time::Duration;

/// Batches allowed in flight at once (the interval decides how often one starts).
pub const IN_FLIGHT: usize = 4;
/// How many times one user's install may be throttled before it counts as failed.
pub const MAX_TRIES: u32 = 12;

/// Below the measured ceiling by this much.
const MARGIN: f64 = 0.05;
/// Clean batches before trying a little faster, and how much faster.
const PROBE_AFTER: u32 = 50;
const PROBE: f64 = 0.98;
/// A new refusal lowers the remembered best rate at most this much.
const FORGET: f64 = 0.98;
/// Bounds of the interval.
const SHORTEST_MS: f64 = 10.0;
const LONGEST_MS: f64 = 10_000.0;

/// The interval between batch starts, from what the tenant accepted.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    interval_ms: f64,
    /// Highest accepted rate seen (installs per second), once the tenant has refused.
    best: f64,
    clean: u32,
    /// When batches came back (ms) and how many of their installs were accepted, over the last second.
    recent: VecDeque<(u64, usize)>,
}

impl Pacer {
    /// How long after one batch starts the next may (zero: unpaced, until the tenant first refuses).
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.interval_ms / 1000.0)
    }

    /// A batch of `sent` installs came back at `finished_ms` with `throttled` of them refused.
    pub fn batch_done(&mut self, finished_ms: u64, sent: usize, throttled: usize) {
        if sent == 0 {
            return;
        }
        self.recent.push_back((finished_ms, sent.saturating_sub(throttled)));
        while self.recent.front().is_some_and(|(at, _)| *at + 1000 <= finished_ms) {
            self.recent.pop_front();
        }
        let rate = self.recent.iter().map(|(_, n)| *n).sum::<usize>() as f64;
        if throttled == 0 {
            if self.interval_ms > 0.0 {
                self.best = self.best.max(rate);
                self.clean += 1;
                if self.clean >= PROBE_AFTER {
                    self.clean = 0;
                    self.interval_ms = (self.interval_ms * PROBE).max(SHORTEST_MS);
                }
            }
            return;
        }
        self.clean = 0;
        self.best = if self.best > 0.0 { (self.best * FORGET).max(rate) } else { rate };
        self.interval_ms = (sent as f64 / self.best.max(1.0) * 1000.0 * (1.0 + MARGIN)).clamp(SHORTEST_MS, LONGEST_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_follows_the_rate_the_tenant_accepted_when_it_refused() {
        let mut p = Pacer::default();
        assert_eq!(p.interval(), Duration::ZERO, "unpaced at first");
        // Four full batches within a second, then one half refused: the tenant takes about 90 a second.
        for (at, refused) in [(100, 0), (200, 0), (300, 0), (400, 0), (500, 10)] {
            p.batch_done(at, 20, refused);
        }
        assert_eq!(p.interval().as_millis(), 233, "20 per (90/s) plus 5 %");
        // Clean batches at that pace keep it; fifty of them try a little faster.
        for i in 1..=49 {
            p.batch_done(500 + i * 233, 20, 0);
        }
        assert_eq!(p.interval().as_millis(), 233);
        p.batch_done(500 + 50 * 233, 20, 0);
        assert_eq!(p.interval().as_millis(), 228);
        // A tenant that refuses everything slows it to the longest interval, not to a stop.
        let mut q = Pacer::default();
        for at in 0..200 {
            q.batch_done(at * 2000, 20, 20);
        }
        assert_eq!(q.interval(), Duration::from_secs(10));
        q.batch_done(0, 0, 0);
        assert_eq!(q.interval(), Duration::from_secs(10), "an empty batch tells nothing");
    }
}
