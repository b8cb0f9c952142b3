//! OCPI Locations -> OICP EVSE data (`roambridge::mapping::location_evse`):
//! * fixtures `tests/fixtures/mapping/location_evse/<case>/{ocpi.json, oicp.json, losses.json}`
//!   (input Locations, expected records, expected loss notes; `ROAMBRIDGE_BLESS=1` rewrites
//!   the expected files from the current output — review the diff);
//! * a property test: generated OICP records -> OCPI -> OICP keep every field OCPI can hold;
//! * every Location of `$ROAMBRIDGE_SHARED/ocpi-examples/2.2.1` goes to OICP and back with the
//!   loss paths listed here, and `location_put_example_add_evse.json` is rejected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use fixtures::{check, losses_json, read};
use proptest::prelude::*;
use roambridge::mapping::MappingCtx;
use roambridge::mapping::evse_location::evse_data_to_locations;
use roambridge::mapping::location_evse::{LocationsToOicpCtx, locations_to_evse_data};
use roambridge::ocpi::v221::locations::Location;
use roambridge::oicp::v23::common::Day;
use roambridge::oicp::v23::evse_data::{EvseDataRecord, PullEvseDataRecord};
use roambridge::oicp::v23::ids::PhoneNumber;
use serde_json::{Value, json};

const CASES: &[&str] = &["full_location", "lossy_evses", "opening_hours"];
const HOTLINE: &str = "+4930123456";

fn dir(case: &str) -> PathBuf {
    fixtures::case_dir("location_evse", case)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn ctx() -> LocationsToOicpCtx {
    LocationsToOicpCtx::new(now(), PhoneNumber::parse(HOTLINE).unwrap())
}

fn parse_locations(v: &Value) -> Vec<Location> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| roambridge::ocpi::v221::parse_value::<Location>(l).unwrap())
        .collect()
}

#[test]
fn fixtures_map_exactly() {
    for case in CASES {
        let dir = dir(case);
        let locations = parse_locations(&read(&dir.join("ocpi.json")));
        let mapped = locations_to_evse_data(&locations, &ctx()).unwrap();
        let oicp = serde_json::to_value(&mapped.value).unwrap();
        let losses = losses_json(&mapped.losses);
        check(&dir, &[("oicp.json", &oicp), ("losses.json", &losses)]);
    }
}

/// Every record the mapping makes passes the push rules of OICP (mandatory members present,
/// `No Payment` alone, opening times when not open 24 hours).
#[test]
fn fixture_output_passes_the_oicp_push_rules() {
    for case in CASES {
        let locations = parse_locations(&read(&dir(case).join("ocpi.json")));
        let mapped = locations_to_evse_data(&locations, &ctx()).unwrap();
        assert!(!mapped.value.is_empty(), "{case}");
        for record in &mapped.value {
            let (record, _, _): (EvseDataRecord, _, _) = record.clone().into_parts();
            let errors = roambridge::oicp::v23::validate::Validator::run(&record);
            assert!(errors.is_empty(), "{case}: {errors:?}");
        }
    }
}

#[test]
fn unpublished_locations_are_left_out_or_sent_as_test_stations() {
    let locations = parse_locations(&read(&dir("lossy_evses").join("ocpi.json")));
    let hidden = &locations[1..];
    let mut with_evse = serde_json::to_value(hidden).unwrap();
    with_evse[0]["evses"] = read(&dir("opening_hours").join("ocpi.json"))[0]["evses"].clone();
    let hidden = parse_locations(&with_evse);
    let left_out = locations_to_evse_data(&hidden, &ctx()).unwrap();
    assert!(left_out.value.is_empty());
    assert_eq!(left_out.losses[0].path, "Location[0].publish");
    let sent =
        locations_to_evse_data(&hidden, &ctx().with_unpublished_as_test_station(true)).unwrap();
    assert_eq!(sent.value.len(), 1);
    assert_eq!(
        serde_json::to_value(&sent.value[0].accessibility).unwrap(),
        json!("Test Station")
    );
    let back = evse_data_to_locations(&sent.value, &MappingCtx::new(now())).unwrap();
    assert!(!back.value[0].publish);
}

