//! OICP `ChargingNotifications` <-> OCPI Sessions: fixture cases both ways
//! (`tests/fixtures/mapping/session/`: a notification sequence and a sequence of Session
//! versions), a property test that Start -> Session -> Start keeps every representable field,
//! and the Session examples of the OCPI 2.2.1 corpus converted to OICP and back with exactly
//! the documented loss paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mapping_fixtures.rs"]
mod fixtures;

use fixtures::{
    LossTable, all_as_listed, check, ctx, examples, input, ocpi_examples, paths, paths_as_listed,
};
use proptest::prelude::*;
use roambridge::mapping::cdr::derived_session_id;
use roambridge::mapping::session::{
    NotificationState, SessionIdentity, SessionUpdate, apply_patch, end_to_patch,
    notification_to_session_update, session_patch_to_notifications, session_to_notifications,
    start_to_session,
};
use roambridge::mapping::{LossNote, Mapped};
use roambridge::ocpi::v221::ids::{ConnectorId, EvseUid, LocationId};
use roambridge::ocpi::v221::sessions::{Session, SessionStatus};
use roambridge::ocpi::v221::types::OcpiString;
use roambridge::ocpi::v221::{Validator, parse};
use roambridge::oicp::v23::ids::{EvseId, OperatorId, SessionId};
use roambridge::oicp::v23::notifications::ChargingNotification;
use serde_json::{Value, json};

fn identity(session_id: &str) -> SessionIdentity {
    SessionIdentity::new(
        SessionId::parse(session_id).unwrap(),
        OperatorId::parse("DE*RBG").unwrap(),
        EvseId::parse("DE*RBG*E1001").unwrap(),
        LocationId::parse("LOC1").unwrap(),
        EvseUid::parse("E1001").unwrap(),
        ConnectorId::parse("1").unwrap(),
        OcpiString::parse("EUR").unwrap(),
    )
    .unwrap()
}

fn update_json(u: &SessionUpdate) -> Value {
    match u {
        SessionUpdate::Put(s) => json!({"put": s}),
        SessionUpdate::Patch(p) => json!({"patch": p}),
        SessionUpdate::Error { patch, evse_status } => {
            json!({"patch": patch, "evse_status": evse_status})
        }
    }
}

/// Loss notes of step `i`, prefixed `[i]`.
fn step_losses<T>(i: usize, m: Mapped<T>, all: &mut Vec<LossNote>) -> T {
    let m = m.prefixed(&format!("[{i}]"));
    all.extend(m.losses);
    m.value
}

#[test]
fn notifications_to_session_updates() {
    let notifications: Vec<ChargingNotification> = input("session", "oicp_to_ocpi_lifecycle");
    let mut id = identity("3f1c2a9e-8b7d-4e21-a6c5-0d9e8f7a6b5c");
    id.emp_partner_session_id = notifications[0].emp_partner_session_id().cloned();
    id.token.emsp = roambridge::mapping::session::Party::parse("DE", "EMP");
    let mut losses = Vec::new();
    let mut out = Vec::new();
    for (i, n) in notifications.iter().enumerate() {
        let u = step_losses(
            i,
            notification_to_session_update(n, &id, &ctx()).unwrap(),
            &mut losses,
        );
        if let SessionUpdate::Put(s) = &u {
            assert!(
                Validator::run(s.as_ref()).is_empty(),
                "{:?}",
                Validator::run(s.as_ref())
            );
            id.charging_started = true;
        }
        out.push(update_json(&u));
    }
    check("session", "oicp_to_ocpi_lifecycle", &out, &losses);
}

#[test]
fn session_versions_to_notifications() {
    let versions: Vec<Session> = input("session", "ocpi_to_oicp_lifecycle");
    let id = identity("3f1c2a9e-8b7d-4e21-a6c5-0d9e8f7a6b5c");
    let mut state = NotificationState::default();
    let mut losses = Vec::new();
    let mut out = Vec::new();
    for (i, s) in versions.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &versions[p]);
        let m = session_to_notifications(previous, s, &id, &mut state, &ctx()).unwrap();
        out.push(step_losses(i, m, &mut losses));
    }
    let kinds: Vec<Vec<&str>> = out
        .iter()
        .map(|ns| {
            ns.iter()
                .map(|n| match n {
                    ChargingNotification::Start(_) => "Start",
                    ChargingNotification::Progress(_) => "Progress",
                    ChargingNotification::End(_) => "End",
                    ChargingNotification::Error(_) => "Error",
                })
                .collect()
        })
        .collect();
    // Pending: nothing; active: Start; 10 min later: Progress; 2 min later: held back (5 min
    // rule); completed: End.
    assert_eq!(
        kinds,
        [vec![], vec!["Start"], vec!["Progress"], vec![], vec!["End"]]
    );
    check("session", "ocpi_to_oicp_lifecycle", &out, &losses);
}

