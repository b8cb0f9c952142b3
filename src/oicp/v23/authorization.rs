//! eRoamingAuthorization 2.1 and eRoamingReservation 1.1 (oicp-2.3.md §2.3, §3.2): local
//! authorization (`AuthorizeStart`/`AuthorizeStop`, CPO → HBS → EMP), remote start/stop and
//! remote reservation start/stop (EMP → HBS → CPO).
//!
//! The remote and reservation operations are answered with
//! [`Acknowledgement`](super::acknowledgement::Acknowledgement) (a remote start returns the new
//! `SessionID` in it); the local ones with [`AuthorizationStart`] and [`AuthorizationStop`].
//!
//! Leniency (oicp-2.3.md §5.3, §5.5, §8): `null` is absent; `EMPPartnerSessionId` (E5) is read
//! in every message and `EMPPartnerSessionID` written; members the model does not know (such as
//! `Result` in the EMP snippet of `AuthorizationStop`, or `PartnerProductID` in the CPO snippet
//! of `AuthorizeStop`) are kept in `extra`.

use super::common::Identification;
use super::ids::{
    CpoPartnerSessionId, EmpPartnerSessionId, EvseId, OperatorId, ProductId, ProviderId, SessionId,
};
use super::scalars::Int;
use super::status::{Code, StatusCode};
use super::validate::{Validate, Validator};
use super::wire::Extra;
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `AuthorizationStatus` of an authorization response (oicp-2.3.md §4.3).
    pub enum AuthorizationStatus {
        /// The EMP authorizes the session.
        Authorized = "Authorized",
        /// The EMP refuses (also the answer when no EMP could be reached).
        NotAuthorized = "NotAuthorized",
    }
}

/// Reports a positive status with a status code other than `000` at `AuthorizationStatus`:
/// the two disagree, and a receiver could not tell whether to charge.
fn check_status_agrees(v: &mut Validator, status: &AuthorizationStatus, code: &StatusCode) {
    if *status == AuthorizationStatus::Authorized && !code.code.is_success() {
        v.error_at(
            "AuthorizationStatus",
            format!(
                "AuthorizationStatus is Authorized but StatusCode is {}; expected 000",
                code.code
            ),
        );
    }
}

wire_struct! {
    /// `eRoamingAuthorizeStart` (oicp-2.3.md §3.2): a CPO asks whether a customer may charge;
    /// the HBS forwards it to the EMP (or broadcasts it for RFID, §2.3).
    pub struct AuthorizeStart {
        /// Session ID; the HBS creates it, so a CPO usually leaves it out.
        opt "SessionID" => session_id: SessionId,
        /// The CPO's own session ID (at most 250 characters).
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The CPO (the hub operator, §1).
        req "OperatorID" => operator_id: OperatorId,
        /// The EVSE (optional, but recommended).
        opt "EvseID" => evse_id: EvseId,
        /// How the customer identified: no `RFIDIdentification`, no `HashedPIN`.
        req "Identification" => identification: Identification,
        /// Pricing product requested.
        opt "PartnerProductID" => partner_product_id: ProductId,
    }
}

impl Validate for AuthorizeStart {
    /// The identification rules of authorization (no `RFIDIdentification`; a QR code carries
    /// the clear PIN, never `HashedPIN`) and the Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        v.at("Identification", |v| {
            self.identification.validate_for_authorization(v);
        });
        v.nested("Identification", &self.identification);
    }
}

wire_struct! {
    /// `eRoamingAuthorizationStart` (oicp-2.3.md §3.2): the answer to [`AuthorizeStart`].
    ///
    /// S1 says `ProviderID` is set on a positive result, but it is optional in every table and
    /// the answer is complete without it (the HBS fills it in when it forwards), so an
    /// `Authorized` answer without `ProviderID` is accepted.
    pub struct AuthorizationStart {
        /// The session the HBS created.
        opt "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The EMP that authorized.
        opt "ProviderID" => provider_id: ProviderId,
        /// The decision.
        req "AuthorizationStatus" => authorization_status: AuthorizationStatus,
        /// Outcome details.
        req "StatusCode" => status_code: StatusCode,
        /// Identifications that may also stop the session.
        optlist "AuthorizationStopIdentifications" => authorization_stop_identifications: Identification,
    }
}

