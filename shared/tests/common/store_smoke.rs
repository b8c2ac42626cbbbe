//! Adapter smoke checks of the document store port, written against the trait
//! only, until the generic conformance suites land. Each check uses its own
//! partition keys so checks can share one store and run in parallel.

#![allow(dead_code)]

use jojomart_shared::store::{
    BatchOp, DocumentStore, ETag, Field, Filter, Order, Query, StoreError,
};
use serde_json::{json, Value};

use jojomart_shared::conformance::store::CONTAINER as C;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn field(p: &str) -> Field {
    Field::parse(p).unwrap()
}

/// Create, read, conflicts, preconditions, upsert, delete.
pub async fn crud(store: &dyn DocumentStore) {
    let pk = unique("crud");
    let etag = store.create(C, &pk, "a", json!({"n": 1})).await.unwrap();
    let doc = store
        .read(C, &pk, "a")
        .await
        .unwrap()
        .expect("created doc is readable");
    assert_eq!(doc.etag, etag);
    assert_eq!(doc.body, json!({"id": "a", "pk": pk, "n": 1}));
    assert_eq!(
        (doc.id.as_str(), doc.partition_key.as_str()),
        ("a", pk.as_str())
    );

    assert!(matches!(
        store.create(C, &pk, "a", json!({})).await,
        Err(StoreError::Conflict)
    ));
    assert!(store.read(C, &pk, "missing").await.unwrap().is_none());
    assert!(
        store.read(C, "other-pk", "a").await.unwrap().is_none(),
        "partition is part of the address"
    );

    let e2 = store
        .replace(C, &pk, "a", json!({"n": 2}), Some(&etag))
        .await
        .unwrap();
    assert_ne!(e2, etag);
    let stale = store
        .replace(C, &pk, "a", json!({"n": 3}), Some(&etag))
        .await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed)),
        "{stale:?}"
    );
    let e3 = store
        .replace(C, &pk, "a", json!({"n": 3}), None)
        .await
        .unwrap();
    assert!(matches!(
        store.replace(C, &pk, "nope", json!({}), None).await,
        Err(StoreError::NotFound)
    ));

    let e4 = store.upsert(C, &pk, "a", json!({"n": 4})).await.unwrap();
    assert_ne!(e4, e3);
    store.upsert(C, &pk, "b", json!({"n": 5})).await.unwrap();
    assert_eq!(store.read(C, &pk, "b").await.unwrap().unwrap().body["n"], 5);

    assert!(matches!(
        store.delete(C, &pk, "a", Some(&e3)).await,
        Err(StoreError::PreconditionFailed)
    ));
    store.delete(C, &pk, "a", Some(&e4)).await.unwrap();
    assert!(store.read(C, &pk, "a").await.unwrap().is_none());
    assert!(matches!(
        store.delete(C, &pk, "a", None).await,
        Err(StoreError::NotFound)
    ));
}

