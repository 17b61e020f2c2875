//! `/users` and its relatives: listing with `$select`, `$filter`, `$top` (1-999, at most 100 per page with
//! `$expand=manager`), `$count` with `ConsistencyLevel: eventual`, `$skiptoken` paging; one user; the manager (404
//! `Request_ResourceNotFound` when there is none); `/users/$count`; and `/users/delta`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::ser::{SerializeMap as _, SerializeSeq as _};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::{Caller, authorize, graph_error, graph_ok, graph_ok_bytes, with_context};
use crate::sim::Shared;
use crate::sim::directory::{Account, Directory};

/// Properties `/users` returns when no `$select` is given (Microsoft's default set).
const DEFAULT_PROPERTIES: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// What lets a caller list users. `User.ReadBasic.All` sees only the basic profile.
const READ_USERS: &[&str] = &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "User.ReadBasic.All"];
const BASIC_ONLY: &[&str] = &["id", "displayName", "givenName", "surname", "mail", "userPrincipalName"];

/// Page size without `$top`.
const DEFAULT_PAGE: usize = 100;
/// Largest page with `$expand` (Graph known issue 13635).
const EXPAND_PAGE: usize = 100;
/// Delta pages.
const DELTA_PAGE: usize = 200;

/// The parsed OData query of a request.
#[derive(Debug, Default)]
struct Query {
    raw: Vec<(String, String)>,
    select: Option<Vec<String>>,
    expand_manager: Option<Vec<String>>,
    filter: Option<String>,
    top: Option<usize>,
    count: bool,
    skiptoken: Option<String>,
}

fn bad_query(headers: &HeaderMap, message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", message, headers)
}

fn parse_query(q: Option<&str>, headers: &HeaderMap) -> Result<Query, Response> {
    let raw: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let mut query = Query { raw: raw.clone(), ..Query::default() };
    for (k, v) in &raw {
        match k.as_str() {
            "$select" => {
                query.select = Some(v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
            }
            "$expand" => {
                let v = v.trim();
                if v == "manager" {
                    query.expand_manager = Some(vec!["id".into(), "displayName".into()]);
                } else if let Some(inner) = v.strip_prefix("manager(").and_then(|r| r.strip_suffix(')')) {
                    let select = inner.strip_prefix("$select=").unwrap_or("id,displayName");
                    query.expand_manager = Some(select.split(',').map(|s| s.trim().to_owned()).collect());
                } else {
                    return Err(bad_query(
                        headers,
                        &format!("Expanding '{v}' is not supported on users by the simulated tenant."),
                    ));
                }
            }
            "$filter" => query.filter = Some(v.clone()),
            "$top" => {
                let top: usize =
                    v.parse().map_err(|_| bad_query(headers, &format!("Invalid page size specified: '{v}'.")))?;
                if !(1..=999).contains(&top) {
                    return Err(bad_query(
                        headers,
                        &format!("Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."),
                    ));
                }
                query.top = Some(top);
            }
            "$count" => query.count = v == "true",
            "$skiptoken" => query.skiptoken = Some(v.clone()),
            _ => {}
        }
    }
    let eventual = headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    if query.count && !eventual {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "$count is only supported with the 'ConsistencyLevel: eventual' header.",
            headers,
        ));
    }
    if query.count && query.expand_manager.is_some() {
        return Err(bad_query(headers, "$expand is not supported together with advanced query parameters ($count)."));
    }
    Ok(query)
}

/// One comparison of a `$filter`.
enum Predicate {
    Enabled(bool),
    UserType(String),
    /// Case-insensitive, as Graph compares directory strings; the prefix is kept lowercased.
    StartsWith {
        property: String,
        prefix: String,
    },
    Equals {
        property: String,
        value: String,
    },
}

/// An OData string literal: `'it''s'` is `it's`.
fn literal(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // A lone quote inside a literal ends it early: not a well-formed filter.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

fn parse_filter(filter: &str) -> Option<Vec<Predicate>> {
    filter
        .split(" and ")
        .map(|clause| {
            let c = clause.trim();
            if let Some(rest) = c.strip_prefix("startswith(").and_then(|r| r.strip_suffix(')')) {
                let (property, value) = rest.split_once(',')?;
                let property = property.trim();
                if !["displayName", "userPrincipalName", "mail", "givenName", "surname"].contains(&property) {
                    return None;
                }
                return Some(Predicate::StartsWith {
                    property: property.to_owned(),
                    prefix: literal(value)?.to_lowercase(),
                });
            }
            let mut parts = c.splitn(3, ' ');
            let (property, op, value) = (parts.next()?, parts.next()?, parts.next()?);
            match (property, op) {
                ("accountEnabled", "eq") => value.parse().ok().map(Predicate::Enabled),
                ("userType", "eq") => literal(value).map(Predicate::UserType),
                ("id" | "userPrincipalName" | "mail", "eq") => {
                    Some(Predicate::Equals { property: property.to_owned(), value: literal(value)?.to_lowercase() })
                }
                _ => None,
            }
        })
        .collect()
}

/// `text` starts with `prefix` (lowercase), ignoring case, without allocating.
fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    let mut lowered = text.chars().flat_map(char::to_lowercase);
    prefix.chars().all(|p| lowered.next() == Some(p))
}

