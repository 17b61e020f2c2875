//! Every shipped scenario shows its fault on the wire, in Microsoft's payload shape.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::collections::HashMap;

use common::*;
use mspbots_setup::sim::scenario;

/// The wizard's own sign-in scopes include admin-only Graph permissions, as the product will ask for.
const WIZARD_SCOPES: &str = "openid profile offline_access https://graph.microsoft.com/User.Read https://graph.microsoft.com/Directory.Read.All";

/// Scenarios with a test in this file. A new shipped scenario must be added here with its test.
const COVERED: &[&str] = &[
    "happy",
    "not-admin",
    "cloud-app-admin",
    "consent-declined",
    "conditional-access",
    "mfa-required",
    "other-tenant",
    "app-disabled",
    "app-not-found",
    "redirect-not-registered",
    "no-reply-address",
    "replication-delay",
    "gdap-partner",
    "msp-partner",
    "session-expired",
    "permissions-missing",
    "late-permissions",
    "large-directory",
    "graph-throttled",
    "teams-custom-app",
    "teams-older-upload",
    "teams-app-in-review",
    "teams-third-party-blocked",
    "teams-custom-upload-off",
    "teams-admin-unlicensed",
    "teams-gcc-high",
    "teams-custom-policies",
    "teams-policy-partner",
    "teams-policy-changed",
    "teams-install-throttled",
    "teams-legacy-policies",
    "teams-install-refused",
    "teams-install-ignored",
    "teams-app-blocked",
    "teams-available-to-some",
    "already-onboarded",
];

#[test]
fn every_shipped_scenario_has_a_wire_test() {
    let shipped: Vec<String> = scenario::shipped().into_iter().map(|(name, _)| name).collect();
    assert_eq!(shipped, COVERED, "add a test below for each new scenario");
}

async fn authorize_as_default(t: &TestSim, tenant: &str) -> HashMap<String, String> {
    let (url, _, _, _) = t.authorize_url(tenant, WIZARD_SCOPES, &[]);
    let r = t.get(&url).await;
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    redirect_params(&r)
}

#[tokio::test]
async fn happy_signs_in_consents_and_gets_app_roles() {
    let t = TestSim::start("happy", Some("adele.vance@contoso.com")).await;
    let params = authorize_as_default(&t, "organizations").await;
    assert!(params.contains_key("code"));
    let consent = t.admin_consent(&t.tenant_id()).await;
    assert_eq!(consent["admin_consent"], "True");
    let (status, _) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn not_admin_needs_admin_approval_aadsts90094() {
    let t = TestSim::start("not-admin", Some("alex.wilber@contoso.com")).await;
    let params = authorize_as_default(&t, "organizations").await;
    assert_redirect_error(&params, "access_denied", 90094);
    assert!(params["error_description"].contains("has set a policy"), "{params:?}");
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_redirect_error(&params, "access_denied", 90094);
    assert_eq!(params["admin_consent"], "True");
    assert!(!params.contains_key("tenant"));
}

#[tokio::test]
async fn not_admin_sees_the_need_admin_approval_page_interactively() {
    let t = TestSim::start("not-admin", None).await;
    let (url, _, state, _) = t.authorize_url("organizations", WIZARD_SCOPES, &[]);
    let page = t.get(&url).await.text().await.unwrap();
    let ctx = hidden_inputs(&page)["ctx"].clone();
    let page = t
        .post_form(&t.login("organizations/login"), &[("ctx", &ctx), ("username", "alex.wilber@contoso.com")])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Need admin approval"), "{page}");
    let r = t.post_form(&t.login("organizations/consent"), &[("ctx", &ctx), ("decision", "back")]).await;
    let params = redirect_params(&r);
    assert_redirect_error(&params, "access_denied", 90094);
    assert_eq!(params["state"], state);
}

#[tokio::test]
async fn cloud_app_admin_cannot_grant_graph_application_permissions() {
    let t = TestSim::start("cloud-app-admin", Some("lee.gu@contoso.com")).await;
    // Delegated admin-only scopes are within the role's power.
    let params = authorize_as_default(&t, "organizations").await;
    assert!(params.contains_key("code"), "{params:?}");
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_redirect_error(&params, "access_denied", 90094);
    let (status, _) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 400, "nothing was granted");
}

