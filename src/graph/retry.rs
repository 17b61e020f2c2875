//! When to try a Graph call again, and how long to wait first.
//!
//! Microsoft asks throttled clients to wait `Retry-After` (integer seconds normally, decimals inside `$batch`, an
//! HTTP date per RFC 9110) and falls back to exponential back-off when the header is missing
//! (`docs/microsoft-apis.md` B1). The policy never waits *less* than Microsoft asked; it adds a little jitter so many
//! clients do not return at the same instant, and gives up when Microsoft asks for longer than the cap, so the
//! admin sees "Microsoft asks to wait N minutes" instead of a frozen window.

use std::time::{Duration, SystemTime};

/// Statuses worth retrying: throttled, unavailable, gateway timeout.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// How many times and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub max_retries: u32,
    /// First back-off without `Retry-After`; doubles each retry.
    pub base: Duration,
    /// Longest single wait. A `Retry-After` above it ends the retries.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 4, base: Duration::from_millis(500), cap: Duration::from_secs(60) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based), or `None` to stop. `retry_after` is what Microsoft asked
    /// for; `unit` is a random number in [0, 1) for jitter.
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        let unit = unit.clamp(0.0, 1.0);
        match retry_after {
            Some(asked) if asked > self.cap => None,
            // Up to 10 % (at most 1 s) on top of what Microsoft asked, never below it.
            Some(asked) => Some(asked + asked.mul_f64(0.1).min(Duration::from_secs(1)).mul_f64(unit)),
            // "Equal jitter": half the exponential step fixed, half random.
            None => {
                let step = self.base.saturating_mul(1 << retry.min(16)).min(self.cap);
                Some(step / 2 + (step / 2).mul_f64(unit))
            }
        }
    }
}

/// A random number in [0, 1) from the OS (jitter only; zero if the OS has no randomness).
pub fn jitter_unit() -> f64 {
    let mut b = [0u8; 4];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        return 0.0;
    }
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

/// Parses a `Retry-After` value: seconds (integer or decimal) or an HTTP date, relative to `now`. A date in the
/// past means "now"; anything unreadable is `None` (the caller then backs off on its own).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, and the two obsolete forms RFC 9110 says to accept),
/// with the `httpdate` crate hyper uses.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn retry_after_reads_seconds_decimals_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0.249 ", now), Some(Duration::from_millis(249)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), Some(Duration::ZERO), "past means now");
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", now), None);
    }

    #[test]
    fn http_dates_match_known_instants() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_http_date("Fri, 27 Nov 2026 03:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_795_748_400))
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(UNIX_EPOCH + Duration::from_secs(1_835_438_400))
        );
    }

    #[test]
    fn never_waits_less_than_asked_and_stops_at_the_cap() {
        let p = RetryPolicy::default();
        for unit in [0.0, 0.5, 0.999] {
            let w = p.wait(0, Some(Duration::from_secs(3)), unit).unwrap();
            assert!(w >= Duration::from_secs(3) && w <= Duration::from_millis(3300), "{w:?}");
        }
        assert_eq!(p.wait(0, Some(Duration::from_secs(61)), 0.5), None, "longer than the cap: give up");
        assert_eq!(p.wait(p.max_retries, Some(Duration::from_secs(1)), 0.5), None, "out of retries");
    }

    #[test]
    fn backs_off_exponentially_with_jitter_without_retry_after() {
        let p = RetryPolicy { max_retries: 10, base: Duration::from_secs(1), cap: Duration::from_secs(8) };
        assert_eq!(p.wait(0, None, 0.0), Some(Duration::from_millis(500)));
        assert_eq!(p.wait(0, None, 1.0), Some(Duration::from_secs(1)));
        assert_eq!(p.wait(2, None, 0.0), Some(Duration::from_secs(2)));
        assert_eq!(p.wait(9, None, 1.0), Some(Duration::from_secs(8)), "capped");
    }

    #[test]
    fn only_throttling_and_outages_retry() {
        assert!(is_retryable(429) && is_retryable(503) && is_retryable(504));
        assert!(!is_retryable(500) && !is_retryable(401) && !is_retryable(403) && !is_retryable(404));
    }
}
