//! `GET /api/v1/audit`: the organization's activity, newest first.

use crate::accounts::api::extract::{ApiCaller, ApiMember};
use crate::audit::service::AuditLog;
use crate::audit::AuditPageDto;
use crate::db::Page;
use crate::error::AppError;
use crate::web::api_doc::ErrorBody;
use crate::web::api_doc::OrganizationHeader;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
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
pub(crate) async fn list(
    State(audit): State<AuditLog>,
    ApiMember { actor, .. }: ApiMember,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPageDto>, AppError> {
    Ok(Json(audit.list(&actor, &AuditQuery::page(query)?).await?))
}

impl AuditQuery {
    /// The page asked for, or `400`.
    fn page(query: Result<Query<AuditQuery>, QueryRejection>) -> Result<Page, AppError> {
        let Query(query) =
            query.map_err(|_| AppError::BadRequest("limit must be a whole number".into()))?;
        Ok(Page::new(query.before, query.limit))
    }
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
pub(crate) async fn account_activity(
    State(audit): State<AuditLog>,
    ApiCaller(holder): ApiCaller,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPageDto>, AppError> {
    let page = AuditQuery::page(query)?;
    Ok(Json(audit.personal(holder.user.id, &page).await?))
}
