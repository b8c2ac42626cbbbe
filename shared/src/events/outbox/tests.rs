use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use async_trait::async_trait;
use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::{
    clock::{Clock, FakeClock},
    events::ErasureRequested,
    queue::{ReceivedMessage, SentMessage},
    sqlite::Database,
    store::sqlite::SqliteStore,
};

/// Test-only containers and queues: never the names of the app's own.
const THINGS: &Container = &Container::new("things", "thingId");
const GADGETS: &Container = &Container::new("gadgets", "gadgetId");
const ALPHA: &str = "alpha-events";
const BETA: &str = "beta-events";

struct Fixture {
    clock: FakeClock,
    store: SqliteStore,
    queue: FlakyQueue,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new(Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap());
    let db = Database::open(&dir.path().join("outbox.db"), Arc::new(clock.clone())).unwrap();
    Fixture {
        clock,
        store: db.store(),
        queue: FlakyQueue {
            inner: db.queue(),
            failing: Arc::default(),
        },
        _dir: dir,
    }
}

impl Fixture {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A new event, one second after the previous one.
    fn event(&self, user: &str) -> Event {
        self.clock.advance(chrono::Duration::seconds(1));
        Event::new(
            &ErasureRequested {
                user_id: crate::domain::UserId::parse(user).unwrap(),
            },
            self.now(),
        )
        .unwrap()
    }

    /// Creates a thing and stages `event` for `queues` in one batch.
    async fn change_and_stage(
        &self,
        container: &Container,
        pk: &str,
        event: &Event,
        queues: &[&'static str],
    ) -> Result<Vec<Option<crate::store::ETag>>, StoreError> {
        let mut ops = vec![BatchOp::Upsert {
            id: "thing".into(),
            body: json!({"kind": "thing", "n": 1}),
        }];
        ops.extend(stage(event, queues).unwrap());
        self.store.batch(container, pk, ops).await
    }

    async fn relay(&self, limit: u32) -> Result<RelayReport, RelayError> {
        relay(
            &self.store,
            &self.queue,
            &[THINGS, GADGETS],
            self.now(),
            limit,
        )
        .await
    }

    /// Takes every message off `queue`, deleting each, and parses them.
    async fn drain(&self, queue: &str) -> Vec<Event> {
        self.queue.inner.ensure_queue(queue).await.unwrap();
        let mut events = Vec::new();
        loop {
            let batch = self
                .queue
                .inner
                .receive(queue, 32, Duration::from_secs(30))
                .await
                .unwrap();
            if batch.is_empty() {
                break;
            }
            for m in batch {
                events.push(Event::parse(&m.body).unwrap());
                self.queue
                    .inner
                    .delete(queue, &m.id, &m.pop_receipt)
                    .await
                    .unwrap();
            }
        }
        assert_eq!(self.queue.inner.approximate_count(queue).await.unwrap(), 0);
        events
    }

    async fn entry(&self, container: &Container, pk: &str, event: &Event, queue: &str) -> Value {
        self.store
            .read(container, pk, &entry_id(event.id(), queue))
            .await
            .unwrap()
            .expect("the entry exists")
            .body
    }
}

/// The SQLite queue, with sends that fail while `failing` is set.
#[derive(Debug)]
struct FlakyQueue {
    inner: crate::queue::sqlite::SqliteQueue,
    failing: Arc<AtomicBool>,
}

#[async_trait]
impl MessageQueue for FlakyQueue {
    fn kind(&self) -> &'static str {
        "flaky"
    }
    async fn ensure_queue(&self, queue: &str) -> Result<(), QueueError> {
        self.inner.ensure_queue(queue).await
    }
    async fn send(
        &self,
        queue: &str,
        body: &str,
        options: SendOptions,
    ) -> Result<SentMessage, QueueError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable("switched off by the test".into()));
        }
        self.inner.send(queue, body, options).await
    }
    async fn receive(
        &self,
        queue: &str,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.inner.receive(queue, max, visibility_timeout).await
    }
    async fn delete(&self, queue: &str, id: &str, pop_receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(queue, id, pop_receipt).await
    }
    async fn update_visibility(
        &self,
        queue: &str,
        id: &str,
        pop_receipt: &str,
        visibility_timeout: Duration,
    ) -> Result<String, QueueError> {
        self.inner
            .update_visibility(queue, id, pop_receipt, visibility_timeout)
            .await
    }
    async fn approximate_count(&self, queue: &str) -> Result<u64, QueueError> {
        self.inner.approximate_count(queue).await
    }
    async fn health(&self) -> Result<(), QueueError> {
        self.inner.health().await
    }
}

