//! The pieces of the OpenAPI document that features' handlers name: the error body,
//! the security scheme and the shared request headers.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub(crate) const BEARER: &str = "bearer";
pub(crate) const ORGANIZATION_HEADER: &str = "X-Organization";

/// Every error answer of the API.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// A message safe to show to a person.
    pub(crate) error: String,
    /// A stable, machine-readable snake_case identifier.
    pub(crate) code: String,
}

/// `X-Organization`, as the OpenAPI document describes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct OrganizationHeader {
    /// The organization to act on; without it, the caller's default organization
    /// (the one they own if they own exactly one, else the first they joined).
    #[param(rename = "X-Organization")]
    #[allow(dead_code)]
    organization: Option<Uuid>,
}

/// `Idempotency-Key`, as the OpenAPI document describes it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IdempotencyHeader {
    /// Makes a retry safe: the same key, caller and body within 24 hours get the
    /// first `201` again (the same key); the same key with another body is `422`.
    /// 1 to 255 visible ASCII characters.
    #[param(
        rename = "Idempotency-Key",
        max_length = 255,
        pattern = "^[\\x21-\\x7E]+$"
    )]
    #[allow(dead_code)]
    idempotency_key: Option<String>,
}
