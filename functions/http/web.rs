//! The storefront (`/`) and the admin console (`/manage`) under `dev`: the
//! hand-written HTML, CSS and JavaScript modules of `web/`, embedded in the
//! binary (a debug build reads them from disk, so an edit shows on reload),
//! served with an entity tag, `Cache-Control: no-cache` (revalidated, answered
//! 304 when unchanged) and a strict content security policy. In Azure the same
//! folder deploys as a Static Web App (`bicep/modules/staticwebapp.bicep`).

use axum::{
    extract::Path,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use jojomart_shared::error::ApiError;

/// The embedded `web/` folder.
#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Web;

/// The storefront's pages: each answers with `store/index.html`, whose script
/// routes on the path (`web/assets/store/app.js` lists the same paths).
pub const STORE_PAGES: &[&str] = &[
    "/",
    "/search",
    "/categories/{id}",
    "/products/{id}",
    "/cart",
    "/checkout",
    "/login",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/verify-email",
    "/orders",
    "/orders/{id}",
    "/notifications",
    "/account",
];

/// The admin console's pages (`web/assets/manage/app.js` routes them).
pub const MANAGE_PAGES: &[&str] = &[
    "/manage",
    "/manage/products",
    "/manage/products/new",
    "/manage/products/{id}",
    "/manage/orders",
    "/manage/orders/{id}",
    "/manage/analytics",
];

/// The pages and `/assets/{*path}`.
pub fn routes() -> Router {
    let mut router = Router::new().route("/assets/{*path}", get(asset));
    for page in STORE_PAGES {
        router = router.route(page, get(|headers: HeaderMap| page_of("store", headers)));
    }
    for page in MANAGE_PAGES {
        router = router.route(page, get(|headers: HeaderMap| page_of("manage", headers)));
    }
    router
}

async fn page_of(app: &'static str, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(&format!("{app}/index.html"), &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(&format!("assets/{path}"), &headers)
}

/// What every page may load: its own scripts, styles and images, images from
/// anywhere over https (Blob Storage or a CDN), and the API on the same origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: https:; \
     script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

fn serve(path: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    if path
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'))
    {
        return Err(ApiError::NotFound("no such file".into()));
    }
    let file = Web::get(path).ok_or_else(|| ApiError::NotFound("no such file".into()))?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut out = HeaderMap::new();
    let value = |v: &str| HeaderValue::from_str(v).map_err(ApiError::internal);
    out.insert(header::ETAG, value(&etag)?);
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    if super::media::unchanged_for(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, value(content_type(path))?);
    if path.ends_with(".html") {
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        out.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    Ok((StatusCode::OK, out, file.data.into_owned()).into_response())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
