//! OICP -> OCPI translation of a large EVSE data dump against a plain `serde_json` passthrough
//! of the same bytes (issue 6 targets: >= 200,000 records/s and <= 2x the passthrough time).
//!
//! ```text
//! cargo run --release --example translate_load                # timings, in memory
//! cargo run --release --example translate_load -- 50000       # other record count
//! cargo run --release --example translate_load -- generate FILE [N]
//! cargo run --release --example translate_load -- rss passthrough|parse|map|translate FILE
//! ```
//! The dataset is deterministic: `N` (default 100,000) pulled `EvseDataRecords`, five per
//! `ChargingPoolID` (N/5 Locations), with every mandatory and most optional members, a few
//! plug/facility mixes, opening times on every third pool and one station id instead of a
//! pool id on every seventh (N/5 Locations either way).
//!
//! It is shaped like a real pull dump: compact JSON (not pretty-printed; one record per line),
//! about 1.34 KB per record (134 MB for 100,000), ids, names and addresses of realistic
//! length, two names (de, en), one `AdditionalInfo`, two energy sources, one or two plugs and
//! facilities per EVSE. Every record gets about 15 loss notes (members OCPI has no field for),
//! so the JSON report (155 MB) is larger than the output (79 MB); the figures include writing
//! it.
//!
//! `rss` runs one pass in a fresh process and prints its time and peak RSS (`VmHWM`);
//! `/usr/bin/time -v target/release/roambridge translate oicp-to-ocpi evse-data FILE --report
//! /dev/null > /dev/null` measures the real command.
//!
//! Passthrough is `serde_json::Value` in, `serde_json::to_writer` out, on one thread (plain
//! `serde_json` has no parallel parse). Translation is [`roambridge::translate::translate`]
//! with output and loss notes (as JSON report) written to a sink; it runs on a scanner thread,
//! one parsing thread per core (at most 4) that parse and map chunks of records, and the calling
//! thread for grouping, notes and output (`translate::evse_data`). Each is the best of three
//! runs. On a shared machine, `/usr/bin/time` of the `rss` runs gives the CPU time of each
//! phase, which the load does not move.

#![expect(
    clippy::cast_precision_loss,
    reason = "figures and coordinates of generated records from small indices"
)]

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use roambridge::mapping::MappingCtx;
use roambridge::mapping::evse_location::LocationGrouper;
use roambridge::oicp::v23::evse_data::PullEvseDataRecord;
use roambridge::translate::io::{JsonReport, for_each_element};
use roambridge::translate::{Direction, Kind, translate};
use serde_json::{Value, json};

/// The allocator of the `roambridge` binary (see `src/main.rs`), so that the figures are those
/// of the real command.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVSES_PER_POOL: usize = 5;

/// Plugs and facilities of the EVSE at `i` within its pool.
fn plugs_and_facilities(i: usize) -> (Value, Value) {
    match i % EVSES_PER_POOL {
        0 | 1 => (
            json!(["Type 2 Outlet"]),
            json!([{"PowerType": "AC_3_PHASE", "Voltage": 230, "Amperage": 32, "Power": 22,
                    "ChargingModes": ["Mode_3"]}]),
        ),
        2 => (
            json!(["Type 2 Outlet", "Type F Schuko"]),
            json!([{"PowerType": "AC_3_PHASE", "Voltage": 230, "Amperage": 16, "Power": 11},
                   {"PowerType": "AC_1_PHASE", "Voltage": 230, "Amperage": 16, "Power": 3.7}]),
        ),
        3 => (
            json!(["CCS Combo 2 Plug (Cable Attached)", "CHAdeMO"]),
            json!([{"PowerType": "DC", "Voltage": 400, "Amperage": 375, "Power": 150,
                    "ChargingModes": ["Mode_4"]}]),
        ),
        _ => (
            json!([
                "CCS Combo 2 Plug (Cable Attached)",
                "Type 2 Connector (Cable Attached)"
            ]),
            json!([{"PowerType": "DC", "Voltage": 800, "Amperage": 500, "Power": 300},
                   {"PowerType": "AC_3_PHASE", "Voltage": 230, "Amperage": 63, "Power": 43}]),
        ),
    }
}

