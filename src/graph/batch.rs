//! JSON batching (`POST /v1.0/$batch`): up to 20 requests per batch, each with its own status. Items Microsoft
//! throttled (429/503/504, each with its own `Retry-After`) are sent again in a later batch after the longest wait
//! asked, together with the items that failed only because they depended on them (424).

use std::time::Duration;

use serde_json::{Value, json};

use super::{Call, Graph, TokenSource, answer_failure, item_retry_after, parse_json, retry};
use crate::wizard::Failure;

/// Microsoft's limit on requests per batch.
pub const MAX_BATCH: usize = 20;

/// One request of a batch: a GET of `url` (relative to the version, e.g. `/users/{id}/manager`), or a POST with
/// a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    pub id: String,
    pub method: &'static str,
    pub url: String,
    pub body: Option<Value>,
    /// Ids of earlier items of the same batch that must succeed first.
    pub depends_on: Vec<String>,
}

impl BatchItem {
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        Self { id: id.into(), method: "GET", url: url.into(), body: None, depends_on: Vec::new() }
    }

    /// A POST of a JSON body (the batch sends its `Content-Type`, as Graph requires).
    pub fn post(id: impl Into<String>, url: impl Into<String>, body: Value) -> Self {
        Self { id: id.into(), method: "POST", url: url.into(), body: Some(body), depends_on: Vec::new() }
    }
}

/// What one item answered: its body (JSON, or a base64 string for binary content), or its failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemReply {
    pub id: String,
    pub status: u16,
    pub result: Result<Value, Failure>,
}

/// Why a batch could not be sent as asked.
fn invalid(detail: String) -> Failure {
    Failure::Parse { what: "Graph batch request".into(), excerpt: detail }
}

/// Checks ids are unique and dependencies point at earlier items of the same chunk of 20.
fn validate(items: &[BatchItem]) -> Result<(), Failure> {
    for (i, item) in items.iter().enumerate() {
        if items[..i].iter().any(|x| x.id == item.id) {
            return Err(invalid(format!("duplicate request id '{}'", item.id)));
        }
        let chunk_start = i - i % MAX_BATCH;
        if let Some(d) = item.depends_on.iter().find(|d| !items[chunk_start..i].iter().any(|x| &x.id == *d)) {
            return Err(invalid(format!(
                "request '{}' depends on '{d}', which is not earlier in its batch of {MAX_BATCH}",
                item.id
            )));
        }
    }
    Ok(())
}

impl Graph {
    /// Runs `items` in batches of 20 and returns one reply per item, in the order given. The call fails
    /// as a whole only when a batch itself fails; item failures are in the replies.
    pub async fn batch(&self, tokens: &dyn TokenSource, items: &[BatchItem]) -> Result<Vec<ItemReply>, Failure> {
        validate(items)?;
        let mut replies = Vec::with_capacity(items.len());
        for chunk in items.chunks(MAX_BATCH) {
            replies.extend(self.batch_chunk(tokens, chunk, true).await?);
        }
        Ok(replies)
    }

    /// One `$batch` of at most 20 items, without sending throttled items again: their replies carry the 429 (and
    /// the `Retry-After` Graph asked for), for callers that schedule retries themselves.
    pub async fn batch_once(&self, tokens: &dyn TokenSource, items: &[BatchItem]) -> Result<Vec<ItemReply>, Failure> {
        validate(items)?;
        if items.len() > MAX_BATCH {
            return Err(invalid(format!("{} requests in one batch; Graph takes at most {MAX_BATCH}", items.len())));
        }
        self.batch_chunk(tokens, items, false).await
    }

