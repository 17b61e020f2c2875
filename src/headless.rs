//! `mspbots-setup run --headless`: the same wizard and shell as the window, driven by a script instead of clicks,
//! printing each step's outcome (as JSON lines with `--json`). Exit code 0 only when every step run succeeded.
//!
//! In demo mode the simulated tenant runs in-process and its sign-in pages answer as `--as UPN`; against a real
//! identity provider the browser is `$BROWSER`, or the URL is printed for a person to open.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::auth::vault::open_platform_store;
use crate::diagnostics::Catalogue;
use crate::http::{self, HttpConfig, Purpose, Trust};
use crate::launch::{Launch, LaunchError, LaunchOptions, Mode};
use crate::session::{self, Driver, Endpoints};
use crate::shell::browser::{CommandBrowser, FollowingBrowser, PrintUrl};
use crate::shell::{NoWaker, Report, Shell, UrlOpener};
use crate::wizard::{
    Bulk, Consent, ConsentCheck, Failure, Gap, Intent, Load, PermissionState, PolicyStep, Precheck, RoleCheck, SignIn,
    StepId, SwitchReason, TeamsStep, VerifyPhase, Wizard,
};

/// Options of `run --headless`.
#[derive(Debug, Clone, Default)]
pub struct HeadlessOptions {
    pub launch: LaunchOptions,
    /// Identity provider base (with `graph_url` and `ca_cert`): run against these instead of Microsoft or the demo.
    pub login_url: Option<String>,
    pub graph_url: Option<String>,
    pub teams_admin_url: Option<String>,
    /// A discovery URL other than `{login_url}{tenant}/v2.0/.well-known/openid-configuration`.
    pub discovery_url: Option<String>,
    pub ca_cert: Option<PathBuf>,
    /// Demo mode: the account the simulated sign-in pages answer as.
    pub as_account: Option<String>,
    /// Sign-in scopes to ask for instead of the wizard's (other identity providers).
    pub scopes: Option<Vec<String>>,
    /// `localhost` (default) or `127.0.0.1` for the redirect URI.
    pub redirect_host: Option<String>,
    /// Sign in with a device code instead of the browser.
    pub device_code: bool,
    /// Stop after this step.
    pub stop_after: Option<StepId>,
    /// After a consent, how long to re-check permissions still missing.
    pub grant_wait: Duration,
    /// Also install the Teams app for every enabled member.
    pub install_for_everyone: bool,
    /// Write the diagnostics bundle here (and its report beside it, `.html`).
    pub diagnostics: Option<PathBuf>,
    /// Hide customer details in that bundle.
    pub hide_customer: bool,
    pub json: bool,
    /// Where the token vault keeps its sealed file.
    pub state_dir: PathBuf,
    /// `$BROWSER`, read once in `main`: the command that opens URLs against a real identity provider.
    pub browser: Option<String>,
}

/// One step's outcome, as printed.
#[derive(Debug, Clone, Serialize)]
pub struct StepLine {
    pub step: StepId,
    /// `done`, `needs_attention`, `failed` or `skipped`.
    pub status: &'static str,
    pub code: Option<String>,
    pub summary: String,
    pub fix: Vec<String>,
    /// Step-specific facts (the account, the consent grant, the checklist and readiness).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// More lines for people (the checklist, the readiness summary); JSON carries the same in `detail`.
    #[serde(skip)]
    pub report: Vec<String>,
}

impl StepLine {
    fn failed(step: StepId, status: &'static str, failure: &Failure, vendor: &str) -> Self {
        let e = Catalogue::shipped().explain(failure, vendor);
        Self { step, status, code: Some(e.code), summary: e.summary, fix: e.fix, detail: None, report: Vec::new() }
    }
}

