//! `GET /api/health`: is the app and each dependency up.

use axum::{extract::State, http::StatusCode};
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
    /// While `serve` starts: the settings naming the services it cannot reach yet
    /// (`COSMOS_ENDPOINT`, `AzureWebJobsStorage`...); absent once started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<String>,
}

/// Reports 200 when the store and the queue answer, 503 naming what is down otherwise.
#[utoipa::path(get, path = "/api/health", tag = "platform",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn get_health(State(platform): State<Platform>) -> (StatusCode, ApiJson<Health>) {
    let timeout = std::time::Duration::from_secs(3);
    let (store, queue) = tokio::join!(
        tokio::time::timeout(timeout, platform.store.health()),
        tokio::time::timeout(timeout, platform.queue.health()),
    );
    let store_ok = matches!(store, Ok(Ok(())));
    let queue_ok = matches!(queue, Ok(Ok(())));
    let word = |ok: bool| if ok { "ok" } else { "down" };
    let health = Health {
        status: if store_ok && queue_ok {
            "ok"
        } else {
            "degraded"
        },
        store: word(store_ok),
        queue: word(queue_ok),
        store_kind: platform.store.kind(),
        queue_kind: platform.queue.kind(),
        unreachable: Vec::new(),
    };
    let status = if store_ok && queue_ok {
        StatusCode::OK
    } else {
        tracing::warn!(
            store = health.store,
            queue = health.queue,
            "a dependency is down"
        );
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, ApiJson(health))
}
