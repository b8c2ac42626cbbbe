//! `POST /api/orders`: checkout. Needs an `Idempotency-Key`; a signed-in
//! caller checks out their cart, a guest their anonymous cart (`X-Cart-Id`)
//! with an `email`.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
};
use jojomart_shared::{
    auth::email::Email,
    domain::CartId,
    error::{ApiError, FieldError},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    checkout::{self, Buyer, CheckoutRequest},
    idempotency,
    model::{OrderView, ShippingAddress},
    Orders,
};
use crate::{
    http::{ApiJson, MaybeAuthenticated},
    users::{
        self,
        domain::{Address, AddressFields},
    },
};

/// The address as sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressBody {
    /// The recipient.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Anything else.
    #[serde(default)]
    pub line2: Option<String>,
    /// The city.
    pub city: String,
    /// The postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A checkout.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderRequest {
    /// Where the parcel goes (or `addressId`).
    #[serde(default)]
    pub shipping_address: Option<AddressBody>,
    /// One of the caller's saved addresses (signed-in callers).
    #[serde(default)]
    pub address_id: Option<String>,
    /// The card: a PaymentMethod id such as `pm_card_visa`.
    pub payment_method: String,
    /// A guest's email (required without a token).
    #[serde(default)]
    pub email: Option<String>,
    /// Where the gateway returns the shopper after 3-D Secure; `{ORDER_ID}` in
    /// it becomes the new order's id (e.g. `https://shop.example/orders/{ORDER_ID}`).
    #[serde(default)]
    pub return_url: Option<String>,
}

fn check_payment_method(raw: &str, errors: &mut Vec<FieldError>) {
    let ok = (1..=255).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        errors.push(FieldError::new(
            "paymentMethod",
            "must be a payment method id such as pm_card_visa",
        ));
    }
}

fn check_return_url(raw: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(url) = raw {
        let ok = url.len() <= 2048
            && (url.starts_with("https://") || url.starts_with("http://"))
            && !url.chars().any(char::is_whitespace);
        if !ok {
            errors.push(FieldError::new("returnUrl", "must be an http(s) URL"));
        }
    }
}

fn shipping_of(address: Address) -> ShippingAddress {
    ShippingAddress {
        name: address.name,
        line1: address.line1,
        line2: address.line2,
        city: address.city,
        postal_code: address.postal_code,
        country: address.country,
    }
}

/// Places the order: 201 paid (or awaiting 3-D Secure), 402 declined.
#[utoipa::path(post, path = "/api/orders", tag = "orders", request_body = PlaceOrderRequest,
    params(("Idempotency-Key" = String, Header, description = "Required, at most 255 characters; a retry with the same key returns the same order"),
        ("X-Cart-Id" = Option<String>, Header, description = "A guest's anonymous cart")),
    security((), ("bearer" = [])),
    responses((status = 201, body = OrderView), (status = 400, description = "Missing key, empty cart or invalid fields"),
        (status = 402, description = "The payment was declined"), (status = 409, description = "Not enough stock"),
        (status = 422, description = "The key was used with another body")))]
pub async fn place_order(
    State(orders): State<Orders>,
    MaybeAuthenticated(caller): MaybeAuthenticated,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PlaceOrderRequest>,
) -> Result<(StatusCode, ApiJson<OrderView>), ApiError> {
    let key = idempotency::parse_key(
        headers
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap_or("\u{0}")),
    )?;
    let fingerprint =
        idempotency::fingerprint(&serde_json::to_value(&body).map_err(ApiError::internal)?);
    let mut errors = Vec::new();
    check_payment_method(&body.payment_method, &mut errors);
    check_return_url(body.return_url.as_deref(), &mut errors);
    let buyer = match caller {
        Some(principal) => Some(Buyer::User(principal)),
        None => {
            let email = match body.email.as_deref().map(Email::parse) {
                Some(Ok(email)) => Some(email.as_str().to_owned()),
                Some(Err(e)) => {
                    errors.push(FieldError::new("email", e.to_string()));
                    None
                }
                None => {
                    errors.push(FieldError::new("email", "a guest checkout needs an email"));
                    None
                }
            };
            let cart = headers
                .get("x-cart-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| CartId::parse(v).ok());
            match (email, cart) {
                (Some(email), Some(cart)) => Some(Buyer::Guest { cart, email }),
                (Some(_), None) => {
                    return Err(ApiError::invalid_field("cart", "the cart is empty"))
                }
                _ => None,
            }
        }
    };
    let shipping =
        match (&body.shipping_address, &body.address_id, &buyer) {
            (Some(a), None, _) => Address::parse(AddressFields {
                name: &a.name,
                line1: &a.line1,
                line2: a.line2.as_deref(),
                city: &a.city,
                postal_code: &a.postal_code,
                country: &a.country,
            })
            .map(shipping_of)
            .map_err(|e| match e {
                ApiError::BadRequest { errors: bad, .. } => {
                    errors.extend(bad.into_iter().map(|f| {
                        FieldError::new(format!("shippingAddress.{}", f.field), f.message)
                    }));
                }
                other => errors.push(FieldError::new("shippingAddress", other.to_string())),
            })
            .ok(),
            (None, Some(id), Some(Buyer::User(principal))) => {
                let me = users::service::me(&orders.users, principal).await?;
                match me.addresses.into_iter().find(|a| &a.id == id) {
                    Some(a) => Some(shipping_of(a)),
                    None => {
                        errors.push(FieldError::new("addressId", "is not one of your addresses"));
                        None
                    }
                }
            }
            (None, Some(_), _) => {
                errors.push(FieldError::new(
                    "addressId",
                    "saved addresses need a signed-in customer",
                ));
                None
            }
            (Some(_), Some(_), _) => {
                errors.push(FieldError::new(
                    "addressId",
                    "send shippingAddress or addressId, not both",
                ));
                None
            }
            (None, None, _) => {
                errors.push(FieldError::new(
                    "shippingAddress",
                    "is required (or addressId)",
                ));
                None
            }
        };
    let (Some(buyer), Some(shipping_address), true) = (buyer, shipping, errors.is_empty()) else {
        return Err(ApiError::invalid_fields(errors));
    };
    let request = CheckoutRequest {
        shipping_address,
        payment_method: body.payment_method,
        return_url: body.return_url,
        fingerprint,
    };
    let order = checkout::place(&orders, buyer, &key, request).await?;
    Ok((StatusCode::CREATED, ApiJson(order)))
}
