//! Teams apps on Graph (`docs/microsoft-apis.md` B4): the tenant's app catalog (`/appCatalogs/teamsApps`, list with
//! `$filter` and `$expand=appDefinitions`, publish a package, publish a new version) and each user's installed apps
//! (`/users/{id}/teamwork/installedApps`: 201, 409 when already installed, 403 when blocked by policy).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Caller, authorize, graph_error, graph_error_with_inner, graph_ok, set_header, with_context};
use crate::sim::Shared;
use crate::sim::clock::{self, stable_guid};
use crate::sim::teams::{CatalogApp, Definition, Distribution, TeamsState};

const READ_CATALOG: &[&str] =
    &["AppCatalog.Read.All", "AppCatalog.ReadWrite.All", "AppCatalog.Submit", "Directory.Read.All"];
const WRITE_CATALOG: &[&str] = &["AppCatalog.Submit", "AppCatalog.ReadWrite.All", "Directory.ReadWrite.All"];
const READ_INSTALLS: &[&str] = &[
    "TeamsAppInstallation.ReadForUser",
    "TeamsAppInstallation.ReadWriteForUser",
    "TeamsAppInstallation.ReadWriteSelfForUser",
    "TeamsAppInstallation.ReadForUser.All",
    "TeamsAppInstallation.ReadWriteForUser.All",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
];
const WRITE_INSTALLS: &[&str] = &["TeamsAppInstallation.ReadWriteForUser", "TeamsAppInstallation.ReadWriteForUser.All"];

/// Global Administrator and Teams Administrator role template ids.
pub const TEAMS_ADMIN_ROLES: &[&str] =
    &["62e90394-69f5-4237-9190-012177145e10", "69091246-20e8-4a56-aa4d-066075b2a7a8"];

fn definition_json(app: &CatalogApp, d: &Definition) -> Value {
    json!({
        "id": d.id,
        "teamsAppId": app.id,
        "displayName": d.display_name,
        "version": d.version,
        "publishingState": d.state,
        "shortDescription": format!("{} for Microsoft Teams", d.display_name),
        "description": format!("{} (simulated)", d.display_name),
        "lastModifiedDateTime": clock::iso_utc(clock::unix_now()),
        "createdBy": null,
        "authorization": { "requiredPermissionSet": { "resourceSpecificPermissions": [] } },
    })
}

fn app_json(app: &CatalogApp, expand: Option<bool>) -> Value {
    let mut v = json!({
        "id": app.id,
        "externalId": if app.distribution == Distribution::Store { Value::Null } else { json!(app.external_id) },
        "displayName": app.display_name,
        "distributionMethod": app.distribution.as_str(),
    });
    // Store apps carry their manifest id as `id`; Graph leaves `externalId` empty for them (observed), so a
    // `$filter=externalId eq` finds only organization apps.
    if let Some(with_bot) = expand {
        let defs: Vec<Value> = app
            .definitions
            .iter()
            .map(|d| {
                let mut j = definition_json(app, d);
                if with_bot {
                    j["bot"] = if d.has_bot { json!({ "id": app.id }) } else { Value::Null };
                }
                j
            })
            .collect();
        v["appDefinitions"] = json!(defs);
    }
    v
}

fn pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect()
}

fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `property eq 'value'` clauses joined by `and`.
fn eq_clauses(filter: &str) -> Option<Vec<(String, String)>> {
    filter
        .split(" and ")
        .map(|c| {
            let (prop, rest) = c.trim().split_once(" eq ")?;
            let v = rest.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            Some((prop.trim().to_owned(), v.to_owned()))
        })
        .collect()
}

