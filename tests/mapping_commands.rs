//! OICP remote start/stop and reservations <-> OCPI commands, and the synchronous OICP answer
//! to asynchronous OCPI results (`roambridge::mapping::command`):
//! * fixtures `tests/fixtures/mapping/command/<case>/{input.json, expected.json,
//!   losses.json}` for each request direction; `ROAMBRIDGE_BLESS=1` rewrites the expected
//!   files;
//! * every OCPI response/result -> OICP status code, every OICP code class -> OCPI result, the
//!   timeout policy, and a remote start round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use fixtures::{check, losses_json, read};
use roambridge::mapping::Mapped;
use roambridge::mapping::command::{
    AcceptedWithoutResult, CommandOutcome, CommandPolicy, EvseLocation, ToOcpiCommandCtx,
    ToOicpCommandCtx, acknowledgement_to_command_result,
    cancel_reservation_to_remote_reservation_stop, command_accepted_response,
    command_outcome_to_acknowledgement, remote_reservation_start_to_reserve_now,
    remote_reservation_stop_to_cancel_reservation, remote_start_to_start_session,
    remote_stop_to_stop_session, reserve_now_to_remote_reservation_start,
    start_session_to_remote_start, stop_session_to_remote_stop, unsupported_command_response,
};
use roambridge::mapping::token::TokenCtx;
use roambridge::ocpi::v221::commands::{
    CommandResponse, CommandResult, CommandResultType, CommandType, ReserveNow, StartSession,
};
use roambridge::ocpi::v221::ids::{ConnectorId, EvseUid, LocationId, SessionId as OcpiSessionId};
use roambridge::ocpi::v221::types::Url;
use roambridge::oicp::v23::acknowledgement::Acknowledgement;
use roambridge::oicp::v23::authorization::{
    AuthorizeRemoteReservationStart, AuthorizeRemoteReservationStop, AuthorizeRemoteStart,
    AuthorizeRemoteStop,
};
use roambridge::oicp::v23::ids::{EvseId, ProviderId, SessionId};
use roambridge::oicp::v23::status::Code;
use serde::Serialize;
use serde_json::{Value, json};

const MINTED: &str = "11111111-2222-4333-8444-555555555555";

fn dir(case: &str) -> PathBuf {
    fixtures::case_dir("command", case)
}

fn oicp<T: roambridge::oicp::v23::validate::Validate + serde::de::DeserializeOwned>(
    v: &Value,
) -> T {
    roambridge::oicp::v23::wire::parse_value(v).unwrap()
}

