//! Route rules end to end (issue 4): real nodes on 127.0.0.1 with a `[clearing_house]` that
//! points at a stand-in hub (real HTTPS, client certificates required, made in the test), peers
//! and backends played by doubles. Every route kind for CDRs, status pushes, `AuthorizeStart`
//! and remote start; the fallbacks of `direct-then-clearing-house` (timeout, unreachable,
//! unknown peer, 310/320) and none on a business answer; `both` with the hub down; requests
//! arriving from the hub; mutual TLS refused; merged pulls; the route log.

// A test binary: its helpers unwrap freely and share items between modules with `pub`.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[allow(dead_code)]
#[path = "node/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "support/hub.rs"]
mod hub;
#[allow(dead_code)]
#[path = "support/pki.rs"]
mod pki;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roambridge::config::{Config, Role};
use roambridge::node::delivery::TargetRecord;
use roambridge::oicp::v23::ids::SessionId;
use roambridge::tls;
use serde_json::{Value, json};

use harness::{Answer, Double, Node, ack, admin, dead_port, post};
use hub::Hub;
use pki::{Issued, Pki, Usage};

const CPO_BACKEND: &str = "cpo-backend-token";
const EMP_BACKEND: &str = "emp-backend-token";
const GEF_TO_GDF: &str = "gef-to-gdf";
const GDF_TO_GEF: &str = "gdf-to-gef";
const ADMIN: &str = "admin";

const CDR_PATH: &str = "/cdrmgmt/v22/operators/DE*GEF/charge-detail-record";
const STATUS_PATH: &str = "/evsepush/v21/operators/DE*GEF/status-records";
const DATA_PATH: &str = "/evsepush/v23/operators/DE*GEF/data-records";
const START_PATH: &str = "/charging/v21/operators/DE*GEF/authorize/start";
const STOP_PATH: &str = "/charging/v21/operators/DE*GEF/authorize/stop";
const REMOTE_START_PATH: &str = "/charging/v21/providers/DE-GDF/authorize-remote/start";
const PULL_STATUS_PATH: &str = "/evsepull/v21/providers/DE-GDF/status-records";
const PULL_STATUS_BY_ID_PATH: &str = "/evsepull/v21/providers/DE-GDF/status-records-by-id";

/// The delivery log key of the clearing house acting for the own CPO.
const HUB_KEY: &str = "hub:DEGEF";
const PEER_KEY: &str = "peer:DEGDF";

// --- test data ------------------------------------------------------------------------------

