//! `roambridge translate oicp-to-ocpi evse-data` writes the same bytes, Locations and report,
//! as before the issue 6 speed work: the expected files `tests/fixtures/translate/evse_data/
//! <name>.bytes.stdout.json` and `<name>.bytes.report.json` were written by the binary of the
//! commit before it (main at e131c25) and are compared byte for byte, not as JSON values.
//!
//! `dump35.json` is 35 records in the shape of `examples/translate_load.rs` (five EVSEs per
//! pool, opening times, a station id instead of a pool id) with a few edits: a second plug with
//! one more facility, `AdditionalInfo` with control characters and no language, a name with
//! quotes and a backslash, an unknown member whose name has a quote (an escaped report path).

// A test binary: its helpers unwrap freely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/bin.rs"]
mod bin;
#[path = "support/translate.rs"]
mod support;

use bin::roambridge;
use support::{NOW, arg, fixture, report_path, stderr};

/// Translates `evse_data/<name>.json` and compares stdout and report with the expected bytes.
fn same_bytes(name: &str) {
    let input = fixture(&format!("evse_data/{name}.json"));
    let report = report_path(&format!("bytes-{name}"));
    let out = roambridge(
        &[
            "translate",
            "oicp-to-ocpi",
            "evse-data",
            arg(&input),
            "--now",
            NOW,
            "--report",
            arg(&report),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = std::fs::read(&report).expect("the report is written");
    std::fs::remove_file(&report).expect("the report can be removed");
    let expected_out =
        std::fs::read(fixture(&format!("evse_data/{name}.bytes.stdout.json"))).unwrap();
    let expected_report =
        std::fs::read(fixture(&format!("evse_data/{name}.bytes.report.json"))).unwrap();
    assert!(
        out.stdout == expected_out,
        "{name}: Locations differ from the expected bytes:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        written == expected_report,
        "{name}: report differs from the expected bytes:\n{}",
        String::from_utf8_lossy(&written)
    );
}

#[test]
fn benchmark_shaped_dump_gives_the_same_bytes() {
    same_bytes("dump35");
}

#[test]
fn array_push_and_page_give_the_same_bytes() {
    for name in ["records", "push", "page"] {
        same_bytes(name);
    }
}
