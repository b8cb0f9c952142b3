//! Tokens module, Receiver interface (ocpi-2.2.1.md §4.5 "Tokens"): eMSP partners PUT, PATCH
//! and GET their tokens at `/ocpi/2.2.1/receiver/tokens/{country_code}/{party_id}/{uid}
//! [?type=]`; they are stored for local authorization and for `AuthorizeStop`.
//!
//! # Decisions
//! * The URL party must be one of the calling connection's EMSP roles: HTTP 404 with 2001
//!   otherwise (the `UnknownParty` row of `failure`).
//! * `type` defaults to `RFID` (§4.5); the body's `country_code`, `party_id`, `uid` and `type`
//!   must equal the URL's (2001).
//! * A PATCH must carry `last_updated` (2001) and is merged member by member into the stored
//!   token, which must still be a valid Token after the merge (2001 with the JSON paths).
//! * An unknown token answers HTTP 404 with 2004.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{Reply, parse_body, respond};
use crate::node::ocpi::{Access, Authed};
use crate::ocpi::v221::parse_value;
use crate::ocpi::v221::tokens::{Token, TokenPatch};
use crate::ocpi::v221::types::DateTime;
use crate::ocpi::v221::versions::Role as OcpiRole;
use crate::store::ocpi_cpo::StoredToken;

/// The path of the interface below `/ocpi/2.2.1/`.
pub const PATH: &str = "receiver/tokens";

/// Adds the routes to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/receiver/tokens/{country_code}/{party_id}/{uid}")
            .route(web::get().to(get))
            .route(web::put().to(put))
            .route(web::patch().to(patch)),
    );
}

/// The stored key of a request: party and uid upper case, and the type.
#[derive(Debug)]
struct Key {
    cc: String,
    pid: String,
    uid: String,
    token_type: String,
}

fn key(
    req: &HttpRequest,
    state: &NodeState,
    path: &(String, String, String),
) -> Result<Key, OcpiError> {
    let authed = state
        .ocpi
        .authenticate(req, &state.registry, Access::Functional)?;
    let Authed::Connection(connection) = authed else {
        return Err(OcpiError::Unauthorized(
            "not a registered partner".to_owned(),
        ));
    };
    let (cc, pid, uid) = path;
    let theirs = connection.roles.iter().any(|r| {
        r.role == OcpiRole::Emsp
            && r.country_code.as_str().eq_ignore_ascii_case(cc)
            && r.party_id.as_str().eq_ignore_ascii_case(pid)
    });
    if !theirs {
        return Err(OcpiError::UnknownParty(format!(
            "{cc}/{pid} is not an eMSP party of this partner"
        )));
    }
    if uid.is_empty() || uid.len() > 36 {
        return Err(OcpiError::InvalidParameter(
            "uid: 1 to 36 characters".to_owned(),
        ));
    }
    let mut token_type = "RFID".to_owned();
    for pair in req.query_string().split('&') {
        if let Some(t) = pair.strip_prefix("type=") {
            t.clone_into(&mut token_type);
        }
    }
    if !["AD_HOC_USER", "APP_USER", "OTHER", "RFID"].contains(&token_type.as_str()) {
        return Err(OcpiError::InvalidParameter(format!(
            "type: '{token_type}' is not a token type"
        )));
    }
    Ok(Key {
        cc: cc.to_ascii_uppercase(),
        pid: pid.to_ascii_uppercase(),
        uid: uid.to_ascii_uppercase(),
        token_type,
    })
}

