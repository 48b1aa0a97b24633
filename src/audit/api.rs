//! `GET /api/v1/audit`: the organization's activity, newest first.

use super::service::AuditLog;
use super::AuditPageDto;
use crate::error::AppError;
use crate::http::extract::{ApiCaller, ApiMember, OrganizationHeader};
use crate::http::openapi::ErrorBody;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `nextBefore` of the previous page: the events older than it.
    before: Option<String>,
    /// Events per page, default 50; values outside 1 to 200 are clamped.
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    summary = "The organization's audit log, newest first (owner only)",
    params(OrganizationHeader, AuditQuery),
    responses(
        (status = 200, description = "One page of events", body = AuditPageDto),
        (status = 400, description = "A malformed `limit` or `before`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(audit): State<AuditLog>,
    ApiMember(actor): ApiMember,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPageDto>, AppError> {
    let query = AuditQuery::parse(query)?;
    Ok(Json(
        audit
            .list(&actor, query.before.as_deref(), query.limit)
            .await?,
    ))
}

impl AuditQuery {
    /// The query, or `400`; `limit` defaults to 50 (the service clamps it).
    fn parse(query: Result<Query<AuditQuery>, QueryRejection>) -> Result<PageQuery, AppError> {
        let Query(query) =
            query.map_err(|_| AppError::BadRequest("limit must be a whole number".into()))?;
        Ok(PageQuery {
            before: query.before,
            limit: query.limit.unwrap_or(50),
        })
    }
}

struct PageQuery {
    before: Option<String>,
    limit: i64,
}

#[utoipa::path(
    get,
    path = "/account/activity",
    tag = "audit",
    summary = "The caller's own sign-ins and API tokens, newest first (theirs alone)",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of events", body = AuditPageDto),
        (status = 400, description = "A malformed `limit`", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub async fn account_activity(
    State(audit): State<AuditLog>,
    ApiCaller(holder): ApiCaller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditPageDto>, AppError> {
    let Query(query) =
        query.map_err(|_| AppError::BadRequest("limit must be a whole number".into()))?;
    Ok(Json(
        audit
            .personal(
                holder.user.id,
                query.before.as_deref(),
                query.limit.unwrap_or(50),
            )
            .await?,
    ))
}