/// A successful batch returns one ETag per write.
pub async fn batch_success(store: &dyn DocumentStore) {
    let pk = unique("batch");
    let etag = store.create(C, &pk, "x", json!({"v": 0})).await.unwrap();
    store.create(C, &pk, "gone", json!({})).await.unwrap();
    let etags = store
        .batch(
            C,
            &pk,
            vec![
                BatchOp::Create {
                    id: "y".into(),
                    body: json!({"v": 1}),
                },
                BatchOp::Replace {
                    id: "x".into(),
                    body: json!({"v": 2}),
                    if_match: Some(etag),
                },
                BatchOp::Upsert {
                    id: "z".into(),
                    body: json!({"v": 3}),
                },
                BatchOp::Delete {
                    id: "gone".into(),
                    if_match: None,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(etags.len(), 4);
    assert!(etags[0].is_some() && etags[1].is_some() && etags[2].is_some() && etags[3].is_none());
    let x = store.read(C, &pk, "x").await.unwrap().unwrap();
    assert_eq!(x.body["v"], 2);
    assert_eq!(Some(x.etag), etags[1]);
    assert!(store.read(C, &pk, "gone").await.unwrap().is_none());
    assert!(store.batch(C, &pk, vec![]).await.unwrap().is_empty());
}

/// A failing operation names its index and cause.
pub async fn batch_failure_reports_index(store: &dyn DocumentStore) -> String {
    let pk = unique("batchfail");
    store
        .create(C, &pk, "taken", json!({"v": 0}))
        .await
        .unwrap();
    let err = store
        .batch(
            C,
            &pk,
            vec![
                BatchOp::Create {
                    id: "new".into(),
                    body: json!({"v": 1}),
                },
                BatchOp::Create {
                    id: "taken".into(),
                    body: json!({"v": 2}),
                },
            ],
        )
        .await
        .unwrap_err();
    match err {
        StoreError::BatchFailed { index, cause } => {
            assert_eq!(index, 1);
            assert!(matches!(*cause, StoreError::Conflict), "{cause:?}");
        }
        other => panic!("expected BatchFailed, got {other:?}"),
    }
    let stale = store
        .batch(
            C,
            &pk,
            vec![BatchOp::Replace {
                id: "taken".into(),
                body: json!({}),
                if_match: Some(ETag("\"stale\"".into())),
            }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::BatchFailed { index: 0, ref cause } if matches!(**cause, StoreError::PreconditionFailed)),
        "{stale:?}"
    );
    pk
}

/// Nothing of a failed batch is written.
pub async fn batch_is_atomic(store: &dyn DocumentStore) {
    let pk = batch_failure_reports_index(store).await;
    assert!(
        store.read(C, &pk, "new").await.unwrap().is_none(),
        "failed batch rolled back"
    );
    assert_eq!(
        store.read(C, &pk, "taken").await.unwrap().unwrap().body["v"],
        0
    );
}

async fn seed(store: &dyn DocumentStore, pk: &str, n: usize) {
    for i in 0..n {
        let body = json!({
            "rank": (n - i) as i64,
            "name": format!("Item {i} {}", if i % 2 == 0 { "Blue MUG" } else { "red plate" }),
            "tag": if i % 3 == 0 { "a" } else { "b" },
            "nested": {"price": i as i64 * 100},
        });
        store
            .create(C, pk, &format!("d{i:02}"), body)
            .await
            .unwrap();
    }
}

async fn collect(store: &dyn DocumentStore, mut q: Query) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.query(&q).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= q.limit as usize);
        out.extend(page.items.into_iter().map(|d| d.body));
        match page.continuation {
            Some(t) => q = q.continuation(Some(t)),
            None => return (out, pages),
        }
        assert!(pages < 100, "paging does not end");
    }
}

/// Parameterised filters, sorting and paging within one partition.
pub async fn query_in_partition(store: &dyn DocumentStore) {
    let pk = unique("query");
    seed(store, &pk, 7).await;
    store
        .create(
            C,
            &unique("other"),
            "d00",
            json!({"rank": 0, "name": "blue mug", "tag": "a"}),
        )
        .await
        .unwrap();

    let base = Query::new(C).partition(pk.clone());
    let (all, _) = collect(store, base.clone().limit(1000)).await;
    let ids: Vec<&str> = all.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["d00", "d01", "d02", "d03", "d04", "d05", "d06"],
        "default order is by id"
    );

    let (sorted, pages) =
        collect(store, base.clone().sort(field("rank"), Order::Asc).limit(2)).await;
    let ranks: Vec<i64> = sorted.iter().map(|d| d["rank"].as_i64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(pages, 4);

    let (desc, _) = collect(
        store,
        base.clone()
            .sort(field("nested.price"), Order::Desc)
            .limit(3),
    )
    .await;
    let prices: Vec<i64> = desc
        .iter()
        .map(|d| d["nested"]["price"].as_i64().unwrap())
        .collect();
    assert_eq!(prices, [600, 500, 400, 300, 200, 100, 0]);

    let exact = base.clone().limit(7);
    let page = store.query(&exact).await.unwrap();
    assert_eq!(page.items.len(), 7);
    if let Some(t) = page.continuation {
        let next = store
            .query(&exact.clone().continuation(Some(t)))
            .await
            .unwrap();
        assert!(next.items.is_empty() && next.continuation.is_none());
    }

    let mug = base
        .clone()
        .filter(Filter::Contains(field("name"), "blue mug".into()));
    assert_eq!(collect(store, mug).await.0.len(), 4);
    let injection = base
        .clone()
        .filter(Filter::Contains(field("name"), "\" OR 1=1 --".into()));
    assert_eq!(collect(store, injection).await.0.len(), 0);

    let filtered = base.clone().filter(Filter::And(vec![
        Filter::eq("tag", "b"),
        Filter::Ge(field("nested.price"), json!(200)),
        Filter::Lt(field("rank"), json!(5)),
    ]));
    let ids: Vec<String> = collect(store, filtered)
        .await
        .0
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["d04", "d05"]);

    let ins = base.clone().filter(Filter::In(
        field("rank"),
        vec![json!(1), json!(7), json!(99)],
    ));
    assert_eq!(collect(store, ins).await.0.len(), 2);
    let none = base.clone().filter(Filter::In(field("rank"), vec![]));
    assert_eq!(collect(store, none).await.0.len(), 0);
    let ne = base.clone().filter(Filter::Ne(field("tag"), json!("a")));
    assert_eq!(collect(store, ne).await.0.len(), 4);
    let le_gt = base.clone().filter(Filter::And(vec![
        Filter::Le(field("rank"), json!(3)),
        Filter::Gt(field("rank"), json!(1)),
    ]));
    assert_eq!(collect(store, le_gt).await.0.len(), 2);
}

