//! The clearing-house client against a stand-in hub over real mutual TLS (certificates made
//! in the test), the `[clearing_house]` configuration and its errors, and the node side:
//! a listener that verifies client certificates and recognises the hub by its certificate.

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[path = "support/hub.rs"]
mod hub;
#[path = "support/pki.rs"]
mod pki;

use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use roambridge::clearing_house::{
    ClearingHouseClient, ClearingHouseConfig, HUBJECT_QA, HubPushQueue,
};
use roambridge::config::ConfigError;
use roambridge::oicp::v23::acknowledgement::Acknowledgement;
use roambridge::oicp::v23::authorization::AuthorizationStart;
use roambridge::oicp::v23::operations::Operation;
use roambridge::oicp::v23::status::Code;
use roambridge::peer::client::{CallError, fill_path};
use roambridge::tls;
use serde_json::{Value, json};

use hub::Hub;
use pki::{Pki, TempDir, Usage};

fn fixture(op: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/oicp/valid/{op}.request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn authorize_start_path() -> String {
    fill_path(Operation::AuthorizeStart.path_template(), "DE*GEF")
}

/// A checked configuration for the hub, written to `node.toml` in the test's folder with
/// paths relative to it.
fn hub_config(pki: &Pki, url: &str, extra: &str) -> ClearingHouseConfig {
    let text = format!(
        "[node]\nlisten = \"127.0.0.1:0\"\n\n[clearing_house]\nurl = \"{url}\"\n\
         client_cert = \"node-client.pem\"\nclient_key = \"node-client.key\"\n\
         trusted_ca = [\"hub-ca.pem\"]\n{extra}"
    );
    let file = pki.dir.write("node.toml", &text);
    ClearingHouseConfig::from_toml(&text, file.to_str().unwrap())
        .unwrap()
        .unwrap()
}

fn client(config: &ClearingHouseConfig) -> roambridge::clearing_house::HubClient {
    ClearingHouseClient::new(config).unwrap().build()
}

async fn authorize_start(
    client: &roambridge::clearing_house::HubClient,
) -> Result<AuthorizationStart, CallError> {
    client
        .call::<_, AuthorizationStart>(
            &authorize_start_path(),
            "11111111-2222-4333-8444-555555555555",
            &fixture("AuthorizeStart"),
        )
        .await
}

#[actix_web::test]
async fn call_with_the_right_client_certificate_succeeds() {
    let pki = Pki::new("ch-ok");
    let hub = Hub::start(&pki);
    let config = hub_config(&pki, &hub.url(), "");
    let answer = authorize_start(&client(&config)).await.unwrap();
    assert!(answer.is_authorized());
    let minted = hub.minted();
    assert_eq!(minted.len(), 1);
    assert_eq!(
        serde_json::to_value(&answer).unwrap()["SessionID"],
        json!(minted[0]),
        "the hub's SessionID comes back"
    );
    let received = hub.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(
        r.path,
        "/api/oicp/charging/v21/operators/DE*GEF/authorize/start"
    );
    assert_eq!(r.body, fixture("AuthorizeStart"));
    assert_eq!(
        r.process_id.as_deref(),
        Some("11111111-2222-4333-8444-555555555555")
    );
    assert!(
        r.content_type
            .as_deref()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        r.client_cert.as_deref(),
        Some(pki.node_client.der.as_slice()),
        "the hub saw the node's certificate"
    );
    hub.stop().await;
}

#[actix_web::test]
async fn acknowledgement_and_connection_reuse() {
    let pki = Pki::new("ch-ack");
    let hub = Hub::start(&pki);
    let client = client(&hub_config(&pki, &hub.url(), ""));
    let path = fill_path(Operation::PushEvseStatus.path_template(), "DE*GEF");
    for _ in 0..3 {
        let ack: Acknowledgement = client
            .call(&path, "pid", &fixture("PushEvseStatus"))
            .await
            .unwrap();
        assert!(ack.result);
    }
    assert_eq!(hub.received().len(), 3);
    hub.stop().await;
}

#[actix_web::test]
async fn wrong_client_certificate_is_refused() {
    let pki = Pki::new("ch-rogue");
    let hub = Hub::start(&pki);
    let config = ClearingHouseConfig {
        client_cert: pki.rogue_client.cert.clone(),
        client_key: pki.rogue_client.key.clone(),
        ..hub_config(&pki, &hub.url(), "")
    };
    let error = authorize_start(&client(&config)).await.unwrap_err();
    assert!(
        matches!(error, CallError::Unreachable(..)),
        "unexpected: {error:?}"
    );
    assert_eq!(error.status_code().code, Code::ServiceNotAvailable);
    assert!(
        error.to_string().contains("refused our client certificate"),
        "{error}"
    );
    assert!(hub.received().is_empty(), "the hub let nothing through");
    hub.stop().await;
}

#[actix_web::test]
async fn untrusted_server_certificate_is_refused() {
    let pki = Pki::new("ch-untrusted");
    let hub = Hub::start(&pki);
    // A CA configured, but not the one that issued the hub's certificate.
    let wrong_ca = ClearingHouseConfig {
        trusted_cas: vec![pki.rogue_ca.cert.clone()],
        ..hub_config(&pki, &hub.url(), "")
    };
    // No CA configured: the public web PKI roots, which do not include the test CA.
    let public_roots = ClearingHouseConfig {
        trusted_cas: Vec::new(),
        ..wrong_ca.clone()
    };
    for config in [wrong_ca, public_roots] {
        let error = authorize_start(&client(&config)).await.unwrap_err();
        match &error {
            CallError::Unreachable(_, why) => assert!(
                why.to_lowercase().contains("certificate"),
                "names the certificate problem: {why}"
            ),
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert!(hub.received().is_empty());
    hub.stop().await;
}

#[actix_web::test]
async fn slow_hub_is_a_timeout() {
    let pki = Pki::new("ch-slow");
    let hub = Hub::start(&pki);
    hub.set_delay(Some(Duration::from_secs(3)));
    let config = hub_config(&pki, &hub.url(), "timeout_ms = 300\n");
    let start = Instant::now();
    let error = authorize_start(&client(&config)).await.unwrap_err();
    assert!(
        matches!(error, CallError::Timeout(_, d) if d == Duration::from_millis(300)),
        "unexpected: {error:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(error.status_code().code, Code::PartnerDidNotRespond);
    assert_eq!(hub.received().len(), 1);
    hub.stop().await;
}

#[actix_web::test]
async fn hub_down_is_unreachable() {
    let pki = Pki::new("ch-down");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("https://127.0.0.1:{port}/api/oicp");
    let error = authorize_start(&client(&hub_config(&pki, &url, "")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CallError::Unreachable(..)),
        "unexpected: {error:?}"
    );
    assert_eq!(error.status_code().code, Code::ServiceNotAvailable);
}

#[actix_web::test]
async fn http_401_fault_carries_the_hubs_status() {
    let pki = Pki::new("ch-401");
    let hub = Hub::start(&pki);
    hub.answer(
        "authorize/start",
        401,
        json!({"StatusCode": {"Code": "017", "Description": "Unauthorized Access",
            "AdditionalInfo": null}, "message": "OperatorID not linked to the certificate"}),
    );
    hub.answer(
        "authorize/stop",
        403,
        json!("<html><body>403 Forbidden</body></html>"),
    );
    let client = client(&hub_config(&pki, &hub.url(), ""));
    let error = authorize_start(&client).await.unwrap_err();
    match &error {
        CallError::Http {
            http: 401,
            status: Some(s),
            ..
        } => assert_eq!(s.code, Code::UnauthorizedAccess),
        other => panic!("unexpected: {other:?}"),
    }
    assert_eq!(error.status_code().code, Code::UnauthorizedAccess);
    let stop = fill_path(Operation::AuthorizeStop.path_template(), "DE*GEF");
    let error = client
        .call::<_, Acknowledgement>(&stop, "pid", &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CallError::Http {
                http: 403,
                status: None,
                ..
            }
        ),
        "unexpected: {error:?}"
    );
    hub.stop().await;
}

#[actix_web::test]
async fn invalid_answer_is_invalid_response() {
    let pki = Pki::new("ch-invalid");
    let hub = Hub::start(&pki);
    hub.answer(
        "authorize/start",
        200,
        json!({"AuthorizationStatus": "Authorized", "StatusCode": {"Code": "102"}}),
    );
    let error = authorize_start(&client(&hub_config(&pki, &hub.url(), "")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, CallError::InvalidResponse(..)),
        "unexpected: {error:?}"
    );
    hub.stop().await;
}

#[actix_web::test]
async fn pushes_of_one_operation_go_one_at_a_time() {
    let pki = Pki::new("ch-push");
    let hub = Hub::start(&pki);
    hub.set_delay(Some(Duration::from_millis(300)));
    let shared = ClearingHouseClient::new(&hub_config(&pki, &hub.url(), "")).unwrap();
    let (a, b) = (shared.build(), shared.build());
    let path = fill_path(Operation::PushEvseStatus.path_template(), "DE*GEF");
    let key = HubPushQueue::key(Operation::PushEvseStatus, None);
    let body = fixture("PushEvseStatus");
    let (x, y) = futures_util::future::join(
        a.push::<_, Acknowledgement>(&key, &path, "p1", &body),
        b.push::<_, Acknowledgement>(&key, &path, "p2", &body),
    )
    .await;
    assert!(x.unwrap().result && y.unwrap().result);
    assert_eq!(hub.max_in_flight(), 1, "serialized");
    // Without the queue the same two calls overlap at the hub.
    let (x, y) = futures_util::future::join(
        a.call::<_, Acknowledgement>(&path, "p3", &body),
        b.call::<_, Acknowledgement>(&path, "p4", &body),
    )
    .await;
    assert!(x.unwrap().result && y.unwrap().result);
    assert_eq!(hub.max_in_flight(), 2);
    hub.stop().await;
}

// --- configuration -----------------------------------------------------------------------

/// Parses a `[clearing_house]` table written into `node.toml` in the test folder.
fn parse(dir: &TempDir, table: &str) -> Result<Option<ClearingHouseConfig>, ConfigError> {
    let text = format!("[node]\nlisten = \"127.0.0.1:0\"\n\n[clearing_house]\n{table}");
    let file = dir.write("node.toml", &text);
    ClearingHouseConfig::from_toml(&text, file.to_str().unwrap())
}

fn config_error(dir: &TempDir, table: &str) -> ConfigError {
    match parse(dir, table) {
        Err(e) => e,
        Ok(c) => panic!("accepted: {c:?}"),
    }
}

#[test]
fn config_resolves_paths_and_fingerprints() {
    let pki = Pki::new("ch-conf");
    let hub_client = pki.ca.issue(&pki.dir, "hub-client", Usage::Client);
    let config = parse(
        &pki.dir,
        "url = \"hubject-qa\"\nclient_cert = \"node-client.pem\"\n\
         client_key = \"node-client.key\"\ninbound_token = \"hub-token\"\n\
         inbound_client_cert = [\"hub-client.pem\", \"hub-client.pem\"]\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(config.url, HUBJECT_QA);
    assert_eq!(config.client_cert, pki.dir.path().join("node-client.pem"));
    assert_eq!(config.client_key, pki.dir.path().join("node-client.key"));
    assert!(config.trusted_cas.is_empty());
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert_eq!(config.inbound_token.as_deref(), Some("hub-token"));
    assert_eq!(
        config.inbound_cert_fingerprints,
        vec![tls::fingerprint(&hub_client.der)]
    );
    assert!(config.identifies(Some("hub-token"), None));
    assert!(!config.identifies(Some("other"), None));
    assert!(config.identifies(None, Some(&tls::ClientCert::from_der(&hub_client.der))));
    assert!(!config.identifies(None, Some(&tls::ClientCert::from_der(&pki.node_client.der))));
}

#[test]
fn config_without_the_table_is_none() {
    let text = "[node]\nlisten = \"127.0.0.1:0\"\n";
    assert!(
        ClearingHouseConfig::from_toml(text, "node.toml")
            .unwrap()
            .is_none()
    );
}

fn assert_error(e: &ConfigError, dir: &TempDir, key: &str, problem: &[&str]) {
    assert_eq!(
        Path::new(&e.file),
        dir.path().join("node.toml"),
        "names the file: {e}"
    );
    assert_eq!(e.key, key, "names the key: {e}");
    for p in problem {
        assert!(e.problem.contains(p), "'{p}' in the problem: {e}");
    }
}

#[test]
fn config_errors_of_certificate_and_key_name_file_key_and_problem() {
    let pki = Pki::new("ch-conf-err");
    let dir = &pki.dir;
    let ok_key = "client_key = \"node-client.key\"\n";
    let ok_cert = "client_cert = \"node-client.pem\"\n";
    let url = "url = \"https://hub.example/api/oicp\"\n";

    let e = config_error(
        dir,
        &format!("{url}client_cert = \"missing.pem\"\n{ok_key}"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.client_cert",
        &["missing.pem", "file not found"],
    );

    dir.write(
        "damaged.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB*not base64*\n-----END CERTIFICATE-----\n",
    );
    let e = config_error(
        dir,
        &format!("{url}client_cert = \"damaged.pem\"\n{ok_key}"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.client_cert",
        &["damaged.pem", "invalid PEM"],
    );

    dir.write(
        "unterminated.pem",
        pki.node_client
            .cert_pem
            .replace("-----END CERTIFICATE-----", ""),
    );
    let e = config_error(
        dir,
        &format!("{url}client_cert = \"unterminated.pem\"\n{ok_key}"),
    );
    assert_error(&e, dir, "clearing_house.client_cert", &["invalid PEM"]);

    let e = config_error(
        dir,
        &format!("{url}client_cert = \"node-client.key\"\n{ok_key}"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.client_cert",
        &["node-client.key", "no certificate", "swapped"],
    );

    let e = config_error(dir, &format!("{url}{ok_cert}"));
    assert_error(&e, dir, "clearing_house.client_key", &["missing"]);

    let e = config_error(dir, &format!("{url}{ok_cert}client_key = \"gone.key\"\n"));
    assert_error(
        &e,
        dir,
        "clearing_house.client_key",
        &["gone.key", "file not found"],
    );

    let e = config_error(
        dir,
        &format!("{url}{ok_cert}client_key = \"node-client.pem\"\n"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.client_key",
        &["node-client.pem", "no private key"],
    );

    let e = config_error(
        dir,
        &format!("{url}{ok_cert}client_key = \"rogue-client.key\"\n"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.client_key",
        &["rogue-client.key", "does not fit", "node-client.pem"],
    );
}

#[test]
fn config_errors_of_other_keys() {
    let pki = Pki::new("ch-conf-err2");
    let dir = &pki.dir;
    let ok_key = "client_key = \"node-client.key\"\n";
    let ok_cert = "client_cert = \"node-client.pem\"\n";
    let url = "url = \"https://hub.example/api/oicp\"\n";

    let e = config_error(dir, &format!("{ok_cert}{ok_key}"));
    assert_error(&e, dir, "clearing_house.url", &["missing"]);

    let e = config_error(
        dir,
        &format!("url = \"http://hub.example/api/oicp\"\n{ok_cert}{ok_key}"),
    );
    assert_error(&e, dir, "clearing_house.url", &["https://"]);

    let e = config_error(
        dir,
        &format!("{url}{ok_cert}{ok_key}trusted_ca = [\"hub-ca.pem\", \"nope.pem\"]\n"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.trusted_ca[1]",
        &["nope.pem", "file not found"],
    );

    let e = config_error(
        dir,
        &format!("{url}{ok_cert}{ok_key}inbound_client_cert = [\"hub-ca.key\"]\n"),
    );
    assert_error(
        &e,
        dir,
        "clearing_house.inbound_client_cert[0]",
        &["file not found"],
    );

    let e = config_error(dir, &format!("{url}{ok_cert}{ok_key}timeout_ms = 0\n"));
    assert_error(&e, dir, "clearing_house.timeout_ms", &["at least 1"]);

    let e = config_error(
        dir,
        &format!("{url}{ok_cert}{ok_key}inbound_token = \" \"\n"),
    );
    assert_error(&e, dir, "clearing_house.inbound_token", &["empty"]);

    let e = config_error(dir, &format!("{url}{ok_cert}{ok_key}certificate = \"x\"\n"));
    assert_error(&e, dir, "clearing_house", &["certificate"]);

    let message = config_error(
        dir,
        &format!("{url}client_cert = \"missing.pem\"\n{ok_key}"),
    )
    .to_string();
    assert!(
        message.contains("node.toml: clearing_house.client_cert: ")
            && message.ends_with("missing.pem: file not found"),
        "{message}"
    );
}

#[test]
fn tls_errors_are_precise() {
    let dir = TempDir::new("tls-err");
    let empty = dir.write("empty.pem", "");
    let e = tls::load_certs(&empty).unwrap_err();
    assert_eq!(e.path, empty);
    assert!(e.problem.contains("empty"), "{e}");
    let der = dir.write("cert.der", [0x30, 0x82, 0x01, 0x00, 0x01]);
    assert!(
        tls::load_certs(&der)
            .unwrap_err()
            .problem
            .contains("not PEM")
    );
    let encrypted = dir.write(
        "enc.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    assert!(
        tls::load_key(&encrypted)
            .unwrap_err()
            .problem
            .contains("encrypted")
    );
    let garbage_key = dir.write(
        "garbage.key",
        "-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n",
    );
    assert!(
        tls::load_key(&garbage_key)
            .unwrap_err()
            .problem
            .contains("unusable private key")
    );
    let spaced = "AB:".repeat(32);
    assert_eq!(
        tls::normalize_fingerprint(spaced.trim_end_matches(':')),
        Some("ab".repeat(32))
    );
    assert_eq!(tls::normalize_fingerprint("AB:CD"), None);
}

// --- node side: the hub calls us -----------------------------------------------------------

/// A node listener with TLS that answers with the fingerprint of the client certificate and
/// whether the configuration recognises the caller as the hub.
fn node_listener(
    tls_config: rustls::ServerConfig,
    hub: ClearingHouseConfig,
) -> (u16, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hub = web::Data::new(hub);
    let server = HttpServer::new(move || {
        App::new().app_data(hub.clone()).default_service(web::to(
            |req: HttpRequest, hub: web::Data<ClearingHouseConfig>| async move {
                let cert = tls::client_cert(&req);
                HttpResponse::Ok().json(json!({
                    "fingerprint": cert.map(|c| c.sha256_fingerprint),
                    "is_hub": hub.identifies_request(&req),
                }))
            },
        ))
    })
    .workers(1)
    .on_connect(tls::on_connect)
    .listen_rustls_0_23(listener, tls_config)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (port, handle)
}

/// POSTs to the node listener as a client with the given TLS configuration; the error is
/// awc's.
async fn call_node(
    port: u16,
    tls_config: rustls::ClientConfig,
    token: Option<&str>,
) -> Result<Value, String> {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(std::sync::Arc::new(tls_config)))
        .finish();
    let mut request = client.post(format!(
        "https://127.0.0.1:{port}/api/oicp/charging/v21/operators/DE*GEF/authorize/start"
    ));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request.send_body("{}").await.map_err(|e| e.to_string())?;
    assert_eq!(response.status(), 200);
    response.json().await.map_err(|e| e.to_string())
}

#[actix_web::test]
async fn node_listener_identifies_the_hub_by_certificate() {
    let pki = Pki::new("node-tls");
    let node_server = pki.ca.issue(&pki.dir, "node-server", Usage::Server);
    let hub_client = pki.ca.issue(&pki.dir, "hub-client", Usage::Client);
    let config = parse(
        &pki.dir,
        "url = \"hubject-qa\"\nclient_cert = \"node-client.pem\"\nclient_key = \"node-client.key\"\n\
         inbound_client_cert = [\"hub-client.pem\"]\n",
    )
    .unwrap()
    .unwrap();
    let server_tls = tls::server_config(
        &node_server.cert,
        &node_server.key,
        std::slice::from_ref(&pki.ca.cert),
        true,
    )
    .unwrap();
    let (port, handle) = node_listener(server_tls, config.clone());
    let ca = [pki.ca.cert.clone()];

    let as_hub = tls::client_config(Some((&hub_client.cert, &hub_client.key)), &ca).unwrap();
    let answer = call_node(port, as_hub, None).await.unwrap();
    assert_eq!(
        answer["fingerprint"],
        json!(config.inbound_cert_fingerprints[0])
    );
    assert_eq!(answer["is_hub"], json!(true));

    // Another certificate of the same CA gets through TLS but is not the hub.
    let as_other =
        tls::client_config(Some((&pki.node_client.cert, &pki.node_client.key)), &ca).unwrap();
    let answer = call_node(port, as_other, None).await.unwrap();
    assert_eq!(
        answer["fingerprint"],
        json!(tls::fingerprint(&pki.node_client.der))
    );
    assert_eq!(answer["is_hub"], json!(false));

    // Without a certificate, or with one from another CA, the connection is refused.
    let anonymous = tls::client_config(None, &ca).unwrap();
    call_node(port, anonymous, None).await.unwrap_err();
    let rogue =
        tls::client_config(Some((&pki.rogue_client.cert, &pki.rogue_client.key)), &ca).unwrap();
    call_node(port, rogue, None).await.unwrap_err();
    handle.stop(false).await;
}

#[actix_web::test]
async fn optional_client_certificates_let_token_callers_in() {
    let pki = Pki::new("node-tls-opt");
    let node_server = pki.ca.issue(&pki.dir, "node-server", Usage::Server);
    let config = parse(
        &pki.dir,
        "url = \"hubject-qa\"\nclient_cert = \"node-client.pem\"\nclient_key = \"node-client.key\"\n\
         inbound_token = \"hub-token\"\n",
    )
    .unwrap()
    .unwrap();
    let server_tls = tls::server_config(
        &node_server.cert,
        &node_server.key,
        std::slice::from_ref(&pki.ca.cert),
        false,
    )
    .unwrap();
    let (port, handle) = node_listener(server_tls, config);
    let ca = [pki.ca.cert.clone()];
    let answer = call_node(port, tls::client_config(None, &ca).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(answer, json!({"fingerprint": null, "is_hub": false}));
    let answer = call_node(
        port,
        tls::client_config(None, &ca).unwrap(),
        Some("hub-token"),
    )
    .await
    .unwrap();
    assert_eq!(answer, json!({"fingerprint": null, "is_hub": true}));
    // A certificate that does not verify is still refused.
    let rogue =
        tls::client_config(Some((&pki.rogue_client.cert, &pki.rogue_client.key)), &ca).unwrap();
    assert!(call_node(port, rogue, None).await.is_err());
    handle.stop(false).await;

    // Requiring client certificates without a CA to check them is a configuration error.
    let e = tls::server_config(&node_server.cert, &node_server.key, &[], true).unwrap_err();
    assert!(e.problem.contains("no CA"), "{e}");
}
