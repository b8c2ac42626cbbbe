//! SQLite document store adapter: the embedded default behind [`DocumentStore`].
//!
//! Documents live in one `documents` table keyed by `(container, pk, id)`, with
//! the stamped body as JSON text and a random ETag per write. Writes go through
//! the database's single writer, so every conditional write and every batch is
//! one `BEGIN IMMEDIATE` transaction. Queries become SQL over
//! `json_extract(body, ?path)` with every value and path bound as a parameter,
//! and page with a keyset cursor (the last row's sort value, pk and id) sealed
//! with the database's persisted key and bound to the query's fingerprint.
//!
//! The change feed: every create, replace and upsert (batched or not) stamps
//! the row with the next number of the database's `document_seq` counter,
//! bumped in the same transaction. There is one writer at a time, so seq
//! order is commit order and a reader that has seen seq N has seen every
//! commit before it. [`DocumentStore::changes`] selects `seq > position` in
//! seq order through the `(container, seq)` index; the position is the last
//! seq returned (`sqlite:<seq>:<container>`). A replace moves the row to a new
//! seq, so a document appears once, in its latest version; a delete removes
//! the row, so deletes do not appear.
//!
//! Besides the port's semantics it enforces Cosmos DB's limits, so code that
//! works here does not fail on the first deploy: ids are 1..=255 bytes without
//! `/ \ ? #`, partition keys at most 2 KiB, bodies at most 2 MiB and batches at
//! most 100 operations.

use async_trait::async_trait;
use rusqlite::{params, types::Value as SqlValue, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    check_changes_max, stamp_body, BatchOp, ChangePage, Container, Document, DocumentStore, ETag,
    FeedPosition, Filter, Order, Page, Query, StoreError,
};
use crate::sqlite::{classify, to_micros, Database, SqlFailure, DOCUMENT_SEQ_KEY};

/// Longest document id Cosmos DB accepts, in bytes.
const MAX_ID_BYTES: usize = 255;
/// Longest partition-key value Cosmos DB accepts, in bytes.
const MAX_PK_BYTES: usize = 2048;
/// Largest document Cosmos DB stores, in bytes of JSON.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Most operations in one Cosmos DB transactional batch.
const MAX_BATCH_OPS: usize = 100;
/// Deepest nesting of `And` filters accepted.
const MAX_FILTER_DEPTH: usize = 16;
/// Most bound parameters one query may use.
const MAX_QUERY_PARAMS: usize = 10_000;

/// The SQLite-backed [`DocumentStore`]; a cheap handle onto a [`Database`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: Database,
}

