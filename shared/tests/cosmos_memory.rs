//! `CosmosStore` over the Cosmos SDK's in-process emulator: the full generic
//! store suite, unchanged, with real Cosmos semantics (atomic batches,
//! partition scoping, 404/409/412) and no network; plus adapter checks.
//!
//! Run: `cargo test -p jojomart-shared --features cosmos-emulator,test-support --test cosmos_memory`

mod common;

use std::sync::Arc;

use common::store_smoke as smoke;
use jojomart_shared::conformance::store::CONTAINER;
use jojomart_shared::store::{
    cosmos::{CosmosStore, CosmosStoreOptions},
    SharedStore,
};

async fn store() -> CosmosStore {
    CosmosStore::in_memory_emulator(CosmosStoreOptions::default(), &[CONTAINER])
        .await
        .expect("the in-process emulator starts")
}

async fn fresh() -> SharedStore {
    Arc::new(store().await)
}

jojomart_shared::store_conformance!(fresh());

mod adapter {
    use super::*;

    #[tokio::test]
    async fn crud() {
        smoke::crud(&store().await).await;
    }

    #[tokio::test]
    async fn batch_success() {
        smoke::batch_success(&store().await).await;
    }

    #[tokio::test]
    async fn batch_is_atomic() {
        smoke::batch_is_atomic(&store().await).await;
    }

    #[tokio::test]
    async fn query_in_partition() {
        smoke::query_in_partition(&store().await).await;
    }

    #[tokio::test]
    async fn continuation_tokens_are_sealed() {
        smoke::continuation_tokens_are_sealed(&store().await).await;
    }

    #[tokio::test]
    async fn query_across_partitions() {
        smoke::query_across_partitions(&store().await).await;
    }

    #[tokio::test]
    async fn request_charges_are_recorded() {
        smoke::request_charges(&store().await, "in-process emulator").await;
    }
}
