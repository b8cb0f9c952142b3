//! OICP pricing products / EVSE pricing <-> OCPI Tariffs: fixture cases both ways
//! (`tests/fixtures/mapping/tariff/`), a property test that OICP -> OCPI -> OICP keeps every
//! representable field, and every Tariff example of the OCPI 2.2.1 corpus converted to OICP and
//! back with exactly the documented loss paths.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mapping_fixtures.rs"]
mod fixtures;

use fixtures::{
    LossTable, all_as_listed, check, ctx, examples, input, ocpi_examples, paths, paths_as_listed,
};
use proptest::prelude::*;
use roambridge::mapping::tariff::{
    TariffPolicy, evse_pricing_to_tariff_ids, locations_to_evse_pricing,
    pricing_product_data_to_tariffs, tariffs_ocpi_to_oicp, tariffs_oicp_to_ocpi,
    tariffs_to_pricing_product_data,
};
use roambridge::ocpi::v221::tariffs::Tariff;
use roambridge::ocpi::v221::{Validator, parse};
use roambridge::oicp::v23::ids::ProviderIdOrAll;
use roambridge::oicp::v23::pricing::{PricingProductData, PushEvsePricing};
use serde_json::{Value, json};

#[test]
fn oicp_products_to_tariffs() {
    let data: PricingProductData = input("tariff", "oicp_to_ocpi_products");
    let mapped = tariffs_oicp_to_ocpi(&data, &ctx()).unwrap();
    for t in &mapped.value {
        assert!(Validator::run(t).is_empty(), "{:?}", Validator::run(t));
    }
    check(
        "tariff",
        "oicp_to_ocpi_products",
        &mapped.value,
        &mapped.losses,
    );
}

#[test]
fn ocpi_tariffs_to_products() {
    let tariffs: Vec<Tariff> = input("tariff", "ocpi_to_oicp_tariffs");
    let mapped = tariffs_ocpi_to_oicp(&tariffs).unwrap();
    check(
        "tariff",
        "ocpi_to_oicp_tariffs",
        &mapped.value,
        &mapped.losses,
    );
}

#[test]
fn a_din_operator_and_an_empty_list_are_refused() {
    let mut v =
        fixtures::read(&fixtures::case_dir("tariff", "oicp_to_ocpi_products").join("input.json"));
    v["OperatorID"] = "+49*536".into();
    let data: PricingProductData = serde_json::from_value(v).unwrap();
    let err = tariffs_oicp_to_ocpi(&data, &ctx()).unwrap_err();
    assert_eq!(err.path, "OperatorID");
    assert!(err.reason.contains("DIN"), "{err}");
    assert_eq!(tariffs_ocpi_to_oicp(&[]).unwrap_err().path, "");
}

#[test]
fn vat_policy_is_stated_on_every_component() {
    let data: PricingProductData = input("tariff", "oicp_to_ocpi_products");
    let policy = TariffPolicy {
        vat: Some(roambridge::ocpi::v221::types::Number::from(19)),
        ..TariffPolicy::default()
    };
    let mapped = pricing_product_data_to_tariffs(&data, &policy, &ctx()).unwrap();
    assert_eq!(mapped.value.provider.as_str(), "DE-EMP");
    let comps: Vec<_> = mapped
        .value
        .tariffs
        .iter()
        .flat_map(|t| &t.elements)
        .flat_map(|e| &e.price_components)
        .collect();
    assert!(comps.len() > 5);
    assert!(
        comps
            .iter()
            .all(|c| c.vat == Some(roambridge::ocpi::v221::types::Number::from(19)))
    );
}

