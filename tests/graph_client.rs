//! The product's Graph client against the simulated tenant over real loopback HTTPS: paging, `$batch` with mixed
//! results, throttling with `Retry-After` obeyed (measured at the simulator: no retry arrives early), a token
//! refused mid-paging, every combination of missing permissions; and against a raw socket: broken answers
//! become typed failures, never panics.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::*;
use mspbots_setup::graph::batch::BatchItem;
use mspbots_setup::graph::{Call, Graph, RetryPolicy, TokenFuture, TokenSource};
use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use mspbots_setup::secret::Secret;
use mspbots_setup::sim::scenario::{self, FaultSpec, Scenario};
use mspbots_setup::wizard::{AppPresence, Failure, PermissionState, PermissionView, TransportKind, checklist};

/// Hands out `first`, then `fresh` once a token was refused; records each call.
struct Tokens {
    first: Secret,
    fresh: Secret,
    refusals: Mutex<u32>,
}

impl Tokens {
    fn one(token: &str) -> Self {
        Self { first: Secret::new(token.to_owned()), fresh: Secret::new(token.to_owned()), refusals: Mutex::new(0) }
    }
}

impl TokenSource for Tokens {
    fn token<'a>(&'a self, rejected: Option<&'a Secret>) -> TokenFuture<'a> {
        Box::pin(async move {
            if rejected.is_some() {
                *self.refusals.lock().unwrap() += 1;
                return Ok(self.fresh.clone());
            }
            Ok(self.first.clone())
        })
    }
}

fn client(t: &TestSim) -> Graph {
    let http = http::client(&HttpConfig::new(Purpose::Api, Trust::OnlyPem(t.sim.ca_pem().to_owned()))).unwrap();
    Graph::new(http, &t.sim.info().graph_url)
}

fn with_users(n: u32, faults: Vec<FaultSpec>) -> Scenario {
    let mut s = scenario::load("happy").unwrap();
    s.directory.generated_users = n;
    s.faults.extend(faults);
    s
}

fn graph_fault(path: &str, status: u16, retry_after: Option<f64>, after: u32, count: u32) -> FaultSpec {
    FaultSpec {
        endpoint: "graph".into(),
        path: Some(path.into()),
        status: Some(status),
        retry_after_secs: retry_after,
        after,
        count: Some(count),
        ..Default::default()
    }
}

async fn reader(t: &TestSim) -> Tokens {
    Tokens::one(&t.user_token(TENANT_READ).await)
}

#[tokio::test]
async fn pages_reach_every_user_and_resend_consistency_level() {
    let t = TestSim::start_with(with_users(250, Vec::new()), Some("adele.vance@contoso.com")).await;
    let (g, tokens) = (client(&t), reader(&t).await);
    let (mut users, mut counts) = (0, Vec::new());
    // `$count=true` needs ConsistencyLevel on every page; the simulator refuses a page without it.
    let pages = g
        .pages(&tokens, Call::get("v1.0/users?$count=true&$top=40").eventual(), |page| {
            users += page.items.len();
            counts.push(page.count);
            true
        })
        .await
        .unwrap();
    assert_eq!((pages, users), (7, 255));
    assert_eq!(counts[0], Some(255));
    assert!(counts[1..].iter().all(Option::is_none), "@odata.count only on the first page");
    assert_eq!(g.count_users(&tokens).await.unwrap(), 255);
    let (first, next) = g.users_page(&tokens, &Call::get(mspbots_setup::graph::people::USERS_QUERY)).await.unwrap();
    assert_eq!(first.len(), 100, "pages of 100 with managers expanded");
    assert!(first.iter().any(|u| u.manager.is_some()) && next.is_some());
}

/// Reads the whole directory with the product's scan: every user id once, and the total it was told.
async fn scan(g: &Graph, tokens: &Tokens) -> (Vec<String>, Option<u64>) {
    let ids = Mutex::new(Vec::new());
    let total = Mutex::new(None);
    g.read_directory(tokens, |users, t| {
        ids.lock().unwrap().extend(users.into_iter().map(|u| u.id));
        if t.is_some() {
            *total.lock().unwrap() = t;
        }
        async {}
    })
    .await
    .unwrap();
    (ids.into_inner().unwrap(), total.into_inner().unwrap())
}

