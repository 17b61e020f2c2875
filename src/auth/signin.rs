//! Signing in, one network conversation per function: OpenID discovery, the browser flow (authorization code with
//! PKCE S256 caught by the loopback listener), device code (request, one poll), refresh, and admin consent.
//!
//! Everything speaks standard OAuth 2.0 / OpenID Connect, so a conformant provider other than Microsoft works for
//! sign-in too; Microsoft's extra error fields are kept when present. The shell decides when to call what.

use std::time::Duration;

use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse as _, TokenUrl,
};
use serde::Deserialize;
use serde_json::Value;

use super::loopback::{Callback, Loopback, Pages};
use super::{ExchangeError, MsClient, MsErrorResponse, MsTokenResponse, exchanger};
use crate::secret::Secret;
use crate::wizard::{ConsentEndpoint, ConsentGrant, Failure, IdentityError, LocalFailure};

/// The identity provider's endpoints, from its discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization: String,
    pub token: String,
    pub device_authorization: Option<String>,
    /// The OpenID Connect userinfo endpoint, if offered.
    pub userinfo: Option<String>,
    /// A US government tenant's `tenant_region_sub_scope` (`GCC`, `DODCON`, `DOD`); `None` for others.
    pub government: Option<String>,
}

/// Reads `…/.well-known/openid-configuration`.
pub async fn discover(http: &reqwest::Client, url: &str) -> Result<Endpoints, Failure> {
    let crate::http::Fetched { status, body, .. } = crate::http::fetch(http.get(url)).await?;
    if !status.is_success() {
        return Err(error_body(&body, "discovery").unwrap_or_else(|| Failure::Parse {
            what: format!("discovery document ({status})"),
            excerpt: excerpt(&body),
        }));
    }
    let doc: Value = serde_json::from_slice(&body).map_err(|e| Failure::Parse {
        what: "discovery document".into(),
        excerpt: format!("{e}: {}", excerpt(&body)),
    })?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_owned);
    let missing = |name: &str| Failure::Parse {
        what: "discovery document".into(),
        excerpt: format!("it has no '{name}' (from {url})"),
    };
    Ok(Endpoints {
        issuer: field("issuer").ok_or_else(|| missing("issuer"))?,
        authorization: field("authorization_endpoint").ok_or_else(|| missing("authorization_endpoint"))?,
        token: field("token_endpoint").ok_or_else(|| missing("token_endpoint"))?,
        device_authorization: field("device_authorization_endpoint"),
        userinfo: field("userinfo_endpoint"),
        government: field("tenant_region_sub_scope"),
    })
}

/// The start of a body that is known to hold no secret (error bodies, discovery documents).
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// An OAuth error body (`{"error": ...}`), if `body` is one.
pub fn error_body(body: &[u8], source: &str) -> Option<Failure> {
    let e: MsErrorResponse = serde_json::from_slice(body).ok()?;
    Some(identity_failure(e, source))
}

/// The identity platform's error as the wizard's failure.
pub fn identity_failure(e: MsErrorResponse, source: &str) -> Failure {
    let mut codes = e.error_codes;
    if codes.is_empty()
        && let Some(code) = e.error_description.as_deref().and_then(aadsts_prefix)
    {
        codes.push(code);
    }
    Failure::Identity(IdentityError {
        error: e.error,
        error_codes: codes,
        suberror: e.suberror,
        description: e.error_description,
        trace_id: e.trace_id,
        correlation_id: e.correlation_id,
        timestamp: e.timestamp,
        error_uri: e.error_uri,
        source: source.to_owned(),
    })
}

/// `AADSTS65004: …` → 65004.
fn aadsts_prefix(description: &str) -> Option<u32> {
    let rest = description.trim_start().strip_prefix("AADSTS")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The line `label: value` of an AADSTS description (`Trace ID`, `Correlation ID`, `Timestamp`).
fn description_field(description: &str, label: &str) -> Option<String> {
    description
        .lines()
        .find_map(|l| l.trim().strip_prefix(label).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_owned()))
}

