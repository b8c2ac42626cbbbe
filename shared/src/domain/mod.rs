//! Domain types parsed at the edge ("parse, don't validate"): a value of one of
//! these types is valid by construction, so code past the handler never checks
//! again. Each has private fields, a `parse`/`new` that returns [`Invalid`], and
//! serde impls that go through the same parser.

pub mod catalog;
pub mod ids;
pub mod money;
pub mod review;

pub use catalog::{CategorySlug, Description, ImageUrl, ProductId, ProductName, Sku};
pub use ids::{CartId, OrderId, Quantity, Stock, UserId};
pub use money::{Currency, Money};
pub use review::{Rating, ReviewBody, ReviewTitle};

/// Why a raw value is not a valid domain value; the message is for a human and
/// names no field (the caller knows which field it parsed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// A reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// Trims free text and checks its length in characters: the one rule every
/// text field (names, titles, descriptions, bodies) shares.
///
/// # Errors
/// [`Invalid`] when empty (and `required`) or longer than `max_chars`.
pub(crate) fn trimmed_text(raw: &str, required: bool, max_chars: usize) -> Result<String, Invalid> {
    let text = raw.trim();
    if required && text.is_empty() {
        return Err(Invalid::new("must not be empty"));
    }
    if text.chars().count() > max_chars {
        return Err(Invalid::new(format!(
            "must be at most {max_chars} characters"
        )));
    }
    Ok(text.to_owned())
}

/// [`trimmed_text`] for one-line text (names, address lines): no control
/// characters either. The one rule every name follows.
///
/// # Errors
/// [`Invalid`] when empty (and `required`), too long, or holding a control character.
pub fn single_line_text(raw: &str, required: bool, max_chars: usize) -> Result<String, Invalid> {
    let text = trimmed_text(raw, required, max_chars)?;
    if text.chars().any(char::is_control) {
        return Err(Invalid::new("must not contain control characters"));
    }
    Ok(text)
}

/// Implements `Serialize` as the inner string and `Deserialize` through `parse`.
macro_rules! string_newtype_serde {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                <$ty>::parse(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
}
pub(crate) use string_newtype_serde;

/// A person's display name: one line, trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name, trimming surrounding whitespace.
    ///
    /// # Errors
    /// [`Invalid`] when empty, too long or holding control characters.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        single_line_text(raw, true, Self::MAX_CHARS).map(Self)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(DisplayName);
