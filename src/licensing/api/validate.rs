//! `POST /api/v1/licensing/validate`: what self-hosted instances call; every answer signed.

use super::super::answer_signing::{AnswerSigner, SIGNATURE_HEADER};
use super::super::plans::InstanceMetrics;
use super::super::service::{LicensingService, ValidationRequest};
use super::super::ValidationDto;
use crate::clock;
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

/// The error answers of `POST /licensing/validate`, which instances read as "not valid".
#[derive(Serialize, ToSchema)]
pub(crate) struct InvalidLicenseBody {
    pub(crate) valid: bool,
    pub(crate) error: String,
    pub(crate) code: String,
    /// The request's `nonce`, when it sent one.
    pub(crate) nonce: Option<String>,
}

/// Any other error of validate: `{"error", "code"}` and the request's `nonce`, when
/// it was read.
#[derive(Serialize, ToSchema)]
pub(crate) struct ValidateErrorBody {
    pub(crate) error: String,
    pub(crate) code: String,
    pub(crate) nonce: Option<String>,
}

/// A validation refused with `403`: an inactive organization, or a plan without
/// self-hosting (then `plan` and `billingUrl` say which plan and where to upgrade).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefusedLicenseBody {
    pub(crate) valid: bool,
    pub(crate) error: String,
    pub(crate) code: String,
    pub(crate) plan: Option<String>,
    pub(crate) billing_url: Option<String>,
    /// The request's `nonce`, when it sent one.
    pub(crate) nonce: Option<String>,
}

/// What a self-hosted instance sends. Fields beyond these are ignored, and optional
/// ones of the wrong type are dropped: deployed clients of every version call this.
/// (Documentation only: the handler reads the body leniently, field by field.)
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub(crate) struct ValidateRequest {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    license_key: String,
    instance_name: Option<String>,
    instance_url: Option<String>,
    metrics: Option<InstanceMetrics>,
    /// Echoed in every answer (1 to 128 visible ASCII characters), so a client can
    /// tell a replayed answer.
    #[schema(min_length = 1, max_length = 128, pattern = "^[!-~]+$")]
    nonce: Option<String>,
}

/// Unauthenticated: the key is the credential. Deployed clients of every version
/// call this, so unknown fields are ignored and mistyped optional ones dropped.
/// Every answer, error or not, carries a `code` and a `Storno-Signature`.
#[utoipa::path(
    post,
    path = "/licensing/validate",
    tag = "licensing",
    summary = "Validate a key (no token: the key is the credential); every answer is signed",
    request_body(content = ValidateRequest),
    responses(
        (status = 200, description = "Valid (`code`: `valid`): the plan, its features, any violations, when to validate again and how long the answer holds offline", body = ValidationDto, headers(("Storno-Signature" = String, description = "Ed25519 signature of `<ts>.<body>`: keyid=<kid>,ts=<unix seconds>,sig=<base64url>"))),
        (status = 400, description = "`licenseKey` missing or malformed, or a `nonce` that is not 1 to 128 visible ASCII characters (`invalid_request`)", body = ValidateErrorBody, headers(("Storno-Signature" = String, description = "Ed25519 signature of `<ts>.<body>`: keyid=<kid>,ts=<unix seconds>,sig=<base64url>"))),
        (status = 401, description = "Unknown, revoked or expired key (`invalid_license_key`)", body = InvalidLicenseBody, headers(("Storno-Signature" = String, description = "Ed25519 signature of `<ts>.<body>`: keyid=<kid>,ts=<unix seconds>,sig=<base64url>"))),
        (status = 403, description = "The organization is inactive (`organization_inactive`), or its plan does not include self-hosting (`plan_excludes_self_hosting`, with `plan` and `billingUrl`)", body = RefusedLicenseBody, headers(("Storno-Signature" = String, description = "Ed25519 signature of `<ts>.<body>`: keyid=<kid>,ts=<unix seconds>,sig=<base64url>"))),
        (status = 413, description = "The body is larger than 16 KiB (`payload_too_large`)", body = ValidateErrorBody, headers(("Storno-Signature" = String, description = "Ed25519 signature of `<ts>.<body>`: keyid=<kid>,ts=<unix seconds>,sig=<base64url>"))),
        (
            status = 429,
            description = "Too many validations for this key or from this address (`rate_limited`)",
            body = ValidateErrorBody,
            headers(
                ("Retry-After" = u64, description = "Seconds to wait"),
                ("Storno-Signature" = String, description = "Ed25519 signature of `<ts>.<body>`: keyid=<kid>,ts=<unix seconds>,sig=<base64url>")
            )
        )
    )
)]
pub(crate) async fn validate(
    State(licensing): State<LicensingService>,
    State(signer): State<Arc<AnswerSigner>>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = match body {
        Ok(body) => answer_validation(&licensing, &meta, &body).await,
        Err(_) => Err((AppError::PayloadTooLarge, None)),
    };
    let response = match answer {
        Ok(valid) => Json(valid).into_response(),
        Err((error, nonce)) => {
            let mut body = error.body();
            if let Some(nonce) = nonce {
                body["nonce"] = nonce.into();
            }
            error.respond_with(body)
        }
    };
    signed(&signer, response).await
}

/// The validation's answer, or its error with the request's nonce (if it was read).
async fn answer_validation(
    licensing: &LicensingService,
    meta: &RequestMeta,
    body: &[u8],
) -> Result<ValidationDto, (AppError, Option<String>)> {
    let request = ValidationRequest::from_json(body).map_err(|error| (error, None))?;
    let nonce = request.nonce.clone();
    licensing
        .validate(request, meta)
        .await
        .map_err(|error| (error, nonce))
}

/// The answer with `Storno-Signature` over its exact body bytes.
async fn signed(signer: &AnswerSigner, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // A JSON answer built above, already in memory: reading it cannot wait or fail
    // short of a bug, which answers 500 rather than an unsigned answer.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return AppError::Internal("reading a validate answer to sign it".into()).into_response();
    };
    let signature = signer.header_value(clock::now(), &bytes);
    match HeaderValue::try_from(signature) {
        Ok(value) => {
            parts.headers.insert(SIGNATURE_HEADER, value);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => AppError::Internal("signature header".into()).into_response(),
    }
}
