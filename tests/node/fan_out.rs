//! A CPO node with three EMP peers: pushes fan out (one peer down), `AuthorizeStart` is
//! broadcast and the first Authorized wins.

use std::time::{Duration, Instant};

use roambridge::config::Role;
use serde_json::{Value, json};

use crate::harness::{Double, Node, admin, dead_port, post};
use crate::support::{authorize_start_rfid, authorized_by, deliveries_settled, not_authorized};
use crate::topology::{CPO_BACKEND, party};

/// A CPO node DE*GEF with EMP peers DE-AAA and DE-BBB (doubles) and DE-CCC (a double, or down
/// when `c_down`), each with `timeout_ms`. Each peer is presented the token `to-<id>`.
async fn cpo_with_three_emps(c_down: bool, timeout_ms: u64) -> (Node, [Double; 3]) {
    let backend = Double::start().await;
    let node = Node::start(&party("cpo", "DE*GEF", &backend, CPO_BACKEND)).await;
    let peers = [
        Double::start().await,
        Double::start().await,
        Double::start().await,
    ];
    for (i, (id, double)) in ["DE-AAA", "DE-BBB", "DE-CCC"]
        .iter()
        .zip(&peers)
        .enumerate()
    {
        let url = if c_down && i == 2 {
            format!("http://127.0.0.1:{}/api/oicp", dead_port())
        } else {
            double.url()
        };
        let token = format!("to-{id}");
        node.add_peer(Role::Emp, id, &url, Some(&token), None, timeout_ms);
    }
    (node, peers)
}

fn authorize_url(node: &Node) -> String {
    format!(
        "{}/charging/v21/operators/DE*GEF/authorize/start",
        node.url()
    )
}

fn peer_delivery<'a>(peers: &'a Value, id: &str) -> &'a Value {
    &peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no peer {id} in {peers}"))["delivery"]
}

#[actix_web::test]
async fn a_push_fans_out_to_every_emp_peer_and_one_down_does_not_hold_it_up() {
    // Arrange: DE-CCC is down, DE-BBB takes its time to answer.
    let (node, [a, b, c]) = cpo_with_three_emps(true, 2000).await;
    b.set_delay(Some(Duration::from_millis(600)));
    let push = json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*GEF",
        "EvseStatusRecord": [{"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Occupied"}]}});
    let start = Instant::now();

    // Act
    let answer = post(
        &format!(
            "{}/evsepush/v21/operators/DE*GEF/status-records",
            node.url()
        ),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    let answered_after = start.elapsed();
    let got_a = a.wait_for("status-records", 1).await;
    let got_b = b.wait_for("status-records", 1).await;
    deliveries_settled(&node, "peer:DEAAA", 1).await;
    deliveries_settled(&node, "peer:DEBBB", 1).await;
    let (status, peers) = admin(
        "GET",
        &format!("http://127.0.0.1:{}/admin/peers", node.port),
        Some("admin"),
        None,
    )
    .await;

    // Assert
    assert_eq!(
        (answer.status, answer.code()),
        (200, "000"),
        "{:?}",
        answer.body
    );
    assert_eq!(answer.body["Result"], true);
    assert!(
        answered_after < Duration::from_millis(500),
        "{answered_after:?}"
    );
    for (got, token) in [(&got_a, "Bearer to-DE-AAA"), (&got_b, "Bearer to-DE-BBB")] {
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].path,
            "/api/oicp/evsepush/v21/operators/DE*GEF/status-records"
        );
        assert_eq!(got[0].authorization.as_deref(), Some(token));
        assert_eq!(got[0].process_id, answer.process_id);
        assert_eq!(
            got[0].body["OperatorEvseStatus"]["EvseStatusRecord"][0]["EvseStatus"],
            "Occupied"
        );
    }
    assert!(c.received().is_empty());
    assert_eq!(status, 200);
    for id in ["DE-AAA", "DE-BBB"] {
        let d = peer_delivery(&peers, id);
        assert_eq!(
            (&d["delivered"], &d["failed"], &d["queued"]),
            (&json!(1), &json!(0), &json!(0)),
            "{id}: {d}"
        );
        assert_eq!(d["last"]["ok"], true, "{d}");
    }
    let down = peer_delivery(&peers, "DE-CCC");
    assert_eq!(down["delivered"], 0, "{down}");
    let pending = down["queued"].as_u64().unwrap() + down["failed"].as_u64().unwrap();
    assert_eq!(pending, 1, "{down}");
}

