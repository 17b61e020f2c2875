//! Shape reports: what Microsoft's (or the simulator's) answers look like, without anything they say. Per request:
//! the API, the method, the path with every id, name and tenant replaced by a placeholder, the query's parameter
//! names, the status, which headers that matter were there, and the JSON shape (property names and JSON types;
//! arrays summarised by the union of their items' shapes). Two reports are compared with [`diff`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostics::journal::Answer;

/// The report file's format name; another value is not a shape report.
pub const FORMAT: &str = "mspbots-setup conformance report 1";

/// Headers whose presence matters to the product (throttling, retry, correlation).
const HEADERS: &[&str] = &[
    "retry-after",
    "request-id",
    "client-request-id",
    "x-ms-request-id",
    "x-ms-ags-diagnostic",
    "x-ms-throttle-limit-percentage",
    "x-ms-throttle-scope",
    "x-ms-throttle-information",
    "x-ms-resource-unit",
    "x-ms-correlation-id",
];

/// The JSON type of a value, recursively.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Null,
    Boolean,
    Number,
    String,
    /// An array and the union of its items' shapes (`None` when every one seen was empty).
    Array(Option<Box<Shape>>),
    Object(BTreeMap<String, Shape>),
    /// Values of different shapes at the same place (sorted, without duplicates).
    AnyOf(Vec<Shape>),
}

impl Shape {
    /// The shape of `v`. Property names that carry ids or addresses are replaced by a placeholder.
    pub fn of(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(items) => Self::Array(items.iter().map(Self::of).reduce(Self::union).map(Box::new)),
            Value::Object(o) => {
                let mut props: BTreeMap<String, Shape> = BTreeMap::new();
                for (k, v) in o {
                    let key = template_name(k);
                    let shape = Self::of(v);
                    let merged = match props.remove(&key) {
                        Some(old) => old.union(shape),
                        None => shape,
                    };
                    props.insert(key, merged);
                }
                Self::Object(props)
            }
        }
    }

    /// The shape that covers both: objects merge their properties, arrays their items, different kinds become
    /// `AnyOf`.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Object(mut a), Self::Object(b)) => {
                for (k, v) in b {
                    let merged = match a.remove(&k) {
                        Some(old) => old.union(v),
                        None => v,
                    };
                    a.insert(k, merged);
                }
                Self::Object(a)
            }
            (Self::Array(a), Self::Array(b)) => Self::Array(match (a, b) {
                (Some(a), Some(b)) => Some(Box::new(a.union(*b))),
                (a, b) => a.or(b),
            }),
            (Self::AnyOf(a), b) | (b, Self::AnyOf(a)) => {
                let mut all = a;
                match b {
                    Self::AnyOf(more) => {
                        for m in more {
                            all = Self::AnyOf(all).union(m).into_any();
                        }
                    }
                    one => {
                        // An object or array merges with the one of its kind already there.
                        if let Some(i) = all.iter().position(|s| s.kind() == one.kind()) {
                            let old = all.remove(i);
                            all.push(old.union(one));
                        } else {
                            all.push(one);
                        }
                    }
                }
                all.sort();
                all.dedup();
                Self::AnyOf(all)
            }
            (a, b) => {
                let mut all = vec![a, b];
                all.sort();
                Self::AnyOf(all)
            }
        }
    }

    fn into_any(self) -> Vec<Shape> {
        match self {
            Self::AnyOf(v) => v,
            one => vec![one],
        }
    }

    /// The JSON kind, for messages and for merging inside `AnyOf`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Number => "number",
            Self::String => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
            Self::AnyOf(_) => "any of several",
        }
    }

    /// The kinds this shape can be (`AnyOf` lists its members'; null is a kind like the others).
    fn kinds(&self) -> BTreeSet<&'static str> {
        match self {
            Self::AnyOf(v) => v.iter().map(Self::kind).collect(),
            one => BTreeSet::from([one.kind()]),
        }
    }

    fn object(&self) -> Option<&BTreeMap<String, Shape>> {
        match self {
            Self::Object(o) => Some(o),
            Self::AnyOf(v) => v.iter().find_map(Self::object),
            _ => None,
        }
    }

    fn items(&self) -> Option<&Shape> {
        match self {
            Self::Array(Some(i)) => Some(i),
            Self::AnyOf(v) => v.iter().find_map(Self::items),
            _ => None,
        }
    }
}

