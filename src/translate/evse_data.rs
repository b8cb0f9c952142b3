//! `evse-data` <-> `locations`.
//!
//! # OICP form (input of `oicp-to-ocpi`)
//! One of, told apart by the top level:
//! * a JSON array of pulled `EvseDataRecord`s (each with its `OperatorID`, as the HBS returns
//!   them): read one record at a time, so a large dump is never held as records;
//! * an `eRoamingPushEvseData` body (`OperatorEvseData`): the records get the push's operator;
//! * an `eRoamingEvseData` page, the answer of `eRoamingPullEvseData` (`content`).
//!
//! Push and page bodies are parsed whole (with the push rules for a push), then mapped record by
//! record.
//!
//! # OCPI form
//! A JSON array of Locations, written one Location at a time as soon as it is complete
//! ([`LocationGrouper`]): the mapped EVSEs are held until the input ends (a Location may get an
//! EVSE from the last record), the serialized output never.

use std::io::{BufWriter, Write};

use super::io::{Envelope, JsonArray, envelope, for_each_element};
use super::{LossSink, TranslateError};
use crate::mapping::MappingCtx;
use crate::mapping::evse_location::LocationGrouper;
use crate::oicp::v23::evse_data::{EvseDataPage, PullEvseDataRecord, PushEvseData};
use crate::oicp::v23::wire::parse;

/// OICP EVSE data (any of the forms above) -> a JSON array of OCPI Locations.
pub fn oicp_to_ocpi(
    input: &[u8],
    ctx: &MappingCtx,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let mut grouper = LocationGrouper::new(ctx)?;
    let mut push = |record: &PullEvseDataRecord| -> Result<(), TranslateError> {
        grouper.push(record)?;
        losses.notes(&grouper.take_losses())?;
        Ok(())
    };
    match envelope(input)? {
        Envelope::Array => {
            for_each_element::<PullEvseDataRecord, _>(input, |_, record| push(&record))?;
        }
        e if e.has("OperatorEvseData") => {
            let body: PushEvseData = parse(input)?;
            let data = body.operator_evse_data;
            let extra = data.extra.keys().cloned().collect::<Vec<_>>();
            for record in data.into_pull_records() {
                push(&record)?;
            }
            for key in extra {
                losses.note(&crate::mapping::LossNote::new(
                    format!("OperatorEvseData.{key}"),
                    "not an OICP OperatorEvseData member; not carried",
                ))?;
            }
        }
        e if e.has("content") => {
            let page: EvseDataPage = parse(input)?;
            for record in page.content {
                push(&record)?;
            }
        }
        Envelope::Object(_) => {
            return Err(TranslateError::invalid(
                "$",
                "expected a JSON array of EvseDataRecords, an eRoamingPushEvseData body (OperatorEvseData) or an eRoamingEvseData page (content)",
            ));
        }
    }
    let mut array = JsonArray::start(BufWriter::with_capacity(1 << 16, out))?;
    for location in grouper.finish() {
        array.element(&location?)?;
    }
    array.finish()?;
    Ok(())
}