#[tokio::test]
async fn consent_declined_is_aadsts65004_on_both_endpoints() {
    let t = TestSim::start("consent-declined", Some("adele.vance@contoso.com")).await;
    let params = authorize_as_default(&t, "organizations").await;
    assert_redirect_error(&params, "access_denied", 65004);
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_redirect_error(&params, "access_denied", 65004);
    assert_eq!(params["admin_consent"], "True");
    assert!(!params.contains_key("tenant"), "no tenant on errors");
}

#[tokio::test]
async fn conditional_access_blocks_browser_sign_in_but_not_device_code() {
    let t = TestSim::start("conditional-access", Some("adele.vance@contoso.com")).await;
    let params = authorize_as_default(&t, "organizations").await;
    assert_redirect_error(&params, "access_denied", 53003);

    let client = t.signin_client();
    let dc: serde_json::Value = t
        .post_form(
            &t.login("organizations/oauth2/v2.0/devicecode"),
            &[("client_id", &client), ("scope", WIZARD_SCOPES)],
        )
        .await
        .json()
        .await
        .unwrap();
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", dc["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 200, "auto mode approves the device code on the first poll: {body:#}");
}

#[tokio::test]
async fn mfa_required_refuses_the_first_redemption_with_suberror() {
    let t = TestSim::start("mfa-required", Some("adele.vance@contoso.com")).await;
    let (params, verifier) = t.auto_code("organizations", WIZARD_SCOPES).await;
    let (status, body) = t.redeem("organizations", &params["code"], &verifier, WIZARD_SCOPES).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 50076);
    assert_eq!(body["suberror"], "basic_action");
    // The fault fires once; signing in again succeeds (and the refused code was not spent).
    let (status, _) = t.redeem("organizations", &params["code"], &verifier, WIZARD_SCOPES).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn other_tenant_account_is_aadsts50020_in_the_customer_tenant() {
    let t = TestSim::start("other-tenant", Some("nestor.wilke@fabrikam.com")).await;
    let params = authorize_as_default(&t, &t.tenant_id()).await;
    assert_redirect_error(&params, "access_denied", 50020);
    assert!(params["error_description"].contains("nestor.wilke@fabrikam.com"));
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_redirect_error(&params, "access_denied", 50020);
    // At /organizations the account signs in to its own tenant (Fabrikam), where it may consent to
    // user-level permissions for itself.
    let (url, _, _, _) = t.authorize_url("organizations", "openid profile https://graph.microsoft.com/User.Read", &[]);
    let params = redirect_params(&t.get(&url).await);
    assert!(params.contains_key("code"), "{params:?}");
}

#[tokio::test]
async fn app_disabled_is_aadsts7000112() {
    let t = TestSim::start("app-disabled", Some("adele.vance@contoso.com")).await;
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_redirect_error(&params, "unauthorized_client", 7000112);
}

#[tokio::test]
async fn app_not_found_shows_aadsts700016_without_redirecting() {
    let t = TestSim::start("app-not-found", Some("adele.vance@contoso.com")).await;
    let url = format!(
        "{}?client_id={}&scope={}&redirect_uri={}",
        t.login(&format!("{}/v2.0/adminconsent", t.tenant_id())),
        t.consent_client(),
        enc("https://graph.microsoft.com/.default"),
        enc(LOOPBACK)
    );
    let r = t.get(&url).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("AADSTS700016"));
    let (status, body) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "unauthorized_client", 700016);
}

async fn consent_page_error(name: &str, code: &str) {
    let t = TestSim::start(name, Some("adele.vance@contoso.com")).await;
    let url = format!(
        "{}?client_id={}&scope={}&redirect_uri={}&state=s",
        t.login(&format!("{}/v2.0/adminconsent", t.tenant_id())),
        t.consent_client(),
        enc("https://graph.microsoft.com/.default"),
        enc(LOOPBACK)
    );
    let r = t.get(&url).await;
    assert_eq!(r.status(), 400, "{name}");
    assert!(r.headers().get("location").is_none(), "{name}: never redirects to an unregistered URI");
    let page = r.text().await.unwrap();
    assert!(page.contains(code) && page.contains("Correlation Id"), "{name}: {page}");
}

