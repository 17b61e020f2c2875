//! What passes in and out of the wizard: the person's [`Intent`]s, the shell's [`Outcome`]s, the [`Effect`]s the
//! shell carries out, and the [`Event`]s [`super::Wizard::update`] takes; with the routing that hands each intent and
//! outcome to the step that takes it (`Intent::route`, `Outcome::route`), without a wildcard.

use super::{
    Account, AppPlan, Attempt, BrowserLaunch, BulkCounts, BulkFailure, ConsentGrant, DeviceCodeView, DevicePoll,
    DirectoryUser, Failure, PolicyReading, Prompt, Reach, SampleUser, ScopeSet, SetupPolicy, StepId, TeamsAppRef,
    TeamsFacts, TenantSnapshot, consent, policy, preview, sign_in, teams, verify,
};
/// Something the person did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The page's main button: leave Welcome, or go on from a finished step.
    Continue,
    /// Jump to a step in the step list (only steps already reached).
    ShowStep(StepId),
    SignInWithBrowser,
    SignInWithDeviceCode,
    /// Sign in with the sign-in this computer keeps, without a browser: a partner's agent going on in one of its
    /// customers' tenants (the partner's refresh token redeemed there, as GDAP allows).
    SignInWithSavedAccount,
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
    /// Welcome's second way in: sign in to the partner's own tenant and see every GDAP customer (the board).
    CustomersOfAPartner,
    /// Read the partner's customers again.
    RecheckCustomers,
    /// Check every customer where the user has roles, in its own tenant (consent, permissions, Teams app, pin).
    CheckCustomersTenants,
    /// Stop that check (what answered is kept).
    CancelCustomerChecks,
    /// Check one customer (its tenant id) in its own tenant again.
    CheckCustomerTenant(String),
    /// Open a customer's (its tenant id) Teams or Entra admin center in the partner's context, as its last check
    /// read it.
    OpenCustomerAdminCenter(String, super::customer_checks::AdminCenter),
}

/// An intent with the step that takes it (`Intent::route`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Routed {
    Continue,
    ShowStep(StepId),
    SignIn(sign_in::SignInIntent),
    Consent(consent::ConsentIntent),
    Verify(verify::VerifyIntent),
    Preview(preview::PreviewIntent),
    Teams(teams::TeamsIntent),
    Policy(policy::PolicyIntent),
    Board(super::board::BoardIntent),
    Check(super::customer_checks::CheckIntent),
}

impl Intent {
    /// The step each intent is for: the one place every intent is named, so a new one fails to compile until a
    /// step takes it; each step's handler matches its own intents exhaustively. "Approve read access" is the
    /// verify page's when that page is shown, else the consent page's.
    pub(super) fn route(self, page: StepId) -> Routed {
        use {consent::ConsentIntent as C, policy::PolicyIntent as P, preview::PreviewIntent as V};
        use {sign_in::SignInIntent as S, teams::TeamsIntent as T, verify::VerifyIntent as R};
        match self {
            Self::Continue => Routed::Continue,
            Self::ShowStep(step) => Routed::ShowStep(step),
            Self::SignInWithBrowser => Routed::SignIn(S::Browser),
            Self::SignInWithDeviceCode => Routed::SignIn(S::DeviceCode),
            Self::SignInWithSavedAccount => Routed::SignIn(S::Saved),
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
            Self::CustomersOfAPartner => Routed::Board(super::board::BoardIntent::Open),
            Self::RecheckCustomers => Routed::Board(super::board::BoardIntent::Recheck),
            Self::CheckCustomersTenants => Routed::Check(super::customer_checks::CheckIntent::CheckAll),
            Self::CancelCustomerChecks => Routed::Check(super::customer_checks::CheckIntent::Cancel),
            Self::CheckCustomerTenant(tenant) => Routed::Check(super::customer_checks::CheckIntent::One(tenant)),
            Self::OpenCustomerAdminCenter(tenant, center) => {
                Routed::Check(super::customer_checks::CheckIntent::OpenAdminCenter(tenant, center))
            }
        }
    }
}

/// An outcome with the step that takes it (`Outcome::route`).
#[derive(Debug)]
pub(super) enum RoutedOutcome {
    SignIn(sign_in::SignInOutcome),
    Consent(consent::ConsentOutcome),
    Verify(verify::VerifyOutcome),
    Preview(preview::PreviewOutcome),
    Teams(teams::TeamsOutcome),
    Policy(policy::PolicyOutcome),
    Board(super::board::BoardOutcome),
    Check(super::customer_checks::CheckOutcome),
    /// An approval sign-in finished; the step that asked for it knows it by its attempt.
    AccessApproved {
        attempt: Attempt,
        result: Result<(), Failure>,
    },
}

