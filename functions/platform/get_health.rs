//! `GET /api/health`: is the app and each dependency up.

use std::sync::{Arc, Mutex};

use axum::{extract::State, http::StatusCode};
use futures::{
    future::{BoxFuture, Shared},
    FutureExt,
};
use jojomart_shared::cache::CacheHealth;
use serde::Serialize;
use utoipa::ToSchema;

use super::Platform;
use crate::http::ApiJson;

/// The health report.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok` when every dependency answers, `degraded` otherwise (`starting`
    /// while `serve` is still connecting, see [`crate::ready`]).
    pub status: &'static str,
    /// The document store: `ok` or `down`.
    pub store: &'static str,
    /// The queue: `ok` or `down`.
    pub queue: &'static str,
    /// Which store adapter runs (`sqlite`, `cosmos`).
    pub store_kind: &'static str,
    /// Which queue adapter runs (`sqlite`, `azure`).
    pub queue_kind: &'static str,
    /// The cache: `ok`; `fallback` when Redis does not answer and the store
    /// stands in (still 200: slower, still correct); `down`.
    pub cache: &'static str,
    /// Which cache adapter runs (`memory`, `redis`, `store`).
    pub cache_kind: &'static str,
    /// While `serve` starts: the settings naming the services it cannot reach yet
    /// (`COSMOS_ENDPOINT`, `AzureWebJobsStorage`...); absent once started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<String>,
}

/// Reports 200 when the store and the queue answer, 503 naming what is down
/// otherwise. A cache on its fallback is `degraded` but still 200: every
/// instance shares the same Redis, so a 503 would take them all out of the
/// load balancer while the store serves correctly; a cache that is `down`
/// (no fallback answers either) is 503.
#[utoipa::path(get, path = "/api/health", tag = "platform",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn get_health(State(platform): State<Platform>) -> (StatusCode, ApiJson<Health>) {
    let Probed {
        store_ok,
        queue_ok,
        cache,
    } = platform.probe.run(&platform).await;
    let cache_up = cache != CacheHealth::Down;
    let word = |ok: bool| if ok { "ok" } else { "down" };
    let health = Health {
        status: if store_ok && queue_ok && cache == CacheHealth::Ok {
            "ok"
        } else {
            "degraded"
        },
        store: word(store_ok),
        queue: word(queue_ok),
        store_kind: platform.store.kind(),
        queue_kind: platform.queue.kind(),
        cache: cache.as_str(),
        cache_kind: platform.cache.kind(),
        unreachable: Vec::new(),
    };
    let status = if store_ok && queue_ok && cache_up {
        StatusCode::OK
    } else {
        tracing::warn!(
            store = health.store,
            queue = health.queue,
            cache = health.cache,
            "a dependency is down"
        );
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, ApiJson(health))
}

/// What one round of pings found.
#[derive(Debug, Clone, Copy)]
struct Probed {
    store_ok: bool,
    queue_ok: bool,
    cache: CacheHealth,
}

/// The round of pings in flight, shared by every health request that arrives
/// while it runs: a burst of probes (a load balancer, a restart) costs the
/// store, the queue and the cache one ping each, not one per request, and
/// cannot slow the pings past their timeout by its own weight.
#[derive(Debug, Clone, Default)]
pub struct SharedProbe(Arc<Mutex<Option<Shared<BoxFuture<'static, Probed>>>>>);

impl SharedProbe {
    async fn run(&self, platform: &Platform) -> Probed {
        let round = {
            let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                // still running: join it (a finished round is never reused)
                Some(round) if round.peek().is_none() => round.clone(),
                _ => {
                    // a task of its own, so a caller that goes away does not stall it
                    let pinging = tokio::spawn(ping(platform.clone()));
                    let round = async move {
                        pinging.await.unwrap_or(Probed {
                            store_ok: false,
                            queue_ok: false,
                            cache: CacheHealth::Down,
                        })
                    }
                    .boxed()
                    .shared();
                    *slot = Some(round.clone());
                    round
                }
            }
        };
        round.await
    }
}

async fn ping(platform: Platform) -> Probed {
    let timeout = std::time::Duration::from_secs(3);
    let (store, queue, cache) = tokio::join!(
        tokio::time::timeout(timeout, platform.store.health()),
        tokio::time::timeout(timeout, platform.queue.health()),
        tokio::time::timeout(timeout, platform.cache.health()),
    );
    Probed {
        store_ok: matches!(store, Ok(Ok(()))),
        queue_ok: matches!(queue, Ok(Ok(()))),
        cache: cache.unwrap_or(CacheHealth::Down),
    }
}
