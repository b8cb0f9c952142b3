//! Commands module (`commands`): the five command bodies an eMSP POSTs to
//! `{commands_url}/{command}`, the CPO's synchronous `CommandResponse` and the asynchronous
//! `CommandResult` (ocpi-2.2.1.md §4.6, §5).

use super::ids::{
    AuthorizationReference, ConnectorId, EvseUid, LocationId, ReservationId, SessionId,
};
use super::tokens::Token;
use super::types::{DateTime, DisplayText, Url};
use super::{Validate, ValidationError, Validator, each_opt, no_cross_member_rules, parse};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `CommandType`: the last URL segment of a command request (ocpi-2.2.1.md §5, §4.6).
    pub enum CommandType {
        CancelReservation = "CANCEL_RESERVATION",
        ReserveNow = "RESERVE_NOW",
        StartSession = "START_SESSION",
        StopSession = "STOP_SESSION",
        UnlockConnector = "UNLOCK_CONNECTOR",
    }
}

wire_enum! {
    /// `CommandResponseType`: the CPO's synchronous verdict (ocpi-2.2.1.md §5).
    pub enum CommandResponseType {
        NotSupported = "NOT_SUPPORTED",
        Rejected = "REJECTED",
        Accepted = "ACCEPTED",
        UnknownSession = "UNKNOWN_SESSION",
    }
}

wire_enum! {
    /// `CommandResultType`: the Charge Point's result, sent by POST to the `response_url`
    /// (ocpi-2.2.1.md §5).
    pub enum CommandResultType {
        Accepted = "ACCEPTED",
        CanceledReservation = "CANCELED_RESERVATION",
        EvseOccupied = "EVSE_OCCUPIED",
        EvseInoperative = "EVSE_INOPERATIVE",
        Failed = "FAILED",
        NotSupported = "NOT_SUPPORTED",
        Rejected = "REJECTED",
        Timeout = "TIMEOUT",
        UnknownReservation = "UNKNOWN_RESERVATION",
    }
}

wire_struct! {
    /// `StartSession` (ocpi-2.2.1.md §5, §4.6). The token is pre-authorized by the eMSP.
    pub struct StartSession {
        /// Where the `CommandResult` goes.
        req "response_url" => response_url: Url,
        /// The token to start with.
        req "token" => token: Token,
        /// The Location.
        req "location_id" => location_id: LocationId,
        /// The EVSE; required when `connector_id` is given.
        opt "evse_uid" => evse_uid: EvseUid,
        /// The Connector; required by EVSEs with `START_SESSION_CONNECTOR_REQUIRED`.
        opt "connector_id" => connector_id: ConnectorId,
        /// Reference to echo in the Session and CDR.
        opt "authorization_reference" => authorization_reference: AuthorizationReference,
    }
}

wire_struct! {
    /// `StopSession` (ocpi-2.2.1.md §5, §4.6).
    pub struct StopSession {
        /// Where the `CommandResult` goes.
        req "response_url" => response_url: Url,
        /// The session to stop.
        req "session_id" => session_id: SessionId,
    }
}

wire_struct! {
    /// `ReserveNow` (ocpi-2.2.1.md §5, §4.6). The same `reservation_id` replaces a reservation.
    pub struct ReserveNow {
        /// Where the `CommandResult` goes.
        req "response_url" => response_url: Url,
        /// The token to reserve for.
        req "token" => token: Token,
        /// When the reservation ends.
        req "expiry_date" => expiry_date: DateTime,
        /// The eMSP's reservation id.
        req "reservation_id" => reservation_id: ReservationId,
        /// The Location.
        req "location_id" => location_id: LocationId,
        /// A specific EVSE.
        opt "evse_uid" => evse_uid: EvseUid,
        /// Reference to echo in the Session and CDR.
        opt "authorization_reference" => authorization_reference: AuthorizationReference,
    }
}

wire_struct! {
    /// `CancelReservation` (ocpi-2.2.1.md §5, §4.6).
    pub struct CancelReservation {
        /// Where the `CommandResult` goes.
        req "response_url" => response_url: Url,
        /// The reservation to cancel.
        req "reservation_id" => reservation_id: ReservationId,
    }
}

wire_struct! {
    /// `UnlockConnector` (ocpi-2.2.1.md §5, §4.6), for operators and helpdesks only.
    pub struct UnlockConnector {
        /// Where the `CommandResult` goes.
        req "response_url" => response_url: Url,
        /// The Location.
        req "location_id" => location_id: LocationId,
        /// The EVSE.
        req "evse_uid" => evse_uid: EvseUid,
        /// The Connector.
        req "connector_id" => connector_id: ConnectorId,
    }
}

