//! OICP EVSE data -> OCPI Locations with EVSEs and connectors (`oicp-ocpi-mapping.md` §0,
//! §1.1-§1.3, §9 P1, P3, P4, P5, P13, P15-P19).
//!
//! # Grouping (§1.1, P1)
//! OICP has no Location: every record repeats address, position and operator. Records are
//! grouped per `OperatorID` by the first key they have:
//! 1. `ChargingPoolID`: the Location id is the pool id in its normalised spelling
//!    (`DE*ABC*P1`), packed (without `*`) when longer than 36, else a hash;
//! 2. `ChargingStationID`: the Location id is the station id when it fits `CiString(36)`,
//!    else `S-` and a hash;
//! 3. else the address (country, city, street, house number, postal code) and the
//!    coordinates (6 decimals): the Location id is `A-` and a hash of operator, address and
//!    coordinates.
//!
//! The hash is 64-bit FNV-1a over the key text, written as 16 hex digits: stable across runs,
//! platforms and compiler versions, with no randomness. Locations come out in the order their
//! first record appears; EVSEs in input order. Location-level fields are taken from the first
//! record of a group ("first record wins"); a later record whose value differs gets a
//! [`LossNote`]. An EVSE whose coordinates differ from the Location's keeps them in
//! `EVSE.coordinates`.
//!
//! # Skipped records
//! A record that cannot become an EVSE is left out with a [`LossNote`] at its path: DIN
//! `OperatorID` (no OCPI party, §0, P5), no connector left (§1.3, P15), no time zone, a
//! duplicate `EvseID`. The function itself fails only when the value tables are broken or a
//! built OCPI value is refused by its type (a bug).
//!
//! # Connectors (§1.1, P3)
//! One connector per plug, id = 1-based plug index. Plug `i` is paired with
//! `ChargingFacilities[i]` when both lists have the same length; else each plug takes the most
//! powerful facility of the power type its plug implies (CCS: DC, Schuko: AC 1-phase), else of
//! the same current (AC/DC), else the most powerful of all (the first on a tie); facilities no
//! connector takes are noted as lost (see `pairing`).
//! `max_voltage` is the facility's voltage, else 230 V (AC) or 400 V (DC); `max_amperage` the
//! facility's amperage, else power / (voltage × phases), else 16 A (AC) or 50 A (DC); every
//! assumed value gets a note. `max_electric_power` is the facility's kW × 1000.
//!
//! # Other decisions
//! * `status` is `UNKNOWN` (EVSE data carries no status; the status feed updates it), and
//!   `REMOVED` for a `deltaType` of `delete`.
//! * `uid` is the normalised `EvseID` when it fits 36 characters, else packed, else `H-` and a
//!   hash; `evse_id` is the normalised (upper-case) `EvseID`.
//! * Coordinates are written with 6 decimals (OICP's own precision; OCPI allows 5 to 7).
//! * `time_zone` is the IANA zone of the address's country when the country has one zone;
//!   else `Etc/GMT±h` from `Address.TimeZone` (or the context's offset) when it is whole hours
//!   (no daylight saving: noted). An `Address.TimeZone` offset itself is never carried (noted).
//! * `IsOpen24Hours` -> `twentyfourseven`; `OpeningTimes` expand `Everyday`, `Workdays`,
//!   `Weekend` to weekdays; an end of `24:00` becomes `23:59` (OCPI has no `24:00`, noted).
//! * Capabilities from `AuthenticationModes`, `PaymentOptions` (tables) and
//!   `ValueAddedServices` `Reservation` (-> `RESERVABLE`); `Accessibility` via the table:
//!   `Free publicly accessible` is the OCPI default (no restriction, nothing lost),
//!   `Test Station` makes the Location `publish: false` (noted).
//! * Per EVSE: `Address.Floor` -> `floor_level`, `Address.ParkingSpot` -> `physical_reference`
//!   (the closest field), `AdditionalInfo` and `ChargingStationLocationReference` ->
//!   `directions` (entries without a two-letter language are noted), `ChargingStationImage` ->
//!   `images` (category `CHARGER`, type from the URL's extension).
//! * Members without an OCPI field (`HotlinePhoneNumber`, `IsHubjectCompatible`,
//!   `DynamicInfoAvailable`, `CalibrationLawDataAvailability`, …) and members outside the OICP
//!   model (kept in `extra` by the parser) get a note each.
//! * `Street` and `HouseNum` join with a space; a `HouseNum` or `PostalCode` of `"0"` is a known
//!   placeholder in real feeds and is ignored.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use rust_decimal::prelude::ToPrimitive;

use super::tables::{ConnectorSpec, Entry, Tables, tables};
use super::{LossNote, Mapped, MappingCtx, MappingError};
use crate::ocpi::v221::ids::CiString;
use crate::ocpi::v221::ids::{ConnectorId, CountryCode, EvseId, EvseUid, LocationId, PartyId};
use crate::ocpi::v221::locations::{
    Capability, Connector, EnergySourceCategory, EnvironmentalImpactCategory, Evse, ImageCategory,
    Location, ParkingRestriction, ParkingType, PowerType, Status,
};
use crate::ocpi::v221::types::{
    AdditionalGeoLocation, BusinessDetails, DateTime, DisplayText, EnergyMix, EnergySource,
    EnvironmentalImpact, GeoLocation, Hours, Image, Latitude, Longitude, Number, OcpiInt,
    OcpiString, RegularHours, TimeOfDay, Url,
};
use crate::oicp::v23::common::{Day, GeoCoordinates, HourMinute, InfoText};
use crate::oicp::v23::evse_data::{
    Accessibility, ChargingFacility, DeltaType, EnergyType, OperatorEvseData, PullEvseDataRecord,
    ValueAddedService,
};
use crate::oicp::v23::ids::TimeZone;
use crate::oicp::v23::wire::Extra;

/// Path of one input record (one allocation, sized for any index).
fn record_path(index: usize) -> String {
    let mut path = String::with_capacity(40);
    path.push_str("EvseDataRecord[");
    push_index(&mut path, index);
    path.push(']');
    path
}

/// Appends `n` in decimal, as `write!(out, "{n}")` does, without the formatter (issue 6: note
/// paths have an index or two each).
fn push_index(out: &mut String, n: usize) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// OICP pulled EVSE data -> OCPI Locations (see the module documentation for the policy).
///
/// Holds every Location at once; [`LocationGrouper`] does the same work record by record and
/// hands the Locations out one at a time (for large dumps).
pub fn evse_data_to_locations(
    records: &[PullEvseDataRecord],
    ctx: &MappingCtx,
) -> Result<Mapped<Vec<Location>>, MappingError> {
    let mut grouper = LocationGrouper::new(ctx)?;
    for record in records {
        grouper.push(record)?;
    }
    let losses = grouper.take_losses();
    let locations = grouper.finish().collect::<Result<Vec<_>, _>>()?;
    Ok(Mapped {
        value: locations,
        losses,
    })
}

/// The streaming form of [`evse_data_to_locations`]: records go in one at a time
/// ([`LocationGrouper::push`]; the record can be dropped right after), loss notes can be taken
/// out as they arise ([`LocationGrouper::take_losses`]), and [`LocationGrouper::finish`] yields
/// the Locations one by one, in the order of their first record.
///
/// A Location is complete only after the last record, so the grouper holds the mapped EVSEs of
/// every Location (not the input records, and not a serialized copy) until `finish`.
#[derive(Debug)]
pub struct LocationGrouper<'c> {
    t: &'static Tables,
    ctx: &'c MappingCtx,
    next_index: usize,
    groups: Vec<Group>,
    group_of: FnvMap<usize>,
    seen_evse: FnvMap<usize>,
    losses: Vec<LossNote>,
}

/// A map keyed by our own (not attacker-chosen hash-flooding) key text, hashed with FNV-1a:
/// cheaper than the default `SipHash` for the grouper's short keys.
type FnvMap<V> = HashMap<String, V, BuildHasherDefault<Fnv>>;

