//! `GET /media/{key}` under `dev`: the blobs of the files adapter (product
//! images), with their content type, cache policy and entity tag, so the demo
//! shop shows its images with no Blob Storage. Not under `/api`, not a
//! function: in Azure the blob container (or its CDN) serves them.

use axum::{
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use jojomart_shared::{
    blob::{BlobKey, SharedBlobs},
    error::ApiError,
};

/// The `/media/{*key}` route over `blobs`.
pub fn routes(blobs: SharedBlobs) -> Router {
    Router::new()
        .route("/media/{*key}", get(media))
        .with_state(blobs)
}

async fn media(
    State(blobs): State<SharedBlobs>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let missing = || ApiError::NotFound("no such media".into());
    let key = BlobKey::parse(&key).map_err(|_| missing())?;
    let blob = blobs
        .get(&key)
        .await
        .map_err(|e| ApiError::Unavailable(Box::new(e)))?
        .ok_or_else(missing)?;
    let value = |v: &str| HeaderValue::from_str(v).map_err(ApiError::internal);
    let mut out = HeaderMap::new();
    out.insert(header::ETAG, value(&blob.etag)?);
    out.insert(
        header::CACHE_CONTROL,
        value(&blob.properties.cache_control)?,
    );
    if unchanged_for(&headers, &blob.etag) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    out.insert(header::CONTENT_TYPE, value(&blob.properties.content_type)?);
    out.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    Ok((StatusCode::OK, out, blob.bytes).into_response())
}

/// Whether the request's `If-None-Match` names `etag` (or `*`): the client's
/// copy is current and the answer is 304. Used by `/media` and the web pages.
pub fn unchanged_for(request: &HeaderMap, etag: &str) -> bool {
    request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}
