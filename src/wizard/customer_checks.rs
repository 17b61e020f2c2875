//! Checking the partner's customers in their own tenants (issue 19): for each customer where the signed-in user
//! has GDAP roles, the shell reads, signed in there with the partner's account, whether MSPbots is consented, its
//! permissions granted, its Teams app in the catalog (and not blocked org-wide), pinned in the Global setup policy
//! and reaching a sample of users, and, in the partner's tenant, the customer's admin centers as Microsoft lists
//! them; this decides each finding from those readings (pure) and keeps the latest per customer while a check of
//! them all runs, with its progress, cancel and failures per customer. What was found is saved with the board
//! ([`SavedBoard`]): findings and counts only, no user of the customer.
//!
//! ```text
//! no check ──CheckCustomers──▶ running (attempt, the customers asked)          [CheckCustomers]
//! running ──CustomerChecked(one)──▶ running, that customer's finding kept
//! running ──CustomersChecked──▶ no check         ──CancelCustomerChecks──▶ no check   [Abandon]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::board::PartnerData;
use super::board::rows;
use super::policy::{Reach, SampleUser};
use super::{
    Attempt, CatalogEntry, Effect, Failure, Moment, OrgAppSettings, PermissionView, PublishingState, SetupPolicy,
    TenantSnapshot, Wizard,
};

/// What the shell read in one customer's tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerReading {
    /// The vendor app's service principal and grants there.
    pub snapshot: TenantSnapshot,
    /// The Teams app as the tenant's catalog lists it (store listing first), or why it could not be read.
    pub catalog: Result<Option<CatalogEntry>, Failure>,
    /// The catalog entry is the store listing (a third-party app), not an upload of the organization's own.
    pub store_listing: bool,
    /// The Global setup policy, or why it could not be read (no Teams admin API, a refusal).
    pub policy: Result<SetupPolicy, Failure>,
    /// The org-wide app settings, each `None` where it could not be read.
    pub settings: OrgAppSettings,
    /// Who has the app: a sample of the tenant's members and what reading each found, or why it could not be read.
    pub delivery: Result<DeliverySample, Failure>,
    /// The customer's admin centers, read in the partner's tenant, or why they could not be.
    pub admin_centers: Result<AdminCenters, Failure>,
    /// When it was read (Unix seconds).
    pub read_at: u64,
}

/// The users a delivery check sampled, and what reading each found (by user id).
pub type DeliverySample = (Vec<SampleUser>, Vec<(String, Reach)>);

/// A customer's admin centers in the partner's context, as Microsoft lists them for the partner
/// (`delegatedAdminCustomer/serviceManagementDetails`, `docs/msp-multi-tenant.md`): opened from the board, they show
/// that customer's tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminCenters {
    pub teams: Option<String>,
    pub entra: Option<String>,
}

/// Which admin center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCenter {
    Teams,
    Entra,
}

impl AdminCenters {
    /// The address of `center`, if Microsoft listed it.
    pub fn get(&self, center: AdminCenter) -> Option<&str> {
        match center {
            AdminCenter::Teams => self.teams.as_deref(),
            AdminCenter::Entra => self.entra.as_deref(),
        }
    }

    /// Picks the Teams and Entra admin centers from Microsoft's list of `(serviceName, serviceManagementUrl)`, by
    /// the address's host (Microsoft has renamed the services: Azure Active Directory is Microsoft Entra ID). Only
    /// `https` addresses of Microsoft's hosts are kept.
    pub fn from_services<'a>(services: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out = Self::default();
        for (_, url) in services {
            let Ok(parsed) = url::Url::parse(url) else { continue };
            if parsed.scheme() != "https" {
                continue;
            }
            match parsed.host_str() {
                Some("admin.teams.microsoft.com") => out.teams = out.teams.or(Some(url.to_owned())),
                Some("entra.microsoft.com" | "aad.portal.azure.com") => {
                    out.entra = out.entra.or(Some(url.to_owned()));
                }
                _ => {}
            }
        }
        out
    }
}

