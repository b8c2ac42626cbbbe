//! The document-store suite: what every [`DocumentStore`](crate::store::DocumentStore)
//! adapter must do, checked in the `conformance` container (partition key `pk`).
//!
//! Checks only assert what Cosmos DB promises: pages may hold fewer items than
//! the limit, and ties in a sort are not asserted in any order.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::unique;
use crate::store::{
    update, update_in_batch, update_pair, BatchOp, Change, Container, Document, ETag, Field,
    Filter, Order, Outcome, Query, SharedStore, StoreError,
};

/// The container every check writes to; adapters under test must have it.
pub const CONTAINER: &Container = &Container::new("conformance", "pk");

fn field(path: &str) -> Field {
    Filter::field(path)
}

async fn read(store: &SharedStore, pk: &str, id: &str) -> Option<Document> {
    store
        .read(CONTAINER, pk, id)
        .await
        .unwrap_or_else(|e| panic!("read {pk}/{id} failed: {e}"))
}

async fn create(store: &SharedStore, pk: &str, id: &str, body: Value) -> ETag {
    store
        .create(CONTAINER, pk, id, body)
        .await
        .unwrap_or_else(|e| panic!("create {pk}/{id} failed: {e}"))
}

/// Follows continuations from the query's own (usually none) to the end and
/// returns every page.
async fn all_pages(store: &SharedStore, query: &Query) -> Vec<Vec<Document>> {
    let mut pages = Vec::new();
    let mut token = query.continuation.clone();
    loop {
        let page = store
            .query(&query.clone().continuation(token.take()))
            .await
            .unwrap_or_else(|e| panic!("query failed on page {}: {e}", pages.len() + 1));
        assert!(
            page.items.len() <= query.limit as usize,
            "a page held {} items, over the limit of {}",
            page.items.len(),
            query.limit
        );
        pages.push(page.items);
        match page.continuation {
            Some(t) => token = Some(t),
            None => return pages,
        }
        assert!(pages.len() <= 10_000, "paging never ended");
    }
}

/// The ids of every document the query returns, in order.
async fn ids(store: &SharedStore, query: Query) -> Vec<String> {
    all_pages(store, &query)
        .await
        .into_iter()
        .flatten()
        .map(|d| d.id)
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Checks that `found` has no duplicates and returns it as a set.
fn distinct(found: &[String], context: &str) -> BTreeSet<String> {
    let unique: BTreeSet<String> = found.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        found.len(),
        "{context}: a document came back twice: {found:?}"
    );
    unique
}

/// A create on a new address returns an ETag, and a read returns the body with
/// `id` and the partition-key field stamped in and the same ETag.
pub async fn create_then_read_returns_stamped_body(store: SharedStore) {
    let pk = unique("p");
    let etag = create(
        &store,
        &pk,
        "a",
        json!({"name": "Ünïcødé ✓", "n": 1, "nested": {"x": [1, 2]}}),
    )
    .await;
    let doc = read(&store, &pk, "a")
        .await
        .expect("the created document is readable");
    assert_eq!(doc.id, "a");
    assert_eq!(doc.partition_key, pk);
    assert_eq!(doc.etag, etag, "read returns the ETag the create returned");
    assert_eq!(doc.body["id"], json!("a"));
    assert_eq!(doc.body["pk"], json!(pk));
    assert_eq!(doc.body["name"], json!("Ünïcødé ✓"));
    assert_eq!(doc.body["n"], json!(1));
    assert_eq!(doc.body["nested"], json!({"x": [1, 2]}));
}

/// Reading an address nothing was written to is `None`, not an error.
pub async fn read_missing_is_none(store: SharedStore) {
    let pk = unique("p");
    assert!(read(&store, &pk, "nothing-here").await.is_none());
    create(&store, &pk, "a", json!({})).await;
    assert!(
        read(&store, &pk, "b").await.is_none(),
        "another id in the same partition"
    );
    assert!(
        read(&store, &unique("p"), "a").await.is_none(),
        "the same id in another partition"
    );
}

/// A second create of one address is a conflict and leaves the first untouched.
pub async fn create_conflict_keeps_original(store: SharedStore) {
    let pk = unique("p");
    let etag = create(&store, &pk, "a", json!({"v": "original"})).await;
    let err = store
        .create(CONTAINER, &pk, "a", json!({"v": "intruder"}))
        .await
        .expect_err("a second create of the same address must fail");
    assert!(
        matches!(err, StoreError::Conflict),
        "expected Conflict, got {err:?}"
    );
    let doc = read(&store, &pk, "a")
        .await
        .expect("the original is still there");
    assert_eq!(doc.body["v"], json!("original"));
    assert_eq!(
        doc.etag, etag,
        "the failed create did not touch the document"
    );
    // The same id in another partition is a different document.
    create(&store, &unique("p"), "a", json!({})).await;
}

