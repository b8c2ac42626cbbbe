//! What the cart stores and what it answers.
//!
//! Each cart is one document (id `cart`) in its own partition of `carts`,
//! keyed by [`CartOwner::key`]. Lines keep the name, price and currency the
//! product had when the line was last touched, but only to show a deleted
//! product's line: every read prices lines from the catalog as it is now.
//!
//! An anonymous cart carries `ttl` (Cosmos DB deletes it 30 days after its
//! last write, every write renewing it; the container's `defaultTtl` is -1)
//! and the same instant as `expiresAt`, which the service checks itself so the
//! embedded store, which never expires anything, behaves the same. A user's
//! cart carries neither and lives as long as the account.
//!
//! Two short memories make retried calls harmless: `merged` records which
//! anonymous carts (by id and generation) were merged in and how much of each
//! product they held, and `appliedOrders` which orders were already taken out.

use chrono::{DateTime, Utc};
use jojomart_shared::{
    domain::{CartId, Currency, OrderId, ProductId, Quantity, UserId},
    store::{Container, Ttl},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::domain::CartOwner;

/// The container (partition `cartId`); documents expire when they carry `ttl`.
pub const CARTS: &Container = &Container::new("carts", "cartId").with_ttl(Ttl::PerDocument);
/// The id of the one document in a cart's partition.
pub const CART_DOC_ID: &str = "cart";
/// How long an anonymous cart lives after its last write.
pub const ANONYMOUS_TTL_SECS: u32 = 30 * 86_400;
/// How many merged carts and applied orders a cart remembers.
pub const REMEMBERED: usize = 20;

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartDoc {
    /// Always `cart`.
    pub kind: String,
    /// The cart's key (the partition key).
    pub cart_id: String,
    /// The owner of a user's cart; absent on anonymous carts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// Random, new whenever the document is created: an anonymous cart
    /// re-created under the same id after a merge is another cart.
    pub generation: String,
    /// The lines, in the order they were first added.
    pub lines: Vec<CartLine>,
    /// Anonymous carts merged into this one, oldest first (at most [`REMEMBERED`]).
    #[serde(default)]
    pub merged: Vec<MergedCart>,
    /// Orders whose lines were taken out, oldest first (at most [`REMEMBERED`]).
    #[serde(default)]
    pub applied_orders: Vec<OrderId>,
    /// Bumped on every write.
    pub version: u64,
    /// When the document was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When an anonymous cart expires (renewed by every write).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Cosmos DB's per-document time to live, seconds after the last write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

/// One product in a cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    /// The product.
    pub product_id: ProductId,
    /// How many, 1 to 99.
    pub quantity: Quantity,
    /// The product's name when the line was last touched.
    pub name: String,
    /// Its price then, minor units.
    pub unit_price: i64,
    /// Its currency then.
    pub currency: Currency,
    /// When the product was first added.
    pub added_at: DateTime<Utc>,
}

/// An anonymous cart merged into a user's cart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedCart {
    /// Its id.
    pub cart_id: CartId,
    /// Its generation.
    pub generation: String,
    /// How many of each product it held when merged (merged or not: what was
    /// capped away stays away when the merge runs again).
    pub lines: Vec<MergedLine>,
}

/// How many of one product a merged cart held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergedLine {
    /// The product.
    pub product_id: ProductId,
    /// Units.
    pub quantity: u32,
}

/// A product's catalog data a line is written with.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductNow {
    /// The name.
    pub name: String,
    /// The unit price, minor units.
    pub unit_price: i64,
    /// The currency.
    pub currency: Currency,
}

impl CartDoc {
    /// An empty cart for `owner`, not yet stored.
    pub fn new(owner: &CartOwner, now: DateTime<Utc>) -> Self {
        let mut cart = Self {
            kind: "cart".into(),
            cart_id: owner.key(),
            user_id: match owner {
                CartOwner::User(user) => Some(user.clone()),
                CartOwner::Anonymous(_) => None,
            },
            generation: hex::encode(rand::random::<[u8; 16]>()),
            lines: Vec::new(),
            merged: Vec::new(),
            applied_orders: Vec::new(),
            version: 0,
            created_at: now,
            updated_at: now,
            expires_at: None,
            ttl: None,
        };
        cart.touch(owner, now);
        cart
    }

    /// True when an anonymous cart outlived its time to live: it counts as absent.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Marks a change: a new version, and a renewed lifetime for an anonymous cart.
    pub fn touch(&mut self, owner: &CartOwner, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
        if matches!(owner, CartOwner::Anonymous(_)) {
            self.ttl = Some(ANONYMOUS_TTL_SECS);
            self.expires_at = Some(now + chrono::Duration::seconds(ANONYMOUS_TTL_SECS.into()));
        }
    }

    /// Units of `product` in the cart (0 without a line).
    pub fn quantity_of(&self, product: &ProductId) -> u32 {
        self.lines
            .iter()
            .find(|l| l.product_id == *product)
            .map_or(0, |l| l.quantity.get())
    }

