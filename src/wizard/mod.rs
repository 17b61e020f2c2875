//! The wizard's pure core: which steps exist, the exclusive states of each, and every transition between them.
//!
//! Pure means: no egui, tokio, reqwest, keyring, file system or clock here (docs/STYLE.md rule 1). [`Wizard::update`] takes
//! one [`Event`] and the current [`Moment`] and returns the [`Effect`]s the shell must carry out; results come
//! back as [`Event::Done`]. Deadlines, poll schedules and backoff are data in the states, so journeys of minutes
//! run in microseconds in tests. Secrets never enter the wizard: the shell keeps tokens, codes and verifiers and
//! refers to them by [`Attempt`].

mod approval;
pub mod board;
mod consent;
pub mod customer_checks;
mod failure;
mod messages;
mod policy;
mod preview;
mod progress;
mod sign_in;
mod teams;
mod verify;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use approval::DeviceApproval;
pub use consent::{Consent, ConsentCheck, ConsentGrant, Precheck, Watch};
pub use failure::{Failure, GraphError, IdentityError, LocalFailure, TeamsRefusal, TransportError, TransportKind};
pub use messages::{Effect, Event, Intent, Outcome};
use messages::{Routed, RoutedOutcome};
pub use policy::{
    Delivery, DeliveryReport, EveryoneInstall, Evidence, ManualReason, Missing, MissingReason, Model, PolicyChange,
    PolicyReading, PolicyStep, Reach, SAMPLE_SIZE, SampleUser, SetupPolicy, change_for, pinned_kept, recheck_after,
    sample as delivery_sample, verified,
};
pub use preview::{DirectoryUser, Gap, Load, ManagerRef, Preview, Readiness};
pub use progress::{Progress, Resume};
pub use sign_in::{
    Account, BrowserLaunch, CodeWait, DeviceCodeView, DevicePoll, Roles, SignIn, SignInMethod, SwitchReason,
};
pub use teams::{
    AppPlan, Blocker, Bulk, BulkCounts, BulkFailure, CatalogEntry, OrgAppSettings, PackageInfo, PublishingState,
    TeamsAppRef, TeamsFacts, TeamsStep, TenantCloud, everyone, plan, version_greater, warnings,
};
pub use verify::{
    AppPresence, Checklist, GrantReach, GrantedPermission, PermissionCheck, PermissionKind, PermissionState,
    ResourceApi, RoleCheck, Settling, TEAMS_ADMIN_ROLES, TeamsLicensing, TenantSnapshot, Verify, VerifyPhase,
    checklist, role_check,
};

/// The steps of the wizard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepId {
    Welcome,
    SignIn,
    AdminConsent,
    VerifyPermissions,
    TeamsApp,
    GlobalPolicy,
    Done,
}

impl StepId {
    /// Every step, in the order the admin walks them.
    pub const ALL: [Self; 7] = [
        Self::Welcome,
        Self::SignIn,
        Self::AdminConsent,
        Self::VerifyPermissions,
        Self::TeamsApp,
        Self::GlobalPolicy,
        Self::Done,
    ];

    /// The step's name in the step list.
    pub fn title(self) -> &'static str {
        match self {
            Self::Welcome => "Welcome",
            Self::SignIn => "Sign in",
            Self::AdminConsent => "Admin consent",
            Self::VerifyPermissions => "Verify permissions",
            Self::TeamsApp => "Teams app",
            Self::GlobalPolicy => "Global policy",
            Self::Done => "Done",
        }
    }
}

/// How a step stands, as the step list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    NotStarted,
    Running,
    Done,
    NeedsAttention,
    Skipped,
    /// Done on the tenant, taking effect over time (a setup policy reaching users' Teams).
    Pending,
}

impl StepStatus {
    /// Words for screen readers and the status column.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "not started",
            Self::Running => "running",
            Self::Done => "done",
            Self::NeedsAttention => "needs attention",
            Self::Skipped => "skipped",
            Self::Pending => "applied, taking effect",
        }
    }
}

/// Monotonic time as the shell reads it: milliseconds since the session started. The wizard never reads a clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Moment(u64);

impl Moment {
    /// A moment `millis` after the session started.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the session started.
    pub const fn millis(self) -> u64 {
        self.0
    }

