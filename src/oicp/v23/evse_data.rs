//! EVSE data: `eRoamingPushEvseData` (CPO → HBS) and `eRoamingPullEvseData` (EMP → HBS) with
//! its paginated answer (oicp-2.3.md §3.4, §4.1–§4.3, §5.4, errata E2, E3 and E19 in §8).
//!
//! # Records migrated from OICP 2.2 (oicp-2.3.md §5.5, §9.1)
//! The HBS returns `null` on pulls for members that became mandatory in 2.3 or whose 2.2 value
//! `Unspecified` was removed. One such record must not make a whole page (up to 2000 records)
//! unreadable, so these members are optional in the types — [`EvseDataRecord`] and
//! [`PullEvseDataRecord`] share their member types — and required only where a CPO sends them,
//! by the `Validate` of [`EvseDataRecord`] that [`PushEvseData`] runs:
//! `RenewableEnergy`, `CalibrationLawDataAvailability`, `Accessibility`, `PaymentOptions`,
//! `ChargingFacilities[].PowerType` and `ChargingFacilities[].Power`. `OperatorName` of a pulled
//! record is optional for the same reason (mandatory since 2.3).

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::common::{ActionType, Address, GeoCoordinates, InfoText, OpeningTimes, SearchCenter};
use super::evse_status::{find_duplicate_evse_ids, report_duplicates};
use super::ids::{ChargingPoolId, CountryCode, EvseId, OperatorId, PhoneNumber, ProviderId};
use super::scalars::{DateTime, Decimal, Int, Text};
use super::status::StatusCode;
use super::validate::{Validate, Validator};
use crate::{wire_enum, wire_struct};

// ---------------------------------------------------------------------------------------------
// Enumerations (oicp-2.3.md §4.3)

wire_enum! {
    /// `deltaType` of a record in a delta pull (oicp-2.3.md §4.1): set by the HBS when the pull
    /// carried `LastCall`.
    pub enum DeltaType {
        /// The record changed.
        Update = "update",
        /// The record is new.
        Insert = "insert",
        /// The record was removed.
        Delete = "delete",
    }
}

wire_enum! {
    /// `Plug` (oicp-2.3.md §4.3). 2.2's `Unspecified` is gone.
    pub enum Plug {
        /// `Small Paddle Inductive`
        SmallPaddleInductive = "Small Paddle Inductive",
        /// `Large Paddle Inductive`
        LargePaddleInductive = "Large Paddle Inductive",
        /// `AVCON Connector`
        AvconConnector = "AVCON Connector",
        /// `Tesla Connector`
        TeslaConnector = "Tesla Connector",
        /// `NEMA 5-20`
        Nema5_20 = "NEMA 5-20",
        /// `Type E French Standard`
        TypeEFrenchStandard = "Type E French Standard",
        /// `Type F Schuko`
        TypeFSchuko = "Type F Schuko",
        /// `Type G British Standard`
        TypeGBritishStandard = "Type G British Standard",
        /// `Type J Swiss Standard`
        TypeJSwissStandard = "Type J Swiss Standard",
        /// `Type 1 Connector (Cable Attached)`
        Type1ConnectorCableAttached = "Type 1 Connector (Cable Attached)",
        /// `Type 2 Outlet`
        Type2Outlet = "Type 2 Outlet",
        /// `Type 2 Connector (Cable Attached)`
        Type2ConnectorCableAttached = "Type 2 Connector (Cable Attached)",
        /// `Type 3 Outlet`
        Type3Outlet = "Type 3 Outlet",
        /// `IEC 60309 Single Phase`
        Iec60309SinglePhase = "IEC 60309 Single Phase",
        /// `IEC 60309 Three Phase`
        Iec60309ThreePhase = "IEC 60309 Three Phase",
        /// `CCS Combo 2 Plug (Cable Attached)`
        CcsCombo2PlugCableAttached = "CCS Combo 2 Plug (Cable Attached)",
        /// `CCS Combo 1 Plug (Cable Attached)`
        CcsCombo1PlugCableAttached = "CCS Combo 1 Plug (Cable Attached)",
        /// `CHAdeMO`
        Chademo = "CHAdeMO",
    }
}

wire_enum! {
    /// `PowerType` of a charging facility (oicp-2.3.md §4.2, §4.3).
    pub enum PowerType {
        /// Single-phase AC.
        Ac1Phase = "AC_1_PHASE",
        /// Three-phase AC.
        Ac3Phase = "AC_3_PHASE",
        /// DC.
        Dc = "DC",
    }
}

wire_enum! {
    /// `ChargingMode` (IEC 61851 modes and `CHAdeMO`; oicp-2.3.md §4.3). Part of the charging
    /// facility since 2.3.
    pub enum ChargingMode {
        /// `Mode_1`
        Mode1 = "Mode_1",
        /// `Mode_2`
        Mode2 = "Mode_2",
        /// `Mode_3`
        Mode3 = "Mode_3",
        /// `Mode_4`
        Mode4 = "Mode_4",
        /// `CHAdeMO`
        Chademo = "CHAdeMO",
    }
}

wire_enum! {
    /// `EnergyType` of an energy source (oicp-2.3.md §4.3).
    pub enum EnergyType {
        /// `Solar`
        Solar = "Solar",
        /// `Wind`
        Wind = "Wind",
        /// `HydroPower`
        HydroPower = "HydroPower",
        /// `GeothermalEnergy`
        GeothermalEnergy = "GeothermalEnergy",
        /// `Biomass`
        Biomass = "Biomass",
        /// `Coal`
        Coal = "Coal",
        /// `NuclearEnergy`
        NuclearEnergy = "NuclearEnergy",
        /// `Petroleum`
        Petroleum = "Petroleum",
        /// `NaturalGas`
        NaturalGas = "NaturalGas",
    }
}

wire_enum! {
    /// `CalibrationLawDataAvailability` (oicp-2.3.md §4.3): where the data for German
    /// calibration law (Eichrecht) checks is available.
    pub enum CalibrationLawDataAvailability {
        /// On the charging station.
        Local = "Local",
        /// Elsewhere (e.g. a portal).
        External = "External",
        /// Not available.
        NotAvailable = "Not Available",
    }
}

wire_enum! {
    /// `AuthenticationMode` (oicp-2.3.md §4.3).
    pub enum AuthenticationMode {
        /// `NFC RFID Classic`
        NfcRfidClassic = "NFC RFID Classic",
        /// `NFC RFID DESFire`
        NfcRfidDesfire = "NFC RFID DESFire",
        /// `PnC` (ISO 15118 Plug&Charge).
        Pnc = "PnC",
        /// `REMOTE` (app, QR code).
        Remote = "REMOTE",
        /// `Direct Payment`
        DirectPayment = "Direct Payment",
        /// `No Authentication Required` (new in 2.3).
        NoAuthenticationRequired = "No Authentication Required",
    }
}

