//! What happens to an order after checkout wrote it: every status change goes
//! through [`change`] (one conditional write on the order's partition, with the
//! change's event staged in the outbox in the same batch), then [`settle`] does
//! the follow-up work the change recorded in `pending` (commit or release the
//! reservations, refund, restock, empty the cart) and clears it. Every piece of
//! follow-up work is idempotent, so when the process dies in between, the
//! `reconcile-orders` timer finds the order by its `needsWork` flag and does
//! it again.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use jojomart_shared::{
    auth::Principal,
    domain::{CartId, OrderId, ProductId, Quantity, UserId},
    error::ApiError,
    events::{
        outbox, Event, EventKind, OrderCancelled, OrderDelivered, OrderPaid, OrderPlaced,
        OrderRefunded, OrderShipped,
    },
    store::{query_all, update_in_batch, Change, Filter, Order, Query, StoreError},
    telemetry,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{
    model::{
        micros, CartRef, OrderDoc, OrderPage, OrderStatus, OrderView, PaymentStatus, Pending,
        ORDERS,
    },
    Orders,
};
use crate::{
    auth::{SignInListener, SignedIn},
    cart::{self, CartOwner},
    payments::{self, PaymentEvent, PaymentListener},
    products::inventory::{self, InventoryError, ReservationState},
};

/// Where every order event goes: customer mail and the shop's analytics.
pub const ORDER_EVENT_QUEUES: &[&str] = &[crate::notifications::QUEUE, crate::analytics::QUEUE];

/// Where an order lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRef {
    /// Its partition (the owner's user id, or `guest-<orderId>`).
    pub partition: String,
    /// Its id.
    pub id: OrderId,
}

impl OrderRef {
    /// The address of a stored order.
    pub fn of(doc: &OrderDoc) -> Self {
        Self {
            partition: doc.user_id.clone(),
            id: doc.id.clone(),
        }
    }
}

/// The partition of a guest order.
pub fn guest_partition(order: &OrderId) -> String {
    format!("guest-{}", order.as_str())
}

/// What a status change decided.
pub enum Step {
    /// Nothing to write.
    Keep,
    /// Write the changed order, staging these events with it.
    Write(Vec<Event>),
}

fn no_order() -> ApiError {
    ApiError::NotFound("no such order".into())
}

fn event<P: EventKind>(payload: &P, now: DateTime<Utc>) -> Result<Event, ApiError> {
    Event::new(payload, now).map_err(ApiError::internal)
}

/// The event announcing that `doc` just reached its status.
fn status_event(
    doc: &OrderDoc,
    now: DateTime<Utc>,
    note: Option<String>,
) -> Result<Event, ApiError> {
    let snap = doc.snapshot(note);
    match doc.status {
        OrderStatus::Paid => event(&OrderPaid(snap), now),
        OrderStatus::Shipped => event(&OrderShipped(snap), now),
        OrderStatus::Delivered => event(&OrderDelivered(snap), now),
        OrderStatus::Cancelled => event(&OrderCancelled(snap), now),
        OrderStatus::Refunded => event(&OrderRefunded(snap), now),
        other => Err(ApiError::Internal(
            format!("no event announces an order becoming {other}").into(),
        )),
    }
}

/// Reads an order.
///
/// # Errors
/// The store's error.
pub async fn read(orders: &Orders, at: &OrderRef) -> Result<Option<OrderDoc>, ApiError> {
    match orders
        .store
        .read(ORDERS, &at.partition, at.id.as_str())
        .await?
    {
        Some(doc) => Ok(Some(doc.parse()?)),
        None => Ok(None),
    }
}

/// The partition of an order's locator: where to find an order from its id
/// alone (webhooks, admin routes), without a cross-partition query.
fn locator_partition(order: &OrderId) -> String {
    format!("order-{}", order.as_str())
}

/// The id of the locator document in its partition.
const LOCATOR_ID: &str = "locator";

/// Where an order lives, by id.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Locator {
    kind: String,
    id: String,
    user_id: String,
    order_id: OrderId,
    partition: String,
}

