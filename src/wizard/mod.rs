//! The wizard's pure core: which steps exist, the exclusive states of each, and every transition between them.
//!
//! Pure means: no egui, tokio, reqwest, keyring, file system or clock here (docs/STYLE.md rule 1). [`Wizard::update`] takes
//! one [`Event`] and the current [`Moment`] and returns the [`Effect`]s the shell must carry out; results come
//! back as [`Event::Done`]. Deadlines, poll schedules and backoff are data in the states, so journeys of minutes
//! run in microseconds in tests. Secrets never enter the wizard: the shell keeps tokens, codes and verifiers and
//! refers to them by [`Attempt`].

mod approval;
mod consent;
mod failure;
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
pub use policy::{
    Delivery, DeliveryReport, EveryoneInstall, Evidence, ManualReason, Missing, MissingReason, Model, PolicyChange,
    PolicyReading, PolicyStep, Reach, SAMPLE_SIZE, SampleUser, SetupPolicy, change_for, pinned_kept, recheck_after,
    verified,
};
pub use preview::{DirectoryUser, Gap, Load, ManagerRef, Preview, Readiness};
pub use progress::{Progress, Resume};
pub use sign_in::{Account, BrowserLaunch, DeviceCodeView, DevicePoll, Roles, SignIn, SignInMethod, SwitchReason};
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

/// Something the person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// The page's main button: leave Welcome, or go on from a finished step.
    Continue,
    /// Jump to a step in the step list (only steps already reached).
    ShowStep(StepId),
    SignInWithBrowser,
    SignInWithDeviceCode,
    /// Retry the failed sign-in the same way.
    RetrySignIn,
    CancelSignIn,
    /// Start over with another account (from the consent pre-check).
    SignInAsSomeoneElse,
    /// After the setup tool's own permissions were declined (or could not be approved) at sign-in: sign in asking
    /// only for what anyone may grant; each later step asks for what it needs, with its reason.
    SignInWithBasicAccess,
    /// Open the device-code verification page in the browser.
    OpenVerificationPage,
    /// Open the admin consent page.
    GrantConsent,
    /// "I've finished in the browser": look at the tenant now.
    ConsentFinishedInBrowser,
    CancelConsent,
    RetryConsent,
    /// Sign in again to let the setup tool read the tenant's applications.
    ApproveTenantRead,
    /// Read the tenant's grants again now.
    RecheckPermissions,
    /// Open the consent page again to grant what is missing, then re-check.
    GrantAgain,
    /// Stop loading the directory preview (what loaded stays).
    CancelPreview,
    /// Load the directory preview again from the start.
    ReloadPreview,
    /// Look at the tenant's Teams again (after fixing what blocked the app).
    RetryTeams,
    /// Sign in to let the setup tool manage Teams apps.
    ApproveTeamsAccess,
    /// Get the app into the tenant as planned and install it for the signed-in admin.
    InstallTeamsApp,
    /// Install the app for every user now (resumes an earlier run).
    InstallForEveryone,
    CancelBulk,
    /// Read the setup policies again (after a manual change, or to see the current state).
    CheckPolicyAgain,
    /// Sign in to let the setup tool use the Teams admin API.
    ApprovePolicyAccess,
    /// Add the app to the Global setup policy.
    ApplyPolicy,
    /// Read who has the app now (the delivery check).
    CheckDelivery,
    /// Open the app's page of the Teams admin center (installs and availability).
    OpenAdminCenter,
}

/// An intent with the step that takes it (`Intent::route`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Routed {
    Continue,
    ShowStep(StepId),
    SignIn(sign_in::SignInIntent),
    Consent(consent::ConsentIntent),
    Verify(verify::VerifyIntent),
    Preview(preview::PreviewIntent),
    Teams(teams::TeamsIntent),
    Policy(policy::PolicyIntent),
}

