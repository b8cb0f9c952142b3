//! Load figures for the P2P node (issue 3): a CPO node receives single-record `PushEvseStatus`
//! requests from its backend at concurrency 16 and fans each out to 3 EMP nodes; the baseline
//! pushes the same requests straight to one EMP node. Prints inbound pushes/s, p50/p99 latency
//! and how long the fan-out took to drain.
//!
//! Run: `cargo run --release --example load_fanout -- [seconds per run, default 10] [both|baseline|fanout] [memory|file] [rounds, default 5]`
//! Everything runs on 127.0.0.1 in this process, with in-memory databases, or with `file` each
//! node with its own database file (WAL, as the shipped configuration; read connections
//! beside the writer) in a fresh directory under the system's temporary directory.
//!
//! The two runs are interleaved: `rounds` rounds of baseline then fan-out, each
//! `seconds / rounds` long, and each fan-out round waits for its deliveries to drain before the
//! next round starts. A machine whose speed drifts (a shared virtual machine: from one minute
//! to the next the same run went 25 % faster or slower) then moves both runs alike, and their
//! ratio is not a comparison of two different minutes. Every push of either run continues one
//! count, so every push changes its EVSE's status whichever run pushed it before.
//!
//! Wall-clock rates depend on what else the machine runs. The example also prints the CPU time
//! the whole process used per inbound push (user + system, from `/proc/self/task/*/stat`), by
//! thread kind: that figure hardly moves with the machine's load, so A/B comparisons of two
//! builds can be made on a busy machine.

#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "request counts and percentile indices of a bounded benchmark run"
)]

use std::cell::RefCell;
use std::collections::BTreeMap;
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

/// The `database` of a node: `:memory:`, or `name.sqlite` in `dir`.
fn database(dir: Option<&std::path::Path>, name: &str) -> String {
    dir.map_or_else(
        || ":memory:".to_owned(),
        |d| d.join(format!("{name}.sqlite")).display().to_string(),
    )
}

fn emp_config(i: usize, dir: Option<&std::path::Path>) -> Config {
    let database = database(dir, &format!("emp{i}"));
    config(&format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \"{database}\"\n\n\
         [[party]]\nrole = \"emp\"\nid = \"DE-E0{i}\"\n"
    ))
}

fn cpo_config(emp_ports: &[u16], dir: Option<&std::path::Path>) -> Config {
    let mut text = format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \"{}\"\n\n\
         [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nbackend_token = \"load-backend\"\n",
        database(dir, "cpo")
    );
    for (i, port) in emp_ports.iter().enumerate() {
        let _ = write!(
            text,
            "\n[[peer]]\nrole = \"emp\"\nid = \"DE-E0{i}\"\nurl = \"http://127.0.0.1:{port}/api/oicp\"\ntoken = \"gef-to-e0{i}\"\n"
        );
    }
    config(&text)
}

/// EVSEs the pushes cycle over.
const EVSES: usize = 50_000;

/// The `n`-th push: EVSE `n % EVSES`, whose status moves on by one at each pass over the
/// EVSEs, so every push is a real change (a backend pushes a status when it changes). With a
/// status that depended on the EVSE alone, every push after the first pass repeated the stored
/// status, and a node that had stored it (the baseline's EMP after its first pass) skipped the
/// write that the fan-out's nodes still made.
fn body(n: usize) -> String {
    let status = ["Available", "Occupied", "Reserved", "OutOfService"][(n + n / EVSES) % 4];
    format!(
        r#"{{"ActionType":"update","OperatorEvseStatus":{{"OperatorID":"DE*GEF","EvseStatusRecord":[{{"EvseID":"DE*GEF*E{:05}*1","EvseStatus":"{status}"}}]}}}}"#,
        n % EVSES
    )
}

/// The allocator of the `roambridge` binary (see `src/main.rs`), so that the figures are those
/// of the node as shipped.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on every Linux architecture
/// that roambridge builds for).
const USER_HZ: f64 = 100.0;

/// CPU ticks (user + system) used so far by each thread of this process, keyed by thread ID,
/// with the thread's name. Threads that ended are not counted; the nodes' threads live for the
/// whole run.
fn thread_ticks() -> BTreeMap<String, (String, u64)> {
    let mut ticks = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return ticks;
    };
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: the name may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the name: state is field 3 of stat(5), utime 14 and stime 15.
        let used = fields
            .get(11..13)
            .map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
        ticks.insert(
            entry.file_name().to_string_lossy().into_owned(),
            (name, used),
        );
    }
    ticks
}

/// CPU seconds used between two [`thread_ticks`] readings, per thread name.
fn cpu_between(
    before: &BTreeMap<String, (String, u64)>,
    after: &BTreeMap<String, (String, u64)>,
) -> BTreeMap<String, f64> {
    let mut by_name = BTreeMap::new();
    for (tid, (name, used)) in after {
        let earlier = before.get(tid).map_or(0, |(_, u)| *u);
        let kind = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == '-');
        *by_name.entry(kind.to_owned()).or_insert(0.0) +=
            used.saturating_sub(earlier) as f64 / USER_HZ;
    }
    by_name
}

struct Run {
    requests: usize,
    failures: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// CPU seconds by thread kind while the run (and, for the fan-out, its drain) lasted.
    cpu: BTreeMap<String, f64>,
}

impl Run {
    fn empty() -> Self {
        Self {
            requests: 0,
            failures: 0,
            elapsed: Duration::from_secs(1),
            latencies: Vec::new(),
            cpu: BTreeMap::new(),
        }
    }

