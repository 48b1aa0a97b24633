//! Who belongs to an organization, by consent: the owner invites an email, the
//! person with that email accepts or declines; members leave, the owner removes
//! them, changes their role or hands ownership to an admin. Every change lands
//! with its audit event.

use super::AccountsService;
use crate::accounts::authorization::{stored_role, Membership, User};
use crate::accounts::domain::{Email, Role};
use crate::accounts::emails;
use crate::accounts::{InvitationDto, InvitingOrganizationDto, MemberDto, MyInvitationDto};
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::db::{begin_write, sweep_every_few_minutes};
use crate::error::AppError;
use crate::parse::{stored_id, ResultExt};
use crate::request_meta::RequestMeta;
use serde_json::json;
use uuid::Uuid;

/// An invitation is open for a week.
pub const INVITATION_TTL_SECONDS: i64 = 7 * 24 * 3600;
const OWNER_ONLY: &str = "Only the organization owner can manage members and invitations";

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

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    email: String,
    role: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct MyInvitationRow {
    id: String,
    organization_id: String,
    organization_name: String,
    role: String,
    invited_by: String,
    expires_at: i64,
}

impl AccountsService {
    /// The members of the actor's organization, owner first. Any member may look.
    pub async fn members(&self, actor: &Membership) -> Result<Vec<MemberDto>, AppError> {
        let rows: Vec<MemberRow> = sqlx::query_as(&format!(
            "{MEMBER_ROW} \
             ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, u.email"
        ))
        .bind(actor.organization_id().to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(MemberRow::into_dto).collect()
    }

    /// Invites `email` as `role` (admin or member: `Role::parse_invitable` at
    /// each door). The answer is the same whether or not the email
    /// has an account, so it tells nobody which emails are registered. Inviting the
    /// same email again renews the invitation.
    pub async fn invite(
        &self,
        actor: &Membership,
        email: &Email,
        role: Role,
        meta: &RequestMeta,
    ) -> Result<InvitationDto, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let organization = actor.organization_id().to_string();
        self.limits.invitation_sent(&organization)?;
        let now = clock::now();
        let invitation = InvitationDto {
            id: Uuid::now_v7().to_string(),
            email: email.as_str().to_string(),
            role,
            expires_at: clock::rfc3339(now + INVITATION_TTL_SECONDS),
        };
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let already: Option<(String,)> = sqlx::query_as(
            "SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND u.email = $2",
        )
        .bind(&organization)
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if already.is_some() {
            return Err(AppError::AlreadyMember);
        }
        // Inviting again renews the invitation (one per email and organization),
        // in one statement: two owners' tabs inviting at once both succeed.
        sqlx::query(
            "INSERT INTO invitations (id, organization_id, email, role, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (organization_id, email) DO UPDATE SET id = excluded.id, \
             role = excluded.role, invited_by = excluded.invited_by, \
             created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(&invitation.id) // $1
        .bind(&organization) // $2
        .bind(email.as_str()) // $3
        .bind(role.as_str()) // $4
        .bind(actor.user_id().to_string()) // $5
        .bind(now) // $6
        .bind(now + INVITATION_TTL_SECONDS) // $7
        .execute(&mut *tx)
        .await?;
        self.send_invitation(&mut tx, actor, &invitation, meta)
            .await?;
        let event = actor
            .audit_event("invitation.created", invitation.id.clone())
            .with_details(json!({"email": invitation.email, "role": role}));
        record(&mut tx, event, meta).await?;
        tx.commit().await?;
        self.mail.wake();
        tracing::info!(organization_id = %organization, invitation_id = %invitation.id, "invitation created");
        Ok(invitation)
    }

    /// Writes the email that tells the invitee (who invited them, to what, how to answer).
    async fn send_invitation(
        &self,
        connection: &mut sqlx::AnyConnection,
        actor: &Membership,
        invitation: &InvitationDto,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let (invited_by,): (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
            .bind(actor.user_id().to_string())
            .fetch_one(&mut *connection)
            .await?;
        let notice = emails::InvitationNotice {
            to: &invitation.email,
            organization: actor.organization_name(),
            role: invitation.role.as_str(),
            invited_by: &invited_by,
            expires_at: &invitation.expires_at,
        };
        let email = emails::invitation(&notice, &self.mail.origin(meta));
        self.mail.send(connection, &email).await
    }

    /// The organization's pending invitations, newest first. Owner only.
    pub async fn invitations(&self, actor: &Membership) -> Result<Vec<InvitationDto>, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let rows: Vec<InvitationRow> = sqlx::query_as(
            "SELECT id, email, role, expires_at FROM invitations \
             WHERE organization_id = $1 AND expires_at > $2 ORDER BY id DESC",
        )
        .bind(actor.organization_id().to_string())
        .bind(clock::now())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(InvitationDto {
                    id: row.id,
                    email: row.email,
                    role: stored_role(&row.role)?,
                    expires_at: clock::rfc3339(row.expires_at),
                })
            })
            .collect()
    }

    /// Withdraws a pending invitation. Owner only.
    pub async fn withdraw_invitation(
        &self,
        actor: &Membership,
        invitation: Uuid,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let deleted = sqlx::query("DELETE FROM invitations WHERE id = $1 AND organization_id = $2")
            .bind(invitation.to_string())
            .bind(actor.organization_id().to_string())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(AppError::InvitationNotFound);
        }
        let event = actor.audit_event("invitation.withdrawn", invitation.to_string());
        record(&mut tx, event, meta).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The invitations waiting for this user's email, newest first; only for the
    /// email's verified owner (`EmailNotVerified`).
    pub async fn my_invitations(&self, user: &User) -> Result<Vec<MyInvitationDto>, AppError> {
        let email = self
            .verified_email(&mut *self.pool.acquire().await?, user)
            .await?;
        let rows: Vec<MyInvitationRow> = sqlx::query_as(
            "SELECT i.id, i.organization_id, o.name AS organization_name, i.role, \
                    u.email AS invited_by, i.expires_at \
             FROM invitations i JOIN organizations o ON o.id = i.organization_id \
             JOIN users u ON u.id = i.invited_by \
             WHERE i.email = $1 AND i.expires_at > $2 ORDER BY i.id DESC",
        )
        .bind(&email)
        .bind(clock::now())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(MyInvitationDto {
                    id: row.id,
                    organization: InvitingOrganizationDto {
                        id: row.organization_id,
                        name: row.organization_name,
                    },
                    role: stored_role(&row.role)?,
                    invited_by: row.invited_by,
                    expires_at: clock::rfc3339(row.expires_at),
                })
            })
            .collect()
    }

    /// Accepts an invitation addressed to this user's email: they become a member
    /// with the invited role. Anyone else's invitation is `404`, like an unknown one.
    pub async fn accept_invitation(
        &self,
        user: &User,
        invitation: Uuid,
    ) -> Result<Membership, AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let email = self.verified_email(&mut tx, user).await?;
        let (organization, role) = take_invitation(&mut tx, &email, invitation).await?;
        sqlx::query(
            "INSERT INTO memberships (id, organization_id, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(organization.to_string())
        .bind(user.id.to_string())
        .bind(role.as_str())
        .bind(clock::now())
        .execute(&mut *tx)
        .await
        .on_unique_violation(AppError::AlreadyMember)?;
        let joined = AuditEvent {
            organization: Some(organization),
            actor: Some(user.id),
            action: "member.joined",
            target: Some(user.id.to_string()),
            details: Some(json!({"role": role, "invitation": invitation})),
        };
        // The organization's log: the invitee's address and browser are not its to see.
        record(&mut tx, joined, &RequestMeta::default()).await?;
        tx.commit().await?;
        tracing::info!(organization_id = %organization, user_id = %user.id, %role, "invitation accepted");
        self.membership(user, Some(organization)).await
    }

    /// Declines an invitation addressed to this user's email.
    pub async fn decline_invitation(&self, user: &User, invitation: Uuid) -> Result<(), AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let email = self.verified_email(&mut tx, user).await?;
        let (organization, _) = take_invitation(&mut tx, &email, invitation).await?;
        let declined = AuditEvent {
            organization: Some(organization),
            actor: Some(user.id),
            action: "invitation.declined",
            target: Some(invitation.to_string()),
            details: None,
        };
        // The organization's log, of someone who never joined it: no address, no browser.
        record(&mut tx, declined, &RequestMeta::default()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a member's role. Owner only; `owner` hands ownership to an admin
    /// (the old owner becomes an admin).
    pub async fn change_role(
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
    pub async fn remove_member(
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
    pub fn spawn_sweeper(&self) {
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
    pub async fn erase_expired_invitations(&self) -> Result<u64, AppError> {
        let erased = sqlx::query("DELETE FROM invitations WHERE expires_at <= $1")
            .bind(clock::now())
            .execute(&self.pool)
            .await?;
        Ok(erased.rows_affected())
    }

    /// Deletes tokens past their expiry (revoked or not): they can never be used again.
    pub async fn erase_expired_tokens(&self) -> Result<u64, AppError> {
        let erased = sqlx::query("DELETE FROM api_tokens WHERE expires_at <= $1")
            .bind(clock::now())
            .execute(&self.pool)
            .await?;
        Ok(erased.rows_affected())
    }
}

/// What an invitation offers: an organization, with a role.
#[derive(sqlx::FromRow)]
struct OfferRow {
    organization_id: String,
    role: String,
}

/// Removes a live invitation addressed to `email` and says what it offered.
async fn take_invitation(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    email: &str,
    invitation: Uuid,
) -> Result<(Uuid, Role), AppError> {
    let row: Option<OfferRow> = sqlx::query_as(
        "SELECT organization_id, role FROM invitations \
         WHERE id = $1 AND email = $2 AND expires_at > $3",
    )
    .bind(invitation.to_string())
    .bind(email)
    .bind(clock::now())
    .fetch_optional(&mut **tx)
    .await?;
    let offer = row.ok_or(AppError::InvitationNotFound)?;
    sqlx::query("DELETE FROM invitations WHERE id = $1")
        .bind(invitation.to_string())
        .execute(&mut **tx)
        .await?;
    Ok((
        stored_id(&offer.organization_id)?,
        stored_role(&offer.role)?,
    ))
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
