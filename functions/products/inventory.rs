//! Inventory: stock, reservations and availability (`available = stock - reserved`).
//!
//! Each product's partition of the `inventory` container holds one `stock`
//! document (the totals) and one `reservation-{orderId}` document per order
//! that ever reserved it. Every change rewrites the stock document with its
//! ETag as precondition, in the same single-partition batch as the reservation
//! it concerns, and retries when another writer got there first: stock never
//! goes negative, reserved never exceeds stock, and a reservation is counted
//! exactly once however often checkout retries.
//!
//! This is a Rust API for other services (checkout), not HTTP:
//! [`reserve`] N units for an order (idempotent per order id), then [`commit`]
//! them when the order is paid or [`release`] them when it is not. Held
//! reservations expire; the `release-reservations` timer calls
//! [`release_expired`], so a crashed checkout never strands stock.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use jojomart_shared::{
    domain::{OrderId, ProductId, Quantity, Stock},
    error::ApiError,
    store::{update, update_pair, Change, Container, Filter, Outcome, Query, StoreError},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::model::micros;
use super::Inventory;

/// The container (partition `productId`).
pub const INVENTORY: &Container = &Container::new("inventory", "productId");
/// The id of a product's stock document.
const STOCK_ID: &str = "stock";
/// How long a reservation holds stock unless the caller says otherwise.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::minutes(15);

/// What a product's stock looks like now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockLevel {
    /// Units on hand.
    pub stock: i64,
    /// Units held for orders not yet paid.
    pub reserved: i64,
    /// `stock - reserved`: what can still be sold.
    pub available: i64,
}

/// The stock document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockDoc {
    /// Always `stock`.
    pub kind: String,
    /// The product (partition key).
    pub product_id: ProductId,
    /// Units on hand.
    pub stock: i64,
    /// Units held by reservations in state `held`.
    pub reserved: i64,
    /// Bumped on every write.
    pub version: u64,
    /// Microseconds since the epoch of the last write.
    pub modified_at: i64,
}

impl StockDoc {
    /// The level this document describes.
    pub fn level(&self) -> StockLevel {
        StockLevel {
            stock: self.stock,
            reserved: self.reserved,
            available: self.stock - self.reserved,
        }
    }
}

/// Where a reservation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationState {
    /// Holding stock for an order that is not paid yet.
    Held,
    /// The order was paid: the units left the stock.
    Committed,
    /// Given back (payment failed, checkout gave up, or it expired).
    Released,
    /// Committed, then put back on the shelf (a paid order was cancelled).
    Returned,
}

impl ReservationState {
    /// The one place that says which moves are legal.
    ///
    /// # Errors
    /// [`InventoryError::AlreadySettled`] for any other move.
    pub fn transition(self, to: ReservationState) -> Result<ReservationState, InventoryError> {
        use ReservationState::*;
        match (self, to) {
            (Held, Committed) | (Held, Released) | (Released, Held) | (Committed, Returned) => {
                Ok(to)
            }
            (from, _) => Err(InventoryError::AlreadySettled(from)),
        }
    }
}

impl std::fmt::Display for ReservationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Held => "held",
            Self::Committed => "committed",
            Self::Released => "released",
            Self::Returned => "returned",
        })
    }
}

/// One order's reservation of one product.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationDoc {
    /// Always `reservation`.
    pub kind: String,
    /// The product (partition key).
    pub product_id: ProductId,
    /// The order holding it.
    pub order_id: OrderId,
    /// Units held.
    pub quantity: Quantity,
    /// Where it is in its life.
    pub state: ReservationState,
    /// When a held reservation lapses, microseconds since the epoch.
    pub expires_at: i64,
    /// The same instant, readable.
    pub expires: String,
    /// Bumped on every write.
    pub version: u64,
    /// Microseconds since the epoch of the last write.
    pub modified_at: i64,
}

/// A reservation as callers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The product.
    pub product_id: ProductId,
    /// The order.
    pub order_id: OrderId,
    /// Units.
    pub quantity: Quantity,
    /// Its inventory.
    pub state: ReservationState,
    /// When it lapses if still held.
    pub expires_at: DateTime<Utc>,
}

