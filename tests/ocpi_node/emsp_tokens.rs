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

#[actix_web::test]
async fn a_cpo_authorizes_a_token_through_the_emp_backend() {
    let (emp, _cpo, backend, tok) = pair().await;
    let put = ocpi(
        "PUT",
        &emp.at("/ocpi/2.2.1/receiver/locations/DE/GEF/LOC1"),
        &tok,
        Some(crate::emsp_receiver::location(
            "LOC1",
            "2024-03-01T10:00:00Z",
        )),
    )
    .await;
    assert_eq!(put.status, 201, "{put:?}");
    let session = "a1b2c3d4-0f1e-4d6a-9c3b-6f0e1d2c3b4a";
    backend.respond(move |path, body| {
        (path.contains("authorize/start")).then(|| {
            let uid = &body["Identification"]["RFIDMifareFamilyIdentification"]["UID"];
            if uid == "1234ABCD" {
                (
                    200,
                    json!({"AuthorizationStatus": "Authorized", "SessionID": session, "StatusCode": {"Code": "000"}}),
                )
            } else if uid == "9999ABCD" {
                (
                    200,
                    json!({"AuthorizationStatus": "NotAuthorized", "StatusCode": {"Code": "106"}}),
                )
            } else {
                (
                    200,
                    json!({"AuthorizationStatus": "NotAuthorized", "StatusCode": {"Code": "102"}}),
                )
            }
        })
    });
    let url = |uid: &str| emp.at(&format!("/ocpi/2.2.1/tokens/{uid}/authorize?type=RFID"));
    let refs = json!({"location_id": "LOC1", "evse_uids": ["LOC1-E1"]});
    let ok = ocpi("POST", &url("1234ABCD"), &tok, Some(refs.clone())).await;
    assert_eq!((ok.status, ok.code()), (200, 1000), "{ok:?}");
    assert_eq!(ok.body["data"]["allowed"], "ALLOWED");
    assert_eq!(ok.body["data"]["authorization_reference"], session);
    assert_eq!(ok.body["data"]["token"]["uid"], "1234ABCD");
    assert_eq!(ok.body["data"]["location"]["location_id"], "LOC1");
    // The backend was asked for the CPO's operator and the EVSE of the Location we hold.
    let asked = backend.received_at("authorize/start");
    assert!(
        asked[0].path.contains("/operators/DE*GEF/"),
        "{}",
        asked[0].path
    );
    assert_eq!(asked[0].body["EvseID"], "DE*GEF*ELOC1*1");

    let blocked = ocpi("POST", &url("9999ABCD"), &tok, None).await;
    assert_eq!(
        blocked.body["data"]["allowed"], "NOT_ALLOWED",
        "{blocked:?}"
    );
    let unknown = ocpi("POST", &url("5555ABCD"), &tok, None).await;
    assert_eq!((unknown.status, unknown.code()), (404, 2004), "{unknown:?}");
    // A uid that is no OICP UID: unknown too, and the backend is not asked.
    let before = backend.received_at("authorize/start").len();
    let odd = ocpi("POST", &url("not-a-uid"), &tok, None).await;
    assert_eq!((odd.status, odd.code()), (404, 2004), "{odd:?}");
    assert_eq!(backend.received_at("authorize/start").len(), before);
    // A backend that does not answer: 3000.
    backend.stop().await;
    // A stopped actix server may finish a request on a kept-alive connection while its workers
    // wind down (seen under load); the answer must turn to 3000 once they are gone.
    let mut down = ocpi("POST", &url("1234ABCD"), &tok, None).await;
    for _ in 0..40 {
        if down.status == 500 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        down = ocpi("POST", &url("1234ABCD"), &tok, None).await;
    }
    assert_eq!((down.status, down.code()), (500, 3000), "{down:?}");
}
