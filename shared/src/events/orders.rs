//! `order.*`: an order changed status. The orders service produces them
//! (staged in its outbox in the same batch as the change); notifications mail
//! the customer and analytics counts them.
//!
//! Every kind carries the same [`OrderSnapshot`]: what the order is now, with
//! enough in it (recipient, lines, totals, tracking number) that a consumer
//! never has to call back into orders.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::EventKind;
use crate::domain::{OrderId, ProductId, UserId};

/// One line of an order, as events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderEventLine {
    /// The product.
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

/// The order as it stands after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSnapshot {
    /// The order.
    pub order_id: OrderId,
    /// The customer's account; `None` for a guest order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Where mail about the order goes (`None` once the customer was erased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The status after the change (`paid`, `shipped`, ...).
    pub status: String,
    /// The lines.
    pub items: Vec<OrderEventLine>,
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
    /// The carrier's tracking number, once shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// A note recorded with the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn snapshot_schema(kind: &str) -> Value {
    json!({
        "type": "object",
        "description": format!("{kind}: the order as it stands after the change"),
        "required": ["orderId", "status", "items", "subtotal", "shipping", "tax", "total", "currency"],
        "properties": {
            "orderId": {"type": "string"},
            "userId": {"type": "string", "description": "absent for a guest order"},
            "email": {"type": "string", "description": "where mail about the order goes"},
            "status": {"type": "string"},
            "items": {"type": "array", "items": {
                "type": "object",
                "required": ["productId", "name", "unitPrice", "quantity", "lineTotal"],
                "properties": {
                    "productId": {"type": "string"},
                    "name": {"type": "string"},
                    "unitPrice": {"type": "integer"},
                    "quantity": {"type": "integer", "minimum": 1},
                    "lineTotal": {"type": "integer"}
                }
            }},
            "subtotal": {"type": "integer"},
            "shipping": {"type": "integer"},
            "tax": {"type": "integer"},
            "total": {"type": "integer"},
            "currency": {"type": "string"},
            "trackingNumber": {"type": "string"},
            "note": {"type": "string"}
        }
    })
}

macro_rules! order_event {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub OrderSnapshot);

        impl EventKind for $name {
            const KIND: &'static str = $kind;
            const VERSION: u32 = 1;

            fn data_schema() -> Value {
                snapshot_schema($kind)
            }
        }
    };
}

order_event!(
    /// A customer placed an order (staged when its payment succeeds).
    OrderPlaced,
    "order.placed"
);
order_event!(
    /// An order was paid.
    OrderPaid,
    "order.paid"
);
order_event!(
    /// An order was handed to the carrier (with its tracking number).
    OrderShipped,
    "order.shipped"
);
order_event!(
    /// An order reached the customer.
    OrderDelivered,
    "order.delivered"
);
order_event!(
    /// A paid order was cancelled (refunded and restocked).
    OrderCancelled,
    "order.cancelled"
);
order_event!(
    /// An order's payment was refunded.
    OrderRefunded,
    "order.refunded"
);