#[test]
fn fixture_records_come_back_as_the_same_locations() {
    let locations = parse_locations(&read(&dir("full_location").join("ocpi.json")));
    let records = locations_to_evse_data(&locations, &ctx()).unwrap().value;
    let back = evse_data_to_locations(&records, &MappingCtx::new(now()))
        .unwrap()
        .value;
    assert_eq!(back.len(), 1);
    let (a, b) = (&locations[0], &back[0]);
    assert_eq!(a.id, b.id);
    assert_eq!(
        (&a.country_code, &a.party_id),
        (&b.country_code, &b.party_id)
    );
    assert_eq!(a.address, b.address);
    assert_eq!(a.name, b.name);
    assert_eq!(a.time_zone, b.time_zone);
    let evse_ids = |l: &Location| -> Vec<String> {
        l.evses
            .iter()
            .flatten()
            .map(|e| e.evse_id.as_ref().unwrap().as_str().to_owned())
            .collect()
    };
    assert_eq!(evse_ids(a), evse_ids(b));
    let connectors = |l: &Location| -> Vec<(String, String, i64, i64, Option<i64>)> {
        l.evses
            .iter()
            .flatten()
            .flat_map(|e| &e.connectors)
            .map(|c| {
                (
                    c.standard.as_str().to_owned(),
                    c.format.as_str().to_owned(),
                    c.max_voltage,
                    c.max_amperage,
                    c.max_electric_power,
                )
            })
            .collect()
    };
    let mut expected = connectors(a);
    // The second connector has no max_electric_power; OICP carries voltage x amperage.
    expected[1].4 = Some(230 * 16);
    assert_eq!(expected, connectors(b));
}

// ---------------------------------------------------------------------------------------------
// Property: OICP -> OCPI -> OICP keeps every representable field.

fn letters(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z]{{{min},{max}}}")).unwrap()
}

fn coordinate(limit: i64) -> impl Strategy<Value = String> {
    (-limit + 1..limit, 0u32..1_000_000).prop_map(|(i, f)| {
        let sign = if i < 0 { "-" } else { "" };
        format!("{sign}{}.{f:06}", i.abs())
    })
}

const PLUGS: &[(&str, &str)] = &[
    ("Type 2 Outlet", "AC_3_PHASE"),
    ("Type 2 Connector (Cable Attached)", "AC_3_PHASE"),
    ("CCS Combo 2 Plug (Cable Attached)", "DC"),
    ("CHAdeMO", "DC"),
    ("Type F Schuko", "AC_1_PHASE"),
];
const ENERGIES: &[&str] = &[
    "Solar",
    "Wind",
    "HydroPower",
    "NuclearEnergy",
    "Coal",
    "NaturalGas",
];
const DAYS: &[&str] = &[
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
const COUNTRIES: &[&str] = &["DEU", "FRA", "NLD", "AUT", "BEL"];

fn facility() -> impl Strategy<Value = Value> {
    (0..PLUGS.len(), 100i64..=999, 1i64..=500, 1i64..=350).prop_map(|(p, v, a, kw)| {
        json!({"plug": PLUGS[p].0, "facility": {"PowerType": PLUGS[p].1, "Voltage": v, "Amperage": a, "Power": kw}})
    })
}

fn opening_times() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(proptest::collection::vec(
        (0..DAYS.len(), 0u16..1380, 1u16..60),
        1..4,
    ))
    .prop_map(|times| {
        times.map(|list| {
            Value::Array(
                list.into_iter()
                    .map(|(d, begin, len)| {
                        let end = begin + len;
                        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
                        json!({"on": DAYS[d], "Period": [{"begin": hm(begin), "end": hm(end)}]})
                    })
                    .collect(),
            )
        })
    })
}

