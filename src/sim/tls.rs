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

/// A listener that hands axum TLS streams. Handshakes run in their own tasks so a slow or silent client cannot
/// hold up others; failed handshakes are dropped.
#[derive(Debug)]
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsListener {
    /// Starts accepting on `tcp`; the accept loop ends when the listener is dropped.
    pub fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::debug!("simulator accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            // The receiver is gone only when the server shut down; the connection then just closes.
                            let _closed = tx.send((tls, peer)).await;
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
    type Io = TlsStream<TcpStream>;
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