fn matches(p: &Predicate, a: &Account) -> bool {
    match p {
        Predicate::Enabled(e) => a.spec.enabled == *e,
        Predicate::UserType(t) => t.eq_ignore_ascii_case(if a.spec.guest { "Guest" } else { "Member" }),
        Predicate::StartsWith { property, prefix } => {
            property_text(a, property).is_some_and(|v| starts_with_ignoring_case(v, prefix))
        }
        Predicate::Equals { property, value } => property_text(a, property).is_some_and(|v| v.to_lowercase() == *value),
    }
}

fn property_text<'a>(a: &'a Account, property: &str) -> Option<&'a str> {
    let name = a.spec.display_name.as_str();
    match property {
        "displayName" => Some(name),
        "userPrincipalName" => Some(&a.spec.upn),
        "mail" => mail_text(a),
        "id" => Some(&a.object_id),
        "givenName" => name.split_once(' ').map(|(g, _)| g),
        "surname" => name.split_once(' ').map(|(_, s)| s),
        _ => None,
    }
}

fn mail_text(a: &Account) -> Option<&str> {
    a.spec.has_mail.then(|| a.spec.mail.as_deref().unwrap_or(&a.spec.upn))
}

/// One property of a user as Graph renders it, borrowed from the directory (a page of 100 users is written
/// without building a JSON tree).
#[derive(Debug, Clone, Copy)]
enum Prop<'a> {
    Text(&'a str),
    Maybe(Option<&'a str>),
    Flag(bool),
    NoPhones,
    Null,
}

impl Serialize for Prop<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(t) => s.serialize_str(t),
            Self::Maybe(Some(t)) => s.serialize_str(t),
            Self::Maybe(None) | Self::Null => s.serialize_none(),
            Self::Flag(b) => s.serialize_bool(*b),
            Self::NoPhones => s.serialize_seq(Some(0))?.end(),
        }
    }
}

fn prop<'a>(a: &'a Account, name: &str) -> Prop<'a> {
    let spec = &a.spec;
    let (given, surname) = spec.display_name.split_once(' ').unwrap_or((spec.display_name.as_str(), ""));
    match name {
        "id" => Prop::Text(&a.object_id),
        "displayName" => Prop::Text(&spec.display_name),
        "givenName" => Prop::Text(given),
        "surname" => Prop::Text(surname),
        "userPrincipalName" => Prop::Text(&spec.upn),
        "mail" => Prop::Maybe(mail_text(a)),
        "jobTitle" => Prop::Maybe(spec.job_title.as_deref()),
        "department" => Prop::Maybe(spec.department.as_deref()),
        "accountEnabled" => Prop::Flag(spec.enabled),
        "userType" => Prop::Text(if spec.guest { "Guest" } else { "Member" }),
        "businessPhones" => Prop::NoPhones,
        _ => Prop::Null,
    }
}

/// A user with the selected properties; basic-only callers get null for the rest; the expanded manager, if any
/// (itself a user that says its `@odata.type`).
struct UserJson<'a> {
    account: &'a Account,
    names: &'a [&'a str],
    basic_only: bool,
    manager: Option<(&'a Account, &'a [&'a str])>,
    typed: bool,
}

impl Serialize for UserJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if self.typed {
            map.serialize_entry("@odata.type", "#microsoft.graph.user")?;
        }
        for n in self.names {
            let hidden = self.basic_only && !BASIC_ONLY.contains(n);
            map.serialize_entry(n, &if hidden { Prop::Null } else { prop(self.account, n) })?;
        }
        if let Some((manager, names)) = self.manager {
            let manager = UserJson { account: manager, names, basic_only: self.basic_only, manager: None, typed: true };
            map.serialize_entry("manager", &manager)?;
        }
        map.end()
    }
}

/// The selected property names (Microsoft's default set without `$select`).
fn names_of(select: Option<&[String]>) -> Vec<&str> {
    match select {
        Some(s) => s.iter().map(String::as_str).collect(),
        None => DEFAULT_PROPERTIES.to_vec(),
    }
}

