//! Step 2, admin consent: check the account's roles first, open Microsoft's admin-consent page, then learn the
//! result from the redirect or, when the redirect does not come back here, by watching the tenant.
//!
//! ```text
//! Locked ──(sign-in done)──▶ Ready{precheck}
//! Ready | Failed ──GrantConsent | RetryConsent──▶ Waiting                   [BeginAdminConsent]
//! Waiting ──ConsentPageReady──▶ Waiting{url}; watching at once when the redirect goes elsewhere
//! Waiting ──ConsentRedirect(Ok)──▶ Applying (check the tenant now)
//! Waiting ──ConsentRedirect(Err)──▶ Failed
//! Waiting ──ConsentFinishedInBrowser──▶ Waiting{watching, check now}
//! Waiting | Applying ──Tick ≥ next check──▶ (checking)                      [CheckConsent]
//! Waiting ──ConsentObserved(found)──▶ Done{Confirmed}                       [Abandon]
//! Waiting ──ConsentObserved(not yet | error)──▶ Waiting (backoff 3 s → 30 s)
//! Waiting ──ConsentObserved(consent required)──▶ Waiting{paused: needs ApproveTenantRead}
//! Waiting ──ApproveTenantRead──▶ Waiting{approval}                          [BeginBrowserSignIn(TenantRead)]
//! Waiting ──AccessApproved(Ok)──▶ Waiting{check now}
//! Waiting ──Tick ≥ deadline──▶ Failed{ConsentTimedOut}                     [Abandon]
//! Waiting ──CancelConsent──▶ Ready                                          [Abandon]
//! Applying ──ConsentObserved(found)──▶ Done{Confirmed}
//! Applying ──ConsentObserved(not yet)──▶ Applying ("Microsoft is still applying the consent", backoff)
//! Applying ──ConsentObserved(error)──▶ Done{Unconfirmed(why)}  (Microsoft's redirect already said granted)
//! Applying ──Tick ≥ since + patience──▶ Failed{ReplicationTimedOut}
//! ```

use serde::Serialize;

use super::{
    Attempt, BrowserLaunch, ConsentRedirect, Effect, Failure, LocalFailure, Moment, StepStatus, Wizard, sign_in::Roles,
};

/// The admin-consent step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Sign in first.
    Locked,
    /// Ready to open the consent page; the pre-check says whether the account's roles can grant.
    Ready {
        precheck: Precheck,
    },
    /// Picking up a saved setup whose consent was not seen to finish: looking in the tenant for the vendor app
    /// (the admin may have granted it in the browser as the setup tool stopped) before asking again.
    Looking {
        attempt: Attempt,
        precheck: Precheck,
    },
    /// The consent page is open in the browser.
    Waiting {
        attempt: Attempt,
        url: Option<String>,
        launch: BrowserLaunch,
        /// True when the redirect comes back to the wizard's listener.
        catches_redirect: bool,
        deadline: Moment,
        watch: Watch,
        /// The running "approve read access" sign-in, if any.
        approval: Option<Attempt>,
    },
    /// Microsoft said granted; waiting until the tenant shows it.
    Applying {
        grant: ConsentGrant,
        since: Moment,
        watch: Watch,
    },
    Done {
        grant: ConsentGrant,
        /// Whether the tenant was seen to hold the vendor app.
        check: ConsentCheck,
    },
    Failed {
        failure: Failure,
        precheck: Precheck,
    },
}

/// How sure the wizard is that the tenant holds the consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentCheck {
    /// The vendor app's service principal was seen in the tenant.
    Confirmed,
    /// Microsoft's redirect said granted, but the tenant could not be read; why not.
    Unconfirmed(Failure),
    /// Granted in an earlier run of the setup for this tenant (the permission check reads the tenant again).
    Earlier,
    /// Found in the tenant right after sign-in, before any consent page: granted before (a re-run on a tenant set
    /// up already). The permission check says whether everything is still there; "Grant again" stays offered.
    AlreadyThere,
}

/// What the redirect (or the tenant) said was granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsentGrant {
    /// The tenant from the redirect (Microsoft warns it can be forged: it is shown, not trusted).
    pub tenant_id: Option<String>,
    /// The granted scopes from the redirect.
    pub scope: Option<String>,
}

