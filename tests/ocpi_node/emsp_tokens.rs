//! Tokens SENDER of the eMSP side: the EMP backend's pushed authentication data, listed as
//! OCPI Tokens with pagination and date filters.

use serde_json::json;

use crate::emsp_receiver::{BACKEND, pair};
use crate::harness::{OcpiNode, ocpi};
use crate::oicp_harness::post;

#[actix_web::test]
async fn pushed_authentication_data_is_listed_as_tokens_page_by_page() {
    let (emp, _cpo, _backend, tok) = pair().await;
    let records: Vec<_> = ["1234ABCD", "2234ABCD", "3234ABCD"]
        .iter()
        .map(|uid| json!({"Identification": {"RFIDMifareFamilyIdentification": {"UID": uid}}}))
        .collect();
    let push = post(
        &format!("{}/authdata/v21/providers/DE-GDF/push-request", emp.url()),
        Some(BACKEND),
        &json!({"ActionType": "fullLoad", "ProviderAuthenticationData": {
            "ProviderID": "DE-GDF", "AuthenticationDataRecord": records}}),
    )
    .await;
    assert_eq!(push.status, 200, "{:?}", push.body);
    assert_eq!(push.body["Result"], true, "{:?}", push.body);

    let first = ocpi("GET", &emp.at("/ocpi/2.2.1/tokens?limit=2"), &tok, None).await;
    assert_eq!((first.status, first.code()), (200, 1000), "{first:?}");
    assert_eq!(first.header("x-total-count"), Some("3"));
    let tokens = first.body["data"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[0]["country_code"], "DE");
    assert_eq!(tokens[0]["party_id"], "GDF");
    assert_eq!(tokens[0]["type"], "RFID");
    assert_eq!(tokens[0]["issuer"], "GDF Mobility");
    assert_eq!(tokens[0]["valid"], true);
    let link = first.header("link").unwrap();
    let next = link
        .split(';')
        .next()
        .unwrap()
        .trim_matches(|c| c == '<' || c == '>')
        .to_owned();
    let second = ocpi("GET", &next, &tok, None).await;
    let rest = second.body["data"].as_array().unwrap();
    assert_eq!(rest.len(), 1, "{second:?}");
    assert!(second.header("link").is_none());
    let mut uids: Vec<&str> = tokens
        .iter()
        .chain(rest)
        .map(|t| t["uid"].as_str().unwrap())
        .collect();
    uids.sort_unstable();
    assert_eq!(uids, ["1234ABCD", "2234ABCD", "3234ABCD"]);

    // Nothing changed after a date in the future.
    let later = ocpi(
        "GET",
        &emp.at("/ocpi/2.2.1/tokens?date_from=2999-01-01T00:00:00Z"),
        &tok,
        None,
    )
    .await;
    assert_eq!(later.body["data"], json!([]), "{later:?}");
    assert_eq!(later.header("x-total-count"), Some("0"));
    // Bad paging parameters: 2001. A token A: 401.
    let bad = ocpi("GET", &emp.at("/ocpi/2.2.1/tokens?limit=0"), &tok, None).await;
    assert_eq!(bad.code(), 2001);
    let a = emp.token_a(None).await;
    let refused = ocpi(
        "GET",
        &emp.at("/ocpi/2.2.1/tokens"),
        &crate::harness::token(&a),
        None,
    )
    .await;
    assert_eq!(refused.status, 401);
}
