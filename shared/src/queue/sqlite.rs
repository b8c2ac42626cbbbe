//! SQLite queue adapter: the embedded default behind [`MessageQueue`], in the
//! same file as the documents.
//!
//! A message row carries its queue, body, dequeue count, current pop receipt and
//! three instants from the injected clock: inserted, expires, visible again.
//! Receiving picks the oldest visible unexpired rows and re-stamps them (new pop
//! receipt, count + 1, hidden until now + timeout) in one writer-thread
//! transaction, so two receivers can never take the same message at once.
//! Limits follow Azure Storage Queues: names as [`validate_queue_name`], 1..=32
//! messages per receive, visibility up to 7 days, and bodies up to 48 KiB, the
//! most that fits Azure's 64 KiB once base64-encoded for the Functions trigger.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    validate_queue_name, MessageQueue, QueueError, ReceivedMessage, SendOptions, SentMessage,
};
use crate::sqlite::{classify, from_micros, to_micros, Database, SqlFailure};

/// How long a message lives when the sender does not say (Azure's default).
pub const DEFAULT_TIME_TO_LIVE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest visibility timeout or initial delay Azure accepts.
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The largest message body, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 48 * 1024;
/// The most messages one receive returns.
const MAX_RECEIVE: u32 = 32;

/// The SQLite-backed [`MessageQueue`]; a cheap handle onto a [`Database`].
#[derive(Debug, Clone)]
pub struct SqliteQueue {
    db: Database,
}

impl SqliteQueue {
    /// A queue over `db` (the same as [`Database::queue`]).
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn now(&self) -> i64 {
        to_micros(self.db.clock().now())
    }
}

