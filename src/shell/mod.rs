//! The shell: carries out the wizard's effects on the one tokio runtime and reports results over a bounded
//! channel, then wakes the UI (docs/STYLE.md rules 6-7). It owns everything the pure wizard must not hold: the clock,
//! tokens and codes (by attempt), listeners, the token vault, and the browser.
//!
//! Both the window (`app`) and the headless runner drive the wizard through this shell. Rooms by effect: this file
//! (the `Shell`, dispatching effects, the state-file writer, the vault and discovery), `sign_in.rs` (sign-in,
//! device code, admin consent), `tenant.rs` (the tenant's grants, directory and avatars), `teams.rs` (the Teams
//! app, installs, setup policies), `tokens.rs` (access tokens), `files.rs` (bundles and scripts off the UI thread),
//! `console.rs` (a saved script in a PowerShell console),
//! `browser.rs` (opening URLs).

pub mod browser;
pub mod console;
mod customers;
mod files;
mod sign_in;
mod teams;
mod tenant;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc};
use tokio::task::AbortHandle;

use crate::auth::signin::{
    self, ConsentRedirectTo, ConsentRequest, DeviceCode, Endpoints, PollAnswer, SignInRequest, Tokens,
};
use crate::auth::vault::{Durability, SecretStore};
use crate::graph::Graph;
use crate::http::{self, HttpConfig, Purpose, Trust};
use crate::wizard::{
    Account, Attempt, BrowserLaunch, ConsentEndpoint, DeviceCodeView, DevicePoll, Effect, Failure, Outcome, Prompt,
    Roles, ScopeSet, TenantSnapshot,
};

pub use browser::UrlOpener;

/// What the wizard signs in with on first sign-in: what anyone may grant (`User.Read` also reads one's own
/// directory roles).
pub const SIGN_IN_SCOPES: &[&str] = &["openid", "profile", "offline_access", "User.Read"];
/// Read access to the tenant's applications, grants, licences and directory (with photos, which
/// `Directory.Read.All` does not cover), approved by an admin when first needed. Graph permissions: the session
/// puts the tenant's cloud's Graph resource in front (`https://graph.microsoft.com/Directory.Read.All`).
pub const TENANT_READ_SCOPES: &[&str] = &["Application.Read.All", "Directory.Read.All", "ProfilePhoto.Read.All"];

/// The Teams app catalog and installs for users (Graph permissions, delegated; an admin approves them for the
/// setup tool).
pub const TEAMS_SETUP_SCOPES: &[&str] =
    &["AppCatalog.ReadWrite.All", "TeamsAppInstallation.ReadWriteForUser", "TeamsAppInstallation.ReadForUser"];
/// The Teams admin configuration API ("Skype and Teams Tenant Admin API"), for app setup policies.
pub const TEAMS_ADMIN_SCOPES: &[&str] = &["48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation"];

/// The partner's read of its GDAP relationships (Graph, delegated), asked at a partner's sign-in.
pub const PARTNER_SCOPES: &[&str] = &["DelegatedAdminRelationship.Read.All"];

/// Where the session's refresh token is filed in the vault.
const REFRESH_TOKEN: &str = "refresh-token";

/// The one multi-threaded tokio runtime a process runs its background work on (two named workers: the machines
/// this runs on are small, and the work is I/O).
pub fn runtime(thread_name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name(thread_name).enable_all().build()
}

pub use crate::clock::Clock;

