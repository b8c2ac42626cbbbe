//! The document-store and change-feed conformance suites on a fresh SQLite file, plus what only
//! the SQLite adapter must do: survive close and reopen (feed positions
//! included), never fail concurrent writers, page over NULL sort values, and
//! list through its primary key.

use std::{collections::BTreeSet, path::Path, sync::Arc};

use jojomart_shared::{
    clock::SystemClock,
    queue::MessageQueue,
    sqlite::{Database, TempDatabase},
    store::{BatchOp, DocumentStore, FeedPosition, Filter, Order, Query, SharedStore, StoreError},
};
use serde_json::json;

async fn fresh() -> (SharedStore, TempDatabase) {
    let db = TempDatabase::new(Arc::new(SystemClock)).expect("a temp database opens");
    (Arc::new(db.store()), db)
}

jojomart_shared::store_conformance!(fresh());
jojomart_shared::feed_conformance!(fresh());

use jojomart_shared::conformance::store::CONTAINER as C;

fn open(path: &Path) -> Database {
    Database::open(path, Arc::new(SystemClock)).expect("the database opens")
}

fn wal(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// Everything written before `close` is there after reopening, the WAL is
/// folded in, and a continuation token issued before still works (the signing
/// key is persisted).
#[tokio::test(flavor = "multi_thread")]
async fn reopens_cleanly_after_close_with_data_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/jojomart.sqlite3");
    let db = open(&path);
    let store = db.store();
    for i in 0..5 {
        store
            .create(C, "p", &format!("d{i}"), json!({"n": i}))
            .await
            .expect("create");
    }
    let etag = store
        .upsert(C, "p", "u", json!({"v": "ü", "n": 10}))
        .await
        .expect("upsert");
    let query = Query::new(C)
        .partition("p")
        .sort(Filter::field("n"), Order::Asc)
        .limit(2);
    let first = store.query(&query).await.expect("first page");
    let token = first.continuation.expect("more pages");
    db.close().await.expect("a clean close");
    drop(store);
    drop(db);
    assert!(
        std::fs::metadata(wal(&path))
            .map(|m| m.len() == 0)
            .unwrap_or(true),
        "the WAL was checkpointed into the main file"
    );

    let check = rusqlite::Connection::open(&path).expect("plain sqlite opens the file");
    let integrity: String = check
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let version: i64 = check
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert!(version >= 1, "the schema version is recorded");
    drop(check);

    let db = open(&path);
    let store = db.store();
    let doc = store
        .read(C, "p", "u")
        .await
        .expect("read")
        .expect("the upserted document survived");
    assert_eq!((doc.body["v"].clone(), doc.etag), (json!("ü"), etag));
    let rest = store
        .query(&query.clone().limit(10).continuation(Some(token)))
        .await
        .expect("old token still valid");
    let ids: Vec<_> = rest.items.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        ["d2", "d3", "d4", "u"],
        "the old token resumes where it stopped"
    );
    db.close().await.expect("close again");
}

/// Dropping the last handle closes as cleanly as `close`.
#[tokio::test(flavor = "multi_thread")]
async fn dropping_the_last_handle_closes_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.sqlite3");
    {
        let db = open(&path);
        db.store()
            .create(C, "p", "a", json!({}))
            .await
            .expect("create");
        let _ = db.store().read(C, "p", "a").await.expect("read");
    }
    assert!(
        std::fs::metadata(wal(&path))
            .map(|m| m.len() == 0)
            .unwrap_or(true),
        "WAL folded in on drop"
    );
    let db = open(&path);
    assert!(db.store().read(C, "p", "a").await.expect("read").is_some());
}

/// After `close`, every handle reports `Unavailable` instead of hanging or panicking.
#[tokio::test(flavor = "multi_thread")]
async fn closed_database_is_unavailable() {
    let db = TempDatabase::new(Arc::new(SystemClock)).expect("temp database");
    let store = db.store();
    db.close().await.expect("close");
    let read = store.read(C, "p", "a").await;
    assert!(
        matches!(read, Err(StoreError::Unavailable(_))),
        "read after close: {read:?}"
    );
    let write = store.create(C, "p", "a", json!({})).await;
    assert!(
        matches!(write, Err(StoreError::Unavailable(_))),
        "write after close: {write:?}"
    );
    assert!(db.close().await.is_ok(), "closing twice is harmless");
}

