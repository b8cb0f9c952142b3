//! Test data and polling helpers shared by the scenario files: the valid request fixtures,
//! answers a backend double gives, and waiting for asynchronous deliveries without sleeping
//! longer than needed.

use std::time::{Duration, Instant};

use roambridge::node::delivery::TargetRecord;
use serde_json::{Value, json};

use crate::harness::{Answer, Node, post};

/// The valid request body of an operation (`tests/fixtures/oicp/valid/<op>.request.json`).
pub fn request(op: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/oicp/valid/{op}.request.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture without the members named.
pub fn request_without(op: &str, members: &[&str]) -> Value {
    let mut body = request(op);
    let object = body.as_object_mut().unwrap();
    for m in members {
        object.remove(*m);
    }
    body
}

/// An `eRoamingAuthorizationStart`/`Stop` answer of an EMP backend: Authorized.
pub fn authorized() -> Value {
    json!({"AuthorizationStatus": "Authorized", "StatusCode": {"Code": "000"}})
}

/// An Authorized answer that names the provider.
pub fn authorized_by(provider: &str) -> Value {
    json!({"AuthorizationStatus": "Authorized", "ProviderID": provider,
        "StatusCode": {"Code": "000"}})
}

/// A `NotAuthorized` answer (102, invalid UID).
pub fn not_authorized() -> Value {
    json!({"AuthorizationStatus": "NotAuthorized", "StatusCode": {"Code": "102"}})
}

/// An `AuthorizeStart` of the CPO backend for an RFID card (no `EvcoID`, so no provider named).
pub fn authorize_start_rfid(uid: &str) -> Value {
    json!({"OperatorID": "DE*GEF", "EvseID": "DE*GEF*E0001*1", "CPOPartnerSessionID": "cpo-77",
        "Identification": {"RFIDMifareFamilyIdentification": {"UID": uid}}})
}

/// An OICP date-time `days` from now (UTC).
pub fn days_from_now(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// POSTs until `done` holds for the answer (up to 3 s); returns the last answer.
pub async fn post_until(
    url: &str,
    token: Option<&str>,
    body: &Value,
    done: impl Fn(&Answer) -> bool,
) -> Answer {
    let start = Instant::now();
    loop {
        let answer = post(url, token, body).await;
        if done(&answer) || start.elapsed() > Duration::from_secs(3) {
            return answer;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The delivery record of a target (`peer:DEGDF`, `backend:DEGEF`) of a node.
pub fn delivery(node: &Node, key: &str) -> TargetRecord {
    node.state.delivery.log().get(key).unwrap_or_default()
}

/// Waits (up to 3 s) until the node has finished `n` deliveries (delivered or failed) to a
/// target and nothing is queued for it; returns the record.
pub async fn deliveries_settled(node: &Node, key: &str, n: u64) -> TargetRecord {
    let start = Instant::now();
    loop {
        let record = delivery(node, key);
        let settled = record.delivered + record.failed >= n && record.queued == 0;
        if settled || start.elapsed() > Duration::from_secs(3) {
            return record;
        }
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}