/// One recorded request (every answer to the same API, method, path and status merged into one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// `login`, `graph` or `teams_admin`.
    pub api: String,
    pub method: String,
    /// The path with ids, names and tenants replaced (`/v1.0/users/{id}/teamwork/installedApps`).
    pub path: String,
    /// Query parameter names (never their values).
    pub query: BTreeSet<String>,
    pub status: u16,
    /// Headers that matter here (retry, throttling, correlation) that any of these answers carried.
    pub headers: BTreeSet<String>,
    /// The media type (`application/json`, `image/jpeg`), without parameters.
    pub content_type: Option<String>,
    /// The JSON body's shape, for JSON answers.
    pub shape: Option<Shape>,
    /// How many answers were merged here.
    pub count: u32,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    /// What was recorded: `a tenant` or `the simulator (scenario NAME)`. Never the tenant's name.
    pub source: String,
    /// The recording program's version.
    pub version: String,
    pub exchanges: Vec<Exchange>,
}

impl Report {
    pub fn new(source: String) -> Self {
        Self { format: FORMAT.to_owned(), source, version: env!("CARGO_PKG_VERSION").to_owned(), exchanges: Vec::new() }
    }

    /// Adds one answer, merging it with an earlier one of the same request and status.
    pub fn add(&mut self, answer: &Answer<'_>) {
        let Ok(url) = url::Url::parse(answer.url) else { return };
        let (api, path) = template_path(url.path());
        let query: BTreeSet<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let content_type = answer
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .and_then(|(_, v)| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        let headers: BTreeSet<String> =
            answer.headers.iter().map(|(k, _)| k.clone()).filter(|k| HEADERS.contains(&k.as_str())).collect();
        let is_json = content_type.as_deref().is_some_and(|t| t == "application/json" || t.ends_with("+json"));
        let shape =
            if is_json { serde_json::from_slice::<Value>(answer.body).ok().map(|v| Shape::of(&v)) } else { None };
        let found = self
            .exchanges
            .iter_mut()
            .find(|e| e.api == api && e.method == answer.method && e.path == path && e.status == answer.status);
        match found {
            Some(e) => {
                e.query.extend(query);
                e.headers.extend(headers);
                e.shape = match (e.shape.take(), shape) {
                    (Some(a), Some(b)) => Some(a.union(b)),
                    (a, b) => a.or(b),
                };
                e.content_type = e.content_type.take().or(content_type);
                e.count += 1;
            }
            None => self.exchanges.push(Exchange {
                api: api.to_owned(),
                method: answer.method.to_owned(),
                path,
                query,
                status: answer.status,
                headers,
                content_type,
                shape,
                count: 1,
            }),
        }
    }

    /// Sorted by API, path, method and status, so two recordings list alike.
    pub fn sort(&mut self) {
        self.exchanges
            .sort_by(|a, b| (&a.api, &a.path, &a.method, a.status).cmp(&(&b.api, &b.path, &b.method, b.status)));
    }
}

/// Whether `s` looks like an id: a GUID anywhere in it, an address, or a long opaque token.
fn looks_like_id(s: &str) -> bool {
    let hex = s.chars().filter(char::is_ascii_hexdigit).count();
    let has_guid = s.as_bytes().windows(36).any(|w| std::str::from_utf8(w).is_ok_and(crate::profile::is_guid));
    has_guid
        || s.contains('@')
        || (s.len() >= 20 && hex * 2 >= s.len())
        || (s.len() >= 24
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c))
            && s.chars().any(|c| c.is_ascii_digit()))
}

/// A property name as the report keeps it: one that carries an id or an address becomes `{key}`.
fn template_name(name: &str) -> String {
    if looks_like_id(name) { "{key}".to_owned() } else { name.to_owned() }
}

/// Tenants in login paths that are not a tenant's own.
const PUBLIC_TENANTS: &[&str] = &["organizations", "common", "consumers"];

