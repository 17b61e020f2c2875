//! The fault matrix: every step of the wizard, run against the simulated tenant (over real loopback HTTPS) with
//! each network or service fault injected in turn, must show the right inline explanation, recover with the
//! step's own Retry once the fault is gone, keep every earlier step completed, and never panic. Prints the table
//! step × fault → how it recovered, and fails on any cell that did not.
//!
//! The faults: connection refused, connection reset mid-body, timeout (a host that never answers), 429 with and
//! without `Retry-After`, 500/503/504, a 401 for an expired token, malformed JSON, a truncated body, a `$batch`
//! whose items fail differently, and a body that drips in slower than the request timeout. Cells where a fault
//! cannot happen in that step (no `$batch` in sign-in, no bearer token on a consent page, no JSON to garble in a
//! page) are marked `n/a` with why.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::print_stdout,
    reason = "test code: a failed step should panic, tests may read the real clock, and the table is the report"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mspbots_setup::auth::vault::MemoryStore;
use mspbots_setup::diagnostics::Catalogue;
use mspbots_setup::graph::retry::RetryPolicy;
use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use mspbots_setup::profile::Profile;
use mspbots_setup::session::{self, Driver, Endpoints};
use mspbots_setup::shell::browser::FollowingBrowser;
use mspbots_setup::shell::{NetworkTuning, NoWaker, Report, Shell, UrlOpener};
use mspbots_setup::sim::scenario::{self, BodyFault, FaultSpec};
use mspbots_setup::sim::{Host, NetMode, Sim, SimConfig};
use mspbots_setup::wizard::{
    Bulk, Consent, Failure, Intent, Load, Outcome, PolicyStep, SignIn, StepId, StepStatus, TeamsStep, VerifyPhase,
    Wizard,
};

const ADMIN: &str = "adele.vance@contoso.com";
/// Short enough to keep the matrix quick, long enough for the simulator's honest answers.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one cell may take before it counts as stuck.
const CELL_DEADLINE: Duration = Duration::from_secs(40);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    SignIn,
    Consent,
    Verify,
    Preview,
    Teams,
    Policy,
}

const STEPS: [Step; 6] = [Step::SignIn, Step::Consent, Step::Verify, Step::Preview, Step::Teams, Step::Policy];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Refused,
    ResetMidBody,
    Timeout,
    Throttled,
    ThrottledNoRetryAfter,
    Status500,
    Status503,
    Status504,
    Expired401,
    Malformed,
    Truncated,
    BatchMixed,
    Drip,
}

const FAULTS: [Fault; 13] = [
    Fault::Refused,
    Fault::ResetMidBody,
    Fault::Timeout,
    Fault::Throttled,
    Fault::ThrottledNoRetryAfter,
    Fault::Status500,
    Fault::Status503,
    Fault::Status504,
    Fault::Expired401,
    Fault::Malformed,
    Fault::Truncated,
    Fault::BatchMixed,
    Fault::Drip,
];

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::ResetMidBody => "reset mid-body",
            Self::Timeout => "timeout",
            Self::Throttled => "429 + Retry-After",
            Self::ThrottledNoRetryAfter => "429, no Retry-After",
            Self::Status500 => "500",
            Self::Status503 => "503",
            Self::Status504 => "504",
            Self::Expired401 => "401 expired",
            Self::Malformed => "malformed JSON",
            Self::Truncated => "truncated body",
            Self::BatchMixed => "$batch mixed",
            Self::Drip => "slow drip",
        }
    }

    /// The explanation codes that are right for this fault (what the admin is told).
    fn expected_codes(self) -> &'static [&'static str] {
        match self {
            // The first request after a host goes down may meet a pooled connection being cut ("transport");
            // new connections are refused ("connect").
            Self::Refused => &["connect", "transport"],
            Self::ResetMidBody | Self::Truncated => &["transport"],
            Self::Timeout | Self::Drip => &["timeout"],
            Self::Throttled | Self::ThrottledNoRetryAfter => &["TooManyRequests", "AADSTS90033"],
            Self::Status500 => &["generalException", "AADSTS90033"],
            Self::Status503 => &["serviceNotAvailable", "AADSTS90033"],
            Self::Status504 => &["gatewayTimeout", "AADSTS90033"],
            // One expired token is renewed by refreshing, without bothering the admin.
            Self::Expired401 => &[],
            Self::Malformed => &["unreadable_answer", "policy_shape_unknown"],
            Self::BatchMixed => &["serviceNotAvailable", "bulk_failures"],
        }
    }
}

