//! Journey tests of steps 4 and 5 and the Done page: the plan for the app, approvals, installing for everyone
//! (cancel and resume), and the Global policy's read-change-verify with its manual path.

use super::tests::{account, at, consent_required, expect_effects, identity, open_consent, signed_in, started_attempt};
use super::*;

const APP: &str = "5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13";

fn granted_snapshot() -> TenantSnapshot {
    TenantSnapshot {
        app: AppPresence::Found { object_id: "sp".into(), enabled: true },
        granted: vec![GrantedPermission {
            resource_app_id: "00000003-0000-0000-c000-000000000000".into(),
            resource_name: "Microsoft Graph".into(),
            kind: PermissionKind::Application,
            name: "User.Read.All".into(),
            reach: GrantReach::Organization,
        }],
        licensing: Ok(TeamsLicensing { licensed_users: 3, products: vec!["SPE_E3".into()] }),
    }
}

fn user(id: &str, enabled: bool, guest: bool) -> DirectoryUser {
    DirectoryUser {
        department: None,
        id: id.into(),
        display_name: id.into(),
        user_principal_name: format!("{id}@contoso.com"),
        mail: None,
        job_title: None,
        manager: None,
        enabled,
        guest,
    }
}

fn find(effects: &[Effect], pick: impl Fn(&Effect) -> bool) -> Effect {
    effects.iter().find(|e| pick(e)).cloned().unwrap_or_else(|| panic!("no such effect in {effects:#?}"))
}

fn attempt_of(e: &Effect) -> Attempt {
    match e {
        Effect::InspectTeams { attempt, .. }
        | Effect::SetUpTeamsApp { attempt, .. }
        | Effect::BulkInstall { attempt, .. }
        | Effect::ReadSetupPolicies { attempt }
        | Effect::WriteGlobalPolicy { attempt, .. }
        | Effect::CheckDelivery { attempt, .. }
        | Effect::ReadTenant { attempt }
        | Effect::LoadDirectory { attempt }
        | Effect::BeginBrowserSignIn { attempt, .. } => *attempt,
        other => panic!("no attempt in {other:?}"),
    }
}

/// Signed in, consent done, permissions verified, a directory of four (one disabled, one guest) loaded, and the
/// Teams step inspecting. Returns the inspect attempt.
fn at_teams() -> (Wizard, Attempt) {
    at_teams_as(account(&["Global Administrator"]))
}

/// [`at_teams`] signed in as `acct`.
fn at_teams_as(acct: Account) -> (Wizard, Attempt) {
    let own_copy = acct.home_tenant_id.is_none();
    let mut w = signed_in(acct);
    expect_effects(w.update(Event::User(Intent::Continue), at(5)), &[]);
    let consent = open_consent(&mut w, at(10));
    expect_effects(
        w.update(
            Event::Done(Outcome::ConsentRedirect { attempt: consent, result: Ok(ConsentGrant::default()) }),
            at(20),
        ),
        &[],
    );
    let check = started_attempt(&w.update(Event::Tick, at(20)));
    let effects = w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), at(21));
    let read = attempt_of(&find(&effects, |e| matches!(e, Effect::ReadTenant { .. })));
    let effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(granted_snapshot()) }), at(22));
    let load = attempt_of(&find(&effects, |e| matches!(e, Effect::LoadDirectory { .. })));
    let users =
        vec![user("a", true, false), user("b", true, false), user("off", false, false), user("guest", true, true)];
    expect_effects(w.update(Event::Done(Outcome::DirectoryPage { attempt: load, users, total: Some(4) }), at(23)), &[]);
    expect_effects(w.update(Event::Done(Outcome::DirectoryLoaded { attempt: load, result: Ok(()) }), at(23)), &[]);
    assert!(!w.can_show(StepId::TeamsApp));
    let effects = w.update(Event::User(Intent::Continue), at(24));
    assert_eq!(w.page(), StepId::TeamsApp);
    let inspect = find(&effects, |e| matches!(e, Effect::InspectTeams { .. }));
    assert_eq!(inspect, Effect::InspectTeams { attempt: attempt_of(&inspect), tenant_id: "tid-1".into(), own_copy });
    (w, attempt_of(&inspect))
}

fn facts() -> TeamsFacts {
    TeamsFacts {
        cloud: TenantCloud::Commercial,
        store: Some(CatalogEntry {
            catalog_id: APP.into(),
            version: "1.4.0".into(),
            state: PublishingState::Published,
        }),
        org: None,
        package: None,
        settings: OrgAppSettings::default(),
        admin_has_app: false,
        admin_has_teams: Some(true),
        admin_elsewhere: false,
        unfinished_bulk: None,
    }
}

/// Through the Teams step with the store app; returns the wizard on the Teams page, app installed for the admin.
fn teams_done() -> Wizard {
    let (mut w, inspect) = at_teams();
    expect_effects(
        w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(facts()) }), at(25)),
        &[],
    );
    assert!(matches!(w.teams(), TeamsStep::Ready { plan: AppPlan::UseStore { .. }, .. }));
    let effects = w.update(Event::User(Intent::InstallTeamsApp), at(26));
    let set_up = find(&effects, |e| matches!(e, Effect::SetUpTeamsApp { .. }));
    assert!(
        matches!(&set_up, Effect::SetUpTeamsApp { plan: AppPlan::UseStore { catalog_id }, .. } if catalog_id == APP)
    );
    assert_eq!(w.status(StepId::TeamsApp), StepStatus::Running);
    let app = TeamsAppRef {
        catalog_id: APP.into(),
        version: String::new(),
        via: AppPlan::UseStore { catalog_id: APP.into() },
        newly_installed_for_admin: true,
        admin_refusal: None,
        admin_elsewhere: false,
    };
    expect_effects(
        w.update(Event::Done(Outcome::TeamsAppReady { attempt: attempt_of(&set_up), result: Ok(app) }), at(27)),
        &[],
    );
    assert_eq!(w.status(StepId::TeamsApp), StepStatus::Done);
    assert_eq!(w.teams().app().unwrap().version, "1.4.0", "filled from the catalog");
    w
}

