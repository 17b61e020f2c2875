//! Microsoft Graph v1.0's published metadata (`tests/data/graph-metadata/`, condensed from Microsoft's CSDL) and a
//! checker that holds a Graph answer against it: every property declared on the entity or complex type or its
//! base types (or an OData annotation), every value of the declared type, `@odata.context` naming what the request
//! asked for.
//!
//! The condensed file has the types but not the entity container (the entity sets and singletons a URL starts
//! from), so [`ROOTS`] names the ones the product and the simulator use, as the CSDL's `EntityContainer` declares
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a broken metadata file should panic")]
#![allow(dead_code, reason = "each test binary uses a different subset of these helpers")]

use serde_json::{Map, Value};

/// Entity sets and singletons of Graph v1.0's `EntityContainer` that our requests start from.
const ROOTS: &[(&str, Shape<'static>)] = &[
    ("users", Shape::Many("microsoft.graph.user")),
    ("me", Shape::One("microsoft.graph.user")),
    ("organization", Shape::Many("microsoft.graph.organization")),
    ("servicePrincipals", Shape::Many("microsoft.graph.servicePrincipal")),
    ("subscribedSkus", Shape::Many("microsoft.graph.subscribedSku")),
    ("oauth2PermissionGrants", Shape::Many("microsoft.graph.oAuth2PermissionGrant")),
    ("appCatalogs", Shape::One("microsoft.graph.appCatalogs")),
    ("directoryObjects", Shape::Many("microsoft.graph.directoryObject")),
    ("groups", Shape::Many("microsoft.graph.group")),
    ("tenantRelationships", Shape::One("microsoft.graph.tenantRelationship")),
];

/// Bound functions our requests call, and what they answer: a collection of the type they are bound to.
const COLLECTION_FUNCTIONS: &[&str] = &["delta"];

/// What a URL or a context names: one entity of a type, or a collection of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    One(&'a str),
    Many(&'a str),
}

impl Shape<'_> {
    fn owned(self) -> OwnedShape {
        match self {
            Shape::One(t) => OwnedShape::One(t.to_owned()),
            Shape::Many(t) => OwnedShape::Many(t.to_owned()),
        }
    }
}

/// [`Shape`] with its own type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedShape {
    One(String),
    Many(String),
}

impl OwnedShape {
    pub fn type_name(&self) -> &str {
        match self {
            OwnedShape::One(t) | OwnedShape::Many(t) => t,
        }
    }
}

pub struct Metadata {
    types: Map<String, Value>,
    enums: Map<String, Value>,
}

/// `graph.x` → `microsoft.graph.x`.
fn full(name: &str) -> String {
    match name.strip_prefix("graph.") {
        Some(rest) => format!("microsoft.graph.{rest}"),
        None => name.to_owned(),
    }
}

impl Metadata {
    pub fn load() -> Self {
        let v: Value = serde_json::from_str(include_str!("../data/graph-metadata/graph-v1-types.json")).unwrap();
        let types = v["types"].as_object().unwrap().clone();
        let enums = v["enums"].as_object().unwrap().clone();
        assert!(types.len() > 1000 && enums.len() > 100, "the metadata file is complete");
        Self { types, enums }
    }

    fn ty(&self, name: &str) -> Option<&Value> {
        self.types.get(&full(name))
    }

    /// A property or navigation property of `ty` or its base types: its declared type and whether it navigates.
    fn member(&self, ty: &str, name: &str) -> Option<(String, bool)> {
        let mut at = Some(full(ty));
        while let Some(t) = at {
            let def = self.ty(&t)?;
            if let Some(p) = def["props"].get(name).and_then(Value::as_str) {
                return Some((full(p), false));
            }
            if let Some(p) = def["navs"].get(name).and_then(Value::as_str) {
                return Some((full(p), true));
            }
            at = def["base"].as_str().map(full);
        }
        None
    }

    /// Whether `ty` is `base` or derives from it.
    pub fn derives(&self, ty: &str, base: &str) -> bool {
        let (base, mut at) = (full(base), Some(full(ty)));
        while let Some(t) = at {
            if t == base {
                return true;
            }
            at = self.ty(&t).and_then(|d| d["base"].as_str()).map(full);
        }
        false
    }

