//! Installing the Teams app for everyone survives a kill: `run --headless --install-for-everyone` is killed
//! halfway (SIGKILL, no chance to clean up), run again, and finishes; the simulated tenant (in this process, so it
//! outlives both runs) saw exactly one successful install per user, and none again for users done before the kill.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mspbots_setup::sim::scenario::{self, FaultSpec};
use mspbots_setup::sim::{Sim, SimConfig};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");

fn progress_files(state: &Path) -> Vec<PathBuf> {
    let dir = state.join("bulk-install");
    std::fs::read_dir(dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default()
}

/// Results in the saved progress (not in a temporary file a killed write left behind, which was never saved).
fn saved_results(state: &Path) -> BTreeSet<String> {
    progress_files(state)
        .iter()
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .filter_map(|p| std::fs::read(p).ok())
        .filter_map(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .flat_map(|v| v["results"].as_object().map(|r| r.keys().cloned().collect::<Vec<_>>()).unwrap_or_default())
        .collect()
}

fn command(sim: &Sim, profile: &Path, state: &Path) -> common::Headless {
    let mut c = common::headless_against(BIN, sim, profile, state);
    c.args(["--install-for-everyone", "--grant-wait", "5"]);
    c
}

/// User object id of an install request's path (`/v1.0/users/{id}/teamwork/installedApps`).
fn user_of(path: &str) -> Option<String> {
    path.strip_prefix("/v1.0/users/")?.strip_suffix("/teamwork/installedApps").map(str::to_owned)
}

#[test]
fn a_killed_install_for_everyone_resumes_and_installs_each_remaining_user_exactly_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut s = scenario::load("happy").unwrap();
    s.directory.generated_users = 200;
    // Installs take a while, as at Microsoft, so the run can be killed in the middle.
    s.faults.push(FaultSpec {
        endpoint: "graph".into(),
        path: Some("/v1.0/users/".into()),
        method: Some("POST".into()),
        delay_ms: 250,
        ..Default::default()
    });
    let sim = rt.block_on(Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com"))).unwrap();
    let dir = std::env::temp_dir().join(format!("mspbots-resume-{}", std::process::id()));
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let profile = common::live_profile(&dir, &sim);

    let mut first = command(&sim, &profile, &state).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while saved_results(&state).len() < 60 {
        assert!(Instant::now() < deadline, "the first run never got going");
        assert!(first.try_wait().unwrap().is_none(), "the first run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(25));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let done_before = saved_results(&state);
    let boundary = sim.requests().len();
    assert!(done_before.len() < 180, "killed halfway, not at the end ({} done)", done_before.len());

    let out = command(&sim, &profile, &state).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let teams = lines
        .iter()
        .find(|l| l["step"] == "teams_app")
        .unwrap_or_else(|| panic!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let counts = &teams["detail"]["everyone"]["counts"];
    assert_eq!(counts["failed"], 0, "{teams:#}");
    assert_eq!(
        counts["installed"].as_u64().unwrap() + counts["already_had"].as_u64().unwrap(),
        counts["total"].as_u64().unwrap()
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(progress_files(&state).is_empty(), "a finished run leaves no progress behind");

    let requests = sim.requests();
    let mut installs: BTreeMap<String, u32> = BTreeMap::new();
    for r in requests.iter().filter(|r| r.via_batch && r.method == "POST" && r.status == 201) {
        *installs.entry(user_of(&r.path).unwrap()).or_default() += 1;
    }
    assert!(installs.values().all(|n| *n == 1), "someone was installed twice: {installs:?}");
    // Users installed in the moment before the kill, before their results were saved, are asked again and count
    // as "already had it", as does the admin (installed for first, on their own); nobody else had the app.
    assert_eq!(
        installs.len() as u64 + 1,
        counts["installed"].as_u64().unwrap() + counts["already_had"].as_u64().unwrap()
    );
    let again: Vec<String> = requests[boundary..]
        .iter()
        .filter(|r| r.via_batch && r.method == "POST")
        .filter_map(|r| user_of(&r.path))
        .filter(|u| done_before.contains(u))
        .collect();
    assert!(again.is_empty(), "users done before the kill were asked again: {again:?}");
    rt.block_on(sim.shutdown());
    std::fs::remove_dir_all(dir).unwrap();
}
