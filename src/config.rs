//! Node configuration: a TOML file, parsed strictly (`deny_unknown_fields`) and then checked
//! into typed values, so that every problem stops startup with a message naming the file, the
//! key and the problem.
//!
//! ```toml
//! [node]
//! listen = "127.0.0.1:7001"          # address to bind (port 0 picks a free port)
//! database = "data/cpo.sqlite"       # SQLite file, or ":memory:"
//! admin_token = "change-me"          # bearer token of the /admin API (admin API off if absent)
//! request_timeout_ms = 10000         # default timeout of calls to peers and backends
//!
//! [[party]]                          # an own CPO (OperatorID) or EMP (ProviderID)
//! role = "cpo"
//! id = "DE*GEF"
//! name = "GEF Charging"              # optional, used as OperatorName where one is needed
//!                                    # and as the OCPI business details name
//! country_code = "DE"                # optional OCPI identity, default derived from the ID
//! party_id = "GEF"                   # (DE*GEF gives DE / GEF; +49*810 gives none)
//! backend = "http://127.0.0.1:9001/api/oicp"   # optional: the party's own OICP system
//! backend_token = "cpo-backend-token"          # the backend presents it to the node
//!
//! [[peer]]                           # a remote CPO or EMP reached directly
//! role = "emp"
//! id = "DE-GDF"
//! url = "http://127.0.0.1:8001/api/oicp"
//! timeout_ms = 10000                 # optional, defaults to node.request_timeout_ms
//! token = "gef-to-gdf"               # optional: we present it to the peer
//! inbound_token = "gdf-to-gef"       # the peer presents it to us
//!
//! [[peer]]                           # an OCPI 2.2.1 partner platform
//! role = "cpo"                       # the OICP ID it stands for in routing
//! id = "NL*TNM"
//! protocol = "ocpi"                  # default "oicp"
//! url = "https://partner/ocpi/versions"   # its versions URL; tokens come from the handshake
//! [peer.ocpi]                        # optional
//! country_code = "NL"                # default: from the ID (NL*TNM gives NL / TNM)
//! party_id = "TNM"
//! roles = ["CPO"]                    # default: CPO for role cpo, EMSP for emp
//! raw_token = false                  # send (and accept) the token unencoded
//! endpoints = [{ module = "credentials", role = "SENDER", url = "https://partner/ocpi/2.2.1/credentials" }]
//!                                    # used where its version details lack an endpoint
//!
//! [ocpi]                             # the node's OCPI server (all keys optional)
//! public_url = "https://bridge.example"   # default http(s)://<listen address>:<bound port>
//! page_limit = 100                   # server page cap of list GETs (X-Limit), 1..=1000
//! command_wait_ms = 8000             # how long an OICP remote call waits for an OCPI
//!                                    # CommandResult, 1..=60000 (never longer than the CPO's timeout)
//!
//! [delivery]                         # the durable outbox (all keys optional)
//! dead_letter_after_s = 86400        # undelivered this long: moved to the dead-letter list
//! max_backoff_s = 60                 # longest wait between two attempts of a message
//! status_refresh_s = 0               # every N s a status fullLoad to every EMP peer; 0 = off
//! ```
//!
//! `[delivery]` defaults: `dead_letter_after_s` 86400 (one day), `max_backoff_s` 60,
//! `status_refresh_s` 0 (off). Both times of the first two must be at least 1.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ocpi::v221::ids::{CountryCode, PartyId};
use crate::ocpi::v221::versions::{InterfaceRole, Role as OcpiRole};
use crate::oicp::v23::ids::{OperatorId, ProviderId};

/// A configuration problem: which file, which key, what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// The key (e.g. `peer[1].url`).
    pub key: String,
    /// What is wrong and what is expected.
    pub problem: String,
}

/// Whether a party or peer is a CPO (`OperatorID`) or an EMP (`ProviderID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Charge point operator.
    Cpo,
    /// E-mobility provider.
    Emp,
}

impl Role {
    /// `cpo` or `emp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpo => "cpo",
            Self::Emp => "emp",
        }
    }

    /// Parses `cpo` or `emp` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("cpo") {
            Some(Self::Cpo)
        } else if s.eq_ignore_ascii_case("emp") {
            Some(Self::Emp)
        } else {
            None
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated `OperatorID` or `ProviderID`, depending on the role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartnerId {
    /// A CPO's `OperatorID`.
    Operator(OperatorId),
    /// An EMP's `ProviderID`.
    Provider(ProviderId),
}

impl PartnerId {
    /// Parses an ID for a role.
    pub fn parse(role: Role, s: &str) -> Result<Self, String> {
        match role {
            Role::Cpo => OperatorId::parse(s)
                .map(Self::Operator)
                .map_err(|e| e.to_string()),
            Role::Emp => ProviderId::parse(s)
                .map(Self::Provider)
                .map_err(|e| e.to_string()),
        }
    }

    /// The role of the ID.
    pub fn role(&self) -> Role {
        match self {
            Self::Operator(_) => Role::Cpo,
            Self::Provider(_) => Role::Emp,
        }
    }

    /// The ID as spelled in the configuration.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Operator(id) => id.as_str(),
            Self::Provider(id) => id.as_str(),
        }
    }

    /// The format-insensitive key (`DE*GEF` and `DEGEF` give the same).
    pub fn canonical(&self) -> String {
        match self {
            Self::Operator(id) => id.canonical(),
            Self::Provider(id) => id.canonical(),
        }
    }

    /// Appends [`Self::canonical`] to `out`.
    pub fn push_canonical(&self, out: &mut String) {
        match self {
            Self::Operator(id) => id.push_canonical(out),
            Self::Provider(id) => id.push_canonical(out),
        }
    }
}

