//! Journey tests of the pure wizard: every outcome of sign-in and consent, driven by events in microseconds.

use std::time::Duration;

use super::*;

pub(crate) fn settings(redirect: ConsentRedirect) -> Settings {
    Settings {
        vendor_name: "MSPbots".into(),
        tenant_hint: None,
        login_browser_base: "https://login.example/".into(),
        graph_resource: "https://graph.microsoft.com".into(),
        consent_client_id: "9d2c7e58-1b3a-4f60-8e4d-2c5b7a9f1e03".into(),
        consent_endpoint: ConsentEndpoint::V2,
        consent_redirect: redirect,
        consent_redirect_uri: "http://localhost".into(),
        permissions: vec![PermissionView {
            resource: ResourceApi::Graph,
            kind: PermissionKind::Application,
            name: "User.Read.All".into(),
            reason: "sync".into(),
        }],
        teams_app_name: "MSPbots".into(),
        teams_admin_center: "https://admin.teams.microsoft.com/policies/manage-apps/".into(),
        timing: Timing::default(),
    }
}

pub(super) fn account(roles: &[&str]) -> Account {
    Account {
        display_name: "Adele Vance".into(),
        upn: "adele@contoso.com".into(),
        object_id: "oid".into(),
        tenant_id: "tid-1".into(),
        tenant_name: Some("Contoso".into()),
        tenant_domain: Some("contoso.onmicrosoft.com".into()),
        roles: Roles::Known { names: roles.iter().map(|r| (*r).to_owned()).collect() },
        home_tenant_id: None,
    }
}

pub(super) fn identity(code: u32, error: &str) -> Failure {
    Failure::Identity(IdentityError {
        error: error.into(),
        error_codes: vec![code],
        source: "test".into(),
        ..Default::default()
    })
}

/// AADSTS65001 with `consent_required`: the setup tool's own access needs an approval.
pub(super) fn consent_required() -> Failure {
    let mut f = identity(65001, "invalid_grant");
    if let Failure::Identity(e) = &mut f {
        e.suberror = Some("consent_required".into());
    }
    f
}

pub(super) fn at(secs: u64) -> Moment {
    Moment::from_millis(secs * 1000)
}

/// A wizard on the sign-in page.
pub(super) fn on_sign_in(redirect: ConsentRedirect) -> Wizard {
    let mut w = Wizard::new(settings(redirect));
    assert!(w.update(Event::User(Intent::Continue), at(0)).is_empty());
    assert_eq!(w.page(), StepId::SignIn);
    assert_eq!(w.status(StepId::Welcome), StepStatus::Done);
    w
}

pub(super) fn started_attempt(effects: &[Effect]) -> Attempt {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::BeginBrowserSignIn { attempt, .. }
            | Effect::BeginDeviceCode { attempt, .. }
            | Effect::SignInSilently { attempt, .. }
            | Effect::BeginAdminConsent { attempt, .. }
            | Effect::CheckConsent { attempt }
            | Effect::PollDeviceCode { attempt } => Some(*attempt),
            _ => None,
        })
        .expect("an effect that starts work")
}

/// Signs in through the browser as `acct`.
pub(super) fn signed_in(acct: Account) -> Wizard {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let effects = w.update(Event::User(Intent::SignInWithBrowser), at(1));
    let attempt = started_attempt(&effects);
    assert!(matches!(
        &effects[0],
        Effect::BeginBrowserSignIn { scopes: ScopeSet::SignInWithSteps, prompt: Prompt::SelectAccount, .. }
    ));
    let url = "https://login.example/organizations/oauth2/v2.0/authorize?x".to_owned();
    expect_effects(
        w.update(
            Event::Done(Outcome::BrowserSignInReady {
                attempt,
                authorize_url: url.clone(),
                launch: BrowserLaunch::Opened,
            }),
            at(2),
        ),
        &[],
    );
    assert!(matches!(w.sign_in(), SignIn::Browser { url: Some(u), .. } if *u == url));
    assert_eq!(w.status(StepId::SignIn), StepStatus::Running);
    // With the tenant's read access asked at sign-in, the consent step looks first whether the vendor app is
    // already there; here it is not.
    let looking = started_attempt(&expect_effects(
        w.update(Event::Done(Outcome::SignInFinished { attempt, result: Ok(acct) }), at(3)),
        &["CheckConsent"],
    ));
    assert!(matches!(w.consent(), Consent::Looking { .. }));
    assert_eq!(w.status(StepId::AdminConsent), StepStatus::Running);
    expect_effects(w.update(Event::Done(Outcome::ConsentObserved { attempt: looking, result: Ok(false) }), at(3)), &[]);
    assert_eq!(w.browser_visits(StepId::SignIn), 1);
    w
}

