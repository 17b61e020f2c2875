//! The simulated `login.microsoftonline.com` v2.0: discovery and keys, the authorize endpoint with its sign-in
//! and consent pages, the token endpoint (authorization code + PKCE, refresh, device code, client credentials),
//! the device-code endpoint and pages, and both admin-consent endpoints.
//!
//! Shapes come from Microsoft's documentation and recorded traffic (`docs/microsoft-apis.md` A1-A5
//! and its MSAL appendix), never from the product's client types. Handlers decide under the state lock and apply
//! a fault's delay after releasing it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::aad::{AadError, Ctx};
use super::directory::{Account, ConsentPower, Directory, TenantPath};
use super::html::{self, ConsentLine, PickerAccount};
use super::resources::{self, GRAPH, Resource, ScopeItem, parse_scope};
use super::scenario::{AppSpec, ConsentDecision, PermissionKind};
use super::{FaultHit, FaultProbe, Shared, State as SimState, clock};

/// How long an authorization code may wait before redemption (Microsoft: about ten minutes).
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// Access-token lifetime in seconds (`expires_in`).
const ACCESS_TOKEN_SECS: u64 = 3599;

/// In-flight sign-ins and the grants they produced.
#[derive(Debug, Default)]
pub struct Flows {
    interactions: HashMap<String, Interaction>,
    codes: HashMap<String, IssuedCode>,
    device: HashMap<String, DeviceGrant>,
}

/// Query or form parameters in arrival order.
#[derive(Debug, Clone, Default)]
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The first non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    fn scopes(&self) -> Vec<String> {
        self.get("scope").map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

#[derive(Debug, Clone)]
struct AuthorizeRequest {
    redirect_uri: String,
    response_mode: ResponseMode,
    state: Option<String>,
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: String,
    client_info: bool,
    prompt: Option<String>,
}

#[derive(Debug, Clone)]
struct AdminConsentRequest {
    redirect_uri: String,
    state: Option<String>,
    scope: Option<String>,
    /// The un-versioned `/adminconsent` endpoint.
    v1: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    Authorize(AuthorizeRequest),
    AdminConsent(AdminConsentRequest),
    Device { device_code: String },
}

/// Where an interactive sign-in stands.
#[derive(Debug, Clone)]
enum Stage {
    PickAccount,
    /// The consent page is showing for `upn` in `tenant_id`.
    Consent {
        upn: String,
        tenant_id: String,
    },
    /// "Need admin approval" is showing; going back answers with this error.
    AdminApproval {
        error: AadError,
    },
}

#[derive(Debug, Clone)]
struct Interaction {
    kind: Kind,
    tenant_segment: String,
    tenant_path: TenantPath,
    client_id: String,
    stage: Stage,
}

#[derive(Debug, Clone)]
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    tenant_id: String,
    upn: String,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    code_challenge_method: String,
    nonce: Option<String>,
    issued: Instant,
    redeemed: bool,
}

/// Whether `account` may sign in to `client_id` in `tenant_id`: a member always; a partner's admin agent with GDAP
/// roles here only to an app this tenant approved (else AADSTS90099); anyone else of another directory never
/// (AADSTS50020).
fn may_sign_in(st: &SimState, account: &Account, tenant_id: &str, client_id: &str) -> Result<(), u32> {
    if account.home_tenant_id == tenant_id {
        Ok(())
    } else if !account.spec.gdap {
        Err(50020)
    } else if st.dir.service_principal(tenant_id, client_id).is_none() {
        Err(90099)
    } else {
        Ok(())
    }
}

/// Refresh tokens, one store for every tenant the simulator serves: like Entra's, a refresh token redeems at any
/// tenant where its account may sign in (a partner's agent at a customer's, by GDAP).
#[derive(Debug, Default)]
pub struct RefreshTokens(std::sync::Mutex<HashMap<String, RefreshGrant>>);

impl RefreshTokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RefreshGrant>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    tenant_id: String,
    upn: String,
    scopes: Vec<String>,
    issued_unix: u64,
}

#[derive(Debug, Clone)]
enum DeviceStatus {
    Pending,
    Approved { upn: String, tenant_id: String },
    Declined,
    Failed(AadError),
    Redeemed,
}