#[test]
fn the_store_app_is_installed_for_the_admin_then_for_enabled_members_with_progress() {
    let mut w = teams_done();
    let effects = w.update(Event::User(Intent::InstallForEveryone), at(30));
    let Effect::BulkInstall { attempt, users, catalog_id, tenant_id } =
        find(&effects, |e| matches!(e, Effect::BulkInstall { .. }))
    else {
        unreachable!()
    };
    assert_eq!(
        (users.as_slice(), catalog_id.as_str(), tenant_id.as_str()),
        (&["a".to_owned(), "b".to_owned()][..], APP, "tid-1")
    );
    assert!(w.update(Event::User(Intent::InstallForEveryone), at(30)).is_empty(), "one run at a time");
    let half = BulkCounts { total: 2, installed: 1, already_had: 0, failed: 0 };
    expect_effects(w.update(Event::Done(Outcome::BulkProgress { attempt, counts: half }), at(31)), &[]);
    assert!(matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Running { counts, .. }, .. } if *counts == half));
    let failure = BulkFailure { user: "b".into(), code: "Forbidden".into(), message: "blocked".into() };
    let done = BulkCounts { total: 2, installed: 1, already_had: 0, failed: 1 };
    expect_effects(
        w.update(Event::Done(Outcome::BulkFinished { attempt, result: Ok((done, vec![failure.clone()])) }), at(32)),
        &[],
    );
    assert!(
        matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Finished { counts, failures }, .. } if *counts == done && *failures == [failure])
    );
}

#[test]
fn cancelling_the_install_for_everyone_stops_it_and_a_restart_resumes_its_counts() {
    let mut w = teams_done();
    let attempt = attempt_of(&find(&w.update(Event::User(Intent::InstallForEveryone), at(30)), |e| {
        matches!(e, Effect::BulkInstall { .. })
    }));
    assert_eq!(w.update(Event::User(Intent::CancelBulk), at(31)), [Effect::Abandon { attempt }]);
    assert!(matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Stopped { .. }, .. }));
    expect_effects(
        w.update(
            Event::Done(Outcome::BulkFinished { attempt, result: Ok((BulkCounts::default(), Vec::new())) }),
            at(32),
        ),
        &[],
    );
    assert!(
        matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Stopped { .. }, .. }),
        "the cancelled run's late end is ignored"
    );

    // A new session: the inspection finds saved progress, and the admin already has the app.
    let (mut w, inspect) = at_teams();
    let saved = BulkCounts { total: 2, installed: 1, already_had: 0, failed: 0 };
    let mut f = facts();
    f.admin_has_app = true;
    f.unfinished_bulk = Some(saved);
    expect_effects(w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(f) }), at(25)), &[]);
    assert!(
        matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Stopped { counts }, app, .. } if *counts == saved && !app.newly_installed_for_admin)
    );
    expect_effects(w.update(Event::User(Intent::InstallForEveryone), at(26)), &["BulkInstall"]);
    assert!(matches!(w.teams(), TeamsStep::Done { bulk: Bulk::Running { counts, .. }, .. } if *counts == saved));
}

#[test]
fn blocked_and_failed_teams_steps_explain_and_check_again() {
    let (mut w, inspect) = at_teams();
    let mut f = facts();
    f.cloud = TenantCloud::GccHigh;
    expect_effects(w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(f) }), at(25)), &[]);
    assert!(matches!(w.teams(), TeamsStep::Blocked { blocker: Blocker::GovernmentCloud { .. }, .. }));
    assert_eq!(w.status(StepId::TeamsApp), StepStatus::NeedsAttention);
    assert!(matches!(w.teams(), TeamsStep::Blocked { blocker, .. } if blocker.code() == "teams_government_cloud"));
    let again = w.update(Event::User(Intent::RetryTeams), at(26));
    assert!(matches!(again.as_slice(), [Effect::InspectTeams { .. }]));

    let (mut w, inspect) = at_teams();
    expect_effects(
        w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(facts()) }), at(25)),
        &[],
    );
    let set_up = attempt_of(&find(&w.update(Event::User(Intent::InstallTeamsApp), at(26)), |e| {
        matches!(e, Effect::SetUpTeamsApp { .. })
    }));
    let blocked = Failure::Graph(GraphError { status: 403, code: "Forbidden".into(), ..Default::default() });
    expect_effects(
        w.update(Event::Done(Outcome::TeamsAppReady { attempt: set_up, result: Err(blocked) }), at(27)),
        &[],
    );
    assert!(matches!(w.teams(), TeamsStep::Failed { .. }));
    assert!(matches!(w.update(Event::User(Intent::RetryTeams), at(28)).as_slice(), [Effect::InspectTeams { .. }]));
}

