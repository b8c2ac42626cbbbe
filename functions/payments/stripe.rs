//! The Stripe adapter of the gateway port, over Stripe's REST API (or anything
//! speaking its wire, such as [`super::simulator`]).
//!
//! Requests are form-encoded, authenticated with the secret key as a bearer
//! token and pinned to one API version ([`STRIPE_VERSION`]). Every call that
//! changes something carries an `Idempotency-Key`; a network error, a timeout,
//! a 429, a 5xx or a 409 "key in use" is retried with the same key (Stripe
//! replays the first result), unless Stripe says `Stripe-Should-Retry: false`.
//!
//! A charge is created and confirmed in one call with `payment_method_types[]=card`
//! and, when checkout gives one, a `return_url`: a card that needs 3-D Secure then
//! comes back `requires_action` with `next_action.redirect_to_url`, a page we hand
//! to the shopper (server-side confirmation without Stripe.js).

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use jojomart_shared::{config::Secret, domain::OrderId};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use super::gateway::{
    ChargeRequest, GatewayError, IntentStatus, PaymentFailure, PaymentGateway, PaymentIntent,
    Refund,
};

/// The Stripe API version every request is pinned to.
pub const STRIPE_VERSION: &str = "2024-06-20";

/// How to reach Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `https://api.stripe.com`, or the simulator's base URL.
    pub api_base: String,
    /// The secret API key (`sk_...`).
    pub secret_key: Secret<String>,
    /// The longest one attempt may take.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles after each.
    pub retry_delay: Duration,
}

impl StripeSettings {
    /// Settings with the default timeout (20 s) and retries (3 attempts, from 250 ms).
    pub fn new(api_base: impl Into<String>, secret_key: Secret<String>) -> Self {
        Self {
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            secret_key,
            timeout: Duration::from_secs(20),
            max_attempts: 3,
            retry_delay: Duration::from_millis(250),
        }
    }
}

/// The Stripe adapter.
#[derive(Debug, Clone)]
pub struct StripeGateway {
    client: reqwest::Client,
    settings: StripeSettings,
}

/// A call to make: method, path (with its query) and form body.
struct Call<'a> {
    method: Method,
    path: String,
    form: Option<String>,
    idempotency_key: Option<&'a str>,
}

impl StripeGateway {
    /// An adapter with its own HTTP client.
    pub fn new(settings: StripeSettings) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .build()
            .unwrap_or_default();
        Self { client, settings }
    }

    /// Sends a call, retrying what Stripe says may be retried; the final
    /// status and JSON body, or [`GatewayError::Unavailable`] once attempts run out.
    async fn send(&self, call: &Call<'_>) -> Result<(StatusCode, Value), GatewayError> {
        let url = format!("{}{}", self.settings.api_base, call.path);
        let attempts = self.settings.max_attempts.max(1);
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(self.settings.retry_delay * 2u32.pow(attempt - 1)).await;
            }
            let mut request = self
                .client
                .request(call.method.clone(), &url)
                .bearer_auth(self.settings.secret_key.expose())
                .header("Stripe-Version", STRIPE_VERSION);
            if let Some(key) = call.idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(form) = &call.form {
                request = request
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(form.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => {
                    last = format!("{} {}: {e}", call.method, call.path);
                    tracing::warn!(attempt, error = %e, path = %call.path, "stripe call failed; retrying");
                    continue;
                }
            };
            let status = response.status();
            let should_retry = response
                .headers()
                .get("stripe-should-retry")
                .and_then(|v| v.to_str().ok())
                .map(|v| v == "true");
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => {
                    last = format!("{} {}: reading the answer: {e}", call.method, call.path);
                    continue;
                }
            };
            let json = serde_json::from_slice::<Value>(&body);
            let retry = should_retry.unwrap_or_else(|| {
                status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || (status == StatusCode::CONFLICT
                        && json.as_ref().is_ok_and(|j| {
                            j["error"]["code"] == "idempotency_key_in_use"
                                || j["error"]["code"] == "lock_timeout"
                        }))
            });
            if retry && !status.is_success() {
                last = format!("{} {} answered {status}", call.method, call.path);
                tracing::warn!(attempt, %status, path = %call.path, "stripe asked for a retry");
                continue;
            }
            return match json {
                Ok(json) => Ok((status, json)),
                Err(e) => Err(GatewayError::Protocol(format!(
                    "{} {} answered {status} with a body that is not JSON: {e}",
                    call.method, call.path
                ))),
            };
        }
        Err(GatewayError::Unavailable(format!(
            "{last} (after {attempts} attempts)"
        )))
    }

    /// Sends a call and reads a 2xx body with `parse`; any other answer is an error.
    async fn expect<T>(
        &self,
        call: Call<'_>,
        parse: impl FnOnce(&Value) -> Result<T, GatewayError>,
    ) -> Result<T, GatewayError> {
        let (status, body) = self.send(&call).await?;
        if status.is_success() {
            parse(&body)
        } else {
            Err(error_of(status, &body))
        }
    }
}

