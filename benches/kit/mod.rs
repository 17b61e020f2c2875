//! What the window benchmarks share: the app in demo mode with a following browser, driven headless by
//! egui_kittest, and timed frames.
#![allow(dead_code, reason = "each benchmark uses the part it needs")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use mspbots_setup::app::{AppServices, WizardApp};
use mspbots_setup::http::{self, HttpConfig, Purpose};
use mspbots_setup::launch::{Launch, LaunchOptions};
use mspbots_setup::session::Endpoints;
use mspbots_setup::shell::browser::FollowingBrowser;
use mspbots_setup::shell::{NoWaker, Shell, UrlOpener};

/// The window in demo mode on `scenario`, its sign-in pages answering as `account` (the scenario's default when
/// `None`).
pub fn app(rt: &tokio::runtime::Runtime, scenario: &str, account: Option<&str>) -> WizardApp {
    let options = LaunchOptions {
        demo: true,
        profile: None,
        scenario: scenario.to_owned(),
        tenant: None,
        reproduce: None,
        cloud: None,
        demo_account: account.map(str::to_owned),
    };
    let services = AppServices::for_tests(Arc::new(|endpoints: &Endpoints, runtime: &tokio::runtime::Handle| {
        let http = http::client(&HttpConfig::new(Purpose::Api, endpoints.trust.clone())).unwrap();
        Arc::new(FollowingBrowser::new(http, runtime.clone())) as Arc<dyn UrlOpener>
    }));
    WizardApp::new(Launch::resolve(&options).unwrap(), Shell::new(rt.handle().clone(), NoWaker), services)
}

/// Runs frames until `done` holds (two minutes at most).
pub fn until(h: &mut Harness<'static, WizardApp>, what: &str, done: impl Fn(&WizardApp) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.state_mut().pump();
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn click(h: &mut Harness<'static, WizardApp>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click_accesskit();
    h.run_steps(2);
}

/// One frame: the app's report pump and an egui pass, timed together (ms).
pub fn frame(h: &mut Harness<'static, WizardApp>) -> f64 {
    let t = Instant::now();
    h.state_mut().pump();
    h.step();
    t.elapsed().as_secs_f64() * 1000.0
}

pub fn scroll(h: &mut Harness<'static, WizardApp>, dy: f32) {
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        modifiers: egui::Modifiers::NONE,
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
    });
}

/// p50, p99, max and count of frame times.
pub fn percentiles(mut xs: Vec<f64>) -> (f64, f64, f64, usize) {
    xs.sort_by(f64::total_cmp);
    let at = |p: f64| xs[((xs.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99), xs[xs.len() - 1], xs.len())
}

/// The window in demo mode on a partner `scenario` (a file), signed in as the partner's `agent` through
/// Welcome's second way in, the partner's sign-in started (the board's read under way or done).
pub fn partner_signing_in(rt: &tokio::runtime::Runtime, scenario: &str, agent: &str) -> Harness<'static, WizardApp> {
    let mut h = Harness::builder()
        .with_size([1000.0, 760.0])
        .build_ui_state(|ui, app: &mut WizardApp| app.ui_body(ui), app(rt, scenario, Some(agent)));
    until(&mut h, "the demo tenant", |a| a.wizard().is_some());
    if let mspbots_setup::app::DemoTenant::Ready(sim) = &h.state().demo {
        sim.sim().set_auto_login(Some(agent.to_owned()));
    }
    click(&mut h, "Customers of a partner…");
    click(&mut h, "Sign in to the partner tenant…");
    h
}
