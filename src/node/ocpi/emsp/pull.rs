//! Reads a CPO partner's Locations (its `locations` SENDER, ocpi-2.2.1.md §4.1) into the eMSP
//! side, as if it had PUT each one: after we registered with it, and on
//! `POST /admin/ocpi/connections/{role}/{id}/pull/locations`.
//!
//! # Decisions
//! * **Paging**: `Link` `rel="next"` is followed (`OcpiClient::get_all`), unless the peer
//!   has `[peer.ocpi] page_by_offset = true`: then pages of [`PAGE`] are asked by `offset`
//!   until a page is empty or short, or `X-Total-Count` is reached (partners whose `Link`
//!   is broken, docs/ocpi-interop-extrawest.md P1).
//! * A Location that breaks the model, or whose `country_code`/`party_id` is not one of the
//!   partner's CPO roles, is skipped and counted (§1.9 lets a receiver ignore it); the rest
//!   is stored.
//! * The request to the partner comes from our first EMSP party and goes to its first CPO
//!   role (routing headers, §1.4).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::locations::{Change, Target, store};
use super::{Written, json, typed};
use crate::config::PartnerId;
use crate::node::NodeState;
use crate::node::http::json_response;
use crate::node::ocpi::client::{Call, ClientError, OcpiClient};
use crate::node::ocpi::failure::OcpiError;
use crate::node::ocpi::{OcpiState, admin};
use crate::ocpi::v221::locations::Location;
use crate::ocpi::v221::versions::{InterfaceRole, Role as OcpiRole};

/// Page size asked for when paging by offset.
pub const PAGE: u32 = 50;

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// Locations read from the partner.
    pub read: u64,
    /// Stored new.
    pub created: u64,
    /// Stored over an older version.
    pub updated: u64,
    /// Not newer than what we hold.
    pub unchanged: u64,
    /// Skipped: invalid, or of a party that is not the partner's.
    pub skipped: u64,
    /// Pages asked for.
    pub pages: u64,
}

fn unusable(e: &ClientError) -> OcpiError {
    OcpiError::PartnerUnusable(e.to_string())
}

/// Every object of a list, by `offset` (see the module documentation).
async fn get_by_offset(
    client: &OcpiClient,
    url: &str,
    call: &Call<'_>,
    pages: &mut u64,
) -> Result<Vec<serde_json::Value>, ClientError> {
    let mut out = Vec::new();
    let separator = if url.contains('?') { '&' } else { '?' };
    loop {
        let page_url = format!("{url}{separator}offset={}&limit={PAGE}", out.len());
        *pages += 1;
        let answer = client.get(&page_url, call).await?;
        let items = match answer.envelope.data {
            Some(serde_json::Value::Array(items)) => items,
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(_) => {
                return Err(ClientError::Invalid {
                    url: page_url,
                    reason: "data of a list page is not a list".to_owned(),
                });
            }
        };
        let returned = items.len();
        out.extend(items);
        let total_reached = answer.total.is_some_and(|t| out.len() as u64 >= t);
        if returned == 0 || total_reached || *pages >= super::super::client::MAX_PAGES as u64 {
            return Ok(out);
        }
    }
}

/// Pulls the Locations of `peer` and stores them.
pub async fn pull_locations(
    state: &NodeState,
    client: &OcpiClient,
    peer: &PartnerId,
) -> Result<PullReport, OcpiError> {
    let connection = state
        .ocpi
        .connection(peer)
        .ok_or_else(|| OcpiError::NotFound(format!("no OCPI connection with {peer}")))?;
    let url = OcpiState::partner_endpoint(
        &state.registry,
        &connection,
        "locations",
        &InterfaceRole::Sender,
    )
    .ok_or_else(|| {
        OcpiError::MissingEndpoints(format!("{peer} lists no locations SENDER endpoint"))
    })?;
    let own = state
        .ocpi
        .own_parties()
        .iter()
        .find(|p| p.role == OcpiRole::Emsp)
        .ok_or_else(|| OcpiError::NotFound("this node hosts no EMSP party".to_owned()))?;
    let to = connection
        .roles
        .iter()
        .find(|r| r.role == OcpiRole::Cpo)
        .ok_or_else(|| OcpiError::NotFound(format!("{peer} has no CPO role")))?;
    let call = OcpiState::partner_call(
        &state.registry,
        &connection,
        own,
        to,
        None,
        state.config.node.request_timeout,
    );
    let by_offset = state
        .registry
        .peer(peer)
        .and_then(|p| p.ocpi.as_ref().map(|o| o.page_by_offset))
        .unwrap_or(false);
    let mut report = PullReport::default();
    let items = if by_offset {
        get_by_offset(client, &url, &call, &mut report.pages).await
    } else {
        report.pages = 1;
        client.get_all(&url, &call).await
    }
    .map_err(|e| unusable(&e))?;
    for item in items {
        report.read += 1;
        let Ok(location) = typed::<Location>(&item) else {
            report.skipped += 1;
            continue;
        };
        let theirs = connection.roles.iter().any(|r| {
            r.role == OcpiRole::Cpo
                && r.country_code
                    .eq_ignore_case(location.country_code.as_str())
                && r.party_id.eq_ignore_case(location.party_id.as_str())
        });
        if !theirs {
            report.skipped += 1;
            continue;
        }
        let target = Target {
            cc: location.country_code.as_str().to_owned(),
            pid: location.party_id.as_str().to_owned(),
            location: location.id.as_str().to_owned(),
            evse: None,
            connector: None,
        };
        match store(state, target, Change::Put(json(&location)?)).await {
            Ok(Written::Created) => report.created += 1,
            Ok(Written::Updated) => report.updated += 1,
            Ok(Written::Stale) => report.unchanged += 1,
            Err(OcpiError::Internal(e)) => return Err(OcpiError::Internal(e)),
            Err(_) => report.skipped += 1,
        }
    }
    tracing::info!(peer = %peer, read = report.read, created = report.created, skipped = report.skipped, "pulled OCPI Locations");
    Ok(report)
}

/// After we registered with a partner: its Locations are pulled in the background when it
/// is a CPO with a `locations` SENDER and we host an EMSP (failures are logged).
pub fn after_registration(
    state: &web::Data<NodeState>,
    client: &web::Data<OcpiClient>,
    connection: &crate::store::ocpi::OcpiConnection,
) {
    let hosts_emsp = state
        .ocpi
        .own_parties()
        .iter()
        .any(|p| p.role == OcpiRole::Emsp);
    let sends = OcpiState::partner_endpoint(
        &state.registry,
        connection,
        "locations",
        &InterfaceRole::Sender,
    )
    .is_some();
    let Ok(peer) = connection.peer() else {
        return;
    };
    if !(hosts_emsp && sends && connection.roles.iter().any(|r| r.role == OcpiRole::Cpo)) {
        return;
    }
    let (state, client) = (state.clone(), client.clone());
    actix_web::rt::spawn(async move {
        if let Err(e) = pull_locations(&state, &client, &peer).await {
            tracing::warn!(peer = %peer, error = %e, "pulling the partner's Locations failed");
        }
    });
}

/// `POST /admin/ocpi/connections/{role}/{id}/pull/locations`.
pub async fn admin_pull_locations(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<NodeState>,
    client: web::Data<OcpiClient>,
) -> HttpResponse {
    let peer = match admin::admin_peer(&req, &path, &state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match pull_locations(&state, &client, &peer).await {
        Ok(report) => json_response(200, &report),
        Err(e) => admin::failed(&e),
    }
}