/// Where a step's requests go: its host (network faults) and its API path (service faults).
fn target(step: Step) -> (Host, &'static str, &'static str) {
    match step {
        Step::SignIn => (Host::Login, "graph", "/v1.0/me"),
        Step::Consent => (Host::Login, "adminconsent", ""),
        Step::Verify => (Host::Graph, "graph", "/v1.0/servicePrincipals"),
        Step::Preview => (Host::Graph, "graph", "/v1.0/users"),
        // The catalog is read in a `$batch`; the admin's own apps (read, then the install) are plain requests.
        Step::Teams => (Host::Graph, "graph", "/v1.0/me/teamwork/installedApps"),
        Step::Policy => (Host::TeamsAdmin, "teams-admin", "/Skype.Policy"),
    }
}

/// Why a fault cannot happen in a step, if it cannot.
fn not_applicable(step: Step, fault: Fault) -> Option<&'static str> {
    match (step, fault) {
        (Step::SignIn | Step::Consent | Step::Preview | Step::Policy, Fault::BatchMixed) => Some("no $batch here"),
        (Step::Consent, Fault::Expired401) => Some("a page, no token"),
        // The tool reads the consent page only to look for an error code; a garbled page is the browser's to show.
        (Step::Consent, Fault::Malformed) => Some("a page, not parsed"),
        // The simulated admin accepts at once, so the page is a redirect without a body to cut or slow down (a
        // refused, reset or silent host is covered above).
        (Step::Consent, Fault::Truncated | Fault::ResetMidBody | Fault::Drip) => Some("a redirect, no body"),
        _ => None,
    }
}

/// The simulator's fault list for a service fault on `step`.
fn service_fault(step: Step, fault: Fault) -> Vec<FaultSpec> {
    let (_, endpoint, path) = target(step);
    let on = |spec: FaultSpec| FaultSpec {
        endpoint: endpoint.into(),
        path: (!path.is_empty()).then(|| path.into()),
        ..spec
    };
    let status = |s: u16| FaultSpec { status: Some(s), ..Default::default() };
    let consent = step == Step::Consent;
    match fault {
        // At the consent page Microsoft answers outages with a page naming a transient AADSTS code.
        _ if consent && matches!(fault, Fault::Throttled | Fault::ThrottledNoRetryAfter) => {
            vec![on(FaultSpec { status: Some(429), aadsts: Some(90033), ..Default::default() })]
        }
        Fault::Status500 | Fault::Status503 | Fault::Status504 if consent => {
            let s = match fault {
                Fault::Status500 => 500,
                Fault::Status503 => 503,
                _ => 504,
            };
            vec![on(FaultSpec { status: Some(s), aadsts: Some(90033), ..Default::default() })]
        }
        Fault::Throttled => vec![on(FaultSpec { retry_after_secs: Some(1.0), ..status(429) })],
        Fault::ThrottledNoRetryAfter => vec![on(status(429))],
        Fault::Status500 => vec![on(status(500))],
        Fault::Status503 => vec![on(status(503))],
        Fault::Status504 => vec![on(status(504))],
        Fault::Expired401 => vec![on(FaultSpec { count: Some(1), ..status(401) })],
        Fault::Malformed => vec![on(FaultSpec { body: Some(BodyFault::Malformed), ..Default::default() })],
        Fault::Truncated => vec![on(FaultSpec { body: Some(BodyFault::Truncated), ..Default::default() })],
        Fault::ResetMidBody => vec![on(FaultSpec { body: Some(BodyFault::Reset), ..Default::default() })],
        Fault::Drip => vec![on(FaultSpec { body: Some(BodyFault::Drip), drip_ms: 1500, ..Default::default() })],
        Fault::BatchMixed => match step {
            // One item of the grants batch keeps failing while the others succeed.
            Step::Verify => vec![FaultSpec {
                endpoint: "graph".into(),
                path: Some("/v1.0/oauth2PermissionGrants".into()),
                ..status(503)
            }],
            // Installing for everyone: one user's install keeps failing, another is throttled once.
            _ => vec![
                FaultSpec {
                    endpoint: "graph".into(),
                    path: Some("/v1.0/users/".into()),
                    method: Some("POST".into()),
                    after: 1,
                    count: Some(1),
                    retry_after_secs: Some(0.5),
                    ..status(429)
                },
                FaultSpec {
                    endpoint: "graph".into(),
                    path: Some("/v1.0/users/".into()),
                    method: Some("POST".into()),
                    after: 3,
                    count: Some(1),
                    ..status(500)
                },
            ],
        },
        Fault::Refused | Fault::Timeout => Vec::new(),
    }
}

