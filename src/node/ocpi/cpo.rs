//! The OCPI CPO platform side: what a node hosting an own OICP CPO serves to OCPI eMSP
//! partners.
//!
//! * [`view`]: the translated Location view, kept current from the backend's OICP pushes.
//! * [`locations`]: Locations module, Sender interface (`GET /ocpi/2.2.1/locations...`).
//! * [`tokens`]: Tokens module, Receiver interface (`/ocpi/2.2.1/receiver/tokens/...`).
//! * [`commands`]: Commands module, Receiver interface (`POST /ocpi/2.2.1/receiver/commands/{command}`):
//!   commands become OICP remote calls to the backend; the result goes to `response_url`.
//! * [`push`]: changed Locations and EVSE statuses pushed to eMSP partners via the outbox.
//! * [`authorize`]: real-time authorization at an OCPI eMSP for the backend's `AuthorizeStart`.
//! * [`sessions`], [`cdrs`], [`tariffs`]: the backend's charging notifications, CDRs and
//!   pricing products as OCPI Sessions, CDRs and Tariffs, stored and served by their SENDER
//!   interfaces ([`objects`]) and pushed to OCPI eMSPs through the outbox.
//!
//! The OICP operations call [`on_evse_data`] after they stored an EVSE data push of an own
//! backend; a status push stores its view patch ([`status_view_patch`]) with the statuses and
//! calls [`on_evse_status`] with the Locations that changed.

pub mod authorize;
pub mod cdrs;
pub mod commands;
pub mod locations;
pub mod objects;
pub mod push;
pub mod sessions;
pub mod tariffs;
pub mod tokens;
pub mod view;

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

use crate::node::NodeState;
use crate::ocpi::v221::versions::Role as OcpiRole;
use crate::oicp::v23::evse_status::EvseStatusRecord;
use crate::oicp::v23::ids::OperatorId;
use crate::store::ocpi_cpo::{ChangedLocation, ViewPatch};

use super::OwnParty;
use super::transport::now;

/// The own OCPI CPO party of an `OperatorID`, if it has an OCPI identity.
fn own_cpo<'a>(state: &'a NodeState, operator: &OperatorId) -> Option<&'a OwnParty> {
    state
        .ocpi
        .own_parties()
        .iter()
        .find(|p| p.role == OcpiRole::Cpo && p.id.canonical() == operator.canonical())
}

/// After the backend of `operator` pushed EVSE data: rebuilds its Locations. A failure is
/// logged (the OICP push itself succeeded and is stored).
pub async fn on_evse_data(state: &NodeState, operator: &OperatorId) {
    let Some(own) = own_cpo(state, operator) else {
        return;
    };
    match view::rebuild(&state.store, own, operator, chrono::Utc::now()).await {
        Ok(changed) => {
            tracing::debug!(%operator, changed = changed.len(), "OCPI Location view rebuilt");
            push::queue(state, &changed, push::Change::Location).await;
        }
        Err(e) => {
            tracing::error!(%operator, error = %e, "rebuilding the OCPI Location view failed");
        }
    }
}

/// The view patch for statuses the backend of `operator` pushes, if `operator` is an own CPO
/// with an OCPI identity; the store applies it with the statuses
/// ([`crate::store::Store::apply_evse_status_and_view`]).
pub fn status_view_patch(
    state: &NodeState,
    operator: &OperatorId,
    records: &[EvseStatusRecord],
) -> Option<ViewPatch> {
    own_cpo(state, operator)?;
    Some(view::status_patch(records, chrono::Utc::now()))
}

/// After the store applied a status push and its view patch: pushes the changed Locations'
/// EVSEs to the eMSP partners.
pub async fn on_evse_status(state: &NodeState, operator: &OperatorId, changed: &[ChangedLocation]) {
    tracing::debug!(%operator, changed = changed.len(), "OCPI EVSE status applied");
    push::queue(state, changed, push::Change::Status).await;
}

/// A success envelope around `data`, which is JSON text already (a stored object or a list
/// joined from stored objects), with extra headers.
pub(crate) fn raw_ok(data: &str, headers: Vec<(&'static str, String)>) -> HttpResponse {
    let stamp = now();
    let mut body = String::with_capacity(data.len() + 64);
    body.push_str("{\"data\":");
    body.push_str(data);
    body.push_str(",\"status_code\":1000,\"timestamp\":\"");
    body.push_str(&stamp);
    body.push_str("\"}");
    let mut builder = HttpResponse::Ok();
    builder.insert_header(ContentType::json());
    for h in headers {
        builder.insert_header(h);
    }
    builder.body(body)
}
