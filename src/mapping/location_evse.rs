//! OCPI Locations -> OICP EVSE data records (`oicp-ocpi-mapping.md` §0, §1.1-§1.3, §8, §9 P2,
//! P10, P11, P15-P20): the reverse of [`super::evse_location`].
//!
//! # Records (§1.1, P2)
//! One `EvseDataRecord` per EVSE that has an `evse_id`; Location-level data (address,
//! coordinates, opening times, operator, energy mix) is copied into every record, and EVSE
//! `coordinates` override the Location's. An EVSE is left out, with a note, when it has no
//! `evse_id` or one that is not an OICP `EvseID` (OCPI `uid` is never used as an `EvseID`, §0),
//! when its status is `PLANNED` (not pushed until built, P10) or when none of its connectors has
//! an OICP plug (P15). A `REMOVED` EVSE becomes a record with `deltaType: delete` (P10), which is
//! what [`super::evse_location::evse_data_to_locations`] reads back as `REMOVED`.
//!
//! # Identifiers (§0)
//! * `OperatorID := {CC}*{PARTY}` (upper case, ISO form with `*`).
//! * `Location.id` is kept so that it comes back unchanged: when it is an OICP
//!   `ChargingPoolID` it becomes `ChargingPoolID`; else it becomes `ChargingStationID` (it fits
//!   the 50 characters). P2 proposed `{cc}*{party}*P{id}` as a synthetic pool id, but that would
//!   rename the Location on the way back, so the station id is used instead.
//! * `EVSE.uid` has no OICP field: noted when it differs from the uid the reverse mapping would
//!   derive from the `evse_id` ([`super::evse_location::evse_uid`]).
//!
//! # Fields without an OCPI source (filled by policy, see [`LocationsToOicpCtx`])
//! * `HotlinePhoneNumber` (mandatory): the configured hotline of the operator.
//! * `CalibrationLawDataAvailability`: `Not Available` (OCPI 2.2.1 has no such data).
//! * `IsHubjectCompatible`: whether the EVSE has `REMOTE_START_STOP_CAPABLE` (P20).
//! * `DynamicInfoAvailable`: `true` (every OCPI EVSE has a status).
//! * `AuthenticationModes` (not empty): from the capabilities via the table, else
//!   `NFC RFID Classic` (noted). `PaymentOptions` (not empty): from the capabilities, else
//!   `Contract` (OCPI's default: a roaming customer pays through the eMSP contract). `ValueAddedServices`:
//!   `Reservation` for `RESERVABLE`, else `None`.
//! * `Accessibility`: `Restricted access` for `CUSTOMERS`, else `Free publicly accessible`.
//!   A Location with `publish: false` is left out (OICP has no visibility control and would
//!   show it to everybody), or, when the context says so, sent as `Test Station` (the reverse of
//!   what [`super::evse_location`] does with test stations).
//!
//! # Value decisions
//! * `address` -> `Street` + `HouseNum`: the last word becomes `HouseNum` when it starts with a
//!   digit and fits 10 characters (`F.Rooseveltlaan 3A` -> `F.Rooseveltlaan`, `3A`), else
//!   `HouseNum` is empty (WWCP's choice). `Street` is padded with `_` to 2 characters (P17).
//!   A missing `postal_code` is sent as an empty `PostalCode` (mandatory in a push; the reverse
//!   mapping reads an empty one as absent).
//! * Coordinates are written as `DecimalDegree` rounded to 6 decimals (OCPI allows 7).
//! * `time_zone` (IANA) is not written: an OICP `TimeZone` is a fixed offset that goes stale
//!   at the next daylight-saving change (P16). Noted once per Location.
//! * `opening_times`: absent or `twentyfourseven` -> `IsOpen24Hours: true`; regular hours are
//!   grouped per weekday and written as `Everyday`, `Workdays`, `Weekend` or single days
//!   when several days share the same periods. Exceptional openings/closings and
//!   `charging_when_closed` are noted as lost.
//! * One plug and one `ChargingFacility` per connector, in connector order (so plugs and
//!   facilities pair by index on the way back, P3). `Power` is `max_electric_power` / 1000
//!   when given, else voltage x amperage x phases / 1000. `AC_2_PHASE(_SPLIT)` has no OICP power
//!   type (P11): the connector is dropped with a note.
//! * `energy_mix` -> `RenewableEnergy`, `EnergySource`, `EnvironmentalImpact`; without an
//!   energy mix `RenewableEnergy` is `false` (noted). `GENERAL_GREEN`/`GENERAL_FOSSIL` have no
//!   single OICP energy type and are noted as lost.
//! * `directions` of the EVSE, then of the Location -> `AdditionalInfo`; the first image of the
//!   EVSE (else the Location's first `CHARGER` image) -> `ChargingStationImage`; the first
//!   related location named `entrance` -> `GeoChargingPointEntrance`.
//! * `lastUpdate` is the latest of the EVSE's and its connectors' `last_updated`.
//! * Everything else (tariffs, terms and conditions, owner, facilities, parking types without
//!   an OICP value, status and status schedule, images beyond one, related locations, …) is
//!   noted.

