//! `GET /api/analytics/summary`: the shop's figures over a range of days, for admins.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    summary::{self, Range, Summary},
    Analytics,
};
use crate::http::{Admin, ApiJson, ApiQuery};

/// The range and currency of a summary.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The first day, `YYYY-MM-DD` (UTC); default 29 days before `to`.
    pub from: Option<String>,
    /// The last day, `YYYY-MM-DD` (UTC); default today. At most 366 days, both ends included.
    pub to: Option<String>,
    /// ISO 4217 code of the money figures; default the range's currency with the most paid orders.
    pub currency: Option<String>,
}

/// Answers the summary of the range, read from the daily rollups only (so it
/// shows what the last `analytics-rollup` run folded in). An order counts on
/// the day it was paid: `orders` are orders paid, `revenue` their totals
/// (goods, shipping and tax), `unitsSold` the units on them, `topProducts`
/// their lines by units; a later cancellation or refund is not taken back
/// from those but counted in `refunds` (the refunded totals, on the day of
/// the cancellation or refund) and `refundedOrders`. Money is in integer
/// minor units of `currency`. Funnel sessions are distinct per day (a
/// signed-in user, an anonymous cart, or a client address and User-Agent)
/// and summed over the days; `conversionRate` is `ordersPaid / sessionsViewed`.
#[utoipa::path(get, path = "/api/analytics/summary", tag = "analytics", params(SummaryQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Summary),
        (status = 400, body = Problem, description = "A bad date, `to` before `from`, more than 366 days, or a bad currency"),
        (status = 401, body = Problem, description = "No valid token"),
        (status = 403, body = Problem, description = "Not an admin")))]
pub async fn get_summary(
    State(analytics): State<Analytics>,
    Admin(_): Admin,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> Result<ApiJson<Summary>, ApiError> {
    let today = analytics.clock.now().date_naive();
    let range = Range::parse(query.from.as_deref(), query.to.as_deref(), today)?;
    let currency = summary::currency(query.currency.as_deref())?;
    Ok(ApiJson(
        summary::summarise(&analytics, range, currency).await?,
    ))
}
