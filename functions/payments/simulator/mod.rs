//! A payment gateway simulator that speaks Stripe's wire, so the Stripe
//! adapter is exercised as it is in production: `jojomart dev` runs one in
//! process when no Stripe key is configured, the tests run one per app, and
//! `jojomart gateway-simulator` runs one on its own.
//!
//! It serves `POST /v1/payment_intents` (create and confirm),
//! `GET /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}/cancel`,
//! `GET /v1/payment_intents/search`, `GET /v1/payment_intents` (pages with
//! `limit`, `starting_after`, `has_more`) and `POST /v1/refunds`, behind bearer
//! auth with its secret key, with Stripe's idempotency ([`ledger`]). Stripe's
//! test PaymentMethods behave as in Stripe's test mode: `pm_card_visa`
//! succeeds, `pm_card_chargeDeclined` and `pm_card_chargeDeclinedInsufficientFunds`
//! are declined, `pm_card_threeDSecure2Required` needs the shopper on
//! `GET /3ds/{intent}`, a page with "Complete" and "Fail" buttons. Every change
//! is announced by a signed webhook event ([`webhooks`]). State is in memory.
//!
//! Unlike Stripe, a 3-D Secure intent created without `return_url` still gets
//! a `redirect_to_url` next action (Stripe would ask for its JS SDK).

mod ledger;
mod webhooks;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};
use jojomart_shared::clock::{SharedClock, SystemClock};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use ledger::{Answer, Ledger, PageResult, Params, Posted};
use webhooks::{Deliveries, Retries};

use super::stripe::STRIPE_VERSION;

/// How a simulator starts: its secrets and where its webhooks go.
#[derive(Clone, Default)]
pub struct SimulatorSettings {
    /// The secret API key clients must present as a bearer token.
    pub secret_key: String,
    /// The secret webhook events are signed with.
    pub webhook_secret: String,
    /// Where webhook events go (may be set later with [`Simulator::set_webhook_url`]).
    pub webhook_url: Option<String>,
}

impl SimulatorSettings {
    /// Fresh random secrets (`sk_test_...`, `whsec_...`) and no webhook URL yet.
    pub fn random() -> Self {
        Self {
            secret_key: ledger::new_id("sk_test"),
            webhook_secret: ledger::new_id("whsec"),
            webhook_url: None,
        }
    }
}

impl std::fmt::Debug for SimulatorSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorSettings")
            .field("secret_key", &"<redacted>")
            .field("webhook_secret", &"<redacted>")
            .field("webhook_url", &self.webhook_url)
            .finish()
    }
}

/// What the handlers share.
#[derive(Debug)]
struct Sim {
    secret_key: String,
    clock: Arc<RwLock<SharedClock>>,
    ledger: Mutex<Ledger>,
    deliveries: Arc<Deliveries>,
}

impl Sim {
    /// Now, in Unix seconds, by the simulator's clock.
    fn now(&self) -> i64 {
        self.clock
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .now()
            .timestamp()
    }