/// Where the wizard's identity provider, Graph and consent live, and how to trust them.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The vendor's name, for the listener's pages.
    pub product: String,
    /// The OpenID discovery document of the sign-in authority.
    pub discovery_url: String,
    /// When people's browsers reach the identity provider elsewhere than the API does (the demo's plain-HTTP
    /// front door): `(api origin, browser origin)`; the authorize endpoint's origin is swapped.
    pub browser_origin: Option<(String, String)>,
    /// The identity provider's base as browsers reach it (admin-consent URLs), ending in `/`.
    pub login_browser_base: String,
    /// Graph's resource identifier in scopes (`https://graph.microsoft.com`, or the national cloud's).
    pub graph_resource: String,
    /// Microsoft Graph's base, ending in `/`; `None` for identity providers without Graph.
    pub graph_base: Option<String>,
    pub trust: Trust,
    pub signin_client_id: String,
    pub sign_in_scopes: Vec<String>,
    pub tenant_read_scopes: Vec<String>,
    /// `localhost` or `127.0.0.1`, as registered on the sign-in app.
    pub redirect_host: String,
    /// `prompt` for a first sign-in: Microsoft's `select_account` (browsers often hold the wrong session), or
    /// nothing for providers that do not offer it.
    pub sign_in_prompt: Option<String>,
    pub consent_client_id: String,
    pub consent_endpoint: ConsentEndpoint,
    pub consent_redirect: ConsentRedirectTo,
    pub teams_setup_scopes: Vec<String>,
    pub teams_admin_scopes: Vec<String>,
    /// Where an app's page of the Teams admin center is: this, then the catalog app id.
    pub teams_admin_center: String,
    /// What the later steps need, asked in the sign-in's own visit ([`ScopeSet::SignInWithSteps`]): the tenant
    /// read and Teams setup scopes (Graph).
    pub up_front_scopes: Vec<String>,
    /// A partner's read of its GDAP relationships, asked with the sign-in on the way to the board (Graph).
    pub partner_scopes: Vec<String>,
    /// Scopes of another resource to ask consent for in that same visit (their tokens come by refresh): the Teams
    /// admin API's, where there is one.
    pub sign_in_extra_consent: Vec<String>,
    /// The Teams admin configuration API's base, ending in `/`; `None` when there is none (other providers).
    pub teams_admin_base: Option<String>,
    /// The vendor app's manifest id from the profile (else the package's).
    pub teams_manifest_id: String,
    pub teams_package: Option<crate::teams::package::PackageSource>,
    /// Where progress that survives a restart is kept (installs for everyone); `None`: in memory only.
    pub state_dir: Option<std::path::PathBuf>,
    /// How long requests may take and how Graph calls are retried.
    pub network: NetworkTuning,
}

/// Timeouts and retries of the one HTTP stack (tests shorten them; people get the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkTuning {
    /// Whole request, answer included.
    pub request_timeout: std::time::Duration,
    /// TCP and TLS connect.
    pub connect_timeout: std::time::Duration,
    /// Graph and Teams admin API retries (throttling, outages).
    pub retry: crate::graph::retry::RetryPolicy,
}

impl Default for NetworkTuning {
    fn default() -> Self {
        let defaults = HttpConfig::new(Purpose::Api, crate::http::Trust::System);
        Self {
            request_timeout: defaults.timeout,
            connect_timeout: defaults.connect_timeout,
            retry: crate::graph::retry::RetryPolicy::default(),
        }
    }
}

/// A finished piece of background work.
#[derive(Debug)]
pub enum Report {
    /// A result for the wizard.
    Wizard(Outcome),
    /// Where tokens are kept, known once the vault is opened.
    Storage(Durability),
    /// The in-process demo tenant is serving (or could not start).
    DemoTenant(Result<crate::demo::Tenant, crate::demo::DemoError>),
    /// Avatars asked for with [`Shell::fetch_avatars`], decoded.
    Avatars(Vec<(String, Result<Option<Avatar>, Failure>)>),
    /// A file saved with [`Shell::save_file`] or [`Shell::export_diagnostics`]: where, or why not.
    Saved(Result<std::path::PathBuf, String>),
    /// The PowerShell console [`Shell::find_console`] found, if any.
    Console(Option<console::Console>),
    /// A script started with [`Shell::run_script`]: where it was saved, or why it could not be saved or started.
    ScriptStarted(Result<std::path::PathBuf, String>),
    /// A bundle opened with [`Shell::open_bundle`]: the replay's launch, or why it cannot be replayed.
    BundleOpened(Result<Box<crate::launch::Launch>, String>),
}

/// A decoded profile photo, ready to become a texture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub width: usize,
    pub height: usize,
    /// RGBA, 8 bits per channel, row by row.
    pub rgba: Vec<u8>,
}

impl Avatar {
    /// Decodes JPEG or PNG bytes; an unreadable image is a [`Failure::Parse`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Failure> {
        let img = image::load_from_memory(bytes)
            .map_err(|e| Failure::Parse { what: "profile photo".into(), excerpt: e.to_string() })?
            .into_rgba8();
        let (w, h) = img.dimensions();
        Ok(Self { width: w as usize, height: h as usize, rgba: img.into_raw() })
    }
}

/// Something that can wake the UI after a report (egui's `Context::request_repaint` in the app).
pub trait Waker: Send + Sync + 'static {
    fn wake(&self);
}

/// A waker that does nothing (headless runs and tests poll instead).
#[derive(Debug, Clone, Copy)]
pub struct NoWaker;

impl Waker for NoWaker {
    fn wake(&self) {}
}

