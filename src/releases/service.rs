//! Reading and publishing the latest release (one row).

use super::domain::{DownloadUrl, NewRelease};
use crate::clock;
use crate::error::AppError;
use serde::Serialize;
use sqlx::AnyPool;

/// The answer of `GET /api/v1/version`, as the deployed client reads it.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReleaseDto {
    pub(crate) version: String,
    pub(crate) download_url: Option<String>,
    pub(crate) web: WebReleaseDto,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebReleaseDto {
    /// The newest version of the web app.
    pub(crate) latest: String,
    /// The oldest version still supported.
    pub(crate) min: String,
    pub(crate) release_notes: Option<String>,
}

#[derive(Clone)]
pub(crate) struct ReleaseService {
    pool: AnyPool,
}

#[derive(sqlx::FromRow)]
struct ReleaseRow {
    version: String,
    download_url: Option<String>,
    web_latest: String,
    web_min: String,
    release_notes: Option<String>,
}

impl ReleaseRow {
    fn into_dto(self) -> ReleaseDto {
        ReleaseDto {
            version: self.version,
            download_url: self.download_url,
            web: WebReleaseDto {
                latest: self.web_latest,
                min: self.web_min,
                release_notes: self.release_notes,
            },
        }
    }
}

impl ReleaseService {
    pub(crate) fn new(pool: AnyPool) -> Self {
        ReleaseService { pool }
    }

    /// The latest release; `404 release_not_published` before the first.
    pub(crate) async fn latest(&self) -> Result<ReleaseDto, AppError> {
        let row: Option<ReleaseRow> = sqlx::query_as(
            "SELECT version, download_url, web_latest, web_min, release_notes \
             FROM releases WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(ReleaseRow::into_dto)
            .ok_or(AppError::ReleaseNotPublished)
    }

    /// Replaces the announced release.
    pub(crate) async fn publish(&self, release: NewRelease) -> Result<ReleaseDto, AppError> {
        let web_latest = release.web_latest.as_ref().unwrap_or(&release.version);
        sqlx::query(
            "INSERT INTO releases (id, version, download_url, web_latest, web_min, release_notes, set_at) \
             VALUES (1, $1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, \
                 download_url = excluded.download_url, web_latest = excluded.web_latest, \
                 web_min = excluded.web_min, release_notes = excluded.release_notes, \
                 set_at = excluded.set_at",
        )
        .bind(release.version.as_str()) // $1
        .bind(release.download_url.as_ref().map(DownloadUrl::as_str)) // $2
        .bind(web_latest.as_str()) // $3
        .bind(release.web_min.as_str()) // $4
        .bind(release.release_notes.clone()) // $5
        .bind(clock::now()) // $6
        .execute(&self.pool)
        .await?;
        tracing::info!(version = release.version.as_str(), "release published");
        self.latest().await
    }
}
