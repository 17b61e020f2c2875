//! Scenarios: what the simulated tenant looks like and which faults it injects.
//!
//! A scenario is a TOML file (format documented in `assets/scenarios/README.md`). The shipped ones are compiled
//! in, so the binary can replay them anywhere; `--scenario FILE` loads another. A file may name a `base`
//! scenario and change only what differs. This module parses and validates; it does not serve anything.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The scenarios shipped with the product, by name. `happy` is the complete base the others extend.
const SHIPPED: &[(&str, &str)] = &[
    ("happy", include_str!("../../assets/scenarios/happy.toml")),
    ("not-admin", include_str!("../../assets/scenarios/not-admin.toml")),
    ("cloud-app-admin", include_str!("../../assets/scenarios/cloud-app-admin.toml")),
    ("consent-declined", include_str!("../../assets/scenarios/consent-declined.toml")),
    ("conditional-access", include_str!("../../assets/scenarios/conditional-access.toml")),
    ("mfa-required", include_str!("../../assets/scenarios/mfa-required.toml")),
    ("other-tenant", include_str!("../../assets/scenarios/other-tenant.toml")),
    ("app-disabled", include_str!("../../assets/scenarios/app-disabled.toml")),
    ("app-not-found", include_str!("../../assets/scenarios/app-not-found.toml")),
    ("redirect-not-registered", include_str!("../../assets/scenarios/redirect-not-registered.toml")),
    ("no-reply-address", include_str!("../../assets/scenarios/no-reply-address.toml")),
    ("replication-delay", include_str!("../../assets/scenarios/replication-delay.toml")),
    ("gdap-partner", include_str!("../../assets/scenarios/gdap-partner.toml")),
    ("msp-partner", include_str!("../../assets/scenarios/msp-partner.toml")),
    ("session-expired", include_str!("../../assets/scenarios/session-expired.toml")),
    ("permissions-missing", include_str!("../../assets/scenarios/permissions-missing.toml")),
    ("late-permissions", include_str!("../../assets/scenarios/late-permissions.toml")),
    ("large-directory", include_str!("../../assets/scenarios/large-directory.toml")),
    ("graph-throttled", include_str!("../../assets/scenarios/graph-throttled.toml")),
    ("teams-custom-app", include_str!("../../assets/scenarios/teams-custom-app.toml")),
    ("teams-older-upload", include_str!("../../assets/scenarios/teams-older-upload.toml")),
    ("teams-app-in-review", include_str!("../../assets/scenarios/teams-app-in-review.toml")),
    ("teams-third-party-blocked", include_str!("../../assets/scenarios/teams-third-party-blocked.toml")),
    ("teams-custom-upload-off", include_str!("../../assets/scenarios/teams-custom-upload-off.toml")),
    ("teams-admin-unlicensed", include_str!("../../assets/scenarios/teams-admin-unlicensed.toml")),
    ("teams-gcc-high", include_str!("../../assets/scenarios/teams-gcc-high.toml")),
    ("teams-custom-policies", include_str!("../../assets/scenarios/teams-custom-policies.toml")),
    ("teams-policy-partner", include_str!("../../assets/scenarios/teams-policy-partner.toml")),
    ("teams-policy-changed", include_str!("../../assets/scenarios/teams-policy-changed.toml")),
    ("teams-install-throttled", include_str!("../../assets/scenarios/teams-install-throttled.toml")),
    ("teams-legacy-policies", include_str!("../../assets/scenarios/teams-legacy-policies.toml")),
    ("teams-install-refused", include_str!("../../assets/scenarios/teams-install-refused.toml")),
    ("teams-install-ignored", include_str!("../../assets/scenarios/teams-install-ignored.toml")),
    ("teams-app-blocked", include_str!("../../assets/scenarios/teams-app-blocked.toml")),
    ("teams-available-to-some", include_str!("../../assets/scenarios/teams-available-to-some.toml")),
    ("already-onboarded", include_str!("../../assets/scenarios/already-onboarded.toml")),
];

