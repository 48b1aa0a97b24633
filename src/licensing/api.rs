//! `/api/v1/licensing/*`: parse, call the service, answer.

use super::key::InstanceName;
use super::service::LicensingService;
use super::{CreatedLicenseKeyDto, LicenseKeyDto};
use crate::error::AppError;
use crate::http::extract::{ApiJson, ApiMember};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLicenseKeyRequest {
    #[serde(default)]
    instance_name: Option<String>,
}

pub async fn create(
    State(licensing): State<LicensingService>,
    ApiMember(actor): ApiMember,
    ApiJson(body): ApiJson<CreateLicenseKeyRequest>,
) -> Result<Response, AppError> {
    let instance_name = match body.instance_name.as_deref() {
        Some(raw) => InstanceName::parse(raw)?,
        None => None,
    };
    let created: CreatedLicenseKeyDto = licensing.create(&actor, instance_name).await?;
    let location = format!("/api/v1/licensing/keys/{}", created.id);
    Ok((
        StatusCode::CREATED,
        // `Cache-Control: no-store` is set on every API response (http::middleware).
        [(header::LOCATION, location)],
        Json(created),
    )
        .into_response())
}

#[derive(Serialize)]
pub struct ListResponse {
    keys: Vec<LicenseKeyDto>,
}

pub async fn list(
    State(licensing): State<LicensingService>,
    ApiMember(actor): ApiMember,
) -> Result<Json<ListResponse>, AppError> {
    Ok(Json(ListResponse {
        keys: licensing.list(&actor).await?,
    }))
}
