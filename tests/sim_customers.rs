//! A partner's customers as tenants of their own (issue 19), served on the partner's hosts as Microsoft serves
//! every tenant on the same hosts: a GDAP admin agent signs in to a customer's tenant with the roles of the groups
//! the relationship maps, the partner's refresh token redeems there, an app the customer has not approved is
//! refused (AADSTS90099), and staff without a role there, or a relationship not active, get nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use common::*;
use serde_json::Value;

const PARTNER: &str = "5b0d8e27-4f19-4c3a-96b8-1e7a2d6c9f54";
const CONTOSO: &str = "7c1f3a52-2d4e-4b8a-9f61-3e5d8c2b1a47";
const FABRIKAM: &str = "2a9e6b41-8c3d-4f57-a1e2-6d4c7b9f0e38";
const LITWARE: &str = "367d6103-6577-50cb-a3df-f82065a49e6e";
const ADVENTURE_WORKS: &str = "a30f0cdf-091b-570b-8986-25c3ee3c5b16";
/// In GCC.
const FOURTH_COFFEE: &str = "07050c9c-871f-50bd-8bf9-7201c42bf0a5";
/// Relationship expired: known by name only, not served.
const ALPINE: &str = "7e146439-13f0-5d23-8ed4-d2b7b0a48d72";
const AGENT: &str = "lynne.robbins@northwindmsp.com";
const NO_GROUP: &str = "diego.siciliani@northwindmsp.com";
const GRAPH_READ: &str = "openid profile offline_access https://graph.microsoft.com/User.Read";
/// Everything the customer approved the setup tool for.
const GRAPH_ALL: &str = "openid profile offline_access https://graph.microsoft.com/.default";
/// Role template ids (Entra's built-in roles).
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const PRIVILEGED_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const TEAMS_ADMIN: &str = "69091246-20e8-4a56-aa4d-066075b2a7a8";

fn wids(token: &str) -> Vec<String> {
    let mut w: Vec<String> =
        claims(token)["wids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    w.sort();
    w
}

#[tokio::test]
async fn the_partner_scenario_serves_every_customer_in_full() {
    let t = TestSim::start("msp-partner", None).await;
    let served: Vec<&str> = t.sim.info().customer_tenants.iter().map(|c| c.display_name.as_str()).collect();
    assert_eq!(
        served,
        [
            "Contoso",
            "Fabrikam",
            "Litware",
            "Tailspin Toys",
            "Wingtip Toys",
            "Adventure Works",
            "Relecloud",
            "Woodgrove Bank",
            "Alpine Ski House",
            "Coho Winery",
            "Fourth Coffee",
            "Margie's Travel",
            "Proseware",
            "Trey Research"
        ]
    );
    let ids: Vec<&str> = t.sim.info().customer_tenants.iter().map(|c| c.tenant_id.as_str()).collect();
    for id in [CONTOSO, FABRIKAM, LITWARE, ADVENTURE_WORKS, FOURTH_COFFEE, ALPINE] {
        assert!(ids.contains(&id), "{id}");
    }
    // Each on the same login host, answering for itself: its own discovery, renamed to the customer.
    let doc: Value =
        t.get(&t.login("litware.onmicrosoft.com/v2.0/.well-known/openid-configuration")).await.json().await.unwrap();
    assert_eq!(doc["token_endpoint"], t.login(&format!("{LITWARE}/oauth2/v2.0/token")));
    assert!(doc.get("tenant_region_sub_scope").is_none(), "a commercial tenant");
    // A customer in GCC says so in its own discovery, as the partner's board reads it.
    let doc: Value =
        t.get(&t.login(&format!("{FOURTH_COFFEE}/v2.0/.well-known/openid-configuration"))).await.json().await.unwrap();
    assert_eq!(doc["tenant_region_sub_scope"], "GCC");
}

#[tokio::test]
async fn an_admin_agent_signs_in_to_a_customer_with_the_mapped_groups_roles() {
    let t = TestSim::start("msp-partner", Some(AGENT)).await;
    for (tenant, name, roles) in
        [(CONTOSO, "Contoso", vec![GLOBAL_ADMIN]), (FABRIKAM, "Fabrikam", vec![PRIVILEGED_ROLE_ADMIN, TEAMS_ADMIN])]
    {
        let (params, verifier) = t.auto_code(tenant, GRAPH_ALL).await;
        let (status, body) = t.redeem(tenant, &params["code"], &verifier, GRAPH_ALL).await;
        assert_eq!(status, 200, "{name}: {body:#}");
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(claims(token)["tid"], tenant, "{name}: a token for the customer's tenant");
        assert_eq!(claims(token)["upn"], AGENT);
        // Authenticated by the partner's tenant: `idp` names it (absent for the tenant's own members).
        assert_eq!(claims(token)["idp"], format!("https://sts.windows.net/{PARTNER}/"));
        assert_eq!(claims(body["id_token"].as_str().unwrap())["idp"], format!("https://sts.windows.net/{PARTNER}/"));
        let mut expected: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        expected.sort();
        assert_eq!(wids(token), expected, "{name}: the roles of the relationship's active assignment");
        // Graph answers for the customer's tenant with that token.
        let org = t.graph_get(token, "v1.0/organization").await;
        assert_eq!(org["value"][0]["displayName"], name);
        let users = t.graph_get(token, "v1.0/users?$top=5&$select=userPrincipalName").await;
        let first = users["value"][0]["userPrincipalName"].as_str().unwrap_or_else(|| panic!("{users:#}"));
        assert!(first.ends_with(&format!("@{}.com", name.to_lowercase())), "{name}'s own people: {first}");
    }
}

#[tokio::test]
async fn the_partners_refresh_token_redeems_at_a_customer_where_the_agent_has_access() {
    let t = TestSim::start("msp-partner", Some(AGENT)).await;
    let (params, verifier) = t.auto_code("organizations", GRAPH_READ).await;
    let (status, body) = t.redeem("organizations", &params["code"], &verifier, GRAPH_READ).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["tid"], PARTNER);
    assert!(claims(body["access_token"].as_str().unwrap()).get("idp").is_none(), "a member of the tenant");
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |tenant: &'static str, rt: String| {
        let t = &t;
        async move {
            let client = t.signin_client();
            t.token(
                tenant,
                &[
                    ("client_id", &client),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("scope", GRAPH_READ),
                ],
            )
            .await
        }
    };
    let (status, body) = refresh(CONTOSO, rt.clone()).await;
    assert_eq!(status, 200, "{body:#}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["tid"], CONTOSO);
    assert_eq!(wids(token), [GLOBAL_ADMIN]);
    // A customer whose relationship expired: the tenant is known by name only and the agent is nobody there.
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(ALPINE, rt).await;
    assert_eq!(status, 400, "{body:#}");
    assert_aad_error(&body, "access_denied", 50020);
}

