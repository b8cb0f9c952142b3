//! OICP remote start/stop and remote reservations <-> OCPI commands
//! (`oicp-ocpi-mapping.md` §0, §5, §9 P23-P25), with the timeout policy that joins OICP's
//! synchronous answer to OCPI's asynchronous result.
//!
//! # Requests
//! | OICP | OCPI | rule |
//! |---|---|---|
//! | `AuthorizeRemoteStart` | `START_SESSION` | token from the `RemoteIdentification` (`APP_USER`, `uid = contract_id = EvcoID`); `authorization_reference := SessionID`; `location_id`/`evse_uid` from the bridge's EVSE lookup; `connector_id` the only or first connector (P25) |
//! | `AuthorizeRemoteStop` | `STOP_SESSION` | `session_id` the OCPI session the bridge mapped the `SessionID` to |
//! | `AuthorizeRemoteReservationStart` | `RESERVE_NOW` | `reservation_id := authorization_reference := SessionID`; `expiry_date := now + Duration` (default [`CommandPolicy::default_reservation_minutes`]) |
//! | `AuthorizeRemoteReservationStop` | `CANCEL_RESERVATION` | `reservation_id := SessionID` |
//! | — | `UNLOCK_CONNECTOR` | no OICP form: [`unsupported_command_response`] (`NOT_SUPPORTED`) |
//!
//! The reverse functions build the OICP request from an OCPI command: `ProviderID` from the
//! token's party, `SessionID` from `authorization_reference` when it is a GUID, else the GUID the
//! caller minted; `Duration` from `expiry_date - now` in whole minutes, clamped to 1..=99.
//! `response_url` is the caller's to keep (passed in or returned, never lost). Of a command's
//! Token only the contract id reaches OICP (`RemoteIdentification`); the rest is the eMSP's own
//! data, which the OICP side never sees, and a differing `uid` is noted.
//!
//! # Answers (P23)
//! *OICP caller, OCPI CPO*: the OCPI CPO answers `CommandResponse` at once and POSTs the
//! `CommandResult` later. The OICP caller needs one synchronous `eRoamingAcknowledgement` within
//! Hubject's 10 s, so the bridge waits for the result at most
//! [`CommandPolicy::wait_for_result`] (and never longer than the `timeout` the CPO gave), then
//! answers with [`command_outcome_to_acknowledgement`]:
//!
//! | outcome | `Result` | code |
//! |---|---|---|
//! | result `ACCEPTED` (`CANCELED_RESERVATION` for a cancel) | true | 000 |
//! | response `ACCEPTED`, no result in time | per [`AcceptedWithoutResult`]: true 000 (default), or false 501 |
//! | result `EVSE_OCCUPIED` | false | 602 |
//! | result `EVSE_INOPERATIVE` | false | 700 |
//! | result `REJECTED` | false | 210 (start, reserve), 400 (stop, cancel) |
//! | result `FAILED`, `TIMEOUT`, `CANCELED_RESERVATION` (not a cancel), unknown | false | 501 |
//! | result `NOT_SUPPORTED`, response `NOT_SUPPORTED` | false | 604 |
//! | result `UNKNOWN_RESERVATION`, response `UNKNOWN_SESSION` | false | 400 |
//! | response `REJECTED` | false | 603 (start, reserve), 400 (stop, cancel) |
//! | no response (CPO unreachable, HTTP timeout) | false | 501 |
//!
//! The OCPI values and messages go into `StatusCode.AdditionalInfo`, so nothing is lost. A
//! session that starts after a timed-out answer is still accepted (P24: the caller keeps the
//! `authorization_reference`).
//!
//! *OCPI caller, OICP CPO*: the bridge answers [`command_accepted_response`] at once (timeout
//! [`CommandPolicy::ocpi_result_timeout_secs`]), sends the OICP request, and POSTs
//! [`acknowledgement_to_command_result`] (or `TIMEOUT` when the OICP CPO does not answer).

use std::time::Duration;

