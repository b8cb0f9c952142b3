//! One round trip per message type: our own strictly valid fixture for every request and
//! response body parses, validates, and serializes back to the same JSON.

use std::path::PathBuf;

use roambridge::oicp::v23::operations::{BodyKind, Operation};

fn fixture(op: Operation, kind: BodyKind) -> (PathBuf, Vec<u8>) {
    let suffix = match kind {
        BodyKind::Request => "request",
        BodyKind::Response => "response",
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/oicp/valid")
        .join(format!("{}.{suffix}.json", op.name()));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, bytes)
}

#[test]
fn every_request_and_response_round_trips() {
    let mut checked = 0;
    for op in Operation::ALL {
        for kind in [BodyKind::Request, BodyKind::Response] {
            let (path, bytes) = fixture(*op, kind);
            let original: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let written = op
                .round_trip(kind, &bytes)
                .unwrap_or_else(|errors| panic!("{} is not valid: {errors:#?}", path.display()));
            assert_eq!(
                written,
                original,
                "{} changed in the round trip",
                path.display()
            );
            // And the written form parses to the same again.
            let again = op
                .round_trip(kind, &serde_json::to_vec(&written).unwrap())
                .unwrap();
            assert_eq!(again, written, "{}", path.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 46);
}

#[test]
fn unknown_members_survive_at_every_level() {
    let (_, bytes) = fixture(Operation::PushEvseData, BodyKind::Request);
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value["CustomData"] = serde_json::json!({"source": "test", "n": [1, 2]});
    value["OperatorEvseData"]["EvseDataRecord"][0]["VendorExtension"] = serde_json::json!("kept");
    value["OperatorEvseData"]["EvseDataRecord"][0]["Address"]["Unknown"] = serde_json::json!(null);
    let written = Operation::PushEvseData
        .round_trip(BodyKind::Request, &serde_json::to_vec(&value).unwrap())
        .unwrap();
    assert_eq!(written, value);
}

#[test]
fn explicit_nulls_for_optional_members_are_accepted_and_dropped() {
    let body =
        br#"{"Result":true,"StatusCode":{"Code":"000","Description":null,"AdditionalInfo":null},
        "SessionID":null,"CPOPartnerSessionID":null,"EMPPartnerSessionID":null}"#;
    let written = Operation::PushEvseStatus
        .round_trip(BodyKind::Response, body)
        .unwrap();
    assert_eq!(
        written,
        serde_json::json!({"Result": true, "StatusCode": {"Code": "000"}})
    );
}
