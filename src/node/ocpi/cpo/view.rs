//! Keeps the translated Location view of the store (`store::ocpi_cpo`) current: an operator's
//! Locations are rebuilt from its stored EVSE data and status after each EVSE data push of its
//! backend, and the Locations of single EVSEs are patched with each status push (in the
//! transaction that stores it, [`status_patch`]).
//!
//! # Decisions
//! * **Whole operator on EVSE data**: OICP records are grouped into Locations per operator
//!   (by pool, station or address), so a push can move an EVSE between Locations; the
//!   operator's live records are translated again as a whole (about 60,000 records/s) and only
//!   Locations whose content changed are written and get a new `last_updated`.
//! * **The owning party** of a Location is the own CPO's OCPI identity (its configured
//!   `country_code`/`party_id`), not the one derived from the `OperatorID`.
//! * **Status** comes from the stored OICP status of each EVSE (table of `mapping::status`);
//!   an EVSE without one, or with a status OCPI has no value for, stays `UNKNOWN`.
//! * Loss notes of the translation are logged at debug level, not stored.

use std::collections::HashMap;

use chrono::{DateTime as ChronoDateTime, Utc};
use serde_json::Value;

use crate::mapping::MappingCtx;
use crate::mapping::evse_location::evse_data_to_locations;
use crate::mapping::status::oicp_to_ocpi_status;
use crate::node::ocpi::OwnParty;
use crate::ocpi::v221::types::DateTime;
use crate::oicp::v23::evse_status::{EvseStatus, EvseStatusRecord};
use crate::oicp::v23::ids::{EvseId, OperatorId};
use crate::store::ocpi_cpo::{ChangedLocation, ViewLocation, ViewPatch};
use crate::store::{Store, StoreError};

/// The view key of a Location: `CC/PID/ID`, upper case.
pub fn location_key(country_code: &str, party_id: &str, id: &str) -> String {
    format!("{country_code}/{party_id}/{id}").to_ascii_uppercase()
}

