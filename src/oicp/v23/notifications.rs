//! eRoamingChargingNotifications 1.1 (oicp-2.3.md §2.3, §3.7): Start, Progress, End and Error
//! notifications, sent by the CPO to one path and forwarded by the HBS to the EMP; all are
//! answered with an [`Acknowledgement`](super::acknowledgement::Acknowledgement).
//!
//! The four messages share the path and are told apart by `Type`; [`ChargingNotification`]
//! reads any of them. Leniency (oicp-2.3.md §5.3, §8): `null` is absent; `ErrorType`
//! `Connector Error`/`Critical Error` (S1's CPO table, E7) are read and written without the
//! space; `EMPPartnerSessionId` (E5) is read; meter values as numeric strings are read.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::cdr::{MeterValueInBetween, check_meter_values, check_non_negative, check_order};
use super::common::Identification;
use super::ids::{
    CpoPartnerSessionId, EmpPartnerSessionId, EvseId, OperatorId, ProductId, SessionId,
};
use super::scalars::{DateTime, Decimal, Int, Text};
use super::status::Code;
use super::validate::{Validate, Validator};
use super::wire;
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `ChargingNotificationType`: the `Type` discriminator (oicp-2.3.md §4.3).
    pub enum ChargingNotificationType {
        /// Energy started to flow.
        Start = "Start",
        /// Charging goes on (at most every 5 minutes).
        Progress = "Progress",
        /// Energy stopped flowing; the session may still be active.
        End = "End",
        /// Something went wrong.
        Error = "Error",
    }
}

wire_enum! {
    /// `ErrorClass`, the `ErrorType` of an Error notification (oicp-2.3.md §4.3). S1's CPO
    /// table spells the values with a space (E7); both spellings are read, the one without the
    /// space is written.
    pub enum ErrorType {
        /// A connector problem (plug not connected, timeout).
        ConnectorError = "ConnectorError" | "Connector Error",
        /// A critical error of the EVSE.
        CriticalError = "CriticalError" | "Critical Error",
    }
}

/// Reports a `Type` that does not fit the message type (possible only when a struct is parsed
/// on its own rather than through [`ChargingNotification`]).
fn check_type(
    v: &mut Validator,
    found: &ChargingNotificationType,
    expected: &ChargingNotificationType,
) {
    if found != expected {
        v.error_at(
            "Type",
            format!(
                "Type is '{found}' but this is a {expected} notification; expected '{expected}'"
            ),
        );
    }
}

wire_struct! {
    /// `eRoamingChargingNotificationStart` (oicp-2.3.md §3.7): sent once energy flows.
    pub struct ChargingNotificationStart {
        /// `Start`.
        req "Type" => notification_type: ChargingNotificationType,
        /// The session.
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// How the customer identified.
        opt "Identification" => identification: Identification,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// Start of energy flow.
        req "ChargingStart" => charging_start: DateTime,
        /// Start of the session.
        opt "SessionStart" => session_start: DateTime,
        /// Meter reading at the start, kWh.
        opt "MeterValueStart" => meter_value_start: Decimal,
        /// The CPO.
        req "OperatorID" => operator_id: OperatorId,
        /// Pricing product.
        opt "PartnerProductID" => partner_product_id: ProductId,
    }
}

impl Validate for ChargingNotificationStart {
    /// `Type` is `Start`; the Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        check_type(v, &self.notification_type, &ChargingNotificationType::Start);
        v.nested_opt("Identification", self.identification.as_ref());
    }
}

