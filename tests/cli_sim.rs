//! `mspbots-setup sim` as scripts use it: one JSON line on stdout, HTTPS that trusts the printed CA, a clean exit
//! on SIGTERM; plus `--list` and bad arguments.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");

#[tokio::test]
async fn sim_prints_one_json_line_serves_https_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["sim", "--scenario", "happy", "--auto-login", "adele.vance@contoso.com"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON line ({e}): {line}"));
    for key in [
        "login_url",
        "graph_url",
        "teams_admin_url",
        "ca_pem",
        "tenant_id",
        "signin_client_id",
        "consent_client_id",
        "consent_client_secret",
        "accounts",
    ] {
        assert!(!info[key].is_null(), "missing {key}: {info:#}");
    }
    let admin = info["accounts"].as_array().unwrap().iter().find(|a| a["upn"] == "adele.vance@contoso.com").unwrap();
    assert_eq!(admin["roles"][0], "Global Administrator");

    let ca_path = std::path::PathBuf::from(info["ca_pem"].as_str().unwrap());
    let pem = std::fs::read_to_string(&ca_path).unwrap();
    let client = http::client(&HttpConfig::new(Purpose::Auth, Trust::OnlyPem(pem))).unwrap();
    let url = format!("{}organizations/v2.0/.well-known/openid-configuration", info["login_url"].as_str().unwrap());
    let doc: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(doc["token_endpoint"].as_str().unwrap().starts_with(info["login_url"].as_str().unwrap()));

    #[cfg(unix)]
    {
        use std::time::{Duration, Instant};
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        let exit = loop {
            if let Some(exit) = child.try_wait().unwrap() {
                break exit;
            }
            assert!(Instant::now() < deadline, "sim did not stop within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(exit.code(), Some(0), "SIGTERM ends the simulator with exit code 0");
        assert!(!ca_path.exists(), "the private temporary folder is removed on exit");
    }
    #[cfg(not(unix))]
    {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn sim_list_names_every_shipped_scenario() {
    let out = Command::new(BIN).args(["sim", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for (name, summary) in mspbots_setup::sim::scenario::shipped() {
        assert!(text.lines().any(|l| l.starts_with(&name) && l.contains(&summary)), "{name} missing:\n{text}");
    }
}

#[test]
fn unknown_scenario_exits_2_and_lists_the_shipped_ones() {
    let out = Command::new(BIN).args(["sim", "--scenario", "no-such"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no-such") && err.contains("happy"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn broken_scenario_file_names_the_line() {
    let dir = std::env::temp_dir().join(format!("mspbots-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(&file, "base = \"happy\"\nname = \"x\"\nsummary = [\n").unwrap();
    let out = Command::new(BIN).args(["sim", "--scenario", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("broken.toml") && err.contains("line"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn auto_login_must_be_an_account_of_the_scenario() {
    let out = Command::new(BIN).args(["sim", "--auto-login", "ghost@nowhere.example"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("ghost@nowhere.example"), "{err}");
}
