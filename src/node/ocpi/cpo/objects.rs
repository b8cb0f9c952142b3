//! The Sender interfaces of Sessions, CDRs and Tariffs (ocpi-2.2.1.md §4.2, §4.3, §4.4): a
//! paged `GET` served from the stored objects (`store::ocpi_cpo_objects`), each module through
//! [`list`].
//!
//! # Decisions
//! * **Whose objects**: a Session or CDR is for the eMSP party of its token; the caller sees
//!   those of its connection's EMSP roles, a Tariff also when it is for every eMSP (OICP
//!   products for `*`). Another partner's objects are not listed (no error: its list is empty).
//!   `OCPI-to-*` headers are not read here: the list holds the objects of every own CPO for
//!   the caller (the Locations SENDER narrows by them; these lists are per eMSP already).
//! * **Order and paging** as the Locations Sender: `last_updated`, then the object key;
//!   `offset`/`limit`/`date_from`/`date_to`, `Link`, `X-Total-Count`, `X-Limit` (cap
//!   `[ocpi] page_limit`), 2001 for bad parameters.

use actix_web::{HttpRequest, HttpResponse};

use super::raw_ok;
use crate::node::NodeState;
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::pagination::{LIMIT, LINK, PageRequest, TOTAL_COUNT};
use crate::node::ocpi::transport::failure_response;
use crate::node::ocpi::{Access, Authed};
use crate::ocpi::v221::versions::Role as OcpiRole;
use crate::store::ocpi_cpo_objects::{EVERY_EMSP, ObjectKind, ObjectPage};

/// The answer to `GET /ocpi/2.2.1/{module}` for objects of `kind`.
pub async fn list(
    req: &HttpRequest,
    state: &NodeState,
    kind: ObjectKind,
    module: &str,
) -> HttpResponse {
    match page(req, state, kind, module).await {
        Ok(r) => r,
        Err(e) => failure_response(&e),
    }
}

async fn page(
    req: &HttpRequest,
    state: &NodeState,
    kind: ObjectKind,
    module: &str,
) -> Result<HttpResponse, OcpiError> {
    let Authed::Connection(connection) =
        state
            .ocpi
            .authenticate(req, &state.registry, Access::Functional)?
    else {
        return Err(OcpiError::Unauthorized(
            "not a registered partner".to_owned(),
        ));
    };
    let page = PageRequest::parse(req.query_string(), state.ocpi.page_limit())?;
    let mut audiences: Vec<String> = connection
        .roles
        .iter()
        .filter(|r| r.role == OcpiRole::Emsp)
        .map(|r| {
            format!("{}/{}", r.country_code.as_str(), r.party_id.as_str()).to_ascii_uppercase()
        })
        .collect();
    if kind == ObjectKind::Tariff {
        audiences.push(EVERY_EMSP.to_owned());
    }
    let (items, total) = state
        .store
        .ocpi_cpo_object_page(ObjectPage {
            kind,
            audiences,
            from: page.date_from.map(|t| t.timestamp_millis()),
            to: page.date_to.map(|t| t.timestamp_millis()),
            offset: page.offset,
            limit: page.limit,
        })
        .await?;
    let mut data = String::with_capacity(items.iter().map(String::len).sum::<usize>() + 2);
    data.push('[');
    data.push_str(&items.join(","));
    data.push(']');
    let mut headers = vec![
        (TOTAL_COUNT, total.to_string()),
        (LIMIT, page.cap.to_string()),
    ];
    if let Some(query) = page.next_query(items.len(), total) {
        let url = state.ocpi.module_url(module);
        headers.push((LINK, format!("<{url}?{query}>; rel=\"next\"")));
    }
    Ok(raw_ok(&data, headers))
}
