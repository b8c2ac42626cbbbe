//! `GET /api/notifications`: the caller's notifications, newest first, paged.

use axum::extract::State;
use jojomart_shared::error::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{model::NotificationPage, service, Notifications};
use crate::http::{page_limit, ApiJson, ApiQuery, Authenticated};

/// Paging parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListNotificationsQuery {
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

/// Lists the caller's notifications.
#[utoipa::path(get, path = "/api/notifications", tag = "notifications",
    params(ListNotificationsQuery), security(("bearer" = [])),
    responses((status = 200, body = NotificationPage), (status = 400, description = "A bad parameter"),
        (status = 401, description = "No valid token")))]
pub async fn list_notifications(
    State(notifications): State<Notifications>,
    Authenticated(caller): Authenticated,
    ApiQuery(query): ApiQuery<ListNotificationsQuery>,
) -> Result<ApiJson<NotificationPage>, ApiError> {
    let limit = page_limit(query.limit)?;
    let cursor = query.cursor.filter(|c| !c.is_empty());
    Ok(ApiJson(
        service::list(&notifications, &caller.user_id, limit, cursor).await?,
    ))
}
