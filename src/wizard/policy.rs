//! Step 5, "available, installed and pinned for everyone": pin the app in the org-wide default (Global) setup
//! policy and install it for everyone, in whichever model the tenant runs (`docs/teams-app-centric.md`), then
//! prove it by sampling who has the app.
//!
//! - **Which model** is read from the write, never from its status alone: the policy is written with the app
//!   installed and pinned, as on a legacy tenant, and read back. The install in the read-back: legacy (the policy
//!   installs it for everyone). Refused with the app-centric message: written again with the pin only. Accepted and
//!   missing from the read-back: app-centric too (the tenant ignored it).
//! - **Installs on an app-centric tenant** are the app's own setting, which has no public HTTP API: the admin sets
//!   it in the Teams admin center or with PowerShell; the step offers both and cannot read the setting back.
//! - **Delivery**, the proof: a sample of enabled members (the admin first) is read for the app (and their Teams
//!   licence); re-read with backoff until every licensed one has it (done), or a refusal says it is blocked or not
//!   available (needs attention).
//!
//! Microsoft has no Graph API for setup policies; the Teams admin configuration API is undocumented, so an unknown
//! shape or a refusal turns into the manual path (a PowerShell script and the admin center), never a guess.
//!
//! ```text
//! Locked ──(Teams app done, Continue)──▶ Reading                                 [ReadSetupPolicies]
//! Reading ──SetupPoliciesRead(Ok, app already in)──▶ Applied{unchanged}
//! Reading ──SetupPoliciesRead(Ok)──▶ Ready{change}
//! Reading ──SetupPoliciesRead(shape unknown | refused)──▶ Manual{why}
//! Reading ──SetupPoliciesRead(consent required)──▶ NeedsApproval
//! Ready ──ApplyPolicy──▶ Writing                                                   [WriteGlobalPolicy{change}]
//! Writing ──GlobalPolicyWritten(read back pinned and installed)──▶ Applied{legacy, Checking}   [CheckDelivery]
//! Writing ──GlobalPolicyWritten(read back pinned, install missing)──▶ Applied{app-centric, Checking}
//! Writing ──GlobalPolicyWritten(Err: new installs refused)──▶ Writing{pins only}       [WriteGlobalPolicy{pins}]
//! Writing ──GlobalPolicyWritten(read back lost a pin | Err)──▶ Manual{why}
//! Applied{Checking} ──DeliveryChecked(every licensed one has it)──▶ Applied{Reached}        (done)
//! Applied{Checking} ──DeliveryChecked(a refusal: blocked / not available)──▶ Applied{Blocked} (needs attention)
//! Applied{Checking} ──DeliveryChecked(some not yet)──▶ Applied{Waiting{next}} ──Tick ≥ next──▶ Checking
//! Applied ──CheckDelivery──▶ Applied{Checking}
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

/// How the tenant gets apps to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Setup policies install apps (`AppPresetList`).
    Legacy,
    /// Installs and availability are settings of each app; setup policies keep pins and take no new installs.
    AppCentric,
}

/// What told the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The read-back has the install the setup tool wrote.
    PolicyInstalls,
    /// The policy already installed and pinned it.
    AlreadyInPolicy,
    /// The write of the install was refused with the app-centric message.
    InstallRefused,
    /// The write was accepted and the read-back lacks the install.
    InstallIgnored,
}

impl Evidence {
    pub fn model(self) -> Model {
        match self {
            Self::PolicyInstalls | Self::AlreadyInPolicy => Model::Legacy,
            Self::InstallRefused | Self::InstallIgnored => Model::AppCentric,
        }
    }
}

/// Whether the app is installed for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EveryoneInstall {
    /// The Global policy installs it (legacy), as read back.
    Set,
    /// Known not to be (nothing yet).
    NotSet,
    /// An app-centric setting the setup tool cannot read: the delivery check tells.
    Unknown,
}

/// One user of the delivery sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleUser {
    pub id: String,
    pub name: String,
}

