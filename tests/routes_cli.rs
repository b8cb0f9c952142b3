//! `roambridge routes explain`, run as the real binary on configuration files with
//! overlapping route rules.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/pki.rs"]
mod pki;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A full node configuration with overlapping rules for `DE*GDF`; the other sections are there
/// to show they do not disturb the routing keys.
const CONFIG: &str = r#"
[node]
listen = "127.0.0.1:0"
database = ":memory:"

[[party]]
role = "cpo"
id = "DE*GEF"

[[peer]]
role = "emp"
id = "DE-GDF"
url = "http://127.0.0.1:8001/api/oicp"

[routing]
default = "clearing-house"

[[route]]                   # route[0]
operation = "*"
partner = "*"
route = "direct-then-clearing-house"

[[route]]                   # route[1]
operation = "cdr"
partner = "DE*GDF"
route = "both"

[[route]]                   # route[2]
operation = "ChargeDetailRecord"
partner = "degdf"
route = "direct"

[[route]]                   # route[3]
operation = "*"
partner = "DE*GDF"
route = "clearing-house"
"#;

/// A `[clearing_house]` table with certificates generated for this test run (the routes to the
/// hub need one; the node checks its certificate and key at startup).
fn clearing_house() -> &'static str {
    static TABLE: OnceLock<(pki::Pki, String)> = OnceLock::new();
    let (_, table) = TABLE.get_or_init(|| {
        let pki = pki::Pki::new("routes-cli");
        let table = format!(
            "\n[clearing_house]\nurl = \"https://127.0.0.1:1/api/oicp\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\ntrusted_ca = [\"{}\"]\n",
            pki.node_client.cert.display(),
            pki.node_client.key.display(),
            pki.ca.cert.display()
        );
        (pki, table)
    });
    table
}

/// Writes `text` (with a clearing house) to a file of its own in the temporary directory.
fn config_file(name: &str, text: &str) -> PathBuf {
    let text = format!("{text}{}", clearing_house());
    let path = std::env::temp_dir().join(format!(
        "roambridge-routes-cli-{}-{name}.toml",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

fn explain(operation: &str, partner: &str, config: &PathBuf) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roambridge"))
        .args(["routes", "explain", operation, partner, "--config"])
        .arg(config)
        .output()
        .unwrap_or_else(|e| panic!("cannot run roambridge: {e}"))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The line of the output starting with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

#[test]
fn the_most_specific_rule_is_printed_with_the_losers() {
    let config = config_file("overlap", CONFIG);
    let out = explain("ChargeDetailRecord", "DE-GDF", &config);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        line(&text, "route: ").starts_with("route: direct ("),
        "{text}"
    );
    assert_eq!(
        line(&text, "rule: "),
        "rule: route[2] (operation = \"ChargeDetailRecord\", partner = \"degdf\", route = \"direct\")"
    );
    assert!(
        line(&text, "  route[1] ").ends_with(": an exact operation beats a group"),
        "{text}"
    );
    assert!(
        line(&text, "  route[3] ").ends_with(": an exact operation beats \"*\""),
        "{text}"
    );
    assert!(
        line(&text, "  route[0] ")
            .ends_with(": a rule naming the partner beats one with partner \"*\""),
        "{text}"
    );

    // The other operation of the group, to the same partner as a CPO: the group rule.
    let text = stdout(&explain(
        "eRoamingGetChargeDetailRecords_V2.2",
        "DE*GDF",
        &config,
    ));
    assert!(
        line(&text, "route: ").starts_with("route: both ("),
        "{text}"
    );
    assert!(
        line(&text, "rule: ").starts_with("rule: route[1] "),
        "{text}"
    );

    // Another operation: the partner's `*` rule.
    let text = stdout(&explain("authorizeremotestart", "de*gdf", &config));
    assert!(
        line(&text, "route: ").starts_with("route: clearing-house ("),
        "{text}"
    );
    assert!(
        line(&text, "rule: ").starts_with("rule: route[3] "),
        "{text}"
    );

    // Another partner: `*` for everyone.
    let text = stdout(&explain("ChargeDetailRecord", "NL-ABC", &config));
    assert!(
        line(&text, "route: ").starts_with("route: direct-then-clearing-house ("),
        "{text}"
    );
    assert!(
        line(&text, "rule: ").starts_with("rule: route[0] "),
        "{text}"
    );
    std::fs::remove_file(&config).unwrap();
}

#[test]
fn without_a_matching_rule_the_default_is_printed() {
    let text = CONFIG.replace(
        "operation = \"*\"\npartner = \"*\"",
        "operation = \"remote\"\npartner = \"*\"",
    );
    let config = config_file("default", &text);
    let out = explain("PushEvseData", "NL-ABC", &config);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        line(&text, "route: ").starts_with("route: clearing-house ("),
        "{text}"
    );
    assert_eq!(
        line(&text, "rule: "),
        "rule: none matches; the default applies ([routing] default = \"clearing-house\")"
    );
    std::fs::remove_file(&config).unwrap();
}

#[test]
fn an_unknown_operation_or_invalid_partner_exits_2() {
    let config = config_file("args", CONFIG);
    let out = explain("PushEverything", "DE-GDF", &config);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown operation 'PushEverything'"),
        "{}",
        stderr(&out)
    );
    // Remote start goes to a CPO: DE-GDF is a ProviderID, not an OperatorID.
    let out = explain("AuthorizeRemoteStart", "DE-GDF", &config);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("OperatorID"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    std::fs::remove_file(&config).unwrap();
}

#[test]
fn a_configuration_error_exits_2_naming_file_key_and_problem() {
    let cases = [
        (
            "operation = \"cdr\"",
            "operation = \"cdrs\"",
            "route[1].operation",
            "'cdrs' is not an operation or group",
        ),
        (
            "route = \"both\"",
            "route = \"hub\"",
            "route[1].route",
            "'hub' is not a route",
        ),
        (
            "operation = \"ChargeDetailRecord\"",
            "operation = \"cdr\"",
            "route[2]",
            "rule 2 can never match: rule 1 has the same operation and partner",
        ),
        (
            "operation = \"cdr\"\npartner = \"DE*GDF\"",
            "operation = \"remote\"\npartner = \"DE-GDF\"",
            "route[1].partner",
            "can never match",
        ),
        (
            "default = \"clearing-house\"",
            "default = \"nowhere\"",
            "routing.default",
            "'nowhere' is not a route",
        ),
    ];
    for (from, to, key, problem) in cases {
        assert!(CONFIG.contains(from), "{from}");
        let config = config_file("bad", &CONFIG.replacen(from, to, 1));
        let out = explain("ChargeDetailRecord", "DE-GDF", &config);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        let prefix = format!("error: {}: {key}: ", config.display());
        assert!(err.starts_with(&prefix), "{prefix}\n{err}");
        assert!(err.contains(problem), "{problem}\n{err}");
        assert!(stdout(&out).is_empty());
        std::fs::remove_file(&config).unwrap();
    }
    let missing = std::env::temp_dir().join("roambridge-routes-cli-no-such-file.toml");
    let out = explain("ChargeDetailRecord", "DE-GDF", &missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}