/// A replace with a stale ETag is refused and changes nothing; the current ETag works.
pub async fn replace_with_stale_etag_is_refused(store: SharedStore) {
    let pk = unique("p");
    let first = create(&store, &pk, "a", json!({"v": 1})).await;
    let second = store
        .replace(CONTAINER, &pk, "a", json!({"v": 2}), Some(&first))
        .await
        .expect("a replace with the current ETag succeeds");
    assert_ne!(first, second, "every write changes the ETag");

    let err = store
        .replace(CONTAINER, &pk, "a", json!({"v": 3}), Some(&first))
        .await
        .expect_err("a replace with a stale ETag must fail");
    assert!(
        matches!(err, StoreError::PreconditionFailed),
        "expected PreconditionFailed, got {err:?}"
    );
    let doc = read(&store, &pk, "a").await.expect("still there");
    assert_eq!(
        doc.body["v"],
        json!(2),
        "the refused replace changed the body"
    );
    assert_eq!(doc.etag, second, "the refused replace changed the ETag");

    let third = store
        .replace(CONTAINER, &pk, "a", json!({"v": 4}), None)
        .await
        .expect("an unconditional replace succeeds");
    assert_ne!(third, second);
    assert_eq!(
        read(&store, &pk, "a").await.expect("still there").body["v"],
        json!(4)
    );
}

/// A delete with a stale ETag is refused and the document stays; the current ETag deletes.
pub async fn delete_with_stale_etag_is_refused(store: SharedStore) {
    let pk = unique("p");
    let first = create(&store, &pk, "a", json!({"v": 1})).await;
    let second = store
        .replace(CONTAINER, &pk, "a", json!({"v": 2}), None)
        .await
        .expect("replace succeeds");
    let err = store
        .delete(CONTAINER, &pk, "a", Some(&first))
        .await
        .expect_err("a delete with a stale ETag must fail");
    assert!(
        matches!(err, StoreError::PreconditionFailed),
        "expected PreconditionFailed, got {err:?}"
    );
    let doc = read(&store, &pk, "a")
        .await
        .expect("the refused delete removed the document");
    assert_eq!(doc.etag, second);
    assert_eq!(doc.body["v"], json!(2));

    store
        .delete(CONTAINER, &pk, "a", Some(&second))
        .await
        .expect("a delete with the current ETag succeeds");
    assert!(read(&store, &pk, "a").await.is_none());
}

/// Replacing or deleting an absent document is `NotFound`, with or without an ETag.
pub async fn replace_or_delete_missing_is_not_found(store: SharedStore) {
    let pk = unique("p");
    let etag = create(&store, &pk, "other", json!({})).await;
    let cases = [
        store
            .replace(CONTAINER, &pk, "ghost", json!({}), None)
            .await
            .map(|_| ()),
        store
            .replace(CONTAINER, &pk, "ghost", json!({}), Some(&etag))
            .await
            .map(|_| ()),
        store.delete(CONTAINER, &pk, "ghost", None).await,
        store.delete(CONTAINER, &pk, "ghost", Some(&etag)).await,
    ];
    for (i, result) in cases.into_iter().enumerate() {
        assert!(
            matches!(result, Err(StoreError::NotFound)),
            "case {i}: expected NotFound, got {result:?}"
        );
    }
    assert!(
        read(&store, &pk, "ghost").await.is_none(),
        "a failed replace created the document"
    );
}

/// Upsert creates an absent document and overwrites (not merges) a present one.
pub async fn upsert_creates_then_overwrites(store: SharedStore) {
    let pk = unique("p");
    let first = store
        .upsert(CONTAINER, &pk, "a", json!({"v": 1, "old": true}))
        .await
        .expect("upsert creates");
    let doc = read(&store, &pk, "a")
        .await
        .expect("upsert created the document");
    assert_eq!(
        (doc.body["v"].clone(), doc.etag.clone()),
        (json!(1), first.clone())
    );

    let second = store
        .upsert(CONTAINER, &pk, "a", json!({"v": 2}))
        .await
        .expect("upsert overwrites");
    assert_ne!(first, second, "upsert changes the ETag");
    let doc = read(&store, &pk, "a").await.expect("still there");
    assert_eq!(doc.body["v"], json!(2));
    assert!(
        doc.body.get("old").is_none(),
        "upsert replaces the whole body: {}",
        doc.body
    );
    assert_eq!(doc.etag, second);
}

/// A deleted document reads as `None`, a second delete is `NotFound`, and the
/// address can be created again.
pub async fn delete_then_read_is_none(store: SharedStore) {
    let pk = unique("p");
    create(&store, &pk, "a", json!({"v": 1})).await;
    store
        .delete(CONTAINER, &pk, "a", None)
        .await
        .expect("delete succeeds");
    assert!(read(&store, &pk, "a").await.is_none());
    let again = store.delete(CONTAINER, &pk, "a", None).await;
    assert!(
        matches!(again, Err(StoreError::NotFound)),
        "expected NotFound, got {again:?}"
    );
    create(&store, &pk, "a", json!({"v": 2})).await;
    assert_eq!(
        read(&store, &pk, "a").await.expect("recreated").body["v"],
        json!(2)
    );
}