#[test]
fn an_install_refused_for_the_apps_availability_keeps_the_app_id_for_its_admin_center_page() {
    let (mut w, inspect) = at_teams();
    // Nothing to open before the app is known.
    expect_effects(w.update(Event::User(Intent::OpenAdminCenter), at(24)), &[]);
    expect_effects(
        w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(facts()) }), at(25)),
        &[],
    );
    let set_up = attempt_of(&find(&w.update(Event::User(Intent::InstallTeamsApp), at(26)), |e| {
        matches!(e, Effect::SetUpTeamsApp { .. })
    }));
    let refused = Failure::Graph(GraphError {
        status: 403,
        code: "Forbidden".into(),
        message: "The app is blocked by app permission policy.".into(),
        ..Default::default()
    });
    expect_effects(
        w.update(Event::Done(Outcome::TeamsAppReady { attempt: set_up, result: Err(refused) }), at(27)),
        &[],
    );
    assert!(matches!(
        w.teams(),
        TeamsStep::Failed { failure, catalog_id: Some(id) }
            if id == APP && failure.teams_refusal() == Some(crate::wizard::TeamsRefusal::Blocked)
    ));
    assert_eq!(
        w.update(Event::User(Intent::OpenAdminCenter), at(28)),
        [Effect::OpenUrl { url: format!("https://admin.teams.microsoft.com/policies/manage-apps/{APP}") }]
    );
}

#[test]
fn teams_access_is_approved_in_the_browser_then_inspected() {
    let (mut w, inspect) = at_teams();
    expect_effects(
        w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Err(consent_required()) }), at(25)),
        &[],
    );
    assert_eq!(w.status(StepId::TeamsApp), StepStatus::Running);
    let effects = w.update(Event::User(Intent::ApproveTeamsAccess), at(26));
    assert!(matches!(
        effects.as_slice(),
        [Effect::BeginBrowserSignIn { scopes: ScopeSet::TeamsSetup, prompt: Prompt::Consent, .. }]
    ));
    let effects =
        w.update(Event::Done(Outcome::AccessApproved { attempt: attempt_of(&effects[0]), result: Ok(()) }), at(30));
    assert!(matches!(effects.as_slice(), [Effect::InspectTeams { .. }]));
}

/// Global: Activity and Chat installed, Activity pinned.
fn global() -> SetupPolicy {
    SetupPolicy {
        identity: "Global".into(),
        installed: vec!["activity".into(), "chat".into()],
        pinned: vec!["activity".into()],
    }
}

fn at_policy() -> (Wizard, Attempt) {
    let mut w = teams_done();
    let effects = w.update(Event::User(Intent::Continue), at(40));
    assert_eq!(w.page(), StepId::GlobalPolicy);
    (w, attempt_of(&find(&effects, |e| matches!(e, Effect::ReadSetupPolicies { .. }))))
}

#[test]
fn the_global_policy_gets_the_app_installed_and_pinned_last_and_is_verified_by_reading_back() {
    let (mut w, read) = at_policy();
    let reading = PolicyReading { global: global(), others: vec!["FirstlineWorker".into(), "Sales".into()] };
    expect_effects(
        w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Ok(reading) }), at(41)),
        &[],
    );
    let PolicyStep::Ready { change, .. } = w.policy() else { panic!("{:?}", w.policy()) };
    assert_eq!(change.pinned, ["activity", APP]);
    let effects = w.update(Event::User(Intent::ApplyPolicy), at(42));
    let write = find(&effects, |e| matches!(e, Effect::WriteGlobalPolicy { .. }));
    let Effect::WriteGlobalPolicy { installed, pinned, .. } = &write else { unreachable!() };
    assert_eq!(
        (installed.as_slice(), pinned.as_slice()),
        (&["activity".to_owned(), "chat".to_owned(), APP.to_owned()][..], &["activity".to_owned(), APP.to_owned()][..])
    );
    let after = SetupPolicy { identity: "Global".into(), installed: installed.clone(), pinned: pinned.clone() };
    let effects =
        w.update(Event::Done(Outcome::GlobalPolicyWritten { attempt: attempt_of(&write), result: Ok(after) }), at(43));
    let check = find(&effects, |e| matches!(e, Effect::CheckDelivery { .. }));
    assert!(matches!(
        w.policy(),
        PolicyStep::Applied { changed: true, model: Model::Legacy, everyone: EveryoneInstall::Set, .. }
    ));
    assert_eq!(w.status(StepId::GlobalPolicy), StepStatus::Pending, "applied, still reaching users");
    assert_eq!(w.status(StepId::Done), StepStatus::Done);
    // The sample: the admin first, then enabled members.
    let Effect::CheckDelivery { users, .. } = &check else { unreachable!() };
    assert_eq!(users[0].id, w.account().unwrap().object_id);
    let all: Vec<(String, Reach)> = users.iter().map(|u| (u.id.clone(), Reach::HasIt)).collect();
    expect_effects(
        w.update(Event::Done(Outcome::DeliveryChecked { attempt: attempt_of(&check), result: Ok(all) }), at(44)),
        &[],
    );
    assert_eq!(w.status(StepId::GlobalPolicy), StepStatus::Done, "everyone sampled has it");
    expect_effects(w.update(Event::User(Intent::Continue), at(45)), &[]);
    assert_eq!(w.page(), StepId::Done);
}

/// The app-centric refusal Microsoft answers for a new installed app in a setup policy.
fn new_installs_refused() -> Failure {
    Failure::Graph(GraphError {
        status: 400,
        code: "BadRequest".into(),
        message: "Apps can no longer be added to AppPresetList: app installs are managed per app".into(),
        operation: "PUT /Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global".into(),
        ..Default::default()
    })
}

/// At the Global policy, the change about to be written: (wizard, the write effect).
fn writing() -> (Wizard, Effect) {
    let (mut w, read) = at_policy();
    let reading = PolicyReading { global: global(), others: Vec::new() };
    expect_effects(
        w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Ok(reading) }), at(41)),
        &[],
    );
    let effects = w.update(Event::User(Intent::ApplyPolicy), at(42));
    let write = find(&effects, |e| matches!(e, Effect::WriteGlobalPolicy { .. }));
    (w, write)
}

