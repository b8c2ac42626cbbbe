//! The catalog read model: a per-process, in-memory snapshot of every live
//! product with its rating and availability, which serves listing, search and
//! product reads without touching the store.
//!
//! Why: a listing over the store is a scan of `json_extract` over every product
//! per request (SQLite) or a cross-partition query (Cosmos DB); neither meets
//! the read targets. The catalog is small (10,000 products are ~10 MB) and read
//! far more than written, so each instance keeps a copy:
//! - writes made by this process are applied as soon as they are stored, so a
//!   client reads its own writes;
//! - writes made by other instances (or `jojomart seed`) are picked up by
//!   following the change feeds ([`DocumentStore::changes`]) of `products`,
//!   `inventory` (its stock documents) and `categories`, and the ratings feed
//!   the reviews service publishes ([`RatingFeed`]). The model keeps its
//!   [`FeedPosition`] in each, in memory (a new process starts from the
//!   beginning: reading every feed to its end *is* the first load), and reads
//!   on from there at most once per refresh interval
//!   (`JOJOMART_CATALOG_REFRESH_MS`), triggered by requests
//!   (stale-while-revalidate: no background task when idle). A feed orders
//!   writes by commit, not by the clock of the writer, so a write that commits
//!   long after it was built (a retried Cosmos DB write) is seen like any other.
//!   Every document carries a `version`, and the model keeps the highest it has
//!   seen, so a copy older than what this process wrote itself never wins.
//!
//! The derived index (live products in every sort order, per-category sets) is
//! rebuilt lazily on the first read after a change. Availability lives beside it
//! and changes without a rebuild.
//!
//! Paging is keyset paging on a total order `(a, b, id)` per sort: a cursor
//! holds the last item's key, sealed with HMAC and bound to the query, so pages
//! neither repeat nor skip items while products are added, and a tampered or
//! foreign cursor is refused.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, RwLock,
    },
    time::{Duration, Instant},
};

use jojomart_shared::{
    domain::{CategorySlug, ProductId},
    error::ApiError,
    store::{
        continuation::TokenSealer, Container, Document, DocumentStore, FeedPosition, SharedStore,
        StoreError, MAX_CHANGES,
    },
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    inventory::{StockDoc, INVENTORY},
    model::{
        CategoryDoc, CategoryView, ProductDetail, ProductDoc, ProductSummary, RatingSummary,
        RatingTotals, CATEGORIES, PRODUCTS,
    },
};

/// Where the catalog learns product ratings: a feed the service that keeps
/// them (reviews) publishes and the read model follows. The catalog never
/// calls that service; it is handed this feed at startup.
#[async_trait::async_trait]
pub trait RatingFeed: Send + Sync + std::fmt::Debug {
    /// The totals of products whose rating changed after `from`, in the order
    /// they changed, and the position to read from next. As with
    /// [`DocumentStore::changes`], an empty list means caught up, positions are
    /// the feed's own (start from [`FeedPosition::beginning`] for every
    /// product's totals), and a product changed several times since `from`
    /// comes back once, with its latest totals.
    ///
    /// # Errors
    /// The store's error.
    async fn changes(
        &self,
        from: &FeedPosition,
    ) -> Result<(Vec<(ProductId, RatingTotals)>, FeedPosition), StoreError>;
}

/// Most distinct search words whose match sets are cached per index.
const WORD_CACHE_SIZE: usize = 4096;
/// Memory each per-index search cache may hold, so distinct queries cannot grow it without bound.
const CACHE_BUDGET_BYTES: usize = 32 * 1024 * 1024;

/// Relevance orders already computed, per word list, within a memory budget.
#[derive(Default)]
struct RelevanceCache {
    bytes: usize,
    orders: HashMap<Vec<String>, Arc<Vec<Ranked>>>,
}

/// The orders a listing can be sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Best match for `q` first (more words in the name score higher); newest
    /// first without `q`.
    Relevance,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Best rated first (more reviews break ties).
    Rating,
    /// Most recently created first.
    Newest,
}