/// An error redirect (`?error=…&error_description=…`) as the wizard's failure.
pub fn redirect_failure(callback: &Callback, source: &str) -> Failure {
    let description = callback.get("error_description").map(str::to_owned);
    let mut codes: Vec<u32> = description.as_deref().and_then(aadsts_prefix).into_iter().collect();
    let mut suberror = None;
    // The v1 endpoint reports Cancel as `error_subcode=cancel` with no description (observed).
    if callback.get("error_subcode") == Some("cancel") {
        suberror = Some("cancel".to_owned());
        if codes.is_empty() {
            codes.push(65004);
        }
    }
    let field = |label: &str| description.as_deref().and_then(|d| description_field(d, label));
    Failure::Identity(IdentityError {
        error: callback.get("error").unwrap_or("unknown_error").to_owned(),
        error_codes: codes,
        suberror,
        trace_id: field("Trace ID"),
        correlation_id: field("Correlation ID"),
        timestamp: field("Timestamp"),
        description,
        error_uri: callback.get("error_uri").map(str::to_owned),
        source: source.to_owned(),
    })
}

/// Claims of an id token that say who signed in. Read for display only: the token came straight from the token
/// endpoint over verified TLS (OpenID Connect Core §3.1.3.7).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct IdClaims {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    /// Directory role template ids (Microsoft emits them when the app asks for them).
    #[serde(default)]
    pub wids: Vec<String>,
    /// The identity provider that authenticated the account, when it is not the token's issuer: the home tenant
    /// (`https://sts.windows.net/{tenant id}/`) of an account of another directory (a guest, or a partner's agent
    /// signed in by GDAP).
    #[serde(default)]
    pub idp: Option<String>,
}

impl IdClaims {
    /// The account's home tenant id, when it is not the tenant signed in to (from `idp`).
    pub fn home_tenant_elsewhere(&self) -> Option<String> {
        let idp = self.idp.as_deref()?;
        let home = idp.trim_end_matches('/').rsplit('/').next()?.to_ascii_lowercase();
        (crate::profile::is_guid(&home) && self.tid.as_deref().is_none_or(|t| !t.eq_ignore_ascii_case(&home)))
            .then_some(home)
    }
}

/// Reads the userinfo endpoint with an access token (providers that keep profile claims out of the id token).
pub async fn userinfo(http: &reqwest::Client, endpoints: &Endpoints, access_token: &Secret) -> Option<IdClaims> {
    let url = endpoints.userinfo.as_deref()?;
    let answer = crate::http::fetch(http.get(url).bearer_auth(access_token.expose())).await.ok()?;
    if !answer.status.is_success() {
        return None;
    }
    serde_json::from_slice(&answer.body).ok()
}

impl IdClaims {
    /// Fills what `self` lacks from `other`.
    pub fn merge(&mut self, other: Self) {
        let fill = |mine: &mut Option<String>, theirs: Option<String>| {
            if mine.is_none() {
                *mine = theirs;
            }
        };
        fill(&mut self.name, other.name);
        fill(&mut self.preferred_username, other.preferred_username);
        fill(&mut self.email, other.email);
        fill(&mut self.upn, other.upn);
        fill(&mut self.oid, other.oid);
        fill(&mut self.sub, other.sub);
        fill(&mut self.tid, other.tid);
        fill(&mut self.idp, other.idp);
    }
}

fn parse_id_token(token: &str) -> Option<IdClaims> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The result of a sign-in or refresh. Tokens are secrets; only the claims are plain.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Duration,
    /// Granted scopes, as the provider listed them.
    pub scopes: Vec<String>,
    pub id_claims: Option<IdClaims>,
}

fn tokens_from(response: &MsTokenResponse) -> Tokens {
    Tokens {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response.refresh_token().map(|t| Secret::new(t.secret().clone())),
        expires_in: response.expires_in().unwrap_or(Duration::from_secs(3600)),
        scopes: response.scopes().map(|s| s.iter().map(|x| x.to_string()).collect()).unwrap_or_default(),
        id_claims: response.extra_fields().id_token.as_ref().and_then(|t| parse_id_token(t.secret())),
    }
}

