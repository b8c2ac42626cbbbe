//! `POST /api/users/me/addresses`: add a postal address to the caller's profile.

use axum::{extract::State, http::StatusCode};
use jojomart_shared::error::{ApiError, Problem};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    domain::{Address, AddressFields},
    service,
};
use crate::{
    http::{ApiJson, Authenticated},
    users::Users,
};

/// A new address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddAddressRequest {
    /// The recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Anything else (apartment, floor).
    pub line2: Option<String>,
    /// The city.
    pub city: String,
    /// The postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 (`DE`, `US`).
    pub country: String,
}

/// Adds the address; 201 with its id.
#[utoipa::path(post, path = "/api/users/me/addresses", tag = "users", security(("bearer" = [])),
    request_body = AddAddressRequest,
    responses((status = 201, body = Address), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn add_address(
    State(users): State<Users>,
    Authenticated(principal): Authenticated,
    ApiJson(body): ApiJson<AddAddressRequest>,
) -> Result<(StatusCode, ApiJson<Address>), ApiError> {
    let address = Address::parse(AddressFields {
        name: &body.name,
        line1: &body.line1,
        line2: body.line2.as_deref(),
        city: &body.city,
        postal_code: &body.postal_code,
        country: &body.country,
    })?;
    let address = service::add_address(&users, &principal, address).await?;
    Ok((StatusCode::CREATED, ApiJson(address)))
}
