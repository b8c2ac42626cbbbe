//! The reviews service: one review per user and product, exact rating totals.
//!
//! [`service`] holds the rules; [`purchases`] asks the orders module whether a
//! review is a verified purchase. One file per function: `list-reviews`,
//! `create-review`, `delete-review`.

mod create_review;
mod delete_review;
mod list_reviews;
pub mod purchases;
pub mod service;

use crate::table::FunctionDef;

/// The reviews service's functions.
pub fn functions() -> Vec<FunctionDef> {
    vec![
        FunctionDef::http("list-reviews", || {
            utoipa_axum::routes!(list_reviews::list_reviews)
        }),
        FunctionDef::http("create-review", || {
            utoipa_axum::routes!(create_review::create_review)
        }),
        FunctionDef::http("delete-review", || {
            utoipa_axum::routes!(delete_review::delete_review)
        }),
    ]
}