/// A user object with the selected properties (default set without `$select`); basic-only callers get null for
/// the rest.
fn user_object(a: &Account, select: Option<&[String]>, basic_only: bool) -> Map<String, Value> {
    let names = names_of(select);
    let user = UserJson { account: a, names: &names, basic_only, manager: None, typed: false };
    match serde_json::to_value(&user) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn manager_of<'d>(dir: &'d Directory, a: &Account) -> Option<&'d Account> {
    a.spec.manager.as_deref().and_then(|m| dir.person(m))
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> Result<(Caller, bool), Response> {
    let caller = authorize(shared, headers, READ_USERS)?;
    let basic_only = !caller.has_any(&["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"]);
    Ok((caller, basic_only))
}

fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

/// The URL of the next page: the same query with a new `$skiptoken`, written as Graph writes its links (`$`, `,`,
/// `(`, `)` and `=` left as they are).
fn next_link(base: &str, path: &str, raw: &[(String, String)], token: &str) -> String {
    let value = |v: &str| {
        url::form_urlencoded::byte_serialize(v.as_bytes())
            .collect::<String>()
            .replace("%24", "$")
            .replace("%2C", ",")
            .replace("%28", "(")
            .replace("%29", ")")
            .replace("%3D", "=")
    };
    let mut parts: Vec<String> = raw
        .iter()
        .filter(|(k, _)| k != "$skiptoken" && k != "$deltatoken")
        .map(|(k, v)| format!("{k}={}", value(v)))
        .collect();
    parts.push(format!("$skiptoken={}", value(token)));
    format!("{base}{}?{}", path.trim_start_matches('/'), parts.join("&"))
}

/// `GET /v1.0/users`.
pub async fn list(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let (caller, basic_only) = match authorized(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let query = match parse_query(q.as_deref(), &headers) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let predicates = match filter_of(&query, &headers) {
        Ok(p) => p,
        Err(r) => return r,
    };
    // The token is the directory position to go on from, so a page costs its own length, not the directory's.
    let from = match query.skiptoken.as_deref() {
        None => 0,
        Some(t) => match decode_token(t) {
            Some(o) => o,
            None => return bad_query(&headers, "Invalid $skiptoken."),
        },
    };
    let page = match (query.top, query.expand_manager.is_some()) {
        (Some(t), true) => t.min(EXPAND_PAGE),
        (Some(t), false) => t,
        (None, _) => DEFAULT_PAGE,
    };
    let st = shared.lock();
    if caller.tenant_id() != st.dir.tenant_id() {
        drop(st);
        return graph_ok(&headers, with_context(&shared, "users", json!({ "value": [] })));
    }
    let names = names_of(query.select.as_deref());
    let manager_names = query.expand_manager.as_deref().map(|m| names_of(Some(m)));
    let mut value = Vec::with_capacity(page);
    let mut next = None;
    for (at, a) in st.dir.members_from(from).filter(|(_, a)| predicates.iter().all(|p| matches(p, a))) {
        if value.len() == page {
            next = Some(at);
            break;
        }
        let manager = manager_names.as_deref().and_then(|n| manager_of(&st.dir, a).map(|m| (m, n)));
        value.push(UserJson { account: a, names: &names, basic_only, manager, typed: false });
    }
    let total = (query.count && from == 0)
        .then(|| st.dir.members().filter(|a| predicates.iter().all(|p| matches(p, a))).count());
    let body = UsersPage {
        context: format!("{}v1.0/$metadata#users", shared.graph_base),
        count: total,
        value,
        next: next.map(|at| next_link(&shared.graph_base, "/v1.0/users", &query.raw, &encode_token(at))),
    };
    // Written while the directory is locked: the page borrows from it.
    let bytes = serde_json::to_vec(&body);
    drop(st);
    match bytes {
        Ok(bytes) => graph_ok_bytes(&headers, bytes),
        Err(e) => graph_error(StatusCode::INTERNAL_SERVER_ERROR, "generalException", &e.to_string(), &headers),
    }
}

/// A `/users` page.
#[derive(Serialize)]
struct UsersPage<'a> {
    #[serde(rename = "@odata.context")]
    context: String,
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    count: Option<usize>,
    value: Vec<UserJson<'a>>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The predicates of the query's `$filter`, or Graph's 400 for one the simulator (and Graph) cannot run.
fn filter_of(query: &Query, headers: &HeaderMap) -> Result<Vec<Predicate>, Response> {
    match query.filter.as_deref().map(parse_filter) {
        None => Ok(Vec::new()),
        Some(Some(p)) => Ok(p),
        Some(None) => Err(bad_query(
            headers,
            "Unsupported or invalid query filter clause specified for property of resource 'User'.",
        )),
    }
}

/// `GET /v1.0/users/$count` (plain text; needs `ConsistencyLevel: eventual`), with an optional `$filter`.
pub async fn count(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let caller = match authorized(&shared, &headers) {
        Ok((c, _)) => c,
        Err(r) => return r,
    };
    let eventual = headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"));
    if !eventual {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Count is not currently supported without the 'ConsistencyLevel: eventual' header.",
            &headers,
        );
    }
    let predicates = match parse_query(q.as_deref(), &headers).and_then(|query| filter_of(&query, &headers)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let n = {
        let st = shared.lock();
        if caller.tenant_id() == st.dir.tenant_id() {
            st.dir.members().filter(|a| predicates.iter().all(|p| matches(p, a))).count()
        } else {
            0
        }
    };
    let mut r = n.to_string().into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static("text/plain"));
    r
}

