//! `CosmosStore` over the Cosmos SDK's in-process emulator: the full generic
//! store and change-feed suites, unchanged, with real Cosmos semantics (atomic batches,
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
jojomart_shared::feed_conformance!(fresh());

/// The change-feed checks share one container (spread over the emulator's
/// partitions) while the store checks write to it too: each check filters the
/// feed to its own partition keys, so none sees another's writes as a failure.
#[tokio::test(flavor = "multi_thread")]
async fn feed_checks_share_one_container() {
    use jojomart_shared::conformance::{feed, store as checks};
    let s = fresh().await;
    tokio::join!(
        feed::change_feed_sees_every_write_once(s.clone()),
        feed::change_feed_resumes_from_a_saved_position(s.clone()),
        feed::change_feed_shows_soft_deletes(s.clone()),
        feed::change_feed_small_pages_match_one_big_read(s.clone()),
        feed::change_feed_refuses_foreign_positions(s.clone()),
        checks::query_scopes_to_partition_or_container(s.clone()),
        checks::successful_batch_writes_all(s.clone()),
    );
}

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
