//! OICP `eRoamingPushAuthenticationData` <-> OCPI Tokens (`roambridge::mapping::token`):
//! * fixtures `tests/fixtures/mapping/token/<case>/`: `oicp.json` (a push) -> `ocpi.json`
//!   (`{"action", "country_code", "party_id", "tokens"}`), or `ocpi.json` (Tokens) ->
//!   `oicp.json` (pushes), with `losses.json`; `ROAMBRIDGE_BLESS=1` rewrites the outputs;
//! * a property test: RFID and remote identifications go OICP -> OCPI -> OICP unchanged;
//! * every Token of `$ROAMBRIDGE_SHARED/ocpi-examples/2.2.1` goes to OICP (and back when it has
//!   an OICP form) with the loss paths listed here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fixtures.rs"]
mod fixtures;

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use fixtures::{check, losses_json, read};
use proptest::prelude::*;
use roambridge::mapping::token::{
    TokenBatch, TokenBatchAction, TokenCtx, auth_data_to_tokens, tokens_to_auth_data,
};
use roambridge::ocpi::v221::tokens::{Token, WhitelistType};
use roambridge::oicp::v23::auth_data::PushAuthenticationData;
use roambridge::oicp::v23::common::ActionType;
use serde_json::{Value, json};

fn dir(case: &str) -> PathBuf {
    fixtures::case_dir("token", case)
}

fn ctx() -> TokenCtx {
    TokenCtx::new(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
}

fn batch_json(b: &TokenBatch) -> Value {
    json!({
        "action": format!("{:?}", b.action),
        "country_code": b.country_code.as_str(),
        "party_id": b.party_id.as_str(),
        "tokens": serde_json::to_value(&b.tokens).unwrap(),
    })
}

fn parse_tokens(v: &Value) -> Vec<Token> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| roambridge::ocpi::v221::parse_value::<Token>(t).unwrap())
        .collect()
}

/// Compares (or with `ROAMBRIDGE_BLESS`, writes) `output` and `losses` of a case.
fn check_case(case: &str, file: &str, output: &Value, losses: &Value) {
    check(&dir(case), &[(file, output), ("losses.json", losses)]);
}

#[test]
fn auth_data_fixtures_map_exactly() {
    for case in ["auth_data_full_load", "auth_data_delete"] {
        let push: PushAuthenticationData =
            roambridge::oicp::v23::wire::parse_value(&read(&dir(case).join("oicp.json"))).unwrap();
        let mapped = auth_data_to_tokens(&push, &ctx().with_issuer("GDF Mobility")).unwrap();
        for token in &mapped.value.tokens {
            let errors = roambridge::ocpi::v221::Validator::run(token);
            assert!(errors.is_empty(), "{case}: {errors:?}");
        }
        check_case(
            case,
            "ocpi.json",
            &batch_json(&mapped.value),
            &losses_json(&mapped.losses),
        );
    }
}

#[test]
fn action_types_set_the_batch_action_and_validity() {
    let mut push: PushAuthenticationData = roambridge::oicp::v23::wire::parse_value(&read(
        &dir("auth_data_full_load").join("oicp.json"),
    ))
    .unwrap();
    let expect = [
        (ActionType::FullLoad, TokenBatchAction::ReplaceAll, true),
        (ActionType::Insert, TokenBatchAction::Upsert, true),
        (ActionType::Update, TokenBatchAction::Upsert, true),
        (ActionType::Delete, TokenBatchAction::Invalidate, false),
    ];
    for (action, batch_action, valid) in expect {
        push.action_type = action.clone();
        let batch = auth_data_to_tokens(&push, &ctx()).unwrap().value;
        assert_eq!(batch.action, batch_action, "{action}");
        // Record 2 carries an expired card: never valid.
        let validity: Vec<bool> = batch.tokens.iter().map(|t| t.valid).collect();
        assert_eq!(
            validity,
            [valid, valid, false, valid, valid, valid],
            "{action}"
        );
        assert!(
            batch
                .tokens
                .iter()
                .all(|t| t.whitelist == WhitelistType::Always)
        );
        assert_eq!(
            batch.tokens[0].issuer.as_str(),
            "DE-GDF",
            "issuer from the ProviderID"
        );
    }
    push.action_type = ActionType::Unknown("merge".to_owned());
    assert!(auth_data_to_tokens(&push, &ctx()).is_err());
}

#[test]
fn tokens_fixture_maps_exactly() {
    let case = "tokens_to_auth_data";
    let tokens = parse_tokens(&read(&dir(case).join("ocpi.json")));
    let mapped = tokens_to_auth_data(&tokens, &ActionType::Update).unwrap();
    for push in &mapped.value {
        let errors = roambridge::oicp::v23::validate::Validator::run(push);
        assert!(errors.is_empty(), "{errors:?}");
    }
    let output = serde_json::to_value(&mapped.value).unwrap();
    check_case(case, "oicp.json", &output, &losses_json(&mapped.losses));
}