/// The valid request body of an operation (`tests/fixtures/oicp/valid/<op>.request.json`).
fn request(op: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/oicp/valid/{op}.request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture without the members named.
fn request_without(op: &str, members: &[&str]) -> Value {
    let mut body = request(op);
    let object = body.as_object_mut().unwrap();
    for m in members {
        object.remove(*m);
    }
    body
}

/// A CDR for the session, naming `provider` as its EMP (`HubProviderID`).
fn cdr_for(provider: &str) -> Value {
    let mut body = request("ChargeDetailRecord");
    body["HubProviderID"] = json!(provider);
    body
}

/// An `AuthorizeStart` of the CPO backend for the contract `DE-GDF-C12345678-2` (QR code), as a
/// CPO sends it: no `SessionID` (the EMP side mints it).
fn authorize_start_qr() -> Value {
    request_without("AuthorizeStart", &["SessionID", "EMPPartnerSessionID"])
}

/// An `AuthorizeStart` of the CPO backend for an RFID card (no `EvcoID`, so no provider named).
fn authorize_start_rfid(uid: &str) -> Value {
    json!({"OperatorID": "DE*GEF", "EvseID": "DE*GEF*E0001*1", "CPOPartnerSessionID": "cpo-77",
        "Identification": {"RFIDMifareFamilyIdentification": {"UID": uid}}})
}

/// An `AuthorizeStop` whose identification names the EMP DE-GDF by its contract ID.
fn authorize_stop_qr() -> Value {
    let mut body = request("AuthorizeStop");
    body["Identification"] = request("AuthorizeStart")["Identification"].clone();
    body
}

fn not_authorized(code: &str) -> Value {
    json!({"AuthorizationStatus": "NotAuthorized", "StatusCode": {"Code": code}})
}

fn authorized_with(description: &str) -> Value {
    json!({"AuthorizationStatus": "Authorized",
        "StatusCode": {"Code": "000", "Description": description}})
}

/// A remote start of the EMP backend DE-GDF for an EVSE of `operator` (the node mints the
/// `SessionID`).
fn remote_start_at(evse: &str) -> Value {
    let mut body = request_without("AuthorizeRemoteStart", &["SessionID"]);
    body["EvseID"] = json!(evse);
    body
}

// --- polling ------------------------------------------------------------------------------

/// Polls `f` every 10 ms until it holds or `within` has passed; returns whether it held.
async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > within {
            return false;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Requests the hub received whose path contains `fragment`.
fn hub_got(hub: &Hub, fragment: &str) -> Vec<hub::Received> {
    hub.received()
        .into_iter()
        .filter(|r| r.path.contains(fragment))
        .collect()
}

/// Waits (up to 5 s) until the hub received `n` requests with `fragment` in the path.
async fn hub_wait(hub: &Hub, fragment: &str, n: usize) -> Vec<hub::Received> {
    eventually(Duration::from_secs(5), || hub_got(hub, fragment).len() >= n).await;
    hub_got(hub, fragment)
}

/// The delivery record of a target (`peer:DEGDF`, `hub:DEGEF`) of a node.
fn delivery(node: &Node, key: &str) -> TargetRecord {
    node.state.delivery.log().get(key).unwrap_or_default()
}

/// Waits (up to 5 s) until the node has finished `n` deliveries to a target and nothing is
/// queued for it; returns the record.
async fn settled(node: &Node, key: &str, n: u64) -> TargetRecord {
    eventually(Duration::from_secs(5), || {
        let r = delivery(node, key);
        r.delivered + r.failed >= n && r.queued == 0
    })
    .await;
    delivery(node, key)
}

/// Waits (up to `within`) until a delivery to the target failed; returns the record.
async fn failure_recorded(node: &Node, key: &str, within: Duration) -> TargetRecord {
    eventually(within, || {
        let r = delivery(node, key);
        r.failed >= 1 || r.last.as_ref().is_some_and(|l| !l.ok)
    })
    .await;
    delivery(node, key)
}

// --- the network of a test -------------------------------------------------------------------

/// Which own party the node under test hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// CPO DE*GEF (backend token `CPO_BACKEND`).
    Cpo,
    /// EMP DE-GDF (backend token `EMP_BACKEND`).
    Emp,
}

/// How the node is configured beyond its party and `[clearing_house]`.
#[derive(Debug, Default)]
struct Build {
    /// `[routing]` and `[[route]]` tables.
    routes: String,
    /// The hub's URL points at a port nobody listens on.
    hub_down: bool,
    /// The node presents the rogue CA's client certificate to the hub.
    rogue_client: bool,
    /// More keys of `[node]` (TLS of the listener).
    node_extra: String,
    /// More keys of `[clearing_house]` (inbound credentials).
    ch_extra: String,
}

impl Build {
    fn routes(routes: &str) -> Self {
        Self {
            routes: routes.to_owned(),
            ..Self::default()
        }
    }
}

/// A node with one own party and a clearing house, the stand-in hub, the own party's backend
/// double and a double for the peer (an EMP node for a CPO node, a CPO node for an EMP node).
struct Net {
    pki: Pki,
    hub: Hub,
    node: Node,
    backend: Double,
    peer: Double,
}

fn party(role: &str, id: &str, backend: &Double, token: &str) -> String {
    format!(
        "[[party]]\nrole = \"{role}\"\nid = \"{id}\"\nbackend = \"{}\"\nbackend_token = \"{token}\"\n",
        backend.url()
    )
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

impl Net {
    async fn start(side: Side, build: Build) -> Self {
        Self::start_with(Pki::new("routing-e2e"), side, build).await
    }

    async fn start_with(pki: Pki, side: Side, build: Build) -> Self {
        let hub = Hub::start(&pki);
        let backend = Double::start().await;
        let peer = Double::start().await;
        let hub_url = if build.hub_down {
            format!("https://127.0.0.1:{}/api/oicp", dead_port())
        } else {
            hub.url()
        };
        let client = if build.rogue_client {
            &pki.rogue_client
        } else {
            &pki.node_client
        };
        let own = match side {
            Side::Cpo => party("cpo", "DE*GEF", &backend, CPO_BACKEND),
            Side::Emp => party("emp", "DE-GDF", &backend, EMP_BACKEND),
        };
        let text = format!(
            "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\nadmin_token = \"{ADMIN}\"\n\
             request_timeout_ms = 2000\n{}\n\n{own}\n[clearing_house]\nurl = \"{hub_url}\"\n\
             client_cert = \"{}\"\nclient_key = \"{}\"\ntrusted_ca = [\"{}\"]\ntimeout_ms = 2000\n{}\n\n{}\n",
            build.node_extra,
            p(&client.cert),
            p(&client.key),
            p(&pki.ca.cert),
            build.ch_extra,
            build.routes,
        );
        let file = pki.dir.write("node.toml", &text);
        let config = Config::parse(&text, file.to_str().unwrap())
            .unwrap_or_else(|e| panic!("{e}\n--- configuration:\n{text}"));
        let node = Node::from_config(config).await;
        Self {
            pki,
            hub,
            node,
            backend,
            peer,
        }
    }

    /// Registers the peer double as the EMP peer DE-GDF of a CPO node.
    fn emp_peer(&self, timeout_ms: u64) {
        self.node.add_peer(
            Role::Emp,
            "DE-GDF",
            &self.peer.url(),
            Some(GEF_TO_GDF),
            Some(GDF_TO_GEF),
            timeout_ms,
        );
    }

    /// Registers the EMP peer DE-GDF at a port nobody listens on.
    fn emp_peer_down(&self) {
        let url = format!("http://127.0.0.1:{}/api/oicp", dead_port());
        self.node
            .add_peer(Role::Emp, "DE-GDF", &url, Some(GEF_TO_GDF), None, 500);
    }

    /// Registers the peer double as the CPO peer DE*GEF of an EMP node.
    fn cpo_peer(&self) {
        self.node.add_peer(
            Role::Cpo,
            "DE*GEF",
            &self.peer.url(),
            Some(GDF_TO_GEF),
            Some(GEF_TO_GDF),
            2000,
        );
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.node.url())
    }

    /// POSTs as the own party's backend.
    async fn post_as_backend(&self, path: &str, body: &Value) -> Answer {
        let token = if self.node.state.registry.hosts(Role::Cpo) {
            CPO_BACKEND
        } else {
            EMP_BACKEND
        };
        post(&self.url(path), Some(token), body).await
    }

    async fn stop(&self) {
        self.node.stop().await;
        self.hub.stop().await;
        self.backend.stop().await;
        self.peer.stop().await;
    }
}

fn assert_ok(a: &Answer) {
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
}

/// Asserts that the hub received the CDR at the CPO's path over the node's certificate.
fn assert_hub_cdr(net: &Net, got: &[hub::Received]) {
    assert_eq!(got.len(), 1, "one CDR at the hub: {got:?}");
    assert_eq!(got[0].path, format!("/api/oicp{CDR_PATH}"));
    assert_eq!(
        got[0].body["SessionID"],
        request("ChargeDetailRecord")["SessionID"]
    );
    assert_eq!(
        got[0].client_cert.as_deref(),
        Some(net.pki.node_client.der.as_slice()),
        "the node presented its client certificate"
    );
}

fn route_rule(operation: &str, partner: &str, route: &str) -> String {
    format!(
        "[[route]]\noperation = \"{operation}\"\npartner = \"{partner}\"\nroute = \"{route}\"\n"
    )
}

// --- CDRs -------------------------------------------------------------------------------------

#[actix_web::test]
async fn cdr_route_direct_goes_to_the_peer_only() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("ChargeDetailRecord", "DE-GDF", "direct")),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let got = net.peer.wait_for("charge-detail-record", 1).await;
    let record = settled(&net.node, PEER_KEY, 1).await;

    // Assert
    assert_ok(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, format!("/api/oicp{CDR_PATH}"));
    assert_eq!((record.delivered, record.failed), (1, 0));
    assert!(net.hub.received().is_empty(), "{:?}", net.hub.received());
    assert!(net.node.state.delivery.log().get(HUB_KEY).is_none());
    net.stop().await;
}

#[actix_web::test]
async fn cdr_route_clearing_house_goes_to_the_hub_only_with_the_node_certificate() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule(
            "ChargeDetailRecord",
            "DE-GDF",
            "clearing-house",
        )),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let got = hub_wait(&net.hub, "charge-detail-record", 1).await;
    let record = settled(&net.node, HUB_KEY, 1).await;

    // Assert
    assert_ok(&a);
    assert_hub_cdr(&net, &got);
    assert_eq!((record.delivered, record.failed), (1, 0));
    assert!(net.peer.received().is_empty());
    net.stop().await;
}

