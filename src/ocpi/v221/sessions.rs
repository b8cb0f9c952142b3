//! Sessions module (`sessions`, data owner CPO): Session, its PATCH body, and the classes it
//! shares with CDRs (`CdrToken`, `ChargingPeriod`, `CdrDimension`), ocpi-2.2.1.md §4.2, §5.

use super::ids::{
    AuthorizationReference, ConnectorId, ContractId, CountryCode, EvseUid, LocationId, PartyId,
    SessionId, TariffId, TokenUid,
};
use super::tokens::TokenType;
use super::types::{DateTime, Number, OcpiString, Price};
use super::{Validate, Validator, each_opt, no_cross_member_rules};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `SessionStatus` (ocpi-2.2.1.md §5, §4.2): `PENDING` → `ACTIVE` → `COMPLETED` or
    /// `INVALID`; `RESERVATION` for a reservation.
    pub enum SessionStatus {
        Active = "ACTIVE",
        Completed = "COMPLETED",
        Invalid = "INVALID",
        Pending = "PENDING",
        Reservation = "RESERVATION",
    }
}

wire_enum! {
    /// `AuthMethod` of a Session or CDR (ocpi-2.2.1.md §5).
    pub enum AuthMethod {
        AuthRequest = "AUTH_REQUEST",
        Command = "COMMAND",
        Whitelist = "WHITELIST",
    }
}

wire_enum! {
    /// `CdrDimensionType` (ocpi-2.2.1.md §5). `CURRENT`, `ENERGY_EXPORT`, `ENERGY_IMPORT`,
    /// `POWER` and `STATE_OF_CHARGE` are for Sessions only, never in a CDR
    /// ([`CdrDimensionType::is_session_only`]).
    pub enum CdrDimensionType {
        Current = "CURRENT",
        Energy = "ENERGY",
        EnergyExport = "ENERGY_EXPORT",
        EnergyImport = "ENERGY_IMPORT",
        MaxCurrent = "MAX_CURRENT",
        MinCurrent = "MIN_CURRENT",
        MaxPower = "MAX_POWER",
        MinPower = "MIN_POWER",
        ParkingTime = "PARKING_TIME",
        Power = "POWER",
        ReservationTime = "RESERVATION_TIME",
        StateOfCharge = "STATE_OF_CHARGE",
        Time = "TIME",
    }
}

impl CdrDimensionType {
    /// Whether the spec allows this dimension in Sessions only (ocpi-2.2.1.md §5
    /// `CdrDimensionType`).
    pub fn is_session_only(&self) -> bool {
        matches!(
            self,
            Self::Current
                | Self::EnergyExport
                | Self::EnergyImport
                | Self::Power
                | Self::StateOfCharge
        )
    }
}

wire_enum! {
    /// `ProfileType` of charging preferences, used by `Token.default_profile_type`
    /// (ocpi-2.2.1.md §5).
    pub enum ProfileType {
        Cheap = "CHEAP",
        Fast = "FAST",
        Green = "GREEN",
        Regular = "REGULAR",
    }
}

wire_struct! {
    /// `CdrToken` (ocpi-2.2.1.md §5, module CDRs): the token of a Session or CDR, with the
    /// owning eMSP (mandatory since 2.2.1, §7.2).
    pub struct CdrToken {
        /// ISO 3166-1 alpha-2 code of the eMSP owning the token.
        req "country_code" => country_code: CountryCode,
        /// Party id of the eMSP owning the token.
        req "party_id" => party_id: PartyId,
        /// Token uid.
        req "uid" => uid: TokenUid,
        /// Token type (wire key `type`).
        req "type" => token_type: TokenType,
        /// Contract id (eMA id).
        req "contract_id" => contract_id: ContractId,
    }
}

wire_struct! {
    /// `CdrDimension` (ocpi-2.2.1.md §5, module CDRs): one measured quantity of a period.
    pub struct CdrDimension {
        /// What is measured (wire key `type`).
        req "type" => dimension_type: CdrDimensionType,
        /// The amount, in the unit of the type.
        req "volume" => volume: Number,
    }
}

wire_struct! {
    /// `ChargingPeriod` (ocpi-2.2.1.md §5, module CDRs): a period with constant prices.
    pub struct ChargingPeriod {
        /// Start of the period; it lasts until the next period starts.
        req "start_date_time" => start_date_time: DateTime,
        /// Quantities, at least one.
        nelist "dimensions" => dimensions: CdrDimension,
        /// Tariff that applies.
        opt "tariff_id" => tariff_id: TariffId,
    }
}

