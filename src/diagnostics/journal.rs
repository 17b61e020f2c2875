//! The session's event log, for the diagnostics bundle: every HTTP exchange (method, sanitized URL, status,
//! Microsoft's error codes and request ids, duration), every step status change, every failure shown, every
//! intent. Entries are sanitized when recorded (no token, code, verifier or secret ever enters); hiding customer
//! details happens on export.
//!
//! HTTP call sites do not carry a journal: the shell runs each piece of work inside [`Journal::scope`], and
//! [`http_start`] finds the journal of the task it runs in (none in tests that do not set one).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use super::sanitize::Redactor;
use crate::clock::Clock;
use crate::wizard::{Failure, StepId, StepStatus};

/// Most entries kept (a 10,000-user preview makes about 110 requests; installs for everyone make one per 20 users).
/// Past it the oldest go: in a long session the newest entries are the ones that explain what just went wrong.
const MAX_ENTRIES: usize = 20_000;

/// One thing that happened, `at_ms` after the session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at_ms: u64,
    #[serde(flatten)]
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    Http(HttpRecord),
    Step { step: StepId, status: StepStatus },
    Failure { step: StepId, code: String, failure: Failure },
    Intent { intent: String },
}

/// One HTTP exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRecord {
    /// The step whose work sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepId>,
    pub method: String,
    /// Scheme, host and path; query values by allow-list.
    pub url: String,
    /// `None` when no answer came (the transport failed).
    pub status: Option<u16>,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    /// AADSTS numbers, Graph `error.code`, OAuth `error`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// What failed when no answer came (dns, connect, tls, timeout, proxy, transport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
}

/// The log of one session.
#[derive(Debug, Clone)]
pub struct Journal {
    log: Arc<Mutex<Log>>,
    clock: Clock,
    /// Sees every answer in full (`conformance record`); set once, before work starts.
    observer: Arc<std::sync::OnceLock<Arc<dyn Observer>>>,
}

/// One answer as it arrived, for an [`Observer`]: the raw URL and the whole body. Nothing of it is journaled; the
/// observer decides what it keeps.
#[derive(Debug)]
pub struct Answer<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub status: u16,
    /// Header names in lower case, with their values.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

/// Sees each HTTP answer the session's work receives, and each item of a Graph `$batch` answer as if it had come
/// on its own.
pub trait Observer: Send + Sync + std::fmt::Debug {
    fn answered(&self, answer: &Answer<'_>);
}

/// The newest entries, at most `capacity`, and how many older ones were dropped to keep it so.
#[derive(Debug)]
struct Log {
    entries: VecDeque<Entry>,
    capacity: usize,
    dropped: u64,
}

/// What the journal holds at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The newest entries, oldest first.
    pub entries: Vec<Entry>,
    /// How many older entries were dropped to keep the journal's size.
    pub dropped: u64,
}

tokio::task_local! {
    /// The journal of the running task, and the step its work is for.
    static CURRENT: (Journal, Option<StepId>);
}

impl Journal {
    pub fn new(clock: Clock) -> Self {
        Self::with_capacity(clock, MAX_ENTRIES)
    }

    /// A journal that keeps the newest `capacity` entries (tests use a small one).
    pub fn with_capacity(clock: Clock, capacity: usize) -> Self {
        let log = Log { entries: VecDeque::new(), capacity: capacity.max(1), dropped: 0 };
        Self { log: Arc::new(Mutex::new(log)), clock, observer: Arc::default() }
    }

    /// Hands every answer from now on to `observer` too. A journal has at most one; a second is refused.
    pub fn observe(&self, observer: Arc<dyn Observer>) -> Result<(), Arc<dyn Observer>> {
        self.observer.set(observer)
    }

    pub fn push(&self, what: What) {
        let entry = Entry { at_ms: self.clock.elapsed_ms(), what };
        let mut log = self.lock();
        if log.entries.len() == log.capacity {
            log.entries.pop_front();
            log.dropped += 1;
        }
        log.entries.push_back(entry);
    }

