//! Nothing the setup tool writes holds a secret: every shipped scenario is run headless, logging at the most verbose
//! level (`-vv`), against a simulated tenant in this process (so the test knows every code, verifier, state,
//! access and refresh token and secret that crossed the wire); its stdout, its stderr (the logs), every file it left
//! in its state folder, and its bundle exported with `mspbots-setup diagnostics export` (as recorded, and with
//! customer details hidden) are searched for each of those values. None may appear, nor (hidden) any account name,
//! domain or tenant id in the hidden bundle.
//! Also: `explain` from the command line, and bundles that cannot be read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mspbots_setup::sim::scenario::{self, Scenario};
use mspbots_setup::sim::{Sim, SimConfig};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mspbots-diag-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a scenario needs on the command line to reach its failure.
fn extra(scenario: &str) -> Vec<&'static str> {
    match scenario {
        "other-tenant" => vec!["--tenant", "contoso.com", "--grant-wait", "20"],
        "teams-install-throttled" => vec!["--install-for-everyone", "--grant-wait", "20"],
        "permissions-missing" => vec!["--grant-wait", "3"],
        _ => vec!["--grant-wait", "20"],
    }
}

fn run(sim: &Sim, scenario: &str, dir: &Path) -> Output {
    let profile = common::live_profile(dir, sim);
    common::headless_against(BIN, sim, &profile, &dir.join("state")).arg("-vv").args(extra(scenario)).output().unwrap()
}

/// Every file below `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() { stack.push(path) } else { out.push(path) }
        }
    }
    out
}

fn export(dir: &Path, file: &Path, hide: bool) -> Output {
    let mut c = Command::new(BIN);
    c.args(["diagnostics", "export"]).arg(file).env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join("state"));
    if hide {
        c.arg("--hide-customer-details");
    }
    c.output().unwrap()
}

/// The longest run of base64url characters: a bearer token, refresh token or code is one long run; ids are not.
fn longest_token_like_run(text: &str) -> usize {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).map(str::len).max().unwrap_or(0)
}

fn fast(mut s: Scenario) -> Scenario {
    // The shipped replication delays (up to 20 s) make the same point in 2 s.
    s.consent.replication_delay_secs = s.consent.replication_delay_secs.min(2.0);
    s.consent.roles_replication_delay_secs = s.consent.roles_replication_delay_secs.min(2.0);
    s
}

