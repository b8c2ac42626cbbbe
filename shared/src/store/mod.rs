//! The document store port: JSON documents addressed by `(partition key, id)`,
//! with ETags, conditional writes, atomic single-partition batches and a small
//! typed query language. It promises what Cosmos DB promises, nothing more.
//!
//! Read models follow other services' data through [`DocumentStore::changes`],
//! the container's change feed (Cosmos DB's latest-version mode): they keep the
//! [`FeedPosition`] they reached and resume from it (the catalog keeps it in
//! memory beside its in-memory snapshot; a [`FeedPosition`] also serializes,
//! for a read model that persists).
//!
//! Writes of shared documents go through [`update()`], [`update_in_batch`] and
//! [`update_pair`] (module `update`): read, decide, write on the ETag that was read, and retry
//! lost races under the one [`RetryPolicy`].
//!
//! Adapters: [`sqlite`] (embedded default). The Cosmos DB adapter lives in
//! `cosmos` when built with Azure support. Both pass [`crate::conformance::store`]
//! and [`crate::conformance::feed`].

pub mod containers;
pub mod continuation;
#[cfg(feature = "azure")]
pub mod cosmos;
mod query;
pub mod sqlite;
mod update;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

pub use containers::{Container, Ttl};
pub use query::{Field, Filter, Order, Query, SortBy};
pub use update::{update, update_in_batch, update_pair, Change, Outcome, RetryPolicy, Written};

/// An opaque version tag that changes on every write of a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ETag(pub String);

impl std::fmt::Display for ETag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored document: its address, its current ETag and its JSON body.
///
/// The body always carries `id` and the container's partition-key field, as in Cosmos DB.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document id, unique within its partition.
    pub id: String,
    /// The partition key value.
    pub partition_key: String,
    /// The version tag of this revision.
    pub etag: ETag,
    /// The JSON object as stored.
    pub body: Value,
}

impl Document {
    /// Deserializes the body into `T`.
    ///
    /// # Errors
    /// [`StoreError::Serialization`] when the body does not have `T`'s shape.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_value(self.body.clone())
            .map_err(|e| StoreError::Serialization(e.to_string()))
    }
}

/// A page of query results and the token that continues it.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The documents of this page, in query order.
    pub items: Vec<Document>,
    /// Present when more results may follow; opaque, signed, tied to the query.
    pub continuation: Option<String>,
}

/// One operation of an atomic single-partition batch.
#[derive(Debug, Clone)]
pub enum BatchOp {
    /// Create a document; the batch fails if it exists.
    Create { id: String, body: Value },
    /// Replace a document, optionally only if its ETag still matches.
    Replace {
        id: String,
        body: Value,
        if_match: Option<ETag>,
    },
    /// Create or overwrite a document.
    Upsert { id: String, body: Value },
    /// Delete a document, optionally only if its ETag still matches.
    Delete { id: String, if_match: Option<ETag> },
}

/// Where a change-feed reader stands in one container's feed.
///
/// Opaque and durable: its string form (`Display`, `FromStr`, and serde as a
/// string) can be saved in a document and parsed back to resume exactly where
/// the reader stopped. A position belongs to the adapter and container that
/// issued it. It is server-side state, not for clients: unlike query
/// continuations it is not signed, so it survives a change of cursor key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FeedPosition(String);

impl FeedPosition {
    /// The string form of [`FeedPosition::beginning`].
    const BEGINNING: &'static str = "beginning";

    /// The position before the first change: reading from it returns every
    /// document of the container.
    pub fn beginning() -> Self {
        Self(Self::BEGINNING.to_owned())
    }

    /// True for [`FeedPosition::beginning`].
    pub fn is_beginning(&self) -> bool {
        self.0 == Self::BEGINNING
    }

    /// The string form, to save; [`str::parse`] reads it back.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A position issued by the adapter `kind` (`sqlite`, `cosmos`) with its own `state`.
    pub(crate) fn issued_by(kind: &str, state: &str) -> Self {
        Self(format!("{kind}:{state}"))
    }

    /// The state the adapter `kind` put in this position, `None` at the beginning.
    ///
    /// # Errors
    /// [`StoreError::InvalidContinuation`] when another adapter issued it.
    pub(crate) fn state_for(&self, kind: &str) -> Result<Option<&str>, StoreError> {
        if self.is_beginning() {
            return Ok(None);
        }
        self.0
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(Some)
            .ok_or(StoreError::InvalidContinuation)
    }
}

impl Default for FeedPosition {
    /// The beginning of the feed.
    fn default() -> Self {
        Self::beginning()
    }
}