    /// Runs a write under the ledger's lock, then sends the events it caused.
    fn post(
        &self,
        headers: &HeaderMap,
        endpoint: &str,
        body: &[u8],
        run: impl FnOnce(&mut Ledger, &Params, i64) -> Result<(Answer, Vec<ledger::Event>), Answer>,
    ) -> Response {
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty());
        let params = parse_form(body);
        let now = self.now();
        let posted: Posted = self.ledger.lock().unwrap_or_else(|e| e.into_inner()).post(
            key,
            endpoint,
            params,
            |ledger, params| run(ledger, params, now),
        );
        for event in &posted.events {
            self.deliveries.send(ledger::event_json(event, now));
        }
        let mut response = json_response(posted.answer);
        if posted.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }

    fn read(&self, run: impl FnOnce(&Ledger) -> Answer) -> Response {
        json_response(run(&self.ledger.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct Simulator {
    base_url: String,
    sim: Arc<Sim>,
    stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free one) and serves until [`Simulator::stop`]
    /// (or until it is dropped).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(addr: SocketAddr, settings: SimulatorSettings) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let stop = CancellationToken::new();
        let clock: Arc<RwLock<SharedClock>> = Arc::new(RwLock::new(Arc::new(SystemClock)));
        let sim = Arc::new(Sim {
            secret_key: settings.secret_key,
            clock: clock.clone(),
            ledger: Mutex::new(Ledger::new(base_url.clone())),
            deliveries: Arc::new(Deliveries::new(
                clock,
                settings.webhook_secret,
                settings.webhook_url,
                stop.child_token(),
            )),
        });
        let api = Router::new()
            .route("/v1/payment_intents", post(create_intent).get(list_intents))
            .route("/v1/payment_intents/search", get(search_intents))
            .route("/v1/payment_intents/{id}", get(retrieve_intent))
            .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
            .route("/v1/refunds", post(create_refund))
            .fallback(unknown_url)
            .layer(middleware::from_fn_with_state(sim.clone(), authenticate));
        let router = Router::new()
            .route("/3ds/{id}", get(show_page).post(submit_page))
            .merge(api)
            .with_state(sim.clone());
        let shutdown = stop.clone();
        let server = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the gateway simulator stopped");
            }
        });
        tracing::info!(url = %base_url, "gateway simulator listening");
        Ok(Self {
            base_url,
            sim,
            stop,
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:<port>`: the API base for the Stripe adapter.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The secret API key it accepts.
    pub fn secret_key(&self) -> &str {
        &self.sim.secret_key
    }

    /// Where webhook events go from now on (also for events still being retried).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.sim.deliveries.set_url(url.into());
    }

    /// Tells time by `clock` from now on (object timestamps and webhook
    /// signatures), so an app on a fake clock accepts its signatures.
    pub fn set_clock(&self, clock: SharedClock) {
        *self.sim.clock.write().unwrap_or_else(|e| e.into_inner()) = clock;
    }

    /// How webhook deliveries are retried: `attempts` in all, the first wait
    /// `first_delay`, doubling after each (default 6 attempts from 100 ms).
    pub fn set_webhook_retries(&self, attempts: u32, first_delay: Duration) {
        self.sim.deliveries.set_retries(Retries {
            attempts,
            first_delay,
        });
    }

    /// Stops taking requests, finishes those in flight, stops retrying webhooks.
    pub async fn stop(mut self) {
        self.sim.deliveries.close().await;
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn parse_form(bytes: &[u8]) -> Params {
    form_urlencoded::parse(bytes).into_owned().collect()
}

fn json_response(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body.to_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert("stripe-version", HeaderValue::from_static(STRIPE_VERSION));
    if let Ok(id) = HeaderValue::from_str(&ledger::new_id("req")) {
        headers.insert("request-id", id);
    }
    response
}

/// The key in an `Authorization` header: `Bearer <key>`, or `Basic` with the
/// key as user name (`curl -u sk_test_...:`), both as Stripe takes them.
fn presented_key(value: &str) -> Option<String> {
    use base64::Engine as _;
    if let Some(key) = value.strip_prefix("Bearer ") {
        return Some(key.trim().to_owned());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next().unwrap_or_default().to_owned())
}

/// Refuses API calls without the secret key, as Stripe does.
async fn authenticate(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(presented_key);
    match presented {
        Some(key) if key == sim.secret_key => next.run(request).await,
        Some(key) => {
            let shown: String = key.chars().take(8).collect();
            json_response(Answer {
                status: 401,
                body: json!({"error": {"type": "invalid_request_error",
                    "message": format!("Invalid API Key provided: {shown}****")}}),
            })
        }
        None => json_response(Answer {
            status: 401,
            body: json!({"error": {"type": "invalid_request_error",
                "message": "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."}}),
        }),
    }
}

async fn unknown_url(request: Request) -> Response {
    json_response(Answer {
        status: 404,
        body: json!({"error": {"type": "invalid_request_error",
            "message": format!("Unrecognized request URL ({}: {}).", request.method(), request.uri().path())}}),
    })
}

async fn create_intent(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    sim.post(
        &headers,
        "/v1/payment_intents",
        &body,
        |ledger, params, now| ledger.create_intent(params, now),
    )
}

async fn cancel_intent(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = format!("/v1/payment_intents/{id}/cancel");
    sim.post(&headers, &endpoint, &body, |ledger, params, now| {
        ledger.cancel(&id, params, now)
    })
}

async fn create_refund(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    sim.post(&headers, "/v1/refunds", &body, |ledger, params, now| {
        ledger.refund(params, now)
    })
}

async fn retrieve_intent(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_form(query.unwrap_or_default().as_bytes());
    sim.read(|ledger| ledger.retrieve(&id, &params))
}

async fn list_intents(State(sim): State<Arc<Sim>>, RawQuery(query): RawQuery) -> Response {
    let params = parse_form(query.unwrap_or_default().as_bytes());
    sim.read(|ledger| ledger.list(&params))
}

async fn search_intents(State(sim): State<Arc<Sim>>, RawQuery(query): RawQuery) -> Response {
    let params = parse_form(query.unwrap_or_default().as_bytes());
    sim.read(|ledger| ledger.search(&params))
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title)
    )
}

/// `GET /3ds/{intent}`: the shopper's 3-D Secure page.
async fn show_page(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let described = sim
        .ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .describe(&id);
    match described {
        None => (
            StatusCode::NOT_FOUND,
            Html(page("Unknown payment", "<p>No such payment.</p>")),
        )
            .into_response(),
        Some((amount, currency, "requires_action")) => {
            let body = format!(
                "<p>jojomart gateway simulator: authenticate a payment of {}.{:02} {} ({}).</p>\n\
                 <form method=\"post\" action=\"/3ds/{id}\">\n\
                 <button type=\"submit\" name=\"action\" value=\"complete\">Complete</button>\n\
                 <button type=\"submit\" name=\"action\" value=\"fail\">Fail</button>\n\
                 </form>",
                amount / 100,
                amount % 100,
                escape(&currency.to_ascii_uppercase()),
                escape(&id),
                id = escape(&id),
            );
            Html(page("3-D Secure 2 test authentication", &body)).into_response()
        }
        Some((_, _, status)) => (
            StatusCode::CONFLICT,
            Html(page(
                "Nothing to authenticate",
                &format!("<p>This payment is {status}.</p>"),
            )),
        )
            .into_response(),
    }
}

/// `POST /3ds/{intent}` with `action=complete|fail`: the shopper's answer.
async fn submit_page(State(sim): State<Arc<Sim>>, Path(id): Path<String>, body: Bytes) -> Response {
    let params = parse_form(&body);
    let success = match params
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.as_str())
    {
        Some("complete") => true,
        Some("fail") => false,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Html(page("Bad request", "<p>Choose Complete or Fail.</p>")),
            )
                .into_response()
        }
    };
    let now = sim.now();
    let result = sim
        .ledger
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .authenticate(&id, success, now);
    match result {
        PageResult::Unknown => (
            StatusCode::NOT_FOUND,
            Html(page("Unknown payment", "<p>No such payment.</p>")),
        )
            .into_response(),
        PageResult::NotWaiting(status) => (
            StatusCode::CONFLICT,
            Html(page(
                "Nothing to authenticate",
                &format!("<p>This payment is {status}.</p>"),
            )),
        )
            .into_response(),
        PageResult::Done {
            status,
            redirect,
            events,
        } => {
            for event in &events {
                sim.deliveries.send(ledger::event_json(event, now));
            }
            match redirect {
                Some(url) => Redirect::to(&url).into_response(),
                None => Html(page(
                    if status == "succeeded" {
                        "Payment authenticated"
                    } else {
                        "Authentication failed"
                    },
                    "<p>You can close this page.</p>",
                ))
                .into_response(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_taken_as_bearer_or_basic_user_name() {
        assert_eq!(
            presented_key("Bearer sk_test_a").as_deref(),
            Some("sk_test_a")
        );
        // printf 'sk_test_a:' | base64
        assert_eq!(
            presented_key("Basic c2tfdGVzdF9hOg==").as_deref(),
            Some("sk_test_a")
        );
        assert_eq!(presented_key("Basic !!"), None);
        assert_eq!(presented_key("Token sk_test_a"), None);
    }

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
