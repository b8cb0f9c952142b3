//! eRoamingAuthenticationData 2.1 (oicp-2.3.md §3.5): an offline EMP pushes the
//! identifications the HBS (or a node in its place) may authorize without asking the EMP.
//!
//! # What is not checked here
//! The HBS answers 019 when an `EvcoID` does not belong to the pushing `ProviderID` or one of its
//! sub-providers (oicp-2.3.md §1, §3.5). Which sub-providers a provider has is node
//! configuration, not part of the message, so that check belongs to the node that knows its
//! partners; this module does not compare `EvcoID`s with the `ProviderID`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::common::{ActionType, Identification, IdentificationKind};
use super::ids::{EvcoId, ProviderId, Uid};
use super::validate::{Validate, Validator};
use crate::wire_struct;

/// The member names of `Identification` (with the 2.1 spelling the model also reads).
const IDENTIFICATION_MEMBERS: &[&str] = &[
    "RFIDMifareFamilyIdentification",
    "RFIDmifarefamilyIdentification",
    "RFIDIdentification",
    "QRCodeIdentification",
    "PlugAndChargeIdentification",
    "RemoteIdentification",
];

wire_struct! {
    /// `AuthenticationDataRecord` (oicp-2.3.md §3.5): one identification the EMP authorizes.
    ///
    /// Identification members written next to `Identification` instead of inside it (the
    /// defect of the `OpenAPI` example `eRoamingPushAuthenticationData`) are kept in `extra`
    /// and reported by [`Validate`], so the sender learns where they belong.
    pub struct AuthenticationDataRecord {
        /// The identification: exactly one member.
        req "Identification" => identification: Identification,
    }
}

impl Validate for AuthenticationDataRecord {
    /// * Identification members beside `Identification` are an error at their key.
    /// * `Identification`'s own rules (`PIN` and `HashedPIN` not both).
    /// * A QR code carries its PIN, clear or hashed: `HashedPIN` is allowed here, unlike in
    ///   authorization (oicp-2.3.md §3.5, §4.2).
    fn validate(&self, v: &mut Validator) {
        for key in self.extra.keys() {
            if IDENTIFICATION_MEMBERS.contains(&key.as_str()) {
                v.error_at(
                    key,
                    format!("{key} is beside Identification; Identification members must be inside Identification"),
                );
            }
        }
        v.nested("Identification", &self.identification);
        if let Some(qr) = &self.identification.qr_code
            && qr.pin.is_none()
            && qr.hashed_pin.is_none()
        {
            v.at("Identification", |v| {
                v.error_at(
                    "QRCodeIdentification",
                    "a QR code identification in authentication data needs a PIN or a HashedPIN",
                );
            });
        }
    }
}

wire_struct! {
    /// `ProviderAuthenticationData` (oicp-2.3.md §3.5): the identifications of one EMP.
    pub struct ProviderAuthenticationData {
        /// The EMP (the hub provider; its `EvcoID`s may belong to sub-providers).
        req "ProviderID" => provider_id: ProviderId,
        /// The identifications; each at most once. Empty with `fullLoad` deletes them all.
        list "AuthenticationDataRecord" => authentication_data_record: AuthenticationDataRecord,
    }
}

/// What makes two identifications the same.
///
/// An RFID card is its UID, whichever of the two RFID members carries it (the
/// `RFIDIdentification`'s `EvcoID` is the contract the card belongs to, and a contract may
/// have several cards and other media). A QR code, a Plug&Charge or a remote identification is
/// its `EvcoID` within its kind: one contract may be pushed once as QR code and once as
/// Plug&Charge. `EvcoID`s compare format-insensitively (`DE-GDF-C12345678-2` is
/// `DEGDFC123456782`).
#[derive(PartialEq, Eq, Hash)]
enum IdKey<'a> {
    Uid(&'a Uid),
    Evco(&'static str, &'a EvcoId),
}

