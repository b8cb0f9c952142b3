//! eRoamingChargeDetailRecord service 2.2 (oicp-2.3.md §2.3, §3.3, §5.4): the CDR a CPO sends
//! once per session, the EMP's `GetChargeDetailRecords` pull and the page it returns.
//!
//! Leniency (oicp-2.3.md §5.3, §5.5, §8):
//! * `HubProviderId` (E1) and `CDRForwarder` (E4) are read; the S1 spellings are written.
//! * `OperatorID` of `GetChargeDetailRecords` is read as a single ID or as a list (E11) and
//!   written as a list, the form of the HBS's own model.
//! * Meter values given as numeric strings (the HBS accepted `"30.541"`, §5.5) are read as
//!   decimals and written as numbers.
//! * `SessionEnd` is not related to `ChargingStart`: the HBS accepted a CDR whose session ended
//!   a minute before charging started (§5.5).
//! * The precision "decimal(,3)" of energies is not enforced: a meter with finer resolution is
//!   no reason to lose a CDR; receivers round.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::common::Identification;
use super::ids::{
    CpoPartnerSessionId, EmpPartnerSessionId, EvseId, OperatorId, ProductId, ProviderId, SessionId,
};
use super::scalars::{DateTime, Decimal, Int, Text};
use super::status::StatusCode;
use super::validate::{Validate, Validator};
use super::wire;
use crate::{wire_enum, wire_struct};

/// The most `SignedMeteringValues` a CDR may carry: Start, Progress1..8, End (oicp-2.3.md §3.3).
pub const MAX_SIGNED_METERING_VALUES: usize = 10;

wire_enum! {
    /// `MeteringStatus` of a signed metering value (oicp-2.3.md §4.3).
    pub enum MeteringStatus {
        /// The value at the start of charging.
        Start = "Start",
        /// An intermediate value.
        Progress = "Progress",
        /// The value at the end of charging.
        End = "End",
    }
}

wire_struct! {
    /// One item of `SignedMeteringValues` (oicp-2.3.md §3.3).
    pub struct SignedMeteringValue {
        /// The signed value in the format of the transparency software (at most 3000
        /// characters). Mandatory in practice when the EVSE's `CalibrationLawDataAvailability`
        /// is `External`; that cannot be checked on the CDR alone.
        opt "SignedMeteringValue" => signed_metering_value: Text<3000>,
        /// Which reading this is.
        opt "MeteringStatus" => metering_status: MeteringStatus,
    }
}

wire_struct! {
    /// `CalibrationLawVerification`: how to verify the signed metering values (oicp-2.3.md
    /// §3.3).
    pub struct CalibrationLawVerification {
        /// Certificate of the meter (at most 100 characters).
        opt "CalibrationLawCertificateID" => calibration_law_certificate_id: Text<100>,
        /// Public key of the meter (at most 1000 characters).
        opt "PublicKey" => public_key: Text<1000>,
        /// Where the signed data can be found; may point to an XML file. S1's 200 characters are
        /// used (S3 says 100).
        opt "MeteringSignatureUrl" => metering_signature_url: Text<200>,
        /// Encoding of the signature (at most 50 characters).
        opt "MeteringSignatureEncodingFormat" => metering_signature_encoding_format: Text<50>,
        /// How to verify the values (at most 400 characters).
        opt "SignedMeteringValuesVerificationInstruction" => signed_metering_values_verification_instruction: Text<400>,
    }
}

wire_struct! {
    /// `MeterValueInBetween`: an **object** holding the list of intermediate meter readings in
    /// kWh, not a bare list (oicp-2.3.md §3.3). Readings given as numeric strings are accepted.
    pub struct MeterValueInBetween {
        /// The readings, decimal(,3) kWh.
        list "meterValues" => meter_values: Decimal,
    }
}

