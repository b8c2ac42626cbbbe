//! The payments service's rules and its public API, which orders calls one
//! way: [`charge`], [`status`], [`cancel`], [`refund`], and
//! [`Payments::listen`](super::Payments::listen) to hear what the gateway's
//! webhooks say.
//!
//! Every gateway call that changes something is keyed by the order: the
//! charge's idempotency key is the order id, the refund's `refund-<order>`, so
//! calling again after a crash or a timeout gets the first call's result and
//! never charges twice. Each order's payment record (`payment` in the order's
//! partition) follows what the gateway says, forward only ([`PaymentStatus`]).
//!
//! Webhook events ([`receive_event`]) are verified, applied to the record,
//! handed to every listener, and only then recorded as applied
//! (`event-<evt id>`, create-if-absent): a listener that fails leaves the event
//! unrecorded, the endpoint answers 5xx and the gateway delivers it again, so
//! listeners must be idempotent; an event already recorded is not applied again.

use futures::future::BoxFuture;
use jojomart_shared::{
    domain::OrderId,
    error::ApiError,
    store::{update, Change, StoreError},
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    gateway::{ChargeOutcome, ChargeRequest, GatewayError, IntentStatus, PaymentIntent},
    model::{event_doc_id, AppliedEvent, PaymentRecord, PaymentStatus, PAYMENTS, RECORD_ID},
    signature::{self, SignatureError},
    stripe, Payments,
};

/// What can go wrong with a payment, in the payments service's terms.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The gateway failed, refused, or is not configured.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The gateway holds no payment for this order.
    #[error("no payment was made for order {0}")]
    NoPayment(OrderId),
    /// Only a succeeded payment can be refunded.
    #[error("the payment of order {order} has not succeeded (it is {status}); there is nothing to refund")]
    NotPaid {
        /// The order.
        order: OrderId,
        /// Where its intent stands.
        status: &'static str,
    },
    /// The order was charged before with other parameters (amount, currency, method).
    #[error("order {0} was charged before with other parameters")]
    ChargedDifferently(OrderId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PaymentError> for ApiError {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::Gateway(GatewayError::NotConfigured | GatewayError::Unavailable(_)) => {
                ApiError::Unavailable(Box::new(e))
            }
            PaymentError::Gateway(GatewayError::Declined { message, .. }) => {
                ApiError::PaymentRequired(message)
            }
            PaymentError::Gateway(_) => ApiError::internal(e),
            PaymentError::NoPayment(_) | PaymentError::NotPaid { .. } => {
                ApiError::Conflict(e.to_string())
            }
            PaymentError::ChargedDifferently(_) => ApiError::Unprocessable(e.to_string()),
            PaymentError::Store(store) => store.into(),
        }
    }
}

/// What the gateway told us about an order's payment, for the services that listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    /// The order is paid (`payment_intent.succeeded`).
    Succeeded {
        /// The order.
        order_id: OrderId,
        /// The gateway's payment id.
        gateway_ref: String,
    },
    /// The payment attempt failed (`payment_intent.payment_failed`): declined, or 3-D Secure failed.
    Failed {
        /// The order.
        order_id: OrderId,
        /// The gateway's payment id.
        gateway_ref: String,
        /// Why (`generic_decline`, `payment_intent_authentication_failure`...).
        code: String,
        /// A message fit for the shopper.
        message: String,
    },
    /// The payment was refunded in full (`charge.refunded`).
    Refunded {
        /// The order.
        order_id: OrderId,
        /// The gateway's payment id.
        gateway_ref: String,
    },
}

impl PaymentEvent {
    /// The order the event is about.
    pub fn order_id(&self) -> &OrderId {
        match self {
            Self::Succeeded { order_id, .. }
            | Self::Failed { order_id, .. }
            | Self::Refunded { order_id, .. } => order_id,
        }
    }
}

