//! What the products service stores and what it answers: the stored documents
//! (with the `version` every catalog document carries, so a read model
//! following the change feed never lets an older copy replace a newer one)
//! and the response shapes of the contract.

use chrono::{DateTime, Utc};
use jojomart_shared::domain::{
    CategorySlug, Currency, Description, ImageUrl, ProductId, ProductName, Sku,
};
use jojomart_shared::store::Container;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Container of product documents (partition `productId`, id = product id).
pub const PRODUCTS: &Container = &Container::new("products", "productId");
/// Container of SKU claims (partition and id = [`sku_key`] of the SKU).
pub const SKUS: &Container = &Container::new("skus", "sku");

/// The partition key and id of a SKU's claim: the SKU upper-cased, so that
/// `tee-1` and `TEE-1` claim one document, with every character but
/// `A-Z 0-9 - _` written as `~` and two hex digits (`/` → `~2F`, `.` → `~2E`).
///
/// Cosmos DB forbids `/` in ids, and an id of `.` or `..` would be eaten by
/// path normalisation; `~` never occurs in a SKU, so no two SKUs share a key.
/// A SKU of the old `[A-Z0-9-]` rule is its own key, so claims made before
/// this rule still hold.
pub fn sku_key(sku: &Sku) -> String {
    let mut key = String::with_capacity(sku.as_str().len());
    for c in sku.folded().chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            key.push(c);
        } else {
            key.push_str(&format!("~{:02X}", u32::from(c)));
        }
    }
    key
}
/// Container of category documents with their product counts (partition and id = slug).
pub const CATEGORIES: &Container = &Container::new("categories", "categoryId");

/// A product as stored. Soft-deleted products keep their document (old orders
/// point at them) with `deleted` set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductDoc {
    /// The id (also the partition key).
    pub product_id: ProductId,
    /// The SKU, unique among live products (claimed in `skus`).
    pub sku: Sku,
    /// The display name.
    pub name: ProductName,
    /// The description.
    pub description: Description,
    /// The category slug.
    pub category: CategorySlug,
    /// The price in minor units of `currency`.
    pub unit_price: i64,
    /// The price's currency.
    pub currency: Currency,
    /// Image URLs, first is the main one.
    pub images: Vec<ImageUrl>,
    /// Uploaded images with their variants (what `POST .../images` added);
    /// their large variants follow `images` in the product's listed URLs.
    #[serde(default)]
    pub image_set: Vec<StoredImage>,
    /// Lower-cased `name + "\n" + description`: what `q` searches.
    pub search_text: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Soft-deleted: gone from listings and lookups, kept for old orders.
    #[serde(default)]
    pub deleted: bool,
    /// Bumped on every write; read models keep the highest they have seen.
    pub version: u64,
    /// Microseconds since the epoch of the last write (a record only: read
    /// models follow the change feed, which orders writes by commit).
    pub modified_at: i64,
}

impl ProductDoc {
    /// The lower-cased text `q` is matched against.
    pub fn search_text_of(name: &ProductName, description: &Description) -> String {
        format!("{}\n{}", name.as_str(), description.as_str()).to_lowercase()
    }

    /// How much of `search_text` is the name (the part before the newline).
    pub fn name_part(&self) -> &str {
        self.search_text.split('\n').next().unwrap_or_default()
    }
}

/// An uploaded image's WebP variants, by longest side (160, 640, 1280 px, never upscaled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageVariants {
    /// At most 160 px on its longest side.
    pub thumbnail: String,
    /// At most 640 px.
    pub medium: String,
    /// At most 1280 px (the URL the product's `images` lists).
    pub large: String,
}

/// An uploaded image, as `POST /api/products/{id}/images` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductImage {
    /// The image id (`img_` and the start of the original's SHA-256).
    pub id: String,
    /// The URL listed in the product's `images` (the large variant).
    pub url: String,
    /// The original's width in pixels.
    pub width: u32,
    /// The original's height in pixels.
    pub height: u32,
    /// The variants' URLs.
    pub variants: ImageVariants,
}

