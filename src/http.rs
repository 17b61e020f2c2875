//! The one HTTP stack: every reqwest client in the product is built here, so timeouts, user agent, redirect policy,
//! proxy and TLS roots are set in one place (docs/STYLE.md rule 13).
//!
//! TLS verification is never disabled. Against Microsoft the OS trust store is used (rustls platform verifier, so
//! corporate TLS inspection with a company root works); against the simulated tenant only the simulator's own CA
//! is trusted, explicitly.

use std::time::Duration;

/// What the client is for; decides the redirect policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Token and device-code endpoints: never follow redirects (SSRF guard, as oauth2-rs asks).
    Auth,
    /// Graph and the Teams admin API: follow a few same-scheme redirects (photo and package downloads).
    Api,
}

/// Which certificate authorities to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's trust store (live tenants).
    System,
    /// Only this CA, in PEM (the simulated tenant in demo mode and tests).
    OnlyPem(String),
}

/// Settings of one client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub purpose: Purpose,
    pub trust: Trust,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
}

impl HttpConfig {
    /// Defaults for `purpose` with `trust`.
    pub fn new(purpose: Purpose, trust: Trust) -> Self {
        Self { purpose, trust, timeout: Duration::from_secs(60), connect_timeout: Duration::from_secs(15) }
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("the certificate to trust is not valid PEM")]
    BadCertificate(#[source] reqwest::Error),
    #[error("the PEM text to trust holds no certificate")]
    NoCertificate,
    #[error("could not set up the HTTP client (TLS or proxy configuration)")]
    Build(#[source] reqwest::Error),
}

/// `mspbots-setup/<version> (<os>)`, sent on every request so Microsoft's logs can tell us apart.
pub fn user_agent() -> String {
    format!("mspbots-setup/{} ({})", env!("CARGO_PKG_VERSION"), std::env::consts::OS)
}

/// The proxy a request to `url` goes through, as `scheme://host:port` (credentials left out), by the same rules
/// the clients use: `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY` (either case), and on Windows and macOS
/// the system's proxy settings when those variables are not set.
pub fn proxy_for(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let intercept = hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)?;
    let proxy = intercept.uri();
    let host = proxy.host()?;
    Some(match proxy.port_u16() {
        Some(port) => format!("{}://{host}:{port}", proxy.scheme_str().unwrap_or("http")),
        None => format!("{}://{host}", proxy.scheme_str().unwrap_or("http")),
    })
}

/// Builds a client. Proxies are found as [`proxy_for`] says (reqwest's system proxy support).
pub fn client(config: &HttpConfig) -> Result<reqwest::Client, HttpSetupError> {
    #[expect(clippy::disallowed_methods, reason = "this module is the one place that builds HTTP clients")]
    let mut builder = reqwest::Client::builder();
    builder = builder
        .user_agent(user_agent())
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .https_only(matches!(config.trust, Trust::System));
    builder = match config.purpose {
        Purpose::Auth => builder.redirect(reqwest::redirect::Policy::none()),
        Purpose::Api => builder.redirect(reqwest::redirect::Policy::limited(5)),
    };
    if let Trust::OnlyPem(pem) = &config.trust {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(HttpSetupError::BadCertificate)?;
        if certs.is_empty() {
            return Err(HttpSetupError::NoCertificate);
        }
        builder = builder.tls_certs_only(certs);
    }
    builder.build().map_err(HttpSetupError::Build)
}

/// Turns a transport-level reqwest error into the wizard's failure, naming the host and the part that failed.
pub fn transport_failure(err: &reqwest::Error) -> crate::wizard::Failure {
    use crate::wizard::{Failure, TransportError, TransportKind};
    let host = err.url().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        })
    });
    // The whole source chain, for the detail people read; what failed is told by type below, not by these words.
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let proxy = err.url().and_then(|u| proxy_for(u.as_str()));
    // Through a proxy, every connect failure is the proxy's, whatever the target: not reaching it, its failing
    // the name lookup, or its refusing the tunnel (reqwest reports all three as connect errors).
    let kind = if proxy.is_some() && err.is_connect() && !err.is_timeout() {
        TransportKind::Proxy
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else if err.is_dns() {
        TransportKind::Dns
    } else if tls_in_chain(err) {
        // Certificate and handshake trouble only: "peer closed connection without sending TLS close_notify" is an
        // I/O error of a connection cut mid-answer, not a rustls error, so it is not a TLS problem.
        TransportKind::Tls
    } else if err.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    Failure::Transport(TransportError { kind, host: host.unwrap_or_default(), detail: chain, proxy })
}

