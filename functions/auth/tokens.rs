//! Account mail tokens: the single-use tokens a verification or password-reset
//! mail carries, and the rules that spend them.
//!
//! A token is 256 random bits in base64url. Only its SHA-256 (hex) is stored,
//! in `accountTokens`, where it is both the partition key and the handle of
//! the document: presenting a token is one point read. The document says
//! what the token is for, whose it is, when it expires and whether it was
//! used; spending it is a replace conditional on the ETag that was read, so of
//! two concurrent uses exactly one wins. The mail request
//! (`account.verification-requested`, `account.password-reset-requested`) is
//! staged in the outbox of the same partition, in the same batch as the
//! token document: there is no token without its mail, nor a mail without its
//! token. Documents carry a `ttl` (a day past their expiry) and a
//! `sweepAfterUs` for stores that do not honour `ttl` (see [`super::sweep`]).
//!
//! Mails are throttled per account and purpose: at most [`MAILS_PER_HOUR`]
//! tokens an hour (the one sent at registration counts).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chrono::{DateTime, Duration, Utc};
use jojomart_shared::{
    auth::{email::Email, password::Password, Principal},
    domain::UserId,
    error::{ApiError, FieldError},
    events::{outbox, Event, PasswordResetRequested, VerificationRequested},
    store::{to_body, update, BatchOp, Change, Container, Filter, Query, StoreError, Ttl},
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    service::{identity_id, read_identity, Identity, IDENTITIES},
    sessions, Auth,
};
use crate::users;

/// The container of mail tokens (partition key `tokenHash`, the hex SHA-256
/// of the token); documents and sent outbox entries expire by their `ttl`.
pub const ACCOUNT_TOKENS: &Container =
    &Container::new("accountTokens", "tokenHash").with_ttl(Ttl::PerDocument);

/// The id of the token document within its partition.
const TOKEN_DOC: &str = "token";

/// The value of `kind` on token documents (outbox entries share the partition).
const KIND: &str = "accountToken";

/// How many mails of one purpose an account may be sent in an hour.
pub const MAILS_PER_HOUR: usize = 3;

/// What a token does when spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Marks the account's email as verified (valid 24 h).
    VerifyEmail,
    /// Sets a new password (valid 1 h).
    PasswordReset,
}

impl Purpose {
    /// How long a token of this purpose works.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::hours(24),
            Self::PasswordReset => Duration::hours(1),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::PasswordReset => "password-reset",
        }
    }
}

/// A mail token as it travels (in the mail, back in a request); `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MailToken(String);

impl std::fmt::Debug for MailToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailToken(<redacted>)")
    }
}

impl MailToken {
    /// 256 fresh random bits.
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads what a client sent: 43 base64url characters holding 32 bytes.
    fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let ok = raw.len() == 43
            && URL_SAFE_NO_PAD
                .decode(raw)
                .is_ok_and(|bytes| bytes.len() == 32);
        ok.then(|| Self(raw.to_owned()))
    }

    /// The stored form: hex SHA-256 (enough for 256 random bits; no salt needed).
    fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// A token as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenDoc {
    token_hash: String,
    kind: String,
    purpose: Purpose,
    user_id: UserId,
    email: String,
    created_at: DateTime<Utc>,
    created_at_us: i64,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    used_at: Option<DateTime<Utc>>,
    sweep_after_us: i64,
    ttl: i64,
}

/// The 400 for a token that is malformed, unknown, used, expired or for
/// something else: the caller learns no more than that.
fn bad_token() -> ApiError {
    ApiError::invalid_field("token", "the token is invalid, used or expired")
}