#[test]
fn browser_sign_in_as_global_admin_unlocks_consent_with_a_clean_precheck() {
    let mut w = signed_in(account(&["Global Administrator"]));
    assert_eq!(w.status(StepId::SignIn), StepStatus::Done);
    assert_eq!(w.consent(), &Consent::Ready { precheck: Precheck::CanGrant });
    assert!(w.can_show(StepId::AdminConsent));
    expect_effects(w.update(Event::User(Intent::Continue), at(4)), &[]);
    assert_eq!(w.page(), StepId::AdminConsent);
}

#[test]
fn repeated_clicks_while_signing_in_start_nothing_new() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    assert_eq!(w.update(Event::User(Intent::SignInWithBrowser), at(1)).len(), 1);
    assert!(w.update(Event::User(Intent::SignInWithBrowser), at(1)).is_empty());
}

#[test]
fn late_results_of_an_abandoned_attempt_are_ignored() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let first = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
    let effects = w.update(Event::User(Intent::CancelSignIn), at(2));
    assert_eq!(effects, [Effect::Abandon { attempt: first }]);
    assert_eq!(w.sign_in(), &SignIn::Idle);
    expect_effects(w.update(Event::User(Intent::SignInWithBrowser), at(3)), &["BeginBrowserSignIn"]);
    expect_effects(
        w.update(Event::Done(Outcome::SignInFinished { attempt: first, result: Ok(account(&[])) }), at(4)),
        &[],
    );
    assert!(matches!(w.sign_in(), SignIn::Browser { .. }), "the first attempt's answer must not sign anyone in");
}

#[test]
fn the_saved_sign_in_signs_in_without_the_browser_and_falls_back_to_it() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let effects = w.update(Event::User(Intent::SignInWithSavedAccount), at(1));
    let [Effect::SignInSilently { attempt, scopes: ScopeSet::SignInWithSteps }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let attempt = *attempt;
    assert_eq!(w.sign_in(), &SignIn::Saved { attempt });
    assert!(w.update(Event::User(Intent::SignInWithBrowser), at(2)).is_empty(), "one sign-in at a time");
    let _next = w.update(Event::Done(Outcome::SignInFinished { attempt, result: Ok(account(&[])) }), at(3));
    assert!(matches!(w.sign_in(), SignIn::Done(_)));
    assert_eq!(w.browser_visits(StepId::SignIn), 0, "no trip to the browser");

    // Refused (no saved sign-in, or the customer has not approved the tool): said, and Retry opens the browser.
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithSavedAccount), at(1)));
    let refused = identity(90099, "invalid_grant");
    let _none = w.update(Event::Done(Outcome::SignInFinished { attempt, result: Err(refused.clone()) }), at(2));
    assert_eq!(w.sign_in(), &SignIn::Failed { failure: refused, method: SignInMethod::Browser });
    let effects = w.update(Event::User(Intent::RetrySignIn), at(3));
    assert!(matches!(effects.as_slice(), [Effect::BeginBrowserSignIn { .. }]), "{effects:?}");
}

#[test]
fn browser_wait_times_out_with_a_retry() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(0)));
    assert_eq!(w.next_deadline(), Some(at(600)));
    assert!(w.update(Event::Tick, at(599)).is_empty());
    assert_eq!(w.update(Event::Tick, at(600)), [Effect::Abandon { attempt }]);
    let SignIn::Failed { failure, method: SignInMethod::Browser } = w.sign_in() else { panic!("{:?}", w.sign_in()) };
    assert_eq!(failure.code(), "sign_in_timed_out");
    assert_eq!(w.status(StepId::SignIn), StepStatus::NeedsAttention);
    let effects = w.update(Event::User(Intent::RetrySignIn), at(601));
    assert!(matches!(effects[..], [Effect::BeginBrowserSignIn { .. }]));
}

