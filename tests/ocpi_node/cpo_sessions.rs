//! Sessions, CDRs and Tariffs from the CPO side: the CPO backend's OICP notifications, CDR and
//! pricing products become OCPI objects, pushed through the outbox to the OCPI eMSP of the
//! session (our eMSP side, which forwards them to its OICP backend) and served by the SENDER
//! interfaces with pagination.

use serde_json::{Value, json};

use crate::cpo_authorize::{SESSION, authorize_start, cpo_and_emp, rfid};
use crate::harness::{Answer, OcpiNode, cpo_id, ocpi, token};
use crate::oicp_harness::{Node, post};

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
