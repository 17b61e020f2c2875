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
    refresh_tokens: HashMap<String, RefreshGrant>,
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
}

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

// ---------------------------------------------------------------------------------------------------------
// Discovery and keys

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let mut text = format!(
        "Simulated tenant '{}' ({}), scenario '{}': {}. Accounts:",
        st.dir.scenario.tenant.display_name,
        st.dir.tenant_id(),
        st.dir.scenario.name,
        st.dir.scenario.summary
    );
    for a in st.dir.accounts() {
        text.push_str(&format!(" {} [{}];", a.spec.upn, account_detail(&a)));
    }
    html_page(html::message("MSPbots setup simulated tenant", &text))
}

async fn error_lookup(RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let code = params.get("code").and_then(|c| c.trim_start_matches("AADSTS").parse::<u32>().ok());
    let text = match code {
        Some(c) => match super::aad::known_message(c) {
            Some(m) => format!("AADSTS{c}: {m}"),
            None => format!("AADSTS{c} is not in the simulator's catalogue."),
        },
        None => "Give an error code, e.g. /error?code=65004.".to_owned(),
    };
    html_page(html::message("Error code lookup", &text))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
async fn discovery(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    let reply = {
        let mut st = shared.lock();
        discovery_reply(&shared, &mut st, &tenant, &headers)
    };
    reply.send().await
}

fn discovery_reply(shared: &Shared, st: &mut SimState, tenant: &str, headers: &HeaderMap) -> Reply {
    let hit = st.take_fault(FaultProbe { endpoint: "discovery", ..Default::default() });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    if let Some(hit) = hit.filter(FaultHit::fails) {
        let err = fault_error(&hit, &tenant_ctx(&st.dir, tenant));
        return Reply { response: json_error(shared, &err, headers), delay };
    }
    let Some(path) = st.dir.resolve_tenant(tenant) else {
        let err = AadError::new(90002, &Ctx::default().with("tenant", tenant));
        return Reply { response: json_error(shared, &err, headers), delay };
    };
    let b = &shared.login_base;
    // Endpoints of a specific tenant use its GUID even when asked by domain, as Microsoft's do.
    let (segment, issuer_tenant, region) = match st.dir.path_tenant_id(&path) {
        Some(tid) => (tid.clone(), tid, Value::from("NA")),
        None => (tenant.to_ascii_lowercase(), "{tenantid}".to_owned(), Value::Null),
    };
    // Government tenants say so in discovery: GCC is NA/GCC, GCC High USGov/DODCON, DoD USGov/DOD.
    let customer = st.dir.path_tenant_id(&path).is_some_and(|t| t == st.dir.tenant_id());
    let (region, sub_scope) = match (customer, st.teams.spec.cloud.as_str()) {
        (true, "gcc") => (region, Some("GCC")),
        (true, "gcc-high") => (Value::from("USGov"), Some("DODCON")),
        (true, "dod") => (Value::from("USGov"), Some("DOD")),
        _ => (region, None),
    };
    let graph_host = shared.graph_base.trim_start_matches("https://").trim_end_matches('/').to_owned();
    let doc = json!({
        "token_endpoint": format!("{b}{segment}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{b}{segment}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{b}{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{}oidc/userinfo", shared.graph_base),
        "authorization_endpoint": format!("{b}{segment}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{b}{segment}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{b}{segment}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
            "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{b}{segment}/kerberos"),
        "tenant_region_scope": region,
        "cloud_instance_name": match st.teams.spec.cloud.as_str() {
            "gcc-high" | "dod" => "microsoftonline.us",
            "china" => "partner.microsoftonline.cn",
            _ => "microsoftonline.com",
        },
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": graph_host,
        "rbac_url": "https://pas.windows.net",
    });
    let mut doc = doc;
    if let Some(sub) = sub_scope {
        doc["tenant_region_sub_scope"] = Value::from(sub);
    }
    let mut response = axum::Json(doc).into_response();
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
    response.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("*"));
    Reply { response, delay }
}

/// `GET /{tenant}/discovery/v2.0/keys`.
async fn keys(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>, headers: HeaderMap) -> Response {
    let reply = {
        let mut st = shared.lock();
        let hit = st.take_fault(FaultProbe { endpoint: "keys", ..Default::default() });
        let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
        match (hit.filter(FaultHit::fails), st.dir.resolve_tenant(&tenant)) {
            (Some(hit), _) => Reply {
                response: json_error(&shared, &fault_error(&hit, &tenant_ctx(&st.dir, &tenant)), &headers),
                delay,
            },
            (None, None) => {
                let err = AadError::new(90002, &Ctx::default().with("tenant", tenant.as_str()));
                Reply { response: json_error(&shared, &err, &headers), delay }
            }
            (None, Some(_)) => {
                let issuer = format!("{}{{tenantid}}/v2.0", shared.login_base);
                let mut response = axum::Json(json!({ "keys": [shared.signer.jwk(&issuer)] })).into_response();
                response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
                Reply { response, delay }
            }
        }
    };
    reply.send().await
}

async fn logout(RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    if let Some(target) = params.get("post_logout_redirect_uri")
        && (redirect_matches("http://localhost", target) || redirect_matches("http://127.0.0.1", target))
    {
        return redirect_to(target);
    }
    html_page(html::message("You signed out of your account", "It's a good idea to close all browser windows."))
}

// ---------------------------------------------------------------------------------------------------------
// Authorize

/// `GET /{tenant}/oauth2/v2.0/authorize`.
async fn authorize(State(shared): State<Arc<Shared>>, Path(tenant): Path<String>, RawQuery(q): RawQuery) -> Response {
    let params = Params::parse(q.unwrap_or_default().as_bytes());
    let reply = {
        let mut st = shared.lock();
        authorize_start(&shared, &mut st, &tenant, &params)
    };
    reply.send().await
}

