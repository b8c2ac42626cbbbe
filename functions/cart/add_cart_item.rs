//! `POST /api/cart/items`: put a product in the caller's cart.

use axum::extract::State;
use jojomart_shared::{
    domain::{ProductId, Quantity},
    error::{ApiError, Problem},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    caller::{AnonymousCartId, CallerCart},
    model::CartView,
    service, Carts,
};
use crate::{http::ApiJson, products::field};

/// What to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddCartItemRequest {
    /// The product id.
    pub product_id: String,
    /// Units to add, 1 to 99 (added to the line's units when it has some).
    pub quantity: i64,
}

/// Adds units of a product; 404 for an unknown or deleted product, 409 when the
/// line would hold more than is available or than 99, or the product is priced
/// in another currency than the cart.
#[utoipa::path(post, path = "/api/cart/items", tag = "cart", request_body = AddCartItemRequest,
    params(("X-Cart-Id" = Option<String>, Header, description = "The anonymous cart (ignored with a bearer token)")),
    security((), ("bearer" = [])),
    responses((status = 200, body = CartView,
            headers(("X-Cart-Id" = String, description = "The anonymous cart's id (anonymous callers only)"))),
        (status = 400, body = Problem, description = "Invalid fields"),
        (status = 401, body = Problem, description = "A bearer token that is not valid"),
        (status = 404, body = Problem, description = "Unknown or deleted product"),
        (status = 409, body = Problem, description = "More than available, more than 99, or another currency")))]
pub async fn add_cart_item(
    State(carts): State<Carts>,
    CallerCart(owner): CallerCart,
    ApiJson(body): ApiJson<AddCartItemRequest>,
) -> Result<(AnonymousCartId, ApiJson<CartView>), ApiError> {
    let mut errors = Vec::new();
    let product = field("productId", ProductId::parse(&body.product_id), &mut errors);
    let quantity = field("quantity", Quantity::new(body.quantity), &mut errors);
    let (Some(product), Some(quantity)) = (product, quantity) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let cart = service::add(&carts, &owner, &product, quantity).await?;
    Ok((AnonymousCartId::of(&owner), ApiJson(cart)))
}
