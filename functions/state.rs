//! The state every handler receives: configuration and the adapters behind the ports.

use std::sync::{Arc, OnceLock};

use jojomart_shared::{
    auth::SharedVerifier, clock::SharedClock, config::Config, queue::SharedQueue,
    store::SharedStore,
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
}

use crate::auth::Auth;

/// Cheap-to-clone handle to everything a handler needs.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Inner {
    /// The configuration, loaded once.
    pub config: Config,
    /// The document store.
    pub store: SharedStore,
    /// The message queue.
    pub queue: SharedQueue,
    /// The clock.
    pub clock: SharedClock,
    /// Turns bearer tokens into principals (the auth service's verifier).
    pub verifier: SharedVerifier,
    /// The auth service: signing keys, verifier, password hasher, token settings.
    pub auth: Auth,
    /// The OpenAPI document, rendered once when the router is built.
    pub openapi_json: OnceLock<String>,
}

impl AppState {
    /// Builds the state from configuration, adapters and the started auth service.
    pub fn new(config: Config, adapters: Adapters, auth: Auth) -> Self {
        Self(Arc::new(Inner {
            config,
            store: adapters.store,
            queue: adapters.queue,
            clock: adapters.clock,
            verifier: auth.verifier.clone(),
            auth,
            openapi_json: OnceLock::new(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