    /// What a request path (`/v1.0/users/{id}/teamwork/installedApps`) names; `None` for paths whose answer is
    /// not an entity (`$count`, `$value`, `$batch`) or not Graph's (`/oidc/userinfo`).
    pub fn path_shape(&self, path: &str) -> Option<Result<OwnedShape, String>> {
        let rest = path.strip_prefix("/v1.0/")?;
        let segments: Vec<String> = rest.split('/').map(str::to_owned).collect();
        if segments.iter().any(|s| s.starts_with('$')) {
            return None;
        }
        Some(self.walk(&segments, true))
    }

    /// What an `@odata.context` names.
    pub fn context_shape(&self, context: &str) -> Result<OwnedShape, String> {
        let (_, fragment) =
            context.split_once("$metadata#").ok_or_else(|| format!("context {context:?} has no $metadata#"))?;
        if let Some(inner) = fragment.strip_prefix("Collection(").and_then(|f| f.strip_suffix(')')) {
            self.ty(inner).ok_or_else(|| format!("context names an unknown type {inner}"))?;
            return Ok(OwnedShape::Many(full(inner)));
        }
        self.walk(&split_top_level(fragment), false)
    }

    /// Follows segments from an entity set or singleton: keys, navigation properties, type casts, `$entity`.
    fn walk(&self, segments: &[String], keys_are_segments: bool) -> Result<OwnedShape, String> {
        let (first, rest) = segments.split_first().ok_or("empty path")?;
        let (name, key) = split_key(first);
        let mut shape =
            ROOTS.iter().find(|(n, _)| *n == name).map(|(_, s)| s.owned()).ok_or_else(|| {
                format!("{name} is not an entity set or singleton the checker knows (add it to ROOTS)")
            })?;
        if key {
            shape = OwnedShape::One(shape.type_name().to_owned());
        }
        for segment in rest {
            let (name, key) = split_key(segment);
            let current = shape.type_name().to_owned();
            shape = if name == "$entity" {
                OwnedShape::One(current)
            } else if let Some(cast) = name.strip_prefix("microsoft.graph.") {
                let cast = format!("microsoft.graph.{cast}");
                if !self.derives(&cast, &current) {
                    return Err(format!("cast to {cast}, which does not derive from {current}"));
                }
                match shape {
                    OwnedShape::One(_) => OwnedShape::One(cast),
                    OwnedShape::Many(_) => OwnedShape::Many(cast),
                }
            } else if matches!(shape, OwnedShape::Many(_)) && COLLECTION_FUNCTIONS.contains(&name) {
                shape
            } else if matches!(shape, OwnedShape::Many(_)) && keys_are_segments {
                // An id in a request path (`users/{id}`).
                OwnedShape::One(current)
            } else {
                let (ty, nav) =
                    self.member(&current, name).ok_or_else(|| format!("{current} has no property {name}"))?;
                if !nav {
                    return Err(format!("{current}.{name} is not a navigation property"));
                }
                match ty.strip_prefix("Collection(").and_then(|t| t.strip_suffix(')')) {
                    Some(inner) => OwnedShape::Many(full(inner)),
                    None => OwnedShape::One(ty),
                }
            };
            if key {
                shape = OwnedShape::One(shape.type_name().to_owned());
            }
        }
        Ok(shape)
    }
}

/// `users('x')` → (`users`, true); `users(id,displayName)` → (`users`, false).
fn split_key(segment: &str) -> (&str, bool) {
    match segment.split_once('(') {
        Some((name, args)) => (name, args.starts_with('\'') || args.starts_with(|c: char| c.is_ascii_hexdigit())),
        None => (segment, false),
    }
}

/// Splits a context fragment on `/` outside parentheses (`users(id,manager(id))/$entity`).
fn split_top_level(s: &str) -> Vec<String> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => {
                out.push(s[start..i].to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].to_owned());
    out
}

