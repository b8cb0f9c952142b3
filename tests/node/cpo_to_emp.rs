//! CPO-side operations in the pair topology: CPO backend -> CPO node -> EMP node (-> EMP
//! backend where the EMP node forwards), and the EMP backend pulling what arrived.

use serde_json::{Value, json};

use crate::harness::post;
use crate::support::{
    authorized, days_from_now, deliveries_settled, post_until, request, request_without,
};
use crate::topology::{CPO_BACKEND, EMP_BACKEND, Pair, pair};

const SESSION: &str = "b2688855-7f00-0002-6d8e-48d883f6abb6";

/// The CPO backend authorizes a QR code of DE-GDF (the EMP backend says Authorized); returns
/// the `SessionID` the CPO backend got.
async fn authorized_session(p: &Pair) -> String {
    p.emp_backend.answer("authorize/start", authorized());
    let body = request_without("AuthorizeStart", &["SessionID"]);
    let a = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/start"),
        Some(CPO_BACKEND),
        &body,
    )
    .await;
    assert_eq!(a.body["AuthorizationStatus"], "Authorized", "{:?}", a.body);
    a.body["SessionID"].as_str().unwrap().to_owned()
}

fn pull_evse_data(filters: &Value) -> Value {
    let mut body = json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"});
    for (k, v) in filters.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[actix_web::test]
async fn evse_data_push_reaches_the_emp_node_and_is_pulled_with_paging_and_filters() {
    // Arrange
    let p = pair().await;
    let push = request("PushEvseData");

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v23/operators/DE*GEF/data-records"),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    let page = post_until(
        &p.emp_url("/evsepull/v23/providers/DE-GDF/data-records?page=1&size=1"),
        Some(EMP_BACKEND),
        &pull_evse_data(&json!({})),
        |a| a.body["totalElements"] == 2,
    )
    .await;
    let descending = post(
        &p.emp_url("/evsepull/v23/providers/DE-GDF/data-records?size=1&sort=EvseID,desc"),
        Some(EMP_BACKEND),
        &pull_evse_data(&json!({})),
    )
    .await;
    let filtered = post(
        &p.emp_url("/evsepull/v23/providers/DE-GDF/data-records"),
        Some(EMP_BACKEND),
        &pull_evse_data(&json!({"RenewableEnergy": true})),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["Result"], true);
    assert_eq!((page.status, page.code()), (200, "000"), "{:?}", page.body);
    let content = page.body["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["EvseID"], "DE*GEF*E0002*1");
    assert_eq!(content[0]["OperatorID"], "DE*GEF");
    assert_eq!(page.body["number"], 1);
    assert_eq!(page.body["size"], 1);
    assert_eq!(page.body["totalPages"], 2);
    assert_eq!(page.body["first"], false);
    assert_eq!(page.body["last"], true);
    assert_eq!(descending.body["content"][0]["EvseID"], "DE*GEF*E0002*1");
    assert_eq!(descending.body["first"], true);
    let ids: Vec<&str> = filtered.body["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["EvseID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["DE*GEF*E0002*1"]);
    // Stored on the EMP node, not forwarded to its backend.
    assert!(p.emp_backend.received_at("evsepush").is_empty());
    let record = deliveries_settled(&p.cpo, "peer:DEGDF", 1).await;
    assert_eq!((record.delivered, record.failed), (1, 0));
}

#[actix_web::test]
async fn evse_status_push_is_pulled_all_by_id_and_by_operator() {
    // Arrange
    let p = pair().await;
    let by_id_url = p.emp_url("/evsepull/v21/providers/DE-GDF/status-records-by-id");
    let by_id = json!({"ProviderID": "DE-GDF", "EvseID": ["DE*GEF*E0001*1", "DE*GEF*E9999*9"]});

    // Act
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        &request("PushEvseStatus"),
    )
    .await;
    let ids = post_until(&by_id_url, Some(EMP_BACKEND), &by_id, |a| {
        a.body["EVSEStatusRecords"]["EvseStatusRecord"][0]["EvseStatus"] == "Occupied"
    })
    .await;
    let all = post(
        &p.emp_url("/evsepull/v21/providers/DE-GDF/status-records"),
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF"}),
    )
    .await;
    let reserved = post(
        &p.emp_url("/evsepull/v21/providers/DE-GDF/status-records"),
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "EvseStatus": "Reserved"}),
    )
    .await;
    let by_operator_url = p.emp_url("/evsepull/v21/providers/DE-GDF/status-records-by-operator-id");
    let by_operator = post(
        &by_operator_url,
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "OperatorID": ["DE*GEF"]}),
    )
    .await;
    let other_operator = post(
        &by_operator_url,
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "OperatorID": ["DE*ABC"]}),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(ids.code(), "000");
    let records = &ids.body["EVSEStatusRecords"]["EvseStatusRecord"];
    assert_eq!(records[0]["EvseID"], "DE*GEF*E0001*1");
    assert_eq!(records[0]["EvseStatus"], "Occupied");
    assert_eq!(records[1]["EvseID"], "DE*GEF*E9999*9");
    assert_eq!(records[1]["EvseStatus"], "EvseNotFound");
    let operators = all.body["EvseStatuses"]["OperatorEvseStatus"]
        .as_array()
        .unwrap();
    assert_eq!(operators.len(), 1, "{:?}", all.body);
    assert_eq!(operators[0]["OperatorID"], "DE*GEF");
    assert_eq!(
        operators[0]["EvseStatusRecord"].as_array().unwrap().len(),
        5
    );
    let reserved = &reserved.body["EvseStatuses"]["OperatorEvseStatus"][0]["EvseStatusRecord"];
    assert_eq!(reserved.as_array().unwrap().len(), 1, "{reserved}");
    assert_eq!(reserved[0]["EvseID"], "DE*GEF*E0002*1");
    assert_eq!(by_operator.code(), "000");
    assert_eq!(
        by_operator.body["EvseStatuses"]["OperatorEvseStatus"][0]["EvseStatusRecord"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(other_operator.code(), "000");
    assert_eq!(
        other_operator.body["EvseStatuses"]["OperatorEvseStatus"],
        json!([])
    );
}

#[actix_web::test]
async fn pricing_products_push_is_pulled_by_the_emp_backend() {
    // Arrange
    let p = pair().await;
    let url = p.emp_url("/dynamicpricing/v10/providers/DE-GDF/pricing-products");

    // Act
    let a = post(
        &p.cpo_url("/dynamicpricing/v10/operators/DE*GEF/pricing-products"),
        Some(CPO_BACKEND),
        &request("PushPricingProductData"),
    )
    .await;
    let pulled = post_until(
        &url,
        Some(EMP_BACKEND),
        &json!({"OperatorIDs": ["DE*GEF"]}),
        |a| {
            a.body["PricingProductData"]
                .as_array()
                .is_some_and(|l| !l.is_empty())
        },
    )
    .await;
    let other = post(&url, Some(EMP_BACKEND), &json!({"OperatorIDs": ["DE*XXX"]})).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(pulled.code(), "000", "{:?}", pulled.body);
    let data = &pulled.body["PricingProductData"];
    assert_eq!(data.as_array().unwrap().len(), 1);
    assert_eq!(data[0]["OperatorID"], "DE*GEF");
    assert_eq!(data[0]["ProviderID"], "DE-GDF");
    let products: Vec<&str> = data[0]["PricingProductDataRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ProductID"].as_str().unwrap())
        .collect();
    assert_eq!(products, ["AC1", "DC", "Standard Price"]);
    assert_eq!(other.code(), "000");
    assert_eq!(other.body["PricingProductData"], json!([]));
}

