//! Orders as stored and as returned, and the one state machine every status
//! change goes through ([`OrderStatus::transition`]).

use chrono::{DateTime, SecondsFormat, Utc};
use jojomart_shared::{
    domain::{OrderId, ProductId, UserId},
    error::ApiError,
    events::{OrderEventLine, OrderSnapshot},
    store::{Container, Ttl},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The container: orders, idempotency claims and the outbox, partitioned by
/// the owner (a user id, or `guest-<orderId>` for a guest order). Orders
/// never expire; idempotency claims carry a `ttl` of a day.
pub const ORDERS: &Container = &Container::new("orders", "userId").with_ttl(Ttl::PerDocument);

/// Where an order is in its life (CONTRACT "Orders and payments").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Written, stock reserved, payment not (yet) confirmed.
    PendingPayment,
    /// Paid: the stock left the shelf.
    Paid,
    /// Handed to the carrier.
    Shipped,
    /// Reached the customer.
    Delivered,
    /// The payment was declined or never completed; stock given back.
    PaymentFailed,
    /// Cancelled while paid: refunded and restocked.
    Cancelled,
    /// Refunded by an admin (or from the gateway's dashboard).
    Refunded,
}

impl OrderStatus {
    /// Every status, for parsing and docs.
    pub const ALL: [OrderStatus; 7] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Shipped,
        Self::Delivered,
        Self::PaymentFailed,
        Self::Cancelled,
        Self::Refunded,
    ];

    /// The one place that says which moves are legal.
    ///
    /// # Errors
    /// [`IllegalTransition`] for any other move (409).
    pub fn transition(self, to: OrderStatus) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus::*;
        match (self, to) {
            (PendingPayment, Paid | PaymentFailed)
            | (Paid, Shipped | Cancelled | Refunded)
            | (Shipped, Delivered | Refunded)
            | (Delivered, Refunded) => Ok(to),
            (from, to) => Err(IllegalTransition { from, to }),
        }
    }

    /// The wire name (`pending_payment`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::PaymentFailed => "payment_failed",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }

    /// Parses a wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// True once the customer's money is (or was) taken: paid and after.
    pub fn is_bought(self) -> bool {
        matches!(self, Self::Paid | Self::Shipped | Self::Delivered)
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot become {to}")]
pub struct IllegalTransition {
    /// Where the order is.
    pub from: OrderStatus,
    /// Where it was asked to go.
    pub to: OrderStatus,
}

impl From<IllegalTransition> for ApiError {
    fn from(e: IllegalTransition) -> Self {
        ApiError::Conflict(e.to_string())
    }
}

/// One line of an order, priced when it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    /// The product.
    #[schema(value_type = String)]
    pub product_id: ProductId,
    /// Its name when ordered.
    pub name: String,
    /// Price per unit in minor units.
    pub unit_price: i64,
    /// Units.
    pub quantity: u32,
    /// `unit_price * quantity`.
    pub line_total: i64,
}

/// Where the parcel goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    /// The recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// The city.
    pub city: String,
    /// The postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl ShippingAddress {
    /// What is left of an address after its owner was erased: the country.
    pub fn anonymised(&self) -> Self {
        Self {
            name: "erased".into(),
            line1: "erased".into(),
            line2: None,
            city: "erased".into(),
            postal_code: "erased".into(),
            country: self.country.clone(),
        }
    }
}

/// The gateway's next step for the shopper (3-D Secure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextAction {
    /// The page that completes the payment.
    pub redirect_url: String,
}

/// Where the order's payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Not charged yet.
    Pending,
    /// The shopper must confirm (3-D Secure).
    RequiresAction,
    /// Charged.
    Succeeded,
    /// Declined, or never completed.
    Failed,
    /// Given back.
    Refunded,
}

/// The order's payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInfo {
    /// Where the payment is.
    pub status: PaymentStatus,
    /// The gateway's id for it (a PaymentIntent id).
    pub gateway_ref: Option<String>,
    /// Set while the shopper must confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    /// Why it failed (`generic_decline`, `insufficient_funds`, `expired`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// The gateway's words for the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The status reached.
    pub status: OrderStatus,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// Why, when there is something to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Follow-up work a status change left to do, done right after the change and
/// redone by the `reconcile-orders` timer if the process died first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Commit the reservations and take the lines out of the cart (paid).
    #[serde(default)]
    pub fulfil: bool,
    /// Release the reservations (payment failed).
    #[serde(default)]
    pub release: bool,
    /// Refund through the gateway (cancelled, refunded).
    #[serde(default)]
    pub refund: bool,
    /// Put the units back on the shelf (cancelled).
    #[serde(default)]
    pub restock: bool,
}

