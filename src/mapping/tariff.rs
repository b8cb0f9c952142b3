//! OICP pricing products and EVSE pricing <-> OCPI Tariffs (`oicp-ocpi-mapping.md` §7, §8,
//! §9 P29).
//!
//! # OICP -> OCPI
//! * One Tariff per `PricingProductDataRecord`, owned by the `OperatorID`'s party (a DIN
//!   `OperatorID` is refused, P5). `id` = `ProductID` when it is a valid `CiString(36)`, else a
//!   name-based GUID of it ([`tariff_id_for_product`], noted; the node keeps the map).
//! * The default price becomes a Tariff `DEFAULT` ([`DEFAULT_TARIFF_ID`]) for EVSEs without EVSE
//!   pricing.
//! * Price per reference unit: `KILOWATT_HOUR` -> `ENERGY` (step 1 Wh), `HOUR` -> `TIME` per
//!   hour (step 1 s), `MINUTE` -> `TIME` at 60 × the price per hour with step 60 s. OICP says
//!   nothing about billing granularity; these steps bill exactly what OICP prices.
//! * `START FEE` and `FIXED FEE` -> `FLAT` (a `FIXED FEE` comes back as `START FEE`, noted);
//!   `PARKING FEE` -> `PARKING_TIME` (per `HOUR` or `MINUTE` as above; per `KILOWATT_HOUR` has no
//!   OCPI form, noted); `MINIMUM FEE` -> `min_price`, `MAXIMUM FEE` -> `max_price`.
//! * VAT: OICP prices are net; OCPI's `vat` stays unset unless [`TariffPolicy::vat`] says which
//!   rate to state (a per-partner setting).
//! * Availability: `IsValid24hours` gives one element; otherwise one element per period of
//!   each `ProductAvailabilityTimes`, with `start_time`/`end_time` (`24:00` -> `00:00`, which
//!   OCPI reads as the end of the day) and `day_of_week` (`Everyday` -> none, `Workdays` ->
//!   Monday-Friday, `Weekend` -> Saturday, Sunday). Every element repeats the product's
//!   components and `max_power` = `MaximumProductChargingPower` (OCPI's bound is exclusive,
//!   OICP's inclusive; the 1 W edge is ignored).
//! * `ProviderID`: OCPI Tariffs are not addressed to an eMSP; the result says for whom the
//!   Tariffs are ([`PricingTariffs::provider`]) and the node publishes them only to that peer
//!   (`*`: all peers). `OperatorName` has no Tariff field (noted).
//! * EVSE pricing -> [`EvseTariffs`]: the `tariff_ids` for every connector of the EVSE.
//!
//! # OCPI -> OICP
//! Only what reduces to one price per unit, optional fees, and day/time/power restrictions
//! survives: elements with a `reservation` restriction are left out, elements whose components
//! differ from the first remaining element's lose their prices (an OICP product has one price),
//! other restrictions (`min_kwh`, `max_duration`, dates, currents, …), `step_size`s other than
//! the ones above, `vat`, `incl_vat`, `type`, alternative texts and URLs, validity dates and
//! energy mix are noted. The main price is `ENERGY`, else `TIME` (per `MINUTE` when that is
//! exact and the step is 60 s, else per `HOUR`); a tariff with neither prices 0 per kWh.
//! Several `FLAT` components: the first is the `START FEE`. Without `max_power`,
//! `MaximumProductChargingPower` is [`TariffPolicy::default_max_power_kw`] (noted). The Tariff
//! `DEFAULT` gives the default price; without one the default price is 0 per kWh in the first
//! tariff's currency (noted).

use rust_decimal::Decimal;

use super::cdr::name_based_guid;
use super::evse_location::evse_uid;
use super::session::{Party, built, extra_notes, note_if};
use super::{LossNote, Mapped, MappingCtx, MappingError};
use crate::ocpi::v221::ids::{EvseId as OcpiEvseId, EvseUid, TariffId};
use crate::ocpi::v221::locations::Location;
use crate::ocpi::v221::tariffs::{
    DayOfWeek, PriceComponent, Tariff, TariffDimensionType, TariffElement, TariffRestrictions,
};
use crate::ocpi::v221::types::{DateTime, Number, OcpiString, Price, TimeOfDay};
use crate::oicp::v23::common::{Day, HourMinute, Period};
use crate::oicp::v23::ids::{EvseId, OperatorId, ProductId, ProviderIdOrAll};
use crate::oicp::v23::pricing::{
    AdditionalReference, AdditionalReferences, Currency, EvsePricing, PricingProductData,
    PricingProductDataRecord, ProductAvailabilityTimes, ReferenceUnit,
};
use crate::oicp::v23::scalars::Decimal as OicpDecimal;
use crate::oicp::v23::wire::Extra;

