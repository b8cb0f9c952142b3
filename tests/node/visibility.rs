//! What an EMP peer sees when it pulls a node directly: only the data of the node's own CPOs,
//! even when the node (hosting an EMP too) stores pushes of a CPO peer.

use roambridge::config::Role;
use serde_json::{Value, json};

use crate::harness::{Double, Node, post};
use crate::support::{days_from_now, deliveries_settled, request};
use crate::topology::party;

const GEF: &str = "gef-backend";
const XYZ: &str = "xyz-backend";
const FROM_ABC: &str = "abc-in";
const FROM_GDF: &str = "gdf-in";

/// A node hosting CPO DE*GEF and EMP DE-XYZ, with the CPO peer DE*ABC and the EMP peer DE-GDF
/// (doubles); both CPOs pushed status, EVSE data, pricing and a CDR for DE-GDF.
async fn node_with_two_operators_data() -> (Node, Double) {
    let (gef, xyz, abc, gdf) = (
        Double::start().await,
        Double::start().await,
        Double::start().await,
        Double::start().await,
    );
    let toml = [
        party("cpo", "DE*GEF", &gef, GEF),
        party("emp", "DE-XYZ", &xyz, XYZ),
    ]
    .join("\n");
    let node = Node::start(&toml).await;
    node.add_peer(Role::Cpo, "DE*ABC", &abc.url(), None, Some(FROM_ABC), 500);
    node.add_peer(Role::Emp, "DE-GDF", &gdf.url(), None, Some(FROM_GDF), 500);
    for (operator, token) in [("DE*GEF", GEF), ("DE*ABC", FROM_ABC)] {
        let base = format!("{}/{{}}/operators/{operator}/{{}}", node.url());
        let url =
            |service: &str, what: &str| base.replacen("{}", service, 1).replacen("{}", what, 1);
        let evse = |n: u32| format!("{operator}*E000{n}*1");
        let mut data = request("PushEvseData");
        data["OperatorEvseData"]["OperatorID"] = json!(operator);
        data["OperatorEvseData"]["EvseDataRecord"][0]["EvseID"] = json!(evse(1));
        data["OperatorEvseData"]["EvseDataRecord"][0]["HubOperatorID"] = json!(operator);
        data["OperatorEvseData"]["EvseDataRecord"][1]["EvseID"] = json!(evse(2));
        let status = json!({"ActionType": "fullLoad", "OperatorEvseStatus": {"OperatorID": operator,
            "EvseStatusRecord": [{"EvseID": evse(1), "EvseStatus": "Available"}]}});
        let mut products = request("PushPricingProductData");
        products["PricingProductData"]["OperatorID"] = json!(operator);
        products["PricingProductData"]["ProviderID"] = json!("*");
        let pricing = json!({"ActionType": "fullLoad", "EVSEPricing": [
            {"EvseID": evse(1), "ProviderID": "*", "EvseIDProductList": ["AC1"]}]});
        let mut cdr = request("ChargeDetailRecord");
        cdr["EvseID"] = json!(evse(1));
        cdr["HubOperatorID"] = json!(operator);
        cdr["SessionID"] = json!(if operator == "DE*GEF" {
            "11111111-0000-0000-0000-000000000001"
        } else {
            "22222222-0000-0000-0000-000000000002"
        });
        for (url, body) in [
            (url("evsepush/v23", "data-records"), data),
            (url("evsepush/v21", "status-records"), status),
            (url("dynamicpricing/v10", "pricing-products"), products),
            (url("dynamicpricing/v10", "evse-pricing"), pricing),
        ] {
            let a = post(&url, Some(token), &body).await;
            assert_eq!(a.code(), "000", "{url}: {:?}", a.body);
        }
        if operator == "DE*GEF" {
            let a = post(
                &url("cdrmgmt/v22", "charge-detail-record"),
                Some(token),
                &cdr,
            )
            .await;
            assert_eq!(a.code(), "000", "{:?}", a.body);
        } else {
            // A CDR of the peer DE*ABC for DE-GDF is stored on its way... nowhere: DE-GDF is
            // not hosted here, so the node refuses it.
            let a = post(
                &url("cdrmgmt/v22", "charge-detail-record"),
                Some(token),
                &cdr,
            )
            .await;
            assert_eq!(a.code(), "210", "{:?}", a.body);
        }
    }
    deliveries_settled(&node, "peer:DEGDF", 5).await;
    (node, gdf)
}

