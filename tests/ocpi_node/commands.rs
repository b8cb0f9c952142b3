//! OCPI commands both ways over HTTP: the EMP backend's OICP remote start/stop and
//! reservations go from our eMSP side as OCPI commands to our CPO side, which sends them as
//! OICP to its backend and POSTs the `CommandResult` back; plus the error paths of both sides.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::emsp_receiver::session;
use crate::evse_push::{evse_id, full_load};
use crate::harness::{Node, OcpiNode, Partner, Seen, cpo_id, emp_id, ocpi, ok, token};
use crate::oicp_harness::{Answer, Double, ack, post};

const EMP_BACKEND: &str = "emp-backend-token";
const CPO_BACKEND: &str = "cpo-backend";
const EVCO: &str = "DE-GDF-C12345678-X";

/// A CPO node and an EMP node, each with a backend double, the EMP registered with the CPO
/// (`command_wait_ms` on the EMP node), and the CPO's EVSE data pushed through to the EMP.
struct Pair {
    cpo: Node,
    emp: Node,
    cpo_backend: Double,
    emp_backend: Double,
}

impl Pair {
    async fn start(command_wait_ms: u64) -> Self {
        let cpo_backend = Double::start().await;
        let emp_backend = Double::start().await;
        let cpo = Node::start(&format!(
            "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\nbackend = \"{}\"\nbackend_token = \"{CPO_BACKEND}\"\n",
            cpo_backend.url()
        ))
        .await;
        let emp = Node::start(&format!(
            "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"{}\"\nbackend_token = \"{EMP_BACKEND}\"\n\n[ocpi]\ncommand_wait_ms = {command_wait_ms}\n",
            emp_backend.url()
        ))
        .await;
        let token_a = cpo.token_a(None).await;
        let registered = emp.register(&cpo.versions(), &token_a).await;
        assert_eq!(registered.status, 201, "{registered:?}");
        let pushed = post(
            &format!("{}/evsepush/v23/operators/DE*GEF/data-records", cpo.url()),
            Some(CPO_BACKEND),
            &full_load(2, 2),
        )
        .await;
        assert_eq!(pushed.body["Result"], true, "{pushed:?}");
        // The Locations reach the eMSP side through the CPO side's outbox.
        let start = Instant::now();
        loop {
            let found = emp
                .state
                .store
                .ocpi_emsp_find_evse("DE", "GEF", "DEGEFE0000012")
                .await
                .unwrap();
            if !found.is_empty() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the Locations did not reach the eMSP side"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            cpo,
            emp,
            cpo_backend,
            emp_backend,
        }
    }

    /// The EMP backend calls its node (`path` below `/api/oicp`).
    async fn emp_call(&self, path: &str, body: &Value) -> Answer {
        post(
            &format!("{}{path}", self.emp.url()),
            Some(EMP_BACKEND),
            body,
        )
        .await
    }

    async fn remote_start(&self, evse: &str, session: &str) -> Answer {
        self.emp_call(
            "/charging/v21/providers/DE-GDF/authorize-remote/start",
            &json!({"ProviderID": "DE-GDF", "EvseID": evse, "SessionID": session,
                    "Identification": {"RemoteIdentification": {"EvcoID": EVCO}}}),
        )
        .await
    }

    async fn remote_stop(&self, evse: &str, session: &str) -> Answer {
        self.emp_call(
            "/charging/v21/providers/DE-GDF/authorize-remote/stop",
            &json!({"ProviderID": "DE-GDF", "EvseID": evse, "SessionID": session}),
        )
        .await
    }

    /// The token our eMSP side presents to our CPO side.
    fn emsp_token(&self) -> String {
        token(&self.emp.connection(&cpo_id()).unwrap().token_out)
    }

    /// The token our CPO side presents to our eMSP side.
    fn cpo_token(&self) -> String {
        token(&self.cpo.connection(&emp_id()).unwrap().token_out)
    }

    async fn stop(&self) {
        self.cpo.stop().await;
        self.emp.stop().await;
        self.cpo_backend.stop().await;
        self.emp_backend.stop().await;
    }
}

