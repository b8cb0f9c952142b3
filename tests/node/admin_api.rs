//! The admin API `/admin/peers`: list, add, update, remove, its credential, validation,
//! format-insensitive IDs, immediate effect on routing, and persistence in `SQLite`.

use roambridge::config::Config;
use serde_json::{Value, json};

use crate::harness::{Double, Node, admin, post};
use crate::support::request_without;
use crate::topology::{CPO_BACKEND, EMP_BACKEND, party};

fn peers_url(node: &Node) -> String {
    format!("http://127.0.0.1:{}/admin/peers", node.port)
}

fn emp_peer(url: &str) -> Value {
    json!({"role": "emp", "id": "DE*GDF", "url": url, "timeout_ms": 1500,
        "token": "secret-out", "inbound_token": "secret-in"})
}

async fn cpo_node() -> (Node, Double) {
    let backend = Double::start().await;
    let node = Node::start(&party("cpo", "DE*GEF", &backend, CPO_BACKEND)).await;
    (node, backend)
}

#[actix_web::test]
async fn peers_are_added_listed_updated_and_removed() {
    // Arrange
    let (node, _backend) = cpo_node().await;
    let url = peers_url(&node);

    // Act
    let (empty_status, empty) = admin("GET", &url, Some("admin"), None).await;
    let (added_status, added) = admin(
        "POST",
        &url,
        Some("admin"),
        Some(&emp_peer("http://127.0.0.1:9/api/oicp/")),
    )
    .await;
    let (listed_status, listed) = admin("GET", &url, Some("admin"), None).await;
    let mut changed = emp_peer("http://127.0.0.1:10/api/oicp");
    changed["id"] = json!("DEGDF");
    let (updated_status, updated) = admin(
        "PUT",
        &format!("{url}/emp/DE-GDF"),
        Some("admin"),
        Some(&changed),
    )
    .await;
    let (one_status, one) = admin("GET", &format!("{url}/emp/de*gdf"), Some("admin"), None).await;
    let (removed_status, _) =
        admin("DELETE", &format!("{url}/emp/DE-GDF"), Some("admin"), None).await;
    let (again_status, _) =
        admin("DELETE", &format!("{url}/emp/DE-GDF"), Some("admin"), None).await;
    let (after_status, after) = admin("GET", &url, Some("admin"), None).await;

    // Assert
    assert_eq!((empty_status, &empty), (200, &json!([])));
    assert_eq!(added_status, 201, "{added}");
    assert_eq!(added["id"], "DE*GDF");
    assert_eq!(added["role"], "emp");
    assert_eq!(added["url"], "http://127.0.0.1:9/api/oicp");
    assert_eq!(added["timeout_ms"], 1500);
    assert_eq!(
        (&added["token_set"], &added["inbound_token_set"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(listed_status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains("secret"),
        "tokens are never shown: {listed}"
    );
    assert_eq!(updated_status, 200, "{updated}");
    assert_eq!(
        (one_status, &one["url"]),
        (200, &json!("http://127.0.0.1:10/api/oicp"))
    );
    assert_eq!(removed_status, 204);
    assert_eq!(again_status, 404);
    assert_eq!((after_status, &after), (200, &json!([])));
}

#[actix_web::test]
async fn adding_an_existing_peer_in_another_spelling_is_409() {
    // Arrange
    let (node, _backend) = cpo_node().await;
    let url = peers_url(&node);
    admin(
        "POST",
        &url,
        Some("admin"),
        Some(&emp_peer("http://127.0.0.1:9")),
    )
    .await;
    let mut again = emp_peer("http://127.0.0.1:11");
    again["id"] = json!("DE-GDF");

    // Act
    let (status, body) = admin("POST", &url, Some("admin"), Some(&again)).await;

    // Assert
    assert_eq!(status, 409, "{body}");
    let (_, one) = admin("GET", &format!("{url}/emp/DE*GDF"), Some("admin"), None).await;
    assert_eq!(one["url"], "http://127.0.0.1:9");
}

#[actix_web::test]
async fn a_wrong_or_missing_admin_token_is_401() {
    // Arrange
    let (node, _backend) = cpo_node().await;
    let url = peers_url(&node);
    let peer = emp_peer("http://127.0.0.1:9");

    // Act
    let (missing, _) = admin("GET", &url, None, None).await;
    let (wrong, _) = admin("GET", &url, Some("nimda"), None).await;
    let (backend_token, _) = admin("POST", &url, Some(CPO_BACKEND), Some(&peer)).await;
    let (delete, _) = admin("DELETE", &format!("{url}/emp/DE-GDF"), Some("x"), None).await;

    // Assert
    assert_eq!(
        (missing, wrong, backend_token, delete),
        (401, 401, 401, 401)
    );
    assert!(node.state.registry.all_peers().is_empty());
}

#[actix_web::test]
async fn invalid_peers_are_400() {
    // Arrange
    let (node, _backend) = cpo_node().await;
    let url = peers_url(&node);
    let mut bad_url = emp_peer("ftp://x");
    bad_url["id"] = json!("DE-GDF");
    let mut bad_id = emp_peer("http://127.0.0.1:9");
    bad_id["id"] = json!("not an id");
    let mut bad_role = emp_peer("http://127.0.0.1:9");
    bad_role["role"] = json!("hub");
    let mut unknown_field = emp_peer("http://127.0.0.1:9");
    unknown_field["colour"] = json!("red");
    let own_party = json!({"role": "cpo", "id": "DE*GEF", "url": "http://127.0.0.1:9"});

    // Act
    let mut statuses = Vec::new();
    for body in [bad_url, bad_id, bad_role, unknown_field, own_party] {
        let (status, answer) = admin("POST", &url, Some("admin"), Some(&body)).await;
        statuses.push((status, answer["error"].is_string()));
    }
    let (path_mismatch, _) = admin(
        "PUT",
        &format!("{url}/emp/DE-XYZ"),
        Some("admin"),
        Some(&emp_peer("http://127.0.0.1:9")),
    )
    .await;

    // Assert
    assert_eq!(statuses, vec![(400, true); 5]);
    assert_eq!(path_mismatch, 400);
    assert!(node.state.registry.all_peers().is_empty());
}

#[actix_web::test]
async fn a_peer_added_at_runtime_is_used_at_once_and_a_removed_one_no_more() {
    // Arrange: an EMP node without peers and a CPO double to add.
    let backend = Double::start().await;
    let cpo = Double::start().await;
    let node = Node::start(&party("emp", "DE-GDF", &backend, EMP_BACKEND)).await;
    let url = peers_url(&node);
    let start_url = format!(
        "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
        node.url()
    );
    let start = request_without("AuthorizeRemoteStart", &["SessionID"]);
    let pull_url = format!(
        "{}/evsepush/v21/operators/DE*GEF/status-records",
        node.url()
    );
    let push = json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*GEF",
        "EvseStatusRecord": [{"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Occupied"}]}});
    let before = post(&start_url, Some(EMP_BACKEND), &start).await;
    let peer = json!({"role": "cpo", "id": "DE*GEF", "url": cpo.url(), "token": "to-gef",
        "inbound_token": "from-gef"});

    // Act
    let (added, _) = admin("POST", &url, Some("admin"), Some(&peer)).await;
    let routed = post(&start_url, Some(EMP_BACKEND), &start).await;
    let inbound = post(&pull_url, Some("from-gef"), &push).await;
    let (removed, _) = admin("DELETE", &format!("{url}/cpo/DEGEF"), Some("admin"), None).await;
    let after = post(&start_url, Some(EMP_BACKEND), &start).await;
    let inbound_after = post(&pull_url, Some("from-gef"), &push).await;

    // Assert
    assert_eq!(before.code(), "210");
    assert_eq!(added, 201);
    assert_eq!(routed.code(), "000", "{:?}", routed.body);
    let got = cpo.received_at("authorize-remote/start");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].authorization.as_deref(), Some("Bearer to-gef"));
    assert_eq!(
        (inbound.status, inbound.code()),
        (200, "000"),
        "{:?}",
        inbound.body
    );
    assert_eq!(removed, 204);
    assert_eq!(after.code(), "210");
    assert_eq!(cpo.received_at("authorize-remote/start").len(), 1);
    assert_eq!((inbound_after.status, inbound_after.code()), (401, "017"));
}

