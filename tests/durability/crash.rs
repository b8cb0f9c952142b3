//! The real binary, a file database, SIGKILL: acknowledged messages survive and are delivered
//! once (at least once, and exactly once when no delivery was in flight at the kill); dead
//! letters are handled by the CLI on the same database, with the node running or stopped.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{
    CDR_PATH, CPO_BACKEND, Double, Process, STATUS_PATH, ack, admin, cdr, cpo_process_config,
    eventually, free_port, post, roambridge, session, status_push, temp_dir,
};

const CDRS: u32 = 20;

/// Statuses the double received, latest per EVSE.
fn latest_statuses(peer: &Double) -> Vec<(String, String)> {
    let mut latest = std::collections::BTreeMap::new();
    for r in peer.received_at("status-records") {
        for rec in r.body["OperatorEvseStatus"]["EvseStatusRecord"]
            .as_array()
            .unwrap()
        {
            latest.insert(
                rec["EvseID"].as_str().unwrap().to_owned(),
                rec["EvseStatus"].as_str().unwrap().to_owned(),
            );
        }
    }
    latest.into_iter().collect()
}

async fn outbox_empty(node: &Process) -> bool {
    let (status, pending) = admin("GET", &node.admin_url("/outbox?state=pending")).await;
    status == 200 && pending.as_array().is_some_and(Vec::is_empty)
}

