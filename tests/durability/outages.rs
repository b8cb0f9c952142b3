//! Nodes in this process: a peer down for a while, coalescing, refusals and dead letters, the
//! dead-letter age, the remote start whose answer came too late, the periodic status refresh.

use std::time::Duration;

use roambridge::config::{PartnerId, Peer, Role};
use roambridge::store::TargetRef;
use serde_json::{Value, json};

use crate::harness::{
    CDR_PATH, CPO_BACKEND, Double, EMP_BACKEND, Node, STATUS_PATH, ack, admin, cdr, eventually,
    free_port, post, request, session, status_push,
};

/// A CPO node DE*GEF (backend token only) with the EMP peer DE-GDF at `peer`, and `delivery`
/// as its `[delivery]` table.
async fn cpo_node(peer: &Double, delivery: &str) -> Node {
    Node::start(&format!(
        "[delivery]\n{delivery}\n\n[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF\"\n\
         backend_token = \"{CPO_BACKEND}\"\n\n[[peer]]\nrole = \"emp\"\nid = \"DE-GDF\"\n\
         url = \"{}\"\ntimeout_ms = 1000\n",
        peer.url()
    ))
    .await
}

fn gdf() -> TargetRef {
    TargetRef::peer(PartnerId::parse(Role::Emp, "DE-GDF").unwrap())
}

async fn push(node: &Node, body: &Value) {
    let a = post(&node.url(STATUS_PATH), CPO_BACKEND, body).await;
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
}

async fn send_cdr(node: &Node, n: u32) {
    let a = post(&node.url(CDR_PATH), CPO_BACKEND, &cdr(n)).await;
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
}

