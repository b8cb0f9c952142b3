//! Shared by the mapping fixture tests: fixture cases under `tests/fixtures/mapping/<kind>/<case>/`
//! with `input.json`, `expected.json` (the mapped value) and `losses.json` (the expected loss
//! notes as `{path, reason}`), compared exactly. `ROAMBRIDGE_BLESS=1` rewrites `expected.json`
//! and `losses.json` from the current output (review the diff before committing).

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use roambridge::mapping::{LossNote, MappingCtx};
use serde_json::{Value, json};

/// The folder of one case.
pub fn case_dir(kind: &str, case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping")
        .join(kind)
        .join(case)
}

/// A JSON file.
pub fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The input of a case, parsed.
pub fn input<T: serde::de::DeserializeOwned>(kind: &str, case: &str) -> T {
    let path = case_dir(kind, case).join("input.json");
    serde_json::from_value(read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loss notes as JSON.
pub fn losses_json(losses: &[LossNote]) -> Value {
    Value::Array(
        losses
            .iter()
            .map(|l| json!({"path": l.path, "reason": l.reason}))
            .collect(),
    )
}

/// Compares (or, with `ROAMBRIDGE_BLESS`, writes) the expected output and losses of a case.
pub fn check(kind: &str, case: &str, output: &impl serde::Serialize, losses: &[LossNote]) {
    let dir = case_dir(kind, case);
    let output = serde_json::to_value(output).unwrap();
    let losses = losses_json(losses);
    if std::env::var_os("ROAMBRIDGE_BLESS").is_some() {
        for (file, value) in [("expected.json", &output), ("losses.json", &losses)] {
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            std::fs::write(dir.join(file), text).unwrap();
        }
        return;
    }
    assert_eq!(
        output,
        read(&dir.join("expected.json")),
        "{kind}/{case}: expected.json"
    );
    assert_eq!(
        losses,
        read(&dir.join("losses.json")),
        "{kind}/{case}: losses.json"
    );
}

/// The mapping context of every case: 2026-01-01T00:00:00Z, no offset.
pub fn ctx() -> MappingCtx {
    MappingCtx::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

/// `$ROAMBRIDGE_SHARED/ocpi-examples/2.2.1`, or `None` after printing a SKIPPED line.
pub fn ocpi_examples(what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ROAMBRIDGE_SHARED");
    if dir.is_none() {
        eprintln!(
            "SKIPPED: ROAMBRIDGE_SHARED is not set, so the OCPI 2.2.1 {what} examples were not mapped (.ci/run sets it to ../shared)"
        );
    }
    dir.map(|d| PathBuf::from(d).join("ocpi-examples/2.2.1"))
}

/// The loss paths, in order.
pub fn paths(losses: &[LossNote]) -> Vec<&str> {
    losses.iter().map(|l| l.path.as_str()).collect()
}

/// Expected loss paths per corpus file.
pub type LossTable = [(&'static str, &'static [&'static str])];

/// The names and bytes of the example files whose name starts with `prefix`, except `except`,
/// sorted by name.
pub fn examples(dir: &Path, prefix: &str, except: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix) && !except.contains(&n.as_str()))
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    out.sort();
    out
}

/// Whether `losses` have exactly the paths `table` lists for `name`; else the actual row goes to
/// `failures`.
pub fn paths_as_listed(
    name: &str,
    losses: &[LossNote],
    table: &LossTable,
    failures: &mut Vec<String>,
) -> bool {
    let got = paths(losses);
    let want = table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p.to_vec());
    if want.as_deref() == Some(&got[..]) {
        true
    } else {
        failures.push(format!("(\"{name}\", &{got:?}),"));
        false
    }
}

/// Fails with the actual rows of every mismatch, or when the table lists other files.
pub fn all_as_listed(failures: &[String], files: usize, table: &LossTable) {
    assert!(
        failures.is_empty(),
        "loss paths differ; actual:\n{}",
        failures.join("\n")
    );
    assert_eq!(files, table.len(), "every example is listed");
}