/// Many tasks writing at once, plus a second `Database` on the same file (as a
/// second process would), all succeed: writes queue up instead of failing busy.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_never_error() {
    let db = TempDatabase::new(Arc::new(SystemClock)).expect("temp database");
    let other = open(db.path());
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = if t % 4 == 0 {
            other.store()
        } else {
            db.store()
        };
        let queue = db.queue();
        tasks.push(tokio::spawn(async move {
            let pk = format!("t{t}");
            for i in 0..60 {
                let id = format!("d{i}");
                let etag = store.create(C, &pk, &id, json!({"i": i})).await?;
                store
                    .replace(C, &pk, &id, json!({"i": i + 1}), Some(&etag))
                    .await?;
                store
                    .upsert(C, "shared", &format!("{pk}-{i}"), json!({"t": t}))
                    .await?;
                if i % 10 == 0 {
                    store
                        .batch(
                            C,
                            &pk,
                            vec![BatchOp::Upsert {
                                id: format!("b{i}"),
                                body: json!({}),
                            }],
                        )
                        .await?;
                    queue
                        .ensure_queue("busy")
                        .await
                        .map_err(|e| StoreError::Internal(e.to_string()))?;
                    queue
                        .send("busy", "x", Default::default())
                        .await
                        .map_err(|e| StoreError::Internal(e.to_string()))?;
                }
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await
            .expect("writer task panicked")
            .expect("a concurrent write failed");
    }
    let shared = db
        .store()
        .query(&Query::new(C).partition("shared").limit(1000))
        .await
        .expect("query");
    assert_eq!(shared.items.len(), 16 * 60);
    other.close().await.expect("close the second handle");
}

/// Documents whose sort field is missing, JSON null, or of another type still
/// page exactly once, NULLs first ascending and last descending.
#[tokio::test(flavor = "multi_thread")]
async fn sorting_pages_over_null_and_mixed_values() {
    let (store, _db) = fresh().await;
    let values = [
        json!(3),
        json!(null),
        json!(1),
        json!("text"),
        json!(1.5),
        json!(null),
        json!(3),
        json!(true),
        json!(-2),
    ];
    let mut expected = Vec::new();
    for (i, v) in values.iter().enumerate() {
        store
            .create(C, "p", &format!("v{i}"), json!({"s": v}))
            .await
            .expect("create");
        expected.push(format!("v{i}"));
    }
    for i in 0..3 {
        store
            .create(C, "p", &format!("m{i}"), json!({"other": i}))
            .await
            .expect("create");
        expected.push(format!("m{i}"));
    }
    let expected: BTreeSet<String> = expected.into_iter().collect();
    let nulls: BTreeSet<&str> = ["v1", "v5", "m0", "m1", "m2"].into_iter().collect();
    for order in [Order::Asc, Order::Desc] {
        for limit in 1..=4 {
            let query = Query::new(C)
                .partition("p")
                .sort(Filter::field("s"), order)
                .limit(limit);
            let mut seen = Vec::new();
            let mut token = None;
            loop {
                let page = store
                    .query(&query.clone().continuation(token.take()))
                    .await
                    .expect("page");
                seen.extend(page.items.into_iter().map(|d| d.id));
                match page.continuation {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            let set: BTreeSet<String> = seen.iter().cloned().collect();
            assert_eq!(
                set.len(),
                seen.len(),
                "{order:?}/{limit}: duplicates in {seen:?}"
            );
            assert_eq!(set, expected, "{order:?}/{limit}: missing documents");
            let null_positions: Vec<usize> = seen
                .iter()
                .enumerate()
                .filter(|(_, id)| nulls.contains(id.as_str()))
                .map(|(i, _)| i)
                .collect();
            let want: Vec<usize> = match order {
                Order::Asc => (0..nulls.len()).collect(),
                Order::Desc => (seen.len() - nulls.len()..seen.len()).collect(),
            };
            assert_eq!(
                null_positions, want,
                "{order:?}/{limit}: NULLs misplaced in {seen:?}"
            );
            // Numbers (booleans are 1) come before text, in value order; ties by (pk, id).
            let non_null: Vec<&str> = seen
                .iter()
                .map(String::as_str)
                .filter(|id| !nulls.contains(id))
                .collect();
            let mut asc = vec!["v8", "v2", "v7", "v4", "v0", "v6", "v3"];
            if order == Order::Desc {
                asc.reverse();
            }
            assert_eq!(non_null, asc, "{order:?}/{limit}");
        }
    }
}

/// A page that reaches the end carries no continuation, even when full.
#[tokio::test(flavor = "multi_thread")]
async fn last_page_has_no_continuation() {
    let (store, _db) = fresh().await;
    for i in 0..4 {
        store
            .create(C, "p", &format!("d{i}"), json!({}))
            .await
            .expect("create");
    }
    let full = store
        .query(&Query::new(C).partition("p").limit(4))
        .await
        .expect("query");
    assert_eq!((full.items.len(), full.continuation.is_none()), (4, true));
    let first = store
        .query(&Query::new(C).partition("p").limit(3))
        .await
        .expect("query");
    let token = first.continuation.expect("one more document");
    let last = store
        .query(
            &Query::new(C)
                .partition("p")
                .limit(3)
                .continuation(Some(token)),
        )
        .await
        .expect("query");
    assert_eq!((last.items.len(), last.continuation.is_none()), (1, true));
}

/// A token signed by another database file is refused.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_from_another_database_are_refused() {
    let (a, _da) = fresh().await;
    let (b, _db) = fresh().await;
    for store in [&a, &b] {
        for i in 0..3 {
            store
                .create(C, "p", &format!("d{i}"), json!({}))
                .await
                .expect("create");
        }
    }
    let query = Query::new(C).partition("p").limit(1);
    let token = a.query(&query).await.expect("query").continuation;
    let result = b.query(&query.continuation(token)).await;
    assert!(
        matches!(result, Err(StoreError::InvalidContinuation)),
        "{result:?}"
    );
}

/// A feed position saved before close resumes after reopening (the sequence
/// is in the file), and a position ahead of another file's sequence is refused
/// there rather than silently skipping that file's next writes.
#[tokio::test(flavor = "multi_thread")]
async fn feed_positions_survive_reopen_and_stay_in_their_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("feed.sqlite3");
    let db = open(&path);
    let store = db.store();
    for i in 0..5 {
        store
            .create(C, "p", &format!("d{i}"), json!({}))
            .await
            .expect("create");
    }
    let page = store
        .changes(C, &FeedPosition::beginning(), 3)
        .await
        .expect("first page");
    let saved = page.next.to_string();
    db.close().await.expect("close");
    drop((store, db));

    let db = open(&path);
    let store = db.store();
    store
        .create(C, "p", "after", json!({}))
        .await
        .expect("create");
    let resumed = store
        .changes(C, &saved.parse().expect("parses"), 100)
        .await
        .expect("resume after reopen");
    let ids: Vec<&str> = resumed.documents.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d3", "d4", "after"]);

    let (other, _guard) = fresh().await;
    other.create(C, "p", "x", json!({})).await.expect("create");
    let ahead = other.changes(C, &resumed.next, 100).await;
    assert!(
        matches!(ahead, Err(StoreError::InvalidContinuation)),
        "{ahead:?}"
    );
}

/// Listing a container or partition in the default order walks the primary
/// key: no full scan of other containers and no sort step.
#[tokio::test(flavor = "multi_thread")]
async fn listings_use_the_primary_key() {
    let (_, db) = fresh().await;
    let store = db.store();
    for query in [
        Query::new(C),
        Query::new(C).partition("p1"),
        Query::new(C).filter(Filter::eq("active", true)),
    ] {
        let plan = store.explain(&query).await.expect("explain");
        let text = plan.join(" | ");
        assert!(
            text.contains("PRIMARY KEY"),
            "{query:?} does not use the primary key: {text}"
        );
        assert!(
            !text.contains("TEMP B-TREE"),
            "{query:?} sorts instead of walking the index: {text}"
        );
        assert!(
            text.starts_with("SEARCH"),
            "{query:?} scans the whole table: {text}"
        );
    }
}

/// Cosmos DB's limits hold here too, so code that works locally deploys.
#[tokio::test(flavor = "multi_thread")]
async fn cosmos_limits_are_enforced() {
    let (store, _db) = fresh().await;
    for id in ["", "a/b", "a\\b", "a?b", "a#b", &"x".repeat(256)] {
        let result = store.create(C, "p", id, json!({})).await;
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "id {id:?}: {result:?}"
        );
    }
    let result = store
        .create(C, "p", "big", json!({"x": "y".repeat(2 * 1024 * 1024)}))
        .await;
    assert!(
        matches!(result, Err(StoreError::Invalid(_))),
        "2 MiB body: {result:?}"
    );
    let result = store.create(C, "p", "array", json!([1, 2])).await;
    assert!(
        matches!(result, Err(StoreError::Invalid(_))),
        "non-object body: {result:?}"
    );
    let ops = (0..101)
        .map(|i| BatchOp::Upsert {
            id: format!("d{i}"),
            body: json!({}),
        })
        .collect();
    let result = store.batch(C, "p", ops).await;
    assert!(
        matches!(result, Err(StoreError::Invalid(_))),
        "101 operations: {result:?}"
    );
    let ops = vec![
        BatchOp::Upsert {
            id: "ok".into(),
            body: json!({}),
        },
        BatchOp::Upsert {
            id: "bad/id".into(),
            body: json!({}),
        },
    ];
    let result = store.batch(C, "p", ops).await;
    assert!(
        matches!(&result, Err(StoreError::BatchFailed { index: 1, cause }) if matches!(**cause, StoreError::Invalid(_))),
        "{result:?}"
    );
    assert!(store.read(C, "p", "ok").await.expect("read").is_none());
}

/// Filters match JSON kinds exactly: null, booleans and nested objects.
#[tokio::test(flavor = "multi_thread")]
async fn filters_respect_json_kinds() {
    let (store, _db) = fresh().await;
    let docs = [
        ("null", json!({"v": null})),
        ("true", json!({"v": true})),
        ("one", json!({"v": 1})),
        ("text", json!({"v": "1"})),
        ("obj", json!({"v": {"a": 1, "b": [2, 3]}})),
        ("missing", json!({})),
    ];
    for (id, body) in &docs {
        store
            .create(C, "p", id, body.clone())
            .await
            .expect("create");
    }
    let f = || Filter::field("v");
    let cases: Vec<(Filter, &[&str])> = vec![
        (Filter::Eq(f(), json!(null)), &["null"]),
        (Filter::Eq(f(), json!(true)), &["true"]),
        (Filter::Eq(f(), json!(1)), &["one"]),
        (Filter::Eq(f(), json!("1")), &["text"]),
        (Filter::Eq(f(), json!({"b": [2, 3], "a": 1})), &["obj"]),
        (Filter::Ne(f(), json!(1)), &["null", "true", "text", "obj"]),
        (
            Filter::In(f(), vec![json!(null), json!("1"), json!(true)]),
            &["null", "true", "text"],
        ),
        (Filter::Gt(f(), json!(0)), &["one"]),
        (Filter::Lt(f(), json!(null)), &[]),
        (Filter::Contains(f(), "1".into()), &["text"]),
    ];
    for (filter, want) in cases {
        let page = store
            .query(&Query::new(C).partition("p").filter(filter.clone()))
            .await
            .expect("query");
        let got: BTreeSet<&str> = page.items.iter().map(|d| d.id.as_str()).collect();
        let want: BTreeSet<&str> = want.iter().copied().collect();
        assert_eq!(got, want, "{filter:?}");
        // The in-memory evaluator agrees with the SQL translation.
        let by_memory: BTreeSet<&str> = docs
            .iter()
            .filter(|(id, body)| {
                let mut stamped = body.clone();
                stamped["id"] = json!(id);
                filter.matches(&stamped)
            })
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(by_memory, want, "Filter::matches disagrees on {filter:?}");
    }
}