#[test]
fn an_invalid_session_is_an_error_notification_and_a_connector_error_before_start_is_invalid() {
    let versions: Vec<Session> = input("session", "ocpi_to_oicp_lifecycle");
    let mut s = versions[0].clone();
    s.status = SessionStatus::Invalid;
    let id = identity("3f1c2a9e-8b7d-4e21-a6c5-0d9e8f7a6b5c");
    let m = session_to_notifications(
        Some(&versions[0]),
        &s,
        &id,
        &mut NotificationState::default(),
        &ctx(),
    )
    .unwrap();
    assert!(
        matches!(m.value.as_slice(), [ChargingNotification::Error(e)] if e.error_type.as_str() == "ConnectorError")
    );
    assert!(paths(&m.losses).contains(&"status"));
    let notifications: Vec<ChargingNotification> = input("session", "oicp_to_ocpi_lifecycle");
    let u = notification_to_session_update(&notifications[3], &id, &ctx())
        .unwrap()
        .value;
    let SessionUpdate::Error { patch, evse_status } = u else {
        panic!("{u:?}")
    };
    assert_eq!(patch.status, Some(SessionStatus::Invalid));
    assert_eq!(evse_status.unwrap().as_str(), "OUTOFORDER");
}

#[test]
fn a_patch_is_merged_and_yields_its_notifications() {
    let versions: Vec<Session> = input("session", "ocpi_to_oicp_lifecycle");
    let id = identity("3f1c2a9e-8b7d-4e21-a6c5-0d9e8f7a6b5c");
    let patch: roambridge::ocpi::v221::sessions::SessionPatch = parse(
        br#"{"kwh": 5.5, "charging_periods": [{"start_date_time": "2025-11-03T09:00:00Z",
            "dimensions": [{"type": "PARKING_TIME", "volume": 0.1}]}],
            "last_updated": "2025-11-03T09:06:00Z"}"#,
    )
    .unwrap();
    let mut state = NotificationState::default();
    let m = session_patch_to_notifications(&versions[1], &patch, &id, &mut state, &ctx()).unwrap();
    let (merged, notifications) = m.value;
    assert_eq!(merged.kwh.value().to_string(), "5.5");
    assert_eq!(merged.charging_periods.as_ref().unwrap().len(), 2);
    assert_eq!(merged.last_updated.as_str(), "2025-11-03T09:06:00Z");
    // The parking period ends the energy flow: End at its start, with the energy so far.
    let [ChargingNotification::End(end)] = notifications.as_slice() else {
        panic!("{notifications:?}")
    };
    assert_eq!(end.charging_end.as_str(), "2025-11-03T09:00:00+00:00");
    assert_eq!(end.consumed_energy.unwrap().value().to_string(), "5.5");
    assert!(end.session_end.is_none());
    // A later PATCH with more energy sends no second End.
    let later: roambridge::ocpi::v221::sessions::SessionPatch =
        parse(br#"{"kwh": 5.6, "last_updated": "2025-11-03T09:20:00Z"}"#).unwrap();
    let m = session_patch_to_notifications(&merged, &later, &id, &mut state, &ctx()).unwrap();
    assert!(m.value.1.is_empty(), "{:?}", m.value.1);
    assert!(paths(&m.losses).contains(&"kwh"), "{:?}", m.losses);
}

#[test]
fn a_start_without_identification_needs_a_known_token() {
    let mut v =
        fixtures::read(&fixtures::case_dir("session", "oicp_to_ocpi_lifecycle").join("input.json"));
    v[0].as_object_mut().unwrap().remove("Identification");
    let n: Vec<ChargingNotification> = serde_json::from_value(v).unwrap();
    let ChargingNotification::Start(start) = &n[0] else {
        panic!()
    };
    let err =
        start_to_session(start, &identity("3f1c2a9e-8b7d-4e21-a6c5-0d9e8f7a6b5c")).unwrap_err();
    assert_eq!(err.path, "Identification");
}

// ---------------------------------------------------------------------------------------------
// Property: OICP Start -> OCPI Session -> OICP Start keeps every representable field.

fn time(minutes: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2025-06-01T10:00:00+00:00").unwrap();
    (base + chrono::Duration::minutes(minutes)).to_rfc3339()
}

