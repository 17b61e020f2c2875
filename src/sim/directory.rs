//! The simulated directory's live state: accounts, service principals, delegated grants and app role assignments.
//!
//! Built from a [`Scenario`] at start and changed by consent. Graph (a later layer of the simulator) reads the same
//! state, so a consent granted on the sign-in pages is what the permission check later finds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use super::clock::{self, stable_guid};
use super::resources::{self, Resource};
use super::scenario::{AppSpec, KNOWN_ROLES, PermissionKind, Scenario, UserSpec};

/// Where a request's `{tenant}` path segment points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantPath {
    /// `organizations`: any work account, signed in at its home tenant.
    Organizations,
    /// `common`: work or personal accounts (the simulator has only work accounts).
    Common,
    /// `consumers`: personal accounts only; the simulator has none.
    Consumers,
    /// The customer's tenant, by id or verified domain.
    Customer,
    /// Another directory of the scenario, by id or domain.
    External { tenant_id: String },
}

/// An account as the identity platform sees it.
#[derive(Debug, Clone)]
pub struct Account {
    /// Object id in the account's home directory.
    pub object_id: String,
    /// Home directory id.
    pub home_tenant_id: String,
    /// The scenario's description of the account.
    pub spec: UserSpec,
}

impl Account {
    /// Role template ids (`wids` claim).
    pub fn role_template_ids(&self) -> Vec<&'static str> {
        self.spec
            .roles
            .iter()
            .filter_map(|r| KNOWN_ROLES.iter().find(|(name, _)| name == r).map(|(_, id)| *id))
            .collect()
    }

    fn has_role(&self, role: &str) -> bool {
        self.spec.roles.iter().any(|r| r == role)
    }

    /// What this account may grant tenant-wide (Entra's rule, `docs/microsoft-apis.md` A5).
    pub fn consent_power(&self) -> ConsentPower {
        if self.has_role("Global Administrator") || self.has_role("Privileged Role Administrator") {
            ConsentPower::All
        } else if self.has_role("Cloud Application Administrator") || self.has_role("Application Administrator") {
            ConsentPower::AllButGraphAppRoles
        } else {
            ConsentPower::None
        }
    }
}

/// How much tenant-wide consent an account may grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentPower {
    /// Any permission of any API (Global Administrator, Privileged Role Administrator).
    All,
    /// Anything except Microsoft Graph application permissions (Cloud Application / Application Administrator).
    AllButGraphAppRoles,
    /// Nothing tenant-wide; only user consent where the tenant allows it.
    None,
}

/// A service principal (enterprise application) in some tenant.
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    pub tenant_id: String,
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub account_enabled: bool,
    /// When consent created it; the tenant sees it only after `visible_after`.
    pub created_unix: u64,
    pub visible_after: Option<Instant>,
}

/// `consentType` of a delegated grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentType {
    AllPrincipals,
    Principal,
}

/// An `oauth2PermissionGrant`.
#[derive(Debug, Clone)]
pub struct DelegatedGrant {
    pub tenant_id: String,
    pub id: String,
    pub client_sp_id: String,
    pub consent_type: ConsentType,
    pub principal_id: Option<String>,
    pub resource_sp_id: String,
    pub resource_key: &'static str,
    pub scopes: BTreeSet<String>,
}

/// An `appRoleAssignment` granted to a client service principal.
#[derive(Debug, Clone)]
pub struct AppRoleAssignment {
    pub tenant_id: String,
    pub id: String,
    pub app_role_id: String,
    pub app_role_name: String,
    pub principal_id: String,
    pub principal_display_name: String,
    pub resource_id: String,
    pub resource_key: &'static str,
    pub created_unix: u64,
    /// The tenant sees the assignment (in Graph and in tokens) only after this.
    pub visible_after: Option<Instant>,
}

/// The live directory.
#[derive(Debug)]
pub struct Directory {
    /// The scenario the directory was built from (faults, apps, settings).
    pub scenario: Scenario,
    /// The simulated tenant's clock (replication delays are measured on it).
    pub clock: clock::SimClock,
    /// Everyone: the scenario's named accounts, then the generated users.
    people: Vec<Account>,
    by_upn: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    /// Bumped on every change Graph's delta query reports.
    pub version: u64,
    /// The consent app's client secret for this run.
    pub consent_client_secret: String,
    pub service_principals: Vec<ServicePrincipal>,
    pub delegated_grants: Vec<DelegatedGrant>,
    pub app_role_assignments: Vec<AppRoleAssignment>,
    /// The `state` of each admin consent granted during the run, first to last (the scenario may withhold
    /// permissions from the first ones). The same page loaded twice is one consent.
    pub consent_states: Vec<String>,
    /// How many of the setup tool's own consent pages auto mode has answered.
    pub user_consents_answered: u32,
}

