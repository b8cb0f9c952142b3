//! OICP `ChargeDetailRecord` <-> OCPI CDR (`oicp-ocpi-mapping.md` §3, §8, §9 P6, P7, P26, P27).
//!
//! # OICP -> OCPI
//! An OICP CDR has no location, price, currency or periods; the caller passes what the node
//! knows in a [`CdrContext`]:
//! * **Location** ([`CdrSite`]): an OCPI Location (e.g. built by
//!   [`evse_location`](super::evse_location) from the node's EVSE data record), or a stored
//!   `CdrLocation`. The EVSE is found by `EvseID`; the connector is the context's, else the
//!   first one (noted when the EVSE has several, P27). With no site, [`MissingLocation`]
//!   decides: `Reject` (the default: an OCPI CDR with an invented address is worse than one
//!   sent later) or `Placeholder` (address, city and coordinates `0`, country `ZZZ`, Type 2
//!   socket AC 3 phase; every invented field noted) for offline translation.
//! * **Price** ([`CostPolicy`], P26): with a tariff (resolved by the caller from
//!   `PartnerProductID` or EVSE pricing) and `Compute`, the cost is computed from the
//!   tariff's unrestricted `FLAT`, `ENERGY`, `TIME` and `PARKING_TIME` components with their
//!   step sizes, clamped to `min_price`/`max_price`; `incl_vat` only when every used component
//!   has a `vat`. A tariff with restrictions or reservation elements cannot be computed here:
//!   `total_cost` 0 and a remark, noted. `ZeroWithRemark` always does that. `currency` is the
//!   tariff's, else the context's, else `XXX` (ISO 4217 "no currency", noted).
//! * **Periods**: `PARKING_TIME` from `SessionStart` when charging started later, then one
//!   period from `ChargingStart` with `ENERGY` (= `ConsumedEnergy`) and `TIME` (charging hours),
//!   then `PARKING_TIME` from `ChargingEnd` when the session ended later. `tariff_id` is the
//!   tariff's id, else `PartnerProductID`. `total_time` = `SessionEnd` − `SessionStart`,
//!   `total_parking_time` the two parking spans (when not 0).
//! * **Token** (P27): the eMSP is the context's, else `HubProviderID`, else the `EvcoID`'s
//!   provider.
//! * **Ids**: `id` and `session_id` = `SessionID` (a GUID fits, P6); the CPO from the
//!   `OperatorID` part of the `EvseID`; `authorization_reference` = the context's, else the
//!   `EMPPartnerSessionID` when it fits 36 characters (P7). `last_updated` = "now".
//! * **Signed meter values**: `SignedMeteringValues` -> `signed_data.signed_values` (`Start`
//!   -> `Start`, `Progress` -> `Intermediate`, `End` -> `End`, none -> `Unknown`), with an empty
//!   `plain_data` (OICP has none); `encoding_method` = `MeteringSignatureEncodingFormat`, else
//!   `OCMF` when the values are OCMF containers, else `Unknown`; `public_key` and `url` from
//!   `CalibrationLawVerificationInfo`. The certificate id and verification instruction have no
//!   OCPI field (noted).
//!
//! # OCPI -> OICP
//! Credit CDRs are refused (OICP accepts one CDR per `SessionID`). `SessionID` = the context's
//! (the node's map), else `session_id`, else `id` when it is a GUID, else a name-based GUID
//! derived from `(country_code, party_id, id)` ([`derived_session_id`], P6). `ChargingStart` is
//! the start of the first `ENERGY` period, `ChargingEnd` the start of the first parking-only
//! period after it, else `end_date_time` (P27). Costs, tariffs, currency, the location (except
//! `evse_id`), periods, `auth_method` and the other OCPI-only members are noted as lost.
//! `signed_data` becomes `SignedMeteringValues` (at most 10) and a
//! `CalibrationLawVerificationInfo` (Hubject refuses signed values without one).

use rust_decimal::Decimal;

use super::session::{
    Party, TokenContext, built, cdr_token_to_identification, extra_notes, hours_between,
    identification_to_cdr_token, kwh, note_if, product_tariff_id, to_ocpi_time, to_oicp_time,
};
use super::{LossNote, Mapped, MappingCtx, MappingError};
use crate::ocpi::v221::cdrs::{Cdr, CdrLocation, SignedData, SignedValue};
use crate::ocpi::v221::ids::{
    AuthorizationReference, CdrId, CiString, ConnectorId, EvseId as OcpiEvseId, EvseUid,
    LocationId, SessionId as OcpiSessionId, TariffId,
};
use crate::ocpi::v221::locations::{ConnectorFormat, ConnectorType, Location, PowerType};
use crate::ocpi::v221::sessions::{AuthMethod, CdrDimension, CdrDimensionType, ChargingPeriod};
use crate::ocpi::v221::tariffs::{Tariff, TariffDimensionType};
use crate::ocpi::v221::types::{Coordinate, DateTime, GeoLocation, Number, OcpiString, Price};
use crate::oicp::v23::cdr::{
    CalibrationLawVerification, ChargeDetailRecord, MAX_SIGNED_METERING_VALUES, MeteringStatus,
    SignedMeteringValue,
};
use crate::oicp::v23::ids::{EmpPartnerSessionId, EvseId, ProductId, SessionId};
use crate::oicp::v23::scalars::{Decimal as OicpDecimal, Text};
use crate::oicp::v23::wire::Extra;

