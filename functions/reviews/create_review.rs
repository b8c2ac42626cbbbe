//! `POST /api/products/{id}/reviews`: the caller reviews a product, once.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use jojomart_shared::{
    domain::{Rating, ReviewBody, ReviewTitle},
    error::ApiError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::service::{self, NewReview, ReviewView};
use crate::{
    http::{ApiJson, Authenticated},
    products::{field, product_id},
    reviews::Reviews,
};

/// A review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateReviewRequest {
    /// Stars, 1 to 5.
    pub rating: i64,
    /// Title, 1 to 120 characters.
    pub title: String,
    /// Body, at most 5,000 characters.
    #[serde(default)]
    pub body: String,
}

impl TryFrom<CreateReviewRequest> for NewReview {
    type Error = ApiError;

    fn try_from(req: CreateReviewRequest) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let rating = field("rating", Rating::new(req.rating), &mut errors);
        let title = field("title", ReviewTitle::parse(&req.title), &mut errors);
        let body = field("body", ReviewBody::parse(&req.body), &mut errors);
        match (rating, title, body) {
            (Some(rating), Some(title), Some(body)) => Ok(NewReview {
                rating,
                title,
                body,
            }),
            _ => Err(ApiError::invalid_fields(errors)),
        }
    }
}

/// Writes the review; 409 when the caller already reviewed this product.
#[utoipa::path(post, path = "/api/products/{id}/reviews", tag = "reviews", request_body = CreateReviewRequest,
    params(("id" = String, Path, description = "The product id")),
    security(("bearer" = [])),
    responses((status = 201, body = ReviewView), (status = 400, description = "Invalid fields"),
        (status = 401, description = "No valid token"), (status = 404, description = "Unknown or deleted product"),
        (status = 409, description = "Already reviewed")))]
pub async fn create_review(
    State(reviews): State<Reviews>,
    Authenticated(author): Authenticated,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreateReviewRequest>,
) -> Result<(StatusCode, ApiJson<ReviewView>), ApiError> {
    let id = product_id(&id)?;
    let new = NewReview::try_from(body)?;
    let review = service::create(&reviews, &author, &id, new).await?;
    Ok((StatusCode::CREATED, ApiJson(review)))
}
