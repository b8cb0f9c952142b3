//! Commands module, Sender interface of the eMSP side (ocpi-2.2.1.md §4.6): the own EMP
//! backend's OICP `AuthorizeRemoteStart`, `AuthorizeRemoteStop`,
//! `AuthorizeRemoteReservationStart` and `AuthorizeRemoteReservationStop` for an EVSE whose
//! operator is an OCPI CPO peer reach [`send`] through `bridge::call`; it POSTs
//! `START_SESSION`, `STOP_SESSION`, `RESERVE_NOW` or `CANCEL_RESERVATION` to the partner's
//! commands RECEIVER and waits for the `CommandResult` at our `response_url`
//! (`/ocpi/2.2.1/commands/{command}/{uid}`, served by [`configure`]) before answering the
//! backend with [`command_outcome_to_acknowledgement`].
//!
//! # Decisions
//! * **The wait**: `[ocpi] command_wait_ms` (default 8 s, Hubject's answers must come within
//!   10 s), never longer than the `timeout` of the CPO's `CommandResponse`. `ACCEPTED` without
//!   a result in time acknowledges (`Result: true`, the policy's default, P24): a session that
//!   starts later is still accepted.
//! * **Results** are accepted only from the connection the command went to (HTTP 404 for
//!   anyone else, as for an unknown or no longer awaited `uid`: a late result has nobody to
//!   tell), and only for the command type in the URL (2001).
//! * **Which CPO**: the partner's CPO role whose `OperatorID` is the EVSE's (a platform with
//!   several CPOs is one peer; `ops` finds it for any of them through
//!   [`crate::node::ocpi::platform_peer`]), else the role of its peer; the routing headers
//!   name it.
//! * **Where**: the EVSE is looked up by its `evse_id` in the Locations this CPO pushed to us
//!   (`store::ocpi_emsp`); its first connector is named (P25). An EVSE we hold no Location for
//!   is answered `Result: false`, 603, without calling the partner.
//! * **Which OCPI session** `STOP_SESSION` names: the Session this CPO sent us whose
//!   `authorization_reference` is the OICP `SessionID` (as `START_SESSION` sets it), else the
//!   Session whose id is the `SessionID`, else the `SessionID` itself (a GUID fits OCPI's
//!   `session_id`, and our own CPO side names sessions by it).
//! * **A `CommandResponse` in a one-element list** is read as the object (a habit of
//!   extrawest-ocpi, docs/ocpi-interop-extrawest.md E1).
//! * **No commands endpoint** in the partner's version details (and no override): the
//!   outcome is that of `NOT_SUPPORTED`, 604. OCPI 2003 (unknown Location) counts as
//!   `REJECTED`; any other failure of the exchange as no response (501).

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::client;
use crate::config::{PartnerId, Peer};
use crate::mapping::command::{
    CommandOutcome, CommandPolicy, EvseLocation, ToOcpiCommandCtx,
    command_outcome_to_acknowledgement, remote_reservation_start_to_reserve_now,
    remote_reservation_stop_to_cancel_reservation, remote_start_to_start_session,
    remote_stop_to_stop_session,
};
use crate::mapping::token::TokenCtx;
use crate::node::NodeState;
use crate::node::failure::Failure;
use crate::node::ocpi::bridge::answer;
use crate::node::ocpi::client::{ClientError, OcpiClient};
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{Reply, parse_body, respond};
use crate::node::ocpi::{OcpiState, OwnParty, peer_id_of};
use crate::node::ops::Ctx;
use crate::ocpi::v221::commands::{
    CommandResponse, CommandResponseType, CommandResult, CommandType,
};
use crate::ocpi::v221::ids::{ConnectorId, EvseUid, LocationId, SessionId as OcpiSessionId};
use crate::ocpi::v221::types::Url;
use crate::ocpi::v221::versions::{CredentialsRole, InterfaceRole, Role as OcpiRole};
use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::authorization::{
    AuthorizeRemoteReservationStart, AuthorizeRemoteReservationStop, AuthorizeRemoteStart,
    AuthorizeRemoteStop,
};
use crate::oicp::v23::ids::{EvseId, SessionId};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::status::{Code, StatusCode};
use crate::store::ocpi::OcpiConnection;
use crate::store::ocpi_emsp::{EmspKey, EmspKind};

