//! Step 4, the Teams app: find the vendor's app in the tenant's catalog, decide how to get it there (the store
//! listing, an earlier upload, or publishing the vendor's package), install it for the signed-in admin, and on
//! request for every user, batched, cancellable and resumable.
//!
//! ```text
//! Locked ──(verify done, Continue)──▶ Inspecting                                  [InspectTeams]
//! Inspecting ──TeamsInspected(Ok)──▶ Ready{plan} | Blocked{why}
//! Inspecting ──TeamsInspected(consent required | sign-in expired)──▶ NeedsApproval
//! Inspecting ──TeamsInspected(Err)──▶ Failed
//! NeedsApproval ──ApproveTeamsAccess──▶ NeedsApproval{approval}                   [BeginBrowserSignIn(TeamsSetup)]
//! NeedsApproval ──AccessApproved(Ok)──▶ Inspecting                            [InspectTeams]
//! Ready ──InstallTeamsApp──▶ Installing                                           [SetUpTeamsApp{plan}]
//! Installing ──TeamsAppReady(Ok)──▶ Done{app, for admin}
//! Installing ──TeamsAppReady(Err)──▶ Failed (Retry re-inspects)
//! Blocked | Failed ──RetryTeams──▶ Inspecting                                     [InspectTeams]
//! Done ──InstallForEveryone──▶ Done{bulk: Running}                                 [BulkInstall]
//! Done{bulk: Running} ──BulkProgress──▶ counts;  ──BulkFinished──▶ Done{bulk: Finished}
//! Done{bulk: Running} ──CancelBulk──▶ Done{bulk: Stopped (resumable)}              [Abandon]
//! ```

use serde::Serialize;

use super::{Attempt, Effect, Failure, ScopeSet, StepId, StepStatus, Wizard};

/// Which Microsoft cloud the tenant lives in (from OpenID discovery's `tenant_region_sub_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TenantCloud {
    Commercial,
    Gcc,
    GccHigh,
    Dod,
    Unknown,
}

/// A review or publishing state of a catalog entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishingState {
    Published,
    /// Waiting for an admin to approve it in the Teams admin center.
    Submitted,
    Rejected,
}

/// The vendor app as the tenant's catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// The catalog id: what installs and setup policies refer to.
    pub catalog_id: String,
    pub version: String,
    pub state: PublishingState,
}

/// The vendor's app package, as the profile ships it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    pub manifest_id: String,
    pub version: String,
}

/// What the tenant's org-wide Teams app settings say, where the setup tool could read them (`None`: unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OrgAppSettings {
    pub third_party_allowed: Option<bool>,
    pub custom_allowed: Option<bool>,
    pub custom_upload: Option<bool>,
}

/// An earlier install-for-everyone that did not finish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BulkCounts {
    /// Users to install for.
    pub total: u64,
    pub installed: u64,
    pub already_had: u64,
    pub failed: u64,
}

impl BulkCounts {
    pub fn done(&self) -> u64 {
        self.installed + self.already_had + self.failed
    }
}

/// What the setup tool learned before touching anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamsFacts {
    pub cloud: TenantCloud,
    /// The vendor app as a store app, if the catalog lists it.
    pub store: Option<CatalogEntry>,
    /// An earlier upload of the vendor app to the organization's catalog.
    pub org: Option<CatalogEntry>,
    pub package: Option<PackageInfo>,
    pub settings: OrgAppSettings,
    /// True when the admin already has the app.
    pub admin_has_app: bool,
    /// Whether the signed-in admin's own licences include Microsoft Teams (`/me/licenseDetails`), read before
    /// anything is installed for them; `None` when it could not be read (or was not: an account of another
    /// organization).
    pub admin_has_teams: Option<bool>,
    /// The signed-in account belongs to another organization (a partner's agent signed in by GDAP): it is no user
    /// of this tenant, so nothing is installed for it and its own apps are not read.
    pub admin_elsewhere: bool,
    /// Progress of an earlier install for everyone, kept on this computer.
    pub unfinished_bulk: Option<BulkCounts>,
}