#[test]
fn an_app_centric_tenant_that_refuses_the_install_gets_the_pin_alone_and_the_delivery_check_follows_it() {
    let (mut w, write) = writing();
    let effects = w.update(
        Event::Done(Outcome::GlobalPolicyWritten { attempt: attempt_of(&write), result: Err(new_installs_refused()) }),
        at(43),
    );
    let again = find(&effects, |e| matches!(e, Effect::WriteGlobalPolicy { .. }));
    let Effect::WriteGlobalPolicy { installed, pinned, .. } = &again else { unreachable!() };
    assert_eq!(installed, &global().installed, "the installed apps are left as they were");
    assert_eq!(pinned, &["activity".to_owned(), APP.to_owned()]);
    let after = SetupPolicy { identity: "Global".into(), installed: installed.clone(), pinned: pinned.clone() };
    let effects =
        w.update(Event::Done(Outcome::GlobalPolicyWritten { attempt: attempt_of(&again), result: Ok(after) }), at(44));
    assert!(matches!(
        w.policy(),
        PolicyStep::Applied {
            model: Model::AppCentric,
            evidence: Evidence::InstallRefused,
            everyone: EveryoneInstall::Unknown,
            ..
        }
    ));
    let text = crate::present::policy_applied(&w, at(44)).unwrap();
    assert!(text.headline.contains("refused to install it through the policy"), "{}", text.headline);
    assert!(text.admin_acts && text.installs.contains("no API"), "{text:?}");

    // The admin center page, for the install for everyone.
    let open = w.update(Event::User(Intent::OpenAdminCenter), at(45));
    assert_eq!(
        open,
        [Effect::OpenUrl { url: format!("https://admin.teams.microsoft.com/policies/manage-apps/{APP}") }]
    );

    // Not everyone yet: wait, with backoff, then read again.
    let check = find(&effects, |e| matches!(e, Effect::CheckDelivery { .. }));
    let Effect::CheckDelivery { users, .. } = &check else { unreachable!() };
    let mut reaches: Vec<(String, Reach)> = users.iter().map(|u| (u.id.clone(), Reach::NotYet)).collect();
    reaches[0].1 = Reach::HasIt;
    expect_effects(
        w.update(Event::Done(Outcome::DeliveryChecked { attempt: attempt_of(&check), result: Ok(reaches) }), at(46)),
        &[],
    );
    let PolicyStep::Applied { delivery: Delivery::Waiting { next, report, .. }, .. } = w.policy() else {
        panic!("{:?}", w.policy())
    };
    assert_eq!((report.have_it, report.sampled), (1, users.len() as u32));
    assert_eq!(*next, at(46).plus(recheck_after(0)));
    assert_eq!(w.next_deadline(), Some(*next));
    assert_eq!(w.status(StepId::GlobalPolicy), StepStatus::Pending);
    let next = *next;
    expect_effects(w.update(Event::Tick, at(47)), &[]);
    let again = w.update(Event::Tick, next);
    let check = find(&again, |e| matches!(e, Effect::CheckDelivery { .. }));
    let all: Vec<(String, Reach)> = users.iter().map(|u| (u.id.clone(), Reach::HasIt)).collect();
    expect_effects(
        w.update(Event::Done(Outcome::DeliveryChecked { attempt: attempt_of(&check), result: Ok(all) }), next),
        &[],
    );
    assert_eq!(w.status(StepId::GlobalPolicy), StepStatus::Done);
    assert!(!crate::present::policy_applied(&w, next).unwrap().admin_acts, "reached: nothing left to do");
}

#[test]
fn an_app_centric_tenant_that_ignores_the_install_is_told_by_the_read_back() {
    let (mut w, write) = writing();
    let Effect::WriteGlobalPolicy { pinned, .. } = &write else { unreachable!() };
    // Accepted, and the read-back has the pin but not the install.
    let after = SetupPolicy { identity: "Global".into(), installed: global().installed, pinned: pinned.clone() };
    let effects =
        w.update(Event::Done(Outcome::GlobalPolicyWritten { attempt: attempt_of(&write), result: Ok(after) }), at(43));
    assert!(matches!(
        w.policy(),
        PolicyStep::Applied { model: Model::AppCentric, evidence: Evidence::InstallIgnored, .. }
    ));
    assert!(matches!(effects.as_slice(), [Effect::CheckDelivery { .. }]));
    let text = crate::present::policy_applied(&w, at(43)).unwrap();
    assert!(text.headline.contains("accepted the install and left it out"), "{}", text.headline);
}

