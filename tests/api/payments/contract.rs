//! The Stripe adapter's wire, pinned: a recording server stands in for
//! Stripe, keeps the exact request line, headers and form body the adapter
//! sends, and answers with fixtures shaped as Stripe's API reference shows
//! its objects (a PaymentIntent waiting for 3-D Secure with
//! `next_action.redirect_to_url`, a Refund, a 402 `card_error`).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    Router,
};
use jojomart::payments::{
    gateway::IntentStatus,
    stripe::{StripeGateway, StripeSettings, STRIPE_VERSION},
    ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway,
};
use jojomart_shared::{config::Secret, domain::OrderId};
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Stand {
    seen: Arc<Mutex<Vec<Seen>>>,
    answers: Arc<Mutex<Vec<(u16, Value)>>>,
}

/// A server that records every request and gives the next canned answer.
struct FakeStripe {
    base: String,
    stand: Stand,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeStripe {
    async fn start(answers: Vec<(u16, Value)>) -> Self {
        async fn record(State(stand): State<Stand>, request: Request) -> impl IntoResponse {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            stand.seen.lock().unwrap().push(Seen {
                line: format!(
                    "{} {}",
                    parts.method,
                    parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
                ),
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let (status, body) = {
                let mut answers = stand.answers.lock().unwrap();
                if answers.is_empty() {
                    (
                        500,
                        json!({"error": {"type": "api_error", "message": "no answer left"}}),
                    )
                } else {
                    answers.remove(0)
                }
            };
            (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body.to_string(),
            )
        }
        let stand = Stand {
            answers: Arc::new(Mutex::new(answers)),
            ..Stand::default()
        };
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new().fallback(record).with_state(stand.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            base,
            stand,
            stop: Some(stop),
        }
    }

    fn gateway(&self) -> StripeGateway {
        let mut settings = StripeSettings::new(&self.base, Secret::new("sk_test_contract".into()));
        settings.retry_delay = Duration::from_millis(5);
        StripeGateway::new(settings)
    }

    fn seen(&self) -> Vec<Seen> {
        self.stand.seen.lock().unwrap().clone()
    }
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn header<'a>(seen: &'a Seen, name: &str) -> &'a str {
    seen.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no `{name}` header in {:?}", seen.headers))
}

/// A PaymentIntent as the API reference shows the object, in the state a
/// 3-D Secure test card leaves it after a server-side confirm with `return_url`.
fn intent_requiring_action() -> Value {
    json!({
      "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
      "object": "payment_intent",
      "amount": 1999,
      "amount_capturable": 0,
      "amount_details": {"tip": {}},
      "amount_received": 0,
      "application": null,
      "application_fee_amount": null,
      "automatic_payment_methods": null,
      "canceled_at": null,
      "cancellation_reason": null,
      "capture_method": "automatic",
      "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
      "confirmation_method": "automatic",
      "created": 1680800504,
      "currency": "eur",
      "customer": null,
      "description": null,
      "invoice": null,
      "last_payment_error": null,
      "latest_charge": null,
      "livemode": false,
      "metadata": {"order_id": "order-42"},
      "next_action": {
        "type": "redirect_to_url",
        "redirect_to_url": {
          "return_url": "https://shop.example/return",
          "url": "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1Mtw&payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa&payment_intent_client_secret=pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH&publishable_key=pk_test_x&source=payatt_3MtwBw"
        }
      },
      "on_behalf_of": null,
      "payment_method": "pm_1MtwBwLkdIwHu7ixQ4Yk9XhV",
      "payment_method_options": {"card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}},
      "payment_method_types": ["card"],
      "processing": null,
      "receipt_email": "a@b.c",
      "review": null,
      "setup_future_usage": null,
      "shipping": null,
      "source": null,
      "statement_descriptor": null,
      "statement_descriptor_suffix": null,
      "status": "requires_action",
      "transfer_data": null,
      "transfer_group": null
    })
}

/// The 402 a declined confirm answers, as the API reference's error object shows it.
fn card_error(with_intent: bool) -> Value {
    let mut declined = intent_requiring_action();
    declined["status"] = json!("requires_payment_method");
    declined["next_action"] = Value::Null;
    declined["payment_method"] = Value::Null;
    declined["latest_charge"] = json!("ch_3MtwBwLkdIwHu7ix0snN0B15");
    let error = json!({
        "charge": "ch_3MtwBwLkdIwHu7ix0snN0B15",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card has insufficient funds.",
        "payment_method": {"id": "pm_1MtwBwLkdIwHu7ixQ4Yk9XhV", "object": "payment_method", "type": "card"},
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_xyz?t=1680800504",
        "type": "card_error"
    });
    declined["last_payment_error"] = error.clone();
    let mut error = error;
    if with_intent {
        error["payment_intent"] = declined;
    }
    json!({ "error": error })
}

fn request() -> ChargeRequest {
    ChargeRequest {
        order_id: OrderId::parse("order-42").unwrap(),
        amount: 1999,
        currency: "EUR".into(),
        payment_method: "pm_card_threeDSecure2Required".into(),
        return_url: Some("https://shop.example/return".into()),
        email: Some("a@b.c".into()),
    }
}

#[tokio::test]
async fn a_charge_is_one_form_post_with_the_key_version_and_bearer() {
    let stripe = FakeStripe::start(vec![(200, intent_requiring_action())]).await;
    let intent = stripe
        .gateway()
        .create_and_confirm(&request(), "order-42")
        .await
        .expect("answered");
    let seen = stripe.seen();
    assert_eq!(seen.len(), 1);
    let sent = &seen[0];
    assert_eq!(sent.line, "POST /v1/payment_intents");
    assert_eq!(
        sent.body,
        "amount=1999&currency=eur&payment_method=pm_card_threeDSecure2Required&confirm=true\
         &payment_method_types%5B%5D=card&metadata%5Border_id%5D=order-42\
         &return_url=https%3A%2F%2Fshop.example%2Freturn&receipt_email=a%40b.c"
    );
    assert_eq!(header(sent, "authorization"), "Bearer sk_test_contract");
    assert_eq!(header(sent, "idempotency-key"), "order-42");
    assert_eq!(header(sent, "stripe-version"), STRIPE_VERSION);
    assert_eq!(STRIPE_VERSION, "2024-06-20");
    assert_eq!(
        header(sent, "content-type"),
        "application/x-www-form-urlencoded"
    );
    assert_eq!(intent.status, IntentStatus::RequiresAction);
    assert_eq!((intent.amount, intent.currency.as_str()), (1999, "EUR"));
    assert_eq!(intent.order_id.as_deref(), Some("order-42"));
    match intent.outcome() {
        ChargeOutcome::RequiresAction {
            gateway_ref,
            redirect_url,
        } => {
            assert_eq!(gateway_ref, "pi_3MtwBwLkdIwHu7ix28a3tqPa");
            assert!(redirect_url.starts_with("https://hooks.stripe.com/3d_secure_2/hosted?"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refunds_cancels_and_reads_are_encoded_as_stripe_documents_them() {
    let refund = json!({"id": "re_3MtwBwLkdIwHu7ix0Zk1Zt2l", "object": "refund", "amount": 1999,
        "balance_transaction": "txn_1", "charge": "ch_3MtwBwLkdIwHu7ix0snN0B15", "created": 1680800504,
        "currency": "eur", "metadata": {}, "payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "reason": null, "receipt_number": null, "source_transfer_reversal": null,
        "status": "succeeded", "transfer_reversal": null});
    let mut canceled = intent_requiring_action();
    canceled["status"] = json!("canceled");
    canceled["next_action"] = Value::Null;
    let list = json!({"object": "search_result", "url": "/v1/payment_intents/search",
        "has_more": false, "next_page": null, "data": [intent_requiring_action()]});
    let stripe = FakeStripe::start(vec![
        (200, refund),
        (200, canceled),
        (200, intent_requiring_action()),
        (200, list),
    ])
    .await;
    let gateway = stripe.gateway();
    let done = gateway
        .refund("pi_3MtwBwLkdIwHu7ix28a3tqPa", "refund-order-42")
        .await
        .expect("refunded");
    assert_eq!(
        (done.id.as_str(), done.amount, done.status.as_str()),
        ("re_3MtwBwLkdIwHu7ix0Zk1Zt2l", 1999, "succeeded")
    );
    let canceled = gateway
        .cancel("pi_3MtwBwLkdIwHu7ix28a3tqPa", "cancel-order-42")
        .await
        .expect("canceled");
    assert_eq!(canceled.status, IntentStatus::Canceled);
    gateway
        .retrieve("pi_3MtwBwLkdIwHu7ix28a3tqPa")
        .await
        .expect("read");
    let found = gateway
        .find_by_order(&OrderId::parse("order-42").unwrap())
        .await
        .expect("searched");
    assert_eq!(
        found.map(|i| i.id),
        Some("pi_3MtwBwLkdIwHu7ix28a3tqPa".to_owned())
    );
    let seen = stripe.seen();
    let lines: Vec<(&str, &str, Option<&str>)> = seen
        .iter()
        .map(|s| {
            (
                s.line.as_str(),
                s.body.as_str(),
                s.headers
                    .get("idempotency-key")
                    .map(|v| v.to_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("POST /v1/refunds", "payment_intent=pi_3MtwBwLkdIwHu7ix28a3tqPa", Some("refund-order-42")),
            (
                "POST /v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/cancel",
                "cancellation_reason=abandoned",
                Some("cancel-order-42")
            ),
            (
                "GET /v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa?expand%5B%5D=latest_charge",
                "",
                None
            ),
            (
                "GET /v1/payment_intents/search?query=metadata%5B%27order_id%27%5D%3A%27order-42%27&limit=10&expand%5B%5D=data.latest_charge",
                "",
                None
            ),
        ]
    );
}

#[tokio::test]
async fn a_402_card_error_is_a_decline_with_its_code() {
    let stripe = FakeStripe::start(vec![(402, card_error(true)), (402, card_error(false))]).await;
    let gateway = stripe.gateway();
    let intent = gateway
        .create_and_confirm(&request(), "order-42")
        .await
        .expect("the declined intent is the answer");
    assert_eq!(intent.status, IntentStatus::RequiresPaymentMethod);
    assert_eq!(
        intent.outcome(),
        ChargeOutcome::Declined {
            gateway_ref: Some("pi_3MtwBwLkdIwHu7ix28a3tqPa".into()),
            code: "insufficient_funds".into(),
            message: "Your card has insufficient funds.".into()
        }
    );
    match gateway.create_and_confirm(&request(), "order-43").await {
        Err(GatewayError::Declined { code, .. }) => assert_eq!(code, "insufficient_funds"),
        other => panic!("{other:?}"),
    }
    assert_eq!(stripe.seen().len(), 2, "a decline is not retried");
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_key_and_client_errors_are_not() {
    let server_error =
        json!({"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}});
    let stripe = FakeStripe::start(vec![
        (500, server_error.clone()),
        (200, intent_requiring_action()),
        (400, json!({"error": {"type": "invalid_request_error", "code": "parameter_missing", "param": "amount", "message": "Missing required param: amount."}})),
        (503, server_error.clone()),
        (503, server_error.clone()),
        (503, server_error),
    ])
    .await;
    let gateway = stripe.gateway();
    gateway
        .create_and_confirm(&request(), "order-42")
        .await
        .expect("the retry got through");
    let keys: Vec<String> = stripe
        .seen()
        .iter()
        .map(|s| header(s, "idempotency-key").to_owned())
        .collect();
    assert_eq!(keys, ["order-42", "order-42"], "retried with the same key");
    match gateway.create_and_confirm(&request(), "order-43").await {
        Err(GatewayError::Rejected {
            status: 400, code, ..
        }) => assert_eq!(code.as_deref(), Some("parameter_missing")),
        other => panic!("{other:?}"),
    }
    assert_eq!(stripe.seen().len(), 3, "a 400 is not retried");
    let e = gateway
        .create_and_confirm(&request(), "order-44")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(stripe.seen().len(), 6, "three attempts in all");
}
