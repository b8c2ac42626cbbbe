//! Checkout and orders over real HTTP against the app in `dev` mode, paying
//! through the gateway simulator: no oversell under a race for the last
//! units, one order and one charge per idempotency key, declines, 3-D Secure
//! completed and abandoned, guest checkout, the state machine, verified
//! purchases, export and erasure.

use std::{sync::Arc, time::Duration};

use futures::future::join_all;
use jojomart::products::{inventory, Inventory};
use jojomart_shared::{clock::FakeClock, domain::ProductId};
use serde_json::{json, Value};

use crate::harness::{
    catalog::product,
    eventually,
    orders::{address, checkout_body},
    s, Spawn, TestApp,
};

/// Creates a product with `stock` units at 19.99 and returns its id.
async fn stocked(app: &TestApp, admin: &str, sku: &str, stock: i64) -> String {
    let p = app
        .catalog()
        .create_product(
            admin,
            &product(sku, &format!("Item {sku}"), "A thing", "misc", 1999, stock),
        )
        .await;
    s(&p, "id").to_owned()
}

/// `(stock, reserved, available)` straight from the inventory.
async fn level(app: &TestApp, id: &str) -> (i64, i64, i64) {
    let inventory: Inventory = app.state.handle();
    let l = inventory::level(&inventory, &ProductId::parse(id).expect("id"))
        .await
        .expect("level");
    (l.stock, l.reserved, l.available)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_buyers_race_for_the_last_ten_units_and_exactly_ten_win() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "LAST-10", 10).await;
    let buyers = join_all((0..40).map(|i| {
        let app = &app;
        async move {
            app.auth()
                .token(&format!("buyer{i}@example.com"), "Buyer")
                .await
        }
    }))
    .await;
    for token in &buyers {
        app.orders().add_to_cart(token, &id, 1).await;
    }
    let answers = join_all(buyers.iter().map(|token| {
        let app = &app;
        async move {
            let key = uuid::Uuid::new_v4().to_string();
            app.orders()
                .checkout(Some(token), Some(&key), &checkout_body("pm_card_visa"))
                .await
        }
    }))
    .await;
    let paid: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, o)| o)
        .collect();
    let refused = answers.iter().filter(|(status, _)| *status == 409).count();
    assert_eq!(paid.len(), 10, "{answers:?}");
    assert_eq!(refused, 30, "{answers:?}");
    assert!(paid.iter().all(|o| o["status"] == "paid"));
    assert_eq!(level(&app, &id).await, (0, 0, 0));
    let (_, problem) = answers
        .iter()
        .find(|(status, _)| *status == 409)
        .expect("a 409");
    assert!(s(problem, "detail").contains("Item LAST-10"), "{problem}");
    assert_eq!(app.payments().succeeded_charges().await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_replays_of_one_key_make_one_order_and_one_charge() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "REPLAY-1", 5).await;
    let token = app.auth().token("replayer@example.com", "Rae").await;
    app.orders().add_to_cart(&token, &id, 2).await;
    let body = checkout_body("pm_card_visa");
    let answers = join_all((0..10).map(|_| {
        let (app, token, body) = (&app, &token, &body);
        async move {
            app.orders()
                .checkout(Some(token), Some("key-1"), body)
                .await
        }
    }))
    .await;
    let ids: Vec<&str> = answers
        .iter()
        .map(|(status, o)| {
            assert_eq!(*status, 201, "{o}");
            s(o, "id")
        })
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert_eq!(app.orders().mine(&token).await.len(), 1);
    assert_eq!(app.payments().charges_for(ids[0]).await, 1);
    assert_eq!(level(&app, &id).await, (3, 0, 3));

    // The same key later, cart emptied meanwhile: still the same order, no new charge.
    let (status, again) = app
        .orders()
        .checkout(Some(&token), Some("key-1"), &body)
        .await;
    assert_eq!((status, s(&again, "id")), (201, ids[0]));
    // The same key with another body: 422, nothing new.
    let (status, problem) = app
        .orders()
        .checkout(
            Some(&token),
            Some("key-1"),
            &checkout_body("pm_card_chargeDeclined"),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(app.payments().charges_for(ids[0]).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_refuses_bad_requests_before_any_effect() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "BAD-1", 5).await;
    let token = app.auth().token("careful@example.com", "Cara").await;
    let visa = checkout_body("pm_card_visa");

    let (status, problem) = app.orders().checkout(Some(&token), None, &visa).await;
    assert_eq!(status, 400, "{problem}");
    assert!(crate::harness::error_fields(&problem).contains(&"Idempotency-Key"));
    let long = "k".repeat(256);
    assert_eq!(
        app.orders()
            .checkout(Some(&token), Some(&long), &visa)
            .await
            .0,
        400
    );

    let (status, problem) = app
        .orders()
        .checkout(Some(&token), Some("empty"), &visa)
        .await;
    assert_eq!(status, 400, "an empty cart: {problem}");

    app.orders().add_to_cart(&token, &id, 2).await;
    let (status, problem) = app
        .orders()
        .checkout(
            Some(&token),
            Some("k2"),
            &json!({"paymentMethod": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(crate::harness::error_fields(&problem).contains(&"shippingAddress"));
    let (status, problem) = app
        .orders()
        .checkout(
            Some(&token),
            Some("k3"),
            &json!({"shippingAddress": {"name": "", "line1": "x", "city": "y", "postalCode": "1", "country": "DE"}, "paymentMethod": "pm card"}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    let fields = crate::harness::error_fields(&problem);
    assert!(
        fields.contains(&"paymentMethod") && fields.contains(&"shippingAddress.name"),
        "{problem}"
    );
    assert!(app.orders().mine(&token).await.is_empty());
    assert_eq!(level(&app, &id).await, (5, 0, 5));

    // Not enough stock: 409, nothing reserved, nothing charged, and the same
    // key works once the stock is back.
    app.catalog().set_stock(&admin, &id, 1).await;
    let (status, problem) = app.orders().checkout(Some(&token), Some("k4"), &visa).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        s(&problem, "detail").contains("only 1 available"),
        "{problem}"
    );
    assert_eq!(level(&app, &id).await, (1, 0, 1));
    assert!(app.orders().mine(&token).await.is_empty());
    assert_eq!(app.payments().succeeded_charges().await, 0);
    app.catalog().set_stock(&admin, &id, 4).await;
    let (status, order) = app.orders().checkout(Some(&token), Some("k4"), &visa).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(level(&app, &id).await, (2, 0, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_order_has_its_totals_its_history_and_an_empty_cart() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "TOTAL-1", 5).await;
    let token = app.auth().token("totals@example.com", "Tom").await;
    let (status, order) = app.orders().buy(&token, &id, 2, "pm_card_visa").await;
    assert_eq!(status, 201, "{order}");
    // 2 × 19.99 = 39.98 + 4.99 shipping = 44.97; 19% German VAT = 8.54.
    assert_eq!(
        (
            &order["subtotal"],
            &order["shipping"],
            &order["tax"],
            &order["total"]
        ),
        (&json!(3998), &json!(499), &json!(854), &json!(5351))
    );
    assert_eq!(order["currency"], "EUR");
    assert_eq!(order["items"][0]["lineTotal"], 3998);
    assert_eq!(order["payment"]["status"], "succeeded");
    assert!(
        s(&order["payment"], "gatewayRef").starts_with("pi_"),
        "{order}"
    );
    let history: Vec<&str> = order["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| s(h, "status"))
        .collect();
    assert_eq!(history, ["pending_payment", "paid"]);
    assert_eq!(order["shippingAddress"], address("DE"));
    let (_, cart) = crate::harness::orders::answer(
        app.send(reqwest::Method::GET, "/api/cart", Some(&token), None)
            .await,
    )
    .await;
    assert_eq!(cart["items"], json!([]), "{cart}");
    assert_eq!(level(&app, &id).await, (3, 0, 3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_answers_402_keeps_the_order_failed_and_gives_the_stock_back() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "DECLINE-1", 3).await;
    let token = app.auth().token("declined@example.com", "Dee").await;
    for (card, reason) in [
        ("pm_card_chargeDeclined", "generic_decline"),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "insufficient_funds",
        ),
    ] {
        let (status, problem) = app.orders().buy(&token, &id, 1, card).await;
        assert_eq!(status, 402, "{problem}");
        assert!(s(&problem, "detail").contains(reason), "{problem}");
        assert_eq!(level(&app, &id).await, (3, 0, 3));
    }
    let mine = app.orders().mine(&token).await;
    assert_eq!(mine.len(), 2);
    assert!(
        mine.iter().all(|o| o["status"] == "payment_failed"),
        "{mine:?}"
    );
    assert!(mine.iter().all(|o| o["payment"]["status"] == "failed"));
    // The cart keeps its lines: the shopper can try another card.
    let (status, order) = app
        .orders()
        .checkout(
            Some(&token),
            Some("another-card"),
            &checkout_body("pm_card_visa"),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["items"][0]["quantity"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn three_d_secure_completed_makes_the_order_paid() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "3DS-1", 3).await;
    let token = app.auth().token("secure@example.com", "Sam").await;
    let (status, order) = app
        .orders()
        .buy(&token, &id, 1, "pm_card_threeDSecure2Required")
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(order["payment"]["status"], "requires_action");
    let redirect = s(&order["payment"]["nextAction"], "redirectUrl").to_owned();
    assert_eq!(level(&app, &id).await, (3, 1, 2));

    app.payments().complete_3ds(&redirect).await;
    let order_id = s(&order, "id").to_owned();
    // The webhook marks it paid, then its reservation is committed.
    eventually(
        Duration::from_secs(20),
        "the webhook to mark the order paid and commit its stock",
        || {
            let (app, token, order_id, id) = (&app, &token, &order_id, &id);
            async move {
                let paid = app.orders().status(token, order_id).await == "paid";
                (paid && level(app, id).await == (2, 0, 2)).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn three_d_secure_returns_the_shopper_to_the_order_named_in_the_return_url() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "3DS-RET", 3).await;
    let token = app.auth().token("return@example.com", "Rita").await;
    app.orders().add_to_cart(&token, &id, 1).await;
    let mut body = checkout_body("pm_card_threeDSecure2Required");
    body["returnUrl"] = json!("https://shop.example/orders/{ORDER_ID}");
    let (status, order) = app
        .orders()
        .checkout(Some(&token), Some("return-key"), &body)
        .await;
    assert_eq!(status, 201, "{order}");
    let order_id = s(&order, "id");
    let redirect = s(&order["payment"]["nextAction"], "redirectUrl");

    let answered = app.payments().answer_3ds(redirect, "complete").await;
    let location = answered
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.starts_with(&format!("https://shop.example/orders/{order_id}?")),
        "back to the order's own page: {location}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn three_d_secure_abandoned_fails_the_order_when_the_reservation_lapses() {
    let clock = FakeClock::new(chrono::Utc::now());
    let app = TestApp::spawn_with(Spawn {
        clock: Arc::new(clock.clone()),
        ..Spawn::default()
    })
    .await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "3DS-2", 3).await;
    let token = app.auth().token("abandon@example.com", "Abe").await;
    let (status, order) = app
        .orders()
        .buy(&token, &id, 2, "pm_card_threeDSecure2Required")
        .await;
    assert_eq!(status, 201, "{order}");
    let order_id = s(&order, "id").to_owned();
    app.orders().run_timer("reconcile-orders").await;
    assert_eq!(
        app.orders().status(&token, &order_id).await,
        "pending_payment"
    );
    assert_eq!(level(&app, &id).await, (3, 2, 1));

    clock.advance(chrono::Duration::minutes(16));
    app.orders().run_timer("release-reservations").await;
    app.orders().run_timer("reconcile-orders").await;
    // The access token expired with the clock's jump: sign in again.
    let token = s(
        &app.auth().session("abandon@example.com").await,
        "accessToken",
    )
    .to_owned();
    let (_, failed) = app.orders().get(Some(&token), &order_id).await;
    assert_eq!(failed["status"], "payment_failed", "{failed}");
    assert_eq!(failed["payment"]["failureCode"], "expired");
    assert_eq!(level(&app, &id).await, (3, 0, 3));
    // Completing the page now is too late: the gateway canceled the payment.
    let redirect = s(&order["payment"]["nextAction"], "redirectUrl").to_owned();
    app.payments().try_complete_3ds(&redirect).await;
    assert_eq!(app.payments().succeeded_charges().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_checks_out_reads_the_order_with_its_token_and_gets_it_on_registering() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "GUEST-1", 4).await;
    let cart = app.orders().add_to_anonymous_cart(None, &id, 1).await;
    let body = json!({"shippingAddress": address("FR"), "paymentMethod": "pm_card_visa", "email": "Guest@Example.com"});

    let (status, problem) = app
        .orders()
        .checkout_with(
            None,
            Some("g1"),
            Some(&cart),
            &json!({"shippingAddress": address("FR"), "paymentMethod": "pm_card_visa"}),
        )
        .await;
    assert_eq!(status, 400, "no email: {problem}");
    assert!(crate::harness::error_fields(&problem).contains(&"email"));

    let (status, order) = app
        .orders()
        .checkout_with(None, Some("g1"), Some(&cart), &body)
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["userId"], Value::Null);
    let order_id = s(&order, "id").to_owned();
    let token = s(&order, "accessToken").to_owned();

    let read = |headers: Vec<(&'static str, String)>, query: &'static str| {
        let (app, order_id) = (&app, &order_id);
        async move {
            let mut r = app
                .client
                .get(app.url(&format!("/api/orders/{order_id}{query}")));
            for (k, v) in headers {
                r = r.header(k, v);
            }
            r.send().await.expect("GET").status().as_u16()
        }
    };
    assert_eq!(read(vec![("X-Order-Token", token.clone())], "").await, 200);
    assert_eq!(read(vec![], "").await, 401);
    assert_eq!(
        read(vec![("X-Order-Token", "00".repeat(32))], "").await,
        404
    );
    let with_query: &'static str = Box::leak(format!("?token={token}").into_boxed_str());
    assert_eq!(read(vec![], with_query).await, 200);
    // A replay answers the same order and the same token.
    let (status, again) = app
        .orders()
        .checkout_with(None, Some("g1"), Some(&cart), &body)
        .await;
    assert_eq!((status, s(&again, "accessToken")), (201, token.as_str()));

    // A stranger's account sees nothing; registering with the guest's email attaches it.
    let stranger = app.auth().token("someone@example.com", "Sue").await;
    assert_eq!(app.orders().get(Some(&stranger), &order_id).await.0, 404);
    let guest = app.auth().token("guest@example.com", "Gus").await;
    let mine = app.orders().mine(&guest).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(s(&mine[0], "id"), order_id);
    assert_eq!(app.orders().status(&guest, &order_id).await, "paid");
    assert_eq!(read(vec![("X-Order-Token", token.clone())], "").await, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_move_through_the_contract_state_machine_and_nowhere_else() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "FLOW-1", 10).await;
    let token = app.auth().token("flow@example.com", "Flo").await;

    // Cancel while paid: refunded and restocked.
    let (_, first) = app.orders().buy(&token, &id, 2, "pm_card_visa").await;
    let first_id = s(&first, "id").to_owned();
    assert_eq!(level(&app, &id).await, (8, 0, 8));
    let (status, cancelled) = app.orders().cancel(&token, &first_id).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["payment"]["status"], "refunded");
    assert_eq!(level(&app, &id).await, (10, 0, 10));
    assert_eq!(app.orders().cancel(&token, &first_id).await.0, 409);
    assert!(app.payments().refunded(&first_id).await);

    // Ship, deliver, refund; every other move is a 409.
    let (_, second) = app.orders().buy(&token, &id, 1, "pm_card_visa").await;
    let second_id = s(&second, "id").to_owned();
    let stranger = app.auth().token("stranger@example.com", "Stan").await;
    assert_eq!(app.orders().get(Some(&stranger), &second_id).await.0, 404);
    assert_eq!(app.orders().cancel(&stranger, &second_id).await.0, 404);
    assert_eq!(app.orders().get(Some(&admin), &second_id).await.0, 200);
    assert_eq!(
        app.orders()
            .set_status(&token, &second_id, &json!({"status": "shipped"}))
            .await
            .0,
        403
    );
    assert_eq!(
        app.orders()
            .set_status(&admin, &second_id, &json!({"status": "delivered"}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.orders()
            .set_status(&admin, &second_id, &json!({"status": "teleported"}))
            .await
            .0,
        400
    );
    let (status, shipped) = app
        .orders()
        .set_status(
            &admin,
            &second_id,
            &json!({"status": "shipped", "trackingNumber": "1Z999AA10123456784"}),
        )
        .await;
    assert_eq!(status, 200, "{shipped}");
    assert_eq!(shipped["trackingNumber"], "1Z999AA10123456784");
    assert_eq!(app.orders().cancel(&token, &second_id).await.0, 409);
    let (status, delivered) = app
        .orders()
        .set_status(
            &admin,
            &second_id,
            &json!({"status": "delivered", "note": "left with a neighbour"}),
        )
        .await;
    assert_eq!(status, 200, "{delivered}");
    assert_eq!(delivered["history"][3]["note"], "left with a neighbour");
    assert_eq!(app.orders().refund(&token, &second_id).await.0, 403);
    let (status, refunded) = app.orders().refund(&admin, &second_id).await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(refunded["payment"]["status"], "refunded");
    assert_eq!(app.orders().refund(&admin, &second_id).await.0, 409);
    assert_eq!(
        app.orders()
            .set_status(&admin, &second_id, &json!({"status": "paid"}))
            .await
            .0,
        409
    );
    let statuses: Vec<&str> = refunded["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| s(h, "status"))
        .collect();
    assert_eq!(
        statuses,
        [
            "pending_payment",
            "paid",
            "shipped",
            "delivered",
            "refunded"
        ]
    );

    // The admin's list, newest first, filtered by status.
    let (status, page) = crate::harness::orders::answer(
        app.send(
            reqwest::Method::GET,
            "/api/manage/orders?status=refunded",
            Some(&admin),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| s(o, "id"))
        .collect();
    assert_eq!(ids, [second_id.as_str()]);
    let all = app.all_pages_as(&admin, "/api/manage/orders?limit=1").await;
    let all_ids: Vec<&str> = all.iter().map(|o| s(o, "id")).collect();
    assert_eq!(all_ids, [second_id.as_str(), first_id.as_str()]);
    assert_eq!(
        app.send(
            reqwest::Method::GET,
            "/api/manage/orders",
            Some(&token),
            None
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        app.send(
            reqwest::Method::GET,
            "/api/manage/orders?status=lost",
            Some(&admin),
            None
        )
        .await
        .status(),
        400
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buyers_review_is_a_verified_purchase_and_a_non_buyers_is_not() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "VERIFY-1", 5).await;
    let buyer = app.auth().token("buyer@example.com", "Bea").await;
    let browser = app.auth().token("browser@example.com", "Bob").await;
    let (status, _) = app.orders().buy(&buyer, &id, 1, "pm_card_visa").await;
    assert_eq!(status, 201);
    let (status, _) = app
        .orders()
        .buy(&browser, &id, 1, "pm_card_chargeDeclined")
        .await;
    assert_eq!(status, 402);
    for token in [&buyer, &browser] {
        assert_eq!(app.reviews().post(token, &id, 5).await.status(), 201);
    }
    let (_, page) = app.get_json(&format!("/api/products/{id}/reviews")).await;
    let by_name = |name: &str| {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|r| r["userName"] == name)
            .map(|r| r["verifiedPurchase"].clone())
    };
    assert_eq!(by_name("Bea"), Some(json!(true)), "{page}");
    assert_eq!(by_name("Bob"), Some(json!(false)), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_exported_and_survive_erasure_anonymised() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "GDPR-1", 5).await;
    let token = app.auth().token("leaving@example.com", "Lea").await;
    let (_, order) = app.orders().buy(&token, &id, 1, "pm_card_visa").await;
    let order_id = s(&order, "id").to_owned();
    let (status, export) = crate::harness::orders::answer(
        app.send(
            reqwest::Method::GET,
            "/api/users/me/export",
            Some(&token),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(export["orders"][0]["id"], order_id.as_str(), "{export}");
    assert_eq!(
        app.send(reqwest::Method::DELETE, "/api/users/me", Some(&token), None)
            .await
            .status(),
        204
    );
    eventually(
        Duration::from_secs(20),
        "the order to be anonymised",
        || {
            let (app, admin, order_id) = (&app, &admin, &order_id);
            async move {
                let (_, o) = app.orders().get(Some(admin), order_id).await;
                (o["email"].is_null() && o["shippingAddress"]["name"] == "erased").then_some(o)
            }
        },
    )
    .await;
    let (_, kept) = app.orders().get(Some(&admin), &order_id).await;
    assert_eq!(kept["status"], "paid");
    assert_eq!(kept["total"], order["total"]);
    assert_eq!(kept["shippingAddress"]["country"], "DE");
}

#[test]
fn no_route_begins_with_a_prefix_the_functions_host_reserves() {
    use jojomart::table::{http_endpoint, Trigger};
    let mut checked = 0;
    for function in jojomart::registry::functions() {
        let Trigger::Http { routes, .. } = function.trigger else {
            continue;
        };
        let path = http_endpoint(routes).path;
        // The host's route is the path after its `api/` prefix.
        let route = path.trim_start_matches('/').trim_start_matches("api/");
        let first = route.split('/').next().unwrap_or_default();
        for reserved in ["admin", "runtime"] {
            assert!(
                !first.eq_ignore_ascii_case(reserved),
                "{} is routed at {path}, which the Functions host refuses",
                function.name
            );
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} HTTP functions found");
}

/// What a checkout costs on Cosmos DB, in request units: measured on the SDK's
/// in-process emulator (`JOJOMART_E2E_BACKEND=cosmos-in-process`, run by
/// `scripts/test.sh` and printed by `scripts/bench.sh checkout`); on the other
/// backends it checks only that checkouts succeed. The budget catches a change
/// that makes checkout much dearer (a cross-partition query in the hot path).
#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_costs_a_bounded_number_of_request_units() {
    const CHECKOUTS: usize = 20;
    // everything one purchase sets off: the cart line, the checkout saga (about
    // 165 RU), and the outbox sweep, mail and analytics its events cause (about
    // 190 RU more): about 360 RU measured in all
    const BUDGET_RU: f64 = 450.0;
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let id = stocked(&app, &admin, "RU-1", 1000).await;
    let token = app.auth().token("ru@example.com", "Ru").await;
    let charged = || app.cosmos.as_ref().map(|c| c.request_charge_total());
    let settled = || async {
        app.analytics().drain().await;
        app.drained(jojomart::notifications::QUEUE).await;
    };
    settled().await;
    let mut spent = 0.0;
    for _ in 0..CHECKOUTS {
        let before = charged();
        app.orders().add_to_cart(&token, &id, 1).await;
        let key = uuid::Uuid::new_v4().to_string();
        let (status, order) = app
            .orders()
            .checkout(Some(&token), Some(&key), &checkout_body("pm_card_visa"))
            .await;
        assert_eq!(status, 201, "{order}");
        settled().await;
        if let (Some(before), Some(after)) = (before, charged()) {
            spent += after - before;
        }
    }
    if app.cosmos.is_some() {
        let per_checkout = spent / CHECKOUTS as f64;
        eprintln!(
            "request units per purchase, with the mail and analytics it sets off (in-process Cosmos emulator): {per_checkout:.1} RU"
        );
        assert!(
            per_checkout > 10.0 && per_checkout < BUDGET_RU,
            "{per_checkout:.1} RU per purchase"
        );
    }
}
