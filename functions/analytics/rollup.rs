//! The rollup: each dirty day's figures recomputed from that day's raw events
//! and written whole, so running it again gives the same numbers.
//!
//! A run lists the dirty marks first (with their ETags), then for each day
//! pages through its partition of `events` ([`PAGE`] documents at a time,
//! folding each page into the day's totals and dropping it), writes the
//! rollup, and deletes the mark on the ETag it read. An event ingested
//! meanwhile re-marks the day, the delete fails, and the next run folds it
//! in; so late events for a closed day land on the next run, and days nothing
//! arrived for are not read at all. Memory holds one page and the day's
//! totals (a few counters, one entry per product sold that day and currency),
//! never the day's events: distinct sessions are counted as the session
//! markers ingestion wrote, one document per session and stage.
//!
//! # What the numbers mean
//!
//! An order counts on the UTC day of its `order.paid` event, in its currency:
//! `orders` is the orders paid, `revenue` the sum of their totals (goods,
//! shipping and tax: what the customers paid), `unitsSold` the units on their
//! lines and each product's `units` and `revenue` (line totals, before
//! shipping and tax) come from those lines. Cancelling or refunding later
//! does not take anything back from the day it was paid: `refunds` is the sum
//! of the totals of orders cancelled or refunded that day (a cancelled paid
//! order is refunded in full), and `refundedOrders` how many. `ordersPlaced`
//! and `ordersPaid` in the funnel count `order.placed` and `order.paid`
//! events whatever their currency; `productViews` counts product reads.

use std::collections::BTreeMap;

use jojomart_shared::store::{to_body, DocumentStore, Filter, Query, StoreError};

use super::{
    model::{DayRollup, OrderStage, Raw, RollupDoc, Stage, DIRTY_ID, EVENTS, ROLLUPS, ROLLUP_ID},
    Analytics,
};

/// Raw documents read per store query.
pub const PAGE: u32 = 1000;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Days recomputed.
    pub days: usize,
    /// Raw documents read.
    pub documents: u64,
    /// Store query pages read.
    pub pages: u64,
    /// The most documents one page held (at most [`PAGE`]).
    pub largest_page: usize,
    /// Days that took new events while being recomputed (done again next run).
    pub still_dirty: usize,
}

/// Recomputes every dirty day.
///
/// # Errors
/// The store's failure; days done before it stay done.
pub async fn run(analytics: &Analytics) -> Result<RollupReport, StoreError> {
    let store = &*analytics.store;
    let mut report = RollupReport::default();
    for (day, etag) in dirty_days(store).await? {
        let (totals, read) = fold_day(store, &day, &mut report).await?;
        let doc = RollupDoc {
            doc_type: "rollup".into(),
            day: day.clone(),
            totals,
            documents: read,
        };
        store
            .upsert(ROLLUPS, &day, ROLLUP_ID, to_body(&doc)?)
            .await?;
        report.days += 1;
        match store.delete(ROLLUPS, &day, DIRTY_ID, Some(&etag)).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(StoreError::PreconditionFailed) => report.still_dirty += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// Every dirty mark: its day and the ETag to delete it on.
async fn dirty_days(
    store: &dyn DocumentStore,
) -> Result<Vec<(String, jojomart_shared::store::ETag)>, StoreError> {
    let mut days = Vec::new();
    let mut continuation = None;
    loop {
        let page = store
            .query(
                &Query::new(ROLLUPS)
                    .filter(Filter::eq("type", "dirty"))
                    .limit(PAGE)
                    .continuation(continuation),
            )
            .await?;
        days.extend(page.items.into_iter().map(|d| (d.partition_key, d.etag)));
        match page.continuation {
            Some(next) => continuation = Some(next),
            None => return Ok(days),
        }
    }
}

/// Folds one day's raw documents, a page at a time.
async fn fold_day(
    store: &dyn DocumentStore,
    day: &str,
    report: &mut RollupReport,
) -> Result<(DayRollup, u64), StoreError> {
    let mut totals = DayRollup::default();
    let mut read = 0;
    let mut continuation = None;
    loop {
        let page = store
            .query(
                &Query::new(EVENTS)
                    .partition(day)
                    .limit(PAGE)
                    .continuation(continuation),
            )
            .await?;
        report.pages += 1;
        report.largest_page = report.largest_page.max(page.items.len());
        for doc in page.items {
            read += 1;
            match serde_json::from_value::<Raw>(doc.body) {
                Ok(raw) => fold(&mut totals, raw),
                Err(e) => tracing::warn!(%day, id = %doc.id, error = %e, "raw event skipped"),
            }
        }
        match page.continuation {
            Some(next) => continuation = Some(next),
            None => break,
        }
    }
    report.documents += read;
    Ok((totals, read))
}

/// Adds one raw document to a day's totals.
pub fn fold(totals: &mut DayRollup, raw: Raw) {
    match raw {
        Raw::View { .. } => totals.product_views += 1,
        Raw::Cart { .. } => totals.cart_adds += 1,
        Raw::Session { stage, .. } => match stage {
            Stage::Viewed => totals.sessions_viewed += 1,
            Stage::Carted => totals.sessions_added_to_cart += 1,
        },
        Raw::Order {
            stage,
            total,
            currency,
            items,
            ..
        } => match stage {
            OrderStage::Placed => totals.orders_placed += 1,
            OrderStage::Paid => {
                totals.orders_paid += 1;
                let sales = totals.by_currency.entry(currency).or_default();
                sales.orders += 1;
                sales.revenue += total;
                for line in items {
                    sales.units_sold += u64::from(line.quantity);
                    let product = sales
                        .products
                        .entry(line.product_id.to_string())
                        .or_default();
                    product.name = line.name;
                    product.units += u64::from(line.quantity);
                    product.revenue += line.line_total;
                }
            }
            OrderStage::Cancelled | OrderStage::Refunded => {
                let sales = totals.by_currency.entry(currency).or_default();
                sales.refunds += total;
                sales.refunded_orders += 1;
            }
        },
    }
}

/// The rollups of the days from `from` to `to` (inclusive, `YYYY-MM-DD`), by day.
///
/// # Errors
/// The store's failure.
pub async fn rollups_between(
    store: &dyn DocumentStore,
    from: &str,
    to: &str,
) -> Result<BTreeMap<String, DayRollup>, StoreError> {
    let mut days = BTreeMap::new();
    let mut continuation = None;
    loop {
        let page = store
            .query(
                &Query::new(ROLLUPS)
                    .filter(Filter::And(vec![
                        Filter::eq("type", "rollup"),
                        Filter::Ge(Filter::field("day"), from.into()),
                        Filter::Le(Filter::field("day"), to.into()),
                    ]))
                    .limit(PAGE)
                    .continuation(continuation),
            )
            .await?;
        for doc in page.items {
            let rollup: RollupDoc = doc.parse()?;
            days.insert(rollup.day, rollup.totals);
        }
        match page.continuation {
            Some(next) => continuation = Some(next),
            None => return Ok(days),
        }
    }
}