/// A realistic pulled `EvseDataRecord` with index `i`.
fn record(i: usize) -> Value {
    let pool = i / EVSES_PER_POOL;
    let op = ["DE*GEF", "DE*ABC", "AT*XYZ", "NL*EVN"][pool % 4];
    let country = ["DEU", "DEU", "AUT", "NLD"][pool % 4];
    let lat = 47.0 + (pool % 2000) as f64 * 0.002_5;
    let lon = 6.0 + (pool / 2000) as f64 * 0.01 + (i % EVSES_PER_POOL) as f64 * 0.000_01;
    let (plugs, facilities) = plugs_and_facilities(i);
    let mut r = json!({
        "OperatorID": op,
        "OperatorName": format!("Operator {}", pool % 4),
        "deltaType": null,
        "lastUpdate": format!("2025-{:02}-{:02}T10:{:02}:00Z", pool % 12 + 1, pool % 28 + 1, i % 60),
        "EvseID": format!("{op}*E{pool:07}*{}", i % EVSES_PER_POOL + 1),
        "ChargingPoolID": format!("{op}*P{pool:07}"),
        "ChargingStationID": format!("ST-{pool:07}-{}", i % EVSES_PER_POOL / 2),
        "ChargingStationNames": [
            {"lang": "de", "value": format!("Ladepark {pool}")},
            {"lang": "en", "value": format!("Charging park {pool}")}
        ],
        "HardwareManufacturer": "Example Hardware GmbH",
        "Address": {
            "Country": country, "City": format!("City {}", pool % 500),
            "Street": format!("Hauptstrasse"), "PostalCode": format!("{:05}", 10000 + pool % 80000),
            "HouseNum": format!("{}", pool % 200 + 1), "Floor": "0",
            "ParkingSpot": format!("P{}", i % EVSES_PER_POOL + 1)
        },
        "GeoCoordinates": {"Google": {"Coordinates": format!("{lat:.6} {lon:.6}")}},
        "Plugs": plugs,
        "ChargingFacilities": facilities,
        "RenewableEnergy": pool.is_multiple_of(2),
        "EnergySource": [{"Energy": "Solar", "Percentage": 60}, {"Energy": "Wind", "Percentage": 40}],
        "CalibrationLawDataAvailability": "Local",
        "AuthenticationModes": ["NFC RFID Classic", "REMOTE"],
        "PaymentOptions": ["Contract", "Direct"],
        "ValueAddedServices": ["Reservation", "DynamicPricing"],
        "Accessibility": "Free publicly accessible",
        "AccessibilityLocation": "ParkingLot",
        "HotlinePhoneNumber": "+4971112345678",
        "AdditionalInfo": [{"lang": "en", "value": "Entrance from the north side"}],
        "IsOpen24Hours": true,
        "IsHubjectCompatible": true,
        "DynamicInfoAvailable": "auto"
    });
    if pool.is_multiple_of(3) {
        r["IsOpen24Hours"] = json!(false);
        r["OpeningTimes"] = json!([
            {"Period": [{"begin": "06:00", "end": "22:00"}], "on": "Workdays"},
            {"Period": [{"begin": "08:00", "end": "20:00"}], "on": "Weekend"}
        ]);
    }
    // Every seventh pool has no pool id: its EVSEs group by one station id instead.
    if let Some(o) = r.as_object_mut().filter(|_| pool.is_multiple_of(7)) {
        o.remove("ChargingPoolID");
        o.insert(
            "ChargingStationID".to_owned(),
            json!(format!("ST-{pool:07}")),
        );
    }
    r
}

/// `n` records as a JSON array, written element by element.
fn dataset(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 1600);
    out.push(b'[');
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        let _ = serde_json::to_writer(&mut out, &record(i));
    }
    out.extend_from_slice(b"]\n");
    out
}

