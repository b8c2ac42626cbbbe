//! Checkout (`POST /api/orders`): a saga of single-partition steps, each safe
//! to repeat, so a replay (same `Idempotency-Key`) or the `reconcile-orders`
//! timer can finish whatever a crash interrupted.
//!
//! 1. Claim the key ([`idempotency::claim`]): before any effect; the order id
//!    is chosen here, once, and kept through every retry.
//! 2. Write the order `pending_payment`, priced from the cart now, totals from
//!    [`pricing`]; create-if-absent under that id.
//! 3. Reserve every line, all or nothing; a shortfall deletes the order, gives
//!    the key back and answers 409 naming the products (nothing was charged).
//! 4. Charge through the payment gateway, the order id as its idempotency key,
//!    so a repeated charge is the same charge.
//! 5. Paid: one batch on the order's partition marks it paid, records the
//!    history and stages `order.placed` + `order.paid`; then the reservations
//!    are committed and the lines leave the cart ([`service::mark_paid`]).
//! 6. Declined: `payment_failed`, reservations released, 402 with the reason.
//!    3-D Secure: 201 with `payment.nextAction.redirectUrl`, the stock held
//!    until the reservation lapses; the webhook (or the timer) settles it.
//!
//! `JOJOMART_CRASH_AT=<step>` makes the process kill itself with SIGKILL right
//! after that step (`claimed`, `order-written`, `reserved`, `charged`, `paid`):
//! the crash tests use it; nothing else should.

use std::sync::OnceLock;

use jojomart_shared::{
    auth::Principal,
    domain::{CartId, OrderId, ProductId, Quantity},
    error::ApiError,
    store::StoreError,
};

use super::{
    idempotency::{self, Answer, Claimed},
    model::{
        micros, rfc3339, CartRef, HistoryEntry, OrderDoc, OrderLine, OrderStatus, OrderView,
        PaymentInfo, PaymentStatus, Pending, ShippingAddress, ORDERS,
    },
    pricing,
    service::{self, guest_partition, OrderRef},
    Orders,
};
use crate::{
    cart::{self, CartOwner},
    payments::{self, ChargeOutcome, ChargeRequest},
    products::inventory::{self, InventoryError},
};

/// Who is buying.
#[derive(Debug, Clone)]
pub enum Buyer {
    /// A signed-in customer, checking out their cart.
    User(Principal),
    /// A guest, checking out the anonymous cart `cart` with this email.
    Guest {
        /// The anonymous cart (`X-Cart-Id`).
        cart: CartId,
        /// Where mail about the order goes (lowercased).
        email: String,
    },
}

impl Buyer {
    /// The partition the buyer's idempotency claims live in.
    fn scope(&self) -> String {
        match self {
            Self::User(p) => p.user_id.as_str().into(),
            Self::Guest { cart, .. } => format!("anon-{}", cart.as_str()),
        }
    }

    fn order_partition(&self, order: &OrderId) -> String {
        match self {
            Self::User(p) => p.user_id.as_str().into(),
            Self::Guest { .. } => guest_partition(order),
        }
    }

    fn cart(&self) -> CartOwner {
        match self {
            Self::User(p) => CartOwner::User(p.user_id.clone()),
            Self::Guest { cart, .. } => CartOwner::Anonymous(cart.clone()),
        }
    }
}

/// In a checkout's `returnUrl`, replaced by the order's id (a storefront
/// cannot know the id before it asks; Stripe's Checkout has `{CHECKOUT_SESSION_ID}`).
pub const ORDER_ID_PLACEHOLDER: &str = "{ORDER_ID}";

/// A checkout, parsed.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    /// Where the parcel goes.
    pub shipping_address: ShippingAddress,
    /// The card (a PaymentMethod id, e.g. `pm_card_visa`).
    pub payment_method: String,
    /// Where the gateway returns the shopper after 3-D Secure (with
    /// [`ORDER_ID_PLACEHOLDER`] still in it).
    pub return_url: Option<String>,
    /// The request body's fingerprint (same key, other body → 422).
    pub fingerprint: String,
}