/// The form body of a charge, in the order the contract tests pin.
pub fn charge_form(req: &ChargeRequest) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("amount", &req.amount.to_string())
        .append_pair("currency", &req.currency.to_ascii_lowercase())
        .append_pair("payment_method", &req.payment_method)
        .append_pair("confirm", "true")
        .append_pair("payment_method_types[]", "card")
        .append_pair("metadata[order_id]", req.order_id.as_str());
    if let Some(url) = &req.return_url {
        form.append_pair("return_url", url);
    }
    if let Some(email) = &req.email {
        form.append_pair("receipt_email", email);
    }
    form.finish()
}

/// A path segment made of an id (`pi_...`): only letters, digits and `_` pass.
fn id_segment(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(GatewayError::Protocol(format!(
            "`{id}` is not a Stripe object id"
        )))
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn create_and_confirm(
        &self,
        req: &ChargeRequest,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let call = Call {
            method: Method::POST,
            path: "/v1/payment_intents".into(),
            form: Some(charge_form(req)),
            idempotency_key: Some(idempotency_key),
        };
        let (status, body) = self.send(&call).await?;
        if status.is_success() {
            return parse_intent(&body);
        }
        match error_of(status, &body) {
            // A decline leaves a declined intent behind; that is the answer.
            GatewayError::Rejected {
                status: 402,
                payment_intent: Some(intent),
                ..
            } => Ok(*intent),
            other => Err(other),
        }
    }

    async fn retrieve(&self, intent_id: &str) -> Result<PaymentIntent, GatewayError> {
        let path = format!(
            "/v1/payment_intents/{}?{}",
            id_segment(intent_id)?,
            query(&[("expand[]", "latest_charge")])
        );
        self.expect(
            Call {
                method: Method::GET,
                path,
                form: None,
                idempotency_key: None,
            },
            parse_intent,
        )
        .await
    }

    async fn find_by_order(
        &self,
        order_id: &OrderId,
    ) -> Result<Option<PaymentIntent>, GatewayError> {
        // Order ids hold no quote or backslash (OrderId's alphabet), so the
        // value needs no escaping inside the search query's quotes.
        let search = format!("metadata['order_id']:'{}'", order_id.as_str());
        let path = format!(
            "/v1/payment_intents/search?{}",
            query(&[
                ("query", &search),
                ("limit", "10"),
                ("expand[]", "data.latest_charge")
            ])
        );
        let found = self
            .expect(
                Call {
                    method: Method::GET,
                    path,
                    form: None,
                    idempotency_key: None,
                },
                |body| parse_list(body).map(|(intents, _)| intents),
            )
            .await?;
        // One order has one intent; should there be more, the paid one (or else the newest) counts.
        Ok(found
            .into_iter()
            .filter(|i| i.order_id.as_deref() == Some(order_id.as_str()))
            .max_by_key(|i| (i.status == IntentStatus::Succeeded, i.created)))
    }

    async fn cancel(
        &self,
        intent_id: &str,
        idempotency_key: &str,
    ) -> Result<PaymentIntent, GatewayError> {
        let path = format!("/v1/payment_intents/{}/cancel", id_segment(intent_id)?);
        self.expect(
            Call {
                method: Method::POST,
                path,
                form: Some(query(&[("cancellation_reason", "abandoned")])),
                idempotency_key: Some(idempotency_key),
            },
            parse_intent,
        )
        .await
    }

    async fn refund(&self, intent_id: &str, idempotency_key: &str) -> Result<Refund, GatewayError> {
        let form = query(&[("payment_intent", id_segment(intent_id)?)]);
        self.expect(
            Call {
                method: Method::POST,
                path: "/v1/refunds".into(),
                form: Some(form),
                idempotency_key: Some(idempotency_key),
            },
            parse_refund,
        )
        .await
    }

    async fn list(&self) -> Result<Vec<PaymentIntent>, GatewayError> {
        let mut all: Vec<PaymentIntent> = Vec::new();
        loop {
            let mut pairs = vec![("limit", "100"), ("expand[]", "data.latest_charge")];
            let after = all.last().map(|i| i.id.clone());
            if let Some(after) = &after {
                pairs.push(("starting_after", after));
            }
            let (page, has_more) = self
                .expect(
                    Call {
                        method: Method::GET,
                        path: format!("/v1/payment_intents?{}", query(&pairs)),
                        form: None,
                        idempotency_key: None,
                    },
                    parse_list,
                )
                .await?;
            let empty = page.is_empty();
            all.extend(page);
            if !has_more || empty {
                return Ok(all);
            }
        }
    }
}

// ---- the wire: Stripe's JSON objects, read leniently (fields may be added) ----

