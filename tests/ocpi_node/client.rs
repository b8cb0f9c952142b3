//! The outbound client against a scripted partner: pagination following `Link`, headers,
//! envelope errors.

use std::time::Duration;

use roambridge::config::OcpiParty;
use roambridge::node::ocpi::client::{Call, ClientError, OcpiClient};
use roambridge::node::ocpi::transport::Routing;
use roambridge::ocpi::v221::ids::{CountryCode, PartyId};
use serde_json::{Value, json};

use crate::harness::{Partner, ok};

fn party(cc: &str, pid: &str) -> OcpiParty {
    OcpiParty {
        country_code: CountryCode::parse(cc).unwrap(),
        party_id: PartyId::parse(pid).unwrap(),
    }
}

fn query(q: &str, key: &str) -> Option<u64> {
    q.split('&')
        .find_map(|p| p.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

#[actix_web::test]
async fn lists_are_read_page_by_page_with_one_correlation_id() {
    let partner = Partner::start(|seen, port| match seen.path.as_str() {
        "/list" => {
            let offset = query(&seen.query, "offset").unwrap_or(0);
            let limit = query(&seen.query, "limit").unwrap_or(2);
            let items: Vec<u64> = (offset..(offset + limit).min(5)).collect();
            let mut headers = vec![("X-Total-Count".to_owned(), "5".to_owned())];
            if offset + limit < 5 {
                headers.push((
                    "Link".to_owned(),
                    format!(
                        "<http://127.0.0.1:{port}/list?offset={}&limit={limit}>; rel=\"next\"",
                        offset + limit
                    ),
                ));
            }
            (200, headers, json!({"data": items, "status_code": 1000}))
        }
        "/null" => ok(Value::Null),
        "/refused" => (403, Vec::new(), Value::Null),
        "/failed" => (
            200,
            Vec::new(),
            json!({"status_code": 2001, "status_message": "bad limit"}),
        ),
        "/notocpi" => (200, Vec::new(), json!({"hello": "world"})),
        _ => (404, Vec::new(), json!({"status_code": 2000})),
    })
    .await;
    let client = OcpiClient::new();
    let call = Call {
        token: "t",
        raw_token: false,
        correlation_id: Some("corr-9"),
        routing: Routing {
            from: Some(party("DE", "GEF")),
            to: Some(party("NL", "ABC")),
        },
        timeout: Duration::from_secs(5),
    };
    let all = client
        .get_all(&partner.at("/list?offset=0&limit=2"), &call)
        .await
        .unwrap();
    assert_eq!(all, [0, 1, 2, 3, 4].map(|n| json!(n)));
    let seen = partner.seen();
    assert_eq!(seen.len(), 3);
    let mut request_ids: Vec<&str> = seen
        .iter()
        .map(|s| s.header("x-request-id").unwrap())
        .collect();
    request_ids.dedup();
    assert_eq!(request_ids.len(), 3, "a fresh X-Request-ID per page");
    for s in &seen {
        assert_eq!(s.header("authorization"), Some("Token dA=="));
        assert_eq!(s.header("x-correlation-id"), Some("corr-9"));
        assert_eq!(s.header("ocpi-from-country-code"), Some("DE"));
        assert_eq!(s.header("ocpi-from-party-id"), Some("GEF"));
        assert_eq!(s.header("ocpi-to-country-code"), Some("NL"));
        assert_eq!(s.header("ocpi-to-party-id"), Some("ABC"));
    }
    let page = client
        .get(&partner.at("/list?offset=2&limit=2"), &call)
        .await
        .unwrap();
    assert_eq!(page.total, Some(5));
    assert!(page.next.unwrap().ends_with("/list?offset=4&limit=2"));
    assert_eq!(page.envelope.timestamp, None);

    assert!(
        client
            .get_all(&partner.at("/null"), &call)
            .await
            .unwrap()
            .is_empty()
    );
    let raw = Call {
        raw_token: true,
        ..call.clone()
    };
    let refused = client.get(&partner.at("/refused"), &raw).await.unwrap_err();
    assert!(
        matches!(refused, ClientError::Unauthorized { http: 403, .. }),
        "{refused:?}"
    );
    assert_eq!(
        partner.seen().last().unwrap().header("authorization"),
        Some("Token t")
    );
    let failed = client.get(&partner.at("/failed"), &call).await.unwrap_err();
    assert!(
        matches!(failed, ClientError::Status { status: 2001, .. }),
        "{failed:?}"
    );
    let not_ocpi = client
        .get(&partner.at("/notocpi"), &call)
        .await
        .unwrap_err();
    assert!(
        matches!(not_ocpi, ClientError::Invalid { .. }),
        "{not_ocpi:?}"
    );
    let missing = client
        .get(&partner.at("/missing"), &call)
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing,
            ClientError::Http {
                http: 404,
                status: Some(2000),
                ..
            }
        ),
        "{missing:?}"
    );
    let nobody = client.get("http://127.0.0.1:1/x", &call).await.unwrap_err();
    assert!(
        matches!(nobody, ClientError::Unreachable { .. }),
        "{nobody:?}"
    );
    partner.stop().await;
}
