//! `GET /api/users/me`: the caller's profile.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};

use super::service::{self, Me};
use crate::{
    http::{ApiJson, Authenticated},
    state::AppState,
};

/// The caller's profile, preferences and addresses.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<ApiJson<Me>, ApiError> {
    Ok(ApiJson(service::me(&state, &principal).await?))
}
