//! Journey tests of step 3: reading the grants, re-checking while a consent replicates, "Grant again", the
//! read-access approval, and the directory preview.

use super::tests::{account, at, consent_required, expect_effects, open_consent, signed_in, started_attempt};
use super::*;

const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

fn required() -> Vec<PermissionView> {
    let p = |kind, name: &str| PermissionView {
        resource: ResourceApi::Graph,
        kind,
        name: name.into(),
        reason: format!("why {name}"),
    };
    vec![
        p(PermissionKind::Delegated, "User.Read"),
        p(PermissionKind::Application, "User.Read.All"),
        p(PermissionKind::Application, "ProfilePhoto.Read.All"),
    ]
}

fn granted(kind: PermissionKind, name: &str, reach: GrantReach) -> GrantedPermission {
    GrantedPermission {
        resource_app_id: GRAPH.into(),
        resource_name: "Microsoft Graph".into(),
        kind,
        name: name.into(),
        reach,
    }
}

fn teams(users: u64) -> Result<TeamsLicensing, Failure> {
    Ok(TeamsLicensing { licensed_users: users, products: vec!["SPE_E3".into()] })
}

fn snapshot(granted: Vec<GrantedPermission>) -> TenantSnapshot {
    TenantSnapshot {
        app: AppPresence::Found { object_id: "sp-1".into(), enabled: true },
        granted,
        licensing: teams(12),
    }
}

pub(super) fn all_granted() -> TenantSnapshot {
    snapshot(vec![
        granted(PermissionKind::Delegated, "User.Read", GrantReach::Organization),
        granted(PermissionKind::Delegated, "openid", GrantReach::Organization),
        granted(PermissionKind::Application, "User.Read.All", GrantReach::Organization),
        granted(PermissionKind::Application, "ProfilePhoto.Read.All", GrantReach::Organization),
    ])
}

fn read_attempt(effects: &[Effect]) -> Attempt {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::ReadTenant { attempt } => Some(*attempt),
            _ => None,
        })
        .expect("a ReadTenant effect")
}

fn load_attempt(effects: &[Effect]) -> Option<Attempt> {
    effects.iter().find_map(|e| match e {
        Effect::LoadDirectory { attempt } => Some(*attempt),
        _ => None,
    })
}

/// Signed in as a Global Administrator with the three required permissions; consent granted and confirmed at
/// `at(21)`: the wizard is on the verify page with a reading under way. Returns it and the reading's attempt.
fn after_consent() -> (Wizard, Attempt) {
    let mut w = signed_in(account(&["Global Administrator"]));
    w.settings.permissions = required();
    expect_effects(w.update(Event::User(Intent::Continue), at(5)), &[]);
    let attempt = open_consent(&mut w, at(10));
    expect_effects(
        w.update(Event::Done(Outcome::ConsentRedirect { attempt, result: Ok(ConsentGrant::default()) }), at(20)),
        &[],
    );
    let check = started_attempt(&w.update(Event::Tick, at(20)));
    let effects = w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), at(21));
    assert_eq!(w.page(), StepId::VerifyPermissions, "a finished consent goes straight on to verify it");
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Running);
    (w, read_attempt(&effects))
}

#[test]
fn every_permission_granted_completes_the_step_and_starts_the_preview() {
    let (mut w, read) = after_consent();
    let effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(22));
    let list = w.verify().checklist.clone().unwrap();
    assert!(list.all_granted() && list.prerequisites_met());
    assert_eq!(list.permissions.len(), 3, "openid is granted but never flagged as not needed");
    assert!(list.permissions.iter().all(|p| p.state == PermissionState::Granted && p.reason.is_some()));
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Done);
    assert!(!w.verify().is_settling());
    assert!(load_attempt(&effects).is_some(), "the preview starts once the tenant can be read");
    assert_eq!(w.next_deadline(), None);
}

