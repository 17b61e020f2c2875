//! The partner's board (issue 19): a partner (MSP) signed in to its own tenant sees one row per GDAP customer,
//! what the signed-in user may do in that customer's tenant, and the next action. Pure: the shell reads the
//! partner's relationships, their access assignments, the user's security groups and each customer's cloud, and
//! [`rows`] words nothing and reads no clock (`read_at` is when the shell read them, in Unix seconds).
//!
//! How a row is decided (`docs/msp-multi-tenant.md`): the user's roles in a customer tenant are those of the
//! active access assignments, of an active (or expiring) relationship, whose security group the user is in.
//! Granting MSPbots' application permissions needs Global Administrator or Privileged Role Administrator; the
//! Teams steps need Global Administrator or Teams Administrator.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Attempt, Effect, Failure, SignIn, StepId, Wizard};

/// Which way in Welcome took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WayIn {
    /// Today's wizard: the five steps in the signed-in admin's tenant.
    OneOrganization,
    /// A partner (MSP) signs in to its own tenant and sees its GDAP customers.
    Partner,
}

/// The board's state.
///
/// ```text
/// Closed ──CustomersOfAPartner (Welcome)──▶ (sign-in page, asking ScopeSet::Partner)
/// signed in as a partner ──▶ Loading                                     [ReadPartner]
/// Loading ──PartnerRead(Ok)──▶ Loaded   ──PartnerRead(Err)──▶ Failed
/// Loaded | Failed ──RecheckCustomers──▶ Loading                          [ReadPartner]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Board {
    Closed,
    Loading { attempt: Attempt, last: Option<PartnerData> },
    Loaded { data: PartnerData },
    Failed { failure: Failure, last: Option<PartnerData> },
}

impl Board {
    /// The last partner data read, if any (kept while a re-check runs or after it failed).
    pub fn data(&self) -> Option<&PartnerData> {
        match self {
            Self::Closed => None,
            Self::Loaded { data } => Some(data),
            Self::Loading { last, .. } | Self::Failed { last, .. } => last.as_ref(),
        }
    }
}

/// What the person asks of the board (`Intent::route` hands them over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BoardIntent {
    Open,
    Recheck,
}

/// What the shell reports to the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BoardOutcome {
    PartnerSaved { attempt: Attempt, saved: super::customer_checks::SavedBoard },
    PartnerRead { attempt: Attempt, result: Result<PartnerData, Failure> },
}

impl Wizard {
    /// Which way in Welcome took.
    pub fn way(&self) -> WayIn {
        self.way
    }

    pub fn board(&self) -> &Board {
        &self.board
    }

    pub(super) fn on_board_intent(&mut self, intent: BoardIntent) -> Vec<Effect> {
        match intent {
            // Only from Welcome, before anyone signed in: the sign-in then asks the partner's read.
            BoardIntent::Open if self.page == StepId::Welcome && matches!(self.sign_in, SignIn::Idle) => {
                self.way = WayIn::Partner;
                self.welcome_done = true;
                self.page = StepId::SignIn;
                Vec::new()
            }
            // Everything again: the relationships, then (once read) every customer's own tenant.
            BoardIntent::Recheck
                if matches!(self.board, Board::Loaded { .. } | Board::Failed { .. })
                    && matches!(self.sign_in, SignIn::Done(_)) =>
            {
                self.customer_checks.after_read = true;
                self.read_partner()
            }
            BoardIntent::Open | BoardIntent::Recheck => Vec::new(),
        }
    }

    pub(super) fn read_partner(&mut self) -> Vec<Effect> {
        let attempt = self.new_attempt();
        let last = self.board.data().cloned();
        self.board = Board::Loading { attempt, last };
        let partner_tenant = self.account().map(|a| a.tenant_id.clone()).unwrap_or_default();
        vec![Effect::ReadPartner { attempt, partner_tenant }]
    }

