//! `outbox-relay` (timer, every 10 s): sends every staged event to its queue.

use jojomart_shared::error::ApiError;

use crate::{
    outbox::Outbox,
    wire::{InvocationResponse, TimerTrigger},
};

/// Relays what is staged in every service's outbox and logs how much.
pub async fn outbox_relay(
    outbox: Outbox,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let report = outbox
        .relay()
        .await
        .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
    Ok(InvocationResponse {
        logs: vec![format!(
            "relayed {} events ({} already relayed elsewhere, {} malformed set aside)",
            report.sent, report.marked_elsewhere, report.quarantined
        )],
        ..Default::default()
    })
}
