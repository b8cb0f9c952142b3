//! HTTP surface of the node.
//!
//! * `POST /api/oicp/...`: every OICP 2.3 path, exactly as Hubject's (plus the alternative
//!   reservation paths `charging/v21/providers/{id}/authorize-remote-reservation/start|stop`
//!   that the HBS was seen to use, oicp-2.3.md §2.1).
//! * `/admin/peers`: list, add, update, remove peers at runtime (bearer `admin_token`).
//! * `/admin/outbox`: `GET ?state=pending|dead&limit=N` lists queued messages or dead letters
//!   (ID, target, operation, attempts, last error, created, next attempt);
//!   `POST /admin/outbox/{id}/retry` makes a dead letter pending again (attempts reset, 409 for
//!   a pending message); `DELETE /admin/outbox/{id}` drops a message (204, 404 if unknown).
//! * `GET /health`.
//!
//! Every request gets a `Process-ID` (the caller's, when it sent a sane one) in the response
//! and in its span; the span carries operation, caller, partner and route.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{Server, Service as _};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, HttpMessage as _, HttpRequest, HttpResponse, HttpServer, web};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::NodeState;
use super::failure::{Failure, HasStatus, Negative};
use super::ops::{self, Ctx, PageQuery, percent_decode};
use super::routes::RouteNote;
use crate::config::{PartnerId, Peer, RawPeer, Role};
use crate::oicp::v23::acknowledgement::Acknowledgement;
use crate::oicp::v23::authorization::{AuthorizationStart, AuthorizationStop};
use crate::oicp::v23::cdr::ChargeDetailRecordPage;
use crate::oicp::v23::evse_data::EvseDataPage;
use crate::oicp::v23::evse_status::{EvseStatusByIdResponse, EvseStatusResponse};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::pricing::{EvsePricingResponse, PricingProductDataResponse};
use crate::oicp::v23::scalars::Bounded;
use crate::oicp::v23::validate::Validate;
use crate::oicp::v23::wire::parse;
use crate::peer::client::OicpClient;
use crate::peer::registry::Caller;
use crate::peer::registry::{Registry, RegistryError};
use crate::store::{OutboxState, RetryOutcome};

/// Largest request body accepted (a full EVSE data load of a large operator).
const MAX_BODY: usize = 256 * 1024 * 1024;
const JSON: &str = "application/json;charset=utf-8";

/// The correlation ID of a request.
#[derive(Debug, Clone)]
struct ProcessId(String);

/// Starts serving on `listener`.
pub fn serve(state: Arc<NodeState>, listener: TcpListener) -> std::io::Result<Server> {
    let tls = state.config.node.tls.clone();
    let data = web::Data::from(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::Data::new(OicpClient::with_hub(data.hub.as_ref())))
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .wrap_fn(|req, srv| {
                let pid = req
                    .headers()
                    .get("Process-ID")
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| {
                        !v.is_empty() && v.len() <= 100 && v.bytes().all(|b| b.is_ascii_graphic())
                    })
                    .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
                req.extensions_mut().insert(ProcessId(pid.clone()));
                let response = srv.call(req);
                async move {
                    let mut response = response.await?;
                    if let Ok(value) = HeaderValue::from_str(&pid) {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static("process-id"), value);
                    }
                    Ok(response)
                }
            })
            .configure(oicp_routes)
            .configure(super::ocpi::configure)
            .configure(admin_routes)
            .route("/metrics", web::get().to(metrics))
            .route(
                "/health",
                web::get()
                    .to(|| async { HttpResponse::Ok().json(serde_json::json!({"status": "ok"})) }),
            )
    })
    .on_connect(crate::tls::on_connect);
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, (*config).clone())?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

fn oicp_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/oicp").default_service(web::to(oicp_request)));
}

/// A path template of [`OICP_PATHS`]: literal segments, `None` for the partner ID.
type Template = Vec<Option<&'static str>>;

