//! `GET /api/v1/version`: public, and cacheable for five minutes.

use super::service::{ReleaseDto, ReleaseService};
use crate::error::AppError;
use crate::web::api_doc::ErrorBody;
use crate::web::CACHE_PUBLIC_DOCUMENT;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[utoipa::path(
    get,
    path = "/version",
    tag = "releases",
    summary = "The latest Storno release, for instances checking for updates (no authentication)",
    responses(
        (
            status = 200,
            description = "The release the operator announced; cacheable for 5 minutes",
            body = ReleaseDto,
            headers(("Cache-Control" = String, description = "public, max-age=300"))
        ),
        (status = 404, description = "No release has been announced yet", body = ErrorBody)
    )
)]
pub(crate) async fn latest(State(releases): State<ReleaseService>) -> Result<Response, AppError> {
    let release = releases.latest().await?;
    Ok((
        [(header::CACHE_CONTROL, CACHE_PUBLIC_DOCUMENT)],
        Json(release),
    )
        .into_response())
}