wire_enum! {
    /// `PaymentOption` (oicp-2.3.md §4.3). `No Payment` excludes the others.
    pub enum PaymentOption {
        /// Free charging.
        NoPayment = "No Payment",
        /// Ad-hoc payment at the station.
        Direct = "Direct",
        /// Payment through a contract (EMP).
        Contract = "Contract",
    }
}

wire_enum! {
    /// `ValueAddedService` (oicp-2.3.md §4.3). `None` states that there is none.
    pub enum ValueAddedService {
        /// `Reservation`
        Reservation = "Reservation",
        /// `DynamicPricing`
        DynamicPricing = "DynamicPricing",
        /// `ParkingSensors`
        ParkingSensors = "ParkingSensors",
        /// `MaximumPowerCharging`
        MaximumPowerCharging = "MaximumPowerCharging",
        /// `PredictiveChargePointUsage`
        PredictiveChargePointUsage = "PredictiveChargePointUsage",
        /// `ChargingPlans`
        ChargingPlans = "ChargingPlans",
        /// `RoofProvided` (new in 2.3).
        RoofProvided = "RoofProvided",
        /// `None`
        None = "None",
    }
}

wire_enum! {
    /// `Accessibility` (oicp-2.3.md §4.3). 2.2's `Unspecified` is gone (pulled as `null`).
    pub enum Accessibility {
        /// `Free publicly accessible`
        FreePubliclyAccessible = "Free publicly accessible",
        /// `Restricted access`
        RestrictedAccess = "Restricted access",
        /// `Paying publicly accessible`
        PayingPubliclyAccessible = "Paying publicly accessible",
        /// `Test Station`
        TestStation = "Test Station",
    }
}

wire_enum! {
    /// `AccessibilityLocation` (oicp-2.3.md §4.3).
    pub enum AccessibilityLocation {
        /// `OnStreet`
        OnStreet = "OnStreet",
        /// `ParkingLot`
        ParkingLot = "ParkingLot",
        /// `ParkingGarage`
        ParkingGarage = "ParkingGarage",
        /// `UndergroundParkingGarage`
        UndergroundParkingGarage = "UndergroundParkingGarage",
    }
}

wire_enum! {
    /// `DynamicInfoAvailable` (oicp-2.3.md §4.1, §4.3): the JSON **strings** `"true"`,
    /// `"false"` and `"auto"`, not JSON booleans.
    pub enum DynamicInfoAvailable {
        /// `"true"`: the CPO pushes EVSE status.
        True = "true",
        /// `"false"`: no status is pushed.
        False = "false",
        /// `"auto"`: the HBS decides from the pushed status.
        Auto = "auto",
    }
}

wire_enum! {
    /// `GeoCoordinatesResponseFormat` of a pull (oicp-2.3.md §3.4, §4.3): the format the HBS
    /// writes coordinates in.
    pub enum GeoCoordinatesResponseFormat {
        /// `{"Google":{"Coordinates":"<lat> <lon>"}}`
        Google = "Google",
        /// `{"DegreeMinuteSeconds":{…}}`
        DegreeMinuteSeconds = "DegreeMinuteSeconds",
        /// `{"DecimalDegree":{…}}`
        DecimalDegree = "DecimalDegree",
    }
}

// ---------------------------------------------------------------------------------------------
// Nested types

/// `ChargingFacility.Power` in kW, 0 to 999 (oicp-2.3.md §4.2).
///
/// S1 and S2-CPO say integer; S2-EMP, S3 and 2.2 say number, so partners send 3.7 or 22.5
/// (erratum E3). Decimals are accepted, and the value is written as an integer when whole, else
/// as a decimal. The range is checked while parsing, so the error carries the member's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Power(Decimal);

impl Power {
    /// The largest power the spec allows, in kW.
    pub const MAX_KW: i64 = 999;

    /// Checks the range 0..=999 kW.
    pub fn new(kw: Decimal) -> Result<Self, String> {
        let v = kw.value();
        if (v.is_sign_negative() && !v.is_zero()) || v > rust_decimal::Decimal::from(Self::MAX_KW) {
            Err(format!(
                "power {kw} kW is out of range 0..={}",
                Self::MAX_KW
            ))
        } else {
            Ok(Self(kw))
        }
    }

    /// The power in kW.
    pub fn kw(self) -> Decimal {
        self.0
    }
}

