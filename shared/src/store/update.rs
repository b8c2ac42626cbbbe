//! The one way to change a stored document: read it, let the caller decide,
//! write the decision conditionally on the ETag that was read, and start again
//! when another writer got there first.
//!
//! [`update`] changes one document; [`update_in_batch`] changes one document
//! and, in the same atomic batch, writes other documents of its partition (an
//! outbox entry, a child document); [`update_pair`] changes two documents of
//! one partition that it reads together (a total and one of its parts). All
//! three retry lost races under the one [`RetryPolicy`] and nothing else: any
//! other failure, and any error of the caller's closure, ends the update at once.
//!
//! The closure may run several times (once per attempt), so it must not have
//! side effects beyond computing the change.

use std::time::Duration;

use rand::Rng;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use super::{to_body, BatchOp, Container, Document, DocumentStore, ETag, StoreError};

/// How often and how patiently a lost race is retried; [`RetryPolicy::DEFAULT`]
/// is the policy every update uses.
///
/// After the `n`-th lost race in a row the writer sleeps a uniformly random
/// time between zero and `min(cap, unit × 2ⁿ⁻¹)` ("full jitter"), where `unit`
/// is how long the lost attempt took (its read and write), and at least `base`.
/// Contending writers thus spread out over a window that grows with the
/// contention, measured in what one attempt costs on this store, instead of
/// retrying in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; at least one is always made.
    pub max_attempts: u32,
    /// The smallest unit of the window, for stores that answer in microseconds.
    pub base: Duration,
    /// The longest wait ever, however many races were lost.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The policy of every update.
    ///
    /// - the window unit is the lost attempt's own duration: `n` writers that
    ///   each hold a document for one attempt need a window of some `2n`
    ///   attempts to stop colliding, and that takes the same few doublings
    ///   on SQLite (tens of microseconds) as on Cosmos DB (milliseconds) or a
    ///   loaded emulator (tens of milliseconds); `base` 1 ms floors it;
    /// - `cap` 4 s: room for `2n` attempts of 60 ms for 32 writers, so the
    ///   window can still grow when every request is slow; reached only after
    ///   some ten lost races in a row;
    /// - `max_attempts` 100: under that window a writer loses a race with
    ///   odds well under one half, so 100 losses in a row mean the document
    ///   is hotter than any request should wait for; the caller gets a
    ///   retryable 503 instead.
    pub const DEFAULT: Self = Self {
        max_attempts: 100,
        base: Duration::from_millis(1),
        cap: Duration::from_secs(4),
    };

    /// The longest wait after losing `lost` races in a row (zero before any),
    /// the last of which took `attempt`.
    pub fn ceiling(&self, lost: u32, attempt: Duration) -> Duration {
        if lost == 0 {
            return Duration::ZERO;
        }
        // 2^20 units of a millisecond or more are past any sensible cap.
        let factor = 1u32 << (lost - 1).min(20);
        self.base.max(attempt).saturating_mul(factor).min(self.cap)
    }

    /// A wait drawn uniformly from zero to [`Self::ceiling`].
    pub fn delay<R: Rng + ?Sized>(&self, lost: u32, attempt: Duration, rng: &mut R) -> Duration {
        let ceiling = u64::try_from(self.ceiling(lost, attempt).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.gen_range(0..=ceiling))
    }

    /// Sleeps a [`Self::delay`], yielding at least once so that the winner can run.
    pub async fn wait(&self, lost: u32, attempt: Duration) {
        let delay = self.delay(lost, attempt, &mut rand::thread_rng());
        if delay.is_zero() {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(delay).await;
        }
    }

    /// The error of an update that lost every race it was allowed to run.
    fn exhausted(&self, container: &Container) -> StoreError {
        StoreError::Unavailable(format!(
            "too much contention on a `{}` document: {} attempts lost the race",
            container.name,
            self.max_attempts.max(1)
        ))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What an update closure decides to do with the document it was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    /// Store this value: a create when the document was absent, a replace on
    /// the ETag that was read when it was present.
    Write(T),
    /// Delete the document on the ETag that was read; nothing to do when absent.
    Delete,
    /// Write nothing and report the document as it is.
    Keep,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The document was absent and was created.
    Created,
    /// The document was replaced.
    Replaced,
    /// The document was deleted.
    Deleted,
    /// Nothing was written: the closure kept the document, or deleted an absent one.
    Unchanged,
}

