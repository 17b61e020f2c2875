//! Microsoft Graph over the one HTTP stack.
//!
//! Every call sends a fresh `client-request-id` (kept across its retries, so support can find it in Microsoft's
//! logs), parses Graph's error envelope into [`Failure::Graph`], retries throttling and outages as Microsoft asks
//! ([`retry`]), and on a 401 asks its [`TokenSource`] for a fresh token once. Paging follows `@odata.nextLink`
//! verbatim (re-sending `ConsistencyLevel`, which Graph does not carry into the link) and refuses links that leave
//! Graph, so a token never goes elsewhere. [`batch`] sends JSON batches; [`tenant`] and [`people`] hold the typed
//! reads of the wizard's steps.

pub mod batch;
pub mod partner;
pub mod people;
pub mod retry;
pub mod scan;
pub mod tenant;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;
use crate::wizard::{Failure, GraphError};
pub use retry::RetryPolicy;

/// A future of a token.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<Secret, Failure>> + Send + 'a>>;

/// Where Graph calls get their bearer token.
pub trait TokenSource: Send + Sync {
    /// A token to use. `rejected` is one Graph just refused (401): the source must not return it again.
    fn token<'a>(&'a self, rejected: Option<&'a Secret>) -> TokenFuture<'a>;
}

/// A fixed token (one just issued): cannot be refreshed, so a 401 on it is final.
impl TokenSource for Secret {
    fn token<'a>(&'a self, _rejected: Option<&'a Secret>) -> TokenFuture<'a> {
        Box::pin(async move { Ok(self.clone()) })
    }
}

/// A Graph client for one base URL (`https://graph.microsoft.com/` or the simulator's).
#[derive(Debug, Clone)]
pub struct Graph {
    http: reqwest::Client,
    base: String,
    policy: RetryPolicy,
    /// Until when Graph asked this client to wait. Microsoft throttles an app per tenant, not per request: once one
    /// request is told to wait, the others would be refused too, so none is sent before then (shared by clones).
    quiet_until: Arc<Mutex<Option<tokio::time::Instant>>>,
    /// Retries of a 429 that says how long to wait, when not the policy's `max_retries` (a long scan meets the
    /// throttle again and again, and waiting as asked is all it needs to do).
    throttled_retries: Option<u32>,
}

/// The signed-in user (`GET /me`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
}

/// The tenant (`GET /organization`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub display_name: Option<String>,
    /// The initial `*.onmicrosoft.com` domain.
    pub initial_domain: Option<String>,
    pub default_domain: Option<String>,
}

/// A service principal (enterprise application).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "innerError")]
    inner_error: Option<InnerError>,
}

#[derive(Deserialize)]
struct FlatError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct InnerError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default, rename = "request-id")]
    request_id: Option<String>,
    #[serde(default, rename = "client-request-id")]
    client_request_id: Option<String>,
}

/// One request: a path under the base (`v1.0/users?…`) or a full URL Graph gave (`@odata.nextLink`).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: reqwest::Method,
    pub target: String,
    /// Send `ConsistencyLevel: eventual` (advanced queries, `$count`).
    pub eventual: bool,
    pub body: Option<Value>,
    /// A non-JSON body and its content type (an app package: `application/zip`).
    pub raw: Option<(Vec<u8>, &'static str)>,
}

impl Call {
    pub fn get(target: impl Into<String>) -> Self {
        Self { method: reqwest::Method::GET, target: target.into(), eventual: false, body: None, raw: None }
    }

    /// `POST` of a JSON body.
    pub fn post(target: impl Into<String>, body: Value) -> Self {
        Self { method: reqwest::Method::POST, target: target.into(), eventual: false, body: Some(body), raw: None }
    }

    /// `PUT` of a JSON body.
    pub fn put(target: impl Into<String>, body: Value) -> Self {
        Self { method: reqwest::Method::PUT, target: target.into(), eventual: false, body: Some(body), raw: None }
    }

    /// `POST` of bytes of `content_type`.
    pub fn post_raw(target: impl Into<String>, bytes: Vec<u8>, content_type: &'static str) -> Self {
        Self {
            method: reqwest::Method::POST,
            target: target.into(),
            eventual: false,
            body: None,
            raw: Some((bytes, content_type)),
        }
    }