/// A service that hears payment events (orders, at its start). `apply` must be
/// idempotent: an event is delivered again when any listener failed on it.
pub trait PaymentListener: Send + Sync {
    /// Applies one event; an error makes the gateway deliver it again later.
    fn apply<'a>(&'a self, event: PaymentEvent) -> BoxFuture<'a, Result<(), ApiError>>;
}

/// Charges an order: creates and confirms the gateway's payment with the order
/// id as idempotency key, and records it. Safe to call again after a crash or
/// timeout: the same order gets the same payment, never a second charge (an
/// order already recorded is not sent to the gateway again at all).
///
/// # Errors
/// [`PaymentError::Gateway`] when the gateway is unreachable (503: calling
/// again later is safe) or not configured; [`PaymentError::ChargedDifferently`]
/// when this order was charged with other parameters; the store's error.
pub async fn charge(
    payments: &Payments,
    req: &ChargeRequest,
) -> Result<ChargeOutcome, PaymentError> {
    let order = &req.order_id;
    if let Some(record) = read_record(payments, order).await? {
        if record.amount != req.amount || !record.currency.eq_ignore_ascii_case(&req.currency) {
            return Err(PaymentError::ChargedDifferently(order.clone()));
        }
        // Idempotency keys expire at the gateway (Stripe: 24 h); the record does not.
        let intent = payments.gateway.retrieve(&record.intent_id).await?;
        save(payments, order, &intent, PaymentStatus::of(&intent)).await?;
        return Ok(intent.outcome());
    }
    let intent = match payments
        .gateway
        .create_and_confirm(req, order.as_str())
        .await
    {
        Ok(intent) => intent,
        Err(GatewayError::Declined { code, message }) => {
            tracing::info!(order = %order, %code, "payment declined");
            return Ok(ChargeOutcome::Declined {
                gateway_ref: None,
                code,
                message,
            });
        }
        Err(GatewayError::Rejected { kind, .. }) if kind == "idempotency_error" => {
            return Err(PaymentError::ChargedDifferently(order.clone()));
        }
        Err(e) => return Err(e.into()),
    };
    save(payments, order, &intent, PaymentStatus::of(&intent)).await?;
    let outcome = intent.outcome();
    tracing::info!(order = %order, intent = %intent.id, status = intent.status.as_str(), "charged");
    Ok(outcome)
}

/// What the gateway says now about an order's payment: the recorded intent
/// as it stands, or, with no record (a crash before it was written), the
/// gateway's intent for the order; `None` when the gateway never saw one.
/// A refunded payment reports `Succeeded`: it was paid.
///
/// # Errors
/// [`PaymentError::Gateway`] when the gateway is unreachable; the store's error.
pub async fn status(
    payments: &Payments,
    order_id: &OrderId,
) -> Result<Option<ChargeOutcome>, PaymentError> {
    let Some(intent) = current_intent(payments, order_id).await? else {
        return Ok(None);
    };
    save(payments, order_id, &intent, PaymentStatus::of(&intent)).await?;
    Ok(Some(intent.outcome()))
}