wire_struct! {
    /// `eRoamingChargeDetailRecord` (oicp-2.3.md §3.3): the one CDR of a session, sent by the
    /// CPO and forwarded to the EMP; also the `content` items of a `GetChargeDetailRecords`
    /// page.
    pub struct ChargeDetailRecord {
        /// The session (one CDR per `SessionID`).
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID (at most 250 characters).
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (at most 250 characters; `EMPPartnerSessionId` accepted,
        /// E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// Pricing product the session was charged with.
        opt "PartnerProductID" => partner_product_id: ProductId,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// How the customer identified.
        req "Identification" => identification: Identification,
        /// Start of energy flow (mandatory since 2.3).
        req "ChargingStart" => charging_start: DateTime,
        /// End of energy flow (mandatory since 2.3).
        req "ChargingEnd" => charging_end: DateTime,
        /// Start of the session (authorization).
        req "SessionStart" => session_start: DateTime,
        /// End of the session (plug-out).
        req "SessionEnd" => session_end: DateTime,
        /// Meter reading at the start, decimal(,3) kWh.
        opt "MeterValueStart" => meter_value_start: Decimal,
        /// Meter reading at the end, decimal(,3) kWh.
        opt "MeterValueEnd" => meter_value_end: Decimal,
        /// Intermediate readings.
        opt "MeterValueInBetween" => meter_value_in_between: MeterValueInBetween,
        /// Energy charged, decimal(,3) kWh (mandatory since 2.3).
        req "ConsumedEnergy" => consumed_energy: Decimal,
        /// Signed readings, at most 10 (Start, Progress1..8, End).
        optlist "SignedMeteringValues" => signed_metering_values: SignedMeteringValue,
        /// How to verify the signed readings.
        opt "CalibrationLawVerificationInfo" => calibration_law_verification_info: CalibrationLawVerification,
        /// Hub operator the EVSE belongs to.
        opt "HubOperatorID" => hub_operator_id: OperatorId,
        /// Hub provider the contract belongs to (`HubProviderId` accepted, E1).
        opt "HubProviderID" | "HubProviderId" => hub_provider_id: ProviderId,
    }
}

/// Reports `later < earlier` at `key` (the later of the two members).
pub(crate) fn check_order(
    v: &mut Validator,
    key: &str,
    later: &DateTime,
    earlier_key: &str,
    earlier: &DateTime,
) {
    if later < earlier {
        v.error_at(
            key,
            format!("{key} {later} must not precede {earlier_key} {earlier}"),
        );
    }
}

/// Reports a negative energy at `key`.
pub(crate) fn check_non_negative(v: &mut Validator, key: &str, value: Decimal) {
    if value.value() < rust_decimal::Decimal::ZERO {
        v.error_at(key, format!("{key} {value} must not be negative (kWh)"));
    }
}

/// Reports `MeterValueEnd < MeterValueStart` when both are given.
pub(crate) fn check_meter_values(v: &mut Validator, start: Option<Decimal>, end: Option<Decimal>) {
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        v.error_at(
            "MeterValueEnd",
            format!("MeterValueEnd {end} must not be below MeterValueStart {start}"),
        );
    }
}

impl Validate for ChargeDetailRecord {
    /// * `ChargingEnd` must not precede `ChargingStart`, `SessionEnd` not `SessionStart`.
    ///   `SessionEnd` is deliberately not compared with `ChargingStart` (§5.5).
    /// * `ConsumedEnergy` is not negative; `MeterValueEnd` is not below `MeterValueStart`.
    /// * At most 10 `SignedMeteringValues`.
    /// * The Identification's own rules. Every identification member is allowed: the CDR
    ///   reports what was used.
    fn validate(&self, v: &mut Validator) {
        check_order(
            v,
            "ChargingEnd",
            &self.charging_end,
            "ChargingStart",
            &self.charging_start,
        );
        check_order(
            v,
            "SessionEnd",
            &self.session_end,
            "SessionStart",
            &self.session_start,
        );
        check_non_negative(v, "ConsumedEnergy", self.consumed_energy);
        check_meter_values(v, self.meter_value_start, self.meter_value_end);
        if let Some(values) = &self.signed_metering_values
            && values.len() > MAX_SIGNED_METERING_VALUES
        {
            v.error_at(
                "SignedMeteringValues",
                format!(
                    "{} SignedMeteringValues given, at most {MAX_SIGNED_METERING_VALUES} allowed (Start, Progress1..8, End)",
                    values.len()
                ),
            );
        }
        v.nested("Identification", &self.identification);
    }
}

