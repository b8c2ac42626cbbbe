//! The real [`TokenVerifier`]: our EdDSA access tokens and, when configured,
//! Entra ID tokens, told apart by the header's algorithm before any key is used.
//!
//! Signature checks cost tens of microseconds, and a client sends the same
//! token with every request for up to 15 minutes, so a token that verified
//! once is remembered (keyed by its exact text, until its `exp`): the same
//! bytes verify the same way, and everything time-dependent is re-checked on
//! each hit. Only tokens that passed every check are remembered, and the
//! memory is bounded by bytes: [`CACHE_BYTES`] counts each entry's token text,
//! the principal's strings and roles, and the entry itself.
//!
//! Revocation: a user's tokens issued before a moment can be voided
//! ([`JwtVerifier::void_before`]). The auth service calls it at once on the
//! instance that revoked, and on every other instance when it reads the mark
//! the store holds (the store is the truth; this map is the fast path).

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
/// The most bytes the verified-token cache holds, counted by [`entry_bytes`]
/// (8 MiB: about 14,000 entries of a typical 450-byte token with its
/// principal; an entry can be at most [`MAX_TOKEN_LEN`] plus its principal).
pub const CACHE_BYTES: usize = 8 * 1024 * 1024;
/// What a hash-map slot costs beyond the key and value themselves (the
/// control byte and the load-factor slack, rounded up).
const SLOT_OVERHEAD: usize = 16;

/// A token that passed every check: who it names, until when, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The caller.
    pub principal: Principal,
    /// The token's `exp`, seconds since the epoch.
    pub expires: i64,
    /// When it was issued, milliseconds since the epoch (0 when unknown).
    pub issued_at_ms: i64,
}

/// The bytes a cache entry holds: the key's text, the principal's heap
/// strings and roles, and the entry's own size in the map.
fn entry_bytes(token: &str, verified: &Verified) -> usize {
    let p = &verified.principal;
    token.len()
        + p.user_id.as_str().len()
        + p.email.len()
        + p.roles.len() * std::mem::size_of::<super::Role>()
        + std::mem::size_of::<(Box<str>, Verified)>()
        + SLOT_OVERHEAD
}

/// The remembered tokens and the bytes they hold.
#[derive(Default)]
struct Cache {
    entries: HashMap<Box<str>, Verified>,
    bytes: usize,
}

/// A voiding mark: tokens issued before `not_before_ms` are refused until `until`.
#[derive(Debug, Clone, Copy)]
struct Void {
    not_before_ms: i64,
    until: DateTime<Utc>,
}

/// Verifies bearer tokens: ours by our key ring, Entra's by its JWKS.
pub struct JwtVerifier {
    keys: Arc<KeyRing>,
    validation: Validation,
    entra: Option<EntraVerifier>,
    clock: SharedClock,
    cache: RwLock<Cache>,
    revoked: RwLock<HashMap<UserId, Void>>,
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
            cache: RwLock::new(Cache::default()),
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
                    issued_at_ms: claims.issued_at_ms(),
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

    /// Refuses every token of `user_id` issued before `not_before`, until
    /// `until` (when the last of them has expired anyway). Marks only move
    /// forward: an older `not_before` than the one held changes nothing.
    pub fn void_before(&self, user_id: &UserId, not_before: DateTime<Utc>, until: DateTime<Utc>) {
        let now = self.clock.now();
        if until <= now {
            return;
        }
        let mut revoked = self.revoked.write().unwrap_or_else(|e| e.into_inner());
        revoked.retain(|_, v| v.until > now);
        let mark = revoked.entry(user_id.clone()).or_insert(Void {
            not_before_ms: i64::MIN,
            until,
        });
        mark.not_before_ms = mark.not_before_ms.max(not_before.timestamp_millis());
        mark.until = mark.until.max(until);
    }

    fn is_revoked(&self, verified: &Verified, now: DateTime<Utc>) -> bool {
        let revoked = self.revoked.read().unwrap_or_else(|e| e.into_inner());
        !revoked.is_empty()
            && revoked
                .get(&verified.principal.user_id)
                .is_some_and(|v| v.until > now && verified.issued_at_ms < v.not_before_ms)
    }

