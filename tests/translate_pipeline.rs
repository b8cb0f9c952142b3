//! `translate oicp-to-ocpi evse-data` reads a top-level array on several threads (a scanner
//! splits it into elements, parsing threads parse and map chunks of them, this thread groups in
//! input order) and hands odd input to the sequential parse. These tests build large inputs from the fixture
//! `tests/fixtures/translate/evse_data/records.json` and prove that the output, the loss notes
//! and the errors are exactly those of the sequential [`LocationGrouper::push`] loop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufWriter;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use roambridge::mapping::evse_location::LocationGrouper;
use roambridge::mapping::{LossNote, MappingCtx};
use roambridge::oicp::v23::evse_data::PullEvseDataRecord;
use roambridge::translate::evse_data::{BATCH, OUT_BATCH};
use roambridge::translate::io::{JsonArray, for_each_element};
use roambridge::translate::{Direction, Kind, TranslateError, translate};
use serde_json::Value;

fn fixture(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/translate/evse_data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

fn ctx() -> MappingCtx {
    MappingCtx::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

/// `copies` copies of the fixture's records with new `EvseID`s, two copies per pool (so that
/// Locations span batches and later records differ from the first), and every seventh copy
/// with the fixture's own ids (duplicates, noted against records in earlier batches).
fn many(records: &[Value], copies: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for k in 0..copies {
        for (j, r) in records.iter().enumerate() {
            let mut r = r.clone();
            if k % 7 != 3 {
                r["EvseID"] = Value::from(format!("DE*ABC*E7{k:05}{j}"));
                if r.get("ChargingPoolID").is_some_and(|p| !p.is_null()) {
                    r["ChargingPoolID"] = Value::from(format!("DE*ABC*P{}", k / 2));
                }
                if k % 2 == 1 {
                    r["OperatorName"] = Value::from(format!("Operator {k}"));
                }
            }
            out.push(r);
        }
    }
    serde_json::to_vec(&out).unwrap()
}

/// The sequential form: each record pushed as parsed, notes taken after each, Locations written
/// with the same array writer.
fn sequential(input: &[u8]) -> (Result<(), String>, Vec<u8>, Vec<LossNote>) {
    let ctx = ctx();
    let mut grouper = LocationGrouper::new(&ctx).unwrap();
    let mut notes = Vec::new();
    let parsed = for_each_element::<PullEvseDataRecord, _>(input, |_, record| {
        grouper.push(&record)?;
        notes.extend(grouper.take_losses());
        Ok(())
    });
    if let Err(e) = parsed {
        return (Err(describe(&e)), Vec::new(), notes);
    }
    let mut array = JsonArray::start(BufWriter::new(Vec::new())).unwrap();
    for location in grouper.finish() {
        array.element(&location.unwrap()).unwrap();
    }
    let out = array.finish().unwrap().into_inner().unwrap();
    (Ok(()), out, notes)
}

fn piped(input: &[u8]) -> (Result<(), String>, Vec<u8>, Vec<LossNote>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let r = translate(
        Direction::OicpToOcpi,
        Kind::EvseData,
        input,
        &ctx(),
        &mut out,
        &mut notes,
    );
    (r.map_err(|e| describe(&e)), out, notes)
}

fn describe(e: &TranslateError) -> String {
    match e {
        TranslateError::Invalid(errors) => errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

#[test]
fn two_threads_give_the_sequential_output_and_notes() {
    let records = fixture("records.json");
    // Enough copies for several chunks of parsing and of output (the Locations are built and
    // serialized on several threads too).
    let copies = (3 * BATCH / records.len() + 5).max(8 * OUT_BATCH);
    let input = many(&records, copies);
    let (seq_result, seq_out, seq_notes) = sequential(&input);
    let (result, out, notes) = piped(&input);
    assert_eq!(seq_result, Ok(()));
    assert_eq!(result, Ok(()));
    assert!(
        seq_notes
            .iter()
            .any(|n| n.reason.starts_with("duplicate of")),
        "the input has duplicates across batches"
    );
    assert!(
        seq_notes
            .iter()
            .any(|n| n.reason.contains("first record wins")),
        "the input has Locations whose later records differ"
    );
    let locations: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert!(locations.len() > 3 * OUT_BATCH, "{}", locations.len());
    assert_eq!(notes, seq_notes);
    assert!(out == seq_out, "the outputs differ");
}

#[test]
fn an_invalid_record_in_a_later_batch_fails_the_same_way() {
    let records = fixture("records.json");
    let invalid = fixture("invalid.json");
    let mut all: Vec<Value> = serde_json::from_slice(&many(&records, BATCH / 2)).unwrap();
    let at = all.len();
    all.extend(invalid);
    all.extend(records);
    let input = serde_json::to_vec(&all).unwrap();
    let (seq_result, _, seq_notes) = sequential(&input);
    let (result, _, notes) = piped(&input);
    let errors = seq_result.clone().unwrap_err();
    let first: usize = errors
        .strip_prefix("$[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("no element path: {errors}"));
    assert!(first >= at, "{errors}");
    assert_eq!(result, seq_result);
    assert!(
        seq_notes.len() > BATCH,
        "records before the defect are grouped"
    );
    assert_eq!(notes, seq_notes);
}

/// The records of `many(records, copies)` as compact JSON texts.
fn texts(records: &[Value], copies: usize) -> Vec<String> {
    let all: Vec<Value> = serde_json::from_slice(&many(records, copies)).unwrap();
    all.iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect()
}

/// `[`, the texts joined by `separator`, `]`.
fn array(texts: &[String], separator: &str) -> Vec<u8> {
    format!("[{}]", texts.join(separator)).into_bytes()
}

fn assert_same(what: &str, input: &[u8]) -> Result<(), String> {
    let (seq_result, seq_out, seq_notes) = sequential(input);
    let (result, out, notes) = piped(input);
    assert_eq!(result, seq_result, "{what}");
    assert_eq!(notes, seq_notes, "{what}");
    assert!(out == seq_out, "{what}: the outputs differ");
    seq_result
}

#[test]
fn whitespace_and_strings_that_look_like_json_are_split_right() {
    let records = fixture("records.json");
    let mut texts = texts(&records, 2 * BATCH / records.len() + 3);
    // Quotes, backslashes and brackets inside strings, in a later chunk.
    let tricky = texts.len() - 2;
    let mut r: Value = serde_json::from_str(&texts[tricky]).unwrap();
    r["OperatorName"] = Value::from("Op \"]}, [{\\\" \\ ]");
    texts[tricky] = serde_json::to_string(&r).unwrap();
    let input = array(&texts, " ,\r\n\t");
    assert_eq!(assert_same("whitespace", &input), Ok(()));
    let mut padded = b" \n\t[ ".to_vec();
    padded.extend_from_slice(&input[1..input.len() - 1]);
    padded.extend_from_slice(b"\r\n ]\n\n");
    assert_eq!(assert_same("padding", &padded), Ok(()));
    let (_, out, _) = piped(&input);
    let evse = r["EvseID"].as_str().unwrap();
    assert!(String::from_utf8_lossy(&out).contains(&format!("\"evse_id\":\"{evse}\"")));
}

#[test]
fn broken_json_in_a_later_chunk_fails_the_same_way() {
    let records = fixture("records.json");
    let texts = texts(&records, 3 * BATCH / records.len() + 3);
    let at = 2 * BATCH + 5;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut between = texts.clone();
    between[at].push_str(" x");
    cases.push(("garbage between elements", array(&between, ",")));
    let mut trailing = array(&texts, ",");
    trailing.insert(trailing.len() - 1, b',');
    cases.push(("trailing comma", trailing));
    let mut after = array(&texts, ",");
    after.extend_from_slice(b" ]");
    cases.push(("text after the array", after));
    let mut inside = texts.clone();
    inside[at] = inside[at].replacen("\":", "\"", 1);
    cases.push(("syntax error inside an element", array(&inside, ",")));
    let mut unterminated = array(&texts[..at], ",");
    unterminated.pop();
    unterminated.extend_from_slice(b",{\"OperatorID\":\"DE*ABC\"");
    cases.push(("cut off", unterminated));
    let mut type_error = texts.clone();
    type_error[at] = "17".to_owned();
    cases.push(("not an object", array(&type_error, ",")));
    for (what, input) in cases {
        let (_, _, seq_notes) = sequential(&input);
        assert!(seq_notes.len() > BATCH, "{what}: records before the defect");
        assert!(assert_same(what, &input).is_err(), "{what}");
    }
}

#[test]
fn deep_nesting_is_read_by_the_sequential_parse() {
    let records = fixture("records.json");
    let mut texts = texts(&records, 3 * BATCH / records.len() + 3);
    // Deeper than the scanner follows, shallower than serde_json's limit: the pipeline hands
    // over to the sequential parse in the middle and the result is still complete.
    let at = BATCH + 7;
    let mut r: Value = serde_json::from_str(&texts[at]).unwrap();
    let mut nested = Value::from(1);
    for _ in 0..110 {
        nested = Value::Array(vec![nested]);
    }
    r["DeeplyNested"] = nested;
    texts[at] = serde_json::to_string(&r).unwrap();
    let input = array(&texts, ",");
    assert_eq!(assert_same("deep nesting", &input), Ok(()));
    let (_, out, _) = piped(&input);
    let out = String::from_utf8_lossy(&out);
    for k in [at, texts.len() - 1] {
        let r: Value = serde_json::from_str(&texts[k]).unwrap();
        let evse = r["EvseID"].as_str().unwrap();
        assert!(
            out.contains(&format!("\"evse_id\":\"{evse}\"")),
            "record {k} is mapped"
        );
    }
}
