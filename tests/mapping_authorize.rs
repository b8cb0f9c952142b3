//! OICP `AuthorizeStart` <-> OCPI real-time authorization and the local `AuthorizeStop`
//! (`roambridge::mapping::authorize`):
//! * fixtures `tests/fixtures/mapping/authorize/<case>/{input.json, expected.json,
//!   losses.json}`: `start_*` cases map an `AuthorizeStart` (with the bridge's Location for its
//!   EVSE) to the OCPI request, `info_*` cases an `AuthorizationInfo` to the OICP answer;
//!   `request_*`/`answer_*` cases the OCPI CPO side (OCPI request -> `AuthorizeStart`, OICP
//!   answer -> `AuthorizationInfo`); `ROAMBRIDGE_BLESS=1` rewrites the expected files;
//! * the code policy of both directions, the unknown-token and failure answers, round trips of
//!   the request, and `AuthorizeStop` answered locally.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use fixtures::{check, losses_json, read};
use roambridge::mapping::authorize::{
    AuthorizationAnswerCtx, AuthorizationFailure, OcpiAuthorizationAnswer, StartedSession,
    answer_authorize_stop, authorization_failure_to_oicp, authorization_info_to_oicp,
    authorization_start_to_ocpi, authorize_identification_token, authorize_start_to_ocpi,
    not_allowed_code, ocpi_authorize_to_authorize_start,
};
use roambridge::mapping::token::TokenCtx;
use roambridge::ocpi::v221::ids::TokenUid;
use roambridge::ocpi::v221::tokens::{
    AllowedType, AuthorizationInfo, LocationReferences, TokenType,
};
use roambridge::oicp::v23::authorization::{
    AuthorizationStart, AuthorizationStatus, AuthorizeStart, AuthorizeStop,
};
use roambridge::oicp::v23::common::Identification;
use roambridge::oicp::v23::ids::{EvseId, OperatorId, ProviderId, SessionId};
use roambridge::oicp::v23::status::Code;
use serde_json::{Value, json};

const MINTED: &str = "11111111-2222-4333-8444-555555555555";

fn dir(case: &str) -> PathBuf {
    fixtures::case_dir("authorize", case)
}

fn oicp<T: roambridge::oicp::v23::validate::Validate + serde::de::DeserializeOwned>(
    v: &Value,
) -> T {
    roambridge::oicp::v23::wire::parse_value(v).unwrap()
}

fn answer_ctx(input: &Value) -> AuthorizationAnswerCtx {
    AuthorizationAnswerCtx {
        minted_session_id: SessionId::parse(MINTED).unwrap(),
        group_identifications: input["group"]
            .as_array()
            .unwrap()
            .iter()
            .map(oicp::<Identification>)
            .collect(),
        requested: (!input["requested"].is_null())
            .then(|| roambridge::ocpi::v221::parse_value(&input["requested"]).unwrap()),
    }
}

/// Maps one case's input; (expected output, losses).
fn run(case: &str, input: &Value) -> (Value, Value) {
    if case == "request_rfid_to_oicp" {
        let location: LocationReferences =
            roambridge::ocpi::v221::parse_value(&input["location"]).unwrap();
        let mapped = ocpi_authorize_to_authorize_start(
            &TokenUid::parse(input["token_uid"].as_str().unwrap()).unwrap(),
            &TokenType::from_wire(input["type"].as_str().unwrap()),
            Some(&location),
            OperatorId::parse(input["operator_id"].as_str().unwrap()).unwrap(),
            Some(EvseId::parse(input["evse_id"].as_str().unwrap()).unwrap()),
        )
        .unwrap();
        let errors = roambridge::oicp::v23::validate::Validator::run(&mapped.value);
        assert!(errors.is_empty(), "{case}: {errors:?}");
        (
            serde_json::to_value(&mapped.value).unwrap(),
            losses_json(&mapped.losses),
        )
    } else if case == "answer_not_authorized_to_ocpi" {
        let answer: AuthorizationStart = oicp(&input["answer"]);
        let id: Identification = oicp(&input["identification"]);
        let provider = ProviderId::parse(input["provider"].as_str().unwrap()).unwrap();
        let token = authorize_identification_token(&id, &provider, &token_ctx()).unwrap();
        let location = roambridge::ocpi::v221::parse_value(&input["location"]).unwrap();
        let mapped = authorization_start_to_ocpi(&answer, token.value, Some(location));
        let OcpiAuthorizationAnswer::Info(info) = &mapped.value else {
            panic!("{case}: expected an AuthorizationInfo")
        };
        assert!(roambridge::ocpi::v221::Validator::run(info.as_ref()).is_empty());
        let mut losses = token.losses;
        losses.extend(mapped.losses.iter().cloned());
        (serde_json::to_value(info).unwrap(), losses_json(&losses))
    } else if case.starts_with("start_") {
        let req: AuthorizeStart = oicp(&input["request"]);
        let location: Option<LocationReferences> = (!input["location"].is_null())
            .then(|| roambridge::ocpi::v221::parse_value(&input["location"]).unwrap());
        let mapped = authorize_start_to_ocpi(&req, location).unwrap();
        let out = json!({
            "token_uid": mapped.value.token_uid.as_str(),
            "type": mapped.value.token_type.as_str(),
            "body": serde_json::to_value(&mapped.value.location).unwrap(),
        });
        (out, losses_json(&mapped.losses))
    } else {
        let info: AuthorizationInfo = roambridge::ocpi::v221::parse_value(&input["info"]).unwrap();
        let mapped = authorization_info_to_oicp(&info, &answer_ctx(input)).unwrap();
        let errors = roambridge::oicp::v23::validate::Validator::run(&mapped.value);
        assert!(errors.is_empty(), "{case}: {errors:?}");
        (
            serde_json::to_value(&mapped.value).unwrap(),
            losses_json(&mapped.losses),
        )
    }
}

