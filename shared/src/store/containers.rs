//! What a container is: its name, the top-level field holding its partition key,
//! and its time-to-live policy. Each service declares its own containers as
//! constants in its folder and lists them in its `ServiceDef`; the store port
//! takes a `&Container`, so no code addresses a container by a bare string.
//!
//! Where DESIGN.md partitions on `/id` (`users`, `products`), services use a
//! named field (`userId`, `productId`) that the adapters stamp into every
//! document, so a container's partition key never doubles as its document id.

/// How documents in a container expire (Cosmos DB's `defaultTtl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// Documents live until deleted.
    Off,
    /// Documents live until deleted unless one carries its own `ttl` field (seconds).
    PerDocument,
    /// Documents expire this many seconds after their last write, unless one
    /// carries its own `ttl` field.
    Seconds(u32),
}

impl Ttl {
    /// The `defaultTtl` value Cosmos DB and Bicep use: absent, `-1`, or seconds.
    pub fn default_ttl(self) -> Option<i64> {
        match self {
            Self::Off => None,
            Self::PerDocument => Some(-1),
            Self::Seconds(s) => Some(i64::from(s)),
        }
    }
}

/// A container's name, partition-key field and time-to-live policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container {
    /// The container name.
    pub name: &'static str,
    /// The partition-key field (the path is `/<field>`).
    pub partition_key: &'static str,
    /// How its documents expire.
    pub ttl: Ttl,
}

impl Container {
    /// A container whose documents live until deleted.
    pub const fn new(name: &'static str, partition_key: &'static str) -> Self {
        Self {
            name,
            partition_key,
            ttl: Ttl::Off,
        }
    }

    /// The same container with a time-to-live policy.
    pub const fn with_ttl(self, ttl: Ttl) -> Self {
        Self { ttl, ..self }
    }

    /// The partition-key path as Cosmos DB and Bicep spell it (`/productId`).
    pub fn partition_key_path(&self) -> String {
        format!("/{}", self.partition_key)
    }
}

/// The store's own container: shared secrets (cursor keys) and other small
/// platform documents, partitioned by `pk`. Declared by the platform service.
pub const SYSTEM: &Container = &Container::new("system", "pk");