#[test]
fn conditional_access_block_switches_to_device_code_by_itself() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(0)));
    let effects = w
        .update(Event::Done(Outcome::SignInFinished { attempt, result: Err(identity(53003, "access_denied")) }), at(5));
    assert!(matches!(effects[..], [Effect::BeginDeviceCode { .. }]), "{effects:?}");
    let SignIn::DeviceCode { reason: Some(SwitchReason::ConditionalAccess(f)), .. } = w.sign_in() else {
        panic!("{:?}", w.sign_in())
    };
    assert_eq!(f.aadsts(), Some(53003));
}

#[test]
fn no_browser_switches_to_device_code_and_keeps_the_link() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(0)));
    let effects = w.update(
        Event::Done(Outcome::BrowserSignInReady {
            attempt,
            authorize_url: "https://x/authorize".into(),
            launch: BrowserLaunch::NotOpened { detail: "No valid browsers detected".into() },
        }),
        at(1),
    );
    assert_eq!(effects[0], Effect::Abandon { attempt });
    assert!(matches!(effects[1], Effect::BeginDeviceCode { .. }));
    assert!(matches!(w.sign_in(), SignIn::DeviceCode { reason: Some(SwitchReason::NoBrowser { .. }), .. }));
}

#[test]
fn other_sign_in_errors_stay_on_the_page_with_their_code() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(0)));
    expect_effects(
        w.update(
            Event::Done(Outcome::SignInFinished { attempt, result: Err(identity(90094, "access_denied")) }),
            at(5),
        ),
        &[],
    );
    let SignIn::Failed { failure, .. } = w.sign_in() else { panic!() };
    assert_eq!(failure.code(), "AADSTS90094");
    assert_eq!(w.consent(), &Consent::Locked);
}

fn device_view(interval: u64, expires: u64) -> DeviceCodeView {
    DeviceCodeView {
        user_code: "ABCD2345E".into(),
        verification_uri: "https://microsoft.com/devicelogin".into(),
        message: "To sign in...".into(),
        expires_in: Duration::from_secs(expires),
        interval: Duration::from_secs(interval),
    }
}

#[test]
fn device_code_polls_on_interval_slows_down_and_signs_in() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithDeviceCode), at(0)));
    expect_effects(
        w.update(Event::Done(Outcome::DeviceCodeReady { attempt, result: Ok(device_view(5, 900)) }), at(1)),
        &[],
    );
    assert_eq!(w.next_deadline(), Some(at(6)));
    assert!(w.update(Event::Tick, at(5)).is_empty(), "not before the interval");
    assert_eq!(w.update(Event::Tick, at(6)), [Effect::PollDeviceCode { attempt }]);
    assert!(w.update(Event::Tick, at(7)).is_empty(), "one poll at a time");
    expect_effects(w.update(Event::Done(Outcome::DevicePolled { attempt, result: DevicePoll::Pending }), at(7)), &[]);
    assert_eq!(w.next_deadline(), Some(at(12)));
    expect_effects(w.update(Event::Tick, at(12)), &["PollDeviceCode"]);
    expect_effects(w.update(Event::Done(Outcome::DevicePolled { attempt, result: DevicePoll::SlowDown }), at(12)), &[]);
    assert_eq!(w.next_deadline(), Some(at(22)), "slow_down adds five seconds to the interval");
    assert_eq!(
        w.update(Event::User(Intent::OpenVerificationPage), at(13)),
        [Effect::OpenUrl { url: "https://microsoft.com/devicelogin".into() }]
    );
    expect_effects(w.update(Event::Tick, at(22)), &["PollDeviceCode"]);
    expect_effects(
        w.update(
            Event::Done(Outcome::DevicePolled {
                attempt,
                result: DevicePoll::Finished(Ok(account(&["Global Administrator"]))),
            }),
            at(23),
        ),
        &["CheckConsent"],
    );
    assert_eq!(w.status(StepId::SignIn), StepStatus::Done);
    assert_eq!(w.browser_visits(StepId::SignIn), 1, "the device code's page is the one visit");
}

