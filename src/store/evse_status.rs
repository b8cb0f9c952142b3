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
use rusqlite::{CachedStatement, Connection, OptionalExtension, params_from_iter};

use super::geo::Circle;
use super::ocpi_cpo::{ChangedLocation, ViewPatch, patch_in};
use super::outbox::{self, OutboxEntry};
use super::worker::{Job, Undo, WriteTask, exec, outcome};
use super::{Action, OperatorRow, Store, StoreError, json_list, lock, millis, stored};
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
    /// The common case, a changed status of a known EVSE of the same operator, is one `UPDATE`
    /// that matches only a row that differs (so an identical row takes no journal); only when
    /// it matched nothing is the row read, to tell an identical row (left alone) from a new
    /// one or one of another operator (upserted with its `operator_key`, whose index and
    /// foreign key are checked then).
    fn upsert(
        &self,
        w: &mut RowWriter<'_>,
        operator_key: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        // Both statements number their parameters alike.
        let params = (
            &self.key,
            &self.evse_id,
            &self.status,
            &self.extra,
            now,
            operator_key,
        );
        if w.update.execute(params)? > 0 {
            return Ok(());
        }
        let stored: Option<String> = w.owner.query_row([&self.key], |r| r.get(0)).optional()?;
        if stored.as_deref() == Some(operator_key) {
            return Ok(());
        }
        w.insert.execute(params)?;
        Ok(())
    }

    /// Writes the status for `operator_key` and queues it as change `seq` (see the outbox):
    /// the row is always written, identical or not, since the change goes out either way.
    /// One `UPDATE` for a known EVSE of the operator, else an upsert.
    fn upsert_queued(
        &self,
        w: &mut Queue<'_>,
        operator_key: &str,
        now: i64,
        seq: i64,
        process_id: &str,
    ) -> Result<(), StoreError> {
        // Both statements number their parameters alike.
        let params = (
            &self.key,
            &self.evse_id,
            &self.status,
            &self.extra,
            now,
            operator_key,
            seq,
            process_id,
        );
        if w.update.execute(params)? > 0 {
            return Ok(());
        }
        w.insert.execute(params)?;
        Ok(())
    }
}

/// The statements of [`Row::upsert`], prepared once for the rows of a write.
struct RowWriter<'c> {
    update: CachedStatement<'c>,
    owner: CachedStatement<'c>,
    insert: CachedStatement<'c>,
}

impl<'c> RowWriter<'c> {
    fn new(tx: &'c Connection) -> Result<Self, StoreError> {
        Ok(Self {
            update: tx.prepare_cached(
                "UPDATE evse_status SET evse_id = ?2, status = ?3, extra = ?4, updated_at = ?5
                 WHERE evse_key = ?1 AND operator_key = ?6
                   AND (evse_id IS NOT ?2 OR status IS NOT ?3 OR extra IS NOT ?4)",
            )?,
            owner: tx.prepare_cached("SELECT operator_key FROM evse_status WHERE evse_key = ?1")?,
            insert: tx.prepare_cached(
                "INSERT INTO evse_status (evse_key, evse_id, operator_key, status, extra,
                                          updated_at)
                 VALUES (?1, ?2, ?6, ?3, ?4, ?5)
                 ON CONFLICT (evse_key) DO UPDATE SET
                     evse_id = excluded.evse_id, operator_key = excluded.operator_key,
                     status = excluded.status, extra = excluded.extra,
                     updated_at = excluded.updated_at",
            )?,
        })
    }

    /// Writes `rows` for `operator_key`, one [`Row::upsert`] each. (One `INSERT .. SELECT`
    /// over a JSON array of the rows, tried for the batches an EMP node receives, cost a third
    /// more per row than these prepared statements: the B-tree work dominates, not the
    /// statement.)
    fn write(&mut self, rows: &[Row], operator_key: &str, now: i64) -> Result<(), StoreError> {
        for row in rows {
            row.upsert(self, operator_key, now)?;
        }
        Ok(())
    }
}

