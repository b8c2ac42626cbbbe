//! Events: the one versioned envelope every cross-service message travels in,
//! and the [`outbox`] that carries it from a store batch to a queue.
//!
//! # The envelope
//!
//! Every event is a JSON object `{id, kind, version, occurredAt, data}`:
//! `id` is a UUID chosen once by the producer and kept through every retry and
//! redelivery, so consumers deduplicate by it (they record their effect under a
//! deterministic id derived from it); `kind` is a dotted lowercase name,
//! `<service-noun>.<what-happened>` (`user.erasure-requested`, `order.placed`);
//! `version` is the schema version of `data` for that kind, starting at 1;
//! `occurredAt` is an RFC 3339 UTC time with microseconds; `data` is an object
//! whose shape is fixed by `kind` and `version` and published as a JSON Schema
//! (draft 2020-12) by [`EventKind::schema`]. Fields may be added to `data`
//! without a new version (readers ignore fields they do not know); removing or
//! changing the meaning of one takes a new version, which readers built for an
//! older one refuse ([`EventError::NewerVersion`]) rather than misread. Events
//! are delivered at least once and in no promised order.
//!
//! Each payload is a struct implementing [`EventKind`]; [`Event::new`] wraps one
//! and [`Event::decode`] reads it back after checking kind and version:
//!
//! ```
//! use chrono::Utc;
//! use jojomart_shared::{domain::UserId, events::{ErasureRequested, Event}};
//!
//! let event = Event::new(&ErasureRequested { user_id: UserId::parse("u-1")? }, Utc::now())?;
//! let text = serde_json::to_string(&event)?;
//! let received = Event::parse(&text)?;
//! assert_eq!(received.decode::<ErasureRequested>()?.user_id.as_str(), "u-1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Only payloads several services read live here; a service adds its own
//! payload structs (and their [`EventKind`] impls) in its folder.

pub mod account;
mod erasure;
pub mod orders;
pub mod outbox;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::{json, Value};

pub use account::{PasswordResetRequested, VerificationRequested};
pub use erasure::ErasureRequested;
pub use orders::{
    OrderCancelled, OrderDelivered, OrderEventLine, OrderPaid, OrderPlaced, OrderRefunded,
    OrderShipped, OrderSnapshot,
};

/// The JSON Schema dialect [`EventKind::schema`] documents are written in.
pub const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Longest `kind` accepted, in bytes.
const MAX_KIND_BYTES: usize = 100;

/// A payload type: the `data` of one kind of event, at one version.
pub trait EventKind: Serialize + DeserializeOwned {
    /// The dotted event name, e.g. `user.erasure-requested`.
    const KIND: &'static str;
    /// The newest version of `data` this type reads and writes (1 and up).
    const VERSION: u32;

    /// A JSON Schema (draft 2020-12) of `data` at [`EventKind::VERSION`].
    fn data_schema() -> Value;

    /// A JSON Schema (draft 2020-12) of the whole envelope carrying this payload.
    fn schema() -> Value {
        envelope_schema(Self::KIND, Self::VERSION, Self::data_schema())
    }
}

/// An event's id: a UUID, fixed when the event is made and kept across retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Parses an id received from elsewhere (a message, a stored document).
    ///
    /// # Errors
    /// [`EventError::InvalidEnvelope`] when `raw` is not a UUID.
    pub fn parse(raw: &str) -> Result<Self, EventError> {
        uuid::Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| EventError::InvalidEnvelope(format!("event id `{raw}` is not a UUID")))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A versioned event envelope, `{id, kind, version, occurredAt, data}`.
///
/// Its fields are private: an `Event` is made from a typed payload by
/// [`Event::new`] or parsed (and checked) from JSON, so it is always well-formed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "WireEvent")]
pub struct Event {
    id: EventId,
    kind: String,
    version: u32,
    #[serde(serialize_with = "timestamp::serialize")]
    occurred_at: DateTime<Utc>,
    data: Value,
}

/// The envelope as it arrives, before [`Event`]'s checks.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent {
    id: EventId,
    kind: String,
    version: u32,
    occurred_at: DateTime<Utc>,
    data: Value,
}

impl TryFrom<WireEvent> for Event {
    /// What is wrong, for serde to report (and [`Event::parse`] to wrap once).
    type Error = String;

    fn try_from(wire: WireEvent) -> Result<Self, String> {
        if !is_kind(&wire.kind) {
            return Err(format!(
                "event kind `{}` is not a dotted lowercase name",
                wire.kind
            ));
        }
        if wire.version == 0 {
            return Err("an event version starts at 1".into());
        }
        if !wire.data.is_object() {
            return Err("an event's data must be a JSON object".into());
        }
        Ok(Self {
            id: wire.id,
            kind: wire.kind,
            version: wire.version,
            occurred_at: wire.occurred_at,
            data: wire.data,
        })
    }
}