/// A network fault on the step's host, if the fault is one.
fn network_fault(fault: Fault) -> Option<NetMode> {
    match fault {
        Fault::Refused => Some(NetMode::Refuse),
        Fault::Timeout => Some(NetMode::Hang),
        _ => None,
    }
}

struct Rig {
    sim: Sim,
    shell: Shell,
    driver: Driver,
    _state: tempdir::Dir,
}

mod tempdir {
    /// A folder removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _gone = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Rig {
    fn start(rt: &tokio::runtime::Runtime, name: &str) -> Self {
        let mut s = scenario::load("happy").unwrap();
        s.directory.generated_users = 8;
        let sim = rt.block_on(Sim::start(SimConfig::new(s).with_auto_login(ADMIN))).unwrap();
        let info = sim.info().clone();
        let trust = Trust::OnlyPem(sim.ca_pem().to_owned());
        // As `run --headless --login-url`: every host over HTTPS, the browser included.
        let endpoints = Endpoints {
            login_url: info.login_url.clone(),
            browser_login_url: None,
            graph_url: Some(info.graph_url.clone()),
            discovery_url: None,
            teams_admin_url: Some(info.teams_admin_url.clone()),
            graph_resource: "https://graph.microsoft.com".into(),
            trust: trust.clone(),
            teams_admin_center: format!("{}{}", info.login_url, mspbots_setup::session::SIMULATED_ADMIN_CENTER),
        };
        let profile = Profile::shipped().unwrap().for_simulator(
            &info.signin_client_id,
            &info.consent_client_id,
            &info.teams_app_id,
        );
        let mut env = session::environment(&profile, &endpoints, None);
        let state = tempdir::Dir(std::env::temp_dir().join(format!("mspbots-faults-{}-{name}", std::process::id())));
        env.state_dir = Some(state.0.clone());
        env.network = NetworkTuning {
            request_timeout: REQUEST_TIMEOUT,
            connect_timeout: REQUEST_TIMEOUT,
            retry: RetryPolicy { max_retries: 2, base: Duration::from_millis(100), cap: Duration::from_secs(60) },
        };
        let mut shell = Shell::new(rt.handle().clone(), NoWaker);
        let follower = http::client(&HttpConfig::new(Purpose::Api, trust)).unwrap();
        let opener = Arc::new(FollowingBrowser::new(follower, rt.handle().clone())) as Arc<dyn UrlOpener>;
        shell.configure(env.clone(), opener, Arc::new(|| Arc::new(MemoryStore::new("tests")))).unwrap();
        let mut settings = session::settings(&profile, &env, None);
        settings.timing.settle_patience = Duration::from_secs(2);
        let driver = Driver::new(Wizard::new(settings));
        Self { sim, shell, driver, _state: state }
    }