fn token_failure(err: RequestTokenError<ExchangeError, MsErrorResponse>) -> Failure {
    match err {
        RequestTokenError::ServerResponse(e) => identity_failure(e, "token endpoint"),
        RequestTokenError::Request(ExchangeError::Transport(e)) => crate::http::transport_failure(&e),
        RequestTokenError::Request(ExchangeError::Response(e)) => {
            Failure::Parse { what: "token endpoint answer".into(), excerpt: e.to_string() }
        }
        // The body of an unreadable token answer may hold a token: name the problem, not the body.
        RequestTokenError::Parse(e, _body) => {
            Failure::Parse { what: "token endpoint answer".into(), excerpt: e.to_string() }
        }
        RequestTokenError::Other(text) => Failure::Parse { what: "token endpoint answer".into(), excerpt: text },
    }
}

/// What a browser sign-in asks for.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    pub client_id: String,
    /// What the tokens are for (one resource).
    pub scopes: Vec<String>,
    /// Scopes of other resources to ask consent for now, so their tokens come later without a prompt
    /// (MSAL's `extraScopesToConsent`; the token endpoint serves one resource per request).
    pub extra_consent: Vec<String>,
    /// `select_account`, `consent`, …
    pub prompt: Option<String>,
    pub login_hint: Option<String>,
    /// `localhost` or `127.0.0.1`, as registered on the app.
    pub redirect_host: String,
    /// The product name for the listener's pages.
    pub product: String,
}

/// A browser sign-in under way: the URL to open, and what is needed to finish it.
pub struct BrowserSignIn {
    /// The authorize URL (open it, and show it with Copy).
    pub authorize_url: String,
    listener: Loopback,
    state: Secret,
    nonce: Secret,
    verifier: PkceCodeVerifier,
    client: MsClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    product: String,
    /// The token's scopes, sent again when the code is redeemed (only when consent covered more resources).
    redeem_scopes: Option<Vec<String>>,
}

impl std::fmt::Debug for BrowserSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSignIn").field("authorize_url", &self.authorize_url).finish_non_exhaustive()
    }
}

fn bad_url(what: &str, url: &str) -> Failure {
    Failure::Parse { what: format!("{what} URL"), excerpt: url.to_owned() }
}

/// Binds the loopback listener and builds the authorize URL (PKCE S256, random `state` and `nonce`,
/// `response_mode=query`). `authorization_endpoint` is where people's browsers go (in demo mode the simulator's
/// plain-HTTP front door); tokens are redeemed at `endpoints.token`.
pub async fn start_browser_sign_in(
    endpoints: &Endpoints,
    authorization_endpoint: &str,
    request: &SignInRequest,
) -> Result<BrowserSignIn, Failure> {
    let listener = Loopback::bind(&request.redirect_host, "/")
        .await
        .map_err(|e| Failure::Local(LocalFailure::ListenerUnavailable { detail: e.to_string() }))?;
    let redirect = listener.redirect_uri();
    let client = MsClient::new(ClientId::new(request.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(authorization_endpoint.to_owned())
                .map_err(|_| bad_url("authorize", authorization_endpoint))?,
        )
        .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(|_| bad_url("token", &endpoints.token))?)
        .set_redirect_uri(RedirectUrl::new(redirect.clone()).map_err(|_| bad_url("redirect", &redirect))?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = CsrfToken::new_random();
    let nonce = CsrfToken::new_random();
    let mut builder = client
        .authorize_url(|| state.clone())
        .add_scopes(request.scopes.iter().chain(&request.extra_consent).map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge)
        .add_extra_param("response_mode", "query")
        .add_extra_param("nonce", nonce.secret().clone());
    if let Some(prompt) = &request.prompt {
        builder = builder.add_extra_param("prompt", prompt.clone());
    }
    if let Some(hint) = &request.login_hint {
        builder = builder.add_extra_param("login_hint", hint.clone());
    }
    let (url, _) = builder.url();
    Ok(BrowserSignIn {
        authorize_url: url.to_string(),
        listener,
        state: Secret::new(state.secret().clone()),
        nonce: Secret::new(nonce.secret().clone()),
        verifier,
        client,
        product: request.product.clone(),
        // Without extra consent the code's scopes are the token's; with it, say which resource the token is for.
        redeem_scopes: (!request.extra_consent.is_empty()).then(|| request.scopes.clone()),
    })
}

impl BrowserSignIn {
    /// The redirect URI this sign-in uses.
    pub fn redirect_uri(&self) -> String {
        self.listener.redirect_uri()
    }

    /// Waits for the redirect and redeems the code. Runs until the redirect comes; the caller bounds it.
    pub async fn finish(self, http: &reqwest::Client) -> Result<Tokens, Failure> {
        let Self { listener, state, nonce, verifier, client, product, redeem_scopes, .. } = self;
        let callback = listener.wait(state, Pages { product }).await;
        if callback.get("error").is_some() {
            return Err(redirect_failure(&callback, "sign-in redirect"));
        }
        let Some(code) = callback.get("code") else {
            return Err(Failure::Parse {
                what: "sign-in redirect".into(),
                excerpt: "it carried neither a code nor an error".into(),
            });
        };
        let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_owned())).set_pkce_verifier(verifier);
        if let Some(scopes) = redeem_scopes {
            exchange = exchange.add_extra_param("scope", scopes.join(" "));
        }
        let response = exchange.request_async(&exchanger(http)).await.map_err(token_failure)?;
        let tokens = tokens_from(&response);
        if let Some(claims) = &tokens.id_claims
            && claims.nonce.as_deref().is_some_and(|n| !nonce.ct_eq(n))
        {
            return Err(Failure::Local(LocalFailure::TokenMismatch {
                detail: "the id token's nonce is not the one this sign-in sent".into(),
            }));
        }
        Ok(tokens)
    }
}