wire_struct! {
    /// `CommandResponse` (ocpi-2.2.1.md §5, §4.6): the CPO's synchronous answer to a command.
    pub struct CommandResponse {
        /// The verdict.
        req "result" => result: CommandResponseType,
        /// Seconds the eMSP should wait for the `CommandResult`.
        req "timeout" => timeout: i64,
        /// Explanation, in several languages.
        optlist "message" => message: DisplayText,
    }
}

wire_struct! {
    /// `CommandResult` (ocpi-2.2.1.md §5, §4.6): the Charge Point's result, sent by the CPO with POST
    /// to the command's `response_url`.
    pub struct CommandResult {
        /// The result.
        req "result" => result: CommandResultType,
        /// Explanation, in several languages.
        optlist "message" => message: DisplayText,
    }
}

/// The body of a command request, by [`CommandType`] (ocpi-2.2.1.md §4.6).
#[derive(Debug, Clone, PartialEq)]
pub enum CommandRequest {
    /// `CANCEL_RESERVATION`
    CancelReservation(CancelReservation),
    /// `RESERVE_NOW`
    ReserveNow(ReserveNow),
    /// `START_SESSION`
    StartSession(StartSession),
    /// `STOP_SESSION`
    StopSession(StopSession),
    /// `UNLOCK_CONNECTOR`
    UnlockConnector(UnlockConnector),
}

impl CommandRequest {
    /// Parses the body of a POST to `{commands_url}/{command}` as the type of `command`.
    ///
    /// # Errors
    /// Every defect of the body, or one error at `$` for a command type outside the spec.
    pub fn parse(command: &CommandType, body: &[u8]) -> Result<Self, Vec<ValidationError>> {
        Ok(match command {
            CommandType::CancelReservation => Self::CancelReservation(parse(body)?),
            CommandType::ReserveNow => Self::ReserveNow(parse(body)?),
            CommandType::StartSession => Self::StartSession(parse(body)?),
            CommandType::StopSession => Self::StopSession(parse(body)?),
            CommandType::UnlockConnector => Self::UnlockConnector(parse(body)?),
            CommandType::Unknown(other) => return Err(Validator::run(&UnknownCommand(other))),
        })
    }

    /// The command type of this body.
    pub fn command_type(&self) -> CommandType {
        match self {
            Self::CancelReservation(_) => CommandType::CancelReservation,
            Self::ReserveNow(_) => CommandType::ReserveNow,
            Self::StartSession(_) => CommandType::StartSession,
            Self::StopSession(_) => CommandType::StopSession,
            Self::UnlockConnector(_) => CommandType::UnlockConnector,
        }
    }

    /// Where the `CommandResult` goes.
    pub fn response_url(&self) -> &Url {
        match self {
            Self::CancelReservation(c) => &c.response_url,
            Self::ReserveNow(c) => &c.response_url,
            Self::StartSession(c) => &c.response_url,
            Self::StopSession(c) => &c.response_url,
            Self::UnlockConnector(c) => &c.response_url,
        }
    }
}

/// A command type outside the spec, reported as one error at `$`.
struct UnknownCommand<'a>(&'a str);

impl Validate for UnknownCommand<'_> {
    fn validate(&self, v: &mut Validator) {
        v.error(format!("'{}' is not a command of OCPI 2.2.1", self.0));
    }
}

impl Validate for StartSession {
    /// ocpi-2.2.1.md §5 `StartSession`: `evse_uid` is required when `connector_id` is set.
    fn validate(&self, v: &mut Validator) {
        if self.connector_id.is_some() && self.evse_uid.is_none() {
            v.error_at("evse_uid", "evse_uid is required when connector_id is set");
        }
        v.nested("token", &self.token);
    }
}

impl Validate for ReserveNow {
    fn validate(&self, v: &mut Validator) {
        v.nested("token", &self.token);
    }
}

impl Validate for CommandResponse {
    fn validate(&self, v: &mut Validator) {
        each_opt(v, "message", self.message.as_ref());
    }
}

impl Validate for CommandResult {
    fn validate(&self, v: &mut Validator) {
        each_opt(v, "message", self.message.as_ref());
    }
}

