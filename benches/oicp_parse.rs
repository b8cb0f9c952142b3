//! Typed parse + validation of large OICP pushes against a plain `serde_json::Value` parse of
//! the same bytes (issue target: ratio <= 1.0).
//!
//! Run: `cargo bench --bench oicp_parse`. The bodies are generated here: 1,000 `EvseDataRecords`
//! (every mandatory and most optional members) and 10,000 `EvseStatusRecords`.

#![expect(
    clippy::cast_precision_loss,
    reason = "coordinates of generated records from small indices"
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roambridge::oicp::v23::evse_data::PushEvseData;
use roambridge::oicp::v23::evse_status::PushEvseStatus;
use roambridge::oicp::v23::wire::parse;
use serde_json::{Value, json};
use std::hint::black_box;

/// A realistic `EvseDataRecord` with index `i`.
fn evse_record(i: usize) -> Value {
    let lat = 48.0 + (i % 1000) as f64 * 0.001;
    let lon = 9.0 + (i / 1000) as f64 * 0.001;
    json!({
        "EvseID": format!("DE*GEF*E{:06}*{}", i / 2, i % 2 + 1),
        "ChargingPoolID": format!("DE*GEF*P{:06}", i / 4),
        "ChargingStationID": format!("STATION-{:06}", i / 2),
        "ChargingStationNames": [{"lang": "de", "value": format!("Ladestation {i}")}, {"lang": "en", "value": format!("Charging station {i}")}],
        "HardwareManufacturer": "Example Hardware GmbH",
        "Address": {
            "Country": "DEU", "City": "Stuttgart", "Street": "Königstraße", "PostalCode": "70173",
            "HouseNum": format!("{}", i % 200 + 1), "TimeZone": "UTC+01:00", "ParkingFacility": false
        },
        "GeoCoordinates": {"Google": {"Coordinates": format!("{lat:.6} {lon:.6}")}},
        "Plugs": ["Type 2 Outlet", "CCS Combo 2 Plug (Cable Attached)"],
        "DynamicPowerLevel": true,
        "ChargingFacilities": [
            {"PowerType": "AC_3_PHASE", "Voltage": 230, "Amperage": 32, "Power": 22, "ChargingModes": ["Mode_3"]},
            {"PowerType": "DC", "Voltage": 400, "Amperage": 375, "Power": 150, "ChargingModes": ["Mode_4"]}
        ],
        "RenewableEnergy": true,
        "EnergySource": [{"Energy": "Solar", "Percentage": 60}, {"Energy": "Wind", "Percentage": 40}],
        "CalibrationLawDataAvailability": "Local",
        "AuthenticationModes": ["NFC RFID Classic", "REMOTE", "PnC"],
        "PaymentOptions": ["Contract", "Direct"],
        "ValueAddedServices": ["Reservation", "DynamicPricing"],
        "Accessibility": "Free publicly accessible",
        "AccessibilityLocation": "ParkingLot",
        "HotlinePhoneNumber": "+4971112345678",
        "AdditionalInfo": [{"lang": "en", "value": "Entrance from the north side"}],
        "IsOpen24Hours": false,
        "OpeningTimes": [{"Period": [{"begin": "06:00", "end": "22:00"}], "on": "Everyday"}],
        "IsHubjectCompatible": true,
        "DynamicInfoAvailable": "auto"
    })
}

fn push_evse_data(n: usize) -> Vec<u8> {
    let records: Vec<Value> = (0..n).map(evse_record).collect();
    let body = json!({
        "ActionType": "fullLoad",
        "OperatorEvseData": {"OperatorID": "DE*GEF", "OperatorName": "GEF Charging", "EvseDataRecord": records}
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn push_evse_status(n: usize) -> Vec<u8> {
    const STATES: [&str; 4] = ["Available", "Occupied", "Reserved", "OutOfService"];
    let records: Vec<Value> = (0..n)
        .map(|i| json!({"EvseID": format!("DE*GEF*E{:07}*1", i), "EvseStatus": STATES[i % 4]}))
        .collect();
    let body = json!({
        "ActionType": "update",
        "OperatorEvseStatus": {"OperatorID": "DE*GEF", "OperatorName": "GEF Charging", "EvseStatusRecord": records}
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let data = push_evse_data(1_000);
    assert!(
        parse::<PushEvseData>(&data).is_ok(),
        "generated PushEvseData must be valid"
    );
    let mut g = c.benchmark_group("PushEvseData_1000_records");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("serde_json_Value", data.len()),
        &data,
        |b, d| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(d)));
        },
    );
    g.bench_with_input(
        BenchmarkId::new("typed_parse_and_validate", data.len()),
        &data,
        |b, d| {
            b.iter(|| parse::<PushEvseData>(black_box(d)));
        },
    );
    g.finish();

    let status = push_evse_status(10_000);
    assert!(
        parse::<PushEvseStatus>(&status).is_ok(),
        "generated PushEvseStatus must be valid"
    );
    let mut g = c.benchmark_group("PushEvseStatus_10000_records");
    g.throughput(Throughput::Bytes(status.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("serde_json_Value", status.len()),
        &status,
        |b, d| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(d)));
        },
    );
    g.bench_with_input(
        BenchmarkId::new("typed_parse_and_validate", status.len()),
        &status,
        |b, d| {
            b.iter(|| parse::<PushEvseStatus>(black_box(d)));
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
