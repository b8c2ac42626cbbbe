//! Webhook deliveries: each event is POSTed, signed as Stripe signs it (a
//! fresh `Stripe-Signature` per attempt), to the configured URL from its own
//! task, and retried with doubling delays until an attempt gets a 2xx or the
//! attempts run out. A URL set late (the app's port is known only after it
//! binds) is picked up by the next attempt.

use std::{
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use jojomart_shared::clock::SharedClock;
use serde_json::Value;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::super::signature;

/// How deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Retries {
    /// Attempts per event, the first included.
    pub attempts: u32,
    /// The wait after the first failed attempt; it doubles after each.
    pub first_delay: Duration,
}

impl Default for Retries {
    /// 6 attempts over about 3 s (100 ms, then doubling): enough for an app
    /// to restart in a test, short enough that tests stay fast.
    fn default() -> Self {
        Self {
            attempts: 6,
            first_delay: Duration::from_millis(100),
        }
    }
}

/// Sends events to the webhook URL.
#[derive(Debug)]
pub(super) struct Deliveries {
    client: reqwest::Client,
    clock: Arc<RwLock<SharedClock>>,
    secret: String,
    url: RwLock<Option<String>>,
    retries: Mutex<Retries>,
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Deliveries {
    /// Deliveries signed with `secret` at `clock`'s time, to `url` once there is one.
    pub(super) fn new(
        clock: Arc<RwLock<SharedClock>>,
        secret: String,
        url: Option<String>,
        stop: CancellationToken,
    ) -> Self {
        Self {
            clock,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            secret,
            url: RwLock::new(url),
            retries: Mutex::new(Retries::default()),
            tracker: TaskTracker::new(),
            stop,
        }
    }

    /// Where events go from now on.
    pub(super) fn set_url(&self, url: String) {
        *self.url.write().unwrap_or_else(|e| e.into_inner()) = Some(url);
    }

    /// How deliveries are retried from now on.
    pub(super) fn set_retries(&self, retries: Retries) {
        *self.retries.lock().unwrap_or_else(|e| e.into_inner()) = retries;
    }

    fn url(&self) -> Option<String> {
        self.url.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Delivers an event from its own task.
    pub(super) fn send(self: &Arc<Self>, event: Value) {
        let this = Arc::clone(self);
        self.tracker.spawn(async move { this.deliver(event).await });
    }

    async fn deliver(&self, event: Value) {
        let body = event.to_string();
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        let retries = *self.retries.lock().unwrap_or_else(|e| e.into_inner());
        let mut delay = retries.first_delay;
        for attempt in 1..=retries.attempts.max(1) {
            if self.stop.is_cancelled() {
                return;
            }
            match self.url() {
                Some(url) => {
                    let now = self
                        .clock
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .now()
                        .timestamp();
                    let sent = self
                        .client
                        .post(&url)
                        .header("content-type", "application/json; charset=utf-8")
                        .header(
                            "user-agent",
                            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                        )
                        .header(
                            "stripe-signature",
                            signature::sign(&self.secret, now, body.as_bytes()),
                        )
                        .body(body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            tracing::debug!(event = %id, %kind, attempt, "webhook delivered");
                            return;
                        }
                        Ok(r) => {
                            tracing::info!(event = %id, %kind, attempt, status = r.status().as_u16(), "webhook refused; will retry");
                        }
                        Err(e) => {
                            tracing::info!(event = %id, %kind, attempt, error = %e, "webhook not delivered; will retry");
                        }
                    }
                }
                None => tracing::debug!(event = %id, %kind, attempt, "no webhook URL yet"),
            }
            if attempt < retries.attempts {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = self.stop.cancelled() => return,
                }
                delay *= 2;
            }
        }
        tracing::warn!(event = %id, %kind, attempts = retries.attempts, "webhook given up");
    }

    /// Stops retrying and waits for deliveries in flight.
    pub(super) async fn close(&self) {
        self.stop.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}
