//! The `roambridge oicp` command line, run as the real binary.

// A test binary: its helpers unwrap freely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

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
            // A command that fails early (unknown operation) exits without reading its input:
            // the pipe is then closed, which is not the test's concern.
            if let Err(e) = pipe.write_all(input) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        }
    }
    child.wait_with_output().unwrap()
}

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/oicp/valid/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn a_valid_file_prints_valid_and_exits_0() {
    let out = roambridge(
        &[
            "oicp",
            "validate",
            "PushEvseData",
            &fixture("PushEvseData.request.json"),
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "valid\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn response_bodies_are_validated_with_the_flag() {
    let file = fixture("AuthorizeStart.response.json");
    let out = roambridge(
        &["oicp", "validate", "AuthorizeStart", "--response", &file],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The same file is not a valid request.
    let out = roambridge(&["oicp", "validate", "AuthorizeStart", &file], None);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn standard_input_is_read_with_dash() {
    let body = std::fs::read(fixture("PushEvseStatus.request.json")).unwrap();
    let out = roambridge(&["oicp", "validate", "PushEvseStatus", "-"], Some(&body));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "valid\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn every_error_is_printed_with_its_json_path_and_exit_1() {
    let body =
        br#"{"ActionType":"update","OperatorEvseStatus":{"OperatorID":"DE*GEF","EvseStatusRecord":[
        {"EvseID":"DE*GEF*E0001*1","EvseStatus":"Available"},
        {"EvseID":"not an evse","EvseStatus":"Available"},
        {"EvseID":"DE*GEF*E0003*1","EvseStatus":"Sleeping"}]}}"#;
    let out = roambridge(&["oicp", "validate", "PushEvseStatus", "-"], Some(body));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines.iter().any(
            |l| l.starts_with("$.OperatorEvseStatus.EvseStatusRecord[1].EvseID: ")
                && l.ends_with("(OICP 022)")
        ),
        "{stdout}"
    );
    assert!(
        lines.iter().any(|l| l
            .starts_with("$.OperatorEvseStatus.EvseStatusRecord[2].EvseStatus: ")
            && l.contains("Sleeping")),
        "{stdout}"
    );
}

#[test]
fn broken_json_is_reported_at_the_root() {
    let out = roambridge(
        &["oicp", "validate", "AuthorizeStart", "-"],
        Some(b"{\"OperatorID\": "),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("$: not valid JSON"));
}

#[test]
fn unknown_operation_and_missing_file_exit_2() {
    let out = roambridge(&["oicp", "validate", "PushEverything", "-"], Some(b"{}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PushEvseData"));
    let out = roambridge(
        &["oicp", "validate", "PushEvseData", "/nonexistent/file.json"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn operations_prints_the_table() {
    let out = roambridge(&["oicp", "operations"], None);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("Operation"));
    assert!(table.contains("/evsepush/v23/operators/{operatorID}/data-records"));
    assert!(table.contains("/charging/v21/providers/{providerID}/authorize-remote/start"));
    assert!(table.contains("EMP -> hub -> CPO"));
    assert_eq!(table.lines().count(), 2 + 23);
}