/// How the app gets into the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AppPlan {
    /// Use the store listing.
    UseStore { catalog_id: String },
    /// Use the app already uploaded to the organization's catalog.
    UseOrg { catalog_id: String },
    /// Upload the vendor's package as a custom app.
    Publish { version: String },
    /// Publish the package as a new version of the earlier upload.
    Update { catalog_id: String, from: String, to: String },
}

/// Why the app cannot be set up automatically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Blocker {
    /// GCC High and DoD tenants have no third-party store apps.
    GovernmentCloud {
        cloud: TenantCloud,
    },
    /// The app is not in the store and the vendor ships no package.
    NotInCatalog,
    ThirdPartyAppsBlocked,
    CustomAppsBlocked,
    CustomUploadOff,
    /// The upload waits for an admin's approval in the Teams admin center.
    WaitingForReview {
        catalog_id: String,
    },
    Rejected {
        catalog_id: String,
    },
    /// The signed-in admin has no licence with Teams: installing the app for them will be refused (as a warning:
    /// the pins and the install for everyone do not need it).
    AdminWithoutTeamsLicence,
    /// The signed-in account belongs to another organization (a partner's agent signed in by GDAP): the app is
    /// not installed for it (as a warning: the pins and the install for everyone reach the tenant's users).
    AdminFromAnotherOrganization,
}

impl Blocker {
    /// The catalogue code of the explanation.
    pub fn code(&self) -> &'static str {
        match self {
            Self::GovernmentCloud { .. } => "teams_government_cloud",
            Self::NotInCatalog => "teams_app_not_in_catalog",
            Self::ThirdPartyAppsBlocked => "teams_third_party_apps_blocked",
            Self::CustomAppsBlocked => "teams_custom_apps_blocked",
            Self::CustomUploadOff => "teams_custom_upload_off",
            Self::WaitingForReview { .. } => "teams_app_waiting_for_review",
            Self::Rejected { .. } => "teams_app_rejected",
            Self::AdminWithoutTeamsLicence => "teams_admin_without_licence",
            Self::AdminFromAnotherOrganization => "teams_admin_from_another_organization",
        }
    }

    /// As a failure, for the one error panel.
    pub fn failure(&self) -> Failure {
        Failure::Local(super::LocalFailure::TeamsAppBlocked { code: self.code().to_owned() })
    }
}

/// Decides how to get the app, or why it cannot be done (pure: tested without a tenant). The org-wide settings
/// only warn ([`warnings`]): what they say may not apply to tenants on app-centric management, so the install's
/// own answer decides.
pub fn plan(facts: &TeamsFacts) -> Result<AppPlan, Blocker> {
    let government = matches!(facts.cloud, TenantCloud::GccHigh | TenantCloud::Dod);
    let newer =
        |have: &str| facts.package.as_ref().filter(|p| version_greater(&p.version, have)).map(|p| p.version.clone());
    if government {
        return Err(Blocker::GovernmentCloud { cloud: facts.cloud });
    }
    if let Some(store) = facts.store.as_ref().filter(|e| e.state == PublishingState::Published) {
        return Ok(AppPlan::UseStore { catalog_id: store.catalog_id.clone() });
    }
    if let Some(org) = &facts.org {
        return match (org.state, newer(&org.version)) {
            (_, Some(to)) => Ok(AppPlan::Update { catalog_id: org.catalog_id.clone(), from: org.version.clone(), to }),
            (PublishingState::Published, None) => Ok(AppPlan::UseOrg { catalog_id: org.catalog_id.clone() }),
            (PublishingState::Submitted, None) => Err(Blocker::WaitingForReview { catalog_id: org.catalog_id.clone() }),
            (PublishingState::Rejected, None) => Err(Blocker::Rejected { catalog_id: org.catalog_id.clone() }),
        };
    }
    match &facts.package {
        Some(p) => Ok(AppPlan::Publish { version: p.version.clone() }),
        None => Err(Blocker::NotInCatalog),
    }
}

