//! The change-feed suite: what every adapter's
//! [`DocumentStore::changes`](crate::store::DocumentStore::changes) must do,
//! checked in the store suite's `conformance` container.
//!
//! The feed is per container and other checks write to the same container at
//! the same time, so every check writes under its own partition keys and only
//! asserts about those. A check first catches up (reads until an empty page)
//! to get the position that precedes its own writes.
//!
//! Hard deletes are not checked: the port does not promise they appear.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use serde_json::json;

use super::{store::CONTAINER, unique};
use crate::store::{containers, Container, Document, FeedPosition, SharedStore, StoreError};

/// Most pages one drain may take before the check gives up on the adapter.
const MAX_PAGES: usize = 100_000;

/// A page of the feed, panicking with `context` on error.
async fn page(
    store: &SharedStore,
    from: &FeedPosition,
    max: usize,
    context: &str,
) -> crate::store::ChangePage {
    store
        .changes(CONTAINER, from, max)
        .await
        .unwrap_or_else(|e| panic!("{context}: reading the change feed from {from} failed: {e}"))
}

/// Reads from `from` in pages of `max` until an empty page; returns every page
/// and the position after the last one.
async fn drain(
    store: &SharedStore,
    from: &FeedPosition,
    max: usize,
) -> (Vec<Vec<Document>>, FeedPosition) {
    let mut pages = Vec::new();
    let mut at = from.clone();
    loop {
        // Page sizes are not asserted: Cosmos DB returns at least one document
        // per physical partition, more than a small `max` on a shared container.
        let got = page(store, &at, max, "drain").await;
        at = got.next;
        if got.documents.is_empty() {
            return (pages, at);
        }
        pages.push(got.documents);
        assert!(pages.len() <= MAX_PAGES, "the change feed never caught up");
    }
}

/// The position after everything committed so far.
async fn caught_up(store: &SharedStore) -> FeedPosition {
    drain(store, &FeedPosition::beginning(), 1000).await.1
}

/// The documents of `pages` in partitions `ours`, in feed order.
fn mine<'a>(
    pages: impl IntoIterator<Item = &'a Document>,
    ours: &BTreeSet<String>,
) -> Vec<&'a Document> {
    pages
        .into_iter()
        .filter(|d| ours.contains(&d.partition_key))
        .collect()
}

/// Counts how often each `(partition key, id)` appears.
fn counts<'a>(docs: impl IntoIterator<Item = &'a Document>) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for d in docs {
        *out.entry((d.partition_key.clone(), d.id.clone()))
            .or_insert(0) += 1;
    }
    out
}

async fn create(store: &SharedStore, pk: &str, id: &str, body: serde_json::Value) {
    store
        .create(CONTAINER, pk, id, body)
        .await
        .unwrap_or_else(|e| panic!("create {pk}/{id} failed: {e}"));
}

