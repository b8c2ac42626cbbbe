//! [`Tracker`]: what products and cart call to report product views and cart
//! adds, without waiting and without failing.
//!
//! A call only timestamps the event and `try_send`s it into a bounded
//! in-memory channel ([`BUFFER`] entries); a full buffer drops the event (and
//! counts it) rather than hold the request. A background task batches the
//! views and sends one `product.viewed` message per [`FLUSH_EVERY`] or per
//! [`MAX_BATCH`] views, whichever comes first, and one `cart.item-added`
//! message per cart add, straight to the `analytics-events` queue. So a
//! product read costs a header read and a channel push, never a store or
//! queue call. What is buffered when the process dies is lost (at most a
//! second of views): analytics is a measure, not a ledger. When the last
//! handle goes, the task flushes what it holds and ends; [`Tracker::flush`]
//! sends what is buffered now.
//!
//! # Sessions
//!
//! The funnel counts distinct sessions per day. A session is, in this order:
//! the signed-in user (the bearer token is verified by the background task,
//! off the request path; a token that does not verify counts as absent), the
//! anonymous cart named by `X-Cart-Id` (as sent: only its shape is checked),
//! or the client address (see [`crate::http::ClientAddress`]) with the
//! `User-Agent` on that day. The cart service reports adds with the cart's
//! owner, so a user or an anonymous cart is the same session viewing and
//! adding. What is stored is not any of these but an HMAC-SHA256 of it under
//! a key kept in the store (`analytics-sessions`), cut to 128 bits: events
//! hold no user id, cart id or address, so erasing an account has nothing to
//! erase here. It is a counting bucket, not an identity: a client that varies
//! its headers counts as several sessions, as it would with cookies.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jojomart_shared::{
    auth::SharedVerifier,
    clock::SharedClock,
    domain::{CartId, ProductId, UserId},
    events::Event,
    queue::{SendOptions, SharedQueue},
};
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};

use super::events::{CartItemAdded, ProductViewed, View};
use crate::{
    http::{CartIdHeader, ClientAddress},
    state::AppState,
};

/// Most events waiting in memory; more are dropped.
pub const BUFFER: usize = 10_000;
/// Most views in one `product.viewed` message.
pub const MAX_BATCH: usize = 100;
/// How long a view waits, at most, before it is sent.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Who is looking, as a request tells it; turned into a session key by the
/// background task.
#[derive(Clone)]
pub enum Visitor {
    /// A signed-in user.
    User(UserId),
    /// An anonymous cart.
    Cart(CartId),
    /// A client known only by its address and `User-Agent`.
    Client {
        /// The client address.
        address: String,
        /// The `User-Agent` header (empty when absent).
        user_agent: String,
    },
    /// A bearer token not verified yet, and who the visitor is if it does not verify.
    Bearer {
        /// The token as sent.
        token: String,
        /// Verifies it.
        verifier: SharedVerifier,
        /// The visitor without the token.
        otherwise: Box<Visitor>,
    },
}

impl std::fmt::Debug for Visitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::User(_) => f.write_str("Visitor::User(..)"),
            Self::Cart(_) => f.write_str("Visitor::Cart(..)"),
            Self::Client { .. } => f.write_str("Visitor::Client(..)"),
            Self::Bearer { .. } => f.write_str("Visitor::Bearer(..)"),
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    /// Reads headers only: never fails and never waits on anything.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(CartIdHeader(cart)) = CartIdHeader::from_request_parts(parts, state).await;
        let anonymous = match cart {
            Some(id) => Visitor::Cart(id),
            None => {
                let address = ClientAddress::from_request_parts(parts, state)
                    .await
                    .map(|a| a.0)
                    .unwrap_or_else(|_| "unknown".to_owned());
                let user_agent = parts
                    .headers
                    .get(axum::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                Visitor::Client {
                    address,
                    user_agent,
                }
            }
        };
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
            .map(|(_, token)| token.trim().to_owned());
        Ok(match token {
            Some(token) => Visitor::Bearer {
                token,
                verifier: state.handle::<SharedVerifier>(),
                otherwise: Box::new(anonymous),
            },
            None => anonymous,
        })
    }
}

/// Turns visitors into session keys: HMAC-SHA256 under the store's key, 128 bits in hex.
#[derive(Clone)]
pub struct Sessions {
    key: Arc<Vec<u8>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions(..)")
    }
}