#[tokio::test]
async fn a_large_directory_is_read_in_parts_side_by_side_with_every_user_once() {
    // Pages take 20 ms, so pages read side by side overlap at the simulator.
    let slow =
        FaultSpec { endpoint: "graph".into(), path: Some("/v1.0/users".into()), delay_ms: 20, ..Default::default() };
    let t = TestSim::start_with(with_users(6_000, vec![slow]), Some("adele.vance@contoso.com")).await;
    let (g, tokens) = (client(&t), reader(&t).await);
    let (ids, total) = scan(&g, &tokens).await;
    assert_eq!(total, Some(6_005));
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (6_005, 6_005), "every user, none twice");
    let requests = t.sim.requests();
    let counts: Vec<_> = requests.iter().filter(|r| r.path == "/v1.0/users/$count").collect();
    assert_eq!(counts.len(), 1 + 43, "the directory's count, then one per first character");
    let parts: Vec<_> = requests.iter().filter(|r| r.path == "/v1.0/users" && r.query.contains("startswith")).collect();
    assert!(parts.iter().all(|r| r.status == 200 && r.query.contains("expand=manager")));
    // Parts were read side by side: some part's request arrived before another's answer left.
    let overlapping = parts.windows(2).any(|w| w[1].arrived < w[0].answered);
    assert!(overlapping, "parts were read one after another");

    // A small directory is one pager: no counts of parts.
    let t = TestSim::start_with(with_users(250, Vec::new()), Some("adele.vance@contoso.com")).await;
    let (g, tokens) = (client(&t), reader(&t).await);
    let (ids, _) = scan(&g, &tokens).await;
    assert_eq!(ids.len(), 255);
    assert_eq!(t.sim.requests().iter().filter(|r| r.path == "/v1.0/users/$count").count(), 1);
}

#[tokio::test]
async fn the_scan_meets_graphs_resource_unit_throttle_and_still_reads_everyone() {
    // 400 RU per 10 s, one second of it at once: 40 RU, 20 pages, then 20 pages a second.
    let mut s = with_users(4_000, Vec::new());
    s.directory.read_units_per_10s = Some(400);
    s.directory.read_burst_seconds = 1;
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let (g, tokens) = (client(&t), reader(&t).await);
    let (ids, _) = scan(&g, &tokens).await;
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (4_005, 4_005));
    let requests = t.sim.requests();
    let throttled: Vec<_> = requests.iter().filter(|r| r.status == 429).collect();
    assert!(!throttled.is_empty(), "the quota was meant to bind");
    // After a 429 the client sends nothing before the Retry-After (at least a second) has passed.
    let first = throttled[0];
    // (Requests already on their way when the 429 left may land just after it: allow them 100 ms.)
    let quiet = first.answered + Duration::from_millis(100)..first.answered + Duration::from_millis(900);
    let early = requests.iter().filter(|r| quiet.contains(&r.arrived)).count();
    assert_eq!(early, 0, "requests went out while Graph had asked to wait");
}

#[tokio::test]
async fn graph_answers_carry_resource_units_and_a_throttled_one_says_why() {
    let mut s = with_users(0, Vec::new());
    s.directory.read_units_per_10s = Some(30);
    s.directory.read_burst_seconds = 1;
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let token = t.user_token(TENANT_READ).await;
    let http = t.client.clone();
    let url = format!("{}v1.0/users?$select=id&$expand=manager&$top=999", t.sim.info().graph_url);
    let first = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(first.headers()["x-ms-resource-unit"], "2", "2 for users, -1 $select, +1 $expand");
    // Three RU a second: the second request of the same second is refused.
    let second = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(second.headers()["x-ms-throttle-information"], "ResourceUnitLimitExceeded");
    let scope = second.headers()["x-ms-throttle-scope"].to_str().unwrap().to_owned();
    assert!(scope.starts_with("Tenant_Application/Read/") && scope.ends_with(&t.tenant_id()), "{scope}");
    let body: serde_json::Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    // Photos are another service: not counted.
    let photo = format!("{}v1.0/users/adele.vance@contoso.com/photos/48x48/$value", t.sim.info().graph_url);
    let r = http.get(&photo).bearer_auth(&token).send().await.unwrap();
    assert_ne!(r.status(), 429);
}

