//! The eMSP side's RECEIVER interfaces (locations, sessions, cdrs) over HTTP: a CPO node
//! registered with an EMP node pushes to it with its token; every error path of the modules.

use serde_json::{Value, json};

use crate::harness::{CPO, Node, OcpiNode, cpo_id, emp_id, ocpi, token};
use crate::oicp_harness::{Double, post};

/// An EMP node with a backend double, and a CPO node registered with it (the EMP registered
/// with the CPO); returns them and the token the CPO presents to the EMP.
pub async fn pair() -> (Node, Node, Double, String) {
    let backend = Double::start().await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"{}\"\nbackend_token = \"{BACKEND}\"\n",
        backend.url()
    ))
    .await;
    let cpo = Node::start(CPO).await;
    let token_a = cpo.token_a(None).await;
    let answer = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let out = cpo.connection(&emp_id()).unwrap().token_out.clone();
    assert!(emp.connection(&cpo_id()).is_some());
    (emp, cpo, backend, token(&out))
}

pub fn connector(id: &str, at: &str) -> Value {
    json!({"id": id, "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
           "max_voltage": 230, "max_amperage": 16, "last_updated": at})
}

pub fn evse(uid: &str, evse_id: &str, at: &str) -> Value {
    json!({"uid": uid, "evse_id": evse_id, "status": "AVAILABLE",
           "capabilities": ["REMOTE_START_STOP_CAPABLE"],
           "connectors": [connector("1", at)], "last_updated": at})
}

pub fn location(id: &str, at: &str) -> Value {
    json!({"country_code": "DE", "party_id": "GEF", "id": id, "publish": true,
           "name": "Depot", "address": "Hauptstrasse 1", "city": "Berlin", "postal_code": "10115",
           "country": "DEU", "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
           "time_zone": "Europe/Berlin",
           "evses": [evse(&format!("{id}-E1"), &format!("DE*GEF*E{id}*1"), at)],
           "last_updated": at})
}

fn url(emp: &Node, path: &str) -> String {
    emp.at(&format!("/ocpi/2.2.1/receiver/{path}"))
}

/// The token the EMP backend presents to its node.
pub const BACKEND: &str = "emp-backend-token";

