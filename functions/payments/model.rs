//! What the payments service stores, in its `payments` container partitioned
//! by order id: one payment record per order (id `payment`) saying which
//! gateway intent pays it and how far it got, and one `event-<evt id>`
//! document per webhook event applied, so a redelivered event changes nothing.

use chrono::{DateTime, Utc};
use jojomart_shared::{domain::OrderId, store::Container};
use serde::{Deserialize, Serialize};

use super::gateway::{IntentStatus, PaymentIntent};

/// The container (partition `orderId`).
pub const PAYMENTS: &Container = &Container::new("payments", "orderId");

/// The id of an order's payment record.
pub const RECORD_ID: &str = "payment";

/// The id of the document recording that a webhook event was applied.
pub fn event_doc_id(event_id: &str) -> String {
    format!("event-{event_id}")
}

/// How far a payment got, as the record keeps it. It only moves forward:
/// `pending` → `failed` → `succeeded` | `canceled` → `refunded` (by [`PaymentStatus::rank`]),
/// so an event delivered late never undoes a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Open: waiting for the shopper (3-D Secure) or the gateway.
    Pending,
    /// The attempt was declined or authentication failed.
    Failed,
    /// Paid.
    Succeeded,
    /// Canceled before it succeeded.
    Canceled,
    /// Paid, then refunded.
    Refunded,
}

impl PaymentStatus {
    /// The record's status for what the gateway says about an intent.
    pub fn of(intent: &PaymentIntent) -> Self {
        match intent.status {
            IntentStatus::Succeeded if intent.refunded() => Self::Refunded,
            IntentStatus::Succeeded => Self::Succeeded,
            IntentStatus::Canceled => Self::Canceled,
            IntentStatus::RequiresPaymentMethod => Self::Failed,
            IntentStatus::RequiresAction
            | IntentStatus::RequiresConfirmation
            | IntentStatus::Processing
            | IntentStatus::RequiresCapture
            | IntentStatus::Unknown => Self::Pending,
        }
    }

    /// Its place in the forward-only order (`succeeded` and `canceled` share one:
    /// neither follows the other).
    pub fn rank(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Failed => 1,
            Self::Succeeded | Self::Canceled => 2,
            Self::Refunded => 3,
        }
    }

    /// True when a record at `self` may take `next`: a later rank, or the same status again.
    pub fn may_become(self, next: Self) -> bool {
        next == self || next.rank() > self.rank()
    }
}

/// An order's payment record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRecord {
    /// Always `payment`.
    pub kind: String,
    /// The order paid for (partition key).
    pub order_id: OrderId,
    /// The gateway's intent id.
    pub intent_id: String,
    /// How far it got.
    pub status: PaymentStatus,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Why the last attempt failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// The 3-D Secure page, while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl PaymentRecord {
    /// The record for what the gateway says about `intent`.
    pub fn from_intent(order_id: &OrderId, intent: &PaymentIntent, now: DateTime<Utc>) -> Self {
        Self {
            kind: "payment".into(),
            order_id: order_id.clone(),
            intent_id: intent.id.clone(),
            status: PaymentStatus::of(intent),
            amount: intent.amount,
            currency: intent.currency.clone(),
            failure_code: intent.last_error.as_ref().map(|e| e.reason().to_owned()),
            redirect_url: intent.redirect_url.clone(),
            updated_at: now,
        }
    }

    /// This record moved to `next` when that is forward (or the same status
    /// with news), `None` when `next` would move it backwards or says nothing new.
    pub fn advanced_to(&self, next: PaymentRecord) -> Option<PaymentRecord> {
        if !self.status.may_become(next.status) {
            return None;
        }
        let unchanged = next.status == self.status
            && next.intent_id == self.intent_id
            && next.failure_code == self.failure_code
            && next.redirect_url == self.redirect_url;
        (!unchanged).then_some(next)
    }
}

/// The record that a webhook event was applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedEvent {
    /// Always `event`.
    pub kind: String,
    /// The order (partition key).
    pub order_id: OrderId,
    /// The gateway's event id (`evt_...`).
    pub event_id: String,
    /// Its type (`payment_intent.succeeded`).
    pub event_type: String,
    /// When it was applied.
    pub applied_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus::*;

    #[test]
    fn statuses_only_move_forward() {
        assert!(Pending.may_become(Failed) && Pending.may_become(Succeeded));
        assert!(Failed.may_become(Succeeded) && Succeeded.may_become(Refunded));
        assert!(
            Succeeded.may_become(Succeeded),
            "the same news twice is fine"
        );
        assert!(!Succeeded.may_become(Failed) && !Succeeded.may_become(Pending));
        assert!(!Succeeded.may_become(Canceled) && !Canceled.may_become(Succeeded));
        assert!(!Refunded.may_become(Succeeded));
    }
}
