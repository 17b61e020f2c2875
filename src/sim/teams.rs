//! The tenant's Teams side: the app catalog (store and organization apps, their definitions and review states),
//! each user's installed apps, the org-wide app settings, and the app setup policies (Global and custom ones).
//!
//! Graph serves the catalog and installs (`graph/teams.rs`); the Teams admin configuration API serves the policies
//! (`teams_admin.rs`). Both read and change this one state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clock::stable_guid;

/// The demo vendor app's manifest id (also in `assets/teams/mspbots-demo/manifest.json`).
pub const DEMO_APP_ID: &str = "5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13";

/// Microsoft's own apps every Global policy starts with (Teams app ids as the admin center shows them).
pub const MICROSOFT_APPS: &[(&str, &str)] = &[
    ("14d6962d-6eeb-4f48-8890-de55454bb136", "Activity"),
    ("86fcd49b-61a2-4e1f-8c3e-ee0da0e3c9d5", "Chat"),
    ("2a84919f-59d8-4441-a975-2a8c2643b741", "Teams"),
    ("ef56c0de-36fc-4ef8-b417-3d82ba9d073c", "Calendar"),
    ("20c3440d-c67e-4420-9f80-0e50c39693df", "Calling"),
    ("5af6a76b-40fc-4ba1-af29-8f49b08e44fd", "Files"),
];

fn yes() -> bool {
    true
}

fn default_app_id() -> String {
    DEMO_APP_ID.to_owned()
}

fn default_app_name() -> String {
    "MSPbots".to_owned()
}

fn default_version() -> String {
    "1.4.0".to_owned()
}

fn default_cloud() -> String {
    "public".to_owned()
}

fn microsoft_ids() -> Vec<String> {
    MICROSOFT_APPS.iter().map(|(id, _)| (*id).to_owned()).collect()
}

/// How the Teams admin configuration API answers for setup policies.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyApi {
    /// Reads and merges as expected.
    #[default]
    Ok,
    /// Refuses with 40301, as the legacy surface does under partner (GDAP) access.
    PartnerForbidden,
    /// Answers in a shape the wizard does not know (a future API change).
    UnexpectedShape,
}

/// How the tenant manages Teams apps (`docs/teams-app-centric.md`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Management {
    /// Since 2025–26: availability and installs are set on each app; setup policies keep their pins and their
    /// existing installed apps, and take no new ones.
    #[default]
    AppCentric,
    /// Setup policies install apps (`AppPresetList`); app permission policies decide availability.
    Legacy,
}

/// App-centric tenants: what a write that adds to a setup policy's installed apps does (nobody has reported which;
/// both are modelled).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NewPolicyInstalls {
    /// 400 with a message saying installs are managed per app.
    #[default]
    Refused,
    /// 204, and the read-back lacks the addition.
    Ignored,
}

/// Who may use the vendor app.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Availability {
    #[default]
    Everyone,
    /// The users of `available_to` only.
    Some,
    NoOne,
    /// Blocked by the admin (whoever it is available to).
    Blocked,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Everyone => "everyone",
            Self::Some => "some",
            Self::NoOne => "no-one",
            Self::Blocked => "blocked",
        }
    }
}

fn default_propagation() -> f64 {
    1.0
}

/// An earlier upload of the vendor app to the organization's catalog.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgAppSpec {
    pub version: String,
    /// `published`, `submitted` (waiting for an admin's review) or `rejected`.
    #[serde(default = "published")]
    pub state: String,
}

fn published() -> String {
    "published".to_owned()
}

/// A custom app setup policy assigned to some users (it overrides Global for them).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPolicySpec {
    pub name: String,
    #[serde(default)]
    pub users: Vec<String>,
}

