//! The analytics service: shop events ingested off the `analytics-events`
//! queue, rolled up per day, summarised for the owner.

use crate::table::ServiceDef;

/// The queue shop events are ingested from (other services write it through
/// this constant).
pub const QUEUE: &str = "analytics-events";

/// The analytics service.
pub fn service() -> ServiceDef {
    ServiceDef::new("analytics").reads(QUEUE)
}
