//! The diagnostics bundle: what support needs to understand, and replay, what an admin saw. One JSON document with
//! a versioned schema (the environment, each step's outcome and explanation, the failures, the timeline), and a
//! human-readable HTML report beside it. Built from the wizard's state and the journal, through the one sanitizer;
//! "hide customer details" masks tenant ids, GUIDs, names, UPNs and domains.

use serde::{Deserialize, Serialize};

use super::journal::{Entry, What};
use super::sanitize::Redactor;
use super::{Catalogue, Who};
use crate::wizard::{Failure, LocalFailure, StepId, StepStatus, Wizard};

/// The bundle format's version; a reader refuses others with a clear message.
pub const SCHEMA: u32 = 1;

/// Where the session ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub app_version: String,
    pub os: String,
    pub arch: String,
    /// Seconds since 1970 when the bundle was made.
    pub created_unix: u64,
    pub vendor: String,
    pub profile: String,
    pub cloud: String,
    /// Demo mode: the simulated scenario's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo_scenario: Option<String>,
}

impl Environment {
    /// This build on this machine, running `profile` (in demo mode: `demo_scenario`), at `created_unix`.
    pub fn here(profile: &crate::profile::Profile, demo_scenario: Option<String>, created_unix: u64) -> Self {
        Self {
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            created_unix,
            vendor: profile.vendor_name.clone(),
            profile: profile.source.clone(),
            cloud: format!("{:?}", profile.cloud).to_lowercase(),
            demo_scenario,
        }
    }
}

/// Who signed in (masked when hiding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub display_name: String,
    pub upn: String,
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub tenant_domain: Option<String>,
    /// Entra role names (not customer data); `None` when they could not be read.
    pub roles: Option<Vec<String>>,
}

/// One customer of a partner's board as the partner saw it (names masked when hiding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRecord {
    pub tenant_id: String,
    pub name: String,
    /// Graph's relationship status (`active`, `approvalPending`, …), if there is a relationship.
    pub relationship_status: Option<String>,
    /// The row's state (`ready`, `not_in_group`, …) and next action (`set_up`, `join_group`, …).
    pub state: String,
    pub next_action: String,
}

/// One step's outcome as the admin saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: StepId,
    pub status: StepStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<Who>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<String>,
}

/// The bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub schema: u32,
    pub hide_customer: bool,
    pub environment: Environment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountRecord>,
    pub steps: Vec<StepRecord>,
    /// Every failure the admin was shown, in order, with its step.
    pub failures: Vec<(StepId, Failure)>,
    pub timeline: Vec<Entry>,
    /// A partner session's board: one record per customer (empty in a one-organization session).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<CustomerRecord>,
    /// How many older entries the session's journal dropped before `timeline`'s first (it keeps the newest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_entries: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a bundle takes from the wizard: each step's status, the failures shown now, the account. Small and cheap
/// to take on the UI thread; [`Bundle::from_record`] does the rest elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WizardRecord {
    pub statuses: Vec<(StepId, StepStatus)>,
    pub failures: Vec<(StepId, Failure)>,
    pub account: Option<AccountRecord>,
    pub customers: Vec<CustomerRecord>,
}

impl WizardRecord {
    pub fn of(wizard: &Wizard) -> Self {
        let account = wizard.account().map(|a| AccountRecord {
            display_name: a.display_name.clone(),
            upn: a.upn.clone(),
            tenant_id: a.tenant_id.clone(),
            tenant_name: a.tenant_name.clone(),
            tenant_domain: a.tenant_domain.clone(),
            roles: match &a.roles {
                crate::wizard::Roles::Known { names } => Some(names.clone()),
                crate::wizard::Roles::Unknown { .. } => None,
            },
        });
        Self {
            statuses: StepId::ALL.iter().map(|step| (*step, wizard.status(*step))).collect(),
            failures: wizard.failures(),
            account,
            customers: customers_of(wizard),
        }
    }
}