/// Continuation tokens are bound to their query and refuse tampering.
pub async fn continuation_tokens_are_sealed(store: &dyn DocumentStore) {
    let pk = unique("tokens");
    seed(store, &pk, 5).await;
    let q = Query::new(C).partition(pk.clone()).limit(2);
    let first = store.query(&q).await.unwrap();
    let token = first.continuation.expect("more pages follow");

    let other = Query::new(C)
        .partition(pk.clone())
        .filter(Filter::eq("tag", "a"))
        .limit(2);
    assert!(matches!(
        store.query(&other.continuation(Some(token.clone()))).await,
        Err(StoreError::InvalidContinuation)
    ));
    let mut bytes = token.clone().into_bytes();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    assert!(matches!(
        store.query(&q.clone().continuation(Some(tampered))).await,
        Err(StoreError::InvalidContinuation)
    ));
    assert!(matches!(
        store
            .query(&q.clone().continuation(Some("garbage".into())))
            .await,
        Err(StoreError::InvalidContinuation)
    ));
    let second = store
        .query(&q.clone().continuation(Some(token)))
        .await
        .unwrap();
    let ids: Vec<&str> = second.items.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d02", "d03"]);
    assert!(matches!(
        store.query(&q.clone().limit(0)).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Sorted queries over the whole container.
pub async fn query_across_partitions(store: &dyn DocumentStore) {
    let marker = unique("xp");
    for (pk, rank) in [("xp-b", 3), ("xp-a", 1), ("xp-c", 2), ("xp-a", 4)] {
        let id = format!("{marker}-{rank}");
        store
            .create(
                C,
                &format!("{pk}-{marker}"),
                &id,
                json!({"marker": marker, "rank": rank}),
            )
            .await
            .unwrap();
    }
    let q = Query::new(C)
        .filter(Filter::eq("marker", marker.as_str()))
        .sort(field("rank"), Order::Desc)
        .limit(3);
    let (items, pages) = collect(store, q).await;
    let ranks: Vec<i64> = items.iter().map(|d| d["rank"].as_i64().unwrap()).collect();
    assert_eq!(ranks, [4, 3, 2, 1]);
    assert_eq!(pages, 2);
}

/// Measures and prints the request charge (RU) of a point read, a replace and a
/// filtered, sorted listing page, as the adapter records them.
pub async fn request_charges(store: &jojomart_shared::store::cosmos::CosmosStore, label: &str) {
    let pk = unique("ru");
    seed(store, &pk, 20).await;
    let listing = Query::new(C)
        .partition(pk.clone())
        .filter(Filter::And(vec![
            Filter::eq("tag", "b"),
            Filter::Ge(field("nested.price"), json!(100)),
        ]))
        .sort(field("rank"), Order::Desc)
        .limit(5);
    store.query(&listing).await.unwrap(); // warm-up: sets up the cursor key
    let mut charge = {
        let mut last = store.request_charge_total();
        move |s: &jojomart_shared::store::cosmos::CosmosStore| {
            let now = s.request_charge_total();
            let delta = now - last;
            last = now;
            delta
        }
    };
    charge(store);
    let doc = store.read(C, &pk, "d03").await.unwrap().unwrap();
    let read = charge(store);
    store
        .replace(C, &pk, "d03", doc.body.clone(), Some(&doc.etag))
        .await
        .unwrap();
    let replace = charge(store);
    let page = store.query(&listing).await.unwrap();
    let query = charge(store);
    assert_eq!(page.items.len(), 5);
    assert!(page.continuation.is_some());
    println!(
        "RU ({label}): point read {read:.2}, replace {replace:.2}, filtered+sorted page of 5 from a 20-document partition {query:.2}"
    );
    assert!(
        read > 0.0 && replace > 0.0 && query > 0.0,
        "charges are recorded"
    );
}
