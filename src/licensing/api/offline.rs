//! Offline licenses and the public documents clients verify with.

use super::super::answer_signing::AnswerSigner;
use super::super::service::LicensingService;
use super::super::{IssuedOfflineLicenseDto, OfflineLicenseDto};
use crate::accounts::api::extract::ApiMember;
use crate::error::AppError;
use crate::parse::path_id;
use crate::request_meta::RequestMeta;
use crate::web::api_doc::{ErrorBody, OrganizationHeader};
use crate::web::json::{whole_number, ApiJson};
use crate::web::CACHE_PUBLIC_DOCUMENT;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OfflineLicenseRequest {
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
pub(crate) async fn issue_offline_license(
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
pub(crate) struct OfflineLicensesResponse {
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
pub(crate) async fn list_offline_licenses(
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
pub(crate) async fn public_key_pem(
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
pub(crate) async fn jwks(
    State(licensing): State<LicensingService>,
    State(signer): State<Arc<AnswerSigner>>,
) -> Response {
    let mut keys: Vec<Jwk> = signer.public_keys().cloned().collect();
    if let Ok(offline) = licensing.offline_signer() {
        keys.splice(0..0, offline.jwks().keys.iter().cloned());
    }
    (
        [(header::CACHE_CONTROL, CACHE_PUBLIC_DOCUMENT)],
        Json(JwkSet { keys }),
    )
        .into_response()
}
