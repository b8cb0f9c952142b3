//! Status propagation benchmark (issue 5): a CPO backend (this example) pushes EVSE status
//! changes to its CPO node, which delivers them through its durable outbox to 10 EMP nodes.
//! Everything runs in this process on 127.0.0.1 with in-memory databases.
//!
//! Run: `cargo run --release --example status_propagation -- [seconds, default 30] [changes/s, default 10000]`
//!
//! # What it does
//! * 50,000 EVSEs of the operator DE*GEF; changes go out in `PushEvseStatus` `update` requests
//!   of 100 records, paced to the requested rate. The backend uses 4 lanes, each owning a
//!   quarter of the EVSEs and sending its requests one after the other (waiting for each ack),
//!   so the last status pushed for every EVSE is well defined.
//! * **Latency, by sampling**: one record of every request is a *probe*: a change of one of
//!   1,000 reserved EVSEs that no other record touches while the probe is outstanding. A
//!   sampler polls every EMP node's store (`Store::evse_status_by_ids`) every 2 ms for the
//!   outstanding probes and records, per probe and node, the time from the moment the backend
//!   sent the request to the first poll that sees the status. The figures therefore include up
//!   to one polling period plus the time a poll takes.
//! * **Completeness**: after the run, once the CPO node's outbox is empty for every EMP peer
//!   (or 120 s passed), every EVSE's status on every EMP node is compared with the last status
//!   pushed for it.
//! * **Memory**: the process's peak resident set (`VmHWM` of `/proc/self/status`).
//!
//! Targets of the issue: every change arrives, p99 < 250 ms, RSS < 300 MB.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roambridge::config::{Config, PartnerId, Role};
use roambridge::node::{Application, NodeState};
use roambridge::oicp::v23::ids::EvseId;
use roambridge::store::TargetRef;

const EMPS: usize = 10;
const EVSES: usize = 50_000;
const PROBES: usize = 1_000;
const PER_REQUEST: usize = 100;
const LANES: usize = 4;
const LANES_U32: u32 = 4;
const STATES: [&str; 4] = ["Available", "Occupied", "Reserved", "OutOfService"];
const BACKEND_TOKEN: &str = "bench-backend";

fn config(text: &str) -> Config {
    Config::parse(text, "status_propagation").unwrap_or_else(|e| panic!("{e}"))
}

fn evse_id(i: usize) -> String {
    format!("DE*GEF*E{i:05}*1")
}

/// A small deterministic generator (xorshift64*), enough to spread changes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// A probe change in flight.
struct Probe {
    evse: usize,
    status: &'static str,
    sent: Instant,
    arrived: [Option<Duration>; EMPS],
}