/// What the org-wide app settings say against `plan`, where they could be read.
pub fn warnings(facts: &TeamsFacts, plan: &AppPlan) -> Vec<Blocker> {
    let s = facts.settings;
    let mut out = Vec::new();
    if facts.admin_elsewhere {
        out.push(Blocker::AdminFromAnotherOrganization);
    } else if facts.admin_has_teams == Some(false) {
        out.push(Blocker::AdminWithoutTeamsLicence);
    }
    match plan {
        AppPlan::UseStore { .. } if s.third_party_allowed == Some(false) => out.push(Blocker::ThirdPartyAppsBlocked),
        AppPlan::UseStore { .. } => {}
        AppPlan::Publish { .. } | AppPlan::Update { .. } | AppPlan::UseOrg { .. } => {
            if s.custom_allowed == Some(false) {
                out.push(Blocker::CustomAppsBlocked);
            }
            if s.custom_upload == Some(false) && !matches!(plan, AppPlan::UseOrg { .. }) {
                out.push(Blocker::CustomUploadOff);
            }
        }
    }
    out
}

/// Compares dotted versions numerically (`1.10.0` > `1.9.3`).
pub fn version_greater(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.trim().parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) > parse(b)
}

/// The app once it is in the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamsAppRef {
    pub catalog_id: String,
    pub version: String,
    /// What the setup tool did to get it there.
    pub via: AppPlan,
    /// False when the admin already had it (or could not get it: `admin_refusal`; or was not asked for it:
    /// `admin_elsewhere`).
    pub newly_installed_for_admin: bool,
    /// The admin's own install was refused for want of a Teams licence (Graph's refusal, kept for the bundle and
    /// its replay): the app is in the tenant, and pins and installs for everyone do not need the admin's licence
    /// (partner admins often have none in a customer's tenant), so the step goes on.
    pub admin_refusal: Option<Failure>,
    /// Not installed for the signed-in account: it belongs to another organization (a partner's agent by GDAP).
    pub admin_elsewhere: bool,
}

/// Installing for every user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bulk {
    Idle,
    Running {
        attempt: Attempt,
        counts: BulkCounts,
    },
    /// Cancelled or interrupted: the next start resumes.
    Stopped {
        counts: BulkCounts,
    },
    Finished {
        counts: BulkCounts,
        failures: Vec<BulkFailure>,
    },
    Failed {
        counts: BulkCounts,
        failure: Failure,
    },
}

/// A user the app could not be installed for, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkFailure {
    pub user: String,
    pub code: String,
    pub message: String,
}

impl BulkFailure {
    /// As the failure of the install it was (Graph's answer to `POST /users/{id}/teamwork/installedApps`), for the
    /// catalogue and the diagnostics bundle.
    pub fn failure(&self) -> Failure {
        let status = match self.code.as_str() {
            "BadRequest" => 400,
            "Forbidden" | "AccessDenied" => 403,
            "NotFound" => 404,
            "Conflict" => 409,
            "TooManyRequests" => 429,
            _ => 0,
        };
        Failure::Graph(super::GraphError {
            status,
            code: self.code.clone(),
            message: self.message.clone(),
            operation: "POST /v1.0/users/{id}/teamwork/installedApps".to_owned(),
            ..Default::default()
        })
    }
}

