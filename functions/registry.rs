//! The shipped services, one line each, in start order: a service comes after
//! every service it calls. Everything else (router, manifest, host, provisioning,
//! the Bicep cross-check, erasure and export) is derived from this list.

use crate::{
    analytics, auth, cart, notifications, orders, payments, platform, products, reviews,
    table::ServiceDef, users,
};

/// Every service jojomart ships.
pub fn services() -> Vec<ServiceDef> {
    vec![
        platform::service(),
        analytics::service(),
        users::service(),
        notifications::service(),
        auth::service(),
        products::service(),
        cart::service(),
        payments::service(),
        orders::service(),
        reviews::service(),
    ]
}

/// Every function jojomart ships.
pub fn functions() -> Vec<crate::table::FunctionDef> {
    crate::table::functions_of(&services())
}
