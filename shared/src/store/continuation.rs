//! Signed, query-bound continuation tokens, so a tampered or foreign cursor is refused.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Serialize};
use sha2::Sha256;

use super::StoreError;

/// Seals and opens continuation tokens with one secret key.
#[derive(Clone)]
pub struct TokenSealer {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSealer(..)")
    }
}

#[derive(Serialize, serde::Deserialize)]
struct Envelope<T> {
    q: String,
    s: T,
}

impl TokenSealer {
    /// A sealer using `key` (at least 32 random bytes, kept by the adapter).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// Seals `state` for the query with `fingerprint`.
    pub fn seal<T: Serialize>(&self, fingerprint: &str, state: &T) -> String {
        let payload = serde_json::to_vec(&Envelope {
            q: fingerprint.to_owned(),
            s: state,
        })
        .unwrap_or_default();
        let mac = self.mac(&payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// Opens a token sealed for the query with `fingerprint`.
    ///
    /// # Errors
    /// [`StoreError::InvalidContinuation`] when the token is malformed, was altered,
    /// or belongs to another query.
    pub fn open<T: DeserializeOwned>(
        &self,
        fingerprint: &str,
        token: &str,
    ) -> Result<T, StoreError> {
        let bad = || StoreError::InvalidContinuation;
        let (payload, mac) = token.split_once('.').ok_or_else(bad)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| bad())?;
        let mut check =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        check.update(&payload);
        check.verify_slice(&mac).map_err(|_| bad())?;
        let env: Envelope<T> = serde_json::from_slice(&payload).map_err(|_| bad())?;
        if env.q != fingerprint {
            return Err(bad());
        }
        Ok(env.s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = TokenSealer::new(vec![7; 32]);
        let t = s.seal("q1", &(5, "abc"));
        let back: (i32, String) = s.open("q1", &t).unwrap();
        assert_eq!(back, (5, "abc".to_owned()));
        assert!(s.open::<(i32, String)>("q2", &t).is_err(), "other query");
        let mut bytes = t.into_bytes();
        bytes[3] ^= 1;
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(
            s.open::<(i32, String)>("q1", &tampered).is_err(),
            "altered token"
        );
    }
}
