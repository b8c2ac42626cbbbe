//! Sign-in sessions as refresh-token families in `refreshTokens` (partition
//! key `familyId`). A family holds one `family` document (owner, revocation)
//! and one document per token ever issued in it, keyed by the token's hash,
//! `active` or `rotated`.
//!
//! Rotation is one atomic batch in the family's partition, conditional on the
//! ETags of the family and of the presented token: of any number of concurrent
//! refreshes with one token, exactly one batch commits. Presenting a `rotated`
//! token (a loser of that race included) is reuse: the whole family is revoked.
//!
//! Revoking a family (logout, reuse, account closed, password reset) also
//! voids the user's access tokens issued before it on every instance (see
//! [`super::revocation`]): an access token does not say which family it
//! came from.
//!
//! Growth is bounded: every document carries a `ttl` (Cosmos DB deletes it
//! that many seconds after its last write; the container's `defaultTtl` is
//! -1) and `sweepAfterUs` for the `sweep-auth` timer on stores without TTL. A
//! token document lives a day past its own expiry (a rotated token presented
//! before then still reveals reuse); a live family a day past its refresh
//! lifetime from its last rotation; a revoked family [`REVOKED_RETENTION_DAYS`]
//! days (the export shows it meanwhile).

use chrono::{DateTime, Utc};
use jojomart_shared::{
    auth::refresh::RefreshToken,
    domain::UserId,
    error::ApiError,
    store::{
        to_body, update, BatchOp, Change, Container, Document, Filter, Query, StoreError, Ttl,
    },
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{revocation, Auth};

/// The container of refresh-token families (partition key `familyId`); each
/// document carries its own `ttl`.
pub const REFRESH_TOKENS: &Container =
    &Container::new("refreshTokens", "familyId").with_ttl(Ttl::PerDocument);

/// How long a revoked family is kept.
pub const REVOKED_RETENTION_DAYS: i64 = 7;

/// How long past its time a document is kept, and when the sweep may delete it.
fn keep_until(until: DateTime<Utc>, now: DateTime<Utc>) -> (i64, i64) {
    let until = until + chrono::Duration::days(1);
    ((until - now).num_seconds().max(1), until.timestamp_micros())
}

/// The id of a family's own document within its partition.
const FAMILY_DOC: &str = "family";

/// A family's own document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Family {
    /// The family id (partition key).
    pub family_id: String,
    /// Always `family`.
    pub kind: String,
    /// The owner.
    pub user_id: UserId,
    /// The owner's email (to find the account at refresh).
    pub email: String,
    /// When the family was opened (the login).
    pub created_at: DateTime<Utc>,
    /// When a token of the family was last exchanged.
    pub last_used_at: DateTime<Utc>,
    /// How many rotations so far.
    pub generation: u64,
    /// When the family was revoked, if it was.
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why (logout, reuse, account closed).
    #[serde(default)]
    pub revoked_reason: Option<String>,
    /// When the sweep may delete it.
    #[serde(default)]
    pub sweep_after_us: Option<i64>,
    /// Seconds Cosmos DB keeps it after this write.
    #[serde(default)]
    pub ttl: Option<i64>,
}

impl Family {
    /// Sets how long the family is kept: a refresh lifetime past `now`, or
    /// [`REVOKED_RETENTION_DAYS`] once revoked.
    fn keep(&mut self, auth: &Auth, now: DateTime<Utc>) {
        let until = if self.revoked_at.is_some() {
            now + chrono::Duration::days(REVOKED_RETENTION_DAYS - 1)
        } else {
            now + chrono::Duration::from_std(auth.config.refresh_token_ttl)
                .unwrap_or(chrono::Duration::days(30))
        };
        let (ttl, sweep_after_us) = keep_until(until, now);
        self.ttl = Some(ttl);
        self.sweep_after_us = Some(sweep_after_us);
    }
}

/// One issued token, by hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenDoc {
    family_id: String,
    /// Always `token`.
    kind: String,
    user_id: UserId,
    /// `active` until exchanged, then `rotated`.
    status: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    rotated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    sweep_after_us: Option<i64>,
    #[serde(default)]
    ttl: Option<i64>,
}

const ACTIVE: &str = "active";
const ROTATED: &str = "rotated";

fn invalid() -> ApiError {
    ApiError::Unauthorized("the refresh token is invalid, expired or revoked".into())
}

