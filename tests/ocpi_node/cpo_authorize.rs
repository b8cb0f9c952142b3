//! Real-time authorization from the CPO side: the CPO backend's OICP `AuthorizeStart` for a
//! token of an OCPI eMSP becomes `POST tokens/{uid}/authorize` at the eMSP, and the answer
//! comes back as OICP; `AuthorizeStop` is answered from the recorded session.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cpo_locations::{CPO_WITH_BACKEND, backend_push};
use crate::evse_push::full_load;
use crate::harness::{Node, OcpiNode, Partner, Seen, emp_id, ok, token};
use crate::oicp_harness::{Double, post};

/// The token the EMP backend presents to its node.
const EMP_BACKEND: &str = "emp-backend";
pub const SESSION: &str = "a1b2c3d4-0f1e-4d6a-9c3b-6f0e1d2c3b4a";

/// A CPO node with a backend and Locations, and an EMP node (OICP backend double) that
/// registered with it.
pub async fn cpo_and_emp() -> (Node, Node, Double) {
    let backend = Double::start().await;
    let emp = Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nname = \"GDF Mobility\"\nbackend = \"{}\"\nbackend_token = \"{EMP_BACKEND}\"\n",
        backend.url()
    ))
    .await;
    let cpo = Node::start(CPO_WITH_BACKEND).await;
    let token_a = cpo.token_a(None).await;
    let answer = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert!(cpo.connection(&emp_id()).is_some());
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(1, 1),
    )
    .await;
    backend.respond(move |path, body| {
        path.contains("authorize/start").then(|| {
            let uid = &body["Identification"]["RFIDMifareFamilyIdentification"]["UID"];
            if uid == "1234ABCD" {
                (
                    200,
                    json!({"AuthorizationStatus": "Authorized", "SessionID": SESSION, "StatusCode": {"Code": "000"}}),
                )
            } else {
                (
                    200,
                    json!({"AuthorizationStatus": "NotAuthorized", "StatusCode": {"Code": "102"}}),
                )
            }
        })
    });
    (cpo, emp, backend)
}

pub fn rfid(uid: &str) -> Value {
    json!({"RFIDMifareFamilyIdentification": {"UID": uid}})
}

