//! The state the router carries: configuration, the adapters behind the ports,
//! and one handle per service. Handlers never see it whole: each asks for its
//! own service's handle (`State<Catalog>`, `State<Users>`), which axum extracts
//! through the `FromRef` impl that [`crate::service_handle!`] writes next to the
//! handle's type. Services are started in registry order by their
//! [`ServiceDef::start`](crate::table::ServiceDef) hook, each from the handles
//! of the services it calls, so the wiring lives with each service and this
//! file never names one.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use jojomart_shared::{
    cache::SharedCache, clock::SharedClock, config::Config, queue::SharedQueue, store::SharedStore,
};

use crate::{
    outbox::Outbox,
    table::{EraseHook, ExportHook, ServiceDef},
};

/// The adapters the app runs on, chosen by configuration (or by a test).
#[derive(Debug, Clone)]
pub struct Adapters {
    /// The document store.
    pub store: SharedStore,
    /// The message queue.
    pub queue: SharedQueue,
    /// The clock.
    pub clock: SharedClock,
    /// Fast shared state with expiry (throttle windows): in-process, Redis or the store.
    pub cache: SharedCache,
    /// Public blobs (product images).
    pub blobs: jojomart_shared::blob::SharedBlobs,
}

/// Why a service could not start: its name and the reason, in one line.
#[derive(Debug, thiserror::Error)]
#[error("the {service} service could not start: {reason}")]
pub struct ServiceStartError {
    /// The service.
    pub service: &'static str,
    /// Why (names the setting to fix where there is one).
    pub reason: String,
}

/// Handles started so far, by type: what a starting service reads its
/// dependencies from and adds its own handles to.
#[derive(Default)]
pub struct Handles(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl std::fmt::Debug for Handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handles({} started)", self.0.len())
    }
}

impl Handles {
    /// Adds a handle (replacing one of the same type).
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, handle: T) {
        self.0.insert(TypeId::of::<T>(), Box::new(handle));
    }

    /// A started handle, if its service was started.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|h| h.downcast_ref::<T>())
            .cloned()
    }
}

/// What a service's `start` hook receives: configuration, adapters and the
/// handles of the services started before it.
#[derive(Debug)]
pub struct StartContext<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The adapters.
    pub adapters: &'a Adapters,
    /// Handles started so far; a service adds its own.
    pub handles: &'a mut Handles,
    /// The service being started (for error messages).
    pub service: &'static str,
}

impl StartContext<'_> {
    /// The handle of a service this one calls.
    ///
    /// # Errors
    /// [`ServiceStartError`] when that service is not registered before this one.
    pub fn require<T: Clone + Send + Sync + 'static>(&self) -> Result<T, ServiceStartError> {
        self.handles.get::<T>().ok_or_else(|| ServiceStartError {
            service: self.service,
            reason: format!(
                "it needs `{}`, whose service must come before it in the registry",
                std::any::type_name::<T>()
            ),
        })
    }

    /// A start failure of this service.
    pub fn fail(&self, reason: impl std::fmt::Display) -> ServiceStartError {
        ServiceStartError {
            service: self.service,
            reason: reason.to_string(),
        }
    }
}

/// Cheap-to-clone handle to the whole app; handlers extract their service's handle from it.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: Config,
    adapters: Adapters,
    handles: Handles,
    erasers: Vec<(&'static str, EraseHook)>,
    exporters: Vec<(&'static str, ExportHook)>,
    openapi_json: OnceLock<String>,
}

impl AppState {
    /// Starts every service in order and gathers their erasure and export hooks.
    ///
    /// # Errors
    /// The first service that could not start.
    pub async fn start(
        config: Config,
        adapters: Adapters,
        services: &[ServiceDef],
    ) -> Result<Self, ServiceStartError> {
        let mut handles = Handles::default();
        handles.insert(Outbox::new(
            adapters.store.clone(),
            adapters.queue.clone(),
            adapters.clock.clone(),
            services
                .iter()
                .flat_map(|s| s.outbox.iter().copied())
                .collect(),
        ));
        for service in services {
            if let Some(start) = service.start {
                let mut cx = StartContext {
                    config: &config,
                    adapters: &adapters,
                    handles: &mut handles,
                    service: service.name,
                };
                start(&mut cx).await?;
            }
        }
        Ok(Self(Arc::new(Inner {
            erasers: services
                .iter()
                .filter_map(|s| s.erase.map(|h| (s.name, h)))
                .collect(),
            exporters: services
                .iter()
                .filter_map(|s| s.export.map(|h| (s.name, h)))
                .collect(),
            config,
            adapters,
            handles,
            openapi_json: OnceLock::new(),
        })))
    }

    /// A service's handle.
    ///
    /// # Panics
    /// When that service is not in the function table this app was built from:
    /// a wiring mistake that the first request through it shows.
    pub fn handle<T: Clone + Send + Sync + 'static>(&self) -> T {
        self.0.handles.get::<T>().unwrap_or_else(|| {
            panic!(
                "no `{}` handle: its service is not registered",
                std::any::type_name::<T>()
            )
        })
    }

    /// A service's handle, `None` when that service is not in this app's table.
    pub fn try_handle<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0.handles.get::<T>()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The adapters (for the host, health and tests).
    pub fn adapters(&self) -> &Adapters {
        &self.0.adapters
    }

    /// Every service's part of an account erasure, in registry order.
    pub fn erasers(&self) -> &[(&'static str, EraseHook)] {
        &self.0.erasers
    }

    /// Every service's part of a personal-data export, in registry order.
    pub fn exporters(&self) -> &[(&'static str, ExportHook)] {
        &self.0.exporters
    }

    /// The OpenAPI document, once the router has rendered it.
    pub fn openapi_json(&self) -> Option<&str> {
        self.0.openapi_json.get().map(String::as_str)
    }

    /// Keeps the rendered OpenAPI document (the router does, once).
    pub(crate) fn set_openapi_json(&self, json: String) {
        let _ = self.0.openapi_json.set(json);
    }
}

/// Lets handlers extract a service handle with `State<Handle>`: writes the
/// handle type's `FromRef<AppState>` impl.
#[macro_export]
macro_rules! service_handle {
    ($handle:ty) => {
        impl ::axum::extract::FromRef<$crate::state::AppState> for $handle {
            fn from_ref(state: &$crate::state::AppState) -> Self {
                state.handle::<$handle>()
            }
        }
    };
}
