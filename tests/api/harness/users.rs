//! The users service's routes, typed: the profile, addresses, the export and
//! closing an account.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use super::TestApp;

/// A valid address body.
pub fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postalCode": "SW1Y 4JH", "country": "gb"})
}

/// `app.users()`: `/api/users/me` and below, as the holder of `token`.
pub struct UsersApi<'a>(pub(super) &'a TestApp);

impl UsersApi<'_> {
    /// `GET /api/users/me`.
    pub async fn me(&self, token: &str) -> Response {
        self.0
            .send(Method::GET, "/api/users/me", Some(token), None)
            .await
    }

    /// `GET /api/users/me`, as JSON (panics unless 200).
    pub async fn me_json(&self, token: &str) -> Value {
        let r = self.me(token).await;
        assert_eq!(r.status(), 200, "GET /api/users/me");
        r.json().await.expect("profile")
    }

    /// `PATCH /api/users/me`.
    pub async fn update_me(&self, token: &str, body: &Value) -> Response {
        self.0
            .send(Method::PATCH, "/api/users/me", Some(token), Some(body))
            .await
    }

    /// `POST /api/users/me/addresses`.
    pub async fn add_address(&self, token: &str, body: &Value) -> Response {
        self.0
            .send(
                Method::POST,
                "/api/users/me/addresses",
                Some(token),
                Some(body),
            )
            .await
    }

    /// `DELETE /api/users/me/addresses/{id}`.
    pub async fn delete_address(&self, token: &str, id: &str) -> Response {
        self.0
            .send(
                Method::DELETE,
                &format!("/api/users/me/addresses/{id}"),
                Some(token),
                None,
            )
            .await
    }

    /// `DELETE /api/users/me`.
    pub async fn delete_me(&self, token: &str) -> Response {
        self.0
            .send(Method::DELETE, "/api/users/me", Some(token), None)
            .await
    }

    /// `GET /api/users/me/export`.
    pub async fn export(&self, token: &str) -> Response {
        self.0
            .send(Method::GET, "/api/users/me/export", Some(token), None)
            .await
    }
}