    /// Sets `product`'s line to `quantity` (adding it at the end when new),
    /// with the product's current name and price.
    pub fn set_line(
        &mut self,
        product: &ProductId,
        quantity: Quantity,
        now_is: &ProductNow,
        now: DateTime<Utc>,
    ) {
        let line = CartLine {
            product_id: product.clone(),
            quantity,
            name: now_is.name.clone(),
            unit_price: now_is.unit_price,
            currency: now_is.currency,
            added_at: now,
        };
        match self.lines.iter_mut().find(|l| l.product_id == *product) {
            Some(held) => {
                *held = CartLine {
                    added_at: held.added_at,
                    ..line
                }
            }
            None => self.lines.push(line),
        }
    }

    /// Takes `product`'s line out; false when there was none.
    pub fn remove_line(&mut self, product: &ProductId) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| l.product_id != *product);
        self.lines.len() != before
    }
}

/// Keeps the last [`REMEMBERED`] entries of a memory.
pub fn remember<T>(memory: &mut Vec<T>, entry: T) {
    memory.push(entry);
    if memory.len() > REMEMBERED {
        let excess = memory.len() - REMEMBERED;
        memory.drain(..excess);
    }
}

/// Whether a line can be bought as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Priced now and counted in the subtotal.
    Available,
    /// The product was deleted: the line shows what it was, counts for nothing.
    Unavailable,
    /// The product is now priced in another currency than the cart: it counts
    /// for nothing until removed and added again.
    OtherCurrency,
}

/// A cart line as the API shows it, priced now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartItemView {
    /// The product id.
    pub product_id: String,
    /// The product's name (its last known name when it was deleted).
    pub name: String,
    /// The current unit price, minor units (the last known one when deleted).
    pub unit_price: i64,
    /// ISO 4217 code of `unitPrice`.
    pub currency: String,
    /// How many, 1 to 99.
    pub quantity: u32,
    /// `unitPrice × quantity`; 0 when the line is not available.
    pub line_total: i64,
    /// Whether the line can be bought (and counts in the subtotal).
    pub available: bool,
    /// Why a line is not available.
    pub status: LineStatus,
}

/// A cart as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    /// The cart id: its `X-Cart-Id` when anonymous, `user-<userId>` when a user's.
    pub id: String,
    /// The lines, in the order they were first added.
    pub items: Vec<CartItemView>,
    /// The sum of the available lines' totals, minor units.
    pub subtotal: i64,
    /// The currency of the cart's lines; `null` while it has none.
    pub currency: Option<String>,
    /// Units in the available lines.
    pub item_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> ProductNow {
        ProductNow {
            name: "Lamp".into(),
            unit_price: 1999,
            currency: Currency::parse("EUR").unwrap(),
        }
    }

    #[test]
    fn anonymous_carts_expire_and_every_write_renews_them() {
        let owner = CartOwner::Anonymous(CartId::parse(&"b".repeat(64)).unwrap());
        let t0 = Utc::now();
        let mut cart = CartDoc::new(&owner, t0);
        assert_eq!(cart.ttl, Some(ANONYMOUS_TTL_SECS));
        let month = chrono::Duration::days(30);
        assert!(!cart.is_expired(t0 + month - chrono::Duration::seconds(1)));
        assert!(cart.is_expired(t0 + month));
        cart.touch(&owner, t0 + chrono::Duration::days(20));
        assert!(!cart.is_expired(t0 + month));
        let user = CartOwner::User(UserId::parse("u").unwrap());
        let cart = CartDoc::new(&user, t0);
        assert_eq!((cart.ttl, cart.expires_at), (None, None));
        assert!(!cart.is_expired(t0 + chrono::Duration::days(3650)));
    }

    #[test]
    fn lines_are_set_in_place_and_removed() {
        let owner = CartOwner::User(UserId::parse("u").unwrap());
        let now = Utc::now();
        let mut cart = CartDoc::new(&owner, now);
        let (a, b) = (ProductId::generate(), ProductId::generate());
        cart.set_line(&a, Quantity::new(2).unwrap(), &product(), now);
        cart.set_line(&b, Quantity::new(1).unwrap(), &product(), now);
        cart.set_line(&a, Quantity::new(5).unwrap(), &product(), now);
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].product_id, a, "order kept");
        assert_eq!((cart.quantity_of(&a), cart.quantity_of(&b)), (5, 1));
        assert!(cart.remove_line(&a));
        assert!(!cart.remove_line(&a));
        assert_eq!(cart.quantity_of(&a), 0);
    }

    #[test]
    fn memories_keep_the_last_entries() {
        let mut memory = Vec::new();
        for n in 0..(REMEMBERED + 5) {
            remember(&mut memory, n);
        }
        assert_eq!(memory.len(), REMEMBERED);
        assert_eq!(memory.first(), Some(&5));
    }
}