/// Opens the token vault (may block on a keychain prompt; called off the UI thread).
pub type VaultOpener = Arc<dyn Fn() -> Arc<dyn SecretStore> + Send + Sync>;

struct Services {
    env: Environment,
    http_auth: reqwest::Client,
    http_api: reqwest::Client,
    graph: Option<Graph>,
    opener: Arc<dyn UrlOpener>,
    open_vault: VaultOpener,
    /// Opened once; shared with the sessions beside this one ([`Shell::sibling`]).
    vault: Arc<OnceCell<Arc<dyn SecretStore>>>,
    endpoints: OnceCell<Endpoints>,
    clock: Clock,
    /// Access tokens by authority and scopes, refreshed one at a time per key.
    tokens: tokens::TokenCache,
    /// Device codes by attempt.
    /// Device codes under way, with what each asks for (a sign-in's or an approval's scopes).
    device_codes: Mutex<HashMap<Attempt, (ScopeSet, DeviceCode)>>,
    /// Running work by attempt.
    running: Mutex<HashMap<Attempt, AbortHandle>>,
    /// For reports that are not an effect's result (where tokens are kept).
    sender: mpsc::Sender<Report>,
    waker: Arc<dyn Waker>,
}

/// Carries out effects; the owner drains [`Shell::drain`] once per frame (or loop turn).
pub struct Shell {
    runtime: tokio::runtime::Handle,
    journal: crate::diagnostics::journal::Journal,
    sender: mpsc::Sender<Report>,
    receiver: mpsc::Receiver<Report>,
    waker: Arc<dyn Waker>,
    services: Option<Arc<Services>>,
    clock: Clock,
    state_files: Arc<StateFiles>,
    last_session: Arc<files::LastSession>,
    /// The token vault once opened: one for this shell's sessions and its siblings', so a customer's session can
    /// sign in with the partner's saved sign-in.
    vault: Arc<OnceCell<Arc<dyn SecretStore>>>,
}

/// Files waiting to be kept in the state folder: the newest bytes of each, written one at a time and in order by
/// one writer task, so a later save never loses to an earlier one.
#[derive(Debug, Default)]
struct StateFiles {
    pending: std::sync::Mutex<std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>>,
    wake: tokio::sync::Notify,
    /// Held while writing, so a flush waits for a write in progress.
    writing: tokio::sync::Mutex<()>,
}

impl StateFiles {
    fn put(&self, path: std::path::PathBuf, bytes: Vec<u8>) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(path, bytes);
        }
        self.wake.notify_one();
    }

    /// Writes everything pending (owner-only, atomically).
    async fn write_pending(&self) {
        let _writing = self.writing.lock().await;
        let batch = self.pending.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
        for (path, bytes) in batch {
            let shown = path.clone();
            let written = tokio::task::spawn_blocking(move || crate::fsutil::write_atomic_private(&path, &bytes)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("could not keep {}: {e}", shown.display()),
                Err(e) => tracing::warn!("could not keep {}: {e}", shown.display()),
            }
        }
    }

    async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            self.write_pending().await;
        }
    }
}

impl std::fmt::Debug for Shell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shell").field("configured", &self.services.is_some()).finish_non_exhaustive()
    }
}

/// Reports waiting at once; the UI drains every frame, so this is never reached in practice.
const REPORT_CAPACITY: usize = 64;