use std::collections::BTreeMap;

use chrono::Utc;
use rust_decimal::Decimal as RustDecimal;

use super::evse_location::evse_uid;
use super::notes::{Notes, built, loaded};
use super::tables::Tables;
use super::{Mapped, MappingError};
use crate::ocpi::v221::locations::{
    Capability, Connector, EnergySourceCategory, EnvironmentalImpactCategory, Evse, ImageCategory,
    Location, PowerType as OcpiPowerType, Status,
};
use crate::ocpi::v221::types::{DisplayText, GeoLocation, Hours};
use crate::oicp::v23::common::{
    Address, Day, DecimalDegree, GeoCoordinates, HourMinute, InfoText, OpeningTimes, Period,
};
use crate::oicp::v23::evse_data::{
    Accessibility, AuthenticationMode, CalibrationLawDataAvailability, ChargingFacility, DeltaType,
    DynamicInfoAvailable, EnergySource, EnergyType, EnvironmentalImpact, PaymentOption, Plug,
    Power, PowerType as OicpPowerType, PullEvseDataRecord, ValueAddedService,
};
use crate::oicp::v23::ids::{
    ChargingPoolId, CountryCode, EvseId, LanguageCode, OperatorId, PhoneNumber,
};
use crate::oicp::v23::scalars::{Bounded, DateTime, Decimal, Int, Text};
use crate::oicp::v23::wire::Extra;

/// What the OCPI -> OICP EVSE data mapping needs from outside (the fields OICP requires and
/// OCPI does not carry). Built with [`LocationsToOicpCtx::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LocationsToOicpCtx {
    /// "Now", for records without any `last_updated` (never happens for valid OCPI input).
    pub now: chrono::DateTime<Utc>,
    /// `HotlinePhoneNumber` (mandatory in OICP, absent in OCPI 2.2.1): the operator's hotline
    /// from the configuration.
    pub hotline: PhoneNumber,
    /// Send Locations with `publish: false` as `Accessibility: Test Station` instead of leaving
    /// them out (default: left out).
    pub unpublished_as_test_station: bool,
}

impl LocationsToOicpCtx {
    /// A context at `now` with the operator's hotline; unpublished Locations are left out.
    pub fn new(now: chrono::DateTime<Utc>, hotline: PhoneNumber) -> Self {
        Self {
            now,
            hotline,
            unpublished_as_test_station: false,
        }
    }

    /// Sends unpublished Locations as test stations.
    #[must_use]
    pub fn with_unpublished_as_test_station(mut self, yes: bool) -> Self {
        self.unpublished_as_test_station = yes;
        self
    }
}

/// OCPI Locations -> OICP EVSE data records, one per EVSE (see the module documentation).
/// The records carry their operator (`OperatorID`, `OperatorName`), like pulled records; group
/// them by operator for a push ([`PullEvseDataRecord::into_parts`]).
///
/// # Errors
/// Only when the value tables are broken or a built OICP value is refused (a bug); every
/// Location or EVSE that cannot be mapped is left out with a loss note.
pub fn locations_to_evse_data(
    locations: &[Location],
    ctx: &LocationsToOicpCtx,
) -> Result<Mapped<Vec<PullEvseDataRecord>>, MappingError> {
    let t = loaded("Location")?;
    let mut records = Vec::new();
    let mut losses = Vec::new();
    for (i, location) in locations.iter().enumerate() {
        let mut notes = Notes::new(format!("Location[{i}]"));
        map_location(location, t, ctx, &mut notes, &mut records)?;
        losses.append(&mut notes.losses);
    }
    Ok(Mapped {
        value: records,
        losses,
    })
}

/// Location-level values shared by its records.
struct Shared {
    operator_id: OperatorId,
    operator_name: Option<Text<100>>,
    pool: Option<ChargingPoolId>,
    station: Option<Text<50>>,
    names: Vec<InfoText>,
    sub_operator_name: Option<Text<100>>,
    address: Address,
    coordinates: Option<GeoCoordinates>,
    entrance: Option<GeoCoordinates>,
    accessibility: Accessibility,
    accessibility_location: Option<crate::oicp::v23::evse_data::AccessibilityLocation>,
    open_24: bool,
    opening_times: Option<Vec<OpeningTimes>>,
    renewable: bool,
    energy_source: Option<Vec<EnergySource>>,
    impact: Option<EnvironmentalImpact>,
    directions: Vec<InfoText>,
    image: Option<Text<200>>,
}

