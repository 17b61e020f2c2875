//! The simulated tenant: a local HTTPS server that answers like `login.microsoftonline.com` (and, in later layers,
//! `graph.microsoft.com` and the Teams admin configuration API), driven by a [`scenario::Scenario`].
//!
//! It serves three masters: demo mode (started in-process by the app), the tests, and support replaying a
//! customer's error (`mspbots-setup sim`). Each simulated host gets its own loopback port so URLs keep Microsoft's
//! shapes. The simulator depends on nothing else in the crate and never reuses the client's serde types, so a
//! drift between what the client expects and what Microsoft documents shows up as a failing test.

mod aad;
pub mod admin_center;
pub mod clock;
mod cloud;
pub mod customers;
mod directory;
mod generator;
mod graph;
mod html;
mod identity;
mod jwt;
pub mod partner;
pub mod recorder;
mod resources;
pub mod scenario;
mod scenario_check;
pub mod teams;
mod teams_admin;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use graph::{documented_quota, resource_units};
pub use recorder::{Host, RecordedRequest, WaitTimeout};
pub use scenario::Scenario;
pub use tls::NetMode;

use directory::Directory;
use scenario::FaultSpec;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of the login host. Port 0 picks a free port; the Graph and Teams admin hosts always take free
    /// ports on the same IP.
    pub addr: SocketAddr,
    /// The tenant and its faults.
    pub scenario: Scenario,
    /// Complete every sign-in and consent at once as this account (scripts, tests).
    pub auto_login: Option<String>,
    /// Where to write `ca.pem`; a fresh private temporary folder when `None`.
    pub work_dir: Option<PathBuf>,
}