/// The board's rows of a partner session, as records.
fn customers_of(wizard: &Wizard) -> Vec<CustomerRecord> {
    let Some(data) = wizard.board().data() else { return Vec::new() };
    let name = |v: serde_json::Value| v.as_str().map(str::to_owned);
    crate::wizard::board::rows(data)
        .into_iter()
        .map(|row| CustomerRecord {
            relationship_status: row.relationship_status.and_then(|s| serde_json::to_value(s).ok()).and_then(name),
            state: serde_json::to_value(&row.state)
                .ok()
                .and_then(|v| v.get("state").cloned())
                .and_then(name)
                .unwrap_or_default(),
            next_action: crate::present::customer_next_action(
                &row,
                wizard.customer_checks().by_tenant.get(&row.tenant_id),
                "",
            )
            .code
            .to_owned(),
            tenant_id: row.tenant_id,
            name: row.name,
        })
        .collect()
}

/// Why a bundle cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read {path}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a diagnostics bundle of this setup tool (it is not JSON of the bundle's shape: {detail})")]
    Corrupt { path: std::path::PathBuf, detail: String },
    #[error("{path} is a bundle of schema {found}, and this setup tool reads schema {SCHEMA}: open it with {hint}")]
    Schema { path: std::path::PathBuf, found: u64, hint: &'static str },
}

/// A failure with every free-text field through the sanitizer; Microsoft's ids (trace, correlation, request) kept.
pub fn sanitize_failure(failure: &Failure, r: &Redactor) -> Failure {
    match failure {
        Failure::Identity(e) => {
            let mut e = e.clone();
            e.description = e.description.as_deref().map(|d| r.prose(d));
            e.error_uri = e.error_uri.as_deref().map(|u| r.url(u));
            Failure::Identity(e)
        }
        Failure::Graph(e) => {
            let said = failure.teams_refusal_said().map(|(words, _)| words);
            let mut e = e.clone();
            e.message = r.prose(&e.message);
            // Microsoft's fixed words that say why a Teams action was refused stay (the catalogue and a replay read
            // them; they name no customer).
            if let Some(words) = said.filter(|w| !e.message.to_lowercase().contains(w)) {
                e.message = format!("{} ({words})", e.message);
            }
            e.operation = r.text(&e.operation);
            Failure::Graph(e)
        }
        Failure::Transport(t) => {
            let mut t = t.clone();
            t.detail = r.text(&t.detail);
            Failure::Transport(t)
        }
        Failure::Parse { what, excerpt } => Failure::Parse { what: r.text(what), excerpt: r.prose(excerpt) },
        Failure::Local(LocalFailure::PolicyShapeUnknown { detail }) => {
            Failure::Local(LocalFailure::PolicyShapeUnknown { detail: r.text(detail) })
        }
        Failure::Local(LocalFailure::NoBrowser { detail }) => {
            Failure::Local(LocalFailure::NoBrowser { detail: r.text(detail) })
        }
        Failure::Local(LocalFailure::ListenerUnavailable { detail }) => {
            Failure::Local(LocalFailure::ListenerUnavailable { detail: r.text(detail) })
        }
        Failure::Local(LocalFailure::TokenMismatch { detail }) => {
            Failure::Local(LocalFailure::TokenMismatch { detail: r.text(detail) })
        }
        other => other.clone(),
    }
}

fn sanitize_entry(entry: &Entry, r: &Redactor) -> Entry {
    let what = match &entry.what {
        What::Http(h) => {
            let mut h = h.clone();
            h.url = r.url(&h.url);
            What::Http(h)
        }
        What::Failure { step, code, failure } => {
            What::Failure { step: *step, code: code.clone(), failure: sanitize_failure(failure, r) }
        }
        other => other.clone(),
    };
    Entry { at_ms: entry.at_ms, what }
}

impl Bundle {
    /// The bundle of `wizard` and what its session's journal holds, sanitized (identifiers kept).
    pub fn build(wizard: &Wizard, journal: &super::journal::Snapshot, environment: Environment) -> Self {
        Self::from_record(&WizardRecord::of(wizard), journal, environment)
    }

