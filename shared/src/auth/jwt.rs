//! Our access tokens: EdDSA-signed JWTs (`typ: at+jwt`, RFC 9068) with
//! `sub, email, roles, iss, aud, exp, iat, jti` and the signing key's `kid`.
//!
//! Verification pins everything: the algorithm is EdDSA and nothing else (so
//! `alg: none` and HS256-with-the-public-key are refused before any key is
//! touched), the key is looked up by `kid` among our own, and `iss`, `aud` and
//! `exp` must match. Expiry is checked against the injected clock, not the
//! system time, so tests can move it.

use crate::domain::UserId;
use std::{collections::HashSet, time::Duration};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{
    keys::{SigningKey, VerifyingKey},
    AuthError, Principal, Role,
};

/// The `typ` header of our access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Clock skew tolerated between instances when checking `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of one of our access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: UserId,
    /// The user's email.
    pub email: String,
    /// The user's roles.
    pub roles: Vec<Role>,
    /// Who issued it.
    pub iss: String,
    /// Who it is for.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// A unique id per token.
    pub jti: String,
    /// Issue time in milliseconds since the epoch: finer than `iat`, so a
    /// revocation in the same second as a sign-in tells the two apart.
    /// Absent in tokens signed before it existed (read as `iat` * 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<i64>,
}

impl AccessClaims {
    /// The caller these claims describe.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.sub.clone(),
            email: self.email.clone(),
            roles: self.roles.clone(),
        }
    }

    /// When the token was issued, in milliseconds since the epoch.
    pub fn issued_at_ms(&self) -> i64 {
        self.iat_ms.unwrap_or(self.iat.saturating_mul(1000))
    }
}

/// Who issues our tokens, for whom, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The `iss` we write and require.
    pub issuer: String,
    /// The `aud` we write and require.
    pub audience: String,
    /// How long an access token lives.
    pub ttl: Duration,
}

impl TokenSettings {
    /// Claims for a user's new access token, issued at `now`.
    pub fn claims_for(&self, principal: &Principal, now: DateTime<Utc>) -> AccessClaims {
        let iat = now.timestamp();
        AccessClaims {
            sub: principal.user_id.clone(),
            email: principal.email.clone(),
            roles: principal.roles.clone(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: iat + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iat,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat_ms: Some(now.timestamp_millis()),
        }
    }

    /// The jsonwebtoken validation for our tokens: EdDSA only, our `iss` and
    /// `aud`; time claims are checked by [`check_times`] on the injected clock.
    pub fn validation(&self) -> Validation {
        let mut v = Validation::new(Algorithm::EdDSA);
        v.algorithms = vec![Algorithm::EdDSA];
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<HashSet<_>>();
        v
    }
}

/// Signs claims with a key, naming the key in the header.
///
/// # Errors
/// [`AuthError::InvalidToken`] only if serialization fails (it does not for these claims).
pub fn sign(key: &SigningKey, claims: &AccessClaims) -> Result<String, AuthError> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid().to_owned());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key())
        .map_err(|e| AuthError::InvalidToken(e.to_string()))
}

/// Verifies one of our tokens against the key its header named.
///
/// # Errors
/// [`AuthError::InvalidToken`] for a bad signature, another algorithm or
/// `typ`, a wrong `iss`/`aud`, or an expired or future-dated token.
pub fn verify(
    token: &str,
    key: &VerifyingKey,
    validation: &Validation,
    now: DateTime<Utc>,
) -> Result<AccessClaims, AuthError> {
    let data = jsonwebtoken::decode::<AccessClaims>(token, key.decoding_key(), validation)
        .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
    if data.header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(AuthError::InvalidToken("not an access token (typ)".into()));
    }
    check_times(data.claims.exp, Some(data.claims.iat), None, now)?;
    Ok(data.claims)
}

/// Checks `exp` (and `iat`/`nbf` when present) against `now`, with [`LEEWAY_SECS`].
///
/// # Errors
/// [`AuthError::InvalidToken`] for an expired or not-yet-valid token.
pub fn check_times(
    exp: i64,
    iat: Option<i64>,
    nbf: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let now = now.timestamp();
    if exp + LEEWAY_SECS <= now {
        return Err(AuthError::InvalidToken("expired".into()));
    }
    if iat.is_some_and(|iat| iat > now + LEEWAY_SECS)
        || nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS)
    {
        return Err(AuthError::InvalidToken("not valid yet".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TokenSettings {
        TokenSettings {
            issuer: "jojomart".into(),
            audience: "jojomart-api".into(),
            ttl: Duration::from_secs(900),
        }
    }

    fn alice() -> Principal {
        Principal {
            user_id: UserId::parse("u-1").unwrap(),
            email: "alice@example.com".into(),
            roles: vec![Role::Customer],
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let key = SigningKey::generate().unwrap();
        let s = settings();
        let now = Utc::now();
        let claims = s.claims_for(&alice(), now);
        assert_eq!(claims.exp - claims.iat, 900);
        let token = sign(&key, &claims).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let got = verify(&token, key.verifying_key(), &s.validation(), now).unwrap();
        assert_eq!(got.principal(), alice());
        let later = now + chrono::Duration::seconds(900 + LEEWAY_SECS);
        assert!(verify(&token, key.verifying_key(), &s.validation(), later).is_err());
    }

    #[test]
    fn another_key_or_audience_is_refused() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let s = settings();
        let now = Utc::now();
        let token = sign(&key, &s.claims_for(&alice(), now)).unwrap();
        assert!(verify(&token, other.verifying_key(), &s.validation(), now).is_err());
        let mut claims = s.claims_for(&alice(), now);
        claims.aud = "someone-else".into();
        let token = sign(&key, &claims).unwrap();
        assert!(verify(&token, key.verifying_key(), &s.validation(), now).is_err());
    }
}