fn authorize_start(shared: &Shared, st: &mut SimState, segment: &str, p: &Params) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(error_page(&AadError::new(90002, &Ctx::default().with("tenant", segment))));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let (app, redirect_uri) =
        match check_client_and_redirect(&st.dir, &msg_tenant, p.get("client_id"), p.get("redirect_uri"), true) {
            Ok(ok) => (ok.0.clone(), ok.1),
            Err(err) => return Reply::now(error_page(&err)),
        };
    let response_mode = match p.get("response_mode") {
        Some("form_post") => ResponseMode::FormPost,
        Some("fragment") => ResponseMode::Fragment,
        _ => ResponseMode::Query,
    };
    let req = AuthorizeRequest {
        redirect_uri,
        response_mode,
        state: p.get("state").map(str::to_owned),
        scopes: p.scopes(),
        nonce: p.get("nonce").map(str::to_owned),
        code_challenge: p.get("code_challenge").map(str::to_owned),
        code_challenge_method: p.get("code_challenge_method").unwrap_or("plain").to_owned(),
        client_info: p.get("client_info") == Some("1"),
        prompt: p.get("prompt").map(str::to_owned),
    };
    let ctx = app_ctx(tenant_ctx(&st.dir, &msg_tenant), &app);
    let early = if p.get("response_type") != Some("code") {
        Some(AadError::new(70005, &ctx.clone().with("response_type", p.get("response_type").unwrap_or(""))))
    } else if !matches!(req.code_challenge_method.as_str(), "S256" | "plain") {
        Some(AadError::new(50149, &ctx))
    } else {
        scope_problem(&app, &req.scopes, &ctx)
    };
    let kind = Kind::Authorize(req);
    if let Some(err) = early {
        return Reply::now(fail(shared, &kind, &err));
    }
    let ctx_id = clock::opaque::<18>();
    let auto = shared.auto_login();
    let interaction = Interaction {
        kind,
        tenant_segment: segment.to_owned(),
        tenant_path,
        client_id: app.client_id.clone(),
        stage: Stage::PickAccount,
    };
    let prompt_none = matches!(&interaction.kind, Kind::Authorize(r) if r.prompt.as_deref() == Some("none"));
    st.flows.interactions.insert(ctx_id.clone(), interaction);
    match auto {
        Some(default_upn) => {
            let upn = p.get("login_hint").filter(|h| st.dir.account(h).is_some()).map_or(default_upn, str::to_owned);
            with_account(shared, st, &ctx_id, &upn, true)
        }
        None if prompt_none => {
            let Some(i) = st.flows.interactions.remove(&ctx_id) else {
                return Reply::now(error_page(&AadError::new(9002313, &ctx)));
            };
            Reply::now(fail(shared, &i.kind, &AadError::new(50058, &ctx)))
        }
        None => Reply::now(picker(st, &ctx_id, segment, &app.client_id, None)),
    }
}

/// Sends the flow's error answer: a redirect for authorize and admin consent, a page (and a failed device
/// grant) for the device flow.
fn fail(shared: &Shared, kind: &Kind, err: &AadError) -> Response {
    let stamp = err.stamp(None);
    let mut params = err.redirect_params(&stamp, &shared.login_base);
    match kind {
        Kind::Authorize(req) => {
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            deliver(req.response_mode, &req.redirect_uri, &params)
        }
        Kind::AdminConsent(req) => {
            params.push(("admin_consent".to_owned(), "True".to_owned()));
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            redirect_to(&with_params(&req.redirect_uri, &params, false))
        }
        Kind::Device { .. } => html_page(html::message("Sign-in failed", &err.description(&stamp))),
    }
}

fn deliver(mode: ResponseMode, redirect_uri: &str, params: &[(String, String)]) -> Response {
    match mode {
        ResponseMode::Query => redirect_to(&with_params(redirect_uri, params, false)),
        ResponseMode::Fragment => redirect_to(&with_params(redirect_uri, params, true)),
        ResponseMode::FormPost => html_page(html::form_post(redirect_uri, params)),
    }
}

/// `POST /{tenant}/login`: the account picker's answer.
async fn login_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let (Some(ctx_id), Some(upn)) = (form.get("ctx"), form.get("username")) else {
        return picker_again(&shared, form.get("ctx"), "Enter a valid email address, phone number, or Skype name.");
    };
    let reply = {
        let mut st = shared.lock();
        with_account(&shared, &mut st, ctx_id, upn.trim(), false)
    };
    reply.send().await
}

fn picker_again(shared: &Shared, ctx_id: Option<&str>, problem: &str) -> Response {
    let st = shared.lock();
    match ctx_id.and_then(|c| st.flows.interactions.get(c).map(|i| (c, i))) {
        Some((c, i)) => picker(&st, c, &i.tenant_segment, &i.client_id, Some(problem)),
        None => html_page(html::message("Sign-in session expired", "Start signing in again from the application.")),
    }
}

fn expired_session() -> Reply {
    Reply::now(html_page(html::message(
        "Sign-in session expired",
        "This sign-in page is no longer valid. Start signing in again from the application.",
    )))
}

/// The account is known: tenant membership, faults, then consent.
fn with_account(shared: &Shared, st: &mut SimState, ctx_id: &str, upn: &str, auto: bool) -> Reply {
    let Some(interaction) = st.flows.interactions.get(ctx_id).cloned() else {
        return expired_session();
    };
    let Some(account) = st.dir.account(upn) else {
        let text = format!("We couldn't find an account with that username ({upn}). Try another account.");
        return Reply::now(picker(st, ctx_id, &interaction.tenant_segment, &interaction.client_id, Some(&text)));
    };
    if !account.spec.enabled {
        let text = "Your account has been locked. Contact your support person to unlock it, then try again.";
        return Reply::now(picker(st, ctx_id, &interaction.tenant_segment, &interaction.client_id, Some(text)));
    }
    let tenant_id = match &interaction.tenant_path {
        TenantPath::Organizations | TenantPath::Common | TenantPath::Consumers => account.home_tenant_id.clone(),
        other => st.dir.path_tenant_id(other).unwrap_or_else(|| account.home_tenant_id.clone()),
    };
    let Some(app) = st.dir.app(&interaction.client_id).cloned() else {
        return expired_session();
    };
    let ctx = app_ctx(tenant_ctx(&st.dir, &tenant_id), &app)
        .with("upn", account.spec.upn.clone())
        .with("home_tenant_id", account.home_tenant_id.clone())
        .with("resource", GRAPH.app_id);
    let endpoint = match interaction.kind {
        Kind::Authorize(_) => Some("authorize"),
        Kind::AdminConsent(_) => Some("adminconsent"),
        Kind::Device { .. } => None,
    };
    let hit = endpoint.and_then(|endpoint| {
        st.take_fault(FaultProbe {
            endpoint,
            client_id: Some(&app.client_id),
            account: Some(&account.spec.upn),
            ..FaultProbe::default()
        })
    });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    let finish = |st: &mut SimState, err: AadError| {
        st.flows.interactions.remove(ctx_id);
        Reply { response: end_with_error(shared, st, &interaction.kind, &err), delay }
    };
    if let Some(hit) = hit.filter(FaultHit::fails) {
        return finish(st, fault_error(&hit, &ctx));
    }
    if matches!(interaction.tenant_path, TenantPath::Consumers) || account.home_tenant_id != tenant_id {
        return finish(st, AadError::new(50020, &ctx));
    }
    if st.dir.app_disabled_in(&tenant_id, &app.client_id) {
        return finish(st, AadError::new(7000112, &ctx));
    }
    let mut reply = match &interaction.kind {
        Kind::AdminConsent(req) => {
            admin_consent_gate(shared, st, ctx_id, &interaction, &app, &account, &tenant_id, req, auto, &ctx)
        }
        Kind::Authorize(_) | Kind::Device { .. } => {
            let scopes = match &interaction.kind {
                Kind::Authorize(r) => r.scopes.clone(),
                Kind::Device { device_code } => {
                    st.flows.device.get(device_code).map(|d| d.scopes.clone()).unwrap_or_default()
                }
                Kind::AdminConsent(_) => Vec::new(),
            };
            user_consent_gate(shared, st, ctx_id, &interaction, &app, &account, &tenant_id, &scopes, auto, &ctx)
        }
    };
    reply.delay += delay;
    reply
}