fn new_session() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn info(a: &Answer) -> String {
    a.body["StatusCode"]["AdditionalInfo"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[actix_web::test]
async fn remote_start_and_stop_go_through_ocpi_commands_to_the_cpo_backend() {
    let p = Pair::start(5000).await;
    let evse = evse_id(1, 2);
    let sid = new_session();

    let started = p.remote_start(&evse, &sid).await;
    assert_eq!(
        (started.body["Result"].as_bool(), started.code()),
        (Some(true), "000"),
        "{started:?}"
    );
    assert_eq!(started.body["SessionID"], sid.as_str());
    assert!(
        info(&started).contains("CommandResult ACCEPTED"),
        "{started:?}"
    );
    // The CPO backend got the OICP remote start for the EVSE, the EMP and the session.
    let asked = p.cpo_backend.received_at("authorize-remote/start");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].path.contains("/providers/DE-GDF/"),
        "{}",
        asked[0].path
    );
    assert_eq!(asked[0].body["EvseID"], evse.as_str());
    assert_eq!(asked[0].body["SessionID"], sid.as_str());
    assert_eq!(
        asked[0].body["Identification"]["RemoteIdentification"]["EvcoID"],
        EVCO
    );
    // The CPO side recorded the session for the eMSP, so later notifications and CDRs find
    // it; the eMSP side waits for nothing any more.
    let record = p
        .cpo
        .state
        .store
        .session(&sid.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.provider_id.unwrap().as_str(), "DE-GDF");
    assert_eq!(record.operator_id.unwrap().as_str(), "DE*GEF");
    assert!(p.emp.state.ocpi.commands.is_empty());

    // STOP_SESSION names the session by its SessionID (no Session was sent to the eMSP).
    let stopped = p.remote_stop(&evse, &sid).await;
    assert_eq!(
        (stopped.body["Result"].as_bool(), stopped.code()),
        (Some(true), "000"),
        "{stopped:?}"
    );
    let asked = p.cpo_backend.received_at("authorize-remote/stop");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].body["SessionID"], sid.as_str());
    assert_eq!(asked[0].body["EvseID"], evse.as_str());

    // A session the CPO side does not know: UNKNOWN_SESSION, OICP 400; the backend is not
    // asked.
    let unknown = p.remote_stop(&evse, &new_session()).await;
    assert_eq!(
        (unknown.body["Result"].as_bool(), unknown.code()),
        (Some(false), "400"),
        "{unknown:?}"
    );
    assert!(info(&unknown).contains("UNKNOWN_SESSION"), "{unknown:?}");
    assert_eq!(p.cpo_backend.received_at("authorize-remote/stop").len(), 1);

    // Once the CPO sent a Session with that authorization_reference, STOP_SESSION names the
    // CPO's session id: here one the CPO side does not know, so UNKNOWN_SESSION again.
    let mut s = session("CPO-SESSION-1", "ACTIVE", "2024-03-01T10:00:00Z");
    s["authorization_reference"] = json!(sid);
    let put = ocpi(
        "PUT",
        &p.emp
            .at("/ocpi/2.2.1/receiver/sessions/DE/GEF/CPO-SESSION-1"),
        &p.cpo_token(),
        Some(s),
    )
    .await;
    assert_eq!(put.status, 201, "{put:?}");
    let mapped = p.remote_stop(&evse, &sid).await;
    assert_eq!(mapped.code(), "400", "{mapped:?}");
    assert_eq!(p.cpo_backend.received_at("authorize-remote/stop").len(), 1);
    p.stop().await;
}

#[actix_web::test]
async fn reservations_go_through_ocpi_commands_to_the_cpo_backend() {
    let p = Pair::start(5000).await;
    let evse = evse_id(0, 1);
    let sid = new_session();
    let reserved = p
        .emp_call(
            "/reservation/v11/providers/DE-GDF/reservation-start-request",
            &json!({"ProviderID": "DE-GDF", "EvseID": evse, "SessionID": sid, "Duration": 20,
                    "Identification": {"RemoteIdentification": {"EvcoID": EVCO}}}),
        )
        .await;
    assert_eq!(
        (reserved.body["Result"].as_bool(), reserved.code()),
        (Some(true), "000"),
        "{reserved:?}"
    );
    assert!(
        info(&reserved).contains("CommandResult ACCEPTED"),
        "{reserved:?}"
    );
    let asked = p.cpo_backend.received_at("reservation-start-request");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].body["EvseID"], evse.as_str());
    assert_eq!(asked[0].body["SessionID"], sid.as_str());
    assert_eq!(asked[0].body["Duration"], 20);

    let cancelled = p
        .emp_call(
            "/reservation/v11/providers/DE-GDF/reservation-stop-request",
            &json!({"ProviderID": "DE-GDF", "EvseID": evse, "SessionID": sid}),
        )
        .await;
    assert_eq!(
        (cancelled.body["Result"].as_bool(), cancelled.code()),
        (Some(true), "000"),
        "{cancelled:?}"
    );
    let asked = p.cpo_backend.received_at("reservation-stop-request");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].body["SessionID"], sid.as_str());
    // An unknown reservation is rejected by the CPO side at once.
    let unknown = p
        .emp_call(
            "/reservation/v11/providers/DE-GDF/reservation-stop-request",
            &json!({"ProviderID": "DE-GDF", "EvseID": evse, "SessionID": new_session()}),
        )
        .await;
    assert_eq!(
        (unknown.body["Result"].as_bool(), unknown.code()),
        (Some(false), "400"),
        "{unknown:?}"
    );
    assert!(info(&unknown).contains("REJECTED"), "{unknown:?}");
    p.stop().await;
}

