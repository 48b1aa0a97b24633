//! Invitations: sent by an owner (the answer never tells whether the email has an
//! account), withdrawn, and seen, accepted or declined by the verified invitee.

use super::super::AccountsService;
use super::*;
use crate::accounts::authorization::{stored_role, Membership, User};
use crate::accounts::domain::{Email, Role};
use crate::accounts::emails;
use crate::accounts::{InvitationDto, InvitingOrganizationDto, MyInvitationDto};
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::db::begin_write;
use crate::error::AppError;
use crate::parse::{stored_id, ResultExt};
use crate::request_meta::RequestMeta;
use serde_json::json;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub(super) struct InvitationRow {
    pub(super) id: String,
    pub(super) email: String,
    pub(super) role: String,
    pub(super) expires_at: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct MyInvitationRow {
    pub(super) id: String,
    pub(super) organization_id: String,
    pub(super) organization_name: String,
    pub(super) role: String,
    pub(super) invited_by: String,
    pub(super) expires_at: i64,
}

/// What an invitation offers: an organization, with a role.
#[derive(sqlx::FromRow)]
pub(super) struct OfferRow {
    pub(super) organization_id: String,
    pub(super) role: String,
}

/// Removes a live invitation addressed to `email` and says what it offered.
pub(super) async fn take_invitation(
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

impl AccountsService {
    /// Invites `email` as `role` (admin or member: `Role::parse_invitable` at
    /// each door). The answer is the same whether or not the email
    /// has an account, so it tells nobody which emails are registered. Inviting the
    /// same email again renews the invitation.
    pub(crate) async fn invite(
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
    pub(super) async fn send_invitation(
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
    pub(crate) async fn invitations(
        &self,
        actor: &Membership,
    ) -> Result<Vec<InvitationDto>, AppError> {
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
    pub(crate) async fn withdraw_invitation(
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
    pub(crate) async fn my_invitations(
        &self,
        user: &User,
    ) -> Result<Vec<MyInvitationDto>, AppError> {
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
    pub(crate) async fn accept_invitation(
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
    pub(crate) async fn decline_invitation(
        &self,
        user: &User,
        invitation: Uuid,
    ) -> Result<(), AppError> {
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
}
