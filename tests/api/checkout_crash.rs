//! Crash safety of checkout: the real `jojomart dev` binary kills itself with
//! SIGKILL right after each step of checkout in turn (`JOJOMART_CRASH_AT`),
//! and is restarted on the same data; the gateway simulator runs in its own
//! process and outlives it. After the timers run, for the product: stock =
//! initial − units in paid orders, nothing reserved, and every successful
//! charge at the gateway belongs to a paid order or was refunded.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use jojomart::payments::{
    gateway::IntentStatus,
    stripe::{StripeGateway, StripeSettings},
    PaymentGateway,
};
use jojomart_shared::config::Secret;
use serde_json::{json, Value};

use crate::harness::{
    backend, binary, catalog::product, eventually, free_port, orders::checkout_body, s, Backend,
    ADMIN_EMAIL,
};

const SECRET_KEY: &str = "sk_test_crash";
const WEBHOOK_SECRET: &str = "whsec_crash";
/// Reservations lapse after this long, so the timers settle crashed checkouts quickly.
const TTL_SECONDS: u64 = 2;

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Shop {
    port: u16,
    data: tempfile::TempDir,
    database: String,
    gateway: String,
    client: reqwest::Client,
}

impl Shop {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Starts `jojomart dev` on the shop's data, crashing at `crash_at` if given.
    async fn start(&self, crash_at: Option<&str>) -> Process {
        let mut command = Command::new(binary());
        command
            .args(["dev", "--port", &self.port.to_string(), "--data-dir"])
            .arg(self.data.path())
            .env("JOJOMART_LOG", "warn")
            .env("JOJOMART_ADMIN_EMAILS", ADMIN_EMAIL)
            .env("JOJOMART_STRIPE_API_BASE", &self.gateway)
            .env("JOJOMART_STRIPE_SECRET_KEY", SECRET_KEY)
            .env("JOJOMART_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("JOJOMART_RESERVATION_TTL_SECONDS", TTL_SECONDS.to_string())
            .env("JOJOMART_CRASH_AT", crash_at.unwrap_or(""))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if backend() == Backend::Azure {
            command
                .args(["--store", "cosmos", "--queue", "azure"])
                .env("COSMOS_DATABASE", &self.database);
        }
        let child = Process(command.spawn().expect("spawn jojomart dev"));
        eventually(Duration::from_secs(60), "jojomart dev to answer", || {
            let (client, url) = (self.client.clone(), self.url("/api/health"));
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status() == 200)
            }
        })
        .await;
        child
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut r = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            r = r.json(body);
        }
        r.send().await
    }

    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let r = self
            .send(method, path, token, body)
            .await
            .expect("the shop answers");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, email: &str) -> String {
        let r = self
            .client
            .post(self.url("/api/auth/register"))
            .json(
                &json!({"email": email, "password": "correct horse battery", "name": "Crash Test"}),
            )
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.expect("JSON");
        s(&body, "accessToken").to_owned()
    }

    /// Runs a timer to completion, as the Functions host invokes it.
    async fn run_timer(&self, name: &str) {
        let r = self
            .client
            .post(self.url(&format!("/{name}")))
            .json(&json!({"Data": {"timer": {"IsPastDue": false}}, "Metadata": {}}))
            .send()
            .await
            .expect("timer");
        assert_eq!(r.status(), 200, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_checkout_killed_after_any_step_is_settled_by_the_timers() {
    let app_port = free_port();
    let gateway_port = free_port();
    let _gateway = Process(
        Command::new(binary())
            .args([
                "gateway-simulator",
                "--port",
                &gateway_port.to_string(),
                "--webhook-url",
            ])
            .arg(format!("http://127.0.0.1:{app_port}/api/payments/webhook"))
            .env("JOJOMART_STRIPE_SECRET_KEY", SECRET_KEY)
            .env("JOJOMART_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("JOJOMART_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the gateway simulator"),
    );
    let shop = Shop {
        port: app_port,
        data: tempfile::tempdir().expect("temp dir"),
        database: format!("crash-{}", uuid::Uuid::new_v4().simple()),
        gateway: format!("http://127.0.0.1:{gateway_port}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
    };
    let gateway = StripeGateway::new(StripeSettings::new(
        shop.gateway.clone(),
        Secret::new(SECRET_KEY.to_owned()),
    ));

    const INITIAL: i64 = 50;
    let (admin, buyer, product_id) = {
        let _dev = shop.start(None).await;
        let admin = shop.token(ADMIN_EMAIL).await;
        let buyer = shop.token("crash-buyer@example.com").await;
        let (status, created) = shop
            .json(
                reqwest::Method::POST,
                "/api/products",
                &admin,
                Some(&product(
                    "CRASH-1",
                    "Crash Mug",
                    "Survives anything",
                    "kitchen",
                    1200,
                    INITIAL,
                )),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        (admin, buyer, s(&created, "id").to_owned())
    };

    for step in ["claimed", "order-written", "reserved", "charged", "paid"] {
        // The checkout dies right after `step`.
        {
            let mut dev = shop.start(Some(step)).await;
            let (status, cart) = shop
                .json(
                    reqwest::Method::POST,
                    "/api/cart/items",
                    &buyer,
                    Some(&json!({"productId": product_id, "quantity": 2})),
                )
                .await;
            assert_eq!(status, 200, "{cart}");
            let died = shop
                .client
                .post(shop.url("/api/orders"))
                .bearer_auth(&buyer)
                .header("Idempotency-Key", format!("crash-{step}"))
                .json(&checkout_body("pm_card_visa"))
                .send()
                .await;
            assert!(
                died.is_err(),
                "checkout answered instead of dying after `{step}`"
            );
            let exit = dev.0.wait().expect("the dead process");
            assert!(!exit.success(), "after `{step}`: {exit:?}");
        }
        // Restarted, the timers settle what it left once the reservations lapse.
        let _dev = shop.start(None).await;
        tokio::time::sleep(Duration::from_secs(TTL_SECONDS + 1)).await;
        shop.run_timer("release-reservations").await;
        shop.run_timer("reconcile-orders").await;
        shop.run_timer("release-reservations").await;

        let orders = {
            let (status, page) = shop
                .json(
                    reqwest::Method::GET,
                    "/api/manage/orders?limit=100",
                    &admin,
                    None,
                )
                .await;
            assert_eq!(status, 200, "{page}");
            page["items"].as_array().expect("items").clone()
        };
        assert!(
            orders.iter().all(|o| o["status"] != "pending_payment"),
            "after `{step}` an order is still pending: {orders:?}"
        );
        let paid_units: i64 = orders
            .iter()
            .filter(|o| o["status"] == "paid")
            .map(|o| o["items"][0]["quantity"].as_i64().expect("units"))
            .sum();
        // Setting the stock to what it must be answers what is reserved.
        let expected = INITIAL - paid_units;
        let (status, level) = shop
            .json(
                reqwest::Method::PUT,
                &format!("/api/products/{product_id}/inventory"),
                &admin,
                Some(&json!({"stock": expected})),
            )
            .await;
        assert_eq!(status, 200, "after `{step}`: {level}");
        assert_eq!(
            level,
            json!({"stock": expected, "reserved": 0, "available": expected}),
            "after `{step}`"
        );
        let (_, product) = shop
            .json(
                reqwest::Method::GET,
                &format!("/api/products/{product_id}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(product["available"], expected, "after `{step}`: {product}");

        let intents = gateway
            .list()
            .await
            .expect("the gateway lists its payments");
        for intent in intents
            .iter()
            .filter(|i| i.status == IntentStatus::Succeeded && !i.refunded())
        {
            let order = orders
                .iter()
                .find(|o| o["id"].as_str() == intent.order_id.as_deref())
                .unwrap_or_else(|| panic!("after `{step}`: a charge without an order: {intent:?}"));
            assert_eq!(order["status"], "paid", "after `{step}`: {order}");
        }
        // A crash after the charge ends as a paid order (newest first); before it, as a failed one.
        match (step, orders.first()) {
            ("claimed", _) => assert!(
                orders.is_empty(),
                "a claim alone wrote an order: {orders:?}"
            ),
            ("order-written" | "reserved", Some(newest)) => {
                assert_eq!(newest["status"], "payment_failed", "after `{step}`");
            }
            (_, Some(newest)) => assert_eq!(newest["status"], "paid", "after `{step}`: {newest}"),
            (_, None) => panic!("after `{step}` no order was written"),
        }
        // A paid checkout emptied the cart; a failed one kept it. Start the next round afresh.
        let (_, cart) = shop
            .json(reqwest::Method::GET, "/api/cart", &buyer, None)
            .await;
        if matches!(step, "charged" | "paid") {
            assert_eq!(cart["items"], json!([]), "after `{step}`: {cart}");
        } else {
            assert_eq!(cart["items"][0]["quantity"], 2, "after `{step}`: {cart}");
        }
        let r = shop
            .send(reqwest::Method::DELETE, "/api/cart", &buyer, None)
            .await
            .expect("clear the cart");
        assert_eq!(r.status(), 204);
    }
}