prop_compose! {
    fn record()(
        party in "[A-Z0-9]{3}",
        outlet in "[A-Z0-9]{1,10}",
        pool in "[A-Z0-9]{1,8}",
        name in letters(1, 30),
        country in 0..COUNTRIES.len(),
        city in letters(1, 30),
        street in letters(2, 30),
        house in "[1-9][0-9]{0,3}[a-z]?",
        postal in "[0-9]{5}",
        region in proptest::option::of(letters(2, 20)),
        floor in proptest::option::of("[0-9]{1,2}"),
        spot in proptest::option::of("[A-Z0-9]{1,5}"),
        lat in coordinate(90),
        lon in coordinate(180),
        entrance in proptest::option::of((coordinate(90), coordinate(180))),
        facilities in proptest::collection::vec(facility(), 1..4),
        renewable in any::<bool>(),
        sources in proptest::collection::btree_map(0..ENERGIES.len(), 0i64..=100, 0..3),
        co2 in proptest::option::of(0i64..1000),
        remote in any::<bool>(),
        rfid in any::<bool>(),
        reservation in any::<bool>(),
        restricted in any::<bool>(),
        parking in proptest::option::of(0usize..4),
        info in proptest::option::of(("(de|en|fr)", letters(1, 40))),
        open in opening_times(),
        sub in proptest::option::of(letters(1, 30)),
        image in proptest::option::of("[a-z]{1,10}"),
        day in 1u32..28,
    ) -> Value {
        let op = format!("DE*{party}");
        let mut auth = Vec::new();
        if rfid || !remote { auth.push("NFC RFID Classic"); }
        if remote { auth.push("REMOTE"); }
        let mut r = json!({
            "OperatorID": op,
            "OperatorName": "Operator",
            "lastUpdate": format!("2026-01-{day:02}T10:00:00Z"),
            "EvseID": format!("{op}*E{outlet}"),
            "ChargingPoolID": format!("{op}*P{pool}"),
            "ChargingStationNames": [{"lang": "en", "value": name}],
            "Address": {"Country": COUNTRIES[country], "City": city, "Street": street,
                        "HouseNum": house, "PostalCode": postal},
            "GeoCoordinates": {"DecimalDegree": {"Latitude": lat, "Longitude": lon}},
            "Plugs": facilities.iter().map(|f| f["plug"].clone()).collect::<Vec<_>>(),
            "ChargingFacilities": facilities.iter().map(|f| f["facility"].clone()).collect::<Vec<_>>(),
            "RenewableEnergy": renewable,
            "CalibrationLawDataAvailability": "Not Available",
            "AuthenticationModes": auth,
            "PaymentOptions": ["Contract"],
            "ValueAddedServices": [if reservation { "Reservation" } else { "None" }],
            "Accessibility": if restricted { "Restricted access" } else { "Free publicly accessible" },
            "HotlinePhoneNumber": HOTLINE,
            "IsOpen24Hours": open.is_none(),
            "IsHubjectCompatible": remote,
            "DynamicInfoAvailable": "true",
        });
        let a = &mut r["Address"];
        if let Some(v) = region { a["Region"] = json!(v); }
        if let Some(v) = floor { a["Floor"] = json!(v); }
        if let Some(v) = spot { a["ParkingSpot"] = json!(v); }
        if let Some((la, lo)) = entrance {
            r["GeoChargingPointEntrance"] = json!({"DecimalDegree": {"Latitude": la, "Longitude": lo}});
        }
        if !sources.is_empty() {
            r["EnergySource"] = Value::Array(sources.iter().map(|(e, p)| json!({"Energy": ENERGIES[*e], "Percentage": p})).collect());
        }
        if let Some(c) = co2 { r["EnvironmentalImpact"] = json!({"CO2Emission": c}); }
        if let Some(p) = parking {
            r["AccessibilityLocation"] = json!(["OnStreet", "ParkingLot", "ParkingGarage", "UndergroundParkingGarage"][p]);
        }
        if let Some((lang, text)) = info { r["AdditionalInfo"] = json!([{"lang": lang, "value": text}]); }
        if let Some(times) = open { r["OpeningTimes"] = times; }
        if let Some(s) = sub { r["SubOperatorName"] = json!(s); }
        if let Some(i) = image { r["ChargingStationImage"] = json!(format!("https://img.example/{i}.png")); }
        r
    }
}

/// The weekday/period set an opening-times list stands for.
fn expand(r: &PullEvseDataRecord) -> BTreeSet<(u8, u16, u16)> {
    let mut out = BTreeSet::new();
    for t in r.opening_times.iter().flatten() {
        let days: &[u8] = match t.on {
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
            Day::Unknown(_) => &[],
        };
        for p in &t.period {
            for d in days {
                out.insert((*d, p.begin.minutes(), p.end.minutes()));
            }
        }
    }
    out
}

