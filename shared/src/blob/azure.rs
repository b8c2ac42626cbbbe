//! The Azure Blob Storage adapter of the blob port (`azure_storage_blob` 1.1).
//!
//! Blobs are block blobs in one container whose public access level is
//! `blob` (anonymous reads of a blob by its URL, no listing), put with
//! `x-ms-blob-content-type` and `x-ms-blob-cache-control` so a browser
//! reading the public URL gets them. The public URL is
//! `JOJOMART_MEDIA_BASE_URL` (a CDN in front of the container) when set,
//! else the container's own URL.
//!
//! Authentication as the queue adapter's: an account SAS signed with the
//! account key (Azurite, or accounts with shared keys), a SAS from the
//! connection string, or a managed-identity token in Azure.
//!
//! Errors: 404 on get/delete → `None`/`false`; 408, 429, 5xx and transport
//! failures → `Unavailable` (after the pipeline's bounded retries); anything
//! else → `Internal`.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::{
    credentials::TokenCredential,
    error::ErrorKind,
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Url},
};
use azure_storage_blob::{
    models::{BlobClientUploadOptions, BlobContainerClientCreateOptions, PublicAccessType},
    BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions,
};
use bytes::Bytes;

use super::{join_url, Blob, BlobError, BlobKey, BlobProperties, BlobStore};
use crate::azure_settings::{self, AzureConfigError, BlobSettings, SasServices, StorageCredential};

/// The blob port over one Azure Blob Storage container.
pub struct AzureBlobs {
    container_url: String,
    public_base: String,
    auth: StorageCredential,
    api_version: String,
}

impl std::fmt::Debug for AzureBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureBlobs")
            .field("container_url", &self.container_url)
            .field("public_base", &self.public_base)
            .field("auth", &self.auth.kind())
            .field("api_version", &self.api_version)
            .finish()
    }
}

impl AzureBlobs {
    /// Builds the adapter from settings (no request is made).
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the setting that cannot be used.
    pub fn connect(settings: &BlobSettings) -> Result<Self, AzureConfigError> {
        let endpoint = settings.endpoint.trim_end_matches('/');
        let auth = StorageCredential::resolve(
            &settings.auth,
            SasServices::Blob,
            &settings.api_version,
            endpoint,
            settings.endpoint_setting,
        )?;
        let container_url = format!("{endpoint}/{}", settings.container);
        Ok(Self {
            public_base: settings
                .media_base_url
                .clone()
                .unwrap_or_else(|| container_url.clone()),
            container_url,
            auth,
            api_version: settings.api_version.clone(),
        })
    }

    /// The container's URL (without credentials).
    pub fn container_url(&self) -> &str {
        &self.container_url
    }

    /// `url` with the SAS appended, and the credential for the client.
    fn authorised(
        &self,
        url: String,
    ) -> Result<(Url, Option<Arc<dyn TokenCredential>>), BlobError> {
        let (url, credential) = match &self.auth {
            StorageCredential::Sas(sas) => (format!("{url}?{}", sas.expose()), None),
            StorageCredential::Token(credential) => (url, Some(credential.clone())),
        };
        let url = Url::parse(&url).map_err(|e| BlobError::Internal(format!("blob URL: {e}")))?;
        Ok((url, credential))
    }

    /// A client for one blob; the key's characters need no escaping.
    fn blob(&self, key: &BlobKey) -> Result<BlobClient, BlobError> {
        let (url, credential) = self.authorised(format!("{}/{key}", self.container_url))?;
        let options = BlobClientOptions {
            client_options: client_options(),
            version: self.api_version.clone(),
        };
        BlobClient::new(url, credential, Some(options)).map_err(|e| map_error(&e))
    }

    fn container(&self) -> Result<BlobContainerClient, BlobError> {
        let (url, credential) = self.authorised(self.container_url.clone())?;
        let options = BlobContainerClientOptions {
            client_options: client_options(),
            version: self.api_version.clone(),
        };
        BlobContainerClient::new(url, credential, Some(options)).map_err(|e| map_error(&e))
    }

    /// Creates the container if missing, with public read of blobs (no
    /// listing); `jojomart provision` and `dev` on the emulator call it (in
    /// Azure, Bicep declares it).
    ///
    /// # Errors
    /// The mapped service error.
    pub async fn ensure_container(&self) -> Result<(), BlobError> {
        let options = BlobContainerClientCreateOptions {
            access: Some(PublicAccessType::Blob),
            ..Default::default()
        };
        match self.container()?.create(Some(options)).await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(409) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }

