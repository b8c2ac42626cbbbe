//! `GET /api/cart`: the caller's cart, priced now.

use axum::extract::State;
use jojomart_shared::error::{ApiError, Problem};

use super::{
    caller::{AnonymousCartId, CallerCart},
    model::CartView,
    service, Carts,
};
use crate::http::ApiJson;

/// The caller's cart (an empty one, with a new id, for an anonymous caller without one).
#[utoipa::path(get, path = "/api/cart", tag = "cart",
    params(("X-Cart-Id" = Option<String>, Header, description = "The anonymous cart (ignored with a bearer token)")),
    security((), ("bearer" = [])),
    responses((status = 200, body = CartView,
            headers(("X-Cart-Id" = String, description = "The anonymous cart's id (anonymous callers only)"))),
        (status = 401, body = Problem, description = "A bearer token that is not valid")))]
pub async fn get_cart(
    State(carts): State<Carts>,
    CallerCart(owner): CallerCart,
) -> Result<(AnonymousCartId, ApiJson<CartView>), ApiError> {
    let cart = service::view(&carts, &owner).await?;
    Ok((AnonymousCartId::of(&owner), ApiJson(cart)))
}
