//! The credentials handshake both ways, update with token rotation, unregistering.

use roambridge::config::Protocol;
use serde_json::{Value, json};

use crate::harness::{CPO, EMP, Node, OcpiNode, cpo_id, emp_id, ocpi, token};

/// CPO node issues a token A; the EMP node registers with it.
async fn registered_pair() -> (Node, Node) {
    let cpo = Node::start(CPO).await;
    let emp = Node::start(EMP).await;
    let token_a = cpo.token_a(None).await;
    let answer = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    (cpo, emp)
}

#[actix_web::test]
async fn a_partner_registers_with_token_a_which_then_dies() {
    let cpo = Node::start(CPO).await;
    let emp = Node::start(EMP).await;
    let token_a = cpo.token_a(None).await;
    // Token A opens versions before the registration.
    let before = ocpi("GET", &cpo.versions(), &token(&token_a), None).await;
    assert_eq!(before.status, 200, "{before:?}");

    let answer = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.body["id"], "DE*GEF");
    assert_eq!(answer.body["registered_by_us"], true);
    assert_eq!(answer.body["parties"], json!(["CPO DE/GEF"]));
    assert!(
        answer.body["endpoints"][0]
            .as_str()
            .unwrap()
            .ends_with("/ocpi/2.2.1/credentials"),
        "{answer:?}"
    );

    // Each side holds the other's token crosswise; none is token A.
    let at_emp = emp.connection(&cpo_id()).unwrap();
    let at_cpo = cpo.connection(&emp_id()).unwrap();
    assert_eq!(at_emp.token_out, at_cpo.token_in);
    assert_eq!(at_emp.token_in, at_cpo.token_out);
    assert!(!at_cpo.registered_by_us);
    assert!(at_emp.token_in != token_a && at_emp.token_out != token_a);
    assert_eq!(at_cpo.versions_url, emp.versions());
    assert_eq!(at_cpo.roles[0].party_id.as_str(), "GDF");

    // Token A is dead; token C opens the credentials of the CPO.
    let dead = ocpi("GET", &cpo.versions(), &token(&token_a), None).await;
    assert_eq!((dead.status, dead.code()), (401, 2000), "{dead:?}");
    let creds = ocpi(
        "GET",
        &cpo.at("/ocpi/2.2.1/credentials"),
        &token(&at_emp.token_out),
        None,
    )
    .await;
    assert_eq!(creds.status, 200, "{creds:?}");
    assert_eq!(creds.body["data"]["token"], at_emp.token_out.as_str());
    assert_eq!(creds.body["data"]["url"], cpo.versions());
    assert_eq!(
        creds.body["data"]["roles"],
        json!([{"role": "CPO", "business_details": {"name": "GEF Charging"}, "party_id": "GEF", "country_code": "DE"}])
    );
    // And the CPO reaches the EMP with token B.
    let back = ocpi("GET", &emp.versions(), &token(&at_cpo.token_out), None).await;
    assert_eq!(back.status, 200, "{back:?}");

    // Both registries now know the other as an OCPI peer, stored for the next start.
    let peer = cpo.state.registry.peer(&emp_id()).unwrap();
    assert_eq!(peer.protocol(), Protocol::Ocpi);
    assert_eq!(peer.url, emp.versions());
    assert!(emp.state.registry.peer(&cpo_id()).unwrap().ocpi.is_some());
    let stored = cpo.state.store.list_peers().await.unwrap();
    assert_eq!(stored[0].protocol.as_deref(), Some("ocpi"));
    assert_eq!(cpo.state.store.ocpi_connections().await.unwrap().len(), 1);
    // OICP fan-out does not see OCPI peers.
    assert!(
        cpo.state
            .registry
            .peers(roambridge::config::Role::Emp)
            .is_empty()
    );

    // The same token A cannot register twice.
    let again = Node::start("[[party]]\nrole = \"emp\"\nid = \"NL-XYZ\"\n").await;
    let second = again.register(&cpo.versions(), &token_a).await;
    assert_eq!(second.status, 502, "{second:?}");
    assert_eq!(second.body["ocpi_status_code"], 3001);
    assert!(again.state.ocpi.connections().is_empty());
    for n in [&cpo, &emp, &again] {
        n.stop().await;
    }
}

