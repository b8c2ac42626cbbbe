//! The transactional outbox: an event travels in the same single-partition
//! batch as the change that caused it, then a timer relays it to its queues.
//!
//! A service that changes a document and must tell another service appends
//! [`stage`]'s operations to the batch that makes the change, so the change
//! and its event commit together or not at all; there is no moment where one
//! exists without the other. The `outbox-relay` timer (and a service that wants
//! its event out at once) calls [`relay`], which sends each staged entry's
//! event to its queue and then marks the entry sent.
//!
//! ```no_run
//! # async fn demo(
//! #     store: &dyn jojomart_shared::store::DocumentStore,
//! #     queue: &dyn jojomart_shared::queue::MessageQueue,
//! #     now: chrono::DateTime<chrono::Utc>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use jojomart_shared::{domain::UserId, events::{outbox, ErasureRequested, Event}};
//! use jojomart_shared::store::{BatchOp, Container};
//! const ACCOUNTS: &Container = &Container::new("accounts", "userId");
//!
//! let event = Event::new(&ErasureRequested { user_id: UserId::parse("u-1")? }, now)?;
//! let mut ops = vec![BatchOp::Delete { id: "profile".into(), if_match: None }];
//! ops.extend(outbox::stage(&event, &["account-events"])?);
//! store.batch(ACCOUNTS, "u-1", ops).await?;
//!
//! // later, from the timer:
//! let report = outbox::relay(store, queue, &[ACCOUNTS], now, 100).await?;
//! # Ok(()) }
//! ```
//!
//! # Stored shape
//!
//! One document per event and queue, in the partition of the change, with the
//! id [`entry_id`] (`outbox:<event id>:<queue>`), so staging an event twice in
//! a partition is a conflict and the batch fails:
//! `{id, <partition key>, kind: "outbox", state: "staged", queue, event,
//! stagedAt, ttl: -1}`. `kind` is the field every service already uses to tell
//! its document kinds apart, so their `kind == "review"` (etc.) queries never
//! see outbox entries; a container holding an outbox must not use `state`,
//! `queue`, `event`, `stagedAt`, `sentAt` or `ttl` as its partition-key field.
//! `ttl: -1` keeps a staged entry even in a container whose documents expire;
//! marking it sent sets `state: "sent"`, `sentAt` and a `ttl` of
//! [`SENT_RETENTION_SECONDS`] (honoured where the container has a TTL policy).
//!
//! # Guarantees
//!
//! Delivery is **at least once**: the relay sends, then marks with a
//! conditional replace on the entry's ETag. A relay that dies between the two
//! sends the event again on its next run, and two relays running at once may
//! both send it; the loser of the mark race just counts it in
//! [`RelayReport::marked_elsewhere`]. Every copy carries the same event id, by
//! which consumers deduplicate.
//!
//! **Order is not promised**, across partitions or even within one. Each
//! container is queried on its own and the results are merged by `stagedAt`,
//! but those times come from the clocks of different instances, and a batch
//! that commits late can carry an earlier `stagedAt` than an entry already
//! relayed. Storage Queues do not deliver first-in first-out either, and a
//! message that fails is redelivered after others. "Oldest first" only keeps
//! old entries from starving. Consumers must not depend on order: an event
//! carries what its consumer needs, and a state machine ignores an event that
//! would move something backwards.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{timestamp, Event, EventId};
use crate::{
    queue::{
        sqlite::MAX_MESSAGE_BYTES, validate_queue_name, MessageQueue, QueueError, SendOptions,
    },
    store::{BatchOp, Container, Document, DocumentStore, Filter, Order, Query, StoreError},
};

/// The value of the `kind` field that marks a document as an outbox entry.
pub const OUTBOX_KIND: &str = "outbox";

/// How long a sent entry is kept (where its container has a TTL policy), for
/// tracing a delivery after the fact.
pub const SENT_RETENTION_SECONDS: i64 = 7 * 24 * 60 * 60;

/// The most documents one store query page may ask for.
const MAX_PAGE: u32 = 1000;

/// Where an outbox entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Written with its change, waiting for the relay.
    Staged,
    /// Sent to its queue.
    Sent,
    /// Set aside by the relay: it names no queue or event, so it cannot be sent.
    Malformed,
}

impl OutboxState {
    /// The stored `state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Sent => "sent",
            Self::Malformed => "malformed",
        }
    }
}

/// The id of the outbox entry that carries `event` to `queue`.
pub fn entry_id(event: EventId, queue: &str) -> String {
    format!("outbox:{event}:{queue}")
}