/// A parsed listing request.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Lower-cased search words; every one must match the name or description.
    pub words: Vec<String>,
    /// Only this category.
    pub category: Option<CategorySlug>,
    /// Lowest unit price, minor units, inclusive.
    pub min_price: Option<i64>,
    /// Highest unit price, minor units, inclusive.
    pub max_price: Option<i64>,
    /// The order.
    pub sort: SortOrder,
    /// Page size.
    pub limit: usize,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

impl Listing {
    /// What a cursor is bound to: everything but the paging state.
    fn fingerprint(&self) -> String {
        let shape = serde_json::json!([
            self.words,
            self.category,
            self.min_price,
            self.max_price,
            self.sort
        ]);
        hex::encode(&Sha256::digest(shape.to_string().as_bytes())[..12])
    }
}

/// Where a page stopped: the last item's sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Key {
    a: i64,
    b: i64,
    id: String,
}

/// A product's review totals as the model holds them.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    version: u64,
    sum: u64,
    count: u64,
}

/// A product's stock as the model holds it.
#[derive(Debug, Clone, Copy)]
struct Stock {
    version: u64,
    available: i64,
}

/// Everything the model knows, as last written or read from a feed.
#[derive(Default)]
struct Base {
    products: HashMap<ProductId, Arc<ProductDoc>>,
    ratings: HashMap<ProductId, Totals>,
    categories: HashMap<CategorySlug, CategoryDoc>,
}

/// A fixed-size set of item positions.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(len: usize) -> Self {
        Self(vec![0; len.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    fn and(&mut self, other: &Bits) {
        for (w, o) in self.0.iter_mut().zip(&other.0) {
            *w &= o;
        }
    }
}

/// One live product in the index.
struct Item {
    doc: Arc<ProductDoc>,
    rating: RatingSummary,
    created: i64,
}

/// An item's place in one order: ascending `(a, b, id)`. Items are indexed in
/// id order, so within one index `(a, b, i)` sorts exactly as `(a, b, id)`.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    a: i64,
    b: i64,
    i: usize,
}

/// The derived, immutable index over the live products.
struct Index {
    items: Vec<Item>,
    by_id: HashMap<ProductId, usize>,
    orders: HashMap<SortOrder, Vec<Ranked>>,
    by_category: HashMap<CategorySlug, Bits>,
    categories: Vec<CategoryView>,
    word_cache: Mutex<HashMap<String, Arc<Bits>>>,
    relevance_cache: Mutex<RelevanceCache>,
}