#[test]
fn evse_pricing_both_ways() {
    let push: PushEvsePricing = serde_json::from_value(json!({
        "ActionType": "fullLoad",
        "EVSEPricing": [
            {"EvseID": "de*rbg*E1", "ProviderID": "*", "EvseIDProductList": ["AC1", "Ladestrom Premium mit Ökostrom und Tagesrabatt"]}
        ]
    }))
    .unwrap();
    let mapped = evse_pricing_to_tariff_ids(&push.evse_pricing).unwrap();
    let e = &mapped.value[0];
    assert_eq!(e.evse_id.as_str(), "DE*RBG*E1");
    assert_eq!(e.tariff_ids[0].as_str(), "AC1");
    assert_eq!(e.tariff_ids[1].as_str().len(), 36);
    assert_eq!(
        paths(&mapped.losses),
        ["EVSEPricing[0].EvseIDProductList[1]"]
    );
    // Back: a Location whose connectors carry the ids.
    let location: roambridge::ocpi::v221::locations::Location = parse(
        &serde_json::to_vec(&json!({
            "country_code": "DE", "party_id": "RBG", "id": "L1", "publish": true,
            "address": "Street 1", "city": "Town", "country": "DEU",
            "coordinates": {"latitude": "52.000000", "longitude": "13.000000"},
            "time_zone": "Europe/Berlin", "last_updated": "2026-01-01T00:00:00Z",
            "evses": [
                {"uid": "E1", "evse_id": "DE*RBG*E1", "status": "AVAILABLE", "last_updated": "2026-01-01T00:00:00Z",
                 "connectors": [
                    {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                     "max_voltage": 230, "max_amperage": 16, "tariff_ids": ["AC1"], "last_updated": "2026-01-01T00:00:00Z"},
                    {"id": "2", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                     "max_voltage": 230, "max_amperage": 16, "tariff_ids": ["AC1", "AC3"], "last_updated": "2026-01-01T00:00:00Z"}]},
                {"uid": "E2", "status": "AVAILABLE", "last_updated": "2026-01-01T00:00:00Z",
                 "connectors": [
                    {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                     "max_voltage": 230, "max_amperage": 16, "tariff_ids": ["AC1"], "last_updated": "2026-01-01T00:00:00Z"}]}
            ]
        }))
        .unwrap(),
    )
    .unwrap();
    let back = locations_to_evse_pricing(&[location], &ProviderIdOrAll::All);
    assert_eq!(back.value.len(), 1);
    let ids: Vec<&str> = back.value[0]
        .evse_id_product_list
        .iter()
        .map(roambridge::oicp::v23::ids::ProductId::as_str)
        .collect();
    assert_eq!(ids, ["AC1", "AC3"]);
    assert_eq!(paths(&back.losses), ["[0].evses[1]"]);
}

// ---------------------------------------------------------------------------------------------
// Property: OICP -> OCPI -> OICP keeps every representable field.

fn unit() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("KILOWATT_HOUR"), Just("HOUR"), Just("MINUTE")]
}

fn price() -> impl Strategy<Value = Value> {
    (0u32..100_000).prop_map(|cents| json!(f64::from(cents) / 100.0))
}