/// The path of the interface below `/ocpi/2.2.1/` (our `response_url`s live under it).
pub const PATH: &str = "commands";

/// Adds the `CommandResult` route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(["/commands/{command}/{uid}", "/commands/{command}/{uid}/"])
            .route(web::post().to(result)),
    );
}

/// One command waiting for its result.
#[derive(Debug)]
struct Pending {
    peer: PartnerId,
    command: CommandType,
    tx: tokio::sync::oneshot::Sender<CommandResult>,
}

/// The commands sent whose `CommandResult` is awaited, by the `uid` of their `response_url`.
#[derive(Debug, Default)]
pub struct Waiting {
    inner: Mutex<HashMap<String, Pending>>,
}

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Awaits a result from `peer` for `command`: the uid and the receiving end.
    fn expect(
        &self,
        peer: &PartnerId,
        command: &CommandType,
    ) -> (String, tokio::sync::oneshot::Receiver<CommandResult>) {
        let uid = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.lock().insert(
            uid.clone(),
            Pending {
                peer: peer.clone(),
                command: command.clone(),
                tx,
            },
        );
        (uid, rx)
    }

    fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// Hands `result` to the command `uid` if `peer` sent it; 404 when no such command of
    /// this peer waits, 2001 when `command` is not its type.
    fn deliver(
        &self,
        uid: &str,
        peer: &PartnerId,
        command: &CommandType,
        result: CommandResult,
    ) -> Result<(), OcpiError> {
        let mut waiting = self.lock();
        match waiting.get(uid) {
            Some(p) if p.peer == *peer && p.command == *command => {}
            Some(p) if p.peer == *peer => {
                return Err(OcpiError::InvalidParameter(format!(
                    "this result is for a {}, not a {command}",
                    p.command
                )));
            }
            _ => {
                return Err(OcpiError::NotFound(format!(
                    "no command waits for the result {uid}"
                )));
            }
        }
        if let Some(p) = waiting.remove(uid) {
            // The sender may have given up a moment ago; then nobody reads it.
            let _ = p.tx.send(result);
        }
        Ok(())
    }

    /// How many commands wait.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Forgets the awaited command `.1` when dropped.
struct Forget<'a>(&'a Waiting, &'a str);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

/// `POST /ocpi/2.2.1/commands/{command}/{uid}`: a CPO's `CommandResult`.
async fn result(req: HttpRequest, body: web::Bytes, state: web::Data<NodeState>) -> HttpResponse {
    let answer = async {
        let client = client(&req, &state)?;
        let peer = client
            .connection
            .peer()
            .map_err(|e| OcpiError::Internal(e.to_string()))?;
        let command = CommandType::from_wire(
            &req.match_info()
                .get("command")
                .unwrap_or_default()
                .to_ascii_uppercase(),
        );
        let uid = req.match_info().get("uid").unwrap_or_default();
        let result: CommandResult = parse_body(&body)?;
        tracing::info!(%peer, %command, result = %result.result, "CommandResult received");
        state.ocpi.commands.deliver(uid, &peer, &command, result)?;
        Ok(Reply::empty().routing(&client.routing.reversed()))
    }
    .await;
    respond(answer)
}

/// The OCPI command of one OICP remote operation.
enum Command {
    Start(AuthorizeRemoteStart),
    Stop(AuthorizeRemoteStop),
    Reserve(AuthorizeRemoteReservationStart),
    Cancel(AuthorizeRemoteReservationStop),
}

impl Command {
    fn of<Req: Serialize>(op: Operation, body: &Req) -> Result<Option<Self>, Failure> {
        fn typed<T: DeserializeOwned>(body: &impl Serialize) -> Result<T, Failure> {
            serde_json::to_value(body)
                .and_then(serde_json::from_value)
                .map_err(|e| Failure::new(Code::SystemError, format!("request: {e}")))
        }
        Ok(Some(match op {
            Operation::AuthorizeRemoteStart => Self::Start(typed(body)?),
            Operation::AuthorizeRemoteStop => Self::Stop(typed(body)?),
            Operation::AuthorizeRemoteReservationStart => Self::Reserve(typed(body)?),
            Operation::AuthorizeRemoteReservationStop => Self::Cancel(typed(body)?),
            _ => return Ok(None),
        }))
    }