impl Index {
    fn build(base: &Base) -> Self {
        let mut items: Vec<Item> = base
            .products
            .values()
            .filter(|d| !d.deleted)
            .map(|doc| {
                let t = base
                    .ratings
                    .get(&doc.product_id)
                    .copied()
                    .unwrap_or_default();
                Item {
                    doc: doc.clone(),
                    rating: RatingSummary::of(t.sum, t.count),
                    created: doc.created_at.timestamp_micros(),
                }
            })
            .collect();
        items.sort_by(|x, y| x.doc.product_id.cmp(&y.doc.product_id));
        let by_id = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.doc.product_id.clone(), i))
            .collect();
        let mut orders = HashMap::new();
        for sort in [
            SortOrder::Newest,
            SortOrder::PriceAsc,
            SortOrder::PriceDesc,
            SortOrder::Rating,
        ] {
            let mut order: Vec<Ranked> = (0..items.len())
                .map(|i| rank(&items[i], i, sort, 0))
                .collect();
            order.sort_unstable_by_key(|r| (r.a, r.b, r.i));
            orders.insert(sort, order);
        }
        let mut by_category: HashMap<CategorySlug, Bits> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            by_category
                .entry(it.doc.category.clone())
                .or_insert_with(|| Bits::new(items.len()))
                .set(i);
        }
        let mut categories: Vec<CategoryView> = base
            .categories
            .values()
            .filter(|c| c.product_count > 0)
            .map(|c| CategoryView {
                id: c.category_id.as_str().to_owned(),
                name: c.name.clone(),
                product_count: c.product_count,
            })
            .collect();
        categories.sort_by(|x, y| x.name.cmp(&y.name).then_with(|| x.id.cmp(&y.id)));
        Self {
            items,
            by_id,
            orders,
            by_category,
            categories,
            word_cache: Mutex::new(HashMap::new()),
            relevance_cache: Mutex::new(RelevanceCache::default()),
        }
    }

    /// The items matching every word (`None` for no words).
    fn matches(&self, words: &[String]) -> Option<Bits> {
        let mut all: Option<Bits> = None;
        for word in words {
            let bits = self.word_matches(word);
            match &mut all {
                Some(a) => a.and(&bits),
                None => all = Some((*bits).clone()),
            }
        }
        all
    }

    /// The items matching every word, best match first (cached per word list).
    fn relevance_order(&self, words: &[String]) -> Arc<Vec<Ranked>> {
        if let Some(hit) = lock(&self.relevance_cache).orders.get(words).cloned() {
            return hit;
        }
        let matches = self.matches(words).unwrap_or_else(|| Bits::new(0));
        let mut order: Vec<Ranked> = (0..self.items.len())
            .filter(|&i| matches.contains(i))
            .map(|i| {
                rank(
                    &self.items[i],
                    i,
                    SortOrder::Relevance,
                    score(&self.items[i], words),
                )
            })
            .collect();
        order.sort_unstable_by_key(|r| (r.a, r.b, r.i));
        let order = Arc::new(order);
        let size = order.len() * std::mem::size_of::<Ranked>();
        let mut cache = lock(&self.relevance_cache);
        if cache.orders.len() >= WORD_CACHE_SIZE || cache.bytes + size > CACHE_BUDGET_BYTES {
            cache.orders.clear();
            cache.bytes = 0;
        }
        cache.bytes += size;
        cache.orders.insert(words.to_vec(), order.clone());
        order
    }

    /// Where `r` stands relative to a cursor's key.
    fn cmp(&self, r: &Ranked, key: &Key) -> std::cmp::Ordering {
        (r.a, r.b)
            .cmp(&(key.a, key.b))
            .then_with(|| self.items[r.i].doc.product_id.as_str().cmp(key.id.as_str()))
    }

    /// The cursor key of a ranked item.
    fn key(&self, r: &Ranked) -> Key {
        Key {
            a: r.a,
            b: r.b,
            id: self.items[r.i].doc.product_id.as_str().to_owned(),
        }
    }

    /// The items whose name or description contains `word`.
    fn word_matches(&self, word: &str) -> Arc<Bits> {
        let cache = |c: &Mutex<HashMap<String, Arc<Bits>>>| {
            c.lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(word)
                .cloned()
        };
        if let Some(hit) = cache(&self.word_cache) {
            return hit;
        }
        let mut bits = Bits::new(self.items.len());
        for (i, it) in self.items.iter().enumerate() {
            if it.doc.search_text.contains(word) {
                bits.set(i);
            }
        }
        let bits = Arc::new(bits);
        let limit = (CACHE_BUDGET_BYTES / (self.items.len() / 8 + 64)).min(WORD_CACHE_SIZE);
        let mut cache = self.word_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= limit {
            cache.clear();
        }
        cache.insert(word.to_owned(), bits.clone());
        bits
    }
}

/// The relevance of an item for the words: 2 per word in the name, 1 per word
/// found only in the description.
fn score(item: &Item, words: &[String]) -> i64 {
    let name = item.doc.name_part();
    words
        .iter()
        .map(|w| if name.contains(w.as_str()) { 2 } else { 1 })
        .sum()
}

