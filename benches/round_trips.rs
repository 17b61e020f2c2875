//! Round trips per step on the happy path (issue 7, item 2): the real binary runs every step headless against the
//! simulated tenant, in this process, with 50 ms added to every answer (so requests that overlap are told apart from
//! requests that wait for each other), and writes its diagnostics bundle. The bundle's timeline says which step
//! each request was for, when it ended and how long it took; from it this prints, per step, the requests sent, the
//! sequential round trips (waves of overlapping requests), and the minimum the step needs.
//!
//! Run: `cargo bench --bench round_trips`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table and may panic on a broken setup"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use mspbots_setup::diagnostics::bundle::Bundle;
use mspbots_setup::diagnostics::journal::What;
use mspbots_setup::sim::scenario::{self, FaultSpec};
use mspbots_setup::sim::{Sim, SimConfig};
use mspbots_setup::wizard::StepId;

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");
const LATENCY_MS: u64 = 50;

/// The preview's requests (the directory), shown apart from the permission check they run beside.
const PREVIEW: &str = "/v1.0/users";

/// The fewest sequential round trips each row needs, and why.
fn minimum(step: StepId, preview: bool) -> (usize, &'static str) {
    if preview {
        return (1, "one page of 100 per wave (65 users: one page); the count beside it");
    }
    match step {
        StepId::SignIn => (
            3,
            "discovery; code → token (every step's Graph permissions approved here); the account, its roles and the tenant (one wave)",
        ),
        StepId::AdminConsent => (
            4,
            "the read token (by refresh, approved at sign-in); is the app already there; the page's pre-flight; the app seen after the redirect",
        ),
        StepId::VerifyPermissions => (
            3,
            "the app's service principal; its grants + licences ($batch); the resources' roles ($batch, needs the grants); the read token came with the consent step",
        ),
        StepId::TeamsApp => (
            4,
            "discovery + the Teams token (by refresh); catalog ($batch); the admin's apps + licences + org-wide settings (their token by refresh, same wave); the install",
        ),
        StepId::GlobalPolicy => (
            5,
            "the policies; the change (refused: this tenant installs per app); the pins alone; the read-back; who has it (25 users' apps and licences: four $batches side by side)",
        ),
        StepId::Welcome | StepId::Done => (0, ""),
    }
}

struct Request {
    start: u64,
    end: u64,
    what: String,
}

/// Waves: a request that starts after every request of the current wave has ended starts a new one. Returns the
/// requests of each wave.
fn waves(mut requests: Vec<Request>) -> Vec<Vec<String>> {
    requests.sort_by_key(|r| r.start);
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut wave_end: Option<u64> = None;
    for r in requests {
        match (wave_end, out.last_mut()) {
            (Some(end), Some(wave)) if r.start < end => {
                wave_end = Some(end.max(r.end));
                wave.push(r.what);
            }
            _ => {
                wave_end = Some(r.end);
                out.push(vec![r.what]);
            }
        }
    }
    out
}

/// One headless run of the whole wizard against `s` (the admin's consent pages answered by the simulator's auto
/// mode): the simulator, the diagnostics bundle, and the browser visits each step's line reports.
struct Run {
    sim: Sim,
    bundle: Bundle,
    visits: Vec<(StepId, u64)>,
    dir: std::path::PathBuf,
}