impl SqliteStore {
    /// A store over `db` (the same as [`Database::store`]).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Maps a SQLite error to the port's: constraint violations are conflicts.
fn store_err(e: rusqlite::Error) -> StoreError {
    match classify(&e) {
        SqlFailure::Constraint => StoreError::Conflict,
        SqlFailure::Unavailable => StoreError::Unavailable(e.to_string()),
        SqlFailure::Other => StoreError::Internal(e.to_string()),
    }
}

fn new_etag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn check_address(pk: &str, id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(StoreError::Invalid(format!(
            "a document id must be 1 to {MAX_ID_BYTES} bytes"
        )));
    }
    if id.contains(['/', '\\', '?', '#']) {
        return Err(StoreError::Invalid(
            "a document id must not contain / \\ ? or #".into(),
        ));
    }
    if pk.len() > MAX_PK_BYTES {
        return Err(StoreError::Invalid(format!(
            "a partition key must be at most {MAX_PK_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Validates the address, stamps the body and serializes it for storage.
fn encode(container: &Container, pk: &str, id: &str, body: Value) -> Result<String, StoreError> {
    check_address(pk, id)?;
    let body = stamp_body(container, pk, id, body)?;
    let text =
        serde_json::to_string(&body).map_err(|e| StoreError::Serialization(e.to_string()))?;
    if text.len() > MAX_BODY_BYTES {
        return Err(StoreError::Invalid(format!(
            "a document must be at most {MAX_BODY_BYTES} bytes"
        )));
    }
    Ok(text)
}

/// One write, validated and serialized, ready to run on the writer thread.
enum Write {
    Create {
        id: String,
        body: String,
    },
    Replace {
        id: String,
        body: String,
        if_match: Option<String>,
    },
    Upsert {
        id: String,
        body: String,
    },
    Delete {
        id: String,
        if_match: Option<String>,
    },
}

impl Write {
    fn prepare(container: &Container, pk: &str, op: BatchOp) -> Result<Self, StoreError> {
        Ok(match op {
            BatchOp::Create { body, id } => Write::Create {
                body: encode(container, pk, &id, body)?,
                id,
            },
            BatchOp::Replace { body, id, if_match } => Write::Replace {
                body: encode(container, pk, &id, body)?,
                id,
                if_match: if_match.map(|e| e.0),
            },
            BatchOp::Upsert { body, id } => Write::Upsert {
                body: encode(container, pk, &id, body)?,
                id,
            },
            BatchOp::Delete { id, if_match } => Write::Delete {
                id,
                if_match: if_match.map(|e| e.0),
            },
        })
    }

    /// Applies the write inside the caller's transaction; the new ETag, `None` for deletes.
    fn apply(
        &self,
        conn: &Connection,
        container: &str,
        pk: &str,
        now: i64,
    ) -> Result<Option<ETag>, StoreError> {
        let etag = new_etag();
        let changed = match self {
            Write::Create { id, body } => {
                let seq = next_seq(conn)?;
                conn.prepare_cached(
                    "INSERT INTO documents (container, pk, id, etag, body, updated_at, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut s| s.execute(params![container, pk, id, etag, body, now, seq]))
                .map_err(store_err)?
            }
            Write::Upsert { id, body } => {
                let seq = next_seq(conn)?;
                conn.prepare_cached(
                    "INSERT INTO documents (container, pk, id, etag, body, updated_at, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (container, pk, id) DO UPDATE
                     SET etag = excluded.etag, body = excluded.body,
                         updated_at = excluded.updated_at, seq = excluded.seq",
                )
                .and_then(|mut s| s.execute(params![container, pk, id, etag, body, now, seq]))
                .map_err(store_err)?
            }
            Write::Replace { id, body, if_match } => {
                let seq = next_seq(conn)?;
                let changed = conn
                    .prepare_cached(
                        "UPDATE documents SET etag = ?4, body = ?5, updated_at = ?6, seq = ?8
                         WHERE container = ?1 AND pk = ?2 AND id = ?3 AND (?7 IS NULL OR etag = ?7)",
                    )
                    .and_then(|mut s| {
                        s.execute(params![container, pk, id, etag, body, now, if_match, seq])
                    })
                    .map_err(store_err)?;
                if changed == 0 {
                    return Err(missing_or_stale(conn, container, pk, id)?);
                }
                changed
            }
            Write::Delete { id, if_match } => {
                let changed = conn
                    .prepare_cached(
                        "DELETE FROM documents
                         WHERE container = ?1 AND pk = ?2 AND id = ?3 AND (?4 IS NULL OR etag = ?4)",
                    )
                    .and_then(|mut s| s.execute(params![container, pk, id, if_match]))
                    .map_err(store_err)?;
                if changed == 0 {
                    return Err(missing_or_stale(conn, container, pk, id)?);
                }
                return Ok(None);
            }
        };
        debug_assert_eq!(changed, 1);
        Ok(Some(ETag(etag)))
    }
}

/// Takes the next change-feed sequence number, inside the caller's write
/// transaction (a rolled-back write gives it back).
fn next_seq(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = ?1 RETURNING value")
        .and_then(|mut stmt| stmt.query_row([DOCUMENT_SEQ_KEY], |r| r.get(0)))
        .map_err(store_err)
}

/// The adapter kind written into feed positions.
const KIND: &str = "sqlite";

/// A feed position in `container` after sequence number `seq`.
fn feed_position(container: &Container, seq: i64) -> FeedPosition {
    FeedPosition::issued_by(KIND, &format!("{seq}:{}", container.name))
}

/// The sequence number a position in `container` stands after (0 at the beginning).
fn position_seq(container: &Container, from: &FeedPosition) -> Result<i64, StoreError> {
    let Some(state) = from.state_for(KIND)? else {
        return Ok(0);
    };
    match state.split_once(':') {
        Some((seq, name))
            if name == container.name
                && !seq.is_empty()
                && seq.bytes().all(|b| b.is_ascii_digit()) =>
        {
            seq.parse().map_err(|_| StoreError::InvalidContinuation)
        }
        _ => Err(StoreError::InvalidContinuation),
    }
}

/// Why a conditional write changed nothing: the document is gone, or its ETag moved on.
fn missing_or_stale(
    conn: &Connection,
    container: &str,
    pk: &str,
    id: &str,
) -> Result<StoreError, StoreError> {
    let exists = conn
        .query_row(
            "SELECT 1 FROM documents WHERE container = ?1 AND pk = ?2 AND id = ?3",
            params![container, pk, id],
            |_| Ok(()),
        )
        .optional()
        .map_err(store_err)?
        .is_some();
    Ok(if exists {
        StoreError::PreconditionFailed
    } else {
        StoreError::NotFound
    })
}

fn decode(pk: String, id: String, etag: String, body: &str) -> Result<Document, StoreError> {
    let body = serde_json::from_str(body)
        .map_err(|e| StoreError::Internal(format!("stored document {id} is not JSON: {e}")))?;
    Ok(Document {
        id,
        partition_key: pk,
        etag: ETag(etag),
        body,
    })
}

impl SqliteStore {
    async fn write_one(
        &self,
        container: &Container,
        pk: &str,
        op: BatchOp,
    ) -> Result<Option<ETag>, StoreError> {
        let write = Write::prepare(container, pk, op)?;
        let (container, pk) = (container.name, pk.to_owned());
        let now = to_micros(self.db.clock().now());
        self.db
            .write(move |txn| write.apply(txn, container, &pk, now))
            .await
    }
}

/// Takes the ETag a create, replace or upsert always returns.
fn written(etag: Option<ETag>) -> Result<ETag, StoreError> {
    etag.ok_or_else(|| StoreError::Internal("a write returned no ETag".into()))
}

#[async_trait]
impl DocumentStore for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn read(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let (container, pk, id) = (container.name, pk.to_owned(), id.to_owned());
        let key = (pk.clone(), id.clone());
        // On the writer's warm connection; the body is decoded here, off its thread.
        let row = self
            .db
            .read_point(move |conn| {
                conn.prepare_cached(
                    "SELECT etag, body FROM documents WHERE container = ?1 AND pk = ?2 AND id = ?3",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![container, key.0, key.1], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .optional()
                })
                .map_err(store_err)
            })
            .await?;
        row.map(|(etag, body)| decode(pk, id, etag, &body))
            .transpose()
    }

    async fn create(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError> {
        let op = BatchOp::Create {
            id: id.to_owned(),
            body,
        };
        written(self.write_one(container, pk, op).await?)
    }

    async fn replace(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
        if_match: Option<&ETag>,
    ) -> Result<ETag, StoreError> {
        let op = BatchOp::Replace {
            id: id.to_owned(),
            body,
            if_match: if_match.cloned(),
        };
        written(self.write_one(container, pk, op).await?)
    }

    async fn upsert(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError> {
        let op = BatchOp::Upsert {
            id: id.to_owned(),
            body,
        };
        written(self.write_one(container, pk, op).await?)
    }

    async fn delete(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        if_match: Option<&ETag>,
    ) -> Result<(), StoreError> {
        let op = BatchOp::Delete {
            id: id.to_owned(),
            if_match: if_match.cloned(),
        };
        self.write_one(container, pk, op).await.map(|_| ())
    }

    async fn batch(
        &self,
        container: &Container,
        pk: &str,
        ops: Vec<BatchOp>,
    ) -> Result<Vec<Option<ETag>>, StoreError> {
        if ops.len() > MAX_BATCH_OPS {
            return Err(StoreError::Invalid(format!(
                "a batch holds at most {MAX_BATCH_OPS} operations"
            )));
        }
        let writes = ops
            .into_iter()
            .enumerate()
            .map(|(index, op)| {
                Write::prepare(container, pk, op).map_err(|cause| StoreError::BatchFailed {
                    index,
                    cause: Box::new(cause),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (container, pk) = (container.name, pk.to_owned());
        let now = to_micros(self.db.clock().now());
        self.db
            .write(move |txn| {
                writes
                    .iter()
                    .enumerate()
                    .map(|(index, w)| {
                        w.apply(txn, container, &pk, now)
                            .map_err(|cause| StoreError::BatchFailed {
                                index,
                                cause: Box::new(cause),
                            })
                    })
                    .collect()
            })
            .await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let plan = Plan::build(query, self.db.sealer())?;
        let limit = query.limit as usize;
        let rows = self.db.read(move |conn| plan.run(conn)).await?;

        let more = rows.len() > limit;
        let mut items = Vec::with_capacity(limit.min(rows.len()));
        let mut last = None;
        for row in rows.into_iter().take(limit) {
            items.push(decode(row.pk.clone(), row.id.clone(), row.etag, &row.body)?);
            last = Some(Cursor {
                s: row.sort,
                pk: row.pk,
                id: row.id,
            });
        }
        let continuation = match (more, last) {
            (true, Some(cursor)) => Some(self.db.sealer().seal(&query.fingerprint(), &cursor)),
            _ => None,
        };
        Ok(Page {
            items,
            continuation,
        })
    }

    async fn changes(
        &self,
        container: &Container,
        from: &FeedPosition,
        max: usize,
    ) -> Result<ChangePage, StoreError> {
        check_changes_max(max)?;
        let after = position_seq(container, from)?;
        let name = container.name;
        let (rows, issued) = self
            .db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT pk, id, etag, body, seq FROM documents
                         WHERE container = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    )
                    .map_err(store_err)?;
                let rows = stmt
                    .query_map(params![name, after, max as i64], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                        ))
                    })
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(store_err)?;
                // Read after the rows: the counter only grows, so a position
                // beyond it was not issued by this database.
                let issued: i64 = conn
                    .query_row(
                        "SELECT value FROM meta WHERE key = ?1",
                        [DOCUMENT_SEQ_KEY],
                        |r| r.get(0),
                    )
                    .map_err(store_err)?;
                Ok::<_, StoreError>((rows, issued))
            })
            .await?;
        if after > issued {
            return Err(StoreError::InvalidContinuation);
        }
        let mut next = from.clone();
        let mut documents = Vec::with_capacity(rows.len());
        for (pk, id, etag, body, seq) in rows {
            documents.push(decode(pk, id, etag, &body)?);
            next = feed_position(container, seq);
        }
        Ok(ChangePage { documents, next })
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT count(*) FROM meta", [], |_| Ok(()))
                    .map_err(store_err)
            })
            .await?;
        self.db.write(|_| Ok::<_, StoreError>(())).await
    }
}

/// Where the previous page stopped: the last row's sort value (when the query
/// sorts), partition key and id.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<SortKey>,
    pk: String,
    id: String,
}

/// A sort value exactly as SQLite produced it, so the keyset predicate compares
/// with the same storage class (reals travel as bits: JSON may round them).
#[derive(Debug, Clone, Serialize, Deserialize)]
enum SortKey {
    Null,
    Int(i64),
    Real(u64),
    Text(String),
}

impl SortKey {
    fn from_sql(v: SqlValue) -> Result<Self, StoreError> {
        Ok(match v {
            SqlValue::Null => SortKey::Null,
            SqlValue::Integer(i) => SortKey::Int(i),
            SqlValue::Real(f) => SortKey::Real(f.to_bits()),
            SqlValue::Text(s) => SortKey::Text(s),
            SqlValue::Blob(_) => {
                return Err(StoreError::Internal("a sort value was a blob".into()))
            }
        })
    }

