//! Stripe's webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>` where
//! the hex is HMAC-SHA256, keyed with the endpoint's signing secret, of
//! `"<t>.<raw body>"`. A header may carry several `v1` entries (while a secret
//! is rolled) and other schemes (`v0`), which are ignored. The timestamp is
//! signed too, so a captured delivery cannot be replayed after the tolerance.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now (Stripe's default, 5 minutes).
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// The header that carries the signature.
pub const HEADER: &str = "stripe-signature";

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header has no `t=` timestamp that is a number.
    #[error("the signature header has no timestamp")]
    NoTimestamp,
    /// The header has no `v1=` signature.
    #[error("the signature header has no v1 signature")]
    NoSignature,
    /// No `v1` signature matches the body.
    #[error("no signature matches the payload")]
    Mismatch,
    /// The timestamp is further from now than the tolerance.
    #[error(
        "the signature's timestamp is {age_secs} s away from now (tolerance {tolerance_secs} s)"
    )]
    Stale {
        /// How far from now, in seconds.
        age_secs: i64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex `v1` signature of `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// The `Stripe-Signature` header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

/// Checks a `Stripe-Signature` header against the raw body: one `v1` entry must
/// match (compared in constant time), and its timestamp must be within
/// `tolerance` of `now` (Unix seconds) either way.
///
/// # Errors
/// [`SignatureError`] saying what is wrong.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::NoTimestamp)?;
    if candidates.is_empty() {
        return Err(SignatureError::NoSignature);
    }
    let matches = candidates.iter().any(|candidate| {
        hex::decode(candidate)
            .is_ok_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
    });
    if !matches {
        return Err(SignatureError::Mismatch);
    }
    let age = now.saturating_sub(timestamp);
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            age_secs: age,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test","object":"event"}"#;
    const T: i64 = 1_700_000_000;
    /// printf '%s' '1700000000.{"id":"evt_test","object":"event"}' | openssl dgst -sha256 -hmac 'whsec_test_secret'
    const V1: &str = "8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724";

    #[test]
    fn signs_the_fixed_vector() {
        assert_eq!(signature(SECRET, T, BODY), V1);
        assert_eq!(sign(SECRET, T, BODY), format!("t={T},v1={V1}"));
        // printf '%s' '1492774577.{"id":"evt_1"}' | openssl dgst -sha256 -hmac 'whsec_other'
        assert_eq!(
            signature("whsec_other", 1_492_774_577, br#"{"id":"evt_1"}"#),
            "7de382fc9d50efc4cbab2272c65bd6bca85a6eb696ebf6d9dfed06b24d0a3ca8"
        );
    }

    #[test]
    fn verifies_the_fixed_vector_within_tolerance() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(verify(SECRET, &header, BODY, T, TOLERANCE), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T + 300, TOLERANCE), Ok(()));
        assert_eq!(
            verify(SECRET, &header, BODY, T + 301, TOLERANCE),
            Err(SignatureError::Stale {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(matches!(
            verify(SECRET, &header, BODY, T - 301, TOLERANCE),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn any_matching_v1_entry_passes_and_other_schemes_are_ignored() {
        let header = format!(
            "t={T},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39,v1={},v1={V1}",
            "0".repeat(64)
        );
        assert_eq!(verify(SECRET, &header, BODY, T, TOLERANCE), Ok(()));
    }

    #[test]
    fn forged_and_malformed_headers_are_refused() {
        let header = format!("t={T},v1={V1}");
        let cases = [
            (
                verify("whsec_wrong", &header, BODY, T, TOLERANCE),
                SignatureError::Mismatch,
            ),
            (
                verify(
                    SECRET,
                    &header,
                    br#"{"id":"evt_test","object":"evil"}"#,
                    T,
                    TOLERANCE,
                ),
                SignatureError::Mismatch,
            ),
            (
                // The timestamp is part of what is signed.
                verify(SECRET, &format!("t={},v1={V1}", T + 1), BODY, T, TOLERANCE),
                SignatureError::Mismatch,
            ),
            (
                verify(SECRET, &format!("v1={V1}"), BODY, T, TOLERANCE),
                SignatureError::NoTimestamp,
            ),
            (
                verify(SECRET, &format!("t={T}"), BODY, T, TOLERANCE),
                SignatureError::NoSignature,
            ),
            (
                verify(SECRET, &format!("t={T},v1=zz"), BODY, T, TOLERANCE),
                SignatureError::Mismatch,
            ),
            (
                verify(SECRET, "", BODY, T, TOLERANCE),
                SignatureError::NoTimestamp,
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, Err(want));
        }
    }
}
