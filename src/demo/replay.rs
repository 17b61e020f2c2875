//! Reproduce mode: a simulated tenant configured from a diagnostics bundle, so the wizard meets the same failures at
//! the same steps. Each failure the admin was shown becomes what the simulator needs to answer the same way: a
//! fault with the same AADSTS code on the same endpoint, a Graph or Teams admin API error on the same path, missing
//! permissions, a Teams setting; the account's roles pick a demo account with the same roles. What cannot be
//! replayed (a DNS failure on the admin's network, a browser left open) is listed, not guessed.

use serde::Serialize;

use crate::diagnostics::bundle::Bundle;
use crate::diagnostics::journal::What;
use crate::sim::Scenario;
use crate::sim::scenario::{self, FaultSpec, ScenarioError};
use crate::sim::teams::{Availability, Management, NewPolicyInstalls, OrgAppSpec, PolicyApi};
use crate::wizard::{Failure, LocalFailure, TeamsRefusal};

/// A scenario made from a bundle, the account to sign in as, and what was derived from what.
#[derive(Debug, Clone, Serialize)]
pub struct Reproduction {
    #[serde(skip)]
    pub scenario: Scenario,
    pub account: String,
    /// One line per decision, for the person replaying.
    pub notes: Vec<String>,
}

/// The demo account whose roles match the bundle's (the happy scenario's accounts).
fn account_for(roles: Option<&[String]>) -> (&'static str, String) {
    let has = |r: &str| roles.is_some_and(|rs| rs.iter().any(|x| x.eq_ignore_ascii_case(r)));
    match roles {
        None => ("adele.vance@contoso.com", "roles unknown: signing in as the demo Global Administrator".to_owned()),
        Some(_) if has("Global Administrator") => {
            ("adele.vance@contoso.com", "Global Administrator: Adele Vance".to_owned())
        }
        Some(_) if has("Privileged Role Administrator") => {
            ("patti.fernandez@contoso.com", "Privileged Role Administrator: Patti Fernandez".to_owned())
        }
        Some(_) if has("Cloud Application Administrator") || has("Application Administrator") => {
            ("lee.gu@contoso.com", "Cloud Application Administrator: Lee Gu".to_owned())
        }
        Some(_) if has("Teams Administrator") => {
            ("megan.bowen@contoso.com", "Teams Administrator: Megan Bowen".to_owned())
        }
        Some(_) => ("alex.wilber@contoso.com", "no admin role: Alex Wilber".to_owned()),
    }
}

/// The path a fault should match for an operation such as `POST /v1.0/users/{id}/teamwork/installedApps`: the
/// path up to the first segment that names an object (an id or a UPN), or the whole path.
fn path_prefix(operation: &str) -> (Option<String>, String) {
    let (method, path) = operation.split_once(' ').map_or((None, operation), |(m, p)| (Some(m.to_owned()), p));
    let path = path.split('?').next().unwrap_or(path);
    let mut kept = Vec::new();
    for seg in path.split('/') {
        let object = seg.contains('@')
            || seg.contains('…')
            || (seg.len() >= 32 && seg.chars().filter(|c| *c == '-').count() == 4);
        if object {
            kept.push(String::new());
            break;
        }
        kept.push(seg.to_owned());
    }
    (method, kept.join("/"))
}

/// Which endpoint (and grant) an identity failure came from.
fn identity_endpoint(source: &str, code: u32) -> (&'static str, Option<&'static str>) {
    let s = source.to_ascii_lowercase();
    if s.contains("consent") {
        ("adminconsent", None)
    } else if s.contains("device") {
        ("devicecode", None)
    } else if s.contains("token") {
        // Expired or revoked sessions fail on refresh; everything else on the code's redemption.
        let refresh = matches!(code, 700_082 | 50_173 | 70_043 | 700_084 | 50_078);
        ("token", Some(if refresh { "refresh_token" } else { "authorization_code" }))
    } else {
        ("authorize", None)
    }
}

fn add_fault(s: &mut Scenario, fault: FaultSpec, notes: &mut Vec<String>, why: String) {
    let same = s.faults.iter().any(|f| {
        f.endpoint == fault.endpoint
            && f.aadsts == fault.aadsts
            && f.path == fault.path
            && f.method == fault.method
            && f.status == fault.status
            && f.grant_type == fault.grant_type
    });
    if !same {
        s.faults.push(fault);
        notes.push(why);
    }
}

/// The simulator endpoint that serves `path`: the Teams admin API's policies, or Graph.
fn endpoint_of(path: &str) -> &'static str {
    if path.contains("Skype.Policy") { "teams-admin" } else { "graph" }
}

