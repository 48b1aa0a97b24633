//! License keys: who may create and list them, and how they are stored. Both the
//! JSON API and the page call these functions, so they can never disagree.

use super::key::{InstanceName, LicenseKey};
use super::{CreatedLicenseKeyDto, LicenseKeyDto};
use crate::accounts::service::{parse_id, Membership};
use crate::clock;
use crate::error::AppError;
use crate::secrets::Pepper;
use sqlx::AnyPool;
use uuid::Uuid;

const KEY_PURPOSE: &str = "license-key";
const OWNER_ONLY: &str = "Only the organization owner can manage license keys";

#[derive(Clone)]
pub struct LicensingService {
    pool: AnyPool,
    pepper: Pepper,
}

#[derive(sqlx::FromRow)]
struct LicenseKeyRow {
    id: String,
    masked_key: String,
    instance_name: Option<String>,
    instance_url: Option<String>,
    created_at: i64,
    last_validated_at: Option<i64>,
    activated_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl LicensingService {
    pub fn new(pool: AnyPool, pepper: Pepper) -> Self {
        LicensingService { pool, pepper }
    }

    /// Creates a key for the actor's organization and returns it in full: the only
    /// time it is ever available. Only its HMAC and its masked form are stored.
    pub async fn create(
        &self,
        actor: &Membership,
        instance_name: Option<InstanceName>,
    ) -> Result<CreatedLicenseKeyDto, AppError> {
        require_owner(actor)?;
        let key = LicenseKey::generate();
        let id = Uuid::now_v7();
        let created_at = clock::now();
        sqlx::query(
            "INSERT INTO license_keys \
             (id, organization_id, key_hash, masked_key, instance_name, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(actor.organization_id().to_string())
        .bind(self.pepper.digest(KEY_PURPOSE, key.expose()))
        .bind(key.masked())
        .bind(instance_name.as_ref().map(|name| name.as_str().to_string()))
        .bind(actor.user_id().to_string())
        .bind(created_at)
        .execute(&self.pool)
        .await?;
        tracing::info!(
            license_key_id = %id,
            organization_id = %actor.organization_id(),
            user_id = %actor.user_id(),
            "license key created"
        );
        Ok(CreatedLicenseKeyDto {
            id: id.to_string(),
            license_key: key.into_string(),
            instance_name: instance_name.map(|name| name.as_str().to_string()),
            active: true,
            created_at: clock::rfc3339(created_at),
        })
    }

    /// The organization's keys, newest first, masked. Revoked keys stay listed.
    pub async fn list(&self, actor: &Membership) -> Result<Vec<LicenseKeyDto>, AppError> {
        require_owner(actor)?;
        let rows: Vec<LicenseKeyRow> = sqlx::query_as(
            "SELECT id, masked_key, instance_name, instance_url, created_at, \
                    last_validated_at, activated_at, revoked_at \
             FROM license_keys WHERE organization_id = $1 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(actor.organization_id().to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(LicenseKeyDto {
                    id: parse_id(&row.id)?.to_string(),
                    license_key: row.masked_key,
                    instance_name: row.instance_name,
                    instance_url: row.instance_url,
                    active: row.revoked_at.is_none(),
                    last_validated_at: row.last_validated_at.map(clock::rfc3339),
                    activated_at: row.activated_at.map(clock::rfc3339),
                    created_at: clock::rfc3339(row.created_at),
                })
            })
            .collect()
    }
}

fn require_owner(actor: &Membership) -> Result<(), AppError> {
    if actor.is_owner() {
        Ok(())
    } else {
        Err(AppError::Forbidden(OWNER_ONLY))
    }
}
