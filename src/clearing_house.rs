//! The clearing house (Hubject's HBS or any OICP hub): its `[clearing_house]` configuration,
//! an outbound client that authenticates with a TLS client certificate (mutual TLS, rustls
//! through awc), serialization of pushes per operation, and recognising the hub when it calls
//! the node.
//!
//! ```toml
//! [clearing_house]
//! url = "https://service-qa.hubject.com/api/oicp"   # or "hubject-qa" / "hubject-prod"
//! client_cert = "tls/node-hubject.pem"   # our certificate chain (PEM), end-entity first
//! client_key = "tls/node-hubject.key"    # its private key (PEM, unencrypted)
//! trusted_ca = ["tls/hub-ca.pem"]        # CAs for the hub's server certificate; when left
//!                                        # out, the public web PKI roots (webpki-roots)
//! timeout_ms = 10000                     # whole call, default 10000
//! inbound_token = "hub-to-us"            # optional: the hub presents it as a bearer token
//! inbound_client_cert = ["tls/hub-client.pem"]  # certificates the hub presents when it
//!                                               # calls us (identified by SHA-256)
//! ```
//!
//! Relative paths are resolved against the directory of the configuration file. Every
//! certificate and key is read and checked while the configuration is parsed, so a missing file
//! or invalid PEM stops startup with the configuration file, the key and the problem.
//!
//! # Threads
//! awc clients are tied to the thread that created them. [`ClearingHouseClient`] holds only
//! the shared parts (TLS configuration, URL, timeout, push queue), is `Send + Sync` and cheap
//! to clone; every actix worker and the delivery arbiter call [`ClearingHouseClient::build`]
//! once and use the [`HubClient`] it returns, which pools its connections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{ConfigError, PartnerId};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::validate::Validate;
use crate::peer::client::CallError;
use crate::tls::{self, ClientCert, TlsError};

/// Hubject's QA (test) system.
pub const HUBJECT_QA: &str = "https://service-qa.hubject.com/api/oicp";
/// Hubject's production system.
pub const HUBJECT_PROD: &str = "https://service.hubject.com/api/oicp";

/// How the hub is named in [`CallError`]s and logs.
pub const HUB: &str = "clearing house";

const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The checked `[clearing_house]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearingHouseConfig {
    /// Base URL up to and including `/api/oicp`, without a trailing slash (always `https://`).
    pub url: String,
    /// Our client certificate chain (PEM).
    pub client_cert: PathBuf,
    /// Its private key (PEM).
    pub client_key: PathBuf,
    /// CA files for the hub's server certificate; empty means the `webpki-roots` set.
    pub trusted_cas: Vec<PathBuf>,
    /// Timeout of a whole call to the hub.
    pub timeout: Duration,
    /// A bearer token that identifies the hub when it calls us.
    pub inbound_token: Option<String>,
    /// SHA-256 fingerprints (see [`tls::fingerprint`]) of the client certificates that identify
    /// the hub when it calls us (from `inbound_client_cert`).
    pub inbound_cert_fingerprints: Vec<String>,
}

/// The `[clearing_house]` table as written (all keys optional here so that a missing one is
/// reported by name). The main configuration may embed it as
/// `clearing_house: Option<RawClearingHouse>` and call [`ClearingHouseConfig::from_raw`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClearingHouse {
    /// `url`.
    pub url: Option<String>,
    /// `client_cert`.
    pub client_cert: Option<String>,
    /// `client_key`.
    pub client_key: Option<String>,
    /// `trusted_ca`.
    #[serde(default)]
    pub trusted_ca: Vec<String>,
    /// `timeout_ms`.
    pub timeout_ms: Option<u64>,
    /// `inbound_token`.
    pub inbound_token: Option<String>,
    /// `inbound_client_cert`.
    #[serde(default)]
    pub inbound_client_cert: Vec<String>,
}

/// A whole configuration file seen only for its `[clearing_house]` table.
#[derive(Debug, Deserialize)]
struct OnlyClearingHouse {
    #[serde(default)]
    clearing_house: Option<RawClearingHouse>,
}

