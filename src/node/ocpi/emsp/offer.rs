//! Offers what OCPI CPO partners push to the EMP backend through the OICP pull paths: each
//! stored Location is translated (`mapping::location_evse`, `mapping::status`) into OICP EVSE
//! data records and statuses of the operator of each `evse_id`, and written to the node's
//! OICP store as that operator's records. `eRoamingPullEvseData`, `eRoamingPullEvseStatus` and
//! `…ById` from the backend then answer them like pushed OICP data (filters, paging, geo
//! search, delta pulls), with no change to the pull operations.
//!
//! # Decisions
//! * An EVSE whose OCPI `status` is `REMOVED` is deleted from the OICP store; an EVSE the
//!   mapping leaves out (no `evse_id`, unpublished Location) is not offered.
//! * OICP's mandatory `HotlinePhoneNumber` has no OCPI source (OCPI 2.2.1 carries no hotline):
//!   [`UNKNOWN_HOTLINE`] is written, and the EMP backend should treat it as unknown.
//! * A translation or store failure is logged and does not fail the OCPI request: the object is
//!   stored on the OCPI side, and the next change of the Location offers it again.

use std::collections::BTreeMap;

use chrono::Utc;

use crate::mapping::MappingCtx;
use crate::mapping::location_evse::{LocationsToOicpCtx, locations_to_evse_data};
use crate::mapping::status::ocpi_to_oicp_status;
use crate::node::NodeState;
use crate::ocpi::v221::locations::{Location, Status};
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::evse_data::EvseDataRecord;
use crate::oicp::v23::evse_status::EvseStatusRecord;
use crate::oicp::v23::ids::{EvseId, OperatorId, PhoneNumber};
use crate::store::StoreError;

/// The `HotlinePhoneNumber` of EVSE data that came from OCPI (which has none).
pub const UNKNOWN_HOTLINE: &str = "+00000";

/// Per operator: its name, EVSE data records, statuses and EVSEs to delete.
#[derive(Debug, Default)]
pub struct Offer {
    /// Operator name (from the records).
    pub name: Option<String>,
    /// EVSE data.
    pub data: Vec<EvseDataRecord>,
    /// Statuses.
    pub status: Vec<EvseStatusRecord>,
    /// EVSE data records of EVSEs removed on the OCPI side (to delete).
    pub removed: Vec<EvseDataRecord>,
}

/// The OICP side of one Location, by operator (pure).
pub fn offer_of(
    location: &Location,
    now: chrono::DateTime<Utc>,
) -> Result<BTreeMap<String, (OperatorId, Offer)>, String> {
    let hotline = PhoneNumber::parse(UNKNOWN_HOTLINE).map_err(|e| e.to_string())?;
    let ctx = LocationsToOicpCtx::new(now, hotline);
    // REMOVED EVSEs are mapped as if present, to name them in a delete.
    let mut present = location.clone();
    let mut removed = std::collections::HashSet::new();
    for evse in present.evses.iter_mut().flatten() {
        if evse.status == Status::Removed {
            evse.status = Status::StatusUnknown;
            if let Some(id) = &evse.evse_id {
                removed.insert(id.as_str().to_ascii_uppercase().replace('*', ""));
            }
        }
    }
    let records = locations_to_evse_data(std::slice::from_ref(&present), &ctx)
        .map_err(|e| format!("{}: {}", e.path, e.reason))?
        .value;
    let mut out: BTreeMap<String, (OperatorId, Offer)> = BTreeMap::new();
    for record in records {
        let (record, operator, name) = record.into_parts();
        let gone = removed.contains(
            &record
                .evse_id
                .as_str()
                .to_ascii_uppercase()
                .replace('*', ""),
        );
        let (_, offer) = entry(&mut out, operator);
        offer.name = offer
            .name
            .take()
            .or_else(|| name.map(|n| n.as_str().to_owned()));
        if gone {
            offer.removed.push(record);
        } else {
            offer.data.push(record);
        }
    }
    let mapping = MappingCtx::new(now);
    for evse in location.evses.iter().flatten() {
        let Some(id) = evse
            .evse_id
            .as_ref()
            .and_then(|e| EvseId::parse(&e.as_str().to_ascii_uppercase()).ok())
        else {
            continue;
        };
        let (_, offer) = entry(&mut out, id.operator_id());
        if evse.status == Status::Removed {
            continue;
        }
        if let Ok(status) = ocpi_to_oicp_status(&evse.status, &mapping) {
            offer.status.push(EvseStatusRecord {
                evse_id: id,
                evse_status: status.value,
                extra: crate::oicp::v23::wire::Extra::new(),
            });
        }
    }
    Ok(out)
}

fn entry(
    out: &mut BTreeMap<String, (OperatorId, Offer)>,
    operator: OperatorId,
) -> &mut (OperatorId, Offer) {
    let key = operator.as_str().to_ascii_uppercase();
    out.entry(key)
        .or_insert_with(|| (operator, Offer::default()))
}

/// Writes the OICP side of a stored Location (see the module documentation).
pub async fn location_changed(state: &NodeState, location: &Location) {
    let now = Utc::now();
    let offers = match offer_of(location, now) {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(location = location.id.as_str(), error = %e, "OCPI Location not offered over OICP");
            return;
        }
    };
    for (_, (operator, offer)) in offers {
        if let Err(e) = write(state, &operator, &offer, now).await {
            tracing::warn!(location = location.id.as_str(), operator = %operator, error = %e, "OCPI Location not offered over OICP");
        }
    }
}

async fn write(
    state: &NodeState,
    operator: &OperatorId,
    offer: &Offer,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    let name = offer.name.as_deref().unwrap_or(operator.as_str());
    let store = &state.store;
    for record in &offer.data {
        let one = std::slice::from_ref(record);
        match store
            .apply_evse_data(operator, name, ActionType::Update, one, now, &[])
            .await
        {
            Err(StoreError::NotFound { .. }) => {
                store
                    .apply_evse_data(operator, name, ActionType::Insert, one, now, &[])
                    .await?;
            }
            other => other?,
        }
    }
    if !offer.status.is_empty() {
        store
            .apply_evse_status(
                operator,
                Some(name),
                ActionType::Update,
                &offer.status,
                now,
                &[],
            )
            .await?;
    }
    if !offer.removed.is_empty() {
        store
            .apply_evse_data(operator, name, ActionType::Delete, &offer.removed, now, &[])
            .await?;
    }
    Ok(())
}
