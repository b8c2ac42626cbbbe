//! Login throttling: a sliding window of attempts per account and per client
//! address, kept in the `throttle` container so it holds across instances.
//!
//! An attempt is *claimed* before the password is checked (a conditional
//! write that fails when the window is full), so a burst of concurrent guesses
//! cannot overshoot the limit. A successful login clears the account's window
//! and gives back its claim on the client's window; a failed one leaves both
//! claims standing, which is what makes them failures. Keys are SHA-256 hashes,
//! so the container holds no email or address in the clear.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jojomart_shared::{
    error::ApiError,
    store::{update, Change, Container, StoreError},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Auth;

/// The container of throttle windows (partition key `key`).
pub const THROTTLE: &Container = &Container::new("throttle", "key");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Window {
    key: String,
    attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Attempt {
    id: String,
    at: DateTime<Utc>,
}

/// A login attempt that holds a place in both windows.
#[derive(Debug)]
#[must_use = "a successful login must give its claims back"]
pub struct LoginAttempt {
    id: String,
    account: String,
    client: String,
}

fn key(kind: &str, value: &str) -> String {
    format!(
        "login:{kind}:{}",
        hex::encode(Sha256::digest(value.as_bytes()))
    )
}

fn too_many(retry_after: Duration) -> ApiError {
    ApiError::TooManyRequests {
        detail: "too many failed sign-in attempts; try again later".into(),
        retry_after,
    }
}

/// Claims an attempt for `account` (a normalised email) from `client` (an address).
///
/// # Errors
/// 429 with the time until the window has room again.
pub async fn begin_login(
    auth: &Auth,
    account: &str,
    client: &str,
) -> Result<LoginAttempt, ApiError> {
    let limits = auth.config.throttle;
    let attempt = LoginAttempt {
        id: uuid::Uuid::new_v4().simple().to_string(),
        account: key("account", account),
        client: key("client", client),
    };
    if let Err(wait) = claim(
        auth,
        &attempt.account,
        limits.max_failures_per_account,
        &attempt.id,
    )
    .await?
    {
        return Err(too_many(wait));
    }
    if let Err(wait) = claim(
        auth,
        &attempt.client,
        limits.max_failures_per_client,
        &attempt.id,
    )
    .await?
    {
        release(auth, &attempt.account, &attempt.id).await?;
        return Err(too_many(wait));
    }
    Ok(attempt)
}

impl LoginAttempt {
    /// The password was right: the account starts afresh and the client gets its place back.
    ///
    /// # Errors
    /// Store failures.
    pub async fn succeeded(self, auth: &Auth) -> Result<(), ApiError> {
        delete(auth, &self.account).await?;
        release(auth, &self.client, &self.id).await
    }
}

/// Drops an account's window (the account is closed).
///
/// # Errors
/// Store failures.
pub async fn forget_account(auth: &Auth, email: &str) -> Result<(), ApiError> {
    delete(auth, &key("account", email)).await
}

async fn delete(auth: &Auth, key: &str) -> Result<(), ApiError> {
    match auth.store.delete(THROTTLE, key, key, None).await {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Adds an attempt to a window unless it is full; `Err(wait)` when it is.
async fn claim(
    auth: &Auth,
    key: &str,
    max: u32,
    id: &str,
) -> Result<Result<(), Duration>, ApiError> {
    if max == 0 {
        return Ok(Ok(()));
    }
    let now = auth.clock.now();
    let window =
        chrono::Duration::from_std(auth.config.throttle.window).map_err(ApiError::internal)?;
    let mut outcome = Ok(());
    update::<_, ApiError, _>(auth.store.as_ref(), THROTTLE, key, key, |w| {
        let mut w = w.unwrap_or_else(|| Window {
            key: key.to_owned(),
            attempts: Vec::new(),
        });
        w.attempts.retain(|a| a.at + window > now);
        w.attempts.sort_by_key(|a| a.at);
        let max = max as usize;
        if w.attempts.len() >= max {
            // Room again when enough of the oldest attempts have left the window.
            let frees = w.attempts[w.attempts.len() - max].at + window;
            outcome = Err((frees - now).to_std().unwrap_or(Duration::from_secs(1)));
            return Ok(Change::Keep);
        }
        outcome = Ok(());
        w.attempts.push(Attempt {
            id: id.to_owned(),
            at: now,
        });
        Ok(Change::Write(w))
    })
    .await?;
    Ok(outcome)
}

/// Removes one attempt from a window.
async fn release(auth: &Auth, key: &str, id: &str) -> Result<(), ApiError> {
    update::<Window, ApiError, _>(auth.store.as_ref(), THROTTLE, key, key, |w| {
        let Some(mut w) = w else {
            return Ok(Change::Keep);
        };
        let before = w.attempts.len();
        w.attempts.retain(|a| a.id != id);
        if w.attempts.len() == before {
            return Ok(Change::Keep);
        }
        Ok(Change::Write(w))
    })
    .await?;
    Ok(())
}
