//! The simulated identity platform over real loopback HTTPS: discovery, keys, the authorization-code flow with
//! PKCE (auto and interactive), refresh, device code, client credentials and admin consent, with Microsoft's
//! success and error shapes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use common::*;
use serde_json::Value;

const SIGNIN_SCOPES: &str = "openid profile offline_access https://graph.microsoft.com/User.Read";
const ADMIN: &str = "adele.vance@contoso.com";

#[tokio::test]
async fn discovery_has_every_field_msal_needs_and_points_back_at_the_simulator() {
    let t = TestSim::start("happy", None).await;
    let doc: Value = t.get(&t.login("organizations/v2.0/.well-known/openid-configuration")).await.json().await.unwrap();
    let base = t.sim.info().login_url.clone();
    for field in ["authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "jwks_uri", "issuer"] {
        assert!(doc[field].as_str().unwrap().starts_with(&base), "{field}: {doc:#}");
    }
    assert_eq!(doc["issuer"], format!("{base}{{tenantid}}/v2.0"));
    assert_eq!(doc["response_modes_supported"], serde_json::json!(["query", "fragment", "form_post"]));

    // A tenant asked for by domain answers with its GUID in every endpoint, as Microsoft does.
    let doc: Value = t.get(&t.login("contoso.com/v2.0/.well-known/openid-configuration")).await.json().await.unwrap();
    assert_eq!(doc["token_endpoint"], format!("{base}{}/oauth2/v2.0/token", t.tenant_id()));
    assert_eq!(doc["issuer"], format!("{base}{}/v2.0", t.tenant_id()));
}

#[tokio::test]
async fn unknown_tenant_is_aadsts90002() {
    let t = TestSim::start("happy", None).await;
    let r = t.get(&t.login("nowhere.example/v2.0/.well-known/openid-configuration")).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_aad_error(&body, "invalid_tenant", 90002);
    assert!(body["error_description"].as_str().unwrap().contains("nowhere.example"));
}

#[tokio::test]
async fn auth_code_with_pkce_issues_signed_tokens_with_the_documented_claims() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (url, verifier, state, nonce) = t.authorize_url("organizations", SIGNIN_SCOPES, &[("client_info", "1")]);
    let r = t.get(&url).await;
    assert_eq!(r.status(), 302);
    let params = redirect_params(&r);
    assert_eq!(params["state"], state);
    assert!(params.contains_key("session_state"));
    let client_info: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &params["client_info"]).unwrap(),
    )
    .unwrap();
    assert_eq!(client_info["utid"], t.tenant_id());

    let (status, body) = t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body["refresh_token"].is_string());
    // Named as asked (resource-qualified), which is what MSAL caches the token under.
    let mut scope: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    scope.sort_unstable();
    assert_eq!(scope, ["https://graph.microsoft.com/User.Read", "offline_access", "openid", "profile"], "{body:#}");

    let jwks: Value = t.get(&t.login("organizations/discovery/v2.0/keys")).await.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    assert!(
        verify_with_jwks(access, &jwks) && verify_with_jwks(id_token, &jwks),
        "signatures verify against the published keys"
    );

    let at = claims(access);
    assert_eq!(at["aud"], "https://graph.microsoft.com");
    assert_eq!(at["tid"], t.tenant_id());
    assert_eq!(at["preferred_username"], ADMIN);
    assert_eq!(at["ver"], "2.0");
    assert!(at["scp"].as_str().unwrap().split(' ').any(|s| s == "User.Read"));
    assert_eq!(at["wids"][0], "62e90394-69f5-4237-9190-012177145e10", "Global Administrator's role template id");
    let id = claims(id_token);
    assert_eq!(id["aud"], t.signin_client());
    assert_eq!(id["nonce"], nonce, "the id_token echoes the nonce verbatim");
    assert_eq!(id["iss"], format!("{}{}/v2.0", t.sim.info().login_url, t.tenant_id()));
    for claim in ["oid", "sub", "name", "tid"] {
        assert!(id[claim].is_string(), "id_token lacks {claim}");
    }
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_verifier_and_redirect() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (params, verifier) = t.auto_code("organizations", SIGNIN_SCOPES).await;
    let (status, _) = t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    assert_eq!(status, 200);
    let (status, body) = t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 54005);

    let (params, _) = t.auto_code("organizations", SIGNIN_SCOPES).await;
    let (wrong_verifier, _) = pkce();
    let (_, body) = t.redeem("organizations", &params["code"], &wrong_verifier, SIGNIN_SCOPES).await;
    assert_aad_error(&body, "invalid_grant", 501481);

    let (params, verifier) = t.auto_code("organizations", SIGNIN_SCOPES).await;
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &t.signin_client()),
                ("grant_type", "authorization_code"),
                ("code", &params["code"]),
                ("redirect_uri", "http://localhost:9999/"),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(status, 401, "invalid_client answers 401");
    assert_aad_error(&body, "invalid_client", 500112);
}