/// The result of an update: what happened, and the document as it now stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Written<T> {
    outcome: Outcome,
    current: Option<(T, ETag)>,
}

impl<T> Written<T> {
    /// What the update did.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The document's value now: the one written or kept, `None` when absent or deleted.
    pub fn value(&self) -> Option<&T> {
        self.current.as_ref().map(|(value, _)| value)
    }

    /// The document's ETag now, `None` when absent or deleted.
    pub fn etag(&self) -> Option<&ETag> {
        self.current.as_ref().map(|(_, etag)| etag)
    }

    /// The document's value now, owned.
    pub fn into_value(self) -> Option<T> {
        self.current.map(|(value, _)| value)
    }

    /// The document's value and ETag now, owned.
    pub fn into_parts(self) -> Option<(T, ETag)> {
        self.current
    }
}

/// Changes one document under optimistic concurrency.
///
/// Reads `(pk, id)`, hands its value (or `None` when absent) to `change`, and
/// writes the [`Change`] it returns conditionally: a create when the document
/// was absent, a replace or delete with If-Match on the ETag that was read when
/// it was present. A writer that got there first makes the update read again
/// and call `change` again, after a [`RetryPolicy::DEFAULT`] backoff.
///
/// # Errors
/// - whatever `change` returns, as soon as it returns it;
/// - [`StoreError::Serialization`] when the stored document is not shaped like
///   `T`, or `T` does not serialize to a JSON object;
/// - [`StoreError::Unavailable`] when every attempt lost its race;
/// - any other error of the store.
pub async fn update<T, E, F>(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    id: &str,
    mut change: F,
) -> Result<Written<T>, E>
where
    T: Serialize + DeserializeOwned,
    E: From<StoreError>,
    F: FnMut(Option<T>) -> Result<Change<T>, E>,
{
    update_in_batch(store, container, pk, id, |current| {
        Ok((change(current)?, Vec::new()))
    })
    .await
}

/// Changes one document and writes other documents of its partition in the
/// same atomic batch, under optimistic concurrency on that one document.
///
/// `change` sees the document's value (or `None`) and returns its [`Change`]
/// and the other operations (an outbox entry, child documents). They are
/// written all together or not at all; the document's change is conditional on
/// the ETag that was read (or is a create when it was absent), and a writer
/// that got there first makes the whole step run again, `change` included,
/// after a [`RetryPolicy::DEFAULT`] backoff. The other operations are never
/// retried for their own failures: a lost race of the document is detected
/// before they run, so a failure of theirs is the caller's to handle.
///
/// A change that writes nothing (`Keep`, or `Delete` of an absent document)
/// carries no other operations: nothing would guard them.
///
/// # Errors
/// - whatever `change` returns, as soon as it returns it;
/// - [`StoreError::BatchFailed`] when other operation `index` (counted in the
///   vector `change` returned) failed, e.g. a `Create` with
///   [`StoreError::Conflict`]; nothing was written;
/// - [`StoreError::Invalid`] when a change that writes nothing carries other
///   operations, or there are more than the batch can hold;
/// - the errors of [`update`].
pub async fn update_in_batch<T, E, F>(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    id: &str,
    mut change: F,
) -> Result<Written<T>, E>
where
    T: Serialize + DeserializeOwned,
    E: From<StoreError>,
    F: FnMut(Option<T>) -> Result<(Change<T>, Vec<BatchOp>), E>,
{
    let mut written = None;
    let applied = apply(
        store,
        container,
        pk,
        id,
        None,
        &RetryPolicy::DEFAULT,
        |doc: Option<&Document>, _| -> Result<_, E> {
            let current = doc.map(Document::parse::<T>).transpose()?;
            let (decided, others) = change(current)?;
            Ok((raw(decided, &mut written)?, RawChange::Keep, others))
        },
    )
    .await?;
    Ok(typed(applied.primary, written)?)
}

