//! Locations module, Sender interface (ocpi-2.2.1.md §4.1): `GET /ocpi/2.2.1/locations` (paged)
//! and the single objects below it, served from the translated view (`store::ocpi_cpo`).
//!
//! # Decisions
//! * **Which party**: with `OCPI-to-*` only that own CPO's Locations (HTTP 404 with 2001 if we
//!   do not host it); without, the Locations of every own CPO party of the platform.
//! * **Order**: `last_updated`, then the Location key, so that pages are stable while nothing
//!   changes. The server cap is `[ocpi] page_limit`.
//! * **Unknown object**: an unknown Location, EVSE or connector answers HTTP 404 with 2003
//!   (unknown Location, §2; a GET of a missing resource SHOULD be 404).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::raw_ok;
use super::view::location_key;
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::pagination::{LIMIT, LINK, PageRequest, TOTAL_COUNT};
use crate::node::ocpi::transport::{Routing, failure_response};
use crate::node::ocpi::{Access, OwnParty};
use crate::ocpi::v221::versions::Role as OcpiRole;
use crate::store::ocpi_cpo::ViewPage;

/// Adds the routes to the version scope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/locations", "/locations/"]).route(web::get().to(list)))
        .service(
            web::resource([
                "/locations/{location_id}",
                "/locations/{location_id}/{evse_uid}",
                "/locations/{location_id}/{evse_uid}/{connector_id}",
            ])
            .route(web::get().to(object)),
        );
}

/// The own CPO parties a request is for.
fn parties<'a>(state: &'a NodeState, req: &HttpRequest) -> Result<Vec<&'a OwnParty>, OcpiError> {
    state
        .ocpi
        .authenticate(req, &state.registry, Access::Functional)?;
    let routing = Routing::from_headers(req.headers())?;
    if routing.to.is_some() {
        return Ok(vec![state.ocpi.addressed(&routing, &OcpiRole::Cpo)?]);
    }
    Ok(state
        .ocpi
        .own_parties()
        .iter()
        .filter(|p| p.role == OcpiRole::Cpo)
        .collect())
}

fn upper(p: &OwnParty) -> (String, String) {
    (
        p.party.country_code.as_str().to_ascii_uppercase(),
        p.party.party_id.as_str().to_ascii_uppercase(),
    )
}

async fn list(req: HttpRequest, state: web::Data<NodeState>) -> HttpResponse {
    match list_page(&req, &state).await {
        Ok(r) => r,
        Err(e) => failure_response(&e),
    }
}

async fn list_page(req: &HttpRequest, state: &NodeState) -> Result<HttpResponse, OcpiError> {
    let parties = parties(state, req)?;
    let page = PageRequest::parse(req.query_string(), state.ocpi.page_limit())?;
    let party = match (
        req.headers().contains_key("ocpi-to-country-code"),
        parties.as_slice(),
    ) {
        (true, [p]) => Some(upper(p)),
        _ => None,
    };
    let (items, total) = state
        .store
        .ocpi_cpo_page(ViewPage {
            party,
            from: page.date_from.map(|t| t.timestamp_millis()),
            to: page.date_to.map(|t| t.timestamp_millis()),
            offset: page.offset,
            limit: page.limit,
        })
        .await?;
    let mut data = String::with_capacity(items.iter().map(String::len).sum::<usize>() + 2);
    data.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(item);
    }
    data.push(']');
    let mut headers = vec![
        (TOTAL_COUNT, total.to_string()),
        (LIMIT, page.cap.to_string()),
    ];
    if let Some(query) = page.next_query(items.len(), total) {
        let url = state.ocpi.module_url("locations");
        headers.push((LINK, format!("<{url}?{query}>; rel=\"next\"")));
    }
    Ok(raw_ok(&data, headers))
}

async fn object(
    req: HttpRequest,
    state: web::Data<NodeState>,
    path: web::Path<Vec<String>>,
) -> HttpResponse {
    match find(&req, &state, &path).await {
        Ok(value) => raw_ok(&value.to_string(), Vec::new()),
        Err(e) => failure_response(&e),
    }
}

/// The Location, EVSE or connector the path names.
async fn find(req: &HttpRequest, state: &NodeState, path: &[String]) -> Result<Value, OcpiError> {
    let parties = parties(state, req)?;
    let Some(location_id) = path.first() else {
        return Err(OcpiError::NotFound("no Location id".to_owned()));
    };
    let mut location = None;
    for p in parties {
        let (cc, pid) = upper(p);
        if let Some(json) = state
            .store
            .ocpi_cpo_location(&location_key(&cc, &pid, location_id))
            .await?
        {
            location = Some(json);
            break;
        }
    }
    let location: Value = serde_json::from_str(
        &location.ok_or_else(|| unknown(format!("no Location {location_id}")))?,
    )
    .map_err(|e| OcpiError::Internal(format!("stored Location: {e}")))?;
    let Some(uid) = path.get(1) else {
        return Ok(location);
    };
    let evse = member(&location, "evses", "uid", uid)
        .ok_or_else(|| unknown(format!("no EVSE {uid} at Location {location_id}")))?;
    let Some(connector) = path.get(2) else {
        return Ok(evse.clone());
    };
    member(evse, "connectors", "id", connector)
        .cloned()
        .ok_or_else(|| unknown(format!("no connector {connector} at EVSE {uid}")))
}

fn unknown(message: String) -> OcpiError {
    OcpiError::NoSuchLocation(message)
}

/// The element of `list` whose `key` equals `id` without regard to case (OCPI `CiString`).
fn member<'a>(parent: &'a Value, list: &str, key: &str, id: &str) -> Option<&'a Value> {
    parent.get(list)?.as_array()?.iter().find(|e| {
        e.get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(id))
    })
}
