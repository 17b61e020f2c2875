//! Reading the whole directory for the preview and its readiness counts, fast on large tenants.
//!
//! Graph gives at most 100 users a page when managers are expanded (`microsoft-apis.md` B1), and a page's link is
//! only known once the page is in, so one pager reads 100,000 users in 1,000 round trips one after another. The
//! directory is instead split into disjoint parts read side by side: users whose principal name starts with each
//! character a name may start with (Entra allows letters, digits and `' - _ ! # ^ ~`), which together hold every
//! user. One wave of counts (`/users/$count` with the same filter) says how big each part is; a part whose chain
//! of pages would outlast the rest of the scan (more than its share of [`IN_FLIGHT`] pagers) is read as its
//! two-character prefixes instead. Each request costs the same resource units as the
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
/// Requests in flight at once.
pub const IN_FLIGHT: usize = 24;
/// A part is split when its chain of pages would outlast the whole scan at full parallelism by this much.
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
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The first page of the users whose principal name starts with `prefix`.
pub fn part_call(prefix: &str) -> Call {
    Call::get(format!("{USERS_QUERY}&$filter={}", encode(&prefix_filter(prefix))))
}

/// How many users' principal names start with `prefix`.
pub fn count_call(prefix: &str) -> Call {
    Call::get(format!("v1.0/users/$count?$filter={}", encode(&prefix_filter(prefix)))).eventual()
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

/// The first characters, in order.
pub fn first_characters() -> impl Iterator<Item = char> {
    FIRST.chars()
}

impl Graph {
    /// How many users' principal names start with `prefix`.
    pub async fn count_part(&self, tokens: &dyn TokenSource, prefix: &str) -> Result<u64, Failure> {
        let answer = self.send(tokens, &count_call(prefix)).await?;
        let text = String::from_utf8_lossy(&answer.body);
        text.trim()
            .parse()
            .map_err(|_| Failure::Parse { what: "Graph user count".into(), excerpt: text.chars().take(80).collect() })
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
        let (count, first_page) = tokio::join!(graph.count_users(tokens), graph.users_page(tokens, &first));
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
            return graph.read_pages(tokens, vec![next], &HashSet::new(), &mut on_page).await;
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
        let share = (total as f64 / IN_FLIGHT as f64 * LONGEST_CHAIN) as u64;
        let parts = plan(&counts, share.max(SPLIT_ABOVE / 2));
        tracing::info!("reading {total} users in {} parts, {IN_FLIGHT} requests at a time", parts.len());
        let calls = parts.iter().map(|p| part_call(p)).collect();
        graph.read_pages(tokens, calls, &seen, &mut on_page).await
    }

    /// Follows each of `starts` to its last page, [`IN_FLIGHT`] requests at a time, reporting users not in `seen`.
    async fn read_pages<F, Fut>(
        &self,
        tokens: &dyn TokenSource,
        starts: Vec<Call>,
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
        for call in waiting.by_ref().take(IN_FLIGHT) {
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