/// Every OICP path the node serves and its operation, as segments (`None`: the `{id}` of the
/// operator or provider). The four notifications share one path (the handler reads `Type`);
/// the alternative reservation paths `charging/v21/providers/{id}/authorize-remote-reservation/
/// start|stop` are those the HBS was seen to use (oicp-2.3.md §2.1).
///
/// Matched segment by segment by [`oicp_request`] rather than by actix routes: a route with a
/// path parameter is a regular expression tried in turn, which cost a status push about 4 % of
/// the node's CPU (`examples/load_fanout.rs`), where comparing segments costs next to nothing.
static OICP_PATHS: std::sync::LazyLock<Vec<(Template, Operation)>> =
    std::sync::LazyLock::new(|| {
        let template = |path: &'static str| -> Template {
            path.split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then_some(s))
                .collect()
        };
        let mut paths: Vec<(Template, Operation)> = Operation::ALL
            .iter()
            .copied()
            .filter(|op| {
                !matches!(
                    op,
                    Operation::ChargingNotificationProgress
                        | Operation::ChargingNotificationEnd
                        | Operation::ChargingNotificationError
                )
            })
            .map(|op| (template(op.path_template()), op))
            .collect();
        for (path, op) in [
            (
                "/charging/v21/providers/{id}/authorize-remote-reservation/start",
                Operation::AuthorizeRemoteReservationStart,
            ),
            (
                "/charging/v21/providers/{id}/authorize-remote-reservation/stop",
                Operation::AuthorizeRemoteReservationStop,
            ),
        ] {
            paths.push((template(path), op));
        }
        paths
    });

/// The operation of an OICP `path` (below `/api/oicp`) and the raw `{id}` in it, if any.
fn oicp_operation(path: &str) -> Option<(Operation, Option<&str>)> {
    OICP_PATHS.iter().find_map(|(template, op)| {
        let mut id = None;
        let mut segments = path.split('/');
        for part in template {
            let segment = segments.next()?;
            match part {
                Some(literal) if *literal == segment => {}
                Some(_) => return None,
                None if segment.is_empty() => return None,
                None => id = Some(segment),
            }
        }
        segments.next().is_none().then_some((*op, id))
    })
}

/// Every request below `/api/oicp`: 404 for a path that is no OICP operation, 405 (with
/// `Allow: POST`) for another method than `POST`.
///
/// The body is read only after the path, the method, the caller's credential and the path's
/// ID were accepted (see `answer`): a request that is refused for any of these is answered at
/// once, without waiting for a body of up to [`MAX_BODY`] bytes from a caller the node does
/// not know.
async fn oicp_request(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<NodeState>,
    client: web::Data<OicpClient>,
) -> HttpResponse {
    let Some((op, id)) = oicp_operation(req.match_info().unprocessed()) else {
        return HttpResponse::NotFound().finish();
    };
    if req.method() != actix_web::http::Method::POST {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .finish();
    }
    let path_id = id.map(str::to_owned);
    dispatch(op, path_id, req, body, state, client).await
}

async fn dispatch(
    op: Operation,
    path_id: Option<String>,
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<NodeState>,
    client: web::Data<OicpClient>,
) -> HttpResponse {
    let input = Input {
        op,
        path_id,
        req,
        body,
        state: state.into_inner(),
        client: client.get_ref().clone(),
    };
    match op {
        Operation::PushEvseData => {
            run::<_, Acknowledgement, _, _>(input, ops::push_evse_data).await
        }
        Operation::PushEvseStatus => {
            run::<_, Acknowledgement, _, _>(input, ops::push_evse_status).await
        }
        Operation::PushPricingProductData => {
            run::<_, Acknowledgement, _, _>(input, ops::push_pricing_products).await
        }
        Operation::PushEvsePricing => {
            run::<_, Acknowledgement, _, _>(input, ops::push_evse_pricing).await
        }
        Operation::AuthorizeStart => {
            run::<_, AuthorizationStart, _, _>(input, ops::authorize_start).await
        }
        Operation::AuthorizeStop => {
            run::<_, AuthorizationStop, _, _>(input, ops::authorize_stop).await
        }
        Operation::ChargeDetailRecord => {
            run::<_, Acknowledgement, _, _>(input, ops::charge_detail_record).await
        }
        Operation::ChargingNotificationStart
        | Operation::ChargingNotificationProgress
        | Operation::ChargingNotificationEnd
        | Operation::ChargingNotificationError => {
            run::<_, Acknowledgement, _, _>(input, ops::charging_notification).await
        }
        Operation::AuthorizeRemoteStart => {
            run::<_, Acknowledgement, _, _>(input, ops::remote_start).await
        }
        Operation::AuthorizeRemoteStop => {
            run::<_, Acknowledgement, _, _>(input, ops::remote_stop).await
        }
        Operation::AuthorizeRemoteReservationStart => {
            run::<_, Acknowledgement, _, _>(input, ops::reservation_start).await
        }
        Operation::AuthorizeRemoteReservationStop => {
            run::<_, Acknowledgement, _, _>(input, ops::reservation_stop).await
        }
        Operation::PullEvseData => run::<_, EvseDataPage, _, _>(input, ops::pull_evse_data).await,
        Operation::PullEvseStatus => {
            run::<_, EvseStatusResponse, _, _>(input, ops::pull_evse_status).await
        }
        Operation::PullEvseStatusById => {
            run::<_, EvseStatusByIdResponse, _, _>(input, ops::pull_evse_status_by_id).await
        }
        Operation::PullEvseStatusByOperatorId => {
            run::<_, EvseStatusResponse, _, _>(input, ops::pull_evse_status_by_operator_id).await
        }
        Operation::GetChargeDetailRecords => {
            run::<_, ChargeDetailRecordPage, _, _>(input, ops::get_charge_detail_records).await
        }
        Operation::PushAuthenticationData => {
            run::<_, Acknowledgement, _, _>(input, ops::push_authentication_data).await
        }
        Operation::PullPricingProductData => {
            run::<_, PricingProductDataResponse, _, _>(input, ops::pull_pricing_products).await
        }
        Operation::PullEvsePricing => {
            run::<_, EvsePricingResponse, _, _>(input, ops::pull_evse_pricing).await
        }
    }
}