#[actix_web::test]
async fn cdr_to_the_hub_is_sent_once_per_session_id() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "*", "clearing-house")),
    )
    .await;

    // Act
    let first = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let again = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    hub_wait(&net.hub, "charge-detail-record", 1).await;
    let record = settled(&net.node, HUB_KEY, 1).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    // Assert
    assert_ok(&first);
    assert_ok(&again);
    assert!(
        again.body["StatusCode"]["Description"]
            .as_str()
            .is_some_and(|d| d.contains("duplicate")),
        "{:?}",
        again.body
    );
    assert_hub_cdr(&net, &hub_got(&net.hub, "charge-detail-record"));
    assert_eq!((record.delivered, record.failed), (1, 0));
    net.stop().await;
}

#[actix_web::test]
async fn cdr_direct_then_clearing_house_with_the_peer_up_goes_to_the_peer_only() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "DE-GDF", "direct-then-clearing-house")),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let got = net.peer.wait_for("charge-detail-record", 1).await;
    let record = settled(&net.node, PEER_KEY, 1).await;

    // Assert
    assert_ok(&a);
    assert_eq!(got.len(), 1);
    assert_eq!((record.delivered, record.failed), (1, 0));
    assert!(net.hub.received().is_empty(), "{:?}", net.hub.received());
    net.stop().await;
}

#[actix_web::test]
async fn cdr_direct_then_clearing_house_with_the_peer_down_goes_to_the_hub() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "DE-GDF", "direct-then-clearing-house")),
    )
    .await;
    net.emp_peer_down();

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let got = hub_wait(&net.hub, "charge-detail-record", 1).await;

    // Assert
    assert_ok(&a);
    assert_hub_cdr(&net, &got);
    net.stop().await;
}

#[actix_web::test]
async fn cdr_direct_then_clearing_house_with_the_peer_timing_out_goes_to_the_hub() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "DE-GDF", "direct-then-clearing-house")),
    )
    .await;
    net.emp_peer(300);
    net.peer.set_delay(Some(Duration::from_secs(3)));

    // Act
    let started = Instant::now();
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let got = hub_wait(&net.hub, "charge-detail-record", 1).await;

    // Assert
    assert_ok(&a);
    assert_hub_cdr(&net, &got);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the hub got it after the peer's timeout, not after its late answer"
    );
    assert_eq!(net.peer.received_at("charge-detail-record").len(), 1);
    net.stop().await;
}

#[actix_web::test]
async fn cdr_direct_then_clearing_house_for_an_unknown_peer_goes_to_the_hub() {
    // Arrange: no peer for DE-XYZ.
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "*", "direct-then-clearing-house")),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-XYZ")).await;
    let got = hub_wait(&net.hub, "charge-detail-record", 1).await;

    // Assert
    assert_ok(&a);
    assert_hub_cdr(&net, &got);
    assert_eq!(got[0].body["HubProviderID"], "DE-XYZ");
    assert!(net.peer.received().is_empty());
    net.stop().await;
}

#[actix_web::test]
async fn cdr_direct_then_clearing_house_falls_back_on_a_320_answer() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "DE-GDF", "direct-then-clearing-house")),
    )
    .await;
    net.emp_peer(2000);
    net.peer.answer("charge-detail-record", ack(false, "320"));

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let got = hub_wait(&net.hub, "charge-detail-record", 1).await;

    // Assert
    assert_ok(&a);
    assert_hub_cdr(&net, &got);
    assert_eq!(net.peer.received_at("charge-detail-record").len(), 1);
    net.stop().await;
}

#[actix_web::test]
async fn cdr_direct_then_clearing_house_does_not_fall_back_on_a_business_refusal() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("cdr", "DE-GDF", "direct-then-clearing-house")),
    )
    .await;
    net.emp_peer(2000);
    net.peer.answer("charge-detail-record", ack(false, "019"));

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let record = settled(&net.node, PEER_KEY, 1).await;

    // Assert
    assert_ok(&a);
    assert_eq!((record.delivered, record.failed), (0, 1), "{record:?}");
    assert!(record.last.unwrap().detail.starts_with("019"));
    assert!(net.hub.received().is_empty(), "{:?}", net.hub.received());
    net.stop().await;
}

#[actix_web::test]
async fn cdr_route_both_goes_to_the_peer_and_the_hub() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("ChargeDetailRecord", "DE-GDF", "both")),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let at_peer = net.peer.wait_for("charge-detail-record", 1).await;
    let at_hub = hub_wait(&net.hub, "charge-detail-record", 1).await;
    let hub_record = settled(&net.node, HUB_KEY, 1).await;
    let peer_record = settled(&net.node, PEER_KEY, 1).await;

    // Assert
    assert_ok(&a);
    assert_eq!(at_peer.len(), 1);
    assert_eq!(at_peer[0].body, at_hub[0].body, "the same CDR");
    assert_hub_cdr(&net, &at_hub);
    assert_eq!((hub_record.delivered, hub_record.failed), (1, 0));
    assert_eq!((peer_record.delivered, peer_record.failed), (1, 0));
    net.stop().await;
}

#[actix_web::test]
async fn cdr_route_both_with_the_hub_down_is_accepted_and_the_failure_recorded() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build {
            hub_down: true,
            ..Build::routes(&route_rule("ChargeDetailRecord", "DE-GDF", "both"))
        },
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let at_peer = net.peer.wait_for("charge-detail-record", 1).await;
    let peer_record = settled(&net.node, PEER_KEY, 1).await;
    let hub_record = failure_recorded(&net.node, HUB_KEY, Duration::from_secs(15)).await;
    let (status, peers) = admin(
        "GET",
        &format!("http://127.0.0.1:{}/admin/peers", net.node.port),
        Some(ADMIN),
        None,
    )
    .await;

    // Assert
    assert_ok(&a);
    assert_eq!(at_peer.len(), 1);
    assert_eq!((peer_record.delivered, peer_record.failed), (1, 0));
    assert_eq!(hub_record.delivered, 0, "{hub_record:?}");
    let last = hub_record
        .last
        .as_ref()
        .expect("the hub delivery is recorded");
    assert!(!last.ok, "{hub_record:?}");
    assert!(last.detail.contains("not reachable"), "{hub_record:?}");
    assert_eq!(status, 200);
    assert_eq!(peers[0]["delivery"]["delivered"], 1, "{peers}");
    net.stop().await;
}

// --- status pushes -----------------------------------------------------------------------------

