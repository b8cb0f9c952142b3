//! The `Process-ID` header: the caller's is answered and propagated along the whole route,
//! else a UUID is generated.

use serde_json::json;

use crate::harness::post_raw;
use crate::support::request_without;
use crate::topology::{CPO_BACKEND, EMP_BACKEND, pair};

#[actix_web::test]
async fn a_process_id_is_answered_and_reaches_the_backend_two_hops_away() {
    // Arrange
    let p = pair().await;
    let body = request_without("AuthorizeRemoteStart", &["SessionID"]);

    // Act
    let a = post_raw(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        Some(EMP_BACKEND),
        serde_json::to_vec(&body).unwrap(),
        &[("Process-ID", "abc-123")],
    )
    .await;

    // Assert
    assert_eq!(a.code(), "000", "{:?}", a.body);
    assert_eq!(a.process_id.as_deref(), Some("abc-123"));
    let got = p.cpo_backend.received_at("authorize-remote/start");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].process_id.as_deref(), Some("abc-123"));
}

#[actix_web::test]
async fn a_process_id_travels_with_a_queued_push() {
    // Arrange
    let p = pair().await;
    let push = json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*GEF",
        "EvseStatusRecord": [{"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Occupied"}]}});
    let mut cdr = crate::support::request("ChargeDetailRecord");
    cdr["HubProviderID"] = json!("DE-GDF");

    // Act
    let a = post_raw(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        serde_json::to_vec(&push).unwrap(),
        &[("Process-ID", "push-42")],
    )
    .await;
    let c = post_raw(
        &p.cpo_url("/cdrmgmt/v22/operators/DE*GEF/charge-detail-record"),
        Some(CPO_BACKEND),
        serde_json::to_vec(&cdr).unwrap(),
        &[("Process-ID", "cdr-43")],
    )
    .await;
    let got = p.emp_backend.wait_for("charge-detail-record", 1).await;

    // Assert
    assert_eq!(a.process_id.as_deref(), Some("push-42"));
    assert_eq!(c.process_id.as_deref(), Some("cdr-43"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].process_id.as_deref(), Some("cdr-43"));
}

#[actix_web::test]
async fn without_a_process_id_a_uuid_is_generated_and_propagated() {
    // Arrange
    let p = pair().await;
    let body = request_without("AuthorizeRemoteStart", &["SessionID"]);

    // Act
    let a = post_raw(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        Some(EMP_BACKEND),
        serde_json::to_vec(&body).unwrap(),
        &[],
    )
    .await;
    let other = post_raw(
        &p.emp_url("/charging/v21/providers/DE-GDF/authorize-remote/start"),
        Some(EMP_BACKEND),
        serde_json::to_vec(&body).unwrap(),
        &[],
    )
    .await;

    // Assert
    assert_eq!(a.code(), "000", "{:?}", a.body);
    let pid = a.process_id.clone().expect("a Process-ID");
    assert!(uuid::Uuid::parse_str(&pid).is_ok(), "{pid}");
    assert_ne!(other.process_id, a.process_id);
    let got = p.cpo_backend.received_at("authorize-remote/start");
    assert_eq!(got[0].process_id.as_deref(), Some(pid.as_str()));
}

#[actix_web::test]
async fn even_a_refused_request_answers_its_process_id() {
    // Arrange
    let p = pair().await;

    // Act
    let a = post_raw(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        None,
        b"{}".to_vec(),
        &[("Process-ID", "refused-1")],
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (401, "017"));
    assert_eq!(a.process_id.as_deref(), Some("refused-1"));
}

#[actix_web::test]
async fn an_unusable_process_id_is_replaced_by_a_uuid() {
    // Arrange
    let p = pair().await;
    let long = "x".repeat(101);

    // Act
    let mut answers = Vec::new();
    for pid in ["with space", long.as_str()] {
        answers.push(
            post_raw(
                &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
                Some(CPO_BACKEND),
                b"{}".to_vec(),
                &[("Process-ID", pid)],
            )
            .await,
        );
    }

    // Assert
    for a in answers {
        let pid = a.process_id.expect("a Process-ID");
        assert!(uuid::Uuid::parse_str(&pid).is_ok(), "{pid}");
    }
}
