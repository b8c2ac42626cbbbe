//! The products service: creating, changing and soft-deleting products, SKU
//! uniqueness, category counts, and reads through the catalog read model.
//!
//! A product spans four partitions (its SKU claim, its stock, its document,
//! its category's count), so each write is a sequence of single-partition
//! steps, ordered so that a process dying between two of them leaves nothing
//! a user can trip over:
//!
//! - **create**: claim the SKU with create-if-absent (the only thing that
//!   decides a duplicate: no read-then-write), write the stock (harmless
//!   alone: no product points at it), write the product, count it in its
//!   category. A claim whose product never appeared is taken over after
//!   [`STALE_CLAIM`]; a count that was missed is put right by the
//!   `reconcile-categories` timer ([`reconcile_categories`]).
//! - **change**: read the product, claim its new SKU *for the version about to
//!   be written*, write the product on the ETag read, and start again from
//!   the read when another writer got there first, so the claim is always made
//!   for the product as it is written; then release the old SKU and move the
//!   category counts.
//! - **delete**: mark the product deleted, then release its SKU and count it out.
//!
//! A claim binds while its product holds that SKU, or while the write it was
//! made for may still land (the product is older than the claim's
//! `forVersion`, for at most [`STALE_CLAIM`]). So a claim left behind by a
//! release that never happened is free at once, and a release never removes a
//! claim a concurrent change of the same product is about to rely on: that
//! change re-stamped the claim (new ETag) and the release is conditional on
//! the one it read. A product written before its stock was (older code, or a
//! hand-made store) gets its stock document at the next `PUT .../inventory`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jojomart_shared::{
    domain::{CategorySlug, Description, ImageUrl, Money, ProductId, ProductName, Sku, Stock},
    error::ApiError,
    store::{self, to_body, Change, Document, Query, RetryPolicy, StoreError},
};

use super::Catalog;
use super::{
    inventory,
    model::{
        micros, sku_key, CategoryDoc, ProductDetail, ProductDoc, RatingSummary, SkuClaim,
        CATEGORIES, PRODUCTS, SKUS,
    },
};

/// How old a SKU claim without a product must be before another product may take it.
pub const STALE_CLAIM: chrono::Duration = chrono::Duration::minutes(1);
/// Most images per product.
pub const MAX_IMAGES: usize = 20;
/// Most units a stock level may hold.
pub const MAX_STOCK: u32 = Stock::MAX;

/// A product to create, every field already valid.
#[derive(Debug, Clone)]
pub struct NewProduct {
    /// The SKU (must be unused).
    pub sku: Sku,
    /// The name.
    pub name: ProductName,
    /// The description.
    pub description: Description,
    /// The category.
    pub category: CategorySlug,
    /// The unit price.
    pub price: Money,
    /// Units on hand.
    pub stock: Stock,
    /// Image URLs.
    pub images: Vec<ImageUrl>,
}

/// Changes to a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    /// A new SKU (must be unused).
    pub sku: Option<Sku>,
    /// A new name.
    pub name: Option<ProductName>,
    /// A new description.
    pub description: Option<Description>,
    /// A new category.
    pub category: Option<CategorySlug>,
    /// A new price (minor units).
    pub unit_price: Option<i64>,
    /// A new currency.
    pub currency: Option<jojomart_shared::domain::Currency>,
    /// New images (replacing the list).
    pub images: Option<Vec<ImageUrl>>,
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such product".into())
}

fn sku_taken(sku: &Sku) -> ApiError {
    ApiError::Conflict(format!("sku `{sku}` is already used by another product"))
}

/// How a claim stands against the product it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// The product holds the SKU: nobody else may take it.
    Bound,
    /// The write the claim was made for may still land (the product is not
    /// written yet, or older than the claim's `forVersion`).
    Pending,
    /// The product is deleted, or moved on to another SKU.
    Loose,
}

fn hold(claim: &SkuClaim, key: &str, holder: Option<&ProductDoc>) -> Hold {
    match holder {
        None => Hold::Pending,
        Some(p) if p.deleted => Hold::Loose,
        Some(p) if p.version < claim.for_version => Hold::Pending,
        Some(p) if sku_key(&p.sku) == key => Hold::Bound,
        Some(_) => Hold::Loose,
    }
}