    fn kind(&self) -> CommandType {
        match self {
            Self::Start(_) => CommandType::StartSession,
            Self::Stop(_) => CommandType::StopSession,
            Self::Reserve(_) => CommandType::ReserveNow,
            Self::Cancel(_) => CommandType::CancelReservation,
        }
    }

    fn evse(&self) -> &EvseId {
        match self {
            Self::Start(r) => &r.evse_id,
            Self::Stop(r) => &r.evse_id,
            Self::Reserve(r) => &r.evse_id,
            Self::Cancel(r) => &r.evse_id,
        }
    }

    /// The OICP session the command is about (the remote operation made sure there is one).
    fn session(&self) -> Option<SessionId> {
        match self {
            Self::Start(r) => r.session_id.clone(),
            Self::Stop(r) => Some(r.session_id.clone()),
            Self::Reserve(r) => r.session_id.clone(),
            Self::Cancel(r) => Some(r.session_id.clone()),
        }
    }
}

/// Whether `op` has an OCPI command form.
pub fn handles(op: Operation) -> bool {
    matches!(
        op,
        Operation::AuthorizeRemoteStart
            | Operation::AuthorizeRemoteStop
            | Operation::AuthorizeRemoteReservationStart
            | Operation::AuthorizeRemoteReservationStop
    )
}

/// A negative acknowledgement with `code`, about `session`.
fn refusal(code: Code, text: &str, session: Option<SessionId>) -> Acknowledgement {
    let mut ack = Acknowledgement::with_status(false, StatusCode::with_description(code, text));
    ack.session_id = session;
    ack
}

/// Sends the remote operation `op` (its OICP `body`) to the OCPI CPO `peer` as a command and
/// answers with the acknowledgement of the outcome (see the module documentation).
///
/// # Errors
/// A failure for an operation without a command form, and when the own EMP or the
/// connection with the peer is missing.
pub async fn send<Req, Resp>(
    ctx: &Ctx,
    peer: &Peer,
    op: Operation,
    body: &Req,
) -> Result<Resp, Failure>
where
    Req: Serialize,
    Resp: DeserializeOwned,
{
    let Some(command) = Command::of(op, body)? else {
        return Err(super::super::bridge::unsupported(op, peer));
    };
    let state = &ctx.state;
    let own = own_emsp(&state.ocpi, ctx.path_id.as_ref())?;
    let connection = state.ocpi.connection(&peer.id).ok_or_else(|| {
        Failure::new(
            Code::ServiceNotAvailable,
            format!("no OCPI connection with {} (not registered)", peer.id),
        )
    })?;
    let operator = PartnerId::Operator(command.evse().operator_id());
    let cpo = cpo_role(&connection, &[&operator, &peer.id])?;
    let policy = CommandPolicy::default().with_wait_for_result(state.ocpi.command_wait());
    let kind = command.kind();
    let session = command.session();
    let span =
        tracing::info_span!("ocpi_command", command = %kind, partner = %peer.id, route = "ocpi");
    let Some(endpoint) = OcpiState::partner_endpoint(
        &state.registry,
        &connection,
        "commands",
        &InterfaceRole::Receiver,
    ) else {
        let outcome = CommandOutcome::Answered {
            response: bare_response(CommandResponseType::NotSupported),
            result: None,
        };
        let ack = command_outcome_to_acknowledgement(&kind, &outcome, session, &policy);
        return answer(op, &ack);
    };
    let (uid, rx) = state.ocpi.commands.expect(&peer.id, &kind);
    // Forgotten however this ends, also when the backend hangs up and the call is dropped.
    let _forget = Forget(&state.ocpi.commands, &uid);
    let response_url = state.ocpi.module_url(&format!("{PATH}/{kind}/{uid}"));
    let outcome = async {
        let body = match build(ctx, &cpo, &command, &response_url, &own, &policy).await? {
            Ok(body) => body,
            Err(ack) => return Ok(Err(ack)),
        };
        let url = format!("{}/{kind}", endpoint.trim_end_matches('/'));
        let call = OcpiState::partner_call(
            &state.registry,
            &connection,
            &own,
            &cpo,
            Some(&ctx.process_id),
            peer.timeout,
        );
        let sent = OcpiClient::new()
            .send(Method::POST, &url, Some(&body), &call)
            .await;
        let response = match sent.and_then(|mut a| {
            unwrap_single(&mut a.envelope.data);
            a.data::<CommandResponse>(&url)
        }) {
            Ok(r) => r,
            Err(ClientError::Status { status: 2003, .. }) => {
                bare_response(CommandResponseType::Rejected)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the OCPI command got no CommandResponse");
                return Ok(Ok(CommandOutcome::NoResponse));
            }
        };
        let wait = policy.result_wait(&response);
        let result = if wait.is_zero() {
            None
        } else {
            tokio::time::timeout(wait, rx)
                .await
                .ok()
                .and_then(Result::ok)
        };
        Ok::<_, Failure>(Ok(CommandOutcome::Answered { response, result }))
    }
    .instrument(span)
    .await;
    let ack = match outcome? {
        Ok(outcome) => {
            tracing::info!(?outcome, "OCPI command outcome");
            command_outcome_to_acknowledgement(&kind, &outcome, session, &policy)
        }
        Err(ack) => ack,
    };
    answer(op, &ack)
}

