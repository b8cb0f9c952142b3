//! Fixture helpers of the mapping tests: read JSON, write loss notes as JSON, compare an output
//! with its expected file or (with `ROAMBRIDGE_BLESS=1`) rewrite the file from the output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use roambridge::mapping::LossNote;
use serde_json::{Value, json};

/// `tests/fixtures/mapping/<kind>/<case>`.
pub(crate) fn case_dir(kind: &str, case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping")
        .join(kind)
        .join(case)
}

/// A JSON file; panics with the path on error.
pub(crate) fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loss notes as `[{"path", "reason"}]`.
pub(crate) fn losses_json(losses: &[LossNote]) -> Value {
    Value::Array(
        losses
            .iter()
            .map(|l| json!({"path": l.path, "reason": l.reason}))
            .collect(),
    )
}

/// Compares each `(file, value)` with the file in `dir`, or rewrites the files when
/// `ROAMBRIDGE_BLESS` is set (review the diff before committing).
pub(crate) fn check(dir: &Path, outputs: &[(&str, &Value)]) {
    let bless = std::env::var_os("ROAMBRIDGE_BLESS").is_some();
    for (file, value) in outputs {
        let path = dir.join(file);
        if bless {
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        } else {
            assert_eq!(*value, &read(&path), "{}", path.display());
        }
    }
}

/// The OCPI 2.2.1 example folder, or `None` after printing a "skipped" line when
/// `ROAMBRIDGE_SHARED` is not set.
pub(crate) fn ocpi_corpus() -> Option<PathBuf> {
    let Some(shared) = std::env::var_os("ROAMBRIDGE_SHARED") else {
        println!(
            "skipped: ROAMBRIDGE_SHARED is not set (the OCPI example corpus is not available)"
        );
        return None;
    };
    Some(PathBuf::from(shared).join("ocpi-examples/2.2.1"))
}