impl AuthorizationStart {
    /// A positive answer (`000`) from `provider_id`.
    pub fn authorized(provider_id: ProviderId) -> Self {
        Self {
            session_id: None,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id: Some(provider_id),
            authorization_status: AuthorizationStatus::Authorized,
            status_code: StatusCode::success(),
            authorization_stop_identifications: None,
            extra: Extra::new(),
        }
    }

    /// A negative answer with `code` and the spec's description of it.
    pub fn not_authorized(code: Code) -> Self {
        Self {
            session_id: None,
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            provider_id: None,
            authorization_status: AuthorizationStatus::NotAuthorized,
            status_code: StatusCode::new(code),
            authorization_stop_identifications: None,
            extra: Extra::new(),
        }
    }

    /// Whether the customer may charge.
    pub fn is_authorized(&self) -> bool {
        self.authorization_status == AuthorizationStatus::Authorized
    }
}

impl Validate for AuthorizationStart {
    /// `Authorized` must come with `000`; each stop identification follows the
    /// Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        check_status_agrees(v, &self.authorization_status, &self.status_code);
        if let Some(ids) = &self.authorization_stop_identifications {
            v.each("AuthorizationStopIdentifications", ids);
        }
    }
}

wire_struct! {
    /// `eRoamingAuthorizeStop` (oicp-2.3.md §3.2): a CPO asks whether a customer may stop a
    /// session authorized with [`AuthorizeStart`].
    pub struct AuthorizeStop {
        /// The session from `AuthorizeStart` (mandatory).
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The CPO.
        req "OperatorID" => operator_id: OperatorId,
        /// The EVSE.
        opt "EvseID" => evse_id: EvseId,
        /// How the customer identified: no `RFIDIdentification`, no `HashedPIN`.
        req "Identification" => identification: Identification,
    }
}

impl Validate for AuthorizeStop {
    /// The same identification rules as [`AuthorizeStart`].
    fn validate(&self, v: &mut Validator) {
        v.at("Identification", |v| {
            self.identification.validate_for_authorization(v);
        });
        v.nested("Identification", &self.identification);
    }
}

wire_struct! {
    /// `eRoamingAuthorizationStop` (oicp-2.3.md §3.2): the answer to [`AuthorizeStop`].
    pub struct AuthorizationStop {
        /// The session.
        opt "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The EMP that answered.
        opt "ProviderID" => provider_id: ProviderId,
        /// The decision.
        req "AuthorizationStatus" => authorization_status: AuthorizationStatus,
        /// Outcome details.
        req "StatusCode" => status_code: StatusCode,
    }
}

impl AuthorizationStop {
    /// Whether the customer may stop the session.
    pub fn is_authorized(&self) -> bool {
        self.authorization_status == AuthorizationStatus::Authorized
    }
}

impl Validate for AuthorizationStop {
    /// `Authorized` must come with `000`.
    fn validate(&self, v: &mut Validator) {
        check_status_agrees(v, &self.authorization_status, &self.status_code);
    }
}

wire_struct! {
    /// `eRoamingAuthorizeRemoteStart` (oicp-2.3.md §3.2): an EMP asks a CPO (through the HBS)
    /// to start charging. Answered with an Acknowledgement that carries the new `SessionID`.
    ///
    /// `SessionID` is optional (E14): the EMP should leave it out (the HBS creates it), and the
    /// CPO gets it from the HBS, but S5 shows an HBS-forwarded request with `SessionID: null`,
    /// so its absence is accepted in both directions. Whoever needs it (a CPO that must answer
    /// with it) checks it at the operation level.
    pub struct AuthorizeRemoteStart {
        /// The session the HBS created (absent in the EMP's request, E14).
        opt "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The EMP asking (the hub provider).
        req "ProviderID" => provider_id: ProviderId,
        /// The EVSE to start.
        req "EvseID" => evse_id: EvseId,
        /// The customer: only `RemoteIdentification`.
        req "Identification" => identification: Identification,
        /// Pricing product requested.
        opt "PartnerProductID" => partner_product_id: ProductId,
    }
}

impl Validate for AuthorizeRemoteStart {
    /// Only `RemoteIdentification`, plus the Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        v.at("Identification", |v| {
            self.identification.validate_remote_only(v);
        });
        v.nested("Identification", &self.identification);
    }
}

wire_struct! {
    /// `eRoamingAuthorizeRemoteStop` (oicp-2.3.md §3.2): an EMP asks a CPO to stop a session it
    /// started remotely. Answered with an Acknowledgement.
    pub struct AuthorizeRemoteStop {
        /// The session from the remote start (mandatory).
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
    }
}