    /// The bundle of a [`WizardRecord`] and a journal snapshot: the heavy part (sanitizing every entry), which
    /// the window runs off its UI thread.
    pub fn from_record(record: &WizardRecord, journal: &super::journal::Snapshot, environment: Environment) -> Self {
        let timeline = journal.entries.as_slice();
        let r = Redactor::new(false);
        let vendor = environment.vendor.clone();
        let failures: Vec<(StepId, Failure)> = timeline
            .iter()
            .filter_map(|e| match &e.what {
                What::Failure { step, failure, .. } => Some((*step, failure.clone())),
                _ => None,
            })
            .collect();
        let steps = record
            .statuses
            .iter()
            .map(|(step, status)| {
                let failure =
                    record.failures.iter().rev().find(|(s, _)| s == step).map(|(_, f)| sanitize_failure(f, &r));
                let e = failure.as_ref().map(|f| Catalogue::shipped().explain(f, &vendor));
                StepRecord {
                    step: *step,
                    status: *status,
                    code: e.as_ref().map(|e| e.code.clone()),
                    summary: e.as_ref().map(|e| e.summary.clone()),
                    who: e.as_ref().map(|e| e.who),
                    fix: e.map(|e| e.fix).unwrap_or_default(),
                }
            })
            .collect();
        Self {
            schema: SCHEMA,
            hide_customer: false,
            environment,
            account: record.account.clone(),
            steps,
            failures: failures.iter().map(|(s, f)| (*s, sanitize_failure(f, &r))).collect(),
            timeline: timeline.iter().map(|e| sanitize_entry(e, &r)).collect(),
            customers: record.customers.clone(),
            dropped_entries: journal.dropped,
        }
    }

    /// The same bundle with customer details hidden: tenant ids and GUIDs cut to their last segment, names, UPNs
    /// and domains masked, everywhere they appear.
    pub fn hidden(&self) -> Self {
        let mut r = Redactor::new(true);
        if let Some(a) = &self.account {
            r.learn(&a.display_name);
            for part in a.display_name.split_whitespace() {
                r.learn(part);
            }
            r.learn(&a.upn);
            for w in [a.tenant_name.as_deref(), a.tenant_domain.as_deref()].into_iter().flatten() {
                r.learn(w);
            }
            if let Some(d) = a.upn.split('@').nth(1) {
                r.learn(d);
            }
        }
        // Customers' names are customer details too, wherever they appear.
        for c in &self.customers {
            r.learn(&c.name);
        }
        let customers = self
            .customers
            .iter()
            .map(|c| CustomerRecord { tenant_id: r.id(&c.tenant_id), name: r.text(&c.name), ..c.clone() })
            .collect();
        let account = self.account.as_ref().map(|a| AccountRecord {
            display_name: r.text(&a.display_name),
            upn: r.id(&a.upn),
            tenant_id: r.id(&a.tenant_id),
            tenant_name: a.tenant_name.as_deref().map(|n| r.text(n)),
            tenant_domain: a.tenant_domain.as_deref().map(|d| r.text(d)),
            roles: a.roles.clone(),
        });
        let mut steps = self.steps.clone();
        for s in &mut steps {
            s.summary = s.summary.as_deref().map(|t| r.text(t));
            s.fix = s.fix.iter().map(|f| r.text(f)).collect();
        }
        Self {
            schema: self.schema,
            hide_customer: true,
            environment: Environment { profile: r.text(&self.environment.profile), ..self.environment.clone() },
            account,
            steps,
            failures: self.failures.iter().map(|(s, f)| (*s, sanitize_failure(f, &r))).collect(),
            timeline: self.timeline.iter().map(|e| sanitize_entry(e, &r)).collect(),
            customers,
            dropped_entries: self.dropped_entries,
        }
    }

    /// Reads a bundle, refusing another schema or a corrupt file with a clear message.
    pub fn load(path: &std::path::Path) -> Result<Self, BundleError> {
        let bytes = std::fs::read(path).map_err(|source| BundleError::Read { path: path.to_owned(), source })?;
        Self::from_slice(&bytes, path)
    }

