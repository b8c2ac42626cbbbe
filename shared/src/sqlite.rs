//! The embedded database: one SQLite file holding documents and queues.
//!
//! SQLite allows one writer at a time, so [`Database`] gives writes to a single
//! dedicated OS thread that owns the only read-write connection: adapters send
//! it closures over a channel and await a oneshot reply, so concurrent writers
//! queue up in process instead of meeting `SQLITE_BUSY`. Writes queued together
//! run in one `BEGIN IMMEDIATE` transaction, each in its own savepoint (a job
//! that fails is undone alone), and are answered after the commit; `busy_timeout`
//! covers another process holding the file. Point reads run on that thread too,
//! between groups, on a connection whose page cache no other connection resets;
//! queries run on a small pool of read-only connections on the blocking thread
//! pool, which WAL mode lets proceed while the writer commits (each statement
//! sees every commit that finished before it started). A background thread
//! checkpoints the WAL passively.
//!
//! Because commits are serialized, a counter bumped inside each write
//! transaction numbers document writes in commit order: the change feed is
//! "rows with a higher number".
//!
//! [`SqliteStore`](crate::store::sqlite::SqliteStore) and
//! [`SqliteQueue`](crate::queue::sqlite::SqliteQueue) are cheap handles onto one
//! shared [`Database`].

use std::{
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    sync::{mpsc, Arc, Mutex},
    thread::JoinHandle,
    time::Duration,
};

use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::{oneshot, Semaphore};

use crate::{
    clock::SharedClock,
    queue::{sqlite::SqliteQueue, QueueError},
    store::{continuation::TokenSealer, sqlite::SqliteStore, StoreError},
};

/// How long a statement waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of the file each connection maps into memory: pages are read
/// from the mapping instead of copied by `pread` (readers refresh their cache
/// after every commit, so they read pages often).
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// How often the checkpoint thread folds the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// WAL pages past which the writer checkpoints itself (the checkpoint thread
/// normally keeps the WAL far smaller).
const WRITER_CHECKPOINT_PAGES: i64 = 20_000;

/// Read-only connections kept for concurrent reads.
const READ_POOL_SIZE: usize = 4;

/// The meta-table key of the continuation-token signing key.
const SEALER_KEY: &str = "continuation_key";

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
/// Append new steps; never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 1: documents, queues and the meta table.
    "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    -- Clustered on the address: a container or partition listing in the
    -- default (pk, id) order is one range scan that already holds the body.
    CREATE TABLE documents (
        container  TEXT NOT NULL,
        pk         TEXT NOT NULL,
        id         TEXT NOT NULL,
        etag       TEXT NOT NULL,
        body       TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (container, pk, id)
    ) WITHOUT ROWID;

    CREATE TABLE queues (
        name       TEXT PRIMARY KEY NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- seq orders messages oldest first; times are microseconds since the epoch.
    CREATE TABLE messages (
        seq           INTEGER PRIMARY KEY,
        queue         TEXT NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
        id            TEXT NOT NULL UNIQUE,
        body          TEXT NOT NULL,
        pop_receipt   TEXT,
        dequeue_count INTEGER NOT NULL DEFAULT 0,
        inserted_at   INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,
        visible_at    INTEGER NOT NULL
    );
    CREATE INDEX messages_by_visibility ON messages (queue, visible_at, seq);
    CREATE INDEX messages_by_expiry ON messages (queue, expires_at);
    ",
    // 2: the change feed. Every document write takes the next number of the
    // `document_seq` counter inside its transaction; writes are serialized, so
    // seq order is commit order. Existing documents are numbered in the order
    // they were last written.
    "
    ALTER TABLE documents ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE documents SET seq = numbered.n
    FROM (
        SELECT container, pk, id,
               row_number() OVER (ORDER BY updated_at, container, pk, id) AS n
        FROM documents
    ) AS numbered
    WHERE documents.container = numbered.container
      AND documents.pk = numbered.pk
      AND documents.id = numbered.id;
    INSERT INTO meta (key, value)
    SELECT 'document_seq', coalesce(max(seq), 0) FROM documents;
    CREATE UNIQUE INDEX documents_by_seq ON documents (container, seq);
    ",
];

/// The meta-table key of the last document sequence number handed out
/// (migration 2 creates it).
pub(crate) const DOCUMENT_SEQ_KEY: &str = "document_seq";

/// Why a job could not reach the database: it was closed, or a job panicked.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DbUnavailable(String);

impl From<DbUnavailable> for StoreError {
    fn from(e: DbUnavailable) -> Self {
        StoreError::Unavailable(e.0)
    }
}