use chrono::Utc;

use super::notes::{Notes, built, loaded};
use super::token::{TokenCtx, identification_to_token, token_identification};
use super::{Mapped, MappingError};
use crate::ocpi::v221::commands::{
    CancelReservation, CommandResponse, CommandResponseType, CommandResult, CommandResultType,
    CommandType, ReserveNow, StartSession, StopSession,
};
use crate::ocpi::v221::ids::{
    AuthorizationReference, ConnectorId, EvseUid, LocationId, ReservationId,
    SessionId as OcpiSessionId,
};
use crate::ocpi::v221::tokens::Token;
use crate::ocpi::v221::types::{DateTime, DisplayText, OcpiString, Url};
use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::authorization::{
    AuthorizeRemoteReservationStart, AuthorizeRemoteReservationStop, AuthorizeRemoteStart,
    AuthorizeRemoteStop,
};
use crate::oicp::v23::ids::{EvseId, ProviderId, SessionId};
use crate::oicp::v23::scalars::{Int, Text};
use crate::oicp::v23::status::{Code, StatusCode};
use crate::oicp::v23::wire::Extra;

/// What an OCPI `CommandResponse: ACCEPTED` without a `CommandResult` in time becomes in OICP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AcceptedWithoutResult {
    /// `Result: true`, `000`: the CPO accepted the command; a late session is accepted (P24).
    #[default]
    Acknowledge,
    /// `Result: false`, `501`: only a confirmed result counts.
    Fail,
}

/// The timeout policy of commands across the protocols (P23); per partner if they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandPolicy {
    /// How long an OICP answer waits for the OCPI `CommandResult` (default 8 s: Hubject wants
    /// answers within 10 s).
    pub wait_for_result: Duration,
    /// What a `CommandResponse: ACCEPTED` without a result in time becomes.
    pub accepted_without_result: AcceptedWithoutResult,
    /// The `timeout` of the bridge's own `CommandResponse` to an OCPI caller (default 30 s).
    pub ocpi_result_timeout_secs: i64,
    /// Reservation length when `AuthorizeRemoteReservationStart` has no `Duration` (default 15).
    pub default_reservation_minutes: i64,
}

impl Default for CommandPolicy {
    fn default() -> Self {
        Self {
            wait_for_result: Duration::from_secs(8),
            accepted_without_result: AcceptedWithoutResult::Acknowledge,
            ocpi_result_timeout_secs: 30,
            default_reservation_minutes: 15,
        }
    }
}

impl CommandPolicy {
    /// Sets what an accepted command without a result in time becomes.
    #[must_use]
    pub fn with_accepted_without_result(mut self, v: AcceptedWithoutResult) -> Self {
        self.accepted_without_result = v;
        self
    }

    /// Sets the wait for the asynchronous result.
    #[must_use]
    pub fn with_wait_for_result(mut self, wait: Duration) -> Self {
        self.wait_for_result = wait;
        self
    }

    /// How long to wait for the `CommandResult` after `response`: the policy's wait, but not
    /// longer than the CPO's `timeout`; zero when the response is not `ACCEPTED`.
    pub fn result_wait(&self, response: &CommandResponse) -> Duration {
        if response.result != CommandResponseType::Accepted {
            return Duration::ZERO;
        }
        let cpo = Duration::from_secs(u64::try_from(response.timeout.max(0)).unwrap_or(0));
        self.wait_for_result.min(cpo)
    }
}

/// Where an OICP EVSE is on the OCPI side (from the bridge's EVSE data).
#[derive(Debug, Clone, PartialEq)]
pub struct EvseLocation {
    /// The Location.
    pub location_id: LocationId,
    /// The EVSE.
    pub evse_uid: EvseUid,
    /// Its connectors, in order (the first is used when the CPO needs one, P25).
    pub connector_ids: Vec<ConnectorId>,
}