/// A one-element list where an object is expected becomes the object (extrawest-ocpi
/// answers every single object so, docs/ocpi-interop-extrawest.md E1).
fn unwrap_single(data: &mut Option<serde_json::Value>) {
    if let Some(serde_json::Value::Array(items)) = data
        && items.len() == 1
    {
        *data = items.pop();
    }
}

/// The partner's CPO role that is the first of `wanted` it has (the EVSE's operator, then
/// the peer), else its first CPO role.
fn cpo_role(
    connection: &OcpiConnection,
    wanted: &[&PartnerId],
) -> Result<CredentialsRole, Failure> {
    let cpos = || connection.roles.iter().filter(|r| r.role == OcpiRole::Cpo);
    wanted
        .iter()
        .find_map(|id| cpos().find(|r| peer_id_of(r).as_ref() == Some(*id)))
        .or_else(|| cpos().next())
        .cloned()
        .ok_or_else(|| {
            Failure::new(
                Code::ServiceNotAvailable,
                format!("the OCPI partner {} has no CPO role", connection.peer_id),
            )
        })
}

/// A `CommandResponse` without timeout or message.
fn bare_response(result: CommandResponseType) -> CommandResponse {
    CommandResponse {
        result,
        timeout: 0,
        message: None,
        extra: crate::oicp::v23::wire::Extra::new(),
    }
}

/// The own EMP of the request's path, with its OCPI identity.
fn own_emsp(ocpi: &OcpiState, path_id: Option<&PartnerId>) -> Result<OwnParty, Failure> {
    let id = path_id
        .ok_or_else(|| Failure::new(Code::SystemError, "a remote operation names its EMP"))?;
    ocpi.own_parties()
        .iter()
        .find(|p| p.role == OcpiRole::Emsp && p.id == *id)
        .cloned()
        .ok_or_else(|| {
            Failure::no_route(format!(
                "{id} has no OCPI identity: it cannot send OCPI commands"
            ))
        })
}

fn url(text: &str) -> Result<Url, Failure> {
    Url::parse(text).map_err(|e| Failure::new(Code::SystemError, format!("response_url: {e}")))
}

fn mapping_failure(e: &crate::mapping::MappingError) -> Failure {
    Failure::new(Code::DataError, format!("{}: {}", e.path, e.reason))
}