#[tokio::test]
async fn an_app_the_customer_has_not_approved_is_refused_to_the_partner_and_left_to_its_admin() {
    let t = TestSim::start("msp-partner", Some(AGENT)).await;
    // Litware approved the setup tool only: the agent signs in to it, but MSPbots' consent page refuses them.
    let (params, verifier) = t.auto_code(LITWARE, GRAPH_READ).await;
    let (status, body) = t.redeem(LITWARE, &params["code"], &verifier, GRAPH_READ).await;
    assert_eq!(status, 200, "{body:#}");
    let params = t.admin_consent(LITWARE).await;
    assert_redirect_error(&params, "invalid_grant", 90099);
    assert!(params["error_description"].contains(LITWARE), "{params:?}");
    // Litware's own Global Administrator (the base scenario's, on Litware's domain) approves it by the same link.
    t.sim.set_auto_login(Some("adele.vance@litware.com".to_owned()));
    let params = t.admin_consent(LITWARE).await;
    assert_eq!(params.get("admin_consent").map(String::as_str), Some("True"), "{params:?}");
    assert_eq!(params["tenant"], LITWARE);
}

#[tokio::test]
async fn staff_in_no_mapped_group_get_nothing_in_a_customers_tenant() {
    let t = TestSim::start("msp-partner", Some(NO_GROUP)).await;
    let (url, ..) = t.authorize_url(CONTOSO, GRAPH_READ, &[]);
    let params = redirect_params(&t.get(&url).await);
    assert_redirect_error(&params, "access_denied", 50020);
}

/// One customer needs its own admin: Litware's relationship gives Cloud Application Administrator, which cannot
/// grant MSPbots' application permissions, and a partner's agent cannot approve an app first anyway. Litware's
/// Global Administrator approves MSPbots through the tenant's consent link; then the partner's agent runs all five
/// steps in Litware's tenant, the consent found already there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_customers_admin_approves_by_the_link_the_partner_sets_the_customer_up() {
    let t = TestSim::start("msp-partner", Some("adele.vance@litware.com")).await;
    let params = t.admin_consent(LITWARE).await;
    assert_eq!(params.get("admin_consent").map(String::as_str), Some("True"), "{params:?}");
    t.sim.set_auto_login(Some(AGENT.to_owned()));
    let dir = std::env::temp_dir().join(format!("mspbots-litware-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = live_profile(&dir, &t.sim);
    let mut command = headless_against(env!("CARGO_BIN_EXE_mspbots-setup"), &t.sim, &profile, &dir.join("state"));
    command.args(["--tenant", LITWARE, "--grant-wait", "20"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let lines = json_lines(&out);
    let statuses: Vec<(&str, &str)> =
        lines.iter().map(|l| (l["step"].as_str().unwrap(), l["status"].as_str().unwrap())).collect();
    assert_eq!(
        statuses,
        [
            ("sign_in", "done"),
            ("admin_consent", "done"),
            ("verify_permissions", "done"),
            ("teams_app", "done"),
            ("global_policy", "done")
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines[0]["detail"]["tenant_id"], LITWARE);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An admin center page opened in the partner's context (`?delegatedOrg=`) shows that customer's tenant: Relecloud
/// installs MSPbots for everyone; the partner's own tenant does not.
#[tokio::test]
async fn an_admin_center_page_with_delegated_org_is_the_customers() {
    let t = TestSim::start("msp-partner", None).await;
    let page =
        format!("{}teams-admin/manage-apps/{}", t.sim.info().browser_login_url, mspbots_setup::sim::teams::DEMO_APP_ID);
    let installs_for_everyone = |html: &str| html.contains(r#"name="installs" value="everyone" checked"#);
    let own = t.get(&page).await.text().await.unwrap();
    assert!(own.contains("Availability") && !installs_for_everyone(&own), "{own}");
    let relecloud = t.get(&format!("{page}?delegatedOrg=relecloud.onmicrosoft.com")).await.text().await.unwrap();
    assert!(installs_for_everyone(&relecloud), "{relecloud}");
}