    async fn batch_chunk(
        &self,
        tokens: &dyn TokenSource,
        chunk: &[BatchItem],
        retry_items: bool,
    ) -> Result<Vec<ItemReply>, Failure> {
        let mut done: Vec<Option<ItemReply>> = vec![None; chunk.len()];
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        let mut round = 0u32;
        while !pending.is_empty() {
            let requests = batch_requests(chunk, &pending);
            let call = Call::post("v1.0/$batch", json!({ "requests": requests }));
            let answer = self.send(tokens, &call).await?;
            let body: Value = parse_json(&answer.body, "Graph batch answer")?;
            let Some(responses) = body.get("responses").and_then(Value::as_array) else {
                return Err(Failure::Parse {
                    what: "Graph batch answer".into(),
                    excerpt: "no 'responses' list".into(),
                });
            };
            let mut throttled: Vec<usize> = Vec::new();
            let mut wait: Option<Duration> = None;
            for &i in &pending {
                let item = &chunk[i];
                let Some(r) = responses.iter().find(|r| r.get("id").and_then(Value::as_str) == Some(item.id.as_str()))
                else {
                    return Err(Failure::Parse {
                        what: "Graph batch answer".into(),
                        excerpt: format!("no answer for request '{}'", item.id),
                    });
                };
                let status = r.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
                let item_body = r.get("body").cloned().unwrap_or(Value::Null);
                crate::diagnostics::journal::batch_item_answered(
                    item.method,
                    &format!("{}v1.0/{}", self.base(), item.url.trim_start_matches('/')),
                    status,
                    r.get("headers").unwrap_or(&Value::Null),
                    &serde_json::to_vec(&item_body).unwrap_or_default(),
                );
                if retry::is_retryable(status) {
                    throttled.push(i);
                    let asked = item_retry_after(r.get("headers"));
                    wait = wait.max(asked.or(Some(Duration::ZERO)));
                    done[i] = Some(self.item_failure(item, status, &item_body, asked));
                    continue;
                }
                done[i] = Some(if (200..300).contains(&status) {
                    ItemReply { id: item.id.clone(), status, result: Ok(item_body) }
                } else {
                    self.item_failure(item, status, &item_body, None)
                });
            }
            let again = again_with_dependents(chunk, &pending, &done, throttled);
            if again.is_empty() || !retry_items {
                break;
            }
            let asked = wait.filter(|w| !w.is_zero());
            match self.policy.wait(round, asked, retry::jitter_unit()) {
                Some(w) => {
                    tracing::info!("$batch: {} item(s) throttled; sending them again in {w:?}", again.len());
                    tokio::time::sleep(w).await;
                    round += 1;
                    pending = again;
                }
                None => break,
            }
        }
        Ok(done
            .into_iter()
            .zip(chunk)
            .map(|(r, item)| {
                r.unwrap_or_else(|| ItemReply {
                    id: item.id.clone(),
                    status: 0,
                    result: Err(invalid(format!("request '{}' got no answer", item.id))),
                })
            })
            .collect())
    }

    fn item_failure(&self, item: &BatchItem, status: u16, body: &Value, retry_after: Option<Duration>) -> ItemReply {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let path = format!("/v1.0/{}", item.url.trim_start_matches('/'));
        let mut error =
            answer_failure(status, &bytes, format!("GET {}", path.split('?').next().unwrap_or(&path)), None, "");
        if error.client_request_id.as_deref() == Some("") {
            error.client_request_id = None;
        }
        error.retry_after_secs = retry_after.map(|d| d.as_secs_f64().ceil() as u64);
        ItemReply { id: item.id.clone(), status, result: Err(Failure::Graph(error)) }
    }
}

/// What goes again after a throttled round: the `throttled` items, and the items that failed (424) only because one
/// they depend on was throttled, in the chunk's order.
fn again_with_dependents(
    chunk: &[BatchItem],
    pending: &[usize],
    done: &[Option<ItemReply>],
    throttled: Vec<usize>,
) -> Vec<usize> {
    let mut again = throttled;
    for &i in pending {
        let blocked = chunk[i].depends_on.iter().any(|d| again.iter().any(|&t| &chunk[t].id == d));
        if done[i].as_ref().is_some_and(|r| r.status == 424) && blocked && !again.contains(&i) {
            again.push(i);
        }
    }
    again.sort_unstable();
    again
}

/// The `requests` of one `$batch` round: the `pending` items of `chunk`, each depending only on others still pending.
fn batch_requests(chunk: &[BatchItem], pending: &[usize]) -> Vec<Value> {
    pending
        .iter()
        .map(|&i| {
            let item = &chunk[i];
            let deps: Vec<&String> =
                item.depends_on.iter().filter(|d| pending.iter().any(|&p| &chunk[p].id == *d)).collect();
            let mut r = json!({ "id": item.id, "method": item.method, "url": item.url });
            if let Some(body) = &item.body {
                r["body"] = body.clone();
                r["headers"] = json!({ "Content-Type": "application/json" });
            }
            if !deps.is_empty() {
                r["dependsOn"] = json!(deps);
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_unique_and_dependencies_earlier_in_the_same_batch() {
        let a = BatchItem::get("a", "/me");
        let mut b = BatchItem::get("b", "/me/manager");
        b.depends_on = vec!["a".into()];
        assert!(validate(&[a.clone(), b.clone()]).is_ok());
        assert!(validate(&[b.clone(), a.clone()]).is_err(), "depends on a later item");
        assert!(validate(&[a.clone(), a.clone()]).is_err(), "duplicate id");
        let mut many: Vec<BatchItem> = (0..20).map(|i| BatchItem::get(format!("x{i}"), "/me")).collect();
        let mut c = BatchItem::get("c", "/me");
        c.depends_on = vec!["x0".into()];
        many.push(c);
        assert!(validate(&many).is_err(), "dependency in another batch of 20");
    }
}
