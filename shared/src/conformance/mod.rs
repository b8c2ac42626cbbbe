//! Generic port conformance suites: one suite per port, written once, run
//! unchanged against every adapter (SQLite here; Cosmos DB, Azure Storage and
//! their emulators elsewhere), so local behaviour is production behaviour.
//!
//! Each check is a `pub async fn` taking the port handle ([`SharedStore`] or
//! [`SharedQueue`]) and panicking with a message when the adapter misbehaves.
//! Every check isolates itself (a random partition key, run tag or queue name),
//! so suites may share one emulator and run in parallel.
//!
//! [`store_conformance!`](crate::store_conformance),
//! [`feed_conformance!`](crate::feed_conformance) (the store's change feed) and
//! [`queue_conformance!`](crate::queue_conformance) and
//! [`cache_conformance!`](crate::cache_conformance) expand to one
//! `#[tokio::test(flavor = "multi_thread")]` per check, so each is a named test:
//!
//! ```ignore
//! // tests/my_store.rs — the crate needs tokio with `macros` and `rt-multi-thread`.
//! use jojomart_shared::{clock::SystemClock, sqlite::TempDatabase, store::SharedStore};
//!
//! async fn fresh() -> (SharedStore, TempDatabase) {
//!     let db = TempDatabase::new(std::sync::Arc::new(SystemClock)).expect("temp database");
//!     (std::sync::Arc::new(db.store()), db)
//! }
//!
//! jojomart_shared::store_conformance!(fresh());
//! jojomart_shared::feed_conformance!(fresh());
//! ```
//!
//! The argument is evaluated (and awaited) afresh in every test. It yields any
//! [`Fixture`]: the port itself, a `(port, guard)` pair whose guard lives as long
//! as the test (a temp dir, an emulator handle), or `None` to skip the test when
//! the backend is not configured.
//!
//! [`faults::FaultyStore`] is not a suite but a test double for the apps' own
//! tests: a store wrapper that delays or fails chosen operations.

pub mod blob;
pub mod cache;
pub mod faults;
pub mod feed;
pub mod queue;
pub mod store;

use std::{future::Future, time::Duration};

use crate::{cache::SharedCache, queue::SharedQueue, store::SharedStore};

/// What an adapter's test hands a suite: the port, and whatever must outlive it.
pub trait Fixture<P>: Send {
    /// The port under test, or `None` to skip the test (no backend configured).
    fn port(&self) -> Option<P>;
}

impl Fixture<SharedStore> for SharedStore {
    fn port(&self) -> Option<SharedStore> {
        Some(self.clone())
    }
}

impl Fixture<SharedQueue> for SharedQueue {
    fn port(&self) -> Option<SharedQueue> {
        Some(self.clone())
    }
}

impl Fixture<SharedCache> for SharedCache {
    fn port(&self) -> Option<SharedCache> {
        Some(self.clone())
    }
}

impl<P: Clone + Send, G: Send> Fixture<P> for (P, G) {
    fn port(&self) -> Option<P> {
        Some(self.0.clone())
    }
}

impl<P, F: Fixture<P>> Fixture<P> for Option<F> {
    fn port(&self) -> Option<P> {
        self.as_ref().and_then(Fixture::port)
    }
}

/// A fresh name for a partition, run tag or queue: `prefix-` and 16 hex digits.
/// The address of an emulator a suite runs against, from `var` (set by
/// `scripts/emulators.sh`). Without it the suite is skipped with a line saying
/// so, unless `JOJOMART_REQUIRE_EMULATORS=1` (set by `scripts/test.sh`), where a
/// missing variable fails the test: the suite must not pass without running.
///
/// # Panics
/// When `var` is unset and `JOJOMART_REQUIRE_EMULATORS=1`.
pub fn emulator(var: &str) -> Option<String> {
    if let Ok(value) = std::env::var(var) {
        return Some(value);
    }
    assert!(
        std::env::var("JOJOMART_REQUIRE_EMULATORS").as_deref() != Ok("1"),
        "{var} is not set, and JOJOMART_REQUIRE_EMULATORS=1: run through scripts/emulators.sh"
    );
    eprintln!("SKIPPED: {var} is not set; run through scripts/emulators.sh");
    None
}

