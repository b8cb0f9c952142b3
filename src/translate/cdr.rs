//! `cdr` <-> `cdr`.
//!
//! # OICP form
//! Input (`oicp-to-ocpi`), told apart by the top level: one `ChargeDetailRecord` object (with
//! `SessionID`), a JSON array of them, or an `eRoamingChargeDetailRecords` answer page of
//! `eRoamingGetChargeDetailRecords` (`content`). Output (`ocpi-to-oicp`): a JSON array of
//! `ChargeDetailRecord`s (each carries its `EvseID`; wrap one in a `SendChargeDetailRecord`
//! body to send it).
//!
//! # OCPI form
//! Input: one OCPI CDR object or a JSON array of them. Output: a JSON array of CDRs.
//!
//! # Context (OICP -> OCPI)
//! An OCPI CDR needs a location, a price and a currency that an OICP CDR lacks
//! ([`crate::mapping::cdr`]):
//! * the Location of each CDR's EVSE is looked up in [`super::Options::locations`] (the CLI
//!   reads them from `--evse-data FILE`, any OICP form `oicp-to-ocpi evse-data` reads, or
//!   `--locations FILE`, OCPI Locations). A CDR whose EVSE is not there is refused
//!   ([`MissingLocation::Reject`], the mapping's default) unless `--missing-location
//!   placeholder`, which fills a placeholder location (noted). With no Locations at all and
//!   the default policy the translation is refused up front ([`TranslateError::Missing`]).
//! * the tariff is looked up in [`super::Options::tariffs`] (`--tariffs FILE`: OCPI Tariffs or
//!   an OICP pricing body) by `PartnerProductID`, else by the connector's first tariff id; the
//!   cost is computed from it (`--cost zero` gives 0 with a remark, noted). Without a tariff the
//!   currency is `--currency`, else `XXX` (noted by the mapping).
//! * `auth_method` is `AUTH_REQUEST` (OICP does not say how a session was authorized): noted
//!   at `[i].Identification`.
//!
//! Paths are `[i]…` per CDR of the input, in order, whatever envelope holds them. OCPI -> OICP
//! refuses a credit CDR (exit 1, its path), as the mapping does.

use std::io::Write;

use super::forms::{array, noted, write_array};
use super::io::{Envelope, envelope};
use super::{Context, LossSink, TranslateError};
use crate::mapping::LossNote;
use crate::mapping::cdr::{CdrSources, MissingLocation, cdrs_ocpi_to_oicp, cdrs_oicp_to_ocpi};
use crate::ocpi::v221::cdrs::Cdr;
use crate::oicp::v23::cdr::{ChargeDetailRecord, ChargeDetailRecordPage};
use crate::oicp::v23::wire::parse;

/// OICP CDRs (any of the forms above) -> a JSON array of OCPI CDRs.
pub fn oicp_to_ocpi(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let records: Vec<ChargeDetailRecord> = match envelope(input)? {
        Envelope::Array => array(input, "a JSON array of ChargeDetailRecords")?,
        e if e.has("content") => parse::<ChargeDetailRecordPage>(input)?.content,
        e if e.has("SessionID") => vec![parse(input)?],
        Envelope::Object(_) => {
            return Err(TranslateError::invalid(
                "$",
                "expected a ChargeDetailRecord (SessionID), a JSON array of them or an eRoamingChargeDetailRecords page (content)",
            ));
        }
    };
    let o = ctx.options;
    if !records.is_empty()
        && o.locations.is_empty()
        && o.missing_location == MissingLocation::Reject
    {
        return Err(TranslateError::Missing(
            "oicp-to-ocpi cdr needs the Locations of the CDRs' EVSEs: --evse-data FILE or --locations FILE (or --missing-location placeholder)".to_owned(),
        ));
    }
    let mut sources = CdrSources::new(ctx.mapping);
    sources.locations = &o.locations;
    sources.tariffs = &o.tariffs;
    sources.missing_location = o.missing_location;
    sources.cost_policy = o.cost_policy;
    sources.currency.clone_from(&o.currency);
    let cdrs = noted(cdrs_oicp_to_ocpi(&records, &sources)?, losses)?;
    for i in 0..cdrs.len() {
        losses.note(&LossNote::new(
            format!("[{i}].Identification"),
            "OICP does not say how the session was authorized: auth_method is AUTH_REQUEST",
        ))?;
    }
    write_array(out, &cdrs)
}

/// OCPI CDRs (one or an array) -> a JSON array of OICP `ChargeDetailRecord`s.
pub fn ocpi_to_oicp(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let cdrs: Vec<Cdr> = match envelope(input)? {
        Envelope::Array => array(input, "a JSON array of OCPI CDRs")?,
        Envelope::Object(_) => vec![parse::<Cdr>(input)?],
    };
    let records = noted(cdrs_ocpi_to_oicp(&cdrs, ctx.mapping)?, losses)?;
    write_array(out, &records)
}

/// The Locations of an OICP EVSE data document (any form `oicp-to-ocpi evse-data` reads), for
/// [`super::Options::locations`]; the notes of that translation are not about the CDRs and are
/// dropped.
pub fn locations_from_evse_data(
    input: &[u8],
    ctx: &crate::mapping::MappingCtx,
) -> Result<Vec<crate::ocpi::v221::locations::Location>, TranslateError> {
    let mut json = Vec::new();
    super::evse_data::oicp_to_ocpi(input, ctx, &mut json, &mut Vec::new())?;
    serde_json::from_slice(&json).map_err(|e| {
        TranslateError::invalid("$", format!("the mapped Locations do not read back: {e}"))
    })
}

/// OCPI Locations (a JSON array) for [`super::Options::locations`].
pub fn locations_from_ocpi(
    input: &[u8],
) -> Result<Vec<crate::ocpi::v221::locations::Location>, TranslateError> {
    array(input, "a JSON array of OCPI Locations")
}

/// Tariffs for [`super::Options::tariffs`]: a JSON array of OCPI Tariffs, or an OICP
/// `eRoamingPushPricingProductData` body (mapped as `oicp-to-ocpi tariffs` does; its notes are
/// dropped).
pub fn tariffs_for_cdrs(
    input: &[u8],
    ctx: &crate::mapping::MappingCtx,
) -> Result<Vec<crate::ocpi::v221::tariffs::Tariff>, TranslateError> {
    if envelope(input)? == Envelope::Array {
        return array(input, "a JSON array of OCPI Tariffs");
    }
    let body: crate::oicp::v23::pricing::PushPricingProductData = parse(input)?;
    let mapped = crate::mapping::tariff::tariffs_oicp_to_ocpi(&body.pricing_product_data, ctx)?;
    Ok(mapped.value)
}