    #[must_use]
    pub fn eventual(mut self) -> Self {
        self.eventual = true;
        self
    }
}

/// A successful answer: status, content type, body bytes.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// One page of a collection.
#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Value>,
    /// `@odata.count` (first page only, with `$count=true`).
    pub count: Option<u64>,
}

/// Longest excerpt of an unreadable answer kept for diagnostics.
const EXCERPT: usize = 200;

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(EXCERPT).collect()
}

/// A transport failure that may not happen again: everything but a certificate problem (which needs a person).
fn transient(failure: &Failure) -> bool {
    matches!(failure, Failure::Transport(t) if t.kind != crate::wizard::TransportKind::Tls)
}

/// The call for the page after `call`, from its `@odata.nextLink`: a link that repeats the current page is a broken
/// answer (it would never end). Graph does not carry `ConsistencyLevel` into the link: the next call re-sends it.
pub(crate) fn next_call(call: &Call, link: Option<&str>) -> Result<Option<Call>, Failure> {
    match link {
        None => Ok(None),
        Some(link) if link == call.target => Err(Failure::Parse {
            what: "Graph paging link".into(),
            excerpt: "the next page link repeats the current page".into(),
        }),
        Some(link) => Ok(Some(Call { target: link.to_owned(), ..call.clone() })),
    }
}

/// Requests that may be sent twice with the same effect (a setup policy `PUT` writes the same lists again).
fn idempotent(method: &reqwest::Method) -> bool {
    matches!(*method, reqwest::Method::GET | reqwest::Method::PUT)
}

/// The operation's name for errors and logs: method and path, no query (it may carry user data).
fn operation(method: &reqwest::Method, url: &str) -> String {
    let path = url.split('?').next().unwrap_or(url);
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    format!("{method} {path}")
}

/// The Graph failure for a non-success answer.
pub fn answer_failure(
    status: u16,
    body: &[u8],
    operation: String,
    request_id: Option<String>,
    client_request_id: &str,
) -> GraphError {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(Envelope { error }) => {
            let inner = error.inner_error;
            GraphError {
                status,
                code: if error.code.is_empty() { format!("HTTP{status}") } else { error.code },
                inner_code: inner.as_ref().and_then(|i| i.code.clone()).filter(|c| !c.is_empty()),
                message: error.message,
                request_id: inner.as_ref().and_then(|i| i.request_id.clone()).or(request_id),
                client_request_id: inner
                    .as_ref()
                    .and_then(|i| i.client_request_id.clone())
                    .or_else(|| Some(client_request_id.to_owned())),
                date: inner.and_then(|i| i.date),
                operation,
                retry_after_secs: None,
            }
        }
        Err(_) => {
            // Other Microsoft APIs (the Teams admin API) answer `{"code", "message"}`.
            let (code, message) = match serde_json::from_slice::<FlatError>(body) {
                // An empty code says nothing: name the status instead, as for an envelope without one.
                Ok(flat) if flat.code.is_empty() => (format!("HTTP{status}"), flat.message),
                Ok(flat) => (flat.code, flat.message),
                Err(_) => (format!("HTTP{status}"), excerpt(body)),
            };
            GraphError {
                status,
                code,
                inner_code: None,
                message,
                request_id,
                client_request_id: Some(client_request_id.to_owned()),
                date: None,
                operation,
                retry_after_secs: None,
            }
        }
    }
}

/// Reads JSON, or says which answer could not be read.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::Parse { what: what.to_owned(), excerpt: format!("{e}: {}", excerpt(body)) })
}

