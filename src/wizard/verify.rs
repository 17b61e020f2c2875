//! Step 3, verify: read what the tenant really granted the vendor app, name what is missing, check what the Teams
//! steps will need, and re-check while a fresh consent replicates. The preview of the directory ([`super::preview`])
//! starts once the tenant can be read.
//!
//! ```text
//! Locked ──(consent done on its page, or Continue)──▶ Checking                 [ReadTenant]
//! Checking ──TenantRead(Ok)──▶ Checked{checklist}; settling: re-check 2 s → 30 s while anything is missing
//! Checking ──TenantRead(consent required | sign-in expired)──▶ NeedsReadAccess
//! Checking ──TenantRead(Err)──▶ Failed (the last checklist stays on screen)
//! NeedsReadAccess ──ApproveTenantRead──▶ NeedsReadAccess{approval}             [BeginBrowserSignIn(TenantRead)]
//! NeedsReadAccess ──AccessApproved(Ok)──▶ Checking                         [ReadTenant]
//! Checked | Failed ──RecheckPermissions──▶ Checking                             [ReadTenant]
//! Checked ──Tick ≥ next re-check (settling; the last one at the deadline)──▶ Checking  [ReadTenant]
//! Checking ──TenantRead(Ok, gaps, at the deadline)──▶ Checked{gave up: "still missing after N min"}
//! any ──GrantAgain──▶ (page: Admin consent, consent restarted) ─consent Done─▶ Checking, settling again
//! ```

use serde::{Deserialize, Serialize};

use super::{Attempt, Effect, Failure, Moment, StepId, StepStatus, Wizard};

/// Delegated (acts as the signed-in user) or application (acts as itself, no user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionKind {
    Delegated,
    Application,
}

impl PermissionKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Delegated => "delegated",
            Self::Application => "application",
        }
    }
}

/// The API a permission belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceApi {
    /// Microsoft Graph.
    Graph,
    /// Skype and Teams Tenant Admin API.
    TeamsAdmin,
}

impl ResourceApi {
    /// The resource's application id (the same in every tenant).
    pub fn app_id(self) -> &'static str {
        match self {
            Self::Graph => "00000003-0000-0000-c000-000000000000",
            Self::TeamsAdmin => "48ac35b8-9aa8-4d74-927d-1f4a14a0b239",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Graph => "Microsoft Graph",
            Self::TeamsAdmin => "Skype and Teams Tenant Admin API",
        }
    }

    /// The resource with this application id.
    pub fn from_app_id(app_id: &str) -> Option<Self> {
        [Self::Graph, Self::TeamsAdmin].into_iter().find(|r| r.app_id().eq_ignore_ascii_case(app_id))
    }
}

/// Whether the vendor app exists in the tenant (consent creates its service principal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AppPresence {
    NotFound,
    Found {
        object_id: String,
        /// False: the enterprise app is disabled, so nobody can sign in to it.
        enabled: bool,
    },
}

/// Who a delegated grant covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantReach {
    /// Admin consent: everyone in the organization (`consentType` `AllPrincipals`); always so for app roles.
    Organization,
    /// Only the users who consented themselves (`consentType` `Principal`).
    SomeUsers,
}

/// One permission the tenant granted the vendor app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantedPermission {
    /// The resource's application id (`00000003-…` for Graph).
    pub resource_app_id: String,
    pub resource_name: String,
    pub kind: PermissionKind,
    /// The permission value; an unresolvable app role shows its id.
    pub name: String,
    pub reach: GrantReach,
}

/// The tenant's Teams licences (from its subscriptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamsLicensing {
    /// Licences in use that include Microsoft Teams.
    pub licensed_users: u64,
    /// Products (SKU part numbers) that include Teams.
    pub products: Vec<String>,
}

/// What one reading of the tenant found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantSnapshot {
    pub app: AppPresence,
    pub granted: Vec<GrantedPermission>,
    /// Read separately: a failure here does not hide the permissions.
    pub licensing: Result<TeamsLicensing, Failure>,
}

/// How one permission stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionState {
    Granted,
    Missing,
    /// A delegated permission some users granted for themselves, but not for the organization.
    OnlySomeUsers,
    /// Granted, but the vendor profile does not ask for it.
    NotNeeded,
}

impl PermissionState {
    pub fn is_problem(self) -> bool {
        matches!(self, Self::Missing | Self::OnlySomeUsers)
    }
}

