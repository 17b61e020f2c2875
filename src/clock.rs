//! The session's clock: the one place the product reads the time (docs/STYLE.md rule 4). The shell hands moments to the
//! wizard; the diagnostics journal stamps its entries with the same clock; the bundle records wall-clock time once.
//!
//! Tests move it on ([`Clock::advance`]) instead of waiting: the window's journeys let the wizard's backoff and
//! polling intervals pass at once, as the wizard's own tests do with moments they make up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::wizard::Moment;

/// The monotonic clock of a session; the only place the product reads time. Copies share one clock: moving one on
/// moves them all.
#[derive(Debug, Clone)]
pub struct Clock {
    start: Instant,
    /// Milliseconds the clock was moved on ([`Clock::advance`]); zero in the product.
    ahead_ms: Arc<AtomicU64>,
}

impl Clock {
    /// Starts the session clock.
    pub fn start() -> Self {
        #[expect(clippy::disallowed_methods, reason = "the shell's one clock")]
        let start = Instant::now();
        Self { start, ahead_ms: Arc::new(AtomicU64::new(0)) }
    }

    /// Now, as the wizard counts time.
    pub fn now(&self) -> Moment {
        let elapsed = self.instant().duration_since(self.start);
        Moment::from_millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    /// Now as an `Instant` (for deadlines kept outside the wizard, such as token expiry).
    pub fn instant(&self) -> Instant {
        #[expect(clippy::disallowed_methods, reason = "the shell's one clock")]
        let now = Instant::now();
        now + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock on by `by` for every copy of it: what waits on it (the wizard's deadlines, token expiry)
    /// sees the time pass at once. For tests; the product never calls it.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

impl Clock {
    /// Milliseconds since the session started.
    pub fn elapsed_ms(&self) -> u64 {
        self.now().millis()
    }

    /// The wall-clock time now, as seconds since 1970 (for the diagnostics bundle's "when").
    pub fn unix_seconds(&self) -> u64 {
        #[expect(clippy::disallowed_methods, reason = "the one wall-clock read: when a bundle was made")]
        let now = SystemTime::now() + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed));
        now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}
