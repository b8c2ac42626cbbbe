//! Application Insights: the real `jojomart dev` binary with
//! `APPLICATIONINSIGHTS_CONNECTION_STRING` pointing at a loopback ingestion
//! endpoint ([`Collector`]) sends one request per invocation, in an operation
//! of its own named by the invocation id (or the caller's `traceparent`), and
//! the `orders_placed` / `payment_failures` metrics; it flushes at exit; and
//! with the setting unresolved (or unset) it sends nothing.

use std::{process::Command, time::Duration};

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{
    catalog::product, collector::Collector, dev::DevProcess, eventually, orders::checkout_body, s,
    ADMIN_EMAIL,
};

const CONNECTION_STRING: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";

/// Calls the shop as the Functions host forwards a request: with an invocation id.
struct Caller<'a> {
    dev: &'a DevProcess,
    client: reqwest::Client,
}

impl Caller<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        invocation_id: &str,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut r = self
            .client
            .request(method, self.dev.url(path))
            .header("x-azure-functions-invocationid", invocation_id);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        for (name, value) in extra {
            r = r.header(*name, *value);
        }
        let r = r.send().await.expect("the shop answers");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, email: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"email": email, "password": "correct horse battery", "name": "Tele Metry"})),
                &new_id(),
                &[],
            )
            .await;
        assert_eq!(status, 201, "{body}");
        s(&body, "accessToken").to_owned()
    }

    /// Puts one unit of `product_id` in the cart and checks out with `card`
    /// under `invocation_id`.
    async fn checkout(
        &self,
        buyer: &str,
        product_id: &str,
        card: &str,
        invocation_id: &str,
    ) -> u16 {
        let (status, cart) = self
            .call(
                Method::POST,
                "/api/cart/items",
                Some(buyer),
                Some(json!({"productId": product_id, "quantity": 1})),
                &new_id(),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{cart}");
        let (status, order) = self
            .call(
                Method::POST,
                "/api/orders",
                Some(buyer),
                Some(checkout_body(card)),
                invocation_id,
                &[("idempotency-key", invocation_id)],
            )
            .await;
        assert!(status == 201 || status == 402, "{status} {order}");
        status
    }

    /// An admin's product with stock; returns its id.
    async fn product(&self, admin: &str, sku: &str) -> String {
        let (status, created) = self
            .call(
                Method::POST,
                "/api/products",
                Some(admin),
                Some(product(
                    sku,
                    "Telemetry Mug",
                    "Counts itself",
                    "kitchen",
                    900,
                    10,
                )),
                &new_id(),
                &[],
            )
            .await;
        assert_eq!(status, 201, "{created}");
        s(&created, "id").to_owned()
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The operation id Application Insights shows for an invocation id (a GUID): its 32 hex digits.
fn operation_id(invocation_id: &str) -> String {
    uuid::Uuid::parse_str(invocation_id)
        .expect("a GUID")
        .simple()
        .to_string()
}

/// The request envelopes whose `invocation_id` property is `id`.
fn requests_of(collector: &Collector, id: &str) -> Vec<Value> {
    collector
        .requests()
        .into_iter()
        .filter(|e| e["data"]["baseData"]["properties"]["invocation_id"] == id)
        .collect()
}

/// Waits until the request of invocation `id` arrived, then checks there is one.
async fn the_request_of(collector: &Collector, id: &str) -> Value {
    eventually(Duration::from_secs(20), "the invocation's request", || {
        let found = requests_of(collector, id);
        async move { (!found.is_empty()).then_some(()) }
    })
    .await;
    let found = requests_of(collector, id);
    assert_eq!(found.len(), 1, "one request per invocation: {found:#?}");
    found.into_iter().next().expect("one")
}

fn sigterm_and_wait(dev: &mut DevProcess) {
    let killed = Command::new("kill")
        .args(["-TERM", &dev.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = dev.child.wait().expect("wait for jojomart dev");
    assert!(status.success(), "exits 0 after SIGTERM, got {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_invocation_is_one_request_in_an_operation_of_its_own() {
    let collector = Collector::start().await;
    let dev = DevProcess::start(|c| {
        c.env(CONNECTION_STRING, collector.connection_string())
            .env("JOJOMART_ADMIN_EMAILS", ADMIN_EMAIL)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "200");
    })
    .await;
    let shop = Caller {
        dev: &dev,
        client: reqwest::Client::new(),
    };

    let health = new_id();
    let (status, _) = shop
        .call(Method::GET, "/api/health", None, None, &health, &[])
        .await;
    assert_eq!(status, 200);
    let admin = shop.register(ADMIN_EMAIL).await;
    let product_id = shop.product(&admin, "TELE-1").await;
    let read = new_id();
    let (status, body) = shop
        .call(
            Method::GET,
            &format!("/api/products/{product_id}"),
            None,
            None,
            &read,
            &[],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let buyer = shop.register("tele-buyer@example.com").await;
    let placed = new_id();
    assert_eq!(
        shop.checkout(&buyer, &product_id, "pm_card_visa", &placed)
            .await,
        201
    );
    let declined = new_id();
    assert_eq!(
        shop.checkout(&buyer, &product_id, "pm_card_chargeDeclined", &declined)
            .await,
        402
    );
    // a caller's W3C trace context makes the request its child
    let traced = new_id();
    let (trace_id, parent_id) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let traceparent = format!("00-{trace_id}-{parent_id}-01");
    let (status, _) = shop
        .call(
            Method::GET,
            "/api/health",
            None,
            None,
            &traced,
            &[("traceparent", &traceparent)],
        )
        .await;
    assert_eq!(status, 200);

    for (id, function, name, code) in [
        (&health, "get-health", "GET /api/health", "200"),
        (&read, "get-product", "GET /api/products/{id}", "200"),
        (&placed, "place-order", "POST /api/orders", "201"),
        (&declined, "place-order", "POST /api/orders", "402"),
    ] {
        let request = the_request_of(&collector, id).await;
        let data = &request["data"]["baseData"];
        assert_eq!(data["name"], name, "{request:#}");
        assert_eq!(data["responseCode"], code, "{request:#}");
        assert_eq!(data["properties"]["function"], function, "{request:#}");
        let tags = &request["tags"];
        assert_eq!(tags["ai.operation.id"], operation_id(id), "{request:#}");
        assert!(
            tags.get("ai.operation.parentId").is_none(),
            "the invocation is the operation's root: {request:#}"
        );
        assert_eq!(tags["ai.operation.name"], name, "{request:#}");
    }
    let request = the_request_of(&collector, &traced).await;
    assert_eq!(request["tags"]["ai.operation.id"], trace_id, "{request:#}");
    assert_eq!(
        request["tags"]["ai.operation.parentId"], parent_id,
        "{request:#}"
    );

    // queue and timer invocations (the in-process host's, each with its own
    // invocation id) are operations of their own too
    let background = eventually(
        Duration::from_secs(30),
        "a queue or timer invocation",
        || {
            let found = collector.requests().into_iter().find(|e| {
                let f = &e["data"]["baseData"]["properties"]["function"];
                f == "outbox-relay" || f == "send-notifications"
            });
            async move { found }
        },
    )
    .await;
    let id = background["data"]["baseData"]["properties"]["invocation_id"]
        .as_str()
        .expect("an invocation id");
    assert_eq!(
        background["tags"]["ai.operation.id"],
        operation_id(id),
        "{background:#}"
    );
    assert_eq!(
        background["data"]["baseData"]["name"],
        background["data"]["baseData"]["properties"]["function"],
        "{background:#}"
    );

    eventually(Duration::from_secs(20), "the custom metrics", || {
        let seen = (
            collector.metric("orders_placed"),
            collector.metric("payment_failures"),
        );
        async move { (seen == (Some(1.0), Some(1.0))).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn what_is_buffered_is_sent_at_exit_and_nothing_without_a_connection_string() {
    // default intervals: the metric (every 60 s) can only arrive by the flush at exit
    let collector = Collector::start().await;
    let mut dev = DevProcess::start(|c| {
        c.env(CONNECTION_STRING, collector.connection_string())
            .env("JOJOMART_ADMIN_EMAILS", ADMIN_EMAIL)
            .env_remove("OTEL_BSP_SCHEDULE_DELAY")
            .env_remove("OTEL_METRIC_EXPORT_INTERVAL");
    })
    .await;
    let shop = Caller {
        dev: &dev,
        client: reqwest::Client::new(),
    };
    let admin = shop.register(ADMIN_EMAIL).await;
    let product_id = shop.product(&admin, "TELE-2").await;
    let buyer = shop.register("flush-buyer@example.com").await;
    let placed = new_id();
    assert_eq!(
        shop.checkout(&buyer, &product_id, "pm_card_visa", &placed)
            .await,
        201
    );
    sigterm_and_wait(&mut dev);
    assert_eq!(
        collector.metric("orders_placed"),
        Some(1.0),
        "{:#?}",
        collector.envelopes()
    );
    assert_eq!(requests_of(&collector, &placed).len(), 1);

    // the same shop whose setting is a Key Vault reference App Service could
    // not resolve (its text even names the collector): that is no connection
    // string, and it exits having sent nothing
    let quiet = Collector::start().await;
    let unresolved = format!(
        "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/ai/);{}",
        quiet.connection_string()
    );
    let mut dev = DevProcess::start(|c| {
        c.env(CONNECTION_STRING, &unresolved)
            .env("JOJOMART_ADMIN_EMAILS", ADMIN_EMAIL)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "200");
    })
    .await;
    let shop = Caller {
        dev: &dev,
        client: reqwest::Client::new(),
    };
    let admin = shop.register(ADMIN_EMAIL).await;
    let product_id = shop.product(&admin, "TELE-3").await;
    let buyer = shop.register("quiet-buyer@example.com").await;
    assert_eq!(
        shop.checkout(&buyer, &product_id, "pm_card_visa", &new_id())
            .await,
        201
    );
    sigterm_and_wait(&mut dev);
    assert!(quiet.envelopes().is_empty(), "{:#?}", quiet.envelopes());
}
