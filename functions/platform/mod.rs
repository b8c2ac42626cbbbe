//! The platform service: health, the API description, the outbox relay, the
//! store's own `system` container (shared secrets such as cursor keys), and
//! the store-backed cache's `cache` container with its sweep.

mod get_health;
mod get_openapi;
mod outbox_relay;
mod sweep_cache;

/// The schedule of `outbox-relay`: every 10 seconds.
pub const OUTBOX_RELAY_SCHEDULE: &str = "*/10 * * * * *";

/// The schedule of `sweep-cache`: every 5 minutes.
pub const SWEEP_CACHE_SCHEDULE: &str = "0 */5 * * * *";

use jojomart_shared::{
    cache::{store::CACHE, SharedCache},
    clock::SharedClock,
    queue::SharedQueue,
    store::containers::SYSTEM,
    store::SharedStore,
};

use crate::{
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
};

/// What the platform's functions need: the adapters whose health they report.
#[derive(Debug, Clone)]
pub struct Platform {
    store: SharedStore,
    queue: SharedQueue,
    cache: SharedCache,
    clock: SharedClock,
    probe: get_health::SharedProbe,
}
crate::service_handle!(Platform);

/// The platform service.
pub fn service() -> ServiceDef {
    ServiceDef::new("platform")
        .containers(&[SYSTEM, CACHE])
        .functions(vec![
            FunctionDef::http_anonymous("get-health", || {
                utoipa_axum::routes!(get_health::get_health)
            }),
            FunctionDef::http("get-openapi", || {
                utoipa_axum::routes!(get_openapi::get_openapi)
            }),
            FunctionDef::timer(
                "outbox-relay",
                OUTBOX_RELAY_SCHEDULE,
                outbox_relay::outbox_relay,
            ),
            FunctionDef::timer(
                "sweep-cache",
                SWEEP_CACHE_SCHEDULE,
                sweep_cache::sweep_cache,
            ),
        ])
        .start(|cx| Box::pin(start(cx)))
}

async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    cx.handles.insert(Platform {
        store: cx.adapters.store.clone(),
        queue: cx.adapters.queue.clone(),
        cache: cx.adapters.cache.clone(),
        clock: cx.adapters.clock.clone(),
        probe: get_health::SharedProbe::default(),
    });
    Ok(())
}
