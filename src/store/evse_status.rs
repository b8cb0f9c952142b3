//! EVSE status: `eRoamingPushEvseStatus` and the three status pulls (oicp-2.3.md §2.3, §3.4).
//!
//! # Sized for a million records
//! A status row is small (canonical key, `EvseID` as pushed, operator key, status, and unknown
//! members only when there are any) in a `WITHOUT ROWID` table ordered by the canonical
//! `EvseID`, so a full pull is one sequential scan with no sort, grouped per operator in Rust.
//! An update of a few records is a handful of indexed upserts in one transaction; in WAL mode
//! with `synchronous=NORMAL` its commit does not wait for the disk. `examples/store_figures.rs`
//! measures the full pull over 1,000,000 records (README "Figures").

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::geo::Circle;
use super::outbox::{self, OutboxEntry};
use super::{Action, OperatorRow, Store, StoreError, json_list, millis, stored};
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::evse_status::{EvseStatus, EvseStatusRecord, OperatorEvseStatus};
use crate::oicp::v23::ids::{EvseId, OperatorId};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::scalars::Text;
use crate::oicp::v23::wire::Extra;

/// The `what` of this module's errors.
const WHAT: &str = "EVSE status record";

/// One pushed status, ready to store (and to queue, see the outbox).
#[derive(Debug)]
pub(super) struct Row {
    /// Canonical `EvseID`.
    pub(super) key: String,
    /// `EvseID` as pushed.
    pub(super) evse_id: String,
    /// `EvseStatus` as on the wire.
    pub(super) status: String,
    /// Unknown members as a JSON object, if any.
    pub(super) extra: Option<String>,
}

