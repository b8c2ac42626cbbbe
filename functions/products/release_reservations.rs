//! `release-reservations` (timer, every minute): gives back stock held by
//! reservations that expired, so a checkout that crashed never strands it.

use jojomart_shared::error::ApiError;

use super::inventory;
use crate::{
    products::Inventory,
    wire::{InvocationResponse, TimerTrigger},
};

/// Releases every expired held reservation and logs how many.
pub async fn release_reservations(
    inventory: Inventory,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let released = inventory::release_expired(&inventory).await?;
    if released > 0 {
        tracing::info!(released, "released expired reservations");
    }
    Ok(InvocationResponse {
        logs: vec![format!("released {released} expired reservations")],
        ..Default::default()
    })
}
