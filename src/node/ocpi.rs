//! The node's OCPI 2.2.1 side (ocpi-2.2.1.md §1–§3, §6), served on the same actix app under
//! `/ocpi`, with its admin API under `/admin/ocpi`.
//!
//! * [`transport`]: envelope, `Authorization: Token`, message IDs, routing headers, body parsing.
//! * [`failure`]: the one mapping from failures to HTTP statuses and OCPI status codes.
//! * [`pagination`]: `offset`/`limit`/`date_from`/`date_to`, `Link`, `X-Total-Count`, `X-Limit`.
//! * [`client`]: the outbound client (envelope, headers, pagination following `Link`).
//! * [`versions`]: `GET /ocpi/versions` and `GET /ocpi/2.2.1`, listing [`MODULES`].
//! * [`credentials`]: the credentials module and both handshakes (being registered with a token
//!   A we issued; registering with a partner's token A), update/rotation, unregistering.
//! * [`bridge`]: synchronous OICP operations whose routed partner is an OCPI peer.
//! * [`admin`]: `/admin/ocpi/...` (tokens A, register, connections, update, unregister).
//!
//! # Adding a module
//! Append a [`Module`] to [`MODULES`]: its identifier, interface role, path below
//! `/ocpi/2.2.1/` and a `configure` function that adds its routes to the version scope. The
//! version details list it from there. Handlers authenticate with
//! [`OcpiState::authenticate`] and [`Access::Functional`] (token A is refused with 401, §1.2),
//! read [`transport::Routing`] and resolve the addressed own party with
//! [`OcpiState::addressed`], and answer through [`transport::respond`]. Convention: a SENDER
//! interface lives at `{module}`, a RECEIVER interface at `receiver/{module}`, so a node that
//! hosts a CPO and an EMSP can serve both.
//!
//! # Decisions
//! * **Tokens** are 64 hex characters from two v4 UUIDs (244 random bits).
//! * **Raw tokens** (`Authorization: Token <unencoded>`): the base64-decoded value is tried
//!   first; the value as sent is accepted for a token A (we cannot know the habit of a partner
//!   that is not registered yet), for our own token B while a handshake we started is under way,
//!   and for a registered connection only when its peer has `ocpi.raw_token = true`.
//! * **Which peer a registration is**: the peer the token A was issued for, else the partner's
//!   first CPO role (`OperatorID` `CC*PID`), else its first EMSP role (`ProviderID` `CC-PID`).
//!   Such a peer is added to the registry (and stored) as `protocol = "ocpi"` if it is not
//!   there; an OICP peer with that ID refuses the registration (2001).
//! * **Several parties**: all of the partner's `roles` are kept with the connection; our
//!   credentials list every own party with an OCPI identity (one connection per platform pair,
//!   §6.1).

pub mod admin;
pub mod bridge;
pub mod client;
pub mod cpo;
pub mod credentials;
pub mod emsp;
pub mod failure;
pub mod pagination;
pub mod transport;
pub mod versions;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix_web::web;

use crate::config::{Config, OcpiParty, PartnerId, Role};
use crate::ocpi::v221::types::{BusinessDetails, OcpiString};
use crate::ocpi::v221::versions::{CredentialsRole, InterfaceRole, Role as OcpiRole, V221};
use crate::peer::registry::Registry;
use crate::store::ocpi::{OcpiConnection, TokenA};
use crate::store::{Store, StoreError};
use failure::OcpiError;
use transport::{MessageIds, Presented, Routing};

/// One module interface the node serves.
#[derive(Debug)]
pub struct Module {
    /// The module identifier (`credentials`, `locations`, …).
    pub identifier: &'static str,
    /// `SENDER` or `RECEIVER`.
    pub role: InterfaceRole,
    /// Its path below `/ocpi/2.2.1/`.
    pub path: &'static str,
    /// Adds its routes to the `/ocpi/2.2.1` scope.
    pub configure: fn(&mut web::ServiceConfig),
}

