//! What the notifications service stores: one document per (event, recipient)
//! in `notifications` (partition `userId`: the account, or `guest-<orderId>`
//! for a guest order), and how the API shows it.

use chrono::{DateTime, Utc};
use jojomart_shared::store::Container;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The container (partition `userId`); `dev` also keeps its recorded mail
/// here, in the partition [`super::mail::DEV_MAIL_PARTITION`].
pub const NOTIFICATIONS: &Container = &Container::new("notifications", "userId");

/// The `doc` field of a notification (recorded mail has none).
pub const NOTIFICATION_DOC: &str = "notification";

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Claimed, not sent yet (or a send is being retried).
    Pending,
    /// The mail server took it.
    Sent,
    /// It can never be sent (the reason is recorded); not retried.
    Failed,
    /// Not sent on purpose: the customer turned order updates off.
    Skipped,
}

impl Status {
    /// True once nothing more will happen to it.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending)
    }
}

/// A stored notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationDoc {
    /// Always [`NOTIFICATION_DOC`].
    pub doc: String,
    /// Its id: derived from the event id and the recipient.
    pub id: String,
    /// The account, or `guest-<orderId>` (partition key).
    pub user_id: String,
    /// The event that caused it.
    pub event_id: String,
    /// What it is about: the event kind (`order.shipped`, `account.verification-requested`).
    pub kind: String,
    /// Always `email`.
    pub channel: String,
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// Where it stands.
    pub status: Status,
    /// Why it failed or was skipped; the last transient error while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sends tried so far.
    #[serde(default)]
    pub attempts: u32,
    /// When it was claimed.
    pub created_at: DateTime<Utc>,
    /// The same, microseconds since the epoch (the listing's order).
    pub created_at_us: i64,
    /// When the mail server took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

/// A notification as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationView {
    /// The notification id.
    pub id: String,
    /// What it is about (`order.placed`, `order.shipped`, ...).
    pub kind: String,
    /// The subject line.
    pub subject: String,
    /// How it travels: always `email`.
    pub channel: String,
    /// `pending`, `sent`, `failed` or `skipped`.
    pub status: Status,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl NotificationView {
    /// The public view of a stored notification.
    pub fn of(doc: &NotificationDoc) -> Self {
        Self {
            id: doc.id.clone(),
            kind: doc.kind.clone(),
            subject: doc.subject.clone(),
            channel: doc.channel.clone(),
            status: doc.status,
            created_at: doc.created_at,
        }
    }
}

/// A notification in the caller's data export: the view, the recipient and
/// what happened to it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedNotification {
    /// What the API shows.
    #[serde(flatten)]
    pub view: NotificationView,
    /// The address it went to.
    pub to: String,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the mail server took it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

/// A page of notifications.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPage {
    /// This page, newest first.
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Microseconds since the epoch.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}