/// The statements of [`Row::upsert_queued`]: the status rows of an own CPO's `update` with a
/// fan-out, each carrying its queued change's number and `Process-ID`.
///
/// The change lives on the status row (schema version 8) instead of a copy in a table of its
/// own, which a push wrote and a delivery deleted again: that copy and its deletion were about
/// a quarter of a fan-out node's store thread (issue 3).
struct Queue<'c> {
    update: CachedStatement<'c>,
    insert: CachedStatement<'c>,
}

impl<'c> Queue<'c> {
    fn new(tx: &'c Connection) -> Result<Self, StoreError> {
        Ok(Self {
            update: tx.prepare_cached(
                "UPDATE evse_status SET evse_id = ?2, status = ?3, extra = ?4, updated_at = ?5,
                                        change_seq = ?7, change_pid = ?8
                 WHERE evse_key = ?1 AND operator_key = ?6",
            )?,
            insert: tx.prepare_cached(
                "INSERT INTO evse_status (evse_key, evse_id, operator_key, status, extra,
                                          updated_at, change_seq, change_pid)
                 VALUES (?1, ?2, ?6, ?3, ?4, ?5, ?7, ?8)
                 ON CONFLICT (evse_key) DO UPDATE SET
                     evse_id = excluded.evse_id, operator_key = excluded.operator_key,
                     status = excluded.status, extra = excluded.extra,
                     updated_at = excluded.updated_at, change_seq = excluded.change_seq,
                     change_pid = excluded.change_pid",
            )?,
        })
    }

    /// Writes `rows` for `operator_key` as changes numbered from `first`.
    fn write(
        &mut self,
        rows: &[Row],
        operator_key: &str,
        now: i64,
        first: i64,
        process_id: &str,
    ) -> Result<(), StoreError> {
        for (seq, row) in (first..).zip(rows) {
            row.upsert_queued(self, operator_key, now, seq, process_id)?;
        }
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
            RowWriter::new(tx)?.write(rows, &operator.key, now)?;
        }
        Action::Insert | Action::Update => {
            RowWriter::new(tx)?.write(rows, &operator.key, now)?;
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

/// A status `update` to write: rows and fan-out prepared by `apply_evse_status`.
struct Update {
    operator: OperatorRow,
    rows: Vec<Row>,
    /// `PushEvseStatus` entries: coalesced per EVSE (see the outbox).
    coalesced: Vec<OutboxEntry>,
    /// Other entries, queued as they are.
    queued: Vec<OutboxEntry>,
    now: i64,
    /// The Location view's patch for these statuses.
    view: Option<ViewPatch>,
}

/// An update and its caller.
struct Waiting {
    update: Update,
    reply: tokio::sync::oneshot::Sender<Result<Vec<ChangedLocation>, StoreError>>,
    span: tracing::Span,
}

/// Status updates sent to the store and not yet taken by its thread, shared by the store's
/// clones.
#[derive(Default)]
pub(in crate::store) struct PendingUpdates {
    items: Vec<Waiting>,
    /// Whether an [`UpdateBatch`] job is on its way to the store thread (it takes `items`).
    queued: bool,
    /// Per operator key, the fan-out last set on its cursors by a committed batch (see
    /// [`outbox::fan_out_in`]): an update with the same fan-out needs no cursor work. Emptied
    /// whenever a batch or its commit fails (what it set may have been rolled back).
    fan_outs: HashMap<String, outbox::FanOut>,
}

/// One store job writing every status `update` that was sent while it waited.
///
/// # Why
/// Status changes are the node's most frequent write: a CPO backend pushes each change as a
/// one-record `update` (oicp-2.3.md §2.3), many at a time. Written one job each, every push
/// paid for its savepoint, its operator row, its sequence numbers and the look-up of its
/// operator's fan-out; written together, those are paid once per batch (once per operator and
/// fan-out), and each push costs its own status row and queued change only.
///
/// # Order and failures
/// The first update of a batch sends the job; updates sent before the store thread takes it
/// join it, and are written at its place in the store's queue, in the order sent. An update
/// joining a batch may so be written before a job sent between the two; both were unanswered
/// when the later one was sent, so the caller had not ordered them. Each caller is answered
/// after the commit, as for any write. When the batch fails, it is rolled back and each update
/// is written alone (in its own savepoint), so a failing update fails alone.
struct UpdateBatch {
    pending: std::sync::Arc<std::sync::Mutex<PendingUpdates>>,
    taken: Vec<Waiting>,
    /// The result of each taken update (the view's changed Locations), in order (missing ones
    /// panicked).
    results: Vec<Result<Vec<ChangedLocation>, StoreError>>,
    /// Whether `apply` completed and asked for its writes to be kept.
    kept: bool,
}

impl WriteTask for UpdateBatch {
    fn apply(&mut self, conn: &Connection, undo: Undo) -> bool {
        self.kept = self.write(conn, undo);
        self.kept
    }

    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>) {
        if failed.is_some() {
            lock(&self.pending).fan_outs.clear();
        }
        let mut results = self.results.into_iter();
        for waiting in self.taken {
            // A success the batch did not keep (it panicked, or its savepoint could not be
            // released) was rolled back: no result.
            let result = results.next().filter(|r| r.is_err() || self.kept);
            // The caller may have gone away (its request was cancelled): nothing to tell.
            let _ = waiting.reply.send(outcome(result, failed));
        }
    }
}