/// 64-bit FNV-1a as a [`Hasher`].
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(FNV_OFFSET)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

impl<'c> LocationGrouper<'c> {
    /// An empty grouper; fails only when the value tables are broken.
    pub fn new(ctx: &'c MappingCtx) -> Result<Self, MappingError> {
        let t = tables().map_err(|e| {
            MappingError::new(
                "EvseDataRecord",
                format!("the mapping tables are broken: {e}"),
            )
        })?;
        Ok(Self {
            t,
            ctx,
            next_index: 0,
            groups: Vec::new(),
            group_of: FnvMap::default(),
            seen_evse: FnvMap::default(),
            losses: Vec::new(),
        })
    }

    /// Maps the next record (its path is `EvseDataRecord[n]`, `n` counting the records pushed
    /// so far) into its Location.
    pub fn push(&mut self, record: &PullEvseDataRecord) -> Result<(), MappingError> {
        let prepared = RecordMapper {
            t: self.t,
            ctx: self.ctx,
        }
        .map(self.next_index, record)?;
        self.accept(prepared);
        Ok(())
    }

    /// The mapper [`LocationGrouper::push`] uses, for mapping records on another thread and
    /// handing the results to [`LocationGrouper::accept`] in input order.
    pub fn mapper(&self) -> RecordMapper<'c> {
        RecordMapper {
            t: self.t,
            ctx: self.ctx,
        }
    }

    /// Groups one record mapped by [`RecordMapper::map`]. Records must come in input order
    /// (index 0, 1, …): "first record wins" and the duplicate check depend on it, and the next
    /// [`LocationGrouper::push`] takes the index after this one.
    pub fn accept(&mut self, prepared: PreparedRecord) {
        let PreparedRecord {
            index,
            mut notes,
            mapped,
        } = prepared;
        self.next_index = index + 1;
        let Some(mapped) = mapped else {
            self.losses.append(&mut notes.losses);
            return;
        };
        if let Some(first) = self.seen_evse.get(&mapped.evse_key) {
            self.losses.push(LossNote::new(
                join(&notes.prefix, "EvseID"),
                format!("duplicate of EvseDataRecord[{first}]; the record is left out"),
            ));
            return;
        }
        self.seen_evse.insert(mapped.evse_key, index);
        self.losses.append(&mut notes.losses);
        if let Some(&g) = self.group_of.get(&mapped.group_key) {
            let group = &mut self.groups[g];
            compare_location_fields(
                &group.fields,
                &mapped.fields,
                &notes.prefix,
                group.first,
                &mut self.losses,
            );
            group.publish &= mapped.publish;
            group.evses.push(mapped.evse);
        } else {
            self.group_of.insert(mapped.group_key, self.groups.len());
            self.groups.push(Group {
                first: index,
                location_id: mapped.location_id,
                country_code: mapped.country_code,
                party_id: mapped.party_id,
                publish: mapped.publish,
                fields: mapped.fields,
                evses: vec![mapped.evse],
            });
        }
    }

    /// The loss notes since the last call, in the order they arose.
    pub fn take_losses(&mut self) -> Vec<LossNote> {
        std::mem::take(&mut self.losses)
    }

    /// The number of Locations so far.
    pub fn location_count(&self) -> usize {
        self.groups.len()
    }

    /// The Locations, one by one in the order of their first record. Loss notes not taken
    /// before are dropped with the grouper: call [`LocationGrouper::take_losses`] first.
    pub fn finish(self) -> impl Iterator<Item = Result<Location, MappingError>> {
        self.groups.into_iter().map(Group::into_location)
    }

    /// The Locations still to be built, in the order of [`LocationGrouper::finish`]: each is
    /// built on its own ([`PendingLocation::build`]), on any thread.
    pub fn finish_pending(self) -> Vec<PendingLocation> {
        self.groups.into_iter().map(PendingLocation).collect()
    }
}

/// A grouped Location not built yet (see [`LocationGrouper::finish_pending`]).
#[derive(Debug)]
pub struct PendingLocation(Group);

impl PendingLocation {
    /// Builds the Location, as [`LocationGrouper::finish`] yields it.
    pub fn build(self) -> Result<Location, MappingError> {
        self.0.into_location()
    }
}

/// OICP pushed EVSE data (one operator) -> OCPI Locations: the push's records as the HBS would
/// return them in a pull, then [`evse_data_to_locations`].
pub fn operator_evse_data_to_locations(
    data: &OperatorEvseData,
    ctx: &MappingCtx,
) -> Result<Mapped<Vec<Location>>, MappingError> {
    let mut mapped = evse_data_to_locations(&data.clone().into_pull_records(), ctx)?;
    mapped
        .losses
        .extend(extra_notes("", &data.extra, "OperatorEvseData"));
    Ok(mapped)
}

/// The per-record half of [`LocationGrouper::push`]: maps one record on its own, with no
/// grouping state, so that it can run on another thread than the grouping (it is `Send` and
/// `Sync`; see `translate::evse_data`).
#[derive(Debug, Clone, Copy)]
pub struct RecordMapper<'c> {
    t: &'static Tables,
    ctx: &'c MappingCtx,
}

impl RecordMapper<'_> {
    /// Maps the record at `index` of the input (its path is `EvseDataRecord[index]`). Fails
    /// only on a bug (a built OCPI value its type refuses).
    pub fn map(
        &self,
        index: usize,
        record: &PullEvseDataRecord,
    ) -> Result<PreparedRecord, MappingError> {
        let mut notes = Notes::new(record_path(index));
        let mapped = map_record(record, self.t, self.ctx, &mut notes)?;
        Ok(PreparedRecord {
            index,
            notes,
            mapped,
        })
    }
}

/// One record mapped by [`RecordMapper::map`], waiting for [`LocationGrouper::accept`].
#[derive(Debug)]
pub struct PreparedRecord {
    index: usize,
    notes: Notes,
    mapped: Option<MappedRecord>,
}

/// Loss notes under one record's path.
#[derive(Debug)]
struct Notes {
    prefix: String,
    losses: Vec<LossNote>,
}

impl Notes {
    fn new(prefix: String) -> Self {
        Self {
            prefix,
            losses: Vec::with_capacity(16),
        }
    }

    /// Notes a loss at `prefix.field`; the path is built with one exact allocation (no
    /// `format!`) and a fixed reason is not copied.
    fn add(&mut self, field: &str, reason: impl Into<Cow<'static, str>>) {
        let path = join(&self.prefix, field);
        self.losses.push(LossNote::new(path, reason));
    }

    /// Notes a loss at `prefix.member[index]rest` (`rest` empty or `.Field`), the path built
    /// in one allocation: callers build no field name unless a note is written (issue 6).
    fn add_at(
        &mut self,
        member: &str,
        index: usize,
        rest: &str,
        reason: impl Into<Cow<'static, str>>,
    ) {
        let mut path = String::with_capacity(self.prefix.len() + member.len() + rest.len() + 8);
        path.push_str(&self.prefix);
        path.push('.');
        path.push_str(member);
        path.push('[');
        push_index(&mut path, index);
        path.push(']');
        path.push_str(rest);
        self.losses.push(LossNote::new(path, reason));
    }
}

/// Member names of indexed loss-note paths ([`Notes::add_at`]).
const MODES: &str = "AuthenticationModes";
const PAYMENT: &str = "PaymentOptions";
const PLUGS: &str = "Plugs";
const FACILITIES: &str = "ChargingFacilities";

/// `prefix.field` in one allocation of the exact size.
fn join(prefix: &str, field: &str) -> String {
    let mut path = String::with_capacity(prefix.len() + 1 + field.len());
    path.push_str(prefix);
    path.push('.');
    path.push_str(field);
    path
}