    fn to_sql(&self) -> SqlValue {
        match self {
            SortKey::Null => SqlValue::Null,
            SortKey::Int(i) => SqlValue::Integer(*i),
            SortKey::Real(bits) => SqlValue::Real(f64::from_bits(*bits)),
            SortKey::Text(s) => SqlValue::Text(s.clone()),
        }
    }
}

struct Row {
    pk: String,
    id: String,
    etag: String,
    body: String,
    sort: Option<SortKey>,
}

/// A query turned into SQL text and its bound parameters.
struct Plan {
    sql: String,
    params: Vec<SqlValue>,
    sorted: bool,
}

/// SQL text under construction; values only ever enter as numbered parameters.
#[derive(Default)]
struct SqlBuilder {
    params: Vec<SqlValue>,
}

impl SqlBuilder {
    /// Binds a value and returns its placeholder.
    fn bind(&mut self, v: impl Into<SqlValue>) -> String {
        self.params.push(v.into());
        format!("?{}", self.params.len())
    }

    /// Binds the JSON path of a field (`$.a.b`, from validated segments).
    fn path(&mut self, field: &super::Field) -> String {
        self.bind(format!(
            "$.{}",
            field.segments().collect::<Vec<_>>().join(".")
        ))
    }

    /// Binds a JSON scalar as SQLite's `json_extract` would return it.
    fn scalar(&mut self, v: &Value) -> Option<String> {
        let bound = match v {
            Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => SqlValue::Integer(i),
                None => SqlValue::Real(n.as_f64()?),
            },
            Value::String(s) => SqlValue::Text(s.clone()),
            Value::Null | Value::Array(_) | Value::Object(_) => return None,
        };
        Some(self.bind(bound))
    }
}

