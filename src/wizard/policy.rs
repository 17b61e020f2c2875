//! Step 5, the Global app setup policy: add the app to the org-wide default policy's installed and pinned apps so
//! current and future users get it, changing nothing else, then read it back. Microsoft has no Graph API for
//! this; the Teams admin configuration API is undocumented, so an unknown shape or a refusal turns into the manual
//! path (a PowerShell script and the admin center), never a guess.
//!
//! ```text
//! Locked ──(Teams app done, Continue)──▶ Reading                                 [ReadSetupPolicies]
//! Reading ──SetupPoliciesRead(Ok, app already in)──▶ Applied{unchanged}
//! Reading ──SetupPoliciesRead(Ok)──▶ Ready{change}
//! Reading ──SetupPoliciesRead(shape unknown | refused)──▶ Manual{why}
//! Reading ──SetupPoliciesRead(consent required)──▶ NeedsApproval
//! Ready ──ApplyPolicy──▶ Writing                                                   [WriteGlobalPolicy{change}]
//! Writing ──GlobalPolicyWritten(read back has the app)──▶ Applied{since}  (pending: reaching users takes hours)
//! Writing ──GlobalPolicyWritten(read back differs | Err)──▶ Manual{why}
//! Manual | Failed | Applied ──CheckPolicyAgain──▶ Reading
//! ```

use serde::Serialize;

use super::{Attempt, Effect, Failure, Moment, ScopeSet, StepStatus, Wizard};

/// A setup policy as the wizard needs it: installed app ids, pinned app ids in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupPolicy {
    pub identity: String,
    pub installed: Vec<String>,
    pub pinned: Vec<String>,
}

/// What reading the policies found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyReading {
    pub global: SetupPolicy,
    /// Other setup policies (they override Global for the users they are assigned to).
    pub others: Vec<String>,
}

/// The change to make: the new lists, and what they add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyChange {
    pub installed: Vec<String>,
    pub pinned: Vec<String>,
    pub adds_install: bool,
    pub adds_pin: bool,
}

/// The Global policy with `app` installed and pinned after the existing pins; `None` when it already is.
pub fn change_for(global: &SetupPolicy, app: &str) -> Option<PolicyChange> {
    let has = |list: &[String]| list.iter().any(|id| id.eq_ignore_ascii_case(app));
    let adds_install = !has(&global.installed);
    let adds_pin = !has(&global.pinned);
    if !adds_install && !adds_pin {
        return None;
    }
    let mut installed = global.installed.clone();
    if adds_install {
        installed.push(app.to_owned());
    }
    let mut pinned = global.pinned.clone();
    if adds_pin {
        pinned.push(app.to_owned());
    }
    Some(PolicyChange { installed, pinned, adds_install, adds_pin })
}

/// True when `after` has the app installed and pinned and keeps every app and pin of `before`, pins in order.
pub fn verified(before: &SetupPolicy, after: &SetupPolicy, app: &str) -> bool {
    let has = |list: &[String], id: &str| list.iter().any(|x| x.eq_ignore_ascii_case(id));
    let kept_pins: Vec<&String> = after.pinned.iter().filter(|p| has(&before.pinned, p)).collect();
    has(&after.installed, app)
        && has(&after.pinned, app)
        && before.installed.iter().all(|id| has(&after.installed, id))
        && kept_pins.iter().map(|s| s.to_ascii_lowercase()).eq(before.pinned.iter().map(|s| s.to_ascii_lowercase()))
}

/// Why the policy has to be changed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ManualReason {
    /// The API answered in a shape the setup tool does not know.
    UnknownShape { detail: String },
    /// The API refused or failed.
    Refused { failure: Failure },
    /// The change was written but reading it back did not show it.
    NotVisibleAfterWrite,
}

/// The Global policy step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyStep {
    Locked,
    Reading {
        attempt: Attempt,
    },
    NeedsApproval {
        failure: Failure,
        approval: Option<Attempt>,
    },
    Ready {
        reading: PolicyReading,
        change: PolicyChange,
    },
    Writing {
        attempt: Attempt,
        reading: PolicyReading,
        change: PolicyChange,
    },
    /// In the policy; reaching every user's Teams takes hours. `changed` is false when it already was.
    Applied {
        reading: PolicyReading,
        since: Moment,
        changed: bool,
    },
    Manual {
        why: ManualReason,
        reading: Option<PolicyReading>,
    },
}

