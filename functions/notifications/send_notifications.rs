//! `send-notifications` (queue `notifications`): mail the customer about an
//! order event or an account request, once per event and recipient.

use jojomart_shared::{error::ApiError, events::Event};

use super::{service, Notifications};
use crate::wire::{InvocationResponse, QueueTrigger};

/// Sends the mail one event asks for. A transient mail failure fails the
/// invocation so the queue delivers the message again; everything else
/// (sent, refused for good, already done, not ours to mail) completes it.
pub async fn send_notifications(
    notifications: Notifications,
    trigger: QueueTrigger,
) -> Result<InvocationResponse, ApiError> {
    let event = Event::parse(&trigger.message)
        .map_err(|e| ApiError::invalid_field("message", e.to_string()))?;
    let handled = service::handle(&notifications, &event).await?;
    tracing::info!(event_id = %event.id(), kind = event.kind(), outcome = %handled, "notification handled");
    Ok(InvocationResponse {
        logs: vec![format!("event {}: {handled}", event.id())],
        ..Default::default()
    })
}
