//! `POST /api/auth/refresh`: exchange a refresh token for a new pair.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::service::{self, Session};
use crate::{auth::Auth, http::ApiJson};

/// The refresh token to exchange.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    /// The token from the last sign-in or refresh.
    pub refresh_token: String,
}

/// Debug without the secret: requests end up in logs.
impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// Rotates the refresh token; presenting one that was already exchanged revokes its whole family.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn refresh_token(
    State(auth): State<Auth>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<ApiJson<Session>, ApiError> {
    let session = service::refresh(&auth, &body.refresh_token).await?;
    Ok(ApiJson(session))
}