wire_struct! {
    /// `eRoamingChargingNotificationProgress` (oicp-2.3.md §3.7): sent while charging, at most
    /// every 5 minutes. Carries `ChargingDuration` and/or `ConsumedEnergyProgress`.
    pub struct ChargingNotificationProgress {
        /// `Progress`.
        req "Type" => notification_type: ChargingNotificationType,
        /// The session.
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// How the customer identified.
        opt "Identification" => identification: Identification,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// Start of energy flow.
        req "ChargingStart" => charging_start: DateTime,
        /// When this progress was measured.
        req "EventOccurred" => event_occurred: DateTime,
        /// Charging time so far in milliseconds, `EventOccurred` − `ChargingStart` (E6). Not checked
        /// against the two date-times: the spec's own example disagrees with them.
        opt "ChargingDuration" => charging_duration: Int<0, { i64::MAX }>,
        /// Energy since `ChargingStart`, kWh.
        opt "ConsumedEnergyProgress" => consumed_energy_progress: Decimal,
        /// Start of the session.
        opt "SessionStart" => session_start: DateTime,
        /// Meter reading at the start, kWh.
        opt "MeterValueStart" => meter_value_start: Decimal,
        /// Intermediate readings.
        opt "MeterValueInBetween" => meter_value_in_between: MeterValueInBetween,
        /// The CPO.
        req "OperatorID" => operator_id: OperatorId,
        /// Pricing product.
        opt "PartnerProductID" => partner_product_id: ProductId,
    }
}

impl Validate for ChargingNotificationProgress {
    /// `Type` is `Progress`; `ChargingDuration` or `ConsumedEnergyProgress` (or both) is
    /// present (reported at `ChargingDuration`); `EventOccurred` does not precede
    /// `ChargingStart`; `ConsumedEnergyProgress` is not negative; the Identification's own
    /// rules.
    fn validate(&self, v: &mut Validator) {
        check_type(
            v,
            &self.notification_type,
            &ChargingNotificationType::Progress,
        );
        if self.charging_duration.is_none() && self.consumed_energy_progress.is_none() {
            v.error_at(
                "ChargingDuration",
                "a Progress notification needs ChargingDuration or ConsumedEnergyProgress (or both)",
            );
        }
        check_order(
            v,
            "EventOccurred",
            &self.event_occurred,
            "ChargingStart",
            &self.charging_start,
        );
        if let Some(energy) = self.consumed_energy_progress {
            check_non_negative(v, "ConsumedEnergyProgress", energy);
        }
        v.nested_opt("Identification", self.identification.as_ref());
    }
}

wire_struct! {
    /// `eRoamingChargingNotificationEnd` (oicp-2.3.md §3.7): sent when energy stops flowing,
    /// while the session may still be active.
    pub struct ChargingNotificationEnd {
        /// `End`.
        req "Type" => notification_type: ChargingNotificationType,
        /// The session.
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// How the customer identified.
        opt "Identification" => identification: Identification,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// Start of energy flow.
        opt "ChargingStart" => charging_start: DateTime,
        /// End of energy flow.
        req "ChargingEnd" => charging_end: DateTime,
        /// Start of the session.
        opt "SessionStart" => session_start: DateTime,
        /// End of the session.
        opt "SessionEnd" => session_end: DateTime,
        /// Energy charged, kWh.
        opt "ConsumedEnergy" => consumed_energy: Decimal,
        /// Meter reading at the start, kWh.
        opt "MeterValueStart" => meter_value_start: Decimal,
        /// Meter reading at the end, kWh.
        opt "MeterValueEnd" => meter_value_end: Decimal,
        /// Intermediate readings.
        opt "MeterValueInBetween" => meter_value_in_between: MeterValueInBetween,
        /// The CPO.
        req "OperatorID" => operator_id: OperatorId,
        /// Pricing product.
        opt "PartnerProductID" => partner_product_id: ProductId,
        /// From when a blocking fee applies.
        opt "PenaltyTimeStart" => penalty_time_start: DateTime,
    }
}

impl Validate for ChargingNotificationEnd {
    /// `Type` is `End`; `ChargingEnd` does not precede `ChargingStart`, `SessionEnd` not
    /// `SessionStart` (each when both are given; `SessionEnd` is not related to `ChargingStart`,
    /// as for CDRs); `ConsumedEnergy` is not negative; `MeterValueEnd` is not below
    /// `MeterValueStart`; the Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        check_type(v, &self.notification_type, &ChargingNotificationType::End);
        if let Some(start) = &self.charging_start {
            check_order(v, "ChargingEnd", &self.charging_end, "ChargingStart", start);
        }
        if let (Some(start), Some(end)) = (&self.session_start, &self.session_end) {
            check_order(v, "SessionEnd", end, "SessionStart", start);
        }
        if let Some(energy) = self.consumed_energy {
            check_non_negative(v, "ConsumedEnergy", energy);
        }
        check_meter_values(v, self.meter_value_start, self.meter_value_end);
        v.nested_opt("Identification", self.identification.as_ref());
    }
}