/// Id of the Tariff that carries the OICP default price.
pub const DEFAULT_TARIFF_ID: &str = "DEFAULT";

/// Per-partner tariff settings (P29).
#[derive(Debug, Clone, PartialEq)]
pub struct TariffPolicy {
    /// VAT rate (percent) to state on OCPI price components; `None` leaves `vat` unset (OICP
    /// prices are net and say nothing about VAT).
    pub vat: Option<Number>,
    /// `MaximumProductChargingPower` for a Tariff without `max_power`, kW.
    pub default_max_power_kw: Decimal,
}

impl Default for TariffPolicy {
    /// No VAT; 350 kW (the highest common DC power) when a Tariff states no power limit.
    fn default() -> Self {
        Self {
            vat: None,
            default_max_power_kw: Decimal::from(350),
        }
    }
}

/// Tariffs and the provider they are for.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingTariffs {
    /// The EMP the prices are for, or `*` for all.
    pub provider: ProviderIdOrAll,
    /// The Tariffs, `DEFAULT` first.
    pub tariffs: Vec<Tariff>,
}

/// The OCPI Tariff id of an OICP `ProductID`: the id itself when it is a valid `CiString(36)`,
/// else a name-based GUID of it.
pub fn tariff_id_for_product(product: &str) -> String {
    if TariffId::parse(product).is_ok() {
        product.to_owned()
    } else {
        name_based_guid(product)
    }
}

// ---------------------------------------------------------------------------------------------
// OICP -> OCPI

fn days(on: &Day) -> Option<Vec<DayOfWeek>> {
    use DayOfWeek as D;
    Some(match on {
        Day::Everyday | Day::Unknown(_) => return None,
        Day::Workdays => vec![D::Monday, D::Tuesday, D::Wednesday, D::Thursday, D::Friday],
        Day::Weekend => vec![D::Saturday, D::Sunday],
        Day::Monday => vec![D::Monday],
        Day::Tuesday => vec![D::Tuesday],
        Day::Wednesday => vec![D::Wednesday],
        Day::Thursday => vec![D::Thursday],
        Day::Friday => vec![D::Friday],
        Day::Saturday => vec![D::Saturday],
        Day::Sunday => vec![D::Sunday],
    })
}

fn time_of_day(t: HourMinute, path: &str) -> Result<TimeOfDay, MappingError> {
    let hour = if t.hour == 24 { 0 } else { t.hour };
    built(
        path,
        TimeOfDay::parse(&format!("{hour:02}:{:02}", t.minute)),
    )
}

/// A price component for a price per `unit`; `None` for a unit the dimension cannot take.
fn component(
    dimension_type: TariffDimensionType,
    unit: &ReferenceUnit,
    price: Decimal,
    vat: Option<Number>,
) -> Option<PriceComponent> {
    let (price, step_size) = match (&dimension_type, unit) {
        (TariffDimensionType::Flat, _)
        | (TariffDimensionType::Energy, ReferenceUnit::KilowattHour)
        | (_, ReferenceUnit::Hour) => (price, 1),
        (_, ReferenceUnit::Minute) => (price * Decimal::from(60), 60),
        _ => return None,
    };
    Some(PriceComponent {
        dimension_type,
        price: Number(price.normalize()),
        vat,
        step_size,
        extra: Extra::new(),
    })
}

fn main_dimension(unit: &ReferenceUnit) -> TariffDimensionType {
    if *unit == ReferenceUnit::KilowattHour {
        TariffDimensionType::Energy
    } else {
        TariffDimensionType::Time
    }
}

#[allow(clippy::too_many_arguments)] // the Tariff's own fields
fn tariff(
    party: &Party,
    id: &str,
    currency: &Currency,
    elements: Vec<TariffElement>,
    min_price: Option<Price>,
    max_price: Option<Price>,
    ctx: &MappingCtx,
    path: &str,
) -> Result<Tariff, MappingError> {
    Ok(Tariff {
        country_code: party.country_code.clone(),
        party_id: party.party_id.clone(),
        id: built(path, TariffId::parse(id))?,
        currency: built(path, OcpiString::parse(currency.as_str()))?,
        tariff_type: None,
        tariff_alt_text: None,
        tariff_alt_url: None,
        min_price,
        max_price,
        elements,
        start_date_time: None,
        end_date_time: None,
        energy_mix: None,
        last_updated: DateTime::from_utc(ctx.now),
        extra: Extra::new(),
    })
}

