//! Inventory over real HTTP and through the reservation API checkout uses:
//! stock never below what is reserved, reservations idempotent per order and
//! all-or-nothing across lines, and expired reservations released by the
//! `release-reservations` timer on a fake clock.

use std::{sync::Arc, time::Duration};

use chrono::TimeZone;
use jojomart::products::{
    inventory::{self, InventoryError, ReservationState},
    Inventory,
};
use jojomart_shared::{
    clock::FakeClock,
    domain::{OrderId, ProductId, Quantity},
};
use serde_json::{json, Value};

use crate::harness::{catalog::product, eventually, Spawn, TestApp};

/// An order id of the tests; `raw` is a valid one.
fn order(raw: &str) -> OrderId {
    OrderId::parse(raw).expect("a valid order id")
}

/// A cart line's quantity; `n` is between 1 and 99.
fn units(n: i64) -> Quantity {
    Quantity::new(n).expect("a valid quantity")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_reads_stock_reserved_and_available_before_setting_the_stock() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let p = app
        .catalog()
        .create_product(
            &admin,
            &product("LAMP-R", "Reading Lamp", "", "home", 1999, 10),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    inventory::reserve(
        &app.state.handle::<Inventory>(),
        &ProductId::parse(&id).unwrap(),
        &order("order-read"),
        units(3),
        chrono::Duration::minutes(15),
    )
    .await
    .unwrap();

    let (status, level) = app.catalog().stock_level(Some(&admin), &id).await;
    assert_eq!(status, 200, "{level}");
    assert_eq!(level, json!({"stock": 10, "reserved": 3, "available": 7}));

    // shoppers and strangers see availability only (on the product), not the stock
    let shopper = app.auth().token("stock-reader@example.com", "Reader").await;
    assert_eq!(app.catalog().stock_level(Some(&shopper), &id).await.0, 403);
    assert_eq!(app.catalog().stock_level(None, &id).await.0, 401);
    assert_eq!(
        app.catalog()
            .stock_level(Some(&admin), "no-such-product")
            .await
            .0,
        404
    );
    assert_eq!(
        app.catalog()
            .delete_product(Some(&admin), &id)
            .await
            .status(),
        204
    );
    assert_eq!(app.catalog().stock_level(Some(&admin), &id).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn stock_can_never_be_set_below_reserved() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let p = app
        .catalog()
        .create_product(
            &admin,
            &product("LAMP-1", "Desk Lamp", "", "home", 1999, 10),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let pid = ProductId::parse(&id).unwrap();

    inventory::reserve(
        &app.state.handle::<Inventory>(),
        &pid,
        &order("order-1"),
        units(6),
        chrono::Duration::minutes(15),
    )
    .await
    .unwrap();
    assert_eq!(app.catalog().available(&id).await, 4);
    let (status, problem) = app.catalog().set_stock(&admin, &id, 5).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "https://jojomart.dev/problems/conflict");
    let (status, level) = app.catalog().set_stock(&admin, &id, 6).await;
    assert_eq!(status, 200);
    assert_eq!(level, json!({"stock": 6, "reserved": 6, "available": 0}));
    let (_, got) = app.catalog().product(&id).await;
    assert_eq!(
        (got["available"].as_i64(), got["inStock"].as_bool()),
        (Some(0), Some(false))
    );

    // under contention: checkouts reserve while an admin keeps lowering the stock
    app.catalog().set_stock(&admin, &id, 40).await;
    let mut tasks = Vec::new();
    for i in 0..30 {
        let state = app.state.handle::<Inventory>();
        let pid = pid.clone();
        tasks.push(tokio::spawn(async move {
            inventory::reserve(
                &state,
                &pid,
                &order(&format!("race-{i}")),
                units(1),
                chrono::Duration::minutes(15),
            )
            .await
            .is_ok()
        }));
    }
    let mut puts = Vec::new();
    for stock in [30, 20, 10, 8, 6] {
        let (client, admin) = (app.client.clone(), admin.clone());
        let url = app.url(&format!("/api/products/{id}/inventory"));
        puts.push(tokio::spawn(async move {
            client
                .put(url)
                .bearer_auth(admin)
                .json(&json!({"stock": stock}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let reserved_ok = {
        let mut n = 0;
        for t in tasks {
            n += usize::from(t.await.unwrap());
        }
        n
    };
    for t in puts {
        assert!([200, 409].contains(&t.await.unwrap()));
    }
    let level = inventory::level(&app.state.handle::<Inventory>(), &pid)
        .await
        .unwrap();
    assert!(level.stock >= level.reserved, "{level:?}");
    assert_eq!(
        level.reserved,
        6 + reserved_ok as i64,
        "every successful reservation is counted once"
    );
    assert_eq!(app.catalog().available(&id).await, level.available);

    // bad input
    let (status, problem) = app.catalog().set_stock(&admin, &id, -1).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("stock"))
    );
    let (status, _) = app
        .catalog()
        .set_stock(&admin, "0123456789abcdef0123456789abcdef", 1)
        .await;
    assert_eq!(status, 404);
    let customer = app.auth().token("c@jojomart.test", "C").await;
    assert_eq!(app.catalog().set_stock(&customer, &id, 100).await.0, 403);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reservations_are_idempotent_per_order_and_all_or_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let a = app
        .catalog()
        .create_product(&admin, &product("A-1", "Alpha", "", "home", 100, 5))
        .await;
    let b = app
        .catalog()
        .create_product(&admin, &product("B-1", "Beta", "", "home", 100, 1))
        .await;
    let (a, b) = (
        ProductId::parse(a["id"].as_str().unwrap()).unwrap(),
        ProductId::parse(b["id"].as_str().unwrap()).unwrap(),
    );
    let ttl = chrono::Duration::minutes(15);
    let s = &app.state.handle::<Inventory>();

    let first = inventory::reserve(s, &a, &order("o-1"), units(2), ttl)
        .await
        .unwrap();
    let again = inventory::reserve(s, &a, &order("o-1"), units(2), ttl)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        inventory::level(s, &a).await.unwrap().reserved,
        2,
        "counted once"
    );
    assert!(matches!(
        inventory::reserve(s, &a, &order("o-1"), units(3), ttl).await,
        Err(InventoryError::QuantityMismatch { held }) if held == units(2)
    ));
    assert!(matches!(
        inventory::reserve(s, &a, &order("o-2"), units(4), ttl).await,
        Err(InventoryError::Insufficient { available: 3 })
    ));

    let committed = inventory::commit(s, &a, &order("o-1")).await.unwrap();
    assert_eq!(committed.state, ReservationState::Committed);
    inventory::commit(s, &a, &order("o-1")).await.unwrap();
    let level = inventory::level(s, &a).await.unwrap();
    assert_eq!((level.stock, level.reserved), (3, 0), "committed once");
    assert!(matches!(
        inventory::release(s, &a, &order("o-1")).await,
        Err(InventoryError::AlreadySettled(ReservationState::Committed))
    ));
    assert!(matches!(
        inventory::reserve(s, &a, &order("o-1"), units(2), ttl).await,
        Err(InventoryError::AlreadySettled(_))
    ));
    inventory::release(s, &a, &order("never-reserved"))
        .await
        .unwrap();

    // all or nothing: the second line fails, the first is given back
    let err = inventory::reserve_all(
        s,
        &order("o-3"),
        &[(a.clone(), units(2)), (b.clone(), units(2))],
        ttl,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, InventoryError::Insufficient { available: 1 }));
    assert_eq!(inventory::level(s, &a).await.unwrap().reserved, 0);
    assert_eq!(inventory::level(s, &b).await.unwrap().reserved, 0);
    let held = inventory::reserve_all(
        s,
        &order("o-4"),
        &[(a.clone(), units(2)), (b.clone(), units(1))],
        ttl,
    )
    .await
    .unwrap();
    assert_eq!(held.len(), 2);
    assert_eq!(app.catalog().available(a.as_str()).await, 1);
    assert_eq!(app.catalog().available(b.as_str()).await, 0);
    inventory::release(s, &b, &order("o-4")).await.unwrap();
    inventory::release(s, &b, &order("o-4")).await.unwrap();
    assert_eq!(app.catalog().available(b.as_str()).await, 1);
    // what cannot address a reservation, or hold nothing, never reaches the API
    assert!(OrderId::parse("bad/id").is_err());
    assert!(Quantity::new(0).is_err());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_reservation_is_released_by_the_timer() {
    let start = chrono::Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap();
    let clock = FakeClock::new(start);
    let app = TestApp::spawn_with(Spawn {
        clock: Arc::new(clock.clone()),
        ..Spawn::default()
    })
    .await;
    let admin = app.auth().admin().await;
    let p = app
        .catalog()
        .create_product(&admin, &product("LAMP-1", "Desk Lamp", "", "home", 1999, 5))
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let pid = ProductId::parse(&id).unwrap();
    let other = app
        .catalog()
        .create_product(
            &admin,
            &product("LAMP-2", "Floor Lamp", "", "home", 5999, 5),
        )
        .await;
    let other = ProductId::parse(other["id"].as_str().unwrap()).unwrap();

    inventory::reserve(
        &app.state.handle::<Inventory>(),
        &pid,
        &order("crashed-checkout"),
        units(3),
        chrono::Duration::minutes(15),
    )
    .await
    .unwrap();
    inventory::reserve(
        &app.state.handle::<Inventory>(),
        &other,
        &order("slow-checkout"),
        units(2),
        chrono::Duration::minutes(30),
    )
    .await
    .unwrap();
    assert_eq!(app.catalog().available(&id).await, 2);

    // the timer before expiry releases nothing
    let r = app
        .post_json(
            "/admin/functions/release-reservations",
            &json!({"input": ""}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .post_json(
            "/release-reservations",
            &json!({"Data": {"timer": {"IsPastDue": false}}, "Metadata": {}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["Logs"],
        json!(["released 0 expired reservations"])
    );
    assert_eq!(app.catalog().available(&id).await, 2);

    clock.advance(chrono::Duration::minutes(16));
    let r = app
        .post_json(
            "/admin/functions/release-reservations",
            &json!({"input": ""}),
        )
        .await;
    assert_eq!(r.status(), 202);
    eventually(
        Duration::from_secs(10),
        "the expired reservation to be released",
        || {
            let app = &app;
            let id = id.clone();
            async move { (app.catalog().available(&id).await == 5).then_some(()) }
        },
    )
    .await;
    assert_eq!(
        inventory::level(&app.state.handle::<Inventory>(), &pid)
            .await
            .unwrap()
            .reserved,
        0
    );
    assert_eq!(
        inventory::level(&app.state.handle::<Inventory>(), &other)
            .await
            .unwrap()
            .reserved,
        2,
        "not expired yet"
    );
    // a checkout that comes back late finds its reservation gone
    assert!(matches!(
        inventory::commit(
            &app.state.handle::<Inventory>(),
            &pid,
            &order("crashed-checkout")
        )
        .await,
        Err(InventoryError::AlreadySettled(ReservationState::Released))
    ));
    app.shutdown().await;
}
