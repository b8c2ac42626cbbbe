//! `DELETE /api/products/{id}/images/{imageId}` (admin): removes a product image.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use jojomart_shared::error::ApiError;

use super::{images, product_id};
use crate::{http::Admin, products::Catalog};

/// Removes the image from the product and deletes its variants; 204.
#[utoipa::path(delete, path = "/api/products/{id}/images/{imageId}", tag = "products",
    params(("id" = String, Path, description = "The product id"),
        ("imageId" = String, Path, description = "The image id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, description = "No valid token"),
        (status = 403, description = "Not an admin"), (status = 404, description = "Unknown product or image")))]
pub async fn delete_image(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    Path((id, image_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = product_id(&id)?;
    images::remove(&catalog, &id, &image_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