    /// This moment plus `d`.
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
    }

    /// Time from `self` until `later` (zero if `later` is earlier).
    pub fn until(self, later: Self) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0))
    }
}

/// Identifies one run of an effect, so late results of abandoned work are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Attempt(pub u64);

/// Which API permissions a sign-in asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeSet {
    /// What anyone may grant: sign in, read one's own profile and roles.
    SignIn,
    /// The sign-in that also asks, in the same visit, for what the later steps need: [`ScopeSet::TenantRead`] and
    /// [`ScopeSet::TeamsSetup`], with consent to [`ScopeSet::TeamsAdmin`] (another resource: its tokens come by
    /// refresh). An admin approves them for the organization there; tokens are kept as [`ScopeSet::SignIn`]'s.
    SignInWithSteps,
    /// Read access to the tenant's applications and grants (needs an admin's approval).
    TenantRead,
    /// The Teams app catalog and installs for users (Graph), asking consent for the Teams admin API too.
    TeamsSetup,
    /// The Teams admin configuration API (setup policies).
    TeamsAdmin,
    /// A partner's sign-in to its own tenant, asking also to read its GDAP relationships (the board); its tokens
    /// serve the board's reads.
    Partner,
}

/// `prompt` for the authorize request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    /// Always show the account picker (the browser may hold the wrong session).
    SelectAccount,
    /// Show the consent page again.
    Consent,
}

/// Where the admin-consent redirect goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentRedirect {
    /// To the wizard's loopback listener (the redirect URI is `http://localhost` or `http://127.0.0.1`).
    Loopback,
    /// To the vendor's website: the wizard cannot see it and watches the tenant instead.
    External { url: String },
}

/// Which admin-consent endpoint to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentEndpoint {
    /// `/{tenant}/v2.0/adminconsent` with `scope=https://graph.microsoft.com/.default`.
    V2,
    /// `/{tenant}/adminconsent`.
    V1,
}

/// How long to wait for people and the tenant.
#[derive(Debug, Clone)]
pub struct Timing {
    /// For the admin to finish signing in in the browser.
    pub browser_sign_in: Duration,
    /// For the admin to finish the consent page.
    pub consent_page: Duration,
    /// First wait before re-checking the tenant; doubles up to `watch_max`.
    pub watch_first: Duration,
    pub watch_max: Duration,
    /// How long "still applying" may last before it becomes a failure.
    pub replication_patience: Duration,
    /// After a consent, how long permissions may stay missing while Microsoft applies it (re-checked meanwhile).
    pub settle_patience: Duration,
    /// First wait before re-checking the permissions; doubles up to `recheck_max`.
    pub recheck_first: Duration,
    pub recheck_max: Duration,
    /// How many of a partner's customers are read in their own tenants at once. Each tenant has its own Graph
    /// limits, so customers are read side by side; a customer's own requests stay few (under twenty).
    pub customers_at_once: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            browser_sign_in: Duration::from_secs(10 * 60),
            consent_page: Duration::from_secs(15 * 60),
            watch_first: Duration::from_secs(3),
            watch_max: Duration::from_secs(30),
            replication_patience: Duration::from_secs(10 * 60),
            settle_patience: Duration::from_secs(5 * 60),
            recheck_first: Duration::from_secs(2),
            recheck_max: Duration::from_secs(30),
            customers_at_once: 32,
        }
    }
}

/// One permission as the wizard explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionView {
    pub resource: ResourceApi,
    pub kind: PermissionKind,
    pub name: String,
    pub reason: String,
}

/// What the wizard needs to know about the vendor and the environment, fixed for the session.
#[derive(Debug, Clone)]
pub struct Settings {
    pub vendor_name: String,
    /// Sign in to this tenant (`--tenant`), else `organizations`.
    pub tenant_hint: Option<String>,
    /// The identity platform's base URL as people's browsers reach it, ending in `/`.
    pub login_browser_base: String,
    /// Graph's resource identifier in the tenant's cloud (the consent link asks for `{graph_resource}/.default`).
    pub graph_resource: String,
    /// The vendor's multi-tenant app.
    pub consent_client_id: String,
    pub consent_endpoint: ConsentEndpoint,
    pub consent_redirect: ConsentRedirect,
    /// The redirect URI registered on the consent app, for the shareable consent link.
    pub consent_redirect_uri: String,
    pub permissions: Vec<PermissionView>,
    /// The Teams app's name as the admin knows it.
    pub teams_app_name: String,
    /// Where an app's page of the Teams admin center is: this, then the catalog app id.
    pub teams_admin_center: String,
    pub timing: Timing,
}