    /// Deletes the container and every blob in it (tests clean up with it).
    ///
    /// # Errors
    /// The mapped service error; a missing container is not an error.
    pub async fn delete_container(&self) -> Result<(), BlobError> {
        match self.container()?.delete(None).await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(map_error(&e)),
        }
    }

    /// Checks that the service answers and the container exists.
    ///
    /// # Errors
    /// `Unavailable` when the service cannot be reached; `Internal` when it
    /// refuses the credentials or the container is missing.
    pub async fn health(&self) -> Result<(), BlobError> {
        match self.container()?.get_properties(None).await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Err(BlobError::Internal(format!(
                "container {} does not exist",
                self.container_url
            ))),
            Err(e) => Err(map_error(&e)),
        }
    }
}

/// Pipeline options: a short, bounded retry so an unreachable service fails fast.
fn client_options() -> ClientOptions {
    ClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(200),
            max_retries: 3,
            max_total_elapsed: azure_core::time::Duration::seconds(10),
            max_delay: azure_core::time::Duration::seconds(2),
        }),
        ..Default::default()
    }
}

fn status(e: &azure_core::Error) -> Option<u16> {
    e.http_status().map(u16::from)
}

/// Maps an SDK error onto the port's errors.
fn map_error(e: &azure_core::Error) -> BlobError {
    match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let code = u16::from(*status);
            let detail = format!("{code} {}", error_code.as_deref().unwrap_or_default());
            match code {
                408 | 429 | 500..=599 => BlobError::Unavailable(detail),
                _ => BlobError::Internal(detail),
            }
        }
        ErrorKind::Io | ErrorKind::Connection => {
            BlobError::Unavailable(azure_settings::first_line(e))
        }
        ErrorKind::Credential => {
            BlobError::Unavailable(format!("credential: {}", azure_settings::first_line(e)))
        }
        _ => BlobError::Internal(azure_settings::first_line(e)),
    }
}

#[async_trait]
impl BlobStore for AzureBlobs {
    async fn put(
        &self,
        key: &BlobKey,
        bytes: Bytes,
        properties: &BlobProperties,
    ) -> Result<(), BlobError> {
        let options = BlobClientUploadOptions {
            blob_content_type: Some(properties.content_type.clone()),
            blob_cache_control: Some(properties.cache_control.clone()),
            ..Default::default()
        };
        self.blob(key)?
            .upload(bytes.into(), Some(options))
            .await
            .map(|_| ())
            .map_err(|e| map_error(&e))
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Blob>, BlobError> {
        let downloaded = match self.blob(key)?.download(None).await {
            Ok(d) => d,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(map_error(&e)),
        };
        let properties = downloaded.properties;
        let etag = properties
            .etag
            .map(|t| t.to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| BlobError::Internal("a blob without an ETag".into()))?;
        let bytes = downloaded.body.collect().await.map_err(|e| map_error(&e))?;
        Ok(Some(Blob {
            bytes,
            properties: BlobProperties {
                content_type: properties.content_type.unwrap_or_default(),
                cache_control: properties.cache_control.unwrap_or_default(),
            },
            etag,
        }))
    }

    async fn delete(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match self.blob(key)?.delete(None).await {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(map_error(&e)),
        }
    }

    fn public_url(&self, key: &BlobKey) -> String {
        join_url(&self.public_base, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(media: Option<&str>) -> BlobSettings {
        let conn = format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/",
            crate::azure_settings::DEV_ACCOUNT_KEY
        );
        let mut s = BlobSettings::from_lookup(&|k: &str| {
            (k == "JOJOMART_BLOB_CONNECTION").then(|| conn.clone())
        })
        .expect("settings");
        s.media_base_url = media.map(str::to_owned);
        s
    }

    #[test]
    fn public_urls_are_the_container_or_the_cdn() {
        let key = BlobKey::parse("products/p1/abc-160.webp").unwrap();
        let direct = AzureBlobs::connect(&settings(None)).unwrap();
        assert_eq!(
            direct.public_url(&key),
            "http://127.0.0.1:10000/devstoreaccount1/images/products/p1/abc-160.webp"
        );
        let cdn = AzureBlobs::connect(&settings(Some("https://cdn.example/img/"))).unwrap();
        assert_eq!(
            cdn.public_url(&key),
            "https://cdn.example/img/products/p1/abc-160.webp"
        );
        assert!(!format!("{direct:?}").contains("sig="), "no SAS in Debug");
    }
}