fn fee(price: Decimal) -> Price {
    Price {
        excl_vat: Number(price.normalize()),
        incl_vat: None,
        extra: Extra::new(),
    }
}

#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
fn record_to_tariff(
    r: &PricingProductDataRecord,
    party: &Party,
    policy: &TariffPolicy,
    ctx: &MappingCtx,
    path: &str,
    losses: &mut Vec<LossNote>,
) -> Result<Tariff, MappingError> {
    let id = tariff_id_for_product(r.product_id.as_str());
    note_if(
        losses,
        id != r.product_id.as_str(),
        &format!("{path}.ProductID"),
        "not a valid OCPI tariff id (CiString(36)): the Tariff id is a name-based GUID of it; the node keeps the map",
    );
    let unit = &r.reference_unit;
    let mut components = Vec::new();
    components.extend(component(
        main_dimension(unit),
        unit,
        r.price_per_reference_unit.value(),
        policy.vat,
    ));
    let (mut min_price, mut max_price) = (None, None);
    for (i, a) in r.additional_references.iter().flatten().enumerate() {
        let p = format!("{path}.AdditionalReferences[{i}]");
        let price = a.price_per_additional_reference_unit.value();
        let a_unit = &a.additional_reference_unit;
        extra_notes(&p, &a.extra, losses);
        let slot =
            match &a.additional_reference {
                AdditionalReference::StartFee | AdditionalReference::FixedFee => {
                    note_if(
                        losses,
                        a.additional_reference == AdditionalReference::FixedFee,
                        &format!("{p}.AdditionalReference"),
                        "OCPI has one FLAT price: a FIXED FEE comes back as START FEE",
                    );
                    note_if(
                        losses,
                        a_unit != unit,
                        &format!("{p}.AdditionalReferenceUnit"),
                        "a flat fee has no unit in OCPI",
                    );
                    components.extend(component(
                        TariffDimensionType::Flat,
                        a_unit,
                        price,
                        policy.vat,
                    ));
                    continue;
                }
                AdditionalReference::ParkingFee => {
                    match component(TariffDimensionType::ParkingTime, a_unit, price, policy.vat) {
                    Some(c) => components.push(c),
                    None => losses.push(LossNote::new(format!("{p}.AdditionalReferenceUnit"),
                        "OCPI prices parking per time only; a parking fee per kWh is not carried")),
                }
                    continue;
                }
                AdditionalReference::MinimumFee => &mut min_price,
                AdditionalReference::MaximumFee => &mut max_price,
                AdditionalReference::Unknown(v) => {
                    losses.push(LossNote::new(&p, format!("unknown fee {v}; not carried")));
                    continue;
                }
            };
        note_if(
            losses,
            a_unit != unit,
            &format!("{p}.AdditionalReferenceUnit"),
            "min_price and max_price have no unit in OCPI",
        );
        if slot.is_some() {
            losses.push(LossNote::new(
                &p,
                "a second fee of this kind; OCPI has one min_price and one max_price",
            ));
        } else {
            *slot = Some(fee(price));
        }
    }
    let max_power = Some(Number(r.maximum_product_charging_power.value().normalize()));
    let restrictions =
        |start: Option<TimeOfDay>, end: Option<TimeOfDay>, day_of_week: Option<Vec<DayOfWeek>>| {
            TariffRestrictions {
                start_time: start,
                end_time: end,
                start_date: None,
                end_date: None,
                min_kwh: None,
                max_kwh: None,
                min_current: None,
                max_current: None,
                min_power: None,
                max_power,
                min_duration: None,
                max_duration: None,
                day_of_week,
                reservation: None,
                extra: Extra::new(),
            }
        };
    let element = |r: TariffRestrictions| TariffElement {
        price_components: components.clone(),
        restrictions: Some(r),
        extra: Extra::new(),
    };
    let mut elements = Vec::new();
    if r.is_valid_24hours {
        note_if(
            losses,
            !r.product_availability_times.is_empty(),
            &format!("{path}.ProductAvailabilityTimes"),
            "IsValid24hours is true, so the availability times do not restrict the product",
        );
        elements.push(element(restrictions(None, None, None)));
    } else {
        for (i, t) in r.product_availability_times.iter().enumerate() {
            let p = format!("{path}.ProductAvailabilityTimes[{i}]");
            extra_notes(&p, &t.extra, losses);
            for (j, period) in t.periods.iter().enumerate() {
                let pp = format!("{p}.Periods[{j}]");
                extra_notes(&pp, &period.extra, losses);
                elements.push(element(restrictions(
                    Some(time_of_day(period.begin, &pp)?),
                    Some(time_of_day(period.end, &pp)?),
                    days(&t.on),
                )));
            }
        }
    }
    extra_notes(path, &r.extra, losses);
    if components.is_empty() || elements.is_empty() {
        return Err(MappingError::new(
            path,
            "the product has no price an OCPI Tariff can hold",
        ));
    }
    tariff(
        party,
        &id,
        &r.product_price_currency,
        elements,
        min_price,
        max_price,
        ctx,
        path,
    )
}