#[actix_web::test]
async fn refusals_of_the_cpo_backend_come_back_as_oicp_codes() {
    let p = Pair::start(5000).await;
    let evse = evse_id(1, 1);
    // Occupied: EVSE_OCCUPIED, 602.
    p.cpo_backend.respond(|path, body| {
        (path.contains("authorize-remote/start") && body["EvseID"] == evse_id(1, 1).as_str())
            .then(|| (200, ack(false, "602")))
    });
    let busy = p.remote_start(&evse, &new_session()).await;
    assert_eq!(
        (busy.body["Result"].as_bool(), busy.code()),
        (Some(false), "602"),
        "{busy:?}"
    );
    assert!(info(&busy).contains("EVSE_OCCUPIED"), "{busy:?}");
    // No valid contract at the CPO: REJECTED, 210.
    p.cpo_backend.respond(|path, _| {
        path.contains("authorize-remote/start")
            .then(|| (200, ack(false, "210")))
    });
    let other = p.remote_start(&evse_id(0, 2), &new_session()).await;
    assert_eq!(
        (other.body["Result"].as_bool(), other.code()),
        (Some(false), "210"),
        "{other:?}"
    );
    assert!(info(&other).contains("CommandResult REJECTED"), "{other:?}");

    // An EVSE the CPO sent no Location for: 603, and the CPO side is not asked.
    let before = p.cpo_backend.received_at("authorize-remote/start").len();
    let unknown = p.remote_start("DE*GEF*E999999*1", &new_session()).await;
    assert_eq!(
        (unknown.body["Result"].as_bool(), unknown.code()),
        (Some(false), "603"),
        "{unknown:?}"
    );
    assert_eq!(
        p.cpo_backend.received_at("authorize-remote/start").len(),
        before
    );

    // The CPO backend is down: TIMEOUT, 501.
    p.cpo_backend.stop().await;
    let mut down = p.remote_start(&evse, &new_session()).await;
    for _ in 0..40 {
        if down.code() == "501" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        down = p.remote_start(&evse, &new_session()).await;
    }
    assert_eq!(
        (down.body["Result"].as_bool(), down.code()),
        (Some(false), "501"),
        "{down:?}"
    );
    assert!(info(&down).contains("CommandResult TIMEOUT"), "{down:?}");
    p.stop().await;
}

#[actix_web::test]
async fn an_accepted_command_without_a_result_in_time_is_acknowledged() {
    // The eMSP side waits 200 ms; the CPO backend answers after 1.5 s (within the CPO side's
    // 2 s backend timeout).
    let p = Pair::start(200).await;
    p.cpo_backend.set_delay(Some(Duration::from_millis(1500)));
    let sid = new_session();
    let answer = p.remote_start(&evse_id(0, 1), &sid).await;
    assert_eq!(
        (answer.body["Result"].as_bool(), answer.code()),
        (Some(true), "000"),
        "{answer:?}"
    );
    assert!(
        info(&answer).contains("no CommandResult within the wait"),
        "{answer:?}"
    );
    assert!(p.emp.state.ocpi.commands.is_empty());
    // The backend still got the start: the session is the CPO side's when it begins.
    let asked = p.cpo_backend.wait_for("authorize-remote/start", 1).await;
    assert_eq!(asked[0].body["SessionID"], sid.as_str());
    p.stop().await;
}

/// A command body for our CPO side, with its result going to `response_url`.
fn start_session(response_url: &str, location: &str, evse: Option<&str>) -> Value {
    let mut body = json!({
        "response_url": response_url,
        "token": {"country_code": "DE", "party_id": "GDF", "uid": EVCO, "type": "APP_USER",
                  "contract_id": EVCO, "issuer": "GDF Mobility", "valid": true,
                  "whitelist": "ALLOWED", "last_updated": "2025-01-01T00:00:00Z"},
        "location_id": location,
    });
    if let Some(e) = evse {
        body["evse_uid"] = json!(e);
    }
    body
}