impl From<DbUnavailable> for QueueError {
    fn from(e: DbUnavailable) -> Self {
        QueueError::Unavailable(e.0)
    }
}

/// How an adapter should read a SQLite error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlFailure {
    /// A UNIQUE / PRIMARY KEY / other constraint refused the write.
    Constraint,
    /// Locked, busy, out of disk or unable to open: worth retrying later.
    Unavailable,
    /// Anything else: a bug or a damaged file.
    Other,
}

/// Classifies a rusqlite error for the adapters' own error mapping.
pub(crate) fn classify(e: &rusqlite::Error) -> SqlFailure {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => SqlFailure::Constraint,
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::ReadOnly => SqlFailure::Unavailable,
            _ => SqlFailure::Other,
        },
        _ => SqlFailure::Other,
    }
}

/// Maps an error met while opening or migrating the file.
fn open_err(e: rusqlite::Error) -> StoreError {
    match classify(&e) {
        SqlFailure::Unavailable => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Internal(e.to_string()),
    }
}

/// Converts a clock reading to the stored form, microseconds since the epoch.
pub(crate) fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Converts a stored time back; out-of-range values clamp to the epoch.
pub(crate) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// Most write jobs committed together in one transaction.
const MAX_GROUP: usize = 64;

/// What a job's caller hears once the group it ran in committed (or not).
type Reply = Box<dyn FnOnce(Result<(), rusqlite::Error>) + Send>;

/// A write job queued for the writer thread.
trait WriteJob: Send {
    /// Runs the job inside the group's transaction: whether it succeeded (its
    /// savepoint is kept) and how to answer its caller after the commit.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply);
    /// Answers the caller without running (the group could not begin).
    fn fail(self: Box<Self>, error: rusqlite::Error);
}

type Job = Box<dyn WriteJob>;

/// One caller's write and the channel its answer goes back on.
struct Pending<T, E, F> {
    job: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> WriteJob for Pending<T, E, F>
where
    T: Send + 'static,
    E: From<TxError> + Send + 'static,
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply) {
        let Pending { job, reply } = *self;
        let outcome = job(conn);
        let ok = outcome.is_ok();
        let answer: Reply = Box::new(move |committed| {
            let _ = reply.send(match (outcome, committed) {
                (Ok(value), Ok(())) => Ok(value),
                (Ok(_), Err(e)) => Err(TxError(e).into()),
                (Err(e), _) => Err(e),
            });
        });
        (ok, answer)
    }

    fn fail(self: Box<Self>, error: rusqlite::Error) {
        let _ = self.reply.send(Err(TxError(error).into()));
    }
}

/// A copy of a SQLite error for each caller of a group that failed together.
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, message) => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error {
                code: f.code,
                extended_code: f.extended_code,
            },
            message.clone(),
        ),
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

/// A read run on the writer's connection (its page cache stays warm: no
/// other connection invalidates it), outside any transaction.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

enum Command {
    Run(Job),
    Read(ReadJob),
    Close(Option<oneshot::Sender<Result<(), String>>>),
}