    pub(super) fn on_board_outcome(&mut self, outcome: BoardOutcome) -> Vec<Effect> {
        match outcome {
            // The saved board fills the wait for the first read; it never replaces what this session read.
            BoardOutcome::PartnerSaved { attempt, saved } => {
                if let Board::Loading { attempt: current, last: last @ None } = &mut self.board
                    && *current == attempt
                {
                    *last = Some(saved.data);
                    self.restore_checks(saved.checks);
                }
                Vec::new()
            }
            BoardOutcome::PartnerRead { attempt, result } => {
                let Board::Loading { attempt: current, last } = &mut self.board else { return Vec::new() };
                if *current != attempt {
                    return Vec::new();
                }
                let read = result.is_ok();
                self.board = match result {
                    Ok(data) => Board::Loaded { data },
                    Err(failure) => Board::Failed { failure, last: last.take() },
                };
                let mut effects: Vec<Effect> = if read { self.save_board().into_iter().collect() } else { Vec::new() };
                if std::mem::take(&mut self.customer_checks.after_read) && read {
                    effects.extend(self.on_check_intent(super::customer_checks::CheckIntent::CheckAll));
                }
                effects
            }
        }
    }
}

/// Role template ids (the ones a row needs to tell).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub const TEAMS_ADMINISTRATOR: &str = "69091246-20e8-4a56-aa4d-066075b2a7a8";

/// Roles reach a customer's tenant some minutes after a relationship is activated; CIPP waits 15 minutes before
/// it consents, and so does the board.
pub const ACTIVATION_SETTLES_SECS: u64 = 15 * 60;
/// A relationship that ends within this many days is flagged for renewal.
pub const RENEW_WITHIN_DAYS: u64 = 30;
const DAY: u64 = 24 * 60 * 60;

/// Graph's `delegatedAdminRelationshipStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationshipStatus {
    Created,
    ApprovalPending,
    Approved,
    Activating,
    Active,
    Expiring,
    Expired,
    TerminationRequested,
    Terminating,
    Terminated,
    /// A value Microsoft added after this tool was built (Graph's evolvable enums).
    #[serde(other)]
    UnknownFutureValue,
}

impl RelationshipStatus {
    /// Roles work in the customer's tenant.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Active | Self::Expiring)
    }

    /// How good a relationship is for the board's row, when a customer has several (higher is better).
    fn rank(self) -> u8 {
        match self {
            Self::Active | Self::Expiring => 6,
            Self::Activating => 5,
            Self::Approved => 4,
            Self::ApprovalPending => 3,
            Self::Created => 2,
            Self::TerminationRequested | Self::Terminating => 1,
            Self::Expired | Self::Terminated | Self::UnknownFutureValue => 0,
        }
    }
}

/// Graph's `delegatedAdminAccessAssignmentStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AssignmentStatus {
    Pending,
    Active,
    Deleting,
    Deleted,
    Error,
    #[serde(other)]
    UnknownFutureValue,
}

/// One access assignment: a security group of the partner's tenant and the roles it gets in the customer's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub group_id: String,
    pub status: AssignmentStatus,
    /// Role template ids.
    pub roles: Vec<String>,
}

/// One GDAP relationship with a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    pub id: String,
    pub status: RelationshipStatus,
    /// Unix seconds.
    pub activated: Option<u64>,
    pub end: Option<u64>,
    /// Role template ids the customer approved.
    pub roles: Vec<String>,
    pub assignments: Vec<Assignment>,
}

/// A customer of the partner, with its relationships and where its tenant lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub tenant_id: String,
    pub name: String,
    pub relationships: Vec<Relationship>,
    /// The tenant's government cloud, from its OpenID discovery (`tenant_region_sub_scope`: `GCC`, `DODCON`,
    /// `DOD`); `None` for a commercial tenant (or one whose discovery could not be read).
    pub government: Option<String>,
}