/// Kills the process when `JOJOMART_CRASH_AT` names `step` (crash tests only).
fn crash_point(step: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    let at = AT.get_or_init(|| {
        std::env::var("JOJOMART_CRASH_AT")
            .ok()
            .filter(|s| !s.is_empty())
    });
    if at.as_deref() == Some(step) {
        tracing::error!(step, "JOJOMART_CRASH_AT: killing the process");
        #[cfg(unix)]
        // SAFETY: kill(2) on our own pid with a valid signal number has no
        // memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}

/// Places an order (or answers a replay as the first request was answered).
///
/// # Errors
/// 400 empty cart; 409 out of stock or a line no longer sold (nothing reserved,
/// nothing charged); 402 declined; 422 key reused with another body; the
/// store's and the gateway's errors.
pub async fn place(
    orders: &Orders,
    buyer: Buyer,
    key: &str,
    request: CheckoutRequest,
) -> Result<OrderView, ApiError> {
    let claim = match idempotency::claim(orders, &buyer.scope(), key, &request.fingerprint, |id| {
        buyer.order_partition(id)
    })
    .await?
    {
        Claimed::Done {
            order_id,
            order_partition,
            answer,
        } => {
            let at = OrderRef {
                partition: order_partition,
                id: order_id,
            };
            return answer_again(orders, &buyer, &at, answer).await;
        }
        Claimed::Run(claim) => claim,
    };
    crash_point("claimed");
    let at = OrderRef {
        partition: claim.order_partition().to_owned(),
        id: claim.order_id().clone(),
    };
    let existing = if claim.taken_over() {
        service::read(orders, &at).await?
    } else {
        None // a fresh claim chose a fresh order id
    };
    let (order, fresh) = match existing {
        Some(existing) => (existing, false),
        None => match write_order(orders, &buyer, &at, &request).await {
            Ok(doc) => (doc, true),
            Err(refusal) => {
                idempotency::give_back(orders, claim).await?;
                return Err(refusal);
            }
        },
    };
    crash_point("order-written");
    if order.status != OrderStatus::PendingPayment || order.payment.status != PaymentStatus::Pending
    {
        // A replay taking over after the order moved on (paid, failed, 3-D
        // Secure): answer from where it stands.
        let answer = answer_for(&order);
        idempotency::finish(orders, claim, answer.clone()).await?;
        return answer_again(orders, &buyer, &at, answer).await;
    }
    if let Err(refusal) = reserve(orders, &order).await {
        if !fresh {
            // Taken over after a crash: a charge may have gone through before
            // it. Paid at the gateway → paid here (short lines are refunded by
            // `service::settle`); otherwise the order stays, failed, and a
            // payment that shows up later is refunded (`service::mark_paid`).
            if let Ok(Some(ChargeOutcome::Succeeded { gateway_ref })) =
                payments::service::status(&orders.payments, &order.id).await
            {
                let paid = service::mark_paid(orders, &at, &gateway_ref).await?;
                let answer = answer_for(&paid);
                idempotency::finish(orders, claim, answer.clone()).await?;
                return respond(orders, &buyer, paid, answer);
            }
            let detail = refusal.to_string();
            service::mark_failed(orders, &at, None, "out_of_stock", &detail).await?;
            idempotency::finish(orders, claim, Answer::OutOfStock { detail }).await?;
            return Err(refusal);
        }
        orders
            .store
            .delete(ORDERS, &at.partition, at.id.as_str(), None)
            .await
            .or_else(|e| match e {
                StoreError::NotFound => Ok(()),
                e => Err(e),
            })?;
        idempotency::give_back(orders, claim).await?;
        return Err(refusal);
    }
    crash_point("reserved");
    let charge = ChargeRequest {
        order_id: order.id.clone(),
        amount: order.total,
        currency: order.currency.clone(),
        payment_method: request.payment_method.clone(),
        return_url: order.return_url.clone(),
        email: order.email.clone(),
    };
    let outcome = payments::service::charge(&orders.payments, &charge).await?;
    crash_point("charged");
    let order = match outcome {
        ChargeOutcome::Succeeded { gateway_ref } => {
            let paid = service::mark_paid(orders, &at, &gateway_ref).await?;
            crash_point("paid");
            paid
        }
        ChargeOutcome::RequiresAction {
            gateway_ref,
            redirect_url,
        } => service::mark_requires_action(orders, &at, &gateway_ref, &redirect_url).await?,
        ChargeOutcome::Declined {
            gateway_ref,
            code,
            message,
        } => service::mark_failed(orders, &at, gateway_ref.as_deref(), &code, &message).await?,
        ChargeOutcome::Canceled { gateway_ref } => {
            service::mark_failed(
                orders,
                &at,
                Some(&gateway_ref),
                "canceled",
                "the payment was canceled",
            )
            .await?
        }
    };
    let answer = answer_for(&order);
    idempotency::finish(orders, claim, answer.clone()).await?;
    respond(orders, &buyer, order, answer)
}

/// What a checkout that left `order` as it is answers.
fn answer_for(order: &OrderDoc) -> Answer {
    match order.status {
        OrderStatus::PaymentFailed
            if order.payment.failure_code.as_deref() == Some("out_of_stock") =>
        {
            Answer::OutOfStock {
                detail: order
                    .payment
                    .failure_message
                    .clone()
                    .unwrap_or_else(|| "not enough stock".into()),
            }
        }
        OrderStatus::PaymentFailed => Answer::Declined {
            detail: decline_detail(order),
        },
        _ => Answer::Placed,
    }
}

fn decline_detail(order: &OrderDoc) -> String {
    let code = order.payment.failure_code.as_deref().unwrap_or("declined");
    let message = order
        .payment
        .failure_message
        .as_deref()
        .unwrap_or("the payment was declined");
    format!("{message} ({code})")
}

/// Answers a replay: the same order (as it stands now), or the same refusal.
async fn answer_again(
    orders: &Orders,
    buyer: &Buyer,
    at: &OrderRef,
    answer: Answer,
) -> Result<OrderView, ApiError> {
    let order = match service::read(orders, at).await? {
        Some(doc) => doc,
        // A guest order attached to an account since: find it where it went.
        None => service::locate(orders, &at.id).await?.ok_or_else(|| {
            ApiError::NotFound("the order of this Idempotency-Key is gone".into())
        })?,
    };
    respond(orders, buyer, order, answer)
}

fn respond(
    orders: &Orders,
    buyer: &Buyer,
    order: OrderDoc,
    answer: Answer,
) -> Result<OrderView, ApiError> {
    match answer {
        Answer::Declined { detail } => return Err(ApiError::PaymentRequired(detail)),
        Answer::OutOfStock { detail } => return Err(ApiError::Conflict(detail)),
        Answer::Placed => {}
    }
    let mut view = order.view();
    if let Buyer::Guest { .. } = buyer {
        view.access_token = Some(service::access_token(orders, &order.id));
    }
    Ok(view)
}

/// Step 2: the order, priced from the cart now.
async fn write_order(
    orders: &Orders,
    buyer: &Buyer,
    at: &OrderRef,
    request: &CheckoutRequest,
) -> Result<OrderDoc, ApiError> {
    let cart = cart::for_checkout(&orders.carts, &buyer.cart()).await?;
    if cart.lines.is_empty() {
        return Err(ApiError::invalid_field("cart", "the cart is empty"));
    }
    let gone: Vec<&str> = cart
        .lines
        .iter()
        .filter(|l| !l.available)
        .map(|l| l.name.as_str())
        .collect();
    if !gone.is_empty() {
        return Err(ApiError::Conflict(format!(
            "no longer sold: {}; remove them from the cart",
            gone.join(", ")
        )));
    }
    let currency = cart
        .currency
        .clone()
        .or_else(|| cart.lines.first().map(|l| l.currency.clone()))
        .unwrap_or_else(|| "EUR".into());
    let items: Vec<OrderLine> = cart
        .lines
        .iter()
        .map(|l| OrderLine {
            product_id: l.product_id.clone(),
            name: l.name.clone(),
            unit_price: l.unit_price,
            quantity: l.quantity.get(),
            line_total: l.unit_price * i64::from(l.quantity.get()),
        })
        .collect();
    let subtotal = items.iter().map(|l| l.line_total).sum();
    let totals = pricing::totals(subtotal, &request.shipping_address.country);
    let now = orders.clock.now();
    let (customer_id, email, guest_email, cart_ref) = match buyer {
        Buyer::User(p) => (
            Some(p.user_id.clone()),
            Some(p.email.clone()),
            None,
            CartRef::User(p.user_id.clone()),
        ),
        Buyer::Guest { cart, email } => (
            None,
            Some(email.clone()),
            Some(email.to_ascii_lowercase()),
            CartRef::Anonymous(cart.as_str().into()),
        ),
    };
    let doc = OrderDoc {
        kind: "order".into(),
        id: at.id.clone(),
        user_id: at.partition.clone(),
        customer_id,
        email,
        guest_email,
        status: OrderStatus::PendingPayment,
        items,
        subtotal: totals.subtotal,
        shipping: totals.shipping,
        tax: totals.tax,
        total: totals.total,
        currency,
        shipping_address: request.shipping_address.clone(),
        payment: PaymentInfo {
            status: PaymentStatus::Pending,
            gateway_ref: None,
            next_action: None,
            failure_code: None,
            failure_message: None,
        },
        history: vec![HistoryEntry {
            status: OrderStatus::PendingPayment,
            at: rfc3339(now),
            note: None,
        }],
        tracking_number: None,
        cart: cart_ref,
        payment_method: request.payment_method.clone(),
        return_url: request
            .return_url
            .as_deref()
            .map(|url| url.replace(ORDER_ID_PLACEHOLDER, at.id.as_str())),
        reserved_until_us: micros(now + orders.reservation_ttl),
        pending: Pending::default(),
        needs_work: false,
        created_at: rfc3339(now),
        created_at_us: micros(now),
        version: 1,
    };
    service::write_locator(orders, at).await?;
    let body = jojomart_shared::store::to_body(&doc)?;
    match orders
        .store
        .create(ORDERS, &at.partition, at.id.as_str(), body)
        .await
    {
        Ok(_) => Ok(doc),
        Err(StoreError::Conflict) => service::read(orders, at)
            .await?
            .ok_or_else(|| ApiError::Internal("an order vanished as it was written".into())),
        Err(e) => Err(e.into()),
    }
}

/// Step 3: every line reserved, or none (409 naming each line that is short).
async fn reserve(orders: &Orders, order: &OrderDoc) -> Result<(), ApiError> {
    let lines: Vec<(ProductId, Quantity)> = order
        .items
        .iter()
        .map(|l| {
            Quantity::new(l.quantity.into())
                .map(|q| (l.product_id.clone(), q))
                .map_err(|e| ApiError::Internal(e.0.into()))
        })
        .collect::<Result<_, _>>()?;
    let refused =
        inventory::reserve_all(&orders.inventory, &order.id, &lines, orders.reservation_ttl).await;
    match refused {
        Ok(_) => Ok(()),
        Err(InventoryError::Insufficient { .. } | InventoryError::UnknownProduct) => {
            Err(ApiError::Conflict(short_lines(orders, order, &lines).await))
        }
        Err(e) => Err(e.into()),
    }
}

/// Names every line the shelf cannot fill now, so the shopper fixes the cart once.
async fn short_lines(orders: &Orders, order: &OrderDoc, lines: &[(ProductId, Quantity)]) -> String {
    let mut short = Vec::new();
    for ((product, quantity), line) in lines.iter().zip(&order.items) {
        match inventory::level(&orders.inventory, product).await {
            Ok(level) if level.available < i64::from(quantity.get()) => short.push(format!(
                "{} (only {} available)",
                line.name,
                level.available.max(0)
            )),
            Err(InventoryError::UnknownProduct) => {
                short.push(format!("{} (no longer sold)", line.name));
            }
            _ => {}
        }
    }
    if short.is_empty() {
        // Another checkout held the last units a moment and let them go.
        "not enough stock just now; try again".into()
    } else {
        format!("not enough stock: {}", short.join(", "))
    }
}
