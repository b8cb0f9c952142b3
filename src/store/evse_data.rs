//! EVSE data: `eRoamingPushEvseData` with its `ActionType` semantics, and the paged, filtered
//! `eRoamingPullEvseData` with `LastCall` deltas (oicp-2.3.md §2.3, §3.4, §5.4).
//!
//! # Deltas
//! Every record carries `created_at` (when it last came into existence) and `last_update`
//! (its last change, deletion included). A deleted record stays as a tombstone with its last
//! content, so a delta pull reports it with `deltaType` `delete`; live records changed since
//! `LastCall` are `insert` if they came into existence since then, else `update`.
//!
//! A push that repeats a record unchanged (same JSON, same operator) does not change it, and
//! its `lastUpdate` stays: with the weekly `fullLoad` that oicp-2.3.md §2.3 recommends, a
//! daily delta pull would otherwise return every record once a week.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::geo::{self, Circle};
use super::outbox::{self, OutboxEntry};
use super::{
    Action, EvseDataQuery, OperatorRow, Store, StoreError, count, json_list, millis, page_window,
    stored, wire_millis, wire_time,
};
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::evse_data::{
    Accessibility, AuthenticationMode, CalibrationLawDataAvailability, DeltaType, EvseDataRecord,
    GeoCoordinatesResponseFormat, PullEvseDataRecord,
};
use crate::oicp::v23::ids::{CountryCode, OperatorId};
use crate::oicp::v23::scalars::Text;

/// The `what` of this module's errors.
const WHAT: &str = "EVSE data record";

/// The columns a pull answer is built from.
const SELECT_RECORD: &str = "SELECT e.json, e.deleted, e.created_at, e.last_update, \
     o.operator_id, o.name FROM evse_data e JOIN operator o ON o.operator_key = e.operator_key";

/// One pushed record, ready to store.
#[derive(Debug)]
struct Row {
    key: String,
    spelled: String,
    json: String,
    country: String,
    lat: Option<f64>,
    lon: Option<f64>,
    auth_modes: String,
    accessibility: Option<String>,
    calibration_law: Option<String>,
    renewable: Option<bool>,
    hubject_compatible: bool,
    open_24h: bool,
}

impl Row {
    fn new(record: &EvseDataRecord) -> Result<Self, StoreError> {
        // The stored content never carries the pull-only members: the store sets them.
        let mut content = record.clone();
        content.delta_type = None;
        content.last_update = None;
        let (lat, lon) = record.geo_coordinates.lat_lon().unzip();
        Ok(Self {
            key: record.evse_id.canonical(),
            spelled: record.evse_id.as_str().to_owned(),
            json: serde_json::to_string(&content)?,
            country: record.address.country.as_str().to_owned(),
            lat,
            lon,
            auth_modes: json_list(
                record
                    .authentication_modes
                    .iter()
                    .map(AuthenticationMode::as_str),
            )?,
            accessibility: record.accessibility.as_ref().map(|a| a.as_str().to_owned()),
            calibration_law: record
                .calibration_law_data_availability
                .as_ref()
                .map(|c| c.as_str().to_owned()),
            renewable: record.renewable_energy,
            hubject_compatible: record.is_hubject_compatible,
            open_24h: record.is_open_24_hours,
        })
    }

    /// Stores the record as live content of `operator_key`; an unchanged live record is left
    /// alone (see the module documentation).
    fn upsert(&self, tx: &Connection, operator_key: &str, now: i64) -> Result<(), StoreError> {
        tx.prepare_cached(
            "INSERT INTO evse_data (evse_key, operator_key, json, country, lat, lon, auth_modes,
                 accessibility, calibration_law, renewable, hubject_compatible, open_24h,
                 deleted, created_at, last_update)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13, ?13)
             ON CONFLICT (evse_key) DO UPDATE SET
                 operator_key = excluded.operator_key, json = excluded.json,
                 country = excluded.country, lat = excluded.lat, lon = excluded.lon,
                 auth_modes = excluded.auth_modes, accessibility = excluded.accessibility,
                 calibration_law = excluded.calibration_law, renewable = excluded.renewable,
                 hubject_compatible = excluded.hubject_compatible, open_24h = excluded.open_24h,
                 created_at = CASE WHEN evse_data.deleted THEN excluded.created_at
                                   ELSE evse_data.created_at END,
                 deleted = 0,
                 last_update = excluded.last_update
             WHERE evse_data.deleted
                OR evse_data.json IS NOT excluded.json
                OR evse_data.operator_key IS NOT excluded.operator_key",
        )?
        .execute((
            &self.key,
            operator_key,
            &self.json,
            &self.country,
            self.lat,
            self.lon,
            &self.auth_modes,
            &self.accessibility,
            &self.calibration_law,
            self.renewable,
            self.hubject_compatible,
            self.open_24h,
            now,
        ))?;
        Ok(())
    }
}

/// The operator of the live record with this key, if there is one.
fn live_owner(tx: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT operator_key FROM evse_data WHERE evse_key = ?1 AND deleted = 0")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Turns a live record of `operator_key` into a tombstone; a missing record is no error.
fn tombstone(tx: &Connection, key: &str, operator_key: &str, now: i64) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE evse_data SET deleted = 1, last_update = ?3
         WHERE evse_key = ?1 AND operator_key = ?2 AND deleted = 0",
    )?
    .execute((key, operator_key, now))?;
    Ok(())
}

