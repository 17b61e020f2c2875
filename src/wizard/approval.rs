//! Approvals of the setup tool's own access (reading the tenant, Teams setup, the Teams admin API), as the
//! signed-in admin: in the browser, or with a device code once the browser is not the way (the sign-in itself went
//! by code, Conditional Access blocked an approval in the browser, or no browser opened). One approval at a time;
//! the step that asked keeps its attempt and gets `AccessApproved` whichever way it went.
//!
//! ```text
//! step asks ──(signed in by code)──▶ ByCode{code: None}                         [BeginDeviceCode(scopes)]
//! step asks ──(otherwise)──▶ (in the browser)                                    [BeginBrowserSignIn(scopes, consent)]
//! browser ──AccessApproved(Conditional Access) | BrowserSignInReady(not opened)──▶ ByCode{reason}, the step's
//!     attempt renewed                                                            [Abandon, BeginDeviceCode(scopes)]
//! ByCode ──DeviceCodeReady(Ok)──▶ ByCode{code, next_poll = now + interval}
//! ByCode ──Tick ≥ next_poll──▶ ByCode{polling}                                   [PollDeviceCode]
//! ByCode ──DevicePolled(Pending | SlowDown)──▶ ByCode{next_poll}  (slow_down adds 5 s)
//! ByCode ──AccessApproved(any)──▶ none; the step takes the result
//! ByCode ──DeviceCodeReady(Err) | Tick ≥ expires_at──▶ none; the step gets AccessApproved(Err)   [Abandon]
//! ```

use super::sign_in::{CodeDue, CodeWait, SignInOutcome, SwitchReason};
use super::{
    Attempt, BrowserLaunch, Consent, DevicePoll, Effect, Failure, LocalFailure, Moment, PolicyStep, Prompt, ScopeSet,
    StepId, TeamsStep, VerifyPhase, Wizard,
};

/// An approval under way with a device code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceApproval {
    pub attempt: Attempt,
    /// The page it was asked from (where the code is shown).
    pub step: StepId,
    pub scopes: ScopeSet,
    /// Why it went by code by itself, when the browser was tried first for this approval.
    pub reason: Option<SwitchReason>,
    pub wait: CodeWait,
}

impl DeviceApproval {
    fn new(attempt: Attempt, step: StepId, scopes: ScopeSet, reason: Option<SwitchReason>) -> Self {
        Self { attempt, step, scopes, reason, wait: CodeWait::new() }
    }
}

impl Wizard {
    /// Whether the steps' approvals go by device code (the sign-in did, or the browser was blocked or missing).
    pub fn approvals_by_code(&self) -> bool {
        self.approve_by_code
    }

    /// The approval with a device code under way, if one is.
    pub fn device_approval(&self) -> Option<&DeviceApproval> {
        self.device_approval.as_ref()
    }

    /// Starts the approval of `scopes` for the step on screen: in the browser, asking for consent as the signed-in
    /// admin, or with a device code when the browser is not the way (see the module's diagram).
    pub(super) fn approval(&mut self, attempt: Attempt, scopes: ScopeSet) -> Effect {
        if self.approve_by_code {
            self.device_approval = Some(DeviceApproval::new(attempt, self.page, scopes, None));
            return Effect::BeginDeviceCode { attempt, scopes };
        }
        Effect::BeginBrowserSignIn {
            attempt,
            scopes,
            prompt: Prompt::Consent,
            login_hint: self.account().map(|a| a.upn.clone()),
        }
    }

    /// The step's slot holding `attempt` as its approval in the browser, and what that approval asks for.
    fn approval_slot(&mut self, attempt: Attempt) -> Option<(&mut Option<Attempt>, ScopeSet)> {
        let wanted = Some(attempt);
        if let Consent::Waiting { approval, .. } = &mut self.consent
            && *approval == wanted
        {
            return Some((approval, ScopeSet::TenantRead));
        }
        if let VerifyPhase::NeedsReadAccess { approval, .. } = &mut self.verify.phase
            && *approval == wanted
        {
            return Some((approval, ScopeSet::TenantRead));
        }
        if let TeamsStep::NeedsApproval { approval, .. } = &mut self.teams
            && *approval == wanted
        {
            return Some((approval, ScopeSet::TeamsSetup));
        }
        if let PolicyStep::NeedsApproval { approval, .. } = &mut self.policy
            && *approval == wanted
        {
            return Some((approval, ScopeSet::TeamsAdmin));
        }
        None
    }

