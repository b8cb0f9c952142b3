//! Pulls for one operator go live to that CPO peer when a route rule names it with `direct`;
//! otherwise the node answers from its store.

use roambridge::config::Role;
use serde_json::json;

use crate::harness::{Double, Node, post};
use crate::topology::{EMP_BACKEND, party};

fn status_answer() -> serde_json::Value {
    json!({"EvseStatuses": {"OperatorEvseStatus": [{"OperatorID": "DE*GEF", "EvseStatusRecord": [
        {"EvseID": "DE*GEF*E0009*1", "EvseStatus": "Reserved"}]}]},
        "StatusCode": {"Code": "000"}})
}

async fn emp_node(rule: &str) -> (Node, Double, Double) {
    let backend = Double::start().await;
    let cpo_peer = Double::start().await;
    cpo_peer.answer("status-records-by-operator-id", status_answer());
    let node = Node::start(&format!(
        "{}{rule}",
        party("emp", "DE-GDF", &backend, EMP_BACKEND)
    ))
    .await;
    node.add_peer(
        Role::Cpo,
        "DE*GEF",
        &cpo_peer.url(),
        Some("to-gef"),
        Some("from-gef"),
        2000,
    );
    (node, backend, cpo_peer)
}

const PULL: &str = "/evsepull/v21/providers/DE-GDF/status-records-by-operator-id";

#[actix_web::test]
async fn a_rule_naming_the_cpo_sends_the_pull_to_it() {
    // Arrange
    let rule =
        "\n[[route]]\noperation = \"evse-status\"\npartner = \"DE*GEF\"\nroute = \"direct\"\n";
    let (node, _backend, cpo_peer) = emp_node(rule).await;
    let body = json!({"ProviderID": "DE-GDF", "OperatorID": ["DE*GEF"]});

    // Act
    let a = post(&format!("{}{PULL}", node.url()), Some(EMP_BACKEND), &body).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    let records = &a.body["EvseStatuses"]["OperatorEvseStatus"][0]["EvseStatusRecord"];
    assert_eq!(records[0]["EvseStatus"], "Reserved");
    let got = cpo_peer.received_at("status-records-by-operator-id");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].authorization.as_deref(), Some("Bearer to-gef"));
    assert_eq!(got[0].body["OperatorID"][0], "DE*GEF");
}

#[actix_web::test]
async fn without_a_rule_the_pull_is_answered_from_the_store() {
    // Arrange
    let (node, _backend, cpo_peer) = emp_node("").await;
    let body = json!({"ProviderID": "DE-GDF", "OperatorID": ["DE*GEF"]});

    // Act
    let a = post(&format!("{}{PULL}", node.url()), Some(EMP_BACKEND), &body).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["EvseStatuses"]["OperatorEvseStatus"], json!([]));
    assert!(cpo_peer.received().is_empty());
}
