//! The partner's board in the window (issue 19): every customer's state and the links it needs, and customers set
//! up from the board in their own tenants with the partner's account, with the way back to the board.

use super::*;

/// Signs in to the demo's partner tenant as Lynne Robbins and waits for the board.
fn on_the_board(harness: &mut Harness<'static, WizardApp>) {
    demo_ready_as(harness, "lynne.robbins@northwindmsp.com");
    click(harness, "Customers of a partner…");
    primary_on_screen(harness, "Sign in to the partner tenant…");
    click(harness, "Sign in to the partner tenant…");
    step_until(harness, "the board", |app| {
        app.wizard().is_some_and(|w| matches!(w.board(), mspbots_setup::wizard::board::Board::Loaded { .. }))
    });
    harness.run_steps(2);
}

#[test]
fn a_partner_sees_every_customer_with_what_to_do_next_and_copies_the_links_it_needs() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut harness = harness(app(&rt, &demo("msp-partner")));
    on_the_board(&mut harness);
    harness.get_by_label(
        "Signed in to the partner tenant Northwind MSP as Lynne Robbins (lynne.robbins@northwindmsp.com).",
    );
    harness.get_by_label_contains("14 customers, 10 need action.");
    // Every state on the board, each customer searched for (the table draws only the rows on screen): its row
    // says the next action, and selected, its explanation.
    for (customer, next, explained) in [
        ("Contoso", "Set up", "Your roles there allow the setup."),
        ("Litware", "Send the consent link", "Copy the consent link for the customer's admin"),
        ("Tailspin Toys", "Send the invitation again", "has not approved the GDAP relationship yet"),
        ("Wingtip Toys", "Wait for the activation", "activated moments ago"),
        ("Adventure Works", "Set up (renew soon)", "renew it before then"),
        ("Alpine Ski House", "Renew the relationship", "The relationship is expired"),
        ("Trey Research", "Renew the relationship", "The relationship is terminated"),
        ("Coho Winery", "Wait for the access assignment", "still being assigned (pending)"),
        ("Proseware", "Fix the access assignment", "failed (error)"),
        ("Margie's Travel", "Join a mapped group", "none of the security groups"),
        ("Fourth Coffee", "Government cloud: check support", "A US government cloud tenant (GCC)"),
        ("Relecloud", "Set up", "Your roles there allow the setup."),
        ("Woodgrove Bank", "Set up", "Your roles there allow the setup."),
    ] {
        harness.state_mut().board_view.search = customer.to_owned();
        harness.run_steps(2);
        click(&mut harness, customer);
        assert_eq!(harness.query_all_by_label(next).count(), 1, "{customer}: {next}");
        harness.get_by_label_contains(explained);
    }
    harness.state_mut().board_view.search.clear();
    harness.state_mut().board_view.selected = None;
    harness.run_steps(2);
    primary_on_screen(&harness, "Check all again");

    // The customer whose admin must approve the relationship: its explanation and the invitation link.
    click(&mut harness, "Tailspin Toys");
    harness.get_by_label_contains("has not approved the GDAP relationship yet");
    click(&mut harness, "Copy invitation link");
    let copied = harness.state().copied.clone().unwrap();
    assert!(copied.contains("/partners/invitation/granularAdminRelationships/"), "{copied}");
    // The customer whose roles cannot grant consent: the consent link of that tenant, for its own admin.
    click(&mut harness, "Litware");
    click(&mut harness, "Copy consent link for the customer's admin");
    let copied = harness.state().copied.clone().unwrap();
    let litware = harness
        .state()
        .wizard()
        .unwrap()
        .board()
        .data()
        .unwrap()
        .customers
        .iter()
        .find(|c| c.name == "Litware")
        .unwrap()
        .tenant_id
        .clone();
    assert!(copied.contains(&format!("/{litware}/v2.0/adminconsent?client_id=")), "{copied}");

    // Only the customers that need action, then the search.
    harness.get_by_role_and_label(Role::CheckBox, "Needs action only").click_accesskit();
    harness.run_steps(2);
    assert!(harness.query_by_role_and_label(Role::Button, "Contoso").is_none(), "Contoso is ready");
    harness.get_by_role_and_label(Role::Button, "Litware");

    // The diagnostics bundle covers the partner's session: every customer, names masked when hiding details.
    let bundle = bundle_of(harness.state());
    assert_eq!(bundle.customers.len(), 14);
    let tailspin = bundle.customers.iter().find(|c| c.name == "Tailspin Toys").unwrap();
    assert_eq!((tailspin.state.as_str(), tailspin.next_action.as_str()), ("approval_pending", "send_invitation"));
    let hidden = serde_json::to_string(&bundle.hidden()).unwrap();
    for name in ["Tailspin Toys", "Litware", "Margie's Travel", &litware] {
        assert!(!hidden.contains(name), "{name} in the hidden bundle");
    }

    // Checked again: the rows stay while it runs.
    click(&mut harness, "Check all again");
    assert!(harness.state().wizard().unwrap().board().data().is_some());
    step_until(&mut harness, "the board read again", |app| {
        app.wizard().is_some_and(|w| matches!(w.board(), mspbots_setup::wizard::board::Board::Loaded { .. }))
    });
}

