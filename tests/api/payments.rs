//! Payments end to end: the Stripe adapter against the app's gateway
//! simulator over real HTTP (test cards, 3-D Secure, idempotency, refunds,
//! cancels), the service's public API, and the webhook endpoint (signatures,
//! staleness, duplicates, listener failures, events older than the record).
//! [`contract`] pins the adapter's wire against a recording server and
//! Stripe's documented answers.

mod contract;

use std::time::Duration;

use futures::future::join_all;
use jojomart::payments::{
    self, gateway::IntentStatus, model::PaymentStatus, signature, ChargeOutcome, GatewayError,
    PaymentError, PaymentEvent, PaymentGateway,
};
use jojomart_shared::{domain::OrderId, error::ApiError};
use serde_json::{json, Value};

use crate::harness::{
    binary, eventually, free_port,
    payments::{charge_request, Recorder},
    s, TestApp,
};

fn order() -> OrderId {
    OrderId::generate()
}

/// The order's payment record status, as stored.
async fn recorded(app: &TestApp, order: &OrderId) -> Option<PaymentStatus> {
    payments::service::record(&app.payments().handle(), order)
        .await
        .expect("record read")
        .map(|r| r.status)
}

#[tokio::test]
async fn visa_succeeds_is_recorded_and_its_webhook_reaches_listeners() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let order = order();
    let outcome = payments::charge(
        &app.payments().handle(),
        &charge_request(&order, "pm_card_visa"),
    )
    .await
    .expect("charged");
    let ChargeOutcome::Succeeded { gateway_ref } = outcome else {
        panic!("visa succeeds: {outcome:?}");
    };
    assert!(gateway_ref.starts_with("pi_"), "{gateway_ref}");
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Succeeded));
    assert_eq!(
        recorder.wait_for(&order).await,
        PaymentEvent::Succeeded {
            order_id: order.clone(),
            gateway_ref: gateway_ref.clone()
        }
    );
    let intent = app
        .payments()
        .gateway()
        .retrieve(&gateway_ref)
        .await
        .expect("retrieved");
    assert_eq!(intent.status, IntentStatus::Succeeded);
    assert_eq!((intent.amount, intent.currency.as_str()), (1999, "EUR"));
    assert_eq!(intent.order_id.as_deref(), Some(order.as_str()));
    app.shutdown().await;
}

#[tokio::test]
async fn an_app_on_a_fake_clock_accepts_its_simulator_webhooks() {
    let clock =
        jojomart_shared::clock::FakeClock::new(chrono::Utc::now() - chrono::Duration::hours(3));
    let app = TestApp::spawn_with(crate::harness::Spawn {
        clock: std::sync::Arc::new(clock.clone()),
        ..Default::default()
    })
    .await;
    let recorder = app.payments().record_events();
    let order = order();
    payments::charge(
        &app.payments().handle(),
        &charge_request(&order, "pm_card_visa"),
    )
    .await
    .expect("charged");
    assert!(matches!(
        recorder.wait_for(&order).await,
        PaymentEvent::Succeeded { .. }
    ));
    app.shutdown().await;
}

#[tokio::test]
async fn declines_map_with_their_codes() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    for (card, code, message) in [
        (
            "pm_card_chargeDeclined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
    ] {
        let order = order();
        let outcome = payments::charge(&app.payments().handle(), &charge_request(&order, card))
            .await
            .expect("a decline is an outcome, not an error");
        match &outcome {
            ChargeOutcome::Declined {
                gateway_ref: Some(_),
                code: got,
                message: said,
            } => assert_eq!((got.as_str(), said.as_str()), (code, message), "{card}"),
            other => panic!("{card}: {other:?}"),
        }
        assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Failed));
        match recorder.wait_for(&order).await {
            PaymentEvent::Failed { code: got, .. } => assert_eq!(got, code, "{card}"),
            other => panic!("{card}: {other:?}"),
        }
        // The adapter alone returns the declined intent.
        let intent = app
            .payments()
            .gateway()
            .create_and_confirm(
                &charge_request(&OrderId::generate(), card),
                &format!("k-{card}"),
            )
            .await
            .expect("declined intent");
        assert_eq!(intent.status, IntentStatus::RequiresPaymentMethod);
        let failure = intent.last_error.expect("last_payment_error");
        assert_eq!(
            (failure.code.as_str(), failure.reason()),
            ("card_declined", code)
        );
    }
    app.shutdown().await;
}

