//! The blob port: public, immutable-by-convention files (product images)
//! put with a content type and cache policy, deleted, and read back.
//!
//! Adapters: [`files`] (under `<data dir>/media/`, served at `/media/...` by
//! `dev`) and `azure` (feature `azure`: a Blob Storage container with public
//! blob read, optionally behind a CDN). Both pass the suite in
//! `conformance::blob`.

#[cfg(feature = "azure")]
pub mod azure;
pub mod files;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

/// A blob's key: `/`-separated segments of `a-z A-Z 0-9 . _ -`, none empty,
/// none starting with `.` (so no `..`, no hidden sidecar names), ≤ 512 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// Parses a key.
    ///
    /// # Errors
    /// [`BlobError::BadKey`] when it breaks the rule above.
    pub fn parse(raw: &str) -> Result<Self, BlobError> {
        let ok = !raw.is_empty()
            && raw.len() <= 512
            && raw.split('/').all(|seg| {
                !seg.is_empty()
                    && !seg.starts_with('.')
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BlobError::BadKey(raw.to_owned()))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a blob is served with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobProperties {
    /// The `Content-Type`.
    pub content_type: String,
    /// The `Cache-Control`.
    pub cache_control: String,
}

impl BlobProperties {
    /// Content-addressed content: cache forever (`public, max-age=31536000, immutable`).
    pub fn immutable(content_type: &str) -> Self {
        Self {
            content_type: content_type.to_owned(),
            cache_control: "public, max-age=31536000, immutable".to_owned(),
        }
    }
}

/// A blob read back.
#[derive(Debug, Clone)]
pub struct Blob {
    /// The bytes.
    pub bytes: Bytes,
    /// What it was put with.
    pub properties: BlobProperties,
    /// An opaque, quoted entity tag that changes when the bytes do.
    pub etag: String,
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key breaks the [`BlobKey`] rule.
    #[error("bad blob key `{0}`")]
    BadKey(String),
    /// The backend could not be reached or refused (retry later).
    #[error("blob storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else (a bug or a corrupt store).
    #[error("blob storage: {0}")]
    Internal(String),
}

/// Public blob storage.
#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug + 'static {
    /// Writes `bytes` under `key` (replacing any blob there) so readers never see a partial blob.
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Bytes,
        properties: &BlobProperties,
    ) -> Result<(), BlobError>;

    /// Reads a blob; `None` when there is none.
    async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, BlobError>;

    /// Deletes a blob; `true` when there was one.
    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError>;

    /// The public URL the blob is read at (no request made).
    fn public_url(&self, key: &BlobKey) -> String;
}

/// A shared blob store.
pub type SharedBlobs = Arc<dyn BlobStore>;

/// Joins a public base URL (trailing `/` or not) and a key.
pub fn join_url(base: &str, key: &BlobKey) -> String {
    format!("{}/{}", base.trim_end_matches('/'), key.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for good in ["a", "products/p_1/abc-160.webp", "A.b_c-d/e"] {
            assert!(BlobKey::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "../a", "a/../b", ".meta/x", "a b", "a\\b", "é",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad}");
        }
    }
}