/// The Teams app step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamsStep {
    Locked,
    Inspecting {
        attempt: Attempt,
    },
    NeedsApproval {
        failure: Failure,
        approval: Option<Attempt>,
    },
    Ready {
        facts: TeamsFacts,
        plan: AppPlan,
    },
    Blocked {
        facts: TeamsFacts,
        blocker: Blocker,
    },
    Installing {
        attempt: Attempt,
        facts: TeamsFacts,
        plan: AppPlan,
    },
    Done {
        app: TeamsAppRef,
        facts: TeamsFacts,
        bulk: Bulk,
    },
    /// `catalog_id`: the app's id in the tenant's catalog when it was known before the failure (for the admin
    /// center's page of the app, when the install was refused for availability).
    Failed {
        failure: Failure,
        catalog_id: Option<String>,
    },
}

impl TeamsStep {
    pub(super) fn status(&self) -> StepStatus {
        match self {
            Self::Locked => StepStatus::NotStarted,
            Self::Inspecting { .. } | Self::Installing { .. } | Self::Ready { .. } => StepStatus::Running,
            Self::NeedsApproval { failure, .. } if failure.is_consent_required() => StepStatus::Running,
            Self::NeedsApproval { .. } | Self::Blocked { .. } | Self::Failed { .. } => StepStatus::NeedsAttention,
            Self::Done { .. } => StepStatus::Done,
        }
    }

    /// The app's catalog id as far as it is known: once installed, or the one the failed install used.
    pub fn catalog_id(&self) -> Option<&str> {
        match self {
            Self::Done { app, .. } => Some(&app.catalog_id),
            Self::Failed { catalog_id, .. } => catalog_id.as_deref(),
            _ => None,
        }
    }

    /// The app's catalog id once it is in the tenant.
    pub fn app(&self) -> Option<&TeamsAppRef> {
        match self {
            Self::Done { app, .. } => Some(app),
            _ => None,
        }
    }
}

/// Who the app goes to when installing for everyone: enabled members (guests and disabled accounts are left out).
pub fn everyone(users: &[super::DirectoryUser]) -> Vec<String> {
    users.iter().filter(|u| u.enabled && !u.guest).map(|u| u.id.clone()).collect()
}

/// What the person can ask of the Teams app step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TeamsIntent {
    Retry,
    ApproveAccess,
    Install,
    InstallForEveryone,
    CancelBulk,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TeamsOutcome {
    TeamsInspected { attempt: Attempt, result: Result<TeamsFacts, Failure> },
    TeamsAppReady { attempt: Attempt, result: Result<TeamsAppRef, Failure> },
    BulkProgress { attempt: Attempt, counts: BulkCounts },
    BulkFinished { attempt: Attempt, result: Result<(BulkCounts, Vec<BulkFailure>), Failure> },
    AccessApproved { attempt: Attempt, result: Result<(), Failure> },
}

impl Wizard {
    pub(super) fn start_teams(&mut self) -> Vec<Effect> {
        let mut effects = self.abandon_teams();
        let attempt = self.new_attempt();
        self.teams = TeamsStep::Inspecting { attempt };
        effects.push(Effect::InspectTeams { attempt, tenant_id: self.tenant_id(), own_copy: self.own_copy() });
        effects
    }

    pub(super) fn abandon_teams(&self) -> Vec<Effect> {
        match &self.teams {
            TeamsStep::Inspecting { attempt } | TeamsStep::Installing { attempt, .. } => {
                vec![Effect::Abandon { attempt: *attempt }]
            }
            TeamsStep::NeedsApproval { approval: Some(a), .. } => vec![Effect::Abandon { attempt: *a }],
            TeamsStep::Done { bulk: Bulk::Running { attempt, .. }, .. } => vec![Effect::Abandon { attempt: *attempt }],
            _ => Vec::new(),
        }
    }

