//! `tariffs` <-> `tariffs`: OICP pricing <-> OCPI Tariffs.
//!
//! # Which OICP form
//! OICP has two pricing pushes, and the CLI tells them apart by the documents themselves, with
//! no option:
//! * `oicp-to-ocpi` reads the body's member: `PricingProductData` (an
//!   `eRoamingPushPricingProductData` body) gives a JSON array of OCPI Tariffs;
//!   `EVSEPricing` (an `eRoamingPushEVSEPricing` body) gives a JSON array of EVSE tariff
//!   entries `{"evse_uid", "evse_id", "tariff_ids"}` ([`OcpiEvseTariffs`]): EVSE pricing only
//!   assigns products to EVSEs, which OCPI says with `Connector.tariff_ids` (set them on every
//!   connector of the EVSE), not with a Tariff.
//! * `ocpi-to-oicp` reads the array's first element: a Tariff (`elements`) gives an
//!   `eRoamingPushPricingProductData` body; an EVSE tariff entry (`tariff_ids`) or a Location
//!   (`evses`) gives an `eRoamingPushEVSEPricing` body. The elements must all be of that form
//!   (errors at `$[i]`); an empty array is refused (neither push can be empty).
//!
//! # Context and losses
//! * `ActionType` (OCPI -> OICP) is [`super::Options::action`] (`--action`), else `fullLoad`,
//!   noted; OICP -> OCPI notes the action a Tariff list cannot carry.
//! * Pricing products ([`crate::mapping::tariff`], default policy: no VAT, 350 kW when a Tariff
//!   has no `max_power`, both noted where used). One body has one operator: Tariffs of another
//!   party than the first are left out (noted). Paths are those of the body
//!   (`PricingProductDataRecords[n]…`) or `[i]…` of the Tariffs.
//! * EVSE pricing: `ProviderID` (OCPI -> OICP) is [`super::Options::provider`] (`--provider`),
//!   else `*` (all providers), noted; OICP -> OCPI notes a provider-specific assignment (the
//!   entries do not say for whom they are). A tariff id that is no OICP `ProductID` is left
//!   out (noted).

use std::io::Write;

use serde::Serialize;

use super::forms::{action, array, has_key, noted, write_array};
use super::io::{Envelope, array_of_values, envelope};
use super::{Context, LossSink, TranslateError};
use crate::mapping::LossNote;
use crate::mapping::tariff::{
    evse_pricing_to_tariff_ids, locations_to_evse_pricing, tariffs_ocpi_to_oicp,
    tariffs_oicp_to_ocpi,
};
use crate::ocpi::v221::ids::{EvseId as OcpiEvseId, EvseUid, TariffId};
use crate::ocpi::v221::locations::Location;
use crate::ocpi::v221::tariffs::Tariff;
use crate::oicp::v23::ids::{EvseId, ProductId, ProviderIdOrAll};
use crate::oicp::v23::pricing::{EvsePricing, PushEvsePricing, PushPricingProductData};
use crate::oicp::v23::wire::{Extra, parse};
use crate::wire_struct;

wire_struct! {
    /// The tariffs of one EVSE on the OCPI side of `translate tariffs` (from OICP EVSE
    /// pricing): the `tariff_ids` for every connector of the EVSE.
    pub struct OcpiEvseTariffs {
        /// `EVSE.uid`.
        req "evse_uid" => evse_uid: EvseUid,
        /// `EVSE.evse_id`; needed for OICP.
        req "evse_id" => evse_id: OcpiEvseId,
        /// `Connector.tariff_ids` of every connector of the EVSE.
        nelist "tariff_ids" => tariff_ids: TariffId,
    }
}

crate::ocpi::v221::no_cross_member_rules!(OcpiEvseTariffs);

/// A push's action noted at `ActionType` (an OCPI list does not carry it).
fn action_lost(action: &impl std::fmt::Display, losses: &mut dyn LossSink) -> std::io::Result<()> {
    losses.note(&LossNote::new(
        "ActionType",
        format!("{action}: an OCPI list does not carry the push's action"),
    ))
}

/// OICP pricing (a pricing product or EVSE pricing push body) -> OCPI Tariffs or EVSE tariff
/// entries.
pub fn oicp_to_ocpi(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    match envelope(input)? {
        e if e.has("PricingProductData") => {
            let body: PushPricingProductData = parse(input)?;
            action_lost(&body.action_type, losses)?;
            let tariffs = noted(
                tariffs_oicp_to_ocpi(&body.pricing_product_data, ctx.mapping)?
                    .prefixed("PricingProductData"),
                losses,
            )?;
            write_array(out, &tariffs)
        }
        e if e.has("EVSEPricing") => {
            let body: PushEvsePricing = parse(input)?;
            action_lost(&body.action_type, losses)?;
            let assigned = noted(evse_pricing_to_tariff_ids(&body.evse_pricing)?, losses)?;
            let mut entries = Vec::with_capacity(assigned.len());
            for (i, a) in assigned.into_iter().enumerate() {
                if !a.provider.is_all() {
                    losses.note(&LossNote::new(
                        format!("EVSEPricing[{i}].ProviderID"),
                        format!(
                            "the products are for {} only; the entry does not say so",
                            a.provider
                        ),
                    ))?;
                }
                entries.push(OcpiEvseTariffs {
                    evse_uid: a.evse_uid,
                    evse_id: a.evse_id,
                    tariff_ids: a.tariff_ids,
                    extra: Extra::new(),
                });
            }
            write_array(out, &entries)
        }
        _ => Err(TranslateError::invalid(
            "$",
            "expected an eRoamingPushPricingProductData body (PricingProductData) or an eRoamingPushEVSEPricing body (EVSEPricing)",
        )),
    }
}