#[test]
fn device_code_expiry_and_decline_end_the_attempt() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithDeviceCode), at(0)));
    expect_effects(
        w.update(Event::Done(Outcome::DeviceCodeReady { attempt, result: Ok(device_view(5, 60)) }), at(0)),
        &[],
    );
    let effects = w.update(Event::Tick, at(60));
    assert_eq!(effects, [Effect::Abandon { attempt }]);
    let SignIn::Failed { failure, method: SignInMethod::DeviceCode } = w.sign_in() else { panic!() };
    assert_eq!(failure.code(), "device_code_expired");

    let attempt = started_attempt(&w.update(Event::User(Intent::RetrySignIn), at(61)));
    expect_effects(
        w.update(Event::Done(Outcome::DeviceCodeReady { attempt, result: Ok(device_view(5, 900)) }), at(61)),
        &[],
    );
    expect_effects(w.update(Event::Tick, at(66)), &["PollDeviceCode"]);
    let declined = identity(70020, "authorization_declined");
    expect_effects(
        w.update(Event::Done(Outcome::DevicePolled { attempt, result: DevicePoll::Finished(Err(declined)) }), at(67)),
        &[],
    );
    assert!(matches!(w.sign_in(), SignIn::Failed { method: SignInMethod::DeviceCode, .. }));
}

#[test]
fn precheck_stops_accounts_that_cannot_grant_and_offers_both_ways_out() {
    let mut w = signed_in(account(&["Cloud Application Administrator"]));
    assert_eq!(
        w.consent(),
        &Consent::Ready { precheck: Precheck::CannotGrant { roles: vec!["Cloud Application Administrator".into()] } }
    );
    assert_eq!(w.status(StepId::AdminConsent), StepStatus::NeedsAttention);
    let link = w.consent_link().unwrap();
    assert!(link.starts_with("https://login.example/tid-1/v2.0/adminconsent?client_id=9d2c7e58-"), "{link}");
    assert!(
        link.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
            && link.contains("redirect_uri=http%3A%2F%2Flocalhost"),
        "{link}"
    );
    // Headless says it in the presenter's words, as the window does (`tests/gui.rs`).
    let words = crate::present::cannot_grant(&["Cloud Application Administrator".to_owned()], Some(&link));
    let printed = crate::headless::lines::consent_line(&w, "MSPbots");
    assert_eq!((printed.summary.as_str(), printed.fix.as_slice()), (words.summary.as_str(), words.fix.as_slice()));
    assert!(words.summary.contains("Cloud Application Administrator") && words.fix[1].contains(&link));
    let effects = w.update(Event::User(Intent::SignInAsSomeoneElse), at(10));
    assert_eq!(effects[0], Effect::SignOut);
    assert!(matches!(effects[1], Effect::BeginBrowserSignIn { prompt: Prompt::SelectAccount, .. }));
    assert_eq!(w.consent(), &Consent::Locked);
}

#[test]
fn unknown_roles_do_not_block_consent() {
    let mut acct = account(&[]);
    acct.roles = Roles::Unknown { why: "Graph answered 403".into() };
    let w = signed_in(acct);
    assert!(matches!(w.consent(), Consent::Ready { precheck: Precheck::RolesUnknown { .. } }));
    assert_eq!(w.status(StepId::AdminConsent), StepStatus::NotStarted);
}

pub(super) fn open_consent(w: &mut Wizard, now: Moment) -> Attempt {
    let effects = w.update(Event::User(Intent::GrantConsent), now);
    let attempt = started_attempt(&effects);
    assert_eq!(effects, [Effect::BeginAdminConsent { attempt, tenant_id: "tid-1".into() }]);
    expect_effects(
        w.update(
            Event::Done(Outcome::ConsentPageReady { attempt, url: "https://c".into(), launch: BrowserLaunch::Opened }),
            now,
        ),
        &[],
    );
    attempt
}

