//! Redis first, the store when Redis does not answer: the fast path when it
//! is there, the slow one (still shared, still correct) when it is not.
//!
//! After a failed call the primary is left alone for [`RETRY_AFTER`], so a
//! dead Redis costs one timeout per instance per interval, not one per
//! request. Counts kept in the store while Redis was down stay there: a
//! window that began on one backend and continues on the other starts over,
//! which errs by at most one window's worth of attempts per outage.

use std::{sync::Mutex, time::Duration};

use async_trait::async_trait;
use tokio::time::Instant;

use super::{Cache, CacheError, CacheHealth, Counter, Entry, SharedCache};

/// How long the primary is skipped after it failed.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The primary, and the fallback that stands in while it is down.
#[derive(Debug)]
pub struct FallbackCache {
    primary: SharedCache,
    fallback: SharedCache,
    down_until: Mutex<Option<Instant>>,
}

impl FallbackCache {
    /// `primary` first, `fallback` while it fails.
    pub fn new(primary: SharedCache, fallback: SharedCache) -> Self {
        Self {
            primary,
            fallback,
            down_until: Mutex::new(None),
        }
    }

    fn primary_is_resting(&self) -> bool {
        let guard = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        guard.is_some_and(|until| Instant::now() < until)
    }

    fn mark(&self, up: bool, error: Option<&CacheError>) {
        let mut guard = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        let was_down = guard.is_some();
        if up {
            if was_down {
                tracing::info!(cache = self.primary.kind(), "the cache answers again");
            }
            *guard = None;
        } else {
            if !was_down {
                tracing::warn!(cache = self.primary.kind(), error = ?error.map(ToString::to_string),
                    "the cache does not answer; the store stands in");
            }
            *guard = Some(Instant::now() + RETRY_AFTER);
        }
    }

    async fn either<T, F, Fut>(&self, call: F) -> Result<T, CacheError>
    where
        F: Fn(SharedCache) -> Fut,
        Fut: std::future::Future<Output = Result<T, CacheError>>,
    {
        if !self.primary_is_resting() {
            match call(self.primary.clone()).await {
                Err(e @ CacheError::Unavailable(_)) => self.mark(false, Some(&e)),
                other => {
                    self.mark(true, None);
                    return other;
                }
            }
        }
        call(self.fallback.clone()).await
    }
}

#[async_trait]
impl Cache for FallbackCache {
    async fn add(&self, key: &str, delta: i64, window: Duration) -> Result<Counter, CacheError> {
        self.either(|c| async move { c.add(key, delta, window).await })
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, CacheError> {
        self.either(|c| async move { c.get(key).await }).await
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        self.either(|c| async move { c.set(key, value, ttl).await })
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.either(|c| async move { c.delete(key).await }).await
    }

    fn kind(&self) -> &'static str {
        self.primary.kind()
    }

    async fn health(&self) -> CacheHealth {
        let primary = self.primary.health().await;
        self.mark(primary == CacheHealth::Ok, None);
        match (primary, self.fallback.health().await) {
            (CacheHealth::Ok, _) => CacheHealth::Ok,
            (_, CacheHealth::Ok) => CacheHealth::Fallback,
            _ => CacheHealth::Down,
        }
    }
}