#[test]
fn invalid_tokens_are_pushed_only_as_deletes() {
    let tokens = parse_tokens(&read(&dir("tokens_to_auth_data").join("ocpi.json")));
    let invalid = &tokens[6..7];
    assert!(!invalid[0].valid);
    let update = tokens_to_auth_data(invalid, &ActionType::Update).unwrap();
    assert!(update.value.is_empty());
    let delete = tokens_to_auth_data(invalid, &ActionType::Delete).unwrap();
    assert_eq!(delete.value.len(), 1);
    assert_eq!(delete.value[0].action_type, ActionType::Delete);
}

// ---------------------------------------------------------------------------------------------
// Property: RFID and remote identifications survive OICP -> OCPI -> OICP.

fn identification() -> impl Strategy<Value = Value> {
    prop_oneof![
        "([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})"
            .prop_map(|uid| json!({"RFIDMifareFamilyIdentification": {"UID": uid}})),
        ("[A-Z]{2}", "[A-Z0-9]{3}", "[A-Z0-9]{8}", "[0-9A-Z]").prop_map(
            |(c, p, i, k)| json!({"RemoteIdentification": {"EvcoID": format!("{c}-{p}-C{i}-{k}")}})
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn oicp_ocpi_oicp_keeps_identifications(
        ids in proptest::collection::btree_set(identification().prop_map(|v| v.to_string()), 0..8),
        action in prop_oneof![Just("fullLoad"), Just("insert"), Just("update"), Just("delete")],
    ) {
        let records: Vec<Value> = ids
            .iter()
            .map(|s| json!({"Identification": serde_json::from_str::<Value>(s).unwrap()}))
            .collect();
        let push = json!({
            "ActionType": action,
            "ProviderAuthenticationData": {"ProviderID": "DE-GDF", "AuthenticationDataRecord": records},
        });
        let push: PushAuthenticationData = roambridge::oicp::v23::wire::parse_value(&push).unwrap();
        let tokens = auth_data_to_tokens(&push, &ctx()).unwrap().value.tokens;
        prop_assert_eq!(tokens.len(), ids.len());
        let back = tokens_to_auth_data(&tokens, &push.action_type).unwrap();
        let want = if ids.is_empty() { json!([]) } else { json!([push]) };
        prop_assert_eq!(serde_json::to_value(&back.value).unwrap(), want);
    }
}

// ---------------------------------------------------------------------------------------------
// The OCPI example corpus.

/// Token examples: file, JSON pointer of the Token(s), loss paths to OICP, loss paths back.
const CORPUS: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "token_example_1_app_user.json",
        "",
        // Neither the uid nor the contract id is an EvcoID: no OICP form.
        &["Token[0].contract_id"],
        &[],
    ),
    (
        "token_example_2_full_rfid.json",
        "",
        &[
            "Token[0].contract_id",
            "Token[0].visual_number",
            "Token[0].issuer",
            "Token[0].group_id",
            "Token[0].language",
            "Token[0].default_profile_type",
            "Token[0].energy_contract",
            "Token[0].whitelist",
        ],
        &[
            "ProviderAuthenticationData",
            "ProviderAuthenticationData.AuthenticationDataRecord[0].Identification.RFIDMifareFamilyIdentification.UID",
        ],
    ),
    (
        "token_put_example.json",
        "",
        &["Token[0].uid", "Token[0].contract_id"],
        &[],
    ),
    (
        "transport_and_format_get_token_example.json",
        "/data",
        &["Token[0].uid", "Token[0].contract_id"],
        &[],
    ),
    (
        "transport_and_format_get_token_list_example.json",
        "/data",
        &[
            "Token[0].uid",
            "Token[0].contract_id",
            "Token[1].uid",
            "Token[1].contract_id",
            "Token[2].valid",
        ],
        &[],
    ),
];

fn sorted(paths: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = paths.into_iter().collect();
    v.sort();
    v
}

#[test]
fn corpus_tokens_go_to_oicp_and_back_with_the_listed_losses() {
    let Some(dir) = fixtures::ocpi_corpus() else {
        return;
    };
    for (file, pointer, to_oicp, back) in CORPUS {
        let value = read(&dir.join(file));
        let member = value.pointer(pointer).unwrap();
        let tokens = match member {
            Value::Array(_) => parse_tokens(member),
            other => parse_tokens(&json!([other])),
        };
        let mapped = tokens_to_auth_data(&tokens, &ActionType::Insert).unwrap();
        let got = sorted(mapped.losses.iter().map(|l| l.path.clone()));
        assert_eq!(
            got,
            sorted(to_oicp.iter().map(|s| (*s).to_owned())),
            "{file}: OCPI -> OICP"
        );
        let mut again = Vec::new();
        for push in &mapped.value {
            let back = auth_data_to_tokens(push, &ctx()).unwrap();
            again.extend(back.losses.iter().map(|l| l.path.clone()));
            for t in &back.value.tokens {
                let original = tokens.iter().find(|o| o.uid == t.uid).unwrap();
                assert_eq!(
                    (&t.country_code, &t.party_id, &t.token_type),
                    (
                        &original.country_code,
                        &original.party_id,
                        &original.token_type
                    ),
                    "{file}"
                );
            }
        }
        assert_eq!(
            sorted(again),
            sorted(back.iter().map(|s| (*s).to_owned())),
            "{file}: OICP -> OCPI"
        );
    }
}
