//! The Teams steps in the window: each failure explained where it happened, with its fix.

use super::*;

#[test]
fn each_teams_failure_is_explained_inline_with_its_fix() {
    let rt = tokio::runtime::Runtime::new().unwrap();

    let h = teams_step_of(&rt, "teams-gcc-high");
    h.get_by_label("Third-party Teams apps are not available in this cloud");
    h.get_by_label("Cloud: GCC High");
    h.get_by_role_and_label(Role::Button, "Check again");

    let h = teams_step_of(&rt, "teams-app-in-review");
    h.get_by_label("MSPbots's app is waiting for an admin's approval");
    h.get_by_label_contains("Who can fix it: A Teams Administrator");

    let mut h = teams_step_of(&rt, "teams-third-party-blocked");
    h.get_by_label("Third-party Teams apps look blocked in your organization");
    click(&mut h, "Install MSPbots for me");
    step_until(&mut h, "the refused install", |app| {
        app.wizard().is_some_and(|w| matches!(w.teams(), TeamsStep::Failed { .. }))
    });
    h.run_steps(2);
    // Graph says why only in its message ("blocked by app permission policy"): the app-centric fix.
    h.get_by_label("MSPbots is blocked for this user");
    h.get_by_label_contains("Manage apps > MSPbots > Users and groups: set Availability to Everyone");
    h.get_by_role_and_label(Role::Button, "Retry");
    // The fix at hand: the app's page in the admin center, and the script (not run from a demo).
    h.get_by_role_and_label(Role::Button, "Open MSPbots in the Teams admin center");
    h.get_by_label("Or with PowerShell (MicrosoftTeams module)").click_accesskit();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Save script");
    assert!(
        h.get_by_role_and_label(Role::Button, "Run in PowerShell").accesskit_node().is_disabled(),
        "demo mode never runs a script against a real tenant"
    );

    let mut h = teams_step_of(&rt, "teams-app-blocked");
    install_for_me(&mut h);
    h.get_by_label("MSPbots is blocked in the Teams admin center");
    h.get_by_label_contains("choose Allow (Unblock)");
    h.get_by_role_and_label(Role::Button, "Open MSPbots in the Teams admin center");

    // Refused for a licence, not for availability: no admin-center page to offer.

    // An admin without a Teams licence is told before anything is installed, and the step goes on without their
    // own copy (pins and installs for everyone do not need it).
    let mut h = teams_step_as(&rt, "teams-admin-unlicensed", "it.admin@contoso.com");
    h.get_by_label("You have no Microsoft Teams licence in this tenant");
    h.get_by_label_contains("assign yourself a licence that includes Teams");
    install_for_me(&mut h);
    h.get_by_label_contains("Not installed for you: you have no Microsoft Teams licence in this tenant.");
    assert!(h.query_by_label("Open MSPbots in the Teams admin center").is_none());
    h.get_by_role_and_label(Role::Button, "Continue: Global policy");

    // A tenant not on app-centric management yet: the Global policy installs it for everyone.
    let mut h = teams_step_of(&rt, "teams-legacy-policies");
    install_for_me(&mut h);
    click(&mut h, "Continue: Global policy");
    step_until(&mut h, "the policy read", |app| {
        app.wizard().is_some_and(|w| matches!(w.policy(), PolicyStep::Ready { .. }))
    });
    click(&mut h, "Add to the Global policy");
    step_until(&mut h, "the policy applied", |app| {
        app.wizard().is_some_and(|w| matches!(w.policy(), PolicyStep::Applied { .. }))
    });
    h.run_steps(2);
    h.get_by_label("MSPbots is pinned and installed for everyone in the Global setup policy (legacy model).");
    h.get_by_label("Installed for everyone: set by the Global setup policy.");
    assert!(h.query_by_label("Open MSPbots in the Teams admin center").is_none(), "nothing for the admin to do");

    let mut h = teams_step_of(&rt, "teams-policy-partner");
    install_for_me(&mut h);
    click(&mut h, "Continue: Global policy");
    step_until(&mut h, "the refused policy read", |app| {
        app.wizard().is_some_and(|w| matches!(w.policy(), PolicyStep::Manual { .. }))
    });
    h.run_steps(2);
    h.get_by_label("The Teams admin API refused partner (delegated admin) access");
    h.get_by_role_and_label(Role::Button, "Copy script");

    let mut h = teams_step_of(&rt, "teams-custom-upload-off");
    h.get_by_label("Uploading custom Teams apps looks turned off");
    click(&mut h, "Upload and install MSPbots for me");
    step_until(&mut h, "the refused upload", |app| {
        app.wizard().is_some_and(|w| matches!(w.teams(), TeamsStep::Failed { .. }))
    });
    h.run_steps(2);
    h.get_by_label("The tenant does not allow uploading MSPbots's app");
}

#[test]
fn a_policy_the_api_cannot_change_offers_the_script_and_the_admin_center() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut h = teams_step_of(&rt, "teams-policy-changed");
    click(&mut h, "Install MSPbots for me");
    step_until(&mut h, "the app installed", |app| app.step_status(StepId::TeamsApp) == StepStatus::Done);
    h.run_steps(2);
    click(&mut h, "Continue: Global policy");
    step_until(&mut h, "the manual path", |app| {
        app.wizard().is_some_and(|w| matches!(w.policy(), PolicyStep::Manual { .. }))
    });
    h.run_steps(2);
    h.get_by_label("The setup tool cannot change this policy automatically");
    h.get_by_label("Open the setup policies page");
    h.get_by_role_and_label(Role::Button, "Save script");
    click(&mut h, "Copy script");
    let script = h.state().copied.clone().unwrap();
    assert!(
        script.contains("Set-CsTeamsAppSetupPolicy -Identity Global")
            && script.contains(mspbots_setup::sim::teams::DEMO_APP_ID)
    );
    assert_eq!(h.state().step_status(StepId::GlobalPolicy), StepStatus::NeedsAttention);
    click(&mut h, "Continue without it");
    h.get_by_label("Your tenant is connected to MSPbots; one thing is left for you.");
}