impl Intent {
    /// The step each intent is for: the one place every intent is named, so a new one fails to compile until a
    /// step takes it; each step's handler matches its own intents exhaustively. "Approve read access" is the
    /// verify page's when that page is shown, else the consent page's.
    fn route(self, page: StepId) -> Routed {
        use {consent::ConsentIntent as C, policy::PolicyIntent as P, preview::PreviewIntent as V};
        use {sign_in::SignInIntent as S, teams::TeamsIntent as T, verify::VerifyIntent as R};
        match self {
            Self::Continue => Routed::Continue,
            Self::ShowStep(step) => Routed::ShowStep(step),
            Self::SignInWithBrowser => Routed::SignIn(S::Browser),
            Self::SignInWithDeviceCode => Routed::SignIn(S::DeviceCode),
            Self::RetrySignIn => Routed::SignIn(S::Retry),
            Self::CancelSignIn => Routed::SignIn(S::Cancel),
            Self::SignInAsSomeoneElse => Routed::SignIn(S::AsSomeoneElse),
            Self::SignInWithBasicAccess => Routed::SignIn(S::BasicAccess),
            Self::OpenVerificationPage => Routed::SignIn(S::OpenVerificationPage),
            Self::GrantConsent => Routed::Consent(C::Grant),
            Self::ConsentFinishedInBrowser => Routed::Consent(C::FinishedInBrowser),
            Self::CancelConsent => Routed::Consent(C::CancelConsent),
            Self::RetryConsent => Routed::Consent(C::Retry),
            Self::ApproveTenantRead if page == StepId::VerifyPermissions => Routed::Verify(R::ApproveTenantRead),
            Self::ApproveTenantRead => Routed::Consent(C::ApproveTenantRead),
            Self::RecheckPermissions => Routed::Verify(R::Recheck),
            Self::GrantAgain => Routed::Verify(R::GrantAgain),
            Self::CancelPreview => Routed::Preview(V::Cancel),
            Self::ReloadPreview => Routed::Preview(V::Reload),
            Self::RetryTeams => Routed::Teams(T::Retry),
            Self::ApproveTeamsAccess => Routed::Teams(T::ApproveAccess),
            Self::InstallTeamsApp => Routed::Teams(T::Install),
            Self::InstallForEveryone => Routed::Teams(T::InstallForEveryone),
            Self::CancelBulk => Routed::Teams(T::CancelBulk),
            Self::CheckPolicyAgain => Routed::Policy(P::CheckAgain),
            Self::ApprovePolicyAccess => Routed::Policy(P::ApproveAccess),
            Self::ApplyPolicy => Routed::Policy(P::Apply),
            Self::CheckDelivery => Routed::Policy(P::CheckDelivery),
            Self::OpenAdminCenter => Routed::Policy(P::OpenAdminCenter),
        }
    }
}

/// An outcome with the step that takes it (`Outcome::route`).
#[derive(Debug)]
enum RoutedOutcome {
    SignIn(sign_in::SignInOutcome),
    Consent(consent::ConsentOutcome),
    Verify(verify::VerifyOutcome),
    Preview(preview::PreviewOutcome),
    Teams(teams::TeamsOutcome),
    Policy(policy::PolicyOutcome),
    /// An approval sign-in finished; the step that asked for it knows it by its attempt.
    AccessApproved {
        attempt: Attempt,
        result: Result<(), Failure>,
    },
}

impl Outcome {
    /// The step each outcome is for: the one place every outcome is named, so a new one fails to compile until a
    /// step takes it; each step's handler matches its own outcomes without a wildcard.
    fn route(self) -> RoutedOutcome {
        use {consent::ConsentOutcome as C, policy::PolicyOutcome as P, preview::PreviewOutcome as V};
        use {sign_in::SignInOutcome as S, teams::TeamsOutcome as T, verify::VerifyOutcome as R};
        match self {
            Self::BrowserSignInReady { attempt, authorize_url, launch } => {
                RoutedOutcome::SignIn(S::BrowserSignInReady { attempt, authorize_url, launch })
            }
            Self::SignInFinished { attempt, result } => RoutedOutcome::SignIn(S::SignInFinished { attempt, result }),
            Self::DeviceCodeReady { attempt, result } => RoutedOutcome::SignIn(S::DeviceCodeReady { attempt, result }),
            Self::DevicePolled { attempt, result } => RoutedOutcome::SignIn(S::DevicePolled { attempt, result }),
            Self::ConsentPageReady { attempt, url, launch } => {
                RoutedOutcome::Consent(C::ConsentPageReady { attempt, url, launch })
            }
            Self::ConsentRedirect { attempt, result } => RoutedOutcome::Consent(C::ConsentRedirect { attempt, result }),
            Self::ConsentObserved { attempt, result } => RoutedOutcome::Consent(C::ConsentObserved { attempt, result }),
            Self::AccessApproved { attempt, result } => RoutedOutcome::AccessApproved { attempt, result },
            Self::TenantRead { attempt, result } => RoutedOutcome::Verify(R::TenantRead { attempt, result }),
            Self::DirectoryPage { attempt, users, total } => {
                RoutedOutcome::Preview(V::DirectoryPage { attempt, users, total })
            }
            Self::DirectoryLoaded { attempt, result } => RoutedOutcome::Preview(V::DirectoryLoaded { attempt, result }),
            Self::TeamsInspected { attempt, result } => RoutedOutcome::Teams(T::TeamsInspected { attempt, result }),
            Self::TeamsAppReady { attempt, result } => RoutedOutcome::Teams(T::TeamsAppReady { attempt, result }),
            Self::BulkProgress { attempt, counts } => RoutedOutcome::Teams(T::BulkProgress { attempt, counts }),
            Self::BulkFinished { attempt, result } => RoutedOutcome::Teams(T::BulkFinished { attempt, result }),
            Self::SetupPoliciesRead { attempt, result } => {
                RoutedOutcome::Policy(P::SetupPoliciesRead { attempt, result })
            }
            Self::DeliveryChecked { attempt, result } => RoutedOutcome::Policy(P::DeliveryChecked { attempt, result }),
            Self::GlobalPolicyWritten { attempt, result } => {
                RoutedOutcome::Policy(P::GlobalPolicyWritten { attempt, result })
            }
        }
    }
}

