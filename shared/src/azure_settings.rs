//! Settings for the Azure adapters, read from the environment with the Azure
//! Functions conventions, and the `connect_*` functions that turn them into the
//! store, queue and blob ports.
//!
//! | variable | meaning |
//! | --- | --- |
//! | `COSMOS_ENDPOINT` | account endpoint, e.g. `https://acct.documents.azure.com:443/` (required) |
//! | `COSMOS_KEY` | account key; absent means managed identity |
//! | `COSMOS_DATABASE` | database name, default `jojomart` |
//! | `AZURE_CLIENT_ID` | client id of a user-assigned managed identity |
//! | `JOJOMART_CURSOR_KEY` | base64 key that signs continuation tokens; absent means a key shared through the `system` container |
//! | `AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED` | `true` accepts an emulator's self-signed certificate (loopback hosts only) |
//! | `AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED` | `false` turns HTTP/2 off (needed by `@vercel/cosmosdb-server`) |
//! | `AZURE_COSMOS_BINARY_ENCODING_ENABLED` | `false` turns the binary wire encoding off (off by default against emulators) |
//! | `AzureWebJobsStorage` | storage connection string (`UseDevelopmentStorage=true`, or `...;AccountName=...;AccountKey=...`) |
//! | `AzureWebJobsStorage__queueServiceUri` | identity-based storage: queue endpoint, used with managed identity |
//! | `AzureWebJobsStorage__accountName` | identity-based storage: account name (endpoint derived) |
//! | `AzureWebJobsStorage__clientId` | identity-based storage: user-assigned identity (else `AZURE_CLIENT_ID`) |
//! | `AZURE_STORAGE_QUEUE_API_VERSION` | `x-ms-version` sent to the queue service, default `2025-11-05` (Azurite 3.3x rejects newer) |
//! | `JOJOMART_BLOB_CONNECTION` | storage connection string for product images (its `BlobEndpoint`); else `AzureWebJobsStorage`'s |
//! | `AzureWebJobsStorage__blobServiceUri` | identity-based storage: blob endpoint (else derived from `__accountName`) |
//! | `JOJOMART_BLOB_CONTAINER` | the public image container, default `images` |
//! | `AZURE_STORAGE_BLOB_API_VERSION` | `x-ms-version` sent to the blob service, default `2025-11-05` |
//!
//! Every error names the setting at fault, in one line, and never contains a secret.

use std::{fmt, sync::Arc};

use azure_core::credentials::TokenCredential;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};

use crate::{
    blob::{azure::AzureBlobs, BlobError, SharedBlobs},
    queue::{azure::AzureQueue, MessageQueue, SharedQueue},
    store::{cosmos::CosmosStore, DocumentStore, SharedStore, StoreError},
};

/// Azurite's well-known development account name.
pub const DEV_ACCOUNT_NAME: &str = "devstoreaccount1";
/// Azurite's well-known development account key (public; documented by Microsoft).
pub const DEV_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The queue endpoint of `UseDevelopmentStorage=true`.
pub const DEV_QUEUE_ENDPOINT: &str = "http://127.0.0.1:10001/devstoreaccount1";
/// The `x-ms-version` the queue adapter sends unless configured: the newest Azurite 3.3x accepts.
pub const DEFAULT_QUEUE_API_VERSION: &str = "2025-11-05";
/// The blob endpoint of `UseDevelopmentStorage=true`.
pub const DEV_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";
/// The `x-ms-version` the blob adapter sends unless configured (Azurite 3.3x rejects the crate's newer default).
pub const DEFAULT_BLOB_API_VERSION: &str = "2025-11-05";
/// The container product images live in unless `JOJOMART_BLOB_CONTAINER` says otherwise.
pub const DEFAULT_BLOB_CONTAINER: &str = "images";

/// A secret setting: usable, but `Debug` and `Display` print a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// A configuration or connection problem, naming the setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum AzureConfigError {
    /// A required setting is absent or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A setting is present but malformed.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// What is wrong with it (never its secret value).
        reason: String,
    },
    /// The service named by a setting did not answer.
    #[error("{name} ({endpoint}) is unreachable: {detail}")]
    Unreachable {
        /// The setting that holds the endpoint.
        name: &'static str,
        /// The endpoint tried.
        endpoint: String,
        /// The underlying failure.
        detail: String,
    },
    /// The service answered but refused the credentials or the request.
    #[error("{name}: the service at {endpoint} refused the request: {detail}")]
    Rejected {
        /// The setting most likely at fault.
        name: &'static str,
        /// The endpoint tried.
        endpoint: String,
        /// The underlying failure.
        detail: String,
    },
}

