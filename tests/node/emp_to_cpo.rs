//! EMP-side operations in the pair topology: EMP backend -> EMP node -> CPO node -> CPO
//! backend, and the EMP peer pulling the CPO node's store.

use roambridge::oicp::v23::evse_data::PushEvseData;
use serde_json::json;

use crate::harness::{ack, post};
use crate::support::{
    authorize_start_rfid, authorized, days_from_now, deliveries_settled, post_until, request,
    request_without,
};
use crate::topology::{CPO_BACKEND, EMP_BACKEND, GDF_TO_GEF, pair};

#[actix_web::test]
async fn remote_start_reaches_the_cpo_backend_with_a_session_minted_by_the_emp_node() {
    // Arrange
    let p = pair().await;
    let body = request_without("AuthorizeRemoteStart", &["SessionID"]);

    // Act
    let a = post(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        Some(EMP_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["Result"], true);
    let session = a.body["SessionID"]
        .as_str()
        .expect("a SessionID in the ack");
    let got = p.cpo_backend.received_at("authorize-remote/start");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].path,
        "/api/oicp/charging/v21/providers/DE-GDF/authorize-remote/start"
    );
    assert_eq!(got[0].body["SessionID"], session);
    assert_eq!(got[0].body["ProviderID"], "DE-GDF");
    assert_eq!(got[0].body["EvseID"], "DE*GEF*E0001*1");
    assert_eq!(got[0].body["Identification"], body["Identification"]);
    assert_eq!(got[0].body["EMPPartnerSessionID"], "emp-session-0815");
    assert!(p.emp_backend.received().is_empty());
}

#[actix_web::test]
async fn notifications_and_the_cdr_of_a_remote_start_find_the_emp_by_the_session() {
    // Arrange
    let p = pair().await;
    let start = post(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        Some(EMP_BACKEND),
        &request_without("AuthorizeRemoteStart", &["SessionID"]),
    )
    .await;
    let session = start.body["SessionID"].as_str().unwrap().to_owned();
    // RFID identification and no HubProviderID: nothing in the messages names the EMP.
    let mut notification = request("ChargingNotificationStart");
    notification["SessionID"] = json!(session);
    let mut cdr = request_without("ChargeDetailRecord", &["HubProviderID", "HubOperatorID"]);
    cdr["SessionID"] = json!(session);

    // Act
    let n = post(
        &p.cpo_url("/notificationmgmt/v11/charging-notifications"),
        Some(CPO_BACKEND),
        &notification,
    )
    .await;
    let c = post(
        &p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"),
        Some(CPO_BACKEND),
        &cdr,
    )
    .await;
    let notifications = p.emp_backend.wait_for("charging-notifications", 1).await;
    let cdrs = p.emp_backend.wait_for("charge-detail-record", 1).await;

    // Assert
    assert_eq!(
        (n.code(), c.code()),
        ("000", "000"),
        "{:?} {:?}",
        n.body,
        c.body
    );
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].body["SessionID"], session.as_str());
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].body["SessionID"], session.as_str());
}

#[actix_web::test]
async fn remote_stop_reaches_the_cpo_backend() {
    // Arrange
    let p = pair().await;
    let body = request("AuthorizeRemoteStop");

    // Act
    let a = post(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/stop"),
        Some(EMP_BACKEND),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["Result"], true);
    assert_eq!(a.body["SessionID"], body["SessionID"]);
    let got = p.cpo_backend.received_at("authorize-remote/stop");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].path,
        "/api/oicp/charging/v21/providers/DE-GDF/authorize-remote/stop"
    );
    assert_eq!(got[0].body["SessionID"], body["SessionID"]);
    assert_eq!(got[0].body["EvseID"], "DE*GEF*E0001*1");
}

#[actix_web::test]
async fn reservations_reach_the_cpo_backend_on_both_paths() {
    // Arrange
    let p = pair().await;
    let start = request_without("AuthorizeRemoteReservationStart", &["SessionID"]);
    let stop = request("AuthorizeRemoteReservationStop");

    // Act
    let standard = post(
        &p.emp_url("/reservation/v11/providers/DE-GDF/reservation-start-request"),
        Some(EMP_BACKEND),
        &start,
    )
    .await;
    let alternative = post(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote-reservation/start"),
        Some(EMP_BACKEND),
        &start,
    )
    .await;
    let stopped = post(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote-reservation/stop"),
        Some(EMP_BACKEND),
        &stop,
    )
    .await;

    // Assert
    for a in [&standard, &alternative, &stopped] {
        assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
        assert_eq!(a.body["Result"], true);
    }
    let s1 = standard.body["SessionID"].as_str().expect("a SessionID");
    let s2 = alternative.body["SessionID"].as_str().expect("a SessionID");
    assert_ne!(s1, s2, "each reservation gets its own session");
    let starts = p.cpo_backend.received_at("reservation-start-request");
    assert_eq!(starts.len(), 2);
    assert_eq!(
        starts[0].path,
        "/api/oicp/reservation/v11/providers/DE-GDF/reservation-start-request"
    );
    assert_eq!(starts[0].body["SessionID"], s1);
    assert_eq!(starts[1].body["SessionID"], s2);
    assert_eq!(starts[1].body["Duration"], 15);
    let stops = p.cpo_backend.received_at("reservation-stop-request");
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].body["SessionID"], stop["SessionID"]);
}