#[tokio::test]
async fn refresh_rotates_and_unconsented_scope_needs_consent() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (params, verifier) = t.auto_code("organizations", SIGNIN_SCOPES).await;
    let (_, first) = t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let client = t.signin_client();
    let (status, second) = t
        .token(
            "organizations",
            &[("client_id", &client), ("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", SIGNIN_SCOPES)],
        )
        .await;
    assert_eq!(status, 200, "{second:#}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "a new refresh token comes back");

    let (status, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "https://graph.microsoft.com/Mail.Read"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    // Mail.Read is not a permission the simulator's Graph offers, so it is refused as an invalid scope;
    // a real but unconsented one is refused as consent required.
    assert_eq!(body["error"], "invalid_scope", "{body:#}");
    let (status, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "https://graph.microsoft.com/User.Read.All"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "invalid_grant", 65001);
    assert_eq!(body["suberror"], "consent_required");
}

#[tokio::test]
async fn form_post_mode_answers_with_an_auto_submitting_form() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (url, verifier, state, _) = t.authorize_url("organizations", SIGNIN_SCOPES, &[("response_mode", "form_post")]);
    let r = t.get(&url).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("document.forms[0].submit()") && html.contains(&format!("action=\"{LOOPBACK}\"")), "{html}");
    let fields = hidden_inputs(&html);
    assert_eq!(fields["state"], state);
    let (status, _) = t.redeem("organizations", &fields["code"], &verifier, SIGNIN_SCOPES).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn interactive_pages_pick_an_account_then_ask_for_consent() {
    let t = TestSim::start("happy", None).await;
    let (url, verifier, state, _) = t.authorize_url("organizations", SIGNIN_SCOPES, &[]);
    let page = t.get(&url).await.text().await.unwrap();
    assert!(
        page.contains("Pick an account") && page.contains(ADMIN) && page.contains("megan.bowen@contoso.com"),
        "{page}"
    );
    let ctx = hidden_inputs(&page)["ctx"].clone();

    let consent =
        t.post_form(&t.login("organizations/login"), &[("ctx", &ctx), ("username", ADMIN)]).await.text().await.unwrap();
    assert!(
        consent.contains("Permissions requested") && consent.contains("Sign you in and read your profile"),
        "{consent}"
    );
    assert!(consent.contains("Consent on behalf of your organization"), "admins get the org-wide box");

    let r = t.post_form(&t.login("organizations/consent"), &[("ctx", &ctx), ("decision", "accept")]).await;
    assert_eq!(r.status(), 302);
    let params = redirect_params(&r);
    assert_eq!(params["state"], state);
    let (status, _) = t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    assert_eq!(status, 200);

    // Consent is remembered: the second sign-in goes straight back with a code.
    let (url, _, _, _) = t.authorize_url("organizations", SIGNIN_SCOPES, &[]);
    let page = t.get(&url).await.text().await.unwrap();
    let ctx = hidden_inputs(&page)["ctx"].clone();
    let r = t.post_form(&t.login("organizations/login"), &[("ctx", &ctx), ("username", ADMIN)]).await;
    assert_eq!(r.status(), 302);
    assert!(redirect_params(&r).contains_key("code"));
}