/// How an admin consent lands in the tenant.
#[derive(Debug, Clone, Default)]
pub struct ConsentLanding {
    /// Until the tenant sees the service principal.
    pub sp_delay: Duration,
    /// Until it sees the application permissions (app role assignments); replication of these lags.
    pub roles_delay: Duration,
    /// Permissions this consent leaves out.
    pub withheld: Vec<String>,
}

impl Directory {
    /// Builds the directory of `scenario` with a fresh secret for the consent app, and the consent it says
    /// already exists.
    pub fn new(scenario: Scenario) -> Self {
        let mut dir = Self {
            scenario,
            clock: clock::SimClock::default(),
            people: Vec::new(),
            by_upn: HashMap::new(),
            by_id: HashMap::new(),
            version: 1,
            consent_client_secret: format!("sim~{}", clock::opaque::<24>()),
            service_principals: Vec::new(),
            delegated_grants: Vec::new(),
            app_role_assignments: Vec::new(),
            consent_states: Vec::new(),
            user_consents_answered: 0,
        };
        dir.index_people();
        let tenant_id = dir.tenant_id().to_owned();
        for existing in dir.scenario.existing_consent.clone() {
            let app = if existing.app == "signin" { &dir.scenario.apps.signin } else { &dir.scenario.apps.consent };
            let client_id = app.client_id.clone();
            match existing.scopes {
                None => dir.grant_admin_consent(&tenant_id, &client_id, &ConsentLanding::default()),
                Some(scopes) => {
                    let mut by_resource: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
                    for s in scopes {
                        match resources::parse_scope(&s) {
                            resources::ScopeItem::Named { resource, name } => {
                                by_resource.entry(resource).or_default().insert(name);
                            }
                            resources::ScopeItem::Oidc(name) => {
                                by_resource.entry(resources::GRAPH.key).or_default().insert(name);
                            }
                            _ => {}
                        }
                    }
                    dir.grant_delegated(&tenant_id, &client_id, None, &by_resource);
                }
            }
        }
        dir
    }

    /// The customer tenant's id.
    pub fn tenant_id(&self) -> &str {
        &self.scenario.tenant.tenant_id
    }

    /// The display name of a tenant id known to the scenario.
    pub fn tenant_name(&self, tenant_id: &str) -> String {
        if tenant_id == self.tenant_id() {
            return self.scenario.tenant.display_name.clone();
        }
        self.scenario
            .external_tenants
            .iter()
            .find(|t| t.tenant_id == tenant_id)
            .map_or_else(|| tenant_id.to_owned(), |t| t.display_name.clone())
    }

    /// Resolves the `{tenant}` path segment; `None` for a tenant that does not exist (AADSTS90002).
    pub fn resolve_tenant(&self, segment: &str) -> Option<TenantPath> {
        let lower = segment.to_ascii_lowercase();
        match lower.as_str() {
            "organizations" => return Some(TenantPath::Organizations),
            "common" => return Some(TenantPath::Common),
            "consumers" => return Some(TenantPath::Consumers),
            _ => {}
        }
        let t = &self.scenario.tenant;
        if t.tenant_id == lower || t.domains.iter().any(|d| d.eq_ignore_ascii_case(segment)) {
            return Some(TenantPath::Customer);
        }
        self.scenario
            .external_tenants
            .iter()
            .find(|x| x.tenant_id == lower || x.domain.eq_ignore_ascii_case(segment))
            .map(|x| TenantPath::External { tenant_id: x.tenant_id.clone() })
    }

    /// The tenant id a path resolves to, if it names one.
    pub fn path_tenant_id(&self, path: &TenantPath) -> Option<String> {
        match path {
            TenantPath::Customer => Some(self.tenant_id().to_owned()),
            TenantPath::External { tenant_id } => Some(tenant_id.clone()),
            _ => None,
        }
    }

