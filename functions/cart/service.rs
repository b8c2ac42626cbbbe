//! The cart's rules: reading a cart priced now, adding, changing and removing
//! lines, clearing, merging an anonymous cart into a user's, and erasure.
//!
//! Every change is a read-modify-write of the cart's one document through the
//! store's [`update`] helper: conditional on the ETag that was read and
//! retried when another request (another tab) wrote first, so concurrent adds
//! all land. What a change needs from other partitions (the product as it is
//! now, its stock) is read before, since the decision must not await.
//!
//! Rules where the contract is silent:
//! - a line holds 1 to 99 units; adding beyond 99 in all is a 409, as is adding
//!   more than is available (counting what the line already holds); lowering a
//!   line is always allowed, raising it must fit what is available;
//! - a cart holds one currency: adding a product priced in another one is a 409;
//! - a deleted product's line stays, `available: false`, out of the subtotal,
//!   until it is removed; `PATCH` to 0 and `DELETE` of a line are idempotent
//!   (200 with the cart even when the line is already gone), while `PATCH` to
//!   a positive quantity needs the line (404 otherwise);
//! - clearing deletes an anonymous cart; a user's cart is emptied but keeps its
//!   memory of merged carts and applied orders.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jojomart_shared::{
    domain::{CartId, Currency, ProductId, Quantity, UserId},
    error::ApiError,
    store::{update, Change, StoreError},
};

use super::{
    domain::{CartError, CartOwner, NewQuantity},
    model::{
        remember, CartDoc, CartItemView, CartView, LineStatus, MergedCart, MergedLine, ProductNow,
        CARTS, CART_DOC_ID,
    },
    Carts,
};
use crate::products::{self, inventory};

/// How often a merge starts again because the anonymous cart changed under it.
const MERGE_ATTEMPTS: usize = 5;

/// The catalog as this request has seen it: each product looked up once.
#[derive(Debug, Default)]
pub(super) struct Prices(HashMap<ProductId, Option<ProductNow>>);

impl Prices {
    /// `product` as the catalog has it now; `None` when unknown or deleted.
    pub(super) async fn of(
        &mut self,
        carts: &Carts,
        product: &ProductId,
    ) -> Result<Option<&ProductNow>, ApiError> {
        if !self.0.contains_key(product) {
            let now = product_now(carts, product).await?;
            self.0.insert(product.clone(), now);
        }
        Ok(self.0.get(product).and_then(Option::as_ref))
    }

    /// Looks up every product of `cart`'s lines.
    pub(super) async fn load(&mut self, carts: &Carts, cart: &CartDoc) -> Result<(), ApiError> {
        for line in &cart.lines {
            self.of(carts, &line.product_id).await?;
        }
        Ok(())
    }

    /// The currency `cart` is priced in, leaving `except`'s line out: that of
    /// its first line whose product is live (as looked up, or as the line says
    /// for a line this request has not looked up).
    fn currency_of(&self, cart: &CartDoc, except: &ProductId) -> Option<Currency> {
        cart.lines
            .iter()
            .filter(|l| l.product_id != *except)
            .find_map(|l| match self.0.get(&l.product_id) {
                Some(Some(p)) => Some(p.currency),
                Some(None) => None,
                None => Some(l.currency),
            })
    }
}

