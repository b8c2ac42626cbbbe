//! Voiding a user's access tokens on every instance. Access tokens are
//! stateless JWTs, so revoking them means remembering "tokens of this user
//! issued before T are void" until the last of them has expired.
//!
//! The store holds that mark (`revocations`, one document per user,
//! `{userId, notBefore, expiresAt}`, expiring with the tokens it voids): it is
//! the truth, and it survives restarts. The instance that revokes tells its
//! own verifier at once; every instance loads the unexpired marks when it
//! starts (before it serves) and then follows new ones on the container's
//! change feed, read every [`POLL`], so a revocation reaches every instance
//! within about a second (the contract allows 5).
//!
//! Who revokes: closing an account, a password reset, and the revocation of a
//! refresh-token family (logout, reuse of a rotated token). An access token
//! does not name its family, so revoking a family voids every access token of
//! its user issued before that moment; the user's other sessions get a 401 on
//! their next call and continue with a refresh, which their families still allow.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use jojomart_shared::{
    auth::{jwt::LEEWAY_SECS, verifier::JwtVerifier},
    domain::UserId,
    error::ApiError,
    store::{
        update, Change, Container, DocumentStore, FeedPosition, SharedStore, StoreError, Ttl,
        MAX_CHANGES,
    },
};
use serde::{Deserialize, Serialize};

use super::Auth;

/// The container of voiding marks (partition key `userId`); each mark carries
/// its own `ttl`.
pub const REVOCATIONS: &Container =
    &Container::new("revocations", "userId").with_ttl(Ttl::PerDocument);

/// The id of a user's mark within its partition.
const MARK: &str = "mark";

/// How often every instance reads the feed of new marks.
pub const POLL: Duration = Duration::from_secs(1);

/// A user's mark: tokens issued before `not_before` are void until `expires_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mark {
    user_id: UserId,
    not_before: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// When the sweep may delete it (where the store does not honour `ttl`).
    sweep_after_us: i64,
    /// Seconds Cosmos DB keeps it after this write.
    ttl: i64,
}

/// How long a mark must last: until the last token it voids has expired.
fn lifetime(auth: &Auth) -> chrono::Duration {
    chrono::Duration::from_std(auth.tokens.ttl).unwrap_or(chrono::Duration::hours(1))
        + chrono::Duration::seconds(LEEWAY_SECS)
}

/// Voids every access token of `user_id` issued before now, here at once and
/// on every other instance through the stored mark.
///
/// # Errors
/// Store failures (this instance refuses the tokens regardless).
pub async fn void_tokens(auth: &Auth, user_id: &UserId) -> Result<(), ApiError> {
    let now = auth.clock.now();
    let expires_at = now + lifetime(auth);
    auth.verifier.void_before(user_id, now, expires_at);
    let ttl = lifetime(auth).num_seconds() + 60;
    update::<Mark, ApiError, _>(
        auth.store.as_ref(),
        REVOCATIONS,
        user_id.as_str(),
        MARK,
        |current: Option<Mark>| {
            let not_before = current.as_ref().map_or(now, |m| m.not_before.max(now));
            Ok(Change::Write(Mark {
                user_id: user_id.clone(),
                not_before,
                expires_at,
                sweep_after_us: expires_at.timestamp_micros(),
                ttl,
            }))
        },
    )
    .await?;
    Ok(())
}

/// Loads every mark the store holds into `verifier`, then follows new ones
/// in the background every [`POLL`] for as long as the verifier lives.
///
/// # Errors
/// The store's failure to read the marks at start (the instance must not
/// serve without them).
pub async fn follow(store: SharedStore, verifier: &Arc<JwtVerifier>) -> Result<(), StoreError> {
    let mut at = FeedPosition::beginning();
    catch_up(store.as_ref(), verifier, &mut at).await?;
    let verifier = Arc::downgrade(verifier);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            let Some(verifier) = verifier.upgrade() else {
                return;
            };
            match catch_up(store.as_ref(), &verifier, &mut at).await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "cannot read new token revocations; retrying every second");
                }
                Err(_) => {}
            }
        }
    });
    Ok(())
}

/// Reads the marks written after `at` into `verifier`, moving `at` on.
async fn catch_up(
    store: &dyn DocumentStore,
    verifier: &JwtVerifier,
    at: &mut FeedPosition,
) -> Result<(), StoreError> {
    loop {
        let page = store.changes(REVOCATIONS, at, MAX_CHANGES).await?;
        *at = page.next;
        if page.documents.is_empty() {
            return Ok(());
        }
        for doc in page.documents {
            match doc.parse::<Mark>() {
                Ok(mark) => verifier.void_before(&mark.user_id, mark.not_before, mark.expires_at),
                Err(e) => tracing::warn!(error = %e, id = %doc.id, "an unreadable revocation mark"),
            }
        }
    }
}