/// Records where `order` lives (written before the order, and again when a
/// guest order moves into an account).
///
/// # Errors
/// The store's error.
pub async fn write_locator(orders: &Orders, at: &OrderRef) -> Result<(), ApiError> {
    let locator = Locator {
        kind: "locator".into(),
        id: LOCATOR_ID.into(),
        user_id: locator_partition(&at.id),
        order_id: at.id.clone(),
        partition: at.partition.clone(),
    };
    let body = jojomart_shared::store::to_body(&locator)?;
    orders
        .store
        .upsert(ORDERS, &locator.user_id, LOCATOR_ID, body)
        .await?;
    Ok(())
}

/// Finds an order by id alone (admin, webhooks, timers): through its locator,
/// or, for an order written without one, a cross-partition query. While a
/// guest order is being attached to an account it exists twice for a moment;
/// the attached copy wins.
///
/// # Errors
/// The store's error.
pub async fn locate(orders: &Orders, id: &OrderId) -> Result<Option<OrderDoc>, ApiError> {
    if let Some(found) = orders
        .store
        .read(ORDERS, &locator_partition(id), LOCATOR_ID)
        .await?
    {
        let locator: Locator = found.parse()?;
        let at = OrderRef {
            partition: locator.partition,
            id: id.clone(),
        };
        if let Some(doc) = read(orders, &at).await? {
            return Ok(Some(doc));
        }
    }
    let query = Query::new(ORDERS)
        .filter(Filter::And(vec![
            Filter::eq("kind", "order"),
            Filter::eq("id", id.as_str()),
        ]))
        .limit(10);
    let found: Vec<OrderDoc> = query_all(orders.store.as_ref(), query).await?;
    Ok(found
        .into_iter()
        .min_by_key(|d| d.user_id.starts_with("guest-")))
}

/// Applies `decide` to the stored order (again on every lost race) and writes
/// what it decided, its events staged in the same batch.
///
/// # Errors
/// 404 when the order does not exist; `decide`'s refusal; the store's error.
pub async fn change(
    orders: &Orders,
    at: &OrderRef,
    mut decide: impl FnMut(&mut OrderDoc) -> Result<Step, ApiError>,
) -> Result<OrderDoc, ApiError> {
    let mut staged_any = false;
    let written = update_in_batch::<OrderDoc, ApiError, _>(
        &*orders.store,
        ORDERS,
        &at.partition,
        at.id.as_str(),
        |current: Option<OrderDoc>| {
            let mut doc = current.ok_or_else(no_order)?;
            match decide(&mut doc)? {
                Step::Keep => Ok((Change::Keep, Vec::new())),
                Step::Write(events) => {
                    let mut ops = Vec::new();
                    for e in &events {
                        ops.extend(
                            outbox::stage(e, ORDER_EVENT_QUEUES).map_err(ApiError::internal)?,
                        );
                    }
                    staged_any = !events.is_empty();
                    doc.version += 1;
                    Ok((Change::Write(doc), ops))
                }
            }
        },
    )
    .await?;
    if staged_any {
        orders.outbox.poke();
    }
    written.into_value().ok_or_else(no_order)
}

/// The payment succeeded: a pending order becomes paid (`order.placed` and
/// `order.paid` staged with it), then its stock is committed and its cart
/// emptied. A payment that arrives for an order already given up
/// (`payment_failed`) is refunded, not kept.
///
/// # Errors
/// The store's error; follow-up failures are left to `reconcile-orders`.
pub async fn mark_paid(
    orders: &Orders,
    at: &OrderRef,
    gateway_ref: &str,
) -> Result<OrderDoc, ApiError> {
    let now = orders.clock.now();
    let mut placed_now = false;
    let doc = change(orders, at, |doc| {
        placed_now = doc.status == OrderStatus::PendingPayment;
        mark_paid_step(doc, now, gateway_ref)
    })
    .await?;
    if placed_now {
        telemetry::count_order_placed();
    }
    Ok(settle(orders, doc).await)
}

