//! The payment gateway port: what checkout asks a gateway to do, what a
//! PaymentIntent looks like to us, and how a call can fail. The shapes follow
//! Stripe's PaymentIntents (the one production adapter, [`super::stripe`]),
//! without its wire details: amounts in minor units, currencies upper-case ISO
//! 4217, the order id lifted out of the intent's metadata.

use async_trait::async_trait;
use jojomart_shared::domain::OrderId;
use serde::{Deserialize, Serialize};

/// What checkout asks the gateway to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The order paid for; also the idempotency key of the charge.
    pub order_id: OrderId,
    /// The amount in minor units (1999 = 19.99).
    pub amount: i64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    /// The payment method, e.g. Stripe's test `pm_card_visa`.
    pub payment_method: String,
    /// Where the shopper lands after a 3-D Secure page.
    pub return_url: Option<String>,
    /// Where the gateway sends its receipt.
    pub email: Option<String>,
}

/// What the gateway answered about a charge.
///
/// An intent that is still open without a page for the shopper (Stripe's
/// `processing`, `requires_confirmation`) is `RequiresAction` with an empty
/// `redirect_url`: not paid yet, not failed either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Paid.
    Succeeded {
        /// The gateway's id of the payment (a PaymentIntent id).
        gateway_ref: String,
    },
    /// The shopper must confirm on the gateway's page (3-D Secure).
    RequiresAction {
        /// The gateway's id of the payment.
        gateway_ref: String,
        /// The page to send the shopper to.
        redirect_url: String,
    },
    /// Refused by the card's issuer (or the shopper failed authentication).
    Declined {
        /// The gateway's id of the payment, when it created one.
        gateway_ref: Option<String>,
        /// Why, as the gateway says it: `generic_decline`, `insufficient_funds`...
        code: String,
        /// A message fit for the shopper.
        message: String,
    },
    /// Canceled before it succeeded; it can no longer succeed.
    Canceled {
        /// The gateway's id of the payment.
        gateway_ref: String,
    },
}

impl ChargeOutcome {
    /// The gateway's id of the payment, when there is one.
    pub fn gateway_ref(&self) -> Option<&str> {
        match self {
            Self::Succeeded { gateway_ref }
            | Self::RequiresAction { gateway_ref, .. }
            | Self::Canceled { gateway_ref } => Some(gateway_ref),
            Self::Declined { gateway_ref, .. } => gateway_ref.as_deref(),
        }
    }
}

/// Where a PaymentIntent stands (Stripe's `status` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    /// Needs a (new) payment method: fresh, or its last attempt failed.
    RequiresPaymentMethod,
    /// Waiting to be confirmed.
    RequiresConfirmation,
    /// Waiting for the shopper (3-D Secure).
    RequiresAction,
    /// The payment is being processed.
    Processing,
    /// Authorized, waiting to be captured.
    RequiresCapture,
    /// Canceled; can no longer succeed.
    Canceled,
    /// Paid.
    Succeeded,
    /// A status this code does not know.
    #[serde(other)]
    Unknown,
}

impl IntentStatus {
    /// The wire name (`requires_action`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::RequiresCapture => "requires_capture",
            Self::Canceled => "canceled",
            Self::Succeeded => "succeeded",
            Self::Unknown => "unknown",
        }
    }
}

/// Why the last attempt of an intent failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFailure {
    /// The error code (`card_declined`, `payment_intent_authentication_failure`).
    pub code: String,
    /// The issuer's reason for a decline (`generic_decline`, `insufficient_funds`).
    pub decline_code: Option<String>,
    /// A message fit for the shopper.
    pub message: String,
}

impl PaymentFailure {
    /// The most precise reason: the decline code, else the error code.
    pub fn reason(&self) -> &str {
        self.decline_code.as_deref().unwrap_or(&self.code)
    }
}

/// A payment as the gateway keeps it (a Stripe PaymentIntent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentIntent {
    /// Its id (`pi_...`).
    pub id: String,
    /// Where it stands.
    pub status: IntentStatus,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217, upper-case.
    pub currency: String,
    /// The order it pays for (its `order_id` metadata), as the gateway holds it.
    pub order_id: Option<String>,
    /// The page the shopper must visit, while it requires action.
    pub redirect_url: Option<String>,
    /// Why its last attempt failed.
    pub last_error: Option<PaymentFailure>,
    /// Its latest charge (`ch_...`).
    pub latest_charge: Option<String>,
    /// How much of it was refunded (0 when the gateway did not say).
    pub amount_refunded: i64,
    /// When it was created, in Unix seconds.
    pub created: i64,
}

impl PaymentIntent {
    /// True once all of it was refunded.
    pub fn refunded(&self) -> bool {
        self.amount > 0 && self.amount_refunded >= self.amount
    }

    /// What this intent means for the order it pays.
    pub fn outcome(&self) -> ChargeOutcome {
        let gateway_ref = self.id.clone();
        match self.status {
            IntentStatus::Succeeded => ChargeOutcome::Succeeded { gateway_ref },
            IntentStatus::Canceled => ChargeOutcome::Canceled { gateway_ref },
            IntentStatus::RequiresPaymentMethod | IntentStatus::Unknown => {
                let (code, message) = match &self.last_error {
                    Some(failure) => (failure.reason().to_owned(), failure.message.clone()),
                    None => (
                        "payment_failed".to_owned(),
                        "The payment did not go through.".to_owned(),
                    ),
                };
                ChargeOutcome::Declined {
                    gateway_ref: Some(gateway_ref),
                    code,
                    message,
                }
            }
            IntentStatus::RequiresAction
            | IntentStatus::RequiresConfirmation
            | IntentStatus::Processing
            | IntentStatus::RequiresCapture => ChargeOutcome::RequiresAction {
                gateway_ref,
                redirect_url: self.redirect_url.clone().unwrap_or_default(),
            },
        }
    }
}

