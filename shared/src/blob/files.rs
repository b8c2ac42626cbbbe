//! The files adapter: blobs under a directory (`<data dir>/media/`), each
//! written to a temporary file and renamed into place, with its properties
//! and entity tag in a sidecar under `.meta/` (a name no key can take).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{join_url, Blob, BlobError, BlobKey, BlobProperties, BlobStore};

/// Blobs as files under a root directory.
#[derive(Debug, Clone)]
pub struct FileBlobs {
    root: PathBuf,
    base_url: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sidecar {
    #[serde(flatten)]
    properties: BlobProperties,
    etag: String,
}

impl FileBlobs {
    /// Blobs under `root` (created on first write), public at `base_url`
    /// (e.g. `/media` or `https://shop.example/media`).
    pub fn new(root: impl Into<PathBuf>, base_url: impl Into<String>) -> Self {
        Self {
            root: root.into(),
            base_url: base_url.into(),
        }
    }

    /// The directory blobs live in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn paths(&self, key: &BlobKey) -> (PathBuf, PathBuf) {
        let blob = self.root.join(key.as_str());
        let meta = self
            .root
            .join(".meta")
            .join(format!("{}.json", key.as_str()));
        (blob, meta)
    }
}

fn io(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let dir = path
        .parent()
        .ok_or_else(|| BlobError::Internal("a blob path has no parent".into()))?;
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io(e));
    }
    Ok(())
}

#[async_trait]
impl BlobStore for FileBlobs {
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Bytes,
        properties: &BlobProperties,
    ) -> Result<(), BlobError> {
        let (blob, meta) = self.paths(key);
        let sidecar = Sidecar {
            properties: properties.clone(),
            etag: format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16])),
        };
        let sidecar =
            serde_json::to_vec(&sidecar).map_err(|e| BlobError::Internal(e.to_string()))?;
        // The sidecar first: a blob file is only ever visible with its properties.
        write_atomically(&meta, &sidecar).await?;
        write_atomically(&blob, &bytes).await
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, BlobError> {
        let (blob, meta) = self.paths(key);
        let bytes = match tokio::fs::read(&blob).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let sidecar = match tokio::fs::read(&meta).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let sidecar: Sidecar =
            serde_json::from_slice(&sidecar).map_err(|e| BlobError::Internal(e.to_string()))?;
        Ok(Some(Blob {
            bytes: Bytes::from(bytes),
            properties: sidecar.properties,
            etag: sidecar.etag,
        }))
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        let (blob, meta) = self.paths(key);
        let existed = match tokio::fs::remove_file(&blob).await {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(io(e)),
        };
        match tokio::fs::remove_file(&meta).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        Ok(existed)
    }

    fn public_url(&self, key: &BlobKey) -> String {
        join_url(&self.base_url, key)
    }
}