#[tokio::test]
async fn redirect_not_registered_is_aadsts50011_page() {
    consent_page_error("redirect-not-registered", "AADSTS50011").await;
}

#[tokio::test]
async fn no_reply_address_is_aadsts500113_page() {
    consent_page_error("no-reply-address", "AADSTS500113").await;
}

#[tokio::test]
async fn replication_delay_hides_a_fresh_consent_for_a_while() {
    let s = scenario::load("replication-delay").unwrap();
    assert_eq!(s.consent.replication_delay_secs, 20.0, "the shipped scenario waits 20 s");
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_eq!(params["admin_consent"], "True", "consent itself succeeds at once");
    let (status, body) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "unauthorized_client", 700016);
    t.sim.advance_clock(std::time::Duration::from_secs(19));
    let (status, _) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 400, "still hidden a second before the delay ends");
    t.sim.advance_clock(std::time::Duration::from_secs(1));
    let (status, body) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(claims(body["access_token"].as_str().unwrap())["roles"].is_array());
}

#[tokio::test]
async fn gdap_partner_is_aadsts90099() {
    let t = TestSim::start("gdap-partner", Some("tech@northwind-msp.com")).await;
    let params = authorize_as_default(&t, &t.tenant_id()).await;
    assert_redirect_error(&params, "invalid_grant", 90099);
    let params = t.admin_consent(&t.tenant_id()).await;
    assert_redirect_error(&params, "invalid_grant", 90099);
}

#[tokio::test]
async fn a_partners_staff_see_their_groups_and_customers_say_their_cloud_in_discovery() {
    let t = TestSim::start("msp-partner", Some("lynne.robbins@northwindmsp.com")).await;
    let token = t.user_token("https://graph.microsoft.com/User.Read").await;
    let groups = t.graph_get(&token, "/v1.0/me/transitiveMemberOf/microsoft.graph.group").await;
    let names: Vec<&str> =
        groups["value"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap()).collect();
    assert_eq!(names, ["AdminAgents", "MSPbots Onboarding", "Helpdesk Teams"]);
    assert_eq!(groups["value"][1]["id"], mspbots_setup::sim::partner::group_id("MSPbots Onboarding"));
    let roles = t.graph_get(&token, "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole").await;
    assert_eq!(roles["value"].as_array().unwrap().len(), 0, "the cast leaves the groups out");
    // Fourth Coffee is a GCC tenant: its discovery says so; Contoso's does not.
    let discovery = |tenant: &str| format!("{}{tenant}/v2.0/.well-known/openid-configuration", t.sim.info().login_url);
    let gcc: serde_json::Value = t.get(&discovery("fourthcoffee.onmicrosoft.com")).await.json().await.unwrap();
    assert_eq!(gcc["tenant_region_sub_scope"], "GCC");
    let commercial: serde_json::Value = t.get(&discovery("contoso.onmicrosoft.com")).await.json().await.unwrap();
    assert!(commercial.get("tenant_region_sub_scope").is_none(), "{commercial:#}");
}