#[actix_web::test]
async fn evse_pricing_push_is_pulled_by_the_emp_backend() {
    // Arrange
    let p = pair().await;
    let url = p.emp_url("/dynamicpricing/v10/providers/DE-GDF/evse-pricing");

    // Act
    let a = post(
        &p.cpo_url("/dynamicpricing/v10/operators/DE*GEF/evse-pricing"),
        Some(CPO_BACKEND),
        &request("PushEvsePricing"),
    )
    .await;
    let pulled = post_until(
        &url,
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "OperatorIDs": ["DE*GEF"]}),
        |a| {
            a.body["EVSEPricing"]
                .as_array()
                .is_some_and(|l| !l.is_empty())
        },
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(pulled.code(), "000", "{:?}", pulled.body);
    let operator = &pulled.body["EVSEPricing"][0];
    assert_eq!(operator["OperatorID"], "DE*GEF");
    let mut entries: Vec<(String, String)> = operator["EVSEPricing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["EvseID"].as_str().unwrap().to_owned(),
                e["ProviderID"].as_str().unwrap_or("null").to_owned(),
            )
        })
        .collect();
    entries.sort();
    let expected = [
        ("DE*GEF*E0001*1", "*"),
        ("DE*GEF*E0001*1", "DE-GDF"),
        ("DE*GEF*E0002*1", "*"),
    ]
    .map(|(e, p)| (e.to_owned(), p.to_owned()));
    assert_eq!(entries, expected);
}

#[actix_web::test]
async fn authorize_start_is_answered_by_the_emp_backend_with_a_session_of_the_emp_node() {
    // Arrange
    let p = pair().await;
    p.emp_backend.answer("authorize/start", authorized());
    let body = request_without("AuthorizeStart", &["SessionID"]);

    // Act
    let a = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/start"),
        Some(CPO_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized");
    assert_eq!(a.body["ProviderID"], "DE-GDF");
    assert_eq!(a.body["CPOPartnerSessionID"], "cpo-session-4711");
    let session = a.body["SessionID"].as_str().expect("a SessionID");
    let got = p.emp_backend.received_at("authorize/start");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].path,
        "/api/oicp/charging/v21/operators/DE*GEF/authorize/start"
    );
    assert_eq!(got[0].body["SessionID"], session, "minted by the EMP node");
    assert_eq!(got[0].body["OperatorID"], "DE*GEF");
    assert_eq!(got[0].body["Identification"], body["Identification"]);
    // The node has no credential for its own backend; it never passes on a peer's token.
    assert_eq!(got[0].authorization, None);
    assert!(p.cpo_backend.received().is_empty());
    let on_cpo_node = p
        .cpo
        .state
        .store
        .session(&session.parse().unwrap())
        .await
        .unwrap()
        .expect("the CPO node recorded the session");
    assert_eq!(on_cpo_node.provider_id.unwrap().as_str(), "DE-GDF");
}