/// A product as the catalog has it now: `None` when unknown or deleted.
async fn product_now(carts: &Carts, product: &ProductId) -> Result<Option<ProductNow>, ApiError> {
    match products::service::get(&carts.catalog, product).await {
        Ok(detail) => {
            let currency = Currency::parse(&detail.summary.currency).map_err(|e| {
                ApiError::internal(StoreError::Internal(format!(
                    "product {product} has currency {:?}: {e}",
                    detail.summary.currency
                )))
            })?;
            Ok(Some(ProductNow {
                name: detail.summary.name,
                unit_price: detail.summary.unit_price,
                currency,
            }))
        }
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Units of `product` available now, from the inventory itself (not the
/// catalog's copy, which may lag other instances).
async fn available(carts: &Carts, product: &ProductId) -> Result<i64, ApiError> {
    match inventory::level(&carts.inventory, product).await {
        Ok(level) => Ok(level.available),
        Err(inventory::InventoryError::UnknownProduct) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// A stored cart that has not expired.
fn live(cart: Option<CartDoc>, now: DateTime<Utc>) -> Option<CartDoc> {
    cart.filter(|c| !c.is_expired(now))
}

/// `owner`'s cart as stored, `None` when there is none (or it expired).
///
/// # Errors
/// The store's error.
pub async fn stored(carts: &Carts, owner: &CartOwner) -> Result<Option<CartDoc>, ApiError> {
    let doc = carts.store.read(CARTS, &owner.key(), CART_DOC_ID).await?;
    let cart = doc.map(|d| d.parse::<CartDoc>()).transpose()?;
    Ok(live(cart, carts.clock.now()))
}

/// One line priced now.
#[derive(Debug, Clone)]
pub(super) struct PricedLine {
    pub(super) product_id: ProductId,
    pub(super) name: String,
    pub(super) unit_price: i64,
    pub(super) currency: Currency,
    pub(super) quantity: Quantity,
    pub(super) status: LineStatus,
}

/// Prices `cart`'s lines now: the cart's currency is that of its first live
/// line; a deleted product, or one now priced in another currency, is not
/// available.
pub(super) async fn price(
    carts: &Carts,
    cart: Option<&CartDoc>,
    prices: &mut Prices,
) -> Result<(Vec<PricedLine>, Option<Currency>), ApiError> {
    let Some(cart) = cart.filter(|c| !c.is_expired(carts.clock.now())) else {
        return Ok((Vec::new(), None));
    };
    let mut currency = None;
    let mut lines = Vec::with_capacity(cart.lines.len());
    for line in &cart.lines {
        let priced = match prices.of(carts, &line.product_id).await? {
            Some(now) => {
                let cart_currency = *currency.get_or_insert(now.currency);
                PricedLine {
                    product_id: line.product_id.clone(),
                    name: now.name.clone(),
                    unit_price: now.unit_price,
                    currency: now.currency,
                    quantity: line.quantity,
                    status: if now.currency == cart_currency {
                        LineStatus::Available
                    } else {
                        LineStatus::OtherCurrency
                    },
                }
            }
            None => PricedLine {
                product_id: line.product_id.clone(),
                name: line.name.clone(),
                unit_price: line.unit_price,
                currency: line.currency,
                quantity: line.quantity,
                status: LineStatus::Unavailable,
            },
        };
        lines.push(priced);
    }
    Ok((lines, currency))
}

/// The API's view of `owner`'s cart `cart`, priced now.
async fn render(
    carts: &Carts,
    owner: &CartOwner,
    cart: Option<&CartDoc>,
    prices: &mut Prices,
) -> Result<CartView, ApiError> {
    let (lines, currency) = price(carts, cart, prices).await?;
    let mut subtotal = 0i64;
    let mut item_count = 0u32;
    let items = lines
        .into_iter()
        .map(|line| {
            let available = line.status == LineStatus::Available;
            let line_total = if available {
                line.unit_price
                    .saturating_mul(i64::from(line.quantity.get()))
            } else {
                0
            };
            subtotal = subtotal.saturating_add(line_total);
            if available {
                item_count += line.quantity.get();
            }
            CartItemView {
                product_id: line.product_id.to_string(),
                name: line.name,
                unit_price: line.unit_price,
                currency: line.currency.as_str().to_owned(),
                quantity: line.quantity.get(),
                line_total,
                available,
                status: line.status,
            }
        })
        .collect();
    Ok(CartView {
        id: owner.key(),
        items,
        subtotal,
        currency: currency.map(|c| c.as_str().to_owned()),
        item_count,
    })
}

/// `owner`'s cart, priced now (an empty cart when there is none).
///
/// # Errors
/// The store's or the catalog's error.
pub async fn view(carts: &Carts, owner: &CartOwner) -> Result<CartView, ApiError> {
    let cart = stored(carts, owner).await?;
    render(carts, owner, cart.as_ref(), &mut Prices::default()).await
}

/// Adds `quantity` units of `product` to `owner`'s cart (to its line when it
/// has one), creating the cart on its first line.
///
/// # Errors
/// 404 for an unknown or deleted product; 409 when the line would hold more
/// than is available or than 99, or the product's currency is not the cart's;
/// the store's error.
pub async fn add(
    carts: &Carts,
    owner: &CartOwner,
    product: &ProductId,
    quantity: Quantity,
) -> Result<CartView, ApiError> {
    let mut prices = Prices::default();
    let wanted = prices
        .of(carts, product)
        .await?
        .cloned()
        .ok_or(CartError::UnknownProduct)?;
    let available = available(carts, product).await?;
    if let Some(before) = stored(carts, owner).await? {
        prices.load(carts, &before).await?;
    }
    let now = carts.clock.now();
    let written = update::<CartDoc, CartError, _>(
        &*carts.store,
        CARTS,
        &owner.key(),
        CART_DOC_ID,
        |current| {
            let mut cart = live(current, now).unwrap_or_else(|| CartDoc::new(owner, now));
            if let Some(currency) = prices.currency_of(&cart, product) {
                if currency != wanted.currency {
                    return Err(CartError::OtherCurrency {
                        cart: currency,
                        product: wanted.currency,
                    });
                }
            }
            let total = cart.quantity_of(product) + quantity.get();
            let total = Quantity::new(total.into()).map_err(|_| CartError::LineFull)?;
            if i64::from(total.get()) > available {
                return Err(CartError::Insufficient { available });
            }
            cart.set_line(product, total, &wanted, now);
            cart.touch(owner, now);
            Ok(Change::Write(cart))
        },
    )
    .await?;
    carts
        .tracker
        .added_to_cart(product, quantity.get(), owner.visitor());
    render(carts, owner, written.value(), &mut prices).await
}

/// Sets how many units of `product` `owner`'s cart holds; 0 removes the line.
///
/// # Errors
/// 404 when the cart has no line for the product, or (for a positive
/// quantity) the product is deleted; 409 when raising the line above what is
/// available; the store's error.
pub async fn set_quantity(
    carts: &Carts,
    owner: &CartOwner,
    product: &ProductId,
    quantity: NewQuantity,
) -> Result<CartView, ApiError> {
    let NewQuantity::Set(quantity) = quantity else {
        return remove(carts, owner, product).await;
    };
    let mut prices = Prices::default();
    let wanted = prices
        .of(carts, product)
        .await?
        .cloned()
        .ok_or(CartError::UnknownProduct)?;
    let available = available(carts, product).await?;
    let now = carts.clock.now();
    let written = update::<CartDoc, CartError, _>(
        &*carts.store,
        CARTS,
        &owner.key(),
        CART_DOC_ID,
        |current| {
            let mut cart = live(current, now).ok_or(CartError::NotInCart)?;
            let held = cart.quantity_of(product);
            if held == 0 {
                return Err(CartError::NotInCart);
            }
            if quantity.get() > held && i64::from(quantity.get()) > available {
                return Err(CartError::Insufficient { available });
            }
            cart.set_line(product, quantity, &wanted, now);
            cart.touch(owner, now);
            Ok(Change::Write(cart))
        },
    )
    .await?;
    render(carts, owner, written.value(), &mut prices).await
}

/// Takes `product`'s line out of `owner`'s cart (nothing to do when it has none).
///
/// # Errors
/// The store's error.
pub async fn remove(
    carts: &Carts,
    owner: &CartOwner,
    product: &ProductId,
) -> Result<CartView, ApiError> {
    let now = carts.clock.now();
    let written = update::<CartDoc, CartError, _>(
        &*carts.store,
        CARTS,
        &owner.key(),
        CART_DOC_ID,
        |current| {
            let Some(mut cart) = live(current, now) else {
                return Ok(Change::Keep);
            };
            if !cart.remove_line(product) {
                return Ok(Change::Keep);
            }
            cart.touch(owner, now);
            Ok(Change::Write(cart))
        },
    )
    .await?;
    render(carts, owner, written.value(), &mut Prices::default()).await
}

/// Empties `owner`'s cart: an anonymous cart is deleted, a user's cart loses
/// its lines (and keeps its memory of merges and orders).
///
/// # Errors
/// The store's error.
pub async fn clear(carts: &Carts, owner: &CartOwner) -> Result<(), ApiError> {
    let now = carts.clock.now();
    update::<CartDoc, CartError, _>(&*carts.store, CARTS, &owner.key(), CART_DOC_ID, |current| {
        let Some(mut cart) = current else {
            return Ok(Change::Keep);
        };
        if matches!(owner, CartOwner::Anonymous(_)) {
            return Ok(Change::Delete);
        }
        if cart.lines.is_empty() {
            return Ok(Change::Keep);
        }
        cart.lines.clear();
        cart.touch(owner, now);
        Ok(Change::Write(cart))
    })
    .await?;
    Ok(())
}

/// What an anonymous line can bring into a user's cart now.
struct Offer {
    product: ProductId,
    quantity: u32,
    now: Option<ProductNow>,
    available: i64,
}

/// Merges the anonymous cart `anonymous` into `user`'s cart, then deletes it.
///
/// Quantities add up per product, capped at what is available now and at 99
/// (a line the user already holds is never lowered); a product in another
/// currency than the user's cart, or deleted, stays behind. The user's cart is
/// written first, recording how much of each product the anonymous cart (this
/// generation of it) held; only then is the anonymous cart deleted, on the
/// ETag that was read. So a merge that dies half-way, runs twice, or runs
/// again with the same `X-Cart-Id` adds nothing twice; an anonymous cart that
/// changed in between (another tab) is merged again for what it gained.
/// An id we did not issue is ignored.
///
/// # Errors
/// The store's or the catalog's error; a 503 when the anonymous cart kept changing.
pub async fn merge(carts: &Carts, user: &UserId, anonymous: &CartId) -> Result<(), ApiError> {
    if !carts.ids().await?.issued(anonymous) {
        tracing::debug!("sign-in with a cart id we did not issue; nothing merged");
        return Ok(());
    }
    let from = CartOwner::Anonymous(anonymous.clone());
    let to = CartOwner::User(user.clone());
    for _ in 0..MERGE_ATTEMPTS {
        let Some(doc) = carts.store.read(CARTS, &from.key(), CART_DOC_ID).await? else {
            return Ok(());
        };
        let source: CartDoc = doc.parse()?;
        if !source.is_expired(carts.clock.now()) && !source.lines.is_empty() {
            merge_lines(carts, &to, anonymous, &source).await?;
        }
        match carts
            .store
            .delete(CARTS, &from.key(), CART_DOC_ID, Some(&doc.etag))
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => {
                tracing::info!(user_id = %user, "anonymous cart merged");
                return Ok(());
            }
            Err(StoreError::PreconditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable(Box::new(StoreError::Unavailable(
        "the anonymous cart kept changing while it was merged".into(),
    ))))
}

/// Adds what `source` holds beyond what an earlier merge of it took into `to`'s cart.
async fn merge_lines(
    carts: &Carts,
    to: &CartOwner,
    anonymous: &CartId,
    source: &CartDoc,
) -> Result<(), ApiError> {
    let mut prices = Prices::default();
    if let Some(target) = stored(carts, to).await? {
        prices.load(carts, &target).await?;
    }
    let mut offers = Vec::with_capacity(source.lines.len());
    for line in &source.lines {
        let now = prices.of(carts, &line.product_id).await?.cloned();
        let available = match now {
            Some(_) => available(carts, &line.product_id).await?,
            None => 0,
        };
        offers.push(Offer {
            product: line.product_id.clone(),
            quantity: line.quantity.get(),
            now,
            available,
        });
    }
    let now = carts.clock.now();
    update::<CartDoc, CartError, _>(&*carts.store, CARTS, &to.key(), CART_DOC_ID, |current| {
        let mut cart = live(current, now).unwrap_or_else(|| CartDoc::new(to, now));
        let earlier = cart
            .merged
            .iter()
            .position(|m| m.cart_id == *anonymous && m.generation == source.generation);
        let taken: HashMap<ProductId, u32> = earlier
            .map(|i| {
                cart.merged[i]
                    .lines
                    .iter()
                    .map(|l| (l.product_id.clone(), l.quantity))
                    .collect()
            })
            .unwrap_or_default();
        let taken = |product: &ProductId| taken.get(product).copied().unwrap_or(0);
        let record: Vec<MergedLine> = offers
            .iter()
            .map(|o| MergedLine {
                product_id: o.product.clone(),
                quantity: o.quantity.max(taken(&o.product)),
            })
            .collect();
        let mut changed = false;
        for offer in &offers {
            let gained = offer.quantity.saturating_sub(taken(&offer.product));
            let Some(product) = offer.now.as_ref().filter(|_| gained > 0) else {
                continue;
            };
            if let Some(currency) = prices.currency_of(&cart, &offer.product) {
                if currency != product.currency {
                    tracing::info!(product = %offer.product, "not merged: priced in another currency than the cart");
                    continue;
                }
            }
            let held = cart.quantity_of(&offer.product);
            let cap = u32::try_from(offer.available.max(0))
                .unwrap_or(u32::MAX)
                .min(Quantity::MAX);
            let target = (held + gained).min(cap).max(held);
            if target > held {
                if let Ok(quantity) = Quantity::new(target.into()) {
                    cart.set_line(&offer.product, quantity, product, now);
                    changed = true;
                }
            }
        }
        let entry = MergedCart {
            cart_id: anonymous.clone(),
            generation: source.generation.clone(),
            lines: record,
        };
        match earlier {
            Some(i) if !changed && cart.merged[i] == entry => return Ok(Change::Keep),
            Some(i) => {
                cart.merged.remove(i);
            }
            None => {}
        }
        remember(&mut cart.merged, entry);
        cart.touch(to, now);
        Ok(Change::Write(cart))
    })
    .await?;
    Ok(())
}

/// Deletes a user's cart with their account (idempotent).
///
/// # Errors
/// The store's error.
pub async fn erase(carts: &Carts, user: &UserId) -> Result<(), ApiError> {
    let owner = CartOwner::User(user.clone());
    update::<CartDoc, CartError, _>(&*carts.store, CARTS, &owner.key(), CART_DOC_ID, |_| {
        Ok(Change::Delete)
    })
    .await?;
    Ok(())
}

/// A user's cart for their data export; `None` when they have none.
///
/// # Errors
/// The store's or the catalog's error.
pub async fn export(carts: &Carts, user: &UserId) -> Result<Option<CartView>, ApiError> {
    let owner = CartOwner::User(user.clone());
    match stored(carts, &owner).await? {
        Some(cart) => Ok(Some(
            render(carts, &owner, Some(&cart), &mut Prices::default()).await?,
        )),
        None => Ok(None),
    }
}
