//! `GET /v1.0/tenantRelationships/...`: the partner's GDAP customers, relationships and access assignments
//! (delegated `DelegatedAdminRelationship.Read.All`; application permissions are not supported, as documented).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::{authorize, graph_error, graph_ok, with_context};
use crate::sim::Shared;
use crate::sim::partner;

const READ_RELATIONSHIPS: &[&str] =
    &["DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All"];

/// `GET /v1.0/tenantRelationships/delegatedAdminCustomers`.
pub async fn customers(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&shared, &headers, READ_RELATIONSHIPS) {
        return r;
    }
    let value = partner::customers_json(&shared.lock().dir.scenario.partner);
    graph_ok(&headers, with_context(&shared, "tenantRelationships/delegatedAdminCustomers", json!({ "value": value })))
}

/// `GET /v1.0/tenantRelationships/delegatedAdminRelationships`.
pub async fn relationships(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&shared, &headers, READ_RELATIONSHIPS) {
        return r;
    }
    let now = shared.clock.unix();
    let value: Vec<_> = shared.lock().dir.scenario.partner.relationships.iter().map(|r| r.json(now)).collect();
    graph_ok(
        &headers,
        with_context(&shared, "tenantRelationships/delegatedAdminRelationships", json!({ "value": value })),
    )
}

/// `GET /v1.0/tenantRelationships/delegatedAdminRelationships/{id}/accessAssignments`.
pub async fn access_assignments(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&shared, &headers, READ_RELATIONSHIPS) {
        return r;
    }
    let now = shared.clock.unix();
    let found = shared
        .lock()
        .dir
        .scenario
        .partner
        .relationships
        .iter()
        .find(|r| r.id().eq_ignore_ascii_case(&id))
        .map(|r| r.assignments_json(now));
    match found {
        Some(value) => {
            let context = format!("tenantRelationships/delegatedAdminRelationships('{id}')/accessAssignments");
            graph_ok(&headers, with_context(&shared, &context, json!({ "value": value })))
        }
        None => graph_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The delegated admin relationship '{id}' was not found."),
            &headers,
        ),
    }
}
