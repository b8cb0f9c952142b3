//! The node's `SQLite` store (style.md §3.2 item 18): registered peers, pushed EVSE data and
//! status, dynamic pricing, offline authentication data, sessions and charge detail records.
//!
//! # How it runs
//! One [`rusqlite::Connection`] for writing, owned by the store's own thread (`worker`), and
//! for a database file a few read-only connections on their own threads (`reader`) for the
//! queries that only read; [`Store`] is channels to them, cheap to clone and `Send + Sync`. rusqlite blocks, so every public method is
//! `async`: it sends its `SQLite` work to the thread, which runs it *inside the caller's tracing
//! span*, and awaits the answer. Every write is one unit (a failed request leaves nothing
//! behind) and is answered only after it is committed; writes queued together share one commit
//! (group commit, see `worker`). Statements go through the connection's statement cache
//! (`prepare_cached`). A panic inside store work is contained: its writes are rolled back and
//! its caller gets [`StoreError::Join`].
//!
//! # Schema
//! Numbered migrations, `src/store/migrations/0001_init.sql`, …, are embedded in the binary
//! and applied at open in one transaction; `PRAGMA user_version` records how many ran. A
//! database written by a newer roambridge (a higher `user_version`) is refused with
//! [`StoreError::SchemaTooNew`] rather than used with a schema this code does not know.
//!
//! # Records and keys
//! OICP records are stored as their JSON text (every wire type serializes losslessly, unknown
//! members included), next to the key and filter columns the queries need. Keys are the
//! `canonical()` forms of the IDs (oicp-2.3.md §5.1), so `DE*GEF*E1` pushed is found as
//! `DEGEFE1`; answers keep the spelling the partner pushed. Times are stored as UTC milliseconds
//! since the Unix epoch, so `lastUpdate` has millisecond resolution.
//!
//! # Push semantics (oicp-2.3.md §2.3 "Push operations")
//! `fullLoad` replaces the whole set of the pushing operator (provider for authentication
//! data), `insert` fails as a whole with [`StoreError::AlreadyExists`] if any record exists,
//! `update` fails as a whole with [`StoreError::NotFound`] if any record is missing (except EVSE
//! status, see [`Store::apply_evse_status`]), and `delete` removes the records it names (a
//! record that is not there is no error). The per-type details are on each `apply_*` method.

mod auth_data;
mod cdr;
mod evse_data;
mod evse_status;
mod geo;
pub mod ocpi;
pub mod ocpi_cpo;
pub mod ocpi_cpo_objects;
pub mod ocpi_emsp;
pub mod outbox;
mod peers;
mod pricing;
mod reader;
mod sessions;
#[cfg(test)]
mod test_support;
mod worker;

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::oicp::v23::common::ActionType;
use crate::oicp::v23::evse_data::PullEvseData;
use crate::oicp::v23::ids::{EvseId, OperatorId, ProviderId, ProviderIdOrAll, SessionId};
use crate::oicp::v23::scalars;

pub use outbox::{
    MAX_STATUS_BATCH, OutboxEntry, OutboxItem, OutboxMessage, OutboxState, RetryOutcome, TargetRef,
};

/// The embedded migrations, in order. Entry `n` (0-based) brings a database from
/// `user_version` `n` to `n + 1`. Never edit a released entry: add a new file.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("store/migrations/0001_init.sql")),
    (
        "0002_outbox",
        include_str!("store/migrations/0002_outbox.sql"),
    ),
    (
        "0003_status_changes",
        include_str!("store/migrations/0003_status_changes.sql"),
    ),
    ("0004_ocpi", include_str!("store/migrations/0004_ocpi.sql")),
    (
        "0005_ocpi_cpo",
        include_str!("store/migrations/0005_ocpi_cpo.sql"),
    ),
    (
        "0006_ocpi_emsp",
        include_str!("store/migrations/0006_ocpi_emsp.sql"),
    ),
    (
        "0007_ocpi_cpo_sessions",
        include_str!("store/migrations/0007_ocpi_cpo_sessions.sql"),
    ),
    (
        "0008_status_change_on_row",
        include_str!("store/migrations/0008_status_change_on_row.sql"),
    ),
];

