//! Applications and licences: `/servicePrincipals` (the vendor app's, and the resource apps' with their
//! `appRoles` and `oauth2PermissionScopes`), `/servicePrincipals/{id}/appRoleAssignments`,
//! `/oauth2PermissionGrants`, and `/subscribedSkus`.
//!
//! What consent created becomes visible only once it has replicated (`consent.replication_delay_secs` for the
//! service principal, `roles_replication_delay_secs` for its application permissions), as right after a real consent.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{Caller, authorize, graph_error, graph_ok, with_context};
use crate::sim::Shared;
use crate::sim::clock::{self, stable_guid};
use crate::sim::directory::{ConsentType, Directory, ServicePrincipal};
use crate::sim::resources::{self, Resource};

/// What lets a caller read service principals and their app role assignments.
const READ_APPS: &[&str] = &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All"];
/// What lets a caller read delegated permission grants.
const READ_GRANTS: &[&str] =
    &["Directory.Read.All", "DelegatedPermissionGrant.Read.All", "DelegatedPermissionGrant.ReadWrite.All"];
/// What lets a caller read the tenant's subscriptions.
const READ_SKUS: &[&str] = &["Organization.Read.All", "Directory.Read.All", "LicenseAssignment.Read.All"];

/// A licence a scenario may give users: Microsoft's product name, SKU part number and id, and whether it includes
/// Microsoft Teams (service plan `TEAMS1`).
pub struct Sku {
    pub name: &'static str,
    pub part_number: &'static str,
    pub sku_id: &'static str,
    pub teams: bool,
}

/// Microsoft's ids (the "Product names and service plan identifiers for licensing" table).
const SKUS: &[Sku] = &[
    Sku {
        name: "Microsoft 365 E3",
        part_number: "SPE_E3",
        sku_id: "05e9a617-0261-4cee-bb44-138d3ef5d965",
        teams: true,
    },
    Sku {
        name: "Microsoft 365 E5",
        part_number: "SPE_E5",
        sku_id: "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        teams: true,
    },
    Sku {
        name: "Microsoft 365 Business Standard",
        part_number: "O365_BUSINESS_PREMIUM",
        sku_id: "f245ecc8-75af-4f8e-b61f-27d8114de5f3",
        teams: true,
    },
    Sku {
        name: "Microsoft 365 Business Premium",
        part_number: "SPB",
        sku_id: "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46",
        teams: true,
    },
    Sku {
        name: "Office 365 E3",
        part_number: "ENTERPRISEPACK",
        sku_id: "6fd2c87f-b296-42f0-b197-1e91e994b900",
        teams: true,
    },
    Sku {
        name: "Exchange Online (Plan 1)",
        part_number: "EXCHANGESTANDARD",
        sku_id: "4b9405b0-7788-4568-add1-99614e613b69",
        teams: false,
    },
];

/// Microsoft Teams' service plan.
const TEAMS_PLAN: (&str, &str) = ("TEAMS1", "57ff2da0-773e-42df-b2af-ffb7a2317929");
/// Exchange Online's service plan (every listed SKU has one).
const EXCHANGE_PLAN: (&str, &str) = ("EXCHANGE_S_STANDARD", "9aaf7827-d63c-4b61-89c3-182f06f82e5c");

/// The licence called `name`.
pub fn sku(name: &str) -> Option<&'static Sku> {
    SKUS.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// Every licence name scenarios may use.
pub fn sku_names() -> Vec<&'static str> {
    SKUS.iter().map(|s| s.name).collect()
}

