//! The queue suite: what every [`MessageQueue`](crate::queue::MessageQueue)
//! adapter must do, Azure Storage Queue semantics included.
//!
//! Timeouts are whole seconds and short, and waits poll with a deadline, because
//! the Azure emulator runs on real time. Orders of delivery are not asserted:
//! Storage Queues do not promise FIFO.

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::{eventually, unique};
use crate::queue::{
    poison_queue, DeliveryPolicy, Outcome, QueueError, ReceivedMessage, SendOptions, SharedQueue,
};

/// Long enough that a message cannot reappear by itself during a check.
const HIDE: Duration = Duration::from_secs(30);
/// Short enough to wait for; the smallest timeout Azure accepts.
const SHORT: Duration = Duration::from_secs(1);
/// How long a check waits for something that should happen within seconds.
const DEADLINE: Duration = Duration::from_secs(20);

/// Creates a fresh, uniquely named queue.
async fn fresh_queue(queue: &SharedQueue) -> String {
    let name = unique("conf");
    queue
        .ensure_queue(&name)
        .await
        .unwrap_or_else(|e| panic!("ensure_queue {name} failed: {e}"));
    name
}

async fn send(queue: &SharedQueue, name: &str, body: &str) -> String {
    queue
        .send(name, body, SendOptions::default())
        .await
        .unwrap_or_else(|e| panic!("send to {name} failed: {e}"))
        .id
}

async fn receive(
    queue: &SharedQueue,
    name: &str,
    max: u32,
    timeout: Duration,
) -> Vec<ReceivedMessage> {
    queue
        .receive(name, max, timeout)
        .await
        .unwrap_or_else(|e| panic!("receive from {name} failed: {e}"))
}

/// Polls until one message is received, hiding it for `timeout`.
async fn receive_one(
    queue: &SharedQueue,
    name: &str,
    timeout: Duration,
    what: &str,
) -> ReceivedMessage {
    eventually(what, DEADLINE, || async {
        let mut got = receive(queue, name, 1, timeout).await;
        assert!(
            got.len() <= 1,
            "receive(max 1) returned {} messages",
            got.len()
        );
        got.pop()
    })
    .await
}

async fn count(queue: &SharedQueue, name: &str) -> u64 {
    queue
        .approximate_count(name)
        .await
        .unwrap_or_else(|e| panic!("approximate_count of {name} failed: {e}"))
}

/// Messages come back with their body intact (unicode, JSON, whitespace), a
/// dequeue count of 1 and sane times; a deleted message is gone for good.
pub async fn send_receive_delete_round_trip(queue: SharedQueue) {
    let name = fresh_queue(&queue).await;
    let bodies = [
        r#"{"eventId":"e-1","type":"order.placed","total":{"minor":1999,"currency":"EUR"},"note":"ünïcødé ✓ 🛒"}"#,
        "  plain text with <xml> & 'quotes' and\nnewlines\t ",
        "日本語のメッセージ",
    ];
    let mut sent = BTreeSet::new();
    for body in bodies {
        sent.insert(send(&queue, &name, body).await);
    }
    assert_eq!(sent.len(), bodies.len(), "message ids are unique");

    let mut received = Vec::new();
    let give_up = Instant::now() + DEADLINE;
    while received.len() < bodies.len() {
        assert!(
            Instant::now() < give_up,
            "timed out waiting for all three messages"
        );
        let got = receive(&queue, &name, 32, HIDE).await;
        if got.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        received.extend(got);
    }
    assert_eq!(
        received.len(),
        bodies.len(),
        "each message is delivered once"
    );
    let got_ids: BTreeSet<String> = received.iter().map(|m| m.id.clone()).collect();
    assert_eq!(got_ids, sent, "received ids are the sent ids");
    let got_bodies: BTreeSet<&str> = received.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        got_bodies,
        bodies.into_iter().collect(),
        "bodies must round-trip byte for byte"
    );
    for m in &received {
        assert_eq!(m.dequeue_count, 1, "first delivery");
        assert!(!m.pop_receipt.is_empty());
        assert!(m.insertion_time < m.expiration_time);
        assert!(
            m.next_visible_time > m.insertion_time,
            "a received message is hidden"
        );
        let ttl = m.expiration_time - m.insertion_time;
        assert!(
            (ttl - chrono::Duration::days(7)).num_seconds().abs() <= 60,
            "the default time to live is 7 days, got {ttl}"
        );
    }
    for m in &received {
        queue
            .delete(&name, &m.id, &m.pop_receipt)
            .await
            .expect("delete with the current receipt");
    }
    let again = queue
        .delete(&name, &received[0].id, &received[0].pop_receipt)
        .await;
    assert!(
        matches!(again, Err(QueueError::NotFound)),
        "a second delete: expected NotFound, got {again:?}"
    );
    assert_eq!(count(&queue, &name).await, 0);
    assert!(
        receive(&queue, &name, 32, HIDE).await.is_empty(),
        "the queue is drained"
    );
}

