//! Envelope, message IDs, authentication and error paths of the OCPI server.

use roambridge::ocpi::v221::types::DateTime;
use serde_json::json;

use crate::harness::{CPO, EMP, Node, OcpiNode, call, cpo_id, emp_id, ocpi, token};

#[actix_web::test]
async fn answers_are_enveloped_and_carry_the_message_ids() {
    let cpo = Node::start(CPO).await;
    let token_a = cpo.token_a(None).await;
    let auth = token(&token_a);
    let echoed = call(
        "GET",
        &cpo.versions(),
        &[
            ("Authorization", &auth),
            ("X-Request-ID", "req-1"),
            ("X-Correlation-ID", "corr-1"),
        ],
        None,
    )
    .await;
    assert_eq!(echoed.status, 200);
    assert_eq!(echoed.header("x-request-id"), Some("req-1"));
    assert_eq!(echoed.header("x-correlation-id"), Some("corr-1"));
    assert!(
        echoed
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(echoed.code(), 1000);
    DateTime::parse(echoed.body["timestamp"].as_str().unwrap()).unwrap();
    assert!(echoed.body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        echoed.body["data"],
        json!([{"version": "2.2.1", "url": cpo.at("/ocpi/2.2.1")}])
    );
    // Without IDs, fresh ones are minted (two different UUIDs).
    let minted = ocpi("GET", &cpo.versions(), &auth, None).await;
    let (r, c) = (
        minted.header("x-request-id").unwrap(),
        minted.header("x-correlation-id").unwrap(),
    );
    assert_eq!((r.len(), c.len()), (36, 36));
    assert_ne!(r, c);
    // Errors carry them too, and their envelope has no data.
    let refused = call("GET", &cpo.versions(), &[("X-Request-ID", "req-2")], None).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("x-request-id"), Some("req-2"));
    assert_eq!(refused.code(), 2000);
    assert!(refused.body.get("data").is_none(), "{refused:?}");
    assert!(refused.body["status_message"].as_str().is_some());

    // Trailing slashes are tolerated; the details list the credentials interface.
    let slash = ocpi("GET", &format!("{}/", cpo.versions()), &auth, None).await;
    assert_eq!(slash.status, 200, "{slash:?}");
    for path in ["/ocpi/2.2.1", "/ocpi/2.2.1/"] {
        let details = ocpi("GET", &cpo.at(path), &auth, None).await;
        assert_eq!(details.status, 200, "{details:?}");
        assert_eq!(details.body["data"]["version"], "2.2.1");
        assert_eq!(
            details.body["data"]["endpoints"][0],
            json!({"identifier": "credentials", "role": "SENDER", "url": cpo.at("/ocpi/2.2.1/credentials")})
        );
    }
    // Unknown OCPI URLs: HTTP 404 with an envelope.
    let unknown = ocpi("GET", &cpo.at("/ocpi/2.2.1/nothing"), &auth, None).await;
    assert_eq!((unknown.status, unknown.code()), (404, 2000), "{unknown:?}");
    let unknown = ocpi("GET", &cpo.at("/ocpi/2.1.1"), &auth, None).await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    cpo.stop().await;
}

#[actix_web::test]
async fn unknown_missing_and_malformed_credentials_are_401() {
    let cpo = Node::start(CPO).await;
    let token_a = cpo.token_a(None).await;
    for auth in [
        None,
        Some("Bearer x".to_owned()),
        Some("Token".to_owned()),
        Some(token("not-issued")),
        Some(format!("Basic {token_a}")),
    ] {
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        let a = call("GET", &cpo.versions(), &headers, None).await;
        assert_eq!((a.status, a.code()), (401, 2000), "{auth:?}: {a:?}");
    }
    // The admin API wants its own token.
    let no_admin = call("POST", &cpo.at("/admin/ocpi/tokens"), &[], None).await;
    assert_eq!(no_admin.status, 401);
    let wrong = call(
        "GET",
        &cpo.at("/admin/ocpi/connections"),
        &[("Authorization", &token(&token_a))],
        None,
    )
    .await;
    assert_eq!(wrong.status, 401);
    // A token A is accepted unencoded (the partner's habit is not known yet).
    let raw = ocpi("GET", &cpo.versions(), &format!("Token {token_a}"), None).await;
    assert_eq!(raw.status, 200, "{raw:?}");
    cpo.stop().await;
}