fn ocpi<T: roambridge::ocpi::v221::Validate + serde::de::DeserializeOwned>(v: &Value) -> T {
    roambridge::ocpi::v221::parse_value(v).unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn url() -> Url {
    Url::parse("https://bridge.example/ocpi/2.2.1/commands/result/1").unwrap()
}

fn to_ocpi_ctx() -> ToOcpiCommandCtx {
    ToOcpiCommandCtx {
        now: now(),
        response_url: url(),
        location: EvseLocation {
            location_id: LocationId::parse("DE*ABC*P1").unwrap(),
            evse_uid: EvseUid::parse("DE*ABC*E100001").unwrap(),
            connector_ids: vec![
                ConnectorId::parse("1").unwrap(),
                ConnectorId::parse("2").unwrap(),
            ],
        },
        policy: CommandPolicy::default(),
        token: TokenCtx::new(now()),
    }
}

fn to_oicp_ctx() -> ToOicpCommandCtx {
    ToOicpCommandCtx {
        now: now(),
        evse_id: EvseId::parse("DE*ABC*E100001").unwrap(),
        session_id: SessionId::parse(MINTED).unwrap(),
    }
}

fn out<T: Serialize>(m: &Mapped<T>) -> (Value, Value) {
    (
        serde_json::to_value(&m.value).unwrap(),
        losses_json(&m.losses),
    )
}

fn run(case: &str, input: &Value) -> (Value, Value) {
    let sid = |v: &Value| SessionId::parse(v["SessionID"].as_str().unwrap()).unwrap();
    match case {
        "remote_start" => {
            let req: AuthorizeRemoteStart = oicp(input);
            out(&remote_start_to_start_session(&req, &sid(input), &to_ocpi_ctx()).unwrap())
        }
        "remote_stop" => {
            let req: AuthorizeRemoteStop = oicp(input);
            let session = OcpiSessionId::parse("cpo-session-9").unwrap();
            out(&remote_stop_to_stop_session(&req, session, url()))
        }
        "reservation_start" | "reservation_start_no_duration" => {
            let req: AuthorizeRemoteReservationStart = oicp(input);
            out(
                &remote_reservation_start_to_reserve_now(&req, &sid(input), &to_ocpi_ctx())
                    .unwrap(),
            )
        }
        "reservation_stop" => {
            let req: AuthorizeRemoteReservationStop = oicp(input);
            out(&remote_reservation_stop_to_cancel_reservation(&req, url()).unwrap())
        }
        "start_session_to_oicp" => {
            let cmd: StartSession = ocpi(input);
            out(&start_session_to_remote_start(&cmd, &to_oicp_ctx()).unwrap())
        }
        "reserve_now_to_oicp" => {
            let cmd: ReserveNow = ocpi(input);
            out(&reserve_now_to_remote_reservation_start(&cmd, &to_oicp_ctx()).unwrap())
        }
        other => panic!("unknown case {other}"),
    }
}

#[test]
fn fixtures_map_exactly() {
    for case in [
        "remote_start",
        "remote_stop",
        "reservation_start",
        "reservation_start_no_duration",
        "reservation_stop",
        "start_session_to_oicp",
        "reserve_now_to_oicp",
    ] {
        let dir = dir(case);
        let (value, losses) = run(case, &read(&dir.join("input.json")));
        check(&dir, &[("expected.json", &value), ("losses.json", &losses)]);
    }
}

#[test]
fn remote_start_round_trips_through_start_session() {
    let req: AuthorizeRemoteStart = oicp(&read(&dir("remote_start").join("input.json")));
    let session = req.session_id.clone().unwrap();
    let cmd = remote_start_to_start_session(&req, &session, &to_ocpi_ctx())
        .unwrap()
        .value;
    assert!(roambridge::ocpi::v221::Validator::run(&cmd).is_empty());
    let back = start_session_to_remote_start(&cmd, &to_oicp_ctx()).unwrap();
    assert_eq!(back.value.session_id, req.session_id);
    assert_eq!(back.value.provider_id, req.provider_id);
    assert_eq!(back.value.evse_id, req.evse_id);
    assert_eq!(back.value.identification, req.identification);
    // connector_id was added for the CPO (P25), and is the only note.
    let paths: Vec<&str> = back.losses.iter().map(|l| l.path.as_str()).collect();
    assert_eq!(paths, ["connector_id"]);
}

#[test]
fn stop_and_cancel_to_oicp_use_the_bridge_session() {
    let provider = ProviderId::parse("NL-TNM").unwrap();
    let stop = stop_session_to_remote_stop(&to_oicp_ctx(), provider.clone());
    assert_eq!(stop.session_id.as_str(), MINTED);
    assert!(roambridge::oicp::v23::validate::Validator::run(&stop).is_empty());
    let guid = "d4688855-7f00-0002-6d8e-48d883f6abb6";
    for (reservation, want) in [(guid, guid), ("r-92", MINTED)] {
        let cmd = ocpi(&json!({"response_url": "https://e/x", "reservation_id": reservation}));
        let stop =
            cancel_reservation_to_remote_reservation_stop(&cmd, &to_oicp_ctx(), provider.clone());
        assert_eq!(stop.session_id.as_str(), want);
    }
}

fn response(result: &str, timeout: i64) -> CommandResponse {
    ocpi(&json!({"result": result, "timeout": timeout}))
}

fn result(r: &str) -> CommandResult {
    ocpi(&json!({"result": r, "message": [{"language": "en", "text": "from the CP"}]}))
}

#[test]
fn outcomes_become_oicp_acknowledgements() {
    let policy = CommandPolicy::default();
    let start = CommandType::StartSession;
    let stop = CommandType::StopSession;
    let cancel = CommandType::CancelReservation;
    let answered = |r: &str, res: Option<&str>| CommandOutcome::Answered {
        response: response(r, 30),
        result: res.map(result),
    };
    let cases: Vec<(&CommandType, CommandOutcome, bool, &str)> = vec![
        (&start, answered("ACCEPTED", Some("ACCEPTED")), true, "000"),
        (&start, answered("ACCEPTED", None), true, "000"),
        (
            &start,
            answered("ACCEPTED", Some("EVSE_OCCUPIED")),
            false,
            "602",
        ),
        (
            &start,
            answered("ACCEPTED", Some("EVSE_INOPERATIVE")),
            false,
            "700",
        ),
        (&start, answered("ACCEPTED", Some("REJECTED")), false, "210"),
        (&stop, answered("ACCEPTED", Some("REJECTED")), false, "400"),
        (&start, answered("ACCEPTED", Some("FAILED")), false, "501"),
        (&start, answered("ACCEPTED", Some("TIMEOUT")), false, "501"),
        (
            &start,
            answered("ACCEPTED", Some("NOT_SUPPORTED")),
            false,
            "604",
        ),
        (
            &cancel,
            answered("ACCEPTED", Some("UNKNOWN_RESERVATION")),
            false,
            "400",
        ),
        (
            &cancel,
            answered("ACCEPTED", Some("CANCELED_RESERVATION")),
            true,
            "000",
        ),
        (
            &start,
            answered("ACCEPTED", Some("CANCELED_RESERVATION")),
            false,
            "501",
        ),
        (&start, answered("REJECTED", None), false, "603"),
        (&stop, answered("REJECTED", None), false, "400"),
        (&stop, answered("UNKNOWN_SESSION", None), false, "400"),
        (&start, answered("NOT_SUPPORTED", None), false, "604"),
        (&start, CommandOutcome::NoResponse, false, "501"),
    ];
    let session = SessionId::parse(MINTED).unwrap();
    for (command, outcome, ok, code) in cases {
        let ack =
            command_outcome_to_acknowledgement(command, &outcome, Some(session.clone()), &policy);
        assert_eq!(
            (ack.result, ack.status_code.code.as_str()),
            (ok, code),
            "{command} {outcome:?}"
        );
        assert!(roambridge::oicp::v23::validate::Validator::run(&ack).is_empty());
        assert_eq!(ack.session_id.as_ref(), Some(&session));
        let info = ack
            .status_code
            .additional_info
            .as_ref()
            .map(|i| i.as_str().to_owned());
        if let CommandOutcome::Answered {
            result: Some(r), ..
        } = &outcome
        {
            let info = info.unwrap();
            assert!(
                info.contains(r.result.as_str()) && info.contains("from the CP"),
                "{info}"
            );
        }
    }
    let strict = CommandPolicy::default().with_accepted_without_result(AcceptedWithoutResult::Fail);
    let ack =
        command_outcome_to_acknowledgement(&start, &answered("ACCEPTED", None), None, &strict);
    assert_eq!((ack.result, ack.status_code.code.as_str()), (false, "501"));
}

#[test]
fn result_wait_is_bounded_by_the_policy_and_the_cpo() {
    let policy = CommandPolicy::default();
    assert_eq!(
        policy.result_wait(&response("ACCEPTED", 30)),
        Duration::from_secs(8)
    );
    assert_eq!(
        policy.result_wait(&response("ACCEPTED", 3)),
        Duration::from_secs(3)
    );
    assert_eq!(
        policy.result_wait(&response("REJECTED", 30)),
        Duration::ZERO
    );
    let short = policy.with_wait_for_result(Duration::from_secs(2));
    assert_eq!(
        short.result_wait(&response("ACCEPTED", 30)),
        Duration::from_secs(2)
    );
    let accepted = command_accepted_response(&CommandPolicy::default());
    assert_eq!(
        (accepted.result.as_str(), accepted.timeout),
        ("ACCEPTED", 30)
    );
    assert_eq!(
        unsupported_command_response().result.as_str(),
        "NOT_SUPPORTED"
    );
}

#[test]
fn oicp_acknowledgements_become_command_results() {
    let start = CommandType::StartSession;
    let cancel = CommandType::CancelReservation;
    let fail = |code: Code| Acknowledgement::failure(code, "x");
    let cases = [
        (
            &start,
            Some(Acknowledgement::success()),
            CommandResultType::Accepted,
        ),
        (
            &start,
            Some(fail(Code::EvseAlreadyInUse)),
            CommandResultType::EvseOccupied,
        ),
        (
            &start,
            Some(fail(Code::EvseAlreadyReserved)),
            CommandResultType::EvseOccupied,
        ),
        (
            &start,
            Some(fail(Code::EvseOutOfService)),
            CommandResultType::EvseInoperative,
        ),
        (
            &start,
            Some(fail(Code::EvseNotHubjectCompatible)),
            CommandResultType::NotSupported,
        ),
        (
            &cancel,
            Some(fail(Code::SessionIsInvalid)),
            CommandResultType::UnknownReservation,
        ),
        (
            &start,
            Some(fail(Code::SessionIsInvalid)),
            CommandResultType::Rejected,
        ),
        (
            &start,
            Some(fail(Code::NoValidContract)),
            CommandResultType::Rejected,
        ),
        (
            &start,
            Some(fail(Code::UnknownEvseId)),
            CommandResultType::Rejected,
        ),
        (
            &start,
            Some(fail(Code::PartnerDidNotRespond)),
            CommandResultType::Timeout,
        ),
        (
            &start,
            Some(fail(Code::CommunicationToEvseFailed)),
            CommandResultType::Failed,
        ),
        (
            &start,
            Some(fail(Code::NoEvConnected)),
            CommandResultType::Failed,
        ),
        (&start, None, CommandResultType::Timeout),
    ];
    for (command, ack, want) in cases {
        let r = acknowledgement_to_command_result(command, ack.as_ref());
        assert_eq!(r.result, want, "{ack:?}");
        assert!(roambridge::ocpi::v221::Validator::run(&r).is_empty());
        if let Some(a) = &ack {
            let text = r.message.unwrap()[0].text.as_str().to_owned();
            assert!(text.contains(a.status_code.code.as_str()), "{text}");
        }
    }
}
