//! Helpers for the catalog, inventory and reviews suites: an app whose admin
//! is `admin@jojomart.test`, real tokens obtained by registering over HTTP, and
//! typed shortcuts for the product routes.

use std::sync::Arc;

use jojomart_shared::clock::SharedClock;
use serde_json::{json, Value};

use super::{spawn_app_with, Spawn, TestApp};

/// The email that gets the admin role.
pub const ADMIN_EMAIL: &str = "admin@jojomart.test";

/// Spawns the shipped app with a cheap password hash (tests register many users)
/// and [`ADMIN_EMAIL`] as admin.
pub async fn spawn_shop() -> TestApp {
    spawn_shop_with_clock(Arc::new(jojomart_shared::clock::SystemClock)).await
}

/// As [`spawn_shop`], on the given clock.
pub async fn spawn_shop_with_clock(clock: SharedClock) -> TestApp {
    spawn_app_with(Spawn {
        configure: Box::new(|c| {
            c.admin_emails = vec![ADMIN_EMAIL.to_owned()];
            c.auth.password.memory_kib = 64;
            c.auth.password.iterations = 1;
            c.auth.password.parallelism = 1;
        }),
        clock,
        ..Spawn::default()
    })
    .await
}

/// Registers a user over HTTP and returns their access token.
pub async fn register(app: &TestApp, email: &str, name: &str) -> String {
    let r = app
        .post_json(
            "/api/auth/register",
            &json!({"email": email, "password": "correct horse battery", "name": name}),
        )
        .await;
    let status = r.status();
    let body: Value = r.json().await.expect("register answers JSON");
    assert_eq!(status, 201, "register {email}: {body}");
    body["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// Registers the admin and returns their token.
pub async fn admin_token(app: &TestApp) -> String {
    register(app, ADMIN_EMAIL, "Ada Admin").await
}

/// A valid product body.
pub fn product(
    sku: &str,
    name: &str,
    description: &str,
    category: &str,
    price: i64,
    stock: i64,
) -> Value {
    json!({
        "sku": sku,
        "name": name,
        "description": description,
        "category": category,
        "unitPrice": price,
        "currency": "EUR",
        "stock": stock,
        "images": [format!("https://img.jojomart.test/{}.jpg", sku.to_lowercase())],
    })
}

/// Sends a request with a bearer token.
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("request sent")
}

/// Creates a product as admin and returns its JSON (panics unless 201).
pub async fn create_product(app: &TestApp, admin: &str, body: &Value) -> Value {
    let r = send(
        app,
        reqwest::Method::POST,
        "/api/products",
        Some(admin),
        Some(body),
    )
    .await;
    let status = r.status();
    let json: Value = r.json().await.expect("JSON");
    assert_eq!(status, 201, "create product: {json}");
    json
}

/// GETs a path and returns status and JSON body.
pub async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Follows `nextCursor` from `path` (which must already carry `?`), returning every item.
pub async fn all_pages(app: &TestApp, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={}", urlencode(c)),
            None => path.to_owned(),
        };
        let (status, page) = get_json(app, &url).await;
        assert_eq!(status, 200, "{url}: {page}");
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
    panic!("paging never ended");
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The ids of a list of products.
pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect()
}