/// Every module interface the node serves, listed in the version details in this order.
pub const MODULES: &[Module] = &[
    Module {
        identifier: "credentials",
        role: InterfaceRole::Sender,
        path: "credentials",
        configure: credentials::configure,
    },
    Module {
        identifier: "locations",
        role: InterfaceRole::Sender,
        path: "locations",
        configure: cpo::locations::configure,
    },
    Module {
        identifier: "tokens",
        role: InterfaceRole::Receiver,
        path: cpo::tokens::PATH,
        configure: cpo::tokens::configure,
    },
    Module {
        identifier: "sessions",
        role: InterfaceRole::Sender,
        path: cpo::sessions::PATH,
        configure: cpo::sessions::configure,
    },
    Module {
        identifier: "cdrs",
        role: InterfaceRole::Sender,
        path: cpo::cdrs::PATH,
        configure: cpo::cdrs::configure,
    },
    Module {
        identifier: "tariffs",
        role: InterfaceRole::Sender,
        path: cpo::tariffs::PATH,
        configure: cpo::tariffs::configure,
    },
    Module {
        identifier: "locations",
        role: InterfaceRole::Receiver,
        path: "receiver/locations",
        configure: emsp::locations::configure,
    },
    Module {
        identifier: "sessions",
        role: InterfaceRole::Receiver,
        path: "receiver/sessions",
        configure: emsp::sessions::configure,
    },
    Module {
        identifier: "cdrs",
        role: InterfaceRole::Receiver,
        path: "receiver/cdrs",
        configure: emsp::cdrs::configure,
    },
    Module {
        identifier: "tokens",
        role: InterfaceRole::Sender,
        path: "tokens",
        configure: emsp::tokens::configure,
    },
    Module {
        identifier: "commands",
        role: InterfaceRole::Receiver,
        path: cpo::commands::PATH,
        configure: cpo::commands::configure,
    },
    Module {
        identifier: "commands",
        role: InterfaceRole::Sender,
        path: emsp::commands::PATH,
        configure: emsp::commands::configure,
    },
];

/// An own party as OCPI sees it.
#[derive(Debug, Clone)]
pub struct OwnParty {
    /// Its OICP ID.
    pub id: PartnerId,
    /// `country_code`/`party_id`.
    pub party: OcpiParty,
    /// `CPO` or `EMSP`.
    pub role: OcpiRole,
    /// Business details name.
    pub name: String,
}

/// Who presented a token.
#[derive(Debug, Clone)]
pub enum Authed {
    /// A partner registering with a token A we issued.
    TokenA(TokenA),
    /// A partner calling us back with the token we offered in a handshake we started (the
    /// token, and the peer when known).
    Pending(String, Option<PartnerId>),
    /// A registered partner.
    Connection(Arc<OcpiConnection>),
}

/// Which tokens a handler accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `versions` and `credentials`: every token we know.
    Configuration,
    /// Functional modules: only registered connections.
    Functional,
}

#[derive(Debug, Default)]
struct Inner {
    by_peer: HashMap<PartnerId, Arc<OcpiConnection>>,
    by_token: HashMap<String, PartnerId>,
    tokens_a: HashMap<String, TokenA>,
    pending: HashMap<String, Option<PartnerId>>,
}

/// The OCPI state of the node: its public URLs, own parties, and a copy of the stored
/// credentials (written to the store first, then here).
#[derive(Debug)]
pub struct OcpiState {
    base_url: String,
    page_limit: u32,
    command_wait: std::time::Duration,
    own: Vec<OwnParty>,
    inner: RwLock<Inner>,
    /// Commands we sent as eMSP platform whose `CommandResult` is awaited.
    pub commands: emsp::commands::Waiting,
}

