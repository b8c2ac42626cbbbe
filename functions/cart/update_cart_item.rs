//! `PATCH /api/cart/items/{productId}`: set how many of a product the cart holds.

use axum::extract::{Path, State};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    caller::{AnonymousCartId, CallerCart},
    domain::NewQuantity,
    model::CartView,
    service, Carts,
};
use crate::{http::ApiJson, products::product_id};

/// The new quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCartItemRequest {
    /// Units, 0 to 99; 0 removes the line.
    pub quantity: i64,
}

/// Sets a line's quantity (0 removes it); 404 when the cart has no such line,
/// 409 when raising it above what is available.
#[utoipa::path(patch, path = "/api/cart/items/{productId}", tag = "cart", request_body = UpdateCartItemRequest,
    params(("productId" = String, Path, description = "The product id"),
        ("X-Cart-Id" = Option<String>, Header, description = "The anonymous cart (ignored with a bearer token)")),
    security((), ("bearer" = [])),
    responses((status = 200, body = CartView,
            headers(("X-Cart-Id" = String, description = "The anonymous cart's id (anonymous callers only)"))),
        (status = 400, body = Problem, description = "Invalid quantity"),
        (status = 401, body = Problem, description = "A bearer token that is not valid"),
        (status = 404, body = Problem, description = "No such line, or the product was deleted"),
        (status = 409, body = Problem, description = "More than available")))]
pub async fn update_cart_item(
    State(carts): State<Carts>,
    CallerCart(owner): CallerCart,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateCartItemRequest>,
) -> Result<(AnonymousCartId, ApiJson<CartView>), ApiError> {
    let quantity =
        NewQuantity::parse(body.quantity).map_err(|e| ApiError::invalid_field("quantity", e.0))?;
    let product = product_id(&id)?;
    let cart = service::set_quantity(&carts, &owner, &product, quantity).await?;
    Ok((AnonymousCartId::of(&owner), ApiJson(cart)))
}