fn ids(events: &[Event]) -> Vec<EventId> {
    events.iter().map(Event::id).collect()
}

#[tokio::test]
async fn a_staged_entry_is_stored_with_its_change_in_the_documented_shape() {
    let f = fixture();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap();

    assert!(f
        .store
        .read(THINGS, "t-1", "thing")
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        f.entry(THINGS, "t-1", &event, ALPHA).await,
        json!({
            "id": format!("outbox:{}:{ALPHA}", event.id()),
            "thingId": "t-1",
            "kind": "outbox",
            "state": "staged",
            "queue": ALPHA,
            "event": serde_json::to_value(&event).unwrap(),
            "stagedAt": "2025-03-01T12:00:01.000000Z",
            "ttl": -1
        })
    );
}

#[tokio::test]
async fn a_batch_that_fails_on_its_change_stages_nothing() {
    let f = fixture();
    let etag = f
        .store
        .create(THINGS, "t-1", "thing", json!({"n": 0}))
        .await
        .unwrap();
    f.store
        .replace(THINGS, "t-1", "thing", json!({"n": 1}), Some(&etag))
        .await
        .unwrap();

    let event = f.event("u-1");
    let mut ops = vec![BatchOp::Replace {
        id: "thing".into(),
        body: json!({"n": 2}),
        if_match: Some(etag),
    }];
    ops.extend(stage(&event, &[ALPHA, BETA]).unwrap());
    let err = f.store.batch(THINGS, "t-1", ops).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::BatchFailed { index: 0, cause } if matches!(**cause, StoreError::PreconditionFailed)),
        "{err:?}"
    );

    assert!(pending(&f.store, &[THINGS], 10).await.unwrap().is_empty());
    assert_eq!(f.relay(10).await.unwrap(), RelayReport::default());
    assert!(f.drain(ALPHA).await.is_empty());
}

#[tokio::test]
async fn relay_sends_each_event_once_to_each_queue_and_marks_it_sent() {
    let f = fixture();
    let first = f.event("u-1");
    let second = f.event("u-2");
    f.change_and_stage(THINGS, "t-1", &first, &[ALPHA, BETA])
        .await
        .unwrap();
    f.change_and_stage(GADGETS, "g-1", &second, &[ALPHA])
        .await
        .unwrap();
    f.clock.advance(chrono::Duration::seconds(5));

    let report = f.relay(100).await.unwrap();
    assert_eq!(
        report,
        RelayReport {
            sent: 3,
            ..RelayReport::default()
        }
    );

    let alpha = f.drain(ALPHA).await;
    assert_eq!(ids(&alpha), [first.id(), second.id()]);
    assert_eq!(alpha, [first.clone(), second.clone()]);
    assert_eq!(f.drain(BETA).await, std::slice::from_ref(&first));

    let sent = f.entry(THINGS, "t-1", &first, BETA).await;
    assert_eq!(sent["state"], "sent");
    assert_eq!(sent["sentAt"], "2025-03-01T12:00:07.000000Z");
    assert_eq!(sent["ttl"], SENT_RETENTION_SECONDS);
    assert_eq!(sent["event"], serde_json::to_value(&first).unwrap());
}