/// Ends an interactive flow with an error: for device flows the poller sees it too.
fn end_with_error(shared: &Shared, st: &mut SimState, kind: &Kind, err: &AadError) -> Response {
    if let Kind::Device { device_code } = kind
        && let Some(grant) = st.flows.device.get_mut(device_code)
    {
        grant.status = DeviceStatus::Failed(err.clone());
    }
    fail(shared, kind, err)
}

#[expect(clippy::too_many_arguments, reason = "one call site; the values are the flow's context")]
fn user_consent_gate(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    scopes: &[String],
    auto: bool,
    ctx: &Ctx,
) -> Reply {
    let wanted = requested_delegated(app, scopes);
    let force = matches!(&interaction.kind, Kind::Authorize(r) if r.prompt.as_deref() == Some("consent"));
    let missing = missing_scopes(&st.dir, tenant_id, &app.client_id, account, &wanted);
    if missing.is_empty() && !force {
        st.flows.interactions.remove(ctx_id);
        return Reply::now(complete(st, &interaction.kind, app, account, tenant_id));
    }
    let power = account.consent_power();
    let needs_admin = missing.iter().any(|(k, names)| {
        resources::by_key(k).is_some_and(|r| names.iter().any(|n| r.permission(n).is_some_and(|p| p.admin_only)))
    });
    let blocked = if power != ConsentPower::None {
        None
    } else if !st.dir.scenario.tenant.user_consent_allowed {
        let mut err = AadError::new(90094, ctx);
        err.message = format!(
            "An administrator of {tenant} has set a policy that prevents you from granting {app} the permissions it is \
             requesting. Contact an administrator of {tenant}, who can grant permissions to this app on your behalf.",
            tenant = st.dir.tenant_name(tenant_id),
            app = app.display_name
        );
        Some((err, admin_only_reason(app)))
    } else if needs_admin {
        let err = AadError::new(90094, ctx);
        Some((err, admin_only_reason(app)))
    } else {
        None
    };
    if let Some((err, reason)) = blocked {
        return need_admin_approval(shared, st, ctx_id, interaction, app, account, err, &reason, auto);
    }
    set_stage(st, ctx_id, Stage::Consent { upn: account.spec.upn.clone(), tenant_id: tenant_id.to_owned() });
    if auto {
        return decide_user_consent(shared, st, ctx_id, auto_decision(shared, st), power != ConsentPower::None);
    }
    let shown = if force { wanted } else { missing };
    let lines = consent_lines(&shown);
    let action = format!("/{}/consent", interaction.tenant_segment);
    Reply::now(html_page(html::consent(&html::ConsentPage {
        action: &action,
        ctx: ctx_id,
        app_name: &app.display_name,
        publisher: &app.publisher,
        upn: &account.spec.upn,
        lines: &lines,
        org_wide_choice: power != ConsentPower::None,
        for_org: false,
    })))
}

/// The account may not grant what the app asks for: "Need admin approval", whose way back answers `err`
/// (auto mode answers at once).
#[expect(clippy::too_many_arguments, reason = "the values are the flow's context")]
fn need_admin_approval(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    err: AadError,
    reason: &str,
    auto: bool,
) -> Reply {
    if auto {
        st.flows.interactions.remove(ctx_id);
        return Reply::now(end_with_error(shared, st, &interaction.kind, &err));
    }
    set_stage(st, ctx_id, Stage::AdminApproval { error: err });
    let action = format!("/{}/consent", interaction.tenant_segment);
    Reply::now(html_page(html::need_admin_approval(&action, ctx_id, &app.display_name, &account.spec.upn, reason)))
}

/// What "Need admin approval" says when the app needs permissions only an admin can grant.
fn admin_only_reason(app: &AppSpec) -> String {
    format!(
        "{} needs permission to access resources in your organization that only an admin can grant. Please ask an \
         admin to grant permission to this app before you can use it.",
        app.display_name
    )
}

fn auto_decision(shared: &Shared, st: &SimState) -> ConsentDecision {
    shared.consent_decision(st.dir.scenario.consent.auto_decision)
}

fn set_stage(st: &mut SimState, ctx_id: &str, stage: Stage) {
    if let Some(i) = st.flows.interactions.get_mut(ctx_id) {
        i.stage = stage;
    }
}

#[expect(clippy::too_many_arguments, reason = "one call site; the values are the flow's context")]
fn admin_consent_gate(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    req: &AdminConsentRequest,
    auto: bool,
    ctx: &Ctx,
) -> Reply {
    let power = account.consent_power();
    let refusal = match power {
        ConsentPower::None => Some(admin_only_reason(app)),
        ConsentPower::AllButGraphAppRoles if st.dir.needs_graph_app_roles(&app.client_id) => Some(format!(
            "{} asks for Microsoft Graph application permissions. Only a Global Administrator or a Privileged Role \
             Administrator can grant them; your role ({}) cannot.",
            app.display_name,
            account.spec.roles.join(", ")
        )),
        _ => None,
    };
    if let Some(reason) = refusal {
        let err = AadError::new(90094, ctx);
        return need_admin_approval(shared, st, ctx_id, interaction, app, account, err, &reason, auto);
    }
    set_stage(st, ctx_id, Stage::Consent { upn: account.spec.upn.clone(), tenant_id: tenant_id.to_owned() });
    if auto {
        return decide_admin_consent(shared, st, ctx_id, auto_decision(shared, st));
    }
    let lines: Vec<ConsentLine> = admin_consent_permissions(app, req)
        .into_iter()
        .filter_map(|(key, kind, name)| resources::by_key(&key).map(|r| ConsentLine { text: describe(r, &name, kind) }))
        .collect();
    let action = format!("/{}/consent", interaction.tenant_segment);
    Reply::now(html_page(html::consent(&html::ConsentPage {
        action: &action,
        ctx: ctx_id,
        app_name: &app.display_name,
        publisher: &app.publisher,
        upn: &account.spec.upn,
        lines: &lines,
        org_wide_choice: false,
        for_org: true,
    })))
}

/// What an admin-consent request grants: everything registered (`/.default`, v1) or the named delegated scopes.
fn admin_consent_permissions(app: &AppSpec, req: &AdminConsentRequest) -> Vec<(String, PermissionKind, String)> {
    let all = || app.required_permissions.iter().map(|p| (p.resource.clone(), p.kind, p.name.clone())).collect();
    match &req.scope {
        None => all(),
        Some(scope) if scope.split_whitespace().any(|s| s.ends_with("/.default")) => all(),
        Some(scope) => scope
            .split_whitespace()
            .filter_map(|s| match parse_scope(s) {
                ScopeItem::Named { resource, name } => Some((resource.to_owned(), PermissionKind::Delegated, name)),
                _ => None,
            })
            .collect(),
    }
}

/// `POST /{tenant}/consent`: Accept, Cancel, or "return without granting".
async fn consent_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let Some(ctx_id) = form.get("ctx") else {
        return expired_session().response;
    };
    let decision = match form.get("decision") {
        Some("accept") => ConsentDecision::Accept,
        _ => ConsentDecision::Decline,
    };
    let org_wide = form.get("org_wide") == Some("on");
    let reply = {
        let mut st = shared.lock();
        match st.flows.interactions.get(ctx_id).map(|i| (i.kind.clone(), i.stage.clone())) {
            None => expired_session(),
            Some((kind, Stage::AdminApproval { error })) => {
                st.flows.interactions.remove(ctx_id);
                Reply::now(end_with_error(&shared, &mut st, &kind, &error))
            }
            Some((Kind::AdminConsent(_), Stage::Consent { .. })) => {
                decide_admin_consent(&shared, &mut st, ctx_id, decision)
            }
            Some((_, Stage::Consent { .. })) => decide_user_consent(&shared, &mut st, ctx_id, decision, org_wide),
            Some((_, Stage::PickAccount)) => expired_session(),
        }
    };
    reply.send().await
}

