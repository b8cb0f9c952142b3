//! Round trip of an OICP remote start through OCPI commands (issue 7): the EMP backend's
//! `eRoamingAuthorizeRemoteStart` to our eMSP-side node becomes `START_SESSION` to our
//! CPO-side node, which sends `eRoamingAuthorizeRemoteStart` to its backend, POSTs the
//! `CommandResult` back, and the eMSP side answers the backend. Prints requests/s, p50 and p99
//! of the backend's call, at a given concurrency.
//!
//! ```text
//! cargo run --release --example ocpi_commands_load             # 2,000 starts, concurrency 16
//! cargo run --release --example ocpi_commands_load -- 500 4     # starts, concurrency
//! ```
//! Two nodes with in-memory stores and two backend doubles (always `Result: true`), all in
//! this process on 127.0.0.1; each start is a fresh `SessionID` on one of 20 EVSEs.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[path = "../tests/support/evse_push.rs"]
mod evse_push;
#[path = "../tests/node/harness.rs"]
mod harness;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use harness::{Double, Node, post};
use roambridge::config::{PartnerId, Role};
use serde_json::json;

#[actix_web::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);

    let cpo_backend = Double::start().await;
    let emp_backend = Double::start().await;
    let cpo = Node::start(&format!(
        "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nbackend = \"{}\"\nbackend_token = \"cpo\"\n",
        cpo_backend.url()
    ))
    .await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend = \"{}\"\nbackend_token = \"emp\"\n",
        emp_backend.url()
    ))
    .await;
    let admin = |node: &Node, path: &str, body: serde_json::Value| {
        let url = format!("http://127.0.0.1:{}{path}", node.port);
        async move {
            let mut r = awc::Client::new()
                .post(url)
                .insert_header(("Authorization", "Bearer admin"))
                .send_json(&body)
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let token_a = admin(&cpo, "/admin/ocpi/tokens", json!({})).await;
    let versions = format!("http://127.0.0.1:{}/ocpi/versions", cpo.port);
    admin(
        &emp,
        "/admin/ocpi/register",
        json!({"versions_url": versions, "token": token_a["token"]}),
    )
    .await;
    assert!(
        emp.state
            .ocpi
            .connection(&PartnerId::parse(Role::Cpo, "DE*GEF").unwrap())
            .is_some(),
        "registration failed"
    );
    post(
        &format!("{}/evsepush/v23/operators/DE*GEF/data-records", cpo.url()),
        Some("cpo"),
        &evse_push::full_load(10, 2),
    )
    .await;
    let start = Instant::now();
    while emp
        .state
        .store
        .ocpi_emsp_find_evse("DE", "GEF", "DEGEFE0000092")
        .await
        .unwrap()
        .is_empty()
    {
        assert!(start.elapsed() < Duration::from_secs(30), "no Locations");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }

    let url = format!(
        "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
        emp.url()
    );
    let latencies: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let failed: Rc<RefCell<usize>> = Rc::default();
    let next: Rc<RefCell<usize>> = Rc::default();
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, latencies, failed, next) =
            (url.clone(), latencies.clone(), failed.clone(), next.clone());
        tasks.push(actix_web::rt::spawn(async move {
            loop {
                let i = {
                    let mut n = next.borrow_mut();
                    *n += 1;
                    *n
                };
                if i > total {
                    break;
                }
                let body = json!({"ProviderID": "DE-GDF", "EvseID": evse_push::evse_id(i % 10, i % 2 + 1),
                    "SessionID": uuid::Uuid::new_v4().to_string(),
                    "Identification": {"RemoteIdentification": {"EvcoID": "DE-GDF-C12345678-X"}}});
                let t = Instant::now();
                let answer = post(&url, Some("emp"), &body).await;
                let took = t.elapsed();
                if answer.body["Result"] == true {
                    latencies.borrow_mut().push(took);
                } else {
                    *failed.borrow_mut() += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = begin.elapsed();
    let mut l = latencies.borrow().clone();
    l.sort_unstable();
    let pick = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into the sorted latencies"
        )]
        let i = ((l.len().saturating_sub(1)) as f64 * q).round() as usize;
        l.get(i).copied().unwrap_or_default()
    };
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    let rate = l.len() as f64 / elapsed.as_secs_f64();
    println!(
        "remote start via OCPI commands: {rate:.1} starts/s  p50 {:.2} ms  p99 {:.2} ms  ({} ok, {} failed, concurrency {concurrency}, {:.1} s)",
        pick(0.5).as_secs_f64() * 1000.0,
        pick(0.99).as_secs_f64() * 1000.0,
        l.len(),
        failed.borrow(),
        elapsed.as_secs_f64()
    );
    println!(
        "CPO backend got {} remote starts",
        cpo_backend.received_at("authorize-remote/start").len()
    );
    cpo.stop().await;
    emp.stop().await;
}