#[derive(Debug, Deserialize)]
struct WireIntent {
    id: String,
    status: IntentStatus,
    amount: i64,
    currency: String,
    #[serde(default)]
    metadata: HashMap<String, Value>,
    #[serde(default)]
    next_action: Option<WireNextAction>,
    #[serde(default)]
    last_payment_error: Option<WireError>,
    #[serde(default)]
    latest_charge: Option<ChargeRef>,
    #[serde(default)]
    created: i64,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ChargeRef {
    Id(String),
    Expanded(WireCharge),
}

/// A Charge object, as `charge.refunded` events carry it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireCharge {
    /// `ch_...`.
    pub id: String,
    /// Minor units charged.
    #[serde(default)]
    pub amount: i64,
    /// Minor units refunded so far.
    #[serde(default)]
    pub amount_refunded: i64,
    /// ISO 4217, lower-case as Stripe writes it.
    #[serde(default)]
    pub currency: String,
    /// True once refunded in full.
    #[serde(default)]
    pub refunded: bool,
    /// The intent it belongs to.
    #[serde(default)]
    pub payment_intent: Option<String>,
    /// Its metadata (Stripe copies the intent's).
    #[serde(default)]
    pub metadata: HashMap<String, Value>,
}

impl WireCharge {
    /// The `order_id` metadata.
    pub fn order_id(&self) -> Option<String> {
        metadata_string(&self.metadata, "order_id")
    }
}

#[derive(Debug, Deserialize)]
struct WireNextAction {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    redirect_to_url: Option<WireRedirect>,
}

#[derive(Debug, Deserialize)]
struct WireRedirect {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    decline_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    payment_intent: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct WireList {
    data: Vec<Value>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct WireRefund {
    id: String,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    status: Option<String>,
}

fn metadata_string(metadata: &HashMap<String, Value>, key: &str) -> Option<String> {
    metadata.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn unreadable(what: &str, e: serde_json::Error) -> GatewayError {
    GatewayError::Protocol(format!("not a {what}: {e}"))
}

/// Reads a PaymentIntent object (`latest_charge` as an id or expanded).
///
/// # Errors
/// [`GatewayError::Protocol`] when it is not one.
pub fn parse_intent(body: &Value) -> Result<PaymentIntent, GatewayError> {
    let wire = WireIntent::deserialize(body).map_err(|e| unreadable("PaymentIntent", e))?;
    let redirect_url = wire
        .next_action
        .as_ref()
        .filter(|a| a.kind == "redirect_to_url")
        .and_then(|a| a.redirect_to_url.as_ref())
        .and_then(|r| r.url.clone());
    let (latest_charge, amount_refunded) = match wire.latest_charge {
        Some(ChargeRef::Id(id)) => (Some(id), 0),
        Some(ChargeRef::Expanded(charge)) => (Some(charge.id), charge.amount_refunded),
        None => (None, 0),
    };
    Ok(PaymentIntent {
        order_id: metadata_string(&wire.metadata, "order_id"),
        id: wire.id,
        status: wire.status,
        amount: wire.amount,
        currency: wire.currency.to_ascii_uppercase(),
        redirect_url,
        last_error: wire.last_payment_error.map(|e| PaymentFailure {
            code: e.code.unwrap_or_else(|| "payment_failed".to_owned()),
            decline_code: e.decline_code,
            message: e
                .message
                .unwrap_or_else(|| "The payment did not go through.".to_owned()),
        }),
        latest_charge,
        amount_refunded,
        created: wire.created,
    })
}

/// Reads a Charge object.
///
/// # Errors
/// [`GatewayError::Protocol`] when it is not one.
pub fn parse_charge(body: &Value) -> Result<WireCharge, GatewayError> {
    WireCharge::deserialize(body).map_err(|e| unreadable("Charge", e))
}

/// Reads a list or search result of intents, and whether more follow.
fn parse_list(body: &Value) -> Result<(Vec<PaymentIntent>, bool), GatewayError> {
    let list = WireList::deserialize(body).map_err(|e| unreadable("list", e))?;
    let intents = list
        .data
        .iter()
        .map(parse_intent)
        .collect::<Result<_, _>>()?;
    Ok((intents, list.has_more))
}

fn parse_refund(body: &Value) -> Result<Refund, GatewayError> {
    let wire = WireRefund::deserialize(body).map_err(|e| unreadable("Refund", e))?;
    Ok(Refund {
        id: wire.id,
        payment_intent: wire.payment_intent,
        amount: wire.amount,
        status: wire.status.unwrap_or_default(),
    })
}

/// What a non-2xx answer means: `{"error": {type, code, decline_code, message, payment_intent}}`.
/// A 402 `card_error` without an intent is [`GatewayError::Declined`]; one
/// with an intent stays a rejection carrying it (the charge call reads it).
pub fn error_of(status: StatusCode, body: &Value) -> GatewayError {
    let error = WireError::deserialize(&body["error"]).unwrap_or_default();
    let payment_intent = error
        .payment_intent
        .as_ref()
        .and_then(|pi| parse_intent(pi).ok())
        .map(Box::new);
    let kind = error.kind.unwrap_or_else(|| "api_error".to_owned());
    let message = error
        .message
        .unwrap_or_else(|| format!("the gateway answered {status}"));
    if status == StatusCode::PAYMENT_REQUIRED && payment_intent.is_none() {
        return GatewayError::Declined {
            code: error
                .decline_code
                .or(error.code)
                .unwrap_or_else(|| "card_declined".to_owned()),
            message,
        };
    }
    GatewayError::Rejected {
        status: status.as_u16(),
        kind,
        code: error.code,
        message,
        payment_intent,
    }
}