/// `action [EVSE=status, …]` of each status push received, in order.
fn status_pushes(peer: &Double) -> Vec<String> {
    peer.received_at("status-records")
        .iter()
        .map(|r| {
            let records: Vec<String> = r.body["OperatorEvseStatus"]["EvseStatusRecord"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    format!(
                        "{}={}",
                        x["EvseID"].as_str().unwrap(),
                        x["EvseStatus"].as_str().unwrap()
                    )
                })
                .collect();
            format!(
                "{} [{}]",
                r.body["ActionType"].as_str().unwrap(),
                records.join(", ")
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_peer_down_for_a_while_receives_everything_in_order_once_back() {
    // Arrange
    let peer = Double::on(free_port());
    let node = cpo_node(&peer, "max_backoff_s = 1").await;

    // Act: status pushes with fullLoad and delete barriers, and CDRs, while the peer is down.
    push(&node, &status_push("update", &[("DE*GEF*E4", "Occupied")])).await;
    push(&node, &status_push("update", &[("DE*GEF*E1", "Occupied")])).await;
    send_cdr(&node, 1).await;
    push(&node, &status_push("update", &[("DE*GEF*E2", "Occupied")])).await;
    let all = [
        ("DE*GEF*E1", "Available"),
        ("DE*GEF*E2", "Available"),
        ("DE*GEF*E3", "Available"),
    ];
    push(&node, &status_push("fullLoad", &all)).await;
    send_cdr(&node, 2).await;
    push(&node, &status_push("update", &[("DE*GEF*E1", "Reserved")])).await;
    push(
        &node,
        &status_push("update", &[("DE*GEF*E3", "OutOfService")]),
    )
    .await;
    push(&node, &status_push("delete", &[("DE*GEF*E2", "Available")])).await;
    push(&node, &status_push("update", &[("DE*GEF*E2", "Occupied")])).await;
    send_cdr(&node, 3).await;
    push(&node, &status_push("update", &[("DE*GEF*E1", "Available")])).await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let while_down = node.state.store.outbox_counts(&gdf()).await.unwrap();
    peer.up();
    let cdrs = peer
        .wait_for("charge-detail-record", 3, Duration::from_secs(10))
        .await;
    let statuses_done = eventually(Duration::from_secs(10), async || {
        peer.received_at("status-records").len() >= 4
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;

    // Assert
    // Waiting: 3 CDRs, the fullLoad and the delete as messages, and one coalesced update per
    // EVSE still stored: the latest of E1 and E2 replaced their updates from before the
    // fullLoad (which carries their state of then), and E4's update went with E4, which the
    // fullLoad removed; so no update goes out before the fullLoad and only E3's between
    // fullLoad and delete.
    assert_eq!(while_down, (3 + 2 + 3, 0));
    let sessions: Vec<&str> = cdrs
        .iter()
        .map(|r| r.body["SessionID"].as_str().unwrap())
        .collect();
    assert_eq!(sessions, [session(1), session(2), session(3)]);
    assert!(statuses_done);
    assert_eq!(
        status_pushes(&peer),
        [
            "fullLoad [DE*GEF*E1=Available, DE*GEF*E2=Available, DE*GEF*E3=Available]",
            "update [DE*GEF*E3=OutOfService]",
            "delete [DE*GEF*E2=Available]",
            "update [DE*GEF*E2=Occupied, DE*GEF*E1=Available]",
        ]
    );
    assert_eq!(
        node.state.store.outbox_counts(&gdf()).await.unwrap(),
        (0, 0)
    );
    peer.down().await;
}

#[actix_web::test]
async fn a_thousand_changes_on_ten_evses_wait_as_ten_records_and_arrive_in_one_request() {
    // Arrange
    let peer = Double::on(free_port());
    let node = cpo_node(&peer, "max_backoff_s = 1").await;

    // Act
    for n in 0..1000_usize {
        let evse = format!("DE*GEF*E{}*1", n % 10);
        let state = ["Available", "Occupied", "Reserved", "OutOfService"][n % 4];
        push(&node, &status_push("update", &[(&evse, state)])).await;
    }
    let counts = node.state.store.outbox_counts(&gdf()).await.unwrap();
    let (status, pending) = admin("GET", &node.admin_url("/outbox?state=pending")).await;
    peer.up();
    let _ = peer
        .wait_for("status-records", 1, Duration::from_secs(10))
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;

    // Assert
    assert_eq!(counts, (10, 0));
    assert_eq!(status, 200);
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 10, "{pending:?}");
    assert!(pending.iter().all(|m| m["operation"] == "PushEvseStatus"
        && m["target"] == "peer:DE-GDF"
        && m["evse_id"].is_string()));
    let got = peer.received_at("status-records");
    assert_eq!(got.len(), 1, "{:?}", status_pushes(&peer));
    let records = got[0].body["OperatorEvseStatus"]["EvseStatusRecord"]
        .as_array()
        .unwrap();
    assert_eq!(records.len(), 10);
    for r in records {
        // Change n = 990 + i is the last of EVSE i.
        let i: usize = r["EvseID"].as_str().unwrap()[8..9].parse().unwrap();
        let expected = ["Available", "Occupied", "Reserved", "OutOfService"][(990 + i) % 4];
        assert_eq!(r["EvseStatus"], expected, "{r}");
    }
    assert_eq!(got[0].body["ActionType"], "update");
    assert!(got[0].process_id().is_some());
    assert_eq!(got[0].body["OperatorEvseStatus"]["OperatorName"], "GEF");
    peer.down().await;
}

#[actix_web::test]
async fn a_refused_cdr_is_a_dead_letter_until_retried_through_the_admin_api() {
    // Arrange: the peer refuses CDRs with 017 and accepts status pushes.
    let peer = Double::start();
    peer.respond(|path, _| {
        path.contains("charge-detail-record")
            .then(|| (200, ack(false, "017")))
    });
    let node = cpo_node(&peer, "max_backoff_s = 1").await;

    // Act
    send_cdr(&node, 7).await;
    push(&node, &status_push("update", &[("DE*GEF*E1", "Occupied")])).await;
    let dead_listed = eventually(Duration::from_secs(5), async || {
        let (_, dead) = admin("GET", &node.admin_url("/outbox?state=dead")).await;
        dead.as_array().is_some_and(|d| d.len() == 1)
    })
    .await;
    let statuses = peer
        .wait_for("status-records", 1, Duration::from_secs(5))
        .await;
    let (_, dead) = admin("GET", &node.admin_url("/outbox?state=dead")).await;
    let id = dead[0]["id"].as_i64().unwrap();
    let (refused_status, _) = admin(
        "POST",
        &node.admin_url(&format!("/outbox/{}/retry", id + 1000)),
    )
    .await;
    peer.accept_all();
    let (retry_status, retried) =
        admin("POST", &node.admin_url(&format!("/outbox/{id}/retry"))).await;
    let delivered = eventually(Duration::from_secs(5), async || {
        peer.cdr_receipts().get(&session(7)) == Some(&2)
    })
    .await;
    let (_, dead_after) = admin("GET", &node.admin_url("/outbox?state=dead")).await;
    let (bad_state, _) = admin("GET", &node.admin_url("/outbox?state=lost")).await;
    let (_, peers) = admin("GET", &node.admin_url("/peers")).await;

    // Assert
    assert!(dead_listed);
    assert_eq!(statuses.len(), 1, "the refusal holds nothing else back");
    let d = &dead[0];
    assert_eq!(d["operation"], "ChargeDetailRecord");
    assert_eq!(d["target"], "peer:DE-GDF");
    assert_eq!(d["state"], "dead");
    assert_eq!(d["attempts"], 1);
    assert!(d["last_error"].as_str().unwrap().starts_with("017"), "{d}");
    assert!(
        d["created_at"].is_string() && d["dead_at"].is_string(),
        "{d}"
    );
    assert_eq!(refused_status, 404);
    assert_eq!(retry_status, 200, "{retried}");
    assert!(delivered);
    assert_eq!(dead_after, json!([]));
    assert_eq!(bad_state, 400);
    let record = &peers[0]["delivery"];
    assert_eq!(record["failed"], 1, "{record}");
    assert_eq!(record["delivered"], 2, "{record}");
    peer.down().await;
}

#[actix_web::test]
async fn a_dropped_message_is_never_sent() {
    // Arrange
    let peer = Double::on(free_port());
    let node = cpo_node(&peer, "max_backoff_s = 1").await;
    send_cdr(&node, 1).await;
    send_cdr(&node, 2).await;
    let (_, pending) = admin("GET", &node.admin_url("/outbox?state=pending")).await;
    let first = pending[0]["id"].as_i64().unwrap();
    let second = pending[1]["id"].as_i64().unwrap();

    // Act
    let (not_dead, _) = admin("POST", &node.admin_url(&format!("/outbox/{second}/retry"))).await;
    let (dropped, _) = admin("DELETE", &node.admin_url(&format!("/outbox/{first}"))).await;
    let (again, _) = admin("DELETE", &node.admin_url(&format!("/outbox/{first}"))).await;
    peer.up();
    let got = peer
        .wait_for("charge-detail-record", 1, Duration::from_secs(5))
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    // Assert
    assert_eq!((not_dead, dropped, again), (409, 204, 404));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["SessionID"], session(2));
    peer.down().await;
}

#[actix_web::test]
async fn messages_undelivered_for_too_long_become_dead_letters() {
    // Arrange: the peer stays down; messages die after 1 s.
    let peer = Double::on(free_port());
    let node = cpo_node(&peer, "dead_letter_after_s = 1\nmax_backoff_s = 1").await;

    // Act
    send_cdr(&node, 1).await;
    push(
        &node,
        &status_push(
            "update",
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Available")],
        ),
    )
    .await;
    let all_dead = eventually(Duration::from_secs(6), async || {
        node.state.store.outbox_counts(&gdf()).await.unwrap() == (0, 2)
    })
    .await;
    let (_, dead) = admin("GET", &node.admin_url("/outbox?state=dead")).await;

    // Assert
    assert!(all_dead, "{dead}");
    let dead = dead.as_array().unwrap();
    let ops: Vec<&str> = dead
        .iter()
        .map(|d| d["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["ChargeDetailRecord", "PushEvseStatus"]);
    for d in dead {
        let error = d["last_error"].as_str().unwrap();
        assert!(error.starts_with("undelivered after 1 s"), "{error}");
    }
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("not reachable"),
        "{dead:?}"
    );
    let record = node.state.delivery.log().get("peer:DEGDF").unwrap();
    assert_eq!((record.failed, record.dead), (3, 2), "{record:?}");
}

#[actix_web::test]
async fn notifications_and_the_cdr_of_a_remote_start_answered_too_late_reach_the_emp() {
    // Arrange: EMP backend -> EMP node -> CPO node -> CPO backend, which answers too late.
    let emp_backend = Double::start();
    let cpo_backend = Double::start();
    cpo_backend.set_delay(Some(Duration::from_millis(2500)));
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend = \"{}\"\nbackend_token = \"{EMP_BACKEND}\"\n",
        emp_backend.url()
    ))
    .await;
    let cpo = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nbackend = \"{}\"\nbackend_token = \"{CPO_BACKEND}\"\n",
        cpo_backend.url()
    ))
    .await;
    let peer = |role, id: &str, url: String, token: &str, inbound: &str| Peer {
        id: PartnerId::parse(role, id).unwrap(),
        url,
        timeout: Duration::from_secs(2),
        token: Some(token.to_owned()),
        inbound_token: Some(inbound.to_owned()),
        ocpi: None,
    };
    cpo.state
        .registry
        .upsert(peer(
            Role::Emp,
            "DE-GDF",
            emp.url(""),
            "gef-to-gdf",
            "gdf-to-gef",
        ))
        .unwrap();
    emp.state
        .registry
        .upsert(peer(
            Role::Cpo,
            "DE*GEF",
            cpo.url(""),
            "gdf-to-gef",
            "gef-to-gdf",
        ))
        .unwrap();
    let mut start = request("AuthorizeRemoteStart");
    start.as_object_mut().unwrap().remove("SessionID");

    // Act
    let answer = post(
        &emp.url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        EMP_BACKEND,
        &start,
    )
    .await;
    let forwarded = cpo_backend
        .wait_for("authorize-remote/start", 1, Duration::from_secs(5))
        .await;
    let session = forwarded[0].body["SessionID"].as_str().unwrap().to_owned();
    cpo_backend.set_delay(None);
    // RFID in both and no HubProviderID: only the recorded session names the EMP.
    let mut notification = request("ChargingNotificationStart");
    notification["SessionID"] = json!(session);
    let n = post(
        &cpo.url("/notificationmgmt/v11/charging-notifications"),
        CPO_BACKEND,
        &notification,
    )
    .await;
    let mut record = cdr(0);
    record["SessionID"] = json!(session);
    record.as_object_mut().unwrap().remove("HubProviderID");
    let c = post(&cpo.url(CDR_PATH), CPO_BACKEND, &record).await;
    let notified = emp_backend
        .wait_for("charging-notifications", 1, Duration::from_secs(5))
        .await;
    let cdrs = emp_backend
        .wait_for("charge-detail-record", 1, Duration::from_secs(5))
        .await;

    // Assert
    assert_eq!(
        (answer.status, answer.code()),
        (200, "310"),
        "{:?}",
        answer.body
    );
    assert_eq!(answer.body["Result"], false);
    assert_eq!(
        (n.code(), c.code()),
        ("000", "000"),
        "{:?} {:?}",
        n.body,
        c.body
    );
    assert_eq!(notified.len(), 1);
    assert_eq!(notified[0].body["SessionID"], session.as_str());
    assert_eq!(notified[0].body["Type"], "Start");
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].body["SessionID"], session.as_str());
    assert_eq!(
        cdrs[0].path,
        "/api/oicp/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"
    );
}

