//! The integration tests, as one binary (one link of the app instead of one per file).

mod auth_support;
mod common;

mod auth;
mod azure_trigger;
mod bicep;
mod catalog;
mod dev_binary;
mod entra;
mod host;
mod http_edges;
mod inventory;
mod manifest;
mod reviews;
mod users;
mod wire_contract;
