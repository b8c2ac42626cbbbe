//! Review values: the star rating, title and body.

use super::{string_newtype_serde, Invalid};

/// A star rating from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    /// Parses a rating.
    ///
    /// # Errors
    /// [`Invalid`] outside 1..=5.
    pub fn new(stars: i64) -> Result<Self, Invalid> {
        match u8::try_from(stars) {
            Ok(s @ 1..=5) => Ok(Self(s)),
            _ => Err(Invalid::new("must be a whole number from 1 to 5")),
        }
    }

    /// The number of stars.
    pub fn stars(self) -> u8 {
        self.0
    }
}

impl serde::Serialize for Rating {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Rating {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <i64 as serde::Deserialize>::deserialize(d)?;
        Rating::new(raw).map_err(serde::de::Error::custom)
    }
}

/// A review title: trimmed, 1 to 120 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewTitle(String);

impl ReviewTitle {
    /// The longest title, in characters.
    pub const MAX_CHARS: usize = 120;

    /// Parses a title.
    ///
    /// # Errors
    /// [`Invalid`] when empty after trimming or too long.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        super::trimmed_text(raw, true, Self::MAX_CHARS).map(Self)
    }

    /// The title as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(ReviewTitle);

/// A review body: trimmed, at most 5,000 characters (may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewBody(String);

impl ReviewBody {
    /// The longest body, in characters.
    pub const MAX_CHARS: usize = 5_000;

    /// Parses a body.
    ///
    /// # Errors
    /// [`Invalid`] when too long.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        super::trimmed_text(raw, false, Self::MAX_CHARS).map(Self)
    }

    /// The body as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
string_newtype_serde!(ReviewBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five() {
        assert!(Rating::new(0).is_err());
        assert!(Rating::new(6).is_err());
        assert!(Rating::new(-1).is_err());
        assert_eq!(Rating::new(5).unwrap().stars(), 5);
    }

    #[test]
    fn titles_and_bodies_are_bounded() {
        assert!(ReviewTitle::parse(&"x".repeat(120)).is_ok());
        assert!(ReviewTitle::parse(&"x".repeat(121)).is_err());
        assert!(ReviewTitle::parse(" ").is_err());
        assert!(ReviewBody::parse("").is_ok());
        assert!(ReviewBody::parse(&"x".repeat(5001)).is_err());
    }
}
