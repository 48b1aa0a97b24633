//! Passwords forgotten, reset and changed, and signing out everywhere: each ends
//! the other sessions and tokens.

use super::super::sessions::row_id;
use super::super::{hash_password, user_event, verify_password, AccountsService};
use super::*;
use crate::accounts::authorization::User;
use crate::accounts::domain::{Email, Password};
use crate::accounts::emails;
use crate::audit_trail::record;
use crate::clock;
use crate::db::begin_write;
use crate::error::AppError;
use crate::parse::stored_id;
use crate::request_meta::RequestMeta;
use sqlx::AnyConnection;
use tower_sessions::session::Id;
use uuid::Uuid;

/// Ends the user's browser sessions and revokes their API tokens.
pub(super) async fn end_sessions_and_tokens(
    connection: &mut AnyConnection,
    user: Uuid,
) -> Result<(), AppError> {
    sqlx::query("DELETE FROM browser_sessions WHERE user_id = $1")
        .bind(user.to_string())
        .execute(&mut *connection)
        .await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(clock::now())
        .bind(user.to_string())
        .execute(&mut *connection)
        .await?;
    Ok(())
}

impl AccountsService {
    /// Sends a reset link to `email` if an account has it. The answer is the same
    /// either way, and comes at once: the lookup and the email happen afterwards.
    pub(crate) fn request_password_reset(
        &self,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        self.limits.password_reset(meta.ip.as_deref(), email)?;
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let (accounts, meta) = (self.clone(), meta.clone());
        tokio::spawn(async move {
            if let Err(error) = accounts.send_reset_link(&email, &meta).await {
                tracing::warn!(%error, "could not send a password-reset link");
            }
        });
        Ok(())
    }

    pub(super) async fn send_reset_link(
        &self,
        email: &Email,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let user: Option<(String,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some((user,)) = user else {
            return Ok(());
        };
        let user = stored_id(&user)?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let token = self
            .issue_email_token(&mut tx, user, RESET, email.as_str(), emails::RESET_HOURS)
            .await?;
        let origin = self.mail.origin(meta);
        self.mail
            .send(
                &mut tx,
                &emails::reset_password(email.as_str(), &origin, &token),
            )
            .await?;
        tx.commit().await?;
        self.mail.wake();
        Ok(())
    }

    /// Opens a reset link: the new password replaces the old, the address is
    /// verified (the link proved it), every session and token of the user ends and
    /// the address is told.
    pub(crate) async fn reset_password(
        &self,
        token: &str,
        password: Password,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let password_hash = self.hashing.run(move || hash_password(password)).await?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let row = self.take_token(&mut tx, RESET, token).await?;
        // A link sent to an address the account no longer has proves nothing now.
        if row.email != row.current_email {
            return Err(AppError::InvalidToken);
        }
        let user = stored_id(&row.user_id)?;
        let now = clock::now();
        sqlx::query(
            "UPDATE users SET password_hash = $1, \
             email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $3",
        )
        .bind(password_hash)
        .bind(now)
        .bind(&row.user_id)
        .execute(&mut *tx)
        .await?;
        // The other reset links sent before this one die with the old password.
        sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now)
            .bind(&row.user_id)
            .bind(RESET)
            .execute(&mut *tx)
            .await?;
        end_sessions_and_tokens(&mut tx, user).await?;
        let origin = self.mail.origin(meta);
        self.mail
            .send(&mut tx, &emails::password_changed(&row.email, &origin))
            .await?;
        record(&mut tx, user_event(user, "password.reset", user), meta).await?;
        tx.commit().await?;
        self.mail.wake();
        tracing::info!(user_id = %user, "password reset; every session and token ended");
        Ok(())
    }

    /// Checks `password` against the account's, at sign-in's cost.
    pub(super) async fn check_password(&self, user: &User, password: &str) -> Result<(), AppError> {
        if password.chars().count() > Password::MAX_CHARS {
            return Err(AppError::WrongPassword);
        }
        let stored: Option<(String,)> =
            sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
                .bind(user.id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let password = password.to_string();
        let stored = stored.map(|(hash,)| hash);
        let matches = self
            .hashing
            .run(move || verify_password(password, stored))
            .await?;
        if matches {
            Ok(())
        } else {
            Err(AppError::WrongPassword)
        }
    }

    /// Changes the password of the signed-in person, who gives the current one.
    /// Every other browser session ends (`keep_session`: the row of the one in use);
    /// the address is told.
    pub(crate) async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: Password,
        keep_session: Option<&Id>,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        self.check_password(user, current).await?;
        let password_hash = self.hashing.run(move || hash_password(new)).await?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM browser_sessions WHERE user_id = $1 AND id <> $2")
            .bind(user.id.to_string())
            .bind(
                keep_session
                    .map(|id| row_id(&self.pepper, id))
                    .unwrap_or_default(),
            )
            .execute(&mut *tx)
            .await?;
        let email: (String,) = sqlx::query_as("SELECT email FROM users WHERE id = $1")
            .bind(user.id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let origin = self.mail.origin(meta);
        self.mail
            .send(&mut tx, &emails::password_changed(&email.0, &origin))
            .await?;
        record(
            &mut tx,
            user_event(user.id, "password.changed", user.id),
            meta,
        )
        .await?;
        tx.commit().await?;
        self.mail.wake();
        Ok(())
    }

    /// Ends every browser session and API token of the person, this one included.
    pub(crate) async fn sign_out_everywhere(
        &self,
        user: &User,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        end_sessions_and_tokens(&mut tx, user.id).await?;
        record(
            &mut tx,
            user_event(user.id, "user.signed_out_everywhere", user.id),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, "signed out everywhere");
        Ok(())
    }
}
