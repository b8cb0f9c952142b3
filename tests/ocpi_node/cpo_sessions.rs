//! Sessions, CDRs and Tariffs from the CPO side: the CPO backend's OICP notifications, CDR and
//! pricing products become OCPI objects, pushed through the outbox to the OCPI eMSP of the
//! session (our eMSP side, which forwards them to its OICP backend) and served by the SENDER
//! interfaces with pagination.

use serde_json::{Value, json};

use crate::cpo_authorize::{SESSION, authorize_start, cpo_and_emp, rfid};
use crate::cpo_locations::{CPO_WITH_BACKEND, backend_push};
use crate::evse_push::full_load;
use crate::harness::{Answer, OcpiNode, Partner, Seen, cpo_id, ocpi, ok, token};
use crate::oicp_harness::{Double, Node, post};

/// An OICP request from the fixtures.
fn fixture(op: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/oicp/valid/{op}.request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The CPO backend posts `body` to `path` below `/api/oicp`.
async fn backend_call(cpo: &Node, path: &str, body: &Value) -> Value {
    let a = post(&format!("{}{path}", cpo.url()), Some("cpo-backend"), body).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

async fn get(cpo: &Node, path: &str, auth: &str) -> Answer {
    ocpi("GET", &cpo.at(path), auth, None).await
}

/// A notification of `kind` for the test session at the EVSE the view holds.
fn notification(kind: &str) -> Value {
    let mut n = fixture(&format!("ChargingNotification{kind}"));
    n["SessionID"] = json!(SESSION);
    n["EvseID"] = json!("DE*GEF*E000000*1");
    n
}

#[actix_web::test]
async fn notifications_cdrs_and_tariffs_reach_the_ocpi_emsp_and_are_served() {
    let (cpo, emp, backend) = cpo_and_emp().await;
    let auth = token(&emp.connection(&cpo_id()).unwrap().token_out);

    // Pricing products for every provider become Tariffs, served page by page.
    let mut products = fixture("PushPricingProductData");
    products["PricingProductData"]["ProviderID"] = json!("*");
    let pushed = backend_call(
        &cpo,
        "/dynamicpricing/v10/operators/DE*GEF/pricing-products",
        &products,
    )
    .await;
    assert_eq!(pushed["Result"], true, "{pushed}");
    let first = get(&cpo, "/ocpi/2.2.1/tariffs?limit=2", &auth).await;
    assert_eq!((first.status, first.code()), (200, 1000), "{first:?}");
    assert_eq!(first.header("x-total-count"), Some("4"));
    let page = first.body["data"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(
        (
            page[0]["country_code"].as_str(),
            page[0]["party_id"].as_str()
        ),
        (Some("DE"), Some("GEF"))
    );
    assert!(
        first.header("link").unwrap().contains("offset=2"),
        "{first:?}"
    );
    let mut ids: Vec<String> = page
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let second = get(&cpo, "/ocpi/2.2.1/tariffs?limit=2&offset=2", &auth).await;
    ids.extend(
        second.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned()),
    );
    assert!(second.header("link").is_none());
    assert!(
        ids.iter().any(|i| i == "DEFAULT") && ids.iter().any(|i| i == "AC1"),
        "{ids:?}"
    );

    // The session: authorized at the eMSP, then Start, Progress, End from the backend.
    let answer = authorize_start(&cpo, rfid("1234ABCD")).await;
    assert_eq!(answer["SessionID"], SESSION, "{answer}");
    for kind in ["Start", "Progress", "End"] {
        let a = backend_call(
            &cpo,
            "/notificationmgmt/v11/charging-notifications",
            &notification(kind),
        )
        .await;
        assert_eq!(a["Result"], true, "{kind}: {a}");
    }
    // Our eMSP side received the OCPI Session and told its OICP backend.
    // (Start and End; a Progress only when 5 minutes passed since the last one.)
    let mut told = backend.wait_for("charging-notifications", 2).await;
    for _ in 0..200 {
        if told.iter().any(|r| r.body["Type"] == "End") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        told = backend.received_at("charging-notifications");
    }
    assert_eq!(told[0].body["Type"], "Start", "{told:?}");
    assert_eq!(told[0].body["SessionID"], SESSION);
    assert_eq!(told.last().unwrap().body["Type"], "End", "{told:?}");

    // The CDR: priced with the DEFAULT tariff (0.49 EUR per kWh), POSTed to the eMSP, once.
    let mut cdr = fixture("ChargeDetailRecord");
    cdr["SessionID"] = json!(SESSION);
    cdr["EvseID"] = json!("DE*GEF*E000000*1");
    let url = "/cdrmgmt/v22/operators/DE*GEF/charge-detail-record";
    let a = backend_call(&cpo, url, &cdr).await;
    assert_eq!(a["Result"], true, "{a}");
    let got = backend.wait_for("charge-detail-record", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].body["SessionID"], SESSION);
    let again = backend_call(&cpo, url, &cdr).await;
    assert!(
        again["StatusCode"]["Description"]
            .as_str()
            .unwrap_or_default()
            .contains("duplicate"),
        "{again}"
    );

    // The SENDER interfaces serve what was pushed.
    let sessions = get(&cpo, "/ocpi/2.2.1/sessions", &auth).await;
    assert_eq!(
        (sessions.status, sessions.code()),
        (200, 1000),
        "{sessions:?}"
    );
    assert_eq!(sessions.header("x-total-count"), Some("1"));
    let s = &sessions.body["data"][0];
    assert_eq!(s["id"], SESSION);
    assert_eq!(s["status"], "COMPLETED", "{s}");
    assert_eq!(s["kwh"], 30.541);
    assert_eq!(s["location_id"], "DE*GEF*P000000");
    assert_eq!(s["cdr_token"]["uid"], "1234ABCD");
    let cdrs = get(&cpo, "/ocpi/2.2.1/cdrs", &auth).await;
    assert_eq!(cdrs.header("x-total-count"), Some("1"), "{cdrs:?}");
    let c = &cdrs.body["data"][0];
    assert_eq!(c["session_id"], SESSION);
    assert_eq!(c["currency"], "EUR");
    assert_eq!(c["cdr_location"]["evse_uid"], "DE*GEF*E000000*1");
    let cost = c["total_cost"]["excl_vat"].as_f64().unwrap();
    assert!((cost - 30.541 * 0.49).abs() < 0.01, "{c}");
    let later = get(
        &cpo,
        "/ocpi/2.2.1/cdrs?date_from=2999-01-01T00:00:00Z",
        &auth,
    )
    .await;
    assert_eq!(later.body["data"], json!([]));

    // Error paths: bad paging 2001, a token A or no token 401, an EVSE the view lacks 022.
    let bad = get(&cpo, "/ocpi/2.2.1/sessions?limit=0", &auth).await;
    assert_eq!(bad.code(), 2001, "{bad:?}");
    let a = cpo.token_a(None).await;
    assert_eq!(get(&cpo, "/ocpi/2.2.1/cdrs", &token(&a)).await.status, 401);
    let none = crate::harness::call("GET", &cpo.at("/ocpi/2.2.1/tariffs"), &[], None).await;
    assert_eq!(none.status, 401);
    let mut elsewhere = notification("Start");
    elsewhere["EvseID"] = json!("DE*GEF*E999999*1");
    let refused = backend_call(
        &cpo,
        "/notificationmgmt/v11/charging-notifications",
        &elsewhere,
    )
    .await;
    assert_eq!(refused["Result"], false, "{refused}");
    assert_eq!(refused["StatusCode"]["Code"], "022");
    cpo.stop().await;
    emp.stop().await;
    backend.stop().await;
}

/// A scripted eMSP with sessions, cdrs and tariffs RECEIVERs that accept everything, and a
/// tokens SENDER that allows every token (reference `REF-1`).
fn receiving_emsp(seen: &Seen, port: u16) -> (u16, Vec<(String, String)>, Value) {
    let base = format!("http://127.0.0.1:{port}");
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/ocpi/versions") => {
            ok(json!([{"version": "2.2.1", "url": format!("{base}/ocpi/2.2.1")}]))
        }
        ("GET", "/ocpi/2.2.1") => ok(json!({"version": "2.2.1", "endpoints": [
            {"identifier": "credentials", "role": "RECEIVER", "url": format!("{base}/ocpi/2.2.1/credentials")},
            {"identifier": "tokens", "role": "SENDER", "url": format!("{base}/ocpi/emsp/tokens")},
            {"identifier": "sessions", "role": "RECEIVER", "url": format!("{base}/ocpi/emsp/sessions/")},
            {"identifier": "cdrs", "role": "RECEIVER", "url": format!("{base}/ocpi/emsp/cdrs/")},
            {"identifier": "tariffs", "role": "RECEIVER", "url": format!("{base}/ocpi/emsp/tariffs")}
        ]})),
        ("POST", "/ocpi/2.2.1/credentials") => ok(json!({
            "token": "emsp-token-c",
            "url": format!("{base}/ocpi/versions"),
            "roles": [{"role": "EMSP", "business_details": {"name": "eMSP"}, "party_id": "XYZ", "country_code": "NL"}]
        })),
        ("POST", p) if p.ends_with("/authorize") => ok(json!({
            "allowed": "ALLOWED", "authorization_reference": "REF-1",
            "token": crate::cpo_authorize::ocpi_token("1111ABCD", "NEVER")})),
        (_, p) if p.starts_with("/ocpi/emsp/") => ok(Value::Null),
        _ => (404, Vec::new(), Value::Null),
    }
}