impl ClearingHouseConfig {
    /// Reads the `[clearing_house]` table of configuration text (other tables are ignored);
    /// `None` when there is none. `file` names the file in errors, and its directory is the
    /// base of relative paths.
    pub fn from_toml(text: &str, file: &str) -> Result<Option<Self>, ConfigError> {
        let parsed: OnlyClearingHouse = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            key: "clearing_house".to_owned(),
            problem: e.message().to_owned(),
        })?;
        parsed
            .clearing_house
            .map(|raw| Self::from_raw(&raw, file))
            .transpose()
    }

    /// Checks a table: the URL, that every certificate and key file exists and holds what it
    /// should, that the key fits the certificate, and computes the inbound fingerprints.
    pub fn from_raw(raw: &RawClearingHouse, file: &str) -> Result<Self, ConfigError> {
        let err = |key: &str, problem: String| ConfigError {
            file: file.to_owned(),
            key: format!("clearing_house.{key}"),
            problem,
        };
        let base = Path::new(file).parent().unwrap_or_else(|| Path::new(""));
        let path = |key: &str, value: &str| -> Result<PathBuf, ConfigError> {
            if value.trim().is_empty() {
                return Err(err(key, "must not be empty".to_owned()));
            }
            let p = Path::new(value);
            Ok(if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            })
        };

        let url = check_url(raw.url.as_deref()).map_err(|e| err("url", e))?;

        let client_cert = raw.client_cert.as_deref().ok_or_else(|| {
            err(
                "client_cert",
                "missing: the hub identifies the node by its TLS client certificate (a PEM file)"
                    .to_owned(),
            )
        })?;
        let client_cert = path("client_cert", client_cert)?;
        tls::load_certs(&client_cert)
            .map_err(|e| e.into_config_error(file, "clearing_house.client_cert"))?;
        let client_key = raw.client_key.as_deref().ok_or_else(|| {
            err(
                "client_key",
                "missing: the private key of client_cert (a PEM file)".to_owned(),
            )
        })?;
        let client_key = path("client_key", client_key)?;
        tls::load_key(&client_key)
            .map_err(|e| e.into_config_error(file, "clearing_house.client_key"))?;

        let mut trusted_cas = Vec::new();
        for (i, ca) in raw.trusted_ca.iter().enumerate() {
            let key = format!("trusted_ca[{i}]");
            let p = path(&key, ca)?;
            tls::load_certs(&p)
                .map_err(|e| e.into_config_error(file, &format!("clearing_house.{key}")))?;
            trusted_cas.push(p);
        }
        // Builds the client configuration once: a CA that is no usable trust anchor, or a key
        // that does not belong to the certificate, is found now rather than at the first call.
        tls::client_config(Some((&client_cert, &client_key)), &trusted_cas).map_err(|e| {
            let key = if e.path == client_key {
                "clearing_house.client_key".to_owned()
            } else if e.path == client_cert {
                "clearing_house.client_cert".to_owned()
            } else if let Some(i) = trusted_cas.iter().position(|p| *p == e.path) {
                format!("clearing_house.trusted_ca[{i}]")
            } else {
                "clearing_house".to_owned()
            };
            e.into_config_error(file, &key)
        })?;

        let timeout_ms = raw.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(err("timeout_ms", "must be at least 1".to_owned()));
        }
        if raw
            .inbound_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(err(
                "inbound_token",
                "must not be empty (leave it out when the hub is identified by certificate)"
                    .to_owned(),
            ));
        }
        let mut inbound_cert_fingerprints = Vec::new();
        for (i, cert) in raw.inbound_client_cert.iter().enumerate() {
            let key = format!("inbound_client_cert[{i}]");
            let p = path(&key, cert)?;
            let fp = tls::cert_fingerprint(&p)
                .map_err(|e| e.into_config_error(file, &format!("clearing_house.{key}")))?;
            if !inbound_cert_fingerprints.contains(&fp) {
                inbound_cert_fingerprints.push(fp);
            }
        }
        Ok(Self {
            url,
            client_cert,
            client_key,
            trusted_cas,
            timeout: Duration::from_millis(timeout_ms),
            inbound_token: raw.inbound_token.clone(),
            inbound_cert_fingerprints,
        })
    }

    /// Whether a caller is the hub: its verified client certificate is one of
    /// `inbound_client_cert`, or it presented `inbound_token`.
    pub fn identifies(&self, bearer: Option<&str>, cert: Option<&ClientCert>) -> bool {
        let by_cert = cert.is_some_and(|c| {
            self.inbound_cert_fingerprints
                .contains(&c.sha256_fingerprint)
        });
        let by_token = match (bearer, self.inbound_token.as_deref()) {
            (Some(given), Some(expected)) => {
                constant_time_eq(given.as_bytes(), expected.as_bytes())
            }
            _ => false,
        };
        by_cert || by_token
    }

    /// [`identifies`](Self::identifies) for a request: its `Authorization: Bearer` token and
    /// the client certificate [`tls::on_connect`] stored for its connection.
    pub fn identifies_request(&self, req: &HttpRequest) -> bool {
        self.identifies(bearer(req), tls::client_cert(req).as_ref())
    }
}

