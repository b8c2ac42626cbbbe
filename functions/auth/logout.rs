//! `POST /api/auth/logout`: end the session a refresh token belongs to.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::service;
use crate::{auth::Auth, http::ApiJson};

/// The session to end.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogoutRequest {
    /// Any refresh token of the session.
    pub refresh_token: String,
}

/// Debug without the secret: requests end up in logs.
impl std::fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogoutRequest")
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// Revokes the refresh token's family; 204 whether or not the token was known.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204), (status = 400, body = Problem)))]
pub async fn logout(
    State(auth): State<Auth>,
    ApiJson(body): ApiJson<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    service::logout(&auth, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}
