//! The loopback listener against bad input: wrong or missing state, garbage, other paths and methods, a foreign
//! Host header, oversized and slow requests, a second callback. Each gets a page; none crashes the listener or
//! completes the step. The callback arrives over IPv4 and, where the machine has it, over `::1` (a browser that
//! resolves `localhost` to `::1` first).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should panic")]

use std::time::Duration;

use mspbots_setup::auth::loopback::{Callback, Loopback, Pages, READ_TIMEOUT};
use mspbots_setup::secret::Secret;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

const STATE: &str = "expected-state-123";

async fn listener() -> (u16, JoinHandle<Callback>) {
    let l = Loopback::bind("localhost", "/").await.unwrap();
    let addr = l.local_addr().unwrap();
    assert!(addr.ip().is_loopback() && addr.ip().to_string() == "127.0.0.1", "bound to 127.0.0.1: {addr}");
    if let Some(v6) = l.local_addr_v6() {
        assert_eq!((v6.ip().to_string().as_str(), v6.port()), ("::1", addr.port()), "and ::1 on the same port");
    }
    assert_ne!(addr.port(), 0);
    assert_eq!(l.redirect_uri(), format!("http://localhost:{}/", addr.port()));
    let task = tokio::spawn(l.wait(Secret::new(STATE), Pages { product: "MSPbots".into() }));
    (addr.port(), task)
}

/// Sends raw bytes and returns the whole answer.
async fn raw(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(port: u16, target: &str) -> String {
    raw(port, format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").as_bytes()).await
}

fn status(answer: &str) -> u16 {
    answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn forged_and_malformed_requests_get_pages_and_the_real_callback_still_works() {
    let (port, task) = listener().await;
    assert_eq!(status(&get(port, "/?code=abc&state=wrong").await), 400);
    assert_eq!(status(&get(port, "/?code=abc").await), 400, "missing state");
    assert_eq!(status(&get(port, "/elsewhere?code=abc&state=expected-state-123").await), 404);
    let post = raw(
        port,
        format!("POST /?state={STATE} HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status(&post), 405);
    assert!(post.contains("Allow: GET"));
    let rebinding =
        raw(port, format!("GET /?code=abc&state={STATE} HTTP/1.1\r\nHost: attacker.example:{port}\r\n\r\n").as_bytes())
            .await;
    assert_eq!(status(&rebinding), 400, "DNS rebinding: a foreign Host is refused");
    assert_eq!(status(&raw(port, b"\x16\x03\x01garbage-not-http\r\n\r\n").await), 400);
    let huge =
        format!("GET /?state={STATE} HTTP/1.1\r\nHost: localhost:{port}\r\nX-Pad: {}\r\n\r\n", "a".repeat(10_000));
    assert_eq!(status(&raw(port, huge.as_bytes()).await), 431);
    assert!(!task.is_finished(), "nothing so far completes the step");

    let ok = get(port, &format!("/?code=the-code&state={STATE}&evil=%3Cscript%3E")).await;
    assert_eq!(status(&ok), 200);
    assert!(ok.contains("You can close this tab"));
    let callback = tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    assert_eq!(callback.get("code"), Some("the-code"));
    assert_eq!(callback.get("evil"), None, "parameters outside the allow-list are dropped");
    assert!(!format!("{callback:?}").contains("the-code"), "Debug does not show the code");

    let second = get(port, &format!("/?code=again&state={STATE}")).await;
    assert_eq!(status(&second), 409, "a second callback is refused: {second}");
    // The port closes once the grace period is over: watched for, not waited out with a margin.
    let closes_by = tokio::time::Instant::now() + mspbots_setup::auth::loopback::GRACE + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(tokio::time::Instant::now() < closes_by, "the port is still open long after the grace period");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn error_callbacks_are_answered_without_echoing_markup() {
    let (port, task) = listener().await;
    let answer = get(
        port,
        &format!("/?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={STATE}"),
    )
    .await;
    assert_eq!(status(&answer), 200);
    assert!(!answer.contains("<script>"), "{answer}");
    assert!(answer.contains("&lt;script&gt;"));
    assert!(answer.contains("Content-Security-Policy: default-src 'none'"));
    let callback = task.await.unwrap();
    assert_eq!(callback.get("error"), Some("access_denied"));
}

#[tokio::test]
async fn slow_requests_time_out_without_blocking_others() {
    let (port, task) = listener().await;
    let mut slow = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    slow.write_all(b"GET /?state=").await.unwrap();
    // While one client dawdles, the real callback is served.
    let ok = get(port, &format!("/?code=c&state={STATE}")).await;
    assert_eq!(status(&ok), 200);
    task.await.unwrap();
    let mut out = Vec::new();
    let _read = tokio::time::timeout(READ_TIMEOUT + Duration::from_secs(2), slow.read_to_end(&mut out)).await;
    assert_eq!(status(&String::from_utf8_lossy(&out)), 408, "the slow client gets a timeout page");
}

/// A browser that resolves `localhost` to `::1` and does not fall back reaches the same listener on the same port.
#[tokio::test]
async fn the_callback_arrives_over_ipv6_too_where_the_machine_has_it() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        // No IPv6 loopback on this machine: no browser here can use it either (the listener binds 127.0.0.1 only).
        let l = Loopback::bind("localhost", "/").await.unwrap();
        assert_eq!(l.local_addr_v6(), None);
        return;
    }
    for ip in ["::1", "127.0.0.1"] {
        let l = Loopback::bind("localhost", "/").await.unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(l.local_addr_v6().map(|a| a.port()), Some(port));
        let task = tokio::spawn(l.wait(Secret::new(STATE), Pages { product: "MSPbots".into() }));
        let mut s = TcpStream::connect((ip, port)).await.unwrap();
        let request = format!("GET /?code=c-{ip}&state={STATE} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
        assert_eq!(status(&String::from_utf8_lossy(&out)), 200, "over {ip}");
        let callback = tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        assert_eq!(callback.get("code"), Some(format!("c-{ip}").as_str()));
    }
}