#[actix_web::test]
async fn the_cpo_side_refuses_bad_commands_with_their_codes() {
    let p = Pair::start(5000).await;
    let tok = p.emsp_token();
    let url = |c: &str| p.cpo.at(&format!("/ocpi/2.2.1/receiver/commands/{c}"));
    let result_url = p.emp.at("/ocpi/2.2.1/commands/START_SESSION/nobody-waits");
    let location = "DE*GEF*P000001";

    // Unknown Location, unknown EVSE: 2003 with a REJECTED CommandResponse.
    for (loc, evse) in [("NOWHERE", Some("X")), (location, Some("DE*GEF*E999999*1"))] {
        let a = ocpi(
            "POST",
            &url("START_SESSION"),
            &tok,
            Some(start_session(&result_url, loc, evse)),
        )
        .await;
        assert_eq!((a.status, a.code()), (200, 2003), "{a:?}");
        assert_eq!(a.body["data"]["result"], "REJECTED", "{a:?}");
    }
    // A Location with two EVSEs and no evse_uid: REJECTED (OICP needs one EvseID).
    let which = ocpi(
        "POST",
        &url("START_SESSION"),
        &tok,
        Some(start_session(&result_url, location, None)),
    )
    .await;
    assert_eq!(
        (which.code(), which.body["data"]["result"].as_str()),
        (1000, Some("REJECTED")),
        "{which:?}"
    );
    // A token of another eMSP: REJECTED.
    let mut foreign = start_session(&result_url, location, Some(&evse_id(1, 1)));
    foreign["token"]["party_id"] = json!("XYZ");
    foreign["token"]["contract_id"] = json!("DE-XYZ-C12345678-X");
    foreign["token"]["uid"] = json!("DE-XYZ-C12345678-X");
    let theirs = ocpi("POST", &url("START_SESSION"), &tok, Some(foreign)).await;
    assert_eq!(theirs.body["data"]["result"], "REJECTED", "{theirs:?}");
    // A contract id that is no OICP EvcoID: REJECTED (OICP remote calls need one).
    let mut odd_token = start_session(&result_url, location, Some(&evse_id(1, 1)));
    odd_token["token"]["contract_id"] = json!("NOT-AN-EVCO");
    let no_evco = ocpi("POST", &url("START_SESSION"), &tok, Some(odd_token)).await;
    assert_eq!(no_evco.body["data"]["result"], "REJECTED", "{no_evco:?}");
    assert!(
        no_evco.body["data"]["message"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("contract_id"),
        "{no_evco:?}"
    );
    // Addressed to a CPO party this platform does not host: 404 with 2001.
    let elsewhere = crate::harness::call(
        "POST",
        &url("START_SESSION"),
        &[
            ("Authorization", tok.as_str()),
            ("OCPI-to-country-code", "NL"),
            ("OCPI-to-party-id", "ZZZ"),
            ("OCPI-from-country-code", "DE"),
            ("OCPI-from-party-id", "GDF"),
        ],
        Some(
            serde_json::to_vec(&start_session(&result_url, location, Some(&evse_id(1, 1))))
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(
        (elsewhere.status, elsewhere.code()),
        (404, 2001),
        "{elsewhere:?}"
    );
    // A session of another eMSP at this CPO cannot be stopped by this one.
    let theirs_id = "5c9e2a41-7d3b-4f6e-8a1c-2b3d4e5f6a7b";
    p.cpo
        .state
        .store
        .upsert_session(&roambridge::store::SessionRecord {
            session_id: theirs_id.parse().unwrap(),
            cpo_partner_session_id: None,
            emp_partner_session_id: None,
            operator_id: Some("DE*GEF".parse().unwrap()),
            provider_id: Some("DE-XYZ".parse().unwrap()),
            evse_id: Some(evse_id(1, 1).parse().unwrap()),
            state: "charging".into(),
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    let not_yours = ocpi(
        "POST",
        &url("STOP_SESSION"),
        &tok,
        Some(json!({"response_url": result_url, "session_id": theirs_id})),
    )
    .await;
    assert_eq!(
        not_yours.body["data"]["result"], "UNKNOWN_SESSION",
        "{not_yours:?}"
    );
    // UNLOCK_CONNECTOR has no OICP form.
    let unlock = ocpi(
        "POST",
        &url("UNLOCK_CONNECTOR"),
        &tok,
        Some(json!({"response_url": result_url, "location_id": location,
                    "evse_uid": evse_id(1, 1), "connector_id": "1"})),
    )
    .await;
    assert_eq!(unlock.body["data"]["result"], "NOT_SUPPORTED", "{unlock:?}");
    // STOP_SESSION of a session that is no GUID or not known here: UNKNOWN_SESSION.
    for id in ["not-a-guid", "0b8f1b5e-6c1d-4c55-9a4c-0f2f6c3b9d10"] {
        let stop = ocpi(
            "POST",
            &url("STOP_SESSION"),
            &tok,
            Some(json!({"response_url": result_url, "session_id": id})),
        )
        .await;
        assert_eq!(stop.body["data"]["result"], "UNKNOWN_SESSION", "{stop:?}");
    }
    // An unknown command type and a body that is no command: 2001; no JSON: HTTP 400.
    let odd = ocpi("POST", &url("FLY_TO_MOON"), &tok, Some(json!({}))).await;
    assert_eq!((odd.status, odd.code()), (200, 2001), "{odd:?}");
    let empty = ocpi("POST", &url("START_SESSION"), &tok, Some(json!({}))).await;
    assert_eq!((empty.status, empty.code()), (200, 2001), "{empty:?}");
    assert!(
        empty.body["status_message"]
            .as_str()
            .unwrap_or_default()
            .contains("response_url"),
        "{empty:?}"
    );
    let garbage = crate::harness::call(
        "POST",
        &url("START_SESSION"),
        &[("Authorization", tok.as_str())],
        Some(b"{".to_vec()),
    )
    .await;
    assert_eq!(garbage.status, 400, "{garbage:?}");
    // Nothing of it reached the backend.
    assert!(p.cpo_backend.received_at("authorize-remote").is_empty());

    // Without a registered connection's token: 401, on both sides.
    for u in [url("START_SESSION"), result_url.clone()] {
        let anonymous = crate::harness::call(
            "POST",
            &u,
            &[],
            Some(serde_json::to_vec(&json!({"result": "ACCEPTED"})).unwrap()),
        )
        .await;
        assert_eq!(anonymous.status, 401, "{u}: {anonymous:?}");
        let a = if u.starts_with(&p.cpo.base()) {
            p.cpo.token_a(None).await
        } else {
            p.emp.token_a(None).await
        };
        let token_a = ocpi("POST", &u, &token(&a), Some(json!({"result": "ACCEPTED"}))).await;
        assert_eq!(token_a.status, 401, "{u}: {token_a:?}");
    }
    // A result nobody waits for: HTTP 404; one that is no CommandResult: 2001.
    let stray = ocpi(
        "POST",
        &result_url,
        &p.cpo_token(),
        Some(json!({"result": "ACCEPTED"})),
    )
    .await;
    assert_eq!(stray.status, 404, "{stray:?}");
    let bad = ocpi(
        "POST",
        &result_url,
        &p.cpo_token(),
        Some(json!({"result": 5})),
    )
    .await;
    assert_eq!(bad.code(), 2001, "{bad:?}");

    // The version details list both interfaces.
    let details = ocpi("GET", &p.cpo.at("/ocpi/2.2.1"), &tok, None).await;
    let endpoints = details.body["data"]["endpoints"].as_array().unwrap();
    for (role, path) in [("RECEIVER", "receiver/commands"), ("SENDER", "commands")] {
        assert!(
            endpoints.iter().any(|e| e["identifier"] == "commands"
                && e["role"] == role
                && e["url"] == p.cpo.at(&format!("/ocpi/2.2.1/{path}"))),
            "{endpoints:?}"
        );
    }
    p.stop().await;
}

#[actix_web::test]
async fn the_emsp_side_answers_what_it_cannot_send_with_oicp_codes() {
    let p = Pair::start(5000).await;
    // A Location the CPO sent us but its side does not hold (any more): it answers 2003 with
    // REJECTED, which is 603 for a start.
    let mut location = crate::emsp_receiver::location("LOC7", "2024-03-01T10:00:00Z");
    location["evses"][0]["evse_id"] = json!("DE*GEF*E777777*1");
    let put = ocpi(
        "PUT",
        &p.emp.at("/ocpi/2.2.1/receiver/locations/DE/GEF/LOC7"),
        &p.cpo_token(),
        Some(location),
    )
    .await;
    assert_eq!(put.status, 201, "{put:?}");
    let gone = p.remote_start("DE*GEF*E777777*1", &new_session()).await;
    assert_eq!(
        (gone.body["Result"].as_bool(), gone.code()),
        (Some(false), "603"),
        "{gone:?}"
    );
    assert!(info(&gone).contains("CommandResponse REJECTED"), "{gone:?}");
    assert!(p.cpo_backend.received_at("authorize-remote").is_empty());

    // A partner whose version details lack the commands RECEIVER: as NOT_SUPPORTED, 604.
    let mut connection = (*p.emp.connection(&cpo_id()).unwrap()).clone();
    connection
        .endpoints
        .retain(|e| e.identifier.as_str() != "commands");
    p.emp
        .state
        .ocpi
        .save_connection(&p.emp.state.store, connection, None)
        .await
        .unwrap();
    let unsupported = p.remote_start(&evse_id(0, 1), &new_session()).await;
    assert_eq!(
        (unsupported.body["Result"].as_bool(), unsupported.code()),
        (Some(false), "604"),
        "{unsupported:?}"
    );
    assert!(p.cpo_backend.received_at("authorize-remote").is_empty());

    // The CPO side is down: no CommandResponse, 501.
    p.cpo.stop().await;
    let mut restored = (*p.emp.connection(&cpo_id()).unwrap()).clone();
    restored.endpoints.push(
        serde_json::from_value(json!({"identifier": "commands", "role": "RECEIVER",
            "url": p.cpo.at("/ocpi/2.2.1/receiver/commands")}))
        .unwrap(),
    );
    p.emp
        .state
        .ocpi
        .save_connection(&p.emp.state.store, restored, None)
        .await
        .unwrap();
    let mut down = p.remote_start(&evse_id(0, 1), &new_session()).await;
    for _ in 0..40 {
        if down.code() == "501" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        down = p.remote_start(&evse_id(0, 1), &new_session()).await;
    }
    assert_eq!(
        (down.body["Result"].as_bool(), down.code()),
        (Some(false), "501"),
        "{down:?}"
    );
    assert!(info(&down).contains("no OCPI CommandResponse"), "{down:?}");
    assert!(p.emp.state.ocpi.commands.is_empty());
    p.stop().await;
}

#[actix_web::test]
async fn an_ocpi_cpo_peer_without_a_connection_is_not_available() {
    let backend = Double::start().await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend = \"{}\"\nbackend_token = \"{EMP_BACKEND}\"\n\n[[peer]]\nrole = \"cpo\"\nid = \"NL*TNM\"\nprotocol = \"ocpi\"\nurl = \"http://127.0.0.1:9/ocpi/versions\"\n",
        backend.url()
    ))
    .await;
    let answer = post(
        &format!(
            "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
            emp.url()
        ),
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "EvseID": "NL*TNM*E1",
                "Identification": {"RemoteIdentification": {"EvcoID": EVCO}}}),
    )
    .await;
    // Routed to the OCPI peer by the EvseID's operator, which is not registered yet: 320.
    assert_eq!(
        (answer.body["Result"].as_bool(), answer.code()),
        (Some(false), "320"),
        "{answer:?}"
    );
    emp.stop().await;
    backend.stop().await;
}

#[actix_web::test]
async fn a_platform_with_a_cpo_and_an_emsp_commands_through_its_one_peer() {
    // The eMSP node also hosts a CPO: registered with our CPO side, the platform is one peer
    // keyed by its CPO role, and its eMSP party still commands through it.
    let cpo_backend = Double::start().await;
    let emp_backend = Double::start().await;
    let cpo = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nbackend = \"{}\"\nbackend_token = \"{CPO_BACKEND}\"\n",
        cpo_backend.url()
    ))
    .await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*ABC\"\nbackend = \"{0}\"\nbackend_token = \"abc\"\n\n[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend = \"{0}\"\nbackend_token = \"{EMP_BACKEND}\"\n",
        emp_backend.url()
    ))
    .await;
    let token_a = cpo.token_a(None).await;
    let registered = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    let platform =
        roambridge::config::PartnerId::parse(roambridge::config::Role::Cpo, "DE*ABC").unwrap();
    assert!(cpo.connection(&platform).is_some());
    assert!(cpo.connection(&emp_id()).is_none());
    let pushed = post(
        &format!("{}/evsepush/v23/operators/DE*GEF/data-records", cpo.url()),
        Some(CPO_BACKEND),
        &full_load(1, 1),
    )
    .await;
    assert_eq!(pushed.body["Result"], true, "{pushed:?}");
    let auth = token(&emp.connection(&cpo_id()).unwrap().token_out);
    let url = cpo.at("/ocpi/2.2.1/receiver/commands/START_SESSION");
    let result_url = emp.at("/ocpi/2.2.1/commands/START_SESSION/nobody-waits");
    let body = start_session(&result_url, "DE*GEF*P000000", None);
    let answer = crate::harness::call(
        "POST",
        &url,
        &[
            ("Authorization", auth.as_str()),
            ("OCPI-from-country-code", "DE"),
            ("OCPI-from-party-id", "GDF"),
        ],
        Some(serde_json::to_vec(&body).unwrap()),
    )
    .await;
    assert_eq!(answer.body["data"]["result"], "ACCEPTED", "{answer:?}");
    let asked = cpo_backend.wait_for("authorize-remote/start", 1).await;
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0].path.contains("/providers/DE-GDF/"),
        "{}",
        asked[0].path
    );
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn a_remote_start_reaches_the_second_cpo_of_an_ocpi_platform() {
    // One platform (our CPO node) hosts DE*GEF and DE*GEG; the eMSP side knows it as one peer
    // (DE*GEF), and an EvseID of DE*GEG still goes there, addressed to DE/GEG.
    let gef_backend = Double::start().await;
    let geg_backend = Double::start().await;
    let emp_backend = Double::start().await;
    let cpo = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nbackend = \"{}\"\nbackend_token = \"{CPO_BACKEND}\"\n\n[[party]]\nrole = \"cpo\"\nid = \"DE*GEG\"\nbackend = \"{}\"\nbackend_token = \"geg\"\n",
        gef_backend.url(),
        geg_backend.url()
    ))
    .await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend = \"{}\"\nbackend_token = \"{EMP_BACKEND}\"\n",
        emp_backend.url()
    ))
    .await;
    let token_a = cpo.token_a(None).await;
    let registered = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    let geg =
        roambridge::config::PartnerId::parse(roambridge::config::Role::Cpo, "DE*GEG").unwrap();
    assert!(emp.state.registry.peer(&geg).is_none());
    let data: Value = serde_json::from_str(
        &serde_json::to_string(&full_load(1, 1))
            .unwrap()
            .replace("DE*GEF", "DE*GEG"),
    )
    .unwrap();
    let pushed = post(
        &format!("{}/evsepush/v23/operators/DE*GEG/data-records", cpo.url()),
        Some("geg"),
        &data,
    )
    .await;
    assert_eq!(pushed.body["Result"], true, "{pushed:?}");
    let start = Instant::now();
    while emp
        .state
        .store
        .ocpi_emsp_find_evse("DE", "GEG", "DEGEGE0000001")
        .await
        .unwrap()
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(10), "no GEG Location");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = post(
        &format!(
            "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
            emp.url()
        ),
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "EvseID": "DE*GEG*E000000*1",
                "Identification": {"RemoteIdentification": {"EvcoID": EVCO}}}),
    )
    .await;
    assert_eq!(
        (answer.body["Result"].as_bool(), answer.code()),
        (Some(true), "000"),
        "{answer:?}"
    );
    let asked = geg_backend.received_at("authorize-remote/start");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].body["EvseID"], "DE*GEG*E000000*1");
    assert!(gef_backend.received_at("authorize-remote").is_empty());
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn a_cpo_backend_slower_than_its_timeout_gives_timeout() {
    // The CPO side's backend calls time out after 2 s (the harness's request timeout); the
    // eMSP side waits up to 5 s for the result.
    let p = Pair::start(5000).await;
    p.cpo_backend.set_delay(Some(Duration::from_millis(2500)));
    let answer = p.remote_start(&evse_id(1, 1), &new_session()).await;
    assert_eq!(
        (answer.body["Result"].as_bool(), answer.code()),
        (Some(false), "501"),
        "{answer:?}"
    );
    assert!(
        info(&answer).contains("CommandResult TIMEOUT"),
        "{answer:?}"
    );
    p.stop().await;
}