struct Input {
    op: Operation,
    /// The `{id}` of the path, as sent.
    path_id: Option<String>,
    req: HttpRequest,
    /// The body, not read yet.
    body: web::Payload,
    state: Arc<NodeState>,
    client: OicpClient,
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub(super) fn json_response<T: Serialize>(http: u16, body: &T) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(http).unwrap_or(actix_web::http::StatusCode::OK);
    match serde_json::to_vec(body) {
        Ok(bytes) => HttpResponse::build(status).content_type(JSON).body(bytes),
        Err(e) => {
            tracing::error!(error = %e, "response serialization failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

fn reply_failure<Resp: Serialize + Negative>(failure: Failure) -> HttpResponse {
    tracing::info!(code = %failure.code(), http = failure.http, description = ?failure.status.description.as_ref().map(Bounded::as_str), "answered negatively");
    json_response(failure.http, &Resp::negative(failure.status))
}

/// Identifies the caller, checks the path ID, parses and validates the body, then runs `f`.
async fn run<Req, Resp, F, Fut>(input: Input, f: F) -> HttpResponse
where
    Req: DeserializeOwned + Validate,
    Resp: Serialize + Negative + HasStatus,
    F: FnOnce(Ctx, Req) -> Fut,
    Fut: Future<Output = Result<Resp, Failure>>,
{
    let op = input.op;
    let pid = input
        .req
        .extensions()
        .get::<ProcessId>()
        .map_or_else(String::new, |p| p.0.clone());
    let name = if op.path_template().contains("charging-notifications") {
        "ChargingNotification"
    } else {
        op.name()
    };
    let span = tracing::info_span!(
        "oicp",
        operation = name,
        caller = tracing::field::Empty,
        partner = tracing::field::Empty,
        route = tracing::field::Empty,
        process_id = %pid,
    );
    let note = Arc::new(std::sync::Mutex::new(RouteNote::default()));
    let state = Arc::clone(&input.state);
    let (response, code) = answer(input, f, pid, span.clone(), Arc::clone(&note))
        .instrument(span)
        .await;
    let note = note
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    state.routes.record(name, &note, &code);
    response
}

/// The body of an accepted request, at most [`MAX_BODY`] bytes: a larger one (declared in
/// `Content-Length`, or as sent) is refused with 413 and 022; one that breaks off is refused
/// as not valid JSON would be (400, 022).
async fn read_body(req: &HttpRequest, body: web::Payload) -> Result<web::Bytes, Failure> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Failure::too_large(MAX_BODY));
    }
    match body.to_bytes_limited(MAX_BODY).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(Failure::too_large(MAX_BODY)),
        Err(e) => {
            tracing::info!(error = %e, "request body could not be read");
            Err(Failure::unreadable())
        }
    }
}

