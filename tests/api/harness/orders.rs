//! Checkout and orders, typed: a shopper's cart filled and checked out, the
//! order routes, and the admin's order routes.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::{s, TestApp};

/// A valid shipping address in `country`.
pub fn address(country: &str) -> Value {
    json!({
        "name": "Grace Hopper",
        "line1": "1 Harbour Street",
        "city": "Hamburg",
        "postalCode": "20457",
        "country": country,
    })
}

/// A checkout body paying with `card` (a test card such as `pm_card_visa`).
pub fn checkout_body(card: &str) -> Value {
    json!({"shippingAddress": address("DE"), "paymentMethod": card})
}

/// An answer: status and JSON body (`null` when not JSON).
pub async fn answer(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `app.orders()`.
pub struct OrdersApi<'a>(pub(super) &'a TestApp);

impl OrdersApi<'_> {
    /// `POST /api/cart/items` for a signed-in shopper (panics unless 200).
    pub async fn add_to_cart(&self, token: &str, product: &str, quantity: i64) {
        let r = self
            .0
            .send(
                Method::POST,
                "/api/cart/items",
                Some(token),
                Some(&json!({"productId": product, "quantity": quantity})),
            )
            .await;
        let (status, body) = answer(r).await;
        assert_eq!(status, 200, "add to cart: {body}");
    }

    /// `POST /api/cart/items` on an anonymous cart; returns the cart id (new
    /// when `cart` is `None`).
    pub async fn add_to_anonymous_cart(
        &self,
        cart: Option<&str>,
        product: &str,
        quantity: i64,
    ) -> String {
        let mut request = self
            .0
            .client
            .post(self.0.url("/api/cart/items"))
            .json(&json!({"productId": product, "quantity": quantity}));
        if let Some(cart) = cart {
            request = request.header("X-Cart-Id", cart);
        }
        let r = request.send().await.expect("POST cart item");
        let id = r
            .headers()
            .get("x-cart-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| cart.map(str::to_owned))
            .expect("an anonymous cart answers its X-Cart-Id");
        let (status, body) = answer(r).await;
        assert_eq!(status, 200, "add to anonymous cart: {body}");
        id
    }

    /// `POST /api/orders` as `token` with `key` (no header when `None`).
    pub async fn checkout(
        &self,
        token: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        self.checkout_with(token, key, None, body).await
    }

    /// `POST /api/orders`, optionally on an anonymous cart.
    pub async fn checkout_with(
        &self,
        token: Option<&str>,
        key: Option<&str>,
        cart: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let mut request = self.0.client.post(self.0.url("/api/orders")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(cart) = cart {
            request = request.header("X-Cart-Id", cart);
        }
        answer(request.send().await.expect("POST /api/orders")).await
    }

    /// Adds one product to the shopper's cart and checks out with `card`
    /// under a fresh key; status and body.
    pub async fn buy(&self, token: &str, product: &str, quantity: i64, card: &str) -> (u16, Value) {
        self.add_to_cart(token, product, quantity).await;
        let key = uuid::Uuid::new_v4().to_string();
        self.checkout(Some(token), Some(&key), &checkout_body(card))
            .await
    }

    /// `GET /api/orders/{id}` as `token`.
    pub async fn get(&self, token: Option<&str>, id: &str) -> (u16, Value) {
        answer(
            self.0
                .send(Method::GET, &format!("/api/orders/{id}"), token, None)
                .await,
        )
        .await
    }

    /// The order's status as its owner (or an admin) reads it.
    pub async fn status(&self, token: &str, id: &str) -> String {
        let (code, order) = self.get(Some(token), id).await;
        assert_eq!(code, 200, "{order}");
        s(&order, "status").to_owned()
    }

    /// `GET /api/orders` as `token` (first page).
    pub async fn mine(&self, token: &str) -> Vec<Value> {
        let (status, page) = answer(
            self.0
                .send(Method::GET, "/api/orders?limit=100", Some(token), None)
                .await,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().expect("items").clone()
    }

    /// `POST /api/orders/{id}/cancel` as `token`.
    pub async fn cancel(&self, token: &str, id: &str) -> (u16, Value) {
        answer(
            self.0
                .send(
                    Method::POST,
                    &format!("/api/orders/{id}/cancel"),
                    Some(token),
                    None,
                )
                .await,
        )
        .await
    }

    /// `PATCH /api/orders/{id}/status` as `token`.
    pub async fn set_status(&self, token: &str, id: &str, body: &Value) -> (u16, Value) {
        answer(
            self.0
                .send(
                    Method::PATCH,
                    &format!("/api/orders/{id}/status"),
                    Some(token),
                    Some(body),
                )
                .await,
        )
        .await
    }

    /// `POST /api/orders/{id}/refund` as `token`.
    pub async fn refund(&self, token: &str, id: &str) -> (u16, Value) {
        answer(
            self.0
                .send(
                    Method::POST,
                    &format!("/api/orders/{id}/refund"),
                    Some(token),
                    None,
                )
                .await,
        )
        .await
    }

    /// Runs a timer function to completion, as the Functions host invokes it
    /// (the custom-handler route `/{name}`).
    pub async fn run_timer(&self, name: &str) {
        let r = self
            .0
            .post_json(
                &format!("/{name}"),
                &json!({"Data": {"timer": {"IsPastDue": false}}, "Metadata": {}}),
            )
            .await;
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert_eq!(status, 200, "run {name}: {body}");
    }
}
