//! Create, list, read, revoke and rotate keys: `/api/v1/licensing/keys...`.

use super::super::key::InstanceName;
use super::super::service::{CreateRequest, LicensingService, DEFAULT_GRACE_HOURS};
use super::super::{CreatedLicenseKeyDto, LicenseKeyDto};
use crate::accounts::api::extract::ApiMember;
use crate::accounts::authorization::TokenCredential;
use crate::accounts::service::AccountsService;
use crate::clock;
use crate::db::Page;
use crate::error::AppError;
use crate::idempotency::IdempotencyKey;
use crate::parse::path_id;
use crate::request_meta::RequestMeta;
use crate::web::api_doc::{ErrorBody, IdempotencyHeader, OrganizationHeader};
use crate::web::json::{whole_number, ApiJson};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateLicenseKeyRequest {
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
pub(crate) async fn create(
    State(licensing): State<LicensingService>,
    State(accounts): State<AccountsService>,
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
    let key = licensing
        .create_for_token(&accounts, &credential, request, &meta)
        .await?;
    Ok(created(key))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListResponse {
    keys: Vec<LicenseKeyDto>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    next_before: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
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
pub(crate) async fn list(
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
pub(crate) async fn get(
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
pub(crate) struct RevokedResponse {
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
pub(crate) async fn revoke(
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
pub(crate) struct RotateRequest {
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
pub(crate) async fn rotate(
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
