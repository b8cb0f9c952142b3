//! Interoperability of our OCPI eMSP side with the extrawest-ocpi peer as CPO
//! (`tests/support/ocpi_peer.rs`): we register with the peer, pull its Locations page by page
//! (by `offset`, as its `Link` is unusable: deviation P1 in docs/ocpi-interop-extrawest.md),
//! store every one of them and offer them to our EMP backend through the OICP pull paths
//! (`eRoamingPullEvseData`, `eRoamingPullEvseStatus`); following its `Link` instead fails as
//! P1 says. The peer also registers with us as CPO and pushes a Location, a Session and a CDR
//! to our eMSP RECEIVER interfaces (the requests come from the peer app's own client,
//! `control.py`, since the library has no client side; each object is first validated by the library's
//! own model through the peer's `/control/own/{module}`),
//! which reach the EMP backend as OICP data, charging notifications and a CDR. Skipped (with a
//! line saying so) when `ROAMBRIDGE_OCPI_PEER_PYTHON` is unset.

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[allow(dead_code)]
#[path = "node/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "support/ocpi_peer.rs"]
mod ocpi_peer;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use harness::{Double, Node, post};
use ocpi_peer::{OcpiPeer, PeerOptions};
use roambridge::store::ocpi_emsp::EmspKind;
use serde_json::{Value, json};

/// Locations the peer holds: three pages of our offset paging (`PAGE` = 50).
const SEEDED: usize = 120;

fn emp_config(peer: &OcpiPeer, by_offset: bool) -> String {
    format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"http://127.0.0.1:9\"\nbackend_token = \"emp-backend\"\n\n\
         [[peer]]\nrole = \"cpo\"\nid = \"NL*XWP\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n\
         [peer.ocpi]\npage_by_offset = {by_offset}\n",
        peer.versions_url(),
    )
}

async fn admin(node: &Node, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let reply = ocpi_peer::http(
        method,
        &format!("http://127.0.0.1:{}{path}", node.port),
        &[("Authorization", "Bearer admin")],
        body,
    )
    .await
    .unwrap();
    (reply.status, reply.body)
}

async fn register(node: &Node, peer: &OcpiPeer, token: &str) {
    let (status, body) = admin(
        node,
        "POST",
        "/admin/ocpi/register",
        Some(&json!({"versions_url": peer.versions_url(), "token": token})),
    )
    .await;
    assert_eq!(status, 201, "{body}\n{}", peer.log_tail());
}

/// Every Location stored on our eMSP side.
async fn stored(node: &Node) -> Vec<Value> {
    let (records, total) = node
        .state
        .store
        .ocpi_emsp_page(EmspKind::Location, 0, 1000)
        .await
        .unwrap();
    assert_eq!(records.len() as u64, total);
    records.into_iter().map(|r| r.json).collect()
}

