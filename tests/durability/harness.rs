//! Harness of the durability tests: a recording OICP double that can be started on a port
//! chosen in advance (so a peer can be down first and come back at the same address), the
//! real `roambridge` binary as a child process, in-process nodes, and small HTTP helpers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use roambridge::config::Config;
use roambridge::node::{Application, NodeState};
use serde_json::{Value, json};

pub const CPO_BACKEND: &str = "cpo-backend-token";
pub const EMP_BACKEND: &str = "emp-backend-token";
pub const ADMIN: &str = "admin";

/// A request a double received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub process_id: Option<String>,
    pub body: Value,
}

impl Received {
    /// The request's `Process-ID`, if it had one.
    pub fn process_id(&self) -> Option<&str> {
        self.process_id.as_deref()
    }
}

type Responder = dyn Fn(&str, &Value) -> Option<(u16, Value)> + Send + Sync;

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    responders: Mutex<Vec<Box<Responder>>>,
    delay: Mutex<Option<Duration>>,
    /// CDR receipts per `SessionID` (every receipt counts, accepted or not).
    cdr_receipts: Mutex<HashMap<String, u32>>,
}

/// A stand-in for an OICP partner (peer or backend). It records every request, counts CDR
/// receipts per `SessionID` (a real EMP deduplicates CDRs by `SessionID`), and answers with the
/// first responder that claims the request, else a positive acknowledgement.
#[derive(Clone)]
pub struct Double {
    pub port: u16,
    shared: Arc<Shared>,
    handle: Arc<Mutex<Option<actix_web::dev::ServerHandle>>>,
}

impl Double {
    /// A double on a free port, running (inside an actix system).
    pub fn start() -> Self {
        let double = Self::on(free_port());
        double.up();
        double
    }

    /// A double for `port`, not yet listening (the partner is down).
    pub fn on(port: u16) -> Self {
        Self {
            port,
            shared: Arc::default(),
            handle: Arc::default(),
        }
    }

    /// Starts listening on the double's port (the partner comes back).
    pub fn up(&self) {
        let shared = Arc::clone(&self.shared);
        let server = HttpServer::new(move || {
            let shared = Arc::clone(&shared);
            App::new()
                .app_data(web::PayloadConfig::new(256 * 1024 * 1024))
                .default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                    let shared = Arc::clone(&shared);
                    async move { answer(&shared, &req, &body).await }
                }))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", self.port))
        .unwrap_or_else(|e| panic!("port {}: {e}", self.port))
        .run();
        *self.handle.lock().unwrap() = Some(server.handle());
        actix_web::rt::spawn(server);
    }

    /// Stops listening.
    pub async fn down(&self) {
        let handle = self.handle.lock().unwrap().take();
        if let Some(h) = handle {
            h.stop(false).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/oicp", self.port)
    }

    /// Adds a responder (first match wins).
    pub fn respond(
        &self,
        f: impl Fn(&str, &Value) -> Option<(u16, Value)> + Send + Sync + 'static,
    ) {
        self.shared.responders.lock().unwrap().push(Box::new(f));
    }

    /// Removes every responder: positive acknowledgements again.
    pub fn accept_all(&self) {
        self.shared.responders.lock().unwrap().clear();
    }

    /// Delays every answer.
    pub fn set_delay(&self, delay: Option<Duration>) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn received_at(&self, fragment: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path.contains(fragment))
            .collect()
    }

    /// CDR receipts per `SessionID`.
    pub fn cdr_receipts(&self) -> HashMap<String, u32> {
        self.shared.cdr_receipts.lock().unwrap().clone()
    }

    /// Waits (up to `within`) until `n` requests with `fragment` in the path arrived.
    pub async fn wait_for(&self, fragment: &str, n: usize, within: Duration) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received_at(fragment);
            if got.len() >= n || start.elapsed() > within {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (up to `within`) until `n` distinct `SessionIDs` had a CDR.
    pub async fn wait_for_cdrs(&self, n: usize, within: Duration) -> HashMap<String, u32> {
        let start = Instant::now();
        loop {
            let got = self.cdr_receipts();
            if got.len() >= n || start.elapsed() > within {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn answer(shared: &Shared, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let path = req.path().to_owned();
    let process_id = req
        .headers()
        .get("process-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared.received.lock().unwrap().push(Received {
        path: path.clone(),
        process_id,
        body: body.clone(),
    });
    let wait = *shared.delay.lock().unwrap();
    if let Some(wait) = wait {
        actix_web::rt::time::sleep(wait).await;
    }
    let answer = shared
        .responders
        .lock()
        .unwrap()
        .iter()
        .find_map(|f| f(&path, &body));
    if path.contains("charge-detail-record")
        && let Some(session) = body["SessionID"].as_str()
    {
        *shared
            .cdr_receipts
            .lock()
            .unwrap()
            .entry(session.to_ascii_lowercase())
            .or_default() += 1;
    }
    let (status, value) = answer.unwrap_or_else(|| (200, ack(true, "000")));
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(value)
}

/// An acknowledgement body.
pub fn ack(result: bool, code: &str) -> Value {
    json!({"Result": result, "StatusCode": {"Code": code}})
}

/// A TCP port nobody listens on (for now).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The valid request body of an operation (`tests/fixtures/oicp/valid/<op>.request.json`).
pub fn request(op: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/oicp/valid/{op}.request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A session ID numbered `n`.
pub fn session(n: u32) -> String {
    format!("{n:08x}-7f00-0002-6d8e-48d883f6abb6")
}

/// The CDR fixture for session `n` (it names the EMP DE-GDF as `HubProviderID`).
pub fn cdr(n: u32) -> Value {
    let mut body = request("ChargeDetailRecord");
    body["SessionID"] = json!(session(n));
    body
}

/// A status push of the CPO DE*GEF.
pub fn status_push(action: &str, records: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(e, s)| json!({"EvseID": e, "EvseStatus": s}))
        .collect();
    json!({"ActionType": action, "OperatorEvseStatus": {"OperatorID": "DE*GEF",
        "OperatorName": "GEF", "EvseStatusRecord": records}})
}

pub const STATUS_PATH: &str = "/evsepush/v21/operators/DE*GEF/status-records";
pub const CDR_PATH: &str = "/cdrmgmt/v22/operators/DE*GEF/charge-detail-record";

/// The answer of an HTTP call.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["StatusCode"]["Code"].as_str().unwrap_or("")
    }
}

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
}

