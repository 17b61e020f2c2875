//! The simulated `graph.microsoft.com` and Teams admin hosts.
//!
//! This layer serves what the identity platform itself points at (`/oidc/userinfo`) and the shapes every Graph
//! answer shares: the error envelope and the `request-id` / `client-request-id` headers. Unknown routes answer
//! loudly so a client calling something the simulator does not implement fails visibly instead of silently.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::{Shared, clock};

/// Router of the Graph host.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().route("/oidc/userinfo", get(userinfo).post(userinfo)).fallback(no_route_graph).with_state(shared)
}

/// Router of the Teams admin configuration host.
pub fn teams_admin_router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(no_route_teams).with_state(shared)
}

/// A Graph error answer: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub fn graph_error(status: StatusCode, code: &str, message: &str, request_headers: &HeaderMap) -> Response {
    let request_id = clock::new_guid();
    let client_request_id = request_headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": clock::graph_date(clock::unix_now()),
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    });
    let mut response = (status, axum::Json(body)).into_response();
    set_header(&mut response, "request-id", &request_id);
    set_header(&mut response, "client-request-id", &client_request_id);
    response
}

fn set_header(response: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}

/// Claims of a valid bearer token for `audience`, or the Graph 401 Microsoft sends.
#[expect(clippy::result_large_err, reason = "the error is the finished HTTP answer; handlers return it as is")]
pub fn bearer_claims(shared: &Shared, headers: &HeaderMap, audience: &str) -> Result<Value, Response> {
    let unauthorized =
        |message: &str| graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message, headers);
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Access token is empty."));
    };
    let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) else {
        return Err(unauthorized("Access token is empty."));
    };
    let Some(claims) = shared.signer.verify(token, clock::unix_now()) else {
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

async fn no_route_graph(request: Request) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
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

async fn no_route_teams(request: Request) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    tracing::warn!("simulated Teams admin API has no route for {method} {path}");
    graph_error(
        StatusCode::NOT_FOUND,
        "SimulatorNoRoute",
        &format!("The simulated tenant has no Teams admin route for {method} {path}."),
        request.headers(),
    )
}