impl AzureConfigError {
    /// The setting at fault.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::Missing(name)
            | Self::Invalid { name, .. }
            | Self::Unreachable { name, .. }
            | Self::Rejected { name, .. } => name,
        }
    }
}

/// How the Cosmos DB client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosmosAuth {
    /// The account key (emulators, or accounts with local auth enabled).
    Key(Secret),
    /// Managed identity: system-assigned, or user-assigned by client id.
    ManagedIdentity {
        /// `AZURE_CLIENT_ID` of a user-assigned identity.
        client_id: Option<String>,
    },
}

/// Transport knobs needed by local Cosmos DB emulators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CosmosTransport {
    /// Accept a self-signed certificate from a loopback emulator host.
    pub emulator_cert_validation_disabled: bool,
    /// Allow HTTP/2; `None` leaves the SDK default.
    pub http2_allowed: Option<bool>,
    /// Use the binary wire encoding; `None` means on, except against an emulator.
    pub binary_encoding: Option<bool>,
}

/// Everything needed to reach the Cosmos DB account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosmosSettings {
    /// `COSMOS_ENDPOINT`.
    pub endpoint: String,
    /// `COSMOS_KEY`, or managed identity.
    pub auth: CosmosAuth,
    /// `COSMOS_DATABASE`.
    pub database: String,
    /// `JOJOMART_CURSOR_KEY`, the key that signs continuation tokens.
    pub cursor_key: Option<Secret>,
    /// Emulator transport flags.
    pub transport: CosmosTransport,
}

/// How a Storage client (queues, blobs) authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageAuth {
    /// The account key; the adapter signs an account SAS with it.
    SharedKey {
        /// The storage account name.
        account: String,
        /// The account key (base64).
        key: Secret,
    },
    /// A ready-made SAS token from the connection string.
    Sas(Secret),
    /// Managed identity: system-assigned, or user-assigned by client id.
    ManagedIdentity {
        /// Client id of a user-assigned identity.
        client_id: Option<String>,
    },
}

/// The queue client's authentication (the same as every Storage client's).
pub type QueueAuth = StorageAuth;

/// Everything needed to reach Storage Queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// The queue service endpoint, without a trailing `/`.
    pub endpoint: String,
    /// Credentials.
    pub auth: StorageAuth,
    /// `x-ms-version` to send.
    pub api_version: String,
}

/// Everything needed to reach the public blob container (product images).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobSettings {
    /// The blob service endpoint, without a trailing `/`.
    pub endpoint: String,
    /// The setting the endpoint came from (named in errors).
    pub endpoint_setting: &'static str,
    /// The container (`JOJOMART_BLOB_CONTAINER`, default `images`).
    pub container: String,
    /// Credentials.
    pub auth: StorageAuth,
    /// `x-ms-version` to send (`AZURE_STORAGE_BLOB_API_VERSION`).
    pub api_version: String,
    /// Where blobs are publicly read (`JOJOMART_MEDIA_BASE_URL`, a CDN);
    /// `None`: the container's own URL.
    pub media_base_url: Option<String>,
}

/// Reads a setting, treating an empty value or an unresolved Key Vault reference as absent.
fn get(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .filter(|v| !crate::config::unresolved_reference(name, v))
}