/// Changes one document and a second document of its partition together, in
/// one atomic batch, under optimistic concurrency on both.
///
/// Each attempt reads `(pk, id)` first and `(pk, sibling)` second, hands both
/// values (or `None`) to `change`, and writes the two [`Change`]s it returns
/// in one batch, each conditional on the ETag that was read (a create when the
/// document was absent). A writer that changed either document first makes the
/// whole step run again, `change` included, after a [`RetryPolicy::DEFAULT`]
/// backoff. This is the shape of a total and one of its parts (a stock level
/// and one order's reservation, a rating aggregate and one review): the
/// decision depends on both, and both must move together.
///
/// The first document guards the second: the sibling is written only along
/// with it, so a change that keeps the first document must keep the sibling.
///
/// # Errors
/// - whatever `change` returns, as soon as it returns it;
/// - [`StoreError::Invalid`] when `change` keeps the first document (or
///   deletes it while absent) but writes the sibling;
/// - the errors of [`update`].
pub async fn update_pair<T, S, E, F>(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    id: &str,
    sibling: &str,
    mut change: F,
) -> Result<(Written<T>, Written<S>), E>
where
    T: Serialize + DeserializeOwned,
    S: Serialize + DeserializeOwned,
    E: From<StoreError>,
    F: FnMut(Option<T>, Option<S>) -> Result<(Change<T>, Change<S>), E>,
{
    let (mut first, mut second) = (None, None);
    let applied = apply(
        store,
        container,
        pk,
        id,
        Some(sibling),
        &RetryPolicy::DEFAULT,
        |doc: Option<&Document>, other: Option<&Document>| -> Result<_, E> {
            let current = doc.map(Document::parse::<T>).transpose()?;
            let other = other.map(Document::parse::<S>).transpose()?;
            let (decided, decided_other) = change(current, other)?;
            Ok((
                raw(decided, &mut first)?,
                raw(decided_other, &mut second)?,
                Vec::new(),
            ))
        },
    )
    .await?;
    Ok((
        typed(applied.primary, first)?,
        typed(applied.sibling, second)?,
    ))
}

/// A typed change as JSON, keeping the value to be written in `slot`.
fn raw<T: Serialize>(change: Change<T>, slot: &mut Option<T>) -> Result<RawChange, StoreError> {
    Ok(match change {
        Change::Write(value) => {
            let body = to_body(&value)?;
            *slot = Some(value);
            RawChange::Write(body)
        }
        Change::Delete => RawChange::Delete,
        Change::Keep => RawChange::Keep,
    })
}

/// What happened to one document, typed: the value written (from `written`)
/// or the stored one that was kept.
fn typed<T: DeserializeOwned>(one: One, written: Option<T>) -> Result<Written<T>, StoreError> {
    let current = match (one.outcome, one.etag) {
        (Outcome::Created | Outcome::Replaced, Some(etag)) => written.map(|value| (value, etag)),
        (Outcome::Unchanged, _) => match one.kept {
            Some(doc) => Some((doc.parse()?, doc.etag)),
            None => None,
        },
        _ => None,
    };
    Ok(Written {
        outcome: one.outcome,
        current,
    })
}

/// An update closure's decision on the raw JSON body.
pub(super) enum RawChange {
    /// Create or replace with this body.
    Write(Value),
    /// Delete.
    Delete,
    /// Write nothing.
    Keep,
}