/// How long a statement waits for a lock held by another connection (another process on the
/// same file) before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Room for every statement shape the store prepares (the dynamic queries produce a few dozen
/// shapes at most, since list filters are passed as one JSON array parameter).
const STATEMENT_CACHE_CAPACITY: usize = 128;

/// Default page size of the paged queries (oicp-2.3.md §5.4).
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// Largest page size of the paged queries (oicp-2.3.md §5.4); larger requests are capped.
pub const MAX_PAGE_SIZE: u32 = 2000;

/// At most this many IDs are spelled out in the `Display` text of an error.
const MAX_LISTED_IDS: usize = 20;

/// Why a store operation failed.
///
/// The node answers [`AlreadyExists`](Self::AlreadyExists), [`NotFound`](Self::NotFound) and
/// [`Conflict`](Self::Conflict) with OICP `022` (data error) and this error's `Display` text,
/// which only repeats the partner's own IDs; every other variant becomes `021` (system error)
/// and is logged, never shown to the partner.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `SQLite` failed (disk full, file not writable, database locked for longer than the busy
    /// timeout, a corrupt file). The partner sees `021`; check the log, the disk and the file's
    /// permissions.
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A record could not be written as JSON, or stored JSON could not be read back. The
    /// partner sees `021`; stored JSON that does not parse means the database was edited by
    /// hand or by an incompatible version.
    #[error("JSON error in the store: {0}")]
    Json(#[from] serde_json::Error),
    /// The directory of the database file could not be created. The operator must fix the
    /// configured path or its permissions; the node does not start.
    #[error("cannot prepare the database location: {0}")]
    Io(#[from] std::io::Error),
    /// The `SQLite` work panicked (its writes were rolled back), or the store thread or the
    /// blocking task opening the database is gone. The partner sees `021`; the panic is in the
    /// log.
    #[error("the store task failed: {0}")]
    Join(String),
    /// An `insert` push named records that already exist; nothing was written. The partner sees
    /// `022` with the IDs and must send them as `update`, or send a `fullLoad`.
    #[error("insert refused, nothing stored: {what} already stored for {}", list_ids(.ids))]
    AlreadyExists {
        /// What kind of record, e.g. `EVSE data record`.
        what: &'static str,
        /// The IDs that exist, spelled as pushed.
        ids: Vec<String>,
    },
    /// An `update` push named records that do not exist; nothing was written. The partner sees
    /// `022` with the IDs and must `insert` them first, or send a `fullLoad`.
    #[error("update refused, nothing stored: no {what} stored for {}", list_ids(.ids))]
    NotFound {
        /// What kind of record, e.g. `EVSE data record`.
        what: &'static str,
        /// The IDs that are missing, spelled as pushed.
        ids: Vec<String>,
    },
    /// A CDR arrived for a `SessionID` that already has a different CDR (one CDR per session,
    /// oicp-2.3.md §2.3). The partner sees `022`; the stored CDR is kept.
    #[error("{0}")]
    Conflict(String),
    /// The database was written by a newer roambridge: its schema version `found` is above the
    /// `known` version of this build. The node does not start; run the newer version or restore
    /// a backup.
    #[error(
        "the database schema version {found} is newer than this roambridge knows ({known}); \
         use a newer roambridge"
    )]
    SchemaTooNew {
        /// `PRAGMA user_version` of the database.
        found: i64,
        /// The number of migrations this build knows.
        known: i64,
    },
    /// The caller handed the store a value it cannot key or store: a peer with an unknown role
    /// or an invalid ID, or an `ActionType` outside the four of OICP (only possible with
    /// lenient parsing). Callers validate first, so the partner sees `021`.
    #[error("cannot store this value: {0}")]
    InvalidInput(String),
    /// A stored key column does not parse as the ID it should hold (the database was edited by
    /// hand or by an incompatible version). The partner sees `021`.
    #[error("the database holds an invalid value: {0}")]
    Corrupt(String),
}

/// `A, B, C and 7 more`, for error texts.
fn list_ids(ids: &[String]) -> String {
    let mut out = ids
        .iter()
        .take(MAX_LISTED_IDS)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > MAX_LISTED_IDS {
        let _ = write!(out, " and {} more", ids.len() - MAX_LISTED_IDS);
    }
    out
}