/// Directory roles the simulator knows, with Entra's built-in role template ids.
pub const KNOWN_ROLES: &[(&str, &str)] = &[
    ("Global Administrator", "62e90394-69f5-4237-9190-012177145e10"),
    ("Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814"),
    ("Cloud Application Administrator", "158c047a-c907-4556-b7ef-446551a6b5f7"),
    ("Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
    ("Teams Administrator", "69091246-20e8-4a56-aa4d-066075b2a7a8"),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    ("Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
];

/// Endpoints of the identity platform a fault can target.
pub const IDENTITY_ENDPOINTS: &[&str] = &["discovery", "keys", "authorize", "adminconsent", "token", "devicecode"];

/// Every endpoint a fault can target: the identity platform's, and `graph` (narrowed by `path` and `method`).
pub const FAULT_ENDPOINTS: &[&str] =
    &["discovery", "keys", "authorize", "adminconsent", "token", "devicecode", "graph", "teams-admin"];

/// Problems loading a scenario. Each names where the scenario came from.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("no shipped scenario is named '{name}' and no file has that path (shipped: {known})")]
    Unknown { name: String, known: String },
    #[error("could not read scenario file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario {origin} is not valid TOML for a scenario: {message}")]
    Parse { origin: String, message: String },
    #[error("scenario {origin}: {problem}")]
    Invalid { origin: String, problem: String },
}

/// A fully resolved scenario: every field has its value (base scenarios already applied).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scenario {
    /// Short name (`happy`, `not-admin`, ...).
    pub name: String,
    /// One line for `sim --list` and the demo's Welcome page.
    pub summary: String,
    /// The account auto mode signs in as when no `login_hint` names another.
    pub default_account: String,
    /// The customer's tenant.
    pub tenant: TenantSpec,
    /// Accounts: members of the tenant, and accounts of other tenants (`home_tenant`).
    pub users: Vec<UserSpec>,
    /// Other directories whose accounts may try to sign in.
    pub external_tenants: Vec<ExternalTenantSpec>,
    /// The two vendor applications.
    pub apps: AppsSpec,
    /// How consent behaves.
    pub consent: ConsentSpec,
    /// Device-code timing.
    pub device_code: DeviceCodeSpec,
    /// Injected faults, checked in order.
    pub faults: Vec<FaultSpec>,
    /// Consent already granted in the tenant before the run starts.
    #[serde(default)]
    pub existing_consent: Vec<ExistingConsent>,
    /// Generated users added to the directory (sizing a tenant for previews and benchmarks).
    #[serde(default)]
    pub directory: DirectorySpec,
    /// The tenant's Teams: catalog, org-wide app settings, setup policies.
    #[serde(default)]
    pub teams: super::teams::TeamsSpec,
    /// The tenant as a partner: its GDAP relationships with customers.
    #[serde(default)]
    pub partner: super::partner::PartnerSpec,
}

/// How many extra users to generate, and how many of them lack what MSPbots' sync needs. Percentages are of the
/// generated users; the same seed gives the same directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySpec {
    #[serde(default)]
    pub generated_users: u32,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_photos")]
    pub photos_percent: u8,
    #[serde(default = "default_few")]
    pub guests_percent: u8,
    #[serde(default = "default_few")]
    pub disabled_percent: u8,
    #[serde(default = "default_few")]
    pub without_mail_percent: u8,
    #[serde(default = "default_few")]
    pub without_manager_percent: u8,
    #[serde(default = "default_few")]
    pub without_title_percent: u8,
    /// Graph's read quota for the app in this tenant, resource units per 10 s (`sim::graph::throttle`); absent:
    /// Microsoft's documented quota for the directory's size.
    #[serde(default)]
    pub read_units_per_10s: Option<u32>,
    /// How many seconds of that quota one burst may spend (Microsoft does not say; 10: all of it).
    #[serde(default = "default_burst")]
    pub read_burst_seconds: u32,
}

