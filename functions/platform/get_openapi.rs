//! `GET /api/openapi.json`: the OpenAPI 3.1 document of every HTTP function.

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::IntoResponse,
};

use crate::state::AppState;

/// Serves the document generated when the router was built.
#[utoipa::path(get, path = "/api/openapi.json", tag = "platform",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn get_openapi(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.openapi_json().unwrap_or("{}").to_owned();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
}
