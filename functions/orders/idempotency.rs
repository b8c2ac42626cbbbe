//! `Idempotency-Key` claims: the first step of checkout, before any effect.
//!
//! A claim is a document in the caller's partition of `orders`, created only
//! if absent, named by the key's SHA-256 (so any key up to 255 characters is a
//! safe id). It holds the request's fingerprint, the order id chosen for it and,
//! once checkout is done, the answer. A second request with the same key:
//! - with another body → 422;
//! - after the first finished → the first answer (the same order, no new charge);
//! - while the first runs → waits for it, polling, and returns its answer;
//! - after the first died (its lease ran out) → takes the claim over and
//!   carries the same checkout on from wherever it stopped, every step being
//!   safe to repeat.
//!
//! Refusals that happen before anything was reserved or charged (empty cart,
//! out of stock) give the claim back, as Stripe does for requests that did not
//! start executing: a retry with the same key tries again.
//! Claims expire after a day (Stripe's window) through the container's TTL.

use std::time::Duration as StdDuration;

use chrono::Duration;
use jojomart_shared::{
    domain::OrderId,
    error::ApiError,
    store::{ETag, StoreError},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{model::ORDERS, Orders};

/// Longest key accepted (CONTRACT).
pub const MAX_KEY_CHARS: usize = 255;
/// How long a running checkout holds its claim before another request may take over.
const LEASE: Duration = Duration::seconds(60);
/// How long a claim (and the answer it remembers) lives, in seconds.
const CLAIM_TTL_SECONDS: i64 = 24 * 60 * 60;
/// How often a waiting replay looks again.
const POLL: StdDuration = StdDuration::from_millis(20);

/// What a finished checkout answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Answer {
    /// 201 with the order.
    Placed,
    /// 402: the payment was declined, for this reason.
    Declined {
        /// The gateway's reason, as the 402 said it.
        detail: String,
    },
    /// 409: a checkout taken over after a crash found the stock gone.
    OutOfStock {
        /// What the 409 said.
        detail: String,
    },
}

/// The stored claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimDoc {
    kind: String,
    id: String,
    user_id: String,
    request_hash: String,
    order_id: OrderId,
    order_partition: String,
    lease_until_us: i64,
    #[serde(default)]
    answer: Option<Answer>,
    ttl: i64,
}

/// A claim this request holds: it runs checkout for `order_id`.
#[derive(Debug, Clone)]
pub struct Claim {
    scope: String,
    id: String,
    etag: ETag,
    doc: ClaimDoc,
    taken_over: bool,
}

impl Claim {
    /// The order this checkout places (chosen once, kept through retries).
    pub fn order_id(&self) -> &OrderId {
        &self.doc.order_id
    }

    /// The partition the order lives in.
    pub fn order_partition(&self) -> &str {
        &self.doc.order_partition
    }

    /// True when this request took the claim over from one that died: its
    /// order may exist already.
    pub fn taken_over(&self) -> bool {
        self.taken_over
    }
}

/// What claiming found.
#[derive(Debug)]
pub enum Claimed {
    /// This request runs checkout (fresh, or taking over a dead one).
    Run(Claim),
    /// A request with this key already finished: answer as it did.
    Done {
        /// The order it placed.
        order_id: OrderId,
        /// Its partition.
        order_partition: String,
        /// What it answered.
        answer: Answer,
    },
}

/// The SHA-256 of a request body's canonical JSON: what "the same body" means.
pub fn fingerprint(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

fn claim_id(key: &str) -> String {
    format!("idem-{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// Claims `key` for the caller whose claims live in partition `scope`.
/// `order_partition` says where a new order for this caller goes (given the
/// order id that will be chosen).
///
/// # Errors
/// 422 when the key was used with another body; the store's error.
pub async fn claim(
    orders: &Orders,
    scope: &str,
    key: &str,
    request_hash: &str,
    order_partition: impl Fn(&OrderId) -> String,
) -> Result<Claimed, ApiError> {
    let id = claim_id(key);
    loop {
        let now = orders.clock.now();
        let order_id = OrderId::generate();
        let doc = ClaimDoc {
            kind: "idempotency".into(),
            id: id.clone(),
            user_id: scope.into(),
            request_hash: request_hash.into(),
            order_partition: order_partition(&order_id),
            order_id,
            lease_until_us: (now + LEASE).timestamp_micros(),
            answer: None,
            ttl: CLAIM_TTL_SECONDS,
        };
        let body = jojomart_shared::store::to_body(&doc)?;
        match orders.store.create(ORDERS, scope, &id, body).await {
            Ok(etag) => {
                return Ok(Claimed::Run(Claim {
                    scope: scope.into(),
                    id,
                    etag,
                    doc,
                    taken_over: false,
                }))
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        // Someone holds the key: wait for their answer, or take over a dead claim.
        let Some(found) = orders.store.read(ORDERS, scope, &id).await? else {
            continue; // given back meanwhile: claim it afresh
        };
        let mut existing: ClaimDoc = found.parse()?;
        if existing.request_hash != request_hash {
            return Err(ApiError::Unprocessable(
                "this Idempotency-Key was used with a different request body".into(),
            ));
        }
        if let Some(answer) = existing.answer.clone() {
            return Ok(Claimed::Done {
                order_id: existing.order_id,
                order_partition: existing.order_partition,
                answer,
            });
        }
        if existing.lease_until_us > now.timestamp_micros() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        existing.lease_until_us = (now + LEASE).timestamp_micros();
        let body = jojomart_shared::store::to_body(&existing)?;
        match orders
            .store
            .replace(ORDERS, scope, &id, body, Some(&found.etag))
            .await
        {
            Ok(etag) => {
                tracing::info!(order = %existing.order_id, "took over an abandoned checkout");
                return Ok(Claimed::Run(Claim {
                    scope: scope.into(),
                    id,
                    etag,
                    doc: existing,
                    taken_over: true,
                }));
            }
            Err(StoreError::PreconditionFailed | StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Records what checkout answered, so replays answer the same.
///
/// # Errors
/// The store's error.
pub async fn finish(orders: &Orders, claim: Claim, answer: Answer) -> Result<(), ApiError> {
    let mut doc = claim.doc;
    doc.answer = Some(answer);
    let body = jojomart_shared::store::to_body(&doc)?;
    match orders
        .store
        .replace(ORDERS, &claim.scope, &claim.id, body, Some(&claim.etag))
        .await
    {
        // Taken over meanwhile (this request outlived its lease): the other
        // request reaches the same answer and records it.
        Ok(_) | Err(StoreError::PreconditionFailed | StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Gives the key back: checkout refused before any effect, so a retry may run.
///
/// # Errors
/// The store's error.
pub async fn give_back(orders: &Orders, claim: Claim) -> Result<(), ApiError> {
    match orders
        .store
        .delete(ORDERS, &claim.scope, &claim.id, Some(&claim.etag))
        .await
    {
        Ok(()) | Err(StoreError::PreconditionFailed | StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Checks the header's value.
///
/// # Errors
/// 400 naming `Idempotency-Key` when missing, empty or too long.
pub fn parse_key(raw: Option<&str>) -> Result<String, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Err(ApiError::invalid_field(
            "Idempotency-Key",
            "the Idempotency-Key header is required",
        )),
        Some(k) if k.chars().count() > MAX_KEY_CHARS => Err(ApiError::invalid_field(
            "Idempotency-Key",
            format!("must be at most {MAX_KEY_CHARS} characters"),
        )),
        Some(k) => Ok(k.to_owned()),
    }
}
