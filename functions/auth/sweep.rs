//! Bounded growth on stores that do not honour `ttl`: the embedded SQLite
//! store keeps every document until it is deleted, so the `sweep-auth` timer
//! deletes what Cosmos DB would have expired by then: spent or lapsed mail
//! tokens (and the sent mail requests beside them), lapsed revocation marks,
//! and refresh-token documents (rotated or revoked) past their time. Each of
//! those documents carries `sweepAfterUs`, the instant after which it may go;
//! on Cosmos DB their `ttl` has usually removed them first, and the sweep
//! finds nothing.

use jojomart_shared::{
    error::ApiError,
    events::outbox::{OutboxState, OUTBOX_KIND},
    store::{Container, Document, Filter, Query, StoreError},
};

use super::{revocation::REVOCATIONS, sessions::REFRESH_TOKENS, tokens::ACCOUNT_TOKENS, Auth};

/// Documents deleted per query page.
const PAGE: u32 = 100;
/// Pages per container per run; the rest waits for the next run.
const MAX_PAGES: usize = 50;

/// How many documents one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Documents deleted.
    pub deleted: usize,
}

/// Deletes every auth document whose `sweepAfterUs` has passed.
///
/// # Errors
/// Store failures (the next run carries on).
pub async fn sweep(auth: &Auth) -> Result<Swept, ApiError> {
    let now_us = auth.clock.now().timestamp_micros();
    let mut swept = Swept::default();
    for container in [ACCOUNT_TOKENS, REVOCATIONS, REFRESH_TOKENS] {
        for _ in 0..MAX_PAGES {
            let page = auth
                .store
                .query(
                    &Query::new(container)
                        .filter(Filter::Lt(Filter::field("sweepAfterUs"), now_us.into()))
                        .limit(PAGE),
                )
                .await?;
            if page.items.is_empty() {
                break;
            }
            for doc in page.items {
                if container == ACCOUNT_TOKENS {
                    swept.deleted += delete_sent_mail(auth, &doc.partition_key).await?;
                }
                swept.deleted += delete(auth, container, &doc).await?;
            }
        }
    }
    Ok(swept)
}

/// Deletes one document unless it was rewritten since it was read.
async fn delete(auth: &Auth, container: &Container, doc: &Document) -> Result<usize, ApiError> {
    match auth
        .store
        .delete(container, &doc.partition_key, &doc.id, Some(&doc.etag))
        .await
    {
        Ok(()) => Ok(1),
        Err(StoreError::NotFound | StoreError::PreconditionFailed) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the sent mail requests of a lapsed token's partition (they hold
/// the plain token and the address); one still staged is left for the relay.
async fn delete_sent_mail(auth: &Auth, partition: &str) -> Result<usize, ApiError> {
    let page = auth
        .store
        .query(
            &Query::new(ACCOUNT_TOKENS)
                .partition(partition)
                .filter(Filter::And(vec![
                    Filter::eq("kind", OUTBOX_KIND),
                    Filter::eq("state", OutboxState::Sent.as_str()),
                ]))
                .limit(PAGE),
        )
        .await?;
    let mut deleted = 0;
    for doc in page.items {
        deleted += delete(auth, ACCOUNT_TOKENS, &doc).await?;
    }
    Ok(deleted)
}
