//! Reading the whole directory for the preview and its readiness counts, fast on large tenants.
//!
//! Graph gives at most 100 users a page when managers are expanded (`docs/microsoft-apis.md` B1), and a page's link is
//! only known once the page is in, so one pager reads 100,000 users in 1,000 round trips one after another. The
//! directory is instead split into disjoint parts read side by side: users whose principal name starts with each
//! character a name may start with (Entra allows letters, digits and `' - _ ! # ^ ~`), which together hold every
//! user. One wave of counts (`/users/$count` with the same filter) says how big each part is; a part whose chain
//! of pages would outlast the rest of the scan ([`share`]) is read as its two-character prefixes instead, and all
//! parts are read at once (up to [`IN_FLIGHT`] requests). Each request costs the same resource units as the
//! single pager's (2 a page), so the throttle allows it; when Graph does throttle, the client holds every request
//! until the `Retry-After` passes ([`super::Graph::send`]) and the scan goes on.
//!
//! Small directories (up to [`SPLIT_ABOVE`] users) are read by one pager: the first page, sent beside the count,
//! is all there is or nearly.

use std::collections::HashSet;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use super::people::USERS_QUERY;
use super::{Call, Graph, TokenSource};
use crate::wizard::{DirectoryUser, Failure};

/// Directories up to this size are read by one pager.
pub const SPLIT_ABOVE: u64 = 2_000;
/// Most requests in flight at once.
pub const IN_FLIGHT: usize = 48;
/// Pages a second Graph's throttle sustains for one app in a large tenant: Microsoft's documented 8,000 resource
/// units per 10 s (tenants over 500 users) at 2 units a page. Reading faster than this only meets 429s.
const SUSTAINED_PAGES_PER_SECOND: f64 = 400.0;
/// A part is split when its chain of pages would outlast its share of the scan by this much.
const LONGEST_CHAIN: f64 = 1.25;
/// How many times one request may be throttled before the scan gives up on it.
const THROTTLED_RETRIES: u32 = 12;
/// Characters a user principal name may start with (lowercase; Graph compares without case).
const FIRST: &str = "abcdefghijklmnopqrstuvwxyz0123456789'-_!#^~";
/// Characters that may follow the first: the same, a period, or the `@` after a one-character name.
const NEXT: &str = "abcdefghijklmnopqrstuvwxyz0123456789'-_!#^~.@";

/// The `$filter` of the users whose principal name starts with `prefix` (quotes doubled, as OData writes them).
pub fn prefix_filter(prefix: &str) -> String {
    format!("startswith(userPrincipalName,'{}')", prefix.replace('\'', "''"))
}

/// A query value, percent-encoded (`#` would otherwise end the URL and `+` mean a space).
/// The first page of the users whose principal name starts with `prefix`.
pub fn part_call(prefix: &str) -> Call {
    Call::get(format!("{USERS_QUERY}&$filter={}", crate::query::value(&prefix_filter(prefix))))
}

/// How many users' principal names start with `prefix`.
pub fn count_call(prefix: &str) -> Call {
    Call::get(format!("v1.0/users/$count?$filter={}", crate::query::value(&prefix_filter(prefix)))).eventual()
}

