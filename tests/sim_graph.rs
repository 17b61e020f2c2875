//! The simulated Graph endpoints the sign-in and consent steps read, with Microsoft's shapes, scope checks and
//! replication delay.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should panic")]

mod common;

use common::*;
use serde_json::Value;

const SCOPES: &str = "openid profile offline_access https://graph.microsoft.com/User.Read";

async fn user_token(t: &TestSim, scope: &str) -> String {
    let (params, verifier) = t.auto_code("organizations", scope).await;
    let (status, body) = t.redeem("organizations", &params["code"], &verifier, scope).await;
    assert_eq!(status, 200, "{body:#}");
    body["access_token"].as_str().unwrap().to_owned()
}

async fn graph(t: &TestSim, token: &str, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = t
        .client
        .get(format!("{}{path}", t.sim.info().graph_url))
        .bearer_auth(token)
        .header("client-request-id", "crid-1")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap(), headers)
}

#[tokio::test]
async fn me_roles_and_organization_with_user_read() {
    let t = TestSim::start("happy", Some("lee.gu@contoso.com")).await;
    let token = user_token(&t, SCOPES).await;
    let (status, me, headers) = graph(&t, &token, "v1.0/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["userPrincipalName"], "lee.gu@contoso.com");
    assert_eq!(headers["client-request-id"], "crid-1");
    assert!(headers.contains_key("request-id"));
    let (_, roles, _) = graph(&t, &token, "v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole").await;
    assert_eq!(roles["value"][0]["displayName"], "Cloud Application Administrator");
    assert_eq!(roles["value"][0]["roleTemplateId"], "158c047a-c907-4556-b7ef-446551a6b5f7");
    let (_, org, _) = graph(&t, &token, "v1.0/organization").await;
    assert_eq!(org["value"][0]["displayName"], "Contoso");
    assert_eq!(org["value"][0]["verifiedDomains"][0]["isInitial"], true);
}

#[tokio::test]
async fn service_principals_need_application_read_and_follow_replication() {
    let mut scenario = mspbots_setup::sim::scenario::load("replication-delay").unwrap();
    scenario.consent.replication_delay_secs = 1.0;
    let t = TestSim::start_with(scenario, Some("adele.vance@contoso.com")).await;
    let consent_app = t.consent_client();
    let filter = format!("v1.0/servicePrincipals?$filter=appId%20eq%20'{consent_app}'");

    let basic = user_token(&t, SCOPES).await;
    let (status, body, _) = graph(&t, &basic, &filter).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(body["error"]["innerError"]["client-request-id"], "crid-1");

    // The scenario pre-approved the setup tool to read the tenant.
    let reader = user_token(&t, "offline_access https://graph.microsoft.com/Application.Read.All").await;
    let (status, body, _) = graph(&t, &reader, &filter).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"], serde_json::json!([]), "no consent yet");

    t.admin_consent(&t.tenant_id()).await;
    let (_, body, _) = graph(&t, &reader, &filter).await;
    assert_eq!(body["value"], serde_json::json!([]), "consent not replicated yet");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (_, body, _) = graph(&t, &reader, &filter).await;
    assert_eq!(body["value"][0]["appId"], consent_app.as_str());

    let (status, body, _) = graph(&t, &reader, "v1.0/servicePrincipals?$filter=startswith(displayName,'M')").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
}

#[tokio::test]
async fn graph_refuses_missing_forged_and_wrong_audience_tokens() {
    let t = TestSim::start("happy", Some("adele.vance@contoso.com")).await;
    let (status, body, _) = graph(&t, "", "v1.0/me").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let teams = user_token(&t, "offline_access 48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation").await;
    let (status, _, _) = graph(&t, &teams, "v1.0/me").await;
    assert_eq!(status, 401, "a token for another resource is refused");
}