/// Context of an OICP remote operation sent to an OCPI CPO.
#[derive(Debug, Clone, PartialEq)]
pub struct ToOcpiCommandCtx {
    /// "Now" (reservation expiry, token `last_updated`).
    pub now: chrono::DateTime<Utc>,
    /// Where the CPO is to POST the `CommandResult` (the bridge's own URL).
    pub response_url: Url,
    /// The EVSE on the OCPI side.
    pub location: EvseLocation,
    /// The policy.
    pub policy: CommandPolicy,
    /// Token policy (issuer) for the token the command carries.
    pub token: TokenCtx,
}

fn token_from(
    id: &crate::oicp::v23::common::Identification,
    provider: &ProviderId,
    ctx: &ToOcpiCommandCtx,
    notes: &mut Notes,
) -> Result<Token, MappingError> {
    let t = loaded("Identification")?;
    let issuer = ctx
        .token
        .issuer
        .clone()
        .unwrap_or_else(|| provider.normalized());
    let mut tn = Notes::new(notes.path("Identification"));
    let token = identification_to_token(id, provider, &issuer, t, &ctx.token, &mut tn)?
        .ok_or_else(|| tn.error("", "no OCPI token form"))?;
    notes.losses.append(&mut tn.losses);
    Ok(token)
}

fn reference(session: &SessionId) -> Result<AuthorizationReference, MappingError> {
    built("SessionID", AuthorizationReference::parse(session.as_str()))
}

/// Notes the members of an OICP remote request that OCPI commands have no place for: partner
/// session ids (kept by the bridge) and the product (`what` names the command).
fn note_session_extras<A, B, C>(
    ids: (Option<&A>, Option<&B>),
    product: Option<&C>,
    what: &str,
    notes: &mut Notes,
) {
    notes.add_if(
        ids.0.is_some(),
        "CPOPartnerSessionID",
        "OCPI has no partner session ids (kept by the bridge)",
    );
    notes.add_if(
        ids.1.is_some(),
        "EMPPartnerSessionID",
        "OCPI has no partner session ids (kept by the bridge)",
    );
    notes.add_if(
        product.is_some(),
        "PartnerProductID",
        &format!("OCPI {what} names no product"),
    );
}

