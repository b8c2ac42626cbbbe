//! `GET /api/analytics/summary.csv`: the summary's daily series as CSV, for spreadsheets.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use jojomart_shared::error::{ApiError, Problem};

use super::{
    get_summary::SummaryQuery,
    summary::{self, Range},
    Analytics,
};
use crate::http::{Admin, ApiQuery};

/// Answers `date,orders,revenue,unitsSold,productViews`, one line per day of
/// the range (same parameters and figures as `/api/analytics/summary`);
/// `revenue` is in integer minor units of the summary's currency (`1999` is
/// 19.99), as every amount in this API.
#[utoipa::path(get, path = "/api/analytics/summary.csv", tag = "analytics", params(SummaryQuery),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv; charset=utf-8", body = String,
            description = "A header line, then one line per day, CRLF line ends"),
        (status = 400, body = Problem, description = "A bad date, `to` before `from`, more than 366 days, or a bad currency"),
        (status = 401, body = Problem, description = "No valid token"),
        (status = 403, body = Problem, description = "Not an admin")))]
pub async fn get_summary_csv(
    State(analytics): State<Analytics>,
    Admin(_): Admin,
    ApiQuery(query): ApiQuery<SummaryQuery>,
) -> Result<Response, ApiError> {
    let today = analytics.clock.now().date_naive();
    let range = Range::parse(query.from.as_deref(), query.to.as_deref(), today)?;
    let currency = summary::currency(query.currency.as_deref())?;
    let summary = summary::summarise(&analytics, range, currency).await?;
    let filename = format!(
        "attachment; filename=\"analytics-{}-{}.csv\"",
        summary.from, summary.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        summary::daily_csv(&summary),
    )
        .into_response())
}
