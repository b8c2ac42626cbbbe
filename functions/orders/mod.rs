//! The orders service: checkout, the order state machine, and everything that
//! happens to an order after it is placed.
//!
//! - [`checkout`] is `POST /api/orders`: a saga of single-partition steps, each
//!   safe to repeat (claim the idempotency key, write the order, reserve the
//!   stock, charge, mark paid), so a retry or a timer can finish what a crash
//!   interrupted; [`idempotency`] holds the key claims.
//! - [`service`] moves orders through [`model::OrderStatus::transition`] and
//!   does each change's follow-up work (commit or release the reservations,
//!   refund, restock, empty the cart); [`pricing`] is shipping and tax.
//! - Payment news reaches orders from the payments service through the
//!   [`PaymentListener`] orders registers at startup; sign-ups reach it from
//!   auth the same way (guest orders are attached to the new account).
//! - One file per function: `place-order`, `get-order`, `list-orders`,
//!   `manage-orders`, `cancel-order`, `update-order-status`, `refund-order`,
//!   and the `reconcile-orders` timer.

mod cancel_order;
pub mod checkout;
mod get_order;
pub mod idempotency;
mod list_orders;
mod manage_orders;
pub mod model;
mod place_order;
pub mod pricing;
mod reconcile_orders;
mod refund_order;
pub mod service;
mod update_order_status;

use std::sync::Arc;

use chrono::Duration;
use jojomart_shared::{clock::SharedClock, error::ApiError, store::SharedStore};

use crate::{
    auth::Auth,
    cart::Carts,
    outbox::Outbox,
    payments::Payments,
    products::Inventory,
    state::{ServiceStartError, StartContext},
    table::{ExportSection, FunctionDef, ServiceDef},
    users::Users,
};

/// The schedule of `reconcile-orders`: every minute, at second 30 (half a
/// minute after `release-reservations`).
pub const RECONCILE_SCHEDULE: &str = "30 * * * * *";

/// What the orders service works with. It calls cart, payments, inventory,
/// users (address book) and is called by reviews (verified purchases).
#[derive(Debug, Clone)]
pub struct Orders {
    store: SharedStore,
    clock: SharedClock,
    carts: Carts,
    payments: Payments,
    inventory: Inventory,
    users: Users,
    outbox: Outbox,
    /// How long checkout holds stock for an unpaid order.
    reservation_ttl: Duration,
    /// The key guest order tokens are derived from.
    token_key: Arc<Vec<u8>>,
}
crate::service_handle!(Orders);

/// The orders service.
pub fn service() -> ServiceDef {
    ServiceDef::new("orders")
        .containers(&[model::ORDERS])
        .outbox(model::ORDERS)
        .writes(crate::notifications::QUEUE)
        .writes(crate::analytics::QUEUE)
        .functions(vec![
            FunctionDef::http("place-order", || {
                utoipa_axum::routes!(place_order::place_order)
            }),
            FunctionDef::http("list-orders", || {
                utoipa_axum::routes!(list_orders::list_orders)
            }),
            FunctionDef::http("get-order", || utoipa_axum::routes!(get_order::get_order)),
            FunctionDef::http("manage-orders", || {
                utoipa_axum::routes!(manage_orders::manage_orders)
            }),
            FunctionDef::http("cancel-order", || {
                utoipa_axum::routes!(cancel_order::cancel_order)
            }),
            FunctionDef::http("update-order-status", || {
                utoipa_axum::routes!(update_order_status::update_order_status)
            }),
            FunctionDef::http("refund-order", || {
                utoipa_axum::routes!(refund_order::refund_order)
            }),
            FunctionDef::timer(
                "reconcile-orders",
                RECONCILE_SCHEDULE,
                reconcile_orders::reconcile_orders,
            ),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::anonymise(&state.handle::<Orders>(), user).await })
        })
        .export(|state, principal| {
            Box::pin(async move {
                let orders = state.handle::<Orders>();
                let mine = service::all_of(&orders, &principal.user_id).await?;
                Ok(ExportSection {
                    key: "orders",
                    value: serde_json::to_value(mine).map_err(ApiError::internal)?,
                })
            })
        })
}

/// Builds the handle, and registers for payment news and sign-ups.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let token_key = jojomart_shared::store::shared_secret(&*cx.adapters.store, "order-tokens")
        .await
        .map_err(|e| cx.fail(e))?;
    let orders = Orders {
        store: cx.adapters.store.clone(),
        clock: cx.adapters.clock.clone(),
        carts: cx.require::<Carts>()?,
        payments: cx.require::<Payments>()?,
        inventory: cx.require::<Inventory>()?,
        users: cx.require::<Users>()?,
        outbox: cx.require::<Outbox>()?,
        reservation_ttl: Duration::from_std(cx.config.reservation_ttl)
            .unwrap_or(Duration::minutes(15)),
        token_key: Arc::new(token_key),
    };
    orders
        .payments
        .listen(Arc::new(service::PaymentNews(orders.clone())));
    cx.require::<Auth>()?
        .on_sign_in(Arc::new(service::GuestOrders(orders.clone())));
    cx.handles.insert(orders);
    Ok(())
}