impl UpdateBatch {
    /// Takes the waiting updates and writes them; `true` if any is to be kept.
    ///
    /// The batch runs without a savepoint of its own: when it fails, `undo` takes it back (to
    /// the worker's savepoint, or the whole transaction when the batch is alone in it) and
    /// each update is written again in its own savepoint. A savepoint around every batch cost
    /// a copy of each page it changed, about a tenth of an EMP node's writes of pushed
    /// batches (issue 3).
    fn write(&mut self, conn: &Connection, undo: Undo) -> bool {
        let mut fan_outs;
        {
            let mut pending = lock(&self.pending);
            pending.queued = false;
            self.taken = std::mem::take(&mut pending.items);
            fan_outs = std::mem::take(&mut pending.fan_outs);
        }
        self.results.clear();
        match write_updates(conn, &self.taken, &mut fan_outs) {
            Ok(changed) => {
                self.results.extend(changed.into_iter().map(Ok));
                // Kept unless the commit fails (see `answer`).
                lock(&self.pending).fan_outs = fan_outs;
                true
            }
            // A lone update fails as a whole; the worker takes it back.
            Err(e) if self.taken.len() <= 1 => {
                self.results.push(Err(e));
                false
            }
            Err(_) => {
                if undo.run(conn).is_err() {
                    return false;
                }
                for one in self.taken.chunks(1) {
                    let result = exec(conn, "SAVEPOINT one")
                        .map_err(StoreError::from)
                        .and_then(|()| write_updates(conn, one, &mut HashMap::new()))
                        .map(|mut changed| changed.pop().unwrap_or_default());
                    let undone = if result.is_err() {
                        exec(conn, "ROLLBACK TO one")
                    } else {
                        Ok(())
                    };
                    if undone.and_then(|()| exec(conn, "RELEASE one")).is_err() {
                        return false;
                    }
                    self.results.push(result);
                }
                self.results.iter().any(Result::is_ok)
            }
        }
    }
}