#[derive(Default)]
struct Shared {
    /// Probes not yet seen on every EMP node.
    outstanding: Vec<Probe>,
    /// Arrival times of completed (probe, node) pairs.
    latencies: Vec<Duration>,
    /// Probes given up (not seen everywhere within 30 s).
    lost: usize,
    /// Probe EVSEs free for a new probe, per lane.
    free: Vec<Vec<usize>>,
    /// The last status pushed per EVSE.
    last: HashMap<usize, &'static str>,
    /// Ack latencies of the backend's requests.
    acks: Vec<Duration>,
    changes: usize,
    failures: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "an index into a sorted list, from a fraction"
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

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

async fn start(config: Config) -> (u16, Arc<NodeState>) {
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = app.port();
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    (port, state)
}

/// One lane of the backend: sequential requests at its share of the rate.
async fn lane(
    lane: usize,
    url: String,
    interval: Duration,
    t0: Instant,
    seconds: u64,
    shared: Rc<RefCell<Shared>>,
) {
    let client = awc::Client::builder()
        .timeout(Duration::from_mins(1))
        .finish();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (lane as u64 + 1));
    let end = t0 + Duration::from_secs(seconds);
    let mut k: u32 = 0;
    loop {
        let due = t0 + interval * (k * LANES_U32 + u32::try_from(lane).unwrap_or(0));
        if due >= end {
            break;
        }
        let now = Instant::now();
        if due > now {
            actix_web::rt::time::sleep(due - now).await;
        }
        k += 1;
        // 99 ordinary changes of this lane's EVSEs (not probes), distinct, and one probe.
        let mut records: Vec<(usize, &'static str)> = Vec::with_capacity(PER_REQUEST);
        while records.len() < PER_REQUEST - 1 {
            let i = PROBES + rng.below((EVSES - PROBES) / LANES) * LANES + lane;
            if i < EVSES && !records.iter().any(|(e, _)| *e == i) {
                records.push((i, STATES[rng.below(STATES.len())]));
            }
        }
        let probe = shared.borrow_mut().free[lane].pop();
        if let Some(evse) = probe {
            let current = shared.borrow().last.get(&evse).copied();
            let status = STATES
                .iter()
                .copied()
                .find(|s| Some(*s) != current && rng.below(2) == 0)
                .unwrap_or(if current == Some("Available") {
                    "Occupied"
                } else {
                    "Available"
                });
            records.push((evse, status));
        }
        let body = format!(
            r#"{{"ActionType":"update","OperatorEvseStatus":{{"OperatorID":"DE*GEF","OperatorName":"GEF","EvseStatusRecord":[{}]}}}}"#,
            records
                .iter()
                .map(|(e, s)| format!(r#"{{"EvseID":"{}","EvseStatus":"{s}"}}"#, evse_id(*e)))
                .collect::<Vec<_>>()
                .join(",")
        );
        let sent = Instant::now();
        if let Some(evse) = probe {
            let status = records.last().map_or("Available", |r| r.1);
            shared.borrow_mut().outstanding.push(Probe {
                evse,
                status,
                sent,
                arrived: [None; EMPS],
            });
        }
        let ok = match client
            .post(&url)
            .bearer_auth(BACKEND_TOKEN)
            .insert_header(("Content-Type", "application/json"))
            .send_body(body)
            .await
        {
            Ok(mut r) => {
                let bytes = r.body().await.unwrap_or_default();
                r.status().is_success()
                    && String::from_utf8_lossy(&bytes).contains("\"Result\":true")
            }
            Err(_) => false,
        };
        let mut s = shared.borrow_mut();
        s.acks.push(sent.elapsed());
        if ok {
            s.changes += records.len();
            for (e, st) in &records {
                s.last.insert(*e, st);
            }
        } else {
            s.failures += 1;
        }
    }
}

/// Polls the EMP nodes for the outstanding probes every 2 ms until `stop`.
async fn sampler(emps: Vec<Arc<NodeState>>, shared: Rc<RefCell<Shared>>, stop: Rc<RefCell<bool>>) {
    loop {
        let ids: Vec<(usize, EvseId)> = shared
            .borrow()
            .outstanding
            .iter()
            .map(|p| {
                (
                    p.evse,
                    EvseId::parse(&evse_id(p.evse)).unwrap_or_else(|e| panic!("{e}")),
                )
            })
            .collect();
        if !ids.is_empty() {
            let list: Vec<EvseId> = ids.iter().map(|(_, id)| id.clone()).collect();
            for (n, emp) in emps.iter().enumerate() {
                let Ok(records) = emp.store.evse_status_by_ids(&list, None).await else {
                    continue;
                };
                let seen = Instant::now();
                let mut s = shared.borrow_mut();
                for ((evse, _), record) in ids.iter().zip(&records) {
                    if let Some(p) = s.outstanding.iter_mut().find(|p| p.evse == *evse)
                        && p.arrived[n].is_none()
                        && record.evse_status.as_str() == p.status
                    {
                        p.arrived[n] = Some(seen - p.sent);
                    }
                }
            }
            let mut s = shared.borrow_mut();
            let mut i = 0;
            while i < s.outstanding.len() {
                let done = s.outstanding[i].arrived.iter().all(Option::is_some);
                let expired = s.outstanding[i].sent.elapsed() > Duration::from_secs(30);
                if done || expired {
                    let p = s.outstanding.swap_remove(i);
                    if done {
                        s.latencies.extend(p.arrived.iter().flatten());
                    } else {
                        s.lost += 1;
                    }
                    s.free[p.evse % LANES].push(p.evse);
                } else {
                    i += 1;
                }
            }
        } else if *stop.borrow() {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(2)).await;
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "rates and sizes printed as floating point"
)]
#[actix_web::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let rate: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);

    // Ten EMP nodes; each knows the CPO node as a peer by its inbound token.
    let mut emps = Vec::new();
    let mut emp_ports = Vec::new();
    for i in 0..EMPS {
        let (port, state) = start(config(&format!(
            "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\n\n\
             [[party]]\nrole = \"emp\"\nid = \"DE-E{i:02}\"\n\n\
             [[peer]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nurl = \"http://127.0.0.1:9/api/oicp\"\n\
             inbound_token = \"gef-to-e{i:02}\"\n"
        )))
        .await;
        emps.push(state);
        emp_ports.push(port);
    }
    let mut cpo_text = format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\n\n\
         [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF\"\nbackend_token = \"{BACKEND_TOKEN}\"\n"
    );
    for (i, port) in emp_ports.iter().enumerate() {
        let _ = write!(
            cpo_text,
            "\n[[peer]]\nrole = \"emp\"\nid = \"DE-E{i:02}\"\nurl = \"http://127.0.0.1:{port}/api/oicp\"\ntoken = \"gef-to-e{i:02}\"\n"
        );
    }
    let (cpo_port, cpo) = start(config(&cpo_text)).await;
    let url = format!(
        "http://127.0.0.1:{cpo_port}/api/oicp/evsepush/v21/operators/DE*GEF/status-records"
    );
    let targets: Vec<TargetRef> = (0..EMPS)
        .map(|i| {
            TargetRef::peer(
                PartnerId::parse(Role::Emp, &format!("DE-E{i:02}"))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();

    println!(
        "status_propagation: {seconds} s at {rate} changes/s over {EVSES} EVSEs, {PER_REQUEST} per request, \
         {LANES} sequential backend lanes, CPO node -> {EMPS} EMP nodes, in-memory stores"
    );
    let shared = Rc::new(RefCell::new(Shared {
        free: (0..LANES)
            .map(|l| (0..PROBES).filter(|p| p % LANES == l).collect())
            .collect(),
        ..Shared::default()
    }));
    let requests_per_s = (rate as f64 / PER_REQUEST as f64).max(0.001);
    let interval = Duration::from_secs_f64(1.0 / requests_per_s);
    let stop = Rc::new(RefCell::new(false));
    let sampling =
        actix_web::rt::spawn(sampler(emps.clone(), Rc::clone(&shared), Rc::clone(&stop)));
    let t0 = Instant::now();
    let lanes: Vec<_> = (0..LANES)
        .map(|l| {
            actix_web::rt::spawn(lane(
                l,
                url.clone(),
                interval,
                t0,
                seconds,
                Rc::clone(&shared),
            ))
        })
        .collect();
    for l in lanes {
        let _ = l.await;
    }
    let pushed_for = t0.elapsed();

    // Drain: wait until the CPO node's outbox is empty for every EMP peer.
    let drain_start = Instant::now();
    loop {
        let mut pending = 0;
        for t in &targets {
            pending += cpo.store.outbox_counts(t).await.map_or(1, |c| c.0);
        }
        if pending == 0 || drain_start.elapsed() > Duration::from_mins(2) {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let drained_after = drain_start.elapsed();
    *stop.borrow_mut() = true;
    let _ = sampling.await;

    // Completeness: every EVSE on every EMP node has the last status pushed.
    let last = shared.borrow().last.clone();
    let ids: Vec<(usize, EvseId)> = last
        .keys()
        .map(|&i| {
            (
                i,
                EvseId::parse(&evse_id(i)).unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    let mut mismatches = vec![0_usize; EMPS];
    for (n, emp) in emps.iter().enumerate() {
        for chunk in ids.chunks(5_000) {
            let list: Vec<EvseId> = chunk.iter().map(|(_, id)| id.clone()).collect();
            let records = emp
                .store
                .evse_status_by_ids(&list, None)
                .await
                .unwrap_or_default();
            for ((i, _), record) in chunk.iter().zip(&records) {
                if Some(&record.evse_status.as_str()) != last.get(i) {
                    mismatches[n] += 1;
                }
            }
        }
    }

    let s = shared.borrow();
    let mut acks = s.acks.clone();
    acks.sort();
    let mut lat = s.latencies.clone();
    lat.sort();
    let achieved = s.changes as f64 / pushed_for.as_secs_f64();
    println!(
        "backend: {} changes acknowledged in {:.1} s = {achieved:.0} changes/s ({} requests, {} failed), \
         ack p50 {:?} p99 {:?}",
        s.changes,
        pushed_for.as_secs_f64(),
        acks.len(),
        s.failures,
        percentile(&acks, 0.5),
        percentile(&acks, 0.99)
    );
    println!(
        "propagation (probe sampling, {} probes x {EMPS} nodes = {} arrivals, {} probes not seen everywhere within 30 s): \
         p50 {:?} p99 {:?} max {:?}",
        lat.len() / EMPS + s.lost,
        lat.len(),
        s.lost,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or_default()
    );
    println!(
        "outbox drained {:.2} s after the last push; EVSEs pushed: {}; mismatches per EMP node (final state vs last pushed): {mismatches:?} -> {}",
        drained_after.as_secs_f64(),
        last.len(),
        if mismatches.iter().all(|&m| m == 0) {
            "every change arrived"
        } else {
            "NOT every change arrived"
        }
    );
    let record = cpo.delivery.log().get("peer:DEE00").unwrap_or_default();
    println!(
        "delivery to DE-E00: {} status records delivered (after coalescing), {} dead",
        record.delivered, record.failed
    );
    println!("peak RSS (VmHWM): {}", vm_hwm());
}