/// "Set up" on a ready customer runs the five steps in its own tenant, signed in there with the partner's account:
/// the header names the customer and the way back; the Teams app is not installed for the partner's agent, who is
/// no user there; and the way back shows the board as it was. A customer whose relationship cannot grant consent
/// (Litware) reaches the consent step, which offers its own admin's link.
#[test]
fn a_partner_sets_a_customer_up_from_the_board_and_comes_back_to_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut harness = harness(app(&rt, &demo("msp-partner")));
    on_the_board(&mut harness);
    click(&mut harness, "Contoso");
    click(&mut harness, "Set up Contoso");
    harness.get_by_label("Setting up Contoso (7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47) with your partner account");
    harness.get_by_role_and_label(Role::Button, "Back to Northwind MSP's customers");
    assert_eq!(harness.state().page(), StepId::SignIn, "straight to the sign-in");
    // Signed in there by the partner's sign-in, without the browser.
    step_until(&mut harness, "the sign-in in Contoso", |app| {
        app.wizard().is_some_and(|w| matches!(w.consent(), Consent::Done { .. }))
    });
    assert_eq!(harness.state().wizard().unwrap().browser_visits(StepId::SignIn), 0, "no trip to the browser");
    let account = harness.state().wizard().unwrap().account().unwrap().clone();
    assert_eq!(
        (account.tenant_id.as_str(), account.upn.as_str()),
        ("7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47", "lynne.robbins@northwindmsp.com")
    );
    // MSPbots was approved in Contoso before: on through the check to the Teams step.
    harness.run_steps(2);
    assert_eq!(harness.state().page(), StepId::VerifyPermissions, "the consent found there, on by itself");
    teams_steps_in_customer(&mut harness, "Contoso");

    click(&mut harness, "Back to Northwind MSP's customers");
    harness.run_steps(2);
    assert!(harness.state().partner.is_none());
    harness.get_by_label_contains("14 customers");
    assert_eq!(harness.state().wizard().unwrap().account().unwrap().tenant_id, "5b0d8e27-4f19-4c3a-96b8-1e7a2d6c9f54");

    // Every customer checked in its own tenant: Contoso now set up, the others as they were.
    click(&mut harness, "Check every customer's tenant");
    step_until(&mut harness, "the customers' tenants checked", |app| {
        app.wizard().is_some_and(|w| w.customer_checks().running.is_none())
    });
    harness.run_steps(2);
    let column = |app: &WizardApp, name: &str| {
        let w = app.wizard().unwrap();
        let tenant = &w.board().data().unwrap().customers.iter().find(|c| c.name == name).unwrap().tenant_id;
        mspbots_setup::present::tenant_check(w.customer_checks().by_tenant.get(tenant)).0
    };
    assert_eq!(
        ["Contoso", "Fabrikam", "Litware", "Tailspin Toys", "Relecloud", "Woodgrove Bank"]
            .map(|name| column(harness.state(), name)),
        ["set up, reaching users", "not pinned", "no consent yet", "not checked", "set up", "third-party apps blocked"]
    );
    // Contoso pinned moments ago: Teams is still delivering it. Relecloud was onboarded before: nothing to do.
    // Woodgrove Bank blocks third-party apps: it now needs action.
    harness.get_by_label("Wait for Teams");
    harness.get_by_label("Nothing: set up");
    harness.get_by_label_contains("14 customers, 11 need action.");
    // Woodgrove Bank's row is below the table's fold: searched for.
    harness.get_by_role(Role::TextInput).click();
    harness.run_steps(2);
    harness.get_by_role(Role::TextInput).type_text("Woodgrove");
    harness.run_steps(2);
    harness.get_by_label("Allow third-party apps");
    click(&mut harness, "Woodgrove Bank");
    harness.get_by_label_contains("Org-wide app settings, allow third-party apps");
    harness.state_mut().board_view.search.clear();
    harness.run_steps(2);
    harness.get_by_label_contains("In its tenant (");
    // The admin centers Microsoft lists for the partner, in Contoso's context.
    harness.get_by_role_and_label(Role::Button, "Open in the Teams admin center");
    harness.get_by_role_and_label(Role::Button, "Open in the Entra admin center");
    // One customer again on its own.
    click(&mut harness, "Check its tenant again");
    assert!(harness.state().wizard().unwrap().customer_checks().running.is_some());
    step_until(&mut harness, "Contoso checked again", |app| {
        app.wizard().is_some_and(|w| w.customer_checks().running.is_none())
    });
    assert!(column(harness.state(), "Contoso").starts_with("set up"));

    click(&mut harness, "Litware");
    click(&mut harness, "Set up Litware");
    step_until(&mut harness, "the consent step in Litware", |app| signed_in(app) && app.page() == StepId::AdminConsent);
    harness.run_steps(2);
    harness.get_by_label("This account cannot grant the permissions");
    // In the fix's sentence, and alone to copy by hand.
    let link = "/367d6103-6577-50cb-a3df-f82065a49e6e/v2.0/adminconsent?client_id=";
    assert_eq!(harness.query_all_by_label_contains(link).count(), 2, "Litware's own consent link");
}