#[test]
fn late_replication_is_rechecked_with_backoff_until_granted() {
    let (mut w, read) = after_consent();
    let partial = snapshot(vec![granted(PermissionKind::Delegated, "User.Read", GrantReach::Organization)]);
    let effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(partial.clone()) }), at(22));
    assert!(load_attempt(&effects).is_some(), "the app exists: the directory can already be previewed");
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Running, "still applying, not a failure yet");
    let mut now = at(22);
    let mut waits = Vec::new();
    for _ in 0..4 {
        let due = w.next_deadline().unwrap();
        waits.push(now.until(due).as_secs());
        assert!(w.update(Event::Tick, Moment::from_millis(due.millis() - 1)).is_empty(), "nothing before the time");
        now = due;
        let read = read_attempt(&w.update(Event::Tick, now));
        expect_effects(
            w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(partial.clone()) }), now),
            &[],
        );
    }
    assert_eq!(waits, [2, 4, 8, 16]);
    let read = read_attempt(&w.update(Event::Tick, w.next_deadline().unwrap()));
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(100)),
        &[],
    );
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Done);
    assert!(!w.verify().is_settling() && w.verify().gave_up_after_minutes.is_none());
}

#[test]
fn permissions_still_missing_at_the_deadline_are_named_with_who_can_fix_them() {
    let (mut w, read) = after_consent();
    let partial = snapshot(vec![granted(PermissionKind::Delegated, "User.Read", GrantReach::Organization)]);
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(partial.clone()) }), at(22)),
        &["LoadDirectory"],
    );
    let deadline = at(21).plus(w.settings().timing.settle_patience);
    let mut checks = 0;
    while let Some(due) = w.next_deadline() {
        assert!(due <= deadline, "no check after the deadline");
        let read = read_attempt(&w.update(Event::Tick, due));
        expect_effects(
            w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(partial.clone()) }), due),
            &[],
        );
        checks += 1;
    }
    assert!(checks > 5, "re-checked until the deadline ({checks} checks)");
    assert_eq!(w.verify().gave_up_after_minutes, Some(5));
    let list = w.verify().checklist.clone().unwrap();
    let missing: Vec<&str> = list.missing().map(|p| p.name.as_str()).collect();
    assert_eq!(missing, ["User.Read.All", "ProfilePhoto.Read.All"]);
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::NeedsAttention);
}

#[test]
fn grant_again_reopens_consent_and_comes_back_to_recheck() {
    let (mut w, read) = after_consent();
    let partial = snapshot(vec![granted(PermissionKind::Delegated, "User.Read", GrantReach::Organization)]);
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(partial) }), at(22)),
        &["LoadDirectory"],
    );
    let effects = w.update(Event::User(Intent::GrantAgain), at(30));
    let consent = started_attempt(&effects);
    assert!(matches!(effects.last(), Some(Effect::BeginAdminConsent { .. })));
    assert_eq!(w.page(), StepId::AdminConsent);
    assert!(!w.verify().is_settling(), "no re-checks while the consent page is open");
    expect_effects(
        w.update(
            Event::Done(Outcome::ConsentPageReady {
                attempt: consent,
                url: "https://c".into(),
                launch: BrowserLaunch::Opened,
            }),
            at(31),
        ),
        &[],
    );
    expect_effects(
        w.update(
            Event::Done(Outcome::ConsentRedirect { attempt: consent, result: Ok(ConsentGrant::default()) }),
            at(40),
        ),
        &[],
    );
    let check = started_attempt(&w.update(Event::Tick, at(40)));
    let effects = w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), at(41));
    assert_eq!(w.page(), StepId::VerifyPermissions, "back on the checklist");
    assert!(w.verify().is_settling(), "re-checking while Microsoft applies the new consent");
    let read = read_attempt(&effects);
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(42)),
        &[],
    );
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Done);
}

#[test]
fn read_access_needs_an_approval_then_the_check_runs() {
    let (mut w, read) = after_consent();
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Err(consent_required()) }), at(22)),
        &[],
    );
    assert!(matches!(w.verify().phase, VerifyPhase::NeedsReadAccess { approval: None, .. }));
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Running, "a normal approval, not a problem");
    let effects = w.update(Event::User(Intent::ApproveTenantRead), at(23));
    let approval = started_attempt(&effects);
    assert!(matches!(
        effects[0],
        Effect::BeginBrowserSignIn { scopes: ScopeSet::TenantRead, prompt: Prompt::Consent, .. }
    ));
    assert!(w.update(Event::User(Intent::ApproveTenantRead), at(23)).is_empty(), "one approval at a time");
    let effects = w.update(Event::Done(Outcome::AccessApproved { attempt: approval, result: Ok(()) }), at(30));
    let read = read_attempt(&effects);
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(31)),
        &["LoadDirectory"],
    );
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::Done);
}