/// The `json_type` names a JSON value's own kind may have.
fn type_guard(v: &Value) -> &'static str {
    match v {
        Value::Null => "('null')",
        Value::Bool(_) => "('true', 'false')",
        Value::Number(_) => "('integer', 'real')",
        Value::String(_) => "('text')",
        Value::Array(_) => "('array')",
        Value::Object(_) => "('object')",
    }
}

/// `field = v`, true only for a value of the same JSON kind (1 equals 1.0).
fn equals(b: &mut SqlBuilder, p: &str, v: &Value) -> String {
    let guard = type_guard(v);
    match v {
        Value::Null => format!("(json_type(body, {p}) = 'null')"),
        Value::Array(_) | Value::Object(_) => {
            let text = b.bind(v.to_string());
            format!("(json_type(body, {p}) IN {guard} AND json_extract(body, {p}) = json({text}))")
        }
        _ => match b.scalar(v) {
            Some(x) => {
                format!("(json_type(body, {p}) IN {guard} AND json_extract(body, {p}) = {x})")
            }
            None => "0".into(),
        },
    }
}

/// `field <op> v` for numbers, strings and booleans of the same kind; never true otherwise.
fn compare(b: &mut SqlBuilder, field: &super::Field, op: &str, v: &Value) -> String {
    if matches!(v, Value::Null | Value::Array(_) | Value::Object(_)) {
        return "0".into();
    }
    let p = b.path(field);
    match b.scalar(v) {
        Some(x) => format!(
            "(json_type(body, {p}) IN {guard} AND json_extract(body, {p}) {op} {x})",
            guard = type_guard(v)
        ),
        None => "0".into(),
    }
}