/// Runs `roambridge ocpi <args> --node <node> --admin-token admin` off the test's thread.
async fn cli(node: &Node, args: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.insert(0, "ocpi".to_owned());
    args.extend([
        "--node".to_owned(),
        node.base(),
        "--admin-token".to_owned(),
        "admin".to_owned(),
    ]);
    actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_roambridge"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn an_emp_registers_a_cpo_through_the_cli_with_a_token_for_a_named_peer() {
    let cpo = Node::start(CPO).await;
    // The EMP knows the CPO in advance as an OCPI peer.
    let emp = Node::start(&format!(
        "{EMP}\n[[peer]]\nrole = \"cpo\"\nid = \"DE*GEF\"\nprotocol = \"ocpi\"\nurl = \"{}\"\n",
        cpo.versions()
    ))
    .await;
    let issued = cli(&emp, &["token-a", "--peer", "cpo/DE*GEF"]).await;
    assert!(issued.status.success(), "{issued:?}");
    let issued: Value = serde_json::from_slice(&issued.stdout).unwrap();
    assert_eq!(issued["peer"], "DE*GEF");
    let token_a = issued["token"].as_str().unwrap().to_owned();

    let registered = cli(&cpo, &["register", &emp.versions(), &token_a]).await;
    assert!(registered.status.success(), "{registered:?}");
    let view: Value = serde_json::from_slice(&registered.stdout).unwrap();
    assert_eq!(
        (view["role"].as_str(), view["id"].as_str()),
        (Some("emp"), Some("DE-GDF"))
    );
    // The EMP keyed the registration by the peer the token A was issued for.
    let at_emp = emp.connection(&cpo_id()).unwrap();
    assert!(!at_emp.registered_by_us);
    assert_eq!(
        at_emp.token_in,
        cpo.connection(&emp_id()).unwrap().token_out
    );

    // A failure exits 1 with the node's reason (the spent token A is refused).
    let refused = cli(&cpo, &["register", &emp.versions(), &token_a]).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("HTTP 502"),
        "{refused:?}"
    );
    let listed = cli(&emp, &["connections"]).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], "DE*GEF");
    // Without --config or --node there is no node to ask: exit 2.
    let bad = actix_web::rt::task::spawn_blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_roambridge"))
            .args(["ocpi", "connections"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn update_rotates_both_tokens_from_either_side() {
    let (cpo, emp) = registered_pair().await;
    let old_emp = emp.connection(&cpo_id()).unwrap();
    // The registering side updates (credentials PUT at the CPO).
    let updated = emp
        .admin("POST", "/admin/ocpi/connections/cpo/DE*GEF/update", None)
        .await;
    assert_eq!(updated.status, 200, "{updated:?}");
    let new_emp = emp.connection(&cpo_id()).unwrap();
    let new_cpo = cpo.connection(&emp_id()).unwrap();
    assert_ne!(new_emp.token_out, old_emp.token_out);
    assert_ne!(new_emp.token_in, old_emp.token_in);
    assert_eq!(new_emp.token_out, new_cpo.token_in);
    assert_eq!(new_emp.token_in, new_cpo.token_out);
    assert!(new_emp.registered_by_us && !new_cpo.registered_by_us);
    // Old tokens are refused on both sides, new ones accepted.
    for (node, old, new) in [
        (&cpo, &old_emp.token_out, &new_emp.token_out),
        (&emp, &old_emp.token_in, &new_emp.token_in),
    ] {
        let refused = ocpi("GET", &node.versions(), &token(old), None).await;
        assert_eq!(refused.status, 401, "{refused:?}");
        let accepted = ocpi("GET", &node.versions(), &token(new), None).await;
        assert_eq!(accepted.status, 200, "{accepted:?}");
    }
    // The registered side can update too (credentials PUT at the EMP).
    let reverse = cpo
        .admin("POST", "/admin/ocpi/connections/emp/DE-GDF/update", None)
        .await;
    assert_eq!(reverse.status, 200, "{reverse:?}");
    let (e, c) = (
        emp.connection(&cpo_id()).unwrap(),
        cpo.connection(&emp_id()).unwrap(),
    );
    assert_eq!(
        (e.token_out.as_str(), e.token_in.as_str()),
        (c.token_in.as_str(), c.token_out.as_str())
    );
    assert_ne!(c.token_in, new_cpo.token_in);
    // An unknown connection cannot be updated.
    let unknown = cpo
        .admin("POST", "/admin/ocpi/connections/emp/NL-XYZ/update", None)
        .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn unregistering_makes_both_sides_forget_and_state_errors_are_405() {
    let (cpo, emp) = registered_pair().await;
    let c = emp.connection(&cpo_id()).unwrap();
    let creds_url = cpo.at("/ocpi/2.2.1/credentials");
    // POST while registered: 405.
    let again = ocpi("POST", &creds_url, &token(&c.token_out), Some(json!({}))).await;
    assert_eq!((again.status, again.code()), (405, 2000), "{again:?}");
    // PUT and DELETE with a token A: 405.
    let token_a = cpo.token_a(None).await;
    for method in ["PUT", "DELETE"] {
        let a = ocpi(method, &creds_url, &token(&token_a), Some(json!({}))).await;
        assert_eq!(a.status, 405, "{method} {a:?}");
    }
    // PATCH is no credentials method.
    let patch = ocpi("PATCH", &creds_url, &token(&c.token_out), Some(json!({}))).await;
    assert_eq!(patch.status, 405, "{patch:?}");

    let gone = emp
        .admin("DELETE", "/admin/ocpi/connections/cpo/DE*GEF", None)
        .await;
    assert_eq!(gone.status, 204, "{gone:?}");
    assert!(emp.connection(&cpo_id()).is_none());
    assert!(cpo.connection(&emp_id()).is_none());
    assert!(cpo.state.store.ocpi_connections().await.unwrap().is_empty());
    let refused = ocpi("GET", &cpo.versions(), &token(&c.token_out), None).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    let twice = emp
        .admin("DELETE", "/admin/ocpi/connections/cpo/DE*GEF", None)
        .await;
    assert_eq!(twice.status, 404, "{twice:?}");
    // The token A issued before still registers afresh.
    let fresh = emp.register(&cpo.versions(), &token_a).await;
    assert_eq!(fresh.status, 201, "{fresh:?}");
    // The partner unregistering us (DELETE on our credentials) works the same way.
    let now = emp.connection(&cpo_id()).unwrap();
    let deleted = ocpi("DELETE", &creds_url, &token(&now.token_out), None).await;
    assert_eq!((deleted.status, deleted.code()), (200, 1000), "{deleted:?}");
    assert!(cpo.connection(&emp_id()).is_none());
    cpo.stop().await;
    emp.stop().await;
}

#[actix_web::test]
async fn every_party_of_both_platforms_is_exchanged() {
    let dual = Node::start(&format!(
        "{CPO}\n[[party]]\nrole = \"emp\"\nid = \"DE-GEM\"\nname = \"GEF Mobility\"\n[[party]]\nrole = \"cpo\"\nid = \"+49*810\"\n"
    ))
    .await;
    let emp = Node::start(EMP).await;
    let token_a = emp.token_a(None).await;
    let answer = dual.register(&emp.versions(), &token_a).await;
    assert_eq!(answer.status, 201, "{answer:?}");
    // The EMP keeps every party of the dual platform (the +49 operator has no OCPI identity)
    // and keys the connection by its first CPO.
    let at_emp = emp.connection(&cpo_id()).unwrap();
    let parties: Vec<String> = at_emp
        .roles
        .iter()
        .map(|r| format!("{} {}", r.role, r.party_id.as_str()))
        .collect();
    assert_eq!(parties, ["CPO GEF", "EMSP GEM"]);
    let peer = emp.state.registry.peer(&cpo_id()).unwrap();
    assert_eq!(peer.ocpi.as_ref().unwrap().roles.len(), 1);
    dual.stop().await;
    emp.stop().await;
}
