//! Wiring one run of the wizard: from a vendor profile and an environment (Microsoft's cloud or the simulated
//! tenant) to the shell's [`Environment`] and the wizard's [`Settings`], and the loop that feeds the shell's
//! reports and the clock into the wizard. The window and the headless runner both use it.

use crate::auth::signin::ConsentRedirectTo;
use crate::diagnostics::journal::What;
use crate::http::Trust;
use crate::profile::{Cloud, ConsentEndpointChoice, Profile};
use crate::shell::{
    Environment, Report, SIGN_IN_SCOPES, Shell, TEAMS_ADMIN_SCOPES, TEAMS_SETUP_SCOPES, TENANT_READ_SCOPES,
};
use crate::teams::package::PackageSource;
use crate::wizard::{
    ConsentEndpoint, ConsentRedirect, Effect, Event, Failure, Intent, PermissionView, Progress, Settings, StepId,
    StepStatus, Timing, Wizard,
};

/// Where to sign in, given explicitly (headless `--login-url` and friends) or by demo/live mode.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The authority base, ending in `/`.
    pub login_url: String,
    /// The same base as a person's browser reaches it (the simulator's front door), if different.
    pub browser_login_url: Option<String>,
    /// Graph's base, or `None` for a non-Microsoft identity provider.
    pub graph_url: Option<String>,
    /// A discovery URL other than `{login_url}{tenant}/v2.0/.well-known/openid-configuration`.
    pub discovery_url: Option<String>,
    /// The Teams admin configuration API's base, if the setup policy can be reached.
    pub teams_admin_url: Option<String>,
    /// Graph's resource identifier in scopes (the cloud's, also when another host stands in for it).
    pub graph_resource: String,
    pub trust: Trust,
    /// Where an app's page of the Teams admin center is: this, then the catalog app id.
    pub teams_admin_center: String,
}

/// Microsoft's Teams admin center: an app's page is this, then the catalog app id.
pub const TEAMS_ADMIN_CENTER: &str = "https://admin.teams.microsoft.com/policies/manage-apps/";

/// The simulated admin center page's path on a simulator's page host (`sim/admin_center.rs`).
pub const SIMULATED_ADMIN_CENTER: &str = "teams-admin/manage-apps/";

impl Endpoints {
    /// Microsoft's hosts in `cloud`, trusting the OS store.
    pub fn microsoft(cloud: Cloud) -> Self {
        Self {
            login_url: cloud.login_url().to_owned(),
            browser_login_url: None,
            graph_url: Some(cloud.graph_url().to_owned()),
            discovery_url: None,
            teams_admin_url: cloud.teams_admin_url().map(str::to_owned),
            graph_resource: cloud.graph_resource().to_owned(),
            trust: Trust::System,
            teams_admin_center: TEAMS_ADMIN_CENTER.to_owned(),
        }
    }
}

/// Graph permissions as scopes of the Graph `resource` of the tenant's cloud.
fn graph_scopes(names: &[&str], resource: &str) -> Vec<String> {
    names.iter().map(|name| format!("{resource}/{name}")).collect()
}

fn with_slash(s: &str) -> String {
    if s.ends_with('/') { s.to_owned() } else { format!("{s}/") }
}

/// How a loopback redirect URI from the profile is caught: host and path.
fn loopback(uri: &str) -> Option<(String, String)> {
    let u = url::Url::parse(uri).ok()?;
    match (u.scheme(), u.host_str()) {
        ("http", Some(host @ ("localhost" | "127.0.0.1"))) => Some((host.to_owned(), u.path().to_owned())),
        _ => None,
    }
}