#[actix_web::test]
async fn status_push_routed_to_the_hub_for_two_providers_is_pushed_once() {
    // Arrange: two EMP peers, both routed to the hub.
    let routes = format!(
        "{}{}",
        route_rule("evse-status", "DE-GDF", "clearing-house"),
        route_rule("evse-status", "DE-ABC", "clearing-house")
    );
    let net = Net::start(Side::Cpo, Build::routes(&routes)).await;
    net.emp_peer(2000);
    let other = Double::start().await;
    net.node
        .add_peer(Role::Emp, "DE-ABC", &other.url(), None, None, 2000);

    // Act
    let a = net
        .post_as_backend(STATUS_PATH, &request("PushEvseStatus"))
        .await;
    let got = hub_wait(&net.hub, "status-records", 1).await;
    let record = settled(&net.node, HUB_KEY, 1).await;
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;

    // Assert
    assert_ok(&a);
    assert_eq!(hub_got(&net.hub, "status-records").len(), 1, "{got:?}");
    assert_eq!(got[0].path, format!("/api/oicp{STATUS_PATH}"));
    assert_eq!(got[0].body, request("PushEvseStatus"));
    assert_eq!(
        got[0].client_cert.as_deref(),
        Some(net.pki.node_client.der.as_slice())
    );
    // (The delivery log counts a status push as one message per EVSE.)
    assert!(
        record.delivered >= 1 && record.failed == 0 && record.queued == 0,
        "{record:?}"
    );
    assert!(net.peer.received().is_empty());
    assert!(other.received().is_empty());
    other.stop().await;
    net.stop().await;
}

#[actix_web::test]
async fn status_push_route_both_goes_to_the_peer_and_the_hub() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("PushEvseStatus", "DE-GDF", "both")),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net
        .post_as_backend(STATUS_PATH, &request("PushEvseStatus"))
        .await;
    let at_peer = net.peer.wait_for("status-records", 1).await;
    let at_hub = hub_wait(&net.hub, "status-records", 1).await;
    settled(&net.node, HUB_KEY, 1).await;
    settled(&net.node, PEER_KEY, 1).await;

    // Assert
    assert_ok(&a);
    assert_eq!(at_peer.len(), 1);
    assert_eq!(at_hub.len(), 1);
    assert_eq!(at_hub[0].path, format!("/api/oicp{STATUS_PATH}"));
    assert_eq!(at_peer[0].body, at_hub[0].body);
    net.stop().await;
}

#[actix_web::test]
async fn status_push_with_two_peers_falling_back_reaches_the_hub_once() {
    // Arrange: two EMP peers with direct-then-clearing-house, both down; no other EMP goes
    // through the hub, so only the fallbacks send there.
    let routes = format!(
        "{}{}",
        route_rule("evse-status", "DE-GDF", "direct-then-clearing-house"),
        route_rule("evse-status", "DE-ABC", "direct-then-clearing-house")
    );
    let net = Net::start(Side::Cpo, Build::routes(&routes)).await;
    net.emp_peer_down();
    let url = format!("http://127.0.0.1:{}/api/oicp", dead_port());
    net.node
        .add_peer(Role::Emp, "DE-ABC", &url, None, None, 500);
    net.hub.set_delay(Some(Duration::from_millis(300)));

    // Act
    let a = net
        .post_as_backend(STATUS_PATH, &request("PushEvseStatus"))
        .await;
    hub_wait(&net.hub, "status-records", 1).await;
    // Give a second copy time to arrive.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let got = hub_got(&net.hub, "status-records");

    // Assert
    assert_ok(&a);
    let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        (got.len(), net.hub.max_in_flight()),
        (1, 1),
        "(copies, most in flight at once): a push to the hub is for all EMPs, not one per \
         provider, and pushes go to the hub one at a time: {paths:?}"
    );
    net.stop().await;
}

#[actix_web::test]
async fn status_push_falling_back_while_the_hub_serves_the_others_reaches_the_hub_once() {
    // Arrange: every EMP direct-then-clearing-house, so the hub gets a copy for the EMPs that
    // are not peers; the one peer is down and falls back to the hub.
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule(
            "evse-status",
            "*",
            "direct-then-clearing-house",
        )),
    )
    .await;
    net.emp_peer_down();

    // Act
    let a = net
        .post_as_backend(STATUS_PATH, &request("PushEvseStatus"))
        .await;
    hub_wait(&net.hub, "status-records", 1).await;
    // Give a second copy time to arrive.
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let got = hub_got(&net.hub, "status-records");

    // Assert
    assert_ok(&a);
    assert_eq!(
        got.len(),
        1,
        "a push to the hub is for all EMPs: the fallback must not send it a second time"
    );
    net.stop().await;
}

#[actix_web::test]
async fn pushes_to_the_hub_go_one_at_a_time() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes("[routing]\ndefault = \"clearing-house\"\n"),
    )
    .await;
    net.hub.set_delay(Some(Duration::from_millis(200)));
    let push = request("PushEvseData");

    // Act
    for _ in 0..3 {
        assert_ok(&net.post_as_backend(DATA_PATH, &push).await);
    }
    let got = hub_wait(&net.hub, "data-records", 3).await;

    // Assert
    assert_eq!(got.len(), 3);
    assert_eq!(net.hub.max_in_flight(), 1);
    net.stop().await;
}

// --- AuthorizeStart ----------------------------------------------------------------------

#[actix_web::test]
async fn authorize_start_routed_to_the_hub_keeps_the_hub_session_id() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("AuthorizeStart", "DE-GDF", "clearing-house")),
    )
    .await;
    net.emp_peer(2000);

    // Act
    let a = net.post_as_backend(START_PATH, &authorize_start_qr()).await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    let minted = net.hub.minted();
    assert_eq!(minted.len(), 1);
    assert_eq!(
        a.body["SessionID"],
        json!(minted[0]),
        "the hub's SessionID is kept"
    );
    assert_eq!(a.body["ProviderID"], "DE-GDF");
    assert_eq!(a.body["CPOPartnerSessionID"], "cpo-session-4711");
    let got = net.hub.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, format!("/api/oicp{START_PATH}"));
    assert!(
        got[0].body.get("SessionID").is_none_or(Value::is_null),
        "the node mints no SessionID for the hub: {}",
        got[0].body
    );
    assert_eq!(
        got[0].client_cert.as_deref(),
        Some(net.pki.node_client.der.as_slice())
    );
    assert!(net.peer.received().is_empty());
    net.stop().await;
}

#[actix_web::test]
async fn authorize_start_direct_then_clearing_house_keeps_not_authorized() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule(
            "authorization",
            "DE-GDF",
            "direct-then-clearing-house",
        )),
    )
    .await;
    net.emp_peer(2000);
    net.peer.answer("authorize/start", not_authorized("102"));

    // Act
    let a = net.post_as_backend(START_PATH, &authorize_start_qr()).await;

    // Assert
    assert_eq!(a.status, 200);
    assert_eq!(a.code(), "102", "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
    assert_eq!(net.peer.received_at("authorize/start").len(), 1);
    assert!(
        net.hub.received().is_empty(),
        "no fallback on a business answer"
    );
    net.stop().await;
}

