//! EVSE status: `eRoamingPushEvseStatus` (CPO → HBS) and the three status pulls
//! `eRoamingPullEvseStatus`, `eRoamingPullEvseStatusByID` and
//! `eRoamingPullEvseStatusByOperatorID` (EMP → HBS) with their answers (oicp-2.3.md §3.4, §4.3,
//! errata E9 and E10 in §8).
//!
//! The three pulls have three paths (E10: the HBS and S1's snippets, not S2's single path), so
//! each has its own request type here; `eRoamingPullEvseStatus` and
//! `eRoamingPullEvseStatusByOperatorID` share the answer [`EvseStatusResponse`].
//!
//! Also home of [`find_duplicate_evse_ids`], the format-insensitive duplicate check (no
//! allocation per record) used by every push that carries `EvseID`s.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::common::{ActionType, SearchCenter};
use super::ids::{EvseId, OperatorId, ProviderId};
use super::scalars::Text;
use super::status::{Code, StatusCode};
use super::validate::{Validate, Validator};
use crate::{wire_enum, wire_struct};

/// The most `EvseID`s one `eRoamingPullEvseStatusByID` may ask for (oicp-2.3.md §2.3, §3.4).
pub const MAX_EVSE_IDS_PER_PULL: usize = 100;

wire_enum! {
    /// `EvseStatus` (oicp-2.3.md §4.3).
    ///
    /// The spec value `Unknown` is the variant [`EvseStatus::UnknownStatus`]: the macro already
    /// names its catch-all for values outside the spec's list `Unknown(String)` (only ever
    /// produced by `parse_forwarding`). On the wire both are plain strings, so the spec value
    /// reads and writes as `"Unknown"`.
    pub enum EvseStatus {
        /// The EVSE can be used.
        Available = "Available",
        /// The EVSE is reserved.
        Reserved = "Reserved",
        /// The EVSE is in use.
        Occupied = "Occupied",
        /// The EVSE cannot be used.
        OutOfService = "OutOfService",
        /// The HBS does not know the `EvseID`. Only in answers to a pull; refused in a push.
        EvseNotFound = "EvseNotFound",
        /// The spec's `Unknown`: the CPO does not know the state.
        UnknownStatus = "Unknown",
    }
}

wire_struct! {
    /// `EvseStatusRecord` (oicp-2.3.md §3.4): one EVSE and its state.
    pub struct EvseStatusRecord {
        /// The EVSE.
        req "EvseID" => evse_id: EvseId,
        /// Its state.
        req "EvseStatus" => evse_status: EvseStatus,
    }
}

wire_struct! {
    /// `OperatorEvseStatus` (oicp-2.3.md §3.4): the states of one operator's EVSEs, in a push and
    /// in the answers of the status pulls.
    pub struct OperatorEvseStatus {
        /// The operator (the partner talking to the HBS; sub-operators appear only in the
        /// `EvseID`s, §1).
        req "OperatorID" => operator_id: OperatorId,
        /// The operator's name, at most 100 characters.
        opt "OperatorName" => operator_name: Text<100>,
        /// The records; may be empty (a `fullLoad` with no records deletes all states).
        list "EvseStatusRecord" => evse_status_record: EvseStatusRecord,
    }
}

/// Validates the records of an `OperatorEvseStatus` in a push: `EvseNotFound` is an answer
/// value only, and an `EvseID` may appear only once (018, as the HBS answers, S5).
impl Validate for OperatorEvseStatus {
    fn validate(&self, v: &mut Validator) {
        let records = &self.evse_status_record;
        let not_found = records
            .iter()
            .any(|r| r.evse_status == EvseStatus::EvseNotFound);
        let duplicates = find_duplicate_evse_ids(records, |r| &r.evse_id);
        if !not_found && duplicates.is_empty() {
            return;
        }
        v.at("EvseStatusRecord", |v| {
            if not_found {
                for (i, record) in records.iter().enumerate() {
                    if record.evse_status == EvseStatus::EvseNotFound {
                        v.at_index(i, |v| {
                            v.error_at(
                                "EvseStatus",
                                "EvseNotFound is only used in answers to a pull; push Available, Reserved, \
                                 Occupied, OutOfService or Unknown",
                            );
                        });
                    }
                }
            }
            report_duplicates(v, &duplicates, records, |r| &r.evse_id);
        });
    }
}

