//! Passwords: the [`Password`] input (8 to 128 characters, never printed) and
//! argon2id hashing with configurable cost.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool behind
//! semaphores (each hash holds `memory_kib` of RAM), one per share so that a
//! flood of one kind cannot starve the other: checks (logins) get as many
//! permits as there are cores, new hashes (registrations, password changes)
//! half that, at least one. On 2 cores: 2 + 1, so at most 3 hashes run at
//! once and a login never waits behind a registration.
//! [`PasswordHasher::verify_dummy`]
//! does the same work as a real check, so a login for an unknown email takes
//! as long as one with a wrong password.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString},
    Algorithm, Argon2, Params, Version,
};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

/// Fewest characters a password may have.
pub const MIN_CHARS: usize = 8;
/// Most characters a password may have (bounds the hashing input).
pub const MAX_CHARS: usize = 128;

/// A password that meets the length rules; `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks a new password's length (in characters, not bytes).
    ///
    /// # Errors
    /// [`PasswordError::TooShort`] or [`PasswordError::TooLong`].
    pub fn parse(raw: String) -> Result<Self, PasswordError> {
        let n = raw.chars().count();
        if n < MIN_CHARS {
            Err(PasswordError::TooShort)
        } else if n > MAX_CHARS {
            Err(PasswordError::TooLong)
        } else {
            Ok(Self(raw))
        }
    }

    /// The password itself, for the hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The argon2id cost parameters (OWASP's recommendation by default: 19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory per hash, in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordParams {
    /// The argon2 parameters these stand for.
    ///
    /// # Errors
    /// [`PasswordError::Params`] when argon2 refuses them (e.g. memory below 8 KiB per lane).
    pub fn to_argon2(self) -> Result<Params, PasswordError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| PasswordError::Params(e.to_string()))
    }
}

/// What can go wrong with passwords.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("must be at least {MIN_CHARS} characters long")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("must be at most {MAX_CHARS} characters long")]
    TooLong,
    /// The cost parameters are not usable.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// Hashing failed (or its worker was lost).
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Hashes and checks passwords with argon2id; cheap to clone.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    params: PasswordParams,
    checks: Arc<Semaphore>,
    hashes: Arc<Semaphore>,
    hashed: Arc<AtomicU64>,
    dummy: Arc<OnceCell<String>>,
}

/// Which permits a piece of hashing work takes.
#[derive(Debug, Clone, Copy)]
enum Share {
    /// Checking a password (logins).
    Check,
    /// Making a new hash (registrations, password changes).
    Hash,
}