impl Pending {
    /// True when nothing is left to do.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Whose cart an order came from (emptied when it is paid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "id")]
pub enum CartRef {
    /// A signed-in user's cart.
    User(UserId),
    /// An anonymous cart (guest checkout).
    Anonymous(String),
}

/// The stored order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDoc {
    /// Always `order`.
    pub kind: String,
    /// The order id (document id).
    pub id: OrderId,
    /// The partition: the owner's user id, or `guest-<orderId>`.
    pub user_id: String,
    /// The owner's account; `None` for a guest order not (yet) attached.
    #[serde(default)]
    pub customer_id: Option<UserId>,
    /// Where mail about it goes; `None` once the customer was erased.
    #[serde(default)]
    pub email: Option<String>,
    /// A guest order's email, lowercased, for attaching it at registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_email: Option<String>,
    /// Where it is.
    pub status: OrderStatus,
    /// The lines.
    pub items: Vec<OrderLine>,
    /// Sum of the lines.
    pub subtotal: i64,
    /// Shipping charged.
    pub shipping: i64,
    /// Tax charged.
    pub tax: i64,
    /// What the customer pays.
    pub total: i64,
    /// ISO 4217.
    pub currency: String,
    /// Where it goes.
    pub shipping_address: ShippingAddress,
    /// The payment.
    pub payment: PaymentInfo,
    /// Every status change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The carrier's tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// The cart it came from.
    pub cart: CartRef,
    /// The payment method it was charged with (a test card or PaymentMethod id).
    pub payment_method: String,
    /// Where the gateway sends the shopper after 3-D Secure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// When the stock reservations lapse (microseconds); a pending order is
    /// settled by `reconcile-orders` after that.
    pub reserved_until_us: i64,
    /// Follow-up work left to do.
    #[serde(default)]
    pub pending: Pending,
    /// True while `pending` holds work (what `reconcile-orders` queries).
    #[serde(default)]
    pub needs_work: bool,
    /// When it was placed, RFC 3339.
    pub created_at: String,
    /// The same, in microseconds (sort key).
    pub created_at_us: i64,
    /// Bumped on every write (by `service::change`).
    pub version: u64,
}

impl OrderDoc {
    /// Moves to `to` through the state machine and records it in the history.
    ///
    /// # Errors
    /// [`IllegalTransition`].
    pub fn move_to(
        &mut self,
        to: OrderStatus,
        at: DateTime<Utc>,
        note: Option<String>,
    ) -> Result<(), IllegalTransition> {
        self.status = self.status.transition(to)?;
        self.history.push(HistoryEntry {
            status: to,
            at: rfc3339(at),
            note,
        });
        Ok(())
    }

    /// Records follow-up work (and keeps `needs_work` in step).
    pub fn set_pending(&mut self, pending: Pending) {
        self.needs_work = !pending.is_empty();
        self.pending = pending;
    }

    /// The lines as (product, units) pairs.
    pub fn units(&self) -> Vec<(ProductId, u32)> {
        self.items
            .iter()
            .map(|l| (l.product_id.clone(), l.quantity))
            .collect()
    }

    /// The order as events carry it.
    pub fn snapshot(&self, note: Option<String>) -> OrderSnapshot {
        OrderSnapshot {
            order_id: self.id.clone(),
            user_id: self.customer_id.clone(),
            email: self.email.clone(),
            status: self.status.as_str().into(),
            items: self
                .items
                .iter()
                .map(|l| OrderEventLine {
                    product_id: l.product_id.clone(),
                    name: l.name.clone(),
                    unit_price: l.unit_price,
                    quantity: l.quantity,
                    line_total: l.line_total,
                })
                .collect(),
            subtotal: self.subtotal,
            shipping: self.shipping,
            tax: self.tax,
            total: self.total,
            currency: self.currency.clone(),
            tracking_number: self.tracking_number.clone(),
            note,
        }
    }

    /// The order as the API returns it.
    pub fn view(&self) -> OrderView {
        OrderView {
            id: self.id.as_str().into(),
            user_id: self.customer_id.as_ref().map(|u| u.as_str().into()),
            email: self.email.clone(),
            status: self.status,
            items: self.items.clone(),
            subtotal: self.subtotal,
            shipping: self.shipping,
            tax: self.tax,
            total: self.total,
            currency: self.currency.clone(),
            shipping_address: self.shipping_address.clone(),
            payment: self.payment.clone(),
            history: self.history.clone(),
            tracking_number: self.tracking_number.clone(),
            created_at: self.created_at.clone(),
            access_token: None,
        }
    }
}

/// An order as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The order id.
    pub id: String,
    /// The customer's user id; `null` for a guest order.
    pub user_id: Option<String>,
    /// Where mail about it goes.
    pub email: Option<String>,
    /// Where it is.
    pub status: OrderStatus,
    /// The lines.
    pub items: Vec<OrderLine>,
    /// Sum of the lines.
    pub subtotal: i64,
    /// Shipping charged.
    pub shipping: i64,
    /// Tax charged.
    pub tax: i64,
    /// What the customer pays.
    pub total: i64,
    /// ISO 4217.
    pub currency: String,
    /// Where it goes.
    pub shipping_address: ShippingAddress,
    /// The payment.
    pub payment: PaymentInfo,
    /// Every status change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// The carrier's tracking number, once shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// When it was placed.
    pub created_at: String,
    /// A guest order's own access token (`X-Order-Token` header or `?token=`),
    /// returned once, by the checkout that placed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// One page of orders.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    /// The orders, newest first.
    pub items: Vec<OrderView>,
    /// The next page's cursor, `null` on the last page.
    pub next_cursor: Option<String>,
}

/// RFC 3339 with milliseconds, UTC.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Microseconds since the epoch.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::{self, *};

    #[test]
    fn the_contract_moves_and_nothing_else() {
        let legal = [
            (PendingPayment, Paid),
            (PendingPayment, PaymentFailed),
            (Paid, Shipped),
            (Shipped, Delivered),
            (Paid, Cancelled),
            (Paid, Refunded),
            (Shipped, Refunded),
            (Delivered, Refunded),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.transition(to).is_ok(),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn statuses_round_trip_their_wire_names() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
    }
}
