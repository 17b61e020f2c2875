//! The simulator's clock, identifiers and random values.
//!
//! The simulated tenant is a server, not part of the pure wizard, so it may read the wall clock; it does so only
//! here. Everything that needs "now", a GUID or an opaque random value in `sim` comes through this module.
//!
//! What decides an answer (replication delays, code and device-code lifetimes, token expiry, throttle buckets, the
//! install rate) reads a [`SimClock`]: the machine's clock plus however far a test has moved it on
//! ([`crate::sim::Sim::advance_clock`]), so tests wait for nothing. Time stamps that only describe (error dates,
//! `lastModifiedDateTime`), the recorder's timings and the certificate's validity read the wall clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Seconds since the Unix epoch, as the simulator's clock reads them.
pub fn unix_now() -> u64 {
    #[expect(clippy::disallowed_methods, reason = "the simulator's one clock read")]
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A monotonic instant for deadlines inside the simulator (device codes, replication delay).
pub fn instant_now() -> std::time::Instant {
    #[expect(clippy::disallowed_methods, reason = "the simulator's one monotonic clock read")]
    std::time::Instant::now()
}

/// The simulated tenant's clock: the machine's, plus how far tests have advanced it. Clones share one offset.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    ahead_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SimClock {
    /// Now, for deadlines.
    pub fn instant(&self) -> std::time::Instant {
        instant_now() + self.ahead()
    }

    /// Now, in seconds since the Unix epoch (token `iat`/`exp`, `createdDateTime`).
    pub fn unix(&self) -> u64 {
        unix_now() + self.ahead().as_secs()
    }

    /// Moves the clock on by `by` (tests: a replication delay, a code's lifetime, a token's expiry pass at once).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }

    fn ahead(&self) -> Duration {
        Duration::from_millis(self.ahead_ms.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// `2016-01-09 02:02:12Z`, the form Microsoft's identity platform puts in `timestamp` and error descriptions.
pub fn aad_timestamp(unix_secs: u64) -> String {
    let c = Civil::from_unix(unix_secs);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// `2025-02-13T10:17:05`, the form Microsoft Graph puts in `innerError.date`.
pub fn graph_date(unix_secs: u64) -> String {
    let c = Civil::from_unix(unix_secs);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second)
}

/// `2025-02-13T10:17:05Z`, ISO 8601 in UTC as Graph returns `createdDateTime`.
pub fn iso_utc(unix_secs: u64) -> String {
    format!("{}Z", graph_date(unix_secs))
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
}

impl Civil {
    /// Gregorian calendar date from Unix seconds (Howard Hinnant's `civil_from_days`).
    fn from_unix(unix_secs: u64) -> Self {
        let days = (unix_secs / 86_400) as i64;
        let secs_of_day = unix_secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year, month, day, hour: secs_of_day / 3600, minute: secs_of_day / 60 % 60, second: secs_of_day % 60 }
    }
}

/// `n` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // SystemRandom only fails when the OS has no entropy source at all; a zeroed buffer would then
    // still produce distinct-looking values through the counter below, so the simulator keeps running.
    if SystemRandom::new().fill(&mut buf).is_err() {
        let fallback = fallback_counter();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = fallback.wrapping_add(i as u64).to_le_bytes()[i % 8];
        }
    }
    buf
}

fn fallback_counter() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0x5eed);
    COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ unix_now()
}

/// A random version-4 GUID in Microsoft's lower-case 8-4-4-4-12 form.
pub fn new_guid() -> String {
    uuid::Builder::from_random_bytes(random_bytes::<16>()).into_uuid().hyphenated().to_string()
}

/// A GUID derived from a name, so scenario objects keep their ids from one run to the next (support can
/// compare a customer's bundle with a replay). The first 16 bytes of a SHA-256 of the name, marked as a
/// name-based (version 5) GUID as before, so ids stay what earlier runs and bundles have.
pub fn stable_guid(namespace: &str, name: &str) -> String {
    let d = digest::digest(&digest::SHA256, format!("{namespace}\u{0}{name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    uuid::Builder::from_sha1_bytes(b).into_uuid().hyphenated().to_string()
}

/// True when `s` has the 8-4-4-4-12 hex shape of a GUID.
pub fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An opaque, URL-safe random string of `N` random bytes (codes, refresh tokens, session ids).
pub fn opaque<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// A device-flow user code: nine upper-case letters and digits without look-alikes, as Microsoft shows them.
pub fn user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    random_bytes::<9>().iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// Remaining time until `deadline`, zero when past.
pub fn until(deadline: std::time::Instant) -> Duration {
    deadline.saturating_duration_since(instant_now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_dates_like_microsoft() {
        // 2016-01-09 02:02:12Z is the timestamp in Microsoft's own token-error example.
        assert_eq!(aad_timestamp(1_452_304_932), "2016-01-09 02:02:12Z");
        assert_eq!(graph_date(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn guids_have_microsoft_shape_and_stable_ones_repeat() {
        let g = new_guid();
        assert!(is_guid(&g), "{g}");
        assert_ne!(g, new_guid());
        assert_eq!(stable_guid("user", "a@b"), stable_guid("user", "a@b"));
        assert_ne!(stable_guid("user", "a@b"), stable_guid("user", "a@c"));
        assert!(is_guid(&stable_guid("x", "y")));
        assert!(!is_guid("not-a-guid"));
    }

    #[test]
    fn user_codes_are_nine_unambiguous_characters() {
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert!(!code.contains('0') && !code.contains('O') && !code.contains('1') && !code.contains('I'));
    }
}
