//! Commands module, Receiver interface of the CPO side (ocpi-2.2.1.md §4.6): an OCPI eMSP
//! POSTs `START_SESSION`, `STOP_SESSION`, `RESERVE_NOW`, `CANCEL_RESERVATION` or
//! `UNLOCK_CONNECTOR` to `/ocpi/2.2.1/receiver/commands/{command}`; the node answers the
//! `CommandResponse` at once, sends the OICP remote operation to the own CPO's backend through
//! the same code that serves OICP EMP peers ([`ops::remote_start`] and its siblings, which
//! record the session with the eMSP as its provider, so later notifications and CDRs reach
//! it), and POSTs the `CommandResult` to the command's `response_url`.
//!
//! # Decisions
//! * **Who may command**: a registered connection (HTTP 401 otherwise). The eMSP party is the
//!   connection's EMSP role that `OCPI-from-*` names, else its first; the token of a command
//!   must belong to it (`REJECTED` otherwise). The own CPO is the one `OCPI-to-*` names, or
//!   the only one. The OICP caller is the peer of that eMSP party, or, for a platform with
//!   several roles (one peer, keyed by its first CPO role), the connection's peer; the session
//!   is recorded with the eMSP party's `ProviderID` either way.
//! * **Where**: `location_id`/`evse_uid` are looked up in the own CPO's translated Location
//!   view (`store::ocpi_cpo`); the EVSE's `evse_id` is the OICP `EvseID`. An unknown Location
//!   or EVSE answers OCPI 2003 with a `REJECTED` `CommandResponse` (as the spec's
//!   `UNLOCK_CONNECTOR` diagram does). Without `evse_uid`, a Location with exactly one EVSE
//!   uses it; with several, the command is `REJECTED` (OICP needs one `EvseID`).
//! * **Which session**: `STOP_SESSION`'s `session_id` and `CANCEL_RESERVATION`'s
//!   `reservation_id` are OICP `SessionID`s (the ids this side gives sessions and
//!   reservations; for a `reservation_id` that is no GUID see below); the session must be one the node recorded for this eMSP at this CPO.
//!   Otherwise `UNKNOWN_SESSION` (stop) or `REJECTED` (cancel), answered at once.
//! * **A `reservation_id` that is no GUID** names the reservation by a name-based GUID
//!   `SessionID` of the eMSP's `ProviderID` and the id ([`reservation_session`]), taken over
//!   a GUID `authorization_reference` (which otherwise becomes the `SessionID`), so
//!   `CANCEL_RESERVATION` with that id finds the reservation again, also after a restart; the
//!   derivation is the stored pair. A GUID `reservation_id` is the `SessionID` as it is.
//! * **`UNLOCK_CONNECTOR`** has no OICP form: `NOT_SUPPORTED`. An unknown command type is
//!   refused with 2001 (the body cannot be read as any command).
//! * **The result**: [`mapping::command::acknowledgement_to_command_result`]; a backend that
//!   does not answer in time (OICP 310) or cannot be reached (320) gives `TIMEOUT`.
//! * **Delivery of the result**: nothing acknowledged is lost, so the `CommandResult` is not
//!   sent at once but queued in the node's durable outbox for the eMSP's peer (operation:
//!   the OICP remote operation, which [`push::module_of`] maps to `commands`; path
//!   [`push::command_result_path`], the absolute `response_url` with the own CPO and the eMSP
//!   party, so the token and `OCPI-from/to-*` headers are resolved when it is sent; the
//!   command's `X-Correlation-ID` as process id). The delivery worker retries it (no answer,
//!   HTTP 408/429/5xx) with back-off until delivered, or makes it a dead letter (any other
//!   refusal, or too old), listed at `/admin/outbox`. It waits behind earlier queued pushes to
//!   the same peer (one worker per target keeps order); an eMSP that gave up after our
//!   `CommandResponse`'s `timeout` may still get it late, which OCPI allows it to ignore.
//!
//! [`mapping::command::acknowledgement_to_command_result`]: crate::mapping::command::acknowledgement_to_command_result

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use tracing::Instrument as _;

