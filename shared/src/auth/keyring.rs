//! The signing keys in use: which one signs new access tokens, which ones
//! still verify, and the JWKS that publishes them.
//!
//! Two sources:
//! - **configured** (`JOJOMART_JWT_SIGNING_KEY`, a Key Vault reference in Azure):
//!   that key signs; `JOJOMART_JWT_PREVIOUS_SIGNING_KEY`, when set, still
//!   verifies. Rotating is an operator's move: new key in, old key to
//!   "previous", and "previous" removed once its tokens have expired.
//! - **the store** (the `signingKeys` container, for `dev` and whenever no key is
//!   configured): generated on first start and kept, one document per key. The
//!   signing key is the newest one not yet scheduled to retire. [`KeyRing::rotate`]
//!   adds a new key and schedules every older one to retire once the tokens it
//!   signed can no longer be valid (access-token lifetime plus the reload
//!   interval plus clock leeway); keys past that time leave the JWKS and the
//!   store. The same rule on every instance makes racing rotations converge,
//!   and each instance reloads the ring periodically and whenever a token names
//!   a `kid` it does not know (at most once per `min_reload_interval`).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::keys::{JwkSet, KeyError, SigningKey, VerifyingKey};
use crate::{
    clock::SharedClock,
    store::{to_body, update, Change, Container, Query, SharedStore, StoreError},
};

/// How often and when the ring reloads and rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRingSettings {
    /// The container that holds store-managed keys (partition key `kid`), declared by the auth service.
    pub container: &'static Container,
    /// The longest an instance signs with a key without re-reading the store.
    pub reload_every: Duration,
    /// Unknown-`kid` reloads happen at most this often (a forged `kid` costs one read per interval).
    pub min_reload_interval: Duration,
    /// A store-managed key older than this is rotated at the next load.
    pub rotate_after: Duration,
    /// How long a replaced key keeps verifying: the access-token lifetime, the
    /// reload interval and leeway for clock skew.
    pub retire_grace: Duration,
}

impl KeyRingSettings {
    /// Settings for access tokens that live `access_ttl`, rotating keys every `rotate_after`.
    pub fn new(
        container: &'static Container,
        access_ttl: Duration,
        rotate_after: Duration,
    ) -> Self {
        let reload_every = Duration::from_secs(60);
        Self {
            container,
            reload_every,
            min_reload_interval: Duration::from_secs(1),
            rotate_after,
            retire_grace: access_ttl + reload_every * 2 + Duration::from_secs(60),
        }
    }
}

/// Why the ring cannot produce keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key material is unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Rotation asked of configured keys: rotate them in configuration.
    #[error(
        "the signing key comes from configuration; rotate it there (JOJOMART_JWT_SIGNING_KEY)"
    )]
    NotStoreManaged,
    /// Loading kept racing with other instances.
    #[error("could not settle on a signing key")]
    Unsettled,
}

/// One store-managed key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    kid: String,
    /// PKCS#8 DER, base64. Store-managed keys are for `dev`; configure a key in production.
    private_key: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    retires_at: Option<DateTime<Utc>>,
}

/// The keys loaded at one moment.
#[derive(Debug)]
struct KeySet {
    signing: SigningKey,
    /// Every key that verifies, signing key included, current first.
    verifying: Vec<VerifyingKey>,
    by_kid: HashMap<String, usize>,
    loaded: Instant,
}

impl KeySet {
    fn new(signing: SigningKey, others: Vec<VerifyingKey>) -> Self {
        let mut verifying = vec![signing.verifying_key().clone()];
        verifying.extend(others.into_iter().filter(|k| k.kid() != signing.kid()));
        let by_kid = verifying
            .iter()
            .enumerate()
            .map(|(i, k)| (k.kid().to_owned(), i))
            .collect();
        Self {
            signing,
            verifying,
            by_kid,
            loaded: Instant::now(),
        }
    }

    fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.by_kid.get(kid).and_then(|&i| self.verifying.get(i))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Configured,
    Store,
}

/// The signing keys in use; shared by the issuer and the verifier.
#[derive(Debug)]
pub struct KeyRing {
    source: Source,
    store: SharedStore,
    clock: SharedClock,
    settings: KeyRingSettings,
    current: RwLock<Arc<KeySet>>,
    last_reload: tokio::sync::Mutex<Instant>,
}

