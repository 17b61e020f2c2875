//! The simulated `graph.microsoft.com` and Teams admin hosts.
//!
//! Serves the Graph endpoints the wizard reads, with Microsoft's shapes and limits (`docs/microsoft-apis.md` B1-B3):
//! the error envelope and `request-id` / `client-request-id` headers on every answer, authorization from the
//! token's scopes or roles, paging, `$batch`, and scenario faults (429 with `Retry-After`, 503, delays) applied to
//! single requests and to `$batch` items alike. Unknown routes answer loudly so a client calling something the
//! simulator does not implement fails visibly instead of silently.

mod apps;
mod batch;
mod partner;
mod photos;
mod teams;
mod throttle;
mod users;

pub use apps::{sku, sku_names};
pub use throttle::{ReadThrottle, documented_quota, resource_units};

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::directory::Account;
use super::scenario::KNOWN_ROLES;
use super::{FaultProbe, Shared, clock};

/// Router of the Graph host. `$batch` runs its items through the same router, faults included.
pub fn router(shared: &Arc<Shared>) -> Router {
    let router = Router::new()
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/v1.0/me", get(me))
        .route("/v1.0/me/transitiveMemberOf", get(my_memberships))
        .route("/v1.0/me/memberOf", get(my_memberships))
        .route("/v1.0/me/licenseDetails", get(my_license_details))
        .route("/v1.0/users/{id}/licenseDetails", get(users::license_details))
        .route("/v1.0/tenantRelationships/delegatedAdminCustomers", get(partner::customers))
        .route(
            "/v1.0/tenantRelationships/delegatedAdminCustomers/{id}/serviceManagementDetails",
            get(partner::service_management),
        )
        .route("/v1.0/tenantRelationships/delegatedAdminRelationships", get(partner::relationships))
        .route(
            "/v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments",
            get(partner::access_assignments),
        )
        .route("/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole", get(my_roles))
        .route("/v1.0/me/transitiveMemberOf/microsoft.graph.group", get(my_groups))
        .route("/v1.0/organization", get(organization))
        .route("/v1.0/subscribedSkus", get(apps::subscribed_skus))
        .route("/v1.0/servicePrincipals", get(apps::service_principals))
        .route("/v1.0/servicePrincipals/{id}", get(apps::service_principal))
        .route("/v1.0/servicePrincipals/{id}/appRoleAssignments", get(apps::app_role_assignments))
        .route("/v1.0/oauth2PermissionGrants", get(apps::permission_grants))
        .route("/v1.0/users", get(users::list))
        .route("/v1.0/users/$count", get(users::count))
        .route("/v1.0/users/delta", get(users::delta))
        .route("/v1.0/users/{id}", get(users::one))
        .route("/v1.0/users/{id}/manager", get(users::manager))
        .route("/v1.0/users/{id}/photo", get(photos::metadata))
        .route("/v1.0/users/{id}/photo/$value", get(photos::largest))
        .route("/v1.0/users/{id}/photos", get(photos::sizes))
        .route("/v1.0/users/{id}/photos/{size}/$value", get(photos::sized))
        .route("/v1.0/appCatalogs/teamsApps", get(teams::list_apps).post(teams::publish))
        .route("/v1.0/appCatalogs/teamsApps/{id}/appDefinitions", post(teams::publish_version))
        .route("/v1.0/users/{id}/teamwork/installedApps", get(teams::installed).post(teams::install))
        .route("/v1.0/me/teamwork/installedApps", get(teams::my_installed).post(teams::my_install))
        .route("/v1.0/$batch", post(batch::batch))
        .fallback(no_route_graph)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), read_throttle))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), graph_faults))
        .with_state(shared.clone());
    let _already = shared.graph_router.set(router.clone());
    router
}

/// Applies the scenario's Graph faults: a delay, and/or Microsoft's throttling or outage answer.
async fn graph_faults(State(shared): State<Arc<Shared>>, request: Request, next: axum::middleware::Next) -> Response {
    apply_faults(&shared, "graph", request, next).await
}