fn check_url(url: Option<&str>) -> Result<String, String> {
    let url = url.ok_or_else(|| {
        "missing: the hub's base URL up to /api/oicp (or hubject-qa, hubject-prod)".to_owned()
    })?;
    let url = match url {
        "hubject-qa" => HUBJECT_QA,
        "hubject-prod" => HUBJECT_PROD,
        other => other,
    };
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(format!(
            "'{url}' is not an https:// URL (the hub is called with mutual TLS)"
        ));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("'{url}' has no host"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serializes pushes to the hub: one call at a time per key, in the order the callers asked
/// (tokio's mutex is fair). oicp-2.3.md §7: "serialise pushes per operation and per partner";
/// towards the hub the key is the operation and, where several own parties push, the party
/// ([`HubPushQueue::key`]). Clones share the queue.
#[derive(Debug, Clone, Default)]
pub struct HubPushQueue {
    lanes: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

/// The right to send one push; the next push of the same key waits until it is dropped.
#[derive(Debug)]
pub struct PushTurn {
    key: String,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl PushTurn {
    /// The key this turn belongs to.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl HubPushQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key of an operation, optionally per own party (`PushEvseData` or
    /// `PushEvseData DE*GEF`).
    pub fn key(operation: Operation, party: Option<&PartnerId>) -> String {
        match party {
            Some(p) => format!("{} {p}", operation.name()),
            None => operation.name().to_owned(),
        }
    }

    /// Waits until no other push of `key` is in flight and returns the turn.
    pub async fn turn(&self, key: &str) -> PushTurn {
        let lane = {
            let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(lanes.entry(key.to_owned()).or_default())
        };
        PushTurn {
            key: key.to_owned(),
            _guard: lane.lock_owned().await,
        }
    }
}

struct Shared {
    base_url: String,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
    pushes: HubPushQueue,
}

/// The hub connection settings shared by all threads (`Send + Sync`, cheap to clone): the
/// mutual-TLS client configuration, the URL, the timeout and the push queue. Each thread
/// makes its own [`HubClient`] with [`build`](Self::build).
#[derive(Clone)]
pub struct ClearingHouseClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ClearingHouseClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClearingHouseClient")
            .field("base_url", &self.shared.base_url)
            .field("timeout", &self.shared.timeout)
            .finish_non_exhaustive()
    }
}

impl ClearingHouseClient {
    /// Reads the certificate, key and CAs of the configuration and builds the TLS client
    /// configuration.
    pub fn new(config: &ClearingHouseConfig) -> Result<Self, TlsError> {
        let tls = tls::client_config(
            Some((&config.client_cert, &config.client_key)),
            &config.trusted_cas,
        )?;
        Ok(Self::with_tls(&config.url, config.timeout, tls))
    }

    /// A client with a TLS configuration of the caller's making (`base_url` up to
    /// `/api/oicp`).
    pub fn with_tls(base_url: &str, timeout: Duration, tls: rustls::ClientConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                base_url: base_url.trim_end_matches('/').to_owned(),
                timeout,
                tls: Arc::new(tls),
                pushes: HubPushQueue::new(),
            }),
        }
    }

    /// The HTTP client of the current thread (keep-alive pooled; build once per thread).
    pub fn build(&self) -> HubClient {
        let connector = awc::Connector::new().rustls_0_23(Arc::clone(&self.shared.tls));
        let http = awc::Client::builder()
            .connector(connector)
            .timeout(self.shared.timeout)
            .add_default_header((
                header::USER_AGENT,
                concat!("roambridge/", env!("CARGO_PKG_VERSION")),
            ))
            .finish();
        HubClient {
            http,
            shared: Arc::clone(&self.shared),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The timeout of a call.
    pub fn timeout(&self) -> Duration {
        self.shared.timeout
    }

    /// The push queue shared by every [`HubClient`] built from this client.
    pub fn push_queue(&self) -> &HubPushQueue {
        &self.shared.pushes
    }
}

/// A per-thread client for calls to the hub (not `Send`; see [`ClearingHouseClient::build`]).
#[derive(Clone)]
pub struct HubClient {
    http: awc::Client,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// POSTs `body` to `path` (below the base URL, e.g. from
    /// [`fill_path`](crate::peer::client::fill_path)) and parses the answer as `Resp`, like
    /// [`OicpClient::call`](crate::peer::client::OicpClient::call): no answer in time is
    /// [`CallError::Timeout`] (310), connection or TLS failures (including a refused client
    /// certificate) are [`CallError::Unreachable`] (320), another HTTP status than 200 is
    /// [`CallError::Http`] with the `StatusCode` of an OICP fault body (e.g. 017 with HTTP 401),
    /// and a body that is not a valid `Resp` is [`CallError::InvalidResponse`].
    pub async fn call<Req, Resp>(
        &self,
        path: &str,
        process_id: &str,
        body: &Req,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned + Validate,
    {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| CallError::InvalidResponse(HUB.to_owned(), e.to_string()))?;
        let (http, response) = self.post(path, process_id, bytes).await?;
        crate::peer::client::answer(http, &response, HUB)
    }

    /// [`call`](Self::call) after waiting for the turn of `queue_key` in the shared
    /// [`HubPushQueue`] (see [`HubPushQueue::key`]): pushes of one key go to the hub one at a
    /// time. The timeout covers the call, not the wait.
    pub async fn push<Req, Resp>(
        &self,
        queue_key: &str,
        path: &str,
        process_id: &str,
        body: &Req,
    ) -> Result<Resp, CallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned + Validate,
    {
        let _turn = self.shared.pushes.turn(queue_key).await;
        self.call(path, process_id, body).await
    }

    /// POSTs raw JSON; returns the HTTP status and the body.
    pub async fn post(
        &self,
        path: &str,
        process_id: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), CallError> {
        let url = format!("{}{}", self.shared.base_url, path);
        let request = crate::peer::client::Request {
            url: &url,
            token: None,
            process_id,
            timeout: self.shared.timeout,
        };
        crate::peer::client::exchange(&self.http, &request, body, HUB).await
    }

    /// The underlying HTTP client (the node's [`OicpClient`](crate::peer::client::OicpClient)
    /// uses it for targets of kind `Hub`).
    pub fn into_http(self) -> awc::Client {
        self.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_table_is_none_and_other_tables_are_ignored() {
        let text = "[node]\nlisten = \"127.0.0.1:1\"\n[[peer]]\nrole = \"emp\"\n";
        assert_eq!(
            ClearingHouseConfig::from_toml(text, "node.toml").ok(),
            Some(None)
        );
    }

    #[test]
    fn url_rules() {
        assert_eq!(check_url(Some("hubject-qa")).as_deref(), Ok(HUBJECT_QA));
        assert_eq!(
            check_url(Some("https://hub.example/api/oicp/")).as_deref(),
            Ok("https://hub.example/api/oicp")
        );
        assert!(check_url(Some("http://hub.example/api/oicp")).is_err());
        assert!(check_url(Some("https:///x")).is_err());
        assert!(check_url(None).is_err());
    }

    #[test]
    fn unknown_key_names_the_table() {
        let text = "[clearing_house]\nurl = \"hubject-qa\"\nclient_certificate = \"x\"\n";
        let e = ClearingHouseConfig::from_toml(text, "n.toml").err();
        let e = e.map(|e| (e.key, e.problem.contains("client_certificate")));
        assert_eq!(e, Some(("clearing_house".to_owned(), true)));
    }

    #[test]
    fn shared_client_is_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<ClearingHouseClient>();
        check::<ClearingHouseConfig>();
        check::<HubPushQueue>();
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[tokio::test]
    async fn push_turns_are_exclusive_per_key() {
        let queue = HubPushQueue::new();
        let first = queue.turn("PushEvseData").await;
        let other =
            tokio::time::timeout(Duration::from_secs(5), queue.turn("PushEvseStatus")).await;
        assert!(other.is_ok(), "another key is not blocked");
        let same =
            tokio::time::timeout(Duration::from_millis(50), queue.turn("PushEvseData")).await;
        assert!(same.is_err(), "the same key waits");
        assert_eq!(first.key(), "PushEvseData");
        drop(first);
        let again = tokio::time::timeout(Duration::from_secs(5), queue.turn("PushEvseData")).await;
        assert!(again.is_ok());
    }
}