/// A scripted eMSP (`NL`/`XYZ`, OICP `NL-XYZ`) whose `result_path` answers HTTP `statuses`
/// in turn (the last one from then on), registered by a CPO node whose backend is a double;
/// the CPO's EVSE data is pushed, so `START_SESSION` can run. Returns the CPO, its backend,
/// the eMSP and the token the eMSP presents to the CPO.
async fn cpo_with_scripted_emsp(
    result_path: &'static str,
    statuses: Vec<u16>,
) -> (Node, Double, Partner, String) {
    let answered = Arc::new(AtomicUsize::new(0));
    let emsp = Partner::start(move |seen: &Seen, port| {
        let base = format!("http://127.0.0.1:{port}");
        match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/ocpi/versions") => {
                ok(json!([{"version": "2.2.1", "url": format!("{base}/ocpi/2.2.1")}]))
            }
            ("GET", "/ocpi/2.2.1") => ok(json!({"version": "2.2.1", "endpoints": [
                {"identifier": "credentials", "role": "RECEIVER",
                 "url": format!("{base}/ocpi/2.2.1/credentials")}
            ]})),
            ("POST", "/ocpi/2.2.1/credentials") => ok(json!({
                "token": "emsp-token-c",
                "url": format!("{base}/ocpi/versions"),
                "roles": [{"role": "EMSP", "business_details": {"name": "eMSP"},
                           "party_id": "XYZ", "country_code": "NL"}]
            })),
            ("POST", p) if p == result_path => {
                let n = answered.fetch_add(1, Ordering::SeqCst);
                let status = statuses.get(n).or(statuses.last()).copied().unwrap_or(200);
                if status == 200 {
                    ok(Value::Null)
                } else {
                    (status, Vec::new(), json!({"status_code": 2000}))
                }
            }
            _ => (404, Vec::new(), Value::Null),
        }
    })
    .await;
    let backend = Double::start().await;
    let cpo = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\nbackend = \"{}\"\nbackend_token = \"{CPO_BACKEND}\"\n",
        backend.url()
    ))
    .await;
    let registered = cpo.register(&emsp.at("/ocpi/versions"), "token-a").await;
    assert_eq!(registered.status, 201, "{registered:?}");
    let pushed = post(
        &format!("{}/evsepush/v23/operators/DE*GEF/data-records", cpo.url()),
        Some(CPO_BACKEND),
        &full_load(2, 2),
    )
    .await;
    assert_eq!(pushed.body["Result"], true, "{pushed:?}");
    let credentials = emsp
        .seen()
        .into_iter()
        .find(|s| s.path == "/ocpi/2.2.1/credentials")
        .unwrap();
    let tok = token(credentials.body["token"].as_str().unwrap());
    (cpo, backend, emsp, tok)
}

