//! Step 1, sign in: system browser (authorization code + PKCE) or device code, then who signed in and where.
//!
//! ```text
//! Idle ──SignInWithBrowser──▶ Browser{url: None}                          [BeginBrowserSignIn]
//! Browser ──BrowserSignInReady(opened)──▶ Browser{url}
//! Browser ──BrowserSignInReady(not opened)──▶ DeviceCode{reason: NoBrowser} [Abandon, BeginDeviceCode]
//! Browser ──SignInFinished(Ok)──▶ Done        (consent unlocks; its page shows, looking for the vendor app)
//! Browser ──SignInFinished(Conditional Access)──▶ DeviceCode{reason: CA}   [BeginDeviceCode]
//! Browser ──SignInFinished(Err)──▶ Failed
//! Browser ──Tick ≥ deadline──▶ Failed{SignInTimedOut}                      [Abandon]
//! Idle | Failed ──SignInWithDeviceCode──▶ DeviceCode{code: None}           [BeginDeviceCode]
//! DeviceCode ──DeviceCodeReady(Ok)──▶ DeviceCode{code, next_poll = now + interval}
//! DeviceCode ──Tick ≥ next_poll──▶ DeviceCode{polling}                     [PollDeviceCode]
//! DeviceCode ──DevicePolled(Pending | SlowDown)──▶ DeviceCode{next_poll}   (slow_down adds 5 s to the interval)
//! DeviceCode ──DevicePolled(Finished Ok)──▶ Done
//! DeviceCode ──DevicePolled(Finished Err) | DeviceCodeReady(Err)──▶ Failed
//! DeviceCode ──Tick ≥ expires_at──▶ Failed{DeviceCodeExpired}              [Abandon]
//! Browser | DeviceCode ──CancelSignIn──▶ Idle                              [Abandon]
//! Failed ──RetrySignIn──▶ the same method again
//! Done ──SignInAsSomeoneElse──▶ Browser (prompt=select_account); consent locks again  [SignOut, BeginBrowserSignIn]
//! ```

use std::time::Duration;

use serde::Serialize;

use super::{Attempt, Consent, Effect, Failure, LocalFailure, Moment, Prompt, ScopeSet, StepId, StepStatus, Wizard};

/// RFC 8628: a `slow_down` answer adds five seconds to the polling interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The sign-in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Idle,
    /// Waiting for the admin in the system browser.
    Browser {
        attempt: Attempt,
        /// The authorize URL, shown with Copy; `None` until the listener is up.
        url: Option<String>,
        launch: BrowserLaunch,
        deadline: Moment,
    },
    /// Device code: the admin types the code on another page or device.
    DeviceCode {
        attempt: Attempt,
        /// Why the wizard switched to this method by itself, if it did.
        reason: Option<SwitchReason>,
        wait: CodeWait,
    },
    /// Signing in with the sign-in this computer keeps (no browser): a partner's agent in a customer's tenant.
    Saved {
        attempt: Attempt,
    },
    Done(Account),
    Failed {
        failure: Failure,
        method: SignInMethod,
    },
}

/// The two ways to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    Browser,
    DeviceCode,
}

/// Whether the system browser opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BrowserLaunch {
    Opened,
    /// Could not open one; the reason in words. The URL is still shown for copying.
    NotOpened {
        detail: String,
    },
}

/// Why sign-in moved to device code without being asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchReason {
    /// Browser sign-in was blocked by Conditional Access.
    ConditionalAccess(Failure),
    /// No browser could be opened on this computer.
    NoBrowser { detail: String },
}

/// The device code as the admin sees it (the device code itself stays in the shell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceCodeView {
    pub user_code: String,
    pub verification_uri: String,
    /// Microsoft's own instructions.
    pub message: String,
    pub expires_in: Duration,
    pub interval: Duration,
}

/// One poll's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    Pending,
    SlowDown,
    Finished(Result<Account, Failure>),
}