fn start() -> impl Strategy<Value = Value> {
    let ident = prop_oneof![
        "[0-9A-F]{8}".prop_map(|u| json!({"RFIDMifareFamilyIdentification": {"UID": u}})),
        "[0-9A-Z]{8}"
            .prop_map(|c| json!({"RemoteIdentification": {"EvcoID": format!("DE-EMP-C{c}-1")}})),
        "[0-9A-Z]{8}".prop_map(
            |c| json!({"PlugAndChargeIdentification": {"EvcoID": format!("NL-ABC-C{c}-2")}})
        ),
    ];
    (ident, 0i64..30, proptest::option::of("[A-Z0-9]{1,10}"), proptest::option::of("[a-z0-9]{1,30}"), "[0-9]{4}")
        .prop_map(|(ident, before, product, emp, evse)| {
            let mut n = json!({
                "Type": "Start", "SessionID": "3f1c2a9e-8b7d-4e21-a6c5-0d9e8f7a6b5c", "Identification": ident,
                "EvseID": format!("DE*RBG*E{evse}"), "ChargingStart": time(before), "SessionStart": time(0),
                "OperatorID": "DE*RBG",
            });
            if let Some(p) = product { n["PartnerProductID"] = p.into(); }
            if let Some(e) = emp { n["EMPPartnerSessionID"] = e.into(); }
            n
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn start_session_start_keeps_every_representable_field(v in start()) {
        let n: ChargingNotification = serde_json::from_value(v).unwrap();
        let ChargingNotification::Start(original) = &n else { panic!() };
        let mut id = identity(original.session_id.as_str());
        id.evse_id = original.evse_id.clone();
        id.emp_partner_session_id = original.emp_partner_session_id.clone();
        id.token.emsp = roambridge::mapping::session::Party::parse("DE", "EMP");
        let session = start_to_session(original, &id).unwrap().value;
        prop_assert!(Validator::run(&session).is_empty(), "{:?}", Validator::run(&session));
        let back = session_to_notifications(None, &session, &id, &mut NotificationState::default(), &ctx()).unwrap().value;
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(serde_json::to_value(&back[0]).unwrap(), serde_json::to_value(&n).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// The OCPI 2.2.1 corpus

/// Every Session example and the exact loss paths of its conversion to OICP notifications.
const CORPUS: &LossTable = &[
    (
        "session_example_1_simple_start.json",
        &[
            "cdr_token.country_code",
            "cdr_token.party_id",
            "cdr_token.uid",
        ],
    ),
    (
        "session_example_2_short_finished.json",
        &[
            "cdr_token.country_code",
            "cdr_token.party_id",
            "cdr_token.uid",
            "currency",
            "total_cost",
            "auth_method",
            "charging_periods",
            "charging_periods",
        ],
    ),
];

#[test]
fn corpus_sessions_convert_to_oicp_and_back_with_documented_losses() {
    let Some(dir) = ocpi_examples("Session") else {
        return;
    };
    let mut failures = Vec::new();
    let files = examples(&dir, "session_example", &[]);
    for (name, bytes) in &files {
        let session: Session = parse(bytes).unwrap();
        let mut id = identity(
            derived_session_id("BE", "BEC", session.id.as_str())
                .unwrap()
                .as_str(),
        );
        id.cpo = roambridge::mapping::session::Party {
            country_code: session.country_code.clone(),
            party_id: session.party_id.clone(),
        };
        id.ocpi_session_id = session.id.clone();
        id.token.emsp = Some(roambridge::mapping::session::Party {
            country_code: session.cdr_token.country_code.clone(),
            party_id: session.cdr_token.party_id.clone(),
        });
        let oicp = session_to_notifications(
            None,
            &session,
            &id,
            &mut NotificationState::default(),
            &ctx(),
        )
        .unwrap();
        if !paths_as_listed(name, &oicp.losses, CORPUS, &mut failures) {
            continue;
        }
        // Back: Start gives the Session, End the PATCH that completes it.
        let mut back: Option<Session> = None;
        for n in &oicp.value {
            match n {
                ChargingNotification::Start(s) => {
                    back = Some(start_to_session(s, &id).unwrap().value);
                }
                ChargingNotification::End(e) => {
                    back = Some(apply_patch(back.as_ref().unwrap(), &end_to_patch(e).value));
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        if session.status == SessionStatus::Pending {
            assert!(back.is_none(), "{name}");
        } else {
            let back = back.unwrap();
            assert!(
                Validator::run(&back).is_empty(),
                "{name}: {:?}",
                Validator::run(&back)
            );
            assert_eq!(back.start_date_time, session.start_date_time, "{name}");
            assert_eq!(back.end_date_time, session.end_date_time, "{name}");
            assert_eq!(back.kwh, session.kwh, "{name}");
            assert_eq!(back.status, session.status, "{name}");
            assert_eq!(
                back.cdr_token.contract_id, session.cdr_token.contract_id,
                "{name}"
            );
            assert_eq!(
                back.authorization_reference, session.authorization_reference,
                "{name}"
            );
        }
    }
    all_as_listed(&failures, files.len(), CORPUS);
}
