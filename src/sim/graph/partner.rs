//! `GET /v1.0/tenantRelationships/...`: the partner's GDAP customers, relationships and access assignments
//! (delegated `DelegatedAdminRelationship.Read.All`; application permissions are not supported, as documented).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
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

/// Most relationships in one page (Graph's `$top` limit for this list).
const MAX_PAGE: usize = 300;

/// `GET /v1.0/tenantRelationships/delegatedAdminRelationships`: paged by `$top` (at most 300, the default too) with
/// an `@odata.nextLink` carrying a `$skiptoken`.
pub async fn relationships(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&shared, &headers, READ_RELATIONSHIPS) {
        return r;
    }
    let top = match query.get("$top").map(|t| t.parse::<usize>()) {
        None => MAX_PAGE,
        Some(Ok(t)) if (1..=MAX_PAGE).contains(&t) => t,
        Some(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Invalid $top value: it must be between 1 and {MAX_PAGE}."),
                &headers,
            );
        }
    };
    let skip = query.get("$skiptoken").and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
    let now = shared.clock.unix();
    let all = shared.lock().dir.scenario.partner.all();
    let value: Vec<_> = all.iter().skip(skip).take(top).map(|r| r.json(now)).collect();
    let mut body = json!({ "value": value });
    if skip + top < all.len() {
        body["@odata.nextLink"] = json!(format!(
            "{}v1.0/tenantRelationships/delegatedAdminRelationships?$top={top}&$skiptoken={}",
            shared.graph_base,
            skip + top
        ));
    }
    graph_ok(&headers, with_context(&shared, "tenantRelationships/delegatedAdminRelationships", body))
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
        .all()
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

/// `GET /v1.0/tenantRelationships/delegatedAdminCustomers/{id}/serviceManagementDetails`: the customer's admin
/// centers in the partner's context, in the shape of Microsoft's documented example (Entra under its former name
/// on `aad.portal.azure.com`, Teams with `?delegatedOrg=`, Lighthouse), on the customer's initial domain.
pub async fn service_management(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&shared, &headers, READ_RELATIONSHIPS) {
        return r;
    }
    let domain = {
        let st = shared.lock();
        let scenario = &st.dir.scenario;
        scenario
            .partner
            .all()
            .iter()
            .find(|r| r.tenant_id().eq_ignore_ascii_case(&id))
            .map(|r| crate::sim::customers::initial_domain(scenario, r))
    };
    let Some(domain) = domain else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The delegated admin customer '{id}' was not found."),
            &headers,
        );
    };
    let detail = |name: &str, url: String| {
        json!({
            "@odata.type": "#microsoft.graph.delegatedAdminServiceManagementDetail",
            "id": crate::sim::clock::stable_guid("service-management", &format!("{id}/{name}")),
            "serviceManagementUrl": url,
            "serviceName": name,
        })
    };
    let value = vec![
        detail("Azure Active Directory", format!("https://aad.portal.azure.com/{domain}")),
        detail("Microsoft 365 Lighthouse", "https://lighthouse.microsoft.com".to_owned()),
        detail("Teams", format!("https://admin.teams.microsoft.com/?delegatedOrg={domain}")),
    ];
    let context = format!("tenantRelationships/delegatedAdminCustomers('{id}')/serviceManagementDetails");
    graph_ok(&headers, with_context(&shared, &context, json!({ "value": value })))
}