/// From the verify step of a customer's session: the Teams app put in the tenant (not installed for the partner's
/// agent, who is no user there) and pinned in the Global policy.
fn teams_steps_in_customer(harness: &mut Harness<'static, WizardApp>, customer: &str) {
    on_to_teams(harness);
    harness.run_steps(2);
    harness.get_by_label("You signed in from another organization");
    harness.get_by_label_contains("it is not installed for you, who sign in from another organization");
    click(harness, "Put MSPbots in the tenant");
    step_until(harness, &format!("the app in {customer}"), |app| {
        app.wizard().is_some_and(|w| matches!(w.teams(), TeamsStep::Done { .. }))
    });
    harness.run_steps(2);
    harness.get_by_label_contains("Not installed for you: you signed in from another organization");
    click(harness, "Continue: Global policy");
    step_until(harness, &format!("{customer}'s policies"), |app| {
        app.wizard().is_some_and(|w| matches!(w.policy(), PolicyStep::Ready { .. }))
    });
    click(harness, "Add to the Global policy");
    step_until(harness, &format!("pinned in {customer}"), |app| {
        app.wizard().is_some_and(|w| matches!(w.policy(), PolicyStep::Applied { .. }))
    });
}

/// A customer whose relationship cannot grant consent (Litware): its own admin approves MSPbots by the link the
/// consent step gives; checked again, the board sees the consent, and the partner sets it up to the end.
#[test]
fn a_customer_needing_its_admins_consent_is_set_up_once_its_admin_approves_by_the_link() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut harness = harness(app(&rt, &demo("msp-partner")));
    on_the_board(&mut harness);
    click(&mut harness, "Litware");
    click(&mut harness, "Set up Litware");
    step_until(&mut harness, "the consent step in Litware", |app| signed_in(app) && app.page() == StepId::AdminConsent);
    harness.run_steps(2);
    harness.get_by_label("This account cannot grant the permissions");
    let link = harness.state().wizard().unwrap().consent_link().unwrap();

    // Litware's Global Administrator opens the link in their browser (the demo's pages answering as them).
    let DemoTenant::Ready(tenant) = &harness.state().demo else { panic!("demo tenant not ready") };
    tenant.sim().set_auto_login(Some("adele.vance@litware.com".to_owned()));
    let trust = tenant.endpoints(mspbots_setup::profile::Cloud::Public).trust;
    let browser = http::client(&HttpConfig::new(Purpose::Api, trust)).unwrap();
    // The last hop, the vendor's own page, is not served here; the consent is recorded before it.
    let _last_hop = rt.block_on(async { browser.get(&link).send().await });
    tenant.sim().set_auto_login(Some("lynne.robbins@northwindmsp.com".to_owned()));

    click(&mut harness, "Back to Northwind MSP's customers");
    harness.run_steps(2);
    click(&mut harness, "Check its tenant again");
    step_until(&mut harness, "Litware checked", |app| {
        app.wizard().is_some_and(|w| {
            w.customer_checks().running.is_none()
                && w.customer_checks().by_tenant.contains_key("367d6103-6577-50cb-a3df-f82065a49e6e")
        })
    });
    harness.run_steps(2);
    harness.get_by_label("not pinned");
    click(&mut harness, "Set up Litware");
    step_until(&mut harness, "the consent found in Litware", |app| {
        app.wizard().is_some_and(|w| matches!(w.consent(), Consent::Done { .. }))
    });
    harness.run_steps(2);
    teams_steps_in_customer(&mut harness, "Litware");
    click(&mut harness, "Back to Northwind MSP's customers");
    harness.run_steps(2);
    assert!(harness.state().partner.is_none());
}
