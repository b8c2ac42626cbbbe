//! Opaque refresh tokens: `<familyId>.<secret>`, where the secret is 256
//! random bits. The family id addresses the stored session (its partition);
//! only a SHA-256 of the secret is ever stored, which is enough for a value with
//! that much entropy (no salt or slow hash is needed to resist guessing).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A refresh token as handed to the client; `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    family_id: String,
    secret: String,
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("family_id", &self.family_id)
            .finish_non_exhaustive()
    }
}

/// A string that is not one of our refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed refresh token")]
pub struct MalformedRefreshToken;

impl RefreshToken {
    /// A new token in a new family.
    pub fn new_family() -> Self {
        Self::next_in(&uuid::Uuid::new_v4().simple().to_string())
    }

    /// A new token in an existing family (a rotation).
    pub fn next_in(family_id: &str) -> Self {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Self {
            family_id: family_id.to_owned(),
            secret: URL_SAFE_NO_PAD.encode(secret),
        }
    }

    /// Parses what a client sent back.
    ///
    /// # Errors
    /// [`MalformedRefreshToken`] unless it is `<32 hex>.<43 base64url>`.
    pub fn parse(raw: &str) -> Result<Self, MalformedRefreshToken> {
        let (family_id, secret) = raw.trim().split_once('.').ok_or(MalformedRefreshToken)?;
        let family_ok = family_id.len() == 32 && family_id.bytes().all(|b| b.is_ascii_hexdigit());
        let secret_ok = URL_SAFE_NO_PAD
            .decode(secret)
            .is_ok_and(|bytes| bytes.len() == 32);
        if family_ok && secret_ok {
            Ok(Self {
                family_id: family_id.to_ascii_lowercase(),
                secret: secret.to_owned(),
            })
        } else {
            Err(MalformedRefreshToken)
        }
    }

    /// The session family this token belongs to.
    pub fn family_id(&self) -> &str {
        &self.family_id
    }

    /// The hex SHA-256 of the secret: what is stored, and the token's document id.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.secret.as_bytes()))
    }

    /// The token text for the client.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.family_id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rotates_within_the_family() {
        let t = RefreshToken::new_family();
        let parsed = RefreshToken::parse(&t.expose()).unwrap();
        assert_eq!(parsed, t);
        assert_eq!(parsed.hash(), t.hash());
        let next = RefreshToken::next_in(t.family_id());
        assert_eq!(next.family_id(), t.family_id());
        assert_ne!(next.hash(), t.hash());
        assert!(!format!("{t:?}").contains(&t.expose()));
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "abc",
            "abc.def",
            &format!("{}.x", "a".repeat(32)),
            "zz.zz",
        ] {
            assert!(RefreshToken::parse(bad).is_err(), "{bad:?}");
        }
    }
}