    /// Reads a bundle's bytes; `path` only names it in errors.
    pub fn from_slice(bytes: &[u8], path: &std::path::Path) -> Result<Self, BundleError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| BundleError::Corrupt { path: path.to_owned(), detail: e.to_string() })?;
        match value.get("schema").and_then(serde_json::Value::as_u64) {
            Some(s) if s == u64::from(SCHEMA) => {}
            Some(found) => {
                let hint = if found > u64::from(SCHEMA) {
                    "a newer version of the setup tool"
                } else {
                    "the version that made it"
                };
                return Err(BundleError::Schema { path: path.to_owned(), found, hint });
            }
            None => return Err(BundleError::Corrupt { path: path.to_owned(), detail: "no schema number".into() }),
        }
        serde_json::from_value(value).map_err(|e| BundleError::Corrupt { path: path.to_owned(), detail: e.to_string() })
    }

    /// The step the admin reached last, and what stopped it there, if anything did.
    pub fn stopped_at(&self) -> Option<&StepRecord> {
        self.steps.iter().rev().find(|s| s.status != StepStatus::NotStarted)
    }

    /// The human-readable report.
    pub fn html(&self) -> String {
        super::report::html(self)
    }

    /// Writes the bundle as JSON to `path` and its report beside it (`.html`).
    pub fn write_with_report(&self, path: &std::path::Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json)?;
        std::fs::write(path.with_extension("html"), self.html())
    }
}

/// The last session's bundle in the state folder, kept for `diagnostics export`.
pub const LAST_SESSION: &str = "last-session.json";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::{GraphError, IdentityError};

    #[test]
    fn a_bundle_says_how_many_old_entries_the_journal_dropped() {
        let wizard = Wizard::new(crate::wizard::tests::settings(crate::wizard::ConsentRedirect::Loopback));
        let profile = crate::profile::Profile::shipped().unwrap();
        let snapshot = super::super::journal::Snapshot { entries: Vec::new(), dropped: 7 };
        let bundle = Bundle::build(&wizard, &snapshot, Environment::here(&profile, None, 0));
        assert_eq!((bundle.dropped_entries, bundle.hidden().dropped_entries), (7, 7));
        assert!(bundle.html().contains("its 7 oldest entries were dropped"));
        let json = serde_json::to_vec(&bundle).unwrap();
        assert_eq!(Bundle::from_slice(&json, std::path::Path::new("b.json")).unwrap().dropped_entries, 7);
        let none = Bundle::build(&wizard, &super::super::journal::Snapshot::default(), bundle.environment.clone());
        assert!(!serde_json::to_string(&none).unwrap().contains("dropped_entries"), "absent when nothing dropped");
    }

    #[test]
    fn failures_lose_tokens_always_and_people_when_hidden() {
        let f = Failure::Identity(IdentityError {
            error: "invalid_grant".into(),
            error_codes: vec![50020],
            description: Some("AADSTS50020: User account 'nestor.wilke@fabrikam.com' from identity provider is not in tenant 7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47. code eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".into()),
            trace_id: Some("0a1b2c3d-0000-4000-8000-000000000001".into()),
            source: "sign-in redirect".into(),
            ..Default::default()
        });
        let plain = sanitize_failure(&f, &Redactor::new(false));
        let Failure::Identity(p) = &plain else { unreachable!() };
        let d = p.description.as_deref().unwrap();
        assert!(d.contains("nestor.wilke@fabrikam.com") && !d.contains("eyJ"), "{d}");
        let hidden = sanitize_failure(&f, &Redactor::new(true));
        let Failure::Identity(h) = &hidden else { unreachable!() };
        let d = h.description.as_deref().unwrap();
        assert!(!d.contains("nestor") && !d.contains("7c1f3a52"), "{d}");
        assert_eq!(h.trace_id, p.trace_id, "Microsoft's ids are kept for its support");
        let g = Failure::Graph(GraphError {
            status: 403,
            code: "Forbidden".into(),
            operation: "POST /v1.0/users/adele.vance@contoso.com/teamwork/installedApps".into(),
            ..Default::default()
        });
        let Failure::Graph(gh) = sanitize_failure(&g, &Redactor::new(true)) else { unreachable!() };
        assert_eq!(gh.operation, "POST /v1.0/users/ade…com/teamwork/installedApps");
    }
}