fn parse_bool(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<bool>, AzureConfigError> {
    match get(lookup, name) {
        None => Ok(None),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" => Ok(Some(false)),
            _ => Err(AzureConfigError::Invalid {
                name,
                reason: format!("expected true or false, got `{v}`"),
            }),
        },
    }
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl CosmosSettings {
    /// Reads the Cosmos DB settings from the process environment.
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the missing or malformed variable.
    pub fn from_env() -> Result<Self, AzureConfigError> {
        Self::from_lookup(&env_lookup)
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the missing or malformed variable.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, AzureConfigError> {
        let endpoint =
            get(lookup, "COSMOS_ENDPOINT").ok_or(AzureConfigError::Missing("COSMOS_ENDPOINT"))?;
        let parsed =
            azure_core::http::Url::parse(&endpoint).map_err(|e| AzureConfigError::Invalid {
                name: "COSMOS_ENDPOINT",
                reason: e.to_string(),
            })?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(AzureConfigError::Invalid {
                name: "COSMOS_ENDPOINT",
                reason: "expected an https:// URL".into(),
            });
        }
        let auth = match get(lookup, "COSMOS_KEY") {
            Some(key) => CosmosAuth::Key(Secret::new(key)),
            None => CosmosAuth::ManagedIdentity {
                client_id: get(lookup, "AZURE_CLIENT_ID"),
            },
        };
        let cursor_key = get(lookup, "JOJOMART_CURSOR_KEY").map(Secret::new);
        if let Some(key) = &cursor_key {
            decode_cursor_key(key)?;
        }
        Ok(Self {
            endpoint,
            auth,
            database: get(lookup, "COSMOS_DATABASE").unwrap_or_else(|| "jojomart".to_owned()),
            cursor_key,
            transport: CosmosTransport {
                emulator_cert_validation_disabled: parse_bool(
                    lookup,
                    "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED",
                )?
                .unwrap_or(false),
                http2_allowed: parse_bool(lookup, "AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED")?,
                binary_encoding: parse_bool(lookup, "AZURE_COSMOS_BINARY_ENCODING_ENABLED")?,
            },
        })
    }
}

/// Decodes `JOJOMART_CURSOR_KEY` (standard base64, at least 32 bytes).
///
/// # Errors
/// [`AzureConfigError::Invalid`] when it is not base64 or too short.
pub fn decode_cursor_key(key: &Secret) -> Result<Vec<u8>, AzureConfigError> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let bytes = STANDARD
        .decode(key.expose())
        .map_err(|_| AzureConfigError::Invalid {
            name: "JOJOMART_CURSOR_KEY",
            reason: "not standard base64".into(),
        })?;
    if bytes.len() < 32 {
        return Err(AzureConfigError::Invalid {
            name: "JOJOMART_CURSOR_KEY",
            reason: "must decode to at least 32 bytes".into(),
        });
    }
    Ok(bytes)
}

impl QueueSettings {
    /// Reads the queue settings from the process environment.
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the missing or malformed variable.
    pub fn from_env() -> Result<Self, AzureConfigError> {
        Self::from_lookup(&env_lookup)
    }

    /// Reads the settings through `lookup`: the `AzureWebJobsStorage` connection
    /// string, or its identity-based `AzureWebJobsStorage__*` form.
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the missing or malformed variable.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, AzureConfigError> {
        let api_version = get(lookup, "AZURE_STORAGE_QUEUE_API_VERSION")
            .unwrap_or_else(|| DEFAULT_QUEUE_API_VERSION.to_owned());
        if let Some(conn) = get(lookup, "AzureWebJobsStorage") {
            let (endpoint, auth) = parse_connection_string(&conn)?;
            return Ok(Self {
                endpoint,
                auth,
                api_version,
            });
        }
        let client_id =
            get(lookup, "AzureWebJobsStorage__clientId").or_else(|| get(lookup, "AZURE_CLIENT_ID"));
        let endpoint = if let Some(uri) = get(lookup, "AzureWebJobsStorage__queueServiceUri") {
            checked_endpoint("AzureWebJobsStorage__queueServiceUri", &uri)?
        } else if let Some(account) = get(lookup, "AzureWebJobsStorage__accountName") {
            format!("https://{account}.queue.core.windows.net")
        } else {
            return Err(AzureConfigError::Missing("AzureWebJobsStorage"));
        };
        Ok(Self {
            endpoint,
            auth: StorageAuth::ManagedIdentity { client_id },
            api_version,
        })
    }
}

impl BlobSettings {
    /// Reads the blob settings from the process environment.
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the missing or malformed variable.
    pub fn from_env() -> Result<Self, AzureConfigError> {
        Self::from_lookup(&env_lookup)
    }