#[actix_web::test]
async fn get_charge_detail_records_returns_the_cdr_the_cpo_sent() {
    // Arrange
    let p = pair().await;
    let c = post(
        &p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"),
        Some(CPO_BACKEND),
        &request("ChargeDetailRecord"),
    )
    .await;
    assert_eq!(c.code(), "000", "{:?}", c.body);
    let url = p.emp_url("/cdrmgmt/v22/providers/DE-GDF/get-charge-detail-records-request");

    // Act
    let recent = post_until(
        &url,
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "From": days_from_now(-1), "To": days_from_now(1)}),
        |a| a.body["totalElements"] == 1,
    )
    .await;
    let old = post(
        &url,
        Some(EMP_BACKEND),
        &json!({"ProviderID": "DE-GDF", "From": days_from_now(-3), "To": days_from_now(-2)}),
    )
    .await;

    // Assert
    assert_eq!(
        (recent.status, recent.code()),
        (200, "000"),
        "{:?}",
        recent.body
    );
    let content = recent.body["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(
        content[0]["SessionID"],
        "b2688855-7f00-0002-6d8e-48d883f6abb6"
    );
    assert_eq!(content[0]["EvseID"], "DE*GEF*E0001*1");
    assert_eq!(content[0]["ConsumedEnergy"], 30.541);
    assert_eq!(
        content[0]["SignedMeteringValues"].as_array().unwrap().len(),
        3
    );
    assert_eq!(old.code(), "000");
    assert_eq!(old.body["content"], json!([]));
}

#[actix_web::test]
async fn get_charge_detail_records_filters_on_whether_the_cdr_was_forwarded() {
    // Arrange: the CDR went CPO node -> EMP node -> EMP backend.
    let p = pair().await;
    post(
        &p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"),
        Some(CPO_BACKEND),
        &request("ChargeDetailRecord"),
    )
    .await;
    p.emp_backend.wait_for("charge-detail-record", 1).await;
    deliveries_settled(&p.emp, "backend:DEGDF", 1).await;
    let url = p.emp_url("/cdrmgmt/v22/providers/DE-GDF/get-charge-detail-records-request");
    let query = |forwarded: bool| {
        json!({"ProviderID": "DE-GDF", "From": days_from_now(-1), "To": days_from_now(1),
            "CDRForwarded": forwarded})
    };

    // Act
    let forwarded = post_until(&url, Some(EMP_BACKEND), &query(true), |a| {
        a.body["totalElements"] == 1
    })
    .await;
    let not_forwarded = post(&url, Some(EMP_BACKEND), &query(false)).await;

    // Assert
    assert_eq!(forwarded.code(), "000", "{:?}", forwarded.body);
    assert_eq!(forwarded.body["content"].as_array().unwrap().len(), 1);
    assert_eq!(not_forwarded.code(), "000", "{:?}", not_forwarded.body);
    assert_eq!(not_forwarded.body["content"], json!([]));
}

#[actix_web::test]
async fn pushed_authentication_data_authorizes_offline_on_the_cpo_node() {
    // Arrange
    let p = pair().await;
    let push = post(
        &p.emp_url("/authdata/v21/providers/DE-GDF/push-request"),
        Some(EMP_BACKEND),
        &request("PushAuthenticationData"),
    )
    .await;
    let record = deliveries_settled(&p.emp, "peer:DEGEF", 1).await;

    // Act
    let a = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/start"),
        Some(CPO_BACKEND),
        &authorize_start_rfid("1234ABCD"),
    )
    .await;

    // Assert
    assert_eq!((push.status, push.code()), (200, "000"), "{:?}", push.body);
    assert_eq!((record.delivered, record.failed), (1, 0), "{record:?}");
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized");
    assert_eq!(a.body["ProviderID"], "DE-GDF");
    assert!(a.body["SessionID"].is_string());
    assert_eq!(a.body["CPOPartnerSessionID"], "cpo-77");
    // Offline: nobody was asked.
    assert!(p.emp_backend.received().is_empty());
}