#[test]
fn no_bundle_of_any_scenario_holds_a_secret_or_when_hidden_a_customer_detail() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scenarios: Vec<Scenario> =
        scenario::shipped().into_iter().map(|(n, _)| fast(scenario::load(&n).unwrap())).collect();
    let sims: Vec<Sim> = scenarios
        .iter()
        .map(|s| {
            let config = SimConfig::new(s.clone()).with_auto_login(s.default_account.clone());
            rt.block_on(Sim::start(config)).unwrap()
        })
        .collect();
    let runs: Vec<(PathBuf, Output)> = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .iter()
            .zip(&sims)
            .map(|(s, sim)| {
                scope.spawn(move || {
                    let dir = temp_dir(&s.name);
                    let out = run(sim, &s.name, &dir);
                    (dir, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let mut secrets_checked = 0;
    let mut named_checked = 0;
    let mut log_lines = 0;
    let mut state_files = 0;
    for ((s, sim), (dir, out)) in scenarios.iter().zip(&sims).zip(&runs) {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stdout.trim().is_empty(), "{}: the run printed nothing: {stderr}", s.name);
        let secrets = common::secrets_seen(sim);
        secrets_checked += secrets.len();
        log_lines += stderr.lines().filter(|l| l.contains("TRACE") || l.contains("DEBUG")).count();
        // The sign-in address the run asked a person to open carries `state` and `code_challenge` as any browser's
        // address bar does; everything else on stderr is the log.
        let log = stderr
            .lines()
            .filter(|l| !l.starts_with(mspbots_setup::shell::browser::OPEN_THIS_ADDRESS))
            .collect::<Vec<_>>()
            .join("\n");
        let mut outputs = vec![("stdout".to_owned(), stdout.to_string()), ("stderr".to_owned(), log)];
        for path in files_under(&dir.join("state")) {
            let bytes = std::fs::read(&path).unwrap();
            outputs.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
            state_files += 1;
        }
        for (name, text) in &outputs {
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "{}: {name} holds a secret: {secret}", s.name);
            }
            assert!(!text.contains("eyJ0eXAi") && !text.contains("eyJhbGci"), "{}: {name} holds a JWT", s.name);
        }
        let details = common::customer_details(s);
        for hide in [false, true] {
            let file = dir.join(if hide { "hidden.json" } else { "bundle.json" });
            let exported = export(dir, &file, hide);
            assert!(
                exported.status.success(),
                "{}: export failed: {}",
                s.name,
                String::from_utf8_lossy(&exported.stderr)
            );
            for path in [file.clone(), file.with_extension("html")] {
                let text = std::fs::read_to_string(&path).unwrap();
                for secret in &secrets {
                    assert!(!text.contains(secret.as_str()), "{}: {} holds a secret: {secret}", s.name, path.display());
                }
                assert!(!text.contains("eyJ"), "{}: {} holds a JSON web token", s.name, path.display());
                let run = longest_token_like_run(&text);
                assert!(run < 60, "{}: {} holds a token-like run of {run} characters", s.name, path.display());
                if hide {
                    for d in &details {
                        assert!(!text.contains(d.as_str()), "{}: hidden {} still names '{d}'", s.name, path.display());
                    }
                }
            }
            let bundle = mspbots_setup::diagnostics::bundle::Bundle::load(&file).unwrap();
            assert_eq!(bundle.hide_customer, hide);
            assert!(!bundle.steps.is_empty(), "{}: a bundle without steps", s.name);
        }
        // The recorded bundle really does name the customer (so the hidden check above is not vacuous) whenever
        // the admin got signed in.
        let recorded = std::fs::read_to_string(dir.join("bundle.json")).unwrap();
        if stdout.lines().next().is_some_and(|l| l.contains(r#""status":"done""#)) {
            assert!(recorded.contains(&s.tenant.tenant_id), "{}: the recorded bundle lacks the tenant id", s.name);
            assert!(recorded.contains(&s.default_account), "{}: the recorded bundle lacks the account", s.name);
            named_checked += 1;
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
    assert!(secrets_checked > 3 * scenarios.len(), "only {secrets_checked} secrets were seen: the check is vacuous");
    assert!(log_lines > 10 * scenarios.len(), "only {log_lines} debug/trace lines: the log check is vacuous");
    assert!(state_files >= scenarios.len(), "only {state_files} state files were searched");
    assert!(named_checked > scenarios.len() / 2, "only {named_checked} runs signed in: the hidden check is vacuous");
    for sim in sims {
        rt.block_on(sim.shutdown());
    }
}

fn explain(args: &[&str], stdin_file: Option<&Path>) -> (i32, String, String) {
    let mut c = Command::new(BIN);
    c.arg("explain").args(args);
    if let Some(f) = stdin_file {
        c.stdin(std::fs::File::open(f).unwrap());
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn explain_reads_codes_error_bodies_redirects_and_sign_in_pages() {
    let (code, out, _) = explain(&["AADSTS65001"], None);
    assert_eq!(code, 0);
    assert!(out.contains("Who can fix it: A Global Administrator"), "{out}");
    assert!(out.contains("Code: AADSTS65001"), "{out}");
    let (_, bare, _) = explain(&["65001"], None);
    assert_eq!(bare, out, "a bare number is the same AADSTS code");

    let (code, json, _) = explain(&["Authorization_RequestDenied", "--json"], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["code"], "Authorization_RequestDenied");
    assert!(!v["fix"].as_array().unwrap().is_empty());

    let dir = temp_dir("explain");
    let cases = [
        (
            "token.json",
            r#"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired.","error_codes":[700082],"trace_id":"trace-7","correlation_id":"corr-7"}"#,
            "AADSTS700082",
        ),
        (
            "graph.json",
            r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource does not exist.","innerError":{"request-id":"req-9","date":"2026-11-27T03:00:00"}}}"#,
            "Request_ResourceNotFound",
        ),
        (
            "redirect.txt",
            "http://127.0.0.1:53682/?error=access_denied&error_description=AADSTS65004%3a+User+declined+to+consent&state=abc",
            "AADSTS65004",
        ),
        (
            "page.txt",
            "Sign in\nSorry, but we're having trouble signing you in.\nAADSTS53003: Access has been blocked by Conditional Access policies.\nTrace ID: 4c1d6f8e-1111-4a2b-9c3d-5e6f7a8b9c0d\nCorrelation ID: 0a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a5b\nTimestamp: 2026-11-27T03:00:00Z",
            "AADSTS53003",
        ),
    ];
    for (name, text, want) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let (code, out, err) = explain(&["--file", file.to_str().unwrap()], None);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(out.contains(&format!("Code: {want}")), "{name}: {out}");
        assert!(!out.contains("not in the setup tool's list"), "{name} is explained generically: {out}");
    }
    // Ids support needs are quoted, and standard input works as a file.
    let (_, out, _) = explain(&["--file", "-"], Some(&dir.join("token.json")));
    assert!(out.contains("Trace ID: trace-7") && out.contains("Correlation ID: corr-7"), "{out}");
    let (_, out, _) = explain(&["--file", dir.join("page.txt").to_str().unwrap()], None);
    assert!(out.contains("Correlation ID: 0a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a5b"), "{out}");

    // An unknown code is explained honestly and quoted; unreadable input is said to be so (exit 2).
    let (code, out, _) = explain(&["AADSTS99999"], None);
    assert_eq!(code, 0);
    assert!(out.contains("AADSTS99999") && out.contains("not in the setup tool's list"), "{out}");
    let (code, out, _) = explain(&["Request_SomethingNew"], None);
    assert_eq!(code, 0);
    assert!(out.starts_with("Microsoft error code Request_SomethingNew"), "{out}");
    assert!(!out.contains("Status: 0") && !out.contains("Request:"), "no request was made: {out}");
    std::fs::write(dir.join("prose.txt"), "the wizard did not work for me").unwrap();
    let (code, out, err) = explain(&["--file", dir.join("prose.txt").to_str().unwrap()], None);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("is not a Microsoft error code"), "{err}");
    let (code, _, err) = explain(&["--file", dir.join("missing.json").to_str().unwrap()], None);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bundles_that_cannot_be_read_are_refused_with_a_clear_message() {
    let dir = temp_dir("bad-bundles");
    let reproduce = |file: &Path| {
        let out = Command::new(BIN)
            .args(["reproduce", "--headless"])
            .arg(file)
            .env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join("state"))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let cases = [
        ("corrupt.json", "{\"schema\": 1, \"steps\": [", "is not a diagnostics bundle"),
        ("pdf.json", "%PDF-1.7", "is not a diagnostics bundle"),
        ("newer.json", "{\"schema\": 99}", "open it with a newer version of the setup tool"),
        ("older.json", "{\"schema\": 0}", "open it with the version that made it"),
        ("shape.json", "{\"schema\": 1, \"steps\": 3}", "is not a diagnostics bundle"),
    ];
    for (name, text, want) in cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let (code, err) = reproduce(&file);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
    let (code, err) = reproduce(&dir.join("absent.json"));
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot read"), "{err}");

    // Nothing recorded yet: export says so.
    let out = Command::new(BIN)
        .args(["diagnostics", "export"])
        .arg(dir.join("out.json"))
        .env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join("empty-state"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no session has been recorded"));
    assert!(!dir.join("out.json").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