/// Every permit of the new-hash share, held: while it lives no new hash
/// starts (for tests and benchmarks showing that checks go on regardless).
#[derive(Debug)]
pub struct HashShareHold(#[allow(dead_code)] OwnedSemaphorePermit);

impl PasswordHasher {
    /// A hasher with the given cost: as many password checks at once as
    /// there are cores, and half as many new hashes (at least one), each
    /// share with its own permits.
    ///
    /// # Errors
    /// [`PasswordError::Params`] for unusable parameters.
    pub fn new(params: PasswordParams) -> Result<Self, PasswordError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            argon2,
            params,
            checks: Arc::new(Semaphore::new(cores)),
            hashes: Arc::new(Semaphore::new((cores / 2).max(1))),
            hashed: Arc::new(AtomicU64::new(0)),
            dummy: Arc::new(OnceCell::new()),
        })
    }

    /// How many new hashes this hasher has made (registrations, rehashes);
    /// lets tests see that a refused registration cost no hash.
    pub fn hashes_made(&self) -> u64 {
        self.hashed.load(Ordering::Relaxed)
    }

    /// Takes every permit of the new-hash share and keeps them until the
    /// hold is dropped; waits for running hashes to finish first.
    pub async fn hold_hash_share(&self) -> HashShareHold {
        let all = u32::try_from(self.hashes.available_permits())
            .unwrap_or(1)
            .max(1);
        HashShareHold(
            self.hashes
                .clone()
                .acquire_many_owned(all)
                .await
                .expect("the semaphore is never closed"),
        )
    }

    /// The cost this hasher uses for new hashes.
    pub fn params(&self) -> PasswordParams {
        self.params
    }

    /// Hashes a password with a fresh random salt, as a PHC string.
    ///
    /// # Errors
    /// [`PasswordError::Hash`] if hashing fails.
    pub async fn hash(&self, password: &Password) -> Result<String, PasswordError> {
        self.hash_with(Share::Hash, password).await
    }

    async fn hash_with(&self, share: Share, password: &Password) -> Result<String, PasswordError> {
        let argon2 = self.argon2.clone();
        let password = password.expose().to_owned();
        if matches!(share, Share::Hash) {
            self.hashed.fetch_add(1, Ordering::Relaxed);
        }
        self.blocking(share, move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
    }

    /// True when `candidate` matches the stored PHC hash (a malformed hash never matches).
    ///
    /// # Errors
    /// [`PasswordError::Hash`] if the worker was lost.
    pub async fn verify(&self, candidate: &str, phc: &str) -> Result<bool, PasswordError> {
        let argon2 = self.argon2.clone();
        let candidate = candidate.to_owned();
        let phc = phc.to_owned();
        self.blocking(Share::Check, move || {
            Ok(PasswordHash::new(&phc)
                .map(|hash| argon2.verify_password(candidate.as_bytes(), &hash).is_ok())
                .unwrap_or(false))
        })
        .await
    }

    /// Does the work of [`Self::verify`] against a hash no password matches, so
    /// an unknown account costs what a wrong password costs. Always `false`.
    ///
    /// # Errors
    /// [`PasswordError::Hash`] if hashing fails.
    pub async fn verify_dummy(&self, candidate: &str) -> Result<bool, PasswordError> {
        let dummy = self
            .dummy
            .get_or_try_init(|| async {
                let mut random = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
                self.hash_with(Share::Check, &Password(hex::encode(random)))
                    .await
            })
            .await?
            .clone();
        self.verify(candidate, &dummy).await.map(|_| false)
    }

    /// True when a stored hash was made with other parameters than the current
    /// ones (or another algorithm), so it should be rehashed at the next login.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(hash) = PasswordHash::new(phc) else {
            return true;
        };
        if hash.algorithm != Algorithm::Argon2id.ident() {
            return true;
        }
        match Params::try_from(&hash) {
            Ok(p) => {
                p.m_cost() != self.params.memory_kib
                    || p.t_cost() != self.params.iterations
                    || p.p_cost() != self.params.parallelism
            }
            Err(_) => true,
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        share: Share,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permits = match share {
            Share::Check => &self.checks,
            Share::Hash => &self.hashes,
        };
        let _permit = permits
            .acquire()
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn length_rules_count_characters() {
        assert_eq!(
            Password::parse("short".into()).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(
            Password::parse("ééééééé".into()).is_err(),
            "7 characters, 14 bytes"
        );
        assert!(Password::parse("éééééééé".into()).is_ok());
        assert_eq!(
            Password::parse("x".repeat(129)).unwrap_err(),
            PasswordError::TooLong
        );
        assert!(Password::parse("x".repeat(128)).is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("hunter22".into()).unwrap()),
            "Password(<redacted>)"
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_differ_by_salt() {
        let hasher = cheap();
        let pw = Password::parse("correct horse".into()).unwrap();
        let a = hasher.hash(&pw).await.unwrap();
        let b = hasher.hash(&pw).await.unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert!(hasher.verify("correct horse", &a).await.unwrap());
        assert!(!hasher.verify("wrong horse", &a).await.unwrap());
        assert!(!hasher.verify("correct horse", "not a hash").await.unwrap());
        assert!(!hasher.verify_dummy("correct horse").await.unwrap());
        assert!(!hasher.needs_rehash(&a));
        let stronger = PasswordHasher::new(PasswordParams::default()).unwrap();
        assert!(stronger.needs_rehash(&a));
    }

    #[tokio::test]
    async fn checks_go_on_while_the_hash_share_is_held() {
        let hasher = cheap();
        let phc = hasher
            .hash(&Password::parse("correct horse".into()).unwrap())
            .await
            .unwrap();
        assert_eq!(hasher.hashes_made(), 1);
        let hold = hasher.hold_hash_share().await;
        let blocked = {
            let hasher = hasher.clone();
            tokio::spawn(async move {
                hasher
                    .hash(&Password::parse("another one".into()).unwrap())
                    .await
            })
        };
        assert!(hasher.verify("correct horse", &phc).await.unwrap());
        assert!(
            !blocked.is_finished(),
            "no new hash while the share is held"
        );
        drop(hold);
        assert!(blocked.await.unwrap().is_ok());
    }

    #[test]
    fn owasp_defaults() {
        let p = PasswordParams::default();
        assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19456, 2, 1));
        assert!(PasswordParams { memory_kib: 1, ..p }.to_argon2().is_err());
    }
}
