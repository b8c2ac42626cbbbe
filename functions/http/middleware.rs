//! The middleware every route runs under: one span per invocation, 5xx causes
//! logged inside it, bare error responses turned into problem+json, panics
//! caught as a generic 500.

use std::{any::Any, time::Instant};

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{header, HeaderValue, Response, StatusCode},
    middleware::Next,
    response::IntoResponse,
};
use jojomart_shared::error::{
    problem_for, problem_response, ApiError, InternalCause, PROBLEM_JSON,
};
use jojomart_shared::telemetry;
use tracing::Instrument;

/// The header the Functions host puts on every invocation it forwards.
pub const INVOCATION_ID: &str = "x-azure-functions-invocationid";
/// The W3C trace context header; a valid one makes the invocation's request its child.
pub const TRACEPARENT: &str = "traceparent";
/// Our request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// Runs one invocation inside a span naming the function and the invocation id,
/// and logs the cause of a 5xx there, once.
pub async fn invocation_span(
    State(function): State<&'static str>,
    request: Request,
    next: Next,
) -> Response<Body> {
    let request_id = header_value(&request, REQUEST_ID).unwrap_or_default();
    let invocation_id = header_value(&request, INVOCATION_ID).unwrap_or_else(|| request_id.clone());
    // a root: one operation per invocation, whatever span the caller is in
    let span = tracing::info_span!(
        parent: None,
        "invocation",
        function,
        invocation_id = %invocation_id,
        method = %request.method(),
        status = tracing::field::Empty,
        // for OpenTelemetry: a server span is an Application Insights request
        otel.name = function,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
    );
    telemetry::start_operation(
        &span,
        header_value(&request, TRACEPARENT).as_deref(),
        &invocation_id,
    );
    // HTTP functions (not the host's `POST /{function}` invocations of queue
    // and timer functions): Application Insights names the request "GET /api/..."
    if let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .filter(|route| route.as_str().strip_prefix('/') != Some(function))
    {
        telemetry::set_attribute(&span, "http.request.method", request.method().as_str());
        telemetry::set_attribute(&span, "http.route", route.as_str());
        telemetry::set_attribute(&span, "url.path", request.uri().path());
    }
    let started = Instant::now();
    async move {
        let response = next.run(request).await;
        let status = response.status();
        let span = tracing::Span::current();
        span.record("status", status.as_u16());
        telemetry::set_attribute(&span, "http.response.status_code", status.as_str());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
        if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
            tracing::error!(error = %cause, source = ?cause.source(), "invocation failed");
        } else if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "invocation failed");
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            status = status.as_u16(),
            "done"
        );
        response
    }
    .instrument(span)
    .await
}

fn header_value(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Turns any error response that is not already problem+json (axum's 404/405,
/// the body limit's 413...) into one, so every error has the same shape.
pub async fn problem_for_bare_errors(
    State(max_body_bytes): State<usize>,
    request: Request,
    next: Next,
) -> Response<Body> {
    let response = next.run(request).await;
    let status = response.status();
    // problem+json already, or an invocation's JSON answer to the host
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| {
            let ct = ct.as_bytes();
            ct.starts_with(PROBLEM_JSON.as_bytes()) || ct.starts_with(b"application/json")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => "no route matches this path".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit: max_body_bytes,
        }
        .to_string(),
        other => other.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let (mut parts, _) = response.into_parts();
    let mut fresh = problem_response(&problem_for(status, detail, Vec::new()));
    // keep headers such as Allow on a 405
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.remove(&name) {
            fresh.headers_mut().insert(name, v);
        }
    }
    fresh.extensions_mut().extend(parts.extensions);
    fresh
}

/// The answer to a handler panic: a 500 problem with nothing internal in it.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned());
    tracing::error!(panic = %what, "handler panicked");
    let problem = problem_for(
        StatusCode::INTERNAL_SERVER_ERROR,
        "something went wrong on our side; it has been logged",
        Vec::new(),
    );
    let mut response = problem_response(&problem);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.into_response()
}
