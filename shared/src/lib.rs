//! `jojomart-shared`: what every jojomart service builds on.
//!
//! - [`store`] and [`queue`] are the ports for documents and messages, with the
//!   embedded SQLite adapters (one file for both, see [`sqlite`]); Azure
//!   adapters implement the same traits.
//! - [`domain`] holds the values parsed at the edge (money, SKUs, ratings...);
//! - [`events`] is the one versioned envelope cross-service messages travel
//!   in, and the transactional outbox that relays them from a store batch to
//!   the queues;
//! - [`cache`] is the port for fast shared state with expiry (throttle
//!   windows, short-lived marks): in-process, Redis, or the store;
//! - [`clock`] is the time port; [`config`] the typed configuration loaded once;
//! - [`error`] is the one `ApiError` every handler returns, rendered as problem+json;
//! - [`telemetry`] builds the tracing subscriber (JSON under the Functions host,
//!   pretty in `dev`) and, when configured, the Application Insights pipeline;
//! - `azure_settings` (feature `azure`) reads the Azure settings from the
//!   environment and connects the Cosmos DB (`store::cosmos`) and Storage Queue
//!   (`queue::azure`) adapters.
//! - `conformance` (feature `test-support`) holds the generic port suites that
//!   every adapter must pass, and a fault-injecting store wrapper for tests.

pub mod auth;
#[cfg(feature = "azure")]
pub mod azure_settings;
pub mod blob;
pub mod cache;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod queue;
pub mod sqlite;
pub mod store;
pub mod telemetry;

#[cfg(feature = "test-support")]
pub mod conformance;