impl Row {
    fn new(record: &EvseStatusRecord) -> Result<Self, StoreError> {
        let extra = if record.extra.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&record.extra)?)
        };
        Ok(Self {
            key: record.evse_id.canonical(),
            evse_id: record.evse_id.as_str().to_owned(),
            status: record.evse_status.as_str().to_owned(),
            extra,
        })
    }

    /// Writes the status for `operator_key`; an identical row is not rewritten.
    ///
    /// The common cases cost no upsert: the row is read first (a read takes no journal), an
    /// identical row is left alone, and a row of the same operator is updated without touching
    /// `operator_key` (so neither its index nor its foreign key is checked again).
    fn upsert(&self, tx: &Connection, operator_key: &str, now: i64) -> Result<(), StoreError> {
        let stored: Option<(String, String, String, Option<String>)> = tx
            .prepare_cached(
                "SELECT evse_id, operator_key, status, extra FROM evse_status WHERE evse_key = ?1",
            )?
            .query_row([&self.key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?;
        if let Some((evse_id, operator, status, extra)) = stored
            && operator == operator_key
        {
            if evse_id != self.evse_id || status != self.status || extra != self.extra {
                tx.prepare_cached(
                    "UPDATE evse_status SET evse_id = ?2, status = ?3, extra = ?4, updated_at = ?5
                     WHERE evse_key = ?1",
                )?
                .execute((
                    &self.key,
                    &self.evse_id,
                    &self.status,
                    &self.extra,
                    now,
                ))?;
            }
            return Ok(());
        }
        tx.prepare_cached(
            "INSERT INTO evse_status (evse_key, evse_id, operator_key, status, extra, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (evse_key) DO UPDATE SET
                 evse_id = excluded.evse_id, operator_key = excluded.operator_key,
                 status = excluded.status, extra = excluded.extra,
                 updated_at = excluded.updated_at",
        )?
        .execute((
            &self.key,
            &self.evse_id,
            operator_key,
            &self.status,
            &self.extra,
            now,
        ))?;
        Ok(())
    }
}

/// A stored status as an OICP record, with `evse_id` spelled as given.
fn status_record(
    evse_id: EvseId,
    status: &str,
    extra: Option<&str>,
) -> Result<EvseStatusRecord, StoreError> {
    let extra: Extra = match extra {
        Some(json) => serde_json::from_str(json)?,
        None => Extra::new(),
    };
    Ok(EvseStatusRecord {
        evse_id,
        evse_status: EvseStatus::from_wire(status),
        extra,
    })
}

fn apply(
    tx: &Connection,
    action: Action,
    operator: &OperatorRow,
    rows: &[Row],
    now: i64,
) -> Result<(), StoreError> {
    if action == Action::Insert {
        let mut ids = Vec::new();
        let mut exists = tx.prepare_cached("SELECT 1 FROM evse_status WHERE evse_key = ?1")?;
        for row in rows {
            if exists.exists([&row.key])? {
                ids.push(row.evse_id.clone());
            }
        }
        if !ids.is_empty() {
            return Err(StoreError::AlreadyExists { what: WHAT, ids });
        }
    }
    operator.upsert(tx)?;
    match action {
        Action::FullLoad => {
            let keep: HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
            let current: Vec<String> = tx
                .prepare_cached("SELECT evse_key FROM evse_status WHERE operator_key = ?1")?
                .query_map([&operator.key], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut delete = tx.prepare_cached("DELETE FROM evse_status WHERE evse_key = ?1")?;
            for key in current.iter().filter(|k| !keep.contains(k.as_str())) {
                delete.execute([key])?;
            }
            for row in rows {
                row.upsert(tx, &operator.key, now)?;
            }
        }
        Action::Insert | Action::Update => {
            for row in rows {
                row.upsert(tx, &operator.key, now)?;
            }
        }
        Action::Delete => {
            let mut delete = tx.prepare_cached(
                "DELETE FROM evse_status WHERE evse_key = ?1 AND operator_key = ?2",
            )?;
            for row in rows {
                delete.execute((&row.key, &operator.key))?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Applies an `eRoamingPushEvseStatus` of `operator` (oicp-2.3.md §2.3, §3.4), in one
    /// transaction:
    ///
    /// * `fullLoad`: the records become the operator's whole set; its other records go.
    /// * `insert`: fails with [`StoreError::AlreadyExists`] (the `EvseID`s as pushed) if any
    ///   record exists, and nothing is written.
    /// * `update`: **upserts**. Unlike the other pushes, an unknown record is stored, not
    ///   refused: CPOs send status changes as `update` one at a time (the best practice of
    ///   oicp-2.3.md §2.3) without a preceding `fullLoad` or `insert`, and refusing such a
    ///   change would lose a live status that no later push repeats.
    /// * `delete`: removes the named records of this operator; unknown ones are ignored.
    ///
    /// `operator_name` (optional in this push) replaces the known `OperatorName` if given.
    ///
    /// Queues `outbox` in the same transaction. For an `update`, the entries of operation
    /// `PushEvseStatus` are coalesced per (operator, EVSE), once for all their targets (their
    /// bodies are not stored; see the outbox module); every other entry is queued as it is.
    pub async fn apply_evse_status(
        &self,
        operator: &OperatorId,
        operator_name: Option<&str>,
        action: ActionType,
        records: &[EvseStatusRecord],
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let action = Action::try_from(action)?;
        let rows = records
            .iter()
            .map(Row::new)
            .collect::<Result<Vec<_>, _>>()?;
        let operator = OperatorRow::new(operator, operator_name);
        let now = millis(now);
        let (coalesced, queued): (Vec<OutboxEntry>, Vec<OutboxEntry>) = outbox
            .iter()
            .cloned()
            .partition(|e| action == Action::Update && e.operation == Operation::PushEvseStatus);
        self.write(move |tx| {
            apply(tx, action, &operator, &rows, now)?;
            outbox::coalesce_statuses_in(tx, &coalesced, &operator.key, &rows, now)?;
            outbox::enqueue_in(tx, &queued, now)?;
            tracing::debug!(records = rows.len(), ?action, "EVSE status stored");
            Ok(())
        })
        .await
    }

    /// The statuses for `eRoamingPullEvseStatus` and `eRoamingPullEvseStatusByOperatorID`,
    /// grouped per operator (oicp-2.3.md §3.4), operators and records in canonical ID order.
    ///
    /// * `operators`: only these operators (`None`: all; an empty list: none).
    /// * `search_center`: (latitude, longitude, radius in km). The coordinates come from the
    ///   EVSE data, so statuses of EVSEs without (live) EVSE data are left out.
    /// * `status`: only records with this status.
    ///
    /// `OperatorID` and `OperatorName` are those of the operator's latest push that named
    /// them; `EvseID`s are spelled as pushed.
    pub async fn query_evse_status(
        &self,
        operators: Option<&[OperatorId]>,
        search_center: Option<(f64, f64, f64)>,
        status: Option<&EvseStatus>,
    ) -> Result<Vec<OperatorEvseStatus>, StoreError> {
        if operators.is_some_and(<[OperatorId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut plan = StatusPlan::default();
        if let Some(ops) = operators {
            plan.add(
                "s.operator_key IN (SELECT value FROM json_each(?))",
                Value::Text(json_list(ops.iter().map(OperatorId::canonical))?),
            );
        }
        if let Some(status) = status {
            plan.add("s.status = ?", Value::Text(status.as_str().to_owned()));
        }
        plan.circle = search_center.map(|(lat, lon, radius_km)| Circle {
            lat,
            lon,
            radius_km,
        });
        self.read(move |conn| plan.execute(conn)).await
    }

    /// The statuses of `eRoamingPullEvseStatusByID` (oicp-2.3.md §3.4), one per requested ID
    /// and in the requested order, each `EvseID` spelled as requested. An ID that is unknown,
    /// or whose operator is not in `operators` (when given), gets `EvseNotFound`.
    pub async fn evse_status_by_ids(
        &self,
        ids: &[EvseId],
        operators: Option<&[OperatorId]>,
    ) -> Result<Vec<EvseStatusRecord>, StoreError> {
        let ids = ids.to_vec();
        let visible: Option<HashSet<String>> =
            operators.map(|ops| ops.iter().map(OperatorId::canonical).collect());
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT operator_key, status, extra FROM evse_status WHERE evse_key = ?1",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let found: Option<(String, String, Option<String>)> = stmt
                    .query_row([id.canonical()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                let record = match found {
                    Some((operator, status, extra))
                        if visible.as_ref().is_none_or(|v| v.contains(&operator)) =>
                    {
                        status_record(id, &status, extra.as_deref())?
                    }
                    _ => EvseStatusRecord {
                        evse_id: id,
                        evse_status: EvseStatus::EvseNotFound,
                        extra: Extra::new(),
                    },
                };
                out.push(record);
            }
            Ok(out)
        })
        .await
    }

    /// The number of stored status records.
    pub async fn evse_status_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM evse_status")?
                .query_row([], |r| r.get(0))?;
            Ok(super::count(n))
        })
        .await
    }
}

/// The stored statuses of one operator as one `OperatorEvseStatus` (for a status refresh),
/// `None` if it has none.
pub(super) fn operator_statuses(
    conn: &Connection,
    operator: &OperatorId,
) -> Result<Option<OperatorEvseStatus>, StoreError> {
    let mut plan = StatusPlan::default();
    plan.add("s.operator_key = ?", Value::Text(operator.canonical()));
    Ok(plan.execute(conn)?.into_iter().next())
}

/// A status pull turned into SQL.
#[derive(Debug, Default)]
struct StatusPlan {
    conditions: Vec<&'static str>,
    params: Vec<Value>,
    circle: Option<Circle>,
}

impl StatusPlan {
    fn add(&mut self, condition: &'static str, param: Value) {
        self.conditions.push(condition);
        self.params.push(param);
    }

    fn execute(self, conn: &Connection) -> Result<Vec<OperatorEvseStatus>, StoreError> {
        // The JOIN (and its parameters) comes before the WHERE conditions in the statement.
        let mut params = Vec::new();
        let mut join = String::new();
        if let Some(circle) = self.circle {
            let bbox = circle.bounding_box();
            join.push_str(
                " JOIN evse_data e ON e.evse_key = s.evse_key AND e.deleted = 0 \
                 AND e.lat BETWEEN ? AND ?",
            );
            params.extend([Value::Real(bbox.lat.0), Value::Real(bbox.lat.1)]);
            if let Some((min, max)) = bbox.lon {
                join.push_str(" AND e.lon BETWEEN ? AND ?");
                params.extend([Value::Real(min), Value::Real(max)]);
            }
        }
        params.extend(self.params);
        let coordinates = if self.circle.is_some() {
            ", e.lat, e.lon"
        } else {
            ", NULL, NULL"
        };
        let filter = if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT s.operator_key, s.evse_id, s.status, s.extra{coordinates} \
             FROM evse_status s{join}{filter} ORDER BY s.evse_key"
        );
        let mut groups: Vec<(String, Vec<EvseStatusRecord>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            if let Some(circle) = self.circle {
                let (lat, lon): (Option<f64>, Option<f64>) = (row.get(4)?, row.get(5)?);
                match (lat, lon) {
                    (Some(lat), Some(lon)) if circle.contains(lat, lon) => {}
                    _ => continue,
                }
            }
            let evse_id: String = row.get(1)?;
            let evse_id: EvseId = stored(&evse_id, "evse_status.evse_id")?;
            let status = row.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
            let extra = row
                .get_ref(3)?
                .as_str_or_null()
                .map_err(rusqlite::Error::from)?;
            let record = status_record(evse_id, status, extra)?;
            let operator = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
            let slot = if let Some(&i) = index.get(operator) {
                i
            } else {
                index.insert(operator.to_owned(), groups.len());
                groups.push((operator.to_owned(), Vec::new()));
                groups.len() - 1
            };
            groups[slot].1.push(record);
        }
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups
            .into_iter()
            .map(|(key, records)| {
                let (operator_id, name) = super::operator_by_key(conn, &key)?
                    .ok_or_else(|| StoreError::Corrupt(format!("no operator row for '{key}'")))?;
                Ok(OperatorEvseStatus {
                    operator_id,
                    operator_name: name.as_deref().map(Text::truncated),
                    evse_status_record: records,
                    extra: Extra::new(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    fn status(id: &str, status: &str) -> EvseStatusRecord {
        wire(&json!({"EvseID": id, "EvseStatus": status}))
    }

    fn flat(list: &[OperatorEvseStatus]) -> Vec<(String, String, String)> {
        list.iter()
            .flat_map(|o| {
                o.evse_status_record.iter().map(|r| {
                    (
                        o.operator_id.as_str().to_owned(),
                        r.evse_id.as_str().to_owned(),
                        r.evse_status.as_str().to_owned(),
                    )
                })
            })
            .collect()
    }

    fn triple(o: &str, e: &str, s: &str) -> (String, String, String) {
        (o.to_owned(), e.to_owned(), s.to_owned())
    }

    #[tokio::test]
    async fn action_types() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        let first = [
            status("DE*GEF*E1", "Available"),
            status("DE*GEF*E2", "Occupied"),
        ];
        store
            .apply_evse_status(&gef, Some("GEF"), ActionType::FullLoad, &first, at(0), &[])
            .await
            .unwrap();
        // insert of an existing record (spelled differently) fails as a whole.
        let err = store
            .apply_evse_status(
                &gef,
                None,
                ActionType::Insert,
                &[
                    status("DE*GEF*E3", "Available"),
                    status("DEGEFE2", "Available"),
                ],
                at(1),
                &[],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::AlreadyExists { what: "EVSE status record", ids } if ids == &["DEGEFE2"]),
            "{err:?}"
        );
        assert_eq!(store.evse_status_count().await.unwrap(), 2);
        // update upserts: a change and an unknown record.
        store
            .apply_evse_status(
                &gef,
                None,
                ActionType::Update,
                &[
                    status("DE*GEF*E1", "Reserved"),
                    status("DE*GEF*E5", "OutOfService"),
                ],
                at(2),
                &[],
            )
            .await
            .unwrap();
        // delete: known and unknown.
        store
            .apply_evse_status(
                &gef,
                None,
                ActionType::Delete,
                &[
                    status("DEGEFE2", "Occupied"),
                    status("DE*GEF*E9", "Occupied"),
                ],
                at(3),
                &[],
            )
            .await
            .unwrap();
        let list = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(
            flat(&list),
            [
                triple("DE*GEF", "DE*GEF*E1", "Reserved"),
                triple("DE*GEF", "DE*GEF*E5", "OutOfService"),
            ]
        );
        assert_eq!(list[0].operator_name.as_ref().unwrap().as_str(), "GEF");
        // fullLoad replaces.
        store
            .apply_evse_status(
                &gef,
                Some("GEF 2"),
                ActionType::FullLoad,
                &[status("DE*GEF*E7", "Unknown")],
                at(4),
                &[],
            )
            .await
            .unwrap();
        let list = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(flat(&list), [triple("DE*GEF", "DE*GEF*E7", "Unknown")]);
        assert_eq!(list[0].operator_name.as_ref().unwrap().as_str(), "GEF 2");
        store
            .apply_evse_status(&gef, None, ActionType::FullLoad, &[], at(5), &[])
            .await
            .unwrap();
        assert!(
            store
                .query_evse_status(None, None, None)
                .await
                .unwrap()
                .is_empty()
        );
    }

    async fn fixture() -> Store {
        let store = Store::open_in_memory().await.unwrap();
        let gef = [
            status("DE*GEF*E1", "Available"),
            status("DE*GEF*E2", "Occupied"),
            status("DE*GEF*E3", "Available"),
        ];
        store
            .apply_evse_status(
                &op("DE*GEF"),
                Some("GEF"),
                ActionType::FullLoad,
                &gef,
                at(0),
                &[],
            )
            .await
            .unwrap();
        let abc = [status("DEABCE1", "Available")];
        store
            .apply_evse_status(&op("DEABC"), None, ActionType::FullLoad, &abc, at(0), &[])
            .await
            .unwrap();
        // EVSE data with coordinates for E1 (Berlin centre) and E2 (8 km away); E3 has none.
        let data = [
            evse(
                "DE*GEF*E1",
                &json!({"GeoCoordinates": {"Google": {"Coordinates": "52.520008 13.404954"}}}),
            ),
            evse("DE*GEF*E2", &json!({})),
        ];
        store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF Laden",
                ActionType::FullLoad,
                &data,
                at(0),
                &[],
            )
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn grouping_and_filters() {
        let store = fixture().await;
        let list = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].operator_id.as_str(), "DEABC");
        assert!(list[0].operator_name.is_none());
        assert_eq!(list[1].operator_id.as_str(), "DE*GEF");
        // The EVSE data push named the operator later.
        assert_eq!(
            list[1].operator_name.as_ref().unwrap().as_str(),
            "GEF Laden"
        );
        assert_eq!(list[1].evse_status_record.len(), 3);

        let only = store
            .query_evse_status(Some(&[op("DEGEF")]), None, Some(&EvseStatus::Available))
            .await
            .unwrap();
        assert_eq!(
            flat(&only),
            [
                triple("DE*GEF", "DE*GEF*E1", "Available"),
                triple("DE*GEF", "DE*GEF*E3", "Available"),
            ]
        );
        assert!(
            store
                .query_evse_status(Some(&[]), None, None)
                .await
                .unwrap()
                .is_empty()
        );

        let near = store
            .query_evse_status(None, Some((52.520_008, 13.404_954, 1.0)), None)
            .await
            .unwrap();
        assert_eq!(flat(&near), [triple("DE*GEF", "DE*GEF*E1", "Available")]);
        let wider = store
            .query_evse_status(
                Some(&[op("DE*GEF")]),
                Some((52.520_008, 13.404_954, 10.0)),
                Some(&EvseStatus::Occupied),
            )
            .await
            .unwrap();
        assert_eq!(flat(&wider), [triple("DE*GEF", "DE*GEF*E2", "Occupied")]);
    }

    #[tokio::test]
    async fn by_id_spells_as_requested_and_reports_evse_not_found() {
        let store = fixture().await;
        let ids = [
            EvseId::parse("DEGEFE1").unwrap(),
            EvseId::parse("DE*GEF*E404").unwrap(),
            EvseId::parse("DE*ABC*E1").unwrap(),
        ];
        let records = store.evse_status_by_ids(&ids, None).await.unwrap();
        let got: Vec<(&str, &str)> = records
            .iter()
            .map(|r| (r.evse_id.as_str(), r.evse_status.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("DEGEFE1", "Available"),
                ("DE*GEF*E404", "EvseNotFound"),
                ("DE*ABC*E1", "Available")
            ]
        );
        let visible = store
            .evse_status_by_ids(&ids, Some(&[op("DE*GEF")]))
            .await
            .unwrap();
        assert_eq!(visible[2].evse_status, EvseStatus::EvseNotFound);
        assert_eq!(visible[0].evse_status, EvseStatus::Available);
    }

    #[tokio::test]
    async fn unknown_members_are_kept() {
        let store = Store::open_in_memory().await.unwrap();
        let record: EvseStatusRecord =
            wire(&json!({"EvseID": "DE*GEF*E1", "EvseStatus": "Available", "Since": "08:00"}));
        store
            .apply_evse_status(
                &op("DE*GEF"),
                None,
                ActionType::Insert,
                std::slice::from_ref(&record),
                at(0),
                &[],
            )
            .await
            .unwrap();
        let list = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(list[0].evse_status_record, std::slice::from_ref(&record));
        let by_id = store
            .evse_status_by_ids(std::slice::from_ref(&record.evse_id), None)
            .await
            .unwrap();
        assert_eq!(by_id, [record]);
    }
}