#[test]
fn an_expired_session_asks_to_sign_in_again_and_other_failures_offer_retry() {
    let (mut w, read) = after_consent();
    let expired = Failure::Identity(IdentityError {
        error: "invalid_grant".into(),
        error_codes: vec![700_082],
        source: "token endpoint".into(),
        ..Default::default()
    });
    expect_effects(w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Err(expired) }), at(22)), &[]);
    assert!(matches!(w.verify().phase, VerifyPhase::NeedsReadAccess { .. }));
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::NeedsAttention);

    let (mut w, read) = after_consent();
    let throttled = Failure::Graph(GraphError { status: 429, code: "TooManyRequests".into(), ..Default::default() });
    expect_effects(w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Err(throttled) }), at(22)), &[]);
    assert!(matches!(w.verify().phase, VerifyPhase::Failed { .. }));
    let again = read_attempt(&w.update(Event::User(Intent::RecheckPermissions), at(30)));
    assert_ne!(again, read);
    // The old reading's late answer changes nothing.
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(31)),
        &[],
    );
    assert!(matches!(w.verify().phase, VerifyPhase::Checking { .. }));
}

#[test]
fn the_checklist_names_partial_grants_unneeded_grants_and_an_absent_app() {
    let snap = snapshot(vec![
        granted(PermissionKind::Delegated, "User.Read", GrantReach::SomeUsers),
        granted(PermissionKind::Application, "user.read.all", GrantReach::Organization),
        granted(PermissionKind::Application, "Directory.ReadWrite.All", GrantReach::Organization),
        granted(PermissionKind::Delegated, "offline_access", GrantReach::Organization),
    ]);
    let rows = checklist(&required(), &snap);
    let states: Vec<(&str, PermissionState)> = rows.iter().map(|r| (r.name.as_str(), r.state)).collect();
    assert_eq!(
        states,
        [
            ("User.Read", PermissionState::OnlySomeUsers),
            ("User.Read.All", PermissionState::Granted),
            ("ProfilePhoto.Read.All", PermissionState::Missing),
            ("Directory.ReadWrite.All", PermissionState::NotNeeded),
        ]
    );
    assert_eq!(rows[3].reason, None);
    let absent = TenantSnapshot { app: AppPresence::NotFound, granted: Vec::new(), licensing: teams(0) };
    assert!(checklist(&required(), &absent).iter().all(|r| r.state == PermissionState::Missing));
    // Same name on another resource is not the permission asked for.
    let mut other = granted(PermissionKind::Application, "User.Read.All", GrantReach::Organization);
    other.resource_app_id = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239".into();
    let rows = checklist(&required(), &snapshot(vec![other]));
    assert_eq!(rows[1].state, PermissionState::Missing);
}

/// Every permission granted, but no licence includes Teams: the checklist is read and the preview loads.
fn checked_without_teams_licences() -> Wizard {
    let (mut w, read) = after_consent();
    let mut snap = all_granted();
    snap.licensing = teams(0);
    expect_effects(
        w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(snap) }), at(22)),
        &["LoadDirectory"],
    );
    w
}

/// Headless prints the checklist in the presenter's words, row for row (the window shows the same:
/// `tests/gui.rs`), so the two renderings cannot drift.
#[test]
fn headless_prints_the_presenters_words_for_the_checklist() {
    let w = checked_without_teams_licences();
    let vendor = w.settings().vendor_name.clone();
    let list = w.verify().checklist.clone().unwrap();
    let words = crate::present::checklist(&list, &vendor, w.settings().permissions.len());
    let printed = crate::headless::lines::verify_line(&w, &vendor);
    let rows: Vec<String> = words
        .permissions
        .iter()
        .map(crate::present::PermissionRow::line)
        .chain(words.prerequisites.iter().map(crate::present::Row::line))
        .collect();
    assert_eq!(printed.report[..rows.len()], rows[..]);
    assert!(printed.summary.starts_with(&words.headline), "{} / {}", printed.summary, words.headline);
    assert!(rows.iter().any(|r| r.starts_with("✗ Microsoft Teams: no licence")), "{rows:?}");
}