/// Location-level fields one record gives.
#[derive(Debug, Clone, PartialEq)]
struct LocationFields {
    name: Option<OcpiString<255>>,
    address: OcpiString<255>,
    city: OcpiString<45>,
    postal_code: Option<OcpiString<10>>,
    state: Option<OcpiString<45>>,
    country: OcpiString<3>,
    coordinates: GeoLocation,
    related_locations: Option<Vec<AdditionalGeoLocation>>,
    parking_type: Option<ParkingType>,
    operator: Option<BusinessDetails>,
    suboperator: Option<BusinessDetails>,
    time_zone: OcpiString<255>,
    opening_times: Option<Hours>,
    energy_mix: Option<EnergyMix>,
}

/// One record, mapped.
#[derive(Debug)]
struct MappedRecord {
    /// Operator and `EvseID`, both normalised: the duplicate check's key.
    evse_key: String,
    /// Operator and the grouping key of [`group_key`].
    group_key: String,
    location_id: String,
    country_code: String,
    party_id: String,
    publish: bool,
    fields: LocationFields,
    evse: Evse,
}

/// The records of one Location.
#[derive(Debug)]
struct Group {
    first: usize,
    location_id: String,
    country_code: String,
    party_id: String,
    publish: bool,
    fields: LocationFields,
    evses: Vec<Evse>,
}

impl Group {
    fn into_location(self) -> Result<Location, MappingError> {
        let path = record_path(self.first);
        let f = self.fields;
        let mut evses = self.evses;
        for evse in &mut evses {
            if evse.coordinates.as_ref() == Some(&f.coordinates) {
                evse.coordinates = None;
            }
        }
        let last_updated = evses
            .iter()
            .map(|e| e.last_updated.clone())
            .max()
            .ok_or_else(|| MappingError::new(&path, "a Location without EVSEs"))?;
        Ok(Location {
            country_code: built(&path, CountryCode::parse(&self.country_code))?,
            party_id: built(&path, PartyId::parse(&self.party_id))?,
            id: built(&path, LocationId::parse(&self.location_id))?,
            publish: self.publish,
            publish_allowed_to: None,
            name: f.name,
            address: f.address,
            city: f.city,
            postal_code: f.postal_code,
            state: f.state,
            country: f.country,
            coordinates: f.coordinates,
            related_locations: f.related_locations,
            parking_type: f.parking_type,
            evses: Some(evses),
            directions: None,
            operator: f.operator,
            suboperator: f.suboperator,
            owner: None,
            facilities: None,
            time_zone: f.time_zone,
            opening_times: f.opening_times,
            charging_when_closed: None,
            images: None,
            energy_mix: f.energy_mix,
            last_updated,
            extra: Extra::new(),
        })
    }
}

/// A value our own code built that the OCPI type refused: a bug, reported as an error.
fn built<T, E: std::fmt::Display>(path: &str, r: Result<T, E>) -> Result<T, MappingError> {
    r.map_err(|e| MappingError::new(path, format!("built an invalid OCPI value: {e}")))
}

/// Notes for every later record whose Location-level value differs from the first record's.
fn compare_location_fields(
    first: &LocationFields,
    other: &LocationFields,
    path: &str,
    first_index: usize,
    losses: &mut Vec<LossNote>,
) {
    let checks: [(&str, bool); 9] = [
        ("ChargingStationNames", first.name == other.name),
        (
            "Address",
            first.address == other.address
                && first.city == other.city
                && first.postal_code == other.postal_code
                && first.state == other.state
                && first.country == other.country,
        ),
        (
            "GeoChargingPointEntrance",
            first.related_locations == other.related_locations,
        ),
        (
            "AccessibilityLocation",
            first.parking_type == other.parking_type,
        ),
        ("OperatorName", first.operator == other.operator),
        ("SubOperatorName", first.suboperator == other.suboperator),
        ("Address.TimeZone", first.time_zone == other.time_zone),
        ("OpeningTimes", first.opening_times == other.opening_times),
        ("RenewableEnergy", first.energy_mix == other.energy_mix),
    ];
    for (field, same) in checks {
        if !same {
            losses.push(LossNote::new(
                format!("{path}.{field}"),
                format!(
                    "differs from EvseDataRecord[{first_index}], whose value the Location takes (first record wins)"
                ),
            ));
        }
    }
}

/// Maps one record; `None` when it is left out (the reason is in `notes`).
fn map_record(
    r: &PullEvseDataRecord,
    t: &'static Tables,
    ctx: &MappingCtx,
    notes: &mut Notes,
) -> Result<Option<MappedRecord>, MappingError> {
    let (Some(cc), Some(party)) = (r.operator_id.country_code(), r.operator_id.party_id()) else {
        notes.add(
            "OperatorID",
            format!(
                "DIN OperatorID '{}' has no OCPI country_code/party_id (§0, §9 P5): the record is left out",
                r.operator_id
            ),
        );
        return Ok(None);
    };
    let last_updated = r
        .last_update
        .as_ref()
        .map_or(ctx.now, |d| d.value().with_timezone(&chrono::Utc));
    let last_updated = DateTime::from_utc(last_updated);
    let connectors = map_connectors(r, t, &last_updated, notes)?;
    if connectors.is_empty() {
        notes.add(
            "Plugs",
            "no plug maps to an OCPI connector (§1.3, §9 P15): the record is left out",
        );
        return Ok(None);
    }
    let Some(fields) = location_fields(r, t, ctx, notes)? else {
        return Ok(None);
    };
    let operator = r.operator_id.normalized();
    let (group_key, location_id) = group_key(r, &operator, &fields);
    let evse_id = r.evse_id.normalized();
    let (publish, parking_restrictions) = accessibility(r, t, notes);
    let path = notes.prefix.as_str();
    let evse = Evse {
        uid: built(path, EvseUid::parse(&evse_uid(&evse_id)))?,
        evse_id: Some(built(path, EvseId::parse(&evse_id))?),
        status: if r.delta_type == Some(DeltaType::Delete) {
            Status::Removed
        } else {
            notes.losses.push(LossNote::new(
                notes.prefix.clone(),
                "EVSE data carries no status: status is UNKNOWN until the status feed sets it",
            ));
            Status::StatusUnknown
        },
        status_schedule: None,
        capabilities: capabilities(r, t, notes),
        connectors,
        floor_level: floor(r, notes),
        coordinates: Some(fields.coordinates.clone()),
        physical_reference: r
            .address
            .parking_spot
            .as_ref()
            .and_then(|s| OcpiString::parse(s.as_str()).ok()),
        directions: directions(r, notes),
        parking_restrictions,
        images: image(r, notes),
        last_updated,
        extra: Extra::new(),
    };
    record_only_losses(r, notes);
    Ok(Some(MappedRecord {
        evse_key: [operator.as_str(), "|", &evse_id].concat(),
        group_key: [operator.as_str(), "|", &group_key].concat(),
        location_id,
        country_code: cc.to_ascii_uppercase(),
        party_id: party.to_ascii_uppercase(),
        publish,
        fields,
        evse,
    }))
}

/// Notes for the members that have no OCPI target at all.
fn record_only_losses(r: &PullEvseDataRecord, notes: &mut Notes) {
    if r.hardware_manufacturer.is_some() {
        notes.add("HardwareManufacturer", "OCPI has no hardware manufacturer");
    }
    if r.dynamic_power_level.is_some() {
        notes.add("DynamicPowerLevel", "OCPI 2.2.1 has no dynamic power level");
    }
    if r.calibration_law_data_availability.is_some() {
        notes.add(
            "CalibrationLawDataAvailability",
            "OCPI 2.2.1 Locations have no calibration law data (§1.2)",
        );
    }
    if r.max_capacity.is_some() {
        notes.add("MaxCapacity", "OCPI has no battery capacity");
    }
    notes.add(
        "HotlinePhoneNumber",
        "OCPI 2.2.1 has no hotline (2.3.0 adds help_phone)",
    );
    if r.hub_operator_id.is_some() {
        notes.add("HubOperatorID", "OCPI has no hub operator id");
    }
    if r.clearinghouse_id.is_some() {
        notes.add("ClearinghouseID", "OCPI has no clearing house id");
    }
    notes.add(
        "IsHubjectCompatible",
        "OCPI has no Hubject compatibility flag",
    );
    notes.add(
        "DynamicInfoAvailable",
        "OCPI has no such flag: every OCPI EVSE has a status",
    );
    if r.address.parking_facility.is_some() {
        notes.add(
            "Address.ParkingFacility",
            "OCPI has no parking facility flag",
        );
    }
    if r.charging_station_id.is_some() && r.charging_pool_id.is_some() {
        notes.add(
            "ChargingStationID",
            "OCPI has no charging station level between Location and EVSE",
        );
    }
    let extra = extra_notes(&notes.prefix, &r.extra, "EvseDataRecord");
    notes.losses.extend(extra);
    if !r.address.extra.is_empty() {
        let extra = extra_notes(&join(&notes.prefix, "Address"), &r.address.extra, "Address");
        notes.losses.extend(extra);
    }
}

