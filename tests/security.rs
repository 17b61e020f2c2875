//! The OAuth security points of RFC 8252 and the OAuth 2.0 Security BCP that are not the loopback listener's page
//! handling (tests/loopback.rs): the listener closes when its wait is abandoned; the authorize request uses PKCE
//! S256 only; the token client follows no redirect; TLS verification is never turned off, so a client that trusts
//! the operating system refuses the simulator's certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should panic")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::TestSim;
use mspbots_setup::auth::loopback::{Loopback, Pages};
use mspbots_setup::auth::signin::{self, Endpoints, SignInRequest};
use mspbots_setup::http::{self, HttpConfig, Purpose, Trust};
use mspbots_setup::secret::Secret;
use mspbots_setup::wizard::{Failure, TransportKind};
use tokio::net::TcpStream;

#[tokio::test]
async fn an_abandoned_wait_closes_the_port_at_once() {
    let listener = Loopback::bind("127.0.0.1", "/").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let wait = tokio::spawn(listener.wait(Secret::new("s"), Pages { product: "MSPbots".into() }));
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_ok(), "listening while it waits");
    // The shell abandons a sign-in (cancel, timeout, a newer attempt) by aborting its task.
    wait.abort();
    let _aborted = wait.await;
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err(), "the port closes with the wait");
}

fn endpoints(base: &str) -> Endpoints {
    Endpoints {
        issuer: base.to_owned(),
        authorization: format!("{base}authorize"),
        token: format!("{base}token"),
        device_authorization: None,
        userinfo: None,
        government: None,
    }
}

#[tokio::test]
async fn the_authorize_request_uses_pkce_s256_state_and_nonce() {
    let request = SignInRequest {
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        scopes: vec!["openid".into(), "offline_access".into()],
        extra_consent: Vec::new(),
        prompt: Some("select_account".into()),
        login_hint: None,
        redirect_host: "localhost".into(),
        product: "MSPbots".into(),
    };
    let e = endpoints("https://login.example/");
    let a = signin::start_browser_sign_in(&e, &e.authorization, &request).await.unwrap();
    let b = signin::start_browser_sign_in(&e, &e.authorization, &request).await.unwrap();
    let params = |u: &str| -> std::collections::BTreeMap<String, String> {
        url::Url::parse(u).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    };
    let (pa, pb) = (params(&a.authorize_url), params(&b.authorize_url));
    assert_eq!(pa["code_challenge_method"], "S256");
    assert_eq!(pa["code_challenge"].len(), 43, "a SHA-256 challenge, base64url without padding");
    assert_eq!(pa["response_type"], "code");
    for name in ["code_challenge", "state", "nonce"] {
        assert!(pa[name].len() >= 16, "{name} is long enough to be unguessable");
        assert_ne!(pa[name], pb[name], "{name} is fresh for every sign-in");
    }
    let port = |u: &str| url::Url::parse(u).unwrap().port().unwrap();
    assert_ne!(port(&pa["redirect_uri"]), port(&pb["redirect_uri"]), "an ephemeral port per sign-in");
}

/// A token endpoint that redirects elsewhere, and the elsewhere, which must never be reached.
async fn redirecting_token_endpoint() -> (String, Arc<AtomicU32>) {
    use axum::routing::any;
    let reached = Arc::new(AtomicU32::new(0));
    let counter = reached.clone();
    let app = axum::Router::new()
        .route("/token", any(|| async { (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", "/stolen")]) }))
        .route(
            "/stolen",
            any(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { axum::Json(serde_json::json!({"access_token": "x", "token_type": "Bearer"})) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, reached)
}

#[tokio::test]
async fn the_token_client_follows_no_redirect() {
    let (base, reached) = redirecting_token_endpoint().await;
    let client = http::client(&HttpConfig::new(Purpose::Auth, Trust::System)).unwrap();
    let result = signin::refresh(&client, &endpoints(&base), "client", &Secret::new("rt"), &["openid".into()]).await;
    assert!(result.is_err(), "a redirect is not a token answer");
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the refresh token was not carried to the redirect's target");
}

#[tokio::test]
async fn the_operating_systems_trust_store_refuses_the_simulators_certificate() {
    let t = TestSim::start("happy", None).await;
    let url = format!("{}organizations/v2.0/.well-known/openid-configuration", t.sim.info().login_url);
    // The simulator's CA, trusted explicitly, works ...
    assert!(signin::discover(&t.client, &url).await.is_ok());
    // ... and nothing else makes its certificate acceptable: the system store refuses it.
    for purpose in [Purpose::Auth, Purpose::Api] {
        let system = http::client(&HttpConfig::new(purpose, Trust::System)).unwrap();
        match signin::discover(&system, &url).await {
            Err(Failure::Transport(e)) => assert_eq!(e.kind, TransportKind::Tls, "{e:?}"),
            other => panic!("expected a TLS failure, got {other:?}"),
        }
    }
}

#[test]
fn no_code_turns_tls_verification_off() {
    // A guard against a future shortcut: these are the switches reqwest and rustls offer for it.
    let forbidden = ["danger_accept_invalid", "dangerous()", "NoCertificateVerification", "tls_danger"];
    let mut stack = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                for word in forbidden {
                    assert!(!text.contains(word), "{} contains {word}", path.display());
                }
            }
        }
    }
    assert!(files > 50, "the scan saw the sources ({files} files)");
}

/// A refresh-token-like value a panic message might quote.
const PANIC_SECRET: &str = "0.AXEAsecretRefreshToken1234567890abcdefghijklmnopqrstuvwxyz_-ABCDEFG";

#[test]
fn a_panic_prints_no_secret() {
    if std::env::var_os("MSPBOTS_PANIC_CHILD").is_some() {
        mspbots_setup::diagnostics::install_panic_hook();
        panic!("the token endpoint answered with {PANIC_SECRET} and a JWT eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_panic_prints_no_secret", "--nocapture", "--test-threads=1"])
        .env("MSPBOTS_PANIC_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child panicked");
    assert!(stderr.contains("mspbots-setup stopped because of a bug at tests/security.rs"), "{stderr}");
    assert!(stderr.contains("the token endpoint answered with"), "the message is kept: {stderr}");
    assert!(!stderr.contains(PANIC_SECRET) && !stderr.contains("eyJhbGci"), "{stderr}");
}