/// Writes `batch` in order: per update its operator row (once per run of updates of the same
/// operator), status rows, queued changes (sequence numbers taken once for the batch, the
/// cursors set only for a fan-out other than the one `fan_outs` has for the operator), other
/// outbox entries and its Location view patch ([`view_in`]). Returns each update's changed
/// Locations.
fn write_updates(
    tx: &Connection,
    batch: &[Waiting],
    fan_outs: &mut HashMap<String, outbox::FanOut>,
) -> Result<Vec<Vec<ChangedLocation>>, StoreError> {
    let changes: usize = batch
        .iter()
        .filter(|w| !w.update.coalesced.is_empty())
        .map(|w| w.update.rows.len())
        .sum();
    let mut seq = if changes > 0 {
        outbox::take_seqs(tx, changes)?
    } else {
        0
    };
    let mut rows = None;
    let mut queue = None;
    let mut last: Option<&Update> = None;
    let mut patched = Vec::with_capacity(batch.len());
    for waiting in batch {
        let _entered = waiting.span.enter();
        let update = &waiting.update;
        let operator = &update.operator;
        let same_operator = last.is_some_and(|l| {
            l.operator.key == operator.key
                && l.operator.id == operator.id
                && (operator.name.is_none() || l.operator.name == operator.name)
        });
        if !same_operator {
            operator.upsert(tx)?;
        }
        if let (Some(newest), false) = (update.coalesced.last(), update.rows.is_empty()) {
            let known = fan_outs
                .get(&operator.key)
                .is_some_and(|f| outbox::same_fan_out(f, &update.coalesced));
            if !known {
                outbox::fan_out_in(tx, &update.coalesced, &operator.key, seq)?;
                fan_outs.insert(operator.key.clone(), outbox::fan_out_of(&update.coalesced));
            }
            let queue = match &mut queue {
                Some(q) => q,
                None => queue.insert(Queue::new(tx)?),
            };
            queue.write(
                &update.rows,
                &operator.key,
                update.now,
                seq,
                &newest.process_id,
            )?;
            seq += i64::try_from(update.rows.len()).unwrap_or(i64::MAX);
        } else {
            let rows = match &mut rows {
                Some(r) => r,
                None => rows.insert(RowWriter::new(tx)?),
            };
            rows.write(&update.rows, &operator.key, update.now)?;
        }
        outbox::enqueue_in(tx, &update.queued, update.now)?;
        tracing::debug!(records = update.rows.len(), "EVSE status stored");
        patched.push(view_in(tx, update.view.as_ref()));
        last = Some(update);
    }
    Ok(patched)
}

