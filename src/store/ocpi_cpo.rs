//! The OCPI CPO side (migration 0005): the translated Location view of the own CPOs and the
//! tokens eMSP partners pushed to us.
//!
//! # The Location view
//! One row per OCPI Location with its whole JSON, so that `GET /ocpi/2.2.1/locations` reads a
//! page of ready JSON through the `(last_updated, location_key)` index instead of translating
//! OICP records per request. The node rebuilds an operator's rows when its backend pushes EVSE
//! data ([`Store::ocpi_cpo_replace`]) and patches single EVSEs when it pushes status
//! ([`ViewPatch`], in the transaction that stores the statuses:
//! [`Store::apply_evse_status_and_view`]). A rebuilt row whose content (`canon`, a hash of the JSON with
//! every `last_updated` blanked) did not change keeps its row and `last_updated`, so a
//! `fullLoad` that repeats what is stored does not make every Location "changed".
//!
//! # Tokens
//! Keyed by the eMSP party, the upper-case `uid` (OCPI `CiString`) and the token type; the
//! JSON is the OCPI Token as last PUT or patched.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::OptionalExtension as _;
use serde_json::Value;

use super::{Store, StoreError};
use crate::oicp::v23::evse_data::{EvseDataRecord, PullEvseDataRecord};
use crate::oicp::v23::ids::OperatorId;
use crate::oicp::v23::scalars::Text;

/// One translated Location, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewLocation {
    /// `CC/PID/ID`, upper case.
    pub key: String,
    /// Owning party, upper case.
    pub country_code: String,
    /// Owning party, upper case.
    pub party_id: String,
    /// The Location id as served.
    pub location_id: String,
    /// Hash of the content without times.
    pub canon: String,
    /// The OCPI JSON, stamped with `last_updated`.
    pub json: String,
    /// `last_updated` (UTC milliseconds).
    pub last_updated: i64,
    /// Its EVSEs: canonical OICP `EvseID` and OCPI `uid`.
    pub evses: Vec<(String, String)>,
}

/// A Location that changed, as stored after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedLocation {
    /// `CC/PID/ID`.
    pub key: String,
    /// The OCPI JSON.
    pub json: String,
    /// The uids of the EVSEs that changed (every EVSE for a rebuilt Location).
    pub evse_uids: Vec<String>,
}

/// Updates one Location's JSON for its EVSEs (`(uid, EvseID key)`); returns its new content
/// hash, or `None` if nothing changed.
pub type LocationPatch = dyn Fn(&mut Value, &[(String, String)]) -> Option<String> + Send;

/// A status patch of the Location view, written in the same transaction as the statuses
/// it comes from ([`Store::apply_evse_status_and_view`]): the `EvseID`s (canonical) whose
/// EVSEs may change, and `patch`, which updates one Location's JSON for its EVSEs
/// (`(uid, EvseID key)`) and returns its new content hash, or `None` if nothing changed.
pub struct ViewPatch {
    /// Canonical `EvseID`s.
    pub evse_keys: Vec<String>,
    /// `last_updated` of a changed row (UTC milliseconds).
    pub now: i64,
    /// Updates a Location for its EVSEs among `evse_keys`.
    pub patch: Box<LocationPatch>,
}

impl std::fmt::Debug for ViewPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewPatch")
            .field("evse_keys", &self.evse_keys)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Applies `view` to the Locations of its EVSEs inside the caller's transaction; returns those
/// that changed. EVSEs not in the view are skipped.
pub(super) fn patch_in(
    tx: &rusqlite::Connection,
    view: &ViewPatch,
) -> Result<Vec<ChangedLocation>, StoreError> {
    let ViewPatch {
        evse_keys,
        now,
        patch,
    } = view;
    let mut by_location: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    {
        let mut find =
            tx.prepare_cached("SELECT location_key, uid FROM ocpi_cpo_evse WHERE evse_key = ?1")?;
        for key in evse_keys {
            let found: Option<(String, String)> = find
                .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((location, uid)) = found {
                by_location
                    .entry(location)
                    .or_default()
                    .push((uid, key.clone()));
            }
        }
    }
    if by_location.is_empty() {
        return Ok(Vec::new());
    }
    let mut read =
        tx.prepare_cached("SELECT json FROM ocpi_cpo_location WHERE location_key = ?1")?;
    let mut write = tx.prepare_cached(
        "UPDATE ocpi_cpo_location SET json = ?2, canon = ?3, last_updated = ?4
         WHERE location_key = ?1",
    )?;
    let mut changed = Vec::new();
    for (location, evses) in by_location {
        let Some(text) = read
            .query_row([&location], |r| r.get::<_, String>(0))
            .optional()?
        else {
            continue;
        };
        let mut value: Value = serde_json::from_str(&text)?;
        let Some(canon) = patch(&mut value, &evses) else {
            continue;
        };
        let json = serde_json::to_string(&value)?;
        write.execute((&location, &json, &canon, now))?;
        changed.push(ChangedLocation {
            key: location,
            json,
            evse_uids: evses.into_iter().map(|(uid, _)| uid).collect(),
        });
    }
    Ok(changed)
}

