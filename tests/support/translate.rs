//! Helpers of the `roambridge translate` tests: fixtures under `tests/fixtures/translate/`,
//! runs with `--now` and `--report`, and expected files (`ROAMBRIDGE_BLESS=1` rewrites them
//! from the current output; review the diff).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::bin::roambridge;

/// "Now" of every translation in the tests.
pub(crate) const NOW: &str = "2026-01-01T00:00:00Z";

/// `tests/fixtures/translate/<path>`.
pub(crate) fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/translate")
        .join(path)
}

/// A path as an argument.
pub(crate) fn arg(path: &Path) -> &str {
    path.to_str().expect("fixture paths are UTF-8")
}

/// JSON bytes; panics with the text on error.
pub(crate) fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// Standard error as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A report file in the temporary directory, unique per test process, call and `name` (tests
/// run in parallel).
pub(crate) fn report_path(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "roambridge-translate-{}-{}-{name}.json",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Runs `translate <direction> <kind> <fixture> --now NOW <extra…>` (notes on stderr).
pub(crate) fn translate_file(direction: &str, kind: &str, input: &str, extra: &[&str]) -> Output {
    let file = fixture(input);
    let mut args = vec!["translate", direction, kind, arg(&file), "--now", NOW];
    args.extend_from_slice(extra);
    roambridge(&args, None)
}

/// Runs a translation of a fixture with `--report` and `extra` options; returns (stdout JSON,
/// report JSON) after checking exit 0 and an empty standard error.
pub(crate) fn translate_with_report(
    direction: &str,
    kind: &str,
    input: &str,
    extra: &[&str],
) -> (Value, Value) {
    let report = report_path(&format!("{direction}-{kind}-{}", input.replace('/', "_")));
    let mut args = extra.to_vec();
    args.extend_from_slice(&["--report", arg(&report)]);
    let out = translate_file(direction, kind, input, &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "notes go to the report only");
    let notes = json_of(&std::fs::read(&report).expect("the report is written"));
    std::fs::remove_file(&report).expect("the report can be removed");
    (json_of(&out.stdout), notes)
}

/// Compares with (or, blessing, writes) the expected file `tests/fixtures/translate/<file>`.
pub(crate) fn expect(value: &Value, file: &str) {
    let path = fixture(file);
    if std::env::var_os("ROAMBRIDGE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(value).expect("JSON serializes") + "\n";
        std::fs::write(&path, text).expect("the expected file is written");
        return;
    }
    let expected = json_of(&std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}")));
    assert_eq!(value, &expected, "{file}");
}

/// The string member `key` of every element of an array.
pub(crate) fn field<'a>(array: &'a Value, key: &str) -> Vec<&'a str> {
    array
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e[key].as_str().expect("a string member"))
        .collect()
}
