//! `POST /api/auth/verify-email/resend`: mail the caller another verification link.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};

use super::tokens;
use crate::{auth::Auth, http::Authenticated};

/// Sends a new verification mail (202). An email already verified is a 409;
/// more than three verification mails in an hour is a 429.
#[utoipa::path(post, path = "/api/auth/verify-email/resend", tag = "auth", security(("bearer" = [])),
    responses((status = 202), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem),
        (status = 429, body = Problem, headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn resend_verification(
    State(auth): State<Auth>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    tokens::resend_verification(&auth, &principal).await?;
    Ok(StatusCode::ACCEPTED)
}