/// What reading one sampled user found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reach {
    HasIt,
    /// No licence with Microsoft Teams: the app cannot reach them (not counted).
    NoTeamsLicence,
    /// Not there yet.
    NotYet,
    /// Reading them was refused; the failure may say why (blocked, not available).
    Refused {
        failure: Failure,
    },
}

/// Why a sampled user does not have the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingReason {
    NotReachedYet,
    NoTeamsLicence,
    NotAvailable,
    Blocked,
    /// Refused for another reason (the failure's code says which).
    Refused,
}

/// A sampled user without the app, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub id: String,
    pub name: String,
    pub reason: MissingReason,
}

/// One reading of the sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Sampled users with a Teams licence (the app can reach only them).
    pub sampled: u32,
    /// How many of those have the app.
    pub have_it: u32,
    /// Everyone sampled without it (those without a Teams licence too), with the reason.
    pub missing: Vec<Missing>,
    pub at: Moment,
}

impl DeliveryReport {
    /// Every licensed sampled user has the app.
    pub fn reached(&self) -> bool {
        self.sampled > 0 && self.have_it == self.sampled
    }

    /// A refusal said the app is blocked or not available to someone.
    pub fn blocked(&self) -> bool {
        self.missing.iter().any(|m| matches!(m.reason, MissingReason::Blocked | MissingReason::NotAvailable))
    }
}

/// The delivery check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Checking {
        attempt: Attempt,
        round: u32,
        last: Option<DeliveryReport>,
    },
    /// Some licensed users do not have it yet: read again at `next`.
    Waiting {
        report: DeliveryReport,
        next: Moment,
        round: u32,
    },
    Reached {
        report: DeliveryReport,
    },
    Blocked {
        report: DeliveryReport,
    },
    /// Reading the sample failed (Check again).
    Failed {
        failure: Failure,
    },
}

impl Delivery {
    /// The last complete reading.
    pub fn report(&self) -> Option<&DeliveryReport> {
        match self {
            Self::Checking { last, .. } => last.as_ref(),
            Self::Waiting { report, .. } | Self::Reached { report } | Self::Blocked { report } => Some(report),
            Self::Failed { .. } => None,
        }
    }
}

/// How long to wait before reading the sample again after `round` readings: 2 s, doubling, at most 10 minutes
/// (a tenant that takes hours is read about every ten minutes, six an hour).
pub fn recheck_after(round: u32) -> std::time::Duration {
    std::time::Duration::from_secs(2u64.saturating_mul(1u64 << round.min(9)).min(600))
}

/// The delivery sample: the admin first, then enabled members in directory order, at most `size`.
pub fn sample(admin: Option<(&str, &str)>, users: &[super::DirectoryUser], size: usize) -> Vec<SampleUser> {
    let mut out: Vec<SampleUser> =
        admin.map(|(id, name)| SampleUser { id: id.to_owned(), name: name.to_owned() }).into_iter().collect();
    for u in users.iter().filter(|u| u.enabled && !u.guest) {
        if out.len() >= size {
            break;
        }
        if !out.iter().any(|s| s.id == u.id) {
            out.push(SampleUser { id: u.id.clone(), name: u.display_name.clone() });
        }
    }
    out
}

/// How many users the delivery check reads (`$batch`: two requests each, twenty to a batch).
pub const SAMPLE_SIZE: usize = 25;

