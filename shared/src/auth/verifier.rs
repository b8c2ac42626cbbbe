//! The real [`TokenVerifier`]: our EdDSA access tokens and, when configured,
//! Entra ID tokens, told apart by the header's algorithm before any key is used.
//!
//! Signature checks cost tens of microseconds, and a client sends the same
//! token with every request for up to 15 minutes, so a token that verified
//! once is remembered (keyed by its exact text, until its `exp`): the same
//! bytes verify the same way, and everything time-dependent is re-checked on
//! each hit. Only tokens that passed every check are remembered. Subjects
//! revoked on this instance (a deleted account) are refused even while their
//! tokens are still unexpired.

use crate::domain::UserId;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Validation};

use super::{
    entra::EntraVerifier,
    jwt::{self, check_times, TokenSettings},
    keyring::KeyRing,
    AuthError, Principal, TokenVerifier,
};
use crate::clock::SharedClock;

/// Longer bearer tokens are refused unread.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// How many verified tokens are remembered (a few MiB at most).
const CACHE_CAPACITY: usize = 100_000;

/// A token that passed every check: who it names and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The caller.
    pub principal: Principal,
    /// The token's `exp`, seconds since the epoch.
    pub expires: i64,
}

/// Verifies bearer tokens: ours by our key ring, Entra's by its JWKS.
pub struct JwtVerifier {
    keys: Arc<KeyRing>,
    validation: Validation,
    entra: Option<EntraVerifier>,
    clock: SharedClock,
    cache: RwLock<HashMap<Box<str>, Verified>>,
    revoked: RwLock<HashMap<UserId, DateTime<Utc>>>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys)
            .field("entra", &self.entra)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// A verifier for our tokens (per `settings`), and Entra's when given.
    pub fn new(
        keys: Arc<KeyRing>,
        settings: &TokenSettings,
        entra: Option<EntraVerifier>,
        clock: SharedClock,
    ) -> Self {
        Self {
            keys,
            validation: settings.validation(),
            entra,
            clock,
            cache: RwLock::new(HashMap::new()),
            revoked: RwLock::new(HashMap::new()),
        }
    }

    /// Verifies a token without the cache: the full signature and claims check.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for a token we do not accept;
    /// [`AuthError::Unavailable`] when keys cannot be loaded.
    pub async fn verify_uncached(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken("too long".into()));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        match header.alg {
            Algorithm::EdDSA => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| AuthError::InvalidToken("no kid".into()))?;
                let key = self
                    .keys
                    .verifying_key(kid)
                    .await
                    .map_err(|e| AuthError::Unavailable(e.to_string()))?
                    .ok_or_else(|| AuthError::InvalidToken("unknown kid".into()))?;
                let claims = jwt::verify(token, &key, &self.validation, now)?;
                Ok(Verified {
                    principal: claims.principal(),
                    expires: claims.exp,
                })
            }
            Algorithm::RS256 => match &self.entra {
                Some(entra) => entra.verify(token, &header, now).await,
                None => Err(AuthError::InvalidToken(
                    "RS256 tokens are not accepted".into(),
                )),
            },
            other => Err(AuthError::InvalidToken(format!(
                "algorithm {other:?} is not accepted"
            ))),
        }
    }

    /// Refuses every token of `user_id` on this instance until `until` (an
    /// erased account whose access tokens have not expired yet).
    pub fn revoke_subject(&self, user_id: &UserId, until: DateTime<Utc>) {
        let now = self.clock.now();
        let mut revoked = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        revoked.retain(|_, at| *at > now);
        revoked.insert(user_id.clone(), until);
    }

    fn is_revoked(&self, user_id: &UserId, now: DateTime<Utc>) -> bool {
        let revoked = self.revoked.read().unwrap_or_else(|e| e.into_inner());
        !revoked.is_empty() && revoked.get(user_id).is_some_and(|until| *until > now)
    }

    fn remembered(&self, token: &str, now: DateTime<Utc>) -> Option<Principal> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        let hit = cache.get(token)?;
        check_times(hit.expires, None, None, now).ok()?;
        Some(hit.principal.clone())
    }

    fn remember(&self, token: &str, verified: Verified, now: DateTime<Utc>) {
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, v| check_times(v.expires, None, None, now).is_ok());
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(token.into(), verified);
    }
}

#[async_trait]
impl TokenVerifier for JwtVerifier {
    async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let principal = match self.remembered(token, now) {
            Some(principal) => principal,
            None => {
                let verified = self.verify_uncached(token, now).await?;
                let principal = verified.principal.clone();
                self.remember(token, verified, now);
                principal
            }
        };
        if self.is_revoked(&principal.user_id, now) {
            return Err(AuthError::Disabled);
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        auth::{jwt::LEEWAY_SECS, keyring::KeyRingSettings, keys::SigningKey, Role},
        clock::{Clock, FakeClock},
        sqlite::Database,
    };

    #[tokio::test]
    async fn a_remembered_token_still_expires_and_a_revoked_subject_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let clock = FakeClock::new(Utc::now());
        let shared: SharedClock = Arc::new(clock.clone());
        let db = Database::open(&dir.path().join("v.db"), shared.clone()).unwrap();
        let key = SigningKey::generate().unwrap();
        let settings = TokenSettings {
            issuer: "jojomart".into(),
            audience: "jojomart-api".into(),
            ttl: Duration::from_secs(900),
        };
        let ring = KeyRing::configured(
            key.clone(),
            Vec::new(),
            Arc::new(db.store()),
            shared.clone(),
            KeyRingSettings::new(
                &const { crate::store::Container::new("keys", "kid") },
                settings.ttl,
                Duration::from_secs(86_400),
            ),
        );
        let verifier = JwtVerifier::new(Arc::new(ring), &settings, None, shared);
        let alice = Principal {
            user_id: UserId::parse("u-1").unwrap(),
            email: "alice@example.com".into(),
            roles: vec![Role::Customer],
        };
        let token = jwt::sign(&key, &settings.claims_for(&alice, clock.now())).unwrap();
        assert_eq!(verifier.verify(&token).await.unwrap(), alice);
        assert_eq!(verifier.verify(&token).await.unwrap(), alice, "remembered");

        clock.advance(chrono::Duration::seconds(900 + LEEWAY_SECS));
        assert!(
            verifier.verify(&token).await.is_err(),
            "expired, remembered or not"
        );

        let fresh = jwt::sign(&key, &settings.claims_for(&alice, clock.now())).unwrap();
        assert!(verifier.verify(&fresh).await.is_ok());
        verifier.revoke_subject(
            &UserId::parse("u-1").unwrap(),
            clock.now() + chrono::Duration::seconds(60),
        );
        assert!(matches!(
            verifier.verify(&fresh).await,
            Err(AuthError::Disabled)
        ));
        clock.advance(chrono::Duration::seconds(61));
        assert!(
            verifier.verify(&fresh).await.is_ok(),
            "the revocation lapses with the tokens"
        );
    }
}