/// Applies a status push's Location view patch inside its transaction. The view is derived
/// data: a patch that fails is logged and leaves the statuses stored (a failed statement
/// changes nothing; Locations patched before it keep their patch), as when the view was
/// patched in a transaction of its own.
fn view_in(tx: &Connection, view: Option<&ViewPatch>) -> Vec<ChangedLocation> {
    let Some(view) = view else {
        return Vec::new();
    };
    patch_in(tx, view).unwrap_or_else(|e| {
        tracing::error!(error = %e, "applying status to the OCPI view failed");
        Vec::new()
    })
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
        self.apply_evse_status_and_view(operator, operator_name, action, records, now, outbox, None)
            .await
            .map(drop)
    }

    /// [`Store::apply_evse_status`], and `view` (the own CPO's OCPI Location view patched
    /// with these statuses) in the same transaction; returns the Locations that changed.
    ///
    /// One transaction instead of two: the view never lags behind a stored status after a
    /// crash, and a status push costs one store job, not two (the second job was about a
    /// seventh of a fan-out push's CPU, issue 3). A failing patch is logged and does not fail
    /// the push (see `view_in`).
    #[expect(
        clippy::too_many_arguments,
        reason = "the push's parts, as apply_evse_status, plus the view patch"
    )]
    pub async fn apply_evse_status_and_view(
        &self,
        operator: &OperatorId,
        operator_name: Option<&str>,
        action: ActionType,
        records: &[EvseStatusRecord],
        now: DateTime<Utc>,
        outbox: &[OutboxEntry],
        view: Option<ViewPatch>,
    ) -> Result<Vec<ChangedLocation>, StoreError> {
        let action = Action::try_from(action)?;
        let rows = records
            .iter()
            .map(Row::new)
            .collect::<Result<Vec<_>, _>>()?;
        let operator = OperatorRow::new(operator, operator_name);
        let now = millis(now);
        if action == Action::Update {
            let (coalesced, queued): (Vec<OutboxEntry>, Vec<OutboxEntry>) = outbox
                .iter()
                .cloned()
                .partition(|e| e.operation == Operation::PushEvseStatus);
            return self
                .apply_update(Update {
                    operator,
                    rows,
                    coalesced,
                    queued,
                    now,
                    view,
                })
                .await;
        }
        let queued = outbox.to_vec();
        self.write(move |tx| {
            apply(tx, action, &operator, &rows, now)?;
            outbox::enqueue_in(tx, &queued, now)?;
            tracing::debug!(records = rows.len(), ?action, "EVSE status stored");
            Ok(view_in(tx, view.as_ref()))
        })
        .await
    }

    /// Writes a status `update` together with the updates sent while it waits for the store
    /// thread (see [`UpdateBatch`]).
    async fn apply_update(&self, update: Update) -> Result<Vec<ChangedLocation>, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        {
            let mut pending = lock(&self.updates);
            pending.items.push(Waiting {
                update,
                reply,
                span: tracing::Span::current(),
            });
            if !pending.queued {
                let batch = UpdateBatch {
                    pending: std::sync::Arc::clone(&self.updates),
                    taken: Vec::new(),
                    results: Vec::new(),
                    kept: false,
                };
                if let Err(e) = self.send(Job::Write(Box::new(batch))) {
                    // Nobody will write them: their callers (this one included) get an error.
                    pending.items.clear();
                    return Err(e);
                }
                pending.queued = true;
            }
        }
        answer.await.map_err(|_| super::panicked())?
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

    /// Every status row as stored, in key order.
    async fn dump(store: &Store) -> Vec<Vec<Option<String>>> {
        store
            .run(|c| {
                let mut stmt = c.prepare(
                    "SELECT evse_key, evse_id, operator_key, status, extra, CAST(updated_at AS TEXT)
                     FROM evse_status ORDER BY evse_key",
                )?;
                let rows = stmt
                    .query_map([], |r| (0..6).map(|i| r.get(i)).collect())?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_batch_of_rows_is_stored_as_row_by_row() {
        let with_extra = |id: &str, s: &str, x: i64| -> EvseStatusRecord {
            wire(&json!({"EvseID": id, "EvseStatus": s, "Note": x, "Quote": "a\"b"}))
        };
        let before = [
            status("DE*GEF*E1", "Available"),
            with_extra("DE*GEF*E2", "Occupied", 1),
            status("DE*GEF*E8", "Occupied"),
            status("DE*GEF*E5", "Available"),
        ];
        // Identical (E1, E8 after its two changes), changed extra (E2), new (E3, E4, E6), moved
        // from another operator (DE*ABC*E9; DE*ABC*E7 with its status unchanged), spelled
        // otherwise (DEGEFE5), the same EVSE twice (E4: the later wins).
        let batch = [
            status("DE*GEF*E1", "Available"),
            with_extra("DE*GEF*E2", "Occupied", 2),
            status("DE*GEF*E3", "Reserved"),
            status("DE*GEF*E4", "Reserved"),
            status("DE*GEF*E8", "Available"),
            status("DE*ABC*E9", "OutOfService"),
            status("DEGEFE5", "Unknown"),
            status("DE*GEF*E4", "Available"),
            status("DE*GEF*E6", "Occupied"),
            status("DE*GEF*E8", "Occupied"),
            status("DE*ABC*E7", "Available"),
        ];
        let (gef, abc) = (op("DE*GEF"), op("DE*ABC"));
        let mut stores = Vec::new();
        for one_by_one in [false, true] {
            let store = Store::open_in_memory().await.unwrap();
            store
                .apply_evse_status(&gef, None, ActionType::Update, &before, at(0), &[])
                .await
                .unwrap();
            let moved = [
                status("DE*ABC*E9", "Available"),
                status("DE*ABC*E7", "Available"),
            ];
            store
                .apply_evse_status(&abc, None, ActionType::Update, &moved, at(0), &[])
                .await
                .unwrap();
            if one_by_one {
                for record in &batch {
                    let one = std::slice::from_ref(record);
                    store
                        .apply_evse_status(&gef, None, ActionType::Update, one, at(10), &[])
                        .await
                        .unwrap();
                }
            } else {
                store
                    .apply_evse_status(&gef, None, ActionType::Update, &batch, at(10), &[])
                    .await
                    .unwrap();
            }
            stores.push(dump(&store).await);
        }
        assert_eq!(stores[0], stores[1]);
        let row = |key: &str| {
            stores[0]
                .iter()
                .find(|r| r[0].as_deref() == Some(key))
                .unwrap()
        };
        let first = millis(at(0)).to_string();
        assert_eq!(row("DEGEFE1")[5], Some(first), "identical: not rewritten");
        assert_eq!(row("DEGEFE5")[1].as_deref(), Some("DEGEFE5"));
        assert_eq!(row("DEGEFE4")[3].as_deref(), Some("Available"));
        assert!(
            row("DEGEFE2")[4]
                .as_deref()
                .is_some_and(|x| x.contains(":2"))
        );
        assert_eq!(stores[0].len(), 9);
        assert!(stores[0].iter().all(|r| r[2].as_deref() == Some("DEGEF")));
    }

    #[tokio::test]
    async fn updates_written_as_one_batch_fail_alone() {
        let store = Store::open_in_memory().await.unwrap();
        let gef = op("DE*GEF");
        // A trigger refuses one EVSE, so that one update of the batch fails inside SQLite.
        refuse_status_of(&store, "DEGEFEBAD").await;
        let update = |evse: &'static str| {
            let (store, gef) = (&store, &gef);
            async move {
                let records = [status(evse, "Occupied")];
                store
                    .apply_evse_status(gef, None, ActionType::Update, &records, at(0), &[])
                    .await
            }
        };
        let release = hold(&store);
        let (first, bad, last, ()) = tokio::join!(
            update("DE*GEF*E1"),
            update("DE*GEF*EBAD"),
            update("DE*GEF*E2"),
            released(release)
        );
        assert!(first.is_ok() && last.is_ok(), "{first:?} {last:?}");
        assert!(
            matches!(&bad, Err(StoreError::Sqlite(e)) if e.to_string().contains("refused by the test")),
            "{bad:?}"
        );
        let stored = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(
            flat(&stored),
            [
                triple("DE*GEF", "DE*GEF*E1", "Occupied"),
                triple("DE*GEF", "DE*GEF*E2", "Occupied")
            ]
        );
        // Alone, the failing update fails as well, and nothing of it is stored.
        assert!(update("DE*GEF*EBAD").await.is_err());
        assert!(update("DE*GEF*E3").await.is_ok());
        assert_eq!(store.evse_status_count().await.unwrap(), 3);
        // A batch that shares its transaction with another write is taken back to its own
        // savepoint: the other write stays, and so do the batch's good updates.
        let release = hold(&store);
        let (other, first, bad, last, ()) = tokio::join!(
            store.write(|c| {
                c.execute(
                    "INSERT INTO operator (operator_key, operator_id) VALUES ('DEOTH', 'DE*OTH')",
                    [],
                )?;
                Ok(())
            }),
            update("DE*GEF*E4"),
            update("DE*GEF*EBAD"),
            update("DE*GEF*E5"),
            released(release)
        );
        assert!(other.is_ok() && first.is_ok() && last.is_ok() && bad.is_err());
        assert_eq!(store.evse_status_count().await.unwrap(), 5);
        let operators: i64 = store
            .run(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM operator WHERE operator_key = 'DEOTH'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(operators, 1);
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
