//! `GET /api/v1/audit`: the organization's activity, newest first.

use super::service::AuditLog;
use super::AuditPageDto;
use crate::error::AppError;
use crate::http::extract::ApiMember;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    before: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(audit): State<AuditLog>,
    ApiMember(actor): ApiMember,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPageDto>, AppError> {
    let Query(query) =
        query.map_err(|_| AppError::BadRequest("limit must be a whole number".into()))?;
    Ok(Json(
        audit
            .list(&actor, query.before.as_deref(), query.limit.unwrap_or(50))
            .await?,
    ))
}
