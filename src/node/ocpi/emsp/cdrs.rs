//! CDRs RECEIVER (ocpi-2.2.1.md §4.3): `POST receiver/cdrs` stores a CDR and answers its URL
//! in `Location`; `GET receiver/cdrs/{cc}/{pid}/{id}` returns it. CDRs are immutable: the
//! same CDR posted again is acknowledged (a retry), another CDR with a stored id is refused
//! with 2001. A new CDR is forwarded to the EMP backend as an OICP `ChargeDetailRecord` (see
//! [`super::forward`]).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{Written, client, json};
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{Reply, parse_body, respond};
use crate::ocpi::v221::cdrs::Cdr;
use crate::store::ocpi_emsp::{EmspKey, EmspKind, EmspRecord};

/// `Location` of a stored CDR.
pub const LOCATION: &str = "location";

/// Adds the CDRs RECEIVER routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/receiver/cdrs", "/receiver/cdrs/"]).route(web::post().to(post)));
    cfg.service(
        web::resource([
            "/receiver/cdrs/{cc}/{pid}/{id}",
            "/receiver/cdrs/{cc}/{pid}/{id}/",
        ])
        .route(web::get().to(get)),
    );
}

/// Whether a posted CDR may be stored next to what is stored under its id (pure).
pub fn decide(
    stored: Option<&serde_json::Value>,
    new: &serde_json::Value,
) -> Result<Written, OcpiError> {
    match stored {
        None => Ok(Written::Created),
        Some(old) if old == new => Ok(Written::Stale),
        Some(_) => Err(OcpiError::InvalidParameter(
            "another CDR with this id is stored; CDRs are immutable (send a credit CDR)".to_owned(),
        )),
    }
}

async fn post(req: HttpRequest, body: web::Bytes, state: web::Data<NodeState>) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let cdr: Cdr = parse_body(&body)?;
        let (cc, pid) = client.owner(cdr.country_code.as_str(), cdr.party_id.as_str())?;
        let url = state.ocpi.module_url(&format!(
            "receiver/cdrs/{}/{}/{}",
            cc.as_str(),
            pid.as_str(),
            cdr.id.as_str()
        ));
        let value = json(&cdr)?;
        let key = EmspKey::new(EmspKind::Cdr, cc.as_str(), pid.as_str(), cdr.id.as_str());
        let check = value.clone();
        let existing = state.store.ocpi_emsp_get(key.clone()).await?;
        let written = decide(existing.as_ref().map(|r| &r.json), &check)?;
        if written == Written::Created {
            // Forwarded first (the OICP CDR table deduplicates a retry by SessionID), then kept.
            super::forward::cdr_received(&state, &client, &cdr).await?;
            let at = cdr.last_updated.value().timestamp_millis();
            super::modify(&state, key, move |stored| {
                let written = decide(stored.as_ref().map(|r| &r.json), &value)?;
                let record = (written == Written::Created).then_some(EmspRecord {
                    last_updated: at,
                    json: value,
                });
                Ok((record, ()))
            })
            .await?;
        }
        Ok(Reply::with_status::<()>(written.http(), None)
            .header(LOCATION, url)
            .routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}

async fn get(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let get = |n: &str| req.match_info().get(n).unwrap_or_default().to_owned();
        let (cc, pid) = client.owner(&get("cc"), &get("pid"))?;
        let stored = state
            .store
            .ocpi_emsp_get(EmspKey::new(
                EmspKind::Cdr,
                cc.as_str(),
                pid.as_str(),
                &get("id"),
            ))
            .await?
            .ok_or_else(|| OcpiError::NotFound("no such CDR stored here".to_owned()))?;
        Ok(Reply::ok(&stored.json).routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}