/// Creates a token for `identity` and stages its mail in the same batch, then
/// has the outbox send it at once.
///
/// # Errors
/// Store failures.
pub async fn issue(
    auth: &Auth,
    purpose: Purpose,
    identity: &Identity,
    name: &str,
) -> Result<(), ApiError> {
    let token = MailToken::generate();
    let hash = token.hash();
    let now = auth.clock.now();
    let expires_at = now + purpose.lifetime();
    let keep = purpose.lifetime() + Duration::days(1);
    let doc = TokenDoc {
        token_hash: hash.clone(),
        kind: KIND.into(),
        purpose,
        user_id: identity.user_id.clone(),
        email: identity.email.clone(),
        created_at: now,
        created_at_us: now.timestamp_micros(),
        expires_at,
        used_at: None,
        sweep_after_us: (now + keep).timestamp_micros(),
        ttl: keep.num_seconds(),
    };
    let event = match purpose {
        Purpose::VerifyEmail => Event::new(
            &VerificationRequested {
                user_id: identity.user_id.clone(),
                email: identity.email.clone(),
                name: name.to_owned(),
                token: token.0.clone(),
                expires_at,
            },
            now,
        ),
        Purpose::PasswordReset => Event::new(
            &PasswordResetRequested {
                user_id: identity.user_id.clone(),
                email: identity.email.clone(),
                name: name.to_owned(),
                token: token.0.clone(),
                expires_at,
            },
            now,
        ),
    }
    .map_err(ApiError::internal)?;
    let mut ops = vec![BatchOp::Create {
        id: TOKEN_DOC.into(),
        body: to_body(&doc)?,
    }];
    ops.extend(outbox::stage(&event, &[crate::notifications::QUEUE]).map_err(ApiError::internal)?);
    auth.store.batch(ACCOUNT_TOKENS, &hash, ops).await?;
    auth.outbox.poke();
    Ok(())
}

/// How many tokens of `purpose` the user was sent in the last hour, and when
/// the oldest of them leaves that hour.
async fn recent(
    auth: &Auth,
    user_id: &UserId,
    purpose: Purpose,
) -> Result<(usize, Option<DateTime<Utc>>), ApiError> {
    let since = auth.clock.now() - Duration::hours(1);
    let page = auth
        .store
        .query(
            &Query::new(ACCOUNT_TOKENS)
                .filter(Filter::And(vec![
                    Filter::eq("kind", KIND),
                    Filter::eq("userId", user_id.as_str()),
                    Filter::eq("purpose", purpose.as_str()),
                    Filter::Ge(
                        Filter::field("createdAtUs"),
                        since.timestamp_micros().into(),
                    ),
                ]))
                .limit(u32::try_from(MAILS_PER_HOUR).unwrap_or(u32::MAX) + 1),
        )
        .await?;
    let oldest = page
        .items
        .iter()
        .filter_map(|d| d.parse::<TokenDoc>().ok())
        .map(|t| t.created_at)
        .min();
    Ok((page.items.len(), oldest))
}

/// Spends a token of `purpose`: exactly one caller gets it, once, before it expires.
///
/// # Errors
/// 400 ([`bad_token`]) for any token that cannot be spent; store failures.
async fn spend(auth: &Auth, purpose: Purpose, raw: &str) -> Result<TokenDoc, ApiError> {
    let token = MailToken::parse(raw).ok_or_else(bad_token)?;
    let hash = token.hash();
    let doc = auth
        .store
        .read(ACCOUNT_TOKENS, &hash, TOKEN_DOC)
        .await?
        .ok_or_else(bad_token)?;
    let stored: TokenDoc = doc.parse()?;
    let now = auth.clock.now();
    if stored.purpose != purpose || stored.used_at.is_some() || stored.expires_at <= now {
        return Err(bad_token());
    }
    let mut used = stored.clone();
    used.used_at = Some(now);
    match auth
        .store
        .replace(
            ACCOUNT_TOKENS,
            &hash,
            TOKEN_DOC,
            to_body(&used)?,
            Some(&doc.etag),
        )
        .await
    {
        Ok(_) => Ok(stored),
        Err(StoreError::PreconditionFailed | StoreError::NotFound) => Err(bad_token()),
        Err(e) => Err(e.into()),
    }
}

/// Changes the account a spent token names; a closed (or re-created)
/// account makes the token bad.
async fn change_identity(
    auth: &Auth,
    spent: &TokenDoc,
    mut change: impl FnMut(&mut Identity) -> bool,
) -> Result<(), ApiError> {
    update::<Identity, ApiError, _>(
        auth.store.as_ref(),
        IDENTITIES,
        &spent.email,
        &identity_id(&spent.email),
        |current: Option<Identity>| match current {
            Some(mut identity) if identity.user_id == spent.user_id => {
                if change(&mut identity) {
                    Ok(Change::Write(identity))
                } else {
                    Ok(Change::Keep)
                }
            }
            _ => Err(bad_token()),
        },
    )
    .await?;
    Ok(())
}