// ---------------------------------------------------------------------------------------------
// GetChargeDetailRecords

/// The `OperatorID` filter of `eRoamingGetChargeDetailRecords` (oicp-2.3.md §3.3, erratum E11):
/// S1 and S2 define a single `OperatorID`, the HBS's model (S3) and the EMP snippet a list. Both
/// are read; it is always written as a list, the form the HBS itself uses.
#[derive(Debug, Clone, PartialEq)]
pub enum OperatorIdFilter {
    /// A single `OperatorID` (S1, S2).
    One(OperatorId),
    /// A list of `OperatorID`s (S3, the EMP snippet).
    Many(Vec<OperatorId>),
}

impl OperatorIdFilter {
    /// The operators, whichever form was read.
    pub fn as_slice(&self) -> &[OperatorId] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }

    /// Whether `operator` is one of the filter's operators (format-insensitive).
    pub fn contains(&self, operator: &OperatorId) -> bool {
        self.as_slice().iter().any(|o| o == operator)
    }
}

impl Serialize for OperatorIdFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OperatorIdFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OperatorIdFilter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an OperatorID or a list of OperatorIDs")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OperatorIdFilter, E> {
                OperatorId::deserialize(de::value::StrDeserializer::<E>::new(v))
                    .map(OperatorIdFilter::One)
            }
            fn visit_seq<S: SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<OperatorIdFilter, S::Error> {
                // In collect mode every element is read and each bad one reported at its index.
                let collect = wire::collecting();
                let mut ids = Vec::new();
                let mut failed = false;
                let mut index = 0;
                loop {
                    if collect {
                        wire::push_index(index);
                    }
                    let next = seq.next_element::<OperatorId>();
                    let done = match next {
                        Ok(Some(id)) => {
                            ids.push(id);
                            false
                        }
                        Ok(None) => true,
                        Err(e) if collect => {
                            wire::record_error(&e);
                            failed = true;
                            false
                        }
                        Err(e) => return Err(e),
                    };
                    if collect {
                        wire::pop();
                    }
                    if done {
                        break;
                    }
                    index += 1;
                }
                if failed {
                    Err(wire::reported())
                } else {
                    Ok(OperatorIdFilter::Many(ids))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

wire_struct! {
    /// `eRoamingGetChargeDetailRecords` (oicp-2.3.md §3.3): an EMP pulls the CDRs the HBS
    /// received in a date range (paginated with the `page`/`size`/`sort` query parameters,
    /// §5.4).
    pub struct GetChargeDetailRecords {
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// Start of the range.
        req "From" => from: DateTime,
        /// End of the range.
        req "To" => to: DateTime,
        /// Only these sessions (a list).
        optlist "SessionID" => session_id: SessionId,
        /// Only these operators: one ID or a list, written as a list (E11).
        opt "OperatorID" => operator_id: OperatorIdFilter,
        /// Only CDRs that were (true) or were not (false) forwarded to the EMP already
        /// (`CDRForwarder` accepted, E4).
        opt "CDRForwarded" | "CDRForwarder" => cdr_forwarded: bool,
    }
}

impl Validate for GetChargeDetailRecords {
    /// `To` must not precede `From`.
    fn validate(&self, v: &mut Validator) {
        check_order(v, "To", &self.to, "From", &self.from);
    }
}

wire_struct! {
    /// The response of `GetChargeDetailRecords`: a Spring Data page of
    /// `eRoamingChargeDetailRecord` (S2 `eRoamingChargeDetailRecords`; oicp-2.3.md §5.4).
    ///
    /// S2 marks the paging members mandatory and the HBS always sends them, but they carry no
    /// information an EMP cannot do without (it can page until a page comes back short), so
    /// only `content` is mandatory; the counters are optional and must not be negative. They
    /// are not checked against each other or against `content` (the S1 snippet itself says
    /// `numberOfElements: 2` beside one record). `pageable` and `empty` are kept in `extra`;
    /// `"StatusCode": null` is absent.
    pub struct ChargeDetailRecordPage {
        /// The CDRs of this page.
        list "content" => content: ChargeDetailRecord,
        /// Page number, 0-based.
        opt "number" => number: Int<0, { i64::MAX }>,
        /// Requested page size.
        opt "size" => size: Int<0, { i64::MAX }>,
        /// CDRs in all pages.
        opt "totalElements" => total_elements: Int<0, { i64::MAX }>,
        /// Number of pages.
        opt "totalPages" => total_pages: Int<0, { i64::MAX }>,
        /// CDRs in this page.
        opt "numberOfElements" => number_of_elements: Int<0, { i64::MAX }>,
        /// Whether this is the first page.
        opt "first" => first: bool,
        /// Whether this is the last page.
        opt "last" => last: bool,
        /// Outcome (often `null` on success).
        opt "StatusCode" => status_code: StatusCode,
    }
}

impl Validate for ChargeDetailRecordPage {
    /// Every CDR's own rules.
    fn validate(&self, v: &mut Validator) {
        v.each("content", &self.content);
    }
}

#[cfg(test)]
mod tests {
    use super::super::acknowledgement::Acknowledgement;
    use super::super::wire::parse;
    use super::*;

    fn paths(errs: &[super::super::validate::ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn cdr_json() -> serde_json::Value {
        serde_json::json!({
            "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
            "EvseID": "DE*GEF*E0001*1",
            "Identification": {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}},
            "ChargingStart": "2024-05-02T10:01:00+02:00",
            "ChargingEnd": "2024-05-02T11:00:00+02:00",
            "SessionStart": "2024-05-02T10:00:00+02:00",
            "SessionEnd": "2024-05-02T11:05:00+02:00",
            "ConsumedEnergy": 12.5
        })
    }

    fn with(mut base: serde_json::Value, key: &str, value: serde_json::Value) -> Vec<u8> {
        base[key] = value;
        serde_json::to_vec(&base).unwrap()
    }

    #[test]
    fn minimal_cdr_is_valid() {
        let cdr = parse::<ChargeDetailRecord>(&serde_json::to_vec(&cdr_json()).unwrap()).unwrap();
        assert_eq!(cdr.consumed_energy.to_string(), "12.5");
        assert!(cdr.signed_metering_values.is_none());
    }

    #[test]
    fn charging_end_must_not_precede_charging_start() {
        let errs = parse::<ChargeDetailRecord>(&with(
            cdr_json(),
            "ChargingEnd",
            "2024-05-02T10:00:59+02:00".into(),
        ))
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.ChargingEnd"], "{errs:?}");
        // Equal instants in different offsets are fine.
        parse::<ChargeDetailRecord>(&with(
            cdr_json(),
            "ChargingEnd",
            "2024-05-02T08:01:00Z".into(),
        ))
        .unwrap();
    }

    #[test]
    fn session_end_must_not_precede_session_start_but_may_precede_charging_start() {
        let errs = parse::<ChargeDetailRecord>(&with(
            cdr_json(),
            "SessionEnd",
            "2024-05-02T09:59:00+02:00".into(),
        ))
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.SessionEnd"], "{errs:?}");
        // §5.5: the HBS accepted a SessionEnd before ChargingStart.
        let mut json = cdr_json();
        json["SessionStart"] = "2024-05-02T10:58:00+02:00".into();
        json["SessionEnd"] = "2024-05-02T10:59:00+02:00".into();
        json["ChargingStart"] = "2024-05-02T11:00:00+02:00".into();
        json["ChargingEnd"] = "2024-05-02T11:30:00+02:00".into();
        parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap();
    }

    #[test]
    fn consumed_energy_must_not_be_negative() {
        let errs = parse::<ChargeDetailRecord>(&with(cdr_json(), "ConsumedEnergy", (-0.5).into()))
            .unwrap_err();
        assert_eq!(paths(&errs), ["$.ConsumedEnergy"], "{errs:?}");
        parse::<ChargeDetailRecord>(&with(cdr_json(), "ConsumedEnergy", 0.into())).unwrap();
    }

    #[test]
    fn meter_value_end_must_not_be_below_start() {
        let mut json = cdr_json();
        json["MeterValueStart"] = 100.5.into();
        json["MeterValueEnd"] = 100.into();
        let errs = parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert_eq!(paths(&errs), ["$.MeterValueEnd"], "{errs:?}");
        json["MeterValueEnd"] = 113.into();
        parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap();
        // Only one of them: nothing to compare.
        json["MeterValueStart"] = serde_json::Value::Null;
        parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap();
    }

    #[test]
    fn at_most_ten_signed_metering_values() {
        let item = serde_json::json!({"SignedMeteringValue": "abc", "MeteringStatus": "Progress"});
        let ten = serde_json::Value::Array(vec![item.clone(); 10]);
        parse::<ChargeDetailRecord>(&with(cdr_json(), "SignedMeteringValues", ten)).unwrap();
        let eleven = serde_json::Value::Array(vec![item; 11]);
        let errs = parse::<ChargeDetailRecord>(&with(cdr_json(), "SignedMeteringValues", eleven))
            .unwrap_err();
        assert_eq!(paths(&errs), ["$.SignedMeteringValues"], "{errs:?}");
    }

    #[test]
    fn identification_rules_apply_in_a_cdr() {
        let ident = serde_json::json!({"QRCodeIdentification": {
            "EvcoID": "DE-GDF-C12345678-2", "PIN": "1234",
            "HashedPIN": {"Function": "Bcrypt", "Value": "abcdefghij0123"}}});
        let errs =
            parse::<ChargeDetailRecord>(&with(cdr_json(), "Identification", ident)).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.Identification.QRCodeIdentification"],
            "{errs:?}"
        );
        // Any single member is allowed in a CDR, RFIDIdentification included.
        let rfid =
            serde_json::json!({"RFIDIdentification": {"UID": "1234ABCD", "RFID": "mifareCls"}});
        parse::<ChargeDetailRecord>(&with(cdr_json(), "Identification", rfid)).unwrap();
    }

    #[test]
    fn errata_spellings_strings_and_nulls() {
        let mut json = cdr_json();
        json["HubProviderId"] = "DE-GDF".into();
        json["MeterValueStart"] = "0.0".into();
        json["MeterValueEnd"] = "30.541".into();
        json["MeterValueInBetween"] = serde_json::json!({"meterValues": ["10.2", 20]});
        json["CalibrationLawVerificationInfo"] = serde_json::Value::Null;
        json["SignedMeteringValues"] = serde_json::Value::Null;
        json["EMPPartnerSessionId"] = "emp-1".into();
        let cdr = parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(
            cdr.hub_provider_id.as_ref().map(ProviderId::as_str),
            Some("DE-GDF")
        );
        assert_eq!(
            cdr.meter_value_end.map(|d| d.to_string()).as_deref(),
            Some("30.541")
        );
        assert!(cdr.extra.is_empty(), "{:?}", cdr.extra);
        let back = serde_json::to_value(&cdr).unwrap();
        assert_eq!(back["HubProviderID"], "DE-GDF");
        assert_eq!(back["EMPPartnerSessionID"], "emp-1");
        assert!(back.get("HubProviderId").is_none());
        assert_eq!(back["MeterValueEnd"], serde_json::json!(30.541));
        assert_eq!(
            back["MeterValueInBetween"]["meterValues"],
            serde_json::json!([10.2, 20])
        );
        assert!(back.get("CalibrationLawVerificationInfo").is_none());
    }

    #[test]
    fn field_errors_carry_their_paths() {
        let mut json = cdr_json();
        json["SignedMeteringValues"] = serde_json::json!([{"MeteringStatus": "Middle"}]);
        json["ChargingStart"] = "2024-05-02T10:01:00".into();
        json["MeterValueInBetween"] = serde_json::json!({"meterValues": [1, "x"]});
        let errs = parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ChargingStart",
                "$.MeterValueInBetween.meterValues[1]",
                "$.SignedMeteringValues[0].MeteringStatus"
            ],
            "{errs:?}"
        );
        json = cdr_json();
        json.as_object_mut().unwrap().remove("ConsumedEnergy");
        let errs = parse::<ChargeDetailRecord>(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert_eq!(paths(&errs), ["$.ConsumedEnergy"], "{errs:?}");
    }

    fn get_json() -> serde_json::Value {
        serde_json::json!({
            "ProviderID": "DE-GDF",
            "From": "2024-05-01T00:00:00+02:00",
            "To": "2024-05-31T23:59:59+02:00"
        })
    }

    #[test]
    fn get_cdrs_from_must_not_be_after_to() {
        parse::<GetChargeDetailRecords>(&serde_json::to_vec(&get_json()).unwrap()).unwrap();
        let errs = parse::<GetChargeDetailRecords>(&with(
            get_json(),
            "To",
            "2024-04-30T23:59:59+02:00".into(),
        ))
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.To"], "{errs:?}");
    }

    #[test]
    fn get_cdrs_operator_id_single_or_list() {
        let one = parse::<GetChargeDetailRecords>(&with(get_json(), "OperatorID", "DE*GEF".into()))
            .unwrap();
        let filter = one.operator_id.clone().unwrap();
        assert!(matches!(filter, OperatorIdFilter::One(_)));
        assert_eq!(filter.as_slice().len(), 1);
        assert!(filter.contains(&OperatorId::parse("DE*GEF").unwrap()));
        // Written as a list (E11).
        assert_eq!(
            serde_json::to_value(&one).unwrap()["OperatorID"],
            serde_json::json!(["DE*GEF"])
        );

        let many = parse::<GetChargeDetailRecords>(&with(
            get_json(),
            "OperatorID",
            serde_json::json!(["DE*GEF", "DE*ABC"]),
        ))
        .unwrap();
        assert_eq!(
            many.operator_id.as_ref().map(|f| f.as_slice().len()),
            Some(2)
        );
        assert_eq!(
            serde_json::to_value(&many).unwrap()["OperatorID"],
            serde_json::json!(["DE*GEF", "DE*ABC"])
        );
    }

    #[test]
    fn get_cdrs_operator_id_errors() {
        let errs =
            parse::<GetChargeDetailRecords>(&with(get_json(), "OperatorID", "string".into()))
                .unwrap_err();
        assert_eq!(paths(&errs), ["$.OperatorID"], "{errs:?}");
        let errs = parse::<GetChargeDetailRecords>(&with(
            get_json(),
            "OperatorID",
            serde_json::json!(["DE*GEF", "string"]),
        ))
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.OperatorID[1]"], "{errs:?}");
        let errs =
            parse::<GetChargeDetailRecords>(&with(get_json(), "OperatorID", 5.into())).unwrap_err();
        assert_eq!(paths(&errs), ["$.OperatorID"], "{errs:?}");
        assert!(errs[0].message.contains("OperatorID"), "{errs:?}");
    }

    #[test]
    fn get_cdrs_cdr_forwarder_alias_and_session_list() {
        let mut json = get_json();
        json["CDRForwarder"] = true.into();
        json["SessionID"] = serde_json::json!(["b2688855-7f00-0002-6d8e-48d883f6abb6"]);
        json["OperatorID"] = serde_json::Value::Null;
        let req = parse::<GetChargeDetailRecords>(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(req.cdr_forwarded, Some(true));
        assert!(req.operator_id.is_none());
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["CDRForwarded"], true);
        assert!(back.get("CDRForwarder").is_none());
        json["SessionID"] = serde_json::json!(["b2688855-7f00-0002-6d8e-48d883f6abb6", "string"]);
        let errs =
            parse::<GetChargeDetailRecords>(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert_eq!(paths(&errs), ["$.SessionID[1]"], "{errs:?}");
    }

    #[test]
    fn page_rules() {
        let mut bad_cdr = cdr_json();
        bad_cdr["ChargingEnd"] = "2024-05-02T09:00:00+02:00".into();
        let page = serde_json::json!({
            "content": [cdr_json(), bad_cdr],
            "number": 0, "size": 20, "totalElements": 2, "totalPages": 1, "numberOfElements": 2,
            "first": true, "last": true, "StatusCode": null, "empty": false,
            "pageable": {"pageNumber": 0, "pageSize": 20}
        });
        let errs =
            parse::<ChargeDetailRecordPage>(&serde_json::to_vec(&page).unwrap()).unwrap_err();
        assert_eq!(paths(&errs), ["$.content[1].ChargingEnd"], "{errs:?}");

        let mut ok = page.clone();
        ok["content"] = serde_json::json!([cdr_json()]);
        let parsed = parse::<ChargeDetailRecordPage>(&serde_json::to_vec(&ok).unwrap()).unwrap();
        assert!(parsed.status_code.is_none());
        assert!(parsed.extra.contains_key("pageable") && parsed.extra.contains_key("empty"));

        let mut negative = ok.clone();
        negative["totalPages"] = (-1).into();
        let errs =
            parse::<ChargeDetailRecordPage>(&serde_json::to_vec(&negative).unwrap()).unwrap_err();
        assert_eq!(paths(&errs), ["$.totalPages"], "{errs:?}");

        let errs = parse::<ChargeDetailRecordPage>(br#"{"number":0}"#).unwrap_err();
        assert_eq!(paths(&errs), ["$.content"], "{errs:?}");
        parse::<ChargeDetailRecordPage>(br#"{"content":[]}"#).unwrap();
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
        let cdr = round_trip::<ChargeDetailRecord>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/ChargeDetailRecord.request.json"
        ));
        assert!(cdr.extra.is_empty(), "{:?}", cdr.extra);
        round_trip::<Acknowledgement>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/ChargeDetailRecord.response.json"
        ));
        let get = round_trip::<GetChargeDetailRecords>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/GetChargeDetailRecords.request.json"
        ));
        assert!(get.extra.is_empty(), "{:?}", get.extra);
        let page = round_trip::<ChargeDetailRecordPage>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/GetChargeDetailRecords.response.json"
        ));
        assert!(page.content.iter().all(|c| c.extra.is_empty()));
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
        // Five-member Identification and "string" SessionID: refused while parsing.
        if let Some(bytes) = corpus("spec-asciidoc/ChargeDetailRecord.request.json") {
            let errs = parse::<ChargeDetailRecord>(&bytes).unwrap_err();
            assert!(paths(&errs).contains(&"$.Identification"), "{errs:?}");
        }
        // A single OperatorID, CDRForwarded.
        if let Some(bytes) =
            corpus("openapi-yaml-examples/eRoamingGetChargeDetailRecords.example.json")
        {
            let req = parse::<GetChargeDetailRecords>(&bytes).unwrap();
            assert!(matches!(req.operator_id, Some(OperatorIdFilter::One(_))));
            assert_eq!(req.cdr_forwarded, Some(false));
        }
        // An OperatorID list, a "string" SessionID.
        if let Some(bytes) = corpus("spec-asciidoc/GetChargeDetailRecords.request.json") {
            let errs = parse::<GetChargeDetailRecords>(&bytes).unwrap_err();
            assert_eq!(paths(&errs), ["$.SessionID[0]"], "{errs:?}");
        }
        if let Some(bytes) = corpus("spec-asciidoc/ChargeDetailRecord.response.json") {
            parse::<Acknowledgement>(&bytes).unwrap();
        }
    }
}