    /// Reads the settings through `lookup`: the connection string in
    /// `JOJOMART_BLOB_CONNECTION`, else `AzureWebJobsStorage` (its
    /// `BlobEndpoint`, or one derived from `AccountName`), else the
    /// identity-based `AzureWebJobsStorage__blobServiceUri` /
    /// `__accountName`; the container from `JOJOMART_BLOB_CONTAINER`, and
    /// `JOJOMART_MEDIA_BASE_URL`.
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the missing or malformed variable.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, AzureConfigError> {
        let api_version = get(lookup, "AZURE_STORAGE_BLOB_API_VERSION")
            .unwrap_or_else(|| DEFAULT_BLOB_API_VERSION.to_owned());
        let container = get(lookup, "JOJOMART_BLOB_CONTAINER")
            .unwrap_or_else(|| DEFAULT_BLOB_CONTAINER.to_owned());
        if !valid_container_name(&container) {
            return Err(AzureConfigError::Invalid {
                name: "JOJOMART_BLOB_CONTAINER",
                reason: "3 to 63 lowercase letters, digits and single hyphens, starting with a letter or digit".into(),
            });
        }
        let media_base_url = get(lookup, "JOJOMART_MEDIA_BASE_URL")
            .map(|url| checked_endpoint("JOJOMART_MEDIA_BASE_URL", &url))
            .transpose()?;
        let connection = ["JOJOMART_BLOB_CONNECTION", "AzureWebJobsStorage"]
            .into_iter()
            .find_map(|name| get(lookup, name).map(|conn| (name, conn)));
        let (endpoint_setting, endpoint, auth) = if let Some((name, conn)) = connection {
            let (endpoint, auth) = parse_storage_connection(&conn, name, StorageService::Blob)?;
            (name, endpoint, auth)
        } else {
            let client_id = get(lookup, "AzureWebJobsStorage__clientId")
                .or_else(|| get(lookup, "AZURE_CLIENT_ID"));
            let auth = StorageAuth::ManagedIdentity { client_id };
            if let Some(uri) = get(lookup, "AzureWebJobsStorage__blobServiceUri") {
                let name = "AzureWebJobsStorage__blobServiceUri";
                (name, checked_endpoint(name, &uri)?, auth)
            } else if let Some(account) = get(lookup, "AzureWebJobsStorage__accountName") {
                (
                    "AzureWebJobsStorage__accountName",
                    format!("https://{account}.blob.core.windows.net"),
                    auth,
                )
            } else {
                return Err(AzureConfigError::Missing("AzureWebJobsStorage"));
            }
        };
        Ok(Self {
            endpoint,
            endpoint_setting,
            container,
            auth,
            api_version,
            media_base_url,
        })
    }

    /// The container's own URL (what blobs are publicly read at without a CDN).
    pub fn container_url(&self) -> String {
        format!("{}/{}", self.endpoint, self.container)
    }
}

/// Container names: 3–63 lowercase letters, digits and single hyphens, starting with a letter or digit.
pub fn valid_container_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn checked_endpoint(name: &'static str, uri: &str) -> Result<String, AzureConfigError> {
    let url = azure_core::http::Url::parse(uri).map_err(|e| AzureConfigError::Invalid {
        name,
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.query().is_some() {
        return Err(AzureConfigError::Invalid {
            name,
            reason: "expected an http(s) URL without a query".into(),
        });
    }
    Ok(uri.trim_end_matches('/').to_owned())
}

/// A storage service whose endpoint a connection string names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageService {
    Queue,
    Blob,
}

impl StorageService {
    /// The connection-string key of its endpoint, lower-cased.
    fn endpoint_key(self) -> &'static str {
        match self {
            Self::Queue => "queueendpoint",
            Self::Blob => "blobendpoint",
        }
    }

    /// Its endpoint under `UseDevelopmentStorage=true`.
    fn dev_endpoint(self) -> &'static str {
        match self {
            Self::Queue => DEV_QUEUE_ENDPOINT,
            Self::Blob => DEV_BLOB_ENDPOINT,
        }
    }

    /// Its host label in `<account>.<label>.<suffix>`.
    fn label(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Blob => "blob",
        }
    }
}

/// Parses a storage connection string into the queue endpoint and credentials.
///
/// # Errors
/// [`AzureConfigError::Invalid`] naming `AzureWebJobsStorage`; the message never
/// repeats the key.
pub fn parse_connection_string(conn: &str) -> Result<(String, StorageAuth), AzureConfigError> {
    parse_storage_connection(conn, "AzureWebJobsStorage", StorageService::Queue)
}