    /// Builds the people list and its indexes: named accounts first, then generated users.
    fn index_people(&mut self) {
        let generated = super::generator::users(&self.scenario);
        let specs: Vec<UserSpec> = self.scenario.users.iter().cloned().chain(generated).collect();
        self.people = specs.into_iter().map(|spec| self.make_account(spec)).collect();
        for (i, p) in self.people.iter().enumerate() {
            self.by_upn.insert(p.spec.upn.to_lowercase(), i);
            self.by_id.insert(p.object_id.clone(), i);
        }
    }

    fn make_account(&self, spec: UserSpec) -> Account {
        let home_tenant_id = match &spec.home_tenant {
            None => self.tenant_id().to_owned(),
            Some(domain) => self
                .scenario
                .external_tenants
                .iter()
                .find(|t| t.domain.eq_ignore_ascii_case(domain))
                .map_or_else(|| stable_guid("tenant", domain), |t| t.tenant_id.clone()),
        };
        let object_id = stable_guid("user", &format!("{home_tenant_id}/{}", spec.upn.to_lowercase()));
        Account { object_id, home_tenant_id, spec }
    }

    /// The account with this UPN.
    pub fn account(&self, upn: &str) -> Option<Account> {
        self.by_upn.get(&upn.to_lowercase()).and_then(|i| self.people.get(*i)).cloned()
    }

    /// The person with this object id or UPN.
    pub fn person(&self, id_or_upn: &str) -> Option<&Account> {
        // UPNs are kept lowercase; most arrive that way, so lowercase a copy only when it would change.
        let by_upn = || {
            if id_or_upn.bytes().any(|b| b.is_ascii_uppercase()) || !id_or_upn.is_ascii() {
                self.by_upn.get(&id_or_upn.to_lowercase())
            } else {
                self.by_upn.get(id_or_upn)
            }
        };
        // An object id never holds an `@`; a principal name always does.
        let found = if id_or_upn.contains('@') { by_upn() } else { self.by_id.get(id_or_upn).or_else(by_upn) };
        found.and_then(|i| self.people.get(*i))
    }

    /// The scenario's named accounts (what the sign-in page offers).
    pub fn accounts(&self) -> Vec<Account> {
        self.people.iter().take(self.scenario.users.len()).cloned().collect()
    }

    /// The users of the customer's tenant (members and guests), in directory order.
    pub fn members(&self) -> impl Iterator<Item = &Account> {
        let tenant_id = self.tenant_id().to_owned();
        self.people.iter().filter(move |p| p.home_tenant_id == tenant_id)
    }

    /// The users of the customer's tenant from directory position `from` on, with their positions (a page's
    /// `$skiptoken` is the position to go on from).
    pub fn members_from(&self, from: usize) -> impl Iterator<Item = (usize, &Account)> {
        let tenant_id = self.tenant_id().to_owned();
        self.people.iter().enumerate().skip(from).filter(move |(_, p)| p.home_tenant_id == tenant_id)
    }

