//! `POST /api/orders/{id}/cancel`: the owner cancels a paid order; it is
//! refunded and its stock goes back on the shelf.

use axum::extract::{Path, State};
use jojomart_shared::error::ApiError;

use super::{model::OrderView, service, Orders};
use crate::http::{ApiJson, Authenticated};

/// Cancels the caller's paid order.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders",
    params(("id" = String, Path, description = "The order id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 401, description = "No valid token"),
        (status = 404, description = "No such order, or not yours"), (status = 409, description = "Not paid (shipped, already cancelled...)")))]
pub async fn cancel_order(
    State(orders): State<Orders>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<OrderView>, ApiError> {
    Ok(ApiJson(
        service::cancel(&orders, &caller, &id).await?.view(),
    ))
}
