//! CDRs module (`cdrs`, data owner CPO): the charge detail record with its denormalized
//! location and signed meter data (ocpi-2.2.1.md §4.3, §5).

use super::ids::{
    AuthorizationReference, CdrId, CiString, ConnectorId, CountryCode, EvseId, EvseUid, LocationId,
    PartyId, SessionId,
};
use super::locations::{ConnectorFormat, ConnectorType, PowerType};
use super::sessions::{AuthMethod, CdrToken, ChargingPeriod};
use super::tariffs::Tariff;
use super::types::{DateTime, GeoLocation, Number, OcpiString, Price};
use super::{Validate, Validator, each_opt, no_cross_member_rules};
use crate::wire_struct;

wire_struct! {
    /// `CdrLocation` (ocpi-2.2.1.md §5): the Location, EVSE and Connector of a CDR as they
    /// were at session start.
    ///
    /// The spec's table still says `address` `string(45)` and `state` `string(20)` while the
    /// errata lengthened the same fields of Location to 255 and 45 (ocpi-2.2.1.md §0, §11.2).
    /// Since a `CdrLocation` is copied from a Location, the Location lengths are accepted.
    pub struct CdrLocation {
        /// Location id.
        req "id" => id: LocationId,
        /// Display name, `string(255)`.
        opt "name" => name: OcpiString<255>,
        /// Street and house number (Location length, see above).
        req "address" => address: OcpiString<255>,
        /// City, `string(45)`.
        req "city" => city: OcpiString<45>,
        /// Postal code, `string(10)`.
        opt "postal_code" => postal_code: OcpiString<10>,
        /// State or province (Location length, see above).
        opt "state" => state: OcpiString<45>,
        /// ISO 3166-1 alpha-3 country, `string(3)`.
        req "country" => country: OcpiString<3>,
        /// Coordinates.
        req "coordinates" => coordinates: GeoLocation,
        /// EVSE uid.
        req "evse_uid" => evse_uid: EvseUid,
        /// eMI3 EVSE id (mandatory here, unlike on the EVSE).
        req "evse_id" => evse_id: EvseId,
        /// Connector id.
        req "connector_id" => connector_id: ConnectorId,
        /// Connector standard.
        req "connector_standard" => connector_standard: ConnectorType,
        /// Connector format.
        req "connector_format" => connector_format: ConnectorFormat,
        /// Connector power type.
        req "connector_power_type" => connector_power_type: PowerType,
    }
}

wire_struct! {
    /// `SignedData` (ocpi-2.2.1.md §5): signed meter values of a CDR (e.g. German
    /// calibration law).
    pub struct SignedData {
        /// Encoding (e.g. `OCMF`), `CiString(36)`.
        req "encoding_method" => encoding_method: CiString<36>,
        /// Version of the encoding.
        opt "encoding_method_version" => encoding_method_version: i64,
        /// Public key, `string(512)`.
        opt "public_key" => public_key: OcpiString<512>,
        /// The signed values, at least one.
        nelist "signed_values" => signed_values: SignedValue,
        /// Where the data can be verified, `string(512)`.
        opt "url" => url: OcpiString<512>,
    }
}

wire_struct! {
    /// `SignedValue` (ocpi-2.2.1.md §5). `plain_data` is `string(5000)` since the errata
    /// (ocpi-2.2.1.md §0).
    pub struct SignedValue {
        /// What the value is, e.g. `Start`, `End`, `Intermediate`, `CiString(32)`.
        req "nature" => nature: CiString<32>,
        /// The unsigned data, `string(5000)`.
        req "plain_data" => plain_data: OcpiString<5000>,
        /// The signed data, `string(5000)`.
        req "signed_data" => signed_data: OcpiString<5000>,
    }
}