impl std::fmt::Display for PartnerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    node: RawNode,
    #[serde(default)]
    party: Vec<RawParty>,
    #[serde(default)]
    peer: Vec<RawPeer>,
    clearing_house: Option<crate::clearing_house::RawClearingHouse>,
    routing: Option<crate::routing::RawRouting>,
    #[serde(default)]
    route: Vec<crate::routing::RawRoute>,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    ocpi: RawOcpi,
}

/// The `[ocpi]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOcpi {
    public_url: Option<String>,
    page_limit: Option<u32>,
    command_wait_ms: Option<u64>,
}

/// The node's OCPI server (`[ocpi]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcpiConfig {
    /// The base URL partners reach the node at, without `/ocpi` (`public_url`); `None`, the
    /// default, derives `http(s)://<listen address>:<bound port>` at startup.
    pub public_url: Option<String>,
    /// The server's page cap of list GETs, sent as `X-Limit` (`page_limit`, default
    /// [`OcpiConfig::DEFAULT_PAGE_LIMIT`]); a larger `limit` asked for is cut to it.
    pub page_limit: u32,
    /// How long an OICP remote start/stop or reservation sent to an OCPI CPO waits for the
    /// asynchronous `CommandResult` (`command_wait_ms`, default 8 s: Hubject wants answers
    /// within 10 s); never longer than the `timeout` the CPO answers with.
    pub command_wait: Duration,
}

impl OcpiConfig {
    /// The default page cap.
    pub const DEFAULT_PAGE_LIMIT: u32 = 100;
    /// The default wait for a `CommandResult`.
    pub const DEFAULT_COMMAND_WAIT: Duration = Duration::from_secs(8);
    /// The largest page cap allowed.
    pub const MAX_PAGE_LIMIT: u32 = 1000;
}

impl Default for OcpiConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            page_limit: Self::DEFAULT_PAGE_LIMIT,
            command_wait: Self::DEFAULT_COMMAND_WAIT,
        }
    }
}

impl RawOcpi {
    fn check(&self) -> Result<OcpiConfig, (String, String)> {
        if let Some(url) = &self.public_url {
            check_url(url).map_err(|e| ("ocpi.public_url".to_owned(), e))?;
        }
        let page_limit = self.page_limit.unwrap_or(OcpiConfig::DEFAULT_PAGE_LIMIT);
        if page_limit == 0 || page_limit > OcpiConfig::MAX_PAGE_LIMIT {
            return Err((
                "ocpi.page_limit".to_owned(),
                format!("must be 1..={}", OcpiConfig::MAX_PAGE_LIMIT),
            ));
        }
        let command_wait = match self.command_wait_ms {
            None => OcpiConfig::DEFAULT_COMMAND_WAIT,
            Some(ms @ 1..=60_000) => Duration::from_millis(ms),
            Some(_) => {
                return Err((
                    "ocpi.command_wait_ms".to_owned(),
                    "must be 1..=60000".to_owned(),
                ));
            }
        };
        Ok(OcpiConfig {
            public_url: self
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            page_limit,
            command_wait,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(clippy::struct_field_names, reason = "the TOML keys name their unit")]
struct RawDelivery {
    #[serde(default = "default_dead_letter_after_s")]
    dead_letter_after_s: u64,
    #[serde(default = "default_max_backoff_s")]
    max_backoff_s: u64,
    #[serde(default)]
    status_refresh_s: u64,
}

impl Default for RawDelivery {
    fn default() -> Self {
        Self {
            dead_letter_after_s: default_dead_letter_after_s(),
            max_backoff_s: default_max_backoff_s(),
            status_refresh_s: 0,
        }
    }
}

impl RawDelivery {
    /// The checked `[delivery]` table; an error names the key.
    fn check(&self) -> Result<DeliveryConfig, (String, String)> {
        for (key, value) in [
            ("delivery.dead_letter_after_s", self.dead_letter_after_s),
            ("delivery.max_backoff_s", self.max_backoff_s),
        ] {
            if value == 0 {
                return Err((key.into(), "must be at least 1".into()));
            }
        }
        Ok(DeliveryConfig {
            dead_letter_after: Duration::from_secs(self.dead_letter_after_s),
            max_backoff: Duration::from_secs(self.max_backoff_s),
            status_refresh: (self.status_refresh_s > 0)
                .then(|| Duration::from_secs(self.status_refresh_s)),
        })
    }
}

fn default_dead_letter_after_s() -> u64 {
    86_400
}

fn default_max_backoff_s() -> u64 {
    60
}

/// How the node delivers what it queued in its outbox (`[delivery]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// A message still undelivered this long after it was queued moves to the dead-letter
    /// list (`dead_letter_after_s`, default one day).
    pub dead_letter_after: Duration,
    /// The longest back-off between two attempts of a message (`max_backoff_s`, default 60 s).
    pub max_backoff: Duration,
    /// Every this often, each own CPO's stored statuses go to every EMP peer as a `fullLoad`
    /// (`status_refresh_s`; `None`, the default, for 0: off).
    pub status_refresh: Option<Duration>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            dead_letter_after: Duration::from_secs(default_dead_letter_after_s()),
            max_backoff: Duration::from_secs(default_max_backoff_s()),
            status_refresh: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    listen: String,
    #[serde(default = "default_database")]
    database: String,
    admin_token: Option<String>,
    #[serde(default = "default_timeout_ms")]
    request_timeout_ms: u64,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    #[serde(default)]
    tls_client_ca: Vec<PathBuf>,
    #[serde(default)]
    require_client_cert: bool,
}

fn default_database() -> String {
    "data/roambridge.sqlite".to_owned()
}

fn default_timeout_ms() -> u64 {
    10_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    role: String,
    id: String,
    name: Option<String>,
    backend: Option<String>,
    backend_token: Option<String>,
    country_code: Option<String>,
    party_id: Option<String>,
}

/// A peer as written in the configuration file and in the admin API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeer {
    /// `cpo` or `emp`.
    pub role: String,
    /// `OperatorID` (cpo) or `ProviderID` (emp).
    pub id: String,
    /// Base URL of the peer's OICP API (up to and including `/api/oicp`).
    pub url: String,
    /// Timeout of calls to the peer, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Bearer token we present to the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Bearer token the peer presents to us.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_token: Option<String>,
    /// `oicp` (the default) or `ocpi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// OCPI settings of a `protocol = "ocpi"` peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocpi: Option<RawOcpiPeer>,
}

/// The `[peer.ocpi]` table of an OCPI peer (all keys optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOcpiPeer {
    /// The partner party's `country_code` (default: from its ID, `DE*ABC` gives `DE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// The partner party's `party_id` (default: from its ID, `DE*ABC` gives `ABC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    /// The partner party's OCPI roles (default: `CPO` for role cpo, `EMSP` for emp).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Send the credentials token unencoded (the OCPI 2.1.1 habit), and accept it unencoded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw_token: bool,
    /// Endpoints to use where the partner's version details lack them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<RawEndpoint>,
    /// Page the partner's lists by `offset` and `X-Total-Count` instead of following its
    /// `Link` header (for partners whose `Link` is broken).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_by_offset: bool,
    /// Leave `energy_mix` out of the Locations pushed to this partner (for partners that
    /// refuse the partial `energy_mix` OICP data gives, e.g. extrawest-ocpi, deviation D10).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit_energy_mix: bool,
}