/// The OCPI body of `command` (or the answer when it cannot be sent).
async fn build(
    ctx: &Ctx,
    cpo: &CredentialsRole,
    command: &Command,
    response_url: &str,
    own: &OwnParty,
    policy: &CommandPolicy,
) -> Result<Result<serde_json::Value, Acknowledgement>, Failure> {
    let now = chrono::Utc::now();
    let unknown_evse = || {
        refusal(
            Code::UnknownEvseId,
            &format!(
                "the OCPI CPO {}/{} sent no Location with EVSE {}",
                cpo.country_code.as_str(),
                cpo.party_id.as_str(),
                command.evse()
            ),
            command.session(),
        )
    };
    let ocpi_ctx = |location: EvseLocation| {
        Ok::<_, Failure>(ToOcpiCommandCtx {
            now,
            response_url: url(response_url)?,
            location,
            policy: policy.clone(),
            token: TokenCtx::new(now).with_issuer(own.name.clone()),
        })
    };
    Ok(Ok(match command {
        Command::Start(req) => {
            let Some(location) = evse_location(ctx, cpo, command.evse()).await? else {
                return Ok(Err(unknown_evse()));
            };
            let session = req.session_id.clone().ok_or_else(|| {
                Failure::new(Code::SystemError, "the remote start has no SessionID")
            })?;
            let mapped = remote_start_to_start_session(req, &session, &ocpi_ctx(location)?)
                .map_err(|e| mapping_failure(&e))?;
            json(&mapped.value)?
        }
        Command::Reserve(req) => {
            let Some(location) = evse_location(ctx, cpo, command.evse()).await? else {
                return Ok(Err(unknown_evse()));
            };
            let session = req.session_id.clone().ok_or_else(|| {
                Failure::new(Code::SystemError, "the reservation has no SessionID")
            })?;
            let mapped =
                remote_reservation_start_to_reserve_now(req, &session, &ocpi_ctx(location)?)
                    .map_err(|e| mapping_failure(&e))?;
            json(&mapped.value)?
        }
        Command::Stop(req) => {
            let id = ocpi_session(ctx, cpo, &req.session_id).await?;
            json(&remote_stop_to_stop_session(req, id, url(response_url)?).value)?
        }
        Command::Cancel(req) => {
            let mapped = remote_reservation_stop_to_cancel_reservation(req, url(response_url)?)
                .map_err(|e| mapping_failure(&e))?;
            json(&mapped.value)?
        }
    }))
}

fn json<T: Serialize>(value: &T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::new(Code::SystemError, e.to_string()))
}

/// Where `evse` is in the Locations the CPO `cpo` pushed to us.
async fn evse_location(
    ctx: &Ctx,
    cpo: &CredentialsRole,
    evse: &EvseId,
) -> Result<Option<EvseLocation>, Failure> {
    let found = ctx
        .state
        .store
        .ocpi_emsp_find_evse(
            cpo.country_code.as_str(),
            cpo.party_id.as_str(),
            &evse.canonical(),
        )
        .await?
        .into_iter()
        .find(|e| EvseId::parse(&e.evse_id.to_ascii_uppercase()).is_ok_and(|id| id == *evse));
    let stored = |x: &dyn std::fmt::Display| Failure::new(Code::SystemError, x.to_string());
    found
        .map(|e| {
            Ok(EvseLocation {
                location_id: LocationId::parse(&e.location_id).map_err(|x| stored(&x))?,
                evse_uid: EvseUid::parse(&e.evse_uid).map_err(|x| stored(&x))?,
                connector_ids: e
                    .connector_ids
                    .iter()
                    .filter_map(|c| ConnectorId::parse(c).ok())
                    .collect(),
            })
        })
        .transpose()
}

