//! What analytics stores: raw events per day in `events`, and per day in
//! `rollups` the day's rollup and, while the day has events not folded in yet,
//! its dirty mark.
//!
//! `events` (partition `/day`, `YYYY-MM-DD` of the event's `occurredAt`, UTC)
//! holds one document per raw event under its event id (`<eventId>-<n>` for
//! the n-th view of a `product.viewed` batch), created if absent so a
//! redelivered message writes nothing new, and one session marker per day,
//! funnel stage and session (`sv-<session>` viewed, `sc-<session>` added to
//! cart), upserted with the same body every time: counting markers counts
//! distinct sessions without holding a set of them in memory.
//!
//! `rollups` (partition `/day`) holds `rollup`, the day's figures written whole
//! by the rollup, and `dirty`, upserted after every ingest that touched the
//! day (so its ETag changes) and deleted by the rollup on the ETag it read
//! before recomputing: an ingest that lands meanwhile keeps the day dirty.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use jojomart_shared::{domain::ProductId, store::Container};
use serde::{Deserialize, Serialize};

/// Raw events and session markers, per day.
pub const EVENTS: &Container = &Container::new("events", "day");
/// Per-day rollups and dirty marks.
pub const ROLLUPS: &Container = &Container::new("rollups", "day");

/// The id of a day's rollup document in [`ROLLUPS`].
pub const ROLLUP_ID: &str = "rollup";
/// The id of a day's dirty mark in [`ROLLUPS`].
pub const DIRTY_ID: &str = "dirty";

/// A day as the partition key spells it (`2026-11-29`).
pub fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The UTC day of an instant, as a partition key.
pub fn day_of(at: DateTime<Utc>) -> String {
    day_key(at.date_naive())
}

/// Which step of an order's life a raw order event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStage {
    /// `order.placed`.
    Placed,
    /// `order.paid`.
    Paid,
    /// `order.cancelled` (a paid order cancelled: its payment is refunded).
    Cancelled,
    /// `order.refunded`.
    Refunded,
}

/// The funnel stage a session marker records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The session viewed a product that day.
    Viewed,
    /// The session added something to a cart that day.
    Carted,
}

/// One line of a raw order event: what the rollup needs of an order line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawLine {
    /// The product.
    pub product_id: ProductId,
    /// Its name when ordered.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// What the line cost, minor units.
    pub line_total: i64,
}

/// A document of [`EVENTS`] (the store adds `id` and `day`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum Raw {
    /// A product page was read.
    View {
        /// The product.
        product_id: ProductId,
        /// The viewer's session key.
        session: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Units of a product were put in a cart.
    Cart {
        /// The product.
        product_id: ProductId,
        /// Units added.
        quantity: u32,
        /// The shopper's session key.
        session: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An order changed status.
    Order {
        /// Which change.
        stage: OrderStage,
        /// The order.
        order_id: String,
        /// What the customer pays (goods, shipping, tax), minor units.
        total: i64,
        /// ISO 4217.
        currency: String,
        /// Its lines.
        items: Vec<RawLine>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A session reached a funnel stage that day (one document per session and stage).
    Session {
        /// The stage.
        stage: Stage,
        /// The session key.
        session: String,
    },
}

impl Raw {
    /// The marker id of `session` at `stage`.
    pub fn marker_id(stage: Stage, session: &str) -> String {
        match stage {
            Stage::Viewed => format!("sv-{session}"),
            Stage::Carted => format!("sc-{session}"),
        }
    }

    /// The session marker a view or a cart add implies, with its id.
    pub fn marker(&self) -> Option<(String, Raw)> {
        let (stage, session) = match self {
            Raw::View { session, .. } => (Stage::Viewed, session),
            Raw::Cart { session, .. } => (Stage::Carted, session),
            _ => return None,
        };
        Some((
            Self::marker_id(stage, session),
            Raw::Session {
                stage,
                session: session.clone(),
            },
        ))
    }

    /// The instant the event happened (`None` for markers, which have a day only).
    pub fn at(&self) -> Option<DateTime<Utc>> {
        match self {
            Raw::View { at, .. } | Raw::Cart { at, .. } | Raw::Order { at, .. } => Some(*at),
            Raw::Session { .. } => None,
        }
    }
}

/// One product's sales on a day (or over a range), in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductSales {
    /// Its name on the latest order that named it.
    pub name: String,
    /// Units sold.
    pub units: u64,
    /// Sum of its line totals, minor units.
    pub revenue: i64,
}

/// A day's sales in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotals {
    /// Orders paid that day.
    pub orders: u64,
    /// Sum of their totals (goods, shipping, tax), minor units.
    pub revenue: i64,
    /// Units in them.
    pub units_sold: u64,
    /// Sum of the totals of orders cancelled or refunded that day, minor units.
    pub refunds: i64,
    /// How many orders were cancelled or refunded that day.
    pub refunded_orders: u64,
    /// Sales per product id.
    pub products: BTreeMap<String, ProductSales>,
}

/// A day's figures, recomputed whole from that day's raw events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DayRollup {
    /// Product page reads.
    pub product_views: u64,
    /// Cart adds.
    pub cart_adds: u64,
    /// Distinct sessions that viewed a product.
    pub sessions_viewed: u64,
    /// Distinct sessions that added to a cart.
    pub sessions_added_to_cart: u64,
    /// `order.placed` events.
    pub orders_placed: u64,
    /// `order.paid` events.
    pub orders_paid: u64,
    /// Sales per currency (ISO 4217).
    pub by_currency: BTreeMap<String, CurrencyTotals>,
}

/// The stored rollup document (the store adds `id` and `day`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollupDoc {
    /// `"rollup"`, telling it from a dirty mark in queries.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// The day (partition key).
    pub day: String,
    /// The figures.
    pub totals: DayRollup,
    /// Raw documents read to compute it.
    pub documents: u64,
}