/// The scenario's `[teams]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsSpec {
    /// The vendor app's manifest id.
    #[serde(default = "default_app_id")]
    pub app_id: String,
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// The store version.
    #[serde(default = "default_version")]
    pub app_version: String,
    /// The vendor app is in the Teams store (so the catalog lists it as a `store` app).
    #[serde(default = "yes")]
    pub in_store: bool,
    /// An earlier upload of the vendor app as a custom (organization) app.
    #[serde(default)]
    pub org_app: Option<OrgAppSpec>,
    /// Admins may upload custom apps.
    #[serde(default = "yes")]
    pub custom_upload: bool,
    /// Third-party (store) apps are allowed org-wide.
    #[serde(default = "yes")]
    pub third_party_apps: bool,
    /// Custom (organization) apps are allowed org-wide.
    #[serde(default = "yes")]
    pub custom_apps: bool,
    /// `public`, `gcc`, `gcc-high`, `dod` or `china` (what OpenID discovery says of the tenant).
    #[serde(default = "default_cloud")]
    pub cloud: String,
    /// The Global policy's installed and pinned apps at start.
    #[serde(default = "microsoft_ids")]
    pub global_installed: Vec<String>,
    #[serde(default = "microsoft_ids")]
    pub global_pinned: Vec<String>,
    #[serde(default)]
    pub custom_policies: Vec<CustomPolicySpec>,
    #[serde(default)]
    pub policy_api: PolicyApi,
    /// Installs per second the tenant accepts before answering 429 with `Retry-After: 1` (0: no limit).
    #[serde(default)]
    pub installs_per_second: u32,
    /// App-centric (the default, as commercial tenants run now) or legacy setup-policy installs.
    #[serde(default)]
    pub management: Management,
    /// App-centric: a write adding to a setup policy's installed apps is refused or ignored.
    #[serde(default)]
    pub new_policy_installs: NewPolicyInstalls,
    /// Who may use the vendor app at start.
    #[serde(default)]
    pub availability: Availability,
    /// With `availability = "some"`: the users (UPNs) it is available to.
    #[serde(default)]
    pub available_to: Vec<String>,
    /// The vendor app is installed for everyone (app-centric) at start.
    #[serde(default)]
    pub installed_for_everyone: bool,
    /// Seconds until a pin or an install for everyone reaches users' Teams (hours at Microsoft; seconds here).
    #[serde(default = "default_propagation")]
    pub propagation_secs: f64,
}

impl Default for TeamsSpec {
    fn default() -> Self {
        Self {
            app_id: default_app_id(),
            app_name: default_app_name(),
            app_version: default_version(),
            in_store: true,
            org_app: None,
            custom_upload: true,
            third_party_apps: true,
            custom_apps: true,
            cloud: default_cloud(),
            global_installed: microsoft_ids(),
            global_pinned: microsoft_ids(),
            custom_policies: Vec::new(),
            policy_api: PolicyApi::Ok,
            installs_per_second: 0,
            management: Management::AppCentric,
            new_policy_installs: NewPolicyInstalls::Refused,
            availability: Availability::Everyone,
            available_to: Vec::new(),
            installed_for_everyone: false,
            propagation_secs: default_propagation(),
        }
    }
}

/// `store`, `organization` or `sideloaded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    Store,
    Organization,
}

impl Distribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Organization => "organization",
        }
    }
}

/// One version of an app in the catalog.
#[derive(Clone, Debug)]
pub struct Definition {
    pub id: String,
    pub version: String,
    /// `published`, `submitted`, `rejected`.
    pub state: String,
    pub display_name: String,
    pub has_bot: bool,
}

/// An app in the tenant's catalog.
#[derive(Clone, Debug)]
pub struct CatalogApp {
    /// Catalog id (the manifest id for store apps, generated for organization apps).
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub distribution: Distribution,
    pub definitions: Vec<Definition>,
}

impl CatalogApp {
    /// The newest definition.
    pub fn latest(&self) -> Option<&Definition> {
        self.definitions.last()
    }
}