/// 64-bit FNV-1a of `text` as 16 hex digits.
fn fnv(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Sets `last_updated` of the Location, its EVSEs and their connectors to `at`.
fn stamp(location: &mut Value, at: &str) {
    location["last_updated"] = Value::String(at.to_owned());
    if let Some(evses) = location.get_mut("evses").and_then(Value::as_array_mut) {
        for evse in evses {
            evse["last_updated"] = Value::String(at.to_owned());
            if let Some(cs) = evse.get_mut("connectors").and_then(Value::as_array_mut) {
                for c in cs {
                    c["last_updated"] = Value::String(at.to_owned());
                }
            }
        }
    }
}

/// The content hash of a Location: its JSON with every `last_updated` blanked.
pub fn canon(location: &Value) -> String {
    let mut blank = location.clone();
    stamp(&mut blank, "");
    fnv(&blank.to_string())
}

/// The OCPI status of a stored OICP status text, if it has one.
fn ocpi_status(oicp: &str, ctx: &MappingCtx) -> Option<String> {
    let status: EvseStatus = serde_json::from_value(Value::String(oicp.to_owned())).ok()?;
    let mapped = oicp_to_ocpi_status(&status, ctx).ok()?;
    serde_json::to_value(mapped.value)
        .ok()?
        .as_str()
        .map(str::to_owned)
}

fn evse_key(evse: &Value) -> Option<String> {
    let id = evse.get("evse_id")?.as_str()?;
    EvseId::parse(id).ok().map(|e| e.canonical())
}

/// Rebuilds the Locations of `operator`, owned by `own`, at `now`; returns those that changed.
pub async fn rebuild(
    store: &Store,
    own: &OwnParty,
    operator: &OperatorId,
    now: ChronoDateTime<Utc>,
) -> Result<Vec<ChangedLocation>, StoreError> {
    let (records, statuses) = store.ocpi_cpo_source(operator).await?;
    let ctx = MappingCtx::new(now);
    let mapped = evse_data_to_locations(&records, &ctx)
        .map_err(|e| StoreError::InvalidInput(format!("translating EVSE data: {e}")))?;
    if !mapped.losses.is_empty() {
        tracing::debug!(%operator, notes = mapped.losses.len(), "EVSE data translated with loss notes");
    }
    let at = DateTime::from_utc(now).as_str().to_owned();
    let (cc, pid) = (
        own.party.country_code.as_str().to_ascii_uppercase(),
        own.party.party_id.as_str().to_ascii_uppercase(),
    );
    let mut rows = Vec::with_capacity(mapped.value.len());
    for location in mapped.value {
        let mut value = serde_json::to_value(&location)?;
        value["country_code"] = Value::String(cc.clone());
        value["party_id"] = Value::String(pid.clone());
        let mut evses = Vec::new();
        if let Some(list) = value.get_mut("evses").and_then(Value::as_array_mut) {
            for evse in list {
                let (Some(key), Some(uid)) = (
                    evse_key(evse),
                    evse.get("uid").and_then(Value::as_str).map(str::to_owned),
                ) else {
                    continue;
                };
                if let Some(s) = statuses.get(&key).and_then(|s| ocpi_status(s, &ctx)) {
                    evse["status"] = Value::String(s);
                }
                evses.push((key, uid));
            }
        }
        stamp(&mut value, &at);
        let id = location.id.as_str().to_owned();
        rows.push(ViewLocation {
            key: location_key(&cc, &pid, &id),
            country_code: cc.clone(),
            party_id: pid.clone(),
            location_id: id,
            canon: canon(&value),
            json: value.to_string(),
            last_updated: now.timestamp_millis(),
            evses,
        });
    }
    store.ocpi_cpo_replace(operator, rows).await
}

/// The view patch of pushed statuses at `now`, applied by the store in the transaction that
/// stores them ([`Store::apply_evse_status_and_view`]): each EVSE whose OCPI status differs
/// gets it and `last_updated` = `now`, and so does its Location. A status OCPI has no value
/// for leaves the EVSE as it is.
pub fn status_patch(records: &[EvseStatusRecord], now: ChronoDateTime<Utc>) -> ViewPatch {
    let ctx = MappingCtx::new(now);
    let mut by_key: HashMap<String, String> = HashMap::with_capacity(records.len());
    for record in records {
        if let Ok(mapped) = oicp_to_ocpi_status(&record.evse_status, &ctx) {
            by_key.insert(record.evse_id.canonical(), mapped.value.as_str().to_owned());
        }
    }
    let evse_keys: Vec<String> = by_key.keys().cloned().collect();
    let at = DateTime::from_utc(now).as_str().to_owned();
    ViewPatch {
        evse_keys,
        now: now.timestamp_millis(),
        patch: Box::new(move |location, evses| {
            let mut changed = false;
            if let Some(list) = location.get_mut("evses").and_then(Value::as_array_mut) {
                for evse in list {
                    let uid = evse.get("uid").and_then(Value::as_str).unwrap_or_default();
                    let Some((_, key)) = evses.iter().find(|(u, _)| u == uid) else {
                        continue;
                    };
                    let Some(status) = by_key.get(key) else {
                        continue;
                    };
                    if evse.get("status").and_then(Value::as_str) != Some(status.as_str()) {
                        evse["status"] = Value::String(status.clone());
                        evse["last_updated"] = Value::String(at.clone());
                        changed = true;
                    }
                }
            }
            changed.then(|| {
                location["last_updated"] = Value::String(at.clone());
                canon(location)
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_hash_ignores_times_only() {
        let a = serde_json::json!({"id": "L1", "last_updated": "x",
            "evses": [{"uid": "E1", "status": "AVAILABLE", "last_updated": "y",
                       "connectors": [{"id": "1", "last_updated": "z"}]}]});
        let mut b = a.clone();
        stamp(&mut b, "2024-01-01T00:00:00Z");
        assert_eq!(canon(&a), canon(&b));
        assert_eq!(
            b["evses"][0]["connectors"][0]["last_updated"],
            "2024-01-01T00:00:00Z"
        );
        b["evses"][0]["status"] = "CHARGING".into();
        assert_ne!(canon(&a), canon(&b));
        assert_eq!(location_key("de", "gef", "p-1"), "DE/GEF/P-1");
    }
}
