//! oauth2-rs, through our reqwest adapter, against the simulated tenant over loopback HTTPS: authorization code
//! with PKCE, refresh, device code, and Microsoft's full error body.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should panic")]

mod common;

use common::{TestSim, redirect_params};
use mspbots_setup::auth::{self, Authority, MsErrorResponse};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, RequestTokenError, Scope, TokenResponse as _,
};

const ADMIN: &str = "adele.vance@contoso.com";

fn authority(t: &TestSim) -> Authority {
    Authority { login_base: t.sim.info().login_url.clone(), tenant: "organizations".into() }
}

#[tokio::test]
async fn code_with_pkce_then_refresh_through_oauth2_rs() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let client = authority(&t)
        .public_client(&t.signin_client())
        .unwrap()
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:50505/".into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(["openid", "offline_access", "User.Read"].map(|s| Scope::new(s.into())))
        .add_extra_param("prompt", "select_account")
        .set_pkce_challenge(challenge)
        .url();
    assert!(url.as_str().contains("code_challenge_method=S256"));
    let params = redirect_params(&t.get(url.as_str()).await);
    assert_eq!(&params["state"], csrf.secret());

    let http = t.client.clone();
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&|r| auth::send(&http, r))
        .await
        .unwrap();
    assert_eq!(token.extra_fields().ext_expires_in, Some(3599));
    assert!(token.extra_fields().id_token.is_some());
    let rt = token.refresh_token().unwrap();
    let refreshed = client.exchange_refresh_token(rt).request_async(&|r| auth::send(&http, r)).await.unwrap();
    assert_ne!(refreshed.access_token().secret(), token.access_token().secret());
}

#[tokio::test]
async fn server_errors_keep_microsofts_codes_and_ids() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let client = authority(&t)
        .public_client(&t.signin_client())
        .unwrap()
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:50505/".into()).unwrap());
    let http = t.client.clone();
    let err = client
        .exchange_code(AuthorizationCode::new("not-a-code".into()))
        .add_extra_param("code_verifier", "x")
        .request_async(&|r| auth::send(&http, r))
        .await
        .unwrap_err();
    let RequestTokenError::ServerResponse(MsErrorResponse { error, error_codes, trace_id, correlation_id, .. }) = err
    else {
        panic!("expected a server error, got {err:?}");
    };
    assert_eq!(error, "invalid_grant");
    assert_eq!(error_codes, [9002313]);
    assert!(trace_id.is_some() && correlation_id.is_some());
}

#[tokio::test]
async fn device_code_through_oauth2_rs() {
    let t = TestSim::start("happy", Some(ADMIN)).await;
    let client = authority(&t).public_client(&t.signin_client()).unwrap();
    let http = t.client.clone();
    let details: oauth2::StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("User.Read".into()))
        .request_async(&|r| auth::send(&http, r))
        .await
        .unwrap();
    assert_eq!(details.user_code().secret().len(), 9);
    // Auto mode approves the code on the first poll, so no real wait is needed.
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&|r| auth::send(&http, r), |_| async {}, None)
        .await
        .unwrap();
    assert!(!token.access_token().secret().is_empty());
}

#[tokio::test]
async fn a_token_answer_cut_short_is_a_connection_failure_not_a_server_error() {
    use mspbots_setup::sim::scenario::{BodyFault, FaultSpec};
    let mut s = mspbots_setup::sim::scenario::load("happy").unwrap();
    s.faults.push(FaultSpec { endpoint: "token".into(), body: Some(BodyFault::Truncated), ..Default::default() });
    let t = TestSim::start_with(s, Some(ADMIN)).await;
    let endpoints = mspbots_setup::auth::signin::Endpoints {
        issuer: String::new(),
        authorization: t.login("organizations/oauth2/v2.0/authorize"),
        token: t.login("organizations/oauth2/v2.0/token"),
        device_authorization: None,
        userinfo: None,
        government: None,
    };
    let secret = mspbots_setup::secret::Secret::new("not-a-refresh-token");
    let failure = mspbots_setup::auth::signin::refresh(&t.client, &endpoints, &t.signin_client(), &secret, &[])
        .await
        .unwrap_err();
    assert_eq!(failure.code(), "transport", "{failure:?}");
    assert_eq!(t.sim.requests().iter().filter(|r| r.path.ends_with("/token")).count(), 1);
}