/// The embedded database: one SQLite file with documents, queues and a signing key.
///
/// Cloning is cheap and shares the file, the writer thread and the read pool.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    clock: SharedClock,
    sealer: TokenSealer,
    writer: mpsc::Sender<Command>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Stops (when dropped) and joins the background checkpoint thread.
    checkpointer: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    readers: ReadPool,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (creating if needed) the database file at `path` and migrates its schema.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the directory or file cannot be created or
    /// opened; [`StoreError::Internal`] when the file is not a database this
    /// version understands (damaged, or migrated by a newer jojomart).
    pub fn open(path: &Path, clock: SharedClock) -> Result<Database, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(path).map_err(open_err)?;
        configure_writer(&conn).map_err(open_err)?;
        migrate(&mut conn)?;
        let key = sealing_key(&mut conn).map_err(open_err)?;

        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        let checkpoint_conn = Connection::open(path).map_err(open_err)?;
        checkpoint_conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(open_err)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let checkpointer = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoint_conn, stopped))
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot start the checkpoint thread: {e}"))
            })?;

        Ok(Database {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                clock,
                sealer: TokenSealer::new(key),
                writer: tx,
                writer_thread: Mutex::new(Some(thread)),
                checkpointer: Mutex::new(Some((stop, checkpointer))),
                readers: ReadPool::new(path.to_owned(), READ_POOL_SIZE),
            }),
        })
    }

    /// A document store over this database.
    pub fn store(&self) -> SqliteStore {
        SqliteStore::new(self.clone())
    }

    /// A message queue over this database.
    pub fn queue(&self) -> SqliteQueue {
        SqliteQueue::new(self.clone())
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The injected clock every timestamp and expiry is read from.
    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The sealer for continuation tokens; its key is persisted in the file.
    pub(crate) fn sealer(&self) -> &TokenSealer {
        &self.inner.sealer
    }

    /// Stops the database: waits for running reads, lets queued writes finish,
    /// checkpoints the WAL into the main file and closes every connection, so
    /// the file opens cleanly afterwards. Later calls on any handle fail with
    /// `Unavailable`. Dropping the last handle does the same, blocking.
    ///
    /// # Errors
    /// [`StoreError::Internal`] when the final checkpoint or close failed; the
    /// data is still safe in the WAL and is recovered on the next open.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.inner.readers.close().await;
        let checkpointer = self
            .inner
            .checkpointer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some((stop, handle)) = checkpointer {
            drop(stop);
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        let (tx, rx) = oneshot::channel();
        let result = if self.inner.writer.send(Command::Close(Some(tx))).is_ok() {
            rx.await.unwrap_or(Ok(())).map_err(StoreError::Internal)
        } else {
            Ok(())
        };
        let handle = self
            .inner
            .writer_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(handle) = handle {
            // The thread has answered and only returns now; joining cannot wait long.
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        result
    }

    /// Runs `job` on the writer thread inside a `BEGIN IMMEDIATE` transaction:
    /// its writes are kept when it returns `Ok` and undone otherwise, and the
    /// answer comes once they are committed. Jobs queued together share one
    /// transaction (each in its own savepoint), so a burst of writes costs
    /// one commit instead of one each.
    pub(crate) async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbUnavailable> + From<TxError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(Pending { job, reply: tx });
        self.inner
            .writer
            .send(Command::Run(job))
            .map_err(|_| DbUnavailable("the database is closed".into()))?;
        rx.await.map_err(|_| {
            DbUnavailable("the write was abandoned (database closed or the job panicked)".into())
        })?
    }

    /// Runs a short read (a point lookup) on the writer thread, after the
    /// writes queued before it commit. The writer's page cache is never
    /// invalidated by another connection in this process, so a lookup there
    /// costs a few microseconds, where a pooled reader, whose cache every
    /// commit resets, reads its pages again. Keep `job` small: it holds up writes.
    pub(crate) async fn read_point<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbUnavailable> + From<TxError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn: &Connection| {
            let _ = tx.send(job(conn));
        });
        self.inner
            .writer
            .send(Command::Read(job))
            .map_err(|_| DbUnavailable("the database is closed".into()))?;
        rx.await.map_err(|_| {
            DbUnavailable("the read was abandoned (database closed or the job panicked)".into())
        })?
    }

    /// Runs `job` on a pooled read-only connection on the blocking thread pool.
    pub(crate) async fn read<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbUnavailable> + From<TxError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        self.inner.readers.run(job).await
    }
}

/// A SQLite error from beginning or committing a transaction, or opening a reader.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct TxError(pub(crate) rusqlite::Error);

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match classify(&e.0) {
            SqlFailure::Unavailable => StoreError::Unavailable(e.0.to_string()),
            _ => StoreError::Internal(e.0.to_string()),
        }
    }
}

impl From<TxError> for QueueError {
    fn from(e: TxError) -> Self {
        match classify(&e.0) {
            SqlFailure::Unavailable => QueueError::Unavailable(e.0.to_string()),
            _ => QueueError::Internal(e.0.to_string()),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.readers.drain_idle();
        if let Some((stop, handle)) = self
            .checkpointer
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            drop(stop);
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
        let handle = self
            .writer_thread
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(handle) = handle else { return };
        if self.writer.send(Command::Close(None)).is_err() {
            return;
        }
        if handle.thread().id() != std::thread::current().id() {
            let _ = handle.join();
        }
    }
}

fn configure_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!(
                "cannot switch to WAL mode (journal_mode is {mode})"
            )),
        ));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    // The checkpoint thread folds the WAL in; the writer only does it itself
    // if the WAL grows far past that (the thread stuck or gone).
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    Ok(())
}

/// Every [`CHECKPOINT_EVERY`], folds the WAL into the database file with a
/// passive checkpoint (which never blocks the writer or readers), off the
/// writer thread; stops when `stop` is dropped.
fn checkpoint_loop(conn: Connection, stop: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "background checkpoint skipped");
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let txn = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open_err)?;
    let version: i64 = txn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::Internal(format!(
            "the database schema is version {version}, newer than this build knows ({known})"
        )));
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        txn.execute_batch(sql).map_err(open_err)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        txn.execute_batch(&format!("PRAGMA user_version = {}", step + 1))
            .map_err(open_err)?;
    }
    txn.commit().map_err(open_err)
}