/// Why an inventory operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// No inventory exists for the product (it was never created). 404.
    #[error("no such product")]
    UnknownProduct,
    /// Fewer units are available than asked for. 409.
    #[error("only {available} available")]
    Insufficient {
        /// Units available now.
        available: i64,
    },
    /// Stock cannot be set below what is reserved. 409.
    #[error("stock cannot be set below the {reserved} units reserved for unpaid orders")]
    BelowReserved {
        /// Units reserved now.
        reserved: i64,
    },
    /// The order holds a reservation of another quantity. 409.
    #[error("this order already holds {held} units of this product")]
    QuantityMismatch {
        /// What the order holds.
        held: Quantity,
    },
    /// The order has no reservation of this product. 404.
    #[error("this order holds no reservation of this product")]
    NoReservation,
    /// The reservation was settled already and cannot move that way. 409.
    #[error("the reservation is already {0}")]
    AlreadySettled(ReservationState),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        match e {
            InventoryError::UnknownProduct | InventoryError::NoReservation => {
                ApiError::NotFound(e.to_string())
            }
            InventoryError::Insufficient { .. }
            | InventoryError::BelowReserved { .. }
            | InventoryError::QuantityMismatch { .. }
            | InventoryError::AlreadySettled(_) => ApiError::Conflict(e.to_string()),
            InventoryError::Store(s) => s.into(),
        }
    }
}

/// The id of an order's reservation document; an [`OrderId`] is always safe in one.
fn reservation_id(order: &OrderId) -> String {
    format!("reservation-{}", order.as_str())
}

fn to_value<T: Serialize>(doc: &T) -> Result<Value, InventoryError> {
    Ok(jojomart_shared::store::to_body(doc)?)
}

/// Creates a new product's stock document.
///
/// # Errors
/// The store's error (a conflict means the product already had inventory).
pub async fn create_stock(
    inventory: &Inventory,
    product: &ProductId,
    stock: Stock,
) -> Result<StockLevel, InventoryError> {
    let now = inventory.clock.now();
    let doc = StockDoc {
        kind: "stock".into(),
        product_id: product.clone(),
        stock: stock.get().into(),
        reserved: 0,
        version: 1,
        modified_at: micros(now),
    };
    inventory
        .store
        .create(INVENTORY, product.as_str(), STOCK_ID, to_value(&doc)?)
        .await?;
    inventory.read_model.apply_stock(&doc);
    Ok(doc.level())
}