use crate::config::PartnerId;
use crate::mapping::command::{
    CommandPolicy, ToOicpCommandCtx, acknowledgement_to_command_result,
    cancel_reservation_to_remote_reservation_stop, command_accepted_response,
    reserve_now_to_remote_reservation_start, start_session_to_remote_start,
    stop_session_to_remote_stop, unsupported_command_response,
};
use crate::node::NodeState;
use crate::node::failure::Failure;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{MessageIds, Reply, Routing, respond};
use crate::node::ocpi::{Access, Authed, OwnParty, peer_id_of};
use crate::node::ops::{self, Ctx, PageQuery};
use crate::node::routes::RouteNote;
use crate::ocpi::v221::commands::{
    CommandRequest, CommandResponse, CommandResponseType, CommandResult, CommandType,
};
use crate::ocpi::v221::ids::EvseUid;
use crate::ocpi::v221::types::{DisplayText, OcpiString};
use crate::ocpi::v221::versions::{CredentialsRole, Role as OcpiRole};
use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::authorization::{
    AuthorizeRemoteReservationStart, AuthorizeRemoteReservationStop, AuthorizeRemoteStart,
    AuthorizeRemoteStop,
};
use crate::oicp::v23::ids::{EvseId, ProviderId, SessionId};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::status::Code;
use crate::oicp::v23::wire::Extra;
use crate::peer::client::OicpClient;
use crate::peer::registry::Caller;
use crate::store::ocpi::OcpiConnection;
use crate::store::{OutboxEntry, TargetRef};

use super::push;
use super::view::location_key;

/// The path of the interface below `/ocpi/2.2.1/`.
pub const PATH: &str = "receiver/commands";

/// Adds the route to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource([
            "/receiver/commands/{command}",
            "/receiver/commands/{command}/",
        ])
        .route(web::post().to(command)),
    );
}

/// The OICP operation a command becomes.
#[derive(Debug)]
enum Remote {
    Start(AuthorizeRemoteStart),
    Stop(AuthorizeRemoteStop),
    Reserve(AuthorizeRemoteReservationStart),
    Cancel(AuthorizeRemoteReservationStop),
}

/// What the node answers at once.
#[derive(Debug)]
enum Verdict {
    /// `ACCEPTED`: the remote operation is sent, the result follows.
    Run(Box<Remote>),
    /// Another `CommandResponse`, with the OCPI status code when it is not 1000.
    Answer(CommandResponse, Option<(u16, String)>),
}

fn response(result: CommandResponseType, text: &str) -> CommandResponse {
    CommandResponse {
        result,
        timeout: 0,
        message: OcpiString::parse(text.chars().take(512).collect::<String>().as_str())
            .ok()
            .zip(OcpiString::parse("en").ok())
            .map(|(text, language)| {
                vec![DisplayText {
                    language,
                    text,
                    extra: Extra::new(),
                }]
            }),
        extra: Extra::new(),
    }
}

fn rejected(text: &str) -> Verdict {
    Verdict::Answer(response(CommandResponseType::Rejected, text), None)
}

fn unknown_location(text: &str) -> Verdict {
    Verdict::Answer(
        response(CommandResponseType::Rejected, text),
        Some((2003, text.to_owned())),
    )
}

/// The EVSE of `location_id`/`evse_uid` in the own CPO's view.
async fn evse_of(
    state: &NodeState,
    own: &OwnParty,
    location_id: &str,
    evse_uid: Option<&str>,
) -> Result<Result<EvseId, Verdict>, OcpiError> {
    let key = location_key(
        own.party.country_code.as_str(),
        own.party.party_id.as_str(),
        location_id,
    );
    let Some(text) = state.store.ocpi_cpo_location(&key).await? else {
        return Ok(Err(unknown_location(&format!(
            "no Location {location_id} at {}",
            own.party
        ))));
    };
    let location: Value = serde_json::from_str(&text)
        .map_err(|e| OcpiError::Internal(format!("stored Location {key}: {e}")))?;
    let evses: Vec<&Value> = location
        .get("evses")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let evse = match evse_uid {
        Some(uid) => evses.iter().find(|e| {
            e.get("uid")
                .and_then(Value::as_str)
                .is_some_and(|u| u.eq_ignore_ascii_case(uid))
        }),
        None if evses.len() == 1 => evses.first(),
        None => {
            return Ok(Err(rejected(&format!(
                "Location {location_id} has {} EVSEs: evse_uid is needed",
                evses.len()
            ))));
        }
    };
    let Some(evse) = evse else {
        return Ok(Err(unknown_location(&format!(
            "no EVSE {} in Location {location_id}",
            evse_uid.unwrap_or_default()
        ))));
    };
    match evse
        .get("evse_id")
        .and_then(Value::as_str)
        .map(EvseId::parse)
    {
        Some(Ok(id)) => Ok(Ok(id)),
        _ => Ok(Err(rejected("the EVSE has no OICP EvseID"))),
    }
}