/// Collections whose next path segment is an id.
const COLLECTIONS: &[&str] = &[
    "users",
    "servicePrincipals",
    "teamsApps",
    "appDefinitions",
    "installedApps",
    "delegatedAdminRelationships",
    "delegatedAdminCustomers",
    "accessAssignments",
    "groups",
    "directoryObjects",
    "photos",
    "organization",
    "configuration",
];

/// Segments after a collection that are not ids: functions, casts, navigation and Graph's own words.
fn is_word(segment: &str) -> bool {
    segment.starts_with('$')
        || segment.starts_with("microsoft.graph.")
        || matches!(segment, "delta" | "Global" | "teamwork" | "manager" | "photo" | "licenseDetails" | "memberOf")
}

/// Which API a path belongs to, and the path with ids, names and tenants replaced.
pub fn template_path(path: &str) -> (&'static str, String) {
    let segments: Vec<&str> = path.split('/').collect();
    let api = if path.starts_with("/v1.0/") || path.starts_with("/beta/") || path.starts_with("/oidc/") {
        "graph"
    } else if path.contains("/oauth2/")
        || path.contains("/.well-known/")
        || path.contains("/discovery/")
        || path.contains("/adminconsent")
    {
        "login"
    } else {
        "teams_admin"
    };
    let mut out = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|p| segments.get(p)).copied().unwrap_or_default();
        let replaced = if api == "login" && i == 1 && !PUBLIC_TENANTS.contains(s) {
            "{tenant}".to_owned()
        } else if let Some((name, _)) = s.split_once('(') {
            format!("{name}({{id}})")
        } else if looks_like_id(s) || (COLLECTIONS.contains(&previous) && !is_word(s)) {
            "{id}".to_owned()
        } else {
            (*s).to_owned()
        };
        out.push(replaced);
    }
    (api, out.join("/"))
}

/// One way two reports differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// The tenant answered this request with this status; the simulator never did.
    Missing { api: String, method: String, path: String, status: u16 },
    /// The simulator answered this request with this status; the tenant never did.
    Extra { api: String, method: String, path: String, status: u16 },
    /// A property the tenant sent that the simulator does not (`at` is a JSON path like `value[].id`).
    MissingProperty { method: String, path: String, status: u16, at: String },
    /// A property the simulator sends that the tenant did not.
    ExtraProperty { method: String, path: String, status: u16, at: String },
    /// The same property with another JSON type.
    TypeChanged { method: String, path: String, status: u16, at: String, tenant: String, simulator: String },
    /// A header of interest on one side only.
    Header { method: String, path: String, status: u16, header: String, tenant: bool, simulator: bool },
    /// Another media type.
    ContentType { method: String, path: String, status: u16, tenant: Option<String>, simulator: Option<String> },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing { api, method, path, status } => {
                write!(f, "{method} {path} ({api}): the tenant answered {status}, the simulator never did")
            }
            Self::Extra { api, method, path, status } => {
                write!(f, "{method} {path} ({api}): the simulator answered {status}, the tenant never did")
            }
            Self::MissingProperty { method, path, status, at } => {
                write!(f, "{method} {path} {status}: the tenant sends {at}, the simulator does not")
            }
            Self::ExtraProperty { method, path, status, at } => {
                write!(f, "{method} {path} {status}: the simulator sends {at}, the tenant does not")
            }
            Self::TypeChanged { method, path, status, at, tenant, simulator } => {
                write!(f, "{method} {path} {status}: {at} is {tenant} at the tenant, {simulator} in the simulator")
            }
            Self::Header { method, path, status, header, tenant, simulator } => {
                let side = |b: &bool| if *b { "sends" } else { "does not send" };
                write!(
                    f,
                    "{method} {path} {status}: the tenant {} {header}, the simulator {}",
                    side(tenant),
                    side(simulator)
                )
            }
            Self::ContentType { method, path, status, tenant, simulator } => write!(
                f,
                "{method} {path} {status}: content type {} at the tenant, {} in the simulator",
                tenant.as_deref().unwrap_or("none"),
                simulator.as_deref().unwrap_or("none")
            ),
        }
    }
}

