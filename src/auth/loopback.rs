//! The one-shot loopback listener that catches a browser redirect (RFC 8252 §7.3).
//!
//! Binds `127.0.0.1` on an ephemeral port; accepts only `GET` on the redirect path with a matching `Host` (DNS
//! rebinding) and a `state` equal, in constant time, to the one it waits for; bounds request size and time; keeps
//! only allow-listed parameters; answers every request with a small HTML page that echoes nothing unescaped. A
//! forged or stale request is refused with a page and the listener keeps waiting for the real one. After the
//! result it answers "already finished" for a short grace period, then closes.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::htmltext::esc;
use crate::secret::Secret;

/// Largest request head accepted (request line plus headers).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long one connection may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the listener keeps answering "already finished" after the result.
pub const GRACE: Duration = Duration::from_secs(3);

/// Parameters a redirect may carry; everything else is dropped.
const ALLOWED: &[&str] = &[
    "code",
    "state",
    "error",
    "error_description",
    "error_uri",
    "error_subcode",
    "admin_consent",
    "tenant",
    "scope",
    "client_info",
    "session_state",
];

/// The allow-listed query parameters of the redirect that matched.
#[derive(Clone, PartialEq, Eq)]
pub struct Callback {
    params: BTreeMap<String, String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code is a secret; show which parameters came, not their values.
        f.debug_struct("Callback").field("params", &self.params.keys().collect::<Vec<_>>()).finish()
    }
}

impl Callback {
    /// A parameter's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Words for the pages the listener serves (the vendor's name goes into them).
#[derive(Debug, Clone)]
pub struct Pages {
    pub product: String,
}

/// A bound listener waiting to be used.
#[derive(Debug)]
pub struct Loopback {
    listener: TcpListener,
    /// The same port on `::1`, where the machine has IPv6: a browser that resolves `localhost` to `::1` first
    /// and does not fall back to `127.0.0.1` (reported for Firefox and Java clients) still reaches the listener.
    listener_v6: Option<TcpListener>,
    port: u16,
    host_name: String,
    path: String,
}

/// Tries for a port free on both `127.0.0.1` and `::1`.
const DUAL_BIND_TRIES: usize = 8;

impl Loopback {
    /// Binds `127.0.0.1` on a free port, and `::1` on the same port where the machine has IPv6. `host_name` is
    /// what the redirect URI names (`localhost` or `127.0.0.1`); `path` is the redirect path (`/` when the
    /// registered URI has none).
    pub async fn bind(host_name: &str, path: &str) -> std::io::Result<Self> {
        let path = if path.is_empty() { "/".to_owned() } else { path.to_owned() };
        let mut last = None;
        for _ in 0..DUAL_BIND_TRIES {
            let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
            let port = listener.local_addr()?.port();
            match TcpListener::bind(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port))).await {
                Ok(v6) => {
                    return Ok(Self { listener, listener_v6: Some(v6), port, host_name: host_name.to_owned(), path });
                }
                // The port is taken on ::1 by someone else: try another.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some((listener, port)),
                // No IPv6 here (disabled, or no ::1): 127.0.0.1 alone, as browsers here cannot use ::1 either.
                Err(_) => return Ok(Self { listener, listener_v6: None, port, host_name: host_name.to_owned(), path }),
            }
        }
        // ::1 busy on every port tried (unlikely): 127.0.0.1 alone.
        let (listener, port) = match last {
            Some(l) => l,
            None => {
                let l = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
                let port = l.local_addr()?.port();
                (l, port)
            }
        };
        Ok(Self { listener, listener_v6: None, port, host_name: host_name.to_owned(), path })
    }

    /// The `::1` address also listened on, if any.
    pub fn local_addr_v6(&self) -> Option<SocketAddr> {
        self.listener_v6.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The redirect URI to send: `http://{host}:{port}{path}`.
    pub fn redirect_uri(&self) -> String {
        format!("http://{}:{}{}", self.host_name, self.port, self.path)
    }

    /// The `127.0.0.1` address listened on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits for the redirect whose `state` matches, answering other requests with pages. Never returns an
    /// error: a missing callback ends by the caller dropping this future (cancel or timeout).
    pub async fn wait(self, expected_state: Secret, pages: Pages) -> Callback {
        let (tx, mut rx) = mpsc::channel::<Callback>(1);
        let expect = Expectation { state: expected_state, port: self.port, path: self.path.clone() };
        let expect = std::sync::Arc::new(expect);
        let pages = std::sync::Arc::new(pages);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (listener, listener_v6) = (self.listener, self.listener_v6);
        let result = loop {
            tokio::select! {
                Some(callback) = rx.recv() => break callback,
                accepted = accept_either(&listener, listener_v6.as_ref()) => {
                    let Ok(stream) = accepted else { continue };
                    let (expect, pages, tx, done) = (expect.clone(), pages.clone(), tx.clone(), done.clone());
                    tokio::spawn(async move { serve(stream, &expect, &pages, &tx, &done).await });
                }
            }
        };
        // Keep answering stragglers (a second tab, a reload) for a moment, then close the port.
        tokio::spawn(async move {
            let _grace_over = tokio::time::timeout(GRACE, async {
                loop {
                    let Ok(stream) = accept_either(&listener, listener_v6.as_ref()).await else { continue };
                    let (expect, pages, tx, done) = (expect.clone(), pages.clone(), tx.clone(), done.clone());
                    tokio::spawn(async move { serve(stream, &expect, &pages, &tx, &done).await });
                }
            })
            .await;
        });
        result
    }
}