/// The recorded session `id` of `provider` at the own CPO, and its EVSE.
async fn session_of(
    state: &NodeState,
    own: &OwnParty,
    provider: &ProviderId,
    id: &str,
) -> Result<Option<(SessionId, EvseId)>, OcpiError> {
    let Ok(session_id) = SessionId::parse(id) else {
        return Ok(None);
    };
    let Some(record) = state.store.session(&session_id).await? else {
        return Ok(None);
    };
    let ours = record
        .operator_id
        .as_ref()
        .is_some_and(|o| o.canonical() == own.id.canonical());
    if !ours || record.provider_id.as_ref() != Some(provider) {
        return Ok(None);
    }
    Ok(record.evse_id.map(|e| (session_id, e)))
}

fn new_session_id() -> SessionId {
    SessionId::new_v4_from_bytes(*uuid::Uuid::new_v4().as_bytes())
}

/// The `SessionID` of a reservation whose OCPI `reservation_id` is no GUID: a name-based GUID
/// of the eMSP's `ProviderID` and the id ([`name_based_guid`]), so `CANCEL_RESERVATION`
/// with the same id finds it again without a stored map (and after a restart). `None` for a
/// GUID, which is the `SessionID` itself.
///
/// [`name_based_guid`]: crate::mapping::cdr::name_based_guid
fn reservation_session(provider: &ProviderId, reservation_id: &str) -> Option<SessionId> {
    if SessionId::parse(reservation_id).is_ok() {
        return None;
    }
    let name = format!("{}*{reservation_id}", provider.canonical());
    SessionId::parse(&crate::mapping::cdr::name_based_guid(&name)).ok()
}

fn oicp_ctx(evse_id: EvseId, session_id: SessionId) -> ToOicpCommandCtx {
    ToOicpCommandCtx {
        now: chrono::Utc::now(),
        evse_id,
        session_id,
    }
}

/// Decides what to do with a command of the eMSP `provider` to the own CPO `own`.
async fn decide(
    state: &NodeState,
    own: &OwnParty,
    provider: &ProviderId,
    request: &CommandRequest,
) -> Result<Verdict, OcpiError> {
    let token_of_another = |p: &ProviderId| {
        (p != provider).then(|| {
            rejected(&format!(
                "the token belongs to {p}, not to the calling eMSP {provider}"
            ))
        })
    };
    Ok(match request {
        CommandRequest::UnlockConnector(_) => Verdict::Answer(unsupported_command_response(), None),
        CommandRequest::StartSession(cmd) => {
            let evse = match evse_of(
                state,
                own,
                cmd.location_id.as_str(),
                cmd.evse_uid.as_ref().map(EvseUid::as_str),
            )
            .await?
            {
                Ok(e) => e,
                Err(v) => return Ok(v),
            };
            match start_session_to_remote_start(cmd, &oicp_ctx(evse, new_session_id())) {
                Ok(m) => token_of_another(&m.value.provider_id)
                    .unwrap_or(Verdict::Run(Box::new(Remote::Start(m.value)))),
                Err(e) => rejected(&format!("{}: {}", e.path, e.reason)),
            }
        }
        CommandRequest::ReserveNow(cmd) => {
            let evse = match evse_of(
                state,
                own,
                cmd.location_id.as_str(),
                cmd.evse_uid.as_ref().map(EvseUid::as_str),
            )
            .await?
            {
                Ok(e) => e,
                Err(v) => return Ok(v),
            };
            let named = reservation_session(provider, cmd.reservation_id.as_str());
            let minted = named.clone().unwrap_or_else(new_session_id);
            match reserve_now_to_remote_reservation_start(cmd, &oicp_ctx(evse, minted)) {
                Ok(mut m) => {
                    if let Some(id) = named {
                        m.value.session_id = Some(id);
                    }
                    token_of_another(&m.value.provider_id)
                        .unwrap_or(Verdict::Run(Box::new(Remote::Reserve(m.value))))
                }
                Err(e) => rejected(&format!("{}: {}", e.path, e.reason)),
            }
        }
        CommandRequest::StopSession(cmd) => {
            match session_of(state, own, provider, cmd.session_id.as_str()).await? {
                Some((session, evse)) => Verdict::Run(Box::new(Remote::Stop(
                    stop_session_to_remote_stop(&oicp_ctx(evse, session), provider.clone()),
                ))),
                None => Verdict::Answer(
                    response(
                        CommandResponseType::UnknownSession,
                        &format!("no session {} of this eMSP here", cmd.session_id.as_str()),
                    ),
                    None,
                ),
            }
        }
        CommandRequest::CancelReservation(cmd) => {
            let id = reservation_session(provider, cmd.reservation_id.as_str()).map_or_else(
                || cmd.reservation_id.as_str().to_owned(),
                |s| s.as_str().to_owned(),
            );
            match session_of(state, own, provider, &id).await? {
                Some((session, evse)) => Verdict::Run(Box::new(Remote::Cancel(
                    cancel_reservation_to_remote_reservation_stop(
                        cmd,
                        &oicp_ctx(evse, session),
                        provider.clone(),
                    ),
                ))),
                None => rejected(&format!(
                    "no reservation {} of this eMSP here",
                    cmd.reservation_id.as_str()
                )),
            }
        }
    })
}