#[test]
fn consent_redirect_then_tenant_shows_the_app() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let attempt = open_consent(&mut w, at(10));
    assert!(w.update(Event::Tick, at(11)).is_empty(), "the loopback redirect is awaited, the tenant is not polled");
    let grant =
        ConsentGrant { tenant_id: Some("tid-1".into()), scope: Some("https://graph.microsoft.com/.default".into()) };
    expect_effects(w.update(Event::Done(Outcome::ConsentRedirect { attempt, result: Ok(grant.clone()) }), at(20)), &[]);
    let check = started_attempt(&w.update(Event::Tick, at(20)));
    // Confirmed: on to the permission check by itself (the consent page was showing since the sign-in).
    expect_effects(
        w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), at(21)),
        &["ReadTenant"],
    );
    assert_eq!(w.consent(), &Consent::Done { grant, check: ConsentCheck::Confirmed });
    assert_eq!(w.status(StepId::AdminConsent), StepStatus::Done);
    assert_eq!(w.page(), StepId::VerifyPermissions);
}

#[test]
fn replication_delay_is_still_applying_with_backoff_then_done() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let attempt = open_consent(&mut w, at(10));
    expect_effects(
        w.update(Event::Done(Outcome::ConsentRedirect { attempt, result: Ok(ConsentGrant::default()) }), at(20)),
        &[],
    );
    let mut now = at(20);
    let mut waits = Vec::new();
    for _ in 0..5 {
        let check = started_attempt(&w.update(Event::Tick, now));
        expect_effects(w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(false) }), now), &[]);
        assert!(matches!(w.consent(), Consent::Applying { .. }), "not yet visible is not a failure");
        let next = w.next_deadline().unwrap();
        waits.push(now.until(next).as_secs());
        now = next;
    }
    assert_eq!(waits, [3, 6, 12, 24, 30], "doubling, capped at 30 s");
    let check = started_attempt(&w.update(Event::Tick, now));
    expect_effects(
        w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), now),
        &["ReadTenant"],
    );
    assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::Confirmed, .. }));
}

#[test]
fn replication_that_never_shows_fails_after_patience() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let attempt = open_consent(&mut w, at(10));
    expect_effects(
        w.update(Event::Done(Outcome::ConsentRedirect { attempt, result: Ok(ConsentGrant::default()) }), at(20)),
        &[],
    );
    expect_effects(w.update(Event::Tick, at(20 + 600)), &[]);
    let Consent::Failed { failure, .. } = w.consent() else { panic!("{:?}", w.consent()) };
    assert_eq!(failure.code(), "replication_timed_out");
}

#[test]
fn declined_consent_is_shown_and_retry_opens_the_page_again() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let attempt = open_consent(&mut w, at(10));
    expect_effects(
        w.update(
            Event::Done(Outcome::ConsentRedirect { attempt, result: Err(identity(65004, "access_denied")) }),
            at(20),
        ),
        &[],
    );
    let Consent::Failed { failure, .. } = w.consent() else { panic!() };
    assert_eq!(failure.aadsts(), Some(65004));
    assert_eq!(w.status(StepId::AdminConsent), StepStatus::NeedsAttention);
    let effects = w.update(Event::User(Intent::RetryConsent), at(21));
    assert!(matches!(effects[..], [Effect::BeginAdminConsent { .. }]));
}

#[test]
fn external_redirect_watches_the_tenant_without_a_callback() {
    let mut w = Wizard::new(settings(ConsentRedirect::External { url: "https://vendor.example/consent".into() }));
    expect_effects(w.update(Event::User(Intent::Continue), at(0)), &[]);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(0)));
    let looking = started_attempt(&expect_effects(
        w.update(
            Event::Done(Outcome::SignInFinished { attempt, result: Ok(account(&["Global Administrator"])) }),
            at(1),
        ),
        &["CheckConsent"],
    ));
    expect_effects(w.update(Event::Done(Outcome::ConsentObserved { attempt: looking, result: Ok(false) }), at(1)), &[]);
    let page = open_consent(&mut w, at(10));
    assert_eq!(w.next_deadline(), Some(at(13)), "first look at the tenant after 3 s");
    let check = started_attempt(&w.update(Event::Tick, at(13)));
    expect_effects(w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(false) }), at(13)), &[]);
    let check = started_attempt(&w.update(Event::Tick, at(16)));
    let effects = w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), at(16));
    assert_eq!(effects[0], Effect::Abandon { attempt: page });
    expect_effects(effects, &["Abandon", "ReadTenant"]);
    assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::Confirmed, .. }));
}

