//! The CPO platform side, Tokens Receiver: an eMSP creates, patches and reads its tokens.

use serde_json::{Value, json};

use crate::cpo_locations::cpo_and_emsp;
use crate::harness::{OcpiNode, ocpi};

fn token_body(uid: &str) -> Value {
    json!({
        "country_code": "DE", "party_id": "GDF", "uid": uid, "type": "RFID",
        "contract_id": "DE-GDF-C12345678-X", "issuer": "GDF Mobility", "valid": true,
        "whitelist": "ALLOWED", "last_updated": "2025-01-01T00:00:00Z"
    })
}

#[actix_web::test]
async fn an_emsp_puts_patches_and_gets_its_tokens() {
    let (cpo, emp, auth) = cpo_and_emsp().await;
    let url = |uid: &str| cpo.at(&format!("/ocpi/2.2.1/receiver/tokens/DE/GDF/{uid}"));

    let created = ocpi("PUT", &url("04A1B2C3"), &auth, Some(token_body("04A1B2C3"))).await;
    assert_eq!((created.status, created.code()), (201, 1000), "{created:?}");
    let replaced = ocpi("PUT", &url("04A1B2C3"), &auth, Some(token_body("04a1b2c3"))).await;
    assert_eq!(
        (replaced.status, replaced.code()),
        (200, 1000),
        "{replaced:?}"
    );
    // Stored for local authorization, found without regard to case.
    let stored = cpo
        .state
        .store
        .ocpi_cpo_tokens_by_uid("04A1B2C3")
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);

    let patched = ocpi(
        "PATCH",
        &format!("{}?type=RFID", url("04a1b2c3")),
        &auth,
        Some(json!({"valid": false, "last_updated": "2025-01-02T00:00:00Z"})),
    )
    .await;
    assert_eq!(patched.code(), 1000, "{patched:?}");
    let got = ocpi("GET", &url("04A1B2C3"), &auth, None).await;
    assert_eq!(got.code(), 1000, "{got:?}");
    assert_eq!(got.body["data"]["valid"], false);
    assert_eq!(got.body["data"]["issuer"], "GDF Mobility");
    assert_eq!(got.body["data"]["last_updated"], "2025-01-02T00:00:00Z");

    // Another type of the same uid is another token.
    let other = ocpi(
        "GET",
        &format!("{}?type=APP_USER", url("04A1B2C3")),
        &auth,
        None,
    )
    .await;
    assert_eq!((other.status, other.code()), (404, 2004), "{other:?}");
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn bad_token_requests_are_refused_with_their_codes() {
    let (cpo, emp, auth) = cpo_and_emsp().await;
    let base = cpo.at("/ocpi/2.2.1/receiver/tokens");

    // Not the caller's party: 404 with 2001.
    let theirs = ocpi(
        "PUT",
        &format!("{base}/NL/XYZ/T1"),
        &auth,
        Some(token_body("T1")),
    )
    .await;
    assert_eq!((theirs.status, theirs.code()), (404, 2001), "{theirs:?}");
    // URL and body disagree: 2001.
    let mismatch = ocpi(
        "PUT",
        &format!("{base}/DE/GDF/T2"),
        &auth,
        Some(token_body("T1")),
    )
    .await;
    assert_eq!(
        (mismatch.status, mismatch.code()),
        (200, 2001),
        "{mismatch:?}"
    );
    assert!(
        mismatch.body["status_message"]
            .as_str()
            .unwrap()
            .contains("$.uid")
    );
    // A body breaking the model: 2001 with the JSON path.
    let mut missing = token_body("T1");
    missing.as_object_mut().unwrap().remove("contract_id");
    let invalid = ocpi("PUT", &format!("{base}/DE/GDF/T1"), &auth, Some(missing)).await;
    assert_eq!(invalid.code(), 2001, "{invalid:?}");
    assert!(
        invalid.body["status_message"]
            .as_str()
            .unwrap()
            .contains("$.contract_id"),
        "{invalid:?}"
    );
    // Not JSON: HTTP 400.
    let not_json = crate::harness::call(
        "PUT",
        &format!("{base}/DE/GDF/T1"),
        &[("Authorization", auth.as_str())],
        Some(b"{nope".to_vec()),
    )
    .await;
    assert_eq!(not_json.status, 400, "{not_json:?}");
    // An unknown type: 2001.
    let bad_type = ocpi("GET", &format!("{base}/DE/GDF/T1?type=CARD"), &auth, None).await;
    assert_eq!(bad_type.code(), 2001, "{bad_type:?}");
    // PATCH without last_updated, or of an unknown token.
    ocpi(
        "PUT",
        &format!("{base}/DE/GDF/T1"),
        &auth,
        Some(token_body("T1")),
    )
    .await;
    let no_stamp = ocpi(
        "PATCH",
        &format!("{base}/DE/GDF/T1"),
        &auth,
        Some(json!({"valid": false})),
    )
    .await;
    assert_eq!(no_stamp.code(), 2001, "{no_stamp:?}");
    let unknown = ocpi(
        "PATCH",
        &format!("{base}/DE/GDF/T9"),
        &auth,
        Some(json!({"valid": false, "last_updated": "2025-01-02T00:00:00Z"})),
    )
    .await;
    assert_eq!((unknown.status, unknown.code()), (404, 2004), "{unknown:?}");
    // A PATCH that breaks the token: 2001.
    let broken = ocpi(
        "PATCH",
        &format!("{base}/DE/GDF/T1"),
        &auth,
        Some(json!({"whitelist": "SOMETIMES", "last_updated": "2025-01-02T00:00:00Z"})),
    )
    .await;
    assert_eq!(broken.code(), 2001, "{broken:?}");
    // Without credentials: 401.
    let anonymous = ocpi("GET", &format!("{base}/DE/GDF/T1"), "", None).await;
    assert_eq!(anonymous.status, 401);
    // The version details list the module as RECEIVER.
    let details = ocpi("GET", &cpo.at("/ocpi/2.2.1"), &auth, None).await;
    let endpoints = details.body["data"]["endpoints"].as_array().unwrap();
    assert!(
        endpoints
            .iter()
            .any(|e| e["identifier"] == "tokens" && e["role"] == "RECEIVER")
    );
    cpo.stop().await;
    emp.stop().await;
}
