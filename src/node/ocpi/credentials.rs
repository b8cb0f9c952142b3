//! The credentials module (ocpi-2.2.1.md §3.2), in the spec's terms:
//!
//! * **Being registered** (we are the credentials *Receiver*): the admin API issued a
//!   `CREDENTIALS_TOKEN_A`; the partner GETs our versions and details with it and POSTs its
//!   credentials holding `CREDENTIALS_TOKEN_B`. Before answering, we GET its versions and 2.2.1
//!   details with token B (3001 if we cannot, 3002 without 2.2.1, 3003 without a credentials
//!   endpoint), store token B as the token we present and answer with a fresh
//!   `CREDENTIALS_TOKEN_C` that it presents from now on. Token A is dead after that.
//! * **Registering** ([`register`], we are the *Sender*): with the partner's token A we GET its
//!   versions and details, POST our credentials with a fresh token B (accepted on our versions
//!   and credentials while the POST runs, since the partner calls back with it) and keep the
//!   token C it answers with.
//! * **Update** (`PUT`, [`update`] for our side): the same exchange on an existing registration;
//!   both sides issue new tokens, which is how tokens are rotated.
//! * **Unregister** (`DELETE`, [`unregister`] for our side): both sides forget the
//!   registration.
//!
//! `POST` on a registered connection and `PUT`/`DELETE` with a token A answer HTTP 405 (§2).
//! `PATCH` answers 405 too. `GET` returns our credentials with the token the caller presented.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use awc::http::Method;

use super::client::{Call, ClientError, OcpiClient};
use super::failure::OcpiError;
use super::transport::{Reply, Routing, failure_response, parse_body, respond};
use super::{Access, Authed, OcpiState, new_token, party_of, peer_id_of};
use crate::config::{OcpiPeer, PartnerId, Peer};
use crate::node::NodeState;
use crate::ocpi::v221::types::Url;
use crate::ocpi::v221::versions::{
    Credentials, Endpoint, InterfaceRole, V221, VersionDetails, Versions,
};
use crate::store::StoreError;
use crate::store::ocpi::OcpiConnection;

/// Adds `credentials` to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/credentials", "/credentials/"])
            .route(web::get().to(get))
            .route(web::post().to(change))
            .route(web::put().to(change))
            .route(web::delete().to(change))
            .default_service(web::to(|| async {
                failure_response(&OcpiError::MethodNotAllowed(
                    "credentials take GET, POST, PUT and DELETE".to_owned(),
                ))
            })),
    );
}

/// Our credentials with `token` (the one the partner uses on us).
fn our_credentials(ocpi: &OcpiState, token: &str) -> Result<Credentials, OcpiError> {
    let roles = ocpi.credentials_roles();
    if roles.is_empty() {
        return Err(OcpiError::Internal(
            "no own party has an OCPI identity (country_code/party_id)".to_owned(),
        ));
    }
    Ok(Credentials {
        token: crate::ocpi::v221::types::OcpiString::parse(token)
            .map_err(|e| OcpiError::Internal(format!("token: {e}")))?,
        url: Url::parse(&ocpi.versions_url())
            .map_err(|e| OcpiError::Internal(format!("versions URL: {e}")))?,
        roles,
        extra: crate::oicp::v23::wire::Extra::new(),
    })
}

async fn get(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    let result = state
        .ocpi
        .authenticate(&req, &state.registry, Access::Configuration)
        .and_then(|authed| {
            let token = match &authed {
                Authed::TokenA(t) => t.token.clone(),
                Authed::Pending(t, _) => t.clone(),
                Authed::Connection(c) => c.token_in.clone(),
            };
            our_credentials(&state.ocpi, &token).map(|c| Reply::ok(&c))
        });
    respond(result)
}

/// `POST` (register), `PUT` (update) and `DELETE` (unregister), by registration state.
async fn change(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
    client: web::Data<OcpiClient>,
) -> HttpResponse {
    let result = async {
        let authed = state
            .ocpi
            .authenticate(&req, &state.registry, Access::Configuration)?;
        match (req.method().clone(), authed) {
            (Method::POST, Authed::TokenA(a)) => {
                accept(&state, &client, &body, None, Some(a.token), a.peer).await
            }
            (Method::POST, Authed::Connection(_)) => Err(OcpiError::MethodNotAllowed(
                "already registered: use PUT to update, DELETE to unregister".to_owned(),
            )),
            (Method::DELETE, Authed::Connection(c)) => {
                let peer = c.peer()?;
                state.ocpi.forget(&state.store, &peer).await?;
                tracing::info!(peer = %peer, "OCPI partner unregistered");
                Ok(Reply::empty())
            }
            (_, Authed::Connection(c)) => {
                let peer = c.peer()?;
                accept(&state, &client, &body, Some(&c), None, Some(peer)).await
            }
            (_, Authed::TokenA(_)) => Err(OcpiError::MethodNotAllowed(
                "not registered: use POST to register".to_owned(),
            )),
            (_, Authed::Pending(..)) => Err(OcpiError::Unauthorized(
                "a handshake token only reads versions and credentials".to_owned(),
            )),
        }
    };
    respond(result.await)
}

