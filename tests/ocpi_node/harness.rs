//! Nodes on port 0 with in-memory stores, a scripted OCPI partner, and a small HTTP client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::oicp_harness::Node;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use roambridge::config::{PartnerId, Role};
use roambridge::node::NodeState;
use roambridge::store::ocpi::OcpiConnection;
use serde_json::{Value, json};

/// A CPO party (OCPI DE/GEF).
pub const CPO: &str = "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\n";
/// An EMP party (OCPI DE/GDF).
pub const EMP: &str = "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\n";

pub fn cpo_id() -> PartnerId {
    PartnerId::parse(Role::Cpo, "DE*GEF").unwrap()
}

pub fn emp_id() -> PartnerId {
    PartnerId::parse(Role::Emp, "DE-GDF").unwrap()
}

/// `Token <base64>`.
pub fn token(t: &str) -> String {
    format!(
        "Token {}",
        base64::engine::general_purpose::STANDARD.encode(t)
    )
}

/// The OCPI side of a node of the OICP node tests' harness.
pub trait OcpiNode {
    fn base(&self) -> String;

    fn versions(&self) -> String {
        format!("{}/ocpi/versions", self.base())
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    fn state(&self) -> &NodeState;

    fn connection(&self, peer: &PartnerId) -> Option<Arc<OcpiConnection>> {
        self.state().ocpi.connection(peer)
    }

    /// Calls the admin API with the admin token.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| serde_json::to_vec(&b).unwrap());
        call(
            method,
            &self.at(path),
            &[("Authorization", "Bearer admin")],
            body,
        )
        .await
    }

    /// Issues a token A (optionally for `role`/`id`).
    async fn token_a(&self, peer: Option<(&str, &str)>) -> String {
        let body = peer.map_or_else(|| json!({}), |(r, i)| json!({"role": r, "id": i}));
        let a = self.admin("POST", "/admin/ocpi/tokens", Some(body)).await;
        assert_eq!(a.status, 201, "{a:?}");
        assert_eq!(a.body["versions_url"], self.versions());
        a.body["token"].as_str().unwrap().to_owned()
    }

    /// Registers with the partner of `partner_versions` using its `token_a`.
    async fn register(&self, partner_versions: &str, token_a: &str) -> Answer {
        self.admin(
            "POST",
            "/admin/ocpi/register",
            Some(json!({"versions_url": partner_versions, "token": token_a})),
        )
        .await
    }
}

impl OcpiNode for Node {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn state(&self) -> &NodeState {
        &self.state
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The OCPI `status_code`.
    pub fn code(&self) -> i64 {
        self.body["status_code"].as_i64().unwrap_or(-1)
    }
}

/// Any request.
pub async fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let mut req = client.request(
        awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
        url,
    );
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut resp = match body {
        Some(b) => req
            .insert_header(("Content-Type", "application/json"))
            .send_body(b)
            .await
            .unwrap(),
        None => req.send().await.unwrap(),
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// An OCPI request with `Authorization: <auth>`.
pub async fn ocpi(method: &str, url: &str, auth: &str, body: Option<Value>) -> Answer {
    call(
        method,
        url,
        &[("Authorization", auth)],
        body.map(|b| serde_json::to_vec(&b).unwrap()),
    )
    .await
}

/// A request a scripted partner received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a scripted partner answers: status, extra headers, body.
pub type Script = dyn Fn(&Seen, u16) -> (u16, Vec<(String, String)>, Value) + Send + Sync;

/// A scripted OCPI partner: records every request and answers with the script (which gets
/// the request and the partner's own port).
pub struct Partner {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Partner {
    #[expect(
        clippy::unused_async,
        reason = "it must run inside the test's actix system"
    )]
    pub async fn start(
        script: impl Fn(&Seen, u16) -> (u16, Vec<(String, String)>, Value) + Send + Sync + 'static,
    ) -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let port_cell: Arc<Mutex<u16>> = Arc::default();
        let (s, f, p) = (seen.clone(), script.clone(), port_cell.clone());
        let server = HttpServer::new(move || {
            let (s, f, p) = (s.clone(), f.clone(), p.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (s, f, p) = (s.clone(), f.clone(), p.clone());
                async move {
                    let seen = Seen {
                        method: req.method().to_string(),
                        path: req.path().to_owned(),
                        query: req.query_string().to_owned(),
                        headers: req
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                            .collect(),
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    };
                    s.lock().unwrap().push(seen.clone());
                    let port = *p.lock().unwrap();
                    let (status, headers, body) = f(&seen, port);
                    let mut b =
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
                    for (k, v) in headers {
                        b.insert_header((k, v));
                    }
                    b.json(body)
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        *port_cell.lock().unwrap() = port;
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { port, seen, handle }
    }

    pub fn at(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// An OCPI success envelope around `data` (no timestamp: partners were seen to omit it).
#[expect(
    clippy::needless_pass_by_value,
    reason = "scripts pass json! values inline"
)]
pub fn ok(data: Value) -> (u16, Vec<(String, String)>, Value) {
    (200, Vec::new(), json!({"data": data, "status_code": 1000}))
}
