//! Sessions RECEIVER (ocpi-2.2.1.md §4.2): `GET`/`PUT`/`PATCH` on
//! `receiver/sessions/{cc}/{pid}/{session_id}`. A PUT replaces the Session (its charging
//! periods included); a PATCH merges members and appends `charging_periods`
//! (`mapping::session::apply_patch`). Each applied change goes to the EMP backend as
//! OICP `ChargingNotifications` (`super::forward::session_changed`).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{Written, client, json, same_id, typed};
use crate::mapping::session::apply_patch;
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::transport::{Reply, parse_body, respond};
use crate::ocpi::v221::sessions::{Session, SessionPatch};
use crate::store::ocpi_emsp::{EmspKey, EmspKind, EmspRecord};

/// Adds the Sessions RECEIVER routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource([
            "/receiver/sessions/{cc}/{pid}/{id}",
            "/receiver/sessions/{cc}/{pid}/{id}/",
        ])
        .route(web::get().to(get))
        .route(web::put().to(|r, b, s| write(r, b, s, false)))
        .route(web::patch().to(|r, b, s| write(r, b, s, true))),
    );
}

/// A Session write (pure): the Session to store (none when stale or refused), the previous
/// one, and what happened. `url` is `(cc, pid, id)`.
pub fn apply(
    stored: Option<&Session>,
    url: (&str, &str, &str),
    change: Result<&Session, &SessionPatch>,
) -> Result<(Option<Session>, Written), OcpiError> {
    let (new, at) = match (change, stored) {
        (Ok(full), _) => (full.clone(), full.last_updated.clone()),
        (Err(patch), Some(old)) => (apply_patch(old, patch), patch.last_updated.clone()),
        (Err(_), None) => {
            return Err(OcpiError::NotFound(format!(
                "no Session {}/{}/{} stored here",
                url.0, url.1, url.2
            )));
        }
    };
    same_id("country_code", new.country_code.as_str(), url.0)?;
    same_id("party_id", new.party_id.as_str(), url.1)?;
    same_id("id", new.id.as_str(), url.2)?;
    match stored {
        Some(old) if at < old.last_updated => Ok((None, Written::Stale)),
        Some(_) => Ok((Some(new), Written::Updated)),
        None => Ok((Some(new), Written::Created)),
    }
}

fn url_of(req: &HttpRequest) -> (String, String, String) {
    let get = |n: &str| req.match_info().get(n).unwrap_or_default().to_owned();
    (get("cc"), get("pid"), get("id"))
}

async fn write(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<NodeState>,
    patch: bool,
) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let (cc, pid, id) = url_of(&req);
        client.owner(&cc, &pid)?;
        let change: Result<Session, SessionPatch> = if patch {
            Err(parse_body(&body)?)
        } else {
            Ok(parse_body(&body)?)
        };
        let key = EmspKey::new(EmspKind::Session, &cc, &pid, &id);
        let (previous, session, written) = super::modify(&state, key, move |stored| {
            let old: Option<Session> = stored.as_ref().map(|r| typed(&r.json)).transpose()?;
            let (new, written) = apply(old.as_ref(), (&cc, &pid, &id), change.as_ref())?;
            let record = new
                .as_ref()
                .map(|s| {
                    Ok::<_, OcpiError>(EmspRecord {
                        last_updated: s.last_updated.value().timestamp_millis(),
                        json: json(s)?,
                    })
                })
                .transpose()?;
            Ok((record, (old, new, written)))
        })
        .await?;
        if let Some(session) = session {
            super::forward::session_changed(&state, &client, previous.as_ref(), &session).await?;
        }
        Ok(Reply::with_status::<()>(written.http(), None).routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}

async fn get(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    let result = async {
        let client = client(&req, &state)?;
        let (cc, pid, id) = url_of(&req);
        client.owner(&cc, &pid)?;
        let stored = state
            .store
            .ocpi_emsp_get(EmspKey::new(EmspKind::Session, &cc, &pid, &id))
            .await?
            .ok_or_else(|| OcpiError::NotFound("no such Session stored here".to_owned()))?;
        Ok(Reply::ok(&stored.json).routing(&client.routing.reversed()))
    }
    .await;
    respond(result)
}