impl Serialize for Power {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Power {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(Decimal::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

wire_struct! {
    /// `ChargingFacility` (oicp-2.3.md §4.2): one power level the EVSE offers.
    ///
    /// `PowerType` and `Power` are mandatory since 2.3 but may be `null` in pulled records
    /// migrated from 2.2 (§9.1), so they are optional here and required in a push by
    /// [`EvseDataRecord`]'s `Validate`.
    pub struct ChargingFacility {
        /// AC single-phase, AC three-phase or DC. Mandatory in a push.
        opt "PowerType" => power_type: PowerType,
        /// Voltage line-to-neutral, at most 3 digits.
        opt "Voltage" => voltage: Int<0, 999>,
        /// Current in A. S1 and S2 allow 2 digits, but the HBS (S3) takes any int32 and DC
        /// chargers exceed 99 A (e.g. 200 A, 500 A), so 0 to 9999 is accepted.
        opt "Amperage" => amperage: Int<0, 9999>,
        /// Power in kW, 0 to 999, decimals accepted (E3). Mandatory in a push.
        opt "Power" => power: Power,
        /// Charging modes (moved here from the record in 2.3).
        optlist "ChargingModes" => charging_modes: ChargingMode,
    }
}

wire_struct! {
    /// `EnergySource` (oicp-2.3.md §4.1): one part of the energy mix.
    pub struct EnergySource {
        /// The kind of energy.
        opt "Energy" => energy: EnergyType,
        /// Its share in percent, 0 to 100.
        opt "Percentage" => percentage: Int<0, 100>,
    }
}

wire_struct! {
    /// `EnvironmentalImpact` (oicp-2.3.md §4.1).
    pub struct EnvironmentalImpact {
        /// CO₂ emission in g/kWh.
        opt "CO2Emission" => co2_emission: Decimal,
        /// Nuclear waste in g/kWh.
        opt "NuclearWaste" => nuclear_waste: Decimal,
    }
}

// ---------------------------------------------------------------------------------------------
// Records

/// Defines a record type with the members of `EvseDataRecord` (oicp-2.3.md §4.1) after the
/// given leading members, so that [`EvseDataRecord`] and [`PullEvseDataRecord`] cannot drift
/// apart (the wire macro has no flattening).
macro_rules! evse_data_record_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($head:tt)* }) => {
        wire_struct! {
            $(#[$meta])*
            pub struct $name {
                $($head)*
                /// Set by the HBS on delta pulls (`LastCall`); accepted and kept in a push.
                opt "deltaType" => delta_type: DeltaType,
                /// Last change, set by the HBS; accepted and kept in a push.
                opt "lastUpdate" => last_update: DateTime,
                /// The EVSE.
                req "EvseID" => evse_id: EvseId,
                /// The charging pool.
                opt "ChargingPoolID" => charging_pool_id: ChargingPoolId,
                /// The charging station, at most 50 characters. S1's CPO table and S2 spell the
                /// key `ChargingStationId`, S1's EMP table, S3, the examples and the HBS
                /// `ChargingStationID` (erratum E2): both are read, `ChargingStationID` is
                /// written.
                opt "ChargingStationID" | "ChargingStationId" => charging_station_id: Text<50>,
                /// Names of the station, at least one (migrated data has `lang: null`).
                nelist "ChargingStationNames" => charging_station_names: InfoText,
                /// Hardware manufacturer, at most 50 characters.
                opt "HardwareManufacturer" => hardware_manufacturer: Text<50>,
                /// URL of an image of the station, at most 200 characters.
                opt "ChargingStationImage" => charging_station_image: Text<200>,
                /// Name of the sub-operator, at most 100 characters.
                opt "SubOperatorName" => sub_operator_name: Text<100>,
                /// Address.
                req "Address" => address: Address,
                /// Position of the EVSE.
                req "GeoCoordinates" => geo_coordinates: GeoCoordinates,
                /// Plugs, at least one.
                nelist "Plugs" => plugs: Plug,
                /// Whether the power is adjusted dynamically.
                opt "DynamicPowerLevel" => dynamic_power_level: bool,
                /// Power levels, at least one.
                nelist "ChargingFacilities" => charging_facilities: ChargingFacility,
                /// True only for 100 % renewable energy. Mandatory in a push; `null` in pulled
                /// records migrated from 2.2 (§5.5, §9.1).
                opt "RenewableEnergy" => renewable_energy: bool,
                /// The energy mix.
                optlist "EnergySource" => energy_source: EnergySource,
                /// Environmental impact.
                opt "EnvironmentalImpact" => environmental_impact: EnvironmentalImpact,
                /// Where calibration law data is available. Mandatory in a push; `null` in
                /// pulled records migrated from 2.2 (§5.5, §9.1).
                opt "CalibrationLawDataAvailability" => calibration_law_data_availability: CalibrationLawDataAvailability,
                /// How customers authenticate, at least one.
                nelist "AuthenticationModes" => authentication_modes: AuthenticationMode,
                /// Capacity in kWh of a built-in battery.
                opt "MaxCapacity" => max_capacity: Int<0, 2_147_483_647>,
                /// How customers pay. Mandatory and not empty in a push (`No Payment` alone);
                /// mandatory only since 2.3, so `null` is accepted in pulled records (§9.1).
                optlist "PaymentOptions" => payment_options: PaymentOption,
                /// Additional services, at least one (`None` for none).
                nelist "ValueAddedServices" => value_added_services: ValueAddedService,
                /// Who may use the EVSE. Mandatory in a push; 2.2's `Unspecified` is pulled as
                /// `null` (§9.1).
                opt "Accessibility" => accessibility: Accessibility,
                /// Where the EVSE is.
                opt "AccessibilityLocation" => accessibility_location: AccessibilityLocation,
                /// The CPO's hotline.
                req "HotlinePhoneNumber" => hotline_phone_number: PhoneNumber,
                /// Further information (English first).
                optlist "AdditionalInfo" => additional_info: InfoText,
                /// How to find the station.
                optlist "ChargingStationLocationReference" => charging_station_location_reference: InfoText,
                /// Position of the entrance to the charging point (e.g. of a garage).
                opt "GeoChargingPointEntrance" => geo_charging_point_entrance: GeoCoordinates,
                /// Open around the clock; when false, a push needs `OpeningTimes`.
                req "IsOpen24Hours" => is_open_24_hours: bool,
                /// Opening times; required in a push when `IsOpen24Hours` is false.
                optlist "OpeningTimes" => opening_times: OpeningTimes,
                /// The hub operator.
                opt "HubOperatorID" => hub_operator_id: OperatorId,
                /// The clearing house, at most 20 characters.
                opt "ClearinghouseID" => clearinghouse_id: Text<20>,
                /// Whether remote start/stop work through the HBS (false: 604).
                req "IsHubjectCompatible" => is_hubject_compatible: bool,
                /// Whether status is available: the strings `"true"`, `"false"`, `"auto"`.
                req "DynamicInfoAvailable" => dynamic_info_available: DynamicInfoAvailable,
            }
        }
    };
}

evse_data_record_struct! {
    /// `EvseDataRecord` (oicp-2.3.md §4.1): one EVSE as a CPO pushes it.
    ///
    /// The members that 2.2-migrated data lacks are optional in the type (see the module
    /// documentation); its `Validate` holds the push rules: those members present,
    /// `OpeningTimes` when not open 24 hours, `No Payment` alone.
    pub struct EvseDataRecord {}
}

evse_data_record_struct! {
    /// `PullEvseDataRecord` (oicp-2.3.md §4.1): an [`EvseDataRecord`] as the HBS returns it in
    /// a pull, with its operator.
    ///
    /// No push rules apply (the answer is the HBS's data, including records migrated from
    /// 2.2). Convert with [`PullEvseDataRecord::new`] and [`PullEvseDataRecord::into_parts`].
    pub struct PullEvseDataRecord {
        /// The operator. S1's EMP snippet spells it `OperatorId` (erratum E19): both are read,
        /// `OperatorID` is written.
        req "OperatorID" | "OperatorId" => operator_id: OperatorId,
        /// The operator's name, at most 100 characters. Mandatory per S1, but only since 2.3,
        /// so `null` is accepted (§9.1).
        opt "OperatorName" => operator_name: Text<100>,
    }
}

impl EvseDataRecord {
    /// The operator the `EvseID` belongs to (may be a sub-operator of the pushing partner).
    pub fn operator_id(&self) -> OperatorId {
        self.evse_id.operator_id()
    }