impl Validate for AuthorizeRemoteStop {
    /// No rules beyond the member types.
    fn validate(&self, _: &mut Validator) {}
}

wire_struct! {
    /// `eRoamingAuthorizeRemoteReservationStart` (oicp-2.3.md §3.2): an EMP reserves an EVSE.
    /// Answered with an Acknowledgement.
    pub struct AuthorizeRemoteReservationStart {
        /// The session (created by the HBS, as for remote start).
        opt "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// The EVSE to reserve.
        req "EvseID" => evse_id: EvseId,
        /// The customer: only `RemoteIdentification`.
        req "Identification" => identification: Identification,
        /// The reservation product.
        opt "PartnerProductID" => partner_product_id: ProductId,
        /// Length of the reservation in minutes, 1 to 99 (field length 2; `OpenAPI` 1..99).
        opt "Duration" => duration: Int<1, 99>,
    }
}

impl Validate for AuthorizeRemoteReservationStart {
    /// Only `RemoteIdentification`, plus the Identification's own rules.
    fn validate(&self, v: &mut Validator) {
        v.at("Identification", |v| {
            self.identification.validate_remote_only(v);
        });
        v.nested("Identification", &self.identification);
    }
}

wire_struct! {
    /// `eRoamingAuthorizeRemoteReservationStop` (oicp-2.3.md §3.2): an EMP cancels a
    /// reservation; the CPO must then send a CDR (§2.3). Answered with an Acknowledgement.
    pub struct AuthorizeRemoteReservationStop {
        /// The reservation's session (mandatory).
        req "SessionID" => session_id: SessionId,
        /// The CPO's own session ID.
        opt "CPOPartnerSessionID" => cpo_partner_session_id: CpoPartnerSessionId,
        /// The EMP's own session ID (`EMPPartnerSessionId` accepted, E5).
        opt "EMPPartnerSessionID" | "EMPPartnerSessionId" => emp_partner_session_id: EmpPartnerSessionId,
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
    }
}

impl Validate for AuthorizeRemoteReservationStop {
    /// No rules beyond the member types.
    fn validate(&self, _: &mut Validator) {}
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

