//! One node hosting two CPOs (DE*GEF, DE*ABC) and one EMP (DE-GDF): traffic between own
//! parties stays on the node and goes to the right backend.

use serde_json::json;

use crate::harness::{Double, Node, post};
use crate::support::{authorized, request, request_without};
use crate::topology::party;

const GEF: &str = "gef-backend";
const ABC: &str = "abc-backend";
const GDF: &str = "gdf-backend";

struct Dual {
    node: Node,
    gef: Double,
    abc: Double,
    gdf: Double,
}

async fn dual() -> Dual {
    let (gef, abc, gdf) = (
        Double::start().await,
        Double::start().await,
        Double::start().await,
    );
    let toml = [
        party("cpo", "DE*GEF", &gef, GEF),
        party("cpo", "DE*ABC", &abc, ABC),
        party("emp", "DE-GDF", &gdf, GDF),
    ]
    .join("\n");
    let node = Node::start(&toml).await;
    Dual {
        node,
        gef,
        abc,
        gdf,
    }
}

#[actix_web::test]
async fn authorize_start_for_a_local_emp_reaches_its_backend() {
    // Arrange
    let d = dual().await;
    d.gdf.answer("authorize/start", authorized());

    // Act
    let a = post(
        &format!(
            "{}/charging/v21/operators/DE*GEF/authorize/start",
            d.node.url()
        ),
        Some(GEF),
        &request_without("AuthorizeStart", &["SessionID"]),
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(a.body["AuthorizationStatus"], "Authorized");
    assert_eq!(a.body["ProviderID"], "DE-GDF");
    let got = d.gdf.received_at("authorize/start");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].path,
        "/api/oicp/charging/v21/operators/DE*GEF/authorize/start"
    );
    assert_eq!(got[0].body["SessionID"], a.body["SessionID"]);
    assert!(a.body["SessionID"].is_string());
    assert!(d.gef.received().is_empty());
    assert!(d.abc.received().is_empty());
}

#[actix_web::test]
async fn a_cdr_for_a_local_emp_reaches_its_backend() {
    // Arrange
    let d = dual().await;

    // Act
    let a = post(
        &format!(
            "{}/cdrmgmt/v22/operators/DE*GEF/charge-detail-record",
            d.node.url()
        ),
        Some(GEF),
        &request("ChargeDetailRecord"),
    )
    .await;
    let got = d.gdf.wait_for("charge-detail-record", 1).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].body["SessionID"],
        "b2688855-7f00-0002-6d8e-48d883f6abb6"
    );
}

#[actix_web::test]
async fn remote_start_for_an_evse_of_cpo_2_reaches_cpo_2_only() {
    // Arrange
    let d = dual().await;
    let mut body = request_without("AuthorizeRemoteStart", &["SessionID"]);
    body["EvseID"] = json!("DE*ABC*E0001*1");

    // Act
    let a = post(
        &format!(
            "{}/charging/v21/providers/DE-GDF/authorize-remote/start",
            d.node.url()
        ),
        Some(GDF),
        &body,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    let got = d.abc.received_at("authorize-remote/start");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["EvseID"], "DE*ABC*E0001*1");
    assert_eq!(got[0].body["SessionID"], a.body["SessionID"]);
    assert!(d.gef.received().is_empty());
    assert!(d.gdf.received().is_empty());
}

#[actix_web::test]
async fn the_backend_of_cpo_1_cannot_push_for_cpo_2() {
    // Arrange
    let d = dual().await;
    let push = json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*ABC",
        "EvseStatusRecord": [{"EvseID": "DE*ABC*E0001*1", "EvseStatus": "Occupied"}]}});

    // Act
    let a = post(
        &format!(
            "{}/evsepush/v21/operators/DE*ABC/status-records",
            d.node.url()
        ),
        Some(GEF),
        &push,
    )
    .await;
    let own = post(
        &format!(
            "{}/evsepush/v21/operators/DE*ABC/status-records",
            d.node.url()
        ),
        Some(ABC),
        &push,
    )
    .await;

    // Assert
    assert_eq!((a.status, a.code()), (401, "017"), "{:?}", a.body);
    assert_eq!((own.status, own.code()), (200, "000"), "{:?}", own.body);
}
