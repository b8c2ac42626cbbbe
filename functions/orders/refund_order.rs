//! `POST /api/orders/{id}/refund` (admin): refunds a paid, shipped or delivered order.

use axum::extract::{Path, State};
use jojomart_shared::error::ApiError;

use super::{model::OrderView, service, Orders};
use crate::http::{Admin, ApiJson};

/// Refunds the order through the gateway.
#[utoipa::path(post, path = "/api/orders/{id}/refund", tag = "orders",
    params(("id" = String, Path, description = "The order id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 401, description = "No valid token"),
        (status = 403, description = "Not an admin"), (status = 404, description = "No such order"),
        (status = 409, description = "Not paid, shipped or delivered")))]
pub async fn refund_order(
    State(orders): State<Orders>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let note = Some("refunded by the shop".to_owned());
    Ok(ApiJson(service::refund(&orders, &id, note).await?.view()))
}