#[test]
fn finished_in_browser_checks_now_and_asks_for_read_access_when_needed() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let _page = open_consent(&mut w, at(10));
    expect_effects(w.update(Event::User(Intent::ConsentFinishedInBrowser), at(30)), &[]);
    let check = started_attempt(&w.update(Event::Tick, at(30)));
    let mut needs = identity(65001, "invalid_grant");
    if let Failure::Identity(e) = &mut needs {
        e.suberror = Some("consent_required".into());
    }
    expect_effects(w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Err(needs) }), at(31)), &[]);
    let Consent::Waiting { watch, .. } = w.consent() else { panic!() };
    assert!(watch.paused, "no more checks until read access is approved");
    assert!(w.update(Event::Tick, at(100)).is_empty());
    let effects = w.update(Event::User(Intent::ApproveTenantRead), at(101));
    let approval = started_attempt(&effects);
    assert!(
        matches!(&effects[0], Effect::BeginBrowserSignIn { scopes: ScopeSet::TenantRead, prompt: Prompt::Consent, login_hint: Some(h), .. } if h == "adele@contoso.com")
    );
    expect_effects(w.update(Event::Done(Outcome::AccessApproved { attempt: approval, result: Ok(()) }), at(120)), &[]);
    let check = started_attempt(&w.update(Event::Tick, at(120)));
    expect_effects(
        w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Ok(true) }), at(121)),
        &["Abandon", "ReadTenant"],
    );
    assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::Confirmed, .. }));
}

#[test]
fn consent_page_times_out_and_cancel_returns_to_ready() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let page = open_consent(&mut w, at(0));
    let effects = w.update(Event::User(Intent::CancelConsent), at(5));
    assert_eq!(effects, [Effect::Abandon { attempt: page }]);
    assert!(matches!(w.consent(), Consent::Ready { .. }));
    let page = open_consent(&mut w, at(10));
    let effects = w.update(Event::Tick, at(10 + 15 * 60));
    assert_eq!(effects, [Effect::Abandon { attempt: page }]);
    let Consent::Failed { failure, .. } = w.consent() else { panic!() };
    assert_eq!(failure.code(), "consent_timed_out");
}

#[test]
fn redirect_success_with_an_unreadable_tenant_is_done_but_unconfirmed() {
    let mut w = signed_in(account(&["Global Administrator"]));
    let attempt = open_consent(&mut w, at(10));
    expect_effects(
        w.update(Event::Done(Outcome::ConsentRedirect { attempt, result: Ok(ConsentGrant::default()) }), at(20)),
        &[],
    );
    let check = started_attempt(&w.update(Event::Tick, at(20)));
    let denied =
        Failure::Graph(GraphError { status: 403, code: "Authorization_RequestDenied".into(), ..Default::default() });
    expect_effects(
        w.update(Event::Done(Outcome::ConsentObserved { attempt: check, result: Err(denied) }), at(21)),
        &["ReadTenant"],
    );
    assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::Unconfirmed(Failure::Graph(_)), .. }));
}

#[test]
fn later_steps_are_not_reachable_before_their_turn() {
    let mut w = signed_in(account(&["Global Administrator"]));
    for step in [StepId::VerifyPermissions, StepId::TeamsApp, StepId::GlobalPolicy, StepId::Done] {
        expect_effects(w.update(Event::User(Intent::ShowStep(step)), at(5)), &[]);
        assert_ne!(w.page(), step);
        assert!(!w.can_show(step));
    }
}