fn queue_err(e: rusqlite::Error) -> QueueError {
    match classify(&e) {
        SqlFailure::Unavailable => QueueError::Unavailable(e.to_string()),
        SqlFailure::Constraint | SqlFailure::Other => QueueError::Internal(e.to_string()),
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn new_receipt() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn check_visibility(timeout: Duration, min: Duration) -> Result<(), QueueError> {
    if timeout < min || timeout > MAX_VISIBILITY_TIMEOUT {
        return Err(QueueError::Invalid(format!(
            "a visibility timeout must be between {}s and 7 days",
            min.as_secs()
        )));
    }
    Ok(())
}

/// Fails with `NotFound` unless the queue was created.
fn require_queue(conn: &Connection, queue: &str) -> Result<(), QueueError> {
    conn.prepare_cached("SELECT 1 FROM queues WHERE name = ?1")
        .and_then(|mut s| s.query_row([queue], |_| Ok(())).optional())
        .map_err(queue_err)?
        .ok_or(QueueError::NotFound)
}

/// Drops the queue's expired messages, as the service does on its own.
fn purge_expired(conn: &Connection, queue: &str, now: i64) -> Result<(), QueueError> {
    conn.prepare_cached("DELETE FROM messages WHERE queue = ?1 AND expires_at <= ?2")
        .and_then(|mut s| s.execute(params![queue, now]))
        .map_err(queue_err)?;
    Ok(())
}

/// Checks that `pop_receipt` is the live message's current receipt.
fn require_receipt(
    conn: &Connection,
    queue: &str,
    id: &str,
    pop_receipt: &str,
    now: i64,
) -> Result<(), QueueError> {
    require_queue(conn, queue)?;
    let current: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT pop_receipt FROM messages WHERE queue = ?1 AND id = ?2 AND expires_at > ?3",
        )
        .and_then(|mut s| {
            s.query_row(params![queue, id, now], |r| r.get(0))
                .optional()
        })
        .map_err(queue_err)?;
    match current {
        None => Err(QueueError::NotFound),
        Some(Some(current)) if current == pop_receipt => Ok(()),
        Some(_) => Err(QueueError::PopReceiptMismatch),
    }
}

#[async_trait]
impl MessageQueue for SqliteQueue {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ensure_queue(&self, queue: &str) -> Result<(), QueueError> {
        validate_queue_name(queue)?;
        let (queue, now) = (queue.to_owned(), self.now());
        self.db
            .write(move |txn| {
                txn.execute(
                    "INSERT INTO queues (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    params![queue, now],
                )
                .map_err(queue_err)?;
                Ok(())
            })
            .await
    }

    async fn send(
        &self,
        queue: &str,
        body: &str,
        options: SendOptions,
    ) -> Result<SentMessage, QueueError> {
        validate_queue_name(queue)?;
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::Invalid(format!(
                "a message body must be at most {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        let ttl = options.time_to_live.unwrap_or(DEFAULT_TIME_TO_LIVE);
        if ttl.is_zero() {
            return Err(QueueError::Invalid(
                "a time to live must be positive".into(),
            ));
        }
        check_visibility(options.initial_delay, Duration::ZERO)?;
        if options.initial_delay >= ttl {
            return Err(QueueError::Invalid(
                "the initial delay must be shorter than the time to live".into(),
            ));
        }
        let now = self.now();
        let id = uuid::Uuid::new_v4().to_string();
        let sent = SentMessage { id: id.clone() };
        let (queue, body) = (queue.to_owned(), body.to_owned());
        let (expires, visible) = (
            now.saturating_add(micros(ttl)),
            now.saturating_add(micros(options.initial_delay)),
        );
        self.db
            .write(move |txn| {
                require_queue(txn, &queue)?;
                purge_expired(txn, &queue, now)?;
                txn.prepare_cached(
                    "INSERT INTO messages (queue, id, body, dequeue_count, inserted_at, expires_at, visible_at)
                     VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                )
                .and_then(|mut s| s.execute(params![queue, id, body, now, expires, visible]))
                .map_err(queue_err)?;
                Ok::<_, QueueError>(())
            })
            .await?;
        Ok(sent)
    }

    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        validate_queue_name(queue)?;
        if !(1..=MAX_RECEIVE).contains(&max) {
            return Err(QueueError::Invalid(format!(
                "receive takes 1 to {MAX_RECEIVE} messages"
            )));
        }
        check_visibility(visibility_timeout, Duration::from_secs(1))?;
        let now = self.now();
        let visible = now.saturating_add(micros(visibility_timeout));
        let queue = queue.to_owned();
        self.db
            .write(move |txn| {
                require_queue(txn, &queue)?;
                purge_expired(txn, &queue, now)?;
                let mut pick = txn
                    .prepare_cached(
                        "SELECT seq, id, body, dequeue_count, inserted_at, expires_at FROM messages
                         WHERE queue = ?1 AND visible_at <= ?2 AND expires_at > ?2
                         ORDER BY seq LIMIT ?3",
                    )
                    .map_err(queue_err)?;
                let picked = pick
                    .query_map(params![queue, now, max], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, u32>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(queue_err)?;
                let mut stamp = txn
                    .prepare_cached(
                        "UPDATE messages SET pop_receipt = ?1, dequeue_count = dequeue_count + 1, visible_at = ?2
                         WHERE seq = ?3",
                    )
                    .map_err(queue_err)?;
                picked
                    .into_iter()
                    .map(|(seq, id, body, count, inserted, expires)| {
                        let pop_receipt = new_receipt();
                        stamp.execute(params![pop_receipt, visible, seq]).map_err(queue_err)?;
                        Ok(ReceivedMessage {
                            id,
                            pop_receipt,
                            body,
                            dequeue_count: count.saturating_add(1),
                            insertion_time: from_micros(inserted),
                            expiration_time: from_micros(expires),
                            next_visible_time: from_micros(visible),
                        })
                    })
                    .collect()
            })
            .await
    }

    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> Result<(), QueueError> {
        validate_queue_name(queue)?;
        let now = self.now();
        let (queue, id, pop_receipt) = (queue.to_owned(), id.to_owned(), pop_receipt.to_owned());
        self.db
            .write(move |txn| {
                require_receipt(txn, &queue, &id, &pop_receipt, now)?;
                txn.execute(
                    "DELETE FROM messages WHERE queue = ?1 AND id = ?2",
                    params![queue, id],
                )
                .map_err(queue_err)?;
                Ok(())
            })
            .await
    }

    async fn update_visibility(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        visibility_timeout: Duration,
    ) -> Result<String, QueueError> {
        validate_queue_name(queue)?;
        check_visibility(visibility_timeout, Duration::ZERO)?;
        let now = self.now();
        let visible = now.saturating_add(micros(visibility_timeout));
        let (queue, id, pop_receipt) = (queue.to_owned(), id.to_owned(), pop_receipt.to_owned());
        self.db
            .write(move |txn| {
                require_receipt(txn, &queue, &id, &pop_receipt, now)?;
                let receipt = new_receipt();
                txn.execute(
                    "UPDATE messages SET pop_receipt = ?1, visible_at = ?2 WHERE queue = ?3 AND id = ?4",
                    params![receipt, visible, queue, id],
                )
                .map_err(queue_err)?;
                Ok(receipt)
            })
            .await
    }

    async fn approximate_count(&self, queue: &str) -> Result<u64, QueueError> {
        validate_queue_name(queue)?;
        let now = self.now();
        let queue = queue.to_owned();
        self.db
            .read(move |conn| {
                require_queue(conn, &queue)?;
                conn.prepare_cached(
                    "SELECT count(*) FROM messages WHERE queue = ?1 AND expires_at > ?2",
                )
                .and_then(|mut s| s.query_row(params![queue, now], |r| r.get::<_, u64>(0)))
                .map_err(queue_err)
            })
            .await
    }

    async fn health(&self) -> Result<(), QueueError> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT count(*) FROM queues", [], |_| Ok(()))
                    .map_err(queue_err)
            })
            .await?;
        self.db.write(|_| Ok::<_, QueueError>(())).await
    }
}
