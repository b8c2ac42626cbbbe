//! Ids and counts that cross service boundaries: who a thing belongs to
//! ([`UserId`]), orders and carts ([`OrderId`], [`CartId`]), and the two kinds
//! of quantity ([`Quantity`] in a cart line, [`Stock`] on a shelf). Each is its
//! own type, so an order id cannot be passed where a user id is wanted.

use super::{string_newtype_serde, Invalid};

/// Checks an opaque id: 1 to 128 characters of `A-Z a-z 0-9 - _ . :`, so it is
/// safe as a document id and partition key on every adapter.
fn opaque_id(raw: &str, what: &str) -> Result<String, Invalid> {
    let ok = (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::new(format!("is not {what}")))
    }
}

macro_rules! opaque_id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Parses an id that came from outside (a token, a path, a header).
            ///
            /// # Errors
            /// [`Invalid`] for an empty, over-long or oddly-charactered id.
            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                opaque_id(raw, $what).map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        string_newtype_serde!($name);
    };
}

opaque_id_type!(
    /// A user's id: ours (a UUID) or an Entra ID object id.
    UserId,
    "a user id"
);
opaque_id_type!(
    /// An order's id.
    OrderId,
    "an order id"
);
opaque_id_type!(
    /// A cart's id: a user's id for their cart, or an unguessable id for an anonymous one.
    CartId,
    "a cart id"
);

/// How many of one product a cart line holds: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(u32);

impl Quantity {
    /// The most of one product a cart line may hold.
    pub const MAX: u32 = 99;

    /// Parses a line quantity.
    ///
    /// # Errors
    /// [`Invalid`] outside 1..=99.
    pub fn new(n: i64) -> Result<Self, Invalid> {
        match u32::try_from(n) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(Invalid::new(format!("must be between 1 and {}", Self::MAX))),
        }
    }

    /// The quantity as a number.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Units on the shelf (or held, or available): never negative, at most a billion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Stock(u32);

impl Stock {
    /// The largest stock level accepted.
    pub const MAX: u32 = 1_000_000_000;

    /// No units.
    pub const ZERO: Stock = Stock(0);

    /// Parses a stock level.
    ///
    /// # Errors
    /// [`Invalid`] when negative or above [`Stock::MAX`].
    pub fn new(n: i64) -> Result<Self, Invalid> {
        match u32::try_from(n) {
            Ok(n) if n <= Self::MAX => Ok(Self(n)),
            _ => Err(Invalid::new(format!("must be between 0 and {}", Self::MAX))),
        }
    }

    /// The level as a number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// This level less `n`, or `None` when that would go below zero.
    pub fn checked_sub(self, n: Stock) -> Option<Stock> {
        self.0.checked_sub(n.0).map(Stock)
    }

    /// This level plus `n`, or `None` past [`Stock::MAX`].
    pub fn checked_add(self, n: Stock) -> Option<Stock> {
        self.0
            .checked_add(n.0)
            .filter(|s| *s <= Self::MAX)
            .map(Stock)
    }
}

macro_rules! number_serde {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u32(self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = <i64 as serde::Deserialize>::deserialize(d)?;
                <$ty>::new(n).map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
number_serde!(Quantity);
number_serde!(Stock);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_what_is_unsafe_as_a_document_id() {
        assert!(UserId::parse("3f1c7a2e-0d5b-4c1e-9a7f-2b8d6e4c1a90").is_ok());
        for bad in ["", "a/b", "a b", "a?b", "a#b", "a\\b", &"x".repeat(129)] {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
        assert_ne!(OrderId::generate(), OrderId::generate());
    }

    #[test]
    fn quantities_and_stock_have_their_ranges() {
        assert!(Quantity::new(0).is_err());
        assert_eq!(Quantity::new(99).map(Quantity::get), Ok(99));
        assert!(Quantity::new(100).is_err());
        assert!(Stock::new(-1).is_err());
        assert_eq!(Stock::new(0), Ok(Stock::ZERO));
        assert!(Stock::new(i64::from(Stock::MAX) + 1).is_err());
        let five = Stock::new(5).unwrap();
        assert_eq!(five.checked_sub(Stock::new(6).unwrap()), None);
        assert_eq!(
            serde_json::from_str::<Quantity>("3")
                .map(Quantity::get)
                .ok(),
            Some(3)
        );
        assert!(serde_json::from_str::<Quantity>("120").is_err());
    }
}