/// Whether rustls itself failed somewhere in `err`'s source chain (directly, or inside the I/O error tokio-rustls
/// wraps it in): a certificate the trust store refuses, a handshake or an alert. Told by type, not by message.
fn tls_in_chain(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if is_rustls(s) {
            return true;
        }
        source = s.source();
    }
    false
}

/// A rustls error, or I/O errors wrapped around one (hyper-util wraps tokio-rustls's I/O error in another).
fn is_rustls(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.is::<rustls::Error>() {
        return true;
    }
    let inner = err.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
    inner.is_some_and(|inner| is_rustls(inner))
}

/// An answer read to the end.
#[derive(Debug)]
pub struct Fetched {
    pub status: reqwest::StatusCode,
    pub version: reqwest::Version,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// Sends `request`, reads the whole answer and records the exchange in the running task's diagnostics journal
/// (sanitized). Transport failures, including an answer cut short, become typed failures.
pub async fn fetch(request: reqwest::RequestBuilder) -> Result<Fetched, crate::wizard::Failure> {
    let (client, built) = request.build_split();
    let request = built.map_err(|e| transport_failure(&e))?;
    execute(&client, request).await.map_err(|e| transport_failure(&e))
}

/// [`fetch`] for a request already built (the OAuth exchanger's, the Graph client's), keeping reqwest's error so
/// the caller can classify and retry it.
pub async fn execute(client: &reqwest::Client, request: reqwest::Request) -> Result<Fetched, reqwest::Error> {
    let timer = crate::diagnostics::journal::http_start(request.method().as_str(), request.url().as_str());
    let result = async {
        let response = client.execute(request).await?;
        let (status, version, headers) = (response.status(), response.version(), response.headers().clone());
        let body = response.bytes().await?.to_vec();
        Ok(Fetched { status, version, headers, body })
    }
    .await;
    if let Some(t) = timer {
        match &result {
            Ok(f) => t.answered(f.status.as_u16(), &f.headers, &f.body),
            Err(e) => t.failed(&transport_failure(e)),
        }
    }
    result
}

/// A random GUID for `client-request-id`, so one call can be found in Microsoft's logs.
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    // A failed OS random source leaves zeros: the id is then still well-formed, only not unique.
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        tracing::debug!("no OS randomness for a request id");
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_a_clear_error() {
        let err = client(&HttpConfig::new(Purpose::Auth, Trust::OnlyPem("not a cert".into()))).unwrap_err();
        assert!(matches!(err, HttpSetupError::BadCertificate(_) | HttpSetupError::NoCertificate), "{err:?}");
    }

    #[test]
    fn system_trust_builds() {
        client(&HttpConfig::new(Purpose::Api, Trust::System)).unwrap();
    }

    /// A name that cannot be looked up (`.invalid` never resolves, RFC 6761) is a name-lookup failure, told by the
    /// error's type; through a proxy (when this machine has one set) it is the proxy's.
    #[tokio::test]
    async fn a_failed_name_lookup_is_told_by_type() {
        use crate::wizard::{Failure, TransportKind};
        let url = "https://mspbots-no-such-host.invalid/";
        let http = client(&HttpConfig::new(Purpose::Api, Trust::System)).unwrap();
        let err = http.get(url).send().await.unwrap_err();
        let Failure::Transport(t) = transport_failure(&err) else { panic!("not a transport failure: {err:?}") };
        let expected = if proxy_for(url).is_some() { TransportKind::Proxy } else { TransportKind::Dns };
        assert_eq!(t.kind, expected, "{}", t.detail);
        assert_eq!(t.host, "mspbots-no-such-host.invalid");
    }
}