#[test]
fn a_delivery_sample_that_shows_a_block_needs_attention_and_users_without_teams_do_not_count() {
    let (mut w, write) = writing();
    let Effect::WriteGlobalPolicy { installed, pinned, .. } = &write else { unreachable!() };
    let after = SetupPolicy { identity: "Global".into(), installed: installed.clone(), pinned: pinned.clone() };
    let effects =
        w.update(Event::Done(Outcome::GlobalPolicyWritten { attempt: attempt_of(&write), result: Ok(after) }), at(43));
    let check = find(&effects, |e| matches!(e, Effect::CheckDelivery { .. }));
    let Effect::CheckDelivery { users, .. } = &check else { unreachable!() };
    assert!(users.len() >= 3, "{users:?}");
    let blocked = Failure::Graph(GraphError {
        status: 403,
        code: "Forbidden".into(),
        message: "App is blocked by app permission policy. TenantId: t".into(),
        ..Default::default()
    });
    let mut reaches: Vec<(String, Reach)> = users.iter().map(|u| (u.id.clone(), Reach::HasIt)).collect();
    reaches[1].1 = Reach::NoTeamsLicence;
    reaches[2].1 = Reach::Refused { failure: blocked };
    expect_effects(
        w.update(Event::Done(Outcome::DeliveryChecked { attempt: attempt_of(&check), result: Ok(reaches) }), at(44)),
        &[],
    );
    let PolicyStep::Applied { delivery: Delivery::Blocked { report }, .. } = w.policy() else {
        panic!("{:?}", w.policy())
    };
    assert_eq!(report.sampled, users.len() as u32 - 1, "the user without Teams is not counted");
    assert_eq!(
        report.missing.iter().map(|m| m.reason).collect::<Vec<_>>(),
        [MissingReason::NoTeamsLicence, MissingReason::Blocked]
    );
    assert_eq!(w.status(StepId::GlobalPolicy), StepStatus::NeedsAttention);
    let text = crate::present::policy_applied(&w, at(44)).unwrap();
    assert_eq!(text.delivery_mark, crate::present::Mark::Problem);
    assert!(text.missing.iter().any(|m| m.ends_with("blocked")), "{:?}", text.missing);
}

#[test]
fn rechecks_back_off_from_two_seconds_to_ten_minutes() {
    let secs: Vec<u64> = (0..12).map(|r| recheck_after(r).as_secs()).collect();
    assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]);
}

#[test]
fn a_policy_that_already_has_the_app_is_not_written_again() {
    let (mut w, read) = at_policy();
    let mut g = global();
    g.installed.push(APP.to_lowercase());
    g.pinned.push(APP.to_uppercase());
    let effects = w.update(
        Event::Done(Outcome::SetupPoliciesRead {
            attempt: read,
            result: Ok(PolicyReading { global: g, others: Vec::new() }),
        }),
        at(41),
    );
    assert!(matches!(effects.as_slice(), [Effect::CheckDelivery { .. }]), "nothing to write; who has it is read");
    assert!(matches!(w.policy(), PolicyStep::Applied { changed: false, model: Model::Legacy, .. }));
}

#[test]
fn odd_answers_refusals_and_lost_changes_lead_to_the_manual_path() {
    let (mut w, read) = at_policy();
    let odd = Failure::Parse { what: "Teams app setup policy".into(), excerpt: "Global: no AppPresetList list".into() };
    expect_effects(w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Err(odd) }), at(41)), &[]);
    assert!(matches!(w.policy(), PolicyStep::Manual { why: ManualReason::UnknownShape { .. }, .. }));
    assert_eq!(w.status(StepId::GlobalPolicy), StepStatus::NeedsAttention);
    assert_eq!(w.status(StepId::Done), StepStatus::NeedsAttention);

    let (mut w, read) = at_policy();
    let partner = Failure::Graph(GraphError { status: 403, code: "40301".into(), ..Default::default() });
    expect_effects(
        w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Err(partner) }), at(41)),
        &[],
    );
    assert!(matches!(w.policy(), PolicyStep::Manual { why: ManualReason::Refused { .. }, .. }));
    let read = attempt_of(&find(&w.update(Event::User(Intent::CheckPolicyAgain), at(50)), |e| {
        matches!(e, Effect::ReadSetupPolicies { .. })
    }));

    expect_effects(
        w.update(
            Event::Done(Outcome::SetupPoliciesRead {
                attempt: read,
                result: Ok(PolicyReading { global: global(), others: Vec::new() }),
            }),
            at(51),
        ),
        &[],
    );
    let write = attempt_of(&find(&w.update(Event::User(Intent::ApplyPolicy), at(52)), |e| {
        matches!(e, Effect::WriteGlobalPolicy { .. })
    }));
    expect_effects(
        w.update(Event::Done(Outcome::GlobalPolicyWritten { attempt: write, result: Ok(global()) }), at(53)),
        &[],
    );
    assert!(matches!(w.policy(), PolicyStep::Manual { why: ManualReason::NotVisibleAfterWrite, .. }));
}

#[test]
fn the_teams_admin_api_needs_its_own_approval() {
    // The policy read asks for an approval, which goes to the browser with the Teams admin API's scopes.
    let (mut w, approval) = policy_approval_in_browser();
    let effects = w.update(Event::Done(Outcome::AccessApproved { attempt: approval, result: Ok(()) }), at(43));
    assert!(matches!(effects.as_slice(), [Effect::ReadSetupPolicies { .. }]));
}

/// Signs `w` (a resumed wizard) in as `acct`.
fn sign_in_again(w: &mut Wizard, acct: Account) -> Vec<Effect> {
    let effects = w.update(Event::User(Intent::SignInWithBrowser), at(101));
    let attempt = started_attempt(&effects);
    w.update(Event::Done(Outcome::SignInFinished { attempt, result: Ok(acct) }), at(102))
}

#[test]
fn progress_names_the_tenant_and_what_was_done_and_no_secret() {
    assert_eq!(Wizard::new(super::tests::settings(ConsentRedirect::Loopback)).progress(), None, "nothing to save yet");
    let w = teams_done();
    let p = w.progress().unwrap();
    assert_eq!((p.tenant_id.as_str(), p.account.as_str()), ("tid-1", "adele@contoso.com"));
    assert_eq!(p.tenant_name.as_deref(), Some("Contoso"));
    assert_eq!(p.reached, StepId::TeamsApp);
    assert!(p.consent_granted && !p.policy_applied);
    assert_eq!(p.teams_app.as_deref(), Some(APP));
}