/// Writes one push body (not an array).
fn write_body<T: Serialize>(out: &mut dyn Write, body: &T) -> Result<(), TranslateError> {
    serde_json::to_writer(&mut *out, body).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// OCPI Tariffs -> an `eRoamingPushPricingProductData` body; EVSE tariff entries or Locations
/// -> an `eRoamingPushEVSEPricing` body.
pub fn ocpi_to_oicp(
    input: &[u8],
    ctx: &Context<'_>,
    out: &mut dyn Write,
    losses: &mut dyn LossSink,
) -> Result<(), TranslateError> {
    const WHAT: &str = "a JSON array of OCPI Tariffs, of EVSE tariff entries ({\"evse_uid\", \"evse_id\", \"tariff_ids\"}) or of OCPI Locations";
    if envelope(input)? != Envelope::Array {
        return Err(TranslateError::invalid("$", format!("expected {WHAT}")));
    }
    let first = {
        let mut first = None;
        // Only the first element is looked at here; all are parsed below.
        let values = array_of_values(input)?;
        if let Some(v) = values.first() {
            first = Some(if has_key(v, "elements") {
                Form::Tariffs
            } else if has_key(v, "tariff_ids") {
                Form::Entries
            } else if has_key(v, "evses") || has_key(v, "address") {
                Form::Locations
            } else {
                return Err(TranslateError::invalid(
                    "$[0]",
                    format!("expected {WHAT}: no elements, tariff_ids or evses"),
                ));
            });
        }
        first.ok_or_else(|| {
            TranslateError::invalid(
                "$",
                "an empty array: neither OICP pricing push can be empty",
            )
        })?
    };
    match first {
        Form::Tariffs => {
            let tariffs: Vec<Tariff> = array(input, WHAT)?;
            let action = action(ctx, "ActionType", losses)?;
            let data = noted(tariffs_ocpi_to_oicp(&tariffs)?, losses)?;
            write_body(
                out,
                &PushPricingProductData {
                    action_type: action,
                    pricing_product_data: data,
                    extra: Extra::new(),
                },
            )
        }
        form => {
            let parsed = if form == Form::Locations {
                Assigned::Locations(array(input, WHAT)?)
            } else {
                Assigned::Entries(array(input, WHAT)?)
            };
            let action = action(ctx, "ActionType", losses)?;
            let provider = ctx.options.provider.clone().map_or_else(
                || {
                    losses.note(&LossNote::new(
                        "ProviderID",
                        "OCPI tariff ids are not addressed to an eMSP: ProviderID * (all; --provider to change)",
                    ))?;
                    Ok::<_, TranslateError>(ProviderIdOrAll::All)
                },
                Ok,
            )?;
            let pricing = match parsed {
                Assigned::Locations(l) => noted(locations_to_evse_pricing(&l, &provider), losses)?,
                Assigned::Entries(e) => entries_to_pricing(&e, &provider, losses)?,
            };
            if pricing.is_empty() {
                return Err(TranslateError::invalid(
                    "$",
                    "no EVSE with an OICP EvseID and tariff ids: an eRoamingPushEVSEPricing needs at least one EVSEPricing",
                ));
            }
            write_body(
                out,
                &PushEvsePricing {
                    action_type: action,
                    evse_pricing: pricing,
                    extra: Extra::new(),
                },
            )
        }
    }
}

/// The OCPI form of a `tariffs` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Tariffs,
    Entries,
    Locations,
}

/// OCPI input of EVSE pricing.
enum Assigned {
    Locations(Vec<Location>),
    Entries(Vec<OcpiEvseTariffs>),
}

/// EVSE tariff entries -> OICP EVSE pricing for `provider`.
fn entries_to_pricing(
    entries: &[OcpiEvseTariffs],
    provider: &ProviderIdOrAll,
    losses: &mut dyn LossSink,
) -> Result<Vec<EvsePricing>, TranslateError> {
    let mut pricing = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Ok(evse_id) = EvseId::parse(&entry.evse_id.as_str().to_ascii_uppercase()) else {
            losses.note(&LossNote::new(
                format!("[{i}].evse_id"),
                "not an OICP EvseID: the entry is left out",
            ))?;
            continue;
        };
        let mut products = Vec::new();
        for (j, id) in entry.tariff_ids.iter().enumerate() {
            match ProductId::parse(id.as_str()) {
                Ok(p) => products.push(p),
                Err(e) => losses.note(&LossNote::new(
                    format!("[{i}].tariff_ids[{j}]"),
                    format!("not an OICP ProductID ({e}); left out"),
                ))?,
            }
        }
        if products.is_empty() {
            losses.note(&LossNote::new(
                format!("[{i}]"),
                "no tariff id is an OICP ProductID: the entry is left out",
            ))?;
            continue;
        }
        pricing.push(EvsePricing {
            evse_id,
            provider_id: provider.clone(),
            evse_id_product_list: products,
            extra: Extra::new(),
        });
    }
    Ok(pricing)
}