/// Derives the scenario. Fails only if the compiled-in base scenario is broken.
pub fn reproduce(bundle: &Bundle) -> Result<Reproduction, ScenarioError> {
    let mut s = scenario::load("happy")?;
    s.name = "reproduce".into();
    s.summary = format!(
        "Replaying a diagnostics bundle{}",
        bundle
            .environment
            .demo_scenario
            .as_deref()
            .map_or(String::new(), |d| format!(" (made in demo scenario '{d}')"))
    );
    s.existing_consent.clear();
    let mut notes = Vec::new();
    let (account, why) = account_for(bundle.account.as_ref().and_then(|a| a.roles.as_deref()));
    s.default_account = account.to_owned();
    notes.push(format!("Signing in as {why}"));

    // The sign-in ended signed in: a refused approval on the way (the setup tool's own permissions asked up front,
    // then a sign-in without them) is the account's lack of an admin role, which the replay's account has too.
    let signed_in = bundle
        .steps
        .iter()
        .any(|s| s.step == crate::wizard::StepId::SignIn && s.status == crate::wizard::StepStatus::Done);
    for (step, failure) in &bundle.failures {
        let at = step.title();
        // Approving the setup tool's own access is a normal part of the run, which the simulator asks for too.
        if failure.is_consent_required() {
            continue;
        }
        if signed_in && *step == crate::wizard::StepId::SignIn && failure.is_approval_refused() {
            notes.push(format!(
                "{at}: {} refused the permissions asked up front; the account's roles replay it",
                failure.code()
            ));
            continue;
        }
        match failure {
            Failure::Identity(e) => {
                let Some(code) = e.error_codes.first().copied() else {
                    notes.push(format!("{at}: '{}' has no AADSTS code to replay", e.error));
                    continue;
                };
                let (endpoint, grant) = identity_endpoint(&e.source, code);
                let fault = FaultSpec {
                    endpoint: endpoint.into(),
                    aadsts: Some(code),
                    error: Some(e.error.clone()).filter(|x| !x.is_empty()),
                    suberror: e.suberror.clone(),
                    grant_type: grant.map(str::to_owned),
                    ..FaultSpec::default()
                };
                add_fault(&mut s, fault, &mut notes, format!("{at}: AADSTS{code} on the {endpoint} endpoint"));
            }
            Failure::Graph(e) => graph_failure(&mut s, e, failure, at, &mut notes),
            Failure::Local(LocalFailure::PermissionsStillMissing { names, .. }) => {
                s.consent.withheld.clone_from(names);
                s.consent.withheld_consents = 0;
                notes.push(format!("{at}: consent leaves out {}", names.join(", ")));
            }
            Failure::Local(LocalFailure::ReplicationTimedOut { .. }) => {
                s.consent.replication_delay_secs = 3600.0;
                notes.push(format!("{at}: consent never shows in the tenant"));
            }
            Failure::Local(LocalFailure::PolicyShapeUnknown { .. }) => {
                s.teams.policy_api = PolicyApi::UnexpectedShape;
                notes.push(format!("{at}: the Teams admin API answers in an unknown shape"));
            }
            Failure::Local(LocalFailure::TeamsAppBlocked { code }) => match code.as_str() {
                "teams_government_cloud" => {
                    s.teams.cloud = "gcc-high".into();
                    notes.push(format!("{at}: a GCC High tenant"));
                }
                "teams_app_waiting_for_review" | "teams_app_rejected" => {
                    let state = if code.ends_with("review") { "submitted" } else { "rejected" };
                    s.teams.in_store = false;
                    s.teams.org_app = Some(OrgAppSpec { version: s.teams.app_version.clone(), state: state.into() });
                    notes.push(format!("{at}: the uploaded app is {state}"));
                }
                other => notes.push(format!("{at}: '{other}' depends on the vendor profile; not replayed")),
            },
            other => notes.push(format!("{at}: {} happened on the admin's side and cannot be replayed", other.code())),
        }
    }
    replay_throttling(bundle, &mut s, &mut notes);
    Ok(Reproduction { scenario: s, account: account.to_owned(), notes })
}

