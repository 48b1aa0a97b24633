//! Revoking and rotating a key.

use super::super::CreatedLicenseKeyDto;
use super::*;
use crate::accounts::authorization::Membership;
use crate::audit_trail::record;
use crate::clock;
use crate::db::begin_write;
use crate::error::AppError;
use crate::idempotency::{IdempotencyKey, IdempotentRequest};
use crate::request_meta::RequestMeta;
use serde_json::json;
use uuid::Uuid;

impl LicensingService {
    /// Revokes a key for good: it stays listed, inactive. Revoking twice is harmless.
    /// Its offline licenses cannot be recalled: they work until they expire.
    pub(crate) async fn revoke(
        &self,
        actor: &Membership,
        key_id: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let existing: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT revoked_at FROM license_keys WHERE id = $1 AND organization_id = $2",
        )
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let (revoked_at,) = existing.ok_or(AppError::LicenseKeyNotFound)?;
        match revoked_at {
            None => self.mark_revoked(tx, actor, key_id, meta).await,
            Some(_) => Ok(tx.rollback().await?),
        }
    }

    pub(super) async fn mark_revoked(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        actor: &Membership,
        key_id: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        sqlx::query("UPDATE license_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(clock::now())
            .bind(key_id.to_string())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            actor.audit_event("license_key.revoked", key_id.to_string()),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(license_key_id = %key_id, "license key revoked");
        Ok(())
    }

    /// Replaces a key: the new one is returned once; the old one keeps validating
    /// for `grace_hours` (0 = stops at once), then stops.
    pub(crate) async fn rotate(
        &self,
        actor: &Membership,
        key_id: Uuid,
        grace_hours: i64,
        meta: &RequestMeta,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        if !(0..=MAX_GRACE_HOURS).contains(&grace_hours) {
            return Err(AppError::Validation(format!(
                "gracePeriodHours must be between 0 and {MAX_GRACE_HOURS}"
            )));
        }
        let idempotent = idempotency_key.map(|key| {
            self.idempotency.request(
                key,
                actor.user_id(),
                &format!("rotate key {key_id} in {}", actor.organization_id()),
                &json!({ "gracePeriodHours": grace_hours }),
            )
        });
        IdempotentRequest::once(idempotent.as_ref(), |request| {
            self.rotate_once(actor, key_id, grace_hours, meta, request)
        })
        .await
    }

    /// Rotates the key; with `idempotent`, keeps the answer for replay in the same
    /// transaction.
    pub(super) async fn rotate_once(
        &self,
        actor: &Membership,
        key_id: Uuid,
        grace_hours: i64,
        meta: &RequestMeta,
        idempotent: Option<&IdempotentRequest>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let existing: Option<RotatedKeyRow> = sqlx::query_as(
            "SELECT revoked_at, expires_at, instance_name FROM license_keys \
             WHERE id = $1 AND organization_id = $2",
        )
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let existing = existing.ok_or(AppError::LicenseKeyNotFound)?;
        if existing.revoked_at.is_some() || existing.expires_at.is_some() {
            return Err(AppError::LicenseKeyInactive);
        }
        let mut created = self
            .insert_key(&mut *tx, actor, existing.instance_name, meta)
            .await?;
        retire(&mut tx, key_id, &created.id, grace_hours).await?;
        record(
            &mut tx,
            actor
                .audit_event("license_key.rotated", key_id.to_string())
                .with_details(json!({"replacedBy": created.id, "gracePeriodHours": grace_hours})),
            meta,
        )
        .await?;
        created.replaces = Some(key_id.to_string());
        if let Some(request) = idempotent {
            request.save(&mut tx, &created).await?;
        }
        tx.commit().await?;
        tracing::info!(license_key_id = %key_id, replaced_by = %created.id, grace_hours, "license key rotated");
        Ok(created)
    }
}

/// The key a rotation replaces, as it stands.
#[derive(sqlx::FromRow)]
pub(super) struct RotatedKeyRow {
    pub(super) revoked_at: Option<i64>,
    pub(super) expires_at: Option<i64>,
    pub(super) instance_name: Option<String>,
}

/// Marks `key_id` as replaced by `replacement`: it validates for `grace_hours`
/// more (0: stops at once). The condition makes a concurrent second rotation of
/// the same key fail.
pub(super) async fn retire(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key_id: Uuid,
    replacement: &str,
    grace_hours: i64,
) -> Result<(), AppError> {
    let now = clock::now();
    let (revoked_at, expires_at) = if grace_hours == 0 {
        (Some(now), None)
    } else {
        (None, Some(now + grace_hours * 3600))
    };
    let updated = sqlx::query(
        "UPDATE license_keys SET revoked_at = $1, expires_at = $2, replaced_by = $3 \
         WHERE id = $4 AND revoked_at IS NULL AND expires_at IS NULL",
    )
    .bind(revoked_at) // $1
    .bind(expires_at) // $2
    .bind(replacement) // $3
    .bind(key_id.to_string()) // $4
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(AppError::LicenseKeyInactive);
    }
    Ok(())
}