#[derive(Debug, Clone)]
struct DeviceGrant {
    user_code: String,
    client_id: String,
    tenant_path: TenantPath,
    scopes: Vec<String>,
    expires: Instant,
    interval: Duration,
    last_poll: Option<Instant>,
    status: DeviceStatus,
}

/// A decided answer and the fault delay to apply before sending it.
struct Reply {
    response: Response,
    delay: Duration,
}

impl Reply {
    fn now(response: Response) -> Self {
        Self { response, delay: Duration::ZERO }
    }

    async fn send(self) -> Response {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.response
    }
}

/// Router of the login host (HTTPS): every endpoint.
pub fn router(shared: Arc<Shared>) -> Router {
    pages()
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery))
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/{tenant}/oauth2/v2.0/token", post(token).get(token_wrong_method))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(devicecode).get(token_wrong_method))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), body_faults))
        .with_state(shared)
}

/// The identity endpoint a path belongs to, for faults that break an answer's body.
fn endpoint_of(path: &str) -> Option<&'static str> {
    [
        ("/v2.0/.well-known/openid-configuration", "discovery"),
        ("/discovery/v2.0/keys", "keys"),
        ("/oauth2/v2.0/authorize", "authorize"),
        ("/adminconsent", "adminconsent"),
        ("/oauth2/v2.0/token", "token"),
        ("/oauth2/v2.0/devicecode", "devicecode"),
    ]
    .into_iter()
    .find_map(|(suffix, name)| path.ends_with(suffix).then_some(name))
}

/// Faults with a `body` on an identity endpoint: the real answer, broken (the handlers take the other faults).
async fn body_faults(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(endpoint) = endpoint_of(request.uri().path()) else {
        return next.run(request).await;
    };
    let hit = shared.lock().take_fault(FaultProbe { endpoint, body_layer: true, ..FaultProbe::default() });
    match hit.and_then(|h| h.spec.body.map(|kind| (kind, h))) {
        Some((kind, hit)) => {
            tokio::time::sleep(hit.delay()).await;
            super::graph::broken_body(kind, Duration::from_millis(hit.spec.drip_ms), request, next).await
        }
        None => next.run(request).await,
    }
}

/// Router of the browser front door (plain HTTP on loopback, demo only): the pages a person visits, so the
/// system browser shows them without a certificate warning. Token endpoints are not served here.
pub fn browser_router(shared: Arc<Shared>) -> Router {
    pages().fallback(no_route).with_state(shared)
}

fn pages() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/error", get(error_lookup))
        .route("/devicelogin", get(device_entry).post(device_entry_submit))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/oauth2/v2.0/logout", get(logout))
        .route("/{tenant}/v2.0/adminconsent", get(admin_consent_v2))
        .route("/{tenant}/adminconsent", get(admin_consent_v1))
        .route("/{tenant}/login", post(login_submit))
        .route("/{tenant}/consent", post(consent_submit))
        .merge(super::admin_center::routes())
}

mod admin_consent;
mod device_code;
mod sign_in_pages;
mod token_endpoint;
mod well_known;

use admin_consent::*;
pub use device_code::knows_user_code;
use device_code::*;
use sign_in_pages::*;
use token_endpoint::*;
use well_known::*;

// ---------------------------------------------------------------------------------------------------------
// Small helpers

fn tenant_ctx(dir: &Directory, tenant_id: &str) -> Ctx {
    Ctx::default().with("tenant_id", tenant_id).with("tenant_name", dir.tenant_name(tenant_id))
}

fn app_ctx(ctx: Ctx, app: &AppSpec) -> Ctx {
    ctx.with("client_id", app.client_id.clone()).with("app_name", app.display_name.clone())
}