fn decide_user_consent(
    shared: &Shared,
    st: &mut SimState,
    ctx_id: &str,
    decision: ConsentDecision,
    org_wide: bool,
) -> Reply {
    let Some(interaction) = st.flows.interactions.remove(ctx_id) else {
        return expired_session();
    };
    let Stage::Consent { upn, tenant_id } = &interaction.stage else {
        return expired_session();
    };
    let (upn, tenant_id) = (upn.clone(), tenant_id.clone());
    let (Some(account), Some(app)) = (st.dir.account(&upn), st.dir.app(&interaction.client_id).cloned()) else {
        return expired_session();
    };
    finish_user_consent(shared, st, &interaction, &app, &account, &tenant_id, decision, org_wide)
}

#[expect(clippy::too_many_arguments, reason = "one call site; the values are the flow's context")]
fn finish_user_consent(
    shared: &Shared,
    st: &mut SimState,
    interaction: &Interaction,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    decision: ConsentDecision,
    org_wide: bool,
) -> Reply {
    if decision == ConsentDecision::Decline {
        // A declined device sign-in is reported to the polling app as `authorization_declined`.
        if let Kind::Device { device_code } = &interaction.kind {
            if let Some(grant) = st.flows.device.get_mut(device_code) {
                grant.status = DeviceStatus::Declined;
            }
            return Reply::now(html_page(html::message(
                "Sign-in declined",
                &format!("You declined to sign in to {} on your device. You may close this window.", app.display_name),
            )));
        }
        let ctx = app_ctx(tenant_ctx(&st.dir, tenant_id), app);
        return Reply::now(end_with_error(shared, st, &interaction.kind, &AadError::new(65004, &ctx)));
    }
    let scopes = match &interaction.kind {
        Kind::Authorize(r) => r.scopes.clone(),
        Kind::Device { device_code } => st.flows.device.get(device_code).map(|d| d.scopes.clone()).unwrap_or_default(),
        Kind::AdminConsent(_) => Vec::new(),
    };
    let wanted = requested_delegated(app, &scopes);
    let principal =
        (!(org_wide && account.consent_power() != ConsentPower::None)).then_some(account.object_id.as_str());
    st.dir.grant_delegated(tenant_id, &app.client_id, principal, &wanted);
    Reply::now(complete(st, &interaction.kind, app, account, tenant_id))
}

fn decide_admin_consent(shared: &Shared, st: &mut SimState, ctx_id: &str, decision: ConsentDecision) -> Reply {
    let Some(interaction) = st.flows.interactions.remove(ctx_id) else {
        return expired_session();
    };
    let Kind::AdminConsent(req) = &interaction.kind else {
        return expired_session();
    };
    let Stage::Consent { tenant_id, .. } = &interaction.stage else {
        return expired_session();
    };
    let tenant_id = tenant_id.clone();
    let mut params = Vec::new();
    if decision == ConsentDecision::Decline {
        if req.v1 {
            params.push(("error".to_owned(), "access_denied".to_owned()));
            params.push(("error_subcode".to_owned(), "cancel".to_owned()));
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            return Reply::now(redirect_to(&with_params(&req.redirect_uri, &params, false)));
        }
        let ctx = tenant_ctx(&st.dir, &tenant_id);
        return Reply::now(fail(shared, &interaction.kind, &AadError::new(65004, &ctx)));
    }
    // The wizard's look at the page before the browser, and the browser itself, load the same page (same
    // `state`): one consent, which withholds the same permissions both times.
    let state_key = req.state.clone().unwrap_or_else(|| ctx_id.to_owned());
    let ordinal = st.dir.consent_ordinal(&state_key);
    let spec = &st.dir.scenario.consent;
    let withhold = spec.withheld_consents == 0 || ordinal < spec.withheld_consents;
    let landing = crate::sim::directory::ConsentLanding {
        sp_delay: Duration::from_secs_f64(spec.replication_delay_secs),
        roles_delay: Duration::from_secs_f64(spec.roles_replication_delay_secs),
        withheld: if withhold { spec.withheld.clone() } else { Vec::new() },
    };
    st.dir.grant_admin_consent(&tenant_id, &interaction.client_id, &landing);
    params.push(("admin_consent".to_owned(), "True".to_owned()));
    params.push(("tenant".to_owned(), tenant_id));
    if !req.v1 {
        params.push(("scope".to_owned(), req.scope.clone().unwrap_or_default()));
    }
    if let Some(s) = &req.state {
        params.push(("state".to_owned(), s.clone()));
    }
    Reply::now(redirect_to(&with_params(&req.redirect_uri, &params, false)))
}

/// Success: a code for authorize, an approved grant for the device flow.
fn complete(st: &mut SimState, kind: &Kind, app: &AppSpec, account: &Account, tenant_id: &str) -> Response {
    match kind {
        Kind::Authorize(req) => {
            let code = format!("1.{}", clock::opaque::<48>());
            st.flows.codes.insert(
                code.clone(),
                IssuedCode {
                    client_id: app.client_id.clone(),
                    redirect_uri: req.redirect_uri.clone(),
                    tenant_id: tenant_id.to_owned(),
                    upn: account.spec.upn.clone(),
                    scopes: req.scopes.clone(),
                    code_challenge: req.code_challenge.clone(),
                    code_challenge_method: req.code_challenge_method.clone(),
                    nonce: req.nonce.clone(),
                    issued: clock::instant_now(),
                    redeemed: false,
                },
            );
            let mut params = vec![("code".to_owned(), code)];
            if req.client_info {
                params.push(("client_info".to_owned(), client_info(account)));
            }
            if let Some(s) = &req.state {
                params.push(("state".to_owned(), s.clone()));
            }
            params.push(("session_state".to_owned(), clock::new_guid()));
            deliver(req.response_mode, &req.redirect_uri, &params)
        }
        Kind::Device { device_code } => {
            if let Some(grant) = st.flows.device.get_mut(device_code) {
                grant.status =
                    DeviceStatus::Approved { upn: account.spec.upn.clone(), tenant_id: tenant_id.to_owned() };
            }
            html_page(html::message(
                &app.display_name,
                &format!(
                    "You have signed in to the {} application on your device. You may now close this window.",
                    app.display_name
                ),
            ))
        }
        // Admin consent ends in `decide_admin_consent`, never here.
        Kind::AdminConsent(_) => expired_session().response,
    }
}

fn client_info(account: &Account) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "uid": account.object_id, "utid": account.home_tenant_id }).to_string())
}

// ---------------------------------------------------------------------------------------------------------
// Admin consent

async fn admin_consent_v2(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    admin_consent(shared, tenant, q, false).await
}

