//! `POST /api/auth/register`: create an account and sign it in.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::service::{self, Registration, Session};
use crate::{auth::Auth, http::ApiJson};

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    /// The email to sign in with (trimmed and lower-cased).
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// The display name, 1 to 100 characters.
    pub name: String,
}

/// Registers an account; its email gets the admin role when listed in `JOJOMART_ADMIN_EMAILS`.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = Session), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn register(
    State(auth): State<Auth>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    let registration = Registration::parse(&body.email, body.password, &body.name)?;
    let session = service::register(&auth, registration).await?;
    Ok((StatusCode::CREATED, ApiJson(session)))
}
