//! The OCPI admin API (bearer `node.admin_token`, like `/admin/peers`):
//!
//! * `POST /admin/ocpi/tokens` `{"role": "cpo", "id": "NL*TNM"}` (both optional): issues a
//!   token A for a partner to register with us; 201 `{"token", "versions_url", "peer"}`.
//! * `POST /admin/ocpi/register` `{"versions_url", "token", "role"?, "id"?}`: registers with a
//!   partner using its token A; 201 with the connection.
//! * `GET /admin/ocpi/connections`: the registered connections (tokens never shown).
//! * `POST /admin/ocpi/connections/{role}/{id}/update`: re-reads the partner's endpoints and
//!   rotates both tokens (credentials `PUT`); 200 with the connection.
//! * `POST /admin/ocpi/connections/{role}/{id}/pull/locations`: reads the CPO partner's
//!   Locations into the eMSP side (`emsp::pull`); 200 with counts.
//! * `DELETE /admin/ocpi/connections/{role}/{id}`: unregisters (credentials `DELETE` at the
//!   partner) and forgets; 204, or 502 after forgetting when the partner could not be told.
//!
//! A failed handshake answers 502 `{"error", "ocpi_status_code"}` with the OCPI status the
//! failure maps to (3001 partner API unusable, 3002 no 2.2.1, 3003 no credentials endpoint);
//! an input problem 400, an unknown connection 404, a registration that exists 409.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::client::OcpiClient;
use super::credentials;
use super::failure::OcpiError;
use crate::config::{PartnerId, Role};
use crate::node::NodeState;
use crate::node::http::{admin_auth, admin_error, json_response};
use crate::node::ops::percent_decode;
use crate::store::ocpi::OcpiConnection;

