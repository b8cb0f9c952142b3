//! Failures: unknown peers, slow and dead peers, spoofed IDs, bad credentials and bad bodies.
//! Every failure answers with a precise code, never 000.

use std::time::{Duration, Instant};

use roambridge::config::Role;
use serde_json::json;

use crate::harness::{Double, Node, dead_port, post, post_raw};
use crate::support::{request, request_without};
use crate::topology::{CPO_BACKEND, EMP_BACKEND, GDF_TO_GEF, pair, party};

/// An EMP node DE-GDF with its backend and a CPO peer DE*GEF that is a double.
async fn emp_node_with_cpo_double(timeout_ms: u64) -> (Node, Double, Double) {
    let backend = Double::start().await;
    let cpo = Double::start().await;
    let node = Node::start(&party("emp", "DE-GDF", &backend, EMP_BACKEND)).await;
    node.add_peer(
        Role::Cpo,
        "DE*GEF",
        &cpo.url(),
        Some("to-gef"),
        Some("from-gef"),
        timeout_ms,
    );
    (node, backend, cpo)
}

/// A CPO node DE*GEF with its backend and an EMP peer DE-GDF that is a double.
async fn cpo_node_with_emp_double(timeout_ms: u64) -> (Node, Double, Double) {
    let backend = Double::start().await;
    let emp = Double::start().await;
    let node = Node::start(&party("cpo", "DE*GEF", &backend, CPO_BACKEND)).await;
    node.add_peer(
        Role::Emp,
        "DE-GDF",
        &emp.url(),
        Some("to-gdf"),
        Some("from-gdf"),
        timeout_ms,
    );
    (node, backend, emp)
}

fn remote_start_url(node: &Node) -> String {
    format!(
        "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
        node.url()
    )
}

fn status_push(operator: &str, evse: &str) -> serde_json::Value {
    json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": operator,
        "EvseStatusRecord": [{"EvseID": evse, "EvseStatus": "Available"}]}})
}

#[actix_web::test]
async fn remote_start_for_an_operator_without_peer_is_210_without_network_call() {
    // Arrange
    let (node, backend, cpo) = emp_node_with_cpo_double(500).await;
    let mut body = request_without("AuthorizeRemoteStart", &["SessionID"]);
    body["EvseID"] = json!("DE*XXX*E1*1");

    // Act
    let a = post(&remote_start_url(&node), Some(EMP_BACKEND), &body).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "210"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    assert!(cpo.received().is_empty());
    assert!(backend.received().is_empty());
}

