//! Behind a corporate proxy (issue 9): the whole wizard, run headless as a customer would, reaches the simulated
//! tenant through an HTTP `CONNECT` proxy on loopback started by the test (found from `HTTPS_PROXY`, as reqwest's
//! system proxy support finds it); and when the proxy is down, the failure says so and names it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    reason = "test code: a failed step should panic, and tests may read the real clock"
)]

mod common;

use std::sync::{Arc, Mutex};

use mspbots_setup::sim::scenario;
use mspbots_setup::sim::{Sim, SimConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");

/// A `CONNECT`-only proxy: tunnels each connection to the `host:port` it asks for and records it.
async fn proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let seen = tunnels.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(head) = request_head(&mut client).await else { return };
                let Some(target) = head.strip_prefix("CONNECT ").and_then(|r| r.split(' ').next()) else {
                    let _unsent = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await;
                    return;
                };
                seen.lock().unwrap().push(target.to_owned());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    let _unsent = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _unsent = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
                let _closed = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (address, tunnels)
}

/// A proxy request's head, up to the blank line (`None` when the client goes away first or sends too much).
async fn request_head(client: &mut tokio::net::TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await.unwrap_or(0) == 0 || head.len() > 8192 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

fn port_of(url: &str) -> String {
    url::Url::parse(url).unwrap().port().unwrap().to_string()
}

/// The headless wizard against `sim` with `proxy` as the only proxy setting of its environment.
fn through(sim: &Sim, proxy: &str, dir: &std::path::Path) -> common::Headless {
    let profile = common::live_profile(dir, sim);
    let mut c = common::headless_against(BIN, sim, &profile, &dir.join("state"));
    for var in ["NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "https_proxy"] {
        c.env_remove(var);
    }
    c.env("HTTPS_PROXY", proxy).args(["--grant-wait", "10"]);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_wizard_works_through_a_proxy() {
    let (address, tunnels) = proxy().await;
    let s = scenario::load("happy").unwrap();
    let sim = Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com")).await.unwrap();
    let dir = tempdir("through");
    let mut command = through(&sim, &address, &dir);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let steps = common::json_lines(&out);
    let statuses: Vec<(&str, &str)> =
        steps.iter().map(|l| (l["step"].as_str().unwrap(), l["status"].as_str().unwrap())).collect();
    assert!(out.status.success(), "{statuses:?}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    // Every simulated host was reached through the proxy, not around it.
    let info = sim.info();
    let tunnelled = tunnels.lock().unwrap().clone();
    for url in [&info.login_url, &info.graph_url, &info.teams_admin_url] {
        let port = port_of(url);
        assert!(
            tunnelled.iter().any(|t| t.ends_with(&format!(":{port}"))),
            "{url} not through the proxy: {tunnelled:?}"
        );
    }
    sim.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_is_down_is_named_in_the_failure() {
    // A port nothing listens on: bound, then closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let s = scenario::load("happy").unwrap();
    let sim = Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com")).await.unwrap();
    let dir = tempdir("down");
    let mut command = through(&sim, &closed, &dir);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let steps = common::json_lines(&out);
    let first = steps.first().unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!((first["step"].as_str(), first["code"].as_str()), (Some("sign_in"), Some("proxy")), "{first:#}");
    let summary = first["summary"].as_str().unwrap();
    assert!(summary.contains(&closed), "the proxy is named: {summary}");
    assert!(sim.requests().is_empty(), "nothing reached the tenant around the proxy");
    sim.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A proxy that refuses every tunnel, as a corporate proxy refuses a host it does not allow.
async fn refusing_proxy() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                if request_head(&mut client).await.is_none() {
                    return;
                }
                let _unsent = client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_refuses_the_tunnel_is_named_in_the_failure() {
    let address = refusing_proxy().await;
    let s = scenario::load("happy").unwrap();
    let sim = Sim::start(SimConfig::new(s).with_auto_login("adele.vance@contoso.com")).await.unwrap();
    let dir = tempdir("refused");
    let mut command = through(&sim, &address, &dir);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    let steps = common::json_lines(&out);
    let first = steps.first().unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!((first["step"].as_str(), first["code"].as_str()), (Some("sign_in"), Some("proxy")), "{first:#}");
    assert!(first["summary"].as_str().unwrap().contains(&address), "the proxy is named: {first:#}");
    assert!(sim.requests().is_empty(), "nothing reached the tenant around the proxy");
    sim.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mspbots-proxy-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