/// The members OCPI can hold, as JSON, with opening times expanded and energy sources sorted.
fn representable(r: &PullEvseDataRecord) -> Value {
    let v = serde_json::to_value(r).unwrap();
    let keep = [
        "OperatorID",
        "OperatorName",
        "EvseID",
        "ChargingPoolID",
        "ChargingStationNames",
        "SubOperatorName",
        "Address",
        "Plugs",
        "ChargingFacilities",
        "RenewableEnergy",
        "EnvironmentalImpact",
        "AuthenticationModes",
        "PaymentOptions",
        "ValueAddedServices",
        "Accessibility",
        "AccessibilityLocation",
        "HotlinePhoneNumber",
        "AdditionalInfo",
        "IsOpen24Hours",
        "ChargingStationImage",
    ];
    let mut out = serde_json::Map::new();
    for k in keep {
        if let Some(x) = v.get(k) {
            out.insert(k.to_owned(), x.clone());
        }
    }
    let mut sources: Vec<String> = r
        .energy_source
        .iter()
        .flatten()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    sources.sort();
    out.insert("EnergySource".to_owned(), json!(sources));
    out.insert("OpeningTimes".to_owned(), json!(expand(r)));
    let coords = |g: &roambridge::oicp::v23::common::GeoCoordinates| {
        let (a, b) = g.lat_lon().unwrap();
        format!("{a:.6} {b:.6}")
    };
    out.insert(
        "GeoCoordinates".to_owned(),
        json!(coords(&r.geo_coordinates)),
    );
    out.insert(
        "GeoChargingPointEntrance".to_owned(),
        json!(r.geo_charging_point_entrance.as_ref().map(coords)),
    );
    out.insert(
        "lastUpdate".to_owned(),
        json!(r.last_update.as_ref().map(|d| d.value().timestamp())),
    );
    Value::Object(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn oicp_ocpi_oicp_keeps_representable_fields(values in proptest::collection::vec(record(), 1..4)) {
        // One EvseID per record (duplicates would be left out by design).
        let mut seen = BTreeSet::new();
        let records: Vec<PullEvseDataRecord> = values
            .into_iter()
            .filter(|v| seen.insert(v["EvseID"].as_str().unwrap().to_owned()))
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        // One record per pool, so that no record loses Location fields to an earlier one.
        let mut pools = BTreeSet::new();
        let records: Vec<_> = records
            .into_iter()
            .filter(|r| pools.insert(r.charging_pool_id.as_ref().unwrap().normalized()))
            .collect();
        let ocpi = evse_data_to_locations(&records, &MappingCtx::new(now())).unwrap();
        prop_assert_eq!(ocpi.value.len(), records.len());
        let back = locations_to_evse_data(&ocpi.value, &ctx()).unwrap();
        prop_assert_eq!(back.value.len(), records.len());
        for (a, b) in records.iter().zip(&back.value) {
            prop_assert_eq!(representable(a), representable(b));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The OCPI example corpus.

fn corpus_dir() -> Option<PathBuf> {
    fixtures::ocpi_corpus()
}

/// The notes every record gets on its way back to OCPI (members OCPI has no place for).
fn standard_back(records: usize) -> Vec<String> {
    (0..records)
        .flat_map(|i| {
            [
                "",
                ".AuthenticationModes[0]",
                ".PaymentOptions[0]",
                ".CalibrationLawDataAvailability",
                ".HotlinePhoneNumber",
                ".IsHubjectCompatible",
                ".DynamicInfoAvailable",
            ]
            .map(|f| format!("EvseDataRecord[{i}]{f}"))
        })
        .collect()
}

/// The notes every EVSE gets on its way to OICP: status and uid have no OICP field, and
/// without capabilities OICP's mandatory authentication mode is assumed.
fn standard_to(evses: usize) -> Vec<String> {
    let mut v = vec![
        "Location[0].time_zone".to_owned(),
        "Location[0].energy_mix".to_owned(),
    ];
    for j in 0..evses {
        for f in ["status", "uid", "capabilities"] {
            v.push(format!("Location[0].evses[{j}].{f}"));
        }
    }
    v
}

/// Every Location example: file, EVSEs, extra loss paths OCPI -> OICP, extra loss paths of the
/// records back to OCPI. Unpublished Locations are sent as test stations here (the default
/// leaves them out, see `unpublished_locations_are_left_out_or_sent_as_test_stations`).
const CORPUS: &[(&str, usize, &[&str], &[&str])] = &[
    (
        "location_example.json",
        2,
        &[
            "Location[0].evses[0].connectors[0].tariff_ids",
            "Location[0].evses[0].connectors[1].tariff_ids",
            "Location[0].evses[1].connectors[0].tariff_ids",
        ],
        &[],
    ),
    (
        "location_example_parking_garage_opening_hours.json",
        1,
        &["Location[0].charging_when_closed"],
        &[],
    ),
    (
        "location_example_uc2_destination_charger.json",
        1,
        &["Location[0].evses[0].parking_restrictions[0]"],
        &["EvseDataRecord[0].Accessibility"],
    ),
    (
        "location_example_uc3_destination_charger_not_published.json",
        1,
        &[
            "Location[0].publish",
            "Location[0].evses[0].parking_restrictions[0]",
        ],
        &["EvseDataRecord[0].Accessibility"],
    ),
    (
        "location_example_uc4_limited_visibility.json",
        1,
        &["Location[0].publish", "Location[0].publish_allowed_to"],
        &["EvseDataRecord[0].Accessibility"],
    ),
    (
        "location_example_uc5_home_charge_point.json",
        1,
        &[
            "Location[0].publish",
            "Location[0].publish_allowed_to",
            "Location[0].parking_type",
            "Location[0].name",
        ],
        &["EvseDataRecord[0].Accessibility"],
    ),
];

fn sorted(paths: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = paths.into_iter().collect();
    v.sort();
    v
}

#[test]
fn corpus_locations_go_to_oicp_and_back_with_the_listed_losses() {
    let Some(dir) = corpus_dir() else { return };
    let ctx = ctx().with_unpublished_as_test_station(true);
    for (file, evses, to_oicp, back) in CORPUS {
        let location: Location =
            roambridge::ocpi::v221::parse(&std::fs::read(dir.join(file)).unwrap())
                .unwrap_or_else(|e| panic!("{file}: {e:?}"));
        let mapped = locations_to_evse_data(std::slice::from_ref(&location), &ctx).unwrap();
        assert_eq!(mapped.value.len(), *evses, "{file}");
        let got = sorted(mapped.losses.iter().map(|l| l.path.clone()));
        let mut want = standard_to(*evses);
        want.extend(to_oicp.iter().map(|s| (*s).to_owned()));
        assert_eq!(got, sorted(want), "{file}: OCPI -> OICP");
        let again = evse_data_to_locations(&mapped.value, &MappingCtx::new(now())).unwrap();
        let got = sorted(again.losses.iter().map(|l| l.path.clone()));
        let mut want = standard_back(*evses);
        want.extend(back.iter().map(|s| (*s).to_owned()));
        assert_eq!(got, sorted(want), "{file}: OICP -> OCPI");
        // What came back is the same Location: id, party, address, EVSE ids.
        let l = &again.value[0];
        assert_eq!(
            (&l.id, &l.country_code, &l.party_id),
            (&location.id, &location.country_code, &location.party_id),
            "{file}"
        );
        assert_eq!(
            (&l.address, &l.city, &l.publish),
            (&location.address, &location.city, &location.publish),
            "{file}"
        );
        let ids = |l: &Location| -> Vec<String> {
            l.evses
                .iter()
                .flatten()
                .filter_map(|e| e.evse_id.as_ref())
                .map(|e| e.as_str().to_owned())
                .collect()
        };
        assert_eq!(ids(l), ids(&location), "{file}");
    }
}

#[test]
fn corpus_add_evse_example_is_rejected_with_its_paths() {
    let Some(dir) = corpus_dir() else { return };
    let bytes = std::fs::read(dir.join("location_put_example_add_evse.json")).unwrap();
    let errors = roambridge::ocpi::v221::parse::<roambridge::ocpi::v221::locations::Evse>(&bytes)
        .unwrap_err();
    let paths: BTreeSet<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains("$.physical_reference"), "{errors:?}");
    assert!(paths.contains("$.connectors[0].power_type"), "{errors:?}");
    // As a Location (what `locations_to_evse_data` takes) it is refused too: no address etc.
    let errors = roambridge::ocpi::v221::parse::<Location>(&bytes).unwrap_err();
    assert!(errors.iter().any(|e| e.path == "$.address"), "{errors:?}");
}