/// Cancels an order's unfinished payment (an abandoned 3-D Secure page) so it
/// can no longer succeed. A payment that succeeded meanwhile answers
/// `Succeeded`: the caller must then treat the order as paid.
///
/// # Errors
/// [`PaymentError::NoPayment`] when the gateway holds none for the order;
/// [`PaymentError::Gateway`]; the store's error.
pub async fn cancel(
    payments: &Payments,
    order_id: &OrderId,
) -> Result<ChargeOutcome, PaymentError> {
    let intent = current_intent(payments, order_id)
        .await?
        .ok_or_else(|| PaymentError::NoPayment(order_id.clone()))?;
    let intent = match intent.status {
        IntentStatus::Succeeded | IntentStatus::Canceled => intent,
        _ => {
            let key = format!("cancel-{order_id}");
            match payments.gateway.cancel(&intent.id, &key).await {
                Ok(canceled) => canceled,
                // It moved on meanwhile (the shopper just completed 3-D Secure).
                Err(GatewayError::Rejected {
                    payment_intent: Some(now),
                    ..
                }) if matches!(now.status, IntentStatus::Succeeded | IntentStatus::Canceled) => {
                    *now
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    save(payments, order_id, &intent, PaymentStatus::of(&intent)).await?;
    tracing::info!(order = %order_id, intent = %intent.id, status = intent.status.as_str(), "cancel asked");
    Ok(intent.outcome())
}

/// Refunds an order's payment in full, with idempotency key `refund-<orderId>`;
/// nothing to do when it was refunded already.
///
/// # Errors
/// [`PaymentError::NoPayment`] or [`PaymentError::NotPaid`] when there is no
/// succeeded payment to refund; [`PaymentError::Gateway`]; the store's error.
pub async fn refund(payments: &Payments, order_id: &OrderId) -> Result<(), PaymentError> {
    let intent = current_intent(payments, order_id)
        .await?
        .ok_or_else(|| PaymentError::NoPayment(order_id.clone()))?;
    if !intent.refunded() {
        if intent.status != IntentStatus::Succeeded {
            return Err(PaymentError::NotPaid {
                order: order_id.clone(),
                status: intent.status.as_str(),
            });
        }
        let key = format!("refund-{order_id}");
        match payments.gateway.refund(&intent.id, &key).await {
            Ok(refund) => {
                tracing::info!(order = %order_id, refund = %refund.id, "refunded");
            }
            Err(e) if e.code() == Some("charge_already_refunded") => {}
            Err(e) => return Err(e.into()),
        }
    }
    save(payments, order_id, &intent, PaymentStatus::Refunded).await?;
    Ok(())
}

/// An order's payment record, as last written.
///
/// # Errors
/// The store's error.
pub async fn record(
    payments: &Payments,
    order_id: &OrderId,
) -> Result<Option<PaymentRecord>, PaymentError> {
    read_record(payments, order_id).await
}

async fn read_record(
    payments: &Payments,
    order_id: &OrderId,
) -> Result<Option<PaymentRecord>, PaymentError> {
    let doc = payments
        .store
        .read(PAYMENTS, order_id.as_str(), RECORD_ID)
        .await?;
    Ok(doc.map(|d| d.parse()).transpose()?)
}

/// The order's intent as the gateway has it now.
async fn current_intent(
    payments: &Payments,
    order_id: &OrderId,
) -> Result<Option<PaymentIntent>, PaymentError> {
    match read_record(payments, order_id).await? {
        Some(record) => Ok(Some(payments.gateway.retrieve(&record.intent_id).await?)),
        None => Ok(payments.gateway.find_by_order(order_id).await?),
    }
}

/// Moves the order's record to what `intent` says, at `status`, when that is
/// forward; returns false when it would have moved it backwards.
async fn save(
    payments: &Payments,
    order_id: &OrderId,
    intent: &PaymentIntent,
    status: PaymentStatus,
) -> Result<bool, StoreError> {
    let mut next = PaymentRecord::from_intent(order_id, intent, payments.clock.now());
    next.status = status;
    save_record(payments, next).await
}

async fn save_record(payments: &Payments, next: PaymentRecord) -> Result<bool, StoreError> {
    let mut forward = true;
    let pk = next.order_id.as_str().to_owned();
    update(
        &*payments.store,
        PAYMENTS,
        &pk,
        RECORD_ID,
        |current: Option<PaymentRecord>| {
            forward = true;
            Ok::<_, StoreError>(match current {
                None => Change::Write(next.clone()),
                Some(old) => {
                    forward = old.status.may_become(next.status);
                    match old.advanced_to(next.clone()) {
                        Some(new) => Change::Write(new),
                        None => Change::Keep,
                    }
                }
            })
        },
    )
    .await?;
    Ok(forward)
}

/// Why a webhook delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No webhook secret is configured, so nothing can be verified.
    #[error("no webhook signing secret is configured (set JOJOMART_STRIPE_WEBHOOK_SECRET)")]
    Unconfigured,
    /// The `Stripe-Signature` header is missing.
    #[error("the Stripe-Signature header is missing")]
    Unsigned,
    /// The signature is bad or stale.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not an event we can read.
    #[error("the event cannot be read: {0}")]
    Malformed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A listener failed; the gateway will deliver the event again.
    #[error("a payment listener failed: {0}")]
    Listener(ApiError),
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Unconfigured => ApiError::Unavailable(Box::new(e)),
            WebhookError::Unsigned | WebhookError::Signature(_) => {
                ApiError::invalid_field("Stripe-Signature", e.to_string())
            }
            WebhookError::Malformed(why) => ApiError::invalid_field("body", why),
            WebhookError::Store(store) => store.into(),
            // Any failure must be a 5xx: a 4xx would tell the gateway the delivery was bad.
            WebhookError::Listener(api) if api.status().is_server_error() => api,
            WebhookError::Listener(api) => ApiError::Internal(Box::new(api)),
        }
    }
}

/// What became of a verified webhook event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied now.
    Applied,
    /// Applied before; nothing done.
    Duplicate,
    /// Not about an order payment we follow (another type, no `order_id`).
    Ignored,
}

