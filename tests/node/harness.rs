//! Test harness: real nodes on 127.0.0.1 port 0, backend and peer doubles that record what they
//! receive and answer as told, and a small OICP HTTP client.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use roambridge::config::{Config, PartnerId, Peer, Role};
use roambridge::node::{Application, NodeState};
use serde_json::{Value, json};

/// A request a double received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub process_id: Option<String>,
    pub body: Value,
}

type Responder = dyn Fn(&str, &Value) -> Option<(u16, Value)> + Send + Sync;

/// A stand-in for a party's own OICP backend (or any OICP server): records every request and
/// answers with the first responder that claims the path, else a positive acknowledgement.
#[derive(Clone)]
pub struct Double {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    responders: Arc<Mutex<Vec<Box<Responder>>>>,
    delay: Arc<Mutex<Option<Duration>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Double {
    #[expect(
        clippy::unused_async,
        reason = "it must run inside the test's actix system"
    )]
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let responders: Arc<Mutex<Vec<Box<Responder>>>> = Arc::default();
        let delay: Arc<Mutex<Option<Duration>>> = Arc::default();
        let (r, s, d) = (received.clone(), responders.clone(), delay.clone());
        let server = HttpServer::new(move || {
            let (r, s, d) = (r.clone(), s.clone(), d.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (r, s, d) = (r.clone(), s.clone(), d.clone());
                async move {
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let path = req.path().to_owned();
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    r.lock().unwrap().push(Received {
                        path: path.clone(),
                        authorization: header("authorization"),
                        process_id: header("process-id"),
                        body: body.clone(),
                    });
                    let wait = *d.lock().unwrap();
                    if let Some(wait) = wait {
                        actix_web::rt::time::sleep(wait).await;
                    }
                    let answer = s.lock().unwrap().iter().find_map(|f| f(&path, &body));
                    let (status, value) = answer.unwrap_or_else(|| (200, ack(true, "000")));
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .json(value)
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            port,
            received,
            responders,
            delay,
            handle,
        }
    }

    /// Base URL as a node wants it (up to `/api/oicp`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/oicp", self.port)
    }

    /// Answers requests whose path contains `fragment` with `body` (HTTP 200).
    pub fn answer(&self, fragment: &'static str, body: Value) {
        self.respond(move |path, _| path.contains(fragment).then(|| (200, body.clone())));
    }

    /// Adds a responder (first match wins, in order of registration).
    pub fn respond(
        &self,
        f: impl Fn(&str, &Value) -> Option<(u16, Value)> + Send + Sync + 'static,
    ) {
        self.responders.lock().unwrap().push(Box::new(f));
    }

    /// Delays every answer.
    pub fn set_delay(&self, delay: Option<Duration>) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests received whose path contains `fragment`.
    pub fn received_at(&self, fragment: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path.contains(fragment))
            .collect()
    }

    /// Waits (up to 5 s) until `n` requests with `fragment` in the path arrived.
    pub async fn wait_for(&self, fragment: &str, n: usize) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let got = self.received_at(fragment);
            if got.len() >= n || start.elapsed() > Duration::from_secs(5) {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// An acknowledgement body.
pub fn ack(result: bool, code: &str) -> Value {
    json!({"Result": result, "StatusCode": {"Code": code}})
}

/// A running node.
pub struct Node {
    pub port: u16,
    pub state: Arc<NodeState>,
    handle: actix_web::dev::ServerHandle,
}

impl Node {
    /// Starts a node from TOML text (listen and database are forced to port 0 and memory).
    pub async fn start(toml: &str) -> Self {
        let text = format!(
            "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\nadmin_token = \"admin\"\nrequest_timeout_ms = 2000\n\n{toml}"
        );
        let config = Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"));
        Self::from_config(config).await
    }

    pub async fn from_config(config: Config) -> Self {
        let app = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = app.port();
        let state = app.state();
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        Self {
            port,
            state,
            handle,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/api/oicp", self.port)
    }

    /// Registers a peer directly (tests learn ports only after binding).
    pub fn add_peer(
        &self,
        role: Role,
        id: &str,
        url: &str,
        token: Option<&str>,
        inbound: Option<&str>,
        timeout_ms: u64,
    ) {
        let peer = Peer {
            id: PartnerId::parse(role, id).unwrap(),
            url: url.to_owned(),
            timeout: Duration::from_millis(timeout_ms),
            token: token.map(str::to_owned),
            inbound_token: inbound.map(str::to_owned),
            ocpi: None,
        };
        self.state.registry.upsert(peer).unwrap();
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// The answer of an HTTP call.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub process_id: Option<String>,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["StatusCode"]["Code"].as_str().unwrap_or("")
    }
}

/// POSTs JSON with an optional bearer token.
pub async fn post(url: &str, token: Option<&str>, body: &Value) -> Answer {
    post_raw(url, token, serde_json::to_vec(body).unwrap(), &[]).await
}

pub async fn post_raw(
    url: &str,
    token: Option<&str>,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> Answer {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let mut req = client
        .post(url)
        .insert_header(("Content-Type", "application/json"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut resp = req.send_body(body).await.unwrap();
    let status = resp.status().as_u16();
    let process_id = resp
        .headers()
        .get("process-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        process_id,
        body,
    }
}

/// Sends an admin request.
pub async fn admin(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let client = awc::Client::default();
    let mut req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PUT" => client.put(url),
        "DELETE" => client.delete(url),
        other => panic!("{other}"),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let mut resp = match body {
        Some(b) => req.send_json(b).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let status = resp.status().as_u16();
    let bytes = resp.body().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A TCP port nobody listens on.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
