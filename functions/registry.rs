//! The shipped services, one line each, in start order: a service comes after
//! every service it calls. Everything else (router, manifest, host, provisioning,
//! the Bicep cross-check, erasure and export) is derived from this list.

use crate::{auth, payments, platform, products, reviews, table::ServiceDef, users};

/// Every service jojomart ships.
pub fn services() -> Vec<ServiceDef> {
    vec![
        platform::service(),
        users::service(),
        auth::service(),
        products::service(),
        payments::service(),
        reviews::service(),
    ]
}

/// Every function jojomart ships.
pub fn functions() -> Vec<crate::table::FunctionDef> {
    crate::table::functions_of(&services())
}
