//! The cart's routes, typed, as a [`Shopper`]: anonymous (with or without an
//! `X-Cart-Id`) or signed in. Each answer keeps the `X-Cart-Id` it carried.
//! Also sign-in with an `X-Cart-Id`, which merges that cart.

use reqwest::Method;
use serde_json::{json, Value};

use super::{auth::PASSWORD, TestApp};

/// Who calls the cart routes.
#[derive(Debug, Clone, Copy)]
pub enum Shopper<'a> {
    /// No token; the cart named by this `X-Cart-Id`, or none.
    Anonymous(Option<&'a str>),
    /// A bearer token.
    User(&'a str),
}

/// An answer of a cart route.
#[derive(Debug, Clone)]
pub struct CartReply {
    /// The status.
    pub status: u16,
    /// The `X-Cart-Id` answer header.
    pub cart_id: Option<String>,
    /// The JSON body (`null` when there is none).
    pub body: Value,
}

impl CartReply {
    /// The units of each line, in cart order: `(productId, quantity)`.
    pub fn quantities(&self) -> Vec<(String, u64)> {
        lines(&self.body)
    }

    /// The `X-Cart-Id` (panics when absent).
    pub fn id(&self) -> &str {
        self.cart_id
            .as_deref()
            .unwrap_or_else(|| panic!("no X-Cart-Id in the answer ({})", self.body))
    }
}

/// `(productId, quantity)` of each item of a cart body.
pub fn lines(cart: &Value) -> Vec<(String, u64)> {
    cart["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {cart}"))
        .iter()
        .map(|i| {
            (
                i["productId"].as_str().unwrap_or_default().to_owned(),
                i["quantity"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// `app.cart()`.
pub struct CartApi<'a>(pub(super) &'a TestApp);

impl CartApi<'_> {
    /// Any cart request.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: Shopper<'_>,
        body: Option<&Value>,
    ) -> CartReply {
        let mut request = self.0.client.request(method, self.0.url(path));
        match who {
            Shopper::User(token) => request = request.bearer_auth(token),
            Shopper::Anonymous(Some(id)) => request = request.header("x-cart-id", id),
            Shopper::Anonymous(None) => {}
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await.expect("cart request sent");
        let status = r.status().as_u16();
        let cart_id = r
            .headers()
            .get("x-cart-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = r.json().await.unwrap_or(Value::Null);
        CartReply {
            status,
            cart_id,
            body,
        }
    }

    /// `GET /api/cart`.
    pub async fn get(&self, who: Shopper<'_>) -> CartReply {
        self.call(Method::GET, "/api/cart", who, None).await
    }

    /// `GET /api/cart`, expecting 200; the body.
    pub async fn get_ok(&self, who: Shopper<'_>) -> Value {
        let reply = self.get(who).await;
        assert_eq!(reply.status, 200, "GET /api/cart: {}", reply.body);
        reply.body
    }

    /// `POST /api/cart/items` `{productId, quantity}`.
    pub async fn add(&self, who: Shopper<'_>, product_id: &str, quantity: i64) -> CartReply {
        self.add_body(who, &json!({"productId": product_id, "quantity": quantity}))
            .await
    }

    /// `POST /api/cart/items` with any body.
    pub async fn add_body(&self, who: Shopper<'_>, body: &Value) -> CartReply {
        self.call(Method::POST, "/api/cart/items", who, Some(body))
            .await
    }

    /// `PATCH /api/cart/items/{productId}` `{quantity}`.
    pub async fn set(&self, who: Shopper<'_>, product_id: &str, quantity: i64) -> CartReply {
        self.call(
            Method::PATCH,
            &format!("/api/cart/items/{product_id}"),
            who,
            Some(&json!({ "quantity": quantity })),
        )
        .await
    }

    /// `DELETE /api/cart/items/{productId}`.
    pub async fn remove(&self, who: Shopper<'_>, product_id: &str) -> CartReply {
        self.call(
            Method::DELETE,
            &format!("/api/cart/items/{product_id}"),
            who,
            None,
        )
        .await
    }

    /// `DELETE /api/cart`.
    pub async fn clear(&self, who: Shopper<'_>) -> CartReply {
        self.call(Method::DELETE, "/api/cart", who, None).await
    }

    /// `POST /api/auth/login` with [`PASSWORD`] and `X-Cart-Id`; the 200 body.
    pub async fn login(&self, email: &str, cart_id: &str) -> Value {
        self.sign_in(
            "/api/auth/login",
            &json!({"email": email, "password": PASSWORD}),
            cart_id,
            200,
        )
        .await
    }

    /// `POST /api/auth/register` with `X-Cart-Id`; the 201 body.
    pub async fn register(&self, email: &str, cart_id: &str) -> Value {
        self.sign_in(
            "/api/auth/register",
            &json!({"email": email, "password": PASSWORD, "name": "Cart Shopper"}),
            cart_id,
            201,
        )
        .await
    }

    async fn sign_in(&self, path: &str, body: &Value, cart_id: &str, expected: u16) -> Value {
        let r = self
            .0
            .client
            .post(self.0.url(path))
            .header("x-cart-id", cart_id)
            .json(body)
            .send()
            .await
            .expect("sign-in sent");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("sign-in answers JSON");
        assert_eq!(status, expected, "{path}: {body}");
        body
    }
}
