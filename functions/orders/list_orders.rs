//! `GET /api/orders`: the caller's orders, newest first, paged.

use axum::extract::State;
use jojomart_shared::error::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{model::OrderPage, service, Orders};
use crate::http::{page_limit, ApiJson, ApiQuery, Authenticated};

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

/// Lists the caller's orders.
#[utoipa::path(get, path = "/api/orders", tag = "orders", params(ListOrdersQuery),
    security(("bearer" = [])),
    responses((status = 200, body = OrderPage), (status = 400, description = "A bad parameter"),
        (status = 401, description = "No valid token")))]
pub async fn list_orders(
    State(orders): State<Orders>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<ListOrdersQuery>,
) -> Result<ApiJson<OrderPage>, ApiError> {
    let limit = page_limit(query.limit)?;
    let cursor = query.cursor.filter(|c| !c.is_empty());
    Ok(ApiJson(
        service::list_mine(&orders, &caller.user_id, limit, cursor).await?,
    ))
}
