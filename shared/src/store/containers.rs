//! Every container the services use, with its partition-key field. Bicep declares
//! the same list; a test keeps them equal.
//!
//! Where DESIGN.md partitions on `/id` (`users`, `products`), we use a named
//! field (`userId`, `productId`) that the adapters stamp into every document,
//! so a container's partition key never doubles as its document id.

use super::StoreError;

/// A container's name and the top-level field that holds its partition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The container name.
    pub name: &'static str,
    /// The partition-key field (the path is `/<field>`).
    pub partition_key: &'static str,
}

const fn c(name: &'static str, partition_key: &'static str) -> ContainerSpec {
    ContainerSpec {
        name,
        partition_key,
    }
}

/// All containers, by owning service (see DESIGN.md).
pub const ALL: &[ContainerSpec] = &[
    // platform: signing keys for cursors, dev settings
    c("system", "pk"),
    // auth
    c("identities", "email"),
    c("refreshTokens", "familyId"),
    c("signingKeys", "kid"),
    c("throttle", "key"),
    // users
    c("users", "userId"),
    // products and inventory
    c("products", "productId"),
    c("skus", "sku"),
    c("inventory", "productId"),
    c("categories", "categoryId"),
    // reviews
    c("reviews", "productId"),
    // cart
    c("carts", "cartId"),
    // orders
    c("orders", "userId"),
    // payments
    c("payments", "orderId"),
    // notifications
    c("notifications", "userId"),
    // analytics
    c("events", "day"),
    c("rollups", "day"),
    // conformance tests
    c("conformance", "pk"),
];

/// Looks up a container by name.
///
/// # Errors
/// [`StoreError::Invalid`] for a name not in [`ALL`].
pub fn spec(name: &str) -> Result<&'static ContainerSpec, StoreError> {
    ALL.iter()
        .find(|c| c.name == name)
        .ok_or_else(|| StoreError::Invalid(format!("unknown container `{name}`")))
}