    pub(super) fn on_teams_intent(&mut self, intent: TeamsIntent) -> Vec<Effect> {
        match intent {
            TeamsIntent::Retry => match self.teams {
                TeamsStep::Blocked { .. } | TeamsStep::Failed { .. } | TeamsStep::Ready { .. } => self.start_teams(),
                _ => Vec::new(),
            },
            TeamsIntent::ApproveAccess => {
                let attempt = Attempt(self.next_attempt);
                let TeamsStep::NeedsApproval { approval: approval @ None, .. } = &mut self.teams else {
                    return Vec::new();
                };
                *approval = Some(attempt);
                self.next_attempt += 1;
                vec![self.approval(attempt, ScopeSet::TeamsSetup)]
            }
            TeamsIntent::Install => {
                let TeamsStep::Ready { facts, plan } = &self.teams else {
                    return Vec::new();
                };
                let (facts, plan) = (facts.clone(), plan.clone());
                let attempt = self.new_attempt();
                self.teams = TeamsStep::Installing { attempt, facts, plan: plan.clone() };
                vec![Effect::SetUpTeamsApp { attempt, plan, own_copy: self.own_copy() }]
            }
            TeamsIntent::InstallForEveryone => {
                let users = everyone(&self.preview.users);
                let tenant_id = self.tenant_id();
                let attempt = Attempt(self.next_attempt);
                let TeamsStep::Done { app, bulk, facts } = &mut self.teams else {
                    return Vec::new();
                };
                if matches!(bulk, Bulk::Running { .. }) || users.is_empty() {
                    return Vec::new();
                }
                self.next_attempt += 1;
                // Progress from an earlier run on this computer is resumed by the shell; counts start from it.
                let counts = facts
                    .unfinished_bulk
                    .take()
                    .unwrap_or(BulkCounts { total: users.len() as u64, ..BulkCounts::default() });
                *bulk = Bulk::Running { attempt, counts };
                vec![Effect::BulkInstall { attempt, tenant_id, catalog_id: app.catalog_id.clone(), users }]
            }
            TeamsIntent::CancelBulk => {
                let TeamsStep::Done { bulk, .. } = &mut self.teams else {
                    return Vec::new();
                };
                let Bulk::Running { attempt, counts } = bulk else {
                    return Vec::new();
                };
                let effect = Effect::Abandon { attempt: *attempt };
                *bulk = Bulk::Stopped { counts: *counts };
                vec![effect]
            }
        }
    }

    /// What the inspection found: ready with a plan, blocked, an approval to ask, or already set up (the admin has
    /// the store or org app: nothing to ask, straight to Done).
    fn teams_inspected(&mut self, result: Result<TeamsFacts, Failure>) {
        self.teams = match result {
            Ok(facts) => match plan(&facts) {
                Ok(plan) => TeamsStep::Ready { facts, plan },
                Err(blocker) => TeamsStep::Blocked { facts, blocker },
            },
            Err(failure) if failure.needs_interactive_sign_in() => TeamsStep::NeedsApproval { failure, approval: None },
            Err(failure) => TeamsStep::Failed { failure, catalog_id: None },
        };
        if let TeamsStep::Ready { facts, plan: plan @ (AppPlan::UseStore { .. } | AppPlan::UseOrg { .. }) } =
            &self.teams
            && facts.admin_has_app
        {
            let catalog_id = match plan {
                AppPlan::UseStore { catalog_id } | AppPlan::UseOrg { catalog_id } => catalog_id.clone(),
                _ => String::new(),
            };
            let version = facts.store.as_ref().or(facts.org.as_ref()).map(|e| e.version.clone()).unwrap_or_default();
            self.teams = TeamsStep::Done {
                app: TeamsAppRef {
                    catalog_id,
                    version,
                    via: plan.clone(),
                    newly_installed_for_admin: false,
                    admin_refusal: None,
                    admin_elsewhere: !self.own_copy(),
                },
                facts: facts.clone(),
                bulk: facts.unfinished_bulk.map_or(Bulk::Idle, |counts| Bulk::Stopped { counts }),
            };
        }
    }