impl std::fmt::Display for FeedPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for FeedPosition {
    type Err = StoreError;

    /// Reads a saved position: `beginning`, or an adapter's `kind:state`.
    /// Whether the state is valid is for the adapter to say when it is used.
    fn from_str(s: &str) -> Result<Self, StoreError> {
        if s == Self::BEGINNING {
            return Ok(Self::beginning());
        }
        match s.split_once(':') {
            Some((kind, state))
                if !kind.is_empty()
                    && kind.bytes().all(|b| b.is_ascii_lowercase())
                    && !state.is_empty() =>
            {
                Ok(Self(s.to_owned()))
            }
            _ => Err(StoreError::InvalidContinuation),
        }
    }
}

impl TryFrom<String> for FeedPosition {
    type Error = StoreError;

    fn try_from(s: String) -> Result<Self, StoreError> {
        s.parse()
    }
}

impl From<FeedPosition> for String {
    fn from(p: FeedPosition) -> Self {
        p.0
    }
}

/// One read of a change feed: the changed documents and where to read next.
#[derive(Debug, Clone)]
pub struct ChangePage {
    /// The latest version of each document created or replaced after the
    /// position read from, in commit order within each partition; empty when
    /// the reader has caught up.
    pub documents: Vec<Document>,
    /// The position after these documents, to read from (or save) next.
    pub next: FeedPosition,
}

impl ChangePage {
    /// True when nothing changed after the position read from: the reader has caught up.
    pub fn is_caught_up(&self) -> bool {
        self.documents.is_empty()
    }
}

/// What the port can go wrong with; adapters map their native errors onto these.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The addressed document does not exist.
    #[error("document not found")]
    NotFound,
    /// A create met an existing document.
    #[error("document already exists")]
    Conflict,
    /// An If-Match ETag was stale.
    #[error("precondition failed: the document changed")]
    PreconditionFailed,
    /// A batch failed at operation `index` for `cause`; nothing was written.
    #[error("batch operation {index} failed: {cause}")]
    BatchFailed {
        /// Zero-based position of the failing operation.
        index: usize,
        /// Why that operation failed.
        cause: Box<StoreError>,
    },
    /// A continuation token was not issued by this store for this query, or a
    /// feed position by this store for this container.
    #[error("invalid continuation token")]
    InvalidContinuation,
    /// The query or document was malformed (bad field path, non-object body...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// A body could not be (de)serialized.
    #[error("serialization: {0}")]
    Serialization(String),
    /// The backend is unreachable or throttling beyond our retries.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("store failure: {0}")]
    Internal(String),
}

/// The document store port. All operations are scoped to a container by name.
#[async_trait]
pub trait DocumentStore: Send + Sync + std::fmt::Debug + 'static {
    /// Short adapter name for health and logs (`sqlite`, `cosmos`).
    fn kind(&self) -> &'static str;

    /// Reads one document, `None` when absent.
    async fn read(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
    ) -> Result<Option<Document>, StoreError>;

    /// Creates a document; [`StoreError::Conflict`] if `(pk, id)` exists.
    async fn create(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError>;

    /// Replaces a document; [`StoreError::PreconditionFailed`] if `if_match` is stale,
    /// [`StoreError::NotFound`] if it does not exist.
    async fn replace(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
        if_match: Option<&ETag>,
    ) -> Result<ETag, StoreError>;

    /// Creates or overwrites a document unconditionally.
    async fn upsert(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError>;

    /// Deletes a document; errors as [`DocumentStore::replace`].
    async fn delete(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        if_match: Option<&ETag>,
    ) -> Result<(), StoreError>;

    /// Applies every operation in one partition atomically: all of them or none.
    /// Returns the new ETag of each operation (`None` for deletes).
    async fn batch(
        &self,
        container: &Container,
        pk: &str,
        ops: Vec<BatchOp>,
    ) -> Result<Vec<Option<ETag>>, StoreError>;

    /// Runs a query and returns one page.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;

    /// Reads `container`'s change feed after `from`: the latest version of each
    /// document created or replaced since (a batch's writes included), in commit
    /// order within each partition, and the position to read from next. Read
    /// models call it until a page comes back empty (caught up), saving `next`.
    ///
    /// Reading again from a position returned earlier sees exactly what changed
    /// after it: nothing is skipped, and a document comes back only if it was
    /// written again (then once, in its latest version). A document written
    /// several times between two reads appears once.
    ///
    /// Deletes (and TTL expiries) are not changes: a deleted document simply
    /// stops appearing. So services delete softly (a replace that sets a flag
    /// such as `deleted`) whatever a read model must hear about, and
    /// hard-delete only what no one follows.
    ///
    /// `max` (1 to [`MAX_CHANGES`]) is the page size asked for. SQLite never
    /// exceeds it; Cosmos DB asks each physical partition for its share (at
    /// least one document), so a page may hold one document per partition
    /// when `max` is smaller than their number.
    ///
    /// # Errors
    /// [`StoreError::InvalidContinuation`] when `from` was not issued by this
    /// store for this container, [`StoreError::Invalid`] for a `max` outside
    /// 1..=[`MAX_CHANGES`], and the backend's errors as for [`DocumentStore::query`].
    async fn changes(
        &self,
        container: &Container,
        from: &FeedPosition,
        max: usize,
    ) -> Result<ChangePage, StoreError>;

    /// Checks that the backend answers.
    async fn health(&self) -> Result<(), StoreError>;
}

/// Most documents one [`DocumentStore::changes`] call may ask for.
pub const MAX_CHANGES: usize = 1000;

/// Checks the `max` of a [`DocumentStore::changes`] call.
///
/// # Errors
/// [`StoreError::Invalid`] outside 1..=[`MAX_CHANGES`].
pub(crate) fn check_changes_max(max: usize) -> Result<(), StoreError> {
    if (1..=MAX_CHANGES).contains(&max) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "max must be between 1 and {MAX_CHANGES}"
        )))
    }
}

