//! The reviews service's routes, typed.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::TestApp;

/// `app.reviews()`.
pub struct ReviewsApi<'a>(pub(super) &'a TestApp);

impl ReviewsApi<'_> {
    /// Reviews a product with `rating` stars ("{rating} stars", "Honest words.").
    pub async fn post(&self, token: &str, product_id: &str, rating: i64) -> Response {
        let body =
            json!({"rating": rating, "title": format!("{rating} stars"), "body": "Honest words."});
        self.post_body(Some(token), product_id, &body).await
    }

    /// `POST /api/products/{id}/reviews` with any token and body.
    pub async fn post_body(&self, token: Option<&str>, product_id: &str, body: &Value) -> Response {
        self.0
            .send(
                Method::POST,
                &format!("/api/products/{product_id}/reviews"),
                token,
                Some(body),
            )
            .await
    }

    /// `DELETE /api/reviews/{id}`.
    pub async fn delete(&self, token: Option<&str>, review_id: &str) -> Response {
        self.0
            .send(
                Method::DELETE,
                &format!("/api/reviews/{review_id}"),
                token,
                None,
            )
            .await
    }
}