#[test]
fn teams_prerequisites_follow_licences_roles_and_the_enabled_flag() {
    let w = checked_without_teams_licences();
    assert!(!w.verify().checklist.as_ref().unwrap().prerequisites_met());
    assert_eq!(w.status(StepId::VerifyPermissions), StepStatus::NeedsAttention);
    assert_eq!(
        role_check(&Roles::Known { names: vec!["Teams Administrator".into()] }),
        RoleCheck::Sufficient { role: "Teams Administrator".into() }
    );
    assert!(matches!(
        role_check(&Roles::Known { names: vec!["Privileged Role Administrator".into()] }),
        RoleCheck::Insufficient { .. }
    ));
    let mut disabled = all_granted();
    disabled.app = AppPresence::Found { object_id: "sp".into(), enabled: false };
    let list = Checklist {
        app: disabled.app.clone(),
        permissions: checklist(&required(), &disabled),
        teams: teams(3),
        role: RoleCheck::Sufficient { role: "Global Administrator".into() },
        read_at: at(1),
    };
    assert!(list.all_granted() && !list.prerequisites_met());
}

fn user(id: &str, mail: Option<&str>, manager: bool) -> DirectoryUser {
    DirectoryUser {
        department: None,
        id: id.into(),
        display_name: id.into(),
        user_principal_name: format!("{id}@contoso.com"),
        mail: mail.map(Into::into),
        job_title: Some("Tech".into()),
        manager: manager.then(|| ManagerRef { id: "m".into(), display_name: "Boss".into() }),
        enabled: true,
        guest: false,
    }
}

#[test]
fn the_preview_counts_pages_as_they_arrive_and_can_be_cancelled_and_reloaded() {
    let (mut w, read) = after_consent();
    let effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(22));
    let load = load_attempt(&effects).unwrap();
    let page = vec![user("a", Some("a@contoso.com"), true), user("b", None, false)];
    expect_effects(
        w.update(Event::Done(Outcome::DirectoryPage { attempt: load, users: page, total: Some(4) }), at(23)),
        &[],
    );
    assert_eq!(w.preview().progress(), Some(0.5));
    assert_eq!(
        (w.preview().readiness.users, w.preview().readiness.no_email, w.preview().readiness.no_manager),
        (2, 1, 1)
    );
    assert_eq!(w.update(Event::User(Intent::CancelPreview), at(24)), [Effect::Abandon { attempt: load }]);
    assert_eq!(w.preview().load, Load::Cancelled);
    assert_eq!(w.preview().users.len(), 2, "what loaded stays");
    // A page of the cancelled load that was already on its way is dropped.
    expect_effects(
        w.update(
            Event::Done(Outcome::DirectoryPage { attempt: load, users: vec![user("c", None, false)], total: None }),
            at(25),
        ),
        &[],
    );
    assert_eq!(w.preview().users.len(), 2);
    let again = load_attempt(&w.update(Event::User(Intent::ReloadPreview), at(26))).unwrap();
    assert!(w.preview().users.is_empty() && w.preview().is_loading());
    expect_effects(
        w.update(
            Event::Done(Outcome::DirectoryPage { attempt: again, users: vec![user("a", None, true)], total: Some(1) }),
            at(27),
        ),
        &[],
    );
    expect_effects(w.update(Event::Done(Outcome::DirectoryLoaded { attempt: again, result: Ok(()) }), at(28)), &[]);
    assert_eq!(w.preview().load, Load::Loaded);
    assert_eq!(w.preview().readiness.users, 1);
    assert!(Gap::NoEmail.applies(&w.preview().users[0]));
}

#[test]
fn signing_in_as_someone_else_forgets_what_was_read() {
    let (mut w, read) = after_consent();
    let effects = w.update(Event::Done(Outcome::TenantRead { attempt: read, result: Ok(all_granted()) }), at(22));
    let load = load_attempt(&effects).unwrap();
    let effects = w.update(Event::User(Intent::SignInAsSomeoneElse), at(23));
    assert!(effects.contains(&Effect::Abandon { attempt: load }));
    assert!(w.verify().checklist.is_none() && w.preview().users.is_empty());
    assert!(!w.can_show(StepId::VerifyPermissions));
}
