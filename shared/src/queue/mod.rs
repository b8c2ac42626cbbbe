//! The queue port: at-least-once messages with visibility timeouts, dequeue
//! counts, pop receipts and poison queues, as Azure Storage Queues promise.
//!
//! Adapters: [`sqlite`] (embedded default); the Storage Queue adapter lives in
//! `azure` when built with Azure support. Both pass [`crate::conformance::queue`].

#[cfg(feature = "azure")]
pub mod azure;
pub mod delivery;
pub mod sqlite;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use delivery::{DeliveryPolicy, Outcome};

/// The suffix of the queue that takes messages which failed too often.
pub const POISON_SUFFIX: &str = "-poison";

/// The name of `queue`'s poison twin.
pub fn poison_queue(queue: &str) -> String {
    format!("{queue}{POISON_SUFFIX}")
}

/// Checks a queue name against Azure Storage's rules: 3 to 63 characters of
/// lowercase letters, digits and single hyphens, starting and ending with a
/// letter or digit. Adapters call it so a bad name fails the same way everywhere.
///
/// # Errors
/// [`QueueError::Invalid`] naming the rule that was broken.
pub fn validate_queue_name(name: &str) -> Result<(), QueueError> {
    let bad = |why: &str| Err(QueueError::Invalid(format!("queue name `{name}` {why}")));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad("may only hold lowercase letters, digits and hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return bad("must start and end with a letter or digit");
    }
    if name.contains("--") {
        return bad("must not hold consecutive hyphens");
    }
    Ok(())
}

/// Options for sending a message.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// How long the message stays invisible after it is sent.
    pub initial_delay: Duration,
    /// How long the message lives; `None` is the service default (7 days).
    pub time_to_live: Option<Duration>,
}

/// What a send returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message id.
    pub id: String,
}

/// A message taken off a queue, invisible to others until its timeout passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The message id, stable across deliveries.
    pub id: String,
    /// Proves this delivery; needed to delete or extend the message.
    pub pop_receipt: String,
    /// The message text, exactly as sent.
    pub body: String,
    /// How many times the message has been received, this time included.
    pub dequeue_count: u32,
    /// When the message was first sent.
    pub insertion_time: DateTime<Utc>,
    /// When the message expires.
    pub expiration_time: DateTime<Utc>,
    /// When it becomes visible again unless deleted.
    pub next_visible_time: DateTime<Utc>,
}

/// What can go wrong with the queue; adapters map their native errors onto these.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue or message does not exist.
    #[error("queue or message not found")]
    NotFound,
    /// The pop receipt no longer matches the message (it was redelivered).
    #[error("pop receipt does not match the message")]
    PopReceiptMismatch,
    /// The request was malformed (bad queue name, message too large...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend is unreachable.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("queue failure: {0}")]
    Internal(String),
}

/// The queue port.
#[async_trait]
pub trait MessageQueue: Send + Sync + std::fmt::Debug + 'static {
    /// Short adapter name for health and logs (`sqlite`, `azure`).
    fn kind(&self) -> &'static str;

    /// Creates the queue if it does not exist.
    async fn ensure_queue(&self, queue: &str) -> Result<(), QueueError>;

    /// Sends a message.
    async fn send(
        &self,
        queue: &str,
        body: &str,
        options: SendOptions,
    ) -> Result<SentMessage, QueueError>;

    /// Receives up to `max` visible messages (1..=32), hiding them for `visibility_timeout`.
    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Deletes a received message; [`QueueError::PopReceiptMismatch`] if the receipt is stale.
    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> Result<(), QueueError>;

    /// Hides a received message for `visibility_timeout` from now; returns the new pop receipt.
    async fn update_visibility(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        visibility_timeout: Duration,
    ) -> Result<String, QueueError>;

    /// The approximate number of messages in the queue, visible or not.
    async fn approximate_count(&self, queue: &str) -> Result<u64, QueueError>;

    /// Checks that the backend answers.
    async fn health(&self) -> Result<(), QueueError>;
}

/// Shared handle to a queue.
pub type SharedQueue = Arc<dyn MessageQueue>;
