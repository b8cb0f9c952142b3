//! The durable outbox (issue 5): every message the node must deliver after it acknowledged the
//! request that caused it.
//!
//! # Guarantee
//! An [`OutboxEntry`] is written **in the same transaction** as the store write it belongs to
//! (`apply_evse_status(.., outbox)`, `insert_cdr(.., outbox)`, …, or [`Store::enqueue`] for
//! messages without a store write, such as charging notifications), so a request the node
//! acknowledged has its messages on disk, and a request that failed left none. The delivery
//! worker (`node::delivery`) deletes a message only after the receiver answered positively:
//! delivery is **at least once**; receivers deduplicate CDRs by `SessionID` and statuses by
//! `EvseID`.
//!
//! # Targets
//! A message names its target by kind (peer, own backend, or the clearing house acting for an
//! own party), role and ID ([`TargetRef`]), never by URL or token: the registry (or the
//! clearing house configuration) resolves it when the message is sent, so a peer whose URL or
//! token changed gets its queue at the new address. A message for a target that is not
//! registered (a removed peer, a backend or clearing house no longer configured) waits, and
//! moves to the dead-letter list when it is older than `[delivery] dead_letter_after_s`. A
//! message may name a *fallback* target (the clearing house, for the route
//! `direct-then-clearing-house`): when its target does not answer, the message is handed over
//! to the fallback's queue ([`Store::outbox_hand_over`]), once per identical message, so a
//! push falling back for several peers reaches the clearing house once.
//!
//! # Order and coalescing
//! Every message takes a number from one sequence (`outbox_sequence`). Per target, messages go
//! out in sequence order. Status updates (`eRoamingPushEvseStatus` with `update`) are not
//! stored as messages, and not per target: a change is the EVSE's status row itself, numbered
//! (`evse_status.change_seq`, with the push's `Process-ID`) and shared by every target; a newer
//! status of the same EVSE rewrites the row and takes a new number, so 1,000 changes on 10
//! EVSEs leave 10 queued changes, whatever the number of peers. Each target has a cursor per
//! operator (`outbox_cursor`): the highest number it received, and `until_seq`, the last
//! number meant for it. [`Store::outbox_next`] batches the changes above the cursor into one
//! `update` per operator (up to [`MAX_STATUS_BATCH`] records), but only those numbered below
//! the target's next queued `eRoamingPushEvseStatus` message (a `fullLoad`, `insert` or
//! `delete`), which is never overtaken. A positive answer (or a hand-over, or a dead letter)
//! moves the cursor in the same transaction as the rest.
//!
//! A change carries the row's current status: a later write of the row without a fan-out (a
//! `fullLoad` or `insert` push, queued as a message of its own, or an `update` after the
//! fan-out emptied) changes what the pending change sends, never to something older. A
//! `delete` or `fullLoad` that removes the row removes its pending change with it; the target
//! still receives that push, which removes the EVSE.
//!
//! # Which targets get a change
//! The entries of a status `update` passed to `apply_evse_status` are the operator's fan-out,
//! decided by the node as for any push (peers along their routes, the hub copy, the fallback
//! of `direct-then-clearing-house`); their target, fallback and path are kept on the cursor.
//! A target new to the fan-out starts just below the changes of that push (it gets nothing
//! queued before); a target that left it (a removed peer, a route changed to the clearing
//! house) gets `until_seq` just below them: it still receives what was queued for it, and
//! nothing newer. A change it was still waiting for that is replaced by a newer status after it
//! left is no longer sent to it (the newer status was not meant for it). A target rejoining
//! before it received everything resumes at its cursor.
//!
//! # Nothing to collect
//! A delivered change stays on its status row with its number (the row is the stored status;
//! only the cursors say who still waits for it), so a delivery deletes nothing. Until schema
//! version 8 each change was a copy of the row in a table of its own (`outbox_change`),
//! written by the push and deleted after the last target received it: about a quarter of a
//! fan-out node's store thread (issue 3). When a cursor moves, the cursors of targets out of
//! the fan-out that received everything meant for them are dropped. A target that is no longer
//! registered (removed peer) never advances by delivery; like any message, its pending changes
//! become a dead letter once older than `[delivery] dead_letter_after_s` (the worker expires
//! them; the age of a change is that of its row's last write), which moves its cursor to the
//! end, and its cursor is dropped once the next status `update` of the operator takes it out of
//! the fan-out.
//!
//! # Dead letters
//! A message the receiver refused (`Result` false, or an HTTP status that is not worth
//! retrying), or that could not be delivered before it got too old, stays in `outbox` with
//! state `dead`, its attempts and last error. [`Store::outbox_retry`] makes it pending again
//! (attempts reset, a new sequence number: it goes out after what is already queued);
//! [`Store::outbox_drop`] deletes it. A refused batch of coalesced status updates becomes one
//! dead message holding the batch. In the admin listing, a pending change appears once per
//! target still waiting for it (ID: the change's number); dropping it drops the change for
//! every target (the status stays stored).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::{Store, StoreError, lock, millis, operator_by_key};
use crate::config::{PartnerId, Role};
use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::evse_status::PushEvseStatus;
use crate::oicp::v23::ids::{EvseId, OperatorId};
use crate::oicp::v23::operations::Operation;
use crate::oicp::v23::scalars::Text;
use crate::oicp::v23::wire::Extra;
use crate::peer::client::TargetKind;

/// Most status records in one batched `eRoamingPushEvseStatus` `update`.
pub const MAX_STATUS_BATCH: usize = 1000;

/// `head` on the status row of change `?1` while it is still queued for some target (the
/// admin API's retry and drop of a coalesced status update by its number). Through the
/// cursors, so that the partial index `evse_status_change` serves the look-up per operator.
macro_rules! pending_change {
    ($head:literal) => {
        concat!(
            $head,
            " WHERE operator_key IN (SELECT operator_key FROM outbox_cursor
                                    WHERE cursor_seq < ?1 AND ?1 <= until_seq)
               AND change_seq = ?1"
        )
    };
}

/// Whether change `?1` is still queued for some target.
const PENDING_CHANGE: &str = pending_change!("SELECT 1 FROM evse_status");

/// Drops change `?1` if it is still queued: the status stays stored, only its change leaves
/// the queue (for every target).
const DROP_CHANGE: &str =
    pending_change!("UPDATE evse_status SET change_seq = NULL, change_pid = NULL");

const PENDING: &str = "pending";
const DEAD: &str = "dead";

/// Where a queued message goes: a peer, an own party's backend, or the clearing house (acting
/// for an own party), by ID. Resolved when the message is sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetRef {
    /// Peer, own backend, or clearing house.
    pub kind: TargetKind,
    /// The partner's `OperatorID` or `ProviderID` (compared canonically); for the clearing
    /// house, the own party the message is sent for.
    pub id: PartnerId,
}

impl TargetRef {
    /// A registered peer.
    pub fn peer(id: PartnerId) -> Self {
        Self {
            kind: TargetKind::Peer,
            id,
        }
    }

    /// An own party's backend.
    pub fn backend(id: PartnerId) -> Self {
        Self {
            kind: TargetKind::Backend,
            id,
        }
    }

    /// The clearing house, for the own party `own`.
    pub fn hub(own: PartnerId) -> Self {
        Self {
            kind: TargetKind::Hub,
            id: own,
        }
    }

    /// The reference of a resolved target.
    pub fn of(target: &crate::peer::client::Target) -> Self {
        Self {
            kind: target.kind,
            id: target.id.clone(),
        }
    }

    /// `peer:DEGDF`, `backend:DEGEF`: the key of the delivery log.
    pub fn key(&self) -> String {
        let kind = self.kind.as_str();
        let mut key = String::with_capacity(kind.len() + 1 + self.id.as_str().len());
        key.push_str(kind);
        key.push(':');
        self.id.push_canonical(&mut key);
        key
    }

    /// `peer:DE-GDF`, for people.
    pub fn display(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

fn parse_kind(s: &str) -> Result<TargetKind, StoreError> {
    match s {
        "peer" => Ok(TargetKind::Peer),
        "backend" => Ok(TargetKind::Backend),
        "hub" => Ok(TargetKind::Hub),
        other => Err(StoreError::Corrupt(format!(
            "outbox_target.kind '{other}' is none of peer, backend, hub"
        ))),
    }
}

fn target_ref(kind: &str, role: &str, id: &str) -> Result<TargetRef, StoreError> {
    let kind = parse_kind(kind)?;
    let role = Role::parse(role)
        .ok_or_else(|| StoreError::Corrupt(format!("outbox_target.role '{role}'")))?;
    let id = PartnerId::parse(role, id)
        .map_err(|e| StoreError::Corrupt(format!("outbox_target.partner_id '{id}': {e}")))?;
    Ok(TargetRef { kind, id })
}

/// A message to queue: what to POST where, once the receiver is resolved.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// The receiver.
    pub target: TargetRef,
    /// The operation (for the record, and to coalesce status updates).
    pub operation: Operation,
    /// The path below the receiver's base URL (`/api/oicp`).
    pub path: String,
    /// The JSON body (shared by the entries of a fan-out).
    pub body: Arc<[u8]>,
    /// The `Process-ID` of the request that caused it.
    pub process_id: String,
    /// Where to send it instead when the target does not answer (route
    /// `direct-then-clearing-house`: the clearing house).
    pub fallback: Option<TargetRef>,
}

impl OutboxEntry {
    /// An entry for `target` at `operation`'s path for `path_id`, without fallback.
    pub fn new(
        target: TargetRef,
        operation: Operation,
        path: String,
        body: Arc<[u8]>,
        process_id: &str,
    ) -> Self {
        Self {
            target,
            operation,
            path,
            body,
            process_id: process_id.to_owned(),
            fallback: None,
        }
    }
}

/// Where a pending item came from, for its completion.
#[derive(Debug, Clone)]
enum Source {
    /// One row of `outbox`.
    Message { id: i64 },
    /// Queued changes (status rows) for a target's cursor: the operator's changes numbered in
    /// (`from`, `last`], `count` of them when read.
    Statuses {
        target: i64,
        operator_key: String,
        from: i64,
        last: i64,
        count: u64,
    },
}

/// The next thing to send to a target ([`Store::outbox_next`]): one queued message, or a batch
/// of coalesced status updates as one `eRoamingPushEvseStatus` `update`.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// The receiver.
    pub target: TargetRef,
    /// The operation.
    pub operation: Operation,
    /// The path below the receiver's base URL.
    pub path: String,
    /// The JSON body.
    pub body: Vec<u8>,
    /// The `Process-ID` to send (for a batch: that of its latest update).
    pub process_id: String,
    /// Failed attempts so far (for a batch: the most of its updates).
    pub attempts: u32,
    /// When it was queued (for a batch: its oldest update); the dead-letter age counts from
    /// here.
    pub queued_at: DateTime<Utc>,
    /// Where to send it instead when the target does not answer.
    pub fallback: Option<TargetRef>,
    source: Source,
}

impl OutboxItem {
    /// How many queued messages this item stands for: 1, or the number of EVSE statuses of a
    /// batch.
    pub fn messages(&self) -> u64 {
        match &self.source {
            Source::Message { .. } => 1,
            Source::Statuses { count, .. } => *count,
        }
    }

    /// The outbox ID of a single message (`None` for a batch of status updates).
    pub fn id(&self) -> Option<i64> {
        match &self.source {
            Source::Message { id } => Some(*id),
            Source::Statuses { .. } => None,
        }
    }
}

/// Which part of the outbox to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Waiting to be delivered (including coalesced status updates).
    Pending,
    /// The dead-letter list.
    Dead,
}

impl OutboxState {
    /// `pending` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => PENDING,
            Self::Dead => DEAD,
        }
    }

    /// Parses `pending` or `dead`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            PENDING => Some(Self::Pending),
            DEAD => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One message as the admin API and the CLI show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxMessage {
    /// Its ID (for retry and drop). A coalesced status update's ID is its current sequence
    /// number, which changes when a newer status of the EVSE replaces it.
    pub id: i64,
    /// `pending` or `dead`.
    pub state: &'static str,
    /// `peer:DE-GDF` or `backend:DE*GEF`.
    pub target: String,
    /// `cpo` or `emp`: the target's role.
    pub role: &'static str,
    /// The operation name.
    pub operation: String,
    /// The path below the target's base URL.
    pub path: String,
    /// For a coalesced status update: its `EvseID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<String>,
    /// Failed attempts.
    pub attempts: u32,
    /// The last failure: the receiver's code and description, or the transport failure.
    pub last_error: Option<String>,
    /// When the message was created (RFC 3339).
    pub created_at: String,
    /// When it was last queued (creation or retry); the dead-letter age counts from here.
    pub queued_at: String,
    /// When the next attempt is planned (pending messages that failed before).
    pub next_attempt_at: Option<String>,
    /// When it became a dead letter.
    pub dead_at: Option<String>,
    /// The request's `Process-ID`.
    pub process_id: String,
    /// The size of the body in bytes.
    pub bytes: usize,
}