/// Notes for members outside the OICP model (kept in `extra` by the parser).
fn extra_notes(prefix: &str, extra: &Extra, what: &str) -> Vec<LossNote> {
    extra
        .keys()
        .map(|k| {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            LossNote::new(path, format!("not an OICP {what} member; not carried"))
        })
        .collect()
}

/// The grouping key (without the operator) and the Location id.
fn group_key(r: &PullEvseDataRecord, operator: &str, fields: &LocationFields) -> (String, String) {
    if let Some(pool) = &r.charging_pool_id {
        let normalized = pool.normalized();
        let id = fit_id(&normalized, "P-");
        let mut key = String::with_capacity(5 + normalized.len());
        key.push_str("pool|");
        key.extend(normalized.chars().filter(|c| *c != '*'));
        (key, id)
    } else if let Some(station) = &r.charging_station_id {
        let s = station.as_str();
        let id = if CiString::<36>::parse(s).is_ok() && !s.is_empty() {
            s.to_owned()
        } else {
            format!("S-{}", fnv_hex(s))
        };
        (format!("station|{}", s.to_ascii_uppercase()), id)
    } else {
        let key = format!(
            "address|{}|{}|{}|{}|{}|{}|{}",
            fields.country,
            fields.city,
            fields.address,
            fields.postal_code.as_ref().map_or("", OcpiString::as_str),
            fields.coordinates.latitude,
            fields.coordinates.longitude,
            operator
        );
        let id = format!("A-{}", fnv_hex(&key.to_ascii_uppercase()));
        (key.to_ascii_uppercase(), id)
    }
}

/// `id` when it fits `CiString(36)`, else packed (without `*`), else `prefix` and a hash.
fn fit_id(id: &str, prefix: &str) -> String {
    if id.len() <= 36 {
        id.to_owned()
    } else {
        let packed = id.replace('*', "");
        if packed.len() <= 36 {
            packed
        } else {
            format!("{prefix}{}", fnv_hex(id))
        }
    }
}

/// A connector id (`1`, `2`, …) without `to_string`'s formatter for the usual one digit.
fn itoa_small(n: usize) -> Cow<'static, str> {
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    DIGITS
        .get(n)
        .map_or_else(|| Cow::Owned(n.to_string()), |d| Cow::Borrowed(*d))
}

/// `EVSE.uid` for a normalised `EvseID` (§0, P4): the id, packed, or `H-` and a hash, at most
/// 36 characters.
pub fn evse_uid(evse_id: &str) -> String {
    fit_id(evse_id, "H-")
}

/// 64-bit FNV-1a of the text, as 16 lower-case hex digits.
fn fnv_hex(text: &str) -> String {
    let mut hash = Fnv::default();
    hash.write(text.as_bytes());
    format!("{:016x}", hash.finish())
}

/// `OcpiString<N>` of `s`, truncated to `N` characters with a note when longer.
fn text<const N: usize>(s: &str, field: &str, notes: &mut Notes) -> Option<OcpiString<N>> {
    // At most N bytes are at most N characters: nothing to cut, and no copy to cut it into.
    let parsed = if s.len() <= N {
        OcpiString::parse(s)
    } else {
        let cut: String = s.chars().take(N).collect();
        if cut.len() < s.len() {
            notes.add(
                field,
                format!("truncated to the {N} characters OCPI allows"),
            );
        }
        OcpiString::try_from(cut)
    };
    parsed.ok().or_else(|| {
        notes.add(field, "not valid OCPI text; not carried");
        None
    })
}

/// The Location-level fields; `None` (with a note) when the record cannot have a Location.
fn location_fields(
    r: &PullEvseDataRecord,
    t: &'static Tables,
    ctx: &MappingCtx,
    notes: &mut Notes,
) -> Result<Option<LocationFields>, MappingError> {
    let a = &r.address;
    let Some(coordinates) = geo_location(&r.geo_coordinates) else {
        notes.add(
            "GeoCoordinates",
            "coordinates out of range: the record is left out",
        );
        return Ok(None);
    };
    let Some(time_zone) = time_zone(r, ctx, notes) else {
        return Ok(None);
    };
    let house = a
        .house_num
        .as_ref()
        .map(|h| h.as_str().trim())
        .filter(|h| !h.is_empty() && *h != "0");
    let street = match house {
        Some(h) => [a.street.as_str().trim(), " ", h].concat(),
        None => a.street.as_str().trim().to_owned(),
    };
    let path = notes.prefix.clone();
    let Some(address) = text::<255>(&street, "Address.Street", notes) else {
        return Err(MappingError::new(path, "street is not valid OCPI text"));
    };
    let Some(city) = text::<45>(a.city.as_str(), "Address.City", notes) else {
        return Err(MappingError::new(path, "city is not valid OCPI text"));
    };
    let Some(country) = text::<3>(a.country.as_str(), "Address.Country", notes) else {
        return Err(MappingError::new(path, "country is not valid OCPI text"));
    };
    let postal_code = a
        .postal_code
        .as_ref()
        .map(|p| p.as_str().trim())
        .filter(|p| !p.is_empty() && *p != "0")
        .and_then(|p| text::<10>(p, "Address.PostalCode", notes));
    let state = a
        .region
        .as_ref()
        .and_then(|s| text::<45>(s.as_str(), "Address.Region", notes));
    let related_locations = r.geo_charging_point_entrance.as_ref().and_then(|g| {
        let entrance = geo_location(g);
        if entrance.is_none() {
            notes.add(
                "GeoChargingPointEntrance",
                "coordinates out of range; not carried",
            );
        }
        entrance.map(|e| {
            vec![AdditionalGeoLocation {
                latitude: e.latitude,
                longitude: e.longitude,
                name: display_text("en", "entrance"),
                extra: Extra::new(),
            }]
        })
    });
    let parking_type =
        r.accessibility_location
            .as_ref()
            .and_then(|l| match t.accessibility_location.to_ocpi(l) {
                Entry::Mapped(target) => {
                    if let Some(loss) = &target.loss {
                        notes.add("AccessibilityLocation", loss.as_str());
                    }
                    Some(target.value.clone())
                }
                Entry::Unmappable(u) => {
                    notes.add("AccessibilityLocation", u.reason.as_str());
                    None
                }
                Entry::NotListed => {
                    notes.add(
                        "AccessibilityLocation",
                        format!("'{l}' is not an OICP value"),
                    );
                    None
                }
            });
    Ok(Some(LocationFields {
        name: station_name(&r.charging_station_names, notes),
        address,
        city,
        postal_code,
        state,
        country,
        coordinates,
        related_locations,
        parking_type,
        operator: business(r.operator_name.as_ref().map(AsRef::as_ref)),
        suboperator: business(r.sub_operator_name.as_ref().map(AsRef::as_ref)),
        time_zone,
        opening_times: opening_times(r, notes),
        energy_mix: energy_mix(r, notes),
    }))
}

fn business(name: Option<&str>) -> Option<BusinessDetails> {
    Some(BusinessDetails {
        name: OcpiString::parse(name?).ok()?,
        website: None,
        logo: None,
        extra: Extra::new(),
    })
}