/// A fresh credentials token.
pub fn new_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl OcpiState {
    /// Loads the stored tokens and connections; `port` is the bound port (for the default
    /// public URL).
    pub async fn load(config: &Config, store: &Store, port: u16) -> Result<Self, StoreError> {
        let base_url = config.ocpi.public_url.clone().unwrap_or_else(|| {
            let scheme = if config.node.tls.is_some() {
                "https"
            } else {
                "http"
            };
            let ip = config.node.listen.ip();
            let host = if ip.is_unspecified() {
                "127.0.0.1".to_owned()
            } else if ip.is_ipv6() {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            format!("{scheme}://{host}:{port}")
        });
        let own = config
            .parties
            .iter()
            .filter_map(|p| {
                let party = p.ocpi.clone()?;
                Some(OwnParty {
                    id: p.id.clone(),
                    party,
                    role: match p.id.role() {
                        Role::Cpo => OcpiRole::Cpo,
                        Role::Emp => OcpiRole::Emsp,
                    },
                    name: p.name.clone().unwrap_or_else(|| p.id.to_string()),
                })
            })
            .collect();
        let mut inner = Inner::default();
        for t in store.ocpi_tokens_a().await? {
            inner.tokens_a.insert(t.token.clone(), t);
        }
        for c in store.ocpi_connections().await? {
            let peer = c.peer()?;
            inner.by_token.insert(c.token_in.clone(), peer.clone());
            inner.by_peer.insert(peer, Arc::new(c));
        }
        Ok(Self {
            base_url,
            page_limit: config.ocpi.page_limit,
            command_wait: config.ocpi.command_wait,
            own,
            inner: RwLock::new(inner),
            commands: emsp::commands::Waiting::default(),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The public base URL (without `/ocpi`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Our versions URL.
    pub fn versions_url(&self) -> String {
        format!("{}/ocpi/versions", self.base_url)
    }

    /// Our 2.2.1 version details URL.
    pub fn details_url(&self) -> String {
        format!("{}/ocpi/{V221}", self.base_url)
    }

    /// The public URL of a path below `/ocpi/2.2.1/`.
    pub fn module_url(&self, path: &str) -> String {
        format!("{}/{path}", self.details_url())
    }

    /// The server's page cap.
    pub fn page_limit(&self) -> u32 {
        self.page_limit
    }

    /// How long an OICP remote call waits for an OCPI `CommandResult` (`[ocpi]
    /// command_wait_ms`).
    pub fn command_wait(&self) -> std::time::Duration {
        self.command_wait
    }

    /// Own parties with an OCPI identity.
    pub fn own_parties(&self) -> &[OwnParty] {
        &self.own
    }

    /// Our credentials `roles`.
    pub fn credentials_roles(&self) -> Vec<CredentialsRole> {
        self.own
            .iter()
            .filter_map(|p| {
                let name: String = p.name.chars().take(100).collect();
                Some(CredentialsRole {
                    role: p.role.clone(),
                    business_details: BusinessDetails {
                        name: OcpiString::parse(&name).ok()?,
                        website: None,
                        logo: None,
                        extra: crate::oicp::v23::wire::Extra::new(),
                    },
                    party_id: p.party.party_id.clone(),
                    country_code: p.party.country_code.clone(),
                    extra: crate::oicp::v23::wire::Extra::new(),
                })
            })
            .collect()
    }

    /// The own party a request addresses: the one `OCPI-to-*` names (HTTP 404 with 2001 if we
    /// do not host it in `role`), else the only own party of `role` (2001 if there are several
    /// or none, since the request does not say which).
    pub fn addressed(&self, routing: &Routing, role: &OcpiRole) -> Result<&OwnParty, OcpiError> {
        let mut of_role = self.own.iter().filter(|p| p.role == *role);
        match &routing.to {
            Some(to) => of_role.find(|p| p.party == *to).ok_or_else(|| {
                OcpiError::UnknownParty(format!("this platform hosts no {role} party {to}"))
            }),
            None => match (of_role.next(), of_role.next()) {
                (Some(p), None) => Ok(p),
                (None, _) => Err(OcpiError::UnknownParty(format!(
                    "this platform hosts no {role} party"
                ))),
                (Some(_), Some(_)) => Err(OcpiError::InvalidParameter(format!(
                    "this platform hosts several {role} parties: set OCPI-to-country-code and OCPI-to-party-id"
                ))),
            },
        }
    }

    /// Who presented `presented`, if anyone; `raw_ok` says whether a registered peer accepts
    /// unencoded tokens.
    pub fn identify(
        &self,
        presented: &Presented,
        raw_ok: impl Fn(&PartnerId) -> bool,
    ) -> Option<Authed> {
        let inner = self.read();
        let connection = |token: &str| {
            inner
                .by_token
                .get(token)
                .and_then(|id| inner.by_peer.get(id))
                .cloned()
        };
        if let Some(c) = presented.decoded.as_deref().and_then(connection) {
            return Some(Authed::Connection(c));
        }
        if let Some(c) = connection(&presented.raw) {
            let id = c.peer().ok()?;
            return raw_ok(&id).then_some(Authed::Connection(c));
        }
        for candidate in presented.decoded.iter().chain([&presented.raw]) {
            if let Some(t) = inner.tokens_a.get(candidate.as_str()) {
                return Some(Authed::TokenA(t.clone()));
            }
            if let Some(id) = inner.pending.get(candidate.as_str()) {
                return Some(Authed::Pending(candidate.clone(), id.clone()));
            }
        }
        None
    }

    /// Authenticates a request (HTTP 401 for a missing or unknown token, or a token A or
    /// handshake token on a functional module).
    pub fn authenticate(
        &self,
        req: &actix_web::HttpRequest,
        registry: &Registry,
        access: Access,
    ) -> Result<Authed, OcpiError> {
        let presented = transport::presented(req.headers()).ok_or_else(|| {
            OcpiError::Unauthorized("missing Authorization: Token header".to_owned())
        })?;
        let raw_ok = |id: &PartnerId| {
            registry
                .peer(id)
                .and_then(|p| p.ocpi.as_ref().map(|o| o.raw_token))
                .unwrap_or(false)
        };
        let authed = self
            .identify(&presented, raw_ok)
            .ok_or_else(|| OcpiError::Unauthorized("unknown credentials token".to_owned()))?;
        match (access, &authed) {
            (Access::Functional, Authed::TokenA(_) | Authed::Pending(..)) => Err(
                OcpiError::Unauthorized("this token only opens versions and credentials".into()),
            ),
            _ => Ok(authed),
        }
    }

    /// The connection with a peer.
    pub fn connection(&self, peer: &PartnerId) -> Option<Arc<OcpiConnection>> {
        self.read().by_peer.get(peer).cloned()
    }

    /// Every connection, by peer.
    pub fn connections(&self) -> Vec<Arc<OcpiConnection>> {
        let mut all: Vec<_> = self.read().by_peer.values().cloned().collect();
        all.sort_by(|a, b| (a.peer_role, &a.peer_id).cmp(&(b.peer_role, &b.peer_id)));
        all
    }

    /// Issues and stores a token A.
    pub async fn issue_token_a(
        &self,
        store: &Store,
        peer: Option<PartnerId>,
    ) -> Result<TokenA, StoreError> {
        let token = TokenA {
            token: new_token(),
            peer,
            created_at: chrono::Utc::now().timestamp_millis(),
        };
        store.ocpi_add_token_a(token.clone()).await?;
        self.write()
            .tokens_a
            .insert(token.token.clone(), token.clone());
        Ok(token)
    }

    /// Stores a connection (replacing the peer's), killing `used_token_a`.
    pub async fn save_connection(
        &self,
        store: &Store,
        connection: OcpiConnection,
        used_token_a: Option<&str>,
    ) -> Result<Arc<OcpiConnection>, StoreError> {
        let peer = connection.peer()?;
        store
            .ocpi_save_connection(connection.clone(), used_token_a.map(str::to_owned))
            .await?;
        let connection = Arc::new(connection);
        let mut inner = self.write();
        if let Some(t) = used_token_a {
            inner.tokens_a.remove(t);
        }
        if let Some(old) = inner.by_peer.insert(peer.clone(), Arc::clone(&connection)) {
            inner.by_token.remove(&old.token_in);
        }
        inner.by_token.insert(connection.token_in.clone(), peer);
        Ok(connection)
    }

    /// Forgets a peer's connection; `true` if there was one.
    pub async fn forget(&self, store: &Store, peer: &PartnerId) -> Result<bool, StoreError> {
        let stored = store.ocpi_delete_connection(peer).await?;
        let mut inner = self.write();
        if let Some(old) = inner.by_peer.remove(peer) {
            inner.by_token.remove(&old.token_in);
        }
        Ok(stored)
    }

    /// Accepts `token` on versions and credentials while a handshake we started is under way.
    fn begin_pending(&self, token: &str, peer: Option<PartnerId>) {
        self.write().pending.insert(token.to_owned(), peer);
    }

    fn end_pending(&self, token: &str) {
        self.write().pending.remove(token);
    }
}

/// How functional modules reach a connected partner.
impl OcpiState {
    /// The URL of a partner's interface: its version details first, then the `[peer.ocpi]
    /// endpoints` overrides of its peer entry.
    pub fn partner_endpoint(
        registry: &Registry,
        connection: &OcpiConnection,
        module: &str,
        role: &InterfaceRole,
    ) -> Option<String> {
        let peer = connection.peer().ok().and_then(|id| registry.peer(&id));
        credentials::endpoint_url(
            &connection.endpoints,
            peer.as_ref().and_then(|p| p.ocpi.as_ref()),
            module,
            role,
        )
    }

    /// A call to a connected partner on a functional module: its token (unencoded when its
    /// peer says so), the peer's timeout (else `default_timeout`), routing headers from our
    /// party `from` to its party `to`, and the correlation ID to keep, if any.
    pub fn partner_call<'a>(
        registry: &Registry,
        connection: &'a OcpiConnection,
        from: &OwnParty,
        to: &CredentialsRole,
        correlation_id: Option<&'a str>,
        default_timeout: std::time::Duration,
    ) -> client::Call<'a> {
        let peer = connection.peer().ok().and_then(|id| registry.peer(&id));
        client::Call {
            token: &connection.token_out,
            raw_token: peer
                .as_ref()
                .and_then(|p| p.ocpi.as_ref())
                .is_some_and(|o| o.raw_token),
            correlation_id,
            routing: Routing {
                from: Some(from.party.clone()),
                to: Some(party_of(to)),
            },
            timeout: peer.map_or(default_timeout, |p| p.timeout),
        }
    }
}

/// The party a partner's credentials role names, as an OICP ID: `CC*PID` for a CPO, `CC-PID`
/// for an EMSP; `None` for other roles.
pub fn peer_id_of(role: &CredentialsRole) -> Option<PartnerId> {
    let (cc, pid) = (
        role.country_code.as_str().to_ascii_uppercase(),
        role.party_id.as_str().to_ascii_uppercase(),
    );
    match role.role {
        OcpiRole::Cpo => PartnerId::parse(Role::Cpo, &format!("{cc}*{pid}")).ok(),
        OcpiRole::Emsp => PartnerId::parse(Role::Emp, &format!("{cc}-{pid}")).ok(),
        _ => None,
    }
}

/// The peer of the OCPI platform that hosts the CPO `id` under another role than the one its
/// peer is keyed by (a platform with several parties is one connection and one peer, keyed
/// by its first CPO role): OICP remote calls for `id`'s EVSEs go to that peer. Only CPOs:
/// what OICP sends to an EMP goes through the outbox, whose OCPI form is the Location push.
pub fn platform_peer(
    state: &crate::node::NodeState,
    id: &PartnerId,
) -> Option<Arc<crate::config::Peer>> {
    if id.role() != Role::Cpo {
        return None;
    }
    state
        .ocpi
        .connections()
        .iter()
        .find(|c| c.roles.iter().any(|r| peer_id_of(r).as_ref() == Some(id)))
        .and_then(|c| c.peer().ok())
        .and_then(|peer| state.registry.peer(&peer))
}

/// The OCPI party of a credentials role.
pub fn party_of(role: &CredentialsRole) -> OcpiParty {
    OcpiParty {
        country_code: role.country_code.clone(),
        party_id: role.party_id.clone(),
    }
}

async fn not_found() -> actix_web::HttpResponse {
    transport::failure_response(&OcpiError::NotFound("no such OCPI URL".to_owned()))
}

/// Mounts `/ocpi` (versions, version details, every module of [`MODULES`]) and `/admin/ocpi`.
/// Register it before the `/admin` scope so that `/admin/ocpi` reaches it.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(client::OcpiClient::new()));
    let mut version = web::scope(&format!("/{V221}"))
        .service(web::resource(["", "/"]).route(web::get().to(versions::details)))
        .default_service(web::to(not_found));
    for module in MODULES {
        version = version.configure(module.configure);
    }
    cfg.service(
        web::scope("/ocpi")
            .wrap_fn(|req, srv| {
                use actix_web::HttpMessage as _;
                use actix_web::dev::Service as _;
                let ids = MessageIds::from_headers(req.headers());
                req.extensions_mut().insert(ids.clone());
                let span = tracing::info_span!(
                    "ocpi",
                    method = %req.method(),
                    path = %req.path(),
                    request_id = %ids.request_id,
                    correlation_id = %ids.correlation_id,
                );
                let response = {
                    let _entered = span.enter();
                    srv.call(req)
                };
                async move {
                    let mut response = response.await?;
                    let headers = response.headers_mut();
                    for (name, value) in [
                        (transport::REQUEST_ID, ids.request_id),
                        (transport::CORRELATION_ID, ids.correlation_id),
                    ] {
                        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&value) {
                            headers
                                .insert(actix_web::http::header::HeaderName::from_static(name), v);
                        }
                    }
                    Ok(response)
                }
            })
            .service(
                web::resource(["/versions", "/versions/"]).route(web::get().to(versions::list)),
            )
            .service(version)
            .default_service(web::to(not_found)),
    );
    cfg.service(admin::scope());
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[node]
listen = "127.0.0.1:0"
database = ":memory:"

[ocpi]
public_url = "https://bridge.example/"
page_limit = 50

[[party]]
role = "cpo"
id = "DE*GEF"
name = "GEF"

[[party]]
role = "cpo"
id = "DE*GEG"

[[party]]
role = "emp"
id = "DE-GDF"
country_code = "NL"
party_id = "GD1"

[[party]]
role = "cpo"
id = "+49*810"
"#;

    /// The eMSP peer NL-ABC as registered by the peer, answering with token "in-token".
    fn emp_connection() -> OcpiConnection {
        OcpiConnection {
            peer_role: Role::Emp,
            peer_id: "NL-ABC".into(),
            versions_url: "http://x/ocpi/versions".into(),
            version: V221.into(),
            endpoints: Vec::new(),
            roles: Vec::new(),
            token_out: "out".into(),
            token_in: "in-token".into(),
            registered_by_us: false,
            updated_at: 0,
        }
    }

    async fn state() -> (OcpiState, Store, Registry) {
        let config = Config::parse(CONFIG, "t.toml").unwrap();
        let store = Store::open_in_memory().await.unwrap();
        let state = OcpiState::load(&config, &store, 9).await.unwrap();
        let registry = Registry::new(config.parties.clone(), std::time::Duration::from_secs(1));
        (state, store, registry)
    }

    fn party(cc: &str, pid: &str) -> OcpiParty {
        OcpiParty {
            country_code: crate::ocpi::v221::ids::CountryCode::parse(cc).unwrap(),
            party_id: crate::ocpi::v221::ids::PartyId::parse(pid).unwrap(),
        }
    }

    #[tokio::test]
    async fn own_parties_urls_and_the_addressed_party() {
        let (s, _, _) = state().await;
        assert_eq!(s.versions_url(), "https://bridge.example/ocpi/versions");
        assert_eq!(
            s.module_url("credentials"),
            "https://bridge.example/ocpi/2.2.1/credentials"
        );
        assert_eq!(s.page_limit(), 50);
        // The +49 operator has no OCPI identity; the configured one wins over the derived.
        let roles: Vec<String> = s
            .credentials_roles()
            .iter()
            .map(|r| {
                format!(
                    "{} {}/{} {}",
                    r.role,
                    r.country_code.as_str(),
                    r.party_id.as_str(),
                    r.business_details.name.as_str()
                )
            })
            .collect();
        assert_eq!(
            roles,
            ["CPO DE/GEF GEF", "CPO DE/GEG DE*GEG", "EMSP NL/GD1 DE-GDF"]
        );

        let to = |p: Option<OcpiParty>| Routing { to: p, from: None };
        let gef = s
            .addressed(&to(Some(party("de", "gef"))), &OcpiRole::Cpo)
            .unwrap();
        assert_eq!(gef.id.as_str(), "DE*GEF");
        // Two CPOs and no OCPI-to-*: which one is not said (2001).
        let e = s.addressed(&to(None), &OcpiRole::Cpo).unwrap_err();
        assert_eq!((e.http_status(), e.status_code()), (200, 2001));
        // One EMSP: it is the one.
        assert_eq!(
            s.addressed(&to(None), &OcpiRole::Emsp).unwrap().id.as_str(),
            "DE-GDF"
        );
        // A party we do not host, or not in that role: 404 with 2001.
        for (p, role) in [
            (party("DE", "XXX"), OcpiRole::Cpo),
            (party("NL", "GD1"), OcpiRole::Cpo),
        ] {
            let e = s.addressed(&to(Some(p)), &role).unwrap_err();
            assert_eq!((e.http_status(), e.status_code()), (404, 2001));
        }
        assert!(s.addressed(&to(None), &OcpiRole::Hub).is_err());
    }

    #[tokio::test]
    async fn token_a_opens_only_configuration_modules() {
        let (s, store, registry) = state().await;
        let a = s.issue_token_a(&store, None).await.unwrap();
        let request = |t: &str| {
            actix_web::test::TestRequest::default()
                .insert_header(("Authorization", transport::authorization(t, false)))
                .to_http_request()
        };
        assert!(matches!(
            s.authenticate(&request(&a.token), &registry, Access::Configuration),
            Ok(Authed::TokenA(_))
        ));
        let refused = s
            .authenticate(&request(&a.token), &registry, Access::Functional)
            .unwrap_err();
        assert_eq!(refused.http_status(), 401);
        let connection = emp_connection();
        s.save_connection(&store, connection, Some(&a.token))
            .await
            .unwrap();
        assert!(matches!(
            s.authenticate(&request("in-token"), &registry, Access::Functional),
            Ok(Authed::Connection(_))
        ));
        // The token A died with the registration it opened, here and in the store.
        assert!(
            s.authenticate(&request(&a.token), &registry, Access::Configuration)
                .is_err()
        );
        assert!(store.ocpi_tokens_a().await.unwrap().is_empty());
        // A restart reads the same state back.
        let config = Config::parse(CONFIG, "t.toml").unwrap();
        let again = OcpiState::load(&config, &store, 9).await.unwrap();
        assert_eq!(again.connections().len(), 1);
        assert!(
            again
                .authenticate(&request("in-token"), &registry, Access::Functional)
                .is_ok()
        );
        let peer = PartnerId::parse(Role::Emp, "NL*ABC").unwrap();
        assert!(again.forget(&store, &peer).await.unwrap());
        assert!(
            again
                .authenticate(&request("in-token"), &registry, Access::Functional)
                .is_err()
        );
    }

    #[test]
    fn partner_roles_name_oicp_ids() {
        let role: CredentialsRole = crate::ocpi::v221::parse_value(&serde_json::json!({
            "role": "EMSP", "business_details": {"name": "X"}, "party_id": "gdf", "country_code": "de"
        }))
        .unwrap();
        assert_eq!(peer_id_of(&role).unwrap().as_str(), "DE-GDF");
        let hub: CredentialsRole = crate::ocpi::v221::parse_value(&serde_json::json!({
            "role": "HUB", "business_details": {"name": "X"}, "party_id": "HUB", "country_code": "DE"
        }))
        .unwrap();
        assert!(peer_id_of(&hub).is_none());
        assert_eq!(new_token().len(), 64);
        assert_ne!(new_token(), new_token());
    }

    #[tokio::test]
    async fn functional_calls_use_the_partner_token_overrides_and_routing() {
        let (s, store, registry) = state().await;
        let connection = emp_connection();
        s.save_connection(&store, connection, None).await.unwrap();
        // Functional calls use its token, its overrides and routing headers.
        let peer_entry = crate::config::Peer::from_raw(
            &crate::config::RawPeer {
                role: "emp".into(),
                id: "NL-ABC".into(),
                url: "http://x/ocpi/versions".into(),
                timeout_ms: Some(1234),
                token: None,
                inbound_token: None,
                protocol: Some("ocpi".into()),
                ocpi: Some(crate::config::RawOcpiPeer {
                    raw_token: true,
                    endpoints: vec![crate::config::RawEndpoint {
                        module: "tokens".into(),
                        role: "SENDER".into(),
                        url: "http://x/tokens".into(),
                    }],
                    ..Default::default()
                }),
            },
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        registry.upsert(peer_entry).unwrap();
        let registry = &registry;
        let c = s.connections()[0].clone();
        assert_eq!(
            OcpiState::partner_endpoint(registry, &c, "tokens", &InterfaceRole::Sender).as_deref(),
            Some("http://x/tokens")
        );
        assert!(
            OcpiState::partner_endpoint(registry, &c, "tokens", &InterfaceRole::Receiver).is_none()
        );
        let to: CredentialsRole = crate::ocpi::v221::parse_value(&serde_json::json!({
            "role": "EMSP", "business_details": {"name": "X"}, "party_id": "ABC", "country_code": "NL"
        }))
        .unwrap();
        let call = OcpiState::partner_call(
            registry,
            &c,
            &s.own_parties()[0],
            &to,
            Some("corr"),
            std::time::Duration::from_secs(9),
        );
        assert_eq!((call.token, call.raw_token), ("out", true));
        assert_eq!(call.timeout, std::time::Duration::from_millis(1234));
        assert_eq!(
            call.routing.headers(),
            [
                (transport::FROM_COUNTRY, "DE".to_owned()),
                (transport::FROM_PARTY, "GEF".to_owned()),
                (transport::TO_COUNTRY, "NL".to_owned()),
                (transport::TO_PARTY, "ABC".to_owned()),
            ]
        );
    }
}