async fn admin_consent_v1(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    admin_consent(shared, tenant, q, true).await
}

async fn admin_consent(shared: Arc<Shared>, segment: String, q: Option<String>, v1: bool) -> Response {
    let p = Params::parse(q.unwrap_or_default().as_bytes());
    let reply = {
        let mut st = shared.lock();
        admin_consent_start(&shared, &mut st, &segment, &p, v1)
    };
    reply.send().await
}

fn admin_consent_start(shared: &Shared, st: &mut SimState, segment: &str, p: &Params, v1: bool) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(error_page(&AadError::new(90002, &Ctx::default().with("tenant", segment))));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let (app, redirect_uri) =
        match check_client_and_redirect(&st.dir, &msg_tenant, p.get("client_id"), p.get("redirect_uri"), !v1) {
            Ok(ok) => (ok.0.clone(), ok.1),
            Err(err) => return Reply::now(error_page(&err)),
        };
    let req = AdminConsentRequest {
        redirect_uri,
        state: p.get("state").map(str::to_owned),
        scope: p.get("scope").map(str::to_owned),
        v1,
    };
    let ctx = app_ctx(tenant_ctx(&st.dir, &msg_tenant), &app);
    let kind = Kind::AdminConsent(req);
    // Personal accounts cannot consent outside a tenant; Microsoft answers `common` this way (observed).
    if !v1 && tenant_path == TenantPath::Common {
        return Reply::now(fail(shared, &kind, &AadError::new(900144, &ctx.with("parameter", "response_type"))));
    }
    if !v1 && p.get("scope").is_none() {
        return Reply::now(fail(shared, &kind, &AadError::new(900144, &ctx.with("parameter", "scope"))));
    }
    let ctx_id = clock::opaque::<18>();
    st.flows.interactions.insert(
        ctx_id.clone(),
        Interaction {
            kind,
            tenant_segment: segment.to_owned(),
            tenant_path,
            client_id: app.client_id.clone(),
            stage: Stage::PickAccount,
        },
    );
    match shared.auto_login() {
        Some(default_upn) => {
            let upn = p.get("login_hint").filter(|h| st.dir.account(h).is_some()).map_or(default_upn, str::to_owned);
            with_account(shared, st, &ctx_id, &upn, true)
        }
        None => Reply::now(picker(st, &ctx_id, segment, &app.client_id, None)),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Device code

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
async fn devicecode(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body);
    let reply = {
        let mut st = shared.lock();
        devicecode_reply(&shared, &mut st, &tenant, &form, &headers)
    };
    reply.send().await
}

fn devicecode_reply(shared: &Shared, st: &mut SimState, segment: &str, form: &Params, headers: &HeaderMap) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(json_error(shared, &AadError::new(90002, &Ctx::default().with("tenant", segment)), headers));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let ctx = tenant_ctx(&st.dir, &msg_tenant);
    let Some(client_id) = form.get("client_id") else {
        return Reply::now(json_error(shared, &AadError::new(900144, &ctx.with("parameter", "client_id")), headers));
    };
    let hit = st.take_fault(FaultProbe { endpoint: "devicecode", client_id: Some(client_id), ..Default::default() });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    let reply = |response| Reply { response, delay };
    let Some(app) = st.dir.app(client_id).cloned() else {
        return reply(json_error(shared, &AadError::new(700016, &ctx.with("client_id", client_id)), headers));
    };
    let ctx = app_ctx(ctx, &app);
    if let Some(hit) = hit.filter(FaultHit::fails) {
        return reply(json_error(shared, &fault_error(&hit, &ctx), headers));
    }
    if !app.public_client {
        return reply(json_error(shared, &AadError::new(7000218, &ctx), headers));
    }
    let scopes = form.scopes();
    if let Some(err) = scope_problem(&app, &scopes, &ctx) {
        return reply(json_error(shared, &err, headers));
    }
    let spec = st.dir.scenario.device_code.clone();
    let device_code = format!("DAQABAAEAAAD{}", clock::opaque::<48>());
    let user_code = clock::user_code();
    let verification_uri = format!("{}devicelogin", shared.browser_base);
    st.flows.device.insert(
        device_code.clone(),
        DeviceGrant {
            user_code: user_code.clone(),
            client_id: app.client_id.clone(),
            tenant_path,
            scopes,
            expires: clock::instant_now() + Duration::from_secs(spec.expires_in_secs),
            interval: Duration::from_secs(spec.interval_secs),
            last_poll: None,
            status: DeviceStatus::Pending,
        },
    );
    let body = json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": spec.expires_in_secs,
        "interval": spec.interval_secs,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    });
    reply(with_token_headers(axum::Json(body).into_response(), &clock::new_guid()))
}

async fn device_entry() -> Response {
    html_page(html::device_code_entry("/devicelogin", None))
}

async fn device_entry_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let action = "/devicelogin";
    let entered: String = form.get("otc").unwrap_or_default().chars().filter(char::is_ascii_alphanumeric).collect();
    let reply = {
        let mut st = shared.lock();
        let now = clock::instant_now();
        let found = st
            .flows
            .device
            .iter()
            .find(|(_, g)| g.user_code.eq_ignore_ascii_case(&entered) && matches!(g.status, DeviceStatus::Pending))
            .map(|(code, g)| (code.clone(), g.expires, g.client_id.clone(), g.tenant_path.clone()));
        match found {
            None => Reply::now(html_page(html::device_code_entry(
                action,
                Some("That code didn't work. Check the code and try again."),
            ))),
            Some((_, expires, _, _)) if now >= expires => Reply::now(html_page(html::device_code_entry(
                action,
                Some("That code has expired. Get a new code from the app."),
            ))),
            Some((device_code, _, client_id, tenant_path)) => {
                let ctx_id = clock::opaque::<18>();
                let segment = match &tenant_path {
                    TenantPath::Organizations => "organizations".to_owned(),
                    TenantPath::Common => "common".to_owned(),
                    TenantPath::Consumers => "consumers".to_owned(),
                    other => st.dir.path_tenant_id(other).unwrap_or_else(|| "organizations".to_owned()),
                };
                st.flows.interactions.insert(
                    ctx_id.clone(),
                    Interaction {
                        kind: Kind::Device { device_code },
                        tenant_segment: segment.clone(),
                        tenant_path,
                        client_id: client_id.clone(),
                        stage: Stage::PickAccount,
                    },
                );
                Reply::now(picker(&st, &ctx_id, &segment, &client_id, None))
            }
        }
    };
    reply.send().await
}

// ---------------------------------------------------------------------------------------------------------
// Token endpoint

async fn token_wrong_method(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let err = AadError::new(900561, &Ctx::default().with("method", "POST").with("received", "GET"));
    json_error(&shared, &err, &headers)
}

/// `POST /{tenant}/oauth2/v2.0/token`.
async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Params::parse(&body);
    let reply = {
        let mut st = shared.lock();
        token_reply(&shared, &mut st, &tenant, &form, &headers)
    };
    reply.send().await
}

/// Microsoft's grant-type spellings reduced to one name (fault filters use it).
fn grant_name(grant_type: &str) -> &str {
    match grant_type {
        "urn:ietf:params:oauth:grant-type:device_code" | "device_code" => "device_code",
        other => other,
    }
}