/// The member of `identification` (its wire name), the member's key field and the identity.
fn identity(identification: &Identification) -> Option<(&'static str, &'static str, IdKey<'_>)> {
    Some(match identification.kind()? {
        IdentificationKind::RfidMifareFamily(m) => {
            ("RFIDMifareFamilyIdentification", "UID", IdKey::Uid(&m.uid))
        }
        IdentificationKind::Rfid(m) => ("RFIDIdentification", "UID", IdKey::Uid(&m.uid)),
        IdentificationKind::QrCode(m) => (
            "QRCodeIdentification",
            "EvcoID",
            IdKey::Evco("QRCodeIdentification", &m.evco_id),
        ),
        IdentificationKind::PlugAndCharge(m) => (
            "PlugAndChargeIdentification",
            "EvcoID",
            IdKey::Evco("PlugAndChargeIdentification", &m.evco_id),
        ),
        IdentificationKind::Remote(m) => (
            "RemoteIdentification",
            "EvcoID",
            IdKey::Evco("RemoteIdentification", &m.evco_id),
        ),
    })
}

impl IdKey<'_> {
    fn describe(&self) -> String {
        match self {
            Self::Uid(uid) => format!("UID {}", uid.as_str()),
            Self::Evco(member, evco) => format!("{member} with EvcoID {}", evco.as_str()),
        }
    }
}

impl Validate for ProviderAuthenticationData {
    /// Every record's rules, and no identification twice (error at the repeated `UID` or `EvcoID`
    /// of the later record).
    fn validate(&self, v: &mut Validator) {
        let records = &self.authentication_data_record;
        v.each("AuthenticationDataRecord", records);
        let mut first: HashMap<IdKey<'_>, usize> = HashMap::new();
        v.at("AuthenticationDataRecord", |v| {
            for (i, record) in records.iter().enumerate() {
                let Some((member, field, key)) = identity(&record.identification) else { continue };
                match first.entry(key) {
                    Entry::Vacant(e) => {
                        e.insert(i);
                    }
                    Entry::Occupied(e) => {
                        let message = format!(
                            "{} already appears in AuthenticationDataRecord[{}]; each identification may be pushed once",
                            e.key().describe(),
                            e.get()
                        );
                        v.at_index(i, |v| v.at("Identification", |v| v.at(member, |v| v.error_at(field, message))));
                    }
                }
            }
        });
    }
}

wire_struct! {
    /// `eRoamingPushAuthenticationData` (oicp-2.3.md §3.5): an offline EMP pushes its
    /// identifications.
    pub struct PushAuthenticationData {
        /// How the pushed set relates to the stored one.
        req "ActionType" => action_type: ActionType,
        /// The EMP's identifications.
        req "ProviderAuthenticationData" => provider_authentication_data: ProviderAuthenticationData,
    }
}

