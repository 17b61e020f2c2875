//! Checking the partner's customers in their own tenants (issue 19): for each customer where the signed-in user
//! has GDAP roles, the shell reads, signed in there with the partner's account, whether MSPbots is consented, its
//! permissions granted, its Teams app in the catalog and pinned in the Global setup policy; this decides each
//! finding from those readings (pure) and keeps the latest per customer while a check of them all runs, with its
//! progress, cancel and failures per customer.
//!
//! ```text
//! no check ──CheckCustomers──▶ running (attempt, the customers asked)          [CheckCustomers]
//! running ──CustomerChecked(one)──▶ running, that customer's finding kept
//! running ──CustomersChecked──▶ no check         ──CancelCustomerChecks──▶ no check   [Abandon]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::board::rows;
use super::{
    Attempt, CatalogEntry, Effect, Failure, PermissionView, PublishingState, SetupPolicy, TenantSnapshot, Wizard,
};

/// What the shell read in one customer's tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerReading {
    /// The vendor app's service principal and grants there.
    pub snapshot: TenantSnapshot,
    /// The Teams app as the tenant's catalog lists it (store listing first), or why it could not be read.
    pub catalog: Result<Option<CatalogEntry>, Failure>,
    /// The Global setup policy, or why it could not be read (no Teams admin API, a refusal).
    pub policy: Result<SetupPolicy, Failure>,
    /// When it was read (Unix seconds).
    pub read_at: u64,
}

/// One thing found in a customer's tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    Done,
    Missing,
    /// It could not be read (its reason is in the reading).
    NotRead,
}

/// A customer's own steps as last checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerCheck {
    /// When (Unix seconds).
    pub checked_at: u64,
    /// MSPbots' enterprise app is in the tenant (someone consented).
    pub consent: Finding,
    /// Every permission the vendor profile asks for is granted.
    pub permissions: Finding,
    /// The Teams app is published in the tenant's catalog.
    pub teams_app: Finding,
    /// The Teams app is pinned in the Global setup policy.
    pub policy: Finding,
}

impl CustomerCheck {
    /// Everything the setup does is there.
    pub fn complete(&self) -> bool {
        [self.consent, self.permissions, self.teams_app, self.policy].iter().all(|f| *f == Finding::Done)
    }
}

/// Decides the findings of one reading against the permissions the vendor asks for.
pub fn check_of(reading: &CustomerReading, required: &[PermissionView]) -> CustomerCheck {
    let consent = match reading.snapshot.app {
        super::AppPresence::Found { .. } => Finding::Done,
        super::AppPresence::NotFound => Finding::Missing,
    };
    let checklist = super::checklist(required, &reading.snapshot);
    let permissions = if consent == Finding::Done && checklist.iter().all(|c| !c.state.is_problem()) {
        Finding::Done
    } else {
        Finding::Missing
    };
    let published = match &reading.catalog {
        Ok(Some(entry)) if entry.state == PublishingState::Published => Some(entry),
        Ok(_) => None,
        Err(_) => {
            return CustomerCheck {
                checked_at: reading.read_at,
                consent,
                permissions,
                teams_app: Finding::NotRead,
                policy: Finding::NotRead,
            };
        }
    };
    let teams_app = if published.is_some() { Finding::Done } else { Finding::Missing };
    let policy = match (&reading.policy, published) {
        (Err(_), _) => Finding::NotRead,
        (Ok(p), Some(entry)) if p.pinned.contains(&entry.catalog_id) => Finding::Done,
        (Ok(_), _) => Finding::Missing,
    };
    CustomerCheck { checked_at: reading.read_at, consent, permissions, teams_app, policy }
}

/// A customer's latest check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerStatus {
    /// Asked in the check under way, not answered yet.
    Waiting,
    Checked(CustomerCheck),
    /// The customer's tenant could not be read (for example AADSTS90099: the setup tool is not approved there).
    Failed {
        failure: Failure,
        at: u64,
    },
}

/// The checks of the customers: the latest per customer (by tenant id), and the check under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerChecks {
    pub by_tenant: BTreeMap<String, CustomerStatus>,
    /// The check under way: its attempt and how many customers it asked.
    pub running: Option<(Attempt, usize)>,
    /// "Check all again" asked for the tenants' check once the partner's relationships are read again.
    pub(super) after_read: bool,
}

