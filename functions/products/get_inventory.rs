//! `GET /api/products/{id}/inventory` (admin): the units on hand, reserved and
//! available, so an admin sees the stock before setting it.

use axum::extract::{Path, State};
use jojomart_shared::error::ApiError;

use super::{inventory::StockLevel, product_id, service};
use crate::{
    http::{Admin, ApiJson},
    products::Catalog,
};

/// Answers the stock level, read from the store (not the read model).
#[utoipa::path(get, path = "/api/products/{id}/inventory", tag = "products",
    params(("id" = String, Path, description = "The product id")),
    security(("bearer" = [])),
    responses((status = 200, body = StockLevel),
        (status = 401, description = "No valid token"), (status = 403, description = "Not an admin"),
        (status = 404, description = "Unknown or deleted")))]
pub async fn get_inventory(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
) -> Result<ApiJson<StockLevel>, ApiError> {
    let id = product_id(&id)?;
    Ok(ApiJson(service::stock_level(&catalog, &id).await?))
}
