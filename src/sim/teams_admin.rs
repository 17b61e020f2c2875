//! The simulated Teams admin configuration API (`api.interfaces.records.teams.microsoft.com`, "ConfigAPI", what
//! the MicrosoftTeams module and the Teams admin center use; `docs/microsoft-apis.md` B5).
//!
//! It is undocumented; the shapes follow the PowerShell object model (`Identity`, `AppPresetList: [{Id}]`,
//! `PinnedAppBarApps: [{Id, Order}]`, …) with the `Key` envelope CIPP reads back. Tokens must be for the
//! "Skype and Teams Tenant Admin API" and the caller must be a Global or Teams Administrator. `PUT` merges the
//! properties given. Scenarios can refuse with 40301 (partner access) or answer in an unknown shape.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::graph::{TEAMS_ADMIN_ROLES, apply_faults_for_teams_admin, bearer_claims};
use super::resources::TEAMS_ADMIN;
use super::teams::{Management, NewPolicyInstalls, PolicyApi, SetupPolicy};
use super::{Shared, clock};

/// Router of the Teams admin host.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/Skype.Policy/configurations/TeamsAppSetupPolicy", get(list_setup_policies))
        .route(
            "/Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/{identity}",
            get(get_setup_policy).put(put_setup_policy),
        )
        .route(
            "/Skype.Policy/configurations/TeamsAppPermissionPolicy/configuration/{identity}",
            get(get_permission_policy),
        )
        .route(
            "/Skype.Policy/configurations/TeamsSettingsCustomApp/configuration/{identity}",
            get(get_custom_app_setting),
        )
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), faults))
        .with_state(shared)
}

async fn faults(State(shared): State<Arc<Shared>>, request: Request, next: axum::middleware::Next) -> Response {
    apply_faults_for_teams_admin(&shared, request, next).await
}

/// An error in the ConfigAPI's shape (`code`, `message`, a correlation id).
fn config_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (status, axum::Json(json!({ "code": code, "message": message, "correlationId": clock::new_guid() })))
        .into_response();
    if status == StatusCode::UNAUTHORIZED
        && let Ok(v) = axum::http::HeaderValue::from_str("Bearer realm=\"\", error=\"invalid_token\"")
    {
        r.headers_mut().insert("www-authenticate", v);
    }
    r
}

/// The caller's tenant, once its token and role are accepted.
fn admit(shared: &Shared, headers: &HeaderMap) -> Result<String, Response> {
    let claims = bearer_claims(shared, headers, TEAMS_ADMIN.audience).map_err(|_| {
        config_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The access token is missing, expired or not for the Skype and Teams Tenant Admin API.",
        )
    })?;
    let scp = claims.get("scp").and_then(Value::as_str).unwrap_or_default();
    if !scp.split(' ').any(|s| s.eq_ignore_ascii_case("user_impersonation")) {
        return Err(config_error(StatusCode::FORBIDDEN, "Forbidden", "The token lacks the user_impersonation scope."));
    }
    let roles: Vec<&str> = claims
        .get("wids")
        .and_then(Value::as_array)
        .map(|w| w.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !roles.iter().any(|r| TEAMS_ADMIN_ROLES.iter().any(|t| t.eq_ignore_ascii_case(r))) {
        return Err(config_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "The user is not a Teams Administrator or Global Administrator in this tenant.",
        ));
    }
    if shared.lock().teams.spec.policy_api == PolicyApi::PartnerForbidden {
        return Err(config_error(
            StatusCode::FORBIDDEN,
            "40301",
            "Forbidden: 40301. The request is not allowed with partner (delegated admin) access.",
        ));
    }
    Ok(claims.get("tid").and_then(Value::as_str).unwrap_or_default().to_owned())
}

