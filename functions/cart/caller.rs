//! Whose cart a request is about ([`CallerCart`]), and the anonymous cart ids
//! we hand out ([`AnonymousIds`]).
//!
//! With a bearer token the caller's cart is the user's. Without one it is the
//! anonymous cart named by `X-Cart-Id`, if that is an id we issued; otherwise
//! (no header, or an id we never issued) a new cart with a fresh id, which
//! every answer to an anonymous caller carries back in `X-Cart-Id`
//! ([`AnonymousCartId`]).
//!
//! An anonymous id is 16 random bytes and an HMAC-SHA256 tag of them (cut to
//! 16 bytes) under a key shared by every instance through the store, as 64
//! hex digits. So an id is unguessable (128 random bits), a client cannot
//! pick its own (a cart someone planted, or a user's cart key), and an id can
//! be recognised as ours without a read: `GET /api/cart` hands out a new id
//! without writing anything, and the first write under it creates the cart.
//! An id we issued whose cart expired, or was never written, names an empty cart.
//! Error answers carry no `X-Cart-Id`: they wrote nothing, and an id the
//! caller sent (if ours) still names its cart.

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, HeaderValue},
    response::{IntoResponseParts, ResponseParts},
};
use hmac::{Hmac, Mac};
use jojomart_shared::{domain::CartId, error::ApiError, store::StoreError};
use sha2::Sha256;

use super::{domain::CartOwner, Carts};
use crate::{
    http::{CartIdHeader, MaybeAuthenticated, CART_ID_HEADER},
    state::AppState,
};

/// The name of the shared secret that signs anonymous cart ids.
pub const ID_KEY_NAME: &str = "cart-id-key";
/// Random bytes in an anonymous id.
const RANDOM_BYTES: usize = 16;
/// Tag bytes in an anonymous id.
const TAG_BYTES: usize = 16;

/// Issues and recognises anonymous cart ids.
#[derive(Clone)]
pub struct AnonymousIds {
    key: Vec<u8>,
}

impl std::fmt::Debug for AnonymousIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnonymousIds(..)")
    }
}

impl AnonymousIds {
    /// Ids signed with `key` (at least 32 random bytes).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, random: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"jojomart anonymous cart id\0");
        mac.update(random);
        mac
    }

    /// A fresh id: 128 random bits and their tag.
    ///
    /// # Errors
    /// A 500 if the id does not parse (it always does).
    pub fn issue(&self) -> Result<CartId, ApiError> {
        let random: [u8; RANDOM_BYTES] = rand::random();
        let tag = self.mac(&random).finalize().into_bytes();
        let raw = format!("{}{}", hex::encode(random), hex::encode(&tag[..TAG_BYTES]));
        CartId::parse(&raw).map_err(|e| ApiError::internal(StoreError::Internal(e.0)))
    }

    /// True when we issued `id`.
    pub fn issued(&self, id: &CartId) -> bool {
        let raw = id.as_str();
        if raw.len() != 2 * (RANDOM_BYTES + TAG_BYTES)
            || !raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return false;
        }
        let Ok(bytes) = hex::decode(raw) else {
            return false;
        };
        let (random, tag) = bytes.split_at(RANDOM_BYTES);
        self.mac(random).verify_truncated_left(tag).is_ok()
    }
}

/// The cart a request works on: the signed-in user's, or an anonymous one.
/// A bad bearer token is still a 401; a missing or foreign `X-Cart-Id` is a new cart.
#[derive(Debug, Clone)]
pub struct CallerCart(pub CartOwner);

impl FromRequestParts<AppState> for CallerCart {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let MaybeAuthenticated(principal) =
            MaybeAuthenticated::from_request_parts(parts, state).await?;
        if let Some(principal) = principal {
            return Ok(Self(CartOwner::User(principal.user_id)));
        }
        let Ok(CartIdHeader(sent)) = CartIdHeader::from_request_parts(parts, state).await;
        let carts = state.handle::<Carts>();
        let ids = carts.ids().await?;
        let id = match sent {
            Some(id) if ids.issued(&id) => id,
            _ => ids.issue()?,
        };
        Ok(Self(CartOwner::Anonymous(id)))
    }
}

/// The `X-Cart-Id` answer header: the anonymous cart's id, nothing for a user's cart.
#[derive(Debug, Clone)]
pub struct AnonymousCartId(Option<CartId>);

impl AnonymousCartId {
    /// The header for `owner`'s cart.
    pub fn of(owner: &CartOwner) -> Self {
        Self(owner.anonymous_id().cloned())
    }
}

impl IntoResponseParts for AnonymousCartId {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if let Some(value) = self
            .0
            .and_then(|id| HeaderValue::from_str(id.as_str()).ok())
        {
            res.headers_mut().insert(CART_ID_HEADER, value);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_ids_are_recognised_and_others_are_not() {
        let ids = AnonymousIds::new(vec![1; 32]);
        let id = ids.issue().unwrap();
        assert_eq!(id.as_str().len(), 64);
        assert!(ids.issued(&id));
        assert_ne!(ids.issue().unwrap(), id, "random");
        assert!(
            !AnonymousIds::new(vec![2; 32]).issued(&id),
            "another key's id"
        );
        let mut tampered = id.as_str().to_owned().into_bytes();
        tampered[0] = if tampered[0] == b'0' { b'1' } else { b'0' };
        let tampered = CartId::parse(std::str::from_utf8(&tampered).unwrap()).unwrap();
        assert!(!ids.issued(&tampered));
        for foreign in [
            "user-1",
            &"0".repeat(64),
            &id.as_str().to_uppercase(),
            "abc",
        ] {
            assert!(!ids.issued(&CartId::parse(foreign).unwrap()), "{foreign}");
        }
    }
}
