//! Installing the Teams app for everyone (issue 7, item 4): a directory of 10,000 users, 50 ms added to every
//! Graph answer, and the simulated tenant's install ceiling (`installs_per_second`; past it Graph answers 429 with
//! `Retry-After`). The real binary runs `run --headless --install-for-everyone`; the simulator's record of the
//! installs gives the throughput (accepted installs per second, first to last), which is compared with the
//! ceiling, and the users installed twice or never. (Resuming after a kill: `tests/bulk_resume.rs`.)
//!
//! Run: `cargo bench --bench bulk_install`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table, reads the real clock and may panic on a broken setup"
)]

use std::collections::BTreeMap;

#[path = "../tests/common/mod.rs"]
mod common;

use mspbots_setup::sim::scenario::{self, FaultSpec};
use mspbots_setup::sim::{Sim, SimConfig};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");
const USERS: u32 = 10_000;
const CEILING: u32 = 100;
const LATENCY_MS: u64 = 50;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut s = scenario::load("happy").unwrap();
    s.directory.generated_users = USERS;
    s.teams.installs_per_second = CEILING;
    s.faults.push(FaultSpec { endpoint: "graph".into(), delay_ms: LATENCY_MS, ..Default::default() });
    let sim = rt.block_on(Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com"))).unwrap();
    let dir = std::env::temp_dir().join(format!("mspbots-bench-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = common::live_profile(&dir, &sim);
    let out = common::headless_against(BIN, &sim, &profile, &dir.join("state"))
        .args(["--grant-wait", "10", "--install-for-everyone"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let teams: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["step"] == "teams_app")
        .unwrap_or_else(|| panic!("no Teams line:\n{stdout}"));
    let counts = &teams["detail"]["everyone"]["counts"];

    let requests = sim.requests();
    let installs: Vec<_> = requests
        .iter()
        .filter(|r| r.via_batch && r.method == "POST" && r.path.ends_with("/teamwork/installedApps"))
        .collect();
    let accepted: Vec<_> = installs.iter().filter(|r| r.status == 201 || r.status == 409).collect();
    let throttled = installs.iter().filter(|r| r.status == 429).count();
    let mut per_user: BTreeMap<&str, u32> = BTreeMap::new();
    for r in installs.iter().filter(|r| r.status == 201) {
        *per_user.entry(r.path.as_str()).or_default() += 1;
    }
    let duplicated = per_user.values().filter(|n| **n > 1).count();
    let first = accepted.iter().map(|r| r.arrived).min().unwrap();
    let last = accepted.iter().map(|r| r.answered).max().unwrap();
    let secs = last.duration_since(first).as_secs_f64();
    let throughput = accepted.len() as f64 / secs;
    let total = counts["total"].as_u64().unwrap_or(0);
    let done = counts["installed"].as_u64().unwrap_or(0) + counts["already_had"].as_u64().unwrap_or(0);

    println!(
        "Install for everyone: {total} users, ceiling {CEILING} installs/s, {LATENCY_MS} ms per answer (cargo bench --bench bulk_install)"
    );
    println!("{:<34} {:>12} {:>14}", "", "measured", "target");
    println!(
        "{:<34} {:>12.1} {:>14}",
        "throughput (installs/s)",
        throughput,
        format!("≥ {:.0} (90%)", f64::from(CEILING) * 0.9)
    );
    println!("{:<34} {:>11.0}% {:>14}", "of the ceiling", throughput / f64::from(CEILING) * 100.0, "≥ 90%");
    println!(
        "{:<34} {:>12} {:>14}",
        "lost (not installed, not failed)",
        total - done - counts["failed"].as_u64().unwrap_or(0),
        "0"
    );
    println!("{:<34} {:>12} {:>14}", "failed", counts["failed"], "0");
    println!("{:<34} {:>12} {:>14}", "installed twice", duplicated, "0");
    println!("{:<34} {:>12} {:>14}", "429 answers met (retried)", throttled, "");
    println!("{:<34} {:>12.1} {:>14}", "install phase (s)", secs, "");
    rt.block_on(sim.shutdown());
    std::fs::remove_dir_all(dir).unwrap();
}