    pub(super) fn on_teams_outcome(&mut self, outcome: TeamsOutcome) -> Vec<Effect> {
        match (outcome, &mut self.teams) {
            (TeamsOutcome::TeamsInspected { attempt, result }, TeamsStep::Inspecting { attempt: a })
                if attempt == *a =>
            {
                self.teams_inspected(result);
                Vec::new()
            }
            (TeamsOutcome::AccessApproved { attempt, result }, TeamsStep::NeedsApproval { approval, failure })
                if *approval == Some(attempt) =>
            {
                match result {
                    Ok(()) => {
                        *approval = None;
                        self.start_teams()
                    }
                    Err(f) => {
                        *approval = None;
                        *failure = f;
                        Vec::new()
                    }
                }
            }
            (TeamsOutcome::TeamsAppReady { attempt, result }, TeamsStep::Installing { attempt: a, facts, plan })
                if attempt == *a =>
            {
                self.teams = match result {
                    Ok(mut app) => {
                        if app.version.is_empty() {
                            let entry = facts.store.as_ref().or(facts.org.as_ref());
                            app.version = entry.map(|e| e.version.clone()).unwrap_or_default();
                        }
                        let bulk = facts.unfinished_bulk.map_or(Bulk::Idle, |counts| Bulk::Stopped { counts });
                        TeamsStep::Done { app, facts: facts.clone(), bulk }
                    }
                    Err(failure) if failure.needs_interactive_sign_in() => {
                        TeamsStep::NeedsApproval { failure, approval: None }
                    }
                    Err(failure) => {
                        let catalog_id = match plan {
                            AppPlan::UseStore { catalog_id }
                            | AppPlan::UseOrg { catalog_id }
                            | AppPlan::Update { catalog_id, .. } => Some(catalog_id.clone()),
                            AppPlan::Publish { .. } => None,
                        };
                        TeamsStep::Failed { failure, catalog_id }
                    }
                };
                Vec::new()
            }
            (
                TeamsOutcome::BulkProgress { attempt, counts },
                TeamsStep::Done { bulk: Bulk::Running { attempt: a, counts: c }, .. },
            ) if attempt == *a => {
                *c = counts;
                Vec::new()
            }
            (TeamsOutcome::BulkFinished { attempt, result }, TeamsStep::Done { bulk, .. }) => {
                let Bulk::Running { attempt: a, counts } = bulk else {
                    return Vec::new();
                };
                if *a != attempt {
                    return Vec::new();
                }
                let counts = *counts;
                *bulk = match result {
                    Ok((counts, failures)) => Bulk::Finished { counts, failures },
                    Err(failure) => Bulk::Failed { counts, failure },
                };
                Vec::new()
            }
            // Not this step's attempt, or not in this state: a late or abandoned result is ignored.
            (
                TeamsOutcome::TeamsInspected { .. }
                | TeamsOutcome::TeamsAppReady { .. }
                | TeamsOutcome::BulkProgress { .. }
                | TeamsOutcome::BulkFinished { .. }
                | TeamsOutcome::AccessApproved { .. },
                _,
            ) => Vec::new(),
        }
    }

    fn tenant_id(&self) -> String {
        self.account().map(|a| a.tenant_id.clone()).unwrap_or_default()
    }

    /// Whether the app can be installed for the signed-in account itself: not for an account of another
    /// organization (a partner's agent signed in by GDAP is no user of the customer's tenant).
    fn own_copy(&self) -> bool {
        self.account().is_none_or(|a| a.home_tenant_id.is_none())
    }

    /// True when the Teams step may start: permissions verified.
    pub(super) fn teams_unlocked(&self) -> bool {
        self.verify.checklist.as_ref().is_some_and(super::Checklist::all_granted)
    }

