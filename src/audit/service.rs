//! Reading audit events (an organization's log, a key's timeline, a person's own
//! activity) and erasing expired ones; `audit_trail` writes them.

use crate::accounts::authorization::Membership;
use crate::audit::{AuditEventDto, AuditPageDto};
use crate::clock;
use crate::db::Page;
use crate::error::AppError;
use sqlx::AnyPool;
use uuid::Uuid;

#[derive(Clone)]
pub struct AuditLog {
    pool: AnyPool,
    /// Events older than this many seconds are erased (`AUDIT_RETENTION_DAYS`).
    retention_seconds: i64,
}

/// The most events one erasing statement deletes: a long backlog is erased in
/// short transactions, so the writes around it wait little.
const ERASED_PER_ROUND: i64 = 5_000;

/// The most events a key's timeline shows: its newest.
pub(crate) const TIMELINE_EVENTS: i64 = 500;

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    action: String,
    email: Option<String>,
    target_id: Option<String>,
    details: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    created_at: i64,
}

impl EventRow {
    fn into_dto(self) -> AuditEventDto {
        AuditEventDto {
            id: self.id,
            action: self.action,
            actor_email: self.email,
            target_id: self.target_id,
            details: self
                .details
                .and_then(|text| serde_json::from_str(&text).ok()),
            ip: self.ip,
            user_agent: self.user_agent,
            created_at: clock::rfc3339(self.created_at),
        }
    }
}

impl AuditLog {
    pub fn new(pool: AnyPool, retention_days: u32) -> Self {
        AuditLog {
            pool,
            retention_seconds: i64::from(retention_days) * 86_400,
        }
    }

    /// Erases the events older than the retention, a round at a time; returns
    /// how many.
    pub async fn erase_expired(&self) -> Result<u64, AppError> {
        let cutoff = clock::now() - self.retention_seconds;
        let mut erased = 0;
        loop {
            let round = sqlx::query(
                "DELETE FROM audit_events WHERE id IN \
                 (SELECT id FROM audit_events WHERE created_at < $1 LIMIT $2)",
            )
            .bind(cutoff)
            .bind(ERASED_PER_ROUND)
            .execute(&self.pool)
            .await?
            .rows_affected();
            erased += round;
            if round < ERASED_PER_ROUND as u64 {
                return Ok(erased);
            }
        }
    }

    /// Erases expired events now and every few minutes.
    pub(crate) fn spawn_sweeper(&self) {
        let log = self.clone();
        crate::db::sweep_every_few_minutes("erase expired audit events", move || {
            let log = log.clone();
            async move { log.erase_expired().await.map(drop) }
        });
    }

    /// What happened in the organization (its keys, invitations, members and
    /// settings, each with its actor), newest first, a `page` at a time. Owner only. A member's own sign-ins and tokens are not the
    /// organization's: they are only in `personal`.
    pub(crate) async fn list(
        &self,
        actor: &Membership,
        page: &Page,
    ) -> Result<AuditPageDto, AppError> {
        actor.require_owner("Only the organization owner can see its activity")?;
        // Key creations are read from the keys' own rows (their creation record),
        // except a rotation's replacement, which the rotation event names.
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.id, e.action, u.email, e.target_id, e.details, e.ip, e.user_agent, e.created_at \
             FROM ( \
               SELECT * FROM ( \
                 SELECT id, actor_user_id, action, target_id, details, ip, user_agent, created_at \
                 FROM audit_events \
                 WHERE organization_id = $1 AND id < $2 \
                 ORDER BY id DESC LIMIT $3) recorded \
               UNION ALL \
               SELECT * FROM ( \
                 SELECT k.id, k.created_by, 'license_key.created', k.id, NULL, k.created_ip, \
                        k.created_user_agent, k.created_at \
                 FROM license_keys k \
                 WHERE k.organization_id = $1 AND k.id < $2 AND NOT EXISTS \
                   (SELECT 1 FROM license_keys old WHERE old.replaced_by = k.id) \
                 ORDER BY k.id DESC LIMIT $3) created \
             ) e LEFT JOIN users u ON u.id = e.actor_user_id \
             ORDER BY e.id DESC LIMIT $3",
        )
        .bind(actor.organization_id().to_string())
        .bind(page.before())
        .bind(page.fetch())
        .fetch_all(&self.pool)
        .await?;
        Ok(events_page(page, rows))
    }

    /// One license key's story, oldest first: its creation (from its row) and
    /// every event about it (activation, new instance URL, offline licenses,
    /// rotation, revocation). Owner only; at most the newest `TIMELINE_EVENTS`.
    pub(crate) async fn key_timeline(
        &self,
        actor: &Membership,
        key_id: Uuid,
    ) -> Result<Vec<AuditEventDto>, AppError> {
        actor.require_owner("Only the organization owner can see its activity")?;
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.id, e.action, u.email, e.target_id, e.details, e.ip, e.user_agent, e.created_at \
             FROM ( \
               SELECT id, actor_user_id, action, target_id, details, ip, user_agent, created_at \
               FROM audit_events WHERE target_id = $2 AND organization_id = $1 \
               UNION ALL \
               SELECT k.id, k.created_by, 'license_key.created', k.id, NULL, k.created_ip, \
                      k.created_user_agent, k.created_at \
               FROM license_keys k WHERE k.id = $2 AND k.organization_id = $1 \
             ) e LEFT JOIN users u ON u.id = e.actor_user_id \
             ORDER BY e.id DESC LIMIT $3",
        )
        .bind(actor.organization_id().to_string())
        .bind(key_id.to_string())
        .bind(TIMELINE_EVENTS)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().rev().map(EventRow::into_dto).collect())
    }

    /// A person's own events (sign-ins, API tokens), newest first: shown to them
    /// alone, on their Account page and at `/api/v1/account/activity`.
    pub(crate) async fn personal(&self, user: Uuid, page: &Page) -> Result<AuditPageDto, AppError> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT e.id, e.action, u.email, e.target_id, e.details, e.ip, e.user_agent, e.created_at \
             FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id \
             WHERE e.actor_user_id = $1 AND e.organization_id IS NULL AND e.id < $2 \
             ORDER BY e.id DESC LIMIT $3",
        )
        .bind(user.to_string())
        .bind(page.before())
        .bind(page.fetch())
        .fetch_all(&self.pool)
        .await?;
        Ok(events_page(page, rows))
    }
}

/// The page's events, as clients see them.
fn events_page(page: &Page, rows: Vec<EventRow>) -> AuditPageDto {
    let (rows, next_before) = page.split(rows, |row| row.id.as_str());
    let events = rows.into_iter().map(EventRow::into_dto).collect();
    AuditPageDto {
        events,
        next_before,
    }
}