/// Why the run could not start; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error("no account {upn} in the demo scenario '{scenario}' (its accounts: {known})")]
    UnknownAccount { upn: String, scenario: String, known: String },
    #[error("cannot write the diagnostics bundle to {path}: its folder does not exist")]
    DiagnosticsFolder { path: PathBuf },
    #[error("cannot read the CA certificate {path}")]
    CaCert {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    CaCertNotPem { path: PathBuf },
    #[error("live mode needs these profile fields: {0}")]
    ProfileIncomplete(String),
    #[error("cannot start the simulated tenant")]
    Demo(#[from] crate::demo::DemoError),
    #[error("cannot set up the HTTP clients")]
    Http(#[from] crate::http::HttpSetupError),
    #[error("cannot configure the shell")]
    Shell(#[from] crate::shell::ConfigureError),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

/// Runs the built steps without a window. Everything the command line names is checked before anything starts:
/// a file or name it cannot use is one line on stderr and exit code 2.
pub fn run(options: HeadlessOptions) -> ExitCode {
    let launch = match check(&options) {
        Ok(launch) => launch,
        Err(e) => {
            crate::launch::report("cannot run the setup", &e);
            return ExitCode::from(2);
        }
    };
    let runtime = match crate::shell::runtime("mspbots-worker") {
        Ok(rt) => rt,
        Err(e) => {
            crate::launch::report("cannot start", &SetupError::Runtime(e));
            return ExitCode::from(2);
        }
    };
    let json = options.json;
    let result = runtime.block_on(async move { drive(launch, options).await });
    match result {
        Ok((lines, bundle_written)) => {
            // A setup policy that is applied and still reaching users counts as success.
            let all_done = !lines.is_empty() && lines.iter().all(|l| l.status == "done" || l.status == "pending");
            print_lines(&lines, json);
            if all_done && bundle_written { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            crate::launch::report("cannot run the setup", &e);
            ExitCode::from(2)
        }
    }
}

/// The launch, and the names and paths the run will need later, checked before anything starts.
fn check(options: &HeadlessOptions) -> Result<Launch, SetupError> {
    let launch = Launch::resolve(&options.launch)?;
    let explicit = options.login_url.is_some() || options.discovery_url.is_some();
    if let (Some(upn), Mode::Demo { scenario, .. }, false) = (&options.as_account, &launch.mode, explicit)
        && !scenario.has_account(upn)
    {
        return Err(SetupError::UnknownAccount {
            upn: upn.clone(),
            scenario: scenario.name().to_owned(),
            known: scenario.account_names().join(", "),
        });
    }
    if let Some(path) = &options.diagnostics {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !folder.is_dir() {
            return Err(SetupError::DiagnosticsFolder { path: path.clone() });
        }
    }
    if let Some(path) = &options.ca_cert {
        let pem = std::fs::read_to_string(path).map_err(|source| SetupError::CaCert { path: path.clone(), source })?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(SetupError::CaCertNotPem { path: path.clone() });
        }
    }
    Ok(launch)
}

fn print_lines(lines: &[StepLine], json: bool) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        let text = if json {
            serde_json::to_string(line).unwrap_or_default()
        } else {
            let mut t = format!("[{}] {}: {}", line.status, line.step_title(), line.summary);
            if let Some(code) = &line.code {
                t.push_str(&format!(" ({code})"));
            }
            for r in &line.report {
                t.push_str(&format!("\n    {r}"));
            }
            for (i, f) in line.fix.iter().enumerate() {
                t.push_str(&format!("\n    {}. {f}", i + 1));
            }
            t
        };
        // A closed stdout (e.g. `| head`) is not worth an error.
        let _ignored = writeln!(out, "{text}");
    }
}

impl StepLine {
    fn step_title(&self) -> &'static str {
        self.step.title()
    }
}

/// The step lines, and whether the diagnostics bundle asked for (if any) was written.
async fn drive(launch: Launch, options: HeadlessOptions) -> Result<(Vec<StepLine>, bool), SetupError> {
    let mut shell = Shell::new(tokio::runtime::Handle::current(), NoWaker);
    let explicit = options.login_url.is_some() || options.discovery_url.is_some();
    let mut profile = launch.profile.clone();
    let mut _tenant: Option<crate::demo::Tenant> = None;
    let (endpoints, opener): (Endpoints, Arc<dyn UrlOpener>) = if explicit {
        let trust = match &options.ca_cert {
            Some(path) => Trust::OnlyPem(
                std::fs::read_to_string(path).map_err(|source| SetupError::CaCert { path: path.clone(), source })?,
            ),
            None => Trust::System,
        };
        let login_url =
            options.login_url.clone().or_else(|| options.discovery_url.as_deref().map(origin_of)).unwrap_or_default();
        let endpoints = Endpoints {
            login_url,
            browser_login_url: None,
            graph_url: options.graph_url.clone(),
            discovery_url: options.discovery_url.clone(),
            teams_admin_url: options.teams_admin_url.clone(),
            graph_resource: profile.cloud.graph_resource().to_owned(),
            trust,
        };
        (endpoints, browser_for_people(options.browser.as_deref()))
    } else {
        match &launch.mode {
            Mode::Demo { scenario, reason } => {
                if let crate::launch::DemoReason::ProfileIncomplete(gaps) = reason {
                    let fields = gaps.iter().map(|(field, _)| field.as_str()).collect::<Vec<_>>().join(", ");
                    tell(&format!(
                        "Demo mode: the vendor profile {} lacks {fields}; running against the simulated tenant '{}'.",
                        profile.source,
                        scenario.name()
                    ));
                }
                let upn = options.as_account.clone().unwrap_or_else(|| scenario.default_account().to_owned());
                let tenant = crate::demo::Tenant::start(scenario, Some(upn)).await?;
                let endpoints = tenant.endpoints(profile.cloud);
                profile = tenant.profile(&profile);
                let follower = http::client(&HttpConfig::new(Purpose::Api, endpoints.trust.clone()))?;
                _tenant = Some(tenant);
                (
                    endpoints,
                    Arc::new(FollowingBrowser::new(follower, tokio::runtime::Handle::current())) as Arc<dyn UrlOpener>,
                )
            }
            Mode::Live => (Endpoints::microsoft(profile.cloud), browser_for_people(options.browser.as_deref())),
        }
    };
    if explicit || matches!(launch.mode, Mode::Live) {
        let gaps: Vec<&str> = profile.live_gaps().iter().map(|g| g.field).filter(|f| f.contains("client_id")).collect();
        if !gaps.is_empty() {
            return Err(SetupError::ProfileIncomplete(gaps.join(", ")));
        }
    }
    let mut env = session::environment(&profile, &endpoints, launch.tenant.as_deref());
    if let Some(scopes) = &options.scopes {
        env.sign_in_scopes = scopes.clone();
    }
    if let Some(host) = &options.redirect_host {
        env.redirect_host = host.clone();
    }
    env.state_dir = Some(options.state_dir.clone());
    let state_dir = options.state_dir.clone();
    shell.configure(env.clone(), opener, Arc::new(move || open_platform_store(&state_dir)))?;
    let mut settings = session::settings(&profile, &env, launch.tenant.as_deref());
    settings.timing.settle_patience = options.grant_wait;
    // A setup against a real (or separately running) tenant is picked up after a crash; the in-process demo
    // tenant ends with the process, so there is nothing to resume.
    let mut driver = if explicit || matches!(launch.mode, Mode::Live) {
        let endpoint = session::progress_endpoint(&settings);
        let wizard = match session::load_progress(&options.state_dir, &endpoint, shell.clock().unix_seconds()) {
            session::SavedProgress::Found(saved) => {
                let tenant = saved.tenant_name.clone().unwrap_or_else(|| saved.tenant_id.clone());
                tell(&format!(
                    "Picking up the setup of {tenant} where it stopped ({}); signing in again as {}.",
                    saved.reached.title(),
                    saved.account
                ));
                Wizard::resume(settings, saved)
            }
            session::SavedProgress::SetAside(message) => {
                tell(&message);
                Wizard::new(settings)
            }
            session::SavedProgress::None => Wizard::new(settings),
        };
        Driver::new(wizard).keeping_progress(endpoint)
    } else {
        Driver::new(Wizard::new(settings))
    };
    let vendor = profile.vendor_name.clone();

    let lines = run_steps(&mut driver, &mut shell, &options, &vendor).await;
    shell.flush_state_files().await;
    let demo_scenario = match &launch.mode {
        Mode::Demo { scenario, .. } if !explicit => Some(scenario.name().to_owned()),
        _ => None,
    };
    let environment =
        crate::diagnostics::bundle::Environment::here(&profile, demo_scenario, shell.clock().unix_seconds());
    let bundle = crate::diagnostics::bundle::Bundle::build(&driver.wizard, &shell.journal().snapshot(), environment);
    save_last_session(&options.state_dir, &bundle);
    let mut bundle_written = true;
    if let Some(path) = &options.diagnostics {
        let bundle = if options.hide_customer { bundle.hidden() } else { bundle };
        if let Err(e) = bundle.write_with_report(path) {
            crate::launch::report(&format!("cannot write the diagnostics bundle {}", path.display()), &e);
            bundle_written = false;
        }
    }
    Ok((lines, bundle_written))
}

/// Keeps the session's bundle (sanitized, details not hidden) for `diagnostics export`.
fn save_last_session(state_dir: &std::path::Path, bundle: &crate::diagnostics::bundle::Bundle) {
    let path = state_dir.join(crate::diagnostics::bundle::LAST_SESSION);
    match serde_json::to_vec_pretty(bundle) {
        Ok(json) => {
            if let Err(e) = crate::fsutil::write_atomic_private(&path, &json) {
                tracing::warn!("could not keep this session's diagnostics in {}: {e}", path.display());
            }
        }
        Err(e) => tracing::warn!("could not serialize the diagnostics: {e}"),
    }
}

/// The steps, one line each.
async fn run_steps(driver: &mut Driver, shell: &mut Shell, options: &HeadlessOptions, vendor: &str) -> Vec<StepLine> {
    let mut lines = Vec::new();
    driver.dispatch(shell, Intent::Continue);
    driver.dispatch(shell, if options.device_code { Intent::SignInWithDeviceCode } else { Intent::SignInWithBrowser });
    let mut shown_code = false;
    let mut switched: Option<Failure> = None;
    wait_until(driver, shell, |w| {
        if let SignIn::DeviceCode { reason: Some(SwitchReason::ConditionalAccess(f)), .. } = w.sign_in() {
            switched = Some(f.clone());
        }
        if let SignIn::DeviceCode { code: Some(view), .. } = w.sign_in()
            && !shown_code
        {
            shown_code = true;
            tell(&format!("{} (code {})", view.message, view.user_code));
        }
        !matches!(w.sign_in(), SignIn::Browser { .. } | SignIn::DeviceCode { .. } | SignIn::Idle)
    })
    .await;
    let signed_in = match driver.wizard.sign_in() {
        SignIn::Done(account) => {
            let tenant =
                account.tenant_name.clone().or(account.tenant_domain.clone()).unwrap_or(account.tenant_id.clone());
            let tenant = if tenant.is_empty() { String::new() } else { format!(" in {tenant}") };
            let how = switched.as_ref().map_or(String::new(), |f| {
                format!(
                    " with a device code, after {} blocked the browser sign-in",
                    Catalogue::shipped().explain(f, vendor).code
                )
            });
            lines.push(StepLine {
                step: StepId::SignIn,
                status: "done",
                code: switched.as_ref().map(Failure::code),
                summary: format!("Signed in as {} ({}){tenant}{how}", account.display_name, account.upn),
                fix: Vec::new(),
                detail: serde_json::to_value(account).ok(),
                report: Vec::new(),
            });
            true
        }
        SignIn::Failed { failure, .. } => {
            lines.push(StepLine::failed(StepId::SignIn, "failed", failure, vendor));
            false
        }
        other => {
            lines.push(StepLine {
                step: StepId::SignIn,
                status: "failed",
                code: Some("not_finished".into()),
                summary: format!("Sign-in did not finish ({other:?})"),
                fix: vec!["Run again.".into()],
                detail: None,
                report: Vec::new(),
            });
            false
        }
    };
    if options.stop_after == Some(StepId::SignIn) {
        return lines;
    }
    if !signed_in {
        lines.push(skipped(StepId::AdminConsent, "Sign in first"));
        return lines;
    }

    driver.dispatch(shell, Intent::Continue);
    // Picking up a saved setup may first look in the tenant for a consent granted as the earlier run stopped.
    wait_until(driver, shell, |w| !matches!(w.consent(), Consent::Looking { .. })).await;
    if let Consent::Ready { precheck: Precheck::CannotGrant { roles } } = driver.wizard.consent() {
        let held = if roles.is_empty() { "no admin role".to_owned() } else { roles.join(", ") };
        let mut fix = vec!["Sign in with a Global Administrator or Privileged Role Administrator account.".to_owned()];
        if let Some(link) = driver.wizard.consent_link() {
            fix.push(format!("Or send this consent link to your organization's Global Administrator: {link}"));
        }
        lines.push(StepLine {
            step: StepId::AdminConsent,
            status: "needs_attention",
            code: Some("precheck_cannot_grant".into()),
            summary: format!(
                "The signed-in account has {held} and cannot grant Microsoft Graph application permissions"
            ),
            fix,
            detail: driver.wizard.consent_link().map(|l| serde_json::json!({ "consent_link": l })),
            report: Vec::new(),
        });
        return lines;
    }
    if let crate::wizard::Resume::OtherTenant { saved } = driver.wizard.resumed() {
        tell(&format!(
            "This account is in another tenant than the saved setup ({}); starting over for this tenant.",
            saved.tenant_name.clone().unwrap_or_else(|| saved.tenant_id.clone())
        ));
    }
    // A resumed setup already holds the consent (the next step reads the tenant to confirm it).
    if !matches!(driver.wizard.consent(), Consent::Done { .. }) {
        driver.dispatch(shell, Intent::GrantConsent);
    }
    let mut told_url = false;
    wait_until(driver, shell, |w| {
        if let Consent::Waiting { url: Some(url), .. } = w.consent()
            && !told_url
        {
            told_url = true;
            tracing::info!("admin consent page: {}", crate::diagnostics::sanitize::Redactor::new(false).url(url));
        }
        matches!(w.consent(), Consent::Done { .. } | Consent::Failed { .. })
    })
    .await;
    match driver.wizard.consent() {
        Consent::Done { grant, check } => {
            let (summary, code) = match check {
                ConsentCheck::Confirmed => {
                    (format!("{vendor} has its permissions, and the tenant shows its app"), None)
                }
                ConsentCheck::Earlier => (
                    format!("{vendor} was granted its permissions in an earlier run; the next step checks them again"),
                    None,
                ),
                ConsentCheck::Unconfirmed(why) if why.is_consent_required() => {
                    (format!("{vendor} has its permissions (confirmed by Microsoft's redirect)"), None)
                }
                ConsentCheck::Unconfirmed(why) => {
                    let e = Catalogue::shipped().explain(why, vendor);
                    (
                        format!(
                            "{vendor} has its permissions (confirmed by Microsoft's redirect); the tenant could not be read: {}",
                            e.summary
                        ),
                        Some(e.code),
                    )
                }
            };
            lines.push(StepLine {
                step: StepId::AdminConsent,
                status: "done",
                code,
                summary,
                fix: Vec::new(),
                detail: serde_json::to_value(grant).ok(),
                report: Vec::new(),
            });
        }
        Consent::Failed { failure, .. } => {
            lines.push(StepLine::failed(StepId::AdminConsent, "failed", failure, vendor))
        }
        other => lines.push(StepLine {
            step: StepId::AdminConsent,
            status: "failed",
            code: Some("not_finished".into()),
            summary: format!("Consent did not finish ({other:?})"),
            fix: vec!["Run again.".into()],
            detail: None,
            report: Vec::new(),
        }),
    }
    if options.stop_after == Some(StepId::AdminConsent) {
        return lines;
    }
    if !matches!(driver.wizard.consent(), Consent::Done { .. }) {
        lines.push(skipped(StepId::VerifyPermissions, "Grant consent first"));
        return lines;
    }
    driver.dispatch(shell, Intent::Continue);
    let settled = |w: &Wizard| {
        let v = w.verify();
        match &v.phase {
            VerifyPhase::NeedsReadAccess { approval: None, .. } | VerifyPhase::Failed { .. } => true,
            VerifyPhase::Checked => !v.is_settling() && !w.preview().is_loading(),
            _ => false,
        }
    };
    wait_until(driver, shell, settled).await;
    if matches!(driver.wizard.verify().phase, VerifyPhase::NeedsReadAccess { .. }) {
        // The setup tool's own read access needs an admin's approval: ask once, in the browser.
        tell("The setup tool needs read access to the tenant's applications and directory; approve it in the browser.");
        driver.dispatch(shell, Intent::ApproveTenantRead);
        wait_until(driver, shell, settled).await;
    }
    lines.push(verify_line(&driver.wizard, vendor));
    if options.stop_after == Some(StepId::VerifyPermissions) {
        return lines;
    }
    if !driver.wizard.verify().checklist.as_ref().is_some_and(crate::wizard::Checklist::all_granted) {
        lines.push(skipped(StepId::TeamsApp, "Every permission must be granted first"));
        return lines;
    }
    teams_steps(driver, shell, options, vendor, &mut lines).await;
    lines
}

/// Steps 4 and 5: the Teams app (and, with `--install-for-everyone`, every user), then the Global policy.
async fn teams_steps(
    driver: &mut Driver,
    shell: &mut Shell,
    options: &HeadlessOptions,
    vendor: &str,
    lines: &mut Vec<StepLine>,
) {
    driver.dispatch(shell, Intent::Continue);
    let teams_settled = |w: &Wizard| {
        matches!(
            w.teams(),
            TeamsStep::Ready { .. }
                | TeamsStep::Blocked { .. }
                | TeamsStep::Done { .. }
                | TeamsStep::Failed { .. }
                | TeamsStep::NeedsApproval { approval: None, .. }
        )
    };
    wait_until(driver, shell, teams_settled).await;
    if matches!(driver.wizard.teams(), TeamsStep::NeedsApproval { .. }) {
        tell("The setup tool needs to manage Teams apps and the setup policy; approve it in the browser.");
        driver.dispatch(shell, Intent::ApproveTeamsAccess);
        wait_until(driver, shell, teams_settled).await;
    }
    if matches!(driver.wizard.teams(), TeamsStep::Ready { .. }) {
        driver.dispatch(shell, Intent::InstallTeamsApp);
        wait_until(driver, shell, teams_settled).await;
    }
    if options.install_for_everyone && matches!(driver.wizard.teams(), TeamsStep::Done { .. }) {
        driver.dispatch(shell, Intent::InstallForEveryone);
        wait_until(driver, shell, |w| !matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Running { .. }, .. })).await;
    }
    lines.push(teams_line(&driver.wizard, vendor));
    if options.stop_after == Some(StepId::TeamsApp) {
        return;
    }
    if !matches!(driver.wizard.teams(), TeamsStep::Done { .. }) {
        lines.push(skipped(StepId::GlobalPolicy, "The Teams app must be set up first"));
        return;
    }
    driver.dispatch(shell, Intent::Continue);
    let policy_settled = |w: &Wizard| {
        matches!(
            w.policy(),
            PolicyStep::Ready { .. }
                | PolicyStep::Applied { .. }
                | PolicyStep::Manual { .. }
                | PolicyStep::NeedsApproval { approval: None, .. }
        )
    };
    wait_until(driver, shell, policy_settled).await;
    if matches!(driver.wizard.policy(), PolicyStep::NeedsApproval { .. }) {
        driver.dispatch(shell, Intent::ApprovePolicyAccess);
        wait_until(driver, shell, policy_settled).await;
    }
    if matches!(driver.wizard.policy(), PolicyStep::Ready { .. }) {
        driver.dispatch(shell, Intent::ApplyPolicy);
        wait_until(driver, shell, policy_settled).await;
    }
    lines.push(policy_line(&driver.wizard, vendor));
}