/// Recognizes the cause a failed batch operation must report.
type ExpectedCause = fn(&StoreError) -> bool;

/// A batch whose third operation fails writes none of its operations and
/// reports the failing index and cause.
pub async fn failed_batch_writes_nothing(store: SharedStore) {
    let pk = unique("p");
    let kept = create(&store, &pk, "kept", json!({"v": "before"})).await;
    let taken = create(&store, &pk, "taken", json!({"v": "before"})).await;

    let third_ops: [(BatchOp, ExpectedCause); 3] = [
        (
            BatchOp::Create {
                id: "taken".into(),
                body: json!({"v": "after"}),
            },
            |e| matches!(e, StoreError::Conflict),
        ),
        (
            BatchOp::Replace {
                id: "taken".into(),
                body: json!({"v": "after"}),
                if_match: Some(ETag("stale".into())),
            },
            |e| matches!(e, StoreError::PreconditionFailed),
        ),
        (
            BatchOp::Delete {
                id: "ghost".into(),
                if_match: None,
            },
            |e| matches!(e, StoreError::NotFound),
        ),
    ];
    for (case, (third, expected)) in third_ops.into_iter().enumerate() {
        let ops = vec![
            BatchOp::Create {
                id: "new".into(),
                body: json!({"v": "after"}),
            },
            BatchOp::Upsert {
                id: "kept".into(),
                body: json!({"v": "after"}),
            },
            third,
            BatchOp::Delete {
                id: "taken".into(),
                if_match: None,
            },
        ];
        let err = store
            .batch(CONTAINER, &pk, ops)
            .await
            .expect_err("a batch with a failing operation must fail");
        match &err {
            StoreError::BatchFailed { index, cause } => {
                assert_eq!(*index, 2, "case {case}: the third operation failed");
                assert!(expected(cause), "case {case}: unexpected cause {cause:?}");
            }
            other => panic!("case {case}: expected BatchFailed, got {other:?}"),
        }
        assert!(
            read(&store, &pk, "new").await.is_none(),
            "case {case}: operation 0 was kept"
        );
        let doc = read(&store, &pk, "kept").await.expect("kept exists");
        assert_eq!(
            (doc.body["v"].clone(), doc.etag),
            (json!("before"), kept.clone()),
            "case {case}: operation 1 was kept"
        );
        let doc = read(&store, &pk, "taken")
            .await
            .expect("operation 3 was kept");
        assert_eq!(
            (doc.body["v"].clone(), doc.etag),
            (json!("before"), taken.clone()),
            "case {case}"
        );
    }
}

/// A batch that succeeds applies every operation and returns each new ETag.
pub async fn successful_batch_writes_all(store: SharedStore) {
    let pk = unique("p");
    let replaced = create(&store, &pk, "replaced", json!({"v": "before"})).await;
    create(&store, &pk, "deleted", json!({})).await;
    create(&store, &pk, "upserted", json!({"v": "before"})).await;

    let etags = store
        .batch(
            CONTAINER,
            &pk,
            vec![
                BatchOp::Create {
                    id: "created".into(),
                    body: json!({"v": "after"}),
                },
                BatchOp::Upsert {
                    id: "upserted".into(),
                    body: json!({"v": "after"}),
                },
                BatchOp::Replace {
                    id: "replaced".into(),
                    body: json!({"v": "after"}),
                    if_match: Some(replaced.clone()),
                },
                BatchOp::Delete {
                    id: "deleted".into(),
                    if_match: None,
                },
                BatchOp::Upsert {
                    id: "fresh".into(),
                    body: json!({"v": "after"}),
                },
            ],
        )
        .await
        .expect("the batch succeeds");
    assert_eq!(etags.len(), 5, "one result per operation");
    assert!(etags[3].is_none(), "a delete returns no ETag");
    for (i, id) in [
        (0, "created"),
        (1, "upserted"),
        (2, "replaced"),
        (4, "fresh"),
    ] {
        let doc = read(&store, &pk, id)
            .await
            .unwrap_or_else(|| panic!("{id} was not written"));
        assert_eq!(doc.body["v"], json!("after"), "{id}");
        assert_eq!(
            doc.body["pk"],
            json!(pk),
            "{id}: the batch stamps the partition key"
        );
        assert_eq!(
            Some(doc.etag),
            etags[i].clone(),
            "{id}: the batch returned its ETag"
        );
    }
    assert!(read(&store, &pk, "deleted").await.is_none());
    assert_ne!(etags[2].as_ref(), Some(&replaced));
}

/// The counter the concurrency checks increment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Counter {
    count: u64,
}