impl Sessions {
    /// Session keys under `key`.
    pub fn new(key: Vec<u8>) -> Self {
        Self { key: Arc::new(key) }
    }

    fn hash(&self, text: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"jojomart analytics session\0");
        mac.update(text.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The session key of `visitor` seen at `at` (verifying a bearer token if there is one).
    pub async fn key_of(&self, visitor: &Visitor, at: DateTime<Utc>) -> String {
        let mut visitor = visitor;
        let verified;
        if let Visitor::Bearer {
            token,
            verifier,
            otherwise,
        } = visitor
        {
            visitor = match verifier.verify(token).await {
                Ok(principal) => {
                    verified = Visitor::User(principal.user_id);
                    &verified
                }
                Err(_) => otherwise,
            };
        }
        match visitor {
            Visitor::User(user) => self.hash(&format!("user:{user}")),
            Visitor::Cart(cart) => self.hash(&format!("cart:{cart}")),
            Visitor::Client {
                address,
                user_agent,
            } => self.hash(&format!(
                "client:{address}\n{user_agent}\n{}",
                at.date_naive()
            )),
            Visitor::Bearer { otherwise, .. } => Box::pin(self.key_of(otherwise, at)).await,
        }
    }
}

/// What the buffer carries.
enum Tracked {
    View {
        product: ProductId,
        visitor: Visitor,
        at: DateTime<Utc>,
    },
    CartAdd {
        product: ProductId,
        quantity: u32,
        visitor: Visitor,
        at: DateTime<Utc>,
    },
    Flush(oneshot::Sender<()>),
}

/// Reports product views and cart adds to analytics; cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Tracker {
    tx: mpsc::Sender<Tracked>,
    clock: SharedClock,
    dropped: Arc<AtomicU64>,
}
crate::service_handle!(Tracker);

impl std::fmt::Debug for Tracked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::View { .. } => "View",
            Self::CartAdd { .. } => "CartAdd",
            Self::Flush(_) => "Flush",
        })
    }
}

impl Tracker {
    /// Starts the background task that sends to `queue_name` on `queue`,
    /// views at least every `every` ([`FLUSH_EVERY`] in the app).
    pub fn start(
        queue: SharedQueue,
        queue_name: &'static str,
        clock: SharedClock,
        sessions: Sessions,
        every: Duration,
    ) -> Self {
        let (tx, rx) = mpsc::channel(BUFFER);
        let sender = Sender {
            queue,
            queue_name,
            clock: clock.clone(),
            sessions,
            every,
        };
        tokio::spawn(sender.run(rx));
        Self {
            tx,
            clock,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    fn push(&self, tracked: Tracked) {
        if self.tx.try_send(tracked).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "analytics buffer full: events dropped");
            }
        }
    }

    /// A product page was read by `visitor`. Returns at once.
    pub fn viewed(&self, product: &ProductId, visitor: Visitor) {
        self.push(Tracked::View {
            product: product.clone(),
            visitor,
            at: self.clock.now(),
        });
    }

    /// `quantity` units of a product were put in `visitor`'s cart. Returns at once.
    pub fn added_to_cart(&self, product: &ProductId, quantity: u32, visitor: Visitor) {
        self.push(Tracked::CartAdd {
            product: product.clone(),
            quantity,
            visitor,
            at: self.clock.now(),
        });
    }

    /// Sends everything reported before this call to the queue and waits
    /// until it is sent (for tests and orderly shutdowns).
    pub async fn flush(&self) {
        let (done, sent) = oneshot::channel();
        if self.tx.send(Tracked::Flush(done)).await.is_ok() {
            let _ = sent.await;
        }
    }

    /// Events dropped because the buffer was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The background side: batches and sends.
struct Sender {
    queue: SharedQueue,
    queue_name: &'static str,
    clock: SharedClock,
    sessions: Sessions,
    every: Duration,
}