/// The next connection on either listener.
async fn accept_either(v4: &TcpListener, v6: Option<&TcpListener>) -> std::io::Result<TcpStream> {
    match v6 {
        Some(v6) => tokio::select! {
            a = v4.accept() => a.map(|(s, _)| s),
            a = v6.accept() => a.map(|(s, _)| s),
        },
        None => v4.accept().await.map(|(s, _)| s),
    }
}

struct Expectation {
    state: Secret,
    port: u16,
    path: String,
}

/// Reads one request and answers it.
async fn serve(
    mut stream: TcpStream,
    expect: &Expectation,
    pages: &Pages,
    tx: &mpsc::Sender<Callback>,
    done: &std::sync::atomic::AtomicBool,
) {
    let (answer, callback) = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Err(_) => (Answer::new(408, "Request timed out", "The request took too long to arrive."), None),
        Ok(Err(error)) => (error.answer(), None),
        Ok(Ok(bytes)) => respond(&bytes, expect, pages, done),
    };
    let _closed = stream.write_all(answer.render(pages).as_bytes()).await;
    let _closed = stream.shutdown().await;
    if let Some(callback) = callback {
        // The receiver is gone only if the wait was abandoned; the page was still the right answer.
        let _abandoned = tx.try_send(callback);
    }
}

/// The listener's answer to one request head (request line and headers, without the blank line), as the bytes it
/// would write back, and the callback if this was the awaited redirect. Pure, so tests and the fuzzer can reach
/// everything a browser, or anything else on this computer, can send.
pub fn answer_request(
    head: &[u8],
    expected_state: &Secret,
    port: u16,
    path: &str,
    pages: &Pages,
) -> (String, Option<Callback>) {
    let expect = Expectation { state: expected_state.clone(), port, path: path.to_owned() };
    let done = std::sync::atomic::AtomicBool::new(false);
    let (answer, callback) = respond(head, &expect, pages, &done);
    (answer.render(pages), callback)
}

fn respond(
    head: &[u8],
    expect: &Expectation,
    pages: &Pages,
    done: &std::sync::atomic::AtomicBool,
) -> (Answer, Option<Callback>) {
    match parse_head(head) {
        Ok(head) => judge(&head, expect, pages, done),
        Err(error) => (error.answer(), None),
    }
}

enum HeadError {
    Io,
    TooLarge,
    Malformed,
}

struct Head {
    method: String,
    target: String,
    host: Option<String>,
}

impl HeadError {
    fn answer(&self) -> Answer {
        match self {
            Self::TooLarge => {
                Answer::new(431, "Request too large", "The request was larger than a sign-in reply can be.")
            }
            Self::Io | Self::Malformed => Answer::new(400, "Bad request", "The request could not be read."),
        }
    }
}