/// One app setup policy: its installed and pinned app ids (pins in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupPolicy {
    pub identity: String,
    pub description: String,
    pub installed: Vec<String>,
    pub pinned: Vec<String>,
    pub allow_user_pinning: bool,
    pub allow_side_loading: bool,
    /// Users it is assigned to (by UPN); Global applies to everyone else.
    pub users: Vec<String>,
}

/// The live Teams state of the simulated tenant.
#[derive(Debug)]
pub struct TeamsState {
    pub spec: TeamsSpec,
    pub catalog: Vec<CatalogApp>,
    /// Installed catalog app ids by user object id.
    pub installed: BTreeMap<String, Vec<(String, String)>>,
    pub policies: Vec<SetupPolicy>,
    /// Writes to the Global policy (for support: how often a run changed it).
    pub policy_writes: u32,
    /// When recent installs were accepted, for `installs_per_second`.
    pub recent_installs: std::collections::VecDeque<std::time::Instant>,
    /// Who may use the vendor app now (the admin center page changes it).
    pub availability: Availability,
    /// The vendor app's install for everyone (app-centric; the admin center page sets it).
    pub installed_for_everyone: bool,
    /// When the vendor app was first pinned or installed org-wide: users' Teams gain it `propagation_secs` later.
    pub delivery_since: Option<std::time::Instant>,
    /// It already was at start (an onboarded tenant): it has reached everyone it can.
    delivered_at_start: bool,
}

impl TeamsState {
    pub fn new(spec: &TeamsSpec, tenant_id: &str) -> Self {
        let mut catalog: Vec<CatalogApp> = MICROSOFT_APPS
            .iter()
            .map(|(id, name)| CatalogApp {
                id: (*id).to_owned(),
                external_id: (*id).to_owned(),
                display_name: (*name).to_owned(),
                distribution: Distribution::Store,
                definitions: vec![Definition {
                    id: stable_guid("definition", id),
                    version: "1.0".to_owned(),
                    state: "published".to_owned(),
                    display_name: (*name).to_owned(),
                    has_bot: false,
                }],
            })
            .collect();
        if spec.in_store {
            catalog.push(CatalogApp {
                id: spec.app_id.clone(),
                external_id: spec.app_id.clone(),
                display_name: spec.app_name.clone(),
                distribution: Distribution::Store,
                definitions: vec![Definition {
                    id: stable_guid("definition", &format!("store/{}", spec.app_id)),
                    version: spec.app_version.clone(),
                    state: "published".to_owned(),
                    display_name: spec.app_name.clone(),
                    has_bot: true,
                }],
            });
        }
        if let Some(org) = &spec.org_app {
            catalog.push(CatalogApp {
                id: stable_guid("org-app", &format!("{tenant_id}/{}", spec.app_id)),
                external_id: spec.app_id.clone(),
                display_name: spec.app_name.clone(),
                distribution: Distribution::Organization,
                definitions: vec![Definition {
                    id: stable_guid("definition", &format!("org/{}/{}", spec.app_id, org.version)),
                    version: org.version.clone(),
                    state: org.state.clone(),
                    display_name: spec.app_name.clone(),
                    has_bot: true,
                }],
            });
        }
        let mut policies = vec![
            SetupPolicy {
                identity: "Global".to_owned(),
                description: String::new(),
                installed: spec.global_installed.clone(),
                pinned: spec.global_pinned.clone(),
                allow_user_pinning: true,
                allow_side_loading: false,
                users: Vec::new(),
            },
            SetupPolicy {
                identity: "Tag:FirstlineWorker".to_owned(),
                description: "Setup policy for frontline workers (not customisable)".to_owned(),
                installed: microsoft_ids(),
                pinned: microsoft_ids().into_iter().take(4).collect(),
                allow_user_pinning: true,
                allow_side_loading: false,
                users: Vec::new(),
            },
        ];
        for c in &spec.custom_policies {
            policies.push(SetupPolicy {
                identity: format!("Tag:{}", c.name),
                description: String::new(),
                installed: microsoft_ids(),
                pinned: microsoft_ids(),
                allow_user_pinning: true,
                allow_side_loading: false,
                users: c.users.clone(),
            });
        }
        Self {
            spec: spec.clone(),
            catalog,
            installed: BTreeMap::new(),
            policies,
            policy_writes: 0,
            recent_installs: std::collections::VecDeque::new(),
            availability: spec.availability,
            installed_for_everyone: spec.installed_for_everyone,
            delivery_since: None,
            delivered_at_start: spec.installed_for_everyone
                || spec
                    .global_pinned
                    .iter()
                    .chain(&spec.global_installed)
                    .any(|id| id.eq_ignore_ascii_case(&spec.app_id)),
        }
    }