impl ManualReason {
    /// As a failure, for the one error panel.
    pub fn failure(&self) -> Failure {
        match self {
            Self::UnknownShape { detail } => {
                Failure::Local(super::LocalFailure::PolicyShapeUnknown { detail: detail.clone() })
            }
            Self::Refused { failure } => failure.clone(),
            Self::NotVisibleAfterWrite => Failure::Local(super::LocalFailure::PolicyNotVisible),
        }
    }
}

impl PolicyStep {
    pub(super) fn status(&self) -> StepStatus {
        match self {
            Self::Locked => StepStatus::NotStarted,
            Self::Reading { .. } | Self::Writing { .. } | Self::Ready { .. } => StepStatus::Running,
            Self::NeedsApproval { failure, .. } if failure.is_consent_required() => StepStatus::Running,
            Self::NeedsApproval { .. } | Self::Manual { .. } => StepStatus::NeedsAttention,
            Self::Applied { .. } => StepStatus::Pending,
        }
    }
}

/// The policy read failed in a way the manual path answers (as opposed to a sign-in the admin can give).
fn manual_for(failure: Failure) -> ManualReason {
    match failure {
        Failure::Parse { excerpt, what } if what.contains("setup policy") => {
            ManualReason::UnknownShape { detail: excerpt }
        }
        failure => ManualReason::Refused { failure },
    }
}

/// What the person can ask of the Global policy step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PolicyIntent {
    CheckAgain,
    ApproveAccess,
    Apply,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PolicyOutcome {
    SetupPoliciesRead { attempt: Attempt, result: Result<PolicyReading, Failure> },
    GlobalPolicyWritten { attempt: Attempt, result: Result<SetupPolicy, Failure> },
    AccessApproved { attempt: Attempt, result: Result<(), Failure> },
}

impl Wizard {
    pub(super) fn start_policy(&mut self) -> Vec<Effect> {
        let mut effects = match &self.policy {
            PolicyStep::Reading { attempt } | PolicyStep::Writing { attempt, .. } => {
                vec![Effect::Abandon { attempt: *attempt }]
            }
            _ => Vec::new(),
        };
        let attempt = self.new_attempt();
        self.policy = PolicyStep::Reading { attempt };
        effects.push(Effect::ReadSetupPolicies { attempt });
        effects
    }

    /// The catalog id setup policies refer to, once the app is in the tenant.
    fn policy_app_id(&self) -> Option<String> {
        self.teams.app().map(|a| a.catalog_id.clone())
    }

    pub(super) fn on_policy_intent(&mut self, intent: PolicyIntent) -> Vec<Effect> {
        match intent {
            PolicyIntent::CheckAgain => match self.policy {
                PolicyStep::Manual { .. } | PolicyStep::Applied { .. } | PolicyStep::Ready { .. } => {
                    self.start_policy()
                }
                _ => Vec::new(),
            },
            PolicyIntent::ApproveAccess => {
                let attempt = Attempt(self.next_attempt);
                let PolicyStep::NeedsApproval { approval: approval @ None, .. } = &mut self.policy else {
                    return Vec::new();
                };
                *approval = Some(attempt);
                self.next_attempt += 1;
                vec![self.approval_sign_in(attempt, ScopeSet::TeamsAdmin)]
            }
            PolicyIntent::Apply => {
                let PolicyStep::Ready { reading, change } = &self.policy else {
                    return Vec::new();
                };
                let (reading, change) = (reading.clone(), change.clone());
                let attempt = self.new_attempt();
                self.policy = PolicyStep::Writing { attempt, reading, change: change.clone() };
                vec![Effect::WriteGlobalPolicy { attempt, installed: change.installed, pinned: change.pinned }]
            }
        }
    }