fn default_burst() -> u32 {
    10
}

impl Default for DirectorySpec {
    fn default() -> Self {
        Self {
            generated_users: 0,
            seed: default_seed(),
            photos_percent: default_photos(),
            guests_percent: default_few(),
            disabled_percent: default_few(),
            without_mail_percent: default_few(),
            without_manager_percent: default_few(),
            without_title_percent: default_few(),
            read_units_per_10s: None,
            read_burst_seconds: default_burst(),
        }
    }
}

fn default_seed() -> u64 {
    42
}
fn default_photos() -> u8 {
    70
}
fn default_few() -> u8 {
    4
}

/// A consent granted before the run (an earlier onboarding, a pre-approved tool).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExistingConsent {
    /// `signin` or `consent`.
    pub app: String,
    /// Delegated permissions granted tenant-wide. Absent: a full admin consent to everything the app's
    /// registration asks for.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// The customer's tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Organization display name.
    pub display_name: String,
    /// Verified domains; the first is the initial `*.onmicrosoft.com` domain.
    pub domains: Vec<String>,
    /// Whether ordinary users may consent to apps for themselves (Entra "user consent settings").
    #[serde(default = "yes")]
    pub user_consent_allowed: bool,
}

/// One account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Sign-in name.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Directory role names (see [`KNOWN_ROLES`]).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Licence names, as an admin reads them in the admin center.
    #[serde(default)]
    pub licenses: Vec<String>,
    /// Job title.
    #[serde(default)]
    pub job_title: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// The manager's UPN.
    #[serde(default)]
    pub manager: Option<String>,
    /// Mail address; defaults to the UPN.
    #[serde(default)]
    pub mail: Option<String>,
    /// Whether sign-in is allowed (`accountEnabled`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The domain of the account's home directory when it is not the customer's tenant.
    #[serde(default)]
    pub home_tenant: Option<String>,
    /// A note shown beside the account on the simulated sign-in page and the demo's Welcome page.
    #[serde(default)]
    pub note: Option<String>,
    /// Whether the account has a profile photo.
    #[serde(default = "yes")]
    pub photo: bool,
    /// False: the account has no mailbox (`mail` is null).
    #[serde(default = "yes")]
    pub has_mail: bool,
    /// A B2B guest of the tenant (`userType` Guest).
    #[serde(default)]
    pub guest: bool,
    /// Security groups the account is in, by name (a partner tenant's groups that GDAP access assignments map).
    #[serde(default)]
    pub groups: Vec<String>,
    /// A partner's admin agent with GDAP access here (with `home_tenant`): signs in to this tenant with `roles`,
    /// the roles of the relationship's access assignments, and to no app this tenant has not approved
    /// (AADSTS90099). The simulator adds these to a customer's tenant from the partner's relationships.
    #[serde(default)]
    pub gdap: bool,
    /// Graph lists this account's roles under `/me/transitiveMemberOf` (true); false: only the token's `wids`
    /// carry them (set on a partner's agents when `[partner] gdap_roles_listed = false`).
    #[serde(default = "yes")]
    pub roles_in_graph: bool,
}

/// Another directory, whose accounts are not members of the customer's tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalTenantSpec {
    /// Directory id.
    pub tenant_id: String,
    /// Its initial domain.
    pub domain: String,
    /// Organization display name.
    pub display_name: String,
    /// Its cloud, as its OpenID discovery tells it: `public` (default), `gcc`, `gcc-high` or `dod`.
    #[serde(default)]
    pub cloud: Option<String>,
}

/// The vendor's two applications.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppsSpec {
    /// The public client the wizard signs in with.
    pub signin: AppSpec,
    /// The multi-tenant application the admin consents to.
    pub consent: AppSpec,
}