wire_struct! {
    /// `eRoamingChargingNotificationError` (oicp-2.3.md §3.7): sent at any time when something
    /// goes wrong.
    pub struct ChargingNotificationError {
        /// `Error`.
        req "Type" => notification_type: ChargingNotificationType,
        /// The session.
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// How the customer identified.
        opt "Identification" => identification: Identification,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// The class of error (`Connector Error` accepted, E7).
        req "ErrorType" => error_type: ErrorType,
        /// Details (at most 250 characters).
        opt "ErrorAdditionalInfo" => error_additional_info: Text<250>,
        /// The CPO.
        req "OperatorID" => operator_id: OperatorId,
    }
}

impl Validate for ChargingNotificationError {
    /// `Type` is `Error`; the Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        check_type(v, &self.notification_type, &ChargingNotificationType::Error);
        v.nested_opt("Identification", self.identification.as_ref());
    }
}

/// Any charging notification, told apart by its `Type` member (oicp-2.3.md §3.7; S2 models it
/// as `oneOf`). The body of `/notificationmgmt/v11/charging-notifications`.
///
/// Reading looks at `Type` first and then reads the matching message, so errors carry the same
/// paths as when that message is read on its own; a missing or unknown `Type` is reported at
/// `$.Type` with the allowed values. Writing writes the message.
#[derive(Debug, Clone, PartialEq)]
pub enum ChargingNotification {
    /// `Type: Start`.
    Start(ChargingNotificationStart),
    /// `Type: Progress`.
    Progress(ChargingNotificationProgress),
    /// `Type: End`.
    End(ChargingNotificationEnd),
    /// `Type: Error`.
    Error(ChargingNotificationError),
}

macro_rules! each_variant {
    ($self:ident, $n:ident => $e:expr) => {
        match $self {
            Self::Start($n) => $e,
            Self::Progress($n) => $e,
            Self::End($n) => $e,
            Self::Error($n) => $e,
        }
    };
}

impl ChargingNotification {
    /// The session.
    pub fn session_id(&self) -> &SessionId {
        each_variant!(self, n => &n.session_id)
    }

    /// The EVSE.
    pub fn evse_id(&self) -> &EvseId {
        each_variant!(self, n => &n.evse_id)
    }

    /// The CPO.
    pub fn operator_id(&self) -> &OperatorId {
        each_variant!(self, n => &n.operator_id)
    }

    /// The identification, when given.
    pub fn identification(&self) -> Option<&Identification> {
        each_variant!(self, n => n.identification.as_ref())
    }

    /// The CPO's own session ID, when given.
    pub fn cpo_partner_session_id(&self) -> Option<&CpoPartnerSessionId> {
        each_variant!(self, n => n.cpo_partner_session_id.as_ref())
    }

    /// The EMP's own session ID, when given.
    pub fn emp_partner_session_id(&self) -> Option<&EmpPartnerSessionId> {
        each_variant!(self, n => n.emp_partner_session_id.as_ref())
    }

    /// Which notification this is (by variant).
    pub fn notification_type(&self) -> ChargingNotificationType {
        match self {
            Self::Start(_) => ChargingNotificationType::Start,
            Self::Progress(_) => ChargingNotificationType::Progress,
            Self::End(_) => ChargingNotificationType::End,
            Self::Error(_) => ChargingNotificationType::Error,
        }
    }
}

impl From<ChargingNotificationStart> for ChargingNotification {
    fn from(n: ChargingNotificationStart) -> Self {
        Self::Start(n)
    }
}

impl From<ChargingNotificationProgress> for ChargingNotification {
    fn from(n: ChargingNotificationProgress) -> Self {
        Self::Progress(n)
    }
}

impl From<ChargingNotificationEnd> for ChargingNotification {
    fn from(n: ChargingNotificationEnd) -> Self {
        Self::End(n)
    }
}

impl From<ChargingNotificationError> for ChargingNotification {
    fn from(n: ChargingNotificationError) -> Self {
        Self::Error(n)
    }
}

impl Serialize for ChargingNotification {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        each_variant!(self, n => n.serialize(serializer))
    }
}

