//! What the Functions queue trigger does with a message after its function ran:
//! delete on success, retry after a delay on failure, and move it to the poison
//! queue once it has failed `max_dequeue_count` times. The in-process host uses
//! this for every adapter, so local retries behave as in Azure.

use std::time::Duration;

use super::{poison_queue, MessageQueue, QueueError, ReceivedMessage, SendOptions};

/// The retry policy of host.json's `extensions.queues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Deliveries before a message is poisoned (`maxDequeueCount`).
    pub max_dequeue_count: u32,
    /// How long a failed message stays hidden before the retry (`visibilityTimeout`).
    pub retry_delay: Duration,
    /// Messages taken per poll (`batchSize`).
    pub batch_size: u32,
    /// Longest wait between polls of an empty queue (`maxPollingInterval`).
    pub max_polling_interval: Duration,
    /// How long a message stays hidden while its function runs.
    pub lease: Duration,
}

impl Default for DeliveryPolicy {
    /// The values in the committed host.json.
    fn default() -> Self {
        Self {
            max_dequeue_count: 5,
            retry_delay: Duration::from_secs(10),
            batch_size: 16,
            max_polling_interval: Duration::from_secs(2),
            lease: Duration::from_secs(600),
        }
    }
}

/// What happened to a message after a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The function succeeded; the message was deleted.
    Completed,
    /// The function failed; the message will be retried.
    Retrying,
    /// The message failed too often and now sits in the poison queue.
    Poisoned,
}

impl DeliveryPolicy {
    /// True when a freshly received message already exceeded its deliveries
    /// (its function crashed mid-run too often) and must go straight to poison.
    pub fn is_exhausted(&self, message: &ReceivedMessage) -> bool {
        message.dequeue_count > self.max_dequeue_count
    }

    /// Settles a message after its function ran, `succeeded` or not.
    ///
    /// # Errors
    /// The queue's error when deleting, re-hiding or poisoning fails; the
    /// message then simply reappears after its lease, as in Azure.
    pub async fn settle(
        &self,
        queue: &dyn MessageQueue,
        name: &str,
        message: &ReceivedMessage,
        succeeded: bool,
    ) -> Result<Outcome, QueueError> {
        if succeeded {
            queue
                .delete(name, &message.id, &message.pop_receipt)
                .await?;
            Ok(Outcome::Completed)
        } else if message.dequeue_count >= self.max_dequeue_count {
            self.poison(queue, name, message).await?;
            Ok(Outcome::Poisoned)
        } else {
            queue
                .update_visibility(name, &message.id, &message.pop_receipt, self.retry_delay)
                .await?;
            Ok(Outcome::Retrying)
        }
    }

    /// Copies a message to `<queue>-poison` and deletes the original.
    ///
    /// # Errors
    /// The queue's error; a failed delete leaves a copy in both, which the
    /// idempotent handlers tolerate.
    pub async fn poison(
        &self,
        queue: &dyn MessageQueue,
        name: &str,
        message: &ReceivedMessage,
    ) -> Result<(), QueueError> {
        let poison = poison_queue(name);
        queue.ensure_queue(&poison).await?;
        queue
            .send(&poison, &message.body, SendOptions::default())
            .await?;
        queue.delete(name, &message.id, &message.pop_receipt).await
    }
}
