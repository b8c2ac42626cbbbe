//! `GET /dev/mail` (only under `jojomart dev`; not an Azure function, not in
//! the OpenAPI document): the mail this dev server sent, newest first, each
//! viewable as text (`/dev/mail/{id}.txt`) and as HTML (`/dev/mail/{id}.html`),
//! so a developer can follow a verification or reset link without a mail server.

use axum::{
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use jojomart_shared::error::ApiError;

use super::{mail, Notifications};

/// The most mails the page lists.
const PAGE: u32 = 200;

/// The dev mail routes.
pub fn routes(notifications: Notifications) -> Router {
    Router::new()
        .route("/dev/mail", get(list))
        .route("/dev/mail/{file}", get(view))
        .with_state(notifications)
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // a mail's HTML runs no script and loads nothing, even if a template slipped
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

async fn list(State(n): State<Notifications>) -> Result<Response, ApiError> {
    let mails = mail::recorded(&n.store, PAGE).await?;
    let page = n
        .templates
        .dev_mail_page(&mails)
        .map_err(ApiError::internal)?;
    Ok(with_type(page, "text/html; charset=utf-8"))
}

async fn view(
    State(n): State<Notifications>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound("no such mail".into());
    let (id, html) = match (file.strip_suffix(".html"), file.strip_suffix(".txt")) {
        (Some(id), _) => (id, true),
        (_, Some(id)) => (id, false),
        _ => return Err(missing()),
    };
    let found = mail::recorded_one(&n.store, id)
        .await?
        .ok_or_else(missing)?;
    Ok(if html {
        with_type(found.html, "text/html; charset=utf-8")
    } else {
        with_type(found.text, "text/plain; charset=utf-8")
    })
}
