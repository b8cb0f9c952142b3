//! OCPI commands between our node and the extrawest-ocpi peer (`tests/support/ocpi_peer.rs`):
//! the peer as eMSP sends `START_SESSION` to our CPO side and receives our `CommandResult`;
//! our eMSP side sends `START_SESSION` to the peer as CPO (for the EMP backend's OICP remote
//! start) and waits for its result. Skipped (with a line saying so) when
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

use harness::{Double, Node, post};
use ocpi_peer::{OcpiPeer, PeerOptions};
use serde_json::{Value, json};

async fn admin(node: &Node, path: &str, body: &Value) -> (u16, Value) {
    ocpi_peer::admin_post(node.port, path, body).await
}

#[actix_web::test]
async fn extrawest_sends_start_session_to_our_cpo_side_and_receives_our_result() {
    let options = PeerOptions {
        roles: Some("emsp".to_owned()),
        party_id: Some("XWE".to_owned()),
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("commands to our CPO side", &options).await else {
        return;
    };
    let backend = Double::start().await;
    let node = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\nbackend = \"{}\"\nbackend_token = \"cpo-backend\"\n",
        backend.url()
    ))
    .await;
    let pushed = post(
        &format!("{}/evsepush/v23/operators/DE*GEF/data-records", node.url()),
        Some("cpo-backend"),
        &evse_push::full_load(1, 2),
    )
    .await;
    assert_eq!(pushed.body["Result"], true, "{pushed:?}");
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

    // The peer's own APP_USER token, whose contract id is an OICP EvcoID.
    let token = json!({
        "country_code": "NL", "party_id": "XWE", "uid": "APP-0001", "type": "APP_USER",
        "contract_id": "NL-XWE-C12345678-X", "issuer": "interop", "valid": true,
        "whitelist": "ALLOWED", "last_updated": "2025-03-01T10:00:00Z"
    });
    let stored = peer.control_post("/own/tokens", &token).await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    // Our commands RECEIVER is in our version details: the peer finds it there.
    let sent = peer
        .control_post(
            "/start-session",
            &json!({"location_id": "DE*GEF*P000000", "evse_uid": evse_push::evse_id(0, 2),
                    "token_uid": "APP-0001", "token_type": "APP_USER"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{}\n{}", sent.body, peer.log_tail());
    let response = &sent.body["response"];
    assert_eq!(response["status"], 200, "{response}");
    assert_eq!(response["body"]["status_code"], 1000, "{response}");
    assert_eq!(response["body"]["data"]["result"], "ACCEPTED", "{response}");
    let uid = sent.body["uid"].as_str().unwrap().to_owned();

    let received = peer
        .received_until(|r| !r["commands_sent"][&uid]["result"].is_null())
        .await;
    assert_eq!(
        received["commands_sent"][&uid]["result"]["result"],
        "ACCEPTED",
        "{received}\n{}",
        peer.log_tail()
    );
    // The backend got the OICP remote start for the EVSE (the library lower-cased the ids,
    // docs/ocpi-interop-extrawest.md D1) and the peer's provider.
    let asked = backend.received_at("authorize-remote/start");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0].path.contains("/providers/NL-XWE/"),
        "{}",
        asked[0].path
    );
    assert!(
        asked[0].body["EvseID"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&evse_push::evse_id(0, 2)),
        "{:?}",
        asked[0].body
    );
    assert!(
        asked[0].body["Identification"]["RemoteIdentification"]["EvcoID"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("NL-XWE-C12345678-X"),
        "{:?}",
        asked[0].body
    );
    node.stop().await;
    backend.stop().await;
}

#[actix_web::test]
async fn our_emsp_side_sends_start_session_to_extrawest_and_waits_for_its_result() {
    let options = PeerOptions {
        token_a: vec!["emsp-interop-token-a".to_owned()],
        roles: Some("cpo".to_owned()),
        seed_locations: 5,
        ..PeerOptions::default()
    };
    let Some(peer) = OcpiPeer::start("commands from our eMSP side", &options).await else {
        return;
    };
    let backend = Double::start().await;
    // Deviations V1 (commands RECEIVER not listed: an endpoint override) and P1 (paging by
    // offset).
    let node = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"{}\"\nbackend_token = \"emp-backend\"\n\n\
         [[peer]]\nrole = \"cpo\"\nid = \"NL*XWP\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n\
         [peer.ocpi]\npage_by_offset = true\nendpoints = [{{ module = \"commands\", role = \"RECEIVER\", url = \"{}\" }}]\n\n\
         [ocpi]\ncommand_wait_ms = 15000\n",
        backend.url(),
        peer.versions_url(),
        peer.url("/ocpi/cpo/2.2.1/commands"),
    ))
    .await;
    let (status, body) = admin(
        &node,
        "/admin/ocpi/register",
        &json!({"versions_url": peer.versions_url(), "token": "emsp-interop-token-a"}),
    )
    .await;
    assert_eq!(status, 201, "{body}\n{}", peer.log_tail());
    // The registration pulled the peer's Locations into the eMSP side.
    let start = Instant::now();
    let evse = loop {
        let found = node
            .state
            .store
            .ocpi_emsp_find_evse("NL", "XWP", "NLXWPE0000030")
            .await
            .unwrap();
        if let Some(e) = found.first() {
            break e.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no Locations pulled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let session = uuid::Uuid::new_v4().to_string();
    let answer = post(
        &format!(
            "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
            node.url()
        ),
        Some("emp-backend"),
        &json!({"ProviderID": "DE-GDF", "EvseID": "NL*XWP*E0000030", "SessionID": session,
                "Identification": {"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}}}),
    )
    .await;
    assert_eq!(
        (answer.body["Result"].as_bool(), answer.code()),
        (Some(true), "000"),
        "{:?}\n{}",
        answer.body,
        peer.log_tail()
    );
    let info = answer.body["StatusCode"]["AdditionalInfo"]
        .as_str()
        .unwrap_or_default();
    assert!(info.contains("CommandResult ACCEPTED"), "{info}");
    let received = peer.control_get("/received").await;
    let command = &received["commands_received"][0];
    assert_eq!(command["command"], "START_SESSION", "{received}");
    let body = &command["body"];
    assert!(
        body["location_id"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&evse.location_id),
        "{body}"
    );
    assert!(
        body["evse_uid"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&evse.evse_uid),
        "{body}"
    );
    assert!(
        body["authorization_reference"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&session),
        "{body}"
    );
    assert!(
        body["token"]["contract_id"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("DE-GDF-C12345678-X"),
        "{body}"
    );
    assert!(node.state.ocpi.commands.is_empty());

    // A remote start of E0000030 without SessionID, as the backend sends it.
    let start_url = format!(
        "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
        node.url()
    );
    let start_body = json!({"ProviderID": "DE-GDF", "EvseID": "NL*XWP*E0000030",
        "Identification": {"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}}});
    let start_without_session = || post(&start_url, Some("emp-backend"), &start_body);
    // The peer answering REJECTED (in its one-element list, E1) comes back as 603.
    peer.control_post("/command-behaviour", &json!({"response": "REJECTED"}))
        .await;
    let refused = start_without_session().await;
    assert_eq!(
        (refused.body["Result"].as_bool(), refused.code()),
        (Some(false), "603"),
        "{:?}",
        refused.body
    );
    // Deviation C1: a CPO application that gives no answer makes the library answer
    // status 3000 with a REJECTED CommandResponse; we count it as no response (501).
    peer.control_post("/command-behaviour", &json!({"response": null}))
        .await;
    let silent = start_without_session().await;
    assert_eq!(
        (silent.body["Result"].as_bool(), silent.code()),
        (Some(false), "501"),
        "{:?}",
        silent.body
    );
    // The peer logs a request once its answer is sent, so the log may trail our answer.
    let start = Instant::now();
    let seen = loop {
        let seen = peer
            .control_get("/requests?path_contains=/commands/START_SESSION")
            .await;
        if seen.as_array().unwrap().len() >= 3 || start.elapsed() > Duration::from_secs(10) {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(seen.as_array().unwrap().len(), 3, "{seen}");
    node.stop().await;
    backend.stop().await;
}
