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

use std::sync::Arc;

use jojomart_shared::{clock::SharedClock, store::SharedStore};

use crate::{
    orders::Orders,
    products::Catalog,
    state::{ServiceStartError, StartContext},
    table::{ExportSection, FunctionDef, ServiceDef},
    users::Users,
};
use jojomart_shared::error::ApiError;

/// What the reviews service works with; it calls the catalog (does a product
/// exist), users (display names) and orders (verified purchases), and is
/// called by none of them.
#[derive(Debug, Clone)]
pub struct Reviews {
    store: SharedStore,
    clock: SharedClock,
    catalog: Catalog,
    users: Users,
    orders: Orders,
}
crate::service_handle!(Reviews);

/// The reviews service.
pub fn service() -> ServiceDef {
    ServiceDef::new("reviews")
        .containers(&[service::REVIEWS])
        .functions(vec![
            FunctionDef::http("list-reviews", || {
                utoipa_axum::routes!(list_reviews::list_reviews)
            }),
            FunctionDef::http("create-review", || {
                utoipa_axum::routes!(create_review::create_review)
            }),
            FunctionDef::http("delete-review", || {
                utoipa_axum::routes!(delete_review::delete_review)
            }),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::erase_user(&state.handle::<Reviews>(), user).await })
        })
        .export(|state, principal| {
            Box::pin(async move {
                let reviews = state.handle::<Reviews>();
                let written = service::by_user(&reviews, &principal.user_id).await?;
                Ok(ExportSection {
                    key: "reviews",
                    value: serde_json::to_value(written).map_err(ApiError::internal)?,
                })
            })
        })
}

/// Builds the handle and hands the catalog the ratings feed it follows.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let catalog = cx.require::<Catalog>()?;
    let users = cx.require::<Users>()?;
    let orders = cx.require::<Orders>()?;
    catalog.follow_ratings(Arc::new(service::RatingsPublisher::new(
        cx.adapters.store.clone(),
    )));
    cx.handles.insert(Reviews {
        store: cx.adapters.store.clone(),
        clock: cx.adapters.clock.clone(),
        catalog,
        users,
        orders,
    });
    Ok(())
}