/// Using a queue that was never created is `NotFound`.
pub async fn missing_queue_is_not_found(queue: SharedQueue) {
    let name = unique("missing");
    let send = queue.send(&name, "x", SendOptions::default()).await;
    assert!(
        matches!(send, Err(QueueError::NotFound)),
        "send: expected NotFound, got {send:?}"
    );
    let received = queue.receive(&name, 1, HIDE).await;
    assert!(
        matches!(received, Err(QueueError::NotFound)),
        "receive: expected NotFound, got {received:?}"
    );
    let counted = queue.approximate_count(&name).await;
    assert!(
        matches!(counted, Err(QueueError::NotFound)),
        "count: expected NotFound, got {counted:?}"
    );
}

/// Names that break Azure's rules and receive sizes outside 1..=32 are refused.
pub async fn invalid_requests_are_refused(queue: SharedQueue) {
    let too_long = "a".repeat(64);
    for bad in [
        "ab",
        "Upper-case",
        "under_score",
        "-leading",
        "trailing-",
        "double--hyphen",
        too_long.as_str(),
    ] {
        let result = queue.ensure_queue(bad).await;
        assert!(
            matches!(result, Err(QueueError::Invalid(_))),
            "queue name `{bad}`: expected Invalid, got {result:?}"
        );
    }
    let name = fresh_queue(&queue).await;
    for max in [0, 33] {
        let result = queue.receive(&name, max, HIDE).await;
        assert!(
            matches!(result, Err(QueueError::Invalid(_))),
            "receive max {max}: expected Invalid, got {result:?}"
        );
    }
}

/// Ensuring an existing queue again succeeds and keeps its messages.
pub async fn ensure_queue_is_idempotent(queue: SharedQueue) {
    let name = fresh_queue(&queue).await;
    send(&queue, &name, "kept").await;
    queue
        .ensure_queue(&name)
        .await
        .expect("a second ensure_queue succeeds");
    let m = receive_one(
        &queue,
        &name,
        HIDE,
        "the message sent before the second ensure",
    )
    .await;
    assert_eq!(m.body, "kept");
    queue
        .delete(&name, &m.id, &m.pop_receipt)
        .await
        .expect("delete");
}

/// A message sent with an initial delay stays hidden until the delay passed,
/// yet is counted, and is then delivered.
pub async fn initial_delay_hides_message(queue: SharedQueue) {
    let name = fresh_queue(&queue).await;
    let delay = Duration::from_secs(2);
    let sent_at = Instant::now();
    let options = SendOptions {
        initial_delay: delay,
        ..SendOptions::default()
    };
    let id = queue
        .send(&name, "later", options)
        .await
        .expect("send with a delay")
        .id;
    assert!(
        receive(&queue, &name, 32, HIDE).await.is_empty(),
        "a delayed message was visible at once"
    );
    assert_eq!(
        count(&queue, &name).await,
        1,
        "a delayed message still counts"
    );

    let m = receive_one(&queue, &name, HIDE, "the delayed message").await;
    // Azure keeps time in whole seconds: allow one second of rounding.
    assert!(
        sent_at.elapsed() >= delay - Duration::from_secs(1),
        "delivered after {:?}, before its {delay:?} delay",
        sent_at.elapsed()
    );
    assert_eq!(
        (m.id.as_str(), m.body.as_str(), m.dequeue_count),
        (id.as_str(), "later", 1)
    );
    queue
        .delete(&name, &m.id, &m.pop_receipt)
        .await
        .expect("delete");
}

