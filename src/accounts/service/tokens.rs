//! API tokens: issued once (only their HMAC is stored), resolved to their holder
//! and the organization a call acts on, revoked.

use super::*;
use crate::accounts::authorization::{
    default_membership, Membership, TokenCredential, TokenHolder, User,
};
use crate::audit_trail::record;
use crate::clock;
use crate::db::begin_write;
use crate::error::AppError;
use crate::parse::stored_id;
use crate::request_meta::RequestMeta;
use crate::secrets::random_bytes;
use uuid::Uuid;

/// A bearer token in plain text, returned once to the client that asked for it.
pub(crate) struct IssuedToken {
    pub(crate) token: String,
    pub(crate) expires_at: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct TokenHolderRow {
    pub(super) token_id: String,
    pub(super) user_id: String,
    pub(super) email: String,
}

/// A live token's user with one of their memberships.
#[derive(sqlx::FromRow)]
pub(super) struct TokenMembershipRow {
    pub(super) user_id: String,
    #[sqlx(flatten)]
    pub(super) membership: JoinedMembershipRow,
}

impl AccountsService {
    pub(super) async fn issue_token(
        &self,
        user: &User,
        meta: &RequestMeta,
    ) -> Result<IssuedToken, AppError> {
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(random_bytes::<32>()));
        let now = clock::now();
        let expires_at = now + self.token_ttl.as_secs() as i64;
        let token_id = Uuid::now_v7();
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_id.to_string())
        .bind(user.id.to_string())
        .bind(self.pepper.digest(TOKEN_PURPOSE, &token))
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            user_event(user.id, "token.created", token_id),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, "api token issued");
        Ok(IssuedToken { token, expires_at })
    }

    pub(crate) fn token_credential(&self, token: &str, requested: Option<Uuid>) -> TokenCredential {
        TokenCredential {
            token_hash: self.pepper.digest(TOKEN_PURPOSE, token),
            requested,
        }
    }

    /// The holder of a live (known, unrevoked, unexpired) token.
    pub(crate) async fn token_holder(&self, token: &str) -> Result<TokenHolder, AppError> {
        let row: Option<TokenHolderRow> = sqlx::query_as(
            "SELECT t.id AS token_id, u.id AS user_id, u.email \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
        )
        .bind(self.pepper.digest(TOKEN_PURPOSE, token))
        .bind(clock::now())
        .fetch_optional(&self.pool)
        .await?;
        let row = row.ok_or(AppError::Unauthorized)?;
        Ok(TokenHolder {
            token_id: stored_id(&row.token_id)?,
            user: User {
                id: stored_id(&row.user_id)?,
                email: row.email,
            },
        })
    }

    pub(crate) async fn revoke_token(
        &self,
        holder: &TokenHolder,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(clock::now())
            .bind(holder.token_id.to_string())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            user_event(holder.user.id, "token.revoked", holder.token_id),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = %holder.user.id, token_id = %holder.token_id, "api token revoked");
        Ok(())
    }
}

impl AccountsService {
    /// The holder of a live token acting in an organization (as `membership`
    /// chooses it), in one query: every API call that acts on an organization
    /// starts here.
    pub(crate) async fn token_member(
        &self,
        credential: &TokenCredential,
    ) -> Result<Membership, AppError> {
        let rows: Vec<TokenMembershipRow> = sqlx::query_as(
            "SELECT t.user_id, o.id AS organization_id, o.name, m.role, o.plan \
             FROM api_tokens t \
             LEFT JOIN memberships m ON m.user_id = t.user_id \
             LEFT JOIN organizations o ON o.id = m.organization_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 \
             ORDER BY m.id",
        )
        .bind(&credential.token_hash)
        .bind(clock::now())
        .fetch_all(&self.pool)
        .await?;
        let user_id = match rows.first() {
            Some(row) => stored_id(&row.user_id)?,
            None => return Err(AppError::Unauthorized),
        };
        let memberships = joined_memberships(user_id, rows.into_iter().map(|row| row.membership))?;
        match credential.requested {
            Some(id) => memberships
                .into_iter()
                .find(|m| m.organization_id() == id)
                .ok_or(AppError::OrganizationNotFound),
            None => default_membership(&memberships),
        }
    }
}