fn token_doc(
    auth: &Auth,
    family_id: &str,
    user_id: &UserId,
    now: DateTime<Utc>,
) -> Result<TokenDoc, ApiError> {
    let ttl =
        chrono::Duration::from_std(auth.config.refresh_token_ttl).map_err(ApiError::internal)?;
    let (keep, sweep_after_us) = keep_until(now + ttl, now);
    Ok(TokenDoc {
        family_id: family_id.to_owned(),
        kind: "token".into(),
        user_id: user_id.clone(),
        status: ACTIVE.into(),
        issued_at: now,
        expires_at: now + ttl,
        rotated_at: None,
        sweep_after_us: Some(sweep_after_us),
        ttl: Some(keep),
    })
}

/// Opens a new family for a login and returns its first token.
///
/// # Errors
/// Store failures.
pub async fn open(auth: &Auth, user_id: &UserId, email: &str) -> Result<RefreshToken, ApiError> {
    let token = RefreshToken::new_family();
    let now = auth.clock.now();
    let mut family = Family {
        family_id: token.family_id().to_owned(),
        kind: "family".into(),
        user_id: user_id.clone(),
        email: email.to_owned(),
        created_at: now,
        last_used_at: now,
        generation: 0,
        revoked_at: None,
        revoked_reason: None,
        sweep_after_us: None,
        ttl: None,
    };
    family.keep(auth, now);
    let first = token_doc(auth, token.family_id(), user_id, now)?;
    auth.store
        .batch(
            REFRESH_TOKENS,
            token.family_id(),
            vec![
                BatchOp::Create {
                    id: FAMILY_DOC.into(),
                    body: to_body(&family)?,
                },
                BatchOp::Create {
                    id: token.hash(),
                    body: to_body(&first)?,
                },
            ],
        )
        .await?;
    Ok(token)
}

/// Reads a family's own document.
///
/// # Errors
/// Store failures.
pub async fn read_family(auth: &Auth, family_id: &str) -> Result<Option<Family>, ApiError> {
    Ok(read::<Family>(auth, family_id, FAMILY_DOC)
        .await?
        .map(|(f, _)| f))
}

async fn read<T: serde::de::DeserializeOwned>(
    auth: &Auth,
    family_id: &str,
    id: &str,
) -> Result<Option<(T, Document)>, ApiError> {
    match auth.store.read(REFRESH_TOKENS, family_id, id).await? {
        Some(doc) => Ok(Some((doc.parse()?, doc))),
        None => Ok(None),
    }
}

/// True when the presented token was issued in its family (active or rotated):
/// proof that the caller holds a token of that session.
///
/// # Errors
/// Store failures.
pub async fn holds(auth: &Auth, presented: &RefreshToken) -> Result<bool, ApiError> {
    Ok(
        read::<TokenDoc>(auth, presented.family_id(), &presented.hash())
            .await?
            .is_some(),
    )
}

/// Exchanges a token for the next one in its family.
///
/// # Errors
/// 401 for an unknown, expired or revoked token, and for a rotated one, whose
/// family is revoked on the spot.
pub async fn rotate(auth: &Auth, presented: &RefreshToken) -> Result<RefreshToken, ApiError> {
    let family_id = presented.family_id();
    let hash = presented.hash();
    let now = auth.clock.now();
    let (mut family, family_doc) = read::<Family>(auth, family_id, FAMILY_DOC)
        .await?
        .ok_or_else(invalid)?;
    let (mut token, token_doc_read) = read::<TokenDoc>(auth, family_id, &hash)
        .await?
        .ok_or_else(invalid)?;
    if family.revoked_at.is_some() {
        return Err(invalid());
    }
    if token.status != ACTIVE {
        tracing::warn!(family_id, "refresh token reused; revoking its family");
        revoke_family(auth, family_id, "reuse").await?;
        return Err(invalid());
    }
    if token.expires_at <= now {
        return Err(invalid());
    }
    let next = RefreshToken::next_in(family_id);
    family.generation += 1;
    family.last_used_at = now;
    family.keep(auth, now);
    token.status = ROTATED.into();
    token.rotated_at = Some(now);
    let fresh = token_doc(auth, family_id, &family.user_id, now)?;
    let ops = vec![
        BatchOp::Replace {
            id: FAMILY_DOC.into(),
            body: to_body(&family)?,
            if_match: Some(family_doc.etag),
        },
        BatchOp::Replace {
            id: hash.clone(),
            body: to_body(&token)?,
            if_match: Some(token_doc_read.etag),
        },
        BatchOp::Create {
            id: next.hash(),
            body: to_body(&fresh)?,
        },
    ];
    match auth.store.batch(REFRESH_TOKENS, family_id, ops).await {
        Ok(_) => Ok(next),
        Err(e) if lost_race(&e) => {
            // Someone changed the family first: a concurrent exchange of the same
            // token (which makes this one a reuse) or a revocation.
            match read::<TokenDoc>(auth, family_id, &hash).await? {
                Some((t, _)) if t.status != ACTIVE => {
                    tracing::warn!(
                        family_id,
                        "refresh token raced or reused; revoking its family"
                    );
                    revoke_family(auth, family_id, "reuse").await?;
                }
                _ => {}
            }
            Err(invalid())
        }
        Err(e) => Err(e.into()),
    }
}