fn display_text(lang: &str, value: &str) -> Option<DisplayText> {
    Some(DisplayText {
        language: OcpiString::parse(lang).ok()?,
        text: OcpiString::parse(value).ok()?,
        extra: Extra::new(),
    })
}

/// `ChargingStationNames` -> `name`: English, else German, else the first (§1.2).
fn station_name(names: &[InfoText], notes: &mut Notes) -> Option<OcpiString<255>> {
    let lang = |n: &InfoText, want: &str| {
        n.lang
            .as_ref()
            .is_some_and(|l| l.as_str().eq_ignore_ascii_case(want))
    };
    let pick = names
        .iter()
        .position(|n| lang(n, "en"))
        .or_else(|| names.iter().position(|n| lang(n, "de")))
        .unwrap_or(0);
    for (i, _) in names.iter().enumerate().filter(|(i, _)| *i != pick) {
        notes.add_at(
            "ChargingStationNames",
            i,
            "",
            "OCPI Location.name has one language; only one name is carried",
        );
    }
    names
        .get(pick)
        .and_then(|n| OcpiString::parse(n.value.as_str()).ok())
}

/// OICP coordinates -> OCPI, 6 decimals. A `Google` pair already written with 6 decimals is
/// taken as it is (the same text as formatting its value: see
/// [`GoogleCoordinates::six_decimals`](crate::oicp::v23::common::GoogleCoordinates::six_decimals)).
fn geo_location(g: &GeoCoordinates) -> Option<GeoLocation> {
    if let Some((lat, lon)) = g.google.as_ref().and_then(|g| g.coordinates.six_decimals()) {
        return Some(GeoLocation {
            latitude: Latitude::parse(lat).ok()?,
            longitude: Longitude::parse(lon).ok()?,
            extra: Extra::new(),
        });
    }
    let (lat, lon) = g.lat_lon()?;
    Some(GeoLocation {
        latitude: Latitude::parse(&format!("{lat:.6}")).ok()?,
        longitude: Longitude::parse(&format!("{lon:.6}")).ok()?,
        extra: Extra::new(),
    })
}

/// IANA zones of single-zone countries, by ISO 3166-1 alpha-3 code.
const COUNTRY_ZONES: &[(&str, &str)] = &[
    ("AUT", "Europe/Vienna"),
    ("BEL", "Europe/Brussels"),
    ("BGR", "Europe/Sofia"),
    ("CHE", "Europe/Zurich"),
    ("CZE", "Europe/Prague"),
    ("DEU", "Europe/Berlin"),
    ("DNK", "Europe/Copenhagen"),
    ("EST", "Europe/Tallinn"),
    ("FIN", "Europe/Helsinki"),
    ("FRA", "Europe/Paris"),
    ("GBR", "Europe/London"),
    ("GRC", "Europe/Athens"),
    ("HRV", "Europe/Zagreb"),
    ("HUN", "Europe/Budapest"),
    ("IRL", "Europe/Dublin"),
    ("ITA", "Europe/Rome"),
    ("LIE", "Europe/Vaduz"),
    ("LTU", "Europe/Vilnius"),
    ("LUX", "Europe/Luxembourg"),
    ("LVA", "Europe/Riga"),
    ("NLD", "Europe/Amsterdam"),
    ("NOR", "Europe/Oslo"),
    ("POL", "Europe/Warsaw"),
    ("ROU", "Europe/Bucharest"),
    ("SVK", "Europe/Bratislava"),
    ("SVN", "Europe/Ljubljana"),
    ("SWE", "Europe/Stockholm"),
];

/// `Location.time_zone` (§1.2, P16).
fn time_zone(
    r: &PullEvseDataRecord,
    ctx: &MappingCtx,
    notes: &mut Notes,
) -> Option<OcpiString<255>> {
    let country = r.address.country.as_str();
    let zone = COUNTRY_ZONES
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(country))
        .map(|(_, z)| (*z).to_owned());
    let offset = r
        .address
        .time_zone
        .as_ref()
        .and_then(TimeZone::offset_minutes)
        .or_else(|| ctx.utc_offset.map(|o| o.local_minus_utc() / 60));
    if r.address.time_zone.is_some() && zone.is_some() {
        notes.add(
            "Address.TimeZone",
            "a UTC offset is not an IANA zone; time_zone is the country's zone",
        );
    }
    let zone = zone.or_else(|| {
        let minutes = offset?;
        if minutes % 60 != 0 {
            return None;
        }
        let hours = minutes / 60;
        notes.add(
            "Address.TimeZone",
            "no IANA zone is known for the country: a fixed-offset Etc/GMT zone without daylight saving is used",
        );
        // Etc/GMT zones have the inverted sign: UTC+01:00 is Etc/GMT-1.
        Some(match hours {
            0 => "Etc/GMT".to_owned(),
            h if h > 0 => format!("Etc/GMT-{h}"),
            h => format!("Etc/GMT+{}", -h),
        })
    });
    if zone.is_none() {
        notes.add(
            "Address",
            "no time zone: the country has no single IANA zone known here and no whole-hour offset is given; the record is left out",
        );
    }
    zone.and_then(|z| OcpiString::parse(&z).ok())
}

/// `IsOpen24Hours` + `OpeningTimes` -> `opening_times` (§1.2).
fn opening_times(r: &PullEvseDataRecord, notes: &mut Notes) -> Option<Hours> {
    let hours = |twentyfourseven, regular_hours| Hours {
        twentyfourseven,
        regular_hours,
        exceptional_openings: None,
        exceptional_closings: None,
        extra: Extra::new(),
    };
    let times = r.opening_times.as_deref().unwrap_or_default();
    if r.is_open_24_hours {
        if !times.is_empty() {
            notes.add("OpeningTimes", "ignored: IsOpen24Hours is true");
        }
        return Some(hours(true, None));
    }
    if times.is_empty() {
        notes.add(
            "IsOpen24Hours",
            "false without OpeningTimes: the opening times are unknown and not carried",
        );
        return None;
    }
    let mut regular = BTreeMap::new();
    for (i, entry) in times.iter().enumerate() {
        let days: &[i64] = match entry.on {
            Day::Everyday => &[1, 2, 3, 4, 5, 6, 7],
            Day::Workdays => &[1, 2, 3, 4, 5],
            Day::Weekend => &[6, 7],
            Day::Monday => &[1],
            Day::Tuesday => &[2],
            Day::Wednesday => &[3],
            Day::Thursday => &[4],
            Day::Friday => &[5],
            Day::Saturday => &[6],
            Day::Sunday => &[7],
            Day::Unknown(ref s) => {
                notes.add(
                    &format!("OpeningTimes[{i}].on"),
                    format!("'{s}' is not an OICP day; the entry is not carried"),
                );
                &[]
            }
        };
        for (p, period) in entry.period.iter().enumerate() {
            let field = |end: &str| format!("OpeningTimes[{i}].Period[{p}].{end}");
            let begin = time_of_day(period.begin, || field("begin"), notes);
            let end = time_of_day(period.end, || field("end"), notes);
            let (Some(begin), Some(end)) = (begin, end) else {
                continue;
            };
            for &day in days {
                regular.insert(
                    (day, begin.minutes(), end.minutes()),
                    (day, begin.clone(), end.clone()),
                );
            }
        }
    }
    let regular_hours = regular
        .into_values()
        .filter_map(|(day, begin, end)| {
            Some(RegularHours {
                weekday: OcpiInt::new(day).ok()?,
                period_begin: begin,
                period_end: end,
                extra: Extra::new(),
            })
        })
        .collect();
    Some(hours(false, Some(regular_hours)))
}