async fn wait_seen(partner: &Partner, method: &str, prefix: &str, n: usize) -> Vec<Seen> {
    for _ in 0..200 {
        let seen: Vec<Seen> = partner
            .seen()
            .into_iter()
            .filter(|s| s.method == method && s.path.starts_with(prefix))
            .collect();
        if seen.len() >= n {
            return seen;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    partner
        .seen()
        .into_iter()
        .filter(|s| s.method == method && s.path.starts_with(prefix))
        .collect()
}

#[actix_web::test]
async fn the_receiver_calls_go_to_the_emsp_of_the_session_and_tariffs_to_the_emsp_they_are_for() {
    let partner = Partner::start(receiving_emsp).await;
    let cpo = Node::start(CPO_WITH_BACKEND).await;
    let registered = cpo.register(&partner.at("/ocpi/versions"), "token-a").await;
    assert_eq!(registered.status, 201, "{registered:?}");
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(1, 1),
    )
    .await;

    // Products for this eMSP are PUT to it; products for another provider are not (the second
    // push for this eMSP arrives after anything queued before it).
    let pricing = |provider: &str| {
        let mut p = fixture("PushPricingProductData");
        p["PricingProductData"]["ProviderID"] = json!(provider);
        p
    };
    let url = "/dynamicpricing/v10/operators/DE*GEF/pricing-products";
    for provider in ["NL-XYZ", "DE-ABC", "NL-XYZ"] {
        let a = backend_call(&cpo, url, &pricing(provider)).await;
        assert_eq!(a["Result"], true, "{a}");
    }
    let tariffs = wait_seen(&partner, "PUT", "/ocpi/emsp/tariffs/", 8).await;
    assert_eq!(tariffs.len(), 8, "{tariffs:?}");
    assert_eq!(tariffs[0].path, "/ocpi/emsp/tariffs/DE/GEF/DEFAULT");
    assert_eq!(tariffs[0].body["currency"], "EUR");
    assert_eq!(tariffs[0].header("ocpi-to-party-id"), Some("XYZ"));
    // A ProductID with a space is a Tariff id with a space: percent-encoded in the path.
    assert_eq!(
        tariffs[3].path,
        "/ocpi/emsp/tariffs/DE/GEF/Standard%20Price"
    );

    // Authorized at the eMSP (its reference is no GUID: the node mints the SessionID).
    let answer = authorize_start(&cpo, rfid("1111ABCD")).await;
    assert_eq!(answer["AuthorizationStatus"], "Authorized", "{answer}");
    let session = answer["SessionID"].as_str().unwrap().to_owned();
    let path = format!("/ocpi/emsp/sessions/DE/GEF/{session}");
    for kind in ["Start", "End"] {
        let mut n = notification(kind);
        n["SessionID"] = json!(session);
        n["Identification"] = rfid("1111ABCD");
        let a = backend_call(&cpo, "/notificationmgmt/v11/charging-notifications", &n).await;
        assert_eq!(a["Result"], true, "{kind}: {a}");
    }
    let put = wait_seen(&partner, "PUT", "/ocpi/emsp/sessions/", 1).await;
    assert_eq!(put.len(), 1, "{put:?}");
    assert_eq!(put[0].path, path);
    assert_eq!(put[0].body["status"], "ACTIVE");
    assert_eq!(put[0].body["authorization_reference"], "REF-1");
    assert_eq!(put[0].body["cdr_token"]["contract_id"], "NL-XYZ-C1111ABCD");
    assert_eq!(put[0].body["cdr_token"]["country_code"], "NL");
    assert_eq!(put[0].body["cdr_token"]["uid"], "1111ABCD");
    let patch = wait_seen(&partner, "PATCH", "/ocpi/emsp/sessions/", 1).await;
    assert_eq!(patch.len(), 1, "{patch:?}");
    assert_eq!(patch[0].path, path);
    assert_eq!(patch[0].body["status"], "COMPLETED");
    assert!(
        patch[0].body.get("id").is_none(),
        "a PATCH carries the change only"
    );

    let mut cdr = fixture("ChargeDetailRecord");
    cdr["SessionID"] = json!(session);
    cdr["EvseID"] = json!("DE*GEF*E000000*1");
    cdr.as_object_mut().unwrap().remove("HubProviderID");
    cdr["Identification"] = rfid("1111ABCD");
    let a = backend_call(
        &cpo,
        "/cdrmgmt/v22/operators/DE*GEF/charge-detail-record",
        &cdr,
    )
    .await;
    assert_eq!(a["Result"], true, "{a}");
    let posted = wait_seen(&partner, "POST", "/ocpi/emsp/cdrs", 1).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].path, "/ocpi/emsp/cdrs/");
    assert_eq!(posted[0].body["id"], session.as_str());
    assert_eq!(posted[0].body["authorization_reference"], "REF-1");
    assert_eq!(posted[0].body["cdr_token"]["uid"], "1111ABCD");
    assert_eq!(
        posted[0].body["tariffs"][0]["id"], "DEFAULT",
        "{:?}",
        posted[0].body
    );
    // A CDR at an EVSE the view does not hold has no OCPI location: refused with 022.
    cdr["SessionID"] = json!("c0ffee00-0000-4000-8000-000000000001");
    cdr["EvseID"] = json!("DE*GEF*E999999*1");
    cdr["HubProviderID"] = json!("NL-XYZ");
    let refused = backend_call(
        &cpo,
        "/cdrmgmt/v22/operators/DE*GEF/charge-detail-record",
        &cdr,
    )
    .await;
    assert_eq!(refused["Result"], false, "{refused}");
    assert_eq!(refused["StatusCode"]["Code"], "022");
    cpo.stop().await;
    partner.stop().await;
}

