//! `GET /api/categories`: the categories that have products, with their counts.

use axum::extract::State;
use jojomart_shared::error::ApiError;

use super::model::CategoryView;
use crate::{http::ApiJson, products::Catalog};

/// Lists categories with live products, by name.
#[utoipa::path(get, path = "/api/categories", tag = "products",
    responses((status = 200, body = [CategoryView])))]
pub async fn list_categories(
    State(catalog): State<Catalog>,
) -> Result<ApiJson<Vec<CategoryView>>, ApiError> {
    Ok(ApiJson(catalog.read_model.categories().await?))
}