/// How to reach a peer: its OCPI settings (raw token, overrides) and timeout.
fn settings(state: &NodeState, peer: Option<&PartnerId>) -> (Option<OcpiPeer>, Duration) {
    let configured = peer.and_then(|id| state.registry.peer(id));
    let ocpi = configured.as_ref().and_then(|p| p.ocpi.clone());
    let timeout = configured.map_or(state.config.node.request_timeout, |p| p.timeout);
    (ocpi, timeout)
}

/// A peer the registry knows as OICP, or an own party, cannot become an OCPI connection.
fn refuse_oicp_peer(state: &NodeState, id: &PartnerId) -> Result<(), OcpiError> {
    if state.registry.party(id).is_some() {
        return Err(OcpiError::InvalidParameter(format!(
            "{id} is a party of this platform, not a partner"
        )));
    }
    match state.registry.peer(id) {
        Some(p) if p.ocpi.is_none() => Err(OcpiError::InvalidParameter(format!(
            "{id} is an OICP peer of this platform"
        ))),
        _ => Ok(()),
    }
}

/// The URL of a partner's interface: its version details first, then the configured overrides.
pub fn endpoint_url(
    endpoints: &[Endpoint],
    settings: Option<&OcpiPeer>,
    module: &str,
    role: &InterfaceRole,
) -> Option<String> {
    let details = VersionDetails {
        version: crate::ocpi::v221::types::OcpiString::parse(V221).ok()?,
        endpoints: Some(endpoints.to_vec()),
        extra: crate::oicp::v23::wire::Extra::new(),
    };
    details
        .endpoint(module, role)
        .map(str::to_owned)
        .or_else(|| {
            settings?
                .endpoints
                .iter()
                .find(|(m, r, _)| m == module && (module == "credentials" || r == role))
                .map(|(_, _, url)| url.clone())
        })
}

/// A call on a configuration module (no routing headers, §1.4) with `token`.
fn configuration_call<'a>(
    token: &'a str,
    settings: Option<&OcpiPeer>,
    timeout: Duration,
) -> Call<'a> {
    Call {
        token,
        raw_token: settings.is_some_and(|s| s.raw_token),
        correlation_id: None,
        routing: Routing::default(),
        timeout,
    }
}

/// The connection a credentials exchange with the partner of `theirs` leaves.
fn connection(
    id: &PartnerId,
    theirs: &Credentials,
    endpoints: Vec<Endpoint>,
    token_in: String,
    registered_by_us: bool,
) -> OcpiConnection {
    OcpiConnection {
        peer_role: id.role(),
        peer_id: id.as_str().to_owned(),
        versions_url: theirs.url.as_str().to_owned(),
        version: V221.to_owned(),
        endpoints,
        roles: theirs.roles.clone(),
        token_out: theirs.token.as_str().to_owned(),
        token_in,
        registered_by_us,
        updated_at: chrono::Utc::now().timestamp_millis(),
    }
}

/// What the handshake learnt of the partner.
struct PartnerApi {
    endpoints: Vec<Endpoint>,
    credentials_url: String,
}

fn unusable(e: &ClientError) -> OcpiError {
    OcpiError::PartnerUnusable(format!("cannot use the partner's API: {e}"))
}

/// GETs the partner's versions and 2.2.1 details with `token` (3001 / 3002 / 3003).
async fn fetch_partner(
    client: &OcpiClient,
    versions_url: &str,
    call: &Call<'_>,
    settings: Option<&OcpiPeer>,
) -> Result<PartnerApi, OcpiError> {
    let versions: Versions = client
        .get(versions_url, call)
        .await
        .and_then(|a| a.data(versions_url))
        .map_err(|e| unusable(&e))?;
    let details_url = versions.url_of(V221).ok_or_else(|| {
        let offered: Vec<&str> = versions.0.iter().map(|v| v.version.as_str()).collect();
        OcpiError::UnsupportedVersion(format!(
            "the partner offers {offered:?}, this platform speaks {V221}"
        ))
    })?;
    let details: VersionDetails = client
        .get(details_url, call)
        .await
        .and_then(|a| a.data(details_url))
        .map_err(|e| unusable(&e))?;
    let endpoints = details.endpoints.unwrap_or_default();
    let credentials_url = endpoint_url(&endpoints, settings, "credentials", &InterfaceRole::Sender)
        .ok_or_else(|| {
            OcpiError::MissingEndpoints(
                "the partner's 2.2.1 details list no credentials endpoint".to_owned(),
            )
        })?;
    Ok(PartnerApi {
        endpoints,
        credentials_url,
    })
}