impl Graph {
    /// A client for `base` (ending in `/`), using an [`crate::http::Purpose::Api`] client.
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        let base = if base.ends_with('/') { base.to_owned() } else { format!("{base}/") };
        Self { http, base, policy: RetryPolicy::default(), quiet_until: Arc::default(), throttled_retries: None }
    }

    /// The same client with a throttling gate of its own, for another tenant: Microsoft throttles an app per
    /// tenant, so one customer's wait must not hold the others' requests (a partner checking many customers).
    pub fn for_another_tenant(&self) -> Self {
        Self { quiet_until: Arc::default(), ..self.clone() }
    }

    /// The same client with another retry policy.
    #[must_use]
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same client, retrying a 429 that carries `Retry-After` up to `n` times.
    #[must_use]
    pub fn with_throttled_retries(mut self, n: u32) -> Self {
        self.throttled_retries = Some(n);
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `target`; links Graph returned must stay on Graph's host (a token is attached).
    fn url(&self, target: &str) -> Result<String, Failure> {
        if !target.contains("://") {
            return Ok(format!("{}{}", self.base, target.trim_start_matches('/')));
        }
        let origin = |u: &str| url::Url::parse(u).ok().map(|u| u.origin());
        if origin(target).is_some() && origin(target) == origin(&self.base) {
            Ok(target.to_owned())
        } else {
            Err(Failure::Parse {
                what: "Graph paging link".into(),
                excerpt: format!(
                    "the next page points outside Microsoft Graph: {}",
                    target.chars().take(80).collect::<String>()
                ),
            })
        }
    }

    /// Sends `call`: retries 429/503/504 as Microsoft asks, refreshes the token once on 401. Success or a typed
    /// failure; never panics on what comes back.
    pub async fn send(&self, tokens: &dyn TokenSource, call: &Call) -> Result<Answer, Failure> {
        let url = self.url(&call.target)?;
        let op = operation(&call.method, &url);
        let client_request_id = crate::http::new_request_id();
        let mut token = tokens.token(None).await?;
        let mut refreshed = false;
        let mut retry = 0u32;
        let mut throttled = 0u32;
        loop {
            let quiet = *self.quiet_until.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(until) = quiet {
                tokio::time::sleep_until(until).await;
            }
            let mut request = self
                .http
                .request(call.method.clone(), &url)
                .bearer_auth(token.expose())
                .header("client-request-id", &client_request_id)
                .header("accept", "application/json");
            if call.eventual {
                request = request.header("ConsistencyLevel", "eventual");
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            if let Some((bytes, content_type)) = &call.raw {
                request = request.header("content-type", *content_type).body(bytes.clone());
            }
            // The one recorded exchange (`http::execute`): sent, read to the end, journaled.
            let (client, built) = request.build_split();
            let fetched = match built {
                Ok(r) => crate::http::execute(&client, r).await,
                Err(e) => Err(e),
            };
            let crate::http::Fetched { status, headers, body, .. } = match fetched {
                Ok(f) => f,
                Err(e) => {
                    // Not sent, cut short, or the time ran out while the answer trickled in.
                    let failure = crate::http::transport_failure(&e);
                    match self.policy.wait(retry, None, retry::jitter_unit()) {
                        Some(wait) if transient(&failure) && idempotent(&call.method) => {
                            tracing::info!("{op}: {failure}; retrying in {wait:?}");
                            tokio::time::sleep(wait).await;
                            retry += 1;
                            continue;
                        }
                        _ => return Err(failure),
                    }
                }
            };
            let status = status.as_u16();
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let request_id = header("request-id");
            let content_type = header("content-type");
            let retry_after = header("retry-after").and_then(|v| retry::parse_retry_after(&v, wall_now()));
            if (200..300).contains(&status) {
                return Ok(Answer { status, content_type, body });
            }
            let mut error = answer_failure(status, &body, op.clone(), request_id, &client_request_id);
            // Graph says `InvalidAuthenticationToken`; other Microsoft APIs (the Teams admin API) only 401.
            if status == 401 && !refreshed {
                refreshed = true;
                tracing::info!("{op}: token refused ({}); getting a fresh one", error.message);
                token = tokens.token(Some(&token)).await?;
                continue;
            }
            if status == 429
                && let Some(asked) = retry_after
            {
                let until = tokio::time::Instant::now() + asked;
                let mut quiet = self.quiet_until.lock().unwrap_or_else(PoisonError::into_inner);
                *quiet = Some(quiet.map_or(until, |q| q.max(until)));
            }
            if retry::is_retryable(status) {
                let (tries, policy) = match self.throttled_retries {
                    Some(n) if status == 429 && retry_after.is_some() => {
                        (&mut throttled, RetryPolicy { max_retries: n, ..self.policy })
                    }
                    _ => (&mut retry, self.policy),
                };
                if let Some(wait) = policy.wait(*tries, retry_after, retry::jitter_unit()) {
                    tracing::info!("{op}: {status} {}; retrying in {wait:?} (Retry-After {retry_after:?})", error.code);
                    tokio::time::sleep(wait).await;
                    *tries += 1;
                    continue;
                }
                error.retry_after_secs = retry_after.map(|d| d.as_secs_f64().ceil() as u64);
            }
            return Err(Failure::Graph(error));
        }
    }

    /// `GET {target}` as JSON.
    pub async fn get(&self, tokens: &dyn TokenSource, target: &str) -> Result<Value, Failure> {
        self.get_call(tokens, &Call::get(target)).await
    }

    /// Sends `call` and reads the answer as JSON.
    pub async fn get_call(&self, tokens: &dyn TokenSource, call: &Call) -> Result<Value, Failure> {
        let answer = self.send(tokens, call).await?;
        parse_json(&answer.body, &format!("Graph answer to {}", operation(&call.method, &call.target)))
    }

    /// Reads one page of a collection: its items and the call for the next page, if any.
    pub async fn page(&self, tokens: &dyn TokenSource, call: &Call) -> Result<(Page, Option<Call>), Failure> {
        let value = self.get_call(tokens, call).await?;
        let Some(items) = value.get("value").and_then(Value::as_array).cloned() else {
            return Err(Failure::Parse {
                what: format!("Graph page of {}", operation(&call.method, &call.target)),
                excerpt: "the answer has no 'value' list".into(),
            });
        };
        let count = value.get("@odata.count").and_then(Value::as_u64);
        let next = next_call(call, value.get("@odata.nextLink").and_then(Value::as_str))?;
        Ok((Page { items, count }, next))
    }

    /// Pages through a collection from `first`, calling `on_page` for each page until it returns false or the
    /// last page. Returns the number of pages read.
    pub async fn pages<F>(&self, tokens: &dyn TokenSource, first: Call, mut on_page: F) -> Result<u32, Failure>
    where
        F: FnMut(Page) -> bool + Send,
    {
        let mut call = Some(first);
        let mut pages = 0u32;
        while let Some(c) = call {
            let (page, next) = self.page(tokens, &c).await?;
            pages += 1;
            if !on_page(page) {
                break;
            }
            call = next;
        }
        Ok(pages)
    }

    /// `GET /v1.0/me`.
    pub async fn me(&self, tokens: &dyn TokenSource) -> Result<Me, Failure> {
        let v = self.get(tokens, "v1.0/me?$select=id,displayName,userPrincipalName,mail").await?;
        serde_json::from_value(v).map_err(|e| Failure::Parse { what: "Graph /me".into(), excerpt: e.to_string() })
    }

    /// The signed-in user's directory role names (`GET /me/transitiveMemberOf/microsoft.graph.directoryRole`).
    pub async fn my_directory_roles(&self, tokens: &dyn TokenSource) -> Result<Vec<String>, Failure> {
        let mut names = Vec::new();
        let first =
            Call::get("v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=displayName,roleTemplateId");
        self.pages(tokens, first, |page| {
            names.extend(page.items.iter().filter_map(|r| {
                r.get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| r.get("roleTemplateId").and_then(Value::as_str).and_then(role_name).map(str::to_owned))
            }));
            true
        })
        .await?;
        Ok(names)
    }

    /// The signed-in user's tenant (`GET /organization`).
    pub async fn organization(&self, tokens: &dyn TokenSource) -> Result<Option<Organization>, Failure> {
        let v = self.get(tokens, "v1.0/organization?$select=id,displayName,verifiedDomains").await?;
        let Some(org) = v.get("value").and_then(Value::as_array).and_then(|a| a.first()) else {
            return Ok(None);
        };
        let domains = org.get("verifiedDomains").and_then(Value::as_array).cloned().unwrap_or_default();
        let domain_where = |flag: &str| {
            domains
                .iter()
                .find(|d| d.get(flag).and_then(Value::as_bool) == Some(true))
                .and_then(|d| d.get("name").and_then(Value::as_str))
                .map(str::to_owned)
        };
        Ok(Some(Organization {
            id: org.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            display_name: org.get("displayName").and_then(Value::as_str).map(str::to_owned),
            initial_domain: domain_where("isInitial"),
            default_domain: domain_where("isDefault"),
        }))
    }

    /// The service principal of `app_id` in the signed-in tenant, if consent created one
    /// (`GET /servicePrincipals?$filter=appId eq '…'`).
    pub async fn service_principal(
        &self,
        tokens: &dyn TokenSource,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, Failure> {
        let filter = crate::query::value(&format!("appId eq '{app_id}'"));
        let v = self
            .get(
                tokens,
                &format!("v1.0/servicePrincipals?$filter={filter}&$select=id,appId,displayName,accountEnabled"),
            )
            .await?;
        let first = v.get("value").and_then(Value::as_array).and_then(|a| a.first()).cloned();
        first
            .map(|sp| {
                serde_json::from_value(sp)
                    .map_err(|e| Failure::Parse { what: "Graph servicePrincipals".into(), excerpt: e.to_string() })
            })
            .transpose()
    }
}

/// Wall-clock now, for `Retry-After` HTTP dates (which are wall-clock times).
fn wall_now() -> SystemTime {
    #[expect(
        clippy::disallowed_methods,
        reason = "Retry-After dates are wall-clock times: the client's one wall-clock read"
    )]
    SystemTime::now()
}

