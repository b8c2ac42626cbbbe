//! The products service: creating, changing and soft-deleting products, SKU
//! uniqueness, category counts, and reads through the catalog read model.
//!
//! A product spans three partitions (its SKU claim, its document, its stock),
//! so a create is a sequence of single-partition steps: claim the SKU with
//! create-if-absent (the only thing that decides a duplicate: no read-then-write),
//! write the product, write its stock, count it in its category. A failure after
//! the claim gives the claim back; a claim whose product never appeared (the
//! process died in between) is taken over after [`STALE_CLAIM`], one held by a
//! deleted product (whose release failed) at once.

use jojomart_shared::{
    domain::{CategorySlug, Description, ImageUrl, Money, ProductId, ProductName, Sku, Stock},
    error::ApiError,
    store::{self, to_body, Change, Document, StoreError},
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

/// Claims `sku` for `product` with create-if-absent; a claim whose product never
/// appeared and that is older than [`STALE_CLAIM`] is taken over (If-Match).
async fn claim_sku(catalog: &Catalog, sku: &Sku, product: &ProductId) -> Result<(), ApiError> {
    let key = sku_key(sku);
    let claim = SkuClaim {
        sku: key.clone(),
        product_id: product.clone(),
        claimed_at: catalog.clock.now(),
    };
    let body = to_body(&claim)?;
    match catalog.store.create(SKUS, &key, &key, body.clone()).await {
        Ok(_) => return Ok(()),
        Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    let Some(existing) = catalog.store.read(SKUS, &key, &key).await? else {
        // Released in between: try once more, a racing create still decides.
        return match catalog.store.create(SKUS, &key, &key, body).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(sku_taken(sku)),
            Err(e) => Err(e.into()),
        };
    };
    let held: SkuClaim = existing.parse()?;
    // The holder is live: taken. Deleted (its release failed): free now. Never
    // written (its creator died): free once the claim is old enough that no
    // create can still be under way.
    let holder = catalog
        .store
        .read(PRODUCTS, held.product_id.as_str(), held.product_id.as_str())
        .await?;
    let free = match holder {
        Some(doc) => doc.parse::<ProductDoc>()?.deleted,
        None => catalog.clock.now() - held.claimed_at > STALE_CLAIM,
    };
    if !free {
        return Err(sku_taken(sku));
    }
    match catalog
        .store
        .replace(SKUS, &key, &key, body, Some(&existing.etag))
        .await
    {
        Ok(_) => {
            tracing::warn!(%sku, abandoned_by = %held.product_id, "took over a SKU claim whose product never appeared");
            Ok(())
        }
        Err(StoreError::PreconditionFailed | StoreError::NotFound) => Err(sku_taken(sku)),
        Err(e) => Err(e.into()),
    }
}

/// Gives `sku` back if `product` still holds it.
async fn release_sku(catalog: &Catalog, sku: &Sku, product: &ProductId) -> Result<(), StoreError> {
    let key = sku_key(sku);
    let Some(doc) = catalog.store.read(SKUS, &key, &key).await? else {
        return Ok(());
    };
    if doc.parse::<SkuClaim>()?.product_id != *product {
        return Ok(());
    }
    match catalog
        .store
        .delete(SKUS, &key, &key, Some(&doc.etag))
        .await
    {
        Ok(()) | Err(StoreError::NotFound | StoreError::PreconditionFailed) => Ok(()),
        Err(e) => Err(e),
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
    let now = micros(catalog.clock.now());
    let written = store::update(
        &*catalog.store,
        CATEGORIES,
        category.as_str(),
        category.as_str(),
        |current: Option<CategoryDoc>| {
            let mut doc = match current {
                Some(doc) => doc,
                None => CategoryDoc {
                    category_id: category.clone(),
                    name: name.map_or_else(|| category.title(), str::to_owned),
                    product_count: 0,
                    version: 0,
                    modified_at: now,
                },
            };
            doc.product_count = (doc.product_count + delta).max(0);
            if let Some(name) = name {
                doc.name = name.to_owned();
            }
            doc.version += 1;
            doc.modified_at = now;
            Ok::<_, StoreError>(Change::Write(doc))
        },
    )
    .await?;
    if let Some(doc) = written.value() {
        catalog.read_model.apply_category(doc);
    }
    Ok(())
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
    claim_sku(catalog, &new.sku, &id).await?;
    let now = catalog.clock.now();
    let doc = ProductDoc {
        product_id: id.clone(),
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
    let written = async {
        catalog
            .store
            .create(PRODUCTS, id.as_str(), id.as_str(), to_body(&doc)?)
            .await?;
        let level = inventory::create_stock(&catalog.inventory, &id, new.stock).await?;
        Ok::<_, ApiError>(level)
    }
    .await;
    let level = match written {
        Ok(level) => level,
        Err(e) => {
            if let Err(undo) = catalog
                .store
                .delete(PRODUCTS, id.as_str(), id.as_str(), None)
                .await
            {
                tracing::warn!(error = %undo, product = %id, "could not remove the product of a failed create");
            }
            if let Err(undo) = release_sku(catalog, &doc.sku, &id).await {
                tracing::warn!(error = %undo, sku = %doc.sku, "could not release the SKU of a failed create");
            }
            return Err(e);
        }
    };
    catalog.read_model.apply_product(&doc);
    Ok(ProductDetail::of(
        &doc,
        RatingSummary::default(),
        level.available,
    ))
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

/// Applies changes to a live product.
///
/// # Errors
/// 404 when unknown or deleted; 409 when a new SKU is taken; the store's error.
pub async fn update(
    catalog: &Catalog,
    id: &ProductId,
    changes: ProductChanges,
) -> Result<ProductDetail, ApiError> {
    let (current, _) = read_live(catalog, id).await?;
    // A change of case only keeps the claim the product already holds.
    let new_sku = changes
        .sku
        .clone()
        .filter(|s| sku_key(s) != sku_key(&current.sku));
    if let Some(sku) = &new_sku {
        claim_sku(catalog, sku, id).await?;
    }
    let now = catalog.clock.now();
    let mut before: Option<ProductDoc> = None;
    let result = store::update(
        &*catalog.store,
        PRODUCTS,
        id.as_str(),
        id.as_str(),
        |doc: Option<ProductDoc>| {
            let old = doc.ok_or_else(not_found)?;
            if old.deleted {
                return Err(not_found());
            }
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
            before = Some(old);
            Ok(Change::Write(new))
        },
    )
    .await;
    let after = match result {
        Ok(written) => written.into_value(),
        Err(e) => {
            if let Some(sku) = &new_sku {
                if let Err(undo) = release_sku(catalog, sku, id).await {
                    tracing::warn!(error = %undo, sku = %sku, "could not release the SKU of a failed update");
                }
            }
            return Err(e);
        }
    };
    let (Some(before), Some(after)) = (before, after) else {
        return Err(ApiError::internal(StoreError::Internal(
            "the product update wrote nothing".into(),
        )));
    };
    catalog.read_model.apply_product(&after);
    if sku_key(&before.sku) != sku_key(&after.sku) {
        if let Err(e) = release_sku(catalog, &before.sku, id).await {
            tracing::warn!(error = %e, sku = %before.sku, "old SKU not released");
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

/// Soft-deletes a product: it leaves listings, lookups and carts, its document
/// stays for old orders, and its SKU becomes free.
///
/// # Errors
/// 404 when unknown or already deleted; the store's error.
pub async fn delete(catalog: &Catalog, id: &ProductId) -> Result<(), ApiError> {
    let now = catalog.clock.now();
    let written = store::update(
        &*catalog.store,
        PRODUCTS,
        id.as_str(),
        id.as_str(),
        |doc: Option<ProductDoc>| {
            let mut product = doc.ok_or_else(not_found)?;
            if product.deleted {
                return Err(not_found());
            }
            product.deleted = true;
            product.updated_at = now;
            product.version += 1;
            product.modified_at = micros(now);
            Ok::<_, ApiError>(Change::Write(product))
        },
    )
    .await?;
    let Some(product) = written.into_value() else {
        return Err(ApiError::internal(StoreError::Internal(
            "the delete wrote nothing".into(),
        )));
    };
    catalog.read_model.apply_product(&product);
    if let Err(e) = release_sku(catalog, &product.sku, id).await {
        tracing::warn!(error = %e, sku = %product.sku, "SKU of a deleted product not released");
    }
    if let Err(e) = count_in_category(catalog, &product.category, None, -1).await {
        tracing::warn!(error = %e, category = %product.category, "category count not updated");
    }
    Ok(())
}
