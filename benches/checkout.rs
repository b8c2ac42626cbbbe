//! The checkout load generator behind `scripts/bench.sh checkout`: against a
//! running shop (`BENCH_BASE`, an admin account `BENCH_ADMIN_EMAIL`), N
//! concurrent shoppers each add a product to their cart and check out, again
//! and again, for a while; then it prints orders/s and the checkout latency
//! (p50, p99) and checks that nothing was oversold.
//!
//! Every shopper buys one of 20 plentiful products and, every fourth order,
//! also one unit of a scarce product (stock `BENCH_SCARCE`, default 100) that
//! runs out during the run: the race for the last units is part of the load.
//! Afterwards, for every product, stock on hand must equal the initial stock
//! minus the units in paid orders, with nothing reserved.
//!
//! Knobs: `BENCH_SHOPPERS` (16), `BENCH_SECONDS` (15), `BENCH_SCARCE` (100).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::Client;
use serde_json::{json, Value};

const PLENTIFUL: usize = 20;
const PLENTIFUL_STOCK: i64 = 1_000_000;
const PASSWORD: &str = "bench password 1";

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn post(client: &Client, url: String, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut r = client.post(url).json(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("the shop answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn token(client: &Client, base: &str, email: &str) -> String {
    let (status, body) = post(
        client,
        format!("{base}/api/auth/register"),
        None,
        &json!({"email": email, "password": PASSWORD, "name": "Bench Shopper"}),
    )
    .await;
    let body = if status == 201 {
        body
    } else {
        let (status, body) = post(
            client,
            format!("{base}/api/auth/login"),
            None,
            &json!({"email": email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, 200, "login {email}: {body}");
        body
    };
    body["accessToken"].as_str().expect("a token").to_owned()
}

async fn create_product(client: &Client, base: &str, admin: &str, sku: &str, stock: i64) -> String {
    let (status, body) = post(
        client,
        format!("{base}/api/products"),
        Some(admin),
        &json!({"sku": sku, "name": format!("Bench {sku}"), "description": "benchmark stock",
                "category": "bench", "unitPrice": 1500, "currency": "EUR", "stock": stock}),
    )
    .await;
    assert_eq!(status, 201, "create {sku}: {body}");
    body["id"].as_str().expect("an id").to_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    paid: usize,
    sold_out: usize,
    other: HashMap<u16, usize>,
}

#[tokio::main]
async fn main() {
    let base = std::env::var("BENCH_BASE")
        .expect("BENCH_BASE: the shop's URL (scripts/bench.sh checkout sets it)");
    let admin_email =
        std::env::var("BENCH_ADMIN_EMAIL").unwrap_or_else(|_| "admin@jojomart.test".into());
    let shoppers: usize = env("BENCH_SHOPPERS", 16);
    let seconds: u64 = env("BENCH_SECONDS", 15);
    let scarce_stock: i64 = env("BENCH_SCARCE", 100);
    let client = Client::builder()
        .pool_max_idle_per_host(shoppers)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase();
    let admin = token(&client, &base, &admin_email).await;
    let mut plentiful = Vec::new();
    for i in 0..PLENTIFUL {
        plentiful.push(
            create_product(
                &client,
                &base,
                &admin,
                &format!("B{run}-{i}"),
                PLENTIFUL_STOCK,
            )
            .await,
        );
    }
    let scarce = create_product(
        &client,
        &base,
        &admin,
        &format!("B{run}-SCARCE"),
        scarce_stock,
    )
    .await;
    let tokens = futures::future::join_all((0..shoppers).map(|i| {
        let (client, base, email) = (&client, &base, format!("shopper{i}-{run}@bench.test"));
        async move { token(client, base, &email).await }
    }))
    .await;
    eprintln!("{shoppers} shoppers, {seconds}s, {PLENTIFUL} plentiful products and one with {scarce_stock} units");

    let plentiful = Arc::new(plentiful);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(n, token)| {
            let (client, base, plentiful, scarce) = (client.clone(), base.clone(), plentiful.clone(), scarce.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut round = n;
                while Instant::now() < deadline {
                    round += 1;
                    let product = &plentiful[round % plentiful.len()];
                    let add = |id: &str| {
                        let body = json!({"productId": id, "quantity": 1});
                        let (client, url, token) = (&client, format!("{base}/api/cart/items"), &token);
                        async move { post(client, url, Some(token), &body).await }
                    };
                    let (status, body) = add(product).await;
                    assert_eq!(status, 200, "add to cart: {body}");
                    if round % 4 == 0 {
                        // Fails with 409 once the scarce product is gone: then buy without it.
                        let _ = add(&scarce).await;
                    }
                    let at = Instant::now();
                    let r = client
                        .post(format!("{base}/api/orders"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                        .json(&json!({"shippingAddress": {"name": "Bench", "line1": "1 Load St", "city": "Berlin",
                            "postalCode": "10115", "country": "DE"}, "paymentMethod": "pm_card_visa"}))
                        .send()
                        .await
                        .expect("checkout answers");
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    tally.latencies.push(at.elapsed());
                    match status {
                        201 => tally.paid += 1,
                        409 => {
                            tally.sold_out += 1;
                            // The scarce line is gone: take it out and carry on.
                            let _ = client
                                .delete(format!("{base}/api/cart/items/{scarce}"))
                                .bearer_auth(&token)
                                .send()
                                .await;
                        }
                        other => *tally.other.entry(other).or_default() += 1,
                    }
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.expect("a shopper");
        all.latencies.extend(t.latencies);
        all.paid += t.paid;
        all.sold_out += t.sold_out;
        for (k, v) in t.other {
            *all.other.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies.sort();
    println!(
        "checkout: {:.0} orders/s  p50 {:.1} ms  p99 {:.1} ms  ({} paid, {} refused for stock, other {:?}, {} shoppers, {:.1}s)",
        all.paid as f64 / elapsed,
        percentile(&all.latencies, 0.50),
        percentile(&all.latencies, 0.99),
        all.paid,
        all.sold_out,
        all.other,
        shoppers,
        elapsed
    );

    // Zero oversell: stock on hand = initial - units in paid orders, nothing reserved.
    let mut units: HashMap<String, i64> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/manage/orders?status=paid&limit=100");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={}", url_encode(c)));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(&admin)
            .send()
            .await
            .expect("a page of orders answers")
            .json()
            .await
            .expect("a page");
        for order in page["items"].as_array().expect("items") {
            for line in order["items"].as_array().expect("lines") {
                *units
                    .entry(line["productId"].as_str().expect("id").to_owned())
                    .or_default() += line["quantity"].as_i64().expect("units");
            }
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut oversold = 0;
    let checks = plentiful
        .iter()
        .map(|p| (p, PLENTIFUL_STOCK))
        .chain([(&scarce, scarce_stock)]);
    for (product, initial) in checks {
        let sold = units.get(product.as_str()).copied().unwrap_or(0);
        let expected = initial - sold;
        let r = client
            .put(format!("{base}/api/products/{product}/inventory"))
            .bearer_auth(&admin)
            .json(&json!({"stock": expected.max(0)}))
            .send()
            .await
            .expect("the stock level answers");
        let level: Value = r.json().await.expect("a level");
        if expected < 0 || level != json!({"stock": expected, "reserved": 0, "available": expected})
        {
            oversold += 1;
            eprintln!("MISMATCH {product}: initial {initial}, sold {sold}, now {level}");
        }
    }
    let scarce_sold = units.get(scarce.as_str()).copied().unwrap_or(0);
    println!("oversell check: scarce product sold {scarce_sold} of {scarce_stock}; {oversold} products off");
    if oversold > 0 || scarce_sold > scarce_stock {
        eprintln!("OVERSOLD");
        std::process::exit(1);
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