#[test]
fn a_resumed_setup_rechecks_each_step_on_the_way_back_and_grants_nothing_twice() {
    let mut saved = teams_done().progress().unwrap();
    saved.reached = StepId::GlobalPolicy;
    let mut w = Wizard::resume(super::tests::settings(ConsentRedirect::Loopback), saved.clone());
    assert_eq!(w.page(), StepId::SignIn, "sign in again first (tokens are not kept across a crash)");
    assert_eq!(w.status(StepId::Welcome), StepStatus::Done);
    assert!(matches!(w.resumed(), Resume::Waiting(p) if *p == saved));

    let mut effects = sign_in_again(&mut w, account(&["Global Administrator"]));
    assert!(matches!(w.resumed(), Resume::Matched(_)));
    assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::Earlier, .. }));
    assert_eq!(w.page(), StepId::VerifyPermissions, "straight to the check that re-reads the grants");
    let mut all = effects.clone();
    let read = attempt_of(&find(&effects, |e| matches!(e, Effect::ReadTenant { .. })));
    effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(granted_snapshot()) }), at(103));
    all.extend(effects.clone());
    let load = attempt_of(&find(&effects, |e| matches!(e, Effect::LoadDirectory { .. })));
    all.extend(
        w.update(Event::Done(Outcome::DirectoryPage { attempt: load, users: Vec::new(), total: Some(0) }), at(104)),
    );
    effects = w.update(Event::Done(Outcome::DirectoryLoaded { attempt: load, result: Ok(()) }), at(104));
    all.extend(effects.clone());
    assert_eq!(w.page(), StepId::TeamsApp, "on to the step the earlier run passed");
    let inspect = attempt_of(&find(&all, |e| matches!(e, Effect::InspectTeams { .. })));
    let mut f = facts();
    f.admin_has_app = true;
    effects = w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(f) }), at(105));
    all.extend(effects.clone());
    assert!(matches!(w.teams(), TeamsStep::Done { app, .. } if !app.newly_installed_for_admin));
    assert_eq!(w.page(), StepId::GlobalPolicy);
    let read = attempt_of(&find(&effects, |e| matches!(e, Effect::ReadSetupPolicies { .. })));
    let mut g = global();
    g.installed.push(APP.into());
    g.pinned.push(APP.into());
    let reading = PolicyReading { global: g, others: Vec::new() };
    all.extend(w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Ok(reading) }), at(106)));
    assert!(matches!(w.policy(), PolicyStep::Applied { changed: false, .. }));
    let changes: Vec<&Effect> = all
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::BeginAdminConsent { .. } | Effect::SetUpTeamsApp { .. } | Effect::WriteGlobalPolicy { .. }
            )
        })
        .collect();
    assert!(changes.is_empty(), "nothing that changes the tenant was asked for again: {changes:?}");
    assert!(w.progress().unwrap().policy_applied);
}

#[test]
fn a_resume_stops_at_the_step_it_reached_and_at_anything_that_needs_the_admin() {
    let mut saved = teams_done().progress().unwrap();
    saved.reached = StepId::VerifyPermissions;
    saved.teams_app = None;
    let mut w = Wizard::resume(super::tests::settings(ConsentRedirect::Loopback), saved);
    let effects = sign_in_again(&mut w, account(&["Global Administrator"]));
    let read = attempt_of(&find(&effects, |e| matches!(e, Effect::ReadTenant { .. })));
    let effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(granted_snapshot()) }), at(103));
    let load = attempt_of(&find(&effects, |e| matches!(e, Effect::LoadDirectory { .. })));
    expect_effects(w.update(Event::Done(Outcome::DirectoryLoaded { attempt: load, result: Ok(()) }), at(104)), &[]);
    assert_eq!(w.page(), StepId::VerifyPermissions, "the earlier run got no further: the admin goes on");
    assert_eq!(w.progress().unwrap().reached, StepId::VerifyPermissions);

    // A permission missing now stops the resume at the check, with its explanation.
    let mut saved = teams_done().progress().unwrap();
    saved.reached = StepId::GlobalPolicy;
    let mut w = Wizard::resume(super::tests::settings(ConsentRedirect::Loopback), saved);
    let effects = sign_in_again(&mut w, account(&["Global Administrator"]));
    let read = attempt_of(&find(&effects, |e| matches!(e, Effect::ReadTenant { .. })));
    let mut revoked = granted_snapshot();
    revoked.granted.clear();
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(revoked) }), at(103)),
        &["LoadDirectory"],
    );
    assert_eq!(w.page(), StepId::VerifyPermissions);
    assert!(!matches!(w.teams(), TeamsStep::Inspecting { .. }));
}

#[test]
fn another_tenant_or_an_unfinished_consent_starts_those_steps_over() {
    let saved = teams_done().progress().unwrap();
    let mut w = Wizard::resume(super::tests::settings(ConsentRedirect::Loopback), saved.clone());
    let mut other = account(&["Global Administrator"]);
    other.tenant_id = "tid-2".into();
    let effects = sign_in_again(&mut w, other);
    assert!(matches!(w.resumed(), Resume::OtherTenant { saved: s } if *s == saved));
    assert!(matches!(w.consent(), Consent::Looking { .. }), "another tenant's consent is looked for afresh");
    assert!(!effects.iter().any(|e| matches!(e, Effect::ReadTenant { .. })));
    assert_eq!(w.progress().unwrap().tenant_id, "tid-2", "the new tenant's progress replaces the old");

    let mut unconsented = saved;
    unconsented.consent_granted = false;
    unconsented.reached = StepId::AdminConsent;
    unconsented.teams_app = None;
    let mut w = Wizard::resume(super::tests::settings(ConsentRedirect::Loopback), unconsented);
    expect_effects(sign_in_again(&mut w, account(&["Global Administrator"])), &["CheckConsent"]);
    assert_eq!(w.page(), StepId::AdminConsent, "back at the consent that did not finish");
    assert!(matches!(w.consent(), Consent::Looking { .. }), "looking for it in the tenant first");
}

