//! Extractors that give handlers the caller: [`Authenticated`] (401 without a
//! valid bearer token), [`Admin`] (403 without the admin role) and
//! [`MaybeAuthenticated`] (anonymous allowed, a bad token still 401).

use axum::{extract::FromRequestParts, http::request::Parts};
use jojomart_shared::{
    auth::{AuthError, Principal, SharedVerifier},
    error::ApiError,
};

use crate::state::AppState;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// An authenticated caller with the admin role.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

/// The caller if a bearer token was sent; `None` for anonymous requests.
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated(pub Option<Principal>);

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::Unauthorized(
            "expected `Authorization: Bearer <token>`".into(),
        )),
    }
}

async fn verify(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let verifier = state.handle::<SharedVerifier>();
    verifier.verify(token).await.map_err(|e| match e {
        AuthError::Unavailable(_) => ApiError::Unavailable(Box::new(e)),
        other => {
            tracing::debug!(reason = %other, "bearer token refused");
            ApiError::Unauthorized("the access token is invalid or expired".into())
        }
    })
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?
            .ok_or_else(|| ApiError::Unauthorized("sign in first: no access token".into()))?;
        verify(state, token).await.map(Authenticated)
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(principal) = Authenticated::from_request_parts(parts, state).await?;
        if principal.is_admin() {
            Ok(Admin(principal))
        } else {
            Err(ApiError::Forbidden("this needs the admin role".into()))
        }
    }
}

impl FromRequestParts<AppState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => verify(state, token)
                .await
                .map(|p| MaybeAuthenticated(Some(p))),
            None => Ok(MaybeAuthenticated(None)),
        }
    }
}
