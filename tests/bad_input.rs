//! Every command refuses what it cannot use the same way: a missing or invalid file, an unknown name, a value of the
//! wrong form is one line on stderr naming what and why, exit code 2, nothing printed on stdout, nothing started
//! and nothing written to the state folder. The cases walk every option of every command.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");

/// Who refuses: clap (its own first line, then usage) or the program (exactly one line).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum By {
    Clap,
    Program,
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mspbots-bad-input-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Runs the program with `args` and a state folder of its own that does not exist yet (or holds `seed`), and checks
/// the refusal. Returns stderr.
fn refused(args: &[&str], by: By, says: &[&str], seed: Option<(&str, &[u8])>) -> String {
    let state = std::env::temp_dir().join(format!("mspbots-bad-input-state-{}-{}", std::process::id(), unique()));
    if let Some((name, bytes)) = seed {
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join(name), bytes).unwrap();
    }
    let before = listing(&state);
    let mut child = Command::new(BIN)
        .args(args)
        .env("MSPBOTS_SETUP_STATE_DIR", &state)
        // No display: a window the refusal should have prevented cannot open and wait for a person.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("BROWSER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{args:?} was not refused: it is still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: exit {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status);
    assert!(stdout.is_empty(), "{args:?} printed on stdout: {stdout}");
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{args:?}: {stderr}");
    // clap names the argument on its first line and may list what it expected below; the program says it all in one.
    let said = match by {
        By::Program => {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: more than one line: {stderr}");
            first
        }
        By::Clap => stderr.as_str(),
    };
    for needle in says {
        assert!(said.contains(needle), "{args:?}: it does not say {needle:?}: {said}");
    }
    assert_eq!(listing(&state), before, "{args:?} wrote to the state folder");
    std::fs::remove_dir_all(&state).ok();
    stderr
}

fn listing(dir: &Path) -> Option<Vec<String>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut names: Vec<String> = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    Some(names)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The options every launch shares (the window, `run`): profile, scenario, tenant, cloud.
fn target_cases(files: &Files, before: &[&str]) {
    let broken_profile = files.write("broken-profile.toml", "vendor_name = \"Acme\"\ncloud = \"mars\"\n");
    let broken_scenario = files.write("broken-scenario.toml", "name = [\n");
    let with = |rest: &[&str]| -> Vec<String> { before.iter().chain(rest).map(|s| (*s).to_owned()).collect() };
    let cases: Vec<(Vec<String>, By, Vec<&str>)> = vec![
        (with(&["--profile", "/no/such/profile.toml"]), By::Program, vec!["could not read the vendor profile"]),
        (with(&["--profile", &broken_profile]), By::Program, vec!["broken-profile.toml", "line 2"]),
        (with(&["--scenario", "no-such-name"]), By::Program, vec!["'no-such-name'", "happy", "not-admin"]),
        (with(&["--demo", "--scenario", "no-such-name"]), By::Program, vec!["'no-such-name'", "happy"]),
        (with(&["--scenario", &broken_scenario]), By::Program, vec!["broken-scenario.toml", "not valid TOML"]),
        (
            with(&["--demo", "--as", "nobody@contoso.com"]),
            By::Program,
            vec!["no account nobody@contoso.com", "adele.vance@contoso.com"],
        ),
        (with(&["--cloud", "mars"]), By::Clap, vec!["'mars'", "--cloud"]),
        (with(&["--tenant", "contoso"]), By::Clap, vec!["'contoso'", "tenant id"]),
        (with(&["--no-such-option"]), By::Clap, vec!["--no-such-option"]),
    ];
    for (args, by, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, by, &says, None);
    }
}

/// The window refuses before it opens: the same line, exit 2, nothing started. (Under Wine a refused launch would
/// still try to open its message window, so the window's cases run where a missing display stops it.)
#[cfg(not(windows))]
#[test]
fn the_window_refuses_bad_files_names_and_values() {
    let files = Files::new();
    target_cases(&files, &[]);
}