    fn w(&self) -> &Wizard {
        &self.driver.wizard
    }

    fn dispatch(&mut self, intent: Intent) {
        self.driver.dispatch(&self.shell, intent);
    }

    /// Feeds reports and time into the wizard until `done`; `before` sees each report first.
    fn until(
        &mut self,
        rt: &tokio::runtime::Runtime,
        what: &str,
        mut before: impl FnMut(&Sim, &Report),
        done: impl Fn(&Wizard) -> bool,
    ) {
        let deadline = Instant::now() + CELL_DEADLINE;
        while !done(self.w()) {
            assert!(Instant::now() < deadline, "stuck waiting for {what}: {:#?}", step_states(self.w()));
            if let Some(report) = rt.block_on(self.shell.next_report(Duration::from_millis(20))) {
                before(&self.sim, &report);
                let _other = self.driver.apply(&self.shell, report);
            }
            self.driver.tick(&self.shell);
        }
    }

    fn settle(&mut self, rt: &tokio::runtime::Runtime, step: Step) {
        self.until(rt, &format!("{step:?} to settle"), |_, _| {}, |w| settled(w, step));
    }
}

fn step_states(w: &Wizard) -> String {
    format!(
        "sign-in {:?}\nconsent {:?}\nverify {:?}\npreview {:?}\nteams {:?}\npolicy {:?}",
        w.sign_in(),
        w.consent(),
        w.verify().phase,
        w.preview().load,
        w.teams(),
        w.policy()
    )
}

/// True when `step` is no longer working: done, or waiting for the admin.
fn settled(w: &Wizard, step: Step) -> bool {
    match step {
        Step::SignIn => matches!(w.sign_in(), SignIn::Done(_) | SignIn::Failed { .. }),
        Step::Consent => matches!(w.consent(), Consent::Done { .. } | Consent::Failed { .. }),
        Step::Verify => match &w.verify().phase {
            VerifyPhase::Checked => !w.verify().is_settling(),
            VerifyPhase::Failed { .. } | VerifyPhase::NeedsReadAccess { approval: None, .. } => true,
            _ => false,
        },
        Step::Preview => matches!(w.preview().load, Load::Loaded | Load::Failed(_) | Load::Cancelled),
        Step::Teams => match w.teams() {
            TeamsStep::Done { bulk: Bulk::Running { .. }, .. } => false,
            TeamsStep::Ready { .. }
            | TeamsStep::Blocked { .. }
            | TeamsStep::Done { .. }
            | TeamsStep::Failed { .. }
            | TeamsStep::NeedsApproval { approval: None, .. } => true,
            _ => false,
        },
        Step::Policy => matches!(
            w.policy(),
            PolicyStep::Ready { .. }
                | PolicyStep::Applied { .. }
                | PolicyStep::Manual { .. }
                | PolicyStep::NeedsApproval { approval: None, .. }
        ),
    }
}

/// The failure the step shows, if it shows one.
fn failure_of(w: &Wizard, step: Step) -> Option<Failure> {
    match step {
        Step::SignIn => match w.sign_in() {
            SignIn::Failed { failure, .. } => Some(failure.clone()),
            _ => None,
        },
        Step::Consent => match w.consent() {
            Consent::Failed { failure, .. } => Some(failure.clone()),
            _ => None,
        },
        Step::Verify => match &w.verify().phase {
            VerifyPhase::Failed { failure } | VerifyPhase::NeedsReadAccess { failure, .. } => Some(failure.clone()),
            _ => None,
        },
        Step::Preview => match &w.preview().load {
            Load::Failed(f) => Some(f.clone()),
            _ => None,
        },
        Step::Teams => match w.teams() {
            TeamsStep::Failed { failure, .. } | TeamsStep::NeedsApproval { failure, .. } => Some(failure.clone()),
            TeamsStep::Blocked { blocker, .. } => Some(blocker.failure()),
            TeamsStep::Done { bulk: Bulk::Failed { failure, .. }, .. } => Some(failure.clone()),
            _ => None,
        },
        Step::Policy => match w.policy() {
            PolicyStep::Manual { why, .. } => Some(why.failure()),
            PolicyStep::NeedsApproval { failure, .. } => Some(failure.clone()),
            _ => None,
        },
    }
}

