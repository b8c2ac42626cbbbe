//! `ingest-analytics` (queue `analytics-events`): one shop event becomes raw
//! events of its day (see [`super::service`]).

use jojomart_shared::{error::ApiError, events::Event};

use super::{service, Analytics};
use crate::wire::{InvocationResponse, QueueTrigger};

/// Stores the event's raw documents and marks their days for the rollup;
/// a redelivered message writes nothing new.
pub async fn ingest_analytics(
    analytics: Analytics,
    trigger: QueueTrigger,
) -> Result<InvocationResponse, ApiError> {
    let event = Event::parse(&trigger.message)
        .map_err(|e| ApiError::invalid_field("message", e.to_string()))?;
    let recorded = service::ingest(&analytics, &event).await?;
    Ok(InvocationResponse {
        logs: vec![format!(
            "{} `{}`: {} raw events on {} days",
            event.id(),
            event.kind(),
            recorded.events,
            recorded.days
        )],
        ..Default::default()
    })
}