fn map_location(
    l: &Location,
    t: &Tables,
    ctx: &LocationsToOicpCtx,
    notes: &mut Notes,
    out: &mut Vec<PullEvseDataRecord>,
) -> Result<(), MappingError> {
    if !l.publish && !ctx.unpublished_as_test_station {
        notes.add(
            "publish",
            "publish is false and OICP has no visibility control: the Location is left out",
        );
        return Ok(());
    }
    let Some(shared) = location_shared(l, t, notes)? else {
        return Ok(());
    };
    let evses = l.evses.as_deref().unwrap_or_default();
    if evses.is_empty() {
        notes.add("evses", "no EVSEs: nothing to send to OICP");
    }
    for (j, evse) in evses.iter().enumerate() {
        let mut en = Notes::new(notes.path(&format!("evses[{j}]")));
        if let Some(record) = map_evse(evse, &shared, t, ctx, &mut en)? {
            out.push(record);
        }
        notes.losses.append(&mut en.losses);
    }
    Ok(())
}

/// `Text<N>` of `s`, cut to `N` characters with a note.
fn text<const N: usize>(s: &str, field: &str, notes: &mut Notes) -> Text<N> {
    if s.chars().count() > N {
        notes.add(field, format!("cut to the {N} characters OICP allows"));
    }
    Text::truncated(s)
}

/// `Bounded<MIN, N>`: cut to `N`, padded with `_` to `MIN` (Hubject best practice, P17).
fn bounded<const MIN: usize, const N: usize>(
    s: &str,
    field: &str,
    notes: &mut Notes,
) -> Bounded<MIN, N> {
    let mut v: String = s.chars().take(N).collect();
    if s.chars().count() > N {
        notes.add(field, format!("cut to the {N} characters OICP allows"));
    }
    while v.chars().count() < MIN {
        v.push('_');
    }
    Bounded::truncated(&v)
}

fn info_text(lang: &str, value: &str, field: &str, notes: &mut Notes) -> Option<InfoText> {
    let Ok(lang) = LanguageCode::parse(&lang.to_ascii_lowercase()) else {
        notes.add(
            field,
            format!("'{lang}' is not an OICP language code; not carried"),
        );
        return None;
    };
    Some(InfoText {
        lang: Some(lang),
        value: text::<150>(value, field, notes),
        extra: Extra::new(),
    })
}

fn display_texts(list: Option<&Vec<DisplayText>>, field: &str, notes: &mut Notes) -> Vec<InfoText> {
    list.map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            info_text(
                d.language.as_str(),
                d.text.as_str(),
                &format!("{field}[{i}]"),
                notes,
            )
        })
        .collect()
}

/// OCPI coordinates -> OICP `DecimalDegree`, rounded to 6 decimals.
fn coordinates(g: &GeoLocation) -> Option<GeoCoordinates> {
    let lat = format!("{:.6}", g.latitude.value());
    let lon = format!("{:.6}", g.longitude.value());
    Some(GeoCoordinates {
        google: None,
        decimal_degree: Some(DecimalDegree {
            longitude: crate::oicp::v23::common::DecimalLongitude::parse(&lon).ok()?,
            latitude: crate::oicp::v23::common::DecimalLatitude::parse(&lat).ok()?,
            extra: Extra::new(),
        }),
        degree_minute_seconds: None,
        extra: Extra::new(),
    })
}

/// Notes when `g` has more than 6 decimals (OCPI allows 7, OICP 6).
fn note_precision(g: &GeoLocation, field: &str, notes: &mut Notes) {
    let decimals = |s: &str| s.split('.').nth(1).map_or(0, str::len);
    if decimals(g.latitude.as_str()) > 6 || decimals(g.longitude.as_str()) > 6 {
        notes.add(field, "rounded to the 6 decimals OICP allows");
    }
}

/// Splits `address` into `Street` and `HouseNum` (see the module documentation).
fn split_address(address: &str) -> (String, String) {
    let trimmed = address.trim();
    if let Some((street, last)) = trimmed.rsplit_once(' ')
        && last.chars().next().is_some_and(|c| c.is_ascii_digit())
        && last.chars().count() <= 10
        && street.trim().chars().count() >= 2
    {
        return (street.trim().to_owned(), last.to_owned());
    }
    (trimmed.to_owned(), String::new())
}