/// Holds answers against the metadata and collects what is wrong.
pub struct Checker<'m> {
    md: &'m Metadata,
    /// Properties checked (each value of each answer).
    pub checked: usize,
    /// Annotations seen (`@odata.*` and `property@odata.*`).
    pub annotations: usize,
    pub problems: Vec<String>,
}

impl<'m> Checker<'m> {
    pub fn new(md: &'m Metadata) -> Self {
        Self { md, checked: 0, annotations: 0, problems: Vec::new() }
    }

    fn problem(&mut self, at: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{at}: {what}"));
    }

    /// One successful answer to `request` (`GET /v1.0/...`): its context must name what the path names, and its
    /// body must fit that type.
    pub fn answer(&mut self, request: &str, path: &str, body: &Value) {
        let Some(expected) = self.md.path_shape(path) else {
            return;
        };
        let expected = match expected {
            Ok(s) => s,
            Err(e) => return self.problem(request, format!("path: {e}")),
        };
        let Some(obj) = body.as_object() else {
            return self.problem(request, "the answer is not a JSON object");
        };
        let Some(context) = obj.get("@odata.context").and_then(Value::as_str) else {
            return self.problem(request, "no @odata.context");
        };
        match self.md.context_shape(context) {
            Ok(named) => {
                let agrees = match (&named, &expected) {
                    (OwnedShape::One(a), OwnedShape::One(b)) | (OwnedShape::Many(a), OwnedShape::Many(b)) => {
                        self.md.derives(a, b) || self.md.derives(b, a)
                    }
                    _ => false,
                };
                if !agrees {
                    self.problem(request, format!("@odata.context names {named:?}, the path names {expected:?}"));
                }
            }
            Err(e) => self.problem(request, format!("@odata.context {context:?}: {e}")),
        }
        match &expected {
            OwnedShape::Many(ty) => {
                for (k, v) in obj {
                    match k.as_str() {
                        "value" => match v.as_array() {
                            Some(items) => {
                                for (i, item) in items.iter().enumerate() {
                                    self.entity(item, ty, &format!("{request} value[{i}]"));
                                }
                            }
                            None => self.problem(request, "value is not an array"),
                        },
                        _ if k.starts_with("@odata.") => self.annotation(k, v, request),
                        _ => self.problem(request, format!("a collection answer has {k:?} beside value")),
                    }
                }
            }
            OwnedShape::One(ty) => self.entity(body, ty, request),
        }
    }

    fn annotation(&mut self, key: &str, v: &Value, at: &str) {
        self.annotations += 1;
        let name = key.rsplit_once('@').map_or(key, |(_, a)| a);
        let ok = match name {
            "odata.context"
            | "odata.nextLink"
            | "odata.deltaLink"
            | "odata.id"
            | "odata.etag"
            | "odata.mediaContentType"
            | "odata.mediaEtag"
            | "odata.bind" => v.is_string() && (name != "odata.nextLink" && name != "odata.deltaLink" || is_url(v)),
            "odata.count" => v.as_u64().is_some(),
            "odata.type" => v.as_str().is_some_and(|t| t.starts_with("#microsoft.graph.")),
            _ => {
                self.problem(at, format!("unknown annotation {key}"));
                return;
            }
        };
        if !ok {
            self.problem(at, format!("{key} has the wrong shape: {v}"));
        }
    }

    /// An entity or complex value: `@odata.type` (if any) must derive from the declared type; every property must
    /// be declared on the type it names.
    fn entity(&mut self, v: &Value, declared: &str, at: &str) {
        let Some(obj) = v.as_object() else {
            return self.problem(at, format!("expected a {declared} object, got {v}"));
        };
        let mut ty = declared.to_owned();
        if let Some(t) = obj.get("@odata.type").and_then(Value::as_str) {
            let named = t.trim_start_matches('#');
            if self.md.ty(named).is_none() {
                self.problem(at, format!("@odata.type {t} is not a Graph type"));
            } else if !self.md.derives(named, declared) {
                self.problem(at, format!("@odata.type {t} does not derive from {declared}"));
            } else {
                ty = named.to_owned();
            }
        }
        if self.md.ty(&ty).is_none() {
            return self.problem(at, format!("{ty} is not a Graph type"));
        }
        for (k, value) in obj {
            if k.contains('@') {
                self.annotation(k, value, at);
                continue;
            }
            let Some((prop_ty, _nav)) = self.md.member(&ty, k) else {
                self.problem(at, format!("{ty} has no property {k:?}"));
                continue;
            };
            self.checked += 1;
            self.value(value, &prop_ty, &format!("{at}.{k}"));
        }
    }