#[tokio::test]
async fn a_token_refused_mid_paging_is_refreshed_once_and_paging_goes_on() {
    let fault = FaultSpec {
        graph_code: Some("InvalidAuthenticationToken".into()),
        ..graph_fault("/v1.0/users", 401, None, 1, 1)
    };
    let t = TestSim::start_with(with_users(150, vec![fault]), Some("adele.vance@contoso.com")).await;
    let g = client(&t);
    let tokens = reader(&t).await;
    let mut users = 0;
    g.pages(&tokens, Call::get("v1.0/users?$top=50"), |p| {
        users += p.items.len();
        true
    })
    .await
    .unwrap();
    assert_eq!(users, 155);
    assert_eq!(*tokens.refusals.lock().unwrap(), 1);

    // A token refused twice in a row is final: a typed failure, not a loop.
    let always = FaultSpec {
        graph_code: Some("InvalidAuthenticationToken".into()),
        ..graph_fault("/v1.0/organization", 401, None, 0, 5)
    };
    let t = TestSim::start_with(with_users(0, vec![always]), Some("adele.vance@contoso.com")).await;
    let tokens = reader(&t).await;
    let err = client(&t).organization(&tokens).await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.status == 401 && e.code == "InvalidAuthenticationToken"), "{err:?}");
    assert_eq!(*tokens.refusals.lock().unwrap(), 1);
    let tries = t.sim.requests().iter().filter(|r| r.path == "/v1.0/organization").count();
    assert_eq!(tries, 2);
}

#[tokio::test]
async fn throttling_waits_as_long_as_microsoft_asks_and_no_less() {
    let t = TestSim::start_with(
        with_users(0, vec![graph_fault("/v1.0/organization", 429, Some(1.0), 0, 2)]),
        Some("adele.vance@contoso.com"),
    )
    .await;
    let tokens = reader(&t).await;
    let org = client(&t).organization(&tokens).await.unwrap().unwrap();
    assert_eq!(org.display_name.as_deref(), Some("Contoso"));
    let tries: Vec<_> = t.sim.requests().into_iter().filter(|r| r.path == "/v1.0/organization").collect();
    assert_eq!(tries.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 429, 200]);
    for pair in tries.windows(2) {
        let waited = pair[1].arrived.duration_since(pair[0].answered);
        assert!(waited >= Duration::from_secs(1), "retried after {waited:?}, before Retry-After");
        assert!(waited < Duration::from_secs(3), "waited {waited:?}: far longer than asked");
    }
    let ids: Vec<_> = tries.iter().map(|r| r.client_request_id.clone().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one client-request-id across the retries of one call");
}

#[tokio::test]
async fn a_wait_longer_than_the_cap_is_reported_not_slept() {
    let t = TestSim::start_with(
        with_users(0, vec![graph_fault("/v1.0/organization", 429, Some(600.0), 0, 1)]),
        Some("adele.vance@contoso.com"),
    )
    .await;
    let tokens = reader(&t).await;
    let started = std::time::Instant::now();
    let err = client(&t).organization(&tokens).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let Failure::Graph(e) = err else { panic!("{err:?}") };
    assert_eq!((e.status, e.code.as_str(), e.retry_after_secs), (429, "TooManyRequests", Some(600)));
    assert!(e.request_id.is_some() && e.client_request_id.is_some());
}

#[tokio::test]
async fn outages_without_retry_after_back_off_and_then_fail_typed() {
    let t = TestSim::start_with(
        with_users(0, vec![graph_fault("/v1.0/organization", 503, None, 0, 10)]),
        Some("adele.vance@contoso.com"),
    )
    .await;
    let tokens = reader(&t).await;
    let policy = RetryPolicy { max_retries: 2, base: Duration::from_millis(200), cap: Duration::from_secs(60) };
    let err = client(&t).with_policy(policy).organization(&tokens).await.unwrap_err();
    assert!(matches!(&err, Failure::Graph(e) if e.status == 503 && e.code == "serviceNotAvailable"), "{err:?}");
    let tries: Vec<_> = t.sim.requests().into_iter().filter(|r| r.path == "/v1.0/organization").collect();
    assert_eq!(tries.len(), 3, "the first try and two retries");
    let second_wait = tries[2].arrived.duration_since(tries[1].answered);
    assert!(
        second_wait >= Duration::from_millis(200),
        "exponential: the second wait is at least the base ({second_wait:?})"
    );
}

