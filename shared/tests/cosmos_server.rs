//! `CosmosStore` over `@vercel/cosmosdb-server` through real HTTPS: the wire
//! subset that server supports.
//!
//! Run (starts and stops the server):
//! `scripts/emulators.sh run -- cargo test -p jojomart-shared --features azure,test-support --test cosmos_server`
//!
//! Reads the endpoint from `JOJOMART_TEST_COSMOS_ENDPOINT` (set by
//! `scripts/emulators.sh`); without it every test prints why and passes.
//!
//! Run here: CRUD, 409 on create, 412 on stale If-Match (replace, delete and
//! inside batches), 404 → `None`, successful batches and the failing index of a
//! failed batch, parameterised filters (eq, ne, lt/le/gt/ge, in, contains),
//! ORDER BY one field, paging with sealed continuation tokens, and sorted
//! cross-partition queries (the adapter also puts `c.<pk> = @pk` in the text,
//! since this server ignores partition scoping).
//!
//! Skipped here, covered by `cosmos_memory` (the SDK's in-process emulator):
//! - batch atomicity: this server does not roll back the operations before a
//!   failing one, so "nothing of a failed batch is written" cannot hold;
//! - cross-partition aggregates, GROUP BY, DISTINCT and OFFSET/LIMIT: the
//!   server cannot plan or run them (the port does not use them either).

#![cfg(feature = "azure")]

mod common;

use common::store_smoke as smoke;
use jojomart_shared::{
    azure_settings::CosmosSettings,
    store::cosmos::CosmosStore,
};

const VAR: &str = "JOJOMART_TEST_COSMOS_ENDPOINT";
/// The Cosmos DB emulator's well-known key; the server does not check it.
const EMULATOR_KEY: &str = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

fn settings(endpoint: String) -> CosmosSettings {
    let lookup = move |k: &str| match k {
        "COSMOS_ENDPOINT" => Some(endpoint.clone()),
        "COSMOS_KEY" => Some(EMULATOR_KEY.to_owned()),
        "COSMOS_DATABASE" => Some("jojomart-test".to_owned()),
        "AZURE_COSMOS_EMULATOR_SERVER_CERT_VALIDATION_DISABLED" => Some("true".to_owned()),
        "AZURE_COSMOS_CONNECTION_POOL_IS_HTTP2_ALLOWED" => Some("false".to_owned()),
        "AZURE_COSMOS_BINARY_ENCODING_ENABLED" => Some("false".to_owned()),
        _ => None,
    };
    CosmosSettings::from_lookup(&lookup).expect("valid test settings")
}

async fn store() -> Option<CosmosStore> {
    let Ok(endpoint) = std::env::var(VAR) else {
        eprintln!("SKIPPED: {VAR} is not set; run through scripts/emulators.sh to test against @vercel/cosmosdb-server");
        return None;
    };
    let store = CosmosStore::connect(&settings(endpoint)).await.expect("client builds");
    store.ensure_containers().await.expect("database and containers created");
    Some(store)
}

#[tokio::test]
async fn crud() {
    let Some(s) = store().await else { return };
    smoke::crud(&s).await;
}

#[tokio::test]
async fn batch_success() {
    let Some(s) = store().await else { return };
    smoke::batch_success(&s).await;
}

#[tokio::test]
async fn batch_failure_reports_index() {
    let Some(s) = store().await else { return };
    smoke::batch_failure_reports_index(&s).await;
}

#[tokio::test]
async fn query_in_partition() {
    let Some(s) = store().await else { return };
    smoke::query_in_partition(&s).await;
}

#[tokio::test]
async fn continuation_tokens_are_sealed() {
    let Some(s) = store().await else { return };
    smoke::continuation_tokens_are_sealed(&s).await;
}

#[tokio::test]
async fn query_across_partitions() {
    let Some(s) = store().await else { return };
    smoke::query_across_partitions(&s).await;
}

#[tokio::test]
async fn connect_reports_the_setting_at_fault() {
    use jojomart_shared::azure_settings::connect_store;
    let Ok(endpoint) = std::env::var(VAR) else {
        eprintln!("SKIPPED: {VAR} is not set");
        return;
    };
    connect_store(&settings(endpoint)).await.expect("connects to the emulator");
    let err = connect_store(&settings("https://127.0.0.1:9/".into())).await.unwrap_err();
    assert!(err.to_string().starts_with("COSMOS_ENDPOINT (https://127.0.0.1:9/) is unreachable"), "{err}");
    assert!(!err.to_string().contains(EMULATOR_KEY));
}