/// Who calls: the clearing house (its client certificate or token), else the caller the
/// bearer token names.
fn identify(req: &HttpRequest, state: &NodeState) -> Option<Caller> {
    if state
        .config
        .clearing_house
        .as_ref()
        .is_some_and(|hub| hub.identifies_request(req))
    {
        return Some(Caller::Hub);
    }
    bearer(req).and_then(|t| state.registry.identify(t))
}

/// The answer and its OICP code.
async fn answer<Req, Resp, F, Fut>(
    input: Input,
    f: F,
    pid: String,
    span: tracing::Span,
    note: Arc<std::sync::Mutex<RouteNote>>,
) -> (HttpResponse, String)
where
    Req: DeserializeOwned + Validate,
    Resp: Serialize + Negative + HasStatus,
    F: FnOnce(Ctx, Req) -> Fut,
    Fut: Future<Output = Result<Resp, Failure>>,
{
    let op = input.op;
    let refuse = |failure: Failure| {
        let code = failure.code().as_str().to_owned();
        (reply_failure::<Resp>(failure), code)
    };
    let Some(caller) = identify(&input.req, &input.state) else {
        return refuse(Failure::unauthorized("missing or unknown credential"));
    };
    span.record("caller", caller.describe());
    let path_id = match input.path_id.as_deref() {
        None => None,
        Some(raw) => {
            let decoded = percent_decode(raw);
            let role = if op.path_template().contains("{operatorID}") {
                Role::Cpo
            } else {
                Role::Emp
            };
            match PartnerId::parse(role, &decoded) {
                Ok(id) => Some(id),
                Err(e) => {
                    return refuse(Failure::new(
                        crate::oicp::v23::status::Code::DataError,
                        format!("the ID in the path is invalid: {e}"),
                    ));
                }
            }
        }
    };
    if let Some(id) = &path_id
        && !caller.may_act_for(id)
    {
        return refuse(Failure::unauthorized(format!(
            "the caller may not act for {id}"
        )));
    }
    let body = match read_body(&input.req, input.body).await {
        Ok(body) => body,
        Err(failure) => return refuse(failure),
    };
    let request = match parse::<Req>(&body) {
        Ok(r) => r,
        Err(errors) => return refuse(Failure::invalid(&errors)),
    };
    let ctx = Ctx {
        state: input.state,
        client: input.client,
        caller,
        path_id,
        process_id: pid,
        page: PageQuery::parse(input.req.query_string()),
        span,
        note,
    };
    match f(ctx, request).await {
        Ok(response) => {
            tracing::info!("answered");
            let code = response
                .code()
                .map_or_else(|| "000".to_owned(), |c| c.as_str().to_owned());
            (json_response(200, &response), code)
        }
        Err(failure) => refuse(failure),
    }
}

// ---------------------------------------------------------------------------------------------
// Admin API

/// `GET /metrics`: request counters by operation, partner, route and code (Prometheus text).
async fn metrics(state: web::Data<NodeState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.routes.prometheus())
}

/// `GET /admin/routes`: the same counters as JSON, plus the configured default route.
async fn route_counts(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    json_response(
        200,
        &serde_json::json!({
            "default": state.config.routing.default_route().as_str(),
            "clearing_house": state.hub.as_ref().map(crate::clearing_house::ClearingHouseClient::base_url),
            "requests": state.routes.snapshot(),
        }),
    )
}

fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("/routes", web::get().to(route_counts))
            .route("/peers", web::get().to(list_peers))
            .route("/peers", web::post().to(add_peer))
            .route("/peers/{role}/{id}", web::get().to(get_peer))
            .route("/peers/{role}/{id}", web::put().to(update_peer))
            .route("/peers/{role}/{id}", web::delete().to(remove_peer))
            .route("/outbox", web::get().to(list_outbox))
            .route("/outbox/{id}/retry", web::post().to(retry_outbox))
            .route("/outbox/{id}", web::delete().to(drop_outbox)),
    );
}

pub(super) fn admin_error(status: u16, message: impl Into<String>) -> HttpResponse {
    json_response(status, &serde_json::json!({ "error": message.into() }))
}

