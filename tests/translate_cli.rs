//! `roambridge translate`, run as the real binary on the fixtures in
//! `tests/fixtures/translate/<kind>/`: stdout JSON, loss notes on stderr and in `--report`,
//! exit codes and error paths.
//!
//! Expected outputs are `*.expected.json` (stdout) and `*.losses.json` (the report) next to the
//! inputs; `ROAMBRIDGE_BLESS=1` rewrites them from the current output (review the diff).

// A test binary: its helpers unwrap freely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const NOW: &str = "2026-01-01T00:00:00Z";

fn roambridge(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roambridge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(input) = stdin {
            pipe.write_all(input).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/translate")
        .join(path)
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn report_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "roambridge-translate-{}-{name}.json",
        std::process::id()
    ))
}

/// Runs `translate <direction> <kind> <fixture> --now NOW` (notes on stderr).
fn translate_file(direction: &str, kind: &str, input: &str) -> Output {
    let file = fixture(input);
    roambridge(
        &["translate", direction, kind, arg(&file), "--now", NOW],
        None,
    )
}

/// Runs a translation with `--report`, returns (stdout JSON, report JSON), exit 0 checked.
fn translate_with_report(direction: &str, kind: &str, input: &str) -> (Value, Value) {
    let report = report_path(&format!("{direction}-{kind}-{}", input.replace('/', "_")));
    let file = fixture(input);
    let out = roambridge(
        &[
            "translate",
            direction,
            kind,
            arg(&file),
            "--now",
            NOW,
            "--report",
            arg(&report),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "notes go to the report only");
    let notes = json_of(&std::fs::read(&report).unwrap());
    std::fs::remove_file(&report).unwrap();
    (json_of(&out.stdout), notes)
}

/// The string member `key` of every element of an array.
fn field<'a>(array: &'a Value, key: &str) -> Vec<&'a str> {
    array
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[key].as_str().unwrap())
        .collect()
}

/// Compares with (or, blessing, writes) the expected file next to the input.
fn expect(value: &Value, file: &str) {
    let path = fixture(file);
    if std::env::var_os("ROAMBRIDGE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(value).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected = json_of(&std::fs::read(&path).unwrap());
    assert_eq!(value, &expected, "{file}");
}

#[test]
fn evse_data_array_becomes_locations_with_a_report() {
    let (locations, notes) =
        translate_with_report("oicp-to-ocpi", "evse-data", "evse_data/records.json");
    expect(&locations, "evse_data/records.expected.json");
    expect(&notes, "evse_data/records.losses.json");
    // Two Locations: the pool with two EVSEs, the station with one.
    let list = locations.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "DE*ABC*P500");
    assert_eq!(list[0]["evses"].as_array().unwrap().len(), 2);
    assert_eq!(list[1]["id"], "HAFEN-2");
    // The pairing: Schuko takes the 1-phase AC facility, CCS the DC one; the 3-phase one is
    // noted as not carried.
    let connectors = &list[0]["evses"][1]["connectors"];
    assert_eq!(connectors[0]["power_type"], "AC_1_PHASE");
    assert_eq!(connectors[0]["max_electric_power"], 3700);
    assert_eq!(connectors[1]["power_type"], "DC");
    assert_eq!(connectors[1]["max_electric_power"], 150_000);
    let notes = notes.as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["path"] == "EvseDataRecord[1].ChargingFacilities[1]"
                && n["reason"].as_str().unwrap().contains("not carried")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .all(|n| n["path"].is_string() && n["reason"].is_string())
    );
}

