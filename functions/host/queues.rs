//! One queue consumer per queue function: poll with back-off, invoke each
//! message, settle it (delete, retry later, or poison) per host.json's policy.

use std::time::Duration;

use chrono::{DateTime, Utc};
use jojomart_shared::queue::{Outcome, ReceivedMessage, SendOptions};
use serde_json::Value;

use super::InProcessHost;
use crate::{
    table::FunctionDef,
    wire::{InvocationResponse, QueueMetadata, QueueTrigger, SysMetadata},
};

/// The shortest wait between polls of an empty queue.
const MIN_POLL: Duration = Duration::from_millis(50);

/// Polls one queue for one function.
pub(super) struct Consumer {
    host: InProcessHost,
    function: FunctionDef,
    queue: &'static str,
}

impl Consumer {
    pub(super) fn new(host: InProcessHost, function: FunctionDef, queue: &'static str) -> Self {
        Self {
            host,
            function,
            queue,
        }
    }

    /// Polls until cancelled; a batch already taken is finished first.
    pub(super) async fn run(self) {
        let policy = self.host.state.config().delivery;
        let mut idle = MIN_POLL;
        loop {
            let received = tokio::select! {
                _ = self.host.cancel.cancelled() => return,
                r = self.host.state.adapters().queue.receive(self.queue, policy.batch_size, policy.lease) => r,
            };
            match received {
                Ok(batch) if !batch.is_empty() => {
                    idle = MIN_POLL;
                    futures::future::join_all(batch.iter().map(|m| self.deliver(m))).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(queue = self.queue, error = %e, "receive failed"),
            }
            tokio::select! {
                _ = self.host.cancel.cancelled() => return,
                _ = tokio::time::sleep(idle) => {}
            }
            idle = (idle * 2).min(policy.max_polling_interval.max(MIN_POLL));
        }
    }

    /// Runs the function on one message and settles it.
    async fn deliver(&self, message: &ReceivedMessage) {
        let policy = self.host.state.config().delivery;
        let queue = self.host.state.adapters().queue.as_ref();
        if policy.is_exhausted(message) {
            if let Err(e) = policy.poison(queue, self.queue, message).await {
                tracing::warn!(queue = self.queue, error = %e, "could not poison message");
            }
            return;
        }
        let trigger = QueueTrigger {
            message: message.body.clone(),
            metadata: metadata_of(
                message,
                self.function.name,
                self.host.state.adapters().clock.now(),
            ),
        };
        let succeeded = match self
            .host
            .invoker
            .invoke(self.function.name, &trigger.to_request())
            .await
        {
            Ok(answer) => self.send_outputs(&answer).await,
            Err(e) => {
                tracing::warn!(function = self.function.name, message_id = %message.id,
                    dequeue_count = message.dequeue_count, error = %e, "invocation failed");
                false
            }
        };
        match policy.settle(queue, self.queue, message, succeeded).await {
            Ok(Outcome::Poisoned) => tracing::warn!(
                function = self.function.name, message_id = %message.id,
                "message moved to the poison queue"),
            Ok(_) => {}
            Err(e) => tracing::warn!(queue = self.queue, error = %e, "could not settle message"),
        }
    }

    /// Sends the values of the function's queue output bindings.
    async fn send_outputs(&self, answer: &InvocationResponse) -> bool {
        for output in &self.function.outputs {
            let values = match answer.outputs.get(output.name) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => items.clone(),
                Some(one) => vec![one.clone()],
            };
            for value in values {
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                if let Err(e) = self
                    .host
                    .state
                    .adapters()
                    .queue
                    .send(output.queue, &text, SendOptions::default())
                    .await
                {
                    tracing::warn!(queue = output.queue, error = %e, "output binding failed");
                    return false;
                }
            }
        }
        true
    }
}

/// The metadata the queue trigger reports for a message.
pub(super) fn metadata_of(
    message: &ReceivedMessage,
    function: &str,
    now: DateTime<Utc>,
) -> QueueMetadata {
    QueueMetadata {
        dequeue_count: message.dequeue_count,
        expiration_time: message.expiration_time,
        id: message.id.clone(),
        insertion_time: message.insertion_time,
        next_visible_time: message.next_visible_time,
        pop_receipt: message.pop_receipt.clone(),
        sys: Some(sys_metadata(function, now)),
    }
}

/// The `sys` metadata of an invocation.
pub(super) fn sys_metadata(function: &str, now: DateTime<Utc>) -> SysMetadata {
    SysMetadata {
        method_name: pascal_case(function),
        utc_now: now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        rand_guid: uuid::Uuid::new_v4().to_string(),
    }
}

/// `send-notifications` → `SendNotifications`, as the host names methods.
fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