/// The calling eMSP: its credentials role (`OCPI-from-*`, else the first EMSP role of the
/// connection) and OICP `ProviderID`.
fn emsp_of(
    connection: &OcpiConnection,
    routing: &Routing,
) -> Result<(CredentialsRole, ProviderId), OcpiError> {
    let role = connection
        .roles
        .iter()
        .filter(|r| r.role == OcpiRole::Emsp)
        .find(|r| {
            routing.from.as_ref().is_none_or(|f| {
                r.country_code.eq_ignore_case(f.country_code.as_str())
                    && r.party_id.eq_ignore_case(f.party_id.as_str())
            })
        })
        .ok_or_else(|| {
            OcpiError::UnknownParty("the caller is no eMSP party of this connection".to_owned())
        })?;
    match peer_id_of(role) {
        Some(PartnerId::Provider(p)) => Ok((role.clone(), p)),
        _ => Err(OcpiError::UnknownParty(format!(
            "{}/{} is no OICP provider",
            role.country_code.as_str(),
            role.party_id.as_str()
        ))),
    }
}

/// What the spawned task needs.
struct Job {
    state: Arc<NodeState>,
    oicp: OicpClient,
    caller: Caller,
    provider: ProviderId,
    own: OwnParty,
    emsp: CredentialsRole,
    connection: Arc<OcpiConnection>,
    command: CommandType,
    response_url: String,
    correlation_id: String,
}

async fn command(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
    oicp: web::Data<OicpClient>,
) -> HttpResponse {
    let result = async {
        let Authed::Connection(connection) =
            state
                .ocpi
                .authenticate(&req, &state.registry, Access::Functional)?
        else {
            return Err(OcpiError::Unauthorized(
                "a registered connection's token is needed".to_owned(),
            ));
        };
        let routing = Routing::from_headers(req.headers())?;
        let own = state.ocpi.addressed(&routing, &OcpiRole::Cpo)?.clone();
        let (emsp, provider) = emsp_of(&connection, &routing)?;
        let name = req.match_info().get("command").unwrap_or_default();
        let command = CommandType::from_wire(&name.to_ascii_uppercase());
        serde_json::from_slice::<Value>(&body).map_err(|e| OcpiError::BadJson(e.to_string()))?;
        let request = CommandRequest::parse(&command, &body).map_err(OcpiError::Invalid)?;
        // A platform with several roles is one peer, keyed by its first CPO role: its eMSP
        // party then acts through that peer.
        let peer = state
            .registry
            .peer(&PartnerId::Provider(provider.clone()))
            .or_else(|| {
                connection
                    .peer()
                    .ok()
                    .and_then(|id| state.registry.peer(&id))
            })
            .ok_or_else(|| {
                OcpiError::Internal(format!(
                    "the peer of the connection with {provider} is gone"
                ))
            })?;
        let reply_routing = routing.reversed();
        match decide(&state, &own, &provider, &request).await? {
            Verdict::Answer(answer, None) => Ok(Reply::ok(&answer).routing(&reply_routing)),
            Verdict::Answer(answer, Some((code, message))) => {
                Ok(Reply::with_code(code, &message, &answer).routing(&reply_routing))
            }
            Verdict::Run(remote) => {
                let policy = CommandPolicy::default();
                let job = Job {
                    state: state.clone().into_inner(),
                    oicp: oicp.get_ref().clone(),
                    caller: Caller::Peer(peer),
                    provider,
                    own,
                    emsp,
                    connection,
                    command,
                    response_url: request.response_url().as_str().to_owned(),
                    correlation_id: MessageIds::of(&req).correlation_id,
                };
                let span = tracing::info_span!(
                    "ocpi_command",
                    command = %job.command,
                    partner = %job.provider,
                    route = "local",
                );
                actix_web::rt::spawn(run(job, remote).instrument(span));
                Ok(Reply::ok(&command_accepted_response(&policy)).routing(&reply_routing))
            }
        }
    }
    .await;
    respond(result)
}