/// Parses the connection string held by setting `name` into `service`'s endpoint and credentials.
fn parse_storage_connection(
    conn: &str,
    name: &'static str,
    service: StorageService,
) -> Result<(String, StorageAuth), AzureConfigError> {
    let invalid = |reason: &str| AzureConfigError::Invalid {
        name,
        reason: reason.to_owned(),
    };
    let mut pairs = std::collections::HashMap::new();
    for part in conn.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| invalid("expected `Key=Value` pairs separated by `;`"))?;
        pairs.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let value = |k: &str| pairs.get(k).filter(|v| !v.is_empty()).cloned();
    if value("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok((
            service.dev_endpoint().to_owned(),
            StorageAuth::SharedKey {
                account: DEV_ACCOUNT_NAME.to_owned(),
                key: Secret::new(DEV_ACCOUNT_KEY),
            },
        ));
    }
    let account = value("accountname");
    let endpoint = match value(service.endpoint_key()) {
        Some(e) => checked_endpoint(name, &e)?,
        None => {
            let account = account.as_deref().ok_or_else(|| {
                invalid(&format!(
                    "needs AccountName or {}Endpoint",
                    if service == StorageService::Queue {
                        "Queue"
                    } else {
                        "Blob"
                    }
                ))
            })?;
            let protocol = value("defaultendpointsprotocol").unwrap_or_else(|| "https".to_owned());
            let suffix = value("endpointsuffix").unwrap_or_else(|| "core.windows.net".to_owned());
            format!("{protocol}://{account}.{}.{suffix}", service.label())
        }
    };
    if let Some(sas) = value("sharedaccesssignature") {
        return Ok((
            endpoint,
            StorageAuth::Sas(Secret::new(sas.trim_start_matches('?'))),
        ));
    }
    let account = account.ok_or_else(|| invalid("AccountName is missing"))?;
    let key = value("accountkey").ok_or_else(|| invalid("AccountKey is missing"))?;
    {
        use base64::{engine::general_purpose::STANDARD, Engine};
        if STANDARD.decode(&key).is_err() {
            return Err(invalid("AccountKey is not base64"));
        }
    }
    Ok((
        endpoint,
        StorageAuth::SharedKey {
            account,
            key: Secret::new(key),
        },
    ))
}

/// How long a generated account SAS stays valid.
const SAS_LIFETIME: chrono::Duration = chrono::Duration::days(365);

/// The storage service an account SAS is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SasServices {
    /// Queues (`ss=q`).
    Queue,
    /// Blobs (`ss=b`).
    Blob,
}

impl SasServices {
    fn letter(self) -> &'static str {
        match self {
            Self::Queue => "q",
            Self::Blob => "b",
        }
    }
}

/// Signs an account SAS for one storage service (all permissions on it,
/// HTTPS or HTTP): the queue and blob adapters' shared-key authentication.
///
/// The string to sign is the 10 account-SAS fields of version 2020-12-06 and
/// later, each followed by a newline, signed with HMAC-SHA256 under the
/// base64-decoded account key.
///
/// # Errors
/// [`AzureConfigError::Invalid`] when the key is not base64.
pub fn account_sas(
    account: &str,
    key: &Secret,
    services: SasServices,
    version: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, AzureConfigError> {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(key.expose())
        .map_err(|_| AzureConfigError::Invalid {
            name: "AzureWebJobsStorage",
            reason: "AccountKey is not base64".into(),
        })?;
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let start = fmt(now - chrono::Duration::minutes(15));
    let expiry = fmt(now + SAS_LIFETIME);
    let services = services.letter();
    let (permissions, resource_types, protocol) = ("rwdlacup", "sco", "https,http");
    let to_sign = [
        account,
        permissions,
        services,
        resource_types,
        &start,
        &expiry,
        "",
        protocol,
        version,
        "",
        "",
    ]
    .join("\n");
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key_bytes).map_err(|_| {
        AzureConfigError::Invalid {
            name: "AzureWebJobsStorage",
            reason: "AccountKey is unusable".into(),
        }
    })?;
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(format!(
        "sv={}&ss={services}&srt={resource_types}&sp={permissions}&st={}&se={}&spr={}&sig={}",
        enc(version),
        enc(&start),
        enc(&expiry),
        enc(protocol),
        enc(&signature)
    ))
}

