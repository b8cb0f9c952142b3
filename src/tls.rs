//! TLS material and configurations (rustls with the `ring` provider): PEM loading with errors
//! that name the file and the problem, client configurations for mutual TLS towards a hub, server
//! configurations that verify client certificates, and reading the verified client certificate
//! of a connection inside actix-web handlers.
//!
//! # Serving HTTPS with client certificates (actix-web)
//!
//! ```no_run
//! # use std::path::{Path, PathBuf};
//! # use actix_web::{App, HttpRequest, HttpServer, web};
//! # fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = roambridge::tls::server_config(
//!     Path::new("node.pem"),
//!     Path::new("node.key"),
//!     &[PathBuf::from("hubject-ca.pem")],
//!     false, // optional: peers without a certificate still use their bearer tokens
//! )?;
//! let listener = std::net::TcpListener::bind("127.0.0.1:7001")?;
//! let server = HttpServer::new(|| {
//!     App::new().default_service(web::to(|req: HttpRequest| async move {
//!         let cert = roambridge::tls::client_cert(&req);
//!         cert.map_or_else(|| "anonymous".to_owned(), |c| c.sha256_fingerprint)
//!     }))
//! })
//! .on_connect(roambridge::tls::on_connect)
//! .listen_rustls_0_23(listener, tls)?
//! .run();
//! # drop(server);
//! # Ok(())
//! # }
//! ```
//!
//! Only `ring` is used as the crypto provider (configurations are built with an explicit
//! provider, never the process default), so no `CMake` or other native toolchain is needed.

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::HttpRequest;
use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::config::ConfigError;

/// A problem with TLS material: the file it is about (empty when it concerns no single file)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TlsError {
    /// The PEM file.
    pub path: PathBuf,
    /// What is wrong and what is expected.
    pub problem: String,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.as_os_str().is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path.display(), self.problem)
        }
    }
}

impl TlsError {
    fn new(path: &Path, problem: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    /// The configuration error for `key` of the configuration file `file` (the problem names
    /// the PEM file).
    pub fn into_config_error(self, file: &str, key: &str) -> ConfigError {
        ConfigError {
            file: file.to_owned(),
            key: key.to_owned(),
            problem: self.to_string(),
        }
    }
}

/// The one crypto provider used everywhere (`ring`).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| {
        let problem = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => format!("cannot read: {e}"),
        };
        TlsError::new(path, problem)
    })
}

fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "invalid PEM: a section has no end line ({})",
            String::from_utf8_lossy(end_marker).trim()
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "invalid PEM: malformed BEGIN line '{}'",
            String::from_utf8_lossy(line).trim()
        ),
        pem::Error::Base64Decode(e) => format!("invalid PEM: the base64 content is damaged ({e})"),
        other => format!("invalid PEM: {other}"),
    }
}

/// Whether PEM text holds a section with this label (e.g. `CERTIFICATE`).
fn has_section(bytes: &[u8], label: &str) -> bool {
    let marker = format!("-----BEGIN {label}-----");
    bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
}

const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

/// Reads every certificate (`-----BEGIN CERTIFICATE-----` section) of a PEM file, in order.
/// Fails when the file is missing, holds no certificate, or a section is not valid PEM.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(path, pem_problem(&e)))?;
    if certs.is_empty() {
        let hint = if KEY_LABELS.iter().any(|l| has_section(&bytes, l)) {
            " (it holds a private key: certificate and key files swapped?)"
        } else if bytes.iter().all(u8::is_ascii_whitespace) {
            " (the file is empty)"
        } else if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            " (it is not PEM text; DER files must be converted to PEM)"
        } else {
            ""
        };
        return Err(TlsError::new(
            path,
            format!("no certificate (-----BEGIN CERTIFICATE-----) in the file{hint}"),
        ));
    }
    Ok(certs)
}

/// Reads the private key of a PEM file (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
/// `EC PRIVATE KEY`, unencrypted) and checks that the crypto provider can use it.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    let key = match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            let hint = if has_section(&bytes, "ENCRYPTED PRIVATE KEY") {
                " (the key is encrypted: give it unencrypted)"
            } else if has_section(&bytes, "CERTIFICATE") {
                " (it holds a certificate: certificate and key files swapped?)"
            } else if bytes.iter().all(u8::is_ascii_whitespace) {
                " (the file is empty)"
            } else {
                ""
            };
            return Err(TlsError::new(
                path,
                format!(
                    "no private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE \
                     KEY) in the file{hint}"
                ),
            ));
        }
        Err(e) => return Err(TlsError::new(path, pem_problem(&e))),
    };
    provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| TlsError::new(path, format!("unusable private key: {e}")))?;
    Ok(key)
}

/// Trust anchors from CA certificate files (every certificate of every file).
fn root_store(cas: &[PathBuf]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for path in cas {
        for cert in load_certs(path)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::new(path, format!("not a usable CA certificate: {e}")))?;
        }
    }
    Ok(roots)
}