/// OICP pricing products (one operator, one provider or all) -> OCPI Tariffs (module
/// documentation).
pub fn pricing_product_data_to_tariffs(
    data: &PricingProductData,
    policy: &TariffPolicy,
    ctx: &MappingCtx,
) -> Result<Mapped<PricingTariffs>, MappingError> {
    let party = Party::from_operator(&data.operator_id).ok_or_else(|| {
        MappingError::new(
            "OperatorID",
            format!(
                "DIN OperatorID '{}' has no OCPI country_code/party_id (§9 P5)",
                data.operator_id
            ),
        )
    })?;
    let mut losses = Vec::new();
    note_if(
        &mut losses,
        data.operator_name.is_some(),
        "OperatorName",
        "OCPI Tariffs have no operator name",
    );
    extra_notes("", &data.extra, &mut losses);
    let unit = &data.pricing_default_reference_unit;
    let default = component(
        main_dimension(unit),
        unit,
        data.pricing_default_price.value(),
        policy.vat,
    )
    .ok_or_else(|| {
        MappingError::new("PricingDefaultReferenceUnit", "no OCPI price for this unit")
    })?;
    let mut tariffs = vec![tariff(
        &party,
        DEFAULT_TARIFF_ID,
        &data.pricing_default_price_currency,
        vec![TariffElement {
            price_components: vec![default],
            restrictions: None,
            extra: Extra::new(),
        }],
        None,
        None,
        ctx,
        "PricingDefaultPrice",
    )?];
    for (i, r) in data.pricing_product_data_records.iter().enumerate() {
        let path = format!("PricingProductDataRecords[{i}]");
        tariffs.push(record_to_tariff(
            r,
            &party,
            policy,
            ctx,
            &path,
            &mut losses,
        )?);
    }
    Ok(Mapped {
        value: PricingTariffs {
            provider: data.provider_id.clone(),
            tariffs,
        },
        losses,
    })
}

/// The Tariffs of one EVSE for one provider (or all), from OICP EVSE pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct EvseTariffs {
    /// The EVSE's `evse_id`.
    pub evse_id: OcpiEvseId,
    /// The EVSE's `uid` (as [`evse_uid`] makes it).
    pub evse_uid: EvseUid,
    /// For whom.
    pub provider: ProviderIdOrAll,
    /// `Connector.tariff_ids` for every connector of the EVSE.
    pub tariff_ids: Vec<TariffId>,
}

/// OICP EVSE pricing -> the tariff ids of each EVSE's connectors (module documentation).
pub fn evse_pricing_to_tariff_ids(
    pricing: &[EvsePricing],
) -> Result<Mapped<Vec<EvseTariffs>>, MappingError> {
    let mut losses = Vec::new();
    let mut out = Vec::with_capacity(pricing.len());
    for (i, p) in pricing.iter().enumerate() {
        let path = format!("EVSEPricing[{i}]");
        extra_notes(&path, &p.extra, &mut losses);
        let evse = p.evse_id.normalized();
        let mut tariff_ids = Vec::new();
        for (j, product) in p.evse_id_product_list.iter().enumerate() {
            let id = tariff_id_for_product(product.as_str());
            note_if(
                &mut losses,
                id != product.as_str(),
                &format!("{path}.EvseIDProductList[{j}]"),
                "not a valid OCPI tariff id: a name-based GUID of it",
            );
            tariff_ids.push(built(&path, TariffId::parse(&id))?);
        }
        out.push(EvseTariffs {
            evse_id: built(&path, OcpiEvseId::parse(&evse))?,
            evse_uid: built(&path, EvseUid::parse(&evse_uid(&evse)))?,
            provider: p.provider_id.clone(),
            tariff_ids,
        });
    }
    Ok(Mapped { value: out, losses })
}

