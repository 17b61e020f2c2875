//! Graph's throttle for identity and access reads, as Microsoft documents it (`throttling-limits`, "Identity and
//! access service limits"): every request costs resource units (RU), and each application + tenant pair may spend
//! 3,500 (under 50 users), 5,000 (50 to 500) or 8,000 (over 500) RU per 10 seconds. Costs: `GET users` 2,
//! `GET oauth2PermissionGrants` 2, `GET servicePrincipals/{id}/appRoleAssignments` 2, `GET subscribedSkus` 3,
//! `GET me/transitiveMemberOf` 2, anything else 1; `$select` takes 1 off, `$expand` adds 1, `$top` under 20 takes 1
//! off; never below 1. Every answer carries `x-ms-resource-unit`; a refused one is a 429 with `Retry-After`,
//! `x-ms-throttle-scope` and `x-ms-throttle-information: ResourceUnitLimitExceeded`.
//!
//! Microsoft says the throttle is a token bucket but not how much of the 10 seconds' quota one burst may spend, so
//! the bucket's depth is a scenario setting (`read_burst_seconds`, 10 by default: the whole quota at once).
//! Photos (the Outlook profile API) and Teams paths are other services and are not counted here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The documented quota of a tenant of `users` users, RU per 10 seconds.
pub fn documented_quota(users: usize) -> u32 {
    match users {
        0..50 => 3_500,
        50..=500 => 5_000,
        _ => 8_000,
    }
}

/// True for paths the identity throttle counts.
pub fn counted(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v1.0/") else { return false };
    !(rest.starts_with("appCatalogs")
        || rest.starts_with("$batch")
        || rest.contains("/teamwork/")
        || rest.contains("/photo"))
}

/// The RU a request costs.
pub fn cost(method: &str, path: &str, query: Option<&str>) -> u32 {
    let rest = path.trim_start_matches("/v1.0/").trim_end_matches('/');
    let segments: Vec<&str> = rest.split('/').collect();
    let base: i32 = match (method, segments.as_slice()) {
        ("GET", ["users"] | ["oauth2PermissionGrants"] | ["applications"]) => 2,
        ("GET", ["servicePrincipals", _, "appRoleAssignments"]) => 2,
        ("GET", ["subscribedSkus"]) => 3,
        ("GET", ["me", "transitiveMemberOf", ..] | ["users", _, "transitiveMemberOf", ..]) => 2,
        _ => 1,
    };
    let mut cost = base;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "$select" => cost -= 1,
            "$expand" => cost += 1,
            "$top" if v.parse::<u32>().is_ok_and(|t| t < 20) => cost -= 1,
            _ => {}
        }
    }
    u32::try_from(cost.max(1)).unwrap_or(1)
}

/// The RU a request costs, zero when the identity throttle does not count its path (for benchmarks' sums).
pub fn resource_units(method: &str, path: &str, query: Option<&str>) -> u32 {
    if counted(path) { cost(method, path, query) } else { 0 }
}

/// One application + tenant pair's bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    units: f64,
    capacity: f64,
    /// RU per second.
    rate: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket for `quota` RU per 10 s, holding `burst_seconds` of it.
    pub fn new(quota: u32, burst_seconds: u32, now: Instant) -> Self {
        let rate = f64::from(quota) / 10.0;
        let capacity = (rate * f64::from(burst_seconds.max(1))).max(1.0);
        Self { units: capacity, capacity, rate, at: now }
    }

    /// Spends `cost` RU, or says how long until they are there.
    pub fn take(&mut self, cost: u32, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.units = (self.units + elapsed * self.rate).min(self.capacity);
        self.at = now;
        let cost = f64::from(cost);
        if self.units >= cost {
            self.units -= cost;
            return Ok(());
        }
        Err(Duration::from_secs_f64((cost - self.units) / self.rate))
    }

    /// Share of the quota in use, as `x-ms-throttle-limit-percentage` reports it (from 0.8).
    pub fn used(&self) -> f64 {
        1.0 - self.units / self.capacity
    }
}

/// Buckets by application id.
#[derive(Debug, Default)]
pub struct ReadThrottle {
    buckets: HashMap<String, Bucket>,
}

impl ReadThrottle {
    /// Spends `cost` of `app`'s quota; `Err(wait)` when the app must wait.
    pub fn take(
        &mut self,
        app: &str,
        cost: u32,
        quota: u32,
        burst_seconds: u32,
        now: Instant,
    ) -> Result<f64, Duration> {
        let bucket = self.buckets.entry(app.to_owned()).or_insert_with(|| Bucket::new(quota, burst_seconds, now));
        bucket.take(cost, now).map(|()| bucket.used())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_microsofts_table() {
        let users = "$select=id,displayName&$expand=manager($select=id,displayName)&$top=999";
        assert_eq!(cost("GET", "/v1.0/users", Some(users)), 2, "2 base, -1 select, +1 expand");
        assert_eq!(cost("GET", "/v1.0/users", Some("$select=id&$top=999")), 1);
        assert_eq!(cost("GET", "/v1.0/users", Some("$select=id&$top=5")), 1, "never below 1");
        assert_eq!(cost("GET", "/v1.0/users", None), 2);
        assert_eq!(cost("GET", "/v1.0/users/$count", Some("$filter=startswith(userPrincipalName,'a')")), 1);
        assert_eq!(cost("GET", "/v1.0/subscribedSkus", None), 3);
        assert_eq!(cost("GET", "/v1.0/servicePrincipals/x/appRoleAssignments", None), 2);
        assert_eq!(cost("GET", "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole", None), 2);
        assert_eq!(cost("GET", "/v1.0/users/x/manager", Some("$select=id")), 1);
        assert!(counted("/v1.0/users") && counted("/v1.0/organization"));
        assert!(!counted("/v1.0/users/x/photos/48x48/$value") && !counted("/v1.0/appCatalogs/teamsApps"));
        assert!(!counted("/v1.0/users/x/teamwork/installedApps") && !counted("/oidc/userinfo"));
        assert_eq!(documented_quota(10), 3_500);
        assert_eq!(documented_quota(500), 5_000);
        assert_eq!(documented_quota(100_000), 8_000);
    }

    #[test]
    fn the_bucket_refills_at_the_quota_rate_and_holds_the_burst() {
        let t0 = crate::sim::clock::instant_now();
        // 100 RU per 10 s: 10 a second; one second's burst holds 10.
        let mut b = Bucket::new(100, 1, t0);
        for _ in 0..5 {
            assert!(b.take(2, t0).is_ok());
        }
        let wait = b.take(2, t0).expect_err("empty");
        assert!((wait.as_secs_f64() - 0.2).abs() < 1e-9, "2 RU at 10/s: {wait:?}");
        assert!(b.take(2, t0 + Duration::from_millis(200)).is_ok(), "refilled");
        // Idle for a minute: still only the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(b.take(2, later).is_ok());
        }
        assert!(b.take(2, later).is_err());
    }
}