/// A client configuration: trusts the CA certificates in `trusted_cas` (when empty, the
/// Mozilla root programme as shipped by `webpki-roots`, which covers publicly certified hubs)
/// and presents `client_cert` (certificate chain file, private key file) when given. ALPN
/// offers HTTP/1.1 only.
pub fn client_config(
    client_cert: Option<(&Path, &Path)>,
    trusted_cas: &[PathBuf],
) -> Result<ClientConfig, TlsError> {
    let roots = if trusted_cas.is_empty() {
        RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }
    } else {
        root_store(trusted_cas)?
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::new(Path::new(""), e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = load_certs(cert)?;
            let private = load_key(key)?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| key_mismatch(cert, key, &e))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A server configuration with the certificate chain in `cert` and the private key in `key`.
///
/// With CA files in `client_cas`, client certificates are verified against them: every
/// connection must present one when `require_client_cert` is set, otherwise a connection
/// without one is accepted (and one with an unverifiable one refused). Without CA files no
/// client certificate is asked for, and `require_client_cert` is an error.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_cas: &[PathBuf],
    require_client_cert: bool,
) -> Result<ServerConfig, TlsError> {
    let chain = load_certs(cert)?;
    let private = load_key(key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::new(Path::new(""), e.to_string()))?;
    let builder = if client_cas.is_empty() {
        if require_client_cert {
            return Err(TlsError::new(
                Path::new(""),
                "client certificates are required but no CA to verify them is configured",
            ));
        }
        builder.with_no_client_auth()
    } else {
        let roots = Arc::new(root_store(client_cas)?);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
        let verifier = if require_client_cert {
            verifier
        } else {
            verifier.allow_unauthenticated()
        };
        let verifier = verifier
            .build()
            .map_err(|e| TlsError::new(&client_cas[0], format!("client verifier: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    builder
        .with_single_cert(chain, private)
        .map_err(|e| key_mismatch(cert, key, &e))
}

/// The error of pairing a key with a certificate chain.
fn key_mismatch(cert: &Path, key: &Path, e: &rustls::Error) -> TlsError {
    let problem = match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "does not fit the certificate in {} (it is the key of another certificate)",
            cert.display()
        ),
        other => format!(
            "cannot be used with the certificate in {}: {other}",
            cert.display()
        ),
    };
    TlsError::new(key, problem)
}

/// A hint for a failed TLS connection, from the error text of the TLS stack: which side
/// refused which certificate. Empty when the text shows no certificate problem.
pub fn handshake_hint(error: &str) -> &'static str {
    const CLIENT_REFUSED: [&str; 6] = [
        "fatal alert: UnknownCA",
        "fatal alert: BadCertificate",
        "fatal alert: CertificateRequired",
        "fatal alert: CertificateUnknown",
        "fatal alert: AccessDenied",
        "fatal alert: DecryptError",
    ];
    if CLIENT_REFUSED.iter().any(|a| error.contains(a)) {
        " (the server refused our client certificate)"
    } else if error.contains("invalid peer certificate") {
        " (the server certificate is not trusted: check trusted_ca)"
    } else {
        ""
    }
}

/// The SHA-256 fingerprint of a DER certificate: 64 lower-case hex digits, no separators.
pub fn fingerprint(der: &[u8]) -> String {
    use fmt::Write as _;
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Normalises a fingerprint as people write it (`AB:CD:…`, upper case, spaces) to the form
/// of [`fingerprint`]; `None` unless it is 32 bytes of hex.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// The fingerprint of the first (end-entity) certificate of a PEM file.
pub fn cert_fingerprint(path: &Path) -> Result<String, TlsError> {
    let certs = load_certs(path)?;
    Ok(certs
        .first()
        .map(|c| fingerprint(c.as_ref()))
        .unwrap_or_default())
}

/// The verified certificate a client presented on a TLS connection (its end-entity
/// certificate), stored in the connection's data by [`on_connect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// SHA-256 of `der`, as [`fingerprint`] writes it.
    pub sha256_fingerprint: String,
    /// The DER encoding.
    pub der: Vec<u8>,
}

impl ClientCert {
    /// Wraps a DER certificate.
    pub fn from_der(der: &[u8]) -> Self {
        Self {
            sha256_fingerprint: fingerprint(der),
            der: der.to_vec(),
        }
    }
}

/// For `HttpServer::on_connect`: on a rustls connection (`listen_rustls_0_23`) whose client
/// presented a certificate, stores it as a [`ClientCert`] in the connection data. rustls has
/// verified it against the server configuration's client CAs before this runs. Plain TCP
/// connections are left alone.
pub fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    if let Some(tls) = conn.downcast_ref::<TlsStream<TcpStream>>() {
        let (_, session) = tls.get_ref();
        if let Some(cert) = session.peer_certificates().and_then(<[_]>::first) {
            ext.insert(ClientCert::from_der(cert.as_ref()));
        }
    }
}

/// The verified client certificate of the connection a request came on, if any.
pub fn client_cert(req: &HttpRequest) -> Option<ClientCert> {
    req.conn_data::<ClientCert>().cloned()
}
