//! Store figures (issue 5) through a real node with a file database in a temporary directory:
//!
//! 1. 1,000,000 EVSE status records (100 operators x 10,000) loaded through the store API
//!    (`fullLoad` per operator);
//! 2. a full `eRoamingPullEvseStatus` through HTTP by an own EMP's backend (target < 2 s),
//!    timed from sending the request to the last byte of the answer;
//! 3. a `fullLoad` `eRoamingPushEvseData` of 100,000 records through HTTP by the CPO's backend
//!    (target < 10 s), timed from sending to the acknowledgement (the node has no peers, so
//!    nothing is queued for delivery).
//!
//! Run: `cargo run --release --example store_figures`

use std::time::{Duration, Instant};

use chrono::Utc;
use roambridge::config::Config;
use roambridge::node::Application;
use roambridge::oicp::v23::common::ActionType;
use roambridge::oicp::v23::evse_status::EvseStatusRecord;
use roambridge::oicp::v23::ids::OperatorId;
use roambridge::oicp::v23::wire::parse;
use serde_json::{Value, json};

const CPO_TOKEN: &str = "cpo-backend";
const EMP_TOKEN: &str = "emp-backend";

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn post(url: &str, token: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let client = awc::Client::builder()
        .timeout(Duration::from_mins(10))
        .finish();
    let mut response = client
        .post(url)
        .bearer_auth(token)
        .insert_header(("Content-Type", "application/json"))
        .send_body(body)
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = response.status().as_u16();
    let bytes = response
        .body()
        .limit(1024 * 1024 * 1024)
        .await
        .unwrap_or_else(|e| panic!("reading {url}: {e}"));
    (status, bytes.to_vec())
}

fn evse_data_template() -> Value {
    let path = format!(
        "{}/tests/fixtures/oicp/valid/PushEvseData.request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let push: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    push["OperatorEvseData"]["EvseDataRecord"][0].clone()
}

#[expect(
    clippy::cast_precision_loss,
    reason = "sizes printed as floating point"
)]
#[actix_web::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("roambridge-store-figures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let db = dir.join("figures.sqlite");
    let config = Config::parse(
        &format!(
            "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \"{}\"\n\n\
             [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF\"\nbackend_token = \"{CPO_TOKEN}\"\n\n\
             [[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend_token = \"{EMP_TOKEN}\"\n",
            db.display()
        ),
        "store_figures",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = app.port();
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    println!("store_figures: file database {}", db.display());

    // 1. 1,000,000 status records.
    let started = Instant::now();
    for n in 0..100 {
        let operator = OperatorId::parse(&format!("DE*{n:03}")).unwrap_or_else(|e| panic!("{e}"));
        let records: Vec<EvseStatusRecord> = (0..10_000)
            .map(|i| {
                let json = format!(r#"{{"EvseID":"DE*{n:03}*E{i:06}","EvseStatus":"Available"}}"#);
                parse(json.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
            })
            .collect();
        state
            .store
            .apply_evse_status(
                &operator,
                Some("Operator"),
                ActionType::FullLoad,
                &records,
                Utc::now(),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let loaded = started.elapsed();
    let count = state.store.evse_status_count().await.unwrap_or(0);
    println!(
        "load: {count} status records in {:.2} s (store API, 100 fullLoads of 10,000)",
        loaded.as_secs_f64()
    );

    // 2. A full PullEvseStatus through HTTP.
    let url =
        format!("http://127.0.0.1:{port}/api/oicp/evsepull/v21/providers/DE-GDF/status-records");
    let mut pulls = Vec::new();
    let mut size = 0;
    let mut records = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = post(&url, EMP_TOKEN, br#"{"ProviderID":"DE-GDF"}"#.to_vec()).await;
        pulls.push(started.elapsed());
        assert_eq!(status, 200);
        size = body.len();
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        records = value["EvseStatuses"]["OperatorEvseStatus"]
            .as_array()
            .map_or(0, |ops| {
                ops.iter()
                    .map(|o| o["EvseStatusRecord"].as_array().map_or(0, Vec::len))
                    .sum()
            });
    }
    println!(
        "full PullEvseStatus over HTTP: {records} records, {:.1} MB, times {:?} (target < 2 s)",
        size as f64 / 1e6,
        pulls
            .iter()
            .map(|d| format!("{:.2} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
    );

    // 3. A fullLoad PushEvseData of 100,000 records through HTTP (the body is built as text,
    // so that this process's own copies stay small).
    println!("peak RSS before the push (VmHWM): {}", vm_hwm());
    let mut template = evse_data_template();
    template["EvseID"] = json!("@EVSE@");
    template["ChargingStationID"] = json!("@STATION@");
    let template = template.to_string();
    let mut body = String::from(
        r#"{"ActionType":"fullLoad","OperatorEvseData":{"OperatorID":"DE*GEF","OperatorName":"GEF","EvseDataRecord":["#,
    );
    for i in 0..100_000 {
        if i > 0 {
            body.push(',');
        }
        body.push_str(
            &template
                .replace("@EVSE@", &format!("DE*GEF*E{i:06}*1"))
                .replace("@STATION@", &format!("GEF-STATION-{i:06}")),
        );
    }
    body.push_str("]}}");
    let body = body.into_bytes();
    let megabytes = body.len() as f64 / 1e6;
    let url =
        format!("http://127.0.0.1:{port}/api/oicp/evsepush/v23/operators/DE*GEF/data-records");
    let mut pushes = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let (status, answer) = post(&url, CPO_TOKEN, body.clone()).await;
        pushes.push(started.elapsed());
        let answer: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        assert_eq!((status, &answer["Result"]), (200, &json!(true)), "{answer}");
    }
    let stored = state.store.evse_data_count().await.unwrap_or(0);
    println!(
        "fullLoad PushEvseData over HTTP: 100000 records, {megabytes:.1} MB, times {:?} (first: all new; second: all unchanged) (target < 10 s); {stored} records stored",
        pushes
            .iter()
            .map(|d| format!("{:.2} s", d.as_secs_f64()))
            .collect::<Vec<_>>()
    );
    println!("peak RSS (VmHWM): {}", vm_hwm());
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
}
