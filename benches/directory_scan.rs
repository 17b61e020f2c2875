//! The large-directory readiness scan (issue 7, item 3): 100,000 users with managers, 50 ms added to every Graph
//! answer, Graph's page limits (100 a page with managers expanded) and its resource-unit throttle for identity
//! reads (`sim::graph::throttle`: 2 RU a page, a quota per 10 s). The plain approach most tools take, one pager
//! following `@odata.nextLink` with `$expand=manager`, against the product's scan (`graph::scan`), each on a fresh
//! simulated tenant, at Microsoft's documented quota for a tenant this size and at a quota small enough to bind.
//!
//! The floor is what the throttle's sustained rate allows: the resource units of the cheapest complete read
//! (one 2-RU page per 100 users) divided by the quota's rate. A bucket that starts full lets one scan go below it.
//!
//! Run: `cargo bench --bench directory_scan`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table, reads the real clock and may panic on a broken setup"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Instant;

use common::{TENANT_READ, TestSim};
use mspbots_setup::graph::people::USERS_QUERY;
use mspbots_setup::graph::{Call, Graph};
use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use mspbots_setup::secret::Secret;
use mspbots_setup::sim::scenario::{self, FaultSpec};
use mspbots_setup::sim::{documented_quota, resource_units};
use mspbots_setup::wizard::Failure;

const USERS: u32 = 100_000;
const LATENCY_MS: u64 = 50;

/// One run's figures.
struct Run {
    secs: f64,
    users: usize,
    twice: usize,
    requests: usize,
    units: u64,
    throttled: usize,
    failed: Option<Failure>,
}

impl Run {
    /// The read ended on a 429 it did not get past.
    fn throttled_out(&self) -> bool {
        matches!(&self.failed, Some(Failure::Graph(e)) if e.status == 429)
    }
}

async fn tenant(quota: Option<u32>) -> (TestSim, Graph, Secret) {
    let mut s = scenario::load("happy").unwrap();
    s.directory.generated_users = USERS;
    s.directory.read_units_per_10s = quota;
    s.faults.push(FaultSpec { endpoint: "graph".into(), delay_ms: LATENCY_MS, ..Default::default() });
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let token = Secret::new(t.user_token(TENANT_READ).await);
    let http = http::client(&HttpConfig::new(Purpose::Api, Trust::OnlyPem(t.sim.ca_pem().to_owned()))).unwrap();
    let graph = Graph::new(http, &t.sim.info().graph_url);
    (t, graph, token)
}

fn figures(t: &TestSim, secs: f64, ids: &[String], failed: Option<Failure>) -> Run {
    let requests = t.sim.requests();
    let graph: Vec<_> = requests.iter().filter(|r| r.path.starts_with("/v1.0/")).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    Run {
        secs,
        users: unique.len(),
        twice: ids.len() - unique.len(),
        requests: graph.len(),
        units: graph
            .iter()
            .filter(|r| r.status != 429)
            .map(|r| u64::from(resource_units(&r.method, &r.path, Some(&r.query))))
            .sum(),
        throttled: graph.iter().filter(|r| r.status == 429).count(),
        failed,
    }
}

/// The plain approach: one pager, `$expand=manager`, 100 a page.
async fn plain(quota: Option<u32>) -> Run {
    let (t, graph, token) = tenant(quota).await;
    let mut ids = Vec::new();
    let started = Instant::now();
    let mut call = Some(Call::get(USERS_QUERY));
    let mut failed = None;
    while let Some(c) = call {
        match graph.users_page(&token, &c).await {
            Ok((users, next)) => {
                ids.extend(users.into_iter().map(|u| u.id));
                call = next;
            }
            Err(f) => {
                failed = Some(f);
                break;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let run = figures(&t, secs, &ids, failed);
    t.sim.shutdown().await;
    run
}

/// The product's scan.
async fn ours(quota: Option<u32>) -> Run {
    let (t, graph, token) = tenant(quota).await;
    let ids = Mutex::new(Vec::new());
    let started = Instant::now();
    let result = graph
        .read_directory(&token, |users, _| {
            ids.lock().unwrap().extend(users.into_iter().map(|u| u.id));
            async {}
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    let run = figures(&t, secs, &ids.into_inner().unwrap(), result.err());
    t.sim.shutdown().await;
    run
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let everyone = USERS as usize + 5;
    let floor_units = everyone.div_ceil(100) as f64 * 2.0;
    println!(
        "Readiness scan: {everyone} users with managers, {LATENCY_MS} ms per answer, Graph's identity throttle (cargo bench --bench directory_scan)"
    );
    for (label, quota) in [("Microsoft's documented quota", None), ("a quota that binds", Some(1_000))] {
        let units_per_10s = quota.unwrap_or_else(|| documented_quota(everyone));
        let rate = f64::from(units_per_10s) / 10.0;
        let floor = floor_units / rate;
        // The bucket starts full (10 s of quota): only what it does not hold must wait for the refill.
        let bucket_floor = (floor_units - f64::from(units_per_10s)).max(0.0) / rate;
        let base = rt.block_on(plain(quota));
        let scan = rt.block_on(ours(quota));
        println!();
        println!(
            "{label}: {units_per_10s} RU per 10 s; floor {floor_units:.0} RU / {:.0} RU/s = {floor:.2} s",
            f64::from(units_per_10s) / 10.0
        );
        println!("{:<28} {:>10} {:>10}", "", "one pager", "our scan");
        println!("{:<28} {:>10.2} {:>10.2}", "time (s)", base.secs, scan.secs);
        println!("{:<28} {:>10} {:>10}", "users read (unique)", base.users, scan.users);
        println!("{:<28} {:>10} {:>10}", "users read twice", base.twice, scan.twice);
        println!("{:<28} {:>10} {:>10}", "Graph requests", base.requests, scan.requests);
        println!("{:<28} {:>10} {:>10}", "resource units spent", base.units, scan.units);
        println!("{:<28} {:>10} {:>10}", "429 answers met", base.throttled, scan.throttled);
        println!(
            "{:<28} {:>10} {:>10}",
            "429s left unhandled",
            usize::from(base.throttled_out()),
            usize::from(scan.throttled_out())
        );
        println!(
            "{:<28} {:>10} {:>10}",
            "failed",
            base.failed.as_ref().map_or_else(|| "no".to_owned(), ToString::to_string),
            scan.failed.as_ref().map_or_else(|| "no".to_owned(), ToString::to_string)
        );
        println!("speed-up over one pager: {:.1}× (target ≥ 5×)", base.secs / scan.secs);
        println!("our scan against the floor: {:.2}× (target ≤ 1.5×)", scan.secs / floor);
        if bucket_floor > 0.0 {
            println!(
                "against the floor with the bucket full at the start ({bucket_floor:.2} s): {:.2}×",
                scan.secs / bucket_floor
            );
        }
    }
}
