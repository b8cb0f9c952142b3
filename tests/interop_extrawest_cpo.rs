//! Interoperability of our OCPI CPO side with the extrawest-ocpi peer
//! (`tests/support/ocpi_peer.rs`): we register with it and push a Location to its locations
//! Receiver (refused by its deviation D10); a second peer registers with us and reads our Locations with
//! pagination through its client. Skipped (with a line saying so) when
//! `ROAMBRIDGE_OCPI_PEER_PYTHON` is unset.

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[path = "support/evse_push.rs"]
mod evse_push;
#[allow(dead_code)]
#[path = "node/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "support/ocpi_peer.rs"]
mod ocpi_peer;

use std::time::{Duration, Instant};

use harness::{Node, post};
use ocpi_peer::{OcpiPeer, PeerOptions};
use serde_json::{Value, json};

const CPO: &str = "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\nbackend = \"http://127.0.0.1:9\"\nbackend_token = \"cpo-backend\"\n";

async fn admin(node: &Node, path: &str, body: &Value) -> (u16, Value) {
    let reply = ocpi_peer::http(
        "POST",
        &format!("http://127.0.0.1:{}{path}", node.port),
        &[("Authorization", "Bearer admin")],
        Some(body),
    )
    .await
    .unwrap();
    (reply.status, reply.body)
}

async fn push(node: &Node, path: &str, body: &Value) {
    let a = post(&format!("{}{path}", node.url()), Some("cpo-backend"), body).await;
    assert_eq!(a.body["Result"], true, "{:?}", a.body);
}

/// Polls the peer's received objects until `done` holds (10 s at most).
async fn received_until(peer: &OcpiPeer, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let r = peer.control_get("/received").await;
        if done(&r) || start.elapsed() > Duration::from_secs(10) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn we_register_with_extrawest_and_our_location_push_meets_its_energy_mix_deviation() {
    let options = PeerOptions {
        token_a: vec!["cpo-interop-token-a".to_owned()],
        roles: Some("emsp".to_owned()),
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("cpo push", &options).await else {
        return;
    };
    let node = Node::start(CPO).await;
    let (status, body) = admin(
        &node,
        "/admin/ocpi/register",
        &json!({"versions_url": peer.versions_url(), "token": "cpo-interop-token-a"}),
    )
    .await;
    assert_eq!(status, 201, "{body}\n{}", peer.log_tail());

    // Deviation D10 (docs/ocpi-interop-extrawest.md): extrawest requires members of
    // `energy_mix` that OCPI makes optional, and every Location translated from OICP has an
    // `energy_mix` (`RenewableEnergy` is mandatory in a push). The PUT reaches it, with our
    // token and path, and is refused with 422: a dead letter.
    push(
        &node,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &evse_push::full_load(1, 2),
    )
    .await;
    let start = Instant::now();
    let dead = loop {
        let outbox = ocpi_peer::http(
            "GET",
            &format!("http://127.0.0.1:{}/admin/outbox?state=dead", node.port),
            &[("Authorization", "Bearer admin")],
            None,
        )
        .await
        .unwrap();
        if outbox.body.as_array().is_some_and(|a| !a.is_empty())
            || start.elapsed() > Duration::from_secs(10)
        {
            break outbox.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(dead[0]["path"], "PUT /DE/GEF/DE*GEF*P000000", "{dead}");
    let error = dead[0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("/ocpi/emsp/2.2.1/locations/DE/GEF/DE*GEF*P000000: HTTP 422"),
        "{error}"
    );
    let seen = peer
        .control_get("/requests?path_contains=/locations/DE/GEF/")
        .await;
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
    let r = received_until(&peer, |_| true).await;
    assert_eq!(r["locations"], json!([]));
    node.stop().await;
}

#[actix_web::test]
async fn extrawest_registers_with_us_and_reads_our_locations_page_by_page() {
    let options = PeerOptions {
        roles: Some("emsp".to_owned()),
        party_id: Some("XWE".to_owned()),
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("cpo locations", &options).await else {
        return;
    };
    let node = Node::start(CPO).await;
    push(
        &node,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &evse_push::full_load(7, 1),
    )
    .await;
    let (status, issued) = admin(&node, "/admin/ocpi/tokens", &json!({})).await;
    assert_eq!(status, 201, "{issued}");
    let versions = format!("http://127.0.0.1:{}/ocpi/versions", node.port);
    let reply = peer
        .control_post(
            "/register",
            &json!({"versions_url": versions, "token": issued["token"]}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, peer.log_tail());
    assert_eq!(node.state.ocpi.connections().len(), 1);

    let first = peer
        .control_post(
            "/call",
            &json!({"module": "locations", "role": "SENDER", "query": {"limit": 5}}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let response = &first.body["response"];
    assert_eq!(response["status"], 200, "{response}");
    assert_eq!(response["headers"]["x-total-count"], "7");
    assert_eq!(response["body"]["data"].as_array().unwrap().len(), 5);
    let link = response["headers"]["link"].as_str().unwrap();
    assert!(link.contains("offset=5&limit=5"), "{link}");
    let last = peer
        .control_post(
            "/call",
            &json!({"module": "locations", "role": "SENDER", "query": {"limit": 5, "offset": 5}}),
        )
        .await;
    let response = &last.body["response"];
    assert_eq!(
        response["body"]["data"].as_array().unwrap().len(),
        2,
        "{response}"
    );
    assert!(response["headers"]["link"].is_null(), "{response}");
    node.stop().await;
}