    pub(super) fn on_policy_outcome(&mut self, outcome: PolicyOutcome, now: Moment) -> Vec<Effect> {
        let app = self.policy_app_id().unwrap_or_default();
        match (outcome, &mut self.policy) {
            (PolicyOutcome::SetupPoliciesRead { attempt, result }, PolicyStep::Reading { attempt: a })
                if attempt == *a =>
            {
                self.policy = match result {
                    Ok(reading) => match change_for(&reading.global, &app) {
                        None => PolicyStep::Applied { reading, since: now, changed: false },
                        Some(change) => PolicyStep::Ready { reading, change },
                    },
                    Err(failure) if failure.needs_interactive_sign_in() => {
                        PolicyStep::NeedsApproval { failure, approval: None }
                    }
                    Err(failure) => PolicyStep::Manual { why: manual_for(failure), reading: None },
                };
                Vec::new()
            }
            (PolicyOutcome::AccessApproved { attempt, result }, PolicyStep::NeedsApproval { approval, failure })
                if *approval == Some(attempt) =>
            {
                match result {
                    Ok(()) => {
                        *approval = None;
                        self.start_policy()
                    }
                    Err(f) => {
                        *approval = None;
                        *failure = f;
                        Vec::new()
                    }
                }
            }
            (
                PolicyOutcome::GlobalPolicyWritten { attempt, result },
                PolicyStep::Writing { attempt: a, reading, .. },
            ) if attempt == *a => {
                let reading = reading.clone();
                self.policy = match result {
                    Ok(after) if verified(&reading.global, &after, &app) => PolicyStep::Applied {
                        reading: PolicyReading { global: after, others: reading.others },
                        since: now,
                        changed: true,
                    },
                    Ok(_) => PolicyStep::Manual { why: ManualReason::NotVisibleAfterWrite, reading: Some(reading) },
                    Err(failure) if failure.needs_interactive_sign_in() => {
                        PolicyStep::NeedsApproval { failure, approval: None }
                    }
                    Err(failure) => PolicyStep::Manual { why: manual_for(failure), reading: Some(reading) },
                };
                Vec::new()
            }
            // Not this step's attempt, or not in this state: a late or abandoned result is ignored.
            (
                PolicyOutcome::SetupPoliciesRead { .. }
                | PolicyOutcome::GlobalPolicyWritten { .. }
                | PolicyOutcome::AccessApproved { .. },
                _,
            ) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(installed: &[&str], pinned: &[&str]) -> SetupPolicy {
        SetupPolicy {
            identity: "Global".into(),
            installed: installed.iter().map(|s| (*s).to_owned()).collect(),
            pinned: pinned.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_app_is_added_after_the_existing_pins_and_nothing_else_changes() {
        let before = policy(&["activity", "chat", "files"], &["activity", "chat"]);
        let c = change_for(&before, "mspbots").unwrap();
        assert_eq!(c.installed, ["activity", "chat", "files", "mspbots"]);
        assert_eq!(c.pinned, ["activity", "chat", "mspbots"]);
        assert!(c.adds_install && c.adds_pin);
        let after = policy(
            &c.installed.iter().map(String::as_str).collect::<Vec<_>>(),
            &c.pinned.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert!(verified(&before, &after, "mspbots"));
        assert_eq!(change_for(&after, "MSPBOTS"), None, "idempotent, ids compared without case");
        let installed_only = policy(&["activity", "mspbots"], &["activity"]);
        let c = change_for(&installed_only, "mspbots").unwrap();
        assert!(!c.adds_install && c.adds_pin);
        assert_eq!(c.installed, ["activity", "mspbots"]);
    }

    #[test]
    fn a_read_back_that_lost_or_reordered_anything_is_not_verified() {
        let before = policy(&["a", "b"], &["a", "b"]);
        assert!(!verified(&before, &policy(&["a", "b", "m"], &["a", "b"]), "m"), "not pinned");
        assert!(!verified(&before, &policy(&["a", "m"], &["a", "m"]), "m"), "lost b");
        assert!(!verified(&before, &policy(&["a", "b", "m"], &["b", "a", "m"]), "m"), "pins reordered");
        assert!(verified(&before, &policy(&["a", "b", "m"], &["a", "b", "m"]), "m"));
    }
}
