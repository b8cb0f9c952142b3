//! A status push from the CPO backend reaches the EMP node and its backend can pull it.

use serde_json::json;

use crate::harness::post;
use crate::topology::{CPO_BACKEND, EMP_BACKEND, pair};

#[actix_web::test]
async fn status_push_travels_from_cpo_backend_to_emp_backend_pull() {
    let p = pair().await;
    let push = json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*GEF",
        "EvseStatusRecord": [{"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Occupied"}]}});
    let a = post(
        &p.cpo_url("/evsepush/v21/operators/DE*GEF/status-records"),
        Some(CPO_BACKEND),
        &push,
    )
    .await;
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["Result"], true);
    assert!(a.process_id.is_some());

    let pull = json!({"ProviderID": "DE-GDF", "EvseID": ["DE*GEF*E0001*1"]});
    let url = p.emp_url("/evsepull/v21/providers/DE-GDF/status-records-by-id");
    let mut status = String::new();
    for _ in 0..200 {
        let a = post(&url, Some(EMP_BACKEND), &pull).await;
        status = a.body["EVSEStatusRecords"]["EvseStatusRecord"][0]["EvseStatus"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if status == "Occupied" {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, "Occupied");
}
