//! Reviews over real HTTP with real tokens: one per user and product (even
//! when sent concurrently), exact ratings under concurrent reviews and
//! deletes, who may delete, validation, paging.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::harness::{catalog::product, error_fields, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_reviews_and_five_deletes_leave_an_exact_rating() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let lamp = app
        .catalog()
        .create_product(&admin, &product("LAMP-1", "Desk Lamp", "", "home", 1999, 3))
        .await;
    let id = lamp["id"].as_str().unwrap().to_owned();
    let mut users = Vec::new();
    for u in 0..20 {
        users.push(
            app.auth()
                .token(&format!("user{u}@jojomart.test"), &format!("User {u}"))
                .await,
        );
    }

    let ratings: Vec<i64> = (0..20).map(|u| (u * 7 % 5) + 1).collect();
    let mut tasks = Vec::new();
    for (token, rating) in users.iter().cloned().zip(ratings.clone()) {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/api/products/{id}/reviews")),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"rating": rating, "title": "t", "body": "b"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut review_ids = Vec::new();
    for t in tasks {
        review_ids.push(t.await.unwrap());
    }
    let (_, got) = app.catalog().product(&id).await;
    assert_eq!(got["rating"]["count"], 20);

    // five authors delete theirs, concurrently
    let deleted = [1usize, 4, 9, 13, 17];
    let mut tasks = Vec::new();
    for &u in &deleted {
        let (client, token) = (app.client.clone(), users[u].clone());
        let url = app.url(&format!("/api/reviews/{}", review_ids[u]));
        tasks.push(tokio::spawn(async move {
            client
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 204);
    }

    let remaining: Vec<i64> = (0..20)
        .filter(|u| !deleted.contains(u))
        .map(|u| ratings[u])
        .collect();
    let expected = remaining.iter().sum::<i64>() as f64 / remaining.len() as f64;
    let (_, got) = app.catalog().product(&id).await;
    assert_eq!(got["rating"]["count"], 15, "{got}");
    assert!(
        (got["rating"]["average"].as_f64().unwrap() - expected).abs() < 1e-9,
        "{got} vs {expected}"
    );
    let (_, listed) = app.get_json("/api/products").await;
    assert_eq!(
        listed["items"][0]["rating"], got["rating"],
        "the listing agrees"
    );

    // and the stored reviews say the same, across pages of 4
    let reviews = app
        .all_pages(&format!("/api/products/{id}/reviews?limit=4"))
        .await;
    assert_eq!(reviews.len(), 15);
    let mut stars: Vec<i64> = reviews
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    let mut want = remaining.clone();
    stars.sort();
    want.sort();
    assert_eq!(stars, want);
    let times: Vec<&str> = reviews
        .iter()
        .map(|r| r["createdAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(reviews.iter().all(|r| r["verifiedPurchase"] == false));
    assert!(reviews
        .iter()
        .all(|r| r["userName"].as_str().unwrap().starts_with("User ")));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_review_per_user_and_product_even_concurrently() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let p = app
        .catalog()
        .create_product(&admin, &product("LAMP-1", "Desk Lamp", "", "home", 1999, 3))
        .await;
    let id = p["id"].as_str().unwrap().to_owned();
    let token = app.auth().token("eager@jojomart.test", "Eager").await;
    let mut tasks = Vec::new();
    for rating in [1, 2, 3, 4, 5, 1, 2, 3, 4, 5] {
        let (client, token) = (app.client.clone(), token.clone());
        let url = app.url(&format!("/api/products/{id}/reviews"));
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"rating": rating, "title": "again", "body": ""}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_default() += 1;
    }
    assert_eq!(statuses, HashMap::from([(201, 1), (409, 9)]));
    let (_, got) = app.catalog().product(&id).await;
    assert_eq!(got["rating"]["count"], 1);
    // after deleting it, the user may review again
    let reviews = app
        .all_pages(&format!("/api/products/{id}/reviews?limit=5"))
        .await;
    let rid = reviews[0]["id"].as_str().unwrap();
    assert_eq!(app.reviews().delete(Some(&token), rid).await.status(), 204);
    assert_eq!(app.reviews().post(&token, &id, 4).await.status(), 201);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_author_or_an_admin_may_delete() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let p = app
        .catalog()
        .create_product(&admin, &product("LAMP-1", "Desk Lamp", "", "home", 1999, 3))
        .await;
    let id = p["id"].as_str().unwrap();
    let author = app.auth().token("author@jojomart.test", "Author").await;
    let other = app.auth().token("other@jojomart.test", "Other").await;
    let r = app.reviews().post(&author, id, 5).await;
    let rid = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_review = app
        .reviews()
        .post(&other, id, 1)
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    assert_eq!(app.reviews().delete(None, &rid).await.status(), 401);
    assert_eq!(app.reviews().delete(Some(&other), &rid).await.status(), 403);
    assert_eq!(
        app.reviews().delete(Some(&author), &rid).await.status(),
        204
    );
    assert_eq!(
        app.reviews().delete(Some(&author), &rid).await.status(),
        404
    );
    assert_eq!(
        app.reviews()
            .delete(Some(&admin), &other_review)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.reviews()
            .delete(Some(&admin), "rv_nonsense")
            .await
            .status(),
        404
    );
    let (_, got) = app.catalog().product(id).await;
    assert_eq!(got["rating"], json!({"average": 0.0, "count": 0}));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reviews_are_validated_and_need_a_live_product() {
    let app = TestApp::spawn().await;
    let admin = app.auth().admin().await;
    let p = app
        .catalog()
        .create_product(&admin, &product("LAMP-1", "Desk Lamp", "", "home", 1999, 3))
        .await;
    let id = p["id"].as_str().unwrap();
    let token = app.auth().token("critic@jojomart.test", "Critic").await;
    let path = format!("/api/products/{id}/reviews");
    let cases = [
        (
            json!({"rating": 0, "title": "t", "body": ""}),
            vec!["rating"],
        ),
        (
            json!({"rating": 6, "title": "t", "body": ""}),
            vec!["rating"],
        ),
        (
            json!({"rating": 3, "title": "x".repeat(121), "body": "y".repeat(5001)}),
            vec!["title", "body"],
        ),
        (
            json!({"rating": 3, "title": " ", "body": ""}),
            vec!["title"],
        ),
        (json!({"rating": "five", "title": "t"}), vec!["rating"]),
    ];
    for (body, fields) in cases {
        let r = app.reviews().post_body(Some(&token), id, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    let ok = json!({"rating": 3, "title": "x".repeat(120), "body": "y".repeat(5000)});
    assert_eq!(app.reviews().post_body(None, id, &ok).await.status(), 401);
    assert_eq!(
        app.reviews()
            .post_body(Some(&token), id, &ok)
            .await
            .status(),
        201
    );
    let missing = "/api/products/0123456789abcdef0123456789abcdef/reviews";
    assert_eq!(
        app.reviews()
            .post_body(Some(&token), "0123456789abcdef0123456789abcdef", &ok)
            .await
            .status(),
        404
    );
    assert_eq!(app.get_json(missing).await.0, 404);

    // a deleted product takes no reviews and lists none
    assert_eq!(
        app.catalog()
            .delete_product(Some(&admin), id)
            .await
            .status(),
        204
    );
    let other = app.auth().token("late@jojomart.test", "Late").await;
    assert_eq!(
        app.reviews()
            .post_body(Some(&other), id, &ok)
            .await
            .status(),
        404
    );
    assert_eq!(app.get_json(&path).await.0, 404);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_posted_review_is_in_the_rating_of_reads_made_together_right_after() {
    // The storefront reloads a product and its reviews at once after a post;
    // both go through the catalog read model, which rebuilds its index on the
    // first read after a change. A big catalog makes that rebuild slow enough
    // for the two reads to overlap it.
    let app = TestApp::spawn().await;
    jojomart::products::seed::generate(&app.state.handle::<jojomart::products::Catalog>(), 3000)
        .await
        .expect("seeded");
    let admin = app.auth().admin().await;
    let lamp = app
        .catalog()
        .create_product(
            &admin,
            &product("LAMP-RACE", "Desk Lamp", "", "home", 1999, 3),
        )
        .await;
    let id = lamp["id"].as_str().unwrap().to_owned();
    let reviews = format!("/api/products/{id}/reviews?limit=5");
    for round in 1..=20_u64 {
        let token = app
            .auth()
            .token(&format!("racer{round}@jojomart.test"), "Racer")
            .await;
        let r = app
            .client
            .post(app.url(&format!("/api/products/{id}/reviews")))
            .bearer_auth(&token)
            .json(&json!({"rating": 4, "title": "t", "body": ""}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let catalog = app.catalog();
        let (a, _, b, _) = tokio::join!(
            catalog.product(&id),
            app.get(&reviews),
            catalog.product(&id),
            app.get(&reviews),
        );
        for (status, got) in [a, b] {
            assert_eq!(status, 200);
            assert_eq!(
                got["rating"]["count"], round,
                "round {round}: {}",
                got["rating"]
            );
        }
    }
    app.shutdown().await;
}
