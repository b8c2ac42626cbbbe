//! Email addresses as account names: trimmed, lower-cased and checked once at
//! the edge, so two spellings of one address can never be two accounts.

use serde::{Deserialize, Serialize};

/// The longest address we accept (RFC 5321's path limit).
const MAX_LEN: usize = 254;
/// The longest local part (RFC 5321).
const MAX_LOCAL: usize = 64;

/// A normalised email address (trimmed, lower-case, `local@domain.tld`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

/// Why a string is not an email address we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid email address: {0}")]
pub struct EmailError(&'static str);

impl Email {
    /// Normalises and checks an address.
    ///
    /// # Errors
    /// [`EmailError`] saying which rule the address breaks.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() || email.len() > MAX_LEN {
            return Err(EmailError("it must be 1 to 254 characters long"));
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError("it has no `@`"))?;
        if local.is_empty() || local.len() > MAX_LOCAL {
            return Err(EmailError(
                "the part before `@` must be 1 to 64 characters long",
            ));
        }
        let local_ok = local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(EmailError(
                "the part before `@` has characters that are not allowed",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(EmailError("the domain must be like `example.com`"));
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, EmailError> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@@example.com",
            "ada@-example.com",
            "ada..b@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