/// Refuses the whole push, before anything is written, if an `insert` names a record that
/// exists (for any operator: `EvseIDs` are unique) or an `update` one that the operator has not.
fn check_preconditions(
    tx: &Connection,
    action: Action,
    operator_key: &str,
    rows: &[Row],
) -> Result<(), StoreError> {
    match action {
        Action::Insert => {
            let mut ids = Vec::new();
            for row in rows {
                if live_owner(tx, &row.key)?.is_some() {
                    ids.push(row.spelled.clone());
                }
            }
            if !ids.is_empty() {
                return Err(StoreError::AlreadyExists { what: WHAT, ids });
            }
        }
        Action::Update => {
            let mut ids = Vec::new();
            for row in rows {
                if live_owner(tx, &row.key)?.as_deref() != Some(operator_key) {
                    ids.push(row.spelled.clone());
                }
            }
            if !ids.is_empty() {
                return Err(StoreError::NotFound { what: WHAT, ids });
            }
        }
        Action::FullLoad | Action::Delete => {}
    }
    Ok(())
}

impl Store {
    /// Applies an `eRoamingPushEvseData` of `operator` (oicp-2.3.md §2.3, §3.4), in one
    /// transaction:
    ///
    /// * `fullLoad`: the records become the operator's whole set; its records not in the push
    ///   become tombstones (`deltaType` `delete` in delta pulls). An empty list deletes all.
    ///   A record another operator had is taken over (the node checks beforehand that the
    ///   `EvseID`s belong to the pushing operator, `018`).
    /// * `insert`: fails with [`StoreError::AlreadyExists`] (the `EvseID`s as pushed) if any
    ///   record exists, and nothing is written.
    /// * `update`: fails with [`StoreError::NotFound`] if any record is not a live record of
    ///   this operator, and nothing is written.
    /// * `delete`: the named records become tombstones; unknown ones are ignored.
    ///
    /// A stored or changed record gets `lastUpdate` = `now` (millisecond resolution); a record
    /// pushed again unchanged keeps its `lastUpdate`. `operator_name` becomes the
    /// `OperatorName` of the operator's records in pulls.
    ///
    /// Queues `outbox` in the same transaction.
    pub async fn apply_evse_data(
        &self,
        operator: &OperatorId,
        operator_name: &str,
        action: ActionType,
        records: &[EvseDataRecord],
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
    ) -> Result<(), StoreError> {
        let outbox = outbox.to_vec();
        let action = Action::try_from(action)?;
        let rows = records
            .iter()
            .map(Row::new)
            .collect::<Result<Vec<_>, _>>()?;
        let operator = OperatorRow::new(operator, Some(operator_name));
        let now = millis(now);
        self.write(move |tx| {
            check_preconditions(tx, action, &operator.key, &rows)?;
            operator.upsert(tx)?;
            match action {
                Action::FullLoad => {
                    let keep: HashSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
                    let current: Vec<String> = tx
                        .prepare_cached(
                            "SELECT evse_key FROM evse_data
                             WHERE operator_key = ?1 AND deleted = 0",
                        )?
                        .query_map([&operator.key], |r| r.get(0))?
                        .collect::<Result<_, _>>()?;
                    for key in current.iter().filter(|k| !keep.contains(k.as_str())) {
                        tombstone(tx, key, &operator.key, now)?;
                    }
                    for row in &rows {
                        row.upsert(tx, &operator.key, now)?;
                    }
                }
                Action::Insert | Action::Update => {
                    for row in &rows {
                        row.upsert(tx, &operator.key, now)?;
                    }
                }
                Action::Delete => {
                    for row in &rows {
                        tombstone(tx, &row.key, &operator.key, now)?;
                    }
                }
            }
            outbox::enqueue_in(tx, &outbox, now)?;
            tracing::debug!(records = rows.len(), ?action, "EVSE data stored");
            Ok(())
        })
        .await
    }

    /// One page of `eRoamingPullEvseData` and the total number of matching records
    /// (oicp-2.3.md §2.3 "`PullEvseData`", §3.4, §5.4).
    ///
    /// * Without `LastCall`: the live records, each with `lastUpdate` and no `deltaType`.
    /// * With `LastCall`: the records changed at or after `LastCall` (inclusive: a repeated
    ///   record is harmless, a missed one is not), tombstones included, each with `deltaType`
    ///   `insert`, `update` or `delete` and `lastUpdate`. Filters apply to a tombstone's last
    ///   content.
    /// * `SearchCenter`: great-circle distance from the centre at most `Radius` km.
    /// * `OperatorIds`, `CountryCodes`: the record's operator / `Address.Country` is listed.
    /// * `AuthenticationModes`, `Accessibility`, `CalibrationLawDataAvailability`: the record
    ///   has any of the listed values.
    /// * `RenewableEnergy`, `IsHubjectCompatible`, `IsOpen24Hours`: equal (a record without
    ///   `RenewableEnergy`, migrated from OICP 2.2, matches neither value).
    /// * An empty list filter is no filter; [`EvseDataQuery::operators`] restricts further.
    ///
    /// Each record carries `OperatorID` (as the operator spelled it in its last push) and
    /// `OperatorName`. Coordinates are returned in `GeoCoordinatesResponseFormat` for `Google`
    /// and `DecimalDegree`; for `DegreeMinuteSeconds` they keep the pushed format.
    pub async fn query_evse_data(
        &self,
        query: &EvseDataQuery,
    ) -> Result<(Vec<PullEvseDataRecord>, u64), StoreError> {
        let plan = Plan::new(query)?;
        self.read(move |conn| plan.execute(conn)).await
    }