    /// Checks the rules of a push that concern one charging facility.
    fn validate_facilities(&self, v: &mut Validator) {
        let incomplete = |f: &ChargingFacility| f.power_type.is_none() || f.power.is_none();
        if !self.charging_facilities.iter().any(incomplete) {
            return;
        }
        v.at("ChargingFacilities", |v| {
            for (i, f) in self.charging_facilities.iter().enumerate().filter(|(_, f)| incomplete(f)) {
                v.at_index(i, |v| {
                    if f.power_type.is_none() {
                        v.error_at("PowerType", "mandatory member PowerType is missing or null (AC_1_PHASE, AC_3_PHASE or DC)");
                    }
                    if f.power.is_none() {
                        v.error_at("Power", "mandatory member Power is missing or null (kW, 0 to 999)");
                    }
                });
            }
        });
    }
}

/// The push rules of one record (oicp-2.3.md §4.1, §9.1):
/// * `RenewableEnergy`, `CalibrationLawDataAvailability`, `Accessibility`, `PaymentOptions`,
///   the address's `PostalCode` and `HouseNum` and every facility's `PowerType` and `Power` are
///   present (optional in the types only for pulled 2.2 data);
/// * `PaymentOptions` is not empty, and `No Payment` is not combined with another option;
/// * `IsOpen24Hours: false` needs at least one `OpeningTimes` entry.
///
/// Not checked: that the `EvseID` belongs to the pushing `OperatorID` — sub-operators' `EvseID`s
/// are allowed (§1) and only the HBS knows who they are.
impl Validate for EvseDataRecord {
    fn validate(&self, v: &mut Validator) {
        if self.renewable_energy.is_none() {
            v.error_at(
                "RenewableEnergy",
                "mandatory member RenewableEnergy is missing or null (true or false)",
            );
        }
        if self.calibration_law_data_availability.is_none() {
            v.error_at(
                "CalibrationLawDataAvailability",
                "mandatory member CalibrationLawDataAvailability is missing or null (Local, External or Not Available)",
            );
        }
        if self.accessibility.is_none() {
            v.error_at(
                "Accessibility",
                "mandatory member Accessibility is missing or null",
            );
        }
        match self.payment_options.as_deref() {
            None => v.error_at(
                "PaymentOptions",
                "mandatory member PaymentOptions is missing or null",
            ),
            Some([]) => v.error_at("PaymentOptions", "list PaymentOptions must not be empty"),
            Some(options) => {
                let no_payment = options.contains(&PaymentOption::NoPayment);
                if no_payment && options.iter().any(|o| *o != PaymentOption::NoPayment) {
                    v.error_at(
                        "PaymentOptions",
                        "'No Payment' must not be combined with other payment options; send it alone or drop it",
                    );
                }
            }
        }
        v.at("Address", |v| {
            if self.address.postal_code.is_none() {
                v.error_at(
                    "PostalCode",
                    "mandatory member PostalCode is missing or null",
                );
            }
            if self.address.house_num.is_none() {
                v.error_at("HouseNum", "mandatory member HouseNum is missing or null");
            }
        });
        if !self.is_open_24_hours && self.opening_times.as_ref().is_none_or(Vec::is_empty) {
            v.error_at(
                "OpeningTimes",
                "OpeningTimes are required when IsOpen24Hours is false",
            );
        }
        self.validate_facilities(v);
    }
}

impl PullEvseDataRecord {
    /// A pulled record from a pushed one and its operator (the HBS's answer to a pull).
    pub fn new(
        record: EvseDataRecord,
        operator_id: OperatorId,
        operator_name: Option<Text<100>>,
    ) -> Self {
        let EvseDataRecord {
            delta_type,
            last_update,
            evse_id,
            charging_pool_id,
            charging_station_id,
            charging_station_names,
            hardware_manufacturer,
            charging_station_image,
            sub_operator_name,
            address,
            geo_coordinates,
            plugs,
            dynamic_power_level,
            charging_facilities,
            renewable_energy,
            energy_source,
            environmental_impact,
            calibration_law_data_availability,
            authentication_modes,
            max_capacity,
            payment_options,
            value_added_services,
            accessibility,
            accessibility_location,
            hotline_phone_number,
            additional_info,
            charging_station_location_reference,
            geo_charging_point_entrance,
            is_open_24_hours,
            opening_times,
            hub_operator_id,
            clearinghouse_id,
            is_hubject_compatible,
            dynamic_info_available,
            extra,
        } = record;
        Self {
            operator_id,
            operator_name,
            delta_type,
            last_update,
            evse_id,
            charging_pool_id,
            charging_station_id,
            charging_station_names,
            hardware_manufacturer,
            charging_station_image,
            sub_operator_name,
            address,
            geo_coordinates,
            plugs,
            dynamic_power_level,
            charging_facilities,
            renewable_energy,
            energy_source,
            environmental_impact,
            calibration_law_data_availability,
            authentication_modes,
            max_capacity,
            payment_options,
            value_added_services,
            accessibility,
            accessibility_location,
            hotline_phone_number,
            additional_info,
            charging_station_location_reference,
            geo_charging_point_entrance,
            is_open_24_hours,
            opening_times,
            hub_operator_id,
            clearinghouse_id,
            is_hubject_compatible,
            dynamic_info_available,
            extra,
        }
    }