/// Percent-encodes a SAS field value (everything but RFC 3986 unreserved characters).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The first line of an SDK error, at most 300 characters: what the storage
/// adapters put in their errors (the rest is the raw response).
pub fn first_line(e: &azure_core::Error) -> String {
    e.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

/// How a storage adapter (queues, blobs) signs its requests, resolved from
/// the settings' [`StorageAuth`]: an account key becomes an account SAS for
/// its service, a managed identity a token credential.
#[derive(Clone)]
pub enum StorageCredential {
    /// A SAS query string appended to every URL.
    Sas(Secret),
    /// A bearer token from Entra ID.
    Token(Arc<dyn TokenCredential>),
}

impl StorageCredential {
    /// Resolves `auth` for `services` at `endpoint`; `endpoint_setting` names
    /// the endpoint's setting in errors (managed identity needs https).
    ///
    /// # Errors
    /// [`AzureConfigError`] naming the setting that cannot be used.
    pub fn resolve(
        auth: &StorageAuth,
        services: SasServices,
        api_version: &str,
        endpoint: &str,
        endpoint_setting: &'static str,
    ) -> Result<Self, AzureConfigError> {
        Ok(match auth {
            StorageAuth::SharedKey { account, key } => Self::Sas(Secret::new(account_sas(
                account,
                key,
                services,
                api_version,
                chrono::Utc::now(),
            )?)),
            StorageAuth::Sas(sas) => Self::Sas(sas.clone()),
            StorageAuth::ManagedIdentity { client_id } => {
                if !endpoint.starts_with("https://") {
                    return Err(AzureConfigError::Invalid {
                        name: endpoint_setting,
                        reason: "managed identity needs an https:// endpoint".into(),
                    });
                }
                Self::Token(managed_identity(
                    "AzureWebJobsStorage__clientId",
                    client_id.as_deref(),
                )?)
            }
        })
    }

    /// `sas` or `token`, for Debug output (never the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sas(_) => "sas",
            Self::Token(_) => "token",
        }
    }
}

/// A managed-identity credential, user-assigned when `client_id` is set.
///
/// # Errors
/// [`AzureConfigError::Invalid`] naming `setting` when the identity cannot be set up.
pub fn managed_identity(
    setting: &'static str,
    client_id: Option<&str>,
) -> Result<Arc<dyn TokenCredential>, AzureConfigError> {
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: client_id.map(|id| UserAssignedId::ClientId(id.to_owned())),
        ..Default::default()
    };
    let credential =
        ManagedIdentityCredential::new(Some(options)).map_err(|e| AzureConfigError::Invalid {
            name: setting,
            reason: format!("managed identity unavailable: {e}"),
        })?;
    Ok(credential)
}

/// Connects to Cosmos DB and checks that the database answers.
///
/// # Errors
/// [`AzureConfigError`] naming `COSMOS_ENDPOINT` when it is unreachable,
/// `COSMOS_KEY` when the key is refused, `COSMOS_DATABASE` when the database is missing.
pub async fn connect_store(settings: &CosmosSettings) -> Result<SharedStore, AzureConfigError> {
    let store = CosmosStore::connect(settings).await?;
    check_store(&store, settings).await?;
    Ok(Arc::new(store))
}

/// Reads [`CosmosSettings`] from the environment and calls [`connect_store`].
///
/// # Errors
/// As [`CosmosSettings::from_env`] and [`connect_store`].
pub async fn connect_store_from_env() -> Result<SharedStore, AzureConfigError> {
    connect_store(&CosmosSettings::from_env()?).await
}

async fn check_store(
    store: &CosmosStore,
    settings: &CosmosSettings,
) -> Result<(), AzureConfigError> {
    let endpoint = settings.endpoint.clone();
    match store.health().await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(AzureConfigError::Invalid {
            name: "COSMOS_DATABASE",
            reason: format!(
                "database `{}` does not exist at {endpoint}",
                settings.database
            ),
        }),
        Err(StoreError::Unavailable(detail)) => Err(AzureConfigError::Unreachable {
            name: "COSMOS_ENDPOINT",
            endpoint,
            detail,
        }),
        Err(e) => Err(AzureConfigError::Rejected {
            name: match settings.auth {
                CosmosAuth::Key(_) => "COSMOS_KEY",
                CosmosAuth::ManagedIdentity { .. } => "AZURE_CLIENT_ID",
            },
            endpoint,
            detail: e.to_string(),
        }),
    }
}

/// Builds the Storage Queue adapter and checks that the service answers.
///
/// # Errors
/// [`AzureConfigError`] naming `AzureWebJobsStorage` when the service is
/// unreachable or refuses the credentials.
pub async fn connect_queue(settings: &QueueSettings) -> Result<SharedQueue, AzureConfigError> {
    let queue = AzureQueue::connect(settings)?;
    let name = match settings.auth {
        StorageAuth::ManagedIdentity { .. } => "AzureWebJobsStorage__queueServiceUri",
        _ => "AzureWebJobsStorage",
    };
    match queue.health().await {
        Ok(()) => Ok(Arc::new(queue)),
        Err(crate::queue::QueueError::Unavailable(detail)) => Err(AzureConfigError::Unreachable {
            name,
            endpoint: settings.endpoint.clone(),
            detail,
        }),
        Err(e) => Err(AzureConfigError::Rejected {
            name,
            endpoint: settings.endpoint.clone(),
            detail: e.to_string(),
        }),
    }
}