    /// The entries kept, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.snapshot().entries
    }

    /// The entries kept and how many older ones were dropped.
    pub fn snapshot(&self) -> Snapshot {
        let log = self.lock();
        Snapshot { entries: log.entries.iter().cloned().collect(), dropped: log.dropped }
    }

    /// How many entries were ever recorded (kept and dropped): it changes whenever something is recorded.
    pub fn recorded(&self) -> u64 {
        let log = self.lock();
        log.dropped + log.entries.len() as u64
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` with this journal as the one HTTP call sites record into.
    pub async fn scope<F: Future>(&self, work: F) -> F::Output {
        self.scope_for(None, work).await
    }

    /// Runs `work` for `step`, with this journal as the one HTTP call sites record into.
    pub async fn scope_for<F: Future>(&self, step: Option<StepId>, work: F) -> F::Output {
        CURRENT.scope((self.clone(), step), work).await
    }
}

/// An HTTP exchange under way.
#[derive(Debug)]
pub struct HttpTimer {
    journal: Journal,
    step: Option<StepId>,
    started_ms: u64,
    method: String,
    url: String,
    /// The URL as sent, for the observer only.
    raw_url: String,
}

/// Starts recording an exchange, if the running task has a journal.
pub fn http_start(method: &str, url: &str) -> Option<HttpTimer> {
    CURRENT
        .try_with(|(j, step)| HttpTimer {
            journal: j.clone(),
            step: *step,
            started_ms: j.clock.elapsed_ms(),
            method: method.to_owned(),
            url: Redactor::new(false).url(url),
            raw_url: url.to_owned(),
        })
        .ok()
}

/// One item of a Graph `$batch` answer, shown to the running task's observer (if any) as its own answer.
pub fn batch_item_answered(method: &str, url: &str, status: u16, headers: &serde_json::Value, body: &[u8]) {
    // Outside a journal's scope there is nobody to tell.
    let _outside_any_journal = CURRENT.try_with(|(journal, _)| {
        if let Some(observer) = journal.observer.get() {
            let headers = headers
                .as_object()
                .map(|h| {
                    h.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap_or_default().to_owned())).collect()
                })
                .unwrap_or_default();
            observer.answered(&Answer { method, url, status, headers, body });
        }
    });
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(100).collect())
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(serde_json::Value::as_str).map(|s| s.chars().take(100).collect())
}

impl HttpTimer {
    /// Records the answer: status, ids from the headers, and from an error body the codes and trace ids.
    pub fn answered(self, status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) {
        if let Some(observer) = self.journal.observer.get() {
            let headers = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            observer.answered(&Answer { method: &self.method, url: &self.raw_url, status, headers, body });
        }
        let mut record = HttpRecord {
            method: self.method.clone(),
            url: self.url.clone(),
            status: Some(status),
            request_id: header(headers, "request-id").or_else(|| header(headers, "x-ms-request-id")),
            client_request_id: header(headers, "client-request-id"),
            ..HttpRecord::default()
        };
        if !(200..400).contains(&status)
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
        {
            if let Some(codes) = v.get("error_codes").and_then(serde_json::Value::as_array) {
                record
                    .error_codes
                    .extend(codes.iter().filter_map(serde_json::Value::as_u64).map(|c| format!("AADSTS{c}")));
            }
            let graph = v.get("error").filter(|e| e.is_object());
            match graph {
                Some(e) => {
                    record.error_codes.extend(text(e, "code"));
                    record.error_codes.extend(e.get("innerError").and_then(|i| text(i, "code")));
                }
                None => record.error_codes.extend(text(&v, "error").or_else(|| text(&v, "code"))),
            }
            record.trace_id = text(&v, "trace_id");
            record.correlation_id = text(&v, "correlation_id");
            if let Some(inner) = graph.and_then(|e| e.get("innerError")) {
                record.request_id = record.request_id.or_else(|| text(inner, "request-id"));
            }
        }
        self.finish(record);
    }

    /// Records that no answer came.
    pub fn failed(self, failure: &Failure) {
        let record = HttpRecord {
            method: self.method.clone(),
            url: self.url.clone(),
            transport: Some(failure.code()),
            ..HttpRecord::default()
        };
        self.finish(record);
    }

    fn finish(self, mut record: HttpRecord) {
        record.step = self.step;
        record.duration_ms = self.journal.clock.elapsed_ms().saturating_sub(self.started_ms);
        self.journal.push(What::Http(record));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_journal_keeps_the_newest_entries_and_counts_the_dropped() {
        let journal = Journal::with_capacity(Clock::start(), 3);
        for n in 0..5 {
            journal.push(What::Intent { intent: format!("intent {n}") });
        }
        let Snapshot { entries, dropped } = journal.snapshot();
        let kept: Vec<String> = entries
            .iter()
            .map(|e| match &e.what {
                What::Intent { intent } => intent.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kept, ["intent 2", "intent 3", "intent 4"]);
        assert_eq!(dropped, 2);
        assert_eq!(journal.recorded(), 5, "recorded still grows when the journal is full");
        journal.push(What::Intent { intent: "intent 5".into() });
        assert_eq!((journal.len(), journal.recorded()), (3, 6));
    }

    #[tokio::test]
    async fn exchanges_are_recorded_only_inside_a_scope_and_without_secrets() {
        assert!(http_start("GET", "https://x/").is_none(), "no journal, no recording");
        let journal = Journal::new(Clock::start());
        journal
            .scope(async {
                let t =
                    http_start("POST", "https://login.example/t/oauth2/v2.0/token?code=SECRET&scope=openid").unwrap();
                let mut h = reqwest::header::HeaderMap::new();
                h.insert("client-request-id", "c1".parse().unwrap());
                let body = br#"{"error":"invalid_grant","error_codes":[70008],"trace_id":"tr","correlation_id":"co"}"#;
                t.answered(400, &h, body);
                let t = http_start("GET", "https://graph.example/v1.0/me").unwrap();
                t.answered(
                    403,
                    &reqwest::header::HeaderMap::new(),
                    br#"{"error":{"code":"Authorization_RequestDenied","innerError":{"request-id":"r9"}}}"#,
                );
            })
            .await;
        let e = journal.entries();
        let What::Http(token) = &e[0].what else { panic!() };
        assert_eq!(token.url, "https://login.example/t/oauth2/v2.0/token?code=[redacted]&scope=openid");
        assert_eq!(token.error_codes, ["AADSTS70008", "invalid_grant"]);
        assert_eq!((token.trace_id.as_deref(), token.client_request_id.as_deref()), (Some("tr"), Some("c1")));
        let What::Http(graph) = &e[1].what else { panic!() };
        assert_eq!(
            (graph.error_codes.as_slice(), graph.request_id.as_deref()),
            (&["Authorization_RequestDenied".to_owned()][..], Some("r9"))
        );
    }

    #[tokio::test]
    async fn exchanges_name_the_step_they_were_for_and_graph_inner_codes() {
        let journal = Journal::new(Clock::start());
        journal
            .scope_for(Some(StepId::TeamsApp), async {
                let t = http_start("POST", "https://graph.example/v1.0/users/u/teamwork/installedApps").unwrap();
                let body = br#"{"error":{"code":"Forbidden","message":"m","innerError":{"code":"AccessDenied"}}}"#;
                t.answered(403, &reqwest::header::HeaderMap::new(), body);
            })
            .await;
        let entries = journal.entries();
        let [Entry { what: What::Http(h), .. }] = entries.as_slice() else { panic!("one exchange") };
        assert_eq!(h.step, Some(StepId::TeamsApp));
        assert_eq!(h.error_codes, ["Forbidden", "AccessDenied"]);
    }
}