/// The whole wizard.
#[derive(Debug, Clone)]
pub struct Wizard {
    settings: Settings,
    page: StepId,
    welcome_done: bool,
    sign_in: SignIn,
    consent: Consent,
    verify: Verify,
    preview: Preview,
    teams: TeamsStep,
    policy: PolicyStep,
    next_attempt: u64,
    resume: Resume,
    up_front: UpFront,
    /// How many times each step sent the admin to the browser (sign-in pages, consent pages, the admin center).
    visits: std::collections::BTreeMap<StepId, u32>,
    /// Approvals go by device code: the sign-in did, or the browser was blocked or missing for an approval.
    approve_by_code: bool,
    device_approval: Option<DeviceApproval>,
    /// Which way in Welcome took: one organization, or a partner's customers.
    way: board::WayIn,
    board: board::Board,
    /// The customers' checks in their own tenants (the partner's board).
    customer_checks: customer_checks::CustomerChecks,
}

/// Whether sign-in asks, in the same visit, for what the later steps need ([`ScopeSet::SignInWithSteps`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpFront {
    /// Ask at sign-in (the happy path: two visits to the browser in all).
    Ask,
    /// The admin declined it, or could not approve it: sign-in asks only for what anyone may grant, and each later
    /// step asks for its own permissions when it needs them. `why`: the sign-in's refusal.
    Declined { why: Failure },
}

