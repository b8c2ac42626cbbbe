//! Opens the adapters the configuration names: the embedded SQLite file, or
//! Cosmos DB and Storage Queues (emulators or Azure); product images as files
//! or in a Blob Storage container; and the cache:
//! in-process, Redis (with the store standing in while Redis is down), or the
//! store alone.

use std::sync::Arc;

use jojomart_shared::{
    blob::{files::FileBlobs, SharedBlobs},
    cache::{
        fallback::FallbackCache,
        memory::MemoryCache,
        redis::{RedisCache, RedisSettings, RedisUrlError},
        store::StoreCache,
        SharedCache,
    },
    clock::{SharedClock, SystemClock},
    config::{BlobBackend, CacheBackend, Config, QueueBackend, StoreBackend},
    queue::SharedQueue,
    sqlite::Database,
    store::{Container, SharedStore, StoreError},
};

use crate::{app::Mode, state::Adapters};

/// Why the adapters could not be opened; the message names the setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The embedded database could not be opened.
    #[error("JOJOMART_DATA_DIR ({path}): cannot open the embedded store: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// Why.
        source: StoreError,
    },
    /// An Azure setting is missing, malformed, or names a service that does not answer.
    #[cfg(feature = "azure")]
    #[error(transparent)]
    Azure(#[from] jojomart_shared::azure_settings::AzureConfigError),
    /// The emulator's containers could not be created.
    #[error("COSMOS_ENDPOINT: cannot create the database and containers: {0}")]
    Containers(StoreError),
    /// A queue could not be created.
    #[error("AzureWebJobsStorage: cannot create a queue: {0}")]
    Queue(jojomart_shared::queue::QueueError),
    /// The public image container could not be created.
    #[error("JOJOMART_BLOB_CONTAINER: cannot create the image container: {0}")]
    BlobContainer(jojomart_shared::blob::BlobError),
    /// `JOJOMART_CACHE=redis` without `JOJOMART_REDIS_URL`.
    #[error("JOJOMART_REDIS_URL: required with JOJOMART_CACHE=redis (redis://host:6379, or rediss://:<access key>@<name>.redis.cache.windows.net:6380)")]
    RedisUrlMissing,
    /// `JOJOMART_REDIS_URL` is malformed.
    #[error(transparent)]
    RedisUrl(#[from] RedisUrlError),
    /// The adapter is not built into this binary.
    #[error("{setting}: {backend} support is not built into this binary (build with the `azure` feature)")]
    NotBuilt {
        /// The setting that asked for it.
        setting: &'static str,
        /// The backend.
        backend: &'static str,
    },
}

impl AdapterError {
    /// The setting at fault.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "JOJOMART_DATA_DIR",
            #[cfg(feature = "azure")]
            Self::Azure(e) => e.setting(),
            Self::Containers(_) => "COSMOS_ENDPOINT",
            Self::Queue(_) => "AzureWebJobsStorage",
            Self::BlobContainer(_) => "JOJOMART_BLOB_CONTAINER",
            Self::RedisUrlMissing | Self::RedisUrl(_) => "JOJOMART_REDIS_URL",
            Self::NotBuilt { setting, .. } => setting,
        }
    }
}

/// Reads (without connecting) the settings the Azure adapters named by
/// `config` need, so a missing or malformed one stops `serve` at once.
///
/// # Errors
/// [`AdapterError`] naming the setting.
pub fn check_settings(config: &Config) -> Result<(), AdapterError> {
    #[cfg(feature = "azure")]
    {
        use jojomart_shared::azure_settings::{BlobSettings, CosmosSettings, QueueSettings};
        if config.store == StoreBackend::Cosmos {
            CosmosSettings::from_env()?;
        }
        if config.queue == QueueBackend::Azure {
            QueueSettings::from_env()?;
        }
        if config.blob == BlobBackend::Azure {
            BlobSettings::from_env()?;
        }
        Ok(())
    }
    #[cfg(not(feature = "azure"))]
    {
        if config.store == StoreBackend::Cosmos {
            return Err(AdapterError::NotBuilt {
                setting: "JOJOMART_STORE",
                backend: "cosmos",
            });
        }
        if config.queue == QueueBackend::Azure {
            return Err(AdapterError::NotBuilt {
                setting: "JOJOMART_QUEUE",
                backend: "azure",
            });
        }
        if config.blob == BlobBackend::Azure {
            return Err(AdapterError::NotBuilt {
                setting: "JOJOMART_BLOB",
                backend: "azure",
            });
        }
        Ok(())
    }
}

/// The files blob adapter of `config`: `<data dir>/media/`, public at
/// `JOJOMART_MEDIA_BASE_URL`, else `JOJOMART_PUBLIC_URL` + `/media`, else the
/// relative `/media` (what `dev` serves).
pub fn file_blobs(config: &Config) -> FileBlobs {
    let base = match (&config.media_base_url, &config.public_url) {
        (Some(media), _) => media.clone(),
        (None, Some(public)) => format!("{}/media", public.trim_end_matches('/')),
        (None, None) => "/media".to_owned(),
    };
    FileBlobs::new(config.data_dir.join("media"), base)
}

/// Opened adapters, and the embedded database to close on the way out.
#[derive(Debug)]
pub struct Opened {
    /// The adapters for the app.
    pub adapters: Adapters,
    /// The SQLite file, when one is in use: close it after serving so the WAL is checkpointed.
    pub database: Option<Database>,
}

