//! Load of `GET /ocpi/2.2.1/locations?limit=50` (random offsets) at concurrency 16 over 20,000
//! stored Locations (issue 7 target: at least 30x the extrawest-ocpi peer's rate, p99 under
//! 20 ms), next to the same request against the extrawest peer seeded with 20,000 Locations.
//!
//! ```text
//! cargo run --release --example ocpi_locations_load            # 20,000 Locations, 10 s each
//! cargo run --release --example ocpi_locations_load -- 5000 3 4  # count, seconds, clients
//! ```
//! Our side: a node on a database file in the temp directory; its CPO backend pushes the
//! Locations as one OICP `fullLoad` (one EVSE each), the node translates them into its OCPI
//! view, and a registered eMSP connection's token reads the pages. The extrawest side runs
//! when `ROAMBRIDGE_OCPI_PEER_PYTHON` names the interop venv's python
//! (`tests/interop/setup-venv.sh`): the peer generates its Locations at start, our node
//! registers with it, and the same load runs against its `locations` Sender with the token it
//! issued to us. Client and server share the machine.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

#[path = "../tests/support/evse_push.rs"]
mod evse_push;
#[path = "../tests/support/ocpi_peer.rs"]
mod ocpi_peer;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use roambridge::config::{Config, Role};
use roambridge::node::Application;
use roambridge::ocpi::v221::versions::V221;
use roambridge::store::ocpi::OcpiConnection;
use serde_json::json;

/// Concurrent clients (third argument to change).
static CONCURRENCY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(16);
const LIMIT: usize = 50;

/// Figures of one run.
struct Figures {
    requests: usize,
    failed: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    fn print(&self, who: &str) {
        println!(
            "{who:<10} {:>8.1} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} requests, {} failed, {:.1} s)",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0,
            self.requests,
            self.failed,
            self.elapsed.as_secs_f64()
        );
    }

    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// [`CONCURRENCY`] clients GET `url?limit=50&offset=<random>` for `run` with `auth`.
async fn load(url: &str, auth: &str, total: usize, run: Duration) -> Figures {
    let latencies: Rc<RefCell<Vec<Duration>>> = Rc::default();
    let failed: Rc<RefCell<usize>> = Rc::default();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY.load(std::sync::atomic::Ordering::Relaxed) {
        let (url, auth) = (url.to_owned(), auth.to_owned());
        let (latencies, failed) = (latencies.clone(), failed.clone());
        tasks.push(actix_web::rt::spawn(async move {
            let client = awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish();
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1);
            while start.elapsed() < run {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let offset = (seed >> 33) as usize % total.saturating_sub(LIMIT).max(1);
                let t = Instant::now();
                let ok = match client
                    .get(format!("{url}?limit={LIMIT}&offset={offset}"))
                    .insert_header(("Authorization", auth.as_str()))
                    .send()
                    .await
                {
                    Ok(mut r) => {
                        let status = r.status().as_u16();
                        let body = r.body().limit(64 * 1024 * 1024).await;
                        status == 200 && body.is_ok_and(|b| b.len() > 1000)
                    }
                    Err(_) => false,
                };
                latencies.borrow_mut().push(t.elapsed());
                if !ok {
                    *failed.borrow_mut() += 1;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed();
    let mut all = latencies.borrow().clone();
    all.sort();
    let at = |q: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into the sorted latencies"
        )]
        let i = ((all.len() as f64 - 1.0) * q).round() as usize;
        all.get(i).copied().unwrap_or_default()
    };
    let failed = *failed.borrow();
    Figures {
        requests: all.len(),
        failed,
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    if let Some(c) = args.get(2).and_then(|a| a.parse().ok()) {
        CONCURRENCY.store(c, std::sync::atomic::Ordering::Relaxed);
    }
    actix_web::rt::System::new().block_on(run(count, Duration::from_secs(seconds)));
}

#[expect(clippy::too_many_lines, reason = "one scripted scenario")]
async fn run(count: usize, duration: Duration) {
    let dir = std::env::temp_dir().join(format!("roambridge-ocpi-load-{}", std::process::id()));
    let db = dir.join("node.sqlite");
    let text = format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \"{}\"\nadmin_token = \"admin\"\n\n\
         [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\n\
         backend = \"http://127.0.0.1:9\"\nbackend_token = \"cpo-backend\"\n",
        db.display()
    );
    let config = Config::parse(&text, "load.toml").unwrap();
    let app = Application::build(config).await.unwrap();
    let port = app.port();
    let state = app.state();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let base = format!("http://127.0.0.1:{port}");

    // The backend pushes the Locations; the node translates them into its view.
    let t = Instant::now();
    let body = serde_json::to_vec(&evse_push::full_load(count, 1)).unwrap();
    let client = awc::Client::builder()
        .timeout(Duration::from_mins(10))
        .finish();
    let mut pushed = client
        .post(format!(
            "{base}/api/oicp/evsepush/v23/operators/DE*GEF/data-records"
        ))
        .insert_header(("Authorization", "Bearer cpo-backend"))
        .insert_header(("Content-Type", "application/json"))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(pushed.status().as_u16(), 200, "{:?}", pushed.body().await);
    let stored = state.store.ocpi_cpo_location_count().await.unwrap();
    println!(
        "pushed {count} EVSE data records as one fullLoad: {stored} OCPI Locations in the view after {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(stored, count as u64);

    // A registered eMSP connection.
    let connection = OcpiConnection {
        peer_role: Role::Emp,
        peer_id: "DE-GDF".into(),
        versions_url: "http://127.0.0.1:9/ocpi/versions".into(),
        version: V221.into(),
        endpoints: Vec::new(),
        roles: Vec::new(),
        token_out: "unused".into(),
        token_in: "load-token".into(),
        registered_by_us: false,
        updated_at: 0,
    };
    state
        .ocpi
        .save_connection(&state.store, connection, None)
        .await
        .unwrap();
    let auth = format!(
        "Token {}",
        base64::engine::general_purpose::STANDARD.encode("load-token")
    );
    let ours = load(
        &format!("{base}/ocpi/2.2.1/locations"),
        &auth,
        count,
        duration,
    )
    .await;
    ours.print("roambridge");

    let options = ocpi_peer::PeerOptions {
        token_a: vec!["load-token-a".to_owned()],
        seed_locations: count,
        ..ocpi_peer::PeerOptions::default()
    };
    if let Some(peer) = ocpi_peer::OcpiPeer::start("ocpi_locations_load", &options).await {
        let registered = client
            .post(format!("{base}/admin/ocpi/register"))
            .insert_header(("Authorization", "Bearer admin"))
            .send_json(&json!({"versions_url": peer.versions_url(), "token": "load-token-a"}))
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(registered, 201, "{}", peer.log_tail());
        let token = state
            .ocpi
            .connections()
            .iter()
            .find(|c| c.registered_by_us)
            .map(|c| c.token_out.clone())
            .unwrap();
        let theirs = load(
            &peer.url("/ocpi/cpo/2.2.1/locations/"),
            &format!("Token {}", ocpi_peer::base64(token.as_bytes())),
            count,
            duration,
        )
        .await;
        theirs.print("extrawest");
        println!(
            "ratio: {:.1}x the extrawest peer's rate",
            ours.rate() / theirs.rate().max(f64::MIN_POSITIVE)
        );
    }
    handle.stop(false).await;
    drop(state);
    let _ = std::fs::remove_dir_all(&dir);
}
