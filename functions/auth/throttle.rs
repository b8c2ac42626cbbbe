//! Throttling of failed logins and of registrations, on the cache port
//! (in-process under `dev`, Redis or the store when several instances must
//! agree). Fixed windows: a counter lives `window` from its first failure,
//! and attempts while it is full do not extend it.
//!
//! Logins count *failures*, three ways (defaults in [`ThrottleConfig`]):
//! - **strict**, per (account, client): 5 failures in 15 minutes and that
//!   pair gets 429 until its window ends;
//! - **loose**, per account across clients: past 50 failures in 15 minutes,
//!   a client that has itself failed on the account gets 429, while a client
//!   with no recent failure on it still gets its try. So the owner, with the
//!   right password from a clean client, signs in however hard the account
//!   is attacked, and an attacker spread over many addresses gets one guess
//!   per address per window;
//! - **spray**, per client across accounts: 20 failures in 15 minutes.
//!
//! An attempt *claims* its places before the password is checked (atomic
//! additions), so concurrent guesses cannot overshoot a bar; a refused
//! attempt gives its claims back (it checked nothing), and a successful
//! login gives them back too and clears its pair's window, so only failures
//! stay counted.
//!
//! Registrations count attempts per client (10 an hour), checked after the
//! request parses and before the email lookup and the password hash.
//!
//! Keys are SHA-256 hashes: the cache holds no email or address in the clear.

use std::time::Duration;

use jojomart_shared::{
    auth::config::ThrottleConfig,
    cache::{CacheError, Counter},
    error::ApiError,
};
use sha2::{Digest, Sha256};

use crate::auth::Auth;

/// A login attempt that holds a place in its windows.
#[derive(Debug)]
#[must_use = "a successful login must give its claims back"]
pub struct LoginAttempt {
    client: Option<String>,
    pair: String,
    account: Option<String>,
}

fn key(kind: &str, parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    format!("{kind}:{}", hex::encode(hash.finalize()))
}

fn too_many(detail: &str, retry_after: Duration) -> ApiError {
    ApiError::TooManyRequests {
        detail: detail.into(),
        retry_after: retry_after.max(Duration::from_secs(1)),
    }
}

fn unavailable(e: CacheError) -> ApiError {
    ApiError::Unavailable(Box::new(e))
}

async fn add(auth: &Auth, key: &str, delta: i64, window: Duration) -> Result<Counter, ApiError> {
    auth.cache
        .add(key, delta, window)
        .await
        .map_err(unavailable)
}

/// Gives back claims taken by an attempt that did not check a password.
async fn give_back(auth: &Auth, keys: &[&str], window: Duration) -> Result<(), ApiError> {
    for key in keys {
        add(auth, key, -1, window).await?;
    }
    Ok(())
}

const FAILED_LOGINS: &str = "too many failed sign-in attempts; try again later";

/// Claims an attempt for `account` (a normalised email) from `client` (an address).
///
/// # Errors
/// 429 with the time until this client may try this account again; 503 when
/// no cache answers.
pub async fn begin_login(
    auth: &Auth,
    account: &str,
    client: &str,
) -> Result<LoginAttempt, ApiError> {
    let limits: ThrottleConfig = auth.config.throttle;
    let window = limits.window;
    let client_key = key("login:client", &[client]);
    let pair_key = key("login:pair", &[account, client]);
    let account_key = key("login:account", &[account]);
    let mut attempt = LoginAttempt {
        client: None,
        pair: pair_key.clone(),
        account: None,
    };

    if limits.max_failures_per_client > 0 {
        let c = add(auth, &client_key, 1, window).await?;
        if c.count > i64::from(limits.max_failures_per_client) {
            give_back(auth, &[&client_key], window).await?;
            return Err(too_many(FAILED_LOGINS, c.ttl));
        }
        attempt.client = Some(client_key);
    }

    // The pair is always counted: the loose bar asks whether this client failed before.
    let pair = add(auth, &pair_key, 1, window).await?;
    let failed_here_before = pair.count > 1;
    if limits.max_failures_per_pair > 0 && pair.count > i64::from(limits.max_failures_per_pair) {
        let mut claimed = vec![pair_key.as_str()];
        claimed.extend(attempt.client.as_deref());
        give_back(auth, &claimed, window).await?;
        return Err(too_many(FAILED_LOGINS, pair.ttl));
    }

    if limits.max_failures_per_account > 0 {
        let a = add(auth, &account_key, 1, window).await?;
        if a.count > i64::from(limits.max_failures_per_account) && failed_here_before {
            let mut claimed = vec![pair_key.as_str(), account_key.as_str()];
            claimed.extend(attempt.client.as_deref());
            give_back(auth, &claimed, window).await?;
            // This client may try again when its own failures or the account's burst are forgotten.
            return Err(too_many(FAILED_LOGINS, pair.ttl.min(a.ttl)));
        }
        attempt.account = Some(account_key);
    }
    Ok(attempt)
}

impl LoginAttempt {
    /// The password was right: this pair starts afresh, and the account and
    /// the client get their places back.
    ///
    /// # Errors
    /// 503 when no cache answers.
    pub async fn succeeded(self, auth: &Auth) -> Result<(), ApiError> {
        let window = auth.config.throttle.window;
        auth.cache.delete(&self.pair).await.map_err(unavailable)?;
        let claimed: Vec<&str> = self
            .account
            .as_deref()
            .into_iter()
            .chain(self.client.as_deref())
            .collect();
        give_back(auth, &claimed, window).await
    }
}

/// Drops an account's window (the account is closed).
///
/// # Errors
/// 503 when no cache answers.
pub async fn forget_account(auth: &Auth, email: &str) -> Result<(), ApiError> {
    auth.cache
        .delete(&key("login:account", &[email]))
        .await
        .map_err(unavailable)
}

/// Counts a registration attempt from `client`.
///
/// # Errors
/// 429 when the client has registered too often in the window; 503 when no
/// cache answers.
pub async fn begin_registration(auth: &Auth, client: &str) -> Result<(), ApiError> {
    let limits = auth.config.throttle;
    if limits.max_registrations_per_client == 0 {
        return Ok(());
    }
    let c = add(
        auth,
        &key("register:client", &[client]),
        1,
        limits.registration_window,
    )
    .await?;
    if c.count > i64::from(limits.max_registrations_per_client) {
        return Err(too_many(
            "too many registrations from this address; try again later",
            c.ttl,
        ));
    }
    Ok(())
}