#[tokio::test]
async fn three_d_secure_redirects_and_completing_it_sends_a_signed_succeeded_webhook() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let order = order();
    let handle = app.payments().handle();
    let outcome = payments::charge(
        &handle,
        &charge_request(&order, "pm_card_threeDSecure2Required"),
    )
    .await
    .expect("charged");
    let ChargeOutcome::RequiresAction {
        gateway_ref,
        redirect_url,
    } = outcome
    else {
        panic!("3-D Secure needs the shopper: {outcome:?}");
    };
    assert!(
        redirect_url.starts_with(&format!("{}/3ds/", app.simulator.base_url())),
        "{redirect_url}"
    );
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Pending));
    assert!(recorder.events().is_empty(), "nothing is paid yet");

    let answer = app.payments().answer_3ds(&redirect_url, "complete").await;
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://shop.example/checkout/return?")
            && location.contains(&format!("payment_intent={gateway_ref}"))
            && location.contains("redirect_status=succeeded"),
        "{location}"
    );
    assert_eq!(
        recorder.wait_for(&order).await,
        PaymentEvent::Succeeded {
            order_id: order.clone(),
            gateway_ref: gateway_ref.clone()
        }
    );
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Succeeded));
    assert_eq!(
        payments::status(&handle, &order).await.expect("status"),
        Some(ChargeOutcome::Succeeded { gateway_ref })
    );
    // The page is spent.
    let again = app.client.get(&redirect_url).send().await.unwrap();
    assert_eq!(again.status(), 409);
    app.shutdown().await;
}

#[tokio::test]
async fn failing_three_d_secure_sends_payment_failed() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let order = order();
    let outcome = payments::charge(
        &app.payments().handle(),
        &charge_request(&order, "pm_card_threeDSecure2Required"),
    )
    .await
    .expect("charged");
    let ChargeOutcome::RequiresAction { redirect_url, .. } = outcome else {
        panic!("{outcome:?}");
    };
    let answer = app.payments().answer_3ds(&redirect_url, "fail").await;
    assert_eq!(answer.status(), 303);
    match recorder.wait_for(&order).await {
        PaymentEvent::Failed { code, .. } => {
            assert_eq!(code, "payment_intent_authentication_failure")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Failed));
    app.shutdown().await;
}