/// The outcome of [`Store::outbox_retry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// The dead letter is pending again.
    Retried,
    /// No message with this ID.
    NotFound,
    /// The message is pending already.
    NotDead,
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

fn operation(name: &str) -> Result<Operation, StoreError> {
    Operation::from_name(name)
        .ok_or_else(|| StoreError::Corrupt(format!("outbox.operation '{name}'")))
}

fn attempts(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------------
// Writing, inside the transactions of the store's write methods

/// Takes `n` numbers from the outbox sequence; returns the first.
pub(super) fn take_seqs(tx: &Connection, n: usize) -> Result<i64, StoreError> {
    let n = i64::try_from(n).map_err(|_| StoreError::InvalidInput("too many messages".into()))?;
    // A read and a plain update cost a third of one `UPDATE .. RETURNING`; the write
    // transaction excludes every other writer in between.
    let last: i64 = tx
        .prepare_cached("SELECT last FROM outbox_sequence WHERE only = 1")?
        .query_row([], |r| r.get(0))?;
    tx.prepare_cached("UPDATE outbox_sequence SET last = ?1 WHERE only = 1")?
        .execute([last + n])?;
    Ok(last + 1)
}

/// The row ID of a target, created on first use.
fn target_row(
    tx: &Connection,
    target: &TargetRef,
    cache: &mut HashMap<TargetRef, i64>,
) -> Result<i64, StoreError> {
    if let Some(&id) = cache.get(target) {
        return Ok(id);
    }
    // Almost always there already, with this spelling: a read, not a write.
    let known: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, partner_id FROM outbox_target
             WHERE kind = ?1 AND role = ?2 AND target_key = ?3",
        )?
        .query_row(
            (
                target.kind.as_str(),
                target.id.role().as_str(),
                target.id.canonical(),
            ),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, spelling)) = known
        && spelling == target.id.as_str()
    {
        cache.insert(target.clone(), id);
        return Ok(id);
    }
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO outbox_target (kind, role, target_key, partner_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, role, target_key) DO UPDATE SET partner_id = excluded.partner_id
             RETURNING id",
        )?
        .query_row(
            (
                target.kind.as_str(),
                target.id.role().as_str(),
                target.id.canonical(),
                target.id.as_str(),
            ),
            |r| r.get(0),
        )?;
    cache.insert(target.clone(), id);
    Ok(id)
}

fn fallback_row(
    tx: &Connection,
    fallback: Option<&TargetRef>,
    cache: &mut HashMap<TargetRef, i64>,
) -> Result<Option<i64>, StoreError> {
    fallback.map(|f| target_row(tx, f, cache)).transpose()
}

/// A target by its row ID.
fn target_by_row(conn: &Connection, id: i64) -> Result<TargetRef, StoreError> {
    let (kind, role, partner): (String, String, String) = conn
        .prepare_cached("SELECT kind, role, partner_id FROM outbox_target WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    target_ref(&kind, &role, &partner)
}

/// The row ID of a target if it ever had messages.
fn existing_target_row(conn: &Connection, target: &TargetRef) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM outbox_target WHERE kind = ?1 AND role = ?2 AND target_key = ?3",
        )?
        .query_row(
            (
                target.kind.as_str(),
                target.id.role().as_str(),
                target.id.canonical(),
            ),
            |r| r.get(0),
        )
        .optional()?)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of the outbox table, written in two places"
)]
fn insert_message(
    tx: &Connection,
    seq: i64,
    target: i64,
    fallback: Option<i64>,
    operation: &str,
    path: &str,
    body: &[u8],
    process_id: &str,
    state: &str,
    attempts: u32,
    last_error: Option<&str>,
    created_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    let dead_at = (state == DEAD).then_some(now);
    tx.prepare_cached(
        "INSERT INTO outbox (id, seq, target, fallback, operation, path, body, process_id, state,
                             attempts, last_error, created_at, queued_at, next_attempt_at,
                             dead_at)
         VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13)",
    )?
    .execute(rusqlite::params![
        seq, target, fallback, operation, path, body, process_id, state, attempts, last_error,
        created_at, now, dead_at
    ])?;
    Ok(())
}

/// Queues `entries` as they are, in order.
pub(super) fn enqueue_in(
    tx: &Connection,
    entries: &[OutboxEntry],
    now: i64,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let first = take_seqs(tx, entries.len())?;
    let mut targets = HashMap::new();
    for (seq, entry) in (first..).zip(entries) {
        let target = target_row(tx, &entry.target, &mut targets)?;
        let fallback = fallback_row(tx, entry.fallback.as_ref(), &mut targets)?;
        insert_message(
            tx,
            seq,
            target,
            fallback,
            entry.operation.name(),
            &entry.path,
            &entry.body,
            &entry.process_id,
            PENDING,
            0,
            None,
            now,
            now,
        )?;
    }
    Ok(())
}

/// `until_seq` of a cursor whose target is in the operator's fan-out.
const OPEN: i64 = i64::MAX;

/// A cursor row as the enqueue compares it.
struct CursorRow {
    cursor: i64,
    until: i64,
    fallback: Option<i64>,
    path: String,
}

/// Targets as (row ID, kind, role, key, spelling).
type KnownTargets = Vec<(i64, [String; 4])>;

/// The operator's cursors by target row ID, and the targets with a cursor: the usual fan-out,
/// found without a lookup per target.
fn cursors_of(
    tx: &Connection,
    operator_key: &str,
) -> Result<(HashMap<i64, CursorRow>, KnownTargets), StoreError> {
    let mut existing: HashMap<i64, CursorRow> = HashMap::new();
    let mut known: KnownTargets = Vec::new();
    let mut stmt = tx.prepare_cached(
        "SELECT c.target, c.cursor_seq, c.until_seq, c.fallback, c.path,
                t.kind, t.role, t.target_key, t.partner_id
         FROM outbox_cursor c JOIN outbox_target t ON t.id = c.target
         WHERE c.operator_key = ?1",
    )?;
    let mut found = stmt.query([operator_key])?;
    while let Some(r) = found.next()? {
        let id: i64 = r.get(0)?;
        existing.insert(
            id,
            CursorRow {
                cursor: r.get(1)?,
                until: r.get(2)?,
                fallback: r.get(3)?,
                path: r.get(4)?,
            },
        );
        known.push((id, [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?]));
    }
    Ok((existing, known))
}

/// Sets the operator's cursors for the fan-out `entries` of a status `update` whose changes
/// will be numbered from `first` ([`take_seqs`]; the changes are then queued by
/// `evse_status::Queue`, on the status rows). Coalesced per (operator, EVSE) on the status rows,
/// an entry's body is not stored, only its target, fallback and path (on the target's cursor),
/// and the `Process-ID` (on the rows).
///
/// The targets of `entries` are the operator's fan-out: a target not yet in it gets a cursor
/// just below the new changes (it receives nothing queued before); a target no longer in it
/// gets `until_seq` just below them (it still receives what was queued for it before). A
/// target coming back before it received everything up to its `until_seq` resumes where it
/// was (it also receives the latest statuses queued while it was out: at least once). A
/// fan-out equal to the one set last for the operator (same targets, fallbacks and paths:
/// [`same_fan_out`]) needs no second call: only this function changes which cursors are
/// open, and with which fallback and path.
pub(super) fn fan_out_in(
    tx: &Connection,
    entries: &[OutboxEntry],
    operator_key: &str,
    first: i64,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut existing, known) = cursors_of(tx, operator_key)?;
    let mut targets = HashMap::new();
    for entry in entries {
        let t = &entry.target;
        let key = t.id.canonical();
        let same = |k: &[String; 4]| {
            k[0] == t.kind.as_str()
                && k[1] == t.id.role().as_str()
                && k[2] == key
                && k[3] == t.id.as_str()
        };
        if let Some((id, _)) = known.iter().find(|(_, k)| same(k)) {
            targets.insert(t.clone(), *id);
        }
    }
    let mut wanted: Vec<(i64, Option<i64>, &str)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let target = target_row(tx, &entry.target, &mut targets)?;
        let fallback = fallback_row(tx, entry.fallback.as_ref(), &mut targets)?;
        match wanted.iter_mut().find(|w| w.0 == target) {
            Some(w) => *w = (target, fallback, &entry.path),
            None => wanted.push((target, fallback, &entry.path)),
        }
    }
    let mut set = tx.prepare_cached(
        "INSERT INTO outbox_cursor (target, operator_key, cursor_seq, until_seq, fallback, path)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (target, operator_key) DO UPDATE SET
             cursor_seq = excluded.cursor_seq, until_seq = excluded.until_seq,
             fallback = excluded.fallback, path = excluded.path",
    )?;
    for &(target, fallback, path) in &wanted {
        let cursor = match existing.remove(&target) {
            Some(c) if c.until == OPEN => {
                if c.fallback == fallback && c.path == path {
                    continue;
                }
                c.cursor
            }
            // Out of the fan-out for a while: resume if it has not caught up yet.
            Some(c) if c.cursor < c.until => c.cursor,
            None | Some(_) => first - 1,
        };
        set.execute(rusqlite::params![
            target,
            operator_key,
            cursor,
            OPEN,
            fallback,
            path
        ])?;
    }
    let mut close = tx.prepare_cached(
        "UPDATE outbox_cursor SET until_seq = ?3 WHERE target = ?1 AND operator_key = ?2",
    )?;
    for (target, c) in existing {
        if c.until == OPEN {
            close.execute(rusqlite::params![target, operator_key, first - 1])?;
        }
    }
    Ok(())
}

/// A fan-out as [`fan_out_in`] sets it on the cursors: per entry its target, fallback and path.
pub(super) type FanOut = Vec<(TargetRef, Option<TargetRef>, String)>;

/// The [`FanOut`] of `entries`.
pub(super) fn fan_out_of(entries: &[OutboxEntry]) -> FanOut {
    entries
        .iter()
        .map(|e| (e.target.clone(), e.fallback.clone(), e.path.clone()))
        .collect()
}

/// Whether `entries` set the cursors as `fan_out` did: the same targets, fallbacks and paths,
/// in order.
pub(super) fn same_fan_out(fan_out: &FanOut, entries: &[OutboxEntry]) -> bool {
    fan_out.len() == entries.len()
        && fan_out
            .iter()
            .zip(entries)
            .all(|((t, f, p), e)| *t == e.target && *f == e.fallback && *p == e.path)
}

// ---------------------------------------------------------------------------------------------
// Reading and completing, for the delivery worker

/// The `eRoamingPushEvseStatus` `update` body of coalesced changes, written straight from the
/// stored text: the `EvseID`s and statuses were validated when pushed, and a record's unknown
/// members are stored as a JSON object, whose members are written as they are. (Parsing each
/// `EvseID` and serializing records again, once per target, was about a tenth of a fan-out
/// node's store thread.)
fn status_batch_body(
    conn: &Connection,
    operator_key: &str,
    rows: &[BatchRow],
) -> Result<Vec<u8>, StoreError> {
    let (operator_id, name) = if let Some(known) = operator_by_key(conn, operator_key)? {
        known
    } else {
        let id: OperatorId = rows.first().map_or_else(
            || super::stored(operator_key, "evse_status.operator_key"),
            |r| super::stored::<EvseId>(&r.evse_id, "evse_status.evse_id").map(|e| e.operator_id()),
        )?;
        (id, None)
    };
    let mut out = Vec::with_capacity(96 + rows.len() * 64);
    out.extend_from_slice(br#"{"ActionType":"update","OperatorEvseStatus":{"OperatorID":"#);
    serde_json::to_writer(&mut out, operator_id.as_str())?;
    if let Some(name) = name {
        out.extend_from_slice(br#","OperatorName":"#);
        serde_json::to_writer(&mut out, Text::<100>::truncated(&name).as_str())?;
    }
    out.extend_from_slice(br#","EvseStatusRecord":["#);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"EvseID":"#);
        serde_json::to_writer(&mut out, &row.evse_id)?;
        out.extend_from_slice(br#","EvseStatus":"#);
        serde_json::to_writer(&mut out, &row.status)?;
        if let Some(extra) = &row.extra {
            let members = extra
                .trim()
                .strip_prefix('{')
                .and_then(|m| m.strip_suffix('}'))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("evse_status.extra '{extra}' is no JSON object"))
                })?
                .trim();
            if !members.is_empty() {
                out.push(b',');
                out.extend_from_slice(members.as_bytes());
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}}");
    Ok(out)
}

/// One change read for a batch: a status row and its queued change.
struct BatchRow {
    seq: i64,
    /// `EvseID` as pushed.
    evse_id: String,
    status: String,
    /// Unknown members of the record (a JSON object), if any.
    extra: Option<String>,
    process_id: String,
    /// When the status was last written: when the change was queued, or later when a push
    /// without fan-out or a `fullLoad` rewrote it.
    created_at: i64,
}

/// A target's cursor for one operator, as a batch is read.
#[derive(Clone)]
struct Cursor {
    target: i64,
    operator_key: String,
    done: i64,
    until: i64,
    fallback: Option<i64>,
    path: String,
    attempts: i64,
}

fn cursor_of(conn: &Connection, target: i64, operator_key: &str) -> Result<Cursor, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT cursor_seq, until_seq, fallback, path, attempts FROM outbox_cursor
             WHERE target = ?1 AND operator_key = ?2",
        )?
        .query_row(rusqlite::params![target, operator_key], |r| {
            Ok(Cursor {
                target,
                operator_key: operator_key.to_owned(),
                done: r.get(0)?,
                until: r.get(1)?,
                fallback: r.get(2)?,
                path: r.get(3)?,
                attempts: r.get(4)?,
            })
        })?)
}