/// `GET /v1.0/appCatalogs/teamsApps`.
pub async fn list_apps(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if let Err(r) = authorize(&shared, &headers, READ_CATALOG) {
        return r;
    }
    let pairs = pairs(q.as_deref());
    let clauses = match value_of(&pairs, "$filter").map(eq_clauses) {
        None => Vec::new(),
        Some(Some(c)) => c,
        Some(None) => {
            return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid filter clause.", &headers);
        }
    };
    let expand = value_of(&pairs, "$expand").map(|e| e.contains("bot"));
    let st = shared.lock();
    let value: Vec<Value> = st
        .teams
        .catalog
        .iter()
        .filter(|a| {
            clauses.iter().all(|(p, v)| match p.as_str() {
                "externalId" => a.distribution != Distribution::Store && a.external_id.eq_ignore_ascii_case(v),
                "id" => a.id.eq_ignore_ascii_case(v),
                "distributionMethod" => a.distribution.as_str().eq_ignore_ascii_case(v),
                "displayName" => a.display_name == *v,
                _ => false,
            })
        })
        .map(|a| app_json(a, expand))
        .collect();
    drop(st);
    graph_ok(
        &headers,
        json!({ "@odata.context": format!("{}v1.0/$metadata#appCatalogs/teamsApps", shared.graph_base), "value": value }),
    )
}

/// One manifest problem, as Graph reports it in `innerError.details`.
fn detail(code: &str, message: &str, target: &str) -> Value {
    json!({ "code": code, "message": message, "target": target })
}

/// The manifest's id, version and name, or the schema errors Microsoft would list.
fn read_package(body: &[u8]) -> Result<(String, String, String, bool), Vec<Value>> {
    let manifest = match crate::zipfile::read(body, "manifest.json") {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Err(vec![detail("ManifestNotFound", "The app package has no manifest.json.", "manifest.json")]);
        }
        Err(e) => return Err(vec![detail("InvalidAppPackage", &e.to_string(), "")]),
    };
    let names = crate::zipfile::names(body).unwrap_or_default();
    let m: Value = match serde_json::from_slice(&manifest) {
        Ok(m) => m,
        Err(e) => return Err(vec![detail("JsonParseError", &e.to_string(), "manifest.json")]),
    };
    let mut problems = Vec::new();
    let text = |path: &str| path.split('.').try_fold(&m, |v, k| v.get(k)).and_then(Value::as_str).map(str::to_owned);
    for required in [
        "manifestVersion",
        "id",
        "version",
        "name.short",
        "developer.name",
        "description.short",
        "icons.color",
        "icons.outline",
    ] {
        if text(required).is_none_or(|v| v.trim().is_empty()) {
            problems.push(detail(
                "SchemaError_Required",
                &format!("Required property '{required}' not found."),
                required,
            ));
        }
    }
    for url in ["developer.websiteUrl", "developer.privacyUrl", "developer.termsOfUseUrl"] {
        match text(url) {
            None => {
                problems.push(detail("SchemaError_Required", &format!("Required property '{url}' not found."), url))
            }
            Some(u) if !u.starts_with("https://") => {
                problems.push(detail(
                    "SchemaError_Pattern",
                    &format!("String '{u}' does not match regex pattern '^[Hh][Tt][Tt][Pp][Ss]?://'."),
                    url,
                ));
            }
            Some(_) => {}
        }
    }
    let id = text("id").unwrap_or_default();
    if !id.is_empty() && uuid_like(&id).is_none() {
        problems.push(detail("SchemaError_Pattern", &format!("String '{id}' is not a GUID."), "id"));
    }
    for icon in ["icons.color", "icons.outline"] {
        if let Some(file) = text(icon)
            && !names.iter().any(|n| n.eq_ignore_ascii_case(&file))
        {
            problems.push(detail("IconNotFound", &format!("The icon file '{file}' is not in the app package."), icon));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let bots = m.get("bots").and_then(Value::as_array).is_some_and(|b| !b.is_empty());
    Ok((id, text("version").unwrap_or_default(), text("name.short").unwrap_or_default(), bots))
}

fn uuid_like(s: &str) -> Option<()> {
    let parts: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    (parts.len() == 5 && parts.iter().zip(lens).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit())))
        .then_some(())
}

