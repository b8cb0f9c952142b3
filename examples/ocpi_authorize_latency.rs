//! Latency of real-time authorization across the OCPI bridge: the CPO backend's OICP
//! `AuthorizeStart` -> our CPO node -> `POST tokens/{uid}/authorize` at our eMSP node -> OICP
//! `AuthorizeStart` at its EMP backend (a minimal in-process double) and back, one request at
//! a time and then from several clients.
//!
//! ```text
//! cargo run --example ocpi_authorize_latency              # 500 requests, 8 clients
//! cargo run --example ocpi_authorize_latency -- 2000 16   # requests, clients
//! ```
//! Everything runs on 127.0.0.1 in one process; client, nodes and backend share the machine.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[path = "../tests/support/evse_push.rs"]
mod evse_push;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use roambridge::config::Config;
use roambridge::node::Application;
use serde_json::{Value, json};

async fn node(text: &str) -> (u16, actix_web::dev::ServerHandle) {
    let config = Config::parse(text, "latency.toml").unwrap();
    let app = Application::build(config).await.unwrap();
    let port = app.port();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    (port, handle)
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into the sorted latencies"
    )]
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default().as_secs_f64() * 1000.0
}

async fn authorize(client: &awc::Client, url: &str) -> bool {
    let body = json!({"OperatorID": "DE*GEF", "EvseID": "DE*GEF*E000000*1",
        "Identification": {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}}});
    match client
        .post(url)
        .insert_header(("Authorization", "Bearer cpo-backend"))
        .send_json(&body)
        .await
    {
        Ok(mut r) => r
            .json::<Value>()
            .await
            .is_ok_and(|v| v["AuthorizationStatus"] == "Authorized"),
        Err(_) => false,
    }
}

async fn round(url: &str, requests: usize, clients: usize) {
    let latencies: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let failed: Rc<RefCell<usize>> = Rc::default();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (url, latencies, failed) = (url.to_owned(), latencies.clone(), failed.clone());
        let n = requests / clients;
        tasks.push(actix_web::rt::spawn(async move {
            let client = awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish();
            for _ in 0..n {
                let t = Instant::now();
                if !authorize(&client, &url).await {
                    *failed.borrow_mut() += 1;
                }
                latencies.borrow_mut().push(t.elapsed());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut all = latencies.borrow().clone();
    all.sort();
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    let rate = all.len() as f64 / elapsed;
    println!(
        "{clients:>2} clients: {rate:>7.1} authorizations/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {} failed)",
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all.len(),
        failed.borrow()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let requests: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(500);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8);
    actix_web::rt::System::new().block_on(run(requests, clients.max(1)));
}

async fn run(requests: usize, clients: usize) {
    // The EMP backend: every AuthorizeStart is Authorized.
    let backend = HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Ok().json(json!({"AuthorizationStatus": "Authorized",
                "SessionID": uuid::Uuid::new_v4().to_string(), "StatusCode": {"Code": "000"}}))
        }))
    })
    .bind(("127.0.0.1", 0))
    .unwrap();
    let backend_port = backend.addrs()[0].port();
    let backend = backend.run();
    let backend_handle = backend.handle();
    actix_web::rt::spawn(backend);

    let (cpo, cpo_handle) = node(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\nadmin_token = \"admin\"\n\n\
         [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF\"\n\
         backend = \"http://127.0.0.1:9\"\nbackend_token = \"cpo-backend\"\n",
    )
    .await;
    let (emp, emp_handle) = node(&format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\nadmin_token = \"admin\"\n\n\
         [[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF\"\n\
         backend = \"http://127.0.0.1:{backend_port}/api/oicp\"\nbackend_token = \"emp-backend\"\n"
    ))
    .await;
    let client = awc::Client::builder()
        .timeout(Duration::from_mins(1))
        .finish();
    let token_a: Value = client
        .post(format!("http://127.0.0.1:{cpo}/admin/ocpi/tokens"))
        .insert_header(("Authorization", "Bearer admin"))
        .send_json(&json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let registered = client
        .post(format!("http://127.0.0.1:{emp}/admin/ocpi/register"))
        .insert_header(("Authorization", "Bearer admin"))
        .send_json(
            &json!({"versions_url": format!("http://127.0.0.1:{cpo}/ocpi/versions"),
            "token": token_a["token"]}),
        )
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(registered, 201);
    let pushed = client
        .post(format!(
            "http://127.0.0.1:{cpo}/api/oicp/evsepush/v23/operators/DE*GEF/data-records"
        ))
        .insert_header(("Authorization", "Bearer cpo-backend"))
        .send_json(&evse_push::full_load(1, 1))
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(pushed, 200);
    let url =
        format!("http://127.0.0.1:{cpo}/api/oicp/charging/v21/operators/DE*GEF/authorize/start");
    assert!(
        authorize(&client, &url).await,
        "the first authorization failed"
    );
    round(&url, requests.min(200), 1).await;
    round(&url, requests, clients).await;
    cpo_handle.stop(false).await;
    emp_handle.stop(false).await;
    backend_handle.stop(false).await;
}
