//! `POST /api/auth/verify-email`: spend the token a verification mail carried.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::tokens;
use crate::{auth::Auth, http::ApiJson};

/// The token from the verification mail.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyEmailRequest {
    /// The token the link carried.
    pub token: String,
}

impl std::fmt::Debug for VerifyEmailRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyEmailRequest")
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Marks the account's email as verified; the token works once, for 24 hours.
#[utoipa::path(post, path = "/api/auth/verify-email", tag = "auth", request_body = VerifyEmailRequest,
    responses((status = 204), (status = 400, body = Problem)))]
pub async fn verify_email(
    State(auth): State<Auth>,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> Result<StatusCode, ApiError> {
    tokens::verify_email(&auth, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