/// One application registration (in the vendor's directory) and its state in the customer's tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Application (client) id.
    pub client_id: String,
    /// Display name shown on consent pages.
    pub display_name: String,
    /// Publisher shown on consent pages.
    pub publisher: String,
    /// False simulates an app id that does not exist (AADSTS700016).
    pub registered: bool,
    /// False simulates an enterprise app disabled in the customer's tenant (AADSTS7000112).
    pub enabled: bool,
    /// Public client (no secret; device code allowed) or confidential (has a secret).
    pub public_client: bool,
    /// Registered redirect URIs. Loopback ones match any port, as Entra does.
    pub redirect_uris: Vec<String>,
    /// Permissions the registration asks for (what `/.default` and admin consent grant).
    pub required_permissions: Vec<PermissionSpec>,
}

/// One permission an application asks for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PermissionSpec {
    /// `graph` or `teams-admin`.
    pub resource: String,
    /// `delegated` (scope) or `application` (app role).
    pub kind: PermissionKind,
    /// The permission's value, e.g. `User.Read.All`.
    pub name: String,
}

/// Delegated (scope) or application (app role).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PermissionKind {
    Delegated,
    Application,
}

/// How consent behaves.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentSpec {
    /// What auto mode answers on consent pages.
    #[serde(default)]
    pub auto_decision: ConsentDecision,
    /// Seconds after a granted admin consent during which the tenant does not see it yet.
    #[serde(default)]
    pub replication_delay_secs: f64,
    /// Seconds after the service principal appears until the application permissions (app role assignments)
    /// do: Entra replicates them separately, so a check right after consent can find the app but not its roles.
    #[serde(default)]
    pub roles_replication_delay_secs: f64,
    /// Permissions the first `withheld_consents` admin consents leave out (an app registration this tenant
    /// cached before the vendor added them; or, with `withheld_consents = 0`, a registration that never asks).
    #[serde(default)]
    pub withheld: Vec<String>,
    /// How many admin consents withhold `withheld` (0: every one).
    #[serde(default)]
    pub withheld_consents: u32,
    /// In auto mode, the first this many consent pages of the setup tool's own sign-ins and approvals are
    /// declined (Cancel, AADSTS65004); later ones follow `auto_decision`: an admin who declines the permissions the
    /// sign-in asks for up front, and approves each step's when it comes.
    #[serde(default)]
    pub declined_user_consents: u32,
}

/// Accept or Cancel on a consent page.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConsentDecision {
    #[default]
    Accept,
    Decline,
}

/// Device-code timing, in seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCodeSpec {
    /// `interval` returned to clients.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// `expires_in` returned to clients.
    #[serde(default = "default_device_expiry")]
    pub expires_in_secs: u64,
}

impl Default for DeviceCodeSpec {
    fn default() -> Self {
        Self { interval_secs: default_interval(), expires_in_secs: default_device_expiry() }
    }
}