/// Why the shell could not be configured.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP clients")]
pub struct ConfigureError(#[from] http::HttpSetupError);

impl Shell {
    /// A shell on `runtime`; `waker` is called after each report.
    pub fn new(runtime: tokio::runtime::Handle, waker: impl Waker) -> Self {
        let (sender, receiver) = mpsc::channel(REPORT_CAPACITY);
        let clock = Clock::start();
        let journal = crate::diagnostics::journal::Journal::new(clock.clone());
        let state_files = Arc::new(StateFiles::default());
        runtime.spawn(state_files.clone().run());
        Self {
            runtime,
            journal,
            sender,
            receiver,
            waker: Arc::new(waker),
            services: None,
            clock,
            state_files,
            last_session: Arc::default(),
            vault: Arc::default(),
        }
    }

    /// A new shell beside this one, for another session in the same window (a partner setting up one of its
    /// customers): the same runtime, waker, clock and state-file writer; its own reports, journal and
    /// configuration, and the same token vault (the partner's sign-in signs the customer's session in).
    pub fn sibling(&self) -> Self {
        let (sender, receiver) = mpsc::channel(REPORT_CAPACITY);
        Self {
            runtime: self.runtime.clone(),
            journal: crate::diagnostics::journal::Journal::new(self.clock.clone()),
            sender,
            receiver,
            waker: self.waker.clone(),
            services: None,
            clock: self.clock.clone(),
            state_files: self.state_files.clone(),
            last_session: Arc::default(),
            vault: self.vault.clone(),
        }
    }

    /// Whether no effect's work is under way (a browser being waited for counts as work).
    pub fn idle(&self) -> bool {
        self.services.as_ref().is_none_or(|s| s.running.lock().unwrap_or_else(PoisonError::into_inner).is_empty())
    }

    /// The session clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The session's diagnostics journal.
    pub fn journal(&self) -> &crate::diagnostics::journal::Journal {
        &self.journal
    }

    /// The runtime work runs on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// Points the shell at an identity provider and Graph; needed before any sign-in effect.
    pub fn configure(
        &mut self,
        env: Environment,
        opener: Arc<dyn UrlOpener>,
        open_vault: VaultOpener,
    ) -> Result<(), ConfigureError> {
        let tuned = |purpose| HttpConfig {
            timeout: env.network.request_timeout,
            connect_timeout: env.network.connect_timeout,
            ..HttpConfig::new(purpose, env.trust.clone())
        };
        let http_auth = http::client(&tuned(Purpose::Auth))?;
        let http_api = http::client(&tuned(Purpose::Api))?;
        let graph = env.graph_base.as_deref().map(|b| Graph::new(http_api.clone(), b).with_policy(env.network.retry));
        self.services = Some(Arc::new(Services {
            env,
            http_auth,
            http_api,
            graph,
            opener,
            open_vault,
            vault: self.vault.clone(),
            endpoints: OnceCell::new(),
            clock: self.clock.clone(),
            tokens: tokens::TokenCache::default(),
            device_codes: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            sender: self.sender.clone(),
            waker: self.waker.clone(),
        }));
        Ok(())
    }

    /// True once [`Shell::configure`] ran.
    pub fn is_configured(&self) -> bool {
        self.services.is_some()
    }

    /// Starts the simulated tenant in the background; reports [`Report::DemoTenant`].
    pub fn start_demo_tenant(&self, scenario: crate::demo::Scenario, auto_login: Option<String>) {
        let sender = self.sender.clone();
        let waker = self.waker.clone();
        self.runtime.spawn(async move {
            let result = crate::demo::Tenant::start(&scenario, auto_login).await;
            // The owner has gone when the receiver is gone; the simulator is then dropped with the report.
            if sender.send(Report::DemoTenant(result)).await.is_ok() {
                waker.wake();
            }
        });
    }

    /// Reports that arrived since the last call.
    pub fn drain(&mut self) -> Vec<Report> {
        let mut out = Vec::new();
        while let Ok(report) = self.receiver.try_recv() {
            out.push(report);
        }
        out
    }

    /// Waits for the next report, at most `timeout` (headless runs).
    pub async fn next_report(&mut self, timeout: Duration) -> Option<Report> {
        tokio::time::timeout(timeout, self.receiver.recv()).await.ok().flatten()
    }

    /// Carries out one effect: housekeeping at once, work as a task tracked by its attempt (the function `work`).
    pub fn run(&self, effect: Effect) {
        let Some(services) = self.services.clone() else {
            tracing::warn!("effect before the shell was configured: {effect:?}");
            return;
        };
        let step = effect.step();
        let attempt = match &effect {
            Effect::Abandon { attempt } => return services.abandon(*attempt),
            Effect::OpenUrl { url } => {
                if let Err(e) = services.opener.open(url) {
                    tracing::warn!("could not open the browser: {e}");
                }
                return;
            }
            Effect::SignOut => return services.sign_out(&self.runtime),
            Effect::SaveBoard { partner_tenant, saved } => return self.keep_board(partner_tenant, saved),
            Effect::BeginBrowserSignIn { attempt, .. }
            | Effect::BeginDeviceCode { attempt, .. }
            | Effect::PollDeviceCode { attempt }
            | Effect::SignInSilently { attempt, .. }
            | Effect::BeginAdminConsent { attempt, .. }
            | Effect::CheckConsent { attempt }
            | Effect::ReadTenant { attempt }
            | Effect::LoadDirectory { attempt }
            | Effect::InspectTeams { attempt, .. }
            | Effect::SetUpTeamsApp { attempt, .. }
            | Effect::BulkInstall { attempt, .. }
            | Effect::ReadSetupPolicies { attempt }
            | Effect::CheckDelivery { attempt, .. }
            | Effect::WriteGlobalPolicy { attempt, .. }
            | Effect::ReadPartner { attempt, .. }
            | Effect::CheckCustomers { attempt, .. } => *attempt,
        };
        let (sender, waker) = (self.sender.clone(), self.waker.clone());
        self.track(&services, step, attempt, work(services.clone(), effect, sender, waker));
    }

    /// Saves `text` as `name` in the person's Downloads folder (else the state folder), off the UI thread;
    /// reports [`Report::Saved`].
    pub fn save_file(&self, name: String, text: String) {
        self.handle().save_file(name, text);
    }

    /// Looks for PowerShell and a way to show it (off the UI thread); reports [`Report::Console`].
    pub fn find_console(&self) {
        self.handle().find_console();
    }

    /// Saves `text` as `name` like [`Shell::save_file`], then starts it in `console`'s window; reports
    /// [`Report::ScriptStarted`].
    pub fn run_script(&self, console: console::Console, name: String, text: String) {
        self.handle().run_script(console, name, text);
    }

    /// What background work needs to save files and report.
    fn handle(&self) -> files::ShellHandle {
        files::ShellHandle {
            runtime: self.runtime.clone(),
            sender: self.sender.clone(),
            waker: self.waker.clone(),
            fallback_dir: self
                .services
                .as_ref()
                .and_then(|s| s.env.state_dir.clone())
                .unwrap_or_else(std::env::temp_dir),
        }
    }

    /// Keeps `bytes` as `name` in the state folder, owner-only and atomically, off the UI thread (nothing is
    /// reported; a failure is logged). Saves of one file land in the order they were made. Does nothing without a
    /// state folder.
    pub fn keep_state_file(&self, name: &'static str, bytes: Vec<u8>) {
        let Some(dir) = self.services.as_ref().and_then(|s| s.env.state_dir.clone()) else {
            return;
        };
        self.state_files.put(dir.join(name), bytes);
    }

    /// Waits until every file given to [`Self::keep_state_file`] so far is written (before the process ends).
    pub async fn flush_state_files(&self) {
        self.state_files.write_pending().await;
    }

    /// Fetches and decodes the small photos of `ids` (one `$batch` per 20); reports [`Report::Avatars`].
    pub fn fetch_avatars(&self, ids: Vec<String>) {
        let Some(services) = self.services.clone() else {
            return;
        };
        let sender = self.sender.clone();
        let waker = self.waker.clone();
        let journal = self.journal.clone();
        self.runtime.spawn(async move {
            let result = journal.scope(services.avatars(&ids)).await;
            let report = match result {
                Ok(list) => list,
                Err(f) => ids.into_iter().map(|id| (id, Err(f.clone()))).collect(),
            };
            if sender.send(Report::Avatars(report)).await.is_ok() {
                waker.wake();
            }
        });
    }

    fn track(
        &self,
        services: &Arc<Services>,
        step: Option<crate::wizard::StepId>,
        attempt: Attempt,
        work: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let s = services.clone();
        let journal = self.journal.clone();
        let handle = self.runtime.spawn(async move {
            journal.scope_for(step, work).await;
            s.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&attempt);
        });
        services.running.lock().unwrap_or_else(PoisonError::into_inner).insert(attempt, handle.abort_handle());
    }
}