fn operators(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|e| e[key].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn an_emp_peer_pulling_a_node_sees_only_its_own_operators() {
    // Arrange
    let (node, gdf) = node_with_two_operators_data().await;
    let url = |path: &str| format!("{}/{path}", node.url());

    // Act
    let data = post(
        &url("evsepull/v23/providers/DE-GDF/data-records"),
        Some(FROM_GDF),
        &json!({"ProviderID": "DE-GDF", "GeoCoordinatesResponseFormat": "Google"}),
    )
    .await;
    let status = post(
        &url("evsepull/v21/providers/DE-GDF/status-records"),
        Some(FROM_GDF),
        &json!({"ProviderID": "DE-GDF"}),
    )
    .await;
    let by_id = post(
        &url("evsepull/v21/providers/DE-GDF/status-records-by-id"),
        Some(FROM_GDF),
        &json!({"ProviderID": "DE-GDF", "EvseID": ["DE*GEF*E0001*1", "DE*ABC*E0001*1"]}),
    )
    .await;
    let by_operator = post(
        &url("evsepull/v21/providers/DE-GDF/status-records-by-operator-id"),
        Some(FROM_GDF),
        &json!({"ProviderID": "DE-GDF", "OperatorID": ["DE*GEF", "DE*ABC"]}),
    )
    .await;
    let products = post(
        &url("dynamicpricing/v10/providers/DE-GDF/pricing-products"),
        Some(FROM_GDF),
        &json!({"OperatorIDs": ["DE*GEF", "DE*ABC"]}),
    )
    .await;
    let pricing = post(
        &url("dynamicpricing/v10/providers/DE-GDF/evse-pricing"),
        Some(FROM_GDF),
        &json!({"ProviderID": "DE-GDF", "OperatorIDs": ["DE*GEF", "DE*ABC"]}),
    )
    .await;
    let cdrs = post(
        &url("cdrmgmt/v22/providers/DE-GDF/get-charge-detail-records-request"),
        Some(FROM_GDF),
        &json!({"ProviderID": "DE-GDF", "From": days_from_now(-1), "To": days_from_now(1)}),
    )
    .await;
    let local_emp = post(
        &url("evsepull/v21/providers/DE-XYZ/status-records"),
        Some(XYZ),
        &json!({"ProviderID": "DE-XYZ"}),
    )
    .await;

    // Assert
    for a in [
        &data,
        &status,
        &by_id,
        &by_operator,
        &products,
        &pricing,
        &cdrs,
    ] {
        assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    }
    assert_eq!(
        operators(&data.body["content"], "EvseID"),
        ["DE*GEF*E0001*1", "DE*GEF*E0002*1"]
    );
    let status_operators = &status.body["EvseStatuses"]["OperatorEvseStatus"];
    assert_eq!(operators(status_operators, "OperatorID"), ["DE*GEF"]);
    let records = &by_id.body["EVSEStatusRecords"]["EvseStatusRecord"];
    assert_eq!(records[0]["EvseStatus"], "Available");
    assert_eq!(records[1]["EvseStatus"], "EvseNotFound");
    let by_operator = &by_operator.body["EvseStatuses"]["OperatorEvseStatus"];
    assert_eq!(operators(by_operator, "OperatorID"), ["DE*GEF"]);
    assert_eq!(
        operators(&products.body["PricingProductData"], "OperatorID"),
        ["DE*GEF"]
    );
    assert_eq!(
        operators(&pricing.body["EVSEPricing"], "OperatorID"),
        ["DE*GEF"]
    );
    assert_eq!(
        operators(&cdrs.body["content"], "SessionID"),
        ["11111111-0000-0000-0000-000000000001"]
    );
    // The own EMP's backend sees every operator the node stores.
    let local = &local_emp.body["EvseStatuses"]["OperatorEvseStatus"];
    let mut all = operators(local, "OperatorID");
    all.sort();
    assert_eq!(all, ["DE*ABC", "DE*GEF"]);
    // Pushes of the CPO peer are never routed on to another peer.
    let pushes: Vec<String> = gdf.received().iter().map(|r| r.path.clone()).collect();
    assert!(pushes.iter().all(|p| p.contains("DE*GEF")), "{pushes:?}");
}
