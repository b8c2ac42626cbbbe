//! The catalog's multi-step writes under races and crashes, over real HTTP:
//! concurrent PATCHes that swap SKUs never leave a live SKU unclaimed (nor a
//! freed one blocked), and a create, change or delete killed at any of its
//! steps leaves a catalog that works: the product exists whole or not at all,
//! its inventory route answers, its SKU is usable, and the
//! `reconcile-categories` timer puts category counts right.

use std::{
    collections::HashSet,
    sync::{Arc, OnceLock},
    time::Duration,
};

use chrono::TimeZone;
use jojomart::products::{
    inventory::INVENTORY,
    model::{sku_key, SkuClaim, CATEGORIES, PRODUCTS, SKUS},
};
use jojomart_shared::{
    clock::FakeClock,
    conformance::faults::{FaultyStore, Op},
    domain::Sku,
    store::{Container, Query, SharedStore},
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{catalog::product, s, Spawn, TestApp};

/// An app whose store is behind a [`FaultyStore`] (no fault armed), on `clock`.
async fn faulty_app(clock: Option<FakeClock>) -> (TestApp, Arc<FaultyStore>) {
    let slot: Arc<OnceLock<Arc<FaultyStore>>> = Arc::new(OnceLock::new());
    let filled = slot.clone();
    let mut spawn = Spawn {
        wrap_store: Box::new(move |store: SharedStore| {
            let faulty = FaultyStore::wrap(store);
            let _ = filled.set(faulty.clone());
            faulty as SharedStore
        }),
        ..Spawn::default()
    };
    if let Some(clock) = clock {
        spawn.clock = Arc::new(clock);
    }
    let app = TestApp::spawn_with(spawn).await;
    let faulty = slot.get().expect("the store was wrapped").clone();
    (app, faulty)
}

async fn patch_sku(app: &TestApp, admin: &str, id: &str, sku: &str) -> u16 {
    app.catalog()
        .update_product(Some(admin), id, &json!({ "sku": sku }))
        .await
        .status()
        .as_u16()
}

async fn sku_of(app: &TestApp, id: &str) -> String {
    let (status, p) = app.catalog().product(id).await;
    assert_eq!(status, 200, "{p}");
    s(&p, "sku").to_owned()
}

/// Every document of a container, straight from the store.
async fn all_docs(store: &SharedStore, container: &Container) -> Vec<Value> {
    let mut docs = Vec::new();
    let mut query = Query::new(container).limit(100);
    loop {
        let page = store.query(&query).await.expect("query");
        docs.extend(page.items.into_iter().map(|d| d.body));
        match page.continuation {
            Some(token) => query = query.continuation(Some(token)),
            None => return docs,
        }
    }
}

fn key(sku: &str) -> String {
    sku_key(&Sku::parse(sku).expect("a SKU"))
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_patches_swapping_skus_leave_every_live_sku_claimed_exactly_once() {
    let (app, faulty) = faulty_app(None).await;
    let admin = app.auth().admin().await;
    let a = app
        .catalog()
        .create_product(&admin, &product("SWAP-A", "Left Shoe", "", "shoes", 100, 1))
        .await;
    let b = app
        .catalog()
        .create_product(
            &admin,
            &product("SWAP-B", "Right Shoe", "", "shoes", 100, 1),
        )
        .await;
    let (a, b) = (s(&a, "id").to_owned(), s(&b, "id").to_owned());
    // Concurrent callers all read the product before any of them writes it:
    // every round is the interleaving that loses a claim, not a lucky one.
    faulty.delay_after(Op::Read, PRODUCTS, Duration::from_millis(25));

    let mut freed_checked = 0;
    for round in 0..50 {
        let (held_a, held_b) = (sku_of(&app, &a).await, sku_of(&app, &b).await);
        let fresh = format!("SWAP-{round}");
        // A moves to a fresh SKU while another PATCH puts its current one back,
        // B tries to take A's SKU, and A tries to take B's.
        let (r1, r2, r3, r4) = tokio::join!(
            patch_sku(&app, &admin, &a, &fresh),
            patch_sku(&app, &admin, &a, &held_a),
            patch_sku(&app, &admin, &b, &held_a),
            patch_sku(&app, &admin, &a, &held_b),
        );
        for status in [r1, r2, r3, r4] {
            assert!(
                status == 200 || status == 409,
                "round {round}: {r1} {r2} {r3} {r4}"
            );
        }
        let (now_a, now_b) = (sku_of(&app, &a).await, sku_of(&app, &b).await);
        assert_ne!(
            key(&now_a),
            key(&now_b),
            "round {round}: one SKU, two products"
        );
        for sku in [&held_a, &held_b, &fresh] {
            let body = product(sku, "Interloper", "", "shoes", 100, 1);
            let r = app.catalog().try_create_product(Some(&admin), &body).await;
            let status = r.status().as_u16();
            let created: Value = r.json().await.unwrap_or(Value::Null);
            if key(sku) == key(&now_a) || key(sku) == key(&now_b) {
                assert_eq!(
                    status, 409,
                    "round {round}: `{sku}` is live (A {now_a}, B {now_b}) but unclaimed: {created}"
                );
            } else {
                assert_eq!(
                    status, 201,
                    "round {round}: `{sku}` was freed (A {now_a}, B {now_b}) but is still claimed: {created}"
                );
                freed_checked += 1;
                let r = app
                    .catalog()
                    .delete_product(Some(&admin), s(&created, "id"))
                    .await;
                assert_eq!(r.status(), 204);
            }
        }
    }
    assert!(freed_checked > 0, "some SKU was freed and taken again");
    faulty.clear();

    // In the store: exactly one claim per live SKU, each held by its product.
    let store = app.state.adapters().store.clone();
    let claims: Vec<SkuClaim> = all_docs(&store, SKUS)
        .await
        .into_iter()
        .map(|c| serde_json::from_value(c).expect("a claim"))
        .collect();
    let (sku_a, sku_b) = (sku_of(&app, &a).await, sku_of(&app, &b).await);
    let mut held: Vec<(String, String)> = claims
        .iter()
        .map(|c| (c.sku.clone(), c.product_id.as_str().to_owned()))
        .collect();
    held.sort();
    let mut expected = vec![(key(&sku_a), a.clone()), (key(&sku_b), b.clone())];
    expected.sort();
    assert_eq!(held, expected, "no orphaned or missing claim");
    app.shutdown().await;
}

/// How many live products each category has, from the listing.
async fn listed_per_category(app: &TestApp) -> Vec<(String, i64)> {
    let mut counts = std::collections::BTreeMap::new();
    for p in app.all_pages("/api/products?limit=100").await {
        *counts.entry(s(&p, "category").to_owned()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

async fn category_counts(app: &TestApp) -> Vec<(String, i64)> {
    let mut counts: Vec<(String, i64)> = app
        .catalog()
        .categories()
        .await
        .as_array()
        .expect("a list of categories")
        .iter()
        .map(|c| (s(c, "id").to_owned(), c["productCount"].as_i64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort();
    counts
}

async fn reconcile_categories(app: &TestApp) {
    let r = app
        .post_json(
            "/reconcile-categories",
            &json!({"Data": {"timer": {"IsPastDue": false}}, "Metadata": {}}),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

/// The listed product with `sku`, if any.
async fn listed_with_sku(app: &TestApp, sku: &str) -> Option<Value> {
    app.all_pages("/api/products?limit=100")
        .await
        .into_iter()
        .find(|p| p["sku"] == sku)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_killed_at_any_step_leaves_a_working_catalog() {
    let start = chrono::Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap();
    let clock = FakeClock::new(start);
    let (app, faulty) = faulty_app(Some(clock.clone())).await;
    let admin = app.auth().admin().await;
    app.catalog()
        .create_product(&admin, &product("GARDEN-0", "Rake", "", "garden", 900, 3))
        .await;
    let steps: [(&str, Op, &Container); 4] = [
        ("the SKU claim", Op::Create, SKUS),
        ("the stock document", Op::Create, INVENTORY),
        ("the product document", Op::Create, PRODUCTS),
        ("the category count", Op::Replace, CATEGORIES),
    ];
    for (i, (step, op, container)) in steps.into_iter().enumerate() {
        let sku = format!("GARDEN-{}", i + 1);
        let body = product(&sku, &format!("Hose {i}"), "", "garden", 1500, 4);
        faulty.crash_at(op, container);
        let r = app.catalog().try_create_product(Some(&admin), &body).await;
        assert!(faulty.crashed(), "{step}: the crash fired ({})", r.status());
        faulty.clear(); // the restart
                        // Claims of creates that never finished lapse; the timer recounts.
        clock.advance(chrono::Duration::minutes(2));
        reconcile_categories(&app).await;

        let id = match listed_with_sku(&app, &sku).await {
            Some(found) => s(&found, "id").to_owned(),
            None => {
                let created = app.catalog().create_product(&admin, &body).await;
                s(&created, "id").to_owned()
            }
        };
        let (status, level) = app.catalog().set_stock(&admin, &id, 9).await;
        assert_eq!(status, 200, "{step}: the inventory route works: {level}");
        assert_eq!(
            app.catalog().available(&id).await,
            9,
            "{step}: the stock shows"
        );
        let r = app.catalog().try_create_product(Some(&admin), &body).await;
        assert_eq!(r.status(), 409, "{step}: the SKU is claimed");
        assert_eq!(
            category_counts(&app).await,
            listed_per_category(&app).await,
            "{step}: category counts match the products"
        );
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_or_delete_killed_after_the_product_write_is_repaired() {
    let start = chrono::Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap();
    let clock = FakeClock::new(start);
    let (app, faulty) = faulty_app(Some(clock.clone())).await;
    let admin = app.auth().admin().await;
    let lamp = app
        .catalog()
        .create_product(&admin, &product("LAMP-OLD", "Lamp", "", "home", 1999, 5))
        .await;
    let chair = app
        .catalog()
        .create_product(&admin, &product("CHAIR-1", "Chair", "", "home", 4999, 2))
        .await;
    let (lamp, chair) = (s(&lamp, "id").to_owned(), s(&chair, "id").to_owned());

    // A change of SKU and category dies once the product is written: the old
    // SKU's release and both category counts never happen.
    faulty.crash_at(Op::Delete, SKUS);
    let r = app
        .catalog()
        .update_product(
            Some(&admin),
            &lamp,
            &json!({"sku": "LAMP-NEW", "category": "lighting"}),
        )
        .await;
    assert!(faulty.crashed(), "the crash fired ({})", r.status());
    faulty.clear();
    assert_eq!(sku_of(&app, &lamp).await, "LAMP-NEW");
    let r = app
        .catalog()
        .try_create_product(
            Some(&admin),
            &product("LAMP-OLD", "Another Lamp", "", "home", 999, 1),
        )
        .await;
    assert_eq!(r.status(), 201, "the old SKU is free at once");
    let r = app
        .catalog()
        .try_create_product(
            Some(&admin),
            &product("LAMP-NEW", "Impostor", "", "home", 999, 1),
        )
        .await;
    assert_eq!(r.status(), 409, "the new SKU is claimed");

    // A delete dies once the product is marked deleted.
    faulty.crash_at(Op::Delete, SKUS);
    let r = app.catalog().delete_product(Some(&admin), &chair).await;
    assert!(faulty.crashed(), "the crash fired ({})", r.status());
    faulty.clear();
    assert_eq!(app.catalog().product(&chair).await.0, 404);
    let r = app
        .catalog()
        .try_create_product(
            Some(&admin),
            &product("CHAIR-1", "New Chair", "", "home", 4999, 2),
        )
        .await;
    assert_eq!(r.status(), 201, "a deleted product's SKU is free");

    // The timer leaves counts whose writes may still be on their way...
    reconcile_categories(&app).await;
    assert_ne!(
        category_counts(&app).await,
        listed_per_category(&app).await,
        "counts of just-written products are not touched yet"
    );
    // ... and corrects them once those writes are settled.
    clock.advance(chrono::Duration::minutes(2));
    reconcile_categories(&app).await;
    assert_eq!(
        category_counts(&app).await,
        listed_per_category(&app).await,
        "category counts match the products"
    );

    // A product whose stock document is missing (written before creates put
    // it first) gets one at the next touch of its inventory route.
    let store = app.state.adapters().store.clone();
    store
        .delete(INVENTORY, &lamp, "stock", None)
        .await
        .expect("stock removed");
    let (status, level) = app.catalog().set_stock(&admin, &lamp, 6).await;
    assert_eq!(status, 200, "{level}");
    assert_eq!(level["available"], 6);
    let names: HashSet<String> = app
        .all_pages("/api/products?limit=100")
        .await
        .iter()
        .map(|p| s(p, "name").to_owned())
        .collect();
    assert!(names.contains("Lamp"), "{names:?}");
    let r = app
        .send(
            Method::GET,
            &format!("/api/products/{lamp}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    app.shutdown().await;
}