fn passthrough(input: &[u8]) -> Duration {
    let start = Instant::now();
    let value: Value = serde_json::from_slice(input).unwrap_or(Value::Null);
    let mut out = BufWriter::new(std::io::sink());
    let _ = serde_json::to_writer(&mut out, &value);
    let _ = out.flush();
    drop(value);
    start.elapsed()
}

fn ctx() -> MappingCtx {
    MappingCtx::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default(),
    )
}

/// One translation; the time and the number of loss notes' bytes.
fn translation(input: &[u8]) -> Duration {
    let ctx = ctx();
    let start = Instant::now();
    let mut out = std::io::sink();
    let report = JsonReport::start(BufWriter::new(std::io::sink()));
    let result = report
        .map_err(roambridge::translate::TranslateError::Io)
        .and_then(|mut r| {
            translate(
                Direction::OicpToOcpi,
                Kind::EvseData,
                input,
                &ctx,
                &mut out,
                &mut r,
            )?;
            Ok(r.finish()?)
        });
    if let Err(e) = result {
        eprintln!("translation failed: {e}");
        std::process::exit(1);
    }
    start.elapsed()
}

/// The typed parse alone (records dropped as read).
fn parse_only(input: &[u8]) -> Duration {
    let start = Instant::now();
    let mut n = 0usize;
    let r = for_each_element::<PullEvseDataRecord, _>(input, |_, _| {
        n += 1;
        Ok(())
    });
    if r.is_err() || n == 0 {
        eprintln!("parse failed");
    }
    start.elapsed()
}

/// Parse and map, Locations built but not serialized.
fn parse_and_map(input: &[u8]) -> Duration {
    let ctx = ctx();
    let start = Instant::now();
    let Ok(mut grouper) = LocationGrouper::new(&ctx) else {
        return Duration::ZERO;
    };
    let mut notes = 0usize;
    let r = for_each_element::<PullEvseDataRecord, _>(input, |_, record| {
        grouper.push(&record)?;
        notes += grouper.take_losses().len();
        Ok(())
    });
    let locations = grouper.finish().flatten().count();
    if r.is_err() || locations == 0 || notes == 0 {
        eprintln!("map failed");
    }
    start.elapsed()
}

fn best_of_3(f: impl Fn() -> Duration) -> Duration {
    (0..3).map(|_| f()).min().unwrap_or_default()
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", file, rest @ ..] => {
            let n = rest.first().and_then(|n| n.parse().ok()).unwrap_or(100_000);
            let bytes = dataset(n);
            if let Err(e) = std::fs::write(file, &bytes) {
                eprintln!("cannot write {file}: {e}");
                std::process::exit(2);
            }
            println!("{n} records, {} bytes -> {file}", bytes.len());
        }
        ["rss", which, file] => {
            let input = std::fs::read(file).unwrap_or_default();
            let before = vm_hwm_kb();
            let t = match *which {
                "passthrough" => passthrough(&input),
                "parse" => parse_only(&input),
                "map" => parse_and_map(&input),
                _ => translation(&input),
            };
            println!(
                "{which}: {:.3} s, peak RSS {} MB (input {} MB, peak before {} MB)",
                t.as_secs_f64(),
                vm_hwm_kb() / 1024,
                input.len() / (1 << 20),
                before / 1024
            );
        }
        rest => {
            let n = rest.first().and_then(|n| n.parse().ok()).unwrap_or(100_000);
            let input = dataset(n);
            println!(
                "{n} EvseDataRecords ({} per pool), {:.1} MB of JSON",
                EVSES_PER_POOL,
                input.len() as f64 / 1e6
            );
            let pass = best_of_3(|| passthrough(&input));
            let tr = best_of_3(|| translation(&input));
            println!(
                "passthrough (Value in, to_writer out): {:.3} s",
                pass.as_secs_f64()
            );
            println!(
                "translate oicp-to-ocpi evse-data:      {:.3} s = {:.0} records/s",
                tr.as_secs_f64(),
                n as f64 / tr.as_secs_f64()
            );
            println!(
                "ratio translate / passthrough: {:.2}",
                tr.as_secs_f64() / pass.as_secs_f64()
            );
        }
    }
}