/// Redeems a refresh token for `scopes` (the provider returns a new refresh token too).
pub async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    refresh_token: &Secret,
    scopes: &[String],
) -> Result<Tokens, Failure> {
    let client = MsClient::new(ClientId::new(client_id.to_owned()))
        .set_token_uri(TokenUrl::new(endpoints.token.clone()).map_err(|_| bad_url("token", &endpoints.token))?);
    let rt = RefreshToken::new(refresh_token.expose().to_owned());
    let response = client
        .exchange_refresh_token(&rt)
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(&exchanger(http))
        .await
        .map_err(token_failure)?;
    Ok(tokens_from(&response))
}

/// A device code grant: the code to show, and the secret device code to poll with.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub message: String,
    pub expires_in: Duration,
    pub interval: Duration,
}

#[derive(Deserialize)]
struct DeviceCodeBody {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
    #[serde(default)]
    message: Option<String>,
}

/// Asks the device authorization endpoint for a code.
pub async fn request_device_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    scopes: &[String],
) -> Result<DeviceCode, Failure> {
    let Some(url) = &endpoints.device_authorization else {
        return Err(Failure::Parse {
            what: "discovery document".into(),
            excerpt: "the identity provider offers no device code sign-in (no device_authorization_endpoint)".into(),
        });
    };
    let form = [("client_id", client_id.to_owned()), ("scope", scopes.join(" "))];
    let crate::http::Fetched { status, body, .. } = crate::http::fetch(http.post(url).form(&form)).await?;
    if !status.is_success() {
        return Err(error_body(&body, "device code endpoint").unwrap_or_else(|| Failure::Parse {
            what: format!("device code answer ({status})"),
            excerpt: excerpt(&body),
        }));
    }
    let parsed: DeviceCodeBody = serde_json::from_slice(&body)
        .map_err(|e| Failure::Parse { what: "device code answer".into(), excerpt: e.to_string() })?;
    let message = parsed.message.unwrap_or_else(|| {
        format!("To sign in, open {} and enter the code {}.", parsed.verification_uri, parsed.user_code)
    });
    Ok(DeviceCode {
        device_code: Secret::new(parsed.device_code),
        user_code: parsed.user_code,
        verification_uri: parsed.verification_uri,
        message,
        expires_in: Duration::from_secs(parsed.expires_in),
        interval: Duration::from_secs(parsed.interval.unwrap_or(5).max(1)),
    })
}