impl CustomerChecks {
    /// How many customers of the check under way have not answered yet.
    pub fn waiting(&self) -> usize {
        self.by_tenant.values().filter(|s| matches!(s, CustomerStatus::Waiting)).count()
    }
}

/// What the person asks (`Intent::route` hands them over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CheckIntent {
    CheckAll,
    /// One customer, by tenant id.
    One(String),
    Cancel,
}

/// What the shell reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CheckOutcome {
    One { attempt: Attempt, tenant_id: String, result: Result<CustomerReading, Failure>, at: u64 },
    AllDone { attempt: Attempt },
}

impl Wizard {
    /// The customers' checks in their own tenants.
    pub fn customer_checks(&self) -> &CustomerChecks {
        &self.customer_checks
    }

    pub(super) fn on_check_intent(&mut self, intent: CheckIntent) -> Vec<Effect> {
        match intent {
            CheckIntent::CheckAll => self.start_check(None),
            CheckIntent::One(tenant) => self.start_check(Some(&tenant)),
            CheckIntent::Cancel => match self.customer_checks.running.take() {
                Some((attempt, _)) => {
                    // What answered is kept; the customers not reached are as they were before.
                    self.customer_checks.by_tenant.retain(|_, s| !matches!(s, CustomerStatus::Waiting));
                    vec![Effect::Abandon { attempt }]
                }
                None => Vec::new(),
            },
        }
    }

    /// Checks the customers where the user has roles now (every one, or `only` that one): the others' tenants
    /// refuse them anyway. One check at a time.
    fn start_check(&mut self, only: Option<&str>) -> Vec<Effect> {
        if self.customer_checks.running.is_some() {
            return Vec::new();
        }
        let Some(data) = self.board.data() else { return Vec::new() };
        let tenants: Vec<String> = rows(data)
            .into_iter()
            .filter(|r| !r.roles.is_empty() && only.is_none_or(|t| t == r.tenant_id))
            .map(|r| r.tenant_id)
            .collect();
        if tenants.is_empty() {
            return Vec::new();
        }
        let attempt = self.new_attempt();
        // Earlier findings stay until each customer answers again.
        for t in &tenants {
            self.customer_checks.by_tenant.entry(t.clone()).or_insert(CustomerStatus::Waiting);
        }
        self.customer_checks.running = Some((attempt, tenants.len()));
        vec![Effect::CheckCustomers { attempt, tenants, at_once: self.settings.timing.customers_at_once.max(1) }]
    }