/// The query of [`batch_rows`], without its `LIMIT`.
const BATCH_ROWS: &str = "SELECT change_seq, evse_id, status, extra, change_pid, updated_at
     FROM evse_status
     WHERE operator_key = ?1 AND change_seq > ?2 AND change_seq <= ?3 AND change_seq < ?4
     ORDER BY change_seq";

/// The statement text of [`batch_rows`] for `limit`.
///
/// The limit is written into the text, not bound: `SQLite` lets the planner use the value of
/// a bound `LIMIT` and then marks the prepared statement expired whenever that parameter is
/// bound again, so a bound limit made every batch read parse and plan its query anew (about
/// 5 % of a fan-out node's CPU). Only two limits are used, so the statement cache holds at
/// most three texts.
fn batch_rows_sql(limit: Option<usize>) -> std::borrow::Cow<'static, str> {
    match limit {
        None => BATCH_ROWS.into(),
        Some(n) => format!("{BATCH_ROWS} LIMIT {n}").into(),
    }
}

/// The target's changes of the cursor's operator numbered below `below`, in order, at most
/// `limit` (`None`: all).
fn batch_rows(
    conn: &Connection,
    c: &Cursor,
    below: i64,
    limit: Option<usize>,
) -> Result<Vec<BatchRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&batch_rows_sql(limit))?;
    let mut rows = stmt.query(rusqlite::params![c.operator_key, c.done, c.until, below])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(BatchRow {
            seq: r.get(0)?,
            evse_id: r.get(1)?,
            status: r.get(2)?,
            extra: r.get(3)?,
            process_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            created_at: r.get(5)?,
        });
    }
    Ok(out)
}

/// A batch of changes (following `from`, the cursor when they were read) as one item, with
/// its `body` ([`status_batch_body`] of `rows`).
fn batch_item(
    conn: &Connection,
    target_ref: &TargetRef,
    c: &Cursor,
    from: i64,
    rows: &[BatchRow],
    body: Vec<u8>,
) -> Result<Option<OutboxItem>, StoreError> {
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    let last_seq = last.seq;
    let process_id = last.process_id.clone();
    let oldest = rows.iter().map(|r| r.created_at).min().unwrap_or(0);
    let fallback = c.fallback.map(|f| target_by_row(conn, f)).transpose()?;
    let count = rows.len() as u64;
    Ok(Some(OutboxItem {
        target: target_ref.clone(),
        operation: Operation::PushEvseStatus,
        path: c.path.clone(),
        body,
        process_id,
        attempts: attempts(c.attempts),
        queued_at: from_millis(oldest),
        fallback,
        source: Source::Statuses {
            target: c.target,
            operator_key: c.operator_key.clone(),
            from,
            last: last_seq,
            count,
        },
    }))
}

/// The operator of the target's lowest-numbered pending change, and that number.
fn first_change(conn: &Connection, target: i64) -> Result<Option<(String, i64)>, StoreError> {
    Ok(conn
        .prepare_cached(FIRST_CHANGE)?
        .query_row([target], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The query of [`first_change`].
const FIRST_CHANGE: &str = "SELECT operator_key, first FROM (
         SELECT c.operator_key,
                (SELECT ch.change_seq FROM evse_status ch
                 WHERE ch.operator_key = c.operator_key
                   AND ch.change_seq > c.cursor_seq AND ch.change_seq <= c.until_seq
                 ORDER BY ch.change_seq LIMIT 1) AS first
         FROM outbox_cursor c WHERE c.target = ?1)
     WHERE first IS NOT NULL ORDER BY first LIMIT 1";

/// How many of an operator's changes numbered in (`?2`, `?3`] are still queued.
const STILL_QUEUED: &str = "SELECT COUNT(*) FROM evse_status
     WHERE operator_key = ?1 AND change_seq > ?2 AND change_seq <= ?3";

/// How many batches [`BatchCache`] keeps.
const CACHED_BATCHES: usize = 8;

/// How long [`BatchCache`] offers a batch: targets that keep up ask within milliseconds of
/// each other; one that asks later (back from an outage) reads the latest statuses.
const CACHED_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// Batches of queued status changes read lately, by operator and the cursor they follow,
/// shared by the targets of a fan-out.
///
/// # Why
/// Every target of an operator's fan-out receives the same changes, and targets that keep up
/// stand at the same cursor: each read the same rows and wrote the same body, once per target
/// (with three EMP peers, about a sixth of a fan-out node's store thread, issue 3). A target
/// whose cursor is where a cached batch starts takes that batch instead.
///
/// # Why a cached batch is still right
/// A batch read at one moment holds every change numbered in (`from`, its last number] then.
/// Numbers only grow: a change committed later has a higher number than any committed before
/// (one writer; a rolled-back number is taken again, still above every committed one). So
/// later, the changes in that range are the batch's minus those replaced by a newer status
/// (which has a higher number and is sent later) or removed with their row (by a `delete` or
/// `fullLoad` push, queued after them). Sending the cached batch to another target sends at
/// worst an older status first and the newer one after it, or an update just before the push
/// that deletes the EVSE: the order and the end state are those of a fresh read, as with any
/// change replaced while in flight. A target takes the cached batch up to its own bound (its
/// `until_seq` and its next queued status message), which is a prefix of it. A change dropped
/// through the admin API empties the cache once the drop is committed, and a batch whose read
/// began before that (a read connection's snapshot may predate the drop) is not kept: the
/// dropped change is not sent after its drop.
///
/// A target takes a cached batch once, and only for [`CACHED_FOR`] after it was read. Asking
/// again at the same cursor means its delivery failed and is retried: it reads afresh, so a
/// target back after an outage receives the latest statuses, coalesced, not those of its
/// first attempt.
#[derive(Default)]
pub(super) struct BatchCache {
    /// Oldest first.
    batches: std::collections::VecDeque<CachedBatch>,
    /// How many times the cache was emptied.
    generation: u64,
}

/// A batch in [`BatchCache`].
struct CachedBatch {
    operator_key: String,
    /// The cursor it follows.
    from: i64,
    data: Arc<BatchData>,
    /// The targets (`outbox_target.id`) that read or took it.
    taken: Vec<i64>,
    read_at: std::time::Instant,
}

/// The rows of a cached batch and the body of all of them.
struct BatchData {
    rows: Vec<BatchRow>,
    body: Vec<u8>,
}

impl BatchCache {
    /// The batch of the operator following `from`, taken now, unless `target` took it before.
    fn take(&mut self, operator_key: &str, from: i64, target: i64) -> Option<Arc<BatchData>> {
        let batch = self
            .batches
            .iter_mut()
            .find(|b| b.from == from && b.operator_key == operator_key)
            .filter(|b| !b.taken.contains(&target) && b.read_at.elapsed() < CACHED_FOR)?;
        batch.taken.push(target);
        Some(Arc::clone(&batch.data))
    }

    /// Keeps `batch`, read by a read that began at `generation`, unless the cache was emptied
    /// since; it replaces the batch following the same cursor, if any.
    fn keep(&mut self, batch: CachedBatch, generation: u64) {
        if generation != self.generation {
            return;
        }
        self.batches
            .retain(|b| b.from != batch.from || b.operator_key != batch.operator_key);
        if self.batches.len() >= CACHED_BATCHES {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }

    fn clear(&mut self) {
        self.batches.clear();
        self.generation += 1;
    }
}

/// The batch of changes following the target's cursor `c`, numbered below `below`, from
/// `cache` when it holds a batch following the same cursor (see [`BatchCache`]), else read
/// (and kept there unless the cache was emptied since `generation`, read before this read
/// began).
fn status_batch(
    conn: &Connection,
    target_ref: &TargetRef,
    c: &Cursor,
    below: i64,
    (cache, generation): (&Mutex<BatchCache>, u64),
) -> Result<Option<OutboxItem>, StoreError> {
    let hit = lock(cache).take(&c.operator_key, c.done, c.target);
    if let Some(hit) = hit
        && let Some(item) = share_of(conn, target_ref, c, below, &hit)?
    {
        return Ok(Some(item));
    }
    // Read for any target at this cursor: without this target's bounds, which are applied
    // to the cached batch like to any.
    let unbounded = Cursor {
        until: i64::MAX,
        ..c.clone()
    };
    let rows = batch_rows(conn, &unbounded, i64::MAX, Some(MAX_STATUS_BATCH))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let body = status_batch_body(conn, &c.operator_key, &rows)?;
    let data = Arc::new(BatchData { rows, body });
    let item = share_of(conn, target_ref, c, below, &data)?;
    lock(cache).keep(
        CachedBatch {
            operator_key: c.operator_key.clone(),
            from: c.done,
            data,
            taken: vec![c.target],
            read_at: std::time::Instant::now(),
        },
        generation,
    );
    Ok(item)
}

/// The part of `batch` (changes following the cursor `c`) that the target takes: the prefix
/// numbered up to its `until_seq` and below `below`, with the batch's body when that is all of
/// it. `None` when nothing of it is the target's.
fn share_of(
    conn: &Connection,
    target_ref: &TargetRef,
    c: &Cursor,
    below: i64,
    batch: &BatchData,
) -> Result<Option<OutboxItem>, StoreError> {
    let rows = &batch.rows;
    let n = rows.partition_point(|r| r.seq <= c.until && r.seq < below);
    if n == 0 {
        return Ok(None);
    }
    let body = if n == rows.len() {
        batch.body.clone()
    } else {
        status_batch_body(conn, &c.operator_key, &rows[..n])?
    };
    batch_item(conn, target_ref, c, c.done, &rows[..n], body)
}

fn next_item(
    conn: &Connection,
    target_ref: &TargetRef,
    batches: (&Mutex<BatchCache>, u64),
) -> Result<Option<OutboxItem>, StoreError> {
    type Head = (
        i64,
        i64,
        String,
        String,
        Vec<u8>,
        String,
        i64,
        i64,
        Option<i64>,
    );
    let Some(target) = existing_target_row(conn, target_ref)? else {
        return Ok(None);
    };
    let head: Option<Head> = conn
        .prepare_cached(
            "SELECT id, seq, operation, path, body, process_id, attempts, queued_at, fallback
             FROM outbox WHERE target = ?1 AND state = 'pending' ORDER BY seq LIMIT 1",
        )?
        .query_row([target], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })
        .optional()?;
    let first_status = first_change(conn, target)?;
    let statuses_first = match (&head, &first_status) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(h), Some(s)) => s.1 < h.1,
    };
    if statuses_first && let Some((operator_key, _)) = first_status {
        // The next non-mergeable status push of this target is a barrier.
        let barrier: Option<i64> = conn
            .prepare_cached(
                "SELECT MIN(seq) FROM outbox
                 WHERE target = ?1 AND state = 'pending' AND operation = ?2",
            )?
            .query_row(
                rusqlite::params![target, Operation::PushEvseStatus.name()],
                |r| r.get(0),
            )?;
        let c = cursor_of(conn, target, &operator_key)?;
        return status_batch(conn, target_ref, &c, barrier.unwrap_or(i64::MAX), batches);
    }
    let Some((id, _seq, op, path, body, process_id, tries, queued_at, fallback)) = head else {
        return Ok(None);
    };
    let fallback = fallback.map(|f| target_by_row(conn, f)).transpose()?;
    Ok(Some(OutboxItem {
        target: target_ref.clone(),
        operation: operation(&op)?,
        path,
        body,
        process_id,
        attempts: attempts(tries),
        queued_at: from_millis(queued_at),
        fallback,
        source: Source::Message { id },
    }))
}