/// The shell's environment for `profile` at `endpoints`, signing in to `tenant` (or `organizations`).
pub fn environment(profile: &Profile, endpoints: &Endpoints, tenant: Option<&str>) -> Environment {
    let login = with_slash(&endpoints.login_url);
    let tenant = tenant.unwrap_or("organizations");
    let browser = endpoints.browser_login_url.as_deref().map(with_slash);
    let consent_redirect = match loopback(&profile.consent_redirect_uri) {
        Some((host, path)) => ConsentRedirectTo::Loopback { host, path },
        None => ConsentRedirectTo::External { uri: profile.consent_redirect_uri.clone() },
    };
    Environment {
        product: profile.vendor_name.clone(),
        discovery_url: endpoints
            .discovery_url
            .clone()
            .unwrap_or_else(|| format!("{login}{tenant}/v2.0/.well-known/openid-configuration")),
        browser_origin: browser.as_ref().map(|b| (origin(&login), origin(b))),
        login_browser_base: browser.unwrap_or_else(|| login.clone()),
        graph_base: endpoints.graph_url.as_deref().map(with_slash),
        trust: endpoints.trust.clone(),
        signin_client_id: profile.signin_client_id.clone(),
        sign_in_scopes: SIGN_IN_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        tenant_read_scopes: graph_scopes(TENANT_READ_SCOPES, &endpoints.graph_resource),
        graph_resource: endpoints.graph_resource.clone(),
        redirect_host: "localhost".to_owned(),
        // `select_account` is Microsoft's; an explicitly given OpenID provider may not offer it.
        sign_in_prompt: endpoints.discovery_url.is_none().then(|| "select_account".to_owned()),
        consent_client_id: profile.consent_client_id.clone(),
        consent_endpoint: match profile.consent_endpoint {
            ConsentEndpointChoice::V2 => ConsentEndpoint::V2,
            ConsentEndpointChoice::V1 => ConsentEndpoint::V1,
        },
        consent_redirect,
        teams_setup_scopes: graph_scopes(TEAMS_SETUP_SCOPES, &endpoints.graph_resource),
        teams_admin_scopes: TEAMS_ADMIN_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        // What the later steps need, asked at sign-in so the happy path visits the browser twice (sign-in, the
        // vendor's consent); only with Microsoft Graph (an explicitly given OpenID provider has none).
        up_front_scopes: if endpoints.graph_url.is_some() {
            graph_scopes(TENANT_READ_SCOPES, &endpoints.graph_resource)
                .into_iter()
                .chain(graph_scopes(TEAMS_SETUP_SCOPES, &endpoints.graph_resource))
                .collect()
        } else {
            Vec::new()
        },
        partner_scopes: graph_scopes(crate::shell::PARTNER_SCOPES, &endpoints.graph_resource),
        sign_in_extra_consent: if endpoints.teams_admin_url.is_some() {
            TEAMS_ADMIN_SCOPES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            Vec::new()
        },
        teams_admin_center: endpoints.teams_admin_center.clone(),
        teams_admin_base: endpoints.teams_admin_url.as_deref().map(with_slash),
        teams_manifest_id: profile.teams_app.store_id.clone(),
        teams_package: PackageSource::from_profile(&profile.teams_app.package, profile.folder.as_deref()),
        state_dir: None,
        network: crate::shell::NetworkTuning::default(),
    }
}

/// `https://host:port` of a URL.
fn origin(url: &str) -> String {
    url::Url::parse(url).map_or_else(|_| url.trim_end_matches('/').to_owned(), |u| u.origin().ascii_serialization())
}

/// The wizard's settings for `profile` in `env`.
pub fn settings(profile: &Profile, env: &Environment, tenant_hint: Option<&str>) -> Settings {
    Settings {
        vendor_name: profile.vendor_name.clone(),
        tenant_hint: tenant_hint.map(str::to_owned),
        login_browser_base: env.login_browser_base.clone(),
        graph_resource: env.graph_resource.clone(),
        consent_client_id: profile.consent_client_id.clone(),
        consent_endpoint: env.consent_endpoint,
        consent_redirect: match &env.consent_redirect {
            ConsentRedirectTo::Loopback { .. } => ConsentRedirect::Loopback,
            ConsentRedirectTo::External { uri } => ConsentRedirect::External { url: uri.clone() },
        },
        consent_redirect_uri: profile.consent_redirect_uri.clone(),
        permissions: profile
            .permissions
            .iter()
            .map(|p| PermissionView {
                resource: p.resource,
                kind: p.kind,
                name: p.name.clone(),
                reason: p.reason.clone(),
            })
            .collect(),
        teams_app_name: profile.teams_app.display_name.clone(),
        teams_admin_center: env.teams_admin_center.clone(),
        timing: Timing::default(),
    }
}

/// The saved progress, in the state folder.
pub const PROGRESS_FILE: &str = "progress.json";
/// The progress file's format; a file with another number is set aside, not misread.
pub const PROGRESS_SCHEMA: u32 = 1;

/// The progress file: whose setup it is (`endpoint`: the identity provider and the vendor's app), when it was
/// saved, and the wizard's [`Progress`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ProgressFile {
    schema: u32,
    endpoint: String,
    saved_unix: u64,
    progress: Progress,
}

