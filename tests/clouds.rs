//! Sovereign clouds (issue 9): the simulated tenant stands in for each Microsoft cloud (its discovery says which,
//! as Microsoft's does), and the real binary runs the whole wizard against it with `--cloud`. Each run must ask
//! for the cloud's own Graph resource in every scope and on the admin-consent page, and the Teams step must stop
//! with its explanation where third-party apps are not available (GCC High, DoD).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use mspbots_setup::profile::Cloud;
use mspbots_setup::sim::scenario;
use mspbots_setup::sim::{Sim, SimConfig};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");

#[test]
fn every_cloud_has_microsofts_hosts() {
    let hosts = |c: Cloud| (c.login_url(), c.graph_url(), c.teams_admin_url());
    assert_eq!(
        hosts(Cloud::Public),
        (
            "https://login.microsoftonline.com/",
            "https://graph.microsoft.com/",
            Some("https://api.interfaces.records.teams.microsoft.com/")
        )
    );
    assert_eq!(hosts(Cloud::Gcc), hosts(Cloud::Public), "GCC keeps the commercial hosts");
    assert_eq!(hosts(Cloud::GccHigh), ("https://login.microsoftonline.us/", "https://graph.microsoft.us/", None));
    assert_eq!(hosts(Cloud::Dod), ("https://login.microsoftonline.us/", "https://dod-graph.microsoft.us/", None));
    assert_eq!(
        hosts(Cloud::China),
        ("https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn/", None)
    );
    assert_eq!(Cloud::Dod.graph_resource(), "https://dod-graph.microsoft.us");
}

/// One headless run with `--cloud cloud` against a simulator that says it is that cloud.
async fn run(cloud: &str) -> (Vec<Value>, Vec<mspbots_setup::sim::RecordedRequest>) {
    let mut s = scenario::load("happy").unwrap();
    s.teams.cloud = cloud.to_owned();
    let sim = Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com")).await.unwrap();
    let dir = std::env::temp_dir().join(format!("mspbots-cloud-{cloud}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = common::live_profile(&dir, &sim);
    let mut command = common::headless_against(BIN, &sim, &profile, &dir.join("state"));
    command.args(["--cloud", cloud, "--grant-wait", "10"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let lines = common::json_lines(&out);
    let requests = sim.requests();
    sim.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
    (lines, requests)
}

fn status<'a>(lines: &'a [Value], step: &str) -> (&'a str, Option<&'a str>) {
    let l = lines.iter().find(|l| l["step"] == step).unwrap_or_else(|| panic!("no {step} in {lines:#?}"));
    (l["status"].as_str().unwrap(), l["code"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_stands_in_for_every_cloud() {
    for (cloud, resource, teams_allowed) in [
        ("public", "https://graph.microsoft.com", true),
        ("gcc", "https://graph.microsoft.com", true),
        ("gcc-high", "https://graph.microsoft.us", false),
        ("dod", "https://dod-graph.microsoft.us", false),
        ("china", "https://microsoftgraph.chinacloudapi.cn", true),
    ] {
        let (lines, requests) = run(cloud).await;
        // Every Graph permission asked for at the token endpoint names the cloud's Graph.
        let scopes: Vec<String> = requests
            .iter()
            .filter(|r| r.path.ends_with("/oauth2/v2.0/token"))
            .flat_map(|r| r.form.iter().filter(|(k, _)| k == "scope").map(|(_, v)| v.clone()))
            .collect();
        let graph_scopes: Vec<&str> =
            scopes.iter().flat_map(|s| s.split(' ')).filter(|s| s.contains("Directory.Read.All")).collect();
        assert!(!graph_scopes.is_empty(), "{cloud}: no tenant read asked for: {scopes:?}");
        assert!(graph_scopes.iter().all(|s| s.starts_with(resource)), "{cloud}: {graph_scopes:?}");
        let consent = requests.iter().find(|r| r.path.ends_with("/v2.0/adminconsent")).expect("a consent page");
        let asked: Vec<(String, String)> = url::form_urlencoded::parse(consent.query.as_bytes()).into_owned().collect();
        assert!(asked.contains(&("scope".into(), format!("{resource}/.default"))), "{cloud}: {asked:?}");

        assert_eq!(status(&lines, "sign_in").0, "done", "{cloud}: {lines:#?}");
        assert_eq!(status(&lines, "admin_consent").0, "done", "{cloud}");
        assert_eq!(status(&lines, "verify_permissions").0, "done", "{cloud}");
        if teams_allowed {
            assert_eq!(status(&lines, "teams_app").0, "done", "{cloud}: {lines:#?}");
        } else {
            assert_eq!(status(&lines, "teams_app").1, Some("teams_government_cloud"), "{cloud}: {lines:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_teams_admin_api_the_policy_is_left_to_the_admin_with_the_script() {
    // China: Microsoft's hosts are known, the Teams admin API's is not. As `--login-url` without
    // `--teams-admin-url`.
    let s = scenario::load("happy").unwrap();
    let sim = Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com")).await.unwrap();
    let dir = std::env::temp_dir().join(format!("mspbots-cloud-noapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = common::live_profile(&dir, &sim);
    let mut command = common::headless_without_teams_admin(BIN, &sim, &profile, &dir.join("state"));
    command.args(["--cloud", "china", "--grant-wait", "10"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let lines = common::json_lines(&out);
    assert_eq!(status(&lines, "teams_app").0, "done", "{lines:#?}");
    assert_eq!(status(&lines, "global_policy"), ("needs_attention", Some("policy_api_unavailable")), "{lines:#?}");
    let policy = lines.iter().find(|l| l["step"] == "global_policy").unwrap();
    assert!(policy["summary"].as_str().unwrap().contains("this Microsoft cloud"), "{policy:#}");
    let script = policy["detail"]["powershell"].as_str().unwrap_or_default();
    assert!(script.contains("Set-CsTeamsAppSetupPolicy"), "the script to run instead: {policy:#}");
    sim.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}
