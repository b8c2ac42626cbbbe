//! Payments, typed: the Stripe adapter pointed at the app's gateway
//! simulator (tests reach the simulator only through it, plus the shopper's
//! 3-D Secure page), the webhook endpoint, signed deliveries, and a listener
//! that records what it hears.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use futures::future::BoxFuture;
use jojomart::payments::{
    signature,
    stripe::{StripeGateway, StripeSettings},
    ChargeRequest, PaymentEvent, PaymentListener, Payments, WEBHOOK_PATH,
};
use jojomart_shared::{config::Secret, domain::OrderId, error::ApiError};

use super::{eventually, TestApp};

/// `app.payments()`.
pub struct PaymentsApi<'a>(pub(super) &'a TestApp);

impl PaymentsApi<'_> {
    /// The Stripe adapter on this app's simulator, with the app's secret key.
    pub fn gateway(&self) -> StripeGateway {
        let mut settings = StripeSettings::new(
            self.0.simulator.base_url(),
            Secret::new(self.0.gateway_secrets.secret_key.clone()),
        );
        settings.retry_delay = Duration::from_millis(20);
        StripeGateway::new(settings)
    }

    /// The payments service's handle.
    pub fn handle(&self) -> Payments {
        self.0.state.handle()
    }

    /// The secret webhook deliveries are signed with.
    pub fn webhook_secret(&self) -> &str {
        &self.0.gateway_secrets.webhook_secret
    }

    /// Registers a listener that records every event (and fails when told to).
    pub fn record_events(&self) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder::default());
        self.handle().listen(recorder.clone());
        recorder
    }

    /// `POST /api/payments/webhook` with this raw body and `Stripe-Signature`, if any.
    pub async fn deliver(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut request = self
            .0
            .client
            .post(self.0.url(WEBHOOK_PATH))
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        request.send().await.expect("webhook delivered")
    }

    /// Delivers `body` signed with the app's webhook secret, timestamped now.
    pub async fn deliver_signed(&self, body: &str) -> reqwest::Response {
        let header = signature::sign(
            self.webhook_secret(),
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        self.deliver(body, Some(&header)).await
    }

    /// The shopper answers the 3-D Secure page at `url` with `action`
    /// (`complete` or `fail`), as a browser submits its form; redirects are not followed.
    pub async fn answer_3ds(&self, url: &str, action: &str) -> reqwest::Response {
        let page = self
            .0
            .client
            .get(url)
            .send()
            .await
            .expect("3-D Secure page");
        assert_eq!(page.status(), 200, "the page is shown");
        let html = page.text().await.expect("page text");
        assert!(
            html.contains(&format!("value=\"{action}\"")),
            "the page offers `{action}`: {html}"
        );
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        browser
            .post(url)
            .form(&[("action", action)])
            .send()
            .await
            .expect("3-D Secure answer")
    }
}

/// A charge for `order` with `payment_method`: 19.99 EUR, returning to a shop page.
pub fn charge_request(order: &OrderId, payment_method: &str) -> ChargeRequest {
    ChargeRequest {
        order_id: order.clone(),
        amount: 1999,
        currency: "EUR".into(),
        payment_method: payment_method.into(),
        return_url: Some("https://shop.example/checkout/return".into()),
        email: Some("shopper@jojomart.test".into()),
    }
}

/// A listener that records the events it hears; it fails the next `n` when told to.
#[derive(Default)]
pub struct Recorder {
    events: Mutex<Vec<PaymentEvent>>,
    failures: AtomicUsize,
    calls: AtomicUsize,
}

impl Recorder {
    /// The events applied so far.
    pub fn events(&self) -> Vec<PaymentEvent> {
        self.events.lock().unwrap().clone()
    }

    /// How often it was called, failures included.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Fails the next `n` calls with a 503.
    pub fn fail_next(&self, n: usize) {
        self.failures.store(n, Ordering::SeqCst);
    }

    /// Waits until an event about `order` was applied, and returns it.
    pub async fn wait_for(&self, order: &OrderId) -> PaymentEvent {
        eventually(Duration::from_secs(10), "a payment event", || async {
            self.events().into_iter().find(|e| e.order_id() == order)
        })
        .await
    }
}

impl PaymentListener for Recorder {
    fn apply<'a>(&'a self, event: PaymentEvent) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let fail = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                return Err(ApiError::Unavailable(Box::new(std::io::Error::other(
                    "the test listener was told to fail",
                ))));
            }
            self.events.lock().unwrap().push(event);
            Ok(())
        })
    }
}

/// What orders tests ask the gateway, through the adapter.
impl PaymentsApi<'_> {
    /// Every payment the gateway holds.
    pub async fn intents(&self) -> Vec<jojomart::payments::PaymentIntent> {
        use jojomart::payments::PaymentGateway;
        self.gateway()
            .list()
            .await
            .expect("the gateway lists its payments")
    }

    /// How many payments succeeded at the gateway (refunded ones included).
    pub async fn succeeded_charges(&self) -> usize {
        self.intents()
            .await
            .iter()
            .filter(|i| i.status == jojomart::payments::gateway::IntentStatus::Succeeded)
            .count()
    }

    /// How many payments the gateway holds for `order`.
    pub async fn charges_for(&self, order: &str) -> usize {
        self.intents()
            .await
            .iter()
            .filter(|i| i.order_id.as_deref() == Some(order))
            .count()
    }

    /// True when the gateway refunded `order`'s payment in full.
    pub async fn refunded(&self, order: &str) -> bool {
        self.intents()
            .await
            .iter()
            .any(|i| i.order_id.as_deref() == Some(order) && i.refunded())
    }

    /// The shopper completes the 3-D Secure page (303 back to the shop).
    pub async fn complete_3ds(&self, url: &str) {
        let r = self.answer_3ds(url, "complete").await;
        assert!(
            r.status().is_redirection() || r.status().is_success(),
            "completing 3-D Secure: {}",
            r.status()
        );
    }

    /// The shopper tries to complete a 3-D Secure page that may be gone; its answer status.
    pub async fn try_complete_3ds(&self, url: &str) -> u16 {
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        browser
            .post(url)
            .form(&[("action", "complete")])
            .send()
            .await
            .expect("3-D Secure answer")
            .status()
            .as_u16()
    }
}