/// Client credentials from the form (`client_secret_post`) or HTTP Basic (`client_secret_basic`).
fn client_credentials(form: &Params, headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(id, secret)| {
                let decode = |x: &str| {
                    url::form_urlencoded::parse(format!("v={x}").as_bytes()).next().map(|(_, v)| v.into_owned())
                };
                (decode(id), decode(secret))
            })
        });
    match basic {
        Some((id, secret)) => (id.or_else(|| form.get("client_id").map(str::to_owned)), secret),
        None => (form.get("client_id").map(str::to_owned), form.get("client_secret").map(str::to_owned)),
    }
}

fn token_reply(shared: &Shared, st: &mut SimState, segment: &str, form: &Params, headers: &HeaderMap) -> Reply {
    let Some(tenant_path) = st.dir.resolve_tenant(segment) else {
        return Reply::now(json_error(shared, &AadError::new(90002, &Ctx::default().with("tenant", segment)), headers));
    };
    let msg_tenant = st.dir.path_tenant_id(&tenant_path).unwrap_or_else(|| segment.to_owned());
    let ctx = tenant_ctx(&st.dir, &msg_tenant);
    let Some(grant_type) = form.get("grant_type").map(grant_name) else {
        return Reply::now(json_error(shared, &AadError::new(900144, &ctx.with("parameter", "grant_type")), headers));
    };
    let (client_id, secret) = client_credentials(form, headers);
    let Some(client_id) = client_id else {
        return Reply::now(json_error(shared, &AadError::new(900144, &ctx.with("parameter", "client_id")), headers));
    };
    let Some(app) = st.dir.app(&client_id).cloned() else {
        return Reply::now(json_error(shared, &AadError::new(700016, &ctx.with("client_id", client_id)), headers));
    };
    let ctx = app_ctx(ctx, &app);
    let secret_ok = secret.as_deref() == Some(st.dir.consent_client_secret.as_str()) && !app.public_client;
    let auth_problem = match (app.public_client, secret.is_some(), grant_type) {
        (_, false, "client_credentials") => Some(7000218),
        (true, true, _) => Some(700025),
        (false, false, _) => Some(7000218),
        (false, true, _) if !secret_ok => Some(7000215),
        _ => None,
    };
    if let Some(code) = auth_problem {
        return Reply::now(json_error(shared, &AadError::new(code, &ctx), headers));
    }
    let outcome = match grant_type {
        "authorization_code" => redeem_code(shared, st, form, &app, &ctx),
        "refresh_token" => redeem_refresh(shared, st, form, &app, &ctx),
        "device_code" => redeem_device(shared, st, form, &app, &ctx),
        "client_credentials" => client_credentials_grant(shared, st, form, &app, &tenant_path, &ctx),
        other => Err((AadError::new(70003, &ctx.clone().with("grant_type", other)), None)),
    };
    // Faults are checked once the account is known, so account filters work.
    let account_upn = match &outcome {
        Ok(t) => t.account.clone(),
        Err((_, upn)) => upn.clone(),
    };
    let hit = st.take_fault(FaultProbe {
        endpoint: "token",
        grant_type: Some(grant_type),
        client_id: Some(&app.client_id),
        account: account_upn.as_deref(),
        ..FaultProbe::default()
    });
    let delay = hit.as_ref().map_or(Duration::ZERO, FaultHit::delay);
    if let Some(hit) = hit.filter(FaultHit::fails) {
        if let Ok(issued) = &outcome {
            issued.undo(st);
        }
        return Reply { response: json_error(shared, &fault_error(&hit, &ctx), headers), delay };
    }
    let response = match outcome {
        Ok(issued) => with_token_headers(axum::Json(issued.body).into_response(), &clock::new_guid()),
        Err((err, _)) => json_error(shared, &err, headers),
    };
    Reply { response, delay }
}

/// A successful token answer and how to take it back if a fault fires after all.
struct Issued {
    body: Value,
    account: Option<String>,
    /// The code redeemed, to un-redeem when a fault replaces the answer.
    code: Option<String>,
    /// The device grant approved, to restore when a fault replaces the answer.
    device: Option<(String, DeviceStatus)>,
    /// The refresh token issued, to forget when a fault replaces the answer.
    refresh_token: Option<String>,
}

impl Issued {
    fn undo(&self, st: &mut SimState) {
        if let Some(code) = &self.code
            && let Some(c) = st.flows.codes.get_mut(code)
        {
            c.redeemed = false;
        }
        if let Some((device_code, status)) = &self.device
            && let Some(d) = st.flows.device.get_mut(device_code)
        {
            d.status = status.clone();
        }
        if let Some(rt) = &self.refresh_token {
            st.flows.refresh_tokens.remove(rt);
        }
    }
}

type Grant = Result<Issued, (AadError, Option<String>)>;

/// The resource and permissions of a token request's `scope`.
struct TokenScopes {
    resource: &'static Resource,
    /// Named delegated permissions; empty with `default`.
    named: BTreeSet<String>,
    default: bool,
    openid: bool,
    offline: bool,
    oidc: BTreeSet<String>,
}

fn token_scopes(scopes: &[String], ctx: &Ctx) -> Result<TokenScopes, AadError> {
    let mut resource: Option<&'static Resource> = None;
    let mut out = TokenScopes {
        resource: &GRAPH,
        named: BTreeSet::new(),
        default: false,
        openid: false,
        offline: false,
        oidc: BTreeSet::new(),
    };
    let mut set_resource = |key: &'static str| -> Result<&'static Resource, AadError> {
        let r = resources::by_key(key).unwrap_or(&GRAPH);
        match resource {
            Some(existing) if existing.key != r.key => {
                Err(AadError::new(28000, &ctx.clone().with("scope", scopes.join(" "))))
            }
            _ => {
                resource = Some(r);
                Ok(r)
            }
        }
    };
    for raw in scopes {
        match parse_scope(raw) {
            ScopeItem::Oidc(name) => {
                out.openid |= name == "openid";
                out.offline |= name == "offline_access";
                out.oidc.insert(name);
            }
            ScopeItem::Default { resource } => {
                out.resource = set_resource(resource)?;
                out.default = true;
            }
            ScopeItem::Named { resource, name } => {
                out.resource = set_resource(resource)?;
                out.named.insert(name);
            }
            ScopeItem::UnknownResource { resource } => {
                return Err(AadError::new(500011, &ctx.clone().with("resource", resource)));
            }
            ScopeItem::UnknownPermission { name, .. } => {
                return Err(AadError::new(
                    70011,
                    &ctx.clone().with("detail", format!("The scope '{name}' does not exist.")),
                ));
            }
        }
    }
    if out.default && !out.named.is_empty() {
        return Err(AadError::new(
            70011,
            &ctx.clone().with("detail", "Scope '.default' cannot be combined with other scopes of the same resource."),
        ));
    }
    Ok(out)
}