#[test]
fn run_refuses_bad_files_names_and_values() {
    let files = Files::new();
    target_cases(&files, &["run", "--headless"]);
    let not_pem = files.write("not-a-cert.pem", "hello\n");
    let h = ["run", "--headless"];
    let cases: Vec<(Vec<&str>, By, Vec<&str>)> = vec![
        (vec!["run", "--demo"], By::Program, vec!["needs --headless"]),
        (
            vec!["run", "--headless", "--demo", "--as", "nobody@contoso.com"],
            By::Program,
            vec!["no account nobody@contoso.com", "adele.vance@contoso.com"],
        ),
        ([&h[..], &["--login-url", "login.example.com"]].concat(), By::Clap, vec!["--login-url", "not a web address"]),
        (
            [&h[..], &["--login-url", "https://127.0.0.1/", "--graph-url", "ftp://graph"]].concat(),
            By::Clap,
            vec!["--graph-url"],
        ),
        (
            [&h[..], &["--login-url", "https://127.0.0.1/", "--teams-admin-url", ""]].concat(),
            By::Clap,
            vec!["--teams-admin-url"],
        ),
        ([&h[..], &["--discovery-url", "file:///etc/passwd"]].concat(), By::Clap, vec!["--discovery-url"]),
        (
            [&h[..], &["--login-url", "https://127.0.0.1/", "--ca-cert", "/no/such/ca.pem"]].concat(),
            By::Program,
            vec!["cannot read the CA certificate /no/such/ca.pem"],
        ),
        (
            [&h[..], &["--login-url", "https://127.0.0.1/", "--ca-cert", &not_pem]].concat(),
            By::Program,
            vec!["holds no PEM certificate"],
        ),
        ([&h[..], &["--scopes", ""]].concat(), By::Clap, vec!["--scopes"]),
        ([&h[..], &["--redirect-host", "example.com"]].concat(), By::Clap, vec!["'example.com'"]),
        ([&h[..], &["--stop-after", "nowhere"]].concat(), By::Clap, vec!["'nowhere'"]),
        ([&h[..], &["--grant-wait", "soon"]].concat(), By::Clap, vec!["'soon'"]),
        (
            [&h[..], &["--demo", "--diagnostics", "/no/such/folder/b.json"]].concat(),
            By::Program,
            vec!["/no/such/folder/b.json", "folder does not exist"],
        ),
        ([&h[..], &["--hide-customer-details"]].concat(), By::Clap, vec!["--diagnostics"]),
    ];
    for (args, by, says) in cases {
        refused(&args, by, &says, None);
    }
}

#[test]
fn customers_list_refuses_bad_files_names_and_values() {
    let files = Files::new();
    target_cases(&files, &["customers", "list", "--headless"]);
    let cases: Vec<(Vec<&str>, By, Vec<&str>)> = vec![
        (vec!["customers", "list", "--demo"], By::Program, vec!["needs --headless"]),
        (vec!["customers", "list", "--headless", "--json", "--now"], By::Clap, vec!["--now"]),
        (vec!["customers", "nothing"], By::Clap, vec!["'nothing'"]),
        (
            vec![
                "customers",
                "list",
                "--headless",
                "--demo",
                "--scenario",
                "msp-partner",
                "--as",
                "nobody@contoso.com",
            ],
            By::Program,
            vec!["no account nobody@contoso.com", "lynne.robbins@northwindmsp.com"],
        ),
    ];
    for (args, by, says) in cases {
        refused(&args, by, &says, None);
    }
}

#[test]
fn customers_check_refuses_bad_files_names_and_values() {
    let files = Files::new();
    target_cases(&files, &["customers", "check", "--all", "--headless"]);
    let cases: Vec<(Vec<&str>, By, Vec<&str>)> = vec![
        (vec!["customers", "check", "--all", "--demo"], By::Program, vec!["needs --headless"]),
        (vec!["customers", "check", "--headless", "--demo"], By::Clap, vec!["--all"]),
        (vec!["customers", "check", "--all", "--headless", "--every"], By::Clap, vec!["--every"]),
    ];
    for (args, by, says) in cases {
        refused(&args, by, &says, None);
    }
}

#[test]
fn customers_setup_refuses_bad_files_names_and_values() {
    let files = Files::new();
    target_cases(&files, &["customers", "setup", "--headless", "--all-ready"]);
    let cases: Vec<(Vec<&str>, By, Vec<&str>)> = vec![
        (vec!["customers", "setup", "--demo", "--all-ready"], By::Program, vec!["needs --headless"]),
        (vec!["customers", "setup", "--headless", "--demo"], By::Clap, vec!["TENANT_ID"]),
        (vec!["customers", "setup", "--headless", "not a tenant"], By::Clap, vec!["'not a tenant'"]),
        (
            vec!["customers", "setup", "--headless", "--all-ready", "7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47"],
            By::Clap,
            vec!["--all-ready"],
        ),
        (vec!["customers", "setup", "--headless", "--all-ready", "--grant-wait", "soon"], By::Clap, vec!["soon"]),
    ];
    for (args, by, says) in cases {
        refused(&args, by, &says, None);
    }
}

#[test]
fn sim_refuses_bad_names_and_values() {
    let files = Files::new();
    let a_file = files.write("a-file", "not a folder");
    let cases: Vec<(Vec<&str>, By, Vec<&str>)> = vec![
        (vec!["sim", "--scenario", "no-such-name"], By::Program, vec!["'no-such-name'", "happy"]),
        (vec!["sim", "--addr", "nowhere"], By::Clap, vec!["'nowhere'"]),
        (vec!["sim", "--auto-login", "nobody@contoso.com"], By::Program, vec!["no account nobody@contoso.com"]),
        (vec!["sim", "--state-dir", &a_file], By::Program, vec!["is not a folder"]),
    ];
    for (args, by, says) in cases {
        refused(&args, by, &says, None);
    }
}