impl Validate for CommandRequest {
    fn validate(&self, v: &mut Validator) {
        match self {
            Self::CancelReservation(c) => c.validate(v),
            Self::ReserveNow(c) => c.validate(v),
            Self::StartSession(c) => c.validate(v),
            Self::StopSession(c) => c.validate(v),
            Self::UnlockConnector(c) => c.validate(v),
        }
    }
}

no_cross_member_rules!(
    StopSession,
    CancelReservation,
    UnlockConnector,
    CommandType,
    CommandResponseType,
    CommandResultType,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_paths(errors: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn token() -> serde_json::Value {
        serde_json::json!({
            "country_code": "DE", "party_id": "EMP", "uid": "app-7f3c", "type": "APP_USER",
            "contract_id": "DE-EMP-C12345678-X", "issuer": "Example Mobility",
            "valid": true, "whitelist": "NEVER", "last_updated": "2024-04-30T08:00:00Z"
        })
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn start_session_round_trips_and_needs_an_evse_for_a_connector() {
        let v = serde_json::json!({
            "response_url": "https://emsp.example/ocpi/2.2.1/commands/START_SESSION/91",
            "token": token(), "location_id": "site-7", "evse_uid": "evse-7-1",
            "connector_id": "1", "authorization_reference": "auth-91"
        });
        let body = CommandRequest::parse(&CommandType::StartSession, &bytes(&v)).unwrap();
        assert_eq!(body.command_type(), CommandType::StartSession);
        assert!(body.response_url().as_str().ends_with("/91"));
        let CommandRequest::StartSession(start) = body else {
            panic!("not a StartSession")
        };
        assert_eq!(serde_json::to_value(&start).unwrap(), v);
        let mut bad = v;
        bad.as_object_mut().unwrap().remove("evse_uid");
        let errors = parse::<StartSession>(&bytes(&bad)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.evse_uid"]);
    }

    #[test]
    fn command_bodies_by_type() {
        let stop = br#"{"response_url":"https://e/x","session_id":"s-1"}"#;
        assert!(matches!(
            CommandRequest::parse(&CommandType::StopSession, stop),
            Ok(CommandRequest::StopSession(_))
        ));
        let errors = CommandRequest::parse(&CommandType::UnlockConnector, stop).unwrap_err();
        assert_eq!(
            sorted_paths(&errors),
            ["$.connector_id", "$.evse_uid", "$.location_id"]
        );
        let errors =
            CommandRequest::parse(&CommandType::Unknown("REBOOT".to_owned()), stop).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$"]);
        let cancel = br#"{"response_url":"https://e/x","reservation_id":"r-1"}"#;
        let Ok(CommandRequest::CancelReservation(a)) =
            CommandRequest::parse(&CommandType::CancelReservation, cancel)
        else {
            panic!("not a CancelReservation")
        };
        let upper = br#"{"response_url":"https://e/x","reservation_id":"R-1"}"#;
        let b: CancelReservation = parse(upper).unwrap();
        assert_eq!(a.reservation_id, b.reservation_id);
        let long = format!(
            r#"{{"response_url":"https://e/x","reservation_id":"{}"}}"#,
            "r".repeat(37)
        );
        let errors = parse::<CancelReservation>(long.as_bytes()).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.reservation_id"]);
        assert!(errors[0].message.contains("at most 36"), "{errors:?}");
        let reserve = serde_json::json!({
            "response_url": "https://e/x", "token": token(),
            "expiry_date": "2024-05-01T12:00:00+02:00", "reservation_id": "r-1",
            "location_id": "site-7"
        });
        let errors = CommandRequest::parse(&CommandType::ReserveNow, &bytes(&reserve)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.expiry_date"]);
    }

    #[test]
    fn responses_and_results() {
        let r: CommandResponse = parse(
            br#"{"result":"ACCEPTED","timeout":30,"message":[{"language":"en","text":"ok"}]}"#,
        )
        .unwrap();
        assert_eq!(r.result, CommandResponseType::Accepted);
        let errors = parse::<CommandResponse>(br#"{"result":"TIMEOUT"}"#).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.result", "$.timeout"]);
        let r: CommandResult = parse(br#"{"result":"EVSE_OCCUPIED"}"#).unwrap();
        assert_eq!(r.result, CommandResultType::EvseOccupied);
        let errors =
            parse::<CommandResult>(br#"{"result":"OK","message":[{"language":"eng","text":"x"}]}"#)
                .unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.message[0].language", "$.result"]);
    }
}