impl Wizard {
    /// A wizard at the Welcome page.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            page: StepId::Welcome,
            welcome_done: false,
            sign_in: SignIn::Idle,
            consent: Consent::Locked,
            verify: Verify::default(),
            preview: Preview::default(),
            teams: TeamsStep::Locked,
            policy: PolicyStep::Locked,
            next_attempt: 1,
            resume: Resume::None,
            up_front: UpFront::Ask,
            visits: std::collections::BTreeMap::new(),
            approve_by_code: false,
            device_approval: None,
            way: board::WayIn::OneOrganization,
            board: board::Board::Closed,
            customer_checks: customer_checks::CustomerChecks::default(),
        }
    }

    /// Whether sign-in asks for the later steps' permissions too.
    pub fn up_front(&self) -> &UpFront {
        &self.up_front
    }

    /// True while the admin is expected in the browser (a sign-in, the consent page, an approval): when it turns
    /// false, the browser handed back and the window asks for attention.
    pub fn waits_for_browser(&self) -> bool {
        matches!(self.sign_in, SignIn::Browser { .. })
            || matches!(self.consent, Consent::Waiting { .. })
            || matches!(self.verify.phase, VerifyPhase::NeedsReadAccess { approval: Some(_), .. })
            || matches!(self.teams, TeamsStep::NeedsApproval { approval: Some(_), .. })
            || matches!(self.policy, PolicyStep::NeedsApproval { approval: Some(_), .. })
    }

    /// The sign-in that asked for the later steps' permissions too was refused them (declined, or this account
    /// may not approve them): "Sign in without approving now" ([`Intent::SignInWithBasicAccess`]) is offered.
    pub fn offers_basic_access(&self) -> bool {
        self.up_front == UpFront::Ask
            && self.way == board::WayIn::OneOrganization
            && matches!(&self.sign_in, SignIn::Failed { failure, .. } if failure.is_approval_refused())
    }

    /// The vendor app's page in the Teams admin center, once its catalog id is known.
    pub fn admin_center_url(&self) -> Option<String> {
        let page = format!("{}{}", self.settings.teams_admin_center, self.teams.catalog_id()?);
        // A partner's agent (an account of another organization) sees the customer's admin center in the
        // partner's context, named by `delegatedOrg` as Microsoft's own links for partners do
        // (docs/msp-multi-tenant.md).
        match self.account().filter(|a| a.home_tenant_id.is_some()) {
            Some(a) => {
                let org = a.tenant_domain.as_deref().unwrap_or(&a.tenant_id);
                Some(format!("{page}?delegatedOrg={}", crate::query::value(org)))
            }
            None => Some(page),
        }
    }

    /// How many times `step` sent the admin to the browser so far.
    pub fn browser_visits(&self, step: StepId) -> u32 {
        self.visits.get(&step).copied().unwrap_or(0)
    }

    /// The step an effect sends the admin to the browser for, if it does.
    fn visit_of(&self, effect: &Effect) -> Option<StepId> {
        match effect {
            Effect::BeginBrowserSignIn { .. } | Effect::BeginDeviceCode { .. } | Effect::BeginAdminConsent { .. } => {
                effect.step()
            }
            // The device code's own page is that sign-in's (or approval's) visit, already counted.
            Effect::OpenUrl { .. } if matches!(self.sign_in, SignIn::DeviceCode { .. }) => None,
            Effect::OpenUrl { url }
                if self
                    .device_approval
                    .as_ref()
                    .and_then(|d| d.wait.code.as_ref())
                    .is_some_and(|c| c.verification_uri == *url) =>
            {
                None
            }
            Effect::OpenUrl { .. } => Some(self.page),
            // No browser: that is its point.
            Effect::PollDeviceCode { .. }
            | Effect::SignInSilently { .. }
            | Effect::Abandon { .. }
            | Effect::CheckConsent { .. }
            | Effect::SignOut
            | Effect::ReadTenant { .. }
            | Effect::LoadDirectory { .. }
            | Effect::InspectTeams { .. }
            | Effect::SetUpTeamsApp { .. }
            | Effect::BulkInstall { .. }
            | Effect::ReadSetupPolicies { .. }
            | Effect::WriteGlobalPolicy { .. }
            | Effect::CheckDelivery { .. }
            | Effect::ReadPartner { .. }
            | Effect::SaveBoard { .. }
            | Effect::CheckCustomers { .. } => None,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The waits and pacing, to tune after the wizard started (benchmarks compare pacings on one session).
    pub fn timing_mut(&mut self) -> &mut Timing {
        &mut self.settings.timing
    }

    /// The step whose page is shown.
    pub fn page(&self) -> StepId {
        self.page
    }

    pub fn sign_in(&self) -> &SignIn {
        &self.sign_in
    }

    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    pub fn verify(&self) -> &Verify {
        &self.verify
    }

    pub fn preview(&self) -> &Preview {
        &self.preview
    }

    pub fn teams(&self) -> &TeamsStep {
        &self.teams
    }

    pub fn policy(&self) -> &PolicyStep {
        &self.policy
    }

    /// The signed-in account, once there is one.
    pub fn account(&self) -> Option<&Account> {
        match &self.sign_in {
            SignIn::Done(account) => Some(account),
            _ => None,
        }
    }

    fn new_attempt(&mut self) -> Attempt {
        let a = Attempt(self.next_attempt);
        self.next_attempt += 1;
        a
    }

    /// How a step stands.
    pub fn status(&self, step: StepId) -> StepStatus {
        match step {
            StepId::Welcome => {
                if self.welcome_done {
                    StepStatus::Done
                } else {
                    StepStatus::Running
                }
            }
            StepId::SignIn => self.sign_in.status(),
            StepId::AdminConsent => self.consent.status(),
            StepId::VerifyPermissions => self.verify.status(),
            StepId::TeamsApp => self.teams.status(),
            StepId::GlobalPolicy => self.policy.status(),
            StepId::Done => match (&self.teams, &self.policy) {
                (TeamsStep::Done { .. }, PolicyStep::Applied { .. }) => StepStatus::Done,
                (TeamsStep::Done { .. }, PolicyStep::Manual { .. }) => StepStatus::NeedsAttention,
                _ => StepStatus::NotStarted,
            },
        }
    }

    /// Every failure the pages show now, by step (for the diagnostics journal and bundle).
    pub fn failures(&self) -> Vec<(StepId, Failure)> {
        let mut out = Vec::new();
        match &self.sign_in {
            SignIn::Failed { failure, .. } => out.push((StepId::SignIn, failure.clone())),
            SignIn::DeviceCode { reason: Some(SwitchReason::ConditionalAccess(f)), .. } => {
                out.push((StepId::SignIn, f.clone()));
            }
            _ => {}
        }
        match &self.consent {
            Consent::Failed { failure, .. } => out.push((StepId::AdminConsent, failure.clone())),
            Consent::Done { check: ConsentCheck::Unconfirmed(f), .. } => out.push((StepId::AdminConsent, f.clone())),
            Consent::Waiting { watch, .. } | Consent::Applying { watch, .. } => {
                out.extend(watch.last_problem.clone().map(|f| (StepId::AdminConsent, f)));
            }
            _ => {}
        }
        match &self.verify.phase {
            VerifyPhase::Failed { failure } | VerifyPhase::NeedsReadAccess { failure, .. } => {
                out.push((StepId::VerifyPermissions, failure.clone()));
            }
            _ => {}
        }
        if let (Some(minutes), Some(list)) = (self.verify.gave_up_after_minutes, &self.verify.checklist)
            && !list.all_granted()
        {
            let names = list.missing().map(|p| p.name.clone()).collect();
            out.push((
                StepId::VerifyPermissions,
                Failure::Local(LocalFailure::PermissionsStillMissing { minutes, names }),
            ));
        }
        if let Load::Failed(f) = &self.preview.load {
            out.push((StepId::VerifyPermissions, f.clone()));
        }
        match &self.teams {
            TeamsStep::Blocked { blocker, .. } => out.push((StepId::TeamsApp, blocker.failure())),
            TeamsStep::Failed { failure, .. } | TeamsStep::NeedsApproval { failure, .. } => {
                out.push((StepId::TeamsApp, failure.clone()));
            }
            TeamsStep::Done { bulk: Bulk::Failed { failure, .. }, .. } => out.push((StepId::TeamsApp, failure.clone())),
            // The admin's own copy refused (no Teams licence): the step went on, the page says why.
            TeamsStep::Done { app: TeamsAppRef { admin_refusal: Some(f), .. }, .. } => {
                out.push((StepId::TeamsApp, f.clone()));
            }
            // The install for everyone finished with some users refused: the first refusal stands for them.
            TeamsStep::Done { bulk: Bulk::Finished { failures, .. }, .. } if !failures.is_empty() => {
                out.push((StepId::TeamsApp, failures[0].failure()));
            }
            _ => {}
        }
        match &self.policy {
            PolicyStep::Manual { why, .. } => out.push((StepId::GlobalPolicy, why.failure())),
            PolicyStep::NeedsApproval { failure, .. } => out.push((StepId::GlobalPolicy, failure.clone())),
            _ => {}
        }
        out
    }

    /// True when the step list may jump to `step`.
    pub fn can_show(&self, step: StepId) -> bool {
        match step {
            StepId::Welcome => true,
            StepId::SignIn => self.welcome_done,
            StepId::AdminConsent => !matches!(self.consent, Consent::Locked),
            StepId::VerifyPermissions => !matches!(self.verify.phase, VerifyPhase::Locked),
            StepId::TeamsApp => !matches!(self.teams, TeamsStep::Locked),
            StepId::GlobalPolicy => !matches!(self.policy, PolicyStep::Locked),
            StepId::Done => matches!(self.policy, PolicyStep::Applied { .. } | PolicyStep::Manual { .. }),
        }
    }

    /// The earliest moment at which [`Event::Tick`] changes something (for the shell to wake up then).
    pub fn next_deadline(&self) -> Option<Moment> {
        [
            self.sign_in.next_deadline(),
            self.consent.next_deadline(),
            self.verify.next_deadline(),
            self.policy_deadline(),
            self.device_approval.as_ref().and_then(|d| d.wait.next_deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The one transition function.
    #[must_use = "the effects must be carried out"]
    pub fn update(&mut self, event: Event, now: Moment) -> Vec<Effect> {
        let mut effects = match event {
            Event::User(intent) => match intent.route(self.page) {
                Routed::Continue => self.on_continue(now),
                Routed::ShowStep(step) => {
                    if self.can_show(step) {
                        self.page = step;
                    }
                    Vec::new()
                }
                Routed::SignIn(intent) => self.on_sign_in_intent(intent, now),
                Routed::Consent(intent) => self.on_consent_intent(intent, now),
                Routed::Verify(intent) => self.on_verify_intent(intent, now),
                Routed::Preview(intent) => self.on_preview_intent(intent),
                Routed::Teams(intent) => self.on_teams_intent(intent),
                Routed::Policy(intent) => self.on_policy_intent(intent, now),
                Routed::Board(intent) => self.on_board_intent(intent),
                Routed::Check(intent) => self.on_check_intent(intent),
            },
            Event::Done(outcome) => match outcome.route() {
                RoutedOutcome::SignIn(o) => match self.on_approval_outcome(o, now) {
                    Ok(effects) => effects,
                    Err(o) => self.on_sign_in_outcome(o, now),
                },
                RoutedOutcome::Consent(o) => self.on_consent_outcome(o, now),
                RoutedOutcome::Verify(o) => self.on_verify_outcome(o, now),
                RoutedOutcome::Preview(o) => self.on_preview_outcome(o),
                RoutedOutcome::Teams(o) => self.on_teams_outcome(o),
                RoutedOutcome::Policy(o) => self.on_policy_outcome(o, now),
                RoutedOutcome::Board(o) => self.on_board_outcome(o),
                RoutedOutcome::Check(o) => self.on_check_outcome(o),
                RoutedOutcome::AccessApproved { attempt, result } => self.on_access_approved(attempt, result, now),
            },
            Event::Tick => {
                let mut effects = self.on_sign_in_tick(now);
                effects.extend(self.on_consent_tick(now));
                effects.extend(self.on_verify_tick(now));
                effects.extend(self.on_policy_tick(now));
                effects.extend(self.on_approval_tick(now));
                effects
            }
        };
        self.forget_device_approval(&effects);
        effects.extend(self.after_consent_change(now));
        effects.extend(self.resume_onward(now));
        for effect in &effects {
            if let Some(step) = self.visit_of(effect) {
                *self.visits.entry(step).or_default() += 1;
            }
        }
        effects
    }

    /// A browser sign-in that could not open a browser was no visit (the device code that follows is).
    fn visit_not_made(&mut self, step: StepId) {
        if let Some(n) = self.visits.get_mut(&step) {
            *n = n.saturating_sub(1);
        }
    }

    fn on_continue(&mut self, now: Moment) -> Vec<Effect> {
        match self.page {
            StepId::Welcome => {
                self.welcome_done = true;
                self.page = StepId::SignIn;
            }
            StepId::SignIn if matches!(self.sign_in, SignIn::Done(_)) => self.page = StepId::AdminConsent,
            StepId::AdminConsent if matches!(self.consent, Consent::Done { .. }) => {
                self.page = StepId::VerifyPermissions;
                if matches!(self.verify.phase, VerifyPhase::Locked) {
                    return self.start_verify(now, true);
                }
            }
            StepId::VerifyPermissions if self.teams_unlocked() => return self.continue_to_teams(),
            StepId::TeamsApp if matches!(self.teams, TeamsStep::Done { .. }) => {
                self.page = StepId::GlobalPolicy;
                if matches!(self.policy, PolicyStep::Locked) {
                    return self.start_policy();
                }
            }
            StepId::GlobalPolicy if matches!(self.policy, PolicyStep::Applied { .. } | PolicyStep::Manual { .. }) => {
                self.page = StepId::Done;
            }
            _ => {}
        }
        Vec::new()
    }

    /// The link a customer's admin can open to grant consent themselves (no loopback: it uses the redirect URI
    /// registered on the vendor's app).
    pub fn consent_link(&self) -> Option<String> {
        let tenant = self.account().map_or_else(
            || self.settings.tenant_hint.clone().unwrap_or_else(|| "organizations".to_owned()),
            |a| a.tenant_id.clone(),
        );
        Some(self.consent_link_for(&tenant))
    }

    /// The consent link of `tenant` (a partner's customer, for its own admin).
    pub fn consent_link_for(&self, tenant: &str) -> String {
        let base = &self.settings.login_browser_base;
        let client = &self.settings.consent_client_id;
        let redirect = crate::query::value(&self.settings.consent_redirect_uri);
        match self.settings.consent_endpoint {
            ConsentEndpoint::V2 => format!(
                "{base}{tenant}/v2.0/adminconsent?client_id={client}&scope={}&redirect_uri={redirect}",
                crate::query::value(&format!("{}/.default", self.settings.graph_resource))
            ),
            ConsentEndpoint::V1 => format!("{base}{tenant}/adminconsent?client_id={client}&redirect_uri={redirect}"),
        }
    }
}

#[cfg(test)]
mod teams_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod verify_tests;