    /// A value of declared type `ty` (null is allowed: Graph sends null for unset properties).
    fn value(&mut self, v: &Value, ty: &str, at: &str) {
        if v.is_null() {
            return;
        }
        if let Some(inner) = ty.strip_prefix("Collection(").and_then(|t| t.strip_suffix(')')) {
            let inner = full(inner);
            match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item, &inner, &format!("{at}[{i}]"));
                    }
                }
                None => self.problem(at, format!("expected a collection of {inner}, got {v}")),
            }
            return;
        }
        let ok = match ty {
            "Edm.String" => v.is_string(),
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Guid" => v.as_str().is_some_and(is_guid),
            "Edm.DateTimeOffset" => v.as_str().is_some_and(is_date_time),
            "Edm.Date" => v.as_str().is_some_and(is_date),
            "Edm.Duration" => v.as_str().is_some_and(is_duration),
            "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Byte" | "Edm.SByte" => v.is_i64() || v.is_u64(),
            "Edm.Double" | "Edm.Single" | "Edm.Decimal" => v.is_number(),
            "Edm.Binary" | "Edm.Stream" => v.as_str().is_some_and(is_base64),
            t if self.md.enums.contains_key(t) => {
                let members = self.md.enums[t].as_array().cloned().unwrap_or_default();
                v.as_str().is_some_and(|s| s.split(',').all(|m| members.iter().any(|x| x == m.trim())))
            }
            t if self.md.ty(t).is_some() => {
                self.entity(v, t, at);
                return;
            }
            other => {
                self.problem(at, format!("the metadata declares a type the checker does not know: {other}"));
                return;
            }
        };
        if !ok {
            self.problem(at, format!("expected {ty}, got {v}"));
        }
    }
}

fn is_url(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("https://"))
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

fn is_date_time(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && is_date_time(&format!("{s}T00:00:00Z"))
}

/// ISO 8601 durations as Graph writes them (`P730D`, `PT1H`, `P1DT2H`).
fn is_duration(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('P') else { return false };
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let parts_ok = |part: &str, units: &str| {
        let mut digits = false;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                digits = true;
            } else if units.contains(c) && digits {
                digits = false;
            } else {
                return false;
            }
        }
        !digits
    };
    !rest.is_empty() && parts_ok(date, "YMWD") && parts_ok(time, "HMS") && (!s.contains('T') || !time.is_empty())
}

fn is_base64(s: &str) -> bool {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

#[test]
fn the_checker_itself_finds_what_is_wrong() {
    let md = Metadata::load();
    let mut c = Checker::new(&md);
    let good = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "id": "4f1b0c2e-8f3a-4b7e-9a61-1d2c3e4f5a6b", "displayName": "A", "accountEnabled": true,
        "department": null, "businessPhones": ["1"], "createdDateTime": "2024-01-02T03:04:05Z",
    });
    c.answer("GET /v1.0/users/x", "/v1.0/users/x", &good);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.checked, 6);
    let bad = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups/$entity",
        "id": "not-a-guid-but-id-is-a-string", "accountEnabled": "yes", "shoeSize": 9,
        "createdDateTime": "yesterday", "businessPhones": "1",
    });
    let mut c = Checker::new(&md);
    c.answer("GET /v1.0/users/x", "/v1.0/users/x", &bad);
    let text = c.problems.join("\n");
    for expected in
        ["names One(\"microsoft.graph.group\")", "accountEnabled", "shoeSize", "createdDateTime", "businessPhones"]
    {
        assert!(text.contains(expected), "{expected} not found in:\n{text}");
    }
    assert!(is_duration("P730D") && is_duration("PT2H") && !is_duration("P") && !is_duration("730D"));
}