/// The parts to read, largest first: each first character, or its two-character prefixes when its count is above
/// `share`. A character counted at zero is still read (one request): counts lag behind new users.
pub fn plan(counts: &[(char, u64)], share: u64) -> Vec<String> {
    let mut parts: Vec<(u64, String)> = Vec::new();
    for (c, n) in counts {
        if *n > share {
            // Sizes of the sub-parts are unknown: give each the average so they sort among the others.
            let each = n / NEXT.len() as u64;
            parts.extend(NEXT.chars().map(|d| (each, format!("{c}{d}"))));
        } else {
            parts.push((*n, c.to_string()));
        }
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    parts.into_iter().map(|(_, p)| p).collect()
}

/// The most users one part should hold. Keeping Graph's throttle busy takes as many pages in flight as it
/// sustains per round trip (Little's law: 400 a second × 55 ms ≈ 22); with fewer chains than that the scan waits
/// on its longest chain, so a part larger than the directory's share among them is split. Parts are never split
/// finer than that: the throttle would not let the scan go faster, and each extra part costs a request.
pub fn share(total: u64, round_trip: std::time::Duration) -> u64 {
    let chains = (SUSTAINED_PAGES_PER_SECOND * round_trip.as_secs_f64()).ceil().clamp(1.0, IN_FLIGHT as f64);
    ((total as f64 / chains * LONGEST_CHAIN) as u64).max(SPLIT_ABOVE / 2)
}

/// The first characters, in order.
pub fn first_characters() -> impl Iterator<Item = char> {
    FIRST.chars()
}

impl Graph {
    /// How many users' principal names start with `prefix`.
    pub async fn count_part(&self, tokens: &dyn TokenSource, prefix: &str) -> Result<u64, Failure> {
        self.count(tokens, &count_call(prefix)).await
    }

    /// Reads every user, calling `on_page` with each page as it comes (and the directory's size with the first,
    /// when Graph told it). Pages come in no particular order on large directories; no user comes twice.
    pub async fn read_directory<F, Fut>(&self, tokens: &dyn TokenSource, mut on_page: F) -> Result<(), Failure>
    where
        F: FnMut(Vec<DirectoryUser>, Option<u64>) -> Fut,
        Fut: Future<Output = ()>,
    {
        // A long scan may meet the throttle more than once per request: wait as asked, more times.
        let graph = self.clone().with_throttled_retries(THROTTLED_RETRIES);
        let first = Call::get(USERS_QUERY);
        let timed_first = async {
            let sent = tokio::time::Instant::now();
            let page = graph.users_page(tokens, &first).await;
            (page, sent.elapsed())
        };
        let (count, (first_page, round_trip)) = tokio::join!(graph.count_users(tokens), timed_first);
        let total = match count {
            Ok(n) => Some(n),
            Err(f) => {
                tracing::info!("no user count for the progress bar: {f}");
                None
            }
        };
        let (users, next) = first_page?;
        let seen: HashSet<String> = users.iter().map(|u| u.id.clone()).collect();
        on_page(users, total).await;
        let Some(next) = next else { return Ok(()) };
        let split = total.is_some_and(|n| n > SPLIT_ABOVE);
        if !split {
            return graph.read_pages(tokens, vec![next], 1, &HashSet::new(), &mut on_page).await;
        }
        let total = total.unwrap_or_default();
        let mut counts: Vec<(char, u64)> = Vec::new();
        let mut waves = futures_util::stream::iter(first_characters())
            .map(|c| {
                let graph = &graph;
                async move { (c, graph.count_part(tokens, &c.to_string()).await) }
            })
            .buffer_unordered(IN_FLIGHT);
        while let Some((c, n)) = waves.next().await {
            match n {
                Ok(n) => counts.push((c, n)),
                // Without the size of one part, split it to be safe: more requests, never a slow tail.
                Err(f) => {
                    tracing::info!("no count of users starting with {c:?}: {f}");
                    counts.push((c, u64::MAX));
                }
            }
        }
        drop(waves);
        let parts = plan(&counts, share(total, round_trip));
        let in_flight = parts.len().min(IN_FLIGHT);
        tracing::info!("reading {total} users in {} parts, {in_flight} requests at a time", parts.len());
        let calls = parts.iter().map(|p| part_call(p)).collect();
        let mut read = seen.len() as u64;
        let mut counted = |users: Vec<DirectoryUser>, total: Option<u64>| {
            read += users.len() as u64;
            on_page(users, total)
        };
        graph.read_pages(tokens, calls, in_flight, &seen, &mut counted).await?;
        if read < total {
            // Counts lag behind changes (eventual consistency), or a name starts with a character Entra does not
            // allow: either way, say so where support will look.
            tracing::warn!("read {read} users of the {total} Graph counted");
        }
        Ok(())
    }

    /// Follows each of `starts` to its last page, `in_flight` requests at a time, reporting users not in `seen`.
    async fn read_pages<F, Fut>(
        &self,
        tokens: &dyn TokenSource,
        starts: Vec<Call>,
        in_flight: usize,
        seen: &HashSet<String>,
        on_page: &mut F,
    ) -> Result<(), Failure>
    where
        F: FnMut(Vec<DirectoryUser>, Option<u64>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut waiting = starts.into_iter();
        let mut running = FuturesUnordered::new();
        let read = |call: Call| async move { self.users_page(tokens, &call).await };
        for call in waiting.by_ref().take(in_flight.max(1)) {
            running.push(read(call));
        }
        while let Some(page) = running.next().await {
            let (mut users, next) = page?;
            if let Some(next) = next {
                running.push(read(next));
            } else if let Some(call) = waiting.next() {
                running.push(read(call));
            }
            users.retain(|u| !seen.contains(&u.id));
            if !users.is_empty() {
                on_page(users, None).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_quote_and_encode_every_character_a_name_may_start_with() {
        assert_eq!(prefix_filter("o'"), "startswith(userPrincipalName,'o''')");
        let call = part_call("#");
        assert!(call.target.ends_with("&$filter=startswith%28userPrincipalName%2C%27%23%27%29"), "{}", call.target);
        assert!(!call.target.contains('#') && !call.target.contains('+'));
        let count = count_call("a");
        assert!(count.eventual && count.target.starts_with("v1.0/users/$count?$filter="));
        assert_eq!(first_characters().count(), 43);
        assert!(!FIRST.contains('.'), "a name never starts with a period");
        assert!(NEXT.starts_with(FIRST) && NEXT.ends_with(".@"));
    }

    #[test]
    fn parts_are_sized_to_keep_the_throttle_busy_and_no_finer() {
        let ms = std::time::Duration::from_millis;
        // 55 ms round trips: 22 chains keep 400 pages a second in flight; 100,000 users → parts up to 5,681.
        assert_eq!(share(100_000, ms(55)), 5_681);
        // Slower answers need more chains, so smaller parts; at most 48 requests in flight.
        assert!(share(100_000, ms(110)) < share(100_000, ms(55)));
        assert_eq!(share(100_000, ms(1_000)), share(100_000, ms(2_000)));
        // A fast tenant needs few chains: parts stay whole. Never below half the single-pager limit.
        assert_eq!(share(100_000, ms(1)), 125_000);
        assert_eq!(share(3_000, ms(500)), SPLIT_ABOVE / 2);
    }

    #[test]
    fn the_plan_splits_large_parts_keeps_empty_ones_and_reads_the_largest_first() {
        let parts = plan(&[('a', 10), ('b', 5_000), ('c', 0), ('d', 800)], 1_000);
        assert_eq!(parts.len(), 3 + NEXT.len());
        assert_eq!(parts[0], "d", "800 is more than each of b's sub-parts (5,000 shared among them)");
        assert!(parts[1..=NEXT.len()].iter().all(|p| p.starts_with('b') && p.chars().count() == 2));
        assert_eq!(&parts[NEXT.len() + 1..], ["a", "c"]);
        // Every user of a split character is in exactly one sub-part: every next character is there.
        let subs: HashSet<String> = parts.iter().filter(|p| p.starts_with('b')).cloned().collect();
        for next in NEXT.chars() {
            assert!(subs.contains(&format!("b{next}")));
        }
    }
}