/// The node's `SQLite` store. See the [module documentation](self).
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<worker::Job>,
    /// The read connections' queue; `None` for an in-memory database (its reads run on the
    /// writer thread).
    reads: Option<mpsc::Sender<reader::Work>>,
    /// Status `update`s waiting to be written as one job (`evse_status`).
    updates: std::sync::Arc<std::sync::Mutex<evse_status::PendingUpdates>>,
    /// Batches of queued status changes read lately, shared by the targets of a fan-out
    /// (`outbox`).
    batches: std::sync::Arc<std::sync::Mutex<outbox::BatchCache>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating it and its parent directories if needed) the database file at `path`,
    /// in WAL mode with `synchronous=NORMAL` (a crash may lose the last commits, never
    /// consistency), `foreign_keys=ON` and a busy timeout, applies pending migrations, and
    /// opens the read-only connections of the read queries (`reader`; in WAL mode only).
    ///
    /// # Errors
    /// [`StoreError::Io`] if the directory cannot be created or the store's threads cannot be
    /// started, [`StoreError::Sqlite`] if the file cannot be opened or migrated,
    /// [`StoreError::SchemaTooNew`] for a database of a newer version.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path: PathBuf = path.to_path_buf();
        let (conn, readers) = blocking(move || {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let conn = Connection::open(&path)?;
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            let wal = mode.eq_ignore_ascii_case("wal");
            if !wal {
                tracing::warn!(journal_mode = %mode, "SQLite did not switch to WAL mode");
            }
            let conn = prepare(conn)?;
            // Readers beside the writer only in WAL mode (otherwise a reader would wait for
            // the writer's locks); opened after the migrations, so they see the schema.
            let readers = if wal {
                Some(reader::open(&path, reader::count())?)
            } else {
                None
            };
            Ok((conn, readers))
        })
        .await?;
        Ok(Self {
            jobs: worker::start(conn)?,
            reads: readers.map(reader::start).transpose()?,
            updates: std::sync::Arc::default(),
            batches: std::sync::Arc::default(),
        })
    }

    /// A private database in memory (tests, `database = ":memory:"`); gone when the last clone
    /// of the store is dropped.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] if `SQLite` cannot allocate it or the migrations fail,
    /// [`StoreError::Io`] if the store thread cannot be started.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let conn = blocking(|| prepare(Connection::open_in_memory()?)).await?;
        Self::from_connection(conn)
    }

    fn from_connection(conn: Connection) -> Result<Self, StoreError> {
        Ok(Self {
            jobs: worker::start(conn)?,
            reads: None,
            updates: std::sync::Arc::default(),
            batches: std::sync::Arc::default(),
        })
    }

    fn send(&self, job: worker::Job) -> Result<(), StoreError> {
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Join("the store thread has stopped".to_owned()))
    }

    /// Runs `f` with the connection on the store thread, outside any transaction, in the
    /// caller's span.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        self.send(worker::Job::Run(Box::new(move |conn| {
            let _entered = span.enter();
            // The caller may have gone away (its request was cancelled): nothing to tell.
            let _ = reply.send(f(conn));
        })))?;
        answer.await.map_err(|_| panicked())?
    }

    /// Runs `f`, which only reads, on a read connection in one read transaction (one
    /// snapshot, holding every write answered before this call; see `reader`), in the
    /// caller's span. Without read connections (in memory) it runs on the writer thread.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let Some(reads) = &self.reads else {
            return self.run(move |conn| reader::snapshot(conn, f)).await;
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        reads
            .send(Box::new(move |conn| {
                let _entered = span.enter();
                // The caller may have gone away (its request was cancelled): nothing to tell.
                let _ = reply.send(reader::snapshot(conn, f));
            }))
            .map_err(|_| StoreError::Join("the store's readers have stopped".to_owned()))?;
        answer.await.map_err(|_| panicked())?
    }

    /// Runs `f` as one unit of a write transaction (see `worker`): its writes are kept if it
    /// succeeds and rolled back otherwise, and the answer comes after the commit.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(worker::Job::Write(Box::new(worker::Task::new(f, reply))))?;
        answer.await.map_err(|_| panicked())?
    }
}