/// Moves the target's cursor for an operator to `last` (attempts reset), and drops the cursors
/// of targets out of the fan-out that received everything meant for them. Returns how many
/// changes in (`from`, `last`] are still queued (a change replaced in the meantime by a newer
/// status is not one of them: it has a higher number and stays pending). The changes stay on
/// their status rows: nothing is deleted.
fn advance_in(
    tx: &Connection,
    target: i64,
    operator_key: &str,
    from: i64,
    last: i64,
) -> Result<u64, StoreError> {
    let moved = tx
        .prepare_cached(
            "UPDATE outbox_cursor SET cursor_seq = ?3, attempts = 0, last_error = NULL
             WHERE target = ?1 AND operator_key = ?2 AND cursor_seq < ?3",
        )?
        .execute(rusqlite::params![target, operator_key, last])?;
    if moved == 0 {
        return Ok(0);
    }
    let still: i64 = tx
        .prepare_cached(STILL_QUEUED)?
        .query_row(rusqlite::params![operator_key, from, last], |r| r.get(0))?;
    tx.prepare_cached(
        "DELETE FROM outbox_cursor WHERE operator_key = ?1 AND cursor_seq >= until_seq",
    )?
    .execute([operator_key])?;
    Ok(super::count(still))
}

/// Removes an item from its target's queue; returns how many messages it still stood for (a
/// coalesced update replaced in the meantime is not one of them).
fn remove_in(tx: &Connection, source: &Source) -> Result<u64, StoreError> {
    match source {
        Source::Message { id } => Ok(tx
            .prepare_cached("DELETE FROM outbox WHERE id = ?1")?
            .execute([id])? as u64),
        Source::Statuses {
            target,
            operator_key,
            from,
            last,
            ..
        } => advance_in(tx, *target, operator_key, *from, *last),
    }
}

/// Moves an item to the dead-letter list (inside a transaction).
fn kill_in(tx: &Connection, item: &OutboxItem, error: &str, now: i64) -> Result<(), StoreError> {
    match &item.source {
        Source::Message { id } => {
            tx.prepare_cached(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2,
                     dead_at = ?3
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(rusqlite::params![id, error, now])?;
        }
        Source::Statuses { target, .. } => {
            if remove_in(tx, &item.source)? == 0 {
                return Ok(());
            }
            let seq = take_seqs(tx, 1)?;
            let fallback = match &item.fallback {
                Some(f) => existing_target_row(tx, f)?,
                None => None,
            };
            insert_message(
                tx,
                seq,
                *target,
                fallback,
                item.operation.name(),
                &item.path,
                &item.body,
                &item.process_id,
                DEAD,
                item.attempts.saturating_add(1),
                Some(error),
                millis(item.queued_at),
                now,
            )?;
        }
    }
    Ok(())
}

/// Moves the pending messages of a target queued before `cutoff` to the dead-letter list;
/// returns how many messages died.
fn expire_in(
    tx: &Connection,
    target_ref: &TargetRef,
    cutoff: i64,
    reason: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let Some(target) = existing_target_row(tx, target_ref)? else {
        return Ok(0);
    };
    // Numbers grow with time, so the expired messages are a prefix in sequence order.
    let mut expired = 0;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT id, queued_at, last_error FROM outbox
             WHERE target = ?1 AND state = 'pending' ORDER BY seq",
        )?;
        let mut rows = stmt.query([target])?;
        let mut ids = Vec::new();
        while let Some(r) = rows.next()? {
            let queued_at: i64 = r.get(1)?;
            if queued_at >= cutoff {
                break;
            }
            ids.push((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(2)?));
        }
        drop(rows);
        let mut kill = tx.prepare_cached(
            "UPDATE outbox SET state = 'dead', last_error = ?2, dead_at = ?3 WHERE id = ?1",
        )?;
        for (id, last) in ids {
            let error = match last {
                Some(last) => format!("{reason}; last error: {last}"),
                None => reason.to_owned(),
            };
            kill.execute(rusqlite::params![id, error, now])?;
            expired += 1;
        }
    }
    // Coalesced status updates: per operator, the expired prefix becomes dead batches.
    let operators: Vec<String> = {
        let mut stmt =
            tx.prepare_cached("SELECT operator_key FROM outbox_cursor WHERE target = ?1")?;
        stmt.query_map([target], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    for operator in operators {
        let c = cursor_of(tx, target, &operator)?;
        // Numbered in time order too: when the first change is not too old, none is.
        if batch_rows(tx, &c, i64::MAX, Some(1))?
            .first()
            .is_none_or(|r| r.created_at >= cutoff)
        {
            continue;
        }
        let mut rows = batch_rows(tx, &c, i64::MAX, None)?;
        let keep = rows
            .iter()
            .position(|r| r.created_at >= cutoff)
            .unwrap_or(rows.len());
        rows.truncate(keep);
        let mut from = c.done;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<BatchRow> = rows.by_ref().take(MAX_STATUS_BATCH).collect();
            let next_from = chunk.last().map_or(from, |r| r.seq);
            let body = status_batch_body(tx, &c.operator_key, &chunk)?;
            if let Some(item) = batch_item(tx, target_ref, &c, from, &chunk, body)? {
                expired += item.messages();
                kill_in(tx, &item, reason, now)?;
            }
            from = next_from;
        }
    }
    Ok(expired)
}

/// The `SessionID` of a queued CDR.
#[derive(serde::Deserialize)]
struct CdrSession {
    #[serde(rename = "SessionID")]
    session_id: crate::oicp::v23::ids::SessionId,
}

fn listed_target(kind: &str, role: &str, id: &str) -> (String, &'static str) {
    let role = Role::parse(role).map_or("?", Role::as_str);
    (format!("{kind}:{id}"), role)
}

impl Store {
    /// Queues messages that belong to no store write (charging notifications), in one
    /// transaction, in order.
    pub async fn enqueue(
        &self,
        entries: &[OutboxEntry],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = entries.to_vec();
        let now = millis(now);
        self.write(move |tx| enqueue_in(tx, &entries, now)).await
    }

    /// Queues a `fullLoad` `eRoamingPushEvseStatus` of every stored status of `operator` for
    /// each of `targets`, read and queued in one transaction (so no update can fall between
    /// the snapshot and its place in the queue). Returns the number of records; nothing is
    /// queued when the store has no status of the operator (an empty `fullLoad` would delete
    /// every status at the receiver).
    pub async fn enqueue_status_refresh(
        &self,
        operator: &OperatorId,
        targets: &[TargetRef],
        path: &str,
        process_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        if targets.is_empty() {
            return Ok(0);
        }
        let operator = operator.clone();
        let targets = targets.to_vec();
        let (path, process_id) = (path.to_owned(), process_id.to_owned());
        let now = millis(now);
        self.write(move |tx| {
            let list = super::evse_status::operator_statuses(tx, &operator)?;
            let Some(data) = list else {
                return Ok(0);
            };
            let records = data.evse_status_record.len();
            if records == 0 {
                return Ok(0);
            }
            let body = PushEvseStatus {
                action_type: ActionType::FullLoad,
                operator_evse_status: data,
                extra: Extra::new(),
            };
            let body: Arc<[u8]> = serde_json::to_vec(&body)?.into();
            let entries: Vec<OutboxEntry> = targets
                .into_iter()
                .map(|target| {
                    OutboxEntry::new(
                        target,
                        Operation::PushEvseStatus,
                        path.clone(),
                        Arc::clone(&body),
                        &process_id,
                    )
                })
                .collect();
            enqueue_in(tx, &entries, now)?;
            Ok(records)
        })
        .await
    }

