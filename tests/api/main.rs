//! The integration tests, as one binary: the app is linked once, not once per
//! file. Everything runs over [`harness`]: the app spawned on port 0 over a
//! fresh store (SQLite, or the Cosmos and Azurite emulators with
//! `JOJOMART_E2E_BACKEND=azure`) and driven over real HTTP with typed helpers
//! per service; the same app as an in-process router for `oneshot` tests; and
//! the real `jojomart` binary.
//!
//! One module per area:
//! - per service, end to end: [`auth`], [`account_mail`] (email
//!   verification, password reset, revocation on every instance, roles at
//!   token issue), [`entra`] (Entra ID tokens from a
//!   local OIDC issuer), [`users`], [`catalog`], [`inventory`], [`cart`], [`orders`]
//!   (checkout, the state machine) and [`checkout_crash`] (SIGKILL at each step),
//!   [`catalog_crash`] (SKU races, catalog writes killed at each step),
//!   [`payments`] (the Stripe adapter against the gateway simulator, the webhook,
//!   and the adapter's wire pinned against a recording server), [`reviews`],
//!   [`notifications`] (mail to an in-process SMTP server, `/dev/mail`),
//!   [`analytics`] (ingestion, rollups, the admin summary);
//! - [`validation`]: every JSON body of every HTTP route, one bad field at a
//!   time, in process: a 400 problem naming the field, and nothing written;
//! - what every route shares: [`http_edges`] (problem+json, request ids,
//!   health, OpenAPI);
//! - the Functions host's side: [`host`] (the in-process host with a test
//!   table), [`wire_contract`] (the custom-handler payloads), [`azure_trigger`]
//!   (Storage Queue messages, with Azurite), [`manifest`] (`function.json`
//!   folders and `host.json`);
//! - deployment: [`bicep`] (every container and queue is declared; the templates'
//!   shape and defaults), [`apim`] (API Management policies, function keys, the
//!   split of services across Function Apps);
//! - the binary: [`dev_binary`] (`jojomart dev` and `serve` as run by hand),
//!   [`serve_startup`] (`serve` listens first and answers 503 until connected),
//!   [`package`] (`scripts/package.sh`'s stdout is the zip path alone),
//!   [`telemetry`] (Application Insights: a loopback ingestion endpoint sees
//!   one request per invocation and the custom metrics).

mod harness;

mod account_mail;
mod analytics;
mod apim;
mod auth;
mod azure_trigger;
mod bicep;
mod cart;
mod catalog;
mod catalog_crash;
mod catalog_feed;
mod checkout_crash;
mod dev_binary;
mod entra;
mod host;
mod http_edges;
mod images;
mod inventory;
mod manifest;
mod notifications;
mod orders;
mod package;
mod payments;
mod reviews;
mod serve_startup;
mod telemetry;
mod throttle;
mod users;
mod validation;
mod wire_contract;