fn availability() -> impl Strategy<Value = Value> {
    let days = [
        "Everyday",
        "Workdays",
        "Weekend",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    (proptest::sample::subsequence(days.to_vec(), 1..3), 0u8..23, 1u8..=24).prop_map(|(on, begin, len)| {
        let end = (u16::from(begin) + u16::from(len)).min(24);
        on.into_iter()
            .map(|d| json!({"Periods": [{"begin": format!("{begin:02}:00"), "end": format!("{end:02}:00")}], "on": d}))
            .collect::<Vec<_>>()
    }).prop_map(Value::Array)
}

fn record() -> impl Strategy<Value = Value> {
    (
        "[A-Z][A-Z0-9 ]{0,20}",
        unit(),
        price(),
        1u32..400,
        proptest::option::of(availability()),
        (proptest::option::of(price()), proptest::option::of((prop_oneof![Just("HOUR"), Just("MINUTE")], price())),
         proptest::option::of(price()), proptest::option::of(price())),
    )
        .prop_map(|(id, unit, price, power, times, (start, parking, min, max))| {
            let mut refs = Vec::new();
            if let Some(p) = start {
                refs.push(json!({"AdditionalReference": "START FEE", "AdditionalReferenceUnit": unit, "PricePerAdditionalReferenceUnit": p}));
            }
            if let Some((u, p)) = parking {
                refs.push(json!({"AdditionalReference": "PARKING FEE", "AdditionalReferenceUnit": u, "PricePerAdditionalReferenceUnit": p}));
            }
            if let Some(p) = min {
                refs.push(json!({"AdditionalReference": "MINIMUM FEE", "AdditionalReferenceUnit": unit, "PricePerAdditionalReferenceUnit": p}));
            }
            if let Some(p) = max {
                refs.push(json!({"AdditionalReference": "MAXIMUM FEE", "AdditionalReferenceUnit": unit, "PricePerAdditionalReferenceUnit": p}));
            }
            let mut r = json!({
                "ProductID": id.trim_end(), "ReferenceUnit": unit, "ProductPriceCurrency": "EUR",
                "PricePerReferenceUnit": price, "MaximumProductChargingPower": power,
                "IsValid24hours": times.is_none(), "ProductAvailabilityTimes": times.unwrap_or(json!([])),
            });
            if !refs.is_empty() {
                r["AdditionalReferences"] = Value::Array(refs);
            }
            r
        })
}

fn pricing() -> impl Strategy<Value = Value> {
    (
        unit(),
        price(),
        proptest::collection::vec(record(), 0..4),
        prop_oneof![Just("*"), Just("DE-EMP")],
    )
        .prop_map(|(unit, price, records, provider)| {
            json!({
                "OperatorID": "DE*RBG", "ProviderID": provider, "PricingDefaultPrice": price,
                "PricingDefaultPriceCurrency": "EUR", "PricingDefaultReferenceUnit": unit,
                "PricingProductDataRecords": records,
            })
        })
}

/// Records with distinct ids (OICP requires it) and not `DEFAULT`.
fn distinct(v: &mut Value) {
    let mut seen = std::collections::HashSet::new();
    v["PricingProductDataRecords"]
        .as_array_mut()
        .unwrap()
        .retain(|r| {
            let id = r["ProductID"].as_str().unwrap().to_ascii_uppercase();
            id != "DEFAULT" && !id.is_empty() && seen.insert(id)
        });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn oicp_ocpi_oicp_keeps_every_representable_field(mut v in pricing()) {
        distinct(&mut v);
        let data: PricingProductData = serde_json::from_value(v).unwrap();
        let tariffs = pricing_product_data_to_tariffs(&data, &TariffPolicy::default(), &ctx()).unwrap();
        for t in &tariffs.value.tariffs {
            prop_assert!(Validator::run(t).is_empty(), "{:?}", Validator::run(t));
        }
        let back = tariffs_to_pricing_product_data(&tariffs.value.tariffs, tariffs.value.provider.clone(), &TariffPolicy::default()).unwrap();
        prop_assert_eq!(serde_json::to_value(&back.value).unwrap(), serde_json::to_value(&data).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// The OCPI 2.2.1 corpus

/// Every Tariff example and the exact loss paths of its conversion to OICP.
const CORPUS: &LossTable = &[
    (
        "tariff_10_025kwh_parking_start.json",
        &[
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[1].vat",
            "[0].elements[0].price_components[2].vat",
            "[0].elements[0].price_components[2].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_11_not_possible_alt_text.json",
        &[
            "[0].type",
            "[0].tariff_alt_text",
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[1].vat",
            "[0].elements[0].price_components[1].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_12_025kwh_min_price.json",
        &[
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].min_price.incl_vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_13_simple_3hour_5parking.json",
        &[
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[1].vat",
            "[0].elements[0].price_components[1].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_14_step_size.json",
        &[
            "[0].last_updated",
            "[0].elements[1]",
            "[0].elements[2]",
            "[0].elements[0].price_components[0].step_size",
            "[0].elements[0].price_components[1].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_15_reservation_5_euro_per_hour.json",
        &[
            "[0].last_updated",
            "[0].elements[0]",
            "[0].elements[1].price_components[0].vat",
            "[0].elements[1].price_components[1].vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json",
        &[
            "[0].last_updated",
            "[0].elements[0]",
            "[0].elements[1].price_components[0].vat",
            "[0].elements[1].price_components[1].vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_17_reservation_with_expire_fee.json",
        &[
            "[0].last_updated",
            "[0].elements[0]",
            "[0].elements[1]",
            "[0].elements[2].price_components[0].vat",
            "[0].elements[2].price_components[1].vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_18_reservation_with_expire_time.json",
        &[
            "[0].last_updated",
            "[0].elements[0]",
            "[0].elements[1]",
            "[0].elements[2].price_components[0].vat",
            "[0].elements[2].price_components[1].vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_1_simple_2hour.json",
        &[
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[0].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_2_alt_text.json",
        &[
            "[0].type",
            "[0].tariff_alt_text",
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[0].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_3_alt_url.json",
        &[
            "[0].type",
            "[0].tariff_alt_url",
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[1].vat",
            "[0].elements[0].price_components[1].step_size",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_4_complex.json",
        &[
            "[0].type",
            "[0].tariff_alt_url",
            "[0].last_updated",
            "[0].elements[1]",
            "[0].elements[2]",
            "[0].elements[3]",
            "[0].elements[4]",
            "[0].elements[5]",
            "[0].elements[0].price_components[0].vat",
            "[0].elements",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_5_free_of_charge.json",
        &["[0].last_updated", "[0].elements", "[0].elements", ""],
    ),
    (
        "tariff_6_025kwh_start_max_price.json",
        &[
            "[0].end_date_time",
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[1].vat",
            "[0].max_price.incl_vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_8_simple_025kwh.json",
        &[
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariff_9_025kwh_start.json",
        &[
            "[0].last_updated",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].price_components[1].vat",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariffrestriction_example_max_duration.json",
        &[
            "[0].type",
            "[0].last_updated",
            "[0].elements[1]",
            "[0].elements[2]",
            "[0].elements[0].price_components[0].vat",
            "[0].elements[0].restrictions.max_duration",
            "[0].elements",
            "",
        ],
    ),
    (
        "tariffrestriction_example_max_power.json",
        &[
            "[0].type",
            "[0].last_updated",
            "[0].elements[1]",
            "[0].elements[2]",
            "[0].elements[0].price_components[0].vat",
            "",
        ],
    ),
];

#[test]
fn corpus_tariffs_convert_to_oicp_and_back_with_documented_losses() {
    let Some(dir) = ocpi_examples("Tariff") else {
        return;
    };
    let mut failures = Vec::new();
    let files = examples(&dir, "tariff", &["tariff_put_example.json"]);
    for (name, bytes) in &files {
        let tariff: Tariff = parse(bytes).unwrap();
        let oicp = tariffs_ocpi_to_oicp(std::slice::from_ref(&tariff)).unwrap();
        if !paths_as_listed(name, &oicp.losses, CORPUS, &mut failures) {
            continue;
        }
        // Back to OCPI: id, currency and the (dimension, price) of the product's element.
        let data = PricingProductData {
            pricing_product_data_records: oicp.value.pricing_product_data_records.clone(),
            ..oicp.value.clone()
        };
        let back =
            pricing_product_data_to_tariffs(&data, &TariffPolicy::default(), &ctx()).unwrap();
        let product = back
            .value
            .tariffs
            .iter()
            .find(|t| t.id == tariff.id)
            .unwrap_or(&back.value.tariffs[0]);
        assert_eq!(product.currency, tariff.currency, "{name}");
        let first = tariff
            .elements
            .iter()
            .find(|e| {
                e.restrictions
                    .as_ref()
                    .is_none_or(|r| r.reservation.is_none())
            })
            .unwrap();
        let dims = |e: &roambridge::ocpi::v221::tariffs::TariffElement| {
            let mut d: Vec<(String, String)> = e
                .price_components
                .iter()
                .map(|c| {
                    (
                        c.dimension_type.to_string(),
                        c.price.value().normalize().to_string(),
                    )
                })
                .collect();
            d.sort();
            d
        };
        let has_main = first
            .price_components
            .iter()
            .any(|c| matches!(c.dimension_type.as_str(), "ENERGY" | "TIME"));
        if has_main {
            assert_eq!(dims(&product.elements[0]), dims(first), "{name}");
        }
        assert_eq!(
            product.min_price.as_ref().map(|p| p.excl_vat),
            tariff.min_price.as_ref().map(|p| p.excl_vat),
            "{name}"
        );
        assert_eq!(
            product.max_price.as_ref().map(|p| p.excl_vat),
            tariff.max_price.as_ref().map(|p| p.excl_vat),
            "{name}"
        );
    }
    all_as_listed(&failures, files.len(), CORPUS);
}

#[test]
fn corpus_tariff_put_example_is_rejected_for_missing_last_updated() {
    let Some(dir) = ocpi_examples("Tariff") else {
        return;
    };
    let errors =
        parse::<Tariff>(&std::fs::read(dir.join("tariff_put_example.json")).unwrap()).unwrap_err();
    let found: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(found, ["$.last_updated"]);
    assert!(errors[0].message.contains("mandatory"), "{errors:?}");
}