/// How the simulator's report differs from the tenant's.
pub fn diff(tenant: &Report, simulator: &Report) -> Vec<Difference> {
    let key = |e: &Exchange| (e.api.clone(), e.method.clone(), e.path.clone(), e.status);
    let sim: BTreeMap<_, &Exchange> = simulator.exchanges.iter().map(|e| (key(e), e)).collect();
    let real: BTreeMap<_, &Exchange> = tenant.exchanges.iter().map(|e| (key(e), e)).collect();
    let mut out = Vec::new();
    for (k, t) in &real {
        let (api, method, path, status) = k.clone();
        let Some(s) = sim.get(k) else {
            out.push(Difference::Missing { api, method, path, status });
            continue;
        };
        if t.content_type != s.content_type {
            out.push(Difference::ContentType {
                method: method.clone(),
                path: path.clone(),
                status,
                tenant: t.content_type.clone(),
                simulator: s.content_type.clone(),
            });
        }
        for header in t.headers.symmetric_difference(&s.headers) {
            out.push(Difference::Header {
                method: method.clone(),
                path: path.clone(),
                status,
                header: header.clone(),
                tenant: t.headers.contains(header),
                simulator: s.headers.contains(header),
            });
        }
        if let (Some(ts), Some(ss)) = (&t.shape, &s.shape) {
            compare_shapes(ts, ss, "", &mut |at, what| {
                out.push(match what {
                    ShapeDiff::Missing => {
                        Difference::MissingProperty { method: method.clone(), path: path.clone(), status, at }
                    }
                    ShapeDiff::Extra => {
                        Difference::ExtraProperty { method: method.clone(), path: path.clone(), status, at }
                    }
                    ShapeDiff::Type(tenant, simulator) => Difference::TypeChanged {
                        method: method.clone(),
                        path: path.clone(),
                        status,
                        at,
                        tenant,
                        simulator,
                    },
                });
            });
        }
    }
    for (k, _) in sim.iter().filter(|(k, _)| !real.contains_key(*k)) {
        let (api, method, path, status) = k.clone();
        out.push(Difference::Extra { api, method, path, status });
    }
    out
}

enum ShapeDiff {
    Missing,
    Extra,
    Type(String, String),
}

fn kinds_text(s: &Shape) -> String {
    s.kinds().into_iter().collect::<Vec<_>>().join(" or ")
}