/// The `/admin/ocpi` scope.
pub fn scope() -> actix_web::Scope {
    web::scope("/admin/ocpi")
        .route("/tokens", web::post().to(issue_token))
        .route("/register", web::post().to(register))
        .route("/connections", web::get().to(list))
        .route(
            "/connections/{role}/{id}/update",
            web::post().to(connection_action),
        )
        .route(
            "/connections/{role}/{id}",
            web::delete().to(connection_action),
        )
        .route(
            "/connections/{role}/{id}/pull/locations",
            web::post().to(super::emsp::pull::admin_pull_locations),
        )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerRef {
    role: Option<String>,
    id: Option<String>,
}

impl PeerRef {
    #[expect(
        clippy::result_large_err,
        reason = "the error is the finished admin answer, returned at once"
    )]
    fn parse(&self) -> Result<Option<PartnerId>, HttpResponse> {
        match (&self.role, &self.id) {
            (None, None) => Ok(None),
            (Some(role), Some(id)) => {
                let role = Role::parse(role).ok_or_else(|| {
                    admin_error(400, format!("'{role}' is not a role (cpo or emp)"))
                })?;
                PartnerId::parse(role, id)
                    .map(Some)
                    .map_err(|e| admin_error(400, e))
            }
            _ => Err(admin_error(400, "role and id go together")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    versions_url: String,
    token: String,
    role: Option<String>,
    id: Option<String>,
}

/// A connection as the admin API shows it.
#[derive(Debug, Serialize)]
struct ConnectionView {
    role: &'static str,
    id: String,
    versions_url: String,
    version: String,
    registered_by_us: bool,
    parties: Vec<String>,
    endpoints: Vec<String>,
    updated_at: String,
}

fn view(c: &OcpiConnection) -> ConnectionView {
    ConnectionView {
        role: c.peer_role.as_str(),
        id: c.peer_id.clone(),
        versions_url: c.versions_url.clone(),
        version: c.version.clone(),
        registered_by_us: c.registered_by_us,
        parties: c
            .roles
            .iter()
            .map(|r| {
                format!(
                    "{} {}/{}",
                    r.role,
                    r.country_code.as_str(),
                    r.party_id.as_str()
                )
            })
            .collect(),
        endpoints: c
            .endpoints
            .iter()
            .map(|e| format!("{} {} {}", e.identifier.as_str(), e.role, e.url.as_str()))
            .collect(),
        updated_at: chrono::DateTime::from_timestamp_millis(c.updated_at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
    }
}

/// The admin answer of a failed OCPI step.
pub(super) fn failed(e: &OcpiError) -> HttpResponse {
    let http = match e {
        OcpiError::NotFound(_) => 404,
        OcpiError::MethodNotAllowed(_) => 409,
        OcpiError::Internal(detail) => {
            tracing::error!(error = %detail, "OCPI admin request failed");
            500
        }
        OcpiError::InvalidParameter(_) | OcpiError::Invalid(_) | OcpiError::BadJson(_) => 400,
        _ => 502,
    };
    json_response(
        http,
        &serde_json::json!({"error": e.status_message(), "ocpi_status_code": e.status_code()}),
    )
}

async fn issue_token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let peer_ref: PeerRef = if body.iter().all(u8::is_ascii_whitespace) {
        PeerRef::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(p) => p,
            Err(e) => return admin_error(400, format!("invalid request: {e}")),
        }
    };
    let peer = match peer_ref.parse() {
        Ok(p) => p,
        Err(r) => return r,
    };
    match state.ocpi.issue_token_a(&state.store, peer.clone()).await {
        Ok(token) => {
            tracing::info!(peer = ?peer.as_ref().map(ToString::to_string), "OCPI token A issued");
            json_response(
                201,
                &serde_json::json!({
                    "token": token.token,
                    "versions_url": state.ocpi.versions_url(),
                    "peer": peer.map(|p| p.to_string()),
                }),
            )
        }
        Err(e) => failed(&e.into()),
    }
}

async fn register(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
    client: web::Data<OcpiClient>,
) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let request: RegisterRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return admin_error(400, format!("invalid request: {e}")),
    };
    let hint = match (PeerRef {
        role: request.role,
        id: request.id,
    })
    .parse()
    {
        Ok(h) => h,
        Err(r) => return r,
    };
    if request.token.trim().is_empty() || request.versions_url.trim().is_empty() {
        return admin_error(400, "versions_url and token must not be empty");
    }
    match credentials::register(
        &state,
        &client,
        request.versions_url.trim(),
        request.token.trim(),
        hint,
    )
    .await
    {
        Ok(c) => {
            super::emsp::pull::after_registration(&state, &client, &c);
            json_response(201, &view(&c))
        }
        Err(e) => failed(&e),
    }
}

async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    if let Err(r) = admin_auth(&req, &state) {
        return r;
    }
    let all: Vec<ConnectionView> = state.ocpi.connections().iter().map(|c| view(c)).collect();
    json_response(200, &all)
}

/// The admin token check, then the peer of `/connections/{role}/{id}`.
#[expect(
    clippy::result_large_err,
    reason = "the error is the finished admin answer, returned at once"
)]
pub(super) fn admin_peer(
    req: &HttpRequest,
    path: &web::Path<(String, String)>,
    state: &NodeState,
) -> Result<PartnerId, HttpResponse> {
    admin_auth(req, state)?;
    let (role, id) = path.as_ref();
    PeerRef {
        role: Some(role.clone()),
        id: Some(percent_decode(id)),
    }
    .parse()?
    .ok_or_else(|| admin_error(400, "no peer"))
}

/// `POST .../update` (credentials `PUT` with new tokens) and `DELETE` (unregister).
async fn connection_action(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<NodeState>,
    client: web::Data<OcpiClient>,
) -> HttpResponse {
    let peer = match admin_peer(&req, &path, &state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = if req.method() == actix_web::http::Method::DELETE {
        credentials::unregister(&state, &client, &peer)
            .await
            .map(|()| None)
    } else {
        credentials::update(&state, &client, &peer).await.map(Some)
    };
    match result {
        Ok(Some(c)) => json_response(200, &view(&c)),
        Ok(None) => HttpResponse::NoContent().finish(),
        Err(e) => failed(&e),
    }
}
