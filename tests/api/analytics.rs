//! Analytics end to end: shoppers' views, cart adds and orders reach
//! `analytics-events`, `ingest-analytics` stores them per day, the
//! `analytics-rollup` timer folds them into daily rollups, and the admin
//! summary (and its CSV) reads those: equal to what the orders themselves say,
//! unchanged by repeated rollups or redelivered messages, late events folded
//! in on the next run, and a 100,000-event day rolled up a page at a time.

use std::{collections::BTreeMap, time::Duration};

use chrono::{Duration as Days, NaiveDate, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use jojomart::analytics::{
    events::{ProductViewed, View},
    model::Raw,
    rollup::{self, PAGE},
    service, Analytics,
};
use jojomart_shared::{
    domain::ProductId,
    events::{Event, OrderPaid, OrderSnapshot},
};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backend, catalog::product, orders::checkout_body, s, Backend, TestApp};

const CARD: &str = "pm_card_visa";

/// The app, with queues polled often so draining is quick.
async fn spawn() -> TestApp {
    TestApp::spawn_configured(|config| {
        config.delivery.max_polling_interval = Duration::from_millis(50);
    })
    .await
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `from=…&to=…` for one day.
fn on(day: NaiveDate) -> String {
    format!("from={day}&to={day}")
}

/// Reads a product page as `token` (anonymous without one); 200 expected.
async fn view(app: &TestApp, token: Option<&str>, id: &str) {
    let r = app
        .send(Method::GET, &format!("/api/products/{id}"), token, None)
        .await;
    assert_eq!(r.status(), 200);
}

/// Adds to the cart and checks out with the test card; the paid order.
async fn buy(app: &TestApp, token: &str, lines: &[(&str, i64)]) -> Value {
    for (id, quantity) in lines {
        app.orders().add_to_cart(token, id, *quantity).await;
    }
    let key = uuid::Uuid::new_v4().to_string();
    let (status, order) = app
        .orders()
        .checkout(Some(token), Some(&key), &checkout_body(CARD))
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(s(&order, "status"), "paid", "{order}");
    order
}

/// What the orders API says about these orders: the figures the summary must equal.
struct Expected {
    orders: u64,
    revenue: i64,
    units: u64,
    refunds: i64,
    refunded_orders: u64,
    /// (productId, name, units, revenue), best first.
    top: Vec<(String, String, u64, i64)>,
}

async fn expected_from_orders(app: &TestApp, admin: &str, ids: &[String]) -> Expected {
    let mut e = Expected {
        orders: 0,
        revenue: 0,
        units: 0,
        refunds: 0,
        refunded_orders: 0,
        top: Vec::new(),
    };
    let mut products: BTreeMap<String, (String, u64, i64)> = BTreeMap::new();
    for id in ids {
        let (status, order) = app.orders().get(Some(admin), id).await;
        assert_eq!(status, 200, "{order}");
        let total = order["total"].as_i64().unwrap();
        e.orders += 1;
        e.revenue += total;
        if matches!(s(&order, "status"), "cancelled" | "refunded") {
            e.refunds += total;
            e.refunded_orders += 1;
        }
        for line in order["items"].as_array().unwrap() {
            let quantity = line["quantity"].as_u64().unwrap();
            e.units += quantity;
            let entry = products
                .entry(s(line, "productId").to_owned())
                .or_insert_with(|| (s(line, "name").to_owned(), 0, 0));
            entry.1 += quantity;
            entry.2 += line["lineTotal"].as_i64().unwrap();
        }
    }
    e.top = products
        .into_iter()
        .map(|(id, (name, units, revenue))| (id, name, units, revenue))
        .collect();
    e.top
        .sort_by(|a, b| b.2.cmp(&a.2).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
    e
}

#[tokio::test]
async fn after_a_shopping_journey_the_summary_equals_what_the_orders_say_and_rollups_repeat_exactly(
) {
    let app = spawn().await;
    let admin = app.auth().admin().await;
    let mut products = Vec::new();
    for (sku, name, price) in [
        ("AN-1", "Anchor mug", 1500),
        ("AN-2", "Binnacle lamp", 2500),
        ("AN-3", "Compass", 4000),
    ] {
        let created = app
            .catalog()
            .create_product(
                &admin,
                &product(sku, name, "for the analytics test", "home", price, 50),
            )
            .await;
        products.push(s(&created, "id").to_owned());
    }
    let (p1, p2, p3) = (&products[0], &products[1], &products[2]);
    let start_day = today();

    // four signed-in shoppers look, then buy; one anonymous visitor only looks
    let ann = app.auth().token("ann@example.com", "Ann").await;
    let bob = app.auth().token("bob@example.com", "Bob").await;
    let cat = app.auth().token("cat@example.com", "Cat").await;
    let dan = app.auth().token("dan@example.com", "Dan").await;
    view(&app, Some(&ann), p1).await;
    view(&app, Some(&ann), p2).await;
    view(&app, Some(&bob), p2).await;
    view(&app, Some(&cat), p3).await;
    view(&app, Some(&dan), p1).await;
    view(&app, None, p1).await;
    view(&app, None, p3).await;
    let views = 7;

    let first = buy(&app, &ann, &[(p1, 1), (p2, 1)]).await;
    let shipped = buy(&app, &bob, &[(p2, 2)]).await;
    let cancelled = buy(&app, &cat, &[(p3, 1)]).await;
    let refunded = buy(&app, &dan, &[(p1, 3)]).await;
    let (status, body) = app
        .orders()
        .set_status(
            &admin,
            s(&shipped, "id"),
            &json!({"status": "shipped", "trackingNumber": "TRK-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.orders().cancel(&cat, s(&cancelled, "id")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.orders().refund(&admin, s(&refunded, "id")).await;
    assert_eq!(status, 200, "{body}");

    app.analytics().drain().await;
    let range = format!("from={start_day}&to={}", today());
    let before = app.analytics().summary_ok(&admin, &range).await;
    assert_eq!(
        before["orders"], 0,
        "nothing counts before a rollup: {before}"
    );

    let ids: Vec<String> = [&first, &shipped, &cancelled, &refunded]
        .iter()
        .map(|o| s(o, "id").to_owned())
        .collect();
    let expected = expected_from_orders(&app, &admin, &ids).await;
    app.analytics().rollup().await;
    let summary = app.analytics().summary_ok(&admin, &range).await;

    assert_eq!(summary["orders"], expected.orders, "{summary}");
    assert_eq!(summary["revenue"], expected.revenue, "{summary}");
    assert_eq!(summary["currency"], "EUR");
    assert_eq!(summary["unitsSold"], expected.units, "{summary}");
    assert_eq!(summary["refunds"], expected.refunds, "{summary}");
    assert_eq!(summary["refundedOrders"], expected.refunded_orders);
    let aov = (expected.revenue as f64 / expected.orders as f64).round() as i64;
    assert_eq!(summary["averageOrderValue"], aov);
    let top: Vec<(String, String, u64, i64)> = summary["topProducts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                s(p, "productId").to_owned(),
                s(p, "name").to_owned(),
                p["units"].as_u64().unwrap(),
                p["revenue"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(top, expected.top);
    assert_eq!(top[0].1, "Anchor mug", "4 units sold: the best seller");
    // sessions: four users and one anonymous client (same address and agent)
    assert_eq!(
        summary["funnel"],
        json!({"sessionsViewed": 5, "sessionsAddedToCart": 4, "ordersPlaced": 4, "ordersPaid": 4}),
    );
    assert_eq!(summary["conversionRate"], 0.8);
    let days = summary["daily"].as_array().unwrap();
    let total = |field: &str| days.iter().map(|d| d[field].as_i64().unwrap()).sum::<i64>();
    assert_eq!(total("productViews"), views);
    assert_eq!(total("orders"), 4);
    assert_eq!(total("revenue"), expected.revenue);
    assert_eq!(total("unitsSold"), expected.units as i64);

    // running the rollup again (and again) changes nothing
    for _ in 0..2 {
        app.analytics().rollup().await;
        assert_eq!(app.analytics().summary_ok(&admin, &range).await, summary);
    }
    // and neither does a product read that failed
    let r = app.get("/api/products/no-such-product").await;
    assert_eq!(r.status(), 404);
    app.analytics().drain().await;
    app.analytics().rollup().await;
    assert_eq!(app.analytics().summary_ok(&admin, &range).await, summary);
}

/// A `product.viewed` message of `n` views of `product` by one session at `at`.
fn views_message(product: &str, n: usize, at: chrono::DateTime<Utc>) -> String {
    let batch = ProductViewed {
        views: (0..n)
            .map(|_| View {
                product_id: ProductId::parse(product).unwrap(),
                session: "feedface".into(),
                at,
            })
            .collect(),
    };
    serde_json::to_string(&Event::new(&batch, at).unwrap()).unwrap()
}

/// An `order.paid` message for an order of `units` of `product` at `at`.
fn paid_message(product: &str, units: u32, total: i64, at: chrono::DateTime<Utc>) -> String {
    let snapshot: OrderSnapshot = serde_json::from_value(json!({
        "orderId": uuid::Uuid::new_v4().to_string(),
        "status": "paid",
        "items": [{"productId": product, "name": "Late lamp", "unitPrice": total / i64::from(units),
                   "quantity": units, "lineTotal": total}],
        "subtotal": total, "shipping": 0, "tax": 0, "total": total, "currency": "EUR",
    }))
    .unwrap();
    serde_json::to_string(&Event::new(&OrderPaid(snapshot), at).unwrap()).unwrap()
}

#[tokio::test]
async fn a_redelivered_message_counts_once_and_a_late_event_lands_on_the_next_rollup() {
    let app = spawn().await;
    let admin = app.auth().admin().await;
    let closed = today() - Days::days(3);
    let noon = Utc.from_utc_datetime(&closed.and_hms_opt(12, 0, 0).unwrap());

    let lamp = ProductId::generate();
    let views = views_message(lamp.as_str(), 3, noon);
    let paid = paid_message(lamp.as_str(), 2, 5000, noon);
    for message in [&views, &views, &paid, &paid] {
        app.analytics().send(message).await;
    }
    app.analytics().drain().await;
    app.analytics().rollup().await;
    let summary = app.analytics().summary_ok(&admin, &on(closed)).await;
    assert_eq!(summary["daily"][0]["productViews"], 3, "{summary}");
    assert_eq!(summary["funnel"]["sessionsViewed"], 1);
    assert_eq!(summary["orders"], 1, "{summary}");
    assert_eq!(summary["revenue"], 5000);
    assert_eq!(summary["unitsSold"], 2);

    // a late order for that closed day: not there until the next rollup, then folded in
    app.analytics()
        .send(&paid_message(lamp.as_str(), 1, 2500, noon + Days::hours(1)))
        .await;
    app.analytics().drain().await;
    assert_eq!(
        app.analytics().summary_ok(&admin, &on(closed)).await,
        summary,
        "the summary reads rollups only"
    );
    app.analytics().rollup().await;
    let after = app.analytics().summary_ok(&admin, &on(closed)).await;
    assert_eq!(after["orders"], 2, "{after}");
    assert_eq!(after["revenue"], 7500);
    assert_eq!(after["unitsSold"], 3);
    assert_eq!(after["topProducts"][0]["units"], 3);
    assert_eq!(after["daily"][0]["productViews"], 3);
}

#[tokio::test]
async fn the_summary_is_for_admins_and_refuses_bad_ranges() {
    let app = spawn().await;
    let admin = app.auth().admin().await;
    let shopper = app.auth().token("shopper@example.com", "Shopper").await;
    let analytics = app.analytics();

    assert_eq!(analytics.summary(None, "").await.0, 401);
    assert_eq!(analytics.summary(Some(&shopper), "").await.0, 403);
    assert_eq!(analytics.csv(None, "").await.status(), 401);
    assert_eq!(analytics.csv(Some(&shopper), "").await.status(), 403);

    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("from=yesterday", "from"),
        ("to=2026-1-5", "to"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("from=2025-01-01&to=2026-01-02", "to"),
        ("currency=euro", "currency"),
    ] {
        let (status, problem) = analytics.summary(Some(&admin), query).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(crate::harness::error_fields(&problem), [field], "{query}");
        assert_eq!(analytics.csv(Some(&admin), query).await.status(), 400);
    }

    // 366 days, both ends included, is the longest range; the default is the last 30 days
    let summary = analytics
        .summary_ok(&admin, "from=2025-01-01&to=2026-01-01")
        .await;
    assert_eq!(summary["daily"].as_array().unwrap().len(), 366);
    let summary = analytics.summary_ok(&admin, "").await;
    let daily = summary["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    assert_eq!(s(&daily[29], "date"), today().to_string());
    assert_eq!(summary["orders"], 0);
    assert_eq!(summary["conversionRate"], 0.0);
}

#[tokio::test]
async fn the_csv_is_the_daily_series_in_minor_units() {
    let app = spawn().await;
    let admin = app.auth().admin().await;
    let day = today() - Days::days(1);
    let at = Utc.from_utc_datetime(&day.and_hms_opt(9, 30, 0).unwrap());
    let product = ProductId::generate();
    app.analytics()
        .send(&views_message(product.as_str(), 4, at))
        .await;
    app.analytics()
        .send(&paid_message(product.as_str(), 3, 1999, at))
        .await;
    app.analytics().drain().await;
    app.analytics().rollup().await;

    let query = format!("from={}&to={}", day - Days::days(1), today());
    let r = app.analytics().csv(Some(&admin), &query).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    let expected = format!(
        "date,orders,revenue,unitsSold,productViews\r\n{},0,0,0,0\r\n{day},1,1999,3,4\r\n{},0,0,0,0\r\n",
        day - Days::days(1),
        today()
    );
    assert_eq!(text, expected);
}

#[tokio::test]
async fn a_day_of_100_000_events_is_rolled_up_a_page_at_a_time() {
    let app = spawn().await;
    let admin = app.auth().admin().await;
    let analytics = app.state.handle::<Analytics>();
    let day = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    let at = Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap());
    // 100,000 on SQLite; the emulators take a smaller day (still many pages)
    let events: usize = if backend() == Backend::Sqlite {
        100_000
    } else {
        5_000
    };
    const SESSIONS: usize = 500;
    const CHUNK: usize = 1000;
    let catalog: Vec<ProductId> = (0..7).map(|_| ProductId::generate()).collect();
    // staged straight into the store, as ingestion writes them; each
    // session's views are contiguous, so a chunk implies few markers
    let store = analytics.store().clone();
    let chunks = (0..events / CHUNK).map(|chunk| {
        let raws: Vec<(String, Raw)> = (chunk * CHUNK..(chunk + 1) * CHUNK)
            .map(|n| {
                (
                    format!("bulk-{n}"),
                    Raw::View {
                        product_id: catalog[n % catalog.len()].clone(),
                        session: format!("s{}", n / (events / SESSIONS)),
                        at,
                    },
                )
            })
            .collect();
        let store = store.clone();
        async move { service::record(&*store, Utc::now(), raws).await }
    });
    futures::stream::iter(chunks)
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let report = rollup::run(&analytics).await.unwrap();
    assert_eq!(report.days, 1);
    let documents = (events + SESSIONS) as u64;
    assert_eq!(report.documents, documents);
    assert!(report.largest_page <= PAGE as usize, "{report:?}");
    assert!(
        report.pages >= documents.div_ceil(u64::from(PAGE)),
        "{report:?}"
    );

    let summary = app.analytics().summary_ok(&admin, &on(day)).await;
    assert_eq!(summary["daily"][0]["productViews"], events);
    assert_eq!(summary["funnel"]["sessionsViewed"], SESSIONS);

    // nothing changed since: the next run reads nothing
    let again = rollup::run(&analytics).await.unwrap();
    assert_eq!((again.days, again.documents), (0, 0));
}