/// An item's position in a sort order: ascending `(a, b, id)`.
fn rank(item: &Item, i: usize, sort: SortOrder, score: i64) -> Ranked {
    let (a, b) = match sort {
        SortOrder::Newest => (-item.created, 0),
        SortOrder::PriceAsc => (item.doc.unit_price, 0),
        SortOrder::PriceDesc => (-item.doc.unit_price, 0),
        SortOrder::Rating => (
            -((item.rating.average * 1_000_000.0).round() as i64),
            -(item.rating.count as i64),
        ),
        SortOrder::Relevance => (-score, -item.created),
    };
    Ranked { a, b, i }
}

/// Where the model stands in one feed. The lock is held while a page is read
/// and applied, so one reader at a time advances a position (a background
/// refresh and a ratings catch-up take turns) and it never moves back.
type Position = tokio::sync::Mutex<FeedPosition>;

/// The ratings feed and where the model stands in it (a position belongs to
/// the feed that issued it).
struct RatingsFollower {
    feed: Arc<dyn RatingFeed>,
    at: Position,
}

struct Shared {
    store: SharedStore,
    refresh_every: Duration,
    base: Mutex<Base>,
    index: RwLock<Arc<Index>>,
    dirty: AtomicBool,
    stock: RwLock<HashMap<ProductId, Stock>>,
    loaded: tokio::sync::OnceCell<TokenSealer>,
    /// When the feeds were last read to their end (or failed to be).
    last_refresh: Mutex<Instant>,
    refreshing: AtomicBool,
    products_at: Position,
    stock_at: Position,
    categories_at: Position,
    ratings: RwLock<Option<Arc<RatingsFollower>>>,
}

/// The catalog read model; cheap to clone, shared by every handler of a process.
#[derive(Clone)]
pub struct CatalogReadModel(Arc<Shared>);

