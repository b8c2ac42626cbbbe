//! `PATCH /api/users/me`: change the caller's name or preferences.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::service::{self, Me, PreferencesPatch};
use crate::{
    http::{ApiJson, Authenticated},
    users::Users,
};

/// The fields to change; absent ones stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMeRequest {
    /// A new display name (1 to 100 characters).
    pub name: Option<String>,
    /// Preferences to change.
    pub preferences: Option<PreferencesPatch>,
}

/// Updates the profile and answers with it.
#[utoipa::path(patch, path = "/api/users/me", tag = "users", security(("bearer" = [])), request_body = UpdateMeRequest,
    responses((status = 200, body = Me), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn update_me(
    State(users): State<Users>,
    Authenticated(principal): Authenticated,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> Result<ApiJson<Me>, ApiError> {
    let me = service::update(&users, &principal, body.name.as_deref(), body.preferences).await?;
    Ok(ApiJson(me))
}