/// Builds the token answer for a user, after checking consent for the requested scopes.
#[expect(clippy::too_many_arguments, reason = "the values are one token request's context")]
fn user_tokens(
    shared: &Shared,
    st: &mut SimState,
    app: &AppSpec,
    account: &Account,
    tenant_id: &str,
    scopes: &[String],
    nonce: Option<&str>,
    want_client_info: bool,
    ctx: &Ctx,
) -> Result<(Value, Option<String>), AadError> {
    let ts = token_scopes(scopes, ctx)?;
    let granted = st.dir.delegated_scopes(tenant_id, &app.client_id, ts.resource, &account.object_id);
    let consent_required = || {
        AadError::new(
            65001,
            &ctx.clone().with("client_id", app.client_id.clone()).with("app_name", app.display_name.clone()),
        )
        .with_suberror(Some("consent_required"))
    };
    let scp: BTreeSet<String> = if ts.default {
        let all: BTreeSet<String> = granted.iter().filter(|s| *s != "offline_access").cloned().collect();
        if all.is_empty() {
            return Err(consent_required());
        }
        all
    } else {
        if ts.named.iter().any(|n| !granted.iter().any(|g| g.eq_ignore_ascii_case(n))) {
            return Err(consent_required());
        }
        let mut s = ts.named.clone();
        if ts.resource.key == GRAPH.key {
            s.extend(ts.oidc.iter().filter(|o| *o != "offline_access" && granted.contains(*o)).cloned());
        }
        s
    };
    let now = clock::unix_now();
    let issuer = format!("{}{tenant_id}/v2.0", shared.login_base);
    let sub = clock::stable_guid("sub", &format!("{}/{}", account.object_id, app.client_id));
    let scp_text = scp.iter().cloned().collect::<Vec<_>>().join(" ");
    let access = shared.signer.sign(&json!({
        "aud": ts.resource.audience,
        "iss": issuer,
        "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECS,
        "tid": tenant_id,
        "oid": account.object_id,
        "sub": sub,
        "preferred_username": account.spec.upn,
        "upn": account.spec.upn,
        "name": account.spec.display_name,
        "scp": scp_text,
        "azp": app.client_id,
        "appid": app.client_id,
        "wids": account.role_template_ids(),
        "uti": clock::opaque::<16>(),
        "ver": "2.0",
    }));
    let prefix = ts.resource.scope_prefix();
    let mut scope_out: Vec<String> =
        scp.iter().map(|s| if ts.oidc.contains(s) { s.clone() } else { format!("{prefix}{s}") }).collect();
    if ts.offline {
        scope_out.push("offline_access".to_owned());
    }
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope_out.join(" "),
        "expires_in": ACCESS_TOKEN_SECS,
        "ext_expires_in": ACCESS_TOKEN_SECS,
        "access_token": access,
    });
    if ts.openid {
        let mut id = json!({
            "aud": app.client_id,
            "iss": issuer,
            "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECS,
            "name": account.spec.display_name,
            "oid": account.object_id,
            "preferred_username": account.spec.upn,
            "sub": sub,
            "tid": tenant_id,
            "ver": "2.0",
        });
        if let Some(n) = nonce {
            id["nonce"] = json!(n);
        }
        if ts.oidc.contains("email") {
            id["email"] = json!(account.spec.mail.clone().unwrap_or_else(|| account.spec.upn.clone()));
        }
        body["id_token"] = json!(shared.signer.sign(&id));
    }
    let mut refresh = None;
    if ts.offline {
        let rt = format!("1.{}", clock::opaque::<64>());
        st.flows.refresh_tokens.insert(
            rt.clone(),
            RefreshGrant {
                client_id: app.client_id.clone(),
                tenant_id: tenant_id.to_owned(),
                upn: account.spec.upn.clone(),
                scopes: scopes.to_vec(),
                issued_unix: now,
            },
        );
        body["refresh_token"] = json!(rt);
        refresh = Some(rt);
    }
    if want_client_info {
        body["client_info"] = json!(client_info(account));
    }
    Ok((body, refresh))
}

fn redeem_code(shared: &Shared, st: &mut SimState, form: &Params, app: &AppSpec, ctx: &Ctx) -> Grant {
    let Some(code) = form.get("code") else {
        return Err((AadError::new(900144, &ctx.clone().with("parameter", "code")), None));
    };
    let Some(issued) = st.flows.codes.get(code).cloned() else {
        return Err((AadError::new(9002313, ctx), None));
    };
    let upn = Some(issued.upn.clone());
    let err = |code: u32, c: &Ctx| Err((AadError::new(code, c), upn.clone()));
    if !issued.client_id.eq_ignore_ascii_case(&app.client_id) {
        return err(70000, ctx);
    }
    if issued.redeemed {
        return err(54005, ctx);
    }
    if clock::instant_now().duration_since(issued.issued) > CODE_LIFETIME {
        return err(70008, ctx);
    }
    match form.get("redirect_uri") {
        None => return err(900144, &ctx.clone().with("parameter", "redirect_uri")),
        Some(r) if r != issued.redirect_uri => {
            return err(500112, &ctx.clone().with("redirect_uri", r).with("expected", issued.redirect_uri.clone()));
        }
        Some(_) => {}
    }
    if let Some(challenge) = &issued.code_challenge {
        let Some(verifier) = form.get("code_verifier") else {
            return err(900144, &ctx.clone().with("parameter", "code_verifier"));
        };
        let computed = if issued.code_challenge_method == "S256" {
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
        } else {
            verifier.to_owned()
        };
        if &computed != challenge {
            return err(501481, ctx);
        }
    }
    let Some(account) = st.dir.account(&issued.upn) else {
        return err(50034, ctx);
    };
    let scopes =
        form.get("scope").map_or_else(|| issued.scopes.clone(), |s| s.split_whitespace().map(str::to_owned).collect());
    let scopes = first_resource_only(scopes, &issued.scopes);
    let client_info = form.get("client_info") == Some("1");
    let ctx = ctx.clone().with("upn", issued.upn.clone());
    match user_tokens(shared, st, app, &account, &issued.tenant_id, &scopes, issued.nonce.as_deref(), client_info, &ctx)
    {
        Ok((body, refresh_token)) => {
            if let Some(c) = st.flows.codes.get_mut(code) {
                c.redeemed = true;
            }
            Ok(Issued { body, account: upn, code: Some(code.to_owned()), device: None, refresh_token })
        }
        Err(e) => Err((e, upn)),
    }
}

/// When a code redemption names no `scope`, Microsoft issues the token for the first resource of the
/// authorize request (plus the OIDC scopes).
fn first_resource_only(token_scopes: Vec<String>, authorize_scopes: &[String]) -> Vec<String> {
    if token_scopes.as_slice() != authorize_scopes {
        return token_scopes;
    }
    let first = authorize_scopes.iter().find_map(|s| match parse_scope(s) {
        ScopeItem::Named { resource, .. } | ScopeItem::Default { resource } => Some(resource),
        _ => None,
    });
    token_scopes
        .into_iter()
        .filter(|s| match parse_scope(s) {
            ScopeItem::Named { resource, .. } | ScopeItem::Default { resource } => Some(resource) == first,
            _ => true,
        })
        .collect()
}