/// One injected fault. Filters narrow which requests it hits; `count` limits how many.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Which endpoint (see [`IDENTITY_ENDPOINTS`]).
    pub endpoint: String,
    /// The AADSTS code to answer with; its `error` and message come from the simulator's catalogue.
    #[serde(default)]
    pub aadsts: Option<u32>,
    /// Overrides the catalogue's `error` value (e.g. `slow_down`, `temporarily_unavailable`).
    #[serde(default)]
    pub error: Option<String>,
    /// `suberror` to add on token errors (e.g. `basic_action`).
    #[serde(default)]
    pub suberror: Option<String>,
    /// HTTP status for JSON endpoints (default 400, or 401 for `invalid_client`).
    #[serde(default)]
    pub status: Option<u16>,
    /// Delay before answering, in milliseconds (alone: a slow but successful answer).
    #[serde(default)]
    pub delay_ms: u64,
    /// How many matching requests fail; absent means all of them.
    #[serde(default)]
    pub count: Option<u32>,
    /// Matching requests to let through before failing.
    #[serde(default)]
    pub after: u32,
    /// Token endpoint only: the `grant_type` to hit (`authorization_code`, `refresh_token`, `device_code`,
    /// `client_credentials`).
    #[serde(default)]
    pub grant_type: Option<String>,
    /// `signin`, `consent`, or a client id.
    #[serde(default)]
    pub client: Option<String>,
    /// Only requests for this account (UPN).
    #[serde(default)]
    pub account: Option<String>,
    /// Graph and Teams admin: the request path this fault hits (prefix, e.g. `/v1.0/users`).
    #[serde(default)]
    pub path: Option<String>,
    /// Graph and Teams admin: the method this fault hits.
    #[serde(default)]
    pub method: Option<String>,
    /// Graph: seconds for `Retry-After` (may be a decimal, as inside `$batch`); with status 429 or 503.
    #[serde(default)]
    pub retry_after_secs: Option<f64>,
    /// Graph: the error envelope's `code` (default from the status: `TooManyRequests`, `serviceNotAvailable`, …).
    #[serde(default)]
    pub graph_code: Option<String>,
    /// Graph and Teams admin: a broken answer body (the status is the real one): see [`BodyFault`].
    #[serde(default)]
    pub body: Option<BodyFault>,
    /// With `body = "drip"`: milliseconds between the body's pieces.
    #[serde(default)]
    pub drip_ms: u64,
}

/// How an answer's body breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFault {
    /// `200` with JSON that does not parse.
    Malformed,
    /// The real answer's headers (its full `Content-Length`), then half its body, then the connection closes.
    Truncated,
    /// The real answer's headers, then the connection is cut (an error instead of the body).
    Reset,
    /// The real answer, a few bytes every `drip_ms`.
    Drip,
}

/// `[teams]` of a scenario over `base`: the keys given replace the base's, the others stay.
fn merge_teams(
    base: &super::teams::TeamsSpec,
    over: toml::Table,
    origin: &str,
) -> Result<super::teams::TeamsSpec, ScenarioError> {
    let mut table = toml::Table::try_from(base).map_err(|e| invalid(origin, format!("[teams]: {e}")))?;
    table.extend(over);
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| invalid(origin, format!("[teams]: {}", e.message())))
}

pub(super) fn yes() -> bool {
    true
}
fn default_interval() -> u64 {
    5
}
fn default_device_expiry() -> u64 {
    900
}

/// The on-disk form: everything optional so a scenario can extend a base.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: Option<String>,
    summary: Option<String>,
    base: Option<String>,
    default_account: Option<String>,
    tenant: Option<TenantSpec>,
    users: Option<Vec<UserSpec>>,
    #[serde(default)]
    extra_users: Vec<UserSpec>,
    external_tenants: Option<Vec<ExternalTenantSpec>>,
    #[serde(default)]
    apps: AppsOverride,
    consent: Option<ConsentSpec>,
    device_code: Option<DeviceCodeSpec>,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    #[serde(default)]
    existing_consent: Vec<ExistingConsent>,
    directory: Option<DirectorySpec>,
    /// Merged key by key onto the base's `[teams]`.
    teams: Option<toml::Table>,
    /// Replaces the base's `[partner]`.
    partner: Option<super::partner::PartnerSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppsOverride {
    signin: Option<AppOverride>,
    consent: Option<AppOverride>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppOverride {
    client_id: Option<String>,
    display_name: Option<String>,
    publisher: Option<String>,
    registered: Option<bool>,
    enabled: Option<bool>,
    public_client: Option<bool>,
    redirect_uris: Option<Vec<String>>,
    required_permissions: Option<Vec<PermissionSpec>>,
}

impl AppOverride {
    fn apply(self, base: &mut AppSpec) {
        let Self {
            client_id,
            display_name,
            publisher,
            registered,
            enabled,
            public_client,
            redirect_uris,
            required_permissions,
        } = self;
        if let Some(v) = client_id {
            base.client_id = v;
        }
        if let Some(v) = display_name {
            base.display_name = v;
        }
        if let Some(v) = publisher {
            base.publisher = v;
        }
        if let Some(v) = registered {
            base.registered = v;
        }
        if let Some(v) = enabled {
            base.enabled = v;
        }
        if let Some(v) = public_client {
            base.public_client = v;
        }
        if let Some(v) = redirect_uris {
            base.redirect_uris = v;
        }
        if let Some(v) = required_permissions {
            base.required_permissions = v;
        }
    }

    fn into_complete(self, origin: &str, which: &str) -> Result<AppSpec, ScenarioError> {
        let missing = |field: &str| invalid(origin, format!("[apps.{which}] needs '{field}' when there is no base"));
        Ok(AppSpec {
            client_id: self.client_id.ok_or_else(|| missing("client_id"))?,
            display_name: self.display_name.ok_or_else(|| missing("display_name"))?,
            publisher: self.publisher.ok_or_else(|| missing("publisher"))?,
            registered: self.registered.unwrap_or(true),
            enabled: self.enabled.unwrap_or(true),
            public_client: self.public_client.ok_or_else(|| missing("public_client"))?,
            redirect_uris: self.redirect_uris.unwrap_or_default(),
            required_permissions: self.required_permissions.unwrap_or_default(),
        })
    }
}

fn invalid(origin: &str, problem: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid { origin: origin.to_owned(), problem: problem.into() }
}

/// The shipped scenarios' names, in shipping order.
pub fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(name, _)| *name).collect()
}

