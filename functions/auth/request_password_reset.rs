//! `POST /api/auth/password-reset`: ask for a password-reset mail.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::{
    auth::email::Email,
    error::{ApiError, Problem},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::tokens;
use crate::{auth::Auth, http::ApiJson};

/// Whose password to reset.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequest {
    /// The account's email.
    pub email: String,
}

impl std::fmt::Debug for PasswordResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetRequest")
            .field("email", &"<redacted>")
            .finish()
    }
}

/// Mails a single-use link (valid 1 hour) that sets a new password. The answer
/// is 202 whether or not an account has this email; only a malformed address is a 400.
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202), (status = 400, body = Problem)))]
pub async fn request_password_reset(
    State(auth): State<Auth>,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    let email =
        Email::parse(&body.email).map_err(|e| ApiError::invalid_field("email", e.to_string()))?;
    tokens::request_password_reset(&auth, email);
    Ok(StatusCode::ACCEPTED)
}