#[actix_web::test]
async fn authorize_stop_is_routed_by_the_session_of_authorize_start() {
    // Arrange
    let p = pair().await;
    let session = authorized_session(&p).await;
    p.emp_backend.answer("authorize/stop", authorized());
    // An RFID card names no provider: only the session tells the way.
    let mut stop = request("AuthorizeStop");
    stop["SessionID"] = json!(session);

    // Act
    let a = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/stop"),
        Some(CPO_BACKEND),
        &stop,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized");
    assert_eq!(a.body["ProviderID"], "DE-GDF");
    assert_eq!(a.body["SessionID"], session.as_str());
    let got = p.emp_backend.received_at("authorize/stop");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["SessionID"], session.as_str());
    assert_eq!(got[0].body["Identification"], stop["Identification"]);
}

#[actix_web::test]
async fn charging_notifications_reach_the_emp_backend_in_order() {
    // Arrange
    let p = pair().await;
    let session = authorized_session(&p).await;
    let url = p.cpo_url("/notificationmgmt/v11/charging-notifications");
    let kinds = ["Start", "Progress", "End", "Error"];

    // Act
    let mut answers = Vec::new();
    for kind in kinds {
        let mut n = request(&format!("ChargingNotification{kind}"));
        n["SessionID"] = json!(session);
        answers.push(post(&url, Some(CPO_BACKEND), &n).await);
    }
    let got = p.emp_backend.wait_for("charging-notifications", 4).await;

    // Assert
    for a in &answers {
        assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
        assert_eq!(a.body["Result"], true);
    }
    let types: Vec<&str> = got
        .iter()
        .map(|r| r.body["Type"].as_str().unwrap())
        .collect();
    assert_eq!(types, kinds);
    for r in &got {
        assert_eq!(
            r.path,
            "/api/oicp/notificationmgmt/v11/charging-notifications"
        );
        assert_eq!(r.body["SessionID"], session.as_str());
        assert_eq!(r.body["EvseID"], "DE*GEF*E0001*1");
    }
    assert_eq!(got[2].body["ConsumedEnergy"], 30.541);
}

#[actix_web::test]
async fn a_cdr_is_delivered_once_a_duplicate_is_acknowledged_and_a_conflict_refused() {
    // Arrange
    let p = pair().await;
    let url = p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record");
    let cdr = request("ChargeDetailRecord");
    let mut conflicting = cdr.clone();
    conflicting["ConsumedEnergy"] = json!(31.0);
    let mut marker = request("ChargingNotificationError");
    marker["SessionID"] = json!(SESSION);

    // Act
    let first = post(&url, Some(CPO_BACKEND), &cdr).await;
    let duplicate = post(&url, Some(CPO_BACKEND), &cdr).await;
    let conflict = post(&url, Some(CPO_BACKEND), &conflicting).await;
    // Deliveries to one target keep their order: once this notification arrived, a second
    // CDR would have arrived before it.
    let n = post(
        &p.cpo_url("/notificationmgmt/v11/charging-notifications"),
        Some(CPO_BACKEND),
        &marker,
    )
    .await;
    p.emp_backend.wait_for("charging-notifications", 1).await;
    let pulled = post(
        &p.emp_url("/cdrmgmt/v22/providers/DE-GDF/get-charge-detail-records-request"),
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "From": days_from_now(-1), "To": days_from_now(1)}),
    )
    .await;

    // Assert
    assert_eq!(
        (first.status, first.code()),
        (200, "000"),
        "{:?}",
        first.body
    );
    assert_eq!(first.body["Result"], true);
    assert_eq!(duplicate.code(), "000", "{:?}", duplicate.body);
    assert_eq!(duplicate.body["Result"], true);
    let description = duplicate.body["StatusCode"]["Description"]
        .as_str()
        .unwrap_or("");
    assert!(description.contains("duplicate"), "{description}");
    assert_eq!((conflict.status, conflict.code()), (200, "022"));
    assert_eq!(conflict.body["Result"], false);
    assert_eq!(n.code(), "000");
    let cdrs = p.emp_backend.received_at("charge-detail-record");
    assert_eq!(cdrs.len(), 1, "delivered exactly once");
    assert_eq!(
        cdrs[0].path,
        "/api/oicp/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"
    );
    assert_eq!(cdrs[0].body["SessionID"], SESSION);
    assert_eq!(cdrs[0].body["ConsumedEnergy"], 30.541);
    let content = pulled.body["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{:?}", pulled.body);
    assert_eq!(content[0]["ConsumedEnergy"], 30.541);
}