pub fn unique(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..16])
}

/// Polls `probe` every 100 ms until it yields `Some`, or panics after `deadline`
/// describing `what` was awaited. Backends on real time (the Azure emulators)
/// need this; a blind sleep would be slower and still flaky.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Expands to one `#[tokio::test]` per document-store check, each building its
/// store with `$make` (an expression awaited to a [`Fixture`]).
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(store, $crate::store::SharedStore, $make;
            create_then_read_returns_stamped_body,
            read_missing_is_none,
            create_conflict_keeps_original,
            replace_with_stale_etag_is_refused,
            delete_with_stale_etag_is_refused,
            replace_or_delete_missing_is_not_found,
            upsert_creates_then_overwrites,
            delete_then_read_is_none,
            failed_batch_writes_nothing,
            successful_batch_writes_all,
            update_creates_replaces_keeps_and_deletes,
            concurrent_updates_lose_nothing,
            concurrent_batch_updates_lose_nothing,
            concurrent_pair_updates_lose_nothing,
            batch_update_returns_failures_of_other_operations,
            query_filters_select_the_right_documents,
            query_scopes_to_partition_or_container,
            query_sorts_both_ways,
            query_pages_return_every_document_once,
            query_paging_survives_concurrent_inserts,
            query_refuses_foreign_or_tampered_continuations,
            query_limit_is_bounded,
        );
    };
}

/// Expands to one `#[tokio::test]` per change-feed check of the document
/// store, each building its store with `$make` (an expression awaited to a
/// [`Fixture`]); the store must have the store suite's container.
#[macro_export]
macro_rules! feed_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(feed, $crate::store::SharedStore, $make;
            change_feed_sees_every_write_once,
            change_feed_resumes_from_a_saved_position,
            change_feed_shows_soft_deletes,
            change_feed_small_pages_match_one_big_read,
            change_feed_refuses_foreign_positions,
        );
    };
}

/// Expands to one `#[tokio::test]` per queue check, each building its queue
/// with `$make` (an expression awaited to a [`Fixture`]).
#[macro_export]
macro_rules! queue_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(queue, $crate::queue::SharedQueue, $make;
            send_receive_delete_round_trip,
            missing_queue_is_not_found,
            invalid_requests_are_refused,
            ensure_queue_is_idempotent,
            initial_delay_hides_message,
            visibility_timeout_redelivers,
            update_visibility_renews_the_receipt,
            concurrent_receivers_never_share_a_message,
            failed_deliveries_end_in_poison_queue,
            approximate_count_includes_hidden_messages,
        );
    };
}

/// Expands to one `#[tokio::test]` per cache check, each building its cache
/// with `$make` (an expression awaited to a [`Fixture`]).
#[macro_export]
macro_rules! cache_conformance {
    ($make:expr) => {
        $crate::__conformance_tests!(cache, $crate::cache::SharedCache, $make;
            add_counts_within_one_window,
            subtracting_from_a_missing_counter_creates_nothing,
            set_get_delete_round_trip,
            keys_expire,
            concurrent_adds_lose_nothing,
        );
    };
}

/// The shared body of the suite macros; not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($suite:ident, $port:ty, $make:expr; $($check:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread")]
            async fn $check() {
                let fixture = $make.await;
                match <_ as $crate::conformance::Fixture<$port>>::port(&fixture) {
                    Some(port) => $crate::conformance::$suite::$check(port).await,
                    None => eprintln!(concat!("skipped ", stringify!($check), ": no backend configured")),
                }
                drop(fixture);
            }
        )+
    };
}