/// An endpoint override: `{ module = "locations", role = "RECEIVER", url = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    /// The module identifier.
    pub module: String,
    /// `SENDER` or `RECEIVER` (any case).
    pub role: String,
    /// The URL.
    pub url: String,
}

/// Which protocol a peer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OICP 2.3 (the default).
    Oicp,
    /// OCPI 2.2.1.
    Ocpi,
}

/// An OCPI party identity: `country_code` and `party_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OcpiParty {
    /// `country_code`.
    pub country_code: CountryCode,
    /// `party_id`.
    pub party_id: PartyId,
}

impl OcpiParty {
    /// The identity an OICP ID implies: `DE*ABC` and `DE-ABC` give (`DE`, `ABC`). `None` for
    /// IDs that do not start with two letters and three letters or digits (`+49*810`);
    /// ocpi-2.2.1.md §10 allows OCPI ids to differ, so configuration may override it.
    pub fn derive(id: &PartnerId) -> Option<Self> {
        let canonical = id.canonical();
        if canonical.len() != 5 || !canonical.is_ascii() {
            return None;
        }
        let (cc, pid) = canonical.split_at(2);
        Some(Self {
            country_code: CountryCode::parse(cc).ok()?,
            party_id: PartyId::parse(pid).ok()?,
        })
    }

    /// Configured values, each falling back to the derived one; an error names the key.
    fn resolve(
        id: &PartnerId,
        country_code: Option<&str>,
        party_id: Option<&str>,
    ) -> Result<Option<Self>, (String, String)> {
        let derived = Self::derive(id);
        let country_code = match country_code {
            Some(c) => Some(
                CountryCode::parse(c).map_err(|e| ("country_code".to_owned(), e.to_string()))?,
            ),
            None => derived.as_ref().map(|d| d.country_code.clone()),
        };
        let party_id = match party_id {
            Some(p) => Some(PartyId::parse(p).map_err(|e| ("party_id".to_owned(), e.to_string()))?),
            None => derived.map(|d| d.party_id),
        };
        Ok(country_code
            .zip(party_id)
            .map(|(country_code, party_id)| Self {
                country_code,
                party_id,
            }))
    }
}

impl std::fmt::Display for OcpiParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}",
            self.country_code.as_str(),
            self.party_id.as_str()
        )
    }
}

/// The OCPI side of a `protocol = "ocpi"` peer. Its tokens are not configured: they come
/// from the credentials handshake and live in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcpiPeer {
    /// The partner party.
    pub party: OcpiParty,
    /// Its OCPI roles (at least one).
    pub roles: Vec<OcpiRole>,
    /// Whether tokens go (and may come) unencoded.
    pub raw_token: bool,
    /// Endpoint overrides: (module, interface role, URL).
    pub endpoints: Vec<(String, InterfaceRole, String)>,
    /// Page its lists by `offset` rather than following `Link`.
    pub page_by_offset: bool,
    /// Leave `energy_mix` out of the Locations pushed to it.
    pub omit_energy_mix: bool,
}

