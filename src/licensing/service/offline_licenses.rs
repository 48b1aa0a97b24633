//! Offline licenses: issued for one of the organization's keys, signed with the
//! operator's key, recorded (never the token itself) and listed beside the key.

use super::*;
use crate::licensing::offline::OfflineClaims;
use crate::licensing::{IssuedOfflineLicenseDto, OfflineLicenseDto};

const DEFAULT_OFFLINE_DAYS: i64 = 30;
const MAX_OFFLINE_DAYS: i64 = 365;
/// The page lists at most this many unexpired offline licenses.
const LISTED_AT_MOST: i64 = 500;

/// The offline licenses of organization `$1` that still work at time `$2` (table
/// alias `l`): what the keys page lists, and what the keys' query counts to know
/// whether to list any.
pub(super) const STILL_WORKING_OFFLINE_LICENSES: &str =
    "l.organization_id = $1 AND l.expires_at > $2";

const OFFLINE_COLUMNS: &str = "l.id, l.license_key_id, l.plan, l.issued_at, l.expires_at, \
     u.email AS issued_by FROM offline_licenses l LEFT JOIN users u ON u.id = l.issued_by";

/// An issued offline license as stored: who, when, until when, for which key.
#[derive(sqlx::FromRow)]
pub(crate) struct OfflineLicenseRecord {
    id: String,
    license_key_id: String,
    plan: String,
    issued_at: i64,
    expires_at: i64,
    issued_by: Option<String>,
}

impl OfflineLicenseRecord {
    pub(crate) fn to_dto(&self) -> OfflineLicenseDto {
        OfflineLicenseDto {
            id: self.id.clone(),
            license_key_id: self.license_key_id.clone(),
            plan: self.plan.clone(),
            issued_at: clock::rfc3339(self.issued_at),
            expires_at: clock::rfc3339(self.expires_at),
            issued_by: self.issued_by.clone(),
        }
    }
}

/// An offline license about to be recorded.
struct Issued {
    id: String,
    key_id: Uuid,
    plan: String,
    issued_at: i64,
    expires_at: i64,
}

/// The plan a key's offline license carries: as a validation would decide it now,
/// refused for a revoked key (`409`) or, as validation refuses it, a plan without
/// self-hosting.
fn offline_verdict(row: &ValidationRow, now: i64, billing_url: &str) -> Result<Verdict, AppError> {
    decide(row, None, now)
        .map_err(|refusal| match refusal {
            AppError::InvalidLicenseKey => AppError::LicenseKeyRevoked,
            other => other,
        })?
        .require_self_hosting(billing_url)
}

/// How long an offline license lasts: 1 to 365 days, 30 unless asked.
fn lifetime_days(days: Option<i64>) -> Result<i64, AppError> {
    match days.unwrap_or(DEFAULT_OFFLINE_DAYS) {
        days @ 1..=MAX_OFFLINE_DAYS => Ok(days),
        other => Err(AppError::Validation(format!(
            "days must be a whole number from 1 to {MAX_OFFLINE_DAYS}, got {other}"
        ))),
    }
}