#[tokio::test]
async fn typing_an_unknown_account_stays_on_the_picker_with_a_message() {
    let t = TestSim::start("happy", None).await;
    let (url, _, _, _) = t.authorize_url("organizations", SIGNIN_SCOPES, &[]);
    let page = t.get(&url).await.text().await.unwrap();
    let ctx = hidden_inputs(&page)["ctx"].clone();
    let r = t.post_form(&t.login("organizations/login"), &[("ctx", &ctx), ("username", "ghost@contoso.com")]).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("couldn&#39;t find an account") && page.contains("Pick an account"), "{page}");
}

#[tokio::test]
async fn bad_client_or_redirect_shows_an_error_page_and_never_redirects() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (url, _, _, _) = t.authorize_url("organizations", SIGNIN_SCOPES, &[]);
    let bad_client = url.replace(&t.signin_client(), "00000000-1111-2222-3333-444444444444");
    let r = t.get(&bad_client).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("AADSTS700016"));

    for redirect in ["http://localhost:53111/other", "http://[::1]:53111/", "https://evil.example/"] {
        let bad_redirect = url.replace(&enc(LOOPBACK), &enc(redirect));
        let r = t.get(&bad_redirect).await;
        assert_eq!(r.status(), 400, "{redirect}");
        assert!(r.headers().get("location").is_none(), "{redirect}");
        assert!(r.text().await.unwrap().contains("AADSTS50011"), "{redirect}");
    }
    // Loopback redirect URIs match on any port, with or without the trailing slash.
    for redirect in ["http://localhost:1/", "http://localhost:65000"] {
        let ok = url.replace(&enc(LOOPBACK), &enc(redirect));
        assert_eq!(t.get(&ok).await.status(), 302, "{redirect}");
    }
}

#[tokio::test]
async fn device_code_flow_polls_then_succeeds_after_the_user_signs_in() {
    let mut scenario = mspbots_setup::sim::scenario::load("happy").unwrap();
    scenario.device_code.interval_secs = 2;
    let t = TestSim::start_with(scenario, None).await;
    let client = t.signin_client();
    let r = t
        .post_form(
            &t.login("organizations/oauth2/v2.0/devicecode"),
            &[("client_id", &client), ("scope", SIGNIN_SCOPES)],
        )
        .await;
    let dc: Value = r.json().await.unwrap();
    for field in ["device_code", "user_code", "verification_uri", "expires_in", "interval", "message"] {
        assert!(!dc[field].is_null(), "missing {field}: {dc:#}");
    }
    assert!(dc.get("verification_uri_complete").is_none(), "Microsoft does not return it");
    let device_code = dc["device_code"].as_str().unwrap();
    let poll = [
        ("client_id", client.as_str()),
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
    ];

    let (status, body) = t.token("organizations", &poll).await;
    assert_eq!(status, 400);
    assert_aad_error(&body, "authorization_pending", 70016);
    let (_, body) = t.token("organizations", &poll).await;
    assert_eq!(body["error"], "slow_down", "polling faster than the interval: {body:#}");

    // The user opens the verification page, enters the code, picks an account and accepts.
    let verification = dc["verification_uri"].as_str().unwrap();
    assert!(t.get(verification).await.text().await.unwrap().contains("Enter code"));
    let picker = t.post_form(verification, &[("otc", dc["user_code"].as_str().unwrap())]).await.text().await.unwrap();
    let ctx = hidden_inputs(&picker)["ctx"].clone();
    let consent =
        t.post_form(&t.login("organizations/login"), &[("ctx", &ctx), ("username", ADMIN)]).await.text().await.unwrap();
    assert!(consent.contains("Permissions requested"), "{consent}");
    let done = t
        .post_form(&t.login("organizations/consent"), &[("ctx", &ctx), ("decision", "accept")])
        .await
        .text()
        .await
        .unwrap();
    assert!(done.contains("You have signed in"), "{done}");

    // Bare `device_code` is MSAL Node's spelling.
    let (status, body) = t
        .token(
            "organizations",
            &[("client_id", client.as_str()), ("grant_type", "device_code"), ("device_code", device_code)],
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["preferred_username"], ADMIN);
    let (_, body) = t.token("organizations", &poll).await;
    assert_eq!(body["error"], "bad_verification_code", "a redeemed device code is spent: {body:#}");
}