#[tokio::test]
async fn a_second_relay_sends_nothing() {
    let f = fixture();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap();
    assert_eq!(f.relay(100).await.unwrap().sent, 1);

    assert!(pending(&f.store, &[THINGS, GADGETS], 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(f.relay(100).await.unwrap(), RelayReport::default());
    assert_eq!(ids(&f.drain(ALPHA).await), [event.id()]);
}

#[tokio::test]
async fn a_crash_between_send_and_mark_sends_the_same_event_again() {
    let f = fixture();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap();

    // A relay sends, then dies before marking.
    let staged = pending(&f.store, &[THINGS], 10).await.unwrap();
    assert_eq!(staged.len(), 1);
    assert_eq!(staged[0].event_id(), Some(event.id().to_string().as_str()));
    f.queue.ensure_queue(ALPHA).await.unwrap();
    staged[0].send(&f.queue).await.unwrap();

    // The next run finds it still staged and sends it again.
    assert_eq!(f.relay(10).await.unwrap().sent, 1);
    assert_eq!(ids(&f.drain(ALPHA).await), [event.id(), event.id()]);
    assert_eq!(f.relay(10).await.unwrap(), RelayReport::default());
}

#[tokio::test]
async fn losing_the_race_to_mark_is_not_an_error() {
    let f = fixture();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap();
    f.queue.ensure_queue(ALPHA).await.unwrap();

    let mine = pending(&f.store, &[THINGS], 10).await.unwrap();
    let theirs = pending(&f.store, &[THINGS], 10).await.unwrap();
    theirs[0].send(&f.queue).await.unwrap();
    mine[0].send(&f.queue).await.unwrap();
    assert_eq!(
        theirs[0].mark_sent(&f.store, f.now()).await.unwrap(),
        MarkOutcome::Marked
    );
    assert_eq!(
        mine[0].mark_sent(&f.store, f.now()).await.unwrap(),
        MarkOutcome::ChangedElsewhere
    );
    assert_eq!(f.entry(THINGS, "t-1", &event, ALPHA).await["state"], "sent");
    assert_eq!(ids(&f.drain(ALPHA).await), [event.id(), event.id()]);
}

#[tokio::test]
async fn staging_the_same_event_twice_conflicts() {
    let f = fixture();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap();

    let err = f
        .change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::BatchFailed { index: 1, cause } if matches!(**cause, StoreError::Conflict)),
        "{err:?}"
    );
    assert_eq!(f.relay(10).await.unwrap().sent, 1);
    assert_eq!(ids(&f.drain(ALPHA).await), [event.id()]);
}

