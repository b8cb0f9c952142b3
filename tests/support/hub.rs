//! A stand-in for Hubject's HBS: real HTTPS on 127.0.0.1 (rustls, built here independently of
//! the crate's `tls` module) that requires a client certificate issued by the test CA, records
//! every request with the DER of the client certificate it came with, and answers like the
//! HBS: HTTP 200 with a positive acknowledgement, an `AuthorizationStart` with a `SessionID` the
//! hub mints for authorize/start, or configured answers; optionally after a delay.

use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::dev::{Extensions, ServerHandle};
use actix_web::rt::net::TcpStream;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde_json::{Value, json};

use crate::pki::Pki;

/// A request the hub received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: Value,
    pub process_id: Option<String>,
    pub content_type: Option<String>,
    /// DER of the client certificate of the connection.
    pub client_cert: Option<Vec<u8>>,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    /// (path fragment, HTTP status, body), first match wins.
    answers: Mutex<Vec<(String, u16, Value)>>,
    delay: Mutex<Option<Duration>>,
    minted: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The client certificate of a connection, stashed by [`on_connect`].
#[derive(Clone)]
struct PeerCert(Vec<u8>);

fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    if let Some(tls) = conn.downcast_ref::<TlsStream<TcpStream>>()
        && let Some(cert) = tls.get_ref().1.peer_certificates().and_then(<[_]>::first)
    {
        ext.insert(PeerCert(cert.as_ref().to_vec()));
    }
}

/// The hub's TLS configuration: its server certificate, client certificates required and
/// verified against the test CA.
fn server_config(pki: &Pki) -> ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(pki.ca.der())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(pki.hub_server.der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.hub_server.key_der.clone())),
        )
        .unwrap()
}

/// A running stand-in hub.
pub struct Hub {
    pub port: u16,
    state: Arc<State>,
    handle: ServerHandle,
}

impl Hub {
    /// Starts the hub on the current actix system.
    pub fn start(pki: &Pki) -> Self {
        let state: Arc<State> = Arc::default();
        let shared = state.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let state = shared.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let state = state.clone();
                async move { answer(&state, &req, &body).await }
            }))
        })
        .workers(1)
        .on_connect(on_connect)
        .listen_rustls_0_23(listener, server_config(pki))
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            port,
            state,
            handle,
        }
    }

    /// Base URL up to `/api/oicp`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/api/oicp", self.port)
    }

    /// Answers requests whose path contains `fragment` with `status` and `body`.
    pub fn answer(&self, fragment: &str, status: u16, body: Value) {
        self.state
            .answers
            .lock()
            .unwrap()
            .push((fragment.to_owned(), status, body));
    }

    /// Delays every answer.
    pub fn set_delay(&self, delay: Option<Duration>) {
        *self.state.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// `SessionID`s the hub created, in order.
    pub fn minted(&self) -> Vec<String> {
        self.state.minted.lock().unwrap().clone()
    }

    /// The largest number of requests the hub handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

async fn answer(state: &State, req: &HttpRequest, body: &[u8]) -> HttpResponse {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let path = req.path().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.received.lock().unwrap().push(Received {
        path: path.clone(),
        body: body.clone(),
        process_id: header("process-id"),
        content_type: header("content-type"),
        client_cert: req.conn_data::<PeerCert>().map(|c| c.0.clone()),
    });
    let delay = *state.delay.lock().unwrap();
    if let Some(delay) = delay {
        actix_web::rt::time::sleep(delay).await;
    }
    let configured = state
        .answers
        .lock()
        .unwrap()
        .iter()
        .find(|(fragment, ..)| path.contains(fragment.as_str()))
        .map(|(_, status, body)| (*status, body.clone()));
    let (status, value) = configured.unwrap_or_else(|| {
        if path.ends_with("/authorize/start") {
            let session = uuid::Uuid::new_v4().to_string();
            state.minted.lock().unwrap().push(session.clone());
            (
                200,
                json!({
                    "SessionID": session,
                    "CPOPartnerSessionID": body.get("CPOPartnerSessionID"),
                    "EMPPartnerSessionID": null,
                    "ProviderID": "DE-GDF",
                    "AuthorizationStatus": "Authorized",
                    "StatusCode": {"Code": "000", "Description": null, "AdditionalInfo": null},
                    "AuthorizationStopIdentifications": null
                }),
            )
        } else {
            (
                200,
                json!({
                    "Result": true,
                    "StatusCode": {"Code": "000", "Description": null, "AdditionalInfo": null},
                    "SessionID": null,
                    "CPOPartnerSessionID": null,
                    "EMPPartnerSessionID": null
                }),
            )
        }
    });
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .insert_header(("Process-ID", uuid::Uuid::new_v4().to_string()))
        .insert_header(("Content-Type", "application/json;charset=utf-8"))
        .body(value.to_string())
}