wire_struct! {
    /// `eRoamingPushEvseStatus` (oicp-2.3.md §3.4): a CPO's EVSE states.
    pub struct PushEvseStatus {
        /// How the records change the stored set.
        req "ActionType" => action_type: ActionType,
        /// The operator and its records.
        req "OperatorEvseStatus" => operator_evse_status: OperatorEvseStatus,
    }
}

/// Rules of a push: see [`OperatorEvseStatus`]'s `Validate`.
impl Validate for PushEvseStatus {
    fn validate(&self, v: &mut Validator) {
        v.nested("OperatorEvseStatus", &self.operator_evse_status);
    }
}

wire_struct! {
    /// `eRoamingPullEvseStatus` (oicp-2.3.md §3.4): the states of every EVSE the EMP may see,
    /// optionally filtered by area and state.
    pub struct PullEvseStatus {
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// Only EVSEs within this circle.
        opt "SearchCenter" => search_center: SearchCenter,
        /// Only EVSEs in this state. S3 and every example spell the key `EvseStatus`, S1 and S2
        /// `EVSEStatus` (erratum E9): both are read, `EvseStatus` (the HBS's own model) is
        /// written.
        opt "EvseStatus" | "EVSEStatus" => evse_status: EvseStatus,
    }
}

/// Checks the search centre's radius.
impl Validate for PullEvseStatus {
    fn validate(&self, v: &mut Validator) {
        v.nested_opt("SearchCenter", self.search_center.as_ref());
    }
}

wire_struct! {
    /// `eRoamingPullEvseStatusByID` (oicp-2.3.md §3.4): the states of the listed EVSEs.
    pub struct PullEvseStatusById {
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// The EVSEs, 1 to 100 ([`MAX_EVSE_IDS_PER_PULL`]).
        nelist "EvseID" => evse_id: EvseId,
    }
}

/// At most [`MAX_EVSE_IDS_PER_PULL`] `EvseID`s (oicp-2.3.md §2.3). Repeated `EvseID`s are not
/// refused: a pull changes nothing, so a repeat costs only an answer record.
impl Validate for PullEvseStatusById {
    fn validate(&self, v: &mut Validator) {
        let n = self.evse_id.len();
        if n > MAX_EVSE_IDS_PER_PULL {
            v.error_at(
                "EvseID",
                format!(
                    "{n} EvseIDs requested; at most {MAX_EVSE_IDS_PER_PULL} per request are allowed"
                ),
            );
        }
    }
}

wire_struct! {
    /// `eRoamingPullEvseStatusByOperatorID` (oicp-2.3.md §3.4): the states of the listed
    /// operators' EVSEs. Answered with [`EvseStatusResponse`].
    pub struct PullEvseStatusByOperatorId {
        /// The EMP asking.
        req "ProviderID" => provider_id: ProviderId,
        /// The operators, at least one.
        nelist "OperatorID" => operator_id: OperatorId,
    }
}

/// No rules beyond the types.
impl Validate for PullEvseStatusByOperatorId {
    fn validate(&self, _: &mut Validator) {}
}

wire_struct! {
    /// `EvseStatuses` of an `eRoamingEvseStatus` (oicp-2.3.md §3.4): the states grouped per
    /// operator.
    pub struct EvseStatuses {
        /// One entry per operator; may be empty.
        list "OperatorEvseStatus" => operator_evse_status: OperatorEvseStatus,
    }
}

wire_struct! {
    /// `eRoamingEvseStatus` (oicp-2.3.md §3.4): the answer of `eRoamingPullEvseStatus` and of
    /// `eRoamingPullEvseStatusByOperatorID`.
    pub struct EvseStatusResponse {
        /// The states per operator.
        req "EvseStatuses" => evse_statuses: EvseStatuses,
        /// Outcome; optional (the HBS writes `null` on success).
        opt "StatusCode" => status_code: StatusCode,
    }
}

/// No rules beyond the types: answers may carry `EvseNotFound`, and the push-only rules of
/// [`OperatorEvseStatus`] do not apply.
impl Validate for EvseStatusResponse {
    fn validate(&self, _: &mut Validator) {}
}