#[actix_web::test]
async fn authorize_start_for_a_provider_without_peer_is_210_without_network_call() {
    // Arrange
    let (node, backend, emp) = cpo_node_with_emp_double(500).await;
    let mut body = request_without("AuthorizeStart", &["SessionID"]);
    body["Identification"]["QRCodeIdentification"]["EvcoID"] = json!("DE-XYZ-C12345678-2");

    // Act
    let a = post(
        &format!(
            "{}/charging/v21/operators/DE*GEF/authorize/start",
            node.url()
        ),
        Some(CPO_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "210"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
    assert!(emp.received().is_empty());
    assert!(backend.received().is_empty());
}

#[actix_web::test]
async fn authorize_stop_for_an_unknown_session_naming_no_provider_is_210() {
    // Arrange
    let (node, _backend, emp) = cpo_node_with_emp_double(500).await;

    // Act
    let a = post(
        &format!(
            "{}/charging/v21/operators/DE*GEF/authorize/stop",
            node.url()
        ),
        Some(CPO_BACKEND),
        &request("AuthorizeStop"),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "210"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
    assert!(emp.received().is_empty());
}

#[actix_web::test]
async fn a_peer_slower_than_its_timeout_is_310() {
    // Arrange
    let (node, _backend, cpo) = emp_node_with_cpo_double(300).await;
    cpo.set_delay(Some(Duration::from_millis(1500)));
    let start = Instant::now();

    // Act
    let a = post(
        &remote_start_url(&node),
        Some(EMP_BACKEND),
        &request_without("AuthorizeRemoteStart", &["SessionID"]),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "310"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(cpo.received_at("authorize-remote/start").len(), 1);
}

#[actix_web::test]
async fn an_emp_peer_slower_than_its_timeout_is_not_authorized_310() {
    // Arrange
    let (node, _backend, emp) = cpo_node_with_emp_double(300).await;
    emp.set_delay(Some(Duration::from_millis(1500)));

    // Act
    let a = post(
        &format!(
            "{}/charging/v21/operators/DE*GEF/authorize/start",
            node.url()
        ),
        Some(CPO_BACKEND),
        &request_without("AuthorizeStart", &["SessionID"]),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "310"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
}

#[actix_web::test]
async fn a_peer_that_is_down_is_320() {
    // Arrange
    let backend = Double::start().await;
    let node = Node::start(&party("emp", "DE-GDF", &backend, EMP_BACKEND)).await;
    let url = format!("http://127.0.0.1:{}/api/oicp", dead_port());
    node.add_peer(Role::Cpo, "DE*GEF", &url, None, None, 500);

    // Act
    let a = post(
        &remote_start_url(&node),
        Some(EMP_BACKEND),
        &request_without("AuthorizeRemoteStart", &["SessionID"]),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "320"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
}

#[actix_web::test]
async fn an_own_backend_that_is_down_is_320_for_the_peer() {
    // Arrange: the EMP node's backend is down when the CPO asks it to authorize.
    let p = pair().await;
    p.emp_backend.stop().await;

    // Act
    let a = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/start"),
        Some(CPO_BACKEND),
        &request_without("AuthorizeStart", &["SessionID"]),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "320"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
}

#[actix_web::test]
async fn a_backend_pushing_for_another_operator_is_401_017() {
    // Arrange
    let p = pair().await;

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE*ABC/status-records"),
        Some(CPO_BACKEND),
        &status_push("DE*ABC", "DE*ABC*E1*1"),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    let record = crate::support::delivery(&p.cpo, "peer:DEGDF");
    assert_eq!(record.queued + record.delivered + record.failed, 0);
}

#[actix_web::test]
async fn a_peer_pushing_for_another_operator_is_401_017_and_nothing_is_stored() {
    // Arrange
    let backend = Double::start().await;
    let node = Node::start(&party("emp", "DE-GDF", &backend, EMP_BACKEND)).await;
    node.add_peer(
        Role::Cpo,
        "DE*ABC",
        "http://127.0.0.1:1/api/oicp",
        None,
        Some("abc-token"),
        500,
    );

    // Act
    let a = post(
        &format!(
            "{}/evsepush/v21/operators/DE*XYZ/status-records",
            node.url()
        ),
        Some("abc-token"),
        &status_push("DE*XYZ", "DE*XYZ*E1*1"),
    )
    .await;
    let pulled = post(
        &format!(
            "{}/evsepull/v21/providers/DE-GDF/status-records-by-id",
            node.url()
        ),
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "EvseID": ["DE*XYZ*E1*1"]}),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
    assert_eq!(
        pulled.body["EVSEStatusRecords"]["EvseStatusRecord"][0]["EvseStatus"],
        "EvseNotFound"
    );
}

#[actix_web::test]
async fn a_peer_acting_for_another_provider_is_401_017() {
    // Arrange: the EMP peer DE-GDF asks the CPO node to start for DE-ABC.
    let p = pair().await;
    let mut body = request_without("AuthorizeRemoteStart", &["SessionID"]);
    body["ProviderID"] = json!("DE-ABC");

    // Act
    let a = post(
        &p.cpo_url("/charging/v21/providers/DE-ABC/authorize-remote/start"),
        Some(GDF_TO_GEF),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
    assert!(p.cpo_backend.received().is_empty());
}

#[actix_web::test]
async fn a_notification_for_another_operator_is_401_017() {
    // Arrange
    let p = pair().await;
    let mut body = request("ChargingNotificationStart");
    body["OperatorID"] = json!("DE*ABC");
    body["EvseID"] = json!("DE*ABC*E0001*1");

    // Act
    let a = post(
        &p.cpo_url("/notificationmgmt/v11/charging-notifications"),
        Some(CPO_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
}

#[actix_web::test]
async fn a_body_operator_differing_from_the_path_is_022() {
    // Arrange
    let p = pair().await;

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        &status_push("DE*ABC", "DE*ABC*E1*1"),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "022"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
}

#[actix_web::test]
async fn an_evse_of_another_operator_in_a_push_is_018() {
    // Arrange
    let p = pair().await;

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        &status_push("DE*GEF", "DE*ABC*E1*1"),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "018"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    let record = crate::support::delivery(&p.cpo, "peer:DEGDF");
    assert_eq!(record.queued + record.delivered + record.failed, 0);
}

#[actix_web::test]
async fn an_evse_of_another_operator_in_an_authorization_or_cdr_is_018() {
    // Arrange
    let p = pair().await;
    let mut start = request_without("AuthorizeStart", &["SessionID"]);
    start["EvseID"] = json!("DE*ABC*E0001*1");
    let mut cdr = request("ChargeDetailRecord");
    cdr["EvseID"] = json!("DE*ABC*E0001*1");
    cdr.as_object_mut().unwrap().remove("HubOperatorID");

    // Act
    let a = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/start"),
        Some(CPO_BACKEND),
        &start,
    )
    .await;
    let c = post(
        &p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"),
        Some(CPO_BACKEND),
        &cdr,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "018"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
    assert_eq!((c.status, c.code()), (200, "018"), "{:?}", c.body);
    assert_eq!(c.body["Result"], false);
    assert!(p.emp_backend.received().is_empty());
}

#[actix_web::test]
async fn an_evco_id_of_another_provider_in_authentication_data_is_019() {
    // Arrange
    let p = pair().await;
    let mut body = request("PushAuthenticationData");
    body["ProviderAuthenticationData"]["AuthenticationDataRecord"][4]["Identification"]["PlugAndChargeIdentification"]
        ["EvcoID"] = json!("DE-ABC-C12345678-2");

    // Act
    let a = post(
        &p.emp_url("/authdata/v21/providers/DE-GDF/push-request"),
        Some(EMP_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "019"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
}

#[actix_web::test]
async fn missing_and_unknown_credentials_are_401_017() {
    // Arrange
    let p = pair().await;
    let url = p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records");
    let body = status_push("DE*GEF", "DE*GEF*E1*1");

    // Act
    let missing = post(&url, None, &body).await;
    let unknown = post(&url, Some("who-am-i"), &body).await;
    let not_bearer = post_raw(
        &url,
        None,
        serde_json::to_vec(&body).unwrap(),
        &[("Authorization", "Basic Y3BvOng=")],
    )
    .await;

    // Assert
    for a in [&missing, &unknown, &not_bearer] {
        assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
        assert_eq!(a.body["Result"], false);
    }
}

#[actix_web::test]
async fn invalid_json_is_400_022() {
    // Arrange
    let p = pair().await;

    // Act
    let a = post_raw(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        b"{\"ActionType\": \"update\",".to_vec(),
        &[],
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (400, "022"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
}

#[actix_web::test]
async fn a_body_failing_validation_is_022_with_the_json_path() {
    // Arrange
    let p = pair().await;
    let mut body = status_push("DE*GEF", "DE*GEF*E1*1");
    body["OperatorEvseStatus"]["EvseStatusRecord"][0]["EvseStatus"] = json!("Broken");

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "022"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    let info = a.body["StatusCode"]["AdditionalInfo"]
        .as_str()
        .unwrap_or("");
    assert!(
        info.contains("$.OperatorEvseStatus.EvseStatusRecord[0].EvseStatus"),
        "{info}"
    );
}

#[actix_web::test]
async fn a_percent_encoded_path_id_works() {
    // Arrange
    let p = pair().await;

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE%2AGEF/status-records"),
        Some(CPO_BACKEND),
        &status_push("DE*GEF", "DE*GEF*E1*1"),
    )
    .await;
    let record = crate::support::deliveries_settled(&p.cpo, "peer:DEGDF", 1).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!((record.delivered, record.failed), (1, 0), "{record:?}");
}

#[actix_web::test]
async fn an_unknown_oicp_path_is_404_and_another_method_than_post_is_405() {
    // Arrange
    let p = pair().await;
    let push = status_push("DE*GEF", "DE*GEF*E1*1");
    let client = awc::Client::default();

    // Act
    let unknown = post(
        &p.cpo_url("/evsepush/v23/operators/DE*GEF/no-such-records"),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    let trailing = post(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records/"),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    let empty_id = post(
        &p.cpo_url("/evsepush/v21/operators//status-records"),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    let get = client
        .get(p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"))
        .bearer_auth(CPO_BACKEND)
        .send()
        .await
        .unwrap();

    // Assert
    assert_eq!(unknown.status, 404, "{:?}", unknown.body);
    assert_eq!(trailing.status, 404, "{:?}", trailing.body);
    assert_eq!(empty_id.status, 404, "{:?}", empty_id.body);
    assert_eq!(get.status().as_u16(), 405);
    assert_eq!(
        get.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
}

/// Sends the head of a `POST` to `path` on `port` declaring a body of `length` bytes, and
/// `body` (possibly less than declared); returns the connection.
async fn send_head(
    port: u16,
    path: &str,
    token: &str,
    length: u64,
    body: &[u8],
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/oicp{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: Bearer {token}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream
}

/// [`send_head`], then what the node answered within 5 s (empty if it answered nothing).
async fn head_only(port: u16, path: &str, token: &str, length: u64, body: &[u8]) -> String {
    use tokio::io::AsyncReadExt;
    let mut stream = send_head(port, path, token, length, body).await;
    let mut answer = Vec::new();
    let mut buf = [0_u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[actix_web::test]
async fn a_refused_request_is_answered_before_its_body_arrives() {
    // Arrange: requests that declare a 100 MB body and send none of it.
    let p = pair().await;
    let port = p.cpo.port;
    let path = "/evsepush/v21/operators/DE*GEF/status-records";
    let big = 100 * 1024 * 1024;

    // Act
    let started = Instant::now();
    let unknown_token = head_only(port, path, "no-such-token", big, b"").await;
    let other_id = head_only(
        port,
        "/evsepush/v21/operators/DE*XYZ/status-records",
        CPO_BACKEND,
        big,
        b"",
    )
    .await;
    let no_path = head_only(port, "/evsepush/v21/no-such-records", CPO_BACKEND, big, b"").await;
    let elapsed = started.elapsed();

    // Assert: each answered at once, in OICP form where OICP has one.
    assert!(unknown_token.starts_with("HTTP/1.1 401"), "{unknown_token}");
    assert!(unknown_token.contains(r#""Code":"017""#), "{unknown_token}");
    assert!(other_id.starts_with("HTTP/1.1 401"), "{other_id}");
    assert!(other_id.contains(r#""Code":"017""#), "{other_id}");
    assert!(no_path.starts_with("HTTP/1.1 404"), "{no_path}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[actix_web::test]
async fn a_body_above_the_limit_is_refused_with_413_and_022() {
    // Arrange
    let p = pair().await;
    let path = "/evsepush/v21/operators/DE*GEF/status-records";

    // Act: an accepted caller declaring 300 MB (the limit is 256 MB).
    let declared = head_only(p.cpo.port, path, CPO_BACKEND, 300 * 1024 * 1024, b"").await;
    // A body that breaks off: declared 1,000 bytes, 10 sent, then the connection closes.
    let cut = {
        drop(send_head(p.cpo.port, path, CPO_BACKEND, 1000, br#"{"Action"#).await);
        // The node is still serving others.
        post(
            &p.cpo_url(path),
            Some(CPO_BACKEND),
            &status_push("DE*GEF", "DE*GEF*E1*1"),
        )
        .await
    };

    // Assert
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    assert!(declared.contains(r#""Code":"022""#), "{declared}");
    assert!(declared.contains("larger than"), "{declared}");
    assert_eq!((cut.status, cut.code()), (200, "000"), "{:?}", cut.body);
}