/// The peer a partner's credentials name: `hint`, else its first CPO, else its first EMSP.
fn peer_of(creds: &Credentials, hint: Option<PartnerId>) -> Result<PartnerId, OcpiError> {
    if let Some(id) = hint {
        return Ok(id);
    }
    let cpo = creds
        .roles
        .iter()
        .filter(|r| r.role == crate::ocpi::v221::versions::Role::Cpo);
    let emsp = creds
        .roles
        .iter()
        .filter(|r| r.role == crate::ocpi::v221::versions::Role::Emsp);
    cpo.chain(emsp).find_map(peer_id_of).ok_or_else(|| {
        OcpiError::InvalidParameter("roles: no CPO or EMSP party to connect with".to_owned())
    })
}

/// Adds the peer to the registry (and the store) as an OCPI peer if it is not there yet.
async fn ensure_peer(
    state: &NodeState,
    id: &PartnerId,
    creds: &Credentials,
) -> Result<(), OcpiError> {
    if state.registry.peer(id).is_some() {
        return Ok(());
    }
    let party = creds
        .roles
        .iter()
        .find(|r| peer_id_of(r).as_ref() == Some(id))
        .or_else(|| creds.roles.first())
        .map(party_of)
        .ok_or_else(|| OcpiError::InvalidParameter("roles: empty".to_owned()))?;
    let roles = creds
        .roles
        .iter()
        .filter(|r| party_of(r) == party)
        .map(|r| r.role.clone())
        .collect();
    let peer = Peer {
        id: id.clone(),
        url: creds.url.as_str().to_owned(),
        timeout: state.config.node.request_timeout,
        token: None,
        inbound_token: None,
        ocpi: Some(OcpiPeer {
            party,
            roles,
            raw_token: false,
            endpoints: Vec::new(),
            page_by_offset: false,
            omit_energy_mix: false,
        }),
    };
    state
        .registry
        .upsert(peer.clone())
        .map_err(|e| OcpiError::InvalidParameter(e.to_string()))?;
    state.store.upsert_peer(&peer.to_raw()).await?;
    tracing::info!(peer = %id, "OCPI peer added by registration");
    Ok(())
}

/// The server side of POST (`existing` = `None`, `token_a` set) and PUT (`existing` set).
async fn accept(
    state: &NodeState,
    client: &OcpiClient,
    body: &[u8],
    existing: Option<&OcpiConnection>,
    token_a: Option<String>,
    hint: Option<PartnerId>,
) -> Result<Reply, OcpiError> {
    let creds: Credentials = parse_body(body)?;
    let id = peer_of(&creds, hint)?;
    refuse_oicp_peer(state, &id)?;
    let (settings, timeout) = settings(state, Some(&id));
    let call = configuration_call(creds.token.as_str(), settings.as_ref(), timeout);
    let api = fetch_partner(client, creds.url.as_str(), &call, settings.as_ref()).await?;
    let token_c = new_token();
    let connection = connection(
        &id,
        &creds,
        api.endpoints,
        token_c.clone(),
        existing.is_some_and(|c| c.registered_by_us),
    );
    let reply = Reply::ok(&our_credentials(&state.ocpi, &token_c)?);
    state
        .ocpi
        .save_connection(&state.store, connection, token_a.as_deref())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => OcpiError::MethodNotAllowed(m),
            other => other.into(),
        })?;
    ensure_peer(state, &id, &creds).await?;
    tracing::info!(peer = %id, updated = existing.is_some(), "OCPI partner registered with us");
    Ok(reply)
}

/// Sends our credentials with a fresh token to `credentials_url` (`POST` or `PUT`) and returns
/// the partner's; the fresh token is accepted on versions and credentials meanwhile.
async fn offer(
    state: &NodeState,
    client: &OcpiClient,
    method: Method,
    credentials_url: &str,
    call: &Call<'_>,
    peer: Option<PartnerId>,
) -> Result<(String, Credentials), OcpiError> {
    let token_b = new_token();
    let ours = our_credentials(&state.ocpi, &token_b)?;
    state.ocpi.begin_pending(&token_b, peer);
    let answer = client
        .send(method, credentials_url, Some(&ours), call)
        .await
        .and_then(|a| a.data::<Credentials>(credentials_url));
    state.ocpi.end_pending(&token_b);
    let theirs = answer.map_err(|e| match e {
        ClientError::Status { status, .. } if (2000..4000).contains(&status) => {
            OcpiError::PartnerUnusable(format!("the partner refused our credentials: {e}"))
        }
        other => unusable(&other),
    })?;
    Ok((token_b, theirs))
}

