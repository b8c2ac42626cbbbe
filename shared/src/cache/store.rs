//! The cache on the document store: one small document per key in the
//! [`CACHE`] container, written through the store's conditional update (so
//! concurrent additions lose nothing). What `JOJOMART_CACHE=redis` falls back
//! to while Redis is down, and `JOJOMART_CACHE=store` runs on its own.
//!
//! Expiry: each document carries its expiry instant (checked on every read,
//! so an expired key is gone at once) and a Cosmos DB `ttl` (the container
//! has per-document TTL, Bicep `defaultTtl: -1`), so Cosmos deletes it; the
//! SQLite store has no TTL, so [`StoreCache::sweep`] (the platform's
//! `sweep-cache` timer) deletes what expired. Document ids are SHA-256 of the
//! key: no key is stored in the clear, and any key makes a valid id.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{millis, Cache, CacheError, CacheHealth, Counter, Entry};
use crate::{
    clock::SharedClock,
    store::{update, Change, Container, Filter, Query, SharedStore, StoreError, Ttl},
};

/// The store's cache container (partition key `key`, per-document TTL).
/// Declared by the platform service.
pub const CACHE: &Container = &Container::new("cache", "key").with_ttl(Ttl::PerDocument);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Slot {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// Unix milliseconds after which the key is gone.
    expires_at_ms: i64,
    /// Cosmos DB's per-document time to live, in seconds.
    ttl: i64,
}

/// The store-backed adapter.
#[derive(Debug, Clone)]
pub struct StoreCache {
    store: SharedStore,
    clock: SharedClock,
}

fn unavailable(e: StoreError) -> CacheError {
    CacheError::Unavailable(e.to_string())
}

fn doc_id(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl StoreCache {
    /// The cache on `store`, expiring on `clock`.
    pub fn new(store: SharedStore, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Deletes up to `limit` expired keys; returns how many went. The SQLite
    /// store needs it (Cosmos DB deletes them itself).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the store fails.
    pub async fn sweep(&self, limit: u32) -> Result<usize, CacheError> {
        let page = self
            .store
            .query(
                &Query::new(CACHE)
                    .filter(Filter::Lt(
                        Filter::field("expiresAtMs"),
                        self.now_ms().into(),
                    ))
                    .limit(limit.clamp(1, 100)),
            )
            .await
            .map_err(unavailable)?;
        let mut gone = 0;
        for doc in page.items {
            // The ETag keeps a key re-created since the query.
            match self
                .store
                .delete(CACHE, &doc.partition_key, &doc.id, Some(&doc.etag))
                .await
            {
                Ok(()) => gone += 1,
                Err(StoreError::NotFound | StoreError::PreconditionFailed) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(gone)
    }

    async fn live(&self, key: &str) -> Result<Option<Slot>, CacheError> {
        let id = doc_id(key);
        let doc = self
            .store
            .read(CACHE, &id, &id)
            .await
            .map_err(unavailable)?;
        let slot = match doc {
            Some(doc) => doc
                .parse::<Slot>()
                .map_err(|e| CacheError::Protocol(e.to_string()))?,
            None => return Ok(None),
        };
        Ok((slot.expires_at_ms > self.now_ms()).then_some(slot))
    }
}

fn ttl_secs(ms: i64) -> i64 {
    (ms + 999) / 1000
}

fn left(expires_at_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(expires_at_ms - now_ms).unwrap_or(0))
}

#[async_trait]
impl Cache for StoreCache {
    async fn add(&self, key: &str, delta: i64, window: Duration) -> Result<Counter, CacheError> {
        let id = doc_id(key);
        let now = self.now_ms();
        let mut result = Counter {
            count: 0,
            ttl: Duration::ZERO,
        };
        update::<Slot, StoreError, _>(self.store.as_ref(), CACHE, &id, &id, |slot| {
            let live = slot.filter(|s| s.expires_at_ms > now);
            let next = match live {
                Some(s) => Slot {
                    count: Some(
                        s.count
                            .or_else(|| s.value.as_deref().and_then(|v| v.parse().ok()))
                            .unwrap_or(0)
                            .saturating_add(delta),
                    ),
                    value: None,
                    ttl: ttl_secs(s.expires_at_ms - now),
                    ..s
                },
                None if delta <= 0 => {
                    result = Counter {
                        count: 0,
                        ttl: Duration::ZERO,
                    };
                    return Ok(Change::Keep);
                }
                None => Slot {
                    key: id.clone(),
                    count: Some(delta),
                    value: None,
                    expires_at_ms: now + millis(window),
                    ttl: ttl_secs(millis(window)),
                },
            };
            result = Counter {
                count: next.count.unwrap_or(0),
                ttl: left(next.expires_at_ms, now),
            };
            Ok(Change::Write(next))
        })
        .await
        .map_err(unavailable)?;
        Ok(result)
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, CacheError> {
        let now = self.now_ms();
        Ok(self.live(key).await?.map(|s| Entry {
            value: s.value.unwrap_or_else(|| s.count.unwrap_or(0).to_string()),
            ttl: left(s.expires_at_ms, now),
        }))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let id = doc_id(key);
        let slot = Slot {
            key: id.clone(),
            count: None,
            value: Some(value.to_owned()),
            expires_at_ms: self.now_ms() + millis(ttl),
            ttl: ttl_secs(millis(ttl)),
        };
        let body = crate::store::to_body(&slot).map_err(unavailable)?;
        self.store
            .upsert(CACHE, &id, &id, body)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let id = doc_id(key);
        match self.store.delete(CACHE, &id, &id, None).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn kind(&self) -> &'static str {
        "store"
    }

    async fn health(&self) -> CacheHealth {
        match self.store.health().await {
            Ok(()) => CacheHealth::Ok,
            Err(_) => CacheHealth::Down,
        }
    }
}