wire_struct! {
    /// `Session` (ocpi-2.2.1.md §5, §4.2): a charging session, pushed by the CPO while it runs.
    /// `evse_uid` and `connector_id` may be `#NA` for a reservation without an EVSE yet.
    pub struct Session {
        /// ISO 3166-1 alpha-2 code of the owning CPO.
        req "country_code" => country_code: CountryCode,
        /// Party id of the owning CPO.
        req "party_id" => party_id: PartyId,
        /// Session id, unique per CPO.
        req "id" => id: SessionId,
        /// When the session became active (creation time while pending).
        req "start_date_time" => start_date_time: DateTime,
        /// When the session ended.
        opt "end_date_time" => end_date_time: DateTime,
        /// Energy charged so far, kWh, not negative.
        req "kwh" => kwh: Number,
        /// The token that started the session.
        req "cdr_token" => cdr_token: CdrToken,
        /// How the session was authorized (the last method).
        req "auth_method" => auth_method: AuthMethod,
        /// The eMSP's reference from authorize, `StartSession` or `ReserveNow`.
        opt "authorization_reference" => authorization_reference: AuthorizationReference,
        /// Location of the session.
        req "location_id" => location_id: LocationId,
        /// EVSE of the session (`#NA` allowed for reservations).
        req "evse_uid" => evse_uid: EvseUid,
        /// Connector of the session (`#NA` allowed for reservations).
        req "connector_id" => connector_id: ConnectorId,
        /// kWh meter id, `string(255)`.
        opt "meter_id" => meter_id: OcpiString<255>,
        /// ISO 4217 currency, `string(3)`.
        req "currency" => currency: OcpiString<3>,
        /// Charging periods so far.
        optlist "charging_periods" => charging_periods: ChargingPeriod,
        /// Cost so far; absent does not mean free.
        opt "total_cost" => total_cost: Price,
        /// Status.
        req "status" => status: SessionStatus,
        /// Last change.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// A Session PATCH body (ocpi-2.2.1.md §1.10, §4.2): only the members that change, plus
    /// the mandatory `last_updated`. `charging_periods` in a PATCH are appended, not replaced.
    pub struct SessionPatch {
        /// See [`Session::country_code`].
        opt "country_code" => country_code: CountryCode,
        /// See [`Session::party_id`].
        opt "party_id" => party_id: PartyId,
        /// See [`Session::id`].
        opt "id" => id: SessionId,
        /// See [`Session::start_date_time`].
        opt "start_date_time" => start_date_time: DateTime,
        /// See [`Session::end_date_time`].
        opt "end_date_time" => end_date_time: DateTime,
        /// See [`Session::kwh`].
        opt "kwh" => kwh: Number,
        /// See [`Session::cdr_token`].
        opt "cdr_token" => cdr_token: CdrToken,
        /// See [`Session::auth_method`].
        opt "auth_method" => auth_method: AuthMethod,
        /// See [`Session::authorization_reference`].
        opt "authorization_reference" => authorization_reference: AuthorizationReference,
        /// See [`Session::location_id`].
        opt "location_id" => location_id: LocationId,
        /// See [`Session::evse_uid`].
        opt "evse_uid" => evse_uid: EvseUid,
        /// See [`Session::connector_id`].
        opt "connector_id" => connector_id: ConnectorId,
        /// See [`Session::meter_id`].
        opt "meter_id" => meter_id: OcpiString<255>,
        /// See [`Session::currency`].
        opt "currency" => currency: OcpiString<3>,
        /// Periods to append.
        optlist "charging_periods" => charging_periods: ChargingPeriod,
        /// See [`Session::total_cost`].
        opt "total_cost" => total_cost: Price,
        /// See [`Session::status`].
        opt "status" => status: SessionStatus,
        /// Mandatory in every PATCH.
        req "last_updated" => last_updated: DateTime,
    }
}

/// `kwh` counts energy charged, which cannot be negative (ocpi-2.2.1.md §5 Session).
fn check_kwh(v: &mut Validator, kwh: Option<Number>) {
    if let Some(kwh) = kwh
        && kwh.is_negative()
    {
        v.error_at("kwh", format!("kwh {kwh} must not be negative"));
    }
}

impl Validate for Session {
    fn validate(&self, v: &mut Validator) {
        check_kwh(v, Some(self.kwh));
        each_opt(v, "charging_periods", self.charging_periods.as_ref());
    }
}

impl Validate for SessionPatch {
    fn validate(&self, v: &mut Validator) {
        check_kwh(v, self.kwh);
        each_opt(v, "charging_periods", self.charging_periods.as_ref());
    }
}

impl Validate for ChargingPeriod {
    fn validate(&self, v: &mut Validator) {
        v.each("dimensions", &self.dimensions);
    }
}

no_cross_member_rules!(
    CdrToken,
    CdrDimension,
    SessionStatus,
    AuthMethod,
    CdrDimensionType,
    ProfileType,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocpi::v221::{ValidationError, parse};

    fn paths(errors: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn session() -> serde_json::Value {
        serde_json::json!({
            "country_code": "DE", "party_id": "RBG", "id": "7b1f0c2e-5a4d-4f3e-9d61-2f0a8e9b4c11",
            "start_date_time": "2024-05-01T10:00:00Z", "kwh": 3.25,
            "cdr_token": {"country_code": "DE", "party_id": "EMP", "uid": "04A1B2C3D4E5F6",
                          "type": "RFID", "contract_id": "DE-EMP-C12345678-X"},
            "auth_method": "AUTH_REQUEST", "authorization_reference": "auth-42",
            "location_id": "site-7", "evse_uid": "evse-7-1", "connector_id": "1",
            "currency": "EUR",
            "charging_periods": [{"start_date_time": "2024-05-01T10:00:00Z",
                                  "dimensions": [{"type": "ENERGY", "volume": 3.25},
                                                 {"type": "STATE_OF_CHARGE", "volume": 41}]}],
            "status": "ACTIVE", "last_updated": "2024-05-01T10:15:00Z"
        })
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn a_valid_session_round_trips() {
        let v = session();
        let s: Session = parse(&bytes(&v)).unwrap();
        assert_eq!(s.status, SessionStatus::Active);
        assert_eq!(s.cdr_token.token_type, TokenType::Rfid);
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
    }

    #[test]
    fn kwh_must_not_be_negative() {
        let mut v = session();
        v["kwh"] = serde_json::json!(-0.5);
        let errors = parse::<Session>(&bytes(&v)).unwrap_err();
        assert_eq!(paths(&errors), ["$.kwh"]);
        v["kwh"] = serde_json::json!(0.0);
        assert!(parse::<Session>(&bytes(&v)).is_ok());
    }

    #[test]
    fn defects_carry_their_path() {
        let mut v = session();
        v["cdr_token"].as_object_mut().unwrap().remove("party_id");
        v["status"] = "RUNNING".into();
        v["charging_periods"][0]["dimensions"] = serde_json::json!([]);
        v["authorization_reference"] = "a".repeat(37).into();
        let errors = parse::<Session>(&bytes(&v)).unwrap_err();
        assert_eq!(
            paths(&errors),
            [
                "$.authorization_reference",
                "$.cdr_token.party_id",
                "$.charging_periods[0].dimensions",
                "$.status"
            ]
        );
        let status = errors.iter().find(|e| e.path == "$.status").unwrap();
        assert!(status.message.contains("RESERVATION"), "{status}");
    }

    #[test]
    fn ids_compare_case_insensitively() {
        let a: Session = parse(&bytes(&session())).unwrap();
        let mut v = session();
        v["id"] = "7B1F0C2E-5A4D-4F3E-9D61-2F0A8E9B4C11".into();
        v["cdr_token"]["uid"] = "04a1b2c3d4e5f6".into();
        v["location_id"] = "SITE-7".into();
        let b: Session = parse(&bytes(&v)).unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.cdr_token.uid, b.cdr_token.uid);
        assert_eq!(a.location_id, b.location_id);
        assert_eq!(serde_json::to_value(&b).unwrap(), v);
    }

    #[test]
    fn reservation_sessions_may_use_na() {
        let mut v = session();
        v["status"] = "RESERVATION".into();
        v["evse_uid"] = "#NA".into();
        v["connector_id"] = "#NA".into();
        assert!(parse::<Session>(&bytes(&v)).is_ok());
    }

    #[test]
    fn a_patch_needs_last_updated_and_keeps_the_rules() {
        let p: SessionPatch =
            parse(br#"{"kwh":15,"last_updated":"2024-05-01T10:20:00Z"}"#).unwrap();
        assert_eq!(p.kwh, Some(Number::from(15)));
        let errors = parse::<SessionPatch>(br#"{"kwh":-1}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.last_updated"]);
        let errors = parse::<SessionPatch>(br#"{"kwh":-1,"last_updated":"2024-05-01T10:20:00Z"}"#)
            .unwrap_err();
        assert_eq!(paths(&errors), ["$.kwh"]);
    }

    #[test]
    fn session_only_dimensions() {
        let only: Vec<&str> = CdrDimensionType::ALL
            .iter()
            .filter(|d| d.is_session_only())
            .map(CdrDimensionType::as_str)
            .collect();
        assert_eq!(
            only,
            [
                "CURRENT",
                "ENERGY_EXPORT",
                "ENERGY_IMPORT",
                "POWER",
                "STATE_OF_CHARGE"
            ]
        );
    }
}
