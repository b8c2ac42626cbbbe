//! The cache conformance suite on every adapter: in-process, the store
//! (SQLite), Redis (when `JOJOMART_TEST_REDIS_URL` is set, as
//! `scripts/emulators.sh` does; otherwise those tests print why and pass),
//! and Redis in front of the store as `JOJOMART_CACHE=redis` runs it.
//!
//! Run against Redis: `scripts/emulators.sh run -- cargo nextest run -p jojomart-shared --features test-support --test cache`

use std::sync::Arc;

use jojomart_shared::{
    cache::{
        fallback::FallbackCache,
        memory::MemoryCache,
        redis::{RedisCache, RedisSettings},
        store::StoreCache,
        Cache, CacheHealth, SharedCache,
    },
    clock::SystemClock,
    config::Secret,
    sqlite::TempDatabase,
};

const VAR: &str = "JOJOMART_TEST_REDIS_URL";

fn redis() -> Option<RedisCache> {
    let url = jojomart_shared::conformance::emulator(VAR)?;
    let mut settings = RedisSettings::new(Secret::new(url));
    settings.prefix = format!("test-{}:", uuid::Uuid::new_v4().simple());
    Some(RedisCache::connect_lazily(&settings).expect("a valid test URL"))
}

fn store() -> (StoreCache, TempDatabase) {
    let db = TempDatabase::new(Arc::new(SystemClock)).expect("a temp database");
    (
        StoreCache::new(Arc::new(db.store()), Arc::new(SystemClock)),
        db,
    )
}

mod memory {
    use super::*;

    async fn fresh() -> SharedCache {
        Arc::new(MemoryCache::new(Arc::new(SystemClock)))
    }

    jojomart_shared::cache_conformance!(fresh());
}

mod on_the_store {
    use super::*;

    async fn fresh() -> (SharedCache, TempDatabase) {
        let (cache, db) = store();
        (Arc::new(cache), db)
    }

    jojomart_shared::cache_conformance!(fresh());
}

mod on_redis {
    use super::*;

    async fn fresh() -> Option<SharedCache> {
        redis().map(|r| Arc::new(r) as SharedCache)
    }

    jojomart_shared::cache_conformance!(fresh());
}

mod redis_before_the_store {
    use super::*;

    async fn fresh() -> Option<(SharedCache, TempDatabase)> {
        let redis = redis()?;
        let (store, db) = store();
        Some((
            Arc::new(FallbackCache::new(Arc::new(redis), Arc::new(store))) as SharedCache,
            db,
        ))
    }

    jojomart_shared::cache_conformance!(fresh());
}

/// With Redis unreachable, every call is served by the store and health says so.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_falls_back_to_the_store() {
    let dead = RedisCache::connect_lazily(&RedisSettings::new(Secret::new(
        "redis://127.0.0.1:9/".into(),
    )))
    .expect("a valid URL");
    assert_eq!(dead.health().await, CacheHealth::Down);
    let (store, _db) = store();
    let cache = FallbackCache::new(Arc::new(dead), Arc::new(store.clone()));
    let window = std::time::Duration::from_secs(60);
    assert_eq!(cache.add("k", 1, window).await.expect("add").count, 1);
    assert_eq!(cache.add("k", 1, window).await.expect("add").count, 2);
    assert_eq!(
        store
            .get("k")
            .await
            .expect("get")
            .expect("kept in the store")
            .count(),
        2
    );
    assert_eq!(cache.health().await, CacheHealth::Fallback);
    assert_eq!(cache.kind(), "redis");
}

/// The sweep deletes what expired from the store and keeps the rest.
#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_deletes_expired_keys_only() {
    let (cache, _db) = store();
    cache
        .set("soon", "x", std::time::Duration::from_millis(1))
        .await
        .expect("set");
    cache
        .set("later", "y", std::time::Duration::from_secs(60))
        .await
        .expect("set");
    // Queries read a pooled connection, which may see the write a moment later.
    jojomart_shared::conformance::eventually(
        "the sweep to delete the expired key",
        std::time::Duration::from_secs(5),
        || {
            let cache = cache.clone();
            async move { (cache.sweep(100).await.expect("sweep") == 1).then_some(()) }
        },
    )
    .await;
    assert!(cache.get("soon").await.expect("get").is_none());
    assert_eq!(
        cache.sweep(100).await.expect("sweep"),
        0,
        "nothing else expired"
    );
    assert!(cache.get("later").await.expect("get").is_some());
}