#[tokio::test]
async fn batches_split_at_20_keep_order_and_report_each_item() {
    let t = TestSim::start_with(with_users(30, Vec::new()), Some("adele.vance@contoso.com")).await;
    let (g, tokens) = (client(&t), reader(&t).await);
    let mut items: Vec<BatchItem> = (0..22).map(|i| BatchItem::get(format!("me{i}"), "/me?$select=id")).collect();
    items.push(BatchItem::get("nobody", "/users/nobody@contoso.com/manager"));
    let mut dependent = BatchItem::get("after-nobody", "/me");
    dependent.depends_on = vec!["nobody".into()];
    items.push(dependent);
    let replies = g.batch(&tokens, &items).await.unwrap();
    assert_eq!(replies.len(), 24);
    assert!(replies.iter().zip(&items).all(|(r, i)| r.id == i.id), "replies in the order asked");
    assert!(replies[..22].iter().all(|r| r.status == 200 && r.result.is_ok()));
    assert!(
        matches!(&replies[22].result, Err(Failure::Graph(e)) if e.status == 404 && e.code == "Request_ResourceNotFound")
    );
    assert_eq!(replies[23].status, 424);
    let posts = t.sim.requests().iter().filter(|r| r.path == "/v1.0/$batch").count();
    assert_eq!(posts, 2, "24 requests in two batches");
}

#[tokio::test]
async fn throttled_batch_items_are_sent_again_after_their_retry_after() {
    let t = TestSim::start_with(
        with_users(0, vec![graph_fault("/v1.0/subscribedSkus", 429, Some(1.0), 0, 1)]),
        Some("adele.vance@contoso.com"),
    )
    .await;
    let (g, tokens) = (client(&t), reader(&t).await);
    let items = [BatchItem::get("me", "/me"), BatchItem::get("skus", "/subscribedSkus")];
    let replies = g.batch(&tokens, &items).await.unwrap();
    assert!(replies.iter().all(|r| r.status == 200), "{replies:#?}");
    let posts: Vec<_> = t.sim.requests().into_iter().filter(|r| r.path == "/v1.0/$batch").collect();
    assert_eq!(posts.len(), 2, "the throttled item went again on its own");
    let waited = posts[1].arrived.duration_since(posts[0].answered);
    assert!(waited >= Duration::from_secs(1), "item Retry-After obeyed: {waited:?}");
}

/// The vendor app's required permissions, as the shipped profile states them.
fn required() -> Vec<PermissionView> {
    let profile = mspbots_setup::profile::Profile::shipped().unwrap();
    profile
        .permissions
        .iter()
        .map(|p| PermissionView { resource: p.resource, kind: p.kind, name: p.name.clone(), reason: p.reason.clone() })
        .collect()
}

#[tokio::test]
async fn every_combination_of_missing_permissions_is_named() {
    let names: Vec<String> = required().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names.len(), 4);
    for mask in 0u32..(1 << names.len()) {
        let withheld: Vec<String> =
            names.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| n.clone()).collect();
        let mut s = with_users(0, Vec::new());
        s.consent.withheld.clone_from(&withheld);
        s.consent.withheld_consents = 0;
        let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
        t.admin_consent(&t.tenant_id()).await;
        let tokens = reader(&t).await;
        let snapshot = client(&t).tenant_snapshot(&tokens, &t.consent_client()).await.unwrap();
        assert!(matches!(snapshot.app, AppPresence::Found { enabled: true, .. }));
        let rows = checklist(&required(), &snapshot);
        let missing: Vec<&str> =
            rows.iter().filter(|r| r.state == PermissionState::Missing).map(|r| r.name.as_str()).collect();
        assert_eq!(missing, withheld.iter().map(String::as_str).collect::<Vec<_>>(), "withheld {withheld:?}");
        assert!(rows.iter().all(|r| r.reason.is_some()), "nothing granted beyond the profile: {rows:#?}");
        t.sim.shutdown().await;
    }
}