fn teams_line(w: &Wizard, vendor: &str) -> StepLine {
    let step = StepId::TeamsApp;
    let app = &w.settings().teams_app_name;
    match w.teams() {
        TeamsStep::Done { app: installed, bulk, facts } => {
            let mut report = vec![format!("Catalog id: {}", installed.catalog_id)];
            let mut status = "done";
            let mut fix = Vec::new();
            let bulk_json = match bulk {
                Bulk::Finished { counts, failures } => {
                    report.push(format!(
                        "Everyone: {} installed, {} already had it, {} failed, of {}",
                        counts.installed, counts.already_had, counts.failed, counts.total
                    ));
                    for f in failures.iter().take(20) {
                        report.push(format!("  {}: {} ({})", f.user, f.message, f.code));
                    }
                    if !failures.is_empty() {
                        status = "needs_attention";
                        fix.push("Fix the reasons listed and run again with --install-for-everyone: it retries only those users.".to_owned());
                    }
                    serde_json::json!({ "counts": counts, "failures": failures })
                }
                Bulk::Failed { counts, failure } => {
                    let e = Catalogue::shipped().explain(failure, vendor);
                    report.push(format!("Everyone: stopped after {} of {} ({})", counts.done(), counts.total, e.code));
                    status = "needs_attention";
                    fix = e.fix;
                    serde_json::json!({ "counts": counts, "stopped": e.code })
                }
                Bulk::Stopped { counts } => serde_json::json!({ "counts": counts, "stopped": "unfinished" }),
                Bulk::Idle | Bulk::Running { .. } => serde_json::Value::Null,
            };
            StepLine {
                step,
                status,
                code: None,
                summary: if installed.newly_installed_for_admin {
                    format!("{app} is in the tenant and installed for you")
                } else {
                    format!("{app} is in the tenant; you already had it")
                },
                fix,
                detail: Some(serde_json::json!({ "app": installed, "facts": facts, "everyone": bulk_json })),
                report,
            }
        }
        TeamsStep::Blocked { blocker, facts } => {
            let mut line = StepLine::failed(step, "needs_attention", &blocker.failure(), vendor);
            line.detail = Some(serde_json::json!({ "blocker": blocker, "facts": facts }));
            line
        }
        TeamsStep::Failed { failure } | TeamsStep::NeedsApproval { failure, .. } => {
            StepLine::failed(step, "failed", failure, vendor)
        }
        other => StepLine {
            step,
            status: "failed",
            code: Some("not_finished".into()),
            summary: format!("The Teams app step did not finish ({other:?})"),
            fix: vec!["Run again.".into()],
            detail: None,
            report: Vec::new(),
        },
    }
}