/// Sends the OICP operation to the backend and POSTs the `CommandResult`.
async fn run(job: Job, remote: Box<Remote>) {
    let (name, process_id) = (remote_name(&remote), uuid::Uuid::new_v4().to_string());
    let operation = match *remote {
        Remote::Start(_) => Operation::AuthorizeRemoteStart,
        Remote::Stop(_) => Operation::AuthorizeRemoteStop,
        Remote::Reserve(_) => Operation::AuthorizeRemoteReservationStart,
        Remote::Cancel(_) => Operation::AuthorizeRemoteReservationStop,
    };
    let span = tracing::info_span!(
        "oicp",
        operation = name,
        caller = %job.caller.describe(),
        partner = tracing::field::Empty,
        route = tracing::field::Empty,
        process_id = %process_id,
    );
    let note = Arc::new(std::sync::Mutex::new(RouteNote::default()));
    let ctx = Ctx {
        state: Arc::clone(&job.state),
        client: job.oicp.clone(),
        caller: job.caller.clone(),
        path_id: Some(PartnerId::Provider(job.provider.clone())),
        process_id,
        page: PageQuery::default(),
        span: span.clone(),
        note: Arc::clone(&note),
    };
    let answer = async {
        match *remote {
            Remote::Start(r) => ops::remote_start(ctx, r).await,
            Remote::Stop(r) => ops::remote_stop(ctx, r).await,
            Remote::Reserve(r) => ops::reservation_start(ctx, r).await,
            Remote::Cancel(r) => ops::reservation_stop(ctx, r).await,
        }
    }
    .instrument(span)
    .await;
    let ack = acknowledgement_of(answer);
    let code = ack.as_ref().map_or_else(
        || "310".to_owned(),
        |a| a.status_code.code.as_str().to_owned(),
    );
    let route_note = note
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    job.state.routes.record(name, &route_note, &code);
    let result = acknowledgement_to_command_result(&job.command, ack.as_ref());
    queue_result(&job, operation, &result).await;
}

/// Queues the `CommandResult` in the outbox for the eMSP's peer: the delivery worker POSTs it
/// to `response_url` and retries it until it is delivered or becomes a dead letter.
async fn queue_result(job: &Job, operation: Operation, result: &CommandResult) {
    let peer = match job.connection.peer() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "the CommandResult has no peer to go to");
            return;
        }
    };
    let body = match serde_json::to_vec(result) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "the CommandResult could not be serialized");
            return;
        }
    };
    let entry = OutboxEntry::new(
        TargetRef::peer(peer),
        operation,
        push::command_result_path(&job.response_url, &job.own, &job.emsp),
        Arc::from(body),
        &job.correlation_id,
    );
    let entries = [entry];
    match job.state.store.enqueue(&entries, chrono::Utc::now()).await {
        Ok(()) => {
            job.state.delivery.queued(&entries);
            tracing::info!(result = %result.result, "CommandResult queued");
        }
        Err(e) => tracing::error!(error = %e, "queuing the CommandResult failed"),
    }
}

fn remote_name(remote: &Remote) -> &'static str {
    match remote {
        Remote::Start(_) => "AuthorizeRemoteStart",
        Remote::Stop(_) => "AuthorizeRemoteStop",
        Remote::Reserve(_) => "AuthorizeRemoteReservationStart",
        Remote::Cancel(_) => "AuthorizeRemoteReservationStop",
    }
}

/// The backend's acknowledgement, or `None` when it did not answer in time or could not be
/// reached (the result is then `TIMEOUT`).
fn acknowledgement_of(answer: Result<Acknowledgement, Failure>) -> Option<Acknowledgement> {
    match answer {
        Ok(ack) => Some(ack),
        Err(f)
            if matches!(
                f.code(),
                Code::PartnerDidNotRespond | Code::ServiceNotAvailable
            ) =>
        {
            None
        }
        Err(f) => Some(Acknowledgement::with_status(false, f.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oicp::v23::status::StatusCode;

    #[test]
    fn an_unanswered_backend_is_a_timeout_and_a_refusal_keeps_its_code() {
        for code in [Code::PartnerDidNotRespond, Code::ServiceNotAvailable] {
            assert!(acknowledgement_of(Err(Failure::new(code, "x"))).is_none());
        }
        let refused =
            acknowledgement_of(Err(Failure::new(Code::EvseAlreadyInUse, "busy"))).unwrap();
        assert!(!refused.result);
        assert_eq!(refused.status_code.code, Code::EvseAlreadyInUse);
        let ok = acknowledgement_of(Ok(Acknowledgement::with_status(
            true,
            StatusCode::success(),
        )))
        .unwrap();
        assert!(ok.result);
    }
}
