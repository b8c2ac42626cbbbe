//! Helpers shared by the adapter test binaries.

pub mod store_smoke;