#[actix_web::test]
async fn authorize_start_direct_then_clearing_house_falls_back_on_a_peer_timeout() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule(
            "AuthorizeStart",
            "DE-GDF",
            "direct-then-clearing-house",
        )),
    )
    .await;
    net.emp_peer(300);
    net.peer.set_delay(Some(Duration::from_secs(3)));

    // Act
    let started = Instant::now();
    let a = net.post_as_backend(START_PATH, &authorize_start_qr()).await;

    // Assert
    assert_ok(&a);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    assert_eq!(a.body["SessionID"], json!(net.hub.minted()[0]));
    assert_eq!(hub_got(&net.hub, "authorize/start").len(), 1);
    assert_eq!(net.peer.received_at("authorize/start").len(), 1);
    net.stop().await;
}

#[actix_web::test]
async fn authorize_start_direct_then_clearing_house_falls_back_on_a_320_answer() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule(
            "AuthorizeStart",
            "DE-GDF",
            "direct-then-clearing-house",
        )),
    )
    .await;
    net.emp_peer(2000);
    net.peer.answer("authorize/start", not_authorized("320"));

    // Act
    let a = net.post_as_backend(START_PATH, &authorize_start_qr()).await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    assert_eq!(a.body["SessionID"], json!(net.hub.minted()[0]));
    assert_eq!(net.peer.received_at("authorize/start").len(), 1);
    net.stop().await;
}

#[actix_web::test]
async fn authorize_start_broadcast_includes_the_hub_whose_authorized_wins() {
    // Arrange: the peer is asked directly, every other EMP through the hub.
    let routes = format!(
        "[routing]\ndefault = \"clearing-house\"\n\n{}",
        route_rule("AuthorizeStart", "DE-GDF", "direct")
    );
    let net = Net::start(Side::Cpo, Build::routes(&routes)).await;
    net.emp_peer(2000);
    net.peer.answer("authorize/start", not_authorized("102"));
    let hub_session = "0aa1a5b6-1f4c-4c2b-9f59-3c1e2d4b5a69";
    net.hub.answer(
        "authorize/start",
        200,
        json!({"SessionID": hub_session, "ProviderID": "DE-XYZ",
            "AuthorizationStatus": "Authorized", "StatusCode": {"Code": "000"}}),
    );

    // Act
    let a = net
        .post_as_backend(START_PATH, &authorize_start_rfid("AABBCCDD"))
        .await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    assert_eq!(a.body["SessionID"], hub_session);
    assert_eq!(a.body["ProviderID"], "DE-XYZ");
    assert_eq!(a.body["CPOPartnerSessionID"], "cpo-77");
    assert_eq!(net.peer.received_at("authorize/start").len(), 1);
    let at_hub = hub_got(&net.hub, "authorize/start");
    assert_eq!(at_hub.len(), 1, "the hub is one candidate");
    assert_eq!(at_hub[0].path, format!("/api/oicp{START_PATH}"));
    net.stop().await;
}

// --- remote start (EMP node) -------------------------------------------------------------

#[actix_web::test]
async fn remote_start_routed_to_the_hub_returns_the_hub_ack() {
    // Arrange: no peer for DE*XYZ.
    let net = Net::start(
        Side::Emp,
        Build::routes(&route_rule(
            "AuthorizeRemoteStart",
            "DE*XYZ",
            "clearing-house",
        )),
    )
    .await;
    net.hub.answer(
        "authorize-remote/start",
        200,
        json!({"Result": true, "StatusCode": {"Code": "000", "Description": "accepted by the hub"}}),
    );

    // Act
    let a = net
        .post_as_backend(REMOTE_START_PATH, &remote_start_at("DE*XYZ*E0001*1"))
        .await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["Result"], true);
    assert_eq!(a.body["StatusCode"]["Description"], "accepted by the hub");
    let got = net.hub.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, format!("/api/oicp{REMOTE_START_PATH}"));
    assert_eq!(got[0].body["EvseID"], "DE*XYZ*E0001*1");
    assert!(got[0].body["SessionID"].is_string(), "{}", got[0].body);
    assert_eq!(a.body["SessionID"], got[0].body["SessionID"]);
    assert_eq!(
        got[0].client_cert.as_deref(),
        Some(net.pki.node_client.der.as_slice())
    );
    assert!(net.peer.received().is_empty());
    net.stop().await;
}

#[actix_web::test]
async fn remote_start_via_the_hub_records_the_session_id_the_hub_answered() {
    // Arrange
    let net = Net::start(
        Side::Emp,
        Build::routes(&route_rule(
            "AuthorizeRemoteStart",
            "DE*XYZ",
            "clearing-house",
        )),
    )
    .await;
    let hub_session = "5f2b9a7e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
    net.hub.answer(
        "authorize-remote/start",
        200,
        json!({"Result": true, "StatusCode": {"Code": "000"}, "SessionID": hub_session}),
    );

    // Act
    let a = net
        .post_as_backend(REMOTE_START_PATH, &remote_start_at("DE*XYZ*E0001*1"))
        .await;
    let recorded = net
        .node
        .state
        .store
        .session(&SessionId::parse(hub_session).unwrap())
        .await
        .unwrap();

    // Assert
    assert_ok(&a);
    assert_eq!(
        a.body["SessionID"], hub_session,
        "the hub's SessionID is kept"
    );
    let recorded = recorded.expect("the node knows the session by the hub's SessionID");
    assert_eq!(recorded.evse_id.unwrap().as_str(), "DE*XYZ*E0001*1");
    net.stop().await;
}

#[actix_web::test]
async fn remote_start_route_direct_without_a_peer_is_210() {
    // Arrange
    let net = Net::start(
        Side::Emp,
        Build::routes(&route_rule("remote", "DE*XYZ", "direct")),
    )
    .await;

    // Act
    let a = net
        .post_as_backend(REMOTE_START_PATH, &remote_start_at("DE*XYZ*E0001*1"))
        .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "210"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    assert!(net.hub.received().is_empty());
    net.stop().await;
}

// --- route both, synchronous --------------------------------------------------------------

#[actix_web::test]
async fn authorize_stop_route_both_with_the_hub_down_answers_with_the_peer() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build {
            hub_down: true,
            ..Build::routes(&route_rule("AuthorizeStop", "DE-GDF", "both"))
        },
    )
    .await;
    net.emp_peer(2000);
    net.peer.answer(
        "authorize/stop",
        authorized_with("stop accepted by the peer"),
    );

    // Act
    let a = net.post_as_backend(STOP_PATH, &authorize_stop_qr()).await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    assert_eq!(
        a.body["StatusCode"]["Description"],
        "stop accepted by the peer"
    );
    assert_eq!(net.peer.received_at("authorize/stop").len(), 1);
    net.stop().await;
}