/// Registers with a partner (we are the credentials Sender): `versions_url` and `token_a`
/// come from the partner; `hint` names the peer (else its credentials do).
pub async fn register(
    state: &NodeState,
    client: &OcpiClient,
    versions_url: &str,
    token_a: &str,
    hint: Option<PartnerId>,
) -> Result<Arc<OcpiConnection>, OcpiError> {
    if let Some(id) = &hint {
        refuse_oicp_peer(state, id)?;
        if state.ocpi.connection(id).is_some() {
            return Err(OcpiError::MethodNotAllowed(format!(
                "{id} is registered already: update or unregister it"
            )));
        }
    }
    let (settings, timeout) = settings(state, hint.as_ref());
    let call = configuration_call(token_a, settings.as_ref(), timeout);
    let api = fetch_partner(client, versions_url, &call, settings.as_ref()).await?;
    let (token_b, theirs) = offer(
        state,
        client,
        Method::POST,
        &api.credentials_url,
        &call,
        hint.clone(),
    )
    .await?;
    let id = peer_of(&theirs, hint)?;
    refuse_oicp_peer(state, &id)?;
    let saved = state
        .ocpi
        .save_connection(
            &state.store,
            connection(&id, &theirs, api.endpoints, token_b, true),
            None,
        )
        .await?;
    ensure_peer(state, &id, &theirs).await?;
    tracing::info!(peer = %id, "registered with an OCPI partner");
    Ok(saved)
}

/// The connection with `peer`, its settings and the call that uses its token.
fn connected(
    state: &NodeState,
    peer: &PartnerId,
) -> Result<(Arc<OcpiConnection>, Option<OcpiPeer>, Duration), OcpiError> {
    let connection = state
        .ocpi
        .connection(peer)
        .ok_or_else(|| OcpiError::NotFound(format!("no OCPI connection with {peer}")))?;
    let (settings, timeout) = settings(state, Some(peer));
    Ok((connection, settings, timeout))
}

/// Updates the registration with a partner (`PUT`): re-reads its endpoints, and both sides
/// issue new tokens (rotation).
pub async fn update(
    state: &NodeState,
    client: &OcpiClient,
    peer: &PartnerId,
) -> Result<Arc<OcpiConnection>, OcpiError> {
    let (existing, settings, timeout) = connected(state, peer)?;
    let call = configuration_call(&existing.token_out, settings.as_ref(), timeout);
    let api = fetch_partner(client, &existing.versions_url, &call, settings.as_ref()).await?;
    let (token_b, theirs) = offer(
        state,
        client,
        Method::PUT,
        &api.credentials_url,
        &call,
        Some(peer.clone()),
    )
    .await?;
    let updated = connection(
        peer,
        &theirs,
        api.endpoints,
        token_b,
        existing.registered_by_us,
    );
    let saved = state
        .ocpi
        .save_connection(&state.store, updated, None)
        .await?;
    tracing::info!(peer = %peer, "OCPI credentials updated, tokens rotated");
    Ok(saved)
}

/// Unregisters from a partner (`DELETE` on its credentials) and forgets the connection, even
/// when the partner cannot be reached (its error is returned after forgetting).
pub async fn unregister(
    state: &NodeState,
    client: &OcpiClient,
    peer: &PartnerId,
) -> Result<(), OcpiError> {
    let (connection, settings, timeout) = connected(state, peer)?;
    let call = configuration_call(&connection.token_out, settings.as_ref(), timeout);
    let remote = match endpoint_url(
        &connection.endpoints,
        settings.as_ref(),
        "credentials",
        &InterfaceRole::Sender,
    ) {
        Some(url) => client
            .send::<()>(Method::DELETE, &url, None, &call)
            .await
            .map(|_| ())
            .map_err(|e| unusable(&e)),
        None => Err(OcpiError::MissingEndpoints(
            "no credentials endpoint of the partner is known".to_owned(),
        )),
    };
    state.ocpi.forget(&state.store, peer).await?;
    tracing::info!(peer = %peer, partner_answered = remote.is_ok(), "OCPI partner unregistered by us");
    remote
}
