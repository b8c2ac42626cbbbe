//! A fault-injecting document store for tests: [`FaultyStore`] wraps any
//! [`DocumentStore`] and slows down or fails chosen operations on chosen
//! containers, so a test can reproduce what production does on a bad day
//! without a misbehaving backend:
//!
//! - a write that commits long after the service built it (a Cosmos DB write
//!   retried on throttling takes ~15 s): [`FaultyStore::delay_writes`];
//! - a step that never happens (the backend was unreachable, the process
//!   died before it): [`FaultyStore::fail_next`];
//! - a step that happened but whose caller never heard so (a timeout after
//!   the commit, a crash right after it): [`FaultyStore::fail_next_after`];
//! - a process that dies at a chosen step: [`FaultyStore::crash_at`] fails
//!   that step and every write after it (its undo included), as if nothing
//!   after the step ever ran, until [`FaultyStore::clear`].
//!
//! Faults are armed and cleared while the store is in use (the methods take
//! `&self`), so a test can start an app on the wrapper, set up its data, and
//! only then make the backend misbehave. A delay sleeps *before* forwarding,
//! after the caller built what it writes: whatever timestamps it put in the
//! document are older than the commit by the delay.
//!
//! ```ignore
//! use jojomart_shared::conformance::faults::{FaultyStore, Op};
//!
//! let faulty = FaultyStore::wrap(store);
//! let store: SharedStore = faulty.clone(); // hand this to the app
//! faulty
//!     .delay_writes(PRODUCTS, Duration::from_secs(6))
//!     .fail_next(Op::Create, INVENTORY, 1);
//! // ... exercise the app ...
//! assert_eq!(faulty.injected(), 1, "the fault fired");
//! faulty.clear();
//! ```

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use serde_json::Value;

use crate::store::{
    BatchOp, ChangePage, Container, Document, DocumentStore, ETag, FeedPosition, Page, Query,
    SharedStore, StoreError,
};

/// A [`DocumentStore`] operation a fault can be attached to (`health` is
/// always forwarded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`DocumentStore::read`].
    Read,
    /// [`DocumentStore::create`].
    Create,
    /// [`DocumentStore::replace`].
    Replace,
    /// [`DocumentStore::upsert`].
    Upsert,
    /// [`DocumentStore::delete`].
    Delete,
    /// [`DocumentStore::batch`].
    Batch,
    /// [`DocumentStore::query`] (the query's container).
    Query,
    /// [`DocumentStore::changes`].
    Changes,
}

impl Op {
    /// The operations that change documents.
    pub const WRITES: [Op; 5] = [Op::Create, Op::Replace, Op::Upsert, Op::Delete, Op::Batch];
}

/// What a rule does to the calls it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Sleep this long, then forward.
    Delay(Duration),
    /// Forward, then sleep this long before answering.
    DelayAfter(Duration),
    /// Fail without forwarding: nothing reaches the wrapped store.
    FailBefore,
    /// Forward, then fail even though the operation took effect.
    FailAfter,
    /// Fail without forwarding, and fail every later write until cleared.
    Crash,
}

/// One armed fault.
#[derive(Debug, Clone)]
struct Rule {
    ops: Vec<Op>,
    container: &'static str,
    effect: Effect,
    /// Calls left before the rule is spent; `None` for "until cleared".
    remaining: Option<usize>,
}

/// What happens to one call, decided when it starts.
#[derive(Debug, Default)]
struct Plan {
    delay: Duration,
    delay_after: Duration,
    fail: Option<Effect>,
}

#[derive(Debug, Default)]
struct Faults {
    rules: Vec<Rule>,
    injected: usize,
    /// A [`Effect::Crash`] fired: every write fails until cleared.
    crashed: bool,
}

/// A [`DocumentStore`] that forwards to another one, except that it delays or
/// fails the operations its armed faults match. See the [module docs](self).
#[derive(Debug)]
pub struct FaultyStore {
    inner: SharedStore,
    faults: Mutex<Faults>,
}

impl FaultyStore {
    /// Wraps `inner`, with no fault armed: until one is, it behaves exactly as `inner`.
    pub fn wrap(inner: SharedStore) -> Arc<Self> {
        Arc::new(Self {
            inner,
            faults: Mutex::new(Faults::default()),
        })
    }

    /// The wrapped store (to look behind the faults).
    pub fn inner(&self) -> &SharedStore {
        &self.inner
    }

    /// Makes every write to `container` ([`Op::WRITES`]) sleep `by` before it
    /// is forwarded, until [`FaultyStore::clear`]. Delays of several rules add up.
    pub fn delay_writes(&self, container: &Container, by: Duration) -> &Self {
        self.arm(&Op::WRITES, container, Effect::Delay(by), None)
    }

    /// Makes every `op` on `container` sleep `by` before it is forwarded,
    /// until [`FaultyStore::clear`].
    pub fn delay(&self, op: Op, container: &Container, by: Duration) -> &Self {
        self.arm(&[op], container, Effect::Delay(by), None)
    }

