//! Locations module (`locations`, data owner CPO): Location, EVSE, Connector, their PATCH
//! bodies and enums (ocpi-2.2.1.md §4.1, §5).

use super::ids::{ConnectorId, CountryCode, EvseId, EvseUid, LocationId, PartyId, TariffId};
use super::types::{
    AdditionalGeoLocation, BusinessDetails, DateTime, DisplayText, EnergyMix, GeoLocation, Hours,
    Image, OcpiString, PublishTokenType, StatusSchedule, Url,
};
use super::{Validate, Validator, each_opt, no_cross_member_rules};
use crate::{wire_enum, wire_struct};

wire_enum! {
    /// `Status` of an EVSE, also used by `StatusSchedule` (ocpi-2.2.1.md §5). `UNKNOWN` also
    /// means offline; `REMOVED` is how an EVSE is deleted (§4.1).
    pub enum Status {
        Available = "AVAILABLE",
        Blocked = "BLOCKED",
        Charging = "CHARGING",
        Inoperative = "INOPERATIVE",
        OutOfOrder = "OUTOFORDER",
        Planned = "PLANNED",
        Removed = "REMOVED",
        Reserved = "RESERVED",
        /// `UNKNOWN` (the variant `Unknown(String)` holds values outside the spec).
        StatusUnknown = "UNKNOWN",
    }
}

wire_enum! {
    /// `Capability` of an EVSE (ocpi-2.2.1.md §5).
    pub enum Capability {
        ChargingProfileCapable = "CHARGING_PROFILE_CAPABLE",
        ChargingPreferencesCapable = "CHARGING_PREFERENCES_CAPABLE",
        ChipCardSupport = "CHIP_CARD_SUPPORT",
        ContactlessCardSupport = "CONTACTLESS_CARD_SUPPORT",
        CreditCardPayable = "CREDIT_CARD_PAYABLE",
        DebitCardPayable = "DEBIT_CARD_PAYABLE",
        PedTerminal = "PED_TERMINAL",
        RemoteStartStopCapable = "REMOTE_START_STOP_CAPABLE",
        Reservable = "RESERVABLE",
        RfidReader = "RFID_READER",
        StartSessionConnectorRequired = "START_SESSION_CONNECTOR_REQUIRED",
        TokenGroupCapable = "TOKEN_GROUP_CAPABLE",
        UnlockCapable = "UNLOCK_CAPABLE",
    }
}

wire_enum! {
    /// `ConnectorType`: the plug or socket standard (ocpi-2.2.1.md §5).
    pub enum ConnectorType {
        Chademo = "CHADEMO",
        ChaoJi = "CHAOJI",
        DomesticA = "DOMESTIC_A",
        DomesticB = "DOMESTIC_B",
        DomesticC = "DOMESTIC_C",
        DomesticD = "DOMESTIC_D",
        DomesticE = "DOMESTIC_E",
        DomesticF = "DOMESTIC_F",
        DomesticG = "DOMESTIC_G",
        DomesticH = "DOMESTIC_H",
        DomesticI = "DOMESTIC_I",
        DomesticJ = "DOMESTIC_J",
        DomesticK = "DOMESTIC_K",
        DomesticL = "DOMESTIC_L",
        DomesticM = "DOMESTIC_M",
        DomesticN = "DOMESTIC_N",
        DomesticO = "DOMESTIC_O",
        GbtAc = "GBT_AC",
        GbtDc = "GBT_DC",
        Iec60309Single16 = "IEC_60309_2_single_16",
        Iec60309Three16 = "IEC_60309_2_three_16",
        Iec60309Three32 = "IEC_60309_2_three_32",
        Iec60309Three64 = "IEC_60309_2_three_64",
        Iec62196T1 = "IEC_62196_T1",
        Iec62196T1Combo = "IEC_62196_T1_COMBO",
        Iec62196T2 = "IEC_62196_T2",
        Iec62196T2Combo = "IEC_62196_T2_COMBO",
        Iec62196T3A = "IEC_62196_T3A",
        Iec62196T3C = "IEC_62196_T3C",
        Nema5x20 = "NEMA_5_20",
        Nema6x30 = "NEMA_6_30",
        Nema6x50 = "NEMA_6_50",
        Nema10x30 = "NEMA_10_30",
        Nema10x50 = "NEMA_10_50",
        Nema14x30 = "NEMA_14_30",
        Nema14x50 = "NEMA_14_50",
        PantographBottomUp = "PANTOGRAPH_BOTTOM_UP",
        PantographTopDown = "PANTOGRAPH_TOP_DOWN",
        TeslaR = "TESLA_R",
        TeslaS = "TESLA_S",
    }
}