impl KeyRing {
    /// A ring of configured keys: `current` signs, `previous` still verify.
    pub fn configured(
        current: SigningKey,
        previous: Vec<VerifyingKey>,
        store: SharedStore,
        clock: SharedClock,
        settings: KeyRingSettings,
    ) -> Self {
        Self {
            source: Source::Configured,
            store,
            clock,
            settings,
            current: RwLock::new(Arc::new(KeySet::new(current, previous))),
            last_reload: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// A ring kept in the store: loads it, generating (or rotating) a key if needed.
    ///
    /// # Errors
    /// [`KeyRingError`] when the store fails or holds unusable keys.
    pub async fn from_store(
        store: SharedStore,
        clock: SharedClock,
        settings: KeyRingSettings,
    ) -> Result<Self, KeyRingError> {
        let set = load(&store, &clock, &settings).await?;
        Ok(Self {
            source: Source::Store,
            store,
            clock,
            settings,
            current: RwLock::new(Arc::new(set)),
            last_reload: tokio::sync::Mutex::new(Instant::now()),
        })
    }

    /// True when keys live in the store (and [`Self::rotate`] works).
    pub fn is_store_managed(&self) -> bool {
        self.source == Source::Store
    }

    fn snapshot(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the store unless another task did since `seen`; returns the fresh set.
    async fn reload(&self, seen: Instant) -> Result<Arc<KeySet>, KeyRingError> {
        let mut last = self.last_reload.lock().await;
        let current = self.snapshot();
        if current.loaded > seen {
            return Ok(current);
        }
        let set = Arc::new(load(&self.store, &self.clock, &self.settings).await?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = set.clone();
        *last = Instant::now();
        Ok(set)
    }

    async fn fresh(&self) -> Arc<KeySet> {
        let set = self.snapshot();
        if self.source == Source::Store && set.loaded.elapsed() >= self.settings.reload_every {
            match self.reload(set.loaded).await {
                Ok(set) => return set,
                Err(e) => {
                    tracing::warn!(error = %e, "could not reload signing keys; keeping the ones loaded")
                }
            }
        }
        set
    }

    /// The key that signs new tokens now.
    pub async fn signing_key(&self) -> SigningKey {
        self.fresh().await.signing.clone()
    }

    /// The key named `kid`, reloading once (rate-limited) when it is unknown.
    ///
    /// # Errors
    /// [`KeyRingError`] when that reload fails.
    pub async fn verifying_key(&self, kid: &str) -> Result<Option<VerifyingKey>, KeyRingError> {
        let set = self.snapshot();
        if let Some(key) = set.get(kid) {
            return Ok(Some(key.clone()));
        }
        if self.source != Source::Store {
            return Ok(None);
        }
        let since = self.last_reload.lock().await.elapsed();
        if since < self.settings.min_reload_interval {
            return Ok(None);
        }
        Ok(self.reload(set.loaded).await?.get(kid).cloned())
    }

    /// The public keys that verify our tokens, current first.
    pub async fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self
                .fresh()
                .await
                .verifying
                .iter()
                .map(VerifyingKey::jwk)
                .collect(),
        }
    }

    /// Adds a new signing key and schedules the older ones to retire; returns its `kid`.
    ///
    /// # Errors
    /// [`KeyRingError::NotStoreManaged`] for configured keys; store errors otherwise.
    pub async fn rotate(&self) -> Result<String, KeyRingError> {
        if self.source != Source::Store {
            return Err(KeyRingError::NotStoreManaged);
        }
        let kid = add_key(&self.store, &self.clock, &self.settings).await?;
        self.reload(Instant::now()).await?;
        Ok(kid)
    }
}

/// Reads every stored key.
async fn list(store: &SharedStore, container: &Container) -> Result<Vec<StoredKey>, KeyRingError> {
    let mut keys = Vec::new();
    let mut continuation = None;
    loop {
        let page = store
            .query(&Query::new(container).limit(1000).continuation(continuation))
            .await?;
        for doc in &page.items {
            keys.push(doc.parse::<StoredKey>()?);
        }
        match page.continuation {
            Some(c) => continuation = Some(c),
            None => return Ok(keys),
        }
    }
}

/// Loads the ring from the store, generating the first key or rotating a stale one.
async fn load(
    store: &SharedStore,
    clock: &SharedClock,
    settings: &KeyRingSettings,
) -> Result<KeySet, KeyRingError> {
    for _ in 0..3 {
        let now = clock.now();
        let stored = list(store, settings.container).await?;
        let (live, retired): (Vec<_>, Vec<_>) = stored
            .into_iter()
            .partition(|k| k.retires_at.is_none_or(|at| at > now));
        for gone in retired {
            // Best effort: a key past retirement verifies nothing any more.
            if let Err(e) = store
                .delete(settings.container, &gone.kid, &gone.kid, None)
                .await
            {
                tracing::info!(kid = %gone.kid, error = %e, "could not delete a retired signing key");
            }
        }
        let active = live
            .iter()
            .filter(|k| k.retires_at.is_none())
            .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        let rotate_after =
            chrono::Duration::from_std(settings.rotate_after).unwrap_or(chrono::Duration::MAX);
        match active {
            Some(active) if active.created_at + rotate_after > now => {
                let signing = decode(active)?;
                let others = live
                    .iter()
                    .filter(|k| k.kid != active.kid)
                    .map(|k| decode(k).map(|s| s.verifying_key().clone()))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(KeySet::new(signing, others));
            }
            _ => {
                add_key(store, clock, settings).await?;
            }
        }
    }
    Err(KeyRingError::Unsettled)
}

fn decode(stored: &StoredKey) -> Result<SigningKey, KeyRingError> {
    let der = STANDARD
        .decode(&stored.private_key)
        .map_err(|e| KeyError::Invalid(format!("stored key {}: {e}", stored.kid)))?;
    Ok(SigningKey::from_pkcs8_der(&der)?)
}

/// Creates a new key and schedules every older, unscheduled key to retire.
async fn add_key(
    store: &SharedStore,
    clock: &SharedClock,
    settings: &KeyRingSettings,
) -> Result<String, KeyRingError> {
    let key = SigningKey::generate()?;
    let now = clock.now();
    let stored = StoredKey {
        kid: key.kid().to_owned(),
        private_key: STANDARD.encode(key.pkcs8_der()),
        created_at: now,
        retires_at: None,
    };
    store
        .create(settings.container, key.kid(), key.kid(), to_body(&stored)?)
        .await?;
    tracing::info!(kid = key.kid(), "new access-token signing key");
    let retire_at = now
        + chrono::Duration::from_std(settings.retire_grace).unwrap_or(chrono::Duration::days(1));
    for older in list(store, settings.container).await? {
        if older.retires_at.is_some() || (older.created_at, &older.kid) >= (now, &stored.kid) {
            continue;
        }
        update::<StoredKey, KeyRingError, _>(
            store.as_ref(),
            settings.container,
            &older.kid,
            &older.kid,
            |current| match current {
                Some(mut k) if k.retires_at.is_none_or(|at| at > retire_at) => {
                    k.retires_at = Some(retire_at);
                    Ok(Change::Write(k))
                }
                _ => Ok(Change::Keep),
            },
        )
        .await?;
    }
    Ok(stored.kid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{clock::FakeClock, sqlite::Database};

    const KEYS: &Container = &Container::new("keys", "kid");

    async fn ring() -> (KeyRing, FakeClock, SharedStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let clock = FakeClock::new(Utc::now());
        let shared: SharedClock = Arc::new(clock.clone());
        let db = Database::open(&dir.path().join("k.db"), shared.clone()).unwrap();
        let store: SharedStore = Arc::new(db.store());
        let settings = KeyRingSettings::new(
            KEYS,
            Duration::from_secs(900),
            Duration::from_secs(90 * 86_400),
        );
        let ring = KeyRing::from_store(store.clone(), shared, settings)
            .await
            .unwrap();
        (ring, clock, store, dir)
    }

    #[tokio::test]
    async fn generates_once_and_reloads_the_same_key() {
        let (ring, clock, store, _dir) = ring().await;
        let kid = ring.signing_key().await.kid().to_owned();
        let again = KeyRing::from_store(store, Arc::new(clock), ring.settings)
            .await
            .unwrap();
        assert_eq!(again.signing_key().await.kid(), kid);
        assert_eq!(again.jwks().await.keys.len(), 1);
    }

    #[tokio::test]
    async fn rotation_keeps_the_old_key_until_its_tokens_expire() {
        let (ring, clock, store, _dir) = ring().await;
        let old = ring.signing_key().await.kid().to_owned();
        clock.advance(chrono::Duration::seconds(1));
        let new = ring.rotate().await.unwrap();
        assert_ne!(old, new);
        assert_eq!(ring.signing_key().await.kid(), new);
        let kids: Vec<String> = ring.jwks().await.keys.into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, [new.clone(), old.clone()]);
        assert!(ring.verifying_key(&old).await.unwrap().is_some());

        // past the grace period, another instance loading the ring drops it
        clock.advance(chrono::Duration::from_std(ring.settings.retire_grace).unwrap());
        let later = KeyRing::from_store(store, Arc::new(clock), ring.settings)
            .await
            .unwrap();
        let kids: Vec<String> = later.jwks().await.keys.into_iter().map(|k| k.kid).collect();
        assert_eq!(kids, [new]);
        assert!(later.verifying_key(&old).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_stale_key_is_rotated_at_load() {
        let (ring, clock, store, _dir) = ring().await;
        let old = ring.signing_key().await.kid().to_owned();
        clock.advance(chrono::Duration::days(91));
        let later = KeyRing::from_store(store, Arc::new(clock), ring.settings)
            .await
            .unwrap();
        assert_ne!(later.signing_key().await.kid(), old);
        assert!(
            later.verifying_key(&old).await.unwrap().is_some(),
            "still verifies during its grace"
        );
    }

    #[tokio::test]
    async fn configured_keys_do_not_rotate_in_the_store() {
        let (ring, clock, store, _dir) = ring().await;
        let key = SigningKey::generate().unwrap();
        let previous = SigningKey::generate().unwrap();
        let configured = KeyRing::configured(
            key.clone(),
            vec![previous.verifying_key().clone()],
            store,
            Arc::new(clock),
            ring.settings,
        );
        assert_eq!(configured.signing_key().await.kid(), key.kid());
        assert_eq!(configured.jwks().await.keys.len(), 2);
        assert!(matches!(
            configured.rotate().await,
            Err(KeyRingError::NotStoreManaged)
        ));
    }
}
