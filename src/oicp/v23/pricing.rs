//! eRoamingDynamicPricing 1.0 (oicp-2.3.md §2.3 "Pricing", §3.6, §4.3): pricing products
//! (`PushPricingProductData`, `PullPricingProductData`) and their assignment to EVSEs
//! (`PushEVSEPricing`, `PullEVSEPricing`).
//!
//! Errata handled here (oicp-2.3.md §8), every spelling read, the first one written:
//! * E8: `ProductAvailabilityTimes.Periods` (S2/S3) is also read as `Period` (S1's table).
//! * E12: the list of `eRoamingPricingProductData` is `PricingProductData`, also read as
//!   `OperatorPricingProducts` (S1/S2 until 2024/2025).
//! * E13: the list of `eRoamingEVSEPricing` is `EVSEPricing`, also read as
//!   `OperatorEVSEPricing` (S1's table).
//!
//! Prices are net of VAT (S1 best practice); nothing here can check that.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::common::{ActionType, Day, Period};
use super::ids::{EvseId, OperatorId, ProductId, ProviderId, ProviderIdOrAll};
use super::scalars::{DateTime, Decimal, Text};
use super::status::{Code, StatusCode};
use super::validate::{Validate, Validator};
use crate::{wire_enum, wire_struct};

// ---------------------------------------------------------------------------------------------
// Enumerations and the currency

wire_enum! {
    /// `ReferenceUnit` (oicp-2.3.md §4.3): the unit a price is given per.
    pub enum ReferenceUnit {
        /// Per hour of charging.
        Hour = "HOUR",
        /// Per kWh of energy.
        KilowattHour = "KILOWATT_HOUR",
        /// Per minute of charging.
        Minute = "MINUTE",
    }
}

wire_enum! {
    /// `AdditionalReference` (oicp-2.3.md §4.3): a fee on top of the product price.
    pub enum AdditionalReference {
        /// Charged once when the session starts.
        StartFee = "START FEE",
        /// A fixed amount per session.
        FixedFee = "FIXED FEE",
        /// Parking, usually per time unit.
        ParkingFee = "PARKING FEE",
        /// The session costs at least this much.
        MinimumFee = "MINIMUM FEE",
        /// The session costs at most this much.
        MaximumFee = "MAXIMUM FEE",
    }
}

/// `CurrencyID` (oicp-2.3.md §4.3): an ISO 4217 alphabetic code, exactly three upper-case ASCII
/// letters (`EUR`, `CHF`), or `UNDEFINED`, which the HBS model (S3) lists besides the ISO codes.
///
/// Any three upper-case letters are accepted: the list of ISO codes changes over time, and a
/// node that forwards prices must not reject a currency it does not know yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);

impl Currency {
    /// The value S3 lists besides the ISO codes.
    pub const UNDEFINED: &'static str = "UNDEFINED";

