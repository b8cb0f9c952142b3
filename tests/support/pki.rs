//! Certificates made at test time with rcgen (ECDSA P-256, ring): CAs and certificates they
//! issue, written as PEM files into a temporary folder of the test's own that is removed on
//! drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A folder under the system's temporary folder, unique to one test, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "roambridge-{label}-{}-{n}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a file into the folder; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Its certificate (PEM file).
    pub cert: PathBuf,
}

/// A certificate with its key, as files and in memory.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cert_pem: String,
    pub der: Vec<u8>,
    pub key_der: Vec<u8>,
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy)]
pub enum Usage {
    /// A TLS server for 127.0.0.1 and localhost.
    Server,
    /// A TLS client.
    Client,
}

impl Ca {
    /// A new self-signed CA; its certificate is written to `<name>-ca.pem`.
    pub fn new(dir: &TempDir, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let cert = dir.write(&format!("{name}-ca.pem"), issuer.pem());
        Self { issuer, cert }
    }

    /// The CA certificate in DER.
    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// Issues a certificate; writes `<name>.pem` and `<name>.key`.
    pub fn issue(&self, dir: &TempDir, name: &str, usage: Usage) -> Issued {
        let sans = match usage {
            Usage::Server => vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            Usage::Client => Vec::new(),
        };
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_pem = cert.pem();
        Issued {
            cert: dir.write(&format!("{name}.pem"), &cert_pem),
            key: dir.write(&format!("{name}.key"), key.serialize_pem()),
            cert_pem,
            der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }
}

/// The usual cast: the hub's CA (which also signs the node's certificates, as Hubject's CA
/// does), the hub's server certificate, the node's client certificate, a rogue CA and a
/// client certificate it issued.
pub struct Pki {
    pub dir: TempDir,
    pub ca: Ca,
    pub hub_server: Issued,
    pub node_client: Issued,
    pub rogue_ca: Ca,
    pub rogue_client: Issued,
}

impl Pki {
    pub fn new(label: &str) -> Self {
        let dir = TempDir::new(label);
        let ca = Ca::new(&dir, "hub");
        let hub_server = ca.issue(&dir, "hub-server", Usage::Server);
        let node_client = ca.issue(&dir, "node-client", Usage::Client);
        let rogue_ca = Ca::new(&dir, "rogue");
        let rogue_client = rogue_ca.issue(&dir, "rogue-client", Usage::Client);
        Self {
            dir,
            ca,
            hub_server,
            node_client,
            rogue_ca,
            rogue_client,
        }
    }
}