/// Asserts which effects a transition asked for, by variant name in order: a journey that does not look at an
/// effect's fields still notices one missing or added.
#[track_caller]
/// Asserts the kinds of `effects`, in order, and hands them back.
pub(crate) fn expect_effects(effects: Vec<Effect>, kinds: &[&str]) -> Vec<Effect> {
    let got: Vec<String> =
        effects.iter().map(|e| format!("{e:?}").split([' ', '{', '(']).next().unwrap_or_default().to_owned()).collect();
    assert_eq!(got, kinds, "the effects asked for: {effects:?}");
    effects
}

/// Issue 18: sign-in asks for the later steps' permissions too; declined (or not approvable), the admin signs in
/// again without them and each step asks for its own. Each trip to the browser is counted for its step.
#[test]
fn declined_up_front_permissions_fall_back_to_a_basic_sign_in() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let first = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
    assert_eq!(w.up_front(), &UpFront::Ask);
    // Nothing to fall back from while nothing failed.
    expect_effects(w.update(Event::User(Intent::SignInWithBasicAccess), at(1)), &[]);
    expect_effects(
        w.update(
            Event::Done(Outcome::SignInFinished { attempt: first, result: Err(identity(65004, "access_denied")) }),
            at(2),
        ),
        &[],
    );
    let SignIn::Failed { failure, .. } = w.sign_in() else { panic!("{:?}", w.sign_in()) };
    assert!(failure.is_approval_refused());
    let effects = w.update(Event::User(Intent::SignInWithBasicAccess), at(3));
    assert!(matches!(effects[..], [Effect::BeginBrowserSignIn { scopes: ScopeSet::SignIn, .. }]), "{effects:?}");
    assert!(matches!(w.up_front(), UpFront::Declined { why } if why.aadsts() == Some(65004)));
    // A retry after this keeps to the basic sign-in.
    let second = started_attempt(&effects);
    expect_effects(
        w.update(
            Event::Done(Outcome::SignInFinished { attempt: second, result: Ok(account(&["Global Administrator"])) }),
            at(4),
        ),
        &[],
    );
    assert_eq!(w.consent(), &Consent::Ready { precheck: Precheck::CanGrant }, "no read access to look with");
    assert_eq!(w.browser_visits(StepId::SignIn), 2);
    assert_eq!(w.browser_visits(StepId::AdminConsent), 0);
}

#[test]
fn a_vendor_app_already_in_the_tenant_skips_its_consent_page() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
    let looking = started_attempt(&expect_effects(
        w.update(
            Event::Done(Outcome::SignInFinished { attempt, result: Ok(account(&["Global Administrator"])) }),
            at(2),
        ),
        &["CheckConsent"],
    ));
    // Found: past the consent page (shown since the sign-in), straight to the permission check.
    expect_effects(
        w.update(Event::Done(Outcome::ConsentObserved { attempt: looking, result: Ok(true) }), at(3)),
        &["ReadTenant"],
    );
    assert!(matches!(w.consent(), Consent::Done { check: ConsentCheck::AlreadyThere, .. }));
    assert_eq!(w.page(), StepId::VerifyPermissions);
    assert_eq!(w.browser_visits(StepId::AdminConsent), 0);
    // Grant again stays possible.
    let effects = w.update(Event::User(Intent::GrantAgain), at(5));
    assert!(effects.iter().any(|e| matches!(e, Effect::BeginAdminConsent { .. })), "{effects:?}");
    assert_eq!(w.browser_visits(StepId::AdminConsent), 1);
}

#[test]
fn a_browser_that_did_not_open_is_no_visit() {
    let mut w = on_sign_in(ConsentRedirect::Loopback);
    let attempt = started_attempt(&w.update(Event::User(Intent::SignInWithBrowser), at(1)));
    let effects = w.update(
        Event::Done(Outcome::BrowserSignInReady {
            attempt,
            authorize_url: "https://login.example/a".into(),
            launch: BrowserLaunch::NotOpened { detail: "no browser".into() },
        }),
        at(2),
    );
    assert!(effects.iter().any(|e| matches!(e, Effect::BeginDeviceCode { scopes: ScopeSet::SignInWithSteps, .. })));
    assert_eq!(w.browser_visits(StepId::SignIn), 1, "the device code's page only");
}
