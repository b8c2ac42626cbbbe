//! `reconcile-orders` (timer, every minute): settles what crashes and
//! abandoned payments left behind (see [`super::service::reconcile`]).

use jojomart_shared::error::ApiError;

use super::{service, Orders};
use crate::wire::{InvocationResponse, TimerTrigger};

/// Settles lapsed pending orders and unfinished follow-up work.
pub async fn reconcile_orders(
    orders: Orders,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let report = service::reconcile(&orders).await?;
    if report != service::Reconciled::default() {
        tracing::info!(
            paid = report.paid,
            failed = report.failed,
            settled = report.settled,
            "reconciled orders"
        );
    }
    Ok(InvocationResponse {
        logs: vec![format!(
            "{} paid, {} failed, {} settled",
            report.paid, report.failed, report.settled
        )],
        ..Default::default()
    })
}
