//! Demo mode, bundle replays and the `sim` command: the one place the product meets the simulated tenant (`sim`).
//!
//! The window, headless, the launch decision and the command line use only what is here: a [`Scenario`] to run, a
//! running [`Tenant`] (its endpoints, the profile it stands in for, its demo accounts), a [`Replay`] made from a
//! diagnostics bundle (`replay.rs` derives its scenario), and [`serve`] for `mspbots-setup sim` (`serve.rs`). With the `demo` cargo feature off (a live-only build) the same types exist but none can be
//! made: every constructor answers [`DemoError::NotInThisBuild`], the code paths that would use them are dead, and
//! neither the simulator nor its server stack (axum, tower, rcgen, the HTML pages) is compiled in. This module must
//! not hold product logic: it translates.

#[cfg(feature = "demo")]
pub mod replay;
#[cfg(feature = "demo")]
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::profile::{Cloud, Profile};
use crate::session::Endpoints;

/// What `mspbots-setup sim` was asked to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The login host's address (Graph and the Teams admin API get ports of their own beside it).
    pub addr: SocketAddr,
    /// A shipped scenario's name or a scenario file.
    pub scenario: String,
    /// Complete every sign-in as this account.
    pub auto_login: Option<String>,
    /// Where the CA certificate goes (default: a private temporary folder removed on exit).
    pub state_dir: Option<PathBuf>,
    /// List the shipped scenarios instead of serving.
    pub list: bool,
}

/// `mspbots-setup sim`: serves the simulated tenant until SIGINT or SIGTERM; a live-only build says it has none
/// (exit code 2).
pub fn serve(options: ServeOptions) -> ExitCode {
    #[cfg(feature = "demo")]
    {
        serve::run(options)
    }
    #[cfg(not(feature = "demo"))]
    {
        let _options = options;
        crate::launch::report("cannot serve a simulated tenant", &DemoError::NotInThisBuild);
        ExitCode::from(2)
    }
}

/// Why demo mode cannot run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "this build has no demo mode or simulated tenant (it was built without the `demo` feature); run it with a complete vendor profile"
    )]
    NotInThisBuild,
    #[error("no account {upn} in the demo scenario '{scenario}' (its accounts: {known})")]
    UnknownAccount { upn: String, scenario: String, known: String },
    #[cfg(feature = "demo")]
    #[error(transparent)]
    Scenario(#[from] crate::sim::scenario::ScenarioError),
    #[cfg(feature = "demo")]
    #[error("cannot start the simulated tenant")]
    Start(#[from] crate::sim::SimError),
}

#[cfg(feature = "demo")]
type ScenarioInner = crate::sim::Scenario;
#[cfg(not(feature = "demo"))]
type ScenarioInner = std::convert::Infallible;

#[cfg(feature = "demo")]
type TenantInner = crate::sim::Sim;
#[cfg(not(feature = "demo"))]
type TenantInner = std::convert::Infallible;

/// Whether this build carries the simulated tenant.
pub const AVAILABLE: bool = cfg!(feature = "demo");

/// A demo tenant's scenario, as the product reads it.
#[derive(Debug, Clone)]
pub struct Scenario(ScenarioInner);

/// One of the demo tenant's accounts, for the Welcome page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub upn: String,
    pub display_name: String,
    /// Directory role names.
    pub roles: Vec<String>,
    /// What this account demonstrates.
    pub note: Option<String>,
}

#[cfg(feature = "demo")]
impl Scenario {
    /// A shipped scenario by name, or a scenario file by path.
    pub fn load(name_or_path: &str) -> Result<Self, DemoError> {
        Ok(Self(crate::sim::scenario::load(name_or_path)?))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn summary(&self) -> &str {
        &self.0.summary
    }

    /// The simulated organization's name.
    pub fn tenant_name(&self) -> &str {
        &self.0.tenant.display_name
    }

    /// The account that signs in when none is named.
    pub fn default_account(&self) -> &str {
        &self.0.default_account
    }

    /// `upn` if it can sign in to this tenant's pages; else which accounts can.
    pub fn check_account(&self, upn: &str) -> Result<(), DemoError> {
        if self.0.user(upn).is_some() {
            return Ok(());
        }
        let known = self.0.users.iter().map(|u| u.upn.as_str()).collect::<Vec<_>>().join(", ");
        Err(DemoError::UnknownAccount { upn: upn.to_owned(), scenario: self.0.name.clone(), known })
    }

    /// The simulator's own scenario (tests and the replay set it up further).
    pub fn sim(&self) -> &crate::sim::Scenario {
        &self.0
    }
}

#[cfg(not(feature = "demo"))]
impl Scenario {
    pub fn load(_name_or_path: &str) -> Result<Self, DemoError> {
        Err(DemoError::NotInThisBuild)
    }

    pub fn name(&self) -> &str {
        match self.0 {}
    }

