//! The outbox relay: events staged in the same batch as the change that caused
//! them (see `jojomart_shared::events::outbox`) are sent to their queues by the
//! `outbox-relay` timer every 10 seconds, and at once after a write that staged
//! some ([`Outbox::poke`]). A relay that dies after sending and before marking
//! an entry sent sends it again next time; consumers deduplicate by event id.
//!
//! The timer sweeps every outbox with a query; a poke reads only what changed
//! since the last poke, from the containers' change feeds, so relaying after
//! each write costs the same however many documents the containers hold.
//!
//! Which containers hold outboxes comes from the service descriptors
//! (`ServiceDef::outbox`), so the relay never names one.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use jojomart_shared::{
    clock::SharedClock,
    events::outbox::{self, FeedPositions, RelayError, RelayReport},
    queue::SharedQueue,
    store::{Container, SharedStore},
};

/// Most entries one relay pass sends before it looks again.
const BATCH: u32 = 100;

/// Sends staged events to their queues; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox(Arc<Inner>);
crate::service_handle!(Outbox);

#[derive(Debug)]
struct Inner {
    store: SharedStore,
    queue: SharedQueue,
    clock: SharedClock,
    containers: Vec<&'static Container>,
    running: AtomicBool,
    again: AtomicBool,
    /// Where pokes have read the change feeds to (only the running poke touches it).
    positions: tokio::sync::Mutex<FeedPositions>,
}

impl Outbox {
    /// A relay over the outboxes in `containers`.
    pub fn new(
        store: SharedStore,
        queue: SharedQueue,
        clock: SharedClock,
        containers: Vec<&'static Container>,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            queue,
            clock,
            containers,
            running: AtomicBool::new(false),
            again: AtomicBool::new(false),
            positions: tokio::sync::Mutex::new(FeedPositions::default()),
        }))
    }

    /// Relays until nothing is staged (or a queue or the store fails, leaving
    /// the rest staged for the next run).
    ///
    /// # Errors
    /// The store's or a queue's failure.
    pub async fn relay(&self) -> Result<RelayReport, RelayError> {
        let mut total = RelayReport::default();
        loop {
            let report = outbox::relay(
                &*self.0.store,
                &*self.0.queue,
                &self.0.containers,
                self.0.clock.now(),
                BATCH,
            )
            .await?;
            total.sent += report.sent;
            total.marked_elsewhere += report.marked_elsewhere;
            total.quarantined += report.quarantined;
            let handled = report.sent + report.marked_elsewhere + report.quarantined;
            if handled < BATCH as usize {
                return Ok(total);
            }
        }
    }

    /// Relays what was staged since the last call, read from the change feeds.
    async fn relay_recent(&self) -> Result<RelayReport, RelayError> {
        let mut positions = self.0.positions.lock().await;
        outbox::relay_changes(
            &*self.0.store,
            &*self.0.queue,
            &self.0.containers,
            &mut positions,
            self.0.clock.now(),
        )
        .await
    }

    /// Relays soon, in the background: called right after a write that staged
    /// events, so they do not wait for the timer. Pokes during a run make it
    /// run once more; failures are logged and left to the timer.
    pub fn poke(&self) {
        self.0.again.store(true, Ordering::Release);
        if self.0.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                this.0.again.store(false, Ordering::Release);
                if let Err(e) = this.relay_recent().await {
                    tracing::warn!(error = %e, "outbox relay after a write failed; the timer retries");
                }
                this.0.running.store(false, Ordering::Release);
                let more = this.0.again.load(Ordering::Acquire);
                if !more || this.0.running.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
        });
    }
}