#[actix_web::test]
async fn peers_added_through_the_admin_api_survive_a_restart() {
    // Arrange
    let dir = std::env::temp_dir().join(format!(
        "roambridge-admin-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let backend = Double::start().await;
    let text = format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \"{}\"\nadmin_token = \"admin\"\n\n{}",
        dir.join("node.sqlite").display(),
        party("cpo", "DE*GEF", &backend, CPO_BACKEND)
    );
    let config = Config::parse(&text, "persist.toml").unwrap();
    let first = Node::from_config(config.clone()).await;
    let (added, _) = admin(
        "POST",
        &peers_url(&first),
        Some("admin"),
        Some(&emp_peer("http://127.0.0.1:9/api/oicp")),
    )
    .await;
    first.stop().await;
    drop(first);

    // Act
    let second = Node::from_config(config).await;
    let (status, peers) = admin("GET", &peers_url(&second), Some("admin"), None).await;
    let inbound = post(
        &format!(
            "{}/evsepull/v23/providers/DE-GDF/data-records",
            second.url()
        ),
        Some("secret-in"),
        &json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;
    second.stop().await;
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);

    // Assert
    assert_eq!(added, 201);
    assert_eq!(status, 200);
    let list = peers.as_array().unwrap();
    assert_eq!(list.len(), 1, "{peers}");
    assert_eq!(list[0]["id"], "DE*GDF");
    assert_eq!(list[0]["url"], "http://127.0.0.1:9/api/oicp");
    assert_eq!(list[0]["timeout_ms"], 1500);
    assert_eq!(
        (inbound.status, inbound.code()),
        (200, "000"),
        "{:?}",
        inbound.body
    );
}

#[actix_web::test]
async fn an_inbound_token_already_used_by_another_caller_is_409() {
    // Arrange
    let (node, _backend) = cpo_node().await;
    let url = peers_url(&node);
    let mut admin_token = emp_peer("http://127.0.0.1:9");
    admin_token["inbound_token"] = json!("admin");
    let mut backend_token = emp_peer("http://127.0.0.1:9");
    backend_token["inbound_token"] = json!(CPO_BACKEND);

    // Act
    let (as_admin, _) = admin("POST", &url, Some("admin"), Some(&admin_token)).await;
    let (as_backend, _) = admin("POST", &url, Some("admin"), Some(&backend_token)).await;

    // Assert
    assert_eq!((as_admin, as_backend), (409, 409));
    assert!(node.state.registry.all_peers().is_empty());
}
