//! Opens the adapters the configuration names: the embedded SQLite file, or
//! Cosmos DB and Storage Queues (emulators or Azure).

use std::sync::Arc;

use jojomart_shared::{
    clock::{SharedClock, SystemClock},
    config::{Config, QueueBackend, StoreBackend},
    sqlite::Database,
    store::StoreError,
};

use crate::state::Adapters;

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
    /// The adapter is not built into this binary.
    #[error("{setting}: {backend} support is not built into this binary")]
    NotBuilt {
        /// The setting that asked for it.
        setting: &'static str,
        /// The backend.
        backend: &'static str,
    },
}

/// Opened adapters, and the embedded database to close on the way out.
#[derive(Debug)]
pub struct Opened {
    /// The adapters for the app.
    pub adapters: Adapters,
    /// The SQLite file, when one is in use: close it after serving so the WAL is checkpointed.
    pub database: Option<Database>,
}

/// Opens the store and queue named by `config`, on the system clock.
///
/// # Errors
/// [`AdapterError`] naming the setting at fault.
pub async fn open(config: &Config) -> Result<Opened, AdapterError> {
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
    let store = match (config.store, &database) {
        (StoreBackend::Sqlite, Some(db)) => Arc::new(db.store()) as _,
        _ => {
            return Err(AdapterError::NotBuilt {
                setting: "JOJOMART_STORE",
                backend: "cosmos",
            })
        }
    };
    let queue = match (config.queue, &database) {
        (QueueBackend::Sqlite, Some(db)) => Arc::new(db.queue()) as _,
        _ => {
            return Err(AdapterError::NotBuilt {
                setting: "JOJOMART_QUEUE",
                backend: "azure",
            })
        }
    };
    Ok(Opened {
        adapters: Adapters {
            store,
            queue,
            clock,
        },
        database,
    })
}