#[actix_web::test]
async fn the_periodic_refresh_sends_a_full_load_of_the_stored_statuses() {
    // Arrange
    let peer = Double::start();
    let node = cpo_node(&peer, "status_refresh_s = 1").await;

    // Act: only updates from the backend.
    push(
        &node,
        &status_push(
            "update",
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Available")],
        ),
    )
    .await;
    push(&node, &status_push("update", &[("DE*GEF*E3", "Reserved")])).await;
    let refreshed = eventually(Duration::from_secs(5), async || {
        status_pushes(&peer)
            .iter()
            .any(|s| s.starts_with("fullLoad"))
    })
    .await;

    // Assert
    assert!(refreshed, "{:?}", status_pushes(&peer));
    let full = peer
        .received_at("status-records")
        .into_iter()
        .find(|r| r.body["ActionType"] == "fullLoad")
        .unwrap();
    assert_eq!(full.path, format!("/api/oicp{STATUS_PATH}"));
    assert_eq!(full.body["OperatorEvseStatus"]["OperatorID"], "DE*GEF");
    assert_eq!(full.body["OperatorEvseStatus"]["OperatorName"], "GEF");
    assert_eq!(
        status_pushes(&peer)
            .into_iter()
            .find(|s| s.starts_with("fullLoad"))
            .unwrap(),
        "fullLoad [DE*GEF*E1=Occupied, DE*GEF*E2=Available, DE*GEF*E3=Reserved]"
    );
    peer.down().await;
}