#[test]
fn a_consent_not_seen_to_finish_is_looked_for_in_the_tenant_before_asking_again() {
    let mut saved = teams_done().progress().unwrap();
    saved.consent_granted = false;
    saved.reached = StepId::AdminConsent;
    saved.teams_app = None;
    for (found, expect_ready) in
        [(Ok(true), false), (Ok(false), true), (Err(identity(65001, "consent_required")), true)]
    {
        let mut w = Wizard::resume(super::tests::settings(ConsentRedirect::Loopback), saved.clone());
        let effects = sign_in_again(&mut w, account(&["Global Administrator"]));
        let Some(Effect::CheckConsent { attempt }) = effects.iter().find(|e| matches!(e, Effect::CheckConsent { .. }))
        else {
            panic!("no look at the tenant: {effects:?}")
        };
        assert!(matches!(w.consent(), Consent::Looking { .. }));
        assert_eq!(w.status(StepId::AdminConsent), StepStatus::Running);
        let effects = w.update(Event::Done(Outcome::ConsentObserved { attempt: *attempt, result: found }), at(103));
        if expect_ready {
            assert!(matches!(w.consent(), Consent::Ready { .. }), "ask as usual: {:?}", w.consent());
            assert_eq!(w.page(), StepId::AdminConsent);
        } else {
            assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::AlreadyThere, .. }));
            assert_eq!(w.page(), StepId::VerifyPermissions, "found: on to the check of every permission");
            assert!(effects.iter().any(|e| matches!(e, Effect::ReadTenant { .. })));
        }
    }
}

/// At the policy step with the Teams admin API's approval asked for in the browser; returns its attempt.
fn policy_approval_in_browser() -> (Wizard, Attempt) {
    let (mut w, read) = at_policy();
    expect_effects(
        w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Err(consent_required()) }), at(41)),
        &[],
    );
    let effects = w.update(Event::User(Intent::ApprovePolicyAccess), at(42));
    assert!(matches!(effects.as_slice(), [Effect::BeginBrowserSignIn { scopes: ScopeSet::TeamsAdmin, .. }]));
    (w, attempt_of(&effects[0]))
}

fn device_code_of(effects: &[Effect]) -> Attempt {
    match find(effects, |e| matches!(e, Effect::BeginDeviceCode { .. })) {
        Effect::BeginDeviceCode { attempt, scopes } => {
            assert_eq!(scopes, ScopeSet::TeamsAdmin, "the approval's own scopes, by code");
            attempt
        }
        _ => unreachable!(),
    }
}

fn view() -> crate::wizard::DeviceCodeView {
    crate::wizard::DeviceCodeView {
        user_code: "PQRS2345T".into(),
        verification_uri: "https://microsoft.com/devicelogin".into(),
        message: "To sign in...".into(),
        expires_in: std::time::Duration::from_secs(900),
        interval: std::time::Duration::from_secs(5),
    }
}

#[test]
fn an_approval_blocked_by_conditional_access_in_the_browser_goes_on_with_a_device_code() {
    let (mut w, browser) = policy_approval_in_browser();
    let blocked = identity(53003, "access_denied");
    let effects = w.update(Event::Done(Outcome::AccessApproved { attempt: browser, result: Err(blocked) }), at(43));
    let code = device_code_of(&effects);
    assert_eq!(effects[0], Effect::Abandon { attempt: browser }, "the browser attempt ends first");
    assert_ne!(code, browser, "a new attempt for the code");
    assert!(matches!(w.policy(), PolicyStep::NeedsApproval { approval: Some(a), .. } if *a == code));
    let d = w.device_approval().expect("an approval by code");
    assert_eq!((d.step, d.scopes), (StepId::GlobalPolicy, ScopeSet::TeamsAdmin));
    assert!(matches!(&d.reason, Some(SwitchReason::ConditionalAccess(f)) if f.code() == "AADSTS53003"));
    assert_eq!(w.browser_visits(StepId::GlobalPolicy), 2, "the blocked page and the code's page");

    // The code comes, is polled on its interval, and its page opens from the step's own button.
    expect_effects(w.update(Event::Done(Outcome::DeviceCodeReady { attempt: code, result: Ok(view()) }), at(44)), &[]);
    assert_eq!(w.device_approval().and_then(|d| d.wait.code.as_ref()).map(|c| c.user_code.as_str()), Some("PQRS2345T"));
    assert_eq!(w.next_deadline(), Some(at(49)));
    assert_eq!(w.update(Event::Tick, at(49)), [Effect::PollDeviceCode { attempt: code }]);
    expect_effects(
        w.update(Event::Done(Outcome::DevicePolled { attempt: code, result: DevicePoll::Pending }), at(49)),
        &[],
    );
    assert_eq!(
        w.update(Event::User(Intent::OpenVerificationPage), at(50)),
        [Effect::OpenUrl { url: "https://microsoft.com/devicelogin".into() }]
    );
    assert_eq!(w.browser_visits(StepId::GlobalPolicy), 2, "the code's page is the visit already counted");
    assert!(w.waits_for_browser());

    // Approved: the step reads the policies again, and the code is gone.
    let effects = w.update(Event::Done(Outcome::AccessApproved { attempt: code, result: Ok(()) }), at(55));
    assert!(matches!(effects.as_slice(), [Effect::ReadSetupPolicies { .. }]));
    assert_eq!(w.device_approval(), None);

    // A later approval goes by code at once: the browser is not the way on this computer.
    let read = attempt_of(&effects[0]);
    let again = consent_required();
    expect_effects(
        w.update(Event::Done(Outcome::SetupPoliciesRead { attempt: read, result: Err(again) }), at(56)),
        &[],
    );
    let effects = w.update(Event::User(Intent::ApprovePolicyAccess), at(57));
    let code = device_code_of(&effects);
    assert_eq!(effects.len(), 1);
    assert_eq!(w.device_approval().map(|d| (d.attempt, d.reason.is_none())), Some((code, true)));
}