/// The CPO backend's `AuthorizeStart`.
pub async fn authorize_start(cpo: &Node, identification: Value) -> Value {
    let a = post(
        &format!(
            "{}/charging/v21/operators/DE*GEF/authorize/start",
            cpo.url()
        ),
        Some("cpo-backend"),
        &json!({"OperatorID": "DE*GEF", "EvseID": "DE*GEF*E000000*1",
                "Identification": identification}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

async fn authorize_stop(cpo: &Node, session: &str, identification: Value) -> Value {
    let a = post(
        &format!("{}/charging/v21/operators/DE*GEF/authorize/stop", cpo.url()),
        Some("cpo-backend"),
        &json!({"OperatorID": "DE*GEF", "SessionID": session, "EvseID": "DE*GEF*E000000*1",
                "Identification": identification}),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body
}

#[actix_web::test]
async fn a_token_is_authorized_at_the_ocpi_emsp_and_stopped_locally() {
    let (cpo, emp, backend) = cpo_and_emp().await;

    // The broadcast (no EvcoID, no authentication data) asks the OCPI eMSP, which asks its
    // OICP backend: the verdict, the session and the provider come back.
    let answer = authorize_start(&cpo, rfid("1234ABCD")).await;
    assert_eq!(answer["AuthorizationStatus"], "Authorized", "{answer}");
    assert_eq!(answer["StatusCode"]["Code"], "000");
    assert_eq!(answer["SessionID"], SESSION);
    assert_eq!(answer["ProviderID"], "DE-GDF");
    let asked = backend.received_at("authorize/start");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].body["Identification"]["RFIDMifareFamilyIdentification"]["UID"],
        "1234ABCD"
    );

    // An unknown token: the eMSP answers 2004, the backend gets NotAuthorized 102.
    let unknown = authorize_start(&cpo, rfid("5555ABCD")).await;
    assert_eq!(unknown["AuthorizationStatus"], "NotAuthorized", "{unknown}");
    assert_eq!(unknown["StatusCode"]["Code"], "102");

    // AuthorizeStop: the same card is authorized, another card is not, an unknown session
    // is 400; the eMSP is not asked (OCPI has no stop authorization).
    let before = backend.received().len();
    let stop = authorize_stop(&cpo, SESSION, rfid("1234ABCD")).await;
    assert_eq!(stop["AuthorizationStatus"], "Authorized", "{stop}");
    assert_eq!(stop["ProviderID"], "DE-GDF");
    let other = authorize_stop(&cpo, SESSION, rfid("7777ABCD")).await;
    assert_eq!(other["AuthorizationStatus"], "NotAuthorized", "{other}");
    assert_eq!(other["StatusCode"]["Code"], "102");
    assert_eq!(backend.received().len(), before);

    // The eMSP is down: 320.
    emp.stop().await;
    let down = authorize_start(&cpo, rfid("1234ABCD")).await;
    assert_eq!(down["AuthorizationStatus"], "NotAuthorized", "{down}");
    assert_eq!(down["StatusCode"]["Code"], "320");
    cpo.stop().await;
    backend.stop().await;
}

/// A scripted eMSP with a tokens SENDER; its authorize answers: `1111ABCD` ALLOWED, `222…`
/// only after longer than the peer's timeout, `BAD…` no `AuthorizationInfo`, `8888…` HTTP 404
/// without an envelope, anything else 404 + 2004.
fn slow_emsp(seen: &Seen, port: u16) -> (u16, Vec<(String, String)>, Value) {
    let base = format!("http://127.0.0.1:{port}");
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/ocpi/versions") => {
            ok(json!([{"version": "2.2.1", "url": format!("{base}/ocpi/2.2.1")}]))
        }
        ("GET", "/ocpi/2.2.1") => ok(json!({"version": "2.2.1", "endpoints": [
            {"identifier": "credentials", "role": "RECEIVER", "url": format!("{base}/ocpi/2.2.1/credentials")},
            {"identifier": "tokens", "role": "SENDER", "url": format!("{base}/ocpi/emsp/tokens")}
        ]})),
        ("POST", "/ocpi/2.2.1/credentials") => ok(json!({
            "token": "emsp-token-c",
            "url": format!("{base}/ocpi/versions"),
            "roles": [{"role": "EMSP", "business_details": {"name": "eMSP"}, "party_id": "XYZ", "country_code": "NL"}]
        })),
        ("POST", p) if p.ends_with("/authorize") => {
            if p.contains("/222") {
                std::thread::sleep(Duration::from_millis(1500));
            }
            if p.contains("1111ABCD") || p.contains("/222") {
                ok(
                    json!({"allowed": "ALLOWED", "authorization_reference": "REF-1",
                          "token": ocpi_token("1111ABCD", "NEVER")}),
                )
            } else if p.contains("BAD") {
                ok(json!({"allowed": "ALLOWED"}))
            } else if p.contains("8888") {
                (404, Vec::new(), json!({"detail": "Not found"}))
            } else {
                (
                    404,
                    Vec::new(),
                    json!({"status_code": 2004, "status_message": "unknown token"}),
                )
            }
        }
        _ => (404, Vec::new(), Value::Null),
    }
}

pub fn ocpi_token(uid: &str, whitelist: &str) -> Value {
    json!({"country_code": "NL", "party_id": "XYZ", "uid": uid, "type": "RFID",
           "contract_id": format!("NL-XYZ-C{uid}"), "issuer": "XYZ", "valid": true,
           "whitelist": whitelist, "last_updated": "2025-01-01T00:00:00Z"})
}