/// One row of the permission checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionCheck {
    pub resource_name: String,
    pub kind: PermissionKind,
    pub name: String,
    /// From the vendor profile; none for permissions it does not ask for.
    pub reason: Option<String>,
    pub state: PermissionState,
}

/// A role check for the Teams steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RoleCheck {
    /// Holds this role, which may change Teams apps and policies.
    Sufficient {
        role: String,
    },
    /// Holds none of the roles that may (these are what it holds).
    Insufficient {
        roles: Vec<String>,
    },
    Unknown {
        why: String,
    },
}

/// Entra roles that may manage Teams apps and app setup policies.
pub const TEAMS_ADMIN_ROLES: [&str; 2] = ["Global Administrator", "Teams Administrator"];

/// The checklist of one reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checklist {
    pub app: AppPresence,
    pub permissions: Vec<PermissionCheck>,
    pub teams: Result<TeamsLicensing, Failure>,
    pub role: RoleCheck,
    pub read_at: Moment,
}

impl Checklist {
    /// Required permissions not granted for the organization.
    pub fn missing(&self) -> impl Iterator<Item = &PermissionCheck> {
        self.permissions.iter().filter(|p| p.state.is_problem())
    }

    pub fn all_granted(&self) -> bool {
        matches!(self.app, AppPresence::Found { .. }) && self.missing().next().is_none()
    }

    /// True when the Teams steps can be expected to work: Teams licensed, a Teams admin role, app enabled.
    pub fn prerequisites_met(&self) -> bool {
        matches!(&self.teams, Ok(t) if t.licensed_users > 0)
            && matches!(self.role, RoleCheck::Sufficient { .. })
            && !matches!(self.app, AppPresence::Found { enabled: false, .. })
    }
}

/// Builds the checklist: every required permission with its state and reason, then what is granted but not
/// needed (sign-in scopes such as `openid` are never flagged).
pub fn checklist(required: &[super::PermissionView], snapshot: &TenantSnapshot) -> Vec<PermissionCheck> {
    const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];
    let same = |g: &GrantedPermission, resource: ResourceApi, kind: PermissionKind, name: &str| {
        g.resource_app_id.eq_ignore_ascii_case(resource.app_id()) && g.kind == kind && g.name.eq_ignore_ascii_case(name)
    };
    let found = matches!(snapshot.app, AppPresence::Found { .. });
    let mut rows: Vec<PermissionCheck> = required
        .iter()
        .map(|r| {
            let grants: Vec<&GrantedPermission> =
                snapshot.granted.iter().filter(|g| found && same(g, r.resource, r.kind, &r.name)).collect();
            let state = if grants.iter().any(|g| g.reach == GrantReach::Organization) {
                PermissionState::Granted
            } else if grants.is_empty() {
                PermissionState::Missing
            } else {
                PermissionState::OnlySomeUsers
            };
            PermissionCheck {
                resource_name: r.resource.display_name().to_owned(),
                kind: r.kind,
                name: r.name.clone(),
                reason: Some(r.reason.clone()),
                state,
            }
        })
        .collect();
    for g in &snapshot.granted {
        let wanted = required.iter().any(|r| same(g, r.resource, r.kind, &r.name));
        let listed = rows.iter().any(|row| row.kind == g.kind && row.name.eq_ignore_ascii_case(&g.name));
        if found && !wanted && !listed && !OIDC.iter().any(|o| o.eq_ignore_ascii_case(&g.name)) {
            rows.push(PermissionCheck {
                resource_name: g.resource_name.clone(),
                kind: g.kind,
                name: g.name.clone(),
                reason: None,
                state: PermissionState::NotNeeded,
            });
        }
    }
    rows
}

/// Whether the signed-in roles may manage Teams apps and policies.
pub fn role_check(roles: &super::Roles) -> RoleCheck {
    match roles {
        super::Roles::Unknown { why } => RoleCheck::Unknown { why: why.clone() },
        super::Roles::Known { names } => {
            match TEAMS_ADMIN_ROLES.iter().find(|r| names.iter().any(|n| n.eq_ignore_ascii_case(r))) {
                Some(role) => RoleCheck::Sufficient { role: (*role).to_owned() },
                None => RoleCheck::Insufficient { roles: names.clone() },
            }
        }
    }
}