    fn rfid() -> serde_json::Value {
        serde_json::json!({"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}})
    }

    fn remote() -> serde_json::Value {
        serde_json::json!({"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-2"}})
    }

    fn full_rfid() -> serde_json::Value {
        serde_json::json!({"RFIDIdentification": {"UID": "1234ABCD", "RFID": "mifareCls"}})
    }

    fn qr(pin: bool, hashed: bool) -> serde_json::Value {
        let mut qr = serde_json::json!({"EvcoID": "DE-GDF-C12345678-2"});
        if pin {
            qr["PIN"] = "1234".into();
        }
        if hashed {
            qr["HashedPIN"] = serde_json::json!({"Function": "Bcrypt", "Value": "abcdefghij0123"});
        }
        serde_json::json!({ "QRCodeIdentification": qr })
    }

    fn start(identification: serde_json::Value) -> serde_json::Value {
        let mut j = serde_json::json!({"OperatorID": "DE*GEF", "EvseID": "DE*GEF*E0001*1"});
        j["Identification"] = identification;
        j
    }

    fn stop(identification: serde_json::Value) -> serde_json::Value {
        let mut j = serde_json::json!({"SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6", "OperatorID": "DE*GEF"});
        j["Identification"] = identification;
        j
    }

    #[test]
    fn authorize_start_identification_rules() {
        parse::<AuthorizeStart>(&to_bytes(&start(rfid()))).unwrap();
        parse::<AuthorizeStart>(&to_bytes(&start(qr(true, false)))).unwrap();
        parse::<AuthorizeStart>(&to_bytes(&start(remote()))).unwrap();

        let errs = parse::<AuthorizeStart>(&to_bytes(&start(full_rfid()))).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.Identification.RFIDIdentification"],
            "{errs:?}"
        );

        let errs = parse::<AuthorizeStart>(&to_bytes(&start(qr(false, true)))).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.Identification.QRCodeIdentification.HashedPIN",
                "$.Identification.QRCodeIdentification.PIN"
            ],
            "{errs:?}"
        );

        // PIN and HashedPIN together: the authorization rule and the Identification's own rule.
        let errs = parse::<AuthorizeStart>(&to_bytes(&start(qr(true, true)))).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.Identification.QRCodeIdentification",
                "$.Identification.QRCodeIdentification.HashedPIN"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn authorize_stop_identification_rules() {
        parse::<AuthorizeStop>(&to_bytes(&stop(rfid()))).unwrap();
        let errs = parse::<AuthorizeStop>(&to_bytes(&stop(full_rfid()))).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.Identification.RFIDIdentification"],
            "{errs:?}"
        );
        let errs = parse::<AuthorizeStop>(&to_bytes(&stop(qr(true, true)))).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.Identification.QRCodeIdentification",
                "$.Identification.QRCodeIdentification.HashedPIN"
            ],
            "{errs:?}"
        );
        // The SessionID is mandatory in a stop.
        let mut json = stop(rfid());
        json["SessionID"] = serde_json::Value::Null;
        let errs = parse::<AuthorizeStop>(&to_bytes(&json)).unwrap_err();
        assert_eq!(paths(&errs), ["$.SessionID"], "{errs:?}");
    }

    #[test]
    fn authorize_start_nulls_aliases_and_unknown_members() {
        let json = br#"{"SessionID":null,"CPOPartnerSessionID":null,"EMPPartnerSessionId":"emp-77",
            "OperatorID":"DE*GEF","EvseID":null,"PartnerProductID":null,"CustomData":{"a":1},
            "Identification":{"RFIDMifareFamilyIdentification":{"UID":"1234ABCD"},"QRCodeIdentification":null,
            "RFIDIdentification":null,"PlugAndChargeIdentification":null,"RemoteIdentification":null}}"#;
        let req = parse::<AuthorizeStart>(json).unwrap();
        assert!(req.session_id.is_none() && req.evse_id.is_none());
        assert_eq!(
            req.emp_partner_session_id
                .as_ref()
                .map(EmpPartnerSessionId::as_str),
            Some("emp-77")
        );
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["EMPPartnerSessionID"], "emp-77");
        assert_eq!(back["CustomData"], serde_json::json!({"a": 1}));
        assert!(back.get("SessionID").is_none());
    }

    #[test]
    fn missing_members_are_reported_at_their_paths() {
        let errs = parse::<AuthorizeStart>(br#"{"EvseID":"DE*GEF*E0001*1"}"#).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.Identification", "$.OperatorID"],
            "{errs:?}"
        );
        let errs = parse::<AuthorizeRemoteStop>(
            br#"{"SessionID":"b2688855-7f00-0002-6d8e-48d883f6abb6"}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.EvseID", "$.ProviderID"], "{errs:?}");
    }

    fn authorization_start(status: &str, code: &str) -> serde_json::Value {
        serde_json::json!({"AuthorizationStatus": status, "StatusCode": {"Code": code}})
    }

    #[test]
    fn authorization_start_status_must_agree_with_code() {
        // No ProviderID needed for a positive answer.
        let ok = parse::<AuthorizationStart>(&to_bytes(&authorization_start("Authorized", "000")))
            .unwrap();
        assert!(ok.is_authorized());
        parse::<AuthorizationStart>(&to_bytes(&authorization_start("NotAuthorized", "102")))
            .unwrap();
        parse::<AuthorizationStart>(&to_bytes(&authorization_start("NotAuthorized", "000")))
            .unwrap();
        let errs =
            parse::<AuthorizationStart>(&to_bytes(&authorization_start("Authorized", "210")))
                .unwrap_err();
        assert_eq!(paths(&errs), ["$.AuthorizationStatus"], "{errs:?}");
        let errs = parse::<AuthorizationStart>(&to_bytes(&authorization_start("Maybe", "000")))
            .unwrap_err();
        assert_eq!(paths(&errs), ["$.AuthorizationStatus"], "{errs:?}");
        assert!(
            errs[0].message.contains("Authorized, NotAuthorized"),
            "{errs:?}"
        );
    }

    #[test]
    fn authorization_start_stop_identifications_follow_their_rules() {
        let mut json = authorization_start("Authorized", "000");
        json["AuthorizationStopIdentifications"] = serde_json::json!([rfid(), qr(true, false)]);
        parse::<AuthorizationStart>(&to_bytes(&json)).unwrap();
        json["AuthorizationStopIdentifications"] = serde_json::json!([rfid(), qr(true, true)]);
        let errs = parse::<AuthorizationStart>(&to_bytes(&json)).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.AuthorizationStopIdentifications[1].QRCodeIdentification"],
            "{errs:?}"
        );
    }

    #[test]
    fn authorization_start_constructors() {
        let yes = AuthorizationStart::authorized(ProviderId::parse("DE-GDF").unwrap());
        assert!(Validator::run(&yes).is_empty());
        let json = serde_json::to_value(&yes).unwrap();
        assert_eq!(json["AuthorizationStatus"], "Authorized");
        assert_eq!(json["StatusCode"]["Code"], "000");
        let no = AuthorizationStart::not_authorized(Code::NoValidContract);
        assert!(!no.is_authorized());
        assert!(Validator::run(&no).is_empty());
        assert_eq!(
            serde_json::to_value(&no).unwrap()["StatusCode"]["Code"],
            "210"
        );
    }

    #[test]
    fn authorization_stop_status_must_agree_with_code() {
        let ok = parse::<AuthorizationStop>(&to_bytes(&authorization_start("Authorized", "000")))
            .unwrap();
        assert!(ok.is_authorized());
        let errs = parse::<AuthorizationStop>(&to_bytes(&authorization_start("Authorized", "400")))
            .unwrap_err();
        assert_eq!(paths(&errs), ["$.AuthorizationStatus"], "{errs:?}");
    }

    fn remote_start(identification: serde_json::Value) -> serde_json::Value {
        let mut j = serde_json::json!({"ProviderID": "DE-GDF", "EvseID": "DE*GEF*E0001*1"});
        j["Identification"] = identification;
        j
    }

    #[test]
    fn remote_start_only_remote_identification_and_no_session_needed() {
        // E14: the EMP leaves SessionID out; the HBS may forward it as null.
        let req = parse::<AuthorizeRemoteStart>(&to_bytes(&remote_start(remote()))).unwrap();
        assert!(req.session_id.is_none());
        let mut with_null = remote_start(remote());
        with_null["SessionID"] = serde_json::Value::Null;
        parse::<AuthorizeRemoteStart>(&to_bytes(&with_null)).unwrap();

        let errs = parse::<AuthorizeRemoteStart>(&to_bytes(&remote_start(rfid()))).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.Identification.RFIDMifareFamilyIdentification"],
            "{errs:?}"
        );
        // A QR code with both PIN forms breaks both rules.
        let errs =
            parse::<AuthorizeRemoteStart>(&to_bytes(&remote_start(qr(true, true)))).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.Identification.QRCodeIdentification",
                "$.Identification.QRCodeIdentification"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn reservation_start_rules() {
        let mut json = remote_start(remote());
        json["Duration"] = 15.into();
        json["EMPPartnerSessionId"] = "emp-1".into();
        let req = parse::<AuthorizeRemoteReservationStart>(&to_bytes(&json)).unwrap();
        assert_eq!(req.duration.map(Int::get), Some(15));
        assert!(req.emp_partner_session_id.is_some());

        let errs = parse::<AuthorizeRemoteReservationStart>(&to_bytes(&remote_start(
            serde_json::json!({"PlugAndChargeIdentification": {"EvcoID": "DE-GDF-C12345678-2"}}),
        )))
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.Identification.PlugAndChargeIdentification"],
            "{errs:?}"
        );

        for bad in [0, 100] {
            json["Duration"] = bad.into();
            let errs = parse::<AuthorizeRemoteReservationStart>(&to_bytes(&json)).unwrap_err();
            assert_eq!(paths(&errs), ["$.Duration"], "{errs:?}");
        }
    }

    #[test]
    fn stops_need_session_provider_and_evse() {
        let ok = br#"{"SessionID":"b2688855-7f00-0002-6d8e-48d883f6abb6","ProviderID":"DE-GDF","EvseID":"DE*GEF*E0001*1"}"#;
        parse::<AuthorizeRemoteStop>(ok).unwrap();
        parse::<AuthorizeRemoteReservationStop>(ok).unwrap();
        let errs = parse::<AuthorizeRemoteReservationStop>(
            br#"{"ProviderID":"DE-GDF","EvseID":"DE*GEF*E0001*1"}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.SessionID"], "{errs:?}");
    }

    fn round_trip<T>(bytes: &[u8]) -> T
    where
        T: serde::de::DeserializeOwned + serde::Serialize + Validate,
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
        let r = round_trip::<AuthorizeStart>(fixture!("AuthorizeStart.request.json"));
        assert!(r.extra.is_empty());
        let r = round_trip::<AuthorizationStart>(fixture!("AuthorizeStart.response.json"));
        assert!(r.extra.is_empty());
        let r = round_trip::<AuthorizeStop>(fixture!("AuthorizeStop.request.json"));
        assert!(r.extra.is_empty());
        let r = round_trip::<AuthorizationStop>(fixture!("AuthorizeStop.response.json"));
        assert!(r.extra.is_empty());
        let r = round_trip::<AuthorizeRemoteStart>(fixture!("AuthorizeRemoteStart.request.json"));
        assert!(r.extra.is_empty());
        round_trip::<Acknowledgement>(fixture!("AuthorizeRemoteStart.response.json"));
        let r = round_trip::<AuthorizeRemoteStop>(fixture!("AuthorizeRemoteStop.request.json"));
        assert!(r.extra.is_empty());
        round_trip::<Acknowledgement>(fixture!("AuthorizeRemoteStop.response.json"));
        let r = round_trip::<AuthorizeRemoteReservationStart>(fixture!(
            "AuthorizeRemoteReservationStart.request.json"
        ));
        assert!(r.extra.is_empty());
        round_trip::<Acknowledgement>(fixture!("AuthorizeRemoteReservationStart.response.json"));
        let r = round_trip::<AuthorizeRemoteReservationStop>(fixture!(
            "AuthorizeRemoteReservationStop.request.json"
        ));
        assert!(r.extra.is_empty());
        round_trip::<Acknowledgement>(fixture!("AuthorizeRemoteReservationStop.response.json"));
    }

    /// The published examples (`../shared/oicp-examples`, when present next to the project).
    fn corpus(name: &str) -> Option<Vec<u8>> {
        let path = format!(
            "{}/../shared/oicp-examples/spec-asciidoc/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path)
            .map_err(|e| eprintln!("skipping {path}: {e}"))
            .ok()
    }

    #[test]
    fn corpus_examples() {
        // Five-member Identifications are refused while parsing.
        if let Some(bytes) = corpus("AuthorizeStart.request.json") {
            let errs = parse::<AuthorizeStart>(&bytes).unwrap_err();
            assert!(paths(&errs).contains(&"$.Identification"), "{errs:?}");
        }
        for name in [
            "AuthorizeStop.request.cpo-doc.json",
            "AuthorizeStop.request.emp-doc.json",
        ] {
            if let Some(bytes) = corpus(name) {
                let errs = parse::<AuthorizeStop>(&bytes).unwrap_err();
                assert!(
                    paths(&errs).contains(&"$.Identification"),
                    "{name}: {errs:?}"
                );
            }
        }
        if let Some(bytes) = corpus("AuthorizeRemoteStart.request.json") {
            let errs = parse::<AuthorizeRemoteStart>(&bytes).unwrap_err();
            assert!(paths(&errs).contains(&"$.Identification"), "{errs:?}");
        }
        if let Some(bytes) = corpus("AuthorizeStart.response.cpo-doc.json") {
            let errs = parse::<AuthorizationStart>(&bytes).unwrap_err();
            assert!(
                paths(&errs).contains(&"$.AuthorizationStopIdentifications[0]"),
                "{errs:?}"
            );
        }
        // `Result` (an Acknowledgement member) is kept in `extra`.
        if let Some(bytes) = corpus("AuthorizeStop.response.emp-doc.json") {
            let resp = parse::<AuthorizationStop>(&bytes).unwrap();
            assert_eq!(
                resp.extra.get("Result"),
                Some(&serde_json::Value::Bool(true))
            );
        }
        for name in [
            "AuthorizeRemoteStop.request.json",
            "AuthorizeRemoteReservationStop.request.json",
        ] {
            if let Some(bytes) = corpus(name) {
                parse::<AuthorizeRemoteStop>(&bytes).unwrap();
                parse::<AuthorizeRemoteReservationStop>(&bytes).unwrap();
            }
        }
        for name in [
            "AuthorizeRemoteStart.response.emp-doc.json",
            "AuthorizeRemoteStop.response.cpo-doc.json",
            "AuthorizeRemoteReservationStart.response.json",
            "AuthorizeRemoteReservationStop.response.json",
        ] {
            if let Some(bytes) = corpus(name) {
                parse::<Acknowledgement>(&bytes).unwrap();
            }
        }
    }
}