/// `GET /v1.0/subscribedSkus`: one entry per licence anyone in the tenant holds, with consumed units.
pub async fn subscribed_skus(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let caller = match authorize(&shared, &headers, READ_SKUS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let st = shared.lock();
    let tid = caller.tenant_id().to_owned();
    let mut value = Vec::new();
    if tid == st.dir.tenant_id() {
        for sku in SKUS {
            let consumed =
                st.dir.members().filter(|a| a.spec.licenses.iter().any(|l| l.eq_ignore_ascii_case(sku.name))).count();
            if consumed == 0 {
                continue;
            }
            let mut plans = vec![plan(EXCHANGE_PLAN)];
            if sku.teams {
                plans.push(plan(TEAMS_PLAN));
            }
            value.push(json!({
                "accountName": st.dir.scenario.tenant.display_name,
                "accountId": tid,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": consumed,
                "id": format!("{tid}_{}", sku.sku_id),
                "prepaidUnits": { "enabled": consumed + 5, "suspended": 0, "warning": 0, "lockedOut": 0 },
                "servicePlans": plans,
                "skuId": sku.sku_id,
                "skuPartNumber": sku.part_number,
                "subscriptionIds": [stable_guid("subscription", &format!("{tid}/{}", sku.sku_id))],
            }));
        }
    }
    drop(st);
    graph_ok(
        &headers,
        json!({ "@odata.context": format!("{}v1.0/$metadata#subscribedSkus", shared.graph_base), "value": value }),
    )
}

/// `microsoft.graph.licenseDetails` of each licence `account` holds, with its service plans.
pub fn license_details(account: &crate::sim::directory::Account) -> Vec<Value> {
    account
        .spec
        .licenses
        .iter()
        .filter_map(|l| sku(l))
        .map(|s| {
            let mut plans = vec![plan(EXCHANGE_PLAN)];
            if s.teams {
                plans.push(plan(TEAMS_PLAN));
            }
            json!({
                // Graph's ids here are opaque base64 strings, stable per user and licence.
                "id": base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    format!("{}/{}", account.object_id, s.sku_id),
                ),
                "skuId": s.sku_id,
                "skuPartNumber": s.part_number,
                "servicePlans": plans,
            })
        })
        .collect()
}

fn plan((name, id): (&str, &str)) -> Value {
    json!({ "servicePlanId": id, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User" })
}

/// A service principal as Graph shows it: the vendor app's, or a resource's.
enum Principal<'d> {
    Vendor(&'d ServicePrincipal),
    Resource(&'static Resource),
}

impl Principal<'_> {
    fn object_id(&self, tenant_id: &str) -> String {
        match self {
            Self::Vendor(sp) => sp.object_id.clone(),
            Self::Resource(r) => r.sp_object_id(tenant_id),
        }
    }

    fn json(&self, tenant_id: &str) -> Map<String, Value> {
        let mut obj = Map::new();
        obj.insert("id".into(), json!(self.object_id(tenant_id)));
        match self {
            Self::Vendor(sp) => {
                obj.insert("appId".into(), json!(sp.app_id));
                obj.insert("displayName".into(), json!(sp.display_name));
                obj.insert("accountEnabled".into(), json!(sp.account_enabled));
                obj.insert("appOwnerOrganizationId".into(), json!(stable_guid("tenant", "vendor")));
                obj.insert("createdDateTime".into(), json!(clock::iso_utc(sp.created_unix)));
                obj.insert("appRoles".into(), json!([]));
                obj.insert("oauth2PermissionScopes".into(), json!([]));
            }
            Self::Resource(r) => {
                obj.insert("appId".into(), json!(r.app_id));
                obj.insert("displayName".into(), json!(r.display_name));
                obj.insert("accountEnabled".into(), json!(true));
                obj.insert("appOwnerOrganizationId".into(), json!("f8cdef31-a31e-4b4a-93e4-5f571e91255a"));
                obj.insert("appRoles".into(), Value::Array(app_roles(r)));
                obj.insert("oauth2PermissionScopes".into(), Value::Array(permission_scopes(r)));
            }
        }
        obj.insert("servicePrincipalType".into(), json!("Application"));
        obj.insert("signInAudience".into(), json!("AzureADMultipleOrgs"));
        obj
    }
}

fn app_roles(r: &Resource) -> Vec<Value> {
    r.permissions
        .iter()
        .filter_map(|p| {
            p.role_id.map(|id| {
                json!({
                    "allowedMemberTypes": ["Application"],
                    "description": format!("Allows the app to use {} without a signed-in user.", p.name),
                    "displayName": p.name,
                    "id": id,
                    "isEnabled": true,
                    "origin": "Application",
                    "value": p.name,
                })
            })
        })
        .collect()
}

fn permission_scopes(r: &Resource) -> Vec<Value> {
    r.permissions
        .iter()
        .filter_map(|p| {
            p.scope_id.map(|id| {
                json!({
                    "adminConsentDescription": format!("Allows the app to use {} on behalf of the signed-in user.", p.name),
                    "adminConsentDisplayName": p.name,
                    "id": id,
                    "isEnabled": true,
                    "type": if p.admin_only { "Admin" } else { "User" },
                    "userConsentDescription": format!("Allows the app to use {} on your behalf.", p.name),
                    "userConsentDisplayName": p.name,
                    "value": p.name,
                })
            })
        })
        .collect()
}

/// The vendor or resource service principal `app_id` the tenant sees now.
fn by_app_id<'d>(dir: &'d Directory, tenant_id: &str, app_id: &str) -> Option<Principal<'d>> {
    if let Some(r) = resources::ALL.iter().copied().find(|r| r.app_id.eq_ignore_ascii_case(app_id)) {
        return Some(Principal::Resource(r));
    }
    dir.service_principal(tenant_id, app_id)
        .filter(|_| dir.sp_visible(tenant_id, app_id, dir.clock.instant()))
        .map(Principal::Vendor)
}