wire_struct! {
    /// `EVSEStatusRecords` of an `eRoamingEvseStatusByID` (oicp-2.3.md §3.4).
    pub struct EvseStatusRecords {
        /// One record per requested EVSE (`EvseNotFound` for unknown ones); may be empty.
        list "EvseStatusRecord" => evse_status_record: EvseStatusRecord,
    }
}

wire_struct! {
    /// `eRoamingEvseStatusByID` (oicp-2.3.md §3.4): the answer of
    /// `eRoamingPullEvseStatusByID`.
    pub struct EvseStatusByIdResponse {
        /// The records.
        req "EVSEStatusRecords" => evse_status_records: EvseStatusRecords,
        /// Outcome; optional.
        opt "StatusCode" => status_code: StatusCode,
    }
}

/// No rules beyond the types.
impl Validate for EvseStatusByIdResponse {
    fn validate(&self, _: &mut Validator) {}
}

/// Types whose every rule is checked while parsing; their `Validate` has nothing to add (it
/// exists so that they can be parsed on their own with [`parse`](super::wire::parse)).
macro_rules! no_cross_member_rules {
    ($($t:ty),*) => { $(impl Validate for $t { fn validate(&self, _: &mut Validator) {} })* };
}

no_cross_member_rules!(EvseStatusRecord, EvseStatuses, EvseStatusRecords);

// ---------------------------------------------------------------------------------------------
// Duplicate EvseIDs

/// Finds `EvseID`s that occur more than once in `items`, format-insensitively (`EvseId`'s own
/// equality: `DE*GEF*E0001*1` is `degefE00011`).
///
/// Returns `(index, first)` pairs in ascending `index` order: the element at `index` repeats
/// the `EvseID` first seen at `first`. One allocation for the whole list (a map of references),
/// none per element: `EvseId` hashes its canonical form without building it.
pub fn find_duplicate_evse_ids<T>(
    items: &[T],
    evse_id: impl Fn(&T) -> &EvseId,
) -> Vec<(usize, usize)> {
    let mut first_seen: HashMap<&EvseId, usize> = HashMap::with_capacity(items.len());
    let mut duplicates = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match first_seen.entry(evse_id(item)) {
            Entry::Occupied(first) => duplicates.push((index, *first.get())),
            Entry::Vacant(slot) => {
                slot.insert(index);
            }
        }
    }
    duplicates
}