/// The error of store work whose answer never came (it panicked).
pub(super) fn panicked() -> StoreError {
    StoreError::Join("the store work panicked; see the log".to_owned())
}

/// Runs `f` on a blocking thread inside the current tracing span.
async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        f()
    })
    .await
    .map_err(|e| StoreError::Join(e.to_string()))?
}

/// Connection settings shared by file and memory databases, then the migrations.
fn prepare(mut conn: Connection) -> Result<Connection, StoreError> {
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    migrate(&mut conn)?;
    Ok(conn)
}

/// The schema version this build knows: the number of embedded migrations.
fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Applies the pending migrations in one transaction and records the new `user_version`.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = known_version();
    // IMMEDIATE: two processes opening the same new file must not both migrate it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    let done = usize::try_from(found).unwrap_or(0);
    for (name, sql) in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(sql)?;
        tracing::info!(migration = name, "store migration applied");
    }
    if found != known {
        tx.pragma_update(None, "user_version", known)?;
    }
    tx.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shared helpers of the submodules

/// The four push actions of OICP (oicp-2.3.md §2.3), checked once at the entry of each
/// `apply_*` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    FullLoad,
    Insert,
    Update,
    Delete,
}

impl TryFrom<ActionType> for Action {
    type Error = StoreError;

    fn try_from(action: ActionType) -> Result<Self, StoreError> {
        match action {
            ActionType::FullLoad => Ok(Self::FullLoad),
            ActionType::Insert => Ok(Self::Insert),
            ActionType::Update => Ok(Self::Update),
            ActionType::Delete => Ok(Self::Delete),
            ActionType::Unknown(other) => Err(StoreError::InvalidInput(format!(
                "ActionType '{other}' is none of fullLoad, insert, update, delete"
            ))),
        }
    }
}

/// UTC milliseconds since the epoch, the stored form of every time in the store.
fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The stored milliseconds of a wire `DateTime` (which carries an offset).
fn wire_millis(t: &scalars::DateTime) -> i64 {
    t.value().timestamp_millis()
}

/// A stored time as an OICP date-time in UTC, e.g. `2024-05-01T10:00:00.250+00:00`.
fn wire_time(ms: i64) -> scalars::DateTime {
    let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    scalars::DateTime::from_chrono(t.fixed_offset())
}

/// The store key of a `ProviderID` or `*`.
fn provider_or_all_key(p: &ProviderIdOrAll) -> String {
    match p {
        ProviderIdOrAll::All => "*".to_owned(),
        ProviderIdOrAll::Provider(p) => p.canonical(),
    }
}

/// The store key of a `SessionID`: `SessionIDs` are GUID-shaped, and GUIDs compare without case.
fn session_key(id: &SessionId) -> String {
    id.as_str().to_ascii_lowercase()
}

/// A JSON array of strings, for `IN (SELECT value FROM json_each(?))`: one parameter, one
/// statement shape, whatever the list length.
fn json_list<I, S>(items: I) -> Result<String, StoreError>
where
    I: IntoIterator<Item = S>,
    S: Serialize,
{
    let items: Vec<S> = items.into_iter().collect();
    Ok(serde_json::to_string(&items)?)
}

/// Parses a stored ID column.
fn stored<T>(value: &str, column: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{column} '{value}': {e}")))
}

/// `LIMIT` and `OFFSET` of a 0-based `page` of `size` records (0 = the default 20; at most
/// 2000, oicp-2.3.md §5.4).
fn page_window(page: u32, size: u32) -> (i64, i64) {
    let size = effective_page_size(size);
    (i64::from(size), i64::from(page) * i64::from(size))
}

/// The page size a query uses for a requested `size`: 0 means the default
/// ([`DEFAULT_PAGE_SIZE`]), and more than [`MAX_PAGE_SIZE`] is capped.
pub fn effective_page_size(size: u32) -> u32 {
    if size == 0 {
        DEFAULT_PAGE_SIZE
    } else {
        size.min(MAX_PAGE_SIZE)
    }
}