/// Waits (30 s at most) until `count` Locations are stored.
async fn stored_until(node: &Node, count: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let all = stored(node).await;
        if all.len() >= count || start.elapsed() > Duration::from_secs(30) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The peer's log of `GET` requests to its CPO locations list (it records a request once
/// answered, so this waits, 10 s at most, for `count` of them).
async fn list_gets(peer: &OcpiPeer, count: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let seen: Vec<Value> = peer
            .control_get("/requests?path_contains=/ocpi/cpo/2.2.1/locations")
            .await
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == "GET" && e["path"] == "/ocpi/cpo/2.2.1/locations/")
            .cloned()
            .collect();
        if seen.len() >= count || start.elapsed() > Duration::from_secs(10) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A string member in upper case (`CiString`s compare without regard to case).
fn upper(value: &Value) -> String {
    value.as_str().unwrap().to_ascii_uppercase()
}

fn seeded_ids() -> BTreeSet<String> {
    (0..SEEDED).map(|i| format!("LOC{i:06}")).collect()
}

fn seeded_evse_ids() -> BTreeSet<String> {
    (0..SEEDED).map(|i| format!("NL*XWP*E{i:06}0")).collect()
}

#[actix_web::test]
async fn our_emsp_side_pulls_extrawest_locations_page_by_page_and_offers_them_over_oicp() {
    let options = PeerOptions {
        token_a: vec!["emsp-pull-token-a".to_owned()],
        roles: Some("cpo".to_owned()),
        seed_locations: SEEDED,
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("eMSP pulls locations", &options).await else {
        return;
    };
    let node = Node::start(&emp_config(&peer, true)).await;
    register(&node, &peer, "emsp-pull-token-a").await;

    // Registering pulls the peer's Locations in the background: every one arrives (in
    // lower case: the peer lower-cases every CiString, deviation D1).
    let all = stored_until(&node, SEEDED).await;
    let ids: BTreeSet<String> = all.iter().map(|l| upper(&l["id"])).collect();
    assert_eq!(all.len(), SEEDED, "{}", peer.log_tail());
    assert_eq!(ids, seeded_ids());
    assert!(
        all.iter()
            .all(|l| upper(&l["country_code"]) == "NL" && upper(&l["party_id"]) == "XWP"),
        "{:?}",
        all[0]
    );

    // Three pages by offset, with our token and routing headers, at the slashed list URL
    // the peer advertises (U1).
    let gets = list_gets(&peer, 3).await;
    let mut queries: Vec<&str> = gets.iter().map(|g| g["query"].as_str().unwrap()).collect();
    queries.sort_unstable();
    assert_eq!(
        queries,
        [
            "offset=0&limit=50",
            "offset=100&limit=50",
            "offset=50&limit=50"
        ],
        "{gets:?}"
    );
    for get in &gets {
        assert_eq!(get["status"], 200, "{get}");
        let headers = &get["headers"];
        assert!(
            headers["authorization"]
                .as_str()
                .unwrap()
                .starts_with("Token "),
            "{headers}"
        );
        assert_eq!(upper(&headers["ocpi-from-party-id"]), "GDF", "{headers}");
        assert_eq!(upper(&headers["ocpi-to-party-id"]), "XWP", "{headers}");
    }

    // Pulling again (the admin trigger): three pages, nothing newer.
    let (status, report) = admin(
        &node,
        "POST",
        "/admin/ocpi/connections/cpo/NL*XWP/pull/locations",
        None,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"read": SEEDED, "created": 0, "updated": 0, "unchanged": SEEDED,
               "skipped": 0, "pages": 3})
    );
    assert_eq!(list_gets(&peer, 6).await.len(), 6);

    // The EMP backend's OICP pulls answer the pulled EVSEs.
    let data = post(
        &format!(
            "{}/evsepull/v23/providers/DE-GDF/data-records?size=500",
            node.url()
        ),
        Some("emp-backend"),
        &json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;
    assert_eq!(data.status, 200, "{:?}", data.body);
    assert_eq!(data.body["totalElements"], SEEDED, "{:?}", data.body);
    let records = data.body["content"].as_array().unwrap();
    let evse_ids: BTreeSet<String> = records.iter().map(|r| upper(&r["EvseID"])).collect();
    assert_eq!(evse_ids, seeded_evse_ids());
    assert!(
        records
            .iter()
            .all(|r| upper(&r["OperatorID"]) == "NL*XWP" && r["Address"]["City"] == "Utrecht"),
        "{:?}",
        records[0]
    );

    let status = post(
        &format!(
            "{}/evsepull/v21/providers/DE-GDF/status-records",
            node.url()
        ),
        Some("emp-backend"),
        &json!({"ProviderID": "DE-GDF"}),
    )
    .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    let operators = status.body["EvseStatuses"]["OperatorEvseStatus"]
        .as_array()
        .unwrap();
    assert_eq!(operators.len(), 1, "{operators:?}");
    assert_eq!(upper(&operators[0]["OperatorID"]), "NL*XWP");
    let statuses = operators[0]["EvseStatusRecord"].as_array().unwrap();
    let status_ids: BTreeSet<String> = statuses.iter().map(|r| upper(&r["EvseID"])).collect();
    assert_eq!(status_ids, seeded_evse_ids());
    assert!(
        statuses.iter().all(|r| r["EvseStatus"] == "Available"),
        "{statuses:?}"
    );
    node.stop().await;
}

#[actix_web::test]
async fn following_extrawest_link_header_fails_as_deviation_p1_says() {
    let options = PeerOptions {
        token_a: vec!["emsp-link-token-a".to_owned()],
        roles: Some("cpo".to_owned()),
        seed_locations: SEEDED,
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("eMSP follows Link", &options).await else {
        return;
    };
    let node = Node::start(&emp_config(&peer, false)).await;
    register(&node, &peer, "emsp-link-token-a").await;
    let (status, report) = admin(
        &node,
        "POST",
        "/admin/ocpi/connections/cpo/NL*XWP/pull/locations",
        None,
    )
    .await;
    // Deviation P1: the `Link` of the first page points at `https` (the peer serves plain
    // HTTP) and at a path built from Python enum names; following it fails the whole pull,
    // so nothing is stored (`page_by_offset = true` is the remedy, test above).
    assert_eq!(status, 502, "{report}");
    assert_eq!(report["ocpi_status_code"], 3001, "{report}");
    let error = report["error"].as_str().unwrap();
    assert!(
        error.starts_with("https://127.0.0.1:")
            && error.contains("/ocpi/cpo/VersionNumber.v_2_2_1/ModuleID.locations/?date_from=None"),
        "{error}"
    );
    assert!(stored(&node).await.is_empty());
    // The first page was read (by the pull after registering and by the admin trigger),
    // with no offset: the next page was never asked of the peer.
    let gets = list_gets(&peer, 2).await;
    assert_eq!(gets.len(), 2, "{gets:?}");
    assert!(
        gets.iter().all(|g| g["query"] == "" && g["status"] == 200),
        "{gets:?}"
    );
    node.stop().await;
}

const T0: &str = "2025-03-01T10:00:00Z";
const T1: &str = "2025-03-01T11:00:00Z";

fn pushed_location() -> Value {
    json!({"country_code": "NL", "party_id": "XWP", "id": "PUSH1", "publish": true,
           "name": "Pushed site", "address": "Oudegracht 1", "city": "Utrecht",
           "postal_code": "3511AB", "country": "NLD",
           "coordinates": {"latitude": "52.090737", "longitude": "5.121420"},
           "time_zone": "Europe/Amsterdam",
           "evses": [{"uid": "PUSH1-E1", "evse_id": "NL*XWP*EPUSH1*1", "status": "AVAILABLE",
                      "capabilities": ["REMOTE_START_STOP_CAPABLE"],
                      "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                                      "power_type": "AC_3_PHASE", "max_voltage": 230,
                                      "max_amperage": 32, "last_updated": T0}],
                      "last_updated": T0}],
           "last_updated": T0})
}

