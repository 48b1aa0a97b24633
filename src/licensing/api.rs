//! `/api/v1/licensing/*`: parse, call the service, answer.

use super::answer_signing::{AnswerSigner, SIGNATURE_HEADER};
use super::key::InstanceName;
use super::plans::InstanceMetrics;
use super::service::{CreateRequest, LicensingService, ValidationRequest, DEFAULT_GRACE_HOURS};
use super::usage::{UsageDto, DEFAULT_DAYS, MAX_DAYS};
use super::{
    CreatedLicenseKeyDto, IssuedOfflineLicenseDto, LicenseKeyDto, OfflineLicenseDto, ValidationDto,
};
use crate::authorization::TokenCredential;
use crate::clock;
use crate::db::Page;
use crate::error::AppError;
use crate::http::extract::{
    whole_number, ApiJson, ApiMember, IdempotencyHeader, OrganizationHeader,
};
use crate::http::middleware::CACHE_PUBLIC_DOCUMENT;
use crate::http::openapi::{ErrorBody, InvalidLicenseBody, RefusedLicenseBody, ValidateErrorBody};
use crate::idempotency::IdempotencyKey;
use crate::parse::path_id;
use crate::request_meta::RequestMeta;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLicenseKeyRequest {
    /// A label for the instance; trimmed, blank means none.
    #[serde(default)]
    #[schema(
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF]*$"
    )]
    instance_name: Option<String>,
}

/// `201` with a `Location` naming the new key. `Cache-Control: no-store` is set on
/// every API response (http::middleware).
fn created(key: CreatedLicenseKeyDto) -> Response {
    let location = format!("/api/v1/licensing/keys/{}", key.id);
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(key),
    )
        .into_response()
}