    /// Splits into the record (unknown members kept in its `extra`), the operator and its name.
    pub fn into_parts(self) -> (EvseDataRecord, OperatorId, Option<Text<100>>) {
        let Self {
            operator_id,
            operator_name,
            delta_type,
            last_update,
            evse_id,
            charging_pool_id,
            charging_station_id,
            charging_station_names,
            hardware_manufacturer,
            charging_station_image,
            sub_operator_name,
            address,
            geo_coordinates,
            plugs,
            dynamic_power_level,
            charging_facilities,
            renewable_energy,
            energy_source,
            environmental_impact,
            calibration_law_data_availability,
            authentication_modes,
            max_capacity,
            payment_options,
            value_added_services,
            accessibility,
            accessibility_location,
            hotline_phone_number,
            additional_info,
            charging_station_location_reference,
            geo_charging_point_entrance,
            is_open_24_hours,
            opening_times,
            hub_operator_id,
            clearinghouse_id,
            is_hubject_compatible,
            dynamic_info_available,
            extra,
        } = self;
        let record = EvseDataRecord {
            delta_type,
            last_update,
            evse_id,
            charging_pool_id,
            charging_station_id,
            charging_station_names,
            hardware_manufacturer,
            charging_station_image,
            sub_operator_name,
            address,
            geo_coordinates,
            plugs,
            dynamic_power_level,
            charging_facilities,
            renewable_energy,
            energy_source,
            environmental_impact,
            calibration_law_data_availability,
            authentication_modes,
            max_capacity,
            payment_options,
            value_added_services,
            accessibility,
            accessibility_location,
            hotline_phone_number,
            additional_info,
            charging_station_location_reference,
            geo_charging_point_entrance,
            is_open_24_hours,
            opening_times,
            hub_operator_id,
            clearinghouse_id,
            is_hubject_compatible,
            dynamic_info_available,
            extra,
        };
        (record, operator_id, operator_name)
    }
}

impl From<PullEvseDataRecord> for EvseDataRecord {
    /// Drops the operator (it is the `EvseID`'s operator or its hub; see
    /// [`PullEvseDataRecord::into_parts`] to keep it).
    fn from(record: PullEvseDataRecord) -> Self {
        record.into_parts().0
    }
}

// ---------------------------------------------------------------------------------------------
// Push

wire_struct! {
    /// `OperatorEvseData` of an `eRoamingPushEvseData` (oicp-2.3.md §3.4).
    pub struct OperatorEvseData {
        /// The pushing operator (sub-operators appear only in the `EvseID`s, §1).
        req "OperatorID" => operator_id: OperatorId,
        /// Its name, at most 100 characters (mandatory since 2.3).
        req "OperatorName" => operator_name: Text<100>,
        /// The records; may be empty (a `fullLoad` with no records deletes everything).
        list "EvseDataRecord" => evse_data_record: EvseDataRecord,
    }
}

impl OperatorEvseData {
    /// The records as the HBS returns them in a pull, with this operator.
    pub fn into_pull_records(self) -> Vec<PullEvseDataRecord> {
        let Self {
            operator_id,
            operator_name,
            evse_data_record,
            extra: _,
        } = self;
        evse_data_record
            .into_iter()
            .map(|r| PullEvseDataRecord::new(r, operator_id.clone(), Some(operator_name.clone())))
            .collect()
    }
}

/// Every record's push rules (see [`EvseDataRecord`]), and each `EvseID` only once
/// (format-insensitive; 018 Inconsistent `EvseID`, as the HBS answers per S5).
impl Validate for OperatorEvseData {
    fn validate(&self, v: &mut Validator) {
        let records = &self.evse_data_record;
        let duplicates = find_duplicate_evse_ids(records, |r| &r.evse_id);
        v.at("EvseDataRecord", |v| {
            for (i, record) in records.iter().enumerate() {
                v.at_index(i, |v| record.validate(v));
            }
            report_duplicates(v, &duplicates, records, |r| &r.evse_id);
        });
    }
}

wire_struct! {
    /// `eRoamingPushEvseData` (oicp-2.3.md §3.4): a CPO's EVSE data. Answered with an
    /// `eRoamingAcknowledgement`.
    pub struct PushEvseData {
        /// How the records change the stored set.
        req "ActionType" => action_type: ActionType,
        /// The operator and its records.
        req "OperatorEvseData" => operator_evse_data: OperatorEvseData,
    }
}

/// See [`OperatorEvseData`]'s and [`EvseDataRecord`]'s `Validate`.
impl Validate for PushEvseData {
    fn validate(&self, v: &mut Validator) {
        v.nested("OperatorEvseData", &self.operator_evse_data);
    }
}

// ---------------------------------------------------------------------------------------------
// Pull

wire_struct! {
    /// `eRoamingPullEvseData` (oicp-2.3.md §3.4): the EVSE data an EMP may see, filtered, as
    /// pages (query parameters `page`, `size`, `sort`, §5.4). Answered with [`EvseDataPage`].
    pub struct PullEvseData {
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// Only EVSEs within this circle. Not with `LastCall`.
        opt "SearchCenter" => search_center: SearchCenter,
        /// Delta pull: only records changed since then (each with `deltaType`).
        opt "LastCall" => last_call: DateTime,
        /// Format of the coordinates in the answer.
        req "GeoCoordinatesResponseFormat" => geo_coordinates_response_format: GeoCoordinatesResponseFormat,
        /// Only these countries (ISO 3166-1 alpha-3). Not with `LastCall`.
        optlist "CountryCodes" => country_codes: CountryCode,
        /// Only these operators (spelled `OperatorIds`). Not with `LastCall`.
        optlist "OperatorIds" => operator_ids: OperatorId,
        /// Only EVSEs with one of these authentication modes.
        optlist "AuthenticationModes" => authentication_modes: AuthenticationMode,
        /// Only EVSEs with one of these accessibilities.
        optlist "Accessibility" => accessibility: Accessibility,
        /// Only EVSEs with one of these calibration law data availabilities.
        optlist "CalibrationLawDataAvailability" => calibration_law_data_availability: CalibrationLawDataAvailability,
        /// Only EVSEs with (or without) 100 % renewable energy.
        opt "RenewableEnergy" => renewable_energy: bool,
        /// Only EVSEs that are (or are not) Hubject compatible.
        opt "IsHubjectCompatible" => is_hubject_compatible: bool,
        /// Only EVSEs that are (or are not) open 24 hours.
        opt "IsOpen24Hours" => is_open_24_hours: bool,
    }
}

/// `LastCall` cannot be combined with `SearchCenter`, `CountryCodes` or `OperatorIds`
/// (oicp-2.3.md §2.3); each conflicting filter is reported at its own path. An empty
/// `CountryCodes`/`OperatorIds` list filters nothing and is not a conflict. The search centre's
/// own rule (radius) is checked too.
impl Validate for PullEvseData {
    fn validate(&self, v: &mut Validator) {
        if self.last_call.is_some() {
            let conflict = "cannot be combined with LastCall (a delta pull returns every change); drop the filter or LastCall";
            if self.search_center.is_some() {
                v.error_at("SearchCenter", format!("SearchCenter {conflict}"));
            }
            if self.country_codes.as_ref().is_some_and(|l| !l.is_empty()) {
                v.error_at("CountryCodes", format!("CountryCodes {conflict}"));
            }
            if self.operator_ids.as_ref().is_some_and(|l| !l.is_empty()) {
                v.error_at("OperatorIds", format!("OperatorIds {conflict}"));
            }
        }
        v.nested_opt("SearchCenter", self.search_center.as_ref());
    }
}

/// A page counter: a non-negative Java `int`.
pub type PageCount = Int<0, 2_147_483_647>;

wire_struct! {
    /// `eRoamingEvseData` (2.3, oicp-2.3.md §3.4, §5.4): one page of the answer to
    /// `eRoamingPullEvseData`, in Spring Data's page shape.
    ///
    /// Decision: `content` is mandatory (it is the data; an empty page is an empty list), but
    /// the counters, `first`, `last` and `StatusCode` are optional although §3.4 marks them
    /// mandatory: they only steer paging, and a peer that answers with one unpaged list should
    /// still be readable. We always write them. Spring's `pageable` and `empty` are kept in
    /// `extra`.
    pub struct EvseDataPage {
        /// The records of this page.
        list "content" => content: PullEvseDataRecord,
        /// Page number, 0-based.
        opt "number" => number: PageCount,
        /// Requested page size.
        opt "size" => size: PageCount,
        /// Records on all pages.
        opt "totalElements" => total_elements: PageCount,
        /// Number of pages.
        opt "totalPages" => total_pages: PageCount,
        /// Records on this page.
        opt "numberOfElements" => number_of_elements: PageCount,
        /// Whether this is the first page.
        opt "first" => first: bool,
        /// Whether this is the last page.
        opt "last" => last: bool,
        /// Outcome.
        opt "StatusCode" => status_code: StatusCode,
    }
}

impl EvseDataPage {
    /// Whether another page follows: from `last`, else from `number` and `totalPages`; a page
    /// with neither is taken as the only one.
    pub fn has_more(&self) -> bool {
        match (self.last, self.number, self.total_pages) {
            (Some(last), _, _) => !last,
            (None, Some(number), Some(total)) => number.get() + 1 < total.get(),
            _ => false,
        }
    }