#[actix_web::test]
async fn authorize_stop_route_both_sends_the_hub_a_copy_and_answers_with_the_peer() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build::routes(&route_rule("AuthorizeStop", "DE-GDF", "both")),
    )
    .await;
    net.emp_peer(2000);
    net.peer.answer(
        "authorize/stop",
        authorized_with("stop accepted by the peer"),
    );
    net.hub.answer(
        "authorize/stop",
        200,
        json!({"AuthorizationStatus": "NotAuthorized",
            "StatusCode": {"Code": "102", "Description": "the hub's answer"}}),
    );

    // Act
    let a = net.post_as_backend(STOP_PATH, &authorize_stop_qr()).await;

    // Assert
    assert_ok(&a);
    assert_eq!(
        a.body["StatusCode"]["Description"],
        "stop accepted by the peer"
    );
    assert_eq!(hub_got(&net.hub, "authorize/stop").len(), 1);
    assert_eq!(net.peer.received_at("authorize/stop").len(), 1);
    net.stop().await;
}

#[actix_web::test]
async fn remote_start_route_both_with_the_hub_down_answers_with_the_peer() {
    // Arrange: an EMP node with the CPO peer DE*GEF.
    let net = Net::start(
        Side::Emp,
        Build {
            hub_down: true,
            ..Build::routes(&route_rule("remote", "DE*GEF", "both"))
        },
    )
    .await;
    net.cpo_peer();
    net.peer.answer(
        "authorize-remote/start",
        json!({"Result": true, "StatusCode": {"Code": "000", "Description": "peer started"}}),
    );

    // Act
    let a = net
        .post_as_backend(REMOTE_START_PATH, &remote_start_at("DE*GEF*E0001*1"))
        .await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["StatusCode"]["Description"], "peer started");
    assert_eq!(net.peer.received_at("authorize-remote/start").len(), 1);
    net.stop().await;
}

// --- requests from the hub ------------------------------------------------------------------

/// An HTTPS POST with a client TLS configuration; the error is awc's.
async fn post_tls(
    url: &str,
    tls_config: rustls::ClientConfig,
    token: Option<&str>,
    body: &Value,
) -> Result<Answer, String> {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(Arc::new(tls_config)))
        .timeout(Duration::from_secs(10))
        .finish();
    let mut request = client
        .post(url)
        .insert_header(("Content-Type", "application/json"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request
        .send_body(serde_json::to_vec(body).unwrap())
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response.body().await.map_err(|e| e.to_string())?;
    Ok(Answer {
        status,
        process_id: None,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}

/// A CPO node whose listener speaks TLS with the certificate `node-server` of the hub's CA,
/// verifies client certificates against that CA (required or not) and knows the hub by the
/// certificate `hub-client`; returns the network and the hub's client certificate.
async fn cpo_with_tls_listener(require_client_cert: bool) -> (Net, Issued) {
    let pki = Pki::new("routing-e2e-tls");
    let server = pki.ca.issue(&pki.dir, "node-server", Usage::Server);
    let hub_client = pki.ca.issue(&pki.dir, "hub-client", Usage::Client);
    let build = Build {
        node_extra: format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\ntls_client_ca = [\"{}\"]\nrequire_client_cert = {require_client_cert}\n",
            p(&server.cert),
            p(&server.key),
            p(&pki.ca.cert)
        ),
        ch_extra: format!("inbound_client_cert = [\"{}\"]\n", p(&hub_client.cert)),
        ..Build::default()
    };
    (Net::start_with(pki, Side::Cpo, build).await, hub_client)
}

fn https_url(net: &Net, path: &str) -> String {
    format!("https://127.0.0.1:{}/api/oicp{path}", net.node.port)
}

fn client_tls(net: &Net, cert: Option<&Issued>) -> rustls::ClientConfig {
    let ca: [PathBuf; 1] = [net.pki.ca.cert.clone()];
    tls::client_config(cert.map(|c| (c.cert.as_path(), c.key.as_path())), &ca).unwrap()
}

#[actix_web::test]
async fn remote_start_from_the_hub_by_certificate_reaches_the_cpo_backend() {
    // Arrange
    let (net, hub_client) = cpo_with_tls_listener(true).await;
    let body = request("AuthorizeRemoteStart");

    // Act
    let a = post_tls(
        &https_url(&net, REMOTE_START_PATH),
        client_tls(&net, Some(&hub_client)),
        None,
        &body,
    )
    .await
    .unwrap();

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["Result"], true);
    let got = net.backend.received_at("authorize-remote/start");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, format!("/api/oicp{REMOTE_START_PATH}"));
    assert_eq!(
        got[0].body["SessionID"], body["SessionID"],
        "the hub's SessionID is kept"
    );
    assert_eq!(got[0].body["EvseID"], "DE*GEF*E0001*1");
    assert_eq!(got[0].authorization.as_deref(), None);
    assert!(net.hub.received().is_empty());
    net.stop().await;
}

#[actix_web::test]
async fn remote_start_from_the_hub_by_token_reaches_the_cpo_backend() {
    // Arrange: plain HTTP, the hub presents its inbound token.
    let net = Net::start(
        Side::Cpo,
        Build {
            ch_extra: "inbound_token = \"hub-to-gef\"\n".to_owned(),
            ..Build::default()
        },
    )
    .await;
    let body = request("AuthorizeRemoteStart");

    // Act
    let a = post(&net.url(REMOTE_START_PATH), Some("hub-to-gef"), &body).await;
    let wrong = post(&net.url(REMOTE_START_PATH), Some("not-the-hub"), &body).await;

    // Assert
    assert_ok(&a);
    let got = net.backend.received_at("authorize-remote/start");
    assert_eq!(got.len(), 1, "only the hub's request got through");
    assert_eq!(got[0].body["SessionID"], body["SessionID"]);
    assert_eq!(
        (wrong.status, wrong.code()),
        (401, "017"),
        "{:?}",
        wrong.body
    );
    net.stop().await;
}

#[actix_web::test]
async fn authorize_start_from_the_hub_reaches_the_emp_backend_with_the_hub_session_id() {
    // Arrange: an EMP node; the hub forwards a CPO's AuthorizeStart for a contract of DE-GDF.
    let net = Net::start(
        Side::Emp,
        Build {
            ch_extra: "inbound_token = \"hub-to-gdf\"\n".to_owned(),
            ..Build::default()
        },
    )
    .await;
    net.backend.answer(
        "authorize/start",
        json!({"AuthorizationStatus": "Authorized", "StatusCode": {"Code": "000"}}),
    );
    let mut body = request("AuthorizeStart");
    body["OperatorID"] = json!("DE*ABC");
    body["EvseID"] = json!("DE*ABC*E0001*1");
    let path = "/charging/v21/operators/DE*ABC/authorize/start";

    // Act
    let a = post(&net.url(path), Some("hub-to-gdf"), &body).await;

    // Assert
    assert_ok(&a);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    assert_eq!(a.body["SessionID"], body["SessionID"]);
    let got = net.backend.received_at("authorize/start");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, format!("/api/oicp{path}"));
    assert_eq!(
        got[0].body["SessionID"], body["SessionID"],
        "the hub's SessionID is kept"
    );
    assert!(
        net.hub.received().is_empty(),
        "nothing goes back to the hub"
    );
    net.stop().await;
}

