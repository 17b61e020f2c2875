//! Whether a scenario is one the simulator can run: each problem found is one line naming the field and why (the
//! loader prefixes the scenario's origin).

use std::collections::BTreeSet;

use super::clock::is_guid;
use super::scenario::{FAULT_ENDPOINTS, KNOWN_ROLES, Scenario};

/// The clouds a tenant's discovery can tell.
const CLOUDS: &[&str] = &["public", "gcc", "gcc-high", "dod"];

/// The first problem of `s`, if it has one.
pub(super) fn validate(s: &Scenario) -> Result<(), String> {
    tenants_and_users(s)?;
    apps_and_faults(s)?;
    consent_and_directory(s)?;
    customers(s)
}

/// A partner's customers' own tenants, as the simulator would serve them (the generated ones' faults included).
fn customers(s: &Scenario) -> Result<(), String> {
    for c in super::customers::sample(s).map_err(|e| e.to_string())? {
        validate(&c).map_err(|problem| format!("the tenant of customer '{}': {problem}", c.tenant.display_name))?;
    }
    Ok(())
}

/// The tenant, the external tenants, the users (roles, homes, managers), the partner section and the default account.
fn tenants_and_users(s: &Scenario) -> Result<(), String> {
    let bad = |problem: String| Err(problem);
    if !is_guid(&s.tenant.tenant_id) {
        return bad(format!("tenant_id '{}' is not a GUID", s.tenant.tenant_id));
    }
    if s.tenant.domains.is_empty() {
        return bad("the tenant needs at least one domain".to_owned());
    }
    let external: BTreeSet<&str> = s.external_tenants.iter().map(|t| t.domain.as_str()).collect();
    for t in &s.external_tenants {
        if !is_guid(&t.tenant_id) {
            return bad(format!("external tenant '{}' has a tenant_id that is not a GUID", t.domain));
        }
        if let Some(cloud) = t.cloud.as_deref().filter(|c| !CLOUDS.contains(c)) {
            return bad(format!(
                "external tenant '{}' has unknown cloud '{cloud}' (known: {})",
                t.domain,
                CLOUDS.join(", ")
            ));
        }
    }
    let mut upns = BTreeSet::new();
    for u in &s.users {
        if !u.upn.contains('@') {
            return bad(format!("user '{}' needs a UPN of the form name@domain", u.upn));
        }
        if !upns.insert(u.upn.to_lowercase()) {
            return bad(format!("user '{}' is listed twice", u.upn));
        }
        for role in &u.roles {
            if !KNOWN_ROLES.iter().any(|(name, _)| name == role) {
                let known: Vec<&str> = KNOWN_ROLES.iter().map(|(n, _)| *n).collect();
                return bad(format!("user '{}' has unknown role '{role}' (known: {})", u.upn, known.join(", ")));
            }
        }
        if let Some(home) = &u.home_tenant
            && !external.contains(home.as_str())
        {
            return bad(format!("user '{}' names home_tenant '{home}', which is not in [[external_tenants]]", u.upn));
        }
    }
    for u in &s.users {
        if let Some(m) = &u.manager
            && !upns.contains(&m.to_lowercase())
        {
            return bad(format!("user '{}' names manager '{m}', who is not a user of the scenario", u.upn));
        }
    }
    if let Some(problem) = s.partner.problem() {
        return bad(problem);
    }
    if !upns.contains(&s.default_account.to_lowercase()) {
        return bad(format!("default_account '{}' is not one of the scenario's users", s.default_account));
    }
    Ok(())
}

/// The two apps' ids and permissions, and each fault's endpoint and fields.
fn apps_and_faults(s: &Scenario) -> Result<(), String> {
    let bad = |problem: String| Err(problem);
    for (which, app) in [("signin", &s.apps.signin), ("consent", &s.apps.consent)] {
        if !is_guid(&app.client_id) {
            return bad(format!("apps.{which}.client_id '{}' is not a GUID", app.client_id));
        }
        for p in &app.required_permissions {
            if !["graph", "teams-admin"].contains(&p.resource.as_str()) {
                return bad(format!("apps.{which} asks for '{}' on unknown resource '{}'", p.name, p.resource));
            }
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        if !FAULT_ENDPOINTS.contains(&f.endpoint.as_str()) {
            return bad(format!(
                "fault #{} targets unknown endpoint '{}' (known: {})",
                i + 1,
                f.endpoint,
                FAULT_ENDPOINTS.join(", ")
            ));
        }
        if (f.path.is_some() || f.retry_after_secs.is_some() || f.graph_code.is_some())
            && !matches!(f.endpoint.as_str(), "graph" | "teams-admin")
        {
            return bad(format!(
                "fault #{}: path, retry_after_secs and graph_code apply to the 'graph' and 'teams-admin' endpoints only",
                i + 1
            ));
        }
        if f.body.is_some() && (f.status.is_some() || f.aadsts.is_some() || f.error.is_some()) {
            return bad(format!(
                "fault #{}: body breaks the real answer; it cannot go with status, aadsts or error",
                i + 1
            ));
        }
        if f.aadsts.is_none() && f.error.is_none() && f.status.is_none() && f.body.is_none() && f.delay_ms == 0 {
            return bad(format!(
                "fault #{} on '{}' does nothing: give aadsts, error, status, body or delay_ms",
                i + 1,
                f.endpoint
            ));
        }
    }
    Ok(())
}

/// Existing consents, the directory's size, replication delays, withheld permissions and licences.
fn consent_and_directory(s: &Scenario) -> Result<(), String> {
    let bad = |problem: String| Err(problem);
    for c in &s.existing_consent {
        if !["signin", "consent"].contains(&c.app.as_str()) {
            return bad(format!("existing_consent app '{}' must be 'signin' or 'consent'", c.app));
        }
        for scope in c.scopes.iter().flatten() {
            if !matches!(
                super::resources::parse_scope(scope),
                super::resources::ScopeItem::Named { .. } | super::resources::ScopeItem::Oidc(_)
            ) {
                return bad(format!("existing_consent for '{}' names unknown delegated permission '{scope}'", c.app));
            }
        }
    }
    if s.directory.generated_users > 1_000_000 {
        return bad("directory.generated_users is limited to 1,000,000".to_owned());
    }
    if !(0.0..=3600.0).contains(&s.consent.replication_delay_secs)
        || !(0.0..=3600.0).contains(&s.consent.roles_replication_delay_secs)
    {
        return bad("consent replication delays must be between 0 and 3600 seconds".to_owned());
    }
    for w in &s.consent.withheld {
        if !s.apps.consent.required_permissions.iter().any(|p| p.name.eq_ignore_ascii_case(w)) {
            return bad(format!("consent.withheld names '{w}', which the consent app does not ask for"));
        }
    }
    for u in &s.users {
        for l in &u.licenses {
            if super::graph::sku(l).is_none() {
                return bad(format!(
                    "user '{}' has unknown license '{l}' (known: {})",
                    u.upn,
                    super::graph::sku_names().join(", ")
                ));
            }
        }
    }
    Ok(())
}