impl OcpiPeer {
    fn from_raw(id: &PartnerId, raw: &RawOcpiPeer) -> Result<Self, (String, String)> {
        let key = |k: &str| format!("ocpi.{k}");
        let party = OcpiParty::resolve(id, raw.country_code.as_deref(), raw.party_id.as_deref())
            .map_err(|(k, e)| (key(&k), e))?
            .ok_or_else(|| {
                (
                    key("country_code"),
                    format!("{id} implies no OCPI party: set country_code and party_id"),
                )
            })?;
        let mut roles = Vec::new();
        for r in &raw.roles {
            let role = OcpiRole::from_wire(&r.to_ascii_uppercase());
            if !role.is_known() {
                return Err((key("roles"), format!("'{r}' is not an OCPI role")));
            }
            roles.push(role);
        }
        if roles.is_empty() {
            roles.push(match id.role() {
                Role::Cpo => OcpiRole::Cpo,
                Role::Emp => OcpiRole::Emsp,
            });
        }
        let mut endpoints = Vec::new();
        for (i, e) in raw.endpoints.iter().enumerate() {
            let k = |f: &str| key(&format!("endpoints[{i}].{f}"));
            let role = InterfaceRole::from_wire(&e.role.to_ascii_uppercase());
            if !role.is_known() {
                return Err((k("role"), format!("'{}' is not SENDER or RECEIVER", e.role)));
            }
            check_url(&e.url).map_err(|p| (k("url"), p))?;
            if e.module.trim().is_empty() {
                return Err((k("module"), "must not be empty".to_owned()));
            }
            endpoints.push((e.module.to_ascii_lowercase(), role, e.url.clone()));
        }
        Ok(Self {
            party,
            roles,
            raw_token: raw.raw_token,
            endpoints,
            page_by_offset: raw.page_by_offset,
            omit_energy_mix: raw.omit_energy_mix,
        })
    }

    fn to_raw(&self) -> RawOcpiPeer {
        RawOcpiPeer {
            country_code: Some(self.party.country_code.as_str().to_owned()),
            party_id: Some(self.party.party_id.as_str().to_owned()),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            raw_token: self.raw_token,
            endpoints: self
                .endpoints
                .iter()
                .map(|(module, role, url)| RawEndpoint {
                    module: module.clone(),
                    role: role.as_str().to_owned(),
                    url: url.clone(),
                })
                .collect(),
            page_by_offset: self.page_by_offset,
            omit_energy_mix: self.omit_energy_mix,
        }
    }
}

/// The node itself.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// `SQLite` file, or `:memory:`.
    pub database: String,
    /// Bearer token of the admin API; `None` disables the admin API.
    pub admin_token: Option<String>,
    /// Default timeout of outbound calls.
    pub request_timeout: Duration,
    /// TLS of the listener (HTTPS, optionally requiring client certificates); `None` serves
    /// plain HTTP.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
}

/// An own party: a CPO or EMP hosted by this node.
#[derive(Debug, Clone)]
pub struct Party {
    /// Its `OperatorID` or `ProviderID`.
    pub id: PartnerId,
    /// Display name (`OperatorName`).
    pub name: Option<String>,
    /// Base URL of the party's own OICP system.
    pub backend: Option<String>,
    /// Token the backend presents to the node.
    pub backend_token: Option<String>,
    /// Its OCPI identity (`country_code`/`party_id` keys, else derived from the ID); `None`
    /// when neither gives one: the party is then not offered over OCPI.
    pub ocpi: Option<OcpiParty>,
}

/// A remote peer reached directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its `OperatorID` or `ProviderID`.
    pub id: PartnerId,
    /// Base URL (up to and including `/api/oicp`).
    pub url: String,
    /// Timeout of calls to it.
    pub timeout: Duration,
    /// Token we present.
    pub token: Option<String>,
    /// Token it presents.
    pub inbound_token: Option<String>,
    /// `Some` for an OCPI peer (`protocol = "ocpi"`; then `url` is its versions URL).
    pub ocpi: Option<OcpiPeer>,
}