impl std::fmt::Debug for CatalogReadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogReadModel")
            .field("refresh_every", &self.0.refresh_every)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, ignoring poisoning (the data is a cache; a panicked writer left it usable).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CatalogReadModel {
    /// An empty model over `store`, whose feeds are read at most every `refresh_every`.
    pub fn new(store: SharedStore, refresh_every: Duration) -> Self {
        Self(Arc::new(Shared {
            store,
            refresh_every,
            base: Mutex::new(Base::default()),
            index: RwLock::new(Arc::new(Index::build(&Base::default()))),
            dirty: AtomicBool::new(false),
            stock: RwLock::new(HashMap::new()),
            loaded: tokio::sync::OnceCell::new(),
            last_refresh: Mutex::new(Instant::now()),
            refreshing: AtomicBool::new(false),
            products_at: Position::default(),
            stock_at: Position::default(),
            categories_at: Position::default(),
            ratings: RwLock::new(None),
        }))
    }

    /// Follows `feed` for product ratings from now on, from its beginning.
    pub fn follow_ratings(&self, feed: Arc<dyn RatingFeed>) {
        let follower = RatingsFollower {
            feed,
            at: Position::default(),
        };
        *self.0.ratings.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(follower));
    }

    /// Reads the ratings feed to its end now instead of at the next refresh,
    /// so a rating change made through this process is seen by its next read.
    /// Best effort: a failure leaves the change to the next refresh.
    pub async fn catch_up_ratings(&self) {
        if let Err(e) = self.follow_rating_feed().await {
            tracing::warn!(error = %e, "could not catch up with the ratings feed");
        }
    }

    /// A product's rating as last seen (no reviews when unknown).
    pub fn rating_of(&self, product: &ProductId) -> RatingSummary {
        let t = lock(&self.0.base)
            .ratings
            .get(product)
            .copied()
            .unwrap_or_default();
        RatingSummary::of(t.sum, t.count)
    }

    /// Records a product document this process wrote (or read).
    pub fn apply_product(&self, doc: &ProductDoc) {
        let mut base = lock(&self.0.base);
        let newer = base
            .products
            .get(&doc.product_id)
            .is_none_or(|held| held.version < doc.version);
        if newer {
            base.products
                .insert(doc.product_id.clone(), Arc::new(doc.clone()));
            self.0.dirty.store(true, Ordering::Release);
        }
    }

    /// Records product documents read from the feed (under one lock, without copying).
    fn apply_products(&self, docs: Vec<ProductDoc>) {
        let mut base = lock(&self.0.base);
        for doc in docs {
            let newer = base
                .products
                .get(&doc.product_id)
                .is_none_or(|held| held.version < doc.version);
            if newer {
                base.products.insert(doc.product_id.clone(), Arc::new(doc));
                self.0.dirty.store(true, Ordering::Release);
            }
        }
    }

    /// Records a stock document this process wrote (or read).
    pub fn apply_stock(&self, doc: &StockDoc) {
        let mut stock = self.0.stock.write().unwrap_or_else(|e| e.into_inner());
        let newer = stock
            .get(&doc.product_id)
            .is_none_or(|held| held.version < doc.version);
        if newer {
            stock.insert(
                doc.product_id.clone(),
                Stock {
                    version: doc.version,
                    available: doc.stock - doc.reserved,
                },
            );
        }
    }

    /// Records a product's review totals.
    fn apply_rating(&self, product: &ProductId, totals: RatingTotals) {
        let mut base = lock(&self.0.base);
        let newer = base
            .ratings
            .get(product)
            .is_none_or(|held| held.version < totals.version);
        if newer {
            base.ratings.insert(
                product.clone(),
                Totals {
                    version: totals.version,
                    sum: totals.sum,
                    count: totals.count,
                },
            );
            self.0.dirty.store(true, Ordering::Release);
        }
    }

    /// Records a category document.
    pub fn apply_category(&self, doc: &CategoryDoc) {
        let mut base = lock(&self.0.base);
        let newer = base
            .categories
            .get(&doc.category_id)
            .is_none_or(|held| held.version < doc.version);
        if newer {
            base.categories.insert(doc.category_id.clone(), doc.clone());
            self.0.dirty.store(true, Ordering::Release);
        }
    }

    /// Loads everything on first use, schedules a read of the feeds when the
    /// last one is older than the refresh interval, rebuilds the index if
    /// something changed, and returns it with the cursor sealer.
    async fn ready(&self) -> Result<(Arc<Index>, &TokenSealer), ApiError> {
        let sealer = self.0.loaded.get_or_try_init(|| self.load()).await?;
        self.maybe_refresh();
        if self.0.dirty.load(Ordering::Acquire) {
            // Changes mark the model dirty under the base lock, and the flag
            // is cleared only once the new index is in place: a read that
            // finds it clean while another read is rebuilding would
            // otherwise serve the index from before the change it waited for
            // (a review posted, then the product read beside its reviews).
            let base = lock(&self.0.base);
            if self.0.dirty.load(Ordering::Acquire) {
                let index = Arc::new(Index::build(&base));
                *self.0.index.write().unwrap_or_else(|e| e.into_inner()) = index;
                self.0.dirty.store(false, Ordering::Release);
            }
        }
        let index = self
            .0
            .index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok((index, sealer))
    }

    /// Warms the model up (first load), so the first request does not pay for it.
    ///
    /// # Errors
    /// The store's error.
    pub async fn warm_up(&self) -> Result<(), ApiError> {
        self.ready().await.map(|_| ())
    }

    /// The first load: every feed read from its beginning to its end.
    async fn load(&self) -> Result<TokenSealer, ApiError> {
        let started = Instant::now();
        let key = cursor_key(&*self.0.store).await?;
        self.catch_up().await?;
        *lock(&self.0.last_refresh) = Instant::now();
        let products = lock(&self.0.base).products.len();
        tracing::info!(
            products,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "catalog read model loaded"
        );
        Ok(TokenSealer::new(key))
    }

    /// Reads every feed from where the model stands to its end, applying
    /// each page as it comes. A feed that fails keeps the position of its
    /// last applied page (the next refresh goes on from there) and does not
    /// stop the others; the first error is returned.
    async fn catch_up(&self) -> Result<(), StoreError> {
        let (products, stock, categories, ratings) = tokio::join!(
            self.follow(PRODUCTS, &self.0.products_at, |model, docs| {
                model.apply_products(parse_all(docs, |_| true));
            }),
            self.follow(INVENTORY, &self.0.stock_at, |model, docs| {
                for doc in parse_all::<StockDoc>(docs, |d| kind_is(d, "stock")) {
                    model.apply_stock(&doc);
                }
            }),
            self.follow(CATEGORIES, &self.0.categories_at, |model, docs| {
                for doc in parse_all::<CategoryDoc>(docs, |_| true) {
                    model.apply_category(&doc);
                }
            }),
            self.follow_rating_feed(),
        );
        products.and(stock).and(categories).and(ratings)
    }

    /// Reads `container`'s change feed from `at` to its end, in pages of
    /// [`MAX_CHANGES`], handing each page to `apply` before moving `at` past it.
    async fn follow(
        &self,
        container: &Container,
        at: &Position,
        apply: impl Fn(&Self, &[Document]),
    ) -> Result<(), StoreError> {
        let mut at = at.lock().await;
        loop {
            let page = self.0.store.changes(container, &at, MAX_CHANGES).await?;
            let caught_up = page.is_caught_up();
            apply(self, &page.documents);
            *at = page.next;
            if caught_up {
                return Ok(());
            }
        }
    }

    /// Reads the ratings feed (if one was handed over) from where the model stands to its end.
    async fn follow_rating_feed(&self) -> Result<(), StoreError> {
        let follower = self
            .0
            .ratings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(follower) = follower else {
            return Ok(());
        };
        let mut at = follower.at.lock().await;
        loop {
            let (changes, next) = follower.feed.changes(&at).await?;
            *at = next;
            if changes.is_empty() {
                return Ok(());
            }
            for (product, totals) in changes {
                self.apply_rating(&product, totals);
            }
        }
    }

    /// Starts a background refresh when the last one is older than the interval.
    fn maybe_refresh(&self) {
        let due = lock(&self.0.last_refresh).elapsed() >= self.0.refresh_every;
        if !due || self.0.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let model = self.clone();
        tokio::spawn(async move {
            if let Err(e) = model.catch_up().await {
                tracing::warn!(error = %e, "catalog refresh failed; serving the last snapshot");
            }
            *lock(&model.0.last_refresh) = Instant::now();
            model.0.refreshing.store(false, Ordering::Release);
        });
    }

    fn available(&self, id: &ProductId) -> i64 {
        let stock = self.0.stock.read().unwrap_or_else(|e| e.into_inner());
        stock.get(id).map_or(0, |s| s.available)
    }

    /// A live product with its rating and availability, if this process knows it.
    ///
    /// # Errors
    /// The store's error while loading.
    pub async fn get(&self, id: &ProductId) -> Result<Option<ProductDetail>, ApiError> {
        let (index, _) = self.ready().await?;
        Ok(index.by_id.get(id).map(|&i| {
            let item = &index.items[i];
            ProductDetail::of(&item.doc, item.rating, self.available(id))
        }))
    }

    /// The product document of a live product, if this process knows it.
    ///
    /// # Errors
    /// The store's error while loading.
    pub async fn product(&self, id: &ProductId) -> Result<Option<Arc<ProductDoc>>, ApiError> {
        let (index, _) = self.ready().await?;
        Ok(index.by_id.get(id).map(|&i| index.items[i].doc.clone()))
    }

    /// Categories that have live products, by name.
    ///
    /// # Errors
    /// The store's error while loading.
    pub async fn categories(&self) -> Result<Vec<CategoryView>, ApiError> {
        let (index, _) = self.ready().await?;
        Ok(index.categories.clone())
    }

    /// One page of a listing.
    ///
    /// # Errors
    /// 400 naming `cursor` when the cursor was not issued for this query; the
    /// store's error while loading.
    pub async fn list(
        &self,
        listing: &Listing,
    ) -> Result<(Vec<ProductSummary>, Option<String>), ApiError> {
        let (index, sealer) = self.ready().await?;
        let fingerprint = listing.fingerprint();
        let after: Option<Key> = match &listing.cursor {
            Some(token) => Some(sealer.open(&fingerprint, token).map_err(|_| {
                ApiError::invalid_field("cursor", "was not issued by us for this query")
            })?),
            None => None,
        };

        // Relevance with words walks the cached match list; every other order
        // walks its presorted list and skips what the filters exclude.
        let relevance = listing.sort == SortOrder::Relevance && !listing.words.is_empty();
        let mut candidates = if relevance {
            None
        } else {
            index.matches(&listing.words)
        };
        if let Some(category) = &listing.category {
            match (index.by_category.get(category), &mut candidates) {
                (Some(bits), Some(c)) => c.and(bits),
                (Some(bits), None) => candidates = Some(bits.clone()),
                (None, _) => candidates = Some(Bits::new(0)),
            }
        }
        let keep = |i: usize| {
            let price = index.items[i].doc.unit_price;
            candidates.as_ref().is_none_or(|c| c.contains(i))
                && listing.min_price.is_none_or(|m| price >= m)
                && listing.max_price.is_none_or(|m| price <= m)
        };
        let relevance_order;
        let order: &[Ranked] = if relevance {
            relevance_order = index.relevance_order(&listing.words);
            &relevance_order
        } else {
            let sort = if listing.sort == SortOrder::Relevance {
                SortOrder::Newest
            } else {
                listing.sort
            };
            index
                .orders
                .get(&sort)
                .map(Vec::as_slice)
                .unwrap_or_default()
        };
        let start = match &after {
            Some(key) => {
                order.partition_point(|r| index.cmp(r, key) != std::cmp::Ordering::Greater)
            }
            None => 0,
        };
        let page: Vec<&Ranked> = order[start..]
            .iter()
            .filter(|r| keep(r.i))
            .take(listing.limit + 1)
            .collect();
        let next = if page.len() > listing.limit {
            page.get(listing.limit - 1)
                .map(|r| sealer.seal(&fingerprint, &index.key(r)))
        } else {
            None
        };
        let stock = self.0.stock.read().unwrap_or_else(|e| e.into_inner());
        let items = page
            .iter()
            .take(listing.limit)
            .map(|r| {
                let item = &index.items[r.i];
                let available = stock.get(&item.doc.product_id).map_or(0, |s| s.available);
                ProductSummary::of(&item.doc, item.rating, available)
            })
            .collect();
        Ok((items, next))
    }
}