/// Reports each duplicate found by [`find_duplicate_evse_ids`] at `[index].EvseID` below the
/// current path, with code 018 (Inconsistent `EvseID`).
pub(crate) fn report_duplicates<T>(
    v: &mut Validator,
    duplicates: &[(usize, usize)],
    items: &[T],
    evse_id: impl Fn(&T) -> &EvseId,
) {
    for &(index, first) in duplicates {
        let id = evse_id(&items[index]);
        let first_id = evse_id(&items[first]);
        v.at_index(index, |v| {
            v.at("EvseID", |v| {
                v.error_with(
                    Code::InconsistentEvseId,
                    format!(
                        "EvseID {id} occurs more than once in this push (same EVSE as {first_id} at index \
                         {first}); each EVSE may appear only once"
                    ),
                );
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::acknowledgement::Acknowledgement;
    use super::super::wire::parse;
    use super::*;

    fn sorted_paths(errs: &[super::super::validate::ValidationError]) -> Vec<&str> {
        let mut paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        paths.sort_unstable();
        paths
    }

    fn round_trip<T>(bytes: &[u8])
    where
        T: serde::de::DeserializeOwned + serde::Serialize + Validate,
    {
        let value = parse::<T>(bytes).unwrap_or_else(|e| panic!("fixture does not parse: {e:?}"));
        let expected: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(serde_json::to_value(&value).unwrap(), expected);
    }

    #[test]
    fn fixtures_parse_and_round_trip() {
        round_trip::<PushEvseStatus>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvseStatus.request.json"
        ));
        round_trip::<Acknowledgement>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PushEvseStatus.response.json"
        ));
        round_trip::<PullEvseStatus>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseStatus.request.json"
        ));
        round_trip::<EvseStatusResponse>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseStatus.response.json"
        ));
        round_trip::<PullEvseStatusById>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseStatusById.request.json"
        ));
        round_trip::<EvseStatusByIdResponse>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseStatusById.response.json"
        ));
        round_trip::<PullEvseStatusByOperatorId>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseStatusByOperatorId.request.json"
        ));
        round_trip::<EvseStatusResponse>(include_bytes!(
            "../../../tests/fixtures/oicp/valid/PullEvseStatusByOperatorId.response.json"
        ));
    }

    #[test]
    fn spec_unknown_is_not_the_catch_all() {
        let r = parse::<EvseStatusRecord>(br#"{"EvseID":"DE*GEF*E0001*1","EvseStatus":"Unknown"}"#)
            .unwrap();
        assert_eq!(r.evse_status, EvseStatus::UnknownStatus);
        assert!(r.evse_status.is_known());
        assert_eq!(serde_json::to_value(&r).unwrap()["EvseStatus"], "Unknown");
        let bad =
            parse::<EvseStatusRecord>(br#"{"EvseID":"DE*GEF*E0001*1","EvseStatus":"Blocked"}"#)
                .unwrap_err();
        assert_eq!(sorted_paths(&bad), ["$.EvseStatus"]);
    }

    const PUSH_OK: &[u8] = br#"{"ActionType":"update","OperatorEvseStatus":{"OperatorID":"DE*GEF","OperatorName":null,
        "EvseStatusRecord":[{"EvseID":"DE*GEF*E0001*1","EvseStatus":"Available"},{"EvseID":"DE*GEF*E0001*2","EvseStatus":"Unknown"}]}}"#;

    #[test]
    fn push_accepts_distinct_evse_ids_and_nulls() {
        let push = parse::<PushEvseStatus>(PUSH_OK).unwrap();
        assert_eq!(push.action_type, ActionType::Update);
        assert!(push.operator_evse_status.operator_name.is_none());
        assert_eq!(push.operator_evse_status.evse_status_record.len(), 2);
    }

    #[test]
    fn push_refuses_duplicate_evse_ids_with_018() {
        let json = br#"{"ActionType":"fullLoad","OperatorEvseStatus":{"OperatorID":"DE*GEF","EvseStatusRecord":[
            {"EvseID":"DE*GEF*E0001*1","EvseStatus":"Available"},
            {"EvseID":"DE*GEF*E0001*2","EvseStatus":"Available"},
            {"EvseID":"degefE00011","EvseStatus":"Occupied"},
            {"EvseID":"DE*GEF*E0001*1","EvseStatus":"Occupied"}]}}"#;
        let errs = parse::<PushEvseStatus>(json).unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            [
                "$.OperatorEvseStatus.EvseStatusRecord[2].EvseID",
                "$.OperatorEvseStatus.EvseStatusRecord[3].EvseID"
            ]
        );
        assert!(
            errs.iter().all(|e| e.code == Code::InconsistentEvseId),
            "{errs:?}"
        );
        assert!(errs[0].message.contains("index 0"), "{errs:?}");
    }

    #[test]
    fn push_refuses_evse_not_found() {
        let json = br#"{"ActionType":"update","OperatorEvseStatus":{"OperatorID":"DE*GEF","EvseStatusRecord":[
            {"EvseID":"DE*GEF*E0001*1","EvseStatus":"Available"},
            {"EvseID":"DE*GEF*E0001*2","EvseStatus":"EvseNotFound"}]}}"#;
        let errs = parse::<PushEvseStatus>(json).unwrap_err();
        assert_eq!(
            sorted_paths(&errs),
            ["$.OperatorEvseStatus.EvseStatusRecord[1].EvseStatus"]
        );
        assert_eq!(errs[0].code, Code::DataError);
    }

    #[test]
    fn answers_may_carry_evse_not_found() {
        let json = br#"{"EVSEStatusRecords":{"EvseStatusRecord":[{"EvseID":"DE*GEF*E0009*1","EvseStatus":"EvseNotFound"}]},"StatusCode":null}"#;
        let answer = parse::<EvseStatusByIdResponse>(json).unwrap();
        assert_eq!(
            answer.evse_status_records.evse_status_record[0].evse_status,
            EvseStatus::EvseNotFound
        );
        assert!(answer.status_code.is_none());
        let json =
            br#"{"EvseStatuses":{"OperatorEvseStatus":[{"OperatorID":"DE*GEF","OperatorName":"GEF",
            "EvseStatusRecord":[{"EvseID":"DE*GEF*E0009*1","EvseStatus":"EvseNotFound"}]}]}}"#;
        assert!(parse::<EvseStatusResponse>(json).is_ok());
        let missing = parse::<EvseStatusResponse>(br#"{"StatusCode":{"Code":"000"}}"#).unwrap_err();
        assert_eq!(sorted_paths(&missing), ["$.EvseStatuses"]);
    }

    #[test]
    fn pull_status_filter_accepts_both_spellings() {
        for key in ["EvseStatus", "EVSEStatus"] {
            let json =
                format!(r#"{{"ProviderID":"DE-GDF","{key}":"Occupied","SearchCenter":null}}"#);
            let pull = parse::<PullEvseStatus>(json.as_bytes()).unwrap();
            assert_eq!(pull.evse_status, Some(EvseStatus::Occupied));
            assert_eq!(
                serde_json::to_value(&pull).unwrap()["EvseStatus"],
                "Occupied"
            );
        }
        let both = parse::<PullEvseStatus>(
            br#"{"ProviderID":"DE-GDF","EvseStatus":"Occupied","EVSEStatus":"Available"}"#,
        )
        .unwrap_err();
        assert_eq!(sorted_paths(&both), ["$.EvseStatus"]);
    }

    #[test]
    fn pull_status_checks_the_search_center() {
        let ok = br#"{"ProviderID":"DE-GDF","SearchCenter":{"GeoCoordinates":{"Google":{"Coordinates":"52.520008 13.404954"}},"Radius":25.5}}"#;
        assert!(parse::<PullEvseStatus>(ok).is_ok());
        let bad = br#"{"ProviderID":"DE-GDF","SearchCenter":{"GeoCoordinates":{"Google":{"Coordinates":"52.520008 13.404954"}},"Radius":1000}}"#;
        let errs = parse::<PullEvseStatus>(bad).unwrap_err();
        assert_eq!(sorted_paths(&errs), ["$.SearchCenter.Radius"]);
    }

    fn by_id(n: usize) -> String {
        let ids: Vec<String> = (0..n).map(|i| format!("\"DE*GEF*E{i:04}*1\"")).collect();
        format!(r#"{{"ProviderID":"DE-GDF","EvseID":[{}]}}"#, ids.join(","))
    }

    #[test]
    fn pull_by_id_takes_1_to_100_evse_ids() {
        assert!(parse::<PullEvseStatusById>(by_id(1).as_bytes()).is_ok());
        assert!(parse::<PullEvseStatusById>(by_id(100).as_bytes()).is_ok());
        let errs = parse::<PullEvseStatusById>(by_id(101).as_bytes()).unwrap_err();
        assert_eq!(sorted_paths(&errs), ["$.EvseID"]);
        assert!(errs[0].message.contains("101"), "{errs:?}");
        let empty = parse::<PullEvseStatusById>(by_id(0).as_bytes()).unwrap_err();
        assert_eq!(sorted_paths(&empty), ["$.EvseID"]);
    }

    #[test]
    fn pull_by_operator_id_needs_an_operator() {
        assert!(
            parse::<PullEvseStatusByOperatorId>(
                br#"{"ProviderID":"DE-GDF","OperatorID":["DE*GEF","DE*ABC"]}"#
            )
            .is_ok()
        );
        let empty =
            parse::<PullEvseStatusByOperatorId>(br#"{"ProviderID":"DE-GDF","OperatorID":[]}"#)
                .unwrap_err();
        assert_eq!(sorted_paths(&empty), ["$.OperatorID"]);
        let missing =
            parse::<PullEvseStatusByOperatorId>(br#"{"ProviderID":null,"OperatorID":null}"#)
                .unwrap_err();
        assert_eq!(sorted_paths(&missing), ["$.OperatorID", "$.ProviderID"]);
    }

    #[test]
    fn duplicates_are_found_format_insensitively() {
        let ids: Vec<EvseId> = [
            "DE*GEF*E0001*1",
            "DE*GEF*E0001*2",
            "degefE00011",
            "DE*GEF*E0003*1",
            "DEGEFE00012",
            "DE*GEF*E0001*1",
        ]
        .iter()
        .map(|s| EvseId::parse(s).unwrap())
        .collect();
        assert_eq!(
            find_duplicate_evse_ids(&ids, |id| id),
            [(2, 0), (4, 1), (5, 0)]
        );
        assert!(find_duplicate_evse_ids::<EvseId>(&[], |id| id).is_empty());
    }
}
