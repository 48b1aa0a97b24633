//! Writing the audit log: an event is recorded inside the transaction of the change
//! it describes, so the log never tells of a change that did not happen. Reading it
//! (pages, API, retention) is the `audit` feature's.

use crate::clock;
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use sqlx::AnyConnection;
use uuid::Uuid;

/// An event to record. `organization` is `None` for events of a person (sign-in,
/// tokens) rather than of an organization.
pub(crate) struct AuditEvent {
    pub(crate) organization: Option<Uuid>,
    pub(crate) actor: Option<Uuid>,
    pub(crate) action: &'static str,
    pub(crate) target: Option<String>,
    pub(crate) details: Option<serde_json::Value>,
}

impl AuditEvent {
    /// A member's action on their organization.
    pub(crate) fn in_organization(
        organization: Uuid,
        actor: Uuid,
        action: &'static str,
        target: String,
    ) -> Self {
        AuditEvent {
            organization: Some(organization),
            actor: Some(actor),
            action,
            target: Some(target),
            details: None,
        }
    }

    /// An organization moved from plan `from` to `plan` by `by` (`stripe`, `operator`),
    /// as the Activity page reads it.
    pub(crate) fn plan_changed(
        organization: Uuid,
        plan: &str,
        from: &str,
        by: &'static str,
    ) -> Self {
        AuditEvent {
            organization: Some(organization),
            actor: None,
            action: "organization.plan_changed",
            target: Some(organization.to_string()),
            details: Some(serde_json::json!({"plan": plan, "from": from, "by": by})),
        }
    }

    pub(crate) fn with_details(self, details: serde_json::Value) -> Self {
        AuditEvent {
            details: Some(details),
            ..self
        }
    }
}

pub(crate) async fn record(
    connection: &mut AnyConnection,
    event: AuditEvent,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO audit_events \
         (id, organization_id, actor_user_id, action, target_id, details, ip, user_agent, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(event.organization.map(|id| id.to_string()))
    .bind(event.actor.map(|id| id.to_string()))
    .bind(event.action)
    .bind(event.target)
    .bind(event.details.map(|details| details.to_string()))
    .bind(meta.ip.clone())
    .bind(meta.user_agent.clone())
    .bind(clock::now())
    .execute(connection)
    .await?;
    Ok(())
}