// ---------------------------------------------------------------------------------------------
// OCPI -> OICP

/// One OICP price per unit from an OCPI component of `TIME` or `PARKING_TIME` (or `ENERGY`).
#[allow(clippy::single_match_else)] // reads better than if-let for these two-way choices
fn unit_price(
    c: &PriceComponent,
    path: &str,
    losses: &mut Vec<LossNote>,
) -> (ReferenceUnit, Decimal) {
    let price = c.price.value();
    match c.dimension_type {
        TariffDimensionType::Energy => {
            note_if(
                losses,
                c.step_size != 1,
                &format!("{path}.step_size"),
                "OICP bills energy without a step size",
            );
            (ReferenceUnit::KilowattHour, price)
        }
        _ => {
            let per_minute = price / Decimal::from(60);
            if c.step_size == 60 && per_minute * Decimal::from(60) == price {
                (ReferenceUnit::Minute, per_minute.normalize())
            } else {
                note_if(
                    losses,
                    c.step_size != 1,
                    &format!("{path}.step_size"),
                    "OICP has no step size: the price is per HOUR",
                );
                (ReferenceUnit::Hour, price)
            }
        }
    }
}

fn day_of(days: &[DayOfWeek]) -> Vec<Day> {
    use DayOfWeek as D;
    let mut set: Vec<&DayOfWeek> = days.iter().collect();
    set.sort_by_key(|d| D::ALL.iter().position(|a| a == *d));
    set.dedup();
    let is = |want: &[D]| set.len() == want.len() && want.iter().all(|w| set.contains(&w));
    if set.is_empty() || is(D::ALL) {
        return vec![Day::Everyday];
    }
    if is(&[D::Monday, D::Tuesday, D::Wednesday, D::Thursday, D::Friday]) {
        return vec![Day::Workdays];
    }
    if is(&[D::Saturday, D::Sunday]) {
        return vec![Day::Weekend];
    }
    set.into_iter()
        .map(|d| match d {
            D::Monday => Day::Monday,
            D::Tuesday => Day::Tuesday,
            D::Wednesday => Day::Wednesday,
            D::Thursday => Day::Thursday,
            D::Friday => Day::Friday,
            D::Saturday => Day::Saturday,
            D::Sunday | D::Unknown(_) => Day::Sunday,
        })
        .collect()
}

fn hour_minute(t: Option<&TimeOfDay>, end: bool) -> HourMinute {
    let minutes = t.map_or(0, TimeOfDay::minutes);
    if end && minutes == 0 {
        return HourMinute {
            hour: 24,
            minute: 0,
        };
    }
    HourMinute {
        hour: u8::try_from(minutes / 60).unwrap_or(0),
        minute: u8::try_from(minutes % 60).unwrap_or(0),
    }
}

fn oicp_decimal(d: Decimal) -> OicpDecimal {
    OicpDecimal(d.normalize())
}

/// The components that make the product's price, for comparing elements.
fn signature(e: &TariffElement) -> Vec<(String, Decimal, i64)> {
    e.price_components
        .iter()
        .map(|c| {
            (
                c.dimension_type.to_string(),
                c.price.value().normalize(),
                c.step_size,
            )
        })
        .collect()
}

/// Notes for restrictions OICP cannot express.
fn restriction_notes(r: &TariffRestrictions, path: &str, losses: &mut Vec<LossNote>) {
    for (present, field) in [
        (r.start_date.is_some(), "start_date"),
        (r.end_date.is_some(), "end_date"),
        (r.min_kwh.is_some(), "min_kwh"),
        (r.max_kwh.is_some(), "max_kwh"),
        (r.min_current.is_some(), "min_current"),
        (r.max_current.is_some(), "max_current"),
        (r.min_power.is_some(), "min_power"),
        (r.min_duration.is_some(), "min_duration"),
        (r.max_duration.is_some(), "max_duration"),
    ] {
        note_if(
            losses,
            present,
            &format!("{path}.{field}"),
            "OICP products cannot be restricted this way; ignored",
        );
    }
    extra_notes(path, &r.extra, losses);
}