/// `update` creates an absent document, replaces a present one, keeps one as
/// it is, deletes one, and reports each outcome with the value and ETag it left.
pub async fn update_creates_replaces_keeps_and_deletes(store: SharedStore) {
    let pk = unique("p");
    let increment = |c: Option<Counter>| {
        Ok::<_, StoreError>(Change::Write(Counter {
            count: c.unwrap_or_default().count + 1,
        }))
    };
    let created = update(store.as_ref(), CONTAINER, &pk, "c", increment)
        .await
        .expect("update creates");
    assert_eq!(created.outcome(), Outcome::Created);
    assert_eq!(created.value().map(|c| c.count), Some(1));
    let doc = read(&store, &pk, "c").await.expect("created");
    assert_eq!(created.etag(), Some(&doc.etag), "the ETag of the create");
    assert_eq!(doc.body["count"], json!(1));

    let replaced = update(store.as_ref(), CONTAINER, &pk, "c", increment)
        .await
        .expect("update replaces");
    assert_eq!(replaced.outcome(), Outcome::Replaced);
    assert_eq!(replaced.value().map(|c| c.count), Some(2));
    let doc = read(&store, &pk, "c").await.expect("replaced");
    assert_eq!(replaced.etag(), Some(&doc.etag), "the ETag of the replace");

    let kept = update(store.as_ref(), CONTAINER, &pk, "c", |c: Option<Counter>| {
        assert_eq!(c.map(|c| c.count), Some(2), "the closure sees the value");
        Ok::<_, StoreError>(Change::Keep)
    })
    .await
    .expect("update keeps");
    assert_eq!(kept.outcome(), Outcome::Unchanged);
    assert_eq!(kept.value().map(|c| c.count), Some(2));
    assert_eq!(kept.etag(), Some(&doc.etag), "keeping writes nothing");

    let refused = update(store.as_ref(), CONTAINER, &pk, "c", |_: Option<Counter>| {
        Err::<Change<Counter>, _>(StoreError::Invalid("the caller says no".into()))
    })
    .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "the closure's error comes back: {refused:?}"
    );

    let deleted = update(store.as_ref(), CONTAINER, &pk, "c", |_: Option<Counter>| {
        Ok::<_, StoreError>(Change::Delete)
    })
    .await
    .expect("update deletes");
    assert_eq!(deleted.outcome(), Outcome::Deleted);
    assert!(deleted.value().is_none() && deleted.etag().is_none());
    assert!(read(&store, &pk, "c").await.is_none());

    let absent = update(store.as_ref(), CONTAINER, &pk, "c", |c: Option<Counter>| {
        assert!(c.is_none(), "the closure sees the absence");
        Ok::<_, StoreError>(Change::Delete)
    })
    .await
    .expect("deleting an absent document is no error");
    assert_eq!(absent.outcome(), Outcome::Unchanged);
    assert!(absent.into_parts().is_none());
}