/// Charges identity requests to the calling app's resource-unit quota; refuses them with Microsoft's 429 when it is
/// spent (`throttle`). Requests without a valid token go on to the handler's 401.
async fn read_throttle(State(shared): State<Arc<Shared>>, request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    if !throttle::counted(path) {
        return next.run(request).await;
    }
    let Ok(claims) = bearer_claims(&shared, request.headers(), super::resources::GRAPH.audience) else {
        return next.run(request).await;
    };
    let app = claims.get("appid").or_else(|| claims.get("azp")).and_then(Value::as_str).unwrap_or_default();
    let tenant = claims.get("tid").and_then(Value::as_str).unwrap_or_default().to_owned();
    let cost = throttle::cost(request.method().as_str(), path, request.uri().query());
    let taken = {
        let mut st = shared.lock();
        let (quota, burst) = (st.read_quota, st.read_burst_seconds);
        st.read_throttle.take(app, cost, quota, burst, shared.clock.instant())
    };
    match taken {
        Ok(used) => {
            let mut response = next.run(request).await;
            set_header(&mut response, "x-ms-resource-unit", &cost.to_string());
            if used >= 0.8 {
                set_header(&mut response, "x-ms-throttle-limit-percentage", &format!("{used:.1}"));
            }
            response
        }
        Err(wait) => {
            let mut response =
                graph_error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.", request.headers());
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            set_header(&mut response, "retry-after", &secs.to_string());
            set_header(&mut response, "x-ms-throttle-scope", &format!("Tenant_Application/Read/{app}/{tenant}"));
            set_header(&mut response, "x-ms-throttle-information", "ResourceUnitLimitExceeded");
            response
        }
    }
}

/// Applies the faults of `endpoint` (`graph`, `teams-admin`) to one request.
pub(super) async fn apply_faults(
    shared: &Shared,
    endpoint: &'static str,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let hit = {
        let mut st = shared.lock();
        let method = request.method().to_string();
        st.take_fault(FaultProbe {
            endpoint,
            path: Some(request.uri().path()),
            method: Some(&method),
            ..Default::default()
        })
    };
    let Some(hit) = hit else {
        return next.run(request).await;
    };
    if hit.spec.delay_ms > 0 {
        tokio::time::sleep(hit.delay()).await;
    }
    if let Some(kind) = hit.spec.body
        && hit.spec.status.is_none()
    {
        // Inside `$batch` a broken body would break the whole batch's answer, not the item's: items get theirs.
        if request.headers().contains_key(BATCH_ITEM_HEADER) {
            return next.run(request).await;
        }
        return broken_body(kind, std::time::Duration::from_millis(hit.spec.drip_ms), request, next).await;
    }
    let Some(status) = hit.spec.status.and_then(|s| StatusCode::from_u16(s).ok()) else {
        return next.run(request).await;
    };
    // Graph checks the token of a `$batch` once, for the whole batch: an expired token is never an item's answer.
    if status == StatusCode::UNAUTHORIZED && request.headers().contains_key(BATCH_ITEM_HEADER) {
        return next.run(request).await;
    }
    let code = hit.spec.graph_code.clone().unwrap_or_else(|| {
        match status.as_u16() {
            429 => "TooManyRequests",
            503 => "serviceNotAvailable",
            504 => "gatewayTimeout",
            401 => "InvalidAuthenticationToken",
            403 => "Authorization_RequestDenied",
            _ => "generalException",
        }
        .to_owned()
    });
    let message = match status.as_u16() {
        429 => "Too many requests.",
        503 => "The service is temporarily unavailable. Please try again later.",
        401 => "Lifetime validation failed, the token is expired.",
        _ => "The simulated tenant injected this failure.",
    };
    let mut response = graph_error(status, &code, message, request.headers());
    if let Some(secs) = hit.spec.retry_after_secs {
        let text = if secs.fract() == 0.0 { format!("{}", secs as u64) } else { format!("{secs}") };
        set_header(&mut response, "retry-after", &text);
    }
    response
}

pub use teams::TEAMS_ADMIN_ROLES;

/// Marks a request the simulator runs for an item of a `$batch`.
pub(crate) const BATCH_ITEM_HEADER: &str = "x-simulator-batch-item";