#[test]
fn fixtures_map_exactly() {
    for case in [
        "start_rfid",
        "start_qr_code",
        "info_allowed",
        "info_blocked_not_guid",
        "info_not_allowed_app_user",
        "request_rfid_to_oicp",
        "answer_not_authorized_to_ocpi",
    ] {
        let dir = dir(case);
        let (out, losses) = run(case, &read(&dir.join("input.json")));
        check(&dir, &[("expected.json", &out), ("losses.json", &losses)]);
    }
}

#[test]
fn verdicts_map_to_oicp_codes() {
    let rfid = TokenType::Rfid;
    let app = TokenType::AppUser;
    let cases = [
        (AllowedType::Allowed, &rfid, Code::Success),
        (AllowedType::Blocked, &rfid, Code::RfidInvalidUid),
        (AllowedType::Blocked, &app, Code::EvcoIdLocked),
        (AllowedType::Expired, &rfid, Code::NoValidContract),
        (AllowedType::NoCredit, &app, Code::NoValidContract),
        (AllowedType::NotAllowed, &rfid, Code::RfidInvalidUid),
        (AllowedType::NotAllowed, &app, Code::NoValidContract),
        (
            AllowedType::Unknown("PENDING".to_owned()),
            &app,
            Code::NoPositiveAuthenticationResponse,
        ),
    ];
    for (allowed, token_type, code) in cases {
        assert_eq!(not_allowed_code(&allowed, token_type), code, "{allowed}");
    }
    let unknown = authorization_failure_to_oicp(AuthorizationFailure::UnknownToken);
    assert_eq!(
        unknown.authorization_status,
        AuthorizationStatus::NotAuthorized
    );
    assert_eq!(unknown.status_code.code.as_str(), "102");
    assert_eq!(
        authorization_failure_to_oicp(AuthorizationFailure::NoEmsp)
            .status_code
            .code
            .as_str(),
        "300"
    );
    assert_eq!(
        authorization_failure_to_oicp(AuthorizationFailure::EmspUnreachable)
            .status_code
            .code
            .as_str(),
        "310"
    );
}