/// [`mark_paid`]'s decision.
fn mark_paid_step(
    doc: &mut OrderDoc,
    now: DateTime<Utc>,
    gateway_ref: &str,
) -> Result<Step, ApiError> {
    match doc.status {
        OrderStatus::PendingPayment => {
            doc.move_to(OrderStatus::Paid, now, None)?;
            doc.payment.status = PaymentStatus::Succeeded;
            doc.payment.gateway_ref = Some(gateway_ref.into());
            doc.payment.next_action = None;
            let mut pending = doc.pending.clone();
            pending.fulfil = true;
            doc.set_pending(pending);
            let placed = event(&OrderPlaced(doc.snapshot(None)), now)?;
            let paid = status_event(doc, now, None)?;
            Ok(Step::Write(vec![placed, paid]))
        }
        OrderStatus::PaymentFailed
            if doc.payment.status != PaymentStatus::Refunded && !doc.pending.refund =>
        {
            tracing::warn!(order = %doc.id, "a payment arrived after the order was given up; refunding it");
            doc.payment.gateway_ref = Some(gateway_ref.into());
            doc.payment.failure_message =
                Some("the payment arrived after the order expired and is refunded".into());
            let mut pending = doc.pending.clone();
            pending.refund = true;
            doc.set_pending(pending);
            Ok(Step::Write(Vec::new()))
        }
        _ => Ok(Step::Keep),
    }
}

/// The payment failed (declined, abandoned, expired): a pending order becomes
/// `payment_failed` and its reservations are released. Never moves a paid order back.
///
/// # Errors
/// The store's error.
pub async fn mark_failed(
    orders: &Orders,
    at: &OrderRef,
    gateway_ref: Option<&str>,
    code: &str,
    message: &str,
) -> Result<OrderDoc, ApiError> {
    let now = orders.clock.now();
    let mut failed_now = false;
    let doc = change(orders, at, |doc| {
        failed_now = doc.status == OrderStatus::PendingPayment;
        if !failed_now {
            return Ok(Step::Keep);
        }
        doc.move_to(OrderStatus::PaymentFailed, now, Some(message.to_owned()))?;
        doc.payment.status = PaymentStatus::Failed;
        if let Some(r) = gateway_ref {
            doc.payment.gateway_ref = Some(r.into());
        }
        doc.payment.next_action = None;
        doc.payment.failure_code = Some(code.into());
        doc.payment.failure_message = Some(message.into());
        let mut pending = doc.pending.clone();
        pending.release = true;
        doc.set_pending(pending);
        Ok(Step::Write(Vec::new()))
    })
    .await?;
    // running out of stock is not a payment failing
    if failed_now && code != "out_of_stock" {
        telemetry::count_payment_failure(code);
    }
    Ok(settle(orders, doc).await)
}

/// The gateway asks the shopper to confirm (3-D Secure): the order stays
/// pending, holding its stock, and says where to confirm.
///
/// # Errors
/// The store's error.
pub async fn mark_requires_action(
    orders: &Orders,
    at: &OrderRef,
    gateway_ref: &str,
    redirect_url: &str,
) -> Result<OrderDoc, ApiError> {
    change(orders, at, |doc| {
        if doc.status != OrderStatus::PendingPayment || doc.payment.status != PaymentStatus::Pending
        {
            return Ok(Step::Keep);
        }
        doc.payment.status = PaymentStatus::RequiresAction;
        doc.payment.gateway_ref = Some(gateway_ref.into());
        doc.payment.next_action = Some(super::model::NextAction {
            redirect_url: redirect_url.into(),
        });
        Ok(Step::Write(Vec::new()))
    })
    .await
}

