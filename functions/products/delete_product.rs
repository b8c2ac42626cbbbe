//! `DELETE /api/products/{id}` (admin): soft-deletes a product.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use jojomart_shared::error::ApiError;

use super::{product_id, service};
use crate::{http::Admin, products::Catalog};

/// Takes the product out of listings, lookups and carts (old orders keep it); 204.
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products",
    params(("id" = String, Path, description = "The product id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, description = "No valid token"),
        (status = 403, description = "Not an admin"), (status = 404, description = "Unknown or already deleted")))]
pub async fn delete_product(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = product_id(&id)?;
    service::delete(&catalog, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