/// Install-for-everyone finished with some users failed: the step's own "failure" for the matrix.
fn bulk_failures(w: &Wizard) -> usize {
    match w.teams() {
        TeamsStep::Done { bulk: Bulk::Finished { failures, .. }, .. } => failures.len(),
        _ => 0,
    }
}

fn step_done(w: &Wizard, step: Step) -> bool {
    match step {
        Step::SignIn => w.status(StepId::SignIn) == StepStatus::Done,
        Step::Consent => w.status(StepId::AdminConsent) == StepStatus::Done,
        Step::Verify => w.status(StepId::VerifyPermissions) == StepStatus::Done,
        Step::Preview => matches!(w.preview().load, Load::Loaded),
        Step::Teams => matches!(w.teams(), TeamsStep::Done { .. }) && bulk_failures(w) == 0,
        Step::Policy => matches!(w.policy(), PolicyStep::Applied { .. }),
    }
}

/// Approvals the wizard asks for on the way (read access, Teams, Teams admin API) are given, as an admin would.
fn approve_if_asked(rig: &mut Rig, step: Step) {
    let intent = match step {
        Step::Verify | Step::Preview => {
            matches!(&rig.w().verify().phase, VerifyPhase::NeedsReadAccess { failure, approval: None } if failure.is_consent_required())
                .then_some(Intent::ApproveTenantRead)
        }
        Step::Teams => matches!(rig.w().teams(), TeamsStep::NeedsApproval { failure, approval: None } if failure.is_consent_required())
            .then_some(Intent::ApproveTeamsAccess),
        Step::Policy => matches!(rig.w().policy(), PolicyStep::NeedsApproval { failure, approval: None } if failure.is_consent_required())
            .then_some(Intent::ApprovePolicyAccess),
        _ => None,
    };
    if let Some(intent) = intent {
        rig.dispatch(intent);
    }
}

/// Starts `step` (from the previous one done) and lets it settle, doing what an admin does on the way.
fn run_step(rig: &mut Rig, rt: &tokio::runtime::Runtime, step: Step, arm_on_tenant_read: Option<&dyn Fn(&Sim)>) {
    match step {
        Step::SignIn => {
            rig.dispatch(Intent::Continue);
            rig.dispatch(Intent::SignInWithBrowser);
        }
        Step::Consent => {
            rig.dispatch(Intent::Continue);
            // After sign-in the step first looks whether the vendor app is already in the tenant; the consent
            // button comes when it is not (a fault during that look leaves the button too).
            rig.until(
                rt,
                "the look for the vendor app",
                |_, _| {},
                |w| !matches!(w.consent(), Consent::Looking { .. }),
            );
            rig.dispatch(Intent::GrantConsent);
        }
        // Verify and the preview start by themselves after the consent.
        Step::Verify | Step::Preview => {}
        Step::Teams => rig.dispatch(Intent::Continue),
        Step::Policy => rig.dispatch(Intent::Continue),
    }
    for _ in 0..3 {
        let mut armed = false;
        rig.until(
            rt,
            &format!("{step:?}"),
            |sim, report| {
                if let (Some(arm), Report::Wizard(Outcome::TenantRead { result: Ok(_), .. })) =
                    (arm_on_tenant_read, report)
                    && !armed
                {
                    arm(sim);
                    armed = true;
                }
            },
            |w| settled(w, step),
        );
        let before = format!("{:?}", step_states(rig.w()));
        approve_if_asked(rig, step);
        if format!("{:?}", step_states(rig.w())) == before {
            break;
        }
    }
    click_the_main_button(rig, rt, step);
}

