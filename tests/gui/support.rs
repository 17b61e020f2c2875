//! Support in the window: a diagnostics bundle opened and replayed, a saved setup picked up (and a broken one set
//! aside), Escape stopping the wait for the browser.

use super::*;

/// The admin's window fails at the Teams step; their bundle, opened from another window's Welcome page, replays
/// the same failure at the same step with the admin's session beside the wizard. Copy details copies the
/// failure's redacted record.
#[test]
fn a_bundle_opened_on_welcome_replays_the_admins_failure() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut admin = teams_step_of(&rt, "teams-third-party-blocked");
    install_for_me(&mut admin);
    admin.get_by_label("MSPbots is blocked for this user");
    admin.get_by_role_and_label(Role::Button, "Export diagnostics…");
    admin.get_by_role_and_label(Role::CheckBox, "Hide customer details");
    click(&mut admin, "Copy details");
    let details = admin.state().copied.clone().unwrap();
    assert!(
        details.contains("MSPbots is blocked for this user") && details.contains("\"code\": \"Forbidden\""),
        "{details}"
    );
    assert!(!details.contains("eyJ"), "no token in the copied record");

    let dir = std::env::temp_dir().join(format!("mspbots-gui-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("bundle.json");
    bundle_of(admin.state()).hidden().write_with_report(&bundle).unwrap();
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, "{ not json").unwrap();

    let mut support = harness(app(&rt, &demo("happy")));
    step_until(&mut support, "the demo tenant", |app| app.wizard().is_some());
    support.get_by_role_and_label(Role::DisclosureTriangle, "Open a diagnostics bundle…").click_accesskit();
    support.run_steps(2);
    support.get_by_role_and_label(Role::TextInput, "Bundle:");
    assert_every_control_is_named(&support);
    support.state_mut().bundle_path = corrupt.display().to_string();
    support.run_steps(2);
    click(&mut support, "Open");
    step_until(&mut support, "the bundle's problem", |app| app.bundle_problem.is_some());
    support.get_by_label_contains("is not a diagnostics bundle");
    assert!(support.state().launch.reproduction.is_none(), "the demo keeps running");

    support.state_mut().bundle_path = bundle.display().to_string();
    support.run_steps(2);
    click(&mut support, "Open");
    step_until(&mut support, "the replay's tenant", |app| app.launch.reproduction.is_some() && app.wizard().is_some());
    support.get_by_label("The admin's session");
    support.get_by_label_contains("MSPbots is blocked for this user (Forbidden)");
    support.get_by_label_contains("Timeline (");
    let DemoTenant::Ready(tenant) = &support.state().demo else { panic!("the replay's tenant is not ready") };
    assert_eq!(
        tenant.sim().auto_login().as_deref(),
        Some("adele.vance@contoso.com"),
        "a Global Administrator, as in the bundle"
    );
    through_consent_to_verify_as_the_tenant_signs_in(&mut support);
    on_to_teams(&mut support);
    install_for_me(&mut support);
    support.get_by_label("MSPbots is blocked for this user");
    assert_eq!(support.state().step_status(StepId::TeamsApp), admin.state().step_status(StepId::TeamsApp));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_saved_setup_is_picked_up_and_a_broken_one_is_set_aside_with_a_message() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let saved = r#"{"schema":1,"endpoint":"https://login.microsoftonline.com/ {consent}","saved_unix":1,
        "progress":{"tenant_id":"7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47","tenant_name":"Contoso",
        "account":"adele.vance@contoso.com","reached":"teams_app","consent_granted":true}}"#;
    let mut resumed = harness(live_with_saved_progress(&rt, "resume", saved));
    resumed.run_steps(2);
    assert_eq!(resumed.state().page(), StepId::SignIn, "Welcome is behind this admin already");
    resumed.get_by_label("Picking up where you left off");
    resumed.get_by_label_contains(
        "The setup of Contoso stopped at \"Teams app\". Sign in again as adele.vance@contoso.com",
    );
    resumed.get_by_role_and_label(Role::Button, "Sign in with Microsoft…");

    let mut broken = harness(live_with_saved_progress(&rt, "corrupt", "{\"schema\": 1, \"endpoint\": 5"));
    broken.run_steps(2);
    assert_eq!(broken.state().page(), StepId::Welcome, "a fresh start");
    broken.get_by_label("Saved progress set aside");
    broken.get_by_label_contains("The saved progress could not be used: it is not valid JSON");
    broken.get_by_role_and_label(Role::Button, "Start");
}

#[test]
fn escape_stops_waiting_for_the_browser_and_the_sign_in_can_start_again() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A browser that opens and is never finished in.
    let services = AppServices::for_tests(Arc::new(|_: &Endpoints, _: &tokio::runtime::Handle| {
        Arc::new(RecordingOpener::default()) as Arc<dyn UrlOpener>
    }));
    let launch = Launch::resolve(&demo("happy")).unwrap();
    let mut harness = harness(WizardApp::new(launch, Shell::new(rt.handle().clone(), NoWaker), services));
    step_until(&mut harness, "the demo tenant", |app| app.wizard().is_some());
    press_with_keyboard(&mut harness, "Start");
    press_with_keyboard(&mut harness, "Sign in with Microsoft…");
    let waiting = |app: &WizardApp| app.wizard().is_some_and(|w| matches!(w.sign_in(), SignIn::Browser { .. }));
    step_until(&mut harness, "waiting for the browser", waiting);
    harness.get_by_label("Waiting for you to finish signing in in your browser…");

    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(matches!(harness.state().wizard().unwrap().sign_in(), SignIn::Idle), "Escape is the page's Cancel");
    press_with_keyboard(&mut harness, "Sign in with Microsoft…");
    step_until(&mut harness, "waiting for the browser again", waiting);
}