/// Can the signed-in account grant what the vendor app asks for?
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Precheck {
    CanGrant,
    /// The roles it holds, none of which may grant Microsoft Graph application permissions.
    CannotGrant {
        roles: Vec<String>,
    },
    /// The roles could not be read.
    RolesUnknown {
        why: String,
    },
}

/// Watching the tenant for the vendor app's service principal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watch {
    pub active: bool,
    pub next_check: Option<Moment>,
    /// The check under way.
    pub checking: Option<Attempt>,
    pub checks: u32,
    /// Why the last check could not tell.
    pub last_problem: Option<Failure>,
    /// The watch waits for the admin to approve read access.
    pub paused: bool,
}

pub(super) fn precheck(roles: &Roles) -> Precheck {
    match roles {
        Roles::Unknown { why } => Precheck::RolesUnknown { why: why.clone() },
        Roles::Known { names } => match roles.can_grant_graph_app_permissions() {
            Some(false) => Precheck::CannotGrant { roles: names.clone() },
            _ => Precheck::CanGrant,
        },
    }
}

impl Consent {
    pub(super) fn status(&self) -> StepStatus {
        match self {
            Self::Locked | Self::Ready { precheck: Precheck::CanGrant | Precheck::RolesUnknown { .. } } => {
                StepStatus::NotStarted
            }
            Self::Ready { precheck: Precheck::CannotGrant { .. } } | Self::Failed { .. } => StepStatus::NeedsAttention,
            Self::Looking { .. } | Self::Waiting { .. } | Self::Applying { .. } => StepStatus::Running,
            Self::Done { .. } => StepStatus::Done,
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Moment> {
        match self {
            Self::Waiting { deadline, watch, .. } => [Some(*deadline), watch.due()].into_iter().flatten().min(),
            Self::Applying { watch, .. } => watch.due(),
            _ => None,
        }
    }
}

impl Watch {
    /// Watching again from `now`, the setup tool's read access approved.
    fn resume(&mut self, now: Moment) {
        self.paused = false;
        self.active = true;
        self.last_problem = None;
        self.next_check = Some(now);
    }

    fn due(&self) -> Option<Moment> {
        if self.active && self.checking.is_none() && !self.paused { self.next_check } else { None }
    }

    fn start(now: Moment) -> Self {
        Self { active: true, next_check: Some(now), ..Self::default() }
    }

    /// Schedules the next check with doubling waits.
    fn back_off(&mut self, now: Moment, first: std::time::Duration, max: std::time::Duration) {
        let factor = 1u32 << self.checks.min(10);
        let wait = first.saturating_mul(factor).min(max);
        self.checks += 1;
        self.next_check = Some(now.plus(wait));
    }
}

/// What the person can ask of the consent step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ConsentIntent {
    Grant,
    Retry,
    FinishedInBrowser,
    /// Approve the setup tool's read access while the consent page is open (the wizard then watches the tenant).
    ApproveTenantRead,
    CancelConsent,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ConsentOutcome {
    ConsentPageReady { attempt: Attempt, url: String, launch: BrowserLaunch },
    ConsentRedirect { attempt: Attempt, result: Result<ConsentGrant, Failure> },
    ConsentObserved { attempt: Attempt, result: Result<bool, Failure> },
    AccessApproved { attempt: Attempt, result: Result<(), Failure> },
}

impl Wizard {
    fn precheck_now(&self) -> Precheck {
        self.account().map_or(Precheck::RolesUnknown { why: "not signed in".to_owned() }, |a| precheck(&a.roles))
    }

    /// Abandons running consent work, if any.
    pub(super) fn abandon_consent(&self) -> Vec<Effect> {
        match &self.consent {
            Consent::Waiting { attempt, approval, watch, .. } => {
                let mut effects = vec![Effect::Abandon { attempt: *attempt }];
                effects.extend(approval.map(|a| Effect::Abandon { attempt: a }));
                effects.extend(watch.checking.map(|a| Effect::Abandon { attempt: a }));
                effects
            }
            Consent::Applying { watch, .. } => {
                watch.checking.map(|a| Effect::Abandon { attempt: a }).into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    /// Opens the consent page again from any state after sign-in (verify's "Grant again…").
    pub(super) fn restart_consent(&mut self, now: Moment) -> Vec<Effect> {
        let mut effects = self.abandon_consent();
        self.consent = Consent::Ready { precheck: self.precheck_now() };
        effects.extend(self.on_consent_intent(ConsentIntent::Grant, now));
        effects
    }

    pub(super) fn on_consent_intent(&mut self, intent: ConsentIntent, now: Moment) -> Vec<Effect> {
        match (intent, &mut self.consent) {
            (ConsentIntent::Grant | ConsentIntent::Retry, Consent::Ready { .. } | Consent::Failed { .. }) => {
                let Some(tenant_id) = self.account().map(|a| a.tenant_id.clone()) else {
                    return Vec::new();
                };
                let attempt = self.new_attempt();
                let catches_redirect = self.settings.consent_redirect == ConsentRedirect::Loopback;
                self.consent = Consent::Waiting {
                    attempt,
                    url: None,
                    launch: BrowserLaunch::Opened,
                    catches_redirect,
                    deadline: now.plus(self.settings.timing.consent_page),
                    watch: Watch::default(),
                    approval: None,
                };
                vec![Effect::BeginAdminConsent { attempt, tenant_id }]
            }
            (ConsentIntent::FinishedInBrowser, Consent::Waiting { watch, .. }) => {
                if watch.checking.is_none() {
                    watch.active = true;
                    watch.paused =
                        watch.paused && watch.last_problem.as_ref().is_some_and(Failure::is_consent_required);
                    watch.next_check = Some(now);
                }
                Vec::new()
            }
            (ConsentIntent::ApproveTenantRead, Consent::Waiting { approval: approval @ None, .. }) => {
                let attempt = Attempt(self.next_attempt);
                self.next_attempt += 1;
                *approval = Some(attempt);
                vec![self.approval(attempt, super::ScopeSet::TenantRead)]
            }
            (ConsentIntent::CancelConsent, Consent::Waiting { .. } | Consent::Applying { .. }) => {
                let effects = self.abandon_consent();
                self.consent = Consent::Ready { precheck: self.precheck_now() };
                effects
            }
            // Not in this state: a click that came late or twice is ignored (docs/STYLE.md rule 8).
            (
                ConsentIntent::Grant
                | ConsentIntent::Retry
                | ConsentIntent::FinishedInBrowser
                | ConsentIntent::ApproveTenantRead
                | ConsentIntent::CancelConsent,
                _,
            ) => Vec::new(),
        }
    }

    /// The tenant watch's answer while the consent page is open: found (done), not there yet, or why it could not
    /// be read (backing off either way).
    fn seen_while_waiting(&mut self, result: Result<bool, Failure>, now: Moment) -> Vec<Effect> {
        let timing = self.settings.timing.clone();
        let Consent::Waiting { attempt: page_attempt, watch, .. } = &mut self.consent else { return Vec::new() };
        watch.checking = None;
        match result {
            Ok(true) => {
                let page_attempt = *page_attempt;
                self.consent = Consent::Done { grant: ConsentGrant::default(), check: ConsentCheck::Confirmed };
                vec![Effect::Abandon { attempt: page_attempt }]
            }
            Ok(false) => {
                watch.last_problem = None;
                watch.back_off(now, timing.watch_first, timing.watch_max);
                Vec::new()
            }
            Err(failure) => {
                watch.paused = failure.is_consent_required();
                watch.last_problem = Some(failure);
                watch.back_off(now, timing.watch_first, timing.watch_max);
                Vec::new()
            }
        }
    }

    pub(super) fn on_consent_outcome(&mut self, outcome: ConsentOutcome, now: Moment) -> Vec<Effect> {
        let timing = self.settings.timing.clone();
        match (outcome, &mut self.consent) {
            (
                ConsentOutcome::ConsentPageReady { attempt, url: page, launch: opened },
                Consent::Waiting { attempt: a, url, launch, catches_redirect, watch, .. },
            ) if attempt == *a => {
                *url = Some(page);
                *launch = opened;
                if !*catches_redirect && !watch.active {
                    *watch = Watch { next_check: Some(now.plus(timing.watch_first)), ..Watch::start(now) };
                }
                Vec::new()
            }
            (
                ConsentOutcome::ConsentRedirect { attempt, result },
                Consent::Waiting { attempt: a, approval, watch, .. },
            ) if attempt == *a => {
                let mut effects: Vec<Effect> = approval.map(|x| Effect::Abandon { attempt: x }).into_iter().collect();
                effects.extend(watch.checking.map(|x| Effect::Abandon { attempt: x }));
                match result {
                    Ok(grant) => self.consent = Consent::Applying { grant, since: now, watch: Watch::start(now) },
                    Err(failure) => self.consent = Consent::Failed { failure, precheck: self.precheck_now() },
                }
                effects
            }
            (ConsentOutcome::ConsentObserved { attempt, result }, Consent::Waiting { watch, .. })
                if watch.checking == Some(attempt) =>
            {
                self.seen_while_waiting(result, now)
            }
            (ConsentOutcome::ConsentObserved { attempt, result }, Consent::Looking { attempt: looking, precheck })
                if *looking == attempt =>
            {
                self.consent = match result {
                    Ok(true) => Consent::Done {
                        grant: ConsentGrant { tenant_id: self.account().map(|a| a.tenant_id.clone()), scope: None },
                        check: ConsentCheck::AlreadyThere,
                    },
                    // Not there, or the tenant cannot be read: ask as usual.
                    Ok(false) | Err(_) => Consent::Ready { precheck: precheck.clone() },
                };
                Vec::new()
            }
            (ConsentOutcome::ConsentObserved { attempt, result }, Consent::Applying { grant, watch, .. })
                if watch.checking == Some(attempt) =>
            {
                watch.checking = None;
                match result {
                    Ok(true) => self.consent = Consent::Done { grant: grant.clone(), check: ConsentCheck::Confirmed },
                    Ok(false) => watch.back_off(now, timing.watch_first, timing.watch_max),
                    Err(why) => {
                        self.consent = Consent::Done { grant: grant.clone(), check: ConsentCheck::Unconfirmed(why) }
                    }
                }
                Vec::new()
            }
            (ConsentOutcome::AccessApproved { attempt, result }, Consent::Waiting { approval, watch, .. })
                if *approval == Some(attempt) =>
            {
                *approval = None;
                match result {
                    Ok(()) => watch.resume(now),
                    Err(failure) => watch.last_problem = Some(failure),
                }
                Vec::new()
            }
            // Not this step's attempt, or not in this state: a late or abandoned result is ignored.
            (
                ConsentOutcome::ConsentPageReady { .. }
                | ConsentOutcome::ConsentRedirect { .. }
                | ConsentOutcome::ConsentObserved { .. }
                | ConsentOutcome::AccessApproved { .. },
                _,
            ) => Vec::new(),
        }
    }

    pub(super) fn on_consent_tick(&mut self, now: Moment) -> Vec<Effect> {
        let minutes = |d: std::time::Duration| d.as_secs() / 60;
        let timing = self.settings.timing.clone();
        match &self.consent {
            Consent::Waiting { deadline, .. } if now >= *deadline => {
                let effects = self.abandon_consent();
                self.consent = Consent::Failed {
                    failure: Failure::Local(LocalFailure::ConsentTimedOut { minutes: minutes(timing.consent_page) }),
                    precheck: self.precheck_now(),
                };
                effects
            }
            Consent::Applying { since, .. } if now >= since.plus(timing.replication_patience) => {
                let effects = self.abandon_consent();
                self.consent = Consent::Failed {
                    failure: Failure::Local(LocalFailure::ReplicationTimedOut {
                        minutes: minutes(timing.replication_patience),
                    }),
                    precheck: self.precheck_now(),
                };
                effects
            }
            Consent::Waiting { watch, .. } | Consent::Applying { watch, .. }
                if watch.due().is_some_and(|due| now >= due) =>
            {
                let attempt = Attempt(self.next_attempt);
                self.next_attempt += 1;
                if let Consent::Waiting { watch, .. } | Consent::Applying { watch, .. } = &mut self.consent {
                    watch.checking = Some(attempt);
                }
                vec![Effect::CheckConsent { attempt }]
            }
            _ => Vec::new(),
        }
    }
}
