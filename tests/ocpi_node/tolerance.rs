//! Against a scripted partner: what real partners do that our own side does not.

use serde_json::{Value, json};

use crate::harness::{CPO, Node, OcpiNode, Partner, Seen, ocpi, ok, token};

/// A partner that redirects `/ocpi/versions` to `/ocpi/versions/`, offers 2.1.1 and 2.2.1,
/// lists no credentials endpoint, answers without timestamps and with lower-case ids.
fn sloppy(seen: &Seen, port: u16) -> (u16, Vec<(String, String)>, Value) {
    let base = format!("http://127.0.0.1:{port}");
    match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/ocpi/versions") => (
            307,
            vec![("Location".into(), format!("{base}/ocpi/versions/"))],
            Value::Null,
        ),
        ("GET", "/ocpi/versions/") => ok(json!([
            {"version": "2.1.1", "url": format!("{base}/ocpi/2.1.1/")},
            {"version": "2.2.1", "url": format!("{base}/ocpi/2.2.1/")}
        ])),
        ("GET", "/ocpi/2.2.1/") => ok(json!({"version": "2.2.1", "endpoints": [
            {"identifier": "locations", "role": "SENDER", "url": format!("{base}/ocpi/2.2.1/locations/")}
        ]})),
        ("POST", "/ocpi/2.2.1/credentials/") => ok(json!({
            "token": "partner-token-c",
            "url": format!("{base}/ocpi/versions/"),
            "roles": [{"role": "CPO", "business_details": {"name": "Partner"}, "party_id": "abc", "country_code": "nl"}]
        })),
        _ => (404, Vec::new(), Value::Null),
    }
}

#[actix_web::test]
async fn a_sloppy_partner_registers_with_an_endpoint_override() {
    let partner = Partner::start(sloppy).await;
    let override_url = partner.at("/ocpi/2.2.1/credentials/");
    let node = Node::start(&format!(
        "{CPO}\n[[peer]]\nrole = \"cpo\"\nid = \"NL*ABC\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n[peer.ocpi]\nendpoints = [{{ module = \"credentials\", role = \"SENDER\", url = \"{override_url}\" }}]\n",
        partner.at("/ocpi/versions")
    ))
    .await;
    // Without naming the peer, its override is unknown: no credentials endpoint, 3003.
    let blind = node
        .register(&partner.at("/ocpi/versions"), "token-a")
        .await;
    assert_eq!(blind.status, 502, "{blind:?}");
    assert_eq!(blind.body["ocpi_status_code"], 3003);

    let named = node
        .admin(
            "POST",
            "/admin/ocpi/register",
            Some(json!({"versions_url": partner.at("/ocpi/versions"), "token": "token-a", "role": "cpo", "id": "nl*abc"})),
        )
        .await;
    assert_eq!(named.status, 201, "{named:?}");
    let peer =
        roambridge::config::PartnerId::parse(roambridge::config::Role::Cpo, "NL*ABC").unwrap();
    let c = node.connection(&peer).unwrap();
    assert_eq!(c.token_out, "partner-token-c");
    assert_eq!(c.roles[0].party_id.canonical(), "ABC");
    assert_eq!(c.endpoints[0].identifier.as_str(), "locations");

    // What the partner saw: token A base64-encoded, message IDs, no routing headers on the
    // configuration modules, and our credentials with the token we now accept.
    let seen = partner.seen();
    let post = seen.iter().rfind(|s| s.method == "POST").unwrap();
    for s in &seen {
        assert_eq!(
            s.header("authorization"),
            Some(token("token-a").as_str()),
            "{s:?}"
        );
        assert_eq!(s.header("x-request-id").map(str::len), Some(36), "{s:?}");
        assert!(s.header("x-correlation-id").is_some(), "{s:?}");
        assert!(s.header("ocpi-to-country-code").is_none(), "{s:?}");
        assert!(s.header("ocpi-from-party-id").is_none(), "{s:?}");
    }
    assert_eq!(post.body["token"], c.token_in.as_str());
    assert_eq!(post.body["url"], node.versions());
    assert_eq!(post.body["roles"][0]["party_id"], "GEF");
    let ours = ocpi("GET", &node.versions(), &token(&c.token_in), None).await;
    assert_eq!(ours.status, 200);
    node.stop().await;
    partner.stop().await;
}

#[actix_web::test]
async fn no_2_2_1_is_3002_and_403_is_a_refused_token() {
    let old = Partner::start(|seen, port| match seen.path.as_str() {
        "/ocpi/versions" => {
            ok(json!([{"version": "2.1.1", "url": format!("http://127.0.0.1:{port}/ocpi/2.1.1")}]))
        }
        _ => (404, Vec::new(), Value::Null),
    })
    .await;
    let strict = Partner::start(|_, _| {
        (
            403,
            Vec::new(),
            json!({"status_code": 2000, "status_message": "Forbidden"}),
        )
    })
    .await;
    let null_lists = Partner::start(|seen, port| match seen.path.as_str() {
        "/ocpi/versions" => {
            ok(json!([{"version": "2.2.1", "url": format!("http://127.0.0.1:{port}/ocpi/2.2.1")}]))
        }
        "/ocpi/2.2.1" => ok(json!({"version": "2.2.1", "endpoints": null})),
        _ => (404, Vec::new(), Value::Null),
    })
    .await;
    let node = Node::start(CPO).await;

    // We register with them.
    let a = node.register(&old.at("/ocpi/versions"), "t").await;
    assert_eq!(
        (a.status, a.body["ocpi_status_code"].as_i64()),
        (502, Some(3002)),
        "{a:?}"
    );
    assert!(a.body["error"].as_str().unwrap().contains("2.1.1"), "{a:?}");
    let b = node.register(&strict.at("/ocpi/versions"), "t").await;
    assert_eq!(
        (b.status, b.body["ocpi_status_code"].as_i64()),
        (502, Some(3001)),
        "{b:?}"
    );
    assert!(
        b.body["error"].as_str().unwrap().contains("HTTP 403"),
        "{b:?}"
    );
    let c = node.register(&null_lists.at("/ocpi/versions"), "t").await;
    assert_eq!(c.body["ocpi_status_code"], 3003, "{c:?}");

    // They register with us: the same codes in the OCPI answer (HTTP 200).
    let credentials = node.at("/ocpi/2.2.1/credentials");
    for (partner, code) in [(&old, 3002), (&strict, 3001), (&null_lists, 3003)] {
        let token_a = node.token_a(None).await;
        let answer = ocpi(
            "POST",
            &credentials,
            &token(&token_a),
            Some(json!({"token": "theirs", "url": partner.at("/ocpi/versions"), "roles": [
                {"role": "EMSP", "business_details": {"name": "P"}, "party_id": "xyz", "country_code": "nl"}]})),
        )
        .await;
        assert_eq!((answer.status, answer.code()), (200, code), "{answer:?}");
    }
    assert!(node.state.ocpi.connections().is_empty());
    for p in [&old, &strict, &null_lists] {
        p.stop().await;
    }
    node.stop().await;
}