    fn cpu_total(&self) -> f64 {
        self.cpu.values().sum()
    }

    /// CPU microseconds per inbound push.
    fn cpu_per_push(&self) -> f64 {
        self.cpu_total() * 1e6 / self.requests.max(1) as f64
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

impl Run {
    /// Both runs as one.
    fn add(&mut self, other: Self) {
        self.requests += other.requests;
        self.failures += other.failures;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        for (kind, used) in other.cpu {
            *self.cpu.entry(kind).or_insert(0.0) += used;
        }
    }

    fn sorted(mut self) -> Self {
        self.latencies.sort_unstable();
        self
    }
}

/// Drives `url` with `CONCURRENCY` workers for `duration`; the pushes continue `counter`.
async fn drive(
    url: String,
    token: &'static str,
    duration: Duration,
    counter: Rc<RefCell<usize>>,
) -> Run {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let failures = Rc::new(RefCell::new(0usize));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let ticks = thread_ticks();
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
    let latencies = latencies.take();
    Run {
        requests: latencies.len(),
        failures: *failures.borrow(),
        elapsed,
        latencies,
        cpu: cpu_between(&ticks, &thread_ticks()),
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
    let rounds: u32 = std::env::args()
        .nth(4)
        .and_then(|s| s.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(5);
    let dir = (std::env::args().nth(3).as_deref() == Some("file")).then(|| {
        let dir = std::env::temp_dir().join(format!("roambridge-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        dir
    });

    let mut emp_nodes = Vec::new();
    for i in 0..EMPS {
        let app = Application::build(emp_config(i, dir.as_deref()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        emp_nodes.push(app);
    }
    let ports: Vec<u16> = emp_nodes.iter().map(Application::port).collect();
    let cpo = Application::build(cpo_config(&ports, dir.as_deref()))
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
        "roambridge load_fanout: single-record PushEvseStatus, concurrency {CONCURRENCY}, {seconds} s per run, in {rounds} interleaved rounds"
    );

    let base_url = format!(
        "http://127.0.0.1:{}/api/oicp/evsepush/v21/operators/DE*GEF/status-records",
        ports[0]
    );
    let url = format!(
        "http://127.0.0.1:{cpo_port}/api/oicp/evsepush/v21/operators/DE*GEF/status-records"
    );
    let round = Duration::from_secs(seconds) / rounds;
    let counter = Rc::new(RefCell::new(0usize));
    let (mut baseline, mut fanout) = (Run::empty(), Run::empty());
    // A run that is left out keeps `empty`'s one second (a rate of 0).
    if run_baseline {
        baseline.elapsed = Duration::ZERO;
    }
    if run_fanout {
        fanout.elapsed = Duration::ZERO;
    }
    let (mut expected, mut delivered, mut drain) = (0u64, 0u64, Duration::ZERO);
    let mut batches = 0;
    for _ in 0..rounds {
        if run_baseline {
            baseline.add(drive(base_url.clone(), "gef-to-e00", round, counter.clone()).await);
        }
        if !run_fanout {
            continue;
        }
        let ticks_before = thread_ticks();
        let received_before = pushes_received();
        let mut run = drive(url.clone(), "load-backend", round, counter.clone()).await;
        let drain_start = Instant::now();
        expected += run.requests as u64 * EMPS as u64;
        delivered = loop {
            let log = cpo_state.delivery.log();
            let done: u64 = (0..EMPS)
                .filter_map(|i| log.get(&format!("peer:DEE0{i}")))
                .map(|r| r.delivered + r.failed)
                .sum();
            if done >= expected || drain_start.elapsed() > Duration::from_mins(2) {
                break done;
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        };
        drain = drain.max(drain_start.elapsed());
        batches += pushes_received() - received_before;
        // The deliveries are part of what an inbound push costs.
        run.cpu = cpu_between(&ticks_before, &thread_ticks());
        fanout.add(run);
    }
    let (baseline, fanout) = (baseline.sorted(), fanout.sorted());

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
        "fan-out deliveries: {delivered} of {expected} finished, drained at most {drain:.2?} after a round's load stopped"
    );
    println!(
        "fan-out batches: {batches} pushes to the EMP nodes, {:.1} records per push",
        delivered as f64 / batches.max(1) as f64
    );
    println!();
    println!(
        "CPU per inbound push (all threads, user + system): baseline {:.0} µs, fan-out {:.0} µs \
         (fan-out including its drain)",
        baseline.cpu_per_push(),
        fanout.cpu_per_push(),
    );
    if run_baseline && run_fanout {
        println!(
            "CPU ratio (baseline / fan-out per push): {:.2}",
            baseline.cpu_per_push() / fanout.cpu_per_push().max(f64::MIN_POSITIVE)
        );
    }
    let kinds: std::collections::BTreeSet<&String> =
        baseline.cpu.keys().chain(fanout.cpu.keys()).collect();
    println!(
        "{:<28} {:>14} {:>14}",
        "CPU s by thread", "baseline", "fan-out"
    );
    for kind in kinds {
        let (b, f) = (
            baseline.cpu.get(kind).copied().unwrap_or(0.0),
            fanout.cpu.get(kind).copied().unwrap_or(0.0),
        );
        if b + f > 0.0 {
            println!("{kind:<28} {b:>14.2} {f:>14.2}");
        }
    }
    for h in handles {
        h.stop(true).await;
    }
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
}