/// Who signed in, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub display_name: String,
    /// Sign-in name.
    pub upn: String,
    pub object_id: String,
    pub tenant_id: String,
    /// The tenant's name, when it could be read.
    pub tenant_name: Option<String>,
    /// The tenant's initial (`*.onmicrosoft.com`) or default domain, when it could be read.
    pub tenant_domain: Option<String>,
    pub roles: Roles,
    /// The account's own organization when it is not this tenant: a partner's agent signed in by GDAP (or a
    /// guest). Such an account is not a user of the tenant: it has no Teams of its own there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_tenant_id: Option<String>,
}

/// The account's directory roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Roles {
    Known {
        names: Vec<String>,
    },
    /// Could not be read; the consent step says so and lets the admin try.
    Unknown {
        why: String,
    },
}

impl Roles {
    /// True for the roles that may grant Microsoft Graph application permissions (`docs/microsoft-apis.md` A5).
    pub fn can_grant_graph_app_permissions(&self) -> Option<bool> {
        match self {
            Self::Known { names } => {
                Some(names.iter().any(|r| r == "Global Administrator" || r == "Privileged Role Administrator"))
            }
            Self::Unknown { .. } => None,
        }
    }
}

/// A device code being waited for (the sign-in's, or an approval's): the code to show, when it stops working, and
/// the polling schedule (RFC 8628: one poll per interval, `slow_down` adds five seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeWait {
    /// The code to show; `None` until Microsoft answered.
    pub code: Option<DeviceCodeView>,
    /// When the code stops working.
    pub expires_at: Option<Moment>,
    pub interval: Duration,
    next_poll: Option<Moment>,
    polling: bool,
}

/// What a tick means for a code being waited for.
pub(super) enum CodeDue {
    /// It stopped working: the attempt ends.
    Expired,
    /// Time to poll (now marked as polling).
    Poll,
    Nothing,
}

impl CodeWait {
    pub(super) fn new() -> Self {
        Self { code: None, expires_at: None, interval: Duration::from_secs(5), next_poll: None, polling: false }
    }

    /// Microsoft's code arrived at `now`.
    pub(super) fn ready(&mut self, view: DeviceCodeView, now: Moment) {
        self.expires_at = Some(now.plus(view.expires_in));
        self.interval = view.interval;
        self.next_poll = Some(now.plus(view.interval));
        self.code = Some(view);
    }

    /// A poll answered "not yet" (`slow_down` when Microsoft asked to poll less often): the next one is scheduled.
    pub(super) fn not_yet(&mut self, slow_down: bool, now: Moment) {
        self.polling = false;
        if slow_down {
            self.interval += SLOW_DOWN_STEP;
        }
        self.next_poll = Some(now.plus(self.interval));
    }

    pub(super) fn tick(&mut self, now: Moment) -> CodeDue {
        if self.expires_at.is_some_and(|at| now >= at) {
            return CodeDue::Expired;
        }
        if !self.polling && self.next_poll.is_some_and(|at| now >= at) {
            self.polling = true;
            return CodeDue::Poll;
        }
        CodeDue::Nothing
    }

    pub(super) fn next_deadline(&self) -> Option<Moment> {
        let poll = if self.polling { None } else { self.next_poll };
        [poll, self.expires_at].into_iter().flatten().min()
    }
}