wire_struct! {
    /// `CDR` (ocpi-2.2.1.md §5, §4.3): the billing record of a finished session, immutable
    /// once sent; corrections are credit CDRs.
    pub struct Cdr {
        /// ISO 3166-1 alpha-2 code of the owning CPO.
        req "country_code" => country_code: CountryCode,
        /// Party id of the owning CPO.
        req "party_id" => party_id: PartyId,
        /// CDR id; at most 36 characters unless this is a credit CDR.
        req "id" => id: CdrId,
        /// Start of the session (or reservation).
        req "start_date_time" => start_date_time: DateTime,
        /// End of the session.
        req "end_date_time" => end_date_time: DateTime,
        /// Session id, if the CPO has sessions.
        opt "session_id" => session_id: SessionId,
        /// The token used.
        req "cdr_token" => cdr_token: CdrToken,
        /// The last authorization method used.
        req "auth_method" => auth_method: AuthMethod,
        /// The eMSP's last authorization reference.
        opt "authorization_reference" => authorization_reference: AuthorizationReference,
        /// Where the session took place.
        req "cdr_location" => cdr_location: CdrLocation,
        /// Meter id, `string(255)`.
        opt "meter_id" => meter_id: OcpiString<255>,
        /// ISO 4217 currency, `string(3)`.
        req "currency" => currency: OcpiString<3>,
        /// Tariffs that applied.
        optlist "tariffs" => tariffs: Tariff,
        /// Charging periods, at least one.
        nelist "charging_periods" => charging_periods: ChargingPeriod,
        /// Signed meter data.
        opt "signed_data" => signed_data: SignedData,
        /// Total cost (negative in a credit CDR).
        req "total_cost" => total_cost: Price,
        /// Fixed cost part.
        opt "total_fixed_cost" => total_fixed_cost: Price,
        /// Energy charged, kWh.
        req "total_energy" => total_energy: Number,
        /// Energy cost part.
        opt "total_energy_cost" => total_energy_cost: Price,
        /// Duration in hours, parking included.
        req "total_time" => total_time: Number,
        /// Time cost part.
        opt "total_time_cost" => total_time_cost: Price,
        /// Parking (not charging) duration in hours.
        opt "total_parking_time" => total_parking_time: Number,
        /// Parking cost part.
        opt "total_parking_cost" => total_parking_cost: Price,
        /// Reservation cost part.
        opt "total_reservation_cost" => total_reservation_cost: Price,
        /// Free remark, `string(255)`.
        opt "remark" => remark: OcpiString<255>,
        /// Invoice reference, `CiString(39)`.
        opt "invoice_reference_id" => invoice_reference_id: CdrId,
        /// True for a credit CDR.
        opt "credit" => credit: bool,
        /// For a credit CDR: the id of the CDR it credits.
        opt "credit_reference_id" => credit_reference_id: CdrId,
        /// True for a home-charging compensation CDR.
        opt "home_charging_compensation" => home_charging_compensation: bool,
        /// Creation time (CDRs do not change).
        req "last_updated" => last_updated: DateTime,
    }
}

impl Cdr {
    /// Whether this is a credit CDR.
    pub fn is_credit(&self) -> bool {
        self.credit == Some(true)
    }
}

impl Validate for Cdr {
    /// ocpi-2.2.1.md §4.3, §5 CDR: a non-credit id has at most 36 characters; a credit CDR
    /// names the CDR it credits; Session-only dimensions never appear in a CDR.
    fn validate(&self, v: &mut Validator) {
        if !self.is_credit() && self.id.as_str().len() > 36 {
            v.error_at(
                "id",
                format!(
                    "CDR.id is {} characters long; only a credit CDR may use more than 36",
                    self.id.as_str().len()
                ),
            );
        }
        if self.is_credit() && self.credit_reference_id.is_none() {
            v.error_at(
                "credit_reference_id",
                "credit_reference_id is required when credit is true",
            );
        }
        each_opt(v, "tariffs", self.tariffs.as_ref());
        v.at("charging_periods", |v| {
            for (i, period) in self.charging_periods.iter().enumerate() {
                v.at_index(i, |v| {
                    period.validate(v);
                    v.at("dimensions", |v| {
                        for (j, d) in period.dimensions.iter().enumerate() {
                            if d.dimension_type.is_session_only() {
                                v.at_index(j, |v| {
                                    v.error_at(
                                        "type",
                                        format!(
                                            "dimension {} is only allowed in Sessions, not in CDRs",
                                            d.dimension_type
                                        ),
                                    );
                                });
                            }
                        }
                    });
                });
            }
        });
        v.nested_opt("signed_data", self.signed_data.as_ref());
    }
}

impl Validate for SignedData {
    fn validate(&self, v: &mut Validator) {
        v.each("signed_values", &self.signed_values);
    }
}