/// Opens the store, queue and blobs named by `config`, on the system clock.
/// Under `dev`, the Cosmos database and `containers`, and the public image
/// container, are created if missing (emulators); under `serve` they must
/// exist (Bicep declares them).
///
/// # Errors
/// [`AdapterError`] naming the setting at fault.
pub async fn open(
    config: &Config,
    mode: Mode,
    containers: &[&Container],
) -> Result<Opened, AdapterError> {
    let clock: SharedClock = Arc::new(SystemClock);
    let needs_sqlite = config.store == StoreBackend::Sqlite || config.queue == QueueBackend::Sqlite;
    let database = if needs_sqlite {
        let path = config.data_dir.join("jojomart.db");
        Some(
            Database::open(&path, clock.clone()).map_err(|source| AdapterError::Sqlite {
                path: path.display().to_string(),
                source,
            })?,
        )
    } else {
        None
    };
    let store: SharedStore = match (config.store, &database) {
        (StoreBackend::Sqlite, Some(db)) => Arc::new(db.store()),
        _ => cosmos_store(mode, containers).await?,
    };
    let queue: SharedQueue = match (config.queue, &database) {
        (QueueBackend::Sqlite, Some(db)) => Arc::new(db.queue()),
        _ => azure_queue().await?,
    };
    let cache = open_cache(config, mode, &store, &clock)?;
    let blobs = match config.blob {
        BlobBackend::Files => Arc::new(file_blobs(config)) as SharedBlobs,
        BlobBackend::Azure => azure_blobs(config, mode).await?,
    };
    Ok(Opened {
        adapters: Adapters {
            store,
            queue,
            clock,
            cache,
            blobs,
        },
        database,
    })
}

/// The cache `config` names; by default in-process under `dev`, and under
/// `serve` Redis when `JOJOMART_REDIS_URL` is set, the store otherwise (every
/// instance must see the same throttle windows). Redis is not contacted
/// here: an unreachable Redis means the store stands in until it answers.
///
/// # Errors
/// [`AdapterError::RedisUrlMissing`] or [`AdapterError::RedisUrl`].
pub fn open_cache(
    config: &Config,
    mode: Mode,
    store: &SharedStore,
    clock: &SharedClock,
) -> Result<SharedCache, AdapterError> {
    let backend = config.cache.unwrap_or(match (mode, &config.redis_url) {
        (Mode::Dev, _) => CacheBackend::Memory,
        (_, Some(_)) => CacheBackend::Redis,
        (_, None) => CacheBackend::Store,
    });
    let on_store = || Arc::new(StoreCache::new(store.clone(), clock.clone()));
    Ok(match backend {
        CacheBackend::Memory => Arc::new(MemoryCache::new(clock.clone())),
        CacheBackend::Store => on_store(),
        CacheBackend::Redis => {
            let url = config
                .redis_url
                .clone()
                .ok_or(AdapterError::RedisUrlMissing)?;
            let redis = RedisCache::connect_lazily(&RedisSettings::new(url))?;
            Arc::new(FallbackCache::new(Arc::new(redis), on_store()))
        }
    })
}

#[cfg(feature = "azure")]
async fn cosmos_store(mode: Mode, containers: &[&Container]) -> Result<SharedStore, AdapterError> {
    use jojomart_shared::{
        azure_settings::{connect_store, CosmosSettings},
        store::cosmos::CosmosStore,
    };
    let settings = CosmosSettings::from_env()?;
    if mode == Mode::Dev {
        let store = CosmosStore::connect(&settings).await?;
        store
            .ensure_containers(containers)
            .await
            .map_err(AdapterError::Containers)?;
    }
    Ok(connect_store(&settings).await?)
}

#[cfg(feature = "azure")]
async fn azure_queue() -> Result<SharedQueue, AdapterError> {
    Ok(jojomart_shared::azure_settings::connect_queue_from_env().await?)
}

/// The Blob Storage adapter: `JOJOMART_MEDIA_BASE_URL` from `config` as the
/// public base; under `dev` the container is created (public blob read) first.
#[cfg(feature = "azure")]
async fn azure_blobs(config: &Config, mode: Mode) -> Result<SharedBlobs, AdapterError> {
    use jojomart_shared::{
        azure_settings::{connect_blobs, BlobSettings},
        blob::azure::AzureBlobs,
    };
    let mut settings = BlobSettings::from_env()?;
    settings.media_base_url = config.media_base_url.clone();
    if mode == Mode::Dev {
        AzureBlobs::connect(&settings)?
            .ensure_container()
            .await
            .map_err(AdapterError::BlobContainer)?;
    }
    Ok(connect_blobs(&settings).await?)
}

#[cfg(not(feature = "azure"))]
async fn azure_blobs(_config: &Config, _mode: Mode) -> Result<SharedBlobs, AdapterError> {
    Err(AdapterError::NotBuilt {
        setting: "JOJOMART_BLOB",
        backend: "azure",
    })
}

#[cfg(not(feature = "azure"))]
async fn cosmos_store(
    _mode: Mode,
    _containers: &[&Container],
) -> Result<SharedStore, AdapterError> {
    Err(AdapterError::NotBuilt {
        setting: "JOJOMART_STORE",
        backend: "cosmos",
    })
}

#[cfg(not(feature = "azure"))]
async fn azure_queue() -> Result<SharedQueue, AdapterError> {
    Err(AdapterError::NotBuilt {
        setting: "JOJOMART_QUEUE",
        backend: "azure",
    })
}
