//! The store's own thread: it owns the [`Connection`] and runs the work the store's `async`
//! methods send it, in the order sent, with **group commit**.
//!
//! # Why a thread
//! `SQLite` blocks, and one connection runs one statement at a time. Sending each piece of
//! work to one long-lived thread over a channel replaces a blocking-pool task plus a mutex per
//! call (a thread hand-over, and contention between the blocking threads for the mutex), and
//! lets the thread take whatever queued up while it was busy in one go.
//!
//! # Group commit
//! The thread takes every job waiting in the channel (up to [`MAX_GROUP`]). Consecutive write
//! jobs run in **one** `BEGIN IMMEDIATE` transaction, each inside its own savepoint: a job that
//! fails (or panics) is rolled back to its savepoint alone and answered with its error, the
//! others go on. After `COMMIT` every job of the group is answered; if the commit fails, every
//! job is answered with that error and nothing of the group is stored. So a caller is never
//! told "done" before its write is committed (the durability rule of the outbox), and under
//! load many writes share one commit. A lone write runs in a plain transaction, without
//! savepoint. Read jobs ([`Job::Run`]) run outside any transaction, after the writes queued
//! before them are committed, so every job sees everything answered before it was sent.
//!
//! # Failures
//! A job that panics is caught: its transaction part is rolled back and its caller gets
//! [`StoreError::Join`]; the thread and the connection go on. The thread ends (closing the
//! connection) when the last [`super::Store`] clone is dropped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::StoreError;

/// Most jobs the thread takes from the channel at once (and so most writes per commit).
const MAX_GROUP: usize = 64;

/// Work for the store thread.
pub(super) enum Job {
    /// Runs with the connection outside any transaction (reads, pragmas).
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
    /// Runs inside the group's write transaction; answered after the commit.
    Write(Box<dyn WriteTask>),
}

/// A write job: run once inside a transaction, answered once the transaction ended.
pub(super) trait WriteTask: Send {
    /// Runs the work; `true` if it succeeded (its changes are to be kept). `undo` takes back
    /// what the work wrote so far, leaving a transaction open to go on in (a task that fails
    /// as a whole needs nothing of it: the worker undoes it).
    fn apply(&mut self, conn: &Connection, undo: Undo) -> bool;
    /// Answers the caller: the work's result, or `failed` (the group's transaction could not
    /// be committed) instead of a success.
    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>);
}

/// How a write task's changes are taken back: the worker runs each write of a group of
/// several in a savepoint, and a lone write in a plain transaction of its own (a savepoint
/// costs a copy of every page the write changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Undo {
    /// Back to the savepoint the worker set before the task.
    Savepoint,
    /// The task is the whole transaction: rolled back, and a new one begun.
    Transaction,
}

impl Undo {
    /// Takes back what the task wrote so far; a transaction is open afterwards.
    pub(super) fn run(self, conn: &Connection) -> Result<(), rusqlite::Error> {
        match self {
            Self::Savepoint => exec(conn, "ROLLBACK TO job"),
            Self::Transaction => {
                exec(conn, "ROLLBACK")?;
                exec(conn, "BEGIN IMMEDIATE")
            }
        }
    }
}

/// A write job's work, its result until the commit, and where to send it.
pub(super) struct Task<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
    span: tracing::Span,
}

impl<T, F> Task<T, F> {
    /// A task for `work`, run in the current tracing span, answered on `reply`.
    pub(super) fn new(work: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Self {
        Self {
            work: Some(work),
            result: None,
            reply,
            span: tracing::Span::current(),
        }
    }
}

impl<T, F> WriteTask for Task<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn apply(&mut self, conn: &Connection, _undo: Undo) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let _entered = self.span.enter();
        let result = work(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>) {
        // The caller may have gone away (its request was cancelled): nothing to tell.
        let _ = self.reply.send(outcome(self.result, failed));
    }
}

/// What a write job's caller is told: its own error, else the group's failed commit, else its
/// value; no result at all (`None`) means the work panicked and was rolled back.
pub(super) fn outcome<T>(
    result: Option<Result<T, StoreError>>,
    failed: Option<&rusqlite::Error>,
) -> Result<T, StoreError> {
    match (result, failed) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(value)), None) => Ok(value),
        (_, Some(e)) => Err(copy_error(e)),
        (None, None) => Err(super::panicked()),
    }
}

/// An error of the group's transaction, for each of its jobs.
fn copy_error(e: &rusqlite::Error) -> StoreError {
    let failure = match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    };
    StoreError::Sqlite(failure)
}

/// Starts the thread that owns `conn`; it ends when every sender of the returned channel is
/// dropped.
pub(super) fn start(conn: Connection) -> std::io::Result<mpsc::Sender<Job>> {
    let (jobs, queue) = mpsc::channel();
    std::thread::Builder::new()
        .name("roambridge-store".into())
        .spawn(move || serve(conn, &queue))?;
    Ok(jobs)
}

fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    let mut taken = Vec::with_capacity(MAX_GROUP);
    let mut writes: Vec<Box<dyn WriteTask>> = Vec::with_capacity(MAX_GROUP);
    while let Ok(job) = queue.recv() {
        taken.push(job);
        while taken.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => taken.push(job),
                Err(_) => break,
            }
        }
        for job in taken.drain(..) {
            match job {
                Job::Write(task) => writes.push(task),
                Job::Run(work) => {
                    commit_group(&conn, &mut writes);
                    run_one(&mut conn, work);
                }
            }
        }
        commit_group(&conn, &mut writes);
    }
}

/// Runs a read job; a panic is contained, and a transaction it left open is rolled back.
fn run_one(conn: &mut Connection, work: Box<dyn FnOnce(&mut Connection) + Send>) {
    if catch_unwind(AssertUnwindSafe(|| work(conn))).is_err() {
        tracing::error!("a store job panicked");
    }
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
}

pub(super) fn exec(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Runs a task, containing a panic (which counts as a failure).
fn apply(task: &mut Box<dyn WriteTask>, conn: &Connection, undo: Undo) -> bool {
    catch_unwind(AssertUnwindSafe(|| task.apply(conn, undo))).unwrap_or_else(|_| {
        tracing::error!("a store write panicked; it is rolled back");
        false
    })
}

/// Runs the queued writes in one transaction and answers each; empties `writes`.
fn commit_group(conn: &Connection, writes: &mut Vec<Box<dyn WriteTask>>) {
    if writes.is_empty() {
        return;
    }
    let outcome = run_group(conn, writes);
    if outcome.is_err() && !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
    let failed = outcome.err();
    for task in writes.drain(..) {
        task.answer(failed.as_ref());
    }
}

/// The group's transaction: `Err` if nothing of it could be committed.
fn run_group(conn: &Connection, writes: &mut [Box<dyn WriteTask>]) -> Result<(), rusqlite::Error> {
    exec(conn, "BEGIN IMMEDIATE")?;
    if let [task] = writes {
        if !apply(task, conn, Undo::Transaction) {
            // The task's own error is its answer; nothing to commit.
            return exec(conn, "ROLLBACK");
        }
    } else {
        for task in writes.iter_mut() {
            exec(conn, "SAVEPOINT job")?;
            if !apply(task, conn, Undo::Savepoint) {
                exec(conn, "ROLLBACK TO job")?;
            }
            exec(conn, "RELEASE job")?;
        }
    }
    exec(conn, "COMMIT")
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::super::test_support::{hold, released};
    use super::*;

    fn insert(conn: &Connection, key: &str) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO operator (operator_key, operator_id) VALUES (?1, ?1)",
            [key],
        )?;
        Ok(())
    }

    async fn keys(store: &Store) -> Vec<String> {
        store
            .run(|c| {
                let mut stmt = c.prepare("SELECT operator_key FROM operator ORDER BY 1")?;
                let keys = stmt
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok(keys)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_failing_write_in_a_group_is_rolled_back_alone() {
        let store = Store::open_in_memory().await.unwrap();
        let release = hold(&store);
        let first = store.write(|c| insert(c, "A"));
        let failing = store.write(|c| {
            insert(c, "B")?;
            insert(c, "A") // duplicate key: the job fails after writing B
        });
        let last = store.write(|c| insert(c, "C"));
        let (first, failing, last, ()) = tokio::join!(first, failing, last, released(release));
        assert!(first.is_ok() && last.is_ok(), "{first:?} {last:?}");
        assert!(matches!(failing, Err(StoreError::Sqlite(_))), "{failing:?}");
        assert_eq!(keys(&store).await, ["A", "C"]);
    }

    #[tokio::test]
    async fn a_panicking_write_is_rolled_back_and_the_thread_goes_on() {
        let store = Store::open_in_memory().await.unwrap();
        let release = hold(&store);
        let ok = store.write(|c| insert(c, "A"));
        let panics = store.write(|c| -> Result<(), StoreError> {
            insert(c, "B")?;
            panic!("a bug in store work")
        });
        let (ok, panics, ()) = tokio::join!(ok, panics, released(release));
        assert!(ok.is_ok(), "{ok:?}");
        assert!(matches!(panics, Err(StoreError::Join(_))), "{panics:?}");
        // A lone write panicking (no savepoint) is rolled back too.
        let alone = store
            .write(|c| -> Result<(), StoreError> {
                insert(c, "D")?;
                panic!("again")
            })
            .await;
        assert!(matches!(alone, Err(StoreError::Join(_))), "{alone:?}");
        store.write(|c| insert(c, "C")).await.unwrap();
        assert_eq!(keys(&store).await, ["A", "C"]);
    }

    #[tokio::test]
    async fn a_write_is_answered_after_its_commit() {
        let dir = super::super::test_support::temp_dir("group-commit");
        let path = dir.join("node.sqlite");
        let store = Store::open(&path).await.unwrap();
        let writes: Vec<_> = ["A", "B", "C"]
            .into_iter()
            .map(|k| {
                let store = store.clone();
                tokio::spawn(async move { store.write(move |c| insert(c, k)).await })
            })
            .collect();
        for w in writes {
            w.await.unwrap().unwrap();
        }
        // Another connection sees every answered write.
        let other = Connection::open(&path).unwrap();
        let n: i64 = other
            .query_row("SELECT COUNT(*) FROM operator", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
