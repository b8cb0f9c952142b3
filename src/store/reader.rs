//! The store's read connections: a few read-only connections to the database file, each on
//! its own thread, beside the writer thread (`worker`), for the queries that only read (the
//! OCPI Locations Sender pages, the OICP pull queries).
//!
//! # Why
//! On the writer thread a read waits behind every write queued before it (and their group
//! commit) and behind the other reads: under load the Locations pages queued behind each
//! other and behind the pushes. In WAL mode `SQLite` lets readers on other connections run
//! while the writer writes, so a read here waits only for a free reader.
//!
//! # Consistency (read-your-writes)
//! Each read job runs in one read transaction (`BEGIN` … `COMMIT`): all its statements (a page
//! and its count) see one snapshot. A WAL reader's snapshot is taken at the transaction's first
//! statement and holds everything committed before it. The writer answers a write only after
//! its `COMMIT` (`worker`), and a read is sent only after the caller has its answer, so a
//! caller always sees its own answered writes, and everything answered to anyone before its
//! read was sent. What it may not see is a write still queued or in the group being committed
//! — which was not answered yet, so no caller can have relied on it. Reads that must see a
//! write of the same job, or need the writer's order (the outbox), stay on the writer thread.
//!
//! # Pool
//! [`count`] connections (the machine's parallelism, at least 2, at most 4: more readers than
//! cores only adds context switches), opened read-only after the writer ran the migrations.
//! The threads take jobs from one shared queue, so a slow read holds up one reader only. An
//! in-memory database is private to its one connection: it has no readers, and its reads run
//! on the writer thread as before.
//!
//! # Failures
//! A job that panics is caught: its read transaction is rolled back and its caller gets
//! `StoreError::Join` (its answer channel is dropped); the thread goes on. The threads end
//! (closing their connections) when the last [`super::Store`] clone is dropped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, STATEMENT_CACHE_CAPACITY, StoreError};

/// Most read connections (see the module documentation).
const MAX_READERS: usize = 4;

/// A read job: runs with one of the read connections.
pub(super) type Work = Box<dyn FnOnce(&Connection) + Send>;

/// How many read connections a file database gets.
pub(super) fn count() -> usize {
    std::thread::available_parallelism()
        .map_or(2, std::num::NonZeroUsize::get)
        .clamp(2, MAX_READERS)
}

/// Opens `n` read-only connections to the database at `path` (blocking; the writer must
/// have opened and migrated it).
pub(super) fn open(path: &Path, n: usize) -> Result<Vec<Connection>, StoreError> {
    (0..n)
        .map(|_| {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
            Ok(conn)
        })
        .collect()
}

/// Starts one thread per connection; they end when every sender of the returned channel is
/// dropped.
pub(super) fn start(conns: Vec<Connection>) -> std::io::Result<mpsc::Sender<Work>> {
    let (jobs, queue) = mpsc::channel::<Work>();
    let queue = Arc::new(Mutex::new(queue));
    for (i, conn) in conns.into_iter().enumerate() {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("roambridge-read-{i}"))
            .spawn(move || serve(&conn, &queue))?;
    }
    Ok(jobs)
}