/// OICP `AuthorizeRemoteStart` -> OCPI `START_SESSION`. `session_id` is the request's
/// `SessionID`, or the one the bridge minted when the EMP sent none.
///
/// # Errors
/// When the identification has no OCPI token form or a built value is refused.
pub fn remote_start_to_start_session(
    req: &AuthorizeRemoteStart,
    session_id: &SessionId,
    ctx: &ToOcpiCommandCtx,
) -> Result<Mapped<StartSession>, MappingError> {
    let mut notes = Notes::new("");
    let token = token_from(&req.identification, &req.provider_id, ctx, &mut notes)?;
    note_session_extras(
        (
            req.cpo_partner_session_id.as_ref(),
            req.emp_partner_session_id.as_ref(),
        ),
        req.partner_product_id.as_ref(),
        "START_SESSION",
        &mut notes,
    );
    Ok(Mapped {
        value: StartSession {
            response_url: ctx.response_url.clone(),
            token,
            location_id: ctx.location.location_id.clone(),
            evse_uid: Some(ctx.location.evse_uid.clone()),
            connector_id: ctx.location.connector_ids.first().cloned(),
            authorization_reference: Some(reference(session_id)?),
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// OICP `AuthorizeRemoteStop` -> OCPI `STOP_SESSION`; `session_id` is the OCPI session the
/// bridge mapped the request's `SessionID` to.
pub fn remote_stop_to_stop_session(
    req: &AuthorizeRemoteStop,
    session_id: OcpiSessionId,
    response_url: Url,
) -> Mapped<StopSession> {
    let mut notes = Notes::new("");
    note_session_extras(
        (
            req.cpo_partner_session_id.as_ref(),
            req.emp_partner_session_id.as_ref(),
        ),
        None::<&()>,
        "",
        &mut notes,
    );
    Mapped {
        value: StopSession {
            response_url,
            session_id,
            extra: Extra::new(),
        },
        losses: notes.losses,
    }
}

/// OICP `AuthorizeRemoteReservationStart` -> OCPI `RESERVE_NOW`.
///
/// # Errors
/// When the identification has no OCPI token form or a built value is refused.
pub fn remote_reservation_start_to_reserve_now(
    req: &AuthorizeRemoteReservationStart,
    session_id: &SessionId,
    ctx: &ToOcpiCommandCtx,
) -> Result<Mapped<ReserveNow>, MappingError> {
    let mut notes = Notes::new("");
    let token = token_from(&req.identification, &req.provider_id, ctx, &mut notes)?;
    let minutes = req.duration.map_or_else(
        || {
            notes.add(
                "Duration",
                format!(
                    "absent: the reservation lasts the configured {} minutes",
                    ctx.policy.default_reservation_minutes
                ),
            );
            ctx.policy.default_reservation_minutes
        },
        Int::get,
    );
    note_session_extras(
        (
            req.cpo_partner_session_id.as_ref(),
            req.emp_partner_session_id.as_ref(),
        ),
        req.partner_product_id.as_ref(),
        "RESERVE_NOW",
        &mut notes,
    );
    Ok(Mapped {
        value: ReserveNow {
            response_url: ctx.response_url.clone(),
            token,
            expiry_date: DateTime::from_utc(ctx.now + chrono::Duration::minutes(minutes)),
            reservation_id: built("SessionID", ReservationId::parse(session_id.as_str()))?,
            location_id: ctx.location.location_id.clone(),
            evse_uid: Some(ctx.location.evse_uid.clone()),
            authorization_reference: Some(reference(session_id)?),
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// OICP `AuthorizeRemoteReservationStop` -> OCPI `CANCEL_RESERVATION` (`reservation_id :=
/// SessionID`).
///
/// # Errors
/// When a built value is refused (a bug).
pub fn remote_reservation_stop_to_cancel_reservation(
    req: &AuthorizeRemoteReservationStop,
    response_url: Url,
) -> Result<Mapped<CancelReservation>, MappingError> {
    let mut notes = Notes::new("");
    note_session_extras(
        (
            req.cpo_partner_session_id.as_ref(),
            req.emp_partner_session_id.as_ref(),
        ),
        None::<&()>,
        "",
        &mut notes,
    );
    Ok(Mapped {
        value: CancelReservation {
            response_url,
            reservation_id: built("SessionID", ReservationId::parse(req.session_id.as_str()))?,
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// The synchronous answer to a command with no OICP form (`UNLOCK_CONNECTOR`).
pub fn unsupported_command_response() -> CommandResponse {
    CommandResponse {
        result: CommandResponseType::NotSupported,
        timeout: 0,
        message: english("OICP has no such command"),
        extra: Extra::new(),
    }
}

/// What came back from the OCPI CPO for a command the bridge sent for an OICP caller.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandOutcome {
    /// No `CommandResponse` (CPO unreachable, HTTP timeout, OCPI error status).
    NoResponse,
    /// A `CommandResponse`, and the `CommandResult` if it came within the wait.
    Answered {
        /// The synchronous answer.
        response: CommandResponse,
        /// The asynchronous result, `None` when it did not come in time.
        result: Option<CommandResult>,
    },
}

fn messages(list: Option<&Vec<DisplayText>>) -> String {
    use std::fmt::Write as _;
    list.map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .fold(String::new(), |mut out, m| {
            let _ = write!(out, " ({}) {}", m.language, m.text);
            out
        })
}

/// The OICP `eRoamingAcknowledgement` for a command outcome (table in the module
/// documentation). `session_id` is the OICP session the command is about.
pub fn command_outcome_to_acknowledgement(
    command: &CommandType,
    outcome: &CommandOutcome,
    session_id: Option<SessionId>,
    policy: &CommandPolicy,
) -> Acknowledgement {
    let ends = matches!(
        command,
        CommandType::StopSession | CommandType::CancelReservation
    );
    let (ok, code, info) = match outcome {
        CommandOutcome::NoResponse => (
            false,
            Code::CommunicationToEvseFailed,
            "no OCPI CommandResponse".to_owned(),
        ),
        CommandOutcome::Answered { response, result } => {
            let info = format!(
                "OCPI CommandResponse {}{}",
                response.result,
                messages(response.message.as_ref())
            );
            match (&response.result, result) {
                (CommandResponseType::Accepted, Some(r)) => {
                    let info = format!(
                        "{info}; CommandResult {}{}",
                        r.result,
                        messages(r.message.as_ref())
                    );
                    let (ok, code) = result_code(command, &r.result, ends);
                    (ok, code, info)
                }
                (CommandResponseType::Accepted, None) => match policy.accepted_without_result {
                    AcceptedWithoutResult::Acknowledge => (
                        true,
                        Code::Success,
                        format!("{info}; no CommandResult within the wait"),
                    ),
                    AcceptedWithoutResult::Fail => (
                        false,
                        Code::CommunicationToEvseFailed,
                        format!("{info}; no CommandResult within the wait"),
                    ),
                },
                (CommandResponseType::NotSupported, _) => {
                    (false, Code::EvseNotHubjectCompatible, info)
                }
                (CommandResponseType::UnknownSession, _) => (false, Code::SessionIsInvalid, info),
                (CommandResponseType::Rejected, _) if ends => (false, Code::SessionIsInvalid, info),
                (CommandResponseType::Rejected, _) => (false, Code::UnknownEvseId, info),
                (CommandResponseType::Unknown(_), _) => {
                    (false, Code::CommunicationToEvseFailed, info)
                }
            }
        }
    };
    let mut status = StatusCode::new(code);
    status.additional_info = Some(Text::truncated(&info));
    let mut ack = Acknowledgement::with_status(ok, status);
    ack.session_id = session_id;
    ack
}

fn result_code(command: &CommandType, result: &CommandResultType, ends: bool) -> (bool, Code) {
    match result {
        CommandResultType::Accepted => (true, Code::Success),
        CommandResultType::CanceledReservation if *command == CommandType::CancelReservation => {
            (true, Code::Success)
        }
        CommandResultType::EvseOccupied => (false, Code::EvseAlreadyInUse),
        CommandResultType::EvseInoperative => (false, Code::EvseOutOfService),
        CommandResultType::Rejected if ends => (false, Code::SessionIsInvalid),
        CommandResultType::Rejected => (false, Code::NoValidContract),
        CommandResultType::NotSupported => (false, Code::EvseNotHubjectCompatible),
        CommandResultType::UnknownReservation => (false, Code::SessionIsInvalid),
        CommandResultType::Failed
        | CommandResultType::Timeout
        | CommandResultType::CanceledReservation
        | CommandResultType::Unknown(_) => (false, Code::CommunicationToEvseFailed),
    }
}

// ---------------------------------------------------------------------------------------------
// OCPI caller, OICP CPO

/// The bridge's immediate answer to an OCPI command it forwards to an OICP CPO.
pub fn command_accepted_response(policy: &CommandPolicy) -> CommandResponse {
    CommandResponse {
        result: CommandResponseType::Accepted,
        timeout: policy.ocpi_result_timeout_secs,
        message: None,
        extra: Extra::new(),
    }
}

/// The OCPI `CommandResult` for the OICP CPO's acknowledgement (`None`: no answer in time ->
/// `TIMEOUT`). `Result: true` -> `ACCEPTED`; 601/602 -> `EVSE_OCCUPIED`; 700 ->
/// `EVSE_INOPERATIVE`; 604 -> `NOT_SUPPORTED`; 400 -> `UNKNOWN_RESERVATION` for a cancel, else
/// `REJECTED`; 102/200/210/603 and other 1xx/2xx/6xx -> `REJECTED`; 310 -> `TIMEOUT`; others
/// -> `FAILED`. The OICP code and description become the message.
pub fn acknowledgement_to_command_result(
    command: &CommandType,
    ack: Option<&Acknowledgement>,
) -> CommandResult {
    let Some(ack) = ack else {
        return CommandResult {
            result: CommandResultType::Timeout,
            message: None,
            extra: Extra::new(),
        };
    };
    let code = &ack.status_code.code;
    let result = if ack.result {
        CommandResultType::Accepted
    } else {
        match code {
            Code::EvseAlreadyReserved | Code::EvseAlreadyInUse => CommandResultType::EvseOccupied,
            Code::EvseOutOfService => CommandResultType::EvseInoperative,
            Code::EvseNotHubjectCompatible => CommandResultType::NotSupported,
            Code::SessionIsInvalid if *command == CommandType::CancelReservation => {
                CommandResultType::UnknownReservation
            }
            Code::PartnerDidNotRespond => CommandResultType::Timeout,
            c if matches!(
                c.as_str().as_bytes().first(),
                Some(b'1' | b'2' | b'4' | b'6')
            ) =>
            {
                CommandResultType::Rejected
            }
            _ => CommandResultType::Failed,
        }
    };
    let text = format!(
        "OICP {} {}",
        code,
        ack.status_code
            .description
            .as_ref()
            .map_or(code.description(), |d| d.as_str())
    );
    CommandResult {
        result,
        message: english(&text),
        extra: Extra::new(),
    }
}

/// Context of an OCPI command sent on to an OICP CPO.
#[derive(Debug, Clone, PartialEq)]
pub struct ToOicpCommandCtx {
    /// "Now" (reservation duration).
    pub now: chrono::DateTime<Utc>,
    /// The OICP EVSE the bridge found for `location_id`/`evse_uid`.
    pub evse_id: EvseId,
    /// The `SessionID` to use when the command has no GUID `authorization_reference` (minted
    /// by the caller, P6), and for stop/cancel the OICP session the bridge mapped the OCPI id
    /// to.
    pub session_id: SessionId,
}

fn session_of(
    reference: Option<&AuthorizationReference>,
    ctx: &ToOicpCommandCtx,
    notes: &mut Notes,
) -> SessionId {
    super::notes::session_from_reference(reference, &ctx.session_id, notes)
}

fn provider_and_identification(
    token: &Token,
    notes: &mut Notes,
) -> Result<(ProviderId, crate::oicp::v23::common::Identification), MappingError> {
    let t = loaded("token")?;
    let provider = super::token::token_provider(token, "token")?;
    let mut tn = Notes::new(notes.path("token"));
    // OICP remote operations take only RemoteIdentification: the contract id.
    let evco = token_identification(
        token.contract_id.as_str(),
        &crate::ocpi::v221::tokens::TokenType::AppUser,
        Some(token.contract_id.as_str()),
        t,
        &mut tn,
    );
    notes.losses.append(&mut tn.losses);
    let Some(id) = evco else {
        return Err(MappingError::new(
            "token.contract_id",
            "not an OICP EvcoID: OICP remote operations need a RemoteIdentification",
        ));
    };
    notes.add_if(
        !token.uid.eq_ignore_case(token.contract_id.as_str()),
        "token.uid",
        "OICP RemoteIdentification carries only the contract id; not carried",
    );
    Ok((provider, id))
}

/// OCPI `START_SESSION` -> OICP `AuthorizeRemoteStart`.
///
/// # Errors
/// When the token's `contract_id` is not an OICP `EvcoID`.
pub fn start_session_to_remote_start(
    cmd: &StartSession,
    ctx: &ToOicpCommandCtx,
) -> Result<Mapped<AuthorizeRemoteStart>, MappingError> {
    let mut notes = Notes::new("");
    let (provider_id, identification) = provider_and_identification(&cmd.token, &mut notes)?;
    let session_id = session_of(cmd.authorization_reference.as_ref(), ctx, &mut notes);
    notes.add_if(
        cmd.connector_id.is_some(),
        "connector_id",
        "OICP remote start names no connector",
    );
    Ok(Mapped {
        value: AuthorizeRemoteStart {
            session_id: Some(session_id),
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id,
            evse_id: ctx.evse_id.clone(),
            identification,
            partner_product_id: None,
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// OCPI `STOP_SESSION` -> OICP `AuthorizeRemoteStop` (`ctx.session_id` is the OICP session the
/// bridge mapped the OCPI `session_id` to; `provider_id` the eMSP that sent the command).
pub fn stop_session_to_remote_stop(
    ctx: &ToOicpCommandCtx,
    provider_id: ProviderId,
) -> AuthorizeRemoteStop {
    AuthorizeRemoteStop {
        session_id: ctx.session_id.clone(),
        cpo_partner_session_id: None,
        emp_partner_session_id: None,
        provider_id,
        evse_id: ctx.evse_id.clone(),
        extra: Extra::new(),
    }
}

/// OCPI `RESERVE_NOW` -> OICP `AuthorizeRemoteReservationStart`.
///
/// # Errors
/// When the token's `contract_id` is not an OICP `EvcoID`.
pub fn reserve_now_to_remote_reservation_start(
    cmd: &ReserveNow,
    ctx: &ToOicpCommandCtx,
) -> Result<Mapped<AuthorizeRemoteReservationStart>, MappingError> {
    let mut notes = Notes::new("");
    let (provider_id, identification) = provider_and_identification(&cmd.token, &mut notes)?;
    let session_id = if let Ok(id) = SessionId::parse(cmd.reservation_id.as_str()) {
        id
    } else {
        notes.add(
            "reservation_id",
            "not a GUID: OICP names the reservation by its SessionID; the bridge keeps the pair",
        );
        session_of(cmd.authorization_reference.as_ref(), ctx, &mut notes)
    };
    let seconds = (cmd.expiry_date.value() - ctx.now).num_seconds();
    let minutes = (seconds + 59).div_euclid(60);
    let clamped = minutes.clamp(1, 99);
    if clamped != minutes || seconds % 60 != 0 {
        notes.add(
            "expiry_date",
            format!("OICP Duration is 1 to 99 whole minutes: {clamped} minutes are sent"),
        );
    }
    Ok(Mapped {
        value: AuthorizeRemoteReservationStart {
            session_id: Some(session_id),
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id,
            evse_id: ctx.evse_id.clone(),
            identification,
            partner_product_id: None,
            duration: Int::new(clamped).ok(),
            extra: Extra::new(),
        },
        losses: notes.losses,
    })
}

/// OCPI `CANCEL_RESERVATION` -> OICP `AuthorizeRemoteReservationStop`. The `SessionID` is the
/// `reservation_id` when it is a GUID (as [`remote_reservation_start_to_reserve_now`] makes
/// it), else `ctx.session_id`.
pub fn cancel_reservation_to_remote_reservation_stop(
    cmd: &CancelReservation,
    ctx: &ToOicpCommandCtx,
    provider_id: ProviderId,
) -> AuthorizeRemoteReservationStop {
    AuthorizeRemoteReservationStop {
        session_id: SessionId::parse(cmd.reservation_id.as_str())
            .unwrap_or_else(|_| ctx.session_id.clone()),
        cpo_partner_session_id: None,
        emp_partner_session_id: None,
        provider_id,
        evse_id: ctx.evse_id.clone(),
        extra: Extra::new(),
    }
}

/// A one-entry English `message`, cut to the 512 characters of `DisplayText`.
fn english(text: &str) -> Option<Vec<DisplayText>> {
    let cut: String = text.chars().take(512).collect();
    Some(vec![DisplayText {
        language: OcpiString::parse("en").ok()?,
        text: OcpiString::parse(&cut).ok()?,
        extra: Extra::new(),
    }])
}