wire_enum! {
    /// `ConnectorFormat`: socket (bring a cable) or attached cable (ocpi-2.2.1.md §5).
    pub enum ConnectorFormat {
        Socket = "SOCKET",
        Cable = "CABLE",
    }
}

wire_enum! {
    /// `PowerType` of a Connector (ocpi-2.2.1.md §5).
    pub enum PowerType {
        Ac1Phase = "AC_1_PHASE",
        Ac2Phase = "AC_2_PHASE",
        Ac2PhaseSplit = "AC_2_PHASE_SPLIT",
        Ac3Phase = "AC_3_PHASE",
        Dc = "DC",
    }
}

wire_enum! {
    /// `ParkingRestriction` of an EVSE's parking spot (ocpi-2.2.1.md §5).
    pub enum ParkingRestriction {
        EvOnly = "EV_ONLY",
        Plugged = "PLUGGED",
        Disabled = "DISABLED",
        Customers = "CUSTOMERS",
        Motorcycles = "MOTORCYCLES",
    }
}

wire_enum! {
    /// `Facility` near a Location (ocpi-2.2.1.md §5).
    pub enum Facility {
        Hotel = "HOTEL",
        Restaurant = "RESTAURANT",
        Cafe = "CAFE",
        Mall = "MALL",
        Supermarket = "SUPERMARKET",
        Sport = "SPORT",
        RecreationArea = "RECREATION_AREA",
        Nature = "NATURE",
        Museum = "MUSEUM",
        BikeSharing = "BIKE_SHARING",
        BusStop = "BUS_STOP",
        TaxiStand = "TAXI_STAND",
        TramStop = "TRAM_STOP",
        MetroStation = "METRO_STATION",
        TrainStation = "TRAIN_STATION",
        Airport = "AIRPORT",
        ParkingLot = "PARKING_LOT",
        CarpoolParking = "CARPOOL_PARKING",
        FuelStation = "FUEL_STATION",
        Wifi = "WIFI",
    }
}

wire_enum! {
    /// `ParkingType` of a Location (ocpi-2.2.1.md §5).
    pub enum ParkingType {
        AlongMotorway = "ALONG_MOTORWAY",
        ParkingGarage = "PARKING_GARAGE",
        ParkingLot = "PARKING_LOT",
        OnDriveway = "ON_DRIVEWAY",
        OnStreet = "ON_STREET",
        UndergroundGarage = "UNDERGROUND_GARAGE",
    }
}

wire_enum! {
    /// `EnergySourceCategory` of an `EnergySource` (ocpi-2.2.1.md §5).
    pub enum EnergySourceCategory {
        Nuclear = "NUCLEAR",
        GeneralFossil = "GENERAL_FOSSIL",
        Coal = "COAL",
        Gas = "GAS",
        GeneralGreen = "GENERAL_GREEN",
        Solar = "SOLAR",
        Wind = "WIND",
        Water = "WATER",
    }
}

wire_enum! {
    /// `EnvironmentalImpactCategory` of an `EnvironmentalImpact` (ocpi-2.2.1.md §5).
    pub enum EnvironmentalImpactCategory {
        NuclearWaste = "NUCLEAR_WASTE",
        CarbonDioxide = "CARBON_DIOXIDE",
    }
}