/// True for the errors a concurrent write of the same family causes.
fn lost_race(e: &StoreError) -> bool {
    match e {
        StoreError::PreconditionFailed | StoreError::Conflict | StoreError::NotFound => true,
        StoreError::BatchFailed { cause, .. } => lost_race(cause),
        _ => false,
    }
}

/// Revokes a family: none of its tokens work any more, and its user's access
/// tokens issued before now are refused on every instance. Idempotent.
///
/// # Errors
/// Store failures.
pub async fn revoke_family(auth: &Auth, family_id: &str, reason: &str) -> Result<(), ApiError> {
    if let Some(user_id) = close_family(auth, family_id, reason).await? {
        revocation::void_tokens(auth, &user_id).await?;
    }
    Ok(())
}

/// Marks a family revoked; its owner, when the family exists.
async fn close_family(
    auth: &Auth,
    family_id: &str,
    reason: &str,
) -> Result<Option<UserId>, ApiError> {
    let now = auth.clock.now();
    let mut owner = None;
    update::<_, ApiError, _>(
        auth.store.as_ref(),
        REFRESH_TOKENS,
        family_id,
        FAMILY_DOC,
        |family: Option<Family>| {
            owner = family.as_ref().map(|f| f.user_id.clone());
            match family {
                Some(mut family) if family.revoked_at.is_none() => {
                    family.revoked_at = Some(now);
                    family.revoked_reason = Some(reason.to_owned());
                    family.keep(auth, now);
                    Ok(Change::Write(family))
                }
                _ => Ok(Change::Keep),
            }
        },
    )
    .await?;
    Ok(owner)
}

/// Every family of a user, revoked ones included.
async fn families_of(auth: &Auth, user_id: &UserId) -> Result<Vec<Family>, ApiError> {
    let mut families = Vec::new();
    let mut continuation = None;
    loop {
        let query = Query::new(REFRESH_TOKENS)
            .filter(Filter::And(vec![
                Filter::eq("kind", "family"),
                Filter::eq("userId", user_id.as_str()),
            ]))
            .limit(100)
            .continuation(continuation);
        let page = auth.store.query(&query).await?;
        for doc in &page.items {
            families.push(doc.parse::<Family>()?);
        }
        match page.continuation {
            Some(c) => continuation = Some(c),
            None => return Ok(families),
        }
    }
}

/// Ends every session of a user: their access tokens issued before now are
/// refused on every instance (first, so a failure later still leaves them
/// refused), then every family is revoked.
///
/// # Errors
/// Store failures.
pub async fn revoke_all(auth: &Auth, user_id: &UserId, reason: &str) -> Result<(), ApiError> {
    revocation::void_tokens(auth, user_id).await?;
    for family in families_of(auth, user_id).await? {
        if family.revoked_at.is_none() {
            close_family(auth, &family.family_id, reason).await?;
        }
    }
    Ok(())
}

/// Deletes every document of every family of a user. Idempotent.
///
/// # Errors
/// Store failures.
pub async fn delete_all(auth: &Auth, user_id: &UserId) -> Result<(), ApiError> {
    loop {
        let page = auth
            .store
            .query(
                &Query::new(REFRESH_TOKENS)
                    .filter(Filter::eq("userId", user_id.as_str()))
                    .limit(100),
            )
            .await?;
        if page.items.is_empty() {
            return Ok(());
        }
        for doc in page.items {
            match auth
                .store
                .delete(REFRESH_TOKENS, &doc.partition_key, &doc.id, None)
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// A session as the export shows it (no token, no hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionRecord {
    /// When the session was opened.
    pub created_at: DateTime<Utc>,
    /// When its refresh token was last exchanged.
    pub last_used_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The sessions of a user, for the export.
///
/// # Errors
/// Store failures.
pub async fn records_of(auth: &Auth, user_id: &UserId) -> Result<Vec<SessionRecord>, ApiError> {
    Ok(families_of(auth, user_id)
        .await?
        .into_iter()
        .map(|f| SessionRecord {
            created_at: f.created_at,
            last_used_at: f.last_used_at,
            revoked_at: f.revoked_at,
        })
        .collect())
}