fn policy_line(w: &Wizard, vendor: &str) -> StepLine {
    let step = StepId::GlobalPolicy;
    let app = &w.settings().teams_app_name;
    let script = w.teams().app().and_then(|a| crate::teams::script::global_policy_script(&a.catalog_id, app));
    match w.policy() {
        PolicyStep::Applied { reading, changed, .. } => {
            let mut report = vec![format!("Pinned in Global: {}", reading.global.pinned.join(", "))];
            let custom: Vec<&String> = reading.others.iter().filter(|o| *o != "FirstlineWorker").collect();
            if !custom.is_empty() {
                report.push(format!(
                    "Other policies override Global for their users: {}",
                    custom.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            report.push(format!("Check one user: {}", crate::teams::script::CHECK_ONE_USER));
            StepLine {
                step,
                status: "pending",
                code: None,
                summary: if *changed {
                    format!(
                        "{app} is installed and pinned in the Global policy; reaching users' Teams can take several hours"
                    )
                } else {
                    format!("{app} was already installed and pinned in the Global policy; nothing changed")
                },
                fix: Vec::new(),
                detail: Some(
                    serde_json::json!({ "global": reading.global, "other_policies": reading.others, "changed": changed }),
                ),
                report,
            }
        }
        PolicyStep::Manual { why, .. } => {
            let mut line = StepLine::failed(step, "needs_attention", &why.failure(), vendor);
            line.fix.push(format!("Teams admin center: {}", crate::teams::script::SETUP_POLICIES_URL));
            line.detail = Some(serde_json::json!({ "why": why, "powershell": script }));
            if let Some(s) = script {
                line.report = s.lines().map(str::to_owned).collect();
            }
            line
        }
        PolicyStep::NeedsApproval { failure, .. } => StepLine::failed(step, "failed", failure, vendor),
        other => StepLine {
            step,
            status: "failed",
            code: Some("not_finished".into()),
            summary: format!("The Global policy step did not finish ({other:?})"),
            fix: vec!["Run again.".into()],
            detail: None,
            report: Vec::new(),
        },
    }
}

/// The verify step's line: the checklist, the Teams prerequisites and the directory's readiness.
fn verify_line(w: &Wizard, vendor: &str) -> StepLine {
    let v = w.verify();
    let list = match (&v.phase, &v.checklist) {
        (VerifyPhase::NeedsReadAccess { failure, .. } | VerifyPhase::Failed { failure }, _) => {
            return StepLine::failed(StepId::VerifyPermissions, "failed", failure, vendor);
        }
        (_, Some(list)) => list,
        (phase, None) => {
            return StepLine {
                step: StepId::VerifyPermissions,
                status: "failed",
                code: Some("not_finished".into()),
                summary: format!("The check did not finish ({phase:?})"),
                fix: vec!["Run again.".into()],
                detail: None,
                report: Vec::new(),
            };
        }
    };
    let mut report = Vec::new();
    for p in &list.permissions {
        let (mark, state) = match p.state {
            PermissionState::Granted => ("✓", "granted"),
            PermissionState::Missing => ("✗", "missing"),
            PermissionState::OnlySomeUsers => ("✗", "granted by some users only"),
            PermissionState::NotNeeded => ("!", "granted but not needed"),
        };
        let why = p.reason.as_deref().unwrap_or("not asked for by the vendor profile");
        report.push(format!("{mark} {} ({}, {state}): {why}", p.name, p.kind.label()));
    }
    match &list.teams {
        Ok(t) if t.licensed_users > 0 => {
            report.push(format!("✓ Teams: {} licensed users ({})", t.licensed_users, t.products.join(", ")));
        }
        Ok(_) => report.push("✗ Teams: no licence in this tenant includes Microsoft Teams".to_owned()),
        Err(f) => report.push(format!("! Teams: licences could not be read ({})", f.code())),
    }
    match &list.role {
        RoleCheck::Sufficient { role } => report.push(format!("✓ Role: {role} may manage Teams apps and policies")),
        RoleCheck::Insufficient { roles } => report.push(format!(
            "✗ Role: {} cannot manage Teams apps and policies (needs Global Administrator or Teams Administrator)",
            if roles.is_empty() { "no admin role".to_owned() } else { roles.join(", ") }
        )),
        RoleCheck::Unknown { why } => report.push(format!("! Role: could not be read ({why})")),
    }
    let p = w.preview();
    let r = &p.readiness;
    let loaded = match &p.load {
        Load::Loaded => String::new(),
        Load::NotStarted => " (directory not read)".to_owned(),
        Load::Failed(f) => format!(" (loading stopped: {})", f.code()),
        Load::Cancelled | Load::Loading { .. } => " (loading stopped)".to_owned(),
    };
    let gaps: Vec<String> = Gap::ALL.iter().map(|g| format!("{} {}", r.count(*g), g.label())).collect();
    report.push(format!("Directory: {} users{loaded}; {}", r.users, gaps.join(", ")));
    let samples: serde_json::Map<String, serde_json::Value> = Gap::ALL
        .iter()
        .map(|g| {
            let upns: Vec<&str> =
                p.users.iter().filter(|u| g.applies(u)).take(20).map(|u| u.user_principal_name.as_str()).collect();
            (
                serde_json::to_value(g).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                serde_json::json!(upns),
            )
        })
        .collect();
    let missing: Vec<String> = list.missing().map(|p| p.name.clone()).collect();
    let (status, code, summary, fix) = if !list.all_granted() {
        let still = v.gave_up_after_minutes.map(|m| {
            Failure::Local(crate::wizard::LocalFailure::PermissionsStillMissing { minutes: m, names: missing.clone() })
        });
        let fix = still.as_ref().map_or_else(
            || vec!["Run the setup again and accept on Microsoft's permissions page.".to_owned()],
            |f| Catalogue::shipped().explain(f, vendor).fix,
        );
        let summary = if matches!(list.app, crate::wizard::AppPresence::NotFound) {
            format!("{vendor} is not in the tenant: no permission is granted")
        } else {
            format!("Missing {} of {}: {}", missing.len(), w.settings().permissions.len(), missing.join(", "))
        };
        ("needs_attention", Some(still.map_or_else(|| "permissions_missing".to_owned(), |f| f.code())), summary, fix)
    } else if !list.prerequisites_met() {
        (
            "needs_attention",
            Some("teams_prerequisites".to_owned()),
            format!("Every permission {vendor} needs is granted, but the Teams steps cannot run yet"),
            vec!["See the Teams and Role lines above.".to_owned()],
        )
    } else {
        ("done", None, format!("Every permission {vendor} needs is granted; {} users previewed", r.users), Vec::new())
    };
    StepLine {
        step: StepId::VerifyPermissions,
        status,
        code,
        summary,
        fix,
        detail: Some(serde_json::json!({
            "checklist": list,
            "readiness": r,
            "directory_loaded": matches!(p.load, Load::Loaded),
            "users_with_gap": samples,
        })),
        report,
    }
}

fn skipped(step: StepId, why: &str) -> StepLine {
    StepLine {
        step,
        status: "skipped",
        code: None,
        summary: why.to_owned(),
        fix: Vec::new(),
        detail: None,
        report: Vec::new(),
    }
}

/// Tells the person something on stderr (stdout carries the results).
fn tell(text: &str) {
    #[expect(clippy::print_stderr, reason = "headless runs talk to the person on stderr")]
    {
        eprintln!("{text}");
    }
}

/// `$BROWSER` if set, else print the URL (on stderr: stdout carries the results).
fn browser_for_people(browser: Option<&str>) -> Arc<dyn UrlOpener> {
    match browser {
        Some(program) if !program.trim().is_empty() => Arc::new(CommandBrowser { program: program.to_owned() }),
        _ => Arc::new(PrintUrl { to_stderr: true }),
    }
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| url.to_owned(), |u| format!("{}/", u.origin().ascii_serialization()))
}

/// Pumps reports and time into the wizard until `done`.
async fn wait_until(driver: &mut Driver, shell: &mut Shell, mut done: impl FnMut(&Wizard) -> bool) {
    loop {
        if done(&driver.wizard) {
            return;
        }
        let wait = driver.time_to_next_deadline(shell).unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(1));
        if let Some(report) = shell.next_report(wait.max(Duration::from_millis(10))).await {
            if let Some(Report::Storage(d)) = driver.apply(shell, report) {
                tracing::info!("token storage: {d:?}");
            }
            for more in shell.drain() {
                let _other = driver.apply(shell, more);
            }
        }
        driver.tick(shell);
    }
}
