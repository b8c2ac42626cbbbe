//! `GET /api/manage/orders`: every order, newest first, for admins
//! (`/api/manage/...`: the Functions host reserves `/admin`).

use axum::extract::State;
use jojomart_shared::error::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    model::{OrderPage, OrderStatus},
    service, Orders,
};
use crate::http::{page_limit, Admin, ApiJson, ApiQuery};

/// Filter and paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManageOrdersQuery {
    /// Only orders in this status (`paid`, `shipped`, ...).
    pub status: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

/// Lists every order (admin).
#[utoipa::path(get, path = "/api/manage/orders", tag = "orders", params(ManageOrdersQuery),
    security(("bearer" = [])),
    responses((status = 200, body = OrderPage), (status = 400, description = "A bad parameter"),
        (status = 401, description = "No valid token"), (status = 403, description = "Not an admin")))]
pub async fn manage_orders(
    State(orders): State<Orders>,
    Admin(_): Admin,
    ApiQuery(query): ApiQuery<ManageOrdersQuery>,
) -> Result<ApiJson<OrderPage>, ApiError> {
    let limit = page_limit(query.limit)?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => Some(
            OrderStatus::parse(raw)
                .ok_or_else(|| ApiError::invalid_field("status", "is not an order status"))?,
        ),
    };
    let cursor = query.cursor.filter(|c| !c.is_empty());
    Ok(ApiJson(
        service::list_all(&orders, status, limit, cursor).await?,
    ))
}