/// What [`apply`] did to one document: the outcome, the new ETag when it
/// wrote, and the document it left alone when it wrote nothing.
pub(super) struct One {
    pub(super) outcome: Outcome,
    pub(super) etag: Option<ETag>,
    pub(super) kept: Option<Document>,
}

impl One {
    fn unchanged(kept: Option<Document>) -> Self {
        Self {
            outcome: Outcome::Unchanged,
            etag: None,
            kept,
        }
    }
}

/// What [`apply`] did to the document and to its sibling (unchanged and
/// absent when there was none).
pub(super) struct Applied {
    pub(super) primary: One,
    pub(super) sibling: One,
}

/// The operation that writes `change` to `id` on the ETag that was read, and
/// its outcome; `None` when it writes nothing.
fn operation(id: &str, change: RawChange, read: Option<&Document>) -> Option<(BatchOp, Outcome)> {
    let etag = read.map(|doc| doc.etag.clone());
    match (change, etag) {
        (RawChange::Write(body), None) => Some((
            BatchOp::Create {
                id: id.to_owned(),
                body,
            },
            Outcome::Created,
        )),
        (RawChange::Write(body), Some(etag)) => Some((
            BatchOp::Replace {
                id: id.to_owned(),
                body,
                if_match: Some(etag),
            },
            Outcome::Replaced,
        )),
        (RawChange::Delete, Some(etag)) => Some((
            BatchOp::Delete {
                id: id.to_owned(),
                if_match: Some(etag),
            },
            Outcome::Deleted,
        )),
        (RawChange::Keep, _) | (RawChange::Delete, None) => None,
    }
}

/// The read, decide, conditionally write loop under `policy`, on raw JSON;
/// the typed helpers are shapes of it.
///
/// Each attempt reads `id`, then `sibling` when there is one (always in that
/// order: writers of the sibling rewrite `id` first in their batch, so a batch
/// built on a stale read fails before it writes anything, even on a store that
/// does not roll batches back), and writes `id`'s change first, the sibling's
/// second and `others` after them.
pub(super) async fn apply<E, F>(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    id: &str,
    sibling: Option<&str>,
    policy: &RetryPolicy,
    mut decide: F,
) -> Result<Applied, E>
where
    E: From<StoreError>,
    F: FnMut(
        Option<&Document>,
        Option<&Document>,
    ) -> Result<(RawChange, RawChange, Vec<BatchOp>), E>,
{
    let mut took = Duration::ZERO;
    for lost in 0..policy.max_attempts.max(1) {
        if lost > 0 {
            policy.wait(lost, took).await;
        }
        let started = tokio::time::Instant::now();
        let current = store.read(container, pk, id).await?;
        let other = match sibling {
            Some(sibling) => store.read(container, pk, sibling).await?,
            None => None,
        };
        let (raw, raw_sibling, others) = decide(current.as_ref(), other.as_ref())?;
        let second = sibling.and_then(|sibling| operation(sibling, raw_sibling, other.as_ref()));
        let Some((primary, outcome)) = operation(id, raw, current.as_ref()) else {
            let unguarded = others.len() + usize::from(second.is_some());
            if unguarded > 0 {
                return Err(StoreError::Invalid(format!(
                    "an update of a `{}` document that writes nothing carries {unguarded} other operations",
                    container.name,
                ))
                .into());
            }
            return Ok(Applied {
                primary: One::unchanged(current),
                sibling: One::unchanged(other),
            });
        };
        let (second, second_outcome) = match second {
            Some((op, outcome)) => (Some(op), Some(outcome)),
            None => (None, None),
        };
        let result = if second.is_none() && others.is_empty() {
            write_one(store, container, pk, primary)
                .await
                .map(|etag| vec![etag])
        } else {
            write_batch(store, container, pk, primary, second, others).await
        };
        match result {
            Ok(etags) => {
                let mut etags = etags.into_iter();
                let primary = One {
                    outcome,
                    etag: etags.next().flatten(),
                    kept: None,
                };
                let sibling = match second_outcome {
                    Some(outcome) => One {
                        outcome,
                        etag: etags.next().flatten(),
                        kept: None,
                    },
                    None => One::unchanged(other),
                };
                return Ok(Applied { primary, sibling });
            }
            Err(Attempt::Lost) => took = started.elapsed(),
            Err(Attempt::Failed(e)) => return Err(e.into()),
        }
    }
    Err(policy.exhausted(container).into())
}

