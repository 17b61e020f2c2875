//! `mspbots-setup conformance`: `record` against a simulated tenant (in this process, standing in for a real one)
//! keeps the answers' shapes and nothing private (searched for every token, secret, name, address and id the
//! tenant holds or handed out); `compare` of that report with the same scenario finds no difference, of an edited
//! report names each edit (exit 1), and of a file that is not a report says so (exit 2).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use mspbots_setup::sim::{Sim, SimConfig, scenario};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");
const ADMIN: &str = "adele.vance@contoso.com";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mspbots-conformance-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(dir.join("state")).unwrap();
    dir
}

/// `conformance record` against `sim`, as a vendor engineer runs it against a tenant (browser sign-in).
fn record(sim: &Sim, dir: &Path, out: &Path) -> std::process::Output {
    let info = sim.info();
    let profile = common::live_profile(dir, sim);
    let mut c = Command::new(BIN);
    c.args(["conformance", "record", "--out"])
        .arg(out)
        .arg("--profile")
        .arg(&profile)
        .args(["--login-url", &info.login_url, "--graph-url", &info.graph_url])
        .args(["--teams-admin-url", &info.teams_admin_url])
        .arg("--ca-cert")
        .arg(&info.ca_pem)
        .env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join("state"))
        .env_remove("BROWSER")
        .stdin(std::process::Stdio::null());
    common::Headless::command(c, sim).output().unwrap()
}

fn compare(file: &Path, dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["conformance", "compare"])
        .arg(file)
        .args(extra)
        .env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join("state"))
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_recording_holds_shapes_only_compares_clean_with_its_scenario_and_names_every_edit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scenario = scenario::load("happy").unwrap();
    let sim = rt.block_on(Sim::start(SimConfig::new(scenario.clone()).with_auto_login(ADMIN))).unwrap();
    let dir = temp_dir("record");
    let report = dir.join("tenant-shapes.json");

    let out = record(&sim, &dir, &report);
    assert!(out.status.success(), "record failed: {}", text(&out));
    assert!(text(&out).contains("nothing was written to the tenant"), "{}", text(&out));
    let written = std::fs::read_to_string(&report).unwrap();

    // Read-only: the tenant saw no write (the token endpoint's POSTs and Graph's $batch of reads aside).
    let writes: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/token") && !r.path.ends_with("/$batch"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "record wrote to the tenant: {writes:?}");
    let batched_writes = sim.requests().iter().filter(|r| r.via_batch && r.method != "GET").count();
    assert_eq!(batched_writes, 0, "record wrote to the tenant inside a $batch");

    // Nothing private: every secret that crossed the wire, and every name, address and id of the tenant.
    let mut private = common::secrets_seen(&sim);
    assert!(private.len() > 3, "the scanner saw only {} secrets: the check would be vacuous", private.len());
    private.extend(common::customer_details(&scenario));
    private.extend(scenario.tenant.domains.iter().cloned());
    private.push(sim.info().signin_client_id.clone());
    for value in &private {
        assert!(!written.contains(value.as_str()), "the report holds a private value: {value}");
    }
    for marker in ["eyJ", "127.0.0.1", "contoso", "Contoso"] {
        assert!(!written.contains(marker), "the report holds {marker}");
    }

    // What the wizard reads, every API of it.
    let parsed: Value = serde_json::from_str(&written).unwrap();
    let paths: Vec<String> = parsed["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!("{} {} {}", e["api"].as_str().unwrap(), e["method"].as_str().unwrap(), e["path"].as_str().unwrap())
        })
        .collect();
    for needed in [
        "login POST /organizations/oauth2/v2.0/token",
        "graph GET /v1.0/me",
        "graph GET /v1.0/servicePrincipals",
        "graph GET /v1.0/users",
        "graph GET /v1.0/me/teamwork/installedApps",
        "graph GET /v1.0/users/{id}/photos/{id}/$value",
        "graph GET /v1.0/users/{id}/teamwork/installedApps",
        "graph GET /v1.0/users/{id}/licenseDetails",
        "teams_admin GET /Skype.Policy/configurations/TeamsAppSetupPolicy",
    ] {
        assert!(paths.iter().any(|p| p == needed), "{needed} not recorded; recorded: {paths:#?}");
    }

    // The same reads of the same scenario: no difference.
    let same = compare(&report, &dir, &["--scenario", "happy"]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    assert!(text(&same).contains("0 differences"), "{}", text(&same));

    // An edited report: each edit is a difference, in words and as JSON.
    let mut edited: Value = parsed.clone();
    let users = edited["exchanges"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["path"] == "/v1.0/users" && e["status"] == 200)
        .unwrap();
    let item = &mut users["shape"]["object"]["value"]["array"]["object"];
    assert!(item["displayName"].is_string() || item["displayName"].is_object(), "{item:#}");
    item.as_object_mut().unwrap().remove("jobTitle");
    item["employeeLeaveDateTime"] = Value::String("string".into());
    item["displayName"] = Value::String("number".into());
    let edited_path = dir.join("edited.json");
    std::fs::write(&edited_path, serde_json::to_vec(&edited).unwrap()).unwrap();
    let differs = compare(&edited_path, &dir, &[]);
    assert_eq!(differs.status.code(), Some(1), "{}", text(&differs));
    let said = text(&differs);
    assert!(said.contains("value[].employeeLeaveDateTime, the simulator does not"), "{said}");
    assert!(said.contains("the simulator sends value[].jobTitle, the tenant does not"), "{said}");
    assert!(said.contains("value[].displayName is number at the tenant, string in the simulator"), "{said}");
    let as_json = compare(&edited_path, &dir, &["--json"]);
    let kinds: Vec<String> = String::from_utf8_lossy(&as_json.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for kind in ["missing_property", "extra_property", "type_changed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} not in {kinds:?}");
    }

    // Not a report: one line, exit 2, nothing started.
    let not_a_report = dir.join("not-a-report.json");
    std::fs::write(&not_a_report, br#"{"hello": "world"}"#).unwrap();
    let refused = compare(&not_a_report, &dir, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&refused.stderr).lines().count(), 1, "{}", text(&refused));
    let missing = compare(&dir.join("nowhere.json"), &dir, &[]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    let unknown = compare(&report, &dir, &["--scenario", "no-such-scenario"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn record_refuses_an_output_folder_that_does_not_exist_before_signing_in() {
    let out = Command::new(BIN)
        .args(["conformance", "record", "--out", "/nonexistent-folder/report.json"])
        .env(mspbots_setup::fsutil::STATE_DIR_VAR, std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("folder does not exist") && stderr.lines().count() == 1, "{stderr}");
}
