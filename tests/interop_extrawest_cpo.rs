//! Interoperability of our OCPI CPO side with the extrawest-ocpi peer
//! (`tests/support/ocpi_peer.rs`): we register with it and push a Location to its locations
//! Receiver (refused by its deviation D10; accepted with `omit_energy_mix`, followed by an EVSE
//! status change), our CPO backend's `AuthorizeStart` is authorized at it in real time, and a
//! second peer registers with us and reads our Locations with pagination through its client.
//! Skipped (with a line saying so) when `ROAMBRIDGE_OCPI_PEER_PYTHON` is unset.

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
    ocpi_peer::admin_post(node.port, path, body).await
}

async fn push(node: &Node, path: &str, body: &Value) {
    let a = post(&format!("{}{path}", node.url()), Some("cpo-backend"), body).await;
    assert_eq!(a.body["Result"], true, "{:?}", a.body);
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
    let r = peer.received_until(|_| true).await;
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

/// The CPO backend's `AuthorizeStart` for an RFID card at the first EVSE.
async fn authorize(node: &Node, uid: &str) -> Value {
    let a = post(
        &format!(
            "{}/charging/v21/operators/DE*GEF/authorize/start",
            node.url()
        ),
        Some("cpo-backend"),
        &json!({"OperatorID": "DE*GEF", "EvseID": "DE*GEF*E000000*1",
                "Identification": {"RFIDMifareFamilyIdentification": {"UID": uid}}}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

#[actix_web::test]
async fn extrawest_accepts_our_location_without_energy_mix_a_status_change_and_authorizes_a_token()
{
    let options = PeerOptions {
        token_a: vec!["cpo-rta-token-a".to_owned()],
        roles: Some("emsp".to_owned()),
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("cpo authorize", &options).await else {
        return;
    };
    // `omit_energy_mix` works around its deviation D10.
    let node = Node::start(&format!(
        "{CPO}\n[[peer]]\nrole = \"emp\"\nid = \"NL-XWP\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n[peer.ocpi]\nomit_energy_mix = true\n",
        peer.versions_url()
    ))
    .await;
    let (status, body) = admin(
        &node,
        "/admin/ocpi/register",
        &json!({"versions_url": peer.versions_url(), "token": "cpo-rta-token-a"}),
    )
    .await;
    assert_eq!(status, 201, "{body}\n{}", peer.log_tail());

    // A Location (with `RenewableEnergy`, so with an `energy_mix` in our view) and then a
    // status change of one of its EVSEs.
    push(
        &node,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &evse_push::full_load(1, 2),
    )
    .await;
    let r = peer
        .received_until(|r| r["locations"].as_array().is_some_and(|l| !l.is_empty()))
        .await;
    let location = &r["locations"][0]["object"];
    assert!(location.is_object(), "{r}\n{}", peer.log_tail());
    assert!(
        location.get("energy_mix").is_none_or(Value::is_null),
        "{location}"
    );
    assert_eq!(location["evses"].as_array().unwrap().len(), 2);
    push(
        &node,
        "/evsepush/v21/operators/DE*GEF/status-records",
        &evse_push::status_update(&[(0, 1)], "Occupied"),
    )
    .await;
    let start = Instant::now();
    let patched = loop {
        let seen = peer
            .control_get("/requests?path_contains=/locations/DE/GEF/")
            .await;
        let patches: Vec<Value> = seen
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == "PATCH")
            .cloned()
            .collect();
        if !patches.is_empty() || start.elapsed() > Duration::from_secs(10) {
            break patches;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(patched.len(), 1, "{patched:?}\n{}", peer.log_tail());
    assert_eq!(patched[0]["status"], 200, "{:?}", patched[0]);
    assert!(
        patched[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/DE/GEF/DE*GEF*P000000/DE*GEF*E000000*1"),
        "{:?}",
        patched[0]
    );
    assert!(patched[0]["body"].as_str().unwrap().contains("CHARGING"));
    // Nothing became a dead letter.
    let dead = ocpi_peer::http(
        "GET",
        &format!("http://127.0.0.1:{}/admin/outbox?state=dead", node.port),
        &[("Authorization", "Bearer admin")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(dead.body, json!([]), "{}", dead.body);

    // Real-time authorization of the peer's own token, and of a token it does not know.
    let token = json!({"country_code": "NL", "party_id": "XWP", "uid": "1234ABCD", "type": "RFID",
        "contract_id": "NL-XWP-C12345678", "issuer": "XWP", "valid": true,
        "whitelist": "ALLOWED", "last_updated": "2025-01-01T00:00:00Z"});
    let put = peer.control_post("/own/tokens", &token).await;
    assert_eq!(put.status, 200, "{}", put.body);
    let allowed = authorize(&node, "1234ABCD").await;
    assert_eq!(
        allowed["AuthorizationStatus"],
        "Authorized",
        "{allowed}\n{}",
        peer.log_tail()
    );
    assert_eq!(allowed["StatusCode"]["Code"], "000");
    assert!(
        allowed["ProviderID"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("NL-XWP"),
        "{allowed}"
    );
    assert!(allowed["SessionID"].is_string());
    let r = peer
        .received_until(|r| {
            r["authorizations"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        })
        .await;
    let asked = &r["authorizations"][0];
    assert_eq!(asked["known"], true, "{asked}");
    let unknown = authorize(&node, "9999ABCD").await;
    assert_eq!(unknown["AuthorizationStatus"], "NotAuthorized", "{unknown}");
    assert_eq!(unknown["StatusCode"]["Code"], "102");
    node.stop().await;
}
