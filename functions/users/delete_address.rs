//! `DELETE /api/users/me/addresses/{id}`: remove one of the caller's addresses.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use jojomart_shared::error::{ApiError, Problem};

use super::service;
use crate::{http::Authenticated, users::Users};

/// Deletes the address; 404 when the caller has no address with that id.
#[utoipa::path(delete, path = "/api/users/me/addresses/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "The address id")),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_address(
    State(users): State<Users>,
    Authenticated(principal): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service::delete_address(&users, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