fn manifest_error(headers: &HeaderMap, details: &[Value]) -> Response {
    let mut r = graph_error(StatusCode::BAD_REQUEST, "BadRequest", "App package validation failed.", headers);
    // Graph nests the manifest's problems in innerError (`docs/microsoft-apis.md` B4).
    let body = json!({
        "error": {
            "code": "BadRequest",
            "message": "App package validation failed.",
            "innerError": {
                "code": "UnableToParseTeamsAppManifest",
                "message": "The app package is invalid.",
                "details": details,
                "date": clock::graph_date(clock::unix_now()),
                "request-id": r.headers().get("request-id").and_then(|v| v.to_str().ok()).unwrap_or_default(),
                "client-request-id": r.headers().get("client-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default(),
            }
        }
    });
    *r.body_mut() = axum::body::Body::from(body.to_string());
    r
}

/// An upload's `requiresReview` and its package's manifest, or the manifest error Graph answers.
#[expect(clippy::type_complexity, reason = "read_package's tuple, with the review flag")]
fn read_upload(
    query: Option<&str>,
    body: &[u8],
    headers: &HeaderMap,
) -> Result<(bool, (String, String, String, bool)), Response> {
    let review = value_of(&pairs(query), "requiresReview").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let package = read_package(body).map_err(|details| manifest_error(headers, &details))?;
    Ok((review, package))
}

/// Checks the caller may publish (an admin, or anyone with `requiresReview=true`) and custom upload is on.
fn may_publish(st: &TeamsState, caller: &Caller, review: bool, headers: &HeaderMap) -> Result<(), Response> {
    if !st.spec.custom_upload {
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Uploading custom apps is disabled for this tenant (Teams admin center > Teams apps > Manage apps > Org-wide app settings > Custom apps).",
            headers,
        ));
    }
    if !review && !caller.has_role(TEAMS_ADMIN_ROLES) {
        return Err(graph_error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Only a Teams or Global Administrator can publish an app without review; set requiresReview=true.",
            headers,
        ));
    }
    Ok(())
}

/// `POST /v1.0/appCatalogs/teamsApps[?requiresReview=true]` with an app package (zip).
pub async fn publish(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let caller = match authorize(&shared, &headers, WRITE_CATALOG) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/zip")) {
        return graph_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BadRequest",
            "Content-Type must be application/zip.",
            &headers,
        );
    }
    let (review, (external_id, version, name, bots)) = match read_upload(q.as_deref(), &body, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut st = shared.lock();
    if let Err(r) = may_publish(&st.teams, &caller, review, &headers) {
        return r;
    }
    if st
        .teams
        .catalog
        .iter()
        .any(|a| a.distribution == Distribution::Organization && a.external_id.eq_ignore_ascii_case(&external_id))
    {
        drop(st);
        return graph_error_with_inner(
            StatusCode::CONFLICT,
            "Conflict",
            Some("AppDefinitionAlreadyExists"),
            &format!(
                "An app with the manifest id '{external_id}' already exists in the organization's catalog. Publish a new version of it instead."
            ),
            &headers,
        );
    }
    let app = CatalogApp {
        id: stable_guid("org-app", &format!("{}/{external_id}", caller.tenant_id())),
        external_id,
        display_name: name.clone(),
        distribution: Distribution::Organization,
        definitions: vec![Definition {
            id: clock::new_guid(),
            version,
            state: if review { "submitted" } else { "published" }.to_owned(),
            display_name: name,
            has_bot: bots,
        }],
    };
    let json_body = with_context(&shared, "appCatalogs/teamsApps/$entity", app_json(&app, None));
    let location = format!("{}v1.0/appCatalogs/teamsApps/{}", shared.graph_base, app.id);
    st.teams.catalog.push(app);
    drop(st);
    let mut r = graph_ok(&headers, json_body);
    *r.status_mut() = StatusCode::CREATED;
    set_header(&mut r, "location", &location);
    r
}