    /// Checks the code.
    pub fn parse(s: &str) -> Result<Self, String> {
        let iso = s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase());
        if iso || s == Self::UNDEFINED {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "'{s}' is not an ISO 4217 currency code (expected three upper-case letters such as EUR, or UNDEFINED)"
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `UNDEFINED`.
    pub fn is_undefined(&self) -> bool {
        self.0 == Self::UNDEFINED
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Currency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 4217 currency code string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Currency, E> {
                Currency::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared rule helpers

/// Reports `key` when `value` is below zero (prices and power are amounts, never negative).
fn check_non_negative(v: &mut Validator, key: &str, value: Decimal) {
    if value.value() < rust_decimal::Decimal::ZERO {
        v.error_at(
            key,
            format!("{key} is {value}; it must be zero or positive"),
        );
    }
}

/// For every key equal to an earlier one: `(its index, the earlier one's index)`, where the
/// index is the one paired with the key. The ID types hash and compare format-insensitively
/// (`DE*GEF*E0001*1` equals `DEGEFE00011`), so this finds those duplicates too.
fn find_duplicates<K: Hash + Eq>(
    keys: impl IntoIterator<Item = (usize, K)>,
) -> Vec<(usize, usize)> {
    let mut first: HashMap<K, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, key) in keys {
        match first.entry(key) {
            Entry::Occupied(e) => out.push((i, *e.get())),
            Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Pricing products

wire_struct! {
    /// `ProductAvailabilityTimes` (oicp-2.3.md §3.6): when a pricing product applies.
    ///
    /// E8: the list is written `Periods` (S2, S3, the examples) and also read as `Period`
    /// (S1's table). The day is read as `on` and, like `OpeningTimes`, as `On`.
    pub struct ProductAvailabilityTimes {
        /// The periods of the day, at least one; `end` may be `24:00`.
        nelist "Periods" | "Period" => periods: Period,
        /// The day or group of days.
        req "on" | "On" => on: Day,
    }
}

impl Validate for ProductAvailabilityTimes {
    /// A period must not be empty: `begin` and `end` must differ. `end` before `begin` is a
    /// period across midnight and allowed; `00:00`–`24:00` is the whole day.
    fn validate(&self, v: &mut Validator) {
        v.at("Periods", |v| {
            for (i, p) in self.periods.iter().enumerate() {
                if p.begin.minutes() == p.end.minutes() {
                    v.at_index(i, |v| {
                        v.error(format!(
                            "period begins and ends at {}; begin and end must differ (use 00:00 to 24:00 for the whole day)",
                            p.begin
                        ));
                    });
                }
            }
        });
    }
}

wire_struct! {
    /// `AdditionalReferences` (oicp-2.3.md §3.6): a fee of a pricing product beyond its price
    /// per reference unit.
    pub struct AdditionalReferences {
        /// The kind of fee.
        req "AdditionalReference" => additional_reference: AdditionalReference,
        /// The unit the fee is per.
        req "AdditionalReferenceUnit" => additional_reference_unit: ReferenceUnit,
        /// The fee per unit, net of VAT, in the product's currency.
        req "PricePerAdditionalReferenceUnit" => price_per_additional_reference_unit: Decimal,
    }
}

impl Validate for AdditionalReferences {
    fn validate(&self, v: &mut Validator) {
        check_non_negative(
            v,
            "PricePerAdditionalReferenceUnit",
            self.price_per_additional_reference_unit,
        );
    }
}

wire_struct! {
    /// `PricingProductDataRecord` (oicp-2.3.md §3.6): one pricing product of an operator.
    pub struct PricingProductDataRecord {
        /// The product, referenced by `EvseIDProductList` and by `PartnerProductID` in
        /// sessions and CDRs.
        req "ProductID" => product_id: ProductId,
        /// The unit `PricePerReferenceUnit` is per.
        req "ReferenceUnit" => reference_unit: ReferenceUnit,
        /// Currency of the product's prices.
        req "ProductPriceCurrency" => product_price_currency: Currency,
        /// Price per reference unit, net of VAT.
        req "PricePerReferenceUnit" => price_per_reference_unit: Decimal,
        /// Maximum charging power of the product in kW (S1 writes "kWh", meaning kW).
        req "MaximumProductChargingPower" => maximum_product_charging_power: Decimal,
        /// Whether the product applies around the clock (note the lower-case `h`).
        req "IsValid24hours" => is_valid_24hours: bool,
        /// When the product applies; must not be empty when `IsValid24hours` is false.
        list "ProductAvailabilityTimes" => product_availability_times: ProductAvailabilityTimes,
        /// Fees beyond the price per reference unit.
        optlist "AdditionalReferences" => additional_references: AdditionalReferences,
    }
}

impl Validate for PricingProductDataRecord {
    fn validate(&self, v: &mut Validator) {
        check_non_negative(v, "PricePerReferenceUnit", self.price_per_reference_unit);
        check_non_negative(
            v,
            "MaximumProductChargingPower",
            self.maximum_product_charging_power,
        );
        if !self.is_valid_24hours && self.product_availability_times.is_empty() {
            v.error_at(
                "ProductAvailabilityTimes",
                "IsValid24hours is false, so ProductAvailabilityTimes must list when the product applies",
            );
        }
        v.each("ProductAvailabilityTimes", &self.product_availability_times);
        if let Some(refs) = &self.additional_references {
            v.each("AdditionalReferences", refs);
        }
    }
}

wire_struct! {
    /// `PricingProductDataType` (oicp-2.3.md §3.6): the pricing products an operator offers
    /// one EMP, or every EMP (`ProviderID` `"*"`).
    pub struct PricingProductData {
        /// The operator (the hub operator, oicp-2.3.md §1).
        req "OperatorID" => operator_id: OperatorId,
        /// The operator's name (at most 100 characters).
        opt "OperatorName" => operator_name: Text<100>,
        /// The EMP the offer is for, or `"*"` for all.
        req "ProviderID" => provider_id: ProviderIdOrAll,
        /// Price that applies when no product matches, net of VAT.
        req "PricingDefaultPrice" => pricing_default_price: Decimal,
        /// Currency of the default price.
        req "PricingDefaultPriceCurrency" => pricing_default_price_currency: Currency,
        /// Unit of the default price.
        req "PricingDefaultReferenceUnit" => pricing_default_reference_unit: ReferenceUnit,
        /// The products; `ProductID`s are unique within the list.
        list "PricingProductDataRecords" => pricing_product_data_records: PricingProductDataRecord,
    }
}

impl Validate for PricingProductData {
    fn validate(&self, v: &mut Validator) {
        check_non_negative(v, "PricingDefaultPrice", self.pricing_default_price);
        let records = &self.pricing_product_data_records;
        v.each("PricingProductDataRecords", records);
        let dups = find_duplicates(records.iter().map(|r| &r.product_id).enumerate());
        v.at("PricingProductDataRecords", |v| {
            for (i, first) in dups {
                v.at_index(i, |v| {
                    v.error_at(
                        "ProductID",
                        format!(
                            "ProductID '{}' is already defined in PricingProductDataRecords[{first}]; each product may appear once",
                            records[i].product_id.as_str()
                        ),
                    );
                });
            }
        });
    }
}

wire_struct! {
    /// `eRoamingPushPricingProductData` (oicp-2.3.md §3.6): a CPO pushes its pricing products.
    pub struct PushPricingProductData {
        /// How the pushed set relates to the stored one.
        req "ActionType" => action_type: ActionType,
        /// The products.
        req "PricingProductData" => pricing_product_data: PricingProductData,
    }
}

impl Validate for PushPricingProductData {
    fn validate(&self, v: &mut Validator) {
        v.nested("PricingProductData", &self.pricing_product_data);
    }
}

wire_struct! {
    /// `eRoamingPullPricingProductData` (oicp-2.3.md §3.6): an EMP pulls the pricing products
    /// offered to it. The `ProviderID` is only in the path.
    pub struct PullPricingProductData {
        /// Only products changed since this instant (delta pull).
        opt "LastCall" => last_call: DateTime,
        /// The operators whose products are wanted, at least one.
        nelist "OperatorIDs" => operator_ids: OperatorId,
    }
}

impl Validate for PullPricingProductData {
    fn validate(&self, _: &mut Validator) {}
}

wire_struct! {
    /// `eRoamingPricingProductData` (oicp-2.3.md §3.6): the answer to
    /// [`PullPricingProductData`].
    ///
    /// E12: the list is written `PricingProductData` and also read as
    /// `OperatorPricingProducts`.
    pub struct PricingProductDataResponse {
        /// One entry per operator and offer.
        list "PricingProductData" | "OperatorPricingProducts" => pricing_product_data: PricingProductData,
        /// Outcome (optional in S1, required in S3).
        opt "StatusCode" => status_code: StatusCode,
    }
}

impl Validate for PricingProductDataResponse {
    fn validate(&self, v: &mut Validator) {
        v.each("PricingProductData", &self.pricing_product_data);
    }
}

// ---------------------------------------------------------------------------------------------
// EVSE pricing

wire_struct! {
    /// `EVSEPricing` (oicp-2.3.md §3.6): which products apply at one EVSE for one EMP, or for
    /// every EMP (`ProviderID` `"*"`).
    pub struct EvsePricing {
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// The EMP, or `"*"` for all.
        req "ProviderID" => provider_id: ProviderIdOrAll,
        /// The products (`ProductID`s of the operator's pricing products), at least one.
        nelist "EvseIDProductList" => evse_id_product_list: ProductId,
    }
}

impl Validate for EvsePricing {
    fn validate(&self, _: &mut Validator) {}
}

/// Reports every `(EvseID, ProviderID)` pair of `list` (at `key`) that repeats an earlier one,
/// with code 018 (oicp-2.3.md §6.1 names 018 for a duplicate `EvseID` in a body).
fn check_unique_evse_pricing(v: &mut Validator, key: &str, list: &[EvsePricing]) {
    let dups = find_duplicates(
        list.iter()
            .map(|p| (&p.evse_id, &p.provider_id))
            .enumerate(),
    );
    v.at(key, |v| {
        for (i, first) in dups {
            v.at_index(i, |v| {
                v.at("EvseID", |v| {
                    v.error_with(
                        Code::InconsistentEvseId,
                        format!(
                            "EvseID {} with ProviderID {} is already priced in {key}[{first}]; each (EvseID, ProviderID) pair may appear once",
                            list[i].evse_id.as_str(),
                            list[i].provider_id.as_str()
                        ),
                    );
                });
            });
        }
    });
}

wire_struct! {
    /// `eRoamingPushEVSEPricing` (oicp-2.3.md §3.6): a CPO assigns products to its EVSEs.
    pub struct PushEvsePricing {
        /// How the pushed set relates to the stored one.
        req "ActionType" => action_type: ActionType,
        /// The assignments, at least one; an (`EvseID`, `ProviderID`) pair at most once.
        nelist "EVSEPricing" => evse_pricing: EvsePricing,
    }
}

impl Validate for PushEvsePricing {
    fn validate(&self, v: &mut Validator) {
        v.each("EVSEPricing", &self.evse_pricing);
        check_unique_evse_pricing(v, "EVSEPricing", &self.evse_pricing);
    }
}

wire_struct! {
    /// `eRoamingPullEVSEPricing` (oicp-2.3.md §3.6): an EMP pulls the product assignments
    /// of EVSEs.
    pub struct PullEvsePricing {
        /// The EMP pulling (also in the path).
        req "ProviderID" => provider_id: ProviderId,
        /// Only assignments changed since this instant (delta pull).
        opt "LastCall" => last_call: DateTime,
        /// The operators whose assignments are wanted, at least one.
        nelist "OperatorIDs" => operator_ids: OperatorId,
    }
}

impl Validate for PullEvsePricing {
    fn validate(&self, _: &mut Validator) {}
}

wire_struct! {
    /// `OperatorEVSEPricing` (oicp-2.3.md §3.6): the product assignments of one operator in
    /// an [`EvsePricingResponse`].
    pub struct OperatorEvsePricing {
        /// The operator.
        req "OperatorID" => operator_id: OperatorId,
        /// The operator's name (at most 100 characters).
        opt "OperatorName" => operator_name: Text<100>,
        /// The assignments; an (`EvseID`, `ProviderID`) pair at most once.
        list "EVSEPricing" => evse_pricing: EvsePricing,
    }
}

impl Validate for OperatorEvsePricing {
    fn validate(&self, v: &mut Validator) {
        v.each("EVSEPricing", &self.evse_pricing);
        check_unique_evse_pricing(v, "EVSEPricing", &self.evse_pricing);
    }
}

wire_struct! {
    /// `eRoamingEVSEPricing` (oicp-2.3.md §3.6): the answer to [`PullEvsePricing`].
    ///
    /// E13: the list is written `EVSEPricing` (S2, S3, the examples) and also read as
    /// `OperatorEVSEPricing` (S1's table).
    pub struct EvsePricingResponse {
        /// One entry per operator.
        list "EVSEPricing" | "OperatorEVSEPricing" => evse_pricing: OperatorEvsePricing,
        /// Outcome.
        opt "StatusCode" => status_code: StatusCode,
    }
}

impl Validate for EvsePricingResponse {
    fn validate(&self, v: &mut Validator) {
        v.each("EVSEPricing", &self.evse_pricing);
    }
}

#[cfg(test)]
mod tests {
    use super::super::acknowledgement::Acknowledgement;
    use super::super::validate::ValidationError;
    use super::super::wire::parse;
    use super::*;

    fn paths(errs: &[ValidationError]) -> Vec<&str> {
        let mut p: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        p.sort_unstable();
        p
    }

    fn round_trip<T>(bytes: &[u8])
    where
        T: de::DeserializeOwned + Serialize + Validate,
    {
        let parsed = parse::<T>(bytes).unwrap_or_else(|e| panic!("{e:#?}"));
        let expected: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), expected);
    }

    const RECORD: &str = r#"{"ProductID":"AC1","ReferenceUnit":"KILOWATT_HOUR","ProductPriceCurrency":"EUR",
        "PricePerReferenceUnit":0.39,"MaximumProductChargingPower":22,"IsValid24hours":true,
        "ProductAvailabilityTimes":[]}"#;

    fn product_data(records: &str) -> String {
        format!(
            r#"{{"ActionType":"fullLoad","PricingProductData":{{"OperatorID":"DE*GEF","ProviderID":"*",
            "PricingDefaultPrice":0.45,"PricingDefaultPriceCurrency":"EUR","PricingDefaultReferenceUnit":"KILOWATT_HOUR",
            "PricingProductDataRecords":[{records}]}}}}"#
        )
    }

    #[test]
    fn fixtures_parse_and_round_trip() {
        round_trip::<PushPricingProductData>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushPricingProductData.request.json"
        ));
        round_trip::<Acknowledgement>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushPricingProductData.response.json"
        ));
        round_trip::<PushEvsePricing>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvsePricing.request.json"
        ));
        round_trip::<Acknowledgement>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvsePricing.response.json"
        ));
        round_trip::<PullPricingProductData>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullPricingProductData.request.json"
        ));
        round_trip::<PricingProductDataResponse>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullPricingProductData.response.json"
        ));
        round_trip::<PullEvsePricing>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvsePricing.request.json"
        ));
        round_trip::<EvsePricingResponse>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvsePricing.response.json"
        ));
    }

    #[test]
    fn currency() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        assert!(Currency::parse("UNDEFINED").unwrap().is_undefined());
        for bad in ["eur", "EU", "EURO", "E1R", "", "€"] {
            let err = Currency::parse(bad).unwrap_err();
            assert!(err.contains("ISO 4217"), "{err}");
        }
        let json = product_data(RECORD).replace(
            r#""PricingDefaultPriceCurrency":"EUR""#,
            r#""PricingDefaultPriceCurrency":"eur""#,
        );
        let errs = parse::<PushPricingProductData>(json.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData.PricingDefaultPriceCurrency"],
            "{errs:?}"
        );
        assert!(errs[0].message.contains("three upper-case letters"));
    }

    #[test]
    fn enums_are_exact() {
        assert_eq!(
            ReferenceUnit::ALL
                .iter()
                .map(ReferenceUnit::as_str)
                .collect::<Vec<_>>(),
            ["HOUR", "KILOWATT_HOUR", "MINUTE"]
        );
        assert_eq!(
            AdditionalReference::from_wire("PARKING FEE"),
            AdditionalReference::ParkingFee
        );
        let json = product_data(RECORD).replace(
            r#""ReferenceUnit":"KILOWATT_HOUR""#,
            r#""ReferenceUnit":"kWh""#,
        );
        let errs = parse::<PushPricingProductData>(json.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData.PricingProductDataRecords[0].ReferenceUnit"],
            "{errs:?}"
        );
    }

    #[test]
    fn negative_prices_and_power_are_refused() {
        let ok = product_data(RECORD);
        parse::<PushPricingProductData>(ok.as_bytes()).unwrap();
        let zero = ok.replace("0.39", "0").replace(
            r#""PricingDefaultPrice":0.45"#,
            r#""PricingDefaultPrice":0"#,
        );
        parse::<PushPricingProductData>(zero.as_bytes()).unwrap();
        let bad = ok
            .replace("0.39", "-0.39")
            .replace(
                r#""PricingDefaultPrice":0.45"#,
                r#""PricingDefaultPrice":"-1""#,
            )
            .replace(
                r#""MaximumProductChargingPower":22"#,
                r#""MaximumProductChargingPower":-22"#,
            );
        let errs = parse::<PushPricingProductData>(bad.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.PricingProductData.PricingDefaultPrice",
                "$.PricingProductData.PricingProductDataRecords[0].MaximumProductChargingPower",
                "$.PricingProductData.PricingProductDataRecords[0].PricePerReferenceUnit",
            ],
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .all(|e| e.code == Code::DataError && e.message.contains("zero or positive"))
        );
    }

    #[test]
    fn negative_additional_fee_is_refused() {
        let fee = |p: &str| {
            product_data(&RECORD.replace(
                r#""ProductAvailabilityTimes":[]"#,
                &format!(
                    r#""ProductAvailabilityTimes":[],"AdditionalReferences":[{{"AdditionalReference":"START FEE","AdditionalReferenceUnit":"HOUR","PricePerAdditionalReferenceUnit":{p}}}]"#
                ),
            ))
        };
        parse::<PushPricingProductData>(fee("1.5").as_bytes()).unwrap();
        let errs = parse::<PushPricingProductData>(fee("-1.5").as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.PricingProductData.PricingProductDataRecords[0].AdditionalReferences[0].PricePerAdditionalReferenceUnit"
            ],
            "{errs:?}"
        );
    }

    #[test]
    fn not_valid_24_hours_needs_availability_times() {
        let restricted = RECORD.replace("true", "false");
        let errs =
            parse::<PushPricingProductData>(product_data(&restricted).as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData.PricingProductDataRecords[0].ProductAvailabilityTimes"],
            "{errs:?}"
        );
        let with_times = restricted.replace(
            r#""ProductAvailabilityTimes":[]"#,
            r#""ProductAvailabilityTimes":[{"Periods":[{"begin":"08:00","end":"20:00"}],"on":"Workdays"}]"#,
        );
        parse::<PushPricingProductData>(product_data(&with_times).as_bytes()).unwrap();
    }

    #[test]
    fn periods_must_not_be_empty() {
        let with = |begin: &str, end: &str| {
            product_data(&RECORD.replace(
                r#""ProductAvailabilityTimes":[]"#,
                &format!(
                    r#""ProductAvailabilityTimes":[{{"Periods":[{{"begin":"06:00","end":"07:00"}},{{"begin":"{begin}","end":"{end}"}}],"on":"Monday"}}]"#
                ),
            ))
        };
        for (b, e) in [("00:00", "24:00"), ("22:00", "06:00"), ("09:00", "18:00")] {
            parse::<PushPricingProductData>(with(b, e).as_bytes())
                .unwrap_or_else(|err| panic!("{b}-{e}: {err:?}"));
        }
        let errs = parse::<PushPricingProductData>(with("09:00", "09:00").as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "$.PricingProductData.PricingProductDataRecords[0].ProductAvailabilityTimes[0].Periods[1]"
            ],
            "{errs:?}"
        );
        assert!(errs[0].message.contains("must differ"));
        let bad_time =
            parse::<PushPricingProductData>(with("09:00", "24:30").as_bytes()).unwrap_err();
        assert_eq!(
            paths(&bad_time),
            [
                "$.PricingProductData.PricingProductDataRecords[0].ProductAvailabilityTimes[0].Periods[1].end"
            ],
            "{bad_time:?}"
        );
    }

    #[test]
    fn product_ids_are_unique() {
        let dc = RECORD.replace(r#""ProductID":"AC1""#, r#""ProductID":"DC""#);
        let ok = format!("{RECORD},{dc}");
        parse::<PushPricingProductData>(product_data(&ok).as_bytes()).unwrap();
        let twice = format!("{RECORD},{dc},{RECORD}");
        let errs = parse::<PushPricingProductData>(product_data(&twice).as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData.PricingProductDataRecords[2].ProductID"],
            "{errs:?}"
        );
        assert!(
            errs[0].message.contains("PricingProductDataRecords[0]"),
            "{errs:?}"
        );
    }

    #[test]
    fn period_alias_and_nulls() {
        let json = product_data(&RECORD.replace(
            r#""ProductAvailabilityTimes":[]"#,
            r#""ProductAvailabilityTimes":[{"Period":[{"begin":"09:00","end":"18:00"}],"On":"Weekend"}],"AdditionalReferences":null"#,
        ))
        .replace(r#""OperatorID":"DE*GEF","#, r#""OperatorID":"DE*GEF","OperatorName":null,"#);
        let parsed = parse::<PushPricingProductData>(json.as_bytes()).unwrap();
        let data = &parsed.pricing_product_data;
        assert_eq!(data.operator_name, None);
        assert_eq!(data.provider_id, ProviderIdOrAll::All);
        let record = &data.pricing_product_data_records[0];
        assert_eq!(record.additional_references, None);
        assert_eq!(record.product_availability_times[0].on, Day::Weekend);
        let written = serde_json::to_value(&parsed).unwrap();
        let times = &written["PricingProductData"]["PricingProductDataRecords"][0]["ProductAvailabilityTimes"]
            [0];
        assert!(
            times.get("Periods").is_some() && times.get("on").is_some(),
            "{times}"
        );
        assert!(written["PricingProductData"].get("OperatorName").is_none());
        // A mandatory member sent as null is missing.
        let null_price = json.replace(
            r#""PricingDefaultPrice":0.45"#,
            r#""PricingDefaultPrice":null"#,
        );
        let errs = parse::<PushPricingProductData>(null_price.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData.PricingDefaultPrice"],
            "{errs:?}"
        );
    }

    #[test]
    fn pricing_product_data_response_reads_both_list_names() {
        let body = |key: &str| {
            format!(
                r#"{{"{key}":[{{"OperatorID":"DE*GEF","ProviderID":"DE-GDF","PricingDefaultPrice":0.5,
                "PricingDefaultPriceCurrency":"EUR","PricingDefaultReferenceUnit":"HOUR","PricingProductDataRecords":[{RECORD}]}}],
                "StatusCode":null}}"#
            )
        };
        let new =
            parse::<PricingProductDataResponse>(body("PricingProductData").as_bytes()).unwrap();
        let old = parse::<PricingProductDataResponse>(body("OperatorPricingProducts").as_bytes())
            .unwrap();
        assert_eq!(new, old);
        assert_eq!(new.status_code, None);
        let written = serde_json::to_value(&old).unwrap();
        assert!(
            written.get("PricingProductData").is_some()
                && written.get("OperatorPricingProducts").is_none()
        );
        // Rules apply inside the response, with the written key in the path.
        let dup = body("OperatorPricingProducts")
            .replace(&format!("[{RECORD}]"), &format!("[{RECORD},{RECORD}]"));
        let errs = parse::<PricingProductDataResponse>(dup.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData[0].PricingProductDataRecords[1].ProductID"],
            "{errs:?}"
        );
    }

    const PRICING_A: &str =
        r#"{"EvseID":"DE*GEF*E0001*1","ProviderID":"*","EvseIDProductList":["AC1"]}"#;
    const PRICING_B: &str =
        r#"{"EvseID":"DE*GEF*E0001*1","ProviderID":"DE-GDF","EvseIDProductList":["AC1","DC"]}"#;
    const PRICING_C: &str =
        r#"{"EvseID":"DE*GEF*E0002*1","ProviderID":"*","EvseIDProductList":["AC1"]}"#;

    #[test]
    fn evse_pricing_pairs_are_unique() {
        let push = |items: &str| format!(r#"{{"ActionType":"update","EVSEPricing":[{items}]}}"#);
        parse::<PushEvsePricing>(push(&format!("{PRICING_A},{PRICING_B},{PRICING_C}")).as_bytes())
            .unwrap();
        let errs = parse::<PushEvsePricing>(
            push(&format!("{PRICING_A},{PRICING_B},{PRICING_C},{PRICING_B}")).as_bytes(),
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.EVSEPricing[3].EvseID"], "{errs:?}");
        assert_eq!(errs[0].code, Code::InconsistentEvseId);
        assert!(errs[0].message.contains("EVSEPricing[1]"), "{errs:?}");
        let empty = parse::<PushEvsePricing>(push("").as_bytes()).unwrap_err();
        assert_eq!(paths(&empty), ["$.EVSEPricing"]);
        let no_products =
            push(r#"{"EvseID":"DE*GEF*E0001*1","ProviderID":"*","EvseIDProductList":[]}"#);
        let errs = parse::<PushEvsePricing>(no_products.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.EVSEPricing[0].EvseIDProductList"],
            "{errs:?}"
        );
    }

    #[test]
    fn evse_pricing_response_reads_both_list_names_and_checks_pairs() {
        let body = |key: &str, items: &str| {
            format!(
                r#"{{"{key}":[{{"OperatorID":"DE*GEF","OperatorName":"GEF Charging","EVSEPricing":[{items}]}}],
                "StatusCode":{{"Code":"000"}}}}"#
            )
        };
        let new = parse::<EvsePricingResponse>(body("EVSEPricing", PRICING_A).as_bytes()).unwrap();
        let old = parse::<EvsePricingResponse>(body("OperatorEVSEPricing", PRICING_A).as_bytes())
            .unwrap();
        assert_eq!(new, old);
        let written = serde_json::to_value(&old).unwrap();
        assert!(
            written.get("EVSEPricing").is_some() && written.get("OperatorEVSEPricing").is_none()
        );
        let dup = body("OperatorEVSEPricing", &format!("{PRICING_A},{PRICING_A}"));
        let errs = parse::<EvsePricingResponse>(dup.as_bytes()).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.EVSEPricing[0].EVSEPricing[1].EvseID"],
            "{errs:?}"
        );
    }

    #[test]
    fn pulls_need_operator_ids() {
        parse::<PullPricingProductData>(br#"{"OperatorIDs":["DE*GEF"],"LastCall":null}"#).unwrap();
        let errs = parse::<PullPricingProductData>(
            br#"{"OperatorIDs":[],"LastCall":"2024-05-01T10:00:00"}"#,
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["$.LastCall", "$.OperatorIDs"], "{errs:?}");
        parse::<PullEvsePricing>(br#"{"ProviderID":"DE-GDF","OperatorIDs":["DE*GEF"]}"#).unwrap();
        let errs = parse::<PullEvsePricing>(br#"{"ProviderID":"*","OperatorIDs":["DE*GEF"]}"#)
            .unwrap_err();
        assert_eq!(paths(&errs), ["$.ProviderID"], "{errs:?}");
    }

    #[test]
    fn duplicates_are_found_format_insensitively() {
        let spelled =
            r#"{"EvseID":"degefE00011","ProviderID":"DE*GDF","EvseIDProductList":["AC1"]}"#;
        let json = format!(r#"{{"ActionType":"update","EVSEPricing":[{PRICING_B},{spelled}]}}"#);
        let errs = parse::<PushEvsePricing>(json.as_bytes()).unwrap_err();
        assert_eq!(paths(&errs), ["$.EVSEPricing[1].EvseID"], "{errs:?}");
        assert_eq!(
            find_duplicates([(0, "a"), (3, "b"), (5, "a"), (7, "a")]),
            [(5, 0), (7, 0)]
        );
    }

    /// The published examples (oicp-examples, see its README) as leniency cases.
    #[test]
    fn corpus_examples() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/oicp-examples/");
        let read = |name: &str| std::fs::read(format!("{dir}{name}")).ok();
        let Some(push) = read("spec-asciidoc/PushPricingProductData.request.json") else {
            eprintln!("example corpus not found at {dir}; skipped");
            return;
        };
        // `Periods`, ProductID "AC 1": valid.
        parse::<PushPricingProductData>(&push).unwrap();
        let evse = read("spec-asciidoc/PushEvsePricing.request.json").unwrap();
        parse::<PushEvsePricing>(&evse).unwrap();
        let pull = read("spec-asciidoc/PullEvsePricing.response.json").unwrap();
        parse::<EvsePricingResponse>(&pull).unwrap();
        parse::<PullEvsePricing>(&read("spec-asciidoc/PullEvsePricing.request.json").unwrap())
            .unwrap();
        parse::<PullPricingProductData>(
            &read("spec-asciidoc/PullPricingProductData.request.json").unwrap(),
        )
        .unwrap();
        // The YAML→JSON conversion turned the key `on` into "true": `on` is missing.
        let yaml =
            read("openapi-yaml-examples/eRoamingPushPricingProductData.example.json").unwrap();
        let errs = parse::<PushPricingProductData>(&yaml).unwrap_err();
        assert_eq!(
            paths(&errs),
            ["$.PricingProductData.PricingProductDataRecords[0].ProductAvailabilityTimes[0].on"],
            "{errs:?}"
        );
    }
}