    /// The number of the page after this one, if any.
    pub fn next_page(&self) -> Option<i64> {
        self.has_more()
            .then(|| self.number.map_or(1, |n| n.get() + 1))
    }
}

/// No rules beyond the types: the records are the hub's data (push rules do not apply), and
/// counters that disagree with `content` are the sender's concern, not a reason to drop data.
impl Validate for EvseDataPage {
    fn validate(&self, _: &mut Validator) {}
}

/// Types whose every rule is checked while parsing; their `Validate` has nothing to add (it
/// exists so that they can be parsed on their own with [`parse`](super::wire::parse)).
macro_rules! no_cross_member_rules {
    ($($t:ty),*) => { $(impl Validate for $t { fn validate(&self, _: &mut Validator) {} })* };
}

no_cross_member_rules!(
    ChargingFacility,
    EnergySource,
    EnvironmentalImpact,
    PullEvseDataRecord
);

#[cfg(test)]
mod tests {
    use super::super::acknowledgement::Acknowledgement;
    use super::super::status::Code;
    use super::super::validate::ValidationError;
    use super::super::wire::parse;
    use super::*;

    fn sorted_paths(errs: &[ValidationError]) -> Vec<&str> {
        let mut paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        paths
    }

    fn round_trip<T>(bytes: &[u8])
    where
        T: de::DeserializeOwned + Serialize + Validate,
    {
        let value = parse::<T>(bytes).unwrap_or_else(|e| panic!("fixture does not parse: {e:?}"));
        let expected: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(serde_json::to_value(&value).unwrap(), expected);
    }

