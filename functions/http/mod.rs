//! HTTP plumbing shared by every HTTP function: extractors that fail as
//! problem+json, the middleware stack (request ids, body limit, panics,
//! invocation spans), and the guard on the host's own routes.

pub mod cart_id;
pub mod client;
pub mod cors;
pub mod extract;
pub mod host_only;
pub mod media;
pub mod middleware;
pub mod paging;
pub mod principal;
pub mod web;

pub use cart_id::{CartIdHeader, CART_ID_HEADER};
pub use client::{ClientAddress, TrustedProxyHops};
pub use extract::{ApiJson, ApiQuery};
pub use paging::page_limit;
pub use principal::{Admin, Authenticated, MaybeAuthenticated};
