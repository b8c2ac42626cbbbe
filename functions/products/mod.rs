//! The products service: catalog, search and inventory.
//!
//! - [`service`] creates, changes and soft-deletes products (SKU claims,
//!   category counts); [`inventory`] holds stock and the reservation API that
//!   checkout calls; [`read_model`] is the in-memory catalog that serves
//!   listing, search and product reads; [`seed`] fills a store with a demo or
//!   benchmark catalog; [`model`] has the stored and returned shapes.
//! - It reports product reads to analytics ([`crate::analytics::Tracker`],
//!   which never waits or fails).
//! - One file per function: `list-products`, `get-product`, `list-categories`,
//!   `create-product`, `update-product`, `delete-product`, `get-inventory`, `set-inventory`,
//!   `upload-product-image`, `delete-product-image` ([`images`]), and
//!   the `release-reservations` and `reconcile-categories` timers.

mod create_product;
mod delete_image;
mod delete_product;
mod get_inventory;
mod get_product;
pub mod images;
pub mod inventory;
mod list_categories;
mod list_products;
pub mod model;
pub mod read_model;
mod reconcile_categories;
mod release_reservations;
pub mod seed;
pub mod service;
mod set_inventory;
mod update_product;
mod upload_image;

use std::sync::Arc;

use jojomart_shared::{clock::SharedClock, domain::Invalid, error::FieldError, store::SharedStore};

use crate::{
    analytics::Tracker,
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
};
use read_model::{CatalogReadModel, RatingFeed};

/// The schedule of `release-reservations`: every minute.
pub const RELEASE_SCHEDULE: &str = "0 * * * * *";
/// The schedule of `reconcile-categories`: every 15 minutes.
pub const RECONCILE_CATEGORIES_SCHEDULE: &str = "0 */15 * * * *";

/// What the catalog's functions work with: products, SKUs, categories, the
/// read model that serves listings, and the inventory they create stock in.
#[derive(Debug, Clone)]
pub struct Catalog {
    store: SharedStore,
    clock: SharedClock,
    read_model: CatalogReadModel,
    inventory: Inventory,
    tracker: Tracker,
    blobs: jojomart_shared::blob::SharedBlobs,
}
crate::service_handle!(Catalog);

impl Catalog {
    /// The read model (listing, search, product reads).
    pub fn read_model(&self) -> &CatalogReadModel {
        &self.read_model
    }

    /// Tells the catalog that ratings changed: it reads the ratings feed now,
    /// so the change shows in this process's next read.
    pub async fn ratings_changed(&self) {
        self.read_model.catch_up_ratings().await;
    }

    /// Lets the read model follow `feed` for product ratings (the reviews
    /// service hands it over at startup; the catalog never calls reviews).
    pub fn follow_ratings(&self, feed: Arc<dyn RatingFeed>) {
        self.read_model.follow_ratings(feed);
    }
}

/// What stock and reservations work with: the `inventory` container and the
/// read model's availability figures.
#[derive(Debug, Clone)]
pub struct Inventory {
    store: SharedStore,
    clock: SharedClock,
    read_model: CatalogReadModel,
}
crate::service_handle!(Inventory);

/// The products service: catalog, search and inventory.
pub fn service() -> ServiceDef {
    ServiceDef::new("products")
        .containers(&[
            model::PRODUCTS,
            model::SKUS,
            inventory::INVENTORY,
            model::CATEGORIES,
        ])
        .functions(vec![
            FunctionDef::http("list-products", || {
                utoipa_axum::routes!(list_products::list_products)
            }),
            FunctionDef::http("get-product", || {
                utoipa_axum::routes!(get_product::get_product)
            }),
            FunctionDef::http("list-categories", || {
                utoipa_axum::routes!(list_categories::list_categories)
            }),
            FunctionDef::http("create-product", || {
                utoipa_axum::routes!(create_product::create_product)
            }),
            FunctionDef::http("update-product", || {
                utoipa_axum::routes!(update_product::update_product)
            }),
            FunctionDef::http("delete-product", || {
                utoipa_axum::routes!(delete_product::delete_product)
            }),
            FunctionDef::http("upload-product-image", || {
                utoipa_axum::routes!(upload_image::upload_image)
            }),
            FunctionDef::http("delete-product-image", || {
                utoipa_axum::routes!(delete_image::delete_image)
            }),
            FunctionDef::http("get-inventory", || {
                utoipa_axum::routes!(get_inventory::get_inventory)
            }),
            FunctionDef::http("set-inventory", || {
                utoipa_axum::routes!(set_inventory::set_inventory)
            }),
            FunctionDef::timer(
                "release-reservations",
                RELEASE_SCHEDULE,
                release_reservations::release_reservations,
            ),
            FunctionDef::timer(
                "reconcile-categories",
                RECONCILE_CATEGORIES_SCHEDULE,
                reconcile_categories::reconcile_categories,
            ),
        ])
        .start(|cx| Box::pin(start(cx)))
}

async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let (store, clock) = (cx.adapters.store.clone(), cx.adapters.clock.clone());
    let read_model = CatalogReadModel::new(store.clone(), cx.config.catalog_refresh);
    let inventory = Inventory {
        store: store.clone(),
        clock: clock.clone(),
        read_model: read_model.clone(),
    };
    cx.handles.insert(inventory.clone());
    cx.handles.insert(Catalog {
        store,
        clock,
        read_model,
        inventory,
        tracker: cx.require::<Tracker>()?,
        blobs: cx.adapters.blobs.clone(),
    });
    Ok(())
}

/// Keeps a parsed value, or records why `field` is invalid.
pub(crate) fn field<T>(
    name: &str,
    parsed: Result<T, Invalid>,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    parsed
        .map_err(|e| errors.push(FieldError::new(name, e.0)))
        .ok()
}

/// Parses a product id from a path; a malformed one names no product (404).
pub(crate) fn product_id(
    raw: &str,
) -> Result<jojomart_shared::domain::ProductId, jojomart_shared::error::ApiError> {
    jojomart_shared::domain::ProductId::parse(raw)
        .map_err(|_| jojomart_shared::error::ApiError::NotFound("no such product".into()))
}
