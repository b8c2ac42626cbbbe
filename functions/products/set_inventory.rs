//! `PUT /api/products/{id}/inventory` (admin): sets the units on hand.

use axum::extract::{Path, State};
use jojomart_shared::error::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{create_product::parse_stock, inventory::StockLevel, product_id, service};
use crate::{
    http::{Admin, ApiJson},
    products::Catalog,
};

/// The new stock level.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetInventoryRequest {
    /// Units on hand; not less than what is reserved.
    pub stock: i64,
}

/// Sets the stock; 409 when it would fall below the units reserved for unpaid orders.
#[utoipa::path(put, path = "/api/products/{id}/inventory", tag = "products", request_body = SetInventoryRequest,
    params(("id" = String, Path, description = "The product id")),
    security(("bearer" = [])),
    responses((status = 200, body = StockLevel), (status = 400, description = "Invalid stock"),
        (status = 401, description = "No valid token"), (status = 403, description = "Not an admin"),
        (status = 404, description = "Unknown or deleted"), (status = 409, description = "Below what is reserved")))]
pub async fn set_inventory(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetInventoryRequest>,
) -> Result<ApiJson<StockLevel>, ApiError> {
    let id = product_id(&id)?;
    let stock = parse_stock(body.stock).map_err(|e| ApiError::invalid_field("stock", e.0))?;
    Ok(ApiJson(service::set_stock(&catalog, &id, stock).await?))
}
