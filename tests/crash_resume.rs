//! A crash at any step loses nothing and changes nothing twice: `run --headless` (the real binary) is killed with
//! SIGKILL while it signs in, and once its saved progress shows each later step in turn, then started again against
//! the same simulated tenant (in this process, so it outlives both runs and keeps what the first one did). The second run must pick up at the
//! step the first reached, read the tenant again, finish every step, and must not grant consent again, install the
//! app for the admin again, or write the Global policy again when the first run already had.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mspbots_setup::sim::recorder::{Host, RecordedRequest};
use mspbots_setup::sim::scenario::{self, FaultSpec};
use mspbots_setup::sim::{Sim, SimConfig};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");
const ADMIN: &str = "adele.vance@contoso.com";

fn command(sim: &Sim, profile: &Path, state: &Path) -> common::Headless {
    let mut c = common::headless_against(BIN, sim, profile, state);
    c.args(["--grant-wait", "10"]);
    c
}

fn progress_path(state: &Path) -> PathBuf {
    state.join(mspbots_setup::session::PROGRESS_FILE)
}

fn saved(state: &Path) -> Option<Value> {
    let bytes = std::fs::read(progress_path(state)).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok().map(|v| v["progress"].clone())
}

/// The moment to kill: what the saved progress says then (`None`: nothing saved yet, the run is signing in).
struct KillPoint {
    name: &'static str,
    reached: fn(Option<&Value>, &Sim) -> bool,
}

const ORDER: [&str; 5] = ["sign_in", "admin_consent", "verify_permissions", "teams_app", "global_policy"];

fn reached_at_least(p: &Value, step: &str) -> bool {
    let at = |s: &str| ORDER.iter().position(|o| *o == s);
    p["reached"].as_str().and_then(at) >= at(step)
}

const KILL_POINTS: [KillPoint; 5] = [
    // The browser of the first run never answers: it is killed waiting for the sign-in.
    KillPoint {
        name: "signing in",
        reached: |p, sim| p.is_none() && sim.requests().iter().any(|r| r.path.ends_with("/openid-configuration")),
    },
    KillPoint { name: "consent granted", reached: |p, _| p.is_some_and(|p| p["consent_granted"] == true) },
    KillPoint { name: "verifying", reached: |p, _| p.is_some_and(|p| reached_at_least(p, "verify_permissions")) },
    KillPoint { name: "app installed for the admin", reached: |p, _| p.is_some_and(|p| p["teams_app"].is_string()) },
    KillPoint { name: "policy applied", reached: |p, _| p.is_some_and(|p| p["policy_applied"] == true) },
];

/// Requests that change the tenant: an app upload, an install for the admin, a policy write. (Admin consents are
/// counted by the simulator itself: a consent page loads several times on its way to a grant.)
fn changes(requests: &[RecordedRequest]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| {
            let upload =
                r.host == Host::Graph && r.method == "POST" && r.path.starts_with("/v1.0/appCatalogs/teamsApps");
            let install = r.host == Host::Graph
                && r.method == "POST"
                && r.path.ends_with("/teamwork/installedApps")
                && (200..300).contains(&r.status);
            // A refused write (an app-centric tenant refusing the install, before the pin alone) changes nothing.
            let policy = r.host == Host::TeamsAdmin && r.method == "PUT" && (200..300).contains(&r.status);
            upload || install || policy
        })
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect()
}