/// The real answer with its body broken as `kind` says.
pub(in crate::sim) async fn broken_body(
    kind: super::scenario::BodyFault,
    drip: std::time::Duration,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    use super::scenario::BodyFault;
    use futures_util::stream;
    if kind == BodyFault::Malformed {
        let mut response =
            (StatusCode::OK, r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata","value":[{"id":"#)
                .into_response();
        set_header(&mut response, "content-type", "application/json; odata.metadata=minimal");
        return response;
    }
    let (parts, body) = next.run(request).await.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let full = bytes.len();
    let cut = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the simulated network cut the answer");
    let body = match kind {
        BodyFault::Truncated => {
            let half = bytes.slice(..full / 2);
            axum::body::Body::from_stream(stream::iter([Ok::<_, std::io::Error>(half), Err(cut())]))
        }
        BodyFault::Reset => axum::body::Body::from_stream(stream::iter([Err::<axum::body::Bytes, _>(cut())])),
        BodyFault::Drip | BodyFault::Malformed => {
            let pieces: Vec<axum::body::Bytes> = bytes.chunks(8).map(axum::body::Bytes::copy_from_slice).collect();
            axum::body::Body::from_stream(stream::unfold(pieces.into_iter(), move |mut rest| async move {
                let piece = rest.next()?;
                tokio::time::sleep(drip).await;
                Some((Ok::<_, std::io::Error>(piece), rest))
            }))
        }
    };
    let mut response = Response::from_parts(parts, body);
    if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
        response.headers_mut().insert(axum::http::header::CONTENT_LENGTH, v);
    }
    response
}

/// The `teams-admin` faults, for the Teams admin host's router.
pub async fn apply_faults_for_teams_admin(shared: &Shared, request: Request, next: axum::middleware::Next) -> Response {
    apply_faults(shared, "teams-admin", request, next).await
}

/// A Graph error answer: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub fn graph_error(status: StatusCode, code: &str, message: &str, request_headers: &HeaderMap) -> Response {
    graph_error_with_inner(status, code, None, message, request_headers)
}

/// A Graph error answer whose `innerError` also carries a more specific `code` (e.g. `AccessDenied` under
/// `Forbidden` when Teams blocks an app).
pub fn graph_error_with_inner(
    status: StatusCode,
    code: &str,
    inner_code: Option<&str>,
    message: &str,
    request_headers: &HeaderMap,
) -> Response {
    let request_id = clock::new_guid();
    let client_request_id = request_headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let mut inner = json!({
        "date": clock::graph_date(clock::unix_now()),
        "request-id": request_id,
        "client-request-id": client_request_id,
    });
    if let Some(c) = inner_code {
        inner["code"] = json!(c);
    }
    let body = json!({ "error": { "code": code, "message": message, "innerError": inner } });
    let mut response = (status, axum::Json(body)).into_response();
    set_header(&mut response, "request-id", &request_id);
    set_header(&mut response, "client-request-id", &client_request_id);
    response
}

pub(super) fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

/// Claims of a valid bearer token for `audience`, or the Graph 401 Microsoft sends.
pub fn bearer_claims(shared: &Shared, headers: &HeaderMap, audience: &str) -> Result<Value, Response> {
    let unauthorized =
        |message: &str| graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message, headers);
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Access token is empty."));
    };
    let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) else {
        return Err(unauthorized("Access token is empty."));
    };
    let Some(claims) = shared.signer.verify(token, shared.clock.unix()) else {
        return Err(unauthorized("Lifetime validation failed, the token is expired."));
    };
    if claims.get("aud").and_then(Value::as_str) != Some(audience) {
        return Err(unauthorized("Invalid audience."));
    }
    Ok(claims)
}

/// `GET /oidc/userinfo`: the OpenID Connect user info of the token's user.
async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let claims = match bearer_claims(&shared, &headers, super::resources::GRAPH.audience) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let Some(upn) = claims.get("preferred_username").and_then(Value::as_str) else {
        return graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "The token has no user.", &headers);
    };
    let account = shared.lock().dir.account(upn);
    let Some(account) = account else {
        return graph_error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", "The user does not exist.", &headers);
    };
    let name = &account.spec.display_name;
    let (given, family) = name.split_once(' ').unwrap_or((name.as_str(), ""));
    axum::Json(json!({
        "sub": claims.get("sub"),
        "name": name,
        "given_name": given,
        "family_name": family,
        "email": account.spec.mail.clone().unwrap_or_else(|| account.spec.upn.clone()),
    }))
    .into_response()
}

