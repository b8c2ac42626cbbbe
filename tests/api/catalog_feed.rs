//! Two instances on one store: the catalog read model of one serves the other's
//! writes within a refresh interval, because it follows the change feeds of
//! `products`, `inventory`, `categories` and the reviews' ratings, even when a
//! write commits long after the writer stamped it, and it keeps serving its
//! last snapshot while the feed cannot be read.
//!
//! Two apps on the same SQLite file are what two `jojomart dev` processes on
//! one data dir are: two `Database::open`s, two writers taking turns on the
//! file. On the Azure backend each spawned app gets its own database, so these
//! tests skip there.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};

use crate::harness::{backend, catalog::product, eventually, Backend, Spawn, TestApp, ADMIN_EMAIL};
use jojomart::products::model::PRODUCTS;
use jojomart_shared::{
    config::Config,
    conformance::faults::{FaultyStore, Op},
    store::SharedStore,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Both apps' `catalog_refresh`.
const REFRESH: Duration = Duration::from_millis(200);
/// How soon after a write returns the other instance must serve it.
const BOUND: Duration = Duration::from_millis(200 + 1000);
/// How long a slowed write to `products` waits before it reaches the store:
/// more than the 5 s by which the old `modifiedAt` watermark trailed the clock.
const SLOW: Duration = Duration::from_secs(6);

/// Two apps on one store, each behind a [`FaultyStore`] with no fault armed.
/// `b` is declared first so it stops before `a`'s data dir goes away.
struct Pair {
    b: TestApp,
    a: TestApp,
    faults_a: Arc<FaultyStore>,
    faults_b: Arc<FaultyStore>,
}

/// The shop's settings (an admin, a cheap password hash) and a short refresh.
fn configure(c: &mut Config) {
    c.admin_emails = vec![ADMIN_EMAIL.to_owned()];
    c.auth.password.memory_kib = 64;
    c.auth.password.iterations = 1;
    c.auth.password.parallelism = 1;
    c.catalog_refresh = REFRESH;
}

/// A store decorator that wraps the app's store in a [`FaultyStore`] and
/// leaves it in `slot` for the test.
type Wrap = Box<dyn FnOnce(SharedStore) -> SharedStore + Send>;
fn faulty(slot: &Arc<OnceLock<Arc<FaultyStore>>>) -> Wrap {
    let slot = slot.clone();
    Box::new(move |store| {
        let faulty = FaultyStore::wrap(store);
        let _ = slot.set(faulty.clone());
        faulty
    })
}

/// Spawns `a`, then `b` on `a`'s data dir; `None` on the Azure backend.
async fn spawn_pair() -> Option<Pair> {
    if backend() == Backend::Azure {
        eprintln!("skipped: the Azure backend gives each spawned app its own database");
        return None;
    }
    let (slot_a, slot_b) = (Arc::new(OnceLock::new()), Arc::new(OnceLock::new()));
    let a = TestApp::spawn_with(Spawn {
        configure: Box::new(configure),
        wrap_store: faulty(&slot_a),
        ..Spawn::default()
    })
    .await;
    let b = TestApp::spawn_with(Spawn {
        configure: Box::new(configure),
        wrap_store: faulty(&slot_b),
        data_dir: Some(a.data_dir().to_path_buf()),
        ..Spawn::default()
    })
    .await;
    Some(Pair {
        faults_a: slot_a.get().expect("a's store was wrapped").clone(),
        faults_b: slot_b.get().expect("b's store was wrapped").clone(),
        a,
        b,
    })
}

impl Pair {
    async fn shutdown(self) {
        self.b.shutdown().await;
        self.a.shutdown().await;
    }
}

/// Creates a product on `app` as `admin` and returns its id.
async fn new_product(app: &TestApp, admin: &str, sku: &str, name: &str, price: i64) -> String {
    let created = app
        .catalog()
        .create_product(admin, &product(sku, name, "", "home", price, 3))
        .await;
    created["id"].as_str().expect("an id").to_owned()
}

/// Reads `path` on `app` every 20 ms until `check` accepts the body; every
/// answer meanwhile must be a 200. Returns how long it took (panics after 20 s).
async fn served(app: &TestApp, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Duration {
    let since = Instant::now();
    eventually(Duration::from_secs(20), what, || async {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 200, "{path} while waiting for {what}: {body}");
        check(&body).then_some(())
    })
    .await;
    since.elapsed()
}

/// Waits until `b`'s listing (served only from its read model, never from the
/// store) shows the product named `word`.
async fn listed_on(b: &TestApp, word: &str, id: &str) -> Duration {
    served(
        b,
        &format!("/api/products?q={word}"),
        "the product in the other instance's listing",
        |page| {
            page["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|p| p["id"] == id))
        },
    )
    .await
}

/// PATCHes a product's price on `app` as `admin`.
async fn set_price(app: &TestApp, admin: &str, id: &str, price: i64) {
    let path = format!("/api/products/{id}");
    let r = app
        .send(
            Method::PATCH,
            &path,
            Some(admin),
            Some(&json!({"unitPrice": price})),
        )
        .await;
    assert_eq!(
        r.status(),
        200,
        "PATCH {path}: {}",
        r.text().await.unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn products_prices_and_ratings_written_on_one_instance_show_on_the_other() {
    let Some(pair) = spawn_pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let admin = a.auth().admin().await;
    let id = new_product(a, &admin, "FEED-1", "Feedlamp", 1000).await;
    let took = listed_on(b, "feedlamp", &id).await;
    assert!(
        took <= BOUND,
        "a new product took {took:?} to be listed on the other instance"
    );

    set_price(a, &admin, &id, 1500).await;
    let path = format!("/api/products/{id}");
    let took = served(b, &path, "the new price on the other instance", |p| {
        p["unitPrice"] == 1500
    })
    .await;
    assert!(
        took <= BOUND,
        "a new price took {took:?} to show on the other instance"
    );

    let shopper = a.auth().token("shopper@jojomart.test", "Sam Shopper").await;
    let r = a
        .send(
            Method::POST,
            &format!("/api/products/{id}/reviews"),
            Some(&shopper),
            Some(&json!({"rating": 4, "title": "Bright", "body": "Lights the desk."})),
        )
        .await;
    assert_eq!(
        r.status(),
        201,
        "review: {}",
        r.text().await.unwrap_or_default()
    );
    let took = served(b, &path, "the rating on the other instance", |p| {
        p["rating"] == json!({"average": 4.0, "count": 1})
    })
    .await;
    assert!(
        took <= BOUND,
        "a rating took {took:?} to show on the other instance"
    );
    pair.shutdown().await;
}

/// The write the `modifiedAt` polling this replaced would have lost for good.
///
/// The service stamps the product with `modifiedAt = T` and then hands it to
/// the store, which here (as a Cosmos DB write retried on throttling does)
/// commits it at `C >= T + 6 s`. The old poller read `modifiedAt >= W` and,
/// after each successful poll started at `S`, set `W = S - 5 s`. While the
/// write is in flight `b` is under traffic, so it polls every 200 ms: some poll
/// starts at `S` in `[C - 0.5 s, C - 0.3 s]`, finishes before `C` (a poll takes
/// milliseconds) without the uncommitted write, and sets
/// `W >= C - 5.5 s >= T + 0.5 s > T`. Every later poll asks for
/// `modifiedAt >= W > T` and never returns the product again, so `b` would have
/// served the old price until the product's next write. A change feed orders
/// by commit: the first read after `C` returns it.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_commits_long_after_its_stamp_still_shows_on_the_other_instance() {
    let Some(pair) = spawn_pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let admin = a.auth().admin().await;
    let id = new_product(a, &admin, "SLOW-1", "Slowlamp", 1000).await;
    listed_on(b, "slowlamp", &id).await;
    let path = format!("/api/products/{id}");

    // `b` under traffic while the write is in flight, as a live instance is;
    // it must keep serving the committed price.
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let traffic = tokio::spawn({
        let (client, url) = (b.client.clone(), b.url(&path));
        let (done, reads) = (done.clone(), reads.clone());
        async move {
            while !done.load(Ordering::Acquire) {
                let body: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
                assert_eq!(body["unitPrice"], 1000, "served before it was committed");
                reads.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    pair.faults_a.delay_writes(PRODUCTS, SLOW);
    let started = Instant::now();
    set_price(a, &admin, &id, 1500).await;
    let returned_at = chrono::Utc::now().timestamp_micros();
    let in_flight = started.elapsed();
    pair.faults_a.clear();
    done.store(true, Ordering::Release);
    traffic
        .await
        .expect("b served the old price while the write was in flight");
    assert!(in_flight >= SLOW, "the write was not slowed: {in_flight:?}");
    assert!(
        reads.load(Ordering::Relaxed) >= 20,
        "b was not under traffic"
    );
    let stored = a
        .state
        .adapters()
        .store
        .read(PRODUCTS, &id, &id)
        .await
        .unwrap()
        .unwrap();
    let stamp_lag =
        Duration::from_micros((returned_at - stored.body["modifiedAt"].as_i64().unwrap()) as u64);
    assert!(
        stamp_lag >= SLOW,
        "the PATCH returned only {stamp_lag:?} after the product's modifiedAt stamp"
    );

    let took = served(b, &path, "the slow write on the other instance", |p| {
        p["unitPrice"] == 1500
    })
    .await;
    assert!(
        took <= BOUND,
        "a late-committed price took {took:?} to show on the other instance"
    );
    pair.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_that_cannot_read_the_feed_serves_its_last_snapshot_then_catches_up() {
    let Some(pair) = spawn_pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let admin = a.auth().admin().await;
    let id = new_product(a, &admin, "DARK-1", "Darklamp", 1000).await;
    listed_on(b, "darklamp", &id).await;

    pair.faults_b.fail_next(Op::Changes, PRODUCTS, 3);
    set_price(a, &admin, &id, 1500).await;
    // Every read on `b` answers (the old price) while its refreshes fail,
    // then the first refresh that can read the feed goes on from where the
    // last good one stopped.
    let path = format!("/api/products/{id}");
    served(b, &path, "the price once the feed reads again", |p| {
        p["unitPrice"] == 1500
    })
    .await;
    assert_eq!(
        pair.faults_b.injected(),
        3,
        "b's refreshes did not fail as arranged"
    );
    let listing = served(
        b,
        "/api/products?q=darklamp",
        "the new price in b's listing",
        |page| page["items"][0]["unitPrice"] == 1500,
    )
    .await;
    assert!(
        listing <= BOUND,
        "the listing lagged the product read by {listing:?}"
    );
    pair.shutdown().await;
}