no_cross_member_rules!(CdrLocation, SignedValue);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocpi::v221::{ValidationError, parse};

    fn sorted_paths(errors: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn cdr() -> serde_json::Value {
        serde_json::json!({
            "country_code": "DE", "party_id": "RBG", "id": "CDR-2024-0001",
            "start_date_time": "2024-05-01T10:00:00Z", "end_date_time": "2024-05-01T11:30:00Z",
            "session_id": "7b1f0c2e-5a4d-4f3e-9d61-2f0a8e9b4c11",
            "cdr_token": {"country_code": "DE", "party_id": "EMP", "uid": "04A1B2C3D4E5F6",
                          "type": "RFID", "contract_id": "DE-EMP-C12345678-X"},
            "auth_method": "WHITELIST",
            "cdr_location": {
                "id": "site-7", "address": "Hauptstraße 5", "city": "Köln", "country": "DEU",
                "coordinates": {"latitude": "50.937531", "longitude": "6.960279"},
                "evse_uid": "evse-7-1", "evse_id": "DE*RBG*E7001", "connector_id": "1",
                "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
                "connector_power_type": "AC_3_PHASE"
            },
            "currency": "EUR",
            "charging_periods": [{"start_date_time": "2024-05-01T10:00:00Z",
                                  "dimensions": [{"type": "ENERGY", "volume": 18.4}]}],
            "signed_data": {"encoding_method": "OCMF", "signed_values": [
                {"nature": "Start", "plain_data": "OCMF|{}", "signed_data": "c2ln"}]},
            "total_cost": {"excl_vat": 7.36, "incl_vat": 8.76},
            "total_energy": 18.4, "total_time": 1.5,
            "last_updated": "2024-05-01T11:31:00Z"
        })
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn a_valid_cdr_round_trips() {
        let v = cdr();
        let c: Cdr = parse(&bytes(&v)).unwrap();
        assert!(!c.is_credit());
        assert_eq!(serde_json::to_value(&c).unwrap(), v);
    }

    #[test]
    fn charging_periods_are_mandatory_and_not_empty() {
        let mut v = cdr();
        v["charging_periods"] = serde_json::json!([]);
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.charging_periods"]);
        v.as_object_mut().unwrap().remove("charging_periods");
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.charging_periods"]);
    }

    #[test]
    fn credit_cdrs() {
        let mut v = cdr();
        v["id"] = "x".repeat(37).into();
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.id"]);
        v["credit"] = true.into();
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.credit_reference_id"]);
        v["credit_reference_id"] = "CDR-2024-0001".into();
        v["total_cost"] = serde_json::json!({"excl_vat": -7.36, "incl_vat": -8.76});
        let c: Cdr = parse(&bytes(&v)).unwrap();
        assert!(c.is_credit());
        // The reference matches the original id whatever its case.
        let original: Cdr = parse(&bytes(&cdr())).unwrap();
        v["credit_reference_id"] = "cdr-2024-0001".into();
        let lower: Cdr = parse(&bytes(&v)).unwrap();
        assert_eq!(lower.credit_reference_id.as_ref(), Some(&original.id));
        v["id"] = "x".repeat(40).into();
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(sorted_paths(&errors), ["$.id"]);
        assert!(errors[0].message.contains("at most 39"), "{errors:?}");
    }

    #[test]
    fn session_only_dimensions_are_refused() {
        let mut v = cdr();
        v["charging_periods"][0]["dimensions"] = serde_json::json!([
            {"type": "ENERGY", "volume": 18.4}, {"type": "STATE_OF_CHARGE", "volume": 80}]);
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(
            sorted_paths(&errors),
            ["$.charging_periods[0].dimensions[1].type"]
        );
    }

    #[test]
    fn missing_members_of_nested_objects() {
        let mut v = cdr();
        v["cdr_location"].as_object_mut().unwrap().remove("evse_id");
        v["signed_data"]["signed_values"] = serde_json::json!([]);
        v["cdr_location"]["connector_power_type"] = "AC".into();
        let errors = parse::<Cdr>(&bytes(&v)).unwrap_err();
        assert_eq!(
            sorted_paths(&errors),
            [
                "$.cdr_location.connector_power_type",
                "$.cdr_location.evse_id",
                "$.signed_data.signed_values"
            ]
        );
    }
}