#[utoipa::path(
    post,
    path = "/licensing/keys",
    tag = "licensing",
    summary = "Create a license key (owner only); the only answer that shows it in full",
    params(OrganizationHeader, IdempotencyHeader),
    request_body(content = Option<CreateLicenseKeyRequest>, description = "Optional: may be absent or {}"),
    responses(
        (
            status = 201,
            description = "Created. `Cache-Control: no-store`: the key is never shown again",
            body = CreatedLicenseKeyDto,
            headers(("Location" = String, description = "The new key: /api/v1/licensing/keys/{id}"))
        ),
        (
            status = 429,
            description = "The organization created keys faster than `RATE_LIMIT_KEYS_PER_ORGANIZATION` a minute (a rate: the number of keys has no limit)",
            body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))
        )
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    credential: TokenCredential,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<ApiJson<CreateLicenseKeyRequest>, AppError>,
) -> Result<Response, AppError> {
    // Input errors are handed on, not returned: who is asking is answered first.
    let request = body.and_then(|ApiJson(body)| {
        Ok(CreateRequest {
            instance_name: body
                .instance_name
                .as_deref()
                .map(InstanceName::parse)
                .transpose()?
                .flatten(),
            idempotency_key: IdempotencyKey::from_headers(&headers, &credential.token_hash)?,
        })
    });
    let key = state
        .licensing
        .create_for_token(&state.accounts, &credential, request, &meta)
        .await?;
    Ok(created(key))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse {
    keys: Vec<LicenseKeyDto>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    next_before: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `nextBefore` of the previous page: the keys older than that key.
    before: Option<Uuid>,
    /// Keys per page, default 50; values outside 1 to 200 are clamped.
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/licensing/keys",
    tag = "licensing",
    summary = "The organization's keys, newest first, masked, a page at a time (owner only)",
    params(OrganizationHeader, ListQuery),
    responses(
        (status = 200, description = "One page of keys", body = ListResponse),
        (status = 400, description = "A `limit` that is not a whole number or a `before` that is not a key id", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(licensing): State<LicensingService>,
    ApiMember { actor, .. }: ApiMember,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ListResponse>, AppError> {
    let Query(query) = query.map_err(|_| {
        AppError::BadRequest("limit must be a whole number and before a key id".into())
    })?;
    let now = clock::now();
    let page = licensing
        .list(
            &actor,
            &Page::new(query.before.map(|id| id.to_string()), query.limit),
        )
        .await?;
    Ok(Json(ListResponse {
        keys: page.keys.iter().map(|key| key.to_dto(now)).collect(),
        next_before: page.next_before,
    }))
}

#[utoipa::path(
    get,
    path = "/licensing/keys/{id}",
    tag = "licensing",
    summary = "One key, masked (owner only)",
    params(OrganizationHeader, ("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The key", body = LicenseKeyDto),
        (status = 404, description = "No such key in this organization, or no such organization", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(licensing): State<LicensingService>,
    ApiMember { actor, .. }: ApiMember,
    Path(key_id): Path<String>,
) -> Result<Json<LicenseKeyDto>, AppError> {
    let key_id = path_id(&key_id, AppError::LicenseKeyNotFound)?;
    Ok(Json(
        licensing.get(&actor, key_id).await?.to_dto(clock::now()),
    ))
}

/// Exactly the contract's `{"status": "revoked"}`; the key's offline licenses,
/// which a revocation cannot recall, are listed at `GET .../jwt`.
#[derive(Serialize, ToSchema)]
pub struct RevokedResponse {
    #[schema(example = "revoked")]
    status: &'static str,
}

#[utoipa::path(
    delete,
    path = "/licensing/keys/{id}",
    tag = "licensing",
    summary = "Revoke a key for good; it stays listed, inactive (owner only)",
    params(OrganizationHeader, ("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "Revoked (also when it already was); its offline licenses work until they expire (`GET .../jwt`)", body = RevokedResponse),
        (status = 404, description = "No such key in this organization, or no such organization", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(licensing): State<LicensingService>,
    ApiMember { actor, .. }: ApiMember,
    meta: RequestMeta,
    Path(key_id): Path<String>,
) -> Result<Json<RevokedResponse>, AppError> {
    let key_id = path_id(&key_id, AppError::LicenseKeyNotFound)?;
    licensing.revoke(&actor, key_id, &meta).await?;
    Ok(Json(RevokedResponse { status: "revoked" }))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the old key keeps validating: 0 ends it at once. Default 24.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 0, maximum = 720)]
    grace_period_hours: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/licensing/keys/{id}/rotate",
    tag = "licensing",
    summary = "Replace a key with a new one; the old one validates until the grace period ends (owner only)",
    params(OrganizationHeader, IdempotencyHeader, ("id" = String, Path, description = "The key to replace")),
    request_body(content = Option<RotateRequest>, description = "Optional: may be absent or {}"),
    responses(
        (
            status = 201,
            description = "The new key, in full, once; `replaces` names the old one",
            body = CreatedLicenseKeyDto,
            headers(("Location" = String, description = "The new key"))
        ),
        (status = 404, description = "No such key in this organization, or no such organization", body = ErrorBody),
        (status = 409, description = "The key is revoked or already being replaced", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn rotate(
    State(licensing): State<LicensingService>,
    ApiMember { actor, credential }: ApiMember,
    meta: RequestMeta,
    headers: HeaderMap,
    Path(key_id): Path<String>,
    ApiJson(body): ApiJson<RotateRequest>,
) -> Result<Response, AppError> {
    let key_id = path_id(&key_id, AppError::LicenseKeyNotFound)?;
    let grace = body.grace_period_hours.unwrap_or(DEFAULT_GRACE_HOURS);
    let idempotency_key = IdempotencyKey::from_headers(&headers, &credential.token_hash)?;
    let new_key = licensing
        .rotate(&actor, key_id, grace, &meta, idempotency_key.as_ref())
        .await?;
    Ok(created(new_key))
}

/// What a self-hosted instance sends. Fields beyond these are ignored, and optional
/// ones of the wrong type are dropped: deployed clients of every version call this.
/// (Documentation only: the handler reads the body leniently, field by field.)
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ValidateRequest {
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
pub async fn validate(
    State(state): State<AppState>,
    meta: RequestMeta,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = match body {
        Ok(body) => answer_validation(&state.licensing, &meta, &body).await,
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
    signed(&state.answer_signer, response).await
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

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OfflineLicenseRequest {
    /// How long the license lasts, 1 to 365 days; default 30.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(minimum = 1, maximum = 365)]
    days: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/licensing/keys/{id}/jwt",
    tag = "licensing",
    summary = "Issue an offline license for a key: an RS256 JWT an instance verifies without calling this server (owner only)",
    params(OrganizationHeader, ("id" = String, Path, description = "The key's id")),
    request_body(content = Option<OfflineLicenseRequest>, description = "Optional: may be absent or {}"),
    responses(
        (status = 201, description = "The license, shown once (`Cache-Control: no-store`)", body = IssuedOfflineLicenseDto),
        (status = 403, description = "Not the owner, or the plan does not include self-hosting", body = ErrorBody),
        (status = 404, description = "No such key in this organization, or no such organization", body = ErrorBody),
        (status = 409, description = "The key is revoked or expired (`license_key_revoked`)", body = ErrorBody),
        (status = 503, description = "No signing key is configured (`offline_licenses_disabled`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn issue_offline_license(
    State(licensing): State<LicensingService>,
    ApiMember { actor, .. }: ApiMember,
    meta: RequestMeta,
    Path(key_id): Path<String>,
    ApiJson(body): ApiJson<OfflineLicenseRequest>,
) -> Result<Response, AppError> {
    let key_id = path_id(&key_id, AppError::LicenseKeyNotFound)?;
    let issued = licensing
        .issue_offline_license(&actor, key_id, body.days, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfflineLicensesResponse {
    offline_licenses: Vec<OfflineLicenseDto>,
}

#[utoipa::path(
    get,
    path = "/licensing/keys/{id}/jwt",
    tag = "licensing",
    summary = "The offline licenses issued for a key, newest first: who, when, until when (owner only)",
    params(OrganizationHeader, ("id" = String, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The issued licenses (never the tokens)", body = OfflineLicensesResponse),
        (status = 404, description = "No such key in this organization, or no such organization", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn list_offline_licenses(
    State(licensing): State<LicensingService>,
    ApiMember { actor, .. }: ApiMember,
    Path(key_id): Path<String>,
) -> Result<Json<OfflineLicensesResponse>, AppError> {
    let key_id = path_id(&key_id, AppError::LicenseKeyNotFound)?;
    let issued = licensing.offline_licenses(&actor, key_id).await?;
    Ok(Json(OfflineLicensesResponse {
        offline_licenses: issued.iter().map(|l| l.to_dto()).collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/licensing/public-key.pem",
    tag = "licensing",
    summary = "The public key that verifies offline licenses, as PEM (also at /.well-known/jwks.json)",
    responses(
        (status = 200, description = "SubjectPublicKeyInfo PEM", content_type = "application/x-pem-file", body = String),
        (status = 503, description = "No signing key is configured", body = ErrorBody)
    )
)]
pub async fn public_key_pem(
    State(licensing): State<LicensingService>,
) -> Result<Response, AppError> {
    let pem = licensing.offline_signer()?.public_key_pem().to_string();
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-pem-file"),
            (header::CACHE_CONTROL, CACHE_PUBLIC_DOCUMENT),
        ],
        pem,
    )
        .into_response())
}

/// `/.well-known/jwks.json`: the public keys clients verify with: the offline
/// licenses' RSA key (when configured) and every Ed25519 key that signs, or
/// signed, validate's answers.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let mut keys: Vec<Jwk> = state.answer_signer.public_keys().cloned().collect();
    if let Ok(offline) = state.licensing.offline_signer() {
        keys.splice(0..0, offline.jwks().keys.iter().cloned());
    }
    (
        [(header::CACHE_CONTROL, CACHE_PUBLIC_DOCUMENT)],
        Json(JwkSet { keys }),
    )
        .into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// How many days back from today (UTC), 1 to 400; default 90.
    #[param(minimum = 1, maximum = 400)]
    days: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/licensing/keys/{id}/usage",
    tag = "licensing",
    summary = "A key's usage per UTC day: validations, instance URLs, max and last of each metric, violations; oldest first, days without validations left out (owner only)",
    params(OrganizationHeader, ("id" = String, Path, description = "The key's id"), UsageQuery),
    responses(
        (status = 200, description = "The days with validations", body = UsageDto),
        (status = 400, description = "`days` is not a whole number from 1 to 400", body = ErrorBody),
        (status = 404, description = "No such key in this organization, or no such organization", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn usage(
    State(licensing): State<LicensingService>,
    ApiMember { actor, .. }: ApiMember,
    Path(key_id): Path<String>,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<UsageDto>, AppError> {
    let key_id = path_id(&key_id, AppError::LicenseKeyNotFound)?;
    let days = match query {
        Ok(Query(UsageQuery { days: None })) => DEFAULT_DAYS,
        Ok(Query(UsageQuery {
            days: Some(days @ 1..=MAX_DAYS),
        })) => days,
        _ => {
            return Err(AppError::BadRequest(
                "days must be a whole number from 1 to 400".into(),
            ))
        }
    };
    let days = licensing.usage(&actor, key_id, days).await?;
    Ok(Json(UsageDto { days }))
}