impl SignIn {
    pub(super) fn status(&self) -> StepStatus {
        match self {
            Self::Idle => StepStatus::NotStarted,
            Self::Browser { .. } | Self::DeviceCode { .. } | Self::Saved { .. } => StepStatus::Running,
            Self::Done(_) => StepStatus::Done,
            Self::Failed { .. } => StepStatus::NeedsAttention,
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Moment> {
        match self {
            Self::Browser { deadline, .. } => Some(*deadline),
            Self::DeviceCode { wait, .. } => wait.next_deadline(),
            _ => None,
        }
    }

    /// The attempt whose work is running, if any.
    pub(super) fn running(&self) -> Option<Attempt> {
        match self {
            Self::Browser { attempt, .. } | Self::DeviceCode { attempt, .. } | Self::Saved { attempt } => {
                Some(*attempt)
            }
            _ => None,
        }
    }
}

/// What the person can ask of the sign-in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignInIntent {
    Browser,
    DeviceCode,
    Saved,
    Retry,
    Cancel,
    AsSomeoneElse,
    OpenVerificationPage,
    BasicAccess,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SignInOutcome {
    BrowserSignInReady { attempt: Attempt, authorize_url: String, launch: BrowserLaunch },
    SignInFinished { attempt: Attempt, result: Result<Account, Failure> },
    DeviceCodeReady { attempt: Attempt, result: Result<DeviceCodeView, Failure> },
    DevicePolled { attempt: Attempt, result: DevicePoll },
}

impl Wizard {
    fn begin_browser(&mut self, now: Moment, prompt: Prompt) -> Vec<Effect> {
        let attempt = self.new_attempt();
        self.sign_in = SignIn::Browser {
            attempt,
            url: None,
            launch: BrowserLaunch::Opened,
            deadline: now.plus(self.settings.timing.browser_sign_in),
        };
        // Picking up a saved setup: suggest the account that started it.
        let login_hint = match &self.resume {
            super::Resume::Waiting(saved) => Some(saved.account.clone()),
            _ => None,
        };
        vec![Effect::BeginBrowserSignIn { attempt, scopes: self.sign_in_scopes(), prompt, login_hint }]
    }

    /// What sign-in asks for: the partner's read on the way to the board; else the later steps' permissions too,
    /// unless the admin declined them.
    fn sign_in_scopes(&self) -> ScopeSet {
        if self.way == super::board::WayIn::Partner {
            return ScopeSet::Partner;
        }
        match self.up_front {
            super::UpFront::Ask => ScopeSet::SignInWithSteps,
            super::UpFront::Declined { .. } => ScopeSet::SignIn,
        }
    }

    fn begin_device_code(&mut self, reason: Option<SwitchReason>) -> Vec<Effect> {
        let attempt = self.new_attempt();
        self.sign_in = SignIn::DeviceCode { attempt, reason, wait: CodeWait::new() };
        vec![Effect::BeginDeviceCode { attempt, scopes: self.sign_in_scopes() }]
    }

    /// Abandons running sign-in work, if any.
    fn abandon_sign_in(&self) -> Vec<Effect> {
        self.sign_in.running().map(|attempt| Effect::Abandon { attempt }).into_iter().collect()
    }

    pub(super) fn on_sign_in_intent(&mut self, intent: SignInIntent, now: Moment) -> Vec<Effect> {
        match intent {
            SignInIntent::Browser if !self.sign_in_busy() => {
                self.page = StepId::SignIn;
                self.begin_browser(now, Prompt::SelectAccount)
            }
            // A failure of it falls back to the browser (Retry): the failure says why.
            SignInIntent::Saved if matches!(self.sign_in, SignIn::Idle | SignIn::Failed { .. }) => {
                let attempt = self.new_attempt();
                self.page = StepId::SignIn;
                self.sign_in = SignIn::Saved { attempt };
                vec![Effect::SignInSilently { attempt, scopes: self.sign_in_scopes() }]
            }
            SignInIntent::DeviceCode if !matches!(self.sign_in, SignIn::DeviceCode { .. } | SignIn::Done(_)) => {
                let mut effects = self.abandon_sign_in();
                self.page = StepId::SignIn;
                effects.extend(self.begin_device_code(None));
                effects
            }
            SignInIntent::Retry => match &self.sign_in {
                SignIn::Failed { method: SignInMethod::Browser, .. } => self.begin_browser(now, Prompt::SelectAccount),
                SignIn::Failed { method: SignInMethod::DeviceCode, .. } => self.begin_device_code(None),
                _ => Vec::new(),
            },
            SignInIntent::Cancel => {
                let effects = self.abandon_sign_in();
                if !effects.is_empty() {
                    self.sign_in = SignIn::Idle;
                }
                effects
            }
            SignInIntent::AsSomeoneElse => {
                let mut effects = self.abandon_sign_in();
                effects.extend(self.abandon_consent());
                effects.extend(self.abandon_verify());
                effects.extend(self.abandon_preview());
                effects.extend(self.abandon_teams());
                effects.extend(self.abandon_policy());
                effects.push(Effect::SignOut);
                // The next account may have a browser that works: approvals try it first again.
                self.approve_by_code = false;
                self.consent = Consent::Locked;
                self.verify = super::Verify::default();
                self.preview = super::Preview::default();
                self.teams = super::TeamsStep::Locked;
                self.policy = super::PolicyStep::Locked;
                self.page = StepId::SignIn;
                effects.extend(self.begin_browser(now, Prompt::SelectAccount));
                effects
            }
            SignInIntent::BasicAccess => match &self.sign_in {
                SignIn::Failed { failure, method } if self.offers_basic_access() => {
                    let method = *method;
                    self.up_front = super::UpFront::Declined { why: failure.clone() };
                    match method {
                        SignInMethod::Browser => self.begin_browser(now, Prompt::SelectAccount),
                        SignInMethod::DeviceCode => self.begin_device_code(None),
                    }
                }
                _ => Vec::new(),
            },
            SignInIntent::OpenVerificationPage => match &self.sign_in {
                SignIn::DeviceCode { wait: CodeWait { code: Some(code), .. }, .. } => {
                    vec![Effect::OpenUrl { url: code.verification_uri.clone() }]
                }
                // An approval's code (the step pages show it with the same button).
                _ => self
                    .device_approval
                    .as_ref()
                    .and_then(|d| d.wait.code.as_ref())
                    .map(|code| Effect::OpenUrl { url: code.verification_uri.clone() })
                    .into_iter()
                    .collect(),
            },
            // A sign-in is already under way (repeated clicks are ignored, docs/STYLE.md rule 8).
            SignInIntent::Browser | SignInIntent::DeviceCode | SignInIntent::Saved => Vec::new(),
        }
    }

    /// Repeated clicks while a sign-in is running are ignored (docs/STYLE.md rule 8).
    fn sign_in_busy(&self) -> bool {
        matches!(self.sign_in, SignIn::Browser { .. } | SignIn::Saved { .. } | SignIn::Done(_))
    }

    pub(super) fn on_sign_in_outcome(&mut self, outcome: SignInOutcome, now: Moment) -> Vec<Effect> {
        match outcome {
            SignInOutcome::BrowserSignInReady { attempt, authorize_url, launch } => {
                let SignIn::Browser { attempt: current, url, launch: shown, .. } = &mut self.sign_in else {
                    return Vec::new();
                };
                if *current != attempt {
                    return Vec::new();
                }
                *url = Some(authorize_url);
                match launch {
                    BrowserLaunch::Opened => {
                        *shown = BrowserLaunch::Opened;
                        Vec::new()
                    }
                    BrowserLaunch::NotOpened { detail } => {
                        self.visit_not_made(StepId::SignIn);
                        let mut effects = vec![Effect::Abandon { attempt }];
                        effects.extend(self.begin_device_code(Some(SwitchReason::NoBrowser { detail })));
                        effects
                    }
                }
            }
            SignInOutcome::SignInFinished { attempt, result } => {
                if !matches!(&self.sign_in, SignIn::Browser { attempt: a, .. } | SignIn::Saved { attempt: a } if *a == attempt)
                {
                    return Vec::new();
                }
                match result {
                    Ok(account) => self.signed_in(account, now),
                    Err(failure) if failure.is_conditional_access() => {
                        self.begin_device_code(Some(SwitchReason::ConditionalAccess(failure)))
                    }
                    Err(failure) => {
                        self.sign_in = SignIn::Failed { failure, method: SignInMethod::Browser };
                        Vec::new()
                    }
                }
            }
            SignInOutcome::DeviceCodeReady { attempt, result } => {
                let SignIn::DeviceCode { attempt: current, wait, .. } = &mut self.sign_in else {
                    return Vec::new();
                };
                if *current != attempt {
                    return Vec::new();
                }
                match result {
                    Ok(view) => {
                        wait.ready(view, now);
                        Vec::new()
                    }
                    Err(failure) => {
                        self.sign_in = SignIn::Failed { failure, method: SignInMethod::DeviceCode };
                        Vec::new()
                    }
                }
            }
            SignInOutcome::DevicePolled { attempt, result } => {
                let SignIn::DeviceCode { attempt: current, wait, .. } = &mut self.sign_in else {
                    return Vec::new();
                };
                if *current != attempt {
                    return Vec::new();
                }
                match result {
                    DevicePoll::Pending | DevicePoll::SlowDown => {
                        wait.not_yet(result == DevicePoll::SlowDown, now);
                        Vec::new()
                    }
                    DevicePoll::Finished(Ok(account)) => {
                        // The browser was not the way to sign in: the approvals go by code too.
                        self.approve_by_code = true;
                        self.signed_in(account, now)
                    }
                    DevicePoll::Finished(Err(failure)) => {
                        self.sign_in = SignIn::Failed { failure, method: SignInMethod::DeviceCode };
                        Vec::new()
                    }
                }
            }
        }
    }

    fn signed_in(&mut self, account: Account, now: Moment) -> Vec<Effect> {
        if self.way == super::board::WayIn::Partner {
            self.sign_in = SignIn::Done(account);
            return self.read_partner();
        }
        let precheck = super::consent::precheck(&account.roles);
        self.sign_in = SignIn::Done(account);
        self.consent = Consent::Ready { precheck };
        // On to the consent page by itself: it shows who signed in (a Continue here would ask nothing).
        if self.page == StepId::SignIn {
            self.page = StepId::AdminConsent;
        }
        let mut effects = Vec::new();
        // Another account may be another tenant: nothing read before still holds.
        effects.extend(self.abandon_verify());
        effects.extend(self.abandon_preview());
        effects.extend(self.abandon_teams());
        self.verify = super::Verify::default();
        self.preview = super::Preview::default();
        self.teams = super::TeamsStep::Locked;
        self.policy = super::PolicyStep::Locked;
        effects.extend(self.take_up_saved(now));
        // With the tenant's read access approved at sign-in, look first whether the vendor's consent is already
        // there (a re-run on a tenant set up before): then its page is not needed, and verify says what it holds.
        if let (Consent::Ready { precheck }, super::UpFront::Ask) = (&self.consent, &self.up_front) {
            let precheck = precheck.clone();
            let attempt = self.new_attempt();
            self.consent = Consent::Looking { attempt, precheck };
            effects.push(Effect::CheckConsent { attempt });
        }
        effects
    }

    pub(super) fn on_sign_in_tick(&mut self, now: Moment) -> Vec<Effect> {
        match &mut self.sign_in {
            SignIn::Browser { attempt, deadline, .. } if now >= *deadline => {
                let attempt = *attempt;
                let minutes = self.settings.timing.browser_sign_in.as_secs() / 60;
                self.sign_in = SignIn::Failed {
                    failure: Failure::Local(LocalFailure::SignInTimedOut { minutes }),
                    method: SignInMethod::Browser,
                };
                vec![Effect::Abandon { attempt }]
            }
            SignIn::DeviceCode { attempt, wait, .. } => {
                let attempt = *attempt;
                match wait.tick(now) {
                    CodeDue::Expired => {
                        self.sign_in = SignIn::Failed {
                            failure: Failure::Local(LocalFailure::DeviceCodeExpired),
                            method: SignInMethod::DeviceCode,
                        };
                        vec![Effect::Abandon { attempt }]
                    }
                    CodeDue::Poll => vec![Effect::PollDeviceCode { attempt }],
                    CodeDue::Nothing => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    }
}