    /// Every target with pending messages.
    pub async fn outbox_targets(&self) -> Result<Vec<TargetRef>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, role, partner_id FROM outbox_target t
                 WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.target = t.id AND o.state = 'pending')
                    OR EXISTS (SELECT 1 FROM outbox_cursor c JOIN evse_status ch
                                 ON ch.operator_key = c.operator_key
                                    AND ch.change_seq > c.cursor_seq
                                    AND ch.change_seq <= c.until_seq
                               WHERE c.target = t.id)
                 ORDER BY id",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let kind = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
                let role = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
                let id = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
                out.push(target_ref(kind, role, id)?);
            }
            Ok(out)
        })
        .await
    }

    /// The next item to send to `target`: the lowest-numbered pending message, or, when a
    /// coalesced status update is numbered lower, a batch of coalesced updates (see the
    /// [module documentation](self)). `None` when nothing is pending.
    ///
    /// It only reads: with a database file it runs on a read connection (one snapshot holding
    /// every write answered before the call, so the worker's last `outbox_delivered` and every
    /// acknowledged push), and the writer thread goes on with the pushes meanwhile.
    pub async fn outbox_next(&self, target: &TargetRef) -> Result<Option<OutboxItem>, StoreError> {
        let target = target.clone();
        let batches = Arc::clone(&self.batches);
        let generation = lock(&batches).generation;
        self.read(move |conn| next_item(conn, &target, (&batches, generation)))
            .await
    }

    /// The receiver accepted `item`: its rows are deleted (a coalesced update replaced by a
    /// newer status in the meantime stays queued), and a CDR is marked forwarded (the
    /// `CDRForwarded` filter of `eRoamingGetChargeDetailRecords`), in one transaction. Returns
    /// how many messages were removed.
    pub async fn outbox_delivered(&self, item: &OutboxItem) -> Result<u64, StoreError> {
        let source = item.source.clone();
        let cdr_session = (item.operation == Operation::ChargeDetailRecord)
            .then(|| serde_json::from_slice::<CdrSession>(&item.body).ok())
            .flatten()
            .map(|c| super::session_key(&c.session_id));
        self.write(move |tx| {
            let removed = remove_in(tx, &source)?;
            if let Some(key) = cdr_session {
                tx.prepare_cached("UPDATE cdr SET forwarded = 1 WHERE session_key = ?1")?
                    .execute([key])?;
            }
            Ok(removed)
        })
        .await
    }

    /// The target of `item` did not answer: the item leaves its queue and joins the queue of
    /// `fallback`, in one transaction, unless an identical message (operation, path,
    /// `Process-ID` and body) was handed over to `fallback` within `remember` (a push falling
    /// back for several peers goes to the clearing house once). Returns whether it was queued.
    pub async fn outbox_hand_over(
        &self,
        item: &OutboxItem,
        fallback: &TargetRef,
        remember: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = item.clone();
        let fallback = fallback.clone();
        let now = millis(now);
        let forget = now.saturating_sub(i64::try_from(remember.as_millis()).unwrap_or(i64::MAX));
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            item.body.hash(&mut h);
            i64::from_ne_bytes(h.finish().to_ne_bytes())
        };
        self.write(move |tx| {
            remove_in(tx, &item.source)?;
            tx.prepare_cached("DELETE FROM outbox_handover WHERE at < ?1")?
                .execute([forget])?;
            let mut targets = HashMap::new();
            let target = target_row(tx, &fallback, &mut targets)?;
            let new = tx
                .prepare_cached(
                    "INSERT INTO outbox_handover (target, operation, path, process_id, body_hash, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                )?
                .execute(rusqlite::params![
                    target,
                    item.operation.name(),
                    item.path,
                    item.process_id,
                    hash,
                    now
                ])?
                > 0;
            if new {
                let seq = take_seqs(tx, 1)?;
                insert_message(
                    tx,
                    seq,
                    target,
                    None,
                    item.operation.name(),
                    &item.path,
                    &item.body,
                    &item.process_id,
                    PENDING,
                    0,
                    None,
                    millis(item.queued_at),
                    now,
                )?;
            }
            Ok(new)
        })
        .await
    }

    /// An attempt failed and will be retried at `next_attempt`: attempts and last error are
    /// recorded.
    pub async fn outbox_attempt_failed(
        &self,
        item: &OutboxItem,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let source = item.source.clone();
        let error = error.to_owned();
        let next = millis(next_attempt);
        self.write(move |tx| {
            match source {
                Source::Message { id } => {
                    tx.prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                             next_attempt_at = ?3
                         WHERE id = ?1 AND state = 'pending'",
                    )?
                    .execute(rusqlite::params![id, error, next])?;
                }
                Source::Statuses {
                    target,
                    operator_key,
                    ..
                } => {
                    tx.prepare_cached(
                        "UPDATE outbox_cursor SET attempts = attempts + 1, last_error = ?3
                         WHERE target = ?1 AND operator_key = ?2",
                    )?
                    .execute(rusqlite::params![
                        target,
                        operator_key,
                        error
                    ])?;
                }
            }
            Ok(())
        })
        .await
    }

    /// The receiver refused `item` (or it is too old): it moves to the dead-letter list with
    /// `error`. A batch of coalesced updates becomes one dead message holding the batch.
    pub async fn outbox_kill(
        &self,
        item: &OutboxItem,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = item.clone();
        let error = error.to_owned();
        let now = millis(now);
        self.write(move |tx| kill_in(tx, &item, &error, now)).await
    }

    /// Moves the messages for `target` queued before `cutoff` to the dead-letter list, each
    /// with `reason` and its last error; returns how many messages died (each coalesced status
    /// counts as one).
    pub async fn outbox_expire(
        &self,
        target: &TargetRef,
        cutoff: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let target = target.clone();
        let reason = reason.to_owned();
        let (cutoff, now) = (millis(cutoff), millis(now));
        // Cheap check first: the oldest pending message of the target.
        let oldest = {
            let target = target.clone();
            self.run(move |conn| {
                let Some(t) = existing_target_row(conn, &target)? else {
                    return Ok(None);
                };
                let a: Option<i64> = conn
                    .prepare_cached(
                        "SELECT queued_at FROM outbox WHERE target = ?1 AND state = 'pending'
                         ORDER BY seq LIMIT 1",
                    )?
                    .query_row([t], |r| r.get(0))
                    .optional()?;
                let b: Option<i64> = match first_change(conn, t)? {
                    Some((operator, seq)) => conn
                        .prepare_cached(
                            "SELECT updated_at FROM evse_status
                             WHERE operator_key = ?1 AND change_seq = ?2",
                        )?
                        .query_row(rusqlite::params![operator, seq], |r| r.get(0))
                        .optional()?,
                    None => None,
                };
                Ok(a.into_iter().chain(b).min())
            })
            .await?
        };
        if oldest.is_none_or(|t| t >= cutoff) {
            return Ok(0);
        }
        self.write(move |tx| expire_in(tx, &target, cutoff, &reason, now))
            .await
    }

    /// Pending and dead messages of a target: `(pending, dead)`, each coalesced status update
    /// counting as one.
    pub async fn outbox_counts(&self, target: &TargetRef) -> Result<(u64, u64), StoreError> {
        let target = target.clone();
        self.run(move |conn| {
            let Some(t) = existing_target_row(conn, &target)? else {
                return Ok((0, 0));
            };
            let count = |sql: &str| -> Result<u64, StoreError> {
                let n: i64 = conn.prepare_cached(sql)?.query_row([t], |r| r.get(0))?;
                Ok(super::count(n))
            };
            let pending =
                count("SELECT COUNT(*) FROM outbox WHERE target = ?1 AND state = 'pending'")?
                    + count(
                        "SELECT COUNT(*) FROM outbox_cursor c JOIN evse_status ch
                             ON ch.operator_key = c.operator_key
                                AND ch.change_seq > c.cursor_seq
                                AND ch.change_seq <= c.until_seq
                         WHERE c.target = ?1",
                    )?;
            let dead = count("SELECT COUNT(*) FROM outbox WHERE target = ?1 AND state = 'dead'")?;
            Ok((pending, dead))
        })
        .await
    }

    /// The messages in `state`, by ID, at most `limit`. Pending includes the coalesced status
    /// updates (operation `PushEvseStatus`, with their `evse_id`).
    pub async fn outbox_list(
        &self,
        state: OutboxState,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            let mut out = Vec::new();
            let mut stmt = conn.prepare_cached(
                "SELECT o.id, o.state, t.kind, t.role, t.partner_id, o.operation, o.path,
                        o.attempts, o.last_error, o.created_at, o.queued_at, o.next_attempt_at,
                        o.dead_at, o.process_id, length(o.body)
                 FROM outbox o JOIN outbox_target t ON t.id = o.target
                 WHERE o.state = ?1 ORDER BY o.id LIMIT ?2",
            )?;
            let mut rows = stmt.query(rusqlite::params![state.as_str(), limit])?;
            while let Some(r) = rows.next()? {
                let kind: String = r.get(2)?;
                let role: String = r.get(3)?;
                let id: String = r.get(4)?;
                let (target, role) = listed_target(&kind, &role, &id);
                let attempts_made: i64 = r.get(7)?;
                let queued_at: i64 = r.get(10)?;
                let next: i64 = r.get(11)?;
                let dead_at: Option<i64> = r.get(12)?;
                let is_dead = r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)? == DEAD;
                out.push(OutboxMessage {
                    id: r.get(0)?,
                    state: if is_dead { DEAD } else { PENDING },
                    target,
                    role,
                    operation: r.get(5)?,
                    path: r.get(6)?,
                    evse_id: None,
                    attempts: attempts(attempts_made),
                    last_error: r.get(8)?,
                    created_at: rfc3339(r.get(9)?),
                    queued_at: rfc3339(queued_at),
                    next_attempt_at: (!is_dead && attempts_made > 0).then(|| rfc3339(next)),
                    dead_at: dead_at.map(rfc3339),
                    process_id: r.get(13)?,
                    bytes: usize::try_from(r.get::<_, i64>(14)?).unwrap_or(0),
                });
            }
            drop(rows);
            if state == OutboxState::Pending {
                let mut stmt = conn.prepare_cached(
                    "SELECT ch.change_seq, t.kind, t.role, t.partner_id, c.path, ch.evse_id,
                            c.attempts, c.last_error, ch.updated_at, ch.change_pid
                     FROM outbox_cursor c
                     JOIN evse_status ch ON ch.operator_key = c.operator_key
                          AND ch.change_seq > c.cursor_seq AND ch.change_seq <= c.until_seq
                     JOIN outbox_target t ON t.id = c.target
                     ORDER BY ch.change_seq, t.id LIMIT ?1",
                )?;
                let mut rows = stmt.query([limit])?;
                while let Some(r) = rows.next()? {
                    let kind: String = r.get(1)?;
                    let role: String = r.get(2)?;
                    let id: String = r.get(3)?;
                    let (target, role) = listed_target(&kind, &role, &id);
                    let created: i64 = r.get(8)?;
                    out.push(OutboxMessage {
                        id: r.get(0)?,
                        state: PENDING,
                        target,
                        role,
                        operation: Operation::PushEvseStatus.name().to_owned(),
                        path: r.get(4)?,
                        evse_id: Some(r.get(5)?),
                        attempts: attempts(r.get(6)?),
                        last_error: r.get(7)?,
                        created_at: rfc3339(created),
                        queued_at: rfc3339(created),
                        next_attempt_at: None,
                        dead_at: None,
                        process_id: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
                        bytes: 0,
                    });
                }
                out.sort_by_key(|m| (m.id, m.evse_id.is_some()));
                out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            Ok(out)
        })
        .await
    }

    /// Makes the dead letter `id` pending again: attempts reset, queued now, with a new
    /// sequence number (it goes out after what is already queued for its target).
    pub async fn outbox_retry(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<RetryOutcome, StoreError> {
        let now = millis(now);
        self.write(move |tx| {
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM outbox WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match state.as_deref() {
                None => {
                    let coalesced = tx.prepare_cached(PENDING_CHANGE)?.exists([id])?;
                    Ok(if coalesced {
                        RetryOutcome::NotDead
                    } else {
                        RetryOutcome::NotFound
                    })
                }
                Some(DEAD) => {
                    let seq = take_seqs(tx, 1)?;
                    tx.prepare_cached(
                        "UPDATE outbox SET state = 'pending', seq = ?2, attempts = 0,
                             last_error = NULL, queued_at = ?3, next_attempt_at = ?3,
                             dead_at = NULL
                         WHERE id = ?1",
                    )?
                    .execute(rusqlite::params![id, seq, now])?;
                    Ok(RetryOutcome::Retried)
                }
                Some(_) => Ok(RetryOutcome::NotDead),
            }
        })
        .await
    }

    /// Deletes the message `id`, pending or dead (a pending coalesced status update by its
    /// current ID: the change is shared, so it is dropped for every target still waiting for
    /// it); `false` if there is none.
    pub async fn outbox_drop(&self, id: i64) -> Result<bool, StoreError> {
        let dropped = self
            .write(move |tx| {
                let mut n = tx
                    .prepare_cached("DELETE FROM outbox WHERE id = ?1")?
                    .execute([id])?;
                if n == 0 {
                    n = tx.prepare_cached(DROP_CHANGE)?.execute([id])?;
                }
                Ok(n > 0)
            })
            .await?;
        if dropped {
            lock(&self.batches).clear();
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::oicp::v23::evse_status::{EvseStatusRecord, OperatorEvseStatus};

    use super::super::test_support::*;
    use super::*;

    fn gdf() -> TargetRef {
        TargetRef::peer(PartnerId::parse(Role::Emp, "DE-GDF").unwrap())
    }

    fn other() -> TargetRef {
        TargetRef::peer(PartnerId::parse(Role::Emp, "DE-XYZ").unwrap())
    }

    fn entry(target: &TargetRef, op: Operation, body: &Value, pid: &str) -> OutboxEntry {
        OutboxEntry::new(
            target.clone(),
            op,
            "/some/path".to_owned(),
            serde_json::to_vec(body).unwrap().into(),
            pid,
        )
    }

    fn status_entry(target: &TargetRef, pid: &str) -> OutboxEntry {
        OutboxEntry {
            path: "/evsepush/v21/operators/DE*GEF/status-records".to_owned(),
            ..entry(target, Operation::PushEvseStatus, &json!({}), pid)
        }
    }

    /// Three EMP peers (the third one new) and a status entry for each.
    fn three_peers() -> ([TargetRef; 3], [OutboxEntry; 3]) {
        let peers = [
            gdf(),
            other(),
            TargetRef::peer(PartnerId::parse(Role::Emp, "DE-NEW").unwrap()),
        ];
        let entries = peers.clone().map(|t| status_entry(&t, "p"));
        (peers, entries)
    }

    fn record_of(id: &str, status: &str) -> EvseStatusRecord {
        wire(&json!({"EvseID": id, "EvseStatus": status}))
    }

    async fn push_status(
        store: &Store,
        action: ActionType,
        records: &[(&str, &str)],
        outbox: &[OutboxEntry],
        secs: i64,
    ) {
        let records: Vec<EvseStatusRecord> = records.iter().map(|(e, s)| record_of(e, s)).collect();
        store
            .apply_evse_status(
                &op("DE*GEF"),
                Some("GEF"),
                action,
                &records,
                at(secs),
                outbox,
            )
            .await
            .unwrap();
    }

    fn body_of(item: &OutboxItem) -> Value {
        body(item)
    }

    fn body(item: &OutboxItem) -> Value {
        serde_json::from_slice(&item.body).unwrap()
    }

    fn statuses(item: &OutboxItem) -> Vec<(String, String)> {
        body(item)["OperatorEvseStatus"]["EvseStatusRecord"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["EvseID"].as_str().unwrap().to_owned(),
                    r["EvseStatus"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// How many status rows some target still waits for (queued changes not yet delivered to
    /// every target meant to get them).
    async fn pending_changes(store: &Store) -> i64 {
        store
            .run(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM evse_status ch WHERE EXISTS (
                         SELECT 1 FROM outbox_cursor c WHERE c.operator_key = ch.operator_key
                           AND ch.change_seq > c.cursor_seq AND ch.change_seq <= c.until_seq)",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap()
    }

    async fn table_count(store: &Store, table: &'static str) -> i64 {
        store
            .run(move |c| {
                Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn reading_batches_does_not_prepare_the_batch_query_again() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        for n in 0..5_usize {
            let evse = format!("DE*GEF*E{n}*1");
            push_status(
                &store,
                ActionType::Update,
                &[(&evse, "Available")],
                &[status_entry(&target, &format!("p{n}"))],
                0,
            )
            .await;
            let item = store.outbox_next(&target).await.unwrap().unwrap();
            assert_eq!(item.messages(), 1);
            store.outbox_delivered(&item).await.unwrap();
        }
        let reprepared = store
            .run(|c| {
                let stmt = c.prepare_cached(&batch_rows_sql(Some(MAX_STATUS_BATCH)))?;
                Ok((
                    stmt.get_status(rusqlite::StatementStatus::RePrepare),
                    stmt.get_status(rusqlite::StatementStatus::VmStep),
                ))
            })
            .await
            .unwrap();
        // Five batches were read with the cached statement, none parsed again.
        assert!(reprepared.1 > 0, "{reprepared:?}");
        assert_eq!(reprepared.0, 0, "{reprepared:?}");
    }

    #[tokio::test]
    async fn queued_changes_are_found_through_their_index_not_by_scanning_the_statuses() {
        let store = Store::open_in_memory().await.unwrap();
        // Statuses of a peer operator (never queued) beside an own operator's queued ones.
        let peer_records: Vec<EvseStatusRecord> = (0..200)
            .map(|i| record_of(&format!("DE*XYZ*E{i}"), "Available"))
            .collect();
        store
            .apply_evse_status(
                &op("DE*XYZ"),
                None,
                ActionType::Update,
                &peer_records,
                at(0),
                &[],
            )
            .await
            .unwrap();
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied")],
            &[status_entry(&gdf(), "p")],
            0,
        )
        .await;
        let plans = store
            .run(|c| {
                let mut plans = Vec::new();
                for sql in [
                    batch_rows_sql(Some(MAX_STATUS_BATCH)).into_owned(),
                    FIRST_CHANGE.to_owned(),
                    STILL_QUEUED.to_owned(),
                    PENDING_CHANGE.to_owned(),
                    DROP_CHANGE.to_owned(),
                ] {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let n = stmt.parameter_count();
                    let steps = stmt
                        .query_map(rusqlite::params_from_iter(vec![1_i64; n]), |r| {
                            r.get::<_, String>(3)
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    plans.push((sql, steps.join("; ")));
                }
                Ok(plans)
            })
            .await
            .unwrap();
        for (sql, plan) in plans {
            assert!(
                plan.contains("INDEX evse_status_change") && !plan.contains("SCAN evse_status"),
                "{sql}\n=> {plan}"
            );
        }
    }

    #[tokio::test]
    async fn thousand_changes_on_ten_evses_leave_ten_records_sent_in_one_batch() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        for n in 0..1000_usize {
            let state = if n % 2 == 0 { "Available" } else { "Occupied" };
            let evse = format!("DE*GEF*E{}*1", n % 10);
            push_status(
                &store,
                ActionType::Update,
                &[(&evse, state)],
                &[status_entry(&target, &format!("p{n}"))],
                0,
            )
            .await;
        }
        assert_eq!(pending_changes(&store).await, 10);
        assert_eq!(table_count(&store, "outbox").await, 0);
        assert_eq!(store.outbox_counts(&target).await.unwrap(), (10, 0));

        let item = store.outbox_next(&target).await.unwrap().unwrap();
        assert_eq!(item.messages(), 10);
        assert_eq!(item.operation, Operation::PushEvseStatus);
        assert_eq!(item.process_id, "p999");
        let b = body(&item);
        assert_eq!(b["ActionType"], "update");
        assert_eq!(b["OperatorEvseStatus"]["OperatorID"], "DE*GEF");
        assert_eq!(b["OperatorEvseStatus"]["OperatorName"], "GEF");
        let got = statuses(&item);
        assert_eq!(got.len(), 10);
        // Changes 990..999 are the last of each EVSE: even n is Available, odd Occupied.
        for (evse, state) in got {
            let n: usize = evse[8..9].parse().unwrap();
            let expected = if n.is_multiple_of(2) {
                "Available"
            } else {
                "Occupied"
            };
            assert_eq!(state, expected, "{evse}");
        }
        assert_eq!(store.outbox_delivered(&item).await.unwrap(), 10);
        assert!(store.outbox_next(&target).await.unwrap().is_none());
        assert!(store.outbox_targets().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_status_replaced_while_in_flight_stays_queued() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        let outbox = [status_entry(&target, "p1")];
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Occupied")],
            &outbox,
            0,
        )
        .await;
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Available")],
            &outbox,
            1,
        )
        .await;
        assert_eq!(store.outbox_delivered(&item).await.unwrap(), 1);
        let next = store.outbox_next(&target).await.unwrap().unwrap();
        assert_eq!(
            statuses(&next),
            [("DE*GEF*E1".to_owned(), "Available".to_owned())]
        );
    }

    #[tokio::test]
    async fn updates_are_not_batched_across_a_queued_full_load() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        let outbox = [status_entry(&target, "p")];
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied")],
            &outbox,
            0,
        )
        .await;
        let full_load = json!({"ActionType": "fullLoad", "OperatorEvseStatus": {
            "OperatorID": "DE*GEF", "EvseStatusRecord": [
                {"EvseID": "DE*GEF*E1", "EvseStatus": "Available"},
                {"EvseID": "DE*GEF*E2", "EvseStatus": "Available"}]}});
        push_status(
            &store,
            ActionType::FullLoad,
            &[("DE*GEF*E1", "Available"), ("DE*GEF*E2", "Available")],
            &[entry(&target, Operation::PushEvseStatus, &full_load, "f")],
            1,
        )
        .await;
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E2", "Reserved")],
            &outbox,
            2,
        )
        .await;
        // A CDR for the same target does not hold status updates back.
        store
            .enqueue(
                &[entry(
                    &target,
                    Operation::ChargeDetailRecord,
                    &json!({"cdr": 1}),
                    "c",
                )],
                at(3),
            )
            .await
            .unwrap();
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E3", "Occupied")],
            &outbox,
            4,
        )
        .await;

        let mut sent = Vec::new();
        while let Some(item) = store.outbox_next(&target).await.unwrap() {
            let b = body(&item);
            let what = match item.operation {
                Operation::PushEvseStatus => format!(
                    "{} {:?}",
                    b["ActionType"].as_str().unwrap(),
                    statuses(&item)
                ),
                other => other.name().to_owned(),
            };
            sent.push(what);
            store.outbox_delivered(&item).await.unwrap();
        }
        // E1's queued change carries its row's current status, which the fullLoad rewrote:
        // the update before the fullLoad is not overtaken, and sends nothing older than it.
        assert_eq!(
            sent,
            [
                r#"update [("DE*GEF*E1", "Available")]"#,
                r#"fullLoad [("DE*GEF*E1", "Available"), ("DE*GEF*E2", "Available")]"#,
                r#"update [("DE*GEF*E2", "Reserved"), ("DE*GEF*E3", "Occupied")]"#,
                "ChargeDetailRecord",
            ]
        );
    }

    #[tokio::test]
    async fn batches_are_per_operator_and_at_most_a_thousand() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        let records: Vec<EvseStatusRecord> = (0..1500)
            .map(|i| record_of(&format!("DE*GEF*E{i}"), "Available"))
            .collect();
        let outbox = [status_entry(&target, "p")];
        store
            .apply_evse_status(
                &op("DE*GEF"),
                None,
                ActionType::Update,
                &records,
                at(0),
                &outbox,
            )
            .await
            .unwrap();
        let abc = [record_of("DE*ABC*E1", "Occupied")];
        store
            .apply_evse_status(
                &op("DE*ABC"),
                None,
                ActionType::Update,
                &abc,
                at(0),
                &outbox,
            )
            .await
            .unwrap();
        let mut sizes = Vec::new();
        while let Some(item) = store.outbox_next(&target).await.unwrap() {
            sizes.push((
                body(&item)["OperatorEvseStatus"]["OperatorID"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                item.messages(),
            ));
            store.outbox_delivered(&item).await.unwrap();
        }
        assert_eq!(
            sizes,
            [
                ("DE*GEF".to_owned(), 1000),
                ("DE*GEF".to_owned(), 500),
                ("DE*ABC".to_owned(), 1)
            ]
        );
    }

    #[tokio::test]
    async fn messages_keep_their_order_per_target_and_targets_are_separate() {
        let store = Store::open_in_memory().await.unwrap();
        let (a, b) = (gdf(), other());
        for n in 0..3 {
            store
                .enqueue(
                    &[
                        entry(&a, Operation::ChargeDetailRecord, &json!({"n": n}), "a"),
                        entry(
                            &b,
                            Operation::ChargingNotificationStart,
                            &json!({"n": n}),
                            "b",
                        ),
                    ],
                    at(n),
                )
                .await
                .unwrap();
        }
        assert_eq!(
            store.outbox_targets().await.unwrap(),
            [a.clone(), b.clone()]
        );
        for target in [&a, &b] {
            for n in 0..3 {
                let item = store.outbox_next(target).await.unwrap().unwrap();
                assert_eq!(body(&item)["n"], n);
                assert_eq!(item.messages(), 1);
                // Not yet delivered: the same item again.
                let again = store.outbox_next(target).await.unwrap().unwrap();
                assert_eq!(again.id(), item.id());
                store.outbox_delivered(&item).await.unwrap();
            }
            assert!(store.outbox_next(target).await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn a_refused_message_is_a_dead_letter_until_retried() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        store
            .enqueue(
                &[entry(
                    &target,
                    Operation::ChargeDetailRecord,
                    &json!({"n": 1}),
                    "p",
                )],
                at(0),
            )
            .await
            .unwrap();
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        store
            .outbox_attempt_failed(&item, "peer is not reachable", at(5))
            .await
            .unwrap();
        let pending = store.outbox_list(OutboxState::Pending, 100).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].attempts, 1);
        assert_eq!(
            pending[0].last_error.as_deref(),
            Some("peer is not reachable")
        );
        assert_eq!(
            pending[0].next_attempt_at.as_deref(),
            Some("2024-05-01T10:00:05.000Z")
        );
        assert_eq!(pending[0].target, "peer:DE-GDF");
        assert_eq!(pending[0].role, "emp");

        store
            .outbox_kill(&item, "017 not allowed", at(6))
            .await
            .unwrap();
        assert!(store.outbox_next(&target).await.unwrap().is_none());
        assert_eq!(store.outbox_counts(&target).await.unwrap(), (0, 1));
        let dead = store.outbox_list(OutboxState::Dead, 100).await.unwrap();
        assert_eq!(dead.len(), 1);
        let id = dead[0].id;
        assert_eq!((dead[0].attempts, dead[0].state), (2, "dead"));
        assert_eq!(dead[0].last_error.as_deref(), Some("017 not allowed"));
        assert_eq!(dead[0].dead_at.as_deref(), Some("2024-05-01T10:00:06.000Z"));
        assert_eq!(dead[0].operation, "ChargeDetailRecord");

        assert_eq!(
            store.outbox_retry(id + 1000, at(7)).await.unwrap(),
            RetryOutcome::NotFound
        );
        assert_eq!(
            store.outbox_retry(id, at(7)).await.unwrap(),
            RetryOutcome::Retried
        );
        assert_eq!(
            store.outbox_retry(id, at(7)).await.unwrap(),
            RetryOutcome::NotDead
        );
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        assert_eq!((item.id(), item.attempts), (Some(id), 0));
        assert_eq!(item.queued_at, at(7));
        assert!(store.outbox_drop(id).await.unwrap());
        assert!(!store.outbox_drop(id).await.unwrap());
        assert!(store.outbox_next(&target).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_change_is_stored_once_for_every_target_and_done_after_the_last() {
        let store = Store::open_in_memory().await.unwrap();
        let (a, b) = (gdf(), other());
        let hub = TargetRef::hub(PartnerId::parse(Role::Cpo, "DE*GEF").unwrap());
        let outbox = [
            OutboxEntry {
                fallback: Some(hub.clone()),
                ..status_entry(&a, "p")
            },
            status_entry(&b, "p"),
        ];
        for n in 0..20_usize {
            let evse = format!("DE*GEF*E{}*1", n % 5);
            push_status(
                &store,
                ActionType::Update,
                &[(&evse, "Occupied")],
                &outbox,
                0,
            )
            .await;
        }
        assert_eq!(pending_changes(&store).await, 5);
        assert_eq!(table_count(&store, "outbox_cursor").await, 2);
        for t in [&a, &b] {
            assert_eq!(store.outbox_counts(t).await.unwrap(), (5, 0));
        }
        assert_eq!(
            store
                .outbox_list(OutboxState::Pending, 100)
                .await
                .unwrap()
                .len(),
            10
        );
        let first = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!((first.messages(), first.fallback.as_ref()), (5, Some(&hub)));
        assert_eq!(store.outbox_delivered(&first).await.unwrap(), 5);
        // b still waits for them.
        assert_eq!(pending_changes(&store).await, 5);
        assert_eq!(store.outbox_counts(&a).await.unwrap(), (0, 0));
        assert_eq!(
            store.outbox_targets().await.unwrap(),
            std::slice::from_ref(&b)
        );
        let second = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!((second.messages(), second.fallback.is_none()), (5, true));
        store.outbox_delivered(&second).await.unwrap();
        assert_eq!(pending_changes(&store).await, 0);
        assert!(store.outbox_targets().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_pending_change_is_dropped_for_every_target_and_its_status_stays() {
        let store = Store::open_in_memory().await.unwrap();
        let (a, b) = (gdf(), other());
        let outbox = [status_entry(&a, "p"), status_entry(&b, "p")];
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Available")],
            &outbox,
            0,
        )
        .await;
        let listed = store.outbox_list(OutboxState::Pending, 100).await.unwrap();
        let e1 = listed
            .iter()
            .find(|m| m.evse_id.as_deref() == Some("DE*GEF*E1"))
            .unwrap()
            .id;
        let e2 = listed
            .iter()
            .find(|m| m.evse_id.as_deref() == Some("DE*GEF*E2"))
            .unwrap()
            .id;
        // A pending change is no dead letter.
        assert_eq!(
            store.outbox_retry(e1, at(1)).await.unwrap(),
            RetryOutcome::NotDead
        );
        // Delivered to a, still pending for b.
        let of_a = store.outbox_next(&a).await.unwrap().unwrap();
        store.outbox_delivered(&of_a).await.unwrap();
        assert!(store.outbox_drop(e1).await.unwrap());
        assert!(!store.outbox_drop(e1).await.unwrap());
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_b),
            [("DE*GEF*E2".to_owned(), "Available".to_owned())]
        );
        store.outbox_delivered(&of_b).await.unwrap();
        // Delivered to every target: nothing left to drop or retry.
        assert!(!store.outbox_drop(e2).await.unwrap());
        assert_eq!(
            store.outbox_retry(e2, at(1)).await.unwrap(),
            RetryOutcome::NotFound
        );
        let stored = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(stored[0].evse_status_record.len(), 2);
    }

    #[tokio::test]
    async fn targets_joining_or_leaving_the_fan_out_get_exactly_what_was_queued_for_them() {
        let store = Store::open_in_memory().await.unwrap();
        let ([a, b, c], [to_a, to_b, to_c]) = three_peers();
        let update = |evse: &'static str, outbox: Vec<OutboxEntry>| {
            let store = &store;
            async move {
                push_status(store, ActionType::Update, &[(evse, "Occupied")], &outbox, 0).await;
            }
        };
        update("DE*GEF*E1", vec![to_a.clone(), to_b.clone()]).await;
        // b leaves the fan-out (a removed peer): it keeps E1 and gets nothing newer.
        update("DE*GEF*E2", vec![to_a.clone()]).await;
        // c joins: it gets nothing queued before.
        update("DE*GEF*E3", vec![to_a.clone(), to_c.clone()]).await;
        let evses = |item: &OutboxItem| -> Vec<String> {
            statuses(item).into_iter().map(|(e, _)| e).collect()
        };
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(evses(&of_b), ["DE*GEF*E1"]);
        let of_c = store.outbox_next(&c).await.unwrap().unwrap();
        assert_eq!(evses(&of_c), ["DE*GEF*E3"]);
        let of_a = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(evses(&of_a), ["DE*GEF*E1", "DE*GEF*E2", "DE*GEF*E3"]);
        // b received all that was meant for it: its cursor is dropped.
        store.outbox_delivered(&of_b).await.unwrap();
        assert_eq!(table_count(&store, "outbox_cursor").await, 2);
        // A removed target's changes expire into a dead letter and release the rows.
        update("DE*GEF*E4", vec![to_a.clone()]).await;
        store.outbox_delivered(&of_a).await.unwrap();
        assert_eq!(
            store
                .outbox_expire(&c, at(1), "too old", at(1))
                .await
                .unwrap(),
            1
        );
        assert_eq!(store.outbox_counts(&c).await.unwrap(), (0, 1));
        assert_eq!(table_count(&store, "outbox_cursor").await, 1);
        let rest = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(evses(&rest), ["DE*GEF*E4"]);
        store.outbox_delivered(&rest).await.unwrap();
        assert_eq!(pending_changes(&store).await, 0);
    }

    #[tokio::test]
    async fn targets_at_the_same_cursor_share_a_batch_up_to_their_own_bound() {
        let store = Store::open_in_memory().await.unwrap();
        let ([a, b, c], [to_a, to_b, to_c]) = three_peers();
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(e, s)| ((*e).to_owned(), (*s).to_owned()))
                .collect()
        };
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Occupied")],
            &[to_a.clone(), to_b.clone(), to_c],
            0,
        )
        .await;
        // c leaves the fan-out; E3 is queued for a and b only.
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E3", "Occupied")],
            &[to_a.clone(), to_b.clone()],
            1,
        )
        .await;
        let of_a = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_a),
            pairs(&[
                ("DE*GEF*E1", "Occupied"),
                ("DE*GEF*E2", "Occupied"),
                ("DE*GEF*E3", "Occupied")
            ])
        );
        // c takes a's batch up to its until_seq.
        let of_c = store.outbox_next(&c).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_c),
            pairs(&[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Occupied")])
        );
        // E1 changes again before b reads. b stands where a stood: it gets a's batch, E1's
        // older status included, and the newer one after it (a fresh read would have sent
        // E2, E3 and E1 Available at once).
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Available")],
            &[to_a, to_b],
            2,
        )
        .await;
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(of_b.body, of_a.body);
        assert_eq!(store.outbox_delivered(&of_b).await.unwrap(), 2);
        let rest = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(statuses(&rest), pairs(&[("DE*GEF*E1", "Available")]));
        assert_eq!(store.outbox_delivered(&of_c).await.unwrap(), 1);
        assert!(store.outbox_next(&c).await.unwrap().is_none());
    }

    /// A store with E1 `Occupied` queued for two peers, the peers and their status entries.
    async fn two_peers_and_e1_queued() -> (Store, [TargetRef; 2], [OutboxEntry; 2]) {
        let store = Store::open_in_memory().await.unwrap();
        let ([a, b, _], [to_a, to_b, _]) = three_peers();
        let both = [to_a, to_b];
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied")],
            &both,
            0,
        )
        .await;
        (store, [a, b], both)
    }

    #[tokio::test]
    async fn a_target_asking_again_at_its_cursor_reads_the_latest_statuses() {
        let (store, [a, b], both) = two_peers_and_e1_queued().await;
        let first = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(
            statuses(&first),
            [("DE*GEF*E1".to_owned(), "Occupied".to_owned())]
        );
        // a's delivery failed; E1 changes and E2 is new before its next attempt.
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Available"), ("DE*GEF*E2", "Reserved")],
            &both,
            1,
        )
        .await;
        let again = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(
            statuses(&again),
            [
                ("DE*GEF*E1".to_owned(), "Available".to_owned()),
                ("DE*GEF*E2".to_owned(), "Reserved".to_owned())
            ]
        );
        // b, at the same cursor, takes a's newest batch, once.
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(of_b.body, again.body);
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E2", "Available")],
            &both,
            2,
        )
        .await;
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_b),
            [
                ("DE*GEF*E1".to_owned(), "Available".to_owned()),
                ("DE*GEF*E2".to_owned(), "Available".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn a_cached_batch_is_offered_only_for_a_moment() {
        let (store, [a, b], both) = two_peers_and_e1_queued().await;
        let _ = store.outbox_next(&a).await.unwrap().unwrap();
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Available")],
            &both,
            1,
        )
        .await;
        tokio::time::sleep(CACHED_FOR + std::time::Duration::from_millis(50)).await;
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_b),
            [("DE*GEF*E1".to_owned(), "Available".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_batch_body_is_the_push_of_its_records_with_their_unknown_members() {
        let store = Store::open_in_memory().await.unwrap();
        let a = gdf();
        let records: Vec<EvseStatusRecord> = [
            json!({"EvseID": "DE*GEF*E1", "EvseStatus": "Available",
                   "Custom": {"a": [1, "x\"y"]}, "Note": "ü"}),
            json!({"EvseID": "DEGEFE2", "EvseStatus": "Occupied"}),
        ]
        .iter()
        .map(wire)
        .collect();
        store
            .apply_evse_status(
                &op("DE*GEF"),
                Some("GEF \"Charging\""),
                ActionType::Update,
                &records,
                at(0),
                &[status_entry(&a, "p")],
            )
            .await
            .unwrap();
        let item = store.outbox_next(&a).await.unwrap().unwrap();
        // The same push, serialized from the wire types.
        let expected = PushEvseStatus {
            action_type: ActionType::Update,
            operator_evse_status: OperatorEvseStatus {
                operator_id: op("DE*GEF"),
                operator_name: Some(Text::truncated("GEF \"Charging\"")),
                evse_status_record: records,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        };
        assert_eq!(body(&item), serde_json::to_value(&expected).unwrap());
        assert_eq!(
            body(&item)["OperatorEvseStatus"]["EvseStatusRecord"][0]["Custom"]["a"][1],
            "x\"y"
        );
    }

    #[tokio::test]
    async fn updates_written_as_one_batch_fan_out_as_if_written_one_by_one() {
        let store = Store::open_in_memory().await.unwrap();
        let ([a, b, c], [to_a, to_b, to_c]) = three_peers();
        let update = |evse: &'static str, status: &'static str, outbox: Vec<OutboxEntry>| {
            let store = &store;
            async move {
                push_status(store, ActionType::Update, &[(evse, status)], &outbox, 0).await;
            }
        };
        // Sent while the store thread is busy, the four updates are written by one job: b
        // leaves the fan-out after the first, c joins for the third, and E2 changes again.
        let release = hold(&store);
        tokio::join!(
            update("DE*GEF*E1", "Occupied", vec![to_a.clone(), to_b.clone()]),
            update("DE*GEF*E2", "Occupied", vec![to_a.clone()]),
            update("DE*GEF*E3", "Occupied", vec![to_a.clone(), to_c.clone()]),
            update("DE*GEF*E2", "Available", vec![to_a.clone(), to_c.clone()]),
            released(release),
        );
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(statuses(&of_b), [("DE*GEF*E1".into(), "Occupied".into())]);
        let of_c = store.outbox_next(&c).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_c),
            [
                ("DE*GEF*E3".into(), "Occupied".into()),
                ("DE*GEF*E2".into(), "Available".into())
            ]
        );
        let of_a = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_a),
            [
                ("DE*GEF*E1".into(), "Occupied".into()),
                ("DE*GEF*E3".into(), "Occupied".into()),
                ("DE*GEF*E2".into(), "Available".into())
            ]
        );
        let stored = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(stored[0].evse_status_record.len(), 3);
    }

    /// A database file of schema `version` (its first migrations only) with the operator
    /// `DE*GEF`, the targets 1 (`DE-GDF`) and 2 (`DE-XYZ`), and what `sql` writes; returns its
    /// directory and path.
    fn database_of_schema(version: usize, sql: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = temp_dir(&format!("outbox-v{version}"));
        let path = dir.join("node.sqlite");
        let conn = Connection::open(&path).unwrap();
        for (_, migration) in &super::super::MIGRATIONS[..version] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", version).unwrap();
        conn.execute_batch(
            "INSERT INTO outbox_target (id, kind, role, target_key, partner_id)
             VALUES (1, 'peer', 'emp', 'DEGDF', 'DE-GDF'), (2, 'peer', 'emp', 'DEXYZ', 'DE-XYZ');
             INSERT INTO operator (operator_key, operator_id) VALUES ('DEGEF', 'DE*GEF');",
        )
        .unwrap();
        conn.execute_batch(sql).unwrap();
        (dir, path)
    }

    #[tokio::test]
    async fn coalesced_rows_of_schema_2_become_changes_and_cursors() {
        let (dir, path) = database_of_schema(
            2,
            "UPDATE outbox_sequence SET last = 4;
                 INSERT INTO evse_status (evse_key, evse_id, operator_key, status, updated_at)
                 VALUES ('DEGEFE1', 'DE*GEF*E1', 'DEGEF', 'Available', 0),
                        ('DEGEFE2', 'DE*GEF*E2', 'DEGEF', 'Occupied', 0);
                 INSERT INTO outbox_status (target, seq, evse_key, operator_key, evse_id, status,
                                            path, process_id, created_at)
                 VALUES (1, 1, 'DEGEFE1', 'DEGEF', 'DE*GEF*E1', 'Occupied', '/p', 'a', 0),
                        (2, 2, 'DEGEFE2', 'DEGEF', 'DE*GEF*E2', 'Occupied', '/p', 'a', 0),
                        (2, 3, 'DEGEFE1', 'DEGEF', 'DE*GEF*E1', 'Available', '/p', 'b', 0);",
        );
        let store = Store::open(&path).await.unwrap();
        let (a, b) = (gdf(), other());
        assert_eq!(pending_changes(&store).await, 2);
        let of_a = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_a),
            [
                ("DE*GEF*E2".to_owned(), "Occupied".to_owned()),
                ("DE*GEF*E1".to_owned(), "Available".to_owned())
            ]
        );
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(of_b.messages(), 2);
        assert_eq!(of_b.path, "/p");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn queued_changes_of_schema_7_move_onto_their_status_rows() {
        // E1's change was queued as Occupied and its row rewritten since (Available); E2's
        // change is delivered to DE-GDF only; E3's row was deleted after its change.
        let (dir, path) = database_of_schema(
            7,
            "UPDATE outbox_sequence SET last = 5;
                 INSERT INTO evse_status (evse_key, evse_id, operator_key, status, updated_at)
                 VALUES ('DEGEFE1', 'DE*GEF*E1', 'DEGEF', 'Available', 2000),
                        ('DEGEFE2', 'DE*GEF*E2', 'DEGEF', 'Occupied', 1000),
                        ('DEGEFE9', 'DE*GEF*E9', 'DEGEF', 'Reserved', 1000);
                 INSERT INTO outbox_change (operator_key, evse_key, seq, evse_id, status, extra,
                                            process_id, created_at)
                 VALUES ('DEGEF', 'DEGEFE2', 2, 'DE*GEF*E2', 'Occupied', NULL, 'a', 1000),
                        ('DEGEF', 'DEGEFE3', 3, 'DE*GEF*E3', 'Occupied', NULL, 'b', 1000),
                        ('DEGEF', 'DEGEFE1', 4, 'DE*GEF*E1', 'Occupied', NULL, 'c', 1000);
                 INSERT INTO outbox_cursor (target, operator_key, cursor_seq, until_seq, path)
                 VALUES (1, 'DEGEF', 2, 9223372036854775807, '/p'),
                        (2, 'DEGEF', 1, 9223372036854775807, '/p');",
        );
        let store = Store::open(&path).await.unwrap();
        let (a, b) = (gdf(), other());
        assert_eq!(pending_changes(&store).await, 2);
        assert_eq!(store.outbox_counts(&a).await.unwrap(), (1, 0));
        assert_eq!(store.outbox_counts(&b).await.unwrap(), (2, 0));
        let of_a = store.outbox_next(&a).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_a),
            [("DE*GEF*E1".to_owned(), "Available".to_owned())]
        );
        assert_eq!(of_a.process_id, "c");
        let of_b = store.outbox_next(&b).await.unwrap().unwrap();
        assert_eq!(
            statuses(&of_b),
            [
                ("DE*GEF*E2".to_owned(), "Occupied".to_owned()),
                ("DE*GEF*E1".to_owned(), "Available".to_owned())
            ]
        );
        assert_eq!(store.outbox_delivered(&of_b).await.unwrap(), 2);
        assert_eq!(store.outbox_delivered(&of_a).await.unwrap(), 1);
        assert_eq!(pending_changes(&store).await, 0);
        assert!(store.outbox_targets().await.unwrap().is_empty());
        // The statuses themselves are unchanged, E9 (never queued) included.
        let stored = store.query_evse_status(None, None, None).await.unwrap();
        assert_eq!(stored[0].evse_status_record.len(), 3);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_refused_batch_becomes_one_dead_letter() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        let outbox = [status_entry(&target, "p")];
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Available")],
            &outbox,
            0,
        )
        .await;
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        store
            .outbox_kill(&item, "022 refused", at(1))
            .await
            .unwrap();
        assert_eq!(pending_changes(&store).await, 0);
        let dead = store.outbox_list(OutboxState::Dead, 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].operation, "PushEvseStatus");
        assert_eq!(
            dead[0].path,
            "/evsepush/v21/operators/DE*GEF/status-records"
        );
        store.outbox_retry(dead[0].id, at(2)).await.unwrap();
        let again = store.outbox_next(&target).await.unwrap().unwrap();
        assert_eq!(statuses(&again), statuses(&item));
        assert_eq!(again.messages(), 1);
    }

    #[tokio::test]
    async fn old_messages_expire_into_dead_letters() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        store
            .enqueue(
                &[entry(
                    &target,
                    Operation::ChargeDetailRecord,
                    &json!({}),
                    "p",
                )],
                at(0),
            )
            .await
            .unwrap();
        let outbox = [status_entry(&target, "p")];
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Available")],
            &outbox,
            0,
        )
        .await;
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E3", "Occupied")],
            &outbox,
            100,
        )
        .await;
        store
            .enqueue(
                &[entry(
                    &target,
                    Operation::ChargeDetailRecord,
                    &json!({}),
                    "q",
                )],
                at(100),
            )
            .await
            .unwrap();
        // Nothing is older than 10 s before 5 s.
        assert_eq!(
            store
                .outbox_expire(&target, at(-5), "too old", at(5))
                .await
                .unwrap(),
            0
        );
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        store
            .outbox_attempt_failed(&item, "timeout", at(1))
            .await
            .unwrap();
        let n = store
            .outbox_expire(&target, at(50), "undelivered after 50 s", at(50))
            .await
            .unwrap();
        assert_eq!(n, 3);
        let dead = store.outbox_list(OutboxState::Dead, 10).await.unwrap();
        assert_eq!(dead.len(), 2);
        assert_eq!(
            dead[0].last_error.as_deref(),
            Some("undelivered after 50 s; last error: timeout")
        );
        assert_eq!(dead[1].operation, "PushEvseStatus");
        assert_eq!(store.outbox_counts(&target).await.unwrap(), (2, 2));
        let pending = store.outbox_list(OutboxState::Pending, 10).await.unwrap();
        let evses: Vec<Option<&str>> = pending.iter().map(|m| m.evse_id.as_deref()).collect();
        assert_eq!(evses, [Some("DE*GEF*E3"), None]);
    }

    #[tokio::test]
    async fn a_refresh_queues_the_stored_statuses_as_full_load() {
        let store = Store::open_in_memory().await.unwrap();
        let (a, b) = (gdf(), other());
        let path = "/evsepush/v21/operators/DE*GEF/status-records";
        assert_eq!(
            store
                .enqueue_status_refresh(&op("DE*GEF"), std::slice::from_ref(&a), path, "r", at(0))
                .await
                .unwrap(),
            0
        );
        push_status(
            &store,
            ActionType::FullLoad,
            &[("DE*GEF*E1", "Occupied"), ("DE*GEF*E2", "Available")],
            &[],
            0,
        )
        .await;
        assert_eq!(
            store
                .enqueue_status_refresh(&op("DEGEF"), &[a.clone(), b.clone()], path, "r", at(1))
                .await
                .unwrap(),
            2
        );
        for target in [&a, &b] {
            let item = store.outbox_next(target).await.unwrap().unwrap();
            assert_eq!(body(&item)["ActionType"], "fullLoad");
            assert_eq!(statuses(&item).len(), 2);
            assert_eq!((item.path.as_str(), item.process_id.as_str()), (path, "r"));
        }
    }

    #[tokio::test]
    async fn a_failed_write_queues_nothing() {
        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        let outbox = [status_entry(&target, "p")];
        push_status(
            &store,
            ActionType::Insert,
            &[("DE*GEF*E1", "Occupied")],
            &outbox,
            0,
        )
        .await;
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        store.outbox_delivered(&item).await.unwrap();
        // insert of an existing record fails as a whole: no message either.
        let err = store
            .apply_evse_status(
                &op("DE*GEF"),
                None,
                ActionType::Insert,
                &[record_of("DE*GEF*E1", "Available")],
                at(1),
                &outbox,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
        assert!(store.outbox_next(&target).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_delivered_cdr_is_marked_forwarded_and_fallbacks_are_kept() {
        use crate::oicp::v23::cdr::{ChargeDetailRecord, GetChargeDetailRecords};

        let store = Store::open_in_memory().await.unwrap();
        let target = gdf();
        let hub = TargetRef::hub(PartnerId::parse(Role::Cpo, "DE*GEF").unwrap());
        let cdr: ChargeDetailRecord = wire(&json!({
            "SessionID": "b2688855-7f00-0002-6d8e-48d883f6abb6",
            "EvseID": "DE*GEF*E1",
            "Identification": {"RFIDMifareFamilyIdentification": {"UID": "1234ABCD"}},
            "ChargingStart": "2024-05-01T08:00:00+02:00",
            "ChargingEnd": "2024-05-01T09:00:00+02:00",
            "SessionStart": "2024-05-01T07:59:00+02:00",
            "SessionEnd": "2024-05-01T09:01:00+02:00",
            "ConsumedEnergy": 12.5
        }));
        let mut entry = entry(
            &target,
            Operation::ChargeDetailRecord,
            &serde_json::to_value(&cdr).unwrap(),
            "p",
        );
        entry.fallback = Some(hub.clone());
        let outcome = store
            .insert_cdr(
                &cdr,
                &op("DE*GEF"),
                Some(&provider("DE-GDF")),
                at(0),
                &[entry.clone()],
            )
            .await
            .unwrap();
        assert_eq!(outcome, crate::store::CdrInsert::New);
        // The same CDR again is a duplicate: nothing more is queued.
        let again = store
            .insert_cdr(
                &cdr,
                &op("DE*GEF"),
                Some(&provider("DE-GDF")),
                at(1),
                &[entry],
            )
            .await
            .unwrap();
        assert_eq!(again, crate::store::CdrInsert::Duplicate);
        assert_eq!(store.outbox_counts(&target).await.unwrap(), (1, 0));
        let item = store.outbox_next(&target).await.unwrap().unwrap();
        assert_eq!(item.fallback.as_ref(), Some(&hub));
        store.outbox_delivered(&item).await.unwrap();
        let forwarded: GetChargeDetailRecords = wire(&json!({"ProviderID": "DE-GDF",
            "From": "2024-05-01T00:00:00Z", "To": "2024-05-02T00:00:00Z", "CDRForwarded": true}));
        let (records, total) = store
            .query_cdrs(None, None, &forwarded, 0, 20)
            .await
            .unwrap();
        assert_eq!((records.len(), total), (1, 1));
    }

    #[tokio::test]
    async fn a_push_falling_back_for_two_peers_is_handed_over_once() {
        let store = Store::open_in_memory().await.unwrap();
        let (a, b) = (gdf(), other());
        let hub = TargetRef::hub(PartnerId::parse(Role::Cpo, "DE*GEF").unwrap());
        let body = json!({"ActionType": "fullLoad"});
        let entries: Vec<OutboxEntry> = [&a, &b]
            .iter()
            .map(|t| OutboxEntry {
                fallback: Some(hub.clone()),
                ..entry(t, Operation::PushEvseData, &body, "p")
            })
            .collect();
        store.enqueue(&entries, at(0)).await.unwrap();
        let remember = std::time::Duration::from_mins(1);
        let first = store.outbox_next(&a).await.unwrap().unwrap();
        let second = store.outbox_next(&b).await.unwrap().unwrap();
        assert!(
            store
                .outbox_hand_over(&first, &hub, remember, at(1))
                .await
                .unwrap()
        );
        assert!(
            !store
                .outbox_hand_over(&second, &hub, remember, at(2))
                .await
                .unwrap()
        );
        assert_eq!(store.outbox_counts(&a).await.unwrap(), (0, 0));
        assert_eq!(store.outbox_counts(&b).await.unwrap(), (0, 0));
        assert_eq!(store.outbox_counts(&hub).await.unwrap(), (1, 0));
        let item = store.outbox_next(&hub).await.unwrap().unwrap();
        assert_eq!((body_of(&item), item.fallback), (body, None));
        // Long after, the same message is handed over again.
        store.enqueue(&entries[..1], at(100)).await.unwrap();
        let again = store.outbox_next(&a).await.unwrap().unwrap();
        assert!(
            store
                .outbox_hand_over(&again, &hub, remember, at(100))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_outbox_survives_a_reopen() {
        let dir = temp_dir("outbox-reopen");
        let path = dir.join("node.sqlite");
        let store = Store::open(&path).await.unwrap();
        let target = gdf();
        store
            .enqueue(
                &[entry(
                    &target,
                    Operation::ChargeDetailRecord,
                    &json!({"n": 1}),
                    "p",
                )],
                at(0),
            )
            .await
            .unwrap();
        push_status(
            &store,
            ActionType::Update,
            &[("DE*GEF*E1", "Occupied")],
            &[status_entry(&target, "p")],
            0,
        )
        .await;
        drop(store);
        let store = Store::open(&path).await.unwrap();
        assert_eq!(
            store.outbox_targets().await.unwrap(),
            std::slice::from_ref(&target)
        );
        assert_eq!(store.outbox_counts(&target).await.unwrap(), (2, 0));
        // The sequence goes on: a new message is numbered after the old ones.
        store
            .enqueue(
                &[entry(
                    &target,
                    Operation::ChargeDetailRecord,
                    &json!({"n": 2}),
                    "p",
                )],
                at(1),
            )
            .await
            .unwrap();
        let first = store.outbox_next(&target).await.unwrap().unwrap();
        assert_eq!(body(&first)["n"], 1);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