/// Which setup a progress file belongs to: the identity provider people sign in at and the vendor's app.
pub fn progress_endpoint(settings: &Settings) -> String {
    format!("{} {}", settings.login_browser_base, settings.consent_client_id)
}

/// What the state folder held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedProgress {
    /// Nothing to resume (no file, or another setup's).
    None,
    Found(Progress),
    /// The file could not be used (corrupt, or from a newer version): it was moved aside; the message says where.
    SetAside(String),
}

/// Reads the saved progress of the setup `endpoint` names. A file that cannot be used is renamed (never deleted,
/// never fatal) so support can look at it, and the setup starts from the beginning.
pub fn load_progress(state_dir: &std::path::Path, endpoint: &str, now_unix: u64) -> SavedProgress {
    let path = state_dir.join(PROGRESS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SavedProgress::None,
        Err(e) => {
            return SavedProgress::SetAside(format!(
                "The saved progress ({}) could not be read: {e}. The setup starts from the beginning.",
                path.display()
            ));
        }
    };
    let problem = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(e) => format!("it is not valid JSON ({e})"),
        Ok(v) => match v.get("schema").and_then(serde_json::Value::as_u64) {
            Some(n) if n == u64::from(PROGRESS_SCHEMA) => match serde_json::from_value::<ProgressFile>(v) {
                Ok(file) if file.endpoint == endpoint => return SavedProgress::Found(file.progress),
                Ok(_) => return SavedProgress::None,
                Err(e) => format!("it does not have the expected fields ({e})"),
            },
            Some(n) if n > u64::from(PROGRESS_SCHEMA) => {
                format!("a newer version of the setup tool saved it (format {n})")
            }
            Some(n) => format!("an older format ({n})"),
            None => "it has no format number".to_owned(),
        },
    };
    let aside = state_dir.join(format!("{PROGRESS_FILE}.set-aside-{now_unix}"));
    let moved = match std::fs::rename(&path, &aside) {
        Ok(()) => format!("it was moved to {}", aside.display()),
        Err(e) => format!("it could not be moved aside ({e}) and will be replaced"),
    };
    SavedProgress::SetAside(format!(
        "The saved progress could not be used: {problem}; {moved}. The setup starts from the beginning; what was done in the tenant is found again as you go."
    ))
}

/// Keeps the wizard's progress in the state folder after every transition that changes it.
#[derive(Debug)]
struct ProgressKeeper {
    endpoint: String,
    last: Option<Progress>,
}

/// A wizard and the shell that carries out its effects; what the admin saw goes into the shell's journal.
#[derive(Debug)]
pub struct Driver {
    pub wizard: Wizard,
    /// Step statuses and failures already journaled.
    seen_status: Vec<(StepId, StepStatus)>,
    seen_failures: Vec<(StepId, Failure)>,
    progress: Option<ProgressKeeper>,
}

impl Driver {
    pub fn new(wizard: Wizard) -> Self {
        Self { wizard, seen_status: Vec::new(), seen_failures: Vec::new(), progress: None }
    }

    /// Saves the wizard's progress ([`PROGRESS_FILE`]) whenever it changes, for [`load_progress`] after a restart.
    /// Not for a demo tenant that lives only as long as the process.
    #[must_use]
    pub fn keeping_progress(mut self, endpoint: String) -> Self {
        self.progress = Some(ProgressKeeper { endpoint, last: None });
        self
    }

    /// Feeds one person's intent.
    pub fn dispatch(&mut self, shell: &Shell, intent: Intent) {
        shell.journal().push(What::Intent { intent: format!("{intent:?}") });
        let effects = self.wizard.update(Event::User(intent), shell.clock().now());
        self.observe(shell);
        run_all(shell, effects);
    }

    /// Applies a report from the shell; returns reports that are not the wizard's (demo tenant, storage).
    pub fn apply(&mut self, shell: &Shell, report: Report) -> Option<Report> {
        match report {
            Report::Wizard(outcome) => {
                let effects = self.wizard.update(Event::Done(outcome), shell.clock().now());
                self.observe(shell);
                run_all(shell, effects);
                None
            }
            other => Some(other),
        }
    }

    /// Lets time pass: deadlines, polls and backoff.
    pub fn tick(&mut self, shell: &Shell) {
        let effects = self.wizard.update(Event::Tick, shell.clock().now());
        self.observe(shell);
        run_all(shell, effects);
    }

