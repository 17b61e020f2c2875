//! The session's clock: the one place the product reads the time (docs/STYLE.md rule 4). The shell hands moments to the
//! wizard; the diagnostics journal stamps its entries with the same clock; the bundle records wall-clock time once.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::wizard::Moment;

/// The monotonic clock of a session; the only place the product reads time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// Starts the session clock.
    pub fn start() -> Self {
        #[expect(clippy::disallowed_methods, reason = "the shell's one clock")]
        let start = Instant::now();
        Self { start }
    }

    /// Now, as the wizard counts time.
    pub fn now(&self) -> Moment {
        #[expect(clippy::disallowed_methods, reason = "the shell's one clock")]
        let elapsed = Instant::now().duration_since(self.start);
        Moment::from_millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    /// Now as an `Instant` (for deadlines kept outside the wizard, such as token expiry).
    pub fn instant(&self) -> Instant {
        #[expect(clippy::disallowed_methods, reason = "the shell's one clock")]
        Instant::now()
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
        let now = SystemTime::now();
        now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}