#[actix_web::test]
async fn a_session_started_by_an_ocpi_command_reports_back_to_the_emsp() {
    // Our eMSP node (EMP backend double) sends START_SESSION to our CPO node (CPO backend
    // double); the CPO backend's notifications then reach the EMP backend as OICP again.
    let cpo_backend = Double::start().await;
    cpo_backend.answer(
        "authorize-remote/start",
        json!({"Result": true, "StatusCode": {"Code": "000"}}),
    );
    let emp_backend = Double::start().await;
    let cpo = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\nbackend = \"{}\"\nbackend_token = \"cpo-backend\"\n",
        cpo_backend.url()
    ))
    .await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"{}\"\nbackend_token = \"emp-backend\"\n",
        emp_backend.url()
    ))
    .await;
    let token_a = cpo.token_a(None).await;
    let registered = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(registered.status, 201, "{registered:?}");
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(1, 1),
    )
    .await;
    // The Location reaches the eMSP side first (it resolves the EvseID of the remote start).
    for _ in 0..200 {
        let found = emp
            .state
            .store
            .ocpi_emsp_find_evse("DE", "GEF", "DEGEFE0000001")
            .await
            .unwrap();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sid = "d4c3b2a1-1111-4222-8333-944455556666";
    let started = post(
        &format!(
            "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
            emp.url()
        ),
        Some("emp-backend"),
        &json!({"ProviderID": "DE-GDF", "EvseID": "DE*GEF*E000000*1", "SessionID": sid,
                "Identification": {"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}}}),
    )
    .await;
    assert_eq!(started.body["Result"], true, "{:?}", started.body);
    let mut n = notification("Start");
    n["SessionID"] = json!(sid);
    n["Identification"] = json!({"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}});
    let a = backend_call(&cpo, "/notificationmgmt/v11/charging-notifications", &n).await;
    assert_eq!(a["Result"], true, "{a}");
    let told = emp_backend.wait_for("charging-notifications", 1).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].body["Type"], "Start");
    assert_eq!(told[0].body["SessionID"], sid);
    // The Session names the eMSP's reference and token.
    let auth = token(&emp.connection(&cpo_id()).unwrap().token_out);
    let sessions = get(&cpo, "/ocpi/2.2.1/sessions", &auth).await;
    let s = &sessions.body["data"][0];
    assert_eq!(s["authorization_reference"], sid, "{sessions:?}");
    assert_eq!(s["cdr_token"]["contract_id"], "DE-GDF-C12345678-X");
    assert_eq!(s["cdr_token"]["type"], "APP_USER");
    cpo.stop().await;
    emp.stop().await;
    cpo_backend.stop().await;
    emp_backend.stop().await;
}