#[actix_web::test]
async fn cdr_from_the_hub_reaches_the_emp_backend() {
    // Arrange
    let net = Net::start(
        Side::Emp,
        Build {
            ch_extra: "inbound_token = \"hub-to-gdf\"\n".to_owned(),
            ..Build::default()
        },
    )
    .await;
    let mut body = request("ChargeDetailRecord");
    body["EvseID"] = json!("DE*ABC*E0001*1");
    body["HubOperatorID"] = json!("DE*ABC");
    let path = "/cdrmgmt/v22/operators/DE*ABC/charge-detail-record";

    // Act
    let a = post(&net.url(path), Some("hub-to-gdf"), &body).await;
    let got = net.backend.wait_for("charge-detail-record", 1).await;

    // Assert
    assert_ok(&a);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["SessionID"], body["SessionID"]);
    assert_eq!(got[0].body["EvseID"], "DE*ABC*E0001*1");
    assert!(
        net.hub.received().is_empty(),
        "nothing goes back to the hub"
    );
    net.stop().await;
}

#[actix_web::test]
async fn a_client_certificate_that_is_not_the_hubs_is_refused() {
    // Arrange: client certificates optional at TLS level.
    let (net, _hub_client) = cpo_with_tls_listener(false).await;
    let body = request("AuthorizeRemoteStart");
    let url = https_url(&net, REMOTE_START_PATH);

    // Act
    let by_rogue = post_tls(
        &url,
        client_tls(&net, Some(&net.pki.rogue_client)),
        None,
        &body,
    )
    .await;
    let same_ca_not_hub = post_tls(
        &url,
        client_tls(&net, Some(&net.pki.node_client)),
        None,
        &body,
    )
    .await;
    let anonymous = post_tls(&url, client_tls(&net, None), None, &body).await;

    // Assert
    match by_rogue {
        Err(_) => {}
        Ok(a) => assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body),
    }
    let a = same_ca_not_hub.unwrap();
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
    let a = anonymous.unwrap();
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
    assert!(net.backend.received().is_empty());
    net.stop().await;
}

#[actix_web::test]
async fn a_rogue_client_certificate_is_refused_at_tls_when_certificates_are_required() {
    // Arrange
    let (net, _hub_client) = cpo_with_tls_listener(true).await;
    let body = request("AuthorizeRemoteStart");
    let url = https_url(&net, REMOTE_START_PATH);

    // Act
    let by_rogue = post_tls(
        &url,
        client_tls(&net, Some(&net.pki.rogue_client)),
        None,
        &body,
    )
    .await;
    let anonymous = post_tls(&url, client_tls(&net, None), None, &body).await;

    // Assert
    assert!(by_rogue.is_err(), "{by_rogue:?}");
    assert!(anonymous.is_err(), "{anonymous:?}");
    assert!(net.backend.received().is_empty());
    net.stop().await;
}

// --- mutual TLS refused by the hub ----------------------------------------------------------

#[actix_web::test]
async fn cdr_to_the_hub_with_an_untrusted_client_certificate_is_not_delivered() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build {
            rogue_client: true,
            ..Build::routes(&route_rule(
                "ChargeDetailRecord",
                "DE-GDF",
                "clearing-house",
            ))
        },
    )
    .await;

    // Act
    let a = net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await;
    let record = failure_recorded(&net.node, HUB_KEY, Duration::from_secs(15)).await;

    // Assert
    assert_ok(&a);
    assert!(net.hub.received().is_empty(), "{:?}", net.hub.received());
    assert_eq!(record.delivered, 0, "{record:?}");
    let last = record.last.as_ref().expect("the failure is recorded");
    assert!(!last.ok);
    assert!(last.detail.contains("certificate"), "{record:?}");
    net.stop().await;
}

#[actix_web::test]
async fn authorize_start_to_the_hub_with_an_untrusted_client_certificate_is_320() {
    // Arrange
    let net = Net::start(
        Side::Cpo,
        Build {
            rogue_client: true,
            ..Build::routes(&route_rule("AuthorizeStart", "DE-GDF", "clearing-house"))
        },
    )
    .await;

    // Act
    let a = net.post_as_backend(START_PATH, &authorize_start_qr()).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "320"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "NotAuthorized");
    assert!(net.hub.received().is_empty());
    net.stop().await;
}

// --- merged pulls (EMP node) ----------------------------------------------------------------

/// Operator IDs of a `PullEvseStatus` answer, in order.
fn operators(answer: &Value) -> Vec<String> {
    answer["EvseStatuses"]["OperatorEvseStatus"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|o| o["OperatorID"].as_str().unwrap().to_owned())
        .collect()
}

fn operator<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["EvseStatuses"]["OperatorEvseStatus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["OperatorID"] == id)
        .unwrap_or_else(|| panic!("{id} in {answer}"))
}

