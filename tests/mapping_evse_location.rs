//! OICP EVSE data -> OCPI Locations against fixtures
//! (`tests/fixtures/mapping/evse_location/<case>/{oicp.json, ocpi.json, losses.json}`):
//! `oicp.json` is a list of pulled `EvseDataRecord`s, `ocpi.json` the expected Locations and
//! `losses.json` the expected loss notes (`path`, `reason`), both compared exactly.
//!
//! `ROAMBRIDGE_BLESS=1` rewrites `ocpi.json` and `losses.json` from the current output (review
//! the diff before committing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use roambridge::mapping::MappingCtx;
use roambridge::mapping::evse_location::{evse_data_to_locations, operator_evse_data_to_locations};
use roambridge::oicp::v23::evse_data::{OperatorEvseData, PullEvseDataRecord};
use serde_json::{Value, json};

const CASES: &[&str] = &[
    "single_evse",
    "pool_two_stations",
    "din_operator",
    "unmappable_plug",
    "plug_facility_pairing",
];

fn dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping/evse_location")
        .join(case)
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ctx() -> MappingCtx {
    MappingCtx::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

fn run(records: &[PullEvseDataRecord]) -> (Value, Value) {
    let mapped = evse_data_to_locations(records, &ctx()).unwrap();
    let losses: Vec<Value> = mapped
        .losses
        .iter()
        .map(|l| json!({"path": l.path, "reason": l.reason}))
        .collect();
    (
        serde_json::to_value(&mapped.value).unwrap(),
        Value::Array(losses),
    )
}

#[test]
fn fixtures_map_exactly() {
    let bless = std::env::var_os("ROAMBRIDGE_BLESS").is_some();
    for case in CASES {
        let dir = dir(case);
        let records: Vec<PullEvseDataRecord> =
            serde_json::from_value(read(&dir.join("oicp.json"))).unwrap();
        let (ocpi, losses) = run(&records);
        if bless {
            for (file, value) in [("ocpi.json", &ocpi), ("losses.json", &losses)] {
                let text = serde_json::to_string_pretty(value).unwrap() + "\n";
                std::fs::write(dir.join(file), text).unwrap();
            }
            continue;
        }
        assert_eq!(ocpi, read(&dir.join("ocpi.json")), "{case}: ocpi.json");
        assert_eq!(
            losses,
            read(&dir.join("losses.json")),
            "{case}: losses.json"
        );
    }
}

#[test]
fn fixture_output_reparses_as_ocpi() {
    for case in CASES {
        let records: Vec<PullEvseDataRecord> =
            serde_json::from_value(read(&dir(case).join("oicp.json"))).unwrap();
        let mapped = evse_data_to_locations(&records, &ctx()).unwrap();
        for location in &mapped.value {
            let errors = roambridge::ocpi::v221::Validator::run(location);
            assert!(errors.is_empty(), "{case}: {errors:?}");
            let uids: Vec<_> = location.evses.iter().flatten().map(|e| &e.uid).collect();
            assert!(uids.iter().all(|u| u.as_str().len() <= 36), "{case}");
        }
    }
}

#[test]
fn push_adapter_maps_like_a_pull() {
    let records = read(&dir("single_evse").join("oicp.json"));
    let mut record = records[0].clone();
    let object = record.as_object_mut().unwrap();
    object.remove("OperatorID");
    object.remove("OperatorName");
    let push: OperatorEvseData = serde_json::from_value(json!({
        "OperatorID": "DE*ABC",
        "OperatorName": "ABC Charging GmbH",
        "EvseDataRecord": [record],
    }))
    .unwrap();
    let pushed = operator_evse_data_to_locations(&push, &ctx()).unwrap();
    let pulled: Vec<PullEvseDataRecord> = serde_json::from_value(records).unwrap();
    let pulled = evse_data_to_locations(&pulled, &ctx()).unwrap();
    assert_eq!(pushed, pulled);
}