/// Why one attempt did not write.
enum Attempt {
    /// Another writer changed (created, replaced, deleted) the document first.
    Lost,
    /// Anything else; not retried.
    Failed(StoreError),
}

/// The errors a conditional write of the document meets when it lost a race:
/// a stale ETag, a create that met a new document, a replace or delete that
/// met none.
fn lost_race(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::PreconditionFailed | StoreError::Conflict | StoreError::NotFound
    )
}

/// Writes the document alone, with the port's single-document calls.
async fn write_one(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    op: BatchOp,
) -> Result<Option<ETag>, Attempt> {
    let result = match op {
        BatchOp::Create { id, body } => store.create(container, pk, &id, body).await.map(Some),
        BatchOp::Replace { id, body, if_match } => store
            .replace(container, pk, &id, body, if_match.as_ref())
            .await
            .map(Some),
        BatchOp::Delete { id, if_match } => store
            .delete(container, pk, &id, if_match.as_ref())
            .await
            .map(|()| None),
        BatchOp::Upsert { id, body } => store.upsert(container, pk, &id, body).await.map(Some),
    };
    result.map_err(|e| {
        if lost_race(&e) {
            Attempt::Lost
        } else {
            Attempt::Failed(e)
        }
    })
}

/// Writes the document first, its sibling's operation second and `others`
/// after them in one batch, so that a lost race of the documents that were
/// read is what a batch reports before anything else; returns the ETags in
/// that order.
async fn write_batch(
    store: &dyn DocumentStore,
    container: &Container,
    pk: &str,
    primary: BatchOp,
    second: Option<BatchOp>,
    others: Vec<BatchOp>,
) -> Result<Vec<Option<ETag>>, Attempt> {
    let guarded = 1 + usize::from(second.is_some());
    let mut ops = Vec::with_capacity(others.len() + guarded);
    ops.push(primary);
    ops.extend(second);
    ops.extend(others);
    match store.batch(container, pk, ops).await {
        Ok(etags) => Ok(etags),
        Err(StoreError::BatchFailed { index, cause }) if index < guarded => {
            if lost_race(&cause) {
                Err(Attempt::Lost)
            } else {
                Err(Attempt::Failed(*cause))
            }
        }
        Err(StoreError::BatchFailed { index, cause }) => {
            Err(Attempt::Failed(StoreError::BatchFailed {
                index: index - guarded,
                cause,
            }))
        }
        Err(e) => Err(Attempt::Failed(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    };

    use async_trait::async_trait;
    use rand::{rngs::StdRng, SeedableRng};
    use serde_json::json;

    use super::*;
    use crate::{
        clock::SystemClock,
        sqlite::Database,
        store::{Page, Query},
    };

    const C: &Container = &Container::new("things", "pk");

    /// A store on which another writer bumps `p/target` (`p/x` unless told)
    /// just before each of the next `races` writes, so that their
    /// preconditions fail.
    #[derive(Debug)]
    struct Racing {
        inner: Arc<dyn DocumentStore>,
        races: AtomicU32,
        writes: AtomicU32,
        target: &'static str,
    }

    impl Racing {
        async fn new(races: u32) -> (Self, tempfile::TempDir) {
            Self::on(races, "x").await
        }

        async fn on(races: u32, target: &'static str) -> (Self, tempfile::TempDir) {
            let dir = tempfile::tempdir().expect("temp dir");
            let db = Database::open(&dir.path().join("db"), Arc::new(SystemClock)).expect("db");
            let racing = Self {
                inner: Arc::new(db.store()),
                races: AtomicU32::new(races),
                writes: AtomicU32::new(0),
                target,
            };
            (racing, dir)
        }

        async fn race(&self) {
            self.writes.fetch_add(1, Ordering::SeqCst);
            let lost = self
                .races
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if lost {
                let current = self.inner.read(C, "p", self.target).await.expect("read");
                let n = current.map_or(0, |d| d.body["n"].as_u64().unwrap_or(0));
                self.inner
                    .upsert(C, "p", self.target, json!({"n": n + 100}))
                    .await
                    .expect("the other writer writes");
            }
        }
    }

    #[async_trait]
    impl DocumentStore for Racing {
        fn kind(&self) -> &'static str {
            "racing"
        }
        async fn read(
            &self,
            c: &Container,
            pk: &str,
            id: &str,
        ) -> Result<Option<Document>, StoreError> {
            self.inner.read(c, pk, id).await
        }
        async fn create(
            &self,
            c: &Container,
            pk: &str,
            id: &str,
            body: Value,
        ) -> Result<ETag, StoreError> {
            self.race().await;
            self.inner.create(c, pk, id, body).await
        }
        async fn replace(
            &self,
            c: &Container,
            pk: &str,
            id: &str,
            body: Value,
            if_match: Option<&ETag>,
        ) -> Result<ETag, StoreError> {
            self.race().await;
            self.inner.replace(c, pk, id, body, if_match).await
        }
        async fn upsert(
            &self,
            c: &Container,
            pk: &str,
            id: &str,
            body: Value,
        ) -> Result<ETag, StoreError> {
            self.inner.upsert(c, pk, id, body).await
        }
        async fn delete(
            &self,
            c: &Container,
            pk: &str,
            id: &str,
            if_match: Option<&ETag>,
        ) -> Result<(), StoreError> {
            self.race().await;
            self.inner.delete(c, pk, id, if_match).await
        }
        async fn batch(
            &self,
            c: &Container,
            pk: &str,
            ops: Vec<BatchOp>,
        ) -> Result<Vec<Option<ETag>>, StoreError> {
            self.race().await;
            self.inner.batch(c, pk, ops).await
        }
        async fn query(&self, query: &Query) -> Result<Page, StoreError> {
            self.inner.query(query).await
        }
        async fn changes(
            &self,
            container: &Container,
            from: &crate::store::FeedPosition,
            max: usize,
        ) -> Result<crate::store::ChangePage, StoreError> {
            self.inner.changes(container, from, max).await
        }

        async fn health(&self) -> Result<(), StoreError> {
            self.inner.health().await
        }
    }

    #[derive(Debug, Clone, Serialize, serde::Deserialize)]
    struct N {
        n: u64,
    }

    fn increment(n: Option<N>) -> Result<Change<N>, StoreError> {
        Ok(Change::Write(N {
            n: n.map_or(0, |n| n.n) + 1,
        }))
    }

    #[tokio::test]
    async fn lost_races_are_retried_on_a_fresh_read() {
        for races in [0, 1, 5] {
            let (store, _dir) = Racing::new(races).await;
            let mut seen = Vec::new();
            let written = update(&store, C, "p", "x", |n: Option<N>| {
                seen.push(n.as_ref().map(|n| n.n));
                increment(n)
            })
            .await
            .expect("the update gets through");
            assert_eq!(seen.len() as u32, races + 1, "one call per attempt");
            assert_eq!(store.writes.load(Ordering::SeqCst), races + 1);
            let stored = store
                .inner
                .read(C, "p", "x")
                .await
                .unwrap()
                .expect("written");
            assert_eq!(written.value().map(|n| n.n), stored.body["n"].as_u64());
            assert_eq!(written.etag(), Some(&stored.etag));
            let expected = if races == 0 {
                Outcome::Created
            } else {
                Outcome::Replaced
            };
            assert_eq!(written.outcome(), expected, "{races} races");
            // The last attempt saw the other writer's value.
            assert_eq!(
                seen.last().copied().flatten(),
                (races > 0).then_some(races as u64 * 100)
            );
        }
    }

    #[tokio::test]
    async fn batch_updates_retry_lost_races_of_the_document_only() {
        let (store, _dir) = Racing::new(3).await;
        let mut calls = 0;
        let written = update_in_batch(&store, C, "p", "x", |n: Option<N>| {
            calls += 1;
            let child = BatchOp::Create {
                id: "child".into(),
                body: json!({}),
            };
            Ok::<_, StoreError>((increment(n)?, vec![child]))
        })
        .await
        .expect("the update gets through");
        assert_eq!(calls, 4);
        assert_eq!(written.value().map(|n| n.n), Some(301));
        assert!(store.inner.read(C, "p", "child").await.unwrap().is_some());
    }

    /// Adds one to a total `x` and records the part `y` that says so.
    fn count_part(total: Option<N>, part: Option<N>) -> Result<(Change<N>, Change<N>), StoreError> {
        let total = total.map_or(0, |n| n.n) + 1;
        let part = part.map_or(0, |n| n.n) + 1;
        Ok((Change::Write(N { n: total }), Change::Write(N { n: part })))
    }

    #[tokio::test]
    async fn pairs_are_written_together_and_retried_when_either_lost() {
        // Races on the first document fail the batch at its first operation,
        // races on the sibling at its second; both are retried on a fresh read
        // of both.
        for target in ["x", "y"] {
            let (store, _dir) = Racing::on(0, target).await;
            let (total, part) = update_pair(&store, C, "p", "x", "y", count_part)
                .await
                .expect("the first pair is written");
            assert_eq!(
                (total.outcome(), part.outcome()),
                (Outcome::Created, Outcome::Created)
            );
            store.races.store(2, Ordering::SeqCst);
            let mut seen = Vec::new();
            let (total, part) =
                update_pair(&store, C, "p", "x", "y", |t: Option<N>, p: Option<N>| {
                    seen.push((t.as_ref().map(|n| n.n), p.as_ref().map(|n| n.n)));
                    count_part(t, p)
                })
                .await
                .expect("the pair gets through");
            assert_eq!(seen.len(), 3, "{target}: one call per attempt");
            let expected = if target == "x" { (202, 2) } else { (2, 202) };
            assert_eq!(
                seen.last(),
                Some(&(Some(expected.0 - 1), Some(expected.1 - 1)))
            );
            assert_eq!(
                (total.value().map(|n| n.n), part.value().map(|n| n.n)),
                (Some(expected.0), Some(expected.1)),
                "{target}"
            );
            for (id, written) in [("x", &total), ("y", &part)] {
                let stored = store.inner.read(C, "p", id).await.unwrap().expect("stored");
                assert_eq!(written.etag(), Some(&stored.etag), "{target}: {id}");
                assert_eq!(written.outcome(), Outcome::Replaced, "{target}: {id}");
            }
        }
    }

    #[tokio::test]
    async fn a_pair_that_keeps_its_first_document_writes_nothing() {
        let (store, _dir) = Racing::new(0).await;
        update_pair(&store, C, "p", "x", "y", count_part)
            .await
            .expect("the first pair is written");
        let refused = update_pair(&store, C, "p", "x", "y", |_: Option<N>, _: Option<N>| {
            Ok::<_, StoreError>((Change::Keep, Change::Delete))
        })
        .await;
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "an unguarded sibling write is refused"
        );
        let (total, part) = update_pair(&store, C, "p", "x", "y", |_: Option<N>, _: Option<N>| {
            Ok::<_, StoreError>((Change::Keep, Change::Keep))
        })
        .await
        .expect("keeping both");
        assert_eq!(
            (total.outcome(), total.value().map(|n| n.n)),
            (Outcome::Unchanged, Some(1))
        );
        assert_eq!(
            (part.outcome(), part.value().map(|n| n.n)),
            (Outcome::Unchanged, Some(1))
        );
        assert_eq!(
            store.writes.load(Ordering::SeqCst),
            1,
            "only the first pair"
        );
    }

    #[tokio::test]
    async fn exhausted_attempts_are_unavailable() {
        let (store, _dir) = Racing::new(u32::MAX).await;
        let policy = RetryPolicy {
            max_attempts: 4,
            base: Duration::from_micros(10),
            cap: Duration::from_micros(50),
        };
        let result = apply::<StoreError, _>(&store, C, "p", "x", None, &policy, |_, _| {
            Ok((
                RawChange::Write(json!({"n": 0})),
                RawChange::Keep,
                Vec::new(),
            ))
        })
        .await;
        match result {
            Err(StoreError::Unavailable(why)) => {
                assert!(why.contains("too much contention"), "{why}");
            }
            Err(e) => panic!("expected Unavailable, got {e:?}"),
            Ok(_) => panic!("expected Unavailable, got a write"),
        }
        assert_eq!(
            store.writes.load(Ordering::SeqCst),
            4,
            "exactly max_attempts"
        );
    }

    #[test]
    fn ceilings_double_from_the_attempt_up_to_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(100),
        };
        let ms = |lost, attempt_ms| {
            policy
                .ceiling(lost, Duration::from_millis(attempt_ms))
                .as_millis() as u64
        };
        let fast: Vec<u64> = (0..10).map(|lost| ms(lost, 0)).collect();
        assert_eq!(
            fast,
            [0, 1, 2, 4, 8, 16, 32, 64, 100, 100],
            "base floors the unit"
        );
        let slow: Vec<u64> = (0..7).map(|lost| ms(lost, 10)).collect();
        assert_eq!(
            slow,
            [0, 10, 20, 40, 80, 100, 100],
            "a slow attempt widens it"
        );
        assert_eq!(
            policy.ceiling(u32::MAX, Duration::MAX),
            policy.cap,
            "no overflow"
        );
    }

    #[test]
    fn delays_stay_within_zero_and_the_ceiling_and_spread_out() {
        let policy = RetryPolicy::DEFAULT;
        let mut rng = StdRng::seed_from_u64(7);
        for attempt in [
            Duration::ZERO,
            Duration::from_micros(50),
            Duration::from_millis(20),
        ] {
            for lost in 0..=policy.max_attempts {
                let ceiling = policy.ceiling(lost, attempt);
                let delays: Vec<Duration> = (0..200)
                    .map(|_| policy.delay(lost, attempt, &mut rng))
                    .collect();
                assert!(delays.iter().all(|d| *d <= ceiling), "lost {lost}");
                if lost > 0 {
                    // Full jitter: draws cover the window, not one point of it.
                    let (low, high) = (ceiling / 4, ceiling * 3 / 4);
                    assert!(delays.iter().any(|d| *d < low), "lost {lost}: none low");
                    assert!(delays.iter().any(|d| *d > high), "lost {lost}: none high");
                }
            }
        }
    }

    #[test]
    fn the_default_policy_is_bounded() {
        let policy = RetryPolicy::default();
        assert_eq!(policy, RetryPolicy::DEFAULT);
        assert!((50..=200).contains(&policy.max_attempts));
        assert!(policy.base <= policy.cap && policy.cap <= Duration::from_secs(10));
        // However slow the store, waits add up to at most attempts × cap.
        let worst: Duration = (1..policy.max_attempts)
            .map(|lost| policy.ceiling(lost, Duration::MAX))
            .sum();
        assert!(worst <= policy.cap * policy.max_attempts, "{worst:?}");
        // On a fast store, the first waits stay around a millisecond.
        assert!(policy.ceiling(1, Duration::from_micros(20)) <= Duration::from_millis(1));
    }
}
