//! `user.erasure-requested`: a closed account's personal data must go from
//! every service. The users service produces it; every service that holds
//! personal data acts on it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::EventKind;
use crate::domain::UserId;

/// A user closed their account; every service erases (or anonymises) what it
/// holds about them. Names the user by id only: no email or other personal
/// data travels in the queue (or lingers in its poison twin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureRequested {
    /// The user whose data goes.
    pub user_id: UserId,
}

impl EventKind for ErasureRequested {
    const KIND: &'static str = "user.erasure-requested";
    const VERSION: u32 = 1;

    fn data_schema() -> Value {
        json!({
            "type": "object",
            "required": ["userId"],
            "properties": {
                "userId": {
                    "description": "The id of the user whose data is erased.",
                    "type": "string"
                }
            }
        })
    }
}