/// `START_SESSION` of the scripted eMSP `NL`/`XYZ` at EVSE 1/1, its result to `response_url`.
async fn start_for_xyz(cpo: &Node, tok: &str, response_url: &str) {
    let mut body = start_session(response_url, "DE*GEF*P000001", Some(&evse_id(1, 1)));
    body["token"]["country_code"] = json!("NL");
    body["token"]["party_id"] = json!("XYZ");
    body["token"]["uid"] = json!("NL-XYZ-C12345678-X");
    body["token"]["contract_id"] = json!("NL-XYZ-C12345678-X");
    let a = ocpi(
        "POST",
        &cpo.at("/ocpi/2.2.1/receiver/commands/START_SESSION"),
        tok,
        Some(body),
    )
    .await;
    assert_eq!(a.body["data"]["result"], "ACCEPTED", "{a:?}");
}

/// The outbox entries of `state` (`pending` or `dead`) at `/admin/outbox`.
async fn outbox(cpo: &Node, state: &str) -> Vec<Value> {
    let listed = cpo
        .admin("GET", &format!("/admin/outbox?state={state}"), None)
        .await;
    listed
        .body
        .as_array()
        .or_else(|| listed.body["messages"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// The POSTs the eMSP received at `path`, once `n` came (or 10 s passed).
async fn results_at(emsp: &Partner, path: &str, n: usize) -> Vec<Seen> {
    let start = Instant::now();
    loop {
        let seen: Vec<Seen> = emsp
            .seen()
            .into_iter()
            .filter(|s| s.method == "POST" && s.path == path)
            .collect();
        if seen.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_command_result_the_emsp_cannot_take_yet_is_retried_until_it_arrives_once() {
    const PATH: &str = "/ocpi/emsp/results/start-1";
    // Down twice (HTTP 503), then up.
    let (cpo, backend, emsp, tok) = cpo_with_scripted_emsp(PATH, vec![503, 503, 200]).await;
    start_for_xyz(&cpo, &tok, &emsp.at(PATH)).await;
    let seen = results_at(&emsp, PATH, 3).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(backend.received_at("authorize-remote").len(), 1);
    for s in &seen {
        assert_eq!(s.body["result"], "ACCEPTED", "{s:?}");
        assert_eq!(
            s.header("authorization"),
            Some(token("emsp-token-c").as_str())
        );
        assert_eq!(s.header("ocpi-from-party-id"), Some("GEF"));
        assert_eq!(s.header("ocpi-to-country-code"), Some("NL"));
        assert_eq!(s.header("ocpi-to-party-id"), Some("XYZ"));
    }
    // Delivered: the outbox is empty, and nothing more comes (the next retry would be due
    // within the back-off of a few seconds; the worker would have sent it by now).
    let start = Instant::now();
    while !outbox(&cpo, "pending").await.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(results_at(&emsp, PATH, 4).await.len(), 3);
    assert!(outbox(&cpo, "dead").await.is_empty());
    cpo.stop().await;
    backend.stop().await;
    emsp.stop().await;
}

#[actix_web::test]
async fn a_command_result_the_emsp_refuses_becomes_a_dead_letter() {
    const PATH: &str = "/ocpi/emsp/results/refused";
    let (cpo, backend, emsp, tok) = cpo_with_scripted_emsp(PATH, vec![400]).await;
    start_for_xyz(&cpo, &tok, &emsp.at(PATH)).await;
    let start = Instant::now();
    let dead = loop {
        let dead = outbox(&cpo, "dead").await;
        if !dead.is_empty() {
            break dead;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no dead letter");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead.len(), 1, "{dead:?}");
    let text = dead[0].to_string();
    assert!(text.contains(&emsp.at(PATH)), "{text}");
    // Tried once: a refusal is final.
    assert_eq!(results_at(&emsp, PATH, 1).await.len(), 1);
    cpo.stop().await;
    backend.stop().await;
    emsp.stop().await;
}

#[actix_web::test]
async fn a_reservation_whose_id_is_no_guid_can_be_cancelled() {
    const PATH: &str = "/ocpi/emsp/results/reservations";
    let (cpo, backend, emsp, tok) = cpo_with_scripted_emsp(PATH, vec![200]).await;
    let url = |c: &str| cpo.at(&format!("/ocpi/2.2.1/receiver/commands/{c}"));
    let reference = new_session();
    let reserve = ocpi(
        "POST",
        &url("RESERVE_NOW"),
        &tok,
        Some(json!({
            "response_url": emsp.at(PATH),
            "token": {"country_code": "NL", "party_id": "XYZ", "uid": "NL-XYZ-C12345678-X",
                      "type": "APP_USER", "contract_id": "NL-XYZ-C12345678-X",
                      "issuer": "XYZ", "valid": true, "whitelist": "ALLOWED",
                      "last_updated": "2025-01-01T00:00:00Z"},
            "expiry_date": (chrono::Utc::now() + chrono::Duration::minutes(20))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            "reservation_id": "RES-42",
            "authorization_reference": reference,
            "location_id": "DE*GEF*P000001",
            "evse_uid": evse_id(1, 1),
        })),
    )
    .await;
    assert_eq!(reserve.body["data"]["result"], "ACCEPTED", "{reserve:?}");
    assert_eq!(results_at(&emsp, PATH, 1).await.len(), 1);
    let started = backend.received_at("reservation-start-request");
    assert_eq!(started.len(), 1, "{started:?}");
    let sid = started[0].body["SessionID"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&sid).is_ok(), "{sid}");

    // Another id that is no GUID names no reservation.
    let other = ocpi(
        "POST",
        &url("CANCEL_RESERVATION"),
        &tok,
        Some(json!({"response_url": emsp.at(PATH), "reservation_id": "RES-43"})),
    )
    .await;
    assert_eq!(other.body["data"]["result"], "REJECTED", "{other:?}");
    let cancel = ocpi(
        "POST",
        &url("CANCEL_RESERVATION"),
        &tok,
        Some(json!({"response_url": emsp.at(PATH), "reservation_id": "RES-42"})),
    )
    .await;
    assert_eq!(cancel.body["data"]["result"], "ACCEPTED", "{cancel:?}");
    let results = results_at(&emsp, PATH, 2).await;
    assert_eq!(results.len(), 2, "{results:?}");
    let stopped = backend.received_at("reservation-stop-request");
    assert_eq!(stopped.len(), 1, "{stopped:?}");
    assert_eq!(stopped[0].body["SessionID"], sid.as_str());
    cpo.stop().await;
    backend.stop().await;
    emsp.stop().await;
}
