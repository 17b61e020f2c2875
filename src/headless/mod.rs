//! `mspbots-setup run --headless`: the same wizard and shell as the window, driven by a script instead of clicks,
//! printing each step's outcome (as JSON lines with `--json`). Exit code 0 only when every step run succeeded.
//!
//! In demo mode the simulated tenant runs in-process and its sign-in pages answer as `--as UPN`; against a real
//! identity provider the browser is `$BROWSER`, or the URL is printed for a person to open.
//!
//! Rooms: this file checks the command line and sets the run up; `steps.rs` drives the steps; `lines.rs` words and
//! prints each step's line; `customers.rs` is `customers list`, a partner's GDAP customers. It has no egui among
//! its modules.

mod customers;
pub(crate) mod lines;
mod steps;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::vault::open_platform_store;
use crate::diagnostics::Catalogue;
use crate::http::{self, HttpConfig, Purpose, Trust};
use crate::launch::{Launch, LaunchError, LaunchOptions, Mode};
use crate::session::{self, Driver, Endpoints};
use crate::shell::browser::{CommandBrowser, FollowingBrowser, PrintUrl};
use crate::shell::{NoWaker, Report, Shell, UrlOpener};
use crate::wizard::{
    Bulk, CodeWait, Consent, ConsentCheck, Failure, Gap, Intent, Load, PolicyStep, Precheck, SignIn, StepId,
    SwitchReason, TeamsStep, VerifyPhase, Wizard,
};
pub use customers::{
    CustomerLine, Targets as CustomerTargets, check as check_customers, list as list_customers,
    setup as set_customers_up,
};
pub use lines::StepLine;
use lines::print_lines;

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
    /// Sign-in scopes to ask for instead of the wizard's (other identity providers).
    pub scopes: Option<Vec<String>>,
    /// `localhost` (default) or `127.0.0.1` for the redirect URI.
    pub redirect_host: Option<String>,
    /// Sign in with a device code instead of the browser.
    pub device_code: bool,
    /// Sign in with the sign-in the vault keeps (a partner's, in one of its customers' tenants), without the
    /// browser; the browser if that is refused (said on stderr).
    pub saved_sign_in: bool,
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

/// Why the run could not start; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Launch(#[from] LaunchError),
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
    #[error(transparent)]
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
    let (checked, runtime) = match prepare(&options, "cannot run the setup") {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let json = options.json;
    let result = runtime.block_on(async move { drive(checked, options).await });
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

/// The command line checked and the runtime started, or the one line that says why not (`doing`: what could not
/// be done) and exit code 2.
fn prepare(options: &HeadlessOptions, doing: &str) -> Result<(Checked, tokio::runtime::Runtime), ExitCode> {
    let checked = check(options).map_err(|e| {
        crate::launch::report(doing, &e);
        ExitCode::from(2)
    })?;
    let runtime = crate::shell::runtime("mspbots-worker").map_err(|e| {
        crate::launch::report("cannot start", &SetupError::Runtime(e));
        ExitCode::from(2)
    })?;
    Ok((checked, runtime))
}

/// What the command line names, read and checked before anything starts.
#[derive(Debug)]
pub(crate) struct Checked {
    launch: Launch,
    /// The `--ca-cert` file's PEM.
    ca_pem: Option<String>,
}

/// The launch, and the names and files the run will need later, checked before anything starts.
pub(crate) fn check(options: &HeadlessOptions) -> Result<Checked, SetupError> {
    let launch = Launch::resolve(&options.launch)?;
    if let Some(path) = &options.diagnostics {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        if !folder.is_dir() {
            return Err(SetupError::DiagnosticsFolder { path: path.clone() });
        }
    }
    let ca_pem = match &options.ca_cert {
        Some(path) => {
            let pem =
                std::fs::read_to_string(path).map_err(|source| SetupError::CaCert { path: path.clone(), source })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(SetupError::CaCertNotPem { path: path.clone() });
            }
            Some(pem)
        }
        None => None,
    };
    Ok(Checked { launch, ca_pem })
}

/// A shell configured for the run's endpoints, and what it was configured from.
pub(crate) struct Connected {
    pub shell: Shell,
    pub launch: Launch,
    pub profile: crate::profile::Profile,
    pub env: crate::shell::Environment,
    /// Run against endpoints the command line names (not Microsoft, not the in-process demo).
    pub explicit: bool,
    /// The in-process demo tenant, serving while this lives.
    pub _tenant: Option<crate::demo::Tenant>,
    pub endpoints: Endpoints,
    /// How addresses are opened for the person (a browser, printed, or followed in the demo).
    pub opener: Arc<dyn UrlOpener>,
}

