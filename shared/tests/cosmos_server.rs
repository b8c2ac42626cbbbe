//! `CosmosStore` over `@vercel/cosmosdb-server` through real HTTPS: the
//! generic store checks that server's wire subset supports, unchanged, plus
//! adapter checks.
//!
//! Run (starts and stops the server):
//! `scripts/emulators.sh run -- cargo test -p jojomart-shared --features azure,test-support --test cosmos_server`
//!
//! Reads the endpoint from `JOJOMART_TEST_COSMOS_ENDPOINT` (set by
//! `scripts/emulators.sh`); without it every test prints why and passes.
//!
//! Skipped here (all run in `cosmos_memory`, over the SDK's in-process emulator):
//! - `failed_batch_writes_nothing` and
//!   `batch_update_returns_failures_of_other_operations`: this server does not
//!   roll back the operations before a failing one, so a failed batch leaves
//!   writes behind (the failing index and cause are still checked, by
//!   `adapter::batch_failure_reports_index`);
//! - cross-partition aggregates, GROUP BY, DISTINCT and OFFSET/LIMIT are not in
//!   the port, and this server cannot run them;
//!
//! The change-feed suite runs here too, over the launcher's patch 7 (the
//! server's own change feed only pretends).
//!
//! The contention checks (`concurrent_updates_lose_nothing`,
//! `concurrent_batch_updates_lose_nothing`, `concurrent_pair_updates_lose_nothing`)
//! are the slowest here: every
//! request crosses node and TLS (the launcher keeps connections alive), and
//! 1,600 contended increments take thousands of requests.
//!
//! Partition scoping is ignored by this server; the adapter also writes
//! `c.<pk> = @pk` into the query text, which is what the scoping checks see here.

mod common;

use std::sync::Arc;

use common::store_smoke as smoke;
use jojomart_shared::{azure_settings::CosmosSettings, store::cosmos::CosmosStore};

const VAR: &str = "JOJOMART_TEST_COSMOS_ENDPOINT";
/// The Cosmos DB emulator's well-known key; the server does not check it.
const EMULATOR_KEY: &str =
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

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
    let endpoint = jojomart_shared::conformance::emulator(VAR)?;
    let store = CosmosStore::connect(&settings(endpoint))
        .await
        .expect("client builds");
    store
        .ensure_containers(&[jojomart_shared::conformance::store::CONTAINER])
        .await
        .expect("database and containers created");
    Some(store)
}

/// One test per change-feed check. The server's own change feed only
/// pretends; `scripts/cosmos-server-launcher.js` (patch 7) serves a real one in
/// write order, which the app's read models need on this emulator.
macro_rules! feed_checks {
    ($($check:ident),+ $(,)?) => {
        mod change_feed {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $check() {
                    let Some(store) = super::store().await else { return };
                    jojomart_shared::conformance::feed::$check(super::Arc::new(store)).await;
                }
            )+
        }
    };
}

feed_checks!(
    change_feed_sees_every_write_once,
    change_feed_resumes_from_a_saved_position,
    change_feed_shows_soft_deletes,
    change_feed_small_pages_match_one_big_read,
    change_feed_refuses_foreign_positions,
);

/// One test per generic check of the wire subset, run unchanged.
macro_rules! wire_subset {
    ($($check:ident),+ $(,)?) => {
        mod conformance {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $check() {
                    let Some(store) = super::store().await else { return };
                    jojomart_shared::conformance::store::$check(super::Arc::new(store)).await;
                }
            )+
        }
    };
}

wire_subset!(
    create_then_read_returns_stamped_body,
    read_missing_is_none,
    create_conflict_keeps_original,
    replace_with_stale_etag_is_refused,
    delete_with_stale_etag_is_refused,
    replace_or_delete_missing_is_not_found,
    upsert_creates_then_overwrites,
    delete_then_read_is_none,
    successful_batch_writes_all,
    update_creates_replaces_keeps_and_deletes,
    concurrent_updates_lose_nothing,
    concurrent_batch_updates_lose_nothing,
    concurrent_pair_updates_lose_nothing,
    query_filters_select_the_right_documents,
    query_scopes_to_partition_or_container,
    query_sorts_both_ways,
    query_pages_return_every_document_once,
    query_paging_survives_concurrent_inserts,
    query_refuses_foreign_or_tampered_continuations,
    query_limit_is_bounded,
);

mod adapter {
    use super::*;

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
    async fn request_charges_are_recorded() {
        let Some(s) = store().await else { return };
        smoke::request_charges(&s, "@vercel/cosmosdb-server").await;
    }

    #[tokio::test]
    async fn connect_reports_the_setting_at_fault() {
        use jojomart_shared::azure_settings::connect_store;
        let Some(endpoint) = jojomart_shared::conformance::emulator(VAR) else {
            return;
        };
        connect_store(&settings(endpoint))
            .await
            .expect("connects to the emulator");
        let err = connect_store(&settings("https://127.0.0.1:9/".into()))
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("COSMOS_ENDPOINT (https://127.0.0.1:9/) is unreachable"),
            "{err}"
        );
        assert!(!err.to_string().contains(EMULATOR_KEY));
    }
}