fn condition(b: &mut SqlBuilder, filter: &Filter, depth: usize) -> Result<String, StoreError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(StoreError::Invalid(format!(
            "filters nest at most {MAX_FILTER_DEPTH} deep"
        )));
    }
    Ok(match filter {
        Filter::Eq(f, v) => {
            let p = b.path(f);
            equals(b, &p, v)
        }
        Filter::Ne(f, v) => {
            let p = b.path(f);
            let eq = equals(b, &p, v);
            format!("(json_type(body, {p}) IS NOT NULL AND NOT {eq})")
        }
        Filter::Lt(f, v) => compare(b, f, "<", v),
        Filter::Le(f, v) => compare(b, f, "<=", v),
        Filter::Gt(f, v) => compare(b, f, ">", v),
        Filter::Ge(f, v) => compare(b, f, ">=", v),
        Filter::In(f, values) => {
            let p = b.path(f);
            let mut alternatives = Vec::new();
            // Scalars of one kind share a type guard and one `IN (...)` list.
            for kind in ["number", "string", "bool"] {
                let group: Vec<&Value> = values
                    .iter()
                    .filter(|v| match kind {
                        "number" => v.is_number(),
                        "string" => v.is_string(),
                        _ => v.is_boolean(),
                    })
                    .collect();
                let Some(first) = group.first() else { continue };
                let guard = type_guard(first);
                let list: Vec<String> = group.iter().filter_map(|v| b.scalar(v)).collect();
                if !list.is_empty() {
                    alternatives.push(format!(
                        "(json_type(body, {p}) IN {guard} AND json_extract(body, {p}) IN ({}))",
                        list.join(", ")
                    ));
                }
            }
            for v in values
                .iter()
                .filter(|v| v.is_null() || v.is_array() || v.is_object())
            {
                alternatives.push(equals(b, &p, v));
            }
            if alternatives.is_empty() {
                "0".into()
            } else {
                format!("({})", alternatives.join(" OR "))
            }
        }
        Filter::Contains(f, text) => {
            let p = b.path(f);
            let needle = b.bind(text.to_ascii_lowercase());
            format!("(json_type(body, {p}) = 'text' AND instr(lower(json_extract(body, {p})), {needle}) > 0)")
        }
        Filter::And(parts) => {
            if parts.is_empty() {
                "1".into()
            } else {
                let parts = parts
                    .iter()
                    .map(|f| condition(b, f, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", parts.join(" AND "))
            }
        }
    })
}

impl Plan {
    fn build(query: &Query, sealer: &super::continuation::TokenSealer) -> Result<Self, StoreError> {
        if !(1..=1000).contains(&query.limit) {
            return Err(StoreError::Invalid(
                "limit must be between 1 and 1000".into(),
            ));
        }
        let cursor: Option<Cursor> = query
            .continuation
            .as_deref()
            .map(|token| sealer.open(&query.fingerprint(), token))
            .transpose()?;
        if cursor
            .as_ref()
            .is_some_and(|c| c.s.is_some() != query.sort.is_some())
        {
            return Err(StoreError::InvalidContinuation);
        }

        let mut b = SqlBuilder::default();
        let sort_expr = match &query.sort {
            Some(sort) => format!("json_extract(body, {})", b.path(&sort.field)),
            None => "NULL".to_owned(),
        };
        let mut clauses = vec![format!(
            "container = {}",
            b.bind(query.container.name.to_owned())
        )];
        if let Some(pk) = &query.partition {
            clauses.push(format!("pk = {}", b.bind(pk.clone())));
        }
        if let Some(filter) = &query.filter {
            clauses.push(condition(&mut b, filter, 0)?);
        }
        let desc = matches!(query.sort.as_ref().map(|s| s.order), Some(Order::Desc));
        let (after, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
        if let Some(cursor) = &cursor {
            let tie = format!(
                "(pk, id) {after} ({}, {})",
                b.bind(cursor.pk.clone()),
                b.bind(cursor.id.clone())
            );
            let s = &sort_expr;
            clauses.push(match &cursor.s {
                None => tie,
                // SQLite orders NULL (missing or JSON null) first ascending, last descending.
                Some(SortKey::Null) if desc => format!("({s} IS NULL AND {tie})"),
                Some(SortKey::Null) => format!("(({s} IS NULL AND {tie}) OR {s} IS NOT NULL)"),
                Some(key) => {
                    let v = b.bind(key.to_sql());
                    let nulls_after = if desc {
                        format!(" OR {s} IS NULL")
                    } else {
                        String::new()
                    };
                    format!("({s} {after} {v}{nulls_after} OR ({s} = {v} AND {tie}))")
                }
            });
        }
        let fetch = b.bind(i64::from(query.limit) + 1);
        if b.params.len() > MAX_QUERY_PARAMS {
            return Err(StoreError::Invalid("the query has too many values".into()));
        }
        let order = if query.sort.is_some() {
            format!("s {dir}, pk {dir}, id {dir}")
        } else {
            "pk, id".to_owned()
        };
        let sql = format!(
            "SELECT pk, id, etag, body, {sort_expr} AS s FROM documents WHERE {} ORDER BY {order} LIMIT {fetch}",
            clauses.join(" AND ")
        );
        Ok(Plan {
            sql,
            params: b.params,
            sorted: query.sort.is_some(),
        })
    }

    fn run(self, conn: &Connection) -> Result<Vec<Row>, StoreError> {
        let mut stmt = conn.prepare_cached(&self.sql).map_err(store_err)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(self.params.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, SqlValue>(4)?,
                ))
            })
            .map_err(store_err)?;
        rows.map(|row| {
            let (pk, id, etag, body, sort) = row.map_err(store_err)?;
            let sort = if self.sorted {
                Some(SortKey::from_sql(sort)?)
            } else {
                None
            };
            Ok(Row {
                pk,
                id,
                etag,
                body,
                sort,
            })
        })
        .collect()
    }
}

#[cfg(feature = "test-support")]
impl SqliteStore {
    /// SQLite's `EXPLAIN QUERY PLAN` for the first page of `query`, one line per
    /// step; lets tests prove listings use an index instead of sorting.
    ///
    /// # Errors
    /// As [`DocumentStore::query`].
    #[doc(hidden)]
    pub async fn explain(&self, query: &Query) -> Result<Vec<String>, StoreError> {
        let plan = Plan::build(&query.clone().continuation(None), self.db.sealer())?;
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {}", plan.sql))
                    .map_err(store_err)?;
                let lines = stmt
                    .query_map(rusqlite::params_from_iter(plan.params.iter()), |r| {
                        r.get::<_, String>(3)
                    })
                    .map_err(store_err)?;
                lines.map(|l| l.map_err(store_err)).collect()
            })
            .await
    }
}