#[test]
fn explain_refuses_what_is_not_an_error() {
    let files = Files::new();
    let word = files.write("word.txt", "hello\n");
    let cases: Vec<(Vec<&str>, By, Vec<&str>)> = vec![
        (vec!["explain", "not a code!"], By::Program, vec!["cannot explain it", "'not a code!'"]),
        (vec!["explain", "--file", "/no/such/error.json"], By::Program, vec!["cannot read /no/such/error.json"]),
        (vec!["explain", "--file", &word], By::Program, vec!["cannot explain it", "word.txt"]),
        (vec!["explain"], By::Clap, vec!["CODE"]),
    ];
    for (args, by, says) in cases {
        refused(&args, by, &says, None);
    }
}

#[test]
fn diagnostics_export_refuses_without_a_session_or_a_folder() {
    let bundle = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/bundle/happy.json")).unwrap();
    refused(&["diagnostics", "export", "/tmp/x.json"], By::Program, &["nothing to export"], None);
    refused(
        &["diagnostics", "export", "/no/such/folder/x.json"],
        By::Program,
        &["cannot write /no/such/folder/x.json"],
        Some(("last-session.json", &bundle)),
    );
    refused(
        &["diagnostics", "export", "/tmp/x.json"],
        By::Program,
        &["cannot read the last session"],
        Some(("last-session.json", b"{")),
    );
    refused(&["diagnostics"], By::Clap, &[], None);
}

#[test]
fn reproduce_refuses_a_missing_or_broken_bundle() {
    let files = Files::new();
    let corrupt = files.write("corrupt.json", "{\"schema\": 1,");
    let unrelated = files.write("unrelated.json", "{\"hello\": \"world\"}");
    for headless in [&["--headless"][..], &[]] {
        #[cfg(windows)]
        if headless.is_empty() {
            continue;
        }
        let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
            (
                vec!["reproduce", "/no/such/bundle.json"],
                vec!["cannot open the diagnostics bundle", "/no/such/bundle.json"],
            ),
            (vec!["reproduce", &corrupt], vec!["corrupt.json"]),
            (vec!["reproduce", &unrelated], vec!["unrelated.json"]),
        ];
        for (mut args, says) in cases {
            args.extend_from_slice(headless);
            refused(&args, By::Program, &says, None);
        }
    }
    refused(&["reproduce", &corrupt, "--grant-wait", "later"], By::Clap, &["'later'"], None);
}

#[test]
fn conformance_refuses_missing_reports_folders_names_and_values() {
    let files = Files::new();
    let not_a_report = files.write("not-a-report.json", "{\"hello\": \"world\"}");
    let not_json = files.write("not-json.json", "shapes, roughly");
    let profile = files.write("broken-profile.toml", "vendor_name = [");
    for (args, says) in [
        (
            vec!["conformance", "compare", "/no/such/report.json"],
            vec!["cannot read the report", "/no/such/report.json"],
        ),
        (vec!["conformance", "compare", &not_a_report], vec!["not a conformance report", "not-a-report.json"]),
        (vec!["conformance", "compare", &not_json], vec!["not a conformance report", "not JSON"]),
        (vec!["conformance", "record", "--out", "/no/such/folder/report.json"], vec!["folder does not exist"]),
        // The shipped profile has no app ids: a recording would measure the demo tenant, so it is refused.
        (vec!["conformance", "record", "--out", &files.write("z.json", "")], vec!["lacks", "client_id", "--profile"]),
        (
            vec!["conformance", "record", "--out", &files.write("x.json", ""), "--profile", &profile],
            vec!["broken-profile.toml"],
        ),
        (
            vec![
                "conformance",
                "record",
                "--out",
                &files.write("y.json", ""),
                "--ca-cert",
                "/no/such/ca.pem",
                "--login-url",
                "https://127.0.0.1:9/",
                "--graph-url",
                "https://127.0.0.1:9/",
            ],
            vec!["/no/such/ca.pem"],
        ),
    ] {
        refused(&args, By::Program, &says, None);
    }
    // A real report against a scenario that does not exist: refused before the simulator starts.
    let report = files.write(
        "empty-report.json",
        r#"{"format": "mspbots-setup conformance report 1", "source": "a tenant", "version": "0", "exchanges": []}"#,
    );
    refused(
        &["conformance", "compare", &report, "--scenario", "no-such-scenario"],
        By::Program,
        &["no-such-scenario"],
        None,
    );
    refused(
        &["conformance", "record", "--out", "r.json", "--tenant", "not a tenant"],
        By::Clap,
        &["'not a tenant'"],
        None,
    );
    refused(&["conformance", "record", "--out", "r.json", "--login-url", "ftp://x"], By::Clap, &["ftp://x"], None);
    refused(&["conformance", "record", "--out", "r.json", "--cloud", "mars"], By::Clap, &["'mars'"], None);
    refused(&["conformance", "compare"], By::Clap, &["FILE"], None);
}
