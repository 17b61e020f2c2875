//! `POST /v1.0/$batch`: up to 20 requests with unique ids, each run through the Graph router itself (so faults,
//! throttling and authorization apply per item, as in Microsoft's implementation); `dependsOn` orders them and a
//! failed dependency fails its dependents with 424. The outer answer is 200 whatever the items did, 400 when the
//! batch itself is malformed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

use super::{graph_error, graph_ok};
use crate::sim::Shared;

/// Microsoft's limit on requests in one batch.
pub const MAX_REQUESTS: usize = 20;

#[derive(Deserialize)]
struct BatchBody {
    requests: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default, rename = "dependsOn")]
    depends_on: Vec<String>,
}

fn bad_request(headers: &HeaderMap, message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "BadRequest", message, headers)
}

/// Checks the batch as a whole: size, unique ids, dependencies on earlier items only, bodies with a content type.
fn validate(batch: &BatchBody, headers: &HeaderMap) -> Result<(), Response> {
    if batch.requests.is_empty() {
        return Err(bad_request(headers, "Invalid batch payload format: the batch has no requests."));
    }
    if batch.requests.len() > MAX_REQUESTS {
        return Err(bad_request(
            headers,
            &format!("Number of batch request steps exceeds the maximum of {MAX_REQUESTS}."),
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    for item in &batch.requests {
        if seen.contains(&item.id.as_str()) {
            return Err(bad_request(headers, &format!("Request Id '{}' must be unique within a batch.", item.id)));
        }
        if let Some(missing) = item.depends_on.iter().find(|d| !seen.contains(&d.as_str())) {
            return Err(bad_request(
                headers,
                &format!("Request '{}' depends on '{missing}', which is not an earlier request of the batch.", item.id),
            ));
        }
        if item.body.is_some() && !item.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
            return Err(bad_request(headers, &format!("Request '{}' has a body but no Content-Type header.", item.id)));
        }
        seen.push(&item.id);
    }
    Ok(())
}

/// `POST /v1.0/$batch`.
pub async fn batch(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: BatchBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(&headers, &format!("Invalid batch payload format: {e}")),
    };
    if let Err(r) = validate(&parsed, &headers) {
        return r;
    }
    let Some(router) = shared.graph_router.get().cloned() else {
        return graph_error(StatusCode::INTERNAL_SERVER_ERROR, "generalException", "Batching is not ready.", &headers);
    };
    // Independent items run at once, as at Microsoft; an item with `dependsOn` waits for everything before it.
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::with_capacity(parsed.requests.len());
    let mut running: tokio::task::JoinSet<(String, u16, Value)> = tokio::task::JoinSet::new();
    for item in parsed.requests {
        if !item.depends_on.is_empty() {
            while let Some(done) = running.join_next().await {
                if let Ok((id, status, response)) = done {
                    statuses.insert(id, status);
                    responses.push(response);
                }
            }
            let failed_dependency =
                item.depends_on.iter().any(|d| statuses.get(d).is_none_or(|s| !(200..300).contains(s)));
            let (status, item_headers, item_body) = if failed_dependency {
                (
                    424,
                    Map::from_iter([("Content-Type".to_owned(), json!("application/json"))]),
                    json!({ "error": { "code": "FailedDependency", "message": "The request depends on a request of the batch that failed." } }),
                )
            } else {
                run_item(&router, &headers, &item, &shared.recorder).await
            };
            statuses.insert(item.id.clone(), status);
            responses.push(json!({ "id": item.id, "status": status, "headers": item_headers, "body": item_body }));
            continue;
        }
        let (router, headers, recorder) = (router.clone(), headers.clone(), shared.recorder.clone());
        running.spawn(async move {
            let (status, item_headers, item_body) = run_item(&router, &headers, &item, &recorder).await;
            let response = json!({ "id": item.id, "status": status, "headers": item_headers, "body": item_body });
            (item.id, status, response)
        });
    }
    while let Some(done) = running.join_next().await {
        if let Ok((id, status, response)) = done {
            statuses.insert(id, status);
            responses.push(response);
        }
    }
    graph_ok(&headers, json!({ "responses": responses }))
}

/// Runs one item through the router with the outer request's authorization; returns status, headers and body
/// (JSON as JSON, anything else base64-encoded, as Graph does for binary content such as photos).
async fn run_item(
    router: &axum::Router,
    outer: &HeaderMap,
    item: &Item,
    recorder: &crate::sim::recorder::Recorder,
) -> (u16, Map<String, Value>, Value) {
    let url = format!("/v1.0/{}", item.url.trim_start_matches('/').trim_start_matches("v1.0/"));
    let arrived = crate::sim::clock::instant_now();
    let mut builder =
        Request::builder().method(item.method.as_str()).uri(url.as_str()).header(super::BATCH_ITEM_HEADER, "1");
    for name in ["authorization", "client-request-id"] {
        if let Some(v) = outer.get(name) {
            builder = builder.header(name, v);
        }
    }
    for (k, v) in &item.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = item.body.as_ref().map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let request = match builder.body(body) {
        Ok(r) => r,
        Err(e) => {
            return (
                400,
                Map::new(),
                json!({ "error": { "code": "BadRequest", "message": format!("Invalid request in batch: {e}") } }),
            );
        }
    };
    let Ok(response) = router.clone().oneshot(request).await;
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for name in ["content-type", "retry-after", "location", "etag"] {
        if let Some(v) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            let display = match name {
                "content-type" => "Content-Type",
                "retry-after" => "Retry-After",
                "location" => "Location",
                _ => "ETag",
            };
            headers.insert(display.to_owned(), json!(v));
        }
    }
    let is_json = crate::sim::recorder::is_json(response.headers());
    let bytes = response.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    let body = if bytes.is_empty() {
        Value::Null
    } else if is_json {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    } else {
        json!(base64::engine::general_purpose::STANDARD.encode(&bytes))
    };
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    recorder.push(crate::sim::recorder::RecordedRequest {
        seq: 0,
        host: crate::sim::recorder::Host::Graph,
        method: item.method.clone(),
        path: path.to_owned(),
        query: query.to_owned(),
        form: Vec::new(),
        client_request_id: outer.get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
        bearer: None,
        status,
        via_batch: true,
        arrived,
        answered: crate::sim::clock::instant_now(),
        answer: (is_json && recorder.keeps_answers()).then(|| std::sync::Arc::new(body.clone())),
    });
    (status, headers, body)
}