/// Remark of a CDR whose price the OICP side did not provide.
pub const NO_PRICE_REMARK: &str = "price not provided by OICP peer";

/// Where the session took place, as the node knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CdrSite<'a> {
    /// An OCPI Location holding the EVSE (e.g. mapped from the node's EVSE data record).
    Location(&'a Location),
    /// A stored `CdrLocation` (e.g. from an earlier CDR or Session of the EVSE).
    CdrLocation(&'a CdrLocation),
    /// Nothing known.
    Unknown,
}

/// What to do without a site (module documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingLocation {
    /// Refuse the CDR with a [`MappingError`] at `EvseID`.
    #[default]
    Reject,
    /// Fill `cdr_location` with noted placeholders.
    Placeholder,
}

/// How `total_cost` is found (P26).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CostPolicy {
    /// Compute from the tariff when it can be; else 0 and a remark.
    #[default]
    Compute,
    /// Always 0 and a remark (e.g. for a partner that prices CDRs itself).
    ZeroWithRemark,
}

/// What the node passes in for one OICP CDR.
#[derive(Debug, Clone, PartialEq)]
pub struct CdrContext<'a> {
    /// "Now" and the station's offset.
    pub ctx: &'a MappingCtx,
    /// The location.
    pub site: CdrSite<'a>,
    /// Without a site.
    pub missing_location: MissingLocation,
    /// The connector used, when the node knows it.
    pub connector_id: Option<ConnectorId>,
    /// The tariff that priced the session.
    pub tariff: Option<&'a Tariff>,
    /// Cost policy.
    pub cost_policy: CostPolicy,
    /// Currency when there is no tariff.
    pub currency: Option<OcpiString<3>>,
    /// Token owner and contract id.
    pub token: TokenContext,
    /// How the session was authorized (default `AUTH_REQUEST`).
    pub auth_method: AuthMethod,
    /// The eMSP's authorization reference.
    pub authorization_reference: Option<AuthorizationReference>,
}

