//! `GET /api/users/me`: the caller's profile.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};

use super::service::{self, Me};
use crate::{
    http::{ApiJson, Authenticated},
    users::Users,
};

/// The caller's profile, preferences and addresses.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_me(
    State(users): State<Users>,
    Authenticated(principal): Authenticated,
) -> Result<ApiJson<Me>, ApiError> {
    Ok(ApiJson(service::me(&users, &principal).await?))
}