impl LicensingService {
    /// Signs an offline license for one of the organization's keys, with the
    /// organization's plan as a validation would report it now. A revoked key is
    /// `409`; a plan without self-hosting is refused as validation refuses it.
    pub(crate) async fn issue_offline_license(
        &self,
        actor: &Membership,
        key_id: Uuid,
        days: Option<i64>,
        meta: &RequestMeta,
    ) -> Result<IssuedOfflineLicenseDto, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let days = lifetime_days(days)?;
        let signer = self.offline_signer()?;
        let row = self.key_with_plan(actor, key_id).await?;
        let now = clock::now();
        let verdict = offline_verdict(&row, now, &self.billing_url(meta))?;
        let issued = Issued {
            id: Uuid::now_v7().to_string(),
            key_id,
            plan: verdict.plan.clone(),
            issued_at: now,
            expires_at: now + days * 86_400,
        };
        let jwt = signer
            .sign(&OfflineClaims {
                iss: &signer.issuer,
                sub: &row.organization_id,
                jti: &issued.id,
                plan: &verdict.plan,
                features: &verdict.features,
                org_name: &row.name,
                iat: issued.issued_at,
                exp: issued.expires_at,
            })
            .map_err(AppError::Internal)?;
        self.record_issued(actor, &issued, meta).await?;
        tracing::info!(license_key_id = %key_id, offline_license_id = %issued.id, days, "offline license issued");
        Ok(IssuedOfflineLicenseDto {
            jwt,
            expires_at: clock::rfc3339(issued.expires_at),
            plan: issued.plan,
        })
    }

    /// One of the organization's keys with what `decide` needs.
    async fn key_with_plan(
        &self,
        actor: &Membership,
        key_id: Uuid,
    ) -> Result<ValidationRow, AppError> {
        sqlx::query_as(concat!(
            validation_row_select!(),
            "WHERE k.id = $1 AND k.organization_id = $2"
        ))
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AppError::LicenseKeyNotFound)
    }

    /// The issued license's record and its audit event, together.
    async fn record_issued(
        &self,
        actor: &Membership,
        issued: &Issued,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query(
            "INSERT INTO offline_licenses \
             (id, license_key_id, organization_id, issued_by, plan, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&issued.id) // $1
        .bind(issued.key_id.to_string()) // $2
        .bind(actor.organization_id().to_string()) // $3
        .bind(actor.user_id().to_string()) // $4
        .bind(&issued.plan) // $5
        .bind(issued.issued_at) // $6
        .bind(issued.expires_at) // $7
        .execute(&mut *tx)
        .await?;
        let event = actor
            .audit_event(
                "license_key.offline_license_issued",
                issued.key_id.to_string(),
            )
            .with_details(json!({
                "offlineLicenseId": issued.id,
                "plan": issued.plan,
                "expiresAt": clock::rfc3339(issued.expires_at),
            }));
        record(&mut tx, event, meta).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every offline license issued for one of the organization's keys, newest first.
    pub(crate) async fn offline_licenses(
        &self,
        actor: &Membership,
        key_id: Uuid,
    ) -> Result<Vec<OfflineLicenseRecord>, AppError> {
        self.get(actor, key_id).await?;
        Ok(sqlx::query_as(&format!(
            "SELECT {OFFLINE_COLUMNS} WHERE l.license_key_id = $1 AND l.organization_id = $2 \
             ORDER BY l.id DESC LIMIT {LISTED_AT_MOST}"
        ))
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_all(&self.pool)
        .await?)
    }

    /// A page of the organization's keys and its offline licenses that still work,
    /// as the keys page shows them: the licenses are read only when the keys' query
    /// found some (most organizations have none).
    pub(crate) async fn list_with_offline_licenses(
        &self,
        actor: &Membership,
        page: &Page,
    ) -> Result<(KeyPage, Vec<OfflineLicenseRecord>), AppError> {
        let keys = self.list(actor, page).await?;
        let offline = if keys.has_offline_licenses {
            self.unexpired_offline_licenses(actor, None).await?
        } else {
            Vec::new()
        };
        Ok((keys, offline))
    }

    /// The organization's offline licenses that still work, newest first: they
    /// cannot be recalled, so the page shows them beside their keys.
    pub(crate) async fn unexpired_offline_licenses(
        &self,
        actor: &Membership,
        key_id: Option<Uuid>,
    ) -> Result<Vec<OfflineLicenseRecord>, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        Ok(sqlx::query_as(&format!(
            "SELECT {OFFLINE_COLUMNS} WHERE {STILL_WORKING_OFFLINE_LICENSES} \
             AND ($3 IS NULL OR l.license_key_id = $3) ORDER BY l.id DESC LIMIT {LISTED_AT_MOST}"
        ))
        .bind(actor.organization_id().to_string()) // $1
        .bind(clock::now()) // $2
        .bind(key_id.map(|id| id.to_string())) // $3
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether offline licenses can be issued here (a signing key is configured).
    pub(crate) fn offline_licenses_enabled(&self) -> bool {
        self.offline.is_some()
    }

    /// The signing key's public half, for instances to embed.
    pub(crate) fn offline_signer(&self) -> Result<&OfflineSigner, AppError> {
        self.offline
            .as_deref()
            .ok_or(AppError::OfflineLicensesDisabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offline_license_lasts_1_to_365_days_30_by_default() {
        assert_eq!(lifetime_days(None).unwrap(), 30);
        assert_eq!(lifetime_days(Some(1)).unwrap(), 1);
        assert_eq!(lifetime_days(Some(365)).unwrap(), 365);
        for refused in [0, -1, 366, i64::MAX] {
            assert!(matches!(
                lifetime_days(Some(refused)),
                Err(AppError::Validation(_))
            ));
        }
    }
}