impl Peer {
    /// Checks a raw peer (from the file or the admin API); `key` names it in errors.
    pub fn from_raw(raw: &RawPeer, default_timeout: Duration) -> Result<Self, (String, String)> {
        let role = Role::parse(&raw.role).ok_or_else(|| {
            (
                "role".to_owned(),
                format!("'{}' is not a role (cpo or emp)", raw.role),
            )
        })?;
        let id = PartnerId::parse(role, &raw.id).map_err(|e| ("id".to_owned(), e))?;
        check_url(&raw.url).map_err(|e| ("url".to_owned(), e))?;
        if raw.timeout_ms == Some(0) {
            return Err(("timeout_ms".to_owned(), "must be at least 1".to_owned()));
        }
        for (key, token) in [("token", &raw.token), ("inbound_token", &raw.inbound_token)] {
            if token.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err((key.to_owned(), "must not be empty".to_owned()));
            }
        }
        let protocol = match raw.protocol.as_deref() {
            None => Protocol::Oicp,
            Some(p) if p.eq_ignore_ascii_case("oicp") => Protocol::Oicp,
            Some(p) if p.eq_ignore_ascii_case("ocpi") => Protocol::Ocpi,
            Some(p) => {
                return Err((
                    "protocol".to_owned(),
                    format!("'{p}' is not a protocol (oicp or ocpi)"),
                ));
            }
        };
        let ocpi =
            match (protocol, &raw.ocpi) {
                (Protocol::Oicp, None) => None,
                (Protocol::Oicp, Some(_)) => {
                    return Err(("ocpi".to_owned(), "only for protocol = \"ocpi\"".to_owned()));
                }
                (Protocol::Ocpi, raw_ocpi) => {
                    // OCPI tokens come from the credentials handshake, never from configuration.
                    if raw.token.is_some() || raw.inbound_token.is_some() {
                        return Err((
                        if raw.token.is_some() { "token" } else { "inbound_token" }.to_owned(),
                        "an OCPI peer's tokens come from the credentials handshake; leave it out"
                            .to_owned(),
                    ));
                    }
                    Some(OcpiPeer::from_raw(
                        &id,
                        &raw_ocpi.clone().unwrap_or_default(),
                    )?)
                }
            };
        Ok(Self {
            id,
            url: raw.url.trim_end_matches('/').to_owned(),
            timeout: raw
                .timeout_ms
                .map_or(default_timeout, Duration::from_millis),
            token: raw.token.clone(),
            inbound_token: raw.inbound_token.clone(),
            ocpi,
        })
    }

    /// The protocol the peer speaks.
    pub fn protocol(&self) -> Protocol {
        if self.ocpi.is_some() {
            Protocol::Ocpi
        } else {
            Protocol::Oicp
        }
    }

    /// The raw form (for the admin API and the store).
    pub fn to_raw(&self) -> RawPeer {
        RawPeer {
            role: self.id.role().as_str().to_owned(),
            id: self.id.as_str().to_owned(),
            url: self.url.clone(),
            timeout_ms: u64::try_from(self.timeout.as_millis()).ok(),
            token: self.token.clone(),
            inbound_token: self.inbound_token.clone(),
            protocol: self.ocpi.is_some().then(|| "ocpi".to_owned()),
            ocpi: self.ocpi.as_ref().map(OcpiPeer::to_raw),
        }
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("'{url}' is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("'{url}' has no host"));
    }
    Ok(())
}

/// Checks the `[[party]]` entries.
fn parse_parties(raw: &[RawParty], file: &str) -> Result<Vec<Party>, ConfigError> {
    let err = |key: String, problem: String| ConfigError {
        file: file.to_owned(),
        key,
        problem,
    };
    let mut parties = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let key = |k: &str| format!("party[{i}].{k}");
        let role = Role::parse(&p.role).ok_or_else(|| {
            err(
                key("role"),
                format!("'{}' is not a role (cpo or emp)", p.role),
            )
        })?;
        let id = PartnerId::parse(role, &p.id).map_err(|e| err(key("id"), e))?;
        if let Some(b) = &p.backend {
            check_url(b).map_err(|e| err(key("backend"), e))?;
        }
        if p.backend_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(err(key("backend_token"), "must not be empty".into()));
        }
        if parties.iter().any(|q: &Party| q.id == id) {
            return Err(err(key("id"), format!("party {id} is configured twice")));
        }
        let ocpi = OcpiParty::resolve(&id, p.country_code.as_deref(), p.party_id.as_deref())
            .map_err(|(k, e)| err(key(&k), e))?;
        parties.push(Party {
            id,
            name: p.name.clone(),
            backend: p
                .backend
                .as_ref()
                .map(|b| b.trim_end_matches('/').to_owned()),
            backend_token: p.backend_token.clone(),
            ocpi,
        });
    }
    Ok(parties)
}

/// The whole, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from (for messages).
    pub source: String,
    /// The node.
    pub node: NodeConfig,
    /// Own parties.
    pub parties: Vec<Party>,
    /// Peers named in the file.
    pub peers: Vec<Peer>,
    /// The clearing house, if one is configured.
    pub clearing_house: Option<crate::clearing_house::ClearingHouseConfig>,
    /// Which route each operation and partner takes.
    pub routing: crate::routing::RoutingTable,
    /// Delivery of the outbox.
    pub delivery: DeliveryConfig,
    /// The OCPI server.
    pub ocpi: OcpiConfig,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            key: "-".to_owned(),
            problem: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, &file)
    }

    /// Parses and checks configuration text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConfigError> {
        let err = |key: String, problem: String| ConfigError {
            file: file.to_owned(),
            key,
            problem,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let key = e.span().map_or_else(
                || "-".to_owned(),
                |s| format!("bytes {}..{}", s.start, s.end),
            );
            err(key, e.message().to_owned())
        })?;
        let listen: SocketAddr = raw.node.listen.parse().map_err(|_| {
            err(
                "node.listen".into(),
                format!(
                    "'{}' is not an address like 127.0.0.1:7001",
                    raw.node.listen
                ),
            )
        })?;
        if raw.node.request_timeout_ms == 0 {
            return Err(err(
                "node.request_timeout_ms".into(),
                "must be at least 1".into(),
            ));
        }
        if raw
            .node
            .admin_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(err(
                "node.admin_token".into(),
                "must not be empty (leave it out to disable the admin API)".into(),
            ));
        }
        let tls = node_tls(&raw.node, file)?;
        let node = NodeConfig {
            listen,
            database: raw.node.database,
            admin_token: raw.node.admin_token,
            request_timeout: Duration::from_millis(raw.node.request_timeout_ms),
            tls,
        };
        let parties = parse_parties(&raw.party, file)?;
        let mut peers: Vec<Peer> = Vec::new();
        for (i, raw_peer) in raw.peer.iter().enumerate() {
            let peer = Peer::from_raw(raw_peer, node.request_timeout)
                .map_err(|(k, e)| err(format!("peer[{i}].{k}"), e))?;
            if peers.iter().any(|q| q.id == peer.id) {
                return Err(err(
                    format!("peer[{i}].id"),
                    format!("peer {} is configured twice", peer.id),
                ));
            }
            if parties.iter().any(|p| p.id == peer.id) {
                return Err(err(
                    format!("peer[{i}].id"),
                    format!("{} is an own party, not a peer", peer.id),
                ));
            }
            peers.push(peer);
        }
        check_tokens(&parties, &peers, node.admin_token.as_deref()).map_err(|(k, e)| err(k, e))?;
        let clearing_house = raw
            .clearing_house
            .as_ref()
            .map(|c| crate::clearing_house::ClearingHouseConfig::from_raw(c, file))
            .transpose()?;
        let routing = crate::routing::RoutingTable::from_raw(
            &raw.routing.unwrap_or_default(),
            &raw.route,
            file,
        )?;
        if clearing_house.is_none() {
            check_routes_without_hub(&routing).map_err(|(k, e)| err(k, e))?;
        }
        let delivery = raw.delivery.check().map_err(|(k, e)| err(k, e))?;
        let ocpi = raw.ocpi.check().map_err(|(k, e)| err(k, e))?;
        Ok(Self {
            source: file.to_owned(),
            node,
            parties,
            peers,
            clearing_house,
            routing,
            delivery,
            ocpi,
        })
    }

    /// The database path, or `None` for `:memory:`.
    pub fn database_path(&self) -> Option<PathBuf> {
        (self.node.database != ":memory:").then(|| PathBuf::from(&self.node.database))
    }
}