/// What the shell read from the partner's tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerData {
    pub customers: Vec<Customer>,
    /// The signed-in user's security groups in the partner tenant (object ids).
    pub my_groups: BTreeSet<String>,
    /// When it was read (Unix seconds).
    pub read_at: u64,
}

/// Where a customer stands for the signed-in partner user, the first that applies in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RowState {
    /// In a US government cloud.
    GovernmentCloud { scope: String },
    /// The customer's Global Administrator has not approved the relationship yet.
    ApprovalPending { relationship_id: String },
    /// Created or approved, Microsoft activating it.
    Activating,
    /// Activated minutes ago: its roles may not work in the customer's tenant yet.
    JustActivated { usable_at: u64 },
    /// Expired or terminated (or being terminated): nothing works any more.
    Ended { status: RelationshipStatus },
    /// The security groups' access is still being assigned.
    AssignmentPending,
    /// Assigning access to a security group failed.
    AssignmentError,
    /// The relationship maps security groups, none of which has the user.
    NotInGroup { groups: Vec<String> },
    /// The user's roles there cannot grant application permissions (for example Cloud Application Administrator):
    /// the customer's own admin has to consent.
    CannotConsent,
    /// Nothing stops the setup; `renew_by` when the relationship ends within [`RENEW_WITHIN_DAYS`].
    Ready { renew_by: Option<u64> },
}

/// One row of the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub tenant_id: String,
    pub name: String,
    /// The relationship the row is about (the best of the customer's).
    pub relationship_id: Option<String>,
    pub relationship_status: Option<RelationshipStatus>,
    pub relationship_end: Option<u64>,
    /// Role template ids the user has in the customer's tenant now.
    pub roles: Vec<String>,
    pub can_consent: bool,
    pub can_teams: bool,
    pub state: RowState,
}

impl Row {
    /// The row needs someone to act before the setup can run.
    pub fn needs_action(&self) -> bool {
        !matches!(self.state, RowState::Ready { renew_by: None })
    }
}

/// The board's rows, one per customer, in the order given.
pub fn rows(data: &PartnerData) -> Vec<Row> {
    data.customers.iter().map(|c| row(c, &data.my_groups, data.read_at)).collect()
}

fn row(c: &Customer, my_groups: &BTreeSet<String>, now: u64) -> Row {
    let best = c.relationships.iter().max_by_key(|r| (r.status.rank(), r.end.unwrap_or(0)));
    let live: Vec<&Relationship> = c.relationships.iter().filter(|r| r.status.is_live()).collect();
    let mut roles: BTreeSet<String> = BTreeSet::new();
    for r in &live {
        for a in
            r.assignments.iter().filter(|a| a.status == AssignmentStatus::Active && my_groups.contains(&a.group_id))
        {
            roles.extend(a.roles.iter().filter(|role| r.roles.contains(role)).map(|role| role.to_ascii_lowercase()));
        }
    }
    let has = |id: &str| roles.contains(id);
    let can_consent = has(GLOBAL_ADMINISTRATOR) || has(PRIVILEGED_ROLE_ADMINISTRATOR);
    let can_teams = has(GLOBAL_ADMINISTRATOR) || has(TEAMS_ADMINISTRATOR);
    let state = state(c, best, &live, &roles, can_consent, now);
    Row {
        tenant_id: c.tenant_id.clone(),
        name: c.name.clone(),
        relationship_id: best.map(|r| r.id.clone()),
        relationship_status: best.map(|r| r.status),
        relationship_end: best.and_then(|r| r.end),
        roles: roles.into_iter().collect(),
        can_consent,
        can_teams,
        state,
    }
}