impl Outcome {
    /// The step each outcome is for: the one place every outcome is named, so a new one fails to compile until a
    /// step takes it; each step's handler matches its own outcomes without a wildcard.
    pub(super) fn route(self) -> RoutedOutcome {
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
            Self::PartnerSaved { attempt, saved } => {
                RoutedOutcome::Board(super::board::BoardOutcome::PartnerSaved { attempt, saved })
            }
            Self::CustomerChecked { attempt, tenant_id, result, at } => {
                RoutedOutcome::Check(super::customer_checks::CheckOutcome::One { attempt, tenant_id, result, at })
            }
            Self::CustomersChecked { attempt } => {
                RoutedOutcome::Check(super::customer_checks::CheckOutcome::AllDone { attempt })
            }
            Self::PartnerRead { attempt, result } => {
                RoutedOutcome::Board(super::board::BoardOutcome::PartnerRead { attempt, result })
            }
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
    /// The board as it was last saved for this partner tenant (shown while the live read runs).
    PartnerSaved {
        attempt: Attempt,
        saved: super::customer_checks::SavedBoard,
    },
    /// The partner's customers, relationships, access assignments and the user's groups, as read.
    PartnerRead {
        attempt: Attempt,
        result: Result<super::board::PartnerData, Failure>,
    },
    /// One customer's tenant as read there with the partner's account, or why it could not be (at `at`, Unix
    /// seconds).
    CustomerChecked {
        attempt: Attempt,
        tenant_id: String,
        result: Result<super::customer_checks::CustomerReading, Failure>,
        at: u64,
    },
    /// Every customer of the check has answered.
    CustomersChecked {
        attempt: Attempt,
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
    /// Redeem the refresh token this computer keeps at the tenant the session is for, for `scopes`, and read who
    /// signed in; no browser. Report [`Outcome::SignInFinished`].
    SignInSilently { attempt: Attempt, scopes: ScopeSet },
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
    /// Look at the tenant's cloud, catalog, org-wide app settings and (with `own_copy`) the admin's own apps and
    /// licence, read the vendor's package and any unfinished install for everyone; report
    /// [`Outcome::TeamsInspected`]. `own_copy` is false for an account of another organization (a partner's agent
    /// signed in by GDAP), which is no user of the tenant.
    InspectTeams { attempt: Attempt, tenant_id: String, own_copy: bool },
    /// Carry out `plan` and (with `own_copy`) install the app for the signed-in admin; report
    /// [`Outcome::TeamsAppReady`].
    SetUpTeamsApp { attempt: Attempt, plan: AppPlan, own_copy: bool },
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
    /// Read the partner's GDAP customers, their relationships and access assignments, the signed-in user's
    /// groups and each customer's cloud; report the board last saved for `partner_tenant` first, if there is one
    /// ([`Outcome::PartnerSaved`]), then [`Outcome::PartnerRead`].
    ReadPartner { attempt: Attempt, partner_tenant: String },
    /// Save the board and its checks for `partner_tenant` on this computer (privately; nothing is reported).
    SaveBoard { partner_tenant: String, saved: super::customer_checks::SavedBoard },
    /// Read each of `tenants` (customers' tenant ids) there with the partner's account, `at_once` at a time, each
    /// obeying its own tenant's throttling; report [`Outcome::CustomerChecked`] for each as it answers, then
    /// [`Outcome::CustomersChecked`].
    CheckCustomers { attempt: Attempt, tenants: Vec<String>, at_once: usize },
}

impl Effect {
    /// The step whose work this is (for the diagnostics journal); `None` for housekeeping.
    pub fn step(&self) -> Option<StepId> {
        Some(match self {
            Self::BeginBrowserSignIn { scopes, .. }
            | Self::BeginDeviceCode { scopes, .. }
            | Self::SignInSilently { scopes, .. } => match scopes {
                ScopeSet::SignIn | ScopeSet::SignInWithSteps | ScopeSet::Partner => StepId::SignIn,
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
            Self::Abandon { .. }
            | Self::OpenUrl { .. }
            | Self::SignOut
            | Self::ReadPartner { .. }
            | Self::SaveBoard { .. }
            | Self::CheckCustomers { .. } => return None,
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