    /// Moves a browser approval to a device code: the step's attempt is renewed, later approvals go by code too.
    fn approval_by_code_instead(&mut self, old: Attempt, reason: SwitchReason) -> Option<Vec<Effect>> {
        let attempt = Attempt(self.next_attempt);
        let (slot, scopes) = self.approval_slot(old)?;
        *slot = Some(attempt);
        self.next_attempt += 1;
        self.approve_by_code = true;
        self.device_approval = Some(DeviceApproval::new(attempt, self.page, scopes, Some(reason)));
        Some(vec![Effect::Abandon { attempt: old }, Effect::BeginDeviceCode { attempt, scopes }])
    }

    /// A sign-in outcome that belongs to an approval (its code, its polls, a browser that did not open) is taken
    /// here; any other is handed back for the sign-in step.
    pub(super) fn on_approval_outcome(
        &mut self,
        outcome: SignInOutcome,
        now: Moment,
    ) -> Result<Vec<Effect>, SignInOutcome> {
        match outcome {
            SignInOutcome::BrowserSignInReady { attempt, launch: BrowserLaunch::NotOpened { detail }, .. }
                if self.sign_in.running() != Some(attempt) =>
            {
                let step = self.page;
                match self.approval_by_code_instead(attempt, SwitchReason::NoBrowser { detail }) {
                    Some(effects) => {
                        self.visit_not_made(step);
                        Ok(effects)
                    }
                    None => Ok(Vec::new()),
                }
            }
            SignInOutcome::DeviceCodeReady { attempt, result } if self.is_device_approval(attempt) => {
                let Some(d) = &mut self.device_approval else { return Ok(Vec::new()) };
                match result {
                    Ok(view) => {
                        d.wait.ready(view, now);
                        Ok(Vec::new())
                    }
                    Err(failure) => Ok(self.on_access_approved(attempt, Err(failure), now)),
                }
            }
            SignInOutcome::DevicePolled { attempt, result } if self.is_device_approval(attempt) => {
                let Some(d) = &mut self.device_approval else { return Ok(Vec::new()) };
                match result {
                    DevicePoll::Pending | DevicePoll::SlowDown => {
                        d.wait.not_yet(result == DevicePoll::SlowDown, now);
                        Ok(Vec::new())
                    }
                    // The shell reports an approval's end as `AccessApproved`; taken the same way if it comes so.
                    DevicePoll::Finished(result) => Ok(self.on_access_approved(attempt, result.map(|_| ()), now)),
                }
            }
            other => Err(other),
        }
    }

    fn is_device_approval(&self, attempt: Attempt) -> bool {
        self.device_approval.as_ref().is_some_and(|d| d.attempt == attempt)
    }

    /// An approval finished, in the browser or by code: handed to whichever step asked for it (each acts only on
    /// its own attempt), unless Conditional Access blocked it in the browser, which moves it to a device code.
    pub(super) fn on_access_approved(
        &mut self,
        attempt: Attempt,
        result: Result<(), Failure>,
        now: Moment,
    ) -> Vec<Effect> {
        if self.is_device_approval(attempt) {
            self.device_approval = None;
        } else if let Err(failure) = &result
            && failure.is_conditional_access()
            && let Some(effects) =
                self.approval_by_code_instead(attempt, SwitchReason::ConditionalAccess(failure.clone()))
        {
            return effects;
        }
        let mut effects = self.on_consent_outcome(
            super::consent::ConsentOutcome::AccessApproved { attempt, result: result.clone() },
            now,
        );
        effects.extend(
            self.on_verify_outcome(
                super::verify::VerifyOutcome::AccessApproved { attempt, result: result.clone() },
                now,
            ),
        );
        effects.extend(
            self.on_teams_outcome(super::teams::TeamsOutcome::AccessApproved { attempt, result: result.clone() }),
        );
        effects.extend(self.on_policy_outcome(super::policy::PolicyOutcome::AccessApproved { attempt, result }, now));
        effects
    }

    /// Polls the approval's code when due; an expired code ends the approval.
    pub(super) fn on_approval_tick(&mut self, now: Moment) -> Vec<Effect> {
        let Some(d) = &mut self.device_approval else { return Vec::new() };
        let attempt = d.attempt;
        match d.wait.tick(now) {
            CodeDue::Expired => {
                let mut effects = vec![Effect::Abandon { attempt }];
                effects.extend(self.on_access_approved(
                    attempt,
                    Err(Failure::Local(LocalFailure::DeviceCodeExpired)),
                    now,
                ));
                effects
            }
            CodeDue::Poll => vec![Effect::PollDeviceCode { attempt }],
            CodeDue::Nothing => Vec::new(),
        }
    }

    /// Stops the approval by code when the step that asked for it abandons its attempt.
    pub(super) fn forget_device_approval(&mut self, abandoned: &[Effect]) {
        if self.device_approval.as_ref().is_some_and(|d| abandoned.contains(&Effect::Abandon { attempt: d.attempt })) {
            self.device_approval = None;
        }
    }
}