/// 32 tasks each increment one counter 50 times with `update`; optimistic
/// concurrency must not lose a single increment, and the retry policy must
/// get every task through.
pub async fn concurrent_updates_lose_nothing(store: SharedStore) {
    const TASKS: u64 = 32;
    const INCREMENTS: u64 = 50;
    let pk = unique("p");
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (store, pk) = (store.clone(), pk.clone());
            tokio::spawn(async move {
                for _ in 0..INCREMENTS {
                    update(
                        store.as_ref(),
                        CONTAINER,
                        &pk,
                        "counter",
                        |c: Option<Counter>| {
                            let count = c.unwrap_or_default().count + 1;
                            Ok::<_, StoreError>(Change::Write(Counter { count }))
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("an increment failed: {e}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an increment task panicked");
    }
    let doc = read(&store, &pk, "counter")
        .await
        .expect("the counter exists");
    assert_eq!(
        doc.body["count"],
        json!(TASKS * INCREMENTS),
        "increments were lost"
    );
}

/// 16 tasks each increment one counter 20 times with `update_in_batch`, each
/// increment creating a child document in the same batch: no increment is
/// lost, and every child of a won race is there, once.
pub async fn concurrent_batch_updates_lose_nothing(store: SharedStore) {
    const TASKS: u64 = 16;
    const INCREMENTS: u64 = 20;
    let pk = unique("p");
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, pk) = (store.clone(), pk.clone());
            tokio::spawn(async move {
                for i in 0..INCREMENTS {
                    let child = BatchOp::Create {
                        id: format!("child-{task:02}-{i:02}"),
                        body: json!({"kind": "child", "task": task, "i": i}),
                    };
                    update_in_batch(
                        store.as_ref(),
                        CONTAINER,
                        &pk,
                        "counter",
                        |c: Option<Counter>| {
                            let count = c.unwrap_or_default().count + 1;
                            Ok::<_, StoreError>((
                                Change::Write(Counter { count }),
                                vec![child.clone()],
                            ))
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("an increment failed: {e}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an increment task panicked");
    }
    let doc = read(&store, &pk, "counter")
        .await
        .expect("the counter exists");
    assert_eq!(
        doc.body["count"],
        json!(TASKS * INCREMENTS),
        "increments were lost"
    );
    let children = ids(
        &store,
        Query::new(CONTAINER)
            .partition(pk.clone())
            .filter(Filter::Eq(field("kind"), json!("child")))
            .limit(100),
    )
    .await;
    assert_eq!(
        distinct(&children, "children").len() as u64,
        TASKS * INCREMENTS,
        "one child per increment"
    );
}

/// 8 tasks each add one to a total and to one of two parts 10 times with
/// `update_pair`, the total first: no increment of either is lost, so the
/// total always equals the sum of its parts.
pub async fn concurrent_pair_updates_lose_nothing(store: SharedStore) {
    const TASKS: u64 = 8;
    const INCREMENTS: u64 = 10;
    let pk = unique("p");
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, pk) = (store.clone(), pk.clone());
            tokio::spawn(async move {
                let part = format!("part-{}", task % 2);
                for _ in 0..INCREMENTS {
                    update_pair(
                        store.as_ref(),
                        CONTAINER,
                        &pk,
                        "total",
                        &part,
                        |total: Option<Counter>, part: Option<Counter>| {
                            let total = total.unwrap_or_default().count + 1;
                            let part = part.unwrap_or_default().count + 1;
                            Ok::<_, StoreError>((
                                Change::Write(Counter { count: total }),
                                Change::Write(Counter { count: part }),
                            ))
                        },
                    )
                    .await
                    .unwrap_or_else(|e| panic!("an increment failed: {e}"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an increment task panicked");
    }
    for (id, count) in [
        ("total", TASKS * INCREMENTS),
        ("part-0", TASKS * INCREMENTS / 2),
        ("part-1", TASKS * INCREMENTS / 2),
    ] {
        let doc = read(&store, &pk, id).await.expect("written");
        assert_eq!(
            doc.body["count"],
            json!(count),
            "{id}: increments were lost"
        );
    }
}

/// `update_in_batch` returns a failure of the other operations (a `Create`
/// that meets an existing document) at their own index without retrying, and
/// writes nothing; a change that writes nothing cannot carry other operations.
pub async fn batch_update_returns_failures_of_other_operations(store: SharedStore) {
    let pk = unique("p");
    let etag = create(&store, &pk, "counter", json!({"count": 1})).await;
    create(&store, &pk, "taken", json!({"v": "before"})).await;
    let mut calls = 0;
    let result = update_in_batch(
        store.as_ref(),
        CONTAINER,
        &pk,
        "counter",
        |c: Option<Counter>| {
            calls += 1;
            let count = c.unwrap_or_default().count + 1;
            let others = vec![
                BatchOp::Create {
                    id: "fresh".into(),
                    body: json!({}),
                },
                BatchOp::Create {
                    id: "taken".into(),
                    body: json!({"v": "after"}),
                },
            ];
            Ok::<_, StoreError>((Change::Write(Counter { count }), others))
        },
    )
    .await;
    match &result {
        Err(StoreError::BatchFailed { index: 1, cause }) => assert!(
            matches!(**cause, StoreError::Conflict),
            "expected Conflict, got {cause:?}"
        ),
        other => panic!("expected the second other operation to fail, got {other:?}"),
    }
    assert_eq!(
        calls, 1,
        "a failure of another operation is not a lost race"
    );
    let doc = read(&store, &pk, "counter").await.expect("still there");
    assert_eq!((doc.body["count"].clone(), doc.etag), (json!(1), etag));
    assert!(
        read(&store, &pk, "fresh").await.is_none(),
        "the batch was kept"
    );

    for change in [Change::Keep, Change::Delete] {
        let result = update_in_batch(
            store.as_ref(),
            CONTAINER,
            &pk,
            "ghost",
            |_: Option<Counter>| {
                let others = vec![BatchOp::Upsert {
                    id: "unguarded".into(),
                    body: json!({}),
                }];
                Ok::<_, StoreError>((change.clone(), others))
            },
        )
        .await;
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "{change:?} with other operations: expected Invalid, got {result:?}"
        );
    }
    assert!(read(&store, &pk, "unguarded").await.is_none());
}

/// Every filter operator selects exactly the documents it should.
pub async fn query_filters_select_the_right_documents(store: SharedStore) {
    let pk = unique("p");
    let docs = [
        (
            "d1",
            json!({"n": 1, "price": 9.5, "name": "Red Shirt", "code": "a1", "active": true, "meta": {"rank": 3}}),
        ),
        (
            "d2",
            json!({"n": 2, "price": 19.99, "name": "Blue Shirt", "code": "b2", "active": false, "meta": {"rank": 1}}),
        ),
        (
            "d3",
            json!({"n": 3, "price": 5.0, "name": "green HAT", "code": "c3", "active": true, "meta": {"rank": 2}}),
        ),
        (
            "d4",
            json!({"n": 4, "price": 100, "name": "Shirt of Steel", "code": "d4", "active": true}),
        ),
        (
            "d5",
            json!({"n": 5, "price": 0.5, "name": "Sock", "code": "e5", "active": false, "meta": {"rank": 5}}),
        ),
    ];
    for (id, body) in docs {
        create(&store, &pk, id, body).await;
    }
    let f = field;
    let cases: Vec<(&str, Filter, &[&str])> = vec![
        ("eq int", Filter::Eq(f("n"), json!(3)), &["d3"]),
        ("eq int as float", Filter::Eq(f("n"), json!(3.0)), &["d3"]),
        ("eq string", Filter::Eq(f("name"), json!("Sock")), &["d5"]),
        (
            "eq bool",
            Filter::Eq(f("active"), json!(true)),
            &["d1", "d3", "d4"],
        ),
        ("eq other type", Filter::Eq(f("n"), json!("3")), &[]),
        ("eq nested", Filter::Eq(f("meta.rank"), json!(2)), &["d3"]),
        ("eq id", Filter::Eq(f("id"), json!("d2")), &["d2"]),
        (
            "ne int",
            Filter::Ne(f("n"), json!(3)),
            &["d1", "d2", "d4", "d5"],
        ),
        (
            "ne bool",
            Filter::Ne(f("active"), json!(true)),
            &["d2", "d5"],
        ),
        (
            "ne skips missing",
            Filter::Ne(f("meta.rank"), json!(1)),
            &["d1", "d3", "d5"],
        ),
        ("lt", Filter::Lt(f("n"), json!(3)), &["d1", "d2"]),
        ("le", Filter::Le(f("n"), json!(3)), &["d1", "d2", "d3"]),
        ("gt", Filter::Gt(f("n"), json!(3)), &["d4", "d5"]),
        ("ge", Filter::Ge(f("n"), json!(3)), &["d3", "d4", "d5"]),
        (
            "lt float",
            Filter::Lt(f("price"), json!(9.5)),
            &["d3", "d5"],
        ),
        (
            "ge float",
            Filter::Ge(f("price"), json!(19.99)),
            &["d2", "d4"],
        ),
        (
            "ge string",
            Filter::Ge(f("code"), json!("c")),
            &["d3", "d4", "d5"],
        ),
        (
            "lt nested",
            Filter::Lt(f("meta.rank"), json!(3)),
            &["d2", "d3"],
        ),
        (
            "in ints",
            Filter::In(f("n"), vec![json!(1), json!(4), json!(99)]),
            &["d1", "d4"],
        ),
        (
            "in strings",
            Filter::In(f("name"), vec![json!("Sock"), json!("Red Shirt")]),
            &["d1", "d5"],
        ),
        ("in empty", Filter::In(f("n"), vec![]), &[]),
        (
            "contains ignores case",
            Filter::Contains(f("name"), "shirt".into()),
            &["d1", "d2", "d4"],
        ),
        (
            "contains upper",
            Filter::Contains(f("name"), "HAT".into()),
            &["d3"],
        ),
        (
            "contains mixed",
            Filter::Contains(f("name"), "sHiRt Of".into()),
            &["d4"],
        ),
        (
            "contains nothing",
            Filter::Contains(f("name"), "xyz".into()),
            &[],
        ),
        (
            "and",
            Filter::And(vec![
                Filter::Eq(f("active"), json!(true)),
                Filter::Contains(f("name"), "shirt".into()),
            ]),
            &["d1", "d4"],
        ),
        (
            "and range",
            Filter::And(vec![
                Filter::Ge(f("n"), json!(2)),
                Filter::Le(f("price"), json!(20)),
            ]),
            &["d2", "d3", "d5"],
        ),
        (
            "value with quotes",
            Filter::Eq(f("name"), json!("x' OR '1'='1")),
            &[],
        ),
    ];
    for (name, filter, expected) in cases {
        let found = ids(
            &store,
            Query::new(CONTAINER).partition(pk.clone()).filter(filter),
        )
        .await;
        assert_eq!(distinct(&found, name), set(expected), "filter `{name}`");
    }
}

/// A partition-scoped query sees only its partition; a container query sees all.
pub async fn query_scopes_to_partition_or_container(store: SharedStore) {
    let run = unique("run");
    let (p1, p2) = (unique("p"), unique("p"));
    for (pk, id) in [(&p1, "a"), (&p1, "b"), (&p2, "a"), (&p2, "c")] {
        create(&store, pk, id, json!({"run": run})).await;
    }
    let tagged = Filter::Eq(field("run"), json!(run));

    let docs: Vec<Document> = all_pages(
        &store,
        &Query::new(CONTAINER)
            .partition(p1.clone())
            .filter(tagged.clone()),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    assert!(
        docs.iter().all(|d| d.partition_key == p1),
        "a partition query left its partition"
    );
    let found: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
    assert_eq!(distinct(&found, "partition"), set(&["a", "b"]));

    let everything = all_pages(&store, &Query::new(CONTAINER).filter(tagged).limit(3)).await;
    let found: Vec<(String, String)> = everything
        .into_iter()
        .flatten()
        .map(|d| (d.partition_key, d.id))
        .collect();
    let unique_found: BTreeSet<_> = found.iter().cloned().collect();
    assert_eq!(
        unique_found.len(),
        found.len(),
        "a document came back twice: {found:?}"
    );
    let expected: BTreeSet<_> = [(&p1, "a"), (&p1, "b"), (&p2, "a"), (&p2, "c")]
        .into_iter()
        .map(|(p, i)| (p.clone(), i.to_owned()))
        .collect();
    assert_eq!(
        unique_found, expected,
        "a container query sees every partition"
    );
}

/// Sorting by one field, ascending and descending, for numbers and strings,
/// within a partition and across the container.
pub async fn query_sorts_both_ways(store: SharedStore) {
    let run = unique("run");
    let partitions = [unique("p"), unique("p")];
    let ranks = [5, 3, 9, 1, 3, 7, 2, 9, 4, 6];
    let mut expected: HashMap<String, (i64, String)> = HashMap::new();
    for (i, rank) in ranks.into_iter().enumerate() {
        let pk = &partitions[i % 2];
        let id = format!("d{i}");
        let code = format!("code-{:02}", (i * 7) % 10);
        create(
            &store,
            pk,
            &id,
            json!({"run": run, "rank": rank, "code": code}),
        )
        .await;
        expected.insert(id, (rank, code));
    }
    let tagged = Filter::Eq(field("run"), json!(run));
    let scopes = [None, Some(partitions[0].clone())];
    for scope in scopes {
        for (sort_field, order) in [
            ("rank", Order::Asc),
            ("rank", Order::Desc),
            ("code", Order::Asc),
            ("code", Order::Desc),
        ] {
            let mut query = Query::new(CONTAINER)
                .filter(tagged.clone())
                .sort(field(sort_field), order)
                .limit(4);
            query.partition = scope.clone();
            let found = ids(&store, query).await;
            let context = format!("sort by {sort_field} {order:?} in {scope:?}");
            let unique_found = distinct(&found, &context);
            let want: BTreeSet<String> = expected
                .keys()
                .filter(|id| scope.is_none() || id[1..].parse::<usize>().is_ok_and(|i| i % 2 == 0))
                .cloned()
                .collect();
            assert_eq!(unique_found, want, "{context}: wrong documents");
            // Ranks are below 10, so zero-padding makes them compare as strings.
            let keys: Vec<String> = found
                .iter()
                .map(|id| {
                    let (rank, code) = &expected[id];
                    if sort_field == "rank" {
                        format!("{rank:02}")
                    } else {
                        code.clone()
                    }
                })
                .collect();
            let sorted = keys.windows(2).all(|w| match order {
                Order::Asc => w[0] <= w[1],
                Order::Desc => w[0] >= w[1],
            });
            assert!(sorted, "{context}: out of order: {keys:?}");
        }
    }
}

/// Paging with several page sizes, sorted or not, in a partition or across the
/// container, returns every document exactly once.
pub async fn query_pages_return_every_document_once(store: SharedStore) {
    const DOCS: usize = 23;
    let run = unique("run");
    let partitions = [unique("p"), unique("p"), unique("p")];
    for i in 0..DOCS {
        // Many ties on `group`, so pages must break ties to stay exact.
        let body = json!({"run": run, "group": i % 4, "label": format!("l{:02}", DOCS - i)});
        create(&store, &partitions[i % 3], &format!("d{i:02}"), body).await;
    }
    let tagged = Filter::Eq(field("run"), json!(run));
    let in_first: usize = (0..DOCS).filter(|i| i % 3 == 0).count();
    for limit in [1, 4, 10, 23, 100] {
        for sort in [
            None,
            Some(("group", Order::Asc)),
            Some(("group", Order::Desc)),
            Some(("label", Order::Desc)),
        ] {
            for scope in [None, Some(partitions[0].clone())] {
                let mut query = Query::new(CONTAINER).filter(tagged.clone()).limit(limit);
                query.partition = scope.clone();
                if let Some((f, order)) = sort {
                    query = query.sort(field(f), order);
                }
                let context = format!("limit {limit}, sort {sort:?}, partition {scope:?}");
                let pages = all_pages(&store, &query).await;
                let found: Vec<String> = pages.iter().flatten().map(|d| d.id.clone()).collect();
                let want = if scope.is_some() { in_first } else { DOCS };
                assert_eq!(
                    distinct(&found, &context).len(),
                    want,
                    "{context}: documents missing"
                );
                let max_pages = want.div_ceil(limit as usize) + 1;
                assert!(
                    pages.len() <= max_pages,
                    "{context}: {} pages for {want} documents",
                    pages.len()
                );
            }
        }
    }
}

/// Paging stays exact while documents are inserted between pages, before and
/// after the cursor, and by another task: every document that existed before
/// the first page comes back exactly once, and nothing comes back twice.
pub async fn query_paging_survives_concurrent_inserts(store: SharedStore) {
    const DOCS: u64 = 40;
    let pk = unique("p");
    for i in 0..DOCS {
        create(
            &store,
            &pk,
            &format!("d{:03}", i * 10),
            json!({"n": i * 10}),
        )
        .await;
    }
    let writer = {
        let (store, pk) = (store.clone(), pk.clone());
        tokio::spawn(async move {
            for i in 0..60u64 {
                let n = (i * 7919) % (DOCS * 10);
                create(&store, &pk, &format!("w{i:03}"), json!({"n": n})).await;
                tokio::task::yield_now().await;
            }
        })
    };
    let original: BTreeSet<String> = (0..DOCS).map(|i| format!("d{:03}", i * 10)).collect();
    for sort in [None, Some(Order::Asc), Some(Order::Desc)] {
        let mut query = Query::new(CONTAINER).partition(pk.clone()).limit(5);
        if let Some(order) = sort {
            query = query.sort(field("n"), order);
        }
        let mut found = Vec::new();
        let mut token = None;
        for page_no in 0u64.. {
            let page = store
                .query(&query.clone().continuation(token.take()))
                .await
                .unwrap_or_else(|e| panic!("page {page_no} failed: {e}"));
            found.extend(page.items.iter().map(|d| d.id.clone()));
            // Between pages, add documents that sort before and after the cursor.
            for (k, n) in [(0, 1), (1, DOCS * 10 - 1)] {
                let id = format!(
                    "x{}-{page_no:03}-{k}",
                    sort.map_or("none", |o| if o == Order::Asc { "asc" } else { "desc" })
                );
                create(&store, &pk, &id, json!({"n": n + page_no})).await;
            }
            match page.continuation {
                Some(t) => token = Some(t),
                None => break,
            }
            assert!(page_no < 1_000, "paging never ended");
        }
        let context = format!("sort {sort:?}");
        let unique_found = distinct(&found, &context);
        let missing: Vec<_> = original.difference(&unique_found).collect();
        assert!(
            missing.is_empty(),
            "{context}: documents present all along were skipped: {missing:?}"
        );
    }
    writer.await.expect("the inserting task panicked");
}

/// A continuation token only continues the query that issued it: a tampered
/// token, one from another query or a made-up one is `InvalidContinuation`.
/// The page size may change between pages.
pub async fn query_refuses_foreign_or_tampered_continuations(store: SharedStore) {
    let pk = unique("p");
    for i in 0..6 {
        create(&store, &pk, &format!("d{i}"), json!({"n": i})).await;
    }
    let query = Query::new(CONTAINER)
        .partition(pk.clone())
        .sort(field("n"), Order::Asc)
        .limit(2);
    let first = store.query(&query).await.expect("first page");
    let token = first
        .continuation
        .clone()
        .expect("six documents in pages of two continue");

    let rest = ids(
        &store,
        query.clone().limit(10).continuation(Some(token.clone())),
    )
    .await;
    let mut all: Vec<String> = first.items.iter().map(|d| d.id.clone()).collect();
    all.extend(rest);
    assert_eq!(
        distinct(&all, "resumed with another page size").len(),
        6,
        "{all:?}"
    );

    let mut tampered: Vec<char> = token.chars().collect();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let foreign = [
        ("tampered", query.clone().continuation(Some(tampered))),
        (
            "truncated",
            query
                .clone()
                .continuation(Some(token.chars().take(token.len() / 2).collect())),
        ),
        (
            "made up",
            query.clone().continuation(Some("bm90IGEgdG9rZW4".into())),
        ),
        (
            "other filter",
            query
                .clone()
                .filter(Filter::Ge(field("n"), json!(0)))
                .continuation(Some(token.clone())),
        ),
        (
            "other order",
            query
                .clone()
                .sort(field("n"), Order::Desc)
                .continuation(Some(token.clone())),
        ),
        (
            "other partition",
            query
                .clone()
                .partition(unique("p"))
                .continuation(Some(token.clone())),
        ),
    ];
    for (name, q) in foreign {
        let result = store.query(&q).await;
        assert!(
            matches!(result, Err(StoreError::InvalidContinuation)),
            "{name} token: expected InvalidContinuation, got {result:?}"
        );
    }
}

/// Page sizes outside 1..=1000 are refused as invalid.
pub async fn query_limit_is_bounded(store: SharedStore) {
    let pk = unique("p");
    create(&store, &pk, "a", json!({})).await;
    for limit in [0, 1001] {
        let result = store
            .query(&Query::new(CONTAINER).partition(pk.clone()).limit(limit))
            .await;
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "limit {limit}: expected Invalid, got {result:?}"
        );
    }
    for limit in [1, 1000] {
        let page = store
            .query(&Query::new(CONTAINER).partition(pk.clone()).limit(limit))
            .await
            .unwrap_or_else(|e| panic!("limit {limit} failed: {e}"));
        assert_eq!(page.items.len(), 1);
    }
}
