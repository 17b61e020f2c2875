//! The simulated Graph endpoints the sign-in and consent steps read, with Microsoft's shapes, scope checks and
//! replication delay.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should panic")]

mod common;

use common::*;
use serde_json::Value;

const SCOPES: &str = "openid profile offline_access https://graph.microsoft.com/User.Read";

async fn user_token(t: &TestSim, scope: &str) -> String {
    t.user_token(scope).await
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
    t.sim.advance_clock(std::time::Duration::from_millis(1100));
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

async fn sized(users: u32) -> TestSim {
    let mut s = mspbots_setup::sim::scenario::load("happy").unwrap();
    s.directory.generated_users = users;
    TestSim::start_with(s, Some("adele.vance@contoso.com")).await
}

async fn send(t: &TestSim, token: &str, path_or_url: &str, eventual: bool) -> (u16, Value, reqwest::header::HeaderMap) {
    let url = if path_or_url.starts_with("https://") {
        path_or_url.to_owned()
    } else {
        format!("{}{path_or_url}", t.sim.info().graph_url)
    };
    let mut r = t.client.get(url).bearer_auth(token);
    if eventual {
        r = r.header("ConsistencyLevel", "eventual");
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
}

#[tokio::test]
async fn users_page_at_most_100_with_expand_and_999_without() {
    let t = sized(1500).await;
    let token = user_token(&t, TENANT_READ).await;
    let (status, body, _) = send(&t, &token, "v1.0/users?$top=999", false).await;
    assert_eq!(status, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 999);
    assert!(body["@odata.nextLink"].as_str().unwrap().contains("$skiptoken="));
    let q = "v1.0/users?$select=id,displayName,mail,jobTitle,accountEnabled,userType&$expand=manager($select=id,displayName)&$top=999";
    let (_, first, _) = send(&t, &token, q, false).await;
    let page = first["value"].as_array().unwrap();
    assert_eq!(page.len(), 100, "$expand caps pages at 100 (Graph known issue 13635)");
    assert!(page.iter().any(|u| u["manager"]["displayName"].is_string()));
    assert!(page.iter().all(|u| u.get("businessPhones").is_none()), "$select limits the properties");
    // Following nextLink verbatim reaches every user exactly once.
    let mut seen = std::collections::HashSet::new();
    let mut next = Some(q.to_owned());
    while let Some(link) = next {
        let (status, body, _) = send(&t, &token, &link, false).await;
        assert_eq!(status, 200);
        for u in body["value"].as_array().unwrap() {
            assert!(seen.insert(u["id"].as_str().unwrap().to_owned()), "a user twice");
        }
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 1505, "5 named members and 1,500 generated");
    let (status, body, _) = send(&t, &token, "v1.0/users?$top=1000", false).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.");
}

#[tokio::test]
async fn counting_needs_eventual_consistency() {
    let t = sized(40).await;
    let token = user_token(&t, TENANT_READ).await;
    let (status, body, _) = send(&t, &token, "v1.0/users/$count", false).await;
    assert_eq!(status, 400, "{body}");
    let (status, body, _) = send(&t, &token, "v1.0/users/$count", true).await;
    assert_eq!((status, body), (200, serde_json::json!(45)));
    let (status, body, _) = send(&t, &token, "v1.0/users?$count=true&$top=10", true).await;
    assert_eq!(status, 200);
    assert_eq!(body["@odata.count"], 45);
    let (_, page2, _) = send(&t, &token, body["@odata.nextLink"].as_str().unwrap(), true).await;
    assert!(page2.get("@odata.count").is_none(), "@odata.count only on the first page");
    let (status, _, _) = send(&t, &token, "v1.0/users?$count=true&$filter=accountEnabled%20eq%20false", true).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn prefixes_split_the_directory_without_case_and_with_odata_quotes() {
    let t = sized(300).await;
    let token = user_token(&t, TENANT_READ).await;
    let filter = |prefix: &str| format!("$filter=startswith(userPrincipalName,{prefix})");
    let (status, all, _) = send(&t, &token, "v1.0/users/$count", true).await;
    assert_eq!(status, 200);
    let mut sum = 0;
    for c in "abcdefghijklmnopqrstuvwxyz".chars() {
        let (status, n, _) = send(&t, &token, &format!("v1.0/users/$count?{}", filter(&format!("'{c}'"))), true).await;
        assert_eq!(status, 200, "{n}");
        sum += n.as_u64().unwrap();
    }
    assert_eq!(serde_json::json!(sum), all, "the first letters hold everyone");
    // Graph compares without case.
    let (_, lower, _) = send(&t, &token, &format!("v1.0/users/$count?{}", filter("'ad'")), true).await;
    let (_, upper, _) = send(&t, &token, &format!("v1.0/users/$count?{}", filter("'AD'")), true).await;
    assert_eq!(lower, upper);
    assert!(lower.as_u64().unwrap() >= 1, "adele.vance");
    // A quote inside a literal is doubled; a lone one is a bad filter.
    let (status, body, _) = send(&t, &token, &format!("v1.0/users?{}", filter("'o''brien'")), false).await;
    assert_eq!((status, body["value"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, body, _) = send(&t, &token, &format!("v1.0/users?{}", filter("'o'brien'")), false).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    // Paging a filtered query: every match once, in pages of the asked size.
    let (mut seen, mut next) = (0, Some(format!("v1.0/users?$top=7&{}", filter("'a'"))));
    while let Some(link) = next {
        let (status, body, _) = send(&t, &token, &link, false).await;
        assert_eq!(status, 200);
        let page = body["value"].as_array().unwrap();
        assert!(page.len() <= 7 && page.iter().all(|u| u["userPrincipalName"].as_str().unwrap().starts_with('a')));
        seen += page.len();
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let (_, a, _) = send(&t, &token, &format!("v1.0/users/$count?{}", filter("'a'")), true).await;
    assert_eq!(serde_json::json!(seen), a);
}

#[tokio::test]
async fn managers_photos_and_their_404s() {
    let t = sized(0).await;
    let token = user_token(&t, TENANT_READ).await;
    let (status, body, _) = send(&t, &token, "v1.0/users/alex.wilber@contoso.com/manager", false).await;
    assert_eq!(status, 200);
    assert_eq!(body["userPrincipalName"], "megan.bowen@contoso.com");
    let (status, body, _) = send(&t, &token, "v1.0/users/adele.vance@contoso.com/manager", false).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");

    let (status, meta, _) = send(&t, &token, "v1.0/users/adele.vance@contoso.com/photo", false).await;
    assert_eq!(status, 200);
    assert_eq!(meta["@odata.mediaContentType"], "image/jpeg");
    let r = t
        .client
        .get(format!("{}v1.0/users/adele.vance@contoso.com/photos/48x48/$value", t.sim.info().graph_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], &[0xff, 0xd8, 0xff], "a real JPEG");
    let (status, body, _) = send(&t, &token, "v1.0/users/adele.vance@contoso.com/photos/999x999/$value", false).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("ImageNotFound")));
}

#[tokio::test]
async fn users_without_photos_answer_image_not_found() {
    let mut s = mspbots_setup::sim::scenario::load("happy").unwrap();
    s.users.iter_mut().find(|u| u.upn.starts_with("alex")).unwrap().photo = false;
    let t = TestSim::start_with(s, Some("adele.vance@contoso.com")).await;
    let token = user_token(&t, TENANT_READ).await;
    let (status, body, _) = send(&t, &token, "v1.0/users/alex.wilber@contoso.com/photo/$value", false).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "ImageNotFound");
    // Directory.Read.All alone does not read photos (Microsoft's permission list for photos omits it).
    let dir_only = user_token(&t, "offline_access https://graph.microsoft.com/Directory.Read.All").await;
    let (status, body, _) = send(&t, &dir_only, "v1.0/users/adele.vance@contoso.com/photo", false).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("Authorization_RequestDenied")));
}

#[tokio::test]
async fn delta_pages_then_hands_out_a_delta_link() {
    let t = sized(450).await;
    let token = user_token(&t, TENANT_READ).await;
    let mut next = Some("v1.0/users/delta?$select=displayName,mail,manager".to_owned());
    let (mut users, mut delta) = (0, None);
    while let Some(link) = next {
        let (status, body, _) = send(&t, &token, &link, false).await;
        assert_eq!(status, 200);
        users += body["value"].as_array().unwrap().len();
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
        delta = body["@odata.deltaLink"].as_str().map(str::to_owned).or(delta);
    }
    assert_eq!(users, 455);
    let (_, changes, _) = send(&t, &token, &delta.unwrap(), false).await;
    assert_eq!(changes["value"], serde_json::json!([]), "nothing changed since");
}

async fn post_batch(t: &TestSim, token: &str, body: &Value) -> (u16, Value) {
    let r = t
        .client
        .post(format!("{}v1.0/$batch", t.sim.info().graph_url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn batches_hold_20_unique_requests_and_fail_dependents_with_424() {
    let t = sized(0).await;
    let token = user_token(&t, TENANT_READ).await;
    let too_many: Vec<Value> =
        (0..21).map(|i| serde_json::json!({ "id": i.to_string(), "method": "GET", "url": "/me" })).collect();
    let (status, body) = post_batch(&t, &token, &serde_json::json!({ "requests": too_many })).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("maximum of 20"));
    let dup = serde_json::json!({ "requests": [{ "id": "1", "method": "GET", "url": "/me" }, { "id": "1", "method": "GET", "url": "/me" }] });
    assert_eq!(post_batch(&t, &token, &dup).await.0, 400);

    let mixed = serde_json::json!({ "requests": [
        { "id": "me", "method": "GET", "url": "/me" },
        { "id": "nobody", "method": "GET", "url": "/users/nobody@contoso.com/manager" },
        { "id": "after", "method": "GET", "url": "/me", "dependsOn": ["nobody"] },
        { "id": "photo", "method": "GET", "url": "/users/adele.vance@contoso.com/photos/48x48/$value" },
    ]});
    let (status, body) = post_batch(&t, &token, &mixed).await;
    assert_eq!(status, 200, "the batch is fine even when items fail");
    let by_id = |id: &str| body["responses"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by_id("me")["status"], 200);
    assert_eq!(by_id("nobody")["status"], 404);
    assert_eq!(by_id("after")["status"], 424);
    let photo = by_id("photo");
    assert_eq!(photo["headers"]["Content-Type"], "image/jpeg");
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, photo["body"].as_str().unwrap()).unwrap();
    assert_eq!(&bytes[..2], &[0xff, 0xd8], "binary bodies are base64 in batches");
}

#[tokio::test]
async fn grants_and_the_graph_principal_name_every_permission() {
    let t = sized(0).await;
    let token = user_token(&t, TENANT_READ).await;
    t.admin_consent(&t.tenant_id()).await;
    let filter = format!("v1.0/servicePrincipals?$filter=appId%20eq%20'{}'", t.consent_client());
    let (_, sps, _) = send(&t, &token, &filter, false).await;
    let sp = sps["value"][0]["id"].as_str().unwrap().to_owned();
    let (status, roles, _) = send(&t, &token, &format!("v1.0/servicePrincipals/{sp}/appRoleAssignments"), false).await;
    assert_eq!(status, 200);
    let role_ids: Vec<&str> =
        roles["value"].as_array().unwrap().iter().map(|a| a["appRoleId"].as_str().unwrap()).collect();
    assert!(role_ids.contains(&"df021288-bdef-4463-88db-98f22de89214"), "User.Read.All's real id");
    assert_eq!(roles["value"][0]["principalType"], "ServicePrincipal");
    let resource = roles["value"][0]["resourceId"].as_str().unwrap().to_owned();
    let (_, grants, _) =
        send(&t, &token, &format!("v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp}'"), false).await;
    assert_eq!(grants["value"][0]["consentType"], "AllPrincipals");
    assert!(grants["value"][0]["scope"].as_str().unwrap().split(' ').any(|s| s == "User.Read"));
    let (status, graph_sp, _) = send(
        &t,
        &token,
        "v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appRoles,oauth2PermissionScopes",
        false,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(graph_sp["id"], resource.as_str(), "the assignment's resourceId is the Graph principal of this tenant");
    let role = graph_sp["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "df021288-bdef-4463-88db-98f22de89214")
        .unwrap();
    assert_eq!(role["value"], "User.Read.All");
    assert!(graph_sp["oauth2PermissionScopes"].as_array().unwrap().iter().any(|s| s["value"] == "User.Read"));
    let (status, body, _) =
        send(&t, &token, "v1.0/servicePrincipals(appId='11111111-2222-3333-4444-555555555555')", false).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("Request_ResourceNotFound")));
}

#[tokio::test]
async fn subscribed_skus_carry_the_teams_plan() {
    let t = sized(0).await;
    let token = user_token(&t, TENANT_READ).await;
    let (status, body, _) = send(&t, &token, "v1.0/subscribedSkus", false).await;
    assert_eq!(status, 200);
    let e3 = body["value"].as_array().unwrap().iter().find(|s| s["skuPartNumber"] == "SPE_E3").unwrap();
    assert_eq!(e3["consumedUnits"], 4, "Adele, Patti, Lee and Megan");
    assert!(e3["servicePlans"].as_array().unwrap().iter().any(|p| p["servicePlanName"] == "TEAMS1"));
}