/// Verifies the email of the account a verification token names.
///
/// # Errors
/// 400 for a bad, used or expired token; store failures.
pub async fn verify_email(auth: &Auth, raw: &str) -> Result<(), ApiError> {
    let spent = spend(auth, Purpose::VerifyEmail, raw).await?;
    let now = auth.clock.now();
    change_identity(auth, &spent, |identity| {
        identity.email_verified_at.is_none() && {
            identity.email_verified_at = Some(now);
            true
        }
    })
    .await
}

/// Sends the caller another verification mail.
///
/// # Errors
/// 404 when the caller has no password account (an Entra ID caller); 409
/// when the email is already verified; 429 after [`MAILS_PER_HOUR`] mails in
/// an hour; store failures.
pub async fn resend_verification(auth: &Auth, principal: &Principal) -> Result<(), ApiError> {
    let identity = match read_identity(auth, &principal.email).await? {
        Some((identity, _)) if identity.user_id == principal.user_id => identity,
        _ => {
            return Err(ApiError::NotFound(
                "no account signs in with this email".into(),
            ))
        }
    };
    if identity.email_verified_at.is_some() {
        return Err(ApiError::Conflict("the email is already verified".into()));
    }
    let (sent, oldest) = recent(auth, &identity.user_id, Purpose::VerifyEmail).await?;
    if sent >= MAILS_PER_HOUR {
        let wait = oldest
            .map(|at| at + Duration::hours(1) - auth.clock.now())
            .and_then(|d| d.to_std().ok())
            .unwrap_or(std::time::Duration::from_secs(3600));
        return Err(ApiError::TooManyRequests {
            detail: "too many verification mails; try again later".into(),
            retry_after: wait.max(std::time::Duration::from_secs(1)),
        });
    }
    let name = users::service::name_of(&auth.users, &identity.user_id).await?;
    issue(auth, Purpose::VerifyEmail, &identity, &name).await
}

/// Asks for a password-reset mail. The caller always gets the same answer:
/// the work is done in the background, so an address with an account takes
/// no longer to answer than one without. An unknown address, or one that
/// already had [`MAILS_PER_HOUR`] reset mails this hour, gets no mail.
pub fn request_password_reset(auth: &Auth, email: Email) {
    let auth = auth.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset(&auth, &email).await {
            tracing::warn!(error = %e, "could not send a password-reset mail");
        }
    });
}

async fn send_reset(auth: &Auth, email: &Email) -> Result<(), ApiError> {
    let Some((identity, _)) = read_identity(auth, email.as_str()).await? else {
        return Ok(());
    };
    let (sent, _) = recent(auth, &identity.user_id, Purpose::PasswordReset).await?;
    if sent >= MAILS_PER_HOUR {
        tracing::info!(user_id = %identity.user_id, "password-reset mails throttled");
        return Ok(());
    }
    let name = users::service::name_of(&auth.users, &identity.user_id).await?;
    issue(auth, Purpose::PasswordReset, &identity, &name).await
}

/// Sets a new password with a reset token, then ends every session of the
/// account: its refresh-token families are revoked and its access tokens
/// issued before now are refused on every instance. The emailed link proves
/// the caller reads that mailbox, so the email counts as verified too.
///
/// # Errors
/// 400 naming `newPassword` for a weak password (checked first, so it does
/// not spend the token); 400 for a bad, used or expired token; store failures.
pub async fn confirm_password_reset(
    auth: &Auth,
    raw: &str,
    new_password: String,
) -> Result<(), ApiError> {
    let password = Password::parse(new_password).map_err(|e| {
        ApiError::invalid_fields(vec![FieldError::new("newPassword", e.to_string())])
    })?;
    let spent = spend(auth, Purpose::PasswordReset, raw).await?;
    let hash = auth
        .passwords
        .hash(&password)
        .await
        .map_err(ApiError::internal)?;
    let now = auth.clock.now();
    change_identity(auth, &spent, |identity| {
        identity.password_hash.clone_from(&hash);
        identity.email_verified_at.get_or_insert(now);
        true
    })
    .await?;
    sessions::revoke_all(auth, &spent.user_id, "password reset").await
}
