//! `GET /api/products/{id}/reviews`: a product's reviews, newest first, paged.

use axum::extract::{Path, State};
use jojomart_shared::error::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use super::service::{self, ReviewPage};
use crate::{
    http::{page_limit, ApiJson, ApiQuery},
    products::product_id,
    reviews::Reviews,
};

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListReviewsQuery {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

/// Lists the reviews of a live product.
#[utoipa::path(get, path = "/api/products/{id}/reviews", tag = "reviews",
    params(("id" = String, Path, description = "The product id"), ListReviewsQuery),
    responses((status = 200, body = ReviewPage), (status = 400, description = "A bad parameter"),
        (status = 404, description = "Unknown or deleted product")))]
pub async fn list_reviews(
    State(reviews): State<Reviews>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ListReviewsQuery>,
) -> Result<ApiJson<ReviewPage>, ApiError> {
    let id = product_id(&id)?;
    let limit = page_limit(query.limit)?;
    let cursor = query.cursor.filter(|c| !c.is_empty());
    Ok(ApiJson(service::list(&reviews, &id, limit, cursor).await?))
}
