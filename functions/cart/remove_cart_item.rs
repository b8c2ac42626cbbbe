//! `DELETE /api/cart/items/{productId}`: take a product out of the cart.

use axum::extract::{Path, State};
use jojomart_shared::error::{ApiError, Problem};

use super::{
    caller::{AnonymousCartId, CallerCart},
    model::CartView,
    service, Carts,
};
use crate::{http::ApiJson, products::product_id};

/// Removes the product's line; the cart as it now stands, also when the line was already gone.
#[utoipa::path(delete, path = "/api/cart/items/{productId}", tag = "cart",
    params(("productId" = String, Path, description = "The product id"),
        ("X-Cart-Id" = Option<String>, Header, description = "The anonymous cart (ignored with a bearer token)")),
    security((), ("bearer" = [])),
    responses((status = 200, body = CartView,
            headers(("X-Cart-Id" = String, description = "The anonymous cart's id (anonymous callers only)"))),
        (status = 401, body = Problem, description = "A bearer token that is not valid"),
        (status = 404, body = Problem, description = "Not a product id")))]
pub async fn remove_cart_item(
    State(carts): State<Carts>,
    CallerCart(owner): CallerCart,
    Path(id): Path<String>,
) -> Result<(AnonymousCartId, ApiJson<CartView>), ApiError> {
    let product = product_id(&id)?;
    let cart = service::remove(&carts, &owner, &product).await?;
    Ok((AnonymousCartId::of(&owner), ApiJson(cart)))
}
