//! `POST /api/auth/login`: sign in with email and password.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    service::{self, Session},
    sign_in,
};
use crate::{
    auth::Auth,
    http::{ApiJson, CartIdHeader, ClientAddress},
};

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: String,
}

/// Debug without the secret: requests end up in logs.
impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Signs in; the same 401 for an unknown email and a wrong password, 429 after
/// repeated failures. The anonymous cart named by `X-Cart-Id` is merged into
/// the account's cart.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    params(("X-Cart-Id" = Option<String>, Header, description = "An anonymous cart to merge into the account's cart")),
    responses((status = 200, body = Session), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 429, body = Problem, headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn login(
    State(auth): State<Auth>,
    ClientAddress(client): ClientAddress,
    CartIdHeader(cart_id): CartIdHeader,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<ApiJson<Session>, ApiError> {
    let session = service::login(&auth, &body.email, &body.password, &client).await?;
    sign_in::announce(&auth, &session, cart_id, false).await;
    Ok(ApiJson(session))
}