/// Whether a document's `kind` is `kind` (containers that hold several shapes).
fn kind_is(doc: &Document, kind: &str) -> bool {
    doc.body.get("kind").and_then(serde_json::Value::as_str) == Some(kind)
}

/// The documents of a feed page that `keep` selects, parsed. One that does
/// not parse is logged and skipped: a feed must not stall on one bad document
/// (the model cannot serve it either way).
fn parse_all<T: DeserializeOwned>(docs: &[Document], keep: impl Fn(&Document) -> bool) -> Vec<T> {
    docs.iter()
        .filter(|d| keep(d))
        .filter_map(|d| match T::deserialize(&d.body) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                tracing::warn!(error = %e, id = %d.id, pk = %d.partition_key, "skipped a catalog document that does not parse");
                None
            }
        })
        .collect()
}

/// The key that seals listing cursors, shared by every instance.
async fn cursor_key(store: &dyn DocumentStore) -> Result<Vec<u8>, StoreError> {
    jojomart_shared::store::shared_secret(store, "catalog-cursor-key").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        let mut a = Bits::new(130);
        a.set(0);
        a.set(129);
        let mut b = Bits::new(130);
        b.set(129);
        a.and(&b);
        assert!(!a.contains(0));
        assert!(a.contains(129));
        assert!(!a.contains(1000));
    }
}