fn policy_json(p: &SetupPolicy, tenant_id: &str) -> Value {
    let order = |ids: &[String]| -> Vec<Value> {
        ids.iter().enumerate().map(|(i, id)| json!({ "Id": id, "Order": i + 1 })).collect()
    };
    json!({
        "Identity": p.identity,
        "Key": {
            "ScopeClass": if p.identity == "Global" { "Global" } else { "Tag" },
            "SchemaId": { "XName": { "name": "TeamsAppSetupPolicy" } },
            "AuthorityId": { "Class": "Tenant", "InstanceId": tenant_id, "XmlRoot": { "name": "tenantId" } },
            "DefaultXml": null,
            "XmlRoot": { "name": "configuration" },
        },
        "Description": p.description,
        "AppPresetList": p.installed.iter().map(|id| json!({ "Id": id })).collect::<Vec<_>>(),
        "AppPresetMeetingList": [],
        "PinnedAppBarApps": order(&p.pinned),
        "PinnedMessageBarApps": [],
        "PinnedCallingBarApps": [],
        "AdditionalCustomizationApps": [],
        "AllowUserPinning": p.allow_user_pinning,
        "AllowSideLoading": p.allow_side_loading,
    })
}

/// A policy in a shape the wizard should not guess at.
fn odd_json(p: &SetupPolicy) -> Value {
    json!({ "Identity": p.identity, "Settings": { "AppSetup": { "Apps": p.installed.join(";") } } })
}

fn render(shared: &Shared, p: &SetupPolicy, tenant_id: &str) -> Value {
    if shared.lock().teams.spec.policy_api == PolicyApi::UnexpectedShape {
        odd_json(p)
    } else {
        policy_json(p, tenant_id)
    }
}