    #[test]
    fn fixtures_parse_and_round_trip() {
        round_trip::<PushEvseData>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvseData.request.json"
        ));
        round_trip::<Acknowledgement>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvseData.response.json"
        ));
        round_trip::<PullEvseData>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseData.request.json"
        ));
        round_trip::<EvseDataPage>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseData.response.json"
        ));
    }

    /// A minimal valid record; `patch` members replace or (with `null`) blank its members.
    fn record(patch: &serde_json::Value) -> serde_json::Value {
        let mut r = serde_json::json!({
            "EvseID": "DE*GEF*E0001*1",
            "ChargingStationNames": [{"lang": "de", "value": "Ladepunkt Hof"}],
            "Address": {"Country": "DEU", "City": "Berlin", "Street": "Hauptstraße", "PostalCode": "10827", "HouseNum": "5"},
            "GeoCoordinates": {"Google": {"Coordinates": "52.480495 13.356465"}},
            "Plugs": ["Type 2 Outlet"],
            "ChargingFacilities": [{"PowerType": "AC_3_PHASE", "Power": 22}],
            "RenewableEnergy": false,
            "CalibrationLawDataAvailability": "Local",
            "AuthenticationModes": ["NFC RFID Classic"],
            "PaymentOptions": ["Contract"],
            "ValueAddedServices": ["None"],
            "Accessibility": "Free publicly accessible",
            "HotlinePhoneNumber": "+49301234567",
            "IsOpen24Hours": true,
            "IsHubjectCompatible": true,
            "DynamicInfoAvailable": "auto"
        });
        if let (Some(target), Some(patch)) = (r.as_object_mut(), patch.as_object()) {
            for (k, v) in patch {
                target.insert(k.clone(), v.clone());
            }
        }
        r
    }

    fn push(records: &[serde_json::Value]) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "ActionType": "fullLoad",
            "OperatorEvseData": {"OperatorID": "DE*GEF", "OperatorName": "GEF Laden", "EvseDataRecord": records}
        }))
        .unwrap()
    }

    fn push_errors(patch: &serde_json::Value) -> Vec<ValidationError> {
        parse::<PushEvseData>(&push(&[record(patch)])).unwrap_err()
    }

    const R0: &str = "$.OperatorEvseData.EvseDataRecord[0]";

    #[test]
    fn minimal_push_is_valid() {
        let p = parse::<PushEvseData>(&push(&[record(&serde_json::json!({}))])).unwrap();
        let r = &p.operator_evse_data.evse_data_record[0];
        assert_eq!(r.operator_id().as_str(), "DE*GEF");
        assert_eq!(r.dynamic_info_available, DynamicInfoAvailable::Auto);
        assert!(parse::<PushEvseData>(&push(&[])).is_ok());
    }

    #[test]
    fn push_requires_the_members_migrated_pulls_lack() {
        let errs = push_errors(&serde_json::json!({
            "RenewableEnergy": null,
            "CalibrationLawDataAvailability": null,
            "Accessibility": null,
            "PaymentOptions": null,
            "ChargingFacilities": [{"PowerType": "DC", "Power": 150}, {"PowerType": null, "Power": null}]
        }));
        let expected: Vec<String> = [
            "Accessibility",
            "CalibrationLawDataAvailability",
            "ChargingFacilities[1].Power",
            "ChargingFacilities[1].PowerType",
            "PaymentOptions",
            "RenewableEnergy",
        ]
        .iter()
        .map(|k| format!("{R0}.{k}"))
        .collect();
        assert_eq!(sorted_paths(&errs), expected);
        assert!(errs.iter().all(|e| e.code == Code::DataError));
    }

    #[test]
    fn payment_options_not_empty_and_no_payment_alone() {
        for ok in [
            serde_json::json!(["No Payment"]),
            serde_json::json!(["Direct", "Contract"]),
        ] {
            assert!(
                parse::<PushEvseData>(&push(&[record(
                    &serde_json::json!({ "PaymentOptions": ok })
                )]))
                .is_ok()
            );
        }
        for bad in [
            serde_json::json!([]),
            serde_json::json!(["No Payment", "Contract"]),
        ] {
            let errs = push_errors(&serde_json::json!({ "PaymentOptions": bad }));
            assert_eq!(
                sorted_paths(&errs),
                [format!("{R0}.PaymentOptions")],
                "{bad}"
            );
        }
    }

    #[test]
    fn opening_times_needed_when_not_open_24_hours() {
        let times =
            serde_json::json!([{"Period": [{"begin": "08:00", "end": "20:00"}], "on": "Workdays"}]);
        let ok = record(&serde_json::json!({"IsOpen24Hours": false, "OpeningTimes": times}));
        assert!(parse::<PushEvseData>(&push(&[ok])).is_ok());
        for missing in [serde_json::Value::Null, serde_json::json!([])] {
            let errs =
                push_errors(&serde_json::json!({"IsOpen24Hours": false, "OpeningTimes": missing}));
            assert_eq!(sorted_paths(&errs), [format!("{R0}.OpeningTimes")]);
        }
    }

    #[test]
    fn power_accepts_decimals_within_0_to_999() {
        for (power, written) in [
            ("3.7", "3.7"),
            ("22.0", "22"),
            ("0", "0"),
            ("999", "999"),
            ("\"11\"", "11"),
        ] {
            let json = format!(r#"{{"PowerType":"AC_1_PHASE","Power":{power}}}"#);
            let f = parse_facility(&json).unwrap();
            assert_eq!(serde_json::to_string(&f.power).unwrap(), written);
        }
        let errs = push_errors(
            &serde_json::json!({"ChargingFacilities": [{"PowerType": "DC", "Power": 1000}]}),
        );
        assert_eq!(
            sorted_paths(&errs),
            [format!("{R0}.ChargingFacilities[0].Power")]
        );
        assert!(errs[0].message.contains("0..=999"), "{errs:?}");
        let negative = push_errors(
            &serde_json::json!({"ChargingFacilities": [{"PowerType": "DC", "Power": -1}]}),
        );
        assert_eq!(
            sorted_paths(&negative),
            [format!("{R0}.ChargingFacilities[0].Power")]
        );
    }

    fn parse_facility(json: &str) -> Result<ChargingFacility, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn facility_ranges() {
        assert!(
            parse_facility(r#"{"PowerType":"DC","Power":350,"Voltage":1000,"Amperage":500}"#)
                .is_err()
        );
        let f = parse_facility(r#"{"PowerType":"DC","Power":350,"Voltage":400,"Amperage":500,"ChargingModes":["Mode_4"]}"#)
            .unwrap();
        assert_eq!(f.amperage.map(Int::get), Some(500));
        let errs = push_errors(
            &serde_json::json!({"ChargingFacilities": [{"PowerType": "DC", "Power": 50, "Amperage": 10_000}]}),
        );
        assert_eq!(
            sorted_paths(&errs),
            [format!("{R0}.ChargingFacilities[0].Amperage")]
        );
        let errs = push_errors(
            &serde_json::json!({"EnergySource": [{"Energy": "Solar", "Percentage": 101}]}),
        );
        assert_eq!(
            sorted_paths(&errs),
            [format!("{R0}.EnergySource[0].Percentage")]
        );
    }

    #[test]
    fn push_refuses_duplicate_evse_ids_with_018() {
        let records = [
            record(&serde_json::json!({})),
            record(&serde_json::json!({"EvseID": "DE*GEF*E0001*2"})),
            record(&serde_json::json!({"EvseID": "DEGEFE00011"})),
        ];
        let errs = parse::<PushEvseData>(&push(&records)).unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            ["$.OperatorEvseData.EvseDataRecord[2].EvseID"]
        );
        assert_eq!(errs[0].code, Code::InconsistentEvseId);
    }

    #[test]
    fn list_members_must_not_be_empty() {
        let errs = push_errors(
            &serde_json::json!({"Plugs": [], "ChargingStationNames": [], "ValueAddedServices": []}),
        );
        let expected: Vec<String> = ["ChargingStationNames", "Plugs", "ValueAddedServices"]
            .iter()
            .map(|k| format!("{R0}.{k}"))
            .collect();
        assert_eq!(sorted_paths(&errs), expected);
    }

    #[test]
    fn enum_strings_and_dynamic_info_as_string() {
        let errs = push_errors(
            &serde_json::json!({"DynamicInfoAvailable": true, "Plugs": ["Unspecified"]}),
        );
        let expected: Vec<String> = ["DynamicInfoAvailable", "Plugs[0]"]
            .iter()
            .map(|k| format!("{R0}.{k}"))
            .collect();
        assert_eq!(sorted_paths(&errs), expected);
        assert_eq!(Plug::ALL.len(), 18);
        assert_eq!(
            Plug::from_wire("CCS Combo 2 Plug (Cable Attached)"),
            Plug::CcsCombo2PlugCableAttached
        );
    }

    #[test]
    fn charging_station_id_spellings() {
        for key in ["ChargingStationID", "ChargingStationId"] {
            let p =
                parse::<PushEvseData>(&push(&[record(&serde_json::json!({ key: "Station 7" }))]))
                    .unwrap();
            let r = &p.operator_evse_data.evse_data_record[0];
            assert_eq!(
                r.charging_station_id.as_ref().map(Text::as_str),
                Some("Station 7")
            );
            let written = serde_json::to_value(r).unwrap();
            assert_eq!(written["ChargingStationID"], "Station 7");
            assert!(written.get("ChargingStationId").is_none());
        }
    }

    #[test]
    fn hbs_page_with_migrated_record_and_nulls() {
        let migrated = record(&serde_json::json!({
            "OperatorId": "DE*GEF",
            "OperatorName": null,
            "RenewableEnergy": null,
            "CalibrationLawDataAvailability": null,
            "DynamicPowerLevel": null,
            "Accessibility": null,
            "PaymentOptions": null,
            "ChargingStationNames": [{"lang": null, "value": "Hof"}],
            "AdditionalInfo": [{"lang": "eng", "value": "Zufahrt über den Hof"}],
            "ChargingFacilities": [{"PowerType": "DC", "Power": 50.5, "ChargingModes": ["Mode_3"], "Voltage": null}],
            "deltaType": "update",
            "lastUpdate": "2021-08-24T13:15:24+00:00",
            "IsOpen24Hours": false,
            "OpeningTimes": null,
            "HubOperatorID": null
        }));
        let page = serde_json::json!({
            "content": [migrated],
            "pageable": {"sort": {"sorted": false, "unsorted": true, "empty": true}, "pageNumber": 0, "pageSize": 2000, "offset": 0, "paged": true, "unpaged": false},
            "number": 0, "size": 2000, "totalElements": 1, "totalPages": 1, "numberOfElements": 1,
            "first": true, "last": true, "empty": false, "StatusCode": null
        });
        let parsed = parse::<EvseDataPage>(&serde_json::to_vec(&page).unwrap()).unwrap();
        assert!(!parsed.has_more());
        assert!(parsed.extra.contains_key("pageable") && parsed.extra.contains_key("empty"));
        let r = &parsed.content[0];
        assert_eq!(r.operator_id.as_str(), "DE*GEF");
        assert!(
            r.renewable_energy.is_none()
                && r.operator_name.is_none()
                && r.payment_options.is_none()
        );
        assert_eq!(r.delta_type, Some(DeltaType::Update));
        let written = serde_json::to_value(r).unwrap();
        assert_eq!(written["OperatorID"], "DE*GEF");
        assert!(written.get("OperatorId").is_none() && written.get("RenewableEnergy").is_none());

        // The same record is not acceptable in a push.
        let (pushed, operator, _) = r.clone().into_parts();
        assert_eq!(operator.as_str(), "DE*GEF");
        let errs = Validator::run(&pushed);
        let mut paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "$.Accessibility",
                "$.CalibrationLawDataAvailability",
                "$.OpeningTimes",
                "$.PaymentOptions",
                "$.RenewableEnergy"
            ]
        );
    }

    #[test]
    fn page_counters_are_optional_and_steer_paging() {
        let bare = parse::<EvseDataPage>(br#"{"content":[]}"#).unwrap();
        assert!(!bare.has_more() && bare.next_page().is_none());
        let middle = parse::<EvseDataPage>(br#"{"content":[],"number":2,"totalPages":5}"#).unwrap();
        assert_eq!(middle.next_page(), Some(3));
        let not_last = parse::<EvseDataPage>(br#"{"content":[],"number":0,"last":false}"#).unwrap();
        assert_eq!(not_last.next_page(), Some(1));
        let errs = parse::<EvseDataPage>(br#"{"content":null,"number":-1}"#).unwrap_err();
        assert_eq!(sorted_paths(&errs), ["$.content", "$.number"]);
    }

    #[test]
    fn conversions_keep_every_member() {
        let p = parse::<PushEvseData>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvseData.request.json"
        ))
        .unwrap();
        let operator = p.operator_evse_data.clone();
        let pulled = operator.clone().into_pull_records();
        assert_eq!(pulled.len(), operator.evse_data_record.len());
        for (pull, original) in pulled.into_iter().zip(&operator.evse_data_record) {
            assert_eq!(pull.operator_name.as_ref(), Some(&operator.operator_name));
            let value = serde_json::to_value(&pull).unwrap();
            assert_eq!(value["OperatorID"], "DE*GEF");
            assert_eq!(&EvseDataRecord::from(pull), original);
        }
        let built = PullEvseDataRecord::new(
            operator.evse_data_record[0].clone(),
            operator.operator_id.clone(),
            None,
        );
        assert!(built.operator_name.is_none() && built.extra.is_empty());
    }

    fn pull(extra: &serde_json::Value) -> Vec<u8> {
        let mut body = serde_json::json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "DecimalDegree"});
        if let (Some(target), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_vec(&body).unwrap()
    }

    #[test]
    fn last_call_is_not_combined_with_filters() {
        let center = serde_json::json!({"GeoCoordinates": {"Google": {"Coordinates": "52.480495 13.356465"}}, "Radius": 10});
        assert!(
            parse::<PullEvseData>(&pull(
                &serde_json::json!({"LastCall": "2024-05-01T03:00:00+02:00"})
            ))
            .is_ok()
        );
        assert!(
            parse::<PullEvseData>(&pull(
                &serde_json::json!({"SearchCenter": center, "CountryCodes": ["DEU"]})
            ))
            .is_ok()
        );
        let lenient = serde_json::json!({"LastCall": "2024-05-01T03:00:00Z", "CountryCodes": [], "OperatorIds": null, "SearchCenter": null,
            "IsOpen24Hours": true, "AuthenticationModes": ["REMOTE"]});
        assert!(parse::<PullEvseData>(&pull(&lenient)).is_ok());
        let bad = serde_json::json!({"LastCall": "2024-05-01T03:00:00Z", "SearchCenter": center, "CountryCodes": ["DEU"], "OperatorIds": ["DE*GEF"]});
        let errs = parse::<PullEvseData>(&pull(&bad)).unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            ["$.CountryCodes", "$.OperatorIds", "$.SearchCenter"]
        );
    }

    #[test]
    fn pull_checks_search_center_and_format() {
        let far = serde_json::json!({"SearchCenter": {"GeoCoordinates": {"Google": {"Coordinates": "52.480495 13.356465"}}, "Radius": 12.25}});
        let errs = parse::<PullEvseData>(&pull(&far)).unwrap_err();
        assert_eq!(sorted_paths(&errs), ["$.SearchCenter.Radius"]);
        let errs = parse::<PullEvseData>(
            br#"{"ProviderID":"DE-GDF","GeoCoordinatesResponseFormat":null}"#,
        )
        .unwrap_err();
        assert_eq!(sorted_paths(&errs), ["$.GeoCoordinatesResponseFormat"]);
        let errs = parse::<PullEvseData>(&pull(
            &serde_json::json!({"LastCall": "2024-05-01T03:00:00"}),
        ))
        .unwrap_err();
        assert_eq!(sorted_paths(&errs), ["$.LastCall"]);
    }
}