#[allow(clippy::too_many_lines)]
fn location_shared(
    l: &Location,
    t: &Tables,
    notes: &mut Notes,
) -> Result<Option<Shared>, MappingError> {
    let path = notes.prefix.clone();
    let operator = format!(
        "{}*{}",
        l.country_code.as_str().to_ascii_uppercase(),
        l.party_id.as_str().to_ascii_uppercase()
    );
    let operator_id = built(&path, OperatorId::parse(&operator))?;
    let id = l.id.as_str();
    let (pool, station) = match ChargingPoolId::parse(id) {
        Ok(p) if p.operator_id() == operator_id => (Some(p), None),
        _ => (None, Some(Text::<50>::truncated(id))),
    };
    let Ok(country) = CountryCode::parse(&l.country.as_str().to_ascii_uppercase()) else {
        notes.add(
            "country",
            format!(
                "'{}' is not an ISO 3166-1 alpha-3 code: the Location is left out",
                l.country
            ),
        );
        return Ok(None);
    };
    let (street, house) = split_address(l.address.as_str());
    if l.city.as_str().trim().is_empty() {
        notes.add("city", "empty; OICP needs a city: the Location is left out");
        return Ok(None);
    }
    let address = Address {
        country,
        city: bounded::<1, 50>(l.city.as_str(), "city", notes),
        street: bounded::<2, 100>(&street, "address", notes),
        postal_code: Some(l.postal_code.as_ref().map_or_else(
            || Text::truncated(""),
            |p| text::<10>(p.as_str(), "postal_code", notes),
        )),
        house_num: Some(text::<10>(&house, "address", notes)),
        floor: None,
        region: l
            .state
            .as_ref()
            .map(|s| text::<50>(s.as_str(), "state", notes)),
        parking_facility: None,
        parking_spot: None,
        time_zone: None,
        extra: Extra::new(),
    };
    notes.add(
        "time_zone",
        "an IANA zone has no OICP form (a fixed UTC offset goes stale with daylight saving); not carried",
    );
    note_precision(&l.coordinates, "coordinates", notes);
    let names = match &l.name {
        Some(n) => info_text("en", n.as_str(), "name", notes)
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    let names = if names.is_empty() {
        notes.add(
            "name",
            "no name; OICP needs a station name: the address is used",
        );
        vec![InfoText {
            lang: LanguageCode::parse("en").ok(),
            value: Text::truncated(&format!("{}, {}", l.address, l.city)),
            extra: Extra::new(),
        }]
    } else {
        names
    };
    let accessibility = if l.publish {
        Accessibility::FreePubliclyAccessible
    } else {
        notes.add(
            "publish",
            "publish is false: sent as Accessibility Test Station (configured)",
        );
        Accessibility::TestStation
    };
    if l.publish_allowed_to.is_some() {
        notes.add("publish_allowed_to", "OICP has no visibility control");
    }
    let accessibility_location = l.parking_type.as_ref().and_then(|p| {
        let entry = t.accessibility_location.to_oicp(p);
        notes.lookup(&entry, p, "parking_type")
    });
    let (open_24, opening_times) = opening_times(l.opening_times.as_ref(), notes);
    notes.add_if(
        l.charging_when_closed.is_some(),
        "charging_when_closed",
        "OICP has no charging-when-closed flag",
    );
    let (renewable, energy_source, impact) = energy(l, notes);
    let entrance = entrance(l, notes);
    let mut directions = Vec::new();
    directions.extend(display_texts(l.directions.as_ref(), "directions", notes));
    let image = l.images.as_deref().and_then(|images| {
        let pick = images
            .iter()
            .position(|i| i.category == ImageCategory::Charger);
        for (k, _) in images.iter().enumerate().filter(|(k, _)| Some(*k) != pick) {
            notes.add(
                &format!("images[{k}]"),
                "OICP has one station image (the first CHARGER image is used); not carried",
            );
        }
        pick.map(|k| text::<200>(images[k].url.as_str(), &format!("images[{k}]"), notes))
    });
    notes.add_if(l.owner.is_some(), "owner", "OICP has no owner");
    notes.add_if(
        l.facilities.is_some(),
        "facilities",
        "OICP has no facilities",
    );
    if !l.extra.is_empty() {
        for k in l.extra.keys() {
            notes.add(k, "not an OCPI Location member; not carried");
        }
    }
    Ok(Some(Shared {
        operator_id,
        operator_name: l
            .operator
            .as_ref()
            .map(|o| text::<100>(o.name.as_str(), "operator.name", notes)),
        pool,
        station,
        names,
        sub_operator_name: l
            .suboperator
            .as_ref()
            .map(|o| text::<100>(o.name.as_str(), "suboperator.name", notes)),
        address,
        coordinates: coordinates(&l.coordinates),
        entrance,
        accessibility,
        accessibility_location,
        open_24,
        opening_times,
        renewable,
        energy_source,
        impact,
        directions,
        image,
    }))
}

/// The first related location named `entrance` -> `GeoChargingPointEntrance`; others noted.
fn entrance(l: &Location, notes: &mut Notes) -> Option<GeoCoordinates> {
    let related = l.related_locations.as_deref().unwrap_or_default();
    let pick = related.iter().position(|r| {
        r.name
            .as_ref()
            .is_some_and(|n| n.text.as_str().eq_ignore_ascii_case("entrance"))
    });
    for (k, _) in related.iter().enumerate().filter(|(k, _)| Some(*k) != pick) {
        notes.add(
            &format!("related_locations[{k}]"),
            "OICP has only the charging point entrance; not carried",
        );
    }
    let r = &related[pick?];
    coordinates(&GeoLocation {
        latitude: r.latitude.clone(),
        longitude: r.longitude.clone(),
        extra: Extra::new(),
    })
}

/// `opening_times` -> (`IsOpen24Hours`, `OpeningTimes`).
fn opening_times(hours: Option<&Hours>, notes: &mut Notes) -> (bool, Option<Vec<OpeningTimes>>) {
    let Some(h) = hours else {
        return (true, None);
    };
    notes.add_if(
        h.exceptional_openings
            .as_ref()
            .is_some_and(|e| !e.is_empty()),
        "opening_times.exceptional_openings",
        "OICP has no exceptional opening periods",
    );
    notes.add_if(
        h.exceptional_closings
            .as_ref()
            .is_some_and(|e| !e.is_empty()),
        "opening_times.exceptional_closings",
        "OICP has no exceptional closing periods",
    );
    let regular = h.regular_hours.as_deref().unwrap_or_default();
    if h.twentyfourseven || regular.is_empty() {
        notes.add_if(
            h.twentyfourseven && !regular.is_empty(),
            "opening_times.regular_hours",
            "ignored: twentyfourseven is true",
        );
        return (true, None);
    }
    // Periods per weekday (1 = Monday), in input order.
    let mut by_day: BTreeMap<i64, Vec<(u16, u16)>> = BTreeMap::new();
    for r in regular {
        let p = (r.period_begin.minutes(), r.period_end.minutes());
        let day = by_day.entry(r.weekday.get()).or_default();
        if !day.contains(&p) {
            day.push(p);
        }
    }
    for periods in by_day.values_mut() {
        periods.sort_unstable();
    }
    let same = |days: &[i64]| -> Option<Vec<(u16, u16)>> {
        let first = by_day.get(&days[0])?;
        days.iter()
            .all(|d| by_day.get(d) == Some(first))
            .then(|| first.clone())
    };
    let mut out: Vec<(Day, Vec<(u16, u16)>)> = Vec::new();
    let mut done: Vec<i64> = Vec::new();
    if let Some(p) = same(&[1, 2, 3, 4, 5, 6, 7]) {
        out.push((Day::Everyday, p));
        done.extend(1..=7);
    } else {
        if let Some(p) = same(&[1, 2, 3, 4, 5]) {
            out.push((Day::Workdays, p));
            done.extend(1..=5);
        }
        if let Some(p) = same(&[6, 7]) {
            out.push((Day::Weekend, p));
            done.extend([6, 7]);
        }
    }
    for (day, periods) in &by_day {
        if done.contains(day) {
            continue;
        }
        let on = match day {
            1 => Day::Monday,
            2 => Day::Tuesday,
            3 => Day::Wednesday,
            4 => Day::Thursday,
            5 => Day::Friday,
            6 => Day::Saturday,
            _ => Day::Sunday,
        };
        out.push((on, periods.clone()));
    }
    let hm = |m: u16| HourMinute {
        hour: u8::try_from(m / 60).unwrap_or(23),
        minute: u8::try_from(m % 60).unwrap_or(59),
    };
    let times = out
        .into_iter()
        .map(|(on, periods)| OpeningTimes {
            period: periods
                .into_iter()
                .map(|(b, e)| Period {
                    begin: hm(b),
                    end: hm(e),
                    extra: Extra::new(),
                })
                .collect(),
            on,
            extra: Extra::new(),
        })
        .collect();
    (false, Some(times))
}

type Energy = (bool, Option<Vec<EnergySource>>, Option<EnvironmentalImpact>);

/// `energy_mix` -> (`RenewableEnergy`, `EnergySource`, `EnvironmentalImpact`).
fn energy(l: &Location, notes: &mut Notes) -> Energy {
    let Some(mix) = &l.energy_mix else {
        notes.add(
            "energy_mix",
            "absent; OICP needs RenewableEnergy: false is sent",
        );
        return (false, None, None);
    };
    let mut sources = Vec::new();
    for (k, s) in mix
        .energy_sources
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("energy_mix.energy_sources[{k}]");
        let energy = match s.source {
            EnergySourceCategory::Solar => EnergyType::Solar,
            EnergySourceCategory::Wind => EnergyType::Wind,
            EnergySourceCategory::Water => EnergyType::HydroPower,
            EnergySourceCategory::Nuclear => EnergyType::NuclearEnergy,
            EnergySourceCategory::Coal => EnergyType::Coal,
            EnergySourceCategory::Gas => EnergyType::NaturalGas,
            ref other => {
                notes.add(
                    &field,
                    format!("OICP has no energy type for '{other}'; not carried"),
                );
                continue;
            }
        };
        let pct = s.percentage.value();
        let rounded = pct.round();
        if rounded != pct {
            notes.add(&field, "percentage rounded to a whole number");
        }
        let Some(pct) = rust_decimal::prelude::ToPrimitive::to_i64(&rounded)
            .and_then(|p| Int::<0, 100>::new(p).ok())
        else {
            notes.add(&field, "percentage out of range 0..=100; not carried");
            continue;
        };
        sources.push(EnergySource {
            energy: Some(energy),
            percentage: Some(pct),
            extra: Extra::new(),
        });
    }
    let mut impact = EnvironmentalImpact {
        co2_emission: None,
        nuclear_waste: None,
        extra: Extra::new(),
    };
    for (k, e) in mix
        .environ_impact
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let v = Some(Decimal::from(e.amount.value()));
        match e.category {
            EnvironmentalImpactCategory::CarbonDioxide => impact.co2_emission = v,
            EnvironmentalImpactCategory::NuclearWaste => impact.nuclear_waste = v,
            EnvironmentalImpactCategory::Unknown(ref other) => notes.add(
                &format!("energy_mix.environ_impact[{k}]"),
                format!("'{other}' is not an OCPI category; not carried"),
            ),
        }
    }
    notes.add_if(
        mix.supplier_name.is_some(),
        "energy_mix.supplier_name",
        "OICP has no energy supplier",
    );
    notes.add_if(
        mix.energy_product_name.is_some(),
        "energy_mix.energy_product_name",
        "OICP has no energy product",
    );
    let impact =
        (impact.co2_emission.is_some() || impact.nuclear_waste.is_some()).then_some(impact);
    (
        mix.is_green_energy,
        (!sources.is_empty()).then_some(sources),
        impact,
    )
}