    /// The number of live EVSE data records (tombstones not counted).
    pub async fn evse_data_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM evse_data WHERE deleted = 0")?
                .query_row([], |r| r.get(0))?;
            Ok(count(n))
        })
        .await
    }

    /// Forgets tombstones deleted before `before`; returns how many. Delta pulls with a
    /// `LastCall` before `before` then miss those deletions, so keep more than the longest
    /// interval between a partner's pulls (weeks, not days).
    pub async fn purge_evse_data_tombstones(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let before = millis(before);
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM evse_data WHERE deleted = 1 AND last_update < ?1")?
                .execute([before])?;
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
        .await
    }
}

/// A pull turned into SQL: the `WHERE` conditions with their parameters, the order, the page
/// and what is checked in Rust afterwards.
#[derive(Debug)]
struct Plan {
    conditions: Vec<&'static str>,
    params: Vec<Value>,
    order: &'static str,
    circle: Option<Circle>,
    last_call: Option<i64>,
    format: GeoCoordinatesResponseFormat,
    limit: i64,
    offset: i64,
    /// The visibility restriction leaves nothing.
    nothing: bool,
}

/// `Some(list)` if the optional list filter has entries.
fn listed<T>(list: Option<&Vec<T>>) -> Option<&[T]> {
    list.map(Vec::as_slice).filter(|l| !l.is_empty())
}

impl Plan {
    fn new(query: &EvseDataQuery) -> Result<Self, StoreError> {
        let request = &query.request;
        let (limit, offset) = page_window(query.page, query.size);
        let mut plan = Self {
            conditions: Vec::new(),
            params: Vec::new(),
            order: order(query.sort.as_ref()),
            circle: None,
            last_call: request.last_call.as_ref().map(wire_millis),
            format: request.geo_coordinates_response_format.clone(),
            limit,
            offset,
            nothing: query.operators.as_ref().is_some_and(Vec::is_empty),
        };
        if let Some(lc) = plan.last_call {
            plan.add("e.last_update >= ?", Value::Integer(lc));
        } else {
            plan.conditions.push("e.deleted = 0");
        }
        for operators in [query.operators.as_ref(), request.operator_ids.as_ref()] {
            if let Some(ops) = listed(operators) {
                let keys = json_list(ops.iter().map(OperatorId::canonical))?;
                plan.add(
                    "e.operator_key IN (SELECT value FROM json_each(?))",
                    Value::Text(keys),
                );
            }
        }
        if let Some(countries) = listed(request.country_codes.as_ref()) {
            let list = json_list(countries.iter().map(CountryCode::as_str))?;
            plan.add(
                "e.country IN (SELECT value FROM json_each(?))",
                Value::Text(list),
            );
        }
        if let Some(modes) = listed(request.authentication_modes.as_ref()) {
            let list = json_list(modes.iter().map(AuthenticationMode::as_str))?;
            plan.add(
                "EXISTS (SELECT 1 FROM json_each(e.auth_modes) m
                         WHERE m.value IN (SELECT value FROM json_each(?)))",
                Value::Text(list),
            );
        }
        if let Some(values) = listed(request.accessibility.as_ref()) {
            let list = json_list(values.iter().map(Accessibility::as_str))?;
            plan.add(
                "e.accessibility IN (SELECT value FROM json_each(?))",
                Value::Text(list),
            );
        }
        if let Some(values) = listed(request.calibration_law_data_availability.as_ref()) {
            let list = json_list(values.iter().map(CalibrationLawDataAvailability::as_str))?;
            plan.add(
                "e.calibration_law IN (SELECT value FROM json_each(?))",
                Value::Text(list),
            );
        }
        let flags = [
            ("e.renewable = ?", request.renewable_energy),
            ("e.hubject_compatible = ?", request.is_hubject_compatible),
            ("e.open_24h = ?", request.is_open_24_hours),
        ];
        for (condition, flag) in flags {
            if let Some(flag) = flag {
                plan.add(condition, Value::Integer(i64::from(flag)));
            }
        }
        if let Some(center) = &request.search_center {
            match Circle::from_search_center(center) {
                Some(circle) => plan.add_circle(circle),
                None => plan.nothing = true,
            }
        }
        Ok(plan)
    }

    fn add(&mut self, condition: &'static str, param: Value) {
        self.conditions.push(condition);
        self.params.push(param);
    }

    /// The bounding box in SQL; the exact distance is checked in Rust.
    fn add_circle(&mut self, circle: Circle) {
        let bbox = circle.bounding_box();
        self.conditions.push("e.lat BETWEEN ? AND ?");
        self.params.push(Value::Real(bbox.lat.0));
        self.params.push(Value::Real(bbox.lat.1));
        if let Some((min, max)) = bbox.lon {
            self.conditions.push("e.lon BETWEEN ? AND ?");
            self.params.push(Value::Real(min));
            self.params.push(Value::Real(max));
        }
        self.circle = Some(circle);
    }

    fn execute(self, conn: &Connection) -> Result<(Vec<PullEvseDataRecord>, u64), StoreError> {
        if self.nothing {
            return Ok((Vec::new(), 0));
        }
        let filter = self.conditions.join(" AND ");
        let (raw, total) = match self.circle {
            None => {
                let total: i64 = conn
                    .prepare_cached(&format!("SELECT COUNT(*) FROM evse_data e WHERE {filter}"))?
                    .query_row(params_from_iter(&self.params), |r| r.get(0))?;
                let sql = format!(
                    "{SELECT_RECORD} WHERE {filter} ORDER BY {} LIMIT ? OFFSET ?",
                    self.order
                );
                let mut params = self.params.clone();
                params.push(Value::Integer(self.limit));
                params.push(Value::Integer(self.offset));
                (read_records(conn, &sql, params)?, count(total))
            }
            Some(circle) => self.page_in_circle(conn, &filter, circle)?,
        };
        let records = raw
            .into_iter()
            .map(|r| r.into_pull(self.last_call, &self.format))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((records, total))
    }

    /// Candidates in the box, in order; those in the circle are counted and paged, then the
    /// page's records are read.
    fn page_in_circle(
        &self,
        conn: &Connection,
        filter: &str,
        circle: Circle,
    ) -> Result<(Vec<RawRecord>, u64), StoreError> {
        let sql = format!(
            "SELECT e.evse_key, e.lat, e.lon FROM evse_data e WHERE {filter} ORDER BY {}",
            self.order
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(&self.params))?;
        let mut inside = Vec::new();
        while let Some(row) = rows.next()? {
            let (lat, lon): (Option<f64>, Option<f64>) = (row.get(1)?, row.get(2)?);
            if let (Some(lat), Some(lon)) = (lat, lon)
                && circle.contains(lat, lon)
            {
                inside.push(row.get::<_, String>(0)?);
            }
        }
        let total = inside.len() as u64;
        let skip = usize::try_from(self.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let page: Vec<&String> = inside.iter().skip(skip).take(take).collect();
        if page.is_empty() {
            return Ok((Vec::new(), total));
        }
        let sql = format!(
            "{SELECT_RECORD} WHERE e.evse_key IN (SELECT value FROM json_each(?)) ORDER BY {}",
            self.order
        );
        let records = read_records(conn, &sql, vec![Value::Text(json_list(page)?)])?;
        Ok((records, total))
    }
}

