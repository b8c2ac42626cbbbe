//! The catalog over real HTTP: search, every sort order across pages, stable
//! paging while products are added, SKU uniqueness under concurrent creates,
//! parameter validation, admin-only writes with real tokens, soft delete,
//! category counts, and the demo and benchmark catalogs of the binary.

use std::{
    collections::{HashMap, HashSet},
    process::Command,
    time::Duration,
};

use jojomart::products::model::PRODUCTS;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{
    binary, catalog::product, dev::DevProcess, error_fields, eventually, ids, s, urlencode, TestApp,
};

#[tokio::test(flavor = "multi_thread")]
async fn search_matches_every_word_in_any_case_and_order() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let shirt = app
        .catalog()
        .create_product(
            &admin,
            &product(
                "SHIRT-1",
                "Red Cotton Shirt",
                "Soft and breathable.",
                "clothing",
                2500,
                5,
            ),
        )
        .await;
    let trousers = app
        .catalog()
        .create_product(
            &admin,
            &product(
                "TROUSERS-1",
                "Blue COTTON Trousers",
                "Stitched with RED thread.",
                "clothing",
                5500,
                5,
            ),
        )
        .await;
    app.catalog()
        .create_product(
            &admin,
            &product(
                "SWEATER-1",
                "Green Wool Sweater",
                "Warm and itchy.",
                "clothing",
                7000,
                5,
            ),
        )
        .await;

    let search = |q: &str| {
        let path = format!("/api/products?q={}", urlencode(q));
        let app = &app;
        async move { ids(&app.all_pages(&path).await) }
    };
    let (shirt, trousers) = (
        shirt["id"].as_str().unwrap(),
        trousers["id"].as_str().unwrap(),
    );
    // both words, any case, any order; the name match ranks first
    assert_eq!(search("cotton red").await, [shirt, trousers]);
    assert_eq!(search("RED Cotton").await, [shirt, trousers]);
    assert_eq!(search("  red   COTTON ").await, [shirt, trousers]);
    // every word must match (name or description)
    assert_eq!(search("shirt RED").await, [shirt]);
    assert_eq!(search("thread trousers").await, [trousers]);
    assert!(search("red wool").await.is_empty());
    // a word matches inside longer words, as `contains` does
    assert_eq!(search("cott").await.len(), 2);
    assert_eq!(search("").await.len(), 3);
    app.shutdown().await;
}

/// Creates `n` products with prices and names that make every order checkable.
async fn catalog_of(app: &TestApp, admin: &str, n: usize) -> Vec<Value> {
    let mut created = Vec::new();
    for i in 0..n {
        // prices repeat (ties are broken by id) and are not in creation order
        let price = ((i * 7919) % 13) as i64 * 100 + 99;
        let word = if i % 3 == 0 { "lamp" } else { "chair" };
        let body = product(
            &format!("SKU-{i:03}"),
            &format!("Item {i} {word}"),
            &format!("Description of item {i}, a {word}."),
            if i % 2 == 0 { "home" } else { "office" },
            price,
            (i % 4) as i64,
        );
        created.push(app.catalog().create_product(admin, &body).await);
    }
    created
}