fn correlation(headers: &HeaderMap) -> Option<String> {
    headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn fault_error(hit: &FaultHit, ctx: &Ctx) -> AadError {
    let code = hit.spec.aadsts.unwrap_or(if hit.spec.status.is_some_and(|s| s >= 500) { 90033 } else { 90014 });
    AadError::new(code, ctx)
        .with_error(hit.spec.error.as_deref())
        .with_suberror(hit.spec.suberror.as_deref())
        .with_status(hit.spec.status)
}

/// A token-endpoint style JSON error with Microsoft's headers.
fn json_error(shared: &Shared, err: &AadError, headers: &HeaderMap) -> Response {
    let stamp = err.stamp(correlation(headers).as_deref());
    let body = err.json_body(&stamp, &shared.login_base);
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    with_token_headers((status, axum::Json(body)).into_response(), &stamp.trace_id)
}

fn with_token_headers(mut response: Response, request_id: &str) -> Response {
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("strict-transport-security", HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    h.insert("x-ms-ests-server", HeaderValue::from_static("2.1.0-sim"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-ms-request-id", v);
    }
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// Microsoft's own error page, used when it must not redirect (unknown client, bad redirect URI, bad tenant).
fn error_page(err: &AadError) -> Response {
    let stamp = err.stamp(None);
    let page = html::sign_in_error(&err.description(&stamp), &stamp.trace_id, &stamp.correlation_id, &stamp.timestamp);
    (StatusCode::BAD_REQUEST, Html(page)).into_response()
}

fn html_page(page: String) -> Response {
    let mut r = Html(page).into_response();
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    r
}

/// Appends `params` to `uri` in the query (`?`/`&`) or the fragment.
fn with_params(uri: &str, params: &[(String, String)], fragment: bool) -> String {
    let encoded: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let sep = if fragment {
        '#'
    } else if uri.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{uri}{sep}{encoded}")
}

fn redirect_to(location: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    r
}

/// Entra's redirect-URI rule: exact for https; for `http://localhost` and `http://127.0.0.1` the port is
/// ignored and a missing path equals `/`. `[::1]` is not supported.
fn redirect_matches(registered: &str, sent: &str) -> bool {
    let (Ok(r), Ok(s)) = (url::Url::parse(registered), url::Url::parse(sent)) else {
        return false;
    };
    let loopback = |u: &url::Url| u.scheme() == "http" && matches!(u.host_str(), Some("localhost" | "127.0.0.1"));
    if loopback(&r) && loopback(&s) {
        return r.host_str() == s.host_str() && r.path() == s.path() && s.query().is_none() && s.fragment().is_none();
    }
    r.as_str() == s.as_str()
}

/// Checks `client_id` and `redirect_uri` of an interactive request. Any failure is an error page, never a
/// redirect (RFC 6749 §4.1.2.1).
fn check_client_and_redirect<'a>(
    dir: &'a Directory,
    tenant_id_for_msg: &str,
    client_id: Option<&str>,
    redirect_uri: Option<&str>,
    redirect_required: bool,
) -> Result<(&'a AppSpec, String), AadError> {
    let ctx = tenant_ctx(dir, tenant_id_for_msg);
    let Some(client_id) = client_id else {
        return Err(AadError::new(900144, &ctx.with("parameter", "client_id")));
    };
    let Some(app) = dir.app(client_id) else {
        return Err(AadError::new(700016, &ctx.with("client_id", client_id)));
    };
    let ctx = app_ctx(ctx, app);
    let redirect = match redirect_uri {
        Some(r) => r.to_owned(),
        None if redirect_required => return Err(AadError::new(900144, &ctx.with("parameter", "redirect_uri"))),
        None => match app.redirect_uris.first() {
            Some(first) => first.clone(),
            None => return Err(AadError::new(500113, &ctx)),
        },
    };
    if url::Url::parse(&redirect).is_err() {
        return Err(AadError::new(90102, &ctx));
    }
    if app.redirect_uris.is_empty() {
        return Err(AadError::new(500113, &ctx));
    }
    if !app.redirect_uris.iter().any(|r| redirect_matches(r, &redirect)) {
        return Err(AadError::new(50011, &ctx.with("redirect_uri", redirect.clone())));
    }
    Ok((app, redirect))
}

fn describe(resource: &Resource, name: &str, kind: PermissionKind) -> String {
    let text = match name {
        "openid" => "Sign you in",
        "profile" => "View your basic profile",
        "email" => "View your email address",
        "offline_access" => "Maintain access to data you have given it access to",
        "User.Read" => "Sign you in and read your profile",
        "User.Read.All" => "Read all users' full profiles",
        "User.ReadBasic.All" => "Read all users' basic profiles",
        "ProfilePhoto.Read.All" => "Read all users' profile photos",
        "Directory.Read.All" => "Read directory data",
        "Application.Read.All" => "Read all applications",
        "AppCatalog.ReadWrite.All" => "Read and write to all app catalogs",
        "AppCatalog.Read.All" => "Read all app catalogs",
        "TeamsAppInstallation.ReadWriteForUser" | "TeamsAppInstallation.ReadWriteForUser.All" => {
            "Manage installed Teams apps for users"
        }
        "user_impersonation" => "Access the Teams admin configuration API as you",
        other => other,
    };
    match kind {
        PermissionKind::Delegated => format!("{text} ({}: {name})", resource.display_name),
        PermissionKind::Application => {
            format!("{text} without a signed-in user ({}: {name}, application permission)", resource.display_name)
        }
    }
}

/// Delegated permissions a request asks for, per resource. OIDC scopes count as Graph permissions, as in the
/// grants Entra stores; `{resource}/.default` means what the registration lists for that resource.
fn requested_delegated(app: &AppSpec, scopes: &[String]) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for raw in scopes {
        match parse_scope(raw) {
            ScopeItem::Oidc(name) => {
                out.entry(GRAPH.key).or_default().insert(name);
            }
            ScopeItem::Named { resource, name } => {
                out.entry(resource).or_default().insert(name);
            }
            ScopeItem::Default { resource } => {
                let registered = app
                    .required_permissions
                    .iter()
                    .filter(|p| p.kind == PermissionKind::Delegated && p.resource == resource)
                    .map(|p| p.name.clone());
                out.entry(resource).or_default().extend(registered);
            }
            ScopeItem::UnknownResource { .. } | ScopeItem::UnknownPermission { .. } => {}
        }
    }
    out
}

/// The first problem with a `scope` list on the authorize leg, if any.
fn scope_problem(app: &AppSpec, scopes: &[String], ctx: &Ctx) -> Option<AadError> {
    if scopes.is_empty() {
        return Some(AadError::new(900144, &ctx.clone().with("parameter", "scope")));
    }
    for raw in scopes {
        match parse_scope(raw) {
            ScopeItem::UnknownResource { resource } => {
                return Some(AadError::new(500011, &ctx.clone().with("resource", resource)));
            }
            ScopeItem::UnknownPermission { resource, name } => {
                let resource = resources::by_key(resource).map_or(resource, |r| r.app_id);
                let c = ctx
                    .clone()
                    .with("scope", name)
                    .with("resource", resource)
                    .with("app_name", app.display_name.clone());
                return Some(AadError::new(650053, &c));
            }
            _ => {}
        }
    }
    None
}

fn missing_scopes(
    dir: &Directory,
    tenant_id: &str,
    client_id: &str,
    account: &Account,
    wanted: &BTreeMap<&'static str, BTreeSet<String>>,
) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut missing = BTreeMap::new();
    for (key, names) in wanted {
        let Some(resource) = resources::by_key(key) else {
            continue;
        };
        let have = dir.delegated_scopes(tenant_id, client_id, resource, &account.object_id);
        let lacking: BTreeSet<String> =
            names.iter().filter(|n| !have.iter().any(|h| h.eq_ignore_ascii_case(n))).cloned().collect();
        if !lacking.is_empty() {
            missing.insert(*key, lacking);
        }
    }
    missing
}

fn consent_lines(scopes: &BTreeMap<&'static str, BTreeSet<String>>) -> Vec<ConsentLine> {
    scopes
        .iter()
        .filter_map(|(key, names)| resources::by_key(key).map(|r| (r, names)))
        .flat_map(|(r, names)| {
            names.iter().map(move |n| ConsentLine { text: describe(r, n, PermissionKind::Delegated) })
        })
        .collect()
}

fn account_detail(account: &Account) -> String {
    // The scenario's note says what the account demonstrates (roles included); without one, list the roles.
    match &account.spec.note {
        Some(note) => note.clone(),
        None if account.spec.roles.is_empty() => "No admin role".to_owned(),
        None => account.spec.roles.join(", "),
    }
}

fn picker(st: &SimState, ctx_id: &str, segment: &str, client_id: &str, problem: Option<&str>) -> Response {
    let accounts = st.dir.accounts();
    let app_name = st.dir.app(client_id).map_or("the application", |a| a.display_name.as_str());
    let entries: Vec<PickerAccount<'_>> = accounts
        .iter()
        .map(|a| PickerAccount { upn: &a.spec.upn, display_name: &a.spec.display_name, detail: account_detail(a) })
        .collect();
    let action = format!("/{segment}/login");
    html_page(html::account_picker(&action, ctx_id, app_name, &entries, problem))
}

async fn no_route(request: axum::extract::Request) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    tracing::warn!("simulated login host has no route for {method} {path}");
    (
        StatusCode::NOT_FOUND,
        Html(html::message(
            "No such page on the simulated login host",
            &format!("The simulated tenant has no route for {method} {path}. The client asked for something Microsoft's identity platform does not serve here."),
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_ignore_the_port_but_not_the_path_or_host() {
        assert!(redirect_matches("http://localhost", "http://localhost:51234/"));
        assert!(redirect_matches("http://localhost", "http://localhost:51234"));
        assert!(redirect_matches("http://127.0.0.1/cb", "http://127.0.0.1:8400/cb"));
        assert!(!redirect_matches("http://127.0.0.1/cb", "http://127.0.0.1:8400/other"));
        assert!(!redirect_matches("http://localhost", "http://127.0.0.1:8400/"));
        assert!(!redirect_matches("http://localhost", "http://[::1]:8400/"));
        assert!(redirect_matches("https://app.example/cb", "https://app.example/cb"));
        assert!(!redirect_matches("https://app.example/cb", "https://app.example:444/cb"));
    }

    #[test]
    fn params_append_to_query_or_fragment() {
        let p = vec![("a".to_owned(), "x y".to_owned())];
        assert_eq!(with_params("http://h/cb", &p, false), "http://h/cb?a=x+y");
        assert_eq!(with_params("http://h/cb?k=1", &p, false), "http://h/cb?k=1&a=x+y");
        assert_eq!(with_params("http://h/cb", &p, true), "http://h/cb#a=x+y");
    }

    #[test]
    fn token_scopes_allow_one_resource_only() {
        let ctx = Ctx::default();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(token_scopes(&s(&["User.Read", "openid"]), &ctx).is_ok());
        let err = token_scopes(&s(&["User.Read", "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation"]), &ctx)
            .err()
            .unwrap();
        assert_eq!(err.code, 28000);
        let err = token_scopes(&s(&["https://graph.microsoft.com/.default", "User.Read"]), &ctx).err().unwrap();
        assert_eq!(err.code, 70011);
    }

    #[test]
    fn the_answer_names_scopes_as_the_request_spelled_them() {
        let ctx = Ctx::default();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let granted = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<BTreeSet<_>>();
        let asked = token_scopes(&s(&["https://graph.microsoft.com/user.read", "openid", "offline_access"]), &ctx);
        assert_eq!(
            asked.unwrap().echo(&granted(&["User.Read", "openid"])),
            "https://graph.microsoft.com/user.read openid offline_access"
        );
        let bare = token_scopes(&s(&["User.Read", "profile"]), &ctx).unwrap();
        assert_eq!(bare.echo(&granted(&["User.Read", "profile"])), "User.Read profile");
        let default = token_scopes(&s(&["https://graph.microsoft.com/.default"]), &ctx).unwrap();
        assert_eq!(
            default.echo(&granted(&["Directory.Read.All", "User.Read", "openid"])),
            "https://graph.microsoft.com/Directory.Read.All https://graph.microsoft.com/User.Read openid \
             https://graph.microsoft.com/.default"
        );
        let teams = token_scopes(&s(&["48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"]), &ctx).unwrap();
        assert_eq!(
            teams.echo(&granted(&["user_impersonation"])),
            "48ac35b8-9aa8-4d74-927d-1f4a14a0b239/user_impersonation 48ac35b8-9aa8-4d74-927d-1f4a14a0b239/.default"
        );
    }
}