/// Does the follow-up work `doc.pending` records, then clears what was done.
/// Failures are logged and left for `reconcile-orders`; the order as it now
/// stands is returned either way.
pub async fn settle(orders: &Orders, doc: OrderDoc) -> OrderDoc {
    if !doc.needs_work {
        return doc;
    }
    let at = OrderRef::of(&doc);
    let mut done = Pending::default();
    let mut out_of_stock = Vec::new();
    if doc.pending.fulfil {
        match fulfil(orders, &doc).await {
            Ok(short) => {
                out_of_stock = short;
                done.fulfil = true;
            }
            Err(e) => {
                tracing::warn!(order = %doc.id, error = %e, "could not fulfil a paid order yet")
            }
        }
    }
    if doc.pending.release {
        match release_all(orders, &doc).await {
            Ok(()) => done.release = true,
            Err(e) => {
                tracing::warn!(order = %doc.id, error = %e, "could not release reservations yet")
            }
        }
    }
    let mut refunded = false;
    if doc.pending.refund {
        match payments::service::refund(&orders.payments, &doc.id).await {
            Ok(()) => {
                done.refund = true;
                refunded = true;
            }
            Err(e) => tracing::warn!(order = %doc.id, error = %e, "could not refund yet"),
        }
    }
    if doc.pending.restock {
        match restock_all(orders, &doc).await {
            Ok(()) => done.restock = true,
            Err(e) => tracing::warn!(order = %doc.id, error = %e, "could not restock yet"),
        }
    }
    if done == Pending::default() && out_of_stock.is_empty() {
        return doc; // nothing got done: `reconcile-orders` tries again
    }
    let now = orders.clock.now();
    let cleared = change(orders, &at, |current| {
        let mut pending = current.pending.clone();
        pending.fulfil &= !done.fulfil;
        pending.release &= !done.release;
        pending.refund &= !done.refund;
        pending.restock &= !done.restock;
        let mut events = Vec::new();
        if refunded {
            current.payment.status = PaymentStatus::Refunded;
        }
        if !out_of_stock.is_empty() && current.status == OrderStatus::Paid {
            // Paid after its reservation lapsed and the stock sold meanwhile:
            // the customer gets the money back rather than an oversold order.
            let note = format!("out of stock: {}", out_of_stock.join(", "));
            current.move_to(OrderStatus::Refunded, now, Some(note.clone()))?;
            pending.refund = true;
            pending.restock = true;
            events.push(status_event(current, now, Some(note))?);
        }
        current.set_pending(pending);
        Ok(Step::Write(events))
    })
    .await;
    match cleared {
        Ok(doc) if doc.needs_work && !out_of_stock.is_empty() => {
            Box::pin(settle(orders, doc)).await
        }
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(order = %doc.id, error = %e, "could not record the settled work");
            doc
        }
    }
}

fn quantity(units: u32) -> Result<Quantity, ApiError> {
    Quantity::new(units.into()).map_err(|e| ApiError::Internal(e.0.into()))
}