/// Reads up to the blank line that ends a request head, refusing more than [`MAX_REQUEST_BYTES`].
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Malformed);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            buf.truncate(end);
            return Ok(buf);
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(HeadError::TooLarge);
        }
    }
}

/// Headers a browser's redirect carries are a dozen or two; more is not a sign-in reply.
const MAX_HEADERS: usize = 64;

/// The request line and `Host` of a head, read by `httparse` (hyper's parser): HTTP/1.x only.
fn parse_head(buf: &[u8]) -> Result<Head, HeadError> {
    if buf.len() > MAX_REQUEST_BYTES {
        return Err(HeadError::TooLarge);
    }
    // A browser's redirect is text; a head that is not UTF-8 is refused, as before httparse (which takes any byte
    // in a header value) read it.
    std::str::from_utf8(buf).map_err(|_| HeadError::Malformed)?;
    // `read_head` cut the blank line that ends the head; httparse needs it to call the head complete.
    let whole = [buf, b"\r\n\r\n"].concat();
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(&whole) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Ok(httparse::Status::Partial) | Err(_) => return Err(HeadError::Malformed),
    }
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return Err(HeadError::Malformed);
    };
    let host = match request.headers.iter().find(|h| h.name.eq_ignore_ascii_case("host")) {
        Some(h) => Some(std::str::from_utf8(h.value).map_err(|_| HeadError::Malformed)?.trim().to_ascii_lowercase()),
        None => None,
    };
    Ok(Head { method: method.to_owned(), target: target.to_owned(), host })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decides what a well-formed request gets.
fn judge(
    head: &Head,
    expect: &Expectation,
    pages: &Pages,
    done: &std::sync::atomic::AtomicBool,
) -> (Answer, Option<Callback>) {
    let hosts =
        [format!("127.0.0.1:{}", expect.port), format!("localhost:{}", expect.port), format!("[::1]:{}", expect.port)];
    if !head.host.as_ref().is_some_and(|h| hosts.contains(h)) {
        return (
            Answer::new(
                400,
                "Wrong address",
                "This page only answers requests addressed to this computer's sign-in listener.",
            ),
            None,
        );
    }
    if head.method != "GET" {
        let answer =
            Answer::new(405, "Method not allowed", "The sign-in listener only accepts the browser's redirect.");
        return (answer.allow_get(), None);
    }
    let (path, query) = head.target.split_once('?').unwrap_or((head.target.as_str(), ""));
    if path != expect.path {
        let answer =
            Answer::new(404, "Not found", "There is nothing at this address; the sign-in reply goes elsewhere.");
        return (answer, None);
    }
    let mut params = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if ALLOWED.contains(&k.as_ref()) && !params.contains_key(k.as_ref()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let state_ok = params.get("state").is_some_and(|s| expect.state.ct_eq(s));
    if !state_ok {
        let answer = Answer::new(
            400,
            "This reply is not for this setup window",
            &format!(
                "The reply did not carry the code this {} setup window is waiting for. If you started again, finish in the newest browser tab; this one can be closed.",
                pages.product
            ),
        );
        return (answer, None);
    }
    if done.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let answer =
            Answer::new(409, "Already finished", "This step has already received its reply. You can close this tab.");
        return (answer, None);
    }
    let callback = Callback { params };
    let answer = match callback.get("error") {
        Some(error) => {
            let detail = callback.get("error_description").unwrap_or(error).to_owned();
            Answer::new(
                200,
                "Microsoft reported a problem",
                &format!(
                    "Return to the {} setup window: it explains what happened and what to do. Details: {detail}",
                    pages.product
                ),
            )
        }
        // What happens next, said here: the setup window goes on by itself and comes forward (or flashes in the
        // taskbar or dock). A page cannot close a tab it did not open itself, in any browser: closing is the
        // person's.
        None => Answer::new(
            200,
            "Done",
            &format!(
                "Go back to the {} setup window: it goes on with the next step by itself (it has come to the front, \
                 or flashes in the taskbar or dock). You can close this tab.",
                pages.product
            ),
        ),
    };
    (answer, Some(callback))
}

