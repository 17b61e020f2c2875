//! HTTPS for the simulated tenant: a throw-away CA and server certificate made at start, and a TLS listener that
//! axum serves on.
//!
//! The CA is written to a file so that clients (our own, MSAL, curl) trust it explicitly; nothing here touches an
//! OS trust store, and nothing here ever disables verification on the client side.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Failure to make the certificates or the TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("could not generate the simulator's certificates")]
    Certificate(#[from] rcgen::Error),
    #[error("could not build the simulator's TLS configuration")]
    Rustls(#[from] rustls::Error),
}

/// The simulator's CA (PEM, for clients) and the server configuration signed by it.
#[derive(Debug)]
pub struct SimTls {
    /// The CA certificate in PEM, to be trusted by clients of this simulator instance only.
    pub ca_pem: String,
    /// The rustls server configuration (leaf certificate for `127.0.0.1` and `localhost`).
    pub server_config: Arc<rustls::ServerConfig>,
}

impl SimTls {
    /// Generates a CA and a server certificate valid for `127.0.0.1` and `localhost`.
    pub fn generate() -> Result<Self, TlsSetupError> {
        let now = super::clock::unix_now();
        let not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(now.saturating_sub(86_400));
        let not_after = not_before + Duration::from_secs(2 * 365 * 86_400);

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::default();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name = name("MSPbots simulated tenant CA (local test only)");
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        ca_params.not_before = not_before;
        ca_params.not_after = not_after;
        let ca_cert = ca_params.self_signed(&ca_key)?;

        let leaf_key = KeyPair::generate()?;
        let mut leaf = CertificateParams::default();
        leaf.distinguished_name = name("127.0.0.1");
        leaf.subject_alt_names =
            vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)), SanType::DnsName("localhost".try_into()?)];
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        leaf.not_before = not_before;
        leaf.not_after = not_after;
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = vec![CertificateDer::from(leaf_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self { ca_pem: ca_cert.pem(), server_config: Arc::new(config) })
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "MSPbots setup wizard simulator");
    dn
}

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a host's network does: answer, or fail the way networks fail (for fault tests and for reproducing an
/// admin's network trouble).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetMode {
    #[default]
    Up,
    /// Nothing listens: new connections are refused, open ones are reset.
    Refuse,
    /// Connections are accepted and reset at once; open ones are reset.
    Reset,
    /// Connections are accepted and never answered (a black hole: the client times out).
    Hang,
}

/// A host's network mode, shared by its accept loop and its open connections.
#[derive(Debug, Default)]
pub struct HostNet {
    mode: std::sync::Mutex<NetMode>,
    /// Tasks waiting on a connection, woken when the mode changes so open connections follow it at once.
    parked: std::sync::Mutex<Vec<std::task::Waker>>,
    changed: tokio::sync::Notify,
    /// False while the port is closed (refusing); set again once it listens anew.
    closed: std::sync::atomic::AtomicBool,
    reopened: tokio::sync::Notify,
}

impl HostNet {
    pub fn mode(&self) -> NetMode {
        *self.mode.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set(&self, mode: NetMode) {
        *self.mode.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = mode;
        let parked = std::mem::take(&mut *self.parked.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for waker in parked {
            waker.wake();
        }
        self.changed.notify_waiters();
    }

    /// Waits until the port listens again after refusing (at most `limit`).
    pub async fn listening(&self, limit: Duration) {
        let _in_time = tokio::time::timeout(limit, async {
            loop {
                let reopened = self.reopened.notified();
                if !self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                reopened.await;
            }
        })
        .await;
    }

    fn park(&self, waker: &std::task::Waker) {
        let mut parked = self.parked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !parked.iter().any(|w| w.will_wake(waker)) {
            parked.push(waker.clone());
        }
    }
}

/// A TLS connection that follows its host's [`NetMode`]: reset when the host goes down, silent when it hangs.
#[derive(Debug)]
pub struct Guarded {
    inner: TlsStream<TcpStream>,
    net: Arc<HostNet>,
}

impl Guarded {
    /// `Some(result)` when the mode decides instead of the socket.
    fn intercept<T>(&self, cx: &std::task::Context<'_>) -> Option<std::task::Poll<std::io::Result<T>>> {
        match self.net.mode() {
            NetMode::Up => None,
            NetMode::Hang => {
                self.net.park(cx.waker());
                Some(std::task::Poll::Pending)
            }
            NetMode::Refuse | NetMode::Reset => {
                Some(std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into())))
            }
        }
    }
}

impl tokio::io::AsyncRead for Guarded {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if let Some(decided) = self.intercept(cx) {
            return decided;
        }
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_pending() {
            self.net.park(cx.waker());
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Guarded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if let Some(decided) = self.intercept(cx) {
            return decided;
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if let Some(decided) = self.intercept(cx) {
            return decided;
        }
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A listener that hands axum TLS streams. Handshakes run in their own tasks so a slow or silent client cannot
/// hold up others; failed handshakes are dropped. The host's [`NetMode`] decides what happens to new and open
/// connections.
#[derive(Debug)]
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(Guarded, SocketAddr)>,
}

impl TlsListener {
    /// Starts accepting on `tcp`; the accept loop ends when the listener is dropped.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>, net: Arc<HostNet>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            let mut tcp = Some(tcp);
            loop {
                if tx.is_closed() {
                    break;
                }
                let changed = net.changed.notified();
                let mode = net.mode();
                if mode == NetMode::Refuse {
                    // Close the port until the host is back.
                    tcp = None;
                    net.closed.store(true, std::sync::atomic::Ordering::SeqCst);
                    changed.await;
                    continue;
                }
                let Some(listener) = &tcp else {
                    match TcpListener::bind(local_addr).await {
                        Ok(l) => {
                            tcp = Some(l);
                            net.closed.store(false, std::sync::atomic::Ordering::SeqCst);
                            net.reopened.notify_waiters();
                        }
                        Err(err) => {
                            tracing::debug!("simulator could not listen on {local_addr} again: {err}");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    continue;
                };
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    () = changed => continue,
                };
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::debug!("simulator accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                match net.mode() {
                    NetMode::Up | NetMode::Refuse => {}
                    NetMode::Reset => {
                        // Linger zero: closing sends a reset, not an orderly end.
                        let _orderly_close_if_unsupported = stream.set_zero_linger();
                        drop(stream);
                        continue;
                    }
                    NetMode::Hang => {
                        let net = net.clone();
                        tokio::spawn(async move {
                            // Hold the connection, say nothing, until the host changes mode.
                            while net.mode() == NetMode::Hang {
                                net.changed.notified().await;
                            }
                            drop(stream);
                        });
                        continue;
                    }
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                let net = net.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            // The receiver is gone only when the server shut down; the connection then just closes.
                            let _closed = tx.send((Guarded { inner: tls, net }, peer)).await;
                        }
                        Ok(Err(err)) => tracing::debug!("simulator TLS handshake with {peer} failed: {err}"),
                        Err(_) => tracing::debug!("simulator TLS handshake with {peer} timed out"),
                    }
                });
            }
        });
        Ok(Self { local_addr, ready })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Some(conn) = self.ready.recv().await {
                return conn;
            }
            // The accept loop ended (its socket failed for good): nothing more will arrive. Park instead of
            // spinning; graceful shutdown still ends the server.
            std::future::pending::<()>().await;
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