fn prices(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|p| p["unitPrice"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_sort_order_is_right_across_several_pages() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let created = catalog_of(&app, &admin, 23).await;
    let all: HashSet<String> = ids(&created).into_iter().collect();

    // ratings for the rating order: product k gets ratings from (k % 3 + 1) users
    let mut tokens = Vec::new();
    for u in 0..3 {
        tokens.push(
            app.auth()
                .token(&format!("rater{u}@jojomart.test"), &format!("Rater {u}"))
                .await,
        );
    }
    for (k, p) in created.iter().enumerate().take(8) {
        for token in tokens.iter().take(k % 3 + 1) {
            let rating = (k % 5 + 1) as i64;
            let r = app
                .reviews()
                .post_body(
                    Some(token),
                    p["id"].as_str().unwrap(),
                    &json!({"rating": rating, "title": "ok", "body": ""}),
                )
                .await;
            assert_eq!(r.status(), 201);
        }
    }

    let page_through = |sort: &str| {
        let path = format!("/api/products?sort={sort}&limit=4");
        let app = &app;
        async move { app.all_pages(&path).await }
    };

    let newest = page_through("newest").await;
    let expected: Vec<String> = ids(&created).into_iter().rev().collect();
    assert_eq!(ids(&newest), expected, "newest first, across 6 pages");

    let asc = page_through("price_asc").await;
    assert_eq!(asc.len(), 23);
    assert!(
        prices(&asc).windows(2).all(|w| w[0] <= w[1]),
        "{:?}",
        prices(&asc)
    );
    assert_eq!(ids(&asc).into_iter().collect::<HashSet<_>>(), all);

    let desc = page_through("price_desc").await;
    assert_eq!(desc.len(), 23);
    assert!(
        prices(&desc).windows(2).all(|w| w[0] >= w[1]),
        "{:?}",
        prices(&desc)
    );
    assert_eq!(ids(&desc).into_iter().collect::<HashSet<_>>(), all);

    let rated = page_through("rating").await;
    assert_eq!(rated.len(), 23);
    let averages: Vec<f64> = rated
        .iter()
        .map(|p| p["rating"]["average"].as_f64().unwrap())
        .collect();
    assert!(averages.windows(2).all(|w| w[0] >= w[1]), "{averages:?}");
    assert_eq!(averages[0], 5.0, "product 4 has only fives");
    assert_eq!(rated[0]["id"], created[4]["id"]);

    // relevance: matches only, name matches before description-only ones
    let lamps = app
        .all_pages("/api/products?q=lamp&sort=relevance&limit=3")
        .await;
    assert_eq!(lamps.len(), 8);
    assert!(lamps
        .iter()
        .all(|p| p["name"].as_str().unwrap().contains("lamp")));

    // filters hold on every page
    let cheap_home = app
        .all_pages("/api/products?category=home&maxPrice=599&minPrice=199&sort=price_asc&limit=2")
        .await;
    assert!(!cheap_home.is_empty());
    for p in &cheap_home {
        assert_eq!(p["category"], "home");
        let price = p["unitPrice"].as_i64().unwrap();
        assert!((199..=599).contains(&price), "{price}");
    }
    let expected_home = created
        .iter()
        .filter(|p| {
            p["category"] == "home" && (199..=599).contains(&p["unitPrice"].as_i64().unwrap())
        })
        .count();
    assert_eq!(cheap_home.len(), expected_home);

    // inStock follows stock
    for p in &newest {
        let original = created.iter().find(|c| c["id"] == p["id"]).unwrap();
        assert_eq!(
            p["inStock"],
            json!(original["available"].as_i64().unwrap() > 0)
        );
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_returns_every_product_exactly_once_while_products_are_added() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let before: HashSet<String> = ids(&catalog_of(&app, &admin, 40).await)
        .into_iter()
        .collect();

    for sort in ["newest", "price_asc", "price_desc", "relevance"] {
        // another task keeps inserting products (cheap, dear, newest...) while we page
        let inserter = {
            let client = app.client.clone();
            let url = app.url("/api/products");
            let admin = admin.clone();
            let sort = sort.to_owned();
            tokio::spawn(async move {
                for i in 0..25 {
                    let body = product(
                        &format!("NEW-{sort}-{i}").to_uppercase().replace('_', "-"),
                        &format!("Inserted {i}"),
                        "added while paging",
                        "home",
                        (i % 3) * 1000,
                        1,
                    );
                    let r = client
                        .post(&url)
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            })
        };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/products?sort={sort}&limit=3");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", urlencode(c)));
            }
            let (status, page) = app.get_json(&path).await;
            assert_eq!(status, 200, "{page}");
            seen.extend(ids(page["items"].as_array().unwrap()));
            tokio::time::sleep(Duration::from_millis(2)).await;
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        inserter.await.unwrap();
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{sort}: a product was returned twice"
        );
        for id in &before {
            assert!(unique.contains(id), "{sort}: product {id} was skipped");
        }
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_creates_of_one_sku_make_exactly_one_product() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let client = app.client.clone();
        let url = app.url("/api/products");
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let body = product("DUP-1", &format!("Contender {i}"), "", "toys", 100, 1);
            client
                .post(url)
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = HashMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&201), Some(&1), "{statuses:?}");
    assert_eq!(statuses.get(&409), Some(&49), "{statuses:?}");
    let listed = app.all_pages("/api/products?limit=100").await;
    assert_eq!(listed.iter().filter(|p| p["sku"] == "DUP-1").count(), 1);
    let categories = app.catalog().categories().await;
    assert_eq!(
        categories,
        json!([{"id": "toys", "name": "Toys", "productCount": 1}])
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_are_400s_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    catalog_of(&app, &admin, 5).await;
    let (_, first) = app.get_json("/api/products?limit=2&sort=price_asc").await;
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let mut tampered = cursor.clone().into_bytes();
    tampered[5] = if tampered[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    let cases = [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("sort=cheapest", "sort"),
        ("minPrice=-1", "minPrice"),
        ("maxPrice=abc", "maxPrice"),
        ("minPrice=500&maxPrice=100", "minPrice"),
        ("category=Not%20A%20Slug", "category"),
        (
            &format!("sort=price_asc&limit=2&cursor={}", urlencode(&tampered)),
            "cursor",
        ),
        ("sort=price_asc&limit=2&cursor=garbage", "cursor"),
        // a real cursor, but for another query
        (
            &format!("sort=price_desc&limit=2&cursor={}", urlencode(&cursor)),
            "cursor",
        ),
        (&format!("q={}", "x".repeat(201)), "q"),
    ];
    for (query, field) in cases {
        let r = app.get(&format!("/api/products?{query}")).await;
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    // the untampered cursor works
    let (status, second) = app
        .get_json(&format!(
            "/api/products?limit=2&sort=price_asc&cursor={}",
            urlencode(&cursor)
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    // reviews paging follows the same rules
    let product_id = first["items"][0]["id"].as_str().unwrap();
    for (query, field) in [("limit=101", "limit"), ("cursor=forged", "cursor")] {
        let r = app
            .get(&format!("/api/products/{product_id}/reviews?{query}"))
            .await;
        assert_eq!(r.status(), 400, "{query}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], field);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_need_an_admin_and_valid_fields() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let customer = app.auth().token("carol@jojomart.test", "Carol").await;
    let body = product("LAMP-1", "Desk Lamp", "", "home", 1999, 3);

    let r = app.catalog().try_create_product(None, &body).await;
    assert_eq!(r.status(), 401);
    let r = app
        .catalog()
        .try_create_product(Some(&customer), &body)
        .await;
    assert_eq!(r.status(), 403);
    let r = app.catalog().try_create_product(Some(&admin), &body).await;
    assert_eq!(r.status(), 201);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/api/products/"));
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["available"], 3);
    assert_eq!(created["rating"], json!({"average": 0.0, "count": 0}));

    let bad = json!({"sku": "lamp 2", "name": "  ", "description": "", "category": "Home",
        "unitPrice": -1, "currency": "EURO", "stock": -5, "images": ["ftp://x/y.png"]});
    let r = app.catalog().try_create_product(Some(&admin), &bad).await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        ["category", "currency", "images[0]", "name", "sku", "stock"],
        "{problem}"
    );
    let r = app
        .catalog()
        .try_create_product(
            Some(&admin),
            &json!({"sku": "A", "name": "x".repeat(201),
            "category": "a", "unitPrice": -1, "currency": "usd", "stock": 1}),
        )
        .await;
    let problem: Value = r.json().await.unwrap();
    assert_eq!(error_fields(&problem), ["name", "unitPrice"], "{problem}");
    let r = app
        .catalog()
        .try_create_product(Some(&admin), &json!({"sku": "A", "unitPrice": "cheap"}))
        .await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "unitPrice");

    let id = created["id"].as_str().unwrap();
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/products/{id}"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/api/products/{id}"), None),
        (
            Method::PUT,
            format!("/api/products/{id}/inventory"),
            Some(json!({"stock": 1})),
        ),
    ] {
        let r = app
            .send(method.clone(), &path, Some(&customer), body.as_ref())
            .await;
        assert_eq!(r.status(), 403, "{method} {path}");
        let r = app.send(method.clone(), &path, None, body.as_ref()).await;
        assert_eq!(r.status(), 401, "{method} {path}");
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn patch_and_soft_delete() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = app
        .catalog()
        .create_product(
            &admin,
            &product("LAMP-1", "Desk Lamp", "Warm light", "home", 1999, 3),
        )
        .await;
    app.catalog()
        .create_product(
            &admin,
            &product("CHAIR-1", "Office Chair", "Comfy", "office", 9999, 3),
        )
        .await;
    let id = lamp["id"].as_str().unwrap();

    let r = app
        .catalog()
        .update_product(
            Some(&admin),
            id,
            &json!({"name": "Brass Reading Lamp", "unitPrice": 2599, "category": "office"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(patched["name"], "Brass Reading Lamp");
    assert_eq!(patched["unitPrice"], 2599);
    assert_eq!(patched["sku"], "LAMP-1");
    let (_, got) = app.catalog().product(id).await;
    assert_eq!(got["name"], "Brass Reading Lamp");
    assert_eq!(ids(&app.all_pages("/api/products?q=brass").await), [id]);
    assert!(app.all_pages("/api/products?q=desk").await.is_empty());
    let categories = app.catalog().categories().await;
    assert_eq!(
        categories,
        json!([{"id": "office", "name": "Office", "productCount": 2}])
    );

    let r = app
        .catalog()
        .update_product(Some(&admin), id, &json!({"stock": 5}))
        .await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "stock");
    let r = app
        .catalog()
        .update_product(Some(&admin), id, &json!({"sku": "CHAIR-1"}))
        .await;
    assert_eq!(r.status(), 409, "the new SKU is taken");

    let r = app.catalog().delete_product(Some(&admin), id).await;
    assert_eq!(r.status(), 204);
    let (status, _) = app.catalog().product(id).await;
    assert_eq!(status, 404);
    assert!(!ids(&app.all_pages("/api/products?limit=10").await).contains(&id.to_owned()));
    let categories = app.catalog().categories().await;
    assert_eq!(categories[0]["productCount"], 1);
    let r = app.catalog().delete_product(Some(&admin), id).await;
    assert_eq!(r.status(), 404, "already deleted");
    // the document stays for old orders; its SKU is free again
    let stored = app
        .state
        .adapters()
        .store
        .read(PRODUCTS, id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.body["deleted"], true);
    app.catalog()
        .create_product(&admin, &product("LAMP-1", "New Lamp", "", "home", 1000, 1))
        .await;
    for path in [
        "/api/products/nope",
        "/api/products/0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(app.get_json(path).await.0, 404);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_seeds_a_demo_catalog_and_picks_up_products_seeded_by_another_process() {
    // always on SQLite: `jojomart seed` writes into the data dir's file
    let dev = DevProcess::start(|command| {
        command.env("JOJOMART_CATALOG_REFRESH_MS", "200");
    })
    .await;
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        let url = dev.url(&path);
        async move {
            let r = client.get(url).send().await.ok()?;
            (r.status() == 200).then_some(())?;
            r.json::<Value>().await.ok()
        }
    };
    let categories = eventually(Duration::from_secs(60), "dev to serve categories", || {
        get("/api/categories".into())
    })
    .await;
    let categories = categories.as_array().unwrap();
    assert!(categories.len() >= 6, "{categories:?}");
    let demo: i64 = categories
        .iter()
        .map(|c| c["productCount"].as_i64().unwrap())
        .sum();
    assert!(demo >= 60, "{demo} demo products");
    let page = get("/api/products?limit=100".into()).await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, demo);
    // drawn locally and served by dev itself: the demo works offline
    assert!(items.iter().all(|p| p["images"][0]
        .as_str()
        .unwrap()
        .starts_with("/media/products/")));
    let picture = client
        .get(dev.url(items[0]["images"][0].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(picture.status(), 200);
    assert_eq!(picture.headers()["content-type"], "image/webp");
    assert!(items.iter().filter(|p| p["inStock"] == true).count() > 50);

    // `jojomart seed` writes into the same store from another process
    let out = Command::new(binary())
        .args(["seed", "--products", "150", "--data-dir"])
        .arg(dev.dir.path())
        .env("JOJOMART_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = eventually(
        Duration::from_secs(20),
        "the seeded products to show up",
        || async {
            let cats = get("/api/categories".into()).await?;
            let total: i64 = cats
                .as_array()?
                .iter()
                .map(|c| c["productCount"].as_i64().unwrap_or(0))
                .sum();
            let listed = {
                let page = get("/api/products?q=model&limit=100".into()).await?;
                page["items"].as_array()?.len()
            };
            (total == demo + 150 && listed == 100).then_some(total)
        },
    )
    .await;
    assert_eq!(total, demo + 150);
    drop(dev);
}

#[tokio::test(flavor = "multi_thread")]
async fn skus_are_kept_as_written_and_unique_regardless_of_case() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let catalog = app.catalog();
    let mut created = Vec::new();
    for sku in ["tee-red-m", "Shirts/Tee.Red_M", "a/b", "a.b", "."] {
        let made = catalog
            .create_product(&admin, &product(sku, "Tee", "", "shirts", 1500, 3))
            .await;
        assert_eq!(made["sku"], sku, "kept as written");
        let (status, got) = catalog.product(s(&made, "id")).await;
        assert_eq!((status, got["sku"].clone()), (200, json!(sku)));
        created.push(s(&made, "id").to_owned());
    }
    for (taken, again) in [
        ("tee-red-m", "TEE-RED-M"),
        ("Shirts/Tee.Red_M", "shirts/tee.red_m"),
        ("a/b", "A/B"),
    ] {
        let r = catalog
            .try_create_product(Some(&admin), &product(again, "Copy", "", "shirts", 1, 1))
            .await;
        assert_eq!(r.status(), 409, "{again} collides with {taken}");
    }
    // a change of case only keeps the product's claim
    let r = catalog
        .update_product(Some(&admin), &created[3], &json!({"sku": "A.B"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["sku"], "A.B");
    let r = catalog
        .try_create_product(Some(&admin), &product("a.b", "Copy", "", "shirts", 1, 1))
        .await;
    assert_eq!(r.status(), 409, "a.b is still held");
    // `/` and `.` are not confused with each other
    let r = catalog
        .try_create_product(Some(&admin), &product("a_b", "Other", "", "shirts", 1, 1))
        .await;
    assert_eq!(r.status(), 201);
    // a SKU given back is free in any case
    assert_eq!(
        catalog
            .delete_product(Some(&admin), &created[0])
            .await
            .status(),
        204
    );
    catalog
        .create_product(
            &admin,
            &product("TEE-RED-M", "Tee again", "", "shirts", 1500, 3),
        )
        .await;
    for bad in ["tee red", "tee~1", "tee%2F", "é", &"a".repeat(65)] {
        let r = catalog
            .try_create_product(Some(&admin), &product(bad, "Bad", "", "shirts", 1, 1))
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    app.shutdown().await;
}