#[actix_web::test]
async fn merged_status_pulls_add_the_hubs_operators_without_duplicates() {
    // Arrange: the CPO peer DE*GEF pushed its statuses to the EMP node; the hub knows DE*GEF
    // (again) and DE*XYZ.
    let net = Net::start(
        Side::Emp,
        Build::routes(&route_rule("evse-status", "*", "clearing-house")),
    )
    .await;
    net.cpo_peer();
    let pushed = post(
        &net.url(STATUS_PATH),
        Some(GEF_TO_GDF),
        &request("PushEvseStatus"),
    )
    .await;
    assert_ok(&pushed);
    net.hub.answer(
        "status-records-by-id",
        200,
        json!({"EVSEStatusRecords": {"EvseStatusRecord": [
                {"EvseID": "DE*XYZ*E0001*1", "EvseStatus": "Reserved"}]},
            "StatusCode": {"Code": "000"}}),
    );
    net.hub.answer(
        "evsepull/v21/providers/DE-GDF/status-records",
        200,
        json!({"EvseStatuses": {"OperatorEvseStatus": [
                {"OperatorID": "DE*GEF", "OperatorName": "GEF via the hub", "EvseStatusRecord": [
                    {"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Available"},
                    {"EvseID": "DE*GEF*E0009*1", "EvseStatus": "Available"}]},
                {"OperatorID": "DE*XYZ", "OperatorName": "XYZ", "EvseStatusRecord": [
                    {"EvseID": "DE*XYZ*E0001*1", "EvseStatus": "Available"}]}]},
            "StatusCode": {"Code": "000"}}),
    );

    // Act
    let all = net
        .post_as_backend(PULL_STATUS_PATH, &json!({"ProviderID": "DE-GDF"}))
        .await;
    let by_id = net
        .post_as_backend(
            PULL_STATUS_BY_ID_PATH,
            &json!({"ProviderID": "DE-GDF", "EvseID": ["DE*GEF*E0001*1", "DE*XYZ*E0001*1"]}),
        )
        .await;

    // Assert
    assert_ok(&all);
    let mut ids = operators(&all.body);
    ids.sort();
    assert_eq!(ids, ["DE*GEF", "DE*XYZ"], "{}", all.body);
    let gef = operator(&all.body, "DE*GEF")["EvseStatusRecord"].clone();
    assert_eq!(
        gef.as_array().unwrap().len(),
        5,
        "the node's own records: {gef}"
    );
    assert!(
        gef.as_array()
            .unwrap()
            .iter()
            .any(|r| r["EvseID"] == "DE*GEF*E0001*1" && r["EvseStatus"] == "Occupied"),
        "{gef}"
    );
    let xyz = &operator(&all.body, "DE*XYZ")["EvseStatusRecord"];
    assert_eq!(
        xyz,
        &json!([{"EvseID": "DE*XYZ*E0001*1", "EvseStatus": "Available"}])
    );

    assert_ok(&by_id);
    let records = by_id.body["EVSEStatusRecords"]["EvseStatusRecord"].clone();
    let status = |evse: &str| {
        records
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["EvseID"] == evse)
            .map(|r| r["EvseStatus"].clone())
    };
    assert_eq!(
        status("DE*GEF*E0001*1"),
        Some(json!("Occupied")),
        "{records}"
    );
    assert_eq!(
        status("DE*XYZ*E0001*1"),
        Some(json!("Reserved")),
        "{records}"
    );
    let asked = hub_got(&net.hub, "status-records-by-id");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].body["EvseID"],
        json!(["DE*XYZ*E0001*1"]),
        "only the EVSE the node does not know"
    );
    assert!(net.peer.received().is_empty());
    net.stop().await;
}

// --- the route log --------------------------------------------------------------------------

/// The `roambridge_requests_total` lines of `GET /metrics`.
async fn metric_lines(net: &Net) -> Vec<String> {
    let client = awc::Client::default();
    let mut response = client
        .get(format!("http://127.0.0.1:{}/metrics", net.node.port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
    text.lines()
        .filter(|l| l.starts_with("roambridge_requests_total{"))
        .map(str::to_owned)
        .collect()
}

fn has_line(lines: &[String], operation: &str, route: &str, code: &str) -> bool {
    lines.iter().any(|l| {
        l.contains(&format!("operation=\"{operation}\""))
            && l.contains(&format!("route=\"{route}\""))
            && l.contains(&format!("code=\"{code}\""))
            && l.ends_with(" 1")
    })
}

#[actix_web::test]
async fn routes_are_recorded_in_metrics_and_the_admin_api() {
    // Arrange
    let routes = format!(
        "{}{}{}",
        route_rule("ChargeDetailRecord", "DE-GDF", "clearing-house"),
        route_rule("AuthorizeStart", "DE-GDF", "clearing-house"),
        route_rule("AuthorizeStop", "DE-GDF", "direct-then-clearing-house"),
    );
    let net = Net::start(Side::Cpo, Build::routes(&routes)).await;
    net.emp_peer_down();
    net.hub
        .answer("authorize/stop", 200, authorized_with("stopped by the hub"));

    // Act
    assert_ok(&net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await);
    assert_ok(&net.post_as_backend(START_PATH, &authorize_start_qr()).await);
    assert_ok(&net.post_as_backend(STOP_PATH, &authorize_stop_qr()).await);
    let lines = metric_lines(&net).await;
    let admin_url = format!("http://127.0.0.1:{}/admin/routes", net.node.port);
    let (status, routes) = admin("GET", &admin_url, Some(ADMIN), None).await;
    let (refused, _) = admin("GET", &admin_url, Some("wrong"), None).await;

    // Assert
    assert!(
        has_line(&lines, "ChargeDetailRecord", "clearing-house", "000"),
        "{lines:#?}"
    );
    assert!(
        has_line(&lines, "AuthorizeStart", "clearing-house", "000"),
        "{lines:#?}"
    );
    assert!(
        has_line(&lines, "AuthorizeStop", "clearing-house-fallback", "000"),
        "{lines:#?}"
    );
    assert_eq!(status, 200);
    assert_eq!(routes["default"], "direct");
    assert_eq!(routes["clearing_house"], json!(net.hub.url()));
    let requests = routes["requests"].as_array().unwrap();
    for (operation, route) in [
        ("ChargeDetailRecord", "clearing-house"),
        ("AuthorizeStart", "clearing-house"),
        ("AuthorizeStop", "clearing-house-fallback"),
    ] {
        assert!(
            requests.iter().any(|r| r["operation"] == operation
                && r["route"] == route
                && r["code"] == "000"
                && r["count"] == 1),
            "{operation} {route}: {routes}"
        );
    }
    assert_eq!(refused, 401);
    net.stop().await;
}

#[actix_web::test]
async fn a_call_routed_to_the_hub_is_recorded_with_the_partner_it_was_for() {
    // Arrange
    let routes = format!(
        "{}{}",
        route_rule("ChargeDetailRecord", "DE-GDF", "clearing-house"),
        route_rule("AuthorizeStart", "DE-GDF", "clearing-house"),
    );
    let net = Net::start(Side::Cpo, Build::routes(&routes)).await;

    // Act
    assert_ok(&net.post_as_backend(CDR_PATH, &cdr_for("DE-GDF")).await);
    assert_ok(&net.post_as_backend(START_PATH, &authorize_start_qr()).await);
    let lines = metric_lines(&net).await;

    // Assert: both name the EMP DE-GDF, neither the own CPO DE*GEF.
    for operation in ["ChargeDetailRecord", "AuthorizeStart"] {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!("operation=\"{operation}\"")))
            .unwrap_or_else(|| panic!("{operation}: {lines:#?}"));
        assert!(
            line.contains("partner=\"DE-GDF\"") && line.contains("route=\"clearing-house\""),
            "{line}"
        );
    }
    net.stop().await;
}