/// The plan and the policy change wait for the admin's click.
fn click_the_main_button(rig: &mut Rig, rt: &tokio::runtime::Runtime, step: Step) {
    if step == Step::Teams && matches!(rig.w().teams(), TeamsStep::Ready { .. }) {
        rig.dispatch(Intent::InstallTeamsApp);
        rig.settle(rt, step);
    }
    if step == Step::Policy && matches!(rig.w().policy(), PolicyStep::Ready { .. }) {
        rig.dispatch(Intent::ApplyPolicy);
        rig.settle(rt, step);
    }
}

/// The step's Retry, as its error panel offers it.
fn retry(rig: &mut Rig, rt: &tokio::runtime::Runtime, step: Step) {
    let intent = match step {
        Step::SignIn => Intent::RetrySignIn,
        Step::Consent => Intent::RetryConsent,
        Step::Verify => Intent::RecheckPermissions,
        Step::Preview => Intent::ReloadPreview,
        Step::Teams if bulk_failures(rig.w()) > 0 || matches!(rig.w().teams(), TeamsStep::Done { .. }) => {
            Intent::InstallForEveryone
        }
        Step::Teams => Intent::RetryTeams,
        Step::Policy => Intent::CheckPolicyAgain,
    };
    rig.dispatch(intent);
    run_step_after_retry(rig, rt, step);
}

fn run_step_after_retry(rig: &mut Rig, rt: &tokio::runtime::Runtime, step: Step) {
    for _ in 0..3 {
        rig.settle(rt, step);
        approve_if_asked(rig, step);
        if settled(rig.w(), step) {
            break;
        }
    }
    click_the_main_button(rig, rt, step);
}

const EARLIER: [Step; 6] = STEPS;

/// One cell: the outcome, or why it failed.
fn cell(rt: &tokio::runtime::Runtime, step: Step, fault: Fault) -> Result<String, String> {
    let mut rig = Rig::start(rt, &format!("{step:?}-{fault:?}"));
    let (host, _, _) = target(step);
    // Walk the steps before this one without faults. The preview loads alongside the check: its faults are armed
    // before the check starts (a network fault on Graph only once the check has read the tenant).
    let before_fault = |s: &&Step| **s != step && !(step == Step::Preview && **s == Step::Verify);
    for earlier in EARLIER.iter().take_while(before_fault) {
        if *earlier == Step::Preview {
            continue; // waited for below
        }
        run_step(&mut rig, rt, *earlier, None);
        if !step_done(rig.w(), *earlier) {
            return Err(format!("{earlier:?} did not complete before the fault:\n{}", step_states(rig.w())));
        }
    }
    if matches!(step, Step::Teams | Step::Policy) && !matches!(rig.w().preview().load, Load::Loaded) {
        rig.settle(rt, Step::Preview);
    }
    // Arm the fault. A network fault on Graph for the preview waits until the check has read the tenant.
    let services = service_fault(step, fault);
    let network = network_fault(fault);
    let arm = |sim: &Sim| {
        if let Some(mode) = network {
            rt.block_on(sim.set_network(host, mode));
        }
    };
    let deferred = step == Step::Preview && network.is_some();
    if !deferred {
        arm(&rig.sim);
    }
    rig.sim.set_faults(services);
    if step == Step::Teams && fault == Fault::BatchMixed {
        // The mixed batch is the install for everyone: the app first (no fault on it), then everyone.
        rig.sim.set_faults(Vec::new());
        run_step(&mut rig, rt, step, None);
        rig.sim.set_faults(service_fault(step, fault));
        rig.dispatch(Intent::InstallForEveryone);
        rig.settle(rt, step);
    } else if step == Step::Preview {
        run_step(&mut rig, rt, Step::Verify, deferred.then_some(&arm as &dyn Fn(&Sim)));
        if !step_done(rig.w(), Step::Verify) {
            return Err(format!("the check did not complete before the preview's fault:\n{}", step_states(rig.w())));
        }
        rig.settle(rt, step);
    } else {
        run_step(&mut rig, rt, step, None);
    }
    let failure = failure_of(rig.w(), step);
    let shown = match (&failure, bulk_failures(rig.w())) {
        (Some(f), _) => Some(f.code()),
        (None, n) if n > 0 => Some("bulk_failures".to_owned()),
        _ => None,
    };
    let expected = fault.expected_codes();
    let how = match (&shown, expected.is_empty()) {
        (None, true) if step_done(rig.w(), step) => "recovered by itself".to_owned(),
        (None, _) => {
            let seen: Vec<String> = rig
                .sim
                .requests()
                .iter()
                .rev()
                .take(12)
                .map(|r| format!("{} {} {} {:?}", r.method, r.path, r.status, r.answered - r.arrived))
                .collect();
            return Err(format!(
                "no failure shown (expected {expected:?}); last requests {seen:#?}:\n{}",
                step_states(rig.w())
            ));
        }
        (Some(code), _) if !expected.contains(&code.as_str()) => {
            let summary =
                failure.as_ref().map(|f| Catalogue::shipped().explain(f, "MSPbots").summary).unwrap_or_default();
            return Err(format!("explained as {code} ({summary}), expected one of {expected:?}: {failure:?}"));
        }
        (Some(code), _) => {
            if let Some(f) = &failure {
                let e = Catalogue::shipped().explain(f, "MSPbots");
                if e.summary.is_empty() || e.fix.is_empty() {
                    return Err(format!("{code}: an explanation without a summary or a fix"));
                }
            }
            // The fault is gone; the admin presses the step's Retry.
            rt.block_on(rig.sim.set_network(host, NetMode::Up));
            rig.sim.set_faults(Vec::new());
            retry(&mut rig, rt, step);
            if !step_done(rig.w(), step) {
                return Err(format!("{code} shown, but Retry did not complete the step:\n{}", step_states(rig.w())));
            }
            format!("{code} → retry")
        }
    };
    for earlier in EARLIER.iter().take_while(|s| **s != step) {
        if !step_done(rig.w(), *earlier) {
            return Err(format!("{how}, but {earlier:?} is no longer done"));
        }
    }
    let sim = rig.sim;
    rt.block_on(sim.shutdown());
    Ok(how)
}