/// A result reported by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The loopback listener is up and the browser was (or could not be) opened.
    BrowserSignInReady {
        attempt: Attempt,
        authorize_url: String,
        launch: BrowserLaunch,
    },
    /// Code exchanged and the account read, or why not.
    SignInFinished {
        attempt: Attempt,
        result: Result<Account, Failure>,
    },
    /// The device code to show, or why there is none.
    DeviceCodeReady {
        attempt: Attempt,
        result: Result<DeviceCodeView, Failure>,
    },
    /// One poll of the token endpoint.
    DevicePolled {
        attempt: Attempt,
        result: DevicePoll,
    },
    /// The admin-consent page was (or could not be) opened.
    ConsentPageReady {
        attempt: Attempt,
        url: String,
        launch: BrowserLaunch,
    },
    /// The admin-consent redirect arrived at the loopback listener.
    ConsentRedirect {
        attempt: Attempt,
        result: Result<ConsentGrant, Failure>,
    },
    /// Whether the vendor app's service principal is in the tenant yet.
    ConsentObserved {
        attempt: Attempt,
        result: Result<bool, Failure>,
    },
    /// The extra approval for reading the tenant finished.
    AccessApproved {
        attempt: Attempt,
        result: Result<(), Failure>,
    },
    /// What the tenant granted the vendor app, and its Teams licences.
    TenantRead {
        attempt: Attempt,
        result: Result<TenantSnapshot, Failure>,
    },
    /// One page of the directory; `total` when Microsoft told the directory's size.
    DirectoryPage {
        attempt: Attempt,
        users: Vec<DirectoryUser>,
        total: Option<u64>,
    },
    /// The directory finished loading, or why not.
    DirectoryLoaded {
        attempt: Attempt,
        result: Result<(), Failure>,
    },
    /// What the tenant's Teams looks like for the app.
    TeamsInspected {
        attempt: Attempt,
        result: Result<TeamsFacts, Failure>,
    },
    /// The app is in the tenant and installed for the admin, or why not.
    TeamsAppReady {
        attempt: Attempt,
        result: Result<TeamsAppRef, Failure>,
    },
    /// Installing for everyone: the counts so far.
    BulkProgress {
        attempt: Attempt,
        counts: BulkCounts,
    },
    /// Installing for everyone finished: the counts and each failure, or why it stopped.
    BulkFinished {
        attempt: Attempt,
        result: Result<(BulkCounts, Vec<BulkFailure>), Failure>,
    },
    SetupPoliciesRead {
        attempt: Attempt,
        result: Result<PolicyReading, Failure>,
    },
    /// Who of the delivery sample has the app, per user id.
    DeliveryChecked {
        attempt: Attempt,
        result: Result<Vec<(String, Reach)>, Failure>,
    },
    /// The Global policy was written; the policy as read back.
    GlobalPolicyWritten {
        attempt: Attempt,
        result: Result<SetupPolicy, Failure>,
    },
}

