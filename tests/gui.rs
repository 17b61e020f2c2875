//! The window, headless (egui_kittest + AccessKit, no GPU): demo banner, step list, demo accounts, and a broken
//! profile reported in the window instead of a crash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mspbots_setup::app::{DemoTenant, Launch, LaunchOptions, Shell, Waker, WizardApp};

struct NoWaker;
impl Waker for NoWaker {
    fn wake(&self) {}
}

fn app(runtime: &tokio::runtime::Runtime, options: &LaunchOptions) -> WizardApp {
    let launch = Launch::resolve(options).unwrap();
    WizardApp::new(launch, Shell::new(runtime.handle().clone()), NoWaker)
}

fn options() -> LaunchOptions {
    LaunchOptions { demo: false, profile: None, scenario: "happy".to_owned() }
}

fn harness(app: WizardApp) -> Harness<'static, WizardApp> {
    Harness::builder().with_size([960.0, 640.0]).build_ui_state(|ui, app: &mut WizardApp| app.ui_body(ui), app)
}

/// Runs frames until `done` holds, draining background reports like the real app; panics with what it saw.
fn step_until(harness: &mut Harness<'static, WizardApp>, description: &str, done: impl Fn(&WizardApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        harness.state_mut().drain_reports();
        // A spinner keeps asking for frames, so step a fixed number instead of waiting to settle.
        harness.run_steps(2);
        if done(harness.state()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {description}; app state: {:?}",
            harness.state().demo
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn incomplete_profile_starts_demo_mode_and_names_the_missing_fields() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut harness = harness(app(&rt, &options()));
    harness.run_steps(3);
    harness.get_by_label("Demo mode");
    harness.get_by_label_contains("consent.client_id");
    harness.get_by_label_contains("signin.client_id");
    for step in mspbots_setup::wizard::StepId::ALL {
        // "Welcome" is also the page heading, so a step title may appear twice.
        assert!(harness.query_all_by_label(step.title()).next().is_some(), "step list lacks {}", step.title());
    }
}

#[test]
fn demo_accounts_are_listed_once_the_demo_tenant_is_ready() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut harness = harness(app(&rt, &options()));
    harness.run_steps(3);
    assert_eq!(harness.query_all_by_label("Starting the demo tenant…").count(), 2, "status line and accounts section");
    step_until(&mut harness, "the demo tenant", |app| matches!(app.demo, DemoTenant::Ready(_)));
    harness.get_by_label("adele.vance@contoso.com");
    harness.get_by_label("lee.gu@contoso.com");
    harness.get_by_label_contains("Cloud Application Administrator: cannot grant");
    harness.get_by_label_contains("Demo tenant ready at https://127.0.0.1:");
}

#[test]
fn a_broken_profile_is_reported_with_its_line_and_the_demo_still_runs() {
    let dir = std::env::temp_dir().join(format!("mspbots-gui-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken-profile.toml");
    std::fs::write(&file, "vendor_name = \"Acme\"\ncloud = \"mars\"\n").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let options = LaunchOptions { profile: Some(file), ..options() };
    let mut harness = harness(app(&rt, &options));
    harness.run_steps(3);
    harness.get_by_label_contains("The vendor profile could not be used");
    harness.get_by_label_contains("broken-profile.toml");
    harness.get_by_label_contains("line 2");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unknown_demo_scenario_falls_back_to_happy_and_says_so() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let options = LaunchOptions { demo: true, scenario: "no-such-scenario".to_owned(), ..options() };
    let mut harness = harness(app(&rt, &options));
    harness.run_steps(3);
    harness.get_by_label_contains("Demo mode was requested with --demo.");
    harness.get_by_label_contains("running the 'happy' scenario instead");
}
