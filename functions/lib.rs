//! jojomart: an e-commerce backend that runs as Azure Functions custom handlers.
//!
//! A code tour, in the order a request meets it:
//! - [`cli`] parses the command line (`dev`, `serve`, `manifest`) and starts one of them;
//! - [`adapters`] opens the store and queue the configuration names (SQLite, Cosmos DB, Storage Queues);
//! - [`app`] builds the router from the services' functions and serves it; [`ready`] is
//!   `serve`'s startup (listen first, connect with retry, 503 until ready);
//! - [`table`] declares what a service and a function are; [`registry`] lists the services we ship;
//! - [`state`] starts the services and hands each handler its service's handle;
//! - [`http`] holds the extractors and middleware every HTTP function runs under;
//! - [`wire`] is the custom-handler payload for queue and timer invocations;
//! - [`host`] is the in-process stand-in for the Functions host used by `dev`;
//! - [`manifest`] writes the `<FunctionName>/function.json` folders, [`deployment`] the split
//!   of services across Function Apps for Bicep; [`openapi`] the API document;
//! - [`outbox`] relays the events services stage beside their writes to the queues;
//! - one module per service ([`platform`], [`auth`], [`users`], [`products`] (catalog,
//!   search, inventory), [`cart`], [`payments`] (gateway port, Stripe adapter,
//!   simulator, webhook), [`orders`] (checkout, the order state machine), [`reviews`],
//!   [`notifications`] (order and account mail, the mail port, `/dev/mail`),
//!   ...) with one file per function.
//!
//! Ports, adapters, config, errors and telemetry live in the `jojomart-shared` crate.

pub mod adapters;
pub mod analytics;
pub mod app;
#[cfg(test)]
mod architecture;
pub mod auth;
pub mod cart;
pub mod cli;
pub mod deployment;
pub mod host;
pub mod http;
pub mod manifest;
pub mod notifications;
pub mod openapi;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod platform;
pub mod products;
pub mod ready;
pub mod registry;
pub mod reviews;
pub mod state;
pub mod table;
pub mod users;
pub mod wire;