/// Shared handle to a document store.
pub type SharedStore = Arc<dyn DocumentStore>;

/// Serializes a value into a JSON object body.
///
/// # Errors
/// [`StoreError::Serialization`] when `value` does not serialize to an object.
pub fn to_body<T: Serialize>(value: &T) -> Result<Value, StoreError> {
    match serde_json::to_value(value) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(StoreError::Serialization(
            "a document must be a JSON object".into(),
        )),
        Err(e) => Err(StoreError::Serialization(e.to_string())),
    }
}

/// Sets `id` and the partition-key field on a body, as every adapter stores it.
///
/// # Errors
/// [`StoreError::Invalid`] when the body is not an object.
pub fn stamp_body(
    container: &Container,
    pk: &str,
    id: &str,
    mut body: Value,
) -> Result<Value, StoreError> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| StoreError::Invalid("a document must be a JSON object".into()))?;
    obj.insert("id".into(), Value::String(id.to_owned()));
    obj.insert(
        container.partition_key.to_owned(),
        Value::String(pk.to_owned()),
    );
    Ok(body)
}

/// A random 32-byte key shared by every instance on this store (cursor-sealing
/// keys): read from the [`containers::SYSTEM`] container, or created there on first
/// use with create-if-absent, so racing instances all end up with the winner's key.
///
/// # Errors
/// The store's error, or [`StoreError::Internal`] for a malformed stored key.
pub async fn shared_secret(store: &dyn DocumentStore, name: &str) -> Result<Vec<u8>, StoreError> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let decode = |doc: &Document| {
        doc.body
            .get("key")
            .and_then(Value::as_str)
            .and_then(|k| STANDARD.decode(k).ok())
            .filter(|k| k.len() >= 32)
            .ok_or_else(|| StoreError::Internal(format!("shared secret `{name}` is malformed")))
    };
    let system = containers::SYSTEM;
    if let Some(doc) = store.read(system, name, name).await? {
        return decode(&doc);
    }
    let key = rand::random::<[u8; 32]>().to_vec();
    let body = serde_json::json!({ "kind": "shared-secret", "key": STANDARD.encode(&key) });
    match store.create(system, name, name, body).await {
        Ok(_) => Ok(key),
        Err(StoreError::Conflict) => match store.read(system, name, name).await? {
            Some(doc) => decode(&doc),
            None => Err(StoreError::Internal(format!(
                "shared secret `{name}` vanished"
            ))),
        },
        Err(e) => Err(e),
    }
}

/// Runs a query to its end, following continuations, and parses every document.
///
/// For small, bounded result sets (one user's documents, a few shared
/// documents); listings page with [`DocumentStore::query`] and read models
/// follow [`DocumentStore::changes`] instead.
///
/// # Errors
/// The store's error, or [`StoreError::Serialization`] for a document not shaped like `T`.
pub async fn query_all<T: DeserializeOwned>(
    store: &dyn DocumentStore,
    mut query: Query,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    loop {
        let page = store.query(&query).await?;
        for doc in &page.items {
            out.push(doc.parse()?);
        }
        match page.continuation {
            Some(token) => query = query.continuation(Some(token)),
            None => return Ok(out),
        }
    }
}
