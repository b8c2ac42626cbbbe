//! The cart over real HTTP: anonymous carts named by `X-Cart-Id` (unguessable
//! ids we issue, kept for 30 days idle), a user's private cart, lines priced
//! from the catalog at every read, the refusals (unknown product, more than
//! available, bad quantities, another currency), concurrent adds that all land,
//! the merge of an anonymous cart at login and registration (capped at what is
//! available, once, crash-safe), erasure with the account, and the API checkout
//! calls (`for_checkout`, `remove_ordered`).

use std::{sync::Arc, time::Duration};

use chrono::TimeZone;
use jojomart::cart::{self, model::CART_DOC_ID, CartOwner, Carts, CARTS};
use jojomart_shared::{
    clock::FakeClock,
    domain::{OrderId, ProductId, Quantity, UserId},
};
use serde_json::{json, Value};

use crate::harness::{
    cart::{lines, Shopper},
    catalog::product,
    error_fields, eventually, s, Spawn, TestApp,
};

const WAIT: Duration = Duration::from_secs(20);

/// Creates a EUR product as `admin` with a price and stock; its id.
async fn a_product(app: &TestApp, admin: &str, sku: &str, price: i64, stock: i64) -> String {
    let body = product(sku, &format!("Product {sku}"), "", "home", price, stock);
    s(&app.catalog().create_product(admin, &body).await, "id").to_owned()
}

/// The pairs `(productId, quantity)` the tests expect.
fn want(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(p, q)| (p.to_string(), *q)).collect()
}

/// The cart document of `owner`, straight from the store.
async fn stored(app: &TestApp, owner: &CartOwner) -> Option<Value> {
    app.state
        .adapters()
        .store
        .read(CARTS, &owner.key(), CART_DOC_ID)
        .await
        .expect("store read")
        .map(|d| d.body)
}

