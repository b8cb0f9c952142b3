//! Reading a CPO partner's Locations into the eMSP side: after registering with it and on the
//! admin trigger, paging by `Link` or, for a partner whose `Link` is broken, by `offset`.

use serde_json::{Value, json};

use crate::emsp_receiver::{BACKEND, location};
use crate::harness::{Node, OcpiNode, Partner, Seen, ok, token};

const LOCATIONS: usize = 120;
const CAP: usize = 50;

/// The partner's list: 120 Locations of DE/GEF, one of another party, one broken.
fn listed() -> Vec<Value> {
    let mut all: Vec<Value> = (0..LOCATIONS)
        .map(|i| location(&format!("L{i:03}"), "2024-03-01T10:00:00Z"))
        .collect();
    let mut foreign = location("X1", "2024-03-01T10:00:00Z");
    foreign["party_id"] = json!("ZZZ");
    all.push(foreign);
    all.push(json!({"id": "broken"}));
    all
}

/// A CPO partner DE/GEF with a locations SENDER; its `Link` is usable or not.
fn partner(broken_link: bool) -> impl Fn(&Seen, u16) -> (u16, Vec<(String, String)>, Value) {
    let all = listed();
    move |seen, port| {
        let base = format!("http://127.0.0.1:{port}");
        match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/ocpi/versions") => {
                ok(json!([{"version": "2.2.1", "url": format!("{base}/ocpi/2.2.1")}]))
            }
            ("GET", "/ocpi/2.2.1") => ok(json!({"version": "2.2.1", "endpoints": [
                {"identifier": "credentials", "role": "SENDER", "url": format!("{base}/ocpi/2.2.1/credentials")},
                {"identifier": "locations", "role": "SENDER", "url": format!("{base}/ocpi/2.2.1/locations")}
            ]})),
            ("POST", "/ocpi/2.2.1/credentials") => ok(json!({
                "token": "partner-token-c",
                "url": format!("{base}/ocpi/versions"),
                "roles": [{"role": "CPO", "business_details": {"name": "GEF"}, "party_id": "GEF", "country_code": "DE"}]
            })),
            ("GET", "/ocpi/2.2.1/locations") => {
                let q = |k: &str| {
                    seen.query
                        .split('&')
                        .find_map(|p| p.strip_prefix(&format!("{k}=")))
                        .and_then(|v| v.parse::<usize>().ok())
                };
                let offset = q("offset").unwrap_or(0);
                let limit = q("limit").unwrap_or(CAP).min(CAP);
                let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
                let next = offset + page.len();
                let mut headers = vec![
                    ("X-Total-Count".to_owned(), all.len().to_string()),
                    ("X-Limit".to_owned(), CAP.to_string()),
                ];
                if next < all.len() {
                    let link = if broken_link {
                        "<https://127.0.0.1:1/cpo/ModuleID.locations/?offset=None>; rel=\"next\""
                            .to_owned()
                    } else {
                        format!(
                            "<{base}/ocpi/2.2.1/locations?offset={next}&limit={limit}>; rel=\"next\""
                        )
                    };
                    headers.push(("Link".to_owned(), link));
                }
                (200, headers, json!({"data": page, "status_code": 1000}))
            }
            _ => (404, Vec::new(), Value::Null),
        }
    }
}

async fn emp_node(partner: &Partner, by_offset: bool) -> Node {
    let backend = crate::oicp_harness::Double::start().await;
    Node::start(&format!(
        "[[party]]\nrole = \"emp\"\nid = \"DE-GDF\"\nbackend = \"{}\"\nbackend_token = \"{BACKEND}\"\n\n[[peer]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n[peer.ocpi]\npage_by_offset = {by_offset}\n",
        backend.url(),
        partner.at("/ocpi/versions")
    ))
    .await
}

async fn stored_locations(node: &Node) -> u64 {
    node.state
        .store
        .ocpi_emsp_page(roambridge::store::ocpi_emsp::EmspKind::Location, 0, 1)
        .await
        .unwrap()
        .1
}

async fn pulls(by_offset: bool) {
    let partner = Partner::start(partner(by_offset)).await;
    let node = emp_node(&partner, by_offset).await;
    let registered = node
        .register(&partner.at("/ocpi/versions"), "token-a")
        .await;
    assert_eq!(registered.status, 201, "{registered:?}");
    // The pull after registering runs in the background.
    for _ in 0..200 {
        if stored_locations(&node).await == LOCATIONS as u64 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(stored_locations(&node).await, LOCATIONS as u64);

    // The admin trigger pulls again: nothing newer, the foreign and broken ones skipped.
    let report = node
        .admin(
            "POST",
            "/admin/ocpi/connections/cpo/DE*GEF/pull/locations",
            None,
        )
        .await;
    assert_eq!(report.status, 200, "{report:?}");
    assert_eq!(
        report.body,
        json!({"read": 122, "created": 0, "updated": 0, "unchanged": 120, "skipped": 2,
               "pages": if by_offset { 3 } else { 1 }})
    );
    // Pages were asked with our token and routing headers from our EMSP to the CPO.
    let gets: Vec<Seen> = partner
        .seen()
        .into_iter()
        .filter(|s| s.path == "/ocpi/2.2.1/locations")
        .collect();
    assert_eq!(gets.len(), 6, "{gets:?}");
    for g in &gets {
        assert_eq!(
            g.header("authorization"),
            Some(token("partner-token-c").as_str())
        );
        assert_eq!(g.header("ocpi-from-party-id"), Some("GDF"));
        assert_eq!(g.header("ocpi-to-party-id"), Some("GEF"));
    }
    let offsets: Vec<&str> = gets[3..].iter().map(|g| g.query.as_str()).collect();
    if by_offset {
        assert_eq!(
            offsets,
            [
                "offset=0&limit=50",
                "offset=50&limit=50",
                "offset=100&limit=50"
            ]
        );
    } else {
        assert_eq!(offsets, ["", "offset=50&limit=50", "offset=100&limit=50"]);
    }
    // Pulled Locations read like pushed ones.
    let c = node
        .connection(&crate::harness::cpo_id())
        .unwrap()
        .token_in
        .clone();
    let got = crate::harness::ocpi(
        "GET",
        &node.at("/ocpi/2.2.1/receiver/locations/DE/GEF/L119"),
        &token(&c),
        None,
    )
    .await;
    assert_eq!(got.body["data"]["id"], "L119", "{got:?}");
    // An unknown connection: 404.
    let unknown = node
        .admin(
            "POST",
            "/admin/ocpi/connections/cpo/DE*XXX/pull/locations",
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    partner.stop().await;
}

#[actix_web::test]
async fn locations_are_pulled_following_link() {
    pulls(false).await;
}

#[actix_web::test]
async fn locations_are_pulled_by_offset_from_a_partner_with_a_broken_link() {
    pulls(true).await;
}