    /// Makes every `op` on `container` sleep `by` after the wrapped store
    /// answered and before the caller sees it (a slow network back), until
    /// [`FaultyStore::clear`]: concurrent callers all read before any writes.
    pub fn delay_after(&self, op: Op, container: &Container, by: Duration) -> &Self {
        self.arm(&[op], container, Effect::DelayAfter(by), None)
    }

    /// Fails the next `times` calls of `op` on `container` with
    /// [`StoreError::Unavailable`] without forwarding them: the operation
    /// does not happen.
    pub fn fail_next(&self, op: Op, container: &Container, times: usize) -> &Self {
        self.arm(&[op], container, Effect::FailBefore, Some(times))
    }

    /// Forwards the next `times` calls of `op` on `container`, then answers
    /// [`StoreError::Unavailable`] even when they succeeded: the operation
    /// happened but its caller cannot know (a timeout after the commit, or a
    /// crash right after the step). A call the wrapped store failed keeps its
    /// own error and still spends the fault.
    pub fn fail_next_after(&self, op: Op, container: &Container, times: usize) -> &Self {
        self.arm(&[op], container, Effect::FailAfter, Some(times))
    }

    /// Kills the "process" at the next `op` on `container`: that call fails
    /// without being forwarded, and so does every write after it, to any
    /// container, until [`FaultyStore::clear`] (the restart). Nothing a
    /// caller does after the step (its undo included) reaches the store.
    pub fn crash_at(&self, op: Op, container: &Container) -> &Self {
        self.arm(&[op], container, Effect::Crash, Some(1))
    }

    /// Whether a [`FaultyStore::crash_at`] fired (and was not cleared since).
    pub fn crashed(&self) -> bool {
        self.lock().crashed
    }

    /// Disarms every fault (and ends a crash); calls already sleeping finish their delay.
    pub fn clear(&self) -> &Self {
        let mut faults = self.lock();
        faults.rules.clear();
        faults.crashed = false;
        drop(faults);
        self
    }

    /// How many calls were failed by a fault so far.
    pub fn injected(&self) -> usize {
        self.lock().injected
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arm(
        &self,
        ops: &[Op],
        container: &Container,
        effect: Effect,
        remaining: Option<usize>,
    ) -> &Self {
        if remaining != Some(0) {
            self.lock().rules.push(Rule {
                ops: ops.to_vec(),
                container: container.name,
                effect,
                remaining,
            });
        }
        self
    }

    /// Decides what happens to a call: every matching delay adds up, and the
    /// first matching failure (oldest armed first) is spent.
    fn plan(&self, op: Op, container: &Container) -> Plan {
        let mut faults = self.lock();
        let mut plan = Plan::default();
        if faults.crashed && Op::WRITES.contains(&op) {
            plan.fail = Some(Effect::FailBefore);
            faults.injected += 1;
            return plan;
        }
        for rule in &mut faults.rules {
            if rule.container != container.name || !rule.ops.contains(&op) {
                continue;
            }
            match rule.effect {
                Effect::Delay(by) => plan.delay += by,
                Effect::DelayAfter(by) => plan.delay_after += by,
                fail if plan.fail.is_none() => {
                    plan.fail = Some(fail);
                    if let Some(n) = &mut rule.remaining {
                        *n -= 1;
                    }
                }
                _ => {}
            }
        }
        faults.rules.retain(|r| r.remaining != Some(0));
        if plan.fail.is_some() {
            faults.injected += 1;
        }
        if plan.fail == Some(Effect::Crash) {
            faults.crashed = true;
        }
        plan
    }

    /// Runs `call` (a not yet started call of the wrapped store) under the faults armed for it.
    async fn around<T>(
        &self,
        op: Op,
        container: &Container,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let plan = self.plan(op, container);
        if !plan.delay.is_zero() {
            tokio::time::sleep(plan.delay).await;
        }
        let injected =
            || StoreError::Unavailable(format!("injected fault: {op:?} on `{}`", container.name));
        let result = match plan.fail {
            Some(Effect::FailBefore | Effect::Crash) => return Err(injected()),
            Some(Effect::FailAfter) => call.await.and_then(|_| Err(injected())),
            _ => call.await,
        };
        if !plan.delay_after.is_zero() {
            tokio::time::sleep(plan.delay_after).await;
        }
        result
    }
}

#[async_trait]
impl DocumentStore for FaultyStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn read(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        let call = self.inner.read(container, pk, id);
        self.around(Op::Read, container, call).await
    }

