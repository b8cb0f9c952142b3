//! The CPO platform side pushes Locations and EVSE status to a connected eMSP's locations
//! Receiver through the outbox.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cpo_locations::{CPO_WITH_BACKEND, backend_push};
use crate::evse_push::{full_load, status_update};
use crate::harness::{Node, OcpiNode, Partner, Seen, ok};

/// An eMSP with a locations Receiver that accepts everything, or refuses with HTTP
/// `refuse` when set.
fn emsp(seen: &Seen, port: u16, refuse: Option<u16>) -> (u16, Vec<(String, String)>, Value) {
    let base = format!("http://127.0.0.1:{port}");
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/ocpi/versions") => {
            ok(json!([{"version": "2.2.1", "url": format!("{base}/ocpi/2.2.1")}]))
        }
        ("GET", "/ocpi/2.2.1") => ok(json!({"version": "2.2.1", "endpoints": [
            {"identifier": "credentials", "role": "RECEIVER", "url": format!("{base}/ocpi/2.2.1/credentials")},
            {"identifier": "locations", "role": "RECEIVER", "url": format!("{base}/ocpi/emsp/2.2.1/locations/")}
        ]})),
        ("POST", "/ocpi/2.2.1/credentials") => ok(json!({
            "token": "emsp-token-c",
            "url": format!("{base}/ocpi/versions"),
            "roles": [{"role": "EMSP", "business_details": {"name": "eMSP"}, "party_id": "XYZ", "country_code": "NL"}]
        })),
        (_, p) if p.starts_with("/ocpi/emsp/2.2.1/locations/") => match refuse {
            Some(http) => (http, Vec::new(), json!({"status_code": 2001})),
            None => ok(Value::Null),
        },
        _ => (404, Vec::new(), Value::Null),
    }
}

async fn wait_for(partner: &Partner, n: usize, what: &str) -> Vec<Seen> {
    let start = Instant::now();
    loop {
        let seen: Vec<Seen> = partner
            .seen()
            .into_iter()
            .filter(|s| s.path.starts_with("/ocpi/emsp/2.2.1/locations/") && s.method == what)
            .collect();
        if seen.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connected(refuse: Option<u16>) -> (Node, Partner) {
    let partner = Partner::start(move |s, p| emsp(s, p, refuse)).await;
    let cpo = Node::start(CPO_WITH_BACKEND).await;
    let registered = cpo.register(&partner.at("/ocpi/versions"), "token-a").await;
    assert_eq!(registered.status, 201, "{registered:?}");
    (cpo, partner)
}

#[actix_web::test]
async fn locations_and_status_changes_reach_the_emsp_in_order() {
    let (cpo, partner) = connected(None).await;
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(2, 2),
    )
    .await;
    let puts = wait_for(&partner, 2, "PUT").await;
    assert_eq!(puts.len(), 2, "{puts:?}");
    let put = &puts[0];
    assert_eq!(put.path, "/ocpi/emsp/2.2.1/locations/DE/GEF/DE*GEF*P000000");
    assert_eq!(put.body["id"], "DE*GEF*P000000");
    assert_eq!(put.body["evses"].as_array().unwrap().len(), 2);
    assert_eq!(
        put.body["energy_mix"]["is_green_energy"], true,
        "{:?}",
        put.body
    );
    assert_eq!(
        put.header("authorization"),
        Some(crate::harness::token("emsp-token-c").as_str())
    );
    assert_eq!(put.header("ocpi-from-party-id"), Some("GEF"));
    assert_eq!(put.header("ocpi-to-country-code"), Some("NL"));
    assert_eq!(put.header("ocpi-to-party-id"), Some("XYZ"));

    backend_push(
        &cpo,
        "/evsepush/v21/operators/DE*GEF/status-records",
        &status_update(&[(1, 1)], "Available"),
    )
    .await;
    let patches = wait_for(&partner, 1, "PATCH").await;
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(
        patches[0].path,
        "/ocpi/emsp/2.2.1/locations/DE/GEF/DE*GEF*P000001/DE*GEF*E000001*1"
    );
    assert_eq!(patches[0].body["status"], "AVAILABLE");
    assert!(patches[0].body["last_updated"].is_string());
    // The same status again changes nothing and pushes nothing.
    backend_push(
        &cpo,
        "/evsepush/v21/operators/DE*GEF/status-records",
        &status_update(&[(1, 1)], "Available"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let patched = partner
        .seen()
        .iter()
        .filter(|s| s.method == "PATCH")
        .count();
    assert_eq!(patched, 1);
    cpo.stop().await;
    partner.stop().await;
}

#[actix_web::test]
async fn a_refused_push_becomes_a_dead_letter() {
    let (cpo, partner) = connected(Some(400)).await;
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(1, 1),
    )
    .await;
    assert_eq!(wait_for(&partner, 1, "PUT").await.len(), 1);
    let start = Instant::now();
    loop {
        let dead = cpo.admin("GET", "/admin/outbox?state=dead", None).await;
        let listed = dead.body.as_array().map_or(0, Vec::len)
            + dead.body["messages"].as_array().map_or(0, Vec::len);
        if listed == 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{dead:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cpo.stop().await;
    partner.stop().await;
}

#[actix_web::test]
async fn energy_mix_is_left_out_for_a_peer_that_asks_so() {
    let partner = Partner::start(move |s, p| emsp(s, p, None)).await;
    let cpo = Node::start(&format!(
        "{CPO_WITH_BACKEND}\n[[peer]]\nrole = \"emp\"\nid = \"NL-XYZ\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n[peer.ocpi]\nomit_energy_mix = true\n",
        partner.at("/ocpi/versions")
    ))
    .await;
    let registered = cpo.register(&partner.at("/ocpi/versions"), "token-a").await;
    assert_eq!(registered.status, 201, "{registered:?}");
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(1, 1),
    )
    .await;
    let puts = wait_for(&partner, 1, "PUT").await;
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert!(
        puts[0].body.get("energy_mix").is_none(),
        "{:?}",
        puts[0].body
    );
    assert_eq!(puts[0].body["id"], "DE*GEF*P000000");
    // The Locations Sender still serves it whole.
    let c = cpo
        .connection(
            &roambridge::config::PartnerId::parse(roambridge::config::Role::Emp, "NL-XYZ").unwrap(),
        )
        .unwrap();
    let served = crate::harness::ocpi(
        "GET",
        &cpo.at("/ocpi/2.2.1/locations/DE*GEF*P000000"),
        &crate::harness::token(&c.token_in),
        None,
    )
    .await;
    assert_eq!(
        served.body["data"]["energy_mix"]["is_green_energy"], true,
        "{served:?}"
    );
    cpo.stop().await;
    partner.stop().await;
}