#[cfg(test)]
mod address_tests {
    use super::super::wire::parse;
    use super::*;

    #[test]
    fn a_push_needs_postal_code_and_house_number_a_pull_does_not() {
        let fixture =
            include_bytes!("../../../tests/fixtures/oicp/valid/PushEvseData.request.json");
        let mut push: serde_json::Value = serde_json::from_slice(fixture).unwrap();
        let address = &mut push["OperatorEvseData"]["EvseDataRecord"][0]["Address"];
        address["PostalCode"] = serde_json::Value::Null;
        address.as_object_mut().unwrap().remove("HouseNum");
        let errors = parse::<PushEvseData>(&serde_json::to_vec(&push).unwrap()).unwrap_err();
        let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "$.OperatorEvseData.EvseDataRecord[0].Address.HouseNum",
                "$.OperatorEvseData.EvseDataRecord[0].Address.PostalCode"
            ]
        );
        let record = push["OperatorEvseData"]["EvseDataRecord"][0].clone();
        let pulled: PullEvseDataRecord = serde_json::from_value(serde_json::json!(
            record
                .as_object()
                .unwrap()
                .clone()
                .into_iter()
                .chain([
                    ("OperatorID".to_owned(), serde_json::json!("DE*GEF")),
                    ("OperatorName".to_owned(), serde_json::json!("GEF")),
                ])
                .collect::<serde_json::Map<_, _>>()
        ))
        .unwrap();
        assert!(pulled.address.postal_code.is_none());
    }
}