/// An undeleted message reappears after its visibility timeout with dequeue
/// count 2 and a new pop receipt; the first receipt no longer deletes it.
pub async fn visibility_timeout_redelivers(queue: SharedQueue) {
    let name = fresh_queue(&queue).await;
    let id = send(&queue, &name, "again").await;
    let first = receive_one(&queue, &name, SHORT, "the first delivery").await;
    assert_eq!((first.id.as_str(), first.dequeue_count), (id.as_str(), 1));
    assert!(
        receive(&queue, &name, 32, SHORT).await.is_empty(),
        "a received message must be hidden until its timeout"
    );

    let second = receive_one(&queue, &name, HIDE, "the redelivery").await;
    assert_eq!(second.id, id, "the same message comes back");
    assert_eq!(second.body, "again");
    assert_eq!(second.dequeue_count, 2, "the redelivery counts");
    assert_ne!(
        second.pop_receipt, first.pop_receipt,
        "each delivery has its own receipt"
    );

    let stale = queue.delete(&name, &id, &first.pop_receipt).await;
    assert!(
        matches!(stale, Err(QueueError::PopReceiptMismatch)),
        "stale receipt: expected PopReceiptMismatch, got {stale:?}"
    );
    assert_eq!(
        count(&queue, &name).await,
        1,
        "the refused delete removed the message"
    );
    queue
        .delete(&name, &id, &second.pop_receipt)
        .await
        .expect("delete with the current receipt");
    assert_eq!(count(&queue, &name).await, 0);
}

/// `update_visibility` returns a new receipt: the old one is refused from then
/// on, the new one works, and a zero timeout makes the message visible at once.
pub async fn update_visibility_renews_the_receipt(queue: SharedQueue) {
    let name = fresh_queue(&queue).await;
    let id = send(&queue, &name, "extend me").await;
    let m = receive_one(&queue, &name, HIDE, "the message").await;

    let renewed = queue
        .update_visibility(&name, &id, &m.pop_receipt, HIDE)
        .await
        .expect("update_visibility with the current receipt");
    assert_ne!(
        renewed, m.pop_receipt,
        "update_visibility issues a new receipt"
    );
    let old_update = queue
        .update_visibility(&name, &id, &m.pop_receipt, HIDE)
        .await;
    assert!(
        matches!(old_update, Err(QueueError::PopReceiptMismatch)),
        "update with the old receipt: expected PopReceiptMismatch, got {old_update:?}"
    );
    let old_delete = queue.delete(&name, &id, &m.pop_receipt).await;
    assert!(
        matches!(old_delete, Err(QueueError::PopReceiptMismatch)),
        "delete with the old receipt: expected PopReceiptMismatch, got {old_delete:?}"
    );
    assert!(
        receive(&queue, &name, 32, HIDE).await.is_empty(),
        "still hidden after the update"
    );

    let visible_now = queue
        .update_visibility(&name, &id, &renewed, Duration::ZERO)
        .await
        .expect("update_visibility to zero");
    let again = receive_one(&queue, &name, HIDE, "the message made visible").await;
    assert_eq!((again.id.as_str(), again.dequeue_count), (id.as_str(), 2));
    let superseded = queue.delete(&name, &id, &visible_now).await;
    assert!(
        matches!(superseded, Err(QueueError::PopReceiptMismatch)),
        "a receipt from before the redelivery: expected PopReceiptMismatch, got {superseded:?}"
    );
    queue
        .delete(&name, &id, &again.pop_receipt)
        .await
        .expect("delete with the latest receipt");

    let gone = queue
        .update_visibility(&name, &id, &again.pop_receipt, HIDE)
        .await;
    assert!(
        matches!(gone, Err(QueueError::NotFound)),
        "update of a deleted message: expected NotFound, got {gone:?}"
    );
}