    pub(super) fn continue_to_teams(&mut self) -> Vec<Effect> {
        self.page = StepId::TeamsApp;
        if matches!(self.teams, TeamsStep::Locked) { self.start_teams() } else { Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> TeamsFacts {
        TeamsFacts {
            cloud: TenantCloud::Commercial,
            store: None,
            org: None,
            package: None,
            settings: OrgAppSettings::default(),
            admin_has_app: false,
            admin_has_teams: Some(true),
            admin_elsewhere: false,
            unfinished_bulk: None,
        }
    }

    fn entry(id: &str, version: &str, state: PublishingState) -> Option<CatalogEntry> {
        Some(CatalogEntry { catalog_id: id.into(), version: version.into(), state })
    }

    fn package(version: &str) -> Option<PackageInfo> {
        Some(PackageInfo { manifest_id: "m".into(), version: version.into() })
    }

    #[test]
    fn the_store_listing_wins_and_the_settings_only_warn() {
        let mut f =
            TeamsFacts { store: entry("s", "1.4.0", PublishingState::Published), package: package("9.9"), ..facts() };
        let p = plan(&f).unwrap();
        assert_eq!(p, AppPlan::UseStore { catalog_id: "s".into() });
        assert!(warnings(&f, &p).is_empty());
        f.settings.third_party_allowed = Some(false);
        assert_eq!(warnings(&f, &p), [Blocker::ThirdPartyAppsBlocked]);
        // An admin without Teams is told before the install; not knowing is no warning.
        f.admin_has_teams = Some(false);
        assert_eq!(warnings(&f, &p), [Blocker::AdminWithoutTeamsLicence, Blocker::ThirdPartyAppsBlocked]);
        f.admin_has_teams = None;
        assert_eq!(warnings(&f, &p), [Blocker::ThirdPartyAppsBlocked]);
        assert!(plan(&f).is_ok(), "a warning, not a blocker");
        f.cloud = TenantCloud::GccHigh;
        assert_eq!(plan(&f), Err(Blocker::GovernmentCloud { cloud: TenantCloud::GccHigh }));
        f.cloud = TenantCloud::Gcc;
        assert!(plan(&f).is_ok(), "GCC (moderate) has store apps");
    }

    #[test]
    fn packages_are_published_or_update_an_older_upload() {
        let f = TeamsFacts { package: package("1.4.0"), ..facts() };
        assert_eq!(plan(&f), Ok(AppPlan::Publish { version: "1.4.0".into() }));
        let older = TeamsFacts { org: entry("o", "1.2.0", PublishingState::Published), ..f.clone() };
        assert_eq!(
            plan(&older),
            Ok(AppPlan::Update { catalog_id: "o".into(), from: "1.2.0".into(), to: "1.4.0".into() })
        );
        let same = TeamsFacts { org: entry("o", "1.4.0", PublishingState::Published), ..f.clone() };
        assert_eq!(plan(&same), Ok(AppPlan::UseOrg { catalog_id: "o".into() }));
        let ten = TeamsFacts {
            org: entry("o", "1.10.0", PublishingState::Published),
            package: package("1.9.0"),
            ..f.clone()
        };
        assert_eq!(plan(&ten), Ok(AppPlan::UseOrg { catalog_id: "o".into() }), "1.10 is newer than 1.9");
        let waiting = TeamsFacts { org: entry("o", "1.4.0", PublishingState::Submitted), ..f.clone() };
        assert_eq!(plan(&waiting), Err(Blocker::WaitingForReview { catalog_id: "o".into() }));
        let rejected = TeamsFacts { org: entry("o", "1.4.0", PublishingState::Rejected), ..f.clone() };
        assert_eq!(plan(&rejected), Err(Blocker::Rejected { catalog_id: "o".into() }));
        let mut off = f.clone();
        off.settings.custom_upload = Some(false);
        off.settings.custom_allowed = Some(false);
        let p = plan(&off).unwrap();
        assert_eq!(warnings(&off, &p), [Blocker::CustomAppsBlocked, Blocker::CustomUploadOff]);
        let mut gov = f;
        gov.cloud = TenantCloud::Dod;
        assert_eq!(plan(&gov), Err(Blocker::GovernmentCloud { cloud: TenantCloud::Dod }));
        assert_eq!(plan(&facts()), Err(Blocker::NotInCatalog));
    }
}