/// The reading of each sampled user, summed up. A refusal is told by its message (Graph answers a generic code).
pub fn report(users: &[SampleUser], reaches: &[(String, Reach)], at: Moment) -> DeliveryReport {
    let mut r = DeliveryReport { sampled: 0, have_it: 0, missing: Vec::new(), at };
    for u in users {
        let reach = reaches.iter().find(|(id, _)| *id == u.id).map_or(&Reach::NotYet, |(_, r)| r);
        let missing = |reason| Missing { id: u.id.clone(), name: u.name.clone(), reason };
        match reach {
            Reach::HasIt => {
                r.sampled += 1;
                r.have_it += 1;
            }
            Reach::NoTeamsLicence => r.missing.push(missing(MissingReason::NoTeamsLicence)),
            Reach::NotYet => {
                r.sampled += 1;
                r.missing.push(missing(MissingReason::NotReachedYet));
            }
            Reach::Refused { failure } => {
                r.sampled += 1;
                r.missing.push(missing(match failure.teams_refusal() {
                    Some(super::TeamsRefusal::Blocked) => MissingReason::Blocked,
                    Some(super::TeamsRefusal::NotAvailable) => MissingReason::NotAvailable,
                    Some(super::TeamsRefusal::NoTeamsLicence) => MissingReason::NoTeamsLicence,
                    _ => MissingReason::Refused,
                }));
            }
        }
    }
    r
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
        /// The second write of an app-centric tenant that refused the install: the pin alone.
        pins_only: bool,
    },
    /// Pinned in Global (and, legacy, installed); reaching every user's Teams takes hours, which the delivery check
    /// follows. `changed` is false when it already was; `since` is when it was applied (or found applied).
    Applied {
        reading: PolicyReading,
        since: Moment,
        changed: bool,
        model: Model,
        evidence: Evidence,
        everyone: EveryoneInstall,
        delivery: Delivery,
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
            Self::Applied { delivery: Delivery::Reached { .. }, .. } => StepStatus::Done,
            Self::Applied { delivery: Delivery::Blocked { .. } | Delivery::Failed { .. }, .. } => {
                StepStatus::NeedsAttention
            }
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
    CheckDelivery,
    OpenAdminCenter,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PolicyOutcome {
    SetupPoliciesRead { attempt: Attempt, result: Result<PolicyReading, Failure> },
    GlobalPolicyWritten { attempt: Attempt, result: Result<SetupPolicy, Failure> },
    AccessApproved { attempt: Attempt, result: Result<(), Failure> },
    DeliveryChecked { attempt: Attempt, result: Result<Vec<(String, Reach)>, Failure> },
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

    /// Abandons the policy step's running work (a read, a write, an approval, a delivery check), if any.
    pub(super) fn abandon_policy(&self) -> Vec<Effect> {
        match &self.policy {
            PolicyStep::Reading { attempt }
            | PolicyStep::Writing { attempt, .. }
            | PolicyStep::NeedsApproval { approval: Some(attempt), .. }
            | PolicyStep::Applied { delivery: Delivery::Checking { attempt, .. }, .. } => {
                vec![Effect::Abandon { attempt: *attempt }]
            }
            PolicyStep::Locked
            | PolicyStep::NeedsApproval { approval: None, .. }
            | PolicyStep::Ready { .. }
            | PolicyStep::Applied { .. }
            | PolicyStep::Manual { .. } => Vec::new(),
        }
    }

    /// The catalog id setup policies refer to, once the app is in the tenant.
    fn policy_app_id(&self) -> Option<String> {
        self.teams.app().map(|a| a.catalog_id.clone())
    }

    pub(super) fn on_policy_intent(&mut self, intent: PolicyIntent, now: Moment) -> Vec<Effect> {
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
                vec![self.approval(attempt, ScopeSet::TeamsAdmin)]
            }
            PolicyIntent::Apply => {
                let PolicyStep::Ready { reading, change } = &self.policy else {
                    return Vec::new();
                };
                let (reading, change) = (reading.clone(), change.clone());
                let attempt = self.new_attempt();
                self.policy = PolicyStep::Writing { attempt, reading, change: change.clone(), pins_only: false };
                vec![Effect::WriteGlobalPolicy { attempt, installed: change.installed, pinned: change.pinned }]
            }
            PolicyIntent::CheckDelivery => match &self.policy {
                PolicyStep::Applied { delivery: Delivery::Checking { .. }, .. } => Vec::new(),
                PolicyStep::Applied { .. } => self.check_delivery(0, now),
                _ => Vec::new(),
            },
            // The app's page, wherever the admin has to act on it: the policy step's outcome, or an install
            // refused for availability (the Teams step).
            PolicyIntent::OpenAdminCenter => match self.admin_center_url() {
                Some(url) => vec![Effect::OpenUrl { url }],
                None => Vec::new(),
            },
        }
    }

    /// The users the delivery check reads: the admin (unless of another organization, a partner's agent, who is
    /// no user here), then enabled members of the directory.
    pub fn delivery_sample(&self) -> Vec<SampleUser> {
        let admin = self
            .account()
            .filter(|a| a.home_tenant_id.is_none())
            .map(|a| (a.object_id.as_str(), a.display_name.as_str()));
        sample(admin, &self.preview.users, SAMPLE_SIZE)
    }

    /// Reads the sample (round `round` of the backoff), keeping the last reading to show meanwhile.
    fn check_delivery(&mut self, round: u32, _now: Moment) -> Vec<Effect> {
        let attempt = self.new_attempt();
        let users = self.delivery_sample();
        let PolicyStep::Applied { delivery, .. } = &mut self.policy else {
            return Vec::new();
        };
        let last = delivery.report().cloned();
        *delivery = Delivery::Checking { attempt, round, last };
        vec![Effect::CheckDelivery { attempt, users }]
    }

    /// The step applied (pinned, and in `everyone`'s way installed), its delivery check started.
    fn applied(
        &mut self,
        reading: PolicyReading,
        now: Moment,
        changed: bool,
        evidence: Evidence,
        everyone: EveryoneInstall,
    ) -> Vec<Effect> {
        self.policy = PolicyStep::Applied {
            reading,
            since: now,
            changed,
            model: evidence.model(),
            evidence,
            everyone,
            delivery: Delivery::Failed { failure: Failure::Local(super::LocalFailure::PolicyNotVisible) },
        };
        self.check_delivery(0, now)
    }

    pub(super) fn on_policy_tick(&mut self, now: Moment) -> Vec<Effect> {
        match &self.policy {
            PolicyStep::Applied { delivery: Delivery::Waiting { next, round, .. }, .. } if now >= *next => {
                let round = *round;
                self.check_delivery(round, now)
            }
            _ => Vec::new(),
        }
    }

    pub(super) fn policy_deadline(&self) -> Option<Moment> {
        match &self.policy {
            PolicyStep::Applied { delivery: Delivery::Waiting { next, .. }, .. } => Some(*next),
            _ => None,
        }
    }

    pub(super) fn on_policy_outcome(&mut self, outcome: PolicyOutcome, now: Moment) -> Vec<Effect> {
        let app = self.policy_app_id().unwrap_or_default();
        match (outcome, &mut self.policy) {
            (PolicyOutcome::SetupPoliciesRead { attempt, result }, PolicyStep::Reading { attempt: a })
                if attempt == *a =>
            {
                match result {
                    Ok(reading) => match change_for(&reading.global, &app) {
                        // Installed and pinned by the Global policy already: the policy installs it for everyone.
                        None => {
                            return self.applied(reading, now, false, Evidence::AlreadyInPolicy, EveryoneInstall::Set);
                        }
                        Some(change) => self.policy = PolicyStep::Ready { reading, change },
                    },
                    Err(failure) if failure.needs_interactive_sign_in() => {
                        self.policy = PolicyStep::NeedsApproval { failure, approval: None };
                    }
                    Err(failure) => self.policy = PolicyStep::Manual { why: manual_for(failure), reading: None },
                }
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
                PolicyStep::Writing { attempt: a, reading, change, pins_only },
            ) if attempt == *a => {
                let (reading, change, pins_only) = (reading.clone(), change.clone(), *pins_only);
                self.on_policy_written(result, reading, change, pins_only, &app, now)
            }
            (
                PolicyOutcome::DeliveryChecked { attempt, result },
                PolicyStep::Applied { delivery: Delivery::Checking { attempt: a, round, .. }, .. },
            ) if attempt == *a => {
                let round = *round;
                let users = self.delivery_sample();
                let PolicyStep::Applied { delivery, .. } = &mut self.policy else {
                    return Vec::new();
                };
                *delivery = match result {
                    Ok(reaches) => {
                        let report = report(&users, &reaches, now);
                        if report.reached() {
                            Delivery::Reached { report }
                        } else if report.blocked() {
                            Delivery::Blocked { report }
                        } else {
                            let wait = recheck_after(round);
                            Delivery::Waiting { report, next: now.plus(wait), round: round + 1 }
                        }
                    }
                    Err(failure) => Delivery::Failed { failure },
                };
                Vec::new()
            }
            // Not this step's attempt, or not in this state: a late or abandoned result is ignored.
            (
                PolicyOutcome::SetupPoliciesRead { .. }
                | PolicyOutcome::GlobalPolicyWritten { .. }
                | PolicyOutcome::AccessApproved { .. }
                | PolicyOutcome::DeliveryChecked { .. },
                _,
            ) => Vec::new(),
        }
    }

    /// The write's answer tells the model: the install in the read-back (legacy), refused (app-centric: write the
    /// pin alone) or accepted and missing (app-centric, ignored).
    fn on_policy_written(
        &mut self,
        result: Result<SetupPolicy, Failure>,
        reading: PolicyReading,
        change: PolicyChange,
        pins_only: bool,
        app: &str,
        now: Moment,
    ) -> Vec<Effect> {
        match result {
            Ok(after) if verified(&reading.global, &after, app) => {
                let reading = PolicyReading { global: after, others: reading.others };
                let evidence = if pins_only { Evidence::InstallRefused } else { Evidence::PolicyInstalls };
                let everyone = if pins_only { EveryoneInstall::Unknown } else { EveryoneInstall::Set };
                self.applied(reading, now, true, evidence, everyone)
            }
            Ok(after) if pinned_kept(&reading.global, &after, app) => {
                // Accepted, and the install is not there: the tenant ignores new installs in setup policies.
                let reading = PolicyReading { global: after, others: reading.others };
                let evidence = if pins_only { Evidence::InstallRefused } else { Evidence::InstallIgnored };
                self.applied(reading, now, true, evidence, EveryoneInstall::Unknown)
            }
            Ok(_) => {
                self.policy = PolicyStep::Manual { why: ManualReason::NotVisibleAfterWrite, reading: Some(reading) };
                Vec::new()
            }
            Err(failure)
                if !pins_only
                    && change.adds_install
                    && failure.teams_refusal() == Some(super::TeamsRefusal::NewInstallsInPolicy) =>
            {
                // App-centric: installs are the app's own setting. Pin only, keeping the installed list as it was;
                // already pinned (a resumed run), there is nothing to write.
                if !change.adds_pin {
                    return self.applied(reading, now, false, Evidence::InstallRefused, EveryoneInstall::Unknown);
                }
                let attempt = self.new_attempt();
                let installed = reading.global.installed.clone();
                let pinned = change.pinned.clone();
                self.policy = PolicyStep::Writing { attempt, reading, change, pins_only: true };
                vec![Effect::WriteGlobalPolicy { attempt, installed, pinned }]
            }
            Err(failure) if failure.needs_interactive_sign_in() => {
                self.policy = PolicyStep::NeedsApproval { failure, approval: None };
                Vec::new()
            }
            Err(failure) => {
                self.policy = PolicyStep::Manual { why: manual_for(failure), reading: Some(reading) };
                Vec::new()
            }
        }
    }
}

/// True when `after` has the app pinned and keeps every app and pin of `before`, pins in order (the install may be
/// missing: an app-centric tenant).
pub fn pinned_kept(before: &SetupPolicy, after: &SetupPolicy, app: &str) -> bool {
    let with_install =
        SetupPolicy { installed: after.installed.iter().cloned().chain([app.to_owned()]).collect(), ..after.clone() };
    verified(before, &with_install, app)
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
