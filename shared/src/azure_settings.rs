//! Settings for the Azure adapters, read from the environment with the Azure
//! Functions conventions, and the `connect_*` functions that turn them into the
//! store and queue ports.
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
//!
//! Every error names the setting at fault, in one line, and never contains a secret.

use std::{fmt, sync::Arc};

use azure_core::credentials::TokenCredential;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};

use crate::{
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

/// How the queue client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueAuth {
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

/// Everything needed to reach Storage Queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// The queue service endpoint, without a trailing `/`.
    pub endpoint: String,
    /// Credentials.
    pub auth: QueueAuth,
    /// `x-ms-version` to send.
    pub api_version: String,
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
            auth: QueueAuth::ManagedIdentity { client_id },
            api_version,
        })
    }
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

/// Parses a storage connection string into the queue endpoint and credentials.
///
/// # Errors
/// [`AzureConfigError::Invalid`] naming `AzureWebJobsStorage`; the message never
/// repeats the key.
pub fn parse_connection_string(conn: &str) -> Result<(String, QueueAuth), AzureConfigError> {
    const NAME: &str = "AzureWebJobsStorage";
    let invalid = |reason: &str| AzureConfigError::Invalid {
        name: NAME,
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
            DEV_QUEUE_ENDPOINT.to_owned(),
            QueueAuth::SharedKey {
                account: DEV_ACCOUNT_NAME.to_owned(),
                key: Secret::new(DEV_ACCOUNT_KEY),
            },
        ));
    }
    let account = value("accountname");
    let endpoint = match value("queueendpoint") {
        Some(e) => checked_endpoint(NAME, &e)?,
        None => {
            let account = account
                .as_deref()
                .ok_or_else(|| invalid("needs AccountName or QueueEndpoint"))?;
            let protocol = value("defaultendpointsprotocol").unwrap_or_else(|| "https".to_owned());
            let suffix = value("endpointsuffix").unwrap_or_else(|| "core.windows.net".to_owned());
            format!("{protocol}://{account}.queue.{suffix}")
        }
    };
    if let Some(sas) = value("sharedaccesssignature") {
        return Ok((
            endpoint,
            QueueAuth::Sas(Secret::new(sas.trim_start_matches('?'))),
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
        QueueAuth::SharedKey {
            account,
            key: Secret::new(key),
        },
    ))
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
        QueueAuth::ManagedIdentity { .. } => "AzureWebJobsStorage__queueServiceUri",
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
            matches!(dev.auth, QueueAuth::SharedKey { ref account, .. } if account == DEV_ACCOUNT_NAME)
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
            QueueAuth::ManagedIdentity {
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
