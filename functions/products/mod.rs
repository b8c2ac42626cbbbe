//! The products service: catalog, search and inventory.
//!
//! - [`service`] creates, changes and soft-deletes products (SKU claims,
//!   category counts); [`inventory`] holds stock and the reservation API that
//!   checkout calls; [`read_model`] is the in-memory catalog that serves
//!   listing, search and product reads; [`seed`] fills a store with a demo or
//!   benchmark catalog; [`model`] has the stored and returned shapes.
//! - One file per function: `list-products`, `get-product`, `list-categories`,
//!   `create-product`, `update-product`, `delete-product`, `set-inventory`, and
//!   the `release-reservations` timer.

mod create_product;
mod delete_product;
mod get_product;
pub mod inventory;
mod list_categories;
mod list_products;
pub mod model;
pub mod read_model;
mod release_reservations;
pub mod seed;
pub mod service;
mod set_inventory;
mod update_product;

use jojomart_shared::{domain::Invalid, error::FieldError};

use crate::table::FunctionDef;

/// The schedule of `release-reservations`: every minute.
pub const RELEASE_SCHEDULE: &str = "0 * * * * *";

/// The products service's functions.
pub fn functions() -> Vec<FunctionDef> {
    vec![
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
        FunctionDef::http("set-inventory", || {
            utoipa_axum::routes!(set_inventory::set_inventory)
        }),
        FunctionDef::timer(
            "release-reservations",
            RELEASE_SCHEDULE,
            release_reservations::release_reservations,
        ),
    ]
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