wire_enum! {
    /// `ImageCategory` of an `Image` (ocpi-2.2.1.md §5).
    pub enum ImageCategory {
        Charger = "CHARGER",
        Entrance = "ENTRANCE",
        Location = "LOCATION",
        Network = "NETWORK",
        Operator = "OPERATOR",
        Other = "OTHER",
        Owner = "OWNER",
    }
}

wire_struct! {
    /// `Location` (ocpi-2.2.1.md §5, §4.1): a site with EVSEs, owned by a CPO. Lengths of
    /// `address` (255) and `state` (45) follow the 2.2.1 errata (ocpi-2.2.1.md §0).
    pub struct Location {
        /// ISO 3166-1 alpha-2 code of the owning CPO.
        req "country_code" => country_code: CountryCode,
        /// Party id of the owning CPO.
        req "party_id" => party_id: PartyId,
        /// Location id, unique per CPO.
        req "id" => id: LocationId,
        /// Whether the Location may be published.
        req "publish" => publish: bool,
        /// Tokens to which an unpublished Location may be shown; only when `publish` is false.
        optlist "publish_allowed_to" => publish_allowed_to: PublishTokenType,
        /// Display name, `string(255)`.
        opt "name" => name: OcpiString<255>,
        /// Street and house number, `string(255)`.
        req "address" => address: OcpiString<255>,
        /// City, `string(45)`.
        req "city" => city: OcpiString<45>,
        /// Postal code, `string(10)`.
        opt "postal_code" => postal_code: OcpiString<10>,
        /// State or province, `string(45)`.
        opt "state" => state: OcpiString<45>,
        /// ISO 3166-1 alpha-3 country, `string(3)`.
        req "country" => country: OcpiString<3>,
        /// Coordinates.
        req "coordinates" => coordinates: GeoLocation,
        /// Other relevant points.
        optlist "related_locations" => related_locations: AdditionalGeoLocation,
        /// Kind of parking.
        opt "parking_type" => parking_type: ParkingType,
        /// The EVSEs.
        optlist "evses" => evses: Evse,
        /// Directions.
        optlist "directions" => directions: DisplayText,
        /// Operator.
        opt "operator" => operator: BusinessDetails,
        /// Sub-operator.
        opt "suboperator" => suboperator: BusinessDetails,
        /// Owner.
        opt "owner" => owner: BusinessDetails,
        /// Facilities nearby.
        optlist "facilities" => facilities: Facility,
        /// IANA time zone, e.g. `Europe/Oslo`, `string(255)`.
        req "time_zone" => time_zone: OcpiString<255>,
        /// Opening or access hours.
        opt "opening_times" => opening_times: Hours,
        /// Whether charging goes on when closed (default true).
        opt "charging_when_closed" => charging_when_closed: bool,
        /// Images.
        optlist "images" => images: Image,
        /// Energy mix.
        opt "energy_mix" => energy_mix: EnergyMix,
        /// Last change of the Location or anything in it.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// `EVSE` (ocpi-2.2.1.md §5, §4.1): one charging point with its connectors; also the body
    /// of a PUT on `…/locations/{cc}/{pid}/{location_id}/{evse_uid}`.
    pub struct Evse {
        /// Technical, immutable id, unique within the CPO.
        req "uid" => uid: EvseUid,
        /// eMI3 EVSE id; may be dropped once the EVSE is `REMOVED`.
        opt "evse_id" => evse_id: EvseId,
        /// Current status.
        req "status" => status: Status,
        /// Planned statuses.
        optlist "status_schedule" => status_schedule: StatusSchedule,
        /// Capabilities.
        optlist "capabilities" => capabilities: Capability,
        /// Connectors, at least one.
        nelist "connectors" => connectors: Connector,
        /// Floor level, `string(4)`.
        opt "floor_level" => floor_level: OcpiString<4>,
        /// Coordinates of the EVSE itself.
        opt "coordinates" => coordinates: GeoLocation,
        /// Number or name printed on the EVSE, `string(16)`.
        opt "physical_reference" => physical_reference: OcpiString<16>,
        /// Directions.
        optlist "directions" => directions: DisplayText,
        /// Parking restrictions.
        optlist "parking_restrictions" => parking_restrictions: ParkingRestriction,
        /// Images.
        optlist "images" => images: Image,
        /// Last change of the EVSE or its connectors.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// `Connector` (ocpi-2.2.1.md §5, §4.1); also the body of a PUT on a connector URL.
    pub struct Connector {
        /// Id, unique within the EVSE.
        req "id" => id: ConnectorId,
        /// Plug or socket standard.
        req "standard" => standard: ConnectorType,
        /// Socket or cable.
        req "format" => format: ConnectorFormat,
        /// AC phases or DC.
        req "power_type" => power_type: PowerType,
        /// Maximum voltage in V (line to neutral for `AC_3_PHASE`).
        req "max_voltage" => max_voltage: i64,
        /// Maximum current in A.
        req "max_amperage" => max_amperage: i64,
        /// Maximum power in W, when lower than voltage × amperage.
        opt "max_electric_power" => max_electric_power: i64,
        /// Tariffs, at most one active per tariff type.
        optlist "tariff_ids" => tariff_ids: TariffId,
        /// Terms and conditions.
        opt "terms_and_conditions" => terms_and_conditions: Url,
        /// Last change.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// A Location PATCH body (ocpi-2.2.1.md §1.10, §4.1): only the members that change, plus
    /// the mandatory `last_updated`.
    pub struct LocationPatch {
        /// See [`Location::country_code`].
        opt "country_code" => country_code: CountryCode,
        /// See [`Location::party_id`].
        opt "party_id" => party_id: PartyId,
        /// See [`Location::id`].
        opt "id" => id: LocationId,
        /// See [`Location::publish`].
        opt "publish" => publish: bool,
        /// See [`Location::publish_allowed_to`].
        optlist "publish_allowed_to" => publish_allowed_to: PublishTokenType,
        /// See [`Location::name`].
        opt "name" => name: OcpiString<255>,
        /// See [`Location::address`].
        opt "address" => address: OcpiString<255>,
        /// See [`Location::city`].
        opt "city" => city: OcpiString<45>,
        /// See [`Location::postal_code`].
        opt "postal_code" => postal_code: OcpiString<10>,
        /// See [`Location::state`].
        opt "state" => state: OcpiString<45>,
        /// See [`Location::country`].
        opt "country" => country: OcpiString<3>,
        /// See [`Location::coordinates`].
        opt "coordinates" => coordinates: GeoLocation,
        /// See [`Location::related_locations`].
        optlist "related_locations" => related_locations: AdditionalGeoLocation,
        /// See [`Location::parking_type`].
        opt "parking_type" => parking_type: ParkingType,
        /// See [`Location::evses`].
        optlist "evses" => evses: Evse,
        /// See [`Location::directions`].
        optlist "directions" => directions: DisplayText,
        /// See [`Location::operator`].
        opt "operator" => operator: BusinessDetails,
        /// See [`Location::suboperator`].
        opt "suboperator" => suboperator: BusinessDetails,
        /// See [`Location::owner`].
        opt "owner" => owner: BusinessDetails,
        /// See [`Location::facilities`].
        optlist "facilities" => facilities: Facility,
        /// See [`Location::time_zone`].
        opt "time_zone" => time_zone: OcpiString<255>,
        /// See [`Location::opening_times`].
        opt "opening_times" => opening_times: Hours,
        /// See [`Location::charging_when_closed`].
        opt "charging_when_closed" => charging_when_closed: bool,
        /// See [`Location::images`].
        optlist "images" => images: Image,
        /// See [`Location::energy_mix`].
        opt "energy_mix" => energy_mix: EnergyMix,
        /// Mandatory in every PATCH.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// An EVSE PATCH body (ocpi-2.2.1.md §1.10, §4.1), e.g. `{status, last_updated}` for a
    /// status change or `REMOVED`.
    pub struct EvsePatch {
        /// See [`Evse::uid`].
        opt "uid" => uid: EvseUid,
        /// See [`Evse::evse_id`].
        opt "evse_id" => evse_id: EvseId,
        /// See [`Evse::status`].
        opt "status" => status: Status,
        /// See [`Evse::status_schedule`].
        optlist "status_schedule" => status_schedule: StatusSchedule,
        /// See [`Evse::capabilities`].
        optlist "capabilities" => capabilities: Capability,
        /// See [`Evse::connectors`]; when present, not empty.
        optlist "connectors" => connectors: Connector,
        /// See [`Evse::floor_level`].
        opt "floor_level" => floor_level: OcpiString<4>,
        /// See [`Evse::coordinates`].
        opt "coordinates" => coordinates: GeoLocation,
        /// See [`Evse::physical_reference`].
        opt "physical_reference" => physical_reference: OcpiString<16>,
        /// See [`Evse::directions`].
        optlist "directions" => directions: DisplayText,
        /// See [`Evse::parking_restrictions`].
        optlist "parking_restrictions" => parking_restrictions: ParkingRestriction,
        /// See [`Evse::images`].
        optlist "images" => images: Image,
        /// Mandatory in every PATCH.
        req "last_updated" => last_updated: DateTime,
    }
}

wire_struct! {
    /// A Connector PATCH body (ocpi-2.2.1.md §1.10, §4.1), e.g. `{tariff_ids, last_updated}`.
    pub struct ConnectorPatch {
        /// See [`Connector::id`].
        opt "id" => id: ConnectorId,
        /// See [`Connector::standard`].
        opt "standard" => standard: ConnectorType,
        /// See [`Connector::format`].
        opt "format" => format: ConnectorFormat,
        /// See [`Connector::power_type`].
        opt "power_type" => power_type: PowerType,
        /// See [`Connector::max_voltage`].
        opt "max_voltage" => max_voltage: i64,
        /// See [`Connector::max_amperage`].
        opt "max_amperage" => max_amperage: i64,
        /// See [`Connector::max_electric_power`].
        opt "max_electric_power" => max_electric_power: i64,
        /// See [`Connector::tariff_ids`].
        optlist "tariff_ids" => tariff_ids: TariffId,
        /// See [`Connector::terms_and_conditions`].
        opt "terms_and_conditions" => terms_and_conditions: Url,
        /// Mandatory in every PATCH.
        req "last_updated" => last_updated: DateTime,
    }
}

/// ocpi-2.2.1.md §5 Location: `publish_allowed_to` only when `publish` is false.
fn check_publish_allowed_to(
    v: &mut Validator,
    publish: Option<bool>,
    allowed: Option<&Vec<PublishTokenType>>,
) {
    if publish == Some(true) && allowed.is_some_and(|a| !a.is_empty()) {
        v.error_at(
            "publish_allowed_to",
            "publish_allowed_to may only be used when publish is false",
        );
    }
    each_opt(v, "publish_allowed_to", allowed);
}

impl Validate for Location {
    fn validate(&self, v: &mut Validator) {
        check_publish_allowed_to(v, Some(self.publish), self.publish_allowed_to.as_ref());
        each_opt(v, "related_locations", self.related_locations.as_ref());
        each_opt(v, "evses", self.evses.as_ref());
        v.nested_opt("operator", self.operator.as_ref());
        v.nested_opt("suboperator", self.suboperator.as_ref());
        v.nested_opt("owner", self.owner.as_ref());
        v.nested_opt("opening_times", self.opening_times.as_ref());
        v.nested_opt("energy_mix", self.energy_mix.as_ref());
    }
}

impl Validate for Evse {
    fn validate(&self, v: &mut Validator) {
        v.each("connectors", &self.connectors);
    }
}

impl Validate for LocationPatch {
    fn validate(&self, v: &mut Validator) {
        check_publish_allowed_to(v, self.publish, self.publish_allowed_to.as_ref());
        each_opt(v, "related_locations", self.related_locations.as_ref());
        each_opt(v, "evses", self.evses.as_ref());
        v.nested_opt("operator", self.operator.as_ref());
        v.nested_opt("suboperator", self.suboperator.as_ref());
        v.nested_opt("owner", self.owner.as_ref());
        v.nested_opt("opening_times", self.opening_times.as_ref());
        v.nested_opt("energy_mix", self.energy_mix.as_ref());
    }
}

impl Validate for EvsePatch {
    /// The EVSE's `connectors` cardinality is `+`: a PATCH that sends the list sends at least
    /// one (ocpi-2.2.1.md §5 EVSE).
    fn validate(&self, v: &mut Validator) {
        if self.connectors.as_ref().is_some_and(Vec::is_empty) {
            v.error_at("connectors", "list connectors must not be empty");
        }
        each_opt(v, "connectors", self.connectors.as_ref());
    }
}

no_cross_member_rules!(
    Connector,
    ConnectorPatch,
    Status,
    Capability,
    ConnectorType,
    ConnectorFormat,
    PowerType,
    ParkingRestriction,
    Facility,
    ParkingType,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    ImageCategory,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocpi::v221::{ValidationError, parse, parse_forwarding};

    fn paths(errors: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn message<'a>(errors: &'a [ValidationError], path: &str) -> &'a str {
        errors
            .iter()
            .find(|e| e.path == path)
            .map_or("", |e| e.message.as_str())
    }

    fn location() -> serde_json::Value {
        serde_json::json!({
            "country_code": "nl", "party_id": "Rbg", "id": "site-7", "publish": true,
            "address": "Dorpsstraat 1", "city": "Utrecht", "country": "NLD",
            "coordinates": {"latitude": "52.090737", "longitude": "5.121420"},
            "evses": [{
                "uid": "evse-7-1", "evse_id": "NL*RBG*E7001", "status": "AVAILABLE",
                "connectors": [{
                    "id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE",
                    "power_type": "DC", "max_voltage": 920, "max_amperage": 200,
                    "max_electric_power": 150_000, "last_updated": "2024-05-01T10:00:00Z"
                }],
                "last_updated": "2024-05-01T10:00:00Z"
            }],
            "time_zone": "Europe/Amsterdam",
            "last_updated": "2024-05-01T10:00:00Z"
        })
    }

    fn bytes(v: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn a_valid_location_round_trips() {
        let v = location();
        let loc: Location = parse(&bytes(&v)).unwrap();
        assert_eq!(loc.party_id.as_str(), "Rbg");
        let evses = loc.evses.as_ref().unwrap();
        assert_eq!(evses[0].connectors[0].power_type, PowerType::Dc);
        assert_eq!(serde_json::to_value(&loc).unwrap(), v);
    }

    #[test]
    fn ids_of_a_location_compare_case_insensitively() {
        let a: Location = parse(&bytes(&location())).unwrap();
        let mut v = location();
        v["id"] = "SITE-7".into();
        v["party_id"] = "RBG".into();
        v["country_code"] = "NL".into();
        let b: Location = parse(&bytes(&v)).unwrap();
        assert_eq!(a.id, b.id);
        assert_eq!(a.party_id, b.party_id);
        assert_eq!(a.country_code, b.country_code);
        assert_eq!(b.id.as_str(), "SITE-7");
    }

    #[test]
    fn every_defect_is_reported_with_its_path() {
        let mut v = location();
        v["id"] = "x".repeat(37).into();
        v["evses"][0]["status"] = "BROKEN".into();
        v["evses"][0]["connectors"][0]
            .as_object_mut()
            .unwrap()
            .remove("max_voltage");
        v.as_object_mut().unwrap().remove("time_zone");
        let errors = parse::<Location>(&bytes(&v)).unwrap_err();
        assert_eq!(
            paths(&errors),
            [
                "$.evses[0].connectors[0].max_voltage",
                "$.evses[0].status",
                "$.id",
                "$.time_zone"
            ]
        );
        assert!(message(&errors, "$.id").contains("at most 36"));
        assert!(message(&errors, "$.evses[0].status").contains("OUTOFORDER"));
        let missing = message(&errors, "$.evses[0].connectors[0].max_voltage");
        assert!(missing.contains("mandatory"), "{missing}");
    }

    #[test]
    fn unknown_enum_values_are_kept_when_forwarding() {
        let mut v = location();
        v["evses"][0]["connectors"][0]["standard"] = "MCS".into();
        assert!(parse::<Location>(&bytes(&v)).is_err());
        let loc: Location = parse_forwarding(&bytes(&v)).unwrap();
        let evses = loc.evses.as_ref().unwrap();
        assert_eq!(
            evses[0].connectors[0].standard,
            ConnectorType::Unknown("MCS".to_owned())
        );
        assert_eq!(serde_json::to_value(&loc).unwrap(), v);
    }

    #[test]
    fn an_evse_needs_a_connector() {
        let mut v = location();
        v["evses"][0]["connectors"] = serde_json::json!([]);
        let errors = parse::<Location>(&bytes(&v)).unwrap_err();
        assert_eq!(paths(&errors), ["$.evses[0].connectors"]);
    }

    #[test]
    fn publish_allowed_to_only_when_not_published() {
        let mut v = location();
        v["publish_allowed_to"] = serde_json::json!([{"group_id": "staff"}]);
        let errors = parse::<Location>(&bytes(&v)).unwrap_err();
        assert_eq!(paths(&errors), ["$.publish_allowed_to"]);
        v["publish"] = false.into();
        assert!(parse::<Location>(&bytes(&v)).is_ok());
        v["publish_allowed_to"] = serde_json::json!([{"uid": "04A1B2C3"}]);
        let errors = parse::<Location>(&bytes(&v)).unwrap_err();
        assert_eq!(paths(&errors), ["$.publish_allowed_to[0].type"]);
    }

    #[test]
    fn patches_need_last_updated() {
        let p: EvsePatch =
            parse(br#"{"status":"CHARGING","last_updated":"2024-05-01T10:00:00Z"}"#).unwrap();
        assert_eq!(p.status, Some(Status::Charging));
        let errors = parse::<EvsePatch>(br#"{"status":"CHARGING"}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.last_updated"]);
        let errors =
            parse::<EvsePatch>(br#"{"connectors":[],"last_updated":"2024-05-01T10:00:00"}"#)
                .unwrap_err();
        assert_eq!(paths(&errors), ["$.connectors"]);
        let errors =
            parse::<ConnectorPatch>(br#"{"tariff_ids":["t1"],"last_updated":null}"#).unwrap_err();
        assert_eq!(paths(&errors), ["$.last_updated"]);
        let errors =
            parse::<LocationPatch>(br#"{"publish":true,"publish_allowed_to":[{"group_id":"g"}],"last_updated":"2024-05-01T10:00:00Z"}"#)
                .unwrap_err();
        assert_eq!(paths(&errors), ["$.publish_allowed_to"]);
    }

    #[test]
    fn enum_wire_strings_round_trip() {
        for t in ConnectorType::ALL {
            assert_eq!(&ConnectorType::from_wire(t.as_str()), t);
        }
        assert_eq!(ConnectorType::ALL.len(), 40);
        assert_eq!(Status::StatusUnknown.as_str(), "UNKNOWN");
        assert_eq!(Status::ALL.len(), 9);
    }
}