#[allow(clippy::too_many_lines)]
fn map_evse(
    e: &Evse,
    s: &Shared,
    t: &Tables,
    ctx: &LocationsToOicpCtx,
    notes: &mut Notes,
) -> Result<Option<PullEvseDataRecord>, MappingError> {
    let Some(ocpi_evse_id) = &e.evse_id else {
        notes.add(
            "evse_id",
            "no evse_id: OICP needs an EvseID and the uid is never used as one; the EVSE is left out",
        );
        return Ok(None);
    };
    let Ok(evse_id) = EvseId::parse(&ocpi_evse_id.as_str().to_ascii_uppercase()) else {
        notes.add(
            "evse_id",
            format!("'{ocpi_evse_id}' is not an OICP EvseID: the EVSE is left out"),
        );
        return Ok(None);
    };
    let delta_type = match e.status {
        Status::Planned => {
            notes.add(
                "status",
                "PLANNED: not sent to OICP until the EVSE is built (§9 P10); the EVSE is left out",
            );
            return Ok(None);
        }
        Status::Removed => Some(DeltaType::Delete),
        _ => {
            notes.add(
                "status",
                "EVSE data carries no status; it goes with the EVSE status feed",
            );
            None
        }
    };
    let normalized = evse_id.normalized();
    if !e.uid.as_str().eq_ignore_ascii_case(&evse_uid(&normalized)) {
        notes.add(
            "uid",
            "OICP has no EVSE uid (it is derived from the EvseID on the way back); not carried",
        );
    }
    notes.add_if(
        e.status_schedule.is_some(),
        "status_schedule",
        "OICP has no status schedule",
    );
    let capabilities = e.capabilities.as_deref().unwrap_or_default();
    let (plugs, facilities) = connectors(&e.connectors, t, notes);
    if plugs.is_empty() {
        notes.add(
            "connectors",
            "no connector has an OICP plug and power type (§9 P15): the EVSE is left out",
        );
        return Ok(None);
    }
    let (auth, payment, services) = capability_lists(capabilities, t, notes);
    let accessibility = parking_restrictions(e, s, t, notes);
    let mut address = s.address.clone();
    address.floor = e
        .floor_level
        .as_ref()
        .map(|f| text::<5>(f.as_str(), "floor_level", notes));
    address.parking_spot = e.physical_reference.as_ref().and_then(|r| {
        if r.as_str().chars().count() > 5 {
            notes.add(
                "physical_reference",
                "longer than the 5 characters of OICP ParkingSpot; not carried",
            );
            None
        } else {
            Some(Text::truncated(r.as_str()))
        }
    });
    let coordinates = match &e.coordinates {
        Some(c) => {
            note_precision(c, "coordinates", notes);
            coordinates(c)
        }
        None => s.coordinates.clone(),
    };
    let Some(geo_coordinates) = coordinates else {
        return Err(notes.error("coordinates", "coordinates out of the OICP range"));
    };
    let mut additional_info = display_texts(e.directions.as_ref(), "directions", notes);
    additional_info.extend(s.directions.iter().cloned());
    let image = match e.images.as_deref() {
        Some([first, rest @ ..]) => {
            for (k, _) in rest.iter().enumerate() {
                notes.add(
                    &format!("images[{}]", k + 1),
                    "OICP has one station image; not carried",
                );
            }
            Some(text::<200>(first.url.as_str(), "images[0]", notes))
        }
        _ => s.image.clone(),
    };
    for k in e.extra.keys() {
        notes.add(k, "not an OCPI EVSE member; not carried");
    }
    let last = e
        .connectors
        .iter()
        .map(|c| c.last_updated.value())
        .chain([e.last_updated.value()])
        .max()
        .unwrap_or(ctx.now);
    let remote = capabilities.contains(&Capability::RemoteStartStopCapable);
    Ok(Some(PullEvseDataRecord {
        operator_id: s.operator_id.clone(),
        operator_name: s.operator_name.clone(),
        delta_type,
        last_update: Some(DateTime::from_chrono(last.fixed_offset())),
        evse_id,
        charging_pool_id: s.pool.clone(),
        charging_station_id: s.station.clone(),
        charging_station_names: s.names.clone(),
        hardware_manufacturer: None,
        charging_station_image: image,
        sub_operator_name: s.sub_operator_name.clone(),
        address,
        geo_coordinates,
        plugs,
        dynamic_power_level: None,
        charging_facilities: facilities,
        renewable_energy: Some(s.renewable),
        energy_source: s.energy_source.clone(),
        environmental_impact: s.impact.clone(),
        calibration_law_data_availability: Some(CalibrationLawDataAvailability::NotAvailable),
        authentication_modes: auth,
        max_capacity: None,
        payment_options: Some(payment),
        value_added_services: services,
        accessibility: Some(accessibility),
        accessibility_location: s.accessibility_location.clone(),
        hotline_phone_number: ctx.hotline.clone(),
        additional_info: (!additional_info.is_empty()).then_some(additional_info),
        charging_station_location_reference: None,
        geo_charging_point_entrance: s.entrance.clone(),
        is_open_24_hours: s.open_24,
        opening_times: s.opening_times.clone(),
        hub_operator_id: None,
        clearinghouse_id: None,
        is_hubject_compatible: remote,
        dynamic_info_available: DynamicInfoAvailable::True,
        extra: Extra::new(),
    }))
}