#[tokio::test]
async fn before_consent_the_app_is_not_found_and_everything_is_missing() {
    let t = TestSim::start_with(with_users(0, Vec::new()), Some("adele.vance@contoso.com")).await;
    let tokens = reader(&t).await;
    let snapshot = client(&t).tenant_snapshot(&tokens, &t.consent_client()).await.unwrap();
    assert_eq!(snapshot.app, AppPresence::NotFound);
    let rows = checklist(&required(), &snapshot);
    assert!(rows.iter().all(|r| r.state == PermissionState::Missing));
    assert_eq!(snapshot.licensing.unwrap().licensed_users, 5, "licences are read even without the app");
}

#[tokio::test]
async fn avatars_come_20_to_a_batch_with_none_for_users_without_photos() {
    let mut s = with_users(0, Vec::new());
    s.users.iter_mut().find(|u| u.upn.starts_with("alex")).unwrap().photo = false;
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let tokens = reader(&t).await;
    let ids = vec!["adele.vance@contoso.com".to_owned(), "alex.wilber@contoso.com".to_owned()];
    let photos = client(&t).avatars(&tokens, &ids).await.unwrap();
    let adele = photos[0].1.as_ref().unwrap().as_ref().unwrap();
    let avatar = mspbots_setup::shell::Avatar::decode(adele).unwrap();
    assert_eq!((avatar.width, avatar.height), (48, 48));
    assert!(matches!(photos[1].1, Ok(None)), "no photo: initials, not an error");
}

/// A plain-HTTP server answering every request with `raw` (status line, headers and body as given).
async fn canned(raw: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            // The client may hang up first; the test checks what it made of the answer.
            let _read = socket.read(&mut buf).await;
            let _written = socket.write_all(raw.as_bytes()).await;
            let _closed = socket.shutdown().await;
        }
    });
    format!("http://{addr}/")
}

async fn broken(ca_pem: &str, raw: &'static str) -> Failure {
    let base = canned(raw).await;
    // Trusting a private CA lifts https-only, as for the simulator; this server speaks plain HTTP.
    let http = http::client(&HttpConfig::new(Purpose::Api, Trust::OnlyPem(ca_pem.to_owned()))).unwrap();
    let g = Graph::new(http, &base).with_policy(RetryPolicy { max_retries: 0, ..RetryPolicy::default() });
    g.page(&Tokens::one("t"), &Call::get("v1.0/users")).await.unwrap_err()
}

#[tokio::test]
async fn broken_answers_are_typed_failures() {
    let t = TestSim::start("happy", None).await;
    let ca = t.sim.ca_pem().to_owned();
    let malformed =
        broken(&ca, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"value\": [")
            .await;
    assert!(
        matches!(&malformed, Failure::Parse { excerpt, .. } if excerpt.contains("EOF while parsing")),
        "{malformed:?}"
    );
    let truncated = broken(
        &ca,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"value\": [{\"id\":",
    )
    .await;
    // A body cut short is the connection's failure (retried where safe), not an unreadable answer.
    assert!(
        matches!(&truncated, Failure::Transport(t) if t.kind == TransportKind::Other && t.detail.contains("end of file")),
        "{truncated:?}"
    );
    let html = broken(
        &ca,
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 21\r\n\r\n<html>Bad gate</html>",
    )
    .await;
    assert!(matches!(&html, Failure::Graph(e) if e.status == 502 && e.code == "HTTP502"), "{html:?}");
    let no_value =
        broken(&ca, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").await;
    assert!(matches!(&no_value, Failure::Parse { excerpt, .. } if excerpt.contains("no 'value' list")), "{no_value:?}");
    let not_json = broken(&ca, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello").await;
    assert!(matches!(&not_json, Failure::Parse { .. }), "{not_json:?}");
}