/// Checks the admin bearer token: 404 when the admin API is off, 401 for a wrong token.
#[expect(
    clippy::result_large_err,
    reason = "the error is the finished admin answer, returned at once"
)]
pub(super) fn admin_auth(req: &HttpRequest, state: &NodeState) -> Result<(), HttpResponse> {
    let Some(expected) = state.config.node.admin_token.as_deref() else {
        return Err(admin_error(
            404,
            "the admin API is disabled (no node.admin_token)",
        ));
    };
    if bearer(req) == Some(expected) {
        Ok(())
    } else {
        Err(admin_error(401, "missing or wrong admin token"))
    }
}

#[derive(Debug, Serialize)]
struct PeerView {
    role: &'static str,
    id: String,
    url: String,
    timeout_ms: u128,
    token_set: bool,
    inbound_token_set: bool,
    delivery: Option<super::delivery::TargetRecord>,
}

fn view(peer: &Peer, state: &NodeState) -> PeerView {
    let key = super::delivery::target_key(&Registry::peer_target(peer));
    PeerView {
        role: peer.id.role().as_str(),
        id: peer.id.to_string(),
        url: peer.url.clone(),
        timeout_ms: peer.timeout.as_millis(),
        token_set: peer.token.is_some(),
        inbound_token_set: peer.inbound_token.is_some(),
        delivery: state.delivery.log().get(&key),
    }
}

async fn list_peers(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let peers: Vec<PeerView> = state
        .registry
        .all_peers()
        .iter()
        .map(|p| view(p, &state))
        .collect();
    json_response(200, &peers)
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the finished admin answer, returned at once"
)]
fn path_peer_id(path: &web::Path<(String, String)>) -> Result<PartnerId, HttpResponse> {
    let (role, id) = path.as_ref();
    let role = Role::parse(role)
        .ok_or_else(|| admin_error(400, format!("'{role}' is not a role (cpo or emp)")))?;
    PartnerId::parse(role, &percent_decode(id)).map_err(|e| admin_error(400, e))
}

/// The admin token check and the peer ID of `/admin/peers/{role}/{id}`, in that order.
#[expect(
    clippy::result_large_err,
    reason = "the error is the finished admin answer, returned at once"
)]
fn admin_peer_id(
    req: &HttpRequest,
    path: &web::Path<(String, String)>,
    state: &NodeState,
) -> Result<PartnerId, HttpResponse> {
    admin_auth(req, state)?;
    path_peer_id(path)
}

async fn get_peer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<NodeState>,
) -> HttpResponse {
    let id = match admin_peer_id(&req, &path, &state) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match state.registry.peer(&id) {
        Some(p) => json_response(200, &view(&p, &state)),
        None => admin_error(404, format!("no peer {id}")),
    }
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the finished admin answer, returned at once"
)]
fn parse_peer(body: &[u8], state: &NodeState) -> Result<Peer, HttpResponse> {
    let raw: RawPeer =
        serde_json::from_slice(body).map_err(|e| admin_error(400, format!("invalid peer: {e}")))?;
    Peer::from_raw(&raw, state.config.node.request_timeout)
        .map_err(|(key, problem)| admin_error(400, format!("{key}: {problem}")))
}

async fn store_peer(peer: Peer, state: &NodeState, created_status: u16) -> HttpResponse {
    let raw = peer.to_raw();
    // One token, one caller: the registry knows the backend and peer tokens, not this one.
    if peer.inbound_token.is_some() && peer.inbound_token == state.config.node.admin_token {
        return admin_error(
            409,
            RegistryError::TokenInUse(peer.id.to_string()).to_string(),
        );
    }
    let created = match state.registry.upsert(peer.clone()) {
        Ok(created) => created,
        Err(e @ RegistryError::OwnParty(_)) => return admin_error(400, e.to_string()),
        Err(e @ RegistryError::TokenInUse(_)) => return admin_error(409, e.to_string()),
    };
    if let Err(e) = state.store.upsert_peer(&raw).await {
        tracing::error!(error = %e, "storing a peer failed");
        return admin_error(500, "the peer is active but could not be stored");
    }
    tracing::info!(peer = %peer.id, created, "peer registered");
    json_response(
        if created { created_status } else { 200 },
        &view(&peer, state),
    )
}