/// Connectors -> (`Plugs`, `ChargingFacilities`), one of each per mappable connector.
fn connectors(
    connectors: &[Connector],
    t: &Tables,
    notes: &mut Notes,
) -> (Vec<Plug>, Vec<ChargingFacility>) {
    let mut plugs = Vec::new();
    let mut facilities = Vec::new();
    for (k, c) in connectors.iter().enumerate() {
        let field = format!("connectors[{k}]");
        let Some(plug) = notes.lookup(
            &t.plugs.to_oicp(&c.standard, &c.format),
            &c.standard,
            &format!("{field}.standard"),
        ) else {
            notes.add(&field, "no OICP plug: the connector is not carried");
            continue;
        };
        if let Some(loss) = t.plugs.format_loss(&plug, &c.format) {
            notes.add(&format!("{field}.format"), loss);
        }
        let Some(power_type) = notes.lookup(
            &t.power_types.to_oicp(&c.power_type),
            &c.power_type,
            &format!("{field}.power_type"),
        ) else {
            notes.add(&field, "no OICP power type: the connector is not carried");
            continue;
        };
        if c.id.as_str() != (plugs.len() + 1).to_string() {
            notes.add(
                &format!("{field}.id"),
                "OICP plugs have no id (connectors are numbered by position on the way back); not carried",
            );
        }
        notes.add_if(
            c.tariff_ids.is_some(),
            &format!("{field}.tariff_ids"),
            "EVSE data has no tariffs (OICP pricing is pushed separately, §7); not carried",
        );
        notes.add_if(
            c.terms_and_conditions.is_some(),
            &format!("{field}.terms_and_conditions"),
            "OICP has no terms and conditions",
        );
        facilities.push(facility(c, &power_type, &field, notes));
        plugs.push(plug);
    }
    (plugs, facilities)
}

