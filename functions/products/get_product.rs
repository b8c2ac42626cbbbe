//! `GET /api/products/{id}`: one live product with its availability.

use axum::extract::{Path, State};
use jojomart_shared::error::ApiError;

use super::{model::ProductDetail, product_id, service};
use crate::{analytics::Visitor, http::ApiJson, products::Catalog};

/// Answers the product, or 404 when it is unknown or deleted; a product
/// answered counts as viewed in analytics (reported without waiting).
#[utoipa::path(get, path = "/api/products/{id}", tag = "products",
    params(("id" = String, Path, description = "The product id")),
    responses((status = 200, body = ProductDetail), (status = 404, description = "Unknown or deleted")))]
pub async fn get_product(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    visitor: Visitor,
) -> Result<ApiJson<ProductDetail>, ApiError> {
    let id = product_id(&id)?;
    Ok(ApiJson(service::view(&catalog, &id, visitor).await?))
}
