//! The CPO platform side, Locations Sender: the backend's OICP pushes become OCPI Locations
//! that a registered eMSP reads with pagination, plus every error path.

use serde_json::Value;

use crate::evse_push::{full_load, status_update};
use crate::harness::{EMP, Node, OcpiNode, cpo_id, ocpi, token};
use crate::oicp_harness::post;

/// A CPO party with a backend that may push.
pub const CPO_WITH_BACKEND: &str = "[[party]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nname = \"GEF Charging\"\nbackend = \"http://127.0.0.1:9\"\nbackend_token = \"cpo-backend\"\n";

/// A CPO node and an EMP node registered with it; the token the EMP uses on the CPO.
pub async fn cpo_and_emsp() -> (Node, Node, String) {
    let cpo = Node::start(CPO_WITH_BACKEND).await;
    let emp = Node::start(EMP).await;
    let token_a = cpo.token_a(None).await;
    let answer = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let t = emp.connection(&cpo_id()).unwrap().token_out.clone();
    (cpo, emp, token(&t))
}

/// The CPO backend pushes `body` to `path` below `/api/oicp`.
pub async fn backend_push(cpo: &Node, path: &str, body: &Value) {
    let a = post(&format!("{}{path}", cpo.url()), Some("cpo-backend"), body).await;
    assert_eq!(a.body["Result"], true, "{:?}", a.body);
}

async fn push_data(cpo: &Node, pools: usize, per_pool: usize) {
    backend_push(
        cpo,
        "/evsepush/v23/operators/DE*GEF/data-records",
        &full_load(pools, per_pool),
    )
    .await;
}