/// 8 writers each create 25 documents and overwrite one shared document 5
/// times while a reader follows the feed. The reader sees every created
/// document exactly once (no gap, no repeat between its pages), and a read
/// from the position preceding the writes, made after them, sees each
/// document once, the shared one in its latest version.
pub async fn change_feed_sees_every_write_once(store: SharedStore) {
    const WRITERS: usize = 8;
    const CREATES: usize = 25;
    const OVERWRITES: usize = 5;
    let start = caught_up(&store).await;
    let partitions: Vec<String> = (0..WRITERS).map(|_| unique("feed")).collect();
    let hot_pk = unique("feed-hot");
    let ours: BTreeSet<String> = partitions.iter().chain([&hot_pk]).cloned().collect();

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, start, done) = (store.clone(), start.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut at = start;
            for _ in 0..MAX_PAGES {
                // Note whether the writers had finished before this read: an
                // empty page read after that means every write has been seen.
                let writers_done = done.load(Ordering::SeqCst);
                let got = page(&store, &at, 17, "concurrent reader").await;
                at = got.next;
                if got.documents.is_empty() {
                    if writers_done {
                        return seen;
                    }
                    // Caught up with the writers: poll again shortly, as a consumer does.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seen.extend(got.documents);
            }
            panic!("the concurrent reader never caught up");
        })
    };

    let writers: Vec<_> = partitions
        .iter()
        .enumerate()
        .map(|(w, pk)| {
            let (store, pk, hot_pk) = (store.clone(), pk.clone(), hot_pk.clone());
            tokio::spawn(async move {
                for i in 0..CREATES {
                    create(
                        &store,
                        &pk,
                        &format!("d{i:02}"),
                        json!({"writer": w, "n": i}),
                    )
                    .await;
                    if i % (CREATES / OVERWRITES) == 0 {
                        store
                            .upsert(CONTAINER, &hot_pk, "hot", json!({"writer": w, "n": i}))
                            .await
                            .unwrap_or_else(|e| {
                                panic!("upsert of the shared document failed: {e}")
                            });
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer panicked");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("the concurrent reader panicked");

    let created: BTreeSet<(String, String)> = partitions
        .iter()
        .flat_map(|pk| (0..CREATES).map(move |i| (pk.clone(), format!("d{i:02}"))))
        .collect();
    let hot = (hot_pk.clone(), "hot".to_owned());
    let latest = store
        .read(CONTAINER, &hot_pk, "hot")
        .await
        .expect("read the shared document")
        .expect("the shared document exists");

    let followed = counts(mine(&seen, &ours));
    for key in &created {
        assert_eq!(
            followed.get(key).copied().unwrap_or(0),
            1,
            "the concurrent reader saw {key:?} a wrong number of times"
        );
    }
    assert!(
        followed.contains_key(&hot),
        "the concurrent reader never saw the shared document"
    );
    let last_hot = mine(&seen, &ours).into_iter().rev().find(|d| d.id == "hot");
    assert_eq!(
        last_hot.map(|d| &d.etag),
        Some(&latest.etag),
        "the reader's last version of the shared document is not its latest"
    );
    assert_eq!(
        followed.len(),
        created.len() + 1,
        "the reader saw documents nobody wrote: {followed:?}"
    );

    let (pages, _) = drain(&store, &start, 1000).await;
    let after = mine(pages.iter().flatten(), &ours);
    let again = counts(after.iter().copied());
    let mut want: BTreeSet<(String, String)> = created;
    want.insert(hot.clone());
    assert_eq!(
        again.keys().cloned().collect::<BTreeSet<_>>(),
        want,
        "a read after the writes missed documents"
    );
    assert!(
        again.values().all(|n| *n == 1),
        "a read after the writes repeated documents: {again:?}"
    );
    let hot_doc = after.iter().find(|d| d.id == "hot").expect("checked above");
    assert_eq!(
        hot_doc.etag, latest.etag,
        "the shared document appears in its latest version"
    );
    assert_eq!(hot_doc.body, latest.body);
}

/// A position saved as a string (inside a document, as a read model keeps it)
/// and parsed back resumes exactly after what was read: later creates and
/// updates appear once, earlier documents do not come back.
pub async fn change_feed_resumes_from_a_saved_position(store: SharedStore) {
    let pk = unique("feed");
    let ours = BTreeSet::from([pk.clone()]);
    let start = caught_up(&store).await;
    for i in 0..5 {
        create(&store, &pk, &format!("a{i}"), json!({"n": i})).await;
    }
    let (pages, saved) = drain(&store, &start, 2).await;
    let first: Vec<String> = mine(pages.iter().flatten(), &ours)
        .into_iter()
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(
        first.iter().cloned().collect::<BTreeSet<_>>(),
        (0..5).map(|i| format!("a{i}")).collect(),
        "the first read"
    );

    // Save the position the way a read model does, in a document, then load it.
    let text = saved.to_string();
    store
        .upsert(CONTAINER, &pk, "checkpoint", json!({ "position": saved }))
        .await
        .expect("save the position");
    let checkpoint = store
        .read(CONTAINER, &pk, "checkpoint")
        .await
        .expect("read the checkpoint")
        .expect("the checkpoint exists");
    let loaded: FeedPosition = serde_json::from_value(checkpoint.body["position"].clone())
        .expect("a saved position deserializes");
    assert_eq!(loaded, saved, "a position survives a JSON round trip");
    let parsed: FeedPosition = text.parse().expect("a position parses from its string");
    assert_eq!(parsed, saved, "a position survives a string round trip");

    for i in 0..3 {
        create(&store, &pk, &format!("b{i}"), json!({"n": i})).await;
    }
    store
        .replace(CONTAINER, &pk, "a1", json!({"n": 1, "updated": true}), None)
        .await
        .expect("update a1");

    let (pages, _) = drain(&store, &parsed, 2).await;
    let resumed = mine(pages.iter().flatten(), &ours);
    let ids: Vec<&str> = resumed.iter().map(|d| d.id.as_str()).collect();
    let unique_ids: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        unique_ids.len(),
        ids.len(),
        "a resumed read repeated a document: {ids:?}"
    );
    assert_eq!(
        unique_ids,
        BTreeSet::from(["a1", "b0", "b1", "b2", "checkpoint"]),
        "a resumed read sees exactly what changed after the saved position"
    );
    let a1 = resumed
        .iter()
        .find(|d| d.id == "a1")
        .expect("checked above");
    assert_eq!(
        a1.body["updated"],
        json!(true),
        "a1 appears in its latest version"
    );

    let (_, loaded_at) = drain(&store, &loaded, 1000).await;
    let (pages, _) = drain(&store, &loaded_at, 1000).await;
    assert!(
        mine(pages.iter().flatten(), &ours).is_empty(),
        "reading again from the caught-up position repeated documents"
    );
}

/// A soft delete (a replace that sets `deleted: true`) is a change like any
/// other: it appears once, in its new version.
pub async fn change_feed_shows_soft_deletes(store: SharedStore) {
    let pk = unique("feed");
    let ours = BTreeSet::from([pk.clone()]);
    create(&store, &pk, "doomed", json!({"name": "old"})).await;
    create(&store, &pk, "kept", json!({"name": "stays"})).await;
    let before = caught_up(&store).await;
    let doc = store
        .read(CONTAINER, &pk, "doomed")
        .await
        .expect("read")
        .expect("the document exists");
    let etag = store
        .replace(
            CONTAINER,
            &pk,
            "doomed",
            json!({"name": "old", "deleted": true}),
            Some(&doc.etag),
        )
        .await
        .expect("the soft delete succeeds");

    let (pages, _) = drain(&store, &before, 1000).await;
    let changed = mine(pages.iter().flatten(), &ours);
    assert_eq!(
        changed.len(),
        1,
        "only the soft-deleted document changed: {changed:?}"
    );
    assert_eq!(changed[0].id, "doomed");
    assert_eq!(
        changed[0].etag, etag,
        "the change carries the soft delete's ETag"
    );
    assert_eq!(changed[0].body["deleted"], json!(true));
    let read = store
        .read(CONTAINER, &pk, "doomed")
        .await
        .expect("read")
        .expect("a soft-deleted document is still there");
    assert_eq!(
        changed[0].body, read.body,
        "the feed returns the body a read returns (no backend properties)"
    );
}

/// Reading in pages of 3 returns the same documents, in the same versions, as
/// one big read, and each partition's documents come in the order they were
/// written.
pub async fn change_feed_small_pages_match_one_big_read(store: SharedStore) {
    let partitions = [unique("feed"), unique("feed"), unique("feed")];
    let ours: BTreeSet<String> = partitions.iter().cloned().collect();
    let start = caught_up(&store).await;
    for i in 0..20 {
        let pk = &partitions[i % 3];
        create(&store, pk, &format!("d{i:02}"), json!({"n": i})).await;
    }
    for i in [2, 9, 14] {
        let pk = &partitions[i % 3];
        store
            .replace(
                CONTAINER,
                pk,
                &format!("d{i:02}"),
                json!({"n": i, "again": true}),
                None,
            )
            .await
            .expect("update");
    }
    store
        .batch(
            CONTAINER,
            &partitions[0],
            vec![
                crate::store::BatchOp::Create {
                    id: "e00".into(),
                    body: json!({"batch": true}),
                },
                crate::store::BatchOp::Upsert {
                    id: "e01".into(),
                    body: json!({"batch": true}),
                },
            ],
        )
        .await
        .expect("the batch succeeds");

    let (small, _) = drain(&store, &start, 3).await;
    let (big, _) = drain(&store, &start, 1000).await;
    let version = |d: &Document| (d.partition_key.clone(), d.id.clone(), d.etag.0.clone());
    let small_docs = mine(small.iter().flatten(), &ours);
    let big_docs = mine(big.iter().flatten(), &ours);
    let small_set: BTreeSet<_> = small_docs.iter().map(|d| version(d)).collect();
    let big_set: BTreeSet<_> = big_docs.iter().map(|d| version(d)).collect();
    assert_eq!(
        small_set.len(),
        small_docs.len(),
        "pages of 3 repeated a document"
    );
    assert_eq!(
        big_set.len(),
        big_docs.len(),
        "one big read repeated a document"
    );
    assert_eq!(small_set, big_set, "pages of 3 and one big read disagree");
    assert_eq!(small_set.len(), 22, "every document appears: {small_set:?}");

    // Commit order per partition: d-documents were created in id order, and
    // the updated ones moved behind the others of their partition.
    for docs in [&small_docs, &big_docs] {
        let mut by_partition: HashMap<&str, Vec<&str>> = HashMap::new();
        for d in docs.iter() {
            by_partition
                .entry(&d.partition_key)
                .or_default()
                .push(&d.id);
        }
        for (p, pk) in partitions.iter().enumerate() {
            let updated = [2, 9, 14].map(|i| format!("d{i:02}"));
            let mut want: Vec<String> = (0..20)
                .filter(|i| i % 3 == p)
                .map(|i| format!("d{i:02}"))
                .filter(|id| !updated.contains(id))
                .collect();
            want.extend(
                updated
                    .iter()
                    .filter(|id| id[1..].parse::<usize>().is_ok_and(|i| i % 3 == p))
                    .cloned(),
            );
            let mut got: Vec<String> = by_partition
                .get(pk.as_str())
                .map(|ids| ids.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_or_default();
            if p == 0 {
                // The batch commits last, its two documents in no promised order.
                let tail: BTreeSet<String> = got
                    .split_off(got.len().saturating_sub(2))
                    .into_iter()
                    .collect();
                assert_eq!(
                    tail,
                    BTreeSet::from(["e00".to_owned(), "e01".to_owned()]),
                    "the batch comes last"
                );
            }
            assert_eq!(got, want, "partition {p}: changes out of commit order");
        }
    }
}

/// A position only reads the feed of the container that issued it: a made-up,
/// truncated, foreign-adapter or other-container position is refused as
/// `InvalidContinuation` (or does not parse), and `max` must be 1..=1000.
pub async fn change_feed_refuses_foreign_positions(store: SharedStore) {
    let pk = unique("feed");
    create(&store, &pk, "a", json!({})).await;
    let (_, position) = drain(&store, &FeedPosition::beginning(), 1000).await;
    assert!(
        !position.is_beginning(),
        "a read that returned documents moves the position"
    );
    let text = position.to_string();
    let truncated: String = text.chars().take(text.len() - text.len() / 3).collect();
    let cases: [(&str, String, &Container); 4] = [
        ("made up", "nonsense".into(), CONTAINER),
        ("another adapter", "otherstore:12345".into(), CONTAINER),
        ("truncated", truncated, CONTAINER),
        ("another container", text.clone(), containers::SYSTEM),
    ];
    for (name, text, container) in cases {
        let result = match text.parse::<FeedPosition>() {
            Ok(position) => store.changes(container, &position, 10).await.map(|_| ()),
            Err(e) => Err(e),
        };
        assert!(
            matches!(result, Err(StoreError::InvalidContinuation)),
            "{name} position `{text}`: expected InvalidContinuation, got {result:?}"
        );
    }
    for max in [0, 1001] {
        let result = store.changes(CONTAINER, &position, max).await;
        assert!(
            matches!(result, Err(StoreError::Invalid(_))),
            "max {max}: expected Invalid, got {result:?}"
        );
    }
    store
        .changes(CONTAINER, &position, 1)
        .await
        .expect("the position still works");
}