/// POSTs JSON with a bearer token.
pub async fn post(url: &str, token: &str, body: &Value) -> Answer {
    let mut resp = client()
        .post(url)
        .bearer_auth(token)
        .insert_header(("Content-Type", "application/json"))
        .send_body(serde_json::to_vec(body).unwrap())
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = resp.status().as_u16();
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// Sends an admin request with the admin token.
pub async fn admin(method: &str, url: &str) -> (u16, Value) {
    let c = client();
    let req = match method {
        "GET" => c.get(url),
        "POST" => c.post(url),
        "DELETE" => c.delete(url),
        other => panic!("{other}"),
    };
    let mut resp = req.bearer_auth(ADMIN).send().await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.body().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Polls `f` every 20 ms until it holds or `within` passed; returns whether it held.
pub async fn eventually(within: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > within {
            return false;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An in-process node.
pub struct Node {
    pub port: u16,
    pub state: Arc<NodeState>,
}

impl Node {
    /// Starts a node from TOML text below a `[node]` table (port 0, memory database, admin
    /// token `admin`, 2 s timeout).
    pub async fn start(toml: &str) -> Self {
        let text = format!(
            "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\nadmin_token = \"admin\"\nrequest_timeout_ms = 2000\n\n{toml}"
        );
        let config = Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
        let app = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = app.port();
        let state = app.state();
        actix_web::rt::spawn(app.run_until_stopped());
        Self { port, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/api/oicp{path}", self.port)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/admin{path}", self.port)
    }
}

/// A fresh temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "roambridge-durability-{}-{name}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The real `roambridge` binary running a node.
pub struct Process {
    child: Option<Child>,
    pub port: u16,
}

impl Process {
    /// Runs `roambridge run --config <config>` (the node listening on `port`), its log
    /// appended to `log`, and waits until it answers `/health`.
    pub async fn start(config: &Path, port: u16, log: &Path) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_roambridge"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        let mut process = Self {
            child: Some(child),
            port,
        };
        let url = format!("http://127.0.0.1:{port}/health");
        let up = eventually(Duration::from_secs(20), async || {
            matches!(
                awc::Client::default().get(&url).send().await,
                Ok(r) if r.status().is_success()
            )
        })
        .await;
        if !up {
            process.kill();
            panic!(
                "the node did not come up: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/api/oicp{path}", self.port)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/admin{path}", self.port)
    }

    /// SIGKILL (no shutdown of any kind), then reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs the `roambridge` binary to completion; returns exit code, stdout and stderr.
pub fn roambridge(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_roambridge"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The configuration of a CPO node DE*GEF (backend token `cpo-backend-token`) with the EMP
/// peer DE-GDF at `peer_port`, a file database in `dir`, and `extra` TOML (e.g. a
/// `[delivery]` table).
pub fn cpo_process_config(dir: &Path, node_port: u16, peer_port: u16, extra: &str) -> PathBuf {
    let text = format!(
        "[node]\nlisten = \"127.0.0.1:{node_port}\"\ndatabase = \"{db}\"\nadmin_token = \"admin\"\n\
         request_timeout_ms = 2000\n\n{extra}\n\n\
         [[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF\"\nbackend_token = \"{CPO_BACKEND}\"\n\n\
         [[peer]]\nrole = \"emp\"\nid = \"DE-GDF\"\nurl = \"http://127.0.0.1:{peer_port}/api/oicp\"\n\
         token = \"gef-to-gdf\"\ninbound_token = \"gdf-to-gef\"\n",
        db = dir.join("cpo.sqlite").display()
    );
    let path = dir.join("cpo.toml");
    std::fs::write(&path, text).unwrap();
    path
}