/// A new entry as [`stage`] writes it; the store stamps `id` and the partition key.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewEntry<'a> {
    kind: &'static str,
    state: &'static str,
    queue: &'a str,
    event: &'a Event,
    #[serde(serialize_with = "timestamp::serialize")]
    staged_at: DateTime<Utc>,
    ttl: i64,
}

/// The batch operations that stage `event` for each of `queues`: append them
/// to the batch that makes the change the event reports.
///
/// One entry per queue (a name listed twice is staged once); no queues, no
/// operations. `stagedAt` is the event's `occurredAt`, since the two are
/// written together. The event is checked against the queue limits here, so a
/// change never commits with an event that could not be sent.
///
/// # Errors
/// [`OutboxError::InvalidQueue`] for a name Storage Queues refuse,
/// [`OutboxError::TooLarge`] for an event over a queue message's size limit.
pub fn stage(event: &Event, queues: &[&'static str]) -> Result<Vec<BatchOp>, OutboxError> {
    let text = serde_json::to_string(event).map_err(|e| OutboxError::Encode(e.to_string()))?;
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(OutboxError::TooLarge {
            kind: event.kind().to_owned(),
            bytes: text.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let mut seen = HashSet::new();
    let mut ops = Vec::with_capacity(queues.len());
    for &queue in queues {
        validate_queue_name(queue).map_err(OutboxError::InvalidQueue)?;
        if !seen.insert(queue) {
            continue;
        }
        let entry = NewEntry {
            kind: OUTBOX_KIND,
            state: OutboxState::Staged.as_str(),
            queue,
            event,
            staged_at: event.occurred_at(),
            ttl: -1,
        };
        let body = serde_json::to_value(&entry).map_err(|e| OutboxError::Encode(e.to_string()))?;
        ops.push(BatchOp::Create {
            id: entry_id(event.id(), queue),
            body,
        });
    }
    Ok(ops)
}

/// Why an event cannot be staged.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// A queue name Storage Queues would refuse.
    #[error("cannot stage for this queue: {0}")]
    InvalidQueue(#[source] QueueError),
    /// The event is larger than a queue message may be.
    #[error("a `{kind}` event is {bytes} bytes; a queue message holds at most {max}")]
    TooLarge {
        /// The event kind.
        kind: String,
        /// The event's size as JSON text.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The entry could not be serialized.
    #[error("cannot encode the outbox entry: {0}")]
    Encode(String),
}

/// A staged entry as the relay read it, with the ETag its mark is conditional on.
#[derive(Debug, Clone)]
pub struct Staged {
    container: Container,
    doc: Document,
    route: Option<Route>,
}

/// What a well-formed entry asks for: this text to that queue.
#[derive(Debug, Clone)]
struct Route {
    queue: String,
    event_id: String,
    message: String,
}

/// What marking an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkOutcome {
    /// This call marked it.
    Marked,
    /// It changed or went since it was read (another relay marked it first);
    /// nothing to do.
    ChangedElsewhere,
}

impl Staged {
    fn read(container: &Container, doc: Document) -> Self {
        let route = (|| {
            let queue = doc.body.get("queue")?.as_str()?.to_owned();
            let event = doc.body.get("event").filter(|e| e.is_object())?;
            let event_id = event.get("id")?.as_str()?.to_owned();
            Some(Route {
                queue,
                event_id,
                message: event.to_string(),
            })
        })();
        Self {
            container: *container,
            doc,
            route,
        }
    }

    /// The container the entry lives in.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// The partition the entry lives in (that of the change it reports).
    pub fn partition_key(&self) -> &str {
        &self.doc.partition_key
    }

    /// The entry's document id.
    pub fn id(&self) -> &str {
        &self.doc.id
    }

    /// The queue the event goes to; `None` for a malformed entry.
    pub fn queue(&self) -> Option<&str> {
        self.route.as_ref().map(|r| r.queue.as_str())
    }

    /// The id of the event it carries; `None` for a malformed entry.
    pub fn event_id(&self) -> Option<&str> {
        self.route.as_ref().map(|r| r.event_id.as_str())
    }

    /// True when the entry names no queue or event and can never be sent.
    pub fn is_malformed(&self) -> bool {
        self.route.is_none()
    }

    /// The stored `stagedAt`, fixed-width, so it sorts as text.
    fn staged_at(&self) -> &str {
        self.doc
            .body
            .get("stagedAt")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Sends the event, exactly as staged, to its queue (which must exist).
    /// The first half of relaying an entry; [`Staged::mark_sent`] is the second.
    ///
    /// # Errors
    /// [`RelayError::Malformed`] for an entry with no queue or event,
    /// [`RelayError::Queue`] when the queue refuses the message.
    pub async fn send(&self, queue: &dyn MessageQueue) -> Result<(), RelayError> {
        let route = self.route.as_ref().ok_or_else(|| RelayError::Malformed {
            container: self.container.name,
            id: self.doc.id.clone(),
        })?;
        queue
            .send(&route.queue, &route.message, SendOptions::default())
            .await
            .map_err(|source| RelayError::Queue {
                queue: route.queue.clone(),
                source,
            })?;
        Ok(())
    }

    /// Marks the entry sent, if it has not changed since it was read.
    ///
    /// # Errors
    /// [`RelayError::Store`] when the store fails; losing the race to another
    /// relay is [`MarkOutcome::ChangedElsewhere`], not an error.
    pub async fn mark_sent(
        &self,
        store: &dyn DocumentStore,
        now: DateTime<Utc>,
    ) -> Result<MarkOutcome, RelayError> {
        self.mark(
            store,
            OutboxState::Sent,
            "sentAt",
            now,
            Some(SENT_RETENTION_SECONDS),
        )
        .await
    }

    /// Sets a malformed entry aside so it no longer comes back as staged.
    async fn quarantine(
        &self,
        store: &dyn DocumentStore,
        now: DateTime<Utc>,
    ) -> Result<MarkOutcome, RelayError> {
        self.mark(store, OutboxState::Malformed, "quarantinedAt", now, None)
            .await
    }

    async fn mark(
        &self,
        store: &dyn DocumentStore,
        state: OutboxState,
        at: &str,
        now: DateTime<Utc>,
        ttl: Option<i64>,
    ) -> Result<MarkOutcome, RelayError> {
        let mut body = self.doc.body.clone();
        if let Some(fields) = body.as_object_mut() {
            fields.insert("state".into(), state.as_str().into());
            fields.insert(at.into(), timestamp::format(now).into());
            if let Some(ttl) = ttl {
                fields.insert("ttl".into(), ttl.into());
            }
        }
        let replaced = store
            .replace(
                &self.container,
                &self.doc.partition_key,
                &self.doc.id,
                body,
                Some(&self.doc.etag),
            )
            .await;
        match replaced {
            Ok(_) => Ok(MarkOutcome::Marked),
            Err(StoreError::PreconditionFailed | StoreError::NotFound) => {
                Ok(MarkOutcome::ChangedElsewhere)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The filter that finds staged outbox entries.
fn staged() -> Filter {
    Filter::And(vec![
        Filter::eq("kind", OUTBOX_KIND),
        Filter::eq("state", OutboxState::Staged.as_str()),
    ])
}

/// Reads up to `limit` staged entries from `containers` (each queried across
/// its partitions), oldest `stagedAt` first. Sent entries are not returned.
///
/// # Errors
/// The store's error.
pub async fn pending(
    store: &dyn DocumentStore,
    containers: &[&Container],
    limit: u32,
) -> Result<Vec<Staged>, StoreError> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for &container in containers {
        if limit == 0 || !seen.insert(container.name) {
            continue;
        }
        let mut query = Query::new(container)
            .filter(staged())
            .sort(Filter::field("stagedAt"), Order::Asc)
            .limit(limit.min(MAX_PAGE));
        let mut taken: u32 = 0;
        loop {
            let page = store.query(&query).await?;
            taken = taken.saturating_add(u32::try_from(page.items.len()).unwrap_or(u32::MAX));
            found.extend(page.items.into_iter().map(|d| Staged::read(container, d)));
            match page.continuation {
                Some(token) if taken < limit => {
                    query = query
                        .continuation(Some(token))
                        .limit((limit - taken).min(MAX_PAGE));
                }
                _ => break,
            }
        }
    }
    found.sort_by(|a, b| {
        a.staged_at()
            .cmp(b.staged_at())
            .then_with(|| a.container.name.cmp(b.container.name))
            .then_with(|| a.doc.partition_key.cmp(&b.doc.partition_key))
            .then_with(|| a.doc.id.cmp(&b.doc.id))
    });
    found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(found)
}

/// What one relay call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayReport {
    /// Entries sent and marked sent by this call.
    pub sent: usize,
    /// Entries sent by this call but marked (or removed) by someone else first:
    /// another relay sent them too, and consumers drop the duplicate.
    pub marked_elsewhere: usize,
    /// Malformed entries set aside (state `malformed`) for an operator.
    pub quarantined: usize,
}

/// Why a relay call stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Reading or marking the outbox failed.
    #[error("outbox store failure: {0}")]
    Store(#[from] StoreError),
    /// A queue could not be created or refused a message.
    #[error("sending to queue `{queue}` failed: {source}")]
    Queue {
        /// The queue.
        queue: String,
        /// What the queue reported.
        source: QueueError,
    },
    /// An entry names no queue or event.
    #[error("outbox entry `{id}` in `{container}` names no queue or event")]
    Malformed {
        /// The container holding it.
        container: &'static str,
        /// Its document id.
        id: String,
    },
}

/// Sends up to `limit` staged entries of `containers`, oldest first, each to
/// its queue (created first if needed), and marks each sent.
///
/// Stops at the first failure: what was sent and marked stays so, the failed
/// entry and the rest stay staged for the next call. Malformed entries are set
/// aside (state `malformed`, logged) rather than blocking the rest.
///
/// # Errors
/// [`RelayError::Store`] when the store cannot be read or an entry marked,
/// [`RelayError::Queue`] when a queue cannot be created or refuses a message.
pub async fn relay(
    store: &dyn DocumentStore,
    queue: &dyn MessageQueue,
    containers: &[&Container],
    now: DateTime<Utc>,
    limit: u32,
) -> Result<RelayReport, RelayError> {
    let mut report = RelayReport::default();
    let result = relay_into(&mut report, store, queue, containers, now, limit).await;
    match &result {
        Ok(()) if report != RelayReport::default() => {
            tracing::info!(?report, "outbox relayed");
        }
        Ok(()) => {}
        Err(error) => {
            tracing::warn!(?report, %error, "outbox relay stopped; the rest stays staged");
        }
    }
    result.map(|()| report)
}

async fn relay_into(
    report: &mut RelayReport,
    store: &dyn DocumentStore,
    queue: &dyn MessageQueue,
    containers: &[&Container],
    now: DateTime<Utc>,
    limit: u32,
) -> Result<(), RelayError> {
    let entries = pending(store, containers, limit).await?;
    relay_entries(report, store, queue, entries, now).await
}

/// Where [`relay_changes`] has read each outbox container's change feed to.
#[derive(Debug, Default, Clone)]
pub struct FeedPositions(std::collections::HashMap<&'static str, crate::store::FeedPosition>);

/// Relays the entries staged since the last call, found on each container's
/// change feed from `positions` (then moved on) rather than by a query over
/// the whole container: what a relay right after a write needs, at a cost
/// that does not grow with the container. The first call reads each feed
/// from the beginning. Entries a failed call left staged are found by the
/// next call ([`relay`], the timer's sweep, finds them too).
///
/// # Errors
/// As [`relay`]; `positions` then stay where they were.
pub async fn relay_changes(
    store: &dyn DocumentStore,
    queue: &dyn MessageQueue,
    containers: &[&'static Container],
    positions: &mut FeedPositions,
    now: DateTime<Utc>,
) -> Result<RelayReport, RelayError> {
    let mut report = RelayReport::default();
    let mut seen = HashSet::new();
    for &container in containers {
        if !seen.insert(container.name) {
            continue;
        }
        let mut at = positions.0.get(container.name).cloned().unwrap_or_default();
        let mut entries = Vec::new();
        loop {
            let page = store
                .changes(container, &at, crate::store::MAX_CHANGES)
                .await?;
            at = page.next;
            if page.documents.is_empty() {
                break;
            }
            entries.extend(
                page.documents
                    .into_iter()
                    .filter(|d| staged().matches(&d.body))
                    .map(|d| Staged::read(container, d)),
            );
        }
        entries.sort_by(|a, b| a.staged_at().cmp(b.staged_at()));
        relay_entries(&mut report, store, queue, entries, now).await?;
        positions.0.insert(container.name, at);
    }
    if report != RelayReport::default() {
        tracing::debug!(?report, "outbox relayed from the change feeds");
    }
    Ok(report)
}

/// Sends and marks `entries` in order, setting malformed ones aside.
async fn relay_entries(
    report: &mut RelayReport,
    store: &dyn DocumentStore,
    queue: &dyn MessageQueue,
    entries: Vec<Staged>,
    now: DateTime<Utc>,
) -> Result<(), RelayError> {
    let mut ready = HashSet::new();
    for entry in entries {
        let Some(name) = entry.queue() else {
            tracing::error!(
                container = entry.container.name,
                id = entry.id(),
                "outbox entry names no queue or event; set aside as malformed"
            );
            if entry.quarantine(store, now).await? == MarkOutcome::Marked {
                report.quarantined += 1;
            }
            continue;
        };
        if !ready.contains(name) {
            queue
                .ensure_queue(name)
                .await
                .map_err(|source| RelayError::Queue {
                    queue: name.to_owned(),
                    source,
                })?;
            ready.insert(name.to_owned());
        }
        entry.send(queue).await?;
        match entry.mark_sent(store, now).await? {
            MarkOutcome::Marked => report.sent += 1,
            MarkOutcome::ChangedElsewhere => report.marked_elsewhere += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
