//! HTTP plumbing shared by every HTTP function: extractors that fail as
//! problem+json, and the middleware stack (request ids, body limit, panics,
//! invocation spans).

pub mod client;
pub mod extract;
pub mod middleware;
pub mod principal;

pub use client::ClientAddress;
pub use extract::{ApiJson, ApiQuery};
pub use principal::{Admin, Authenticated, MaybeAuthenticated};
