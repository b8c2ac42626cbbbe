//! `POST /api/payments/webhook`: the gateway tells us what happened to a
//! payment, in Stripe's signed event format. The body is read raw: the
//! signature covers its exact bytes.

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, State},
    http::{HeaderMap, StatusCode},
};
use jojomart_shared::error::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

use super::{service, signature, Payments};
use crate::http::{extract::BodyLimit, ApiJson};

/// The answer to an accepted delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// Always true.
    pub received: bool,
}

/// Verifies the `Stripe-Signature`, applies the event once, and answers 200;
/// a bad or stale signature is a 400 that changes nothing.
#[utoipa::path(post, path = "/api/payments/webhook", tag = "payments",
    request_body(content = String, content_type = "application/json",
        description = "A Stripe event (`payment_intent.succeeded`, `payment_intent.payment_failed`, `charge.refunded`)"),
    params(("Stripe-Signature" = String, Header,
        description = "`t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">`")),
    responses((status = 200, body = WebhookReceipt, description = "Applied, already applied, or not an event we follow"),
        (status = 400, description = "Missing, bad or stale signature, or an unreadable event"),
        (status = 500, description = "Not applied; the gateway delivers it again"),
        (status = 503, description = "No webhook secret is configured")))]
pub async fn payment_webhook(
    State(payments): State<Payments>,
    headers: HeaderMap,
    limit: Option<axum::Extension<BodyLimit>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, ApiJson<WebhookReceipt>), ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: limit.map(|l| l.0 .0).unwrap_or_default(),
            }
        } else {
            ApiError::invalid_field("body", "could not be read")
        }
    })?;
    let header = headers.get(signature::HEADER).and_then(|v| v.to_str().ok());
    service::receive_event(&payments, &body, header).await?;
    Ok((StatusCode::OK, ApiJson(WebhookReceipt { received: true })))
}
