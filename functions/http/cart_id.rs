//! The `X-Cart-Id` request header: how an anonymous shopper names their cart.
//! Read here, once, by the cart routes and by sign-in (which hands the id on
//! to whoever listens, so the cart can be merged); what an id may be and
//! whether it is one we issued is the cart service's business.

use std::convert::Infallible;

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, HeaderName},
};
use jojomart_shared::domain::CartId;

/// The header that names an anonymous cart, in requests and in answers.
pub const CART_ID_HEADER: HeaderName = HeaderName::from_static("x-cart-id");

/// The cart id the caller sent in `X-Cart-Id`; `None` when absent or not even
/// shaped like an id (a malformed header is no cart, never an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartIdHeader(pub Option<CartId>);

impl<S: Send + Sync> FromRequestParts<S> for CartIdHeader {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let sent = parts
            .headers
            .get(&CART_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|raw| CartId::parse(raw.trim()).ok());
        Ok(Self(sent))
    }
}