#[actix_web::test]
async fn acknowledged_messages_survive_a_kill_and_arrive_exactly_once() {
    // Arrange: the EMP peer is down; the CPO backend sends CDRs and status changes.
    let dir = temp_dir("kill-after-ack");
    let (node_port, peer_port) = (free_port(), free_port());
    let config = cpo_process_config(
        &dir,
        node_port,
        peer_port,
        "[delivery]\nmax_backoff_s = 1\n",
    );
    let log = dir.join("node.log");
    let mut node = Process::start(&config, node_port, &log).await;
    for n in 0..CDRS {
        let a = post(&node.url(CDR_PATH), CPO_BACKEND, &cdr(n)).await;
        assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    }
    for (i, state) in [
        "Occupied",
        "Available",
        "Reserved",
        "Occupied",
        "OutOfService",
    ]
    .iter()
    .enumerate()
    {
        let evse = format!("DE*GEF*E{}*1", i % 3);
        let a = post(
            &node.url(STATUS_PATH),
            CPO_BACKEND,
            &status_push("update", &[(&evse, state)]),
        )
        .await;
        assert_eq!(a.code(), "000", "{:?}", a.body);
    }

    // Act: kill right after the last ack, bring the peer up, restart on the same database.
    node.kill();
    let peer = Double::on(peer_port);
    peer.up();
    let node = Process::start(&config, node_port, &log).await;
    let got = peer
        .wait_for_cdrs(CDRS as usize, Duration::from_secs(20))
        .await;
    let statuses_arrived = eventually(Duration::from_secs(10), async || {
        latest_statuses(&peer).len() == 3
    })
    .await;
    let drained = eventually(Duration::from_secs(10), async || outbox_empty(&node).await).await;

    // Assert
    assert_eq!(got.len(), CDRS as usize, "{got:?}");
    for n in 0..CDRS {
        assert_eq!(got.get(&session(n)), Some(&1), "session {n}: {got:?}");
    }
    assert!(statuses_arrived && drained);
    assert_eq!(
        latest_statuses(&peer),
        [
            ("DE*GEF*E0*1".to_owned(), "Occupied".to_owned()),
            ("DE*GEF*E1*1".to_owned(), "OutOfService".to_owned()),
            ("DE*GEF*E2*1".to_owned(), "Reserved".to_owned()),
        ]
    );

    // A second restart delivers nothing again.
    let requests_before = peer.received().len();
    drop(node);
    let node = Process::start(&config, node_port, &log).await;
    actix_web::rt::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(peer.received().len(), requests_before);
    assert!(peer.cdr_receipts().values().all(|&n| n == 1));
    drop(node);
    peer.down().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[actix_web::test]
async fn a_kill_while_deliveries_are_in_flight_loses_nothing() {
    // Arrange: a slow EMP peer (300 ms per answer).
    let dir = temp_dir("kill-in-flight");
    let (node_port, peer_port) = (free_port(), free_port());
    let config = cpo_process_config(
        &dir,
        node_port,
        peer_port,
        "[delivery]\nmax_backoff_s = 1\n",
    );
    let log = dir.join("node.log");
    let peer = Double::on(peer_port);
    peer.set_delay(Some(Duration::from_millis(300)));
    peer.up();
    let mut node = Process::start(&config, node_port, &log).await;
    for n in 0..CDRS {
        let a = post(&node.url(CDR_PATH), CPO_BACKEND, &cdr(n)).await;
        assert_eq!(a.code(), "000", "{:?}", a.body);
    }

    // Act: kill while the peer is busy with a delivery, then restart with a fast peer.
    let _ = peer.wait_for_cdrs(4, Duration::from_secs(10)).await;
    node.kill();
    let before_restart = peer.cdr_receipts();
    peer.set_delay(None);
    let node = Process::start(&config, node_port, &log).await;
    let got = peer
        .wait_for_cdrs(CDRS as usize, Duration::from_secs(20))
        .await;
    let drained = eventually(Duration::from_secs(10), async || outbox_empty(&node).await).await;

    // Assert: every CDR arrived; at most the one in flight at the kill arrived twice (the
    // peer deduplicates it by SessionID).
    assert!(
        (1..CDRS as usize).contains(&before_restart.len()),
        "{before_restart:?}"
    );
    assert_eq!(got.len(), CDRS as usize, "{got:?}");
    let receipts: u32 = got.values().sum();
    assert!(receipts <= CDRS + 1, "{got:?}");
    assert!(got.values().all(|&n| n >= 1));
    assert!(drained);
    drop(node);
    peer.down().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn ids_in(listing: &str, operation: &str) -> Vec<i64> {
    listing
        .lines()
        .filter(|l| l.contains(operation))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[actix_web::test]
async fn dead_letters_are_listed_retried_and_dropped_by_the_cli() {
    // Arrange: the EMP peer refuses CDRs (Result false, 017).
    let dir = temp_dir("cli");
    let (node_port, peer_port) = (free_port(), free_port());
    let config = cpo_process_config(
        &dir,
        node_port,
        peer_port,
        "[delivery]\nmax_backoff_s = 1\n",
    );
    let config_arg = config.display().to_string();
    let log = dir.join("node.log");
    let peer = Double::on(peer_port);
    peer.respond(|path, _| {
        path.contains("charge-detail-record")
            .then(|| (200, ack(false, "017")))
    });
    peer.up();
    let mut node = Process::start(&config, node_port, &log).await;
    for n in 0..3 {
        let a = post(&node.url(CDR_PATH), CPO_BACKEND, &cdr(n)).await;
        assert_eq!(a.code(), "000", "{:?}", a.body);
    }
    let all_dead = eventually(Duration::from_secs(10), async || {
        let (_, dead) = admin("GET", &node.admin_url("/outbox?state=dead")).await;
        dead.as_array().is_some_and(|d| d.len() == 3)
    })
    .await;
    assert!(all_dead);

    // Act 1: list and retry with the node running (WAL lets both processes at the file).
    let (code, listing, err) = roambridge(&["outbox", "list", "--dead", "--config", &config_arg]);
    assert_eq!(code, 0, "{err}");
    let ids = ids_in(&listing, "ChargeDetailRecord");
    assert_eq!(ids.len(), 3, "{listing}");
    assert!(listing.contains("017"), "{listing}");
    assert!(listing.contains("peer:DE-GDF"), "{listing}");
    peer.accept_all();
    let (code, out, err) = roambridge(&[
        "outbox",
        "retry",
        &ids[0].to_string(),
        "--config",
        &config_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let retried = eventually(Duration::from_secs(10), async || {
        peer.cdr_receipts().get(&session(0)) == Some(&2)
    })
    .await;
    // The peer has the CDR before the node records the delivery: wait for the record, else
    // the kill below may come in between and the message is (rightly) sent again later.
    let recorded = eventually(Duration::from_secs(10), async || {
        let (_, listing, _) = roambridge(&["outbox", "list", "--config", &config_arg]);
        !ids_in(&listing, "ChargeDetailRecord").contains(&ids[0])
    })
    .await;
    assert!(recorded);

    // Act 2: with the node stopped, retry one and drop the other.
    node.kill();
    let (code, _, err) = roambridge(&[
        "outbox",
        "retry",
        &ids[1].to_string(),
        "--config",
        &config_arg,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = roambridge(&[
        "outbox",
        "drop",
        &ids[2].to_string(),
        "--config",
        &config_arg,
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, pending, _) = roambridge(&["outbox", "list", "--config", &config_arg]);
    assert_eq!(code, 0);
    let (unknown, _, unknown_err) =
        roambridge(&["outbox", "retry", "999999", "--config", &config_arg]);
    let node = Process::start(&config, node_port, &log).await;
    let delivered = eventually(Duration::from_secs(10), async || {
        peer.cdr_receipts().get(&session(1)) == Some(&2)
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    // Assert
    assert!(retried);
    assert_eq!(
        ids_in(&pending, "ChargeDetailRecord"),
        [ids[1]],
        "{pending}"
    );
    assert_eq!(unknown, 1, "{unknown_err}");
    assert!(unknown_err.contains("999999"), "{unknown_err}");
    assert!(delivered);
    assert_eq!(peer.cdr_receipts().get(&session(2)), Some(&1));
    let (_, dead) = admin("GET", &node.admin_url("/outbox?state=dead")).await;
    assert_eq!(dead, json!([]));
    let (_, pending) = admin("GET", &node.admin_url("/outbox?state=pending")).await;
    assert_eq!(pending, Value::Array(Vec::new()));
    drop(node);
    peer.down().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
