//! The queue conformance suite on a fresh SQLite file, plus what only the
//! SQLite adapter must do: follow the injected clock for delays, visibility and
//! expiry, deliver oldest first, enforce Azure's limits and survive a reopen.

use std::{sync::Arc, time::Duration};

use chrono::{TimeZone, Utc};
use jojomart_shared::{
    clock::{FakeClock, SystemClock},
    queue::{DeliveryPolicy, MessageQueue, Outcome, QueueError, SendOptions, SharedQueue},
    sqlite::{Database, TempDatabase},
};

async fn fresh() -> (SharedQueue, TempDatabase) {
    let db = TempDatabase::new(Arc::new(SystemClock)).expect("a temp database opens");
    (Arc::new(db.queue()), db)
}

jojomart_shared::queue_conformance!(fresh());

fn fake() -> (FakeClock, TempDatabase) {
    let clock = FakeClock::new(
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0)
            .single()
            .expect("a valid date"),
    );
    let db = TempDatabase::new(Arc::new(clock.clone())).expect("a temp database opens");
    (clock, db)
}

fn secs(s: i64) -> chrono::Duration {
    chrono::Duration::seconds(s)
}

/// Initial delay, visibility timeout and time to live all follow the injected
/// clock, not the wall clock.
#[tokio::test]
async fn the_clock_drives_delay_visibility_and_expiry() {
    let (clock, db) = fake();
    let q = db.queue();
    q.ensure_queue("jobs").await.expect("ensure");

    let delayed = SendOptions {
        initial_delay: Duration::from_secs(60),
        ..SendOptions::default()
    };
    q.send("jobs", "delayed", delayed).await.expect("send");
    assert!(q
        .receive("jobs", 32, Duration::from_secs(30))
        .await
        .expect("receive")
        .is_empty());
    clock.advance(secs(59));
    assert!(
        q.receive("jobs", 32, Duration::from_secs(30))
            .await
            .expect("receive")
            .is_empty(),
        "one second early"
    );
    clock.advance(secs(1));
    let m = q
        .receive("jobs", 32, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].next_visible_time, clock_now(&clock) + secs(30));
    assert_eq!(
        m[0].expiration_time,
        m[0].insertion_time + chrono::Duration::days(7)
    );

    clock.advance(secs(29));
    assert!(
        q.receive("jobs", 32, Duration::from_secs(30))
            .await
            .expect("receive")
            .is_empty(),
        "still hidden"
    );
    clock.advance(secs(1));
    let again = q
        .receive("jobs", 32, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!((again.len(), again[0].dequeue_count), (1, 2));

    let short = SendOptions {
        time_to_live: Some(Duration::from_secs(10)),
        ..SendOptions::default()
    };
    q.send("jobs", "short-lived", short).await.expect("send");
    assert_eq!(q.approximate_count("jobs").await.expect("count"), 2);
    clock.advance(secs(10));
    assert_eq!(
        q.approximate_count("jobs").await.expect("count"),
        1,
        "an expired message does not count"
    );
    clock.advance(secs(60));
    let left = q
        .receive("jobs", 32, Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(
        left.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["delayed"]
    );
    q.delete("jobs", &left[0].id, &left[0].pop_receipt)
        .await
        .expect("delete");
}

fn clock_now(clock: &FakeClock) -> chrono::DateTime<Utc> {
    use jojomart_shared::clock::Clock;
    clock.now()
}

/// Messages are delivered oldest first.
#[tokio::test]
async fn receive_returns_oldest_first() {
    let (_, db) = fake();
    let q = db.queue();
    q.ensure_queue("fifo").await.expect("ensure");
    for i in 0..10 {
        q.send("fifo", &format!("m{i}"), SendOptions::default())
            .await
            .expect("send");
    }
    let first = q
        .receive("fifo", 4, Duration::from_secs(30))
        .await
        .expect("receive");
    let rest = q
        .receive("fifo", 32, Duration::from_secs(30))
        .await
        .expect("receive");
    let bodies: Vec<_> = first.iter().chain(&rest).map(|m| m.body.clone()).collect();
    assert_eq!(bodies, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
}

/// The Functions-host retry policy poisons a message on the fake clock too.
#[tokio::test]
async fn poisoning_follows_the_clock() {
    let (clock, db) = fake();
    let q = db.queue();
    q.ensure_queue("work").await.expect("ensure");
    q.send("work", "bad", SendOptions::default())
        .await
        .expect("send");
    let policy = DeliveryPolicy::default();
    let mut outcomes = Vec::new();
    for _ in 0..policy.max_dequeue_count {
        let m = q.receive("work", 1, policy.lease).await.expect("receive");
        assert_eq!(m.len(), 1, "delivery {}", outcomes.len() + 1);
        outcomes.push(
            policy
                .settle(&q, "work", &m[0], false)
                .await
                .expect("settle"),
        );
        assert!(
            q.receive("work", 1, policy.lease)
                .await
                .expect("receive")
                .is_empty(),
            "hidden for the retry delay"
        );
        clock.advance(chrono::Duration::from_std(policy.retry_delay).expect("small delay"));
    }
    assert_eq!(outcomes.last(), Some(&Outcome::Poisoned));
    assert!(outcomes[..outcomes.len() - 1]
        .iter()
        .all(|o| *o == Outcome::Retrying));
    assert_eq!(q.approximate_count("work").await.expect("count"), 0);
    assert_eq!(q.approximate_count("work-poison").await.expect("count"), 1);
}

/// Azure's limits: body size, time to live, delays and visibility timeouts.
#[tokio::test]
async fn azure_limits_are_enforced() {
    let (_, db) = fake();
    let q = db.queue();
    q.ensure_queue("limits").await.expect("ensure");
    let too_big = "x".repeat(48 * 1024 + 1);
    let cases = [
        q.send("limits", &too_big, SendOptions::default())
            .await
            .map(|_| ()),
        q.send(
            "limits",
            "x",
            SendOptions {
                time_to_live: Some(Duration::ZERO),
                ..Default::default()
            },
        )
        .await
        .map(|_| ()),
        q.send(
            "limits",
            "x",
            SendOptions {
                initial_delay: Duration::from_secs(20),
                time_to_live: Some(Duration::from_secs(10)),
            },
        )
        .await
        .map(|_| ()),
        q.send(
            "limits",
            "x",
            SendOptions {
                initial_delay: Duration::from_secs(8 * 86_400),
                ..Default::default()
            },
        )
        .await
        .map(|_| ()),
        q.receive("limits", 1, Duration::ZERO).await.map(|_| ()),
        q.receive("limits", 1, Duration::from_secs(8 * 86_400))
            .await
            .map(|_| ()),
    ];
    for (i, result) in cases.into_iter().enumerate() {
        assert!(
            matches!(result, Err(QueueError::Invalid(_))),
            "case {i}: {result:?}"
        );
    }
    let fits = "x".repeat(48 * 1024);
    q.send("limits", &fits, SendOptions::default())
        .await
        .expect("48 KiB fits");
}

/// A delete or update with a receipt for a message never received is refused,
/// and an unknown id is `NotFound`.
#[tokio::test]
async fn receipts_are_checked() {
    let (_, db) = fake();
    let q = db.queue();
    q.ensure_queue("receipts").await.expect("ensure");
    let id = q
        .send("receipts", "x", SendOptions::default())
        .await
        .expect("send")
        .id;
    let r = q.delete("receipts", &id, "made-up").await;
    assert!(matches!(r, Err(QueueError::PopReceiptMismatch)), "{r:?}");
    let r = q
        .update_visibility("receipts", "no-such-id", "made-up", Duration::ZERO)
        .await;
    assert!(matches!(r, Err(QueueError::NotFound)), "{r:?}");
}

/// Messages, including hidden ones, survive close and reopen.
#[tokio::test(flavor = "multi_thread")]
async fn messages_survive_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("q.sqlite3");
    let db = Database::open(&path, Arc::new(SystemClock)).expect("open");
    let q = db.queue();
    q.ensure_queue("keep").await.expect("ensure");
    q.send("keep", "one", SendOptions::default())
        .await
        .expect("send");
    q.send("keep", "two", SendOptions::default())
        .await
        .expect("send");
    let hidden = q
        .receive("keep", 1, Duration::from_secs(600))
        .await
        .expect("receive");
    db.close().await.expect("close");
    drop((q, db));

    let db = Database::open(&path, Arc::new(SystemClock)).expect("reopen");
    let q = db.queue();
    assert_eq!(q.approximate_count("keep").await.expect("count"), 2);
    let m = q
        .receive("keep", 32, Duration::from_secs(600))
        .await
        .expect("receive");
    assert_eq!(
        m.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["two"],
        "the hidden one stays hidden"
    );
    q.delete("keep", &hidden[0].id, &hidden[0].pop_receipt)
        .await
        .expect("its receipt survived too");
}

/// Many concurrent senders and receivers on one file never see an error and
/// never share a message.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_senders_and_receivers_never_error() {
    let db = TempDatabase::new(Arc::new(SystemClock)).expect("temp database");
    let q = db.queue();
    q.ensure_queue("busy").await.expect("ensure");
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let q = q.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    q.send("busy", &format!("{t}-{i}"), SendOptions::default())
                        .await?;
                }
                Ok::<_, QueueError>(())
            })
        })
        .collect();
    let receivers: Vec<_> = (0..8)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..200 {
                    for m in q.receive("busy", 8, Duration::from_secs(600)).await? {
                        q.delete("busy", &m.id, &m.pop_receipt).await?;
                        got.push(m.body);
                    }
                    tokio::task::yield_now().await;
                }
                Ok::<_, QueueError>(got)
            })
        })
        .collect();
    for s in senders {
        s.await.expect("sender panicked").expect("a send failed");
    }
    let mut all = Vec::new();
    for r in receivers {
        all.extend(
            r.await
                .expect("receiver panicked")
                .expect("a receive or delete failed"),
        );
    }
    let left = q
        .receive("busy", 32, Duration::from_secs(600))
        .await
        .expect("receive");
    let mut drained = left.len();
    for m in left {
        q.delete("busy", &m.id, &m.pop_receipt)
            .await
            .expect("delete");
    }
    while let Ok(more) = q.receive("busy", 32, Duration::from_secs(600)).await {
        if more.is_empty() {
            break;
        }
        drained += more.len();
        for m in more {
            q.delete("busy", &m.id, &m.pop_receipt)
                .await
                .expect("delete");
        }
    }
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a message was delivered twice");
    assert_eq!(all.len() + drained, 400, "every message was delivered once");
    assert_eq!(q.approximate_count("busy").await.expect("count"), 0);
}