/// Waits Microsoft asked for in a `$batch` item (`Retry-After` in its headers).
pub(crate) fn item_retry_after(headers: Option<&Value>) -> Option<Duration> {
    let h = headers?.as_object()?;
    let v = h.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).and_then(|(_, v)| v.as_str())?;
    retry::parse_retry_after(v, wall_now())
}

/// Entra's built-in role names by template id (for answers that carry only the template id, and `wids` claims).
pub fn role_name(template_id: &str) -> Option<&'static str> {
    const ROLES: &[(&str, &str)] = &[
        ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
        ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"),
        ("158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator"),
        ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
        ("69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator"),
        ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
        ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ];
    ROLES.iter().find(|(id, _)| id.eq_ignore_ascii_case(template_id)).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_name_method_and_path_without_query() {
        assert_eq!(
            operation(&reqwest::Method::GET, "https://graph.microsoft.com/v1.0/users?$top=5"),
            "GET /v1.0/users"
        );
        assert_eq!(operation(&reqwest::Method::POST, "v1.0/$batch"), "POST v1.0/$batch");
    }

    #[test]
    fn links_outside_graph_are_refused() {
        let http =
            crate::http::client(&crate::http::HttpConfig::new(crate::http::Purpose::Api, crate::http::Trust::System))
                .unwrap();
        let g = Graph::new(http, "https://graph.microsoft.com/");
        assert!(g.url("https://graph.microsoft.com/v1.0/users?$skiptoken=x").is_ok());
        assert!(g.url("v1.0/users").is_ok());
        assert!(matches!(g.url("https://evil.example/v1.0/users"), Err(Failure::Parse { .. })));
        assert!(matches!(g.url("https://graph.microsoft.com:444/v1.0/users"), Err(Failure::Parse { .. })));
    }

    #[test]
    fn an_error_with_an_empty_code_is_named_by_its_status() {
        // Found by the graph_error fuzz target (fuzz/seeds/graph_error/empty-flat-code).
        let e = answer_failure(419, br#"{"code":""}"#, "GET /x".into(), None, "crid");
        assert_eq!(e.code, "HTTP419");
        let e = answer_failure(500, br#"{"error":{"code":"","message":"m"}}"#, "GET /x".into(), None, "crid");
        assert_eq!(e.code, "HTTP500");
    }

    #[test]
    fn envelopes_and_non_json_errors_become_graph_failures() {
        let body = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2026-11-27T03:00:00","request-id":"r1","client-request-id":"c1"}}}"#;
        let e = answer_failure(403, body, "GET /v1.0/users".into(), None, "mine");
        assert_eq!(
            (e.code.as_str(), e.request_id.as_deref(), e.client_request_id.as_deref()),
            ("Authorization_RequestDenied", Some("r1"), Some("c1"))
        );
        assert_eq!(e.date.as_deref(), Some("2026-11-27T03:00:00"));
        let e = answer_failure(502, b"<html>Bad gateway</html>", "GET /v1.0/users".into(), Some("r2".into()), "mine");
        assert_eq!(
            (e.code.as_str(), e.request_id.as_deref(), e.client_request_id.as_deref()),
            ("HTTP502", Some("r2"), Some("mine"))
        );
        assert!(e.message.contains("Bad gateway"));
    }
}