#[test]
fn notes_go_to_stderr_one_per_line_without_report() {
    let (_, report) = translate_with_report("oicp-to-ocpi", "evse-data", "evse_data/records.json");
    let out = translate_file("oicp-to-ocpi", "evse-data", "evse_data/records.json");
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                n["path"].as_str().unwrap(),
                n["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!lines.is_empty());
    assert_eq!(stderr(&out), lines.join("\n") + "\n");
}

#[test]
fn push_body_page_and_stdin_give_the_same_locations() {
    let file = fixture("evse_data/records.json");
    let from_file = translate_file("oicp-to-ocpi", "evse-data", "evse_data/records.json");
    let expected = json_of(&from_file.stdout);
    let stdin = roambridge(
        &["translate", "oicp-to-ocpi", "evse-data", "-", "--now", NOW],
        Some(&std::fs::read(&file).unwrap()),
    );
    assert_eq!(stdin.status.code(), Some(0));
    assert_eq!(json_of(&stdin.stdout), expected);
    assert_eq!(stdin.stderr, from_file.stderr);
    for other in ["evse_data/push.json", "evse_data/page.json"] {
        let (locations, _) = translate_with_report("oicp-to-ocpi", "evse-data", other);
        assert_eq!(locations, expected, "{other}");
    }
}

#[test]
fn invalid_evse_data_exits_1_with_json_paths() {
    let file = fixture("evse_data/invalid.json");
    let report = report_path("invalid");
    let out = roambridge(
        &[
            "translate",
            "oicp-to-ocpi",
            "evse-data",
            arg(&file),
            "--report",
            arg(&report),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: $[1].Plugs[0]: "), "{err}");
    assert!(err.contains("error: $[2].EvseID: "), "{err}");
    assert!(err.ends_with("invalid OICP input: 2 error(s)\n"), "{err}");
    assert!(out.stdout.is_empty());
    assert!(!report.exists(), "an incomplete report is removed");

    let file = fixture("evse_data/push_invalid.json");
    let out = roambridge(
        &["translate", "oicp-to-ocpi", "evse-data", arg(&file)],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: $.OperatorEvseData.EvseDataRecord[0].GeoCoordinates"),
        "{}",
        stderr(&out)
    );

    for (input, path) in [
        (&b"[{"[..], "$"),
        (b"{\"Something\": []}", "$"),
        (b"42", "$"),
    ] {
        let out = roambridge(
            &["translate", "oicp-to-ocpi", "evse-data", "-"],
            Some(input),
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(input)
        );
        assert!(
            stderr(&out).starts_with(&format!("error: {path}: ")),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let file = fixture("evse_data/records.json");
    let cases: &[&[&str]] = &[
        &["translate", "oicp-to-ocpi", "sessions", arg(&file)],
        &[
            "translate",
            "oicp-to-ocpi",
            "evse-data",
            "/nonexistent/roambridge.json",
        ],
        &[
            "translate",
            "oicp-to-ocpi",
            "evse-data",
            arg(&file),
            "--now",
            "yesterday",
        ],
        &["translate", "sideways", "evse-data", arg(&file)],
        &["translate", "oicp-to-ocpi", "evse-data"],
    ];
    for args in cases {
        let out = roambridge(args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn kinds_without_a_mapping_yet_exit_2_and_say_so() {
    let file = fixture("evse_data/records.json");
    for (direction, kind) in [
        ("ocpi-to-oicp", "locations"),
        ("oicp-to-ocpi", "cdr"),
        ("ocpi-to-oicp", "cdr"),
        ("oicp-to-ocpi", "tokens"),
        ("ocpi-to-oicp", "tariffs"),
    ] {
        let out = roambridge(&["translate", direction, kind, arg(&file)], None);
        assert_eq!(out.status.code(), Some(2), "{direction} {kind}");
        let canonical = if kind == "locations" {
            "evse-data"
        } else {
            kind
        };
        assert_eq!(
            stderr(&out),
            format!("error: translate {direction} {canonical} is not available yet\n")
        );
    }
}

#[test]
fn evse_status_oicp_to_ocpi_from_push_and_pull_answer() {
    let (entries, notes) =
        translate_with_report("oicp-to-ocpi", "evse-status", "evse_status/push.json");
    assert_eq!(
        entries,
        json!([
            {"evse_uid": "DE*ABC*E500001", "evse_id": "DE*ABC*E500001", "status": "AVAILABLE"},
            {"evse_uid": "DE*ABC*E500002", "evse_id": "DE*ABC*E500002", "status": "CHARGING"},
            {"evse_uid": "DE*ABC*E500003", "evse_id": "DE*ABC*E500003", "status": "OUTOFORDER"}
        ])
    );
    let paths = field(&notes, "path");
    assert_eq!(
        paths,
        [
            "EvseStatusRecord[1].EvseStatus",
            "EvseStatusRecord[2].EvseStatus"
        ]
    );

    let (entries, notes) = translate_with_report(
        "oicp-to-ocpi",
        "evse-status",
        "evse_status/pull_answer.json",
    );
    expect(&entries, "evse_status/pull_answer.expected.json");
    expect(&notes, "evse_status/pull_answer.losses.json");
    let statuses = field(&entries, "status");
    assert_eq!(statuses, ["AVAILABLE", "CHARGING", "RESERVED"]);
    let not_found = &notes.as_array().unwrap().last().unwrap();
    assert_eq!(not_found["path"], "EvseStatusRecord[3].EvseStatus");
    assert!(
        not_found["reason"]
            .as_str()
            .unwrap()
            .ends_with("the record is left out")
    );
}

#[test]
fn evse_status_ocpi_to_oicp_from_entries_and_evse_objects() {
    let (records, notes) =
        translate_with_report("ocpi-to-oicp", "evse-status", "evse_status/ocpi.json");
    assert_eq!(
        records,
        json!([
            {"EvseID": "DE*ABC*E500001", "EvseStatus": "Available"},
            {"EvseID": "DE*ABC*E500002", "EvseStatus": "Occupied"},
            {"EvseID": "DE*ABC*E500003", "EvseStatus": "OutOfService"}
        ])
    );
    expect(&notes, "evse_status/ocpi.losses.json");
    let paths = field(&notes, "path");
    assert_eq!(
        paths,
        ["[1].status", "[2].status", "[3].status", "[4].evse_id"]
    );

    // Round trip of the exact values through both directions.
    let oicp = br#"[{"EvseID": "DE*ABC*E1", "EvseStatus": "Available"},
                    {"EvseID": "DE*ABC*E2", "EvseStatus": "Reserved"}]"#;
    let there = roambridge(
        &["translate", "oicp-to-ocpi", "evse-status", "-"],
        Some(oicp),
    );
    assert_eq!(there.status.code(), Some(0));
    assert_eq!(stderr(&there), "", "exact values have no notes");
    let back = roambridge(
        &["translate", "ocpi-to-oicp", "evse-status", "-"],
        Some(&there.stdout),
    );
    assert_eq!(back.status.code(), Some(0));
    assert_eq!(json_of(&back.stdout), json_of(oicp));
}

#[test]
fn invalid_ocpi_status_input_exits_1_with_every_path() {
    let file = fixture("evse_status/ocpi_invalid.json");
    let out = roambridge(
        &["translate", "ocpi-to-oicp", "evse-status", arg(&file)],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: $[1].status: "), "{err}");
    assert!(err.contains("error: $[2].connectors: "), "{err}");
    assert!(!err.contains("$[0]"), "{err}");
    assert!(out.stdout.is_empty());
}