/// Names and one-line summaries of the shipped scenarios, in shipping order.
pub fn shipped() -> Vec<(String, String)> {
    SHIPPED
        .iter()
        .map(|(name, _)| {
            let summary = load(name).map_or_else(|e| format!("(broken: {e})"), |s| s.summary);
            ((*name).to_owned(), summary)
        })
        .collect()
}

/// Loads a shipped scenario by name, or a scenario file by path.
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    load_depth(name_or_path, None, 0)
}

fn load_depth(name_or_path: &str, relative_to: Option<&Path>, depth: u32) -> Result<Scenario, ScenarioError> {
    if depth > 8 {
        return Err(invalid(name_or_path, "its chain of 'base' scenarios is too deep (a loop?)"));
    }
    if let Some((name, text)) = SHIPPED.iter().find(|(name, _)| *name == name_or_path) {
        return parse(text, &format!("'{name}'"), None, depth);
    }
    let path = match relative_to {
        Some(dir) if Path::new(name_or_path).is_relative() => dir.join(name_or_path),
        _ => PathBuf::from(name_or_path),
    };
    if !path.exists() {
        return Err(ScenarioError::Unknown {
            name: name_or_path.to_owned(),
            known: SHIPPED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ScenarioError::Read { path: path.clone(), source })?;
    parse(&text, &path.display().to_string(), path.parent(), depth)
}

/// Parses scenario text. `origin` names it in errors; `dir` resolves a relative `base`.
pub fn parse_str(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    parse(text, origin, None, 0)
}

/// A TOML error on one line: `line 3: unclosed array, expected ']'` (toml's own text draws the line with a caret).
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
    match e.span() {
        Some(span) => {
            let line = text.get(..span.start).map_or(1, |before| before.matches('\n').count() + 1);
            format!("line {line}: {message}")
        }
        None => message,
    }
}

fn parse(text: &str, origin: &str, dir: Option<&Path>, depth: u32) -> Result<Scenario, ScenarioError> {
    let file: ScenarioFile = toml::from_str(text)
        .map_err(|e| ScenarioError::Parse { origin: origin.to_owned(), message: toml_problem(text, &e) })?;
    let base = match &file.base {
        Some(base) => Some(load_depth(base, dir, depth + 1)?),
        None => None,
    };
    let scenario = resolve(file, base, origin)?;
    super::scenario_check::validate(&scenario).map_err(|problem| invalid(origin, problem))?;
    Ok(scenario)
}

fn resolve(file: ScenarioFile, base: Option<Scenario>, origin: &str) -> Result<Scenario, ScenarioError> {
    let ScenarioFile {
        name,
        summary,
        base: _,
        default_account,
        tenant,
        users,
        extra_users,
        external_tenants,
        apps,
        consent,
        device_code,
        faults,
        existing_consent,
        directory,
        teams,
        partner,
    } = file;
    let need = |what: &str| invalid(origin, format!("'{what}' is required when the scenario has no base"));
    let mut scenario = match base {
        Some(mut base) => {
            if let Some(t) = tenant {
                base.tenant = t;
            }
            if let Some(u) = users {
                base.users = u;
            }
            if let Some(x) = external_tenants {
                base.external_tenants = x;
            }
            if let Some(a) = apps.signin {
                a.apply(&mut base.apps.signin);
            }
            if let Some(a) = apps.consent {
                a.apply(&mut base.apps.consent);
            }
            if let Some(c) = consent {
                base.consent = c;
            }
            if let Some(d) = device_code {
                base.device_code = d;
            }
            base.faults.extend(faults);
            base.existing_consent.extend(existing_consent);
            if let Some(d) = directory {
                base.directory = d;
            }
            if let Some(t) = teams {
                base.teams = merge_teams(&base.teams, t, origin)?;
            }
            if let Some(p) = partner {
                base.partner = p;
            }
            base
        }
        None => Scenario {
            name: String::new(),
            summary: String::new(),
            default_account: String::new(),
            tenant: tenant.ok_or_else(|| need("[tenant]"))?,
            users: users.ok_or_else(|| need("[[users]]"))?,
            external_tenants: external_tenants.unwrap_or_default(),
            apps: AppsSpec {
                signin: apps.signin.ok_or_else(|| need("[apps.signin]"))?.into_complete(origin, "signin")?,
                consent: apps.consent.ok_or_else(|| need("[apps.consent]"))?.into_complete(origin, "consent")?,
            },
            consent: consent.unwrap_or_default(),
            device_code: device_code.unwrap_or_default(),
            faults,
            existing_consent,
            directory: directory.unwrap_or_default(),
            teams: match teams {
                Some(t) => merge_teams(&super::teams::TeamsSpec::default(), t, origin)?,
                None => super::teams::TeamsSpec::default(),
            },
            partner: partner.unwrap_or_default(),
        },
    };
    scenario.users.extend(extra_users);
    scenario.name = name.ok_or_else(|| invalid(origin, "'name' is required"))?;
    scenario.summary = summary.ok_or_else(|| invalid(origin, "'summary' is required"))?;
    if let Some(account) = default_account {
        scenario.default_account = account;
    }
    Ok(scenario)
}

impl Scenario {
    /// The account with this UPN (case-insensitive).
    pub fn user(&self, upn: &str) -> Option<&UserSpec> {
        self.users.iter().find(|u| u.upn.eq_ignore_ascii_case(upn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_scenario_loads_and_validates() {
        for (name, _) in SHIPPED {
            let s = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name, "file name and 'name' agree");
            assert!(!s.summary.is_empty());
        }
        assert_eq!(shipped().len(), SHIPPED.len());
    }

    #[test]
    fn unknown_scenario_lists_the_shipped_ones() {
        let err = load("no-such-scenario").unwrap_err().to_string();
        assert!(err.contains("happy") && err.contains("not-admin"), "{err}");
    }

    #[test]
    fn parse_error_names_the_line() {
        let err = parse_str("name = \"x\"\nsummary = \n", "test.toml").unwrap_err().to_string();
        assert!(err.contains("test.toml") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_name() {
        let err =
            parse_str("base = \"happy\"\nname = \"x\"\nsummary = \"y\"\ncolour = 1\n", "t").unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn base_scenario_is_extended_not_replaced() {
        let s = parse_str(
            r#"
            base = "happy"
            name = "x"
            summary = "y"
            [[faults]]
            endpoint = "token"
            aadsts = 50076
            [apps.consent]
            enabled = false
            "#,
            "t",
        )
        .unwrap();
        let happy = load("happy").unwrap();
        assert_eq!(s.users.len(), happy.users.len());
        assert_eq!(s.faults.len(), happy.faults.len() + 1);
        assert!(!s.apps.consent.enabled);
        assert_eq!(s.apps.consent.client_id, happy.apps.consent.client_id);
    }

    #[test]
    fn body_faults_parse_and_do_not_mix_with_error_answers() {
        let head = "base = \"happy\"\nname = \"x\"\nsummary = \"y\"\n[[faults]]\n";
        let s = parse_str(&format!("{head}endpoint = \"teams-admin\"\nbody = \"drip\"\ndrip_ms = 200\n"), "t").unwrap();
        let f = s.faults.last().unwrap();
        assert_eq!((f.body, f.drip_ms), (Some(BodyFault::Drip), 200));
        let s = parse_str(&format!("{head}endpoint = \"token\"\nbody = \"truncated\"\n"), "t").unwrap();
        assert_eq!(s.faults.last().unwrap().body, Some(BodyFault::Truncated));
        let err =
            parse_str(&format!("{head}endpoint = \"token\"\nbody = \"reset\"\naadsts = 50076\n"), "t").unwrap_err();
        assert!(err.to_string().contains("cannot go with status"), "{err}");
        let err = parse_str(&format!("{head}endpoint = \"graph\"\nbody = \"garbled\"\n"), "t").unwrap_err();
        assert!(err.to_string().contains("garbled"), "{err}");
    }

    #[test]
    fn a_partners_customer_tenants_are_checked_as_scenarios_are() {
        let head = "base = \"msp-partner\"\nname = \"x\"\nsummary = \"y\"\n[partner]\n";
        let one = "[[partner.relationships]]\ncustomer = \"Fabrikam\"\nstatus = \"active\"\nroles = [\"Global Administrator\"]\n";
        let err = |text: String| parse_str(&text, "t").unwrap_err().to_string();
        let e = err(format!("{head}{one}tenant = \"happpy\"\n"));
        assert!(e.contains("tenant 'happpy' is not a shipped single-tenant scenario") && e.contains("happy"), "{e}");
        let e = err(format!("{head}{one}tenant = \"happy\"\napproved = [\"mspbots\"]\n"));
        assert!(e.contains("approved app 'mspbots'"), "{e}");
        let generated = "generated_customers = 3\ngenerated_tenant = \"happy\"\n";
        let e = err(format!("{head}{generated}[[partner.generated_faults]]\nendpoint = \"grpah\"\ndelay_ms = 50\n"));
        assert!(e.contains("the tenant of customer 'Customer 0001'") && e.contains("grpah"), "{e}");
        let e = err(format!("{head}generated_customers = 3\ngenerated_tenant = \"msp-partner\"\n"));
        assert!(e.contains("tenant 'msp-partner'"), "{e}");
        let ok = parse_str(&format!("{head}{generated}generated_approved = [\"signin\"]\n"), "t").unwrap();
        assert_eq!(super::super::customers::scenarios(&ok).unwrap().len(), 3);
    }

    #[test]
    fn validation_catches_dangling_references() {
        let err =
            parse_str("base = \"happy\"\nname = \"x\"\nsummary = \"y\"\ndefault_account = \"ghost@nowhere\"\n", "t")
                .unwrap_err()
                .to_string();
        assert!(err.contains("ghost@nowhere"), "{err}");
        let err = parse_str(
            "base = \"happy\"\nname = \"x\"\nsummary = \"y\"\n[[faults]]\nendpoint = \"tokne\"\naadsts = 1\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("tokne") && err.contains("token"), "{err}");
        let err = parse_str("base = \"happy\"\nname = \"x\"\nsummary = \"y\"\n[[faults]]\nendpoint = \"token\"\n", "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does nothing"), "{err}");
    }
}