async fn holder_of(catalog: &Catalog, claim: &SkuClaim) -> Result<Option<ProductDoc>, ApiError> {
    let id = claim.product_id.as_str();
    match catalog.store.read(PRODUCTS, id, id).await? {
        Some(doc) => Ok(Some(doc.parse()?)),
        None => Ok(None),
    }
}

/// How many times a claim is tried when its document keeps changing under it.
const CLAIM_ATTEMPTS: usize = 5;

/// Claims `sku` for `product`'s write of version `for_version`: create-if-absent;
/// a claim the product already has is re-stamped (so that a release racing
/// with this write fails its precondition); another product's claim is taken
/// over only when it is [`Hold::Loose`], or [`Hold::Pending`] for longer than
/// [`STALE_CLAIM`].
async fn claim_sku(
    catalog: &Catalog,
    sku: &Sku,
    product: &ProductId,
    for_version: u64,
) -> Result<(), ApiError> {
    let key = sku_key(sku);
    for _ in 0..CLAIM_ATTEMPTS {
        let mut claim = SkuClaim {
            sku: key.clone(),
            product_id: product.clone(),
            claimed_at: catalog.clock.now(),
            for_version,
        };
        match catalog
            .store
            .create(SKUS, &key, &key, to_body(&claim)?)
            .await
        {
            Ok(_) => return Ok(()),
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(existing) = catalog.store.read(SKUS, &key, &key).await? else {
            continue; // released in between: a racing create still decides
        };
        let held: SkuClaim = existing.parse()?;
        if held.product_id == *product {
            // Never lower the version: a concurrent change of this product
            // may have stamped it for a later write that has yet to land.
            claim.for_version = claim.for_version.max(held.for_version);
        } else {
            let free = match hold(&held, &key, holder_of(catalog, &held).await?.as_ref()) {
                Hold::Bound => false,
                Hold::Pending => catalog.clock.now() - held.claimed_at > STALE_CLAIM,
                Hold::Loose => true,
            };
            if !free {
                return Err(sku_taken(sku));
            }
        }
        match catalog
            .store
            .replace(SKUS, &key, &key, to_body(&claim)?, Some(&existing.etag))
            .await
        {
            Ok(_) => {
                if held.product_id != *product {
                    tracing::info!(%sku, from = %held.product_id, "took over a SKU claim its product no longer holds");
                }
                return Ok(());
            }
            Err(StoreError::PreconditionFailed | StoreError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(sku_taken(sku))
}

/// Gives `sku` back if `product`'s claim on it no longer binds: the product
/// is deleted or holds another SKU (and no write of it is pending), or, with
/// `abandoned`, the caller created the claim and knows its product will never
/// be written. Conditional on the claim as read, so a change that re-stamped
/// it meanwhile keeps it.
async fn release_sku(
    catalog: &Catalog,
    sku: &Sku,
    product: &ProductId,
    abandoned: bool,
) -> Result<(), ApiError> {
    let key = sku_key(sku);
    let Some(doc) = catalog.store.read(SKUS, &key, &key).await? else {
        return Ok(());
    };
    let claim: SkuClaim = doc.parse()?;
    if claim.product_id != *product {
        return Ok(());
    }
    let holder = holder_of(catalog, &claim).await?;
    let release = match hold(&claim, &key, holder.as_ref()) {
        Hold::Loose => true,
        Hold::Pending => abandoned && holder.is_none(),
        Hold::Bound => false,
    };
    if !release {
        return Ok(());
    }
    match catalog
        .store
        .delete(SKUS, &key, &key, Some(&doc.etag))
        .await
    {
        Ok(()) | Err(StoreError::NotFound | StoreError::PreconditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Adds `delta` to a category's product count (creating the category on first
/// use), with ETag retry.
async fn count_in_category(
    catalog: &Catalog,
    category: &CategorySlug,
    name: Option<&str>,
    delta: i64,
) -> Result<(), StoreError> {
    change_category(catalog, category, name, |count| (count + delta).max(0)).await?;
    Ok(())
}

/// Sets a category's product count to `count(current)` and, when given, its
/// name, creating the category (named `name` or after its slug) if absent;
/// a category already so is left unwritten. A written one is shown in the
/// read model at once.
async fn change_category(
    catalog: &Catalog,
    category: &CategorySlug,
    name: Option<&str>,
    count: impl Fn(i64) -> i64,
) -> Result<store::Written<CategoryDoc>, StoreError> {
    let now = micros(catalog.clock.now());
    let written = store::update(
        &*catalog.store,
        CATEGORIES,
        category.as_str(),
        category.as_str(),
        |current: Option<CategoryDoc>| {
            let mut doc = match current {
                Some(doc)
                    if doc.product_count == count(doc.product_count)
                        && name.is_none_or(|n| n == doc.name) =>
                {
                    return Ok::<_, StoreError>(Change::Keep);
                }
                Some(doc) => doc,
                None => CategoryDoc {
                    category_id: category.clone(),
                    name: name.map_or_else(|| category.title(), str::to_owned),
                    product_count: 0,
                    version: 0,
                    modified_at: now,
                },
            };
            doc.product_count = count(doc.product_count);
            if let Some(name) = name {
                doc.name = name.to_owned();
            }
            doc.version += 1;
            doc.modified_at = now;
            Ok(Change::Write(doc))
        },
    )
    .await?;
    if written.outcome() != store::Outcome::Unchanged {
        if let Some(doc) = written.value() {
            catalog.read_model.apply_category(doc);
        }
    }
    Ok(written)
}

/// Creates (or renames) a category ahead of its products, e.g. for the demo catalog.
///
/// # Errors
/// The store's error.
pub async fn ensure_category(
    catalog: &Catalog,
    category: &CategorySlug,
    name: &str,
) -> Result<(), ApiError> {
    Ok(count_in_category(catalog, category, Some(name), 0).await?)
}

/// Adds `delta` to a category's product count (for bulk loads that counted
/// their products themselves).
///
/// # Errors
/// The store's error.
pub async fn adjust_category(
    catalog: &Catalog,
    category: &CategorySlug,
    delta: i64,
) -> Result<(), ApiError> {
    Ok(count_in_category(catalog, category, None, delta).await?)
}

/// Creates a product with its stock, and counts it in its category.
///
/// # Errors
/// 409 when the SKU is taken; the store's error.
pub async fn create(catalog: &Catalog, new: NewProduct) -> Result<ProductDetail, ApiError> {
    let product = create_uncounted(catalog, new).await?;
    if let Ok(category) = CategorySlug::parse(&product.summary.category) {
        if let Err(e) = count_in_category(catalog, &category, None, 1).await {
            tracing::warn!(error = %e, %category, "category count not updated");
        }
    }
    Ok(product)
}

/// Creates a product with its stock without counting it in its category (the
/// caller adjusts counts in bulk with [`adjust_category`]).
///
/// # Errors
/// 409 when the SKU is taken; the store's error.
pub async fn create_uncounted(
    catalog: &Catalog,
    new: NewProduct,
) -> Result<ProductDetail, ApiError> {
    let id = ProductId::generate();
    claim_sku(catalog, &new.sku, &id, 1).await?;
    let now = catalog.clock.now();
    let doc = ProductDoc {
        product_id: id.clone(),
        image_set: Vec::new(),
        search_text: ProductDoc::search_text_of(&new.name, &new.description),
        sku: new.sku,
        name: new.name,
        description: new.description,
        category: new.category,
        unit_price: new.price.minor(),
        currency: new.price.currency(),
        images: new.images,
        created_at: now,
        updated_at: now,
        deleted: false,
        version: 1,
        modified_at: micros(now),
    };
    // The stock first: alone it is harmless (no product points at it), while
    // a product without stock would answer 404 on its inventory route.
    let level = match inventory::create_stock(&catalog.inventory, &id, new.stock).await {
        Ok(level) => level,
        Err(e) => {
            undo_create(catalog, &doc, false).await;
            return Err(e.into());
        }
    };
    if let Err(e) = async {
        catalog
            .store
            .create(PRODUCTS, id.as_str(), id.as_str(), to_body(&doc)?)
            .await
    }
    .await
    {
        undo_create(catalog, &doc, true).await;
        return Err(e.into());
    }
    catalog.read_model.apply_product(&doc);
    Ok(ProductDetail::of(
        &doc,
        RatingSummary::default(),
        level.available,
    ))
}

/// Takes back what a failed create wrote: the product (when its write may
/// have landed although it failed), the stock, then the SKU claim. Each step
/// is best effort; whatever stays behind is harmless (a lone stock document,
/// a claim that lapses after [`STALE_CLAIM`]).
async fn undo_create(catalog: &Catalog, doc: &ProductDoc, product_written: bool) {
    let id = doc.product_id.as_str();
    if product_written {
        match catalog.store.delete(PRODUCTS, id, id, None).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => {
                tracing::warn!(error = %e, product = %id, "could not remove the product of a failed create");
                return;
            }
        }
    }
    if let Err(e) = inventory::remove_stock(&catalog.inventory, &doc.product_id).await {
        tracing::warn!(error = %e, product = %id, "could not remove the stock of a failed create");
    }
    if let Err(e) = release_sku(catalog, &doc.sku, &doc.product_id, true).await {
        tracing::warn!(error = %e, sku = %doc.sku, "could not release the SKU of a failed create");
    }
}

/// A live product as the store has it (for callers that must not read a
/// possibly stale copy, and for products this process has not seen yet).
///
/// # Errors
/// 404 when unknown or deleted; the store's error.
pub async fn read_live(
    catalog: &Catalog,
    id: &ProductId,
) -> Result<(ProductDoc, Document), ApiError> {
    let doc = catalog
        .store
        .read(PRODUCTS, id.as_str(), id.as_str())
        .await?
        .ok_or_else(not_found)?;
    let product: ProductDoc = doc.parse()?;
    if product.deleted {
        return Err(not_found());
    }
    Ok((product, doc))
}

/// A live product with its rating and availability: from the read model, or
/// from the store when this process has not seen it yet.
///
/// # Errors
/// 404 when unknown or deleted; the store's error.
pub async fn get(catalog: &Catalog, id: &ProductId) -> Result<ProductDetail, ApiError> {
    if let Some(found) = catalog.read_model.get(id).await? {
        return Ok(found);
    }
    let (product, _) = read_live(catalog, id).await?;
    let level = inventory::level(&catalog.inventory, id).await;
    let available = match level {
        Ok(l) => l.available,
        Err(inventory::InventoryError::UnknownProduct) => 0,
        Err(e) => return Err(e.into()),
    };
    catalog.read_model.apply_product(&product);
    let rating = catalog.read_model.rating_of(id);
    Ok(ProductDetail::of(&product, rating, available))
}

/// [`get`] for a product page: a product found counts as viewed by `visitor`
/// in analytics (a push into a buffer: never waits, never fails).
///
/// # Errors
/// As [`get`].
pub async fn view(
    catalog: &Catalog,
    id: &ProductId,
    visitor: crate::analytics::Visitor,
) -> Result<ProductDetail, ApiError> {
    let product = get(catalog, id).await?;
    catalog.tracker.viewed(id, visitor);
    Ok(product)
}

/// Whether a live product exists (read model first, then the store).
///
/// # Errors
/// The store's error.
pub async fn exists(catalog: &Catalog, id: &ProductId) -> Result<bool, ApiError> {
    if catalog.read_model.product(id).await?.is_some() {
        return Ok(true);
    }
    match read_live(catalog, id).await {
        Ok(_) => Ok(true),
        Err(ApiError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Applies `changes` to `old`, as version `old.version + 1` written at `now`.
fn changed(old: &ProductDoc, changes: &ProductChanges, now: DateTime<Utc>) -> ProductDoc {
    let mut new = old.clone();
    if let Some(sku) = &changes.sku {
        new.sku = sku.clone();
    }
    if let Some(name) = &changes.name {
        new.name = name.clone();
    }
    if let Some(description) = &changes.description {
        new.description = description.clone();
    }
    if let Some(category) = &changes.category {
        new.category = category.clone();
    }
    if let Some(price) = changes.unit_price {
        new.unit_price = price;
    }
    if let Some(currency) = changes.currency {
        new.currency = currency;
    }
    if let Some(images) = &changes.images {
        new.images = images.clone();
    }
    new.search_text = ProductDoc::search_text_of(&new.name, &new.description);
    new.updated_at = now;
    new.version = old.version + 1;
    new.modified_at = micros(now);
    new
}

/// One attempt at a change: read the product, claim a new SKU for the version
/// about to be written, write it on the ETag read. `None` when another writer
/// got there first (the caller starts again from the read).
async fn try_update(
    catalog: &Catalog,
    id: &ProductId,
    changes: &ProductChanges,
    claimed: &mut Option<Sku>,
) -> Result<Option<(ProductDoc, ProductDoc)>, ApiError> {
    let (old, doc) = read_live(catalog, id).await?;
    let new = changed(&old, changes, catalog.clock.now());
    // A change of case only keeps the claim the product already holds.
    if sku_key(&new.sku) != sku_key(&old.sku) {
        claim_sku(catalog, &new.sku, id, new.version).await?;
        *claimed = Some(new.sku.clone());
    }
    match catalog
        .store
        .replace(
            PRODUCTS,
            id.as_str(),
            id.as_str(),
            to_body(&new)?,
            Some(&doc.etag),
        )
        .await
    {
        Ok(_) => Ok(Some((old, new))),
        Err(StoreError::PreconditionFailed | StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Applies changes to a live product.
///
/// # Errors
/// 404 when unknown or deleted; 409 when a new SKU is taken; the store's error.
pub async fn update(
    catalog: &Catalog,
    id: &ProductId,
    changes: ProductChanges,
) -> Result<ProductDetail, ApiError> {
    let policy = RetryPolicy::DEFAULT;
    let mut claimed: Option<Sku> = None;
    let mut lost = 0;
    let result = loop {
        let started = std::time::Instant::now();
        match try_update(catalog, id, &changes, &mut claimed).await {
            Ok(Some(written)) => break Ok(written),
            Ok(None) if lost + 1 < policy.max_attempts => {
                lost += 1;
                policy.wait(lost, started.elapsed()).await;
            }
            Ok(None) => {
                break Err(ApiError::from(StoreError::Unavailable(
                    "too much contention on a product".into(),
                )))
            }
            Err(e) => break Err(e),
        }
    };
    let (before, after) = match result {
        Ok(written) => written,
        Err(e) => {
            if let Some(sku) = &claimed {
                if let Err(undo) = release_sku(catalog, sku, id, false).await {
                    tracing::warn!(error = %undo, sku = %sku, "could not release the SKU of a failed update");
                }
            }
            return Err(e);
        }
    };
    catalog.read_model.apply_product(&after);
    let earlier = claimed.iter().chain([&before.sku]);
    for sku in earlier.filter(|s| sku_key(s) != sku_key(&after.sku)) {
        if let Err(e) = release_sku(catalog, sku, id, false).await {
            tracing::warn!(error = %e, sku = %sku, "old SKU not released");
        }
    }
    if before.category != after.category {
        for (category, delta) in [(&before.category, -1), (&after.category, 1)] {
            if let Err(e) = count_in_category(catalog, category, None, delta).await {
                tracing::warn!(error = %e, %category, "category count not updated");
            }
        }
    }
    get(catalog, id).await
}

/// A live product's stock level, read from the store; a live product without
/// a stock document (see [`set_stock`]) has none on hand.
///
/// # Errors
/// 404 when unknown or deleted; the store's error.
pub async fn stock_level(
    catalog: &Catalog,
    id: &ProductId,
) -> Result<inventory::StockLevel, ApiError> {
    read_live(catalog, id).await?;
    match inventory::level(&catalog.inventory, id).await {
        Err(inventory::InventoryError::UnknownProduct) => Ok(inventory::StockLevel {
            stock: 0,
            reserved: 0,
            available: 0,
        }),
        level => Ok(level?),
    }
}

/// Sets a live product's units on hand; a product whose stock document is
/// missing (written by a create that died before its stock, in older code)
/// gets one now.
///
/// # Errors
/// 404 when unknown or deleted; 409 below what is reserved; the store's error.
pub async fn set_stock(
    catalog: &Catalog,
    id: &ProductId,
    stock: Stock,
) -> Result<inventory::StockLevel, ApiError> {
    read_live(catalog, id).await?;
    match inventory::set_stock(&catalog.inventory, id, stock).await {
        Err(inventory::InventoryError::UnknownProduct) => {}
        done => return Ok(done?),
    }
    tracing::warn!(product = %id, "a live product had no stock document; creating it");
    match inventory::create_stock(&catalog.inventory, id, stock).await {
        Err(inventory::InventoryError::Store(StoreError::Conflict)) => {
            Ok(inventory::set_stock(&catalog.inventory, id, stock).await?)
        }
        created => Ok(created?),
    }
}

/// Recounts every category's live products from the products themselves and
/// rewrites the counts that drifted (a step that died between a product's
/// write and its count); returns how many were corrected. A category with a
/// product written less than [`STALE_CLAIM`] ago is left for the next run:
/// that write's own count may still be on its way.
///
/// # Errors
/// The store's error.
pub async fn reconcile_categories(catalog: &Catalog) -> Result<usize, ApiError> {
    let settled_before = micros(catalog.clock.now() - STALE_CLAIM);
    let mut counted: HashMap<CategorySlug, i64> = HashMap::new();
    let mut unsettled: HashSet<CategorySlug> = HashSet::new();
    let mut query = Query::new(PRODUCTS).limit(500);
    loop {
        let page = catalog.store.query(&query).await?;
        for doc in &page.items {
            let product: ProductDoc = doc.parse()?;
            if product.modified_at > settled_before {
                unsettled.insert(product.category.clone());
            }
            let n = counted.entry(product.category).or_insert(0);
            if !product.deleted {
                *n += 1;
            }
        }
        match page.continuation {
            Some(token) => query = query.continuation(Some(token)),
            None => break,
        }
    }
    let mut query = Query::new(CATEGORIES).limit(500);
    loop {
        let page = catalog.store.query(&query).await?;
        for doc in &page.items {
            let category: CategoryDoc = doc.parse()?;
            counted.entry(category.category_id).or_insert(0);
        }
        match page.continuation {
            Some(token) => query = query.continuation(Some(token)),
            None => break,
        }
    }
    let mut corrected = 0;
    for (category, count) in counted {
        if unsettled.contains(&category) {
            continue;
        }
        let written = change_category(catalog, &category, None, |_| count).await?;
        if written.outcome() != store::Outcome::Unchanged {
            corrected += 1;
            tracing::warn!(%category, count, "category count corrected");
        }
    }
    Ok(corrected)
}

/// Changes live product `id` in one read-modify-write: `change` edits it and
/// answers whether to write (false leaves it as it is); a written product is
/// stamped (`updated_at`, `version`, `modified_at`) and shown in the read
/// model at once. Returns the product as stored afterwards.
///
/// # Errors
/// 404 when unknown or deleted; `change`'s error; the store's error.
pub(super) async fn change_live(
    catalog: &Catalog,
    id: &ProductId,
    mut change: impl FnMut(&mut ProductDoc) -> Result<bool, ApiError>,
) -> Result<Option<ProductDoc>, ApiError> {
    let now = catalog.clock.now();
    let written = store::update(
        &*catalog.store,
        PRODUCTS,
        id.as_str(),
        id.as_str(),
        |doc: Option<ProductDoc>| {
            let mut product = doc.filter(|p| !p.deleted).ok_or_else(not_found)?;
            if !change(&mut product)? {
                return Ok::<_, ApiError>(Change::Keep);
            }
            product.updated_at = now;
            product.version += 1;
            product.modified_at = micros(now);
            Ok(Change::Write(product))
        },
    )
    .await?;
    let product = written.into_value();
    if let Some(product) = &product {
        catalog.read_model.apply_product(product);
    }
    Ok(product)
}

/// Soft-deletes a product: it leaves listings, lookups and carts, its document
/// stays for old orders, and its SKU becomes free.
///
/// # Errors
/// 404 when unknown or already deleted; the store's error.
pub async fn delete(catalog: &Catalog, id: &ProductId) -> Result<(), ApiError> {
    let product = change_live(catalog, id, |product| {
        product.deleted = true;
        Ok(true)
    })
    .await?
    .ok_or_else(|| ApiError::internal(StoreError::Internal("the delete wrote nothing".into())))?;
    // Best effort: a blob left behind is unreferenced, never shown.
    for image in &product.image_set {
        super::images::delete_blobs(&catalog.blobs, &image.keys).await;
    }
    if let Err(e) = release_sku(catalog, &product.sku, id, false).await {
        tracing::warn!(error = %e, sku = %product.sku, "SKU of a deleted product not released");
    }
    if let Err(e) = count_in_category(catalog, &product.category, None, -1).await {
        tracing::warn!(error = %e, category = %product.category, "category count not updated");
    }
    Ok(())
}