/// Throttling Microsoft answered (and the wizard waited out), replayed where it happened: as many 429 or 503
/// answers per path and method, unless a failure already replays that status there.
fn replay_throttling(bundle: &Bundle, s: &mut Scenario, notes: &mut Vec<String>) {
    let mut throttled: std::collections::BTreeMap<(String, String, u16), u32> = std::collections::BTreeMap::new();
    for entry in &bundle.timeline {
        if let What::Http(h) = &entry.what
            && let Some(status @ (429 | 503)) = h.status
        {
            let path = url::Url::parse(&h.url).map(|u| u.path().to_owned()).unwrap_or_default();
            let (_, prefix) = path_prefix(&format!("{} {path}", h.method));
            *throttled.entry((prefix, h.method.clone(), status)).or_default() += 1;
        }
    }
    for ((path, method, status), count) in throttled {
        if s.faults.iter().any(|f| f.path.as_deref() == Some(path.as_str()) && f.status == Some(status)) {
            continue;
        }
        notes.push(format!("{count} × {status} on {method} {path}"));
        s.faults.push(FaultSpec {
            endpoint: endpoint_of(&path).into(),
            status: Some(status),
            path: Some(path),
            method: Some(method),
            retry_after_secs: Some(1.0),
            count: Some(count),
            ..FaultSpec::default()
        });
    }
}

/// What the tenant must do to answer like a Graph (or Teams admin API) failure of the bundle.
fn graph_failure(
    s: &mut Scenario,
    e: &crate::wizard::GraphError,
    failure: &Failure,
    at: &str,
    notes: &mut Vec<String>,
) {
    let (method, path) = path_prefix(&e.operation);
    if path.contains("Skype.Policy") && e.code == "40301" {
        s.teams.policy_api = PolicyApi::PartnerForbidden;
        notes.push(format!("{at}: the Teams admin API refuses partner access (40301)"));
        return;
    }
    // A Teams refusal told by its message is the tenant's state, set as such (a fault would answer
    // with other words).
    if let Some((said, refusal)) = failure.teams_refusal_said() {
        let done = match refusal {
            TeamsRefusal::Blocked if said.contains("tenant admin") => {
                s.teams.availability = Availability::Blocked;
                Some("the app is blocked in the Teams admin center")
            }
            TeamsRefusal::Blocked => {
                s.teams.third_party_apps = false;
                s.teams.custom_apps = false;
                Some("third-party and custom apps are not allowed")
            }
            TeamsRefusal::NotAvailable => {
                s.teams.availability = Availability::Some;
                s.teams.available_to = vec![s.default_account.clone()];
                Some("the app is available to the admin only")
            }
            TeamsRefusal::NoTeamsLicence => {
                let account = s.default_account.clone();
                for u in s.users.iter_mut().filter(|u| u.upn.eq_ignore_ascii_case(&account)) {
                    u.licenses.clear();
                }
                Some("the admin has no Teams licence")
            }
            TeamsRefusal::NewInstallsInPolicy => {
                s.teams.management = Management::AppCentric;
                s.teams.new_policy_installs = NewPolicyInstalls::Refused;
                Some("setup policies refuse new installed apps (app-centric)")
            }
            TeamsRefusal::BotDisabled => None,
        };
        if let Some(what) = done {
            notes.push(format!("{at}: {what}"));
            return;
        }
    }
    if path.contains("appCatalogs") && e.status == 403 && method.as_deref() == Some("POST") {
        s.teams.in_store = false;
        s.teams.custom_upload = false;
        notes.push(format!("{at}: the app must be uploaded and custom uploads are off"));
        return;
    }
    let endpoint = endpoint_of(&path);
    let fault = FaultSpec {
        endpoint: endpoint.into(),
        status: Some(e.status),
        graph_code: Some(e.code.clone()),
        path: Some(path.clone()),
        method: method.clone(),
        retry_after_secs: e.retry_after_secs.map(|s| s as f64),
        ..FaultSpec::default()
    };
    add_fault(s, fault, notes, format!("{at}: {} {} on {}", e.status, e.code, e.operation));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_become_path_prefixes_that_stop_at_objects() {
        assert_eq!(
            path_prefix("POST /v1.0/users/ade…com/teamwork/installedApps"),
            (Some("POST".into()), "/v1.0/users/".into())
        );
        assert_eq!(
            path_prefix("POST /v1.0/me/teamwork/installedApps"),
            (Some("POST".into()), "/v1.0/me/teamwork/installedApps".into())
        );
        assert_eq!(
            path_prefix("GET /v1.0/servicePrincipals/7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47/appRoleAssignments"),
            (Some("GET".into()), "/v1.0/servicePrincipals/".into())
        );
    }

    #[test]
    fn refresh_failures_replay_on_refresh_and_consent_failures_on_the_consent_page() {
        assert_eq!(identity_endpoint("token endpoint", 700_082), ("token", Some("refresh_token")));
        assert_eq!(identity_endpoint("token endpoint", 50_076), ("token", Some("authorization_code")));
        assert_eq!(identity_endpoint("admin consent redirect", 65_004), ("adminconsent", None));
        assert_eq!(identity_endpoint("Microsoft's consent page, before sign-in", 700_016), ("adminconsent", None));
        assert_eq!(identity_endpoint("sign-in redirect", 53_003), ("authorize", None));
    }
}