#[tokio::test]
async fn a_queue_named_twice_is_staged_once() {
    let f = fixture();
    let event = f.event("u-1");
    let ops = stage(&event, &[ALPHA, BETA, ALPHA]).unwrap();
    let ids: Vec<_> = ops
        .iter()
        .map(|op| match op {
            BatchOp::Create { id, .. } => id.clone(),
            other => panic!("stage made {other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [entry_id(event.id(), ALPHA), entry_id(event.id(), BETA)]
    );
    assert!(stage(&event, &[]).unwrap().is_empty());
}

#[tokio::test]
async fn stage_refuses_what_a_queue_would_refuse() {
    let f = fixture();
    let event = f.event("u-1");
    assert!(matches!(
        stage(&event, &["Bad_Queue"]),
        Err(OutboxError::InvalidQueue(_))
    ));
    /// A payload far larger than a queue message may be.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Bulky {
        blob: String,
    }
    impl crate::events::EventKind for Bulky {
        const KIND: &'static str = "test.bulky";
        const VERSION: u32 = 1;
        fn data_schema() -> serde_json::Value {
            json!({"type": "object"})
        }
    }
    let big = Event::new(
        &Bulky {
            blob: "x".repeat(MAX_MESSAGE_BYTES),
        },
        f.now(),
    )
    .unwrap();
    assert!(matches!(
        stage(&big, &[ALPHA]),
        Err(OutboxError::TooLarge {
            max: MAX_MESSAGE_BYTES,
            ..
        })
    ));
}

#[tokio::test]
async fn relay_takes_the_oldest_first_across_containers_up_to_its_limit() {
    let f = fixture();
    let oldest = f.event("u-1");
    let middle = f.event("u-2");
    let newest = f.event("u-3");
    // Staged out of order, in two containers and three partitions.
    f.change_and_stage(THINGS, "t-2", &newest, &[ALPHA])
        .await
        .unwrap();
    f.change_and_stage(GADGETS, "g-1", &oldest, &[ALPHA])
        .await
        .unwrap();
    f.change_and_stage(THINGS, "t-1", &middle, &[ALPHA])
        .await
        .unwrap();

    assert_eq!(f.relay(1).await.unwrap().sent, 1);
    assert_eq!(ids(&f.drain(ALPHA).await), [oldest.id()]);
    assert_eq!(f.relay(0).await.unwrap(), RelayReport::default());
    assert_eq!(f.relay(2).await.unwrap().sent, 2);
    assert_eq!(ids(&f.drain(ALPHA).await), [middle.id(), newest.id()]);
}

#[tokio::test]
async fn a_failing_queue_stops_the_relay_and_leaves_the_rest_staged() {
    let f = fixture();
    let first = f.event("u-1");
    let second = f.event("u-2");
    f.change_and_stage(THINGS, "t-1", &first, &[ALPHA])
        .await
        .unwrap();
    f.change_and_stage(THINGS, "t-2", &second, &[ALPHA])
        .await
        .unwrap();

    f.queue.failing.store(true, Ordering::SeqCst);
    let err = f.relay(10).await.unwrap_err();
    assert!(
        matches!(&err, RelayError::Queue { queue, source: QueueError::Unavailable(_) } if queue == ALPHA),
        "{err:?}"
    );
    assert_eq!(pending(&f.store, &[THINGS], 10).await.unwrap().len(), 2);

    f.queue.failing.store(false, Ordering::SeqCst);
    assert_eq!(f.relay(10).await.unwrap().sent, 2);
    assert_eq!(ids(&f.drain(ALPHA).await), [first.id(), second.id()]);
}

#[tokio::test]
async fn a_malformed_entry_is_set_aside_and_does_not_block_the_rest() {
    let f = fixture();
    f.store
        .create(
            THINGS,
            "t-1",
            "outbox:broken",
            json!({"kind": "outbox", "state": "staged", "stagedAt": "2000-01-01T00:00:00.000000Z"}),
        )
        .await
        .unwrap();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-2", &event, &[ALPHA])
        .await
        .unwrap();

    let staged = pending(&f.store, &[THINGS], 10).await.unwrap();
    assert!(staged[0].is_malformed());
    assert!(matches!(
        staged[0].send(&f.queue).await,
        Err(RelayError::Malformed { .. })
    ));

    assert_eq!(
        f.relay(10).await.unwrap(),
        RelayReport {
            sent: 1,
            quarantined: 1,
            ..RelayReport::default()
        }
    );
    let broken = f
        .store
        .read(THINGS, "t-1", "outbox:broken")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(broken.body["state"], "malformed");
    assert_eq!(f.relay(10).await.unwrap(), RelayReport::default());
    assert_eq!(ids(&f.drain(ALPHA).await), [event.id()]);
}

#[tokio::test]
async fn other_documents_are_never_relayed() {
    let f = fixture();
    f.store
        .create(
            THINGS,
            "t-1",
            "look-alike",
            json!({"kind": "thing", "state": "staged", "queue": ALPHA, "event": {"id": "x"}}),
        )
        .await
        .unwrap();
    assert_eq!(f.relay(10).await.unwrap(), RelayReport::default());
}

#[tokio::test]
async fn relaying_from_the_change_feeds_sends_what_was_staged_since_the_last_call() {
    let f = fixture();
    let mut positions = FeedPositions::default();
    let first = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &first, &[ALPHA, BETA])
        .await
        .unwrap();
    let report = relay_changes(
        &f.store,
        &f.queue,
        &[THINGS, GADGETS],
        &mut positions,
        f.now(),
    )
    .await
    .unwrap();
    assert_eq!(report.sent, 2);
    assert_eq!(ids(&f.drain(ALPHA).await), [first.id()]);
    assert_eq!(ids(&f.drain(BETA).await), [first.id()]);

    // Nothing new: nothing sent, though the entries are on the feed as sent.
    let again = relay_changes(
        &f.store,
        &f.queue,
        &[THINGS, GADGETS],
        &mut positions,
        f.now(),
    )
    .await
    .unwrap();
    assert_eq!(again, RelayReport::default());

    // Staged later, in another container: found from where the feed stopped.
    let second = f.event("u-2");
    f.change_and_stage(GADGETS, "g-1", &second, &[ALPHA])
        .await
        .unwrap();
    let report = relay_changes(
        &f.store,
        &f.queue,
        &[THINGS, GADGETS],
        &mut positions,
        f.now(),
    )
    .await
    .unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(ids(&f.drain(ALPHA).await), [second.id()]);
    assert!(pending(&f.store, &[THINGS, GADGETS], 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_failed_relay_from_the_feeds_leaves_the_entry_for_the_next_call() {
    let f = fixture();
    let mut positions = FeedPositions::default();
    let event = f.event("u-1");
    f.change_and_stage(THINGS, "t-1", &event, &[ALPHA])
        .await
        .unwrap();
    f.queue.failing.store(true, Ordering::SeqCst);
    assert!(
        relay_changes(&f.store, &f.queue, &[THINGS], &mut positions, f.now())
            .await
            .is_err()
    );
    f.queue.failing.store(false, Ordering::SeqCst);
    let report = relay_changes(&f.store, &f.queue, &[THINGS], &mut positions, f.now())
        .await
        .unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(ids(&f.drain(ALPHA).await), [event.id()]);
}
