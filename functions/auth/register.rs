//! `POST /api/auth/register`: create an account and sign it in.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    service::{self, Registration, Session},
    sign_in,
};
use crate::{
    auth::Auth,
    http::{ApiJson, CartIdHeader, ClientAddress},
};

/// A new account.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    /// The email to sign in with (trimmed and lower-cased).
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// The display name, 1 to 100 characters.
    pub name: String,
}

/// Debug without the secret: requests end up in logs.
impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .finish()
    }
}

/// Registers an account; its email gets the admin role when listed in
/// `JOJOMART_ADMIN_EMAILS`. The anonymous cart named by `X-Cart-Id` is merged
/// into the new account's cart. Each address may register 10 times an hour
/// (`JOJOMART_REGISTER_MAX_PER_CLIENT`), then 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    params(("X-Cart-Id" = Option<String>, Header, description = "An anonymous cart to merge into the account's cart")),
    responses((status = 201, body = Session), (status = 400, body = Problem), (status = 409, body = Problem),
        (status = 429, body = Problem, headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn register(
    State(auth): State<Auth>,
    ClientAddress(client): ClientAddress,
    CartIdHeader(cart_id): CartIdHeader,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    let registration = Registration::parse(&body.email, body.password, &body.name)?;
    let session = service::register(&auth, registration, &client).await?;
    sign_in::announce(&auth, &session, cart_id, true).await;
    Ok((StatusCode::CREATED, ApiJson(session)))
}