async fn no_route_graph(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let query = request.uri().query().map(str::to_owned);
    // `servicePrincipals(appId='…')` is an OData key segment, not a path the router can match.
    let decoded = url::form_urlencoded::parse(format!("p={path}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if method == axum::http::Method::GET
        && let Some(app_id) = decoded.strip_prefix("/v1.0/servicePrincipals(appId='").and_then(|r| r.strip_suffix("')"))
    {
        return apps::service_principal_by_app_id(&shared, request.headers(), app_id, query.as_deref());
    }
    tracing::warn!("simulated Graph has no route for {method} {path}");
    graph_error(
        StatusCode::NOT_FOUND,
        "SimulatorNoRoute",
        &format!(
            "The simulated tenant has no Graph route for {method} {path}. The client called an API the simulator does not implement."
        ),
        request.headers(),
    )
}

/// `body` with Graph's `@odata.context` for `fragment` (what follows `$metadata#`, e.g. `users/$entity`), as
/// every Graph answer carries, single entities included.
pub(super) fn with_context(shared: &Shared, fragment: &str, mut body: Value) -> Value {
    if let Value::Object(obj) = &mut body {
        obj.insert("@odata.context".into(), json!(format!("{}v1.0/$metadata#{fragment}", shared.graph_base)));
    }
    body
}

/// A Graph success answer with Graph's headers.
#[expect(clippy::needless_pass_by_value, reason = "handlers hand over the JSON they built, as to axum::Json")]
pub(super) fn graph_ok(request_headers: &HeaderMap, body: Value) -> Response {
    graph_ok_bytes(request_headers, serde_json::to_vec(&body).unwrap_or_default())
}

/// A Graph success answer of JSON already written, with Graph's headers.
pub(super) fn graph_ok_bytes(request_headers: &HeaderMap, body: Vec<u8>) -> Response {
    let request_id = clock::new_guid();
    let client_request_id = request_headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let mut response = body.into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(
            "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        ),
    );
    set_header(&mut response, "request-id", &request_id);
    set_header(&mut response, "client-request-id", &client_request_id);
    set_header(
        &mut response,
        "x-ms-ags-diagnostic",
        r#"{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"sim"}}"#,
    );
    response
}

/// What a Graph token allows: delegated scopes (`scp`) or application roles (`roles`).
pub(super) struct Caller {
    claims: Value,
}

impl Caller {
    pub(super) fn tenant_id(&self) -> &str {
        self.claims.get("tid").and_then(Value::as_str).unwrap_or_default()
    }

    /// True when the token's `wids` hold one of these role template ids.
    pub(super) fn has_role(&self, templates: &[&str]) -> bool {
        self.claims.get("wids").and_then(Value::as_array).is_some_and(|w| {
            w.iter().filter_map(Value::as_str).any(|id| templates.iter().any(|t| t.eq_ignore_ascii_case(id)))
        })
    }

    pub(super) fn upn(&self) -> Option<&str> {
        self.claims.get("preferred_username").and_then(Value::as_str)
    }

    /// True when the token carries any of `permissions` as a scope or an app role.
    pub(super) fn has_any(&self, permissions: &[&str]) -> bool {
        let scopes = self.claims.get("scp").and_then(Value::as_str).unwrap_or_default();
        let roles: Vec<&str> = self
            .claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        permissions.iter().any(|p| {
            scopes.split(' ').any(|s| s.eq_ignore_ascii_case(p)) || roles.iter().any(|r| r.eq_ignore_ascii_case(p))
        })
    }
}

/// Checks the bearer token and that it carries one of `permissions`; Graph's 401 or 403 otherwise.
pub(super) fn authorize(shared: &Shared, headers: &HeaderMap, permissions: &[&str]) -> Result<Caller, Response> {
    let claims = bearer_claims(shared, headers, super::resources::GRAPH.audience)?;
    let caller = Caller { claims };
    if caller.has_any(permissions) {
        Ok(caller)
    } else {
        Err(graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
            headers,
        ))
    }
}

/// Permissions that let a signed-in user read their own profile and memberships.
const READ_SELF: &[&str] =
    &["User.Read", "User.ReadWrite", "User.Read.All", "Directory.Read.All", "Directory.AccessAsUser.All"];

/// The signed-in user of a delegated token.
fn signed_in_user(shared: &Shared, headers: &HeaderMap, caller: &Caller) -> Result<Account, Response> {
    let account = caller.upn().and_then(|upn| shared.lock().dir.account(upn));
    account.ok_or_else(|| {
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
            headers,
        )
    })
}

fn user_json(account: &Account) -> Value {
    let spec = &account.spec;
    let (given, surname) = spec.display_name.split_once(' ').unwrap_or((spec.display_name.as_str(), ""));
    json!({
        "businessPhones": [],
        "displayName": spec.display_name,
        "givenName": given,
        "jobTitle": spec.job_title,
        "mail": spec.mail.clone().unwrap_or_else(|| spec.upn.clone()),
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": spec.upn,
        "id": account.object_id,
    })
}