/// An OICP time -> OCPI; `field` names it in the note for `24:00` (built only then: issue 6).
fn time_of_day(
    t: HourMinute,
    field: impl FnOnce() -> String,
    notes: &mut Notes,
) -> Option<TimeOfDay> {
    let t = if t.hour == 24 {
        notes.add(&field(), "OCPI has no 24:00; 23:59 is used");
        HourMinute {
            hour: 23,
            minute: 59,
        }
    } else {
        t
    };
    // `HourMinute` below 24:00 always formats as a valid OCPI time; written as its `Display`
    // writes it (`{:02}:{:02}`), without the formatter.
    let digits = |n: u8| [b'0' + n / 10 % 10, b'0' + n % 10];
    let [h1, h2] = digits(t.hour);
    let [m1, m2] = digits(t.minute);
    let text = [h1, h2, b':', m1, m2];
    TimeOfDay::parse(std::str::from_utf8(&text).ok()?).ok()
}

/// `RenewableEnergy`, `EnergySource`, `EnvironmentalImpact` -> `energy_mix` (§1.2).
fn energy_mix(r: &PullEvseDataRecord, notes: &mut Notes) -> Option<EnergyMix> {
    let sources: Vec<EnergySource> = r
        .energy_source
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let category = match s.energy.as_ref()? {
                EnergyType::Solar => EnergySourceCategory::Solar,
                EnergyType::Wind => EnergySourceCategory::Wind,
                EnergyType::HydroPower => EnergySourceCategory::Water,
                EnergyType::NuclearEnergy => EnergySourceCategory::Nuclear,
                EnergyType::Coal => EnergySourceCategory::Coal,
                EnergyType::NaturalGas => EnergySourceCategory::Gas,
                EnergyType::GeothermalEnergy | EnergyType::Biomass => {
                    notes.add(
                        &format!("EnergySource[{i}].Energy"),
                        "OCPI has no such source: GENERAL_GREEN",
                    );
                    EnergySourceCategory::GeneralGreen
                }
                EnergyType::Petroleum => {
                    notes.add(
                        &format!("EnergySource[{i}].Energy"),
                        "OCPI has no such source: GENERAL_FOSSIL",
                    );
                    EnergySourceCategory::GeneralFossil
                }
                EnergyType::Unknown(_) => {
                    notes.add(
                        &format!("EnergySource[{i}]"),
                        "unknown energy type; not carried",
                    );
                    return None;
                }
            };
            let Some(percentage) = s.percentage else {
                notes.add(&format!("EnergySource[{i}]"), "no percentage; not carried");
                return None;
            };
            Some(EnergySource {
                source: category,
                percentage: Number::from(percentage.get()),
                extra: Extra::new(),
            })
        })
        .collect();
    let mut impact = Vec::new();
    if let Some(e) = &r.environmental_impact {
        if let Some(v) = e.co2_emission {
            impact.push((EnvironmentalImpactCategory::CarbonDioxide, v));
        }
        if let Some(v) = e.nuclear_waste {
            impact.push((EnvironmentalImpactCategory::NuclearWaste, v));
        }
    }
    if r.renewable_energy.is_none() && sources.is_empty() && impact.is_empty() {
        return None;
    }
    Some(EnergyMix {
        is_green_energy: r.renewable_energy.unwrap_or(false),
        energy_sources: (!sources.is_empty()).then_some(sources),
        environ_impact: (!impact.is_empty()).then(|| {
            impact
                .into_iter()
                .map(|(category, v)| EnvironmentalImpact {
                    category,
                    amount: Number::from(v.value()),
                    extra: Extra::new(),
                })
                .collect()
        }),
        supplier_name: None,
        energy_product_name: None,
        extra: Extra::new(),
    })
}

/// `Address.Floor` -> `floor_level` (4 characters).
fn floor(r: &PullEvseDataRecord, notes: &mut Notes) -> Option<OcpiString<4>> {
    r.address
        .floor
        .as_ref()
        .and_then(|f| text::<4>(f.as_str(), "Address.Floor", notes))
}

