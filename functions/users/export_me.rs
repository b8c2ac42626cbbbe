//! `GET /api/users/me/export`: everything held about the caller.

use axum::{
    extract::State,
    http::{header, HeaderName, HeaderValue},
};
use jojomart_shared::error::{ApiError, Problem};

use super::service::{self, Export};
use crate::{
    http::{ApiJson, Authenticated},
    state::AppState,
};

/// The caller's data as one JSON document (profile, addresses, account and
/// sessions, orders, reviews, notifications).
#[utoipa::path(get, path = "/api/users/me/export", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Export), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn export_me(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<([(HeaderName, HeaderValue); 2], ApiJson<Export>), ApiError> {
    let export = service::export(&state, &principal).await?;
    let headers = [
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"jojomart-export.json\""),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((headers, ApiJson(export)))
}
