//! CORS for browser storefronts on other origins, on the `/api` routes only.
//!
//! Origins are exact (no wildcard), so credentials could never pair with `*`;
//! they are not allowed at all anyway, since access tokens travel in the
//! `Authorization` header, not in cookies.

use axum::{
    extract::{Request, State},
    http::{header, HeaderName, HeaderValue, Method},
    middleware::Next,
    response::Response,
};
use tower::{Layer, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The CORS policy for `origins` (exact origins; unparsable ones are skipped).
pub fn layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-cart-id"),
            HeaderName::from_static("x-order-token"),
        ])
        .expose_headers([
            HeaderName::from_static("x-cart-id"),
            HeaderName::from_static("x-request-id"),
        ])
}

/// Middleware: applies `cors` to requests under `/api`, passes the rest through.
pub async fn for_api(State(cors): State<CorsLayer>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        let mut response = match cors.layer(next).oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        // an origin that is not allowed learns nothing of the policy
        let headers = response.headers_mut();
        if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
            for name in [
                header::ACCESS_CONTROL_ALLOW_METHODS,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                header::ACCESS_CONTROL_MAX_AGE,
            ] {
                headers.remove(name);
            }
        }
        response
    } else {
        next.run(request).await
    }
}
