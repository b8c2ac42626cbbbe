//! `DELETE /api/reviews/{id}`: its author or an admin removes a review.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use jojomart_shared::error::ApiError;

use super::service;
use crate::{http::Authenticated, reviews::Reviews};

/// Deletes the review and takes it out of the product's rating; 204.
#[utoipa::path(delete, path = "/api/reviews/{id}", tag = "reviews",
    params(("id" = String, Path, description = "The review id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, description = "No valid token"),
        (status = 403, description = "Neither the author nor an admin"), (status = 404, description = "No such review")))]
pub async fn delete_review(
    State(reviews): State<Reviews>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete(&reviews, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