/// The vendor or resource service principal with object id `id` the tenant sees now.
fn by_object_id<'d>(dir: &'d Directory, tenant_id: &str, id: &str) -> Option<Principal<'d>> {
    if let Some(r) = resources::ALL.iter().copied().find(|r| r.sp_object_id(tenant_id).eq_ignore_ascii_case(id)) {
        return Some(Principal::Resource(r));
    }
    dir.service_principals
        .iter()
        .find(|sp| sp.tenant_id == tenant_id && sp.object_id.eq_ignore_ascii_case(id))
        .filter(|sp| dir.sp_visible(tenant_id, &sp.app_id, dir.clock.instant()))
        .map(Principal::Vendor)
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn query_value<'q>(pairs: &'q [(String, String)], key: &str) -> Option<&'q str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim())
}

/// Keeps only the `$select`ed properties (plus `id`, which Graph always returns).
fn select(mut obj: Map<String, Value>, pairs: &[(String, String)]) -> Map<String, Value> {
    if let Some(s) = query_value(pairs, "$select") {
        let wanted: Vec<&str> = s.split(',').map(str::trim).collect();
        obj.retain(|k, _| k == "id" || wanted.contains(&k.as_str()));
    }
    obj
}

/// Parses `{property} eq '{value}'`, the one filter shape these collections need.
fn equals_filter<'f>(filter: &'f str, property: &str) -> Option<&'f str> {
    filter.trim().strip_prefix(property)?.trim_start().strip_prefix("eq")?.trim().strip_prefix('\'')?.strip_suffix('\'')
}

/// `GET /v1.0/servicePrincipals?$filter=appId eq '{appId}'`.
pub async fn service_principals(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let caller = match authorize(&shared, &headers, READ_APPS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = query_pairs(q.as_deref());
    let Some(app_id) = query_value(&pairs, "$filter").and_then(|f| equals_filter(f, "appId")) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "The simulated tenant lists service principals only with $filter=appId eq '{appId}'.",
            &headers,
        );
    };
    let tid = caller.tenant_id();
    let found: Vec<Value> = {
        let st = shared.lock();
        by_app_id(&st.dir, tid, app_id).map(|p| Value::Object(select(p.json(tid), &pairs))).into_iter().collect()
    };
    graph_ok(
        &headers,
        json!({ "@odata.context": format!("{}v1.0/$metadata#servicePrincipals", shared.graph_base), "value": found }),
    )
}

fn sp_not_found(headers: &HeaderMap, what: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{what}' does not exist or one of its queried reference-property objects are not present."),
        headers,
    )
}