#[tokio::test]
async fn device_code_decline_and_expiry_end_polling() {
    let mut scenario = mspbots_setup::sim::scenario::load("happy").unwrap();
    scenario.device_code.expires_in_secs = 1;
    let t = TestSim::start_with(scenario, None).await;
    let client = t.signin_client();
    let start = |t: &TestSim| {
        let url = t.login("organizations/oauth2/v2.0/devicecode");
        let client = client.clone();
        let http = t.client.clone();
        async move {
            let v: Value = http
                .post(url)
                .form(&[("client_id", client.as_str()), ("scope", SIGNIN_SCOPES)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let dc = start(&t).await;
    let picker = t
        .post_form(dc["verification_uri"].as_str().unwrap(), &[("otc", dc["user_code"].as_str().unwrap())])
        .await
        .text()
        .await
        .unwrap();
    let ctx = hidden_inputs(&picker)["ctx"].clone();
    t.post_form(&t.login("organizations/login"), &[("ctx", &ctx), ("username", ADMIN)]).await;
    let page = t
        .post_form(&t.login("organizations/consent"), &[("ctx", &ctx), ("decision", "cancel")])
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("declined"), "{page}");
    let (_, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "device_code"),
                ("device_code", dc["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_aad_error(&body, "authorization_declined", 70020);

    let dc = start(&t).await;
    t.sim.advance_clock(std::time::Duration::from_millis(1100));
    let (_, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &client),
                ("grant_type", "device_code"),
                ("device_code", dc["device_code"].as_str().unwrap()),
            ],
        )
        .await;
    assert_aad_error(&body, "expired_token", 70019);
}

#[tokio::test]
async fn admin_consent_grants_app_roles_that_client_credentials_then_carry() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let tenant = t.tenant_id();
    let (status, body) = t.client_credentials(&tenant).await;
    assert_eq!(status, 400, "before consent the app is not in the tenant");
    assert_aad_error(&body, "unauthorized_client", 700016);

    let params = t.admin_consent(&tenant).await;
    assert_eq!(params["admin_consent"], "True");
    assert_eq!(params["tenant"], tenant);
    assert_eq!(params["state"], "ac-1");
    assert_eq!(params["scope"], "https://graph.microsoft.com/.default");

    let (status, body) = t.client_credentials(&tenant).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let at = claims(body["access_token"].as_str().unwrap());
    let mut roles: Vec<&str> = at["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort_unstable();
    assert_eq!(roles, ["ProfilePhoto.Read.All", "TeamsAppInstallation.ReadWriteForUser.All", "User.Read.All"]);
    assert_eq!(at["idtyp"], "app");
}

#[tokio::test]
async fn client_credentials_errors_follow_microsoft() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let tenant = t.tenant_id();
    t.admin_consent(&tenant).await;
    let id = t.consent_client();
    let (status, body) = t
        .token(
            &tenant,
            &[
                ("client_id", &id),
                ("client_secret", "wrong"),
                ("grant_type", "client_credentials"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(status, 401);
    assert_aad_error(&body, "invalid_client", 7000215);
    let secret = t.sim.info().consent_client_secret.clone();
    let (_, body) = t
        .token(
            &tenant,
            &[
                ("client_id", &id),
                ("client_secret", &secret),
                ("grant_type", "client_credentials"),
                ("scope", "User.Read.All"),
            ],
        )
        .await;
    assert_aad_error(&body, "invalid_scope", 1002012);
    let (_, body) = t
        .token(
            "organizations",
            &[
                ("client_id", &id),
                ("client_secret", &secret),
                ("grant_type", "client_credentials"),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_aad_error(&body, "invalid_request", 50059);
    // client_secret_basic works too.
    let r = t
        .client
        .post(t.login(&format!("{tenant}/oauth2/v2.0/token")))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "https://graph.microsoft.com/.default")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A public client may not send a secret.
    let signin = t.signin_client();
    let (_, body) = t
        .token(
            "organizations",
            &[("client_id", &signin), ("client_secret", "x"), ("grant_type", "refresh_token"), ("refresh_token", "x")],
        )
        .await;
    assert_aad_error(&body, "invalid_client", 700025);
}

#[tokio::test]
async fn admin_consent_v1_and_cancel_shapes() {
    let t = TestSim::start("happy", None).await;
    let tenant = t.tenant_id();
    let url = format!(
        "{}?client_id={}&redirect_uri={}&state=v1",
        t.login(&format!("{tenant}/adminconsent")),
        t.consent_client(),
        enc(LOOPBACK)
    );
    let page = t.get(&url).await.text().await.unwrap();
    let ctx = hidden_inputs(&page)["ctx"].clone();
    let consent = t
        .post_form(&t.login(&format!("{tenant}/login")), &[("ctx", &ctx), ("username", ADMIN)])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        consent.contains("for all users in your organization") && consent.contains("application permission"),
        "{consent}"
    );
    let r = t.post_form(&t.login(&format!("{tenant}/consent")), &[("ctx", &ctx), ("decision", "cancel")]).await;
    let params = redirect_params(&r);
    assert_eq!(params.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(params.get("error_subcode").map(String::as_str), Some("cancel"));
    assert_eq!(params.get("state").map(String::as_str), Some("v1"));
    assert!(!params.contains_key("tenant"), "no tenant on errors");

    let page = t.get(&url).await.text().await.unwrap();
    let ctx = hidden_inputs(&page)["ctx"].clone();
    t.post_form(&t.login(&format!("{tenant}/login")), &[("ctx", &ctx), ("username", ADMIN)]).await;
    let r = t.post_form(&t.login(&format!("{tenant}/consent")), &[("ctx", &ctx), ("decision", "accept")]).await;
    let params = redirect_params(&r);
    assert_eq!(params["admin_consent"], "True");
    assert_eq!(params["tenant"], tenant);
    assert!(!params.contains_key("scope"), "v1 success carries no scope");
}

#[tokio::test]
async fn admin_consent_on_common_is_refused_like_microsoft() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let r = t
        .get(&format!(
            "{}?client_id={}&scope={}&redirect_uri={}&state=c",
            t.login("common/v2.0/adminconsent"),
            t.consent_client(),
            enc("https://graph.microsoft.com/.default"),
            enc(LOOPBACK)
        ))
        .await;
    let params = redirect_params(&r);
    assert_redirect_error(&params, "invalid_request", 900144);
    assert!(params["error_description"].contains("response_type"));
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_loudly() {
    let t = TestSim::start("happy", None).await;
    let r = t.get(&t.login("organizations/oauth2/v2.0/nonsense")).await;
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("/organizations/oauth2/v2.0/nonsense"));
    let r = t.get(&format!("{}v1.0/me/nonsense", t.sim.info().graph_url)).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("/v1.0/me/nonsense"));
    assert!(body["error"]["innerError"]["request-id"].is_string());
    let r = t.get(&t.login("organizations/oauth2/v2.0/token")).await;
    let body: Value = r.json().await.unwrap();
    assert_aad_error(&body, "invalid_request", 900561);
}

#[tokio::test]
async fn userinfo_answers_for_a_graph_token_and_refuses_others() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (params, verifier) = t.auto_code("organizations", SIGNIN_SCOPES).await;
    let (_, body) = t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    let url = format!("{}oidc/userinfo", t.sim.info().graph_url);
    let r = t.client.get(&url).bearer_auth(body["access_token"].as_str().unwrap()).send().await.unwrap();
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["name"], "Adele Vance");
    let r =
        t.client.get(&url).bearer_auth("forged.token.value").header("client-request-id", "abc").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["client-request-id"], "abc");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
}

#[tokio::test]
async fn recorder_sees_requests_and_wait_for_times_out_with_what_it_saw() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let (params, verifier) = t.auto_code("organizations", SIGNIN_SCOPES).await;
    t.redeem("organizations", &params["code"], &verifier, SIGNIN_SCOPES).await;
    let hit = t
        .sim
        .wait_for("a code redemption", SHORT, |r| r.form_value("grant_type") == Some("authorization_code"))
        .await
        .unwrap();
    assert_eq!(hit.status, 200);
    assert_eq!(hit.path, "/organizations/oauth2/v2.0/token");
    let err = t
        .sim
        .wait_for("a device code request", std::time::Duration::from_millis(200), |r| r.path.ends_with("/devicecode"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("oauth2/v2.0/token"), "{err}");
}