/// One connector's electrics -> a `ChargingFacility`.
fn facility(
    c: &Connector,
    power_type: &OicpPowerType,
    field: &str,
    notes: &mut Notes,
) -> ChargingFacility {
    let phases: i64 = if c.power_type == OcpiPowerType::Ac3Phase {
        3
    } else {
        1
    };
    let watts = c
        .max_electric_power
        .unwrap_or(c.max_voltage * c.max_amperage * phases);
    let kw = RustDecimal::from(watts) / RustDecimal::from(1000);
    let power = Power::new(Decimal::from(kw.normalize())).ok();
    notes.add_if(
        power.is_none(),
        &format!("{field}.max_electric_power"),
        "out of the OICP range 0..=999 kW; not carried",
    );
    let voltage = Int::<0, 999>::new(c.max_voltage).ok();
    notes.add_if(
        voltage.is_none(),
        &format!("{field}.max_voltage"),
        "out of the OICP range 0..=999 V; not carried",
    );
    let amperage = Int::<0, 9999>::new(c.max_amperage).ok();
    notes.add_if(
        amperage.is_none(),
        &format!("{field}.max_amperage"),
        "out of the OICP range 0..=9999 A; not carried",
    );
    ChargingFacility {
        power_type: Some(power_type.clone()),
        voltage,
        amperage,
        power,
        charging_modes: None,
        extra: Extra::new(),
    }
}

