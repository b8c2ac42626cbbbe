//! `sweep-auth` (timer, every hour): deletes lapsed tokens and marks where the
//! store does not expire them (see [`super::sweep`]).

use jojomart_shared::error::ApiError;

use super::{sweep, Auth};
use crate::wire::{InvocationResponse, TimerTrigger};

/// Deletes the auth documents whose time has passed.
pub async fn sweep_auth(
    auth: Auth,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let swept = sweep::sweep(&auth).await?;
    if swept.deleted > 0 {
        tracing::info!(deleted = swept.deleted, "swept lapsed auth documents");
    }
    Ok(InvocationResponse {
        logs: vec![format!("{} deleted", swept.deleted)],
        ..Default::default()
    })
}
