//! A partner's customers as tenants of their own (issue 19): each relationship that names the scenario its
//! customer's tenant runs (`[[partner.relationships]] tenant = "happy"`) becomes a full simulated tenant served on
//! the same hosts as the partner's, as Microsoft serves every tenant on the same hosts. The partner's admin agents
//! are added to it as GDAP users: they sign in to the customer's tenant with the roles of the relationship's active
//! access assignments of the groups they are in, and to no app the customer has not approved (AADSTS90099,
//! `docs/msp-multi-tenant.md`).

use super::partner::{AssignmentStatus, RelationshipSpec, RelationshipStatus};
use super::scenario::{self, ExistingConsent, ExternalTenantSpec, Scenario, ScenarioError};

/// The scenarios of the customers of `partner` whose own tenants are served, in the partner's order (the named
/// relationships', then the generated ones' with the partner's `generated_faults`).
pub fn scenarios(partner: &Scenario) -> Result<Vec<Scenario>, ScenarioError> {
    build(partner, usize::MAX)
}

/// What a scenario's check looks at: the named customers' tenants and the first generated one, which stands for
/// the rest (they differ only in name).
pub fn sample(partner: &Scenario) -> Result<Vec<Scenario>, ScenarioError> {
    build(partner, 1)
}

/// The served customers' scenarios, at most `generated` of the generated ones.
fn build(partner: &Scenario, generated: usize) -> Result<Vec<Scenario>, ScenarioError> {
    let named = partner.partner.relationships.len();
    let mut out = Vec::new();
    // A generated customer's tenant is the same scenario renamed: load it once.
    let mut base_cache: Option<(String, Scenario)> = None;
    for (i, r) in partner.partner.all().iter().enumerate().take(named.saturating_add(generated)) {
        let Some(base) = r.tenant.as_deref() else { continue };
        let loaded = match &base_cache {
            Some((name, s)) if name == base => s.clone(),
            _ => {
                let s = scenario::load(base)?;
                base_cache = Some((base.to_owned(), s.clone()));
                s
            }
        };
        let mut s = customer(partner, r, base, loaded)?;
        if i >= named {
            s.faults.extend(partner.partner.generated_faults.iter().cloned());
        }
        out.push(s);
    }
    Ok(out)
}

/// The roles an admin agent in `groups` has in the customer's tenant: those of the relationship's active access
/// assignments of those groups (the assignment's roles, else the relationship's), while the relationship is active
/// or expiring; none otherwise.
pub fn agent_roles(r: &RelationshipSpec, groups: &[String]) -> Vec<String> {
    if !matches!(r.status, RelationshipStatus::Active | RelationshipStatus::Expiring) {
        return Vec::new();
    }
    let mut roles: Vec<String> = Vec::new();
    for a in &r.access_assignments {
        if a.status != AssignmentStatus::Active || !groups.contains(&a.group) {
            continue;
        }
        let granted = if a.roles.is_empty() { &r.roles } else { &a.roles };
        for role in granted.iter().filter(|role| r.roles.contains(role)) {
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
    }
    roles
}

/// The customer's initial domain: the partner scenario's `[[external_tenants]]` entry for it, else
/// `{name's letters and digits}.onmicrosoft.com`.
pub fn initial_domain(partner: &Scenario, r: &RelationshipSpec) -> String {
    let tenant_id = r.tenant_id();
    let stem: String = r.customer.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
    partner
        .external_tenants
        .iter()
        .find(|t| t.tenant_id == tenant_id)
        .map_or_else(|| format!("{stem}.onmicrosoft.com"), |t| t.domain.clone())
}

/// The customer's tenant: the `base` scenario renamed to the customer (its id, name and domains; its people's
/// addresses on the customer's domain), with the apps it approved and the partner's agents.
fn customer(partner: &Scenario, r: &RelationshipSpec, base: &str, mut s: Scenario) -> Result<Scenario, ScenarioError> {
    let tenant_id = r.tenant_id();
    let initial = initial_domain(partner, r);
    let vanity = format!("{}.com", initial.split('.').next().unwrap_or_default());
    // Every address of the base tenant's people (UPNs, mail, managers, fault filters, the default account) moves
    // to the customer's domain at once: rename in the scenario's whole serialized form.
    if let Some(old) = s.tenant.domains.get(1).or_else(|| s.tenant.domains.first()).cloned() {
        let text = serde_json::to_string(&s).map_err(|e| invalid(base, e.to_string()))?;
        let renamed = text.replace(&format!("@{old}\""), &format!("@{vanity}\""));
        s = serde_json::from_str(&renamed).map_err(|e| invalid(base, e.to_string()))?;
    }
    s.name = format!("{base} ({})", r.customer);
    s.summary = format!("{}, a customer of {}", r.customer, partner.tenant.display_name);
    s.tenant.tenant_id = tenant_id.clone();
    s.tenant.display_name = r.customer.clone();
    s.tenant.domains = vec![initial, vanity];
    // Its cloud, as the partner's scenario knows it (what its discovery document says).
    let known = partner.external_tenants.iter().find(|t| t.tenant_id == tenant_id);
    if let Some(cloud) = known.and_then(|t| t.cloud.clone()) {
        s.teams.cloud = cloud;
    }
    s.partner = super::partner::PartnerSpec::default();
    // The base's accounts of the customer's own directory (Contoso's guest from Fabrikam, when Fabrikam is the
    // customer) are not guests of themselves: left out, with that directory's entry.
    if let Some(own) = s.external_tenants.iter().find(|t| t.tenant_id == tenant_id).map(|t| t.domain.clone()) {
        s.users.retain(|u| u.home_tenant.as_ref().is_none_or(|h| !h.eq_ignore_ascii_case(&own)));
    }
    s.external_tenants.retain(|t| t.tenant_id != tenant_id);
    let partner_domain = partner.tenant.domains.first().cloned().unwrap_or_default();
    s.external_tenants.push(ExternalTenantSpec {
        tenant_id: partner.tenant.tenant_id.clone(),
        domain: partner_domain.clone(),
        display_name: partner.tenant.display_name.clone(),
        cloud: None,
    });
    for app in &r.approved {
        s.existing_consent.retain(|c| &c.app != app);
        s.existing_consent.push(ExistingConsent { app: app.clone(), scopes: None });
    }
    for u in partner.users.iter().filter(|u| u.home_tenant.is_none()) {
        let roles = agent_roles(r, &u.groups);
        let mut agent = u.clone();
        agent.note = Some(if roles.is_empty() {
            format!("{}'s staff, with no GDAP role here", partner.tenant.display_name)
        } else {
            format!("{}'s admin agent (GDAP: {})", partner.tenant.display_name, roles.join(", "))
        });
        agent.gdap = !roles.is_empty();
        agent.roles_in_graph = partner.partner.gdap_roles_listed;
        agent.roles = roles;
        agent.home_tenant = Some(partner_domain.clone());
        agent.licenses = Vec::new();
        agent.groups = Vec::new();
        agent.manager = None;
        s.users.push(agent);
    }
    Ok(s)
}

fn invalid(base: &str, problem: String) -> ScenarioError {
    ScenarioError::Invalid { origin: format!("'{base}' as a customer's tenant"), problem }
}