    pub(super) fn on_check_outcome(&mut self, outcome: CheckOutcome) -> Vec<Effect> {
        let current = self.customer_checks.running.map(|(a, _)| a);
        match outcome {
            CheckOutcome::One { attempt, tenant_id, result, at } if current == Some(attempt) => {
                let status = match result {
                    Ok(reading) => CustomerStatus::Checked(check_of(&reading, &self.settings.permissions)),
                    Err(failure) => CustomerStatus::Failed { failure, at },
                };
                self.customer_checks.by_tenant.insert(tenant_id, status);
                Vec::new()
            }
            CheckOutcome::AllDone { attempt } if current == Some(attempt) => {
                self.customer_checks.running = None;
                self.customer_checks.by_tenant.retain(|_, s| !matches!(s, CustomerStatus::Waiting));
                Vec::new()
            }
            // A cancelled or earlier check's late answer.
            CheckOutcome::One { .. } | CheckOutcome::AllDone { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::board::{
        Assignment, AssignmentStatus, Customer, GLOBAL_ADMINISTRATOR, PartnerData, Relationship, RelationshipStatus,
    };
    use crate::wizard::tests::{account, at, identity, settings, started_attempt};
    use crate::wizard::{AppPresence, ConsentRedirect, Event, Intent, Outcome, StepId};

    const NOW: u64 = 1_800_000_000;

    fn customer(tenant_id: &str, status: RelationshipStatus) -> Customer {
        Customer {
            tenant_id: tenant_id.into(),
            name: tenant_id.to_uppercase(),
            relationships: vec![Relationship {
                id: format!("rel-{tenant_id}"),
                status,
                activated: Some(NOW - 30 * 86_400),
                end: Some(NOW + 700 * 86_400),
                roles: vec![GLOBAL_ADMINISTRATOR.into()],
                assignments: vec![Assignment {
                    group_id: "onboarding".into(),
                    status: AssignmentStatus::Active,
                    roles: vec![GLOBAL_ADMINISTRATOR.into()],
                }],
            }],
            government: None,
        }
    }

    /// A partner signed in with the board read: two customers where the user has roles, one awaiting approval.
    fn on_the_board() -> Wizard {
        let mut w = Wizard::new(settings(ConsentRedirect::Loopback));
        let _open = w.update(Event::User(Intent::CustomersOfAPartner), at(0));
        let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
        let effects = w.update(Event::Done(Outcome::SignInFinished { attempt, result: Ok(account(&[])) }), at(2));
        let [Effect::ReadPartner { attempt: read, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let data = PartnerData {
            customers: vec![
                customer("contoso", RelationshipStatus::Active),
                customer("tailspin", RelationshipStatus::ApprovalPending),
                customer("fabrikam", RelationshipStatus::Expiring),
            ],
            my_groups: ["onboarding".to_owned()].into(),
            read_at: NOW,
        };
        assert!(w.update(Event::Done(Outcome::PartnerRead { attempt: *read, result: Ok(data) }), at(3)).is_empty());
        assert_eq!(w.page(), StepId::SignIn);
        w
    }

    fn reading(app: AppPresence, catalog: Result<Option<CatalogEntry>, Failure>, pinned: &[&str]) -> CustomerReading {
        let mut snapshot = crate::wizard::verify_tests::all_granted();
        snapshot.app = app;
        CustomerReading {
            snapshot,
            catalog,
            policy: Ok(SetupPolicy {
                identity: "Global".into(),
                installed: Vec::new(),
                pinned: pinned.iter().map(|p| (*p).to_owned()).collect(),
            }),
            read_at: NOW,
        }
    }

    fn found() -> AppPresence {
        AppPresence::Found { object_id: "sp".into(), enabled: true }
    }

    fn entry(state: PublishingState) -> Result<Option<CatalogEntry>, Failure> {
        Ok(Some(CatalogEntry { catalog_id: "app-1".into(), version: "1.4.0".into(), state }))
    }

    #[test]
    fn a_customers_findings_follow_what_its_tenant_showed() {
        let required = settings(ConsentRedirect::Loopback).permissions;
        let all = check_of(&reading(found(), entry(PublishingState::Published), &["app-1"]), &required);
        assert!(all.complete(), "{all:?}");
        let unpinned = check_of(&reading(found(), entry(PublishingState::Published), &["other"]), &required);
        assert_eq!((unpinned.teams_app, unpinned.policy), (Finding::Done, Finding::Missing));
        // No enterprise app: no consent, so no permissions, whatever grants are listed.
        let no_app = check_of(&reading(AppPresence::NotFound, Ok(None), &[]), &required);
        assert_eq!(
            (no_app.consent, no_app.permissions, no_app.teams_app, no_app.policy),
            (Finding::Missing, Finding::Missing, Finding::Missing, Finding::Missing)
        );
        // An upload still under review is not in the catalog for users; a catalog that cannot be read says so.
        let review = check_of(&reading(found(), entry(PublishingState::Submitted), &["app-1"]), &required);
        assert_eq!((review.teams_app, review.policy), (Finding::Missing, Finding::Missing));
        let unread = check_of(&reading(found(), Err(identity(65001, "invalid_grant")), &["app-1"]), &required);
        assert_eq!(
            (unread.consent, unread.teams_app, unread.policy),
            (Finding::Done, Finding::NotRead, Finding::NotRead)
        );
        let mut no_policy = reading(found(), entry(PublishingState::Published), &[]);
        no_policy.policy = Err(identity(65001, "invalid_grant"));
        assert_eq!(check_of(&no_policy, &required).policy, Finding::NotRead);
    }

    #[test]
    fn checking_every_customer_asks_those_the_user_has_roles_in_and_keeps_each_answer() {
        let mut w = on_the_board();
        let effects = w.update(Event::User(Intent::CheckCustomersTenants), at(4));
        let [Effect::CheckCustomers { attempt, tenants, at_once }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(tenants, &["contoso".to_owned(), "fabrikam".to_owned()], "not the one awaiting approval");
        assert_eq!(*at_once, 32, "the wizard's pacing");
        let attempt = *attempt;
        assert_eq!(w.customer_checks().running, Some((attempt, 2)));
        assert!(w.update(Event::User(Intent::CheckCustomersTenants), at(5)).is_empty(), "one check at a time");

        let one =
            |tenant: &str, result| Outcome::CustomerChecked { attempt, tenant_id: tenant.into(), result, at: NOW };
        let ok = reading(found(), entry(PublishingState::Published), &["app-1"]);
        assert!(w.update(Event::Done(one("contoso", Ok(ok))), at(6)).is_empty());
        assert_eq!(w.customer_checks().waiting(), 1);
        let refused = identity(90099, "invalid_grant");
        assert!(w.update(Event::Done(one("fabrikam", Err(refused.clone()))), at(7)).is_empty());
        assert!(w.update(Event::Done(Outcome::CustomersChecked { attempt }), at(8)).is_empty());
        let checks = w.customer_checks();
        assert_eq!(checks.running, None);
        assert!(matches!(&checks.by_tenant["contoso"], CustomerStatus::Checked(c) if c.complete()));
        assert_eq!(checks.by_tenant["fabrikam"], CustomerStatus::Failed { failure: refused, at: NOW });
    }

    #[test]
    fn a_cancelled_check_keeps_what_answered_and_ignores_late_answers() {
        let mut w = on_the_board();
        let effects = w.update(Event::User(Intent::CheckCustomersTenants), at(4));
        let [Effect::CheckCustomers { attempt, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let attempt = *attempt;
        let ok = reading(found(), entry(PublishingState::Published), &[]);
        let answer = Outcome::CustomerChecked { attempt, tenant_id: "contoso".into(), result: Ok(ok.clone()), at: NOW };
        assert!(w.update(Event::Done(answer), at(5)).is_empty());
        assert_eq!(w.update(Event::User(Intent::CancelCustomerChecks), at(6)), [Effect::Abandon { attempt }]);
        assert_eq!(w.customer_checks().running, None);
        assert!(!w.customer_checks().by_tenant.contains_key("fabrikam"), "not reached: as before the check");
        let late = Outcome::CustomerChecked { attempt, tenant_id: "fabrikam".into(), result: Ok(ok), at: NOW };
        assert!(w.update(Event::Done(late), at(7)).is_empty());
        assert!(!w.customer_checks().by_tenant.contains_key("fabrikam"), "a cancelled check's late answer");
        assert!(matches!(w.customer_checks().by_tenant["contoso"], CustomerStatus::Checked(_)));
    }

    #[test]
    fn check_all_again_reads_the_relationships_then_every_customers_tenant() {
        let mut w = on_the_board();
        let effects = w.update(Event::User(Intent::RecheckCustomers), at(4));
        let [Effect::ReadPartner { attempt: read, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let data = w.board().data().cloned().unwrap();
        let effects = w.update(Event::Done(Outcome::PartnerRead { attempt: *read, result: Ok(data) }), at(5));
        assert!(
            matches!(effects.as_slice(), [Effect::CheckCustomers { tenants, .. }] if tenants.len() == 2),
            "{effects:?}"
        );
        // A read that fails starts no check, and the next plain read does not either.
        let mut w = on_the_board();
        let effects = w.update(Event::User(Intent::RecheckCustomers), at(4));
        let [Effect::ReadPartner { attempt: read, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let failed = Outcome::PartnerRead { attempt: *read, result: Err(identity(65001, "invalid_grant")) };
        assert!(w.update(Event::Done(failed), at(5)).is_empty());
        assert_eq!(w.customer_checks().running, None);
    }

    #[test]
    fn one_customer_is_checked_again_on_its_own_when_the_user_has_roles_there() {
        let mut w = on_the_board();
        let effects = w.update(Event::User(Intent::CheckCustomerTenant("fabrikam".into())), at(4));
        let [Effect::CheckCustomers { attempt, tenants, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(tenants, &["fabrikam".to_owned()]);
        assert_eq!(w.customer_checks().running, Some((*attempt, 1)));
        let attempt = *attempt;
        assert!(w.update(Event::Done(Outcome::CustomersChecked { attempt }), at(5)).is_empty());
        // Awaiting approval: no roles there, nothing to read.
        assert!(w.update(Event::User(Intent::CheckCustomerTenant("tailspin".into())), at(6)).is_empty());
        assert!(w.update(Event::User(Intent::CheckCustomerTenant("nobody".into())), at(7)).is_empty());
    }
}
