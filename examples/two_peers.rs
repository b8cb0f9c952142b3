//! Runs the two demo nodes of `config/cpo.toml` (CPO DE*GEF on :7001) and `config/emp.toml`
//! (EMP DE-GDF on :8001) in one process, with in-memory databases, and shows a status push
//! arriving: the CPO backend pushes one EVSE status to its node, the node fans it out to the EMP
//! node, and the EMP backend pulls it from its node.
//!
//! Run: `cargo run --example two_peers`

use std::time::{Duration, Instant};

use roambridge::config::Config;
use roambridge::node::Application;

const STATUS_PUSH: &str = r#"{
  "ActionType": "update",
  "OperatorEvseStatus": {
    "OperatorID": "DE*GEF",
    "OperatorName": "GEF Charging",
    "EvseStatusRecord": [{"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Occupied"}]
  }
}"#;

const STATUS_PULL: &str = r#"{"ProviderID": "DE-GDF", "EvseID": ["DE*GEF*E0001*1"]}"#;

async fn post(client: &awc::Client, url: &str, token: &str, body: &str) -> Result<String, String> {
    let mut response = client
        .post(url)
        .bearer_auth(token)
        .insert_header(("Content-Type", "application/json"))
        .send_body(body.to_owned())
        .await
        .map_err(|e| e.to_string())?;
    let bytes = response.body().await.map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[actix_web::main]
async fn main() -> Result<(), String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cpo =
        Config::load(format!("{root}/config/cpo.toml").as_ref()).map_err(|e| e.to_string())?;
    let mut emp =
        Config::load(format!("{root}/config/emp.toml").as_ref()).map_err(|e| e.to_string())?;
    ":memory:".clone_into(&mut cpo.node.database);
    ":memory:".clone_into(&mut emp.node.database);

    let cpo_node = Application::build(cpo).await.map_err(|e| e.to_string())?;
    let emp_node = Application::build(emp).await.map_err(|e| e.to_string())?;
    let (cpo_handle, emp_handle) = (cpo_node.handle(), emp_node.handle());
    actix_web::rt::spawn(cpo_node.run_until_stopped());
    actix_web::rt::spawn(emp_node.run_until_stopped());
    println!("CPO node DE*GEF on :7001, EMP node DE-GDF on :8001");

    let client = awc::Client::default();
    let started = Instant::now();
    let ack = post(
        &client,
        "http://127.0.0.1:7001/api/oicp/evsepush/v21/operators/DE*GEF/status-records",
        "cpo-backend-token",
        STATUS_PUSH,
    )
    .await?;
    println!("CPO backend -> CPO node  PushEvseStatus: {ack}");

    let url = "http://127.0.0.1:8001/api/oicp/evsepull/v21/providers/DE-GDF/status-records-by-id";
    let mut answer = String::new();
    for _ in 0..100 {
        answer = post(&client, url, "emp-backend-token", STATUS_PULL).await?;
        if answer.contains("Occupied") {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    println!("EMP backend <- EMP node  PullEvseStatusById: {answer}");
    let arrived = answer.contains("Occupied");
    println!(
        "{} after {} ms",
        if arrived {
            "the status push arrived at the EMP node"
        } else {
            "the status push did NOT arrive"
        },
        started.elapsed().as_millis()
    );
    cpo_handle.stop(true).await;
    emp_handle.stop(true).await;
    if arrived {
        Ok(())
    } else {
        Err("status did not arrive".to_owned())
    }
}