    pub fn summary(&self) -> &str {
        match self.0 {}
    }

    pub fn tenant_name(&self) -> &str {
        match self.0 {}
    }

    pub fn default_account(&self) -> &str {
        match self.0 {}
    }

    pub fn check_account(&self, _upn: &str) -> Result<(), DemoError> {
        match self.0 {}
    }
}

/// A running simulated tenant; it stops when dropped.
#[derive(Debug)]
pub struct Tenant(TenantInner);

#[cfg(feature = "demo")]
impl Tenant {
    /// Starts the simulated tenant of `scenario` on loopback. With `auto_login` its sign-in pages answer as that
    /// account by themselves (headless runs and replays).
    pub async fn start(scenario: &Scenario, auto_login: Option<String>) -> Result<Self, DemoError> {
        let mut config = crate::sim::SimConfig::new(scenario.0.clone());
        if let Some(upn) = auto_login {
            config = config.with_auto_login(upn);
        }
        Ok(Self(crate::sim::Sim::start(config).await?))
    }

    /// The tenant's hosts, standing in for `cloud`, trusting only its own certificate authority.
    pub fn endpoints(&self, cloud: Cloud) -> Endpoints {
        let info = self.0.info();
        Endpoints {
            login_url: info.login_url.clone(),
            browser_login_url: Some(info.browser_login_url.clone()),
            graph_url: Some(info.graph_url.clone()),
            discovery_url: None,
            teams_admin_url: Some(info.teams_admin_url.clone()),
            graph_resource: cloud.graph_resource().to_owned(),
            trust: crate::http::Trust::OnlyPem(self.0.ca_pem().to_owned()),
            teams_admin_center: format!("{}{}", info.browser_login_url, crate::session::SIMULATED_ADMIN_CENTER),
        }
    }

    /// `profile` with the simulated vendor's app ids where the profile has none.
    pub fn profile(&self, profile: &Profile) -> Profile {
        let info = self.0.info();
        profile.for_simulator(&info.signin_client_id, &info.consent_client_id, &info.teams_app_id)
    }

    /// Where its sign-in pages are.
    pub fn login_url(&self) -> &str {
        &self.0.info().login_url
    }

    /// The accounts the Welcome page offers.
    pub fn accounts(&self) -> Vec<Account> {
        self.0
            .info()
            .accounts
            .iter()
            .map(|a| Account {
                upn: a.upn.clone(),
                display_name: a.display_name.clone(),
                roles: a.roles.clone(),
                note: a.note.clone(),
            })
            .collect()
    }

    /// The simulator itself (tests look at what it recorded).
    pub fn sim(&self) -> &crate::sim::Sim {
        &self.0
    }
}

#[cfg(not(feature = "demo"))]
impl Tenant {
    pub async fn start(_scenario: &Scenario, _auto_login: Option<String>) -> Result<Self, DemoError> {
        Err(DemoError::NotInThisBuild)
    }

    pub fn endpoints(&self, _cloud: Cloud) -> Endpoints {
        match self.0 {}
    }

    pub fn profile(&self, _profile: &Profile) -> Profile {
        match self.0 {}
    }

    pub fn login_url(&self) -> &str {
        match self.0 {}
    }

    pub fn accounts(&self) -> Vec<Account> {
        match self.0 {}
    }
}

/// A simulated tenant made from a diagnostics bundle, so support meets the admin's failures.
#[derive(Debug, Clone)]
pub struct Replay {
    pub scenario: Scenario,
    /// The account the replay signs in as (one with the admin's roles).
    pub account: String,
    /// One line per decision, for the person replaying.
    pub notes: Vec<String>,
}

impl Replay {
    /// The scenario, account and notes that make the simulated tenant answer as the bundle's tenant did.
    pub fn from_bundle(bundle: &crate::diagnostics::bundle::Bundle) -> Result<Self, DemoError> {
        #[cfg(feature = "demo")]
        {
            let r = replay::reproduce(bundle)?;
            Ok(Self { scenario: Scenario(r.scenario), account: r.account, notes: r.notes })
        }
        #[cfg(not(feature = "demo"))]
        {
            let _bundle = bundle;
            Err(DemoError::NotInThisBuild)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "demo")]
    #[test]
    fn a_scenario_answers_through_the_boundary() {
        let s = Scenario::load("happy").unwrap();
        assert_eq!(s.name(), "happy");
        assert!(s.check_account(s.default_account()).is_ok());
        let err = s.check_account("nobody@contoso.com").unwrap_err().to_string();
        assert!(err.contains("nobody@contoso.com") && err.contains("adele.vance@contoso.com"), "{err}");
    }

    #[cfg(not(feature = "demo"))]
    #[test]
    fn a_live_only_build_says_it_has_no_demo() {
        let err = Scenario::load("happy").unwrap_err();
        assert!(err.to_string().contains("no demo mode"), "{err}");
    }
}
