//! The cache port: shared fast state with expiry, for what must hold across
//! instances but need not last (throttle windows, short-lived marks).
//!
//! Small on purpose: an atomic counter with a window ([`Cache::add`]), and
//! short-lived string values ([`Cache::get`], [`Cache::set`], [`Cache::delete`]).
//! Every key expires: a counter `window` after it was created (fixed windows,
//! so hammering a key never extends it), a value `ttl` after it was set.
//!
//! Adapters:
//! - [`memory::MemoryCache`]: in-process, bounded, expiring; the `dev` default
//!   (one process, nothing to run);
//! - [`redis::RedisCache`]: Redis (Azure Cache for Redis in production), shared
//!   by every instance;
//! - [`store::StoreCache`]: the same on the document store (the `cache`
//!   container, per-document TTL on Cosmos DB, [`store::StoreCache::sweep`] on
//!   SQLite): slower, but shared and always there;
//! - [`fallback::FallbackCache`]: Redis first, the store while Redis does not
//!   answer, which is what `JOJOMART_CACHE=redis` runs.
//!
//! All pass `crate::conformance::cache` (feature `test-support`).

pub mod fallback;
pub mod memory;
pub mod redis;
pub mod store;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

/// A counter after an [`Cache::add`]: its value and the time left in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// The count after the addition.
    pub count: i64,
    /// Time until the window ends and the counter is gone.
    pub ttl: Duration,
}

/// A stored value and the time it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value (a counter reads as its decimal number).
    pub value: String,
    /// Time until it expires.
    pub ttl: Duration,
}

impl Entry {
    /// The value as a counter (`0` when it is not a number).
    pub fn count(&self) -> i64 {
        self.value.parse().unwrap_or(0)
    }
}

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The backend did not answer (or not in time); callers may fall back.
    #[error("the cache is unavailable: {0}")]
    Unavailable(String),
    /// The backend answered something unexpected (a bug or a foreign key).
    #[error("unexpected cache answer: {0}")]
    Protocol(String),
}

/// How the cache is doing, for `GET /api/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheHealth {
    /// The configured backend answers.
    Ok,
    /// The fast path is down and the store stands in (slower, still correct).
    Fallback,
    /// Nothing answers.
    Down,
}

impl CacheHealth {
    /// The word health reports: `ok`, `fallback` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fallback => "fallback",
            Self::Down => "down",
        }
    }
}

/// Counters and short-lived values with expiry, shared as widely as the adapter reaches.
#[async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug + 'static {
    /// Adds `delta` to the counter at `key` atomically and returns the new
    /// count and the time left in its window. A missing counter starts at 0
    /// and lives `window` from now (later additions do not extend it); adding
    /// zero or less to a missing counter leaves it missing and returns 0.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend does not answer.
    async fn add(&self, key: &str, delta: i64, window: Duration) -> Result<Counter, CacheError>;

    /// The value at `key`, unless missing or expired.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend does not answer.
    async fn get(&self, key: &str) -> Result<Option<Entry>, CacheError>;

    /// Sets `key` to `value` for `ttl` (a counter there is replaced).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend does not answer.
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;

    /// Removes `key`; a missing key is fine.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the backend does not answer.
    async fn delete(&self, key: &str) -> Result<(), CacheError>;

    /// Which adapter this is: `memory`, `redis` or `store`.
    fn kind(&self) -> &'static str;

    /// Whether the backend answers now.
    async fn health(&self) -> CacheHealth;
}

/// Shared handle to a cache.
pub type SharedCache = Arc<dyn Cache>;

/// Rounds a duration up to whole milliseconds, at least 1 (Redis and the
/// store keep milliseconds; a zero window would expire at once).
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}
