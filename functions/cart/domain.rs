//! The cart's own types: whose cart it is ([`CartOwner`]), the quantity a
//! `PATCH` asks for ([`NewQuantity`]), and what can go wrong ([`CartError`],
//! mapped to a status in one place).

use jojomart_shared::{
    domain::{CartId, Currency, Invalid, Quantity, UserId},
    error::ApiError,
    store::StoreError,
};

/// What a user's cart key starts with; an anonymous id (64 hex digits) never does.
const USER_PREFIX: &str = "user-";

/// Whose cart a request works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CartOwner {
    /// A signed-in user's cart, kept until the account goes.
    User(UserId),
    /// An anonymous cart named by `X-Cart-Id`, which expires after 30 days idle.
    Anonymous(CartId),
}

impl CartOwner {
    /// The cart's key: its partition key in `carts` and the `id` the API shows.
    /// A user's cart is `user-<userId>`; an anonymous cart is its `X-Cart-Id`.
    pub fn key(&self) -> String {
        match self {
            Self::User(user) => format!("{USER_PREFIX}{user}"),
            Self::Anonymous(id) => id.as_str().to_owned(),
        }
    }

    /// Who analytics counts this cart's adds for: the user, or the anonymous cart.
    pub fn visitor(&self) -> crate::analytics::Visitor {
        match self {
            Self::User(user) => crate::analytics::Visitor::User(user.clone()),
            Self::Anonymous(id) => crate::analytics::Visitor::Cart(id.clone()),
        }
    }

    /// The id to answer in `X-Cart-Id`: an anonymous cart's, `None` for a user's.
    pub fn anonymous_id(&self) -> Option<&CartId> {
        match self {
            Self::User(_) => None,
            Self::Anonymous(id) => Some(id),
        }
    }
}

/// The quantity `PATCH /api/cart/items/{productId}` sets: 0 removes the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewQuantity {
    /// Take the line out of the cart.
    Remove,
    /// Hold exactly this many.
    Set(Quantity),
}

impl NewQuantity {
    /// Parses a requested quantity, 0 to 99.
    ///
    /// # Errors
    /// [`Invalid`] outside 0..=99.
    pub fn parse(n: i64) -> Result<Self, Invalid> {
        if n == 0 {
            return Ok(Self::Remove);
        }
        Quantity::new(n)
            .map(Self::Set)
            .map_err(|_| Invalid::new(format!("must be between 0 and {}", Quantity::MAX)))
    }
}

/// Why a cart change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// The product is unknown or deleted. 404.
    #[error("no such product")]
    UnknownProduct,
    /// The cart has no line for this product. 404.
    #[error("this product is not in the cart")]
    NotInCart,
    /// The line would hold more than is available. 409.
    #[error("only {available} available")]
    Insufficient {
        /// Units available now.
        available: i64,
    },
    /// The line would hold more than [`Quantity::MAX`]. 409.
    #[error("a cart line holds at most {} units", Quantity::MAX)]
    LineFull,
    /// The product is priced in another currency than the cart's lines. 409.
    #[error("this cart is priced in {cart}; a product priced in {product} cannot join it")]
    OtherCurrency {
        /// The currency of the cart's lines.
        cart: Currency,
        /// The product's currency.
        product: Currency,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CartError> for ApiError {
    fn from(e: CartError) -> Self {
        match e {
            CartError::UnknownProduct | CartError::NotInCart => ApiError::NotFound(e.to_string()),
            CartError::Insufficient { .. }
            | CartError::LineFull
            | CartError::OtherCurrency { .. } => ApiError::Conflict(e.to_string()),
            CartError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_never_share_a_key() {
        let user = CartOwner::User(UserId::parse("u1").unwrap());
        assert_eq!(user.key(), "user-u1");
        assert_eq!(user.anonymous_id(), None);
        let id = CartId::parse(&"a".repeat(64)).unwrap();
        let anonymous = CartOwner::Anonymous(id.clone());
        assert_eq!(anonymous.key(), "a".repeat(64));
        assert_eq!(anonymous.anonymous_id(), Some(&id));
    }

    #[test]
    fn a_patch_quantity_is_0_to_99() {
        assert_eq!(NewQuantity::parse(0), Ok(NewQuantity::Remove));
        assert_eq!(
            NewQuantity::parse(99),
            Ok(NewQuantity::Set(Quantity::new(99).unwrap()))
        );
        for bad in [-1, 100, i64::MAX] {
            assert!(NewQuantity::parse(bad).is_err(), "{bad}");
        }
    }
}