/// OCPI Tariff -> OICP pricing product (module documentation); `path` is the Tariff's.
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
#[allow(clippy::single_match_else)] // reads better than if-let for these two-way choices
pub fn tariff_to_product(
    t: &Tariff,
    policy: &TariffPolicy,
    path: &str,
    losses: &mut Vec<LossNote>,
) -> Result<PricingProductDataRecord, MappingError> {
    let p = |f: &str| {
        if path.is_empty() {
            f.to_owned()
        } else {
            format!("{path}.{f}")
        }
    };
    for (present, field, why) in [
        (
            t.tariff_type.is_some(),
            "type",
            "OICP products have no tariff type",
        ),
        (
            t.tariff_alt_text.is_some(),
            "tariff_alt_text",
            "OICP products have no description",
        ),
        (
            t.tariff_alt_url.is_some(),
            "tariff_alt_url",
            "OICP products have no URL",
        ),
        (
            t.start_date_time.is_some(),
            "start_date_time",
            "OICP products have no validity period",
        ),
        (
            t.end_date_time.is_some(),
            "end_date_time",
            "OICP products have no validity period",
        ),
        (
            t.energy_mix.is_some(),
            "energy_mix",
            "OICP products have no energy mix",
        ),
        (true, "last_updated", "OICP pricing has no change time"),
    ] {
        note_if(losses, present, &p(field), why);
    }
    extra_notes(path, &t.extra, losses);
    let mut kept: Vec<(usize, &TariffElement)> = Vec::new();
    for (i, e) in t.elements.iter().enumerate() {
        let ep = p(&format!("elements[{i}]"));
        if e.restrictions
            .as_ref()
            .is_some_and(|r| r.reservation.is_some())
        {
            losses.push(LossNote::new(
                ep,
                "OICP has no reservation pricing; the element is not carried",
            ));
            continue;
        }
        extra_notes(&ep, &e.extra, losses);
        match kept.first() {
            Some((first, f)) if signature(f) != signature(e) => {
                losses.push(LossNote::new(ep, format!(
                    "prices differ from elements[{first}]; an OICP product has one price (its availability is not carried)")));
            }
            _ => kept.push((i, e)),
        }
    }
    let Some(&(first_index, first)) = kept.first() else {
        return Err(MappingError::new(
            p("elements"),
            "no element without a reservation restriction: nothing OICP can price",
        ));
    };
    let cp = |j: usize| p(&format!("elements[{first_index}].price_components[{j}]"));
    let comps = &first.price_components;
    for (j, c) in comps.iter().enumerate() {
        note_if(
            losses,
            c.vat.is_some(),
            &format!("{}.vat", cp(j)),
            "OICP prices are net; the VAT rate is not carried",
        );
        extra_notes(&cp(j), &c.extra, losses);
    }
    let main = comps
        .iter()
        .position(|c| c.dimension_type == TariffDimensionType::Energy)
        .or_else(|| {
            comps
                .iter()
                .position(|c| c.dimension_type == TariffDimensionType::Time)
        });
    let (unit, price) = match main {
        Some(j) => unit_price(&comps[j], &cp(j), losses),
        None => {
            losses.push(LossNote::new(
                p("elements"),
                "no ENERGY or TIME price: the product price is 0 per kWh",
            ));
            (ReferenceUnit::KilowattHour, Decimal::ZERO)
        }
    };
    let mut refs = Vec::new();
    let mut flat_seen = false;
    for (j, c) in comps.iter().enumerate() {
        if Some(j) == main {
            continue;
        }
        let (kind, ref_unit, amount) = match c.dimension_type {
            TariffDimensionType::Flat if !flat_seen => {
                flat_seen = true;
                (AdditionalReference::StartFee, unit.clone(), c.price.value())
            }
            TariffDimensionType::ParkingTime => {
                let (u, a) = unit_price(c, &cp(j), losses);
                (AdditionalReference::ParkingFee, u, a)
            }
            _ => {
                losses.push(LossNote::new(
                    cp(j),
                    "a second price of this dimension; OICP products have one",
                ));
                continue;
            }
        };
        refs.push(AdditionalReferences {
            additional_reference: kind,
            additional_reference_unit: ref_unit,
            price_per_additional_reference_unit: oicp_decimal(amount),
            extra: Extra::new(),
        });
    }
    for (fee, kind, field) in [
        (&t.min_price, AdditionalReference::MinimumFee, "min_price"),
        (&t.max_price, AdditionalReference::MaximumFee, "max_price"),
    ] {
        if let Some(fee) = fee {
            note_if(
                losses,
                fee.incl_vat.is_some(),
                &p(&format!("{field}.incl_vat")),
                "OICP prices are net",
            );
            refs.push(AdditionalReferences {
                additional_reference: kind,
                additional_reference_unit: unit.clone(),
                price_per_additional_reference_unit: oicp_decimal(fee.excl_vat.value()),
                extra: Extra::new(),
            });
        }
    }
    // Availability and power from the kept elements.
    let mut all_day = false;
    let mut times: Vec<(Vec<Day>, Vec<Period>)> = Vec::new();
    let mut max_power = None;
    for (i, e) in &kept {
        let Some(r) = &e.restrictions else {
            all_day = true;
            continue;
        };
        restriction_notes(r, &p(&format!("elements[{i}].restrictions")), losses);
        if max_power.is_none() {
            max_power = r.max_power;
        } else if r.max_power != max_power {
            losses.push(LossNote::new(
                p(&format!("elements[{i}].restrictions.max_power")),
                "differs from the first element's; an OICP product has one maximum power",
            ));
        }
        if r.start_time.is_none() && r.end_time.is_none() && r.day_of_week.is_none() {
            all_day = true;
            continue;
        }
        let period = Period {
            begin: hour_minute(r.start_time.as_ref(), false),
            end: hour_minute(r.end_time.as_ref(), true),
            extra: Extra::new(),
        };
        let day_list = day_of(r.day_of_week.as_deref().unwrap_or_default());
        match times.iter_mut().find(|(d, _)| *d == day_list) {
            Some((_, periods)) => periods.push(period),
            None => times.push((day_list, vec![period])),
        }
    }
    let max_power = max_power.map_or_else(
        || {
            losses.push(LossNote::new(
                p("elements"),
                format!(
                    "no max_power: MaximumProductChargingPower is the configured {} kW",
                    policy.default_max_power_kw
                ),
            ));
            policy.default_max_power_kw
        },
        Number::value,
    );
    let product_availability_times = if all_day {
        note_if(
            losses,
            !times.is_empty(),
            &p("elements"),
            "an element applies at all times, so the product is valid 24 hours; the other elements' times are not carried",
        );
        Vec::new()
    } else {
        times
            .into_iter()
            .flat_map(|(days, periods)| {
                days.into_iter().map(move |on| ProductAvailabilityTimes {
                    periods: periods.clone(),
                    on,
                    extra: Extra::new(),
                })
            })
            .collect()
    };
    let currency = Currency::parse(&t.currency.as_str().to_ascii_uppercase())
        .map_err(|e| MappingError::new(p("currency"), e))?;
    Ok(PricingProductDataRecord {
        product_id: built(path, ProductId::parse(t.id.as_str()))?,
        reference_unit: unit,
        product_price_currency: currency,
        price_per_reference_unit: oicp_decimal(price),
        maximum_product_charging_power: oicp_decimal(max_power),
        is_valid_24hours: all_day,
        product_availability_times,
        additional_references: (!refs.is_empty()).then_some(refs),
        extra: Extra::new(),
    })
}