/// One poll's answer.
#[derive(Debug)]
pub enum PollAnswer {
    Pending,
    SlowDown,
    Tokens(Tokens),
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
}

/// Polls the token endpoint once for a device code. (oauth2-rs polls in a loop with its own sleeps; the wizard
/// owns the schedule, so this is one request.)
pub async fn poll_device_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    client_id: &str,
    device_code: &Secret,
) -> Result<PollAnswer, Failure> {
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", client_id),
        ("device_code", device_code.expose()),
    ];
    let crate::http::Fetched { status, body, .. } = crate::http::fetch(http.post(&endpoints.token).form(&form)).await?;
    if status.is_success() {
        let t: TokenBody = serde_json::from_slice(&body)
            .map_err(|e| Failure::Parse { what: "token endpoint answer".into(), excerpt: e.to_string() })?;
        return Ok(PollAnswer::Tokens(Tokens {
            access_token: Secret::new(t.access_token),
            refresh_token: t.refresh_token.map(Secret::new),
            expires_in: Duration::from_secs(t.expires_in.unwrap_or(3600)),
            scopes: t.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default(),
            id_claims: t.id_token.as_deref().and_then(parse_id_token),
        }));
    }
    match error_body(&body, "token endpoint") {
        Some(Failure::Identity(e)) if e.error == "authorization_pending" => Ok(PollAnswer::Pending),
        Some(Failure::Identity(e)) if e.error == "slow_down" => Ok(PollAnswer::SlowDown),
        Some(failure) => Err(failure),
        None => Err(Failure::Parse { what: format!("token endpoint answer ({status})"), excerpt: excerpt(&body) }),
    }
}

/// Where the admin-consent redirect goes.
#[derive(Debug, Clone)]
pub enum ConsentRedirectTo {
    /// Back to a loopback listener on this host name and path.
    Loopback { host: String, path: String },
    /// To this registered URI elsewhere.
    External { uri: String },
}

/// What admin consent asks for.
#[derive(Debug, Clone)]
pub struct ConsentRequest {
    /// The identity platform's base as browsers reach it, ending in `/`.
    pub login_browser_base: String,
    /// Graph's resource identifier: the v2 page asks for `{graph_resource}/.default`.
    pub graph_resource: String,
    pub tenant_id: String,
    pub client_id: String,
    pub endpoint: ConsentEndpoint,
    pub redirect: ConsentRedirectTo,
    pub product: String,
}

/// An admin-consent page opened or about to be: its URL and, for loopback redirects, the listener.
pub struct PendingConsent {
    pub url: String,
    listener: Option<Loopback>,
    state: Secret,
    product: String,
}

impl std::fmt::Debug for PendingConsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConsent").field("url", &self.url).field("loopback", &self.listener.is_some()).finish()
    }
}

/// Builds the admin-consent URL (v2 with `/.default`, or v1) with a random `state`, binding a listener when the
/// redirect comes back here.
pub async fn start_admin_consent(request: &ConsentRequest) -> Result<PendingConsent, Failure> {
    let state = CsrfToken::new_random().secret().clone();
    let (listener, redirect_uri) = match &request.redirect {
        ConsentRedirectTo::Loopback { host, path } => {
            let l = Loopback::bind(host, path)
                .await
                .map_err(|e| Failure::Local(LocalFailure::ListenerUnavailable { detail: e.to_string() }))?;
            let uri = l.redirect_uri();
            (Some(l), uri)
        }
        ConsentRedirectTo::External { uri } => (None, uri.clone()),
    };
    let base = &request.login_browser_base;
    let tenant = &request.tenant_id;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", &request.client_id);
    if request.endpoint == ConsentEndpoint::V2 {
        query.append_pair("scope", &format!("{}/.default", request.graph_resource));
    }
    query.append_pair("redirect_uri", &redirect_uri).append_pair("state", &state);
    let path = match request.endpoint {
        ConsentEndpoint::V2 => "v2.0/adminconsent",
        ConsentEndpoint::V1 => "adminconsent",
    };
    Ok(PendingConsent {
        url: format!("{base}{tenant}/{path}?{}", query.finish()),
        listener,
        state: Secret::new(state),
        product: request.product.clone(),
    })
}

