//! Ingestion: an event off the `analytics-events` queue becomes raw documents
//! of its day in `events` (see [`super::model`]), and the day is marked dirty
//! for the next rollup.
//!
//! Every raw document is created if absent under an id derived from the event
//! id, and session markers are upserted with a fixed body, so a redelivered
//! message writes nothing new; the day is marked dirty again either way, which
//! costs one recomputation and changes no number.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jojomart_shared::{
    error::ApiError,
    events::{
        Event, EventError, EventKind, OrderCancelled, OrderPaid, OrderPlaced, OrderRefunded,
        OrderSnapshot,
    },
    store::{BatchOp, DocumentStore, StoreError},
};
use serde_json::json;

use super::{
    events::{CartItemAdded, ProductViewed},
    model::{day_of, OrderStage, Raw, RawLine, DIRTY_ID, EVENTS, ROLLUPS},
    Analytics,
};

/// Most operations in one store batch (Cosmos DB's transactional batch limit).
const MAX_BATCH_OPS: usize = 100;

/// Why an event could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The message is not an event analytics can read (it never will be).
    #[error("unreadable analytics event: {0}")]
    Unreadable(#[from] EventError),
    /// The store failed (a retry may succeed).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A raw document could not be serialized.
    #[error("cannot encode a raw event: {0}")]
    Encode(#[from] serde_json::Error),
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Unreadable(e) => ApiError::invalid_field("message", e.to_string()),
            IngestError::Store(e) => e.into(),
            IngestError::Encode(e) => ApiError::internal(e),
        }
    }
}

/// What one ingestion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    /// Raw events in the message (written now or by an earlier delivery).
    pub events: usize,
    /// Days marked dirty.
    pub days: usize,
}

/// The raw documents an event stands for, with their ids; empty for kinds
/// analytics does not count (`order.shipped`, `order.delivered`, unknown kinds).
///
/// # Errors
/// [`IngestError::Unreadable`] when a kind analytics reads has data it cannot read.
pub fn raw_events(event: &Event) -> Result<Vec<(String, Raw)>, IngestError> {
    let id = event.id().to_string();
    let at = event.occurred_at();
    let order = |stage, snapshot: OrderSnapshot| vec![(id.clone(), order_raw(stage, snapshot, at))];
    Ok(match event.kind() {
        ProductViewed::KIND => event
            .decode::<ProductViewed>()?
            .views
            .into_iter()
            .enumerate()
            .map(|(n, view)| {
                (
                    format!("{id}-{n}"),
                    Raw::View {
                        product_id: view.product_id,
                        session: view.session,
                        at: view.at,
                    },
                )
            })
            .collect(),
        CartItemAdded::KIND => {
            let added = event.decode::<CartItemAdded>()?;
            vec![(
                id.clone(),
                Raw::Cart {
                    product_id: added.product_id,
                    quantity: added.quantity,
                    session: added.session,
                    at,
                },
            )]
        }
        OrderPlaced::KIND => order(OrderStage::Placed, event.decode::<OrderPlaced>()?.0),
        OrderPaid::KIND => order(OrderStage::Paid, event.decode::<OrderPaid>()?.0),
        OrderCancelled::KIND => order(OrderStage::Cancelled, event.decode::<OrderCancelled>()?.0),
        OrderRefunded::KIND => order(OrderStage::Refunded, event.decode::<OrderRefunded>()?.0),
        _ => Vec::new(),
    })
}

fn order_raw(stage: OrderStage, order: OrderSnapshot, at: DateTime<Utc>) -> Raw {
    Raw::Order {
        stage,
        order_id: order.order_id.to_string(),
        total: order.total,
        currency: order.currency,
        items: order
            .items
            .into_iter()
            .map(|line| RawLine {
                product_id: line.product_id,
                name: line.name,
                quantity: line.quantity,
                line_total: line.line_total,
            })
            .collect(),
        at,
    }
}

/// Ingests one event: stores its raw documents and marks their days dirty.
///
/// # Errors
/// As [`record`], and [`IngestError::Unreadable`] as [`raw_events`].
pub async fn ingest(analytics: &Analytics, event: &Event) -> Result<Recorded, IngestError> {
    let raws = raw_events(event)?;
    record(&*analytics.store, analytics.clock.now(), raws).await
}

/// Stores raw events under their ids, with the session markers they imply,
/// and marks each day they fall on dirty. Safe to repeat.
///
/// # Errors
/// The store's failure (nothing is lost: a repeat writes what is missing).
pub async fn record(
    store: &dyn DocumentStore,
    now: DateTime<Utc>,
    raws: Vec<(String, Raw)>,
) -> Result<Recorded, IngestError> {
    let events = raws.len();
    let mut by_day: BTreeMap<String, BTreeMap<String, BatchOp>> = BTreeMap::new();
    for (id, raw) in raws {
        let Some(at) = raw.at() else { continue };
        let ops = by_day.entry(day_of(at)).or_default();
        if let Some((marker_id, marker)) = raw.marker() {
            let body = serde_json::to_value(&marker)?;
            ops.entry(marker_id.clone()).or_insert(BatchOp::Upsert {
                id: marker_id,
                body,
            });
        }
        let body = serde_json::to_value(&raw)?;
        ops.insert(id.clone(), BatchOp::Create { id, body });
    }
    for (day, ops) in &by_day {
        let ops: Vec<BatchOp> = ops.values().cloned().collect();
        // queued together, the chunks share commits where the store groups them
        futures::future::try_join_all(
            ops.chunks(MAX_BATCH_OPS)
                .map(|chunk| write_chunk(store, day, chunk)),
        )
        .await?;
        store
            .upsert(ROLLUPS, day, DIRTY_ID, json!({"type": "dirty", "at": now}))
            .await?;
    }
    Ok(Recorded {
        events,
        days: by_day.len(),
    })
}

/// Writes one chunk in a batch; when a document exists already (a
/// redelivery), writes the chunk one document at a time, skipping those.
async fn write_chunk(
    store: &dyn DocumentStore,
    day: &str,
    chunk: &[BatchOp],
) -> Result<(), StoreError> {
    match store.batch(EVENTS, day, chunk.to_vec()).await {
        Ok(_) => return Ok(()),
        Err(StoreError::BatchFailed { cause, .. }) if matches!(*cause, StoreError::Conflict) => {}
        Err(e) => return Err(e),
    }
    for op in chunk {
        match op {
            BatchOp::Create { id, body } => {
                match store.create(EVENTS, day, id, body.clone()).await {
                    Ok(_) | Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
            BatchOp::Upsert { id, body } => {
                store.upsert(EVENTS, day, id, body.clone()).await?;
            }
            BatchOp::Replace { .. } | BatchOp::Delete { .. } => {}
        }
    }
    Ok(())
}
