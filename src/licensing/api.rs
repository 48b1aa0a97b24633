//! `/api/v1/licensing/*`: parse, call the service, answer.

use super::key::InstanceName;
use super::plans::InstanceMetrics;
use super::service::{LicensingService, ValidationRequest, DEFAULT_GRACE_HOURS};
use super::{CreatedLicenseKeyDto, LicenseKeyDto, ValidationDto};
use crate::audit::service::RequestMeta;
use crate::clock;
use crate::error::AppError;
use crate::http::extract::{ApiCredentials, ApiJson, ApiMember};
use crate::http::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLicenseKeyRequest {
    #[serde(default)]
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

pub async fn create(
    State(state): State<AppState>,
    credentials: ApiCredentials,
    meta: RequestMeta,
    body: Result<ApiJson<CreateLicenseKeyRequest>, AppError>,
) -> Result<Response, AppError> {
    let instance_name = match body.and_then(|ApiJson(body)| parse_instance_name(body)) {
        Ok(name) => name,
        Err(invalid) => {
            // Who is asking is answered before what they sent, as on every endpoint.
            credentials.member(&state).await?;
            return Err(invalid);
        }
    };
    let credential = state
        .accounts
        .token_credential(&credentials.token, credentials.requested);
    let fast = state
        .licensing
        .create_with_token(&credential, instance_name.clone(), &meta)
        .await?;
    let key = match fast {
        Some(key) => key,
        None => {
            let actor = credentials.member(&state).await?;
            state.licensing.create(&actor, instance_name, &meta).await?
        }
    };
    Ok(created(key))
}

fn parse_instance_name(body: CreateLicenseKeyRequest) -> Result<Option<InstanceName>, AppError> {
    match body.instance_name.as_deref() {
        Some(raw) => Ok(InstanceName::parse(raw)?),
        None => Ok(None),
    }
}

#[derive(Serialize)]
pub struct ListResponse {
    keys: Vec<LicenseKeyDto>,
}

pub async fn list(
    State(licensing): State<LicensingService>,
    ApiMember(actor): ApiMember,
) -> Result<Json<ListResponse>, AppError> {
    let now = clock::now();
    let keys = licensing.list(&actor).await?;
    Ok(Json(ListResponse {
        keys: keys.iter().map(|key| key.to_dto(now)).collect(),
    }))
}

pub async fn revoke(
    State(licensing): State<LicensingService>,
    ApiMember(actor): ApiMember,
    meta: RequestMeta,
    Path(key_id): Path<String>,
) -> Result<Json<Value>, AppError> {
    licensing.revoke(&actor, &key_id, &meta).await?;
    Ok(Json(json!({"status": "revoked"})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateRequest {
    #[serde(default)]
    grace_period_hours: Option<i64>,
}

pub async fn rotate(
    State(licensing): State<LicensingService>,
    ApiMember(actor): ApiMember,
    meta: RequestMeta,
    Path(key_id): Path<String>,
    ApiJson(body): ApiJson<RotateRequest>,
) -> Result<Response, AppError> {
    let grace = body.grace_period_hours.unwrap_or(DEFAULT_GRACE_HOURS);
    Ok(created(
        licensing.rotate(&actor, &key_id, grace, &meta).await?,
    ))
}

/// Unauthenticated: the key is the credential. Deployed clients of every version
/// call this, so unknown fields are ignored and mistyped optional ones dropped.
pub async fn validate(
    State(state): State<AppState>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ValidationDto>, AppError> {
    let body = body.map_err(|_| AppError::PayloadTooLarge)?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|_| AppError::BadRequest("licenseKey is required".into()))?;
    let text = |name: &str, max_chars: usize| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty() && !text.chars().any(char::is_control))
            .map(|text| text.chars().take(max_chars).collect::<String>())
    };
    let request = ValidationRequest {
        license_key: value
            .get("licenseKey")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        instance_name: text("instanceName", InstanceName::MAX_CHARS),
        instance_url: text("instanceUrl", 2048),
        metrics: value.get("metrics").and_then(InstanceMetrics::from_json),
    };
    let base_url = match &state.settings.public_url {
        Some(url) => url.clone(),
        None => format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .unwrap_or("localhost")
        ),
    };
    Ok(Json(
        state.licensing.validate(request, &base_url, &meta).await?,
    ))
}