impl<'a> CdrContext<'a> {
    /// A context with the documented defaults: no site (rejects), no tariff, `AUTH_REQUEST`.
    pub fn new(ctx: &'a MappingCtx) -> Self {
        Self {
            ctx,
            site: CdrSite::Unknown,
            missing_location: MissingLocation::Reject,
            connector_id: None,
            tariff: None,
            cost_policy: CostPolicy::Compute,
            currency: None,
            token: TokenContext::default(),
            auth_method: AuthMethod::AuthRequest,
            authorization_reference: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Location

fn ocpi_evse_id(evse_id: &EvseId, path: &str) -> Result<OcpiEvseId, MappingError> {
    built(path, OcpiEvseId::parse(&evse_id.normalized()))
}

/// The `cdr_location` for the CDR's EVSE.
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
#[allow(clippy::single_match_else)] // reads better than if-let for these two-way choices
fn cdr_location(
    r: &ChargeDetailRecord,
    c: &CdrContext<'_>,
    losses: &mut Vec<LossNote>,
) -> Result<CdrLocation, MappingError> {
    let wanted = r.evse_id.normalized().replace('*', "");
    let same = |id: &str| id.replace('*', "").eq_ignore_ascii_case(&wanted);
    match c.site {
        CdrSite::CdrLocation(l) => {
            if !same(l.evse_id.as_str()) {
                return Err(MappingError::new(
                    "EvseID",
                    format!(
                        "the stored cdr_location is for EVSE {}, not {}",
                        l.evse_id.as_str(),
                        r.evse_id
                    ),
                ));
            }
            let mut l = l.clone();
            if let Some(id) = &c.connector_id {
                l.connector_id = id.clone();
            }
            Ok(l)
        }
        CdrSite::Location(loc) => {
            let evse = loc
                .evses
                .iter()
                .flatten()
                .find(|e| e.evse_id.as_ref().is_some_and(|id| same(id.as_str())))
                .ok_or_else(|| {
                    MappingError::new(
                        "EvseID",
                        format!("Location {} has no EVSE {}", loc.id.as_str(), r.evse_id),
                    )
                })?;
            let connector = match &c.connector_id {
                Some(id) => evse
                    .connectors
                    .iter()
                    .find(|k| &k.id == id)
                    .ok_or_else(|| {
                        MappingError::new(
                            "EvseID",
                            format!("EVSE {} has no connector {}", r.evse_id, id.as_str()),
                        )
                    })?,
                None => {
                    note_if(
                        losses,
                        evse.connectors.len() > 1,
                        "EvseID",
                        "OICP does not say which connector was used: cdr_location takes the EVSE's first connector (§9 P27)",
                    );
                    evse.connectors
                        .first()
                        .ok_or_else(|| MappingError::new("EvseID", "the EVSE has no connector"))?
                }
            };
            Ok(CdrLocation {
                id: loc.id.clone(),
                name: loc.name.clone(),
                address: loc.address.clone(),
                city: loc.city.clone(),
                postal_code: loc.postal_code.clone(),
                state: loc.state.clone(),
                country: loc.country.clone(),
                coordinates: evse
                    .coordinates
                    .clone()
                    .unwrap_or_else(|| loc.coordinates.clone()),
                evse_uid: evse.uid.clone(),
                evse_id: ocpi_evse_id(&r.evse_id, "EvseID")?,
                connector_id: connector.id.clone(),
                connector_standard: connector.standard.clone(),
                connector_format: connector.format.clone(),
                connector_power_type: connector.power_type.clone(),
                extra: Extra::new(),
            })
        }
        CdrSite::Unknown => match c.missing_location {
            MissingLocation::Reject => Err(MappingError::new(
                "EvseID",
                format!(
                    "no EVSE data known for {}: an OCPI CDR needs cdr_location (§3)",
                    r.evse_id
                ),
            )),
            MissingLocation::Placeholder => {
                losses.push(LossNote::new("EvseID",
                    "no EVSE data known: cdr_location is a placeholder (address, city and coordinates 0, country ZZZ, connector 1 IEC_62196_T2 SOCKET AC_3_PHASE)"));
                let uid = super::evse_location::evse_uid(&r.evse_id.normalized());
                Ok(CdrLocation {
                    id: built("EvseID", LocationId::parse(&uid))?,
                    name: None,
                    address: built("EvseID", OcpiString::parse("0"))?,
                    city: built("EvseID", OcpiString::parse("0"))?,
                    postal_code: None,
                    state: None,
                    country: built("EvseID", OcpiString::parse("ZZZ"))?,
                    coordinates: GeoLocation {
                        latitude: built("EvseID", Coordinate::parse("0.000000"))?,
                        longitude: built("EvseID", Coordinate::parse("0.000000"))?,
                        extra: Extra::new(),
                    },
                    evse_uid: built("EvseID", EvseUid::parse(&uid))?,
                    evse_id: ocpi_evse_id(&r.evse_id, "EvseID")?,
                    connector_id: c
                        .connector_id
                        .clone()
                        .map_or_else(|| built("EvseID", ConnectorId::parse("1")), Ok)?,
                    connector_standard: ConnectorType::Iec62196T2,
                    connector_format: ConnectorFormat::Socket,
                    connector_power_type: PowerType::Ac3Phase,
                    extra: Extra::new(),
                })
            }
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Cost

/// Amounts the tariff engine computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Costs {
    /// Total.
    pub total: Price,
    /// `FLAT` part.
    pub fixed: Option<Price>,
    /// `ENERGY` part.
    pub energy: Option<Price>,
    /// `TIME` part.
    pub time: Option<Price>,
    /// `PARKING_TIME` part.
    pub parking: Option<Price>,
}

/// What a session used, for [`compute_cost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Energy in kWh.
    pub energy_kwh: Decimal,
    /// Charging time in seconds.
    pub charging_seconds: i64,
    /// Parking time in seconds.
    pub parking_seconds: i64,
}

/// An amount excluding and maybe including VAT.
type Amount = (Decimal, Option<Decimal>);

/// `volume` rounded up to whole `step`s.
fn stepped(volume: Decimal, step: i64) -> Decimal {
    if step <= 1 {
        return volume;
    }
    let step = Decimal::from(step);
    (volume / step).ceil() * step
}

/// The cost of `usage` under `tariff`, or why it cannot be computed here: only tariffs whose
/// elements have no restrictions are computed (the first component of each dimension counts,
/// as in OCPI).
pub fn compute_cost(tariff: &Tariff, usage: Usage) -> Result<Costs, String> {
    if let Some((i, _)) = tariff
        .elements
        .iter()
        .enumerate()
        .find(|(_, e)| e.restrictions.is_some())
    {
        return Err(format!(
            "elements[{i}] has restrictions, which this engine does not evaluate"
        ));
    }
    let mut parts: [(TariffDimensionType, Option<Amount>); 4] = [
        (TariffDimensionType::Flat, None),
        (TariffDimensionType::Energy, None),
        (TariffDimensionType::Time, None),
        (TariffDimensionType::ParkingTime, None),
    ];
    for (dim, slot) in &mut parts {
        let Some(c) = tariff
            .elements
            .iter()
            .flat_map(|e| &e.price_components)
            .find(|c| &c.dimension_type == dim)
        else {
            continue;
        };
        let price = c.price.value();
        let amount = match dim {
            TariffDimensionType::Flat => price,
            TariffDimensionType::Energy => {
                stepped(usage.energy_kwh * Decimal::from(1000), c.step_size) / Decimal::from(1000)
                    * price
            }
            TariffDimensionType::Time => {
                stepped(Decimal::from(usage.charging_seconds), c.step_size) / Decimal::from(3600)
                    * price
            }
            TariffDimensionType::ParkingTime => {
                stepped(Decimal::from(usage.parking_seconds), c.step_size) / Decimal::from(3600)
                    * price
            }
            TariffDimensionType::Unknown(_) => return Err(format!("unknown dimension {dim}")),
        };
        let incl = c
            .vat
            .map(|v| amount * (Decimal::ONE + v.value() / Decimal::from(100)));
        *slot = Some((amount, incl));
    }
    let money = |d: Decimal| Number(d.round_dp(4).normalize());
    let price = |(excl, incl): (Decimal, Option<Decimal>)| Price {
        excl_vat: money(excl),
        incl_vat: incl.map(money),
        extra: Extra::new(),
    };
    let used: Vec<(Decimal, Option<Decimal>)> = parts.iter().filter_map(|(_, s)| *s).collect();
    let mut excl: Decimal = used.iter().map(|(e, _)| *e).sum();
    let mut incl: Option<Decimal> = used.iter().map(|(_, i)| *i).sum();
    if let Some(min) = &tariff.min_price
        && excl < min.excl_vat.value()
    {
        excl = min.excl_vat.value();
        incl = min.incl_vat.map(Number::value);
    }
    if let Some(max) = &tariff.max_price
        && excl > max.excl_vat.value()
    {
        excl = max.excl_vat.value();
        incl = max.incl_vat.map(Number::value);
    }
    let [flat, energy, time, parking] = parts.map(|(_, s)| s.map(price));
    Ok(Costs {
        total: price((excl, incl)),
        fixed: flat,
        energy,
        time,
        parking,
    })
}

fn zero_price() -> Price {
    Price {
        excl_vat: Number::from(0),
        incl_vat: None,
        extra: Extra::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Signed values

fn nature_of(status: Option<&MeteringStatus>) -> &'static str {
    match status {
        Some(MeteringStatus::Start) => "Start",
        Some(MeteringStatus::Progress) => "Intermediate",
        Some(MeteringStatus::End) => "End",
        Some(MeteringStatus::Unknown(_)) | None => "Unknown",
    }
}

fn signed_data(
    r: &ChargeDetailRecord,
    losses: &mut Vec<LossNote>,
) -> Result<Option<SignedData>, MappingError> {
    let info = r.calibration_law_verification_info.as_ref();
    let values = r.signed_metering_values.as_deref().unwrap_or_default();
    if let Some(info) = info {
        let p = "CalibrationLawVerificationInfo";
        note_if(
            losses,
            info.calibration_law_certificate_id.is_some(),
            &format!("{p}.CalibrationLawCertificateID"),
            "OCPI signed_data has no certificate id",
        );
        note_if(
            losses,
            info.signed_metering_values_verification_instruction
                .is_some(),
            &format!("{p}.SignedMeteringValuesVerificationInstruction"),
            "OCPI signed_data has no verification instruction",
        );
        extra_notes(p, &info.extra, losses);
        if values.is_empty() {
            losses.push(LossNote::new(p, "OCPI signed_data needs at least one signed value; without SignedMeteringValues it is not carried"));
        }
    }
    if values.is_empty() {
        return Ok(None);
    }
    let path = "SignedMeteringValues";
    let mut signed_values = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        extra_notes(&format!("{path}[{i}]"), &v.extra, losses);
        signed_values.push(SignedValue {
            nature: built(path, CiString::parse(nature_of(v.metering_status.as_ref())))?,
            plain_data: built(path, OcpiString::parse(""))?,
            signed_data: built(
                path,
                OcpiString::parse(v.signed_metering_value.as_ref().map_or("", Text::as_str)),
            )?,
            extra: Extra::new(),
        });
    }
    let encoding = info
        .and_then(|i| i.metering_signature_encoding_format.as_ref())
        .map_or_else(
            || {
                let ocmf = values.iter().any(|v| {
                    v.signed_metering_value
                        .as_ref()
                        .is_some_and(|s| s.as_str().starts_with("OCMF|"))
                });
                if ocmf { "OCMF" } else { "Unknown" }.to_owned()
            },
            |f| f.as_str().to_owned(),
        );
    let encoding_method = CiString::parse(&encoding).or_else(|_| {
        losses.push(LossNote::new(
            "CalibrationLawVerificationInfo.MeteringSignatureEncodingFormat",
            "longer than OCPI's 36 characters: encoding_method is Unknown",
        ));
        CiString::parse("Unknown")
    });
    Ok(Some(SignedData {
        encoding_method: built(path, encoding_method)?,
        encoding_method_version: None,
        public_key: info.and_then(|i| i.public_key.as_ref()).and_then(|k| {
            OcpiString::parse(k.as_str())
                .map_err(|_| {
                    losses.push(LossNote::new(
                        "CalibrationLawVerificationInfo.PublicKey",
                        "longer than OCPI's 512 characters; not carried",
                    ));
                })
                .ok()
        }),
        signed_values,
        url: info
            .and_then(|i| i.metering_signature_url.as_ref())
            .and_then(|u| OcpiString::parse(u.as_str()).ok()),
        extra: Extra::new(),
    }))
}

// ---------------------------------------------------------------------------------------------
// OICP -> OCPI

fn dimension(dimension_type: CdrDimensionType, volume: Number) -> CdrDimension {
    CdrDimension {
        dimension_type,
        volume,
        extra: Extra::new(),
    }
}

fn period(
    start: &DateTime,
    dims: Vec<CdrDimension>,
    tariff_id: Option<TariffId>,
) -> ChargingPeriod {
    ChargingPeriod {
        start_date_time: start.clone(),
        dimensions: dims,
        tariff_id,
        extra: Extra::new(),
    }
}

/// OICP CDR -> OCPI CDR (module documentation).
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
#[allow(clippy::single_match_else)] // reads better than if-let for these two-way choices
pub fn charge_detail_record_to_cdr(
    r: &ChargeDetailRecord,
    c: &CdrContext<'_>,
) -> Result<Mapped<Cdr>, MappingError> {
    let mut losses = Vec::new();
    let cpo = Party::from_operator(&r.evse_id.operator_id()).ok_or_else(|| {
        MappingError::new(
            "EvseID",
            format!(
                "DIN EvseID '{}' has no OCPI country_code/party_id (§9 P5)",
                r.evse_id
            ),
        )
    })?;
    let mut tokens = c.token.clone();
    let hub_emsp = tokens.emsp.is_none() && r.hub_provider_id.is_some();
    if hub_emsp {
        tokens.emsp = r.hub_provider_id.as_ref().and_then(Party::from_provider);
    }
    let token = identification_to_cdr_token(&r.identification, &tokens, "Identification")?;
    losses.extend(token.losses);
    let location = cdr_location(r, c, &mut losses)?;
    let session_start = to_ocpi_time(&r.session_start);
    let session_end = to_ocpi_time(&r.session_end);
    let charging_start = to_ocpi_time(&r.charging_start);
    let charging_end = to_ocpi_time(&r.charging_end);
    let before = (charging_start.value() - session_start.value())
        .num_seconds()
        .max(0);
    let after = (session_end.value() - charging_end.value())
        .num_seconds()
        .max(0);
    let charging_seconds = (charging_end.value() - charging_start.value())
        .num_seconds()
        .max(0);
    let tariff_id = c
        .tariff
        .map(|t| t.id.clone())
        .or_else(|| product_tariff_id(r.partner_product_id.as_ref()));
    if let Some(p) = &r.partner_product_id
        && !tariff_id
            .as_ref()
            .is_some_and(|t| t.eq_ignore_case(p.as_str()))
    {
        losses.push(LossNote::new(
            "PartnerProductID",
            "no OCPI tariff id of that name; not carried",
        ));
    }
    let mut periods = Vec::new();
    if before > 0 {
        periods.push(period(
            &session_start,
            vec![dimension(
                CdrDimensionType::ParkingTime,
                hours_between(&session_start, &charging_start),
            )],
            tariff_id.clone(),
        ));
    }
    periods.push(period(
        &charging_start,
        vec![
            dimension(CdrDimensionType::Energy, kwh(r.consumed_energy)),
            dimension(
                CdrDimensionType::Time,
                hours_between(&charging_start, &charging_end),
            ),
        ],
        tariff_id.clone(),
    ));
    if after > 0 {
        periods.push(period(
            &charging_end,
            vec![dimension(
                CdrDimensionType::ParkingTime,
                hours_between(&charging_end, &session_end),
            )],
            tariff_id.clone(),
        ));
    }
    let parking_hours = Number(
        (Decimal::from(before + after) / Decimal::from(3600))
            .round_dp(6)
            .normalize(),
    );
    let currency = match (c.tariff, &c.currency) {
        (Some(t), _) => t.currency.clone(),
        (None, Some(cur)) => cur.clone(),
        (None, None) => {
            losses.push(LossNote::new(
                "",
                "no tariff and no currency known: currency is XXX (ISO 4217 'no currency')",
            ));
            built("", OcpiString::parse("XXX"))?
        }
    };
    let usage = Usage {
        energy_kwh: r.consumed_energy.value(),
        charging_seconds,
        parking_seconds: before + after,
    };
    let costs = match (c.tariff, c.cost_policy) {
        (Some(t), CostPolicy::Compute) => compute_cost(t, usage).map_err(|why| {
            losses.push(LossNote::new("", format!("the tariff's cost cannot be computed ({why}): total_cost is 0 with a remark (§9 P26)")));
        }).ok(),
        _ => {
            losses.push(LossNote::new("", "OICP CDRs carry no price: total_cost is 0 with a remark (§9 P26)"));
            None
        }
    };
    let authorization_reference = c.authorization_reference.clone().or_else(|| {
        r.emp_partner_session_id
            .as_ref()
            .and_then(|e| AuthorizationReference::parse(e.as_str()).ok())
    });
    note_if(
        &mut losses,
        r.emp_partner_session_id.is_some()
            && authorization_reference.as_ref().is_none_or(|a| {
                r.emp_partner_session_id
                    .as_ref()
                    .is_none_or(|e| a.as_str() != e.as_str())
            }),
        "EMPPartnerSessionID",
        "not carried in authorization_reference; the node keeps it (§9 P7)",
    );
    note_if(
        &mut losses,
        r.cpo_partner_session_id.is_some(),
        "CPOPartnerSessionID",
        "OCPI CDRs have no partner session id; the node keeps it (§9 P7)",
    );
    for (present, field) in [
        (r.meter_value_start.is_some(), "MeterValueStart"),
        (r.meter_value_end.is_some(), "MeterValueEnd"),
        (r.meter_value_in_between.is_some(), "MeterValueInBetween"),
    ] {
        note_if(
            &mut losses,
            present,
            field,
            "OCPI CDRs have no meter readings outside signed_data",
        );
    }
    note_if(
        &mut losses,
        r.hub_operator_id.is_some(),
        "HubOperatorID",
        "OCPI has no hub operator id",
    );
    note_if(
        &mut losses,
        r.hub_provider_id.is_some() && !hub_emsp,
        "HubProviderID",
        "OCPI has no hub provider id (the token's eMSP came from the context)",
    );
    let signed = signed_data(r, &mut losses)?;
    extra_notes("", &r.extra, &mut losses);
    let id = r.session_id.as_str();
    let cdr = Cdr {
        country_code: cpo.country_code,
        party_id: cpo.party_id,
        id: built("SessionID", CdrId::parse(id))?,
        start_date_time: session_start.clone(),
        end_date_time: session_end.clone(),
        session_id: Some(built("SessionID", OcpiSessionId::parse(id))?),
        cdr_token: token.value,
        auth_method: c.auth_method.clone(),
        authorization_reference,
        cdr_location: location,
        meter_id: None,
        currency,
        tariffs: c.tariff.map(|t| vec![t.clone()]),
        charging_periods: periods,
        signed_data: signed,
        total_cost: costs.as_ref().map_or_else(zero_price, |k| k.total.clone()),
        total_fixed_cost: costs.as_ref().and_then(|k| k.fixed.clone()),
        total_energy: kwh(r.consumed_energy),
        total_energy_cost: costs.as_ref().and_then(|k| k.energy.clone()),
        total_time: hours_between(&session_start, &session_end),
        total_time_cost: costs.as_ref().and_then(|k| k.time.clone()),
        total_parking_time: (before + after > 0).then_some(parking_hours),
        total_parking_cost: costs.as_ref().and_then(|k| k.parking.clone()),
        total_reservation_cost: None,
        remark: if costs.is_none() {
            Some(built("", OcpiString::parse(NO_PRICE_REMARK))?)
        } else {
            None
        },
        invoice_reference_id: None,
        credit: None,
        credit_reference_id: None,
        home_charging_compensation: None,
        last_updated: DateTime::from_utc(c.ctx.now),
        extra: Extra::new(),
    };
    Ok(Mapped { value: cdr, losses })
}

// ---------------------------------------------------------------------------------------------
// OCPI -> OICP

/// A GUID-shaped text derived from `name`: 128-bit FNV-1a of its upper-case form, written as a
/// version-8 (custom) UUID in lower case. Deterministic, 36 characters.
pub fn name_based_guid(name: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in name.to_ascii_uppercase().bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    let mut bytes = hash.to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
        s
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The `SessionID` of an OCPI CDR or Session that has no GUID (P6): [`name_based_guid`] of
/// `CC*PARTY*ID`, so the same OCPI id always gives the same `SessionID`; the node still keeps
/// the map.
pub fn derived_session_id(
    country_code: &str,
    party_id: &str,
    id: &str,
) -> Result<SessionId, MappingError> {
    let text = name_based_guid(&format!("{country_code}*{party_id}*{id}"));
    built("id", SessionId::parse(&text))
}

/// What the node passes in for one OCPI CDR.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CdrReverseContext {
    /// The OICP `SessionID` the node mapped this session to.
    pub session_id: Option<SessionId>,
    /// The CPO's own session id, when the node keeps one.
    pub cpo_partner_session_id: Option<crate::oicp::v23::ids::CpoPartnerSessionId>,
}

fn is_energy(p: &ChargingPeriod) -> bool {
    p.dimensions
        .iter()
        .any(|d| d.dimension_type == CdrDimensionType::Energy)
}

fn metering_status(nature: &str) -> Option<MeteringStatus> {
    match nature.to_ascii_lowercase().as_str() {
        "start" => Some(MeteringStatus::Start),
        "end" => Some(MeteringStatus::End),
        "intermediate" | "progress" => Some(MeteringStatus::Progress),
        _ => None,
    }
}

fn reverse_signed(
    s: &SignedData,
    losses: &mut Vec<LossNote>,
) -> (Vec<SignedMeteringValue>, CalibrationLawVerification) {
    let p = "signed_data";
    note_if(
        losses,
        s.signed_values.len() > MAX_SIGNED_METERING_VALUES,
        &format!("{p}.signed_values"),
        "OICP allows at most 10 SignedMeteringValues; the rest are not carried",
    );
    note_if(
        losses,
        s.encoding_method_version.is_some(),
        &format!("{p}.encoding_method_version"),
        "OICP has no encoding version",
    );
    extra_notes(p, &s.extra, losses);
    let mut values = Vec::new();
    for (i, v) in s
        .signed_values
        .iter()
        .take(MAX_SIGNED_METERING_VALUES)
        .enumerate()
    {
        let vp = format!("{p}.signed_values[{i}]");
        note_if(
            losses,
            !v.plain_data.as_str().is_empty(),
            &format!("{vp}.plain_data"),
            "OICP has no plain data",
        );
        let status = metering_status(v.nature.as_str());
        note_if(
            losses,
            status.is_none() && !v.nature.eq_ignore_case("Unknown"),
            &format!("{vp}.nature"),
            "no OICP MeteringStatus of that name",
        );
        let signed = v.signed_data.as_str();
        let value = if signed.is_empty() {
            None
        } else if let Ok(t) = Text::<3000>::parse(signed) {
            Some(t)
        } else {
            losses.push(LossNote::new(
                format!("{vp}.signed_data"),
                "longer than OICP's 3000 characters; not carried",
            ));
            None
        };
        extra_notes(&vp, &v.extra, losses);
        values.push(SignedMeteringValue {
            signed_metering_value: value,
            metering_status: status,
            extra: Extra::new(),
        });
    }
    let info = CalibrationLawVerification {
        calibration_law_certificate_id: None,
        public_key: s
            .public_key
            .as_ref()
            .and_then(|k| Text::parse(k.as_str()).ok()),
        metering_signature_url: s.url.as_ref().and_then(|u| {
            Text::parse(u.as_str())
                .map_err(|_| {
                    losses.push(LossNote::new(
                        format!("{p}.url"),
                        "longer than OICP's 200 characters; not carried",
                    ));
                })
                .ok()
        }),
        metering_signature_encoding_format: Text::parse(s.encoding_method.as_str()).ok(),
        signed_metering_values_verification_instruction: None,
        extra: Extra::new(),
    };
    (values, info)
}

/// OCPI CDR -> OICP CDR (module documentation).
#[allow(clippy::too_many_lines)] // a field-by-field mapping reads best in one place
pub fn cdr_to_charge_detail_record(
    cdr: &Cdr,
    rc: &CdrReverseContext,
    ctx: &MappingCtx,
) -> Result<Mapped<ChargeDetailRecord>, MappingError> {
    if cdr.is_credit() {
        return Err(MappingError::new(
            "credit",
            format!(
                "credit CDR {} cannot be sent over OICP: OICP accepts one CDR per SessionID and has no credit (§3)",
                cdr.id.as_str()
            ),
        ));
    }
    let mut losses = Vec::new();
    let session_id = rc.session_id.clone()
        .or_else(|| cdr.session_id.as_ref().and_then(|s| SessionId::parse(s.as_str()).ok()))
        .or_else(|| SessionId::parse(cdr.id.as_str()).ok())
        .map_or_else(|| {
            losses.push(LossNote::new("id", "neither session_id nor id is a GUID: SessionID is derived from country_code, party_id and id (§9 P6)"));
            derived_session_id(cdr.country_code.as_str(), cdr.party_id.as_str(), cdr.id.as_str())
        }, Ok)?;
    if cdr
        .session_id
        .as_ref()
        .is_some_and(|s| !s.eq_ignore_case(session_id.as_str()))
    {
        losses.push(LossNote::new(
            "session_id",
            "not a GUID; OICP knows the session by its SessionID only",
        ));
    }
    if !cdr.id.eq_ignore_case(session_id.as_str()) && !losses.iter().any(|l| l.path == "id") {
        losses.push(LossNote::new(
            "id",
            "OICP identifies a CDR by its SessionID; the CDR id is not carried",
        ));
    }
    let evse_text = cdr.cdr_location.evse_id.as_str().to_ascii_uppercase();
    let evse_id = EvseId::parse(&evse_text)
        .map_err(|e| MappingError::new("cdr_location.evse_id", e.to_string()))?;
    let ident = cdr_token_to_identification(&cdr.cdr_token, "cdr_token")?;
    losses.extend(ident.losses);
    let periods = &cdr.charging_periods;
    let first_energy = periods.iter().position(is_energy);
    let charging_start = first_energy.map_or_else(
        || {
            losses.push(LossNote::new(
                "charging_periods",
                "no ENERGY period: ChargingStart is start_date_time (§9 P27)",
            ));
            cdr.start_date_time.clone()
        },
        |i| periods[i].start_date_time.clone(),
    );
    let charging_end = first_energy
        .and_then(|i| {
            periods[i..].iter().find(|p| {
                p.dimensions
                    .iter()
                    .all(|d| d.dimension_type == CdrDimensionType::ParkingTime)
            })
        })
        .map_or_else(|| cdr.end_date_time.clone(), |p| p.start_date_time.clone());
    let product = periods
        .iter()
        .find_map(|p| p.tariff_id.as_ref())
        .map(TariffId::as_str)
        .or_else(|| {
            cdr.tariffs
                .as_ref()
                .and_then(|t| t.first())
                .map(|t| t.id.as_str())
        })
        .and_then(|t| ProductId::parse(t).ok());
    let energy_periods = periods.iter().filter(|p| is_energy(p)).count();
    note_if(
        &mut losses,
        energy_periods > 1
            || periods.len() > 3
            || periods.iter().any(|p| {
                p.dimensions.iter().any(|d| {
                    !matches!(
                        d.dimension_type,
                        CdrDimensionType::Energy
                            | CdrDimensionType::Time
                            | CdrDimensionType::ParkingTime
                    )
                })
            }),
        "charging_periods",
        "OICP has no charging periods: only ChargingStart and ChargingEnd are derived from them",
    );
    losses.push(LossNote::new(
        "cdr_location",
        "an OICP CDR has no location: only evse_id is carried (the EVSE data has the rest)",
    ));
    if let Some(a) = &cdr.authorization_reference
        && EmpPartnerSessionId::parse(a.as_str()).is_err()
    {
        losses.push(LossNote::new("authorization_reference", "not carried"));
    }
    let cpo_matches = Party::from_operator(&evse_id.operator_id())
        .is_some_and(|p| p.country_code == cdr.country_code && p.party_id == cdr.party_id);
    note_if(
        &mut losses,
        !cpo_matches,
        "country_code",
        "differs from the EvseID's operator; OICP CDRs carry only the EvseID",
    );
    losses.push(LossNote::new("currency", "OICP CDRs carry no price"));
    losses.push(LossNote::new("total_cost", "OICP CDRs carry no price"));
    for (present, field) in [
        (cdr.tariffs.is_some(), "tariffs"),
        (cdr.total_fixed_cost.is_some(), "total_fixed_cost"),
        (cdr.total_energy_cost.is_some(), "total_energy_cost"),
        (cdr.total_time_cost.is_some(), "total_time_cost"),
        (cdr.total_parking_cost.is_some(), "total_parking_cost"),
        (
            cdr.total_reservation_cost.is_some(),
            "total_reservation_cost",
        ),
    ] {
        note_if(&mut losses, present, field, "OICP CDRs carry no price");
    }
    losses.push(LossNote::new(
        "auth_method",
        "OICP CDRs carry no authorization method",
    ));
    for (present, field) in [
        (cdr.meter_id.is_some(), "meter_id"),
        (
            cdr.remark
                .as_ref()
                .is_some_and(|r| r.as_str() != NO_PRICE_REMARK),
            "remark",
        ),
        (cdr.invoice_reference_id.is_some(), "invoice_reference_id"),
        (
            cdr.home_charging_compensation.is_some(),
            "home_charging_compensation",
        ),
    ] {
        note_if(&mut losses, present, field, "OICP CDRs have no such member");
    }
    let (signed, info) = match &cdr.signed_data {
        Some(s) => {
            let (v, i) = reverse_signed(s, &mut losses);
            (Some(v), Some(i))
        }
        None => (None, None),
    };
    extra_notes("", &cdr.extra, &mut losses);
    let record = ChargeDetailRecord {
        session_id,
        cpo_partner_session_id: rc.cpo_partner_session_id.clone(),
        emp_partner_session_id: cdr
            .authorization_reference
            .as_ref()
            .and_then(|a| EmpPartnerSessionId::parse(a.as_str()).ok()),
        partner_product_id: product,
        evse_id,
        identification: ident.value,
        charging_start: to_oicp_time(&charging_start, ctx),
        charging_end: to_oicp_time(&charging_end, ctx),
        session_start: to_oicp_time(&cdr.start_date_time, ctx),
        session_end: to_oicp_time(&cdr.end_date_time, ctx),
        meter_value_start: None,
        meter_value_end: None,
        meter_value_in_between: None,
        consumed_energy: OicpDecimal(cdr.total_energy.value()),
        signed_metering_values: signed,
        calibration_law_verification_info: info,
        hub_operator_id: None,
        hub_provider_id: None,
        extra: Extra::new(),
    };
    Ok(Mapped {
        value: record,
        losses,
    })
}

// ---------------------------------------------------------------------------------------------
// Entry points for `roambridge translate`

/// What `roambridge translate oicp-to-ocpi cdr` knows: Locations (e.g. from an EVSE data
/// dump), tariffs, and the policies. Defaults: no locations (CDRs are refused), compute costs,
/// `AUTH_REQUEST`.
#[derive(Debug, Clone, PartialEq)]
pub struct CdrSources<'a> {
    /// "Now" and the station's offset.
    pub ctx: &'a MappingCtx,
    /// Locations to find each CDR's EVSE in.
    pub locations: &'a [Location],
    /// Tariffs, found by `PartnerProductID`, else by the connector's first tariff id.
    pub tariffs: &'a [Tariff],
    /// Without a Location for the EVSE.
    pub missing_location: MissingLocation,
    /// Cost policy.
    pub cost_policy: CostPolicy,
    /// Currency when no tariff applies.
    pub currency: Option<OcpiString<3>>,
}

impl<'a> CdrSources<'a> {
    /// Sources with the documented defaults.
    pub fn new(ctx: &'a MappingCtx) -> Self {
        Self {
            ctx,
            locations: &[],
            tariffs: &[],
            missing_location: MissingLocation::Reject,
            cost_policy: CostPolicy::Compute,
            currency: None,
        }
    }
}

/// OICP CDRs -> OCPI CDRs, each with its site and tariff looked up in `sources`; paths are
/// prefixed `[i]`.
pub fn cdrs_oicp_to_ocpi(
    records: &[ChargeDetailRecord],
    sources: &CdrSources<'_>,
) -> Result<Mapped<Vec<Cdr>>, MappingError> {
    let mut out = Vec::with_capacity(records.len());
    let mut losses = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let prefix = format!("[{i}]");
        let wanted = r.evse_id.normalized().replace('*', "");
        let found = sources.locations.iter().find_map(|l| {
            l.evses
                .iter()
                .flatten()
                .find(|e| {
                    e.evse_id.as_ref().is_some_and(|id| {
                        id.as_str().replace('*', "").eq_ignore_ascii_case(&wanted)
                    })
                })
                .map(|e| (l, e))
        });
        let tariff = r
            .partner_product_id
            .as_ref()
            .and_then(|p| {
                sources
                    .tariffs
                    .iter()
                    .find(|t| t.id.eq_ignore_case(p.as_str()))
            })
            .or_else(|| {
                let ids = found
                    .and_then(|(_, e)| e.connectors.first())
                    .and_then(|k| k.tariff_ids.as_ref())?;
                sources
                    .tariffs
                    .iter()
                    .find(|t| ids.first().is_some_and(|id| id == &t.id))
            });
        let mut c = CdrContext::new(sources.ctx);
        c.site = found.map_or(CdrSite::Unknown, |(l, _)| CdrSite::Location(l));
        c.missing_location = sources.missing_location;
        c.cost_policy = sources.cost_policy;
        c.currency.clone_from(&sources.currency);
        c.tariff = tariff;
        let m = charge_detail_record_to_cdr(r, &c)
            .map_err(|e| e.prefixed(&prefix))?
            .prefixed(&prefix);
        losses.extend(m.losses);
        out.push(m.value);
    }
    Ok(Mapped { value: out, losses })
}

/// OCPI CDRs -> OICP CDRs with the documented defaults (`SessionID` from the CDR, P6); paths are
/// prefixed `[i]`. A credit CDR fails the whole call with its path.
pub fn cdrs_ocpi_to_oicp(
    cdrs: &[Cdr],
    ctx: &MappingCtx,
) -> Result<Mapped<Vec<ChargeDetailRecord>>, MappingError> {
    let mut out = Vec::with_capacity(cdrs.len());
    let mut losses = Vec::new();
    for (i, cdr) in cdrs.iter().enumerate() {
        let prefix = format!("[{i}]");
        let m = cdr_to_charge_detail_record(cdr, &CdrReverseContext::default(), ctx)
            .map_err(|e| e.prefixed(&prefix))?
            .prefixed(&prefix);
        losses.extend(m.losses);
        out.push(m.value);
    }
    Ok(Mapped { value: out, losses })
}