fn not_found(headers: &HeaderMap, what: &str) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{what}' does not exist or one of its queried reference-property objects are not present."),
        headers,
    )
}

/// `GET /v1.0/users/{id|upn}`.
pub async fn one(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (caller, basic_only) = match authorized(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let query = match parse_query(q.as_deref(), &headers) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let Some(a) = person_of(&shared, &caller, &id) else {
        return not_found(&headers, &id);
    };
    graph_ok(
        &headers,
        with_context(&shared, "users/$entity", Value::Object(user_object(&a, query.select.as_deref(), basic_only))),
    )
}

/// The account `/users/{id|upn}` names, when it is of the caller's tenant.
fn person_of(shared: &Shared, caller: &Caller, id: &str) -> Option<Account> {
    shared.lock().dir.person(id).filter(|a| a.home_tenant_id == caller.tenant_id()).cloned()
}

/// `GET /v1.0/users/{id|upn}/licenseDetails`: the user's licences.
pub async fn license_details(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authorize(&shared, &headers, &["User.Read.All", "Directory.Read.All"]) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(a) = person_of(&shared, &caller, &id) else {
        return not_found(&headers, &id);
    };
    let context = format!("users('{}')/licenseDetails", a.object_id);
    graph_ok(&headers, with_context(&shared, &context, json!({ "value": super::apps::license_details(&a) })))
}

/// `GET /v1.0/users/{id|upn}/manager`: the manager, or 404 when there is none.
pub async fn manager(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let caller = match authorize(&shared, &headers, &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"]) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let query = match parse_query(q.as_deref(), &headers) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let st = shared.lock();
    let Some(a) = st.dir.person(&id).filter(|a| a.home_tenant_id == caller.tenant_id()) else {
        drop(st);
        return not_found(&headers, &id);
    };
    let Some(m) = manager_of(&st.dir, a).cloned() else {
        drop(st);
        return not_found(&headers, "manager");
    };
    drop(st);
    let mut obj = user_object(&m, query.select.as_deref(), false);
    obj.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    graph_ok(&headers, with_context(&shared, "directoryObjects/$entity", Value::Object(obj)))
}

/// `GET /v1.0/users/delta`: every user in pages, then a `@odata.deltaLink`; following the delta link returns the
/// changes since (the simulated directory does not change during a run, so none).
pub async fn delta(State(shared): State<Arc<Shared>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let (caller, basic_only) = match authorized(&shared, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let raw: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let get = |k: &str| raw.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    let select: Option<Vec<String>> = get("$select").map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let st = shared.lock();
    let version = st.dir.version;
    let delta_link = |v: u64| {
        format!("{}v1.0/users/delta?$deltatoken={}", shared.graph_base, URL_SAFE_NO_PAD.encode(format!("version:{v}")))
    };
    if get("$deltatoken").is_some() {
        drop(st);
        return graph_ok(
            &headers,
            json!({ "@odata.context": format!("{}v1.0/$metadata#users", shared.graph_base), "value": [], "@odata.deltaLink": delta_link(version) }),
        );
    }
    let offset = get("$skiptoken").and_then(|t| decode_token(&t)).unwrap_or(0);
    let members: Vec<&Account> =
        if caller.tenant_id() == st.dir.tenant_id() { st.dir.members().collect() } else { Vec::new() };
    let value: Vec<Value> = members
        .iter()
        .skip(offset)
        .take(DELTA_PAGE)
        .map(|a| {
            let mut obj = user_object(a, select.as_deref(), basic_only);
            obj.insert("id".into(), json!(a.object_id));
            if select.as_ref().is_some_and(|s| s.iter().any(|p| p == "manager"))
                && let Some(m) = manager_of(&st.dir, a)
            {
                obj.remove("manager");
                obj.insert(
                    "manager@delta".into(),
                    json!([{ "@odata.type": "#microsoft.graph.user", "id": m.object_id }]),
                );
            }
            Value::Object(obj)
        })
        .collect();
    let more = offset + DELTA_PAGE < members.len();
    drop(st);
    let mut body = json!({ "@odata.context": format!("{}v1.0/$metadata#users", shared.graph_base), "value": value });
    if more {
        body["@odata.nextLink"] =
            json!(next_link(&shared.graph_base, "/v1.0/users/delta", &raw, &encode_token(offset + DELTA_PAGE)));
    } else {
        body["@odata.deltaLink"] = json!(delta_link(version));
    }
    graph_ok(&headers, body)
}