fn state(
    c: &Customer,
    best: Option<&Relationship>,
    live: &[&Relationship],
    roles: &BTreeSet<String>,
    can_consent: bool,
    now: u64,
) -> RowState {
    if let Some(scope) = &c.government {
        return RowState::GovernmentCloud { scope: scope.clone() };
    }
    let Some(best) = best else {
        return RowState::Ended { status: RelationshipStatus::Terminated };
    };
    match best.status {
        RelationshipStatus::ApprovalPending | RelationshipStatus::Created => {
            return RowState::ApprovalPending { relationship_id: best.id.clone() };
        }
        RelationshipStatus::Approved | RelationshipStatus::Activating => return RowState::Activating,
        RelationshipStatus::Expired
        | RelationshipStatus::Terminated
        | RelationshipStatus::TerminationRequested
        | RelationshipStatus::Terminating
        | RelationshipStatus::UnknownFutureValue => return RowState::Ended { status: best.status },
        RelationshipStatus::Active | RelationshipStatus::Expiring => {}
    }
    let settled_at = live.iter().filter_map(|r| r.activated).min().map(|a| a + ACTIVATION_SETTLES_SECS);
    if roles.is_empty() {
        let assignments = || live.iter().flat_map(|r| r.assignments.iter());
        if let Some(usable_at) = settled_at.filter(|at| now < *at) {
            return RowState::JustActivated { usable_at };
        }
        if assignments().any(|a| a.status == AssignmentStatus::Error) {
            return RowState::AssignmentError;
        }
        if assignments().any(|a| a.status == AssignmentStatus::Pending) {
            return RowState::AssignmentPending;
        }
        let groups: BTreeSet<String> =
            assignments().filter(|a| a.status == AssignmentStatus::Active).map(|a| a.group_id.clone()).collect();
        return RowState::NotInGroup { groups: groups.into_iter().collect() };
    }
    if let Some(usable_at) = settled_at.filter(|at| now < *at) {
        return RowState::JustActivated { usable_at };
    }
    if !can_consent {
        return RowState::CannotConsent;
    }
    let end = live.iter().filter_map(|r| r.end).max();
    let expiring = live.iter().any(|r| r.status == RelationshipStatus::Expiring);
    let renew_by = end.filter(|e| expiring || *e <= now + RENEW_WITHIN_DAYS * DAY);
    RowState::Ready { renew_by }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const CLOUD_APP_ADMIN: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";

    fn relationship(status: RelationshipStatus, roles: &[&str], assignments: Vec<Assignment>) -> Relationship {
        Relationship {
            id: format!("rel-{status:?}"),
            status,
            activated: status.is_live().then_some(NOW - 30 * DAY),
            end: status.is_live().then_some(NOW + 700 * DAY),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            assignments,
        }
    }

    fn assignment(group: &str, status: AssignmentStatus, roles: &[&str]) -> Assignment {
        Assignment { group_id: group.into(), status, roles: roles.iter().map(|r| (*r).to_owned()).collect() }
    }

    fn customer(relationships: Vec<Relationship>) -> Customer {
        Customer { tenant_id: "tid".into(), name: "Fabrikam".into(), relationships, government: None }
    }

    fn row_of(c: Customer, groups: &[&str]) -> Row {
        let data = PartnerData {
            customers: vec![c],
            my_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            read_at: NOW,
        };
        rows(&data).remove(0)
    }

    fn active_ga(group_status: AssignmentStatus) -> Relationship {
        relationship(
            RelationshipStatus::Active,
            &[GLOBAL_ADMINISTRATOR],
            vec![assignment("onboarding", group_status, &[GLOBAL_ADMINISTRATOR])],
        )
    }

    #[test]
    fn an_active_relationship_with_the_users_group_is_ready_with_its_roles() {
        let r = row_of(customer(vec![active_ga(AssignmentStatus::Active)]), &["onboarding"]);
        assert_eq!(r.state, RowState::Ready { renew_by: None });
        assert!(r.can_consent && r.can_teams && !r.needs_action());
        assert_eq!(r.roles, [GLOBAL_ADMINISTRATOR]);
        assert_eq!(r.relationship_status, Some(RelationshipStatus::Active));
    }

    #[test]
    fn a_user_in_no_mapped_group_has_no_roles_and_is_told_which_groups() {
        let r = row_of(customer(vec![active_ga(AssignmentStatus::Active)]), &["someone-else"]);
        assert_eq!(r.state, RowState::NotInGroup { groups: vec!["onboarding".into()] });
        assert!(!r.can_consent && !r.can_teams && r.roles.is_empty());
    }

    #[test]
    fn assignments_pending_or_failed_say_so_before_the_group() {
        let pending = row_of(customer(vec![active_ga(AssignmentStatus::Pending)]), &["onboarding"]);
        assert_eq!(pending.state, RowState::AssignmentPending);
        let failed = row_of(customer(vec![active_ga(AssignmentStatus::Error)]), &["onboarding"]);
        assert_eq!(failed.state, RowState::AssignmentError);
    }

    #[test]
    fn cloud_application_administrator_cannot_grant_application_permissions() {
        let rel = relationship(
            RelationshipStatus::Active,
            &[CLOUD_APP_ADMIN, TEAMS_ADMINISTRATOR],
            vec![assignment("onboarding", AssignmentStatus::Active, &[CLOUD_APP_ADMIN, TEAMS_ADMINISTRATOR])],
        );
        let r = row_of(customer(vec![rel]), &["onboarding"]);
        assert_eq!(r.state, RowState::CannotConsent);
        assert!(!r.can_consent && r.can_teams);
    }

    #[test]
    fn roles_outside_the_relationship_are_not_counted() {
        // An assignment cannot give more than the customer approved.
        let rel = relationship(
            RelationshipStatus::Active,
            &[CLOUD_APP_ADMIN],
            vec![assignment("onboarding", AssignmentStatus::Active, &[GLOBAL_ADMINISTRATOR, CLOUD_APP_ADMIN])],
        );
        let r = row_of(customer(vec![rel]), &["onboarding"]);
        assert_eq!(r.roles, [CLOUD_APP_ADMIN]);
    }

    #[test]
    fn relationship_states_before_and_after_activity() {
        let pending = row_of(customer(vec![relationship(RelationshipStatus::ApprovalPending, &[], vec![])]), &[]);
        assert_eq!(pending.state, RowState::ApprovalPending { relationship_id: "rel-ApprovalPending".into() });
        let activating = row_of(customer(vec![relationship(RelationshipStatus::Activating, &[], vec![])]), &[]);
        assert_eq!(activating.state, RowState::Activating);
        for ended in [RelationshipStatus::Expired, RelationshipStatus::Terminated] {
            let r = row_of(customer(vec![relationship(ended, &[GLOBAL_ADMINISTRATOR], vec![])]), &[]);
            assert_eq!(r.state, RowState::Ended { status: ended });
        }
        let none = row_of(customer(vec![]), &[]);
        assert!(matches!(none.state, RowState::Ended { .. }) && none.relationship_id.is_none());
    }

    #[test]
    fn the_best_relationship_wins_when_a_customer_has_several() {
        let old = relationship(RelationshipStatus::Expired, &[GLOBAL_ADMINISTRATOR], vec![]);
        let r = row_of(customer(vec![old, active_ga(AssignmentStatus::Active)]), &["onboarding"]);
        assert_eq!(r.relationship_status, Some(RelationshipStatus::Active));
        assert_eq!(r.state, RowState::Ready { renew_by: None });
    }

    #[test]
    fn a_relationship_activated_minutes_ago_waits_a_quarter_hour() {
        let mut rel = active_ga(AssignmentStatus::Active);
        rel.activated = Some(NOW - 60);
        let r = row_of(customer(vec![rel]), &["onboarding"]);
        assert_eq!(r.state, RowState::JustActivated { usable_at: NOW - 60 + ACTIVATION_SETTLES_SECS });
        assert!(r.needs_action());
    }

    #[test]
    fn a_relationship_ending_within_thirty_days_is_ready_with_a_renewal_date() {
        let mut rel = active_ga(AssignmentStatus::Active);
        rel.end = Some(NOW + 10 * DAY);
        let r = row_of(customer(vec![rel]), &["onboarding"]);
        assert_eq!(r.state, RowState::Ready { renew_by: Some(NOW + 10 * DAY) });
        assert!(r.needs_action(), "a renewal is an action");
        let mut expiring = active_ga(AssignmentStatus::Active);
        expiring.status = RelationshipStatus::Expiring;
        let r = row_of(customer(vec![expiring]), &["onboarding"]);
        assert!(matches!(r.state, RowState::Ready { renew_by: Some(_) }), "Microsoft's own expiring status");
    }

    #[test]
    fn a_government_cloud_customer_is_said_first() {
        let mut c = customer(vec![active_ga(AssignmentStatus::Active)]);
        c.government = Some("GCC".into());
        assert_eq!(row_of(c, &["onboarding"]).state, RowState::GovernmentCloud { scope: "GCC".into() });
    }

    use crate::wizard::customer_checks::{CustomerStatus, Finding, SavedBoard};
    use crate::wizard::tests::{account, at, identity, settings, started_attempt};
    use crate::wizard::{ConsentRedirect, Event, Intent, Outcome, ScopeSet};

    fn data() -> PartnerData {
        PartnerData {
            customers: vec![customer(vec![active_ga(AssignmentStatus::Active)])],
            my_groups: ["onboarding".to_owned()].into(),
            read_at: NOW,
        }
    }

    #[test]
    fn the_partners_way_in_signs_in_for_the_board_and_reads_it_again_on_request() {
        let mut w = Wizard::new(settings(ConsentRedirect::Loopback));
        assert!(w.update(Event::User(Intent::CustomersOfAPartner), at(0)).is_empty());
        assert_eq!((w.way(), w.page()), (WayIn::Partner, StepId::SignIn));
        let effects = w.update(Event::User(Intent::SignInWithBrowser), at(1));
        assert!(matches!(effects.as_slice(), [Effect::BeginBrowserSignIn { scopes: ScopeSet::Partner, .. }]));
        let attempt = started_attempt(&effects);
        let effects = w.update(Event::Done(Outcome::SignInFinished { attempt, result: Ok(account(&[])) }), at(2));
        let [Effect::ReadPartner { attempt: read, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(w.page(), StepId::SignIn, "no consent page on the partner's way");
        assert!(matches!(w.consent(), crate::wizard::Consent::Locked));
        assert!(w.update(Event::User(Intent::RecheckCustomers), at(3)).is_empty(), "one read at a time");
        let effects = w.update(Event::Done(Outcome::PartnerRead { attempt: *read, result: Ok(data()) }), at(4));
        let [Effect::SaveBoard { saved, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(saved.data, data(), "what was read is saved");
        assert_eq!(w.board().data().map(|d| rows(d)[0].state.clone()), Some(RowState::Ready { renew_by: None }));

        // Re-checked: the rows stay on screen while it runs, and a failure keeps them too.
        let effects = w.update(Event::User(Intent::RecheckCustomers), at(5));
        let [Effect::ReadPartner { attempt: again, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let again = *again;
        assert!(w.board().data().is_some(), "the last rows stay while it runs");
        let stale = w.update(Event::Done(Outcome::PartnerRead { attempt: *read, result: Ok(data()) }), at(6));
        assert!(stale.is_empty() && matches!(w.board(), Board::Loading { .. }), "an old answer is ignored");
        let refused = identity(65001, "invalid_grant");
        assert!(w.update(Event::Done(Outcome::PartnerRead { attempt: again, result: Err(refused) }), at(7)).is_empty());
        assert!(matches!(w.board(), Board::Failed { last: Some(_), .. }));
    }

    #[test]
    fn the_saved_board_fills_the_wait_for_the_first_read_and_never_replaces_a_newer_one() {
        let mut w = Wizard::new(settings(ConsentRedirect::Loopback));
        let _open = w.update(Event::User(Intent::CustomersOfAPartner), at(0));
        let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
        let mut acct = account(&[]);
        acct.tenant_id = "partner-tid".into();
        let effects = w.update(Event::Done(Outcome::SignInFinished { attempt, result: Ok(acct) }), at(2));
        let [Effect::ReadPartner { attempt: read, partner_tenant }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(partner_tenant, "partner-tid", "saved per partner tenant");
        let read = *read;
        let mut saved = SavedBoard { data: data(), checks: std::collections::BTreeMap::new() };
        saved.data.read_at = NOW - 3 * 3600;
        let check = crate::wizard::customer_checks::CustomerCheck {
            checked_at: NOW - 3 * 3600,
            consent: Finding::Done,
            permissions: Finding::Done,
            teams_app: Finding::Done,
            policy: Finding::Missing,
            delivery: Finding::Missing,
            reached: None,
            apps_blocked: false,
            admin_centers: None,
        };
        saved.checks.insert(saved.data.customers[0].tenant_id.clone(), check.clone());
        let _none = w.update(Event::Done(Outcome::PartnerSaved { attempt: read, saved: saved.clone() }), at(3));
        assert!(matches!(w.board(), Board::Loading { .. }));
        assert_eq!(w.board().data().map(|d| d.read_at), Some(NOW - 3 * 3600), "shown while the read runs");
        let tenant = &saved.data.customers[0].tenant_id;
        assert_eq!(w.customer_checks().by_tenant.get(tenant), Some(&CustomerStatus::Checked(check.clone())));
        let effects = w.update(Event::Done(Outcome::PartnerRead { attempt: read, result: Ok(data()) }), at(4));
        assert_eq!(w.board().data().map(|d| d.read_at), Some(NOW));
        // Saved again with this read and the checks it opened with.
        let [Effect::SaveBoard { partner_tenant, saved: again }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!((partner_tenant.as_str(), again.data.read_at), ("partner-tid", NOW));
        assert_eq!(again.checks.get(tenant), Some(&check), "the checks are kept with it");
        // Checked again: this session's rows stay; a saved board (from an earlier session) does not replace them.
        let effects = w.update(Event::User(Intent::RecheckCustomers), at(5));
        let [Effect::ReadPartner { attempt: again, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let _none = w.update(Event::Done(Outcome::PartnerSaved { attempt: *again, saved }), at(6));
        assert_eq!(w.board().data().map(|d| d.read_at), Some(NOW));
    }

    #[test]
    fn the_partners_way_is_offered_only_from_welcome_and_never_offers_a_basic_sign_in() {
        let mut w = Wizard::new(settings(ConsentRedirect::Loopback));
        let _continue = w.update(Event::User(Intent::Continue), at(0));
        assert!(w.update(Event::User(Intent::CustomersOfAPartner), at(0)).is_empty());
        assert_eq!(w.way(), WayIn::OneOrganization, "not once the one-organization way began");

        let mut w = Wizard::new(settings(ConsentRedirect::Loopback));
        let _open = w.update(Event::User(Intent::CustomersOfAPartner), at(0));
        let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
        let declined = identity(65004, "access_denied");
        let _none = w.update(Event::Done(Outcome::SignInFinished { attempt, result: Err(declined) }), at(2));
        assert!(!w.offers_basic_access(), "the partner's read is the point of this sign-in");
    }

    #[test]
    fn statuses_microsoft_adds_later_are_read_not_refused() {
        let s: RelationshipStatus = serde_json::from_str("\"somethingNew\"").unwrap();
        assert_eq!(s, RelationshipStatus::UnknownFutureValue);
        let a: AssignmentStatus = serde_json::from_str("\"active\"").unwrap();
        assert_eq!(a, AssignmentStatus::Active);
    }
}
