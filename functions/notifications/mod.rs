//! The notifications service: mail to customers about their orders and their
//! account, driven off the `notifications` queue.

use crate::table::ServiceDef;

/// The queue customer mail is driven from: order events and account mail
/// requests (other services write it through this constant).
pub const QUEUE: &str = "notifications";

/// The notifications service.
pub fn service() -> ServiceDef {
    ServiceDef::new("notifications").reads(QUEUE)
}