/// `POST /v1.0/appCatalogs/teamsApps/{id}/appDefinitions`: a new version of an organization app.
pub async fn publish_version(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let caller = match authorize(&shared, &headers, WRITE_CATALOG) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (review, (external_id, version, name, bots)) = match read_upload(q.as_deref(), &body, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mut st = shared.lock();
    if let Err(r) = may_publish(&st.teams, &caller, review, &headers) {
        return r;
    }
    let Some(app) = st
        .teams
        .catalog
        .iter_mut()
        .find(|a| a.id.eq_ignore_ascii_case(&id) && a.distribution == Distribution::Organization)
    else {
        drop(st);
        return graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("App '{id}' is not an app of the organization's catalog."),
            &headers,
        );
    };
    if !app.external_id.eq_ignore_ascii_case(&external_id) {
        drop(st);
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The package's manifest id does not match the app.",
            &headers,
        );
    }
    if app.latest().is_some_and(|d| !version_greater(&version, &d.version)) {
        drop(st);
        return graph_error(
            StatusCode::CONFLICT,
            "Conflict",
            &format!("The app definition version '{version}' must be higher than the current version."),
            &headers,
        );
    }
    let def = Definition {
        id: clock::new_guid(),
        version,
        state: if review { "submitted" } else { "published" }.to_owned(),
        display_name: name,
        has_bot: bots,
    };
    let context = format!("appCatalogs/teamsApps('{}')/appDefinitions/$entity", app.id);
    let json_body = with_context(&shared, &context, definition_json(app, &def));
    app.definitions.push(def);
    drop(st);
    let mut r = graph_ok(&headers, json_body);
    *r.status_mut() = StatusCode::CREATED;
    r
}

/// Compares dotted versions numerically (`1.10.0` > `1.9.3`).
pub fn version_greater(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) > parse(b)
}

/// A user a `/users/{id}` path names (object id or UPN; `me` for the caller) in the caller's tenant.
struct TeamsUser {
    oid: String,
    upn: String,
    /// Holds a licence with Microsoft Teams.
    licensed: bool,
}

fn user_of(shared: &Shared, caller: &Caller, id: &str) -> Option<TeamsUser> {
    let id = if id == "me" { caller.upn()? } else { id };
    let st = shared.lock();
    st.dir.person(id).filter(|a| a.home_tenant_id == caller.tenant_id()).map(|a| TeamsUser {
        oid: a.object_id.clone(),
        upn: a.spec.upn.clone(),
        licensed: a.spec.licenses.iter().any(|l| super::apps::sku(l).is_some_and(|s| s.teams)),
    })
}

