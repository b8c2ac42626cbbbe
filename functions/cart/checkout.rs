//! The cart as checkout (the orders service) sees it: [`for_checkout`] prices
//! the lines now, and [`remove_ordered`] takes out what an order bought, once
//! per order however often checkout retries.

use jojomart_shared::{
    domain::{OrderId, ProductId, Quantity},
    error::ApiError,
    store::{update, Change},
};

use super::{
    domain::{CartError, CartOwner},
    model::{remember, CartDoc, LineStatus, CARTS, CART_DOC_ID},
    service::{self, Prices},
    Carts,
};

/// One line as checkout sees it, priced now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLine {
    /// The product.
    pub product_id: ProductId,
    /// Its name now (its last known name when deleted).
    pub name: String,
    /// Its unit price now, minor units (the last known one when deleted).
    pub unit_price: i64,
    /// ISO 4217 code of `unit_price`.
    pub currency: String,
    /// How many.
    pub quantity: Quantity,
    /// False: the product was deleted, or is now priced in another currency
    /// than the cart (`currency` differs from [`CheckoutCart::currency`]).
    pub available: bool,
}

/// A cart as checkout sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutCart {
    /// The cart id (`user-<userId>`, or the anonymous `X-Cart-Id`).
    pub id: String,
    /// The lines, in the order they were added; empty for an empty (or absent) cart.
    pub lines: Vec<CheckoutLine>,
    /// The currency of the available lines; `None` while there is none.
    pub currency: Option<String>,
}

/// `owner`'s cart, every line priced now.
///
/// # Errors
/// The store's or the catalog's error.
pub async fn for_checkout(carts: &Carts, owner: &CartOwner) -> Result<CheckoutCart, ApiError> {
    let cart = service::stored(carts, owner).await?;
    let (lines, currency) = service::price(carts, cart.as_ref(), &mut Prices::default()).await?;
    Ok(CheckoutCart {
        id: owner.key(),
        lines: lines
            .into_iter()
            .map(|l| CheckoutLine {
                product_id: l.product_id,
                name: l.name,
                unit_price: l.unit_price,
                currency: l.currency.as_str().to_owned(),
                quantity: l.quantity,
                available: l.status == LineStatus::Available,
            })
            .collect(),
        currency: currency.map(|c| c.as_str().to_owned()),
    })
}

/// Removes what an order bought (subtracting each quantity, removing lines
/// that reach 0), once per order: the cart remembers the last 20 order ids
/// applied, so a retried call changes nothing. A cart that is absent is left
/// absent (there is nothing to take out).
///
/// # Errors
/// The store's error.
pub async fn remove_ordered(
    carts: &Carts,
    owner: &CartOwner,
    order_id: &OrderId,
    lines: &[(ProductId, Quantity)],
) -> Result<(), ApiError> {
    let now = carts.clock.now();
    update::<CartDoc, CartError, _>(&*carts.store, CARTS, &owner.key(), CART_DOC_ID, |current| {
        let Some(mut cart) = current.filter(|c| !c.is_expired(now)) else {
            return Ok(Change::Keep);
        };
        if cart.applied_orders.contains(order_id) {
            return Ok(Change::Keep);
        }
        for (product, bought) in lines {
            let Some(line) = cart.lines.iter_mut().find(|l| l.product_id == *product) else {
                continue;
            };
            match Quantity::new(i64::from(line.quantity.get()) - i64::from(bought.get())) {
                Ok(left) => line.quantity = left,
                Err(_) => {
                    cart.remove_line(product);
                }
            }
        }
        remember(&mut cart.applied_orders, order_id.clone());
        cart.touch(owner, now);
        Ok(Change::Write(cart))
    })
    .await?;
    Ok(())
}