    /// Journals step statuses that changed and failures not journaled yet.
    fn observe(&mut self, shell: &Shell) {
        let journal = shell.journal();
        for step in StepId::ALL {
            let status = self.wizard.status(step);
            // Every step starts "not started"; only changes from there are worth a line.
            let old = self.seen_status.iter().find(|(s, _)| *s == step).map_or(StepStatus::NotStarted, |(_, o)| *o);
            if old != status {
                self.seen_status.retain(|(s, _)| *s != step);
                self.seen_status.push((step, status));
                journal.push(What::Step { step, status });
            }
        }
        for (step, failure) in self.wizard.failures() {
            if !self.seen_failures.iter().any(|(s, f)| *s == step && *f == failure) {
                journal.push(What::Failure { step, code: failure.code(), failure: sanitized(&failure) });
                self.seen_failures.push((step, failure));
            }
        }
        if let Some(keeper) = &mut self.progress {
            let now = self.wizard.progress();
            if now.is_some() && now != keeper.last {
                let file = now.clone().map(|progress| ProgressFile {
                    schema: PROGRESS_SCHEMA,
                    endpoint: keeper.endpoint.clone(),
                    saved_unix: shell.clock().unix_seconds(),
                    progress,
                });
                match serde_json::to_vec_pretty(&file) {
                    Ok(bytes) => shell.keep_state_file(PROGRESS_FILE, bytes),
                    Err(e) => tracing::warn!("could not serialize the progress: {e}"),
                }
                keeper.last = now;
            }
        }
    }

    /// How long until the wizard next needs a tick, if it is waiting on time.
    pub fn time_to_next_deadline(&self, shell: &Shell) -> Option<std::time::Duration> {
        self.wizard.next_deadline().map(|d| shell.clock().now().until(d))
    }
}

/// A failure with its free text sanitized (no tokens; identifiers kept until export hides them).
fn sanitized(failure: &Failure) -> Failure {
    crate::diagnostics::bundle::sanitize_failure(failure, &crate::diagnostics::sanitize::Redactor::new(false))
}

fn run_all(shell: &Shell, effects: Vec<Effect>) {
    for effect in effects {
        shell.run(effect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("mspbots-progress-{name}-{}", std::process::id()));
        let _fresh = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn file(endpoint: &str, schema: u32) -> String {
        format!(
            r#"{{"schema":{schema},"endpoint":"{endpoint}","saved_unix":1,"progress":{{"tenant_id":"t","account":"a@b.c","reached":"teams_app","consent_granted":true}}}}"#
        )
    }

    #[test]
    fn saved_progress_is_found_for_its_own_setup_only() {
        let d = dir("found");
        assert_eq!(load_progress(&d, "e", 9), SavedProgress::None, "no file");
        std::fs::write(d.join(PROGRESS_FILE), file("e", PROGRESS_SCHEMA)).unwrap();
        let SavedProgress::Found(p) = load_progress(&d, "e", 9) else { panic!("not found") };
        assert_eq!((p.tenant_id.as_str(), p.reached, p.consent_granted), ("t", StepId::TeamsApp, true));
        assert_eq!(load_progress(&d, "another", 9), SavedProgress::None, "another provider's or app's setup");
        assert!(d.join(PROGRESS_FILE).exists(), "kept for its own setup");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_corrupt_or_newer_progress_file_is_set_aside_with_a_message() {
        for (name, text, says) in [
            ("corrupt", "{\"schema\": 1, \"endpoint\": ".to_owned(), "not valid JSON"),
            ("newer", file("e", PROGRESS_SCHEMA + 1), "a newer version of the setup tool"),
            ("fields", "{\"schema\":1,\"endpoint\":\"e\"}".to_owned(), "expected fields"),
        ] {
            let d = dir(name);
            std::fs::write(d.join(PROGRESS_FILE), &text).unwrap();
            let SavedProgress::SetAside(message) = load_progress(&d, "e", 42) else { panic!("{name}: not set aside") };
            assert!(message.contains(says) && message.contains("starts from the beginning"), "{name}: {message}");
            assert!(!d.join(PROGRESS_FILE).exists(), "{name}: moved out of the way");
            assert_eq!(std::fs::read_to_string(d.join(format!("{PROGRESS_FILE}.set-aside-42"))).unwrap(), text);
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}
