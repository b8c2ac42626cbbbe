//! The one error every handler returns, rendered as RFC 9457 problem+json.
//!
//! 5xx bodies are generic: the real cause travels in the response extensions
//! ([`InternalCause`]) and is logged once by the app's middleware, inside the
//! request span.

use std::{sync::Arc, time::Duration};

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::{queue::QueueError, store::StoreError};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The base of our stable problem `type` URIs.
const TYPE_BASE: &str = "https://jojomart.dev/problems/";

/// One invalid input field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field path (`email`, `items[2].quantity`) or query parameter name.
    pub field: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The problem+json body (RFC 9457).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The offending fields, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The cause of a 5xx, kept out of the body and logged by middleware.
#[derive(Debug, Clone)]
pub struct InternalCause(pub Arc<dyn std::error::Error + Send + Sync>);

/// Everything a request can fail with; each variant says its status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the input is malformed or invalid; `errors` lists the fields.
    #[error("{detail}")]
    BadRequest {
        /// What is wrong overall.
        detail: String,
        /// The offending fields.
        errors: Vec<FieldError>,
    },
    /// 401: no valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 402: the payment was declined.
    #[error("{0}")]
    PaymentRequired(String),
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource (or not yours to know about).
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 412: an If-Match precondition failed.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: the body is larger than we accept.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but unprocessable (e.g. an idempotency key reused with another body).
    #[error("{0}")]
    Unprocessable(String),
    /// 429: slow down; retry after the given time.
    #[error("{detail}")]
    TooManyRequests {
        /// What was throttled.
        detail: String,
        /// When to try again.
        retry_after: Duration,
    },
    /// 503: a dependency is down.
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 500: a bug or an unexpected failure; the body says nothing more.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A 400 with a single field error.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        Self::BadRequest {
            detail: format!("`{}` {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// A 400 listing several field errors.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        Self::BadRequest {
            detail: format!("invalid fields: {}", names.join(", ")),
            errors,
        }
    }

    /// A 500 from any error.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem body a client sees.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::Internal(_) => "something went wrong on our side; it has been logged".to_owned(),
            Self::Unavailable(_) => {
                "a service we depend on is unavailable; try again shortly".to_owned()
            }
            other => other.to_string(),
        };
        let errors = match self {
            Self::BadRequest { errors, .. } => errors.clone(),
            _ => Vec::new(),
        };
        problem_for(status, detail, errors)
    }
}

/// The stable `type` slug for a status.
fn slug(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad-request",
        401 => "unauthorized",
        402 => "payment-required",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        412 => "precondition-failed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        422 => "unprocessable",
        429 => "too-many-requests",
        503 => "unavailable",
        _ => "internal",
    }
}

/// Builds a problem body for a status.
pub fn problem_for(
    status: StatusCode,
    detail: impl Into<String>,
    errors: Vec<FieldError>,
) -> Problem {
    Problem {
        kind: format!("{TYPE_BASE}{}", slug(status)),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
        errors,
    }
}

/// Renders a problem as a response with the problem+json media type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = problem_response(&self.problem());
        if let Self::TooManyRequests { retry_after, .. } = &self {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        match self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                response
                    .extensions_mut()
                    .insert(InternalCause(Arc::from(cause)));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// Store errors a service did not handle itself: unavailability is a 503,
    /// a bad continuation a 400, anything else a bug.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(Box::new(e)),
            StoreError::InvalidContinuation => {
                Self::invalid_field("cursor", "was not issued by us for this query")
            }
            other => Self::internal(other),
        }
    }
}

impl From<QueueError> for ApiError {
    /// Queue errors a service did not handle itself.
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(_) => Self::Unavailable(Box::new(e)),
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_say_nothing_internal() {
        let e = ApiError::internal(std::io::Error::other("disk /var/secret exploded"));
        let p = e.problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("secret"));
    }

    #[test]
    fn throttling_sets_retry_after() {
        let r = ApiError::TooManyRequests {
            detail: "slow down".into(),
            retry_after: Duration::from_millis(1500),
        }
        .into_response();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()[header::RETRY_AFTER], "2");
        assert_eq!(r.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