#[derive(Debug, Deserialize)]
struct WireEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: WireEventData,
}

#[derive(Debug, Deserialize)]
struct WireEventData {
    object: Value,
}

/// What an event says about an order's payment.
enum Meaning {
    /// Not about a payment we follow.
    Ignored,
    /// An intent changed (`payment_intent.*`); the event type says how.
    Intent(PaymentIntent),
    /// A charge of `intent_id` was refunded in full (`charge.refunded`).
    Refunded {
        charge: stripe::WireCharge,
        intent_id: String,
    },
}

impl Meaning {
    /// Reads an event: intent events carry the intent, `charge.refunded` a charge.
    fn of(event: &WireEvent) -> Result<Self, WebhookError> {
        let malformed = |e: GatewayError| WebhookError::Malformed(e.to_string());
        let object = &event.data.object;
        match event.kind.as_str() {
            "payment_intent.succeeded"
            | "payment_intent.payment_failed"
            | "payment_intent.canceled"
            | "payment_intent.processing"
            | "payment_intent.requires_action" => Ok(Self::Intent(
                stripe::parse_intent(object).map_err(malformed)?,
            )),
            "charge.refunded" => {
                let charge = stripe::parse_charge(object).map_err(malformed)?;
                // A partial refund is not one we make.
                Ok(match charge.payment_intent.clone() {
                    Some(intent_id) if charge.refunded => Self::Refunded { charge, intent_id },
                    _ => Self::Ignored,
                })
            }
            _ => Ok(Self::Ignored),
        }
    }

    /// The order it is about, as the gateway's metadata says.
    fn order(&self) -> Option<String> {
        match self {
            Self::Ignored => None,
            Self::Intent(intent) => intent.order_id.clone(),
            Self::Refunded { charge, .. } => charge.order_id(),
        }
    }