#[test]
fn an_approval_code_that_expires_or_is_declined_leaves_the_step_asking_again() {
    let (mut w, browser) = policy_approval_in_browser();
    let blocked = identity(53003, "access_denied");
    let code = device_code_of(
        &w.update(Event::Done(Outcome::AccessApproved { attempt: browser, result: Err(blocked) }), at(43)),
    );
    let mut short = view();
    short.expires_in = std::time::Duration::from_secs(60);
    expect_effects(w.update(Event::Done(Outcome::DeviceCodeReady { attempt: code, result: Ok(short) }), at(44)), &[]);
    assert_eq!(w.update(Event::Tick, at(104)), [Effect::Abandon { attempt: code }]);
    assert_eq!(w.device_approval(), None);
    let PolicyStep::NeedsApproval { failure, approval: None } = w.policy() else { panic!("{:?}", w.policy()) };
    assert_eq!(failure.code(), "device_code_expired");

    // Asked again: by code; declined on the device.
    let code = device_code_of(&w.update(Event::User(Intent::ApprovePolicyAccess), at(105)));
    let declined = identity(70020, "authorization_declined");
    expect_effects(
        w.update(Event::Done(Outcome::AccessApproved { attempt: code, result: Err(declined) }), at(106)),
        &[],
    );
    assert_eq!(w.device_approval(), None);
    assert!(
        matches!(w.policy(), PolicyStep::NeedsApproval { approval: None, failure } if failure.code() == "AADSTS70020")
    );
}

#[test]
fn a_browser_that_does_not_open_for_an_approval_switches_it_to_a_code() {
    let (mut w, browser) = policy_approval_in_browser();
    assert_eq!(w.browser_visits(StepId::GlobalPolicy), 1);
    let effects = w.update(
        Event::Done(Outcome::BrowserSignInReady {
            attempt: browser,
            authorize_url: "https://login.example/authorize".into(),
            launch: BrowserLaunch::NotOpened { detail: "no browser".into() },
        }),
        at(43),
    );
    let code = device_code_of(&effects);
    assert_eq!(effects[0], Effect::Abandon { attempt: browser });
    assert!(matches!(w.device_approval().and_then(|d| d.reason.as_ref()), Some(SwitchReason::NoBrowser { .. })));
    assert_eq!(w.browser_visits(StepId::GlobalPolicy), 1, "the browser that did not open was no visit");
    // The sign-in itself is untouched.
    assert_eq!(w.status(StepId::SignIn), StepStatus::Done);
    // Leaving the step's approval (signing in as someone else) forgets the code.
    let effects = w.update(Event::User(Intent::SignInAsSomeoneElse), at(44));
    assert!(effects.contains(&Effect::Abandon { attempt: code }), "{effects:?}");
    assert_eq!(w.device_approval(), None);
}

/// A partner's agent signed in by GDAP is no user of the customer's tenant: the step neither reads nor installs the
/// app for them, says why (a warning, not a stop), and the delivery sample holds only the tenant's own users.
#[test]
fn a_partners_agent_gets_no_copy_of_their_own_and_is_left_out_of_the_delivery_sample() {
    let mut agent = account(&["Global Administrator"]);
    agent.home_tenant_id = Some("partner-tid".into());
    let (mut w, inspect) = at_teams_as(agent);
    let facts = TeamsFacts { admin_elsewhere: true, admin_has_teams: None, ..facts() };
    expect_effects(w.update(Event::Done(Outcome::TeamsInspected { attempt: inspect, result: Ok(facts) }), at(25)), &[]);
    let TeamsStep::Ready { facts, plan } = w.teams() else { panic!("{:?}", w.teams()) };
    assert_eq!(warnings(facts, plan), [Blocker::AdminFromAnotherOrganization]);
    let effects = w.update(Event::User(Intent::InstallTeamsApp), at(26));
    let set_up = find(&effects, |e| matches!(e, Effect::SetUpTeamsApp { .. }));
    assert!(matches!(set_up, Effect::SetUpTeamsApp { own_copy: false, .. }), "{set_up:?}");
    let sample: Vec<String> = w.delivery_sample().into_iter().map(|u| u.id).collect();
    assert_eq!(sample, ["a", "b"], "the directory's enabled members, without the agent");
    // The app's admin center page opens in the partner's context of this customer.
    let app = TeamsAppRef {
        catalog_id: APP.into(),
        version: "1.4.0".into(),
        via: AppPlan::UseStore { catalog_id: APP.into() },
        newly_installed_for_admin: false,
        admin_refusal: None,
        admin_elsewhere: true,
    };
    let set_up = attempt_of(&set_up);
    let _done = w.update(Event::Done(Outcome::TeamsAppReady { attempt: set_up, result: Ok(app) }), at(27));
    let url = w.admin_center_url().unwrap();
    let org = w.account().unwrap().tenant_domain.clone().unwrap_or_else(|| w.account().unwrap().tenant_id.clone());
    assert!(url.ends_with(&format!("{APP}?delegatedOrg={}", crate::query::value(&org))), "{url}");
}
