//! Load figures for the P2P node (issue 3): a CPO node receives single-record `PushEvseStatus`
//! requests from its backend at concurrency 16 and fans each out to 3 EMP nodes; the baseline
//! pushes the same requests straight to one EMP node. Prints inbound pushes/s, p50/p99 latency
//! and how long the fan-out took to drain.
//!
//! Run: `cargo run --release --example load_fanout -- [seconds per run, default 10] [both|baseline|fanout]`
//! Everything runs on 127.0.0.1 in this process, with in-memory databases.

#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "request counts and percentile indices of a bounded benchmark run"
)]

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{Duration, Instant};

use roambridge::config::{Config, PartnerId, Peer, Role};
use roambridge::node::Application;

const CONCURRENCY: usize = 16;
const EMPS: usize = 3;

fn config(text: &str) -> Config {
    match Config::parse(text, "load_fanout") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn emp_config(i: usize) -> Config {
    config(&format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\n\n\
         [[party]]\nrole = \"emp\"\nid = \"DE-E0{i}\"\n"
    ))
}

fn cpo_config(emp_ports: &[u16]) -> Config {
    let mut text = String::from(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\n\n\
         [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nbackend_token = \"load-backend\"\n",
    );
    for (i, port) in emp_ports.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[peer]]\nrole = \"emp\"\nid = \"DE-E0{i}\"\nurl = \"http://127.0.0.1:{port}/api/oicp\"\ntoken = \"gef-to-e0{i}\"\n"
        );
    }
    config(&text)
}

fn body(n: usize) -> String {
    let status = ["Available", "Occupied", "Reserved", "OutOfService"][n % 4];
    format!(
        r#"{{"ActionType":"update","OperatorEvseStatus":{{"OperatorID":"DE*GEF","EvseStatusRecord":[{{"EvseID":"DE*GEF*E{:05}*1","EvseStatus":"{status}"}}]}}}}"#,
        n % 50_000
    )
}

struct Run {
    requests: usize,
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn empty() -> Self {
        Self {
            requests: 0,
            failures: 0,
            elapsed: Duration::from_secs(1),
            latencies: Vec::new(),
        }
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

/// Drives `url` with `CONCURRENCY` workers for `seconds`.
async fn drive(url: String, token: &'static str, seconds: u64) -> Run {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let failures = Rc::new(RefCell::new(0usize));
    let counter = Rc::new(RefCell::new(0usize));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, url) = (client.clone(), url.clone());
        let (latencies, failures, counter) = (latencies.clone(), failures.clone(), counter.clone());
        workers.push(actix_web::rt::spawn(async move {
            while Instant::now() < deadline {
                let n = {
                    let mut c = counter.borrow_mut();
                    *c += 1;
                    *c
                };
                let t = Instant::now();
                let ok = match client
                    .post(&url)
                    .bearer_auth(token)
                    .insert_header(("Content-Type", "application/json"))
                    .send_body(body(n))
                    .await
                {
                    Ok(mut r) => {
                        r.status().is_success()
                            && r.body()
                                .await
                                .is_ok_and(|b| b.windows(13).any(|w| w == b"\"Result\":true"))
                    }
                    Err(_) => false,
                };
                latencies.borrow_mut().push(t.elapsed());
                if !ok {
                    *failures.borrow_mut() += 1;
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    let mut latencies = latencies.take();
    latencies.sort_unstable();
    Run {
        requests: latencies.len(),
        failures: *failures.borrow(),
        elapsed,
        latencies,
    }
}

#[actix_web::main]
async fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "both".to_owned());
    let (run_baseline, run_fanout) = (mode != "fanout", mode != "baseline");

    let mut emp_nodes = Vec::new();
    for i in 0..EMPS {
        let app = Application::build(emp_config(i))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        emp_nodes.push(app);
    }
    let ports: Vec<u16> = emp_nodes.iter().map(Application::port).collect();
    let cpo = Application::build(cpo_config(&ports))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cpo_port = cpo.port();
    let cpo_state = cpo.state();
    for (i, emp) in emp_nodes.iter().enumerate() {
        let peer = Peer {
            id: PartnerId::parse(Role::Cpo, "DE*GEF").unwrap_or_else(|e| panic!("{e}")),
            url: format!("http://127.0.0.1:{cpo_port}/api/oicp"),
            timeout: Duration::from_secs(10),
            token: None,
            inbound_token: Some(
                if i == 0 {
                    "gef-to-e00"
                } else if i == 1 {
                    "gef-to-e01"
                } else {
                    "gef-to-e02"
                }
                .to_owned(),
            ),
            ocpi: None,
        };
        emp.state()
            .registry
            .upsert(peer)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let emp_states: Vec<_> = emp_nodes.iter().map(Application::state).collect();
    let pushes_received = || -> u64 {
        emp_states
            .iter()
            .flat_map(|s| s.routes.snapshot())
            .filter(|c| c.operation == "PushEvseStatus")
            .map(|c| c.count)
            .sum()
    };
    let mut handles = vec![cpo.handle()];
    actix_web::rt::spawn(cpo.run_until_stopped());
    for emp in emp_nodes {
        handles.push(emp.handle());
        actix_web::rt::spawn(emp.run_until_stopped());
    }

    println!(
        "roambridge load_fanout: single-record PushEvseStatus, concurrency {CONCURRENCY}, {seconds} s per run"
    );

    let base_url = format!(
        "http://127.0.0.1:{}/api/oicp/evsepush/v21/operators/DE*GEF/status-records",
        ports[0]
    );
    let baseline = if run_baseline {
        drive(base_url, "gef-to-e00", seconds).await
    } else {
        Run::empty()
    };

    let url = format!(
        "http://127.0.0.1:{cpo_port}/api/oicp/evsepush/v21/operators/DE*GEF/status-records"
    );
    let received_before = pushes_received();
    let fanout = if run_fanout {
        drive(url, "load-backend", seconds).await
    } else {
        Run::empty()
    };
    let drain_start = Instant::now();
    let expected = fanout.requests as u64 * EMPS as u64;
    let delivered = loop {
        let log = cpo_state.delivery.log();
        let done: u64 = (0..EMPS)
            .filter_map(|i| log.get(&format!("peer:DEE0{i}")))
            .map(|r| r.delivered + r.failed)
            .sum();
        if done >= expected || drain_start.elapsed() > Duration::from_mins(2) {
            break done;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let drain = drain_start.elapsed();
    let batches = pushes_received() - received_before;

    println!();
    println!(
        "{:<36} {:>10} {:>9} {:>10} {:>10} {:>9}",
        "run", "requests", "failed", "pushes/s", "p50", "p99"
    );
    for (name, run) in [
        ("baseline: straight to 1 EMP node", &baseline),
        ("CPO node fanning out to 3 EMP nodes", &fanout),
    ] {
        println!(
            "{:<36} {:>10} {:>9} {:>10.0} {:>10.2?} {:>9.2?}",
            name,
            run.requests,
            run.failures,
            run.rate(),
            run.percentile(0.50),
            run.percentile(0.99)
        );
    }
    println!();
    println!(
        "rate ratio (fan-out / baseline): {:.2}",
        fanout.rate() / baseline.rate()
    );
    println!(
        "fan-out deliveries: {delivered} of {expected} finished, drained {drain:.2?} after the load stopped"
    );
    println!(
        "fan-out batches: {batches} pushes to the EMP nodes, {:.1} records per push",
        delivered as f64 / batches.max(1) as f64
    );
    for h in handles {
        h.stop(true).await;
    }
}