struct Answer {
    status: u16,
    title: String,
    text: String,
    allow_get: bool,
}

impl Answer {
    fn new(status: u16, title: &str, text: &str) -> Self {
        Self { status, title: title.to_owned(), text: text.to_owned(), allow_get: false }
    }

    fn allow_get(mut self) -> Self {
        self.allow_get = true;
        self
    }

    fn render(&self, pages: &Pages) -> String {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            409 => "Conflict",
            431 => "Request Header Fields Too Large",
            _ => "Error",
        };
        let body = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{product} setup</title>\
             <style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#1b1b1b}}\
             h1{{font-size:1.4em}}</style></head><body><h1>{title}</h1><p>{text}</p></body></html>",
            product = esc(&pages.product),
            title = esc(&self.title),
            text = esc(&self.text),
        );
        let allow = if self.allow_get { "Allow: GET\r\n" } else { "" };
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
             X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n{allow}Connection: close\r\n\r\n{body}",
            self.status,
            body.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Pages {
        Pages { product: "MSPbots".into() }
    }

    #[test]
    fn the_page_never_carries_input_unescaped() {
        let head = b"GET /?state=s1&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\nHost: 127.0.0.1:5000";
        let (page, callback) = answer_request(head, &Secret::new("s1"), 5000, "/", &pages());
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(!page.contains("<script>") && page.contains("&lt;script&gt;"), "{page}");
        assert_eq!(callback.and_then(|c| c.get("error").map(str::to_owned)).as_deref(), Some("access_denied"));
    }

    #[test]
    fn only_the_awaited_redirect_yields_a_callback() {
        let cases: &[(&[u8], &str)] = &[
            (b"GET /?code=c&state=s1 HTTP/1.1\r\nHost: localhost:5000", "HTTP/1.1 200"),
            (b"GET /?code=c&state=s2 HTTP/1.1\r\nHost: localhost:5000", "HTTP/1.1 400"),
            (b"GET /?code=c&state=s1 HTTP/1.1\r\nHost: localhost:5001", "HTTP/1.1 400"),
            (b"GET /?code=c&state=s1 HTTP/1.1", "HTTP/1.1 400"),
            (b"GET /x?code=c&state=s1 HTTP/1.1\r\nHost: localhost:5000", "HTTP/1.1 404"),
            (b"HEAD /?code=c&state=s1 HTTP/1.1\r\nHost: localhost:5000", "HTTP/1.1 405"),
            (b"GET /?code=c&state=s1 HTTP/2\r\nHost: localhost:5000", "HTTP/1.1 400"),
            (b"\xff\xfe", "HTTP/1.1 400"),
            (b"GET /?code=c&state=s1 HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: \xde", "HTTP/1.1 400"),
        ];
        for (head, status) in cases {
            let (page, callback) = answer_request(head, &Secret::new("s1"), 5000, "/", &pages());
            assert!(page.starts_with(status), "{}: {page}", String::from_utf8_lossy(head));
            assert_eq!(callback.is_some(), status.ends_with("200"), "{}", String::from_utf8_lossy(head));
        }
        let huge = [b"GET /?state=s1&x=".as_slice(), &[b'a'; MAX_REQUEST_BYTES], b" HTTP/1.1"].concat();
        let (page, callback) = answer_request(&huge, &Secret::new("s1"), 5000, "/", &pages());
        assert!(page.starts_with("HTTP/1.1 431") && callback.is_none());
    }

    #[test]
    fn the_callback_keeps_only_allow_listed_parameters_and_the_first_of_each() {
        let head = b"GET /cb?code=c1&code=c2&state=s1&evil=1&session_state=x HTTP/1.1\r\nHost: 127.0.0.1:5000";
        let (_, callback) = answer_request(head, &Secret::new("s1"), 5000, "/cb", &pages());
        let callback = callback.expect("the awaited redirect");
        assert_eq!(callback.get("code"), Some("c1"));
        assert_eq!(callback.get("evil"), None);
        assert_eq!(callback.get("session_state"), Some("x"));
    }
}