fn cdr_token() -> Value {
    json!({"country_code": "DE", "party_id": "GDF", "uid": "12345678", "type": "RFID",
           "contract_id": "DE-GDF-C12345678-X"})
}

fn pushed_session(id: &str, status: &str, at: &str) -> Value {
    json!({"country_code": "NL", "party_id": "XWP", "id": id, "start_date_time": T0,
           "kwh": 0, "cdr_token": cdr_token(), "auth_method": "WHITELIST",
           "location_id": "PUSH1", "evse_uid": "PUSH1-E1", "connector_id": "1",
           "currency": "EUR", "status": status, "last_updated": at})
}

fn pushed_cdr(id: &str, session_id: &str) -> Value {
    json!({"country_code": "NL", "party_id": "XWP", "id": id, "start_date_time": T0,
           "end_date_time": T1, "session_id": session_id, "cdr_token": cdr_token(),
           "auth_method": "WHITELIST",
           "cdr_location": {"id": "PUSH1", "address": "Oudegracht 1", "city": "Utrecht",
               "postal_code": "3511AB", "country": "NLD",
               "coordinates": {"latitude": "52.090737", "longitude": "5.121420"},
               "evse_uid": "PUSH1-E1", "evse_id": "NL*XWP*EPUSH1*1", "connector_id": "1",
               "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
               "connector_power_type": "AC_3_PHASE"},
           "currency": "EUR",
           "charging_periods": [{"start_date_time": T0,
                                 "dimensions": [{"type": "ENERGY", "volume": 12.5}]}],
           "total_cost": {"excl_vat": 4.5, "incl_vat": 5.36}, "total_energy": 12.5,
           "total_time": 1, "last_updated": T1})
}