type CapabilityLists = (
    Vec<AuthenticationMode>,
    Vec<PaymentOption>,
    Vec<ValueAddedService>,
);

/// Capabilities -> (`AuthenticationModes`, `PaymentOptions`, `ValueAddedServices`) via the
/// tables; a capability that maps to neither list is noted.
fn capability_lists(caps: &[Capability], t: &Tables, notes: &mut Notes) -> CapabilityLists {
    let mut auth: Vec<AuthenticationMode> = Vec::new();
    let mut payment: Vec<PaymentOption> = Vec::new();
    let mut services = Vec::new();
    for (k, c) in caps.iter().enumerate() {
        let field = format!("capabilities[{k}]");
        if *c == Capability::Reservable {
            services.push(ValueAddedService::Reservation);
            continue;
        }
        let mut found = false;
        if let super::tables::Entry::Mapped(target) = t.authentication_modes.to_oicp(c) {
            found = true;
            if !auth.contains(&target.value) {
                auth.push(target.value.clone());
            }
        }
        if let super::tables::Entry::Mapped(target) = t.payment_options.to_oicp(c) {
            found = true;
            if !payment.contains(&target.value) {
                payment.push(target.value.clone());
            }
        }
        if found {
            // The lossy rows (card technology, payment means) note their loss once.
            if let super::tables::Entry::Mapped(target) = t.authentication_modes.to_oicp(c)
                && let Some(loss) = &target.loss
            {
                notes.add(&field, loss.clone());
            }
        } else {
            let entry = t.authentication_modes.to_oicp(c);
            notes.lookup(&entry, c, &field);
        }
    }
    if auth.is_empty() {
        notes.add(
            "capabilities",
            "no capability gives an OICP authentication mode, which OICP requires: NFC RFID Classic is assumed",
        );
        auth.push(AuthenticationMode::NfcRfidClassic);
    }
    if payment.is_empty() {
        // Contract payment is OCPI's default (mappings/payment_options.toml): nothing lost.
        payment.push(PaymentOption::Contract);
    }
    if services.is_empty() {
        services.push(ValueAddedService::None);
    }
    (auth, payment, services)
}

/// `parking_restrictions` (and the Location's accessibility) -> `Accessibility`.
fn parking_restrictions(e: &Evse, s: &Shared, t: &Tables, notes: &mut Notes) -> Accessibility {
    let mut out = s.accessibility.clone();
    for (k, r) in e
        .parking_restrictions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let field = format!("parking_restrictions[{k}]");
        if out == Accessibility::FreePubliclyAccessible {
            let entry = t.accessibility.to_oicp(r);
            if let Some(a) = notes.lookup(&entry, r, &field) {
                out = a;
            }
        } else {
            notes.add(
                &field,
                format!("OICP has one Accessibility, already {out}; not carried"),
            );
        }
    }
    out
}
