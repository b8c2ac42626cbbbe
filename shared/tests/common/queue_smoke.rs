//! Adapter smoke checks of the queue port, written against the trait only,
//! until the generic conformance suites land. Each check uses its own queue.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use jojomart_shared::queue::{DeliveryPolicy, MessageQueue, Outcome, QueueError, SendOptions};

/// A fresh queue name (lowercase, hyphens, at most 63 characters).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Receives until a message shows up or `within` passes (for visibility expiry).
async fn receive_within(
    q: &dyn MessageQueue,
    name: &str,
    within: Duration,
) -> Vec<jojomart_shared::queue::ReceivedMessage> {
    let deadline = Instant::now() + within;
    loop {
        let got = q.receive(name, 32, Duration::from_secs(30)).await.unwrap();
        if !got.is_empty() || Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Send, receive, redelivery with a dequeue count, delete by pop receipt.
pub async fn send_receive_delete(q: &dyn MessageQueue) {
    let name = unique("srd");
    q.ensure_queue(&name).await.unwrap();
    q.ensure_queue(&name).await.unwrap();
    let body = r#"{"eventId":"e1","text":"héllo ✓"}"#;
    let sent = q.send(&name, body, SendOptions::default()).await.unwrap();
    assert_eq!(q.approximate_count(&name).await.unwrap(), 1);

    let got = q.receive(&name, 32, Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 1);
    let first = &got[0];
    assert_eq!(first.id, sent.id);
    assert_eq!(first.body, body);
    assert_eq!(first.dequeue_count, 1);
    assert!(first.next_visible_time > first.insertion_time);
    assert!(first.expiration_time > first.insertion_time);
    assert!(
        q.receive(&name, 32, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "hidden while leased"
    );

    let again = receive_within(q, &name, Duration::from_secs(10)).await;
    assert_eq!(again.len(), 1, "reappears after its visibility timeout");
    assert_eq!(again[0].dequeue_count, 2);
    assert_ne!(again[0].pop_receipt, first.pop_receipt);

    let stale = q.delete(&name, &first.id, &first.pop_receipt).await;
    assert!(
        matches!(stale, Err(QueueError::PopReceiptMismatch)),
        "{stale:?}"
    );
    q.delete(&name, &again[0].id, &again[0].pop_receipt)
        .await
        .unwrap();
    assert_eq!(q.approximate_count(&name).await.unwrap(), 0);
    let gone = q.delete(&name, &again[0].id, &again[0].pop_receipt).await;
    assert!(matches!(gone, Err(QueueError::NotFound)), "{gone:?}");
}

/// Update visibility returns a new pop receipt; the old one stops working.
pub async fn update_visibility(q: &dyn MessageQueue) {
    let name = unique("vis");
    q.ensure_queue(&name).await.unwrap();
    q.send(&name, "m", SendOptions::default()).await.unwrap();
    let m = q
        .receive(&name, 1, Duration::from_secs(30))
        .await
        .unwrap()
        .remove(0);
    let receipt = q
        .update_visibility(&name, &m.id, &m.pop_receipt, Duration::ZERO)
        .await
        .unwrap();
    assert_ne!(receipt, m.pop_receipt);
    let stale = q
        .update_visibility(&name, &m.id, &m.pop_receipt, Duration::ZERO)
        .await;
    assert!(
        matches!(stale, Err(QueueError::PopReceiptMismatch)),
        "{stale:?}"
    );
    let again = receive_within(q, &name, Duration::from_secs(5)).await;
    assert_eq!(again.len(), 1, "visible again at once");
    assert_eq!(again[0].dequeue_count, 2);
    q.delete(&name, &again[0].id, &again[0].pop_receipt)
        .await
        .unwrap();
}

/// Initial delay, batch receive limits, missing queues and bad input.
pub async fn delays_limits_and_errors(q: &dyn MessageQueue) {
    let name = unique("lim");
    q.ensure_queue(&name).await.unwrap();
    q.send(
        &name,
        "later",
        SendOptions {
            initial_delay: Duration::from_secs(60),
            time_to_live: None,
        },
    )
    .await
    .unwrap();
    for i in 0..3 {
        q.send(
            &name,
            &format!("now-{i}"),
            SendOptions {
                initial_delay: Duration::ZERO,
                time_to_live: Some(Duration::from_secs(600)),
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(
        q.approximate_count(&name).await.unwrap(),
        4,
        "invisible messages count too"
    );
    let got = q.receive(&name, 2, Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 2);
    let rest = q.receive(&name, 32, Duration::from_secs(30)).await.unwrap();
    assert_eq!(rest.len(), 1, "the delayed message stays hidden");
    assert!(matches!(
        q.receive(&name, 0, Duration::from_secs(1)).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        q.receive(&name, 33, Duration::from_secs(1)).await,
        Err(QueueError::Invalid(_))
    ));

    let missing = unique("missing");
    assert!(matches!(
        q.send(&missing, "x", SendOptions::default()).await,
        Err(QueueError::NotFound)
    ));
    assert!(matches!(
        q.approximate_count(&missing).await,
        Err(QueueError::NotFound)
    ));
    assert!(matches!(
        q.send("Bad_Name", "x", SendOptions::default()).await,
        Err(QueueError::Invalid(_))
    ));
    q.health().await.unwrap();
}

/// The host's delivery policy: retry, then poison.
pub async fn poison_after_max_dequeues(q: &dyn MessageQueue) {
    let name = unique("poison");
    q.ensure_queue(&name).await.unwrap();
    let policy = DeliveryPolicy {
        max_dequeue_count: 2,
        retry_delay: Duration::ZERO,
        ..Default::default()
    };
    q.send(&name, "bad", SendOptions::default()).await.unwrap();
    let m = receive_within(q, &name, Duration::from_secs(5))
        .await
        .remove(0);
    assert_eq!(
        policy.settle(q, &name, &m, false).await.unwrap(),
        Outcome::Retrying
    );
    let m = receive_within(q, &name, Duration::from_secs(5))
        .await
        .remove(0);
    assert_eq!(m.dequeue_count, 2);
    assert_eq!(
        policy.settle(q, &name, &m, false).await.unwrap(),
        Outcome::Poisoned
    );
    assert_eq!(q.approximate_count(&name).await.unwrap(), 0);
    let poison = jojomart_shared::queue::poison_queue(&name);
    let p = q
        .receive(&poison, 32, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].body, "bad");
    assert_eq!(
        policy.settle(q, &poison, &p[0], true).await.unwrap(),
        Outcome::Completed
    );
    assert_eq!(q.approximate_count(&poison).await.unwrap(), 0);
}