    /// The order's record after this event.
    fn record(
        &self,
        order_id: &OrderId,
        current: Option<PaymentRecord>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<PaymentRecord> {
        match self {
            Self::Ignored => None,
            Self::Intent(intent) => Some(PaymentRecord::from_intent(order_id, intent, now)),
            Self::Refunded { charge, intent_id } => {
                let mut record = current.unwrap_or_else(|| PaymentRecord {
                    kind: "payment".into(),
                    order_id: order_id.clone(),
                    intent_id: intent_id.clone(),
                    status: PaymentStatus::Succeeded,
                    amount: charge.amount,
                    currency: charge.currency.to_ascii_uppercase(),
                    failure_code: None,
                    redirect_url: None,
                    updated_at: now,
                });
                record.intent_id = intent_id.clone();
                record.status = PaymentStatus::Refunded;
                record.redirect_url = None;
                record.updated_at = now;
                Some(record)
            }
        }
    }

    /// What listeners hear, for the event types they hear about.
    fn event(&self, kind: &str, order_id: OrderId) -> Option<PaymentEvent> {
        match (self, kind) {
            (Self::Intent(intent), "payment_intent.succeeded") => Some(PaymentEvent::Succeeded {
                order_id,
                gateway_ref: intent.id.clone(),
            }),
            (Self::Intent(intent), "payment_intent.payment_failed") => {
                let (code, message) = match &intent.last_error {
                    Some(f) => (f.reason().to_owned(), f.message.clone()),
                    None => (
                        "payment_failed".to_owned(),
                        "The payment did not go through.".to_owned(),
                    ),
                };
                Some(PaymentEvent::Failed {
                    order_id,
                    gateway_ref: intent.id.clone(),
                    code,
                    message,
                })
            }
            (Self::Refunded { intent_id, .. }, _) => Some(PaymentEvent::Refunded {
                order_id,
                gateway_ref: intent_id.clone(),
            }),
            _ => None,
        }
    }
}

/// Verifies and applies one webhook delivery: `body` is the raw request body,
/// `signature` the `Stripe-Signature` header, checked against the webhook
/// secret within [`signature::TOLERANCE`] of the app's clock.
///
/// # Errors
/// [`WebhookError`]: a bad or stale signature or unreadable body changes nothing;
/// a listener or store failure leaves the event to be delivered again.
pub async fn receive_event(
    payments: &Payments,
    body: &[u8],
    signature_header: Option<&str>,
) -> Result<Received, WebhookError> {
    let secret = payments
        .webhook_secret
        .as_ref()
        .ok_or(WebhookError::Unconfigured)?;
    let header = signature_header.ok_or(WebhookError::Unsigned)?;
    signature::verify(
        secret.expose(),
        header,
        body,
        payments.clock.now().timestamp(),
        signature::TOLERANCE,
    )?;
    let event: WireEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let safe_id = (1..=100).contains(&event.id.len())
        && event
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !safe_id {
        return Err(WebhookError::Malformed(format!(
            "`{}` is not an event id",
            event.id
        )));
    }
    let meaning = Meaning::of(&event)?;
    let Some(order) = meaning.order().and_then(|o| OrderId::parse(&o).ok()) else {
        tracing::info!(event = %event.id, kind = %event.kind, "webhook event ignored");
        return Ok(Received::Ignored);
    };
    let applied_id = event_doc_id(&event.id);
    if payments
        .store
        .read(PAYMENTS, order.as_str(), &applied_id)
        .await?
        .is_some()
    {
        tracing::info!(event = %event.id, order = %order, "webhook event already applied");
        return Ok(Received::Duplicate);
    }
    let current = payments
        .store
        .read(PAYMENTS, order.as_str(), RECORD_ID)
        .await?
        .map(|d| d.parse::<PaymentRecord>())
        .transpose()?;
    let forward = match meaning.record(&order, current, payments.clock.now()) {
        Some(next) => save_record(payments, next).await?,
        None => true,
    };
    if let Some(news) = meaning.event(&event.kind, order.clone()) {
        if forward {
            for listener in payments.listeners.all() {
                listener
                    .apply(news.clone())
                    .await
                    .map_err(WebhookError::Listener)?;
            }
        } else {
            tracing::info!(event = %event.id, order = %order, "webhook event older than the record; listeners not told");
        }
    }
    let applied = AppliedEvent {
        kind: "event".into(),
        order_id: order.clone(),
        event_id: event.id.clone(),
        event_type: event.kind.clone(),
        applied_at: payments.clock.now(),
    };
    let body = jojomart_shared::store::to_body(&applied)?;
    match payments
        .store
        .create(PAYMENTS, order.as_str(), &applied_id, body)
        .await
    {
        Ok(_) | Err(StoreError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(event = %event.id, kind = %event.kind, order = %order, "webhook event applied");
    Ok(Received::Applied)
}
