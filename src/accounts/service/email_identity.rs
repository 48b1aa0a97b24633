//! An account's email address, proven by links sent to it: verification (at
//! sign-up, on request, for a new address), password reset, and the changes that
//! end sessions (a new password, signing out everywhere). Each change and the
//! email it causes land in one transaction (the outbox).

use super::{user_event, AccountsService};
use crate::accounts::authorization::User;
use crate::accounts::domain::Email;
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
use uuid::Uuid;

const EMAIL_TOKEN: &str = "email-token";
const VERIFY: &str = "verify_email";
const RESET: &str = "reset_password";
mod password_changes;

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
    pub(crate) async fn account(&self, user: &User) -> Result<AccountDto, AppError> {
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
    pub(crate) async fn resend_verification(
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
    pub(crate) async fn verify_email(
        &self,
        token: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
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
    pub(crate) async fn request_email_change(
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
    pub(crate) async fn erase_spent_email_tokens(&self) -> Result<u64, AppError> {
        let erased =
            sqlx::query("DELETE FROM email_tokens WHERE expires_at <= $1 OR used_at IS NOT NULL")
                .bind(clock::now())
                .execute(&self.pool)
                .await?;
        Ok(erased.rows_affected())
    }
}
