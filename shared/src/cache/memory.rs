//! The in-process cache: a map behind a mutex, bounded and expiring on the
//! injected clock. The `dev` default; one process only (two `dev` processes
//! each count on their own, so share Redis or the store for that).

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Cache, CacheError, CacheHealth, Counter, Entry};
use crate::clock::SharedClock;

/// Keys kept at most by default; past it, expired keys go first, then the
/// ones closest to expiry.
pub const DEFAULT_CAPACITY: usize = 100_000;

#[derive(Debug, Clone)]
struct Slot {
    value: Value,
    expires: DateTime<Utc>,
}

#[derive(Debug, Clone)]
enum Value {
    Count(i64),
    Text(String),
}

/// The in-process adapter.
#[derive(Debug)]
pub struct MemoryCache {
    clock: SharedClock,
    capacity: usize,
    slots: Mutex<HashMap<String, Slot>>,
}

impl MemoryCache {
    /// An empty cache on `clock` holding at most [`DEFAULT_CAPACITY`] keys.
    pub fn new(clock: SharedClock) -> Self {
        Self::with_capacity(clock, DEFAULT_CAPACITY)
    }

    /// An empty cache holding at most `capacity` keys (at least 1).
    pub fn with_capacity(clock: SharedClock, capacity: usize) -> Self {
        Self {
            clock,
            capacity: capacity.max(1),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// How many keys are held now (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic while holding the lock cannot leave a slot half-written.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes room for one more key: drops the expired ones, then the soonest to expire.
    fn make_room(&self, slots: &mut HashMap<String, Slot>, now: DateTime<Utc>) {
        if slots.len() < self.capacity {
            return;
        }
        slots.retain(|_, s| s.expires > now);
        while slots.len() >= self.capacity {
            let Some(soonest) = slots
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            slots.remove(&soonest);
        }
    }
}

fn left(expires: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (expires - now).to_std().unwrap_or(Duration::ZERO)
}

fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::milliseconds(super::millis(d))
}

#[async_trait]
impl Cache for MemoryCache {
    async fn add(&self, key: &str, delta: i64, window: Duration) -> Result<Counter, CacheError> {
        let now = self.clock.now();
        let mut slots = self.lock();
        let live = slots.get(key).filter(|s| s.expires > now).cloned();
        let (count, expires) = match live {
            Some(Slot {
                value: Value::Count(n),
                expires,
            }) => (n.saturating_add(delta), expires),
            Some(Slot {
                value: Value::Text(t),
                expires,
            }) => (t.parse::<i64>().unwrap_or(0).saturating_add(delta), expires),
            None if delta <= 0 => {
                slots.remove(key);
                return Ok(Counter {
                    count: 0,
                    ttl: Duration::ZERO,
                });
            }
            None => {
                slots.remove(key);
                self.make_room(&mut slots, now);
                (delta, now + span(window))
            }
        };
        slots.insert(
            key.to_owned(),
            Slot {
                value: Value::Count(count),
                expires,
            },
        );
        Ok(Counter {
            count,
            ttl: left(expires, now),
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, CacheError> {
        let now = self.clock.now();
        let slots = self.lock();
        Ok(slots.get(key).filter(|s| s.expires > now).map(|s| Entry {
            value: match &s.value {
                Value::Count(n) => n.to_string(),
                Value::Text(t) => t.clone(),
            },
            ttl: left(s.expires, now),
        }))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let now = self.clock.now();
        let mut slots = self.lock();
        if !slots.contains_key(key) {
            self.make_room(&mut slots, now);
        }
        slots.insert(
            key.to_owned(),
            Slot {
                value: Value::Text(value.to_owned()),
                expires: now + span(ttl),
            },
        );
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.lock().remove(key);
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn health(&self) -> CacheHealth {
        CacheHealth::Ok
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::clock::FakeClock;

    #[tokio::test]
    async fn capacity_evicts_the_soonest_to_expire() {
        let clock = FakeClock::new(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap());
        let cache = MemoryCache::with_capacity(Arc::new(clock.clone()), 2);
        cache
            .set("short", "a", Duration::from_secs(10))
            .await
            .unwrap();
        cache
            .set("long", "b", Duration::from_secs(100))
            .await
            .unwrap();
        cache.add("new", 1, Duration::from_secs(50)).await.unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.get("short").await.unwrap().is_none());
        assert!(cache.get("long").await.unwrap().is_some());
        clock.advance(chrono::Duration::seconds(50));
        assert!(
            cache.get("new").await.unwrap().is_none(),
            "its window ended"
        );
    }
}