#[actix_web::test]
async fn the_notification_cdr_and_stop_of_an_offline_session_reach_the_emp_backend() {
    // Arrange: a session the CPO node authorized from pushed data; the EMP node never saw it,
    // and the messages (RFID card, no HubProviderID) do not name the EMP.
    let p = pair().await;
    post(
        &p.emp_url("/authdata/v21/providers/DE-GDF/push-request"),
        Some(EMP_BACKEND),
        &request("PushAuthenticationData"),
    )
    .await;
    deliveries_settled(&p.emp, "peer:DEGEF", 1).await;
    let start = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/start"),
        Some(CPO_BACKEND),
        &authorize_start_rfid("1234ABCD"),
    )
    .await;
    let session = start.body["SessionID"].as_str().unwrap().to_owned();
    let mut notification = request("ChargingNotificationStart");
    notification["SessionID"] = json!(session);
    let mut cdr = request_without("ChargeDetailRecord", &["HubProviderID", "HubOperatorID"]);
    cdr["SessionID"] = json!(session);
    let mut stop = request("AuthorizeStop");
    stop["SessionID"] = json!(session);
    p.emp_backend.answer("authorize/stop", authorized());

    // Act
    let n = post(
        &p.cpo_url("/notificationmgmt/v11/charging-notifications"),
        Some(CPO_BACKEND),
        &notification,
    )
    .await;
    let c = post(
        &p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"),
        Some(CPO_BACKEND),
        &cdr,
    )
    .await;
    let s = post(
        &p.cpo_url("/charging/v21/operators/DE*GEF/authorize/stop"),
        Some(CPO_BACKEND),
        &stop,
    )
    .await;
    let cdrs = p.emp_backend.wait_for("charge-detail-record", 1).await;
    let record = deliveries_settled(&p.cpo, "peer:DEGDF", 2).await;

    // Assert
    assert_eq!(start.body["AuthorizationStatus"], "Authorized");
    assert_eq!((n.code(), c.code()), ("000", "000"));
    assert_eq!((record.delivered, record.failed), (2, 0), "{record:?}");
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].body["SessionID"], session.as_str());
    assert_eq!(p.emp_backend.received_at("charging-notifications").len(), 1);
    assert_eq!(
        (s.code(), &s.body["AuthorizationStatus"]),
        ("000", &json!("Authorized"))
    );
    assert_eq!(p.emp_backend.received_at("authorize/stop").len(), 1);
}

#[actix_web::test]
async fn an_emp_peer_pulling_the_cpo_node_sees_only_the_cpo_own_data() {
    // Arrange
    let p = pair().await;
    let own = post(
        &p.cpo_url("/evsepush/v23/operators/DE*GEF/data-records"),
        Some(CPO_BACKEND),
        &request("PushEvseData"),
    )
    .await;
    assert_eq!(own.code(), "000", "{:?}", own.body);
    let mut foreign = request("PushEvseData");
    foreign["OperatorEvseData"]["OperatorID"] = json!("DE*ABC");
    foreign["OperatorEvseData"]["EvseDataRecord"][0]["EvseID"] = json!("DE*ABC*E0001*1");
    foreign["OperatorEvseData"]["EvseDataRecord"][0]["HubOperatorID"] = json!("DE*ABC");
    foreign["OperatorEvseData"]["EvseDataRecord"][1]["EvseID"] = json!("DE*ABC*E0002*1");
    let foreign: PushEvseData = serde_json::from_value(foreign).unwrap();
    let data = &foreign.operator_evse_data;
    p.cpo
        .state
        .store
        .apply_evse_data(
            &data.operator_id,
            data.operator_name.as_str(),
            foreign.action_type.clone(),
            &data.evse_data_record,
            chrono::Utc::now(),
            &[],
        )
        .await
        .unwrap();

    // Act
    let a = post(
        &p.cpo_url("/evsepull/v23/providers/DE-GDF/data-records"),
        Some(GDF_TO_GEF),
        &json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    let ids: Vec<&str> = a.body["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["EvseID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["DE*GEF*E0001*1", "DE*GEF*E0002*1"]);
    assert_eq!(a.body["totalElements"], 2);
}

#[actix_web::test]
async fn a_business_failure_of_the_cpo_backend_reaches_the_emp_backend() {
    // Arrange
    let p = pair().await;
    p.cpo_backend
        .answer("authorize-remote/start", ack(false, "501"));

    // Act
    let a = post(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        Some(EMP_BACKEND),
        &request_without("AuthorizeRemoteStart", &["SessionID"]),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "501"), "{:?}", a.body);
    assert_eq!(a.body["Result"], false);
    assert_eq!(p.cpo_backend.received_at("authorize-remote/start").len(), 1);
}