/// A count column as `u64`.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// An operator as the store records it: key, spelling and (optional) name. Every table with
/// an `operator_key` refers to a row of `operator`, which gives answers their `OperatorID`
/// spelling and `OperatorName`.
#[derive(Debug, Clone)]
struct OperatorRow {
    key: String,
    id: String,
    name: Option<String>,
}

impl OperatorRow {
    fn new(id: &OperatorId, name: Option<&str>) -> Self {
        Self {
            key: id.canonical(),
            id: id.as_str().to_owned(),
            name: name.map(str::to_owned),
        }
    }

    /// Records the operator; a push without a name keeps the known one, and an unchanged row
    /// is not rewritten.
    fn upsert(&self, tx: &Connection) -> Result<(), StoreError> {
        tx.prepare_cached(
            "INSERT INTO operator (operator_key, operator_id, name) VALUES (?1, ?2, ?3)
             ON CONFLICT (operator_key) DO UPDATE SET
                 operator_id = excluded.operator_id,
                 name = COALESCE(excluded.name, operator.name)
             WHERE operator.operator_id IS NOT excluded.operator_id
                OR (excluded.name IS NOT NULL AND operator.name IS NOT excluded.name)",
        )?
        .execute((&self.key, &self.id, &self.name))?;
        Ok(())
    }
}

