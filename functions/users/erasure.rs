//! Erasing a closed account's personal data in every service.
//!
//! `DELETE /api/users/me` sends one [`ErasureRequested`] message to the
//! `user-erasure` queue; the `erase-user` function runs every service's
//! erasure hook (declared in its `ServiceDef`) in registry order. Each hook is
//! idempotent (deleting what is already gone is success), so a redelivered or
//! retried message changes nothing, and a message that keeps failing ends in
//! `user-erasure-poison` for an operator.

use chrono::{DateTime, Utc};
use jojomart_shared::{domain::UserId, error::ApiError, queue::SendOptions};
use serde::{Deserialize, Serialize};

use super::Users;
use crate::state::AppState;

/// The queue erasure requests travel on.
pub const USER_ERASURE: &str = "user-erasure";

/// The `kind` of an erasure request.
pub const KIND: &str = "user.erasure-requested";

/// The message on `user-erasure`. It names the user by id only: no email or
/// other personal data sits in the queue (or its poison twin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureRequested {
    /// A unique id per request, for logs and deduplication.
    pub event_id: String,
    /// Always [`KIND`].
    pub kind: String,
    /// The message schema version (1).
    pub version: u32,
    /// The user whose data goes.
    pub user_id: String,
    /// When the account was closed.
    pub requested_at: DateTime<Utc>,
}

/// Queues the erasure of a user's data.
///
/// # Errors
/// Queue failures.
pub async fn request(users: &Users, user_id: &UserId) -> Result<ErasureRequested, ApiError> {
    let message = ErasureRequested {
        event_id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.to_owned(),
        version: 1,
        user_id: user_id.to_string(),
        requested_at: users.clock.now(),
    };
    let text = serde_json::to_string(&message).map_err(ApiError::internal)?;
    users.queue.ensure_queue(USER_ERASURE).await?;
    users
        .queue
        .send(USER_ERASURE, &text, SendOptions::default())
        .await?;
    Ok(message)
}

/// Runs every service's erasure hook for the user a message names.
///
/// # Errors
/// The first hook's failure (the message is then retried).
pub async fn erase(state: &AppState, message: &ErasureRequested) -> Result<(), ApiError> {
    let user_id = UserId::parse(&message.user_id)
        .map_err(|e| ApiError::invalid_field("userId", e.to_string()))?;
    for (service, hook) in state.erasers() {
        hook(state, &user_id).await.inspect_err(|e| {
            tracing::warn!(service, event_id = %message.event_id, error = %e, "erasure step failed");
        })?;
    }
    tracing::info!(event_id = %message.event_id, "user data erased");
    Ok(())
}
