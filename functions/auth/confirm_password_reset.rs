//! `POST /api/auth/password-reset/confirm`: set a new password with a reset token.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::tokens;
use crate::{auth::Auth, http::ApiJson};

/// The token from the reset mail and the new password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPasswordResetRequest {
    /// The token the link carried.
    pub token: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

impl std::fmt::Debug for ConfirmPasswordResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmPasswordResetRequest")
            .field("token", &"<redacted>")
            .field("new_password", &"<redacted>")
            .finish()
    }
}

/// Sets the new password and signs the account out everywhere: every refresh
/// token stops working and every access token issued before is refused.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "auth",
    request_body = ConfirmPasswordResetRequest,
    responses((status = 204), (status = 400, body = Problem)))]
pub async fn confirm_password_reset(
    State(auth): State<Auth>,
    ApiJson(body): ApiJson<ConfirmPasswordResetRequest>,
) -> Result<StatusCode, ApiError> {
    tokens::confirm_password_reset(&auth, &body.token, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