/// Reads the message type `T` from the buffered body; errors keep their message (in collect
/// mode they are already recorded with their paths, and the message says so).
fn read_as<T, E>(value: &serde_json::Value) -> Result<T, E>
where
    T: de::DeserializeOwned,
    E: de::Error,
{
    T::deserialize(value).map_err(E::custom)
}

/// Reports a missing or unknown `Type` at `$.Type` (relative to the notification).
fn type_error<E: de::Error>(message: String) -> E {
    if wire::collecting() {
        wire::push_key("Type");
        wire::record(Code::DataError, message);
        wire::pop();
        wire::reported()
    } else {
        E::custom(message)
    }
}

impl<'de> Deserialize<'de> for ChargingNotification {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Buffer the body, then read the message `Type` names. Reading the message from the
        // buffer keeps collect-mode paths right: the collector's path is thread-local and
        // still points at this value.
        let value = serde_json::Value::deserialize(deserializer)?;
        let Some(object) = value.as_object() else {
            return Err(de::Error::invalid_type(
                unexpected(&value),
                &ExpectingNotification,
            ));
        };
        let allowed = || {
            ChargingNotificationType::ALL
                .iter()
                .map(ChargingNotificationType::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let kind = match object.get("Type") {
            None | Some(serde_json::Value::Null) => {
                return Err(type_error(format!(
                    "mandatory member Type is missing or null (allowed: {})",
                    allowed()
                )));
            }
            Some(serde_json::Value::String(s)) => ChargingNotificationType::from_wire(s),
            Some(other) => {
                return Err(type_error(format!(
                    "Type {other} is not a string (allowed: {})",
                    allowed()
                )));
            }
        };
        match kind {
            ChargingNotificationType::Start => read_as(&value).map(Self::Start),
            ChargingNotificationType::Progress => read_as(&value).map(Self::Progress),
            ChargingNotificationType::End => read_as(&value).map(Self::End),
            ChargingNotificationType::Error => read_as(&value).map(Self::Error),
            ChargingNotificationType::Unknown(s) => Err(type_error(format!(
                "'{s}' is not a valid ChargingNotificationType (allowed: {})",
                allowed()
            ))),
        }
    }
}

/// The `expecting` text of a body that is not an object.
struct ExpectingNotification;

impl de::Expected for ExpectingNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a charging notification object")
    }
}

fn unexpected(value: &serde_json::Value) -> de::Unexpected<'_> {
    match value {
        serde_json::Value::Null => de::Unexpected::Unit,
        serde_json::Value::Bool(b) => de::Unexpected::Bool(*b),
        serde_json::Value::Number(_) => de::Unexpected::Other("a number"),
        serde_json::Value::String(s) => de::Unexpected::Str(s),
        serde_json::Value::Array(_) => de::Unexpected::Seq,
        serde_json::Value::Object(_) => de::Unexpected::Map,
    }
}

impl Validate for ChargingNotification {
    /// The rules of the message.
    fn validate(&self, v: &mut Validator) {
        each_variant!(self, n => n.validate(v));
    }
}

#[cfg(test)]
mod tests {
    use super::super::acknowledgement::Acknowledgement;
    use super::super::validate::ValidationError;
    use super::super::wire::parse;
    use super::*;

