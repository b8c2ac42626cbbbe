//! `erase-user` (queue `user-erasure`): erase a closed account's data in every service.

use jojomart_shared::error::ApiError;

use super::erasure::{self, ErasureRequested};
use crate::{
    state::AppState,
    wire::{InvocationResponse, QueueTrigger},
};

/// Runs every service's eraser for the user the message names; idempotent.
pub async fn erase_user(
    state: AppState,
    trigger: QueueTrigger,
) -> Result<InvocationResponse, ApiError> {
    let message: ErasureRequested = trigger
        .json()
        .map_err(|e| ApiError::invalid_field("message", e.to_string()))?;
    if message.kind != erasure::KIND {
        return Err(ApiError::invalid_field(
            "kind",
            format!("expected `{}`", erasure::KIND),
        ));
    }
    erasure::erase(&state, &message).await?;
    Ok(InvocationResponse {
        logs: vec![format!("erased user data for event {}", message.event_id)],
        ..Default::default()
    })
}