/// The `ORDER BY` of a sort request (oicp-2.3.md §5.4): `EvseID` (canonical) or `lastUpdate`
/// (then `EvseID`), ascending unless asked otherwise; the default and fallback is `EvseID`
/// ascending.
fn order(sort: Option<&(String, bool)>) -> &'static str {
    match sort {
        Some((field, desc)) if field.eq_ignore_ascii_case("lastUpdate") => {
            if *desc {
                "e.last_update DESC, e.evse_key DESC"
            } else {
                "e.last_update ASC, e.evse_key ASC"
            }
        }
        Some((field, true)) if field.eq_ignore_ascii_case("EvseID") => "e.evse_key DESC",
        _ => "e.evse_key ASC",
    }
}

/// A stored record with what the answer needs, as read.
#[derive(Debug)]
struct RawRecord {
    json: String,
    deleted: bool,
    created_at: i64,
    last_update: i64,
    operator_id: String,
    operator_name: Option<String>,
}

fn read_records(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<RawRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params_from_iter(params), |r| {
        Ok(RawRecord {
            json: r.get(0)?,
            deleted: r.get(1)?,
            created_at: r.get(2)?,
            last_update: r.get(3)?,
            operator_id: r.get(4)?,
            operator_name: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl RawRecord {
    fn into_pull(
        self,
        last_call: Option<i64>,
        format: &GeoCoordinatesResponseFormat,
    ) -> Result<PullEvseDataRecord, StoreError> {
        let mut record: EvseDataRecord = serde_json::from_str(&self.json)?;
        record.last_update = Some(wire_time(self.last_update));
        record.delta_type = last_call.map(|lc| {
            if self.deleted {
                DeltaType::Delete
            } else if self.created_at >= lc {
                DeltaType::Insert
            } else {
                DeltaType::Update
            }
        });
        geo::convert(&mut record.geo_coordinates, format);
        if let Some(entrance) = record.geo_charging_point_entrance.as_mut() {
            geo::convert(entrance, format);
        }
        let operator: OperatorId = stored(&self.operator_id, "operator.operator_id")?;
        let name = self.operator_name.as_deref().map(Text::truncated);
        Ok(PullEvseDataRecord::new(record, operator, name))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;
    use crate::oicp::v23::scalars::Int;

    fn ids(records: &[PullEvseDataRecord]) -> Vec<&str> {
        records.iter().map(|r| r.evse_id.as_str()).collect()
    }

    async fn pull_ids(store: &Store, patch: serde_json::Value) -> Vec<String> {
        let (records, total) = store
            .query_evse_data(&EvseDataQuery::new(pull_request(&patch)))
            .await
            .unwrap();
        assert_eq!(total, records.len() as u64);
        records
            .iter()
            .map(|r| r.evse_id.as_str().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn insert_refuses_existing_records_and_writes_nothing() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        let a = evse("DE*GEF*E1", &json!({}));
        store
            .apply_evse_data(
                &gef,
                "GEF",
                ActionType::Insert,
                std::slice::from_ref(&a),
                at(0),
                &[],
            )
            .await
            .unwrap();
        let b = evse("DE*GEF*E2", &json!({}));
        // The same EVSE spelled differently exists too.
        let a2 = evse("DEGEFE1", &json!({"IsOpen24Hours": true}));
        let err = store
            .apply_evse_data(&gef, "GEF", ActionType::Insert, &[b, a2], at(1), &[])
            .await
            .unwrap_err();
        match err {
            StoreError::AlreadyExists { what, ids } => {
                assert_eq!(what, "EVSE data record");
                assert_eq!(ids, ["DEGEFE1"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(store.evse_data_count().await.unwrap(), 1);
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(pull_request(&json!({}))))
            .await
            .unwrap();
        assert_eq!(records[0].last_update, Some(wire_time(millis(at(0)))));
    }

    #[tokio::test]
    async fn update_refuses_missing_records_and_writes_nothing() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        let a = evse("DE*GEF*E1", &json!({}));
        store
            .apply_evse_data(&gef, "GEF", ActionType::FullLoad, &[a], at(0), &[])
            .await
            .unwrap();
        let changed = evse("DE*GEF*E1", &json!({"MaxCapacity": 7}));
        let missing = evse("DE*GEF*E9", &json!({}));
        let err = store
            .apply_evse_data(
                &gef,
                "GEF",
                ActionType::Update,
                &[changed.clone(), missing],
                at(1),
                &[],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::NotFound { ids, .. } if ids == &["DE*GEF*E9"]),
            "{err:?}"
        );
        let records = pull_ids(&store, json!({})).await;
        assert_eq!(records, ["DE*GEF*E1"]);
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(pull_request(&json!({}))))
            .await
            .unwrap();
        assert!(records[0].max_capacity.is_none());

        // Another operator cannot update it either.
        let err = store
            .apply_evse_data(
                &op("DE*ABC"),
                "ABC",
                ActionType::Update,
                std::slice::from_ref(&changed),
                at(2),
                &[],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }));

        // A format-insensitive update of an existing record works.
        let respelled = evse("DEGEFE1", &json!({"MaxCapacity": 7}));
        store
            .apply_evse_data(&gef, "GEF", ActionType::Update, &[respelled], at(3), &[])
            .await
            .unwrap();
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(pull_request(&json!({}))))
            .await
            .unwrap();
        assert_eq!(ids(&records), ["DEGEFE1"]);
        assert_eq!(records[0].max_capacity.map(Int::get), Some(7));
        assert_eq!(records[0].last_update, Some(wire_time(millis(at(3)))));
    }

    #[tokio::test]
    async fn delete_removes_and_ignores_unknown_records() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        let records = [evse("DE*GEF*E1", &json!({})), evse("DE*GEF*E2", &json!({}))];
        store
            .apply_evse_data(&gef, "GEF", ActionType::FullLoad, &records, at(0), &[])
            .await
            .unwrap();
        let gone = [evse("DEGEFE1", &json!({})), evse("DE*GEF*E7", &json!({}))];
        store
            .apply_evse_data(&gef, "GEF", ActionType::Delete, &gone, at(1), &[])
            .await
            .unwrap();
        assert_eq!(pull_ids(&store, json!({})).await, ["DE*GEF*E2"]);
        assert_eq!(store.evse_data_count().await.unwrap(), 1);
        // Deleting it again is no error; inserting it again works.
        store
            .apply_evse_data(&gef, "GEF", ActionType::Delete, &gone, at(2), &[])
            .await
            .unwrap();
        store
            .apply_evse_data(&gef, "GEF", ActionType::Insert, &records[..1], at(3), &[])
            .await
            .unwrap();
        assert_eq!(store.evse_data_count().await.unwrap(), 2);
    }

    #[tokio::test]
    async fn full_load_replaces_the_operators_set_only() {
        let store = Store::open_in_memory().await.unwrap();
        let (gef, abc) = (op("DE*GEF"), op("DE*ABC"));
        let first = [evse("DE*GEF*E1", &json!({})), evse("DE*GEF*E2", &json!({}))];
        store
            .apply_evse_data(&gef, "GEF", ActionType::FullLoad, &first, at(0), &[])
            .await
            .unwrap();
        store
            .apply_evse_data(
                &abc,
                "ABC",
                ActionType::FullLoad,
                &[evse("DE*ABC*E1", &json!({}))],
                at(0),
                &[],
            )
            .await
            .unwrap();
        let second = [evse("DE*GEF*E2", &json!({})), evse("DE*GEF*E3", &json!({}))];
        store
            .apply_evse_data(&gef, "GEF Neu", ActionType::FullLoad, &second, at(10), &[])
            .await
            .unwrap();
        assert_eq!(
            pull_ids(&store, json!({})).await,
            ["DE*ABC*E1", "DE*GEF*E2", "DE*GEF*E3"]
        );
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(pull_request(&json!({}))))
            .await
            .unwrap();
        // Unchanged records keep their lastUpdate; the name is the latest.
        assert_eq!(records[1].last_update, Some(wire_time(millis(at(0)))));
        assert_eq!(records[2].last_update, Some(wire_time(millis(at(10)))));
        assert_eq!(records[1].operator_id.as_str(), "DE*GEF");
        assert_eq!(
            records[1].operator_name.as_ref().unwrap().as_str(),
            "GEF Neu"
        );
        assert_eq!(records[0].operator_name.as_ref().unwrap().as_str(), "ABC");

        // An empty fullLoad deletes everything of the operator.
        store
            .apply_evse_data(&gef, "GEF", ActionType::FullLoad, &[], at(20), &[])
            .await
            .unwrap();
        assert_eq!(pull_ids(&store, json!({})).await, ["DE*ABC*E1"]);
        assert_eq!(store.evse_data_count().await.unwrap(), 1);
    }

    #[tokio::test]
    async fn last_call_returns_deltas_with_delta_types() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        let first = [
            evse("DE*GEF*E1", &json!({})),
            evse("DE*GEF*E2", &json!({})),
            evse("DE*GEF*E4", &json!({})),
        ];
        store
            .apply_evse_data(&gef, "GEF", ActionType::FullLoad, &first, at(0), &[])
            .await
            .unwrap();
        // At 10: E1 changes, E2 goes, E3 comes, E4 stays unchanged.
        let second = [
            evse("DE*GEF*E1", &json!({"MaxCapacity": 2})),
            evse("DE*GEF*E3", &json!({})),
            evse("DE*GEF*E4", &json!({})),
        ];
        store
            .apply_evse_data(&gef, "GEF", ActionType::FullLoad, &second, at(10), &[])
            .await
            .unwrap();

        let delta = pull_request(&json!({"LastCall": "2024-05-01T10:00:05+00:00"}));
        let (records, total) = store
            .query_evse_data(&EvseDataQuery::new(delta))
            .await
            .unwrap();
        assert_eq!(total, 3);
        let got: Vec<(&str, Option<DeltaType>)> = records
            .iter()
            .map(|r| (r.evse_id.as_str(), r.delta_type.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("DE*GEF*E1", Some(DeltaType::Update)),
                ("DE*GEF*E2", Some(DeltaType::Delete)),
                ("DE*GEF*E3", Some(DeltaType::Insert)),
            ]
        );
        assert!(
            records
                .iter()
                .all(|r| r.last_update == Some(wire_time(millis(at(10)))))
        );
        // The tombstone keeps its content, operator included.
        assert_eq!(records[1].operator_id.as_str(), "DE*GEF");

        // LastCall in another offset, and inclusive.
        let delta = pull_request(&json!({"LastCall": "2024-05-01T12:00:10+02:00"}));
        assert_eq!(
            store
                .query_evse_data(&EvseDataQuery::new(delta))
                .await
                .unwrap()
                .1,
            3
        );
        let later = pull_request(&json!({"LastCall": "2024-05-01T10:00:11Z"}));
        assert_eq!(
            store
                .query_evse_data(&EvseDataQuery::new(later))
                .await
                .unwrap()
                .1,
            0
        );

        // Without LastCall: live records, lastUpdate set, deltaType absent.
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(pull_request(&json!({}))))
            .await
            .unwrap();
        assert_eq!(ids(&records), ["DE*GEF*E1", "DE*GEF*E3", "DE*GEF*E4"]);
        assert!(
            records
                .iter()
                .all(|r| r.delta_type.is_none() && r.last_update.is_some())
        );
        assert_eq!(records[2].last_update, Some(wire_time(millis(at(0)))));

        // Re-inserting a deleted record is an insert again.
        store
            .apply_evse_data(&gef, "GEF", ActionType::Insert, &first[1..2], at(20), &[])
            .await
            .unwrap();
        let delta = pull_request(&json!({"LastCall": "2024-05-01T10:00:15Z"}));
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(delta))
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].delta_type, Some(DeltaType::Insert));

        // Purging old tombstones forgets deletions.
        store
            .apply_evse_data(&gef, "GEF", ActionType::Delete, &first[..1], at(30), &[])
            .await
            .unwrap();
        assert_eq!(store.purge_evse_data_tombstones(at(25)).await.unwrap(), 0);
        assert_eq!(store.purge_evse_data_tombstones(at(31)).await.unwrap(), 1);
        let delta = pull_request(&json!({"LastCall": "2024-05-01T10:00:25Z"}));
        assert_eq!(
            store
                .query_evse_data(&EvseDataQuery::new(delta))
                .await
                .unwrap()
                .1,
            0
        );
    }

    /// Three operators' records with different attributes, for the filter tests.
    async fn filter_fixture() -> Store {
        let store = Store::open_in_memory().await.unwrap();
        let berlin = [
            evse(
                "DE*GEF*E1",
                &json!({
                    "GeoCoordinates": {"Google": {"Coordinates": "52.520008 13.404954"}},
                    "AuthenticationModes": ["NFC RFID Classic", "REMOTE"],
                    "Accessibility": "Free publicly accessible",
                    "CalibrationLawDataAvailability": "Local",
                    "RenewableEnergy": true,
                    "IsHubjectCompatible": true,
                    "IsOpen24Hours": true
                }),
            ),
            // About 8 km from the first.
            evse(
                "DE*GEF*E2",
                &json!({
                    "GeoCoordinates": {"DecimalDegree": {"Latitude": "52.480495", "Longitude": "13.356465"}},
                    "AuthenticationModes": ["PnC"],
                    "Accessibility": "Restricted access",
                    "CalibrationLawDataAvailability": "External",
                    "RenewableEnergy": false,
                    "IsHubjectCompatible": false,
                    "IsOpen24Hours": false,
                    "OpeningTimes": [{"Period": [{"begin": "08:00", "end": "20:00"}], "on": "Workdays"}]
                }),
            ),
        ];
        store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF",
                ActionType::FullLoad,
                &berlin,
                at(0),
                &[],
            )
            .await
            .unwrap();
        // Munich, about 500 km away.
        let munich = [evse(
            "DE*ABC*E1",
            &json!({
                "GeoCoordinates": {"Google": {"Coordinates": "48.137154 11.576124"}},
                "AuthenticationModes": ["Direct Payment"],
                "Accessibility": "Paying publicly accessible",
                "CalibrationLawDataAvailability": "Not Available",
                "RenewableEnergy": true
            }),
        )];
        store
            .apply_evse_data(
                &op("DEABC"),
                "ABC",
                ActionType::FullLoad,
                &munich,
                at(0),
                &[],
            )
            .await
            .unwrap();
        // Vienna.
        let vienna = [evse(
            "AT*XYZ*E1",
            &json!({
                "Address": {"Country": "AUT", "City": "Wien", "Street": "Ring", "PostalCode": "1010", "HouseNum": "1"},
                "GeoCoordinates": {"Google": {"Coordinates": "48.208174 16.373819"}}
            }),
        )];
        store
            .apply_evse_data(
                &op("AT*XYZ"),
                "XYZ",
                ActionType::FullLoad,
                &vienna,
                at(0),
                &[],
            )
            .await
            .unwrap();
        store
    }

    #[tokio::test]
    async fn every_pull_filter() {
        let store = filter_fixture().await;
        let all = ["AT*XYZ*E1", "DE*ABC*E1", "DE*GEF*E1", "DE*GEF*E2"];
        assert_eq!(pull_ids(&store, json!({})).await, all);
        let center = |radius: f64| {
            json!({"SearchCenter": {
                "GeoCoordinates": {"Google": {"Coordinates": "52.520008 13.404954"}},
                "Radius": radius
            }})
        };
        assert_eq!(pull_ids(&store, center(1.0)).await, ["DE*GEF*E1"]);
        assert_eq!(
            pull_ids(&store, center(10.0)).await,
            ["DE*GEF*E1", "DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(&store, center(510.0)).await,
            ["DE*ABC*E1", "DE*GEF*E1", "DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(&store, json!({"OperatorIds": ["DEGEF", "AT*XYZ"]})).await,
            ["AT*XYZ*E1", "DE*GEF*E1", "DE*GEF*E2"]
        );
        assert_eq!(pull_ids(&store, json!({"OperatorIds": []})).await, all);
        assert_eq!(
            pull_ids(&store, json!({"CountryCodes": ["AUT"]})).await,
            ["AT*XYZ*E1"]
        );
        assert_eq!(
            pull_ids(&store, json!({"AuthenticationModes": ["REMOTE", "PnC"]})).await,
            ["DE*GEF*E1", "DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(&store, json!({"AuthenticationModes": ["Direct Payment"]})).await,
            ["DE*ABC*E1"]
        );
        assert_eq!(
            pull_ids(
                &store,
                json!({"Accessibility": ["Restricted access", "Paying publicly accessible"]})
            )
            .await,
            ["DE*ABC*E1", "DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(
                &store,
                json!({"CalibrationLawDataAvailability": ["External"]})
            )
            .await,
            ["DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(&store, json!({"RenewableEnergy": true})).await,
            ["DE*ABC*E1", "DE*GEF*E1"]
        );
        assert_eq!(
            pull_ids(&store, json!({"RenewableEnergy": false})).await,
            ["AT*XYZ*E1", "DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(&store, json!({"IsHubjectCompatible": false})).await,
            ["DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(&store, json!({"IsOpen24Hours": false})).await,
            ["DE*GEF*E2"]
        );
        assert_eq!(
            pull_ids(
                &store,
                json!({"IsOpen24Hours": true, "CountryCodes": ["DEU"], "RenewableEnergy": true})
            )
            .await,
            ["DE*ABC*E1", "DE*GEF*E1"]
        );
    }

    #[tokio::test]
    async fn visibility_restriction() {
        let store = filter_fixture().await;
        let mut query = EvseDataQuery::new(pull_request(&json!({})));
        query.operators = Some(vec![op("DE*GEF")]);
        let (records, total) = store.query_evse_data(&query).await.unwrap();
        assert_eq!((ids(&records), total), (vec!["DE*GEF*E1", "DE*GEF*E2"], 2));
        // The request cannot widen it.
        query.request = pull_request(&json!({"OperatorIds": ["DE*ABC"]}));
        assert_eq!(store.query_evse_data(&query).await.unwrap().1, 0);
        query.operators = Some(Vec::new());
        query.request = pull_request(&json!({}));
        assert_eq!(
            store.query_evse_data(&query).await.unwrap(),
            (Vec::new(), 0)
        );
    }

    #[tokio::test]
    async fn coordinates_in_the_requested_format() {
        let store = filter_fixture().await;
        let google = pull_request(&json!({"OperatorIds": ["DE*GEF"]}));
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(google))
            .await
            .unwrap();
        let json = serde_json::to_value(&records[1]).unwrap();
        assert_eq!(
            json["GeoCoordinates"]["Google"]["Coordinates"],
            "52.480495 13.356465"
        );
        assert_eq!(json["OperatorID"], "DE*GEF");
        assert_eq!(json["OperatorName"], "GEF");
        let decimal = pull_request(&json!({
            "OperatorIds": ["DE*GEF"], "GeoCoordinatesResponseFormat": "DecimalDegree"
        }));
        let (records, _) = store
            .query_evse_data(&EvseDataQuery::new(decimal))
            .await
            .unwrap();
        let json = serde_json::to_value(&records[0]).unwrap();
        assert_eq!(
            json["GeoCoordinates"]["DecimalDegree"]["Latitude"],
            "52.520008"
        );
        assert!(json["GeoCoordinates"].get("Google").is_none());
    }

    #[tokio::test]
    async fn paging_and_sorting() {
        let store = Store::open_in_memory().await.unwrap();
        let records: Vec<EvseDataRecord> = (0..45)
            .map(|i| evse(&format!("DE*GEF*E{i:04}"), &json!({})))
            .collect();
        store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF",
                ActionType::FullLoad,
                &records,
                at(0),
                &[],
            )
            .await
            .unwrap();
        let page = |page: u32, size: u32, sort: Option<(&str, bool)>| {
            let store = store.clone();
            let sort = sort.map(|(f, d)| (f.to_owned(), d));
            async move {
                let mut query = EvseDataQuery::new(pull_request(&json!({})));
                query.page = page;
                query.size = size;
                query.sort = sort;
                store.query_evse_data(&query).await.unwrap()
            }
        };
        let (first, total) = page(0, 20, None).await;
        assert_eq!((first.len(), total), (20, 45));
        assert_eq!(first[0].evse_id.as_str(), "DE*GEF*E0000");
        let (last, total) = page(2, 20, None).await;
        assert_eq!((last.len(), total), (5, 45));
        assert_eq!(last[4].evse_id.as_str(), "DE*GEF*E0044");
        let (past, total) = page(3, 20, None).await;
        assert_eq!((past.len(), total), (0, 45));
        assert_eq!(page(0, 0, None).await.0.len(), 20);
        assert_eq!(page(u32::MAX, 2000, None).await, (Vec::new(), 45));
        let (desc, _) = page(0, 3, Some(("EvseID", true))).await;
        assert_eq!(ids(&desc), ["DE*GEF*E0044", "DE*GEF*E0043", "DE*GEF*E0042"]);

        // lastUpdate order: the changed record comes last ascending, first descending.
        let changed = [evse("DE*GEF*E0001", &json!({"MaxCapacity": 1}))];
        store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF",
                ActionType::Update,
                &changed,
                at(5),
                &[],
            )
            .await
            .unwrap();
        let (asc, _) = page(2, 20, Some(("lastUpdate", false))).await;
        assert_eq!(asc[4].evse_id.as_str(), "DE*GEF*E0001");
        let (desc, _) = page(0, 2, Some(("lastupdate", true))).await;
        assert_eq!(ids(&desc), ["DE*GEF*E0001", "DE*GEF*E0044"]);
        // An unknown sort field falls back to EvseID ascending.
        let (fallback, _) = page(0, 1, Some(("Plugs", true))).await;
        assert_eq!(fallback[0].evse_id.as_str(), "DE*GEF*E0000");
    }

    #[tokio::test]
    async fn page_size_is_capped_at_2000() {
        let store = Store::open_in_memory().await.unwrap();
        let records: Vec<EvseDataRecord> = (0..2001)
            .map(|i| evse(&format!("DE*GEF*E{i:05}"), &json!({})))
            .collect();
        store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF",
                ActionType::FullLoad,
                &records,
                at(0),
                &[],
            )
            .await
            .unwrap();
        let mut query = EvseDataQuery::new(pull_request(&json!({})));
        query.size = 5000;
        let (page, total) = store.query_evse_data(&query).await.unwrap();
        assert_eq!((page.len(), total), (2000, 2001));
        query.page = 1;
        let (page, _) = store.query_evse_data(&query).await.unwrap();
        assert_eq!(ids(&page), ["DE*GEF*E02000"]);
    }

    #[tokio::test]
    async fn paging_within_a_search_center() {
        let store = Store::open_in_memory().await.unwrap();
        // 30 EVSEs on a line going north from the centre, 1.1 km apart.
        let records: Vec<EvseDataRecord> = (0..30)
            .map(|i| {
                let lat = 50.0 + f64::from(i) * 0.01;
                evse(
                    &format!("DE*GEF*E{i:02}"),
                    &json!({"GeoCoordinates": {"Google": {"Coordinates": format!("{lat:.6} 8.000000")}}}),
                )
            })
            .collect();
        store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF",
                ActionType::FullLoad,
                &records,
                at(0),
                &[],
            )
            .await
            .unwrap();
        let mut query = EvseDataQuery::new(pull_request(&json!({"SearchCenter": {
            "GeoCoordinates": {"DecimalDegree": {"Latitude": "50.000000", "Longitude": "8.000000"}},
            "Radius": 12.5
        }})));
        query.size = 4;
        query.page = 2;
        let (page, total) = store.query_evse_data(&query).await.unwrap();
        // 0 .. 11 are within 12.5 km (11 * 1.112 km = 12.2 km).
        assert_eq!(total, 12);
        assert_eq!(
            ids(&page),
            ["DE*GEF*E08", "DE*GEF*E09", "DE*GEF*E10", "DE*GEF*E11"]
        );
        query.page = 3;
        assert_eq!(
            store.query_evse_data(&query).await.unwrap(),
            (Vec::new(), 12)
        );
    }

    #[tokio::test]
    async fn unknown_action_type_is_refused() {
        let store = Store::open_in_memory().await.unwrap();
        let err = store
            .apply_evse_data(
                &op("DE*GEF"),
                "GEF",
                ActionType::Unknown("upsert".to_owned()),
                &[evse("DE*GEF*E1", &json!({}))],
                at(0),
                &[],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");
    }
}