/// A refund of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Its id (`re_...`).
    pub id: String,
    /// The intent refunded.
    pub payment_intent: Option<String>,
    /// Minor units refunded.
    pub amount: i64,
    /// `succeeded`, `pending`, `failed`...
    pub status: String,
}

/// How a gateway call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// No gateway is configured (no secret key).
    #[error("no payment gateway is configured (set JOJOMART_STRIPE_SECRET_KEY)")]
    NotConfigured,
    /// Transient: the gateway could not be reached, timed out or failed on
    /// its side, after our retries. Repeating with the same idempotency key is safe.
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
    /// The card was declined and the gateway kept no intent to show for it.
    #[error("the card was declined ({code}): {message}")]
    Declined {
        /// `generic_decline`, `insufficient_funds`...
        code: String,
        /// A message fit for the shopper.
        message: String,
    },
    /// The gateway refused the request; repeating it will not help.
    #[error("the payment gateway refused the request ({status} {kind}{}): {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The error type (`invalid_request_error`, `idempotency_error`).
        kind: String,
        /// The error code (`payment_intent_unexpected_state`, `charge_already_refunded`).
        code: Option<String>,
        /// What the gateway said.
        message: String,
        /// The intent the error is about, when the gateway attached it.
        payment_intent: Option<Box<PaymentIntent>>,
    },
    /// The gateway answered something we cannot read.
    #[error("the payment gateway answered something unreadable: {0}")]
    Protocol(String),
}

impl GatewayError {
    /// True when the same call may succeed later (the gateway was unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The gateway's error code of a rejection.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Rejected { code, .. } => code.as_deref(),
            Self::Declined { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A payment gateway. Every call that changes something takes an idempotency
/// key: repeating a call with the same key and parameters (after a timeout, a
/// crash) returns the first call's result and never charges twice.
#[async_trait]
pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// Creates a PaymentIntent for the order and confirms it at once. A decline
    /// returns the declined intent (status `requires_payment_method`, with its
    /// `last_error`), or [`GatewayError::Declined`] when the gateway kept none.
    async fn create_and_confirm(
        &self,
        req: &ChargeRequest,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, GatewayError>;

    /// An intent by id, as it stands now.
    async fn retrieve(&self, intent_id: &str) -> Result<PaymentIntent, GatewayError>;

    /// The intent made for an order, `None` when the gateway never saw one.
    /// (Stripe's search can lag writes by up to a minute.)
    async fn find_by_order(
        &self,
        order_id: &OrderId,
    ) -> Result<Option<PaymentIntent>, GatewayError>;

    /// Cancels an intent that has not succeeded; the canceled intent.
    async fn cancel(
        &self,
        intent_id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, GatewayError>;

    /// Refunds a succeeded intent in full.
    async fn refund(&self, intent_id: &str, idempotency_key: &str) -> Result<Refund, GatewayError>;

    /// Every intent, newest first, following the gateway's pages.
    async fn list(&self) -> Result<Vec<PaymentIntent>, GatewayError>;
}

/// The gateway of a process without a secret key: every call is
/// [`GatewayError::NotConfigured`], so charging answers 503 until one is set.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGateway;

#[async_trait]
impl PaymentGateway for NoGateway {
    async fn create_and_confirm(
        &self,
        _: &ChargeRequest,
        _: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        Err(GatewayError::NotConfigured)
    }
    async fn retrieve(&self, _: &str) -> Result<PaymentIntent, GatewayError> {
        Err(GatewayError::NotConfigured)
    }
    async fn find_by_order(&self, _: &OrderId) -> Result<Option<PaymentIntent>, GatewayError> {
        Err(GatewayError::NotConfigured)
    }
    async fn cancel(&self, _: &str, _: &str) -> Result<PaymentIntent, GatewayError> {
        Err(GatewayError::NotConfigured)
    }
    async fn refund(&self, _: &str, _: &str) -> Result<Refund, GatewayError> {
        Err(GatewayError::NotConfigured)
    }
    async fn list(&self) -> Result<Vec<PaymentIntent>, GatewayError> {
        Err(GatewayError::NotConfigured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(status: IntentStatus) -> PaymentIntent {
        PaymentIntent {
            id: "pi_1".into(),
            status,
            amount: 1999,
            currency: "EUR".into(),
            order_id: Some("o-1".into()),
            redirect_url: None,
            last_error: None,
            latest_charge: None,
            amount_refunded: 0,
            created: 0,
        }
    }

    #[test]
    fn outcomes_follow_the_status() {
        assert_eq!(
            intent(IntentStatus::Succeeded).outcome(),
            ChargeOutcome::Succeeded {
                gateway_ref: "pi_1".into()
            }
        );
        let mut declined = intent(IntentStatus::RequiresPaymentMethod);
        declined.last_error = Some(PaymentFailure {
            code: "card_declined".into(),
            decline_code: Some("insufficient_funds".into()),
            message: "Your card has insufficient funds.".into(),
        });
        assert!(matches!(
            declined.outcome(),
            ChargeOutcome::Declined { code, gateway_ref: Some(_), .. } if code == "insufficient_funds"
        ));
        let mut action = intent(IntentStatus::RequiresAction);
        action.redirect_url = Some("https://gw/3ds/pi_1".into());
        assert_eq!(
            action.outcome(),
            ChargeOutcome::RequiresAction {
                gateway_ref: "pi_1".into(),
                redirect_url: "https://gw/3ds/pi_1".into()
            }
        );
        assert_eq!(
            intent(IntentStatus::Canceled).outcome().gateway_ref(),
            Some("pi_1")
        );
    }
}