impl SimConfig {
    /// Loopback on a free port, no auto login, private temporary folder.
    pub fn new(scenario: Scenario) -> Self {
        Self { addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0), scenario, auto_login: None, work_dir: None }
    }

    /// Sets the auto-login account.
    pub fn with_auto_login(mut self, upn: impl Into<String>) -> Self {
        self.auto_login = Some(upn.into());
        self
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Tls(#[from] tls::TlsSetupError),
    #[error(transparent)]
    Keys(#[from] jwt::KeyGenError),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not write the simulator's CA certificate to {path}")]
    WriteCa {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the auto-login account '{upn}' is not an account of scenario '{scenario}'")]
    UnknownAutoLogin { upn: String, scenario: String },
    #[error("a customer's tenant cannot be served")]
    Customer(#[from] scenario::ScenarioError),
}

/// One account, as printed for scripts and shown on the demo's Welcome page.
#[derive(Debug, Clone, Serialize)]
pub struct AccountInfo {
    pub upn: String,
    pub display_name: String,
    /// Directory role names.
    pub roles: Vec<String>,
    /// What this account demonstrates.
    pub note: Option<String>,
    /// True when the account belongs to another organization.
    pub external: bool,
}

/// What a client needs to talk to a running simulator; printed as one JSON line by `mspbots-setup sim`.
#[derive(Debug, Clone, Serialize)]
pub struct SimInfo {
    /// Scenario name.
    pub scenario: String,
    /// The authority base, e.g. `https://127.0.0.1:PORT/` (append `organizations` or a tenant).
    pub login_url: String,
    /// The same sign-in pages over plain HTTP on loopback, for a person's browser in demo mode (no certificate
    /// warning). Only pages are served there; token endpoints are HTTPS only.
    pub browser_login_url: String,
    /// Graph base, e.g. `https://127.0.0.1:PORT/` (append `v1.0/...`).
    pub graph_url: String,
    /// Teams admin configuration API base.
    pub teams_admin_url: String,
    /// The vendor Teams app's manifest id in this tenant's scenario.
    pub teams_app_id: String,
    /// Path of the CA certificate (PEM) to trust for these hosts.
    pub ca_pem: PathBuf,
    pub tenant_id: String,
    /// The tenant's first verified domain.
    pub tenant_domain: String,
    pub signin_client_id: String,
    pub consent_client_id: String,
    /// The simulated vendor backend's secret, so client-credentials flows can be exercised.
    pub consent_client_secret: String,
    /// The account auto mode and the demo suggest first.
    pub default_account: String,
    pub accounts: Vec<AccountInfo>,
    /// The customers' tenants served beside this one (a partner's; empty otherwise).
    pub customer_tenants: Vec<CustomerTenantInfo>,
}

/// A customer's tenant the simulator serves in full, on the same hosts.
#[derive(Debug, Clone, Serialize)]
pub struct CustomerTenantInfo {
    pub tenant_id: String,
    pub display_name: String,
    /// The scenario it runs, and whose customer it is.
    pub scenario: String,
}

/// Mutable simulator state, behind one lock that is never held across an await.
#[derive(Debug)]
pub(crate) struct State {
    pub dir: Directory,
    pub teams: teams::TeamsState,
    /// Matching-request counters, one per scenario fault.
    fault_hits: Vec<u32>,
    pub flows: identity::Flows,
    /// Graph's identity read throttle, and its quota (RU per 10 s) and burst (seconds of quota).
    pub read_throttle: graph::ReadThrottle,
    pub read_quota: u32,
    pub read_burst_seconds: u32,
}

/// A fault chosen for a request.
#[derive(Debug, Clone)]
pub(crate) struct FaultHit {
    pub spec: FaultSpec,
}

impl FaultHit {
    /// The delay to apply before answering.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.spec.delay_ms)
    }

    /// True when the fault changes the answer (not only delays it).
    pub fn fails(&self) -> bool {
        self.spec.aadsts.is_some()
            || self.spec.error.is_some()
            || self.spec.status.is_some()
            || self.spec.body.is_some()
    }
}

/// What a request offers to fault filters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FaultProbe<'a> {
    pub endpoint: &'a str,
    pub grant_type: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub account: Option<&'a str>,
    /// Graph: the request path and method.
    pub path: Option<&'a str>,
    pub method: Option<&'a str>,
    /// Identity endpoints: true when asked by the layer that breaks bodies (the handlers never take those faults,
    /// the layer takes nothing else).
    pub body_layer: bool,
}

impl State {
    /// Counts this request against matching faults and returns the first that fires.
    pub fn take_fault(&mut self, probe: FaultProbe<'_>) -> Option<FaultHit> {
        let apps = &self.dir.scenario.apps;
        let identity = scenario::IDENTITY_ENDPOINTS.contains(&probe.endpoint);
        for (i, f) in self.dir.scenario.faults.iter().enumerate() {
            if f.endpoint != probe.endpoint || (identity && f.body.is_some() != probe.body_layer) {
                continue;
            }
            if let Some(g) = &f.grant_type
                && probe.grant_type != Some(g.as_str())
            {
                continue;
            }
            if let Some(c) = &f.client {
                let wanted = match c.as_str() {
                    "signin" => apps.signin.client_id.as_str(),
                    "consent" => apps.consent.client_id.as_str(),
                    other => other,
                };
                if !probe.client_id.is_some_and(|id| id.eq_ignore_ascii_case(wanted)) {
                    continue;
                }
            }
            if let Some(a) = &f.account
                && !probe.account.is_some_and(|x| x.eq_ignore_ascii_case(a))
            {
                continue;
            }
            if let Some(p) = &f.path
                && !probe.path.is_some_and(|x| x.starts_with(p.as_str()))
            {
                continue;
            }
            if let Some(m) = &f.method
                && !probe.method.is_some_and(|x| x.eq_ignore_ascii_case(m))
            {
                continue;
            }
            let Some(hits) = self.fault_hits.get_mut(i) else {
                continue;
            };
            *hits += 1;
            let n = *hits;
            if n <= f.after || f.count.is_some_and(|c| n > f.after + c) {
                continue;
            }
            return Some(FaultHit { spec: f.clone() });
        }
        None
    }
}

/// State shared by every handler of one simulator.
#[derive(Debug)]
pub(crate) struct Shared {
    /// `https://127.0.0.1:PORT/` of each host.
    pub login_base: String,
    /// `http://127.0.0.1:PORT/` of the browser front door.
    pub browser_base: String,
    pub graph_base: String,
    /// One signing key for every tenant, as Entra signs every tenant's tokens with the same keys.
    pub signer: Arc<jwt::Signer>,
    /// The tenant's clock (the directory's, shared by every tenant served): what decides answers reads it.
    pub clock: clock::SimClock,
    state: Mutex<State>,
    pub recorder: Arc<recorder::Recorder>,
    auto_login: Arc<Mutex<Option<String>>>,
    /// Overrides the scenario's consent decision in auto mode (tests switch it mid-run).
    consent_decision: Arc<Mutex<Option<scenario::ConsentDecision>>>,
    /// Refresh tokens of every tenant served.
    pub refresh_tokens: Arc<identity::RefreshTokens>,
    /// The Graph router itself, for `$batch` to run its sub-requests through.
    pub graph_router: std::sync::OnceLock<axum::Router>,
    /// Generated profile photos by (user, size).
    pub photos: Mutex<std::collections::HashMap<(String, u32), Vec<u8>>>,
}

impl Shared {
    /// Locks the state. A handler that panicked cannot leave it half-written in a way that matters to a test
    /// double, so a poisoned lock is taken over rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The auto-login account, if auto mode is on.
    pub fn auto_login(&self) -> Option<String> {
        self.auto_login.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// What auto mode answers on consent pages: the override, else the scenario's.
    pub fn consent_decision(&self, scenario_default: scenario::ConsentDecision) -> scenario::ConsentDecision {
        self.consent_decision.lock().unwrap_or_else(PoisonError::into_inner).unwrap_or(scenario_default)
    }
}

/// What every tenant of one simulator shares: the hosts, the signing key, the clock, the recorder, auto mode and
/// the refresh tokens.
struct Common {
    login_base: String,
    browser_base: String,
    graph_base: String,
    signer: Arc<jwt::Signer>,
    clock: clock::SimClock,
    recorder: Arc<recorder::Recorder>,
    auto_login: Arc<Mutex<Option<String>>>,
    consent_decision: Arc<Mutex<Option<scenario::ConsentDecision>>>,
    refresh_tokens: Arc<identity::RefreshTokens>,
}

impl Common {
    /// One tenant's shared state, on the common clock.
    fn tenant(&self, mut dir: Directory) -> Arc<Shared> {
        dir.clock = self.clock.clone();
        let fault_count = dir.scenario.faults.len();
        Arc::new(Shared {
            login_base: self.login_base.clone(),
            browser_base: self.browser_base.clone(),
            graph_base: self.graph_base.clone(),
            signer: self.signer.clone(),
            clock: self.clock.clone(),
            state: Mutex::new(State::new(dir, fault_count)),
            recorder: self.recorder.clone(),
            auto_login: self.auto_login.clone(),
            consent_decision: self.consent_decision.clone(),
            refresh_tokens: self.refresh_tokens.clone(),
            graph_router: std::sync::OnceLock::new(),
            photos: Mutex::new(std::collections::HashMap::new()),
        })
    }
}

/// A private folder that is removed when the simulator stops.
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
    remove_on_drop: bool,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove_on_drop {
            // Best effort: a leftover temp folder holds only a public CA certificate.
            let _ignored = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A running simulator. Dropping it stops the servers.
#[derive(Debug)]
pub struct Sim {
    info: SimInfo,
    shared: Arc<Shared>,
    ca_pem: String,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    /// Each HTTPS host's network mode.
    networks: Vec<(Host, Arc<tls::HostNet>)>,
    _work_dir: WorkDir,
}

/// The base URLs of a simulator's hosts.
#[derive(Clone, Copy)]
struct Bases<'a> {
    login: &'a str,
    browser: &'a str,
    graph: &'a str,
    teams_admin: &'a str,
}

impl SimInfo {
    /// What a simulator of `dir` at `bases` tells its callers.
    fn of(dir: &Directory, bases: Bases<'_>, ca_pem: PathBuf) -> Self {
        SimInfo {
            scenario: dir.scenario.name.clone(),
            login_url: bases.login.to_owned(),
            browser_login_url: bases.browser.to_owned(),
            graph_url: bases.graph.to_owned(),
            teams_admin_url: bases.teams_admin.to_owned(),
            teams_app_id: dir.scenario.teams.app_id.clone(),
            ca_pem,
            tenant_id: dir.tenant_id().to_owned(),
            tenant_domain: dir.scenario.tenant.domains.first().cloned().unwrap_or_default(),
            signin_client_id: dir.scenario.apps.signin.client_id.clone(),
            consent_client_id: dir.scenario.apps.consent.client_id.clone(),
            consent_client_secret: dir.consent_client_secret.clone(),
            default_account: dir.scenario.default_account.clone(),
            accounts: dir
                .scenario
                .users
                .iter()
                .map(|u| AccountInfo {
                    upn: u.upn.clone(),
                    display_name: u.display_name.clone(),
                    roles: u.roles.clone(),
                    note: u.note.clone(),
                    external: u.home_tenant.is_some(),
                })
                .collect(),
            customer_tenants: Vec::new(),
        }
    }
}

impl State {
    /// The tenant's state at the start: the directory, Teams, Graph's read quota, no fault hit yet.
    fn new(dir: Directory, fault_count: usize) -> Self {
        State {
            teams: teams::TeamsState::new(&dir.scenario.teams, dir.tenant_id()),
            read_quota: dir
                .scenario
                .directory
                .read_units_per_10s
                .unwrap_or_else(|| graph::documented_quota(dir.members().count())),
            read_burst_seconds: dir.scenario.directory.read_burst_seconds,
            read_throttle: graph::ReadThrottle::default(),
            dir,
            fault_hits: vec![0; fault_count],
            flows: identity::Flows::default(),
        }
    }
}

impl Sim {
    /// Starts the three hosts on the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let SimConfig { addr, scenario, auto_login, work_dir } = config;
        let customer_scenarios = customers::scenarios(&scenario)?;
        // An account of the scenario's tenant, or of a customer's tenant it serves.
        if let Some(upn) = &auto_login
            && scenario.user(upn).is_none()
            && customer_scenarios.iter().all(|s| s.user(upn).is_none())
        {
            return Err(SimError::UnknownAutoLogin { upn: upn.clone(), scenario: scenario.name.clone() });
        }
        let tls = tls::SimTls::generate()?;
        let signer = jwt::Signer::generate()?;

        let work_dir = match work_dir {
            Some(path) => WorkDir { path, remove_on_drop: false },
            None => WorkDir {
                path: std::env::temp_dir().join(format!("mspbots-sim-{}-{}", std::process::id(), clock::opaque::<6>())),
                remove_on_drop: true,
            },
        };
        let ca_path = work_dir.path.join("ca.pem");
        write_private(&work_dir.path, &ca_path, tls.ca_pem.as_bytes())
            .map_err(|source| SimError::WriteCa { path: ca_path.clone(), source })?;

        let login = bind(addr).await?;
        let graph = bind(SocketAddr::new(addr.ip(), 0)).await?;
        let teams = bind(SocketAddr::new(addr.ip(), 0)).await?;
        let browser = bind(SocketAddr::new(addr.ip(), 0)).await?;
        let browser_base =
            browser.local_addr().map(|a| format!("http://{a}/")).map_err(|source| SimError::Bind { addr, source })?;
        let base = |l: &TcpListener| l.local_addr().map(|a| format!("https://{a}/"));
        let login_base = base(&login).map_err(|source| SimError::Bind { addr, source })?;
        let graph_base = base(&graph).map_err(|source| SimError::Bind { addr, source })?;
        let teams_admin_url = base(&teams).map_err(|source| SimError::Bind { addr, source })?;

        let dir = Directory::new(scenario);
        let mut info = SimInfo::of(
            &dir,
            Bases { login: &login_base, browser: &browser_base, graph: &graph_base, teams_admin: &teams_admin_url },
            ca_path,
        );
        info.customer_tenants = customer_scenarios
            .iter()
            .map(|s| CustomerTenantInfo {
                tenant_id: s.tenant.tenant_id.clone(),
                display_name: s.tenant.display_name.clone(),
                scenario: s.name.clone(),
            })
            .collect();
        let common = Common {
            login_base,
            browser_base,
            graph_base,
            signer: Arc::new(signer),
            clock: dir.clock.clone(),
            recorder: Arc::new(recorder::Recorder::default()),
            auto_login: Arc::new(Mutex::new(auto_login)),
            consent_decision: Arc::new(Mutex::new(None)),
            refresh_tokens: Arc::default(),
        };
        let shared = common.tenant(dir);
        let customers: Vec<Arc<Shared>> =
            customer_scenarios.into_iter().map(|s| common.tenant(Directory::new(s))).collect();

        let (stop, stop_rx) = watch::channel(false);
        let mut servers = Vec::new();
        let mut networks = Vec::new();
        for (listener, host) in [(login, Host::Login), (graph, Host::Graph), (teams, Host::TeamsAdmin)] {
            let router = cloud::router(host, &shared, &customers, |tenant| match host {
                Host::Login => identity::router(tenant.clone()),
                Host::Graph => graph::router(tenant),
                Host::TeamsAdmin => teams_admin::router(tenant.clone()),
                Host::LoginPages => identity::browser_router(tenant.clone()),
            })
            .layer(axum::middleware::from_fn_with_state(
                recorder::RecordLayer { recorder: shared.recorder.clone(), host },
                recorder::record,
            ));
            let net = Arc::new(tls::HostNet::default());
            networks.push((host, net.clone()));
            let tls_listener = tls::TlsListener::new(listener, tls.server_config.clone(), net)
                .map_err(|source| SimError::Bind { addr, source })?;
            let mut stop_rx = stop_rx.clone();
            servers.push(tokio::spawn(async move {
                let shutdown = async move {
                    // Either a stop signal or the Sim being dropped ends the server.
                    let _closed = stop_rx.wait_for(|stopped| *stopped).await;
                };
                if let Err(err) = axum::serve(tls_listener, router).with_graceful_shutdown(shutdown).await {
                    tracing::error!("simulated {host:?} host stopped: {err}");
                }
            }));
        }
        // The browser front door is plain HTTP on loopback: pages only, for a person's browser in demo mode.
        let pages =
            cloud::router(Host::LoginPages, &shared, &customers, |tenant| identity::browser_router(tenant.clone()))
                .layer(axum::middleware::from_fn_with_state(
                    recorder::RecordLayer { recorder: shared.recorder.clone(), host: Host::LoginPages },
                    recorder::record,
                ));
        let mut stop_pages = stop_rx.clone();
        servers.push(tokio::spawn(async move {
            let shutdown = async move {
                let _closed = stop_pages.wait_for(|stopped| *stopped).await;
            };
            if let Err(err) = axum::serve(browser, pages).with_graceful_shutdown(shutdown).await {
                tracing::error!("simulated sign-in pages stopped: {err}");
            }
        }));
        tracing::info!(scenario = %info.scenario, login = %info.login_url, "simulated tenant started");
        Ok(Self { info, shared, ca_pem: tls.ca_pem, stop, servers, networks, _work_dir: work_dir })
    }

    /// Endpoints, ids and accounts of this simulator.
    pub fn info(&self) -> &SimInfo {
        &self.info
    }

    /// The CA certificate (PEM) that signs the simulator's server certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// From now on, keep Graph's JSON answers with the recorded requests ([`RecordedRequest::answer`]).
    pub fn keep_answers(&self) {
        self.shared.recorder.keep_answers();
    }

    /// Everything the simulator answered so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.recorder.snapshot()
    }

    /// Makes `host`'s network answer, refuse, reset or hang, from now on (open connections too). Returns once a
    /// host that refused listens again.
    pub async fn set_network(&self, host: Host, mode: NetMode) {
        for (h, net) in &self.networks {
            if *h == host {
                net.set(mode);
                if mode != NetMode::Refuse {
                    net.listening(Duration::from_secs(5)).await;
                }
            }
        }
    }

    /// Replaces the scenario's injected faults from now on (their counts start again).
    pub fn set_faults(&self, faults: Vec<FaultSpec>) {
        let mut st = self.shared.lock();
        st.fault_hits = vec![0; faults.len()];
        st.dir.scenario.faults = faults;
    }

    /// How many admin consents were granted so far (a consent page loaded twice with one `state` is one).
    pub fn admin_consents(&self) -> usize {
        self.shared.lock().dir.consent_states.len()
    }

    /// Waits until a request matching `pred` has been answered.
    pub async fn wait_for(
        &self,
        description: &str,
        timeout: Duration,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> Result<RecordedRequest, WaitTimeout> {
        self.shared.recorder.wait_for(description, timeout, pred).await
    }

    /// The account auto mode signs in as, if it is on.
    pub fn auto_login(&self) -> Option<String> {
        self.shared.auto_login()
    }

    /// Moves the simulated tenant's clock on by `by`: replication delays, code and device-code lifetimes, token
    /// expiry and throttle buckets see the time pass at once, so tests wait for nothing.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Turns auto mode on (as `upn`) or off.
    pub fn set_auto_login(&self, upn: Option<String>) {
        *self.shared.auto_login.lock().unwrap_or_else(PoisonError::into_inner) = upn;
    }

    /// Makes auto mode accept or decline consent pages from now on (`None`: the scenario decides).
    pub fn set_consent_decision(&self, decision: Option<scenario::ConsentDecision>) {
        *self.shared.consent_decision.lock().unwrap_or_else(PoisonError::into_inner) = decision;
    }

    /// Stops the servers and waits for them to finish.
    pub async fn shutdown(mut self) {
        let _no_receivers = self.stop.send(true);
        for server in self.servers.drain(..) {
            let _joined = server.await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _no_receivers = self.stop.send(true);
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr).await.map_err(|source| SimError::Bind { addr, source })
}

fn write_private(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(file, bytes)
}