    async fn create(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError> {
        let call = self.inner.create(container, pk, id, body);
        self.around(Op::Create, container, call).await
    }

    async fn replace(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
        if_match: Option<&ETag>,
    ) -> Result<ETag, StoreError> {
        let call = self.inner.replace(container, pk, id, body, if_match);
        self.around(Op::Replace, container, call).await
    }

    async fn upsert(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        body: Value,
    ) -> Result<ETag, StoreError> {
        let call = self.inner.upsert(container, pk, id, body);
        self.around(Op::Upsert, container, call).await
    }

    async fn delete(
        &self,
        container: &Container,
        pk: &str,
        id: &str,
        if_match: Option<&ETag>,
    ) -> Result<(), StoreError> {
        let call = self.inner.delete(container, pk, id, if_match);
        self.around(Op::Delete, container, call).await
    }

    async fn batch(
        &self,
        container: &Container,
        pk: &str,
        ops: Vec<BatchOp>,
    ) -> Result<Vec<Option<ETag>>, StoreError> {
        let call = self.inner.batch(container, pk, ops);
        self.around(Op::Batch, container, call).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let call = self.inner.query(query);
        self.around(Op::Query, &query.container, call).await
    }

    async fn changes(
        &self,
        container: &Container,
        from: &FeedPosition,
        max: usize,
    ) -> Result<ChangePage, StoreError> {
        let call = self.inner.changes(container, from, max);
        self.around(Op::Changes, container, call).await
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.inner.health().await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;
    use crate::{clock::SystemClock, sqlite::TempDatabase};

    const THINGS: &Container = &Container::new("things", "pk");
    const OTHERS: &Container = &Container::new("others", "pk");

    fn fresh() -> (Arc<FaultyStore>, TempDatabase) {
        let db = TempDatabase::new(Arc::new(SystemClock)).expect("temp database");
        (FaultyStore::wrap(Arc::new(db.store())), db)
    }

    #[tokio::test]
    async fn forwards_everything_until_a_fault_is_armed() {
        let (store, _db) = fresh();
        store
            .create(THINGS, "p", "a", json!({"n": 1}))
            .await
            .unwrap();
        let doc = store.read(THINGS, "p", "a").await.unwrap().unwrap();
        assert_eq!(doc.body["n"], 1);
        let page = store
            .changes(THINGS, &FeedPosition::beginning(), 10)
            .await
            .unwrap();
        assert_eq!(page.documents.len(), 1);
        assert_eq!(store.injected(), 0);
    }

    #[tokio::test]
    async fn delays_writes_to_the_chosen_container_only() {
        let (store, _db) = fresh();
        store.delay_writes(THINGS, Duration::from_millis(300));
        let started = Instant::now();
        store.create(OTHERS, "p", "a", json!({})).await.unwrap();
        store.read(THINGS, "p", "a").await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(300));
        let started = Instant::now();
        store.upsert(THINGS, "p", "a", json!({})).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        store.clear();
        let started = Instant::now();
        store.upsert(THINGS, "p", "a", json!({})).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[tokio::test]
    async fn delay_after_answers_late_what_the_store_already_did() {
        let (store, _db) = fresh();
        store.delay_after(Op::Create, THINGS, Duration::from_millis(300));
        let slow = store.create(THINGS, "p", "a", json!({"n": 1}));
        let reader = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            store.inner().read(THINGS, "p", "a").await.unwrap()
        };
        let started = Instant::now();
        let (created, seen) = tokio::join!(slow, reader);
        created.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(seen.is_some(), "written before the caller heard back");
    }

    #[tokio::test]
    async fn fail_next_stops_the_write_and_is_spent() {
        let (store, _db) = fresh();
        store.fail_next(Op::Create, THINGS, 2);
        for _ in 0..2 {
            let e = store.create(THINGS, "p", "a", json!({})).await.unwrap_err();
            assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
        }
        assert!(store.read(THINGS, "p", "a").await.unwrap().is_none());
        store.create(THINGS, "p", "a", json!({})).await.unwrap();
        assert_eq!(store.injected(), 2);
    }

    #[tokio::test]
    async fn a_crash_stops_the_step_and_every_write_after_it_until_cleared() {
        let (store, _db) = fresh();
        store.crash_at(Op::Create, THINGS);
        store
            .create(OTHERS, "p", "before", json!({}))
            .await
            .unwrap();
        assert!(store.create(THINGS, "p", "a", json!({})).await.is_err());
        assert!(store.crashed());
        assert!(store.upsert(OTHERS, "p", "b", json!({})).await.is_err());
        assert!(store.delete(OTHERS, "p", "before", None).await.is_err());
        assert!(store.read(OTHERS, "p", "before").await.unwrap().is_some());
        store.clear();
        assert!(!store.crashed());
        store.create(THINGS, "p", "a", json!({})).await.unwrap();
        assert!(store
            .inner()
            .read(OTHERS, "p", "b")
            .await
            .unwrap()
            .is_none());
        assert_eq!(store.injected(), 3);
    }

    #[tokio::test]
    async fn fail_next_after_lets_the_write_happen() {
        let (store, _db) = fresh();
        store.fail_next_after(Op::Batch, THINGS, 1);
        let ops = vec![BatchOp::Create {
            id: "a".into(),
            body: json!({}),
        }];
        let e = store.batch(THINGS, "p", ops).await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
        assert!(store.read(THINGS, "p", "a").await.unwrap().is_some());
        assert_eq!(store.injected(), 1);
    }
}