#[test]
fn every_step_recovers_from_every_fault() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let rt = &rt;
    // Cells run a few at a time: most of their time is spent waiting on timeouts and retries.
    let mut results: Vec<(Step, Fault, Result<String, String>)> = Vec::new();
    for chunk in STEPS.iter().flat_map(|s| FAULTS.iter().map(move |f| (*s, *f))).collect::<Vec<_>>().chunks(13) {
        let done: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|(s, f)| {
                    scope.spawn(move || {
                        let result = match not_applicable(*s, *f) {
                            Some(why) => Ok(format!("n/a: {why}")),
                            None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cell(rt, *s, *f)))
                                .unwrap_or_else(|p| {
                                    Err(format!(
                                        "panicked: {}",
                                        p.downcast_ref::<String>().cloned().unwrap_or_else(|| "?".into())
                                    ))
                                }),
                        };
                        (*s, *f, result)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        results.extend(done);
    }
    let mut table = format!("{:<20}", "fault \\ step");
    for s in STEPS {
        table.push_str(&format!(" | {:<26}", format!("{s:?}")));
    }
    for f in FAULTS {
        table.push_str(&format!("\n{:<20}", f.label()));
        for s in STEPS {
            let r = results.iter().find(|(rs, rf, _)| *rs == s && *rf == f).map(|(_, _, r)| r).unwrap();
            let text = match r {
                Ok(how) => how.clone(),
                Err(_) => "NOT RECOVERED".to_owned(),
            };
            table.push_str(&format!(" | {:<26}", text.chars().take(26).collect::<String>()));
        }
    }
    println!("{table}");
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(s, f, r)| r.as_ref().err().map(|e| format!("{s:?} × {}: {e}", f.label())))
        .collect();
    assert!(failed.is_empty(), "{} cells did not recover:\n{}", failed.len(), failed.join("\n\n"));
}