/// Work for the shell. Every effect that starts work names its attempt; [`Effect::Abandon`] ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a loopback listener, open the browser at the authorize URL, wait for the redirect, redeem the code,
    /// read the account; report [`Outcome::BrowserSignInReady`] then [`Outcome::SignInFinished`]
    /// (or [`Outcome::AccessApproved`] for [`ScopeSet::TenantRead`]).
    BeginBrowserSignIn { attempt: Attempt, scopes: ScopeSet, prompt: Prompt, login_hint: Option<String> },
    /// Ask for a device code for `scopes` ([`ScopeSet::SignIn`] or [`ScopeSet::SignInWithSteps`]: the Graph part
    /// only, a device code serves one resource); report [`Outcome::DeviceCodeReady`].
    BeginDeviceCode { attempt: Attempt, scopes: ScopeSet },
    /// Poll once; report [`Outcome::DevicePolled`].
    PollDeviceCode { attempt: Attempt },
    /// Stop the attempt's work, close its listener and forget its secrets.
    Abandon { attempt: Attempt },
    /// Open a URL in the system browser (nothing is reported back).
    OpenUrl { url: String },
    /// Open the admin-consent page (with a loopback listener when the redirect comes back here); report
    /// [`Outcome::ConsentPageReady`], then [`Outcome::ConsentRedirect`] if it does.
    BeginAdminConsent { attempt: Attempt, tenant_id: String },
    /// Look for the vendor app's service principal in the tenant; report [`Outcome::ConsentObserved`].
    CheckConsent { attempt: Attempt },
    /// Forget the signed-in session (tokens) before signing in as someone else.
    SignOut,
    /// Read the vendor app's grants and the tenant's licences; report [`Outcome::TenantRead`].
    ReadTenant { attempt: Attempt },
    /// Page through the directory; report [`Outcome::DirectoryPage`]s then [`Outcome::DirectoryLoaded`].
    LoadDirectory { attempt: Attempt },
    /// Look at the tenant's cloud, catalog, org-wide app settings and the admin's apps, read the vendor's
    /// package and any unfinished install for everyone; report [`Outcome::TeamsInspected`].
    InspectTeams { attempt: Attempt, tenant_id: String },
    /// Carry out `plan` and install the app for the signed-in admin; report [`Outcome::TeamsAppReady`].
    SetUpTeamsApp { attempt: Attempt, plan: AppPlan },
    /// Install the app for `users` (object ids), resuming saved progress; report [`Outcome::BulkProgress`]es then
    /// [`Outcome::BulkFinished`].
    BulkInstall { attempt: Attempt, tenant_id: String, catalog_id: String, users: Vec<String> },
    /// Read the Global and the other setup policies; report [`Outcome::SetupPoliciesRead`].
    ReadSetupPolicies { attempt: Attempt },
    /// Write the Global policy's installed and pinned apps, then read it back; report
    /// [`Outcome::GlobalPolicyWritten`].
    WriteGlobalPolicy { attempt: Attempt, installed: Vec<String>, pinned: Vec<String> },
    /// Read whether each of `users` has the vendor app (and a Teams licence); report [`Outcome::DeliveryChecked`].
    CheckDelivery { attempt: Attempt, users: Vec<SampleUser> },
}

impl Effect {
    /// The step whose work this is (for the diagnostics journal); `None` for housekeeping.
    pub fn step(&self) -> Option<StepId> {
        Some(match self {
            Self::BeginBrowserSignIn { scopes, .. } | Self::BeginDeviceCode { scopes, .. } => match scopes {
                ScopeSet::SignIn | ScopeSet::SignInWithSteps => StepId::SignIn,
                ScopeSet::TenantRead => StepId::VerifyPermissions,
                ScopeSet::TeamsSetup => StepId::TeamsApp,
                ScopeSet::TeamsAdmin => StepId::GlobalPolicy,
            },
            Self::PollDeviceCode { .. } => StepId::SignIn,
            Self::BeginAdminConsent { .. } | Self::CheckConsent { .. } => StepId::AdminConsent,
            Self::ReadTenant { .. } | Self::LoadDirectory { .. } => StepId::VerifyPermissions,
            Self::InspectTeams { .. } | Self::SetUpTeamsApp { .. } | Self::BulkInstall { .. } => StepId::TeamsApp,
            Self::ReadSetupPolicies { .. } | Self::WriteGlobalPolicy { .. } | Self::CheckDelivery { .. } => {
                StepId::GlobalPolicy
            }
            Self::Abandon { .. } | Self::OpenUrl { .. } | Self::SignOut => return None,
        })
    }
}

/// What the wizard receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    User(Intent),
    Done(Outcome),
    /// Time passed (deadlines, polls, backoff).
    Tick,
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
            && matches!(&self.sign_in, SignIn::Failed { failure, .. } if failure.is_approval_refused())
    }

    /// The vendor app's page in the Teams admin center, once its catalog id is known.
    pub fn admin_center_url(&self) -> Option<String> {
        self.teams.catalog_id().map(|id| format!("{}{id}", self.settings.teams_admin_center))
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
                    .and_then(|d| d.code.as_ref())
                    .is_some_and(|c| c.verification_uri == *url) =>
            {
                None
            }
            Effect::OpenUrl { .. } => Some(self.page),
            Effect::PollDeviceCode { .. }
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
            | Effect::CheckDelivery { .. } => None,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
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
            self.device_approval.as_ref().and_then(DeviceApproval::next_deadline),
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
        let base = &self.settings.login_browser_base;
        let client = &self.settings.consent_client_id;
        let redirect = crate::query::value(&self.settings.consent_redirect_uri);
        Some(match self.settings.consent_endpoint {
            ConsentEndpoint::V2 => format!(
                "{base}{tenant}/v2.0/adminconsent?client_id={client}&scope={}&redirect_uri={redirect}",
                crate::query::value(&format!("{}/.default", self.settings.graph_resource))
            ),
            ConsentEndpoint::V1 => format!("{base}{tenant}/adminconsent?client_id={client}&redirect_uri={redirect}"),
        })
    }
}

#[cfg(test)]
mod teams_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod verify_tests;