/// Where the reading stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyPhase {
    /// Consent first.
    Locked,
    Checking {
        attempt: Attempt,
    },
    Checked,
    /// The setup tool may not read the tenant yet: an admin must approve it, or the sign-in expired and must be
    /// renewed in the browser.
    NeedsReadAccess {
        failure: Failure,
        approval: Option<Attempt>,
    },
    Failed {
        failure: Failure,
    },
}

/// Re-checking after a consent, while Microsoft applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settling {
    pub since: Moment,
    pub until: Moment,
    pub next_check: Option<Moment>,
    pub checks: u32,
}

/// The verify step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    pub phase: VerifyPhase,
    /// The latest checklist; stays on screen through re-checks and failures.
    pub checklist: Option<Checklist>,
    pub settling: Option<Settling>,
    /// Set when re-checks ran out of patience with permissions still missing: for how many minutes.
    pub gave_up_after_minutes: Option<u64>,
    /// "Grant again…" was pressed: returns here when the consent completes.
    pub regranting: bool,
}

impl Default for Verify {
    fn default() -> Self {
        Self {
            phase: VerifyPhase::Locked,
            checklist: None,
            settling: None,
            gave_up_after_minutes: None,
            regranting: false,
        }
    }
}

impl Verify {
    pub(super) fn status(&self) -> StepStatus {
        match &self.phase {
            VerifyPhase::Locked => StepStatus::NotStarted,
            VerifyPhase::Checking { .. } => StepStatus::Running,
            // The first approval of read access is a normal part of the step, not a problem.
            VerifyPhase::NeedsReadAccess { failure, .. } if failure.is_consent_required() => StepStatus::Running,
            VerifyPhase::NeedsReadAccess { .. } | VerifyPhase::Failed { .. } => StepStatus::NeedsAttention,
            VerifyPhase::Checked => match &self.checklist {
                Some(c) if c.all_granted() && c.prerequisites_met() => StepStatus::Done,
                _ if self.settling.is_some() => StepStatus::Running,
                _ => StepStatus::NeedsAttention,
            },
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Moment> {
        let s = self.settling?;
        if !matches!(self.phase, VerifyPhase::Checked) {
            return None;
        }
        s.next_check
    }

    /// True while the wizard waits for Microsoft to finish applying a consent.
    pub fn is_settling(&self) -> bool {
        self.settling.is_some()
    }
}

/// What the person can ask of the verify step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VerifyIntent {
    ApproveTenantRead,
    Recheck,
    GrantAgain,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum VerifyOutcome {
    TenantRead { attempt: Attempt, result: Result<TenantSnapshot, Failure> },
    AccessApproved { attempt: Attempt, result: Result<(), Failure> },
}

impl Wizard {
    /// Starts a reading of the tenant; with `settle`, keeps re-checking while anything is missing.
    pub(super) fn start_verify(&mut self, now: Moment, settle: bool) -> Vec<Effect> {
        let attempt = self.new_attempt();
        let mut effects = match &self.verify.phase {
            VerifyPhase::Checking { attempt } => vec![Effect::Abandon { attempt: *attempt }],
            _ => Vec::new(),
        };
        self.verify.phase = VerifyPhase::Checking { attempt };
        if settle {
            let t = &self.settings.timing;
            self.verify.settling =
                Some(Settling { since: now, until: now.plus(t.settle_patience), next_check: None, checks: 0 });
            self.verify.gave_up_after_minutes = None;
        }
        effects.push(Effect::ReadTenant { attempt });
        effects
    }

    pub(super) fn on_verify_intent(&mut self, intent: VerifyIntent, now: Moment) -> Vec<Effect> {
        if intent == VerifyIntent::GrantAgain {
            if self.account().is_none() {
                return Vec::new();
            }
            self.verify.regranting = true;
            self.verify.settling = None;
            self.page = StepId::AdminConsent;
            return self.restart_consent(now);
        }
        match (intent, &mut self.verify.phase) {
            (VerifyIntent::Recheck, VerifyPhase::Checked | VerifyPhase::Failed { .. }) => self.start_verify(now, false),
            (VerifyIntent::ApproveTenantRead, VerifyPhase::NeedsReadAccess { approval: approval @ None, .. }) => {
                let attempt = Attempt(self.next_attempt);
                self.next_attempt += 1;
                *approval = Some(attempt);
                vec![self.approval(attempt, super::ScopeSet::TenantRead)]
            }
            // Not in this state (a check already running, an approval already asked for): ignored.
            (VerifyIntent::Recheck | VerifyIntent::ApproveTenantRead | VerifyIntent::GrantAgain, _) => Vec::new(),
        }
    }

    pub(super) fn on_verify_outcome(&mut self, outcome: VerifyOutcome, now: Moment) -> Vec<Effect> {
        match (outcome, &mut self.verify.phase) {
            (VerifyOutcome::TenantRead { attempt, result }, VerifyPhase::Checking { attempt: a }) if attempt == *a => {
                match result {
                    Ok(snapshot) => self.on_snapshot(&snapshot, now),
                    Err(failure) if failure.needs_interactive_sign_in() => {
                        self.verify.phase = VerifyPhase::NeedsReadAccess { failure, approval: None };
                        Vec::new()
                    }
                    Err(failure) => {
                        self.verify.phase = VerifyPhase::Failed { failure };
                        self.verify.settling = None;
                        Vec::new()
                    }
                }
            }
            (VerifyOutcome::AccessApproved { attempt, result }, VerifyPhase::NeedsReadAccess { approval, failure })
                if *approval == Some(attempt) =>
            {
                match result {
                    Ok(()) => self.start_verify(now, false),
                    Err(f) => {
                        *approval = None;
                        *failure = f;
                        Vec::new()
                    }
                }
            }
            // Not this step's attempt, or not in this state: a late or abandoned result is ignored.
            (VerifyOutcome::TenantRead { .. } | VerifyOutcome::AccessApproved { .. }, _) => Vec::new(),
        }
    }

    fn on_snapshot(&mut self, snapshot: &TenantSnapshot, now: Moment) -> Vec<Effect> {
        let role = self.account().map_or(RoleCheck::Unknown { why: "not signed in".into() }, |a| role_check(&a.roles));
        let list = Checklist {
            app: snapshot.app.clone(),
            permissions: checklist(&self.settings.permissions, snapshot),
            teams: snapshot.licensing.clone(),
            role,
            read_at: now,
        };
        let complete = list.all_granted();
        self.verify.checklist = Some(list);
        self.verify.phase = VerifyPhase::Checked;
        let t = self.settings.timing.clone();
        if let Some(s) = &mut self.verify.settling {
            if complete {
                self.verify.settling = None;
            } else if now >= s.until {
                // The last check, at the deadline, still found gaps.
                let minutes = s.since.until(s.until).as_secs().div_ceil(60);
                self.verify.settling = None;
                self.verify.gave_up_after_minutes = Some(minutes);
            } else {
                let wait = t.recheck_first.saturating_mul(1 << s.checks.min(10)).min(t.recheck_max);
                s.checks += 1;
                s.next_check = Some(now.plus(wait).min(s.until));
            }
        }
        let mut effects = Vec::new();
        if complete || matches!(snapshot.app, AppPresence::Found { .. }) {
            effects.extend(self.start_preview_once());
        }
        effects
    }

    pub(super) fn on_verify_tick(&mut self, now: Moment) -> Vec<Effect> {
        let Some(s) = self.verify.settling else {
            return Vec::new();
        };
        if !matches!(self.verify.phase, VerifyPhase::Checked) {
            return Vec::new();
        }
        if s.next_check.is_some_and(|t| now >= t) {
            return self.start_verify(now, false);
        }
        Vec::new()
    }

    /// Called after every event. A consent that just finished on its page goes straight on to verify it; a
    /// "Grant again" that finished comes back here and re-checks.
    pub(super) fn after_consent_change(&mut self, now: Moment) -> Vec<Effect> {
        if !matches!(self.consent, super::Consent::Done { .. }) {
            return Vec::new();
        }
        if self.verify.regranting {
            self.verify.regranting = false;
            self.page = StepId::VerifyPermissions;
            return self.start_verify(now, true);
        }
        if self.page == StepId::AdminConsent && matches!(self.verify.phase, VerifyPhase::Locked) {
            self.page = StepId::VerifyPermissions;
            return self.start_verify(now, true);
        }
        Vec::new()
    }

    /// Abandons the running reading or approval, if any.
    pub(super) fn abandon_verify(&self) -> Vec<Effect> {
        match &self.verify.phase {
            VerifyPhase::Checking { attempt } => vec![Effect::Abandon { attempt: *attempt }],
            VerifyPhase::NeedsReadAccess { approval: Some(a), .. } => vec![Effect::Abandon { attempt: *a }],
            _ => Vec::new(),
        }
    }
}