/// The OCPI session id of the OICP session `session` at the CPO `cpo` (see the module
/// documentation).
async fn ocpi_session(
    ctx: &Ctx,
    cpo: &CredentialsRole,
    session: &SessionId,
) -> Result<OcpiSessionId, Failure> {
    let (cc, pid) = (cpo.country_code.as_str(), cpo.party_id.as_str());
    let store = &ctx.state.store;
    let by_reference = store
        .ocpi_emsp_sessions_by_reference(cc, pid, session.as_str())
        .await?;
    let by_id = store
        .ocpi_emsp_get(EmspKey::new(EmspKind::Session, cc, pid, session.as_str()))
        .await?
        .and_then(|r| r.json.get("id")?.as_str().map(str::to_owned));
    let id = by_reference
        .into_iter()
        .next()
        .or(by_id)
        .unwrap_or_else(|| session.as_str().to_owned());
    OcpiSessionId::parse(&id).map_err(|e| Failure::new(Code::SystemError, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;
    use crate::ocpi::v221::commands::CommandResultType;

    fn accepted() -> CommandResult {
        CommandResult {
            result: CommandResultType::Accepted,
            message: None,
            extra: crate::oicp::v23::wire::Extra::new(),
        }
    }

    #[tokio::test]
    async fn a_result_reaches_only_the_command_of_its_partner_and_type() {
        let waiting = Waiting::default();
        let cpo = PartnerId::parse(Role::Cpo, "DE*GEF").unwrap();
        let other = PartnerId::parse(Role::Cpo, "DE*XYZ").unwrap();
        let (uid, rx) = waiting.expect(&cpo, &CommandType::StartSession);
        let e = waiting
            .deliver(&uid, &other, &CommandType::StartSession, accepted())
            .unwrap_err();
        assert_eq!(e.http_status(), 404);
        let e = waiting
            .deliver(&uid, &cpo, &CommandType::StopSession, accepted())
            .unwrap_err();
        assert_eq!(e.status_code(), 2001);
        assert_eq!(waiting.len(), 1);
        waiting
            .deliver(&uid, &cpo, &CommandType::StartSession, accepted())
            .unwrap();
        assert_eq!(rx.await.unwrap().result, CommandResultType::Accepted);
        assert!(waiting.is_empty());
        // Delivered once: a second result finds nothing.
        let again = waiting
            .deliver(&uid, &cpo, &CommandType::StartSession, accepted())
            .unwrap_err();
        assert_eq!(again.http_status(), 404);
        let (gone, _rx) = waiting.expect(&cpo, &CommandType::StopSession);
        drop(Forget(&waiting, &gone));
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_one_element_list_is_read_as_its_object() {
        let mut listed = Some(serde_json::json!([{"result": "ACCEPTED", "timeout": 30}]));
        unwrap_single(&mut listed);
        assert_eq!(
            listed,
            Some(serde_json::json!({"result": "ACCEPTED", "timeout": 30}))
        );
        let mut two = Some(serde_json::json!([1, 2]));
        unwrap_single(&mut two);
        assert_eq!(two, Some(serde_json::json!([1, 2])));
    }

    fn role(role: &str, cc: &str, pid: &str) -> CredentialsRole {
        crate::ocpi::v221::parse_value(&serde_json::json!({
            "role": role, "business_details": {"name": "X"}, "party_id": pid, "country_code": cc
        }))
        .unwrap()
    }

    #[test]
    fn the_command_goes_to_the_cpo_of_the_evse_else_the_peer_else_the_first() {
        let connection = OcpiConnection {
            peer_role: Role::Cpo,
            peer_id: "NL*AAA".into(),
            versions_url: "http://x/ocpi/versions".into(),
            version: "2.2.1".into(),
            endpoints: Vec::new(),
            roles: vec![
                role("EMSP", "NL", "EEE"),
                role("CPO", "NL", "AAA"),
                role("CPO", "nl", "bbb"),
            ],
            token_out: "out".into(),
            token_in: "in".into(),
            registered_by_us: true,
            updated_at: 0,
        };
        let id = |s: &str| PartnerId::parse(Role::Cpo, s).unwrap();
        let (a, b, c) = (id("NL*AAA"), id("NL*BBB"), id("NL*CCC"));
        let pick = |wanted: &[&PartnerId]| {
            cpo_role(&connection, wanted)
                .unwrap()
                .party_id
                .as_str()
                .to_owned()
        };
        assert_eq!(pick(&[&b, &a]), "bbb");
        assert_eq!(pick(&[&c, &a]), "AAA");
        assert_eq!(pick(&[&c]), "AAA");
        let emsp_only = OcpiConnection {
            roles: vec![role("EMSP", "NL", "EEE")],
            ..connection
        };
        let e = cpo_role(&emsp_only, &[&a]).unwrap_err();
        assert_eq!(*e.code(), Code::ServiceNotAvailable);
    }

    #[tokio::test]
    async fn only_an_own_emp_with_an_ocpi_identity_sends_commands() {
        let config = crate::config::Config::parse(
            "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\n\n[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\n",
            "t.toml",
        )
        .unwrap();
        let store = crate::store::Store::open_in_memory().await.unwrap();
        let state = OcpiState::load(&config, &store, 9).await.unwrap();
        let gdf = PartnerId::parse(Role::Emp, "DE-GDF").unwrap();
        assert_eq!(own_emsp(&state, Some(&gdf)).unwrap().id, gdf);
        let other = PartnerId::parse(Role::Emp, "DE-XYZ").unwrap();
        assert_eq!(
            *own_emsp(&state, Some(&other)).unwrap_err().code(),
            Code::NoValidContract
        );
        assert_eq!(
            *own_emsp(&state, None).unwrap_err().code(),
            Code::SystemError
        );
    }

    #[test]
    fn only_the_four_remote_operations_are_commands() {
        assert!(handles(Operation::AuthorizeRemoteStart));
        assert!(handles(Operation::AuthorizeRemoteReservationStop));
        assert!(!handles(Operation::AuthorizeStart));
        assert!(!handles(Operation::PushEvseData));
    }
}
