//! The notifications service, typed: `GET /api/notifications`, the
//! `send-notifications` queue function invoked as the Functions host does,
//! the events it reads, and `jojomart dev`'s `/dev/mail` pages.

use jojomart::wire::{QueueMetadata, QueueTrigger};
use reqwest::Method;
use serde_json::{json, Value};

use super::{orders::answer, TestApp};

/// An event envelope of `kind` carrying `data`, with a fresh id.
pub fn event(kind: &str, data: Value) -> Value {
    json!({"id": uuid::Uuid::new_v4().to_string(), "kind": kind, "version": 1,
           "occurredAt": chrono::Utc::now(), "data": data})
}

/// An `order.*` snapshot: one line per `(name, unit price, quantity)`, in EUR;
/// `user` is the account (`None` for a guest, who is mailed at `email`).
pub fn order_data(
    order_id: &str,
    user: Option<&str>,
    email: &str,
    status: &str,
    lines: &[(&str, i64, u32)],
) -> Value {
    let items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (name, price, qty))| {
            json!({"productId": format!("{i:032x}"), "name": name, "unitPrice": price,
                   "quantity": qty, "lineTotal": price * i64::from(*qty)})
        })
        .collect();
    let subtotal: i64 = lines.iter().map(|(_, p, q)| p * i64::from(*q)).sum();
    let mut data = json!({"orderId": order_id, "email": email, "status": status, "items": items,
        "subtotal": subtotal, "shipping": 499, "tax": 0, "total": subtotal + 499, "currency": "EUR"});
    if let Some(user) = user {
        data["userId"] = json!(user);
    }
    data
}

/// An `account.*` request for `user` at `email` carrying `token`.
pub fn account_data(user: &str, email: &str, name: &str, token: &str) -> Value {
    json!({"userId": user, "email": email, "name": name, "token": token,
           "expiresAt": chrono::Utc::now() + chrono::Duration::hours(1)})
}

/// `app.notifications()`.
pub struct NotificationsApi<'a>(pub(super) &'a TestApp);

impl NotificationsApi<'_> {
    /// `GET /api/notifications{query}` as `token` (none: anonymous).
    pub async fn list(&self, token: Option<&str>, query: &str) -> (u16, Value) {
        answer(
            self.0
                .send(
                    Method::GET,
                    &format!("/api/notifications{query}"),
                    token,
                    None,
                )
                .await,
        )
        .await
    }

    /// Every notification of the holder of `token`, newest first (panics unless 200).
    pub async fn all(&self, token: &str) -> Vec<Value> {
        let (status, page) = self.list(Some(token), "?limit=100").await;
        assert_eq!(status, 200, "{page}");
        page["items"].as_array().expect("items").clone()
    }

    /// The order notifications of the holder of `token`, newest first (other
    /// mail, such as the verification sent at registration, left out).
    pub async fn order_mail(&self, token: &str) -> Vec<Value> {
        self.all(token)
            .await
            .into_iter()
            .filter(|n| n["kind"].as_str().is_some_and(|k| k.starts_with("order.")))
            .collect()
    }

    /// Delivers `message` to `send-notifications` as the Functions host does
    /// (`POST /send-notifications`); its status and answer.
    pub async fn deliver(&self, message: &Value, dequeue_count: u32) -> (u16, Value) {
        let now = chrono::Utc::now();
        let trigger = QueueTrigger {
            message: message.to_string(),
            metadata: QueueMetadata {
                dequeue_count,
                expiration_time: now + chrono::Duration::days(7),
                id: uuid::Uuid::new_v4().to_string(),
                insertion_time: now,
                next_visible_time: now,
                pop_receipt: "receipt".into(),
                sys: None,
            },
        };
        let payload = serde_json::to_value(trigger.to_request()).expect("payload");
        answer(self.0.post_json("/send-notifications", &payload).await).await
    }

    /// `GET` a `/dev/mail` page: status, content type and body.
    pub async fn dev_page(&self, path: &str) -> (u16, String, String) {
        let r = self.0.get(path).await;
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, r.text().await.unwrap_or_default())
    }
}
