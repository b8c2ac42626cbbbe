//! `erase-user` (queue `user-erasure`): erase a closed account's data in every service.

use jojomart_shared::{error::ApiError, events::Event};

use super::erasure;
use crate::{
    state::AppState,
    wire::{InvocationResponse, QueueTrigger},
};

/// Runs every service's erasure hook for the user the event names; idempotent,
/// so a redelivered or re-sent event changes nothing.
pub async fn erase_user(
    state: AppState,
    trigger: QueueTrigger,
) -> Result<InvocationResponse, ApiError> {
    let event = Event::parse(&trigger.message)
        .map_err(|e| ApiError::invalid_field("message", e.to_string()))?;
    erasure::erase(&state, &event).await?;
    Ok(InvocationResponse {
        logs: vec![format!("erased user data for event {}", event.id())],
        ..Default::default()
    })
}