/// Reads the continuation signing key, creating it on first open.
fn sealing_key(conn: &mut Connection) -> rusqlite::Result<Vec<u8>> {
    let txn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<Vec<u8>> = txn
        .query_row("SELECT value FROM meta WHERE key = ?1", [SEALER_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    let key = match existing {
        Some(key) if key.len() >= 32 => key,
        _ => {
            let mut key = vec![0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            txn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![SEALER_KEY, key],
            )?;
            key
        }
    };
    txn.commit()?;
    Ok(key)
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Command>) {
    let mut reply = None;
    while let Ok(command) = jobs.recv() {
        let (mut group, mut reads) = (Vec::new(), Vec::new());
        let mut closing = None;
        let mut next = Some(command);
        while let Some(command) = next.take() {
            match command {
                Command::Run(job) => group.push(job),
                Command::Read(job) => reads.push(job),
                Command::Close(tx) => {
                    closing = Some(tx);
                    break;
                }
            }
            if group.len() + reads.len() < MAX_GROUP {
                next = jobs.try_recv().ok();
            }
        }
        if !group.is_empty() {
            run_group(&conn, group);
        }
        // Reads queued with the group run after its commit, so they see it.
        for read in reads {
            if std::panic::catch_unwind(AssertUnwindSafe(|| read(&conn))).is_err() {
                tracing::error!("a sqlite read job panicked");
            }
        }
        if let Some(tx) = closing {
            reply = tx;
            break;
        }
    }
    let result = shutdown(conn);
    if let Err(e) = &result {
        tracing::warn!(error = %e, "sqlite close was not clean; the WAL is recovered on next open");
    }
    if let Some(tx) = reply {
        let _ = tx.send(result);
    }
}

/// Runs `group` in one transaction, each job in its own savepoint (a job that
/// fails or panics is undone alone), commits, then answers every caller.
fn run_group(conn: &Connection, group: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        for job in group {
            job.fail(copy_error(&e));
        }
        return;
    }
    let mut replies = Vec::with_capacity(group.len());
    let mut broken = None;
    for job in group {
        if let Some(e) = &broken {
            job.fail(copy_error(e));
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            job.fail(copy_error(&e));
            broken = Some(e);
            continue;
        }
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn)));
        let keep = match ran {
            Ok((ok, reply)) => {
                replies.push(reply);
                ok
            }
            Err(_) => {
                tracing::error!("a sqlite write job panicked; its writes were rolled back");
                false
            }
        };
        let end = if keep {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            broken = Some(e);
        }
    }
    let committed = match broken {
        Some(e) => Err(e),
        None => conn.execute_batch("COMMIT"),
    };
    let committed = committed.inspect_err(|_| {
        let _ = conn.execute_batch("ROLLBACK");
    });
    for reply in replies {
        reply(committed.as_ref().map(|_| ()).map_err(copy_error));
    }
}

/// Folds the WAL into the main file and closes the write connection.
fn shutdown(conn: Connection) -> Result<(), String> {
    let checkpoint = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| format!("checkpoint failed: {e}"));
    let closed = conn.close().map_err(|(_, e)| format!("close failed: {e}"));
    match checkpoint {
        Ok(0) => closed,
        Ok(_) => {
            // Another process still reads the file; it folds the WAL in when it closes.
            tracing::debug!("final checkpoint was blocked by another connection");
            closed
        }
        Err(e) => Err(e),
    }
}

/// Read-only connections handed out one per concurrent read.
struct ReadPool {
    path: PathBuf,
    size: usize,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    fn new(path: PathBuf, size: usize) -> Self {
        Self {
            path,
            size,
            idle: Arc::new(Mutex::new(Vec::with_capacity(size))),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    async fn run<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbUnavailable> + From<TxError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DbUnavailable("the database is closed".into()))?;
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let path = self.path.clone();
        let idle = Arc::clone(&self.idle);
        tokio::task::spawn_blocking(move || {
            let conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&path).map_err(TxError)?,
            };
            let result = job(&conn);
            idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|_| DbUnavailable("a read panicked".into()))?
    }

    /// Waits for running reads, refuses new ones and closes every connection.
    async fn close(&self) {
        if let Ok(all) = self.permits.acquire_many(self.size as u32).await {
            all.forget();
        }
        self.permits.close();
        self.drain_idle();
    }

    fn drain_idle(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    Ok(conn)
}