/// `GET /v1.0/users/{id}/teamwork/installedApps[?$expand=teamsApp,teamsAppDefinition&$filter=teamsApp/...]`.
pub async fn installed(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let caller = match authorize(&shared, &headers, READ_INSTALLS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(user) = user_of(&shared, &caller, &id) else {
        return graph_error(StatusCode::NOT_FOUND, "NotFound", &format!("User '{id}' was not found."), &headers);
    };
    let oid = user.oid.clone();
    let pairs = pairs(q.as_deref());
    let clauses = value_of(&pairs, "$filter").and_then(eq_clauses).unwrap_or_default();
    // Navigation properties come only when expanded, as at Graph.
    let expanded: Vec<String> = value_of(&pairs, "$expand")
        .map(|e| e.split(',').map(|p| p.trim().split('(').next().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default();
    let expands = |nav: &str| expanded.iter().any(|e| e.eq_ignore_ascii_case(nav));
    let st = shared.lock();
    let now = shared.clock.instant();
    // Installed one by one, or reached through a pin or an install for everyone.
    let mut installs: Vec<(String, String)> = st.teams.installed.get(&oid).cloned().unwrap_or_default();
    for app in st.teams.catalog.iter().filter(|a| st.teams.is_vendor_app(a)) {
        let already = installs.iter().any(|(_, id)| id.eq_ignore_ascii_case(&app.id));
        if !already && st.teams.delivered(&app.id, &user.upn, user.licensed, now) {
            installs.push((stable_guid("org-wide-install", &format!("{oid}/{}", app.id)), app.id.clone()));
        }
    }
    let value: Vec<Value> = installs
        .iter()
        .filter_map(|(installation, app_id)| st.teams.app(app_id).map(|a| (installation, a)))
        .filter(|(_, a)| {
            clauses.iter().all(|(p, v)| match p.as_str() {
                "teamsApp/externalId" => a.external_id.eq_ignore_ascii_case(v),
                "teamsApp/id" => a.id.eq_ignore_ascii_case(v),
                _ => false,
            })
        })
        .map(|(installation, a)| {
            let mut item = json!({ "id": installation });
            if expands("teamsApp") {
                item["teamsApp"] = app_json(a, None);
            }
            if expands("teamsAppDefinition") {
                item["teamsAppDefinition"] = a.latest().map_or(Value::Null, |d| definition_json(a, d));
            }
            item
        })
        .collect();
    drop(st);
    let context = format!("users('{oid}')/teamwork/installedApps");
    graph_ok(&headers, with_context(&shared, &context, json!({ "value": value })))
}

/// `POST /v1.0/users/{id}/teamwork/installedApps` with `{"teamsApp@odata.bind": ".../appCatalogs/teamsApps/{id}"}`.
pub async fn install(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let caller = match authorize(&shared, &headers, WRITE_INSTALLS) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let bind = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("teamsApp@odata.bind").and_then(Value::as_str).map(str::to_owned));
    let Some(app_id) = bind
        .as_deref()
        .and_then(|b| b.rsplit_once("/appCatalogs/teamsApps/"))
        .map(|(_, id)| id.trim_matches('\'').to_owned())
    else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The request needs 'teamsApp@odata.bind' pointing at an app of the catalog.",
            &headers,
        );
    };
    // Graph does not check that the user exists (cli-microsoft365 notes it): an unknown id "succeeds".
    let Some(TeamsUser { oid, upn, licensed }) = user_of(&shared, &caller, &id) else {
        return created_empty(&headers);
    };
    let mut st = shared.lock();
    let Some(app) = st.teams.app(&app_id).cloned() else {
        drop(st);
        return graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The app '{app_id}' is not in the catalog."),
            &headers,
        );
    };
    if !licensed {
        drop(st);
        // Unverified wording: what Graph answers for a user without a Teams licence.
        return graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "The user is not licensed for Microsoft Teams.",
            &headers,
        );
    }
    if st.teams.is_vendor_app(&app) && !st.teams.available_to(&upn) {
        let blocked = st.teams.availability == super::super::teams::Availability::Blocked;
        drop(st);
        // Graph says why only in the message (the code is the generic Forbidden).
        let message = if blocked {
            "App is blocked by the tenant admin. The app must be unblocked in Teams admin center before it can be installed."
        } else {
            "App is not available to this user. An admin can make it available in Teams admin center (Manage apps > the app > Users and groups > Availability)."
        };
        return graph_error_with_inner(StatusCode::FORBIDDEN, "Forbidden", Some("AccessDenied"), message, &headers);
    }
    if let Some(kind) = st.teams.blocked(&app) {
        let tenant = caller.tenant_id().to_owned();
        drop(st);
        return graph_error_with_inner(
            StatusCode::FORBIDDEN,
            "Forbidden",
            Some("AccessDenied"),
            &format!(
                "App is blocked by app permission policy. TenantId: {tenant}, UserObjectId: {oid}, AppId: {}, AppType: {kind}",
                app.id
            ),
            &headers,
        );
    }
    if app.latest().is_some_and(|d| d.state != "published") {
        drop(st);
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "The app has not been published yet (it is waiting for review).",
            &headers,
        );
    }
    if !st.teams.admit_install(shared.clock.instant()) {
        drop(st);
        let mut r = graph_error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests.", &headers);
        set_header(&mut r, "retry-after", "1");
        return r;
    }
    let list = st.teams.installed.entry(oid).or_default();
    if list.iter().any(|(_, a)| a.eq_ignore_ascii_case(&app.id)) {
        drop(st);
        return graph_error(StatusCode::CONFLICT, "Conflict", "The app is already installed for this user.", &headers);
    }
    list.push((clock::opaque::<24>(), app.id));
    drop(st);
    created_empty(&headers)
}

fn created_empty(headers: &HeaderMap) -> Response {
    let mut r = StatusCode::CREATED.into_response();
    let id = clock::new_guid();
    set_header(&mut r, "request-id", &id);
    let client = headers.get("client-request-id").and_then(|v| v.to_str().ok()).unwrap_or(&id).to_owned();
    set_header(&mut r, "client-request-id", &client);
    r
}

/// `GET /v1.0/me/teamwork/installedApps`.
pub async fn my_installed(state: State<Arc<Shared>>, headers: HeaderMap, q: RawQuery) -> Response {
    installed(state, headers, Path("me".to_owned()), q).await
}

/// `POST /v1.0/me/teamwork/installedApps`.
pub async fn my_install(state: State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    install(state, headers, Path("me".to_owned()), body).await
}
