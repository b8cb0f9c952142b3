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
//!
//! # Two threads (issue 6)
//! A top-level array is read by a pipeline: one thread parses the records and maps each on its
//! own ([`RecordMapper`]), in batches of [`BATCH`] over a channel bounded to [`IN_FLIGHT`]
//! batches; the calling thread groups them in input order ([`LocationGrouper::accept`]), writes
//! the loss notes and finally the Locations. Grouping and the notes see the records in the
//! same order as a sequential run, so output, notes and errors are the same (tested against
//! [`LocationGrouper::push`] in `tests/translate_cli.rs`): records before an invalid one are
//! grouped and their notes written, as before.

use std::io::{BufWriter, Write};

use super::io::{Envelope, JsonArray, envelope, for_each_element};
use super::{LossSink, TranslateError};
use crate::mapping::MappingCtx;
use crate::mapping::evse_location::{LocationGrouper, PreparedRecord, RecordMapper};
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
            let mapper = grouper.mapper();
            pipeline(input, mapper, |batch| {
                for prepared in batch {
                    grouper.accept(prepared);
                }
                losses.notes(&grouper.take_losses())
            })?;
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

/// Records per batch sent from the parsing thread to the grouping thread.
pub const BATCH: usize = 256;

/// Batches in flight between the threads (bounds the pipeline's memory).
pub const IN_FLIGHT: usize = 8;

/// Parses and maps the records of a top-level array on a second thread and hands them, in
/// input order and in batches, to `accept` on this one. An error of `accept` stops the parsing
/// and is returned; else the parse's error (invalid input, a mapping bug), after `accept` has
/// seen every record before it.
fn pipeline(
    input: &[u8],
    mapper: RecordMapper<'_>,
    mut accept: impl FnMut(Vec<PreparedRecord>) -> std::io::Result<()>,
) -> Result<(), TranslateError> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<PreparedRecord>>(IN_FLIGHT);
        let parser = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let parsed = for_each_element::<PullEvseDataRecord, _>(input, |i, record| {
                batch.push(mapper.map(i, &record)?);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // The receiver is gone only when `accept` failed: its error is returned.
                    tx.send(full)
                        .map_err(|_| std::io::Error::other("the grouping thread stopped"))?;
                }
                Ok(())
            });
            if !batch.is_empty() {
                // Records before a defect were grouped by the sequential form too.
                let _ = tx.send(batch);
            }
            parsed
        });
        let mut accepted = Ok(());
        for batch in &rx {
            accepted = accept(batch);
            if accepted.is_err() {
                break;
            }
        }
        drop(rx);
        let parsed = parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        accepted?;
        parsed
    })
}
