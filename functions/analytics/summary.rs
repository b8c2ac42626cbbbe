//! The admin summary: a date range checked at the edge ([`Range`]), and the
//! figures of its days read from the rollups only (never from raw events).
//!
//! Money is in integer minor units of one currency: the one asked for, else
//! the one with the most paid orders in the range (ties: alphabetical), else
//! [`DEFAULT_CURRENCY`]. `orders`, `revenue`, `averageOrderValue`,
//! `unitsSold`, `refunds`, `topProducts` and the daily `orders`, `revenue` and
//! `unitsSold` are about orders in that currency; `productViews` and the
//! funnel count everything. See [`super::rollup`] for what each number means.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use jojomart_shared::{
    domain::Currency,
    error::{ApiError, FieldError},
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    model::{day_key, DayRollup, ProductSales},
    rollup, Analytics,
};

/// The currency of an empty range when none is asked for.
pub const DEFAULT_CURRENCY: &str = "USD";
/// The longest range, in days (both ends included).
pub const MAX_DAYS: i64 = 366;
/// The range's length when `from` is not given.
pub const DEFAULT_DAYS: i64 = 30;
/// How many products `topProducts` lists.
pub const TOP_PRODUCTS: usize = 10;

/// A valid range of days, both ends included, at most [`MAX_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    from: NaiveDate,
    to: NaiveDate,
}

impl Range {
    /// Parses `from` and `to` (`YYYY-MM-DD`); `to` defaults to `today` and
    /// `from` to [`DEFAULT_DAYS`] days ending at `to`.
    ///
    /// # Errors
    /// 400 naming the field: a date that does not parse, `to` before `from`,
    /// or more than [`MAX_DAYS`] days.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mut date = |name: &str, raw: Option<&str>| match raw.filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) if raw.len() == 10 => Some(Some(d)),
                _ => {
                    errors.push(FieldError::new(name, "is not a date (YYYY-MM-DD)"));
                    None
                }
            },
        };
        let (from, to) = (date("from", from), date("to", to));
        let (Some(from), Some(to)) = (from, to) else {
            return Err(ApiError::invalid_fields(errors));
        };
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        if to < from {
            return Err(ApiError::invalid_field("to", "is before `from`"));
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(ApiError::invalid_field(
                "to",
                format!("is more than {MAX_DAYS} days after `from`"),
            ));
        }
        Ok(Self { from, to })
    }

    /// The first day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// The last day.
    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }
}

/// Parses the optional `currency` parameter.
///
/// # Errors
/// 400 for a code that is not three letters.
pub fn currency(raw: Option<&str>) -> Result<Option<Currency>, ApiError> {
    raw.filter(|s| !s.is_empty())
        .map(|raw| Currency::parse(raw).map_err(|e| ApiError::invalid_field("currency", e.0)))
        .transpose()
}

/// One of the best-selling products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopProduct {
    /// The product.
    pub product_id: String,
    /// Its name on the latest order in the range.
    pub name: String,
    /// Units sold in paid orders.
    pub units: u64,
    /// Their line totals, minor units.
    pub revenue: i64,
}

/// The funnel: how far shoppers got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Funnel {
    /// Distinct sessions that viewed a product, summed per day.
    pub sessions_viewed: u64,
    /// Distinct sessions that added to a cart, summed per day.
    pub sessions_added_to_cart: u64,
    /// Orders placed.
    pub orders_placed: u64,
    /// Orders paid.
    pub orders_paid: u64,
}

/// One day of the series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyFigures {
    /// The day (`YYYY-MM-DD`, UTC).
    pub date: String,
    /// Orders paid that day.
    pub orders: u64,
    /// Their totals, minor units.
    pub revenue: i64,
    /// Units in them.
    pub units_sold: u64,
    /// Product reads.
    pub product_views: u64,
}

/// The summary of a range of days, read from the rollups.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The first day (`YYYY-MM-DD`).
    pub from: String,
    /// The last day (`YYYY-MM-DD`).
    pub to: String,
    /// Orders paid in the range.
    pub orders: u64,
    /// Their totals (goods, shipping, tax), minor units.
    pub revenue: i64,
    /// ISO 4217: the currency of every money figure.
    pub currency: String,
    /// `revenue / orders`, rounded to the nearest minor unit (0 without orders).
    pub average_order_value: i64,
    /// Units in the paid orders.
    pub units_sold: u64,
    /// Totals of the orders cancelled or refunded in the range, minor units.
    pub refunds: i64,
    /// How many orders were cancelled or refunded in the range.
    pub refunded_orders: u64,
    /// The best sellers: by units, then revenue, then id; at most 10.
    pub top_products: Vec<TopProduct>,
    /// `funnel.ordersPaid / funnel.sessionsViewed` (0 without sessions).
    pub conversion_rate: f64,
    /// How far shoppers got.
    pub funnel: Funnel,
    /// Every day of the range, in order (zeros where nothing happened).
    pub daily: Vec<DailyFigures>,
}

/// The summary of `range`, in `currency` if given.
///
/// # Errors
/// The store's failure.
pub async fn summarise(
    analytics: &Analytics,
    range: Range,
    currency: Option<Currency>,
) -> Result<Summary, ApiError> {
    let days = rollup::rollups_between(&*analytics.store, &day_key(range.from), &day_key(range.to))
        .await?;
    Ok(build(range, currency, &days))
}