#[test]
fn a_run_killed_at_each_step_resumes_there_and_changes_nothing_twice() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut results = Vec::new();
    for point in &KILL_POINTS {
        let mut s = scenario::load("happy").unwrap();
        // Every Graph and Teams admin answer takes a moment, as at Microsoft, so the run can be caught between steps.
        for endpoint in ["graph", "teams-admin"] {
            s.faults.push(FaultSpec { endpoint: endpoint.into(), delay_ms: 60, ..Default::default() });
        }
        // After the policy is applied the run checks who has the app. Here the pin does not reach users within the
        // run's --grant-wait, so the run is still checking (for ten seconds) when the saved progress shows the policy
        // applied: under Wine on a busy machine the saved progress can lag the run by seconds.
        if point.name == "policy applied" {
            s.teams.propagation_secs = 600.0;
        }
        let sim = rt.block_on(Sim::start(SimConfig::new(s).with_auto_login(ADMIN))).unwrap();
        let dir =
            std::env::temp_dir().join(format!("mspbots-crash-{}-{}", std::process::id(), point.name.replace(' ', "-")));
        let _fresh = std::fs::remove_dir_all(&dir);
        let state = dir.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let profile = common::live_profile(&dir, &sim);

        let mut first = command(&sim, &profile, &state);
        if point.name == "signing in" {
            first.without_browser();
        }
        let mut first = first.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if (point.reached)(saved(&state).as_ref(), &sim) {
                break;
            }
            assert!(Instant::now() < deadline, "{}: the first run never got there", point.name);
            if let Some(status) = first.try_wait().unwrap() {
                panic!(
                    "{}: the first run ended ({status:?}) before it could be killed; saved: {:?}",
                    point.name,
                    saved(&state)
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        first.kill().unwrap(); // SIGKILL: no chance to clean up or save anything more
        first.wait().unwrap();
        let at_kill = saved(&state).unwrap_or_default();
        let boundary = sim.requests().len();
        let changes_before = changes(&sim.requests());
        let consents_before = sim.admin_consents();

        let out = command(&sim, &profile, &state).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(out.status.code(), Some(0), "{}: the second run did not finish:\n{stdout}\n{stderr}", point.name);
        assert_eq!(lines.len(), 5, "{}: every step has its line:\n{stdout}", point.name);
        let picked_up = stderr.contains("Picking up the setup of Contoso");
        assert_eq!(
            picked_up,
            !at_kill.is_null(),
            "{}: picked up exactly when there was progress: {stderr}",
            point.name
        );

        let requests = sim.requests();
        let after = &requests[boundary..];
        let changes_after = changes(after);
        let consent_line = &lines[1];
        if at_kill["consent_granted"] == true {
            assert!(
                consent_line["summary"].as_str().unwrap().contains("earlier run"),
                "{}: consent taken from the earlier run: {consent_line}",
                point.name
            );
            assert_eq!(sim.admin_consents(), consents_before, "{}: consent granted again", point.name);
        }
        if at_kill["teams_app"].is_string() {
            assert!(
                !changes_after.iter().any(|c| c.contains("installedApps") || c.contains("appCatalogs")),
                "{}: the app was installed again: {changes_after:?}",
                point.name
            );
        }
        if at_kill["policy_applied"] == true {
            assert!(!changes_after.iter().any(|c| c.starts_with("PUT")), "{}: policy written again", point.name);
            assert_eq!(lines[4]["detail"]["changed"], false, "{}", point.name);
        }
        // What the resumed run relies on is read again, not trusted: the vendor app's grants.
        assert!(
            after.iter().any(|r| r.host == Host::Graph && r.path.starts_with("/v1.0/servicePrincipals")),
            "{}: the tenant's grants were not read again",
            point.name
        );
        // Over both runs, each change happened exactly once.
        let all = changes(&requests);
        assert_eq!(sim.admin_consents(), 1, "{}: one admin consent over both runs", point.name);
        for kind in ["installedApps", "PUT"] {
            let n = all.iter().filter(|c| c.contains(kind)).count();
            assert_eq!(n, 1, "{}: '{kind}' happened {n} times: {all:?}", point.name);
        }
        results.push(format!(
            "{:>28}: killed at {:<18} tenant changes before the kill {}, after {}",
            point.name,
            at_kill["reached"].as_str().unwrap_or("?"),
            changes_before.len() + consents_before,
            changes_after.len() + sim.admin_consents() - consents_before
        ));
        rt.block_on(sim.shutdown());
        std::fs::remove_dir_all(dir).unwrap();
    }
    println!("{}", results.join("\n"));
}
