//! Erasing a closed account's personal data in every service.
//!
//! `DELETE /api/users/me` sends one [`ErasureRequested`] message to the
//! `user-erasure` queue; the `erase-user` function runs every service's
//! [`Eraser`] in turn. Each eraser is idempotent (deleting what is already
//! gone is success), so a redelivered or retried message changes nothing, and
//! a message that keeps failing ends in `user-erasure-poison` for an operator.
//!
//! A service that holds personal data adds its eraser to [`erasers`]: orders
//! anonymise (orders stay, per the contract), reviews and notifications delete.
//! Today only auth (identity, refresh tokens) and users (profile) exist.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use jojomart_shared::{error::ApiError, queue::SendOptions};
use serde::{Deserialize, Serialize};

use crate::{auth, state::AppState};

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

/// One service's part of an erasure.
pub type Eraser = for<'a> fn(&'a AppState, &'a str) -> BoxFuture<'a, Result<(), ApiError>>;

/// Every service's eraser, by service name.
pub fn erasers() -> Vec<(&'static str, Eraser)> {
    vec![
        ("auth", |state, user_id| {
            Box::pin(auth::service::erase(state, user_id))
        }),
        ("users", |state, user_id| {
            Box::pin(super::service::erase(state, user_id))
        }),
    ]
}

/// Queues the erasure of a user's data.
///
/// # Errors
/// Queue failures.
pub async fn request(state: &AppState, user_id: &str) -> Result<ErasureRequested, ApiError> {
    let message = ErasureRequested {
        event_id: uuid::Uuid::new_v4().to_string(),
        kind: KIND.to_owned(),
        version: 1,
        user_id: user_id.to_owned(),
        requested_at: state.clock.now(),
    };
    let text = serde_json::to_string(&message).map_err(ApiError::internal)?;
    state.queue.ensure_queue(USER_ERASURE).await?;
    state
        .queue
        .send(USER_ERASURE, &text, SendOptions::default())
        .await?;
    Ok(message)
}

/// Runs every eraser for the user a message names.
///
/// # Errors
/// The first eraser's failure (the message is then retried).
pub async fn erase(state: &AppState, message: &ErasureRequested) -> Result<(), ApiError> {
    for (service, eraser) in erasers() {
        eraser(state, &message.user_id).await.inspect_err(|e| {
            tracing::warn!(service, event_id = %message.event_id, error = %e, "erasure step failed");
        })?;
    }
    tracing::info!(event_id = %message.event_id, "user data erased");
    Ok(())
}