fn run(rt: &tokio::runtime::Runtime, s: scenario::Scenario, name: &str) -> Run {
    let sim = rt.block_on(Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com"))).unwrap();
    let dir = std::env::temp_dir().join(format!("mspbots-bench-rt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = common::live_profile(&dir, &sim);
    let bundle_path = dir.join("bundle.json");
    let out = common::headless_against(BIN, &sim, &profile, &dir.join("state"))
        .args(["--grant-wait", "10", "--diagnostics", bundle_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{name} failed:\n{}", String::from_utf8_lossy(&out.stdout));
    let visits = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|l| {
            let step: StepId = serde_json::from_value(l["step"].clone()).unwrap();
            (step, l["detail"]["browser_visits"].as_u64().unwrap())
        })
        .collect();
    Run { sim, bundle: Bundle::load(&bundle_path).unwrap(), visits, dir }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut s = scenario::load("happy").unwrap();
    // The pin reaches users at once here, so the delivery check reads once: its re-reads while a pin propagates
    // (hours at Microsoft) are waiting, not round trips.
    s.teams.propagation_secs = 0.0;
    for endpoint in ["graph", "teams-admin", "discovery", "token", "adminconsent"] {
        s.faults.push(FaultSpec { endpoint: endpoint.into(), delay_ms: LATENCY_MS, ..Default::default() });
    }
    // The same tenant, with the admin cancelling the first consent page of the setup tool's own (the sign-in's, which
    // asks for every step's permissions): each step then asks for its own.
    let mut declined = s.clone();
    declined.consent.declined_user_consents = 1;
    let Run { sim, bundle, visits, dir } = run(&rt, s, "happy");
    let visits_of =
        |visits: &[(StepId, u64)], step: StepId| visits.iter().find(|(s, _)| *s == step).map_or(0, |(_, n)| *n);

    println!(
        "Round trips per step, happy path, {LATENCY_MS} ms added to every answer (cargo bench --bench round_trips)"
    );
    println!("{:<20} {:>8} {:>12} {:>8} {:>7}  minimum is", "step", "requests", "round trips", "minimum", "visits");
    let mut total = (0, 0, 0);
    let rows = [
        (StepId::SignIn, false),
        (StepId::AdminConsent, false),
        (StepId::VerifyPermissions, false),
        (StepId::VerifyPermissions, true),
        (StepId::TeamsApp, false),
        (StepId::GlobalPolicy, false),
    ];
    for (step, preview) in rows {
        let requests: Vec<Request> = bundle
            .timeline
            .iter()
            .filter_map(|e| match &e.what {
                What::Http(h)
                    if h.step == Some(step)
                        && (step == StepId::VerifyPermissions && h.url.contains(PREVIEW)) == preview =>
                {
                    let path = h.url.split_once("://").map_or(h.url.as_str(), |(_, rest)| rest);
                    let path = path.find('/').map_or(path, |i| &path[i..]);
                    let what = format!("{} {}", h.method, path.split('?').next().unwrap_or(path));
                    Some(Request { start: e.at_ms.saturating_sub(h.duration_ms), end: e.at_ms, what })
                }
                _ => None,
            })
            .collect();
        let n = requests.len();
        let waves = waves(requests);
        let trips = waves.len();
        let (min, why) = minimum(step, preview);
        total = (total.0 + n, total.1 + trips, total.2 + min);
        let name = if preview { "Preview" } else { step.title() };
        let visits = if preview { "-".to_owned() } else { visits_of(&visits, step).to_string() };
        println!("{name:<20} {n:>8} {trips:>12} {min:>8} {visits:>7}  {why}");
        for (i, wave) in waves.iter().enumerate() {
            println!("{:<20}   wave {}: {}", "", i + 1, wave.join(" + "));
        }
    }
    let happy_visits: u64 = visits.iter().map(|(_, n)| n).sum();
    println!("{:<20} {:>8} {:>12} {:>8} {happy_visits:>7}", "all steps", total.0, total.1, total.2);
    let unassigned: Vec<String> = bundle
        .timeline
        .iter()
        .filter_map(|e| match &e.what {
            What::Http(h) if h.step.is_none() => Some(format!("{} {}", h.method, h.url)),
            _ => None,
        })
        .collect();
    println!("(requests the simulator answered in all: {}; not tied to a step: {unassigned:?})", sim.requests().len());
    if std::env::var_os("ROUND_TRIPS_ALL").is_some() {
        for r in sim.requests() {
            println!(
                "  sim: {:?} {} {} {}{}",
                r.host,
                r.method,
                r.path,
                r.status,
                if r.via_batch { " (in $batch)" } else { "" }
            );
        }
    }
    rt.block_on(sim.shutdown());
    std::fs::remove_dir_all(dir).unwrap();

    let declined = run(&rt, declined, "declined");
    let per_step: Vec<String> = declined.visits.iter().map(|(s, n)| format!("{} {n}", s.title())).collect();
    let sum: u64 = declined.visits.iter().map(|(_, n)| n).sum();
    println!();
    println!(
        "Browser visits: happy path {happy_visits} (target 2); the sign-in's approval declined once: {sum} ({})",
        per_step.join(", ")
    );
    rt.block_on(declined.sim.shutdown());
    std::fs::remove_dir_all(declined.dir).unwrap();
}