#[actix_web::test]
async fn evse_pricing_fans_out_only_the_entries_for_each_provider() {
    // Arrange
    let (node, [a, b, _c]) = cpo_with_three_emps(false, 300).await;
    let push = json!({"ActionType": "fullLoad", "EVSEPricing": [
        {"EvseID": "DE*GEF*E0001*1", "ProviderID": "DE-AAA", "EvseIDProductList": ["A"]},
        {"EvseID": "DE*GEF*E0001*1", "ProviderID": "*", "EvseIDProductList": ["ALL"]}]});

    // Act
    let answer = post(
        &format!(
            "{}/dynamicpricing/v10/operators/DE*GEF/evse-pricing",
            node.url()
        ),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    let got_a = a.wait_for("evse-pricing", 1).await;
    let got_b = b.wait_for("evse-pricing", 1).await;

    // Assert
    assert_eq!(answer.code(), "000", "{:?}", answer.body);
    let products = |got: &[crate::harness::Received]| -> Vec<String> {
        got[0].body["EVSEPricing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["EvseIDProductList"][0].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(products(&got_a), ["A", "ALL"]);
    assert_eq!(products(&got_b), ["ALL"]);
}

#[actix_web::test]
async fn a_broadcast_authorize_start_takes_the_first_authorized_answer() {
    // Arrange: DE-AAA authorizes slowly, DE-BBB refuses fast, DE-CCC does not answer in time.
    let (node, [a, b, c]) = cpo_with_three_emps(false, 1000).await;
    a.set_delay(Some(Duration::from_millis(150)));
    a.answer("authorize/start", authorized_by("DE-AAA"));
    b.answer("authorize/start", not_authorized());
    c.set_delay(Some(Duration::from_millis(1500)));
    c.answer("authorize/start", authorized_by("DE-CCC"));
    let start = Instant::now();

    // Act
    let answer = post(
        &authorize_url(&node),
        Some(CPO_BACKEND),
        &authorize_start_rfid("AABBCCDD"),
    )
    .await;

    // Assert
    assert_eq!(
        (answer.status, answer.code()),
        (200, "000"),
        "{:?}",
        answer.body
    );
    assert_eq!(answer.body["AuthorizationStatus"], "Authorized");
    assert_eq!(answer.body["ProviderID"], "DE-AAA");
    assert!(answer.body["SessionID"].is_string(), "{:?}", answer.body);
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    for (double, token) in [
        (&a, "Bearer to-DE-AAA"),
        (&b, "Bearer to-DE-BBB"),
        (&c, "Bearer to-DE-CCC"),
    ] {
        let got = double.received_at("authorize/start");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].authorization.as_deref(), Some(token));
        assert_eq!(
            got[0].body["Identification"]["RFIDMifareFamilyIdentification"]["UID"],
            "AABBCCDD"
        );
    }
}

#[actix_web::test]
async fn a_broadcast_without_any_authorized_answer_is_not_authorized_210() {
    // Arrange: two refuse, one times out.
    let (node, [a, b, c]) = cpo_with_three_emps(false, 300).await;
    a.answer("authorize/start", not_authorized());
    b.answer("authorize/start", not_authorized());
    c.set_delay(Some(Duration::from_millis(1500)));

    // Act
    let answer = post(
        &authorize_url(&node),
        Some(CPO_BACKEND),
        &authorize_start_rfid("AABBCCDD"),
    )
    .await;

    // Assert
    assert_eq!(
        (answer.status, answer.code()),
        (200, "210"),
        "{:?}",
        answer.body
    );
    assert_eq!(answer.body["AuthorizationStatus"], "NotAuthorized");
    assert!(
        answer.body.get("SessionID").is_none_or(Value::is_null),
        "{:?}",
        answer.body
    );
}

#[actix_web::test]
async fn a_broadcast_with_no_emp_peer_is_not_authorized_210() {
    // Arrange
    let backend = Double::start().await;
    let node = Node::start(&party("cpo", "DE*GEF", &backend, CPO_BACKEND)).await;

    // Act
    let answer = post(
        &authorize_url(&node),
        Some(CPO_BACKEND),
        &authorize_start_rfid("AABBCCDD"),
    )
    .await;

    // Assert
    assert_eq!(
        (answer.status, answer.code()),
        (200, "210"),
        "{:?}",
        answer.body
    );
    assert_eq!(answer.body["AuthorizationStatus"], "NotAuthorized");
    assert!(backend.received().is_empty());
}

#[actix_web::test]
async fn a_refused_push_is_not_fanned_out_and_custom_data_travels() {
    // Arrange
    let (node, [a, b, _c]) = cpo_with_three_emps(false, 300).await;
    let url = format!("{}/evsepush/v23/operators/DE*GEF/data-records", node.url());
    let mut insert = crate::support::request("PushEvseData");
    insert["ActionType"] = json!("insert");
    insert["CustomData"] = json!({"hello": "app world!"});

    // Act
    let first = post(&url, Some(CPO_BACKEND), &insert).await;
    let again = post(&url, Some(CPO_BACKEND), &insert).await;
    deliveries_settled(&node, "peer:DEAAA", 1).await;
    deliveries_settled(&node, "peer:DEBBB", 1).await;

    // Assert
    assert_eq!(first.code(), "000", "{:?}", first.body);
    assert_eq!(
        (again.status, again.code()),
        (200, "022"),
        "{:?}",
        again.body
    );
    assert_eq!(again.body["Result"], false);
    for double in [&a, &b] {
        let got = double.received_at("data-records");
        assert_eq!(got.len(), 1, "only the accepted push travels");
        assert_eq!(got[0].body["CustomData"], json!({"hello": "app world!"}));
        assert_eq!(got[0].body["ActionType"], "insert");
        assert_eq!(
            got[0].body["OperatorEvseData"]["EvseDataRecord"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
