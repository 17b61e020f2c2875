//! Every request the simulator answers, recorded for tests and support: host, method, path, query, form fields,
//! status. `wait_for` lets a test wait until the client has made a given call.
//!
//! The log lives in memory only and dies with the simulator; it is never written to disk or to logs. On request
//! ([`Recorder::keep_answers`]) it also keeps Graph's JSON answers, for tests that hold them against Microsoft's
//! published metadata.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use tokio::sync::Notify;

/// Which simulated host answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Host {
    /// `login.microsoftonline.com`.
    Login,
    /// The plain-HTTP front door serving the sign-in pages to a person's browser (demo mode).
    LoginPages,
    /// `graph.microsoft.com`.
    Graph,
    /// `api.interfaces.records.teams.microsoft.com`.
    TeamsAdmin,
}

/// One answered request.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    pub host: Host,
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`).
    pub query: String,
    /// Form fields of an `application/x-www-form-urlencoded` body.
    pub form: Vec<(String, String)>,
    /// The `client-request-id` header, if sent.
    pub client_request_id: Option<String>,
    /// The bearer token the request carried (for tests that search the product's output for tokens; never
    /// serialized).
    #[serde(skip)]
    pub bearer: Option<String>,
    pub status: u16,
    /// True for a request that arrived inside a `$batch` (recorded after the batch's own request is answered).
    pub via_batch: bool,
    /// When the request arrived and when its answer left (tests measure retry waits with these).
    #[serde(skip)]
    pub arrived: std::time::Instant,
    #[serde(skip)]
    pub answered: std::time::Instant,
    /// Graph's JSON answer, when the recorder keeps answers (never serialized).
    #[serde(skip)]
    pub answer: Option<Arc<serde_json::Value>>,
}

impl RecordedRequest {
    /// A form field's value.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A query parameter's value (decoded).
    pub fn query_value(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    fn one_line(&self) -> String {
        format!("#{} {:?} {} {} -> {}", self.seq, self.host, self.method, self.path, self.status)
    }
}

/// The request log.
#[derive(Debug, Default)]
pub struct Recorder {
    log: Mutex<Vec<RecordedRequest>>,
    changed: Notify,
    keep_answers: AtomicBool,
}

/// `wait_for` gave up; says what it waited for and what it saw.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {description}; the simulator saw:\n{seen}")]
pub struct WaitTimeout {
    pub description: String,
    pub timeout: Duration,
    pub seen: String,
}

impl Recorder {
    /// From now on, keep each Graph JSON answer with its request.
    pub fn keep_answers(&self) {
        self.keep_answers.store(true, Ordering::Relaxed);
    }

    /// Whether answers are kept.
    pub fn keeps_answers(&self) -> bool {
        self.keep_answers.load(Ordering::Relaxed)
    }

    pub(crate) fn push(&self, mut entry: RecordedRequest) {
        let Ok(mut log) = self.log.lock() else {
            return;
        };
        entry.seq = log.len() as u64 + 1;
        log.push(entry);
        drop(log);
        self.changed.notify_waiters();
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until a recorded request satisfies `pred` (including ones already recorded).
    pub async fn wait_for(
        &self,
        description: &str,
        timeout: Duration,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> Result<RecordedRequest, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if let Some(hit) = self.snapshot().into_iter().find(|r| pred(r)) {
                return Ok(hit);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let seen = self.snapshot().iter().map(RecordedRequest::one_line).collect::<Vec<_>>().join("\n");
                return Err(WaitTimeout { description: description.to_owned(), timeout, seen });
            }
        }
    }
}

/// Largest body the simulator reads (Teams app packages are the biggest legitimate bodies).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Middleware state: the log and which host this router serves.
#[derive(Debug, Clone)]
pub struct RecordLayer {
    pub recorder: Arc<Recorder>,
    pub host: Host,
}

/// Axum middleware that records each request and its status.
pub async fn record(State(layer): State<RecordLayer>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (body, form) = if is_form {
        match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => {
                let form = url::form_urlencoded::parse(&bytes).into_owned().collect();
                (Body::from(bytes), form)
            }
            Err(_) => (Body::empty(), Vec::new()),
        }
    } else {
        (body, Vec::new())
    };
    let mut entry = RecordedRequest {
        seq: 0,
        host: layer.host,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        form,
        client_request_id: parts.headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
        bearer: parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned),
        status: 0,
        via_batch: false,
        arrived: super::clock::instant_now(),
        answered: super::clock::instant_now(),
        answer: None,
    };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    entry.status = response.status().as_u16();
    entry.answered = super::clock::instant_now();
    if layer.host == Host::Graph && layer.recorder.keeps_answers() && is_json(response.headers()) {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.unwrap_or_default();
        entry.answer = serde_json::from_slice(&bytes).ok().map(Arc::new);
        response = Response::from_parts(parts, Body::from(bytes));
    }
    layer.recorder.push(entry);
    response
}

/// Whether an answer's `Content-Type` is JSON.
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"))
}