    fn paths(errs: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn to_bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    fn base(kind: &str) -> serde_json::Value {
        serde_json::json!({
            "Type": kind,
            "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
            "EvseID": "DE*GEF*E0001*1",
            "OperatorID": "DE*GEF"
        })
    }

    fn start() -> serde_json::Value {
        let mut j = base("Start");
        j["ChargingStart"] = "2024-05-02T10:01:00+02:00".into();
        j
    }

    fn progress() -> serde_json::Value {
        let mut j = base("Progress");
        j["ChargingStart"] = "2024-05-02T10:01:00+02:00".into();
        j["EventOccurred"] = "2024-05-02T10:06:00+02:00".into();
        j["ChargingDuration"] = 300_000.into();
        j
    }

    fn end() -> serde_json::Value {
        let mut j = base("End");
        j["ChargingEnd"] = "2024-05-02T11:00:00+02:00".into();
        j
    }

    fn error() -> serde_json::Value {
        let mut j = base("Error");
        j["ErrorType"] = "CriticalError".into();
        j
    }

    #[test]
    fn dispatch_by_type() {
        let n = parse::<ChargingNotification>(&to_bytes(&start())).unwrap();
        assert!(matches!(n, ChargingNotification::Start(_)));
        assert_eq!(n.notification_type(), ChargingNotificationType::Start);
        assert_eq!(
            n.session_id().as_str(),
            "b2688855-7f00-0002-6d8e-48d883f6abb6"
        );
        assert_eq!(n.evse_id().as_str(), "DE*GEF*E0001*1");
        assert_eq!(n.operator_id().as_str(), "DE*GEF");
        assert!(n.identification().is_none());
        let n = parse::<ChargingNotification>(&to_bytes(&progress())).unwrap();
        assert_eq!(n.notification_type(), ChargingNotificationType::Progress);
        let n = parse::<ChargingNotification>(&to_bytes(&end())).unwrap();
        assert_eq!(n.notification_type(), ChargingNotificationType::End);
        let n = parse::<ChargingNotification>(&to_bytes(&error())).unwrap();
        assert_eq!(n.notification_type(), ChargingNotificationType::Error);
        // Serialization writes the message itself.
        assert_eq!(serde_json::to_value(&n).unwrap(), error());
    }

    #[test]
    fn missing_or_unknown_type_is_reported_at_type() {
        let mut j = start();
        j.as_object_mut().unwrap().remove("Type");
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.Type"], "{errs:?}");
        assert!(
            errs[0].message.contains("Start, Progress, End, Error"),
            "{errs:?}"
        );

        j["Type"] = serde_json::Value::Null;
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.Type"], "{errs:?}");

        j["Type"] = "Pause".into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.Type"], "{errs:?}");
        assert!(
            errs[0].message.contains("'Pause'") && errs[0].message.contains("allowed"),
            "{errs:?}"
        );

        j["Type"] = 3.into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.Type"], "{errs:?}");

        let errs = parse::<ChargingNotification>(b"[1]").unwrap_err();
        assert_eq!(paths(&errs), ["$"], "{errs:?}");
    }

    #[test]
    fn member_errors_keep_their_paths_through_the_enum() {
        let mut j = end();
        j["EvseID"] = "string".into();
        j["ChargingEnd"] = "yesterday".into();
        j["MeterValueInBetween"] = serde_json::json!({"meterValues": [1, "x"]});
        j.as_object_mut().unwrap().remove("OperatorID");
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ChargingEnd",
                "$.EvseID",
                "$.MeterValueInBetween.meterValues[1]",
                "$.OperatorID"
            ],
            "{errs:?}"
        );
        // And validation errors too.
        let mut j = end();
        j["ChargingStart"] = "2024-05-02T11:30:00+02:00".into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ChargingEnd"], "{errs:?}");
    }

    #[test]
    fn a_struct_read_alone_checks_its_type() {
        parse::<ChargingNotificationStart>(&to_bytes(&start())).unwrap();
        let mut j = start();
        j["Type"] = "End".into();
        let errs = parse::<ChargingNotificationStart>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.Type"], "{errs:?}");
        let mut j = progress();
        j["Type"] = "Start".into();
        assert_eq!(
            paths(&parse::<ChargingNotificationProgress>(&to_bytes(&j)).unwrap_err()),
            ["$.Type"]
        );
        let mut j = end();
        j["Type"] = "Error".into();
        assert_eq!(
            paths(&parse::<ChargingNotificationEnd>(&to_bytes(&j)).unwrap_err()),
            ["$.Type"]
        );
        let mut j = error();
        j["Type"] = "Progress".into();
        assert_eq!(
            paths(&parse::<ChargingNotificationError>(&to_bytes(&j)).unwrap_err()),
            ["$.Type"]
        );
    }

    #[test]
    fn progress_needs_duration_or_energy() {
        let mut j = progress();
        j.as_object_mut().unwrap().remove("ChargingDuration");
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ChargingDuration"], "{errs:?}");
        j["ConsumedEnergyProgress"] = 3.2.into();
        parse::<ChargingNotification>(&to_bytes(&j)).unwrap();
        j["ChargingDuration"] = serde_json::Value::Null;
        parse::<ChargingNotification>(&to_bytes(&j)).unwrap();
        // Negative durations are refused while parsing.
        j["ChargingDuration"] = (-1).into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ChargingDuration"], "{errs:?}");
    }

    #[test]
    fn progress_event_not_before_start_and_energy_not_negative() {
        let mut j = progress();
        j["EventOccurred"] = "2024-05-02T10:00:00+02:00".into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.EventOccurred"], "{errs:?}");
        let mut j = progress();
        j["ConsumedEnergyProgress"] = (-1).into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ConsumedEnergyProgress"], "{errs:?}");
    }

    #[test]
    fn end_time_order_rules() {
        let mut j = end();
        j["ChargingStart"] = "2024-05-02T10:01:00+02:00".into();
        j["SessionStart"] = "2024-05-02T10:00:00+02:00".into();
        j["SessionEnd"] = "2024-05-02T11:05:00+02:00".into();
        parse::<ChargingNotification>(&to_bytes(&j)).unwrap();

        let mut bad = j.clone();
        bad["ChargingStart"] = "2024-05-02T11:00:01+02:00".into();
        bad["SessionStart"] = "2024-05-02T09:00:00+02:00".into();
        let errs = parse::<ChargingNotification>(&to_bytes(&bad)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ChargingEnd"], "{errs:?}");

        let mut bad = j.clone();
        bad["SessionEnd"] = "2024-05-02T09:59:00+02:00".into();
        let errs = parse::<ChargingNotification>(&to_bytes(&bad)).unwrap_err();
        assert_eq!(paths(&errs), ["$.SessionEnd"], "{errs:?}");

        // Only one of a pair: nothing to compare.
        let mut alone = end();
        alone["SessionEnd"] = "2020-01-01T00:00:00Z".into();
        parse::<ChargingNotification>(&to_bytes(&alone)).unwrap();
    }

    #[test]
    fn end_energy_and_meter_rules() {
        let mut j = end();
        j["ConsumedEnergy"] = (-2).into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ConsumedEnergy"], "{errs:?}");
        let mut j = end();
        j["MeterValueStart"] = "10.5".into();
        j["MeterValueEnd"] = 10.into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.MeterValueEnd"], "{errs:?}");
        j["MeterValueEnd"] = 10.5.into();
        parse::<ChargingNotification>(&to_bytes(&j)).unwrap();
    }

    #[test]
    fn identification_rules_apply() {
        let ident = serde_json::json!({"QRCodeIdentification": {
            "EvcoID": "DE-GDF-C12345678-2", "PIN": "1234",
            "HashedPIN": {"Function": "Bcrypt", "Value": "abcdefghij0123"}}});
        for mut j in [start(), progress(), end(), error()] {
            j["Identification"] =
                serde_json::json!({"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}});
            parse::<ChargingNotification>(&to_bytes(&j)).unwrap();
            j["Identification"] = ident.clone();
            let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
            assert_eq!(
                paths(&errs),
                ["$.Identification.QRCodeIdentification"],
                "{errs:?}"
            );
        }
    }

    #[test]
    fn error_type_spellings() {
        let mut j = error();
        j["ErrorType"] = "Connector Error".into();
        j["EMPPartnerSessionId"] = "emp-1".into();
        j["ErrorAdditionalInfo"] = serde_json::Value::Null;
        let n = parse::<ChargingNotification>(&to_bytes(&j)).unwrap();
        let ChargingNotification::Error(e) = &n else {
            panic!("not an error: {n:?}")
        };
        assert_eq!(e.error_type, ErrorType::ConnectorError);
        assert!(e.error_additional_info.is_none());
        let back = serde_json::to_value(&n).unwrap();
        assert_eq!(back["ErrorType"], "ConnectorError");
        assert_eq!(back["EMPPartnerSessionID"], "emp-1");
        assert_eq!(
            n.emp_partner_session_id().map(EmpPartnerSessionId::as_str),
            Some("emp-1")
        );
        let mut j = error();
        j["ErrorType"] = "Critical Error".into();
        let n = parse::<ChargingNotificationError>(&to_bytes(&j)).unwrap();
        assert_eq!(n.error_type, ErrorType::CriticalError);
        j["ErrorType"] = "Fatal".into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ErrorType"], "{errs:?}");
        j["ErrorType"] = "CriticalError".into();
        j["ErrorAdditionalInfo"] = "x".repeat(251).into();
        let errs = parse::<ChargingNotification>(&to_bytes(&j)).unwrap_err();
        assert_eq!(paths(&errs), ["$.ErrorAdditionalInfo"], "{errs:?}");
    }

    fn round_trip<T>(bytes: &[u8]) -> T
    where
        T: de::DeserializeOwned + Serialize + Validate,
    {
        let parsed = parse::<T>(bytes).unwrap_or_else(|e| panic!("fixture does not parse: {e:?}"));
        let original: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), original);
        parsed
    }

    #[test]
    fn fixtures_parse_and_round_trip() {
        macro_rules! fixture {
            ($name:literal) => {
                include_bytes!(concat!("../../../tests/fixtures/oicp/valid/", $name))
            };
        }
        let start = fixture!("ChargingNotificationStart.request.json");
        assert!(
            round_trip::<ChargingNotificationStart>(start)
                .extra
                .is_empty()
        );
        assert!(matches!(
            round_trip::<ChargingNotification>(start),
            ChargingNotification::Start(_)
        ));
        let progress = fixture!("ChargingNotificationProgress.request.json");
        assert!(
            round_trip::<ChargingNotificationProgress>(progress)
                .extra
                .is_empty()
        );
        assert!(matches!(
            round_trip::<ChargingNotification>(progress),
            ChargingNotification::Progress(_)
        ));
        let end = fixture!("ChargingNotificationEnd.request.json");
        assert!(round_trip::<ChargingNotificationEnd>(end).extra.is_empty());
        assert!(matches!(
            round_trip::<ChargingNotification>(end),
            ChargingNotification::End(_)
        ));
        let error = fixture!("ChargingNotificationError.request.json");
        assert!(
            round_trip::<ChargingNotificationError>(error)
                .extra
                .is_empty()
        );
        assert!(matches!(
            round_trip::<ChargingNotification>(error),
            ChargingNotification::Error(_)
        ));
        round_trip::<Acknowledgement>(fixture!("ChargingNotificationStart.response.json"));
        round_trip::<Acknowledgement>(fixture!("ChargingNotificationProgress.response.json"));
        round_trip::<Acknowledgement>(fixture!("ChargingNotificationEnd.response.json"));
        round_trip::<Acknowledgement>(fixture!("ChargingNotificationError.response.json"));
    }

    /// The published examples (`../shared/oicp-examples`, when present next to the project).
    fn corpus(name: &str) -> Option<Vec<u8>> {
        let path = format!(
            "{}/../shared/oicp-examples/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path)
            .map_err(|e| eprintln!("skipping {path}: {e}"))
            .ok()
    }

    #[test]
    fn corpus_examples() {
        // ChargingEnd (14:17) before ChargingStart (14:50).
        // The OpenAPI example has the same defect.
        for name in [
            "spec-asciidoc/ChargingNotificationEnd.request.cpo-doc.json",
            "openapi-yaml-examples/eRoamingChargingNotificationEnd.example.json",
        ] {
            if let Some(bytes) = corpus(name) {
                let errs = parse::<ChargingNotification>(&bytes).unwrap_err();
                assert_eq!(paths(&errs), ["$.ChargingEnd"], "{name}: {errs:?}");
            }
        }
        for name in [
            "ChargingNotificationStart.request.json",
            "ChargingNotificationProgress.request.json",
            "ChargingNotificationEnd.request.emp-doc.json",
            "ChargingNotificationError.request.cpo-doc.json",
            "ChargingNotificationError.request.emp-doc.json",
        ] {
            if let Some(bytes) = corpus(&format!("spec-asciidoc/{name}")) {
                parse::<ChargingNotification>(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
        }
        for name in [
            "ChargingNotificationStart.response.json",
            "ChargingNotificationProgress.response.json",
            "ChargingNotificationEnd.response.json",
            "ChargingNotificationError.response.json",
        ] {
            if let Some(bytes) = corpus(&format!("spec-asciidoc/{name}")) {
                parse::<Acknowledgement>(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            }
        }
    }
}
