//! HTTPS for the emulator: a local CA and a loopback server certificate
//! ([`TlsMaterial`]), and a listener that runs the TLS handshake on top of the
//! fault-injecting TCP layer ([`TlsListener`]).
//!
//! Microsoft's client libraries (MSAL, azure-identity) refuse `http://`
//! authorities, so the emulator must speak HTTPS to be usable from them. The
//! CA is generated at first start and kept in a directory beside the state
//! file (`STATE.tls/`), so a user points `REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`
//! or `NODE_EXTRA_CA_CERTS` at `ca.pem` once. The CA's private key is never
//! written: it signs the one server certificate and is dropped, so trusting
//! `ca.pem` trusts nothing but this emulator's loopback certificate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

use crate::clock;
use crate::tcp::{ConnInfo, ResettableStream, SimListener};

/// The CA certificate clients trust (PEM).
const CA_FILE: &str = "ca.pem";
/// The server certificate, signed by the CA (PEM).
const CERT_FILE: &str = "server.pem";
/// The server certificate's private key (PEM, owner-only on Unix).
const KEY_FILE: &str = "server.key.pem";
/// A client that opens a connection and never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Validity of the generated certificates, in years from the start of the current year.
const VALIDITY_YEARS: i32 = 10;

/// Why the TLS material could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file of the TLS directory could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the TLS directory is not what the emulator wrote.
    #[error("{path} is not a usable PEM file: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Generating the certificates failed.
    #[error("cannot generate the emulator's certificates: {0}")]
    Generate(String),
}

/// The directory holding the TLS files of a state file: `STATE.tls` beside it.
pub fn tls_dir_for_state(state: &Path) -> PathBuf {
    let mut name = state.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".tls");
    state.with_file_name(name)
}

/// The CA and server certificate of an HTTPS emulator, loaded from or created in one directory.
#[derive(Clone)]
pub struct TlsMaterial {
    ca_file: PathBuf,
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial").field("ca_file", &self.ca_file).finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// Loads the certificates in `dir`, or generates a new CA and server
    /// certificate there when any of the files is missing.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let (ca, cert, key) = (dir.join(CA_FILE), dir.join(CERT_FILE), dir.join(KEY_FILE));
        if !(ca.exists() && cert.exists() && key.exists()) {
            generate(dir)?;
        }
        let chain = CertificateDer::pem_file_iter(&cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| invalid(&cert, &e))?;
        if chain.is_empty() {
            return Err(TlsError::Invalid { path: cert, message: "no certificate".into() });
        }
        let private = PrivateKeyDer::from_pem_file(&key).map_err(|e| invalid(&key, &e))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Generate(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| TlsError::Invalid { path: key.clone(), message: e.to_string() })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self { ca_file: ca, config: Arc::new(config) })
    }

    /// The CA certificate (PEM) that clients must trust.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
}

fn invalid(path: &Path, e: &impl std::fmt::Display) -> TlsError {
    TlsError::Invalid { path: path.to_owned(), message: e.to_string() }
}

fn gen_err(e: &rcgen::Error) -> TlsError {
    TlsError::Generate(e.to_string())
}

/// Writes a new CA (certificate only) and a server certificate for
/// `localhost`, `127.0.0.1` and `::1` signed by it.
fn generate(dir: &Path) -> Result<(), TlsError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // Whole years keep the arithmetic free of a date library; the margin of a year before
    // now tolerates a client clock that is behind.
    let year = i32::try_from(1970 + clock::unix_now() / 31_556_952).unwrap_or(2026);
    let (not_before, not_after) =
        (rcgen::date_time_ymd(year - 1, 1, 1), rcgen::date_time_ymd(year + VALIDITY_YEARS, 1, 1));

    let ca_key = KeyPair::generate().map_err(|e| gen_err(&e))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| gen_err(&e))?;
    ca.distinguished_name.push(DnType::CommonName, "mailscope sim local CA");
    ca.distinguished_name.push(DnType::OrganizationName, "mailscope emulator (test only)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key).map_err(|e| gen_err(&e))?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().map_err(|e| gen_err(&e))?;
    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).map_err(|e| gen_err(&e))?;
    server.distinguished_name.push(DnType::CommonName, "localhost");
    server.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    server.subject_alt_names.push(SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Python 3.13+ verifies strictly (VERIFY_X509_STRICT) and wants the authority key id.
    server.use_authority_key_identifier_extension = true;
    server.not_before = not_before;
    server.not_after = not_after;
    let server_cert = server.signed_by(&server_key, &issuer).map_err(|e| gen_err(&e))?;

    let key_path = dir.join(KEY_FILE);
    write_private(&key_path, &server_key.serialize_pem()).map_err(io(&key_path))?;
    let cert_path = dir.join(CERT_FILE);
    std::fs::write(&cert_path, server_cert.pem()).map_err(io(&cert_path))?;
    // The CA last: its presence is what clients were told to trust.
    let ca_path = dir.join(CA_FILE);
    std::fs::write(&ca_path, ca_cert.pem()).map_err(io(&ca_path))?;
    Ok(())
}

/// Writes a private key readable by its owner only (on Unix).
fn write_private(path: &Path, pem: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(path)?, pem.as_bytes())
}

/// A listener serving TLS over [`SimListener`]'s resettable TCP streams.
///
/// Handshakes run in their own tasks, so a slow or silent client does not
/// hold up the accept loop; finished connections queue for `axum::serve`.
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<ResettableStream>, ConnInfo)>,
    addr: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` (requires a Tokio runtime). The accept
    /// task ends when the returned listener is dropped.
    pub(crate) fn new(listener: TcpListener, material: &TlsMaterial) -> Self {
        let addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let acceptor = TlsAcceptor::from(Arc::clone(&material.config));
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            let mut tcp = SimListener::new(listener);
            loop {
                let (io, info) = tokio::select! {
                    accepted = tcp.accept() => accepted,
                    () = tx.closed() => break,
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, info)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
        });
        Self { ready, addr }
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<ResettableStream>;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends once this listener is dropped, so this never happens.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(ConnInfo::unused())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}