fn serve(conn: &Connection, queue: &Mutex<mpsc::Receiver<Work>>) {
    loop {
        // One idle reader waits on the channel, the others on the lock; the job runs after
        // the lock is released. Jobs never run under the lock, so it cannot be poisoned by
        // them; if it were, the receiver inside is still sound.
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(work) = job else {
            return;
        };
        if catch_unwind(AssertUnwindSafe(|| work(conn))).is_err() {
            tracing::error!("a store read panicked");
        }
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

/// Runs `f` in one read transaction, so that all its statements see one snapshot.
pub(super) fn snapshot<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let result = f(conn);
    // A read transaction has nothing to keep: ending it either way releases the snapshot.
    conn.prepare_cached(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?
        .execute([])?;
    result
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;
    use std::time::Duration;

    use super::super::{Store, test_support::temp_dir, worker};
    use super::*;

    /// Only against a hang if reads were to queue behind the held work: never reached when
    /// the code is right, and no figure about speed.
    const HANG_GUARD: Duration = Duration::from_mins(1);

    fn insert(conn: &Connection, key: &str) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO operator (operator_key, operator_id) VALUES (?1, ?1)",
            [key],
        )?;
        Ok(())
    }

    fn operators(conn: &Connection) -> Result<i64, StoreError> {
        Ok(conn
            .prepare_cached("SELECT COUNT(*) FROM operator")?
            .query_row([], |r| r.get(0))?)
    }

    async fn file_store(name: &str) -> (Store, std::path::PathBuf) {
        let dir = temp_dir(name);
        let store = Store::open(&dir.join("node.sqlite")).await.unwrap();
        (store, dir)
    }

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_owned()
    }

    #[tokio::test]
    async fn a_file_store_reads_on_its_readers_and_a_memory_store_on_its_writer() {
        let (store, dir) = file_store("reader-threads").await;
        let name = store.read(|_| Ok(thread_name())).await.unwrap();
        assert!(name.starts_with("roambridge-read-"), "{name}");
        // The readers are read-only connections.
        let refused = store.read(|c| insert(c, "A")).await;
        assert!(matches!(refused, Err(StoreError::Sqlite(_))), "{refused:?}");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();

        let memory = Store::open_in_memory().await.unwrap();
        let name = memory.read(|_| Ok(thread_name())).await.unwrap();
        assert_eq!(name, "roambridge-store");
        memory.write(|c| insert(c, "A")).await.unwrap();
        assert_eq!(memory.read(operators).await.unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_caller_reads_its_own_answered_writes_under_concurrent_load() {
        let (store, dir) = file_store("reader-ryw").await;
        let callers: Vec<_> = (0..16)
            .map(|caller| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0..25 {
                        let key = format!("C{caller}N{n}");
                        let written = key.clone();
                        store.write(move |c| insert(c, &written)).await.unwrap();
                        let found: i64 = store
                            .read(move |c| {
                                Ok(c.prepare_cached(
                                    "SELECT COUNT(*) FROM operator WHERE operator_key = ?1",
                                )?
                                .query_row([&key], |r| r.get(0))?)
                            })
                            .await
                            .unwrap();
                        assert_eq!(found, 1, "caller {caller} write {n}");
                        // And everything it wrote before.
                        let mine: i64 = store
                            .read(move |c| {
                                Ok(c.prepare_cached(
                                    "SELECT COUNT(*) FROM operator WHERE operator_key LIKE ?1",
                                )?
                                .query_row([format!("C{caller}N%")], |r| r.get(0))?)
                            })
                            .await
                            .unwrap();
                        assert_eq!(mine, n + 1, "caller {caller} write {n}");
                    }
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        assert_eq!(store.read(operators).await.unwrap(), 16 * 25);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_read_runs_while_the_writer_thread_is_busy_and_misses_only_unanswered_writes() {
        let (store, dir) = file_store("reader-busy-writer").await;
        store.write(|c| insert(c, "A")).await.unwrap();
        // Hold the writer thread; a write queued behind it is not answered yet.
        let (release, wait) = std_mpsc::channel::<()>();
        store
            .send(worker::Job::Run(Box::new(move |_| {
                let _ = wait.recv_timeout(HANG_GUARD);
            })))
            .unwrap();
        let queued = tokio::spawn({
            let store = store.clone();
            async move { store.write(|c| insert(c, "B")).await }
        });
        // Let the write reach the writer's queue first: on the writer thread the read below
        // would come after it.
        tokio::task::yield_now().await;
        // The read is answered while the writer is still held: it sees the answered write.
        assert_eq!(store.read(operators).await.unwrap(), 1);
        release.send(()).unwrap();
        queued.await.unwrap().unwrap();
        assert_eq!(store.read(operators).await.unwrap(), 2);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_read_sees_one_snapshot_while_a_write_commits_beside_it() {
        let (store, dir) = file_store("reader-snapshot").await;
        let (counted, first_done) = tokio::sync::oneshot::channel::<()>();
        let (go, wait) = std_mpsc::channel::<()>();
        let read = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .read(move |c| {
                        let before = operators(c)?;
                        let _ = counted.send(());
                        let _ = wait.recv_timeout(HANG_GUARD);
                        Ok((before, operators(c)?))
                    })
                    .await
            }
        });
        first_done.await.unwrap();
        // The write commits while the read's transaction is open on another connection.
        store.write(|c| insert(c, "A")).await.unwrap();
        go.send(()).unwrap();
        assert_eq!(read.await.unwrap().unwrap(), (0, 0));
        assert_eq!(store.read(operators).await.unwrap(), 1);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_failing_or_panicking_read_is_answered_and_the_readers_go_on() {
        let (store, dir) = file_store("reader-failures").await;
        store.write(|c| insert(c, "A")).await.unwrap();
        for _ in 0..2 * count() {
            let failed = store
                .read(|c| {
                    Ok(c.prepare_cached("SELECT nothing FROM nowhere")?
                        .execute([])?)
                })
                .await;
            assert!(matches!(failed, Err(StoreError::Sqlite(_))), "{failed:?}");
            let panicked = store
                .read(|c| -> Result<(), StoreError> {
                    operators(c)?;
                    panic!("a bug in a read")
                })
                .await;
            assert!(matches!(panicked, Err(StoreError::Join(_))), "{panicked:?}");
        }
        // Every reader still answers, outside any leftover transaction: a write commits and
        // is seen.
        store.write(|c| insert(c, "B")).await.unwrap();
        for _ in 0..2 * count() {
            assert_eq!(store.read(operators).await.unwrap(), 2);
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