/// Without a `[clearing_house]`, no rule (and not the default) may send anything to the hub.
fn check_routes_without_hub(
    routing: &crate::routing::RoutingTable,
) -> Result<(), (String, String)> {
    use crate::routing::RouteKind;
    let to_hub = |k: RouteKind| k != RouteKind::Direct;
    if to_hub(routing.default_route()) {
        return Err((
            "routing.default".into(),
            format!(
                "'{}' needs a [clearing_house] table, and there is none",
                routing.default_route()
            ),
        ));
    }
    if let Some(rule) = routing.rules().iter().find(|r| to_hub(r.route)) {
        return Err((
            format!("route[{}].route", rule.index),
            format!(
                "'{}' needs a [clearing_house] table, and there is none",
                rule.route
            ),
        ));
    }
    Ok(())
}

/// The listener's TLS from `node.tls_cert`/`tls_key`/`tls_client_ca`/`require_client_cert`
/// (paths relative to the configuration file's folder).
fn node_tls(
    node: &RawNode,
    file: &str,
) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, ConfigError> {
    let base = Path::new(file).parent().unwrap_or_else(|| Path::new("."));
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    match (&node.tls_cert, &node.tls_key) {
        (None, None) => {
            if node.require_client_cert || !node.tls_client_ca.is_empty() {
                return Err(ConfigError {
                    file: file.to_owned(),
                    key: "node.tls_cert".into(),
                    problem: "client certificates need TLS: set tls_cert and tls_key".into(),
                });
            }
            Ok(None)
        }
        (Some(cert), Some(key)) => {
            let cas: Vec<PathBuf> = node.tls_client_ca.iter().map(|p| resolve(p)).collect();
            crate::tls::server_config(
                &resolve(cert),
                &resolve(key),
                &cas,
                node.require_client_cert,
            )
            .map(|c| Some(std::sync::Arc::new(c)))
            .map_err(|e| e.into_config_error(file, "node.tls_cert"))
        }
        (Some(_), None) | (None, Some(_)) => Err(ConfigError {
            file: file.to_owned(),
            key: if node.tls_cert.is_some() {
                "node.tls_key"
            } else {
                "node.tls_cert"
            }
            .into(),
            problem: "tls_cert and tls_key go together".into(),
        }),
    }
}

