//! `POST /api/products/{id}/images` (admin): uploads a product image.

use axum::{
    body::Body,
    extract::{Path, State},
    http::StatusCode,
};
use jojomart_shared::error::ApiError;

use super::{images, model::ProductImage, product_id};
use crate::{
    http::{extract::IMAGE_UPLOAD_MAX_BYTES, Admin, ApiJson},
    products::Catalog,
};

/// Takes a raw JPEG, PNG or WebP body (≤ 5 MiB, ≤ 40 megapixels), stores its
/// WebP variants and adds it to the product; 201 with the image.
#[utoipa::path(post, path = "/api/products/{id}/images", tag = "products",
    params(("id" = String, Path, description = "The product id")),
    request_body(content = Vec<u8>, description = "The image file",
        content_type = "image/jpeg", content_type = "image/png", content_type = "image/webp"),
    security(("bearer" = [])),
    responses((status = 201, body = ProductImage), (status = 401, description = "No valid token"),
        (status = 403, description = "Not an admin"), (status = 404, description = "Unknown or deleted product"),
        (status = 409, description = "The product has the most images it may"),
        (status = 413, description = "Over 5 MiB or 40 megapixels"),
        (status = 415, description = "Not a JPEG, PNG or WebP image")))]
pub async fn upload_image(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    body: Body,
) -> Result<(StatusCode, ApiJson<ProductImage>), ApiError> {
    let id = product_id(&id)?;
    let bytes = axum::body::to_bytes(body, IMAGE_UPLOAD_MAX_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: IMAGE_UPLOAD_MAX_BYTES,
        })?;
    let processed = tokio::task::spawn_blocking(move || images::process(&bytes))
        .await
        .map_err(ApiError::internal)??;
    let image = images::add(&catalog, &id, processed).await?;
    Ok((StatusCode::CREATED, ApiJson(image)))
}