fn compare_shapes(tenant: &Shape, sim: &Shape, at: &str, out: &mut dyn FnMut(String, ShapeDiff)) {
    let here = if at.is_empty() { "(the body)".to_owned() } else { at.to_owned() };
    // Null is compatible with anything: Graph sends null for unset values, and one recording may see only those.
    let strip = |s: &Shape| -> BTreeSet<&'static str> { s.kinds().into_iter().filter(|k| *k != "null").collect() };
    let (tk, sk) = (strip(tenant), strip(sim));
    if !tk.is_empty() && !sk.is_empty() && tk != sk {
        out(here.clone(), ShapeDiff::Type(kinds_text(tenant), kinds_text(sim)));
    }
    if let (Some(t), Some(s)) = (tenant.object(), sim.object()) {
        for (k, tv) in t {
            let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            match s.get(k) {
                Some(sv) => compare_shapes(tv, sv, &path, out),
                None => out(path, ShapeDiff::Missing),
            }
        }
        for k in s.keys().filter(|k| !t.contains_key(*k)) {
            out(if at.is_empty() { k.clone() } else { format!("{at}.{k}") }, ShapeDiff::Extra);
        }
    }
    if let (Some(t), Some(s)) = (tenant.items(), sim.items()) {
        compare_shapes(t, s, &format!("{}[]", if at.is_empty() { "" } else { at }), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer<'a>(url: &'a str, body: &'a [u8]) -> Answer<'a> {
        Answer {
            method: "GET",
            url,
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json; charset=utf-8".into()),
                ("request-id".into(), "x".into()),
            ],
            body,
        }
    }

    #[test]
    fn paths_lose_their_ids_names_and_tenants() {
        let t = |p: &str| template_path(p).1;
        assert_eq!(
            t("/v1.0/users/4f1b0c2e-8f3a-4b7e-9a61-1d2c3e4f5a6b/teamwork/installedApps"),
            "/v1.0/users/{id}/teamwork/installedApps"
        );
        assert_eq!(t("/v1.0/users/adele@contoso.com/manager"), "/v1.0/users/{id}/manager");
        assert_eq!(t("/v1.0/users/delta"), "/v1.0/users/delta");
        assert_eq!(t("/v1.0/servicePrincipals(appId='abc')"), "/v1.0/servicePrincipals({id})");
        assert_eq!(t("/contoso.onmicrosoft.com/oauth2/v2.0/token"), "/{tenant}/oauth2/v2.0/token");
        assert_eq!(t("/organizations/oauth2/v2.0/token"), "/organizations/oauth2/v2.0/token");
        assert_eq!(template_path("/organizations/oauth2/v2.0/token").0, "login");
        assert_eq!(
            t("/Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Sales%20team"),
            "/Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/{id}"
        );
        assert_eq!(
            t("/Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global"),
            "/Skype.Policy/configurations/TeamsAppSetupPolicy/configuration/Global"
        );
    }

    #[test]
    fn shapes_keep_names_and_types_and_no_values() {
        let body = json!({ "value": [ { "id": "secret-id", "n": 1 }, { "id": null, "extra": true } ], "x@odata.count": 2,
                           "extension_4f1b0c2e8f3a4b7e9a611d2c3e4f5a6b_tag": "Top secret" });
        let bytes = serde_json::to_vec(&body).unwrap();
        let mut r = Report::new("test".into());
        r.add(&answer("https://graph.microsoft.com/v1.0/users?$select=id&$top=5", &bytes));
        let text = serde_json::to_string(&r).unwrap();
        for secret in ["secret-id", "Top secret", "4f1b0c2e", "$top=5"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let e = &r.exchanges[0];
        assert_eq!(e.query, BTreeSet::from(["$select".to_owned(), "$top".to_owned()]));
        assert_eq!(e.headers, BTreeSet::from(["request-id".to_owned()]));
        let Some(Shape::Object(top)) = &e.shape else { panic!("{e:?}") };
        assert!(top.contains_key("{key}"));
        let Some(Shape::Array(Some(item))) = top.get("value") else { panic!("{top:?}") };
        let Shape::Object(item) = item.as_ref() else { panic!() };
        assert_eq!(item["id"], Shape::AnyOf(vec![Shape::Null, Shape::String]));
        assert_eq!(item["extra"], Shape::Boolean);
    }

    #[test]
    fn a_report_compared_with_itself_has_no_differences_and_each_edit_is_named() {
        let body = serde_json::to_vec(&json!({ "value": [ { "id": "a", "displayName": "b" } ] })).unwrap();
        let mut r = Report::new("test".into());
        r.add(&answer("https://graph.microsoft.com/v1.0/users", &body));
        assert_eq!(diff(&r, &r), vec![]);

        let mut edited = r.clone();
        let Some(Shape::Object(top)) = &mut edited.exchanges[0].shape else { panic!() };
        let Some(Shape::Array(Some(item))) = top.get_mut("value") else { panic!() };
        let Shape::Object(item) = item.as_mut() else { panic!() };
        item.remove("displayName");
        item.insert("id".into(), Shape::Number);
        item.insert("jobTitle".into(), Shape::String);
        edited.exchanges[0].headers.insert("retry-after".into());
        let d: Vec<String> = diff(&edited, &r).iter().map(ToString::to_string).collect();
        assert_eq!(d.len(), 4, "{d:#?}");
        assert!(d.iter().any(|x| x.contains("value[].jobTitle") && x.contains("the simulator does not")));
        assert!(d.iter().any(|x| x.contains("value[].displayName") && x.contains("the tenant does not")));
        assert!(d.iter().any(|x| x.contains("value[].id is number at the tenant, string in the simulator")));
        assert!(d.iter().any(|x| x.contains("retry-after")));

        let mut other = r.clone();
        other.exchanges[0].status = 403;
        let d = diff(&other, &r);
        assert!(
            matches!(d[0], Difference::Missing { status: 403, .. })
                && matches!(d[1], Difference::Extra { status: 200, .. })
        );
    }
}