/// An uploaded image as stored: what is shown, and the blob keys to delete with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredImage {
    /// What is shown.
    #[serde(flatten)]
    pub image: ProductImage,
    /// Its blobs' keys.
    pub keys: Vec<String>,
}

/// A SKU claim: the document whose create-if-absent makes SKUs unique.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuClaim {
    /// The claimed [`sku_key`] (partition key and id; the store writes it here).
    pub sku: String,
    /// The product holding it.
    pub product_id: ProductId,
    /// When it was claimed (a claim whose product never appeared is reclaimed after a while).
    pub claimed_at: DateTime<Utc>,
    /// The product `version` whose write the claim was made for: until the
    /// product reaches it, the claim is pending (the write may still land);
    /// from then on it binds only while the product holds this SKU. Claims
    /// made before this field read as 0: bound by the SKU alone.
    #[serde(default)]
    pub for_version: u64,
}

/// A category and how many live products it has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryDoc {
    /// The slug (partition key and id).
    pub category_id: CategorySlug,
    /// The display name.
    pub name: String,
    /// Live products in it.
    pub product_count: i64,
    /// Bumped on every write.
    pub version: u64,
    /// Microseconds since the epoch of the last write.
    pub modified_at: i64,
}

/// A product's star rating summary.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RatingSummary {
    /// The mean of the ratings (0 when there are none), exact to `f64`.
    pub average: f64,
    /// How many reviews.
    pub count: u64,
}

impl RatingSummary {
    /// The summary of `count` ratings adding up to `sum`.
    pub fn of(sum: u64, count: u64) -> Self {
        let average = if count == 0 {
            0.0
        } else {
            sum as f64 / count as f64
        };
        Self { average, count }
    }
}

/// A product in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary {
    /// The id.
    pub id: String,
    /// The SKU.
    pub sku: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: String,
    /// The category slug.
    pub category: String,
    /// Price in minor units.
    pub unit_price: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Image URLs.
    pub images: Vec<String>,
    /// Rating summary.
    pub rating: RatingSummary,
    /// Whether any unit is available (stock not reserved).
    pub in_stock: bool,
}

/// One product with its availability: the listing fields and a few more.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDetail {
    /// The fields a listing shows.
    #[serde(flatten)]
    pub summary: ProductSummary,
    /// Units in stock and not reserved.
    pub available: i64,
    /// Uploaded images with their variants.
    pub image_set: Vec<ProductImage>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ProductSummary {
    /// The listing shape of a product.
    pub fn of(doc: &ProductDoc, rating: RatingSummary, available: i64) -> Self {
        Self {
            id: doc.product_id.as_str().to_owned(),
            sku: doc.sku.as_str().to_owned(),
            name: doc.name.as_str().to_owned(),
            description: doc.description.as_str().to_owned(),
            category: doc.category.as_str().to_owned(),
            unit_price: doc.unit_price,
            currency: doc.currency.as_str().to_owned(),
            images: doc
                .images
                .iter()
                .map(|i| i.as_str().to_owned())
                .chain(doc.image_set.iter().map(|i| i.image.url.clone()))
                .collect(),
            rating,
            in_stock: available > 0,
        }
    }
}

impl ProductDetail {
    /// The detail shape of a product.
    pub fn of(doc: &ProductDoc, rating: RatingSummary, available: i64) -> Self {
        Self {
            summary: ProductSummary::of(doc, rating, available),
            available,
            image_set: doc.image_set.iter().map(|i| i.image.clone()).collect(),
            created_at: doc.created_at,
            updated_at: doc.updated_at,
        }
    }
}

/// A category in `GET /api/categories`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    /// The slug (what `?category=` takes).
    pub id: String,
    /// The display name.
    pub name: String,
    /// Live products in it.
    pub product_count: i64,
}

/// A page of products.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    /// This page's products.
    pub items: Vec<ProductSummary>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Microseconds since the epoch, the unit of `modifiedAt`.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A product's review totals as the service that keeps them publishes them:
/// exact integers, and a version that grows with every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatingTotals {
    /// How many reviews.
    pub count: u64,
    /// The sum of their stars.
    pub sum: u64,
    /// Bumped on every change, so an older copy never replaces a newer one.
    pub version: u64,
}
