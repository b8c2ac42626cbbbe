//! `GET /api/orders/{id}`: one order, for its owner, an admin, or a guest
//! holding the order's access token (`X-Order-Token` header or `?token=`).

use axum::{
    extract::{Path, Query, State},
    http::HeaderMap,
};
use jojomart_shared::error::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    model::OrderView,
    service::{self, Reader},
    Orders,
};
use crate::http::{ApiJson, MaybeAuthenticated};

/// A guest's access token, when sent in the query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderTokenQuery {
    /// The order's access token (guest orders).
    pub token: Option<String>,
}

/// Reads one order; anyone but its owner, an admin or a token holder gets 404.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "The order id"), OrderTokenQuery,
        ("X-Order-Token" = Option<String>, Header, description = "A guest order's access token")),
    security((), ("bearer" = [])),
    responses((status = 200, body = OrderView), (status = 401, description = "No valid token"),
        (status = 404, description = "No such order, or not yours")))]
pub async fn get_order(
    State(orders): State<Orders>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    Path(id): Path<String>,
    Query(query): Query<OrderTokenQuery>,
    headers: HeaderMap,
) -> Result<ApiJson<OrderView>, ApiError> {
    let token = headers
        .get("x-order-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.token);
    let reader = match (caller, token) {
        (Some(p), _) => Reader::Caller(p),
        (None, Some(t)) => Reader::Token(t),
        (None, None) => {
            return Err(ApiError::Unauthorized(
                "sign in, or send the order's access token".into(),
            ))
        }
    };
    Ok(ApiJson(service::get(&orders, &reader, &id).await?.view()))
}