/// The work of one effect, reporting its outcomes to the wizard; housekeeping effects ([`Shell::run`] carries
/// them out at once) have none.
async fn work(s: Arc<Services>, effect: Effect, sender: mpsc::Sender<Report>, waker: Arc<dyn Waker>) {
    let report = |outcome: Outcome| {
        let (sender, waker) = (sender.clone(), waker.clone());
        async move {
            if sender.send(Report::Wizard(outcome)).await.is_ok() {
                waker.wake();
            }
        }
    };
    match effect {
        Effect::Abandon { .. } | Effect::OpenUrl { .. } | Effect::SignOut | Effect::SaveBoard { .. } => {}
        Effect::BeginBrowserSignIn { attempt, scopes, prompt, login_hint } => {
            s.browser_sign_in(attempt, scopes, prompt, login_hint, &sender, waker.as_ref()).await;
        }
        Effect::BeginDeviceCode { attempt, scopes } => {
            let result = s.begin_device_code(attempt, scopes).await;
            report(Outcome::DeviceCodeReady { attempt, result }).await;
        }
        Effect::PollDeviceCode { attempt } => report(s.poll_device_code(attempt).await).await,
        Effect::SignInSilently { attempt, scopes } => {
            let result = s.silent_sign_in(scopes).await;
            report(Outcome::SignInFinished { attempt, result }).await;
        }
        Effect::BeginAdminConsent { attempt, tenant_id } => s.admin_consent(attempt, tenant_id, report).await,
        Effect::CheckConsent { attempt } => {
            let result = s.check_consent().await;
            report(Outcome::ConsentObserved { attempt, result }).await;
        }
        Effect::ReadTenant { attempt } => {
            let result = s.read_tenant().await;
            report(Outcome::TenantRead { attempt, result }).await;
        }
        Effect::LoadDirectory { attempt } => s.load_directory(attempt, report).await,
        Effect::InspectTeams { attempt, tenant_id, own_copy } => {
            let result = s.inspect_teams(&tenant_id, own_copy).await;
            report(Outcome::TeamsInspected { attempt, result }).await;
        }
        Effect::SetUpTeamsApp { attempt, plan, own_copy } => {
            let result = s.set_up_teams_app(plan, own_copy).await;
            report(Outcome::TeamsAppReady { attempt, result }).await;
        }
        Effect::BulkInstall { attempt, tenant_id, catalog_id, users } => {
            s.bulk_install(attempt, &tenant_id, &catalog_id, users, report).await;
        }
        Effect::ReadSetupPolicies { attempt } => {
            let result = s.read_setup_policies().await;
            report(Outcome::SetupPoliciesRead { attempt, result }).await;
        }
        Effect::CheckDelivery { attempt, users } => {
            let result = s.check_delivery(&users).await;
            report(Outcome::DeliveryChecked { attempt, result }).await;
        }
        Effect::WriteGlobalPolicy { attempt, installed, pinned } => {
            let result = s.write_global_policy(installed, pinned).await;
            report(Outcome::GlobalPolicyWritten { attempt, result }).await;
        }
        Effect::ReadPartner { attempt, partner_tenant } => {
            if let Some(saved) = s.saved_board(&partner_tenant).await {
                report(Outcome::PartnerSaved { attempt, saved }).await;
            }
            let result = s.read_partner().await;
            report(Outcome::PartnerRead { attempt, result }).await;
        }
        Effect::CheckCustomers { attempt, tenants, at_once } => {
            s.check_customers(tenants, at_once, |tenant_id, result| {
                let at = s.clock.unix_seconds();
                report(Outcome::CustomerChecked { attempt, tenant_id, result, at })
            })
            .await;
            report(Outcome::CustomersChecked { attempt }).await;
        }
    }
}

