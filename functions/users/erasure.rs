//! Erasing a closed account's personal data in every service.
//!
//! Closing an account deletes the profile and stages one
//! `user.erasure-requested` event ([`ErasureRequested`], in the shared event
//! envelope) in the same batch, in the profile's partition; the outbox relay
//! sends it to the `user-erasure` queue, and `erase-user` runs every service's
//! erasure hook (declared in its `ServiceDef`) in registry order. Each hook is
//! idempotent (deleting what is already gone is success), so a redelivered or
//! re-sent event changes nothing, and one that keeps failing ends in
//! `user-erasure-poison` for an operator.

use jojomart_shared::{
    domain::UserId,
    error::ApiError,
    events::{outbox, ErasureRequested, Event},
    store::{update_in_batch, Change},
};

use super::{
    service::{gone, Profile, USERS},
    Users,
};
use crate::state::AppState;

/// The queue erasure requests travel on.
pub const USER_ERASURE: &str = "user-erasure";

/// Deletes the profile and stages the erasure of everything else in the same
/// batch, through the store's update helper: one never happens without the
/// other, and a profile changed meanwhile is read again, not refused.
///
/// # Errors
/// 404 when there is no profile to close; store failures.
pub async fn close_and_request(users: &Users, user_id: &UserId) -> Result<Event, ApiError> {
    let event = Event::new(
        &ErasureRequested {
            user_id: user_id.clone(),
        },
        users.clock.now(),
    )
    .map_err(ApiError::internal)?;
    let staged = outbox::stage(&event, &[USER_ERASURE]).map_err(ApiError::internal)?;
    let id = user_id.as_str();
    update_in_batch::<_, ApiError, _>(&*users.store, USERS, id, id, |profile: Option<Profile>| {
        profile.ok_or_else(gone)?;
        Ok((Change::Delete, staged.clone()))
    })
    .await?;
    users.outbox.poke();
    Ok(event)
}

/// Runs every service's erasure hook for the user an event names.
///
/// # Errors
/// The first hook's failure (the message is then retried).
pub async fn erase(state: &AppState, event: &Event) -> Result<(), ApiError> {
    let request: ErasureRequested = event
        .decode()
        .map_err(|e| ApiError::invalid_field("message", e.to_string()))?;
    for (service, hook) in state.erasers() {
        hook(state, &request.user_id).await.inspect_err(|e| {
            tracing::warn!(service, event_id = %event.id(), error = %e, "erasure step failed");
        })?;
    }
    tracing::info!(event_id = %event.id(), "user data erased");
    Ok(())
}
