//! An account's email address, proven by links sent to it: verification (at
//! sign-up, on request, for a new address), password reset, and the changes that
//! end sessions (a new password, signing out everywhere). Each change and the
//! email it causes land in one transaction (the outbox).

use super::sessions::row_id;
use super::{hash_password, user_event, verify_password, AccountsService};
use crate::accounts::authorization::User;
use crate::accounts::domain::{Email, Password};
use crate::accounts::emails;
use crate::accounts::AccountDto;
use crate::audit_trail::record;
use crate::clock;
use crate::db::begin_write;
use crate::error::AppError;
use crate::parse::{stored_id, ResultExt};
use crate::request_meta::RequestMeta;
use crate::secrets::random_bytes;
use sqlx::AnyConnection;
use tower_sessions::session::Id;
use uuid::Uuid;

const EMAIL_TOKEN: &str = "email-token";
const VERIFY: &str = "verify_email";
const RESET: &str = "reset_password";

#[derive(sqlx::FromRow)]
struct AccountRow {
    email: String,
    email_verified_at: Option<i64>,
    created_at: i64,
}

/// A live single-use link's token row.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    email: String,
    current_email: String,
}

impl AccountsService {
    pub async fn account(&self, user: &User) -> Result<AccountDto, AppError> {
        let row: AccountRow =
            sqlx::query_as("SELECT email, email_verified_at, created_at FROM users WHERE id = $1")
                .bind(user.id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .ok_or(AppError::SignedOut)?;
        Ok(AccountDto {
            id: user.id.to_string(),
            email: row.email,
            email_verified: row.email_verified_at.is_some(),
            created_at: clock::rfc3339(row.created_at),
        })
    }

    /// Writes a single-use link's token for `user` (proving `email`) and returns it.
    async fn issue_email_token(
        &self,
        connection: &mut AnyConnection,
        user: Uuid,
        purpose: &str,
        email: &str,
        hours: i64,
    ) -> Result<String, AppError> {
        let token = hex::encode(random_bytes::<32>());
        let now = clock::now();
        sqlx::query(
            "INSERT INTO email_tokens (id, user_id, purpose, token_hash, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7().to_string()) // $1
        .bind(user.to_string()) // $2
        .bind(purpose) // $3
        .bind(self.pepper.digest(EMAIL_TOKEN, &token)) // $4
        .bind(email) // $5
        .bind(now) // $6
        .bind(now + hours * 3600) // $7
        .execute(connection)
        .await?;
        Ok(token)
    }

    /// Writes the verification email for `email` (sign-up, a resend, a new address).
    pub(super) async fn send_verification(
        &self,
        connection: &mut AnyConnection,
        user: Uuid,
        email: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let token = self
            .issue_email_token(connection, user, VERIFY, email, emails::VERIFY_HOURS)
            .await?;
        let origin = self.mail.origin(meta);
        self.mail
            .send(connection, &emails::verify_address(email, &origin, &token))
            .await
    }

    /// Sends a new verification link to the account's address (`202`), unless it is
    /// verified already.
    pub async fn resend_verification(
        &self,
        user: &User,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let account = self.account(user).await?;
        if account.email_verified {
            return Ok(());
        }
        self.limits.email_to(&account.email)?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        self.send_verification(&mut tx, user.id, &account.email, meta)
            .await?;
        tx.commit().await?;
        self.mail.wake();
        Ok(())
    }

    /// Takes (uses up) a live token of `purpose`, or `InvalidToken`.
    async fn take_token(
        &self,
        connection: &mut AnyConnection,
        purpose: &str,
        token: &str,
    ) -> Result<TokenRow, AppError> {
        let now = clock::now();
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT t.id, t.user_id, t.email, u.email AS current_email \
             FROM email_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > $3",
        )
        .bind(self.pepper.digest(EMAIL_TOKEN, token.trim()))
        .bind(purpose)
        .bind(now)
        .fetch_optional(&mut *connection)
        .await?;
        let row = row.ok_or(AppError::InvalidToken)?;
        // Used once: a second use (or a race with one) finds it taken.
        let taken =
            sqlx::query("UPDATE email_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(&row.id)
                .execute(&mut *connection)
                .await?;
        if taken.rows_affected() != 1 {
            return Err(AppError::InvalidToken);
        }
        Ok(row)
    }

    /// Opens a verification link: the address it was sent to becomes the account's
    /// verified email (a new address replaces the old one, unless another account
    /// took it meanwhile: `EmailTaken`).
    pub async fn verify_email(&self, token: &str, meta: &RequestMeta) -> Result<(), AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let row = self.take_token(&mut tx, VERIFY, token).await?;
        let user = stored_id(&row.user_id)?;
        sqlx::query("UPDATE users SET email = $1, email_verified_at = $2 WHERE id = $3")
            .bind(&row.email)
            .bind(clock::now())
            .bind(&row.user_id)
            .execute(&mut *tx)
            .await
            .on_unique_violation(AppError::EmailTaken)?;
        let action = if row.email == row.current_email {
            "email.verified"
        } else {
            "email.changed"
        };
        record(&mut tx, user_event(user, action, user), meta).await?;
        tx.commit().await?;
        tracing::info!(user_id = %user, action, "email verified");
        Ok(())
    }

    /// Sends a link to `new_email` that makes it the account's address when opened,
    /// and tells the old address. An address another account holds gets its link
    /// too (nothing is revealed); opening it then fails with `EmailTaken`.
    pub async fn request_email_change(
        &self,
        user: &User,
        new_email: &Email,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let account = self.account(user).await?;
        if account.email == new_email.as_str() {
            return Err(AppError::Validation(
                "That is already your email address".into(),
            ));
        }
        self.check_password(user, password).await?;
        self.limits.email_to(new_email.as_str())?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        self.send_verification(&mut tx, user.id, new_email.as_str(), meta)
            .await?;
        let origin = self.mail.origin(meta);
        let notice = emails::email_change_requested(&account.email, new_email.as_str(), &origin);
        self.mail.send(&mut tx, &notice).await?;
        record(
            &mut tx,
            user_event(user.id, "email.change_requested", user.id),
            meta,
        )
        .await?;
        tx.commit().await?;
        self.mail.wake();
        Ok(())
    }

    /// Sends a reset link to `email` if an account has it. The answer is the same
    /// either way, and comes at once: the lookup and the email happen afterwards.
    pub fn request_password_reset(&self, email: &str, meta: &RequestMeta) -> Result<(), AppError> {
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

    async fn send_reset_link(&self, email: &Email, meta: &RequestMeta) -> Result<(), AppError> {
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
    pub async fn reset_password(
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
    async fn check_password(&self, user: &User, password: &str) -> Result<(), AppError> {
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
    pub async fn change_password(
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
    pub async fn sign_out_everywhere(
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

    /// The account's email if it is verified, else `EmailNotVerified`: what is
    /// addressed to an email is for its proven owner only.
    pub(super) async fn verified_email(
        &self,
        connection: &mut AnyConnection,
        user: &User,
    ) -> Result<String, AppError> {
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT email, email_verified_at FROM users WHERE id = $1")
                .bind(user.id.to_string())
                .fetch_optional(connection)
                .await?;
        match row {
            Some((email, Some(_))) => Ok(email),
            Some((_, None)) => Err(AppError::EmailNotVerified),
            None => Err(AppError::SignedOut),
        }
    }

    /// Deletes used and expired email tokens.
    pub async fn erase_spent_email_tokens(&self) -> Result<u64, AppError> {
        let erased =
            sqlx::query("DELETE FROM email_tokens WHERE expires_at <= $1 OR used_at IS NOT NULL")
                .bind(clock::now())
                .execute(&self.pool)
                .await?;
        Ok(erased.rows_affected())
    }
}

/// Ends the user's browser sessions and revokes their API tokens.
async fn end_sessions_and_tokens(
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
