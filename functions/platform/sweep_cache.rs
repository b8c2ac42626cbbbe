//! `sweep-cache` (timer, every 5 minutes): deletes expired keys of the
//! store-backed cache. Cosmos DB expires them itself (per-document TTL); the
//! SQLite store keeps them until this sweep, so its `cache` container stays
//! as small as the live throttle windows.

use jojomart_shared::{cache::store::StoreCache, error::ApiError};

use super::Platform;
use crate::wire::{InvocationResponse, TimerTrigger};

/// Most keys one run deletes (pages of 100).
const MAX_PER_RUN: usize = 10_000;

/// Deletes expired cache documents, a page at a time, and logs how many.
pub async fn sweep_cache(
    platform: Platform,
    _trigger: TimerTrigger,
) -> Result<InvocationResponse, ApiError> {
    let cache = StoreCache::new(platform.store.clone(), platform.clock.clone());
    let mut swept = 0;
    while swept < MAX_PER_RUN {
        let gone = cache
            .sweep(100)
            .await
            .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
        swept += gone;
        if gone < 100 {
            break;
        }
    }
    Ok(InvocationResponse {
        logs: vec![format!("swept {swept} expired cache keys")],
        ..Default::default()
    })
}