impl Sender {
    async fn run(self, mut rx: mpsc::Receiver<Tracked>) {
        let mut views: Vec<View> = Vec::new();
        let mut adds: Vec<Event> = Vec::new();
        let start = tokio::time::Instant::now() + self.every;
        let mut tick = tokio::time::interval_at(start, self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                tracked = rx.recv() => match tracked {
                    Some(Tracked::View { product, visitor, at }) => {
                        let session = self.sessions.key_of(&visitor, at).await;
                        views.push(View { product_id: product, session, at });
                        if views.len() >= MAX_BATCH {
                            self.send_views(&mut views).await;
                        }
                    }
                    Some(Tracked::CartAdd { product, quantity, visitor, at }) => {
                        let session = self.sessions.key_of(&visitor, at).await;
                        let added = CartItemAdded { product_id: product, quantity, session };
                        match Event::new(&added, at) {
                            Ok(event) => adds.push(event),
                            Err(e) => tracing::warn!(error = %e, "cart add not reported"),
                        }
                    }
                    Some(Tracked::Flush(done)) => {
                        self.send_all(&mut views, &mut adds).await;
                        let _ = done.send(());
                    }
                    None => {
                        self.send_all(&mut views, &mut adds).await;
                        return;
                    }
                },
                _ = tick.tick() => self.send_all(&mut views, &mut adds).await,
            }
        }
    }

    async fn send_all(&self, views: &mut Vec<View>, adds: &mut Vec<Event>) {
        self.send_views(views).await;
        for event in adds.drain(..) {
            self.send(&event).await;
        }
    }

    async fn send_views(&self, views: &mut Vec<View>) {
        if views.is_empty() {
            return;
        }
        let batch = ProductViewed {
            views: std::mem::take(views),
        };
        match Event::new(&batch, self.clock.now()) {
            Ok(event) => self.send(&event).await,
            Err(e) => tracing::warn!(error = %e, "views not reported"),
        }
    }

    /// Sends one event; a failure is logged and the event dropped.
    async fn send(&self, event: &Event) {
        let sent = match serde_json::to_string(event) {
            Ok(text) => self
                .queue
                .send(self.queue_name, &text, SendOptions::default())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = sent {
            tracing::warn!(kind = event.kind(), %error, "analytics event not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jojomart_shared::{
        clock::{SharedClock, SystemClock},
        sqlite::Database,
    };

    use super::*;

    #[tokio::test]
    async fn views_go_out_in_batches_of_at_most_100_and_one_message_per_cart_add() {
        // (the interval is long here, so only the count and the flush cut batches)
        let dir = tempfile::tempdir().unwrap();
        let clock: SharedClock = Arc::new(SystemClock);
        let db = Database::open(&dir.path().join("t.db"), clock.clone()).unwrap();
        let queue: SharedQueue = Arc::new(db.queue());
        queue.ensure_queue("tracked").await.unwrap();
        let tracker = Tracker::start(
            queue.clone(),
            "tracked",
            clock,
            Sessions::new(vec![7; 32]),
            Duration::from_secs(3600),
        );
        let product = ProductId::generate();
        let visitor = |n: usize| Visitor::Client {
            address: format!("10.0.0.{}", n % 2),
            user_agent: "test".into(),
        };
        for n in 0..250 {
            tracker.viewed(&product, visitor(n));
        }
        tracker.added_to_cart(&product, 2, Visitor::Cart(CartId::parse("c-1").unwrap()));
        tracker.flush().await;

        let mut batches = Vec::new();
        let mut adds = Vec::new();
        loop {
            let got = queue
                .receive("tracked", 32, Duration::from_secs(60))
                .await
                .unwrap();
            if got.is_empty() {
                break;
            }
            for message in got {
                let event = Event::parse(&message.body).unwrap();
                if event.is::<ProductViewed>() {
                    batches.push(event.decode::<ProductViewed>().unwrap().views);
                } else {
                    adds.push(event.decode::<CartItemAdded>().unwrap());
                }
            }
        }
        let mut sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [50, 100, 100]);
        let sessions: std::collections::BTreeSet<&str> = batches
            .iter()
            .flatten()
            .map(|v| v.session.as_str())
            .collect();
        assert_eq!(sessions.len(), 2, "one session per address and agent");
        assert!(
            sessions
                .iter()
                .all(|s| s.len() == 32 && !s.contains("10.0.0")),
            "sessions are keyed hashes: {sessions:?}"
        );
        assert_eq!(adds.len(), 1);
        assert_eq!(adds[0].quantity, 2);
        assert_eq!(tracker.dropped(), 0);
    }
}