/// The currency with the most paid orders in `days` (ties: alphabetical).
fn dominant_currency(days: &BTreeMap<String, DayRollup>) -> Option<String> {
    let mut orders: BTreeMap<&str, u64> = BTreeMap::new();
    for day in days.values() {
        for (currency, sales) in &day.by_currency {
            *orders.entry(currency).or_default() += sales.orders;
        }
    }
    let most = orders.values().copied().max()?;
    orders
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(c, _)| c.to_owned())
}

/// Adds up the rollups of a range.
fn build(range: Range, currency: Option<Currency>, days: &BTreeMap<String, DayRollup>) -> Summary {
    let currency = currency
        .map(|c| c.as_str().to_owned())
        .or_else(|| dominant_currency(days))
        .unwrap_or_else(|| DEFAULT_CURRENCY.to_owned());
    let mut summary = Summary {
        from: day_key(range.from),
        to: day_key(range.to),
        orders: 0,
        revenue: 0,
        currency,
        average_order_value: 0,
        units_sold: 0,
        refunds: 0,
        refunded_orders: 0,
        top_products: Vec::new(),
        conversion_rate: 0.0,
        funnel: Funnel {
            sessions_viewed: 0,
            sessions_added_to_cart: 0,
            orders_placed: 0,
            orders_paid: 0,
        },
        daily: Vec::new(),
    };
    let mut products: BTreeMap<&str, ProductSales> = BTreeMap::new();
    let empty = DayRollup::default();
    for date in range.days() {
        let key = day_key(date);
        let day = days.get(&key).unwrap_or(&empty);
        let sales = day.by_currency.get(&summary.currency);
        let (orders, revenue, units) =
            sales.map_or((0, 0, 0), |s| (s.orders, s.revenue, s.units_sold));
        summary.orders += orders;
        summary.revenue += revenue;
        summary.units_sold += units;
        if let Some(sales) = sales {
            summary.refunds += sales.refunds;
            summary.refunded_orders += sales.refunded_orders;
            for (id, sold) in &sales.products {
                let total = products.entry(id).or_default();
                total.name.clone_from(&sold.name);
                total.units += sold.units;
                total.revenue += sold.revenue;
            }
        }
        summary.funnel.sessions_viewed += day.sessions_viewed;
        summary.funnel.sessions_added_to_cart += day.sessions_added_to_cart;
        summary.funnel.orders_placed += day.orders_placed;
        summary.funnel.orders_paid += day.orders_paid;
        summary.daily.push(DailyFigures {
            date: key,
            orders,
            revenue,
            units_sold: units,
            product_views: day.product_views,
        });
    }
    if summary.orders > 0 {
        let orders = i64::try_from(summary.orders).unwrap_or(i64::MAX);
        summary.average_order_value = (2 * summary.revenue + orders) / (2 * orders);
    }
    if summary.funnel.sessions_viewed > 0 {
        let rate = summary.funnel.orders_paid as f64 / summary.funnel.sessions_viewed as f64;
        summary.conversion_rate = (rate * 10_000.0).round() / 10_000.0;
    }
    let mut top: Vec<TopProduct> = products
        .into_iter()
        .map(|(id, sold)| TopProduct {
            product_id: id.to_owned(),
            name: sold.name,
            units: sold.units,
            revenue: sold.revenue,
        })
        .collect();
    top.sort_by(|a, b| {
        b.units
            .cmp(&a.units)
            .then(b.revenue.cmp(&a.revenue))
            .then(a.product_id.cmp(&b.product_id))
    });
    top.truncate(TOP_PRODUCTS);
    summary.top_products = top;
    summary
}

/// The daily series as CSV: a header line, then one line per day, money in
/// integer minor units (as everywhere in the API), lines ending in CRLF (RFC 4180).
pub fn daily_csv(summary: &Summary) -> String {
    let mut csv = String::from("date,orders,revenue,unitsSold,productViews\r\n");
    for day in &summary.daily {
        csv.push_str(&format!(
            "{},{},{},{},{}\r\n",
            day.date, day.orders, day.revenue, day.units_sold, day.product_views
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ranges_default_to_thirty_days_and_refuse_bad_input() {
        let today = day("2026-11-29");
        let r = Range::parse(None, None, today).unwrap();
        assert_eq!((r.from(), r.to()), (day("2026-10-31"), today));
        assert_eq!(r.days().count(), 30);
        let r = Range::parse(Some("2025-11-29"), Some("2026-11-29"), today).unwrap();
        assert_eq!(r.days().count(), 366);
        for (from, to) in [
            (Some("2025-11-28"), Some("2026-11-29")),
            (Some("2026-11-30"), Some("2026-11-29")),
            (Some("2026-13-01"), None),
            (Some("2026-1-01"), None),
            (None, Some("yesterday")),
        ] {
            assert!(Range::parse(from, to, today).is_err(), "{from:?} {to:?}");
        }
    }

    #[test]
    fn the_average_order_value_rounds_half_up() {
        let today = day("2026-11-29");
        let range = Range::parse(Some("2026-11-29"), None, today).unwrap();
        let mut rollup = DayRollup::default();
        let sales = rollup.by_currency.entry("EUR".into()).or_default();
        sales.orders = 2;
        sales.revenue = 1001;
        let days = BTreeMap::from([("2026-11-29".to_owned(), rollup)]);
        let summary = build(range, None, &days);
        assert_eq!(summary.currency, "EUR");
        assert_eq!(summary.average_order_value, 501);
    }
}
