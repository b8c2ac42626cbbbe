//! `reconcile-categories` (timer, every 15 minutes): recounts each category's
//! live products from the products themselves, so a count missed by a write
//! that died between a product and its category is put right.

use jojomart_shared::error::ApiError;

use super::service;
use crate::{
    products::Catalog,
    wire::{InvocationResponse, TimerTrigger},
};

/// Rewrites the category counts that drifted and logs how many.
pub async fn reconcile_categories(
    catalog: Catalog,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let corrected = service::reconcile_categories(&catalog).await?;
    Ok(InvocationResponse {
        logs: vec![format!("corrected {corrected} category counts")],
        ..Default::default()
    })
}