/// `AdditionalInfo` and `ChargingStationLocationReference` -> EVSE `directions`.
fn directions(r: &PullEvseDataRecord, notes: &mut Notes) -> Option<Vec<DisplayText>> {
    let mut out = Vec::new();
    for (member, list) in [
        ("AdditionalInfo", &r.additional_info),
        (
            "ChargingStationLocationReference",
            &r.charging_station_location_reference,
        ),
    ] {
        for (i, info) in list.as_deref().unwrap_or_default().iter().enumerate() {
            let lang = info
                .lang
                .as_ref()
                .map(|l| l.as_str().to_ascii_lowercase())
                .filter(|l| l.len() == 2);
            match lang.and_then(|l| display_text(&l, info.value.as_str())) {
                Some(d) => out.push(d),
                None => notes.add(
                    &format!("{member}[{i}]"),
                    "no two-letter language, which OCPI DisplayText needs; not carried",
                ),
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `ChargingStationImage` -> EVSE `images` (category CHARGER, type from the extension).
fn image(r: &PullEvseDataRecord, notes: &mut Notes) -> Option<Vec<Image>> {
    let url = r.charging_station_image.as_ref()?.as_str();
    let ext = url
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .filter(|e| ["jpg", "jpeg", "png", "gif", "svg", "webp"].contains(&e.as_str()));
    let img = ext.and_then(|ext| {
        Some(Image {
            url: Url::parse(url).ok()?,
            thumbnail: None,
            category: ImageCategory::Charger,
            image_type: CiString::parse(&ext).ok()?,
            width: None,
            height: None,
            extra: Extra::new(),
        })
    });
    if img.is_none() {
        notes.add(
            "ChargingStationImage",
            "the image type cannot be told from the URL; not carried",
        );
    }
    img.map(|i| vec![i])
}

/// `Accessibility` -> (`publish`, `parking_restrictions`) (§1.2, P18).
fn accessibility(
    r: &PullEvseDataRecord,
    t: &'static Tables,
    notes: &mut Notes,
) -> (bool, Option<Vec<ParkingRestriction>>) {
    let Some(a) = &r.accessibility else {
        return (true, None);
    };
    match (a, t.accessibility.to_ocpi(a)) {
        (_, Entry::Mapped(target)) => {
            if let Some(loss) = &target.loss {
                notes.add("Accessibility", loss.as_str());
            }
            (true, Some(vec![target.value.clone()]))
        }
        (Accessibility::FreePubliclyAccessible, _) => (true, None),
        (Accessibility::TestStation, Entry::Unmappable(u)) => {
            notes.add(
                "Accessibility",
                format!("{} (here: publish is false)", u.reason),
            );
            (false, None)
        }
        (_, Entry::Unmappable(u)) => {
            notes.add("Accessibility", u.reason.as_str());
            (true, None)
        }
        (_, Entry::NotListed) => {
            notes.add("Accessibility", format!("'{a}' is not an OICP value"));
            (true, None)
        }
    }
}

/// `AuthenticationModes`, `PaymentOptions`, `ValueAddedServices` -> `capabilities` (§1.2, P19).
fn capabilities(
    r: &PullEvseDataRecord,
    t: &'static Tables,
    notes: &mut Notes,
) -> Option<Vec<Capability>> {
    let mut out: Vec<Capability> = Vec::new();
    let mut push = |c: &Capability| {
        if !out.contains(c) {
            out.push(c.clone());
        }
    };
    for (i, m) in r.authentication_modes.iter().enumerate() {
        match t.authentication_modes.to_ocpi(m) {
            Entry::Mapped(target) => {
                if let Some(loss) = &target.loss {
                    notes.add_at(MODES, i, "", loss.as_str());
                }
                push(&target.value);
            }
            Entry::Unmappable(u) => notes.add_at(MODES, i, "", u.reason.as_str()),
            Entry::NotListed => notes.add_at(MODES, i, "", format!("'{m}' is not an OICP value")),
        }
    }
    for (i, p) in r
        .payment_options
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match t.payment_options.to_ocpi(p) {
            Entry::Mapped(target) => {
                if let Some(loss) = &target.loss {
                    notes.add_at(PAYMENT, i, "", loss.as_str());
                }
                push(&target.value);
            }
            Entry::Unmappable(u) => notes.add_at(PAYMENT, i, "", u.reason.as_str()),
            Entry::NotListed => notes.add_at(PAYMENT, i, "", format!("'{p}' is not an OICP value")),
        }
    }
    for (i, s) in r.value_added_services.iter().enumerate() {
        match s {
            ValueAddedService::Reservation => push(&Capability::Reservable),
            ValueAddedService::None => {}
            other => notes.add_at(
                "ValueAddedServices",
                i,
                "",
                ["OCPI 2.2.1 has no capability for '", other.as_str(), "'"].concat(),
            ),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `Plugs` x `ChargingFacilities` -> connectors (§1.1, §1.3, P3, P13, P15).
fn map_connectors(
    r: &PullEvseDataRecord,
    t: &'static Tables,
    last_updated: &DateTime,
    notes: &mut Notes,
) -> Result<Vec<Connector>, MappingError> {
    let facilities = &r.charging_facilities;
    let specs: Vec<Option<&ConnectorSpec>> = r
        .plugs
        .iter()
        .enumerate()
        .map(|(i, plug)| match t.plugs.to_ocpi(plug) {
            Entry::Mapped(target) => {
                if let Some(loss) = &target.loss {
                    notes.add_at(PLUGS, i, "", loss.as_str());
                }
                Some(&target.value)
            }
            Entry::Unmappable(u) => {
                notes.add_at(PLUGS, i, "", format!("'{plug}': {}", u.reason));
                None
            }
            Entry::NotListed => {
                notes.add_at(
                    "Plugs",
                    i,
                    "",
                    format!("'{plug}' is not an OICP plug; dropped"),
                );
                None
            }
        })
        .collect();
    let facility_types: Vec<Option<&PowerType>> = facilities
        .iter()
        .map(
            |f| match f.power_type.as_ref().map(|p| t.power_types.to_ocpi(p)) {
                Some(Entry::Mapped(target)) => Some(&target.value),
                _ => None,
            },
        )
        .collect();
    let chosen = pairing(r, &specs, &facility_types, notes);
    let mut modes_noted = vec![false; facilities.len()];
    let mut out = Vec::with_capacity(specs.len());
    for (i, (spec, j)) in specs.iter().zip(chosen).enumerate() {
        let Some(spec) = spec else { continue };
        let Some((j, facility)) = j.and_then(|j| Some((j, facilities.get(j)?))) else {
            notes.add_at(PLUGS, i, "", "no charging facility; dropped");
            continue;
        };
        let Some(power_type) = facility_power_type(facility, spec, t, j, notes) else {
            notes.add_at(
                PLUGS,
                i,
                "",
                format!("ChargingFacilities[{j}].PowerType is missing or unknown and the plug does not imply one; connector dropped"),
            );
            continue;
        };
        if facility.power_type.is_none() {
            notes.add_at(
                FACILITIES,
                j,
                ".PowerType",
                "missing (2.2 data): the plug's power type is used",
            );
        }
        let (voltage, amperage, power_w) = electrics(facility, &power_type, j, notes);
        if facility
            .charging_modes
            .as_ref()
            .is_some_and(|m| !m.is_empty())
            && !std::mem::replace(&mut modes_noted[j], true)
        {
            notes.add_at(
                FACILITIES,
                j,
                ".ChargingModes",
                "OCPI has no charging modes",
            );
        }
        out.push(Connector {
            id: connector_id(i, notes)?,
            standard: spec.standard.clone(),
            format: spec.format.clone(),
            power_type,
            max_voltage: voltage,
            max_amperage: amperage,
            max_electric_power: power_w,
            tariff_ids: None,
            terms_and_conditions: None,
            last_updated: last_updated.clone(),
            extra: Extra::new(),
        });
    }
    Ok(out)
}

/// The power type of facility `j`: its own (noting the table's loss), else the one the plug
/// implies.
fn facility_power_type(
    facility: &ChargingFacility,
    spec: &ConnectorSpec,
    t: &'static Tables,
    j: usize,
    notes: &mut Notes,
) -> Option<PowerType> {
    match facility
        .power_type
        .as_ref()
        .map(|p| t.power_types.to_ocpi(p))
    {
        Some(Entry::Mapped(target)) => {
            if let Some(loss) = &target.loss {
                notes.add_at(FACILITIES, j, ".PowerType", loss.as_str());
            }
            Some(target.value.clone())
        }
        _ => spec.power_type.clone(),
    }
}

/// The id of the connector of plug `i` (`1`, `2`, …); the path is built only for the error.
fn connector_id(i: usize, notes: &Notes) -> Result<ConnectorId, MappingError> {
    ConnectorId::parse(&itoa_small(i + 1)).map_err(|e| {
        MappingError::new(
            format!("{}.Plugs[{i}]", notes.prefix),
            format!("built an invalid OCPI value: {e}"),
        )
    })
}

/// Whether two OCPI power types are both AC or both DC.
fn same_current(a: &PowerType, b: &PowerType) -> bool {
    (*a == PowerType::Dc) == (*b == PowerType::Dc)
}

/// The facility each plug takes (§1.1, §9 P3); notes the facilities no plug takes.
///
/// Equal counts pair by index. Otherwise OICP does not say which plug uses which facility, and
/// each plug takes, in this order of preference (the most powerful of the candidates, the first
/// on a tie):
/// 1. a facility whose power type is the one the plug implies (plug table `power_type`: CCS
///    and `CHAdeMO` are DC, domestic sockets single-phase AC);
/// 2. a facility of the same current (AC or DC) as the plug implies;
/// 3. any facility (also for plugs that imply nothing, such as Type 2).
///
/// A facility without a known power type counts only for step 3. Decision: a facility no plug
/// takes is not carried (noted); a facility several plugs take is shared by their connectors.
fn pairing(
    r: &PullEvseDataRecord,
    specs: &[Option<&ConnectorSpec>],
    facility_types: &[Option<&PowerType>],
    notes: &mut Notes,
) -> Vec<Option<usize>> {
    let facilities = &r.charging_facilities;
    if facilities.len() == specs.len() {
        return (0..specs.len()).map(Some).collect();
    }
    // The most powerful facility among those `accept` admits (the first on a tie).
    let strongest = |accept: &dyn Fn(usize) -> bool| {
        facilities
            .iter()
            .enumerate()
            .filter(|(j, _)| accept(*j))
            .fold(
                None::<(usize, &ChargingFacility)>,
                |best, (j, f)| match best {
                    Some((_, b)) if b.power >= f.power => best,
                    _ => Some((j, f)),
                },
            )
            .map(|(j, _)| j)
    };
    let chosen: Vec<Option<usize>> = specs
        .iter()
        .map(|spec| {
            let implied = (*spec)?.power_type.as_ref();
            implied
                .and_then(|p| strongest(&|j| facility_types[j] == Some(p)))
                .or_else(|| {
                    implied.and_then(|p| {
                        strongest(&|j| facility_types[j].is_some_and(|f| same_current(f, p)))
                    })
                })
                .or_else(|| strongest(&|_| true))
        })
        .collect();
    for j in (0..facilities.len()).filter(|j| !chosen.contains(&Some(*j))) {
        notes.add(
            &format!("ChargingFacilities[{j}]"),
            format!(
                "{} plugs and {} facilities cannot be paired by index: each connector takes the facility matching its plug's power type, else the most powerful; no connector takes this facility, so it is not carried",
                r.plugs.len(),
                facilities.len()
            ),
        );
    }
    chosen
}

/// (`max_voltage`, `max_amperage`, `max_electric_power`) of a facility (§1.2, P13).
fn electrics(
    f: &ChargingFacility,
    power_type: &PowerType,
    facility: usize,
    notes: &mut Notes,
) -> (i64, i64, Option<i64>) {
    let dc = *power_type == PowerType::Dc;
    let phases: i64 = if *power_type == PowerType::Ac3Phase {
        3
    } else {
        1
    };
    let power_w = f.power.and_then(|p| {
        (p.kw().value() * rust_decimal::Decimal::from(1000))
            .round()
            .to_i64()
    });
    let voltage = if let Some(v) = f.voltage {
        v.get()
    } else {
        let v = if dc { 400 } else { 230 };
        notes.add_at(
            FACILITIES,
            facility,
            ".Voltage",
            format!("missing; OCPI needs max_voltage: {v} V assumed"),
        );
        v
    };
    let amperage = if let Some(a) = f.amperage {
        a.get()
    } else if let Some(w) = power_w.filter(|_| voltage > 0) {
        let a = (w + voltage * phases - 1) / (voltage * phases);
        notes.add_at(
            FACILITIES,
            facility,
            ".Amperage",
            format!(
                "missing; OCPI needs max_amperage: {a} A derived from power / (voltage x phases)"
            ),
        );
        a
    } else {
        let a = if dc { 50 } else { 16 };
        notes.add_at(
            FACILITIES,
            facility,
            ".Amperage",
            format!("missing; OCPI needs max_amperage: {a} A assumed"),
        );
        a
    };
    (voltage, amperage, power_w)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }

    fn ctx() -> MappingCtx {
        MappingCtx::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
    }

    fn record(evse: &str, pool: Option<&str>, station: Option<&str>) -> PullEvseDataRecord {
        let mut v = serde_json::json!({
            "OperatorID": "DE*ABC",
            "OperatorName": "ABC Charging",
            "EvseID": evse,
            "ChargingStationNames": [{"lang": "en", "value": "Depot"}],
            "Address": {"Country": "DEU", "City": "Berlin", "Street": "Hauptstrasse",
                        "HouseNum": "1", "PostalCode": "10115"},
            "GeoCoordinates": {"Google": {"Coordinates": "52.520008 13.404954"}},
            "Plugs": ["Type 2 Outlet"],
            "ChargingFacilities": [{"PowerType": "AC_3_PHASE", "Power": 22,
                                    "Voltage": 230, "Amperage": 32}],
            "RenewableEnergy": true,
            "CalibrationLawDataAvailability": "Local",
            "AuthenticationModes": ["NFC RFID Classic"],
            "PaymentOptions": ["Contract"],
            "ValueAddedServices": ["None"],
            "Accessibility": "Free publicly accessible",
            "HotlinePhoneNumber": "+4930123456",
            "IsOpen24Hours": true,
            "IsHubjectCompatible": true,
            "DynamicInfoAvailable": "true"
        });
        if let Some(p) = pool {
            v["ChargingPoolID"] = p.into();
        }
        if let Some(s) = station {
            v["ChargingStationID"] = s.into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn uid_fits_36_characters() {
        assert_eq!(evse_uid("DE*ABC*E123"), "DE*ABC*E123");
        let long = "DE*ABC*E12345678901234567890*123456789";
        assert!(long.len() > 36);
        let uid = evse_uid(long);
        assert!(uid.len() <= 36);
        assert_eq!(uid, long.replace('*', ""));
        let very_long = "DE*ABC*E".to_owned() + &"1".repeat(40);
        let uid = evse_uid(&very_long);
        assert!(uid.starts_with("H-") && uid.len() == 18, "{uid}");
        assert_eq!(uid, evse_uid(&very_long));
    }

    #[test]
    fn grouping_is_deterministic_and_order_independent_for_ids() {
        let records = vec![
            record("DE*ABC*E1", Some("DE*ABC*P1"), Some("S1")),
            record("DE*ABC*E2", None, Some("S2")),
            record("DE*ABC*E3", Some("DE*ABC*P1"), Some("S3")),
            record("DE*ABC*E4", None, None),
            record("DE*ABC*E5", None, Some("S2")),
        ];
        let a = evse_data_to_locations(&records, &ctx()).unwrap();
        let b = evse_data_to_locations(&records, &ctx()).unwrap();
        assert_eq!(to_json(&a.value), to_json(&b.value));
        assert_eq!(a.losses, b.losses);
        let ids: Vec<(String, Vec<String>)> = a
            .value
            .iter()
            .map(|l| {
                let evses = l.evses.as_deref().unwrap_or_default();
                (
                    l.id.as_str().to_owned(),
                    evses.iter().map(|e| e.uid.as_str().to_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(
            ids[0],
            (
                "DE*ABC*P1".to_owned(),
                vec!["DE*ABC*E1".to_owned(), "DE*ABC*E3".to_owned()]
            )
        );
        assert_eq!(
            ids[1],
            (
                "S2".to_owned(),
                vec!["DE*ABC*E2".to_owned(), "DE*ABC*E5".to_owned()]
            )
        );
        assert!(ids[2].0.starts_with("A-") && ids[2].0.len() == 18);
        assert_eq!(ids.len(), 3);

        let mut reversed = records.clone();
        reversed.reverse();
        let c = evse_data_to_locations(&reversed, &ctx()).unwrap();
        let mut ids_a: Vec<_> = a.value.iter().map(|l| l.id.as_str().to_owned()).collect();
        let mut ids_c: Vec<_> = c.value.iter().map(|l| l.id.as_str().to_owned()).collect();
        ids_a.sort();
        ids_c.sort();
        assert_eq!(ids_a, ids_c);
    }

    #[test]
    fn output_passes_ocpi_validation() {
        let records = vec![record("DE*ABC*E1", Some("DE*ABC*P1"), None)];
        let out = evse_data_to_locations(&records, &ctx()).unwrap();
        for l in &out.value {
            let errors = crate::ocpi::v221::Validator::run(l);
            assert!(errors.is_empty(), "{errors:?}");
            let back: Location = serde_json::from_value(to_json(l)).unwrap();
            assert_eq!(&back, l);
        }
    }

    #[test]
    fn delete_delta_becomes_removed() {
        let mut r = record("DE*ABC*E1", None, Some("S1"));
        r.delta_type = Some(DeltaType::Delete);
        let out = evse_data_to_locations(&[r], &ctx()).unwrap();
        let evses = out.value[0].evses.as_deref().unwrap_or_default();
        assert_eq!(evses[0].status, Status::Removed);
    }

    #[test]
    fn dropped_duplicates_and_din_operators_are_noted() {
        let mut din = record("DE*ABC*E9", None, None);
        din.operator_id = crate::oicp::v23::ids::OperatorId::parse("+49*536").unwrap();
        let records = [
            record("DE*ABC*E1", None, Some("S1")),
            record("DEABCE1", None, Some("S1")),
            din,
        ];
        let out = evse_data_to_locations(&records, &ctx()).unwrap();
        assert_eq!(out.value.len(), 1);
        assert_eq!(out.value[0].evses.as_ref().map(Vec::len), Some(1));
        let paths: Vec<_> = out.losses.iter().map(|l| l.path.as_str()).collect();
        assert!(paths.contains(&"EvseDataRecord[1].EvseID"), "{paths:?}");
        assert!(paths.contains(&"EvseDataRecord[2].OperatorID"), "{paths:?}");
    }

    proptest::proptest! {
        /// The `Google` text taken as it is equals the formatted value.
        #[test]
        fn six_decimal_google_text_is_the_formatted_value(
            lat in "-?[0-8]?[0-9]\\.[0-9]{1,6}",
            lon in "-?(1[0-7][0-9]|[0-9]{1,2})\\.[0-9]{1,6}",
        ) {
            let g = GeoCoordinates {
                google: Some(crate::oicp::v23::common::Google {
                    coordinates: crate::oicp::v23::common::GoogleCoordinates::parse(&format!("{lat} {lon}")).unwrap(),
                    extra: Extra::new(),
                }),
                decimal_degree: None,
                degree_minute_seconds: None,
                extra: Extra::new(),
            };
            let (x, y) = g.lat_lon().unwrap();
            let taken = geo_location(&g).unwrap();
            proptest::prop_assert_eq!(taken.latitude.as_str(), format!("{x:.6}"));
            proptest::prop_assert_eq!(taken.longitude.as_str(), format!("{y:.6}"));
        }
    }

    #[test]
    fn push_index_writes_what_display_writes() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, usize::MAX] {
            let mut s = String::from("x");
            push_index(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv_hex(""), "cbf29ce484222325");
        assert_eq!(fnv_hex("a"), "af63dc4c8601ec8c");
    }
}
