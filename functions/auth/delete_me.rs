//! `DELETE /api/users/me`: close the caller's account.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};

use super::{service, Auth};
use crate::http::Authenticated;

/// Closes the account: sign-in and refresh stop working at once, the profile is
/// deleted, and the erasure of personal data elsewhere is queued.
#[utoipa::path(delete, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_me(
    State(auth): State<Auth>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    service::close_account(&auth, &principal).await?;
    Ok(StatusCode::NO_CONTENT)
}
