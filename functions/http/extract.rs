//! Our own `Json` and `Query` extractors: a bad body or parameter becomes a 400
//! problem naming the offending fields, an oversized body a 413, never axum's
//! plain-text rejection.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderValue},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use jojomart_shared::error::{ApiError, FieldError};
use serde::{de::DeserializeOwned, Serialize};

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            if !(ct.starts_with("application/json") || ct.contains("+json")) {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
        }
        let limit = req.extensions().get::<BodyLimit>().map(|l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: limit.unwrap_or_default(),
                }
            } else {
                ApiError::invalid_field("body", "could not be read")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Most bytes an image upload (`POST /api/products/{id}/images`) may carry: 5 MiB.
pub const IMAGE_UPLOAD_MAX_BYTES: usize = 5 * 1024 * 1024;

/// The body limit of a route that takes more than the configured one (image
/// uploads: `POST /api/{collection}/{id}/images`, the one route of that shape),
/// or `None` for the configured limit.
pub fn upload_limit(method: &axum::http::Method, path: &str) -> Option<usize> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let image_upload = method == axum::http::Method::POST
        && matches!(segments.as_slice(), ["api", _, _, "images"]);
    image_upload.then_some(IMAGE_UPLOAD_MAX_BYTES)
}

/// The configured request-body limit in bytes, put on every request by the
/// middleware so a 413 says the real number.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Deserializes a JSON body, naming the offending field on failure.
///
/// # Errors
/// A 400 [`ApiError`] listing the field that is missing, malformed or of the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid_field(
            "body",
            "is empty; a JSON object is expected",
        ));
    }
    // Every body we take is an object; serde would also read a struct from an
    // array of its fields in order (`[null, null]`), which no client means.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b == b'[') {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid_field("body", format!("is not valid JSON ({inner})"));
        }
        let message = inner.to_string();
        let field = field_of(&path, &message);
        ApiError::invalid_fields(vec![FieldError::new(field, strip_position(&message))])
    })
}

/// The field an error is about: the path, or the name in "missing field `x`".
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (".", None) => "body".to_owned(),
        (p, None) => p.to_owned(),
    }
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => ApiError::internal(e).into_response(),
        }
    }
}

/// Query-string parameters, parsed into `T`; a bad one is a 400 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = field_of(&path, &message);
                ApiError::invalid_fields(vec![FieldError::new(field, message)])
            })
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        quantity: u32,
    }

    fn fields(e: ApiError) -> Vec<String> {
        e.problem().errors.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = parse_json::<Body>(br#"{"email":"a@b.c","quantity":"three"}"#).unwrap_err();
        assert_eq!(fields(e), ["quantity"]);
    }

    #[test]
    fn missing_field_names_the_field() {
        let e = parse_json::<Body>(br#"{"quantity":3}"#).unwrap_err();
        assert_eq!(fields(e), ["email"]);
    }

    #[test]
    fn malformed_json_names_the_body() {
        let e = parse_json::<Body>(b"{nope").unwrap_err();
        assert_eq!(e.status(), 400);
        assert_eq!(fields(e), ["body"]);
    }
}