/// Stores `object` as the peer's own, after the library's validation of its `module` model
/// (so what the peer pushes is what the library itself would serve).
async fn own(peer: &OcpiPeer, module: &str, object: &Value) {
    let reply = peer.control_post(&format!("/own/{module}"), object).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The peer (as CPO) calls our `module` RECEIVER through its own client.
async fn peer_push(peer: &OcpiPeer, module: &str, method: &str, path: &str, body: &Value) -> Value {
    let reply = peer
        .control_post(
            "/call",
            &json!({"module": module, "role": "RECEIVER", "method": method, "path": path,
                    "body": body}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, peer.log_tail());
    reply.body["response"].clone()
}

#[actix_web::test]
async fn extrawest_as_cpo_pushes_a_location_session_and_cdr_to_our_emsp_receiver() {
    let options = PeerOptions {
        roles: Some("cpo".to_owned()),
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("CPO pushes to our eMSP side", &options).await else {
        return;
    };
    let backend = Double::start().await;
    let node = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"{}\"\nbackend_token = \"emp-backend\"\n",
        backend.url()
    ))
    .await;
    let (status, issued) = admin(&node, "POST", "/admin/ocpi/tokens", Some(&json!({}))).await;
    assert_eq!(status, 201, "{issued}");
    let versions = format!("http://127.0.0.1:{}/ocpi/versions", node.port);
    let reply = peer
        .control_post(
            "/register",
            &json!({"versions_url": versions, "token": issued["token"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, peer.log_tail());

    // A Location, PUT by the peer's client to our locations RECEIVER (found in our version
    // details), is stored and offered to the EMP backend's OICP pull.
    own(&peer, "locations", &pushed_location()).await;
    let put = peer_push(
        &peer,
        "locations",
        "PUT",
        "NL/XWP/PUSH1",
        &pushed_location(),
    )
    .await;
    assert_eq!(
        (&put["status"], &put["body"]["status_code"]),
        (&json!(201), &json!(1000)),
        "{put}"
    );
    let data = post(
        &format!("{}/evsepull/v23/providers/DE-GDF/data-records", node.url()),
        Some("emp-backend"),
        &json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;
    assert_eq!(data.body["totalElements"], 1, "{:?}", data.body);
    assert_eq!(data.body["content"][0]["EvseID"], "NL*XWP*EPUSH1*1");
    assert_eq!(data.body["content"][0]["OperatorID"], "NL*XWP");

    // A Session PUT then PATCHed to COMPLETED: OICP charging notifications Start and End.
    let session = "d4e5f6a7-0f1e-4d6a-9c3b-6f0e1d2c3b4a";
    let path = format!("NL/XWP/{session}");
    own(&peer, "sessions", &pushed_session(session, "ACTIVE", T0)).await;
    let started = peer_push(
        &peer,
        "sessions",
        "PUT",
        &path,
        &pushed_session(session, "ACTIVE", T0),
    )
    .await;
    assert_eq!(started["status"], 201, "{started}");
    let ended = peer_push(
        &peer,
        "sessions",
        "PATCH",
        &path,
        &json!({"status": "COMPLETED", "kwh": 12.5, "end_date_time": T1, "last_updated": T1}),
    )
    .await;
    assert_eq!(
        (&ended["status"], &ended["body"]["status_code"]),
        (&json!(200), &json!(1000)),
        "{ended}"
    );
    let notified = backend.wait_for("charging-notifications", 2).await;
    let types: Vec<&str> = notified
        .iter()
        .map(|r| r.body["Type"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(types, ["Start", "End"], "{notified:?}");
    for r in &notified {
        assert_eq!(r.body["SessionID"], session, "{:?}", r.body);
        assert_eq!(r.body["EvseID"], "NL*XWP*EPUSH1*1", "{:?}", r.body);
    }
    assert_eq!(notified[1].body["ConsumedEnergy"], 12.5);

    // A CDR POSTed to our cdrs RECEIVER: 201 with its Location, forwarded to the backend.
    own(&peer, "cdrs", &pushed_cdr("CDR1", session)).await;
    let cdr = peer_push(&peer, "cdrs", "POST", "", &pushed_cdr("CDR1", session)).await;
    assert_eq!(cdr["status"], 201, "{cdr}");
    assert!(
        cdr["headers"]["location"]
            .as_str()
            .unwrap()
            .ends_with("/ocpi/2.2.1/receiver/cdrs/NL/XWP/CDR1"),
        "{cdr}"
    );
    let forwarded = backend.wait_for("charge-detail-record", 1).await;
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    assert!(
        forwarded[0]
            .path
            .ends_with("/operators/NL*XWP/charge-detail-record"),
        "{forwarded:?}"
    );
    let record = &forwarded[0].body;
    assert_eq!(record["SessionID"], session, "{record}");
    assert_eq!(record["ConsumedEnergy"], 12.5, "{record}");
    assert_eq!(
        record["Identification"]["RFIDIdentification"]["EvcoID"],
        "DE-GDF-C12345678-X"
    );
    node.stop().await;
    backend.stop().await;
}
