//! Listing an organization's keys and reading one.

use super::super::plans::PlanFeatures;
use super::*;
use crate::accounts::authorization::Membership;
use crate::clock;
use crate::db::Page;
use crate::error::AppError;
use offline_licenses::STILL_WORKING_OFFLINE_LICENSES;
use uuid::Uuid;

/// One page of keys, newest first; `next_before` asks for the older ones.
pub(crate) struct KeyPage {
    pub(crate) keys: Vec<LicenseKeyRecord>,
    pub(crate) next_before: Option<String>,
    /// Whether the organization has offline licenses that still work (read with
    /// the keys; `false` when the page has none; `list_with_offline_licenses`).
    pub(crate) has_offline_licenses: bool,
    /// Whether the organization's plan includes self-hosting (its keys validate).
    pub(crate) self_hosting: bool,
}

/// A listed key with its organization's plan's features (JSON) and how many of its
/// organization's offline licenses still work, read together.
#[derive(sqlx::FromRow)]
pub(super) struct ListedKey {
    #[sqlx(flatten)]
    pub(super) key: LicenseKeyRecord,
    pub(super) plan_features: String,
    pub(super) unexpired_offline_licenses: i64,
}

impl LicensingService {
    /// A page of the organization's keys, newest first, masked. Revoked keys stay
    /// listed.
    pub(crate) async fn list(&self, actor: &Membership, page: &Page) -> Result<KeyPage, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        // The index (organization_id, id) serves the order. The plan's features
        // (when a key is overdue) and whether any offline license still works (the
        // page reads them only then) come with each row, in the same round trip.
        let rows: Vec<ListedKey> = sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS}, ({PLAN_FEATURES_SQL}) AS plan_features, \
             (SELECT COUNT(*) FROM offline_licenses l WHERE {STILL_WORKING_OFFLINE_LICENSES}) \
             AS unexpired_offline_licenses \
             FROM license_keys \
             WHERE organization_id = $1 AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(actor.organization_id().to_string()) // $1
        .bind(clock::now()) // $2
        .bind(page.before()) // $3
        .bind(page.fetch()) // $4
        .fetch_all(&self.pool)
        .await?;
        let features = match rows.first() {
            Some(row) => parse_plan_features(&row.plan_features)?,
            None => self.plan_features(actor).await?,
        };
        let overdue_after = self.overdue_after(&features);
        let has_offline_licenses = rows
            .first()
            .is_some_and(|row| row.unexpired_offline_licenses > 0);
        let keys = rows
            .into_iter()
            .map(|row| LicenseKeyRecord {
                overdue_after,
                ..row.key
            })
            .collect();
        let (keys, next_before) = page.split(keys, |key| key.id.as_str());
        Ok(KeyPage {
            keys,
            next_before,
            has_offline_licenses,
            self_hosting: features.self_hosting_license,
        })
    }

    /// The features of the actor's organization's plan.
    pub(super) async fn plan_features(&self, actor: &Membership) -> Result<PlanFeatures, AppError> {
        let features: String = sqlx::query_scalar(PLAN_FEATURES_SQL)
            .bind(actor.organization_id().to_string())
            .fetch_one(&self.pool)
            .await?;
        parse_plan_features(&features)
    }

    /// How long an active key on a plan with `features` may stay silent before it
    /// is overdue: twice the plan's sync interval plus the operator's grace.
    pub(super) fn overdue_after(&self, features: &PlanFeatures) -> i64 {
        2 * features.sync_interval() + self.policy.overdue_grace_seconds
    }

    /// One of the organization's keys, masked.
    pub(crate) async fn get(
        &self,
        actor: &Membership,
        key_id: Uuid,
    ) -> Result<LicenseKeyRecord, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let overdue_after = self.overdue_after(&self.plan_features(actor).await?);
        self.key_record(actor, key_id, overdue_after).await
    }

    /// One of the actor's organization's keys, judged overdue after `overdue_after`.
    pub(super) async fn key_record(
        &self,
        actor: &Membership,
        key_id: Uuid,
        overdue_after: i64,
    ) -> Result<LicenseKeyRecord, AppError> {
        sqlx::query_as(&format!(
            "SELECT {KEY_COLUMNS} FROM license_keys WHERE id = $1 AND organization_id = $2"
        ))
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AppError::LicenseKeyNotFound)
        .map(|mut key: LicenseKeyRecord| {
            key.overdue_after = overdue_after;
            key
        })
    }
}
