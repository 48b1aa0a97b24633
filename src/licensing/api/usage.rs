//! `GET /api/v1/licensing/keys/{id}/usage`: a key's days of use.

use super::super::service::LicensingService;
use super::super::usage::{UsageDto, DEFAULT_DAYS, MAX_DAYS};
use crate::accounts::api::extract::ApiMember;
use crate::error::AppError;
use crate::parse::path_id;
use crate::web::api_doc::{ErrorBody, OrganizationHeader};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UsageQuery {
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
pub(crate) async fn usage(
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