/// `GET /Skype.Policy/configurations/TeamsAppSetupPolicy`: every setup policy.
async fn list_setup_policies(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let tenant = match admit(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let policies = shared.lock().teams.policies.clone();
    let list: Vec<Value> = policies.iter().map(|p| render(&shared, p, &tenant)).collect();
    axum::Json(Value::Array(list)).into_response()
}

fn identity_of(raw: &str) -> String {
    url::form_urlencoded::parse(format!("i={raw}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// `GET /Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/{identity}`.
async fn get_setup_policy(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(identity): Path<String>,
) -> Response {
    let tenant = match admit(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let identity = identity_of(&identity);
    let found = shared.lock().teams.policies.iter().find(|p| p.identity.eq_ignore_ascii_case(&identity)).cloned();
    match found {
        Some(p) => axum::Json(render(&shared, &p, &tenant)).into_response(),
        None => config_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No TeamsAppSetupPolicy with identity '{identity}'."),
        ),
    }
}

/// The app ids of a list of `{ "Id": … }` objects; `None` when the shape is wrong.
fn ids(v: &Value) -> Option<Vec<String>> {
    v.as_array()?.iter().map(|x| x.get("Id").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// Pinned app ids in `Order`; `None` when the shape is wrong or orders repeat.
fn pins(v: &Value) -> Option<Vec<String>> {
    let mut items: Vec<(u64, String)> = v
        .as_array()?
        .iter()
        .map(|x| Some((x.get("Order")?.as_u64()?, x.get("Id")?.as_str()?.to_owned())))
        .collect::<Option<_>>()?;
    items.sort_by_key(|(o, _)| *o);
    let orders: Vec<u64> = items.iter().map(|(o, _)| *o).collect();
    if orders.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(items.into_iter().map(|(_, id)| id).collect())
}

/// `PUT /Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/{identity}`: merges the properties given.
async fn put_setup_policy(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(identity): Path<String>,
    body: Bytes,
) -> Response {
    let tenant = match admit(&shared, &headers) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let identity = identity_of(&identity);
    let Ok(Value::Object(changes)) = serde_json::from_slice::<Value>(&body) else {
        return config_error(StatusCode::BAD_REQUEST, "BadRequest", "The body is not a JSON object.");
    };
    if identity.eq_ignore_ascii_case("Tag:FirstlineWorker") {
        return config_error(StatusCode::BAD_REQUEST, "BadRequest", "The FirstlineWorker policy cannot be changed.");
    }
    let mut st = shared.lock();
    let (management, new_installs) = (st.teams.spec.management, st.teams.spec.new_policy_installs);
    let vendor = st.teams.spec.app_id.clone();
    let vendor_ids: Vec<String> =
        st.teams.catalog.iter().filter(|a| a.external_id.eq_ignore_ascii_case(&vendor)).map(|a| a.id.clone()).collect();
    let Some(index) = st.teams.policies.iter().position(|p| p.identity.eq_ignore_ascii_case(&identity)) else {
        drop(st);
        return config_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("No TeamsAppSetupPolicy with identity '{identity}'."),
        );
    };
    let policy = st.teams.policies[index].clone();
    let mut updated = policy.clone();
    for (key, value) in &changes {
        let ok = match key.as_str() {
            "AppPresetList" => ids(value).map(|v| updated.installed = v).is_some(),
            "PinnedAppBarApps" => pins(value).map(|v| updated.pinned = v).is_some(),
            "AllowUserPinning" => value.as_bool().map(|v| updated.allow_user_pinning = v).is_some(),
            "AllowSideLoading" => value.as_bool().map(|v| updated.allow_side_loading = v).is_some(),
            "Description" => value.as_str().map(|v| updated.description = v.to_owned()).is_some(),
            // Sent back as read: accepted, not changed.
            "Identity"
            | "Key"
            | "AppPresetMeetingList"
            | "PinnedMessageBarApps"
            | "PinnedCallingBarApps"
            | "AdditionalCustomizationApps" => true,
            _ => false,
        };
        if !ok {
            drop(st);
            return config_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Property '{key}' has an unexpected value or is not known."),
            );
        }
    }
    let added: Vec<String> = updated.installed.iter().filter(|id| !policy.installed.contains(id)).cloned().collect();
    match management {
        // Pinned apps install themselves; setup policies take no new installed apps (MC795355).
        Management::AppCentric if !added.is_empty() => match new_installs {
            NewPolicyInstalls::Refused => {
                drop(st);
                // Unverified wording: no report of this answer was found; the code and status are the API's own.
                return config_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Apps can no longer be added to AppPresetList: app installs are managed per app in the Teams \
                     admin center (Manage apps > the app > Users and groups > Installs).",
                );
            }
            NewPolicyInstalls::Ignored => updated.installed.retain(|id| !added.contains(id)),
        },
        Management::AppCentric => {}
        Management::Legacy => {
            if updated.pinned.iter().any(|p| !updated.installed.contains(p)) {
                drop(st);
                return config_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Every pinned app must also be in AppPresetList.",
                );
            }
        }
    }
    let reaches = updated.pinned.iter().chain(&updated.installed).any(|id| vendor_ids.contains(id));
    st.teams.policies[index] = updated;
    st.teams.policy_writes += 1;
    if reaches {
        let now = shared.clock.instant();
        st.teams.reaching_users(now);
    }
    drop(st);
    tracing::debug!("tenant {tenant}: setup policy {identity} changed");
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /Skype.Policy/configurations/TeamsAppPermissionPolicy/configuration/Global`: which app types are allowed.
async fn get_permission_policy(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(identity): Path<String>,
) -> Response {
    if let Err(r) = admit(&shared, &headers) {
        return r;
    }
    if !identity_of(&identity).eq_ignore_ascii_case("Global") {
        return config_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "Only the Global permission policy exists in the simulated tenant.",
        );
    }
    let spec = shared.lock().teams.spec.clone();
    // An allow-list that lists nothing blocks every app of that type; an empty block-list allows them all.
    let kind = |allowed: bool| if allowed { "BlockedAppList" } else { "AllowedAppList" };
    let mut body = Map::new();
    body.insert("Identity".into(), json!("Global"));
    body.insert("DefaultCatalogAppsType".into(), json!("BlockedAppList"));
    body.insert("DefaultCatalogApps".into(), json!([]));
    body.insert("GlobalCatalogAppsType".into(), json!(kind(spec.third_party_apps)));
    body.insert("GlobalCatalogApps".into(), json!([]));
    body.insert("PrivateCatalogAppsType".into(), json!(kind(spec.custom_apps)));
    body.insert("PrivateCatalogApps".into(), json!([]));
    axum::Json(Value::Object(body)).into_response()
}

/// `GET /Skype.Policy/configurations/TeamsSettingsCustomApp/configuration/Global`: whether custom apps may be uploaded.
async fn get_custom_app_setting(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(_identity): Path<String>,
) -> Response {
    if let Err(r) = admit(&shared, &headers) {
        return r;
    }
    let on = shared.lock().teams.spec.custom_upload;
    axum::Json(json!({ "Identity": "Global", "isSideloadedAppsInteractionEnabled": on })).into_response()
}

async fn no_route(request: Request) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    tracing::warn!("simulated Teams admin API has no route for {method} {path}");
    config_error(
        StatusCode::NOT_FOUND,
        "SimulatorNoRoute",
        &format!("The simulated tenant has no Teams admin route for {method} {path}."),
    )
}