/// A token must identify one caller: a peer's inbound token may not equal a backend token or
/// the admin token (backend tokens may be shared by parties with one backend).
fn check_tokens(
    parties: &[Party],
    peers: &[Peer],
    admin: Option<&str>,
) -> Result<(), (String, String)> {
    for (i, peer) in peers.iter().enumerate() {
        let Some(t) = peer.inbound_token.as_deref() else {
            continue;
        };
        if parties
            .iter()
            .any(|p| p.backend_token.as_deref() == Some(t))
            || admin == Some(t)
        {
            return Err((
                format!("peer[{i}].inbound_token"),
                "is also used by a backend or the admin API".into(),
            ));
        }
        if peers[..i]
            .iter()
            .any(|q| q.inbound_token.as_deref() == Some(t))
        {
            return Err((
                format!("peer[{i}].inbound_token"),
                "is also used by another peer".into(),
            ));
        }
    }
    if let Some(a) = admin
        && parties
            .iter()
            .any(|p| p.backend_token.as_deref() == Some(a))
    {
        return Err((
            "node.admin_token".into(),
            "is also used as a backend token".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[node]
listen = "127.0.0.1:0"
database = ":memory:"
admin_token = "adm"

[[party]]
role = "cpo"
id = "DE*GEF"
backend = "http://127.0.0.1:9001/api/oicp/"
backend_token = "b"

[[peer]]
role = "emp"
id = "DE-GDF"
url = "http://127.0.0.1:8001/api/oicp"
token = "out"
inbound_token = "in"
"#;

    #[test]
    fn the_delivery_table_has_defaults_and_is_checked() {
        let defaults = Config::parse(GOOD, "x.toml").unwrap().delivery;
        assert_eq!(defaults, DeliveryConfig::default());
        assert_eq!(defaults.dead_letter_after, Duration::from_hours(24));
        assert_eq!(defaults.max_backoff, Duration::from_mins(1));
        assert_eq!(defaults.status_refresh, None);
        let set = format!(
            "{GOOD}\n[delivery]\ndead_letter_after_s = 5\nmax_backoff_s = 2\nstatus_refresh_s = 3600\n"
        );
        let c = Config::parse(&set, "x.toml").unwrap().delivery;
        assert_eq!(
            (c.dead_letter_after, c.max_backoff, c.status_refresh),
            (
                Duration::from_secs(5),
                Duration::from_secs(2),
                Some(Duration::from_hours(1))
            )
        );
        let zero = format!("{GOOD}\n[delivery]\nmax_backoff_s = 0\n");
        assert_eq!(
            Config::parse(&zero, "x.toml").unwrap_err().key,
            "delivery.max_backoff_s"
        );
        let zero = format!("{GOOD}\n[delivery]\ndead_letter_after_s = 0\n");
        assert_eq!(
            Config::parse(&zero, "x.toml").unwrap_err().key,
            "delivery.dead_letter_after_s"
        );
        let unknown = format!("{GOOD}\n[delivery]\nretries = 3\n");
        let e = Config::parse(&unknown, "x.toml").unwrap_err();
        assert!(e.problem.contains("retries"), "{e}");
    }

    #[test]
    fn a_good_file_parses() {
        let c = Config::parse(GOOD, "good.toml").unwrap();
        assert_eq!(c.parties.len(), 1);
        assert_eq!(
            c.parties[0].backend.as_deref(),
            Some("http://127.0.0.1:9001/api/oicp")
        );
        assert_eq!(c.peers[0].timeout, Duration::from_secs(10));
        assert_eq!(c.peers[0].id.canonical(), "DEGDF");
        assert!(c.database_path().is_none());
    }

    #[test]
    fn errors_name_file_key_and_problem() {
        let bad_id = GOOD.replace("id = \"DE-GDF\"", "id = \"DE-G\"");
        let e = Config::parse(&bad_id, "x.toml").unwrap_err();
        assert_eq!((e.file.as_str(), e.key.as_str()), ("x.toml", "peer[0].id"));
        let bad_url = GOOD.replace(
            "url = \"http://127.0.0.1:8001/api/oicp\"",
            "url = \"ftp://x\"",
        );
        assert_eq!(
            Config::parse(&bad_url, "x.toml").unwrap_err().key,
            "peer[0].url"
        );
        let unknown = GOOD.replace("[[peer]]", "[[peer]]\ncolour = \"red\"");
        let e = Config::parse(&unknown, "x.toml").unwrap_err();
        assert!(e.problem.contains("colour"), "{e}");
        let bad_role = GOOD.replace("role = \"cpo\"", "role = \"hub\"");
        assert_eq!(
            Config::parse(&bad_role, "x.toml").unwrap_err().key,
            "party[0].role"
        );
        let dup =
            format!("{GOOD}\n[[peer]]\nrole = \"emp\"\nid = \"DE*GDF\"\nurl = \"http://x\"\n");
        assert_eq!(Config::parse(&dup, "x.toml").unwrap_err().key, "peer[1].id");
        let shared = GOOD.replace("inbound_token = \"in\"", "inbound_token = \"b\"");
        assert_eq!(
            Config::parse(&shared, "x.toml").unwrap_err().key,
            "peer[0].inbound_token"
        );
        let listen = GOOD.replace("127.0.0.1:0", "localhost");
        assert_eq!(
            Config::parse(&listen, "x.toml").unwrap_err().key,
            "node.listen"
        );
    }

    #[test]
    fn routes_to_the_hub_need_a_clearing_house() {
        let hub_rule = format!("{GOOD}\n[[route]]\noperation = \"cdr\"\nroute = \"both\"\n");
        let e = Config::parse(&hub_rule, "x.toml").unwrap_err();
        assert_eq!(e.key, "route[0].route");
        assert!(e.problem.contains("[clearing_house]"), "{e}");
        let hub_default = format!("{GOOD}\n[routing]\ndefault = \"clearing-house\"\n");
        assert_eq!(
            Config::parse(&hub_default, "x.toml").unwrap_err().key,
            "routing.default"
        );
        let direct = format!("{GOOD}\n[[route]]\noperation = \"cdr\"\nroute = \"direct\"\n");
        assert!(Config::parse(&direct, "x.toml").is_ok());
        let unknown_op =
            format!("{GOOD}\n[[route]]\noperation = \"PushEverything\"\nroute = \"direct\"\n");
        assert_eq!(
            Config::parse(&unknown_op, "x.toml").unwrap_err().key,
            "route[0].operation"
        );
        let tls_half = GOOD.replace(
            "admin_token = \"adm\"",
            "admin_token = \"adm\"\ntls_cert = \"c.pem\"",
        );
        assert_eq!(
            Config::parse(&tls_half, "x.toml").unwrap_err().key,
            "node.tls_key"
        );
        let missing_cert = GOOD.replace(
            "admin_token = \"adm\"",
            "admin_token = \"adm\"\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"",
        );
        let e = Config::parse(&missing_cert, "x.toml").unwrap_err();
        assert_eq!(e.key, "node.tls_cert");
        assert!(e.problem.contains("/nonexistent/c.pem"), "{e}");
    }

    #[test]
    fn ocpi_peers_parties_and_server_keys() {
        let ocpi_peer = "\n[[peer]]\nrole = \"cpo\"\nid = \"nl*tnm\"\nprotocol = \"OCPI\"\nurl = \"https://p/ocpi/versions/\"\n";
        let c = Config::parse(&format!("{GOOD}{ocpi_peer}"), "x.toml").unwrap();
        let o = c.peers[1].ocpi.as_ref().unwrap();
        assert_eq!(c.peers[1].protocol(), Protocol::Ocpi);
        assert_eq!(c.peers[0].protocol(), Protocol::Oicp);
        assert_eq!(o.party.to_string(), "NL/TNM");
        assert_eq!(o.roles, [OcpiRole::Cpo]);
        assert!(!o.raw_token && o.endpoints.is_empty());
        assert_eq!(c.ocpi, OcpiConfig::default());
        assert_eq!(c.ocpi.page_limit, 100);
        assert_eq!(c.parties[0].ocpi.as_ref().unwrap().to_string(), "DE/GEF");
        // The raw form keeps the OCPI table (stored peers come back the same).
        let back = Peer::from_raw(&c.peers[1].to_raw(), Duration::from_secs(1)).unwrap();
        assert_eq!(back.ocpi, c.peers[1].ocpi);

        let full = format!(
            "{GOOD}{ocpi_peer}[peer.ocpi]\ncountry_code = \"BE\"\nparty_id = \"X1Y\"\nroles = [\"cpo\", \"EMSP\"]\nraw_token = true\nendpoints = [{{ module = \"Locations\", role = \"receiver\", url = \"https://p/l\" }}]\n\n[ocpi]\npublic_url = \"https://b.example/\"\npage_limit = 1000\n"
        );
        let c = Config::parse(&full, "x.toml").unwrap();
        let o = c.peers[1].ocpi.as_ref().unwrap();
        assert_eq!(o.party.to_string(), "BE/X1Y");
        assert_eq!(o.roles, [OcpiRole::Cpo, OcpiRole::Emsp]);
        assert!(o.raw_token);
        assert_eq!(
            o.endpoints,
            [(
                "locations".to_owned(),
                InterfaceRole::Receiver,
                "https://p/l".to_owned()
            )]
        );
        assert_eq!(c.ocpi.public_url.as_deref(), Some("https://b.example"));
        assert_eq!(c.ocpi.command_wait, Duration::from_secs(8));
        let waits = full.replace(
            "page_limit = 1000",
            "page_limit = 1000\ncommand_wait_ms = 250",
        );
        assert_eq!(
            Config::parse(&waits, "x.toml").unwrap().ocpi.command_wait,
            Duration::from_millis(250)
        );

        let key = |text: String| Config::parse(&text, "x.toml").unwrap_err().key;
        let bad = |from: &str, to: &str| key(format!("{GOOD}{ocpi_peer}").replace(from, to));
        assert_eq!(bad("\"OCPI\"", "\"ocpp\""), "peer[1].protocol");
        assert_eq!(
            bad(
                "protocol = \"OCPI\"\n",
                "protocol = \"ocpi\"\ntoken = \"t\"\n"
            ),
            "peer[1].token"
        );
        assert_eq!(bad("nl*tnm", "+31*123"), "peer[1].ocpi.country_code");
        assert_eq!(
            key(full.replace("\"receiver\"", "\"middle\"")),
            "peer[1].ocpi.endpoints[0].role"
        );
        assert_eq!(
            key(full.replace("\"BE\"", "\"BEL\"")),
            "peer[1].ocpi.country_code"
        );
        assert_eq!(
            key(full.replace("\"EMSP\"", "\"BOSS\"")),
            "peer[1].ocpi.roles"
        );
        assert_eq!(
            key(full.replace("page_limit = 1000", "page_limit = 1001")),
            "ocpi.page_limit"
        );
        assert_eq!(
            key(full.replace("page_limit = 1000", "page_limit = 0")),
            "ocpi.page_limit"
        );
        assert_eq!(
            key(full.replace("https://b.example/", "b.example")),
            "ocpi.public_url"
        );
        for wrong in ["0", "60001"] {
            assert_eq!(
                key(full.replace(
                    "page_limit = 1000",
                    &format!("page_limit = 1000\ncommand_wait_ms = {wrong}")
                )),
                "ocpi.command_wait_ms"
            );
        }
        let oicp_with_table = format!("{GOOD}[peer.ocpi]\nraw_token = true\n");
        assert_eq!(key(oicp_with_table), "peer[0].ocpi");
        let party = GOOD.replace(
            "backend_token = \"b\"",
            "backend_token = \"b\"\nparty_id = \"TOOLONG\"",
        );
        assert_eq!(key(party), "party[0].party_id");
    }

    #[test]
    fn the_shipped_configurations_parse() {
        for name in ["cpo.toml", "emp.toml", "ocpi-cpo.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .join(name);
            Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
