//! `locations` -> `evse-data` (OCPI -> OICP).
//!
//! # OCPI form (input)
//! A JSON array of OCPI Locations (every Location rule applies; errors at `$[i]…`).
//!
//! # OICP form (output)
//! Decision: a JSON array of `EvseDataRecord`s in their pulled form, one per EVSE, each with
//! its `OperatorID` and `OperatorName` (as `eRoamingPullEvseData` returns them), not push
//! bodies: the records carry their operator, so nothing is lost by leaving the envelope out,
//! and a push needs an `ActionType` the OCPI side does not have. The array is accepted back by
//! `oicp-to-ocpi evse-data`; to push, group the records by `OperatorID` into
//! `OperatorEvseData`.
//!
//! # Context
//! `HotlinePhoneNumber` is mandatory in OICP and absent in OCPI 2.2.1: it comes from
//! [`super::Options::hotline`] (`--hotline`), without which the translation is refused
//! ([`TranslateError::Missing`]) rather than inventing a number drivers would call. Unpublished
//! Locations are left out (noted) unless [`super::Options::unpublished_as_test_station`]
//! (`--unpublished-as-test-station`). The other policy values are those of
//! [`crate::mapping::location_evse`]; those it does not note itself (calibration law data,
//! dynamic info, Hubject compatibility) are noted once at `EvseDataRecord`. Paths are
//! `Location[i]…`.

use std::io::Write;

use super::forms::{array, noted, write_array};
use super::{Context, LossSink, TranslateError};
use crate::mapping::LossNote;
use crate::mapping::location_evse::{LocationsToOicpCtx, locations_to_evse_data};
use crate::ocpi::v221::locations::Location;

/// OCPI Locations -> a JSON array of pulled OICP `EvseDataRecord`s.
pub fn ocpi_to_oicp(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    let Some(hotline) = ctx.options.hotline.clone() else {
        return Err(TranslateError::Missing(
            "ocpi-to-oicp locations needs --hotline PHONE: OICP HotlinePhoneNumber is mandatory and OCPI 2.2.1 has none".to_owned(),
        ));
    };
    let locations: Vec<Location> = array(input, "a JSON array of OCPI Locations")?;
    let lctx = LocationsToOicpCtx::new(ctx.mapping.now, hotline)
        .with_unpublished_as_test_station(ctx.options.unpublished_as_test_station);
    let records = noted(locations_to_evse_data(&locations, &lctx)?, losses)?;
    if !records.is_empty() {
        losses.note(&LossNote::new(
            "EvseDataRecord",
            "OCPI 2.2.1 has no source for these OICP members, filled by policy: HotlinePhoneNumber from --hotline, CalibrationLawDataAvailability Not Available, DynamicInfoAvailable true, IsHubjectCompatible from REMOTE_START_STOP_CAPABLE",
        ))?;
    }
    write_array(out, &records)
}