impl Validate for PushAuthenticationData {
    fn validate(&self, v: &mut Validator) {
        v.nested(
            "ProviderAuthenticationData",
            &self.provider_authentication_data,
        );
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

    fn push(records: &str) -> String {
        format!(
            r#"{{"ActionType":"insert","ProviderAuthenticationData":{{"ProviderID":"DE-GDF","AuthenticationDataRecord":[{records}]}}}}"#
        )
    }

    const HASH: &str = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    #[test]
    fn fixtures_parse_and_round_trip() {
        for (bytes, response) in [
            (
                &include_bytes!(
                    "../../../tests/fixtures/oicp/valid/PushAuthenticationData.request.json"
                )[..],
                false,
            ),
            (
                &include_bytes!(
                    "../../../tests/fixtures/oicp/valid/PushAuthenticationData.response.json"
                )[..],
                true,
            ),
        ] {
            let expected: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            let written = if response {
                serde_json::to_value(
                    parse::<Acknowledgement>(bytes).unwrap_or_else(|e| panic!("{e:#?}")),
                )
                .unwrap()
            } else {
                serde_json::to_value(
                    parse::<PushAuthenticationData>(bytes).unwrap_or_else(|e| panic!("{e:#?}")),
                )
                .unwrap()
            };
            assert_eq!(written, expected);
        }
    }

    #[test]
    fn identification_members_beside_identification_are_refused() {
        let ok = push(
            r#"{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD"}},"CustomData":{"x":1}}"#,
        );
        let parsed = parse::<PushAuthenticationData>(ok.as_bytes()).unwrap();
        // Unknown members that are not Identification members are kept, not refused.
        assert!(
            parsed
                .provider_authentication_data
                .authentication_data_record[0]
                .extra
                .contains_key("CustomData")
        );
        let bad = push(
            r#"{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD"}},
                "RemoteIdentification":{"EvcoID":"DE-GDF-C12345678-2"},"RFIDmifarefamilyIdentification":{"UID":"5678ABCD"}}"#,
        );
        let errs = parse::<PushAuthenticationData>(bad.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ProviderAuthenticationData.AuthenticationDataRecord[0].RFIDmifarefamilyIdentification",
                "$.ProviderAuthenticationData.AuthenticationDataRecord[0].RemoteIdentification",
            ],
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .all(|e| e.message.contains("must be inside Identification"))
        );
    }

    #[test]
    fn qr_code_needs_pin_or_hashed_pin() {
        let qr = |inner: &str| {
            push(&format!(
                r#"{{"Identification":{{"QRCodeIdentification":{{"EvcoID":"DE-GDF-C12345678-2"{inner}}}}}}}"#
            ))
        };
        parse::<PushAuthenticationData>(qr(r#","PIN":"1234""#).as_bytes()).unwrap();
        // HashedPIN is allowed in authentication data (not in authorization).
        parse::<PushAuthenticationData>(
            qr(&format!(
                r#","HashedPIN":{{"Value":"{HASH}","Function":"Bcrypt"}}"#
            ))
            .as_bytes(),
        )
        .unwrap();
        let errs = parse::<PushAuthenticationData>(qr(r#","PIN":null"#).as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ProviderAuthenticationData.AuthenticationDataRecord[0].Identification.QRCodeIdentification"
            ],
            "{errs:?}"
        );
        assert!(errs[0].message.contains("PIN or a HashedPIN"));
        // Both: Identification's own rule.
        let both = qr(&format!(
            r#","PIN":"1234","HashedPIN":{{"Value":"{HASH}","Function":"Bcrypt"}}"#
        ));
        let errs = parse::<PushAuthenticationData>(both.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ProviderAuthenticationData.AuthenticationDataRecord[0].Identification.QRCodeIdentification"
            ],
            "{errs:?}"
        );
        assert!(errs[0].message.contains("not both"), "{errs:?}");
    }

    #[test]
    fn identification_needs_exactly_one_member() {
        let two = push(
            r#"{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD"},"RemoteIdentification":{"EvcoID":"DE-GDF-C12345678-2"}}}"#,
        );
        let errs = parse::<PushAuthenticationData>(two.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.ProviderAuthenticationData.AuthenticationDataRecord[0].Identification"],
            "{errs:?}"
        );
        let missing = push(
            r#"{"Identification":null,"RemoteIdentification":{"EvcoID":"DE-GDF-C12345678-2"}}"#,
        );
        let errs = parse::<PushAuthenticationData>(missing.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.ProviderAuthenticationData.AuthenticationDataRecord[0].Identification"],
            "{errs:?}"
        );
    }

    #[test]
    fn duplicate_uids_are_refused() {
        let mifare = r#"{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD"}}}"#;
        let other = r#"{"Identification":{"RFIDMifareFamilyIdentification":{"UID":"5678ABCD"}}}"#;
        let full =
            r#"{"Identification":{"RFIDIdentification":{"UID":"1234ABCD","RFID":"mifareCls"}}}"#;
        parse::<PushAuthenticationData>(push(&format!("{mifare},{other}")).as_bytes()).unwrap();
        let errs =
            parse::<PushAuthenticationData>(push(&format!("{mifare},{other},{full}")).as_bytes())
                .unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ProviderAuthenticationData.AuthenticationDataRecord[2].Identification.RFIDIdentification.UID"
            ],
            "{errs:?}"
        );
        assert!(
            errs[0].message.contains("AuthenticationDataRecord[0]"),
            "{errs:?}"
        );
    }

    #[test]
    fn duplicate_evco_ids_are_refused_per_kind() {
        let qr = r#"{"Identification":{"QRCodeIdentification":{"EvcoID":"DE-GDF-C12345678-2","PIN":"1234"}}}"#;
        let pnc =
            r#"{"Identification":{"PlugAndChargeIdentification":{"EvcoID":"DE-GDF-C12345678-2"}}}"#;
        let card = r#"{"Identification":{"RFIDIdentification":{"UID":"1234ABCD","EvcoID":"DE-GDF-C12345678-2","RFID":"mifareDes"}}}"#;
        // One contract as QR code, as Plug&Charge and on a card: three identifications.
        parse::<PushAuthenticationData>(push(&format!("{qr},{pnc},{card}")).as_bytes()).unwrap();
        let errs =
            parse::<PushAuthenticationData>(push(&format!("{qr},{pnc},{card},{pnc}")).as_bytes())
                .unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.ProviderAuthenticationData.AuthenticationDataRecord[3].Identification.PlugAndChargeIdentification.EvcoID"
            ],
            "{errs:?}"
        );
        assert!(
            errs[0].message.contains("AuthenticationDataRecord[1]"),
            "{errs:?}"
        );
    }

    #[test]
    fn evco_ids_of_other_providers_are_not_checked_here() {
        // 019 depends on the provider's sub-providers (node configuration).
        let foreign =
            r#"{"Identification":{"RemoteIdentification":{"EvcoID":"DE-8EO-CAet5e4XY-3"}}}"#;
        parse::<PushAuthenticationData>(push(foreign).as_bytes()).unwrap();
    }

    #[test]
    fn nulls_and_empty_lists() {
        let json = br#"{"ActionType":"fullLoad","ProviderAuthenticationData":{"ProviderID":"DE-GDF","AuthenticationDataRecord":[
            {"Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD"},"RFIDIdentification":null,
             "QRCodeIdentification":null,"PlugAndChargeIdentification":null,"RemoteIdentification":null}}]}}"#;
        let parsed = parse::<PushAuthenticationData>(json).unwrap();
        let id = &parsed
            .provider_authentication_data
            .authentication_data_record[0]
            .identification;
        assert_eq!(id.member_name(), Some("RFIDMifareFamilyIdentification"));
        // fullLoad with an empty list deletes everything: valid.
        parse::<PushAuthenticationData>(push("").as_bytes()).unwrap();
        let errs = parse::<PushAuthenticationData>(
            br#"{"ActionType":"fullLoad","ProviderAuthenticationData":{"ProviderID":"DE-GDF","AuthenticationDataRecord":null}}"#,
        )
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.ProviderAuthenticationData.AuthenticationDataRecord"],
            "{errs:?}"
        );
    }

    /// The published examples (oicp-examples, see its README) as negative cases.
    #[test]
    fn corpus_examples() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/oicp-examples/");
        let Ok(yaml) = std::fs::read(format!(
            "{dir}openapi-yaml-examples/eRoamingPushAuthenticationData.example.json"
        )) else {
            eprintln!("example corpus not found at {dir}; skipped");
            return;
        };
        // Four identification members beside Identification (YAML indentation error).
        let errs = parse::<PushAuthenticationData>(&yaml).unwrap_err();
        let record = "$.ProviderAuthenticationData.AuthenticationDataRecord[0]";
        assert_eq!(
            paths(&errs),
            [
                format!("{record}.PlugAndChargeIdentification"),
                format!("{record}.QRCodeIdentification"),
                format!("{record}.RFIDIdentification"),
                format!("{record}.RemoteIdentification"),
            ],
            "{errs:?}"
        );
        // All five members at once inside Identification.
        let snippet = std::fs::read(format!(
            "{dir}spec-asciidoc/PushAuthenticationData.request.json"
        ))
        .unwrap();
        let errs = parse::<PushAuthenticationData>(&snippet).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.path == format!("{record}.Identification")
                    && e.message.contains("exactly one"))
        );
    }
}