fn redeem_refresh(shared: &Shared, st: &mut SimState, form: &Params, app: &AppSpec, ctx: &Ctx) -> Grant {
    let Some(rt) = form.get("refresh_token") else {
        return Err((AadError::new(900144, &ctx.clone().with("parameter", "refresh_token")), None));
    };
    let Some(grant) = st.flows.refresh_tokens.get(rt).cloned() else {
        return Err((AadError::new(9002313, ctx), None));
    };
    let upn = Some(grant.upn.clone());
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return Err((AadError::new(70000, ctx), upn));
    }
    let Some(account) = st.dir.account(&grant.upn) else {
        return Err((AadError::new(50034, ctx), upn));
    };
    let scopes: Vec<String> =
        form.get("scope").map_or_else(|| grant.scopes.clone(), |s| s.split_whitespace().map(str::to_owned).collect());
    let ctx = ctx.clone().with("upn", grant.upn.clone()).with("issued", clock::aad_timestamp(grant.issued_unix));
    let client_info = form.get("client_info") == Some("1");
    match user_tokens(shared, st, app, &account, &grant.tenant_id, &scopes, None, client_info, &ctx) {
        Ok((body, refresh_token)) => Ok(Issued { body, account: upn, code: None, device: None, refresh_token }),
        Err(e) => Err((e, upn)),
    }
}

fn redeem_device(shared: &Shared, st: &mut SimState, form: &Params, app: &AppSpec, ctx: &Ctx) -> Grant {
    let Some(device_code) = form.get("device_code").or_else(|| form.get("code")).map(str::to_owned) else {
        return Err((AadError::new(900144, &ctx.clone().with("parameter", "device_code")), None));
    };
    let now = clock::instant_now();
    let Some(grant) = st.flows.device.get(&device_code).cloned() else {
        return Err((AadError::new(70018, ctx), None));
    };
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return Err((AadError::new(70018, ctx), None));
    }
    if now >= grant.expires {
        return Err((AadError::new(70019, ctx), None));
    }
    let polled_too_fast = grant.last_poll.is_some_and(|last| now.duration_since(last) < grant.interval / 2);
    if let Some(g) = st.flows.device.get_mut(&device_code) {
        g.last_poll = Some(now);
    }
    let status = match (&grant.status, shared.auto_login()) {
        (DeviceStatus::Pending, Some(upn)) => auto_approve_device(shared, st, &device_code, &grant, &upn),
        (status, _) => status.clone(),
    };
    match status {
        DeviceStatus::Pending if polled_too_fast => {
            Err((AadError::new(70016, ctx).with_error(Some("slow_down")), None))
        }
        DeviceStatus::Pending => Err((AadError::new(70016, ctx), None)),
        DeviceStatus::Declined => Err((AadError::new(70020, ctx), None)),
        DeviceStatus::Redeemed => Err((AadError::new(70018, ctx), None)),
        DeviceStatus::Failed(err) => {
            if let Some(g) = st.flows.device.get_mut(&device_code) {
                g.status = DeviceStatus::Redeemed;
            }
            Err((err, None))
        }
        DeviceStatus::Approved { upn, tenant_id } => {
            let Some(account) = st.dir.account(&upn) else {
                return Err((AadError::new(50034, ctx), Some(upn)));
            };
            let ctx = ctx.clone().with("upn", upn.clone());
            let client_info = form.get("client_info") == Some("1");
            let previous = st.flows.device.get(&device_code).map(|d| d.status.clone());
            match user_tokens(shared, st, app, &account, &tenant_id, &grant.scopes, None, client_info, &ctx) {
                Ok((body, refresh_token)) => {
                    if let Some(g) = st.flows.device.get_mut(&device_code) {
                        g.status = DeviceStatus::Redeemed;
                    }
                    Ok(Issued {
                        body,
                        account: Some(upn),
                        code: None,
                        device: previous.map(|p| (device_code.clone(), p)),
                        refresh_token,
                    })
                }
                Err(e) => Err((e, Some(upn))),
            }
        }
    }
}

/// Auto mode: the device code is approved as `upn` the first time it is polled, with the same checks and
/// consent rules as the device login pages.
fn auto_approve_device(
    shared: &Shared,
    st: &mut SimState,
    device_code: &str,
    grant: &DeviceGrant,
    upn: &str,
) -> DeviceStatus {
    let ctx_id = clock::opaque::<18>();
    st.flows.interactions.insert(
        ctx_id.clone(),
        Interaction {
            kind: Kind::Device { device_code: device_code.to_owned() },
            tenant_segment: "organizations".to_owned(),
            tenant_path: grant.tenant_path.clone(),
            client_id: grant.client_id.clone(),
            stage: Stage::PickAccount,
        },
    );
    let _page = with_account(shared, st, &ctx_id, upn, true);
    st.flows.interactions.remove(&ctx_id);
    st.flows.device.get(device_code).map_or(DeviceStatus::Redeemed, |g| g.status.clone())
}

fn client_credentials_grant(
    shared: &Shared,
    st: &mut SimState,
    form: &Params,
    app: &AppSpec,
    tenant_path: &TenantPath,
    ctx: &Ctx,
) -> Grant {
    let Some(tenant_id) = st.dir.path_tenant_id(tenant_path) else {
        return Err((AadError::new(50059, ctx), None));
    };
    let scopes = form.scopes();
    let [scope] = scopes.as_slice() else {
        return Err((
            AadError::new(
                if scopes.is_empty() { 900144 } else { 1002012 },
                &ctx.clone().with("parameter", "scope").with("scope", scopes.join(" ")),
            ),
            None,
        ));
    };
    let resource = match parse_scope(scope) {
        ScopeItem::Default { resource } => resources::by_key(resource).unwrap_or(&GRAPH),
        ScopeItem::UnknownResource { resource } => {
            return Err((AadError::new(500011, &ctx.clone().with("resource", resource)), None));
        }
        _ => return Err((AadError::new(1002012, &ctx.clone().with("scope", scope.clone())), None)),
    };
    let now_instant = clock::instant_now();
    let ctx = ctx.clone().with("tenant_name", st.dir.tenant_name(&tenant_id)).with("client_id", app.client_id.clone());
    if !st.dir.sp_visible(&tenant_id, &app.client_id, now_instant) {
        return Err((AadError::new(700016, &ctx), None));
    }
    if st.dir.app_disabled_in(&tenant_id, &app.client_id) {
        return Err((AadError::new(7000112, &ctx), None));
    }
    let roles = st.dir.app_roles(&tenant_id, &app.client_id, resource, now_instant);
    let sp_id = st.dir.service_principal(&tenant_id, &app.client_id).map(|s| s.object_id.clone()).unwrap_or_default();
    let now = clock::unix_now();
    let mut claims = json!({
        "aud": resource.audience,
        "iss": format!("{}{tenant_id}/v2.0", shared.login_base),
        "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_SECS,
        "tid": tenant_id,
        "oid": sp_id,
        "sub": sp_id,
        "azp": app.client_id,
        "appid": app.client_id,
        "idtyp": "app",
        "uti": clock::opaque::<16>(),
        "ver": "2.0",
    });
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    let body = json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECS,
        "ext_expires_in": ACCESS_TOKEN_SECS,
        "access_token": shared.signer.sign(&claims),
    });
    Ok(Issued { body, account: None, code: None, device: None, refresh_token: None })
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
}
