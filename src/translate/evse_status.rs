//! `evse-status` <-> `evse-status`.
//!
//! # OICP form
//! Input (`oicp-to-ocpi`), told apart by the top level:
//! * a JSON array of `EvseStatusRecord`s (`{"EvseID", "EvseStatus"}`);
//! * an `eRoamingPushEvseStatus` body (`OperatorEvseStatus`, push rules apply);
//! * an `eRoamingEvseStatus` answer of `eRoamingPullEvseStatus`/`…ByOperatorID` (`EvseStatuses`,
//!   every operator's records in order);
//! * an `eRoamingEvseStatusByID` answer (`EVSEStatusRecords`).
//!
//! Output (`ocpi-to-oicp`) is a JSON array of `EvseStatusRecord`s. Decision: not a push body,
//! which would need an `OperatorID` and an `ActionType` the OCPI side does not give; wrap the
//! array in one when pushing.
//!
//! # OCPI form
//! A JSON array whose elements are either status entries [`OcpiEvseStatus`]
//! (`{"location_id"?, "evse_uid", "evse_id"?, "status"}`, the fields an OCPI EVSE PATCH or a
//! status feed carries) or whole OCPI EVSE objects (an element with `connectors` is read as an
//! EVSE, with all of the EVSE's rules). `oicp-to-ocpi` writes status entries: `evse_uid` and
//! `evse_id` from the `EvseID` as [`crate::mapping::evse_location`] derives them, no
//! `location_id` (OICP status records do not say which Location).
//!
//! # Losses
//! Lossy values give a note at `EvseStatusRecord[n].EvseStatus` (OICP input, `n` counting the
//! records of the whole document) or `[n].status` (OCPI input). A record whose status has no
//! form on the other side (OICP `EvseNotFound`; OCPI `PLANNED`, `REMOVED`) or, from OCPI,
//! without an `evse_id` that is an OICP `EvseID`, is left out with a note saying so.

use std::io::{BufWriter, Write};

use serde::Serialize;

use super::io::{Envelope, JsonArray, array_of_values, element, envelope, for_each_element};
use super::{LossSink, TranslateError};
use crate::mapping::evse_location::evse_uid;
use crate::mapping::status::{ocpi_to_oicp_status, oicp_to_ocpi_status};
use crate::mapping::{LossNote, MappingCtx};
use crate::ocpi::v221::ids::{EvseId as OcpiEvseId, EvseUid, LocationId};
use crate::ocpi::v221::locations::{Evse, Status};
use crate::oicp::v23::evse_status::{
    EvseStatusByIdResponse, EvseStatusRecord, EvseStatusResponse, PushEvseStatus,
};
use crate::oicp::v23::ids::EvseId;
use crate::oicp::v23::wire::parse;
use crate::wire_struct;

wire_struct! {
    /// One EVSE's status on the OCPI side of `translate evse-status`.
    pub struct OcpiEvseStatus {
        /// The Location, when known.
        opt "location_id" => location_id: LocationId,
        /// `EVSE.uid`.
        req "evse_uid" => evse_uid: EvseUid,
        /// `EVSE.evse_id`; needed for OICP.
        opt "evse_id" => evse_id: OcpiEvseId,
        /// `EVSE.status`.
        req "status" => status: Status,
    }
}

crate::ocpi::v221::no_cross_member_rules!(OcpiEvseStatus);

/// Notes a status without a counterpart: the `what` (record, entry) is left out.
fn left_out(
    losses: &mut dyn LossSink,
    e: crate::mapping::MappingError,
    what: &str,
) -> std::io::Result<()> {
    losses.note(&LossNote::new(
        e.path,
        format!("{}; the {what} is left out", e.reason),
    ))
}

/// Writes the `Some` items as a JSON array to a buffered `out`.
fn write_all<T: Serialize>(
    out: &mut dyn Write,
    items: impl IntoIterator<Item = Result<Option<T>, TranslateError>>,
) -> Result<(), TranslateError> {
    let mut array = JsonArray::start(BufWriter::new(out))?;
    for item in items {
        if let Some(item) = item? {
            array.element(&item)?;
        }
    }
    array.finish()?;
    Ok(())
}

