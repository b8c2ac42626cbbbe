//! The analytics service: shop events ingested off the `analytics-events`
//! queue, rolled up per day, summarised for the owner.
//!
//! - [`Tracker`] is what other services call: products reports product reads
//!   and cart reports cart adds, without waiting (see [`tracker`]: a bounded
//!   buffer, batched sends, how sessions are told apart). Orders sends its
//!   `order.*` events to [`QUEUE`] through its outbox.
//! - [`service`] ingests an event into raw documents per day ([`model`]);
//!   [`rollup`] folds a changed day's raw events into its rollup, page by
//!   page, and defines every number; [`summary`] adds rollups up for a range.
//! - One file per function: `ingest-analytics` (queue), `analytics-rollup`
//!   (timer, every 5 minutes), `get-analytics-summary` and
//!   `get-analytics-summary-csv` (admin).
//!
//! Analytics calls no other service (and must not: products and cart call it).

mod analytics_rollup;
pub mod events;
mod get_summary;
mod get_summary_csv;
mod ingest_analytics;
pub mod model;
pub mod rollup;
pub mod service;
pub mod summary;
pub mod tracker;

use jojomart_shared::{
    clock::SharedClock,
    store::{shared_secret, SharedStore},
};

pub use tracker::{Tracker, Visitor};

use crate::{
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
};

/// The queue shop events are ingested from (other services write it through
/// this constant).
pub const QUEUE: &str = "analytics-events";

/// The schedule of `analytics-rollup`: every 5 minutes.
pub const ROLLUP_SCHEDULE: &str = "0 */5 * * * *";

/// The name of the shared secret session keys are derived under.
const SESSION_KEY_NAME: &str = "analytics-sessions";

/// What the analytics functions work with.
#[derive(Debug, Clone)]
pub struct Analytics {
    store: SharedStore,
    clock: SharedClock,
}
crate::service_handle!(Analytics);

impl Analytics {
    /// The store (for tests that stage raw events with [`service::record`]).
    pub fn store(&self) -> &SharedStore {
        &self.store
    }
}

/// The analytics service.
pub fn service() -> ServiceDef {
    ServiceDef::new("analytics")
        .containers(&[model::EVENTS, model::ROLLUPS])
        .reads(QUEUE)
        .writes(QUEUE)
        .functions(vec![
            FunctionDef::queue(
                "ingest-analytics",
                QUEUE,
                ingest_analytics::ingest_analytics,
            ),
            FunctionDef::timer(
                "analytics-rollup",
                ROLLUP_SCHEDULE,
                analytics_rollup::analytics_rollup,
            ),
            FunctionDef::http("get-analytics-summary", || {
                utoipa_axum::routes!(get_summary::get_summary)
            }),
            FunctionDef::http("get-analytics-summary-csv", || {
                utoipa_axum::routes!(get_summary_csv::get_summary_csv)
            }),
        ])
        .start(|cx| Box::pin(start(cx)))
}

/// Builds the handles and starts the tracker's sender.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let key = shared_secret(&*cx.adapters.store, SESSION_KEY_NAME)
        .await
        .map_err(|e| cx.fail(e))?;
    cx.handles.insert(Tracker::start(
        cx.adapters.queue.clone(),
        QUEUE,
        cx.adapters.clock.clone(),
        tracker::Sessions::new(key),
        tracker::FLUSH_EVERY,
    ));
    cx.handles.insert(Analytics {
        store: cx.adapters.store.clone(),
        clock: cx.adapters.clock.clone(),
    });
    Ok(())
}