#[tokio::test]
async fn one_key_makes_one_intent_even_when_ten_calls_race() {
    let app = TestApp::spawn().await;
    let gateway = app.payments().gateway();
    let order = order();
    let request = charge_request(&order, "pm_card_visa");
    let intents =
        join_all((0..10).map(|_| gateway.create_and_confirm(&request, order.as_str()))).await;
    let ids: Vec<String> = intents
        .into_iter()
        .map(|r| r.expect("every call answers").id)
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    // The service, called ten times at once for another order, charges once too.
    let handle = app.payments().handle();
    let other = OrderId::generate();
    let request = charge_request(&other, "pm_card_visa");
    let outcomes = join_all((0..10).map(|_| payments::charge(&handle, &request))).await;
    let refs: Vec<String> = outcomes
        .into_iter()
        .map(|o| o.expect("charged").gateway_ref().expect("a ref").to_owned())
        .collect();
    assert!(refs.iter().all(|r| *r == refs[0]), "{refs:?}");
    let listed = gateway.list().await.expect("listed");
    assert_eq!(listed.len(), 2, "one intent per order: {listed:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_is_refused() {
    let app = TestApp::spawn().await;
    let gateway = app.payments().gateway();
    let order = order();
    let first = charge_request(&order, "pm_card_visa");
    gateway
        .create_and_confirm(&first, order.as_str())
        .await
        .expect("first call");
    let mut second = first.clone();
    second.amount = 2999;
    match gateway.create_and_confirm(&second, order.as_str()).await {
        Err(GatewayError::Rejected { status, kind, .. }) => {
            assert_eq!((status, kind.as_str()), (400, "idempotency_error"))
        }
        other => panic!("expected an idempotency error: {other:?}"),
    }
    // Through the service (same key: the order id): the order was charged 19.99, not 29.99.
    let handle = app.payments().handle();
    payments::charge(&handle, &first).await.expect("charged");
    let e = payments::charge(&handle, &second).await.unwrap_err();
    assert!(matches!(e, PaymentError::ChargedDifferently(_)), "{e:?}");
    assert_eq!(ApiError::from(e).status(), 422);
    assert_eq!(gateway.list().await.unwrap().len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn charging_again_after_a_crash_finds_the_same_intent() {
    let app = TestApp::spawn().await;
    let handle = app.payments().handle();
    let gateway = app.payments().gateway();
    let order = order();
    let request = charge_request(&order, "pm_card_visa");
    assert_eq!(
        payments::status(&handle, &order).await.unwrap(),
        None,
        "never seen"
    );
    // The gateway charged, then the process died before recording it.
    let intent = gateway
        .create_and_confirm(&request, order.as_str())
        .await
        .expect("charged at the gateway");
    assert_eq!(recorded(&app, &order).await, None);
    assert_eq!(
        payments::status(&handle, &order).await.unwrap(),
        Some(ChargeOutcome::Succeeded {
            gateway_ref: intent.id.clone()
        }),
        "found by order"
    );
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Succeeded));
    let again = payments::charge(&handle, &request)
        .await
        .expect("charged again");
    assert_eq!(again.gateway_ref(), Some(intent.id.as_str()));
    assert_eq!(
        gateway.list().await.unwrap().len(),
        1,
        "never a second charge"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn refunds_send_charge_refunded_and_happen_once() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let handle = app.payments().handle();
    let order = order();
    let outcome = payments::charge(&handle, &charge_request(&order, "pm_card_visa"))
        .await
        .unwrap();
    let gateway_ref = outcome.gateway_ref().unwrap().to_owned();
    recorder.wait_for(&order).await;
    payments::refund(&handle, &order).await.expect("refunded");
    payments::refund(&handle, &order)
        .await
        .expect("a second refund is a no-op");
    let refunded = eventually(Duration::from_secs(10), "charge.refunded", || async {
        recorder
            .events()
            .into_iter()
            .find(|e| matches!(e, PaymentEvent::Refunded { .. }))
    })
    .await;
    assert_eq!(
        refunded,
        PaymentEvent::Refunded {
            order_id: order.clone(),
            gateway_ref: gateway_ref.clone()
        }
    );
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Refunded));
    let intent = app
        .payments()
        .gateway()
        .retrieve(&gateway_ref)
        .await
        .unwrap();
    assert!(
        intent.refunded() && intent.amount_refunded == 1999,
        "{intent:?}"
    );
    // Nothing to refund on a declined order.
    let declined = OrderId::generate();
    payments::charge(
        &handle,
        &charge_request(&declined, "pm_card_chargeDeclined"),
    )
    .await
    .unwrap();
    let e = payments::refund(&handle, &declined).await.unwrap_err();
    assert!(matches!(e, PaymentError::NotPaid { .. }), "{e:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn canceling_an_abandoned_three_d_secure_stops_it_and_a_paid_one_stays_paid() {
    let app = TestApp::spawn().await;
    let handle = app.payments().handle();
    let order = order();
    let outcome = payments::charge(
        &handle,
        &charge_request(&order, "pm_card_threeDSecure2Required"),
    )
    .await
    .unwrap();
    let ChargeOutcome::RequiresAction {
        gateway_ref,
        redirect_url,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        payments::cancel(&handle, &order).await.expect("canceled"),
        ChargeOutcome::Canceled {
            gateway_ref: gateway_ref.clone()
        }
    );
    let late = app.client.get(&redirect_url).send().await.unwrap();
    assert_eq!(late.status(), 409, "the page no longer works");
    assert_eq!(
        payments::status(&handle, &order).await.unwrap(),
        Some(ChargeOutcome::Canceled { gateway_ref })
    );
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Canceled));

    let paid = OrderId::generate();
    let outcome = payments::charge(&handle, &charge_request(&paid, "pm_card_visa"))
        .await
        .unwrap();
    assert_eq!(payments::cancel(&handle, &paid).await.unwrap(), outcome);
    let e = payments::cancel(&handle, &OrderId::generate())
        .await
        .unwrap_err();
    assert!(matches!(e, PaymentError::NoPayment(_)), "{e:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_adapter_follows_list_pages_and_needs_the_secret_key() {
    let app = TestApp::spawn().await;
    let gateway = app.payments().gateway();
    for i in 0..120 {
        gateway
            .create_and_confirm(
                &charge_request(&OrderId::generate(), "pm_card_visa"),
                &format!("page-{i}"),
            )
            .await
            .unwrap();
    }
    let listed = gateway.list().await.expect("listed");
    assert_eq!(listed.len(), 120, "two pages followed");
    let mut ids: Vec<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 120, "no intent twice");
    let stranger = jojomart::payments::stripe::StripeGateway::new(
        jojomart::payments::stripe::StripeSettings::new(
            app.simulator.base_url(),
            jojomart_shared::config::Secret::new("sk_test_wrong".to_owned()),
        ),
    );
    match stranger.list().await {
        Err(GatewayError::Rejected { status: 401, .. }) => {}
        other => panic!("a wrong key is refused: {other:?}"),
    }
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_gateway_charging_is_503() {
    let app = TestApp::spawn_configured(|c| {
        c.payments.secret_key = None;
        c.payments.webhook_secret = None;
    })
    .await;
    let e = payments::charge(
        &app.payments().handle(),
        &charge_request(&order(), "pm_card_visa"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, PaymentError::Gateway(GatewayError::NotConfigured)),
        "{e:?}"
    );
    assert_eq!(ApiError::from(e).status(), 503);
    let r = app
        .payments()
        .deliver(r#"{"id":"evt_1"}"#, Some("t=1,v1=00"))
        .await;
    assert_eq!(r.status(), 503);
    app.shutdown().await;
}

/// A child process killed when dropped, so a failing test leaves none behind.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_standalone_simulator_charges_and_reaches_an_app_in_another_process() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let port = free_port();
    let mut simulator = Killed(
        std::process::Command::new(binary())
            .args([
                "gateway-simulator",
                "--port",
                &port.to_string(),
                "--webhook-url",
            ])
            .arg(app.url(payments::WEBHOOK_PATH))
            .env("JOJOMART_STRIPE_SECRET_KEY", "sk_test_standalone")
            .env(
                "JOJOMART_STRIPE_WEBHOOK_SECRET",
                app.payments().webhook_secret(),
            )
            .env("JOJOMART_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn jojomart gateway-simulator"),
    );
    let gateway = payments::stripe::StripeGateway::new(payments::stripe::StripeSettings::new(
        format!("http://127.0.0.1:{port}"),
        jojomart_shared::config::Secret::new("sk_test_standalone".to_owned()),
    ));
    eventually(
        Duration::from_secs(30),
        "the simulator to answer",
        || async { gateway.list().await.ok() },
    )
    .await;
    let order = order();
    let intent = gateway
        .create_and_confirm(&charge_request(&order, "pm_card_visa"), order.as_str())
        .await
        .expect("charged");
    assert_eq!(
        recorder.wait_for(&order).await,
        PaymentEvent::Succeeded {
            order_id: order.clone(),
            gateway_ref: intent.id
        }
    );
    let pid = simulator.0.id().to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    let status = eventually(Duration::from_secs(20), "the simulator to exit", || {
        let s = simulator.0.try_wait().unwrap();
        async move { s }
    })
    .await;
    assert!(status.success(), "exits 0 after SIGTERM, got {status:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn jojomart_dev_without_a_key_runs_its_own_simulator() {
    let dev = crate::harness::dev::DevProcess::start(|command| {
        command
            .env_remove("JOJOMART_STRIPE_SECRET_KEY")
            .env_remove("JOJOMART_STRIPE_WEBHOOK_SECRET");
    })
    .await;
    // With no gateway the webhook would be 503; with the simulator's secret, an unsigned event is a 400.
    let r = reqwest::Client::new()
        .post(dev.url(payments::WEBHOOK_PATH))
        .body(r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#)
        .send()
        .await
        .unwrap();
    let (status, p) = problem(r).await;
    assert_eq!(status, 400, "{p}");
    assert!(s(&p, "detail").contains("Stripe-Signature"), "{p}");
}

// ---- the webhook endpoint, with events made by the test ----

/// A `payment_intent.*` event about `order`'s intent `pi_test_<order>`.
fn intent_event(event_id: &str, kind: &str, order: &OrderId, status: &str) -> String {
    let last_payment_error = (status == "requires_payment_method").then(|| {
        json!({"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
               "message": "Your card was declined."})
    });
    json!({
        "id": event_id, "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": kind, "livemode": false,
        "data": {"object": {
            "id": format!("pi_test_{}", order.as_str().replace('-', "")), "object": "payment_intent",
            "amount": 1999, "currency": "eur", "status": status,
            "metadata": {"order_id": order.as_str()},
            "last_payment_error": last_payment_error, "latest_charge": null, "next_action": null,
            "created": 1_700_000_000}}
    })
    .to_string()
}

async fn problem(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    (status, r.json().await.unwrap())
}

fn recorded_nothing(recorder: &Recorder) {
    assert_eq!(
        recorder.calls(),
        0,
        "no listener was called: {:?}",
        recorder.events()
    );
}

#[tokio::test]
async fn unsigned_forged_and_stale_deliveries_are_400_and_change_nothing() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let order = order();
    let body = intent_event(
        "evt_forgery_1",
        "payment_intent.succeeded",
        &order,
        "succeeded",
    );
    let now = chrono::Utc::now().timestamp();
    let secret = app.payments().webhook_secret().to_owned();
    let cases = [
        ("unsigned", None),
        (
            "forged",
            Some(signature::sign("whsec_not_ours", now, body.as_bytes())),
        ),
        (
            "another body's signature",
            Some(signature::sign(&secret, now, b"{\"id\":\"evt_other\"}")),
        ),
        (
            "stale",
            Some(signature::sign(&secret, now - 301, body.as_bytes())),
        ),
        ("garbage", Some("v1=deadbeef".to_owned())),
    ];
    for (what, header) in cases {
        let (status, p) = problem(app.payments().deliver(&body, header.as_deref()).await).await;
        assert_eq!(status, 400, "{what}: {p}");
        assert!(s(&p, "detail").contains("Stripe-Signature"), "{what}: {p}");
    }
    recorded_nothing(&recorder);
    assert_eq!(recorded(&app, &order).await, None);
    // A timestamp within the tolerance passes, and the event applies now: nothing was recorded before.
    let fresh = signature::sign(&secret, now - 250, body.as_bytes());
    let r = app.payments().deliver(&body, Some(&fresh)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"received": true}));
    assert_eq!(recorder.events().len(), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn the_same_event_delivered_twice_is_applied_once() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let order = order();
    let body = intent_event(
        "evt_twice_1",
        "payment_intent.succeeded",
        &order,
        "succeeded",
    );
    for _ in 0..2 {
        let r = app.payments().deliver_signed(&body).await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(recorder.calls(), 1, "{:?}", recorder.events());
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Succeeded));
    app.shutdown().await;
}