/// Eight receivers racing over forty messages never get the same message twice
/// while it is hidden, and together get them all.
pub async fn concurrent_receivers_never_share_a_message(queue: SharedQueue) {
    const MESSAGES: usize = 40;
    let name = fresh_queue(&queue).await;
    let mut sent = BTreeSet::new();
    for i in 0..MESSAGES {
        sent.insert(send(&queue, &name, &format!("m{i}")).await);
    }
    let taken = Arc::new(AtomicUsize::new(0));
    let receivers: Vec<_> = (0..8)
        .map(|_| {
            let (queue, name, taken) = (queue.clone(), name.clone(), taken.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                let give_up = Instant::now() + DEADLINE;
                while taken.load(Ordering::SeqCst) < MESSAGES && Instant::now() < give_up {
                    let got = receive(&queue, &name, 5, HIDE).await;
                    taken.fetch_add(got.len(), Ordering::SeqCst);
                    mine.extend(got);
                    tokio::task::yield_now().await;
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for r in receivers {
        all.extend(r.await.expect("a receiver panicked"));
    }
    let ids: Vec<&str> = all.iter().map(|m| m.id.as_str()).collect();
    let distinct: BTreeSet<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "a hidden message was delivered twice"
    );
    assert_eq!(distinct, sent, "every message was delivered");
    assert!(all.iter().all(|m| m.dequeue_count == 1));
    for m in &all {
        queue
            .delete(&name, &m.id, &m.pop_receipt)
            .await
            .expect("delete");
    }
    assert_eq!(count(&queue, &name).await, 0);
}

/// With `DeliveryPolicy::settle`, a message that keeps failing is retried until
/// its `max_dequeue_count`-th delivery, then moved to `<queue>-poison`; nothing
/// is left in the main queue.
pub async fn failed_deliveries_end_in_poison_queue(queue: SharedQueue) {
    let policy = DeliveryPolicy {
        max_dequeue_count: 3,
        retry_delay: SHORT,
        ..DeliveryPolicy::default()
    };
    let name = fresh_queue(&queue).await;
    let body = r#"{"eventId":"poison-me"}"#;
    let id = send(&queue, &name, body).await;

    for attempt in 1..=policy.max_dequeue_count {
        let m = receive_one(&queue, &name, HIDE, &format!("delivery {attempt}")).await;
        assert_eq!((m.id.as_str(), m.dequeue_count), (id.as_str(), attempt));
        let outcome = policy
            .settle(queue.as_ref(), &name, &m, false)
            .await
            .unwrap_or_else(|e| panic!("settle after delivery {attempt} failed: {e}"));
        let expected = if attempt < policy.max_dequeue_count {
            Outcome::Retrying
        } else {
            Outcome::Poisoned
        };
        assert_eq!(outcome, expected, "after delivery {attempt}");
    }

    assert_eq!(
        count(&queue, &name).await,
        0,
        "the poisoned message left the main queue"
    );
    assert!(receive(&queue, &name, 32, HIDE).await.is_empty());
    let poison = poison_queue(&name);
    assert_eq!(
        count(&queue, &poison).await,
        1,
        "one message in the poison queue"
    );
    let p = receive_one(&queue, &poison, HIDE, "the poisoned message").await;
    assert_eq!(p.body, body, "the poison copy keeps the body");
    policy
        .settle(queue.as_ref(), &poison, &p, true)
        .await
        .expect("settling a success deletes");
    assert_eq!(
        count(&queue, &poison).await,
        0,
        "the poison queue is drained"
    );
}

/// The count includes hidden messages and drops deleted ones.
pub async fn approximate_count_includes_hidden_messages(queue: SharedQueue) {
    let name = fresh_queue(&queue).await;
    assert_eq!(count(&queue, &name).await, 0);
    for i in 0..3 {
        send(&queue, &name, &format!("m{i}")).await;
    }
    let delayed = SendOptions {
        initial_delay: HIDE,
        ..SendOptions::default()
    };
    queue
        .send(&name, "delayed", delayed)
        .await
        .expect("send delayed");
    assert_eq!(count(&queue, &name).await, 4);
    let m = receive_one(&queue, &name, HIDE, "one message").await;
    assert_eq!(
        count(&queue, &name).await,
        4,
        "a hidden message still counts"
    );
    queue
        .delete(&name, &m.id, &m.pop_receipt)
        .await
        .expect("delete");
    assert_eq!(count(&queue, &name).await, 3);
}