/// Sets the shell up for the endpoints the options name: explicit ones, the in-process demo tenant, or
/// Microsoft's. `adjust` may change the environment before the shell is configured with it.
pub(crate) async fn connect(
    checked: Checked,
    options: &HeadlessOptions,
    adjust: impl FnOnce(&mut crate::shell::Environment),
) -> Result<Connected, SetupError> {
    let Checked { launch, ca_pem } = checked;
    let mut shell = Shell::new(tokio::runtime::Handle::current(), NoWaker);
    let explicit = options.login_url.is_some() || options.discovery_url.is_some();
    let mut profile = launch.profile.clone();
    let mut _tenant: Option<crate::demo::Tenant> = None;
    let (endpoints, opener): (Endpoints, Arc<dyn UrlOpener>) = if explicit {
        let trust = ca_pem.map_or(Trust::System, Trust::OnlyPem);
        let login_url =
            options.login_url.clone().or_else(|| options.discovery_url.as_deref().map(origin_of)).unwrap_or_default();
        // Explicit endpoints are another Microsoft-shaped host (a running `mspbots-setup sim`, whose login host
        // also serves its pages) or an OpenID provider without Teams.
        let teams_admin_center = format!("{login_url}{}", crate::session::SIMULATED_ADMIN_CENTER);
        let endpoints = Endpoints {
            login_url,
            browser_login_url: None,
            graph_url: options.graph_url.clone(),
            discovery_url: options.discovery_url.clone(),
            teams_admin_url: options.teams_admin_url.clone(),
            graph_resource: profile.cloud.graph_resource().to_owned(),
            trust,
            teams_admin_center,
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
                let upn = options.launch.demo_account.clone().unwrap_or_else(|| scenario.default_account().to_owned());
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
    let mut env = environment_for(&profile, &endpoints, launch.tenant.as_deref(), options);
    adjust(&mut env);
    let state_dir = options.state_dir.clone();
    shell.configure(env.clone(), opener.clone(), Arc::new(move || open_platform_store(&state_dir)))?;
    Ok(Connected { shell, launch, profile, env, explicit, _tenant, endpoints, opener })
}

/// The shell's environment for `tenant` (the sign-in's authority) at `endpoints`, as the options adjust it.
fn environment_for(
    profile: &crate::profile::Profile,
    endpoints: &Endpoints,
    tenant: Option<&str>,
    options: &HeadlessOptions,
) -> crate::shell::Environment {
    let mut env = session::environment(profile, endpoints, tenant);
    if let Some(scopes) = &options.scopes {
        env.sign_in_scopes = scopes.clone();
    }
    if let Some(host) = &options.redirect_host {
        env.redirect_host = host.clone();
    }
    env.state_dir = Some(options.state_dir.clone());
    env
}

impl Connected {
    /// A shell beside this one for `tenant` (a partner's customer): the same endpoints, browser, token vault
    /// and demo tenant, signed in there by the partner's saved sign-in.
    pub(crate) fn sibling_for(
        &self,
        tenant: &str,
        options: &HeadlessOptions,
    ) -> Result<(Shell, crate::shell::Environment), SetupError> {
        let env = environment_for(&self.profile, &self.endpoints, Some(tenant), options);
        let mut shell = self.shell.sibling();
        let state_dir = options.state_dir.clone();
        shell.configure(env.clone(), self.opener.clone(), Arc::new(move || open_platform_store(&state_dir)))?;
        Ok((shell, env))
    }
}

/// The step lines, and whether the diagnostics bundle asked for (if any) was written.
async fn drive(checked: Checked, mut options: HeadlessOptions) -> Result<(Vec<StepLine>, bool), SetupError> {
    let Connected { mut shell, launch, profile, env, explicit, _tenant, .. } =
        connect(checked, &options, |_| ()).await?;
    // A replay installs for everyone when the bundle's session did and some users were refused (the refusal is
    // what it reproduces).
    if let Some(reproduction) = &launch.reproduction
        && !options.install_for_everyone
        && reproduction.0.failures.iter().any(|(step, f)| {
            *step == StepId::TeamsApp
                && matches!(f, Failure::Graph(e) if e.operation.contains("/users/{id}/teamwork/installedApps"))
        })
    {
        tell("The bundle's session installed the Teams app for everyone; the replay does too.");
        options.install_for_everyone = true;
    }
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

    let lines = steps::run_steps_with_visits(&mut driver, &mut shell, &options, &vendor).await;
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