#[tokio::test]
async fn a_partner_with_hundreds_of_customers_is_paged_300_relationships_at_a_time() {
    let mut s = scenario::load("msp-partner").unwrap();
    s.partner.generated_customers = 500;
    let t = TestSim::start_with(s, Some("lynne.robbins@northwindmsp.com")).await;
    let token = t.user_token("https://graph.microsoft.com/DelegatedAdminRelationship.Read.All").await;
    let first = t.graph_get(&token, "/v1.0/tenantRelationships/delegatedAdminRelationships").await;
    assert_eq!(first["value"].as_array().unwrap().len(), 300, "300 a page by default");
    let next = first["@odata.nextLink"].as_str().unwrap();
    let path = &next[t.sim.info().graph_url.len()..];
    let second = t.graph_get(&token, path).await;
    assert_eq!(second["value"].as_array().unwrap().len(), 514 - 300, "the fourteen named and the 500 generated");
    assert!(second.get("@odata.nextLink").is_none());
    let generated = second["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["displayName"].as_str().unwrap().starts_with("MSP_Customer_"))
        .count();
    assert_eq!(generated, 214);
    let small = t.graph_get(&token, "/v1.0/tenantRelationships/delegatedAdminRelationships?$top=5").await;
    assert_eq!(small["value"].as_array().unwrap().len(), 5);
    let refused = t.graph_get(&token, "/v1.0/tenantRelationships/delegatedAdminRelationships?$top=301").await;
    assert_eq!(refused["error"]["code"], "BadRequest", "{refused:#}");
}

#[tokio::test]
async fn session_expired_refuses_refresh_with_aadsts700082() {
    let t = TestSim::start("session-expired", Some("adele.vance@contoso.com")).await;
    let (params, verifier) = t.auto_code("organizations", WIZARD_SCOPES).await;
    let (status, body) = t.redeem("organizations", &params["code"], &verifier, WIZARD_SCOPES).await;
    assert_eq!(status, 200);
    let rt = body["refresh_token"].as_str().unwrap();
    let (status, body) = t
        .token(
            "organizations",
            &[("client_id", &t.signin_client()), ("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 700082);
}

#[tokio::test]
async fn faults_count_and_delay() {
    let mut s = scenario::load("happy").unwrap();
    s.faults.push(scenario::FaultSpec {
        endpoint: "discovery".into(),
        status: Some(503),
        error: Some("temporarily_unavailable".into()),
        count: Some(1),
        after: 1,
        ..Default::default()
    });
    s.faults.push(scenario::FaultSpec { endpoint: "keys".into(), delay_ms: 300, ..Default::default() });
    let t = TestSim::start_with(s, None).await;
    let url = t.login("organizations/v2.0/.well-known/openid-configuration");
    assert_eq!(t.get(&url).await.status(), 200, "the first request is let through (after = 1)");
    let r = t.get(&url).await;
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_aad_error(&body, "temporarily_unavailable", 90033);
    assert_eq!(t.get(&url).await.status(), 200, "count = 1");
    let started = tokio::time::Instant::now();
    assert_eq!(t.get(&t.login("organizations/discovery/v2.0/keys")).await.status(), 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "a delay-only fault slows the answer");
}

/// Admin consent with a state of its own: each distinct state is a new consent to the simulator.
async fn consent_with_state(t: &TestSim, state: &str) -> HashMap<String, String> {
    let url = format!(
        "{}?client_id={}&scope={}&redirect_uri={}&state={state}",
        t.login(&format!("{}/v2.0/adminconsent", t.tenant_id())),
        t.consent_client(),
        enc("https://graph.microsoft.com/.default"),
        enc(LOOPBACK)
    );
    let r = t.get(&url).await;
    assert_eq!(r.status(), 302);
    redirect_params(&r)
}

async fn app_roles(t: &TestSim) -> Vec<String> {
    let (status, body) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 200, "{body:#}");
    let mut roles: Vec<String> = claims(body["access_token"].as_str().unwrap())["roles"]
        .as_array()
        .map(|r| r.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    roles.sort();
    roles
}

#[tokio::test]
async fn permissions_missing_withholds_two_roles_from_the_first_consent_only() {
    let t = TestSim::start("permissions-missing", Some("adele.vance@contoso.com")).await;
    assert_eq!(consent_with_state(&t, "first").await["admin_consent"], "True");
    assert_eq!(app_roles(&t).await, ["User.Read.All"]);
    // The same page loaded again (the wizard's look before the browser) is the same consent.
    consent_with_state(&t, "first").await;
    assert_eq!(app_roles(&t).await, ["User.Read.All"]);
    consent_with_state(&t, "second").await;
    assert_eq!(
        app_roles(&t).await,
        ["ProfilePhoto.Read.All", "TeamsAppInstallation.ReadWriteForUser.All", "User.Read.All"]
    );
}

#[tokio::test]
async fn late_permissions_show_the_app_before_its_roles() {
    let s = scenario::load("late-permissions").unwrap();
    assert_eq!(s.consent.roles_replication_delay_secs, 8.0);
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    t.admin_consent(&t.tenant_id()).await;
    assert!(app_roles(&t).await.is_empty(), "the app exists, its application permissions not yet");
    t.sim.advance_clock(std::time::Duration::from_secs(8));
    assert_eq!(app_roles(&t).await.len(), 3);
}

async fn graph_get(t: &TestSim, token: &str, path: &str) -> reqwest::Response {
    t.client
        .get(format!("{}{path}", t.sim.info().graph_url))
        .bearer_auth(token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn large_directory_has_ten_thousand_generated_users() {
    let t = TestSim::start("large-directory", Some("adele.vance@contoso.com")).await;
    t.admin_consent(&t.tenant_id()).await;
    let (_, body) = t.client_credentials(&t.tenant_id()).await;
    let r = graph_get(&t, body["access_token"].as_str().unwrap(), "v1.0/users/$count").await;
    assert_eq!(r.text().await.unwrap(), "10005");
}

#[tokio::test]
async fn graph_throttled_answers_429_with_retry_after_on_the_third_users_request() {
    let t = TestSim::start("graph-throttled", Some("adele.vance@contoso.com")).await;
    t.admin_consent(&t.tenant_id()).await;
    let (_, body) = t.client_credentials(&t.tenant_id()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        assert_eq!(graph_get(&t, &token, "v1.0/users?$top=10").await.status(), 200);
    }
    let r = graph_get(&t, &token, "v1.0/users?$top=10").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert!(body["error"]["innerError"]["request-id"].is_string());
    assert_eq!(graph_get(&t, &token, "v1.0/users?$top=10").await.status(), 429, "count = 2");
    assert_eq!(graph_get(&t, &token, "v1.0/users?$top=10").await.status(), 200);
}

const DEMO_APP: &str = mspbots_setup::sim::teams::DEMO_APP_ID;
const TEAMS_SETUP: &str = "offline_access https://graph.microsoft.com/AppCatalog.ReadWrite.All https://graph.microsoft.com/TeamsAppInstallation.ReadWriteForUser";
const TEAMS_ADMIN: &str = "offline_access 48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation";

/// GET on the Graph (`graph`) or Teams admin host with a token for `scope`: status and JSON.
async fn get_json(t: &TestSim, scope: &str, url: String) -> (u16, serde_json::Value) {
    let token = t.user_token(scope).await;
    let r = t.client.get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn catalog(t: &TestSim, field: &str) -> serde_json::Value {
    let url = format!(
        "{}v1.0/appCatalogs/teamsApps?$filter={}&$expand=appDefinitions",
        t.sim.info().graph_url,
        enc(&format!("{field} eq '{DEMO_APP}'"))
    );
    get_json(t, TEAMS_SETUP, url).await.1
}

async fn install_me(t: &TestSim) -> (u16, serde_json::Value) {
    let token = t.user_token(TEAMS_SETUP).await;
    let body = serde_json::json!({ "teamsApp@odata.bind": format!("{}v1.0/appCatalogs/teamsApps/{DEMO_APP}", t.sim.info().graph_url) });
    let r = t
        .client
        .post(format!("{}v1.0/me/teamwork/installedApps", t.sim.info().graph_url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn teams_admin(t: &TestSim, path: &str) -> (u16, serde_json::Value) {
    get_json(t, TEAMS_ADMIN, format!("{}Skype.Policy/configurations/{path}", t.sim.info().teams_admin_url)).await
}

#[tokio::test]
async fn teams_custom_app_is_not_in_the_store() {
    let t = TestSim::start("teams-custom-app", Some("adele.vance@contoso.com")).await;
    assert_eq!(catalog(&t, "id").await["value"], serde_json::json!([]));
    assert_eq!(catalog(&t, "externalId").await["value"], serde_json::json!([]));
}

#[tokio::test]
async fn teams_older_upload_and_app_in_review_are_organization_apps() {
    let t = TestSim::start("teams-older-upload", Some("adele.vance@contoso.com")).await;
    let org = catalog(&t, "externalId").await;
    assert_eq!(org["value"][0]["distributionMethod"], "organization");
    assert_eq!(org["value"][0]["appDefinitions"][0]["version"], "1.2.0");
    let t = TestSim::start("teams-app-in-review", Some("adele.vance@contoso.com")).await;
    assert_eq!(catalog(&t, "externalId").await["value"][0]["appDefinitions"][0]["publishingState"], "submitted");
}

#[tokio::test]
async fn teams_third_party_blocked_refuses_the_install_and_says_so_in_the_permission_policy() {
    let t = TestSim::start("teams-third-party-blocked", Some("adele.vance@contoso.com")).await;
    let (status, body) = install_me(&t).await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"].as_str().unwrap().contains("AppType: Store"));
    let (_, policy) = teams_admin(&t, "TeamsAppPermissionPolicy/configuration/Global").await;
    assert_eq!(
        (policy["GlobalCatalogAppsType"].as_str(), policy["GlobalCatalogApps"].clone()),
        (Some("AllowedAppList"), serde_json::json!([]))
    );
}

#[tokio::test]
async fn teams_custom_upload_off_refuses_uploads() {
    let t = TestSim::start("teams-custom-upload-off", Some("adele.vance@contoso.com")).await;
    let (_, setting) = teams_admin(&t, "TeamsSettingsCustomApp/configuration/Global").await;
    assert_eq!(setting["isSideloadedAppsInteractionEnabled"], false);
    let token = t.user_token(TEAMS_SETUP).await;
    let zip =
        mspbots_setup::teams::package::load(&mspbots_setup::teams::package::PackageSource::BuiltinDemo).unwrap().zip;
    let r = t
        .client
        .post(format!("{}v1.0/appCatalogs/teamsApps", t.sim.info().graph_url))
        .bearer_auth(token)
        .header("content-type", "application/zip")
        .body(zip)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn teams_admin_unlicensed_cannot_have_apps_installed() {
    let t = TestSim::start("teams-admin-unlicensed", Some("it.admin@contoso.com")).await;
    let (status, body) = install_me(&t).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NotFound")));
}

#[tokio::test]
async fn teams_gcc_high_says_so_in_discovery() {
    let t = TestSim::start("teams-gcc-high", None).await;
    let doc: serde_json::Value = t
        .get(&t.login(&format!("{}/v2.0/.well-known/openid-configuration", t.tenant_id())))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (doc["tenant_region_scope"].as_str(), doc["tenant_region_sub_scope"].as_str()),
        (Some("USGov"), Some("DODCON"))
    );
    let common: serde_json::Value =
        t.get(&t.login("organizations/v2.0/.well-known/openid-configuration")).await.json().await.unwrap();
    assert!(common.get("tenant_region_sub_scope").is_none());
}

#[tokio::test]
async fn teams_custom_policies_are_listed_beside_global() {
    let t = TestSim::start("teams-custom-policies", Some("adele.vance@contoso.com")).await;
    let (status, list) = teams_admin(&t, "TeamsAppSetupPolicy").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["Identity"].as_str().unwrap()).collect();
    assert_eq!(ids, ["Global", "Tag:FirstlineWorker", "Tag:Sales", "Tag:Frontline Support"]);
}

#[tokio::test]
async fn teams_policy_partner_and_changed_shapes() {
    let t = TestSim::start("teams-policy-partner", Some("adele.vance@contoso.com")).await;
    let (status, body) = teams_admin(&t, "TeamsAppSetupPolicy/configuration/Global").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("40301")));
    let t = TestSim::start("teams-policy-changed", Some("adele.vance@contoso.com")).await;
    let (status, body) = teams_admin(&t, "TeamsAppSetupPolicy/configuration/Global").await;
    assert_eq!(status, 200);
    assert!(body.get("AppPresetList").is_none() && body["Settings"].is_object());
}

#[tokio::test]
async fn teams_install_throttled_answers_429_past_ten_installs_a_second() {
    let t = TestSim::start("teams-install-throttled", Some("adele.vance@contoso.com")).await;
    let token = t.user_token(TEAMS_SETUP).await;
    let body = serde_json::json!({ "teamsApp@odata.bind": format!("{}v1.0/appCatalogs/teamsApps/{DEMO_APP}", t.sim.info().graph_url) });
    let upns: Vec<String> = t.sim.info().accounts.iter().filter(|a| !a.external).map(|a| a.upn.clone()).collect();
    let mut statuses = Vec::new();
    // The named members, then generated ones: 12 installs in well under a second.
    let list = format!("{}v1.0/users?$select=userPrincipalName&$top=12", t.sim.info().graph_url);
    let reader = t.user_token("offline_access https://graph.microsoft.com/Directory.Read.All").await;
    let users: serde_json::Value = t.client.get(list).bearer_auth(reader).send().await.unwrap().json().await.unwrap();
    let targets: Vec<String> = users["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned())
        .collect();
    assert!(targets.len() == 12 && upns.iter().all(|u| targets.contains(u) || u.starts_with("nestor")));
    for u in &targets {
        let r = t
            .client
            .post(format!("{}v1.0/users/{u}/teamwork/installedApps", t.sim.info().graph_url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        statuses.push((r.status().as_u16(), r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned())));
    }
    assert_eq!(statuses.iter().filter(|(s, _)| *s == 201).count(), 10);
    assert_eq!(statuses[10], (429, Some("1".to_owned())));
}

/// A raw `PUT` of the Global setup policy with the vendor app installed and pinned after Microsoft's six apps.
async fn put_global_with_app(t: &TestSim, install: bool) -> (u16, serde_json::Value) {
    let token = t.user_token(TEAMS_ADMIN).await;
    let url =
        format!("{}Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global", t.sim.info().teams_admin_url);
    let (_, global) = teams_admin(t, "TeamsAppSetupPolicy/configuration/Global").await;
    let mut installed = global["AppPresetList"].as_array().unwrap().clone();
    if install {
        installed.push(serde_json::json!({ "Id": DEMO_APP }));
    }
    let mut pinned = global["PinnedAppBarApps"].as_array().unwrap().clone();
    pinned.push(serde_json::json!({ "Id": DEMO_APP, "Order": pinned.len() + 1 }));
    let body = serde_json::json!({ "Identity": "Global", "AppPresetList": installed, "PinnedAppBarApps": pinned });
    let r = t.client.put(url).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|a| a["Id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn teams_legacy_policies_install_through_the_global_policy() {
    let t = TestSim::start("teams-legacy-policies", Some("adele.vance@contoso.com")).await;
    let (status, _) = put_global_with_app(&t, true).await;
    assert_eq!(status, 204);
    let (_, global) = teams_admin(&t, "TeamsAppSetupPolicy/configuration/Global").await;
    assert!(ids(&global["AppPresetList"]).contains(&DEMO_APP.to_owned()));
    // Legacy: a pin must also be installed.
    let (status, body) = put_global_with_app(&t, false).await;
    assert_eq!(status, 204, "already installed: {body}");
}

#[tokio::test]
async fn teams_install_refused_answers_400_and_takes_the_pin_alone() {
    let t = TestSim::start("teams-install-refused", Some("adele.vance@contoso.com")).await;
    let (status, body) = put_global_with_app(&t, true).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "BadRequest");
    assert!(body["message"].as_str().unwrap().contains("AppPresetList"), "{body}");
    let (status, _) = put_global_with_app(&t, false).await;
    assert_eq!(status, 204, "app-centric: a pin needs no install");
    let (_, global) = teams_admin(&t, "TeamsAppSetupPolicy/configuration/Global").await;
    assert!(ids(&global["PinnedAppBarApps"]).contains(&DEMO_APP.to_owned()));
    assert!(!ids(&global["AppPresetList"]).contains(&DEMO_APP.to_owned()));
}

#[tokio::test]
async fn teams_install_ignored_accepts_the_install_and_drops_it() {
    let t = TestSim::start("teams-install-ignored", Some("adele.vance@contoso.com")).await;
    let (status, _) = put_global_with_app(&t, true).await;
    assert_eq!(status, 204);
    let (_, global) = teams_admin(&t, "TeamsAppSetupPolicy/configuration/Global").await;
    assert!(ids(&global["PinnedAppBarApps"]).contains(&DEMO_APP.to_owned()), "the pin is kept");
    assert!(!ids(&global["AppPresetList"]).contains(&DEMO_APP.to_owned()), "the install is not");
}

#[tokio::test]
async fn teams_app_blocked_refuses_installs_until_the_admin_center_unblocks_it() {
    let t = TestSim::start("teams-app-blocked", Some("adele.vance@contoso.com")).await;
    let token = t.user_token(TEAMS_SETUP).await;
    let install = || async {
        let body = serde_json::json!({ "teamsApp@odata.bind": format!("{}v1.0/appCatalogs/teamsApps/{DEMO_APP}", t.sim.info().graph_url) });
        let r = t
            .client
            .post(format!("{}v1.0/users/adele.vance@contoso.com/teamwork/installedApps", t.sim.info().graph_url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().await.unwrap_or_default())
    };
    let (status, body) = install().await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("Forbidden")));
    assert!(body["error"]["message"].as_str().unwrap().contains("blocked by the tenant admin"), "{body}");
    // The simulated Teams admin center page as a person sees it (auto mode off), then Apply.
    t.sim.set_auto_login(None);
    let page = format!("{}teams-admin/manage-apps/{DEMO_APP}", t.sim.info().browser_login_url);
    let html = t.client.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Availability") && html.contains("Installs") && html.contains("Apply"), "{html}");
    let saved = t
        .client
        .post(&page)
        .form(&[("availability", "everyone"), ("installs", "everyone")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(saved.contains("IsBlocked    : false") && saved.contains("InstalledFor : Everyone"), "{saved}");
    assert_eq!(install().await.0, 201, "unblocked: installs work");
}

#[tokio::test]
async fn teams_available_to_some_reaches_only_them() {
    let t = TestSim::start("teams-available-to-some", Some("adele.vance@contoso.com")).await;
    let token = t.user_token(TEAMS_SETUP).await;
    let (status, _) = put_global_with_app(&t, false).await;
    assert_eq!(status, 204);
    t.sim.advance_clock(std::time::Duration::from_secs(2));
    let has = |upn: &'static str| {
        let (t, token) = (&t, &token);
        async move {
            let url = format!(
                "{}v1.0/users/{upn}/teamwork/installedApps?$expand=teamsApp&$filter={}",
                t.sim.info().graph_url,
                enc(&format!("teamsApp/externalId eq '{DEMO_APP}'"))
            );
            let v: serde_json::Value = t.client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            !v["value"].as_array().unwrap().is_empty()
        }
    };
    assert!(has("alex.wilber@contoso.com").await, "available to Alex: the pin reached him");
    assert!(!has("megan.bowen@contoso.com").await, "not available to Megan: nothing reaches her");
}

#[tokio::test]
async fn already_onboarded_has_the_vendor_app_consented_pinned_and_with_every_user() {
    let t = TestSim::start("already-onboarded", Some("adele.vance@contoso.com")).await;
    let (status, _) = t.client_credentials(&t.tenant_id()).await;
    assert_eq!(status, 200, "consented before: the vendor app gets its token");
    let (_, global) = teams_admin(&t, "TeamsAppSetupPolicy/configuration/Global").await;
    assert!(ids(&global["PinnedAppBarApps"]).contains(&DEMO_APP.to_owned()), "{global}");
    let token = t.user_token(TEAMS_SETUP).await;
    for upn in ["alex.wilber@contoso.com", "megan.bowen@contoso.com"] {
        let url = format!(
            "{}v1.0/users/{upn}/teamwork/installedApps?$expand=teamsApp&$filter={}",
            t.sim.info().graph_url,
            enc(&format!("teamsApp/externalId eq '{DEMO_APP}'"))
        );
        let v: serde_json::Value = t.client.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(v["value"].as_array().map(Vec::len), Some(1), "{upn} has it already: {v}");
    }
}