/// One thing found in a customer's tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    Done,
    Missing,
    /// It could not be read (its reason is in the reading).
    #[default]
    NotRead,
}

/// How many of the sampled users who can have the app (a Teams licence) have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reached {
    pub have_it: u32,
    pub sampled: u32,
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
    /// Every sampled user with a Teams licence has the app.
    #[serde(default)]
    pub delivery: Finding,
    #[serde(default)]
    pub reached: Option<Reached>,
    /// The org-wide app settings block the app (third-party apps off, or the organization's own apps off for an
    /// upload): installs are likely refused until an admin allows it (an app-centric tenant decides per app, so
    /// a tenant where the app got through anyway is still complete).
    #[serde(default)]
    pub apps_blocked: bool,
    /// `None` when they could not be read.
    #[serde(default)]
    pub admin_centers: Option<AdminCenters>,
}

impl CustomerCheck {
    /// Everything the setup does is there (whether Teams has delivered it to everyone yet is [`Self::delivery`]).
    pub fn complete(&self) -> bool {
        [self.consent, self.permissions, self.teams_app, self.policy].iter().all(|f| *f == Finding::Done)
    }

    /// Set up, and the sampled users have it: the customer is onboarded.
    pub fn onboarded(&self) -> bool {
        self.complete() && self.delivery == Finding::Done
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
    let allowed =
        if reading.store_listing { reading.settings.third_party_allowed } else { reading.settings.custom_allowed };
    let (delivery, reached) = delivery_of(&reading.delivery);
    let admin_centers = reading.admin_centers.as_ref().ok().cloned();
    let (teams_app, policy) = match &reading.catalog {
        Err(_) => (Finding::NotRead, Finding::NotRead),
        Ok(entry) => {
            let published = entry.as_ref().filter(|e| e.state == PublishingState::Published);
            let policy = match (&reading.policy, published) {
                (Err(_), _) => Finding::NotRead,
                (Ok(p), Some(entry)) if p.pinned.contains(&entry.catalog_id) => Finding::Done,
                (Ok(_), _) => Finding::Missing,
            };
            (if published.is_some() { Finding::Done } else { Finding::Missing }, policy)
        }
    };
    CustomerCheck {
        checked_at: reading.read_at,
        consent,
        permissions,
        teams_app,
        policy,
        delivery,
        reached,
        apps_blocked: allowed == Some(false),
        admin_centers,
    }
}

/// Whether the sample has the app: done when every sampled user with a Teams licence has it, not read when the
/// sample could not be read or holds no one licensed.
fn delivery_of(read: &Result<DeliverySample, Failure>) -> (Finding, Option<Reached>) {
    let Ok((users, reaches)) = read else { return (Finding::NotRead, None) };
    // Only the counts are kept, not the report's moment.
    let report = super::policy::report(users, reaches, Moment::from_millis(0));
    if report.sampled == 0 {
        return (Finding::NotRead, None);
    }
    let reached = Reached { have_it: report.have_it, sampled: report.sampled };
    (if report.reached() { Finding::Done } else { Finding::Missing }, Some(reached))
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

/// What is saved per partner tenant, so the board opens with it (and says how old it is): the partner's data as
/// last read and each customer's last check that answered. No token, and nothing of a customer's users but counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedBoard {
    #[serde(flatten)]
    pub data: PartnerData,
    /// By customer tenant id.
    #[serde(default)]
    pub checks: BTreeMap<String, CustomerCheck>,
}

/// What the person asks (`Intent::route` hands them over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CheckIntent {
    CheckAll,
    /// One customer, by tenant id.
    One(String),
    Cancel,
    OpenAdminCenter(String, AdminCenter),
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
                    let mut effects = vec![Effect::Abandon { attempt }];
                    effects.extend(self.save_board());
                    effects
                }
                None => Vec::new(),
            },
            // Only an address the customer's check read from Microsoft is opened.
            CheckIntent::OpenAdminCenter(tenant, center) => match self.customer_checks.by_tenant.get(&tenant) {
                Some(CustomerStatus::Checked(c)) => c
                    .admin_centers
                    .as_ref()
                    .and_then(|a| a.get(center))
                    .map(|url| Effect::OpenUrl { url: url.to_owned() })
                    .into_iter()
                    .collect(),
                Some(CustomerStatus::Waiting | CustomerStatus::Failed { .. }) | None => Vec::new(),
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

    /// Saves the board and the checks that answered, for the partner's tenant.
    pub(super) fn save_board(&self) -> Option<Effect> {
        let data = self.board.data()?.clone();
        let partner_tenant = self.account()?.tenant_id.clone();
        let checks = self
            .customer_checks
            .by_tenant
            .iter()
            .filter_map(|(t, s)| match s {
                CustomerStatus::Checked(c) => Some((t.clone(), c.clone())),
                CustomerStatus::Waiting | CustomerStatus::Failed { .. } => None,
            })
            .collect();
        Some(Effect::SaveBoard { partner_tenant, saved: SavedBoard { data, checks } })
    }

    /// The saved board's checks, for the customers this session has not checked.
    pub(super) fn restore_checks(&mut self, checks: BTreeMap<String, CustomerCheck>) {
        for (tenant, check) in checks {
            self.customer_checks.by_tenant.entry(tenant).or_insert(CustomerStatus::Checked(check));
        }
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
                self.save_board().into_iter().collect()
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
        let effects = w.update(Event::Done(Outcome::PartnerRead { attempt: *read, result: Ok(data) }), at(3));
        assert!(matches!(effects.as_slice(), [Effect::SaveBoard { .. }]), "{effects:?}");
        assert_eq!(w.page(), StepId::SignIn);
        w
    }

    fn reading(app: AppPresence, catalog: Result<Option<CatalogEntry>, Failure>, pinned: &[&str]) -> CustomerReading {
        let mut snapshot = crate::wizard::verify_tests::all_granted();
        snapshot.app = app;
        CustomerReading {
            snapshot,
            catalog,
            store_listing: true,
            policy: Ok(SetupPolicy {
                identity: "Global".into(),
                installed: Vec::new(),
                pinned: pinned.iter().map(|p| (*p).to_owned()).collect(),
            }),
            settings: OrgAppSettings::default(),
            delivery: Ok((sample_users(), vec![("u1".into(), Reach::HasIt), ("u2".into(), Reach::HasIt)])),
            admin_centers: Ok(AdminCenters::default()),
            read_at: NOW,
        }
    }

    fn sample_users() -> Vec<SampleUser> {
        ["u1", "u2", "u3"].iter().map(|id| SampleUser { id: (*id).into(), name: id.to_uppercase() }).collect()
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
    fn delivery_blocks_and_admin_centers_are_read_from_the_tenant_and_the_partners_list() {
        let required = settings(ConsentRedirect::Loopback).permissions;
        let mut r = reading(found(), entry(PublishingState::Published), &["app-1"]);
        // u3 was sampled but not read: not there yet. Two of three licensed users have it.
        let c = check_of(&r, &required);
        assert_eq!((c.delivery, c.reached), (Finding::Missing, Some(Reached { have_it: 2, sampled: 3 })));
        assert!(c.complete() && !c.onboarded());
        r.delivery = Ok((sample_users(), ["u1", "u2", "u3"].map(|u| (u.to_owned(), Reach::HasIt)).to_vec()));
        assert!(check_of(&r, &required).onboarded());
        // No one licensed in the sample, or a sample that cannot be read: not read, so not onboarded.
        r.delivery = Ok((sample_users(), ["u1", "u2", "u3"].map(|u| (u.to_owned(), Reach::NoTeamsLicence)).to_vec()));
        assert_eq!((check_of(&r, &required).delivery, check_of(&r, &required).reached), (Finding::NotRead, None));
        r.delivery = Err(identity(65001, "invalid_grant"));
        assert!(!check_of(&r, &required).onboarded());

        // Third-party apps off blocks a store listing; the organization's own apps off blocks an upload.
        r.settings.third_party_allowed = Some(false);
        assert!(check_of(&r, &required).apps_blocked);
        r.store_listing = false;
        assert!(!check_of(&r, &required).apps_blocked);
        r.settings.custom_allowed = Some(false);
        assert!(check_of(&r, &required).apps_blocked);

        // Microsoft's list, by host: the former Azure AD name and the current one both count; others are ignored.
        let centers = AdminCenters::from_services([
            ("Azure Active Directory", "https://aad.portal.azure.com/contoso.onmicrosoft.com"),
            ("Microsoft 365 Lighthouse", "https://lighthouse.microsoft.com"),
            ("Teams", "https://admin.teams.microsoft.com/?delegatedOrg=contoso.onmicrosoft.com"),
            ("Teams", "http://admin.teams.microsoft.com/?delegatedOrg=evil"),
        ]);
        assert_eq!(
            centers.teams.as_deref(),
            Some("https://admin.teams.microsoft.com/?delegatedOrg=contoso.onmicrosoft.com")
        );
        assert_eq!(centers.entra.as_deref(), Some("https://aad.portal.azure.com/contoso.onmicrosoft.com"));
        let renamed = AdminCenters::from_services([("Microsoft Entra ID", "https://entra.microsoft.com/contoso.com")]);
        assert_eq!((renamed.entra.as_deref(), renamed.teams), (Some("https://entra.microsoft.com/contoso.com"), None));
        r.admin_centers = Err(identity(65001, "invalid_grant"));
        assert_eq!(check_of(&r, &required).admin_centers, None);
    }

    #[test]
    fn an_admin_center_opens_only_as_the_customers_check_read_it() {
        let mut w = on_the_board();
        let open = |w: &mut Wizard, tenant: &str, center| {
            w.update(Event::User(Intent::OpenCustomerAdminCenter(tenant.into(), center)), at(9))
        };
        assert!(open(&mut w, "contoso", AdminCenter::Teams).is_empty(), "not checked yet");
        let effects = w.update(Event::User(Intent::CheckCustomersTenants), at(4));
        let [Effect::CheckCustomers { attempt, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        let mut r = reading(found(), entry(PublishingState::Published), &["app-1"]);
        let teams = "https://admin.teams.microsoft.com/?delegatedOrg=contoso.onmicrosoft.com";
        r.admin_centers = Ok(AdminCenters { teams: Some(teams.into()), entra: None });
        let answer =
            Outcome::CustomerChecked { attempt: *attempt, tenant_id: "contoso".into(), result: Ok(r), at: NOW };
        let _none = w.update(Event::Done(answer), at(5));
        assert_eq!(open(&mut w, "contoso", AdminCenter::Teams), [Effect::OpenUrl { url: teams.into() }]);
        assert!(open(&mut w, "contoso", AdminCenter::Entra).is_empty(), "Microsoft listed none");
        assert!(open(&mut w, "fabrikam", AdminCenter::Teams).is_empty());
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
        let effects = w.update(Event::Done(Outcome::CustomersChecked { attempt }), at(8));
        let [Effect::SaveBoard { saved, .. }] = effects.as_slice() else { panic!("{effects:?}") };
        assert_eq!(saved.checks.keys().collect::<Vec<_>>(), ["contoso"], "what answered is saved, not a failure");
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
        let effects = w.update(Event::User(Intent::CancelCustomerChecks), at(6));
        let [Effect::Abandon { attempt: abandoned }, Effect::SaveBoard { saved, .. }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_eq!((*abandoned, saved.checks.len()), (attempt, 1), "what answered before Cancel is saved");
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
            matches!(effects.as_slice(), [Effect::SaveBoard { .. }, Effect::CheckCustomers { tenants, .. }] if tenants.len() == 2),
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
        let _save = w.update(Event::Done(Outcome::CustomersChecked { attempt }), at(5));
        // Awaiting approval: no roles there, nothing to read.
        assert!(w.update(Event::User(Intent::CheckCustomerTenant("tailspin".into())), at(6)).is_empty());
        assert!(w.update(Event::User(Intent::CheckCustomerTenant("nobody".into())), at(7)).is_empty());
    }
}
