//! The cache port's suite: counters add atomically within a fixed window,
//! values round-trip, everything expires, and concurrent additions lose
//! nothing. Real time, short TTLs, awaited with [`eventually`] (no adapter
//! here takes a fake clock but the in-process one).

use std::time::Duration;

use super::{eventually, unique};
use crate::cache::SharedCache;

const MINUTE: Duration = Duration::from_secs(60);

/// Additions count up within one window, and later ones do not extend it.
pub async fn add_counts_within_one_window(cache: SharedCache) {
    let key = unique("count");
    let first = cache.add(&key, 1, MINUTE).await.expect("add");
    assert_eq!(first.count, 1);
    assert!(
        first.ttl > Duration::from_secs(55) && first.ttl <= MINUTE,
        "{first:?}"
    );
    let second = cache
        .add(&key, 2, Duration::from_secs(3600))
        .await
        .expect("add");
    assert_eq!(second.count, 3);
    assert!(
        second.ttl <= MINUTE,
        "a later addition keeps the first window: {second:?}"
    );
    let back = cache.add(&key, -1, MINUTE).await.expect("subtract");
    assert_eq!(back.count, 2);
    let read = cache.get(&key).await.expect("get").expect("present");
    assert_eq!(read.count(), 2);
}

/// Subtracting from a missing counter leaves it missing.
pub async fn subtracting_from_a_missing_counter_creates_nothing(cache: SharedCache) {
    let key = unique("missing");
    let c = cache.add(&key, -1, MINUTE).await.expect("add");
    assert_eq!(c.count, 0);
    assert!(cache.get(&key).await.expect("get").is_none());
    let c = cache.add(&key, 1, MINUTE).await.expect("add");
    assert_eq!(c.count, 1, "a later addition starts from zero");
}

/// Values round-trip, are replaced by a later set, and go on delete.
pub async fn set_get_delete_round_trip(cache: SharedCache) {
    let key = unique("value");
    assert!(cache.get(&key).await.expect("get").is_none());
    cache.set(&key, "revoked", MINUTE).await.expect("set");
    let e = cache.get(&key).await.expect("get").expect("present");
    assert_eq!(e.value, "revoked");
    assert!(e.ttl > Duration::from_secs(55) && e.ttl <= MINUTE, "{e:?}");
    cache.set(&key, "again", MINUTE).await.expect("set");
    assert_eq!(
        cache.get(&key).await.expect("get").expect("present").value,
        "again"
    );
    cache.delete(&key).await.expect("delete");
    assert!(cache.get(&key).await.expect("get").is_none());
    cache
        .delete(&key)
        .await
        .expect("deleting a missing key is fine");
    let other = unique("value");
    assert!(
        cache.get(&other).await.expect("get").is_none(),
        "keys are separate"
    );
}

/// Counters and values are gone when their time is up.
pub async fn keys_expire(cache: SharedCache) {
    let counter = unique("expiring");
    let value = unique("expiring");
    cache
        .add(&counter, 5, Duration::from_millis(300))
        .await
        .expect("add");
    cache
        .set(&value, "x", Duration::from_millis(300))
        .await
        .expect("set");
    eventually("both keys to expire", Duration::from_secs(10), || {
        let cache = cache.clone();
        let (counter, value) = (counter.clone(), value.clone());
        async move {
            let gone = cache.get(&counter).await.expect("get").is_none()
                && cache.get(&value).await.expect("get").is_none();
            gone.then_some(())
        }
    })
    .await;
    let fresh = cache.add(&counter, 1, MINUTE).await.expect("add");
    assert_eq!(fresh.count, 1, "an expired counter starts over");
}

/// Concurrent additions to one counter all count.
pub async fn concurrent_adds_lose_nothing(cache: SharedCache) {
    let key = unique("race");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let cache = cache.clone();
            let key = key.clone();
            tokio::spawn(async move { cache.add(&key, 1, MINUTE).await.expect("add").count })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.expect("task"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<_>>(),
        "each addition saw its own count"
    );
}