/// `GET /v1.0/me`.
async fn me(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let result = authorize(&shared, &headers, READ_SELF).and_then(|c| signed_in_user(&shared, &headers, &c));
    match result {
        Ok(account) => {
            let mut body = user_json(&account);
            body["@odata.context"] = json!(format!("{}v1.0/$metadata#users/$entity", shared.graph_base));
            graph_ok(&headers, body)
        }
        Err(response) => response,
    }
}

/// `GET /v1.0/me/licenseDetails`: the signed-in user's licences (`User.Read` suffices), which tell whether they
/// have Teams.
async fn my_license_details(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let result = authorize(&shared, &headers, READ_SELF).and_then(|c| signed_in_user(&shared, &headers, &c));
    match result {
        Ok(account) => {
            let context = format!("users('{}')/licenseDetails", account.object_id);
            let value = apps::license_details(&account);
            graph_ok(&headers, with_context(&shared, &context, json!({ "value": value })))
        }
        Err(response) => response,
    }
}

/// `GET /v1.0/me/memberOf` and `/v1.0/me/transitiveMemberOf`: the user's directory roles and security groups
/// (the simulator has no nested groups, so direct and transitive agree). With only `User.Read` Microsoft returns
/// these in full (observed), so the simulator does too.
async fn my_memberships(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    memberships(&shared, &headers, true, true)
}

/// `GET /v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole`: the roles alone (the cast filters by type).
async fn my_roles(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    memberships(&shared, &headers, true, false)
}

/// `GET /v1.0/me/transitiveMemberOf/microsoft.graph.group`: the security groups alone.
async fn my_groups(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    memberships(&shared, &headers, false, true)
}

fn memberships(shared: &Arc<Shared>, headers: &HeaderMap, roles: bool, groups: bool) -> Response {
    let result =
        authorize(shared, headers, READ_SELF).and_then(|c| signed_in_user(shared, headers, &c).map(|a| (c, a)));
    let (caller, account) = match result {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let mut value: Vec<Value> = Vec::new();
    if roles && account.spec.roles_in_graph {
        value.extend(account.spec.roles.iter().filter_map(|name| KNOWN_ROLES.iter().find(|(n, _)| n == name)).map(
            |(name, template)| {
                json!({
                    "@odata.type": "#microsoft.graph.directoryRole",
                    "id": clock::stable_guid("directory-role", &format!("{}/{template}", caller.tenant_id())),
                    "deletedDateTime": null,
                    "description": format!("{name} role"),
                    "displayName": name,
                    "roleTemplateId": template,
                })
            },
        ));
    }
    if groups {
        value.extend(account.spec.groups.iter().map(|name| {
            json!({
                "@odata.type": "#microsoft.graph.group",
                "id": crate::sim::partner::group_id(name),
                "deletedDateTime": null,
                "displayName": name,
                "description": null,
                "mailEnabled": false,
                "securityEnabled": true,
                "groupTypes": [],
            })
        }));
    }
    graph_ok(
        headers,
        json!({ "@odata.context": format!("{}v1.0/$metadata#directoryObjects", shared.graph_base), "value": value }),
    )
}

/// `GET /v1.0/organization`: the caller's tenant.
async fn organization(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let caller = match authorize(&shared, &headers, &["User.Read", "Organization.Read.All", "Directory.Read.All"]) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let st = shared.lock();
    let tid = caller.tenant_id().to_owned();
    let scenario = &st.dir.scenario;
    let (name, domains) = if tid == scenario.tenant.tenant_id {
        (scenario.tenant.display_name.clone(), scenario.tenant.domains.clone())
    } else {
        match scenario.external_tenants.iter().find(|t| t.tenant_id == tid) {
            Some(t) => (t.display_name.clone(), vec![t.domain.clone()]),
            None => (tid.clone(), Vec::new()),
        }
    };
    drop(st);
    let verified: Vec<Value> = domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": i == domains.len().saturating_sub(1),
                "isInitial": i == 0,
                "name": d,
                "type": "Managed",
            })
        })
        .collect();
    graph_ok(
        &headers,
        json!({
            "@odata.context": format!("{}v1.0/$metadata#organization", shared.graph_base),
            "value": [{ "id": tid, "displayName": name, "verifiedDomains": verified, "tenantType": "AAD" }],
        }),
    )
}