#[actix_web::test]
async fn unencoded_tokens_of_a_registered_peer_need_its_flag() {
    let cpo = Node::start(CPO).await;
    // The EMP sends its tokens unencoded to the CPO, and accepts them so from the CPO.
    let emp = Node::start(&format!(
        "{EMP}\n[[peer]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n[peer.ocpi]\nraw_token = true\n",
        cpo.versions()
    ))
    .await;
    let token_a = cpo.token_a(None).await;
    // While registering, the EMP calls the CPO with raw token A, and the CPO calls the EMP
    // back with the EMP's handshake token: both work.
    let answer = emp
        .admin(
            "POST",
            "/admin/ocpi/register",
            Some(json!({"versions_url": cpo.versions(), "token": token_a, "role": "cpo", "id": "DE*GEF"})),
        )
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let at_emp = emp.connection(&cpo_id()).unwrap();
    let at_cpo = cpo.connection(&emp_id()).unwrap();
    // The CPO has no flag for the EMP: the raw form is refused there, base64 accepted.
    let raw_at_cpo = ocpi(
        "GET",
        &cpo.versions(),
        &format!("Token {}", at_emp.token_out),
        None,
    )
    .await;
    assert_eq!(raw_at_cpo.status, 401, "{raw_at_cpo:?}");
    let b64_at_cpo = ocpi("GET", &cpo.versions(), &token(&at_emp.token_out), None).await;
    assert_eq!(b64_at_cpo.status, 200);
    // The EMP has the flag for the CPO: both forms are accepted there.
    for auth in [
        format!("Token {}", at_cpo.token_out),
        token(&at_cpo.token_out),
    ] {
        let a = ocpi("GET", &emp.versions(), &auth, None).await;
        assert_eq!(a.status, 200, "{auth}: {a:?}");
    }
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn bad_registrations_get_400_2001_or_3001_and_keep_token_a() {
    let cpo = Node::start(CPO).await;
    let token_a = cpo.token_a(None).await;
    let url = cpo.at("/ocpi/2.2.1/credentials");
    let auth = token(&token_a);
    let not_json = call(
        "POST",
        &url,
        &[("Authorization", &auth)],
        Some(b"{nope".to_vec()),
    )
    .await;
    assert_eq!(
        (not_json.status, not_json.code()),
        (400, 2000),
        "{not_json:?}"
    );
    let missing = ocpi(
        "POST",
        &url,
        &auth,
        Some(json!({"url": "http://127.0.0.1:1/ocpi/versions", "roles": [
            {"role": "EMSP", "business_details": {"name": "X"}, "party_id": "TOOLONG", "country_code": "DE"}]})),
    )
    .await;
    assert_eq!((missing.status, missing.code()), (200, 2001), "{missing:?}");
    let message = missing.body["status_message"].as_str().unwrap();
    assert!(message.contains("$.token"), "{message}");
    assert!(message.contains("$.roles[0].party_id"), "{message}");
    // A partner whose versions cannot be read: 3001.
    let unreachable = ocpi(
        "POST",
        &url,
        &auth,
        Some(json!({"token": "b", "url": "http://127.0.0.1:1/ocpi/versions", "roles": [
            {"role": "EMSP", "business_details": {"name": "X"}, "party_id": "XYZ", "country_code": "NL"}]})),
    )
    .await;
    assert_eq!(
        (unreachable.status, unreachable.code()),
        (200, 3001),
        "{unreachable:?}"
    );
    // A partner with no CPO or EMSP party: 2001.
    let hub = ocpi(
        "POST",
        &url,
        &auth,
        Some(json!({"token": "b", "url": "http://127.0.0.1:1/ocpi/versions", "roles": [
            {"role": "HUB", "business_details": {"name": "X"}, "party_id": "HUB", "country_code": "NL"}]})),
    )
    .await;
    assert_eq!(hub.code(), 2001, "{hub:?}");
    // A partner claiming to be one of our own parties: 2001.
    let impostor = ocpi(
        "POST",
        &url,
        &auth,
        Some(json!({"token": "b", "url": "http://127.0.0.1:1/ocpi/versions", "roles": [
            {"role": "CPO", "business_details": {"name": "X"}, "party_id": "gef", "country_code": "de"}]})),
    )
    .await;
    assert_eq!(impostor.code(), 2001, "{impostor:?}");
    assert!(
        impostor.body["status_message"]
            .as_str()
            .unwrap()
            .contains("party of this platform"),
        "{impostor:?}"
    );
    // Nothing was registered and token A still works.
    assert!(cpo.state.ocpi.connections().is_empty());
    let still = ocpi("GET", &cpo.versions(), &auth, None).await;
    assert_eq!(still.status, 200);
    cpo.stop().await;
}