/// The body's identity must be the URL's.
fn check_identity(value: &Value, key: &Key) -> Result<(), OcpiError> {
    for (member, expected) in [
        ("country_code", &key.cc),
        ("party_id", &key.pid),
        ("uid", &key.uid),
    ] {
        if let Some(v) = value.get(member).and_then(Value::as_str)
            && !v.eq_ignore_ascii_case(expected)
        {
            return Err(OcpiError::InvalidParameter(format!(
                "$.{member}: '{v}' is not the URL's '{expected}'"
            )));
        }
    }
    if let Some(t) = value.get("type").and_then(Value::as_str)
        && t != key.token_type
    {
        return Err(OcpiError::InvalidParameter(format!(
            "$.type: '{t}' is not the URL's '{}'",
            key.token_type
        )));
    }
    Ok(())
}

fn stored(key: &Key, token: &Token) -> Result<StoredToken, OcpiError> {
    Ok(StoredToken {
        country_code: key.cc.clone(),
        party_id: key.pid.clone(),
        uid: key.uid.clone(),
        token_type: key.token_type.clone(),
        last_updated: token.last_updated.value().timestamp_millis(),
        json: serde_json::to_string(token)
            .map_err(|e| OcpiError::Internal(format!("serialize token: {e}")))?,
    })
}

/// The stored token of `key`, if any.
async fn lookup(state: &NodeState, key: &Key) -> Result<Option<StoredToken>, OcpiError> {
    Ok(state
        .store
        .ocpi_cpo_token(&key.cc, &key.pid, &key.uid, &key.token_type)
        .await?)
}

async fn get(
    req: HttpRequest,
    state: web::Data<NodeState>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    respond(
        async {
            let key = key(&req, &state, &path)?;
            let token = lookup(&state, &key)
                .await?
                .ok_or_else(|| OcpiError::UnknownToken(format!("no token {}", key.uid)))?;
            let value: Value = serde_json::from_str(&token.json)
                .map_err(|e| OcpiError::Internal(format!("stored token: {e}")))?;
            Ok(Reply::ok(&value))
        }
        .await,
    )
}

async fn put(
    req: HttpRequest,
    state: web::Data<NodeState>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            let key = key(&req, &state, &path)?;
            let token: Token = parse_body(&body)?;
            check_identity(
                &serde_json::to_value(&token)
                    .map_err(|e| OcpiError::Internal(format!("serialize token: {e}")))?,
                &key,
            )?;
            let existed = lookup(&state, &key).await?.is_some();
            state
                .store
                .ocpi_cpo_put_token(stored(&key, &token)?)
                .await?;
            Ok(Reply::with_status::<()>(
                if existed { 200 } else { 201 },
                None,
            ))
        }
        .await,
    )
}

async fn patch(
    req: HttpRequest,
    state: web::Data<NodeState>,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    respond(
        async {
            let key = key(&req, &state, &path)?;
            let _checked: TokenPatch = parse_body(&body)?;
            let changes: Value =
                serde_json::from_slice(&body).map_err(|e| OcpiError::BadJson(e.to_string()))?;
            let Some(changes) = changes.as_object() else {
                return Err(OcpiError::InvalidParameter(
                    "the body is not an object".into(),
                ));
            };
            let at = changes
                .get("last_updated")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    OcpiError::InvalidParameter("$.last_updated: required in a PATCH".into())
                })?;
            DateTime::parse(at)
                .map_err(|e| OcpiError::InvalidParameter(format!("$.last_updated: {e}")))?;
            let current = lookup(&state, &key)
                .await?
                .ok_or_else(|| OcpiError::UnknownToken(format!("no token {}", key.uid)))?;
            let mut value: Value = serde_json::from_str(&current.json)
                .map_err(|e| OcpiError::Internal(format!("stored token: {e}")))?;
            check_identity(&Value::Object(changes.clone()), &key)?;
            if let Some(object) = value.as_object_mut() {
                for (k, v) in changes {
                    object.insert(k.clone(), v.clone());
                }
            }
            let token: Token = parse_value(&value).map_err(OcpiError::Invalid)?;
            state
                .store
                .ocpi_cpo_put_token(stored(&key, &token)?)
                .await?;
            Ok(Reply::empty())
        }
        .await,
    )
}