impl Services {
    fn abandon(&self, attempt: Attempt) {
        if let Some(handle) = self.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&attempt) {
            handle.abort();
        }
        self.device_codes.lock().unwrap_or_else(PoisonError::into_inner).remove(&attempt);
    }

    fn sign_out(self: &Arc<Self>, runtime: &tokio::runtime::Handle) {
        self.tokens.clear();
        let s = self.clone();
        runtime.spawn(async move {
            let vault = s.vault().await;
            let result = tokio::task::spawn_blocking(move || vault.remove(REFRESH_TOKEN)).await;
            if let Ok(Err(e)) = result {
                tracing::warn!("could not remove the saved sign-in: {e}");
            }
        });
    }

    /// The identity provider's endpoints, discovered once.
    async fn endpoints(&self) -> Result<Endpoints, Failure> {
        if let Some(e) = self.endpoints.get() {
            return Ok(e.clone());
        }
        let discovered = signin::discover(&self.http_auth, &self.env.discovery_url).await?;
        // A concurrent discovery may have won; both found the same document.
        let _already = self.endpoints.set(discovered.clone());
        Ok(discovered)
    }

    /// The token vault, opened once off the async threads (a keychain may prompt).
    async fn vault(&self) -> Arc<dyn SecretStore> {
        if let Some(v) = self.vault.get() {
            return v.clone();
        }
        let open = self.open_vault.clone();
        let opened = tokio::task::spawn_blocking(move || open())
            .await
            .unwrap_or_else(|_| Arc::new(crate::auth::vault::MemoryStore::new("the keychain could not be opened")));
        if self.vault.set(opened.clone()).is_ok()
            && self.sender.send(Report::Storage(opened.durability())).await.is_ok()
        {
            self.waker.wake();
        }
        self.vault.get().cloned().unwrap_or(opened)
    }
}