/// Reads [`QueueSettings`] from the environment and calls [`connect_queue`].
///
/// # Errors
/// As [`QueueSettings::from_env`] and [`connect_queue`].
pub async fn connect_queue_from_env() -> Result<SharedQueue, AzureConfigError> {
    connect_queue(&QueueSettings::from_env()?).await
}

/// Builds the Blob Storage adapter and checks that the service answers and
/// the container exists.
///
/// # Errors
/// [`AzureConfigError`] naming the setting the endpoint came from.
pub async fn connect_blobs(settings: &BlobSettings) -> Result<SharedBlobs, AzureConfigError> {
    let blobs = AzureBlobs::connect(settings)?;
    match blobs.health().await {
        Ok(()) => Ok(Arc::new(blobs)),
        Err(BlobError::Unavailable(detail)) => Err(AzureConfigError::Unreachable {
            name: settings.endpoint_setting,
            endpoint: settings.endpoint.clone(),
            detail,
        }),
        Err(e) => Err(AzureConfigError::Rejected {
            name: settings.endpoint_setting,
            endpoint: settings.endpoint.clone(),
            detail: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn sas_is_deterministic_and_never_contains_the_key() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let key = Secret::new(DEV_ACCOUNT_KEY);
        let a = account_sas(
            "devstoreaccount1",
            &key,
            SasServices::Queue,
            "2025-11-05",
            now,
        )
        .unwrap();
        let b = account_sas(
            "devstoreaccount1",
            &key,
            SasServices::Queue,
            "2025-11-05",
            now,
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("sv=2025-11-05&ss=q&srt=sco&sp=rwdlacup&st=2023-11-14T21%3A58%3A20Z&se=2024-11-13T22%3A13%3A20Z&spr=https%2Chttp&sig="), "{a}");
        assert!(!a.contains(DEV_ACCOUNT_KEY));
    }

    #[test]
    fn blob_sas_names_the_blob_service() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let key = Secret::new(DEV_ACCOUNT_KEY);
        let sas = account_sas(
            "devstoreaccount1",
            &key,
            SasServices::Blob,
            "2025-11-05",
            now,
        )
        .unwrap();
        assert!(sas.starts_with("sv=2025-11-05&ss=b&srt=sco&"), "{sas}");
    }

    #[test]
    fn blob_settings_follow_the_storage_conventions() {
        let both = "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:1/acct;BlobEndpoint=http://127.0.0.1:2/acct/";
        let s = BlobSettings::from_lookup(&lookup(&[("AzureWebJobsStorage", both)])).unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:2/acct");
        assert_eq!(s.endpoint_setting, "AzureWebJobsStorage");
        assert_eq!(s.container, "images");
        assert_eq!(s.container_url(), "http://127.0.0.1:2/acct/images");
        assert!(matches!(s.auth, StorageAuth::SharedKey { ref account, .. } if account == "acct"));

        let own = BlobSettings::from_lookup(&lookup(&[
            ("AzureWebJobsStorage", both),
            ("JOJOMART_BLOB_CONNECTION", "UseDevelopmentStorage=true"),
            ("JOJOMART_BLOB_CONTAINER", "media-1"),
            ("JOJOMART_MEDIA_BASE_URL", "https://cdn.example/img/"),
        ]))
        .unwrap();
        assert_eq!(
            own.endpoint, DEV_BLOB_ENDPOINT,
            "its own connection string wins"
        );
        assert_eq!(own.endpoint_setting, "JOJOMART_BLOB_CONNECTION");
        assert_eq!(own.container, "media-1");
        assert_eq!(
            own.media_base_url.as_deref(),
            Some("https://cdn.example/img")
        );

        let derived = BlobSettings::from_lookup(&lookup(&[(
            "AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5",
        )]))
        .unwrap();
        assert_eq!(derived.endpoint, "https://acct.blob.core.windows.net");

        let identity = BlobSettings::from_lookup(&lookup(&[
            ("AzureWebJobsStorage__accountName", "acct"),
            (
                "AzureWebJobsStorage__blobServiceUri",
                "https://acct.blob.core.windows.net/",
            ),
            ("AzureWebJobsStorage__clientId", "cid"),
        ]))
        .unwrap();
        assert_eq!(identity.endpoint, "https://acct.blob.core.windows.net");
        assert_eq!(
            identity.auth,
            StorageAuth::ManagedIdentity {
                client_id: Some("cid".into())
            }
        );
        let by_name =
            BlobSettings::from_lookup(&lookup(&[("AzureWebJobsStorage__accountName", "acct")]))
                .unwrap();
        assert_eq!(by_name.endpoint, "https://acct.blob.core.windows.net");

        let err = BlobSettings::from_lookup(&lookup(&[])).unwrap_err();
        assert_eq!(err.to_string(), "AzureWebJobsStorage is not set");
        let err = BlobSettings::from_lookup(&lookup(&[
            ("JOJOMART_BLOB_CONNECTION", "UseDevelopmentStorage=true"),
            ("JOJOMART_BLOB_CONTAINER", "Bad_Name"),
        ]))
        .unwrap_err();
        assert_eq!(err.setting(), "JOJOMART_BLOB_CONTAINER");
        let err =
            BlobSettings::from_lookup(&lookup(&[("JOJOMART_BLOB_CONNECTION", "AccountKey=a2V5")]))
                .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "JOJOMART_BLOB_CONNECTION is invalid: needs AccountName or BlobEndpoint"
            ),
            "{err}"
        );
    }

    #[test]
    fn cosmos_endpoint_is_required_and_named() {
        let err = CosmosSettings::from_lookup(&lookup(&[])).unwrap_err();
        assert_eq!(err.to_string(), "COSMOS_ENDPOINT is not set");
        let err =
            CosmosSettings::from_lookup(&lookup(&[("COSMOS_ENDPOINT", "not a url")])).unwrap_err();
        assert!(
            err.to_string().starts_with("COSMOS_ENDPOINT is invalid"),
            "{err}"
        );
    }

    #[test]
    fn cosmos_key_is_redacted() {
        let s = CosmosSettings::from_lookup(&lookup(&[
            ("COSMOS_ENDPOINT", "https://127.0.0.1:8081/"),
            ("COSMOS_KEY", "c2VjcmV0LWtleQ=="),
            ("AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED", "false"),
        ]))
        .unwrap();
        assert_eq!(s.database, "jojomart");
        assert_eq!(s.transport.http2_allowed, Some(false));
        let shown = format!("{s:?}");
        assert!(!shown.contains("c2VjcmV0LWtleQ"), "{shown}");
        let mi = CosmosSettings::from_lookup(&lookup(&[
            ("COSMOS_ENDPOINT", "https://acct.documents.azure.com/"),
            ("AZURE_CLIENT_ID", "abc"),
        ]))
        .unwrap();
        assert_eq!(
            mi.auth,
            CosmosAuth::ManagedIdentity {
                client_id: Some("abc".into())
            }
        );
    }

    #[test]
    fn storage_connection_strings() {
        let dev = QueueSettings::from_lookup(&lookup(&[(
            "AzureWebJobsStorage",
            "UseDevelopmentStorage=true",
        )]))
        .unwrap();
        assert_eq!(dev.endpoint, DEV_QUEUE_ENDPOINT);
        assert!(
            matches!(dev.auth, StorageAuth::SharedKey { ref account, .. } if account == DEV_ACCOUNT_NAME)
        );

        let full = QueueSettings::from_lookup(&lookup(&[(
            "AzureWebJobsStorage",
            "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:4321/acct/;",
        )]))
        .unwrap();
        assert_eq!(full.endpoint, "http://127.0.0.1:4321/acct");
        assert!(!format!("{full:?}").contains("a2V5"));

        let derived = QueueSettings::from_lookup(&lookup(&[(
            "AzureWebJobsStorage",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net",
        )]))
        .unwrap();
        assert_eq!(derived.endpoint, "https://acct.queue.core.windows.net");

        let identity = QueueSettings::from_lookup(&lookup(&[
            (
                "AzureWebJobsStorage__queueServiceUri",
                "https://acct.queue.core.windows.net/",
            ),
            ("AZURE_CLIENT_ID", "cid"),
        ]))
        .unwrap();
        assert_eq!(identity.endpoint, "https://acct.queue.core.windows.net");
        assert_eq!(
            identity.auth,
            StorageAuth::ManagedIdentity {
                client_id: Some("cid".into())
            }
        );

        let err = QueueSettings::from_lookup(&lookup(&[])).unwrap_err();
        assert_eq!(err.to_string(), "AzureWebJobsStorage is not set");
        let err = QueueSettings::from_lookup(&lookup(&[(
            "AzureWebJobsStorage",
            "AccountName=acct;AccountKey=%%%",
        )]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("AzureWebJobsStorage is invalid"),
            "{err}"
        );
        assert!(!err.to_string().contains("%%%"));
    }
}