    /// Whether `app` is the vendor's (in the store or uploaded).
    pub fn is_vendor_app(&self, app: &CatalogApp) -> bool {
        app.external_id.eq_ignore_ascii_case(&self.spec.app_id)
    }

    /// Whether the vendor app is available to the user `upn` (and not blocked).
    pub fn available_to(&self, upn: &str) -> bool {
        match self.availability {
            Availability::Everyone => true,
            Availability::Some => self.spec.available_to.iter().any(|u| u.eq_ignore_ascii_case(upn)),
            Availability::NoOne | Availability::Blocked => false,
        }
    }

    /// The setup policy that applies to `upn`: a custom one assigned to them, else Global.
    pub fn policy_of(&self, upn: &str) -> Option<&SetupPolicy> {
        self.policies
            .iter()
            .find(|p| p.identity != "Global" && p.users.iter().any(|u| u.eq_ignore_ascii_case(upn)))
            .or_else(|| self.global())
    }

    /// Whether the vendor app `app_id` has reached `upn`'s Teams by itself (not installed for them one by one):
    /// a Teams licence, available to them, pinned or (legacy, or already there) installed by their setup policy or
    /// installed for everyone, and the propagation time past since that was first so.
    pub fn delivered(&self, app_id: &str, upn: &str, teams_licence: bool, now: std::time::Instant) -> bool {
        let has = |list: &[String]| list.iter().any(|id| id.eq_ignore_ascii_case(app_id));
        let by_policy = self.policy_of(upn).is_some_and(|p| has(&p.pinned) || has(&p.installed));
        let reached = self.delivered_at_start
            || self
                .delivery_since
                .is_some_and(|since| now.duration_since(since).as_secs_f64() >= self.spec.propagation_secs);
        teams_licence && self.available_to(upn) && (by_policy || self.installed_for_everyone) && reached
    }

    /// Notes that the vendor app is now pinned or installed org-wide (the first time counts).
    pub fn reaching_users(&mut self, now: std::time::Instant) {
        self.delivery_since.get_or_insert(now);
    }

    /// The catalog app with this catalog id.
    pub fn app(&self, id: &str) -> Option<&CatalogApp> {
        self.catalog.iter().find(|a| a.id.eq_ignore_ascii_case(id))
    }

    /// Why a user may not have this app, if they may not: blocked org-wide by type.
    pub fn blocked(&self, app: &CatalogApp) -> Option<&'static str> {
        let microsoft = MICROSOFT_APPS.iter().any(|(id, _)| *id == app.id);
        match app.distribution {
            Distribution::Store if !microsoft && !self.spec.third_party_apps => Some("Store"),
            Distribution::Organization if !self.spec.custom_apps => Some("Private"),
            _ => None,
        }
    }

    /// Counts an install against the per-second limit; false when it is over the limit.
    pub fn admit_install(&mut self, now: std::time::Instant) -> bool {
        let limit = self.spec.installs_per_second as usize;
        if limit == 0 {
            return true;
        }
        while self.recent_installs.front().is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(1))
        {
            self.recent_installs.pop_front();
        }
        if self.recent_installs.len() >= limit {
            return false;
        }
        self.recent_installs.push_back(now);
        true
    }

    pub fn global(&self) -> Option<&SetupPolicy> {
        self.policies.iter().find(|p| p.identity == "Global")
    }
}
