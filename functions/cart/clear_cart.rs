//! `DELETE /api/cart`: empty the caller's cart.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use jojomart_shared::error::{ApiError, Problem};

use super::{
    caller::{AnonymousCartId, CallerCart},
    service, Carts,
};

/// Empties the cart; 204.
#[utoipa::path(delete, path = "/api/cart", tag = "cart",
    params(("X-Cart-Id" = Option<String>, Header, description = "The anonymous cart (ignored with a bearer token)")),
    security((), ("bearer" = [])),
    responses((status = 204, description = "Emptied",
            headers(("X-Cart-Id" = String, description = "The anonymous cart's id (anonymous callers only)"))),
        (status = 401, body = Problem, description = "A bearer token that is not valid")))]
pub async fn clear_cart(
    State(carts): State<Carts>,
    CallerCart(owner): CallerCart,
) -> Result<impl IntoResponse, ApiError> {
    service::clear(&carts, &owner).await?;
    Ok((StatusCode::NO_CONTENT, AnonymousCartId::of(&owner), ()))
}
