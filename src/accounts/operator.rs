//! The operator's view of the whole server (the `storno-licensing org` and `user`
//! commands): find organizations and users, change an organization's plan, state
//! and dates. Not reachable over HTTP.

use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use sqlx::AnyPool;
use uuid::Uuid;

/// One organization in a listing.
#[derive(sqlx::FromRow)]
pub(crate) struct OrganizationSummary {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) plan: String,
    pub(crate) owner_email: Option<String>,
    pub(crate) keys: i64,
}

/// One user in a listing.
#[derive(sqlx::FromRow)]
pub(crate) struct UserSummary {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) created_at: i64,
    pub(crate) organizations: i64,
}

#[derive(sqlx::FromRow)]
struct OrganizationDetails {
    name: String,
    plan: String,
    owner_email: Option<String>,
    deactivated_at: Option<i64>,
    current_period_end: Option<i64>,
    trial_ends_at: Option<i64>,
    created_at: i64,
    members: i64,
    keys: i64,
    active_keys: i64,
}

/// The owner's email and the number of keys of each organization `o`, with the
/// FROM clause that finds the owner (`u`).
const OWNER_AND_KEYS: &str = "u.email AS owner_email, \
     (SELECT COUNT(*) FROM license_keys k WHERE k.organization_id = o.id) AS keys \
     FROM organizations o \
     LEFT JOIN memberships m ON m.organization_id = o.id AND m.role = 'owner' \
     LEFT JOIN users u ON u.id = m.user_id";

/// `%text%` for LIKE, lower-cased, with LIKE's own wildcards taken literally.
fn contains_pattern(search: Option<&str>) -> String {
    let text = search.unwrap_or_default().trim().to_lowercase();
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub(crate) struct OrganizationAdmin {
    pool: AnyPool,
}

impl OrganizationAdmin {
    pub(crate) fn new(pool: AnyPool) -> Self {
        OrganizationAdmin { pool }
    }

    /// Organizations, oldest first, whose name, id or owner's email contains `search`.
    pub(crate) async fn list(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<OrganizationSummary>, AppError> {
        Ok(sqlx::query_as(&format!(
            "SELECT o.id, o.name, o.plan, {OWNER_AND_KEYS} \
             WHERE LOWER(o.name) LIKE $1 ESCAPE '\\' OR o.id LIKE $1 ESCAPE '\\' \
                OR LOWER(u.email) LIKE $1 ESCAPE '\\' \
             ORDER BY o.id"
        ))
        .bind(contains_pattern(search))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every fact about one organization, as (field, value) pairs.
    pub(crate) async fn show(
        &self,
        organization: Uuid,
    ) -> Result<Vec<(&'static str, String)>, AppError> {
        let found: Option<OrganizationDetails> = sqlx::query_as(&format!(
            "SELECT o.name, o.plan, o.deactivated_at, o.current_period_end, o.trial_ends_at, \
                    o.created_at, \
                    (SELECT COUNT(*) FROM memberships a WHERE a.organization_id = o.id) AS members, \
                    (SELECT COUNT(*) FROM license_keys k WHERE k.organization_id = o.id \
                       AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > $2)) AS active_keys, \
                    {OWNER_AND_KEYS} \
             WHERE o.id = $1"
        ))
        .bind(organization.to_string())
        .bind(clock::now())
        .fetch_optional(&self.pool)
        .await?;
        let found = found.ok_or(AppError::OrganizationNotFound)?;
        let time = |at: Option<i64>| at.map_or_else(|| "none".to_string(), clock::rfc3339);
        Ok(vec![
            ("id", organization.to_string()),
            ("name", found.name),
            ("plan", found.plan),
            ("owner", found.owner_email.unwrap_or_else(|| "-".into())),
            ("active", found.deactivated_at.is_none().to_string()),
            ("current_period_end", time(found.current_period_end)),
            ("trial_ends_at", time(found.trial_ends_at)),
            ("created_at", clock::rfc3339(found.created_at)),
            ("members", found.members.to_string()),
            ("keys", found.keys.to_string()),
            ("active_keys", found.active_keys.to_string()),
        ])
    }

    /// Users, oldest first, whose email or id contains `search`.
    pub(crate) async fn users(&self, search: Option<&str>) -> Result<Vec<UserSummary>, AppError> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.email, u.created_at, \
                    (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS organizations \
             FROM users u \
             WHERE LOWER(u.email) LIKE $1 ESCAPE '\\' OR u.id LIKE $1 ESCAPE '\\' \
             ORDER BY u.id",
        )
        .bind(contains_pattern(search))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Puts the organization on `plan`, a known plan's name (`licensing::plans::known_plan`),
    /// recorded in its activity as the operator's. One with a Stripe subscription
    /// needs `override_subscription`: Stripe's next event would set its plan again.
    pub(crate) async fn set_plan(
        &self,
        organization: Uuid,
        plan: &'static str,
        override_subscription: bool,
    ) -> Result<(), AppError> {
        let mut tx = self.pool.begin().await?;
        let found: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT plan, stripe_subscription_id FROM organizations WHERE id = $1")
                .bind(organization.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let (before, subscription) = found.ok_or(AppError::OrganizationNotFound)?;
        if subscription.is_some() && !override_subscription {
            return Err(AppError::Validation(
                "this organization's plan follows its Stripe subscription, whose next event \
                 would set it again: pass --override to change it anyway"
                    .into(),
            ));
        }
        sqlx::query("UPDATE organizations SET plan = $1 WHERE id = $2")
            .bind(plan)
            .bind(organization.to_string())
            .execute(&mut *tx)
            .await?;
        if before != plan {
            let event = AuditEvent::plan_changed(organization, plan, &before, "operator");
            record(&mut tx, event, &RequestMeta::default()).await?;
        }
        tx.commit().await?;
        tracing::info!(organization_id = %organization, plan, "plan changed by an operator");
        Ok(())
    }

    pub(crate) async fn set_active(
        &self,
        organization: Uuid,
        active: bool,
    ) -> Result<(), AppError> {
        let deactivated_at = (!active).then(clock::now);
        self.update_organization("deactivated_at = $1", deactivated_at, organization)
            .await
    }

    pub(crate) async fn set_current_period_end(
        &self,
        organization: Uuid,
        end: Option<i64>,
    ) -> Result<(), AppError> {
        self.update_organization("current_period_end = $1", end, organization)
            .await
    }

    pub(crate) async fn set_trial_end(
        &self,
        organization: Uuid,
        end: Option<i64>,
    ) -> Result<(), AppError> {
        self.update_organization("trial_ends_at = $1", end, organization)
            .await
    }

    async fn update_organization<T>(
        &self,
        assignment: &'static str,
        value: T,
        organization: Uuid,
    ) -> Result<(), AppError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        let updated = sqlx::query(&format!(
            "UPDATE organizations SET {assignment} WHERE id = $2"
        ))
        .bind(value)
        .bind(organization.to_string())
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(AppError::OrganizationNotFound);
        }
        tracing::info!(organization_id = %organization, change = assignment, "organization changed by an operator");
        Ok(())
    }
}