fn token_ctx() -> TokenCtx {
    TokenCtx::new(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
}

#[test]
fn oicp_answers_map_to_ocpi_answers() {
    let id: Identification =
        oicp(&json!({"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}}));
    let provider = ProviderId::parse("DE-GDF").unwrap();
    let token = authorize_identification_token(&id, &provider, &token_ctx())
        .unwrap()
        .value;
    assert_eq!(token.token_type, TokenType::AppUser);
    assert_eq!(token.contract_id.as_str(), "DE-GDF-C12345678-X");

    let mut yes = AuthorizationStart::authorized(provider);
    yes.session_id = Some(SessionId::parse(MINTED).unwrap());
    let OcpiAuthorizationAnswer::Info(info) =
        authorization_start_to_ocpi(&yes, token.clone(), None).value
    else {
        panic!("expected an AuthorizationInfo")
    };
    assert_eq!(info.allowed, AllowedType::Allowed);
    assert_eq!(info.authorization_reference.unwrap().as_str(), MINTED);

    let unknown = AuthorizationStart::not_authorized(Code::RfidInvalidUid);
    assert_eq!(
        authorization_start_to_ocpi(&unknown, token.clone(), None).value,
        OcpiAuthorizationAnswer::UnknownToken
    );
    let locked = AuthorizationStart::not_authorized(Code::EvcoIdLocked);
    let OcpiAuthorizationAnswer::Info(info) =
        authorization_start_to_ocpi(&locked, token.clone(), None).value
    else {
        panic!("expected an AuthorizationInfo")
    };
    assert_eq!(info.allowed, AllowedType::Blocked);
    let other = AuthorizationStart::not_authorized(Code::NoValidContract);
    let mapped = authorization_start_to_ocpi(&other, token, None);
    let OcpiAuthorizationAnswer::Info(info) = mapped.value else {
        panic!("expected an AuthorizationInfo")
    };
    assert_eq!(info.allowed, AllowedType::NotAllowed);
    assert_eq!(mapped.losses[0].path, "StatusCode.Code");
}

#[test]
fn ocpi_requests_become_authorize_start_and_back() {
    let operator = OperatorId::parse("NL*TNM").unwrap();
    let evse = EvseId::parse("NL*TNM*E0001").unwrap();
    let location: LocationReferences =
        roambridge::ocpi::v221::parse_value(&json!({"location_id": "L1", "evse_uids": ["E1"]}))
            .unwrap();
    for (uid, token_type) in [
        ("04:a1:b2:c3", TokenType::Rfid),
        ("NL-TNM-C00000001-1", TokenType::AppUser),
    ] {
        let uid = TokenUid::parse(uid).unwrap();
        let start = ocpi_authorize_to_authorize_start(
            &uid,
            &token_type,
            Some(&location),
            operator.clone(),
            Some(evse.clone()),
        )
        .unwrap();
        assert!(start.is_exact(), "{:?}", start.losses);
        let errors = roambridge::oicp::v23::validate::Validator::run(&start.value);
        assert!(errors.is_empty(), "{errors:?}");
        let back = authorize_start_to_ocpi(&start.value, Some(location.clone())).unwrap();
        assert_eq!(back.value.token_type, token_type);
        assert!(
            back.value
                .token_uid
                .eq_ignore_case(&uid.as_str().replace(':', ""))
        );
        assert_eq!(back.value.location.as_ref(), Some(&location));
    }
    for (uid, token_type) in [("card-1", TokenType::Rfid), ("u1", TokenType::AdHocUser)] {
        let err = ocpi_authorize_to_authorize_start(
            &TokenUid::parse(uid).unwrap(),
            &token_type,
            None,
            operator.clone(),
            None,
        )
        .unwrap_err();
        assert_eq!(err.path, "token_uid", "{uid}");
    }
}

#[test]
fn authorize_stop_is_answered_locally() {
    let session = SessionId::parse(MINTED).unwrap();
    let card = |uid: &str| {
        oicp::<Identification>(&json!({"RFIDMifareFamilyIdentification": {"UID": uid}}))
    };
    let started = StartedSession {
        session_id: session.clone(),
        identification: card("04A1B2C3D4E5F6"),
        stop_identifications: vec![card("0A0B0C0D")],
        provider_id: Some(ProviderId::parse("DE-GDF").unwrap()),
    };
    let stop = |uid: &str, sid: &str| -> AuthorizeStop {
        oicp(&json!({"SessionID": sid, "OperatorID": "DE*ABC",
            "Identification": {"RFIDMifareFamilyIdentification": {"UID": uid}}}))
    };
    let cases = [
        ("04A1B2C3D4E5F6", MINTED, "000"),
        ("0A0B0C0D", MINTED, "000"),
        ("0A0B0C0E", MINTED, "102"),
        (
            "04A1B2C3D4E5F6",
            "99999999-2222-4333-8444-555555555555",
            "400",
        ),
    ];
    for (uid, sid, code) in cases {
        let answer = answer_authorize_stop(&stop(uid, sid), Some(&started));
        assert_eq!(answer.status_code.code.as_str(), code, "{uid} {sid}");
        assert_eq!(answer.is_authorized(), code == "000");
        assert_eq!(answer.session_id.as_ref().unwrap().as_str(), sid);
        assert_eq!(answer.provider_id.is_some(), code == "000");
    }
    let unknown = answer_authorize_stop(&stop("04A1B2C3D4E5F6", MINTED), None);
    assert_eq!(unknown.status_code.code.as_str(), "400");
}