#[actix_web::test]
async fn pushed_evse_data_is_served_as_locations_page_by_page() {
    let (cpo, emp, auth) = cpo_and_emsp().await;
    push_data(&cpo, 5, 2).await;
    let url = cpo.at("/ocpi/2.2.1/locations");

    // Pages of two follow the Link until the last page, which has none.
    let mut next = Some(format!("{url}?limit=2"));
    let mut ids = Vec::new();
    while let Some(u) = next.take() {
        let page = ocpi("GET", &u, &auth, None).await;
        assert_eq!((page.status, page.code()), (200, 1000), "{page:?}");
        assert_eq!(page.header("x-total-count"), Some("5"));
        assert_eq!(page.header("x-limit"), Some("100"));
        for l in page.body["data"].as_array().unwrap() {
            assert_eq!(
                (l["country_code"].as_str(), l["party_id"].as_str()),
                (Some("DE"), Some("GEF"))
            );
            assert_eq!(l["evses"].as_array().unwrap().len(), 2);
            ids.push(l["id"].as_str().unwrap().to_owned());
        }
        next = page
            .header("link")
            .map(|l| roambridge::node::ocpi::pagination::next_link(l).unwrap());
    }
    ids.sort();
    assert_eq!(ids.len(), 5);
    assert_eq!(ids[0], "DE*GEF*P000000");

    // A limit over the cap is cut; an offset past the end is an empty last page.
    let big = ocpi("GET", &format!("{url}?limit=5000"), &auth, None).await;
    assert_eq!(big.body["data"].as_array().unwrap().len(), 5);
    let past = ocpi("GET", &format!("{url}?offset=10"), &auth, None).await;
    assert_eq!(
        (past.code(), past.body["data"].as_array().unwrap().len()),
        (1000, 0)
    );
    assert!(past.header("link").is_none());
    for bad in ["limit=0", "offset=-1", "date_from=yesterday"] {
        let a = ocpi("GET", &format!("{url}?{bad}"), &auth, None).await;
        assert_eq!((a.status, a.code()), (200, 2001), "{bad}: {a:?}");
    }
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn a_status_push_changes_one_location_and_its_last_updated() {
    let (cpo, emp, auth) = cpo_and_emsp().await;
    push_data(&cpo, 3, 2).await;
    let url = cpo.at("/ocpi/2.2.1/locations");
    let before = ocpi("GET", &url, &auth, None).await;
    let stamp = before.body["data"][0]["last_updated"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(before.body["data"][0]["evses"][0]["status"], "UNKNOWN");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    backend_push(
        &cpo,
        "/evsepush/v21/operators/DE*GEF/status-records",
        &status_update(&[(1, 2)], "Occupied"),
    )
    .await;

    // Only the changed Location is newer than the first stamp (date_from is inclusive).
    let after = format!("{url}?date_from={stamp}");
    let all = ocpi("GET", &after, &auth, None).await;
    assert_eq!(all.header("x-total-count"), Some("3"));
    let changed = ocpi("GET", &format!("{url}?date_to={stamp}"), &auth, None).await;
    assert_eq!(changed.header("x-total-count"), Some("0"), "{changed:?}");
    let location = ocpi("GET", &format!("{url}/DE*GEF*P000001"), &auth, None).await;
    assert_eq!(location.code(), 1000, "{location:?}");
    assert!(location.body["data"]["last_updated"].as_str().unwrap() > stamp.as_str());
    let evse = ocpi(
        "GET",
        &format!("{url}/de*gef*p000001/DE*GEF*E000001*2"),
        &auth,
        None,
    )
    .await;
    assert_eq!(evse.body["data"]["status"], "CHARGING", "{evse:?}");
    let connector = ocpi(
        "GET",
        &format!("{url}/DE*GEF*P000001/DE*GEF*E000001*2/1"),
        &auth,
        None,
    )
    .await;
    assert_eq!(
        connector.body["data"]["standard"], "IEC_62196_T2",
        "{connector:?}"
    );
    let other = ocpi("GET", &format!("{url}/DE*GEF*P000000"), &auth, None).await;
    assert_eq!(other.body["data"]["last_updated"], stamp.as_str());

    // A fullLoad repeating what is stored changes nothing.
    push_data(&cpo, 3, 2).await;
    let again = ocpi("GET", &format!("{url}/DE*GEF*P000000"), &auth, None).await;
    assert_eq!(again.body["data"]["last_updated"], stamp.as_str());
    // A fullLoad without pool 2 removes its Location.
    push_data(&cpo, 2, 2).await;
    let gone = ocpi("GET", &format!("{url}/DE*GEF*P000002"), &auth, None).await;
    assert_eq!((gone.status, gone.code()), (404, 2003), "{gone:?}");
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn unknown_objects_parties_and_tokens_are_refused() {
    let (cpo, emp, auth) = cpo_and_emsp().await;
    push_data(&cpo, 1, 1).await;
    let url = cpo.at("/ocpi/2.2.1/locations");
    for path in [
        "/NOPE",
        "/DE*GEF*P000000/NOPE",
        "/DE*GEF*P000000/DE*GEF*E000000*1/9",
    ] {
        let a = ocpi("GET", &format!("{url}{path}"), &auth, None).await;
        assert_eq!((a.status, a.code()), (404, 2003), "{path}: {a:?}");
    }
    let ok = ocpi(
        "GET",
        &format!("{url}/DE*GEF*P000000/DE*GEF*E000000*1/1"),
        &auth,
        None,
    )
    .await;
    assert_eq!(ok.code(), 1000, "{ok:?}");
    // No token, an unknown token, a token A: 401.
    let token_a = cpo.token_a(None).await;
    for t in ["", "Token bm9wZQ==", &token(&token_a)] {
        let a = ocpi("GET", &url, t, None).await;
        assert_eq!((a.status, a.code()), (401, 2000), "{t}: {a:?}");
    }
    // A party we do not host: 404 with 2001; a half routing pair: 2001.
    let wrong = crate::harness::call(
        "GET",
        &url,
        &[
            ("Authorization", auth.as_str()),
            ("OCPI-to-country-code", "NL"),
            ("OCPI-to-party-id", "XYZ"),
        ],
        None,
    )
    .await;
    assert_eq!((wrong.status, wrong.code()), (404, 2001), "{wrong:?}");
    let half = crate::harness::call(
        "GET",
        &url,
        &[
            ("Authorization", auth.as_str()),
            ("OCPI-to-party-id", "GEF"),
        ],
        None,
    )
    .await;
    assert_eq!(half.code(), 2001, "{half:?}");
    let addressed = crate::harness::call(
        "GET",
        &url,
        &[
            ("Authorization", auth.as_str()),
            ("OCPI-to-country-code", "de"),
            ("OCPI-to-party-id", "gef"),
        ],
        None,
    )
    .await;
    assert_eq!(
        addressed.header("x-total-count"),
        Some("1"),
        "{addressed:?}"
    );
    // The version details list the module as SENDER.
    let details = ocpi("GET", &cpo.at("/ocpi/2.2.1"), &auth, None).await;
    let endpoints = details.body["data"]["endpoints"].as_array().unwrap();
    assert!(endpoints.iter().any(|e| {
        e["identifier"] == "locations"
            && e["role"] == "SENDER"
            && e["url"]
                .as_str()
                .unwrap()
                .ends_with("/ocpi/2.2.1/locations")
    }));
    cpo.stop().await;
    emp.stop().await;
}

/// On a database file the pages come from the store's read connections, beside its writer
/// thread: every read sent after a push was answered shows that push, also when many pages are
/// read at once.
#[actix_web::test]
async fn on_a_database_file_every_read_after_an_answered_push_shows_it() {
    let dir = std::env::temp_dir().join(format!(
        "roambridge-ocpi-file-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let text = format!(
        "[node]\nlisten = \"127.0.0.1:0\"\ndatabase = \"{}\"\nadmin_token = \"admin\"\n\n{CPO_WITH_BACKEND}",
        dir.join("node.sqlite").display()
    );
    let cpo =
        Node::from_config(roambridge::config::Config::parse(&text, "file.toml").unwrap()).await;
    let emp = Node::start(EMP).await;
    let token_a = cpo.token_a(None).await;
    assert_eq!(emp.register(&cpo.versions(), &token_a).await.status, 201);
    let auth = token(&emp.connection(&cpo_id()).unwrap().token_out.clone());
    push_data(&cpo, 20, 2).await;
    let url = cpo.at("/ocpi/2.2.1/locations");

    for (round, (pushed, expected)) in [
        ("Occupied", "CHARGING"),
        ("Available", "AVAILABLE"),
        ("Reserved", "RESERVED"),
        ("Available", "AVAILABLE"),
    ]
    .into_iter()
    .enumerate()
    {
        let pool = round * 5 + 3;
        backend_push(
            &cpo,
            "/evsepush/v21/operators/DE*GEF/status-records",
            &status_update(&[(pool, 1)], pushed),
        )
        .await;
        let location = format!("DE*GEF*P{pool:06}");
        let uid = format!("DE*GEF*E{pool:06}*1");
        let one = ocpi("GET", &format!("{url}/{location}/{uid}"), &auth, None).await;
        assert_eq!(one.body["data"]["status"], expected, "{one:?}");
        let page_url = format!("{url}?limit=20");
        let pages =
            futures_util::future::join_all((0..8).map(|_| ocpi("GET", &page_url, &auth, None)))
                .await;
        for page in pages {
            assert_eq!((page.status, page.code()), (200, 1000), "{page:?}");
            assert_eq!(page.header("x-total-count"), Some("20"));
            let found = page.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["id"] == location.as_str())
                .unwrap();
            let evse = found["evses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["uid"] == uid.as_str())
                .unwrap();
            assert_eq!(evse["status"], expected, "round {round}");
        }
    }
    cpo.stop().await;
    emp.stop().await;
    drop(cpo);
    let _ = std::fs::remove_dir_all(&dir);
}