/// A request and the HTTP status and OCPI status code it must get.
type Case = (&'static str, String, Option<Value>, u16, i64);

async fn expect(cases: Vec<Case>, tok: &str) {
    for (method, u, body, http, code) in cases {
        let a = ocpi(method, &u, tok, body).await;
        assert_eq!((a.status, a.code()), (http, code), "{method} {u}: {a:?}");
    }
}

const T0: &str = "2024-03-01T10:00:00Z";
const T1: &str = "2024-03-01T11:00:00Z";

#[actix_web::test]
async fn locations_are_put_patched_and_read_back() {
    let (emp, _cpo, _backend, tok) = pair().await;
    let loc_url = url(&emp, "locations/DE/GEF/LOC1");
    let put = ocpi("PUT", &loc_url, &tok, Some(location("LOC1", T0))).await;
    assert_eq!((put.status, put.code()), (201, 1000), "{put:?}");
    let again = ocpi("PUT", &loc_url, &tok, Some(location("LOC1", T0))).await;
    assert_eq!((again.status, again.code()), (200, 1000), "{again:?}");

    // A status PATCH on the EVSE, addressed in lower case, bumps the Location.
    let evse_url = url(&emp, "locations/de/gef/loc1/loc1-e1");
    let patch = ocpi(
        "PATCH",
        &evse_url,
        &tok,
        Some(json!({"status": "CHARGING", "last_updated": T1})),
    )
    .await;
    assert_eq!((patch.status, patch.code()), (200, 1000), "{patch:?}");
    let got = ocpi("GET", &evse_url, &tok, None).await;
    assert_eq!(got.body["data"]["status"], "CHARGING", "{got:?}");
    assert_eq!(got.body["data"]["connectors"][0]["id"], "1");
    let whole = ocpi("GET", &loc_url, &tok, None).await;
    assert_eq!(whole.body["data"]["last_updated"], T1);
    assert_eq!(whole.body["data"]["name"], "Depot");

    // A Connector PUT adds a connector; a Connector PATCH changes it.
    let conn_url = url(&emp, "locations/DE/GEF/LOC1/LOC1-E1/2");
    let added = ocpi("PUT", &conn_url, &tok, Some(connector("2", T1))).await;
    assert_eq!(added.status, 201, "{added:?}");
    let changed = ocpi(
        "PATCH",
        &conn_url,
        &tok,
        Some(json!({"max_amperage": 32, "last_updated": T1})),
    )
    .await;
    assert_eq!(changed.status, 200, "{changed:?}");
    let conn = ocpi("GET", &conn_url, &tok, None).await;
    assert_eq!(conn.body["data"]["max_amperage"], 32);

    // An older PATCH is acknowledged and not applied.
    let stale = ocpi(
        "PATCH",
        &evse_url,
        &tok,
        Some(json!({"status": "OUTOFORDER", "last_updated": T0})),
    )
    .await;
    assert_eq!((stale.status, stale.code()), (200, 1000));
    let still = ocpi("GET", &evse_url, &tok, None).await;
    assert_eq!(still.body["data"]["status"], "CHARGING");

    // The version details list the receiver.
    let details = ocpi("GET", &emp.at("/ocpi/2.2.1"), &tok, None).await;
    let endpoints = details.body["data"]["endpoints"].as_array().unwrap();
    assert!(endpoints.iter().any(|e| e["identifier"] == "locations"
        && e["role"] == "RECEIVER"
        && e["url"] == url(&emp, "locations")));
}

#[actix_web::test]
async fn locations_refuse_what_the_spec_refuses() {
    let (emp, _cpo, _backend, tok) = pair().await;
    let loc_url = url(&emp, "locations/DE/GEF/LOC1");
    assert_eq!(
        ocpi("PUT", &loc_url, &tok, Some(location("LOC1", T0)))
            .await
            .status,
        201
    );
    let cases: Vec<Case> = vec![
        // A PATCH without last_updated.
        (
            "PATCH",
            url(&emp, "locations/DE/GEF/LOC1/LOC1-E1"),
            Some(json!({"status": "BLOCKED"})),
            200,
            2001,
        ),
        // An unknown EVSE, Connector or Location on PATCH.
        (
            "PATCH",
            url(&emp, "locations/DE/GEF/LOC1/NOPE"),
            Some(json!({"status": "BLOCKED", "last_updated": T1})),
            200,
            2003,
        ),
        (
            "PATCH",
            url(&emp, "locations/DE/GEF/LOC1/LOC1-E1/9"),
            Some(json!({"max_amperage": 1, "last_updated": T1})),
            200,
            2003,
        ),
        (
            "PATCH",
            url(&emp, "locations/DE/GEF/LOC9"),
            Some(json!({"name": "x", "last_updated": T1})),
            200,
            2003,
        ),
        // An EVSE under a Location we do not hold.
        (
            "PUT",
            url(&emp, "locations/DE/GEF/LOC9/E1"),
            Some(evse("E1", "DE*GEF*E9", T0)),
            200,
            2003,
        ),
        // The body's id is not the URL's.
        (
            "PUT",
            url(&emp, "locations/DE/GEF/LOC2"),
            Some(location("LOC1", T0)),
            200,
            2001,
        ),
        (
            "PUT",
            url(&emp, "locations/DE/GEF/LOC1/E7"),
            Some(evse("E8", "DE*GEF*E8", T0)),
            200,
            2001,
        ),
        // A body that breaks the model.
        (
            "PUT",
            url(&emp, "locations/DE/GEF/LOC3"),
            Some(json!({"id": "LOC3"})),
            200,
            2001,
        ),
        // A party that is not the client's.
        (
            "PUT",
            url(&emp, "locations/DE/XXX/LOC1"),
            Some(location("LOC1", T0)),
            404,
            2001,
        ),
        ("GET", url(&emp, "locations/NL/GEF/LOC1"), None, 404, 2001),
        // Nothing stored there.
        (
            "GET",
            url(&emp, "locations/DE/GEF/LOC1/NOPE"),
            None,
            404,
            2000,
        ),
        ("GET", url(&emp, "locations/DE/GEF/LOC8"), None, 404, 2000),
    ];
    expect(cases, &tok).await;
    // Not JSON: 400.
    let bad = crate::harness::call(
        "PUT",
        &loc_url,
        &[("Authorization", tok.as_str())],
        Some(b"{nope".to_vec()),
    )
    .await;
    assert_eq!(bad.status, 400);
    // Without a registered connection's token: 401.
    for auth in [token("nobody"), String::new()] {
        let a = ocpi("GET", &loc_url, &auth, None).await;
        assert_eq!((a.status, a.code()), (401, 2000), "{a:?}");
    }
    let token_a = emp.token_a(None).await;
    let a = ocpi("GET", &loc_url, &token(&token_a), None).await;
    assert_eq!(a.status, 401);
    // OCPI-to-* naming a party we do not host: 404.
    let wrong = crate::harness::call(
        "GET",
        &loc_url,
        &[
            ("Authorization", tok.as_str()),
            ("OCPI-to-country-code", "NL"),
            ("OCPI-to-party-id", "ZZZ"),
        ],
        None,
    )
    .await;
    assert_eq!((wrong.status, wrong.code()), (404, 2001));
    // The failed writes left the Location as it was.
    let got = ocpi("GET", &loc_url, &tok, None).await;
    assert_eq!(got.body["data"]["evses"].as_array().unwrap().len(), 1);
    assert_eq!(got.body["data"]["evses"][0]["status"], "AVAILABLE");
}

pub fn cdr_token() -> Value {
    json!({"country_code": "DE", "party_id": "GDF", "uid": "12345678", "type": "RFID",
           "contract_id": "DE-GDF-C12345678-X"})
}

pub fn session(id: &str, status: &str, at: &str) -> Value {
    json!({"country_code": "DE", "party_id": "GEF", "id": id, "start_date_time": T0,
           "kwh": 0, "cdr_token": cdr_token(), "auth_method": "WHITELIST",
           "location_id": "LOC1", "evse_uid": "LOC1-E1", "connector_id": "1", "currency": "EUR",
           "status": status, "last_updated": at})
}

#[actix_web::test]
async fn sessions_are_put_patched_with_appended_periods_and_read_back() {
    let (emp, _cpo, _backend, tok) = pair().await;
    let s_url = url(&emp, "sessions/DE/GEF/S1");
    let put = ocpi("PUT", &s_url, &tok, Some(session("S1", "ACTIVE", T0))).await;
    assert_eq!((put.status, put.code()), (201, 1000), "{put:?}");
    let period = |at: &str, kwh: f64| json!({"start_date_time": at, "dimensions": [{"type": "ENERGY", "volume": kwh}]});
    for (at, kwh) in [(T0, 1.5), (T1, 2.5)] {
        let p = ocpi(
            "PATCH",
            &s_url,
            &tok,
            Some(json!({"kwh": kwh, "charging_periods": [period(at, kwh)], "last_updated": at})),
        )
        .await;
        assert_eq!((p.status, p.code()), (200, 1000), "{p:?}");
    }
    let got = ocpi("GET", &s_url, &tok, None).await;
    assert_eq!(got.body["data"]["kwh"], 2.5, "{got:?}");
    assert_eq!(
        got.body["data"]["charging_periods"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A PUT replaces the periods.
    let replaced = ocpi("PUT", &s_url, &tok, Some(session("S1", "COMPLETED", T1))).await;
    assert_eq!(replaced.status, 200);
    let got = ocpi("GET", &s_url, &tok, None).await;
    assert_eq!(got.body["data"]["status"], "COMPLETED");
    assert!(got.body["data"]["charging_periods"].is_null());

    let cases: Vec<Case> = vec![
        (
            "PATCH",
            url(&emp, "sessions/DE/GEF/S9"),
            Some(json!({"kwh": 1, "last_updated": T1})),
            404,
            2000,
        ),
        ("PATCH", s_url.clone(), Some(json!({"kwh": 1})), 200, 2001),
        (
            "PATCH",
            s_url.clone(),
            Some(json!({"id": "S2", "last_updated": T1})),
            200,
            2001,
        ),
        (
            "PUT",
            url(&emp, "sessions/DE/GEF/S2"),
            Some(session("S1", "ACTIVE", T0)),
            200,
            2001,
        ),
        (
            "PUT",
            url(&emp, "sessions/DE/XXX/S1"),
            Some(session("S1", "ACTIVE", T0)),
            404,
            2001,
        ),
        ("GET", url(&emp, "sessions/DE/GEF/S9"), None, 404, 2000),
    ];
    expect(cases, &tok).await;
}

pub fn cdr(id: &str, session_id: &str) -> Value {
    json!({"country_code": "DE", "party_id": "GEF", "id": id, "start_date_time": T0,
           "end_date_time": T1, "session_id": session_id, "cdr_token": cdr_token(),
           "auth_method": "WHITELIST",
           "cdr_location": {"id": "LOC1", "address": "Hauptstrasse 1", "city": "Berlin",
               "country": "DEU", "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
               "evse_uid": "LOC1-E1", "evse_id": "DE*GEF*ELOC1*1", "connector_id": "1",
               "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
               "connector_power_type": "AC_3_PHASE"},
           "currency": "EUR",
           "charging_periods": [{"start_date_time": T0, "dimensions": [{"type": "ENERGY", "volume": 12.5}]}],
           "total_cost": {"excl_vat": 4.5, "incl_vat": 5.36}, "total_energy": 12.5, "total_time": 1,
           "last_updated": T1})
}

#[actix_web::test]
async fn cdrs_are_stored_answered_with_their_location_and_forwarded_over_oicp() {
    let (emp, _cpo, backend, tok) = pair().await;
    let session_id = "b2c1a3e4-0f1e-4d6a-9c3b-6f0e1d2c3b4a";
    let post = ocpi(
        "POST",
        &url(&emp, "cdrs"),
        &tok,
        Some(cdr("CDR1", session_id)),
    )
    .await;
    assert_eq!((post.status, post.code()), (201, 1000), "{post:?}");
    let location = post.header("location").unwrap().to_owned();
    assert_eq!(location, url(&emp, "cdrs/DE/GEF/CDR1"));
    let got = ocpi("GET", &location, &tok, None).await;
    assert_eq!(got.body["data"]["id"], "CDR1", "{got:?}");
    assert_eq!(got.body["data"]["total_energy"], 12.5);

    // The EMP backend gets it as an OICP ChargeDetailRecord of the operator of its EVSE.
    let forwarded = backend.wait_for("charge-detail-record", 1).await;
    assert_eq!(forwarded.len(), 1, "{:?}", backend.received());
    assert!(
        forwarded[0].path.contains("/operators/DE*GEF/"),
        "{}",
        forwarded[0].path
    );
    assert_eq!(forwarded[0].body["SessionID"], session_id);
    assert_eq!(forwarded[0].body["EvseID"], "DE*GEF*ELOC1*1");
    assert_eq!(forwarded[0].body["ConsumedEnergy"], 12.5);

    // The same CDR again is a retry: acknowledged, not forwarded again.
    let retry = ocpi(
        "POST",
        &url(&emp, "cdrs"),
        &tok,
        Some(cdr("CDR1", session_id)),
    )
    .await;
    assert_eq!((retry.status, retry.code()), (200, 1000), "{retry:?}");
    assert_eq!(retry.header("location"), Some(location.as_str()));
    // Another CDR under the same id is refused.
    let mut other = cdr("CDR1", session_id);
    other["total_energy"] = json!(99);
    let refused = ocpi("POST", &url(&emp, "cdrs"), &tok, Some(other)).await;
    assert_eq!((refused.status, refused.code()), (200, 2001), "{refused:?}");
    let mut foreign = cdr("CDR2", session_id);
    foreign["party_id"] = json!("XXX");
    let foreign = ocpi("POST", &url(&emp, "cdrs"), &tok, Some(foreign)).await;
    assert_eq!((foreign.status, foreign.code()), (404, 2001));
    let invalid = ocpi("POST", &url(&emp, "cdrs"), &tok, Some(json!({"id": "X"}))).await;
    assert_eq!(invalid.code(), 2001);
    let missing = ocpi("GET", &url(&emp, "cdrs/DE/GEF/CDR9"), &tok, None).await;
    assert_eq!(missing.status, 404);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(backend.received_at("charge-detail-record").len(), 1);
}

#[actix_web::test]
async fn pushed_locations_are_pulled_by_the_emp_backend_over_oicp() {
    let (emp, _cpo, _backend, tok) = pair().await;
    let mut loc = location("LOC1", T0);
    loc["evses"]
        .as_array_mut()
        .unwrap()
        .push(evse("LOC1-E2", "DE*GEF*ELOC1*2", T0));
    let put = ocpi("PUT", &url(&emp, "locations/DE/GEF/LOC1"), &tok, Some(loc)).await;
    assert_eq!(put.status, 201, "{put:?}");
    let patch = ocpi(
        "PATCH",
        &url(&emp, "locations/DE/GEF/LOC1/LOC1-E1"),
        &tok,
        Some(json!({"status": "CHARGING", "last_updated": T1})),
    )
    .await;
    assert_eq!(patch.status, 200, "{patch:?}");

    let pull = |path: &str, body: Value| {
        let u = format!("{}{path}", emp.url());
        async move { post(&u, Some(BACKEND), &body).await }
    };
    let data = pull(
        "/evsepull/v23/providers/DE-GDF/data-records",
        json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;
    assert_eq!(data.status, 200, "{:?}", data.body);
    assert_eq!(data.body["totalElements"], 2, "{:?}", data.body);
    let records = data.body["content"].as_array().unwrap();
    let mut ids: Vec<&str> = records
        .iter()
        .map(|r| r["EvseID"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["DE*GEF*ELOC1*1", "DE*GEF*ELOC1*2"]);
    assert_eq!(records[0]["OperatorID"], "DE*GEF");
    assert_eq!(records[0]["Address"]["City"], "Berlin");

    let status = pull(
        "/evsepull/v21/providers/DE-GDF/status-records",
        json!({"ProviderID": "DE-GDF"}),
    )
    .await;
    assert_eq!(status.status, 200, "{:?}", status.body);
    let operators = status.body["EvseStatuses"]["OperatorEvseStatus"]
        .as_array()
        .unwrap();
    let evses = operators[0]["EvseStatusRecord"].as_array().unwrap();
    let of = |id: &str| {
        evses
            .iter()
            .find(|r| r["EvseID"] == id)
            .map(|r| r["EvseStatus"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        of("DE*GEF*ELOC1*1").as_deref(),
        Some("Occupied"),
        "{evses:?}"
    );
    assert_eq!(of("DE*GEF*ELOC1*2").as_deref(), Some("Available"));

    // An EVSE removed on the OCPI side leaves the OICP data.
    let removed = ocpi(
        "PATCH",
        &url(&emp, "locations/DE/GEF/LOC1/LOC1-E2"),
        &tok,
        Some(json!({"status": "REMOVED", "last_updated": T1})),
    )
    .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    let data = pull(
        "/evsepull/v23/providers/DE-GDF/data-records",
        json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;
    assert_eq!(data.body["totalElements"], 1, "{:?}", data.body);
    assert_eq!(data.body["content"][0]["EvseID"], "DE*GEF*ELOC1*1");
}

#[actix_web::test]
async fn session_changes_reach_the_emp_backend_as_charging_notifications() {
    let (emp, _cpo, backend, tok) = pair().await;
    let put = ocpi(
        "PUT",
        &url(&emp, "locations/DE/GEF/LOC1"),
        &tok,
        Some(location("LOC1", T0)),
    )
    .await;
    assert_eq!(put.status, 201, "{put:?}");
    let id = "c3d4e5f6-0f1e-4d6a-9c3b-6f0e1d2c3b4a";
    let s_url = url(&emp, &format!("sessions/DE/GEF/{id}"));
    let started = ocpi("PUT", &s_url, &tok, Some(session(id, "ACTIVE", T0))).await;
    assert_eq!(started.status, 201, "{started:?}");
    let ended = ocpi(
        "PATCH",
        &s_url,
        &tok,
        Some(json!({"status": "COMPLETED", "kwh": 7.5, "end_date_time": T1, "last_updated": T1})),
    )
    .await;
    assert_eq!(ended.status, 200, "{ended:?}");
    let got = backend.wait_for("charging-notifications", 2).await;
    let types: Vec<&str> = got
        .iter()
        .map(|r| r.body["Type"].as_str().unwrap_or("?"))
        .collect();
    assert!(types.len() >= 2 && types[0] == "Start", "{types:?} {got:?}");
    assert_eq!(types.last(), Some(&"End"), "{types:?}");
    for r in &got {
        assert_eq!(r.body["SessionID"], id, "{:?}", r.body);
        assert_eq!(r.body["EvseID"], "DE*GEF*ELOC1*1");
    }
    // A Session at an EVSE we do not hold is stored, not notified.
    let mut elsewhere = session("S-X", "ACTIVE", T0);
    elsewhere["location_id"] = json!("LOC9");
    let stored = ocpi(
        "PUT",
        &url(&emp, "sessions/DE/GEF/S-X"),
        &tok,
        Some(elsewhere),
    )
    .await;
    assert_eq!(stored.status, 201);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        backend.received_at("charging-notifications").len(),
        got.len()
    );
}
