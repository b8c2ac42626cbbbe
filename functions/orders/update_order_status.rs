//! `PATCH /api/orders/{id}/status` (admin): ship (with a tracking number),
//! deliver, cancel or refund an order.

use axum::extract::{Path, State};
use jojomart_shared::{domain::single_line_text, error::ApiError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    model::{OrderStatus, OrderView},
    service, Orders,
};
use crate::http::{Admin, ApiJson};

/// The change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStatusRequest {
    /// `shipped`, `delivered`, `cancelled` or `refunded`.
    pub status: String,
    /// The carrier's tracking number (with `shipped`).
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// Why, recorded in the history.
    #[serde(default)]
    pub note: Option<String>,
}

/// Moves the order on; 409 for a move the state machine refuses.
#[utoipa::path(patch, path = "/api/orders/{id}/status", tag = "orders", request_body = UpdateStatusRequest,
    params(("id" = String, Path, description = "The order id")),
    security(("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 400, description = "Invalid fields"),
        (status = 401, description = "No valid token"), (status = 403, description = "Not an admin"),
        (status = 404, description = "No such order"), (status = 409, description = "An illegal move")))]
pub async fn update_order_status(
    State(orders): State<Orders>,
    Admin(_): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateStatusRequest>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let mut errors = Vec::new();
    let status = OrderStatus::parse(&body.status);
    if status.is_none() {
        errors.push(jojomart_shared::error::FieldError::new(
            "status",
            "is not an order status",
        ));
    }
    let mut text = |field: &str, raw: Option<String>, max: usize| match raw {
        None => None,
        Some(raw) => single_line_text(&raw, false, max)
            .map_err(|e| errors.push(jojomart_shared::error::FieldError::new(field, e.0)))
            .ok(),
    };
    let tracking_number = text("trackingNumber", body.tracking_number, 100);
    let note = text("note", body.note, 500);
    let (Some(status), true) = (status, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let order = service::set_status(&orders, &id, status, tracking_number, note).await?;
    Ok(ApiJson(order.view()))
}
