//! Helpers shared by the adapter test binaries.

pub mod queue_smoke;
pub mod store_smoke;
