//! Account mail the auth service asks for: `account.verification-requested`
//! and `account.password-reset-requested`. Auth produces them (staged beside
//! the hashed token it stores); the notifications service renders and sends
//! them. The plain token travels only here, to be put in the link: the store
//! holds its hash, and it is single use and short-lived.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::EventKind;
use crate::domain::UserId;

/// Someone registered (or asked again): mail them a link that verifies their email.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRequested {
    /// The account the token verifies.
    pub user_id: UserId,
    /// Where the mail goes.
    pub email: String,
    /// The account's display name, for the greeting.
    pub name: String,
    /// The single-use token the link carries (stored hashed by auth).
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

/// Someone asked to reset a password: mail them a link that sets a new one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequested {
    /// The account whose password the token resets.
    pub user_id: UserId,
    /// Where the mail goes.
    pub email: String,
    /// The account's display name, for the greeting.
    pub name: String,
    /// The single-use token the link carries (stored hashed by auth).
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

/// Debug without the token: these values end up in logs.
macro_rules! redacted_debug {
    ($ty:ident) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("user_id", &self.user_id)
                    .field("email", &"<redacted>")
                    .field("token", &"<redacted>")
                    .field("expires_at", &self.expires_at)
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(VerificationRequested);
redacted_debug!(PasswordResetRequested);

/// The `data` schema both account-mail events share.
fn token_mail_schema(what: &str) -> Value {
    json!({
        "type": "object",
        "required": ["userId", "email", "name", "token", "expiresAt"],
        "properties": {
            "userId": {"type": "string", "description": "the account the token is for"},
            "email": {"type": "string", "description": "where the mail goes"},
            "name": {"type": "string", "description": "the account's display name"},
            "token": {"type": "string", "description": format!("the single-use token that {what}")},
            "expiresAt": {"type": "string", "format": "date-time", "description": "when the token stops working"}
        }
    })
}

impl EventKind for VerificationRequested {
    const KIND: &'static str = "account.verification-requested";
    const VERSION: u32 = 1;

    fn data_schema() -> Value {
        token_mail_schema("verifies the email address")
    }
}

impl EventKind for PasswordResetRequested {
    const KIND: &'static str = "account.password-reset-requested";
    const VERSION: u32 = 1;

    fn data_schema() -> Value {
        token_mail_schema("sets a new password")
    }
}
