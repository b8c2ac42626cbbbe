//! The document store port: JSON documents addressed by `(partition key, id)`,
//! with ETags, conditional writes, atomic single-partition batches and a small
//! typed query language. It promises what Cosmos DB promises, nothing more.
//!
//! Writes of shared documents go through [`update()`] and [`update_in_batch`]
//! (module `update`): read, decide, write on the ETag that was read, and retry
//! lost races under the one [`RetryPolicy`].
//!
//! Adapters: [`sqlite`] (embedded default). The Cosmos DB adapter lives in
//! `cosmos` when built with Azure support. Both pass [`crate::conformance::store`].

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
pub use update::{update, update_in_batch, Change, Outcome, RetryPolicy, Written};

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
    /// A continuation token was not issued by this store for this query.
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

    /// Checks that the backend answers.
    async fn health(&self) -> Result<(), StoreError>;
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

/// Runs `update` on a document under optimistic concurrency, retrying lost races.
///
/// The untyped predecessor of [`update()`], kept for callers not yet moved to
/// it (prefer [`update()`], which hands the closure a parsed value): `change`
/// receives the current document (or `None`) and returns the new body, or
/// `Ok(None)` to leave it untouched. Creates when absent, replaces with
/// If-Match otherwise, under [`RetryPolicy::DEFAULT`].
///
/// # Errors
/// Whatever `change` returns, [`StoreError::Unavailable`] once every attempt
/// lost its race, or the store's error.
pub async fn update_with_retry<E, F>(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    id: &str,
    mut change: F,
) -> Result<Option<(ETag, Value)>, E>
where
    E: From<StoreError>,
    F: FnMut(Option<&Document>) -> Result<Option<Value>, E>,
{
    let mut written = None;
    let applied = update::apply(
        store,
        container,
        pk,
        id,
        &RetryPolicy::DEFAULT,
        |doc: Option<&Document>| -> Result<_, E> {
            let raw = match change(doc)? {
                Some(body) => {
                    written = Some(body.clone());
                    update::RawChange::Write(body)
                }
                None => update::RawChange::Keep,
            };
            Ok((raw, Vec::new()))
        },
    )
    .await?;
    Ok(applied.etag.zip(written))
}

/// Sleeps after losing `attempt + 1` races in a row, under [`RetryPolicy::DEFAULT`].
///
/// Kept for hand-written retry loops not yet moved to [`update()`] or
/// [`update_in_batch`]; new code should not need it.
pub async fn backoff(attempt: u32) {
    RetryPolicy::DEFAULT
        .wait(attempt.saturating_add(1), std::time::Duration::ZERO)
        .await;
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
/// For small, bounded result sets (change feeds of a read model, one user's
/// documents); listings page with [`DocumentStore::query`] instead.
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