/// A database in a fresh temporary directory, deleted on drop; for tests.
#[cfg(feature = "test-support")]
#[derive(Debug)]
pub struct TempDatabase {
    db: Database,
    dir: tempfile::TempDir,
}

#[cfg(feature = "test-support")]
impl TempDatabase {
    /// Opens a new, empty database file in a temporary directory.
    ///
    /// # Errors
    /// As [`Database::open`], or [`StoreError::Unavailable`] when no temporary
    /// directory can be made.
    pub fn new(clock: SharedClock) -> Result<Self, StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let db = Database::open(&dir.path().join("jojomart.sqlite3"), clock)?;
        Ok(Self { db, dir })
    }

    /// The directory holding the file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(feature = "test-support")]
impl std::ops::Deref for TempDatabase {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::params;
    use serde_json::json;

    use super::*;
    use crate::{
        clock::SystemClock,
        store::{Container, DocumentStore, FeedPosition},
    };

    /// A file written by schema version 1 gains the change feed when opened:
    /// its documents enter the feed in the order they were last written, each
    /// container keeps to its own, and new writes follow them.
    #[tokio::test]
    async fn migration_numbers_existing_documents_in_write_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("v1.sqlite3");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(MIGRATIONS[0]).expect("schema 1");
            conn.execute_batch("PRAGMA user_version = 1")
                .expect("version");
            for (container, pk, id, at) in [
                ("things", "p", "late", 30),
                ("things", "p", "early", 10),
                ("others", "p", "other", 20),
                ("things", "q", "middle", 20),
            ] {
                let body = json!({"id": id, "pk": pk}).to_string();
                conn.execute(
                    "INSERT INTO documents (container, pk, id, etag, body, updated_at)
                     VALUES (?1, ?2, ?3, 'e', ?4, ?5)",
                    params![container, pk, id, body, at],
                )
                .expect("insert");
            }
        }
        let db = Database::open(&path, Arc::new(SystemClock)).expect("open migrates");
        let store = db.store();
        let things = &Container::new("things", "pk");
        let ids = |page: &crate::store::ChangePage| -> Vec<String> {
            page.documents.iter().map(|d| d.id.clone()).collect()
        };

        let page = store
            .changes(things, &FeedPosition::beginning(), 10)
            .await
            .expect("read the feed");
        assert_eq!(ids(&page), ["early", "middle", "late"]);
        store
            .create(things, "p", "new", json!({}))
            .await
            .expect("create");
        let next = store
            .changes(things, &page.next, 10)
            .await
            .expect("read on");
        assert_eq!(ids(&next), ["new"]);
        db.close().await.expect("close");

        let conn = Connection::open(&path).expect("reopen");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    /// Writes queued together share a commit, but each stands alone: in a
    /// burst where every other write fails halfway (after writing one row),
    /// or panics, the others are all kept and nothing of the failed ones is.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn writes_committed_together_succeed_or_fail_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db =
            Database::open(&dir.path().join("group.sqlite3"), Arc::new(SystemClock)).expect("open");
        let writes = (0..200).map(|n: i64| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |conn| {
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                        params![format!("k{n}"), n],
                    )
                    .map_err(|e| StoreError::Internal(e.to_string()))?;
                    match n % 4 {
                        1 => Err(StoreError::Internal("this job fails".into())),
                        3 if n % 8 == 3 => panic!("job {n} panics"),
                        _ => Ok(n),
                    }
                })
                .await
            })
        });
        let outcomes: Vec<Result<Result<i64, StoreError>, _>> =
            futures::future::join_all(writes).await;
        let kept: i64 = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok().and_then(|r| r.as_ref().ok()))
            .count() as i64;
        assert_eq!(kept, 200 - 50 - 25, "{outcomes:?}");
        let db2 = db.clone();
        let stored: Vec<i64> = db2
            .read(|conn| {
                let internal = |e: rusqlite::Error| StoreError::Internal(e.to_string());
                let mut stmt = conn
                    .prepare("SELECT value FROM meta WHERE key LIKE 'k%' ORDER BY value")
                    .map_err(internal)?;
                let rows = stmt
                    .query_map([], |r| r.get::<_, i64>(0))
                    .map_err(internal)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(internal)?;
                Ok::<_, StoreError>(rows)
            })
            .await
            .expect("read back");
        let expected: Vec<i64> = (0..200).filter(|n| n % 4 != 1 && n % 8 != 3).collect();
        assert_eq!(stored, expected);
        db.close().await.expect("close");
    }
}