/// What one page request reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewPage {
    /// Only this party (`CC`, `PID`, upper case), else every Location.
    pub party: Option<(String, String)>,
    /// `last_updated >= from` (milliseconds).
    pub from: Option<i64>,
    /// `last_updated < to` (milliseconds).
    pub to: Option<i64>,
    /// First row.
    pub offset: u64,
    /// Rows wanted.
    pub limit: u32,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The eMSP's country code, upper case.
    pub country_code: String,
    /// The eMSP's party id, upper case.
    pub party_id: String,
    /// Upper-case uid.
    pub uid: String,
    /// Token type.
    pub token_type: String,
    /// UTC milliseconds.
    pub last_updated: i64,
    /// The OCPI Token.
    pub json: String,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// The live EVSE data records of an operator (as a pull returns them, in `EvseID` order)
    /// and the stored status of its EVSEs (canonical `EvseID` -> OICP `EvseStatus`).
    pub async fn ocpi_cpo_source(
        &self,
        operator: &OperatorId,
    ) -> Result<(Vec<PullEvseDataRecord>, HashMap<String, String>), StoreError> {
        let operator = operator.clone();
        self.run(move |conn| {
            let key = operator.canonical();
            let (spelled, name): (Option<String>, Option<String>) = conn
                .prepare_cached("SELECT operator_id, name FROM operator WHERE operator_key = ?1")?
                .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .unwrap_or((None, None));
            let operator_id = spelled
                .and_then(|s| OperatorId::parse(&s).ok())
                .unwrap_or_else(|| operator.clone());
            let name = name.and_then(|n| Text::<100>::parse(&n).ok());
            let mut records = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT json FROM evse_data WHERE operator_key = ?1 AND deleted = 0
                 ORDER BY evse_key",
            )?;
            let mut rows = stmt.query([&key])?;
            while let Some(row) = rows.next()? {
                let text: String = row.get(0)?;
                let record: EvseDataRecord = serde_json::from_str(&text)?;
                records.push(PullEvseDataRecord::new(
                    record,
                    operator_id.clone(),
                    name.clone(),
                ));
            }
            let statuses = conn
                .prepare_cached("SELECT evse_key, status FROM evse_status WHERE operator_key = ?1")?
                .query_map([&key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<HashMap<String, String>, _>>()?;
            Ok((records, statuses))
        })
        .await
    }

    /// Replaces an operator's Locations with `locations`: a row whose `canon` is unchanged is
    /// kept as it is, others are written, and rows of the operator not in `locations` are
    /// deleted. Returns the Locations written.
    pub async fn ocpi_cpo_replace(
        &self,
        operator: &OperatorId,
        locations: Vec<ViewLocation>,
    ) -> Result<Vec<ChangedLocation>, StoreError> {
        let operator_key = operator.canonical();
        self.write(move |tx| {
            let stored: HashMap<String, String> = tx
                .prepare_cached(
                    "SELECT location_key, canon FROM ocpi_cpo_location WHERE operator_key = ?1",
                )?
                .query_map([&operator_key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let keep: HashSet<&str> = locations.iter().map(|l| l.key.as_str()).collect();
            let mut delete =
                tx.prepare_cached("DELETE FROM ocpi_cpo_location WHERE location_key = ?1")?;
            for key in stored.keys().filter(|k| !keep.contains(k.as_str())) {
                delete.execute([key])?;
            }
            tx.prepare_cached("DELETE FROM ocpi_cpo_evse WHERE operator_key = ?1")?
                .execute([&operator_key])?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO ocpi_cpo_location (location_key, operator_key, country_code, party_id,
                     location_id, last_updated, canon, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (location_key) DO UPDATE SET operator_key = ?2, country_code = ?3,
                     party_id = ?4, location_id = ?5, last_updated = ?6, canon = ?7, json = ?8",
            )?;
            let mut evse = tx.prepare_cached(
                "INSERT OR REPLACE INTO ocpi_cpo_evse (evse_key, operator_key, location_key, uid)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut changed = Vec::new();
            for l in locations {
                for (evse_key, uid) in &l.evses {
                    evse.execute((evse_key, &operator_key, &l.key, uid))?;
                }
                if stored.get(&l.key) == Some(&l.canon) {
                    continue;
                }
                upsert.execute((
                    &l.key,
                    &operator_key,
                    &l.country_code,
                    &l.party_id,
                    &l.location_id,
                    l.last_updated,
                    &l.canon,
                    &l.json,
                ))?;
                changed.push(ChangedLocation {
                    key: l.key,
                    json: l.json,
                    evse_uids: l.evses.into_iter().map(|(_, uid)| uid).collect(),
                });
            }
            Ok(changed)
        })
        .await
    }

    /// One page of Locations (their JSON, in `last_updated` then key order) and the number
    /// of Locations the filters admit.
    pub async fn ocpi_cpo_page(&self, page: ViewPage) -> Result<(Vec<String>, u64), StoreError> {
        self.read(move |conn| {
            let from = page.from.unwrap_or(i64::MIN);
            let to = page.to.unwrap_or(i64::MAX);
            let limit = i64::from(page.limit);
            let offset = to_i64(page.offset);
            let (items, total): (Vec<String>, i64) = match &page.party {
                None => {
                    let items = conn
                        .prepare_cached(
                            "SELECT json FROM ocpi_cpo_location
                             WHERE last_updated >= ?1 AND last_updated < ?2
                             ORDER BY last_updated, location_key LIMIT ?3 OFFSET ?4",
                        )?
                        .query_map((from, to, limit, offset), |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    // Without a date filter, the count needs no index range scan.
                    let total = if page.from.is_none() && page.to.is_none() {
                        conn.prepare_cached("SELECT COUNT(*) FROM ocpi_cpo_location")?
                            .query_row([], |r| r.get(0))?
                    } else {
                        conn.prepare_cached(
                            "SELECT COUNT(*) FROM ocpi_cpo_location
                             WHERE last_updated >= ?1 AND last_updated < ?2",
                        )?
                        .query_row((from, to), |r| r.get(0))?
                    };
                    (items, total)
                }
                Some((cc, pid)) => {
                    let items = conn
                        .prepare_cached(
                            "SELECT json FROM ocpi_cpo_location
                             WHERE country_code = ?1 AND party_id = ?2
                               AND last_updated >= ?3 AND last_updated < ?4
                             ORDER BY last_updated, location_key LIMIT ?5 OFFSET ?6",
                        )?
                        .query_map((cc, pid, from, to, limit, offset), |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    let total = conn
                        .prepare_cached(
                            "SELECT COUNT(*) FROM ocpi_cpo_location
                             WHERE country_code = ?1 AND party_id = ?2
                               AND last_updated >= ?3 AND last_updated < ?4",
                        )?
                        .query_row((cc, pid, from, to), |r| r.get(0))?;
                    (items, total)
                }
            };
            Ok((items, u64::try_from(total).unwrap_or(0)))
        })
        .await
    }

    /// One Location's JSON by key (`CC/PID/ID`, upper case).
    pub async fn ocpi_cpo_location(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT json FROM ocpi_cpo_location WHERE location_key = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    /// The number of Locations in the view.
    pub async fn ocpi_cpo_location_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM ocpi_cpo_location")?
                .query_row([], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Stores (inserts or replaces) a token.
    pub async fn ocpi_cpo_put_token(&self, token: StoredToken) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO ocpi_cpo_token
                     (country_code, party_id, uid, token_type, last_updated, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute((
                &token.country_code,
                &token.party_id,
                &token.uid,
                &token.token_type,
                token.last_updated,
                &token.json,
            ))?;
            Ok(())
        })
        .await
    }

    /// A token by party, uid and type (all upper case).
    pub async fn ocpi_cpo_token(
        &self,
        country_code: &str,
        party_id: &str,
        uid: &str,
        token_type: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        let key = (
            country_code.to_owned(),
            party_id.to_owned(),
            uid.to_owned(),
            token_type.to_owned(),
        );
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT last_updated, json FROM ocpi_cpo_token
                     WHERE country_code = ?1 AND party_id = ?2 AND uid = ?3 AND token_type = ?4",
                )?
                .query_row((&key.0, &key.1, &key.2, &key.3), |r| {
                    Ok(StoredToken {
                        country_code: key.0.clone(),
                        party_id: key.1.clone(),
                        uid: key.2.clone(),
                        token_type: key.3.clone(),
                        last_updated: r.get(0)?,
                        json: r.get(1)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    /// Every stored token with this uid (upper case), of any party and type.
    pub async fn ocpi_cpo_tokens_by_uid(&self, uid: &str) -> Result<Vec<StoredToken>, StoreError> {
        let uid = uid.to_owned();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT country_code, party_id, uid, token_type, last_updated, json
                     FROM ocpi_cpo_token WHERE uid = ?1 ORDER BY country_code, party_id, token_type",
                )?
                .query_map([&uid], |r| {
                    Ok(StoredToken {
                        country_code: r.get(0)?,
                        party_id: r.get(1)?,
                        uid: r.get(2)?,
                        token_type: r.get(3)?,
                        last_updated: r.get(4)?,
                        json: r.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{hold, refuse_status_of, released};
    use super::*;
    use crate::oicp::v23::common::ActionType;
    use crate::oicp::v23::evse_status::{EvseStatus, EvseStatusRecord};
    use crate::oicp::v23::ids::EvseId;
    use crate::oicp::v23::wire::Extra;

    fn status(evse: &str) -> EvseStatusRecord {
        EvseStatusRecord {
            evse_id: EvseId::parse(evse).unwrap(),
            evse_status: EvseStatus::Occupied,
            extra: Extra::new(),
        }
    }

    fn at(ms: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(ms).unwrap()
    }

    /// A view patch that sets the status of every EVSE among `keys` to `CHARGING`.
    fn charging(keys: &[&str], now: i64) -> ViewPatch {
        ViewPatch {
            evse_keys: keys.iter().map(|&k| k.to_owned()).collect(),
            now,
            patch: Box::new(|v, evses| {
                for (uid, _) in evses {
                    let list = v["evses"].as_array_mut()?;
                    let evse = list.iter_mut().find(|e| e["uid"] == uid.as_str())?;
                    evse["status"] = "CHARGING".into();
                }
                Some("patched".into())
            }),
        }
    }

    /// Whether the view's Location `key` holds an EVSE `CHARGING`.
    async fn is_charging(store: &Store, key: &str) -> bool {
        store
            .ocpi_cpo_location(&format!("DE/GEF/{key}"))
            .await
            .unwrap()
            .is_some_and(|json| json.contains("CHARGING"))
    }

    #[tokio::test]
    async fn a_status_update_patches_the_view_in_its_own_transaction() {
        let store = Store::open_in_memory().await.unwrap();
        let op = OperatorId::parse("DE*GEF").unwrap();
        let view = vec![
            location("L1", "a", 10, "1"),
            location("L2", "b", 10, "2"),
            location("L3", "c", 10, "BAD"),
        ];
        store.ocpi_cpo_replace(&op, view).await.unwrap();
        // A trigger refuses one EVSE's status: that update fails inside a batch of three.
        refuse_status_of(&store, "DEGEFEBAD").await;
        let update = |evse: &'static str, key: &'static str| {
            let (store, op) = (&store, &op);
            async move {
                store
                    .apply_evse_status_and_view(
                        op,
                        None,
                        ActionType::Update,
                        &[status(evse)],
                        at(20),
                        &[],
                        Some(charging(&[key], 20)),
                    )
                    .await
            }
        };
        let release = hold(&store);
        let (first, bad, none, ()) = tokio::join!(
            update("DE*GEF*E1", "DEGEFE1"),
            update("DE*GEF*EBAD", "DEGEFEBAD"),
            update("DE*GEF*E7", "DEGEFE7"),
            released(release)
        );
        let keys = |r: &Result<Vec<ChangedLocation>, StoreError>| {
            r.as_ref()
                .map(|c| c.iter().map(|l| l.key.clone()).collect::<Vec<_>>())
                .ok()
        };
        assert_eq!(keys(&first), Some(vec!["DE/GEF/L1".to_owned()]));
        assert_eq!(keys(&none), Some(Vec::new()), "an EVSE outside the view");
        assert!(bad.is_err(), "{bad:?}");
        // The failed update's patch was rolled back with it; the others' are stored.
        assert!(is_charging(&store, "L1").await);
        assert!(!is_charging(&store, "L3").await);
        assert!(!is_charging(&store, "L2").await);

        // A patch that fails (here: the view's row refuses the update) is logged; the status
        // is stored and the push succeeds with no changed Location.
        store
            .run(|c| {
                c.execute_batch(
                    "CREATE TEMP TRIGGER frozen BEFORE UPDATE ON ocpi_cpo_location
                     BEGIN SELECT RAISE(ABORT, 'view frozen by the test'); END;",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let frozen = update("DE*GEF*E2", "DEGEFE2").await;
        assert_eq!(keys(&frozen), Some(Vec::new()));
        assert!(!is_charging(&store, "L2").await);
        let stored = store.query_evse_status(None, None, None).await.unwrap();
        let ids: Vec<_> = stored[0]
            .evse_status_record
            .iter()
            .map(|r| r.evse_id.as_str().to_owned())
            .collect();
        assert_eq!(ids, ["DE*GEF*E1", "DE*GEF*E2", "DE*GEF*E7"]);
    }

    fn location(key: &str, canon: &str, at: i64, evse: &str) -> ViewLocation {
        ViewLocation {
            key: format!("DE/GEF/{key}"),
            country_code: "DE".into(),
            party_id: "GEF".into(),
            location_id: key.into(),
            canon: canon.into(),
            json: format!(
                r#"{{"id":"{key}","at":{at},"evses":[{{"uid":"{evse}","status":"UNKNOWN"}}]}}"#
            ),
            last_updated: at,
            evses: vec![(format!("DEGEFE{evse}"), evse.into())],
        }
    }

    #[tokio::test]
    async fn unchanged_locations_keep_their_time_and_pages_follow_it() {
        let store = Store::open_in_memory().await.unwrap();
        let op = OperatorId::parse("DE*GEF").unwrap();
        let first = vec![location("L1", "a", 10, "1"), location("L2", "b", 10, "2")];
        assert_eq!(store.ocpi_cpo_replace(&op, first).await.unwrap().len(), 2);
        // L1 unchanged at a later time, L2 changed, L3 new; nothing else dropped yet.
        let second = vec![
            location("L1", "a", 20, "1"),
            location("L2", "c", 20, "2"),
            location("L3", "d", 20, "3"),
        ];
        let changed = store.ocpi_cpo_replace(&op, second).await.unwrap();
        let keys: Vec<_> = changed.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["DE/GEF/L2", "DE/GEF/L3"]);
        let all = |from, to, offset, limit| ViewPage {
            party: None,
            from,
            to,
            offset,
            limit,
        };
        let (items, total) = store.ocpi_cpo_page(all(None, None, 0, 2)).await.unwrap();
        assert_eq!(total, 3);
        assert!(
            items[0].contains("\"L1\"") && items[0].contains(":10,"),
            "{items:?}"
        );
        let (items, total) = store
            .ocpi_cpo_page(all(Some(20), None, 1, 5))
            .await
            .unwrap();
        assert_eq!((items.len(), total), (1, 2));
        let (_, total) = store
            .ocpi_cpo_page(all(None, Some(20), 0, 5))
            .await
            .unwrap();
        assert_eq!(total, 1);
        let other = ViewPage {
            party: Some(("NL".into(), "GEF".into())),
            ..all(None, None, 0, 5)
        };
        assert_eq!(store.ocpi_cpo_page(other).await.unwrap().1, 0);
        // A replace without L1 deletes it.
        store
            .ocpi_cpo_replace(&op, vec![location("L2", "c", 30, "2")])
            .await
            .unwrap();
        assert!(
            store
                .ocpi_cpo_location("DE/GEF/L1")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.ocpi_cpo_location_count().await.unwrap(), 1);
        // Status patches reach the Location of a known EVSE only.
        let changed = store
            .apply_evse_status_and_view(
                &op,
                None,
                ActionType::Update,
                &[status("DE*GEF*E2"), status("DE*GEF*E9")],
                at(40),
                &[],
                Some(charging(&["DEGEFE2", "DEGEFE9"], 40)),
            )
            .await
            .unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].evse_uids, ["2"]);
        let stored = store.ocpi_cpo_location("DE/GEF/L2").await.unwrap().unwrap();
        assert!(stored.contains("CHARGING"), "{stored}");
        let (_, total) = store
            .ocpi_cpo_page(all(Some(40), None, 0, 5))
            .await
            .unwrap();
        assert_eq!(total, 1);
    }

    #[tokio::test]
    async fn tokens_are_kept_per_party_uid_and_type() {
        let store = Store::open_in_memory().await.unwrap();
        let token = |pid: &str, t: &str| StoredToken {
            country_code: "DE".into(),
            party_id: pid.into(),
            uid: "ABC".into(),
            token_type: t.into(),
            last_updated: 1,
            json: "{}".into(),
        };
        store
            .ocpi_cpo_put_token(token("GDF", "RFID"))
            .await
            .unwrap();
        store
            .ocpi_cpo_put_token(token("GDF", "APP_USER"))
            .await
            .unwrap();
        store
            .ocpi_cpo_put_token(token("XYZ", "RFID"))
            .await
            .unwrap();
        assert!(
            store
                .ocpi_cpo_token("DE", "GDF", "ABC", "RFID")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .ocpi_cpo_token("DE", "GDF", "ABD", "RFID")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.ocpi_cpo_tokens_by_uid("ABC").await.unwrap().len(), 3);
    }
}
