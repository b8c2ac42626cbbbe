//! The catalog's routes, typed: products, categories and stock. Admin routes
//! take the token of [`super::ADMIN_EMAIL`] (`app.auth().admin()`), or
//! another (or none) to check who may call them.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::TestApp;

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

/// `app.catalog()`.
pub struct CatalogApi<'a>(pub(super) &'a TestApp);

impl CatalogApi<'_> {
    /// Creates a product as `admin` and returns its JSON (panics unless 201).
    pub async fn create_product(&self, admin: &str, body: &Value) -> Value {
        let r = self.try_create_product(Some(admin), body).await;
        let status = r.status();
        let json: Value = r.json().await.expect("JSON");
        assert_eq!(status, 201, "create product: {json}");
        json
    }

    /// `POST /api/products` with any token and body.
    pub async fn try_create_product(&self, token: Option<&str>, body: &Value) -> Response {
        self.0
            .send(Method::POST, "/api/products", token, Some(body))
            .await
    }

    /// `GET /api/products/{id}`: status and body.
    pub async fn product(&self, id: &str) -> (u16, Value) {
        self.0.get_json(&format!("/api/products/{id}")).await
    }

    /// `PATCH /api/products/{id}`.
    pub async fn update_product(&self, token: Option<&str>, id: &str, body: &Value) -> Response {
        self.0
            .send(
                Method::PATCH,
                &format!("/api/products/{id}"),
                token,
                Some(body),
            )
            .await
    }

    /// `DELETE /api/products/{id}`.
    pub async fn delete_product(&self, token: Option<&str>, id: &str) -> Response {
        self.0
            .send(Method::DELETE, &format!("/api/products/{id}"), token, None)
            .await
    }

    /// `PUT /api/products/{id}/inventory` `{stock}`: status and body.
    pub async fn set_stock(&self, token: &str, id: &str, stock: i64) -> (u16, Value) {
        let r = self
            .0
            .send(
                Method::PUT,
                &format!("/api/products/{id}/inventory"),
                Some(token),
                Some(&json!({"stock": stock})),
            )
            .await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `GET /api/products/{id}/inventory` as `token` (anonymous without one): status and body.
    pub async fn stock_level(&self, token: Option<&str>, id: &str) -> (u16, Value) {
        let r = self
            .0
            .send(
                Method::GET,
                &format!("/api/products/{id}/inventory"),
                token,
                None,
            )
            .await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A product's `available` (panics unless the product is found).
    pub async fn available(&self, id: &str) -> i64 {
        let (status, p) = self.product(id).await;
        assert_eq!(status, 200);
        p["available"].as_i64().expect("available")
    }

    /// `GET /api/categories`.
    pub async fn categories(&self) -> Value {
        self.0.get_json("/api/categories").await.1
    }
}