impl Event {
    /// Wraps a payload in a new envelope with a fresh id, at its type's version.
    ///
    /// `occurred_at` comes from the caller's clock, so tests control it.
    ///
    /// # Errors
    /// [`EventError::Encode`] when the payload does not serialize to a JSON object.
    pub fn new<P: EventKind>(payload: &P, occurred_at: DateTime<Utc>) -> Result<Self, EventError> {
        let encode = |reason: String| EventError::Encode {
            kind: P::KIND,
            reason,
        };
        let data = serde_json::to_value(payload).map_err(|e| encode(e.to_string()))?;
        if !data.is_object() {
            return Err(encode("the payload is not a JSON object".into()));
        }
        Ok(Self {
            id: EventId::generate(),
            kind: P::KIND.to_owned(),
            version: P::VERSION,
            occurred_at,
            data,
        })
    }

    /// Parses an envelope from message text.
    ///
    /// # Errors
    /// [`EventError::InvalidEnvelope`] when the text is not an envelope: not
    /// JSON, a field missing or of the wrong type, a malformed kind, version 0.
    pub fn parse(text: &str) -> Result<Self, EventError> {
        serde_json::from_str(text).map_err(|e| EventError::InvalidEnvelope(e.to_string()))
    }

    /// Reads the payload as `P`, after checking that the event is of `P`'s kind
    /// and not of a version newer than `P` knows.
    ///
    /// # Errors
    /// [`EventError::UnexpectedKind`] for an event of another kind,
    /// [`EventError::NewerVersion`] for a version above [`EventKind::VERSION`],
    /// [`EventError::InvalidData`] when `data` does not have `P`'s shape.
    pub fn decode<P: EventKind>(&self) -> Result<P, EventError> {
        if self.kind != P::KIND {
            return Err(EventError::UnexpectedKind {
                expected: P::KIND,
                found: self.kind.clone(),
            });
        }
        if self.version > P::VERSION {
            return Err(EventError::NewerVersion {
                kind: P::KIND,
                version: self.version,
                known: P::VERSION,
            });
        }
        P::deserialize(&self.data).map_err(|e| EventError::InvalidData {
            kind: P::KIND,
            version: self.version,
            reason: e.to_string(),
        })
    }

    /// Whether the event is of `P`'s kind (whatever its version), for consumers
    /// that take several kinds from one queue.
    pub fn is<P: EventKind>(&self) -> bool {
        self.kind == P::KIND
    }

    /// The id consumers deduplicate by.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The dotted event name.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The schema version of `data`.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// When the producer says it happened.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at
    }

    /// The raw payload, for logging or forwarding; typed readers use [`Event::decode`].
    pub fn data(&self) -> &Value {
        &self.data
    }
}

/// What can be wrong with an event, as produced or as received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The text or value is not a well-formed envelope.
    #[error("not a valid event envelope: {0}")]
    InvalidEnvelope(String),
    /// A payload could not be turned into an event's `data`.
    #[error("cannot encode a `{kind}` event: {reason}")]
    Encode {
        /// The payload's kind.
        kind: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The event is of another kind than the reader expected.
    #[error("expected a `{expected}` event, found `{found}`")]
    UnexpectedKind {
        /// The kind the reader understands.
        expected: &'static str,
        /// The kind the event carries.
        found: String,
    },
    /// The event was written by a newer producer than this reader knows.
    #[error(
        "`{kind}` event version {version} is newer than this build reads (up to {known}); \
         a newer consumer must handle it"
    )]
    NewerVersion {
        /// The event kind.
        kind: &'static str,
        /// The version the event carries.
        version: u32,
        /// The newest version this build reads.
        known: u32,
    },
    /// The kind and version are known but `data` does not match them.
    #[error("`{kind}` event version {version} has invalid data: {reason}")]
    InvalidData {
        /// The event kind.
        kind: &'static str,
        /// The version the event carries.
        version: u32,
        /// What serde reported.
        reason: String,
    },
}

/// Whether `kind` has the dotted lowercase form: two or more segments of
/// `a-z`, `0-9` and inner hyphens.
fn is_kind(kind: &str) -> bool {
    let segment_ok = |seg: &str| {
        !seg.is_empty()
            && !seg.starts_with('-')
            && !seg.ends_with('-')
            && seg
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    kind.len() <= MAX_KIND_BYTES && kind.contains('.') && kind.split('.').all(segment_ok)
}

/// The envelope schema around one kind's `data` schema.
fn envelope_schema(kind: &str, version: u32, data: Value) -> Value {
    json!({
        "$schema": SCHEMA_DIALECT,
        "$id": format!("urn:jojomart:event:{kind}:v{version}"),
        "title": format!("{kind} v{version}"),
        "description": "A jojomart event envelope. Delivered at least once and in no \
                        promised order: consumers deduplicate by `id`.",
        "type": "object",
        "required": ["id", "kind", "version", "occurredAt", "data"],
        "properties": {
            "id": {
                "description": "Unique per event, kept across redeliveries.",
                "type": "string",
                "format": "uuid"
            },
            "kind": { "const": kind },
            "version": { "const": version },
            "occurredAt": {
                "description": "When the event happened (RFC 3339, UTC).",
                "type": "string",
                "format": "date-time"
            },
            "data": data
        }
    })
}

/// RFC 3339 UTC with exactly six fractional digits, so stored times sort as text.
pub(crate) mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    /// The fixed-width text form of `t`.
    pub fn format(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// Serializes in the fixed-width form.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }
}

#[cfg(test)]
mod tests;