/// Locks `mutex` of the store's shared state (pending status updates, cached batches); a panic
/// while it was held left the state usable (the store thread catches panics of its jobs; the
/// holders only push, take or replace whole values).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The recorded spelling and name of an operator, if it ever pushed anything.
fn operator_by_key(
    conn: &Connection,
    key: &str,
) -> Result<Option<(OperatorId, Option<String>)>, StoreError> {
    let row = conn
        .prepare_cached("SELECT operator_id, name FROM operator WHERE operator_key = ?1")?
        .query_row([key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .optional()?;
    row.map(|(id, name)| Ok((stored(&id, "operator.operator_id")?, name)))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Public value types

/// What a paged `eRoamingPullEvseData` asks for (oicp-2.3.md §2.3 "`PullEvseData`", §3.4, §5.4).
#[derive(Debug, Clone)]
pub struct EvseDataQuery {
    /// Visibility restriction set by the node: only these operators' records are returned
    /// (`None`: all; an empty list: none).
    pub operators: Option<Vec<OperatorId>>,
    /// The request's filters: `SearchCenter`, `LastCall`, `CountryCodes`, `OperatorIds`,
    /// `AuthenticationModes`, `Accessibility`, `CalibrationLawDataAvailability`,
    /// `RenewableEnergy`, `IsHubjectCompatible`, `IsOpen24Hours` and
    /// `GeoCoordinatesResponseFormat`. See [`Store::query_evse_data`].
    pub request: PullEvseData,
    /// 0-based page.
    pub page: u32,
    /// Page size: 0 means 20, more than 2000 is capped to 2000.
    pub size: u32,
    /// Sort field and whether descending: `EvseID` or `lastUpdate` (any case); anything else
    /// falls back to the default order, `EvseID` ascending.
    pub sort: Option<(String, bool)>,
}

impl EvseDataQuery {
    /// The first page (of 20) of `request`, unrestricted and in the default order.
    pub fn new(request: PullEvseData) -> Self {
        Self {
            operators: None,
            request,
            page: 0,
            size: DEFAULT_PAGE_SIZE,
            sort: None,
        }
    }
}

/// What the node knows about one charging session, keyed by `SessionID` (matched without
/// case).
///
/// [`Store::upsert_session`] merges: a `None` never overwrites a known value, `state` and
/// `updated_at` always take the new value, and `created_at` and the `SessionID` spelling stay
/// those of the first write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session's `SessionID`.
    pub session_id: SessionId,
    /// `CPOPartnerSessionID`, if known.
    pub cpo_partner_session_id: Option<String>,
    /// `EMPPartnerSessionID`, if known.
    pub emp_partner_session_id: Option<String>,
    /// The CPO.
    pub operator_id: Option<OperatorId>,
    /// The EMP.
    pub provider_id: Option<ProviderId>,
    /// The EVSE.
    pub evse_id: Option<EvseId>,
    /// Where the session is, e.g. `authorized`, `remote-start-sent`, `started`, `ended`, `cdr`.
    pub state: String,
    /// When the node first recorded the session.
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When the node last changed the record.
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// RFC 3339 text for `chrono` times (chrono's own serde support is not enabled).
mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(de::Error::custom)
    }
}

/// The outcome of [`Store::insert_cdr`] that is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdrInsert {
    /// The CDR was stored; the session had none.
    New,
    /// An identical CDR (compared as JSON values) was already stored: a retry. Nothing changed;
    /// the node acknowledges it positively without forwarding it again.
    Duplicate,
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[tokio::test]
    async fn open_in_memory_applies_all_migrations() {
        let store = Store::open_in_memory().await.unwrap();
        let version = store
            .run(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(version, known_version());
        assert_eq!(known_version(), 8);
        assert!(format!("{store:?}").starts_with("Store"));
    }

    #[tokio::test]
    async fn file_database_is_migrated_once_and_reopened() {
        let dir = temp_dir("reopen");
        let path = dir.join("nested").join("node.sqlite");
        let store = Store::open(&path).await.unwrap();
        let (mode, fk): (String, i64) = store
            .run(|c| {
                Ok((
                    c.pragma_query_value(None, "journal_mode", |r| r.get(0))?,
                    c.pragma_query_value(None, "foreign_keys", |r| r.get(0))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        assert_eq!(fk, 1);
        store.upsert_peer(&raw_peer("cpo", "DE*ABC")).await.unwrap();
        drop(store);

        let again = Store::open(&path).await.unwrap();
        let version = again
            .run(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))?))
            .await
            .unwrap();
        assert_eq!(version, known_version());
        // The data survived, so the init migration did not run again.
        assert_eq!(again.list_peers().await.unwrap().len(), 1);
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn newer_schema_is_refused() {
        let dir = temp_dir("too-new");
        let path = dir.join("node.sqlite");
        let store = Store::open(&path).await.unwrap();
        store
            .run(|c| Ok(c.pragma_update(None, "user_version", 99)?))
            .await
            .unwrap();
        drop(store);
        let err = Store::open(&path).await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::SchemaTooNew {
                    found: 99,
                    known
                } if known == known_version()
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn store_is_shareable() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Store>();
    }

    #[test]
    fn error_texts_list_ids() {
        let ids: Vec<String> = (0..25).map(|i| format!("DE*GEF*E{i}")).collect();
        let err = StoreError::AlreadyExists {
            what: "EVSE data record",
            ids,
        };
        let text = err.to_string();
        assert!(text.contains("DE*GEF*E0, DE*GEF*E1"), "{text}");
        assert!(text.ends_with("and 5 more"), "{text}");
        let err = StoreError::NotFound {
            what: "EVSE data record",
            ids: vec!["DE*GEF*E9".to_owned()],
        };
        assert_eq!(
            err.to_string(),
            "update refused, nothing stored: no EVSE data record stored for DE*GEF*E9"
        );
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_window(0, 0), (20, 0));
        assert_eq!(page_window(3, 10), (10, 30));
        assert_eq!(page_window(1, 5000), (2000, 2000));
        assert_eq!(effective_page_size(2000), 2000);
    }

    #[test]
    fn wire_times_are_utc_with_millis() {
        let t = wire_time(1_714_557_600_250);
        assert_eq!(t.as_str(), "2024-05-01T10:00:00.250+00:00");
        assert_eq!(wire_millis(&t), 1_714_557_600_250);
    }

    #[test]
    fn session_record_serde_round_trip() {
        let record = SessionRecord {
            session_id: SessionId::parse("b2688855-7f00-0002-6d8e-48d883f6abb6").unwrap(),
            cpo_partner_session_id: Some("cpo-1".to_owned()),
            emp_partner_session_id: None,
            operator_id: Some(OperatorId::parse("DE*GEF").unwrap()),
            provider_id: None,
            evse_id: None,
            state: "authorized".to_owned(),
            created_at: at(0),
            updated_at: at(5),
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(
            json.contains("\"created_at\":\"2024-05-01T10:00:00Z\""),
            "{json}"
        );
        let back: SessionRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }
}
