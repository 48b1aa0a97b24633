//! Who belongs to an organization, by consent: the owner invites an email, the
//! person with that email accepts or declines; members leave, the owner removes
//! them, changes their role or hands ownership to an admin. Every change lands
//! with its audit event.

use super::AccountsService;
use crate::accounts::authorization::{stored_role, Membership};
use crate::accounts::domain::Role;
use crate::accounts::MemberDto;
use crate::audit_trail::record;
use crate::clock;
use crate::db::{begin_write, sweep_every_few_minutes};
use crate::error::AppError;
use crate::parse::ResultExt;
use crate::request_meta::RequestMeta;
use serde_json::json;
use uuid::Uuid;

/// An invitation is open for a week.
pub(crate) const INVITATION_TTL_SECONDS: i64 = 7 * 24 * 3600;
const OWNER_ONLY: &str = "Only the organization owner can manage members and invitations";
mod invitations;

#[derive(sqlx::FromRow)]
struct MemberRow {
    user_id: String,
    email: String,
    role: String,
    created_at: i64,
}

impl MemberRow {
    fn role(&self) -> Result<Role, AppError> {
        stored_role(&self.role)
    }

    fn into_dto(self) -> Result<MemberDto, AppError> {
        Ok(MemberDto {
            role: self.role()?,
            user_id: self.user_id,
            email: self.email,
            joined_at: clock::rfc3339(self.created_at),
        })
    }
}

/// A member's row, with their email, as the members list shows it.
const MEMBER_ROW: &str = "SELECT u.id AS user_id, u.email, m.role, m.created_at \
     FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = $1";

impl AccountsService {
    /// The members of the actor's organization, owner first. Any member may look.
    pub(crate) async fn members(&self, actor: &Membership) -> Result<Vec<MemberDto>, AppError> {
        let rows: Vec<MemberRow> = sqlx::query_as(&format!(
            "{MEMBER_ROW} \
             ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, u.email"
        ))
        .bind(actor.organization_id().to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(MemberRow::into_dto).collect()
    }

    /// Changes a member's role. Owner only; `owner` hands ownership to an admin
    /// (the old owner becomes an admin).
    pub(crate) async fn change_role(
        &self,
        actor: &Membership,
        member: Uuid,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<MemberDto, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        if member == actor.user_id() {
            return Err(AppError::Validation(
                "The owner's role changes only by transferring ownership to an admin".into(),
            ));
        }
        let organization = actor.organization_id().to_string();
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let changed = member_row(&mut tx, &organization, member).await?;
        let current = changed.role()?;
        if current == Role::Owner {
            // The actor handed ownership to them meanwhile (another tab).
            return Err(AppError::ChangedMeanwhile);
        }
        if role == Role::Owner {
            if current != Role::Admin {
                return Err(AppError::Validation(
                    "Ownership can be transferred only to an admin: make them an admin first"
                        .into(),
                ));
            }
            // First the old owner steps down: the schema allows one owner at a time.
            set_role(
                &mut tx,
                &organization,
                actor.user_id(),
                Role::Owner,
                Role::Admin,
            )
            .await?;
        }
        set_role(&mut tx, &organization, member, current, role).await?;
        let action = if role == Role::Owner {
            "ownership.transferred"
        } else {
            "member.role_changed"
        };
        let event = actor
            .audit_event(action, member.to_string())
            .with_details(json!({"from": current, "to": role}));
        record(&mut tx, event, meta).await?;
        tx.commit().await?;
        tracing::info!(organization_id = %organization, member_id = %member, %role, "member role changed");
        Ok(MemberDto {
            role,
            ..changed.into_dto()?
        })
    }

    /// Removes `member` from the actor's organization: the owner removes anyone
    /// but themselves; anyone else may only remove themselves (leave). The owner
    /// cannot leave: ownership is transferred first.
    pub(crate) async fn remove_member(
        &self,
        actor: &Membership,
        member: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let leaving = member == actor.user_id();
        if !leaving {
            actor.require_owner(OWNER_ONLY)?;
        }
        let organization = actor.organization_id().to_string();
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        if member_row(&mut tx, &organization, member).await?.role()? == Role::Owner {
            return Err(AppError::OwnerCannotLeave);
        }
        // Never the owner, even one who became it since the read above (on
        // PostgreSQL a transfer may commit in between).
        let removed = sqlx::query(
            "DELETE FROM memberships WHERE organization_id = $1 AND user_id = $2 AND role <> 'owner'",
        )
        .bind(&organization)
        .bind(member.to_string())
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() != 1 {
            return Err(AppError::ChangedMeanwhile);
        }
        let action = if leaving {
            "member.left"
        } else {
            "member.removed"
        };
        record(&mut tx, actor.audit_event(action, member.to_string()), meta).await?;
        tx.commit().await?;
        tracing::info!(organization_id = %organization, member_id = %member, action, "membership ended");
        Ok(())
    }

    /// Erases expired tokens, sessions and invitations now and every few minutes.
    pub(crate) fn spawn_sweeper(&self) {
        let accounts = self.clone();
        sweep_every_few_minutes(
            "erase expired tokens, sessions and invitations",
            move || {
                let accounts = accounts.clone();
                async move {
                    accounts.erase_expired_tokens().await?;
                    accounts.erase_expired_sessions().await?;
                    accounts.erase_spent_email_tokens().await?;
                    accounts.erase_expired_invitations().await.map(drop)
                }
            },
        );
    }

    /// Deletes invitations past their expiry.
    pub(crate) async fn erase_expired_invitations(&self) -> Result<u64, AppError> {
        let erased = sqlx::query("DELETE FROM invitations WHERE expires_at <= $1")
            .bind(clock::now())
            .execute(&self.pool)
            .await?;
        Ok(erased.rows_affected())
    }

    /// Deletes tokens past their expiry (revoked or not): they can never be used again.
    pub(crate) async fn erase_expired_tokens(&self) -> Result<u64, AppError> {
        let erased = sqlx::query("DELETE FROM api_tokens WHERE expires_at <= $1")
            .bind(clock::now())
            .execute(&self.pool)
            .await?;
        Ok(erased.rows_affected())
    }
}

async fn member_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    organization: &str,
    member: Uuid,
) -> Result<MemberRow, AppError> {
    let row: Option<MemberRow> = sqlx::query_as(&format!("{MEMBER_ROW} AND m.user_id = $2"))
        .bind(organization)
        .bind(member.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    row.ok_or(AppError::MemberNotFound)
}

async fn set_role(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    organization: &str,
    member: Uuid,
    from: Role,
    to: Role,
) -> Result<(), AppError> {
    // Only from the role just read: on PostgreSQL a concurrent change of the same
    // row waits for this one and then finds the role it expected gone, so two
    // changes (or a transfer and a leave) never combine into an organization
    // without an owner.
    let changed = sqlx::query(
        "UPDATE memberships SET role = $1 WHERE organization_id = $2 AND user_id = $3 AND role = $4",
    )
    .bind(to.as_str())
    .bind(organization)
    .bind(member.to_string())
    .bind(from.as_str())
    .execute(&mut **tx)
    .await
    .on_unique_violation(AppError::ChangedMeanwhile)?;
    if changed.rows_affected() != 1 {
        return Err(AppError::ChangedMeanwhile);
    }
    Ok(())
}