/// OCPI Tariffs of one CPO -> OICP pricing products for `provider` (module documentation).
/// Tariffs of another party than the first are left out (noted).
#[allow(clippy::single_match_else)] // reads better than if-let for these two-way choices
pub fn tariffs_to_pricing_product_data(
    tariffs: &[Tariff],
    provider: ProviderIdOrAll,
    policy: &TariffPolicy,
) -> Result<Mapped<PricingProductData>, MappingError> {
    let first = tariffs
        .first()
        .ok_or_else(|| MappingError::new("", "no Tariffs to map"))?;
    let party = Party {
        country_code: first.country_code.clone(),
        party_id: first.party_id.clone(),
    };
    let operator_id: OperatorId = party
        .operator_id()
        .ok_or_else(|| MappingError::new("[0].party_id", "the party is no OICP OperatorID"))?;
    let mut losses = Vec::new();
    let mut records = Vec::new();
    let mut default = None;
    for (i, t) in tariffs.iter().enumerate() {
        let path = format!("[{i}]");
        if t.country_code != party.country_code || t.party_id != party.party_id {
            losses.push(LossNote::new(
                format!("{path}.party_id"),
                "another CPO than [0]; one PricingProductData has one operator: left out",
            ));
            continue;
        }
        let record = tariff_to_product(t, policy, &path, &mut losses)?;
        if t.id.eq_ignore_case(DEFAULT_TARIFF_ID) && default.is_none() {
            default = Some(record);
        } else {
            records.push(record);
        }
    }
    let (price, currency, unit) = match default {
        Some(d) => {
            for (present, what) in [
                (d.additional_references.is_some(), "fees"),
                (!d.is_valid_24hours, "availability times"),
            ] {
                note_if(
                    &mut losses,
                    present,
                    DEFAULT_TARIFF_ID,
                    &format!("the default price has no {what}; not carried"),
                );
            }
            (
                d.price_per_reference_unit,
                d.product_price_currency,
                d.reference_unit,
            )
        }
        None => {
            losses.push(LossNote::new(
                "",
                "no DEFAULT tariff: PricingDefaultPrice is 0 per kWh",
            ));
            let currency = Currency::parse(&first.currency.as_str().to_ascii_uppercase())
                .map_err(|e| MappingError::new("[0].currency", e))?;
            (
                OicpDecimal(Decimal::ZERO),
                currency,
                ReferenceUnit::KilowattHour,
            )
        }
    };
    Ok(Mapped {
        value: PricingProductData {
            operator_id,
            operator_name: None,
            provider_id: provider,
            pricing_default_price: price,
            pricing_default_price_currency: currency,
            pricing_default_reference_unit: unit,
            pricing_product_data_records: records,
            extra: Extra::new(),
        },
        losses,
    })
}