    fn remembered(&self, token: &str, now: DateTime<Utc>) -> Option<Verified> {
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        let hit = cache.entries.get(token)?;
        check_times(hit.expires, None, None, now).ok()?;
        Some(hit.clone())
    }

    fn remember(&self, token: &str, verified: Verified, now: DateTime<Utc>) {
        let size = entry_bytes(token, &verified);
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.bytes + size > CACHE_BYTES {
            cache
                .entries
                .retain(|_, v| check_times(v.expires, None, None, now).is_ok());
            cache.bytes = cache.entries.iter().map(|(k, v)| entry_bytes(k, v)).sum();
            if cache.bytes + size > CACHE_BYTES {
                cache.entries.clear();
                cache.bytes = 0;
            }
        }
        if let Some(old) = cache.entries.insert(token.into(), verified) {
            cache.bytes -= entry_bytes(token, &old);
        }
        cache.bytes += size;
    }

    /// The bytes the verified-token cache holds now (see [`CACHE_BYTES`]).
    pub fn cached_bytes(&self) -> usize {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[async_trait]
impl TokenVerifier for JwtVerifier {
    async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let verified = match self.remembered(token, now) {
            Some(verified) => verified,
            None => {
                let verified = self.verify_uncached(token, now).await?;
                self.remember(token, verified.clone(), now);
                verified
            }
        };
        if self.is_revoked(&verified, now) {
            return Err(AuthError::Disabled);
        }
        Ok(verified.principal)
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
        verifier.void_before(
            &UserId::parse("u-1").unwrap(),
            clock.now() + chrono::Duration::milliseconds(1),
            clock.now() + chrono::Duration::seconds(60),
        );
        assert!(matches!(
            verifier.verify(&fresh).await,
            Err(AuthError::Disabled)
        ));
        let after = jwt::sign(
            &key,
            &settings.claims_for(&alice, clock.now() + chrono::Duration::milliseconds(1)),
        )
        .unwrap();
        assert!(
            verifier.verify(&after).await.is_ok(),
            "a token issued after the mark is good"
        );
        clock.advance(chrono::Duration::seconds(61));
        assert!(
            verifier.verify(&fresh).await.is_ok(),
            "the revocation lapses with the tokens"
        );
    }

    #[tokio::test]
    async fn the_cache_counts_what_it_holds_and_stays_under_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let shared: SharedClock = Arc::new(FakeClock::new(Utc::now()));
        let db = Database::open(&dir.path().join("v.db"), shared.clone()).unwrap();
        let key = SigningKey::generate().unwrap();
        let settings = TokenSettings {
            issuer: "jojomart".into(),
            audience: "jojomart-api".into(),
            ttl: Duration::from_secs(900),
        };
        let ring = KeyRing::configured(
            key,
            Vec::new(),
            Arc::new(db.store()),
            shared.clone(),
            KeyRingSettings::new(
                &const { crate::store::Container::new("keys", "kid") },
                settings.ttl,
                Duration::from_secs(86_400),
            ),
        );
        let verifier = JwtVerifier::new(Arc::new(ring), &settings, None, shared.clone());
        let verified = Verified {
            principal: Principal {
                user_id: UserId::parse("u-1").unwrap(),
                email: "alice@example.com".into(),
                roles: vec![Role::Customer],
            },
            expires: shared.now().timestamp() + 900,
            issued_at_ms: 0,
        };
        let token = "t".repeat(MAX_TOKEN_LEN);
        let one = entry_bytes(&token, &verified);
        assert!(one > MAX_TOKEN_LEN, "the token text is counted");
        verifier.remember(&token, verified.clone(), shared.now());
        assert_eq!(verifier.cached_bytes(), one);
        verifier.remember(&token, verified.clone(), shared.now());
        assert_eq!(
            verifier.cached_bytes(),
            one,
            "a replaced entry is not counted twice"
        );
        for i in 0..(2 * CACHE_BYTES / one) {
            let t = format!("{i:0>width$}", width = MAX_TOKEN_LEN);
            verifier.remember(&t, verified.clone(), shared.now());
            assert!(verifier.cached_bytes() <= CACHE_BYTES);
        }
        let held = verifier.cache.read().unwrap();
        let counted: usize = held.entries.iter().map(|(k, v)| entry_bytes(k, v)).sum();
        assert_eq!(counted, held.bytes);
    }
}
