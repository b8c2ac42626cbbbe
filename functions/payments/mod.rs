//! The payments service: charges, cancels and refunds through a payment
//! gateway, and hears what the gateway says through its signed webhooks.
//!
//! - [`gateway`] is the port (what checkout asks for, what an intent is);
//!   [`stripe`] its adapter over Stripe's REST API; [`simulator`] a gateway
//!   speaking the same wire, which `jojomart dev` and the tests run;
//! - [`service`] holds the rules and the public API orders calls one way
//!   ([`charge`], [`status`], [`cancel`], [`refund`], [`Payments::listen`]);
//! - [`signature`] signs and verifies `Stripe-Signature` headers;
//! - [`model`] is what is stored: one payment record per order, and the ids of
//!   the webhook events applied;
//! - one function, `payment-webhook` (`POST /api/payments/webhook`).
//!
//! Payments calls no other service; services that care about payments
//! register a [`PaymentListener`] at their own start.

pub mod gateway;
pub mod model;
pub mod service;
pub mod signature;
pub mod simulator;
pub mod stripe;
mod webhook;

use std::sync::{Arc, RwLock};

use jojomart_shared::{clock::SharedClock, config::Secret, store::SharedStore};

pub use gateway::{
    ChargeOutcome, ChargeRequest, GatewayError, NoGateway, PaymentGateway, PaymentIntent, Refund,
};
pub use model::PAYMENTS;
pub use service::{cancel, charge, refund, status, PaymentError, PaymentEvent, PaymentListener};

use crate::{
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
};

/// The webhook's path, where a gateway must send its events.
pub const WEBHOOK_PATH: &str = "/api/payments/webhook";

/// What the payments service works with: its store, the clock that judges
/// signature ages, the gateway, the webhook secret and who listens.
#[derive(Clone, Debug)]
pub struct Payments {
    store: SharedStore,
    clock: SharedClock,
    gateway: Arc<dyn PaymentGateway>,
    webhook_secret: Option<Secret<String>>,
    listeners: Listeners,
}
crate::service_handle!(Payments);

impl Payments {
    /// A handle over these adapters and this gateway.
    pub fn new(
        store: SharedStore,
        clock: SharedClock,
        gateway: Arc<dyn PaymentGateway>,
        webhook_secret: Option<Secret<String>>,
    ) -> Self {
        Self {
            store,
            clock,
            gateway,
            webhook_secret,
            listeners: Listeners::default(),
        }
    }

    /// Registers a listener for payment events (every clone of this handle shares it).
    pub fn listen(&self, listener: Arc<dyn PaymentListener>) {
        self.listeners.add(listener);
    }

    /// The gateway this service charges through.
    pub fn gateway(&self) -> &Arc<dyn PaymentGateway> {
        &self.gateway
    }
}

/// The registered listeners, shared by every clone of the handle.
#[derive(Clone, Default)]
struct Listeners(Arc<RwLock<Vec<Arc<dyn PaymentListener>>>>);

impl Listeners {
    fn add(&self, listener: Arc<dyn PaymentListener>) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    fn all(&self) -> Vec<Arc<dyn PaymentListener>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listeners({})", self.all().len())
    }
}

/// The payments service.
pub fn service() -> ServiceDef {
    ServiceDef::new("payments")
        .containers(&[PAYMENTS])
        .functions(vec![FunctionDef::http_anonymous("payment-webhook", || {
            utoipa_axum::routes!(webhook::payment_webhook)
        })])
        .start(|cx| Box::pin(start(cx)))
}

/// Builds the handle: the Stripe adapter when a secret key is configured,
/// otherwise a gateway that answers every charge with 503.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let settings = &cx.config.payments;
    let gateway: Arc<dyn PaymentGateway> = match &settings.secret_key {
        Some(key) => {
            tracing::info!(api = %settings.api_base, "payments go through the Stripe API");
            Arc::new(stripe::StripeGateway::new(stripe::StripeSettings::new(
                settings.api_base.clone(),
                key.clone(),
            )))
        }
        None => {
            tracing::warn!(
                "JOJOMART_STRIPE_SECRET_KEY is not set: charging answers 503 until a payment gateway is configured"
            );
            Arc::new(NoGateway)
        }
    };
    if settings.secret_key.is_some() && settings.webhook_secret.is_none() {
        tracing::warn!(
            "JOJOMART_STRIPE_WEBHOOK_SECRET is not set: the payment webhook answers 503"
        );
    }
    cx.handles.insert(Payments::new(
        cx.adapters.store.clone(),
        cx.adapters.clock.clone(),
        gateway,
        settings.webhook_secret.clone(),
    ));
    Ok(())
}