    /// The vendor app registration with this client id.
    pub fn app(&self, client_id: &str) -> Option<&AppSpec> {
        [&self.scenario.apps.signin, &self.scenario.apps.consent]
            .into_iter()
            .find(|a| a.registered && a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// The service principal of `app_id` in `tenant_id`, if consent created one.
    pub fn service_principal(&self, tenant_id: &str, app_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals.iter().find(|s| s.tenant_id == tenant_id && s.app_id.eq_ignore_ascii_case(app_id))
    }

    /// True when the tenant already sees the app's service principal (consent replicated).
    pub fn sp_visible(&self, tenant_id: &str, app_id: &str, now: Instant) -> bool {
        self.service_principal(tenant_id, app_id).is_some_and(|sp| sp.visible_after.is_none_or(|t| now >= t))
    }

    fn ensure_sp(&mut self, tenant_id: &str, app: &AppSpec, visible_after: Option<Instant>) -> String {
        if let Some(sp) =
            self.service_principals.iter_mut().find(|s| s.tenant_id == tenant_id && s.app_id == app.client_id)
        {
            if visible_after.is_some() {
                sp.visible_after = visible_after;
            }
            return sp.object_id.clone();
        }
        let object_id = stable_guid("sp", &format!("{tenant_id}/{}", app.client_id));
        self.service_principals.push(ServicePrincipal {
            tenant_id: tenant_id.to_owned(),
            object_id: object_id.clone(),
            app_id: app.client_id.clone(),
            display_name: app.display_name.clone(),
            // A disabled enterprise app is a property of the customer's tenant in the scenario.
            account_enabled: app.enabled,
            created_unix: self.clock.unix(),
            visible_after,
        });
        object_id
    }

    /// Delegated scopes `client_id` holds on `resource` for `user_oid` in `tenant_id` (tenant-wide plus personal).
    pub fn delegated_scopes(
        &self,
        tenant_id: &str,
        client_id: &str,
        resource: &Resource,
        user_oid: &str,
    ) -> BTreeSet<String> {
        let Some(sp) = self.service_principal(tenant_id, client_id) else {
            return BTreeSet::new();
        };
        self.delegated_grants
            .iter()
            .filter(|g| g.tenant_id == tenant_id && g.client_sp_id == sp.object_id && g.resource_key == resource.key)
            .filter(|g| g.consent_type == ConsentType::AllPrincipals || g.principal_id.as_deref() == Some(user_oid))
            .flat_map(|g| g.scopes.iter().cloned())
            .collect()
    }

    /// App roles (application permissions) `client_id` holds on `resource` in `tenant_id`, once replicated.
    pub fn app_roles(&self, tenant_id: &str, client_id: &str, resource: &Resource, now: Instant) -> Vec<String> {
        let Some(sp) = self.service_principal(tenant_id, client_id) else {
            return Vec::new();
        };
        if !self.sp_visible(tenant_id, client_id, now) {
            return Vec::new();
        }
        self.app_role_assignments
            .iter()
            .filter(|a| a.tenant_id == tenant_id && a.principal_id == sp.object_id && a.resource_key == resource.key)
            .filter(|a| a.visible_after.is_none_or(|t| now >= t))
            .map(|a| a.app_role_name.clone())
            .collect()
    }

    /// Records delegated consent: tenant-wide when `principal` is `None`, else for that user only.
    pub fn grant_delegated(
        &mut self,
        tenant_id: &str,
        client_id: &str,
        principal: Option<&str>,
        scopes: &BTreeMap<&'static str, BTreeSet<String>>,
    ) {
        let Some(app) = self.app(client_id).cloned() else {
            return;
        };
        let sp_id = self.ensure_sp(tenant_id, &app, None);
        for (resource_key, names) in scopes {
            let Some(resource) = resources::by_key(resource_key) else {
                continue;
            };
            let consent_type = if principal.is_some() { ConsentType::Principal } else { ConsentType::AllPrincipals };
            let existing = self.delegated_grants.iter_mut().find(|g| {
                g.tenant_id == tenant_id
                    && g.client_sp_id == sp_id
                    && g.resource_key == resource.key
                    && g.consent_type == consent_type
                    && g.principal_id.as_deref() == principal
            });
            match existing {
                Some(g) => g.scopes.extend(names.iter().cloned()),
                None => self.delegated_grants.push(DelegatedGrant {
                    tenant_id: tenant_id.to_owned(),
                    id: clock::opaque::<24>(),
                    client_sp_id: sp_id.clone(),
                    consent_type,
                    principal_id: principal.map(str::to_owned),
                    resource_sp_id: resource.sp_object_id(tenant_id),
                    resource_key: resource.key,
                    scopes: names.clone(),
                }),
            }
        }
    }

    /// The position of the consent page load with this `state` among the run's admin consents (a new one is
    /// appended).
    pub fn consent_ordinal(&mut self, state: &str) -> u32 {
        let i = match self.consent_states.iter().position(|s| s == state) {
            Some(i) => i,
            None => {
                self.consent_states.push(state.to_owned());
                self.consent_states.len() - 1
            }
        };
        u32::try_from(i).unwrap_or(u32::MAX)
    }

    /// Records a tenant-wide admin consent for everything the app registration asks for, except what `landing`
    /// withholds; the tenant sees it after `landing`'s delays.
    pub fn grant_admin_consent(&mut self, tenant_id: &str, client_id: &str, landing: &ConsentLanding) {
        let Some(app) = self.app(client_id).cloned() else {
            return;
        };
        let now = self.clock.instant();
        let after = |d: Duration| (!d.is_zero()).then(|| now + d);
        let sp_id = self.ensure_sp(tenant_id, &app, after(landing.sp_delay));
        let roles_visible_after = after(landing.sp_delay.max(landing.roles_delay));
        let mut delegated: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for p in &app.required_permissions {
            if landing.withheld.iter().any(|w| w.eq_ignore_ascii_case(&p.name)) {
                continue;
            }
            let Some(resource) = resources::by_key(&p.resource) else {
                continue;
            };
            match p.kind {
                PermissionKind::Delegated => {
                    delegated.entry(resource.key).or_default().insert(p.name.clone());
                }
                PermissionKind::Application => {
                    let Some(role_id) = resource.permission(&p.name).and_then(|perm| perm.role_id) else {
                        continue;
                    };
                    let already = self
                        .app_role_assignments
                        .iter()
                        .any(|a| a.tenant_id == tenant_id && a.principal_id == sp_id && a.app_role_id == role_id);
                    if !already {
                        self.app_role_assignments.push(AppRoleAssignment {
                            tenant_id: tenant_id.to_owned(),
                            id: clock::opaque::<24>(),
                            app_role_id: role_id.to_owned(),
                            app_role_name: p.name.clone(),
                            principal_id: sp_id.clone(),
                            principal_display_name: app.display_name.clone(),
                            resource_id: resource.sp_object_id(tenant_id),
                            resource_key: resource.key,
                            created_unix: self.clock.unix(),
                            visible_after: roles_visible_after,
                        });
                    }
                }
            }
        }
        self.grant_delegated(tenant_id, client_id, None, &delegated);
        self.version += 1;
    }

    /// True when the app asks for Microsoft Graph application permissions (which only some admins may grant).
    pub fn needs_graph_app_roles(&self, client_id: &str) -> bool {
        self.app(client_id).is_some_and(|a| {
            a.required_permissions.iter().any(|p| p.resource == "graph" && p.kind == PermissionKind::Application)
        })
    }

    /// True when the app's enterprise application is disabled in the customer's tenant.
    pub fn app_disabled_in(&self, tenant_id: &str, client_id: &str) -> bool {
        tenant_id == self.tenant_id() && self.app(client_id).is_some_and(|a| !a.enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scenario;

    fn happy() -> Directory {
        Directory::new(scenario::load("happy").unwrap())
    }

    #[test]
    fn tenants_resolve_by_id_domain_and_alias() {
        let d = happy();
        assert_eq!(d.resolve_tenant("organizations"), Some(TenantPath::Organizations));
        assert_eq!(d.resolve_tenant("Contoso.com"), Some(TenantPath::Customer));
        assert_eq!(d.resolve_tenant(d.tenant_id()), Some(TenantPath::Customer));
        assert!(matches!(d.resolve_tenant("fabrikam.onmicrosoft.com"), Some(TenantPath::External { .. })));
        assert_eq!(d.resolve_tenant("nowhere.example"), None);
    }

    #[test]
    fn admin_consent_creates_grants_seen_after_replication() {
        let mut d = happy();
        let tid = d.tenant_id().to_owned();
        let app = d.scenario.apps.consent.client_id.clone();
        d.grant_admin_consent(
            &tid,
            &app,
            &ConsentLanding { sp_delay: Duration::from_secs(3600), ..ConsentLanding::default() },
        );
        let now = clock::instant_now();
        assert!(d.service_principal(&tid, &app).is_some());
        assert!(!d.sp_visible(&tid, &app, now));
        assert!(d.app_roles(&tid, &app, &resources::GRAPH, now).is_empty());
        let later = now + Duration::from_secs(3601);
        let mut roles = d.app_roles(&tid, &app, &resources::GRAPH, later);
        roles.sort();
        assert_eq!(roles, ["ProfilePhoto.Read.All", "TeamsAppInstallation.ReadWriteForUser.All", "User.Read.All"]);
        let someone = d.account("alex.wilber@contoso.com").unwrap();
        assert!(d.delegated_scopes(&tid, &app, &resources::GRAPH, &someone.object_id).contains("User.Read"));
    }

    #[test]
    fn consent_power_follows_entra_roles() {
        let d = happy();
        assert_eq!(d.account("adele.vance@contoso.com").unwrap().consent_power(), ConsentPower::All);
        assert_eq!(d.account("patti.fernandez@contoso.com").unwrap().consent_power(), ConsentPower::All);
        assert_eq!(d.account("lee.gu@contoso.com").unwrap().consent_power(), ConsentPower::AllButGraphAppRoles);
        assert_eq!(d.account("megan.bowen@contoso.com").unwrap().consent_power(), ConsentPower::None);
    }
}