/// OCPI Locations -> OICP EVSE pricing for `provider`: one entry per EVSE that has an `evse_id`
/// and tariff ids on its connectors (their union, in order). EVSEs without `evse_id` are noted.
pub fn locations_to_evse_pricing(
    locations: &[Location],
    provider: &ProviderIdOrAll,
) -> Mapped<Vec<EvsePricing>> {
    let mut losses = Vec::new();
    let mut out = Vec::new();
    for (i, l) in locations.iter().enumerate() {
        for (j, e) in l.evses.iter().flatten().enumerate() {
            let path = format!("[{i}].evses[{j}]");
            let mut ids: Vec<&TariffId> = Vec::new();
            for id in e
                .connectors
                .iter()
                .filter_map(|c| c.tariff_ids.as_ref())
                .flatten()
            {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.is_empty() {
                continue;
            }
            let Some(evse_id) = e
                .evse_id
                .as_ref()
                .and_then(|id| EvseId::parse(&id.as_str().to_ascii_uppercase()).ok())
            else {
                losses.push(LossNote::new(
                    path,
                    "no OICP EvseID: its tariffs are not carried",
                ));
                continue;
            };
            let products: Vec<ProductId> = ids
                .iter()
                .filter_map(|id| ProductId::parse(id.as_str()).ok())
                .collect();
            out.push(EvsePricing {
                evse_id,
                provider_id: provider.clone(),
                evse_id_product_list: products,
                extra: Extra::new(),
            });
        }
    }
    Mapped { value: out, losses }
}

// ---------------------------------------------------------------------------------------------
// Entry points for `roambridge translate`

/// OICP pricing products -> OCPI Tariffs with the default [`TariffPolicy`]. A provider-specific
/// offer is noted at `ProviderID` (the plain list does not say for whom it is).
pub fn tariffs_oicp_to_ocpi(
    data: &PricingProductData,
    ctx: &MappingCtx,
) -> Result<Mapped<Vec<Tariff>>, MappingError> {
    let m = pricing_product_data_to_tariffs(data, &TariffPolicy::default(), ctx)?;
    let mut losses = m.losses;
    note_if(
        &mut losses,
        !m.value.provider.is_all(),
        "ProviderID",
        "the Tariffs are for this provider only; a plain Tariff list does not say so",
    );
    Ok(Mapped {
        value: m.value.tariffs,
        losses,
    })
}

/// OCPI Tariffs -> OICP pricing products for all providers (`*`) with the default
/// [`TariffPolicy`].
pub fn tariffs_ocpi_to_oicp(
    tariffs: &[Tariff],
) -> Result<Mapped<PricingProductData>, MappingError> {
    tariffs_to_pricing_product_data(tariffs, ProviderIdOrAll::All, &TariffPolicy::default())
}