async fn add_peer(req: HttpRequest, body: web::Bytes, state: web::Data<NodeState>) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let peer = match parse_peer(&body, &state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if state.registry.peer(&peer.id).is_some() {
        return admin_error(
            409,
            format!(
                "peer {} exists; use PUT /admin/peers/{}/{} to update it",
                peer.id,
                peer.id.role(),
                peer.id
            ),
        );
    }
    store_peer(peer, &state, 201).await
}

async fn update_peer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<NodeState>,
) -> HttpResponse {
    let id = match admin_peer_id(&req, &path, &state) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let peer = match parse_peer(&body, &state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if peer.id != id {
        return admin_error(
            400,
            format!("the body names {} but the path {}", peer.id, id),
        );
    }
    store_peer(peer, &state, 201).await
}

async fn remove_peer(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<NodeState>,
) -> HttpResponse {
    let id = match admin_peer_id(&req, &path, &state) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if state.registry.remove(&id).is_none() {
        return admin_error(404, format!("no peer {id}"));
    }
    if let Err(e) = state.store.delete_peer(id.role(), &id.canonical()).await {
        tracing::error!(error = %e, "deleting a stored peer failed");
        return admin_error(
            500,
            "the peer is removed but could not be deleted from the database",
        );
    }
    tracing::info!(peer = %id, "peer removed");
    HttpResponse::NoContent().body(BoxBody::new(()))
}

// ---------------------------------------------------------------------------------------------
// Admin API: the outbox and its dead letters

/// Most messages one `GET /admin/outbox` lists (`limit`, default 1000).
const MAX_OUTBOX_LISTING: usize = 10_000;

/// `GET /admin/outbox?state=pending|dead&limit=N`: the messages in that state (default
/// `pending`, which includes coalesced status updates), by ID.
async fn list_outbox(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let mut which = OutboxState::Pending;
    let mut limit = 1000;
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "state" => match OutboxState::parse(v) {
                Some(s) => which = s,
                None => {
                    return admin_error(400, format!("state '{v}' is neither pending nor dead"));
                }
            },
            "limit" => match v.parse::<usize>() {
                Ok(n) if n > 0 => limit = n.min(MAX_OUTBOX_LISTING),
                _ => return admin_error(400, format!("limit '{v}' is not a positive number")),
            },
            _ => {}
        }
    }
    match state.store.outbox_list(which, limit).await {
        Ok(list) => json_response(200, &list),
        Err(e) => {
            tracing::error!(error = %e, "listing the outbox failed");
            admin_error(500, "the outbox could not be read")
        }
    }
}

#[expect(
    clippy::result_large_err,
    reason = "the error is the finished admin answer, returned at once"
)]
fn outbox_id(path: &web::Path<String>) -> Result<i64, HttpResponse> {
    path.parse::<i64>()
        .map_err(|_| admin_error(400, format!("'{}' is not a message ID", path.as_str())))
}

/// `POST /admin/outbox/{id}/retry`: a dead letter becomes pending again (attempts reset).
async fn retry_outbox(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<NodeState>,
) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let id = match outbox_id(&path) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match state.store.outbox_retry(id, chrono::Utc::now()).await {
        Ok(RetryOutcome::Retried) => {
            tracing::info!(outbox_id = id, "dead letter retried");
            state.delivery.wake();
            json_response(200, &serde_json::json!({"id": id, "state": "pending"}))
        }
        Ok(RetryOutcome::NotFound) => admin_error(404, format!("no message {id}")),
        Ok(RetryOutcome::NotDead) => admin_error(409, format!("message {id} is pending, not dead")),
        Err(e) => {
            tracing::error!(error = %e, "retrying a dead letter failed");
            admin_error(500, "the outbox could not be written")
        }
    }
}

/// `DELETE /admin/outbox/{id}`: the message (pending or dead) is deleted, never sent.
async fn drop_outbox(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<NodeState>,
) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let id = match outbox_id(&path) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match state.store.outbox_drop(id).await {
        Ok(true) => {
            tracing::info!(outbox_id = id, "message dropped");
            HttpResponse::NoContent().body(BoxBody::new(()))
        }
        Ok(false) => admin_error(404, format!("no message {id}")),
        Err(e) => {
            tracing::error!(error = %e, "dropping a message failed");
            admin_error(500, "the outbox could not be written")
        }
    }
}