/// Removes the stock document of a product that was never created (its
/// create failed after writing the stock); nothing can be reserved there yet.
///
/// # Errors
/// The store's error (an absent document is not one).
pub async fn remove_stock(
    inventory: &Inventory,
    product: &ProductId,
) -> Result<(), InventoryError> {
    match inventory
        .store
        .delete(INVENTORY, product.as_str(), STOCK_ID, None)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Reads a product's stock level from the store (authoritative, unlike the
/// catalog's read model which may lag other instances by a refresh interval).
///
/// # Errors
/// [`InventoryError::UnknownProduct`], or the store's error.
pub async fn level(
    inventory: &Inventory,
    product: &ProductId,
) -> Result<StockLevel, InventoryError> {
    let doc = inventory
        .store
        .read(INVENTORY, product.as_str(), STOCK_ID)
        .await?
        .ok_or(InventoryError::UnknownProduct)?;
    Ok(doc.parse::<StockDoc>()?.level())
}

/// Sets the units on hand (`PUT /api/products/{id}/inventory`).
///
/// # Errors
/// [`InventoryError::BelowReserved`] when `stock` is less than what is reserved,
/// [`InventoryError::UnknownProduct`], or the store's error.
pub async fn set_stock(
    inventory: &Inventory,
    product: &ProductId,
    stock: Stock,
) -> Result<StockLevel, InventoryError> {
    let stock = i64::from(stock.get());
    let now = micros(inventory.clock.now());
    let written = update(
        &*inventory.store,
        INVENTORY,
        product.as_str(),
        STOCK_ID,
        |current: Option<StockDoc>| {
            let mut doc = current.ok_or(InventoryError::UnknownProduct)?;
            if stock < doc.reserved {
                return Err(InventoryError::BelowReserved {
                    reserved: doc.reserved,
                });
            }
            doc.stock = stock;
            doc.version += 1;
            doc.modified_at = now;
            Ok(Change::Write(doc))
        },
    )
    .await?;
    let doc = written
        .into_value()
        .ok_or_else(|| StoreError::Internal("the stock update wrote nothing".into()))?;
    inventory.read_model.apply_stock(&doc);
    Ok(doc.level())
}

fn reservation_of(doc: &ReservationDoc) -> Reservation {
    Reservation {
        product_id: doc.product_id.clone(),
        order_id: doc.order_id.clone(),
        quantity: doc.quantity,
        state: doc.state,
        expires_at: DateTime::from_timestamp_micros(doc.expires_at).unwrap_or_default(),
    }
}

/// Holds `quantity` units of `product` for `order` until `ttl` from now.
///
/// Idempotent per order: reserving again for an order that already holds the
/// same quantity returns the existing reservation (and keeps its expiry); an
/// order whose reservation was released (or expired) may reserve again.
///
/// # Errors
/// [`InventoryError::Insufficient`] when fewer units are available,
/// [`InventoryError::QuantityMismatch`] when the order holds another quantity,
/// [`InventoryError::AlreadySettled`] when it was committed, plus
/// unknown product, bad arguments and store errors.
pub async fn reserve(
    inventory: &Inventory,
    product: &ProductId,
    order: &OrderId,
    quantity: Quantity,
    ttl: Duration,
) -> Result<Reservation, InventoryError> {
    let rid = reservation_id(order);
    let units = i64::from(quantity.get());
    let (stock, reservation) = update_pair::<_, _, InventoryError, _>(
        &*inventory.store,
        INVENTORY,
        product.as_str(),
        STOCK_ID,
        &rid,
        |stock: Option<StockDoc>, existing: Option<ReservationDoc>| {
            let mut stock = stock.ok_or(InventoryError::UnknownProduct)?;
            let previous = match existing {
                Some(doc) => match doc.state {
                    ReservationState::Held if doc.quantity == quantity => {
                        return Ok((Change::Keep, Change::Keep))
                    }
                    ReservationState::Held => {
                        return Err(InventoryError::QuantityMismatch { held: doc.quantity })
                    }
                    other => {
                        other.transition(ReservationState::Held)?;
                        Some(doc)
                    }
                },
                None => None,
            };
            let available = stock.stock - stock.reserved;
            if available < units {
                return Err(InventoryError::Insufficient { available });
            }
            let now = inventory.clock.now();
            stock.reserved += units;
            stock.version += 1;
            stock.modified_at = micros(now);
            let expires_at = now + ttl;
            let reservation = ReservationDoc {
                kind: "reservation".into(),
                product_id: product.clone(),
                order_id: order.clone(),
                quantity,
                state: ReservationState::Held,
                expires_at: micros(expires_at),
                expires: expires_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                version: previous.map_or(1, |p| p.version + 1),
                modified_at: micros(now),
            };
            Ok((Change::Write(stock), Change::Write(reservation)))
        },
    )
    .await?;
    if let (Outcome::Replaced, Some(stock)) = (stock.outcome(), stock.value()) {
        inventory.read_model.apply_stock(stock);
    }
    let reservation = reservation
        .into_value()
        .ok_or_else(|| StoreError::Internal("a reservation vanished as it was made".into()))?;
    Ok(reservation_of(&reservation))
}

/// Moves a held reservation to `to`, adjusting the stock document; `expired_before`
/// restricts the move to reservations that lapsed before that instant.
async fn settle(
    inventory: &Inventory,
    product: &ProductId,
    order: &OrderId,
    to: ReservationState,
    expired_before: Option<i64>,
) -> Result<Option<Reservation>, InventoryError> {
    let rid = reservation_id(order);
    let (stock, reservation) = update_pair::<_, _, InventoryError, _>(
        &*inventory.store,
        INVENTORY,
        product.as_str(),
        STOCK_ID,
        &rid,
        |stock: Option<StockDoc>, reservation: Option<ReservationDoc>| {
            let mut stock = stock.ok_or(InventoryError::UnknownProduct)?;
            let mut reservation = reservation.ok_or(InventoryError::NoReservation)?;
            let lapsed = |r: &ReservationDoc| {
                expired_before
                    .is_none_or(|t| r.state == ReservationState::Held && r.expires_at <= t)
            };
            if reservation.state == to || !lapsed(&reservation) {
                return Ok((Change::Keep, Change::Keep));
            }
            reservation.state = reservation.state.transition(to)?;
            let now = micros(inventory.clock.now());
            let units = i64::from(reservation.quantity.get());
            match to {
                ReservationState::Committed => {
                    stock.reserved -= units;
                    stock.stock -= units;
                }
                ReservationState::Returned => stock.stock += units,
                _ => stock.reserved -= units,
            }
            stock.version += 1;
            stock.modified_at = now;
            reservation.version += 1;
            reservation.modified_at = now;
            Ok((Change::Write(stock), Change::Write(reservation)))
        },
    )
    .await?;
    if let (Outcome::Replaced, Some(stock)) = (stock.outcome(), stock.value()) {
        inventory.read_model.apply_stock(stock);
    }
    let reservation = reservation
        .into_value()
        .ok_or(InventoryError::NoReservation)?;
    // Kept because it lapsed later than `expired_before`, or moved (or found) in state `to`.
    Ok((reservation.state == to).then(|| reservation_of(&reservation)))
}

/// The order was paid: its reserved units leave the stock. Idempotent.
///
/// # Errors
/// [`InventoryError::NoReservation`]; [`InventoryError::AlreadySettled`] when it
/// was released (expired) first; store errors.
pub async fn commit(
    inventory: &Inventory,
    product: &ProductId,
    order: &OrderId,
) -> Result<Reservation, InventoryError> {
    settle(inventory, product, order, ReservationState::Committed, None)
        .await?
        .ok_or(InventoryError::NoReservation)
}

/// Gives an order's held units back. Idempotent; releasing an order that never
/// reserved this product is not an error.
///
/// # Errors
/// [`InventoryError::AlreadySettled`] when it was committed; store errors.
pub async fn release(
    inventory: &Inventory,
    product: &ProductId,
    order: &OrderId,
) -> Result<(), InventoryError> {
    match settle(inventory, product, order, ReservationState::Released, None).await {
        Ok(_) | Err(InventoryError::NoReservation) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Puts a committed order's units back on the shelf (the paid order was
/// cancelled). Idempotent; an order that never committed this product is not
/// an error.
///
/// # Errors
/// [`InventoryError::AlreadySettled`] when the reservation is still held or was
/// released (nothing left the shelf); store errors.
pub async fn restock(
    inventory: &Inventory,
    product: &ProductId,
    order: &OrderId,
) -> Result<(), InventoryError> {
    match settle(inventory, product, order, ReservationState::Returned, None).await {
        Ok(_) | Err(InventoryError::NoReservation) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reserves every line for one order, all or nothing: on the first refusal the
/// lines already reserved are released and the refusal is returned.
///
/// # Errors
/// As [`reserve`], for the first line that could not be reserved.
pub async fn reserve_all(
    inventory: &Inventory,
    order: &OrderId,
    lines: &[(ProductId, Quantity)],
    ttl: Duration,
) -> Result<Vec<Reservation>, InventoryError> {
    let mut done = Vec::with_capacity(lines.len());
    for (product, quantity) in lines {
        match reserve(inventory, product, order, *quantity, ttl).await {
            Ok(r) => done.push(r),
            Err(e) => {
                for r in &done {
                    if let Err(undo) = release(inventory, &r.product_id, order).await {
                        tracing::warn!(error = %undo, product = %r.product_id, "could not undo a reservation; it will expire");
                    }
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// Releases every held reservation whose expiry has passed; returns how many.
///
/// # Errors
/// The store's error; a reservation that changed meanwhile is skipped, not an error.
pub async fn release_expired(inventory: &Inventory) -> Result<usize, InventoryError> {
    let now = micros(inventory.clock.now());
    let filter = Filter::And(vec![
        Filter::eq("kind", "reservation"),
        Filter::eq("state", "held"),
        Filter::Le(Filter::field("expiresAt"), now.into()),
    ]);
    let mut query = Query::new(INVENTORY).filter(filter).limit(100);
    let mut released = 0;
    loop {
        let page = inventory.store.query(&query).await?;
        for doc in &page.items {
            let reservation: ReservationDoc = doc.parse()?;
            match settle(
                inventory,
                &reservation.product_id,
                &reservation.order_id,
                ReservationState::Released,
                Some(now),
            )
            .await
            {
                Ok(Some(_)) => released += 1,
                Ok(None) | Err(InventoryError::AlreadySettled(_)) => {}
                Err(e) => return Err(e),
            }
        }
        match page.continuation {
            Some(token) => query = query.continuation(Some(token)),
            None => return Ok(released),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_moves() {
        use ReservationState::*;
        assert!(Held.transition(Committed).is_ok());
        assert!(Held.transition(Released).is_ok());
        assert!(Released.transition(Held).is_ok());
        assert!(Committed.transition(Released).is_err());
        assert!(Committed.transition(Returned).is_ok());
        assert!(Returned.transition(Held).is_err());
        assert!(Held.transition(Returned).is_err());
        assert!(Committed.transition(Held).is_err());
        assert!(Released.transition(Committed).is_err());
    }

    #[test]
    fn reservation_ids_keep_their_stored_shape() {
        let order = OrderId::parse("o-1").expect("an order id");
        assert_eq!(reservation_id(&order), "reservation-o-1");
    }
}