/// OICP status records (any of the forms above) -> OCPI status entries.
pub fn oicp_to_ocpi(
    input: &[u8],
    ctx: &MappingCtx,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let records: Vec<EvseStatusRecord> = match envelope(input)? {
        Envelope::Array => {
            let mut records = Vec::new();
            for_each_element(input, |_, r| {
                records.push(r);
                Ok(())
            })?;
            records
        }
        e if e.has("OperatorEvseStatus") => {
            parse::<PushEvseStatus>(input)?
                .operator_evse_status
                .evse_status_record
        }
        e if e.has("EvseStatuses") => parse::<EvseStatusResponse>(input)?
            .evse_statuses
            .operator_evse_status
            .into_iter()
            .flat_map(|o| o.evse_status_record)
            .collect(),
        e if e.has("EVSEStatusRecords") => {
            parse::<EvseStatusByIdResponse>(input)?
                .evse_status_records
                .evse_status_record
        }
        Envelope::Object(_) => {
            return Err(TranslateError::invalid(
                "$",
                "expected a JSON array of EvseStatusRecords, an eRoamingPushEvseStatus body (OperatorEvseStatus) or a pull answer (EvseStatuses, EVSEStatusRecords)",
            ));
        }
    };
    let entries = records.iter().enumerate().map(|(i, r)| {
        let path = format!("EvseStatusRecord[{i}]");
        let mapped = match oicp_to_ocpi_status(&r.evse_status, ctx) {
            Ok(m) => m.prefixed(&path),
            Err(e) => {
                left_out(losses, e.prefixed(&path), "record")?;
                return Ok(None);
            }
        };
        losses.notes(&mapped.losses)?;
        let evse_id = r.evse_id.normalized();
        let built = |what: &str, e: &dyn std::fmt::Display| {
            TranslateError::Mapping(crate::mapping::MappingError::new(
                format!("{path}.EvseID"),
                format!("built an invalid OCPI {what}: {e}"),
            ))
        };
        Ok(Some(OcpiEvseStatus {
            location_id: None,
            evse_uid: EvseUid::parse(&evse_uid(&evse_id)).map_err(|e| built("uid", &e))?,
            evse_id: Some(OcpiEvseId::parse(&evse_id).map_err(|e| built("evse_id", &e))?),
            status: mapped.value,
            extra: crate::oicp::v23::wire::Extra::new(),
        }))
    });
    write_all(out, entries.collect::<Vec<_>>())
}

/// OCPI status entries or EVSE objects -> OICP `EvseStatusRecord`s.
pub fn ocpi_to_oicp(
    input: &[u8],
    ctx: &MappingCtx,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    if envelope(input)? != Envelope::Array {
        return Err(TranslateError::invalid(
            "$",
            "expected a JSON array of status entries ({\"evse_uid\", \"evse_id\", \"status\"}) or OCPI EVSE objects",
        ));
    }
    let values = array_of_values(input)?;
    let mut entries: Vec<(String, Option<String>, Status)> = Vec::with_capacity(values.len());
    let mut errors = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let parsed = if value.get("connectors").is_some() {
            element::<Evse>(i, value).map(|e| {
                (
                    e.uid.as_str().to_owned(),
                    e.evse_id.map(|id| id.as_str().to_owned()),
                    e.status,
                )
            })
        } else {
            element::<OcpiEvseStatus>(i, value).map(|e| {
                (
                    e.evse_uid.as_str().to_owned(),
                    e.evse_id.map(|id| id.as_str().to_owned()),
                    e.status,
                )
            })
        };
        match parsed {
            Ok(entry) => entries.push(entry),
            Err(TranslateError::Invalid(mut list)) => errors.append(&mut list),
            Err(other) => return Err(other),
        }
    }
    if !errors.is_empty() {
        return Err(TranslateError::Invalid(errors));
    }
    drop(values);
    let mut records = Vec::with_capacity(entries.len());
    for (i, (uid, evse_id, status)) in entries.into_iter().enumerate() {
        let path = format!("[{i}]");
        let Some(id) = evse_id.as_deref().and_then(|id| EvseId::parse(id).ok()) else {
            losses.note(&LossNote::new(
                format!("{path}.evse_id"),
                format!(
                    "EVSE '{uid}' has no evse_id that is an OICP EvseID, which an EvseStatusRecord needs; the entry is left out"
                ),
            ))?;
            continue;
        };
        match ocpi_to_oicp_status(&status, ctx) {
            Ok(m) => {
                let m = m.prefixed(&path);
                losses.notes(&m.losses)?;
                records.push(Ok(Some(EvseStatusRecord {
                    evse_id: id,
                    evse_status: m.value,
                    extra: crate::oicp::v23::wire::Extra::new(),
                })));
            }
            Err(e) => left_out(losses, e.prefixed(&path), "entry")?,
        }
    }
    write_all(out, records)
}
