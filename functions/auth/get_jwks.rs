//! `GET /api/auth/.well-known/jwks.json`: the public keys that verify our access tokens.

use axum::{
    extract::State,
    http::{header, HeaderValue},
};
use jojomart_shared::auth::keys::JwkSet;

use crate::{auth::Auth, http::ApiJson};

/// Publishes the current signing key and any previous one still within its grace period.
#[utoipa::path(get, path = "/api/auth/.well-known/jwks.json", tag = "auth",
    responses((status = 200, body = JwkSet)))]
pub async fn get_jwks(
    State(auth): State<Auth>,
) -> ([(header::HeaderName, HeaderValue); 1], ApiJson<JwkSet>) {
    let jwks = auth.keys.jwks().await;
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        ApiJson(jwks),
    )
}
