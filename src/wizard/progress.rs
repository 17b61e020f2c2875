//! What survives a restart: which tenant, how far the admin got, and what the earlier run already changed there.
//! Never a token or a code (the wizard holds none). The shell saves it after every transition and reads it back
//! at start; [`Wizard::resume`] takes it up after the admin signs in again.
//!
//! Resuming re-checks instead of trusting: the consent is taken as given only for the same tenant, and the permission
//! check reads the tenant again; the Teams step reads the catalog and installs with "already installed" counted as
//! done; the policy step reads the Global policy and writes only what is missing. So nothing that changes the tenant
//! is done twice.

use serde::{Deserialize, Serialize};

use super::{Consent, ConsentCheck, ConsentGrant, Effect, Moment, PolicyStep, StepId, TeamsStep, Wizard};

/// The saved progress of one tenant's setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub tenant_id: String,
    /// The tenant's name or domain, for "picking up where you left off in …".
    #[serde(default)]
    pub tenant_name: Option<String>,
    /// Who signed in (the login hint of the next sign-in).
    pub account: String,
    /// The furthest step reached; the wizard comes back to it.
    pub reached: StepId,
    /// The admin consent was granted (the tenant is still read to confirm it).
    pub consent_granted: bool,
    /// The Teams app's catalog id, once it was in the tenant and installed for the admin.
    #[serde(default)]
    pub teams_app: Option<String>,
    /// The Global policy held the app.
    #[serde(default)]
    pub policy_applied: bool,
}

/// Where resuming stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// A fresh start.
    None,
    /// Saved progress, waiting for the admin to sign in again.
    Waiting(Progress),
    /// Signed in to the saved tenant: the steps done before are being re-checked on the way back to `reached`.
    Matched(Progress),
    /// Signed in to another tenant than the saved one: starting over (the saved progress is replaced).
    OtherTenant { saved: Progress },
}

impl Wizard {
    /// A wizard that picks up `saved` once the admin signs in again (to the same tenant).
    pub fn resume(settings: super::Settings, saved: Progress) -> Self {
        let mut wizard = Self::new(settings);
        wizard.welcome_done = true;
        wizard.page = StepId::SignIn;
        wizard.resume = Resume::Waiting(saved);
        wizard
    }

    /// Where resuming stands.
    pub fn resumed(&self) -> &Resume {
        &self.resume
    }

    /// The progress to save now; `None` before anyone signed in (and then nothing is worth saving).
    pub fn progress(&self) -> Option<Progress> {
        let account = self.account()?;
        let reached = StepId::ALL
            .into_iter()
            .filter(|s| *s != StepId::Done && self.status(*s) != super::StepStatus::NotStarted)
            .max()
            .unwrap_or(StepId::SignIn)
            .max(self.page.min(StepId::GlobalPolicy));
        let mut progress = Progress {
            tenant_id: account.tenant_id.clone(),
            tenant_name: account.tenant_name.clone().or_else(|| account.tenant_domain.clone()),
            account: account.upn.clone(),
            reached,
            consent_granted: matches!(self.consent, Consent::Done { .. }),
            teams_app: self.teams.app().map(|a| a.catalog_id.clone()),
            policy_applied: matches!(self.policy, PolicyStep::Applied { .. }),
        };
        // While re-checking, what the earlier run did still stands until this run has seen it again.
        if let Resume::Matched(saved) = &self.resume {
            progress.reached = progress.reached.max(saved.reached);
            progress.consent_granted |= saved.consent_granted;
            if progress.teams_app.is_none() {
                progress.teams_app.clone_from(&saved.teams_app);
            }
            progress.policy_applied |= saved.policy_applied;
        }
        Some(progress)
    }

    /// After a sign-in: take up the saved progress if this is its tenant.
    pub(super) fn take_up_saved(&mut self, now: Moment) -> Vec<Effect> {
        let Resume::Waiting(saved) = &self.resume else {
            return Vec::new();
        };
        let Some(account) = self.account() else {
            return Vec::new();
        };
        if !account.tenant_id.eq_ignore_ascii_case(&saved.tenant_id) {
            self.resume = Resume::OtherTenant { saved: saved.clone() };
            return Vec::new();
        }
        let saved = saved.clone();
        self.resume = Resume::Matched(saved.clone());
        if !saved.consent_granted {
            // The consent may have been granted in the browser as the setup tool stopped: look before asking
            // (sign-in already looks when it asked for the tenant's read access).
            if saved.reached >= StepId::AdminConsent {
                self.page = StepId::AdminConsent;
            }
            let Consent::Ready { precheck } = &self.consent else {
                return Vec::new();
            };
            let precheck = precheck.clone();
            let attempt = self.new_attempt();
            self.consent = Consent::Looking { attempt, precheck };
            return vec![Effect::CheckConsent { attempt }];
        }
        self.consent = Consent::Done {
            grant: ConsentGrant { tenant_id: Some(saved.tenant_id.clone()), scope: None },
            check: ConsentCheck::Earlier,
        };
        self.page = StepId::VerifyPermissions;
        // The consent may be minutes old and still applying: allow the settling re-checks.
        self.start_verify(now, true)
    }

    /// While resuming: go on by itself through the steps the earlier run finished, re-checking each, and stop at
    /// the step it reached (or at anything that needs the admin).
    pub(super) fn resume_onward(&mut self, now: Moment) -> Vec<Effect> {
        let Resume::Matched(saved) = &self.resume else {
            return Vec::new();
        };
        let reached = saved.reached;
        if self.page >= reached {
            return Vec::new();
        }
        match self.page {
            StepId::VerifyPermissions if self.teams_unlocked() && !self.verify.is_settling() => self.on_continue(now),
            // The inspection found the app installed for the admin (the earlier run's work): on to the policy. A
            // step that is ready to change the tenant waits for the admin.
            StepId::TeamsApp if matches!(self.teams, TeamsStep::Done { .. }) => self.on_continue(now),
            _ => Vec::new(),
        }
    }
}
