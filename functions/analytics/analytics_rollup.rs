//! `analytics-rollup` (timer, every 5 minutes; at once through
//! `POST /admin/functions/analytics-rollup`): folds the raw events of every
//! day that changed into its rollup (see [`super::rollup`]).

use jojomart_shared::error::ApiError;

use super::{rollup, Analytics};
use crate::wire::{InvocationResponse, TimerTrigger};

/// Recomputes the days that took events since their last rollup.
pub async fn analytics_rollup(
    analytics: Analytics,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let report = rollup::run(&analytics).await?;
    Ok(InvocationResponse {
        logs: vec![format!(
            "{} days rolled up from {} raw documents in {} pages ({} still dirty)",
            report.days, report.documents, report.pages, report.still_dirty
        )],
        ..Default::default()
    })
}
