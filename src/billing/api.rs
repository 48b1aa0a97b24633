//! `POST /api/v1/billing/stripe/webhook`: Stripe's events, verified by their
//! signature (the request carries no other credential).

use super::domain::{verify_signature, StripeEvent};
use super::service::BillingService;
use crate::clock;
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use crate::web::api_doc::ErrorBody;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Stripe's events are larger than the API's requests (a subscription with its
/// items and prices): up to this many bytes are read.
const MAX_EVENT_BYTES: usize = 512 * 1024;

#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookReceived {
    received: bool,
}

#[utoipa::path(
    post,
    path = "/billing/stripe/webhook",
    tag = "billing",
    summary = "Stripe's events: the organization's plan follows its subscription",
    description = "Verified by `Stripe-Signature` (`t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">`) \
                   under any of `STRIPE_WEBHOOK_SECRETS`, `t` within 300 s. Each event id is applied once; \
                   an event older than the last one applied to its subscription changes nothing; \
                   types it does not use are answered 200.",
    request_body(content = Object, description = "A Stripe event", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the raw body")),
    responses(
        (status = 200, description = "Received (applied, or nothing to do)", body = WebhookReceived),
        (status = 400, description = "The signature is missing, malformed, too old or matches no secret (`invalid_signature`), or the body is no Stripe event", body = ErrorBody),
        (status = 413, description = "The event is larger than 512 KiB", body = ErrorBody)
    )
)]
pub(crate) async fn stripe_webhook(
    State(billing): State<BillingService>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<WebhookReceived>, AppError> {
    let body = axum::body::to_bytes(body, MAX_EVENT_BYTES)
        .await
        .map_err(|_| AppError::PayloadTooLarge)?;
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    verify_signature(
        signature,
        &body,
        &billing.stripe().webhook_secrets,
        clock::now(),
    )?;
    let event = StripeEvent::parse(&body)?;
    billing.apply(&event, &body, &meta).await?;
    Ok(Json(WebhookReceived { received: true }))
}