/// Commits every line's reservation (reserving afresh a line whose
/// reservation lapsed) and takes the lines out of the cart. Returns the names
/// of lines that could not be had any more.
async fn fulfil(orders: &Orders, doc: &OrderDoc) -> Result<Vec<String>, ApiError> {
    let mut short = Vec::new();
    for line in &doc.items {
        let committed = inventory::commit(&orders.inventory, &line.product_id, &doc.id).await;
        match committed {
            Ok(_) => {}
            Err(
                InventoryError::AlreadySettled(ReservationState::Released)
                | InventoryError::NoReservation,
            ) => {
                let again = inventory::reserve(
                    &orders.inventory,
                    &line.product_id,
                    &doc.id,
                    quantity(line.quantity)?,
                    orders.reservation_ttl,
                )
                .await;
                match again {
                    Ok(_) => {
                        inventory::commit(&orders.inventory, &line.product_id, &doc.id).await?;
                    }
                    Err(InventoryError::Insufficient { .. } | InventoryError::UnknownProduct) => {
                        short.push(line.name.clone());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(InventoryError::AlreadySettled(ReservationState::Returned)) => {}
            Err(InventoryError::UnknownProduct) => short.push(line.name.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    let lines: Vec<(ProductId, Quantity)> = doc
        .items
        .iter()
        .map(|l| Ok((l.product_id.clone(), quantity(l.quantity)?)))
        .collect::<Result<_, ApiError>>()?;
    cart::remove_ordered(&orders.carts, &cart_owner(&doc.cart)?, &doc.id, &lines).await?;
    Ok(short)
}

/// The cart an order came from.
pub fn cart_owner(cart: &CartRef) -> Result<CartOwner, ApiError> {
    match cart {
        CartRef::User(user) => Ok(CartOwner::User(user.clone())),
        CartRef::Anonymous(id) => CartId::parse(id)
            .map(CartOwner::Anonymous)
            .map_err(|e| ApiError::Internal(e.0.into())),
    }
}

async fn release_all(orders: &Orders, doc: &OrderDoc) -> Result<(), ApiError> {
    for line in &doc.items {
        match inventory::release(&orders.inventory, &line.product_id, &doc.id).await {
            Ok(()) | Err(InventoryError::AlreadySettled(_) | InventoryError::UnknownProduct) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

async fn restock_all(orders: &Orders, doc: &OrderDoc) -> Result<(), ApiError> {
    for line in &doc.items {
        match inventory::restock(&orders.inventory, &line.product_id, &doc.id).await {
            // Held or released: nothing left the shelf for this line.
            Ok(()) | Err(InventoryError::AlreadySettled(_) | InventoryError::UnknownProduct) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Who asks to read an order.
#[derive(Debug, Clone)]
pub enum Reader {
    /// A signed-in caller (the owner, or an admin).
    Caller(Principal),
    /// Whoever holds a guest order's access token.
    Token(String),
}

/// The MAC of an order id under the shop's order-token key.
fn token_mac(orders: &Orders, id: &OrderId) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&orders.token_key).expect("HMAC takes any key length");
    mac.update(id.as_str().as_bytes());
    mac
}

/// A guest order's access token: an HMAC of its id, so it need not be stored
/// and a replayed checkout can return it again.
pub fn access_token(orders: &Orders, id: &OrderId) -> String {
    hex::encode(token_mac(orders, id).finalize().into_bytes())
}

/// True when `token` is `id`'s access token (compared in constant time).
fn token_matches(orders: &Orders, id: &OrderId, token: &str) -> bool {
    hex::decode(token).is_ok_and(|given| token_mac(orders, id).verify_slice(&given).is_ok())
}

/// Reads one order for `reader`: the owner, an admin, or a guest with the
/// order's token; anyone else learns nothing (404).
///
/// # Errors
/// 404; the store's error.
pub async fn get(orders: &Orders, reader: &Reader, raw_id: &str) -> Result<OrderDoc, ApiError> {
    let id = OrderId::parse(raw_id).map_err(|_| no_order())?;
    match reader {
        Reader::Caller(p) => {
            let mine = OrderRef {
                partition: p.user_id.as_str().into(),
                id: id.clone(),
            };
            if let Some(doc) = read(orders, &mine).await? {
                return Ok(doc);
            }
            if p.is_admin() {
                return locate(orders, &id).await?.ok_or_else(no_order);
            }
            Err(no_order())
        }
        Reader::Token(token) if token_matches(orders, &id, token) => {
            locate(orders, &id).await?.ok_or_else(no_order)
        }
        Reader::Token(_) => Err(no_order()),
    }
}

fn page_of(page: jojomart_shared::store::Page) -> Result<OrderPage, ApiError> {
    let items = page
        .items
        .iter()
        .map(|d| d.parse::<OrderDoc>().map(|o| o.view()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OrderPage {
        items,
        next_cursor: page.continuation,
    })
}

/// The caller's orders, newest first.
///
/// # Errors
/// 400 naming `cursor` for a cursor we did not issue; the store's error.
pub async fn list_mine(
    orders: &Orders,
    user: &UserId,
    limit: u32,
    cursor: Option<String>,
) -> Result<OrderPage, ApiError> {
    let query = Query::new(ORDERS)
        .partition(user.as_str())
        .filter(Filter::eq("kind", "order"))
        .sort(Filter::field("createdAtUs"), Order::Desc)
        .limit(limit)
        .continuation(cursor);
    page_of(orders.store.query(&query).await?)
}

/// Every order (admin), newest first, optionally of one status.
///
/// # Errors
/// 400 naming `cursor` for a cursor we did not issue; the store's error.
pub async fn list_all(
    orders: &Orders,
    status: Option<OrderStatus>,
    limit: u32,
    cursor: Option<String>,
) -> Result<OrderPage, ApiError> {
    let mut filters = vec![Filter::eq("kind", "order")];
    if let Some(s) = status {
        filters.push(Filter::eq("status", s.as_str()));
    }
    let query = Query::new(ORDERS)
        .filter(Filter::And(filters))
        .sort(Filter::field("createdAtUs"), Order::Desc)
        .limit(limit)
        .continuation(cursor);
    page_of(orders.store.query(&query).await?)
}

/// The owner cancels a paid order: refunded and restocked (`order.cancelled`).
///
/// # Errors
/// 404 when it is not the caller's; 409 unless it is paid; the store's error.
pub async fn cancel(
    orders: &Orders,
    caller: &Principal,
    raw_id: &str,
) -> Result<OrderDoc, ApiError> {
    let id = OrderId::parse(raw_id).map_err(|_| no_order())?;
    let at = OrderRef {
        partition: caller.user_id.as_str().into(),
        id,
    };
    if read(orders, &at).await?.is_none() {
        return Err(no_order());
    }
    give_back(
        orders,
        &at,
        OrderStatus::Cancelled,
        Some("cancelled by the customer".into()),
    )
    .await
}

/// Gives the customer's money back: `cancelled` (refund and restock) or
/// `refunded` (refund only; the goods may have left), with the change's event.
async fn give_back(
    orders: &Orders,
    at: &OrderRef,
    to: OrderStatus,
    note: Option<String>,
) -> Result<OrderDoc, ApiError> {
    let now = orders.clock.now();
    let doc = change(orders, at, |doc| {
        doc.move_to(to, now, note.clone())?;
        let mut pending = doc.pending.clone();
        pending.refund = true;
        pending.restock |= to == OrderStatus::Cancelled;
        doc.set_pending(pending);
        Ok(Step::Write(vec![status_event(doc, now, note.clone())?]))
    })
    .await?;
    Ok(settle(orders, doc).await)
}

/// Admin: refund a paid, shipped or delivered order (`order.refunded`).
///
/// # Errors
/// 404; 409 from any other status; the store's error.
pub async fn refund(
    orders: &Orders,
    raw_id: &str,
    note: Option<String>,
) -> Result<OrderDoc, ApiError> {
    let id = OrderId::parse(raw_id).map_err(|_| no_order())?;
    let doc = locate(orders, &id).await?.ok_or_else(no_order)?;
    give_back(orders, &OrderRef::of(&doc), OrderStatus::Refunded, note).await
}

/// Admin: move an order on (`shipped` with a tracking number, `delivered`,
/// `cancelled`, `refunded`). The payment statuses are the gateway's to set: 409.
///
/// # Errors
/// 404; 409 for an illegal move; the store's error.
pub async fn set_status(
    orders: &Orders,
    raw_id: &str,
    to: OrderStatus,
    tracking_number: Option<String>,
    note: Option<String>,
) -> Result<OrderDoc, ApiError> {
    let id = OrderId::parse(raw_id).map_err(|_| no_order())?;
    let found = locate(orders, &id).await?.ok_or_else(no_order)?;
    let at = OrderRef::of(&found);
    match to {
        OrderStatus::Cancelled | OrderStatus::Refunded => give_back(orders, &at, to, note).await,
        OrderStatus::Shipped | OrderStatus::Delivered => {
            let now = orders.clock.now();
            change(orders, &at, |doc| {
                doc.move_to(to, now, note.clone())?;
                if to == OrderStatus::Shipped {
                    doc.tracking_number = tracking_number.clone();
                }
                Ok(Step::Write(vec![status_event(doc, now, note.clone())?]))
            })
            .await
        }
        other => Err(ApiError::Conflict(format!(
            "an order becomes {other} through its payment, not by hand"
        ))),
    }
}

/// Payment news from the payments service (webhooks), applied to the order.
#[derive(Debug, Clone)]
pub struct PaymentNews(pub Orders);

impl PaymentListener for PaymentNews {
    fn apply<'a>(&'a self, event: PaymentEvent) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let orders = &self.0;
            let id = match &event {
                PaymentEvent::Succeeded { order_id, .. }
                | PaymentEvent::Failed { order_id, .. }
                | PaymentEvent::Refunded { order_id, .. } => order_id.clone(),
            };
            let Some(doc) = locate(orders, &id).await? else {
                tracing::warn!(order = %id, "payment news about an unknown order");
                return Ok(());
            };
            let at = OrderRef::of(&doc);
            match event {
                PaymentEvent::Succeeded { gateway_ref, .. } => {
                    mark_paid(orders, &at, &gateway_ref).await?;
                }
                PaymentEvent::Failed {
                    gateway_ref,
                    code,
                    message,
                    ..
                } => {
                    mark_failed(orders, &at, Some(&gateway_ref), &code, &message).await?;
                }
                PaymentEvent::Refunded { .. } => {
                    refunded_at_gateway(orders, &at).await?;
                }
            }
            Ok(())
        })
    }
}

/// The gateway refunded the payment (our own refund, or one made in its dashboard).
async fn refunded_at_gateway(orders: &Orders, at: &OrderRef) -> Result<(), ApiError> {
    let now = orders.clock.now();
    change(orders, at, |doc| {
        if doc.payment.status == PaymentStatus::Refunded {
            return Ok(Step::Keep);
        }
        let mut events = Vec::new();
        if doc.status.is_bought() {
            let note = Some("refunded at the payment gateway".to_owned());
            doc.move_to(OrderStatus::Refunded, now, note.clone())?;
            events.push(status_event(doc, now, note)?);
        }
        doc.payment.status = PaymentStatus::Refunded;
        let mut pending = doc.pending.clone();
        pending.refund = false;
        doc.set_pending(pending);
        Ok(Step::Write(events))
    })
    .await
    .map(|_| ())
}

/// Attaches a new account's past guest orders (same email) to it.
#[derive(Debug, Clone)]
pub struct GuestOrders(pub Orders);

impl SignInListener for GuestOrders {
    fn signed_in<'a>(&'a self, event: &'a SignedIn) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            if event.registered {
                attach_guest_orders(&self.0, &event.user_id, event.email.as_str()).await?;
            }
            Ok(())
        })
    }
}

/// Moves every guest order placed with `email` into `user`'s partition:
/// the copy is written first, then the guest document deleted, so a crash
/// in between leaves a duplicate the next call cleans up, never a loss.
///
/// # Errors
/// The store's error.
pub async fn attach_guest_orders(
    orders: &Orders,
    user: &UserId,
    email: &str,
) -> Result<usize, ApiError> {
    let query = Query::new(ORDERS)
        .filter(Filter::And(vec![
            Filter::eq("kind", "order"),
            Filter::eq("guestEmail", email.to_ascii_lowercase()),
        ]))
        .limit(100);
    let found: Vec<OrderDoc> = query_all(orders.store.as_ref(), query).await?;
    let mut attached = 0;
    for guest in found {
        let mut copy = guest.clone();
        copy.user_id = user.as_str().into();
        copy.customer_id = Some(user.clone());
        copy.guest_email = None;
        let body = jojomart_shared::store::to_body(&copy)?;
        match orders
            .store
            .create(ORDERS, user.as_str(), copy.id.as_str(), body)
            .await
        {
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        match orders
            .store
            .delete(ORDERS, &guest.user_id, guest.id.as_str(), None)
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => attached += 1,
            Err(e) => return Err(e.into()),
        }
    }
    if attached > 0 {
        tracing::info!(user = %user, attached, "attached guest orders to a new account");
    }
    Ok(attached)
}

/// Every order in `user`'s partition that also matches `extra`, newest first.
async fn orders_of(
    orders: &Orders,
    user: &UserId,
    extra: Option<Filter>,
) -> Result<Vec<OrderDoc>, ApiError> {
    let kind = Filter::eq("kind", "order");
    let filter = match extra {
        Some(extra) => Filter::And(vec![kind, extra]),
        None => kind,
    };
    let query = Query::new(ORDERS)
        .partition(user.as_str())
        .filter(filter)
        .sort(Filter::field("createdAtUs"), Order::Desc)
        .limit(100);
    Ok(query_all(orders.store.as_ref(), query).await?)
}

/// Every order of `user`, for the personal-data export.
///
/// # Errors
/// The store's error.
pub async fn all_of(orders: &Orders, user: &UserId) -> Result<Vec<OrderView>, ApiError> {
    let all = orders_of(orders, user, None).await?;
    Ok(all.iter().map(OrderDoc::view).collect())
}

/// True once an order no longer names its customer.
fn is_anonymised(doc: &OrderDoc) -> bool {
    doc.email.is_none() && doc.shipping_address.name == "erased"
}

/// Account erasure: orders stay (the shop's books need them) but lose what
/// names the person: email and address (the country is kept, for tax records).
///
/// # Errors
/// The store's error.
pub async fn anonymise(orders: &Orders, user: &UserId) -> Result<(), ApiError> {
    for doc in orders_of(orders, user, None).await? {
        if is_anonymised(&doc) {
            continue;
        }
        change(orders, &OrderRef::of(&doc), |d| {
            if is_anonymised(d) {
                return Ok(Step::Keep);
            }
            d.email = None;
            d.shipping_address = d.shipping_address.anonymised();
            Ok(Step::Write(Vec::new()))
        })
        .await?;
    }
    Ok(())
}

/// True when `user` has a paid, shipped or delivered order containing `product`
/// (what makes a review a verified purchase).
///
/// # Errors
/// The store's error.
pub async fn has_bought(
    orders: &Orders,
    user: &UserId,
    product: &ProductId,
) -> Result<bool, ApiError> {
    let bought = Filter::In(
        Filter::field("status"),
        [
            OrderStatus::Paid,
            OrderStatus::Shipped,
            OrderStatus::Delivered,
        ]
        .iter()
        .map(|s| s.as_str().into())
        .collect(),
    );
    let mine = orders_of(orders, user, Some(bought)).await?;
    Ok(mine
        .iter()
        .any(|o| o.items.iter().any(|l| &l.product_id == product)))
}

/// What one `reconcile-orders` run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Pending orders found paid at the gateway.
    pub paid: usize,
    /// Pending orders given up (payment never completed).
    pub failed: usize,
    /// Orders whose follow-up work was redone.
    pub settled: usize,
}

/// Settles what crashes and abandoned payments left: pending orders whose
/// reservations lapsed are asked about at the gateway (paid → paid; anything
/// else is cancelled there first, then → `payment_failed`), and orders with
/// follow-up work left get it done.
///
/// # Errors
/// The store's error; a gateway that cannot be reached leaves the order for the next run.
pub async fn reconcile(orders: &Orders) -> Result<Reconciled, ApiError> {
    let mut report = Reconciled::default();
    let now = micros(orders.clock.now());
    let lapsed = Query::new(ORDERS)
        .filter(Filter::And(vec![
            Filter::eq("kind", "order"),
            Filter::eq("status", OrderStatus::PendingPayment.as_str()),
            Filter::Le(Filter::field("reservedUntilUs"), now.into()),
        ]))
        .limit(100);
    let pending: Vec<OrderDoc> = query_all(orders.store.as_ref(), lapsed).await?;
    for doc in pending {
        let at = OrderRef::of(&doc);
        let outcome = match payments::service::status(&orders.payments, &doc.id).await {
            Ok(Some(payments::ChargeOutcome::Succeeded { gateway_ref })) => Some(gateway_ref),
            Ok(Some(payments::ChargeOutcome::RequiresAction { .. })) => {
                match payments::service::cancel(&orders.payments, &doc.id).await {
                    Ok(payments::ChargeOutcome::Succeeded { gateway_ref }) => Some(gateway_ref),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(order = %doc.id, error = %e, "could not cancel an abandoned payment yet");
                        continue;
                    }
                }
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(order = %doc.id, error = %e, "could not ask the gateway about a pending order");
                continue;
            }
        };
        match outcome {
            Some(gateway_ref) => {
                mark_paid(orders, &at, &gateway_ref).await?;
                report.paid += 1;
            }
            None => {
                mark_failed(
                    orders,
                    &at,
                    doc.payment.gateway_ref.as_deref(),
                    "expired",
                    "the payment was not completed in time",
                )
                .await?;
                report.failed += 1;
            }
        }
    }
    let unsettled = Query::new(ORDERS)
        .filter(Filter::And(vec![
            Filter::eq("kind", "order"),
            Filter::eq("needsWork", true),
        ]))
        .limit(100);
    let unsettled: Vec<OrderDoc> = query_all(orders.store.as_ref(), unsettled).await?;
    for doc in unsettled {
        let after = settle(orders, doc).await;
        if !after.needs_work {
            report.settled += 1;
        }
    }
    Ok(report)
}
