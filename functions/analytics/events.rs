//! The events analytics produces for itself (through [`super::Tracker`]) on
//! the `analytics-events` queue, beside the `order.*` events orders sends there.

use chrono::{DateTime, Utc};
use jojomart_shared::{domain::ProductId, events::EventKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One product page read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// The product read.
    pub product_id: ProductId,
    /// The viewer's session key (see [`super::tracker`]).
    pub session: String,
    /// When it was read.
    pub at: DateTime<Utc>,
}

/// `product.viewed`: product page reads, batched in memory and sent as one
/// message per second or per [`super::tracker::MAX_BATCH`] views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductViewed {
    /// The reads, oldest first; the n-th is stored as `<eventId>-<n>`.
    pub views: Vec<View>,
}

impl EventKind for ProductViewed {
    const KIND: &'static str = "product.viewed";
    const VERSION: u32 = 1;

    fn data_schema() -> Value {
        json!({
            "type": "object",
            "description": "product.viewed: product page reads, batched",
            "required": ["views"],
            "properties": {
                "views": {"type": "array", "items": {
                    "type": "object",
                    "required": ["productId", "session", "at"],
                    "properties": {
                        "productId": {"type": "string"},
                        "session": {"type": "string"},
                        "at": {"type": "string", "format": "date-time"}
                    }
                }}
            }
        })
    }
}

/// `cart.item-added`: units of a product put in a cart (at the envelope's `occurredAt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartItemAdded {
    /// The product.
    pub product_id: ProductId,
    /// Units added.
    pub quantity: u32,
    /// The shopper's session key.
    pub session: String,
}

impl EventKind for CartItemAdded {
    const KIND: &'static str = "cart.item-added";
    const VERSION: u32 = 1;

    fn data_schema() -> Value {
        json!({
            "type": "object",
            "description": "cart.item-added: units of a product put in a cart",
            "required": ["productId", "quantity", "session"],
            "properties": {
                "productId": {"type": "string"},
                "quantity": {"type": "integer", "minimum": 1},
                "session": {"type": "string"}
            }
        })
    }
}