/// Looks at the admin-consent page once, as the browser would get it, before anyone is sent there: Microsoft
/// refuses an unknown app id or an unregistered reply address on that very first request (AADSTS700016, 50011,
/// 500113) with an error page instead of a sign-in page. Only an error status carrying an AADSTS code counts;
/// anything else (a sign-in page, a redirect) is left to the browser.
pub async fn preflight(http: &reqwest::Client, url: &str) -> Result<(), Failure> {
    let crate::http::Fetched { status, body, .. } = crate::http::fetch(http.get(url)).await?;
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(256 * 1024)]);
    let Some((code, line)) = find_aadsts(&text) else {
        return Ok(());
    };
    Err(Failure::Identity(IdentityError {
        error: "invalid_request".into(),
        error_codes: vec![code],
        description: Some(line),
        source: "Microsoft's consent page, before sign-in".into(),
        ..IdentityError::default()
    }))
}

/// The first `AADSTSnnnnn` in a page, and the text after it up to the end of its sentence or markup.
fn find_aadsts(text: &str) -> Option<(u32, String)> {
    let start = text.find("AADSTS")?;
    let rest = &text[start..];
    let digits: String = rest["AADSTS".len()..].chars().take_while(char::is_ascii_digit).collect();
    let code = digits.parse().ok().filter(|_| (5..=7).contains(&digits.len()))?;
    let line: String = rest.chars().take_while(|c| *c != '<' && *c != '\n' && *c != '"').take(300).collect();
    Some((code, line))
}

impl PendingConsent {
    /// True when the redirect comes back to this computer.
    pub fn catches_redirect(&self) -> bool {
        self.listener.is_some()
    }

    /// Waits for the consent redirect. Without a listener it never finishes (the wizard watches the tenant).
    pub async fn finish(self) -> Result<ConsentGrant, Failure> {
        let Some(listener) = self.listener else {
            return std::future::pending().await;
        };
        let callback = listener.wait(self.state, Pages { product: self.product }).await;
        if callback.get("error").is_some() {
            return Err(redirect_failure(&callback, "admin consent redirect"));
        }
        if callback.get("admin_consent").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Ok(ConsentGrant {
                tenant_id: callback.get("tenant").map(str::to_owned),
                scope: callback.get("scope").map(str::to_owned),
            });
        }
        Err(Failure::Parse {
            what: "admin consent redirect".into(),
            excerpt: "it carried neither admin_consent=True nor an error".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_description_fields_are_read() {
        let d = "AADSTS65004: User declined to consent to access the app.\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-01-01 00:00:00Z";
        assert_eq!(aadsts_prefix(d), Some(65004));
        assert_eq!(description_field(d, "Trace ID").as_deref(), Some("t-1"));
        assert_eq!(description_field(d, "Correlation ID").as_deref(), Some("c-1"));
        assert_eq!(description_field(d, "Timestamp").as_deref(), Some("2026-01-01 00:00:00Z"));
        assert_eq!(aadsts_prefix("nothing"), None);
    }

    #[test]
    fn aadsts_codes_are_found_in_pages() {
        let (code, line) =
            find_aadsts("<p class=\"details\">AADSTS50011: The redirect URI 'x' does not match.</p>").unwrap();
        assert_eq!(code, 50011);
        assert!(line.starts_with("AADSTS50011: The redirect URI"));
        assert!(find_aadsts("<p>Sign in</p>").is_none());
        assert!(find_aadsts("AADSTS12").is_none(), "too short to be a code");
    }

    #[test]
    fn id_token_claims_are_read_without_padding() {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            br#"{"name":"A","preferred_username":"a@b","tid":"t","wids":["62e90394-69f5-4237-9190-012177145e10"]}"#,
        );
        let c = parse_id_token(&format!("h.{payload}.s")).unwrap();
        assert_eq!(c.preferred_username.as_deref(), Some("a@b"));
        assert_eq!(c.wids.len(), 1);
        assert!(parse_id_token("garbage").is_none());
    }
}