#[tokio::test]
async fn a_failing_listener_makes_the_gateway_deliver_again() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    recorder.fail_next(1);
    let order = order();
    let body = intent_event(
        "evt_retry_1",
        "payment_intent.succeeded",
        &order,
        "succeeded",
    );
    let first = app.payments().deliver_signed(&body).await;
    assert_eq!(first.status(), 503, "not applied; the gateway retries");
    let second = app.payments().deliver_signed(&body).await;
    assert_eq!(second.status(), 200);
    assert_eq!(recorder.calls(), 2);
    assert_eq!(recorder.events().len(), 1);
    // The simulator retries on its own: a listener failing twice still hears a real charge.
    recorder.fail_next(2);
    let paid = OrderId::generate();
    payments::charge(
        &app.payments().handle(),
        &charge_request(&paid, "pm_card_visa"),
    )
    .await
    .unwrap();
    recorder.wait_for(&paid).await;
    assert_eq!(recorder.calls(), 5);
    app.shutdown().await;
}

#[tokio::test]
async fn events_older_than_the_record_are_not_applied_and_unknown_ones_are_ignored() {
    let app = TestApp::spawn().await;
    let recorder = app.payments().record_events();
    let order = order();
    let paid = intent_event(
        "evt_order_1",
        "payment_intent.succeeded",
        &order,
        "succeeded",
    );
    let late_failure = intent_event(
        "evt_order_0",
        "payment_intent.payment_failed",
        &order,
        "requires_payment_method",
    );
    assert_eq!(app.payments().deliver_signed(&paid).await.status(), 200);
    assert_eq!(
        app.payments().deliver_signed(&late_failure).await.status(),
        200
    );
    assert_eq!(
        recorder.events(),
        [PaymentEvent::Succeeded {
            order_id: order.clone(),
            gateway_ref: format!("pi_test_{}", order.as_str().replace('-', ""))
        }]
    );
    assert_eq!(recorded(&app, &order).await, Some(PaymentStatus::Succeeded));
    let unknown = json!({"id": "evt_other_1", "object": "event", "type": "customer.created",
        "created": 1, "data": {"object": {"id": "cus_1", "object": "customer"}}})
    .to_string();
    let no_order =
        json!({"id": "evt_other_2", "object": "event", "type": "payment_intent.succeeded",
        "created": 1, "data": {"object": {"id": "pi_x", "object": "payment_intent", "amount": 5,
        "currency": "eur", "status": "succeeded", "metadata": {}}}})
        .to_string();
    for body in [unknown, no_order] {
        let r = app.payments().deliver_signed(&body).await;
        assert_eq!(r.status(), 200);
    }
    let (status, p) = problem(app.payments().deliver_signed("{not json").await).await;
    assert_eq!(
        (status, s(&p, "type")),
        (400, "https://jojomart.dev/problems/bad-request")
    );
    assert_eq!(recorder.calls(), 1);
    app.shutdown().await;
}