/// `GET /v1.0/servicePrincipals/{id}`.
pub async fn service_principal(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let caller = match authorize(&shared, &headers, READ_APPS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let tid = caller.tenant_id();
    let pairs = query_pairs(q.as_deref());
    let found = {
        let st = shared.lock();
        by_object_id(&st.dir, tid, &id).map(|p| select(p.json(tid), &pairs))
    };
    match found {
        Some(obj) => graph_ok(&headers, with_context(&shared, "servicePrincipals/$entity", Value::Object(obj))),
        None => sp_not_found(&headers, &id),
    }
}

/// `GET /v1.0/servicePrincipals(appId='{appId}')` (routed from the fallback: an OData key segment).
pub fn service_principal_by_app_id(
    shared: &Shared,
    headers: &HeaderMap,
    app_id: &str,
    query: Option<&str>,
) -> Response {
    let caller = match authorize(shared, headers, READ_APPS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let tid = caller.tenant_id();
    let pairs = query_pairs(query);
    let found = {
        let st = shared.lock();
        by_app_id(&st.dir, tid, app_id).map(|p| select(p.json(tid), &pairs))
    };
    match found {
        Some(obj) => graph_ok(headers, with_context(shared, "servicePrincipals/$entity", Value::Object(obj))),
        None => sp_not_found(headers, app_id),
    }
}

/// `GET /v1.0/servicePrincipals/{id}/appRoleAssignments`: the application permissions granted to it.
pub async fn app_role_assignments(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authorize(&shared, &headers, READ_APPS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let tid = caller.tenant_id();
    let now = shared.clock.instant();
    let value: Option<Vec<Value>> = {
        let st = shared.lock();
        by_object_id(&st.dir, tid, &id).map(|_| {
            st.dir
                .app_role_assignments
                .iter()
                .filter(|a| a.tenant_id == tid && a.principal_id.eq_ignore_ascii_case(&id))
                .filter(|a| a.visible_after.is_none_or(|t| now >= t))
                .map(|a| {
                    json!({
                        "id": a.id,
                        "deletedDateTime": null,
                        "appRoleId": a.app_role_id,
                        "createdDateTime": clock::iso_utc(a.created_unix),
                        "principalDisplayName": a.principal_display_name,
                        "principalId": a.principal_id,
                        "principalType": "ServicePrincipal",
                        "resourceDisplayName": resources::by_key(a.resource_key).map_or("", |r| r.display_name),
                        "resourceId": a.resource_id,
                    })
                })
                .collect()
        })
    };
    match value {
        Some(value) => graph_ok(
            &headers,
            json!({
                "@odata.context": format!("{}v1.0/$metadata#servicePrincipals('{id}')/appRoleAssignments", shared.graph_base),
                "value": value,
            }),
        ),
        None => sp_not_found(&headers, &id),
    }
}

/// `GET /v1.0/oauth2PermissionGrants?$filter=clientId eq '{sp-object-id}'`: delegated grants.
pub async fn permission_grants(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let caller: Caller = match authorize(&shared, &headers, READ_GRANTS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = query_pairs(q.as_deref());
    let Some(client_id) = query_value(&pairs, "$filter").and_then(|f| equals_filter(f, "clientId")) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "The simulated tenant lists oauth2PermissionGrants only with $filter=clientId eq '{servicePrincipalId}'.",
            &headers,
        );
    };
    let tid = caller.tenant_id();
    let value: Vec<Value> = {
        let st = shared.lock();
        let visible = st.dir.service_principals.iter().any(|sp| {
            sp.tenant_id == tid
                && sp.object_id.eq_ignore_ascii_case(client_id)
                && st.dir.sp_visible(tid, &sp.app_id, st.dir.clock.instant())
        });
        st.dir
            .delegated_grants
            .iter()
            .filter(|g| visible && g.tenant_id == tid && g.client_sp_id.eq_ignore_ascii_case(client_id))
            .map(|g| {
                json!({
                    "id": g.id,
                    "clientId": g.client_sp_id,
                    "consentType": match g.consent_type { ConsentType::AllPrincipals => "AllPrincipals", ConsentType::Principal => "Principal" },
                    "principalId": g.principal_id,
                    "resourceId": g.resource_sp_id,
                    "scope": g.scopes.iter().cloned().collect::<Vec<_>>().join(" "),
                })
            })
            .collect()
    };
    graph_ok(
        &headers,
        json!({ "@odata.context": format!("{}v1.0/$metadata#oauth2PermissionGrants", shared.graph_base), "value": value }),
    )
}