#[actix_web::test]
async fn whitelists_timeouts_and_unknown_tokens() {
    let partner = Partner::start(slow_emsp).await;
    let cpo = Node::start(&format!(
        "{CPO_WITH_BACKEND}\n[[peer]]\nrole = \"emp\"\nid = \"NL-XYZ\"\nprotocol = \"ocpi\"\nurl = \"{}\"\ntimeout_ms = 300\n",
        partner.at("/ocpi/versions")
    ))
    .await;
    // Before the handshake: no connection, 320.
    let early = authorize_start(&cpo, rfid("1111ABCD")).await;
    assert_eq!(early["StatusCode"]["Code"], "320", "{early}");
    let registered = cpo.register(&partner.at("/ocpi/versions"), "token-a").await;
    assert_eq!(registered.status, 201, "{registered:?}");
    backend_push(
        &cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(1, 1),
    )
    .await;

    let allowed = authorize_start(&cpo, rfid("1111ABCD")).await;
    assert_eq!(allowed["AuthorizationStatus"], "Authorized", "{allowed}");
    assert_eq!(allowed["ProviderID"], "NL-XYZ");
    let asked: Vec<Seen> = partner
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/authorize"))
        .collect();
    assert_eq!(asked[0].path, "/ocpi/emsp/tokens/1111ABCD/authorize");
    assert_eq!(asked[0].query, "type=RFID");
    assert_eq!(
        asked[0].body,
        json!({"location_id": "DE*GEF*P000000", "evse_uids": ["DE*GEF*E000000*1"]})
    );
    assert_eq!(asked[0].header("ocpi-to-party-id"), Some("XYZ"));
    assert_eq!(asked[0].header("ocpi-from-party-id"), Some("GEF"));

    // An answer that is no AuthorizationInfo: 320.
    let bad = authorize_start(&cpo, rfid("BAD0ABCD")).await;
    assert_eq!(bad["StatusCode"]["Code"], "320", "{bad}");
    // HTTP 404 without an OCPI envelope is an unknown token too.
    let plain = authorize_start(&cpo, rfid("8888ABCD")).await;
    assert_eq!(plain["AuthorizationStatus"], "NotAuthorized", "{plain}");
    assert_eq!(plain["StatusCode"]["Code"], "102");

    // Tokens the eMSP pushed: ALWAYS answers without asking; ALLOWED_OFFLINE answers when
    // the eMSP does not; an invalid token never answers locally.
    let c = cpo.connection(&emp_id_xyz()).unwrap();
    let auth = token(&c.token_in);
    for (uid, whitelist, valid) in [
        ("3333ABCD", "ALWAYS", true),
        ("2223ABCD", "ALLOWED_OFFLINE", true),
        ("4444ABCD", "ALWAYS", false),
    ] {
        let mut t = ocpi_token(uid, whitelist);
        t["valid"] = json!(valid);
        let put = crate::harness::ocpi(
            "PUT",
            &cpo.at(&format!("/ocpi/2.2.1/receiver/tokens/NL/XYZ/{uid}")),
            &auth,
            Some(t),
        )
        .await;
        assert_eq!(put.code(), 1000, "{put:?}");
    }
    let before = partner.seen().len();
    let always = authorize_start(&cpo, rfid("3333ABCD")).await;
    assert_eq!(always["AuthorizationStatus"], "Authorized", "{always}");
    assert_eq!(always["ProviderID"], "NL-XYZ");
    assert_eq!(partner.seen().len(), before);
    let invalid = authorize_start(&cpo, rfid("4444ABCD")).await;
    assert_eq!(invalid["AuthorizationStatus"], "NotAuthorized", "{invalid}");
    assert_eq!(invalid["StatusCode"]["Code"], "102");

    // No answer within the peer's timeout: 310, unless the token allows offline use.
    let slow = authorize_start(&cpo, rfid("2222ABCD")).await;
    assert_eq!(slow["StatusCode"]["Code"], "310", "{slow}");
    let offline = authorize_start(&cpo, rfid("2223ABCD")).await;
    assert_eq!(offline["AuthorizationStatus"], "Authorized", "{offline}");
    cpo.stop().await;
    partner.stop().await;
}

fn emp_id_xyz() -> roambridge::config::PartnerId {
    roambridge::config::PartnerId::parse(roambridge::config::Role::Emp, "NL-XYZ").unwrap()
}

#[actix_web::test]
async fn a_broadcast_asks_oicp_and_ocpi_emps_and_the_first_authorized_wins() {
    let partner = Partner::start(slow_emsp).await;
    let oicp_emp = Double::start().await;
    oicp_emp.answer(
        "authorize/start",
        json!({"AuthorizationStatus": "NotAuthorized", "StatusCode": {"Code": "102"}}),
    );
    let cpo = Node::start(&format!(
        "{CPO_WITH_BACKEND}\n[[peer]]\nrole = \"emp\"\nid = \"DE-ABC\"\nurl = \"{}\"\ntoken = \"to-abc\"\n",
        oicp_emp.url()
    ))
    .await;
    let registered = cpo.register(&partner.at("/ocpi/versions"), "token-a").await;
    assert_eq!(registered.status, 201, "{registered:?}");
    let answer = authorize_start(&cpo, rfid("1111ABCD")).await;
    assert_eq!(answer["AuthorizationStatus"], "Authorized", "{answer}");
    assert_eq!(answer["ProviderID"], "NL-XYZ");
    // Both were asked.
    assert_eq!(oicp_emp.wait_for("authorize/start", 1).await.len(), 1);
    assert!(
        partner
            .seen()
            .iter()
            .any(|s| s.path.ends_with("/authorize"))
    );
    // Neither knows this card: NotAuthorized.
    let unknown = authorize_start(&cpo, rfid("5555ABCD")).await;
    assert_eq!(unknown["AuthorizationStatus"], "NotAuthorized", "{unknown}");
    cpo.stop().await;
    partner.stop().await;
    oicp_emp.stop().await;
}