fn anonymous(id: &str) -> CartOwner {
    CartOwner::Anonymous(jojomart_shared::domain::CartId::parse(id).expect("a cart id"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_cart_gets_an_unguessable_id_and_keeps_its_lines() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 10).await;
    let cart = app.cart();

    // A first visit: an empty cart and a new id, nothing written yet.
    let first = cart.get(Shopper::Anonymous(None)).await;
    assert_eq!(first.status, 200);
    let id = first.id().to_owned();
    assert!(
        id.len() >= 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "at least 128 bits of hex: {id}"
    );
    assert_eq!(first.body["items"], json!([]));
    assert_eq!(first.body["subtotal"], 0);
    assert_eq!(s(&first.body, "id"), id);
    assert_eq!(stored(&app, &anonymous(&id)).await, None);
    let other = cart.get(Shopper::Anonymous(None)).await;
    assert_ne!(other.id(), id, "every new cart gets its own id");

    // The id handed out is used by the first write, and the lines stay.
    let added = cart.add(Shopper::Anonymous(Some(&id)), &lamp, 2).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.id(), id);
    let added = cart.add(Shopper::Anonymous(Some(&id)), &lamp, 3).await;
    assert_eq!(added.quantities(), want(&[(&lamp, 5)]), "adds to the line");
    let again = cart.get(Shopper::Anonymous(Some(&id))).await;
    assert_eq!(again.id(), id);
    let item = &again.body["items"][0];
    assert_eq!(s(item, "productId"), lamp);
    assert_eq!(s(item, "name"), "Product LAMP-1");
    assert_eq!(item["unitPrice"], 1999);
    assert_eq!(item["quantity"], 5);
    assert_eq!(item["lineTotal"], 5 * 1999);
    assert_eq!(item["available"], true);
    assert_eq!(again.body["subtotal"], 5 * 1999);
    assert_eq!(s(&again.body, "currency"), "EUR");
    let doc = stored(&app, &anonymous(&id)).await.expect("stored");
    assert_eq!(doc["ttl"], 30 * 86_400, "anonymous carts expire when idle");

    // Another shopper's cart is another cart.
    let elsewhere = cart.get(Shopper::Anonymous(Some(other.id()))).await;
    assert_eq!(elsewhere.body["items"], json!([]));

    // An id we did not issue names no cart: a new one, with a new id.
    for forged in [&"0".repeat(64), "my-own-cart", &id.to_uppercase(), "a/b"] {
        let reply = cart.add(Shopper::Anonymous(Some(forged)), &lamp, 1).await;
        assert_eq!(reply.status, 200);
        assert_ne!(reply.id(), forged);
        assert_ne!(reply.id(), id);
        assert_eq!(reply.quantities(), want(&[(&lamp, 1)]), "{forged}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lines_show_the_current_price() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 10).await;
    let id = app.cart().add(Shopper::Anonymous(None), &lamp, 2).await;
    let me = Shopper::Anonymous(Some(id.id()));
    assert_eq!(id.body["subtotal"], 3998);

    let r = app
        .catalog()
        .update_product(
            Some(&admin),
            &lamp,
            &json!({"unitPrice": 2500, "name": "Brass Lamp"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let cart = app.cart().get_ok(me).await;
    assert_eq!(cart["items"][0]["unitPrice"], 2500);
    assert_eq!(s(&cart["items"][0], "name"), "Brass Lamp");
    assert_eq!(cart["items"][0]["lineTotal"], 5000);
    assert_eq!(cart["subtotal"], 5000);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_adds_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let token = app.auth().token("shopper@example.com", "Shopper").await;
    let me = Shopper::User(&token);
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 3).await;
    let bulk = a_product(&app, &admin, "SCREW-1", 5, 500).await;
    let mut dollars = product("MUG-1", "Mug", "", "home", 900, 10);
    dollars["currency"] = json!("USD");
    let dollars = s(&app.catalog().create_product(&admin, &dollars).await, "id").to_owned();
    let cart = app.cart();
    assert_eq!(cart.add(me, &lamp, 2).await.status, 200);
    let before = cart.get_ok(me).await;

    let unknown = ProductId::generate().to_string();
    let r = cart.add(me, &unknown, 1).await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.body["status"], 404);

    let r = cart.add(me, &lamp, 2).await;
    assert_eq!(r.status, 409, "2 held + 2 > 3 available: {}", r.body);
    assert!(s(&r.body, "detail").contains("available"), "{}", r.body);
    let r = cart.add(me, &lamp, 4).await;
    assert_eq!(r.status, 409);

    for quantity in [json!(0), json!(100), json!(-1), json!("two"), json!(1.5)] {
        let r = cart
            .add_body(me, &json!({"productId": lamp, "quantity": quantity}))
            .await;
        assert_eq!(r.status, 400, "quantity {quantity}: {}", r.body);
        assert_eq!(error_fields(&r.body), ["quantity"], "quantity {quantity}");
    }
    for product_id in [json!("not-a-product"), json!(7), Value::Null] {
        let r = cart
            .add_body(me, &json!({"productId": product_id, "quantity": 1}))
            .await;
        assert_eq!(r.status, 400, "productId {product_id}: {}", r.body);
        assert_eq!(error_fields(&r.body), ["productId"]);
    }
    let r = cart.add_body(me, &json!({"quantity": 1})).await;
    assert_eq!(error_fields(&r.body), ["productId"]);

    // One currency per cart.
    let r = cart.add(me, &dollars, 1).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(s(&r.body, "detail").contains("USD"), "{}", r.body);

    assert_eq!(cart.get_ok(me).await, before, "nothing changed");

    // A line holds at most 99 units, whatever the stock.
    assert_eq!(cart.add(me, &bulk, 60).await.status, 200);
    let r = cart.add(me, &bulk, 40).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(cart.add(me, &bulk, 39).await.quantities()[1], (bulk, 99));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_sets_a_quantity_zero_removes_and_delete_empties() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 5).await;
    let mug = a_product(&app, &admin, "MUG-1", 900, 5).await;
    let cart = app.cart();
    let first = cart.add(Shopper::Anonymous(None), &lamp, 1).await;
    let id = first.id().to_owned();
    let me = Shopper::Anonymous(Some(&id));
    cart.add(me, &mug, 2).await;

    let r = cart.set(me, &lamp, 4).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.id(), id);
    assert_eq!(r.quantities(), want(&[(&lamp, 4), (&mug, 2)]));
    assert_eq!(r.body["subtotal"], 4 * 1999 + 2 * 900);
    let r = cart.set(me, &lamp, 6).await;
    assert_eq!(r.status, 409, "above the 5 available: {}", r.body);
    let r = cart.set(me, &lamp, 2).await;
    assert_eq!(r.quantities(), want(&[(&lamp, 2), (&mug, 2)]));
    for bad in [json!(100), json!(-1), json!("1")] {
        let r = cart
            .call(
                reqwest::Method::PATCH,
                &format!("/api/cart/items/{lamp}"),
                me,
                Some(&json!({ "quantity": bad })),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(error_fields(&r.body), ["quantity"]);
    }

    let r = cart.set(me, &lamp, 0).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.quantities(), want(&[(&mug, 2)]), "0 removes the line");
    assert_eq!(cart.set(me, &lamp, 0).await.status, 200, "and again");
    let r = cart.set(me, &lamp, 2).await;
    assert_eq!(r.status, 404, "no such line: {}", r.body);
    assert_eq!(cart.set(me, "nope", 2).await.status, 404);

    let r = cart.remove(me, &mug).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(r.body["subtotal"], 0);
    assert_eq!(cart.remove(me, &mug).await.status, 200, "idempotent");

    cart.add(me, &mug, 1).await;
    let r = cart.clear(me).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.id(), id);
    assert_eq!(cart.get_ok(me).await["items"], json!([]));
    assert_eq!(stored(&app, &anonymous(&id)).await, None);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_product_shows_unavailable_and_leaves_the_subtotal() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 5).await;
    let mug = a_product(&app, &admin, "MUG-1", 900, 5).await;
    let token = app.auth().token("shopper@example.com", "Shopper").await;
    let me = Shopper::User(&token);
    app.cart().add(me, &lamp, 1).await;
    app.cart().add(me, &mug, 2).await;

    let r = app.catalog().delete_product(Some(&admin), &lamp).await;
    assert_eq!(r.status(), 204);
    let cart = app.cart().get_ok(me).await;
    assert_eq!(
        lines(&cart),
        want(&[(&lamp, 1), (&mug, 2)]),
        "the line stays"
    );
    let gone = &cart["items"][0];
    assert_eq!(gone["available"], false);
    assert_eq!(s(gone, "status"), "unavailable");
    assert_eq!(s(gone, "name"), "Product LAMP-1", "its last known name");
    assert_eq!(gone["lineTotal"], 0);
    assert_eq!(cart["items"][1]["available"], true);
    assert_eq!(cart["subtotal"], 2 * 900);

    assert_eq!(app.cart().add(me, &lamp, 1).await.status, 404);
    assert_eq!(app.cart().set(me, &lamp, 2).await.status, 404);
    let r = app.cart().remove(me, &lamp).await;
    assert_eq!(r.quantities(), want(&[(&mug, 2)]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_tabs_adding_at_once_all_land() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let token = app.auth().token("busy@example.com", "Busy").await;
    let popular = a_product(&app, &admin, "POP-1", 100, 50).await;
    let mut many = Vec::new();
    for n in 0..20 {
        many.push(a_product(&app, &admin, &format!("MANY-{n}"), 100, 5).await);
    }
    // An anonymous cart that exists, so all writers race on one document.
    let anon = app.cart().add(Shopper::Anonymous(None), &popular, 1).await;
    let anon_id = anon.id().to_owned();

    for who in [Shopper::User(&token), Shopper::Anonymous(Some(&anon_id))] {
        let cart = app.cart();
        let adds = many
            .iter()
            .map(|p| cart.add(who, p, 1))
            .chain((0..20).map(|_| cart.add(who, &popular, 1)));
        let replies = futures::future::join_all(adds).await;
        for r in &replies {
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let lines = lines(&app.cart().get_ok(who).await);
        let held = |p: &str| lines.iter().find(|(id, _)| id == p).map(|(_, q)| *q);
        let popular_wanted = if matches!(who, Shopper::User(_)) {
            20
        } else {
            21
        };
        assert_eq!(held(&popular), Some(popular_wanted), "{who:?}: {lines:?}");
        for p in &many {
            assert_eq!(held(p), Some(1), "{who:?}: {p} in {lines:?}");
        }
        assert_eq!(lines.len(), 21);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn login_merges_the_anonymous_cart_once_capped_at_what_is_available() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 5).await;
    let mug = a_product(&app, &admin, "MUG-1", 900, 10).await;
    let session = app.auth().register("merge@example.com").await;
    let token = s(&session, "accessToken").to_owned();
    let user = UserId::parse(s(&session["user"], "id")).unwrap();
    app.cart().add(Shopper::User(&token), &lamp, 2).await;

    let anon = app.cart().add(Shopper::Anonymous(None), &lamp, 4).await;
    let anon_id = anon.id().to_owned();
    app.cart()
        .add(Shopper::Anonymous(Some(&anon_id)), &mug, 1)
        .await;

    let signed_in = app.cart().login("merge@example.com", &anon_id).await;
    let token = s(&signed_in, "accessToken").to_owned();
    let me = Shopper::User(&token);
    let cart = app.cart().get_ok(me).await;
    assert_eq!(
        lines(&cart),
        want(&[(&lamp, 5), (&mug, 1)]),
        "2 + 4 lamps capped at the 5 available"
    );
    assert_eq!(s(&cart, "id"), CartOwner::User(user.clone()).key());
    // The anonymous cart is gone: its id now names an empty cart.
    assert_eq!(stored(&app, &anonymous(&anon_id)).await, None);
    let left = app.cart().get(Shopper::Anonymous(Some(&anon_id))).await;
    assert_eq!(left.body["items"], json!([]));

    // Signing in again with the same id changes nothing.
    app.cart().login("merge@example.com", &anon_id).await;
    assert_eq!(app.cart().get_ok(me).await, cart);

    // A retried merge after a crash between writing the user's cart and
    // deleting the anonymous one does not add anything twice.
    let crashed = app.cart().add(Shopper::Anonymous(None), &mug, 3).await;
    let crashed_id = crashed.id().to_owned();
    let before_merge = stored(&app, &anonymous(&crashed_id)).await.unwrap();
    app.cart().login("merge@example.com", &crashed_id).await;
    assert_eq!(
        lines(&app.cart().get_ok(me).await),
        want(&[(&lamp, 5), (&mug, 4)])
    );
    app.state
        .adapters()
        .store
        .create(CARTS, &crashed_id, CART_DOC_ID, before_merge)
        .await
        .expect("the anonymous cart as it was before the merge");
    app.cart().login("merge@example.com", &crashed_id).await;
    assert_eq!(
        lines(&app.cart().get_ok(me).await),
        want(&[(&lamp, 5), (&mug, 4)]),
        "merged once"
    );
    assert_eq!(stored(&app, &anonymous(&crashed_id)).await, None);

    // The same id used again after the merge is a new cart, merged in full.
    app.cart()
        .add(Shopper::Anonymous(Some(&anon_id)), &mug, 2)
        .await;
    app.cart().login("merge@example.com", &anon_id).await;
    assert_eq!(
        lines(&app.cart().get_ok(me).await),
        want(&[(&lamp, 5), (&mug, 6)])
    );

    // A foreign id, or none, merges nothing and the login still works.
    app.cart().login("merge@example.com", &"f".repeat(64)).await;
    assert_eq!(
        app.auth().session("merge@example.com").await["user"]["id"],
        session["user"]["id"]
    );
    assert_eq!(
        lines(&app.cart().get_ok(me).await),
        want(&[(&lamp, 5), (&mug, 6)])
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registering_merges_the_anonymous_cart() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 5).await;
    let anon = app.cart().add(Shopper::Anonymous(None), &lamp, 2).await;
    let anon_id = anon.id().to_owned();

    let session = app.cart().register("new@example.com", &anon_id).await;
    let token = s(&session, "accessToken");
    let cart = app.cart().get(Shopper::User(token)).await;
    assert_eq!(cart.quantities(), want(&[(&lamp, 2)]));
    assert_eq!(cart.cart_id, None, "a user's cart has no X-Cart-Id");
    assert_eq!(stored(&app, &anonymous(&anon_id)).await, None);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_cart_is_private() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 5).await;
    let alice = app.auth().register("alice@example.com").await;
    let bob = app.auth().token("bob@example.com", "Bob").await;
    let alice_token = s(&alice, "accessToken");
    app.cart().add(Shopper::User(alice_token), &lamp, 2).await;

    let bobs = app.cart().get_ok(Shopper::User(&bob)).await;
    assert_eq!(bobs["items"], json!([]));
    let alices = app.cart().get_ok(Shopper::User(alice_token)).await;
    assert_ne!(bobs["id"], alices["id"]);

    // Her cart's key is no anonymous id.
    let key = s(&alices, "id").to_owned();
    let r = app.cart().get(Shopper::Anonymous(Some(&key))).await;
    assert_eq!(r.body["items"], json!([]));
    assert_ne!(r.id(), key);
    let r = app.cart().clear(Shopper::Anonymous(Some(&key))).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        lines(&app.cart().get_ok(Shopper::User(alice_token)).await),
        want(&[(&lamp, 2)])
    );

    // With a token the header is ignored; a bad token is refused.
    let anon = app.cart().add(Shopper::Anonymous(None), &lamp, 1).await;
    let r = app
        .cart()
        .call(
            reqwest::Method::GET,
            "/api/cart",
            Shopper::User("not-a-token"),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    let mut request = app.client.get(app.url("/api/cart"));
    request = request.bearer_auth(&bob).header("x-cart-id", anon.id());
    let r = request.send().await.unwrap();
    assert!(r.headers().get("x-cart-id").is_none());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["items"], json!([]));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn closing_the_account_deletes_the_cart() {
    let app = TestApp::spawn_configured(|c| {
        c.delivery.max_polling_interval = Duration::from_millis(100);
    })
    .await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 5).await;
    let session = app.auth().register("leaving@example.com").await;
    let token = s(&session, "accessToken");
    let owner = CartOwner::User(UserId::parse(s(&session["user"], "id")).unwrap());
    app.cart().add(Shopper::User(token), &lamp, 2).await;
    assert!(stored(&app, &owner).await.is_some());
    let export: Value = app.users().export(token).await.json().await.unwrap();
    assert_eq!(lines(&export["cart"]), want(&[(&lamp, 2)]), "in the export");

    assert_eq!(app.users().delete_me(token).await.status(), 204);
    eventually(WAIT, "the cart erased", || async {
        stored(&app, &owner).await.is_none().then_some(())
    })
    .await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_anonymous_cart_expires_after_30_days() {
    let start = chrono::Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap();
    let clock = FakeClock::new(start);
    let app = TestApp::spawn_with(Spawn {
        clock: Arc::new(clock.clone()),
        ..Spawn::default()
    })
    .await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 50).await;
    let anon = app.cart().add(Shopper::Anonymous(None), &lamp, 1).await;
    let me = Shopper::Anonymous(Some(anon.id()));

    clock.advance(chrono::Duration::days(29));
    assert_eq!(app.cart().get(me).await.quantities(), want(&[(&lamp, 1)]));
    app.cart().add(me, &lamp, 1).await;
    clock.advance(chrono::Duration::days(29));
    assert_eq!(
        app.cart().get(me).await.quantities(),
        want(&[(&lamp, 2)]),
        "every write renews it"
    );
    clock.advance(chrono::Duration::days(2));
    assert_eq!(app.cart().get(me).await.body["items"], json!([]), "expired");
    let r = app.cart().add(me, &lamp, 1).await;
    assert_eq!(r.quantities(), want(&[(&lamp, 1)]), "a fresh cart");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_sees_lines_priced_now_and_removes_what_an_order_bought_once() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = a_product(&app, &admin, "LAMP-1", 1999, 10).await;
    let mug = a_product(&app, &admin, "MUG-1", 900, 10).await;
    let gone = a_product(&app, &admin, "GONE-1", 500, 10).await;
    let session = app.auth().register("buyer@example.com").await;
    let token = s(&session, "accessToken");
    let owner = CartOwner::User(UserId::parse(s(&session["user"], "id")).unwrap());
    for (p, n) in [(&lamp, 3), (&mug, 1), (&gone, 1)] {
        app.cart().add(Shopper::User(token), p, n).await;
    }
    app.catalog().delete_product(Some(&admin), &gone).await;
    let carts = app.state.handle::<Carts>();

    let seen = cart::for_checkout(&carts, &owner).await.unwrap();
    assert_eq!(seen.id, owner.key());
    assert_eq!(seen.currency.as_deref(), Some("EUR"));
    let summary: Vec<_> = seen
        .lines
        .iter()
        .map(|l| {
            (
                l.product_id.to_string(),
                l.quantity.get(),
                l.unit_price,
                l.available,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (lamp.clone(), 3, 1999, true),
            (mug.clone(), 1, 900, true),
            (gone.clone(), 1, 500, false)
        ]
    );

    let order = OrderId::parse("order-1").unwrap();
    let bought = [
        (ProductId::parse(&lamp).unwrap(), Quantity::new(2).unwrap()),
        (ProductId::parse(&mug).unwrap(), Quantity::new(1).unwrap()),
    ];
    for _ in 0..2 {
        cart::remove_ordered(&carts, &owner, &order, &bought)
            .await
            .unwrap();
        assert_eq!(
            lines(&app.cart().get_ok(Shopper::User(token)).await),
            want(&[(&lamp, 1), (&gone, 1)]),
            "once per order"
        );
    }
    let next = OrderId::parse("order-2").unwrap();
    cart::remove_ordered(&carts, &owner, &next, &bought[..1])
        .await
        .unwrap();
    assert_eq!(
        lines(&app.cart().get_ok(Shopper::User(token)).await),
        want(&[(&gone, 1)])
    );
    let empty = CartOwner::User(UserId::parse("nobody").unwrap());
    let nothing = cart::for_checkout(&carts, &empty).await.unwrap();
    assert!(nothing.lines.is_empty() && nothing.currency.is_none());
    app.shutdown().await;
}
